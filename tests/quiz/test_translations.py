"""Quizzes in two languages: a question may carry translations; grading does not depend on
the language the student saw (the seven chapter quizzes have Chinese versions)."""

from __future__ import annotations

from pathlib import Path

import pytest

import kmemlab as km
from kmemlab.quiz.errors import QuizErrors
from kmemlab.quiz.model import Quiz, describe_expected

QUIZZES = sorted((Path(__file__).resolve().parents[2] / "notebooks" / "quizzes")
                 .glob("0*.yaml"))
CJK = "\u4e00-\u9fff"




def _has_cjk(s: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in s)


@pytest.mark.parametrize("path", QUIZZES, ids=lambda p: p.stem)
def test_chapter_quiz_has_chinese(path, zh):
    quiz = Quiz.load(path)
    assert _has_cjk(quiz.text("title"))
    for v in quiz.variant("张伟"):
        q = v.question
        assert _has_cjk(q.render(v.params, lang=True)), q.id
        assert q.explanation is None or _has_cjk(q.text("explanation")), q.id
        for c in v.choices:
            label = q.choice_label(c)
            assert label == c or _has_cjk(label) or label.isascii()
    km.set_language("en")
    assert quiz.text("title") == quiz.title and not _has_cjk(quiz.title)


def _answer_for(q, v, functions, zh_labels: bool):
    """The right answer as a student would give it, in the language they saw."""
    if q.type == "single":
        c = q.correct[0]
        return q.choice_label(c, lang="zh") if zh_labels else c
    if q.type == "multiple":
        return [q.choice_label(c, lang="zh") if zh_labels else c for c in q.correct]
    if q.type == "text":
        return q.accept[0]
    text = describe_expected(q, v, functions)
    return text.split()[0] if text else None


@pytest.mark.parametrize("path", QUIZZES, ids=lambda p: p.stem)
@pytest.mark.parametrize("student", ["alice", "张伟"])
def test_grading_is_language_independent(path, student):
    quiz = Quiz.load(path)
    functions = quiz.functions()
    variants = quiz.variant(student, functions)
    for right in (True, False):
        en_answers, zh_answers = {}, {}
        for v in variants:
            q = v.question
            if right:
                en_answers[q.id] = _answer_for(q, v, functions, zh_labels=False)
                zh_answers[q.id] = _answer_for(q, v, functions, zh_labels=True)
            elif q.choices:                     # a wrong choice, in each language
                wrong = next(c for c in v.choices if c not in q.correct)
                en_answers[q.id] = [wrong] if q.type == "multiple" else wrong
                lab = q.choice_label(wrong, lang="zh")
                zh_answers[q.id] = [lab] if q.type == "multiple" else lab
        en = quiz.grade(en_answers, student)
        km.set_language("zh")
        try:
            zh = quiz.grade(zh_answers, student)
            assert [v.choices for v in quiz.variant(student)] == [v.choices for v in variants]
        finally:
            km.set_language("en")
        assert {k: (r.correct, r.points) for k, r in en.items()} == \
            {k: (r.correct, r.points) for k, r in zh.items()}
        if right:
            assert all(r.correct for r in en.values()), {k: r.feedback for k, r in en.items()}


BASE = """
kmemlab_quiz: 1
id: t
title: T
questions:
  - id: q
    type: single
    prompt: Which?
    choices: [{text: a, correct: true}, b, c]
    translations:
      zh: %s
"""


def test_translation_errors_are_reported():
    with pytest.raises(QuizErrors, match="2 translated choices for 3 choices"):
        Quiz.loads(BASE % '{choices: ["甲", "乙"]}')
    with pytest.raises(QuizErrors, match="two translated choices have the same text"):
        Quiz.loads(BASE % '{choices: ["甲", "甲", "丙"]}')
    with pytest.raises(QuizErrors, match="unknown key 'answer'"):
        Quiz.loads(BASE % '{answer: "甲"}')
    sim = BASE.replace("type: single", "type: simulator\n    params: {n: [1, 2]}\n"
                       "    answer: n")
    sim = sim.replace("    choices: [{text: a, correct: true}, b, c]\n", "")
    with pytest.raises(QuizErrors, match=r"translated prompt uses \['m'\]"):
        Quiz.loads(sim % '{prompt: "{m} 是多少?"}')
    assert Quiz.loads(sim % '{prompt: "{n} 是多少?"}')


def test_widget_shows_chinese_and_grades_the_same(zh):
    pytest.importorskip("ipywidgets")
    path = next(p for p in QUIZZES if p.stem.startswith("03"))
    w = km.quiz.show(str(path), student="张伟")
    html = w.box.children[0].value
    assert "第 3 章" in html and "练习模式" in html
    qid = "free-returns"
    radio = w.inputs[qid]
    labels = dict((v, k) for k, v in radio.options)            # (Chinese label, file's text)
    right = "it stays in the process; glibc keeps the chunk for reuse"
    assert labels[right].startswith("仍留在进程中")
    radio.value = right
    r = w.check(qid)
    assert r.correct and "正确" in w.feedback[qid].value and "glibc 的 bin" in w.feedback[qid].value
    assert w.check_buttons[qid].description == "检查"


def test_sealed_quiz_drops_translated_explanations():
    from kmemlab.quiz.sealer import dump_yaml, seal_quiz
    data, _warnings = seal_quiz(Quiz.load(QUIZZES[0]), salt="00" * 8, iterations=1)
    text = dump_yaml(data)
    assert "PAGE_SHIFT 是 12" not in text            # the zh explanation is gone
    assert "x86_64 上一个页有多大" in text             # the zh prompt stays
    sealed = Quiz.loads(text)
    km.set_language("zh")
    try:
        r = sealed.grade({"page-size": "4"}, "x")["page-size"]
    finally:
        km.set_language("en")
    assert r.correct and r.explanation.startswith("PAGE_SHIFT is 12")
