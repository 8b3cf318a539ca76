"""SLUB: kmem_cache, slabs on buddy pages, and the kmalloc family (mm/slub.c, mm/slab_common.c).

A :class:`Slub` is built by :class:`kmemlab.kernel.Kernel` at the end of boot. It creates
the kmalloc caches of the profile's version and serves ``kmalloc``/``kfree`` and the
``kmem_cache_*`` calls. What it models, each after the kernel function named in the
docstrings (facts: shared/reference/linux-mm-facts.md section 4):

* object layout: ``calculate_sizes`` (free pointer at offset 0 on 3.15, mid-object on
  6.x, after the object with a constructor / RCU / poisoning), ``calculate_alignment``;
* slab order: the version's ``calculate_order`` (3.15/6.1 ``slab_order`` loop, 6.12
  ``calc_slab_order``), which depends on the number of CPUs; ``min_partial``,
  ``cpu_partial`` and (6.x) ``cpu_partial_slabs``;
* slabs are real pages: ``allocate_slab`` takes ``2^order`` pages from the buddy
  allocator with the cache's allocflags and falls back to the minimum order;
* per CPU: the CPU slab with its lockless freelist (``c->freelist``) and the CPU
  partial list; per node: the partial list; full slabs are tracked as in SLUB debug;
  empty slabs beyond ``min_partial`` go back to the buddy allocator;
* slab merging (aliases) with each version's rules and sysfs names (``:0000024``);
* kernel bugs in the words of SLUB debug (``Object already free``, ``Invalid object
  pointer``, ``Wrong slab cache``, ``Objects remaining``), raised as KernelBug with the
  simulated state left exactly as it was.

Memory contents are not modelled, so ``__GFP_ZERO``/``kzalloc`` and constructors change
nothing visible; the free pointer's position is shown as ``cache.offset``.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

from . import gfp as gfpmod
from . import sheaves as _sheaves
from . import slab_common as sc
from .errors import (
    BadGfpMask,
    DoubleFree,
    InvalidFree,
    KernelBug,
    ObjectsRemaining,
    WrongCache,
)
from .kdebug import call_site, known_call_site
from .report import CUT_HERE, report_and_raise, slab_bug
from .slab_common import (
    KMALLOC_CGROUP,
    KMALLOC_DMA,
    KMALLOC_NORMAL,
    KMALLOC_RECLAIM,
    MAX_OBJS_PER_PAGE,
    MAX_PARTIAL,
    MIN_PARTIAL,
    SLAB_ACCOUNT,
    SLAB_CACHE_DMA,
    SLAB_CACHE_DMA32,
    SLAB_DEBUG_FLAGS,
    SLAB_HWCACHE_ALIGN,
    SLAB_KMALLOC_FLAG,
    SLAB_NEVER_MERGE,
    SLAB_NO_MERGE,
    SLAB_POISON,
    SLAB_RECLAIM_ACCOUNT,
    SLAB_RED_ZONE,
    SLAB_STORE_USER,
    SLAB_TYPESAFE_BY_RCU,
    ZERO_SIZE_PTR,
    SlabFlags,
    align_up,
    get_order,
)
from .trace import (
    EVENT_STEP_NS,
    KFREE_KEYS,
    KMALLOC_KEYS,
    KMEM_CACHE_ALLOC_KEYS,
    KMEM_CACHE_FREE_KEYS,
    packed_head,
)

# kmem_cache_alloc's "why" for an object popped from the CPU slab's freelist
CACHE_ALLOC_FAST_WHY = "fast path: next object on CPU's slab freelist"
# kmalloc's, after the size class it chose
KMALLOC_FAST_WHY = "fast path: next object on the CPU slab's freelist"
FREE_FAST_WHY = "fast path: back on the CPU slab's freelist"

_NO_GFP = object()   # no flags seen yet (None is flags a caller may pass, wrongly)
KSIZE_SLOT, KSIZE_OBJECT_SIZE, KSIZE_INUSE = 0, 1, 2   # KmemCache.ksize_of


class _RouteCache(dict):
    """flags -> (kmalloc type, value, accounted): a memo of :meth:`Slub._route`.

    ``last_gfp``/``last_route`` remember the flags of the last kmalloc or
    kmem_cache_alloc and their route (the kmalloc table of their type by size, the
    value, accounted, the count plans by size), compared by identity: a loop with
    one km.GFP_* constant then costs no hash of a GFP per call. The memo is derived
    data; ``plans`` is not (see :class:`CountPlan`)."""

    __slots__ = ("last_gfp", "last_route", "plans", "by_int")

    def __init__(self) -> None:
        super().__init__()
        self.last_gfp: object = _NO_GFP
        self.last_route: tuple = ()
        # (kmalloc type, value, accounted) -> by size: the CountPlan of a fast-path
        # kmalloc of that size with those flags (its counts and packed trace head).
        # Not derived: a plan may hold counts not yet flushed.
        self.plans: dict[tuple, list] = {}
        self.by_int: dict[int, tuple] = {}   # int mask -> its route (last_route's form)

# (k.rng's state, objects per slab of each kmalloc cache) -> (their random_seq, the
# state after): see Slub._randomize_boot_caches
_BOOT_RANDOM: dict[tuple, tuple] = {}

# ---------------------------------------------------------------------------------------
# Per-version SLUB rules (data, keyed by profile.version).
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlubRules:
    """What differs between the SLUB of two kernel versions (facts sheet section 4)."""

    version: str
    short_names: bool                 # kmalloc-8k (6.x) vs kmalloc-8192 (3.15)
    kmalloc_types: tuple[str, ...]    # creation order (include/linux/slab.h: enum)
    kmalloc_align: str                # slab_common.kmalloc_cache_align rule
    freeptr_mid_object: bool          # 6.x: offset = ALIGN_DOWN(object_size / 2, 8)
    order_algorithm: str              # "slab_order" (3.15, 6.1) / "calc_slab_order" (6.12)
    cpu_partial_table: tuple[tuple[int, int], ...]   # (min s->size, objects)
    cpu_partial_slabs: bool           # 6.x: limit the CPU partial list in slabs
    discard_if_nr_partial_ge: bool    # 6.x ">= min_partial"; 3.15 "> min_partial"
    comp_always: bool                 # 6.12: allocflags always has __GFP_COMP
    kmalloc_mergeable: bool           # 3.15: kmalloc caches are merge targets
    merge_newest_first: bool          # 3.15 list_for_each_entry; 6.x ..._reverse
    bad_gfp_is_bug: bool              # 3.15 new_slab BUG(); 6.x kmalloc_fix_flags
    shutdown_fn: str                  # where "Objects remaining in %s on ..." comes from
    large_owner_trace_has_comp: bool  # unused by the tracepoint (kept for clarity)
    freelist_random: bool = False     # CONFIG_SLAB_FREELIST_RANDOM
    nomerge_params: tuple[str, ...] = ("slub_nomerge",)
    merge_params: tuple[str, ...] = ()
    order_param_prefixes: tuple[str, ...] = ("slub_",)
    # 6.x setup_slub_min_order: slub_min_order= raises slub_max_order to it (3.15 not).
    min_order_raises_max: bool = True
    # kmem_cache_shrink: 3.15 sorts partial slabs most-used first; since 4.0 ("slub:
    # never fail to shrink cache") it promotes slabs with 1..SHRINK_PROMOTE_MAX free.
    shrink_promotes_few_free: bool = True
    # allocate_slab: the first, higher-order try drops __GFP_RECLAIM and adds
    # __GFP_NOMEMALLOC when it may block (4.x+; 3.15 only adds NOWARN|NORETRY).
    high_order_try_no_reclaim: bool = True
    # 6.x kmalloc_large: kmalloc_fix_flags strips GFP_SLAB_BUG_MASK bits with a warning.
    kmalloc_large_fixes_flags: bool = True
    # cache_from_obj: 3.15 pr_err()s before WARN_ON_ONCE and names (cachep, s) the other
    # way round; 6.x WARN_ONCE()s "%s but object is from %s" (mm/slab.h).
    wrong_cache_pr_err_first: bool = False
    # kmem_cache_destroy: 6.x WARN()s "... still has objects when called from %pS"
    # (mm/slab_common.c, 5.x+); 3.15 pr_err()s without a caller.
    destroy_warns_with_caller: bool = True


# version -> rules, filled by profiles.py from every profile's ``slub_rules``.
SLUB_RULES: dict[str, SlubRules] = {}


def rules_for(version: str) -> SlubRules:
    """The SLUB rules of a kernel version; ValueError for an unknown one."""
    if not SLUB_RULES:
        from . import profiles  # noqa: F401  (registers every profile's rules)
    try:
        return SLUB_RULES[version]
    except KeyError:
        raise ValueError(f"no SLUB rules for Linux {version}; known: "
                         f"{', '.join(SLUB_RULES)}") from None


# ---------------------------------------------------------------------------------------
# Pure geometry: calculate_sizes, calculate_order, min_partial, cpu_partial.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Geometry:
    """The layout ``calculate_sizes`` gives a cache (sysfs names where there are some)."""

    object_size: int
    slab_size: int          # s->size: the slot of one object
    align: int
    offset: int             # s->offset: where the free pointer lives
    inuse: int              # s->inuse: the object's bytes plus a relocated free pointer
    order: int
    objs_per_slab: int
    min_order: int          # s->min: the fallback when 2^order pages are not available
    min_objects: int
    min_partial: int
    cpu_partial: int
    cpu_partial_slabs: int


def order_objects(order: int, size: int, page_size: int = 4096) -> int:
    """mm/slub.c: order_objects: ``(PAGE_SIZE << order) / size``."""
    return (page_size << order) // size


def _slab_order_old(size: int, min_objects: int, max_order: int, fract_leftover: int,
                    min_order: int, page_size: int, page_shift: int) -> int:
    """mm/slub.c: slab_order [3.15] / calc_slab_order [6.1, 6.6]."""
    if order_objects(min_order, size, page_size) > MAX_OBJS_PER_PAGE:
        return get_order(size * MAX_OBJS_PER_PAGE, page_shift) - 1
    order = max(min_order, get_order(min_objects * size, page_shift))
    while order <= max_order:
        slab_size = page_size << order
        if slab_size % size <= slab_size // fract_leftover:
            return order
        order += 1
    return order


def calculate_order(size: int, nr_cpus: int, *, algorithm: str = "calc_slab_order",
                    slub_min_order: int = 0, slub_max_order: int = 3,
                    slub_min_objects: int = 0, max_page_order: int = 10,
                    page_shift: int = 12) -> int:
    """mm/slub.c: calculate_order (both algorithms of the facts sheet, section 4.5).

    ``algorithm="slab_order"`` is the 3.15/6.1/6.6 loop (shrink min_objects, try
    leftover fractions 1/16, 1/8, 1/4 for each); ``"calc_slab_order"`` is 6.12's single
    pass over fractions 1/16 … 1/2 from ``min_order``. ``nr_cpus`` is nr_cpu_ids (3.15)
    or num_present_cpus (6.x). Returns -1 where the kernel fails (-ENOSYS).
    """
    page_size = 1 << page_shift
    min_objects = slub_min_objects or 4 * ((nr_cpus.bit_length()) + 1)
    if algorithm == "slab_order":
        min_objects = min(min_objects, (page_size << slub_max_order) // size)
        while min_objects > 1:
            for fraction in (16, 8, 4):
                order = _slab_order_old(size, min_objects, slub_max_order, fraction,
                                        slub_min_order, page_size, page_shift)
                if order <= slub_max_order:
                    return order
            min_objects -= 1
        order = _slab_order_old(size, 1, slub_max_order, 1, slub_min_order, page_size,
                                page_shift)
        if order <= slub_max_order:
            return order
        order = _slab_order_old(size, 1, max_page_order, 1, slub_min_order, page_size,
                                page_shift)
        return order if order <= max_page_order else -1
    if algorithm != "calc_slab_order":
        raise ValueError(f"unknown calculate_order algorithm {algorithm!r}")
    max_objects = max((page_size << slub_max_order) // size, 1)
    min_objects = min(min_objects, max_objects)
    min_order = max(slub_min_order, get_order(min_objects * size, page_shift))
    if order_objects(min_order, size, page_size) > MAX_OBJS_PER_PAGE:
        return get_order(size * MAX_OBJS_PER_PAGE, page_shift) - 1
    for fraction in (16, 8, 4, 2):
        for order in range(min_order, slub_max_order + 1):
            slab_size = page_size << order
            if slab_size % size <= slab_size // fraction:
                return order
    order = get_order(size, page_shift)
    return order if order <= max_page_order else -1


def min_partial_for(size: int) -> int:
    """mm/slub.c: set_min_partial [3.15] / kmem_cache_open [6.x]: clamp(ilog2(size)/2, 5, 10)."""
    return min(MAX_PARTIAL, max(MIN_PARTIAL, (size.bit_length() - 1) // 2))


def cpu_partial_for(size: int, rules: SlubRules, debug: bool = False) -> int:
    """mm/slub.c: set_cpu_partial: CPU partial objects by s->size (0 for debug caches)."""
    if debug:
        return 0
    for limit, objects in rules.cpu_partial_table:
        if size >= limit:
            return objects
    return 0


def calculate_sizes(object_size: int, align: int, flags: int, *, has_ctor: bool,
                    rules: SlubRules, nr_cpus: int, word: int = 8, page_shift: int = 12,
                    slub_min_order: int = 0, slub_max_order: int = 3,
                    slub_min_objects: int = 0, max_page_order: int = 10) -> Geometry | None:
    """mm/slub.c: calculate_sizes + kmem_cache_open (min_partial, cpu_partial).

    ``size = ALIGN(object_size, sizeof(void *))``. The free pointer goes after the object
    (``offset = size; size += sizeof(void *)``) for SLAB_TYPESAFE_BY_RCU (3.15:
    DESTROY_BY_RCU), SLAB_POISON or a constructor; otherwise it is at offset 0 (3.15) or
    in the middle of the object, ``ALIGN_DOWN(object_size / 2, sizeof(void *))`` (6.x).
    Then ``size = ALIGN(size, align)`` and the order comes from ``calculate_order``.
    Returns None where the kernel's calculate_sizes fails (no order fits).
    """
    if flags & (SLAB_RED_ZONE | SLAB_STORE_USER):
        raise ValueError("SLAB_RED_ZONE and SLAB_STORE_USER layouts (slub_debug metadata) "
                         "are not modelled; SLAB_POISON is")
    page_size = 1 << page_shift
    size = align_up(object_size, word)
    if flags & (SLAB_TYPESAFE_BY_RCU | SLAB_POISON) or has_ctor:
        offset = size
        size += word
    elif rules.freeptr_mid_object:
        offset = (object_size // 2) & ~(word - 1)
    else:
        offset = 0
    inuse = size if offset >= align_up(object_size, word) else align_up(object_size, word)
    size = align_up(size, align)
    order = calculate_order(size, nr_cpus, algorithm=rules.order_algorithm,
                            slub_min_order=slub_min_order, slub_max_order=slub_max_order,
                            slub_min_objects=slub_min_objects, max_page_order=max_page_order,
                            page_shift=page_shift)
    if order < 0:
        return None
    objs = order_objects(order, size, page_size)
    if objs == 0:
        return None
    min_order = get_order(size, page_shift)
    debug = bool(flags & SLAB_DEBUG_FLAGS)
    cpu_partial = cpu_partial_for(size, rules, debug)
    cps = -(-cpu_partial * 2 // objs) if rules.cpu_partial_slabs and cpu_partial else 0
    return Geometry(object_size=object_size, slab_size=size, align=align, offset=offset,
                    inuse=inuse, order=order, objs_per_slab=objs, min_order=min_order,
                    min_objects=order_objects(min_order, size, page_size),
                    min_partial=min_partial_for(size), cpu_partial=cpu_partial,
                    cpu_partial_slabs=cps)


# ---------------------------------------------------------------------------------------
# Simulated state.
# ---------------------------------------------------------------------------------------

WHERE_CPU = "cpu"
WHERE_CPU_PARTIAL = "cpu_partial"
WHERE_PARTIAL = "partial"
WHERE_FULL = "full"


def _sheaf_capacity_arg(profile, value) -> int:
    """kmem_cache_args.sheaf_capacity: an int >= 0, only on kernels with sheaves (6.18)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"sheaf_capacity must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"sheaf_capacity must be 0 or more, not {value}")
    if value and not profile.slub_sheaves:
        raise ValueError(f"Linux {profile.version} has no per-CPU sheaves "
                         "(kmem_cache_args.sheaf_capacity is new in 6.18); boot "
                         "version='6.18' or leave sheaf_capacity at 0")
    return value


