"""Helpers for the kmemlab chapter notebooks: per-student exercises and errata boxes.

Every exercise is generated from a seed derived from the student's name, so two
students get different numbers, and its answer is *computed by kmemlab* when the
exercise is checked (it can never go stale when the simulator improves).

In a notebook::

    from exercises import student_seed, errata
    from exercises import ch02
    STUDENT = "your-name"
    ex = ch02.exercises(STUDENT)
    ex[0]                  # shows the question (your own numbers)
    ex[0].check(128)       # ✓ or ✗ with a hint
    ex[0].solution()       # the answer and how kmemlab computed it

Instructors: ``python -m exercises alice bob`` (run from ``notebooks/``) prints the
answer key of every chapter for those students.
"""

from __future__ import annotations

import hashlib
import html
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import kmemlab.plot.physmem  # noqa: F401  (see below)
from kmemlab.i18n import template_translator

# Every chapter draws figures. Loading the plotting library (matplotlib's import is
# ~0.3 s) here puts that wait into the set-up cell, as a notebook's first cell usually
# does with `import matplotlib.pyplot`, instead of making the chapter's first figure its
# slowest cell.

# The chapters' own words (errata boxes, exercises, feedback) in the language chosen with
# km.set_language(); the Chinese catalog is notebooks/locale/zh/LC_MESSAGES/chapters.po.
# The exercise texts are f-strings: their catalog entries are templates ("{}" = the
# student's numbers), so the chNN.py files stay as they are.
_ = template_translator("chapters", Path(__file__).resolve().parent.parent / "locale",
                        recursive=True)

__all__ = ["student_seed", "rng_for", "Exercise", "errata", "ErrataBox", "fmt_size", "page_owners"]


