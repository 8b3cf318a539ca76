"""``kmemlab quiz seal``: write a copy of a quiz whose static answers are hashed."""

from __future__ import annotations

import copy
import hashlib
import secrets
from fractions import Fraction

from . import seal as s
from .errors import QuizError
from .model import Question, Quiz


def seal_quiz(quiz: Quiz, *, salt: str | None = None, iterations: int = s.DEFAULT_ITERATIONS,
              keep_regex: bool = False) -> tuple[dict, list[str]]:
    """The sealed quiz data and a list of warnings.

    ``salt`` (hex) makes the output reproducible; by default it is random. Simulator
    questions are left as they are: their answers are computed, not stored. A text
    question with a ``regex`` cannot be hashed: sealing refuses it unless
    ``keep_regex`` (then the regex stays readable, with a warning).
    """
    if quiz.sealed:
        raise QuizError("this quiz is already sealed", file=quiz.doc.file)
    salt = salt or secrets.token_hex(16)
    if len(salt) < 16 or any(c not in "0123456789abcdef" for c in salt):
        raise QuizError("salt must be at least 16 lowercase hex digits")
    data = copy.deepcopy(quiz.data)
    data["sealed"] = {"scheme": "pbkdf2-sha256", "salt": salt, "iterations": iterations}
    warnings: list[str] = []
    for q, raw in zip(quiz.questions, data["questions"], strict=True):
        if q.type == "simulator":
            continue
        tokens, extra = _tokens(q, keep_regex, warnings)
        if not tokens:
            continue
        sealed = make_sealed(tokens, extra, salt=salt, iterations=iterations, quiz_id=quiz.id,
                             qid=q.id, explanation=q.explanation)
        for key in ("answer", "accept", "explanation"):
            raw.pop(key, None)
        for tr in (raw.get("translations") or {}).values():
            tr.pop("explanation", None)   # may give the answer away too; the sealed one shows
        if "choices" in raw:
            raw["choices"] = [c if isinstance(c, str) else c["text"] for c in raw["choices"]]
        if not keep_regex:
            raw.pop("regex", None)
        raw["sealed"] = sealed
    return data, warnings


def _tokens(q: Question, keep_regex: bool, warnings: list[str]) -> tuple[list[str], dict]:
    if q.type == "text" and q.regex:
        if not keep_regex:
            raise QuizError(
                f"question {q.id!r}: a regex answer cannot be hashed; list the accepted "
                "answers under 'accept:' instead, or seal with --keep-regex to leave the "
                "regex readable", file=q.quiz.doc.file,
                line=q.quiz.doc.position(q.path + ("regex",))[0])
        warnings.append(f"question {q.id!r}: its regex stays readable in the sealed file")
    kind = q.type
    expected = q.correct if q.type in ("single", "multiple") else \
        q.accept if q.type == "text" else q.answer_value
    return answer_tokens(kind, expected, q.tolerance, q.case_sensitive)


def answer_tokens(kind: str, expected, tolerance=0, case_sensitive: bool = False) \
        -> tuple[list[str], dict]:
    """Tokens to hash and the sealed scheme's clear fields for one answer.

    ``kind``: single (expected: [text]), multiple ([texts]), text ([accepted]),
    numeric (a Fraction, with ``tolerance`` a number or "N%").
    """
    if kind == "single":
        return [s.normalize_text(expected[0], True)], {"scheme": "choice"}
    if kind == "multiple":
        return ["\n".join(sorted(s.normalize_text(c, True) for c in expected))], \
            {"scheme": "choices"}
    if kind == "text":
        return sorted({s.normalize_text(a, case_sensitive) for a in expected}), \
            {"scheme": "text"}
    a = Fraction(expected)
    if isinstance(tolerance, str):
        rel = Fraction(tolerance.strip().rstrip("%").strip()) / 100
        if rel == 0 or a == 0:
            return [s.fraction_token(a)], {"scheme": "exact"}
        step_f, shift_f, cell_tok = s.loggrid_for(float(a), float(rel))
        return [cell_tok], {"scheme": "loggrid", "step": repr(step_f), "shift": repr(shift_f)}
    t = Fraction(repr(tolerance)) if isinstance(tolerance, float) else Fraction(tolerance)
    if t == 0:
        return [s.fraction_token(a)], {"scheme": "exact"}
    step, shift, cell = s.grid_for(a, t)
    return [str(cell)], {"scheme": "grid", "step": s.fraction_token(step),
                         "shift": s.fraction_token(shift)}


def make_sealed(tokens: list[str], extra: dict, *, salt: str, iterations: int, quiz_id: str,
                qid: str, explanation: str | None = None) -> dict:
    """The ``sealed:`` mapping of one question."""
    extra = dict(extra)
    hashes, blobs = [], []
    for i, tok in enumerate(tokens):
        d = s.derive(tok, salt, iterations, quiz_id, qid)
        hashes.append(d[:32].hex())
        if explanation:
            nonce = hashlib.sha256(f"{salt}\0{qid}\0{i}".encode()).digest()[:16]
            blobs.append(s.encrypt(explanation, d[32:], nonce))
    sealed = {"scheme": extra.pop("scheme"), "hashes": hashes, **extra}
    if blobs:
        sealed["explanation"] = blobs
    return sealed


def dump_yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