class Slab:
    """One slab: ``2^order`` pages cut into ``objects`` slots (struct slab, mm/slab.h).

    ``freelist`` is ``slab->freelist`` with its head at the *end* of the list (pop()
    takes the next object). While the slab is a CPU slab, the objects the CPU
    allocates from are on that CPU's ``c->freelist`` instead (:class:`CpuState`).
    ``inuse`` counts objects really handed out.
    """

    __slots__ = ("cache", "page", "pfn", "base", "order", "objects", "freelist", "inuse",
                 "where", "cpu", "serial", "pobjects", "records")

    def __init__(self, cache, page, base: int, order: int, objects: int, freelist: list,
                 serial: int) -> None:
        self.cache = cache
        self.page = page
        self.pfn = page.pfn
        self.base = base
        self.order = order
        self.objects = objects
        self.freelist = freelist
        self.inuse = 0
        self.where = WHERE_CPU
        self.cpu = -1
        self.serial = serial
        self.pobjects = 0   # 3.15: free objects on the CPU partial list up to this slab
        # the LiveObject of each slot, made at its first allocation and reused while
        # the slot is free (SLUB's live record is per allocation; only its req and
        # caller change, and nothing holds a freed object's record)
        self.records: list[LiveObject | None] = [None] * objects

    def __repr__(self) -> str:
        cpu = f" cpu={self.cpu}" if self.where in (WHERE_CPU, WHERE_CPU_PARTIAL) else ""
        return (f"<Slab {self.cache.name} base={self.base:#x} order={self.order} "
                f"inuse={self.inuse}/{self.objects} {self.where}{cpu}>")


class CpuState:
    """struct kmem_cache_cpu: the CPU slab, its lockless freelist, the CPU partial list.

    ``partial`` has its head at the end of the list.
    """

    __slots__ = ("slab", "freelist", "partial")

    def __init__(self) -> None:
        self.slab: Slab | None = None
        self.freelist: list[int] = []
        self.partial: list[Slab] = []


STAT_NAMES = (
    "alloc_fastpath", "alloc_slowpath", "free_fastpath", "free_slowpath", "free_frozen",
    "free_add_partial", "free_remove_partial", "alloc_from_partial", "alloc_slab",
    "alloc_refill", "free_slab", "cpuslab_flush", "deactivate_full", "deactivate_empty",
    "deactivate_to_head", "deactivate_to_tail", "deactivate_remote_frees",
    "deactivate_bypass", "order_fallback", "cpu_partial_alloc", "cpu_partial_free",
    "cpu_partial_node", "cpu_partial_drain",
)


class _BatchedCount:
    """A KmemCache counter that the fast paths batch in their CountPlan: reading or
    setting it first adds what is pending (Slub.flush_counts), so every reader sees
    the exact count. The fast paths add to the plain attribute ``_<name>``."""

    def __init__(self, doc: str = "") -> None:
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, cache: KmemCache | None, owner: type | None = None):
        if cache is None:
            return self
        if cache._slub._pending:
            cache._slub.flush_counts()
        return cache.__dict__[self.slot]

    def __set__(self, cache: KmemCache, value: int) -> None:
        if cache._slub._pending:
            cache._slub.flush_counts()
        cache.__dict__[self.slot] = value


class KmemCache:
    """struct kmem_cache, with the attributes of ``/sys/kernel/slab/<cache>/``.

    Geometry: ``object_size``, ``slab_size``, ``objs_per_slab``, ``order``, ``align``,
    ``offset`` (free pointer), ``min_partial``, ``cpu_partial``, ``cpu_partial_slabs``.
    Counts (computed as mm/slub.c: show_slab_objects does): ``objects``,
    ``total_objects``, ``slabs``, ``partial``, ``cpu_slabs``, ``objects_partial``.
    ``aliases`` is the number of merged caches (refcount - 1), ``alias_names`` their
    names. ``stat`` holds the CONFIG_SLUB_STATS counters (fast path vs slow path …).
    """

    def __init__(self, slub: Slub, name: str, object_size: int, geo: Geometry,
                 flags: SlabFlags, ctor, kmalloc_type: str | None, serial: int) -> None:
        self._slub = slub
        self.name = name
        self.object_size = object_size
        self.slab_size = geo.slab_size
        self.size = geo.slab_size
        self.align = geo.align
        self.offset = geo.offset
        self.inuse = geo.inuse
        self.order = geo.order
        self.objs_per_slab = geo.objs_per_slab
        self.min_order = geo.min_order
        self.min_objects = geo.min_objects
        self.min_partial = geo.min_partial
        self.cpu_partial = geo.cpu_partial
        self.cpu_partial_slabs = geo.cpu_partial_slabs
        self.flags = flags
        self.ctor = ctor
        self.kmalloc_type = kmalloc_type
        self.account = bool(flags & SLAB_ACCOUNT)
        self.refcount = 1
        self.alias_names: list[str] = []
        self.sysfs_name = name
        self.serial = serial
        self.usersize = object_size if kmalloc_type is not None else 0
        self.destroyed = False
        self.has_cpu_partial = self.cpu_partial > 0
        self.cpus = [CpuState() for _ in range(slub.nr_cpus)]
        self.node_partial: list[Slab] = []   # head at index 0
        self.full: dict[Slab, None] = {}
        self.nr_slabs = 0
        self.total_objects = 0
        self.nr_live = 0
        self.live_requested = 0
        self._stat = dict.fromkeys(STAT_NAMES, 0)
        # the two stat items every fast path counts, as plain ints (an attribute update
        # instead of a dict item's); stat puts them in their places when read
        self._alloc_fastpath = 0
        self._free_fastpath = 0
        self._total_requested = 0           # cumulative, as perf kmem stat
        self._hits = 0
        self.random_seq: list[int] | None = None
        self.allocflags = 0
        # the fast paths' whys, made once (kmalloc's once per requested size)
        self.why_fast: dict[int, str] = {}
        self.why_kfree_fast = f"kfree → {name}: {FREE_FAST_WHY}"
        self.why_alloc_fast = f"kmem_cache_alloc({name}) → {CACHE_ALLOC_FAST_WHY}"
        self.why_free_fast = f"kmem_cache_free({name}): {FREE_FAST_WHY}"
        # the fast paths' count plans and packed trace heads: kfree's and
        # kmem_cache_free's, kmem_cache_alloc's by gfp value
        self.kfree_plan = CountPlan(self, 0, True, packed_head(
            "kfree", KFREE_KEYS, self.why_kfree_fast, 2, ()))
        self.free_plan = CountPlan(self, 0, True, packed_head(
            "kmem_cache_free", KMEM_CACHE_FREE_KEYS, self.why_free_fast, 2, (name,)))
        self.alloc_plans: dict[int, CountPlan] = {}
        self.sheaf_capacity = 0             # 6.18 per-CPU sheaves (kmemlab/sheaves.py)
        # slab_ksize: which size ksize reports (the flags never change after creation;
        # object_size and inuse grow when a cache is merged into)
        if flags & (SLAB_RED_ZONE | SLAB_POISON):
            self.ksize_of = KSIZE_OBJECT_SIZE
        elif flags & (SLAB_TYPESAFE_BY_RCU | SLAB_STORE_USER):
            self.ksize_of = KSIZE_INUSE
        else:
            self.ksize_of = KSIZE_SLOT

    # -- counters the fast paths batch (CountPlan): read after Slub.flush_counts -----
    alloc_fastpath = _BatchedCount()
    free_fastpath = _BatchedCount()
    hits = _BatchedCount("Allocations since boot (perf kmem stat's hits).")
    total_requested = _BatchedCount("Bytes requested since boot (perf kmem stat's "
                                    "total_requested).")

    # -- sysfs-style attributes ----------------------------------------------------
    @property
    def stat(self) -> dict[str, int]:
        """The CONFIG_SLUB_STATS counters by name (/sys/kernel/slab/<cache>/<item>),
        alloc_fastpath and free_fastpath filled in from their attributes. Update
        those two through the attributes; the others through this dict."""
        st = self._stat
        st["alloc_fastpath"] = self.alloc_fastpath
        st["free_fastpath"] = self.free_fastpath
        return st

    @property
    def aliases(self) -> int:
        """/sys/kernel/slab/<cache>/aliases: refcount - 1 (mm/slub.c: aliases_show)."""
        return max(self.refcount - 1, 0)

    @property
    def slabs(self) -> int:
        """All slabs of the cache (node_nr_slabs)."""
        return self.nr_slabs

    @property
    def partial(self) -> int:
        """Slabs on the node partial list (n->nr_partial)."""
        return len(self.node_partial)

    @property
    def objects(self) -> int:
        """Objects not free on node partial slabs (SO_ALL|SO_OBJECTS), like slabinfo."""
        return self.total_objects - sum(s.objects - s.inuse for s in self.node_partial)

    @property
    def objects_partial(self) -> int:
        """Objects in use on node partial slabs (SO_PARTIAL|SO_OBJECTS)."""
        return sum(s.inuse for s in self.node_partial)

    @property
    def cpu_slabs(self) -> int:
        """CPU slabs plus slabs on CPU partial lists (SO_CPU)."""
        return sum((c.slab is not None) + len(c.partial) for c in self.cpus)

    @property
    def slabs_cpu_partial(self) -> int:
        """Slabs on all CPU partial lists."""
        return sum(len(c.partial) for c in self.cpus)

    @property
    def hwcache_align(self) -> int:
        return int(bool(self.flags & SLAB_HWCACHE_ALIGN))

    @property
    def reclaim_account(self) -> int:
        return int(bool(self.flags & SLAB_RECLAIM_ACCOUNT))

    @property
    def cache_dma(self) -> int:
        return int(bool(self.flags & SLAB_CACHE_DMA))

    @property
    def destroy_by_rcu(self) -> int:
        return int(bool(self.flags & SLAB_TYPESAFE_BY_RCU))

    @property
    def poison(self) -> int:
        return int(bool(self.flags & SLAB_POISON))

    @property
    def red_zone(self) -> int:
        return int(bool(self.flags & SLAB_RED_ZONE))

    @property
    def store_user(self) -> int:
        return int(bool(self.flags & SLAB_STORE_USER))

    @property
    def pages_per_slab(self) -> int:
        return 1 << self.order

    # -- what a learner asks -------------------------------------------------------
    @property
    def active_objs(self) -> int:
        """/proc/slabinfo active_objs (mm/slub.c: get_slabinfo)."""
        return self.objects

    @property
    def allocated_objects(self) -> int:
        """Objects really handed out and not yet freed (free objects on CPU slabs
        count as active in slabinfo; they do not count here)."""
        return self.nr_live

    @property
    def internal_fragmentation(self) -> int:
        """Bytes wasted inside live objects: slot size × live − bytes requested."""
        return self.nr_live * self.size - self.live_requested

    @property
    def total_allocated(self) -> int:
        """Bytes handed out since boot (hits × slot size)."""
        return self.hits * self.size

    def fragmentation(self) -> dict:
        """Requested vs allocated bytes, live and cumulative (as perf kmem stat)."""
        live_alloc = self.nr_live * self.size
        return {
            "cache": self.name, "live_objects": self.nr_live,
            "live_bytes_req": self.live_requested, "live_bytes_alloc": live_alloc,
            "live_wasted": live_alloc - self.live_requested,
            "hits": self.hits, "total_req": self.total_requested,
            "total_alloc": self.total_allocated,
            "frag_pct": _frag_pct(self.total_requested, self.total_allocated),
        }

    def slabs_view(self) -> list[dict]:
        """Every slab of the cache, for plots: base address, order, objects, which are
        free, the free list in the order allocation will hand them out, and where the
        slab is (``cpu``, ``cpu_partial``, ``partial``, ``full``), sorted by address."""
        out = []
        for slab in self._slub.slabs_of(self):
            out.append(self._slab_view(slab))
        out.sort(key=lambda d: d["base"])
        return out

    def _slab_view(self, slab: Slab) -> dict:
        c_list: list[int] = []
        if slab.where == WHERE_CPU:
            c_list = self.cpus[slab.cpu].freelist
        order = list(reversed(c_list)) + list(reversed(slab.freelist))
        size = self.size
        return {
            "cache": self.name, "base": slab.base, "pfn": slab.pfn, "order": slab.order,
            "pages": 1 << slab.order, "objects": slab.objects, "object_size": size,
            "inuse": slab.inuse, "free": sorted(order),
            "freelist": [slab.base + i * size for i in order],
            "freelist_index": order,
            "cpu_freelist": [slab.base + i * size for i in reversed(c_list)],
            "where": slab.where, "cpu": slab.cpu if slab.where in (WHERE_CPU,
                                                                   WHERE_CPU_PARTIAL) else None,
            "allocated": [slab.base + i * size for i in range(slab.objects)
                          if i not in set(order)],
        }

    def __repr__(self) -> str:
        return (f"<kmem_cache {self.name}: object_size={self.object_size} "
                f"slab_size={self.slab_size} objs_per_slab={self.objs_per_slab} "
                f"order={self.order} slabs={self.nr_slabs}>")


def _frag_pct(req: int, alloc: int) -> float:
    return 0.0 if not alloc else round(100.0 - 100.0 * req / alloc, 3)


class LiveObject:
    """One live allocation: cache (None for kmalloc_large), slab, index, size asked."""

    __slots__ = ("cache", "slab", "idx", "req", "caller", "page")

    def __init__(self, cache, slab, idx, req, caller, page=None) -> None:
        self.cache = cache
        self.slab = slab
        self.idx = idx
        self.req = req
        self.caller = caller
        self.page = page


