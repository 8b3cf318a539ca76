"""The JSON Schema of a quiz file (validated with :mod:`jsonschema`).

The schema fixes the shape (keys, types, sizes); :mod:`kmemlab.quiz.model` then checks
what a schema cannot say (one correct choice, expressions, templates, unique ids).

Importing :mod:`jsonschema` takes about a second (its format checkers compile dozens of
grammars at import), which a quiz cell would pay on every fresh kernel. So
:func:`validate` first asks :func:`is_valid`, a small evaluator of exactly the keywords
:data:`SCHEMA` uses, with jsonschema's semantics (Draft 2020-12); a file it accepts has
no errors to report, and only a file it rejects (or a schema keyword it does not know) is
handed to jsonschema for the messages. tests/quiz/test_schema_fast.py holds the two to
the same verdict.
"""

from __future__ import annotations

import re

from ..profiles import versions
from .errors import QuizError

FORMAT_VERSION = 1
MAX_QUESTIONS = 200
MAX_CHOICES = 26
MAX_PARAMS = 12
MAX_TEXT = 10_000
MAX_SHORT = 400

QUESTION_TYPES = ("single", "multiple", "numeric", "text", "simulator")

_id = {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_.-]{0,63}$"}
_text = {"type": "string", "maxLength": MAX_TEXT}
_short = {"type": "string", "minLength": 1, "maxLength": MAX_SHORT}
_number = {"type": "number"}
_tolerance = {
    "description": "absolute (a number, in the question's unit) or relative ('1%')",
    "oneOf": [{"type": "number", "minimum": 0},
              {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$"}],
}
_unit = {"type": "string", "enum": ["B", "KiB", "MiB", "GiB", "TiB", "kB", "K", "M", "G",
                                    "pages", ""]}
_sealed = {
    "type": "object",
    "required": ["scheme", "hashes"],
    "additionalProperties": False,
    "properties": {
        "scheme": {"type": "string", "enum": ["choice", "choices", "exact", "grid", "loggrid",
                                              "text"]},
        "hashes": {"type": "array", "minItems": 1, "maxItems": 64,
                   "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
        "step": {"type": "string", "maxLength": 200},
        "shift": {"type": "string", "maxLength": 200},
        "explanation": {"type": "array", "maxItems": 64,
                        "items": {"type": "string", "maxLength": 4 * MAX_TEXT}},
    },
}
_choice = {
    "oneOf": [
        _short,
        {"type": "object", "required": ["text"], "additionalProperties": False,
         "properties": {"text": _short, "correct": {"type": "boolean"}}},
    ],
}
_param = {
    "oneOf": [
        {"type": "array", "minItems": 1, "maxItems": 1000,
         "items": {"type": ["integer", "number", "string", "boolean"]}},
        {"type": "object", "additionalProperties": False, "required": ["range"],
         "properties": {
             "range": {"type": "array", "minItems": 2, "maxItems": 2,
                       "items": {"type": ["integer", "string"]}},
             "step": {"type": ["integer", "string"]},
             "multiple_of": {"type": ["integer", "string"]},
         }},
        {"type": "object", "additionalProperties": False, "required": ["choices"],
         "properties": {"choices": {"type": "array", "minItems": 1, "maxItems": 1000,
                                    "items": {"type": ["integer", "number", "string",
                                                       "boolean"]}}}},
    ],
}

_common = {
    "id": _id,
    "type": {"type": "string", "enum": list(QUESTION_TYPES)},
    "prompt": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
    "points": {"type": "number", "minimum": 0, "maximum": 1000},
    "explanation": _text,
    "hint": _text,
    "sealed": _sealed,
    "translations": {"type": "object", "maxProperties": 8,
                     "propertyNames": {"pattern": "^[a-z]{2}(_[A-Z]{2})?$"},
                     "additionalProperties": {
                         "type": "object", "additionalProperties": False,
                         "properties": {"prompt": {"type": "string", "minLength": 1,
                                                   "maxLength": MAX_TEXT},
                                        "choices": {"type": "array", "maxItems": MAX_CHOICES,
                                                    "items": _short},
                                        "explanation": _text, "hint": _text}}},
}


def _qschema(extra: dict, required: list[str]) -> dict:
    return {"properties": dict(_common, **extra), "required": required,
            "additionalProperties": False}


_SINGLE = _qschema({"choices": {"type": "array", "minItems": 2, "maxItems": MAX_CHOICES,
                                "items": _choice}}, ["choices"])
_NUMERIC = _qschema({"answer": {"oneOf": [_number, {"type": "string", "maxLength": 40}]},
                     "tolerance": _tolerance, "unit": _unit}, [])
_TEXT = _qschema({"accept": {"type": "array", "minItems": 1, "maxItems": 64, "items": _short},
                  "regex": {"type": "string", "minLength": 1, "maxLength": 500},
                  "case_sensitive": {"type": "boolean"}}, [])
_SIM = _qschema({
    "params": {"type": "object", "maxProperties": MAX_PARAMS,
               "propertyNames": {"pattern": "^[a-z][a-z0-9_]{0,31}$"},
               "additionalProperties": _param},
    "where": {"type": "string", "minLength": 1, "maxLength": 600},
    "answer": {"type": "string", "minLength": 1, "maxLength": 600},
    "answer_type": {"type": "string", "enum": ["numeric", "text"]},
    "tolerance": _tolerance, "unit": _unit,
    "case_sensitive": {"type": "boolean"},
    "kernel": {"$ref": "#/$defs/kernel"},
}, ["answer"])

SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "kmemlab quiz",
    "type": "object",
    "required": ["kmemlab_quiz", "id", "title", "questions"],
    "additionalProperties": False,
    "$defs": {
        "kernel": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "version": {"type": "string", "enum": versions()},   # every profile's
                "arch": {"type": "string", "enum": ["x86_64", "i386"]},
                "ram": {"type": ["string", "integer"]},
                "cpus": {"type": "integer", "minimum": 1, "maximum": 64},
            },
        },
    },
    "properties": {
        "kmemlab_quiz": {"const": FORMAT_VERSION},
        "id": _id,
        "title": _short,
        "chapter": {"type": ["integer", "string"]},
        "description": _text,
        "translations": {"type": "object", "maxProperties": 8,
                         "propertyNames": {"pattern": "^[a-z]{2}(_[A-Z]{2})?$"},
                         "additionalProperties": {
                             "type": "object", "additionalProperties": False,
                             "properties": {"title": _short, "description": _text}}},
        "settings": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "mode": {"type": "string", "enum": ["practice", "graded"]},
                "attempts": {"type": "integer", "minimum": 0, "maximum": 100},
                "shuffle": {"type": "boolean"},
                "shuffle_choices": {"type": "boolean"},
                "kernel": {"$ref": "#/$defs/kernel"},
            },
        },
        "sealed": {
            "type": "object", "additionalProperties": False,
            "required": ["scheme", "salt", "iterations"],
            "properties": {
                "scheme": {"const": "pbkdf2-sha256"},
                "salt": {"type": "string", "pattern": "^[0-9a-f]{16,128}$"},
                "iterations": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
            },
        },
        "questions": {
            "type": "array", "minItems": 1, "maxItems": MAX_QUESTIONS,
            "items": {
                "type": "object",
                "required": ["id", "type", "prompt"],
                "properties": {"type": _common["type"]},
                "allOf": [
                    {"if": {"properties": {"type": {"const": t}}, "required": ["type"]},
                     "then": s}
                    for t, s in (("single", _SINGLE), ("multiple", _SINGLE),
                                 ("numeric", _NUMERIC), ("text", _TEXT),
                                 ("simulator", _SIM))
                ],
            },
        },
    },
}


