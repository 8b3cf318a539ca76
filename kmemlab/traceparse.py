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

Parsing uses only the standard library; trace_stats() reads blocks of lines in the
6.x tracefs layout with numpy (imported on first use; without it, line by line), and
tqdm is imported lazily for a progress bar.
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
    "LineBlock",
    "ParseReport",
    "Record",
    "Template",
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
        return self._head[6]

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
        try:                 # _f in line: a loop over a trace asks every record
            return self._body["gfp_flags"]
        except IndexError:
            return None

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
_MAX_TEMPLATES = 65536

# The template path (scan_records(templates=True), for the replay): most lines of a
# trace differ from an earlier one only in their context, timestamp and pointer or
# page/pfn. A line is cut into those and the rest (its *key*: the text from the ": "
# after the timestamp, the varying field blanked); the first line of a key is matched
# by the fast regex of its event, whose varying groups must be exactly the cut fields,
# and its groups kept as the key's Template. A later line of the key only has its
# timestamp ([0-9]+.[0-9]+) and varying fields checked (a pointer of hex digits, 0x-hex,
# "(null)"/"(nil)"; a pfn of digits or 0x-hex): with the rest of the text the same, the
# fast regex would match it the same way with those groups in place of the template's.
# Which varying fields an event has: 1 = ptr (slab events), 2 = page and pfn.
_VARY = {"kmalloc": 1, "kmalloc_node": 1, "kmem_cache_alloc": 1, "kmem_cache_alloc_node": 1,
         "kfree": 1, "kmem_cache_free": 1, "mm_page_alloc": 2, "mm_page_free": 2,
         "mm_page_free_batched": 2, "mm_page_alloc_zone_locked": 2,
         "mm_page_pcpu_drain": 2, "mm_page_alloc_extfrag": 2}


class Template:
    """The printed body fields shared by the lines of one key (see scan_records'
    ``templates``): ``fields`` in the order of ``BODY_FIELDS[event]``, the varying ones
    (ptr; page, pfn) those of the first such line. ``data`` is the consumer's (the
    replay keeps what it computes once per template there)."""

    __slots__ = ("event", "fields", "data")

    def __init__(self, event: str, fields: tuple[str | None, ...]) -> None:
        self.event = event
        self.fields = fields
        self.data: Any = None

    def __repr__(self) -> str:
        return f"<Template {self.event} {self.fields!r}>"


class LineBlock:
    """The lines of a block read by the block path of scan_records(templates=True): what
    its records carry in place of their line (``line(lineno)`` gives it)."""

    __slots__ = ("lines", "first")

    def __init__(self, lines: list[str], first: int) -> None:
        self.lines = lines
        self.first = first

    def line(self, lineno: int) -> str:
        return self.lines[lineno - self.first]


def _line_context(line: str) -> tuple[str, str, str]:
    """The printed (task, pid, cpu) of an event line, as the per-line path reads it."""
    head = _HEAD_RE.match(line)
    assert head is not None
    return head.group(1, 2, 3)


def _hex_value(v: str) -> int:
    """A printed %p of an ASCII line as _P reads it (hex, 0x-hex, "(null)"/"(nil)" = 0);
    -1 for anything else (a leading space, 0X, an empty field...)."""
    if v.isalnum() and v[1:2] not in ("x", "X"):
        try:
            return int(v, 16)
        except ValueError:
            return -1
    if v[:2] == "0x" and v[2:].isalnum() and v[3:4] not in ("x", "X"):
        try:
            return int(v[2:], 16)
        except ValueError:
            return -1
    return 0 if v == "(null)" or v == "(nil)" else -1


def _pfn_value(v: str) -> int:
    """A printed pfn of an ASCII line (``\\d+`` or ``0x[0-9a-fA-F]+``); -1 otherwise."""
    if v.isdigit():
        try:
            return int(v)
        except ValueError:   # more digits than int() converts (sys.int_info)
            return -1
    if v[:2] == "0x" and v[2:].isalnum() and v[3:4] not in ("x", "X"):
        try:
            return int(v[2:], 16)
        except ValueError:
            return -1
    return -1


def scan_records(
    source: str | os.PathLike[str] | IO[Any],
    report: ParseReport | None = None,
    *,
    events: Iterable[str] | None = None,
    progress: bool | None = None,
    max_malformed: int = 20,
    records: bool = False,
    templates: bool = False,
) -> Iterator[Any]:
    """The kmem records of a trace as plain tuples, for consumers of whole traces
    (replay, statistics): ``(event, lineno, line, context, fields)`` with ``context``
    the printed ``(task, pid, cpu)`` and ``fields`` the printed body fields in the order
    of ``BODY_FIELDS[event]`` (None when absent); ``line`` is the line without its end
    of line (``parse_line(line + "\\n", lineno)`` gives its Record when one is wanted).

    Reads, counts and fails exactly like iter_records() (the same report and errors);
    ``records=True`` yields Records instead (iter_records() itself). Layout: as for
    iter_records() (kernel/trace/trace_output.c: trace_print_context).

    ``templates=True`` (the replay) yields 6-tuples: ``(event, lineno, line, context,
    template, value)`` for a line read by the template path (see _VARY: ``template``
    a :class:`Template`, ``value`` the ptr as an int, or ``(page, pfn)`` as ints),
    ``(event, lineno, line, context, fields, None)`` for any other line, and for a
    block of lines read by the block path (trace_stats' numpy split: plain lines of
    the 6.x layout) one ``(None, first lineno, LineBlock, contexts, templates,
    values)``, a list entry per line (its records are counted in the report when the
    block is yielded).
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
    tmpls: dict[str, Template] | None = {} if templates and not records else None
    vary = _VARY
    np = _numpy() if tmpls is not None and not filtering else None
    bscan = _BlockScan(np, _Registry(np, 4096)) if np is not None else None
    block_ctx: list[Any] = []    # the block path's context ids -> (task, pid, cpu)
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
            if bscan is not None and clean and terminated and len(block) >= 64:
                # the block path (trace_stats' numpy split, _BlockScan): every line
                # plain, its template and ptr/page/pfn found for the whole block
                text = "\n".join(block)
                res = None
                if text.isascii():
                    text += "\n"
                    res = bscan.scan((text + _PAD).encode("ascii"), 0, len(text))
                if res is None:
                    if bscan.many:   # nearly a template per line: not worth trying
                        bscan = None
                else:
                    n, gid, _cpu, v1, v2 = res
                    reg = bscan.reg
                    reg.arrays()
                    cid = bscan.cid
                    if bscan.n_ctx > len(block_ctx):
                        block_ctx.extend([None] * (bscan.n_ctx - len(block_ctx)))
                        for c, r in zip(*(a.tolist() for a in np.unique(
                                cid, return_index=True))):
                            if block_ctx[c] is None:
                                block_ctx[c] = _line_context(block[r])
                    values = v1.tolist()
                    pages = np.flatnonzero(reg.kind[gid] >= _PA)
                    if pages.size:
                        for i, pfn in zip(pages.tolist(), v2[pages].tolist()):
                            values[i] = (values[i], pfn)
                    tl = reg.templates
                    counts = np.bincount(reg.evid[gid], minlength=len(_EVENT_LIST))
                    for i, c in enumerate(counts.tolist()):
                        if c:
                            ev = _EVENT_LIST[i]
                            by_event[ev] = by_event.get(ev, 0) + c
                    lineno = first + n - 1
                    yield (None, first, LineBlock(block, first),
                           [block_ctx[c] for c in cid.tolist()],
                           [tl[g] for g in gid.tolist()], values)
                    continue
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
                                if tmpls is not None and line.isascii():
                                    ts, dot, frac = line[k:j].partition(".")
                                    if dot and ts.isdigit() and frac.isdigit():
                                        if vary[ev] == 1:
                                            p = line.find(" ptr=", e) + 5
                                            q = line.find(" ", p)
                                            if q < 0:
                                                q = len(line)
                                            value: Any = _hex_value(line[p:q])
                                            ok = p > 4 and value >= 0
                                            spans: tuple[int, ...] = (p, q)
                                        else:
                                            p = line.find("page=", e) + 5
                                            q1 = line.find(" ", p)
                                            r = q1 + 5
                                            q = line.find(" ", r)
                                            ok = p > 4 and q1 > 0 and q > 0 and \
                                                line[q1:r] == " pfn="
                                            if ok:
                                                page = _hex_value(line[p:q1])
                                                pfn = _pfn_value(line[r:q])
                                                ok = page >= 0 and pfn >= 0
                                                value = (page, pfn)
                                                spans = (p, q1, r, q)
                                        if ok:
                                            key = line[j:p] + line[q:]
                                            t = tmpls.get(key)
                                            if t is None:
                                                m = rx(line, k)
                                                if m is not None and spans == (
                                                        m.span(3) if len(spans) == 2
                                                        else m.span(1) + m.span(2)):
                                                    if len(tmpls) >= _MAX_TEMPLATES:
                                                        tmpls.clear()
                                                    t = tmpls[key] = Template(ev, m.groups())
                                            if t is not None:
                                                by_event[ev] = by_event.get(ev, 0) + 1
                                                yield ev, lineno, line, ctx, t, value
                                                continue
                                m = rx(line, k)
                                if m is not None:
                                    by_event[ev] = by_event.get(ev, 0) + 1
                                    if tmpls is None:
                                        yield ev, lineno, line, ctx, m.groups()
                                    else:
                                        yield ev, lineno, line, ctx, m.groups(), None
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
                elif tmpls is None:
                    yield ev, lineno, line, head.group(1, 2, 3), body.groups()
                else:
                    yield ev, lineno, line, head.group(1, 2, 3), body.groups(), None
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


class _LazyLive:
    """TraceStats._live when trace_stats() left it to be built on first use (the block
    path keeps it in arrays; a report needs only its size and bytes)."""

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:
            return self
        fill = obj.__dict__.pop("_live_fill", None)
        live: dict[int, tuple[int, int, str, int]] = {} if fill is None else fill()
        obj.__dict__["_live"] = live
        return live


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

    _live = _LazyLive()

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
        lazy = self.__dict__.get("_live_fill")
        return lazy.count if lazy is not None else len(self._live)

    @property
    def live_bytes(self) -> int:
        """Bytes (bytes_alloc) of the live slab objects."""
        lazy = self.__dict__.get("_live_fill")
        if lazy is not None:
            return lazy.nbytes
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
    for input that is not a text trace (see iter_records()). Reads, counts and fails
    exactly like ``TraceStats().feed_fields(scan_records(source))``; blocks of lines in
    the kernel's own layout are read a block at a time (see _BlockStats).
    """
    return _trace_stats(source, page_size, per_pointer, progress)[0]


