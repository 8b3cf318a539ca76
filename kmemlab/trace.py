"""The simulator's event log, written as the kernel's ftrace ``kmem:*`` events.

Every state change appends one event. ``k.trace.to_ftrace()`` prints them exactly
as ``/sys/kernel/tracing/trace`` does for the profile's version
(include/trace/events/kmem.h; kernel/trace/trace_output.c: trace_print_context),
so the same parser (:mod:`kmemlab.traceparse`) reads the simulator's output and a
real machine's.

Time is simulated: each event advances the clock by a fixed step
(:data:`EVENT_STEP_NS`), never by the wall clock.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from .i18n import translate_why

EVENT_STEP_NS = 1000  # each event advances the simulated clock by 1 µs
# Like ftrace's ring buffer, the log keeps the newest events only (overwrite mode);
# entries-written still counts all of them.
DEFAULT_BUFFER_EVENTS = 1_000_000

PAGE_ALLOC_KEYS = ("pfn", "order", "migratetype", "gfp_flags")
_ZONE_LOCKED_KEYS = ("pfn", "order", "migratetype", "percpu_refill")
PAGE_FREE_KEYS = ("pfn", "order")
PCPU_DRAIN_KEYS = ("pfn", "order", "migratetype")
PCPU_DRAIN_WHY = "per-CPU list over its high mark: page given back to the buddy allocator"
KMALLOC_KEYS = ("call_site", "ptr", "bytes_req", "bytes_alloc", "gfp_flags", "node", "accounted")
KFREE_KEYS = ("call_site", "ptr")
KMEM_CACHE_ALLOC_KEYS = KMALLOC_KEYS + ("name",)
KMEM_CACHE_FREE_KEYS = ("call_site", "ptr", "name")

# Call sites: the simulator's callers are Python functions. For the 3.15 format
# (call_site=%lx) each label gets a stable fake text address; 6.x prints %pS.
_TEXT_BASE = 0xFFFFFFFF81000000


_ZONE_LOCKED_WHY = ("took a block from the buddy free lists under the zone lock",
                    "took a block from the buddy free lists under the zone lock to refill a "
                    "per-CPU list")


def call_site_address(label: str) -> int:
    """A stable kernel-text-like address for a call-site label (3.15's ``%lx``)."""
    return _TEXT_BASE + ((zlib.crc32(label.encode()) & 0xFFFFF) << 4)


def counting_why(template: str, args: tuple, first_value: int, step: int) -> tuple:
    """The why of a run of events written by one :meth:`TraceLog.record_batch`:
    ``template`` formatted with ``args`` and a last argument that moves by ``step``
    from one event to the next (the per-CPU list count as pages go on or come off
    it). One flat tuple of plain values for the whole run, formatted when read: the
    garbage collector untracks it, and then the events that hold it, at the first
    collection (a nested tuple can leave them tracked into the oldest generation)."""
    return (template, first_value, step) + args


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One event: what a line of ``/sys/kernel/tracing/trace`` says, plus the why."""

    index: int
    timestamp_ns: int
    cpu: int
    pid: int
    comm: str
    irq_flags: str
    name: str
    fields: dict
    why: str

    @property
    def timestamp(self) -> float:
        return self.timestamp_ns / 1e9

    def __getitem__(self, key: str):
        return self.fields[key]


class _Run:
    """``n`` consecutive events of one name written by :meth:`TraceLog.record_batch`,
    kept as columns: like ftrace's ring buffer, a compact record rather than ``n``
    Python tuples (a vfree of 1 MiB writes 256 events; as tuples they are 256
    objects to create, track, collect and free). ``head`` is (cpu, pid, comm,
    irqflags, name, field names, why); a column is a list (one value per event) or
    one value shared by all."""

    __slots__ = ("ts0", "head", "n", "columns")

    def __init__(self, ts0: int, head: tuple, n: int, columns: tuple) -> None:
        self.ts0 = ts0
        self.head = head
        self.n = n
        self.columns = columns

    def event(self, k: int) -> tuple:
        """Event ``k`` of the run as the one-tuple layout of a single event."""
        return (self.ts0 + k * EVENT_STEP_NS,) + self.head + \
            tuple(c[k] if type(c) is list else c for c in self.columns)

    def part(self, a: int, b: int) -> _Run:
        """Events [a, b) of the run."""
        return _Run(self.ts0 + a * EVENT_STEP_NS, self.head, b - a,
                    tuple(c[a:b] if type(c) is list else c for c in self.columns))


# A _Packed chunk keeps each event in PACK consecutive slots of one flat list, at
# most PACKED_EVENTS events: then it becomes a tuple, which the garbage collector
# stops visiting once it has seen that it holds only plain values (a list is visited,
# slot by slot, by every collection of its generation).
PACK = 9
PACKED_EVENTS = 4096


class _Packed:
    """Events written by the SLUB fast paths (kmalloc, kfree, kmem_cache_alloc,
    kmem_cache_free) and the page allocator's in-line order-0 take and free
    (mm_page_alloc, mm_page_free), ``PACK`` slots each in one flat list: timestamp,
    cpu, pid, comm, irq flags, head, and three field values. ``head`` is (name, field
    names, why, how many of the three values are fields, the constant fields after
    them): what one kmalloc size class, one cache's kfree or one per-CPU list count
    has in common, made once. Appending
    to a list makes no object that lives on (a tuple per event is one more for the
    garbage collector to visit and untrack); events are made into tuples when read.
    The chunk being written is ``TraceLog.packed``; anything else recorded, any
    read, or PACKED_EVENTS events close it (its list becomes a tuple)."""

    __slots__ = ("vals",)

    def __init__(self, vals: list) -> None:
        self.vals = vals

    @property
    def n(self) -> int:
        return len(self.vals) // PACK

    def event(self, k: int) -> tuple:
        """Event ``k`` of the chunk as the one-tuple layout of a single event."""
        v = self.vals
        o = k * PACK
        head = v[o + 5]
        return (v[o], v[o + 1], v[o + 2], v[o + 3], v[o + 4], head[0], head[1], head[2]) + \
            tuple(v[o + 6:o + 6 + head[3]]) + head[4]

    def name(self, k: int) -> str:
        return self.vals[k * PACK + 5][0]

    def part(self, a: int, b: int) -> _Packed:
        """Events [a, b) of the chunk."""
        return _Packed(self.vals[a * PACK:b * PACK])


def packed_head(name: str, keys: tuple, why: str, nvalues: int, tail: tuple) -> tuple:
    """The ``head`` of a :class:`_Packed` event (the fast paths make one per size
    class, cache or per-CPU list count and reuse it): the event's name, field names
    and why, how many of the three packed values are its first fields, and its
    remaining field values."""
    return (name, keys, why, nvalues, tail)


class TraceLog:
    """The event list of one simulated kernel (``k.trace``)."""

    def __init__(self, kernel) -> None:
        self.kernel = kernel
        self.profile = kernel.profile
        self.enabled = True
        # The buffer: entries, each one event as a flat tuple of plain values
        # (ts_ns, cpu, pid, comm, irqflags, name, field names, why, *field values),
        # which the garbage collector untracks, or a _Run of events. Events before
        # _dropped have left; next_index is the index the next event gets. _first[j] is
        # the index of the first event of entry j, filled in by _sync_first when
        # someone reads (recording an event only appends its tuple: that is the
        # cost of every kmalloc, kfree and page event).
        self._entries: list = []
        self._first: list[int] = []
        self._first_next = 0            # the first event index of _entries[len(_first)]
        self._dropped = 0
        self.next_index = 0
        self._buffer_events = DEFAULT_BUFFER_EVENTS
        self.drop_at = DEFAULT_BUFFER_EVENTS   # _dropped + buffer_events: record drops at it
        # the vals of the _Packed chunk at the end of _entries that the fast
        # paths append to (None: closed; they open one with open_packed). They write
        # an event as: the clock, next_index += 1, PACK values onto packed, and
        # check() when the index reaches check_at (the index at which the oldest
        # events must drop, as record drops them, or the chunk is full).
        self.packed: list | None = None
        self.check_at = 0
        self.symbols: dict[int, str] = {}

    @property
    def buffer_events(self) -> int:
        """The ring buffer's size in events (the oldest leave beyond it)."""
        return self._buffer_events

    @buffer_events.setter
    def buffer_events(self, n: int) -> None:
        self._close_packed()
        self._buffer_events = n
        self.drop_at = self._dropped + n     # the next event drops the oldest, if over

    @property
    def _nbuf(self) -> int:
        return self.next_index - self._dropped

    def _sync_first(self) -> list[int]:
        """_first for every entry (the entries recorded since the last read); closes
        the packed chunk (its length is final once its first index is known)."""
        if self.packed is not None:
            self._close_packed()
        first, entries = self._first, self._entries
        j = len(first)
        if j < len(entries):
            f = self._first_next
            for e in entries[j:] if j else entries:
                first.append(f)
                f += 1 if type(e) is tuple else e.n
            self._first_next = f
        return first

    def open_packed(self) -> list:
        """A new :class:`_Packed` chunk at the end of the buffer for the event of
        index next_index; returns its vals, which the fast paths extend by PACK
        values per event."""
        vals: list = []
        self._entries.append(_Packed(vals))
        self.packed = vals
        self.check_at = min(self.drop_at, self.next_index + PACKED_EVENTS - 1)
        return vals

    def _close_packed(self) -> None:
        if self.packed is not None:
            e = self._entries[-1]     # the open chunk is the last entry
            e.vals = tuple(e.vals)
            self.packed = None

    def check(self) -> None:
        """The fast paths' event reached check_at: drop the oldest events as record
        would, or close the full chunk."""
        if self.next_index > self.drop_at:
            self._drop_oldest()
        else:
            self._close_packed()

    def _append(self, entry, n: int = 1) -> None:
        if self.packed is not None:
            self._close_packed()
        self._entries.append(entry)
        self.next_index += n
        if self.next_index > self.drop_at:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        """Like ftrace's overwrite mode, keep the newest events: drop the oldest
        quarter of the buffer at a time (amortised O(1) per event)."""
        quarter = max(1, self._buffer_events // 4)
        cut = quarter * -(-(self._nbuf - self._buffer_events) // quarter)
        new_dropped = self._dropped + cut
        first, entries = self._sync_first(), self._entries
        j = bisect.bisect_right(first, new_dropped) - 1
        e = entries[j]
        if first[j] < new_dropped:
            if type(e) is not tuple and first[j] + e.n > new_dropped:
                entries[j] = e.part(new_dropped - first[j], e.n)   # keep the run's tail
                first[j] = new_dropped
            else:
                j += 1
        del entries[:j]
        del first[:j]
        self._dropped = new_dropped
        self.drop_at = new_dropped + self._buffer_events

    @property
    def entries_written(self) -> int:
        return self.next_index

    @property
    def entries_in_buffer(self) -> int:
        """Events still in the ring buffer (the header's entries-in-buffer)."""
        return self._nbuf

    # ------------------------------------------------------------ recording
    def emit(self, name: str, why: str, /, **fields) -> None:
        """Append an event ``name`` with raw field values and a human "why"."""
        gfp = fields.get("gfp_flags")
        if gfp is not None and type(gfp) is not int and self.enabled:
            fields["gfp_flags"] = self.profile.gfp.value(gfp)
        self.record(name, tuple(fields), tuple(fields.values()), why)

    def record(self, name: str, keys: tuple, values: tuple, why) -> int | None:
        """Append an event whose field names are a constant tuple; ``values`` are raw
        ints/strings (gfp_flags as its number); ``why`` a string or a (template, args)
        pair formatted when read. Returns the event's index (None when tracing is off).
        """
        k = self.kernel
        k.clock_ns = ts = k.clock_ns + EVENT_STEP_NS
        if not self.enabled:
            return None
        task = k.current_task
        # _append, inlined: this is the path of every single event
        if self.packed is not None:
            self._close_packed()
        index = self.next_index
        self.next_index = index + 1
        self._entries.append((ts, k.current_cpu, task.pid, task.comm,
                              k.context_stack.lat_flags, name, keys, why) + values)
        if index >= self.drop_at:
            self._drop_oldest()
        return index

    def kmalloc(self, call_site: str, ptr: int, bytes_req: int, bytes_alloc: int,
                gfp_flags: int, node: int, accounted: bool, why) -> None:
        """trace_kmalloc: :meth:`record` of a ``kmalloc`` event with its fields as
        arguments, the event's tuple built in one go (no values tuple to concatenate:
        kmalloc's fast path records one per call)."""
        k = self.kernel
        k.clock_ns = ts = k.clock_ns + EVENT_STEP_NS
        if not self.enabled:
            return
        task = k.current_task
        if self.packed is not None:
            self._close_packed()
        index = self.next_index
        self.next_index = index + 1
        self._entries.append((ts, k.current_cpu, task.pid, task.comm,
                              k.context_stack.lat_flags, "kmalloc", KMALLOC_KEYS, why,
                              call_site, ptr, bytes_req, bytes_alloc, gfp_flags, node,
                              accounted))
        if index >= self.drop_at:
            self._drop_oldest()

    def kfree(self, call_site: str, ptr: int, why) -> None:
        """trace_kfree: :meth:`record` of a ``kfree`` event, its tuple built in one go."""
        k = self.kernel
        k.clock_ns = ts = k.clock_ns + EVENT_STEP_NS
        if not self.enabled:
            return
        task = k.current_task
        if self.packed is not None:
            self._close_packed()
        index = self.next_index
        self.next_index = index + 1
        self._entries.append((ts, k.current_cpu, task.pid, task.comm,
                              k.context_stack.lat_flags, "kfree", KFREE_KEYS, why,
                              call_site, ptr))
        if index >= self.drop_at:
            self._drop_oldest()

    def record_batch(self, name: str, keys: tuple, why, columns: tuple, n: int) -> None:
        """``n`` × :meth:`record` of one event name, stored as one run.

        ``columns`` holds one entry per field (in ``keys`` order): a list with one
        value per event (the caller hands it over and does not change it after), or
        a single value shared by all. ``why`` is shared too: a string, or a
        :func:`counting_why` (this method adds the run's first event index to it).
        The page allocator's batched loops use it; reading gives exactly the events
        the per-page calls would have appended, the clock advanced one step each.
        """
        k = self.kernel
        start = k.clock_ns + EVENT_STEP_NS
        k.clock_ns += n * EVENT_STEP_NS
        if not self.enabled or n <= 0:
            return
        if type(why) is tuple:  # (template, first value, step, first index, *args)
            why = why[:3] + (self.next_index,) + why[3:]
        task = k.current_task
        head = (k.current_cpu, task.pid, task.comm, k.context_stack.lat_flags, name, keys, why)
        self._append(_Run(start, head, n, columns), n)

    def page_alloc(self, page, taken_order: int, why: str) -> None:
        """trace_mm_page_alloc (mm/page_alloc.c: __alloc_pages)."""
        self.record("mm_page_alloc", PAGE_ALLOC_KEYS,
                    (page.pfn, page.order, page.migratetype, page.gfp), why)

    def zone_locked(self, pfn: int, order: int, migratetype: int, percpu_refill: int) -> None:
        """trace_mm_page_alloc_zone_locked: a block taken under the zone lock.

        ``percpu_refill`` is printed as the version computes it: 3.15 prints
        ``order == 0``; 6.x passes pcp_allowed_order(order) && mt < MIGRATE_PCPTYPES.
        """
        self.record("mm_page_alloc_zone_locked", _ZONE_LOCKED_KEYS,
                    (pfn, order, migratetype, percpu_refill),
                    _ZONE_LOCKED_WHY[bool(percpu_refill)])

    def set_why(self, index: int | None, why) -> None:
        """Replace the explanation of event ``index`` (the free path learns it late)."""
        if index is None or not self._dropped <= index < len(self):
            return
        e = self._entries[-1]
        if index == self.next_index - 1 and type(e) is tuple:   # usually the event just recorded
            self._entries[-1] = e[:7] + (why,) + e[8:]
            return
        first = self._sync_first()
        j = bisect.bisect_right(first, index) - 1
        e = self._entries[j]
        if type(e) is tuple:
            self._entries[j] = e[:7] + (why,) + e[8:]
            return
        k = index - self._first[j]   # split the run (or packed chunk) around the event
        one = e.event(k)
        pieces = ([e.part(0, k)] if k else []) + [one[:7] + (why,) + one[8:]] + \
            ([e.part(k + 1, e.n)] if k + 1 < e.n else [])
        starts = ([self._first[j]] if k else []) + [index] + \
            ([index + 1] if k + 1 < e.n else [])
        self._entries[j:j + 1] = pieces
        first[j:j + 1] = starts

    def page_alloc_failed(self, order: int, gfp: int, why: str) -> None:
        """trace_mm_page_alloc with a NULL page (pfn -1)."""
        self.emit("mm_page_alloc", "allocation failed: " + why, pfn=-1, order=order,
                  migratetype=self.profile.gfp_migratetype(gfp), gfp_flags=gfp)

    def page_free(self, pfn: int, order: int, why, page=None) -> int | None:
        """trace_mm_page_free (mm/page_alloc.c: free_pages_prepare); returns its index."""
        return self.record("mm_page_free", PAGE_FREE_KEYS, (pfn, order), why)

    # ------------------------------------------------------------ reading
    def __len__(self) -> int:
        """Events written so far (older ones may have left the ring buffer)."""
        return self.next_index

    def _tuples(self, since: int = 0, name: str | None = None) -> Iterator[tuple[int, tuple]]:
        """(index, event tuple) from index ``since`` on, runs expanded."""
        start = max(since, self._dropped)
        if start >= len(self):
            return
        first, entries = self._sync_first(), self._entries
        for j in range(bisect.bisect_right(first, start) - 1, len(entries)):
            e = entries[j]
            f = first[j]
            if type(e) is tuple:
                if f >= start and (name is None or e[5] == name):
                    yield f, e
            elif type(e) is _Run:
                if name is None or e.head[4] == name:
                    for i in range(max(f, start), f + e.n):
                        yield i, e.event(i - f)
            else:
                for i in range(max(f, start), f + e.n):
                    if name is None or e.name(i - f) == name:
                        yield i, e.event(i - f)

    def _event_tuple(self, i: int) -> tuple:
        first = self._sync_first()
        j = bisect.bisect_right(first, i) - 1
        e = self._entries[j]
        return e if type(e) is tuple else e.event(i - first[j])

    def _event(self, i: int, e: tuple | None = None) -> TraceEvent:
        if e is None:
            e = self._event_tuple(i)
        ts, cpu, pid, comm, flags, name, keys, why = e[:8]
        if type(why) is tuple:  # formatted only when someone reads it
            if len(why) == 2:   # (template, args)
                why = why[0].format(*why[1])
            else:               # counting_why with the run's first index
                template, first_value, step, first_index = why[:4]
                why = template.format(*why[4:], first_value + (i - first_index) * step)
        why = translate_why(why)  # in the language of km.set_language(); English as is
        return TraceEvent(i, ts, cpu, pid, comm, flags, name, dict(zip(keys, e[8:])), why)

    def __getitem__(self, i):
        n = len(self)
        if isinstance(i, slice):
            return [self._event(j) for j in range(*i.indices(n)) if j >= self._dropped]
        if i < 0:
            i += n
        if not self._dropped <= i < n:
            raise IndexError("trace index out of range (or no longer in the ring buffer)")
        return self._event(i)

    def __iter__(self) -> Iterator[TraceEvent]:
        for i, e in self._tuples():
            yield self._event(i, e)

    def events(self, name: str | None = None, since: int = 0) -> list[TraceEvent]:
        """Events (optionally of one name) from index ``since`` on."""
        return [self._event(i, e) for i, e in self._tuples(since, name)]

    def mark(self) -> int:
        """The current position; pass it to ``events(since=...)`` or ``to_ftrace``."""
        return len(self)

    def clear(self) -> None:
        self._dropped = self._first_next = self.next_index
        self.drop_at = self.next_index + self._buffer_events
        self._entries.clear()
        self._first.clear()
        self.packed = None

    @property
    def last(self) -> TraceEvent | None:
        return self._event(len(self) - 1) if self._nbuf else None

    def counts(self) -> dict[str, int]:
        """Events per name among those still in the buffer."""
        out: dict[str, int] = {}
        for e in self._entries:
            if type(e) is tuple:
                out[e[5]] = out.get(e[5], 0) + 1
            elif type(e) is _Run:
                out[e.head[4]] = out.get(e.head[4], 0) + e.n
            else:
                for k in range(e.n):
                    out[e.name(k)] = out.get(e.name(k), 0) + 1
        return out

    # ------------------------------------------------------------ text
    def header(self) -> str:
        """The header ``/sys/kernel/tracing/trace`` prints (kernel/trace/trace.c)."""
        n = self._nbuf
        written = self.entries_written
        cpus = self.kernel.nr_cpus
        if self.profile.trace_irq_flags_width == 4:
            return (
                "# tracer: nop\n#\n"
                f"# entries-in-buffer/entries-written: {n}/{written}   #P:{cpus}\n#\n"
                "#                              _-----=> irqs-off\n"
                "#                             / _----=> need-resched\n"
                "#                            | / _---=> hardirq/softirq\n"
                "#                            || / _--=> preempt-depth\n"
                "#                            ||| /     delay\n"
                "#           TASK-PID   CPU#  ||||    TIMESTAMP  FUNCTION\n"
                "#              | |       |   ||||       |         |\n")
        return (
            "# tracer: nop\n#\n"
            f"# entries-in-buffer/entries-written: {n}/{written}   #P:{cpus}\n#\n"
            "#                                _-----=> irqs-off/BH-disabled\n"
            "#                               / _----=> need-resched\n"
            "#                              | / _---=> hardirq/softirq\n"
            "#                              || / _--=> preempt-depth\n"
            "#                              ||| / _-=> migrate-disable\n"
            "#                              |||| /     delay\n"
            "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
            "#              | |         |   |||||     |         |\n")

    def format_event(self, e: TraceEvent | tuple) -> str:
        """One line in the profile's trace format."""
        if isinstance(e, TraceEvent):
            ts, cpu, pid, comm, flags, name, fields = (e.timestamp_ns, e.cpu, e.pid, e.comm,
                                                       e.irq_flags, e.name, e.fields)
        else:
            ts, cpu, pid, comm, flags, name, keys = e[:7]
            fields = dict(zip(keys, e[8:]))
        body = format_fields(name, fields, self.profile)
        sec, ns = divmod(ts, 1_000_000_000)
        if self.profile.trace_irq_flags_width == 4:
            return f"{comm:>16}-{pid:<5} [{cpu:03d}] {flags[:4]} {sec:5d}.{ns // 1000:06d}: " \
                   f"{name}: {body}"
        return f"{comm:>16}-{pid:<7} [{cpu:03d}] {flags} {sec:5d}.{ns // 1000:06d}: " \
               f"{name}: {body}"

    def to_ftrace(self, since: int = 0, header: bool = True) -> str:
        """The events from ``since`` on as the text of /sys/kernel/tracing/trace."""
        lines = [self.format_event(e) for _, e in self._tuples(since)]
        text = "\n".join(lines) + ("\n" if lines else "")
        return (self.header() if header else "") + text


# --------------------------------------------------------------------------
# Per-event print formats (include/trace/events/kmem.h), 3.15 and 6.x.
# --------------------------------------------------------------------------

def _ptr(value: int, profile) -> str:
    """``%p``: 3.15 prints NULL as "(null)" padded to a pointer's width
    (lib/vsprintf.c: pointer); 6.x prints the raw value as zeros when the trace
    buffer does not hash pointers (the tracefs default in these samples)."""
    width = 16 if profile.is_64bit else 8
    if not value and profile.trace_null_ptr_is_null:
        return f"{'(null)':>{width}}"
    return f"{value:0{width}x}"


def _page_ptr(pfn: int, profile) -> str:
    if pfn < 0:
        return _ptr(0, profile)
    base = profile.vmemmap_start or 0xF5000000  # i386: mem_map in lowmem
    return _ptr(base + pfn * profile.sizeof_struct_page, profile)


def _pfn(pfn: int, profile) -> str:
    if pfn < 0:
        pfn = 0
    return f"0x{pfn:x}" if profile.trace_pfn_hex else f"{pfn}"


def _gfp(value, profile) -> str:
    if not isinstance(value, int):
        value = profile.gfp.value(value)
    return profile.gfp.show(value)


def _call_site(label, profile) -> str:
    if isinstance(label, int):
        return f"{label:x}"
    if profile.trace_call_site_symbolic:
        return label if "+" in label else f"{label}+0x0/0x0"
    return f"{call_site_address(label):x}"


def format_fields(name: str, f: dict, profile) -> str:
    """The text after ``name:`` for one event, in the profile's version."""
    if name in ("kmalloc", "kmem_cache_alloc", "kmalloc_node", "kmem_cache_alloc_node"):
        s = (f"call_site={_call_site(f['call_site'], profile)} ptr={_ptr(f['ptr'], profile)} "
             f"bytes_req={f['bytes_req']} bytes_alloc={f['bytes_alloc']} "
             f"gfp_flags={_gfp(f['gfp_flags'], profile)}")
        if not profile.trace_kmalloc_node_always:
            if name.endswith("_node"):
                s += f" node={f.get('node', -1)}"
            return s
        acc = "true" if f.get("accounted") else "false"
        return s + f" node={f.get('node', -1)} accounted={acc}"
    if name == "kfree":
        return f"call_site={_call_site(f['call_site'], profile)} ptr={_ptr(f['ptr'], profile)}"
    if name == "kmem_cache_free":
        s = f"call_site={_call_site(f['call_site'], profile)} ptr={_ptr(f['ptr'], profile)}"
        return s + f" name={f['name']}" if profile.trace_kmem_cache_free_name else s
    if name == "mm_page_alloc":
        return (f"page={_page_ptr(f['pfn'], profile)} pfn={_pfn(f['pfn'], profile)} "
                f"order={f['order']} migratetype={f['migratetype']} "
                f"gfp_flags={_gfp(f['gfp_flags'], profile)}")
    if name == "mm_page_free":
        return f"page={_page_ptr(f['pfn'], profile)} pfn={_pfn(f['pfn'], profile)} " \
               f"order={f['order']}"
    if name == "mm_page_free_batched":
        s = f"page={_page_ptr(f['pfn'], profile)} pfn={_pfn(f['pfn'], profile)} order=0"
        return s + f" cold={f.get('cold', 0)}" if profile.trace_page_cold else s
    if name == "mm_page_alloc_zone_locked":
        return (f"page={_page_ptr(f['pfn'], profile)} pfn={_pfn(f['pfn'], profile)} "
                f"order={f['order']} migratetype={f['migratetype']} "
                f"percpu_refill={f.get('percpu_refill', 0)}")
    if name == "mm_page_pcpu_drain":
        return (f"page={_page_ptr(f['pfn'], profile)} pfn={_pfn(f['pfn'], profile)} "
                f"order={f['order']} migratetype={f['migratetype']}")
    if name == "mm_page_alloc_extfrag":
        return (f"page={_page_ptr(f['pfn'], profile)} pfn={_pfn(f['pfn'], profile)} "
                f"alloc_order={f['alloc_order']} fallback_order={f['fallback_order']} "
                f"pageblock_order={profile.pageblock_order} "
                f"alloc_migratetype={f['alloc_migratetype']} "
                f"fallback_migratetype={f['fallback_migratetype']} "
                f"fragmenting={f['fragmenting']} change_ownership={f['change_ownership']}")
    # Events of other subsystems (vmalloc, memblock, ...): key=value in field order.
    parts = []
    for key, val in f.items():
        if key == "gfp_flags":
            val = _gfp(val, profile)
        elif isinstance(val, int) and key in ("addr", "start", "end", "ptr", "base", "phys"):
            val = f"0x{val:x}"
        parts.append(f"{key}={val}")
    return " ".join(parts)
