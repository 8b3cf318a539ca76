"""Exports: jupyterquiz JSON in the shape its JavaScript reads; nbgrader notebooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from quiz_helpers import EXAMPLES

from kmemlab.cli import main
from kmemlab.quiz import Quiz, check_answer
from kmemlab.quiz.export import to_jupyterquiz, to_nbgrader

# What jupyterquiz 2.9's JavaScript reads (js/helpers.js, multiple_choice.js, numeric.js,
# string.js): Question.registry[qa.type]; qa.question; qa.answers[] with
#   multiple_choice/many_choice: answer, correct (bool), feedback
#   numeric: {type: value, value} | {type: range, range: [lo, hi]} | {type: default}
#   string: answer, correct, match_case | {type: default}
JQ_TYPES = {"multiple_choice", "many_choice", "numeric", "string"}


def assert_jupyterquiz_shape(questions):
    assert isinstance(questions, list) and questions
    for qa in questions:
        assert qa["type"] in JQ_TYPES
        assert isinstance(qa["question"], str)
        answers = qa["answers"]
        assert isinstance(answers, list) and answers
        if qa["type"] in ("multiple_choice", "many_choice"):
            assert all(isinstance(a["answer"], str) and isinstance(a["correct"], bool)
                       for a in answers)
            ncorrect = sum(a["correct"] for a in answers)
            assert ncorrect == 1 if qa["type"] == "multiple_choice" else ncorrect >= 1
        elif qa["type"] == "numeric":
            for a in answers:
                if a.get("type") == "default":
                    continue
                if a["type"] == "value":
                    assert isinstance(a["value"], int | float)
                else:
                    assert a["type"] == "range" and len(a["range"]) == 2
                    assert a["range"][0] <= a["range"][1]
                assert a["correct"] is True
        else:
            for a in answers:
                if a.get("type") == "default":
                    continue
                assert isinstance(a["answer"], str) and a["correct"] is True
                assert isinstance(a["match_case"], bool)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_jupyterquiz_export(path, tmp_path, capsys):
    out = tmp_path / "q.json"
    assert main(["quiz", "export", str(path), "--to", "jupyterquiz", "-o", str(out),
                 "--student", "alice"]) == 0
    assert_jupyterquiz_shape(json.loads(out.read_text()))


def test_jupyterquiz_python_loader_accepts_it(small_quiz, tmp_path):
    jq = pytest.importorskip("jupyterquiz.dynamic.loader")
    questions, _ = to_jupyterquiz(Quiz.load(small_quiz), "alice")
    p = tmp_path / "q.json"
    p.write_text(json.dumps(questions))
    script, static, _url = jq.load_questions_script(str(p), "div1")
    assert static and json.loads(script.split("=", 1)[1].split(";\n")[0]) == questions


def test_sealed_quiz_cannot_go_to_jupyterquiz(small_quiz, tmp_path, capsys):
    out = tmp_path / "s.yaml"
    assert main(["quiz", "seal", str(small_quiz), "-o", str(out), "--iterations", "1000"]) == 0
    assert main(["quiz", "export", str(out), "--to", "jupyterquiz"]) == 1
    assert "sealed" in capsys.readouterr().err


def _nb(quiz_path, student="alice"):
    pytest.importorskip("nbformat")
    return to_nbgrader(Quiz.load(quiz_path), student, salt="ab" * 16, iterations=1000)


def test_nbgrader_metadata_and_no_answers_in_tests(small_quiz):
    nb = _nb(small_quiz)
    quiz = Quiz.load(small_quiz)
    ids = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        assert meta is not None
        for key in ("grade", "solution", "locked", "grade_id", "schema_version"):
            assert key in meta
        assert meta["schema_version"] == 3
        assert meta["grade_id"] not in ids
        ids.add(meta["grade_id"])
        if meta["grade"]:
            assert cell.cell_type == "code" and meta["locked"] and meta["points"] > 0
            src = cell.source
            # the test compares hashes: the answer text is not in it
            for secret in ("buddy allocator", "'8'", "3.14", "8192"):
                assert secret not in src
        if meta["solution"]:
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    assert sum(c.metadata["nbgrader"]["grade"] for c in nb.cells) == len(quiz.questions)


def test_nbgrader_validator_accepts_it(small_quiz):
    pytest.importorskip("nbgrader")
    from nbgrader.nbgraderformat import MetadataValidator

    for path in [small_quiz, *EXAMPLES[:3]]:
        MetadataValidator().validate_nb(_nb(path))


def test_nbgrader_tests_pass_with_solutions_and_fail_without(small_quiz):
    """Run the notebook's code cells: with the solutions the tests pass; with nbgrader's
    stub (what students get) or a wrong answer they fail."""
    nb = _nb(small_quiz)
    ns: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(cell.source, ns)  # the notebook we generated, as nbgrader would run it
    wrong = dict(ns)
    tests = [c for c in nb.cells if c.metadata["nbgrader"]["grade"]]
    wrong["answer_s1"] = "GFP_KERNEL"
    with pytest.raises(AssertionError, match="s1: not correct"):
        exec(tests[0].source, wrong)
    wrong["answer_s1"] = "a"   # letter of the first choice (GFP_ATOMIC, not shuffled)
    exec(tests[0].source, wrong)


def test_check_answer_accepts_units_and_letters():
    from fractions import Fraction

    from kmemlab.quiz.sealer import answer_tokens, make_sealed

    toks, extra = answer_tokens("numeric", Fraction(8), 0)
    rec = {"quiz": "q", "question": "n", "salt": "00" * 8, "iterations": 10, "unit": "KiB",
           "sealed": make_sealed(toks, extra, salt="00" * 8, iterations=10, quiz_id="q",
                                 qid="n")}
    assert check_answer(8, rec) and check_answer("8192 B", rec) and not check_answer(9, rec)


def test_nbgrader_generate_assignment(small_quiz, tmp_path):
    """nbgrader's own pipeline: generate the student version; answers are stripped."""
    pytest.importorskip("nbgrader")
    import nbformat

    course = tmp_path / "course"
    src = course / "source" / "quiz1"
    src.mkdir(parents=True)
    nbformat.write(_nb(small_quiz), src / "quiz1.ipynb")
    r = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "quiz1",
                        "--force", "--CourseDirectory.root=" + str(course),
                        "--CourseDirectory.db_url=sqlite:///" + str(tmp_path / "gb.db")],
                       capture_output=True, text=True, timeout=300, cwd=course,
                       env={**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep
                            + os.environ.get("PATH", "")})
    assert r.returncode == 0, r.stdout + r.stderr
    released = (course / "release" / "quiz1" / "quiz1.ipynb").read_text()
    assert "GFP_ATOMIC'" not in released.split("check_answer")[0].split("answer_s1")[-1]
    assert "raise NotImplementedError()" in released
    assert "buddy allocator" not in released