def _trace_stats(source: Any, page_size: int, per_pointer: bool,
                 progress: bool | None) -> tuple[TraceStats, _BlockStats | None]:
    """trace_stats() and its reader (the tests look at how much the block path read)."""
    stats = TraceStats(page_size=page_size, per_pointer=per_pointer)
    rep = ParseReport()
    stats.parse_report = rep
    if _numpy() is None:
        stats.feed_fields(scan_records(source, rep, progress=progress))
        return stats, None
    reader = _BlockStats(stats, rep)
    reader.run(source, progress)
    return stats, reader


# --------------------------------------------------------------- the block path
# trace_stats() reads a trace a block (_SUPER read chunks, ~2 MiB) at a time: a block
# whose every line is in the canonical tracefs layout of 6.x kernels
# (trace_print_context: "%16s-%-7d [%03d] " + 5 irq-info flags + " %5lu.%06lu" + ": ",
# the event at column 51 + the extra digits of the seconds) is checked, split into
# fields and accounted with numpy over the whole block; any other block (a line that
# is not plain, an unknown event, other spacing, a line longer than a block) is read
# line by line exactly as scan_records() reads it, and its records are accounted by
# the same engine. The engine (_Engine) keeps the order-dependent state (which
# pointers and pfns are live, on which CPU and by which call site they were
# allocated) in arrays and replays the events pointer by pointer in file order (a
# stable sort by pointer, then each event against the one before it), so every
# statistic is the one TraceStats.add() gives record by record. A trace the block path
# does not help (nearly a template per line, most lines read line by line, values
# beyond 64 bits) goes on with TraceStats' own accounting. tests/trace/
# test_trace_fastpath.py compares all of it with the reference parser.
#
# A line's "template" is its event and body with the high-cardinality fields (ptr,
# page, pfn) blanked; a real trace has a few hundred of them. Each new template is
# parsed once by the fast regex of its event (the grammar of the per-line path), the
# blanked fields must be exactly that regex's ptr/page/pfn groups, and its accounting
# constants (call site, sizes, GFP flags, order...) come from the same groups that
# TraceStats reads. The lines of a block are matched to templates by a hash of their
# bytes, every line then compared byte for byte with its template.

_SUPER = 2                 # read chunks per block of the block path
_TIERS = (12, 22, 32)      # row widths (in words) of the template rows
_PAD = "\0" * 512          # after a block's text: fixed-width reads past its end stay inside
_PADB = _PAD.encode("ascii")
_NP: Any = None
# event kinds of the block path
_SA, _SF, _PA, _PF, _PFB, _ZL, _PD, _EF = range(8)
_KIND = {"kmalloc": _SA, "kmalloc_node": _SA, "kmem_cache_alloc": _SA,
         "kmem_cache_alloc_node": _SA, "kfree": _SF, "kmem_cache_free": _SF,
         "mm_page_alloc": _PA, "mm_page_free": _PF, "mm_page_free_batched": _PFB,
         "mm_page_alloc_zone_locked": _ZL, "mm_page_pcpu_drain": _PD,
         "mm_page_alloc_extfrag": _EF}
_EVENT_LIST = sorted(KMEM_EVENTS)
_EVENT_ID = {ev: i for i, ev in enumerate(_EVENT_LIST)}
_LAYOUT_CODE = {None: 0, "6.x": 1, "3.x": 2}
_LAYOUT_NAME = (None, "6.x", "3.x")
_U64 = 1 << 64
_I31 = 1 << 31


def _numpy() -> Any:
    """numpy, or None when it is not installed (then trace_stats reads line by line)."""
    global _NP
    if _NP is None:
        try:
            import numpy
        except ImportError:  # pragma: no cover - numpy is a dependency of kmemlab
            numpy = False
        _NP = numpy
    return _NP or None


class _RawText:
    """``TextIOWrapper(buffer, encoding="utf-8", errors="replace", newline=None).read(n)``
    (Modules/_io/textio.c: _io_TextIOWrapper_read_impl, textiowrapper_read_chunk),
    step for step: the same read1() calls of the same sizes (so a truncated or corrupt
    gzip stream fails at the same read), the same characters. A piece that is ASCII
    without '\r', read while the decoder holds nothing back, is kept as bytes: the
    decoder would turn it into the same characters and hold nothing back after it.
    read() returns a list of bytes pieces when all it returns came so (an empty list
    at the end), else str (tests/trace/test_trace_fastpath.py compares the two)."""

    def __init__(self, buffer: Any) -> None:
        self.buffer = buffer
        self.has_read1 = hasattr(buffer, "read1")
        self.read1 = buffer.read1 if self.has_read1 else buffer.read
        self.decoder: Any = None
        self.clean = True          # the decoder holds no bytes and no pending '\r'
        self.left: Any = b""       # decoded but not yet returned (bytes or str)
        self.b2cratio = 0.0

    def _decode(self, data: bytes, final: bool) -> str:
        if self.decoder is None:
            import codecs
            self.decoder = io.IncrementalNewlineDecoder(
                codecs.getincrementaldecoder("utf-8")("replace"), translate=True)
        out = self.decoder.decode(data, final)
        self.clean = self.decoder.getstate() == (b"", 0)
        return out

    def read(self, n: int) -> Any:
        parts = []
        left = self.left
        if left:
            parts.append(left[:n])
            self.left = left[n:]
        remaining = n - len(parts[0]) if parts else n
        while remaining > 0:
            hint = int(max(self.b2cratio, 1.0) * remaining)
            data = self.read1(max(8192, hint))
            if data.__class__ is not bytes:
                raise TypeError(f"underlying {'read1' if self.has_read1 else 'read'}() should "
                                f"have returned a bytes object, not '{type(data).__name__}'")
            nbytes = len(data)
            eof = nbytes == 0
            if self.clean and (eof or (data.isascii() and b"\r" not in data)):
                chars: Any = data
            else:
                chars = self._decode(data, eof)
            nchars = len(chars)
            self.b2cratio = nbytes / nchars if nchars else 0.0
            if nchars:
                eof = False
            if eof:
                break
            parts.append(chars[:remaining])
            self.left = chars[remaining:]
            remaining -= min(remaining, nchars)
        if all(p.__class__ is bytes for p in parts):
            return parts   # the bytes pieces (possibly none: the end)
        return "".join(p if p.__class__ is str else p.decode("ascii") for p in parts)


def _too_many(new_templates: int, lines: int) -> bool:
    """More new templates in a block than the block path gains on (each costs a regex
    match and its constants, ~10 us; a line on the per-line path ~3 us)."""
    return new_templates > 256 and new_templates * 6 > lines


class _Escape(Exception):
    """A record the block engine cannot hold (a value beyond 64 bits): from here on
    the statistics are kept by TraceStats.feed_fields()."""


class _Tmpl:
    """The accounting constants of one template (what the TraceStats handlers read
    from the printed fields, computed once)."""

    __slots__ = ("ev", "kind", "layout", "cs", "req", "alloc", "gfp", "name", "order",
                 "mt", "nbytes", "pages", "frag", "co", "efkey", "pay", "pkey")

    def __init__(self, ev: str, g: tuple[Any, ...], page_size: int) -> None:
        self.ev = ev
        self.kind = kind = _KIND[ev]
        self.layout = _layout_of(dict(zip(BODY_FIELDS[ev], g)))
        self.pay = self.pkey = -1
        if kind == _SA:    # _slab_alloc: sym, call_site, ptr, name, bytes_req, bytes_alloc, gfp
            self.cs, self.req, self.alloc, self.gfp = g[1], int(g[4]), int(g[5]), g[6]
        elif kind == _SF:  # _slab_free: sym, call_site, ptr, name
            self.name = None if g[3] is None else g[3].strip()
        elif kind == _PA:  # _page_alloc: page, pfn, order, migratetype, gfp_flags
            self.order = int(g[2])
            self.nbytes = page_size << self.order
            self.mt, self.gfp = int(g[3]), g[4]
        elif kind == _PF:  # _page_free: page, pfn, order
            self.nbytes = page_size << int(g[2])
        elif kind in (_ZL, _PD):  # page, pfn, order, ...
            self.pages = 1 << (int(g[2]) or 0)
        elif kind == _EF:  # page, pfn, alloc_order, ..., fragmenting, change_ownership
            self.frag, self.co = g[7] != "0", g[8] != "0"
            self.efkey = (int(g[5]), int(g[6]))


