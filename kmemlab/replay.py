"""Replay a real kernel's ``kmem:*`` trace through a simulated kernel.

A trace recorded on a real machine (``/sys/kernel/tracing/trace`` or ``trace-cmd
report``, read by :mod:`kmemlab.traceparse`) names objects by the real machine's
addresses. :class:`Replayer` feeds the allocations and frees into a
:class:`kmemlab.Kernel` of a chosen profile and keeps two maps: real pointer →
simulated object (``kmalloc``/``kmem_cache_alloc`` → ``kfree``/``kmem_cache_free``)
and real pfn → simulated :class:`~kmemlab.page_alloc.Page` (``mm_page_alloc`` →
``mm_page_free``). A learner can step through the trace and watch the simulated slab
caches and buddy free lists evolve under a real workload::

    r = Replayer("kmem.txt", version="6.12", ram="1G", cpus=2)
    r.step(1000)                     # replay 1000 records
    r.kernel.proc("buddyinfo")       # the simulated machine, mid-trace
    r.run(); print(r.summary())

Rules (each one is counted, never an error):

- a free of an object or page allocated before the trace started is an *unknown free*;
- a record of an allocation that failed on the traced machine (``ptr``/``page`` NULL)
  is skipped; an allocation that fails in the simulator is a *failed allocation*, and
  the later free of that pointer a *free of a failed allocation*;
- a real pointer (or pfn) allocated again without a free in between means the trace
  lost the free (ring-buffer overrun, partial recording): the old simulated object is
  freed first (an *implicit free*);
- ``kmem_cache_alloc`` names no cache (include/trace/events/kmem.h prints only sizes):
  the cache is found by its call site in the *named-cache table* of the profile's
  recorded boot (``kmemlab/data/boots/<version>/``: which cache each call site's
  objects were freed to, ``kmem_cache_free`` printing the name in 6.x); the cache is
  then created under its
  real name with its real flags (``SLAB_RECLAIM_ACCOUNT`` for dentry, inode caches…,
  ``SLAB_ACCOUNT``, ``SLAB_CACHE_DMA``, ``SLAB_HWCACHE_ALIGN``; from /sys/kernel/slab),
  so SReclaimable/SUnreclaim and slabinfo come out per named cache. ``named_caches=
  False`` (or a version without a recording) falls back to a cache of that object
  size: one the learner created, else a new ``trace-<size>`` cache (which SLUB may
  merge, as the real kernel does). The cache names that 6.x ``kmem_cache_free``
  prints for objects of such caches are collected in :attr:`cache_names`;
- the CPU of each record is used (``k.on_cpu``), capped to the simulated CPU count;
  the simulated ``current`` task takes the record's comm and pid, so the simulator's
  own trace and dmesg name the real task;
- GFP flags are translated by name into the profile's version (``__GFP_WAIT`` ↔
  ``__GFP_DIRECT_RECLAIM|__GFP_KSWAPD_RECLAIM``, ``__GFP_REPEAT`` ↔
  ``__GFP_RETRY_MAYFAIL``, ``__GFP_KMEMCG`` ↔ ``__GFP_ACCOUNT``…); names the version
  lacks and raw bits are dropped and counted in :attr:`gfp_dropped`;
- events the allocator emits about its own work (``mm_page_alloc_zone_locked``,
  ``mm_page_pcpu_drain``, ``mm_page_alloc_extfrag``) are not replayed: the simulated
  allocator produces its own. ``mm_page_free_batched`` is not replayed either: the
  kernel also emits ``mm_page_free`` for every such page (free_pages_prepare).

Real page events include the pages SLUB takes for its slabs; the simulated SLUB takes
its own, so with both streams on slab memory appears twice in the buddy allocator.
``slab=False`` or ``pages=False`` replays one stream only.

Only the standard library and the simulator are used; deterministic (no clock).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from . import traceparse as tp
from .context import Task
from .errors import KernelBug, KernelPanic
from .profiles import DEFAULT_ARCH, DEFAULT_VERSION

__all__ = ["CacheTimeline", "Replayer", "replay", "translate_gfp"]

ZERO_SIZE_PTR = 0x10

# Name-level GFP translation between the 3.15 and 6.x tables (include/linux/gfp.h,
# include/linux/gfp_types.h). A name the target version lacks is looked up here; "" =
# the flag has no counterpart (dropped, counted).
_TO_3_15 = {
    "__GFP_DIRECT_RECLAIM": "__GFP_WAIT",
    "__GFP_RECLAIM": "__GFP_WAIT",
    "__GFP_KSWAPD_RECLAIM": "",
    "__GFP_RETRY_MAYFAIL": "__GFP_REPEAT",
    "__GFP_ACCOUNT": "__GFP_KMEMCG",
    "GFP_KERNEL_ACCOUNT": "GFP_KERNEL|__GFP_KMEMCG",
    "GFP_TRANSHUGE_LIGHT": "__GFP_IO|__GFP_FS|__GFP_HARDWALL|__GFP_HIGHMEM|__GFP_MOVABLE"
                           "|__GFP_COMP|__GFP_NOMEMALLOC|__GFP_NOWARN",
    "__GFP_ATOMIC": "",
    "__GFP_ZEROTAGS": "",
    "__GFP_NO_OBJ_EXT": "",
}
_TO_6 = {
    "__GFP_WAIT": "__GFP_DIRECT_RECLAIM|__GFP_KSWAPD_RECLAIM",
    "__GFP_REPEAT": "__GFP_RETRY_MAYFAIL",
    "__GFP_KMEMCG": "__GFP_ACCOUNT",
    "GFP_TEMPORARY": "GFP_KERNEL|__GFP_RECLAIMABLE",
    "GFP_IOFS": "__GFP_IO|__GFP_FS",
    "__GFP_COLD": "",
    "__GFP_NOTRACK": "",
    "__GFP_NO_KSWAPD": "",
    "__GFP_OTHER_NODE": "",
    "__GFP_ATOMIC": "",
    "__GFP_ZEROTAGS": "",
    "__GFP_NO_OBJ_EXT": "",
}


def translate_gfp(text: str, table: Any, dropped: dict[str, int] | None = None) -> int:
    """The number, in ``table``'s version, of GFP flags printed as ``text``.

    ``text`` is what a tracepoint printed (include/trace/events/mmflags.h:
    show_gfp_flags), in any version's spelling: ``GFP_KERNEL|__GFP_ZERO`` (6.x),
    ``GFP_KERNEL|GFP_ZERO`` (3.15), ``none``/``GFP_NOWAIT`` for 0. ``table`` is a
    :class:`kmemlab.gfp.GfpTable` (``k.profile.gfp``). Names the version lacks are
    translated (see the module doc); what cannot be translated, and leftover raw bits
    (``0x...``, meaningless on another kernel), is dropped and counted in ``dropped``.
    """
    values = table.values
    to = _TO_3_15 if "__GFP_WAIT" in values else _TO_6   # a kernel before 4.4's split
    value = 0
    for raw in text.split("|"):
        name = raw.strip()
        if not name or name == "none" or name == "0":
            continue
        if name not in values and not name.startswith("__") and "__" + name in values:
            name = "__" + name  # 3.15 prints __GFP_ZERO as GFP_ZERO
        v = values.get(name)
        if v is not None:
            value |= v
            continue
        if not name.startswith("__") and "__" + name in to:
            name = "__" + name
        alias = to.get(name)
        if alias:
            for part in alias.split("|"):
                value |= values[part]
            continue
        if dropped is not None:
            key = "raw bits" if name[:2] in ("0x", "0X") else name
            dropped[key] = dropped.get(key, 0) + 1
    return value


@dataclass
class CacheTimeline:
    """Bytes held per slab cache over a replay: what the cache-bytes plot draws.

    ``x`` are the positions (records replayed) at which the caches were sampled;
    ``series[name][i]`` is the bytes the cache held (objects in use × slot size,
    /proc/slabinfo's active_objs × objsize) at ``x[i]``. ``xlabel`` says what x is.
    """

    x: list[float]
    series: dict[str, list[int]]
    xlabel: str = "records replayed"

    def top(self, n: int) -> list[str]:
        """The ``n`` caches with the highest peak, highest first (ties by name)."""
        peaks = sorted(((max(v) if v else 0, k) for k, v in self.series.items()),
                       key=lambda t: (-t[0], t[1]))
        return [k for peak, k in peaks[:n] if peak > 0]


_END = object()
_INTERNAL = frozenset({"mm_page_alloc_zone_locked", "mm_page_pcpu_drain",
                       "mm_page_alloc_extfrag", "mm_page_free_batched"})


def _ptr(text: str) -> int:
    """A printed %p field (traceparse: hex, 0x-hex, "(null)"/"(nil)" = 0), as Record.ptr."""
    return 0 if text[-1] == ")" else int(text, 16)


def _pfn(text: str) -> int:
    """A printed pfn (``pfn=%lu`` in 3.x, ``pfn=0x%lx`` since 4.x), as Record.pfn."""
    return int(text, 16) if text[:2] == "0x" else int(text)


class Replayer:
    """Replay a kmem trace (file, stream or records) through a simulated kernel.

    ``source``: a path or open file (text or gzip; read with
    :func:`kmemlab.traceparse.iter_records`, streaming) or an iterable of
    :class:`kmemlab.traceparse.Record`. ``kernel``: the simulated kernel to drive;
    without one a ``Kernel(version, arch, ram, cpus, seed=seed)`` is booted.
    ``slab``/``pages``: which event streams to replay. ``keep_trace``: let the
    simulated kernel record its own events (``k.trace``) during replay (turn it off
    for long traces: memory). ``sample_every``: record a :class:`CacheTimeline` point
    every that many records (0 = never).

    A bad file raises :class:`kmemlab.traceparse.TraceFormatError` here, before
    anything is replayed. Models no single kernel function: it calls the simulator's
    kmalloc/kfree/kmem_cache_*/alloc_pages/free_pages as the traced kernel did.
    """

    def __init__(self, source: str | os.PathLike[str] | IO[Any] | Iterable[tp.Record],
                 kernel: Any = None, *, version: str = DEFAULT_VERSION, arch: str = DEFAULT_ARCH,
                 ram: int | str = "1G", cpus: int = 2, seed: int = 0, slab: bool = True,
                 pages: bool = True, keep_trace: bool = True, sample_every: int = 0,
                 progress: bool | None = False, max_errors: int = 20,
                 named_caches: bool = True) -> None:
        if isinstance(sample_every, bool) or not isinstance(sample_every, int) \
                or sample_every < 0:
            raise ValueError(f"sample_every must be an int ≥ 0, not {sample_every!r}")
        if kernel is None:
            from .kernel import Kernel
            kernel = Kernel(version=version, arch=arch, ram=ram, cpus=cpus, seed=seed)
        self.kernel = kernel
        self.slab = bool(slab)
        self.pages = bool(pages)
        self.keep_trace = bool(keep_trace)
        self.max_errors = max_errors
        self.parse_report: tp.ParseReport | None = None
        # the records as traceparse.scan_records(templates=True) tuples: (event,
        # lineno, line or Record, printed (task, pid, cpu), printed body fields, None),
        # or (..., Template, ptr or (page, pfn) as ints) for a line of a template
        self._it: Iterator[tuple[Any, ...]]
        if isinstance(source, (str, os.PathLike, io.IOBase)) or hasattr(source, "read"):
            self.parse_report = tp.ParseReport()
            self._it = tp.scan_records(source, self.parse_report, progress=progress,
                                       templates=True)
        elif isinstance(source, Iterable):
            self._it = ((rec.event, rec.lineno, rec, rec.context, rec.body_fields(), None)
                        for rec in source)
        else:
            raise TypeError("source must be a path, an open file or an iterable of "
                            f"traceparse.Record, not {type(source).__name__}")
        # counters
        self.records = 0                 # records consumed
        self.replayed = 0                # records applied to the simulator
        self.skipped: dict[str, int] = {}         # reason -> records
        self.unknown_frees = {"slab": 0, "page": 0}
        self.failed_allocs = {"slab": 0, "page": 0}
        self.frees_of_failed = 0
        self.implicit_frees = {"slab": 0, "page": 0}
        self.cpus_capped = 0
        self.size_class_differs = 0      # kmalloc: simulated bytes_alloc != traced
        self.errors: list[str] = []      # simulator refusals (KernelBug/ValueError)
        self.error_count = 0
        self.gfp_dropped: dict[str, int] = {}
        self.by_event: dict[str, int] = {}
        # maps
        self._ptr: dict[int, tuple[int, Any]] = {}   # real ptr -> (sim ptr, cache|None)
        self._failed_ptr: set[int] = set()
        self._pfn: dict[int, Any] = {}               # real pfn -> sim Page
        self._failed_pfn: set[int] = set()
        self._by_size: dict[int, Any] = {}           # object size -> sim cache
        self._by_name: dict[str, Any] = {}
        self._named = self._named_table(kernel) if named_caches else None
        self.named_by = {"call site": 0}   # records placed by the table
        self.caches_created: list[str] = []
        self.cache_names: dict[str, dict[str, int]] = {}  # sim cache -> real names seen
        self._gfp_cache: dict[str, int] = {}
        self._cache_memo: dict[tuple[Any, ...], tuple[Any, bool]] = {}
        self._tasks: dict[tuple[int, str], Task] = {}
        # printed (task, pid, cpu) -> (cpu capped, (pid, task), Task, capped?, "task-pid"),
        # for the CPU count of _contexts_ncpu; emptied with _tasks (its Tasks are theirs)
        self._contexts: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        self._contexts_ncpu = -1
        self._pos = 0   # the next row of a block item (_peek)
        self._ksize: dict[tuple[int, int], int] = {}   # (bytes_req, gfp) -> ksize
        self._last: Any = None   # the last record's scan tuple (its Record made on demand)
        self._why: Any = ""   # a str, or (format, args) formatted when asked for
        self.timeline = CacheTimeline([], {}) if sample_every else None
        self.sample_every = sample_every
        self._dispatch = {
            "kmalloc": self._kmalloc, "kmalloc_node": self._kmalloc,
            "kmem_cache_alloc": self._cache_alloc, "kmem_cache_alloc_node": self._cache_alloc,
            "kfree": self._free, "kmem_cache_free": self._free,
            "mm_page_alloc": self._page_alloc, "mm_page_free": self._page_free,
        }
        self._peek: Any = next(self._it, _END)  # opens the file: bad input fails here
        if self.timeline is not None:
            self._sample()

    @property
    def last(self) -> tp.Record | None:
        """The last record consumed (None before the first); parsed again from its line
        only when asked for."""
        item = self._last
        if item is None:
            return None
        rec = item[2]
        if rec.__class__ is tp.LineBlock:   # a line of traceparse's block path
            rec = rec.line(item[1])
        if rec.__class__ is str:
            rec = tp.parse_line(rec + "\n", item[1])
            self._last = (item[0], item[1], rec, item[3], item[4], item[5])
        return rec

    @property
    def last_outcome(self) -> str:
        """What the last record did, in words (formatted only when asked for: a
        replay of a long trace would otherwise format one string per record)."""
        why = self._why
        if why.__class__ is tuple:
            why = self._why = why[0].format(*why[1])
        return why

    @last_outcome.setter
    def last_outcome(self, text: str) -> None:
        self._why = text

    # ------------------------------------------------------------------ maps
    @property
    def ptr_map(self) -> dict[int, int]:
        """Live objects: real pointer → simulated pointer."""
        return {real: sim for real, (sim, _c) in self._ptr.items()}

    @property
    def pfn_map(self) -> dict[int, Any]:
        """Live page blocks: real pfn → simulated Page."""
        return dict(self._pfn)

    @property
    def done(self) -> bool:
        """True once every record of the trace has been consumed."""
        return self._peek is _END

    # ------------------------------------------------------------------ driving
    def step(self, n: int = 1) -> int:
        """Replay the next ``n`` records; returns how many there were (0 at the end)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"step(n): n must be an int ≥ 0, not {n!r}")
        k = self.kernel
        old_cpu, old_task, old_enabled = k.current_cpu, k.current_task, k.trace.enabled
        k.trace.enabled = self.keep_trace and old_enabled
        if self._contexts_ncpu != k.nr_cpus:
            self._contexts.clear()
            self._contexts_ncpu = k.nr_cpus
        contexts = self._contexts
        dispatch = self._dispatch
        by_event = self.by_event
        every = self.sample_every
        done = 0
        it = self._it
        item = self._peek
        try:
            while done < n:
                if item is _END:
                    break
                if item[0] is None:   # a block of records (traceparse's block path)
                    done += self._step_rows(item, n - done)
                    item = self._peek
                    continue
                self._peek = nxt = next(it, _END)
                done += 1
                self.records += 1
                ev = item[0]
                by_event[ev] = by_event.get(ev, 0) + 1
                self._last = item
                value = item[5]
                if value is None:
                    fn = dispatch.get(ev)
                else:   # a line of a template: its handler and constants made once
                    prep = item[4].data
                    if prep is None:
                        prep = item[4].data = self._prepare(item[4])
                    fn = prep[0]
                if fn is None:
                    self._skip("allocator-internal event" if ev in _INTERNAL
                               else "not an allocation event")
                else:
                    ctx = contexts.get(item[3])
                    if ctx is None:
                        ctx = self._context(item[3])
                    if ctx[3]:
                        self.cpus_capped += 1
                    k.current_cpu = ctx[0]
                    k.current_task = ctx[2]
                    try:
                        if value is None:
                            fn(ev, item[4], ctx[1])
                        else:
                            fn(prep[1], value, ctx[4])
                    except (KernelBug, KernelPanic, ValueError, TypeError) as exc:
                        self._refused(item[1], ev, exc)
                if every and self.records % every == 0:
                    self._sample()
                item = nxt
        finally:
            k.current_cpu, k.current_task = old_cpu, old_task
            k.trace.enabled = old_enabled
        return done

    def _context(self, ctx: tuple[str, str, str]) -> tuple[Any, ...]:
        """The printed (task, pid, cpu) of a record as (cpu capped to the simulated ones,
        (pid, task), its Task, capped?, "task-pid"), kept in _contexts."""
        contexts, tasks = self._contexts, self._tasks
        if len(contexts) >= 4096:
            contexts.clear()
        ncpu = self._contexts_ncpu
        cpu = int(ctx[2])
        key = (int(ctx[1]), ctx[0])
        capped = cpu >= ncpu
        if capped:
            cpu = ncpu - 1
        task = tasks.get(key)
        if task is None:
            if len(tasks) >= 4096:
                tasks.clear()
                contexts.clear()   # its Tasks are those of _tasks
            task = tasks[key] = Task(pid=key[0], comm=key[1])
        parsed = contexts[ctx] = (cpu, key, task, capped, f"{key[1]}-{key[0]}")
        return parsed

    def _refused(self, lineno: int, ev: str, exc: BaseException) -> None:
        self.error_count += 1
        self.last_outcome = f"refused by the simulator: {exc}"
        if len(self.errors) < self.max_errors:
            self.errors.append(f"line {lineno}: {ev}: {exc}")

    def _step_rows(self, item: tuple[Any, ...], n: int) -> int:
        """Replay up to ``n`` records of a block item ``(None, first lineno, LineBlock,
        contexts, templates, values)`` from row _pos on; returns how many. What step()
        does per record, with the record's parts taken from the block's lists: the
        next item is read when the last row is replayed (as step() reads one ahead),
        and _peek, _last and records are as step() leaves them, also after an
        exception."""
        k = self.kernel
        contexts = self._contexts
        by_event = self.by_event
        every = self.sample_every
        skip = self._skip
        first, ctxs, tmpls, values = item[1], item[3], item[4], item[5]
        end = len(tmpls)
        pos = start = self._pos
        stop = min(end, pos + n)
        records = self.records - pos
        last_ctx: Any = None
        ctx: Any = None
        nxt: Any = item
        try:
            while pos < stop:
                if pos == end - 1:   # the last row: read the next item first
                    nxt = next(self._it, _END)
                t = tmpls[pos]
                pos += 1
                ev = t.event
                by_event[ev] = by_event.get(ev, 0) + 1
                prep = t.data
                if prep is None:
                    prep = t.data = self._prepare(t)
                fn = prep[0]
                if fn is None:
                    skip("allocator-internal event" if ev in _INTERNAL
                         else "not an allocation event")
                else:
                    c = ctxs[pos - 1]
                    if c is not last_ctx:   # a block's rows share its context tuples
                        ctx = contexts.get(c)
                        if ctx is None:
                            ctx = self._context(c)
                        last_ctx = c
                    if ctx[3]:
                        self.cpus_capped += 1
                    k.current_cpu = ctx[0]
                    k.current_task = ctx[2]
                    try:
                        fn(prep[1], values[pos - 1], ctx[4])
                    except (KernelBug, KernelPanic, ValueError, TypeError) as exc:
                        self._refused(first + pos - 1, ev, exc)
                if every and (records + pos) % every == 0:
                    self.records = records + pos
                    self._sample()
        finally:
            self.records = records + pos
            if pos > start:
                i = pos - 1
                self._last = (tmpls[i].event, first + i, item[2], ctxs[i], tmpls[i],
                              values[i])
            if pos == end:
                self._peek = nxt
                self._pos = 0
            else:
                self._pos = pos
        return pos - start

    def steps(self, n: int) -> Iterator[Replayer]:
        """Yield after every ``n`` records until the end (for a notebook loop)."""
        while self.step(n):
            yield self

    def run(self, max_records: int | None = None) -> Replayer:
        """Replay to the end (or ``max_records`` more records); returns self."""
        if max_records is None:
            while self.step(65536):
                pass
        else:
            self.step(max_records)
        if self.timeline is not None and (not self.timeline.x
                                          or self.timeline.x[-1] != self.records):
            self._sample()
        return self

    # ------------------------------------------------------------------ events
    def _skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self._why = "skipped: " + reason

    def _gfp(self, text: str | None) -> int:
        if text is None:
            return 0
        v = self._gfp_cache.get(text)
        if v is None:
            v = self._gfp_cache[text] = translate_gfp(text, self.kernel.profile.gfp,
                                                      self.gfp_dropped)
        return v

    def _forget_ptr(self, real: int) -> None:
        """The trace lost the free of ``real``: free its simulated object first."""
        sim, cache = self._ptr.pop(real)
        self.implicit_frees["slab"] += 1
        if cache is None:
            self.kernel.kfree(sim, caller="replay:lost-free")
        else:
            self.kernel.kmem_cache_free(cache, sim, caller="replay:lost-free")

    # The handlers take the event, its printed body fields g (traceparse.BODY_FIELDS
    # order; slab allocs: sym, call_site, ptr, name, bytes_req, bytes_alloc, gfp_flags,
    # node, accounted; frees: sym, call_site, ptr, name; mm_page_alloc: page, pfn,
    # order, migratetype, gfp_flags; mm_page_free: page, pfn, order) and the record's
    # (pid, task). They convert only what they use, as Record's properties would.
    def _slab_alloc_start(self, g: tuple[Any, ...]) -> int | None:
        """What every slab allocation event does first: skip what cannot be replayed,
        free the simulated object of a pointer whose free the trace lost. Returns the
        traced pointer, or None when the event is skipped."""
        if not self.slab:
            self._skip("slab events not replayed")
            return None
        p = g[2]
        real = 0 if p[-1] == ")" else int(p, 16)
        if not real:
            self._skip("failed on the traced machine")
            return None
        if real in self._ptr:
            self._forget_ptr(real)
        self._failed_ptr.discard(real)
        return real

    def _kmalloc(self, ev: str, g: tuple[Any, ...], key: tuple[int, str]) -> None:
        """kmalloc / kmalloc_node → k.kmalloc(bytes_req, gfp)."""
        real = self._slab_alloc_start(g)
        if real is None:
            return None
        k = self.kernel
        req = int(g[4])
        gfp = self._gfp_cache.get(g[6])
        sim = k.kmalloc(req, self._gfp(g[6]) if gfp is None else gfp, caller=g[1])
        if sim is None:
            self.failed_allocs["slab"] += 1
            self._failed_ptr.add(real)
            self.last_outcome = f"kmalloc({req}) failed in the simulator"
            return None
        self._ptr[real] = (sim, None)
        self.replayed += 1
        if sim != ZERO_SIZE_PTR and k.ksize(sim) != int(g[5]):
            self.size_class_differs += 1
        self._why = ("kmalloc({}) → {:#x}", (req, sim))
        return None

    @staticmethod
    def _named_table(kernel: Any) -> dict[str, Any] | None:
        """The recorded boot's call site → cache table and its caches' sizes/flags."""
        from . import boot_state
        version = kernel.profile.version
        if version not in boot_state.bundled_boots():
            return None
        data = boot_state.boot_data(version)
        return {"data": data, "callsites": data["callsites"]}

    def _real_name(self, call_site: str | None) -> str | None:
        """The real cache of a kmem_cache_alloc record, by its call site (the exact
        ``func+off/size`` of that build, else the function when all its sites agree).
        An object size alone is no evidence (many real caches share one)."""
        table = self._named
        if table is None:
            return None
        site = call_site or ""
        sites = table["callsites"]
        name = sites.get(site)
        if name is None:
            name = sites.get(site.split("+", 1)[0])
        if name is not None:
            self.named_by["call site"] += 1
        return name

    def _named_cache(self, real: str, size: int) -> Any:
        c = self._by_name.get(real)
        if c is None:
            c = self.kernel.slab_caches.get(real)
            if c is None:
                c = self._create_named(real, size)
            self._by_name[real] = c
        return c

    def _create_named(self, name: str, size: int) -> Any:
        """A cache under its real name, size, alignment and flags (/sys/kernel/slab)."""
        from .boot_state import named_cache_flags
        k = self.kernel
        attrs, flags = named_cache_flags(self._named["data"], name)
        c = k.kmem_cache_create(name, int(attrs.get("object_size", size)),
                                int(attrs.get("align", 0)),
                                flags, caller="replay")
        if c is None:
            raise ValueError(f"cannot create the cache {name!r} of {size}-byte objects")
        self.caches_created.append(name)
        return c

    def _cache_for(self, g: tuple[Any, ...]) -> Any:
        """The simulated cache for a kmem_cache_alloc record (created if needed).

        The answer for a (name, call site, sizes) is fixed once found (the caches found
        are kept in _by_name/_by_size), so it is remembered with whether the named-cache
        table gave it (counted in ``named_by`` each time, as when it is looked up)."""
        memo_key = (g[3], g[1], g[4], g[5])
        hit = self._cache_memo.get(memo_key)
        if hit is not None:
            if hit[1]:
                self.named_by["call site"] += 1
            return hit[0]
        named = self.named_by["call site"]
        cache = self._find_cache(g)
        if len(self._cache_memo) >= 65536:
            self._cache_memo.clear()
        self._cache_memo[memo_key] = (cache, self.named_by["call site"] != named)
        return cache

    def _find_cache(self, g: tuple[Any, ...]) -> Any:
        name = g[3]
        if name is not None:
            name = name.strip()
        size = int(g[4]) or int(g[5]) or 1
        k = self.kernel
        if not name:   # the call site of the recorded boot names the cache
            real = self._real_name(g[1])
            if real is not None:
                return self._named_cache(real, size)
        if name:
            c = self._by_name.get(name)
            if c is None:
                c = k.slab_caches.get(name)
                if c is None:
                    c = self._create(name, size)
                self._by_name[name] = c
            return c
        c = self._by_size.get(size)
        if c is None:
            c = self._learner_cache(size) or self._create(f"trace-{size}", size)
            self._by_size[size] = c
        return c

    def _learner_cache(self, size: int) -> Any:
        """A cache of ``size``-byte objects the learner created, or None."""
        for cand in self.kernel.slab_caches.values():
            if cand.kmalloc_type is None and cand.object_size == size \
                    and not cand.destroyed and cand.name not in self.caches_created:
                return cand
        return None

    def _create(self, name: str, size: int) -> Any:
        k = self.kernel
        name = "".join(ch if not ch.isspace() else "_" for ch in name) or f"trace-{size}"
        base, i = name, 1
        while name in k.slab_caches:
            i += 1
            name = f"{base}-{i}"
        c = k.kmem_cache_create(name, size, caller="replay")
        if c is None:
            raise ValueError(f"cannot create a cache of {size}-byte objects")
        self.caches_created.append(name)
        return c

    def _cache_alloc(self, ev: str, g: tuple[Any, ...], key: tuple[int, str]) -> None:
        """kmem_cache_alloc / _node → k.kmem_cache_alloc(cache of that size, gfp)."""
        real = self._slab_alloc_start(g)
        if real is None:
            return None
        cache = self._cache_for(g)
        gfp = self._gfp_cache.get(g[6])
        sim = self.kernel.kmem_cache_alloc(cache, self._gfp(g[6]) if gfp is None else gfp,
                                           caller=g[1])
        if sim is None:
            self.failed_allocs["slab"] += 1
            self._failed_ptr.add(real)
            self.last_outcome = f"kmem_cache_alloc({cache.name}) failed in the simulator"
            return None
        self._ptr[real] = (sim, cache)
        self.replayed += 1
        self._why = ("kmem_cache_alloc({}) → {:#x}", (cache.name, sim))
        return None

    def _free(self, ev: str, g: tuple[Any, ...], key: tuple[int, str]) -> None:
        """kfree / kmem_cache_free of a mapped object; unknown pointers are counted."""
        if not self.slab:
            return self._skip("slab events not replayed")
        p = g[2]
        real = 0 if p[-1] == ")" else int(p, 16)
        if not real or real == ZERO_SIZE_PTR:
            return self._skip("free of NULL")
        entry = self._ptr.pop(real, None)
        if entry is None:
            if real in self._failed_ptr:
                self._failed_ptr.discard(real)
                self.frees_of_failed += 1
                self.last_outcome = "free of an allocation that failed in the simulator"
            else:
                self.unknown_frees["slab"] += 1
                self.last_outcome = f"free of {real:#x}: allocated before the trace"
            return None
        sim, cache = entry
        k = self.kernel
        try:
            if ev == "kmem_cache_free" and cache is not None:
                name = g[3]
                if name is not None:
                    name = name.strip()
                if name and name != cache.name and cache.name in self.caches_created:
                    seen = self.cache_names.setdefault(cache.name, {})
                    seen[name] = seen.get(name, 0) + 1
                k.kmem_cache_free(cache, sim, caller=g[1])
            else:
                k.kfree(sim, caller=g[1])
        except BaseException:
            self._ptr[real] = entry  # the simulator refused: nothing changed
            raise
        self.replayed += 1
        self._why = ("{}({:#x})", (ev, sim))
        return None

    def _page_alloc(self, ev: str, g: tuple[Any, ...], key: tuple[int, str]) -> None:
        """mm_page_alloc → k.page_alloc.alloc_pages(gfp, order)."""
        if not self.pages:
            return self._skip("page events not replayed")
        if not _ptr(g[0]):
            return self._skip("failed on the traced machine")
        pfn = _pfn(g[1])
        k = self.kernel
        old = self._pfn.pop(pfn, None)
        if old is not None:
            self.implicit_frees["page"] += 1
            k.page_alloc.free_pages(old, old.order)
        self._failed_pfn.discard(pfn)
        order = int(g[2])
        page = k.page_alloc.alloc_pages(self._gfp(g[4]), order, owner="pages",
                                        detail=f"replayed pfn {pfn:#x}",
                                        caller=f"{key[1]}-{key[0]}")
        if page is None:
            self.failed_allocs["page"] += 1
            self._failed_pfn.add(pfn)
            self.last_outcome = f"order-{order} page allocation failed in the simulator"
            return None
        self._pfn[pfn] = page
        self.replayed += 1
        self._why = ("order-{} block: real pfn {:#x} → pfn {:#x}", (order, pfn, page.pfn))
        return None

    def _page_free(self, ev: str, g: tuple[Any, ...], key: tuple[int, str]) -> None:
        """mm_page_free of a mapped block; pages allocated before the trace are counted."""
        if not self.pages:
            return self._skip("page events not replayed")
        pfn = _pfn(g[1])
        return self._free_pfn(pfn)

    def _free_pfn(self, pfn: int) -> None:
        """The free of the block the trace's ``pfn`` was mapped to (both paths)."""
        page = self._pfn.pop(pfn, None)
        if page is None:
            if pfn in self._failed_pfn:
                self._failed_pfn.discard(pfn)
                self.frees_of_failed += 1
                self.last_outcome = "free of a page allocation that failed in the simulator"
            else:
                self.unknown_frees["page"] += 1
                self.last_outcome = f"free of pfn {pfn:#x}: allocated before the trace"
            return None
        try:
            self.kernel.page_alloc.free_pages(page, page.order)
        except BaseException:
            self._pfn[pfn] = page
            raise
        self.replayed += 1
        self._why = ("order-{} block freed: pfn {:#x}", (page.order, page.pfn))
        return None

    # ------------------------------------------------------- the template handlers
    # A line read by traceparse's template path comes as its Template (the printed
    # fields shared by the lines of its key) and the varying value as an int (ptr) or
    # (page, pfn). What the handlers above convert from the fields is converted once
    # per template (_prepare); the handlers below then do what the ones above do, step
    # for step, on the value (tests/trace/test_trace_fastpath.py compares the two).
    def _prepare(self, t: tp.Template) -> tuple[Any, Any]:
        """(handler, constants) for the lines of template ``t``; handler None = skipped."""
        ev, g = t.event, t.fields
        fn = self._dispatch.get(ev)
        if fn is None:
            return None, None
        try:
            if fn == self._kmalloc:
                return self._kmalloc_t, (int(g[4]), int(g[5]), g[6], g[1])
            if fn == self._cache_alloc:
                return self._cache_alloc_t, [g, None, False]
            if fn == self._free:
                name = g[3]
                if name is not None:
                    name = name.strip()
                return self._free_t, (ev, ev == "kmem_cache_free", name, g[1])
            if fn == self._page_alloc:
                return self._page_alloc_t, (int(g[2]), g[4])
            return self._page_free_t, None
        except ValueError:   # a number int() refuses: the handler above fails on it
            return self._via_fields, (ev, g)

    def _via_fields(self, c: tuple[str, tuple[Any, ...]], value: Any, label: str) -> None:
        """The handler above, on the template's fields with the value printed in."""
        ev, g = c
        if value.__class__ is int:
            g = g[:2] + (f"{value:x}",) + g[3:]
        else:
            g = (f"{value[0]:x}", str(value[1])) + g[2:]
        ctx = self.kernel.current_task
        return self._dispatch[ev](ev, g, (ctx.pid, ctx.comm))

    def _kmalloc_t(self, c: tuple[Any, ...], real: int, label: str) -> None:
        if not self.slab:
            return self._skip("slab events not replayed")
        if not real:
            return self._skip("failed on the traced machine")
        if real in self._ptr:
            self._forget_ptr(real)
        self._failed_ptr.discard(real)
        req, alloc, gfp_text, call_site = c
        gfp = self._gfp_cache.get(gfp_text)
        if gfp is None:
            gfp = self._gfp(gfp_text)
        k = self.kernel
        sim = k.kmalloc(req, gfp, caller=call_site)
        if sim is None:
            self.failed_allocs["slab"] += 1
            self._failed_ptr.add(real)
            self.last_outcome = f"kmalloc({req}) failed in the simulator"
            return None
        self._ptr[real] = (sim, None)
        self.replayed += 1
        if sim != ZERO_SIZE_PTR:
            # ksize of a kmalloc object: its size class (kmalloc_slab(size, gfp)) or
            # PAGE_SIZE << get_order(size), so the same for every (size, gfp)
            ks = self._ksize.get((req, gfp))
            if ks is None:
                if len(self._ksize) >= 65536:
                    self._ksize.clear()
                ks = self._ksize[(req, gfp)] = k.ksize(sim)
            if ks != alloc:
                self.size_class_differs += 1
        self._why = ("kmalloc({}) → {:#x}", (req, sim))
        return None

    def _cache_alloc_t(self, c: list[Any], real: int, label: str) -> None:
        if not self.slab:
            return self._skip("slab events not replayed")
        if not real:
            return self._skip("failed on the traced machine")
        if real in self._ptr:
            self._forget_ptr(real)
        self._failed_ptr.discard(real)
        g, cache, named = c
        if cache is None:    # the first line: _cache_for finds (or creates) it
            before = self.named_by["call site"]
            cache = self._cache_for(g)
            c[1] = cache
            c[2] = self.named_by["call site"] != before
        elif named:          # _cache_for counts its table's answers on every call
            self.named_by["call site"] += 1
        gfp = self._gfp_cache.get(g[6])
        sim = self.kernel.kmem_cache_alloc(cache, self._gfp(g[6]) if gfp is None else gfp,
                                           caller=g[1])
        if sim is None:
            self.failed_allocs["slab"] += 1
            self._failed_ptr.add(real)
            self.last_outcome = f"kmem_cache_alloc({cache.name}) failed in the simulator"
            return None
        self._ptr[real] = (sim, cache)
        self.replayed += 1
        self._why = ("kmem_cache_alloc({}) → {:#x}", (cache.name, sim))
        return None

    def _free_t(self, c: tuple[Any, ...], real: int, label: str) -> None:
        if not self.slab:
            return self._skip("slab events not replayed")
        if not real or real == ZERO_SIZE_PTR:
            return self._skip("free of NULL")
        entry = self._ptr.pop(real, None)
        if entry is None:
            if real in self._failed_ptr:
                self._failed_ptr.discard(real)
                self.frees_of_failed += 1
                self.last_outcome = "free of an allocation that failed in the simulator"
            else:
                self.unknown_frees["slab"] += 1
                self.last_outcome = f"free of {real:#x}: allocated before the trace"
            return None
        ev, cache_free, name, call_site = c
        sim, cache = entry
        k = self.kernel
        try:
            if cache_free and cache is not None:
                if name and name != cache.name and cache.name in self.caches_created:
                    seen = self.cache_names.setdefault(cache.name, {})
                    seen[name] = seen.get(name, 0) + 1
                k.kmem_cache_free(cache, sim, caller=call_site)
            else:
                k.kfree(sim, caller=call_site)
        except BaseException:
            self._ptr[real] = entry  # the simulator refused: nothing changed
            raise
        self.replayed += 1
        self._why = ("{}({:#x})", (ev, sim))
        return None

    def _page_alloc_t(self, c: tuple[int, str | None], value: tuple[int, int],
                      label: str) -> None:
        if not self.pages:
            return self._skip("page events not replayed")
        if not value[0]:
            return self._skip("failed on the traced machine")
        pfn = value[1]
        k = self.kernel
        old = self._pfn.pop(pfn, None)
        if old is not None:
            self.implicit_frees["page"] += 1
            k.page_alloc.free_pages(old, old.order)
        self._failed_pfn.discard(pfn)
        order, gfp_text = c
        page = k.page_alloc.alloc_pages(self._gfp(gfp_text), order, owner="pages",
                                        detail=f"replayed pfn {pfn:#x}", caller=label)
        if page is None:
            self.failed_allocs["page"] += 1
            self._failed_pfn.add(pfn)
            self.last_outcome = f"order-{order} page allocation failed in the simulator"
            return None
        self._pfn[pfn] = page
        self.replayed += 1
        self._why = ("order-{} block: real pfn {:#x} → pfn {:#x}", (order, pfn, page.pfn))
        return None

    def _page_free_t(self, c: None, value: tuple[int, int], label: str) -> None:
        if not self.pages:
            return self._skip("page events not replayed")
        pfn = value[1]
        return self._free_pfn(pfn)

    # ------------------------------------------------------------------ results
    def _sample(self) -> None:
        tl = self.timeline
        assert tl is not None
        seen: set[int] = set()
        pos = len(tl.x)
        tl.x.append(self.records)
        for cache in self.kernel.slab_caches.values():
            if id(cache) in seen:
                continue
            seen.add(id(cache))
            series = tl.series.get(cache.name)
            value = cache.nr_live * cache.size
            if series is None:
                if not value:
                    continue
                series = tl.series[cache.name] = [0] * pos
            series.append(value)

    def counters(self) -> dict[str, Any]:
        """Every counter as JSON-ready data."""
        return {
            "profile": self.kernel.profile.name,
            "records": self.records,
            "replayed": self.replayed,
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "unknown_frees": dict(self.unknown_frees),
            "failed_allocs": dict(self.failed_allocs),
            "frees_of_failed": self.frees_of_failed,
            "implicit_frees": dict(self.implicit_frees),
            "errors": self.error_count,
            "cpus_capped": self.cpus_capped,
            "size_class_differs": self.size_class_differs,
            "live_objects": len(self._ptr),
            "live_page_blocks": len(self._pfn),
            "caches_created": list(self.caches_created),
            "named_by": dict(self.named_by),
            "cache_names": {k: dict(v) for k, v in self.cache_names.items()},
            "gfp_dropped": dict(sorted(self.gfp_dropped.items())),
            "by_event": dict(sorted(self.by_event.items())),
            "done": self.done,
        }

    def summary(self) -> str:
        """A few lines for a terminal or a notebook."""
        c = self.counters()
        out = [f"replayed {c['replayed']:,} of {c['records']:,} kmem records on "
               f"{c['profile']} ({'complete' if c['done'] else 'in progress'})"]
        if c["skipped"]:
            why = ", ".join(f"{r} {n:,}" for r, n in c["skipped_by_reason"].items())
            out.append(f"  skipped {c['skipped']:,}: {why}")
        uf = c["unknown_frees"]
        out.append(f"  frees of objects allocated before the trace: {uf['slab']:,} slab, "
                   f"{uf['page']:,} page blocks")
        fa = c["failed_allocs"]
        out.append(f"  allocations that failed in the simulator: {fa['slab']:,} slab, "
                   f"{fa['page']:,} page blocks")
        imp = c["implicit_frees"]
        if imp["slab"] or imp["page"]:
            out.append(f"  frees missing from the trace (address reused): {imp['slab']:,} "
                       f"slab, {imp['page']:,} page blocks")
        if c["size_class_differs"]:
            out.append(f"  kmalloc size class differs from the traced kernel's: "
                       f"{c['size_class_differs']:,}")
        out.append(f"  still allocated: {c['live_objects']:,} objects, "
                   f"{c['live_page_blocks']:,} page blocks")
        if c["caches_created"]:
            parts = []
            for name in c["caches_created"]:
                real = c["cache_names"].get(name)
                parts.append(name + (f" ({', '.join(sorted(real))})" if real else ""))
            out.append("  caches created: " + ", ".join(parts))
        if c["cpus_capped"]:
            out.append(f"  records on CPUs the simulation lacks (run on CPU "
                       f"{self.kernel.nr_cpus - 1}): {c['cpus_capped']:,}")
        if c["gfp_dropped"]:
            out.append("  GFP flags without a counterpart, dropped: " + ", ".join(
                f"{n} {v:,}" for n, v in c["gfp_dropped"].items()))
        if self.error_count:
            out.append(f"  refused by the simulator: {self.error_count:,}")
            out.extend(f"    {e}" for e in self.errors[:5])
        return "\n".join(out)

    def __repr__(self) -> str:
        return (f"<Replayer {self.kernel.profile.name}: {self.records} records, "
                f"{self.replayed} replayed{', done' if self.done else ''}>")


def replay(source: Any, kernel: Any = None, **kwargs: Any) -> Replayer:
    """Replay a whole trace; returns the finished :class:`Replayer` (see its options)."""
    return Replayer(source, kernel, **kwargs).run()

