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


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_exercises_in_chinese(exercises_pkg, chapter, capsys):
    """Every title, question, hint and solution has a Chinese text (catalog templates
    notebooks/locale/zh/LC_MESSAGES/chapters.po), for several students' numbers; the
    answers and the grading are the same in both languages."""
    import kmemlab as km

    def cjk(s):
        return any("\u4e00" <= c <= "\u9fff" for c in s)

    mod = importlib.import_module(f"exercises.{chapter}")
    for student in STUDENTS:
        en = mod.exercises(student)
        km.set_language("zh")
        try:
            zh = mod.exercises(student)
            for a, b in zip(en, zh):
                for name in ("question", "hint"):
                    text = b.text(name)
                    assert cjk(text) or not getattr(b, name), (b.label, name, text)
                assert b.answer == a.answer
                b.solution()
                out = capsys.readouterr().out
                assert cjk(out), (b.label, out)
                assert b.label.startswith("练习")
                b.check(b.answer)
                assert "✓ 正确" in capsys.readouterr().out
        finally:
            km.set_language("en")
        a = en[0]
        a.check(a.answer)
        assert "✓ correct" in capsys.readouterr().out and not cjk(a.text("question"))


def test_answer_key_in_chinese():
    import subprocess
    out = subprocess.run([sys.executable, "-m", "exercises", "张伟", "--chapter", "2",
                          "--lang", "zh"], cwd=NOTEBOOKS, capture_output=True, text=True,
                         check=True).stdout
    assert "练习 2.1" in out and "内部碎片" in out and "answer:" in out
    en = subprocess.run([sys.executable, "-m", "exercises", "张伟", "--chapter", "2"],
                        cwd=NOTEBOOKS, capture_output=True, text=True, check=True).stdout
    assert "Exercise 2.1 (internal fragmentation)" in en
    assert [line for line in out.splitlines() if "answer:" in line] == \
        [line for line in en.splitlines() if "answer:" in line]
