"""Quizzes as objects: load and check a file, pick a student's variant, grade an answer."""

from __future__ import annotations

import copy
import hashlib
import re
import string
from collections import OrderedDict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from .. import i18n as _i18n
from . import seal as _seal
from .errors import ExpressionError, QuizError, QuizErrors
from .expr import Expression, Functions, KernelCache
from .loader import Document, load_bytes, load_text, read_file
from .schema import validate as _schema_validate

MAX_RESPONSE = 500
MAX_REGEX_INPUT = 200

UNIT_BYTES = {"B": 1, "K": 1 << 10, "KiB": 1 << 10, "kB": 1 << 10, "KB": 1 << 10,
              "M": 1 << 20, "MiB": 1 << 20, "MB": 1 << 20, "G": 1 << 30, "GiB": 1 << 30,
              "GB": 1 << 30, "T": 1 << 40, "TiB": 1 << 40}
_NUMBER = re.compile(
    r"^\s*([-+]?)(0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"
    r"|\.[0-9]+(?:[eE][-+]?[0-9]+)?)(?:\s*/\s*([0-9]+))?\s*([A-Za-z]*)\s*$")
_FMT_SPEC = re.compile(r"^[<>^=]?[+\- ]?#?0?[0-9]{0,3}[,_]?(\.[0-9]{1,2})?[bdeEfFgGnoxX%s]?$")


