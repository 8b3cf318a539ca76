"""Zones, buddy free areas and watermarks (mm/page_alloc.c).

The model follows the kernel function by function; each function's docstring
names the one it models and the profile field that selects a version's variant.
Facts: shared/reference/linux-mm-facts.md sections 2 and 3.

What is *not* modelled (yet), on purpose:

* 6.12's periodic pcp ``high`` decay (decay_pcp_high from the vmstat worker) and
  ZONE_RECLAIM_ACTIVE; per-CPU lists themselves *are* modelled (``pcp=True``).
* 3.15's fair zone allocation policy (ALLOC_FAIR round-robin between zones);
* the high-atomic reserve (MIGRATE_HIGHATOMIC pageblocks) and watermark boosting;
* NUMA: one node, node 0.

Lean paths (issue 21): ``alloc_pages`` keeps what a gfp value alone decides
(:meth:`PageAllocator.gfp_plan`: migratetype, zonelist, alloc flags) and writes the
common order-0 case in line: the preferred zone passes the low watermark and the
CPU's per-CPU list has a page. ``free_learner_pages`` does the same for the order-0
free that only parks the page on a list, and writes mm_page_free once its why is
known. Everything else takes the step-by-step path, the functions below and pcp.py's.
``fast_paths = False`` makes every call take it; tests/addr/test_fast_paths.py runs
long random sequences both ways on every profile and finds the same pfns, state,
events, whys, dmesg, counters and /proc files.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from itertools import repeat
from sys import _getframe

from .gfp import GFP, coerce
from .kdebug import call_site, known_call_site
from .pcp import (
    PCP_BATCH_SCALE_MAX,
    PCP_FREE_WHY,
    PCP_TAKE_WHY,
    PerCpuPageLists,
)
from .profiles import Profile
from .trace import EVENT_STEP_NS, PAGE_ALLOC_KEYS, PAGE_FREE_KEYS, counting_why, packed_head

# The blocks k.free_pages may give back: those alloc_pages/__get_free_pages handed out.
# Every other owner has its own free path (kfree, vfree, cma_release ...).
LEARNER_OWNERS = ("pages",)
# free_learner_pages's order when free_pages has made the checks (a block of any owner)
_CHECKED = object()

# alloc_flags (mm/internal.h). WMARK index in the low two bits.
WMARK_MIN, WMARK_LOW, WMARK_HIGH, WMARK_PROMO = 0, 1, 2, 3
ALLOC_NO_WATERMARKS = 0x04
ALLOC_OOM = 0x08
ALLOC_HARDER = 0x10          # 3.15/6.1; 6.6+ calls this bit ALLOC_NON_BLOCK
ALLOC_NON_BLOCK = 0x10
ALLOC_HIGH = 0x20            # 3.15/6.1 (== __GFP_HIGH); 6.6+ ALLOC_MIN_RESERVE
ALLOC_MIN_RESERVE = 0x20
ALLOC_CPUSET = 0x40
ALLOC_CMA = 0x80
ALLOC_NOFRAGMENT = 0x100
ALLOC_HIGHATOMIC = 0x200
ALLOC_KSWAPD = 0x800
ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM

SWAP_CLUSTER_MAX = 32
MIGRATE_PCPTYPES = 3         # the types with per-CPU lists: Unmovable, Movable, Reclaimable

OWNER_NAMES = ("hole", "reserved", "free", "pages", "slab", "kmalloc_large", "vmalloc",
               "pgtable", "anon", "pagecache", "module", "cma", "percpu", "other", "pcp")
_MERGED_WHY = "merged {} time{} with free buddies: order {} → order-{} block at pfn {:#x}{}"
_NOT_MERGED_WHY = "buddy pfn {:#x} is not free: order-{} block stays on the {} of the list"
OWNER_CODE = {name: i for i, name in enumerate(OWNER_NAMES)}
_PAGES = "pages"     # alloc_pages's default owner: the one k.free_pages takes back


def _check_holder(owner, detail) -> None:
    """alloc_pages's ``owner`` and ``detail``, before anything changes: the memory map
    colours a page by its owner, and shows its detail."""
    if type(owner) is not str:
        raise TypeError(f"owner must be a string, not {type(owner).__name__}")
    if owner not in OWNER_CODE:
        raise ValueError(f"owner must be one of {', '.join(OWNER_NAMES)}, not {owner!r}")
    if type(detail) is not str:
        raise TypeError(f"detail must be a string, not {type(detail).__name__}")

_NO_GFP = object()   # alloc_pages's last GFP object before the first call: matches nothing
# how a learner frees a block of each owner (free_pages refuses the others)
_FREE_API = {"slab": "kfree/kmem_cache_free", "kmalloc_large": "kfree", "vmalloc": "vfree",
             "module": "unload_module", "cma": "cma_release", "anon": "the process (munmap, "
             "exit)", "pagecache": "drop_caches", "pgtable": "nothing (the kernel owns it)"}


@dataclass(eq=False, slots=True)
class Page:
    """An allocated block: what ``alloc_pages()`` returns (``struct page *`` of the head).

    ``owner`` says which part of the kernel holds it (``"pages"`` for a direct
    ``alloc_pages`` call, ``"slab"``, ``"vmalloc"``...), ``detail`` names the slab
    cache or vmalloc area, ``migratetype`` is the list it was taken for. ``pinned``:
    the holder knows it only by its address (``__get_free_pages``), so migration
    (CMA, compaction) cannot move it whatever its migratetype.
    """

    pfn: int
    order: int
    zone: str
    owner: str = "pages"
    detail: str = ""
    gfp: int = 0
    migratetype: int = 0
    caller: str = ""
    pinned: bool = False

    @property
    def nr_pages(self) -> int:
        return 1 << self.order

    def __repr__(self) -> str:
        return (f"Page(pfn={self.pfn:#x}, order={self.order}, zone={self.zone!r}, "
                f"owner={self.owner!r}{', detail=' + repr(self.detail) if self.detail else ''})")


# A Page without its generated __init__: alloc_pages's order-0 path sets the nine fields
# itself (tests/addr/test_fast_paths.py checks it sets every one)
_new_page = object.__new__


class FreeArea:
    """struct free_area: one list per migrate type, ``nr_free`` counts blocks."""

    __slots__ = ("order", "free_list", "nr_free")

    def __init__(self, order: int, nr_types: int) -> None:
        self.order = order
        # OrderedDict: O(1) head insert (move_to_end(last=False)), tail insert,
        # removal from the middle and first entry, like a struct list_head.
        self.free_list: list[OrderedDict[int, None]] = [OrderedDict() for _ in range(nr_types)]
        self.nr_free = 0


class Zone:
    """struct zone, with attributes named as /proc/zoneinfo prints them."""

    def __init__(self, name: str, idx: int, nr_orders: int, nr_types: int,
                 is_highmem: bool) -> None:
        self.name = name
        self.idx = idx
        self.is_highmem = is_highmem
        self.zone_start_pfn = 0
        self.spanned = 0
        self.present = 0
        self.managed = 0
        self.free_area = [FreeArea(o, nr_types) for o in range(nr_orders)]
        self.free_pages = 0         # NR_FREE_PAGES
        self.free_cma = 0           # NR_FREE_CMA_PAGES
        self.watermark = [0, 0, 0, 0]  # min, low, high, promo (_watermark[])
        self.watermark_boost = 0
        self.lowmem_reserve: list[int] = []
        self.nr_reserved_highatomic = 0
        self.cma_pages = 0

    # zoneinfo names -------------------------------------------------------
    @property
    def min(self) -> int:
        return self.watermark[WMARK_MIN] + self.watermark_boost

    @property
    def low(self) -> int:
        return self.watermark[WMARK_LOW] + self.watermark_boost

    @property
    def high(self) -> int:
        return self.watermark[WMARK_HIGH] + self.watermark_boost

    @property
    def promo(self) -> int:
        return self.watermark[WMARK_PROMO] + self.watermark_boost

    @property
    def zone_end_pfn(self) -> int:
        return self.zone_start_pfn + self.spanned

    @property
    def populated(self) -> bool:
        return self.present > 0

    @property
    def protection(self) -> list[int]:
        """The ``protection:`` line of /proc/zoneinfo (lowmem_reserve)."""
        return list(self.lowmem_reserve)

    def nr_free(self) -> list[int]:
        """``nr_free`` per order, as one /proc/buddyinfo line shows them."""
        return [a.nr_free for a in self.free_area]

    def __repr__(self) -> str:
        return (f"<Zone {self.name}: pfn {self.zone_start_pfn:#x}-{self.zone_end_pfn:#x}, "
                f"managed {self.managed}, free {self.free_pages}, "
                f"min/low/high {self.min}/{self.low}/{self.high}>")


# ==========================================================================
# Boot-time formulas (pure functions, so fidelity tests can feed real numbers)
# ==========================================================================

def int_sqrt(x: int) -> int:
    """lib/math/int_sqrt.c: floor of the square root."""
    if x < 0:
        raise ValueError("int_sqrt of a negative number")
    r = int(x ** 0.5)
    while r * r > x:
        r -= 1
    while (r + 1) * (r + 1) <= x:
        r += 1
    return r


def calculate_min_free_kbytes(lowmem_pages: int, profile: Profile) -> int:
    """mm/page_alloc.c: calculate_min_free_kbytes (6.x) / init_per_zone_wmark_min (3.15).

    ``lowmem_pages`` is nr_free_buffer_pages() at first boot: the managed pages of
    the zones up to ZONE_NORMAL. Clamped to [128, 65536] (3.15) or [128, 262144] (6.x).
    """
    lowmem_kbytes = lowmem_pages * (profile.page_size >> 10)
    new = int_sqrt(lowmem_kbytes * 16)
    return max(128, min(new, profile.min_free_kbytes_max))


def thp_recommended_min_free_kbytes(nr_zones: int, free_buffer_pages: int,
                                    profile: Profile) -> int:
    """mm/khugepaged.c (6.x) / mm/huge_memory.c (3.15): set_recommended_min_free_kbytes.

    Two pageblocks per zone plus MIGRATE_PCPTYPES^2 (=9) more so that fallbacks
    between migrate types find free pageblocks; capped at 5 % of lowmem.
    """
    pb = profile.pageblock_nr_pages
    rec = pb * nr_zones * 2 + pb * nr_zones * 3 * 3
    rec = min(rec, free_buffer_pages // 20)
    return rec << (profile.page_shift - 10)


def mult_frac(x: int, n: int, d: int) -> int:
    """include/linux/math.h: mult_frac, without intermediate overflow."""
    return (x // d) * n + ((x % d) * n) // d


def setup_per_zone_wmarks(zones: list[Zone], min_free_kbytes: int, profile: Profile,
                          watermark_scale_factor: int | None = None) -> None:
    """mm/page_alloc.c: __setup_per_zone_wmarks, in the profile's version."""
    pages_min = min_free_kbytes >> (profile.page_shift - 10)
    wsf = profile.watermark_scale_factor if watermark_scale_factor is None \
        else watermark_scale_factor
    clamped = set(profile.highmem_zones) | set(profile.wmark_clamped_zones)
    lowmem_pages = sum(z.managed for z in zones if z.name not in clamped)
    for z in zones:
        tmp = pages_min * z.managed // lowmem_pages if lowmem_pages else 0
        if z.name in clamped:
            wmin = max(SWAP_CLUSTER_MAX, min(z.managed // 1024, 128))
        else:
            wmin = tmp
        if not profile.has_watermark_scale_factor:
            z.watermark = [wmin, wmin + (tmp >> 2), wmin + (tmp >> 1), 0]
        else:
            step = max(tmp >> 2, mult_frac(z.managed, wsf, 10000))
            z.watermark = [wmin, wmin + step, wmin + 2 * step, wmin + 3 * step]
        z.watermark_boost = 0


def setup_per_zone_lowmem_reserve(zones: list[Zone], ratios: tuple[int, ...],
                                  profile: Profile) -> None:
    """mm/page_alloc.c: setup_per_zone_lowmem_reserve (sysctl_lowmem_reserve_ratio)."""
    n = len(zones)
    for i, lower in enumerate(zones):
        reserve = [0] * n
        ratio = ratios[i] if i < len(ratios) else 0
        if not profile.lowmem_reserve_ratio_zero_is_none and ratio < 1:
            ratio = 1
        managed = 0
        for j in range(i + 1, n):
            managed += zones[j].managed
            if not profile.lowmem_reserve_ratio_zero_is_none:
                reserve[j] = managed // ratio
            elif ratio == 0 or lower.managed == 0:
                reserve[j] = 0
            elif profile.lowmem_reserve_skips_empty_zones and zones[j].managed == 0:
                reserve[j] = 0
            else:
                reserve[j] = managed // ratio
        lower.lowmem_reserve = reserve


# ==========================================================================
# The allocator
# ==========================================================================

class AllocFailure:
    """Why an allocation failed (kept for the learner; None of it is an exception)."""

    __slots__ = ("order", "gfp", "reason")

    def __init__(self, order: int, gfp: int, reason: str) -> None:
        self.order, self.gfp, self.reason = order, gfp, reason


class PageAllocator:
    """The buddy allocator of one node (mm/page_alloc.c).

    Built by :class:`kmemlab.kernel.Kernel` at boot; learners use the kernel's
    ``alloc_pages``/``free_pages``. Subsystems (SLUB, vmalloc, page tables, user
    processes) call :meth:`alloc_pages` with an ``owner`` label so the physical
    memory map can show who holds each frame.
    """

    def __init__(self, kernel, profile: Profile, max_pfn: int) -> None:
        self.kernel = kernel
        self.profile = profile
        self.max_pfn = max_pfn
        self.nr_orders = profile.nr_page_orders
        self.max_order = profile.max_page_order
        self.pageblock_order = profile.pageblock_order
        nr_types = len(profile.migratetype_names)
        # Without CONFIG_CMA there is no MIGRATE_CMA (include/linux/mmzone.h); the model
        # keeps one hidden, always-empty list for it so no path needs a special case.
        has_cma = "CMA" in profile.migratetype_names
        nr_types += 0 if has_cma else 1
        self.zones: list[Zone] = [
            Zone(name, i, self.nr_orders, nr_types, name in profile.highmem_zones)
            for i, name in enumerate(profile.zone_names)]
        self.zone_by_name = {z.name: z for z in self.zones}
        self.MOVABLE = profile.migratetype("Movable")
        self.UNMOVABLE = profile.migratetype("Unmovable")
        self.RECLAIMABLE = profile.migratetype("Reclaimable")
        self.CMA = profile.migratetype("CMA") if has_cma else nr_types - 1
        self.RESERVE = (profile.migratetype("Reserve")
                        if "Reserve" in profile.migratetype_names else -1)
        self.HIGHATOMIC = (profile.migratetype("HighAtomic")
                           if "HighAtomic" in profile.migratetype_names else -1)
        self.PCPTYPES = MIGRATE_PCPTYPES
        # free blocks: head pfn -> (order, migratetype of the list it is on)
        self.free_blocks: dict[int, tuple[int, int]] = {}
        # allocated blocks: head pfn -> Page
        self.allocated: dict[int, Page] = {}
        # pageblock migratetypes (set_pageblock_migratetype), all MOVABLE at boot
        nr_blocks = (max_pfn >> self.pageblock_order) + 1
        self.pageblock_mt = bytearray([self.MOVABLE]) * nr_blocks
        self._zone_bounds: list[tuple[int, int, Zone]] = []
        self.zonelists: dict[int, tuple[Zone, ...]] = {}
        self.vmstat: dict[str, int] = {}
        self.warned_once: set[str] = set()
        self.last_failure: AllocFailure | None = None
        self._fallbacks = self._fallback_table()
        mt_names = profile.migratetype_names
        self._mt_name = mt_names
        self.pcp_enabled = kernel.pcp_enabled
        self.pcp_lists = PerCpuPageLists(self)   # pcp.py
        # the vmstat item alloc_pages counts in, per zone index (pgalloc_normal...)
        self.pgalloc_item = ["pgalloc_" + z.name.lower() for z in self.zones]
        # gfp value -> what alloc_pages decides from it alone (gfp_plan); False: none
        self.gfp_plans: dict[int, tuple | bool] = {}
        #: False: every call takes the step-by-step path and nothing is cached: the
        #: reference that tests/addr/test_fast_paths.py proves the fast paths equal to
        self.fast_paths = True
        self._last_gfp = (_NO_GFP, 0, False)   # alloc_pages's last GFP object, value, plan

    # ------------------------------------------------------------------ setup
    def _fallback_table(self) -> dict[int, tuple[int, ...]]:
        """mm/page_alloc.c: fallbacks[].

        3.15 with CONFIG_CMA puts MIGRATE_CMA first for movable requests (and tries
        MIGRATE_RESERVE after the table, in __rmqueue); 6.x handles CMA in __rmqueue.
        """
        u, m, r = self.UNMOVABLE, self.MOVABLE, self.RECLAIMABLE
        if self.profile.fallback_rules == "try_to_steal_freepages":
            return {u: (r, m), r: (u, m), m: (self.CMA, r, u)}
        return {u: (r, m), r: (u, m), m: (r, u)}

    def finish_zone_setup(self) -> None:
        """After the zones' spans are known: lookup tables for pfn -> zone and zonelists."""
        self._zone_bounds = sorted(
            ((z.zone_start_pfn, z.zone_end_pfn, z) for z in self.zones if z.spanned),
            key=lambda t: t[0])
        self.gfp_plans.clear()   # they hold zonelists
        self._last_gfp = (_NO_GFP, 0, False)
        for z in self.zones:
            # node_zonelists: from this zone downward, populated zones only
            self.zonelists[z.idx] = tuple(
                zz for zz in reversed(self.zones[: z.idx + 1]) if zz.present)

    def zone_of_pfn(self, pfn: int) -> Zone | None:
        for start, end, z in self._zone_bounds:
            if start <= pfn < end:
                return z
        return None

    @property
    def populated_zones(self) -> list[Zone]:
        return [z for z in self.zones if z.present]

    # ------------------------------------------------------------------ counters
    def count(self, name: str, n: int = 1) -> None:
        self.vmstat[name] = self.vmstat.get(name, 0) + n

    # ------------------------------------------------------------------ free lists
    def add_to_free_list(self, zone: Zone, pfn: int, order: int, mt: int, tail: bool) -> None:
        """__add_to_free_list / add_to_free_list(_tail) + set_buddy_order."""
        fl = zone.free_area[order].free_list[mt]
        fl[pfn] = None
        if not tail:
            fl.move_to_end(pfn, last=False)
        zone.free_area[order].nr_free += 1
        self.free_blocks[pfn] = (order, mt)
        n = 1 << order
        zone.free_pages += n
        if mt == self.CMA:
            zone.free_cma += n

    def del_page_from_free_list(self, zone: Zone, pfn: int, order: int, mt: int) -> None:
        """del_page_from_free_list + rmv_page_order / __ClearPageBuddy."""
        del zone.free_area[order].free_list[mt][pfn]
        zone.free_area[order].nr_free -= 1
        del self.free_blocks[pfn]
        n = 1 << order
        zone.free_pages -= n
        if mt == self.CMA:
            zone.free_cma -= n

    def get_pageblock_migratetype(self, pfn: int) -> int:
        return self.pageblock_mt[pfn >> self.pageblock_order]

    def set_pageblock_migratetype(self, pfn: int, mt: int) -> None:
        self.pageblock_mt[pfn >> self.pageblock_order] = mt

    def change_pageblock_range(self, pfn: int, order: int, mt: int) -> None:
        """mm/page_alloc.c: change_pageblock_range."""
        nr = max(1, 1 << (order - self.pageblock_order)) if order >= self.pageblock_order else 1
        for i in range(nr):
            self.set_pageblock_migratetype(pfn + (i << self.pageblock_order), mt)

    def expand(self, zone: Zone, pfn: int, low: int, high: int, mt: int) -> list[tuple[int, int]]:
        """mm/page_alloc.c: expand(): give back the upper halves, keep the lowest part.

        Each upper half ``pfn + 2^high`` goes to the *head* of free_area[high] of
        ``mt``. Returns the (pfn, order) halves freed, for the "why" text.
        """
        halves = []
        areas = zone.free_area
        fb = self.free_blocks
        added = 0
        while high > low:
            high -= 1
            half = pfn + (1 << high)
            area = areas[high]
            fl = area.free_list[mt]
            fl[half] = None
            fl.move_to_end(half, last=False)  # list_add: head
            area.nr_free += 1
            fb[half] = (high, mt)
            added += 1 << high
            halves.append((half, high))
        zone.free_pages += added
        if mt == self.CMA:
            zone.free_cma += added
        return halves

    def rmqueue_smallest(self, zone: Zone, order: int, mt: int) -> tuple[int, int] | None:
        """mm/page_alloc.c: __rmqueue_smallest: first block of the smallest order ≥ order.

        Returns (pfn, order the block was taken from) or None.
        """
        areas = zone.free_area
        for current in range(order, self.nr_orders):
            area = areas[current]
            fl = area.free_list[mt]
            if not fl:
                continue
            pfn = fl.popitem(last=False)[0]  # list head
            area.nr_free -= 1
            del self.free_blocks[pfn]
            n = 1 << current
            zone.free_pages -= n
            if mt == self.CMA:
                zone.free_cma -= n
            if current > order:
                self.expand(zone, pfn, order, current, mt)
            return pfn, current
        return None

    def move_freepages_block(self, zone: Zone, pfn: int, new_mt: int) -> tuple[int, int]:
        """move_freepages_block: move every free block of pfn's pageblock to new_mt.

        Returns (free pages moved, movable pages in use) — the latter counts pages of
        allocated blocks whose allocation was movable (PageLRU/__PageMovable in the
        kernel), used by 6.x's steal decision.
        """
        start = pfn & ~((1 << self.pageblock_order) - 1)
        end = start + (1 << self.pageblock_order)
        start = max(start, zone.zone_start_pfn)
        end = min(end, zone.zone_end_pfn)
        moved = movable = 0
        p = start
        fb = self.free_blocks
        alloc = self.allocated
        while p < end:
            entry = fb.get(p)
            if entry is not None:
                order, mt = entry
                if mt != new_mt:
                    del zone.free_area[order].free_list[mt][p]
                    zone.free_area[order].free_list[new_mt][p] = None
                    fb[p] = (order, new_mt)
                    if mt == self.CMA:
                        zone.free_cma -= 1 << order
                    if new_mt == self.CMA:
                        zone.free_cma += 1 << order
                moved += 1 << order
                p += 1 << order
                continue
            page = alloc.get(p)
            if page is not None:
                if page.migratetype == self.MOVABLE:
                    movable += 1 << page.order
                p += 1 << page.order
                continue
            p += 1
        return moved, movable

    # ---------------------------------------------------------- fallback (stealing)
    def _can_steal_fallback(self, order: int, start_mt: int) -> bool:
        """can_steal_fallback (6.x); 3.15's inline test in try_to_steal_freepages."""
        if order >= self.pageblock_order:
            return True
        if order >= self.pageblock_order // 2 or start_mt == self.RECLAIMABLE:
            return True
        if self.profile.fallback_rules != "try_to_steal_freepages" and \
                start_mt == self.UNMOVABLE:
            return True
        return False

    def _find_suitable_fallback(self, area: FreeArea, order: int, start_mt: int
                                ) -> tuple[int, bool]:
        """find_suitable_fallback(area, order, mt, only_stealable=false, &can_steal)."""
        if area.nr_free == 0:
            return -1, False
        for fmt in self._fallbacks[start_mt]:
            if not area.free_list[fmt]:
                continue
            return fmt, self._can_steal_fallback(order, start_mt)
        return -1, False

    def rmqueue_fallback(self, zone: Zone, order: int, start_mt: int, alloc_flags: int
                         ) -> tuple[int, int, str] | None:
        """__rmqueue_fallback: take a block from another migrate type, largest first.

        Returns (pfn, taken-from order, explanation) or None.
        """
        rules = self.profile.fallback_rules
        areas = zone.free_area
        if rules == "try_to_steal_freepages":
            for current in range(self.max_order, order - 1, -1):
                area = areas[current]
                for fmt in self._fallbacks[start_mt]:
                    fl = area.free_list[fmt]
                    if not fl:
                        continue
                    pfn = next(iter(fl))
                    self.del_page_from_free_list(zone, pfn, current, fmt)
                    new_type = self._try_to_steal_freepages_315(zone, pfn, current, start_mt, fmt)
                    self.expand(zone, pfn, order, current, new_type)
                    self._trace_extfrag(pfn, order, current, start_mt, fmt, new_type == start_mt)
                    why = (f"no free {self._mt_name[start_mt]} block; fell back to an order-"
                           f"{current} {self._mt_name[fmt]} block"
                           + (", claimed its pageblock" if new_type == start_mt else ""))
                    return pfn, current, why
            return None

        min_order = order
        if alloc_flags & ALLOC_NOFRAGMENT and order < self.pageblock_order:
            min_order = self.pageblock_order
        found = None
        for current in range(self.max_order, min_order - 1, -1):
            fmt, can_steal = self._find_suitable_fallback(areas[current], current, start_mt)
            if fmt == -1:
                continue
            if not can_steal and start_mt == self.MOVABLE and current > order:
                # find_smallest: don't break up a big block for a movable request
                for small in range(order, self.nr_orders):
                    fmt, can_steal = self._find_suitable_fallback(areas[small], small, start_mt)
                    if fmt != -1:
                        found = (small, fmt, can_steal)
                        break
                break
            found = (current, fmt, can_steal)
            break
        if found is None:
            return None
        current, fmt, can_steal = found
        pfn = next(iter(areas[current].free_list[fmt]))
        if rules == "steal_suitable_fallback":
            return self._steal_suitable_fallback_61(zone, pfn, current, order, start_mt, fmt,
                                                    can_steal)
        return self._steal_suitable_pageblock_612(zone, pfn, current, order, start_mt, fmt,
                                                  can_steal)

    def _try_to_steal_freepages_315(self, zone: Zone, pfn: int, current: int, start_mt: int,
                                    fallback_mt: int) -> int:
        """3.15 mm/page_alloc.c: try_to_steal_freepages → the type for the remainder."""
        if fallback_mt == self.CMA:
            return fallback_mt
        if current >= self.pageblock_order:
            self.change_pageblock_range(pfn, current, start_mt)
            return start_mt
        if current >= self.pageblock_order // 2 or start_mt == self.RECLAIMABLE:
            moved, _ = self.move_freepages_block(zone, pfn, start_mt)
            moved += 1 << current  # the kernel still has this block on the list here
            if moved >= 1 << (self.pageblock_order - 1):
                self.set_pageblock_migratetype(pfn, start_mt)
                return start_mt
        return fallback_mt

    def _steal_suitable_fallback_61(self, zone: Zone, pfn: int, current: int, order: int,
                                    start_mt: int, fmt: int, whole_block: bool):
        """6.1 steal_suitable_fallback, then __rmqueue retries __rmqueue_smallest."""
        claimed = False
        if current >= self.pageblock_order:
            self.change_pageblock_range(pfn, current, start_mt)
            claimed = True
        elif whole_block:
            free, movable = self.move_freepages_block(zone, pfn, start_mt)
            if free:
                old = self.get_pageblock_migratetype(pfn)
                if start_mt == self.MOVABLE:
                    alike = movable
                elif old == self.MOVABLE:
                    alike = self.profile.pageblock_nr_pages - (free + movable)
                else:
                    alike = 0
                if free + alike >= 1 << (self.pageblock_order - 1):
                    self.set_pageblock_migratetype(pfn, start_mt)
                    claimed = True
        # single_page / after moving: make sure the block is on start_mt's list
        entry = self.free_blocks.get(pfn)
        if entry is not None and entry[1] != start_mt:
            self.del_page_from_free_list(zone, pfn, entry[0], entry[1])
            self.add_to_free_list(zone, pfn, entry[0], start_mt, tail=False)
        self._trace_extfrag(pfn, order, current, start_mt, fmt, claimed)
        got = self.rmqueue_smallest(zone, order, start_mt)
        if got is None:  # cannot happen: we just put a block there
            return None
        why = (f"no free {self._mt_name[start_mt]} block of order ≥ {order}; stole an order-"
               f"{current} {self._mt_name[fmt]} block"
               + (" and claimed its pageblock" if claimed else ""))
        return got[0], got[1], why

    def _steal_suitable_pageblock_612(self, zone: Zone, pfn: int, current: int, order: int,
                                      start_mt: int, fmt: int, whole_block: bool):
        """6.12 steal_suitable_pageblock (try_to_claim_block in later kernels)."""
        if current >= self.pageblock_order:
            self.del_page_from_free_list(zone, pfn, current, fmt)
            self.change_pageblock_range(pfn, current, start_mt)
            self.expand(zone, pfn, order, current, start_mt)
            self._trace_extfrag(pfn, order, current, start_mt, fmt, True)
            return pfn, current, (f"no free {self._mt_name[start_mt]} block; claimed a whole "
                                  f"order-{current} {self._mt_name[fmt]} block")
        if whole_block:
            # prep_move_freepages_block: count free and movable pages first
            start = pfn & ~((1 << self.pageblock_order) - 1)
            if start >= zone.zone_start_pfn and start + self.profile.pageblock_nr_pages \
                    <= zone.zone_end_pfn:
                free, movable = self._count_block(start)
                if start_mt == self.MOVABLE:
                    alike = movable
                elif fmt == self.MOVABLE:
                    alike = self.profile.pageblock_nr_pages - (free + movable)
                else:
                    alike = 0
                if free + alike >= 1 << (self.pageblock_order - 1):
                    self.move_freepages_block(zone, pfn, start_mt)
                    self.set_pageblock_migratetype(pfn, start_mt)
                    self._trace_extfrag(pfn, order, current, start_mt, fmt, True)
                    got = self.rmqueue_smallest(zone, order, start_mt)
                    assert got is not None
                    return got[0], got[1], (
                        f"no free {self._mt_name[start_mt]} block; claimed the "
                        f"{self._mt_name[fmt]} pageblock at pfn {start:#x} ({free} pages free)")
        # single_page: split it, the rest stays on the fallback type's lists
        self.del_page_from_free_list(zone, pfn, current, fmt)
        self.expand(zone, pfn, order, current, fmt)
        self._trace_extfrag(pfn, order, current, start_mt, fmt, False)
        return pfn, current, (f"no free {self._mt_name[start_mt]} block; took an order-{current}"
                              f" {self._mt_name[fmt]} block without claiming its pageblock")

    def _count_block(self, start: int) -> tuple[int, int]:
        free = movable = 0
        end = start + self.profile.pageblock_nr_pages
        p = start
        while p < end:
            e = self.free_blocks.get(p)
            if e is not None:
                free += 1 << e[0]
                p += 1 << e[0]
                continue
            page = self.allocated.get(p)
            if page is not None:
                if page.migratetype == self.MOVABLE:
                    movable += 1 << page.order
                p += 1 << page.order
                continue
            p += 1
        return free, movable

    def _trace_extfrag(self, pfn: int, alloc_order: int, fallback_order: int, alloc_mt: int,
                       fallback_mt: int, change_ownership: bool) -> None:
        self.count("pgalloc_extfrag" if fallback_order < self.pageblock_order else
                   "pgalloc_fallback_whole")
        self.kernel.trace.emit(
            "mm_page_alloc_extfrag",
            f"fallback: {self._mt_name[alloc_mt]} request took a {self._mt_name[fallback_mt]}"
            f" block of order {fallback_order}",
            pfn=pfn, alloc_order=alloc_order, fallback_order=fallback_order,
            alloc_migratetype=alloc_mt, fallback_migratetype=fallback_mt,
            change_ownership=int(change_ownership),
            fragmenting=int(fallback_order < self.pageblock_order))

    def rmqueue_buddy(self, zone: Zone, order: int, mt: int, alloc_flags: int):
        """rmqueue_buddy: __rmqueue under the zone lock (+ its trace event)."""
        got = self.rmqueue(zone, order, mt, alloc_flags)
        if got is not None:
            pcp_refill = int(self.pcp_lists.pcp_allowed_order(order) and mt < 3) \
                if self.profile.pcp_high_order_lists else int(order == 0)
            self.kernel.trace.zone_locked(got[0], order, mt, pcp_refill)
        return got

    def rmqueue(self, zone: Zone, order: int, mt: int, alloc_flags: int):
        """__rmqueue (+ 3.15's MIGRATE_RESERVE retry and 6.x's CMA rules).

        Returns (pfn, taken-from order, why) or None.
        """
        if self.profile.cma_mm_cma_c and alloc_flags & ALLOC_CMA and \
                zone.free_cma > zone.free_pages // 2:
            got = self.rmqueue_smallest(zone, order, self.CMA)
            if got:
                return got[0], got[1], "CMA pages are more than half the free pages: use CMA"
        got = self.rmqueue_smallest(zone, order, mt)
        if got is not None:
            return got[0], got[1], None
        if alloc_flags & ALLOC_CMA and self.profile.cma_mm_cma_c:
            got = self.rmqueue_smallest(zone, order, self.CMA)
            if got is not None:
                return got[0], got[1], "no Movable block: movable allocations may use CMA"
        fb = self.rmqueue_fallback(zone, order, mt, alloc_flags)
        if fb is not None:
            return fb
        if self.RESERVE >= 0:
            got = self.rmqueue_smallest(zone, order, self.RESERVE)
            if got is not None:
                return got[0], got[1], "every other list was empty: used MIGRATE_RESERVE"
        return None

    # ---------------------------------------------------------- per-CPU lists (pcp.py)
    @property
    def pcp(self) -> list:
        """``pcp[zone.idx][cpu]``: the :class:`~kmemlab.pcp.PerCpuPages` of each zone."""
        return self.pcp_lists.pcp

    @property
    def pcp_pages(self) -> dict[int, tuple[int, int, int, int]]:
        """Every block on a per-CPU list: pfn → (cpu, zone index, order, list index)."""
        return self.pcp_lists.pcp_pages

    def pcp_counts(self) -> dict[str, list[int]]:
        """{zone: [pages on each CPU's lists]} for populated zones."""
        return self.pcp_lists.pcp_counts()

    def drain_all_pages(self) -> int:
        """drain_all_pages(NULL): every CPU's lists back to the buddy lists; pages freed."""
        return self.pcp_lists.drain_all_pages()

    # ---------------------------------------------------------- watermarks
    def nr_free_buffer_pages(self) -> int:
        """mm/page_alloc.c: nr_free_buffer_pages: Σ max(0, managed − high) up to Normal."""
        p = self.profile
        idx = self.zone_by_name[p.gfp_zone(p.gfp.values["GFP_USER"])].idx
        return sum(max(0, z.managed - z.high) for z in self.zones if z.idx <= idx)

    def setup_zone_migrate_reserve(self, zone: Zone, memblock) -> None:
        """3.15 mm/page_alloc.c: setup_zone_migrate_reserve (≤ 2 MIGRATE_RESERVE blocks),
        after each watermark change. ``memblock`` tells which pageblocks hold reserved
        (PageReserved) pages."""
        if not zone.present:
            return
        nr = self.profile.pageblock_nr_pages
        shift = self.profile.page_shift
        start = -(-zone.zone_start_pfn // nr) * nr
        reserve = min(2, (-(-zone.min // nr) * nr) >> self.profile.pageblock_order)
        for pfn in range(start, zone.zone_end_pfn, nr):
            mt = self.get_pageblock_migratetype(pfn)
            if reserve > 0:
                # pageblock_is_reserved: a block with PageReserved (memblock) pages
                if memblock.is_reserved(pfn << shift, nr << shift):
                    continue
                if mt == self.RESERVE:
                    reserve -= 1
                    continue
                if mt == self.MOVABLE:
                    self.set_pageblock_migratetype(pfn, self.RESERVE)
                    self.move_freepages_block(zone, pfn, self.RESERVE)
                    reserve -= 1
                    continue
            if mt == self.RESERVE:
                self.set_pageblock_migratetype(pfn, self.MOVABLE)
                self.move_freepages_block(zone, pfn, self.MOVABLE)

    def gfp_to_alloc_flags(self, value: int, order: int) -> int:
        """mm/page_alloc.c: gfp_to_alloc_flags, per version (slow path flags)."""
        p = self.profile
        g = p.gfp.values
        flags = WMARK_MIN | ALLOC_CPUSET
        if p.watermark_rules == "classzone":
            if value & g["__GFP_HIGH"]:
                flags |= ALLOC_HIGH
            if not value & g["__GFP_WAIT"]:
                if not value & g["__GFP_NOMEMALLOC"]:
                    flags |= ALLOC_HARDER
                flags &= ~ALLOC_CPUSET
            if not value & g["__GFP_NOMEMALLOC"] and value & g["__GFP_MEMALLOC"]:
                flags |= ALLOC_NO_WATERMARKS
            if p.gfp_migratetype(value) == self.MOVABLE:
                flags |= ALLOC_CMA
            return flags
        flags |= value & (g["__GFP_HIGH"] | g["__GFP_KSWAPD_RECLAIM"])
        if p.watermark_rules == "alloc_harder":
            if value & g["__GFP_ATOMIC"]:
                if not value & g["__GFP_NOMEMALLOC"]:
                    flags |= ALLOC_HARDER
                flags &= ~ALLOC_CPUSET
        else:
            if not value & g["__GFP_DIRECT_RECLAIM"]:
                if not value & g["__GFP_NOMEMALLOC"]:
                    flags |= ALLOC_NON_BLOCK
                    if order > 0:
                        flags |= ALLOC_HIGHATOMIC
                if flags & ALLOC_MIN_RESERVE:
                    flags &= ~ALLOC_CPUSET
        if not value & g["__GFP_NOMEMALLOC"] and value & g["__GFP_MEMALLOC"]:
            flags |= ALLOC_NO_WATERMARKS
        if p.gfp_migratetype(value) == self.MOVABLE:
            flags |= ALLOC_CMA  # gfp_to_alloc_flags_cma
        return flags

    def zone_watermark_ok(self, zone: Zone, order: int, mark: int, highest_zoneidx: int,
                          alloc_flags: int) -> bool:
        """mm/page_alloc.c: __zone_watermark_ok, in the profile's version.

        ``highest_zoneidx`` is 3.15's classzone_idx (first populated zone of the
        zonelist) or 6.x's ac->highest_zoneidx (gfp_zone, even if empty).
        """
        rules = self.profile.watermark_rules
        free = zone.free_pages
        wmin = mark
        reserve = zone.lowmem_reserve[highest_zoneidx]
        if rules == "classzone":
            free -= (1 << order) - 1
            if alloc_flags & ALLOC_HIGH:
                wmin -= wmin // 2
            if alloc_flags & ALLOC_HARDER:
                wmin -= wmin // 4
            free_cma = 0 if alloc_flags & ALLOC_CMA else zone.free_cma
            if free - free_cma <= wmin + reserve:
                return False
            areas = zone.free_area
            for o in range(order):
                free -= areas[o].nr_free << o
                wmin >>= 1
                if free <= wmin:
                    return False
            return True
        # 6.x: __zone_watermark_unusable_free
        unusable = (1 << order) - 1
        if rules == "alloc_harder":
            harder = alloc_flags & (ALLOC_HARDER | ALLOC_OOM)
            if not harder:
                unusable += zone.nr_reserved_highatomic
        else:
            harder = alloc_flags & (ALLOC_HIGHATOMIC | ALLOC_OOM)
            if not alloc_flags & ALLOC_RESERVES:
                unusable += zone.nr_reserved_highatomic
        if not alloc_flags & ALLOC_CMA:
            unusable += zone.free_cma
        free -= unusable
        if rules == "alloc_harder":
            if alloc_flags & ALLOC_HIGH:
                wmin -= wmin // 2
            if harder:
                wmin -= wmin // 2 if alloc_flags & ALLOC_OOM else wmin // 4
        elif alloc_flags & ALLOC_RESERVES:
            if alloc_flags & ALLOC_MIN_RESERVE:
                wmin -= wmin // 2
                if alloc_flags & ALLOC_NON_BLOCK:
                    wmin -= wmin // 4
            if alloc_flags & ALLOC_OOM:
                wmin -= wmin // 2
        if free <= wmin + reserve:
            return False
        if not order:
            return True
        for o in range(order, self.nr_orders):
            area = zone.free_area[o]
            if not area.nr_free:
                continue
            fl = area.free_list
            if fl[0] or fl[1] or fl[2]:
                return True
            if alloc_flags & ALLOC_CMA and fl[self.CMA]:
                return True
            if harder and self.HIGHATOMIC >= 0 and fl[self.HIGHATOMIC]:
                return True
        return False

    def effective_min(self, zone: Zone, alloc_flags: int) -> int:
        """The min watermark after the reserve reductions (for explanations and plots)."""
        wmin = zone.min
        rules = self.profile.watermark_rules
        if rules in ("classzone", "alloc_harder"):
            if alloc_flags & ALLOC_HIGH:
                wmin -= wmin // 2
            if alloc_flags & (ALLOC_HARDER | ALLOC_OOM):
                wmin -= wmin // 2 if alloc_flags & ALLOC_OOM and rules == "alloc_harder" \
                    else wmin // 4
        elif alloc_flags & ALLOC_RESERVES:
            if alloc_flags & ALLOC_MIN_RESERVE:
                wmin -= wmin // 2
                if alloc_flags & ALLOC_NON_BLOCK:
                    wmin -= wmin // 4
            if alloc_flags & ALLOC_OOM:
                wmin -= wmin // 2
        return wmin

    # ---------------------------------------------------------- allocation
    def alloc_pages(self, gfp, order: int = 0, *, caller: str | None = None,
                    owner: str = "pages", detail: str = "") -> Page | None:
        """mm/page_alloc.c: __alloc_pages (6.x; __alloc_pages_nodemask in 3.15).

        Fast path at the low watermark over the zonelist; then the slow path: wake
        kswapd, retry at the min watermark with the reserve flags of
        ``gfp_to_alloc_flags``; a request that may block then gets direct reclaim /
        compaction (hooks filled in by the reclaim model) and a last retry.
        Returns the head :class:`Page` or None (NULL) with a warning in dmesg unless
        ``__GFP_NOWARN``.

        ``k.alloc_pages`` is this method on a booted kernel (Kernel._boot_subsystems),
        so it checks its arguments as the public API does, in its order (the call
        site, the flags: a GFP, an int mask or a string, the order); without a
        ``caller``, the call site is the calling frame's. ``owner`` and ``detail`` say
        who holds the pages (kmemlab's own callers: "slab", "pgtable", ...); a
        learner's pages are "pages", the only ones ``free_pages`` takes back.
        """
        if caller is None:   # the caller's frame (already materialised: one lookup)
            f = _getframe(1)
            label = known_call_site(id(f.f_code)) or call_site(f)
        elif type(caller) is str:
            label = caller
        else:
            label = self.kernel.caller_label(caller)      # its TypeError
        if type(gfp) is not GFP and type(gfp) is not int:
            gfp = coerce(gfp)
        if type(order) is not int:
            if isinstance(order, bool) or not isinstance(order, int):
                raise TypeError(f"order must be an int (0..{self.max_order}), "
                                f"not {type(order).__name__}")
            order = int(order)
        if order < 0:
            raise ValueError(f"order must be ≥ 0 (a block of 2^order pages), not {order}")
        if owner is not _PAGES or detail:   # kmemlab's callers (or a learner) naming one
            _check_holder(owner, detail)
        k = self.kernel
        last = self._last_gfp
        if gfp is last[0] and self.fast_paths:   # the GFP object of the previous call
            _, value, plan = last
            new_plan = False
        else:
            value = gfp if type(gfp) is int and gfp >= 0 else self.profile.gfp.value(gfp)
            plan = self.gfp_plans.get(value) if self.fast_paths else False
            new_plan = plan is None or plan and type(gfp) is not int
            if plan is None:
                plan = self.gfp_plan(value)
        if order > self.max_order:
            key = "order"
            if not value & self.profile.gfp.values["__GFP_NOWARN"] and \
                    key not in self.warned_once:
                self.warned_once.add(key)
                k.warn_on_once_order(order, value)
            self.last_failure = AllocFailure(order, value, f"order {order} > {self.max_order}")
            return None
        if plan:
            # what the value alone decides, computed once (gfp_plan); what depends on
            # the moment (might_sleep, the watermarks, the lists) is checked every time
            mt, zonelist, highest_idx, flags, order0 = plan
            rules = k.rules
            if k.panicked is None and (k.context_stack.may_sleep or
                                       not value & rules.may_block_bit):
                # might_alloc with nothing to report, in line (as SLUB's kmalloc has
                # it): reset the per-allocation reclaim bookkeeping, its last step
                st = rules.reclaim
                if not st.busy:
                    st.attempt = 0
                    st.reclaimed_this_alloc = 0
            else:   # a report may be due: the frame-counting path (this frame its caller)
                k.might_sleep_if_alloc(value, order)
            if new_plan:   # kept once the checks passed: a refused call changes nothing
                self._remember_plan(gfp, value, plan)
            if order0 is not None and not order:
                # The common case of get_page_from_freelist + rmqueue_pcplist, in line:
                # the preferred zone passes the low watermark (__zone_watermark_ok at
                # order 0 for flags that lower no mark: free - unusable > mark +
                # lowmem_reserve) and the CPU's list of the type has a page. Otherwise
                # nothing has changed but ZONE_BELOW_HIGH, which the step-by-step path
                # below would set the same way, and it takes over.
                zone, zidx, name, cma_unusable, highatomic_unusable, track_high, halve, \
                    item, plan_heads = order0
                free = zone.free_pages - zone.lowmem_reserve[highest_idx] - \
                    zone.watermark_boost
                if cma_unusable:
                    free -= zone.free_cma
                if highatomic_unusable:
                    free -= zone.nr_reserved_highatomic
                wm = zone.watermark
                lists = self.pcp_lists
                if track_high and free <= wm[2]:        # WMARK_HIGH
                    lists.below_high.add(zidx)
                if free > wm[1]:                         # WMARK_LOW
                    cpu = k.current_cpu
                    pcp = lists.pcp[zidx][cpu]
                    lst = pcp.lists[mt]                  # order_to_pindex(mt, 0)
                    if lst:                              # (empty: rmqueue_bulk refills)
                        if halve:                        # rmqueue_pcplist, 6.x
                            if halve == 1:
                                pcp.free_count >>= 1
                            else:
                                pcp.free_factor >>= 1
                        pfn = lst.popleft()
                        count = pcp.count = pcp.count - 1
                        # = Page(pfn, 0, name, owner, detail, value, mt, label) without
                        # the call of the generated __init__; the equivalence tests read
                        # every field of every page
                        page = _new_page(Page)
                        page.pfn = pfn
                        page.order = 0
                        page.zone = name
                        page.owner = owner
                        page.detail = detail
                        page.gfp = value
                        page.migratetype = mt
                        page.caller = label
                        page.pinned = False
                        self.allocated[pfn] = page
                        try:
                            self.vmstat[item] += 1
                        except KeyError:
                            self.vmstat[item] = 1
                        # trace_mm_page_alloc onto the trace's packed chunk (as SLUB's
                        # fast paths write theirs): the head of this plan, CPU and count
                        k.clock_ns = ts = k.clock_ns + EVENT_STEP_NS
                        tr = k.trace
                        if tr.enabled:
                            heads = plan_heads[cpu]
                            head = heads.get(count)
                            if head is None:
                                head = self._take_head(heads, pcp, name, cpu, count, mt,
                                                       value)
                            buf = tr.packed
                            if buf is None:
                                buf = tr.open_packed()
                            i = tr.next_index
                            tr.next_index = i + 1
                            task = k.current_task
                            buf += (ts, cpu, task.pid, task.comm, k.context_stack.lat_flags,
                                    head, pfn, 0, mt)
                            if i >= tr.check_at:
                                tr.check()
                        return page
        else:
            mt = self.gfp_migratetype(value)
            k.might_sleep_if_alloc(value, order)
            high_name = self.profile.gfp_zone(value)
            high_zone = self.zone_by_name[high_name]
            zonelist = self.zonelists[high_zone.idx]
            if not zonelist:
                return self._fail(order, value, label,
                                  f"no populated zone at or below {high_name}")
            highest_idx = self._highest_zoneidx(zonelist, high_zone)
            flags = self._fast_alloc_flags(value, mt, zonelist)
        got = self._get_page_from_freelist(zonelist, order, mt, flags, highest_idx)
        if got is None:
            got = self._slowpath(zonelist, order, mt, value, highest_idx, label)
            if got is None:
                return None
        zone, pfn, taken, why = got
        page = Page(pfn, order, zone.name, owner, detail, value, mt, label)
        self.allocated[pfn] = page
        self.count(self.pgalloc_item[zone.idx], 1 << order)
        k.trace.page_alloc(page, taken, why)  # (__GFP_ZERO: contents are not modelled)
        return page

    @staticmethod
    def _take_head(heads: dict, pcp, zone_name: str, cpu: int, count: int, mt: int,
                   value: int) -> tuple:
        """The packed trace head of an in-line order-0 take leaving ``count`` pages on
        ``pcp``: mm_page_alloc, its why (the pcp's shared (template, args) tuple, see
        PerCpuPages.take_whys) and the field after (pfn, order, migratetype)."""
        why = pcp.take_whys.get(count)
        if why is None:
            whys = pcp.take_whys
            if len(whys) >= 4096:
                whys.clear()
            why = whys[count] = (PCP_TAKE_WHY, (zone_name, cpu, count))
        if len(heads) >= 4096:
            heads.clear()
        head = heads[count] = packed_head("mm_page_alloc", PAGE_ALLOC_KEYS, why, 3, (value,))
        return head

    def _remember_plan(self, gfp, value: int, plan: tuple) -> None:
        self.gfp_plans[value] = plan
        if type(gfp) is not int:
            self._last_gfp = (gfp, value, plan)

    def _highest_zoneidx(self, zonelist: tuple[Zone, ...], high_zone: Zone) -> int:
        """3.15's classzone_idx (the preferred zone) / 6.x's ac->highest_zoneidx."""
        if self.profile.watermark_rules == "classzone":
            return zonelist[0].idx  # classzone_idx = preferred zone
        return high_zone.idx

    def _fast_alloc_flags(self, value: int, mt: int, zonelist: tuple[Zone, ...]) -> int:
        """The alloc_flags of __alloc_pages's first get_page_from_freelist
        (ALLOC_WMARK_LOW, 6.x's alloc_flags_nofragment)."""
        p = self.profile
        flags = WMARK_LOW
        if mt == self.MOVABLE:
            flags |= ALLOC_CMA
        if p.watermark_rules != "classzone":
            flags |= value & p.gfp.values["__GFP_KSWAPD_RECLAIM"]
            # alloc_flags_nofragment: preferred zone Normal with DMA32 populated
            if zonelist[0].name == "Normal" and "DMA32" in self.zone_by_name and \
                    self.zone_by_name["DMA32"].present:
                flags |= ALLOC_NOFRAGMENT
        return flags

    def gfp_plan(self, value: int) -> tuple | bool:
        """What ``alloc_pages`` decides from the gfp value alone, for :attr:`gfp_plans`:
        (migratetype, zonelist, highest zone index, first alloc_flags, order0), or False
        when the value takes the step-by-step path every time (both mobility bits:
        gfp_migratetype's warning; no populated zone; a zone the profile lacks). All of
        it depends on the profile, the value and the zonelists built at boot only
        (finish_zone_setup empties the cache).

        ``order0`` serves alloc_pages's in-line order-0 path: (preferred zone, its
        index, its name, free_cma unusable, nr_reserved_highatomic unusable, track
        ZONE_BELOW_HIGH, which pcp count rmqueue_pcplist halves (0 none, 1 free_count,
        2 free_factor), the pgalloc vmstat item, the packed trace heads of its events
        by CPU and pcp count (:meth:`_take_head`)). None when the per-CPU lists are off
        or a bit of the flags lowers the watermark (the general check then runs).
        """
        p = self.profile
        mt = p.gfp_migratetype(value)
        if mt >= self.PCPTYPES:
            return False
        high_zone = self.zone_by_name.get(p.gfp_zone(value))
        if high_zone is None or not self.zonelists.get(high_zone.idx):
            return False
        zonelist = self.zonelists[high_zone.idx]
        flags = self._fast_alloc_flags(value, mt, zonelist)
        order0 = None
        lowering = (ALLOC_NO_WATERMARKS | ALLOC_OOM | ALLOC_HARDER | ALLOC_HIGH |
                    ALLOC_HIGHATOMIC)   # ALLOC_NON_BLOCK, ALLOC_MIN_RESERVE: same bits
        if self.pcp_enabled and not flags & lowering:
            zone = zonelist[0]
            rule = p.pcp_high_rule
            order0 = (zone, zone.idx, zone.name, not flags & ALLOC_CMA,
                      p.watermark_rules != "classzone", rule == "autotune",
                      {"batch6": 0, "autotune": 1, "low_wmark": 2}[rule],
                      self.pgalloc_item[zone.idx],
                      [{} for _ in range(self.kernel.nr_cpus)])
        return mt, zonelist, self._highest_zoneidx(zonelist, high_zone), flags, order0

    def gfp_migratetype(self, value: int) -> int:
        """The migratetype of a request, after the check every allocation path makes
        first: both mobility bits set is the kernel's ``VM_WARN_ON`` (6.x
        include/linux/gfp.h: gfp_migratetype) / ``WARN_ON`` (3.15
        allocflags_to_migratetype), reported and refused before anything changes."""
        mt = self.profile.gfp_migratetype(value)
        if mt >= self.PCPTYPES:
            self.kernel.warn_gfp_migratetype(value, mt)
        return mt

    def alloc_order0_pages(self, value: int, n: int, *, owner: str, detail: str,
                           caller: str) -> list[int]:
        """``n`` × alloc_page(gfp), stopping at the first failure: 3.15's
        __vmalloc_area_node loop (and 6.x's fallback when the bulk path cannot help).

        Same state, events and whys as calling :meth:`alloc_pages` n times. After a
        call, 3.15 pages that would come straight off the preferred zone's per-CPU
        list through the fast path (the zone passes the low watermark, which taking
        pcp pages does not change) are taken as one slice; every other page (a
        refill, a lower zone, the slow path) is a real :meth:`alloc_pages` call.
        """
        out: list[int] = []
        alloc = self.alloc_pages
        fast = self.pcp_enabled and self.profile.pcp_high_rule == "batch6"
        while len(out) < n:
            page = alloc(value, 0, owner=owner, detail=detail, caller=caller)
            if page is None:
                break
            out.append(page.pfn)
            if fast and len(out) < n:
                self._pcp_alloc_run(page, value, n - len(out), out)
        return out

    def _pcp_alloc_run(self, first: Page, value: int, limit: int, out: list[int]) -> None:
        """3.15: up to ``limit`` more pages as alloc_page(value) would take them from
        the per-CPU list ``first`` came from (get_page_from_freelist's first zone,
        watermark ok, list not empty); appended to ``out``."""
        p = self.profile
        zonelist = self.zonelists[self.zone_by_name[p.gfp_zone(value)].idx]
        zone = self.zone_by_name[first.zone]
        if zone is not zonelist[0]:
            return
        mt = first.migratetype
        flags = WMARK_LOW | (ALLOC_CMA if mt == self.MOVABLE else 0)
        if not self.zone_watermark_ok(zone, 0, zone.watermark[WMARK_LOW] + zone.watermark_boost,
                                      zonelist[0].idx, flags):
            return
        k = self.kernel
        cpu = k.current_cpu
        pcp = self.pcp_lists.pcp[zone.idx][cpu]
        lst = pcp.lists[self.pcp_lists.order_to_pindex(mt, 0)]
        m = min(limit, len(lst))
        if not m:
            return
        popleft = lst.popleft
        taken = [popleft() for _ in range(m)]
        c0 = pcp.count
        pcp.count = c0 - m
        zname = zone.name
        self.account_order0_pages(taken, zname, first.owner, first.detail, value, mt,
                                  first.caller)
        k.trace.record_batch("mm_page_alloc", PAGE_ALLOC_KEYS,
                             counting_why(PCP_TAKE_WHY, (zname, cpu), c0 - 1, -1),
                             (taken, 0, mt, value), m)
        out += taken

    def account_order0_pages(self, pfns: list[int], zone_name: str, owner: str, detail: str,
                             gfp: int, mt: int, caller: str) -> None:
        """The bookkeeping of order-0 pages taken off a list in one go: a :class:`Page`
        each in ``allocated`` and the zone's pgalloc counter (what alloc_pages does
        per page, without its event: the callers record their own)."""
        self.allocated.update(zip(pfns, map(Page, pfns, repeat(0), repeat(zone_name),
                                            repeat(owner), repeat(detail), repeat(gfp),
                                            repeat(mt), repeat(caller))))
        self.count("pgalloc_" + zone_name.lower(), len(pfns))

    def _get_page_from_freelist(self, zonelist, order: int, mt: int, flags: int,
                                highest_idx: int):
        """mm/page_alloc.c: get_page_from_freelist (with 6.x's ALLOC_NOFRAGMENT retry)."""
        while True:
            mark_idx = flags & 3
            track_high = self.profile.pcp_high_rule == "autotune"
            for zone in zonelist:
                if not flags & ALLOC_NO_WATERMARKS:
                    if track_high and zone.idx not in self.pcp_lists.below_high:
                        # get_page_from_freelist: detect ZONE_BELOW_HIGH for pcp tuning
                        if not self.zone_watermark_ok(zone, order, zone.high, highest_idx,
                                                      flags):
                            self.pcp_lists.below_high.add(zone.idx)
                    mark = zone.watermark[mark_idx] + zone.watermark_boost
                    if not self.zone_watermark_ok(zone, order, mark, highest_idx, flags):
                        continue
                got = None
                if self.pcp_enabled and self.pcp_lists.pcp_allowed_order(order):
                    got = self.pcp_lists.rmqueue_pcplist(zone, order, mt, flags)
                if got is None:
                    got = self.rmqueue_buddy(zone, order, mt, flags)
                if got is not None:
                    pfn, taken, why = got
                    if why is None:
                        why = self._why_smallest(zone, pfn, order, taken, mt, mark_idx, flags)
                    elif zone is not zonelist[0]:
                        why = f"{zonelist[0].name} could not serve it; {zone.name}: {why}"
                    return zone, pfn, taken, why
            if flags & ALLOC_NOFRAGMENT:
                flags &= ~ALLOC_NOFRAGMENT
                continue
            return None

    def _why_smallest(self, zone: Zone, pfn: int, order: int, taken: int, mt: int,
                      mark_idx: int, flags: int) -> str:
        mt_name = self._mt_name[mt]
        mark = ("min", "low", "high")[mark_idx]
        if taken == order:
            why = f"{zone.name}: took the first free order-{order} {mt_name} block"
        else:
            why = (f"{zone.name}: no free order-{order} {mt_name} block; split an order-{taken}"
                   f" block at pfn {pfn:#x}")
        if flags & ALLOC_NO_WATERMARKS:
            return why + " (no watermark check: __GFP_MEMALLOC)"
        return why + f" (free {zone.free_pages + (1 << order)} > {mark} watermark)"

    def _slowpath(self, zonelist, order: int, mt: int, value: int, highest_idx: int,
                  label: str):
        """mm/page_alloc.c: __alloc_pages_slowpath (the parts the model has)."""
        k = self.kernel
        p = self.profile
        g = p.gfp.values
        wake = bool(value & g["__GFP_KSWAPD_RECLAIM"]) if p.gfp_reclaim_bits else \
            (not value & g["__GFP_NO_KSWAPD"])
        if wake:
            k.wakeup_kswapd(zonelist[0], order)
        flags = self.gfp_to_alloc_flags(value, order)
        got = self._get_page_from_freelist(zonelist, order, mt, flags, highest_idx)
        if got is not None:
            zone, pfn, taken, why = got
            return zone, pfn, taken, why + self._reserve_note(flags)
        may_block = value & g[p.may_block_flag]
        if not may_block:
            return self._fail(order, value, label,
                              "below the min watermark and the request may not sleep")
        # Direct reclaim / compaction: the reclaim model may free pages, then retry;
        # __alloc_pages_direct_reclaim drains the per-CPU lists once when that fails.
        if self.pcp_enabled and self.pcp_lists.drain_all_pages():
            got = self._get_page_from_freelist(zonelist, order, mt, flags, highest_idx)
            if got is not None:
                zone, pfn, taken, why = got
                return zone, pfn, taken, why + " after draining the per-CPU lists"
        for _attempt in range(16):
            progress = k.direct_reclaim(zonelist, order, value)
            if not progress:
                break
            got = self._get_page_from_freelist(zonelist, order, mt, flags, highest_idx)
            if got is not None:
                zone, pfn, taken, why = got
                return zone, pfn, taken, why + " after direct reclaim"
        oom = k.out_of_memory(zonelist, order, value)
        if oom:
            got = self._get_page_from_freelist(zonelist, order, mt, flags, highest_idx)
            if got is not None:
                zone, pfn, taken, why = got
                return zone, pfn, taken, why + " after the OOM killer freed memory"
        return self._fail(order, value, label, "nothing left to reclaim")

    def _reserve_note(self, flags: int) -> str:
        notes = []
        if flags & ALLOC_NO_WATERMARKS:
            notes.append("ignored the watermarks (__GFP_MEMALLOC)")
        elif self.profile.watermark_rules == "alloc_reserves":
            if flags & ALLOC_MIN_RESERVE and flags & ALLOC_NON_BLOCK:
                notes.append("dipped to 37.5% of min (__GFP_HIGH and may not block)")
            elif flags & ALLOC_MIN_RESERVE:
                notes.append("dipped to 50% of min (__GFP_HIGH)")
        else:
            if flags & ALLOC_HIGH and flags & ALLOC_HARDER:
                notes.append("dipped to 37.5% of min (ALLOC_HIGH and ALLOC_HARDER)")
            elif flags & ALLOC_HIGH:
                notes.append("dipped to 50% of min (ALLOC_HIGH)")
            elif flags & ALLOC_HARDER:
                notes.append("dipped to 75% of min (ALLOC_HARDER)")
        return "; slow path: " + (", ".join(notes) if notes else "checked the min watermark")

    def _fail(self, order: int, value: int, label: str, reason: str):
        self.last_failure = AllocFailure(order, value, reason)
        self.count("allocfail")
        k = self.kernel
        if not value & self.profile.gfp.values["__GFP_NOWARN"]:
            k.warn_alloc(order, value, reason)
        k.trace.page_alloc_failed(order, value, reason)
        return None

    # ---------------------------------------------------------- freeing
    def free_pages(self, page_or_pfn, order: int | None = None, *,
                   caller: str | None = None) -> None:
        """mm/page_alloc.c: __free_pages / free_pages → __free_one_page.

        Freeing something that is not an allocated block of that order is a kernel
        bug: a ``BUG: Bad page state`` report and :class:`KernelBug`, nothing changed.
        """
        if isinstance(page_or_pfn, Page):
            pfn = page_or_pfn.pfn
            if order is None:
                order = page_or_pfn.order
        elif isinstance(page_or_pfn, int) and not isinstance(page_or_pfn, bool):
            pfn = page_or_pfn
        else:
            raise TypeError(f"free_pages takes a Page or a pfn, not {type(page_or_pfn).__name__}")
        page = self.check_free(pfn, order)
        if self.fast_paths:
            self.free_learner_pages(page, _CHECKED)
            return
        k = self.kernel
        del self.allocated[pfn]
        zone = self.zone_by_name[page.zone]
        self.count("pgfree", 1 << order)
        index = k.trace.page_free(pfn, order, "", page)
        if self.pcp_enabled and self.pcp_lists.pcp_allowed_order(order):
            why = self.pcp_lists.free_to_pcp(zone, pfn, order)
        else:
            why = self.free_one_page(zone, pfn, order, self.get_pageblock_migratetype(pfn))
        k.trace.set_why(index, why)

    def free_learner_pages(self, addr_or_page, order=None, *,
                           caller: str | None = None) -> None:
        """``k.free_pages`` on a booted kernel (Kernel._boot_subsystems binds it, as it
        binds ``k.alloc_pages`` to :meth:`alloc_pages`), and :meth:`free_pages`'s last
        step once :meth:`check_free` passed (it passes ``_CHECKED`` as the order).

        A :class:`Page` that alloc_pages handed out (owner "pages"), still held, of
        its own order, is freed here; anything else (an address, a stale or foreign
        page, another order) goes to ``Kernel.free_pages``, which makes the checks
        and their reports. The freeing has the same state, events and whys as the
        step-by-step path (tests/addr/test_fast_paths.py).

        The step-by-step path records mm_page_free first (free_pages_prepare's trace),
        then frees, then sets the event's why. Here the event is written once its why
        is known, when nothing else emits an event in between: an order-0 page that
        only goes onto a per-CPU list, or a block that goes to the buddy lists (which
        emit nothing). The order-0 case is free_unref_page_commit's common case
        written in line, as alloc_pages takes from the list in line; pcp.py's
        free_to_pcp is the whole function (the other cases and the reference), its
        drain_after_free the end of this one when the list reaches its high mark.
        """
        page = addr_or_page
        if order is not _CHECKED and not (
                type(page) is Page and self.allocated.get(page.pfn) is page and
                page.owner in LEARNER_OWNERS and self.fast_paths and
                (order is None or type(order) is int and order == page.order)):
            k = self.kernel
            type(k).free_pages(k, addr_or_page, order, caller=caller)
            return
        pfn = page.pfn
        order = page.order
        del self.allocated[pfn]
        vmstat = self.vmstat
        try:
            vmstat["pgfree"] += 1 << order
        except KeyError:
            vmstat["pgfree"] = 1 << order
        zone = self.zone_by_name[page.zone]
        k = self.kernel
        if self.pcp_enabled:
            lists = self.pcp_lists
            mt = self.pageblock_mt[pfn >> self.pageblock_order]
            if not order and mt < MIGRATE_PCPTYPES:   # (else isolated or parked)
                cpu = k.current_cpu
                pcp = lists.pcp[zone.idx][cpu]
                pcp.lists[mt].appendleft(pfn)         # order_to_pindex(mt, 0)
                count = pcp.count = pcp.count + 1
                rule = lists.high_rule
                if rule == "autotune":   # 6.12 free_unref_page_commit; order 0: !free_high
                    if pcp.alloc_factor:
                        pcp.alloc_factor >>= 1
                    if pcp.prev_free_high_order:
                        pcp.prev_free_high_order = False
                    free_count = pcp.free_count
                    if free_count < pcp.batch << PCP_BATCH_SCALE_MAX:
                        pcp.free_count = free_count + 1
                    # nr_pcp_high: its clamp, and its answer (the clamped high) unless
                    # high is 0 or, with high_min != high_max, the zone is below high or
                    # the list has reached it; then the function itself
                    high = pcp.high
                    high_min, high_max = pcp.high_min, pcp.high_max
                    if not high_min <= high <= high_max:
                        high = pcp.high = max(high_min, min(high, high_max))
                    if not (count < high and (high_min == high_max or
                                              zone.idx not in lists.below_high)):
                        high = lists.nr_pcp_high(pcp, zone, pcp.batch, False)
                else:                    # 3.15; 6.1 at order 0 (free_high false)
                    high = pcp.high
                if count < high:
                    # trace_mm_page_free onto the packed chunk; its head by count and
                    # migratetype (cpu is the pcp's)
                    k.clock_ns = ts = k.clock_ns + EVENT_STEP_NS
                    tr = k.trace
                    if tr.enabled:
                        head = pcp.free_heads.get(count * 8 + mt)
                        if head is None:
                            head = self._free_head(pcp, cpu, count, mt)
                        buf = tr.packed
                        if buf is None:
                            buf = tr.open_packed()
                        i = tr.next_index
                        tr.next_index = i + 1
                        task = k.current_task
                        buf += (ts, cpu, task.pid, task.comm, k.context_stack.lat_flags,
                                head, pfn, 0, None)
                        if i >= tr.check_at:
                            tr.check()
                else:
                    lists.drain_after_free(zone, pcp, pfn, mt, cpu, high)
                return
            if order <= lists.max_order or lists.pcp_allowed_order(order):
                trace = k.trace          # the step-by-step order: event, list, why
                index = trace.record("mm_page_free", PAGE_FREE_KEYS, (pfn, order), "")
                trace.set_why(index, lists.free_to_pcp(zone, pfn, order))
                return
        # __free_one_page emits nothing: the event can follow it, its why known
        why = self.free_one_page(zone, pfn, order, self.get_pageblock_migratetype(pfn))
        k.trace.record("mm_page_free", PAGE_FREE_KEYS, (pfn, order), why)

    def _free_head(self, pcp, cpu: int, count: int, mt: int) -> tuple:
        """The packed trace head of an in-line order-0 free that leaves ``count`` pages
        of migratetype ``mt`` on ``pcp``: mm_page_free (pfn, order) and its why."""
        heads = pcp.free_heads
        if len(heads) >= 4096:
            heads.clear()
        head = heads[count * 8 + mt] = packed_head(
            "mm_page_free", PAGE_FREE_KEYS, (PCP_FREE_WHY, (cpu, self._mt_name[mt], count)),
            2, ())
        return head

    def check_free(self, pfn: int, order, owners: tuple[str, ...] | None = None) -> Page:
        """The checks of __free_pages before anything changes: ``pfn`` heads an
        allocated block of ``order`` (else ``BUG: Bad page state`` and
        :class:`KernelBug`), held by one of ``owners`` when given (a learner freeing
        a slab or vmalloc page with free_pages). Returns the :class:`Page`."""
        if order is None:
            raise TypeError("free_pages(pfn, order): the order is required with a pfn")
        if isinstance(order, bool) or not isinstance(order, int):
            raise TypeError(f"order must be an int, not {type(order).__name__}")
        if order < 0:
            raise ValueError(f"order must be ≥ 0, not {order}")
        page = self.allocated.get(pfn)
        k = self.kernel
        if page is None:
            if pfn in self.free_blocks or self.pcp_lists.on_pcp_list(pfn) or \
                    self._inside_free_block(pfn):
                reason = "nonzero mapcount"
                msg = f"double free of pfn {pfn:#x}: the page is already free (PageBuddy)"
            else:
                reason = "page was never allocated by the page allocator (kmemlab check)"
                msg = f"freeing pfn {pfn:#x}, which is not the head of an allocated block"
            k.bad_page(pfn, reason, msg)
        if page.order != order:
            k.bad_page(pfn, f"freed with order {order}, allocated with order {page.order} "
                            "(kmemlab check)",
                       f"free_pages(pfn {pfn:#x}, order {order}) but the block has order "
                       f"{page.order}")
        if owners is not None and page.owner not in owners:
            # a slab page still has PG_slab (6.x: the slab page type) set: free_pages_prepare
            # → free_page_is_bad; other owners (vmalloc, page tables, a process, CMA) still
            # map or track the page, which the kernel would find later as a use after free
            reason = ("PAGE_FLAGS_CHECK_AT_FREE flag(s) set" if page.owner == "slab" else
                      f"page still in use by {page.owner} (kmemlab check)")
            how = _FREE_API.get(page.owner, "the API that allocated it")
            k.bad_page(pfn, reason, f"free_pages(pfn {pfn:#x}): the page belongs to "
                                    f"{page.owner} ({page.detail or page.owner}); free it "
                                    f"with {how}")
        return page

    def check_free_order0(self, pfns: list[int]) -> None:
        """:meth:`check_free` for a batch of order-0 pages, before any is freed (vfree
        and friends free all or nothing); a page listed twice is the second free's
        double free."""
        allocated = self.allocated
        seen: set[int] = set()
        for pfn in pfns:
            pg = allocated.get(pfn)
            if pg is None or pg.order or pfn in seen:
                if pfn in seen:
                    self.kernel.bad_page(pfn, "nonzero mapcount",   # as the loop says it
                                         f"double free of pfn {pfn:#x}: the page is already "
                                         "free (PageBuddy)")
                self.check_free(pfn, 0)
            seen.add(pfn)

    def free_order0_pages(self, pfns: list[int]) -> None:
        """``for pfn in pfns: __free_page(pfn)``: vfree's loop (mm/vmalloc.c), batched.

        The state, the events and their whys are those of calling :meth:`free_pages`
        on each page in turn (tests/addr/test_batched_paths.py compares them). Runs of
        pages that only go onto the per-CPU list (no drain, no tuning beyond what is
        applied here in closed form) are done as slices; the page that reaches the
        list's high mark, and any batch that is not plain (pcp off, a page that is not
        an allocated order-0 page, mixed zones or pageblock types, an isolated
        pageblock), go through :meth:`free_pages` itself, bug reports included.
        """
        n = len(pfns)
        allocated = self.allocated
        mt = self.pcp_lists.pcp_free_type(pfns) if self.pcp_enabled and n > 1 else None
        if mt is None:
            self.check_free_order0(pfns)     # all or nothing
            for pfn in pfns:
                self.free_pages(pfn, 0)
            return
        k = self.kernel
        zone = self.zone_by_name[allocated[pfns[0]].zone]
        cpu = k.current_cpu
        pcp = self.pcp_lists.pcp[zone.idx][cpu]
        pindex = self.pcp_lists.order_to_pindex(mt, 0)
        lst = pcp.lists[pindex]
        mt_name = self._mt_name[mt]
        record_batch = k.trace.record_batch
        i = 0
        while i < n:
            room = min(self.pcp_lists.pcp_free_room(zone, pcp, n - i), n - i)
            if room:
                run = pfns[i:i + room]
                deque(map(allocated.__delitem__, run), maxlen=0)
                lst.extendleft(run)           # = appendleft of each, in order
                c0 = pcp.count
                pcp.count = c0 + room
                self.count("pgfree", room)
                record_batch("mm_page_free", PAGE_FREE_KEYS,
                             counting_why(PCP_FREE_WHY, (cpu, mt_name), c0 + 1, 1),
                             (run, 0), room)
                i += room
            if i < n:
                self.free_pages(pfns[i], 0)   # the page that drains the list
                i += 1

    def _inside_free_block(self, pfn: int) -> bool:
        for o in range(1, self.nr_orders):
            head = pfn & ~((1 << o) - 1)
            e = self.free_blocks.get(head)
            if e is not None and e[0] >= o:
                return True
        return False

    def free_one_page(self, zone: Zone, pfn: int, order: int, mt: int,
                      to_tail: bool | None = None) -> tuple[str, tuple]:
        """mm/page_alloc.c: __free_one_page: merge with free buddies, then head or tail.

        Buddy = pfn ^ (1 << order); merge while it is free with the same order (6.1+:
        not across pageblocks of unmergeable types); tail insertion when the order
        is below MAX_ORDER-2 and the next-higher buddy is free too (merge likely).
        """
        fb = self.free_blocks
        max_merge = self.max_order
        stop_rule = self.profile.merge_stops_at_unmergeable_pageblocks
        pb_order = self.pageblock_order
        areas = zone.free_area
        start_order = order
        merged = 0
        removed = 0
        removed_cma = 0
        while order < max_merge:
            buddy = pfn ^ (1 << order)
            entry = fb.get(buddy)
            if entry is None or entry[0] != order:
                break
            bmt = entry[1]
            if order >= pb_order:
                buddy_block_mt = self.get_pageblock_migratetype(buddy)
                if stop_rule and mt != buddy_block_mt and (mt >= self.PCPTYPES or
                                                           buddy_block_mt >= self.PCPTYPES):
                    break
                if self.profile.fallback_rules == "freelist_hygiene" and buddy_block_mt != mt:
                    self.change_pageblock_range(buddy, order, mt)
            # del_page_from_free_list(buddy)
            area = areas[order]
            del area.free_list[bmt][buddy]
            area.nr_free -= 1
            del fb[buddy]
            removed += 1 << order
            if bmt == self.CMA:
                removed_cma += 1 << order
            pfn &= buddy
            order += 1
            merged += 1
        zone.free_pages -= removed
        zone.free_cma -= removed_cma
        if to_tail is None:
            to_tail = False
            if order < self.max_order - 1:
                higher = pfn & ~(1 << order)          # start of the order+1 block
                higher_buddy = higher ^ (1 << (order + 1))
                e = fb.get(higher_buddy)
                to_tail = e is not None and e[0] == order + 1
        self.add_to_free_list(zone, pfn, order, mt, tail=to_tail)
        # a (template, args) why, formatted only if someone reads the event: the
        # drains and the boot hand-over free thousands of blocks nobody asks about
        if merged:
            return (_MERGED_WHY, (merged, "s" if merged > 1 else "", start_order, order, pfn,
                                  " (tail: its buddy is free too)" if to_tail else ""))
        return (_NOT_MERGED_WHY, (pfn ^ (1 << order), order, "tail" if to_tail else "head"))

    # ---------------------------------------------------------- views
    def buddy_of(self, pfn: int, order: int) -> int:
        """__find_buddy_pfn: the pfn of the buddy of an order-``order`` block."""
        return pfn ^ (1 << order)

    def free_list_pfns(self, zone: str | Zone, order: int, migratetype: int | str) -> list[int]:
        """The pfns on one free list, head first (what list_for_each walks)."""
        z = self.zone_by_name[zone] if isinstance(zone, str) else zone
        mt = self.profile.migratetype(migratetype) if isinstance(migratetype, str) \
            else migratetype
        return list(z.free_area[order].free_list[mt])

    def check_consistency(self) -> None:
        """Assert the invariants a property test relies on (raises AssertionError)."""
        seen_pages = 0
        for zone in self.zones:
            total = 0
            for area in zone.free_area:
                n = sum(len(fl) for fl in area.free_list)
                assert n == area.nr_free, (zone.name, area.order, n, area.nr_free)
                for mt, fl in enumerate(area.free_list):
                    for pfn in fl:
                        assert self.free_blocks[pfn] == (area.order, mt)
                        assert pfn % (1 << area.order) == 0, (pfn, area.order)
                        assert zone.zone_start_pfn <= pfn < zone.zone_end_pfn
                total += n << area.order
            assert total == zone.free_pages, (zone.name, total, zone.free_pages)
            seen_pages += total
        spans = sorted([(p, 1 << o) for p, (o, _) in self.free_blocks.items()] +
                       [(p, 1 << pg.order) for p, pg in self.allocated.items()])
        for (a, n), (b, _) in zip(spans, spans[1:]):
            assert a + n <= b, f"blocks overlap at pfn {a:#x} and {b:#x}"
        for pfn, page in self.allocated.items():
            assert pfn % (1 << page.order) == 0
