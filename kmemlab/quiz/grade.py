"""``kmemlab quiz grade``: responses (JSON from the widget) -> scores (CSV)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .model import Quiz
from .session import RESPONSES_FORMAT, fingerprint

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
    return row, warnings


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
        row["file"] = str(p)
        rows.append(row)
    rows.sort(key=lambda r: (r["student"], r["file"]))
    fields = ["student", *[q.id for q in quiz.questions], "points", "max", "percent",
              "submitted", "file"]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows), problems