class _Registry:
    """Templates (block templates by their bytes, per-line records by their printed
    fields), the live-object payloads (bytes_alloc, call site, bytes_req) and page keys
    (order, migratetype, gfp), each with a dense id for the engine's arrays."""

    def __init__(self, np: Any, page_size: int) -> None:
        self.np = np
        self.page_size = page_size
        self.tmpls: list[_Tmpl] = []
        self.templates: list[Template] = []   # the same by id, as printed fields
        self.by_text: dict[bytes, int] = {}
        self.by_key: dict[tuple[Any, ...], int] = {}
        self.pays: list[tuple[int, str, int]] = []
        self.pay_id: dict[tuple[int, str, int], int] = {}
        self.pkeys: list[tuple[int, int, str]] = []
        self.pkey_id: dict[tuple[int, int, str], int] = {}
        self.small = True   # every bytes_req/bytes_alloc < 2**31: per-pointer sums fit int64
        # block templates: hash -> gid; their words and lengths by gid
        self.hids = _HashIds(np)
        self.words = np.zeros((64, 32), np.uint64)
        self.lens = np.zeros(64, np.int64)
        self.words_k: dict[int, Any] = {}   # the words table cut to K words (contiguous)
        self._built = 0
        self._cap = 0
        self._store: dict[str, Any] = {}

    def add(self, ev: str, g: tuple[Any, ...]) -> int:
        t = _Tmpl(ev, g, self.page_size)
        if t.kind == _SA:
            key = (t.alloc, t.cs, t.req)
            pid = self.pay_id.get(key)
            if pid is None:
                pid = self.pay_id[key] = len(self.pays)
                self.pays.append(key)
            t.pay = pid
            if not (0 <= t.req < _I31 and 0 <= t.alloc < _I31):
                self.small = False
        elif t.kind == _PA:
            key2 = (t.order, t.mt, t.gfp)
            kid = self.pkey_id.get(key2)
            if kid is None:
                kid = self.pkey_id[key2] = len(self.pkeys)
                self.pkeys.append(key2)
            t.pkey = kid
        self.tmpls.append(t)
        self.templates.append(Template(ev, g))
        return len(self.tmpls) - 1

    def arrays(self) -> None:
        """Per-template numpy constants (kind, event id, layout, payload, page key,
        sizes) for the engine, extended when templates were added."""
        done = self._built
        ts = self.tmpls
        if done == len(ts):
            return
        np = self.np
        new = ts[done:]
        cols = {"kind": (np.int8, [t.kind for t in new]),
                "evid": (np.int8, [_EVENT_ID[t.ev] for t in new]),
                "layout": (np.int8, [_LAYOUT_CODE[t.layout] for t in new]),
                "pay": (np.int32, [t.pay for t in new]),
                "pkey": (np.int32, [t.pkey for t in new])}
        if self.small:
            cols["req"] = (np.int64, [t.req if t.kind == _SA else 0 for t in new])
            cols["alloc"] = (np.int64, [t.alloc if t.kind == _SA else 0 for t in new])
        cap = self._cap
        if len(ts) > cap:
            cap = self._cap = max(len(ts), 2 * cap)
        for name, (dtype, values) in cols.items():
            arr = self._store.get(name)
            if arr is None or arr.size < cap:
                grown = np.zeros(cap, dtype)
                if arr is not None:
                    grown[:done] = arr[:done]
                arr = self._store[name] = grown
            arr[done:len(ts)] = values
            setattr(self, name, arr)
        self._built = len(ts)

    # -- block templates
    def block_template(self, text: bytes) -> int | None:
        """The gid of a block template (the body of a line, col 51+x to its end, ptr/page
        and the pfn digits blanked to '0'), or None if a line with this body would not
        be read by the per-line path as the record the block path makes of it."""
        gid = self.by_text.get(text)
        if gid is not None:
            return gid
        body = text.decode("ascii")
        e = body.find(":")
        ev = body[:e]
        rx = _FAST_RE.get(ev)
        if rx is None:
            return None
        # scan_records: the fast regex from the timestamp on (the ts is "[0-9]+\\.[0-9]+")
        m = rx.match("0.0: " + body)
        if m is None:
            return None
        spans = _window_spans(body)
        if spans is None:
            return None
        fam, w1, w2 = spans
        if fam == "slab":
            if _KIND[ev] not in (_SA, _SF) or m.span("ptr") != (w1[0] + 5, w1[1] + 5):
                return None
        else:
            if (_KIND[ev] not in (_PA, _PF, _PFB, _ZL, _PD, _EF)
                    or m.span("page") != (w1[0] + 5, w1[1] + 5)
                    or m.span("pfn") != (w2[0] + 5, w2[1] + 5)):
                return None
        g = m.groups()
        if _KIND[ev] == _SA and not (0 <= int(g[4]) < _I31 and 0 <= int(g[5]) < _I31):
            return None  # sizes beyond 31 bits: the per-line path (and Python ints)
        gid = self.add(ev, g)
        self.by_text[text] = gid
        return gid

    def add_hashes(self, h: Any, gids: Any, rows: Any, lens: Any) -> None:
        """Remember the hash, words and length of new block templates."""
        np = self.np
        need = int(gids.max()) + 1 if gids.size else 0
        if need > self.words.shape[0]:
            cap = max(need, 2 * self.words.shape[0])
            w = np.zeros((cap, 32), np.uint64)
            w[:self.words.shape[0]] = self.words
            ln = np.zeros(cap, np.int64)
            ln[:self.lens.size] = self.lens
            self.words, self.lens = w, ln
        self.words[gids, :rows.shape[1]] = rows
        self.lens[gids] = lens
        for K, tw in list(self.words_k.items()):
            if tw.shape[0] < self.words.shape[0]:
                del self.words_k[K]
            else:
                tw[gids] = self.words[gids, :K]
        self.hids.add(h.tolist(), gids.tolist())


def _window_spans(body: str) -> tuple[str, tuple[int, int], tuple[int, int]] | None:
    """Where the block path reads the high-cardinality fields of a body (from the event
    name on): after the 2nd '=' for slab events (ptr, 16 hex digits), after the 1st
    (page, 16 hex) and the 2nd ('0x' + hex digits, pfn) for page events. The same
    rule on the line's bytes (_scan_block) and on its template (here)."""
    e1 = body.find("=")
    e2 = body.find("=", e1 + 1)
    if e1 < 2 or e2 < 0:
        return None
    if body[e1 - 2] == "t":
        return "slab", (e2 + 1, e2 + 17), (0, 0)
    if body[e1 - 2] == "g" and body[e2 + 1:e2 + 3] == "0x":
        j = e2 + 3
        while j < len(body) and body[j] in "0123456789abcdefABCDEF":
            j += 1
        return "page", (e1 + 1, e1 + 17), (e2 + 1, j)
    return None


def _rows(np: Any, a: Any, starts: Any, width: int) -> Any:
    """The ``width`` bytes from each start as the rows of a new (n, width) array (each
    row copied as one item of ``width`` bytes: faster than byte-wise indexing)."""
    items = np.ndarray(shape=(a.size - width + 1,), dtype=np.dtype((np.void, width)),
                       buffer=a, strides=(1,))
    return items[starts].view(np.uint8).reshape(starts.size, width)


def _lowbyte(np: Any, w: Any) -> Any:
    """The index (0-7) of the lowest nonzero byte of each nonzero uint64."""
    low = w & (~w + np.uint64(1))           # its lowest set bit: 2 ** (8 * index + k)
    return (np.log2(low.astype(np.float64)).astype(np.int64) >> 3)


def _hex16(np: Any, P: Any) -> Any:
    """The values of rows of 16 hex digits ((n, 16) uint8), or None if any byte is not
    a hex digit."""
    if not (((P - 48) < 10) | (((P | 32) - 97) < 6)).all():
        return None
    nib = (P & 15) + 9 * (P >> 6)           # '0'-'9' -> 0-9, 'a'-'f', 'A'-'F' -> 10-15
    pair = nib.view(np.uint16)              # (first << 0) | (second << 8)
    return ((pair << 4) | (pair >> 8)).astype(np.uint8).view(">u8").ravel().astype(np.uint64)


_ZEROS = 0x3030303030303030       # eight '0' characters, as a little-endian word
_LO7F = 0x4646464646464646        # + 0x7f - '9': a byte's high bit set if above '9'
_HI50 = 0x5050505050505050        # + 0x80 - '0': a byte's high bit set if at least '0'
_HIGH = 0x8080808080808080
_CTX_COLS = re.compile(r"[^\[]{16}-[0-9][0-9 ]{6} \[([0-9]{3})\] [^ :0-9][^ :]{4} ")


def _context_cpu(prefix: bytes) -> int | None:
    """The cpu of a context (columns 0-36: comm, '-', pid, ' [', cpu, '] ', irq-info
    flags, ' ') in the block layout, or None if it is not one: the comm holds no '[',
    the pid is digits then spaces, the flags have no space or ':' and do not begin
    with a digit (all bytes printable ASCII: checked for the whole block)."""
    text = prefix.decode("ascii")
    m = _CTX_COLS.fullmatch(text)
    if m is None:
        return None
    pid = text[17:24]
    if " " in pid.rstrip(" "):   # a digit after a space
        return None
    return int(m.group(1))


