"""Read real kernel ``kmem:*`` ftrace output and summarise it like ``perf kmem stat``.

Input is the text of ``/sys/kernel/tracing/trace`` (or ``trace_pipe``) and of
``trace-cmd report``: one event per line, laid out by the kernel's
``trace_print_context()`` (kernel/trace/trace_output.c)::

    3.15: "%16s-%-5d [%03d] " [irq flags, 4 chars] " %5lu.%06lu: " "<event>: " TP_printk
    6.x:  "%16s-%-7d [%03d] " [irq flags, 5 chars] " %5lu.%06lu"  ": " "<event>: " TP_printk

The event bodies follow ``TP_printk`` of include/trace/events/kmem.h. 3.15 and 6.x
differ: ``call_site`` is ``%lx`` in 3.15 and ``%pS`` (symbol+off/size) in 6.x; page
events print ``pfn=%lu`` (3.15) or ``pfn=0x%lx`` (6.x); since 6.1 ``kmalloc_node`` and
``kmem_cache_alloc_node`` are gone (``kmalloc``/``kmem_cache_alloc`` print ``node=%d
accounted=%s``); ``kmem_cache_free`` prints ``name=%s`` in 6.x; ``mm_page_free_batched``
lost ``cold=%d``. Every layout is accepted on every line, so a file mixing them parses.

The statistics follow tools/perf/builtin-kmem.c (``perf kmem stat``): per call site
and per pointer "Total_alloc/Per", "Total_req/Per", "Hit", "Ping-pong" (freed on a
different CPU than the one that allocated) and "Frag" = ``100 - 100 * req / alloc``
(builtin-kmem.c: fragmentation); page allocations by order x migrate type, failures,
alloc-only and free-only requests (print_page_summary).

Only the standard library is used; tqdm is imported lazily for a progress bar.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = [
    "KMEM_EVENTS",
    "MIGRATETYPE_NAMES",
    "PAGE_SORT_KEYS",
    "SLAB_SORT_KEYS",
    "GfpFlags",
    "BODY_FIELDS",
    "ParseReport",
    "Record",
    "TraceFormatError",
    "TraceStats",
    "format_record",
    "fragmentation",
    "iter_records",
    "parse_gfp_string",
    "parse_line",
    "parse_sort_keys",
    "read_records",
    "scan_records",
    "sort_keys_valid",
    "trace_stats",
]


class TraceFormatError(ValueError):
    """The input is not a readable ftrace text trace (binary, empty, broken gzip...)."""


# --------------------------------------------------------------------------- events

SLAB_ALLOC_EVENTS = frozenset({"kmalloc", "kmalloc_node", "kmem_cache_alloc",
                               "kmem_cache_alloc_node"})
SLAB_FREE_EVENTS = frozenset({"kfree", "kmem_cache_free"})
PAGE_EVENTS = frozenset({"mm_page_alloc", "mm_page_free", "mm_page_free_batched",
                         "mm_page_alloc_zone_locked", "mm_page_pcpu_drain",
                         "mm_page_alloc_extfrag"})
KMEM_EVENTS = SLAB_ALLOC_EVENTS | SLAB_FREE_EVENTS | PAGE_EVENTS

# Pointer as printed by %p: unhashed hex (tracefs), 0x-prefixed hex (libtraceevent),
# "(null)" (3.x vsprintf, right-aligned to 16 columns) or "(nil)" (glibc, trace-cmd).
_P = r"\s*(?:0x)?[0-9a-fA-F]+|\s*\(null\)|\(nil\)"
# trace-cmd's kmem plugin may print "(func+0x1c) " before the body.
_SYM = r"(?:\((?P<sym>[^()\s]*)\)\s+)?"
_ALLOC_BODY = (_SYM + r"call_site=(?P<call_site>\S+) ptr=(?P<ptr>" + _P + r")"
               r"(?: name=(?P<name>\S+))? bytes_req=(?P<bytes_req>\d+)"
               r" bytes_alloc=(?P<bytes_alloc>\d+) gfp_flags=(?P<gfp_flags>\S+)"
               r"(?: node=(?P<node>-?\d+))?(?: accounted=(?P<accounted>true|false))?\s*$")
_FREE_BODY = (_SYM + r"call_site=(?P<call_site>\S+) ptr=(?P<ptr>" + _P + r")"
              r"(?: name=(?P<name>.*?))?\s*$")
_PAGE_HEAD = r"page=(?P<page>" + _P + r") pfn=(?P<pfn>0x[0-9a-fA-F]+|\d+) "
_BODY_SOURCES = {
    # include/trace/events/kmem.h: DECLARE_EVENT_CLASS(kmem_alloc[_node]) [3.15],
    # TRACE_EVENT(kmalloc), TRACE_EVENT(kmem_cache_alloc) [6.1, 6.12]
    "kmalloc": _ALLOC_BODY,
    "kmalloc_node": _ALLOC_BODY,
    "kmem_cache_alloc": _ALLOC_BODY,
    "kmem_cache_alloc_node": _ALLOC_BODY,
    # DECLARE_EVENT_CLASS(kmem_free) [3.15]; TRACE_EVENT(kfree), (kmem_cache_free) [6.x]
    "kfree": _FREE_BODY,
    "kmem_cache_free": _FREE_BODY,
    # TRACE_EVENT(mm_page_alloc)
    "mm_page_alloc": _PAGE_HEAD + r"order=(?P<order>\d+) migratetype=(?P<migratetype>-?\d+)"
                     r" gfp_flags=(?P<gfp_flags>\S+)\s*$",
    # TRACE_EVENT(mm_page_free)
    "mm_page_free": _PAGE_HEAD + r"order=(?P<order>\d+)\s*$",
    # TRACE_EVENT(mm_page_free_batched): 3.15 adds " cold=%d"
    "mm_page_free_batched": _PAGE_HEAD + r"order=(?P<order>\d+)(?: cold=(?P<cold>\d+))?\s*$",
    # DECLARE_EVENT_CLASS(mm_page) / DEFINE_EVENT(mm_page_alloc_zone_locked)
    "mm_page_alloc_zone_locked": _PAGE_HEAD + r"order=(?P<order>\d+)"
                                 r" migratetype=(?P<migratetype>-?\d+)"
                                 r" percpu_refill=(?P<percpu_refill>\d+)\s*$",
    # DEFINE_EVENT_PRINT(mm_page, mm_page_pcpu_drain)
    "mm_page_pcpu_drain": _PAGE_HEAD + r"order=(?P<order>\d+)"
                          r" migratetype=(?P<migratetype>-?\d+)\s*$",
    # TRACE_EVENT(mm_page_alloc_extfrag)
    "mm_page_alloc_extfrag": _PAGE_HEAD + r"alloc_order=(?P<alloc_order>-?\d+)"
                             r" fallback_order=(?P<fallback_order>-?\d+)"
                             r" pageblock_order=(?P<pageblock_order>-?\d+)"
                             r" alloc_migratetype=(?P<alloc_migratetype>-?\d+)"
                             r" fallback_migratetype=(?P<fallback_migratetype>-?\d+)"
                             r" fragmenting=(?P<fragmenting>\d+)"
                             r" change_ownership=(?P<change_ownership>\d+)\s*$",
}
_BODY_RE: dict[str, re.Pattern[str]] = {k: re.compile(v) for k, v in _BODY_SOURCES.items()}

# trace_print_context(): comm-pid, optional "(tgid)" (options/record-tgid), [cpu],
# optional irq-info flags ("d..1" in 3.x, "d..1." in 6.x; first char never a digit),
# timestamp, then "event: ". trace-cmd report uses the same columns.
_HEAD_RE = re.compile(
    r"\s*(.+?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s+(?:([^\s\d]\S*)\s+)?"
    r"(\d+\.\d+):\s+(\w+):\s*"
)
# Lines that are part of a valid trace but carry no event.
_INFO_RE = re.compile(
    r"\s*(?:cpus=\d+|version\s*=\s*\d+|CPU\s*\d+ is empty|#{3,}.*|"
    r"CPU:\s*\d+\s*\[LOST\s+(?P<lost>\d+)\s+EVENTS\])\s*$"
)
_MAX_LINE = 1 << 16  # longer lines are malformed (and read in bounded pieces)
_SNIFF = 1 << 16


# ----------------------------------------------------------------------------- GFP

@dataclass(frozen=True, slots=True)
class GfpFlags:
    """A ``gfp_flags=`` string as printed by ``show_gfp_flags()``.

    Follows kernel/trace/trace_output.c: trace_print_flags_seq (ftrace_print_flags_seq
    in 3.15): names joined by ``|``, bits without a name printed last as ``0x%lx``;
    zero prints ``none`` (6.x) or ``GFP_NOWAIT`` (3.15). ``names`` keeps the names as
    printed (``GFP_ZERO`` in 3.15, ``__GFP_ZERO`` in 6.x); ``unknown`` is the OR of
    the leftover hex part.
    """

    printed: str
    names: tuple[str, ...]
    unknown: int = 0

    def convert(self, converter: Callable[[tuple[str, ...], int], Any]) -> Any:
        """Hand the names and leftover bits to ``converter`` (e.g. a kmemlab.gfp parser)."""
        return converter(self.names, self.unknown)


@functools.lru_cache(maxsize=4096)
def parse_gfp_string(text: str) -> GfpFlags:
    """Split a printed GFP string (include/trace/events/mmflags.h: show_gfp_flags).

    ``"GFP_KERNEL|__GFP_ZERO|0x100000"`` gives names ``("GFP_KERNEL", "__GFP_ZERO")``
    and ``unknown=0x100000``. ``"none"`` (6.x, flags == 0) gives no names.
    """
    names: list[str] = []
    unknown = 0
    if text != "none":
        for part in text.split("|"):
            if not part:
                continue
            if part[:2] in ("0x", "0X"):
                try:
                    unknown |= int(part, 16)
                    continue
                except ValueError:
                    pass
            names.append(part)
    return GfpFlags(text, tuple(names), unknown)


# -------------------------------------------------------------------------- records

def _ptr(text: str | None) -> int | None:
    """Value of a ``%p`` field; NULL prints as ``(null)``/``(nil)``/zeros."""
    if text is None:
        return None
    text = text.strip()
    if text[:1] == "(":
        return 0
    return int(text, 16)


def _pfn(text: str | None) -> int | None:
    """``pfn=%lu`` (3.x) or ``pfn=0x%lx`` (since 4.x; 6.x)."""
    if text is None:
        return None
    return int(text, 16) if text[:2] == "0x" else int(text)


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


class Record:
    """One kmem event line. Fields are converted from the printed text on access.

    Header fields come from trace_print_context() (kernel/trace/trace_output.c);
    body fields from TP_printk in include/trace/events/kmem.h. Fields that the event
    does not print are ``None``. ``fields`` is the raw ``name -> printed text`` dict.
    """

    __slots__ = ("_head", "_body", "lineno")

    def __init__(self, head: re.Match[str], body: re.Match[str], lineno: int = 0) -> None:
        self._head = head
        self._body = body
        self.lineno = lineno

    def _f(self, name: str) -> str | None:
        """The printed text of body field ``name`` (None if the event has no such field)."""
        try:
            return self._body[name]
        except IndexError:
            return None

    # -- header
    @property
    def line(self) -> str:
        """The line as read, without its end-of-line characters."""
        return self._head.string.rstrip("\r\n")

    @property
    def task(self) -> str:
        """The task's comm (``<idle>``, ``<...>`` when the kernel did not record it)."""
        return self._head.group(1)

    @property
    def pid(self) -> int:
        """The pid printed after the comm."""
        return int(self._head.group(2))

    @property
    def cpu(self) -> int:
        """The CPU number printed in brackets."""
        return int(self._head.group(3))

    @property
    def context(self) -> tuple[str, str, str]:
        """``(task, pid, cpu)`` as printed, in one call (for loops over many records)."""
        return self._head.group(1, 2, 3)

    @property
    def irq_flags(self) -> str | None:
        """The latency/irq-info column (``d..1.``), or None when it is off."""
        return self._head.group(4)

    @property
    def timestamp_str(self) -> str:
        """The timestamp as printed (``%5lu.%06lu``)."""
        return self._head.group(5)

    @property
    def timestamp(self) -> float:
        """Timestamp in seconds."""
        return float(self._head.group(5))

    @property
    def timestamp_us(self) -> int:
        """Timestamp in whole microseconds (exact; ns2usecs truncates likewise)."""
        secs, _, frac = self._head.group(5).partition(".")
        return int(secs) * 1_000_000 + int((frac + "000000")[:6])

    @property
    def event(self) -> str:
        """The event name, e.g. ``kmalloc``."""
        return self._head.group(6)

    @property
    def body(self) -> str:
        """Everything after ``event: `` (the TP_printk output)."""
        return self._head.string[self._head.end():].rstrip("\r\n")

    def body_fields(self) -> tuple[str | None, ...]:
        """The printed body fields in the order of ``BODY_FIELDS[event]`` (None = absent)."""
        return self._body.groups()

    @property
    def fields(self) -> dict[str, str]:
        """The printed fields of the body as ``name -> text`` (only those present)."""
        return {k: v.strip() for k, v in self._body.groupdict().items() if v is not None}

    # -- slab fields
    @property
    def call_site(self) -> str | None:
        """The call site as printed: ``func+0x15c/0x380`` (6.x %pS) or hex (3.x %lx)."""
        return self._f("call_site")

    @property
    def call_site_addr(self) -> int | None:
        """The call site as a number when it was printed as an address, else None."""
        cs = self.call_site
        if cs is None:
            return None
        try:
            return int(cs, 16)
        except ValueError:
            return None

    @property
    def call_site_symbol(self) -> str | None:
        """Symbol name printed by trace-cmd's kmem plugin (``(func+0x1c)``), if any."""
        return self._f("sym")

    @property
    def ptr(self) -> int | None:
        """The object address (0 for NULL)."""
        return _ptr(self._f("ptr"))

    @property
    def bytes_req(self) -> int | None:
        """Bytes the caller asked for."""
        return _int(self._f("bytes_req"))

    @property
    def bytes_alloc(self) -> int | None:
        """Bytes actually handed out (the size class / object size)."""
        return _int(self._f("bytes_alloc"))

    @property
    def gfp_flags(self) -> str | None:
        """The GFP flags as printed."""
        return self._f("gfp_flags")

    @property
    def gfp(self) -> GfpFlags | None:
        """The GFP flags split into names (as printed) and leftover bits."""
        g = self.gfp_flags
        return None if g is None else parse_gfp_string(g)

    @property
    def node(self) -> int | None:
        """NUMA node (``*_node`` events in 3.x, every slab alloc in 6.x; -1 = any)."""
        return _int(self._f("node"))

    @property
    def accounted(self) -> bool | None:
        """6.x: charged to a memory cgroup (__GFP_ACCOUNT or SLAB_ACCOUNT)."""
        a = self._f("accounted")
        return None if a is None else a == "true"

    @property
    def name(self) -> str | None:
        """Cache name (``kmem_cache_free`` in 6.x)."""
        n = self._f("name")
        return None if n is None else n.strip()

    # -- page fields
    @property
    def page(self) -> int | None:
        """The ``struct page *`` address (0 for NULL: a failed allocation)."""
        return _ptr(self._f("page"))

    @property
    def pfn(self) -> int | None:
        """Page frame number."""
        return _pfn(self._f("pfn"))

    @property
    def order(self) -> int | None:
        """Allocation order (``alloc_order`` for mm_page_alloc_extfrag)."""
        o = self._f("order")
        return _int(o if o is not None else self._f("alloc_order"))

    @property
    def migratetype(self) -> int | None:
        """Migrate type number (``alloc_migratetype`` for mm_page_alloc_extfrag)."""
        m = self._f("migratetype")
        return _int(m if m is not None else self._f("alloc_migratetype"))

    @property
    def layout(self) -> str | None:
        """``"6.x"`` or ``"3.x"`` when the line tells (pfn base, call_site, accounted)."""
        return _layout_of(self._body.groupdict())

    def as_dict(self) -> dict[str, Any]:
        """All converted fields (header and body) as a plain dict."""
        out: dict[str, Any] = {
            "task": self.task, "pid": self.pid, "cpu": self.cpu,
            "irq_flags": self.irq_flags, "timestamp": self.timestamp, "event": self.event,
        }
        for key in ("call_site", "ptr", "bytes_req", "bytes_alloc", "gfp_flags", "node",
                    "accounted", "name", "page", "pfn", "order", "migratetype"):
            out[key] = getattr(self, key)
        out["fields"] = self.fields
        return out

    def __repr__(self) -> str:
        return f"Record(line {self.lineno}: {self.line.strip()!r})"


