"""Quizzes that instructors write in YAML, with answers computed by the simulator.

>>> import kmemlab as km
>>> quiz = km.quiz.load("notebooks/quizzes/02-kmalloc-and-vmalloc.yaml")  # doctest: +SKIP
>>> km.quiz.show("notebooks/quizzes/02-kmalloc-and-vmalloc.yaml", student="alice")  # +SKIP

A quiz file::

    kmemlab_quiz: 1                 # format version
    id: ch02-kmalloc                # stable: per-student variants derive from it
    title: kmalloc and vmalloc
    settings: {mode: practice, attempts: 3, shuffle: false, shuffle_choices: true,
               kernel: {version: "6.12", ram: 1G, cpus: 2}}
    questions:
      - id: order
        type: numeric               # single | multiple | numeric | text | simulator
        prompt: What does get_order(8193) return?
        answer: 2
        tolerance: 0                # or a number in `unit`, or "1%"
      - id: cache
        type: simulator
        params: {size: {range: [97, 192]}, version: ["3.15", "6.12"]}
        where: size % 8 != 0
        prompt: On Linux {version}, which cache serves kmalloc({size})?
        answer: kmalloc_cache(size, version=version)
        explanation: ...

Nothing in this package imports ipywidgets until :func:`show` is called.
"""

from __future__ import annotations

from .errors import ExpressionError, QuizError, QuizErrors
from .export import check_answer
from .expr import Expression
from .model import Question, Quiz, Result, Variant, parse_number
from .session import Session

__all__ = ["ExpressionError", "Expression", "Question", "Quiz", "QuizError", "QuizErrors",
           "Result", "Session", "Variant", "check_answer", "load", "parse_number", "show"]


def load(path) -> Quiz:
    """Load and check a quiz file; raises :class:`QuizErrors` (with positions)."""
    return Quiz.load(path)


def show(quiz, student: str | None = None, mode: str | None = None, save=None):
    """Display ``quiz`` (a path or a :class:`Quiz`) as a widget for ``student``.

    Returns the :class:`~kmemlab.quiz.widget.QuizWidget`; its ``session`` holds the
    responses, ``save(path)`` writes them as JSON. ``save`` is the responses file
    (default ``<quiz id>-<student>.json``); a graded quiz saves there on Submit and,
    shown again, resumes from it (the saved submission, attempts counted).

    On JupyterHub a graded quiz is always taken as the logged-in user
    (``JUPYTERHUB_USER``), whatever ``student`` says: the variant and the file follow
    the account, not a name typed in the notebook.
    """
    from .identity import hub_user
    from .widget import QuizWidget

    if not isinstance(quiz, Quiz):
        quiz = Quiz.load(quiz)
    if (mode or quiz.mode) == "graded" and hub_user():
        student = hub_user()
    return QuizWidget(quiz, student=student, mode=mode, save=save)
