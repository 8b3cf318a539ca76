"""Languages of kmemlab's own words: widgets, plots, "why" texts, quiz UI, exercise feedback.

English is the default and the source text (the gettext msgid); Chinese comes from a
standard gettext catalog, ``kmemlab/locale/zh/LC_MESSAGES/kmemlab.po``. Kernel output
itself (dmesg lines, /proc files, trace event fields) is never translated: it stays exactly
as the kernel prints it.

    >>> import kmemlab as km
    >>> km.set_language("zh")      # per notebook (one Python process = one language)
    >>> km.get_language()
    'zh'
    >>> km.set_language("en")

The .po files are shipped as package data and compiled to the binary .mo format in memory
by :func:`msgfmt` (a small pure-Python version of GNU ``msgfmt``), then read by the
standard library's :class:`gettext.GNUTranslations`; so an editable checkout, a wheel and a
zip import all work without a build step. Other catalogs (the chapters' exercises and
errata boxes) register their own domain with :func:`translator`.

``KMEMLAB_LANG=zh`` in the environment sets the initial language.
"""

from __future__ import annotations

import ast
import gettext as _gettext
import io
import os
import re
import struct
from collections.abc import Callable
from pathlib import Path

__all__ = ["LANGUAGES", "get_language", "gettext", "msgfmt", "on_language_change", "parse_po",
           "set_language",
           "template_translator", "translate_dmesg", "translate_why", "translator"]

LANGUAGES = ("en", "zh")
_ALIASES = {"en": "en", "en_us": "en", "en_gb": "en", "c": "en", "zh": "zh", "zh_cn": "zh",
            "zh_hans": "zh", "cn": "zh", "chinese": "zh", "中文": "zh", "english": "en"}

_lang = "en"
_listeners: list[Callable[[str], None]] = []
_cache: dict[tuple[str, str, str], _gettext.NullTranslations] = {}
_LOCALEDIR = Path(__file__).resolve().parent / "locale"


def _normalise(lang: str) -> str:
    if not isinstance(lang, str):
        raise TypeError("language must be a string such as 'zh' or 'en', not "
                        f"{type(lang).__name__}")
    key = lang.strip().lower().replace("-", "_")
    if key not in _ALIASES:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return _ALIASES[key]


def set_language(lang: str) -> str:
    """Choose the language of kmemlab's widgets, plots, explanations and quizzes.

    ``"en"`` (default) or ``"zh"`` (also ``"zh_CN"``, ``"zh-CN"``). Returns the language
    now in use. Objects already displayed keep their text; new ones use the new language.
    """
    global _lang
    _lang = _normalise(lang)
    for fn in list(_listeners):
        fn(_lang)
    return _lang


def on_language_change(fn: Callable[[str], None]) -> None:
    """Call ``fn(lang)`` now and after every :func:`set_language` (plots pick their font)."""
    _listeners.append(fn)
    fn(_lang)


def get_language() -> str:
    """The language in use: ``"en"`` or ``"zh"``."""
    return _lang


def _unquote(token: str, where: str) -> str:
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError) as e:
        raise ValueError(f"{where}: not a quoted PO string: {token[:60]!r}") from e
    if not isinstance(value, str):
        raise ValueError(f"{where}: not a quoted PO string: {token[:60]!r}")
    return value


def parse_po(text: str, name: str = "<po>") -> dict[str, str]:
    """The translated messages of a .po file: {msgid: msgstr}.

    Untranslated (empty msgstr) and ``#, fuzzy`` entries are left out, as GNU msgfmt does;
    the header (msgid "") is kept. Plural forms and msgctxt are not used by kmemlab and
    are rejected so that a catalog never silently loses a message.
    """
    out: dict[str, str] = {}
    msgid = msgstr = None
    section = None
    fuzzy = next_fuzzy = False

    def flush() -> None:
        if msgid is not None and msgstr is not None and (msgstr or msgid == "") and not fuzzy:
            out[msgid] = msgstr

    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{name}:{no}"
        if line.startswith("#,") and "fuzzy" in line:
            next_fuzzy = True
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith(("msgctxt", "msgid_plural", "msgstr[")):
            raise ValueError(f"{where}: {line.split()[0]} is not supported in kmemlab catalogs")
        if line.startswith("msgid "):
            flush()
            msgid, msgstr, section = _unquote(line[6:].strip(), where), None, "id"
            fuzzy, next_fuzzy = next_fuzzy, False
        elif line.startswith("msgstr "):
            if msgid is None:
                raise ValueError(f"{where}: msgstr without msgid")
            msgstr, section = _unquote(line[7:].strip(), where), "str"
        elif line.startswith('"'):
            if section == "id":
                msgid += _unquote(line, where)
            elif section == "str":
                msgstr += _unquote(line, where)
            else:
                raise ValueError(f"{where}: continuation line outside an entry")
        else:
            raise ValueError(f"{where}: cannot parse {line[:60]!r}")
    flush()
    return out


def msgfmt(messages: dict[str, str]) -> bytes:
    """A GNU .mo file (little-endian, revision 0) for ``messages``, as GNU msgfmt writes it:
    header, the sorted original and translated string tables, then the strings.
    """
    keys = sorted(messages)
    ids = b"".join(k.encode("utf-8") + b"\0" for k in keys)
    strs = b"".join(messages[k].encode("utf-8") + b"\0" for k in keys)
    n = len(keys)
    start = 7 * 4 + 16 * n               # header + two tables of (length, offset) pairs
    otable, ttable = [], []
    pos = start
    for k in keys:
        b = k.encode("utf-8")
        otable += [len(b), pos]
        pos += len(b) + 1
    for k in keys:
        b = messages[k].encode("utf-8")
        ttable += [len(b), pos]
        pos += len(b) + 1
    header = struct.pack("<7I", 0x950412DE, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, 0)
    return header + struct.pack(f"<{2 * n}I", *otable) + struct.pack(f"<{2 * n}I", *ttable) + \
        ids + strs


