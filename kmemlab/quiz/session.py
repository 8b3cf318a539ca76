"""One student taking one quiz: the responses live here, on the Python side.

The widget is a view of a :class:`Session`; a test (or a script) can drive the same
object directly. ``save()`` writes the responses as JSON for the instructor to collect
and grade with ``kmemlab quiz grade``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .model import Quiz, Result, Variant

RESPONSES_FORMAT = 1


def fingerprint(quiz: Quiz) -> str:
    """Identifies the questions (not their answers): equal for a quiz and its sealed copy."""
    h = hashlib.sha256()
    for q in quiz.questions:
        h.update("\0".join((q.id, q.type, q.prompt, *q.choices)).encode("utf-8") + b"\1")
    return h.hexdigest()[:16]


class Session:
    """``student`` answering ``quiz`` in ``mode`` ("practice" or "graded")."""

    def __init__(self, quiz: Quiz, student: str | None = None, mode: str | None = None) -> None:
        if mode not in (None, "practice", "graded"):
            raise ValueError("mode is 'practice' or 'graded'")
        self.quiz = quiz
        self.student = student or ""
        self.mode = mode or quiz.mode
        self.functions = quiz.functions()
        self.variants: list[Variant] = quiz.variant(self.student, self.functions)
        self.by_id = {v.question.id: v for v in self.variants}
        self.answers: dict[str, object] = {}
        self.attempts: dict[str, int] = {v.question.id: 0 for v in self.variants}
        self.results: dict[str, Result] = {}
        self.submitted = False

    # ---------------------------------------------------------------- answering
    def attempts_left(self, qid: str) -> int | None:
        """``None`` means unlimited (practice with ``attempts: 0``)."""
        if self.mode == "graded":
            return 0 if self.submitted else 1
        limit = self.quiz.attempts
        if not limit:
            return None
        return max(limit - self.attempts[qid], 0)

    def done(self, qid: str) -> bool:
        """No more changes to this answer (correct, out of attempts, or submitted)."""
        if self.submitted:
            return True
        if self.mode == "graded":
            return False
        r = self.results.get(qid)
        return bool(r and r.correct) or self.attempts_left(qid) == 0

    def answer(self, qid: str, response) -> Result | None:
        """Record a response. Practice mode checks it and returns the :class:`Result`;
        graded mode only stores it (``None``) until :meth:`submit`."""
        if qid not in self.by_id:
            raise KeyError(f"no question {qid!r} in quiz {self.quiz.id!r}")
        if self.done(qid):
            raise RuntimeError(f"question {qid!r} can no longer be answered")
        self.answers[qid] = response
        if self.mode == "graded":
            return None
        v = self.by_id[qid]
        result = v.question.check(response, v, self.functions)
        if result.valid:  # an unreadable answer does not cost an attempt
            self.attempts[qid] += 1
        self.results[qid] = result
        return result

    def submit(self) -> dict[str, Result]:
        """Grade every question (graded mode reveals correctness only now)."""
        for v in self.variants:
            qid = v.question.id
            if self.mode == "graded" or qid not in self.results:
                self.results[qid] = v.question.check(self.answers.get(qid), v, self.functions)
        self.submitted = True
        return dict(self.results)

    def score(self) -> tuple[float, float]:
        """(points, maximum) over the questions graded so far (all after submit)."""
        got = sum(r.points for r in self.results.values())
        return got, self.quiz.max_points

    # ---------------------------------------------------------------- saving
    def to_dict(self) -> dict:
        pts, mx = self.score()
        return {
            "kmemlab_responses": RESPONSES_FORMAT,
            "quiz": {"id": self.quiz.id, "title": self.quiz.title,
                     "fingerprint": fingerprint(self.quiz)},
            "student": self.student,
            "mode": self.mode,
            "submitted": self.submitted,
            "answers": {k: v for k, v in self.answers.items()},
            "attempts": {k: n for k, n in self.attempts.items() if n},
            "params": {v.question.id: v.params for v in self.variants if v.params},
            "score": {"points": pts, "max": mx, "note": "informative; graders recompute"},
        }

    def save(self, path: str | Path) -> Path:
        """Write the responses as JSON (what ``kmemlab quiz grade`` reads)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        return path
