"""The student side of an nbgrader assignment exported by ``kmemlab quiz export --to nbgrader``.

The exported notebook builds an :class:`Assignment` in its first (locked) code cell from
the quiz *without answers*: static answers are salted hashes (:mod:`kmemlab.quiz.sealer`)
and simulator questions carry their parameters but not their answer expression. The
student is whoever the platform says (:func:`kmemlab.quiz.identity.student_id`): the
JupyterHub account while the student works, nbgrader's student id while ``nbgrader
autograde`` grades, so each student sees, and is graded on, their own variant.

Per question the notebook has a locked cell ``quiz.ask("id")`` that prints the student's
variant of the question, an answer cell ``answer_<id> = ...`` and a locked test cell:
static questions are checked against the sealed hashes there (students see whether they
are right); simulator questions get a visible ``quiz.readable(...)`` check (the kind of
value) and a hidden test (``### BEGIN HIDDEN TESTS``, removed by ``nbgrader
generate_assignment``, put back by ``nbgrader autograde``) that holds the answer
expression and computes the expected value for that student.

What this does not stop: nbgrader runs the student's code cells in the same kernel as the
tests, so a student who writes code rather than a value in an answer cell can change what
the tests see; nbgrader's formgrader shows every answer cell for review.
"""

from __future__ import annotations

import json

from .identity import student_id
from .model import Quiz, Variant, describe_expected

# the placeholder answer of a simulator question in the student's copy (the real one is
# only in the hidden test)
HIDDEN = "None"


class Assignment:
    """One student's view of an exported quiz (see the module docstring)."""

    def __init__(self, spec: dict, student: str | None = None) -> None:
        self.quiz = Quiz.loads(json.dumps(spec), file="<nbgrader assignment>")
        self._student = student if student else student_id()
        self.functions = self.quiz.functions()
        self.variants: dict[str, Variant] = {
            v.question.id: v for v in self.quiz.variant(self._student, self.functions)}
        self.number = {q.id: n for n, q in enumerate(self.quiz.questions, 1)}
        self._expected: dict[tuple[str, str], object] = {}

    @classmethod
    def from_json(cls, text: str, student: str | None = None) -> Assignment:
        return cls(json.loads(text), student)

    @property
    def student(self) -> str:
        """Whose variant this is (fixed when the assignment was built)."""
        return self._student

    def hello(self) -> None:
        print(f"{self.quiz.title}: the questions below are the variant of {self._student!r}.")
        print("Write each answer as a value (a number, \"8 KiB\", a choice's letter or "
              "text), not as code.")

    def ask(self, qid: str) -> None:
        """Print this student's variant of question ``qid``."""
        v = self._variant(qid)
        q = v.question
        pts = f"{q.points:g} point{'s' if q.points != 1 else ''}"
        lines = [f"Question {self.number[qid]} ({pts})", v.prompt.strip()]
        if q.unit:
            lines.append(f"(in {q.unit})")
        for i, c in enumerate(v.choices):
            lines.append(f"  ({chr(97 + i)}) {c}")
        lines.append(f"-> answer in the next cell: {variable(qid)} = ...")
        print("\n".join(lines))

    # ---------------------------------------------------------------- checking
    def _variant(self, qid: str) -> Variant:
        if qid not in self.variants:
            raise KeyError(f"no question {qid!r} in {self.quiz.id!r}")
        return self.variants[qid]

    def _response(self, v: Variant, response):
        """Choice letters ("b") -> the choice's text, in this student's choice order."""
        def letter(r):
            if isinstance(r, str) and len(r.strip()) == 1 and v.choices:
                i = ord(r.strip().lower()) - 97
                if 0 <= i < len(v.choices):
                    return v.choices[i]
            return r
        if isinstance(response, list | tuple):
            return [letter(r) for r in response]
        return letter(response)

    def _with_answer(self, v: Variant, answer: str | None):
        q = v.question
        if q.type != "simulator":
            return
        if answer is None:
            raise ValueError(f"{q.id}: a simulator question is checked with its answer "
                             "expression (the hidden test passes it)")
        from .expr import Expression

        q.answer_expr = Expression(answer, set(q.params))

    def check(self, qid: str, response, answer: str | None = None) -> bool:
        """Is ``response`` right for this student's variant? Simulator questions need
        ``answer``, the expression (from the hidden test)."""
        v = self._variant(qid)
        self._with_answer(v, answer)
        return v.question.check(self._response(v, response), v, self.functions).correct

    def readable(self, qid: str, response) -> None:
        """Visible test: ``response`` is a value of the right kind (raises AssertionError)."""
        v = self._variant(qid)
        q = v.question
        if response is None or response == "" or response == []:
            raise AssertionError(f"{qid}: no answer yet")
        if (q.type == "simulator" and q.raw.get("answer_type") == "numeric") or q.unit:
            from .model import parse_number

            try:
                parse_number(response, q.unit)
            except ValueError as exc:
                raise AssertionError(f"{qid}: {exc}") from None

    def solve(self, qid: str, answer: str | None = None):
        """The correct answer for this student, as a student would type it (solution cells)."""
        v = self._variant(qid)
        self._with_answer(v, answer)
        text = describe_expected(v.question, v, self.functions)
        if text is None:
            raise ValueError(f"{qid}: a sealed answer cannot be shown")
        e = v.question.expected(v.params, self.functions)
        if isinstance(e, str):
            return e
        try:
            return int(text.split(" ")[0])
        except ValueError:
            return text


def variable(qid: str) -> str:
    import re

    return f"answer_{re.sub(r'[^A-Za-z0-9_]', '_', qid)}"