class _Unsupported(Exception):
    """A schema keyword :func:`is_valid` does not evaluate: ask jsonschema."""


# keywords that only annotate, and the ones _valid evaluates
_ANNOTATIONS = frozenset({"$schema", "$defs", "title", "description"})
_KEYWORDS = frozenset({
    "type", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum",
    "minItems", "maxItems", "items", "properties", "required", "additionalProperties",
    "propertyNames", "maxProperties", "oneOf", "allOf", "if", "then", "$ref"}) | _ANNOTATIONS


def _is_type(x, t: str) -> bool:
    # jsonschema's Draft 2020-12 type checker: bool is not a number; 1.0 is an integer
    if t == "string":
        return isinstance(x, str)
    if t == "object":
        return isinstance(x, dict)
    if t == "array":
        return isinstance(x, list)
    if t == "boolean":
        return isinstance(x, bool)
    if t == "null":
        return x is None
    if isinstance(x, bool):
        return False
    if t == "integer":
        return isinstance(x, int) or (isinstance(x, float) and x.is_integer())
    if t == "number":
        return isinstance(x, int | float)
    raise _Unsupported(f"type {t!r}")


def _equal(a, b) -> bool:
    """jsonschema's ``equal``: True is not 1, containers compared item by item."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _resolve(ref: str, root: dict) -> dict:
    if not ref.startswith("#/"):
        raise _Unsupported(f"$ref {ref!r}")
    node = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _valid(schema, x, root) -> bool:
    if schema is True:
        return True
    if schema is False:
        return False
    for key in schema:
        if key not in _KEYWORDS:
            raise _Unsupported(key)
    if "$ref" in schema and not _valid(_resolve(schema["$ref"], root), x, root):
        return False
    if "type" in schema:
        t = schema["type"]
        if not any(_is_type(x, u) for u in (t if isinstance(t, list) else [t])):
            return False
    if "enum" in schema and not any(_equal(e, x) for e in schema["enum"]):
        return False
    if "const" in schema and not _equal(x, schema["const"]):
        return False
    if isinstance(x, str):
        if "pattern" in schema and not re.search(schema["pattern"], x):
            return False
        if len(x) < schema.get("minLength", 0) or \
                ("maxLength" in schema and len(x) > schema["maxLength"]):
            return False
    elif isinstance(x, int | float) and not isinstance(x, bool):
        if ("minimum" in schema and x < schema["minimum"]) or \
                ("maximum" in schema and x > schema["maximum"]):
            return False
    elif isinstance(x, list):
        if len(x) < schema.get("minItems", 0) or \
                ("maxItems" in schema and len(x) > schema["maxItems"]):
            return False
        if "items" in schema and not all(_valid(schema["items"], i, root) for i in x):
            return False
    elif isinstance(x, dict):
        props = schema.get("properties", {})
        if any(k not in x for k in schema.get("required", ())):
            return False
        if "maxProperties" in schema and len(x) > schema["maxProperties"]:
            return False
        if "propertyNames" in schema and \
                not all(_valid(schema["propertyNames"], k, root) for k in x):
            return False
        extra = schema.get("additionalProperties", True)
        for k, v in x.items():
            if k in props:
                if not _valid(props[k], v, root):
                    return False
            elif not _valid(extra, v, root):
                return False
    if "allOf" in schema and not all(_valid(s, x, root) for s in schema["allOf"]):
        return False
    if "oneOf" in schema and sum(_valid(s, x, root) for s in schema["oneOf"]) != 1:
        return False
    if "if" in schema and "then" in schema and _valid(schema["if"], x, root) and \
            not _valid(schema["then"], x, root):
        return False
    return True


def is_valid(data, schema: dict | None = None) -> bool | None:
    """Whether ``data`` satisfies ``schema`` (default :data:`SCHEMA`) as jsonschema's
    Draft 2020-12 validator judges it, without importing jsonschema; ``None`` when the
    schema uses a keyword this evaluator does not know."""
    schema = SCHEMA if schema is None else schema
    try:
        return _valid(schema, data, schema)
    except _Unsupported:
        return None


def validate(doc) -> list[QuizError]:
    """Schema errors of a loaded :class:`~kmemlab.quiz.loader.Document`, with positions."""
    if is_valid(doc.data):   # the common case, and about a second faster (module doc)
        return []
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = []
    for err in sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.path))):
        errors.extend(_flatten(err, doc))
    # one message per position is enough
    seen, out = set(), []
    for e in errors:
        key = (e.line, e.column, e.message)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out[:50]


def _flatten(err, doc) -> list[QuizError]:
    path = tuple(err.absolute_path)
    if err.validator == "oneOf" and err.context:
        # report the branch that got furthest, not "is not valid under any of ..."
        best = max(err.context, key=lambda e: (len(e.absolute_path), -len(e.message)))
        return _flatten(best, doc)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        return [doc.error(f"unknown key {k!r}; allowed here: {', '.join(sorted(allowed))}",
                          path + (k,)) for k in extra]
    if err.validator == "required":
        return [doc.error(err.message.replace("is a required property",
                                              "is missing (required here)"), path)]
    if err.validator == "enum" and path and path[-1] == "type":
        return [doc.error(f"unknown question type {err.instance!r}; use one of "
                          f"{', '.join(QUESTION_TYPES)}", path)]
    if err.validator == "const" and path == ("kmemlab_quiz",):
        return [doc.error(f"kmemlab_quiz must be {FORMAT_VERSION} (the format version)", path)]
    return [doc.error(err.message if len(err.message) < 300 else err.message[:300] + "…",
                      path)]
