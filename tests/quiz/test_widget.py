"""The widget driven like a student would: answer, check/submit, score, save."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ipywidgets")

from quiz_helpers import EXAMPLES  # noqa: E402

import kmemlab as km  # noqa: E402
from kmemlab.quiz import Quiz  # noqa: E402


def _expected(w, qid):
    v = w.session.by_id[qid]
    return v.question.expected(v.params, w.session.functions)


def test_graded_mode_hides_correctness_until_submit(small_quiz, tmp_path):
    w = km.quiz.show(str(small_quiz), student="alice")
    assert w.session.mode == "graded" and not w.check_buttons
    w.inputs["s1"].value = "GFP_ATOMIC"
    for cb in w.inputs["m1"]:
        cb.value = cb.description in ("GFP_KERNEL", "vmalloc")
    w.inputs["n1"].value = "8192 B"
    w.inputs["n2"].value = "3.2"          # wrong
    w.inputs["n3"].value = "1020"
    w.inputs["t1"].value = "buddy"
    w.inputs["sim"].value = _expected(w, "sim")
    w.inputs["simn"].value = str(_expected(w, "simn"))
    assert all(fb.value == "" for fb in w.feedback.values())   # nothing revealed yet
    assert "Score" not in w.summary.value
    w.submit_button.click()
    assert w.score() == (7, 8)
    assert "Score: 7 / 8" in w.summary.value
    assert "Not correct" in w.feedback["n2"].value and "Correct" in w.feedback["s1"].value
    assert "cannot sleep" in w.feedback["s1"].value         # explanation after submit
    assert w.inputs["s1"].disabled and w.submit_button.disabled
    w.save_path.value = str(tmp_path / "alice.json")
    w.save_button.click()
    data = json.loads((tmp_path / "alice.json").read_text())
    assert data["student"] == "alice" and data["submitted"] is True
    assert data["answers"]["n1"] == "8192 B" and data["score"]["points"] == 7
    assert "Saved" in w.status.value


def test_practice_mode_feedback_attempts_and_explanation(tmp_path):
    path = [p for p in EXAMPLES if p.stem.startswith("02")][0]
    w = km.quiz.show(Quiz.load(path), student="bob")
    assert w.session.mode == "practice" and w.quiz.attempts == 3
    qid = "kmalloc-max"
    w.inputs[qid].value = "4"
    w.check_buttons[qid].click()
    fb = w.feedback[qid].value
    assert "Not correct" in fb and "2 attempts left" in fb and "KMALLOC_SHIFT_HIGH" not in fb
    w.inputs[qid].value = "not a number"
    w.check_buttons[qid].click()
    assert "Could not read" in w.feedback[qid].value
    assert w.session.attempts_left(qid) == 2          # unreadable answers are free
    w.inputs[qid].value = "8 KiB"
    w.check_buttons[qid].click()
    assert "Correct" in w.feedback[qid].value and "KMALLOC_SHIFT_HIGH" in w.feedback[qid].value
    assert w.check_buttons[qid].disabled
    # a simulator question, wrong three times: locked, explanation shown
    sim = "objs-per-slab"
    for _ in range(3):
        w.inputs[sim].value = "0"
        w.check_buttons[sim].click()
    assert w.check_buttons[sim].disabled and "calculate_order" in w.feedback[sim].value
    assert w.score()[0] == 1
    out = w.save(tmp_path / "bob.json")
    assert json.loads(out.read_text())["attempts"] == {qid: 2, sim: 3}


def test_widget_renders_as_a_widget(small_quiz):
    w = km.quiz.show(str(small_quiz), student="x")
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in (bundle[0] if isinstance(
        bundle, tuple) else bundle)