def stable_int(*parts: object) -> int:
    """A 64-bit integer from ``parts`` (sha256): the same on every machine and Python."""
    h = hashlib.sha256("\0".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big")


def parse_number(text, unit: str = "") -> Fraction:
    """Read a student's numeric answer (``8``, ``8 KiB``, ``0x2000``, ``1.5e3``, ``1/2``)
    into the question's ``unit``. Byte units are binary (``kB`` too, as /proc prints it)."""
    if isinstance(text, bool):
        raise ValueError("not a number")
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        return Fraction(repr(text))
    text = str(text)
    if len(text) > 60:
        raise ValueError("answer too long for a number")
    m = _NUMBER.match(text)
    if not m:
        raise ValueError(f"{text.strip()!r} is not a number")
    sign, num, den, suffix = m.groups()
    e = num.lower().find("e")
    if e >= 0 and not num[:2].lower() == "0x" and abs(int(num[e + 1:] or 0)) > 400:
        # Fraction("1e999999999") builds 10**999999999: bounded here instead
        raise ValueError(f"exponent of {num!r} is out of range (at most e±400)")
    value = Fraction(int(num, 16)) if num[:2].lower() == "0x" else Fraction(num)
    if sign == "-":
        value = -value
    if den is not None:
        if int(den) == 0:
            raise ValueError("division by zero")
        value /= int(den)
    if suffix:
        if unit in ("", "pages"):
            if unit == "pages" and suffix.lower() in ("page", "pages"):
                return value
            raise ValueError(f"this answer is a plain number{' of pages' if unit else ''}; "
                             f"drop {suffix!r}")
        if suffix not in UNIT_BYTES:
            raise ValueError(f"unknown unit {suffix!r}; use B, KiB, MiB or GiB")
        return value * UNIT_BYTES[suffix] / UNIT_BYTES[unit]
    return value


def _fmt_fraction(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    return f"{float(v):.6g}"


@dataclass
class Result:
    """The outcome of checking one answer."""

    correct: bool
    points: float
    max_points: float
    feedback: str
    explanation: str | None = None
    valid: bool = True  # False: the answer could not be read (not a number, empty)


@dataclass
class Variant:
    """One question as one student sees it."""

    question: Question
    params: dict
    prompt: str
    choices: list[str]
    _expected: object = field(default=None, repr=False)


class Question:
    """One question of a quiz (see the format in the package docstring)."""

    def __init__(self, quiz: Quiz, index: int, raw: dict) -> None:
        self.quiz = quiz
        self.index = index
        self.raw = raw
        self.path = ("questions", index)
        self.id: str = raw["id"]
        self.type: str = raw["type"]
        self.prompt: str = raw["prompt"]
        self.points: float = raw.get("points", 1)
        self.explanation: str | None = raw.get("explanation")
        self.hint: str | None = raw.get("hint")
        self.sealed: dict | None = raw.get("sealed")
        self.choices: list[str] = []
        self.correct: list[str] = []
        for c in raw.get("choices", []):
            if isinstance(c, str):
                self.choices.append(c)
            else:
                self.choices.append(c["text"])
                if c.get("correct"):
                    self.correct.append(c["text"])
        # translations: {lang: {prompt, choices (same order), explanation, hint}}
        self.translations: dict = raw.get("translations") or {}
        self.unit: str = raw.get("unit", "")
        self.case_sensitive: bool = raw.get("case_sensitive", False)
        self.accept: list[str] = list(raw.get("accept", []))
        self.regex: str | None = raw.get("regex")
        self._regex = None
        self.tolerance = raw.get("tolerance", 0)
        self.answer = raw.get("answer")
        self.params: dict = raw.get("params", {}) or {}
        self.kernel: dict = dict(quiz.kernel, **raw.get("kernel", {}))
        self.answer_expr: Expression | None = None
        self.where_expr: Expression | None = None
        self.answer_value: Fraction | None = None

    # ---------------------------------------------------------------- validation
    def compile(self) -> list[QuizError]:
        """Check what the schema cannot; prepare expressions. Returns the problems."""
        doc, p, errs = self.quiz.doc, self.path, []
        errs += self._check_translations()
        if self.type in ("single", "multiple"):
            if len(set(self.choices)) != len(self.choices):
                errs.append(doc.error("two choices have the same text", p + ("choices",)))
            if not self.sealed:
                if self.type == "single" and len(self.correct) != 1:
                    errs.append(doc.error(
                        f"a single-choice question needs exactly one choice with "
                        f"'correct: true' (found {len(self.correct)}); the answer is missing"
                        if not self.correct else
                        f"a single-choice question needs exactly one correct choice, found "
                        f"{len(self.correct)}; use type: multiple", p + ("choices",)))
                if self.type == "multiple" and not self.correct:
                    errs.append(doc.error("no choice is marked 'correct: true'; the answer is "
                                          "missing", p + ("choices",)))
        elif self.type == "numeric":
            if self.sealed is None:
                if self.answer is None:
                    errs.append(doc.error("a numeric question needs 'answer:'; the answer is "
                                          "missing", p))
                else:
                    try:
                        self.answer_value = parse_number(self.answer, self.unit)
                    except ValueError as exc:
                        errs.append(doc.error(f"answer: {exc}", p + ("answer",)))
            errs += self._check_tolerance()
        elif self.type == "text":
            if self.sealed is None and not self.accept and not self.regex:
                errs.append(doc.error("a text question needs 'accept:' (a list) or 'regex:'; "
                                      "the answer is missing", p))
            if self.regex:
                try:
                    self._regex = re.compile(self.regex, 0 if self.case_sensitive else
                                             re.IGNORECASE)
                except re.error as exc:
                    errs.append(doc.error(f"regex does not compile: {exc}", p + ("regex",),
                                          offset=exc.pos))
        elif self.type == "simulator":
            errs += self._compile_simulator()
            errs += self._check_tolerance()
        return errs

    def _check_tolerance(self) -> list[QuizError]:
        tol = self.tolerance
        if isinstance(tol, str):
            rel = Fraction(tol.strip().rstrip("%").strip()) / 100
            if rel >= 1:
                return [self.quiz.doc.error("a relative tolerance must be below 100%",
                                            self.path + ("tolerance",))]
        return []

    def _compile_simulator(self) -> list[QuizError]:
        doc, p, errs = self.quiz.doc, self.path, []
        names = set(self.params)
        for name, spec in self.params.items():
            try:
                self._values_count(spec)
            except ValueError as exc:
                errs.append(doc.error(f"parameter {name!r}: {exc}", p + ("params", name)))
        for key in ("answer", "where"):
            src = self.raw.get(key)
            if src is None:
                continue
            try:
                e = Expression(src, names)
            except ExpressionError as exc:
                errs.append(doc.error(f"{key} expression: {exc.message}", p + (key,),
                                      offset=exc.offset))
                continue
            setattr(self, f"{key}_expr", e)
        try:
            fields = list(string.Formatter().parse(self.prompt))
        except ValueError as exc:
            errs.append(doc.error(f"prompt template: {exc} (write {{{{ for a literal brace)",
                                  p + ("prompt",)))
            fields = []
        for _lit, name, spec, conv in fields:
            if name is None:
                continue
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                errs.append(doc.error(f"prompt template: {{{name}}}: only plain parameter "
                                      "names are allowed (no attribute or index access)",
                                      p + ("prompt",)))
            elif name not in names:
                errs.append(doc.error(f"prompt template: {{{name}}} is not a parameter "
                                      f"(parameters: {', '.join(sorted(names)) or 'none'})",
                                      p + ("prompt",)))
            if conv is not None:
                errs.append(doc.error(f"prompt template: '!{conv}' is not allowed",
                                      p + ("prompt",)))
            if spec and not _FMT_SPEC.match(spec):
                errs.append(doc.error(f"prompt template: format spec {spec!r} is not allowed",
                                      p + ("prompt",)))
        return errs

    # ---------------------------------------------------------------- parameters
    @staticmethod
    def _range(spec) -> tuple[int, int, int]:
        from kmemlab.sizes import memparse

        lo, hi = (memparse(x, what="range bound") for x in spec["range"])
        step = memparse(spec.get("step", spec.get("multiple_of", 1)), what="step")
        if step <= 0:
            raise ValueError("step must be positive")
        if "multiple_of" in spec:
            lo = -(-lo // step) * step
        if hi < lo:
            raise ValueError(f"empty range {spec['range']}")
        return lo, hi, step

    def _values_count(self, spec) -> int:
        if isinstance(spec, list):
            return len(spec)
        if "choices" in spec:
            return len(spec["choices"])
        lo, hi, step = self._range(spec)
        return (hi - lo) // step + 1

    def _pick(self, spec, index: int):
        if isinstance(spec, list):
            return spec[index % len(spec)]
        if "choices" in spec:
            return spec["choices"][index % len(spec["choices"])]
        lo, hi, step = self._range(spec)
        return lo + (index % ((hi - lo) // step + 1)) * step

    def pick_params(self, student: str, functions: Functions) -> dict:
        """The parameters of ``student``'s variant (stable: a hash of quiz, student,
        question and parameter names; retried until ``where`` holds)."""
        for attempt in range(100):
            params = {name: self._pick(spec, stable_int(self.quiz.id, student, self.id,
                                                         attempt, name))
                      for name, spec in self.params.items()}
            if self.where_expr is None or self.where_expr.evaluate(params, functions):
                return params
        raise ExpressionError("no parameter values satisfy 'where' in 100 tries")

    def render(self, params: dict, lang: bool | str = False) -> str:
        """The prompt with ``params``; ``lang=True``: in the language of
        :func:`kmemlab.set_language` (a translation where the file gives one)."""
        prompt = self.text("prompt", lang=lang) if lang else self.prompt
        if self.type != "simulator":
            return prompt
        return prompt.format(**params)

    # ---------------------------------------------------------------- languages
    def _tr(self, lang: bool | str = True) -> dict:
        code = _i18n.get_language() if lang is True else lang
        return self.translations.get(code) or {} if code and code != "en" else {}

    def text(self, name: str, default=None, lang: bool | str = True):
        """``prompt``/``explanation``/``hint`` in the current language; the file's own text
        (or ``default``) when it gives no translation."""
        own = getattr(self, name) if default is None else default
        return self._tr(lang).get(name, own) if own is not None else None

    def choice_label(self, choice: str, lang: bool | str = True) -> str:
        """How ``choice`` (the file's text, which grading uses) is shown in the language."""
        tr = self._tr(lang).get("choices")
        return tr[self.choices.index(choice)] if tr and choice in self.choices else choice

    def canonical_choice(self, response):
        """A translated choice label back to the file's own text, so that grading does not
        depend on the language the student saw."""
        if isinstance(response, list):
            return [self.canonical_choice(r) for r in response]
        if isinstance(response, str) and response not in self.choices:
            for tr in self.translations.values():
                labels = (tr or {}).get("choices") or []
                if response in labels:
                    return self.choices[labels.index(response)]
        return response

    def _check_translations(self) -> list[QuizError]:
        doc, p, errs = self.quiz.doc, self.path, []
        for code, tr in self.translations.items():
            q = p + ("translations", code)
            labels = tr.get("choices")
            if labels is not None and len(labels) != len(self.choices):
                errs.append(doc.error(f"{len(labels)} translated choices for "
                                      f"{len(self.choices)} choices (give them in the same "
                                      "order)", q + ("choices",)))
            if labels is not None and len(set(labels)) != len(labels):
                errs.append(doc.error("two translated choices have the same text",
                                      q + ("choices",)))
            if self.type == "simulator" and "prompt" in tr:
                want = set(self.params)
                try:
                    got = {f for _t, f, _s, _c in string.Formatter().parse(tr["prompt"]) if f}
                except ValueError as exc:
                    errs.append(doc.error(f"prompt template: {exc}", q + ("prompt",)))
                    continue
                if not got <= want:
                    errs.append(doc.error(f"translated prompt uses {sorted(got - want)}, which "
                                          "is not a parameter", q + ("prompt",)))
        return errs

    # ---------------------------------------------------------------- answers
    def expected(self, params: dict, functions: Functions):
        """The correct answer (simulator questions compute it from ``params``)."""
        if self.type == "simulator":
            value = self.answer_expr.evaluate(params, functions)
            kind = self.answer_kind(value)
            if kind == "numeric":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ExpressionError(f"answer_type is numeric but the answer is "
                                          f"{value!r}")
                return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
            if value is None or isinstance(value, bool | tuple):
                raise ExpressionError(f"the answer expression gave {value!r}, which a student "
                                      "cannot type; return a number or a string")
            return str(value)
        if self.type == "numeric":
            return self.answer_value
        if self.type == "single":
            return self.correct[0] if self.correct else None
        if self.type == "multiple":
            return list(self.correct)
        return self.accept[0] if self.accept else None

    def answer_kind(self, value=None) -> str:
        if self.type != "simulator":
            return self.type
        if "answer_type" in self.raw:
            return self.raw["answer_type"]
        return "numeric" if isinstance(value, int | float) and not isinstance(value, bool) \
            else "text"

    def tolerance_bound(self, expected: Fraction):
        tol = self.tolerance
        if isinstance(tol, str):
            return "rel", Fraction(tol.strip().rstrip("%").strip()) / 100
        return "abs", Fraction(repr(tol)) if isinstance(tol, float) else Fraction(tol)

    def check(self, response, variant: Variant | None, functions: Functions) -> Result:
        """Grade one response for one variant."""
        pts = self.points
        if response is None or response == "" or response == []:
            return Result(False, 0, pts, "No answer.", valid=False)
        if isinstance(response, str) and len(response) > MAX_RESPONSE:
            return Result(False, 0, pts, "Answer too long.", valid=False)
        if self.sealed:
            return self._check_sealed(response, pts)
        params = variant.params if variant else {}
        response = self.canonical_choice(response) if self.choices else response
        expected = self.expected(params, functions)
        kind = self.answer_kind(expected if self.type != "simulator" or not isinstance(
            expected, Fraction) else 0)
        ok: bool
        if self.type == "single":
            ok = _seal.normalize_text(response, True) == _seal.normalize_text(expected, True)
        elif self.type == "multiple":
            if isinstance(response, str):
                response = [response]
            ok = sorted(_seal.normalize_text(r, True) for r in response) == \
                sorted(_seal.normalize_text(c, True) for c in self.correct)
        elif kind == "numeric":
            try:
                r = parse_number(response, self.unit)
            except ValueError as exc:
                return Result(False, 0, pts, f"Could not read a number: {exc}.", valid=False)
            kind_t, t = self.tolerance_bound(expected)
            bound = t if kind_t == "abs" else t * abs(expected)
            ok = abs(r - expected) <= bound
        else:
            text = str(response)
            accepted = [expected] if self.type == "simulator" else self.accept
            ok = any(_seal.normalize_text(text, self.case_sensitive) ==
                     _seal.normalize_text(a, self.case_sensitive) for a in accepted)
            if not ok and self._regex is not None and len(text) <= MAX_REGEX_INPUT:
                ok = self._regex.fullmatch(text.strip()) is not None
        return Result(ok, pts if ok else 0, pts, "Correct." if ok else "Not correct.",
                      self.explanation)

    def _check_sealed(self, response, pts: float) -> Result:
        header = self.quiz.sealed
        ok, expl, err = match_sealed(self.sealed, response, salt=header["salt"],
                                     iterations=header["iterations"], quiz_id=self.quiz.id,
                                     qid=self.id, unit=self.unit,
                                     case_sensitive=self.case_sensitive)
        if err:
            return Result(False, 0, pts, err, valid=False)
        if not ok and self._regex is not None and isinstance(response, str) and \
                len(response) <= MAX_REGEX_INPUT and self._regex.fullmatch(response.strip()):
            ok = True
        return Result(ok, pts if ok else 0, pts, "Correct." if ok else "Not correct.", expl)


def match_sealed(sealed: dict, response, *, salt: str, iterations: int, quiz_id: str, qid: str,
                 unit: str = "", case_sensitive: bool = False) \
        -> tuple[bool, str | None, str | None]:
    """Check ``response`` against a sealed answer: (correct, explanation, read error)."""
    scheme = sealed["scheme"]
    if scheme == "choice":
        tokens = [_seal.normalize_text(response, True)]
    elif scheme == "choices":
        resp = [response] if isinstance(response, str) else list(response)
        tokens = ["\n".join(sorted(_seal.normalize_text(r, True) for r in resp))]
    elif scheme == "text":
        tokens = [_seal.normalize_text(response, case_sensitive)]
    else:
        try:
            r = parse_number(response, unit)
        except ValueError as exc:
            return False, None, f"Could not read a number: {exc}."
        if scheme == "exact":
            tokens = [_seal.fraction_token(r)]
        elif scheme == "grid":
            tokens = [str(k) for k in _seal.grid_cells(r, Fraction(sealed["step"]),
                                                         Fraction(sealed["shift"]))]
        else:
            tokens = _seal.loggrid_cells(float(r), float(sealed["step"]),
                                         float(sealed["shift"]))
    hashes = sealed["hashes"]
    for tok in tokens:
        d = _seal.derive(tok, salt, iterations, quiz_id, qid)
        h = d[:32].hex()
        if h in hashes:
            blobs = sealed.get("explanation") or []
            i = hashes.index(h)
            return True, (_seal.decrypt(blobs[i], d[32:]) if i < len(blobs) else None), None
    return False, None, None


class Quiz:
    """A checked quiz file. ``Quiz.load(path)`` raises :class:`QuizErrors` if invalid."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        data = doc.data
        self.data = data
        self.id: str = data["id"]
        self.title: str = data["title"]
        self.description: str = data.get("description", "")
        settings = data.get("settings", {}) or {}
        self.mode: str = settings.get("mode", "practice")
        self.attempts: int = settings.get("attempts", 0 if self.mode == "practice" else 1)
        self.shuffle: bool = settings.get("shuffle", False)
        self.shuffle_choices: bool = settings.get("shuffle_choices", False)
        self.kernel: dict = dict(settings.get("kernel", {}) or {})
        self.sealed: dict | None = data.get("sealed")
        self.questions = [Question(self, i, q) for i, q in enumerate(data["questions"])]
        self.by_id = {q.id: q for q in self.questions}

    # ---------------------------------------------------------------- loading
    @classmethod
    def from_document(cls, doc: Document, *, _schema_checked: bool = False) -> Quiz:
        if not _schema_checked:
            errors = _schema_validate(doc)
            if errors:
                raise QuizErrors(errors)
        quiz = cls(doc)
        errors = []
        seen: dict[str, int] = {}
        for q in quiz.questions:
            if q.id in seen:
                errors.append(doc.error(f"question id {q.id!r} is used twice (first at "
                                        f"question {seen[q.id] + 1})", q.path + ("id",)))
            seen.setdefault(q.id, q.index)
            if q.sealed and not quiz.sealed:
                errors.append(doc.error("question is sealed but the file has no 'sealed:' "
                                        "header", q.path + ("sealed",)))
            errors += q.compile()
        if errors:
            raise QuizErrors(errors)
        return quiz

    @classmethod
    def load(cls, path: str | Path) -> Quiz:
        """Read and check ``path``: a new :class:`Quiz` each time.

        The YAML parse and the schema check of a file are done once per process for each
        content: a file read again with the same bytes (say, a quiz cell run twice) reuses
        them, and any change to the file is a new parse (see :data:`_DOCUMENTS`)."""
        try:
            data = read_file(path)
            key = (str(path), hashlib.sha256(data).digest(), _schema_versions())
            cached = _DOCUMENTS.get(key)
            if cached is not None:
                _DOCUMENTS.move_to_end(key)
                return cls.from_document(_copy_document(cached), _schema_checked=True)
            doc = load_bytes(data, str(path))
        except QuizError as exc:
            raise QuizErrors([exc]) from None
        errors = _schema_validate(doc)
        if errors:
            raise QuizErrors(errors)
        _DOCUMENTS[key] = _copy_document(doc)   # before Quiz/Question can touch doc.data
        while len(_DOCUMENTS) > _DOCUMENTS_MAX:
            _DOCUMENTS.popitem(last=False)
        return cls.from_document(doc, _schema_checked=True)

    @classmethod
    def loads(cls, text: str, file: str = "<quiz>") -> Quiz:
        try:
            doc = load_text(text, file)
        except QuizError as exc:
            raise QuizErrors([exc]) from None
        return cls.from_document(doc)

    def functions(self) -> Functions:
        return Functions(KernelCache(self.kernel))

    def text(self, name: str) -> str:
        """``title``/``description`` in the language of :func:`kmemlab.set_language`."""
        code = _i18n.get_language()
        tr = (self.data.get("translations") or {}).get(code) or {} if code != "en" else {}
        return tr.get(name, getattr(self, name))

    # ---------------------------------------------------------------- variants
    def variant(self, student: str | None, functions: Functions | None = None) \
            -> list[Variant]:
        """The questions as ``student`` sees them: order, parameters, prompts, choices."""
        student = student or ""
        functions = functions or self.functions()
        questions = list(self.questions)
        if self.shuffle:
            questions.sort(key=lambda q: stable_int(self.id, student, "order", q.id))
        out = []
        for q in questions:
            params = q.pick_params(student, functions) if q.type == "simulator" else {}
            choices = list(q.choices)
            if self.shuffle_choices:
                choices.sort(key=lambda c, q=q: stable_int(self.id, student, q.id, c))
            out.append(Variant(q, params, q.render(params), choices))
        return out

    def check_answers(self, seeds: int = 20) -> list[QuizError]:
        """Compute every simulator answer for ``seeds`` students; report what fails."""
        errors: list[QuizError] = []
        functions = self.functions()
        for q in self.questions:
            if q.type != "simulator":
                continue
            for n in range(max(seeds, 1)):
                student = f"seed-{n}"
                try:
                    params = q.pick_params(student, functions)
                    q.render(params)
                    expected = q.expected(params, functions)
                except ExpressionError as exc:
                    errors.append(self.doc.error(
                        f"for {student}: {exc.message}", q.path + ("answer",),
                        offset=exc.offset))
                    break
                except (KeyError, ValueError, IndexError) as exc:
                    errors.append(self.doc.error(f"for {student}: prompt template: {exc}",
                                                 q.path + ("prompt",)))
                    break
                if isinstance(expected, str) and not expected.strip():
                    errors.append(self.doc.error(f"for {student}: the answer is empty",
                                                 q.path + ("answer",)))
                    break
        return errors

    def grade(self, answers: dict, student: str | None) -> dict[str, Result]:
        """Grade ``answers`` (question id -> response) for ``student``'s variant."""
        functions = self.functions()
        results = {}
        for v in self.variant(student, functions):
            results[v.question.id] = v.question.check(answers.get(v.question.id), v, functions)
        return results

    @property
    def max_points(self) -> float:
        return sum(q.points for q in self.questions)


# Parsed, schema-checked quiz files by (path as given, sha256 of the bytes, the kernel
# versions the schema allows): what Quiz.load would compute again for the same bytes.
# Only documents that passed the schema are kept; the Quiz is built anew from a copy
# (the checks of model.Question.compile run every time, they are cheap).
_DOCUMENTS: OrderedDict[tuple, Document] = OrderedDict()
_DOCUMENTS_MAX = 64


def _schema_versions() -> tuple:
    from ..profiles import versions

    return tuple(versions())


def _copy_document(doc: Document) -> Document:
    # positions/styles are filled once by the loader and only read afterwards
    return Document(data=copy.deepcopy(doc.data), file=doc.file, positions=doc.positions,
                    styles=doc.styles)


def describe_expected(q: Question, v: Variant, functions: Functions) -> str | None:
    """The correct answer as text (``None`` for sealed static answers)."""
    if q.sealed:
        return None
    e = q.expected(v.params, functions)
    if isinstance(e, Fraction):
        return _fmt_fraction(e) + (f" {q.unit}" if q.unit else "")
    if isinstance(e, list):
        return "; ".join(e)
    if q.type == "text" and e is None:
        return f"(matching /{q.regex}/)"
    return str(e)
