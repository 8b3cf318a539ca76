"""nbgrader with per-student variants, through nbgrader's own commands.

An exported quiz goes through ``nbgrader generate_assignment``; three students' released
notebooks show each student their own numbers (from JUPYTERHUB_USER); their submissions
go through ``nbgrader autograde`` (the hidden tests compute each student's answer from
nbgrader's student id) and ``nbgrader export``. The expected points come from the quiz
model, not from the notebook code under test.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from quiz_helpers import SMALL

from kmemlab.quiz import Quiz
from kmemlab.quiz.export import to_nbgrader

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader")

STUDENTS = ("alice", "bob", "carol")


def nbgrader(course: Path, *args: str) -> str:
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep
           + os.environ.get("PATH", "")}
    for k in ("JUPYTERHUB_USER", "NBGRADER_EXECUTION"):
        env.pop(k, None)
    r = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"nbgrader {' '.join(args)}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout + r.stderr


def make_course(tmp_path: Path, quiz_text: str = SMALL) -> tuple[Path, Quiz]:
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    qpath = tmp_path / "quiz.yaml"
    qpath.write_text(quiz_text)
    quiz = Quiz.load(qpath)
    nbformat.write(to_nbgrader(quiz, iterations=1000), course / "source" / "ps1" / "ps1.ipynb")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'kmemlab'\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n"
        "c.Execute.timeout = 120\n")
    return course, quiz


def expected_answers(quiz: Quiz, student: str) -> dict:
    """The right answers for ``student``'s variant, from the quiz model."""
    functions = quiz.functions()
    return {v.question.id: v.question.expected(v.params, functions)
            for v in quiz.variant(student, functions)}


def fill(released: Path, answers: dict) -> nbformat.NotebookNode:
    """The released notebook with answer cells filled in, as a student would type them."""
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            qid = meta["grade_id"].removesuffix("-answer")
            if qid in answers:
                var = "answer_" + qid.replace("-", "_")
                value = answers[qid]
                cell.source = f"{var} = {value!r}" if not hasattr(value, "denominator") \
                    else f"{var} = {int(value)}"
    return nb


def test_three_students_own_variants_through_nbgrader(tmp_path, monkeypatch):
    course, quiz = make_course(tmp_path)
    nbgrader(course, "generate_assignment", "ps1", "--force")
    released = course / "release" / "ps1" / "ps1.ipynb"
    text = released.read_text()
    assert "raise NotImplementedError()" in text and "HIDDEN TESTS" not in text
    assert "kmalloc_cache(size" not in text and "buddy allocator" not in text

    # what each student sees while working: their own numbers, from JUPYTERHUB_USER (the
    # released notebook's locked cells run here as a kernel with that environment would)
    import contextlib
    import io

    nb = nbformat.read(released, as_version=4)
    shown = [c.source for c in nb.cells if c.cell_type == "code"
             and c.metadata["nbgrader"].get("locked") and not c.metadata["nbgrader"]["grade"]]
    prompts = {}
    for s in STUDENTS:
        monkeypatch.setenv("JUPYTERHUB_USER", s)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            ns: dict = {}
            for src in shown:
                exec(src, ns)  # the notebook nbgrader released
        assert f"variant of {s!r}" in buf.getvalue()
        prompts[s] = buf.getvalue().replace(s, "STUDENT")
    monkeypatch.delenv("JUPYTERHUB_USER")
    assert len(set(prompts.values())) == 3, "three students, three different question sets"

    # submissions: each answers sim with their own right value and simn with alice's
    # right value; s1 right for everyone (its letter), the rest left unanswered
    mine = {s: expected_answers(quiz, s) for s in STUDENTS}
    assert len({mine[s]["simn"] for s in STUDENTS}) > 1
    typed = {s: {"s1": "a", "sim": mine[s]["sim"], "simn": mine["alice"]["simn"]}
             for s in STUDENTS}
    want = {s: 1 + 1 + (mine[s]["simn"] == mine["alice"]["simn"]) for s in STUDENTS}
    for s in STUDENTS:
        d = course / "submitted" / s / "ps1"
        d.mkdir(parents=True)
        nbformat.write(fill(released, typed[s]), d / "ps1.ipynb")
        (d / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    (tmp_path / "students.csv").write_text("id\n" + "\n".join(STUDENTS) + "\n")
    nbgrader(course, "db", "student", "import", str(tmp_path / "students.csv"))
    nbgrader(course, "autograde", "ps1", "--force")
    nbgrader(course, "export", "--to", str(tmp_path / "grades.csv"))
    rows = {r["student_id"]: r for r in csv.DictReader((tmp_path / "grades.csv").open())}
    got = {s: float(rows[s]["raw_score"]) for s in STUDENTS}
    assert got == {s: float(want[s]) for s in STUDENTS}, (got, want)
    assert float(rows["alice"]["max_score"]) == quiz.max_points
    assert len(set(got.values())) > 1, "same typed answers, different variants, different grades"
    # the autograded notebooks say whose variant they graded
    for s in STUDENTS:
        graded = (course / "autograded" / s / "ps1" / "ps1.ipynb").read_text()
        assert f"variant of '{s}'" in graded