def student_seed(student: str) -> int:
    """A stable 32-bit seed from a student's name or id (SHA-256, not Python's hash())."""
    if not isinstance(student, str) or not student.strip():
        raise ValueError('STUDENT must be a non-empty string, e.g. STUDENT = "ada.lovelace"')
    digest = hashlib.sha256(student.strip().lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def rng_for(student: str, chapter: int, number: int) -> random.Random:
    """The random generator of one exercise of one student (independent per exercise)."""
    return random.Random(f"kmemlab/{student_seed(student)}/{chapter}/{number}")


def fmt_size(n: int) -> str:
    """4096 -> '4 KiB', 3145728 -> '3 MiB', 100 -> '100 bytes' (exact values only)."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().strip("'\"").lower().replace(" ", "")
        try:
            return int(text, 0)
        except ValueError:
            return text
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Exercise:
    """One exercise: a question with the student's numbers and an answer kmemlab computes.

    ``compute()`` returns ``(answer, explanation)``. ``tolerance`` (absolute) applies to
    numeric answers; strings compare case-insensitively without spaces, and an int may be
    given as ``0x..`` text.
    """

    chapter: int
    number: int
    title: str
    question: str
    compute: Callable[[], tuple[Any, str]]
    hint: str = ""
    tolerance: float = 0
    accept: tuple = ()
    _cache: tuple | None = field(default=None, repr=False)

    def text(self, name: str) -> str:
        """``title``/``question``/``hint`` in the language of km.set_language()."""
        return _(getattr(self, name))

    @property
    def label(self) -> str:
        return _("Exercise {}.{}").format(self.chapter, self.number)

    def _solve(self) -> tuple[Any, str]:
        if self._cache is None:
            self._cache = self.compute()
        answer, why = self._cache
        return answer, _(why)

    @property
    def answer(self) -> Any:
        """The expected answer (computed by kmemlab on first use)."""
        return self._solve()[0]

    def is_correct(self, value: Any) -> bool:
        expected = self.answer
        got = _normalise(value)
        if isinstance(expected, bool):
            return isinstance(got, bool) and got == expected or \
                got in (("yes", "true") if expected else ("no", "false"))
        if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
            return abs(got - expected) <= self.tolerance
        accepted = {_normalise(expected)} | {_normalise(a) for a in self.accept}
        return got in accepted

    def check(self, value: Any) -> None:
        """Print whether ``value`` is right; a hint if not."""
        if value is None or value is Ellipsis:
            print(_("{}: replace None with your answer and run the cell again.").format(self.label))
            return
        if self.is_correct(value):
            print(_("{}: ✓ correct ({!r}).").format(self.label, value))
        else:
            print(_("{}: ✗ {!r} is not it.").format(self.label, value)
                  + (_(" Hint: {}").format(self.text("hint")) if self.hint else ""))

    def solution(self) -> None:
        """Print the answer and how kmemlab got it."""
        answer, why = self._solve()
        print(_("{} answer: {!r}\n{}").format(self.label, answer, why))

    def _repr_markdown_(self) -> str:
        return f"**{self.label} — {self.text('title')}**\n\n{self.text('question')}"

    def __repr__(self) -> str:
        return f"{self.label} — {self.text('title')}\n{self.text('question')}"


class ErrataBox:
    """A "The document says / A real kernel does" box whose evidence comes from kmemlab."""

    def __init__(self, says: str, does: str, evidence: dict | list | str,
                 section: str = "", verdict: str = "wrong",
                 who: str = "The document says", real: str = "A real kernel does") -> None:
        self.says, self.does, self.section, self.verdict = says, does, section, verdict
        self.who, self.real = who, real
        if isinstance(evidence, dict):
            self.rows = [(str(k), v) for k, v in evidence.items()]
        elif isinstance(evidence, str):
            self.rows = [("", evidence)]
        else:
            self.rows = [(str(k), v) for k, v in evidence]

    _TITLES = {"wrong": ("#b42318", "#fef3f2", "✗ wrong"),
               "dated": ("#b54708", "#fffaeb", "† dated"),
               "partly": ("#b54708", "#fffaeb", "≈ partly right"),
               "right": ("#067647", "#ecfdf3", "✓ right")}

    def _repr_html_(self) -> str:
        color, bg, tag = self._TITLES.get(self.verdict, self._TITLES["wrong"])
        tag = _(tag)
        e = lambda s: html.escape(_(s))  # noqa: E731 - the box's own words, translated
        rows = "".join(
            f"<tr><td style='padding:2px 8px;text-align:left;vertical-align:top'>{e(k)}</td>"
            f"<td style='padding:2px 8px;text-align:left'><code>{html.escape(str(v))}</code></td></tr>"
            for k, v in self.rows)
        sec = f" <span style='font-weight:normal'>({e(self.section)})</span>" if self.section else ""
        return (
            f"<div style='border-left:6px solid {color};background:{bg};padding:8px 12px;"
            f"margin:6px 0;color:#101828'>"
            f"<div style='font-weight:bold;color:{color}'>{tag}{sec}</div>"
            f"<p style='margin:4px 0'><b>{e(self.who)}:</b> {e(self.says)}</p>"
            f"<p style='margin:4px 0'><b>{e(self.real)}:</b> {e(self.does)}</p>"
            f"<div style='font-weight:bold;margin-top:4px'>{e('Evidence from kmemlab (computed in this cell):')}</div>"
            f"<table style='margin:2px 0'>{rows}</table></div>")

    def __repr__(self) -> str:
        tag = _(self._TITLES.get(self.verdict, self._TITLES["wrong"])[2])
        lines = [f"[{tag}] {_(self.section)}".rstrip(), f"{_(self.who)}: {_(self.says)}",
                 f"{_(self.real)}: {_(self.does)}", _("Evidence from kmemlab:")]
        lines += [f"  {_(k)}: {v}" if k else f"  {v}" for k, v in self.rows]
        return "\n".join(lines)


def errata(says: str, does: str, evidence, *, section: str = "", verdict: str = "wrong",
           who: str = "The document says", real: str = "A real kernel does"):
    """Build the box; show it by making it the last expression of the cell.

    ``who``/``real`` change the two headings (e.g. "A common belief" / "glibc does").
    """
    return ErrataBox(says, does, evidence, section=section, verdict=verdict, who=who, real=real)


def page_owners(k) -> dict[str, int]:
    """How many page frames each owner holds (from ``k.frame_view()``), zero counts left out."""
    import numpy as np
    from kmemlab.page_alloc import OWNER_NAMES
    counts = np.bincount(k.frame_view()["owner"], minlength=len(OWNER_NAMES))
    return {OWNER_NAMES[i]: int(c) for i, c in enumerate(counts) if c and OWNER_NAMES[i] != "hole"}
