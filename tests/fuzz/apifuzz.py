"""A seeded stateful fuzzer over kmemlab's public API (issue 15).

Each *episode* boots a kernel (profile, RAM, CPUs and ``cmdline`` drawn from the seed),
runs a few hundred operations drawn from a weighted table, then frees everything it
still holds and checks that the machine is back in its boot state. An operation is
a valid call (on a handle the fuzzer holds) or an invalid one: wrong types, sizes,
orders, GFP masks and mask combinations, double frees, frees with the wrong API or
to the wrong cache, calls in a context that may not sleep.

After every call:

* the outcome must be one the design allows: a return value, ``ValueError`` /
  ``TypeError`` (Python misuse), the ``KernelBug`` family (a kernel-style report),
  or a documented process outcome (glibc abort, SIGSEGV, a dead process's
  ``ProcessKilled``). Anything else is an *unexpected exception*;
* when it raised, the complete digest of the state (every rendered /proc file and
  the per-process files, a hash of the whole object graph minus trace and dmesg,
  the trace, dmesg apart from the lines the report appended) must equal the digest
  taken before it (glibc aborts and SIGSEGV end a process, so they are exempt);
* the invariants hold (:func:`check_invariants`);
* it finished within ``timeout`` seconds (``signal.setitimer`` watchdog; a hang is
  reported with the operation, not waited for).

Run ``python tests/fuzz/driver.py --ops 100000`` (``make fuzz``) for the long run.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import io
import pickle
import random
import re
import signal
import sys
import time
import traceback
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field

import kmemlab as km
from kmemlab import procfs
from kmemlab.errors import KernelBug, KernelPanic
from kmemlab.gfp import GfpTable
from kmemlab.trace import TraceLog
from kmemlab.user.malloc import MallocAbort
from kmemlab.user.process import ProcessKilled

# ----------------------------------------------------------------------------- digest

PER_PROCESS_FILES = ("maps", "smaps_rollup", "statm", "oom_score")


class _StatePickler(pickle.Pickler):
    """Pickles one attribute of the kernel: the kernel itself (objects point back at
    it) and the trace log (compared on its own, by length and last events) are left
    out, so the hashes cover every other object the simulation holds."""

    dispatch_table = {TraceLog: lambda t: (str, ("<trace>",)),
                      km.Kernel: lambda k: (str, ("<kernel>",)),
                      # a profile's GFP table is constant data plus a memo of parsed masks
                      GfpTable: lambda t: (str, (f"<gfp {t.version}>",))}


def _hash(value) -> str:
    buf = io.BytesIO()
    _StatePickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return hashlib.blake2b(buf.getbuffer(), digest_size=12).hexdigest()


# What a kernel-style report itself changes: the printk clock and the taint flags
# (add_taint: 'B' bad page, 'W' warning). Compared on their own.
REPORT_FIELDS = (("clock_ns", None), ("tainted", "rules"), ("tainted", "slub"),
                 # memos: derived from the rest, filled on first use
                 ("_route_cache", "slub"))
# Trace events that are part of a report, not of a state change.
REPORT_EVENTS = {"might_sleep_bug", "sched_bug"}


DETAILED_HASHES = False   # one hash per attribute (slower; --debug shows the paths anyway)


def report_fields(k) -> tuple:
    return tuple(getattr(getattr(k, o) if o else k, n) for n, o in REPORT_FIELDS)


def state_hashes(k) -> dict[str, str]:
    """{attribute path: hash of everything reachable from it}, two levels deep
    (``page_alloc.free_blocks``, ``slub.caches`` …) so a change can be located.
    The report fields are blanked while hashing."""
    saved = report_fields(k)
    for n, o in REPORT_FIELDS:
        setattr(getattr(k, o) if o else k, n, None)
    try:
        return _state_hashes(k)
    finally:
        for (n, o), v in zip(REPORT_FIELDS, saved):
            setattr(getattr(k, o) if o else k, n, v)


def _state_hashes(k) -> dict[str, str]:
    if not DETAILED_HASHES:
        return {"*": _hash({n: v for n, v in k.__dict__.items() if n not in ("dmesg", "trace")})}
    out = {}
    for name, value in k.__dict__.items():
        if name in ("dmesg", "trace"):    # compared on their own (a report adds lines)
            continue
        sub = getattr(value, "__dict__", None)
        if sub and not isinstance(value, type):
            for n2, v2 in sub.items():
                out[f"{name}.{n2}"] = _hash(v2)
        else:
            out[name] = _hash(value)
    return out


@dataclass
class Digest:
    files: dict[str, str]
    graph: dict[str, str]
    trace_len: int
    trace_tail: tuple
    dmesg: list[str]
    report: tuple
    trace_names: list = field(default_factory=list)

    def diff(self, after: Digest, allow_dmesg_growth: bool) -> list[str]:
        """What changed from ``self`` to ``after`` (empty: nothing)."""
        out = [f"/proc/{p} changed" for p in sorted(set(self.files) | set(after.files))
               if self.files.get(p) != after.files.get(p)]
        out += [f"k.{a} changed" for a in sorted(set(self.graph) | set(after.graph))
                if self.graph.get(a) != after.graph.get(a)]
        n = len(self.dmesg)
        grew = len(after.dmesg) > n
        if after.dmesg[:n] != self.dmesg:
            out.append("earlier dmesg lines changed")
        elif grew and not allow_dmesg_growth:
            out.append(f"dmesg grew by {len(after.dmesg) - n} lines for a Python misuse")
        if self.report != after.report and not grew:
            out.append(f"clock/taint changed without a report: {self.report} -> {after.report}")
        if self.trace_len != after.trace_len:
            new = after.trace_names
            if not (grew and after.trace_len > self.trace_len and new and
                    set(new) <= REPORT_EVENTS):
                out.append(f"trace changed ({self.trace_len} -> {after.trace_len} events: "
                           f"{new[:5]})")
        elif self.trace_tail != after.trace_tail:
            out.append("last trace events changed")
        return out


def object_diff(a, b, path: str = "k", out: list | None = None, depth: int = 0,
                seen: set | None = None) -> list[str]:
    """Paths where two object graphs differ (debugging aid: slow)."""
    out = [] if out is None else out
    seen = set() if seen is None else seen
    if len(out) > 12 or depth > 12 or (id(a), id(b)) in seen:
        return out
    seen.add((id(a), id(b)))
    if isinstance(a, (TraceLog, km.Kernel)) and depth:
        return out
    if type(a) is not type(b):
        out.append(f"{path}: {type(a).__name__} -> {type(b).__name__}")
    elif isinstance(a, dict):
        if list(a) != list(b):
            ka, kb = set(a), set(b)
            out.append(f"{path}: keys -{list(ka - kb)[:3]} +{list(kb - ka)[:3]}"
                       + (" (order)" if ka == kb else ""))
        for key in a:
            if key in b:
                object_diff(a[key], b[key], f"{path}[{key!r}]", out, depth + 1, seen)
    elif isinstance(a, (list, tuple, deque)):
        if len(a) != len(b):
            out.append(f"{path}: len {len(a)} -> {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            object_diff(x, y, f"{path}[{i}]", out, depth + 1, seen)
    elif hasattr(a, "__dict__") or hasattr(a, "__slots__"):
        names = list(getattr(a, "__dict__", {})) + list(getattr(type(a), "__slots__", ()))
        for n in names:
            if n in ("dmesg",):
                continue
            object_diff(getattr(a, n, None), getattr(b, n, None), f"{path}.{n}", out,
                        depth + 1, seen)
    elif a != b and not (a != a and b != b):
        out.append(f"{path}: {a!r:.60} -> {b!r:.60}")
    return out


def digest(k) -> Digest:
    paths = list(procfs.known_paths(k))
    paths += [f"{proc.pid}/{f}" for proc in k.processes for f in PER_PROCESS_FILES]
    files = {}
    for p in paths:
        try:
            files[p] = k.proc(p)
        except (ValueError, FileNotFoundError) as e:  # a file this kernel does not have
            files[p] = f"<{e}>"
    tr = k.trace
    n = len(tr)
    tail = tuple((e.name, tuple(sorted(e.fields.items()))) for e in
                 (tr[i] for i in range(max(0, n - 3), n)))
    return Digest(files, state_hashes(k), n, tail, list(k.dmesg), report_fields(k))


def compare(k, before: Digest, *, allow_dmesg_growth: bool = True) -> list[str]:
    """What changed in ``k`` since ``before`` (a failure's own report excepted)."""
    after = digest(k)
    if after.trace_len > before.trace_len:
        try:
            after.trace_names = _new_trace_names(k, before.trace_len)
        except IndexError:
            after.trace_names = ["<ring buffer wrapped>"]
    return before.diff(after, allow_dmesg_growth=allow_dmesg_growth)


def _new_trace_names(k, since: int) -> list[str]:
    tr = k.trace
    return [tr[i].name for i in range(since, min(len(tr), since + 50))]


# ----------------------------------------------------------------------------- invariants

class InvariantViolation(AssertionError):
    pass


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise InvariantViolation(what)


_BUDDY_RE = re.compile(r"Node 0, zone +(\S+)((?: +\d+)+)")
_PTI_RE = re.compile(r"Node +0, zone +(\S+), type +(\S+)((?: +\d+)+)")


def check_invariants(k, files: dict[str, str] | None = None) -> None:
    """The invariants of issue 15, raising :class:`InvariantViolation`.

    No frame in two places (free blocks, per-CPU lists, allocated blocks, and every
    subsystem's own record of the frames it holds); nr_free, free_pages, the free lists,
    /proc/buddyinfo and /proc/pagetypeinfo agree; pcp.count equals the pages on the
    lists; every slab cache's counters equal its slabs.
    """
    pa = k.page_alloc
    try:
        pa.check_consistency()
    except AssertionError as e:
        raise InvariantViolation(f"page allocator: {e}") from None
    # frames: one place each
    spans = [(p, 1 << o, "free") for p, (o, _mt) in pa.free_blocks.items()]
    spans += [(p, 1 << pg.order, "allocated") for p, pg in pa.allocated.items()]
    for zi, row in enumerate(pa.pcp):
        for cpu, pcp in enumerate(row):
            n = 0
            for pindex, lst in enumerate(pcp.lists):
                o = pa.pcp_lists.pindex_to_order(pindex)
                n += len(lst) << o
                spans += [(p, 1 << o, f"pcp cpu{cpu}") for p in lst]
            _check(n == pcp.count, f"zone {zi} cpu {cpu}: pcp.count {pcp.count} but "
                                   f"{n} pages on the lists")
    spans.sort()
    for (a, n, wa), (b, _m, wb) in zip(spans, spans[1:]):
        _check(a + n <= b, f"frame {b:#x} is in two places ({wa} block at {a:#x}, {wb})")
    # /proc/buddyinfo and pagetypeinfo against the free lists
    files = files or {"buddyinfo": k.proc("buddyinfo"), "pagetypeinfo": k.proc("pagetypeinfo")}
    zones = {z.name: z for z in pa.zones}
    for m in _BUDDY_RE.finditer(files["buddyinfo"]):
        z = zones[m.group(1)]
        shown = [int(x) for x in m.group(2).split()]
        _check(shown == [a.nr_free for a in z.free_area],
               f"/proc/buddyinfo {z.name} {shown} != nr_free {[a.nr_free for a in z.free_area]}")
    for m in _PTI_RE.finditer(files["pagetypeinfo"]):
        z = zones[m.group(1)]
        mt = k.profile.migratetype(m.group(2))
        shown = [int(x) for x in m.group(3).split()]
        lists = [len(a.free_list[mt]) for a in z.free_area]
        _check(shown == lists, f"/proc/pagetypeinfo {z.name} {m.group(2)} {shown} != "
                               f"free lists {lists}")
    # holders: every frame a subsystem records is allocated, and held once
    held: dict[int, str] = {}

    def hold(pfn: int, n: int, who: str) -> None:
        for p in range(pfn, pfn + n):
            _check(p not in held, f"frame {p:#x} held by {held.get(p)} and {who}")
            held[p] = who

    starts = sorted(pa.allocated)
    for cache in k.slub.caches if hasattr(k.slub, "caches") else k.slab_caches.values():
        _check_cache(k, cache, hold)
    for area in k.vmalloc_state.areas.values():
        if area.owns_pages:
            for p in area.pfns:
                hold(p, 1, f"vmalloc area {area.addr:#x}")
    for proc in k.processes:
        for page in proc._anon.values():
            hold(page.pfn, 1, f"pid {proc.pid} anon")
    for kind, lru in k.reclaim.lru.items():   # page cache and workload pages
        for pfn, lp in lru.items():
            _check(pfn == lp.pfn and pa.allocated.get(pfn) is lp.page,
                   f"LRU {kind} entry {pfn:#x} is {lp!r}, not the page allocated there")
            _check(lp.task is None or lp.task.pages.get(pfn) is lp,
                   f"LRU {kind} page {pfn:#x} is not mapped by its task {lp.task!r}")
            hold(pfn, 1, f"LRU {kind}")
    allocated = pa.allocated
    for p in held:
        i = bisect.bisect_right(starts, p) - 1
        ok = i >= 0 and p < starts[i] + (1 << allocated[starts[i]].order)
        _check(ok, f"frame {p:#x} ({held[p]}) is not allocated")


def _check_cache(k, s, hold) -> None:
    slabs = []
    for c in s.cpus:
        if c.slab is not None:
            slabs.append(c.slab)
        slabs += c.partial
    slabs += s.node_partial
    slabs += list(s.full)
    _check(len(set(map(id, slabs))) == len(slabs), f"{s.name}: a slab is on two lists")
    _check(s.nr_slabs == len(slabs), f"{s.name}: nr_slabs {s.nr_slabs} != {len(slabs)} slabs")
    _check(s.total_objects == sum(x.objects for x in slabs),
           f"{s.name}: total_objects {s.total_objects} != {sum(x.objects for x in slabs)}")
    _check(s.nr_live == sum(x.inuse for x in slabs),
           f"{s.name}: nr_live {s.nr_live} != inuse {sum(x.inuse for x in slabs)}")
    for x in slabs:
        _check(0 <= x.inuse <= x.objects, f"{s.name}: slab inuse {x.inuse}/{x.objects}")
        hold(x.pfn, 1 << x.order, f"slab of {s.name}")


# ----------------------------------------------------------------------------- watchdog

class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang("operation did not finish in time")


@contextmanager
def watchdog(seconds: float):
    """SIGALRM after ``seconds``: a hang becomes an exception with its traceback."""
    if seconds <= 0 or not hasattr(signal, "setitimer"):
        yield
        return
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ----------------------------------------------------------------------------- values

BAD_TYPES = [None, "abc", 1.5, [], {}, object(), True, b"x", float("nan"), (1,)]
BAD_SIZES = [-1, -4096, 2 ** 63, 2 ** 70, 10 ** 30, "-1", "1Q", "", "9999999T", 1.5,
             None, True, float("inf")]
BAD_ORDERS = [-1, 11, 12, 20, 64, 2 ** 31, 2 ** 70, 1.0, "3", None, True]
GOOD_GFP = ["GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_USER", "GFP_HIGHUSER",
            "GFP_HIGHUSER_MOVABLE", "GFP_DMA", "GFP_DMA32", "GFP_NOFS", "GFP_NOIO",
            "GFP_KERNEL|__GFP_ZERO", "GFP_KERNEL|__GFP_NOWARN", "GFP_KERNEL|__GFP_NORETRY",
            "GFP_KERNEL|__GFP_COMP", "GFP_KERNEL|__GFP_RECLAIMABLE", "GFP_KERNEL|__GFP_MOVABLE",
            "GFP_ATOMIC|__GFP_NOWARN", "GFP_KERNEL|__GFP_HIGH", "GFP_KERNEL_ACCOUNT",
            "GFP_KERNEL|__GFP_NOFAIL"]
BAD_GFP = ["GFP_BOGUS", "GFP_KERNEL|__GFP_RECLAIMABLE|__GFP_MOVABLE",
           "GFP_DMA|__GFP_HIGHMEM", "GFP_DMA|GFP_DMA32", "GFP_DMA32|__GFP_HIGHMEM",
           "GFP_KERNEL|", "|", "GFP_KERNEL & ~", 0xFFFFFFFF, 1 << 40, -1, 1.5, None, b"GFP",
           "GFP_ATOMIC|__GFP_RECLAIMABLE|__GFP_MOVABLE", "__GFP_WAIT|__GFP_DIRECT_RECLAIM",
           "__GFP_MOVABLE|__GFP_RECLAIMABLE"]
CONTEXTS = ["hardirq", "softirq", "nmi", "process", "spin_lock", "spin_lock_irqsave",
            "irqs_off", "preempt_off", "on_cpu", "mutex"]
PROFILES = [("6.12", "x86_64"), ("6.1", "x86_64"), ("3.15", "x86_64"), ("3.15", "i386")]
EXPECTED = (ValueError, TypeError, KernelBug)
PROCESS_OUTCOMES = (MallocAbort, ProcessKilled)


@dataclass
class Stats:
    ops: int = 0
    invalid_ops: int = 0
    raised: int = 0
    process_outcomes: int = 0
    episodes: int = 0
    state_changes: int = 0
    unexpected: int = 0
    hangs: int = 0
    invariant_violations: int = 0
    boot_state_mismatches: int = 0
    by_op: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, other: Stats) -> None:
        for f in ("ops", "invalid_ops", "raised", "process_outcomes", "episodes",
                  "state_changes", "unexpected", "hangs", "invariant_violations",
                  "boot_state_mismatches"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        for n, c in other.by_op.items():
            self.by_op[n] = self.by_op.get(n, 0) + c
        self.problems += other.problems

    @property
    def failures(self) -> int:
        return (self.state_changes + self.unexpected + self.hangs + self.invariant_violations
                + self.boot_state_mismatches)

    def report(self) -> str:
        return (f"operations: {self.ops}\ninvalid operations: {self.invalid_ops}\n"
                f"calls that raised: {self.raised}\n"
                f"process outcomes (glibc abort/SIGSEGV): {self.process_outcomes}\n"
                f"episodes (boots): {self.episodes}\n"
                f"state changes after failures: {self.state_changes}\n"
                f"unexpected exceptions: {self.unexpected}\nhangs: {self.hangs}\n"
                f"invariant violations: {self.invariant_violations}\n"
                f"boot state not restored: {self.boot_state_mismatches}")


FAILED = "failed"   # an operation's result: the call failed without raising (compare)


class _Skip(Exception):
    """The operation has nothing to work on (no handle of that kind): not counted."""


# ----------------------------------------------------------------------------- fuzzer

class Episode:
    """One boot and the operations run on it."""

    def __init__(self, seed: int, stats: Stats, *, timeout: float = 20.0,
                 verbose: bool = False, debug: bool = False) -> None:
        self.debug = debug
        self.r = random.Random(seed)
        self.seed = seed
        self.stats = stats
        self.timeout = timeout
        self.verbose = verbose
        version, arch = self.r.choice(PROFILES)
        ram = self.r.choice(["128M", "256M", "512M"])
        cmdline = self.r.choice(["", "", "cma=16M", "cma=8M"])
        if arch == "i386" and self.r.random() < 0.3:
            ram = "1G"           # highmem
        self.kargs = dict(version=version, arch=arch, ram=ram, cpus=self.r.choice([1, 2, 4]),
                          cmdline=cmdline, seed=seed)
        if cmdline:  # cma= needs a kernel built with CMA (Debian's 6.x are not)
            self.kargs["config"] = {"CONFIG_CMA": "y"}
        self.k = km.Kernel(**self.kargs)
        self.pages: list = []        # (Page, order)
        self.addrs: list = []        # (address, order) from __get_free_pages
        self.kptrs: list = []        # kmalloc family
        self.caches: list = []
        self.objs: list = []         # (cache, ptr)
        self.vptrs: list = []
        self.vmaps: list = []        # (addr, [Page])
        self.modules: list = []
        self.cma: list = []
        self.procs: list = []
        self.pmem: dict = {}         # pid -> [ptr]
        self.pmaps: dict = {}        # pid -> [(addr, len)]
        self.stale: list = []        # (kind, handle) already freed
        self.ctx: list = []          # entered context managers (LIFO)
        self.module_serial = 0
        self._taken: list = []
        self.dead = False
        self.leaky = False           # a deliberate leak: no boot-state comparison
        self.corrupted = False       # a silent double free happened (see below)
        self.replayed = False
        self.boot_free = self._drained_view()
        self.ops = self._op_table()

    # ---------------------------------------------------------------- helpers
    def gfp(self, valid_p: float = 0.85):
        if self.r.random() < valid_p:
            g = self.r.choice(GOOD_GFP)
            return (km.gfp.parse(g) if self.r.random() < 0.5 else g), False
        return self.r.choice(BAD_GFP), True

    def size(self, hi: int = 16384):
        r = self.r.random()
        if r < 0.88:
            return self.r.choice([0, 1, 8, 64, 96, 100, 192, 512, 4095, 4096, 8192,
                                  self.r.randint(1, hi)]), False
        return self.r.choice(BAD_SIZES), True

    def order(self):
        if self.r.random() < 0.9:
            return self.r.choice([0, 0, 0, 1, 2, 3, 4, 9, 10]), False
        return self.r.choice(BAD_ORDERS), True

    def pick(self, pool):
        if not pool:
            raise _Skip
        return self.r.choice(pool)

    def take(self, pool):
        """Remove a handle from ``pool`` for a free; put back if the call raises (a
        refused free leaves the object allocated)."""
        if not pool:
            raise _Skip
        item = pool.pop(self.r.randrange(len(pool)))
        self._taken.append((pool, item))
        return item

    def bad_addr(self):
        k = self.k
        a = self.r.choice([0x1234, k.profile.page_offset + 8, k.profile.page_offset +
                           (k.max_low_pfn << k.PAGE_SHIFT) - 4096, 2 ** 64 - 4096,
                           k.layout.VMALLOC_START, k.layout.VMALLOC_START + 12345,
                           -4096, 2 ** 70])
        if a in k.vmalloc_state.areas:   # a live area (a module on i386): not "bad"
            a = 0x1234
        return a

    def _silent_double_free(self) -> None:
        """The double free above returned: a stock kernel (no slub_debug, the object not
        at the freelist head) lets it through and the freelist now holds the object
        twice. From here on the episode's kernel is corrupted, as a real one would be:
        later frees of the object handed out twice may be reported as bugs, and the
        boot state cannot come back."""
        self.corrupted = True
        self.leaky = True

    def _teardown_free(self, fn, *args) -> None:
        """A teardown free. Only a corrupted freelist (:meth:`_silent_double_free`)
        excuses a bug report here (an object handed out twice is freed twice: through
        the fuzzer's pointer and, e.g., as a vmalloc area's page array), or a handle
        that corruption made stale (a cache destroyed while the fuzzer still held an
        object the corrupted counts no longer had)."""
        try:
            fn(*args)
        except (km.KernelBug, ValueError):
            if not self.corrupted:
                raise

    def stale_of(self, kind: str):
        """A handle freed before, for a double free, unless its memory has been handed
        out again: a stale *address* is then someone else's live object, which the real
        kernel cannot tell from a correct free either (Page objects are told apart by
        identity, so those stay; a CmaAllocation is a ``struct page *`` in mm/cma.c:
        cma_release, which frees whatever the range holds now)."""
        cands = [h for kd, h in self.stale if kd == kind and not self._reused(kd, h)]
        if not cands:
            raise _Skip
        return self.r.choice(cands)

    def _reused(self, kind: str, h) -> bool:
        k = self.k
        pa = k.page_alloc
        if kind == "addr":
            return k.virt_to_pfn(h[0]) in pa.allocated
        if kind in ("kptr", "obj"):
            p = h if kind == "kptr" else h[1]
            return p in k.slub.live or (p & (k.PAGE_SIZE - 1) == 0 and
                                        k.virt_to_pfn(p) in pa.allocated)
        if kind == "vptr":
            return h in k.vmalloc_state.areas or h in k.vmalloc_state.lazy
        if kind == "cma":
            area = k.cma_areas[h.area]
            off = h.pfn - area.base_pfn
            return any(area.bitmap[off:off + h.count])
        return False

    # ---------------------------------------------------------------- operations
    def _op_table(self):
        ops = [
            (8, self.op_alloc_pages), (6, self.op_free_pages), (4, self.op_get_free_pages),
            (3, self.op_free_addr), (12, self.op_kmalloc), (8, self.op_kfree),
            (2, self.op_krealloc), (1, self.op_ksize), (2, self.op_cache_create),
            (5, self.op_cache_alloc), (4, self.op_cache_free), (1, self.op_cache_destroy),
            (1, self.op_cache_shrink), (4, self.op_vmalloc), (3, self.op_vfree),
            (1, self.op_vmap), (1, self.op_vunmap), (1, self.op_memblock),
            (2, self.op_cma_alloc), (2, self.op_cma_release), (2, self.op_load_module),
            (2, self.op_unload_module), (4, self.op_enter_ctx), (4, self.op_leave_ctx),
            (2, self.op_reclaim), (3, self.op_spawn), (8, self.op_proc_malloc),
            (6, self.op_proc_free), (3, self.op_proc_realloc), (2, self.op_proc_calloc),
            (3, self.op_proc_mmap), (2, self.op_proc_munmap), (1, self.op_proc_mremap),
            (2, self.op_proc_brk), (4, self.op_proc_touch), (1, self.op_proc_exit),
            (2, self.op_heap_misuse), (2, self.op_wrong_api), (1, self.op_drain),
            (1, self.op_replay), (1, self.op_misc), (1, self.op_kmap),
        ]
        weights = [w for w, _ in ops]
        return [f for _, f in ops], weights

    def op_alloc_pages(self):
        g, bad = self.gfp()
        o, bad2 = self.order()
        fn = self.r.choice([self.k.alloc_pages, lambda g, o: self.k.alloc_pages(g, o)])
        pg = fn(g, o)
        if pg is not None:
            self.pages.append((pg, o))
        return bad or bad2

    def op_free_pages(self):
        r = self.r.random()
        if r < 0.75:
            pg, o = self.take(self.pages)
            self.k.free_pages(pg, o)
            self.stale.append(("page", (pg, o)))
            return False
        if r < 0.85:
            pg, o = self.stale_of("page")
            self.k.free_pages(pg, o)           # double free
            return True
        pg, o = self.pick(self.pages)
        self.k.free_pages(pg, self.r.choice([o + 1, max(o - 1, 0) if o else 3, -1, "0"]))
        return True

    def op_get_free_pages(self):
        g, bad = self.gfp()
        o, bad2 = self.order()
        if self.r.random() < 0.2:
            a = self.k.get_zeroed_page(g)
            o = 0
        else:
            a = self.k.get_free_pages(g, o)
        if a is not None:
            self.addrs.append((a, o))
        return bad or bad2

    def op_free_addr(self):
        r = self.r.random()
        if r < 0.75:
            a, o = self.take(self.addrs)
            self.k.free_pages(a, o)
            self.stale.append(("addr", (a, o)))
            return False
        if r < 0.85:
            a, o = self.stale_of("addr")
            self.k.free_pages(a, o)
            return True
        self.k.free_pages(self.r.choice([self.bad_addr(), "x", 1.5]), self.r.choice([0, None]))
        return True

    def op_kmalloc(self):
        s, bad = self.size(3 << 20)
        g, bad2 = self.gfp()
        k = self.k
        which = self.r.randrange(4)
        if which == 0:
            p = k.kmalloc(s, g)
        elif which == 1:
            p = k.kzalloc(s, g)
        elif which == 2:
            n = self.r.choice([0, 1, 3, 2 ** 62, -1, 10])
            p = k.kcalloc(n, s, g)
            bad2 = bad2 or n == -1
        else:
            p = k.memblock_alloc(s, self.r.choice([0, 8, 4096])) if not bad else \
                k.kmalloc(s, g)
        if p is not None and p != 0x10:
            self.kptrs.append(p)
        return bad or bad2

    def op_kfree(self):
        r = self.r.random()
        k = self.k
        if r < 0.75:
            p = self.take(self.kptrs)
            k.kfree(p)
            self.stale.append(("kptr", p))
            return False
        if r < 0.85:
            k.kfree(self.stale_of("kptr"))
            self._silent_double_free()
            return True
        if r < 0.92 and self.kptrs:
            p = self.pick(self.kptrs) + self.r.choice([1, 8, 64])
            if p in k.slub.live:                   # the next object: not wrong
                raise _Skip
            k.kfree(p)
            return True
        k.kfree(self.r.choice([self.bad_addr(), "p", 2.0, [1]]))
        return True

    def op_krealloc(self):
        s, bad = self.size(20000)
        g, bad2 = self.gfp()
        p = self.take(self.kptrs) if self.kptrs and self.r.random() < 0.8 else None
        q = self.k.krealloc(p, s, g)
        if q is None:
            if p is not None and s != 0:
                self.kptrs.append(p)
        elif q != 0x10:
            self.kptrs.append(q)
        return bad or bad2

    def op_ksize(self):
        if self.kptrs and self.r.random() < 0.7:
            self.k.ksize(self.pick(self.kptrs))
            return False
        self.k.ksize(self.r.choice([self.bad_addr(), "x", 0x10]))
        return True

    def op_cache_create(self):
        k = self.k
        bad = self.r.random() < 0.2
        name = f"fz_{self.r.randrange(40)}" if not bad else \
            self.r.choice(["", "bad name", None, 5, "a" * 300, "kmalloc-64"])
        size, bs = self.size(5000) if not bad else (self.r.choice([0, -5, 2 ** 40, "x"]), True)
        align = self.r.choice([0, 0, 8, 64, 4096]) if not bad else self.r.choice([3, -8, "x"])
        flags = self.r.choice([0, 0, "SLAB_HWCACHE_ALIGN", "SLAB_RECLAIM_ACCOUNT",
                               "SLAB_ACCOUNT"]) if not bad else self.r.choice(["SLAB_BOGUS", 1.5])
        if any(getattr(c, "name", None) == name for c in self.caches):
            bad = True
        c = k.kmem_cache_create(name, size, align, flags)
        if c is not None:
            self.caches.append(c)
        return bad or bs

    def op_cache_alloc(self):
        c = self.pick(self.caches)
        g, bad = self.gfp()
        p = (self.k.kmem_cache_zalloc if self.r.random() < 0.3 else self.k.kmem_cache_alloc)(c, g)
        if p is not None:
            self.objs.append((c, p))
        return bad

    def op_cache_free(self):
        r = self.r.random()
        if r < 0.75:
            c, p = self.take(self.objs)
            self.k.kmem_cache_free(c, p)
            self.stale.append(("obj", (c, p)))
            return False
        if r < 0.85:
            c, p = self.stale_of("obj")
            self.k.kmem_cache_free(c, p)
            self._silent_double_free()
            return True
        c, p = self.pick(self.objs)
        other = self.r.choice(self.caches + [self.k.slab_caches["kmalloc-64"], "nope", None])
        if other is c:
            raise _Skip
        self.k.kmem_cache_free(other, p)
        # returned: the kernel's cache_from_obj WARNs "Wrong slab cache" and frees the
        # object to its own cache (or the caches are merged): it is gone
        self.objs.remove((c, p))
        return True

    def op_cache_destroy(self):
        c = self.pick(self.caches)
        live = [o for o in self.objs if o[0] is c]
        bad = bool(live) or self.r.random() < 0.1
        if self.r.random() < 0.1:
            self.k.kmem_cache_destroy(self.r.choice(["x", None, 3]))
            return True
        self.k.kmem_cache_destroy(c)
        self.caches.remove(c)
        self.stale.append(("cache", c))
        return bad

    def op_cache_shrink(self):
        if self.caches and self.r.random() < 0.8:
            self.k.kmem_cache_shrink(self.pick(self.caches))
            return False
        self.k.kmem_cache_shrink(self.r.choice(["x", None]) if self.r.random() < 0.5
                                 else self.stale_of("cache"))
        return True

    def op_vmalloc(self):
        k = self.k
        s, bad = self.size(4 << 20)
        which = self.r.randrange(6)
        if which == 0:
            v = k.vmalloc(s)
        elif which == 1:
            v = k.vzalloc(s)
        elif which == 2:
            v = k.vmalloc_32(s)
        elif which == 3:
            g, bad2 = self.gfp()
            bad = bad or bad2
            v = k.vmalloc_gfp(s, g)
        elif which == 4:
            node = self.r.choice([0, 0, 1, -1, "0"])
            bad = bad or node != 0
            v = k.vmalloc_node(s, node)
        else:
            v = k.vmalloc_node_range(s, "GFP_KERNEL", align=self.r.choice([1, 4096, 3]))
        if v is not None:
            self.vptrs.append(v)
        return bad

    def op_vfree(self):
        r = self.r.random()
        if r < 0.75:
            v = self.take(self.vptrs)
            self.k.vfree(v)
            self.stale.append(("vptr", v))
            return False
        if r < 0.85:
            self.k.vfree(self.stale_of("vptr"))
            return True
        if r < 0.92 and self.vptrs:
            v = self.pick(self.vptrs) + self.r.choice([4096, 1, 8192])
            if v in self.k.vmalloc_state.areas:    # the next area's start: not wrong
                raise _Skip
            self.k.vfree(v)
            return True
        self.k.vfree(self.r.choice([self.bad_addr(), "v", 1.5]))
        return True

    def op_vmap(self):
        if self.r.random() < 0.2:
            self.k.vmap(self.r.choice([[], [None], "x", 5, [10 ** 12]]))
            return True
        n = self.r.randint(1, 4)
        got = []
        for _ in range(n):
            pg = self.k.alloc_pages("GFP_KERNEL", 0)
            if pg is not None:
                got.append(pg)
        self.pages += [(p, 0) for p in got]
        if not got:
            return False
        a = self.k.vmap(got)
        if a is not None:
            self.vmaps.append(a)
        return False

    def op_vunmap(self):
        if self.vmaps and self.r.random() < 0.8:
            self.k.vunmap(self.take(self.vmaps))
            return False
        if self.vptrs and self.r.random() < 0.1:
            # vunmap of a vmalloc'd area: the kernel leaks its pages (and page array)
            v = self.vptrs.pop()
            try:
                self.k.vunmap(v)
            except BaseException:
                self.vptrs.append(v)
                raise
            self.leaky = True
            return True
        self.k.vunmap(self.bad_addr())
        return True

    def op_memblock(self):
        k = self.k
        fn = self.r.choice([lambda: k.memblock_reserve(0x100000, 4096),
                            lambda: k.memblock_add(1 << 40, "1M"),
                            lambda: k.memblock_free(0x100000, 4096),
                            lambda: k.memblock_phys_alloc(4096),
                            lambda: k.memblock_phys_free(0x100000, 4096),
                            lambda: k.memblock_set_bottom_up(True),
                            lambda: k.alloc_bootmem(4096),
                            lambda: k.free_bootmem(0x100000, 4096),
                            lambda: k.memblock_alloc(-1),
                            lambda: k.memblock_alloc("x")])
        p = fn()
        if isinstance(p, int) and p > 0x10 and k.profile.page_offset <= p:
            self.kptrs.append(p)
        return True

    def op_cma_alloc(self):
        k = self.k
        bad = not k.cma_areas or self.r.random() < 0.2
        count = self.r.choice([1, 2, 8, 64, 512, 3]) if not bad else \
            self.r.choice([0, -1, 2 ** 40, "8", 1.5, 1 << 30])
        align = self.r.choice([0, 0, 3, 9]) if not bad else self.r.choice([0, -1, 99])
        a = k.cma_alloc(count, align, no_warn=self.r.random() < 0.3)
        if a is not None:
            self.cma.append(a)
        return bad

    def op_cma_release(self):
        k = self.k
        r = self.r.random()
        if r < 0.7:
            a = self.take(self.cma)
            ok = k.cma_release(a)
            assert ok is True, "cma_release of a live allocation returned False"
            self.stale.append(("cma", a))
            return False
        if r < 0.8:
            ok = k.cma_release(self.stale_of("cma"))      # twice
        elif r < 0.9 and self.cma:
            a = self.pick(self.cma)
            n = self.r.choice([a.count + 1, a.count * 2, a.count + 512, max(a.count - 1, 1)])
            ok = k.cma_release(a.pfn, n)
            if ok:   # a shorter count, or one that covers the next allocation exactly:
                # the kernel frees those pages; so does kmemlab
                self.cma = [b for b in self.cma if b.pfn + b.count <= a.pfn or
                            b.pfn >= a.pfn + n]
                self.leaky = True
                return True
        else:
            ok = k.cma_release(self.r.choice([0, 123456789, "x", None]),
                               self.r.choice([1, 0, -1]))
        assert ok is False, "cma_release of pages it does not hold returned True"
        return FAILED

    def op_load_module(self):
        k = self.k
        self.module_serial += 1
        bad = self.r.random() < 0.15
        name = f"fzmod{self.module_serial}" if not bad else \
            self.r.choice(["", "bad/name", None, 7] + [m.name for m in self.modules][:1])
        sz = self.r.choice([0, 4096, 10000, 1 << 20, 50 << 20])
        text, _ = (self.r.choice([1, 4096, 20000]), False)
        m = k.load_module(name, text, sz, self.r.choice([0, 4096, 1 << 20]),
                          init=self.r.choice([0, 4096]))
        if m is not None:
            self.modules.append(m)
        return bad

    def op_unload_module(self):
        k = self.k
        r = self.r.random()
        if r < 0.75:
            m = self.take(self.modules)
            k.unload_module(m.name)
            self.stale.append(("module", m))
            return False
        if r < 0.85:
            k.unload_module(self.stale_of("module").name)
            return True
        k.unload_module(self.r.choice(["nosuch", None, 3]))
        return True

    def op_enter_ctx(self):
        k = self.k
        if len(self.ctx) > 6:
            raise _Skip
        kind = self.r.choice(CONTEXTS)
        bad = False
        if kind in ("hardirq", "softirq", "nmi", "process"):
            cm = k.context(kind)
        elif kind == "spin_lock":
            cm = k.spin_lock(f"l{self.r.randrange(3)}")
        elif kind == "spin_lock_irqsave":
            cm = k.spin_lock("irql", irqsave=True)
        elif kind == "irqs_off":
            cm = k.irqs_disabled()
        elif kind == "preempt_off":
            cm = k.preempt_disabled()
        elif kind == "on_cpu":
            cpu = self.r.choice([0, 1, 2, 3, 7, -1])
            bad = cpu >= k.nr_cpus or cpu < 0
            cm = k.on_cpu(cpu)
        else:
            name = f"m{self.r.randrange(3)}"
            k.mutex_lock(name)
            self.ctx.append(("mutex", name))
            return False
        if self.r.random() < 0.05:
            cm = k.context(self.r.choice(["irq", "", None]))
            bad = True
        cm.__enter__()
        self.ctx.append(("cm", cm))
        return bad

    def op_leave_ctx(self):
        if not self.ctx:
            if self.r.random() < 0.5:
                raise _Skip
            self.k.mutex_unlock("never")
            return True
        kind, h = self.ctx.pop()
        if kind == "mutex":
            self.k.mutex_unlock(h)
        else:
            h.__exit__(None, None, None)
        return False

    def op_reclaim(self):
        k = self.k
        which = self.r.randrange(6)
        if which == 0:
            k.workload.page_cache(self.r.choice(["1M", "4M", "8M", "-1", "x"]))
        elif which == 1:
            t = k.workload.anon(self.r.choice(["1M", "4M", "16M"]), comm="hog")
            _ = t
        elif which == 2:
            k.kswapd_run()
        elif which == 3:
            k.workload.drop_caches()
        elif which == 4:
            k.msleep(self.r.choice([1, 10, -1, "x"]))
        else:
            k.copy_from_user(self.r.choice([8, 4096, -1]))
        return False

    def op_spawn(self):
        k = self.k
        if len(self.procs) > 6:
            raise _Skip
        bad = self.r.random() < 0.15
        name = "app" if not bad else self.r.choice(["", "a/b", None, 5, "x" * 100])
        env = None if self.r.random() < 0.7 else self.r.choice(
            [{"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"},
             {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=4096"}, {"A": 1}, "x"])
        if isinstance(env, (str, dict)) and (not isinstance(env, dict) or
                                             not all(isinstance(v, str) for v in env.values())):
            bad = True
        p = k.spawn(name, env, uid=self.r.choice([1000, 1000, 0]))
        if p is not None:
            self.procs.append(p)
            self.pmem[p.pid] = []
            self.pmaps[p.pid] = []
        return bad

    def _proc(self):
        live = [p for p in self.procs if p.alive]
        if not live and self.procs and self.r.random() < 0.3:
            return self.r.choice(self.procs)
        if not live:
            raise _Skip
        return self.r.choice(live)

    def op_proc_malloc(self):
        p = self._proc()
        s, bad = self.size(300000)
        a = p.malloc(s)
        if a:
            self.pmem[p.pid].append(a)
        return bad or not p.alive

    def op_proc_free(self):
        p = self._proc()
        mem = self.pmem[p.pid]
        if mem and self.r.random() < 0.9:
            a = mem.pop(self.r.randrange(len(mem)))
            p.free(a)
            return False
        p.free(None)
        return False

    def op_proc_realloc(self):
        p = self._proc()
        mem = self.pmem[p.pid]
        s, bad = self.size(300000)
        a = mem.pop(self.r.randrange(len(mem))) if mem and self.r.random() < 0.8 else None
        try:
            b = p.realloc(a, s)
        except BaseException:
            if a is not None:
                mem.append(a)
            raise
        if b:
            mem.append(b)
        elif a is not None and s != 0:
            mem.append(a)
        return bad

    def op_proc_calloc(self):
        p = self._proc()
        n = self.r.choice([1, 4, 100, 2 ** 62, -1])
        s, bad = self.size(5000)
        a = p.calloc(n, s)
        if a:
            self.pmem[p.pid].append(a)
        return bad or n < 0

    def op_proc_mmap(self):
        p = self._proc()
        length, bad = self.size(1 << 22)
        prot = self.r.choice([3, 1, 0, 7, 3, -1 if self.r.random() < 0.1 else 3])
        flags = self.r.choice([0x22, 0x22, 0x4022, 0x21, 0x02, 0x32 if self.r.random() < 0.1
                               else 0x22])
        a = p.mmap(length, prot, flags)
        if isinstance(a, int) and a > 0 and not bad:
            self.pmaps[p.pid].append((a, length))
        return bad or prot < 0 or flags != 0x22

    def op_proc_munmap(self):
        p = self._proc()
        maps = self.pmaps[p.pid]
        if maps and self.r.random() < 0.8:
            a, n = maps.pop(self.r.randrange(len(maps)))
            p.munmap(a, n)
            return False
        p.munmap(self.r.choice([0x1001, -4096, 2 ** 64, "x"]), self.r.choice([4096, -1, 0]))
        return True

    def op_proc_mremap(self):
        p = self._proc()
        maps = self.pmaps[p.pid]
        a, n = self.take(maps)
        new = self.r.choice([n * 2, max(n // 2, 1), 1 << 20, -1, 0])
        res = p.mremap(a, n, new, self.r.choice([0, 1, 1, 3]))
        if isinstance(res, int) and res > 0:
            maps.append((res, new))
        else:
            maps.append((a, n))
        return new <= 0

    def op_proc_brk(self):
        p = self._proc()
        if self.r.random() < 0.5:
            p.sbrk(self.r.choice([0, 4096, 100000, -4096, -(1 << 40), "x"]))
        else:
            cur = p.brk()
            p.brk(self.r.choice([cur + 8192, cur - 4096, 0, 2 ** 64, "x", None]))
        return True

    def op_proc_touch(self):
        p = self._proc()
        mem = self.pmem[p.pid] + [a for a, _ in self.pmaps[p.pid]]
        if mem and self.r.random() < 0.85:
            a = self.r.choice(mem)
            p.touch(a, self.r.choice([1, 100, 4096, 20000]), write=self.r.random() < 0.7)
            return False
        p.touch(self.r.choice([0, 0x1000, 2 ** 47 - 4096, -1, "x"]), self.r.choice([1, -1, 0]))
        return True

    def op_proc_exit(self):
        p = self._proc()
        if self.r.random() < 0.5:
            p.exit(self.r.choice([0, 1, 255, "x"]))
        else:
            p.kill(self.r.choice(["SIGKILL", "SIGTERM", 9, "SIGFOO", 999]))
        return False

    def op_heap_misuse(self):
        """What a buggy C program does to its heap: glibc aborts (or it crashes)."""
        p = self._proc()
        mem = self.pmem[p.pid]
        which = self.r.randrange(5)
        if which == 0 and mem:
            a = self.r.choice(mem)
            p.free(a)
            p.free(a)                          # double free
        elif which == 1 and mem:
            a = self.r.choice(mem)
            p.touch(a - 16, 16)                # the program scribbles over the header
            p._check_alive()
            p.libc.words[a - 8] = self.r.choice([0, 0x21, 0xdeadbeef, 1 << 40, 0x1001])
            p.realloc(a, self.r.choice([8, 4000, 100000]))
        elif which == 2 and mem:
            a = self.r.choice(mem)
            p.free(a)
            mem.remove(a)
            p._check_alive()
            p.libc.words[a] = self.r.choice([0x41414141, 0, a])   # use after free: fd/bk
            p.libc.words[a + 8] = self.r.choice([0x42424242, 0, a])
            b = p.malloc(self.r.choice([16, 24, 100, 1000]))
            if b:
                mem.append(b)
            c = p.malloc(self.r.choice([16, 24, 100, 1000, 5000]))
            if c:
                mem.append(c)
        elif which == 3:
            p.free(self.r.choice([0x1234, 0x10, (mem[0] + 8) if mem else 0x4000]))
        else:
            p.realloc(self.r.choice([0x5000, (mem[0] + 16) if mem else 0x7000]), 100)
        return True

    def op_wrong_api(self):
        """Freeing with the wrong API: kfree(vmalloc), vfree(kmalloc), free_pages(kmalloc)."""
        k = self.k
        which = self.r.randrange(7)
        if which == 0:
            k.kfree(self.pick(self.vptrs))
        elif which == 1:
            k.vfree(self.pick(self.kptrs))
        elif which == 2:
            k.free_pages(self.pick(self.kptrs) & ~(k.PAGE_SIZE - 1), 0)
        elif which == 3:   # the kernel lets vfree free module memory; rmmod then WARNs
            m = self.pick(self.modules)
            k.vfree(m.base)
            self.modules.remove(m)
            self.leaky = True
        elif which == 4:
            pg = k.vmalloc_to_page(self.pick(self.vptrs))
            k.free_pages(pg, 0)
        elif which == 5:
            a = self.pick(self.cma)
            k.free_pages(a.pages[0], a.pages[0].order)
        else:
            p = self.pick(self.kptrs)
            k.kmem_cache_free(self.pick(self.caches), p)
            self.kptrs.remove(p)          # freed to its own cache after the WARN
        return True

    def op_drain(self):
        k = self.k
        which = self.r.randrange(4)
        if which == 0:
            k.drain_all_pages()
        elif which == 1:
            k.purge_vmap_area_lazy()
        elif which == 2:
            k.slub.flush_all()
        else:
            k.nr_free_pages(include_pcp=True)
        return False

    def op_replay(self):
        k = self.k
        from kmemlab.replay import Replayer
        lines = []
        for i in range(self.r.randint(1, 12)):
            ptr = 0xffff888100000000 + self.r.randrange(1 << 20) * 64
            kind = self.r.randrange(5)
            if kind == 0:
                gfp = self.r.choice(["GFP_KERNEL", "BOGUS", "0x1234"])
                lines.append(f" app-1 [000] ..... {i}.000001: kmalloc: call_site=foo+0x1/0x2 "
                             f"ptr={ptr:#x} bytes_req={self.r.choice([8, 100, 5000, -1])} "
                             f"bytes_alloc=128 gfp_flags={gfp}")
            elif kind == 1:
                lines.append(f" app-1 [000] ..... {i}.000002: kfree: call_site=foo+0x1/0x2 "
                             f"ptr={ptr:#x}")
            elif kind == 2:
                order = self.r.choice([0, 1, 11, 99])
                lines.append(f" app-1 [001] ..... {i}.000003: mm_page_alloc: page=0x0 "
                             f"pfn={self.r.randrange(1 << 18):#x} order={order} "
                             f"migratetype={self.r.choice([0, 1, 3, 9])} gfp_flags=GFP_KERNEL")
            elif kind == 3:
                lines.append(f" app-1 [001] ..... {i}.000004: mm_page_free: page=0x0 "
                             f"pfn={self.r.randrange(1 << 18):#x} order=0")
            else:
                lines.append(self.r.choice(["garbage", "\x00\x01", "# comment", "a: b: c",
                                            " x-1 [999] ..... 1.0: kmalloc: ptr=zz"]))
        rp = Replayer(io.StringIO("\n".join(lines) + "\n"), k, keep_trace=True,
                      max_errors=self.r.choice([0, 5, 20]))
        try:
            rp.run(self.r.choice([None, 3]))
        finally:   # what the trace allocated and never freed is the fuzzer's to free
            for sim, cache in rp._ptr.values():
                if cache is None:
                    self.kptrs.append(sim)
                else:
                    self.objs.append((cache, sim))
            self.pages += [(pg, pg.order) for pg in rp._pfn.values()]
            self.replayed = True
        return True

    def op_misc(self):
        k = self.k
        fn = self.r.choice([
            lambda: k.virt_to_phys(self.bad_addr()), lambda: k.phys_to_virt(2 ** 60),
            lambda: k.vmalloc_to_pfn(self.bad_addr()), lambda: k.kmalloc_cache("x"),
            lambda: k.gfp_value("GFP_NOPE"), lambda: k.proc("nosuchfile"),
            lambda: k.explain(10 ** 9), lambda: k.find_vm_area(12),
            lambda: k.kmalloc(64, "GFP_KERNEL", caller=5),
            lambda: k.might_sleep(), lambda: k.gfp_zone("GFP_DMA|__GFP_HIGHMEM"),
            lambda: k.get_order(-1), lambda: k.get_order("x"),
        ])
        fn()
        return True

    def op_kmap(self):
        k = self.k
        pg, _o = self.pick(self.pages)
        if self.r.random() < 0.5:
            k.kmap(pg)
            k.kunmap(pg)
        else:
            k.kunmap(pg)                      # never mapped
        return True

    # ---------------------------------------------------------------- running
    def step(self) -> bool:
        """One operation; False when the episode must end (panic, hang, bad outcome)."""
        fns, weights = self.ops
        fn = self.r.choices(fns, weights)[0]
        st = self.stats
        before = self._before
        if before is None:
            before = self._before = digest(self.k)
        snap = self.k.snapshot() if self.debug else None
        self._taken = []
        raised = ""
        try:
            with watchdog(self.timeout):
                invalid = fn()
            outcome = None
        except _Skip:
            self._untake()
            return True
        except Hang:
            self._untake()
            st.ops += 1
            st.hangs += 1
            self._problem("hang", fn, traceback.format_exc(limit=-8))
            return False
        except KernelPanic:
            st.ops += 1
            st.raised += 1
            self._count(fn)
            return False          # the machine stopped: end of the episode
        except PROCESS_OUTCOMES:
            st.ops += 1
            st.process_outcomes += 1
            self._count(fn)
            self._before = None
            return self._invariants(fn)
        except EXPECTED as e:
            self._untake()
            outcome = type(e).__name__
            raised = str(e).splitlines()[0][:200] if str(e) else ""
            invalid = True
            if isinstance(e, KernelBug) and not isinstance(e, type) and \
                    type(e).__name__ == "OutOfMemory":
                outcome = "OutOfMemory"
        except InvariantViolation:
            raise
        except AssertionError as e:
            st.ops += 1
            st.unexpected += 1
            self._problem("fuzzer assertion", fn, str(e))
            return False
        except Exception as e:   # noqa: BLE001 - exactly what we are looking for
            st.ops += 1
            st.unexpected += 1
            self._problem(f"unexpected {type(e).__name__}", fn,
                          traceback.format_exc(limit=-6))
            return False
        st.ops += 1
        self._count(fn)
        if invalid == FAILED:
            outcome = "a failure return"
        if invalid:
            st.invalid_ops += 1
        after = digest(self.k)
        if after.trace_len > before.trace_len:
            try:
                after.trace_names = _new_trace_names(self.k, before.trace_len)
            except IndexError:
                after.trace_names = ["<ring buffer wrapped>"]
        if outcome is not None:
            st.raised += 1
            changes = before.diff(after, allow_dmesg_growth=outcome != "TypeError")
            if changes:
                if snap is not None:
                    changes += object_diff(snap, self.k)
                st.state_changes += 1
                self._problem(f"state changed after {outcome}", fn,
                              "; ".join(changes[:14]) + (f" [raised: {raised}]"
                                                          if outcome != "a failure return"
                                                          else ""))
                self._before = after
                return False
        self._before = after
        return self._invariants(fn, after.files)

    def _untake(self) -> None:
        for pool, item in self._taken:
            pool.append(item)
        self._taken = []

    def _invariants(self, fn, files=None) -> bool:
        try:
            check_invariants(self.k, files)
        except InvariantViolation as e:
            self.stats.invariant_violations += 1
            self._problem("invariant", fn, str(e))
            return False
        return True

    def _count(self, fn) -> None:
        n = fn.__name__
        self.stats.by_op[n] = self.stats.by_op.get(n, 0) + 1

    def _problem(self, what: str, fn, detail: str) -> None:
        msg = f"seed {self.seed} {self.kargs} op #{self.stats.ops} {fn.__name__}: {what}: {detail}"
        self.stats.problems.append(msg)
        if self.verbose:
            print(msg, file=sys.stderr)

    def run(self, n_ops: int) -> None:
        self.stats.episodes += 1
        self._before = None
        done = 0
        ok = True
        while done < n_ops and ok:
            n0 = self.stats.ops
            ok = self.step()
            done += self.stats.ops - n0 or (1 if self.r.random() < 0.02 else 0)
        if ok and not self.k.panicked:
            self.teardown_and_compare()

    # ---------------------------------------------------------------- teardown
    def _drained_view(self):
        """The state that freeing everything and draining must give back."""
        k = self.k
        k.slub.flush_all()
        for c in list(k.slab_caches.values()):
            k.slub.kmem_cache_shrink(c, caller="fuzz")
        k.purge_vmap_area_lazy()
        k.drain_all_pages()
        pa = k.page_alloc
        # kernel page tables stay: x86 never frees the vmalloc/modules area's tables
        # (vunmap_range only clears PTEs), so a page can move from free to "pgtable"
        tables = sum(1 << pg.order for pg in pa.allocated.values() if pg.owner == "pgtable")
        return (sorted((p, pg.order, pg.owner) for p, pg in pa.allocated.items()
                       if pg.owner != "pgtable"),
                sum(z.free_pages for z in pa.zones) + tables)

    def teardown_and_compare(self) -> None:
        k = self.k
        st = self.stats
        try:
            with watchdog(self.timeout * 5):
                while self.ctx:
                    kind, h = self.ctx.pop()
                    if kind == "mutex":
                        k.mutex_unlock(h)
                    else:
                        h.__exit__(None, None, None)
                for p in self.procs:
                    if p.alive:
                        p.exit(0)
                for pg, o in self.pages:
                    k.free_pages(pg, o)
                for a, o in self.addrs:
                    k.free_pages(a, o)
                for p in self.kptrs:
                    self._teardown_free(k.kfree, p)
                for c, p in self.objs:
                    self._teardown_free(k.kmem_cache_free, c, p)
                for c in self.caches:
                    self._teardown_free(k.kmem_cache_destroy, c)
                for v in self.vptrs:
                    self._teardown_free(k.vfree, v)
                for a in self.vmaps:
                    self._teardown_free(k.vunmap, a)
                for m in self.modules:
                    self._teardown_free(k.unload_module, m.name)
                for a in self.cma:
                    self._teardown_free(k.cma_release, a)
                for t in list(getattr(k.workload, "tasks", [])):
                    t.exit()
                k.workload.drop_caches()
                now = self._drained_view()
        except Exception:  # noqa: BLE001
            st.unexpected += 1
            self._problem("teardown", self.teardown_and_compare, traceback.format_exc(limit=-6))
            return
        if now != self.boot_free and not self.leaky:
            st.boot_state_mismatches += 1
            a, b = self.boot_free, now
            what = []
            if a[0] != b[0]:
                sa, sb = set(a[0]), set(b[0])
                kept = sorted(sb - sa)[:4]
                pa = self.k.page_alloc
                what.append(f"allocated: lost {sorted(sa - sb)[:4]} kept {kept} "
                            f"{[pa.allocated[p].detail for p, _o, _w in kept]}")
            if a[1] != b[1]:
                what.append(f"free: {a[1]} -> {b[1]}")
            self._problem("boot state not restored", self.teardown_and_compare, "; ".join(what))


def fuzz(seed: int, n_ops: int, *, episode_ops: int = 400, timeout: float = 20.0,
         verbose: bool = False, debug: bool = False, progress: bool = False) -> Stats:
    """Run ``n_ops`` operations in episodes of ``episode_ops`` from ``seed``."""
    stats = Stats()
    ep = 0
    while stats.ops < n_ops:
        e = Episode(seed * 100003 + ep, stats, timeout=timeout, verbose=verbose, debug=debug)
        e.run(min(episode_ops, n_ops - stats.ops))
        ep += 1
        if progress:
            print(f"[seed {seed}] ops {stats.ops} invalid {stats.invalid_ops} raised "
                  f"{stats.raised} state_changes {stats.state_changes} unexpected "
                  f"{stats.unexpected} hangs {stats.hangs} invariants "
                  f"{stats.invariant_violations} boot_state {stats.boot_state_mismatches}",
                  file=sys.stderr, flush=True)
    return stats


def _job(args: tuple) -> Stats:
    seed, n_ops, episode_ops, timeout = args
    return fuzz(seed, n_ops, episode_ops=episode_ops, timeout=timeout, progress=True,
                verbose=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--episode", type=int, default=400)
    ap.add_argument("--only", type=int, default=None, help="run only this episode seed")
    ap.add_argument("--jobs", type=int, default=1, help="processes (seeds seed..seed+jobs-1)")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--debug", action="store_true", help="snapshot before each call and "
                    "show where a state change is (slow)")
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    if a.only is not None:
        stats = Stats()
        Episode(a.only, stats, timeout=a.timeout, verbose=a.verbose, debug=a.debug).run(a.ops)
    elif a.jobs > 1:
        import multiprocessing
        per = -(-a.ops // a.jobs)
        with multiprocessing.Pool(a.jobs) as pool:
            parts = pool.map(_job, [(a.seed + i, per, a.episode, a.timeout)
                                    for i in range(a.jobs)])
        stats = Stats()
        for part in parts:
            stats.add(part)
    else:
        stats = fuzz(a.seed, a.ops, episode_ops=a.episode, timeout=a.timeout,
                     verbose=a.verbose, debug=a.debug)
    print(stats.report())
    print(f"seconds: {time.monotonic() - t0:.0f}")
    for p in stats.problems[:50]:
        print("PROBLEM", p)
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