class CountPlan:
    """What the fast paths count, batched (issue 21 item 4): one plan per kmalloc size
    class and flags, per cache and flags for kmem_cache_alloc, per cache for the
    frees. A fast-path call only counts itself: ``n += 1`` when it comes from the
    plan's first call site since the last flush (``label``; a loop's one call site),
    else in ``counts`` (call site → calls; a replayed trace changes call site every
    record). The cache's alloc_fastpath/hits/total_requested (or free_fastpath) and
    each call site's [hits, req, alloc, frees] get their increments times those
    counts when someone reads them (``Slub.flush_counts``). ``head`` is the packed
    trace head of the plan's events (kmemlab.trace._Packed)."""

    __slots__ = ("cache", "req", "free", "head", "label", "n", "counts")

    def __init__(self, cache: KmemCache, req: int, free: bool, head: tuple) -> None:
        self.cache = cache
        self.req = req            # bytes requested per allocation (0 for frees)
        self.free = free
        self.head = head
        self.label: str | None = None   # None: nothing counted, not in Slub._pending
        self.n = 0
        self.counts: dict[str, int] = {}


# GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK (mm/internal.h): what new_slab keeps of the
# caller's flags before adding the cache's allocflags.
_SLAB_KEEP_FLAGS = (
    "__GFP_WAIT", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_HIGH", "__GFP_IO",
    "__GFP_FS", "__GFP_NOWARN", "__GFP_REPEAT", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL",
    "__GFP_NORETRY", "__GFP_MEMALLOC", "__GFP_NOMEMALLOC", "__GFP_ATOMIC", "__GFP_HARDWALL",
    "__GFP_THISNODE",
)