class _HashIds:
    """64-bit hashes (never 0) -> ids: an open-addressing table, looked up with numpy."""

    def __init__(self, np: Any, bits: int = 10) -> None:
        self.np = np
        self.items: list[tuple[int, int]] = []
        self._alloc(bits)

    def _alloc(self, bits: int) -> None:
        np = self.np
        self.bits = bits
        self.mask = (1 << bits) - 1
        self.shift = np.uint64(64 - bits)
        self.th = np.zeros(1 << bits, np.uint64)
        self.ti = np.full(1 << bits, -1, np.int32)
        for h, i in self.items:
            self._put(h, i)

    def _put(self, h: int, i: int) -> None:
        slot = h >> (64 - self.bits)
        while self.th[slot]:
            slot = (slot + 1) & self.mask
        self.th[slot] = h
        self.ti[slot] = i

    def add(self, hs: list[int], ids: list[int]) -> None:
        self.items.extend(zip(hs, ids))
        if 4 * len(self.items) > (1 << self.bits):
            self._alloc(max(self.bits + 1, (4 * len(self.items)).bit_length()))
        else:
            for h, i in zip(hs, ids):
                self._put(h, i)

    def lookup(self, h: Any) -> Any:
        """The id of each hash, -1 for unknown ones."""
        np = self.np
        slot = (h >> self.shift).astype(np.intp)
        th = self.th[slot]
        hit = th == h
        ids = self.ti[slot]
        if hit.all():
            return ids
        ids[~hit] = -1
        todo = np.flatnonzero(~hit & (th != 0))   # a slot taken by another hash: probe on
        while todo.size:
            slot[todo] = (slot[todo] + 1) & self.mask
            th = self.th[slot[todo]]
            got = th == h[todo]
            ids[todo[got]] = self.ti[slot[todo[got]]]
            todo = todo[~got & (th != 0)]
        return ids


class _BlockScan:
    """Checks and splits blocks of lines in the canonical tracefs layout (numpy)."""

    # columns of trace_print_context() for 6.x ("%16s-%-7d [%03d] " flags " %5lu.%06lu: ")
    def __init__(self, np: Any, reg: _Registry) -> None:
        self.np = np
        self.reg = reg
        # odd random multipliers of the row hashes (a new draw each run)
        self.hmul = np.frombuffer(os.urandom(8 * 32), np.uint64) | np.uint64(1)
        self.cmul = np.frombuffer(os.urandom(8 * 5), np.uint64) | np.uint64(1)
        # keep[L]: the words of a row of L bytes (all ones, then the partial word, zeros)
        masks = np.array([(1 << (8 * b)) - 1 for b in range(8)] + [_U64 - 1], np.uint64)
        left = np.arange(257)[:, None] - 8 * np.arange(32)[None, :]
        self.keep = masks[np.clip(left, 0, 8)]
        self.keep_k: dict[int, Any] = {}
        # a right-aligned hex field of k digits in 16 bytes: (R | lmask[k]) & lmask2[k]
        # keeps the last k and makes the others '0'
        self.lmask = np.zeros((17, 16), np.uint8)
        self.lmask2 = np.full((17, 16), 255, np.uint8)
        for k in range(17):
            self.lmask[k, :16 - k] = 0x30
            self.lmask2[k, :16 - k] = 0x30
        # the timestamp's two words for x extra digits: (literal mask, literal value,
        # digit mask) per word
        self.zeros, self.lo7f, self.hi50, self.high = (
            np.uint64(c) for c in (_ZEROS, _LO7F, _HI50, _HIGH))
        self.tsw = {}
        for x in range(5):
            lit = {5 + x: ord("."), 12 + x: ord(":"), 13 + x: ord(" ")}
            digits = list(range(0 if x else 4, 5 + x)) + list(range(6 + x, 12 + x))
            words = []
            for w in range(3):
                lm = lv = dm = 0
                for b in range(8):
                    col = 8 * w + b
                    if col in lit:
                        lm |= 0xFF << (8 * b)
                        lv |= lit[col] << (8 * b)
                    elif col in digits:
                        dm |= 0xFF << (8 * b)
                words.append((np.uint64(lm), np.uint64(lv), np.uint64(dm)))
            self.tsw[x] = words
        self.many = False             # a block had too many new templates (_too_many)
        self.ctl = np.empty(0, bool)  # reused: the control characters of a block
        self.ctx = _HashIds(np)       # context hash -> id
        self.ctx_table = np.zeros((256, 5), np.uint64)   # its words, and its cpu
        self.ctx_cpus = np.zeros(256, np.int32)
        self.n_ctx = 0
        self.cid: Any = None

    def scan(self, buf: bytes, start: int, end: int) -> tuple[int, Any, Any, Any, Any] | None:
        """``buf[start:end]``: whole lines, ASCII, followed by at least len(_PAD) bytes.
        Returns (lines, template ids, cpus, ptr or page values, pfns) or None when any
        line is not plain (then the block is read line by line)."""
        np = self.np
        if buf.find(b"\x7f", start, end) >= 0:
            return None
        a = np.frombuffer(buf, np.uint8)
        if self.ctl.size < end - start:
            self.ctl = np.empty(end - start, bool)
        ctl = self.ctl[:end - start]
        np.less(a[start:end], 32, out=ctl)      # control characters: the newlines only
        nl = np.flatnonzero(ctl)
        n = nl.size
        if start:
            nl += start
        if n == 0 or not (a[nl] == 10).all():
            return None
        st = np.empty(n, np.int64)
        st[0] = start
        st[1:] = nl[:-1] + 1
        ln = nl - st
        if int(ln.min()) < 70 or int(ln.max()) > 51 + 4 + 248:
            return None
        # the timestamp " %5lu.%06lu: " from column 37 (x more digits past 99999 s)
        T = _rows(np, a, st + 37, 24)
        for x in range(5):
            if (T[:, 5 + x] == 46).all():
                break
        else:
            return None
        Tw = T.view(np.uint64)
        for k in (2, 1, 0):
            lm, lv, dm = self.tsw[x][k]
            if not (lm or dm):
                continue
            w = Tw[:, k]
            if ((w & lm) != lv).any():
                return None
            y = (w & dm) | (self.zeros & ~dm)  # the digit columns (the others made '0')
            if (((y + self.lo7f) | ~(y + self.hi50)) & self.high).any():
                # not all digits: seconds below 10000 ("%5lu" pads with spaces)?
                if k or x or not self._seconds(T):
                    return None
        # the context before it (comm, pid, cpu, flags): 37 columns, checked once per
        # distinct context, the rows matched to them by a hash and word for word
        C = _rows(np, a, st, 40)
        Cw = C.view(np.uint64)
        Cw[:, 4] &= np.uint64((1 << 40) - 1)
        hc = Cw @ self.cmul
        hc |= np.uint64(1)
        cid = self.ctx.lookup(hc)
        new = np.flatnonzero(cid < 0)
        if new.size:
            uh, first = np.unique(hc[new], return_index=True)
            rows = new[first]
            cpus = []
            for r in rows.tolist():
                cpu_r = _context_cpu(C[r, :37].tobytes())
                if cpu_r is None:
                    return None
                cpus.append(cpu_r)
            k = self.n_ctx
            if k + rows.size > self.ctx_cpus.size:
                cap = max(k + rows.size, 2 * self.ctx_cpus.size)
                table = np.zeros((cap, 5), np.uint64)
                table[:k] = self.ctx_table[:k]
                cpus_a = np.zeros(cap, np.int32)
                cpus_a[:k] = self.ctx_cpus[:k]
                self.ctx_table, self.ctx_cpus = table, cpus_a
            self.ctx_table[k:k + rows.size] = Cw[rows]
            self.ctx_cpus[k:k + rows.size] = cpus
            self.n_ctx = k + rows.size
            self.ctx.add(uh.tolist(), list(range(k, k + rows.size)))
            cid = self.ctx.lookup(hc)
        diff = np.take(self.ctx_table, cid, axis=0)
        np.bitwise_xor(diff, Cw, out=diff)
        if diff.any():
            return None
        cpu = self.ctx_cpus[cid]
        self.cid = cid     # the context ids of the rows (the replay names their tasks)
        bs = st + (51 + x)
        # the bodies, in tiers of row width (fewer words per row than the longest line's)
        lb = nl - bs
        nw = (lb + 7) >> 3
        gid = np.empty(n, np.int32)
        v1 = np.empty(n, np.uint64)
        v2 = np.zeros(n, np.uint64)
        lo = 0
        for top in _TIERS:
            if lo == 0 and int(nw.max()) <= top:
                res = self._tier(a, bs, lb, nw)
                if res is None:
                    return None
                gid, v1, v2 = res
                break
            sel = np.flatnonzero((nw > lo) & (nw <= top))
            lo = top
            if not sel.size:
                continue
            res = self._tier(a, bs[sel], lb[sel], nw[sel])
            if res is None:
                return None
            gid[sel], v1[sel], v2[sel] = res
        return n, gid, cpu, v1, v2

    def _seconds(self, T: Any) -> bool:
        """The first word of the timestamps when some seconds are below 10000 ("%5lu"
        pads them): columns 0-3 digits or spaces, spaces only before digits; 4, 6 and
        7 digits."""
        dig = [((T[:, c] - 48) < 10) for c in range(8)]
        spc = [T[:, c] == 32 for c in range(4)]
        if not (dig[4].all() and dig[6].all() and dig[7].all()):
            return False
        for c in range(4):
            if not (dig[c] | spc[c]).all():
                return False
            if c and (dig[c - 1] & spc[c]).any():
                return False
        return True

    def _tier(self, a: Any, rb: Any, rl: Any, nw: Any) -> tuple[Any, Any, Any] | None:
        """(template ids, ptr or page values, pfns) of the bodies starting at ``rb``
        (``rl`` bytes each): the fields found as _window_spans finds them, checked and
        read, then blanked; the rows hashed and matched to their templates."""
        np = self.np
        K = int(nw.max())
        W = 8 * K
        m = rb.size
        M = _rows(np, a, rb, W)
        rows = np.arange(m)
        # the first two '=' of each row, a word (8 bytes of the bool row) at a time
        Ew = (M == 61).view(np.uint64)
        nz = Ew != 0
        j = nz.argmax(axis=1)
        w = Ew[rows, j]
        if not w.all():
            return None
        e1 = 8 * j + _lowbyte(np, w)
        w &= w - np.uint64(1)                # the first '=' cleared
        Ew[rows, j] = w
        nz[rows, j] = w != 0
        j = nz.argmax(axis=1)
        w = Ew[rows, j]
        if not w.all():
            return None
        e2 = 8 * j + _lowbyte(np, w)
        if not (e2 < rl).all() or int(e1.min()) < 2:
            return None
        fam = M[rows, e1 - 2]
        slab = fam == 116
        if not (slab | (fam == 103)).all():
            return None
        w1 = np.where(slab, e2 + 1, e1 + 1)
        if not (w1 + 16 <= rl).all():
            return None
        flat = M.reshape(-1)
        base = np.arange(0, m * W, W, dtype=np.int64)
        v1 = _hex16(np, _rows(np, a, rb + w1, 16))
        if v1 is None:
            return None
        v2 = np.zeros(m, np.uint64)
        win = np.lib.stride_tricks.as_strided(flat, shape=(flat.size - 15, 16),
                                              strides=(1, 1))
        win[base + w1] = 48
        pr = np.flatnonzero(~slab)
        if pr.size:
            # pfn: "0x" and 1 to 16 hex digits, then a non-digit
            q0 = rb[pr] + e2[pr] + 1
            Q = _rows(np, a, q0, 24)
            Qw = Q.view(np.uint64)
            if ((Qw[:, 0] & np.uint64(0xFFFF)) != np.uint64(0x7830)).any():   # "0x"
                return None
            ok = ((Q - 48) < 10) | (((Q | 32) - 97) < 6)
            ok[:, :2] = True
            lh = np.argmin(ok, axis=1) - 2      # the digits before the first non-digit
            if not ((lh > 0) & (lh <= 16)).all():
                return None
            # the 16 characters that end with the last digit, the ones before it zeroed
            R = _rows(np, a, q0 + 2 + lh - 16, 16)
            R |= self.lmask[lh]          # the columns before the digits made '0'
            R &= self.lmask2[lh]
            v = _hex16(np, R)
            if v is None:
                return None
            v2[pr] = v
            rep = np.repeat(base[pr] + e2[pr] + 3 - (np.cumsum(lh) - lh), lh)
            flat[rep + np.arange(int(lh.sum()))] = 48
        keep = self.keep_k.get(K)
        if keep is None:
            keep = self.keep_k[K] = np.ascontiguousarray(self.keep[:, :K])
        Mw = M.view(np.uint64)
        Mw &= np.take(keep, rl, axis=0)
        h = Mw @ self.hmul[:K]
        gid = self._gids(h, Mw, rl)
        if gid is None:
            return None
        return gid, v1, v2

    def _gids(self, h: Any, Mw: Any, lb: Any) -> Any:
        """Template ids of the rows (by hash, then checked word for word)."""
        np = self.np
        reg = self.reg
        K = Mw.shape[1]
        h |= np.uint64(1)
        gid = reg.hids.lookup(h)
        new = np.flatnonzero(gid < 0)
        if new.size:
            # new templates: parse each once
            uh, first = np.unique(h[new], return_index=True)
            if _too_many(uh.size, h.size):
                self.many = True
                return None
            rows = new[first]
            gids = []
            for r in rows.tolist():
                g = reg.block_template(Mw[r].tobytes()[:int(lb[r])])
                if g is None:
                    return None
                gids.append(g)
            gids_a = np.array(gids, np.int32)
            if np.isin(gids_a, reg.hids.ti).any():
                return None  # a known template under a new hash: cannot happen
            reg.add_hashes(uh, gids_a, Mw[rows], lb[rows])
            gid = reg.hids.lookup(h)
        tw = reg.words_k.get(K)
        if tw is None:
            tw = reg.words_k[K] = np.ascontiguousarray(reg.words[:, :K])
        diff = np.take(tw, gid, axis=0)
        np.bitwise_xor(diff, Mw, out=diff)
        if diff.any() or not (reg.lens[gid] == lb).all():
            return None  # a hash collision between two templates: line by line
        return gid