def _load(domain: str, localedir: Path, lang: str) -> _gettext.NullTranslations:
    key = (domain, str(localedir), lang)
    if key not in _cache:
        po = Path(localedir) / lang / "LC_MESSAGES" / f"{domain}.po"
        if lang == "en" or not po.is_file():
            _cache[key] = _gettext.NullTranslations()
        else:
            mo = msgfmt(parse_po(po.read_text(encoding="utf-8"), str(po)))
            _cache[key] = _gettext.GNUTranslations(io.BytesIO(mo))
    return _cache[key]


def translator(domain: str, localedir: str | os.PathLike) -> Callable[[str], str]:
    """A gettext function for another catalog (``localedir/<lang>/LC_MESSAGES/<domain>.po``)
    that follows the language chosen with :func:`set_language`; ``fn.catalog()`` gives the
    messages of the current language (for tests and build scripts).
    """
    localedir = Path(localedir)

    def _(message: str) -> str:
        if _lang == "en" or not message:
            return message
        return _load(domain, localedir, _lang).gettext(message)

    def catalog(lang: str | None = None) -> dict[str, str]:
        po = localedir / _normalise(lang or _lang) / "LC_MESSAGES" / f"{domain}.po"
        return parse_po(po.read_text(encoding="utf-8"), str(po)) if po.is_file() else {}

    _.catalog = catalog
    return _


_kmemlab = translator("kmemlab", _LOCALEDIR)


def gettext(message: str) -> str:
    """``message`` in the current language (English, the msgid, when there is no entry)."""
    if _lang == "en":
        return message
    return _kmemlab(message)


_ = gettext

def template_translator(domain: str, localedir: str | os.PathLike, *, split: bool = False,
                        recursive: bool = False) -> Callable[[str], str]:
    """A translator for texts that code composes with ``format``/f-strings.

    A catalog entry whose msgid contains ``{}`` is a template: ``{}`` matches any text, and
    the msgstr (``{0}``, ``{1}``... to reorder) is filled with what matched. ``split``:
    translate each "; "-separated piece (outside parentheses) on its own; ``recursive``:
    translate what the ``{}`` matched as well. Text the catalog does not know stays as it
    is (English).
    """
    tr = translator(domain, localedir)
    patterns: dict[str, list[tuple[re.Pattern, str]]] = {}

    def compiled(lang: str) -> list[tuple[re.Pattern, str]]:
        if lang not in patterns:
            pats = []
            for msgid, msgstr in tr.catalog(lang).items():
                if "{}" in msgid and msgstr:
                    parts = [re.escape(p) for p in msgid.split("{}")]
                    pats.append((re.compile("^" + "(.+?)".join(parts) + "$", re.S), msgstr))
            pats.sort(key=lambda ps: -len(ps[0].pattern))   # most specific first
            patterns[lang] = pats
        return patterns[lang]

    def translate(text: str, _depth: int = 0) -> str:
        if _lang == "en" or not text or not isinstance(text, str):
            return text
        exact = tr(text)
        if exact != text:
            return exact
        if _depth > 3:
            return text
        if split:
            pieces = _split_pieces(text)
            if len(pieces) > 1:
                return "；".join(translate(p, _depth + 1) for p in pieces)
        for pattern, msgstr in compiled(_lang):
            m = pattern.match(text)
            if m:
                groups = m.groups()
                if recursive:
                    groups = tuple(translate(g, _depth + 1) for g in groups)
                return msgstr.format(*groups)
        return text

    return translate


_translate_why = template_translator("why", _LOCALEDIR, split=True, recursive=True)


def _split_pieces(text: str) -> list[str]:
    """``text`` split at "; " outside parentheses and brackets."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth = max(depth - 1, 0)
        elif depth == 0 and text.startswith("; ", i):
            pieces.append(text[start:i])
            start = i + 2
            i += 1
        i += 1
    return pieces + [text[start:]]


def translate_why(text: str) -> str:
    """A trace event's "why" in the current language.

    The core composes a why from pieces ("kmalloc(100) → kmalloc-128: first size class ≥
    100; 28 bytes wasted; ..."); the ``why`` catalog translates each "; "-separated piece,
    exactly or through a template whose ``{}`` match any text (itself translated in turn:
    "kfree → {}: {}"). Pieces the catalog does not know stay in English; kernel names and
    numbers pass through unchanged.
    """
    return _translate_why(text)


_DMESG_KMEMLAB = re.compile(r"^(\[\s*\d+\.\d+\] )(kmemlab: .*)$", re.S)


def translate_dmesg(line: str) -> str:
    """A dmesg line as the explorers show it: the kernel's own lines exactly as printed,
    kmemlab's explanations ("kmemlab: why: ...") in the current language."""
    if _lang == "en":
        return line
    m = _DMESG_KMEMLAB.match(line)
    return m.group(1) + translate_why(m.group(2)) if m else line


_env = os.environ.get("KMEMLAB_LANG")
if _env:
    try:
        set_language(_env)
    except ValueError:
        pass  # a bad environment value must not break `import kmemlab`
