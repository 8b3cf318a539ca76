"""docs/quiz-language.md is generated from the code, current, and its examples hold."""

from __future__ import annotations

import inspect
import re

import pytest
from quiz_helpers import ROOT

from kmemlab.cli import main
from kmemlab.quiz.expr import Expression, Functions
from kmemlab.quiz.reference import render

PAGE = ROOT / "docs" / "quiz-language.md"


def test_page_is_current():
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/quiz-language.md is stale: kmemlab quiz reference -o docs/quiz-language.md")


def test_every_function_is_documented_with_an_example():
    methods = {n[2:] for n, _ in inspect.getmembers(Functions) if n.startswith("f_")}
    assert methods == set(Functions.SIGNATURES) == set(Functions.EXAMPLES)
    page = render()
    for name in Functions.SIGNATURES:
        assert inspect.getdoc(getattr(Functions, "f_" + name)), f"{name}: no docstring"
        assert re.search(rf"^### `{name}\(", page, re.M), name
        for kw in Functions.SIGNATURES[name]:     # every keyword the parser accepts
            assert f"`{kw}`" in page.split(f"### `{name}(")[1].split("###")[0]


@pytest.mark.parametrize("name", sorted(Functions.EXAMPLES))
def test_example_evaluates_to_what_the_page_shows(name):
    source, value = Functions.EXAMPLES[name]
    assert re.search(rf"\b{name}\(", source), f"{name}'s example does not call it"
    got = Expression(source).evaluate()
    assert got == value and type(got) is type(value), (source, got)
    shown = repr(value) if isinstance(value, str) else str(value)
    assert f"Example: `{source}` → `{shown}`" in PAGE.read_text(encoding="utf-8")


def test_cli_prints_it(capsys, tmp_path):
    assert main(["quiz", "reference"]) == 0
    assert capsys.readouterr().out == render()
    assert main(["quiz", "reference", "-o", str(tmp_path / "r.md")]) == 0
    assert (tmp_path / "r.md").read_text() == render()
