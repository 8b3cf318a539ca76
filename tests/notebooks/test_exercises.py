"""The chapter exercises (notebooks/exercises/): every chapter has 3-6 exercises, every
answer is computable by the simulator, check() accepts it, and students get variants."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHAPTERS = [f"ch{i:02d}" for i in range(7)]
STUDENTS = ["your-name", "alice", "bob", "张伟"]


@pytest.fixture(scope="module")
def exercises_pkg():
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        yield importlib.import_module("exercises")
    finally:
        sys.path.remove(str(NOTEBOOKS))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_exercises(exercises_pkg, chapter, capsys):
    mod = importlib.import_module(f"exercises.{chapter}")
    variants = []
    for student in STUDENTS:
        exs = mod.exercises(student)
        assert 3 <= len(exs) <= 6
        for ex in exs:
            answer = ex.answer
            assert answer is not None
            assert ex.is_correct(answer)
            assert not ex.is_correct("certainly not this")
            ex.check(answer)
            assert "✓" in capsys.readouterr().out
        variants.append(tuple(e.question for e in exs))
    assert len(set(variants)) > 1, "all students got the same questions"


def test_seed_is_stable(exercises_pkg):
    assert exercises_pkg.student_seed("your-name") == 2645720521
    assert exercises_pkg.student_seed(" Alice ") == exercises_pkg.student_seed("alice")
    with pytest.raises(ValueError):
        exercises_pkg.student_seed("")


def test_errata_box_renders(exercises_pkg):
    box = exercises_pkg.errata("says", "does", {"evidence": 1}, section="§1", verdict="wrong")
    assert "The document says: says" in repr(box)
    assert "<table" in box._repr_html_()