class _Ids:
    """Dense ids for 64-bit keys (pointers, pfns): sorted key arrays and the ids (new
    keys wait in a small sorted array that is merged into the big one now and then)."""

    def __init__(self, np: Any) -> None:
        self.np = np
        self.keys = np.empty(0, np.uint64)
        self.ids = np.empty(0, np.int32)
        self.pkeys = np.empty(0, np.uint64)
        self.pids = np.empty(0, np.int32)
        self.key_of = np.empty(1024, np.uint64)
        self.n = 0

    @staticmethod
    def _find(np: Any, keys: Any, ids: Any, u: Any, out: Any, todo: Any) -> Any:
        """Fill out[todo] where u[todo] is in keys; returns the rest of todo."""
        if not keys.size or not todo.size:
            return todo
        uu = u[todo]
        pos = np.searchsorted(keys, uu)
        np.minimum(pos, keys.size - 1, out=pos)
        hit = keys[pos] == uu
        out[todo[hit]] = ids[pos[hit]]
        return todo[~hit]

    def lookup(self, u: Any) -> Any:
        """Ids of the sorted, distinct keys ``u`` (new keys get new ids)."""
        np = self.np
        out = np.empty(u.size, np.int32)
        todo = np.arange(u.size)
        todo = self._find(np, self.keys, self.ids, u, out, todo)
        todo = self._find(np, self.pkeys, self.pids, u, out, todo)
        k = todo.size
        if k:
            nid = np.arange(self.n, self.n + k, dtype=np.int32)
            out[todo] = nid
            nk = u[todo]
            pos = np.searchsorted(self.pkeys, nk)
            self.pkeys = np.insert(self.pkeys, pos, nk)
            self.pids = np.insert(self.pids, pos, nid)
            if self.n + k > self.key_of.size:
                grown = np.empty(max(self.n + k, 2 * self.key_of.size), np.uint64)
                grown[:self.n] = self.key_of[:self.n]
                self.key_of = grown
            self.key_of[self.n:self.n + k] = nk
            self.n += k
            if self.pkeys.size > max(8192, self.keys.size // 4):
                pos = np.searchsorted(self.keys, self.pkeys)
                self.keys = np.insert(self.keys, pos, self.pkeys)
                self.ids = np.insert(self.ids, pos, self.pids)
                self.pkeys = self.pkeys[:0]
                self.pids = self.pids[:0]
        return out


def _stable_order(np: Any, key: Any) -> Any:
    """np.argsort(key, kind="stable") for uint64 keys, as an LSD radix sort on 16-bit
    digits of key - min(key) (numpy sorts uint16 by counting, 64-bit keys by merging)."""
    lo = key.min()
    span = int(key.max() - lo)
    if span == 0:
        return np.arange(key.size)
    if lo:
        key = key - lo
    order = None
    for shift in range(0, span.bit_length(), 16):
        d = (key >> np.uint64(shift)).astype(np.uint16) if shift else key.astype(np.uint16)
        if order is not None:
            d = d[order]
        o = np.argsort(d, kind="stable")
        order = o if order is None else order[o]
    return order


class _State:
    """Per-id arrays of a matcher, grown with its ids."""

    def __init__(self, np: Any, fields: dict[str, Any]) -> None:
        self.np = np
        self.fields = fields
        self.cap = 0
        self.grow(1024)

    def grow(self, need: int) -> None:
        if need <= self.cap:
            return
        np = self.np
        cap = max(need, 2 * self.cap)
        for name, (dtype, fill) in self.fields.items():
            arr = np.full(cap, fill, dtype)
            if self.cap:
                arr[:self.cap] = getattr(self, name)
            setattr(self, name, arr)
        self.cap = cap


def _addcount(np: Any, acc: Any, idx: Any) -> Any:
    """acc[i] += (number of i in idx), growing acc as needed; returns acc."""
    if idx.size == 0:
        return acc
    c = np.bincount(idx)
    if c.size > acc.size:
        grown = np.zeros(max(c.size, 2 * acc.size), np.int64)
        grown[:acc.size] = acc
        acc = grown
    acc[:c.size] += c
    return acc


def _count_into(np: Any, counts: dict[tuple[int, ...], int], *cols: Any) -> None:
    """counts[(a, b, ...)] += how often each tuple of the columns (non-negative ints)
    occurs."""
    tops = [int(c.max()) + 1 for c in cols]
    span = 1
    for t in tops:
        span *= t
    if span < 1 << 62:    # one int64 per tuple
        key = cols[0].astype(np.int64)
        for c, t in zip(cols[1:], tops[1:]):
            key = key * t + c
        u, n = np.unique(key, return_counts=True)
        parts = []
        rest = u
        for t in reversed(tops[1:]):
            parts.append(rest % t)
            rest = rest // t
        parts.append(rest)
        tuples: Any = zip(*[p.tolist() for p in reversed(parts)])
    else:
        u, n = np.unique(np.stack([c.astype(np.int64) for c in cols], axis=1), axis=0,
                         return_counts=True)
        tuples = map(tuple, u.tolist())
    for key, c in zip(tuples, n.tolist()):
        counts[key] = counts.get(key, 0) + c


class _Engine:
    """TraceStats' accounting over arrays of records in file order: (template id, cpu,
    ptr or page, pfn). Order-free sums are counts by (template, variant); the
    alloc/free matching is replayed per pointer (and per pfn) with the state that the
    previous blocks left (live, cpu, payload), so it is the record-by-record result."""

    def __init__(self, np: Any, stats: TraceStats, reg: _Registry) -> None:
        self.np = np
        self.st = stats
        self.reg = reg
        self.per_pointer = stats.per_pointer
        self.cnt = np.zeros(2048, np.int64)        # [2 * gid + variant]
        self.sids = _Ids(np)
        self.pids = _Ids(np)
        sf = {"live": (bool, False), "cpu": (np.int32, 0), "val": (np.int32, -1)}
        if self.per_pointer:
            sf.update(hits=(np.int64, 0), req=(np.int64, 0), alloc=(np.int64, 0),
                      pp=(np.int64, 0), last=(np.int32, -1))
        self.s = _State(np, sf)
        self.p = _State(np, {"live": (bool, False), "val": (np.int32, -1)})
        self.freed = np.zeros(256, np.int64)       # matched frees by payload
        self.pp_pay = np.zeros(256, np.int64)      # ping-pong frees by payload
        self.nomatch = np.zeros(256, np.int64)     # page frees without alloc, by template
        self.pfree: dict[tuple[int, int], int] = {}       # (page key, free template) -> n
        self.rows_alloc: dict[tuple[int, int], int] = {}  # per pfn: (id, page key) -> n
        self.rows_free: dict[tuple[int, int, int], int] = {}
        self.unknown = self.relive = self.pingpong = self.realloc = 0
        self.queue: list[tuple[Any, Any, Any, Any]] = []
        self.queued = 0

    def feed(self, gid: Any, cpu: Any, v1: Any, v2: Any) -> None:
        """Account records (arrays in file order); they wait until 40,000 have come."""
        self.queue.append((gid, cpu, v1, v2))
        self.queued += gid.size
        if self.queued >= 40_000:
            self.flush()

    def flush(self) -> None:
        q = self.queue
        if not q:
            return
        self.queue = []
        self.queued = 0
        if len(q) == 1:
            self._feed(*q[0])
        else:
            np = self.np
            self._feed(*(np.concatenate(cols) for cols in zip(*q)))

    def _feed(self, gid: Any, cpu: Any, v1: Any, v2: Any) -> None:
        np = self.np
        reg = self.reg
        reg.arrays()
        st = self.st
        kind = reg.kind[gid]
        # variant 1: a failed allocation (NULL ptr or page), a free of NULL or of a
        # pointer <= 16 (ZERO_OR_NULL_PTR): counted, not matched
        var = (((kind == _SA) | (kind == _PA)) & (v1 == 0)) | ((kind == _SF) & (v1 <= 16))
        idx = 2 * gid.astype(np.int64) + var
        self.cnt = _addcount(np, self.cnt, idx)
        if st.layout is None:
            code = reg.layout[gid]
            first = np.flatnonzero(code)
            if first.size:
                st.layout = _LAYOUT_NAME[int(code[first[0]])]
        sel = np.flatnonzero(((kind == _SA) | (kind == _SF)) & ~var)
        if sel.size:
            self._slab(v1[sel], kind[sel] == _SA, cpu[sel], gid[sel])
        sel = np.flatnonzero(((kind == _PA) & ~var) | (kind == _PF))
        if sel.size:
            self._page(v2[sel], kind[sel] == _PA, gid[sel])

    def _slab(self, key: Any, isa: Any, cpu: Any, gid: Any) -> None:
        # TraceStats._slab_alloc / _slab_free, pointer by pointer in file order
        np = self.np
        o = _stable_order(np, key)
        k = key[o]
        A = isa[o]
        c = cpu[o]
        g = gid[o]
        p = self.reg.pay[g]
        m = k.size
        start = np.empty(m, bool)
        start[0] = True
        np.not_equal(k[1:], k[:-1], out=start[1:])
        gs = np.flatnonzero(start)
        ids = self.sids.lookup(k[gs])
        S = self.s
        S.grow(self.sids.n)
        # before each event: after the previous event of its pointer, or the state left
        pl = np.empty(m, bool)
        pl[1:] = A[:-1]
        pl[gs] = S.live[ids]
        pc = np.empty(m, np.int32)
        pc[1:] = c[:-1]
        pc[gs] = S.cpu[ids]
        pv = np.empty(m, np.int32)
        pv[1:] = p[:-1]
        pv[gs] = S.val[ids]
        F = ~A
        matched = F & pl
        nm = int(np.count_nonzero(matched))
        self.unknown += int(np.count_nonzero(F)) - nm
        self.relive += int(np.count_nonzero(A & pl))
        if nm:
            self.freed = _addcount(np, self.freed, pv[matched])
        ping = matched & (c != pc)
        npp = int(np.count_nonzero(ping))
        if npp:
            self.pingpong += npp
            self.pp_pay = _addcount(np, self.pp_pay, pv[ping])
        ge = np.empty_like(gs)
        ge[:-1] = gs[1:] - 1
        ge[-1] = m - 1
        S.live[ids] = A[ge]
        S.cpu[ids] = c[ge]
        S.val[ids] = p[ge]
        if self.per_pointer:
            reg = self.reg
            S.hits[ids] += np.add.reduceat(A.astype(np.int64), gs)
            S.req[ids] += np.add.reduceat(np.where(A, reg.req[g], 0), gs)
            S.alloc[ids] += np.add.reduceat(np.where(A, reg.alloc[g], 0), gs)
            if npp:
                S.pp[ids] += np.add.reduceat(ping.astype(np.int64), gs)
            la = np.maximum.reduceat(np.where(A, np.arange(m), -1), gs)
            has = la >= 0
            S.last[ids[has]] = p[la[has]]

    def _page(self, key: Any, isa: Any, gid: Any) -> None:
        # TraceStats._page_alloc / _page_free (successful allocations), pfn by pfn
        np = self.np
        reg = self.reg
        o = _stable_order(np, key)
        k = key[o]
        A = isa[o]
        g = gid[o]
        pk = reg.pkey[g]
        m = k.size
        start = np.empty(m, bool)
        start[0] = True
        np.not_equal(k[1:], k[:-1], out=start[1:])
        gs = np.flatnonzero(start)
        ids = self.pids.lookup(k[gs])
        S = self.p
        S.grow(self.pids.n)
        pl = np.empty(m, bool)
        pl[1:] = A[:-1]
        pl[gs] = S.live[ids]
        pv = np.empty(m, np.int32)
        pv[1:] = pk[:-1]
        pv[gs] = S.val[ids]
        F = ~A
        matched = F & pl
        self.realloc += int(np.count_nonzero(A & pl))
        self.nomatch = _addcount(np, self.nomatch, g[F & ~pl])
        if matched.any():
            _count_into(np, self.pfree, pv[matched], g[matched])
        ge = np.empty_like(gs)
        ge[:-1] = gs[1:] - 1
        ge[-1] = m - 1
        S.live[ids] = A[ge]
        S.val[ids] = pk[ge]
        if self.per_pointer:
            ev_ids = ids[np.cumsum(start) - 1]
            _count_into(np, self.rows_alloc, ev_ids[A], pk[A])
            if matched.any():
                _count_into(np, self.rows_free, ev_ids[matched], pv[matched], g[matched])

    def finish(self) -> None:
        """Put the results into the TraceStats (as record-by-record feeding leaves them)."""
        self.flush()
        np = self.np
        st = self.st
        reg = self.reg
        sites = st.sites
        page_size = st.page_size
        cnt = self.cnt.tolist()
        cnt += [0] * max(0, 2 * len(reg.tmpls) - len(cnt))
        n_alloc = n_req = n_bytes = n_free = fails = null = 0
        p_alloc = p_alloc_bytes = p_free = p_free_bytes = 0
        by_event = st.slab_by_event
        by_gfp = st.slab_by_gfp
        for i, t in enumerate(reg.tmpls):
            c0, c1 = cnt[2 * i], cnt[2 * i + 1]
            if not (c0 or c1):
                continue
            kind = t.kind
            if kind == _SA:
                by_event[t.ev] = by_event.get(t.ev, 0) + c0 + c1
                fails += c1
                if c0:
                    n_alloc += c0
                    n_req += c0 * t.req
                    n_bytes += c0 * t.alloc
                    site = sites.get(t.cs)
                    if site is None:
                        site = sites[t.cs] = _SlabSite(t.cs, t.cs)
                    site.hit += c0
                    site.bytes_req += c0 * t.req
                    site.bytes_alloc += c0 * t.alloc
                    gs = by_gfp.get(t.gfp)
                    if gs is None:
                        gs = by_gfp[t.gfp] = [0, 0]
                    gs[0] += c0
                    gs[1] += c0 * t.alloc
            elif kind == _SF:
                by_event[t.ev] = by_event.get(t.ev, 0) + c0 + c1
                n_free += c0 + c1
                null += c1
                if t.name is not None:
                    st.cache_frees[t.name] = st.cache_frees.get(t.name, 0) + c0 + c1
            elif kind == _PA:
                p_alloc += c0 + c1
                p_alloc_bytes += (c0 + c1) * t.nbytes
                if c1:
                    st.page_fails += c1
                    st.page_fail_bytes += c1 * t.nbytes
                if c0:
                    okey = (t.order, t.mt)
                    st.order_stats[okey] = st.order_stats.get(okey, 0) + c0
                    key = (t.order, t.mt, t.gfp)
                    row = st.page_groups.get(key)
                    if row is None:
                        row = st.page_groups[key] = _PageRow(None, t.order, t.mt, t.gfp)
                    row.nr_alloc += c0
                    row.alloc_bytes += c0 * t.nbytes
            elif kind == _PF:
                p_free += c0
                p_free_bytes += c0 * t.nbytes
            elif kind == _PFB:
                st.page_free_batched += c0
            elif kind == _ZL:
                st.zone_locked += c0
                st.zone_locked_pages += c0 * t.pages
            elif kind == _PD:
                st.pcpu_drain += c0
                st.pcpu_drain_pages += c0 * t.pages
            else:
                st.extfrag += c0
                st.extfrag_fragmenting += c0 * t.frag
                st.extfrag_change_ownership += c0 * t.co
                st.extfrag_by_types[t.efkey] = st.extfrag_by_types.get(t.efkey, 0) + c0
        pays = reg.pays
        freed = 0
        for pid, c in enumerate(self.freed.tolist()):
            if c:
                freed += c * pays[pid][0]
        for pid, c in enumerate(self.pp_pay.tolist()):
            if c:
                sites[pays[pid][1]].pingpong += c
        st.slab_alloc_calls += n_alloc
        st.bytes_req += n_req
        st.bytes_alloc += n_bytes
        st.slab_free_calls += n_free
        st.bytes_freed += freed
        st.pingpong += self.pingpong
        st.free_unknown += self.unknown
        st.free_null += null
        st.alloc_of_live_ptr += self.relive
        st.slab_alloc_failures += fails
        # the live objects, and each call site's share of them
        S = self.s
        n_ids = self.sids.n
        live = np.flatnonzero(S.live[:n_ids])
        lpay = S.val[live]
        pay_alloc = [q[0] for q in pays]
        pay_cs = [q[1] for q in pays]
        pay_req = [q[2] for q in pays]
        keys = self.sids.key_of[live]
        cpus = S.cpu[live]
        nbytes = 0
        for pid, c in enumerate(np.bincount(lpay).tolist() if lpay.size else []):
            if c:
                site = sites[pay_cs[pid]]
                site.live += c
                site.live_bytes += c * pay_alloc[pid]
                nbytes += c * pay_alloc[pid]

        def fill() -> dict[int, tuple[int, int, str, int]]:
            lp = lpay.tolist()
            d = dict(st.__dict__.get("_live") or {})
            d.update(zip(keys.tolist(), zip(cpus.tolist(), map(pay_alloc.__getitem__, lp),
                                            map(pay_cs.__getitem__, lp),
                                            map(pay_req.__getitem__, lp))))
            return d

        fill.count = len(st._live) + int(live.size)  # type: ignore[attr-defined]
        fill.nbytes = sum(v[1] for v in st._live.values()) + nbytes  # type: ignore[attr-defined]
        if fill.count == int(live.size):  # type: ignore[attr-defined]
            del st.__dict__["_live"]
            st.__dict__["_live_fill"] = fill
        else:  # pragma: no cover - the engine always starts from an empty TraceStats
            st._live.update(fill())
        if self.per_pointer:
            ptrs = st.ptrs
            ptr_of = self.sids.key_of[:n_ids].tolist()
            hits = S.hits[:n_ids].tolist()
            for i in np.flatnonzero(S.hits[:n_ids]).tolist():
                ptr = ptr_of[i]
                pid = int(S.last[i])
                ps = ptrs.get(ptr)
                if ps is None:
                    ps = ptrs[ptr] = _SlabSite(ptr, pay_cs[pid])
                ps.call_site = pay_cs[pid]
                ps.hit += hits[i]
                ps.bytes_req += int(S.req[i])
                ps.bytes_alloc += int(S.alloc[i])
                ps.pingpong += int(S.pp[i])
                if S.live[i]:
                    ps.live = 1
                    ps.live_bytes = pay_alloc[int(S.val[i])]
                else:
                    ps.live = 0
                    ps.live_bytes = 0
        # pages
        tm = reg.tmpls
        nomatch = nomatch_bytes = 0
        for i, c in enumerate(self.nomatch.tolist()):
            if c:
                nomatch += c
                nomatch_bytes += c * tm[i].nbytes
        pkeys = reg.pkeys
        for (kid, i), c in self.pfree.items():
            row = st.page_groups[pkeys[kid]]
            row.nr_free += c
            row.free_bytes += c * tm[i].nbytes
        st.page_alloc_calls += p_alloc
        st.page_alloc_bytes += p_alloc_bytes
        st.page_free_calls += p_free
        st.page_free_bytes += p_free_bytes
        st.page_nomatch += nomatch
        st.page_nomatch_bytes += nomatch_bytes
        st.page_realloc_live += self.realloc
        P = self.p
        n_p = self.pids.n
        plive = np.flatnonzero(P.live[:n_p])
        st._live_pages.update(zip(self.pids.key_of[plive].tolist(),
                                  map(pkeys.__getitem__, P.val[plive].tolist())))
        if self.per_pointer:
            pkey_of = self.pids.key_of[:n_p].tolist()
            rows = st.page_rows
            for (i, kid), c in self.rows_alloc.items():
                order, mt, gfp = pkeys[kid]
                pfn = pkey_of[i]
                rk = (pfn, order, mt, gfp)
                prow = rows.get(rk)
                if prow is None:
                    prow = rows[rk] = _PageRow(pfn, order, mt, gfp)
                prow.nr_alloc += c
                prow.alloc_bytes += c * (page_size << order)
            for (i, kid, gi), c in self.rows_free.items():
                prow = rows[(pkey_of[i], *pkeys[kid])]
                prow.nr_free += c
                prow.free_bytes += c * tm[gi].nbytes


class _BlockStats:
    """trace_stats(): reads like scan_records() and accounts like TraceStats.add(),
    blocks of plain lines with numpy (_BlockScan, _Engine), other blocks line by line.

    Why a line of a plain block is read by the per-line path as the record made of it
    (the fast path if its comm has no space, else the general path; both give the
    same cpu, event and body): the columns are those of trace_print_context() (the
    '-', ' [', '] ', the flags, ' ', the seconds ' *[0-9]+', '.', 6 digits, ': '), the
    pid is digits then spaces, the comm holds no '[' (so the first '-digits ws [' of
    the line is the one at column 16, and no prefix inside the comm can match
    _CTX_RE or _HEAD_RE), the line is printable ASCII; the body is its template's,
    which the fast regex of its event accepts with the blanked fields as its ptr,
    page and pfn groups, and these fields are hex digits in the line.
    """

    def __init__(self, stats: TraceStats, rep: ParseReport) -> None:
        np = _numpy()
        self.np = np
        self.st = stats
        self.rep = rep
        self.reg = _Registry(np, stats.page_size)
        self.scan = _BlockScan(np, self.reg)
        self.engine: _Engine | None = _Engine(np, stats, self.reg)
        # the per-line path (scan_records' loop, kept in step by the tests)
        self.contexts: dict[str, Any] = {}
        self.fast = {ev: rx.match for ev, rx in _FAST_RE.items()}
        self.lineno = 0
        self.other = 0
        self.block_lines = 0    # lines accounted by the block path
        self.line_lines = 0     # lines read line by line
        self.escaped = False    # the rest went to TraceStats.feed_fields

    # ---------------------------------------------------------------- reading
    def run(self, source: Any, progress: bool | None) -> None:
        rep = self.rep
        rep.max_malformed = 20
        src = _Source(source)
        rep.source = src.name
        bar = _make_progress(progress, src.size, os.path.basename(src.name))
        by_event = rep.records_by_event
        before = sum(by_event.values())
        last_pos = 0
        text_io = src.text
        if isinstance(text_io, io.TextIOWrapper) and text_io in src.owned:
            read = _RawText(text_io.buffer).read   # bytes for plain chunks
        else:
            read = text_io.read
        self.tail: Any = ""
        self.ba = bytearray(_SUPER * _CHUNK + (1 << 17) + len(_PADB))
        self.skipping = False
        pending: list[str] = []
        try:
            while True:
                try:
                    chunk = read(_CHUNK)
                except (EOFError, OSError, zlib.error) as exc:
                    self._pending(pending)  # read before the failing read: account them
                    raise _ReadError(exc) from exc
                if not chunk:
                    break
                pending.append(chunk)
                if len(pending) == _SUPER:
                    self._pending(pending)
                    if bar is not None:
                        pos = src.tell()
                        bar.update(pos - last_pos)
                        last_pos = pos
                    if self.engine is None:
                        break
            if self.engine is None:     # escaped: the rest line by line, as scan_records
                self.st.feed_fields(self._stream(read))
            else:
                self._pending(pending)
                tail = self.tail
                if tail.__class__ is bytes:
                    tail = tail.decode("ascii")
                if tail:
                    if len(tail) >= _MAX_LINE:
                        self._lines([_Overlong(tail[:200])], False, False)
                    else:
                        self._lines([tail], False, True)
            lineno = self.lineno
            rep.lines_read = lineno
            rep.records = nrec = sum(by_event.values()) - before
            if nrec == 0 and self.other == 0 and rep.header_lines == 0 and rep.malformed_count:
                n, text = rep.malformed[0]
                raise TraceFormatError(
                    f"{src.name}: no ftrace event lines found (line {n}: {text[:80]!r}); "
                    "expected the text of /sys/kernel/tracing/trace or of trace-cmd report")
            rep.complete = True
        except _ReadError as exc:
            cause = exc.__cause__
            raise TraceFormatError(
                f"{src.name}: truncated or corrupt gzip data after line {self.lineno} "
                f"({cause})") from cause
        finally:
            rep.lines_read = self.lineno
            rep.records = sum(by_event.values()) - before
            if bar is not None:
                bar.update(max(0, (src.size or 0) - last_pos))
                bar.close()
            src.close()
        if self.engine is not None:
            self.engine.finish()

    def _pending(self, pending: list[Any]) -> None:
        """The chunks read since the last call (bytes when plain ASCII, else str), in
        order, as _read_blocks reads each: as one block when they are plain."""
        if not pending:
            return
        chunks = pending[:]
        pending.clear()
        tail = self.tail
        if not self.skipping and self.engine is not None:
            if all(c.__class__ is list for c in chunks) and (
                    tail.__class__ is bytes or tail.isascii()):
                if tail.__class__ is str:
                    tail = tail.encode("ascii")
                size = len(tail) + sum(len(p) for c in chunks for p in c)
                if len(self.ba) < size + len(_PADB):
                    self.ba = bytearray(2 * (size + len(_PADB)))
                buf = self.ba
                buf[:len(tail)] = tail
                pos = len(tail)
                for c in chunks:
                    for piece in c:
                        buf[pos:pos + len(piece)] = piece
                        pos += len(piece)
                cut = buf.rfind(b"\n", 0, size) + 1
                if cut and self._block(buf, cut):
                    self._tail(bytes(buf[cut:size]))
                    return
            else:
                text = "".join([tail if tail.__class__ is str else tail.decode("ascii")]
                               + [c if c.__class__ is str else b"".join(c).decode("ascii")
                                  for c in chunks] + [_PAD])
                end = len(text) - len(_PAD)
                cut = text.rfind("\n", 0, end) + 1
                if cut and text.isascii() and self._block(text.encode("ascii"), cut):
                    self._tail(text[cut:end])
                    return
        if tail.__class__ is bytes:
            self.tail = tail.decode("ascii")
        for chunk in chunks:   # _read_blocks, chunk by chunk
            if chunk.__class__ is list:
                chunk = b"".join(chunk).decode("ascii")
            if self.skipping:
                nl = chunk.find("\n")
                if nl < 0:
                    continue
                chunk = chunk[nl + 1:]
                self.skipping = False
            elif self.tail:
                chunk = self.tail + chunk
            cut = chunk.rfind("\n") + 1
            if cut:
                done = False
                if self.engine is not None and chunk.isascii():
                    done = self._block((chunk[:cut] + _PAD).encode("ascii"), cut)
                if not done:
                    parts = chunk[:cut - 1].split("\n")
                    if max(map(len, parts)) >= _MAX_LINE:
                        parts = [p if len(p) < _MAX_LINE else _Overlong(p[:200]) for p in parts]
                        self._lines(parts, True, False)
                    else:
                        self._lines(parts, True, True)
            self._tail(chunk[cut:])

    def _tail(self, tail: Any) -> None:
        """_read_blocks after each chunk: the unfinished last line, or its first 200
        characters as an overlong line when it has become one."""
        if len(tail) >= _MAX_LINE:
            if tail.__class__ is bytes:
                tail = tail[:200].decode("ascii")
            self._lines([_Overlong(tail[:200])], True, False)
            tail = ""
            self.skipping = True
        self.tail = tail

    def _block(self, buf: bytes, end: int) -> bool:
        """Account ``buf[:end]`` (whole lines, ASCII) with numpy if every line is plain;
        leading lines that start with '#' (a trace's header) are read line by line."""
        pos = 0
        while buf.startswith(b"#", pos):
            nxt = buf.find(b"\n", pos, end)
            if nxt < 0 or nxt - pos >= _MAX_LINE:
                return False
            pos = nxt + 1
        if pos >= end:
            return False
        res = self.scan.scan(buf, pos, end)
        if res is None:
            if self.scan.many:
                # nearly a template per line (sizes or call sites all different): the
                # dict-based accounting of TraceStats is cheaper from here on
                self._escape()
            return False
        if pos:
            self._lines(buf[:pos - 1].decode("ascii").split("\n"), True, True)
            if self.engine is None:  # a record of the header could not be held
                self._lines(buf[pos:end - 1].decode("ascii").split("\n"), True, True)
                return True
        n, gid, cpu, v1, v2 = res
        self.lineno += n
        self.block_lines += n
        self.reg.arrays()
        ev_counts = self.np.bincount(self.reg.evid[gid], minlength=len(_EVENT_LIST))
        by_event = self.rep.records_by_event
        for i, c in enumerate(ev_counts.tolist()):
            if c:
                ev = _EVENT_LIST[i]
                by_event[ev] = by_event.get(ev, 0) + c
        self.engine.feed(gid, cpu, v1, v2)
        return True

    # ---------------------------------------------------------- line by line
    def _lines(self, block: list[str], terminated: bool, clean: bool) -> None:
        """scan_records' loop on one block, its records given to the engine."""
        recs = list(self._iter(block, terminated, clean))
        self.line_lines += len(block)
        if self.engine is not None and self.line_lines > 20_000 and (
                self.line_lines > 2 * self.block_lines):
            self._escape()   # mostly read line by line: TraceStats' accounting is cheaper
        if not recs:
            return
        if self.engine is not None:
            try:
                self.engine.feed(*self._arrays(recs))
                return
            except _Escape:
                self._escape()
        self.st.feed_fields(recs)

    def _stream(self, read: Callable[[int], Any]) -> Iterator[Any]:
        """The rest of the input line by line, the records for TraceStats.feed_fields()
        (_read_blocks and scan_records' loop, after _escape)."""
        tail = self.tail
        if tail.__class__ is bytes:
            tail = tail.decode("ascii")
        skipping = self.skipping
        while True:
            try:
                chunk = read(_CHUNK)
            except (EOFError, OSError, zlib.error) as exc:
                raise _ReadError(exc) from exc
            if not chunk:
                break
            if chunk.__class__ is list:
                chunk = b"".join(chunk).decode("ascii")
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
                    yield from self._iter(parts, True, False)
                else:
                    yield from self._iter(parts, True, True)
            if len(tail) >= _MAX_LINE:
                yield from self._iter([_Overlong(tail[:200])], True, False)
                tail = ""
                skipping = True
        if tail:
            if len(tail) >= _MAX_LINE:
                yield from self._iter([_Overlong(tail[:200])], False, False)
            else:
                yield from self._iter([tail], False, True)
        self.tail = ""

    def _escape(self) -> None:
        """From here on TraceStats accounts the records itself (feed_fields)."""
        if self.engine is not None:
            self.engine.finish()
            self.engine = None
            self.escaped = True

    def _arrays(self, recs: list[tuple[Any, ...]]) -> tuple[Any, Any, Any, Any]:
        """(template ids, cpus, ptr/page values, pfns) of per-line records."""
        np = self.np
        reg = self.reg
        known = len(reg.tmpls)
        by_key = reg.by_key
        gids: list[int] = []
        cpus: list[int] = []
        v1s: list[int] = []
        v2s: list[int] = []
        for ev, _lineno, _line, ctx, g in recs:
            kind = _KIND[ev]
            if kind <= _SF:
                key = (ev, g[0], g[1], *g[3:])
                p = g[2]
                v1 = 0 if p[-1] == ")" else int(p, 16)
                v2 = 0
            else:
                pf = g[1]
                key = (ev, pf[:2] == "0x", *g[2:])
                p = g[0]
                v1 = 0 if p[-1] == ")" else int(p, 16)
                v2 = _pfn(pf) or 0
            gid = by_key.get(key)
            if gid is None:
                gid = by_key[key] = reg.add(ev, g)
            cpu = int(ctx[2])
            if v1 >= _U64 or v2 >= _U64 or cpu >= _I31:
                raise _Escape
            gids.append(gid)
            cpus.append(cpu)
            v1s.append(v1)
            v2s.append(v2)
        if (self.st.per_pointer and not reg.small) or _too_many(len(reg.tmpls) - known,
                                                                 len(recs)):
            raise _Escape
        return (np.array(gids, np.int32), np.array(cpus, np.int32),
                np.array(v1s, np.uint64), np.array(v2s, np.uint64))

    def _iter(self, block: list[str], terminated: bool, clean: bool) -> Iterator[Any]:
        # scan_records(), the loop over the lines of one block (events: all)
        rep = self.rep
        by_event = rep.records_by_event
        skipped = rep.skipped_by_event
        contexts = self.contexts
        ctx_match = _CTX_RE.fullmatch
        head_match = _HEAD_RE.match
        body_res = _BODY_RE
        quick = self.fast if clean else None
        lineno = self.lineno
        for lineno, line in enumerate(block, self.lineno + 1):
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
            if body_re is None:
                skipped[ev] = skipped.get(ev, 0) + 1
                self.other += 1
                continue
            body = body_re.match(text, head.end())
            if body is None:
                rep._bad(lineno, text)
                continue
            by_event[ev] = by_event.get(ev, 0) + 1
            yield ev, lineno, line, head.group(1, 2, 3), body.groups()
        self.lineno = lineno
