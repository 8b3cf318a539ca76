"""``kmemlab quiz export``: jupyterquiz JSON and nbgrader source notebooks.

* **jupyterquiz** (https://github.com/jmshea/jupyterquiz) renders a list of question
  dicts in the browser (``display_quiz("file.json")``), for notebooks and Jupyter Book.
  Its answers are in the JSON by design, so it suits practice quizzes; a sealed quiz
  cannot be exported to it. The JSON is static: simulator questions are exported for
  *one* variant (``--student``), the same for everyone who opens the file.
* **nbgrader**: a *source* notebook whose every student gets their own variant, from
  the platform's identity (:mod:`kmemlab.quiz.nbgrader`): per question a locked cell
  that prints the student's variant, a solution cell ``answer_<id> = ...`` (between
  ``### BEGIN SOLUTION`` / ``### END SOLUTION``, stripped by ``nbgrader
  generate_assignment``) and a locked autograded test cell: static answers are compared
  with salted hashes, simulator answers are computed for the student by a hidden test.
  The released notebook never holds an answer in the clear.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from fractions import Fraction

from .errors import QuizError
from .model import Quiz, describe_expected

_CODE = re.compile(r"`([^`]+)`")


def markdown_html(text: str) -> str:
    """Escape HTML, keep ``code`` spans and paragraphs."""
    out = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(text.strip()))
    return out.replace("\n\n", "<br><br>")


def _unit_suffix(unit: str) -> str:
    return f" (in {unit})" if unit else ""


# --------------------------------------------------------------------------- jupyterquiz
def to_jupyterquiz(quiz: Quiz, student: str | None = None) -> tuple[list[dict], list[str]]:
    """The questions as jupyterquiz dicts (types multiple_choice, many_choice, numeric,
    string) and warnings about questions it cannot express."""
    if quiz.sealed:
        raise QuizError("a sealed quiz cannot be exported to jupyterquiz (its JSON holds the "
                        "answers); export the unsealed file", file=quiz.doc.file)
    functions = quiz.functions()
    out, warnings = [], []
    for v in quiz.variant(student, functions):
        q = v.question
        prompt = markdown_html(v.prompt)
        right = q.explanation or "Correct!"
        if q.type in ("single", "multiple"):
            out.append({
                "question": prompt,
                "type": "multiple_choice" if q.type == "single" else "many_choice",
                "answers": [{"answer": markdown_html(c), "correct": c in q.correct,
                             "feedback": right if c in q.correct else "Not this one."}
                            for c in v.choices],
            })
            continue
        expected = q.expected(v.params, functions)
        kind = q.answer_kind(0 if isinstance(expected, Fraction) else "")
        if kind == "numeric":
            tk, t = q.tolerance_bound(expected)
            bound = t if tk == "abs" else t * abs(expected)
            if bound == 0 and expected.denominator == 1:
                ans = {"type": "value", "value": int(expected), "correct": True,
                       "feedback": right}
            else:
                ans = {"type": "range", "range": [float(expected - bound),
                                                  float(expected + bound)],
                       "correct": True, "feedback": right}
                if bound:
                    warnings.append(f"{q.id}: jupyterquiz ranges are half-open [lo, hi)")
            if q.unit:
                warnings.append(f"{q.id}: jupyterquiz reads plain numbers only; the prompt "
                                f"asks for {q.unit}")
            out.append({"question": prompt + markdown_html(_unit_suffix(q.unit)), "type": "numeric",
                        "answers": [ans, {"type": "default",
                                          "feedback": "Not quite; try again."}]})
            continue
        accepted = [expected] if q.type == "simulator" else list(q.accept)
        if not accepted:
            warnings.append(f"{q.id}: skipped (regex answers have no jupyterquiz equivalent)")
            continue
        if q.regex:
            warnings.append(f"{q.id}: only the listed answers are exported, not the regex")
        answers = [{"answer": a, "correct": True, "match_case": q.case_sensitive,
                    "feedback": right} for a in accepted]
        answers.append({"type": "default", "feedback": "Not quite; try again."})
        out.append({"question": prompt, "type": "string", "answers": answers})
    return out, warnings


# --------------------------------------------------------------------------- nbgrader
def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
            "schema_version": 3}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def student_spec(quiz: Quiz, *, salt: str, iterations: int) -> dict:
    """The quiz as the released notebook carries it: static answers sealed (salted
    hashes), simulator answer expressions removed (they live in the hidden tests)."""
    from .nbgrader import HIDDEN
    from .sealer import seal_quiz

    data, _warnings = seal_quiz(quiz, salt=salt, iterations=iterations)
    for raw in data["questions"]:
        if raw["type"] == "simulator":
            raw["answer"] = HIDDEN
            raw.pop("explanation", None)
    return data


def to_nbgrader(quiz: Quiz, student: str | None = None, *, salt: str | None = None,
                iterations: int = 20_000):
    """An nbformat v4 notebook (nbgrader source version) for ``quiz``.

    ``student=None`` (the default): every student gets their own variant, computed in the
    notebook from the platform's identity (the JupyterHub user while working, nbgrader's
    student id under ``nbgrader autograde``; :mod:`kmemlab.quiz.nbgrader`). A name fixes
    that one variant for the whole class.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from .nbgrader import variable

    if quiz.sealed:
        raise QuizError("export the unsealed quiz to nbgrader: the source notebook's solution "
                        "cells need the answers (the released notebook will not have them)",
                        file=quiz.doc.file)
    for q in quiz.questions:
        if q.type == "text" and not q.accept:
            raise QuizError(f"question {q.id!r}: a regex-only text question cannot be "
                            "sealed for nbgrader; list accepted answers", file=quiz.doc.file)
    salt = salt or secrets.token_hex(16)
    functions = quiz.functions()
    spec = json.dumps(student_spec(quiz, salt=salt, iterations=iterations),
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    literal = repr(spec)
    who = "None" if not student else repr(student)
    per_student = ("Your questions are computed for you: the numbers depend on your login "
                   "(the JupyterHub account), and your answers are graded against your own "
                   "numbers." if not student else
                   f"Everybody gets the variant of {student!r}.")
    cells = [
        new_markdown_cell(f"# {quiz.title}\n\n{quiz.description}\n\n{per_student} "
                          "Run the first code cell, then write each answer in the cell below "
                          "its question, replacing `raise NotImplementedError()`, as a value: "
                          "a number (it may carry a unit, `\"8 KiB\"`), a choice's letter or "
                          "text, several choices as a list.", metadata=_meta("intro",
                                                                             locked=True)),
        new_code_cell("# No answers here: static ones are salted hashes, computed ones are "
                      "not included.\nfrom kmemlab.quiz.nbgrader import Assignment\n\n"
                      f"quiz = Assignment.from_json({literal}, student={who})\nquiz.hello()",
                      # the quiz data is long and not for reading: JupyterLab folds it
                      metadata={**_meta("setup", locked=True),
                                "jupyter": {"source_hidden": True}}),
    ]
    example = student or "instructor"
    for v in quiz.variant(example, functions):
        q = v.question
        var = variable(q.id)
        cells.append(new_code_cell(f'quiz.ask("{q.id}")',
                                   metadata=_meta(f"{q.id}-prompt", locked=True)))
        if q.type == "simulator":
            solution = f'quiz.solve("{q.id}", {q.answer!r})'
            test = (f'quiz.readable("{q.id}", {var})\n'
                    "### BEGIN HIDDEN TESTS\n"
                    f'assert quiz.check("{q.id}", {var}, {q.answer!r}), "{q.id}: not correct"\n'
                    "### END HIDDEN TESTS")
        else:
            if q.type == "single":
                solution = repr(q.correct[0])
            elif q.type == "multiple":
                solution = repr(list(q.correct))
            elif q.type == "numeric":
                solution = describe_expected(q, v, functions).split(" ")[0]
            else:
                solution = repr(q.accept[0])
            test = ("# Checks your answer against a salted hash: the answer is not written "
                    f'here.\nassert quiz.check("{q.id}", {var}), "{q.id}: not correct yet"')
        cells.append(new_code_cell(
            f"### BEGIN SOLUTION\n{var} = {solution}\n### END SOLUTION",
            metadata=_meta(f"{q.id}-answer", solution=True)))
        cells.append(new_code_cell(
            test, metadata=_meta(f"{q.id}-test", grade=True, locked=True, points=q.points)))
    for cell in cells:  # stable ids (nbformat would pick random ones)
        cell.id = re.sub(r"[^A-Za-z0-9_-]", "-", cell.metadata["nbgrader"]["grade_id"])[:64]
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "kmemlab": {"quiz": quiz.id, "variants": "per-student" if not student else "fixed",
                    "student": student or ""},
    })
    nbformat.validate(nb)
    return nb


def check_answer(response, record: dict) -> bool:
    """For nbgrader test cells: is ``response`` right for the sealed ``record``?

    Choice questions accept the choice's letter ("b") as well as its text.
    """
    from .model import match_sealed

    choices = record.get("choices") or []

    def letter(r):
        if isinstance(r, str) and len(r.strip()) == 1 and choices:
            i = ord(r.strip().lower()) - 97
            if 0 <= i < len(choices):
                return choices[i]
        return r

    if isinstance(response, list | tuple):
        response = [letter(r) for r in response]
    else:
        response = letter(response)
    if isinstance(response, int | float) and not isinstance(response, bool):
        response = repr(response)
    ok, _expl, _err = match_sealed(record["sealed"], response, salt=record["salt"],
                                   iterations=record["iterations"], quiz_id=record["quiz"],
                                   qid=record["question"], unit=record.get("unit", ""),
                                   case_sensitive=record.get("case_sensitive", False))
    return ok
