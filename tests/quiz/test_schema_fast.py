"""schema.is_valid (no jsonschema import) gives jsonschema's verdict on every document.

validate() trusts is_valid's "valid" and skips jsonschema (about a second to import); a
rejected file goes to jsonschema for its messages. So the two must agree: on every quiz
file of the repository, and on documents made by breaking them in every way hypothesis
finds (a value replaced, a key dropped or added, a list emptied or grown).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quiz_helpers import BROKEN, EXAMPLES, ROOT, SMALL

from kmemlab.quiz import Quiz, QuizErrors
from kmemlab.quiz import schema as quiz_schema
from kmemlab.quiz.loader import load_file, load_text

jsonschema = pytest.importorskip("jsonschema")

REPO_QUIZZES = sorted({*EXAMPLES, *(ROOT / "notebooks" / "zh" / "quizzes").glob("*.yaml"),
                       ROOT / "deploy" / "jupyterhub" / "example" / "ps1.yaml",
                       *BROKEN.glob("*.yaml")})


VALIDATOR = jsonschema.Draft202012Validator(quiz_schema.SCHEMA)


def slow_valid(data) -> bool:
    return not any(True for _ in VALIDATOR.iter_errors(data))


def documents():
    out = []
    for p in REPO_QUIZZES:
        try:
            out.append(load_file(p).data)
        except Exception:   # bad YAML, aliases, tags: never reach the schema
            continue
    out.append(load_text(SMALL).data)
    return out


DOCS = documents()


def test_every_keyword_of_the_schema_is_evaluated():
    # a keyword is_valid does not know makes it answer None: every file then pays jsonschema
    for data in DOCS:
        assert quiz_schema.is_valid(data) is not None


@pytest.mark.parametrize("data", DOCS, ids=lambda d: str(d.get("id", "?")))
def test_repository_quizzes_same_verdict(data):
    assert quiz_schema.is_valid(data) == slow_valid(data)


# values near the schema's edges: lengths, bounds, enums, patterns, the bool/int/float traps
_EDGE_SCALARS = st.one_of(
    st.sampled_from([None, True, False, 0, 1, -1, 2, 26, 27, 64, 65, 100, 101, 1000, 1001,
                     10_000_000, 10_000_001, 1.0, 0.5, -0.5, 1.5, 2.0, 200, 201,
                     "", "x", "a" * 40, "a" * 41, "a" * 400, "a" * 401, "a" * 600, "a" * 601,
                     "single", "multiple", "numeric", "text", "simulator", "essay",
                     "practice", "graded", "6.12", "3.15", "9.99", "x86_64", "i386", "arm",
                     "1G", "KiB", "pages", "B", "kB", "lightyears", "1%", " 5 % ", "5",
                     "-1%", "numeric", "choice", "grid", "loggrid", "pbkdf2-sha256", "md5",
                     "0" * 64, "0" * 63, "g" * 64, "0" * 16, "zh", "zh_CN", "ZH", "en-US",
                     "size", "Size", "_x", "q1", "1q", "a" * 64, "a" * 65, "__import__"]),
    st.integers(-3, 3000), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8))
_KEYS = st.sampled_from(["id", "type", "prompt", "answer", "choices", "text", "correct",
                         "params", "range", "step", "multiple_of", "where", "unit",
                         "tolerance", "kernel", "version", "ram", "cpus", "arch", "settings",
                         "mode", "attempts", "sealed", "scheme", "hashes", "salt",
                         "iterations", "translations", "zh", "title", "description",
                         "explanation", "hint", "accept", "regex", "case_sensitive",
                         "answer_type", "points", "shift", "chapter", "kmemlab_quiz",
                         "questions", "bogus", "size"])
_VALUES = st.recursive(_EDGE_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=4)), max_leaves=10)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


def _get(node, path):
    for p in path:
        node = node[p]
    return node


@st.composite
def broken_documents(draw):
    data = copy.deepcopy(draw(st.sampled_from(DOCS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data))
        path = draw(st.sampled_from(paths))
        node = _get(data, path)
        how = draw(st.sampled_from(["replace", "drop", "add", "empty", "grow", "retype"]))
        if how == "replace" and path:
            _get(data, path[:-1])[path[-1]] = draw(_VALUES)
        elif how == "drop" and path:
            parent = _get(data, path[:-1])
            del parent[path[-1]]
        elif how == "add" and isinstance(node, dict):
            node[draw(_KEYS)] = draw(_VALUES)
        elif how == "empty" and isinstance(node, list | dict):
            node.clear()
        elif how == "grow" and isinstance(node, list) and node:
            node.extend(copy.deepcopy(node[: draw(st.integers(1, 30))]) * draw(
                st.integers(1, 30)))
        elif how == "retype" and path:
            parent = _get(data, path[:-1])
            v = parent[path[-1]]
            parent[path[-1]] = (str(v) if not isinstance(v, str) else
                                (int(v) if v.isdigit() else [v]))
    return data


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(broken_documents())
def test_broken_documents_same_verdict(data):
    assert quiz_schema.is_valid(data) == slow_valid(data), json.dumps(data, default=str)[:2000]


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(_VALUES)
def test_any_value_same_verdict(data):
    assert quiz_schema.is_valid(data) == slow_valid(data)


def test_rejected_file_still_gets_jsonschema_messages():
    bad = SMALL.replace("type: numeric\n    prompt: pi-ish", "type: numeric\n    prompt: 7")
    with pytest.raises(QuizErrors) as exc:
        Quiz.loads(bad, "bad.yaml")
    assert any("is not of type 'string'" in e.message and e.line == 22
               for e in exc.value.errors), [(e.line, e.message) for e in exc.value.errors]


def test_valid_quiz_loads_without_importing_jsonschema():
    code = ("import sys, kmemlab.quiz as q; q.load(sys.argv[1]); "
            "print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(EXAMPLES[0])], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out
