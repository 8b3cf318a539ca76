"""Per-student variants: stable for a student, different across students."""

from __future__ import annotations

from quiz_helpers import EXAMPLES

from kmemlab.quiz import Quiz
from kmemlab.quiz.model import stable_int


def _params(quiz, student):
    return {v.question.id: v.params for v in quiz.variant(student)}


def test_stable_for_a_seed(small_quiz):
    a = Quiz.load(small_quiz)
    b = Quiz.load(small_quiz)  # a fresh load: nothing cached, no global random state
    for s in ("alice", "bob", "seed-7"):
        assert _params(a, s) == _params(b, s)
    assert stable_int("q", "alice", "x") == 6350037798577450989  # same on every machine


def test_differ_across_seeds(small_quiz):
    quiz = Quiz.load(small_quiz)
    seen = {tuple(sorted(_params(quiz, f"student-{i}")["sim"].items())) for i in range(30)}
    assert len(seen) >= 25
    sizes = {_params(quiz, f"student-{i}")["simn"]["size"] for i in range(30)}
    assert len(sizes) == 30


def test_shuffle_is_per_student_and_stable():
    quiz = Quiz.load([p for p in EXAMPLES if p.stem.startswith("04")][0])
    orders = {tuple(v.question.id for v in quiz.variant(f"s{i}")) for i in range(20)}
    assert len(orders) > 5
    assert [v.question.id for v in quiz.variant("ann")] == \
        [v.question.id for v in quiz.variant("ann")]
    ch = [v.choices for v in quiz.variant("ann") if v.choices]
    assert ch == [v.choices for v in quiz.variant("ann") if v.choices]


def test_where_constraint_respected():
    quiz = Quiz.load([p for p in EXAMPLES if p.stem.startswith("02")][0])
    for i in range(40):
        size = _params(quiz, f"s{i}")["cache-for-size"]["size"]
        assert size % 8 != 0 and 9 <= size <= 2048


def test_answers_follow_the_variant(small_quiz):
    quiz = Quiz.load(small_quiz)
    f = quiz.functions()
    for i in range(10):
        v = {x.question.id: x for x in quiz.variant(f"s{i}", f)}["simn"]
        import kmemlab as km
        assert v.question.expected(v.params, f) == km.get_order(v.params["size"])
        assert str(v.params["size"]) in v.prompt
