"""Errors of the quiz language: each carries the position (file, line, column) it is about."""

from __future__ import annotations


class QuizError(Exception):
    """A problem in a quiz file; ``str()`` reads ``FILE:LINE:COL: message``.

    ``line`` and ``column`` are 1-based (as editors count them), or ``None`` when the
    problem is about the whole file.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None, path: tuple = ()) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.path = tuple(path)

    def where(self) -> str:
        parts = [self.file or "<quiz>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        where = self.where()
        at = "/".join(str(p) for p in self.path)
        return f"{where}: {self.message}" + (f" (at {at})" if at else "")


class QuizErrors(Exception):
    """Several :class:`QuizError` found in one pass (``check`` reports them all)."""

    def __init__(self, errors: list[QuizError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = list(errors)


class ExpressionError(ValueError):
    """An expression outside the whitelisted language, or one that failed to evaluate.

    ``offset`` is the 0-based column inside the expression text of the offending token.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
