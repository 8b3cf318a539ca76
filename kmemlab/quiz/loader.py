"""Read a quiz file: safe YAML, bounded, with the position of every value kept.

Only YAML's core types are built (mappings, lists, strings, numbers, booleans, null):
the text is composed into nodes by PyYAML's ``SafeLoader`` and turned into Python
values here, so no tag can construct an object. Anchors and aliases are refused
(they are how "billion laughs" files blow up), so are duplicate keys (YAML would keep
the last one silently). Every value's (line, column) is remembered by its path, so a
schema error at ``questions/3/type`` can say ``quiz.yaml:41:11``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import QuizError

MAX_FILE_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 24

_CORE_TAGS = {
    "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


@dataclass
class Document:
    """The data of a YAML file and the position of each value (by path)."""

    data: object
    file: str
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    styles: dict[tuple, str | None] = field(default_factory=dict)

    def position(self, path) -> tuple[int | None, int | None]:
        """(line, column), 1-based, of the value at ``path`` or of its nearest parent."""
        path = tuple(path)
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return (None, None)
            path = path[:-1]

    def error(self, message: str, path=(), *, offset: int | None = None) -> QuizError:
        """A :class:`QuizError` placed at ``path`` (and ``offset`` columns into its text
        when the value is a one-line plain or quoted scalar)."""
        line, col = self.position(path)
        path = tuple(path)
        if offset is not None and col is not None and path in self.positions:
            style = self.styles.get(path)
            if style in (None, "", "'", '"'):
                col += offset + (1 if style in ("'", '"') else 0)
        return QuizError(message, file=self.file, line=line, column=col, path=path)


def load_text(text: str, file: str = "<quiz>") -> Document:
    """Parse YAML text into a :class:`Document`; raise :class:`QuizError` with position."""
    import yaml

    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise QuizError(f"file is larger than {MAX_FILE_BYTES // 1024} KiB; split the quiz",
                        file=file)
    if _flow_depth(text) > MAX_DEPTH:   # before PyYAML recurses into thousands of levels
        raise QuizError(f"values nested deeper than {MAX_DEPTH} levels", file=file)
    try:  # the reader checks every character here: NUL and other control bytes
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise QuizError(f"invalid YAML: {_one_line(exc)}", file=file) from None
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:   # the composer recurses once per nesting level
            raise QuizError(f"values nested deeper than {MAX_DEPTH} levels", file=file) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            msg = " ".join(x for x in (exc.context, exc.problem) if x) or "invalid YAML"
            raise QuizError(f"invalid YAML: {msg}", file=file,
                            line=mark.line + 1 if mark else None,
                            column=mark.column + 1 if mark else None) from None
        except yaml.YAMLError as exc:
            raise QuizError(f"invalid YAML: {_one_line(exc)}", file=file) from None
        if node is None:
            raise QuizError("the file is empty", file=file, line=1, column=1)
        doc = Document(data=None, file=file)
        builder = _Builder(loader, doc)
        doc.data = builder.build(node, (), 0)
        return doc
    finally:
        loader.dispose()


def load_file(path: str | Path) -> Document:
    """Read and parse a quiz file (see :func:`load_text`)."""
    return load_bytes(read_file(path), str(path))


def read_file(path: str | Path) -> bytes:
    """The bytes of a quiz file, refused (before reading) when it is too large."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise QuizError(f"file is larger than {MAX_FILE_BYTES // 1024} KiB; split the quiz",
                        file=str(path))
    return path.read_bytes()


def load_bytes(data: bytes, file: str = "<quiz>") -> Document:
    """Parse a quiz file's bytes: UTF-8, newlines read as Python's text mode reads them
    (``\\r\\n`` and ``\\r`` become ``\\n``), then :func:`load_text`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QuizError(f"file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                        file=file) from None
    return load_text(text.replace("\r\n", "\n").replace("\r", "\n"), file)


def _flow_depth(text: str) -> int:
    """The deepest nesting of flow brackets ([ { ), a cheap bound: brackets inside
    strings count too, which only makes it stricter than the builder's MAX_DEPTH."""
    depth = best = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > best:
                best = depth
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return best


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


class _Builder:
    def __init__(self, loader, doc: Document) -> None:
        self.loader = loader
        self.doc = doc
        self.seen: set[int] = set()
        self.count = 0

    def fail(self, node, message: str) -> QuizError:
        return QuizError(message, file=self.doc.file, line=node.start_mark.line + 1,
                         column=node.start_mark.column + 1)

    def build(self, node, path: tuple, depth: int):
        import yaml

        if id(node) in self.seen:
            raise self.fail(node, "anchors and aliases (&name / *name) are not allowed in "
                                  "quiz files; repeat the value instead")
        self.seen.add(id(node))
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(node, f"too many values (more than {MAX_NODES}); split the quiz")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"values nested deeper than {MAX_DEPTH} levels")
        if node.tag not in _CORE_TAGS:
            raise self.fail(node, f"YAML tag {node.tag!r} is not allowed; only plain "
                                  "mappings, lists, strings, numbers and booleans")
        self.doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            self.doc.styles[path] = None
            out: dict = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, "mapping keys must be plain strings")
                if key_node.tag not in _CORE_TAGS:   # '<<' (merge) and tagged keys
                    raise self.fail(key_node, "merge keys (<<) and tagged keys are not "
                                              "allowed in quiz files; write the keys out")
                key = self._scalar(key_node)
                if not isinstance(key, str):
                    key = str(key) if isinstance(key, int | float | bool) else key
                if not isinstance(key, str):
                    raise self.fail(key_node, "mapping keys must be strings")
                if key in out:
                    raise self.fail(key_node, f"duplicate key {key!r}")
                out[key] = self.build(value_node, path + (key,), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            self.doc.styles[path] = None
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        self.doc.styles[path] = node.style
        return self._scalar(node)

    def _scalar(self, node):
        """A scalar's value: bounded (an int of thousands of digits is refused by
        Python's int() limit) and finite (``.inf``/``.nan`` mean nothing in a quiz)."""
        import math

        if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and \
                len(node.value) > 40:
            raise self.fail(node, f"number {node.value[:20]}… is too long (at most 40 "
                                  "characters)")
        try:
            value = self.loader.construct_object(node)
        except (ValueError, OverflowError) as exc:
            raise self.fail(node, f"cannot read {node.value[:40]!r}: {exc}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, f"{node.value!r} is not a finite number; .inf and .nan are "
                                  "not allowed in quiz files")
        return value
