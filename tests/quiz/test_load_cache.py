"""Quiz.load parses and schema-checks a file's bytes once per process (model._DOCUMENTS).

The cache must be invisible: a change to the file (even one that keeps its size and
modification time) is read, an invalid file raises every time, and every load is a new
Quiz that shares nothing mutable with the others.
"""

from __future__ import annotations

import os

import pytest
from quiz_helpers import EXAMPLES, SMALL

import kmemlab.quiz as kq
from kmemlab.quiz import Quiz, QuizErrors, loader, model


@pytest.fixture(autouse=True)
def _empty_cache():
    model._DOCUMENTS.clear()
    yield
    model._DOCUMENTS.clear()


@pytest.fixture
def parses(monkeypatch):
    """Counts the YAML parses Quiz.load does."""
    calls = []
    real = loader.load_text

    def counting(text, file="<quiz>"):
        calls.append(file)
        return real(text, file)

    monkeypatch.setattr(loader, "load_text", counting)
    return calls


def test_same_bytes_parsed_once(small_quiz, parses):
    a = Quiz.load(small_quiz)
    b = Quiz.load(small_quiz)
    assert len(parses) == 1
    assert a is not b and a.data is not b.data and a.data == b.data
    assert [q.id for q in a.questions] == [q.id for q in b.questions]
    assert a.questions[0] is not b.questions[0]


def test_a_changed_file_is_read_again_even_with_same_size_and_mtime(small_quiz, parses):
    before = Quiz.load(small_quiz)
    st = os.stat(small_quiz)
    text = small_quiz.read_text(encoding="utf-8")
    changed = text.replace("Interrupt handler flags?", "Interrupt handler FLAGS!")
    assert len(changed) == len(text)
    small_quiz.write_text(changed, encoding="utf-8")
    os.utime(small_quiz, ns=(st.st_atime_ns, st.st_mtime_ns))   # same size, same mtime
    after = Quiz.load(small_quiz)
    assert len(parses) == 2
    assert before.by_id["s1"].prompt == "Interrupt handler flags?"
    assert after.by_id["s1"].prompt == "Interrupt handler FLAGS!"


def test_show_follows_the_file(small_quiz):
    w1 = kq.show(small_quiz, student="alice", mode="practice")
    small_quiz.write_text(SMALL.replace("Which may sleep?", "Which may block?"),
                          encoding="utf-8")
    w2 = kq.show(small_quiz, student="alice", mode="practice")
    assert "Which may sleep?" in str(w1.box.children)
    assert "Which may block?" in str(w2.box.children)
    assert "Which may sleep?" not in str(w2.box.children)


def test_a_file_made_invalid_raises_and_back_again_loads(small_quiz):
    Quiz.load(small_quiz)
    small_quiz.write_text(SMALL.replace("type: numeric", "type: essay", 1), encoding="utf-8")
    for _ in range(2):   # every time: a failure is never cached
        with pytest.raises(QuizErrors, match="unknown question type 'essay'"):
            Quiz.load(small_quiz)
    small_quiz.write_text(SMALL, encoding="utf-8")
    assert Quiz.load(small_quiz).by_id["n1"].type == "numeric"


def test_compile_errors_raise_on_every_load(tmp_path):
    p = tmp_path / "q.yaml"
    p.write_text(SMALL.replace("answer: get_order(size)", "answer: get_order(size).__class__"),
                 encoding="utf-8")
    for _ in range(2):
        with pytest.raises(QuizErrors, match="__class__"):
            Quiz.load(p)


def test_changing_a_loaded_quiz_does_not_change_the_next(small_quiz):
    a = Quiz.load(small_quiz)
    a.data["questions"][0]["prompt"] = "mangled"
    a.data["questions"][0]["choices"].append("extra")
    a.questions[0].prompt = "mangled too"
    b = Quiz.load(small_quiz)
    assert b.data["questions"][0]["prompt"] == "Interrupt handler flags?"
    assert "extra" not in b.data["questions"][0]["choices"]
    assert b.questions[0].prompt == "Interrupt handler flags?"


def test_the_path_as_given_is_part_of_the_key(small_quiz, tmp_path, parses):
    other = tmp_path / "copy.yaml"
    other.write_bytes(small_quiz.read_bytes())
    assert Quiz.load(small_quiz).doc.file == str(small_quiz)
    assert Quiz.load(other).doc.file == str(other)   # messages name the file loaded
    assert len(parses) == 2


def test_newlines_and_errors_as_text_mode_reads_them(tmp_path):
    crlf = tmp_path / "crlf.yaml"
    crlf.write_bytes(SMALL.replace("\n", "\r\n").encode("utf-8"))
    q = Quiz.load(crlf)
    assert q.data == Quiz.loads(SMALL).data
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(SMALL.replace("Small quiz", "Quiz \u00e9t\u00e9").encode("latin-1"))
    with pytest.raises(QuizErrors, match="not UTF-8 text"):
        Quiz.load(bad)


def test_the_cache_is_bounded(tmp_path):
    for i in range(model._DOCUMENTS_MAX + 5):
        p = tmp_path / f"q{i}.yaml"
        p.write_text(SMALL.replace("id: t-small", f"id: t-small-{i}"), encoding="utf-8")
        Quiz.load(p)
    assert len(model._DOCUMENTS) == model._DOCUMENTS_MAX


@pytest.mark.parametrize("path", EXAMPLES[:2], ids=lambda p: p.stem)
def test_cached_load_equals_a_fresh_one(path):
    first = Quiz.load(path)
    second = Quiz.load(path)
    assert second.data == first.data
    for a, b in zip(first.variant("bob"), second.variant("bob"), strict=True):
        assert (a.question.id, a.params, a.prompt, a.choices) == \
            (b.question.id, b.params, b.prompt, b.choices)
