"""The quiz widget's parts share their Layout and Style models (widget.py docstring).

What a student sees must not change: every widget has the layout and style it had when
each made its own, and the one part whose layout changes (*New attempt*, shown and
hidden) has a Layout nobody else uses. The quiz sends about half the models it did.
"""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

import ipywidgets as w  # noqa: E402
from quiz_helpers import EXAMPLES, SMALL  # noqa: E402

import kmemlab as km  # noqa: E402


def tree(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from tree(child)


def models(qw) -> set[int]:
    """ids of every widget, Layout and Style model the quiz displays."""
    out = set()
    for x in tree(qw.box):
        out.add(id(x))
        out.add(id(x.layout))
        if "style" in x.keys:
            out.add(id(x.style))
    return out


def test_half_the_models(small_quiz):
    qw = km.quiz.show(small_quiz, student="alice", mode="practice")
    parts = list(tree(qw.box))
    unshared = sum(1 + 1 + ("style" in x.keys) for x in parts)   # each its own, as before
    assert len(models(qw)) <= unshared // 2 + 4, (len(models(qw)), unshared)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_layouts_and_styles_are_the_defaults_or_as_before(path):
    qw = km.quiz.show(path, student="bob")
    for x in tree(qw.box):
        fresh = type(x)()
        # a shared style is an untouched default style of the widget's own class
        if "style" in x.keys:
            assert type(x.style) is type(fresh.style)
            assert x.style.get_state() == fresh.style.get_state()
        assert isinstance(x.layout, w.Layout)
    widths = {x.layout.width for x in qw.inputs.values() if isinstance(x, w.Text)}
    assert widths <= {"320px"}
    assert qw.box.layout.max_width == "820px"
    for btn in qw.check_buttons.values():
        assert (btn.layout.width, btn.layout.min_width) == ("auto", "90px")


def test_retake_button_layout_is_its_own(small_quiz):
    qw = km.quiz.show(small_quiz, student="carol")          # graded, 1 attempt
    others = [x for x in tree(qw.box) if x is not qw.retake_button]
    assert all(x.layout is not qw.retake_button.layout for x in others)
    before = {id(x): x.layout.display for x in others}
    qw.retake_button.layout.display = None                  # shown (as _lock_submitted does)
    assert {id(x): x.layout.display for x in others} == before
    qw.retake_button.layout.display = "none"


def test_graded_retake_shows_and_hides_only_its_button(tmp_path):
    quiz = tmp_path / "g.yaml"
    quiz.write_text(SMALL.replace("mode: graded,", "mode: graded, attempts: 2,"),
                    encoding="utf-8")
    qw = km.quiz.show(quiz, student="dave", save=tmp_path / "dave.json")
    qw.submit()
    assert qw.retake_button.layout.display is None          # a second attempt is allowed
    assert qw.save_button.layout.display is None and qw.submit_button.layout.display is None
    assert qw.retake()
    assert qw.retake_button.layout.display == "none"
    assert qw.save_button.layout.display is None
