"""``kmemlab quiz grade``: responses (JSON from the widget) -> scores (CSV).

Every file is graded from its answers, recomputed for its student's variant (the score a
file states is ignored). A graded quiz's file also carries its submission history; that
history is checked and what does not fit is *flagged* (the ``flags`` column and a
``flag:`` line on stderr): a quiz hash other than the quiz being graded, attempt numbers
that are not 1, 2, 3…, more submissions than ``settings.attempts`` allows, times that go
backwards, a record whose digest does not match its content (edited by hand), answers
that differ from the last submission's, a graded file that was never submitted. A flag
is a reason to look, not proof: the student's kernel wrote the file, so a careful forger
can make any history fit. Grades that must hold come from the server (nbgrader autograde
with hidden tests; deploy/jupyterhub/README.md).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .model import Quiz
from .session import RESPONSES_FORMAT, fingerprint, quiz_hash, record_digest

MAX_RESPONSE_FILE = 1 << 20


class ResponseError(ValueError):
    pass


def read_responses(path: str | Path) -> dict:
    path = Path(path)
    if path.stat().st_size > MAX_RESPONSE_FILE:
        raise ResponseError(f"{path}: larger than 1 MiB")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResponseError(f"{path}: not a JSON responses file ({exc})") from None
    if not isinstance(data, dict) or data.get("kmemlab_responses") != RESPONSES_FORMAT:
        raise ResponseError(f"{path}: not a kmemlab responses file "
                            f"(missing 'kmemlab_responses: {RESPONSES_FORMAT}')")
    if not isinstance(data.get("answers"), dict) or not isinstance(data.get("student"), str):
        raise ResponseError(f"{path}: 'student' (string) and 'answers' (object) are required")
    return data


def grade_responses(quiz: Quiz, data: dict) -> tuple[dict, list[str]]:
    """One CSV row for one responses dict, and warnings."""
    warnings = []
    qinfo = data.get("quiz") or {}
    if qinfo.get("id") != quiz.id:
        raise ResponseError(f"responses are for quiz {qinfo.get('id')!r}, not {quiz.id!r}")
    if qinfo.get("fingerprint") not in (None, fingerprint(quiz)):
        warnings.append(f"{data['student']}: the quiz's questions changed since this student "
                        "answered; graded against the current file")
    unknown = set(data["answers"]) - set(quiz.by_id)
    if unknown:
        warnings.append(f"{data['student']}: ignored answers to unknown questions "
                        f"{', '.join(sorted(unknown))}")
    results = quiz.grade(data["answers"], data["student"])
    row = {"student": data["student"]}
    for q in quiz.questions:
        row[q.id] = _num(results[q.id].points)
    got = sum(r.points for r in results.values())
    row["points"] = _num(got)
    row["max"] = _num(quiz.max_points)
    row["percent"] = f"{100 * got / quiz.max_points:.1f}" if quiz.max_points else ""
    row["submitted"] = "yes" if data.get("submitted") else "no"
    subs = data.get("submissions")
    row["attempts"] = str(len(subs)) if isinstance(subs, list) else ""
    row["flags"] = "; ".join(history_flags(quiz, data))
    return row, warnings


def history_flags(quiz: Quiz, data: dict) -> list[str]:
    """What in a responses file's submission history does not fit ``quiz`` (module doc)."""
    flags: list[str] = []
    graded = quiz.mode == "graded" or data.get("mode") == "graded"
    if not graded:
        return flags
    subs = data.get("submissions")
    if data.get("mode") != "graded":
        flags.append("the quiz is graded but the file was written in practice mode")
    if not isinstance(subs, list) or not subs:
        flags.append("no submission recorded (saved but never submitted, or written by a "
                     "kmemlab without attempt history)")
        return flags
    want = quiz_hash(quiz)
    prev, last_time = "", ""
    for n, rec in enumerate(subs, 1):
        if not isinstance(rec, dict):
            flags.append(f"submission {n} is not a record")
            continue
        if rec.get("attempt") != n:
            flags.append(f"submission {n} says attempt {rec.get('attempt')!r}")
        q = rec.get("quiz") or {}
        if q.get("id") != quiz.id:
            flags.append(f"attempt {n} is for quiz {q.get('id')!r}")
        if q.get("hash") != want:
            flags.append(f"attempt {n} answered another version of the quiz (hash "
                         f"{str(q.get('hash'))[:12]}, this file {want[:12]})")
        if rec.get("student") != data.get("student"):
            flags.append(f"attempt {n} is by {rec.get('student')!r}")
        t = rec.get("time")
        if not isinstance(t, str) or not t:
            flags.append(f"attempt {n} has no time")
        elif t < last_time:
            flags.append(f"attempt {n} is earlier than attempt {n - 1}")
        else:
            last_time = t
        if rec.get("digest") != record_digest(rec, prev):
            flags.append(f"attempt {n}'s record does not match its digest (edited by hand?)")
        prev = rec.get("digest") or ""
    allowed = quiz.attempts
    if allowed and len(subs) > allowed:
        flags.append(f"{len(subs)} submissions, the quiz allows {allowed}")
    last = subs[-1] if isinstance(subs[-1], dict) else {}
    if last.get("answers") != data.get("answers"):
        flags.append("the answers differ from the last submission's")
    if not data.get("submitted"):
        flags.append("the file says it is not submitted")
    return flags


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def grade_files(quiz: Quiz, paths, out) -> tuple[int, list[str]]:
    """Grade ``paths`` and write CSV to the file object ``out``.

    Returns (number of rows written, problems). Files that cannot be graded are
    reported and skipped; the others are still written.
    """
    problems: list[str] = []
    rows = []
    for p in paths:
        try:
            data = read_responses(p)
            row, warns = grade_responses(quiz, data)
        except (ResponseError, OSError) as exc:
            problems.append(f"{p}: {exc}" if str(p) not in str(exc) else str(exc))
            continue
        problems.extend(f"warning: {w}" for w in warns)
        if row["flags"]:
            problems.append(f"flag: {p}: {row['flags']}")
        row["file"] = str(p)
        rows.append(row)
    rows.sort(key=lambda r: (r["student"], r["file"]))
    fields = ["student", *[q.id for q in quiz.questions], "points", "max", "percent",
              "submitted", "attempts", "flags", "file"]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows), problems
