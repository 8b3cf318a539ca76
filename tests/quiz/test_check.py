"""`kmemlab quiz check`: examples pass; broken files fail with positions, run nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from quiz_helpers import BROKEN, EXAMPLES, ROOT

from kmemlab.cli import main
from kmemlab.quiz import Quiz, QuizErrors

CHAPTERS = ["00-start-here", "01-kernel-vs-user", "02-kmalloc-and-vmalloc",
            "03-malloc-and-free", "04-allocation-rules", "05-large-contiguous-memory",
            "06-your-own-machine"]


def test_one_example_per_chapter():
    assert [p.stem for p in EXAMPLES] == CHAPTERS


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_passes_check(path, capsys):
    assert main(["quiz", "check", "--seeds", "10", str(path)]) == 0
    assert "ok:" in capsys.readouterr().out
    quiz = Quiz.load(path)
    assert any(q.type == "simulator" for q in quiz.questions)


# file -> (line, column, words the message must contain)
EXPECTED = {
    "bad-yaml.yaml": (9, 1, ["invalid YAML"]),
    "unknown-type.yaml": (6, 11, ["unknown question type 'essay'", "single"]),
    "import.yaml": (9, 13, ["'__import__' is not available"]),
    "dunder.yaml": (9, 20, ["'__class__' is not allowed"]),
    "huge-exponent.yaml": (9, 18, ["exponent", "too large"]),
    "missing-answer.yaml": (5, 5, ["answer is missing"]),
    "template.yaml": (8, 13, ["only plain parameter names", "no attribute"]),
    "alias.yaml": (4, 4, ["aliases", "not allowed"]),
    "python-tag.yaml": (3, 8, ["tag", "not allowed"]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_reports_position_and_runs_nothing(name, tmp_path, monkeypatch, capsys):
    src = BROKEN / name
    shutil.copy(src, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert main(["quiz", "check", name]) == 1
    err = capsys.readouterr().err
    line, col, words = EXPECTED[name]
    assert f"{name}:{line}:{col}: " in err, err
    for w in words:
        assert w in err, err
    # nothing ran: the expressions and tags that would create files did not
    assert sorted(os.listdir(tmp_path)) == [name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_raises_quizerrors(name):
    with pytest.raises(QuizErrors) as exc:
        Quiz.load(BROKEN / name)
    e = exc.value.errors[0]
    assert (e.line, e.column) == EXPECTED[name][:2]


def test_missing_file_is_usage_error(capsys):
    assert main(["quiz", "check", "/nonexistent/quiz.yaml"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_runtime_answer_failure_is_reported(tmp_path, capsys):
    p = tmp_path / "q.yaml"
    p.write_text("""kmemlab_quiz: 1
id: t-runtime
title: t
questions:
  - id: q1
    type: simulator
    params: {size: [100, 20000]}
    prompt: "{size}"
    answer: objs_per_slab(size)
""")
    assert main(["quiz", "check", str(p)]) == 1
    err = capsys.readouterr().err
    assert "q.yaml:9:13:" in err and "page allocator" in err


@pytest.mark.parametrize("text, words", [
    ("questions: []", ["questions"]),
    ("questions:\n  - {id: a, type: single, prompt: p, choices: [x, y]}", ["exactly one"]),
    ("questions:\n  - {id: a, type: text, prompt: p, accept: [x]}\n"
     "  - {id: a, type: text, prompt: p, accept: [x]}", ["used twice"]),
    ("questions:\n  - {id: a, type: text, prompt: p, regex: '(unclosed'}", ["regex"]),
    ("questions:\n  - {id: a, type: text, prompt: p, accept: [x], bogus: 1}",
     ["unknown key 'bogus'"]),
    ("questions:\n  - {id: a, type: simulator, prompt: '{nope}', answer: '1'}",
     ["{nope} is not a parameter"]),
    ("questions:\n  - {id: a, type: simulator, prompt: p, answer: 'open(\"f\")'}",
     ["'open' is not available"]),
    ("questions:\n  - {id: a, type: simulator, prompt: p, answer: '[x for x in (1,)]'}",
     ["comprehension"]),
    ("questions:\n  - {id: a, type: simulator, prompt: p, answer: 'boot().zones.items'}",
     ["unknown attribute 'items'"]),
    ("questions:\n  - {id: a, type: text, prompt: p, accept: [x]}\ndup: 1\ndup: 2",
     ["duplicate key"]),
])
def test_other_errors(text, words):
    head = "kmemlab_quiz: 1\nid: t-err\ntitle: t\n"
    with pytest.raises(QuizErrors) as exc:
        Quiz.loads(head + text)
    msg = str(exc.value)
    for w in words:
        assert w in msg, msg
    assert all(e.line is not None for e in exc.value.errors)


def test_file_size_limit(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_text("kmemlab_quiz: 1\n# " + "x" * 300_000 + "\n")
    with pytest.raises(QuizErrors, match="larger than"):
        Quiz.load(p)


def test_quiz_package_does_not_import_ipywidgets():
    code = ("import sys, kmemlab.quiz, kmemlab.quiz.cli, kmemlab.quiz.export; "
            "from kmemlab.cli import main; "
            f"rc = main(['quiz', 'check', '--seeds', '2', {str(EXAMPLES[0])!r}]); "
            "assert rc == 0, rc; "
            "assert 'ipywidgets' not in sys.modules, 'ipywidgets imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