class Slub:
    """The SLUB allocator of one simulated kernel (mm/slub.c + mm/slab_common.c).

    Built by the Kernel at the end of boot: ``Slub(kernel)`` creates the kmalloc caches
    of the profile's version (kmem_cache_init → create_kmalloc_caches).
    """

    def __init__(self, kernel, *, freelist_random: bool | None = None) -> None:
        self.k = kernel
        p = kernel.profile
        self.profile = p
        self.rules = p.slub_rules
        self.version = p.version
        self.page_shift = p.page_shift
        self.page_size = p.page_size
        self.max_page_order = p.max_page_order
        self.word = 8 if p.is_64bit else 4
        self.size_max = (1 << (8 * self.word)) - 1   # SIZE_MAX
        self.nr_cpus = kernel.nr_cpus
        self.gfp = p.gfp
        g = self.gfp.values
        self._g = g
        params = dict(kernel.cmdline_params)
        self.slub_min_order, self.slub_max_order, self.slub_min_objects = \
            self._order_params(params)
        nomerge = any(n in params for n in self.rules.nomerge_params)
        if any(n in params for n in self.rules.merge_params):
            nomerge = False
        self.nomerge = nomerge
        if freelist_random is None:
            freelist_random = p.slab_freelist_random
        self.freelist_random = freelist_random
        self.max_cache_size = sc.kmalloc_max_cache_size(self.page_shift)
        self.shift_high = sc.kmalloc_shift_high(self.page_shift)
        # state
        self.caches: list[KmemCache] = []        # creation order (slab_caches list)
        self._sysfs: dict[str, KmemCache] = {}   # /sys/kernel/slab names
        self.kmalloc_caches: dict[str, list[KmemCache | None]] = {}
        self._by_size: dict[str, list[KmemCache | None]] = {}
        self.live: dict[int, LiveObject] = {}
        self.large: dict[int, LiveObject] = {}
        self._slab_by_pfn: dict[int, Slab] = {}
        self._serial = 0
        self._slab_serial = 0
        self._route_cache = _RouteCache()
        self._random_later: list[KmemCache] | None = None
        self._callsites: dict[str, list[int]] = {}  # label -> [hits, req, alloc, frees]
        self._pending: list[CountPlan] = []   # plans holding counts (flush_counts)
        self.tainted = False
        # silent double frees (no slub_debug): address -> [cache, allocations to go, who
        # freed it twice]; that many allocations later the object is handed out again
        self.ghosts: dict[int, list] = {}
        self.counters = {"slabs_allocated": 0, "slabs_freed": 0, "pages_from_buddy": 0,
                         "pages_to_buddy": 0, "kmalloc_large": 0}
        self._mask_keep = 0
        for n in _SLAB_KEEP_FLAGS:
            self._mask_keep |= g.get(n, 0)
        self._gfp_comp = g["__GFP_COMP"]
        self._gfp_nowarn = g["__GFP_NOWARN"]
        self._gfp_noretry = g["__GFP_NORETRY"]
        self._gfp_nofail = g["__GFP_NOFAIL"]
        self._gfp_nomemalloc = g["__GFP_NOMEMALLOC"]
        self._gfp_zero = g["__GFP_ZERO"]
        self._gfp_dma = g["__GFP_DMA"]
        self._gfp_dma32 = g["__GFP_DMA32"]
        self._gfp_highmem = g["__GFP_HIGHMEM"]
        self._gfp_reclaimable = g["__GFP_RECLAIMABLE"]
        self._gfp_account = g.get("__GFP_ACCOUNT", 0)
        self._gfp_block = g.get("__GFP_DIRECT_RECLAIM", 0)
        self._gfp_reclaim = g.get("__GFP_DIRECT_RECLAIM", 0) | g.get("__GFP_KSWAPD_RECLAIM", 0)
        self._create_kmalloc_caches()
        for name, size, align, flags, capacity in p.sheaf_boot_caches:
            # the boot caches that opt in to sheaves (6.18: maple_node, vm_area_struct)
            self.kmem_cache_create(name, size, align, flags, caller="kmem_cache_init",
                                   sheaf_capacity=capacity)

    @property
    def callsites(self) -> dict[str, list[int]]:
        """Per call site label: [hits, bytes requested, bytes allocated, frees]."""
        if self._pending:
            self.flush_counts()
        return self._callsites

    def flush_counts(self) -> None:
        """Add what the fast paths' plans counted to the caches' and call sites'
        counters (every reader of them calls this first, through the properties)."""
        sites = self._callsites
        for p in self._pending:
            s = p.cache
            counts = p.counts
            counts[p.label] = counts.get(p.label, 0) + p.n
            if p.free:
                for label, n in counts.items():
                    s._free_fastpath += n
                    sites[label][3] += n
            else:
                for label, n in counts.items():
                    req = p.req * n
                    s._alloc_fastpath += n
                    s._hits += n
                    s._total_requested += req
                    cs = sites[label]
                    cs[0] += n
                    cs[1] += req
                    cs[2] += s.size * n
            counts.clear()
            p.label = None
            p.n = 0
        self._pending.clear()

    def _count_new(self, p: CountPlan, label: str) -> None:
        """The first fast-path call counted by plan ``p`` from call site ``label``
        since the last flush (the call site's entry is made now, as the call makes it)."""
        cs = self._callsites
        if label not in cs:
            if p.free:          # a free whose allocation's site was never counted
                p.cache._free_fastpath += 1
                return
            cs[label] = [0, 0, 0, 0]
        if p.label is None:
            self._pending.append(p)
            p.label = label
            p.n = 1
        else:
            p.counts[label] = 1

    @property
    def slab_caches(self):
        """/sys/kernel/slab as a read-only mapping: sysfs name → cache. A cache that can
        be merged appears under its unique id (``:0000024``) and, like the symlinks, under
        its name and every alias name; an unmergeable one under its name."""
        return types.MappingProxyType(self._sysfs)

    def sysfs_slab_add(self, name: str, cache: KmemCache) -> None:
        """mm/slub.c: sysfs_slab_add / sysfs_slab_alias: ``/sys/kernel/slab/<name>``
        (a directory or a symlink to the cache's) for ``cache``."""
        self._sysfs[name] = cache

    def sysfs_slab_remove(self, name: str) -> None:
        """mm/slub.c: sysfs_slab_unlink for the entry ``name`` (absent: nothing)."""
        self._sysfs.pop(name, None)

    # ================================================================ boot
    def _order_params(self, params: dict) -> tuple[int, int, int]:
        """mm/slub.c: setup_slub_min_order / setup_slub_max_order / setup_slub_min_objects."""
        values = {"min_order": 0, "max_order": sc.PAGE_ALLOC_COSTLY_ORDER, "min_objects": 0}
        for prefix in self.rules.order_param_prefixes:
            for key in values:
                raw = params.get(prefix + key)
                if raw is None:
                    continue
                try:
                    values[key] = int(str(raw), 0)
                except ValueError:
                    raise ValueError(f"boot parameter {prefix + key}={raw!r} is not a "
                                     "number") from None
        max_order = min(values["max_order"], self.max_page_order)
        min_order = min(values["min_order"], self.max_page_order)
        # 6.x setup_slub_min_order raises slub_max_order to at least slub_min_order
        if self.rules.min_order_raises_max:
            max_order = max(max_order, min_order)
        return min_order, max_order, values["min_objects"]

    def _create_kmalloc_caches(self) -> None:
        """mm/slab_common.c: create_kmalloc_caches (+ new_kmalloc_cache on 6.x).

        Per type in the version's enum order, sizes 8 … 8192 with kmalloc-96 created
        after kmalloc-64 and kmalloc-192 after kmalloc-128. 3.15 creates the
        dma-kmalloc-* caches afterwards; 6.x creates kmalloc-rcl-*, kmalloc-cg-* (memcg)
        and dma-kmalloc-* (ZONE_DMA) eagerly too.
        """
        r = self.rules
        self._random_later = []      # the caches whose random_seq is drawn after the loop
        for ktype in r.kmalloc_types:
            table: list[KmemCache | None] = [None] * (self.shift_high + 1)
            order = []
            for i in range(sc.KMALLOC_SHIFT_LOW, self.shift_high + 1):
                order.append(i)
                if i == 6:
                    order.append(1)
                if i == 7:
                    order.append(2)
            for i in order:
                size = sc.kmalloc_size(i)
                table[i] = self._new_kmalloc_cache(size, ktype)
            self.kmalloc_caches[ktype] = table
            by_size: list[KmemCache | None] = []    # size -> table[kmalloc_index(size)]
            for i, n in sc.kmalloc_index_runs(self.page_shift):
                by_size += [table[i]] * n
            self._by_size[ktype] = by_size
        pending, self._random_later = self._random_later, None
        if pending:
            self._randomize_boot_caches(pending)

    def _randomize_boot_caches(self, caches: list[KmemCache]) -> None:
        """freelist_randomize for each kmalloc cache, in creation order (nothing else
        draws from k.rng while they are created, so drawing after the loop gives the
        same sequences). Every boot of one profile and seed draws the same ~4,500
        numbers: they are remembered by the generator's state and the slab sizes, and
        a boot seen before sets the state the draws would have left."""
        rng = self.k.rng
        counts = tuple(c.objs_per_slab for c in caches)
        key = (rng.getstate(), counts)
        hit = _BOOT_RANDOM.get(key)
        if hit is None:
            seqs = tuple(tuple(self.freelist_randomize(n)) for n in counts)
            if len(_BOOT_RANDOM) >= 16:
                _BOOT_RANDOM.clear()
            hit = _BOOT_RANDOM[key] = (seqs, rng.getstate())
        else:
            rng.setstate(hit[1])
        for c, seq in zip(caches, hit[0]):
            c.random_seq = list(seq)

    def _new_kmalloc_cache(self, size: int, ktype: str) -> KmemCache:
        """mm/slab_common.c: new_kmalloc_cache → create_kmalloc_cache → create_boot_cache."""
        r = self.rules
        flags = SlabFlags(0)
        if ktype == KMALLOC_RECLAIM:
            flags |= SLAB_RECLAIM_ACCOUNT
        elif ktype == KMALLOC_CGROUP:
            flags |= SLAB_ACCOUNT
        elif ktype == KMALLOC_DMA:
            flags |= SLAB_CACHE_DMA
        if ktype == KMALLOC_NORMAL and KMALLOC_CGROUP in r.kmalloc_types:
            flags |= SLAB_NO_MERGE     # MEMCG_KMEM: KMALLOC_NORMAL pinned unmergeable
        flags |= SLAB_KMALLOC_FLAG
        name = sc.kmalloc_cache_name(size, ktype, r.short_names)
        align = sc.kmalloc_cache_align(size, r.kmalloc_align)
        align = sc.calculate_alignment(flags, align, size, self.word)
        cache = self.create_cache(name, size, align, flags, None, ktype)
        if cache is None:  # pragma: no cover - kmalloc geometry always fits
            raise RuntimeError(f"Creation of kmalloc slab {name} size={size} failed")
        return cache

    def _geometry(self, size: int, align: int, flags: int, has_ctor: bool) -> Geometry | None:
        return calculate_sizes(size, align, flags, has_ctor=has_ctor, rules=self.rules,
                               nr_cpus=self.nr_cpus, word=self.word,
                               page_shift=self.page_shift,
                               slub_min_order=self.slub_min_order,
                               slub_max_order=self.slub_max_order,
                               slub_min_objects=self.slub_min_objects,
                               max_page_order=self.max_page_order)

    def create_cache(self, name: str, size: int, align: int, flags: SlabFlags, ctor,
                      ktype: str | None) -> KmemCache | None:
        """mm/slab_common.c: create_cache → mm/slub.c: __kmem_cache_create/kmem_cache_open."""
        geo = self._geometry(size, align, flags, ctor is not None)
        if geo is None:
            return None
        self._serial += 1
        cache = KmemCache(self, name, size, geo, flags, ctor, ktype, self._serial)
        allocflags = 0
        if geo.order or self.rules.comp_always:
            allocflags |= self._gfp_comp
        if flags & SLAB_CACHE_DMA:
            allocflags |= self._gfp_dma
        if flags & SLAB_CACHE_DMA32:
            allocflags |= self._gfp_dma32
        if flags & SLAB_RECLAIM_ACCOUNT:
            allocflags |= self._gfp_reclaimable
        cache.allocflags = allocflags
        if self.freelist_random:
            if self._random_later is not None:   # boot: drawn after the kmalloc caches
                self._random_later.append(cache)
            else:
                cache.random_seq = self.freelist_randomize(geo.objs_per_slab)
        self.caches.append(cache)
        if self._unmergeable(cache):
            cache.sysfs_name = name
            self._sysfs[name] = cache
        else:
            cache.sysfs_name = sc.create_unique_id(flags, cache.size, self.version)
            self._sysfs.setdefault(cache.sysfs_name, cache)
            self._sysfs[name] = cache
        return cache

    def freelist_randomize(self, count: int) -> list[int]:
        """mm/slab_common.c: freelist_randomize (Fisher-Yates with the seeded k.rng)."""
        seq = list(range(count))
        for i in range(count - 1, 0, -1):
            j = self._randbelow(i + 1)
            seq[i], seq[j] = seq[j], seq[i]
        return seq

    def _randbelow(self, n: int) -> int:
        return self.k.rng.randrange(n)

    # ================================================================ merging
    def _unmergeable(self, s: KmemCache) -> bool:
        """slab_unmergeable (3.15 mm/slub.c; 6.x mm/slab_common.c)."""
        if self.nomerge or s.flags & SLAB_NEVER_MERGE or s.ctor is not None or \
                s.sheaf_capacity:   # 6.18 slab_unmergeable: s->cpu_sheaves
            return True
        if s.kmalloc_type is not None and not self.rules.kmalloc_mergeable:
            return True  # 6.x: usersize = size (HARDENED_USERCOPY) / SLAB_NO_MERGE
        return s.refcount < 0

    def find_mergeable(self, size: int, align: int, flags: int, ctor) -> KmemCache | None:
        """find_mergeable (3.15 mm/slub.c; 6.x mm/slab_common.c): an existing cache whose
        slot fits ``size`` with less than one word to spare, same merge-relevant flags,
        compatible alignment. 3.15 searches newest first, 6.x oldest first."""
        if self.nomerge or ctor is not None:
            return None
        size = align_up(size, self.word)
        align = sc.calculate_alignment(flags, align, size, self.word)
        size = align_up(size, align)
        if flags & SLAB_NEVER_MERGE:
            return None
        same = self.profile.slab_merge_same
        candidates = reversed(self.caches) if self.rules.merge_newest_first else self.caches
        for s in candidates:
            if self._unmergeable(s):
                continue
            if size > s.size:
                continue
            if (flags & same) != (s.flags & same):
                continue
            if s.size & ~(align - 1) != s.size:
                continue
            if s.size - size >= self.word:
                continue
            return s
        return None

    # ================================================================ kmem_cache API
    def _cache_arg(self, cache, what: str = "cache") -> KmemCache:
        if isinstance(cache, KmemCache):
            if cache._slub is not self:
                raise ValueError(f"{cache.name!r} belongs to another simulated kernel")
            if cache.destroyed:
                raise ValueError(f"cache {cache.name!r} was destroyed "
                                 "(kmem_cache_destroy); create it again")
            return cache
        if isinstance(cache, str):
            c = self._sysfs.get(cache)
            if c is None:
                raise ValueError(f"no slab cache named {cache!r}; see k.slab_caches")
            return c
        raise TypeError(f"{what} must be a cache from kmem_cache_create (or its name), "
                        f"not {type(cache).__name__}")

    def kmem_cache_create(self, name: str, size, align: int = 0, flags=0, ctor=None,
                          caller: str | None = None, *,
                          sheaf_capacity: int = 0) -> KmemCache | None:
        """mm/slab_common.c: kmem_cache_create → __kmem_cache_alias / create_cache.

        Merges with a compatible existing cache when the version's rules allow it (the
        returned cache then is the existing one, with ``name`` among its
        ``alias_names``); otherwise creates a new cache with SLUB geometry. Returns None
        (and a warning in dmesg) where the kernel fails, e.g. objects too large for an
        order-10 slab.
        """
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        if not name or any(ch.isspace() for ch in name):
            raise ValueError(f"cache name {name!r} must be non-empty without spaces "
                             "(it would confuse /proc/slabinfo parsers)")
        size = self._size_arg(size, "size")
        if size == 0:
            raise ValueError("a slab cache needs objects of at least 1 byte")
        if isinstance(align, bool) or not isinstance(align, int):
            raise TypeError(f"align must be an int, not {type(align).__name__}")
        if align < 0 or (align and align & (align - 1)):
            raise ValueError(f"align must be 0 or a power of two, not {align}")
        flags = sc.slab_flags(flags, self.version)
        if ctor is not None and not callable(ctor):
            raise TypeError("ctor must be a callable (or None)")
        existing = self._sysfs.get(name)
        if existing is not None and (existing.name == name or existing.sysfs_name == name):
            raise ValueError(f"a slab cache named {name!r} already exists; "
                             "kmem_cache_destroy it first or choose another name")
        if flags & (SLAB_RED_ZONE | SLAB_STORE_USER):
            raise ValueError("SLAB_RED_ZONE and SLAB_STORE_USER (slub_debug metadata) are "
                             "not modelled; SLAB_POISON is")
        label = caller if caller is not None else self.k.caller_label(None)
        sheaf_capacity = _sheaf_capacity_arg(self.k.profile, sheaf_capacity)
        s = None if sheaf_capacity else self.find_mergeable(size, align, flags, ctor)
        if s is not None:
            if self._pending:     # the plans count object_size bytes per allocation
                self.flush_counts()
            s.alloc_plans.clear()
            s.refcount += 1
            s.object_size = max(s.object_size, size)
            s.inuse = max(s.inuse, align_up(size, self.word))
            s.alias_names.append(name)
            self._sysfs[name] = s
            return s
        real_align = sc.calculate_alignment(flags, align, size, self.word)
        cache = self.create_cache(name, size, real_align, flags, ctor, None)
        if cache is not None and sheaf_capacity:
            _sheaves.enable(self, cache, sheaf_capacity)
        if cache is None:
            err = -22
            self.k.printk(f"kmem_cache_create({name}) failed with error {err}")
            self.k.printk(f"CPU: {self.k.current_cpu} PID: 1 Comm: kmemlab")
            self.k.printk(f"Call Trace:\n kmem_cache_create\n {label}")
            return None
        return cache

    def kmem_cache_alloc(self, cache, gfp, caller: str | None = None) -> int | None:
        """mm/slub.c: kmem_cache_alloc → slab_alloc_node (fast path: the CPU freelist;
        slow path ___slab_alloc: refill, CPU partial, node partial, new slab).

        ``k.kmem_cache_alloc`` is this method: without a ``caller`` the call site is
        the calling frame's. Checks its arguments in the order of the public API: the
        flags, the call site, the cache. The CPU freelist pop, its
        slab_post_alloc_hook and the trace event are inline, as in kmalloc."""
        if caller is None:
            f = sys._getframe(1)
            label = known_call_site(id(f.f_code)) or call_site(f)
        elif type(caller) is str:
            label = caller
        else:
            label = None       # checked after the flags
        routes = self._route_cache
        if gfp is routes.last_gfp:    # the flags of the previous call: already checked
            value = routes.last_route[1]
        elif type(gfp) is int and gfp in routes.by_int:   # an int mask seen before
            value = routes.by_int[gfp][1]
        else:
            gfpmod.coerce(gfp)
            value = None
        if label is None:
            label = self.k.caller_label(caller)      # its TypeError
        if type(cache) is KmemCache and cache._slub is self and not cache.destroyed:
            s = cache
        else:
            s = self._cache_arg(cache)
        if value is None:
            value = self._kmalloc_route(gfp)[1]
        k = self.k
        rules = k.rules    # might_alloc (slab_pre_alloc_hook), inline as in kmalloc
        if k.panicked is None and (k.context_stack.may_sleep or
                                   not value & rules.may_block_bit):
            st = rules.reclaim
            if not st.busy:
                st.attempt = 0
                st.reclaimed_this_alloc = 0
        else:
            k.might_sleep_if_alloc(value, 0)
        if self.ghosts:   # a silent double free corrupted a freelist: maybe hand it out
            ghost = self._ghost_alloc(s, "kmem_cache_alloc", label, s.object_size, value,
                                      None)
            if ghost is not None:
                return ghost
        req = s.object_size
        c = s.cpus[k.current_cpu]
        fl = c.freelist
        if fl and not s.sheaf_capacity:
            # slab_alloc_node's fast path and slab_post_alloc_hook inline (as kmalloc)
            idx = fl.pop()
            slab = c.slab
            slab.inuse += 1
            addr = slab.base + idx * s.size
            rec = slab.records[idx]
            if rec is None:
                rec = slab.records[idx] = LiveObject(s, slab, idx, req, label)
            else:
                rec.req = req
                rec.caller = label
            self.live[addr] = rec
            dbg = rules.slab_debug
            if dbg is not None:
                dbg.on_alloc(addr, req, s.object_size, s.name, "kmem_cache_alloc")
            s.nr_live += 1
            s.live_requested += req
            plan = s.alloc_plans.get(value)
            if plan is None:
                plan = s.alloc_plans[value] = CountPlan(s, req, False, packed_head(
                    "kmem_cache_alloc", KMEM_CACHE_ALLOC_KEYS, s.why_alloc_fast, 3,
                    (s.size, value, -1, bool(value & self._gfp_account or s.account),
                     s.name)))
            if plan.label is label:
                plan.n += 1
            else:
                n = plan.counts.get(label)
                if n is None:
                    self._count_new(plan, label)
                else:
                    plan.counts[label] = n + 1
            k.clock_ns = ts = k.clock_ns + EVENT_STEP_NS
            tr = k.trace
            if tr.enabled:
                buf = tr.packed
                if buf is None:
                    buf = tr.open_packed()
                i = tr.next_index
                tr.next_index = i + 1
                task = k.current_task
                buf += (ts, k.current_cpu, task.pid, task.comm, k.context_stack.lat_flags,
                        plan.head, label, addr, req)
                if i >= tr.check_at:
                    tr.check()
            return addr
        res = self.slab_alloc_node(s, value, gfp, req, label, "kmem_cache_alloc")
        if res is None:
            self._emit_alloc("kmem_cache_alloc", s, 0, s.object_size, gfp, value, label,
                             f"kmem_cache_alloc({s.name}) failed: no memory for a new slab")
            return None
        addr, why = res
        k.trace.record("kmem_cache_alloc", KMEM_CACHE_ALLOC_KEYS,
                       (label, addr, req, s.size, value, -1,
                        bool(value & self._gfp_account or s.account), s.name),
                       s.why_alloc_fast if why is None else f"kmem_cache_alloc({s.name}) → {why}")
        return addr

    def kmem_cache_zalloc(self, cache, gfp, caller: str | None = None) -> int | None:
        """include/linux/slab.h: kmem_cache_zalloc = kmem_cache_alloc(c, flags | __GFP_ZERO)."""
        label = caller if caller is not None else self.k.caller_label(None)
        return self.kmem_cache_alloc(cache, self._with_zero(gfp), caller=label)

    def kmem_cache_free(self, cache, ptr, caller: str | None = None) -> None:
        """mm/slub.c: kmem_cache_free → cache_from_obj (wrong-cache check) → slab_free.
        ``k.kmem_cache_free`` is this method: without a ``caller`` the call site is the
        calling frame's. The free onto this CPU's slab is inline, as in kfree."""
        if caller is None:
            f = sys._getframe(1)
            label = known_call_site(id(f.f_code)) or call_site(f)
        elif type(caller) is str:
            label = caller
        else:
            label = self.k.caller_label(caller)      # its TypeError
        if type(cache) is KmemCache and cache._slub is self and not cache.destroyed:
            s = cache
        else:
            s = self._cache_arg(cache)
        if ptr is None:
            self._bug_not_slab("kmem_cache_free", 0, label, cache=s)
        if type(ptr) is not int or ptr < 0:
            ptr = self._ptr_arg(ptr)
        rec = self.live.get(ptr)
        if rec is None or rec.cache is None:
            if self._diagnose_bad_free("kmem_cache_free", ptr, label, cache=s):
                return            # a silent double free (no slub_debug): nothing noticed
        if rec.cache is not s:
            self._bug_wrong_cache(s, rec.cache, ptr, label)
        k = self.k
        slab = rec.slab
        c = s.cpus[k.current_cpu]
        if c.slab is slab and k.rules.slab_debug is None and not s.sheaf_capacity:
            # _free_object's fast path inline, as in kfree
            del self.live[ptr]
            s.nr_live -= 1
            s.live_requested -= rec.req
            slab.inuse -= 1
            c.freelist.append(rec.idx)
            plan = s.free_plan
            if plan.label is rec.caller:
                plan.n += 1
            else:
                n = plan.counts.get(rec.caller)
                if n is None:
                    self._count_new(plan, rec.caller)
                else:
                    plan.counts[rec.caller] = n + 1
            k.clock_ns = ts = k.clock_ns + EVENT_STEP_NS
            tr = k.trace
            if tr.enabled:
                buf = tr.packed
                if buf is None:
                    buf = tr.open_packed()
                i = tr.next_index
                tr.next_index = i + 1
                task = k.current_task
                buf += (ts, k.current_cpu, task.pid, task.comm, k.context_stack.lat_flags,
                        plan.head, label, ptr, None)
                if i >= tr.check_at:
                    tr.check()
            return
        self._free_object(rec, ptr, label, "kmem_cache_free")

    def kmem_cache_destroy(self, cache, caller: str | None = None) -> None:
        """mm/slab_common.c: kmem_cache_destroy → shutdown_cache → __kmem_cache_shutdown.

        Drops one reference (aliases share the cache). The last one flushes the CPU
        slabs and frees every slab; with objects still allocated the kernel reports
        ``Objects remaining in <cache> on __kmem_cache_shutdown()`` (3.15:
        ``kmem_cache_close()``) — here that is a KernelBug and nothing changes.
        """
        if cache is None:
            return  # kmem_cache_destroy(NULL) is allowed
        s = self._cache_arg(cache)
        label = caller if caller is not None else self.k.caller_label(None)
        if s.kmalloc_type is not None and (s.refcount <= 1 or cache == s.name):
            raise ValueError(f"{s.name} is a kmalloc cache; it cannot be destroyed")
        if s.refcount > 1:
            s.refcount -= 1
            if isinstance(cache, str) and cache in s.alias_names:
                s.alias_names.remove(cache)
                del self._sysfs[cache]
            return
        if s.nr_live:
            self._bug_objects_remaining(s, label)
        _sheaves.flush_all(self, s)
        self._flush_all(s)
        for slab in list(s.node_partial):
            s.node_partial.remove(slab)
            self._discard_slab(s, slab)
        assert not s.nr_slabs, "slabs left after shutdown"
        s.refcount = 0
        s.destroyed = True
        self.caches.remove(s)
        for key in [k for k, v in self._sysfs.items() if v is s]:
            del self._sysfs[key]

    def kmem_cache_shrink(self, cache, caller: str | None = None) -> int:
        """mm/slab_common.c: kmem_cache_shrink → mm/slub.c: __kmem_cache_shrink.

        Flushes the CPU slabs and CPU partial lists to the node, frees every empty slab
        (whatever min_partial says) and sorts the partial list fullest first. Returns 0
        when no slab is left, 1 otherwise (as the kernel does).
        """
        s = self._cache_arg(cache)
        _sheaves.flush_all(self, s)
        self._flush_all(s)
        keep = []
        for slab in s.node_partial:
            if slab.inuse == 0:
                self._discard_slab(s, slab)
            else:
                keep.append(slab)
        if not self.rules.shrink_promotes_few_free:
            keep.sort(key=lambda sl: -sl.inuse)   # most used first (stable)
        else:  # 6.x: promote slabs with 1..32 free objects, fewest free first
            promote = [sl for sl in keep if sl.objects - sl.inuse <= 32]
            rest = [sl for sl in keep if sl.objects - sl.inuse > 32]
            promote.sort(key=lambda sl: sl.objects - sl.inuse)
            keep = promote + rest
        s.node_partial[:] = keep
        return 1 if s.nr_slabs else 0

    # ================================================================ kmalloc API
    def kmalloc_cache(self, size, gfp=None) -> KmemCache | None:
        """mm/slab_common.c: kmalloc_slab (+ include/linux/slab.h: kmalloc_type on 6.x):
        the cache kmalloc(size, gfp) uses; None for 0 and above KMALLOC_MAX_CACHE_SIZE."""
        size = self._size_arg(size, "size")
        if size == 0 or size > self.max_cache_size:
            return None
        ktype = self._route(gfp if gfp is not None else 0)[0]
        return self._by_size[ktype][size]

    def kmalloc(self, size, gfp, caller: str | None = None) -> int | None:
        """mm/slab_common.c: __kmalloc / __do_kmalloc_node (6.12: mm/slub.c).

        size 0 → ZERO_SIZE_PTR (0x10); up to KMALLOC_MAX_CACHE_SIZE (8192) → the size
        class of ``kmalloc_slab`` in the cache type of ``kmalloc_type(gfp)``; above →
        ``kmalloc_large``: a compound page of order get_order(size) from the buddy
        allocator, None beyond order 10 (the real limit is 4 MiB).

        ``k.kmalloc`` is this method (no forwarder): without a ``caller``, the call
        site is the calling frame's. The arguments are checked in the order of the
        public API (the flags, the call site, the size). What every call does is kept
        lean, because notebooks loop over it: the kmalloc table lookup, might_alloc's
        common case inline, the CPU freelist pop and slab_post_alloc_hook inline (the
        live record, the debug hooks when KASAN or slub_debug track objects, the
        counters, the call site; sheaves and the slow path go through
        ``slab_alloc_node``), and the trace event appended to the trace's packed
        chunk with the head (name, why, constant fields) of its size class, made once.
        """
        if caller is None:     # the caller's frame (already materialised: one lookup)
            f = sys._getframe(1)
            label = known_call_site(id(f.f_code)) or call_site(f)
        elif type(caller) is str:
            label = caller
        else:
            label = None       # checked after the flags
        routes = self._route_cache
        if gfp is routes.last_gfp:    # the flags of the previous call: already checked
            route = routes.last_route
        elif type(gfp) is int:       # an int mask (a replayed trace's): seen before?
            route = routes.by_int.get(gfp)
            if route is None:
                gfpmod.coerce(gfp)
        else:
            gfpmod.coerce(gfp)
            route = None
        if label is None:
            label = self.k.caller_label(caller)      # its TypeError
        if route is None or type(size) is not int or not 0 < size <= self.max_cache_size:
            if type(size) is not int:
                size = self._size_arg(size, "size")
            elif size < 0:
                raise ValueError(f"kmalloc size cannot be negative: {size} (size_t is "
                                 "unsigned; a negative int here is a bug in the caller)")
            if route is None:
                route = self._kmalloc_route(gfp)
            if size == 0:
                return ZERO_SIZE_PTR
            if size > self.max_cache_size:
                return self._kmalloc_large(size, gfp, route[1], label)
        by_size, value, accounted, plans = route
        k = self.k
        rules = k.rules
        if k.panicked is None and (k.context_stack.may_sleep or
                                   not value & rules.may_block_bit):
            # might_alloc with nothing to report, inline: reset the per-allocation
            # reclaim bookkeeping (Rules.might_alloc's last step)
            st = rules.reclaim
            if not st.busy:
                st.attempt = 0
                st.reclaimed_this_alloc = 0
        else:   # a report may be due: the frame-counting path (its caller is this frame)
            k.might_sleep_if_alloc(value, 0)
        s = by_size[size]
        if self.ghosts:   # a silent double free corrupted a freelist: maybe hand it out
            ghost = self._ghost_alloc(s, "kmalloc", label, size, value, accounted)
            if ghost is not None:
                return ghost
        c = s.cpus[k.current_cpu]
        fl = c.freelist
        if fl and not s.sheaf_capacity:
            # slab_alloc_node's fast path (the CPU freelist pop) and its
            # slab_post_alloc_hook inline, the same steps in the same order: the common
            # kmalloc makes no call into the allocation core (tests/slub/test_one_path.py
            # holds both paths to 17c9f1a's)
            idx = fl.pop()
            slab = c.slab
            slab.inuse += 1
            addr = slab.base + idx * s.size
            rec = slab.records[idx]
            if rec is None:
                rec = slab.records[idx] = LiveObject(s, slab, idx, size, label)
            else:
                rec.req = size
                rec.caller = label
            self.live[addr] = rec
            dbg = rules.slab_debug
            if dbg is not None:
                dbg.on_alloc(addr, size, s.object_size, s.name, "__kmalloc")
            s.nr_live += 1
            s.live_requested += size
            # alloc_fastpath, hits, total_requested and the call site's counts: by the
            # size class's plan (CountPlan)
            plan = plans[size]
            if plan is None:
                plan = plans[size] = self._kmalloc_plan(s, size, value, accounted)
            if plan.label is label:
                plan.n += 1
            else:
                n = plan.counts.get(label)
                if n is None:
                    self._count_new(plan, label)
                else:
                    plan.counts[label] = n + 1
            # trace_kmalloc: TraceLog.record's steps onto the packed chunk
            k.clock_ns = ts = k.clock_ns + EVENT_STEP_NS
            tr = k.trace
            if tr.enabled:
                buf = tr.packed
                if buf is None:
                    buf = tr.open_packed()
                i = tr.next_index
                tr.next_index = i + 1
                task = k.current_task
                buf += (ts, k.current_cpu, task.pid, task.comm, k.context_stack.lat_flags,
                        plan.head, label, addr, size)
                if i >= tr.check_at:
                    tr.check()
            return addr
        res = self.slab_alloc_node(s, value, gfp, size, label, "__kmalloc")
        if res is None:
            k.trace.emit("kmalloc", f"kmalloc({size}) → {s.name} failed: no memory for "
                         "a new slab", call_site=label, ptr=0, bytes_req=size,
                         bytes_alloc=s.size, gfp_flags=value, node=-1,
                         accounted=accounted)
            return None
        addr, why = res
        if why is None:                          # the fast path: its text made once per size
            why = self._kmalloc_fast_why(s, size)
        else:
            why = self._kmalloc_why(size, s, s.kmalloc_type) + "; " + why
        k.trace.record("kmalloc", KMALLOC_KEYS,
                       (label, addr, size, s.size, value, -1, accounted or s.account), why)
        return addr

    def _kmalloc_fast_why(self, s: KmemCache, size: int) -> str:
        why = s.why_fast.get(size)
        if why is None:
            why = s.why_fast[size] = (self._kmalloc_why(size, s, s.kmalloc_type) + "; "
                                      + KMALLOC_FAST_WHY)
        return why

    def _kmalloc_plan(self, s: KmemCache, size: int, value: int, accounted: bool) -> CountPlan:
        """The count plan of a fast-path kmalloc(size) from ``s`` with flags ``value``;
        its packed trace event is (call_site, ptr, bytes_req) + the head's constants."""
        return CountPlan(s, size, False, packed_head(
            "kmalloc", KMALLOC_KEYS, self._kmalloc_fast_why(s, size), 3,
            (s.size, value, -1, accounted or s.account)))

    def _kmalloc_route(self, gfp) -> tuple:
        """(the kmalloc table of kmalloc_type(gfp) by size, gfp's value, accounted, the
        count plans by size), remembered as the last flags' route."""
        routes = self._route_cache
        try:
            key = routes[gfp]
        except (KeyError, TypeError):
            key = self._route(gfp)
        plans = routes.plans.get(key)
        if plans is None:
            plans = routes.plans[key] = [None] * (self.max_cache_size + 1)
        ktype, value, accounted = key
        route = (self._by_size[ktype], value, accounted, plans)
        routes.last_gfp = gfp
        routes.last_route = route
        if type(gfp) is int:
            routes.by_int[gfp] = route
        return route

    def kzalloc(self, size, gfp, caller: str | None = None) -> int | None:
        """include/linux/slab.h: kzalloc = kmalloc(size, flags | __GFP_ZERO)."""
        label = caller if caller is not None else self.k.caller_label(None)
        return self.kmalloc(size, self._with_zero(gfp), caller=label)

    def kcalloc(self, n, size, gfp, caller: str | None = None) -> int | None:
        """include/linux/slab.h: kcalloc → kmalloc_array: NULL when n * size overflows
        size_t (check_mul_overflow), else kmalloc(n * size, flags | __GFP_ZERO)."""
        label = caller if caller is not None else self.k.caller_label(None)
        n = self._size_arg(n, "n")
        size = self._size_arg(size, "size")
        if n * size > self.size_max:
            return None
        return self.kmalloc(n * size, self._with_zero(gfp), caller=label)

    def krealloc(self, ptr, new_size, gfp, caller: str | None = None) -> int | None:
        """mm/slab_common.c: krealloc → __do_krealloc: keep the object if ksize(p) is
        already big enough, else kmalloc a new one, copy, kfree the old one.
        new_size 0 frees ``ptr`` and returns ZERO_SIZE_PTR."""
        label = caller if caller is not None else self.k.caller_label(None)
        new_size = self._size_arg(new_size, "new_size")
        if ptr is not None:
            ptr = self._ptr_arg(ptr)
        if new_size == 0:
            self.kfree(ptr, caller=label)
            return ZERO_SIZE_PTR
        if ptr in (None, 0, ZERO_SIZE_PTR):
            ks = 0
        else:
            rec = self.live.get(ptr) or self.large.get(ptr)
            if rec is None:
                self._diagnose_bad_free("krealloc", ptr, label, report=True)
            ks = self.ksize(ptr)
        if ks >= new_size:
            rec = self.live.get(ptr) or self.large.get(ptr)
            if rec is not None and rec.cache is not None:
                rec.cache.live_requested += new_size - rec.req
            rec.req = new_size
            return ptr
        new = self.kmalloc(new_size, gfp, caller=label)
        if new is not None and ptr not in (None, 0, ZERO_SIZE_PTR):
            self.kfree(ptr, caller=label)
        return new

    def kfree(self, ptr, caller: str | None = None) -> None:
        """mm/slub.c: kfree (6.x; mm/slab_common.c in 6.1): NULL and ZERO_SIZE_PTR do
        nothing; a slab object goes back to its cache (fast path when its slab is this
        CPU's slab); a kmalloc_large allocation goes back to the buddy allocator.
        ``k.kfree`` is this method: without a ``caller`` the call site is the calling
        frame's, looked up when something uses it (the fast path without tracing
        does not)."""
        if caller is None:
            label = None
        elif type(caller) is str:
            label = caller
        else:
            label = self.k.caller_label(caller)      # its TypeError
        try:
            rec = self.live.get(ptr)
        except TypeError:
            raise TypeError(f"kfree takes an address (int), not {type(ptr).__name__}") from None
        if rec is not None and type(ptr) is int:
            # _free_object's fast path inline (do_slab_free onto this CPU's slab, no
            # debug hook, no sheaves): the common kfree, one call less
            s = rec.cache
            k = self.k
            slab = rec.slab
            c = s.cpus[k.current_cpu]
            if c.slab is slab and k.rules.slab_debug is None and not s.sheaf_capacity:
                del self.live[ptr]
                s.nr_live -= 1
                s.live_requested -= rec.req
                slab.inuse -= 1
                c.freelist.append(rec.idx)
                plan = s.kfree_plan      # free_fastpath and the call site's frees
                if plan.label is rec.caller:
                    plan.n += 1
                else:
                    n = plan.counts.get(rec.caller)
                    if n is None:
                        self._count_new(plan, rec.caller)
                    else:
                        plan.counts[rec.caller] = n + 1
                # trace_kfree onto the packed chunk (TraceLog.record's steps)
                k.clock_ns = ts = k.clock_ns + EVENT_STEP_NS
                tr = k.trace
                if tr.enabled:
                    if label is None:
                        f = sys._getframe(1)
                        label = known_call_site(id(f.f_code)) or call_site(f)
                    buf = tr.packed
                    if buf is None:
                        buf = tr.open_packed()
                    i = tr.next_index
                    tr.next_index = i + 1
                    task = k.current_task
                    buf += (ts, k.current_cpu, task.pid, task.comm, k.context_stack.lat_flags,
                            plan.head, label, ptr, None)
                    if i >= tr.check_at:
                        tr.check()
                return
        if label is None:
            f = sys._getframe(1)
            label = known_call_site(id(f.f_code)) or call_site(f)
        if rec is not None and type(ptr) is int:
            self._free_object(rec, ptr, label, "kfree")
            return
        if ptr is None or ptr == 0 or ptr == ZERO_SIZE_PTR:
            if ptr is not None and (isinstance(ptr, bool) or not isinstance(ptr, int)):
                raise TypeError(f"kfree takes an address (int), not {type(ptr).__name__}")
            self.k.trace.emit("kfree", "kfree(NULL/ZERO_SIZE_PTR) does nothing",
                              call_site=label, ptr=0 if ptr is None else ptr)
            return
        if rec is None:
            ptr = self._ptr_arg(ptr)
            rec = self.large.get(ptr)
            if rec is None:
                if self._diagnose_bad_free("kfree", ptr, label):
                    return        # a silent double free (no slub_debug): nothing noticed
            self._kfree_large(ptr, rec, label)
            return
        self._free_object(rec, ptr, label, "kfree")

    def ksize(self, ptr) -> int:
        """mm/slab_common.c: ksize/__ksize: 0 for NULL/ZERO_SIZE_PTR; PAGE_SIZE << order
        for kmalloc_large; slab_ksize(cache) for a slab object (object_size with
        POISON, inuse with TYPESAFE_BY_RCU, else the slot size s->size)."""
        if ptr is None or ptr == 0 or ptr == ZERO_SIZE_PTR:
            return 0
        ptr = self._ptr_arg(ptr)
        rec = self.live.get(ptr)
        if rec is None:
            rec = self.large.get(ptr)
            if rec is not None:
                return self.page_size << rec.page.order
            slab = self._slab_by_pfn.get(self._virt_to_pfn(ptr))
            if slab is None:
                self._warn(["ksize: " + f"{ptr:#x} is not a slab object or a kmalloc_large "
                            "allocation (WARN_ON in __ksize)"], "ksize", f"{ptr:#x}")
            return self._slab_ksize(slab.cache)
        return self._slab_ksize(rec.cache)

    def _slab_ksize(self, s: KmemCache) -> int:
        """mm/slab.h: slab_ksize: object_size with RED_ZONE or POISON, inuse with
        TYPESAFE_BY_RCU or STORE_USER, else the slot size (decided at creation:
        ``s.ksize_of``, no flag arithmetic per call)."""
        kind = s.ksize_of
        if kind == KSIZE_SLOT:
            return s.size
        return s.object_size if kind == KSIZE_OBJECT_SIZE else s.inuse

    # ================================================================ allocation core
    def slab_alloc_node(self, s: KmemCache, value: int, gfp, req: int = 0,
                        label: str | None = None,
                        api: str = "") -> tuple[int, str | None] | None:
        """mm/slub.c: slab_alloc_node → slab_post_alloc_hook, the one allocation path of
        kmalloc, kmem_cache_alloc and the sheaf refill.

        6.18 sheaves first (alloc_from_pcs), else pop c->freelist (the fast path),
        else ___slab_alloc (the slow path); then slab_post_alloc_hook: the object's
        live record, the debug hooks (KASAN, kmemleak, slub_debug), the cache's
        counters and the call site's. Returns (address, why) — why is None on the
        fast path, each caller words it — or None when no slab can be had. Without
        a ``label`` (the sheaf refill, __kmem_cache_alloc_bulk) the object only comes
        off the slabs: no sheaves, no record.
        """
        if s.sheaf_capacity and label is not None and \
                (got := _sheaves.alloc_from_pcs(self, s, value, gfp)) is not None:
            slab, idx, why = got        # counted in its slab when the sheaf was filled
        else:
            c = s.cpus[self.k.current_cpu]
            fl = c.freelist
            if fl:
                idx = fl.pop()
                slab = c.slab
                s._alloc_fastpath += 1
                why = None
            else:
                got = self.__slab_alloc(s, c, self.k.current_cpu, value, gfp)
                if got is None:
                    return None
                slab, idx, why = got
                s.stat["alloc_slowpath"] += 1
            slab.inuse += 1
        addr = slab.base + idx * s.size
        if label is None:
            return addr, why
        # slab_post_alloc_hook
        rec = slab.records[idx]
        if rec is None:
            rec = slab.records[idx] = LiveObject(s, slab, idx, req, label)
        else:
            rec.req = req
            rec.caller = label
        self.live[addr] = rec
        dbg = self.k.rules.slab_debug
        if dbg is not None:   # kmemleak/KASAN/slub_debug tracking (kmemlab/kdebug.py)
            dbg.on_alloc(addr, req, s.object_size, s.name, api)
        s.nr_live += 1
        s.live_requested += req
        s._hits += 1
        s._total_requested += req
        cs = self._callsites.get(label)          # label -> [hits, req, alloc, frees]
        if cs is None:
            self._callsites[label] = [1, req, s.size, 0]
        else:
            cs[0] += 1
            cs[1] += req
            cs[2] += s.size
        return addr, why

    def virt_to_slab(self, addr: int) -> Slab | None:
        """mm/slab.h: virt_to_slab: the slab an address of the direct map lies in."""
        return self._slab_by_pfn.get(self.k.virt_to_pfn(addr))

    def __slab_alloc(self, s: KmemCache, c: CpuState, cpu: int, value: int, gfp):
        """mm/slub.c: ___slab_alloc (single node)."""
        slab = c.slab
        if self.rules.bad_gfp_is_bug and value & (self._gfp_dma32 | self._gfp_highmem) and \
                not (slab is not None and slab.freelist) and not c.partial and \
                not s.node_partial:
            # 3.15 new_slab: BUG_ON(flags & GFP_SLAB_BUG_MASK) before anything changes
            self._bad_gfp(value, value & (self._gfp_dma32 | self._gfp_highmem))
        if slab is not None:
            if slab.freelist:           # objects freed by other CPUs: get_freelist
                c.freelist = slab.freelist
                slab.freelist = []
                s.stat["alloc_refill"] += 1
                return slab, c.freelist.pop(), \
                    "slow path: CPU slab's freelist refilled from remote frees"
            # the CPU slab is full: unfreeze it, it is on no list (tracked as full)
            slab.where = WHERE_FULL
            slab.cpu = -1
            s.full[slab] = None
            c.slab = None
            s.stat["deactivate_bypass"] += 1
        if c.partial:
            slab = c.partial.pop()
            self._make_cpu_slab(s, c, slab, cpu)
            s.stat["cpu_partial_alloc"] += 1
            return slab, c.freelist.pop(), \
                "slow path: CPU slab full; took the next slab of the CPU partial list"
        if s.node_partial:
            slab = self._get_partial_node(s, c, cpu)
            return slab, c.freelist.pop(), \
                "slow path: took a slab from the node partial list (get_partial_node)"
        slab = self.new_slab(s, value, gfp)
        if slab is None:
            return None
        self._make_cpu_slab(s, c, slab, cpu)
        s.stat["alloc_slab"] += 1
        why = (f"slow path: no partial slab; new order-{slab.order} slab "
               f"({slab.objects} objects) from the buddy allocator")
        if slab.order != s.order:
            why += f" (order-{s.order} failed; fell back to the minimum order)"
        return slab, c.freelist.pop(), why

    def _make_cpu_slab(self, s: KmemCache, c: CpuState, slab: Slab, cpu: int) -> None:
        slab.where = WHERE_CPU
        slab.cpu = cpu
        c.slab = slab
        c.freelist = slab.freelist
        slab.freelist = []

    def _get_partial_node(self, s: KmemCache, c: CpuState, cpu: int) -> Slab:
        """mm/slub.c: get_partial_node: the first slab becomes the CPU slab; more go to the
        CPU partial list until half the CPU partial limit is reached."""
        first = s.node_partial.pop(0)
        self._make_cpu_slab(s, c, first, cpu)
        s.stat["alloc_from_partial"] += 1
        if not s.has_cpu_partial:
            return first
        if self.rules.cpu_partial_slabs:
            partial_slabs = 0
            while s.node_partial and not partial_slabs > s.cpu_partial_slabs // 2:
                slab = s.node_partial.pop(0)
                self._put_cpu_partial(s, slab, cpu, drain=False)
                s.stat["cpu_partial_node"] += 1
                partial_slabs += 1
        else:
            available = first.objects - first.inuse
            while s.node_partial and not available > s.cpu_partial // 2:
                slab = s.node_partial.pop(0)
                available = self._put_cpu_partial(s, slab, cpu, drain=False)
                s.stat["cpu_partial_node"] += 1
        return first

    def _put_cpu_partial(self, s: KmemCache, slab: Slab, cpu: int, drain: bool) -> int:
        """mm/slub.c: put_cpu_partial. 6.x: a full list (cpu_partial_slabs) is flushed to
        the node first; 3.15: when the free objects on it exceed cpu_partial."""
        c = s.cpus[cpu]
        if c.partial and drain:
            if self.rules.cpu_partial_slabs:
                over = len(c.partial) >= s.cpu_partial_slabs
            else:
                over = c.partial[-1].pobjects > s.cpu_partial
            if over:
                old = c.partial
                c.partial = []
                s.stat["cpu_partial_drain"] += 1
                self._put_partials(s, old)
        pobjects = c.partial[-1].pobjects if c.partial else 0
        slab.pobjects = pobjects + slab.objects - slab.inuse
        slab.where = WHERE_CPU_PARTIAL
        slab.cpu = cpu
        c.partial.append(slab)
        return slab.pobjects

    def _discard_ok(self, s: KmemCache) -> bool:
        n = len(s.node_partial)
        return n >= s.min_partial if self.rules.discard_if_nr_partial_ge else n > s.min_partial

    def _put_partials(self, s: KmemCache, slabs: list[Slab]) -> None:
        """mm/slub.c: __put_partials [6.x] / unfreeze_partials [3.15], head first."""
        for slab in reversed(slabs):
            slab.cpu = -1
            if slab.inuse == 0 and self._discard_ok(s):
                self._discard_slab(s, slab)
                s.stat["free_slab"] += 1
            else:
                slab.where = WHERE_PARTIAL
                s.node_partial.append(slab)

    def new_slab(self, s: KmemCache, value: int, gfp) -> Slab | None:
        """mm/slub.c: new_slab → allocate_slab: 2^order pages with the cache's allocflags
        (first try without warnings or retries), else the minimum order."""
        k = self.k
        bad = value & (self._gfp_dma32 | self._gfp_highmem)
        if bad:   # checked before any state change in __slab_alloc on 3.15
            value = self._bad_gfp(value, bad)
        flags = (value & self._mask_keep) | s.allocflags
        first = (flags | self._gfp_nowarn | self._gfp_noretry) & ~self._gfp_nofail
        if self.rules.high_order_try_no_reclaim and first & self._gfp_block and \
                s.order > s.min_order:
            first = (first | self._gfp_nomemalloc) & ~self._gfp_reclaim
        order = s.order
        page = k.page_alloc.alloc_pages(first, order, owner="slab", detail=s.name,
                                        caller=s.name)
        if page is None and s.order != s.min_order:
            order = s.min_order
            page = k.page_alloc.alloc_pages(flags, order, owner="slab", detail=s.name,
                                            caller=s.name)
            if page is not None:
                s.stat["order_fallback"] += 1
        if page is None:
            return None
        objects = order_objects(order, s.size, self.page_size)
        if objects > s.objs_per_slab:
            objects = s.objs_per_slab
        base = k.pfn_to_virt(page.pfn)
        if s.random_seq is not None and objects > 1:
            seq = [i for i in s.random_seq if i < objects]
            start = self._randbelow(len(seq))
            order_list = seq[start:] + seq[:start]
        else:
            order_list = list(range(objects))
        freelist = order_list[::-1]       # head at the end
        self._slab_serial += 1
        slab = Slab(s, page, base, order, objects, freelist, self._slab_serial)
        for pfn in range(page.pfn, page.pfn + (1 << order)):
            self._slab_by_pfn[pfn] = slab
        s.nr_slabs += 1
        s.total_objects += objects
        self.counters["slabs_allocated"] += 1
        self.counters["pages_from_buddy"] += 1 << order
        return slab

    def _bad_gfp(self, value: int, bad: int) -> int:
        """GFP_SLAB_BUG_MASK in new_slab: 3.15 BUG(); 6.x kmalloc_fix_flags warns."""
        show = self.gfp.show
        if self.rules.bad_gfp_is_bug:
            lines = [CUT_HERE,
                     "kernel BUG at mm/slub.c:1379!  (new_slab: flags & GFP_SLAB_BUG_MASK, "
                     f"gfp {show(value)}: slab memory must be lowmem, not "
                     f"{show(bad)})",
                     "invalid opcode: 0000 [#1] SMP"]
            report_and_raise(self.k, lines, BadGfpMask, lines[1])
        fixed = value & ~bad
        self.k.printk(f"Unexpected gfp: {bad:#x} ({show(bad)}). Fixing up to gfp: "
                      f"{fixed:#x} ({show(fixed)}). Fix your code!")
        return fixed

    def _discard_slab(self, s: KmemCache, slab: Slab) -> None:
        """mm/slub.c: discard_slab → free_slab: the pages go back to the buddy allocator."""
        for pfn in range(slab.pfn, slab.pfn + (1 << slab.order)):
            del self._slab_by_pfn[pfn]
        s.nr_slabs -= 1
        s.total_objects -= slab.objects
        slab.where = "freed"
        self.counters["slabs_freed"] += 1
        self.counters["pages_to_buddy"] += 1 << slab.order
        self.k.page_alloc.free_pages(slab.page, slab.order, caller=s.name)

    # ================================================================ freeing core
    def _free_object(self, rec: LiveObject, ptr: int, label: str, fn: str) -> None:
        """mm/slub.c: slab_free → do_slab_free (fast path) / __slab_free."""
        k = self.k
        dbg = k.rules.slab_debug
        if dbg is not None:   # slab_free_hook: may refuse the free (slub_debug red zone)
            dbg.on_free(ptr, fn)
        s = rec.cache
        slab = rec.slab
        idx = rec.idx
        cpu = k.current_cpu
        c = s.cpus[cpu]
        del self.live[ptr]
        s.nr_live -= 1
        s.live_requested -= rec.req
        cs = self._callsites.get(rec.caller)
        if cs is not None:
            cs[3] += 1
        if s.sheaf_capacity:   # 6.18: onto the CPU's sheaf, still allocated in the slab
            why = _sheaves.free_to_pcs(self, s, slab, idx)
            if fn == "kfree":
                self.k.trace.emit("kfree", f"kfree → {s.name}: {why}", call_site=label, ptr=ptr)
            else:
                self._emit_named("kmem_cache_free", f"kmem_cache_free({s.name}): {why}",
                                 call_site=label, ptr=ptr, name=s.name)
            return
        slab.inuse -= 1
        if c.slab is slab:
            c.freelist.append(idx)
            s._free_fastpath += 1
            if fn == "kfree":
                k.trace.record("kfree", KFREE_KEYS, (label, ptr), s.why_kfree_fast)
            else:
                k.trace.record("kmem_cache_free", KMEM_CACHE_FREE_KEYS, (label, ptr, s.name),
                               s.why_free_fast)
            return
        why = self.slab_free_slowpath(s, slab, idx, cpu)
        s.stat["free_slowpath"] += 1
        if fn == "kfree":
            self.k.trace.record("kfree", KFREE_KEYS, (label, ptr), f"kfree → {s.name}: {why}")
        else:
            self.k.trace.record("kmem_cache_free", KMEM_CACHE_FREE_KEYS, (label, ptr, s.name),
                                f"kmem_cache_free({s.name}): {why}")

    def slab_free_slowpath(self, s: KmemCache, slab: Slab, idx: int, cpu: int) -> str:
        """mm/slub.c: __slab_free (single node)."""
        was_full = not slab.freelist and slab.where == WHERE_FULL
        slab.freelist.append(idx)
        where = slab.where
        if where in (WHERE_CPU, WHERE_CPU_PARTIAL):
            s.stat["free_frozen"] += 1
            if where == WHERE_CPU:
                return (f"slow path: the slab is CPU {slab.cpu}'s slab; object queued on "
                        "slab->freelist (remote free)")
            return f"slow path: slab is on CPU {slab.cpu}'s partial list; object queued"
        if was_full and s.has_cpu_partial:
            del s.full[slab]
            self._put_cpu_partial(s, slab, cpu, drain=True)
            s.stat["cpu_partial_free"] += 1
            return "slow path: the slab was full; it goes to this CPU's partial list"
        if slab.inuse == 0 and self._discard_ok(s):
            if where == WHERE_PARTIAL:
                s.node_partial.remove(slab)
                s.stat["free_remove_partial"] += 1
            else:
                del s.full[slab]
            self._discard_slab(s, slab)
            s.stat["free_slab"] += 1
            return (f"slow path: the slab is empty and the node already has "
                    f"{len(s.node_partial)} partial slabs (min_partial {s.min_partial}); "
                    f"its {1 << slab.order} page(s) go back to the buddy allocator")
        if where == WHERE_FULL:
            del s.full[slab]
            slab.where = WHERE_PARTIAL
            s.node_partial.append(slab)
            s.stat["free_add_partial"] += 1
            return "slow path: the full slab now has a free object; added to the node partial list"
        if slab.inuse == 0:
            return (f"slow path: the slab is empty but kept on the node partial list "
                    f"({len(s.node_partial)} partial slabs ≤ min_partial {s.min_partial})")
        return "slow path: object returned to its slab on the node partial list"

    def _deactivate_slab(self, s: KmemCache, c: CpuState) -> None:
        """mm/slub.c: deactivate_slab: give the CPU slab back to the node lists."""
        slab = c.slab
        if slab is None:
            return
        remote = bool(slab.freelist)
        slab.freelist = slab.freelist + c.freelist
        c.freelist = []
        c.slab = None
        slab.cpu = -1
        s.stat["cpuslab_flush"] += 1
        if slab.inuse == 0 and self._discard_ok(s):
            s.stat["deactivate_empty"] += 1
            self._discard_slab(s, slab)
        elif slab.freelist:
            slab.where = WHERE_PARTIAL
            if remote:
                s.stat["deactivate_remote_frees"] += 1
                s.stat["deactivate_to_tail"] += 1
                s.node_partial.append(slab)
            else:
                s.stat["deactivate_to_head"] += 1
                s.node_partial.insert(0, slab)
        else:
            s.stat["deactivate_full"] += 1
            slab.where = WHERE_FULL
            s.full[slab] = None

    def _flush_all(self, s: KmemCache) -> None:
        """mm/slub.c: flush_all → flush_cpu_slab: deactivate each CPU slab, then move
        the CPU partial lists to the node."""
        for c in s.cpus:
            self._deactivate_slab(s, c)
            if c.partial:
                old = c.partial
                c.partial = []
                self._put_partials(s, old)

    def flush_all(self, cache=None) -> None:
        """mm/slub.c: flush_all for one cache, or every cache (what a CPU going offline
        or /sys/kernel/slab/*/shrink triggers)."""
        caches = [self._cache_arg(cache)] if cache is not None else list(self.caches)
        for s in caches:
            self._flush_all(s)

    # ================================================================ kmalloc_large
    def _kmalloc_large(self, size: int, gfp, value: int, label: str) -> int | None:
        """include/linux/slab.h: kmalloc_large [3.15] / mm/slub.c: ___kmalloc_large_node
        [6.12]: alloc_pages(flags | __GFP_COMP, get_order(size))."""
        order = get_order(size, self.page_shift)
        k = self.k
        if self.rules.kmalloc_large_fixes_flags and \
                value & (self._gfp_dma32 | self._gfp_highmem):
            value = self._bad_gfp(value, value & (self._gfp_dma32 | self._gfp_highmem))
        req = value | self._gfp_comp
        page = k.page_alloc.alloc_pages(req, order, owner="kmalloc_large",
                                        detail=f"kmalloc({size})", caller=label)
        alloc = self.page_size << order
        if page is None:
            if order > self.max_page_order:
                limit = self.page_size << self.max_page_order
                why = (f"kmalloc({size}) needs order {order} > {self.max_page_order}: the "
                       f"page allocator refuses it, so kmalloc's real limit is "
                       f"{limit >> 20} MiB")
                if not value & self._gfp_nowarn:
                    k.printk(f"kmemlab: kmalloc({size}) failed: get_order({size}) = {order} "
                             f"> MAX_PAGE_ORDER {self.max_page_order}; the largest kmalloc "
                             f"is {limit >> 20} MiB (not 128 KiB)")
            else:
                why = f"kmalloc({size}) → page allocator order {order} failed"
            self._emit_large(0, size, alloc, gfp, value, label, why)
            return None
        addr = k.pfn_to_virt(page.pfn)
        self.large[addr] = LiveObject(None, None, 0, size, label, page)
        dbg = k.rules.slab_debug
        if dbg is not None:
            dbg.on_alloc(addr, size, alloc, f"kmalloc_large-order-{order}", "kmalloc_large")
        self.counters["kmalloc_large"] += 1
        self._callsite(label, size, alloc)
        self._emit_large(addr, size, alloc, gfp, value, label,
                         f"kmalloc({size}) > KMALLOC_MAX_CACHE_SIZE {self.max_cache_size}: "
                         f"kmalloc_large → order-{order} compound page from the buddy "
                         f"allocator; {alloc - size} bytes wasted")
        return addr

    def _emit_large(self, addr, size, alloc, gfp, value, label, why) -> None:
        self.k.trace.emit("kmalloc", why, call_site=label, ptr=addr, bytes_req=size,
                          bytes_alloc=alloc, gfp_flags=value, node=-1,
                          accounted=bool(value & self._gfp_account))

    def _kfree_large(self, ptr: int, rec: LiveObject, label: str) -> None:
        """mm/slub.c: free_large_kmalloc [6.x] / kfree → __free_pages [3.15]."""
        dbg = self.k.rules.slab_debug
        if dbg is not None:
            dbg.on_free(ptr, "kfree")
        page = rec.page
        self.k.trace.emit("kfree", f"kfree → kmalloc_large: order-{page.order} compound page "
                          "back to the buddy allocator", call_site=label, ptr=ptr)
        del self.large[ptr]
        cs = self._callsites.get(rec.caller)
        if cs is not None:
            cs[3] += 1
        self.k.page_alloc.free_pages(page, page.order, caller=label)

    # ================================================================ helpers
    def _callsite(self, label: str, req: int, alloc: int) -> None:
        cs = self._callsites.get(label)
        if cs is None:
            self._callsites[label] = [1, req, alloc, 0]
        else:
            cs[0] += 1
            cs[1] += req
            cs[2] += alloc

    def _virt_to_pfn(self, addr: int) -> int:
        return self.k.virt_to_pfn(addr)

    def _emit_alloc(self, name: str, s: KmemCache, addr: int, req: int, gfp, value: int,
                    label: str, why: str) -> None:
        accounted = bool(value & self._gfp_account or s.flags & SLAB_ACCOUNT)
        if name == "kmalloc":
            self.k.trace.emit("kmalloc", why, call_site=label, ptr=addr, bytes_req=req,
                              bytes_alloc=s.size, gfp_flags=value, node=-1,
                              accounted=accounted)
        else:
            self._emit_named("kmem_cache_alloc", why, call_site=label, ptr=addr,
                             bytes_req=req, bytes_alloc=s.size, gfp_flags=value, node=-1,
                             accounted=accounted, name=s.name)

    def _emit_named(self, event: str, why: str, **fields) -> None:
        """k.trace.emit for events with a field called ``name`` (the cache name)."""
        self.k.trace.emit(event, why, **fields)

    def _kmalloc_why(self, size: int, s: KmemCache, ktype: str) -> str:
        waste = s.size - size
        text = f"kmalloc({size}) → {s.name}: first size class ≥ {size}; {waste} bytes wasted"
        if ktype == KMALLOC_DMA:
            text += " (GFP_DMA → dma-kmalloc-*)"
        elif ktype == KMALLOC_RECLAIM:
            text += " (__GFP_RECLAIMABLE → kmalloc-rcl-*)"
        elif ktype == KMALLOC_CGROUP:
            text += " (__GFP_ACCOUNT → kmalloc-cg-*)"
        return text

    def _size_arg(self, size, what: str) -> int:
        if type(size) is int:
            if size < 0:
                raise ValueError(f"{what} cannot be negative: {size}")
            return size
        if isinstance(size, bool):
            raise TypeError(f"{what} must be an int (bytes), not a bool")
        if isinstance(size, int):
            return self._size_arg(int(size), what)
        if isinstance(size, str):
            from .sizes import memparse
            return memparse(size, what=what)
        try:
            import numpy as np
            if isinstance(size, np.integer):
                return self._size_arg(int(size), what)
        except ImportError:  # pragma: no cover
            pass
        raise TypeError(f"{what} must be an int (bytes) or a string like '4K', "
                        f"not {type(size).__name__}")

    def _ptr_arg(self, ptr) -> int:
        if isinstance(ptr, bool) or not isinstance(ptr, int):
            raise TypeError(f"a kernel pointer is an int address, not {type(ptr).__name__}")
        if ptr < 0:
            raise ValueError(f"a kernel address cannot be negative: {ptr}")
        return ptr

    def _route(self, gfp) -> tuple[str, int, bool]:
        """include/linux/slab.h: kmalloc_type: DMA > RECLAIMABLE > ACCOUNT (6.x);
        3.15 kmalloc_slab: GFP_DMA → dma-kmalloc, everything else kmalloc."""
        if isinstance(gfp, bool):
            raise TypeError("GFP flags cannot be a bool; use e.g. km.GFP_KERNEL")
        try:
            hash(gfp)
        except TypeError:
            raise TypeError(f"GFP flags must be km.GFP_* symbols, a string or an int mask, "
                            f"not {type(gfp).__name__}") from None
        value = self.gfp.value(gfpmod.coerce(gfp))
        self.k.page_alloc.gfp_migratetype(value)   # both mobility bits: WARN, refused
        if value & self._gfp_dma:
            ktype = KMALLOC_DMA
        elif KMALLOC_RECLAIM not in self.rules.kmalloc_types:
            ktype = KMALLOC_NORMAL
        elif value & self._gfp_reclaimable:
            ktype = KMALLOC_RECLAIM
        elif value & self._gfp_account and KMALLOC_CGROUP in self.rules.kmalloc_types:
            ktype = KMALLOC_CGROUP   # MEMCG_KMEM; without it __GFP_ACCOUNT uses kmalloc-*
        else:
            ktype = KMALLOC_NORMAL
        route = (ktype, value, bool(value & self._gfp_account))
        self._route_cache[gfp] = route
        return route

    def _with_zero(self, gfp):
        g = gfpmod.coerce(gfp)
        if isinstance(g, int):
            return g | self._gfp_zero
        return g | gfpmod.flag("__GFP_ZERO")

    # ================================================================ bug reports
    def _taint(self) -> str:
        return "Tainted: G    B" if self.tainted else "Not tainted"

    def _report(self, lines: list[str], message: str, exc: type[KernelBug] = KernelBug):
        """Print a finished report, taint the kernel ('B': add_taint(TAINT_BAD_PAGE) in
        mm/slub.c: slab_bug / set_freepointer's BUG) and raise it as ``exc``."""
        self.tainted = True
        report_and_raise(self.k, lines, exc, message)

    def _slab_bug(self, s: KmemCache, reason: str) -> list[str]:
        """mm/slub.c: slab_bug: the banner every SLUB debug report starts with."""
        return slab_bug(s.name, self._taint(), reason)

    def _slab_info(self, slab: Slab) -> str:
        """mm/slub.c: print_slab_info."""
        # the struct slab (struct page) of the slab's first page, in the vmemmap
        p = self.k.profile
        pfn = self.k.virt_to_pfn(slab.base)
        struct_slab = (p.vmemmap_start or 0xF5000000) + pfn * p.sizeof_struct_page
        return (f"Slab 0x{struct_slab:016x} objects={slab.objects} used={slab.inuse} "
                f"fp=0x{self._fp(slab):016x} flags=0x{slab.order:x}(slab|head)")

    def _fp(self, slab: Slab) -> int:
        lst = slab.freelist
        if slab.where == WHERE_CPU and not lst:
            return 0
        return slab.base + lst[-1] * slab.cache.size if lst else 0

    def _stack(self, fn: str, label: str) -> list[str]:
        return [f"CPU: {self.k.current_cpu} PID: 1 Comm: kmemlab {self._taint()}",
                "Call Trace:"] + self.k.call_trace(["dump_stack_lvl", fn, label])

    def _diagnose_bad_free(self, fn: str, ptr: int, label: str,
                           cache: KmemCache | None = None, report: bool = False) -> bool:
        """Find out why ``ptr`` cannot be freed and report it the way the kernel would.

        Returns True for a double free the kernel does not notice (no slub_debug, see
        _double_free_unchecked); ``report=True`` always reports (krealloc)."""
        try:
            pfn = self._virt_to_pfn(ptr)
        except (ValueError, KeyError, TypeError, AttributeError):
            pfn = None
        slab = self._slab_by_pfn.get(pfn) if pfn is not None else None
        if slab is not None:
            s = slab.cache
            if cache is not None and cache is not s:
                self._bug_wrong_cache(cache, s, ptr, label)
            off = ptr - slab.base
            idx, rem = divmod(off, s.size)
            if rem or idx >= slab.objects:
                # mm/slub.c: free_consistency_checks → check_valid_pointer
                lines = self._slab_bug(s, f"Invalid object pointer 0x{ptr:016x}")
                lines.append(self._slab_info(slab))
                if idx < slab.objects:
                    lines.append(f"INFO: 0x{ptr:016x} is {rem} bytes inside object "
                                 f"0x{slab.base + idx * s.size:016x} (object {idx}, "
                                 f"{s.size}-byte slots)")
                else:
                    lines.append(f"INFO: 0x{ptr:016x} is in the unused tail of the slab "
                                 f"(objects end at offset {slab.objects * s.size})")
                lines.append(f"FIX {s.name}: Object at 0x{ptr:016x} not freed")
                lines += self._stack(fn, label)
                self._report(lines, f"{fn}({ptr:#x}): invalid object pointer (inside an "
                                    f"object of {s.name})", InvalidFree)
            # a slot that is free: double free (or never handed out)
            dbg = self.k.debug
            if not report and dbg is not None and dbg.kasan:
                self._kasan_double_free(s, ptr, fn, label)   # slab_free_hook: first
            if not report and not self._consistency_checks():
                return self._double_free_unchecked(s, slab, idx, ptr, fn, label)
            lines = self._slab_bug(s, "Object already free")
            lines.append(self._slab_info(slab))
            lines.append(f"Object 0x{ptr:016x} @offset={off} fp=0x{self._fp(slab):016x}")
            lines.append("")
            lines.append(f"FIX {s.name}: Object at 0x{ptr:016x} not freed")
            lines += self._stack(fn, label)
            self._report(lines, f"{fn}({ptr:#x}): object already free in {s.name} "
                                "(double free, or never allocated)", DoubleFree)
        # inside a kmalloc_large allocation?
        for base, rec in self.large.items():
            if base < ptr < base + (self.page_size << rec.page.order):
                lines = [CUT_HERE,
                         f"kfree: 0x{ptr:016x} is {ptr - base} bytes inside the "
                         f"kmalloc_large allocation at 0x{base:016x} (order "
                         f"{rec.page.order})",
                         f"WARNING: CPU: {self.k.current_cpu} PID: 1 at mm/slub.c "
                         "free_large_kmalloc",
                         "kmemlab: a real kernel frees the whole compound page here "
                         "(folio of the pointer) and the owner later uses freed memory"]
                lines += self._stack(fn, label)
                self._report(lines, f"{fn}({ptr:#x}): pointer inside a kmalloc_large "
                                    "allocation", InvalidFree)
        if cache is not None:
            self._bug_not_slab(fn, ptr, label, cache=cache)
        if pfn is None:
            lines = [f"BUG: unable to handle page fault for address: {ptr:016x}",
                     "#PF: supervisor read access in kernel mode",
                     f"kmemlab: {fn}({ptr:#x}): not a direct-map address, so not "
                     "something kmalloc returned"]
            lines += self._stack(fn, label)
            self._report(lines, f"{fn}({ptr:#x}): not a kernel direct-map address", InvalidFree)
        # mm/slub.c: free_large_kmalloc: WARN_ON_ONCE(order == 0) + "object pointer"
        lines = [CUT_HERE,
                 f"WARNING: CPU: {self.k.current_cpu} PID: 1 at mm/slub.c free_large_kmalloc",
                 f"object pointer: 0x{ptr:016x}",
                 f"kmemlab: {fn}: 0x{ptr:016x} (pfn {pfn:#x}) is neither a slab object nor "
                 "a kmalloc_large allocation: it was never returned by kmalloc"]
        lines += self._stack(fn, label)
        self._report(lines, f"{fn}({ptr:#x}): address never allocated by kmalloc", InvalidFree)

    # ------------------------------------------------------------ double free, no debug
    def _consistency_checks(self) -> bool:
        """SLAB_CONSISTENCY_CHECKS: on with ``slub_debug`` (no letters = all) or
        ``slub_debug=F…`` (mm/slub.c: free_debug_processing → free_consistency_checks →
        on_freelist: "Object already free"). Off in a stock kernel (CONFIG_SLUB_DEBUG=y
        but CONFIG_SLUB_DEBUG_ON unset, as in Debian)."""
        dbg = self.k.debug
        return dbg is None or "F" in dbg.slub_debug

    def _kasan_double_free(self, s: KmemCache, ptr: int, fn: str, label: str) -> None:
        """mm/kasan/report.c (6.12): print_error_description for KASAN_REPORT_DOUBLE_FREE,
        from slab_free_hook → kasan_slab_free, before SLUB touches its freelist."""
        k = self.k
        t = k.current_task
        lines = ["=" * 66, f"BUG: KASAN: double-free in {label}+0x0/0x0",
                 f"Free of addr {ptr:016x} by task {t.comm}/{t.pid}", "",
                 k.cpu_line("Tainted: G    B             "), "Call Trace:",
                 *k.call_trace(["dump_stack_lvl", "print_report", "kasan_report_invalid_free",
                                fn, label]), "",
                 f"The buggy address belongs to the object at {ptr:016x}",
                 f" which belongs to the cache {s.name} of size {s.object_size}", "=" * 66]
        self._report(lines, f"{fn}({ptr:#x}): double free caught by KASAN "
                            "(BUG: KASAN: double-free)", DoubleFree)

    def _double_free_unchecked(self, s: KmemCache, slab: Slab, idx: int, ptr: int, fn: str,
                               label: str) -> bool:
        """A double free without slub_debug: mm/slub.c do_slab_free / __slab_free push the
        object onto a freelist with set_freepointer(s, object, head).

        * CONFIG_SLAB_FREELIST_HARDENED (4.14+; =y in Debian's 6.1 and 6.12) has one check,
          ``BUG_ON(object == fp)`` in set_freepointer: it catches the free only when the
          object *is* that freelist's head (freed twice in a row) — ``kernel BUG at
          mm/slub.c:419!`` (6.1.192) / ``:550!`` (6.12.118), an invalid-opcode oops
          (KernelBug; nothing changes).
        * Otherwise nothing notices (3.15 has no check at all). The object goes on the
          freelist a second time: the next allocation returns it, and an allocation as
          many objects later as there were ahead of its first entry returns it *again*
          while its first new owner still uses it. kmemlab moves the object to the head
          (its slot stays on the freelist once, so SLUB's own counts stay exact) and
          remembers the second entry in ``self.ghosts``; the real freelist even becomes a
          cycle that hands the same objects out over and over until a write into one of
          them turns the free pointer into garbage. Returns True (the free "worked").
        """
        k = self.k
        cpu = k.current_cpu
        c = s.cpus[cpu]
        target = c.freelist if c.slab is slab else slab.freelist
        hardened = bool(k.kconfig.get("CONFIG_SLAB_FREELIST_HARDENED"))
        if hardened and target and target[-1] == idx:
            line = k.profile.slub_set_freepointer_bug_line
            lines = [CUT_HERE,
                     f"kernel BUG at mm/slub.c:{line}!",
                     ("Oops: " if k.profile.oops_prefix else "") +
                     "invalid opcode: 0000 [#1] PREEMPT SMP NOPTI",
                     k.cpu_line(self._taint()),
                     f"RIP: 0010:{fn}+0x0/0x0",
                     "Call Trace:"] + k.call_trace([fn, label])
            lines.append(f"kmemlab: why: {fn}(0x{ptr:016x}) frees an object that is "
                         "already the head of the freelist: CONFIG_SLAB_FREELIST_HARDENED's "
                         "BUG_ON(object == fp) in set_freepointer catches exactly this case "
                         "(a double free with nothing freed in between); any other double "
                         "free goes unnoticed without slub_debug")
            self._report(lines, f"{fn}({ptr:#x}): double free caught by "
                                "CONFIG_SLAB_FREELIST_HARDENED: kernel BUG at "
                                f"mm/slub.c:{line}", DoubleFree)
        lists = [fl for fl in [c2.freelist for c2 in s.cpus if c2.slab is slab] +
                 [slab.freelist] if idx in fl]
        ahead = 0
        if lists:                                 # (always, for a slot of a live slab)
            src = lists[0]
            ahead = len(src) - 1 - src.index(idx)     # objects before its first entry
            src.remove(idx)
            target.append(idx)
            self.ghosts[ptr] = [s, ahead + 2, label]  # the head, the `ahead` ones, then it
        why = (f"{fn}({ptr:#x}): the object was already free; without slub_debug nothing "
               "checks (" + ("CONFIG_SLAB_FREELIST_HARDENED only catches an object that is "
                             "the freelist head" if hardened else
                             (f"Linux {self.version} has no check at all"
                              if not k.profile.has_config_option("CONFIG_SLAB_FREELIST_HARDENED")
                              else "built without CONFIG_SLAB_FREELIST_HARDENED: no check "
                                   "at all")) +
               f"): it is now on the {s.name} freelist twice — the next allocation gets it, "
               f"and the allocation {ahead + 1} after that gets it again (silent "
               "corruption)")
        if fn == "kfree":
            k.trace.emit("kfree", why, call_site=label, ptr=ptr)
        else:
            self._emit_named("kmem_cache_free", why, call_site=label, ptr=ptr, name=s.name)
        return True

    def _ghost_alloc(self, s: KmemCache, api: str, label: str, size: int, value: int,
                     accounted) -> int | None:
        """The consequence of a silent double free: count allocations from the cache down;
        at zero, hand the doubly freed object out again, still in use by its new owner.
        (If it was freed meanwhile, or its cache is gone, the model forgets it.)"""
        for ptr, g in list(self.ghosts.items()):
            if g[0] is not s:
                continue
            g[1] -= 1
            if g[1] > 0:
                continue
            del self.ghosts[ptr]
            rec = self.live.get(ptr)
            if rec is None or rec.cache is not s:
                continue
            why = (f"{api} → {s.name}: {ptr:#x} again — it was on the freelist twice since "
                   f"the double free by {g[2]}; it is still in use by {rec.caller}, so two "
                   "owners now share one object and each overwrites the other's data. "
                   "Without slub_debug/KASAN the kernel does not notice (a later crash "
                   "points somewhere else)")
            if api == "kmalloc":
                self.k.trace.emit("kmalloc", why, call_site=label, ptr=ptr, bytes_req=size,
                                  bytes_alloc=s.size, gfp_flags=value, node=-1,
                                  accounted=bool(accounted or s.account))
            else:
                self._emit_alloc("kmem_cache_alloc", s, ptr, size, None, value, label, why)
            return ptr
        return None

    def _bug_not_slab(self, fn: str, ptr: int, label: str, cache: KmemCache) -> None:
        """mm/slab.h: virt_to_cache: WARN_ONCE(!slab, "%s: Object is not a Slab page!")."""
        lines = [CUT_HERE,
                 "virt_to_cache: Object is not a Slab page!",
                 f"WARNING: CPU: {self.k.current_cpu} PID: 1 at mm/slab.h virt_to_cache",
                 f"kmemlab: {fn}({cache.name}, 0x{ptr:016x}): not an object of any slab"]
        lines += self._stack(fn, label)
        self._report(lines, f"{fn}({cache.name}, {ptr:#x}): not a slab object", InvalidFree)

    def _bug_wrong_cache(self, passed: KmemCache, actual: KmemCache, ptr: int,
                         label: str) -> None:
        """mm/slab.h: cache_from_obj: "%s: Wrong slab cache. %s but object is from %s"."""
        if self.rules.wrong_cache_pr_err_first:   # pr_err + WARN_ON_ONCE; (cachep, s) order
            lines = [f"cache_from_obj: Wrong slab cache. {actual.name} but object is from "
                     f"{passed.name}",
                     CUT_HERE,
                     f"WARNING: CPU: {self.k.current_cpu} PID: 1 at mm/slab.h "
                     "cache_from_obj()"]
        else:
            lines = [CUT_HERE,
                     f"cache_from_obj: Wrong slab cache. {passed.name} but object is from "
                     f"{actual.name}",
                     f"WARNING: CPU: {self.k.current_cpu} PID: 1 at mm/slab.h "
                     "cache_from_obj"]
        lines.append(f"kmemlab: object 0x{ptr:016x} belongs to {actual.name}; "
                     f"kmem_cache_free was given {passed.name}")
        lines += self._stack("kmem_cache_free", label)
        self._report(lines, f"kmem_cache_free({passed.name}, {ptr:#x}): object is from "
                            f"{actual.name}", WrongCache)

    def _bug_objects_remaining(self, s: KmemCache, label: str) -> None:
        """mm/slub.c: free_partial → list_slab_objects, then kmem_cache_destroy's WARN."""
        lines = self._slab_bug(s, f"Objects remaining in {s.name} on "
                                  f"{self.rules.shutdown_fn}")
        for slab in sorted(self.slabs_of(s), key=lambda sl: sl.base):
            if not slab.inuse:
                continue
            lines.append(self._slab_info(slab))
            for addr, rec in sorted(self.live.items()):
                if rec.slab is slab:
                    lines.append(f"Object 0x{addr:016x} @offset={addr - slab.base}")
        if not self.rules.destroy_warns_with_caller:
            lines.append(f"kmem_cache_destroy {s.name}: Slab cache still has objects")
        else:
            lines += [CUT_HERE,
                      f"kmem_cache_destroy {s.name}: Slab cache still has objects when "
                      f"called from {label}",
                      f"WARNING: CPU: {self.k.current_cpu} PID: 1 at mm/slab_common.c "
                      "kmem_cache_destroy"]
        lines += self._stack("kmem_cache_destroy", label)
        self._report(lines, f"kmem_cache_destroy({s.name}): {s.nr_live} objects still "
                            "allocated", ObjectsRemaining)

    def _warn(self, lines: list[str], fn: str, what: str) -> None:
        lines = [CUT_HERE] + lines
        self._report(lines, f"{fn}({what}): bad pointer")

    # ================================================================ views
    def slabs_of(self, cache) -> list[Slab]:
        """Every slab of a cache: CPU slabs, CPU partial, node partial, full."""
        s = self._cache_arg(cache) if not isinstance(cache, KmemCache) else cache
        out = []
        for c in s.cpus:
            if c.slab is not None:
                out.append(c.slab)
            out.extend(reversed(c.partial))
        out.extend(s.node_partial)
        out.extend(s.full)
        return out

    def slabinfo_lines(self) -> list[sc.SlabinfoLine]:
        """One SlabinfoLine per root cache, newest first (slab_caches is list_add'ed)."""
        out = []
        for s in reversed(self.caches):
            out.append(sc.SlabinfoLine(
                name=s.name, active_objs=s.objects, num_objs=s.total_objects,
                objsize=s.size, objperslab=s.objs_per_slab, pagesperslab=1 << s.order,
                active_slabs=s.nr_slabs, num_slabs=s.nr_slabs))
        return out

    def slabinfo_text(self) -> str:
        """mm/slab_common.c: slab_show/cache_show + mm/slub.c: get_slabinfo — the text of
        /proc/slabinfo (format version 2.1)."""
        return sc.format_slabinfo(self.slabinfo_lines())

    def callsite_stats(self) -> list[dict]:
        """Per call site: hits, bytes requested and allocated, fragmentation — the
        columns of ``perf kmem stat --caller`` (tools/perf/builtin-kmem.c)."""
        rows = []
        for label, (hits, req, alloc, frees) in self.callsites.items():
            rows.append({"callsite": label, "hits": hits, "total_req": req,
                         "total_alloc": alloc, "frees": frees,
                         "frag_pct": _frag_pct(req, alloc)})
        rows.sort(key=lambda r: (-r["total_alloc"], r["callsite"]))
        return rows

    def cache_stats(self) -> list[dict]:
        """Per cache fragmentation (live and cumulative), caches with allocations."""
        return [s.fragmentation() for s in self.caches if s.hits]

    def state_fingerprint(self) -> tuple:
        """Everything that defines the allocator's state, for before/after comparisons."""
        caches = []
        for s in self.caches:
            caches.append((
                s.name, s.refcount, s.nr_slabs, s.total_objects, s.nr_live, s.live_requested,
                tuple((c.slab.base if c.slab else None, tuple(c.freelist),
                       tuple(sl.base for sl in c.partial)) for c in s.cpus),
                tuple(sl.base for sl in s.node_partial), tuple(sl.base for sl in s.full),
                tuple((sl.base, sl.where, sl.inuse, tuple(sl.freelist))
                      for sl in self.slabs_of(s)),
                tuple(s.alias_names), _sheaves.fingerprint(s)))
        return (tuple(caches), tuple(sorted(self.live)), tuple(sorted(self.large)),
                tuple(sorted(self._sysfs)))

    def check_consistency(self) -> None:
        """Assert the invariants (used by tests): counts match the slabs, live objects
        are inside slabs of their cache and disjoint, freelists are exact."""
        seen_pfns: dict[int, Slab] = {}
        for s in self.caches:
            slabs = self.slabs_of(s)
            assert len(slabs) == s.nr_slabs, (s.name, len(slabs), s.nr_slabs)
            assert sum(sl.objects for sl in slabs) == s.total_objects, s.name
            assert len(set(map(id, slabs))) == len(slabs), f"{s.name}: slab on two lists"
            inuse = 0
            for sl in slabs:
                free = list(sl.freelist)
                if sl.where == WHERE_CPU:
                    assert s.cpus[sl.cpu].slab is sl
                    free += s.cpus[sl.cpu].freelist
                assert len(free) == len(set(free)), f"{s.name}: duplicate on freelist"
                assert sl.objects - len(free) == sl.inuse, (s.name, sl, len(free))
                inuse += sl.inuse
                for pfn in range(sl.pfn, sl.pfn + (1 << sl.order)):
                    assert pfn not in seen_pfns
                    seen_pfns[pfn] = sl
                    assert self._slab_by_pfn[pfn] is sl
            assert inuse == s.nr_live + _sheaves.objects_in_sheaves(s), (s.name, inuse, s.nr_live)
        assert len(seen_pfns) == len(self._slab_by_pfn)
        for addr, rec in self.live.items():
            sl = rec.slab
            assert sl.cache is rec.cache and self._slab_by_pfn[sl.pfn] is sl
            assert addr == sl.base + rec.idx * rec.cache.size
            assert rec.idx < sl.objects
        assert sum(s.nr_live for s in self.caches) == len(self.live)
