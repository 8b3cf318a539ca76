"""One student taking one quiz: the responses live here, on the Python side.

The widget is a view of a :class:`Session`; a test (or a script) can drive the same
object directly. ``save()`` writes the responses as JSON for the instructor to collect
and grade with ``kmemlab quiz grade``.

Graded mode keeps a history. Each :meth:`Session.submit` appends a *submission* record
(attempt number, UTC time, the quiz's id and :func:`quiz_hash`, the kmemlab version,
the answers and the score, and a digest chained to the previous record) and, when the
session has a ``path``, writes the file at once. A session opened on a path that already
holds submissions of the same quiz and student *resumes* it: it shows the last
submission instead of a fresh quiz, and a new attempt is possible only while
``settings.attempts`` allows (0 = unlimited). Saving never drops submissions the file on
disk already has. All this holds against re-running a cell or restarting the kernel; a
student who edits or deletes the file by hand can still lose or forge history, which
``kmemlab quiz grade`` flags where it can (docs: notebooks/quizzes/README.md).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from .model import Quiz, Result, Variant

RESPONSES_FORMAT = 1
# keys of a question that carry its answer: left out of quiz_hash, so that a quiz and its
# sealed copy (answers replaced by hashes) hash the same
_ANSWER_KEYS = ("answer", "accept", "regex", "explanation", "sealed")


class AttemptError(RuntimeError):
    """A graded quiz refuses a new attempt or an overwrite that would lose submissions."""


def kmemlab_version() -> str:
    from kmemlab import __version__

    return __version__


def quiz_hash(quiz: Quiz) -> str:
    """sha256 over what a student is asked and how it is scored: id, settings, every
    question without its answer. Equal for a quiz and its sealed copy; any other change
    (a prompt, a parameter range, points, attempts) changes it."""
    data = copy.deepcopy(quiz.data)
    data.pop("sealed", None)
    for raw in data.get("questions", []):
        for key in _ANSWER_KEYS:
            raw.pop(key, None)
        if "choices" in raw:
            raw["choices"] = [c if isinstance(c, str) else c["text"] for c in raw["choices"]]
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_digest(record: dict, prev: str) -> str:
    """The digest of one submission record, chained to the previous one's (``prev``)."""
    body = {k: v for k, v in record.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256((prev + "\n" + text).encode("utf-8")).hexdigest()


def _utc_now() -> str:
    # the time goes into the responses file only, never into a notebook's output
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def fingerprint(quiz: Quiz) -> str:
    """Identifies the questions (not their answers): equal for a quiz and its sealed copy."""
    h = hashlib.sha256()
    for q in quiz.questions:
        h.update("\0".join((q.id, q.type, q.prompt, *q.choices)).encode("utf-8") + b"\1")
    return h.hexdigest()[:16]


class Session:
    """``student`` answering ``quiz`` in ``mode`` ("practice" or "graded")."""

    def __init__(self, quiz: Quiz, student: str | None = None, mode: str | None = None,
                 path: str | Path | None = None) -> None:
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
        self.submissions: list[dict] = []
        # graded: the number of submissions allowed (0 = unlimited); practice: per question
        self.attempts_allowed: int = quiz.attempts if self.mode == "graded" else 0
        self.path = Path(path) if path is not None else None
        self.resumed = False
        if self.mode == "graded" and self.path is not None:
            self._resume()

    # ---------------------------------------------------------------- graded history
    def _read_history(self, path: Path) -> list[dict]:
        """Submissions of this quiz by this student in ``path`` ([] if none)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AttemptError(f"{path} exists but cannot be read ({exc}); it is not "
                               "overwritten: move it away or ask your instructor") from None
        if not isinstance(data, dict) or data.get("kmemlab_responses") != RESPONSES_FORMAT:
            raise AttemptError(f"{path} is not a kmemlab responses file; not overwritten")
        qid = (data.get("quiz") or {}).get("id")
        if qid != self.quiz.id or data.get("student") != self.student:
            raise AttemptError(f"{path} holds responses of {data.get('student')!r} to quiz "
                               f"{qid!r}, not of {self.student!r} to {self.quiz.id!r}; "
                               "not overwritten: save to another file")
        subs = data.get("submissions") or []
        return [s for s in subs if isinstance(s, dict)]

    def _resume(self) -> None:
        subs = self._read_history(self.path)
        if not subs:
            return
        self.submissions = subs
        self.resumed = True
        last = subs[-1]
        self.answers = dict(last.get("answers") or {})
        self._grade_all()
        self.submitted = True

    @property
    def attempt(self) -> int:
        """The number of the attempt being worked on or last submitted (1-based)."""
        return len(self.submissions) + (0 if self.submitted else 1)

    def attempts_remaining(self) -> int | None:
        """Graded: submissions still allowed after the current one (None: unlimited)."""
        if not self.attempts_allowed:
            return None
        return max(self.attempts_allowed - len(self.submissions), 0)

    def can_retake(self) -> bool:
        left = self.attempts_remaining()
        return self.mode == "graded" and self.submitted and (left is None or left > 0)

    def retake(self) -> None:
        """Start a new graded attempt (the earlier submissions stay in the history)."""
        if self.mode != "graded":
            raise AttemptError("only a graded quiz has attempts to retake")
        if not self.submitted:
            raise AttemptError("this attempt is not submitted yet")
        if not self.can_retake():
            raise AttemptError(f"no attempts left: {len(self.submissions)} of "
                               f"{self.attempts_allowed} submitted")
        self.answers = {}
        self.results = {}
        self.submitted = False

    def _grade_all(self) -> None:
        for v in self.variants:
            qid = v.question.id
            self.results[qid] = v.question.check(self.answers.get(qid), v, self.functions)

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
        """Grade every question (graded mode reveals correctness only now).

        Graded: records a submission and, with a ``path``, saves at once; refuses a
        second submit of one attempt and a submission beyond ``settings.attempts``
        (also one made meanwhile by another copy of the quiz into the same file)."""
        if self.mode != "graded":
            for v in self.variants:
                qid = v.question.id
                if qid not in self.results:
                    self.results[qid] = v.question.check(self.answers.get(qid), v,
                                                         self.functions)
            self.submitted = True
            return dict(self.results)
        if self.submitted:
            raise AttemptError(f"attempt {len(self.submissions)} is already submitted")
        if self.path is not None:
            self._sync_with_disk()
        left = self.attempts_remaining()
        if left == 0:
            raise AttemptError(f"no attempts left: {len(self.submissions)} of "
                               f"{self.attempts_allowed} submitted")
        self._grade_all()
        pts, mx = self.score()
        record = {
            "attempt": len(self.submissions) + 1,
            "time": _utc_now(),
            "quiz": {"id": self.quiz.id, "hash": quiz_hash(self.quiz)},
            "kmemlab": kmemlab_version(),
            "student": self.student,
            "answers": dict(self.answers),
            "score": {"points": pts, "max": mx},
        }
        prev = self.submissions[-1].get("digest", "") if self.submissions else ""
        record["digest"] = record_digest(record, prev)
        self.submissions.append(record)
        self.submitted = True
        if self.path is not None:
            self.save(self.path)
        return dict(self.results)

    def _sync_with_disk(self) -> None:
        """Take in submissions another copy of this quiz wrote to our file meanwhile."""
        on_disk = self._read_history(self.path)
        if len(on_disk) > len(self.submissions):
            if on_disk[:len(self.submissions)] != self.submissions:
                raise AttemptError(f"{self.path} was changed by something else; not "
                                   "overwritten")
            self.submissions = on_disk

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
        } | ({
            "quiz_hash": quiz_hash(self.quiz),
            "kmemlab": kmemlab_version(),
            "attempt": len(self.submissions),
            "attempts_allowed": self.attempts_allowed,
            "submissions": self.submissions,
        } if self.mode == "graded" else {})

    def save(self, path: str | Path | None = None) -> Path:
        """Write the responses as JSON (what ``kmemlab quiz grade`` reads).

        Graded: refuses to overwrite a file whose submissions this session does not
        hold (:class:`AttemptError`); the file is replaced in one step (a crash leaves
        the old or the new file, never half of one)."""
        path = Path(path if path is not None else (self.path or ""))
        if not str(path):
            raise ValueError("save(path): no path given and the session has none")
        if self.mode == "graded":
            on_disk = self._read_history(path)
            if on_disk and self.submissions[:len(on_disk)] != on_disk:
                raise AttemptError(f"{path} already holds {len(on_disk)} submission(s) of "
                                   "this quiz that this session does not: not overwritten "
                                   "(re-run the quiz cell to see them)")
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")
        os.replace(tmp, path)
        return path