def _layout_of(d: dict[str, str | None]) -> str | None:
    """Record.layout from the body's printed fields (name -> text or None)."""
    pfn = d.get("pfn")
    if pfn is not None:
        return "6.x" if pfn[:2] == "0x" else "3.x"
    if d.get("accounted") is not None or d.get("name") is not None:
        return "6.x"
    cs = d.get("call_site")
    if cs is not None and d.get("sym") is None:
        if cs[:2] == "0x" or "+" in cs:
            return "6.x"
        return "3.x"
    return None


def parse_line(line: str, lineno: int = 0) -> Record | None:
    """Parse one trace line; None if it is not a kmem event in a known layout.

    Follows trace_print_context() (kernel/trace/trace_output.c) for the columns and
    TP_printk of include/trace/events/kmem.h for the body.
    """
    head = _HEAD_RE.match(line)
    if head is None:
        return None
    body_re = _BODY_RE.get(head.group(6))
    if body_re is None:
        return None
    body = body_re.match(line, head.end())
    if body is None:
        return None
    return Record(head, body, lineno)


# --------------------------------------------------------------------- parse report

@dataclass
class ParseReport:
    """What reading a trace found: lines, records, skipped events, malformed lines.

    ``malformed`` keeps the first ``max_malformed`` bad lines as ``(line number, text)``;
    ``malformed_count`` counts all of them. ``lost_events`` adds up the kernel's
    ``CPU:N [LOST M EVENTS]`` markers (ring buffer overruns: the trace has gaps).
    """

    source: str = ""
    lines_read: int = 0
    records: int = 0
    header_lines: int = 0
    records_by_event: dict[str, int] = field(default_factory=dict)
    skipped_by_event: dict[str, int] = field(default_factory=dict)
    malformed: list[tuple[int, str]] = field(default_factory=list)
    malformed_count: int = 0
    lost_events: int = 0
    max_malformed: int = 20
    complete: bool = False

    def _bad(self, lineno: int, text: str) -> None:
        self.malformed_count += 1
        if len(self.malformed) < self.max_malformed:
            text = text.rstrip("\r\n")
            if len(text) > 200:
                text = text[:200] + "..."
            self.malformed.append((lineno, text))

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (lost events: kernel/trace/trace.c LOST EVENTS)."""
        return {
            "source": self.source,
            "lines_read": self.lines_read,
            "records": self.records,
            "header_lines": self.header_lines,
            "records_by_event": dict(sorted(self.records_by_event.items())),
            "skipped_by_event": dict(sorted(self.skipped_by_event.items())),
            "malformed_count": self.malformed_count,
            "malformed": [{"line": n, "text": t} for n, t in self.malformed],
            "lost_events": self.lost_events,
        }

    def summary(self) -> str:
        """A few lines of text for a terminal or notebook."""
        out = [f"{self.source}: {self.lines_read:,} lines, {self.records:,} kmem records"]
        if self.skipped_by_event:
            other = ", ".join(f"{k} {v:,}" for k, v in sorted(self.skipped_by_event.items()))
            out.append(f"  other events skipped: {other}")
        if self.lost_events:
            out.append(f"  the kernel lost {self.lost_events:,} events (ring buffer full)")
        if self.malformed_count:
            out.append(f"  {self.malformed_count:,} malformed lines skipped:")
            out.extend(f"    line {n}: {t}" for n, t in self.malformed)
        return "\n".join(out)


# ---------------------------------------------------------------------------- input

def _describe_magic(head: bytes) -> str | None:
    """A message for well-known binary files that are not text traces."""
    if head.startswith(b"\x17\x08\x44tracing"):
        return ("is a trace-cmd binary file (trace.dat); convert it first: "
                "trace-cmd report -i FILE > trace.txt")
    if head.startswith(b"PERFILE2") or head.startswith(b"PERFFILE"):
        return "is a perf.data file; convert it first: perf script -i FILE > trace.txt"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "is xz-compressed; decompress it (xz -d) or compress with gzip instead"
    if head.startswith(b"BZh"):
        return "is bzip2-compressed; decompress it (bunzip2) or compress with gzip instead"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "is zstd-compressed; decompress it (zstd -d) or compress with gzip instead"
    return None


def _looks_binary(chunk: bytes) -> bool:
    if b"\x00" in chunk:
        return True
    if not chunk:
        return False
    ctrl = sum(chunk.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13, 27))
    return ctrl > len(chunk) // 20


def _in_notebook() -> bool:
    ipy = sys.modules.get("IPython")
    if ipy is None:
        return False
    try:
        shell = ipy.get_ipython()
    except Exception:  # noqa: BLE001 - any failure means "not a notebook"
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _make_progress(progress: bool | None, total: int | None, desc: str) -> Any:
    """A tqdm bar counting bytes, or None (tqdm missing, not wanted, not a terminal)."""
    if progress is False:
        return None
    notebook = _in_notebook()
    if progress is None:
        if total is None or total < (32 << 20):
            return None
        try:
            tty = sys.stderr.isatty()
        except (AttributeError, ValueError):
            tty = False
        if not (tty or notebook):
            return None
    try:
        if notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                leave=False, file=None if notebook else sys.stderr)


class _Source:
    """Opens a path or file object as a text stream; sniffs gzip and binary data."""

    def __init__(self, src: str | os.PathLike[str] | IO[Any]) -> None:
        self.owned: list[Any] = []
        self.size: int | None = None
        self.pos_file: Any = None  # the object whose tell() gives bytes consumed
        if isinstance(src, (str, os.PathLike)):
            self.name = os.fspath(src)
            try:
                raw: Any = open(self.name, "rb")  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise TraceFormatError(f"{self.name}: cannot open: {exc.strerror or exc}") \
                    from exc
            self.owned.append(raw)
            self.size = _file_size(raw)
        else:
            self.name = str(getattr(src, "name", "<stream>"))
            raw = src
            self.size = _file_size(src)
        if isinstance(raw, io.TextIOBase):
            self.text: Any = raw
            return
        if not hasattr(raw, "peek"):
            raw = io.BufferedReader(raw)  # type: ignore[arg-type]
        self.pos_file = raw
        try:
            head = raw.peek(64)[:64]
        except OSError as exc:
            self.close()
            raise TraceFormatError(f"{self.name}: cannot read: {exc}") from exc
        if head[:2] == b"\x1f\x8b":
            raw = gzip.GzipFile(fileobj=raw, mode="rb")
            self.owned.append(raw)
            try:
                chunk = raw.peek(_SNIFF)
            except (EOFError, OSError, zlib.error) as exc:
                self.close()
                raise TraceFormatError(
                    f"{self.name}: truncated or corrupt gzip data ({exc})") from exc
        else:
            chunk = raw.peek(_SNIFF)
        if not chunk:
            self.close()
            raise TraceFormatError(f"{self.name}: the file is empty (no trace lines)")
        msg = _describe_magic(chunk[:16])
        if msg is None and _looks_binary(chunk[:_SNIFF]):
            msg = ("contains binary data, not the text of /sys/kernel/tracing/trace "
                   "or of trace-cmd report")
        if msg is not None:
            self.close()
            raise TraceFormatError(f"{self.name}: {msg}")
        self.text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=None)
        self.owned.append(self.text)

    def tell(self) -> int:
        try:
            return int(self.pos_file.tell()) if self.pos_file is not None else 0
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        for obj in reversed(self.owned):
            try:
                if isinstance(obj, io.TextIOWrapper):
                    obj.detach()
                else:
                    obj.close()
            except (OSError, ValueError):
                pass
        self.owned.clear()


def _file_size(f: Any) -> int | None:
    try:
        st = os.fstat(f.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return st.st_size if st.st_size > 0 else None



class _Overlong(str):
    """The first 200 characters of a line of _MAX_LINE characters or more."""

    __slots__ = ()


_CHUNK = 1 << 20


class _ReadError(Exception):
    """A read of the decompressed stream failed (truncated or corrupt gzip)."""


def _read_blocks(src: _Source) -> Iterator[tuple[list[str], bool, bool]]:
    """The lines of ``src.text`` in blocks (one per 1 MiB chunk): ``(lines, terminated,
    clean)`` with the lines without their ``\n``; ``terminated`` is False only for a
    last line that has none, ``clean`` False when the block holds an _Overlong. A line
    of _MAX_LINE characters or more comes as an _Overlong of its first 200 characters
    and is skipped to its end without being kept (bounded memory)."""
    read = src.text.read
    tail = ""
    skipping = False
    while True:
        try:
            chunk = read(_CHUNK)
        except (EOFError, OSError, zlib.error) as exc:
            raise _ReadError(exc) from exc
        if not chunk:
            break
        if skipping:
            nl = chunk.find("\n")
            if nl < 0:
                continue
            chunk = chunk[nl + 1:]
            skipping = False
        elif tail:
            chunk = tail + chunk
        parts = chunk.split("\n")
        tail = parts.pop()
        if parts:
            if max(map(len, parts)) >= _MAX_LINE:
                parts = [p if len(p) < _MAX_LINE else _Overlong(p[:200]) for p in parts]
                yield parts, True, False
            else:
                yield parts, True, True
        if len(tail) >= _MAX_LINE:
            yield [_Overlong(tail[:200])], True, False
            tail = ""
            skipping = True
    if tail:
        if len(tail) >= _MAX_LINE:
            yield [_Overlong(tail[:200])], False, False
        else:
            yield [tail], False, True


# ------------------------------------------------------------------ the fast path
# Most lines of a real trace are in the canonical tracefs layout (trace_print_context:
# comm without spaces, no tgid column, single spaces around the event name). Those are
# matched by one regex per event from the timestamp on, after a context prefix
# ("   bash-100     [000] d..1.     ") that is checked once per distinct prefix; any
# other line takes the general path (_HEAD_RE, then the event's _BODY_RE). The fast
# grammar is the general one restricted (comm ``\S+``, spaces for ``\s``, a printable
# ASCII body), so a line it accepts gets the same task, pid, cpu and body fields from
# both (tests/trace/test_trace_fastpath.py checks it on the real traces and on hostile
# lines).
_CTX_RE = re.compile(r" *(\S+)-(\d+) +\[(\d+)\] +(?:[^\s\d]\S* +)?")


def _printable_ascii(pattern: str) -> str:
    """``pattern`` with each character class cut down to printable ASCII (' '..'~').

    On text made only of those characters both patterns test every character alike, so
    they match the same way with the same groups; a line with any other character
    (a tab, a non-ASCII comm...) is not matched and takes the general path. The cut
    classes are also the ones sre scans fastest (a range, not a Unicode category).
    """
    for general, ascii_only in ((r"[^()\s]", r"[!-'*-~]"), (r"\S", r"[!-~]"), (r"\s", " "),
                                (r"\d", "[0-9]"), (r".*?", r"[ -~]*?")):
        pattern = pattern.replace(general, ascii_only)
    return pattern


_FAST_RE: dict[str, re.Pattern[str]] = {
    ev: re.compile(r"[0-9]+\.[0-9]+: +" + ev + r": *" + _printable_ascii(src))
    for ev, src in _BODY_SOURCES.items()}
#: Field names of each event's body, in the order of :meth:`Record.body_fields`.
BODY_FIELDS: dict[str, tuple[str, ...]] = {
    ev: tuple(sorted(rx.groupindex, key=rx.groupindex.__getitem__))
    for ev, rx in _BODY_RE.items()}
_MAX_CONTEXTS = 4096


def scan_records(
    source: str | os.PathLike[str] | IO[Any],
    report: ParseReport | None = None,
    *,
    events: Iterable[str] | None = None,
    progress: bool | None = None,
    max_malformed: int = 20,
    records: bool = False,
) -> Iterator[Any]:
    """The kmem records of a trace as plain tuples, for consumers of whole traces
    (replay, statistics): ``(event, lineno, line, context, fields)`` with ``context``
    the printed ``(task, pid, cpu)`` and ``fields`` the printed body fields in the order
    of ``BODY_FIELDS[event]`` (None when absent); ``line`` is the line without its end
    of line (``parse_line(line + "\\n", lineno)`` gives its Record when one is wanted).

    Reads, counts and fails exactly like iter_records() (the same report and errors);
    ``records=True`` yields Records instead (iter_records() itself). Layout: as for
    iter_records() (kernel/trace/trace_output.c: trace_print_context).
    """
    rep = report if report is not None else ParseReport()
    rep.max_malformed = max_malformed
    src = _Source(source)
    rep.source = src.name
    wanted = KMEM_EVENTS if events is None else frozenset(events) & KMEM_EVENTS
    filtering = wanted != KMEM_EVENTS
    fast = {} if records else {ev: rx.match for ev, rx in _FAST_RE.items() if ev in wanted}
    bar = _make_progress(progress, src.size, os.path.basename(src.name))
    head_match = _HEAD_RE.match
    ctx_match = _CTX_RE.fullmatch
    body_res = _BODY_RE
    skipped = rep.skipped_by_event
    by_event = rep.records_by_event
    contexts: dict[str, Any] = {}   # printed prefix -> (task, pid, cpu), or False
    lineno = 0
    other = 0
    before = sum(by_event.values())  # a report may be given again: count this read only
    last_pos = 0
    try:
        for block, terminated, clean in _read_blocks(src):
            if bar is not None:
                pos = src.tell()
                bar.update(pos - last_pos)
                last_pos = pos
            quick = fast if clean else None
            first = lineno + 1
            for lineno, line in enumerate(block, first):
                if quick:
                    j = line.find(": ")
                    if j > 0:
                        k = line.rfind(" ", 0, j) + 1
                        prefix = line[:k]
                        ctx = contexts.get(prefix)
                        if ctx is None:
                            if len(contexts) >= _MAX_CONTEXTS:
                                contexts.clear()
                            m = ctx_match(prefix)
                            ctx = contexts[prefix] = False if m is None else m.group(1, 2, 3)
                        if ctx:
                            e = line.find(":", j + 2)
                            ev = line[j + 2:e]
                            rx = quick.get(ev)
                            if rx is not None:
                                m = rx(line, k)
                                if m is not None:
                                    by_event[ev] = by_event.get(ev, 0) + 1
                                    yield ev, lineno, line, ctx, m.groups()
                                    continue
                # the general path: what iter_records has always done with the line
                if line.__class__ is _Overlong:
                    rep._bad(lineno, line[:200])
                    continue
                text = line + "\n" if terminated else line
                head = head_match(text)
                if head is None:
                    first = text.lstrip()[:1]
                    if first == "#" or first == "":
                        rep.header_lines += 1
                        continue
                    info = _INFO_RE.match(text)
                    if info is not None:
                        rep.header_lines += 1
                        if info.group("lost"):
                            rep.lost_events += int(info.group("lost"))
                        continue
                    rep._bad(lineno, text)
                    continue
                ev = head[6]
                body_re = body_res.get(ev)
                if body_re is None or (filtering and ev not in wanted):
                    skipped[ev] = skipped.get(ev, 0) + 1
                    other += 1
                    continue
                body = body_re.match(text, head.end())
                if body is None:
                    rep._bad(lineno, text)
                    continue
                by_event[ev] = by_event.get(ev, 0) + 1
                if records:
                    yield Record(head, body, lineno)
                else:
                    yield ev, lineno, line, head.group(1, 2, 3), body.groups()
        rep.lines_read = lineno
        rep.records = nrec = sum(by_event.values()) - before  # each record once, by event
        if nrec == 0 and other == 0 and rep.header_lines == 0 and rep.malformed_count:
            n, text = rep.malformed[0]
            raise TraceFormatError(
                f"{src.name}: no ftrace event lines found (line {n}: {text[:80]!r}); "
                "expected the text of /sys/kernel/tracing/trace or of trace-cmd report")
        rep.complete = True
    except _ReadError as exc:
        cause = exc.__cause__
        raise TraceFormatError(
            f"{src.name}: truncated or corrupt gzip data after line {lineno} "
            f"({cause})") from cause
    finally:
        rep.lines_read = lineno
        rep.records = sum(by_event.values()) - before
        if bar is not None:
            bar.update(max(0, (src.size or 0) - last_pos))
            bar.close()
        src.close()


def iter_records(
    source: str | os.PathLike[str] | IO[Any],
    report: ParseReport | None = None,
    *,
    events: Iterable[str] | None = None,
    progress: bool | None = None,
    max_malformed: int = 20,
) -> Iterator[Record]:
    """Yield the kmem event records of a trace, reading it line by line.

    ``source`` is a path or an open file (binary or text; gzip is detected from its
    magic bytes). Memory stays bounded whatever the file size: one line at a time,
    lines longer than 64 KiB are counted as malformed and read in pieces. Other
    events are skipped and counted in ``report.skipped_by_event``; malformed lines are
    skipped and the first ``max_malformed`` kept in ``report.malformed``. The
    report's line and record counts are final once the iteration has ended.

    Raises TraceFormatError for an empty file, binary data, a truncated or corrupt
    gzip stream, or a file without a single ftrace line. The line layout is the one
    written by trace_print_context() in kernel/trace/trace_output.c (3.x and 6.x)
    and by ``trace-cmd report``.

    ``progress``: a tqdm bar (bytes of the file): None = only for files of 32 MiB or
    more when stderr is a terminal or inside Jupyter; True/False force it.
    """
    return scan_records(source, report, events=events, progress=progress,
                        max_malformed=max_malformed, records=True)


def read_records(source: str | os.PathLike[str] | IO[Any],
                 **kwargs: Any) -> tuple[list[Record], ParseReport]:
    """Read a whole (small) trace into a list; see iter_records() for the options.

    Same line layout as iter_records() (kernel/trace/trace_output.c:
    trace_print_context); not for multi-gigabyte files, which iter_records() streams.
    """
    rep = ParseReport()
    records = list(iter_records(source, rep, **kwargs))
    return records, rep


# ------------------------------------------------------------------- format_record

def _layout(name: str) -> str | None:
    """"classic" (3.15) or "symbolic" (6.x): the layout of a version (its profile's
    ``trace_layout``), an alias ("3.x", "6.x") or a layout name."""
    if name in ("classic", "symbolic"):
        return name
    from .profiles import trace_layout
    return trace_layout(name)


def _fmt_ptr(value: int | None, layout: str) -> str:
    # lib/vsprintf.c: plain %p is 2*sizeof(void *) zero-padded hex; NULL prints
    # "(null)" right-aligned to that width in 3.15, all zeros in 6.x.
    if not value:
        return "          (null)" if layout == "classic" else "0000000000000000"
    return f"{value:016x}"


def _fmt_call_site(rec: Record, layout: str) -> str:
    cs = rec.call_site or "0"
    addr = rec.call_site_addr
    if addr is None:  # a symbol: it cannot be turned back into an address
        return cs
    return f"{addr:x}" if layout == "classic" else f"0x{addr:x}"


def format_record(record: Record, layout: str = "symbolic") -> str:
    """Write a record back as a tracefs line of kernel ``layout``: a version ("6.12",
    "3.15", any profile's), "3.x"/"6.x", or "symbolic"/"classic" (the layouts).

    Columns follow trace_print_context() (kernel/trace/trace_output.c): 3.15
    ``"%16s-%-5d [%03d] "``, 6.x ``"%16s-%-7d [%03d] "``, then the irq-info flags
    (4 characters in 3.15, 5 in 6.x), then ``" %5lu.%06lu: "``. Bodies follow
    TP_printk of include/trace/events/kmem.h of that version; 6.x has no
    ``*_node`` events (their records print as ``kmalloc``/``kmem_cache_alloc``), a
    3.15 ``kmalloc`` with a node >= 0 prints as ``kmalloc_node``. GFP names are
    written as printed (not translated between versions); a symbolic call site
    stays symbolic in a 3.15 line.
    """
    lay = _layout(layout)
    if lay is None:
        from .profiles import versions
        raise ValueError(f"unknown layout {layout!r}: use a kernel version "
                         f"({', '.join(versions())}), '3.x'/'6.x', 'classic' or 'symbolic'")
    ev = record.event
    flags = record.irq_flags
    if flags is not None:
        flags = flags[:4] if lay == "classic" else (flags + ".")[:5] if len(flags) < 5 else flags
    us = record.timestamp_us
    node = record.node
    if lay == "symbolic":
        ev = {"kmalloc_node": "kmalloc", "kmem_cache_alloc_node": "kmem_cache_alloc"}.get(ev, ev)
    elif ev in ("kmalloc", "kmem_cache_alloc") and node is not None and node >= 0:
        ev += "_node"
    pid_w = 5 if lay == "classic" else 7
    head = (f"{record.task:>16}-{record.pid:<{pid_w}} [{record.cpu:03d}] {flags or ''}"
            f" {us // 1_000_000:5d}.{us % 1_000_000:06d}: {ev}: ")
    d = record.fields
    if ev in SLAB_ALLOC_EVENTS:
        body = (f"call_site={_fmt_call_site(record, lay)} ptr={_fmt_ptr(record.ptr, lay)}"
                f" bytes_req={record.bytes_req} bytes_alloc={record.bytes_alloc}"
                f" gfp_flags={record.gfp_flags}")
        if lay == "symbolic":
            acc = record.accounted
            if acc is None:
                names = record.gfp.names if record.gfp else ()
                acc = "__GFP_ACCOUNT" in names or "GFP_KERNEL_ACCOUNT" in names
            body += f" node={-1 if node is None else node} accounted={'true' if acc else 'false'}"
        elif ev.endswith("_node"):
            body += f" node={node}"
    elif ev in SLAB_FREE_EVENTS:
        body = f"call_site={_fmt_call_site(record, lay)} ptr={_fmt_ptr(record.ptr, lay)}"
        if lay == "symbolic" and ev == "kmem_cache_free":
            body += f" name={record.name or 'unknown'}"
    else:
        pfn = record.pfn or 0
        body = (f"page={_fmt_ptr(record.page, lay)} "
                f"pfn={pfn if lay == 'classic' else f'0x{pfn:x}'} ")
        if ev == "mm_page_alloc":
            body += (f"order={record.order} migratetype={record.migratetype}"
                     f" gfp_flags={record.gfp_flags}")
        elif ev == "mm_page_free":
            body += f"order={record.order}"
        elif ev == "mm_page_free_batched":
            body += "order=0" + (f" cold={d.get('cold', '0')}" if lay == "classic" else "")
        elif ev == "mm_page_alloc_zone_locked":
            body += (f"order={record.order} migratetype={record.migratetype}"
                     f" percpu_refill={d['percpu_refill']}")
        elif ev == "mm_page_pcpu_drain":
            body += f"order={record.order} migratetype={record.migratetype}"
        else:  # mm_page_alloc_extfrag
            body += " ".join(f"{k}={d[k]}" for k in (
                "alloc_order", "fallback_order", "pageblock_order", "alloc_migratetype",
                "fallback_migratetype", "fragmenting", "change_ownership"))
    return head + body


# ----------------------------------------------------------------------- statistics

# include/linux/mmzone.h: enum migratetype (CMA and ISOLATE exist only when configured;
# the names are those of /proc/pagetypeinfo, mm/page_alloc.c: migratetype_names).
MIGRATETYPE_NAMES = {
    "3.x": ("Unmovable", "Reclaimable", "Movable", "Reserve", "CMA", "Isolate"),
    "6.x": ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate"),
}
# Eight-column labels for the page tables, after builtin-kmem.c: migrate_type_str.
MIGRATETYPE_SHORT = {
    "3.x": ("UNMOVABL", "RECLAIM", "MOVABLE", "RESERVED", "CMA/ISLT", "CMA/ISLT"),
    "6.x": ("UNMOVABL", "MOVABLE", "RECLAIM", "HIGHATOM", "CMA/ISLT", "CMA/ISLT"),
}
SLAB_SORT_KEYS = ("ptr", "callsite", "hit", "bytes", "frag", "pingpong")
PAGE_SORT_KEYS = ("page", "callsite", "hit", "bytes", "order", "migtype", "gfp")
_DOTS = "-" * 105


def fragmentation(n_req: int, n_alloc: int) -> float:
    """Internal fragmentation in percent (tools/perf/builtin-kmem.c: fragmentation)."""
    return 0.0 if n_alloc == 0 else 100.0 - (100.0 * n_req / n_alloc)


class _SlabSite:
    """One row of perf's alloc_stat (builtin-kmem.c: struct alloc_stat)."""

    __slots__ = ("key", "call_site", "hit", "bytes_req", "bytes_alloc", "pingpong",
                 "live", "live_bytes")

    def __init__(self, key: Any, call_site: str) -> None:
        self.key = key
        self.call_site = call_site
        self.hit = 0
        self.bytes_req = 0
        self.bytes_alloc = 0
        self.pingpong = 0
        self.live = 0
        self.live_bytes = 0

    def to_dict(self, what: str) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if what == "ptr":
            d["ptr"] = f"0x{self.key:x}"
        d.update({
            "callsite": self.call_site,
            "total_alloc": self.bytes_alloc,
            "per_alloc": self.bytes_alloc // self.hit if self.hit else 0,
            "total_req": self.bytes_req,
            "per_req": self.bytes_req // self.hit if self.hit else 0,
            "hits": self.hit,
            "pingpong": self.pingpong,
            "frag_pct": round(fragmentation(self.bytes_req, self.bytes_alloc), 3),
            "live": self.live,
            "live_bytes": self.live_bytes,
        })
        return d


def _slab_sort_key(name: str) -> Callable[[_SlabSite], Any]:
    # builtin-kmem.c: ptr_cmp, slab_callsite_cmp, hit_cmp, bytes_cmp, frag_cmp, pingpong_cmp
    return {
        "ptr": lambda s: s.key if isinstance(s.key, int) else 0,
        "callsite": lambda s: s.call_site,
        "hit": lambda s: s.hit,
        "bytes": lambda s: s.bytes_alloc,
        "frag": lambda s: fragmentation(s.bytes_req, s.bytes_alloc),
        "pingpong": lambda s: s.pingpong,
    }[name]


class _PageRow:
    """A row of perf's page_stat (builtin-kmem.c: struct page_stat)."""

    __slots__ = ("pfn", "order", "migratetype", "gfp", "nr_alloc", "alloc_bytes",
                 "nr_free", "free_bytes")

    def __init__(self, pfn: int | None, order: int, migratetype: int, gfp: str) -> None:
        self.pfn = pfn
        self.order = order
        self.migratetype = migratetype
        self.gfp = gfp
        self.nr_alloc = 0
        self.alloc_bytes = 0
        self.nr_free = 0
        self.free_bytes = 0


def _page_sort_key(name: str) -> Callable[[_PageRow], Any]:
    # builtin-kmem.c: page_cmp, page_callsite_cmp, page_hit_cmp, page_bytes_cmp,
    # page_order_cmp, migrate_type_cmp, gfp_flags_cmp
    return {
        "page": lambda r: r.pfn or 0,
        "callsite": lambda r: 0,  # tracefs has no call chains for page events
        "hit": lambda r: r.nr_alloc,
        "bytes": lambda r: r.alloc_bytes,
        "order": lambda r: r.order,
        "migtype": lambda r: r.migratetype,
        "gfp": lambda r: r.gfp,
    }[name]


def parse_sort_keys(text: str | None, allowed: tuple[str, ...],
                    default: str) -> list[str]:
    """Split ``--sort`` keys (builtin-kmem.c: setup_slab_sorting/setup_page_sorting)."""
    keys = [k.strip() for k in (text or default).split(",") if k.strip()]
    bad = [k for k in keys if k not in allowed]
    if bad:
        raise ValueError(f"unknown sort key {bad[0]!r}: use {', '.join(allowed)}")
    return keys


def _group(n: int) -> str:
    return f"{n:,}"


class TraceStats:
    """Slab and page allocator statistics of a trace, like ``perf kmem stat``.

    Follows tools/perf/builtin-kmem.c: perf_evsel__process_alloc_event (per call
    site and per pointer: hits, requested/allocated bytes), _process_free_event
    (ping-pong = freed on another CPU than the one that allocated), and
    _process_page_alloc_event / _process_page_free_event (pages keyed by pfn,
    order x migrate type counts, failures = NULL page). Differences, all explicit:
    failed slab allocations (ptr NULL) are counted apart instead of in the byte totals;
    frees of pointers not allocated during the trace are counted as
    ``free_unknown`` (allocated before the trace began, or their event was lost) and
    never as ping-pong; ``mm_page_free_batched`` is counted on its own because the
    kernel also emits ``mm_page_free`` for those pages (free_pages_prepare), as perf
    does. What was allocated during the trace and not freed by its end is "live".
    """

    def __init__(self, page_size: int = 4096, per_pointer: bool = True) -> None:
        self.page_size = page_size
        self.per_pointer = per_pointer
        self.layout: str | None = None
        self.parse_report: ParseReport | None = None
        # slab (builtin-kmem.c: total_requested, total_allocated, total_freed, nr_allocs)
        self.slab_alloc_calls = 0
        self.slab_free_calls = 0
        self.slab_alloc_failures = 0
        self.bytes_req = 0
        self.bytes_alloc = 0
        self.bytes_freed = 0
        self.pingpong = 0
        self.free_unknown = 0
        self.free_null = 0
        self.alloc_of_live_ptr = 0
        self.sites: dict[str, _SlabSite] = {}
        self.ptrs: dict[int, _SlabSite] = {}
        self._live: dict[int, tuple[int, int, str, int]] = {}  # ptr -> cpu, alloc, site, req
        self.slab_by_gfp: dict[str, list[int]] = {}  # gfp -> [calls, bytes_alloc]
        self.slab_by_event: dict[str, int] = {}
        self.cache_frees: dict[str, int] = {}
        # page (builtin-kmem.c: nr_page_allocs, nr_page_frees, nr_page_fails, nr_page_nomatch)
        self.page_alloc_calls = 0
        self.page_alloc_bytes = 0
        self.page_free_calls = 0
        self.page_free_bytes = 0
        self.page_fails = 0
        self.page_fail_bytes = 0
        self.page_nomatch = 0
        self.page_nomatch_bytes = 0
        self.page_free_batched = 0
        self.page_realloc_live = 0
        self.order_stats: dict[tuple[int, int], int] = {}  # (order, migratetype) -> allocs
        self._live_pages: dict[int, tuple[int, int, str]] = {}  # pfn -> order, mt, gfp
        self.page_groups: dict[tuple[int, int, str], _PageRow] = {}
        self.page_rows: dict[tuple[int, int, int, str], _PageRow] = {}
        self.zone_locked = 0
        self.zone_locked_pages = 0
        self.pcpu_drain = 0
        self.pcpu_drain_pages = 0
        self.extfrag = 0
        self.extfrag_fragmenting = 0
        self.extfrag_change_ownership = 0
        self.extfrag_by_types: dict[tuple[int, int], int] = {}
        # event -> handler(event, printed cpu, printed body fields in BODY_FIELDS order)
        self._handlers: dict[str, Callable[[str, str, tuple[Any, ...]], None]] = {
            "kmalloc": self._slab_alloc, "kmalloc_node": self._slab_alloc,
            "kmem_cache_alloc": self._slab_alloc, "kmem_cache_alloc_node": self._slab_alloc,
            "kfree": self._slab_free, "kmem_cache_free": self._slab_free,
            "mm_page_alloc": self._page_alloc, "mm_page_free": self._page_free,
            "mm_page_free_batched": self._page_free_batched,
            "mm_page_alloc_zone_locked": self._zone_locked,
            "mm_page_pcpu_drain": self._pcpu_drain,
            "mm_page_alloc_extfrag": self._extfrag,
        }

    # -------------------------------------------------------------- feeding
    def add(self, rec: Record) -> None:
        """Account one record (builtin-kmem.c: process_sample_event dispatch)."""
        if self.layout is None:
            self.layout = rec.layout
        ev = rec.event
        self._handlers[ev](ev, rec.context[2], rec.body_fields())

    def feed(self, records: Iterable[Record]) -> TraceStats:
        """Account every record of an iterable; returns self."""
        add = self.add
        for rec in records:
            add(rec)
        return self

    def feed_fields(self, items: Iterable[tuple[Any, ...]]) -> TraceStats:
        """Account the tuples of scan_records() (what add() does with Records); returns
        self. For whole traces: no Record is built, and the four events that make
        nearly all of a trace are accounted inline (the handlers' code, with the totals
        kept in locals); tests/trace/test_trace_fastpath.py checks both give the same."""
        handlers = self._handlers
        it = iter(items)
        for ev, _lineno, _line, ctx, g in it:
            if self.layout is None:
                self.layout = _layout_of(dict(zip(BODY_FIELDS[ev], g)))
            handlers[ev](ev, ctx[2], g)
            if self.layout is not None:
                break
        alloc_ev = SLAB_ALLOC_EVENTS
        sites, ptrs, live, by_gfp = self.sites, self.ptrs, self._live, self.slab_by_gfp
        by_event, cache_frees = self.slab_by_event, self.cache_frees
        live_pages, order_stats = self._live_pages, self.order_stats
        page_groups, page_rows = self.page_groups, self.page_rows
        per_pointer, page_size = self.per_pointer, self.page_size
        n_alloc = n_req = n_bytes = n_free = n_freed = n_pingpong = n_unknown = n_null = 0
        n_relive = 0
        p_alloc = p_alloc_bytes = p_free = p_free_bytes = p_nomatch = p_nomatch_bytes = 0
        p_realloc = 0
        try:
            for ev, _lineno, _line, ctx, g in it:
                if ev in alloc_ev:
                    # _slab_alloc: sym, call_site, ptr, name, bytes_req, bytes_alloc,
                    # gfp_flags, node, accounted
                    by_event[ev] = by_event.get(ev, 0) + 1
                    p = g[2]
                    ptr = 0 if p[-1] == ")" else int(p, 16)
                    if ptr == 0:
                        self.slab_alloc_failures += 1
                        continue
                    req = int(g[4])
                    alloc = int(g[5])
                    cs = g[1]
                    n_alloc += 1
                    n_req += req
                    n_bytes += alloc
                    site = sites.get(cs)
                    if site is None:
                        site = sites[cs] = _SlabSite(cs, cs)
                    site.hit += 1
                    site.bytes_req += req
                    site.bytes_alloc += alloc
                    site.live += 1
                    site.live_bytes += alloc
                    if per_pointer:
                        ps = ptrs.get(ptr)
                        if ps is None:
                            ps = ptrs[ptr] = _SlabSite(ptr, cs)
                        ps.call_site = cs
                        ps.hit += 1
                        ps.bytes_req += req
                        ps.bytes_alloc += alloc
                        ps.live = 1
                        ps.live_bytes = alloc
                    old = live.get(ptr)
                    if old is not None:
                        n_relive += 1
                        osite = sites.get(old[2])
                        if osite is not None:
                            osite.live -= 1
                            osite.live_bytes -= old[1]
                    live[ptr] = (int(ctx[2]), alloc, cs, req)
                    gs = by_gfp.get(g[6])
                    if gs is None:
                        gs = by_gfp[g[6]] = [0, 0]
                    gs[0] += 1
                    gs[1] += alloc
                elif ev == "kfree" or ev == "kmem_cache_free":
                    # _slab_free: sym, call_site, ptr, name
                    by_event[ev] = by_event.get(ev, 0) + 1
                    n_free += 1
                    name = g[3]
                    if name is not None:
                        name = name.strip()
                        cache_frees[name] = cache_frees.get(name, 0) + 1
                    p = g[2]
                    ptr = 0 if p[-1] == ")" else int(p, 16)
                    if ptr <= 16:
                        n_null += 1
                        continue
                    was = live.pop(ptr, None)
                    if was is None:
                        n_unknown += 1
                        continue
                    alloc_cpu, alloc, cs, _req = was
                    n_freed += alloc
                    site = sites[cs]
                    site.live -= 1
                    site.live_bytes -= alloc
                    ps = ptrs.get(ptr) if per_pointer else None
                    if ps is not None:
                        ps.live = 0
                        ps.live_bytes = 0
                    if int(ctx[2]) != alloc_cpu:
                        n_pingpong += 1
                        site.pingpong += 1
                        if ps is not None:
                            ps.pingpong += 1
                elif ev == "mm_page_alloc":
                    # _page_alloc: page, pfn, order, migratetype, gfp_flags
                    order = int(g[2])
                    nbytes = page_size << order
                    p_alloc += 1
                    p_alloc_bytes += nbytes
                    p = g[0]
                    if p[-1] == ")" or not int(p, 16):
                        self.page_fails += 1
                        self.page_fail_bytes += nbytes
                        continue
                    p = g[1]
                    pfn = int(p, 16) if p[:2] == "0x" else int(p)
                    mt = int(g[3])
                    gfp = g[4]
                    if pfn in live_pages:
                        p_realloc += 1
                    key = (order, mt, gfp)
                    live_pages[pfn] = key
                    okey = (order, mt)
                    order_stats[okey] = order_stats.get(okey, 0) + 1
                    row = page_groups.get(key)
                    if row is None:
                        row = page_groups[key] = _PageRow(None, order, mt, gfp)
                    row.nr_alloc += 1
                    row.alloc_bytes += nbytes
                    if per_pointer:
                        pkey = (pfn, order, mt, gfp)
                        prow = page_rows.get(pkey)
                        if prow is None:
                            prow = page_rows[pkey] = _PageRow(pfn, order, mt, gfp)
                        prow.nr_alloc += 1
                        prow.alloc_bytes += nbytes
                elif ev == "mm_page_free":
                    # _page_free: page, pfn, order
                    nbytes = page_size << int(g[2])
                    p_free += 1
                    p_free_bytes += nbytes
                    p = g[1]
                    pfn = int(p, 16) if p[:2] == "0x" else int(p)
                    was = live_pages.pop(pfn, None)
                    if was is None:
                        p_nomatch += 1
                        p_nomatch_bytes += nbytes
                        continue
                    row = page_groups.get(was)
                    if row is not None:
                        row.nr_free += 1
                        row.free_bytes += nbytes
                    if per_pointer:
                        prow = page_rows.get((pfn, *was))
                        if prow is not None:
                            prow.nr_free += 1
                            prow.free_bytes += nbytes
                else:
                    handlers[ev](ev, ctx[2], g)
        finally:
            self.slab_alloc_calls += n_alloc
            self.bytes_req += n_req
            self.bytes_alloc += n_bytes
            self.slab_free_calls += n_free
            self.bytes_freed += n_freed
            self.pingpong += n_pingpong
            self.free_unknown += n_unknown
            self.free_null += n_null
            self.alloc_of_live_ptr += n_relive
            self.page_alloc_calls += p_alloc
            self.page_alloc_bytes += p_alloc_bytes
            self.page_free_calls += p_free
            self.page_free_bytes += p_free_bytes
            self.page_nomatch += p_nomatch
            self.page_nomatch_bytes += p_nomatch_bytes
            self.page_realloc_live += p_realloc
        return self

    # The handlers read the printed fields g (BODY_FIELDS order). A %p field holds hex,
    # "0x"-hex or "(null)"/"(nil)" (_ptr); int() takes hex with or without "0x".
    def _slab_alloc(self, ev: str, cpu: str, g: tuple[Any, ...]) -> None:
        # builtin-kmem.c: perf_evsel__process_alloc_event, insert_alloc_stat,
        # insert_caller_stat. g: sym, call_site, ptr, name, bytes_req, bytes_alloc,
        # gfp_flags, node, accounted
        by_event = self.slab_by_event
        by_event[ev] = by_event.get(ev, 0) + 1
        p = g[2]
        ptr = 0 if p[-1] == ")" else int(p, 16)
        if ptr == 0:
            self.slab_alloc_failures += 1
            return
        req = int(g[4])
        alloc = int(g[5])
        cs = g[1]
        self.slab_alloc_calls += 1
        self.bytes_req += req
        self.bytes_alloc += alloc
        site = self.sites.get(cs)
        if site is None:
            site = self.sites[cs] = _SlabSite(cs, cs)
        site.hit += 1
        site.bytes_req += req
        site.bytes_alloc += alloc
        site.live += 1
        site.live_bytes += alloc
        if self.per_pointer:
            ps = self.ptrs.get(ptr)
            if ps is None:
                ps = self.ptrs[ptr] = _SlabSite(ptr, cs)
            ps.call_site = cs
            ps.hit += 1
            ps.bytes_req += req
            ps.bytes_alloc += alloc
            ps.live = 1
            ps.live_bytes = alloc
        live = self._live
        old = live.get(ptr)
        if old is not None:  # its free event is missing: count it once, keep going
            self.alloc_of_live_ptr += 1
            osite = self.sites.get(old[2])
            if osite is not None:
                osite.live -= 1
                osite.live_bytes -= old[1]
        live[ptr] = (int(cpu), alloc, cs, req)
        gfp = g[6]
        gs = self.slab_by_gfp.get(gfp)
        if gs is None:
            gs = self.slab_by_gfp[gfp] = [0, 0]
        gs[0] += 1
        gs[1] += alloc

    def _slab_free(self, ev: str, cpu: str, g: tuple[Any, ...]) -> None:
        # builtin-kmem.c: perf_evsel__process_free_event. g: sym, call_site, ptr, name
        by_event = self.slab_by_event
        by_event[ev] = by_event.get(ev, 0) + 1
        self.slab_free_calls += 1
        name = g[3]
        if name is not None:
            name = name.strip()
            self.cache_frees[name] = self.cache_frees.get(name, 0) + 1
        p = g[2]
        ptr = 0 if p[-1] == ")" else int(p, 16)
        if ptr <= 16:  # include/linux/slab.h: ZERO_OR_NULL_PTR, kfree(NULL) is legal
            self.free_null += 1
            return
        live = self._live.pop(ptr, None)
        if live is None:
            self.free_unknown += 1
            return
        alloc_cpu, alloc, cs, _req = live
        self.bytes_freed += alloc
        site = self.sites[cs]
        site.live -= 1
        site.live_bytes -= alloc
        ps = self.ptrs.get(ptr) if self.per_pointer else None
        if ps is not None:
            ps.live = 0
            ps.live_bytes = 0
        if int(cpu) != alloc_cpu:
            self.pingpong += 1
            site.pingpong += 1
            if ps is not None:
                ps.pingpong += 1

    def _page_alloc(self, ev: str, cpu: str, g: tuple[Any, ...]) -> None:
        # builtin-kmem.c: perf_evsel__process_page_alloc_event (use_pfn)
        # g: page, pfn, order, migratetype, gfp_flags
        order = int(g[2])
        nbytes = self.page_size << order
        self.page_alloc_calls += 1
        self.page_alloc_bytes += nbytes
        p = g[0]
        if p[-1] == ")" or not int(p, 16):
            self.page_fails += 1
            self.page_fail_bytes += nbytes
            return
        pfn = _pfn(g[1]) or 0
        mt = int(g[3])
        gfp = g[4]
        if pfn in self._live_pages:
            self.page_realloc_live += 1
        self._live_pages[pfn] = (order, mt, gfp)
        self.order_stats[(order, mt)] = self.order_stats.get((order, mt), 0) + 1
        key = (order, mt, gfp)
        row = self.page_groups.get(key)
        if row is None:
            row = self.page_groups[key] = _PageRow(None, order, mt, gfp)
        row.nr_alloc += 1
        row.alloc_bytes += nbytes
        if self.per_pointer:
            pkey = (pfn, order, mt, gfp)
            prow = self.page_rows.get(pkey)
            if prow is None:
                prow = self.page_rows[pkey] = _PageRow(pfn, order, mt, gfp)
            prow.nr_alloc += 1
            prow.alloc_bytes += nbytes

    def _page_free(self, ev: str, cpu: str, g: tuple[Any, ...]) -> None:
        # builtin-kmem.c: perf_evsel__process_page_free_event. g: page, pfn, order
        order = int(g[2])
        nbytes = self.page_size << order
        self.page_free_calls += 1
        self.page_free_bytes += nbytes
        pfn = _pfn(g[1]) or 0
        live = self._live_pages.pop(pfn, None)
        if live is None:
            self.page_nomatch += 1
            self.page_nomatch_bytes += nbytes
            return
        row = self.page_groups.get(live)
        if row is not None:
            row.nr_free += 1
            row.free_bytes += nbytes
        if self.per_pointer:
            prow = self.page_rows.get((pfn, *live))
            if prow is not None:
                prow.nr_free += 1
                prow.free_bytes += nbytes

    def _page_free_batched(self, ev: str, cpu: str, g: tuple[Any, ...]) -> None:
        self.page_free_batched += 1

    def _zone_locked(self, ev: str, cpu: str, g: tuple[Any, ...]) -> None:
        # g: page, pfn, order, migratetype, percpu_refill
        self.zone_locked += 1
        self.zone_locked_pages += 1 << (int(g[2]) or 0)

    def _pcpu_drain(self, ev: str, cpu: str, g: tuple[Any, ...]) -> None:
        # g: page, pfn, order, migratetype
        self.pcpu_drain += 1
        self.pcpu_drain_pages += 1 << (int(g[2]) or 0)

    def _extfrag(self, ev: str, cpu: str, g: tuple[Any, ...]) -> None:
        # g: page, pfn, alloc_order, fallback_order, pageblock_order, alloc_migratetype,
        # fallback_migratetype, fragmenting, change_ownership
        self.extfrag += 1
        self.extfrag_fragmenting += g[7] != "0"
        self.extfrag_change_ownership += g[8] != "0"
        key = (int(g[5]), int(g[6]))
        self.extfrag_by_types[key] = self.extfrag_by_types.get(key, 0) + 1

    # -------------------------------------------------------------- results
    def migratetype_name(self, mt: int) -> str:
        """Name of migrate type ``mt`` (include/linux/mmzone.h: enum migratetype, 3.x or 6.x)."""
        names = MIGRATETYPE_NAMES[self.layout or "6.x"]
        return names[mt] if 0 <= mt < len(names) else str(mt)

    def _mt_short(self, mt: int) -> str:
        names = MIGRATETYPE_SHORT[self.layout or "6.x"]
        return names[mt] if 0 <= mt < len(names) else "UNKNOWN"

    @property
    def live_objects(self) -> int:
        """Slab objects allocated during the trace and not freed by its end."""
        return len(self._live)

    @property
    def live_bytes(self) -> int:
        """Bytes (bytes_alloc) of the live slab objects."""
        return sum(v[1] for v in self._live.values())

    @property
    def live_pages(self) -> int:
        """Pages (counting 2^order each) allocated during the trace and not freed."""
        return sum(1 << v[0] for v in self._live_pages.values())

    def sorted_sites(self, sort: str | None = None) -> list[_SlabSite]:
        """Call-site rows sorted like perf (keys descending; default frag,hit,bytes)."""
        return self._sorted(self.sites, sort)

    def sorted_ptrs(self, sort: str | None = None) -> list[_SlabSite]:
        """Per-pointer rows sorted like perf."""
        return self._sorted(self.ptrs, sort)

    @staticmethod
    def _sorted(table: dict[Any, _SlabSite], sort: str | None) -> list[_SlabSite]:
        # builtin-kmem.c: sort_slab_insert puts larger keys first; equal rows keep the
        # order of the source tree (ascending ptr / call site).
        keys = [_slab_sort_key(k) for k in parse_sort_keys(sort, SLAB_SORT_KEYS,
                                                           "frag,hit,bytes")]
        rows = [table[k] for k in sorted(table)]
        return sorted(rows, key=lambda s: tuple(f(s) for f in keys), reverse=True)

    def sorted_page_rows(self, sort: str | None = None, per_pfn: bool = False) -> list[_PageRow]:
        """Page rows (by pfn or by order/migratetype/gfp), perf order (default bytes,hit)."""
        keys = [_page_sort_key(k) for k in parse_sort_keys(sort, PAGE_SORT_KEYS, "bytes,hit")]
        table: dict[Any, _PageRow] = self.page_rows if per_pfn else self.page_groups  # type: ignore[assignment]
        rows = [table[k] for k in sorted(table)]
        return sorted(rows, key=lambda r: tuple(f(r) for f in keys), reverse=True)

    def to_dict(self, sort: str | None = None, lines: int | None = None,
                slab_sort: str | None = None, page_sort: str | None = None) -> dict[str, Any]:
        """All statistics as JSON-ready data (keys documented in the README)."""
        n = None if lines is None or lines < 0 else lines
        ssort = slab_sort if slab_sort is not None else sort
        psort = page_sort
        by_order: dict[str, int] = {}
        by_mt: dict[str, int] = {}
        matrix: dict[str, dict[str, int]] = {}
        for (order, mt), cnt in sorted(self.order_stats.items()):
            by_order[str(order)] = by_order.get(str(order), 0) + cnt
            name = self.migratetype_name(mt)
            by_mt[name] = by_mt.get(name, 0) + cnt
            matrix.setdefault(str(order), {})[name] = cnt
        alloc_freed = self.page_free_calls - self.page_nomatch
        alloc_freed_bytes = self.page_free_bytes - self.page_nomatch_bytes
        out: dict[str, Any] = {
            "layout": self.layout,
            "slab": {
                "alloc_calls": self.slab_alloc_calls,
                "free_calls": self.slab_free_calls,
                "bytes_req": self.bytes_req,
                "bytes_alloc": self.bytes_alloc,
                "bytes_freed": self.bytes_freed,
                "internal_fragmentation_pct": round(
                    fragmentation(self.bytes_req, self.bytes_alloc), 6),
                "wasted_bytes": self.bytes_alloc - self.bytes_req,
                "alloc_failures": self.slab_alloc_failures,
                "pingpong": self.pingpong,
                "free_unknown": self.free_unknown,
                "free_null": self.free_null,
                "alloc_of_live_ptr": self.alloc_of_live_ptr,
                "live_objects": self.live_objects,
                "live_bytes": self.live_bytes,
                "by_event": dict(sorted(self.slab_by_event.items())),
                "by_gfp": {k: {"calls": v[0], "bytes_alloc": v[1]}
                           for k, v in sorted(self.slab_by_gfp.items())},
                "frees_by_cache": dict(sorted(self.cache_frees.items())),
                "by_callsite": [s.to_dict("callsite") for s in self.sorted_sites(ssort)[:n]],
            },
            "page": {
                "page_size": self.page_size,
                "alloc_calls": self.page_alloc_calls,
                "alloc_bytes": self.page_alloc_bytes,
                "free_calls": self.page_free_calls,
                "free_bytes": self.page_free_bytes,
                "alloc_freed_calls": alloc_freed,
                "alloc_only_calls": self.page_alloc_calls - alloc_freed,
                "free_only_calls": self.page_nomatch,
                "free_only_bytes": self.page_nomatch_bytes,
                "alloc_failures": self.page_fails,
                "alloc_failure_bytes": self.page_fail_bytes,
                "alloc_freed_bytes": alloc_freed_bytes,
                "free_batched_calls": self.page_free_batched,
                "live_allocations": len(self._live_pages),
                "live_pages": self.live_pages,
                "live_bytes": self.live_pages * self.page_size,
                "by_order": by_order,
                "by_migratetype": by_mt,
                "by_order_migratetype": matrix,
                "by_gfp": [{"gfp_flags": r.gfp, "order": r.order,
                            "migratetype": self.migratetype_name(r.migratetype),
                            "hits": r.nr_alloc, "alloc_bytes": r.alloc_bytes,
                            "frees": r.nr_free}
                           for r in self.sorted_page_rows(psort)[:n]],
                "zone_locked_calls": self.zone_locked,
                "zone_locked_pages": self.zone_locked_pages,
                "pcpu_drain_calls": self.pcpu_drain,
                "pcpu_drain_pages": self.pcpu_drain_pages,
                "extfrag_calls": self.extfrag,
                "extfrag_fragmenting": self.extfrag_fragmenting,
                "extfrag_change_ownership": self.extfrag_change_ownership,
            },
        }
        if self.per_pointer:
            out["slab"]["by_ptr"] = [s.to_dict("ptr") for s in self.sorted_ptrs(ssort)[:n]]
            out["page"]["by_pfn"] = [
                {"pfn": r.pfn, "order": r.order,
                 "migratetype": self.migratetype_name(r.migratetype), "gfp_flags": r.gfp,
                 "hits": r.nr_alloc, "alloc_bytes": r.alloc_bytes, "frees": r.nr_free}
                for r in self.sorted_page_rows(psort, per_pfn=True)[:n]]
        if self.parse_report is not None:
            out["parse"] = self.parse_report.to_dict()
        return out

    # ----------------------------------------------------------------- text
    def _slab_table(self, rows: list[_SlabSite], lines: int | None, is_caller: bool) -> list[str]:
        # builtin-kmem.c: __print_slab_result
        out = [_DOTS,
               f" {'Callsite' if is_caller else 'Alloc Ptr':<34} |"
               " Total_alloc/Per | Total_req/Per   | Hit      | Ping-pong | Frag",
               _DOTS]
        shown = rows if lines is None or lines < 0 else rows[:lines]
        for s in shown:
            label = s.call_site if is_caller else f"{s.key:#x}"
            out.append(
                f" {label:<34} | {s.bytes_alloc:9d}/{s.bytes_alloc // s.hit:<5d} |"
                f" {s.bytes_req:9d}/{s.bytes_req // s.hit:<5d} | {s.hit:8d} |"
                f" {s.pingpong:9d} | {fragmentation(s.bytes_req, s.bytes_alloc):6.3f}%")
        if len(shown) < len(rows):
            out.append(" ...                                | ...             | ...         "
                       "    | ...      | ...       | ...   ")
        out.append(_DOTS)
        return out

    def _slab_summary(self) -> list[str]:
        # builtin-kmem.c: print_slab_summary, plus the counts perf does not print
        out = ["", "SUMMARY (SLAB allocator)", "========================",
               f"Total bytes requested: {_group(self.bytes_req)}",
               f"Total bytes allocated: {_group(self.bytes_alloc)}",
               f"Total bytes freed:     {_group(self.bytes_freed)}"]
        if self.bytes_alloc > self.bytes_freed:
            out.append(f"Net total bytes allocated: {_group(self.bytes_alloc - self.bytes_freed)}")
        out += [
            "Total bytes wasted on internal fragmentation: "
            f"{_group(self.bytes_alloc - self.bytes_req)}",
            f"Internal fragmentation: {fragmentation(self.bytes_req, self.bytes_alloc):f}%",
            f"Cross CPU frees (ping-pong): {_group(self.pingpong)}/"
            f"{_group(self.slab_free_calls)}",
            f"Allocation calls / free calls: {_group(self.slab_alloc_calls)} / "
            f"{_group(self.slab_free_calls)}",
            f"Failed allocations (ptr NULL): {_group(self.slab_alloc_failures)}",
            f"Frees of objects allocated before the trace: {_group(self.free_unknown)}",
            f"kfree(NULL) calls: {_group(self.free_null)}",
            f"Live at end of trace: {_group(self.live_objects)} objects, "
            f"{_group(self.live_bytes)} bytes",
        ]
        return out

    def _page_tables(self, caller: bool, alloc: bool, sort: str | None,
                     lines: int | None) -> list[str]:
        # builtin-kmem.c: __print_page_caller_result / __print_page_alloc_result
        out: list[str] = []
        gfp_len = max([len("GFP flags")] + [len(r.gfp) for r in self.page_groups.values()])
        if caller:
            rows = self.sorted_page_rows(sort)
            shown = rows if lines is None or lines < 0 else rows[:lines]
            out += ["", _DOTS,
                    f" Total alloc (KB) | Hits      | Order | Mig.type | {'GFP flags':<{gfp_len}}",
                    _DOTS]
            for r in shown:
                out.append(f" {_group(r.alloc_bytes // 1024):>16} | {_group(r.nr_alloc):>9} |"
                           f" {r.order:5d} | {self._mt_short(r.migratetype):>8} |"
                           f" {r.gfp:<{gfp_len}}")
            if len(shown) < len(rows):
                out.append(f" ...              | ...       | ...   | ...      | {'...':<{gfp_len}}")
            out.append(_DOTS)
        if alloc and self.per_pointer:
            rows = self.sorted_page_rows(sort, per_pfn=True)
            shown = rows if lines is None or lines < 0 else rows[:lines]
            out += ["", _DOTS,
                    f" {'PFN':<16} | Total alloc (KB) | Hits      | Order | Mig.type |"
                    f" {'GFP flags':<{gfp_len}}", _DOTS]
            for r in shown:
                out.append(f" {r.pfn:16d} | {_group(r.alloc_bytes // 1024):>16} |"
                           f" {_group(r.nr_alloc):>9} | {r.order:5d} |"
                           f" {self._mt_short(r.migratetype):>8} |"
                           f" {r.gfp:<{gfp_len}}")
            if len(shown) < len(rows):
                out.append(f" ...              | ...              | ...       | ...   | ...      |"
                           f" {'...':<{gfp_len}}")
            out.append(_DOTS)
        return out

    def _page_summary(self) -> list[str]:
        # builtin-kmem.c: print_page_summary
        alloc_freed = self.page_free_calls - self.page_nomatch
        alloc_freed_bytes = self.page_free_bytes - self.page_nomatch_bytes

        def row(label: str, n: int, nbytes: int) -> str:
            return f"{label:<30}: {_group(n):>16}   [ {_group(nbytes // 1024):>16} KB ]"

        out = ["", "SUMMARY (page allocator)", "========================",
               row("Total allocation requests", self.page_alloc_calls, self.page_alloc_bytes),
               row("Total free requests", self.page_free_calls, self.page_free_bytes), "",
               row("Total alloc+freed requests", alloc_freed, alloc_freed_bytes),
               row("Total alloc-only requests", self.page_alloc_calls - alloc_freed,
                   self.page_alloc_bytes - alloc_freed_bytes),
               row("Total free-only requests", self.page_nomatch, self.page_nomatch_bytes), "",
               row("Total allocation failures", self.page_fails, self.page_fail_bytes), "",
               row("Live at end of trace", len(self._live_pages),
                   self.live_pages * self.page_size),
               f"{'Batched frees (also in free)':<30}: {_group(self.page_free_batched):>16}",
               f"{'Zone-locked refills (pages)':<30}: {_group(self.zone_locked_pages):>16}",
               f"{'Fallbacks (extfrag)':<30}: {_group(self.extfrag):>16}"
               f"   [ {_group(self.extfrag_fragmenting)} fragmenting ]", ""]
        names = MIGRATETYPE_NAMES[self.layout or "6.x"][:4] + ("CMA/Isolated",)
        out.append(f"{'Order':>5}" + "".join(f"  {n:>12}" for n in names))
        out.append("-" * 5 + ("  " + "-" * 12) * len(names))
        max_order = max([10] + [o for o, _ in self.order_stats])
        for o in range(max_order + 1):
            cells = []
            for m in range(len(names)):
                cnt = self.order_stats.get((o, m), 0)
                if m == len(names) - 1:  # CMA and Isolate share perf's last column
                    cnt += sum(v for (oo, mm), v in self.order_stats.items()
                               if oo == o and mm > m)
                cells.append(f"  {_group(cnt):>12}" if cnt else f"  {'.':>12}")
            out.append(f"{o:5d}" + "".join(cells))
        return out

    def report(self, *, caller: bool = True, alloc: bool = False, slab: bool = True,
               page: bool = True, sort: str | None = None, lines: int | None = None) -> str:
        """Text tables like ``perf kmem stat [--caller] [--alloc] [--slab] [--page]``.

        Follows builtin-kmem.c: print_slab_result and print_page_result.
        """
        out: list[str] = []
        if slab:
            ssort = sort if sort_keys_valid(sort, SLAB_SORT_KEYS) else None
            if caller:
                out += self._slab_table(self.sorted_sites(ssort), lines, True)
            if alloc and self.per_pointer:
                out += self._slab_table(self.sorted_ptrs(ssort), lines, False)
            out += self._slab_summary()
        if page:
            psort = sort if sort_keys_valid(sort, PAGE_SORT_KEYS) else None
            out += self._page_tables(caller, alloc, psort, lines)
            out += self._page_summary()
        return "\n".join(out) + "\n"


def sort_keys_valid(sort: str | None, allowed: tuple[str, ...]) -> bool:
    """True if every ``--sort`` key is one of ``allowed`` (builtin-kmem.c: parse_sort_opt)."""
    if not sort:
        return False
    return all(k.strip() in allowed for k in sort.split(",") if k.strip())


def trace_stats(source: str | os.PathLike[str] | IO[Any], *, page_size: int = 4096,
                per_pointer: bool = True, progress: bool | None = None) -> TraceStats:
    """Read a trace and return its TraceStats (``perf kmem stat`` on tracefs text).

    The ParseReport is attached as ``stats.parse_report``. Raises TraceFormatError
    for input that is not a text trace (see iter_records()).
    """
    stats = TraceStats(page_size=page_size, per_pointer=per_pointer)
    rep = ParseReport()
    stats.parse_report = rep
    stats.feed_fields(scan_records(source, rep, progress=progress))
    return stats
