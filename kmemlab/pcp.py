"""Per-CPU page lists: struct per_cpu_pages and the code that fills and drains them.

The kernel keeps this in mm/page_alloc.c, between the buddy allocator and the
watermarks (setup_zone_pageset, zone_batchsize/zone_highsize, rmqueue_pcplist,
__rmqueue_pcplist, rmqueue_bulk, nr_pcp_alloc, free_unref_page_commit (6.x) /
free_hot_cold_page (3.15), nr_pcp_high, free_pcppages_bulk, drain_all_pages) and
struct per_cpu_pages in include/linux/mmzone.h. kmemlab gives it a module of its own
so page_alloc.py reads as the buddy allocator: :class:`PerCpuPageLists` is owned by
the :class:`~kmemlab.page_alloc.PageAllocator` (``page_alloc.pcp_lists``), which
passes itself in; the lists call back into it only for the buddy operations the
kernel's functions call (__rmqueue, __free_one_page, zone_watermark_ok). The most
common cases, a page taken off a non-empty list and an order-0 page parked on a list
under its high mark, are also written in line in page_alloc.py (its lean paths, proven
equal to these functions by tests/addr/test_fast_paths.py); :meth:`PerCpuPageLists.
drain_after_free` finishes that free when the list reaches its high mark.
"""

from __future__ import annotations

from collections import deque
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .trace import PAGE_FREE_KEYS, PCPU_DRAIN_KEYS, PCPU_DRAIN_WHY

if TYPE_CHECKING:
    from .page_alloc import PageAllocator, Zone

PAGE_ALLOC_COSTLY_ORDER = 3  # include/linux/mmzone.h
PCP_BATCH_SCALE_MAX = 5  # CONFIG_PCP_BATCH_SCALE_MAX
PCP_FREE_WHY = ("freed to CPU {}'s per-CPU list ({}, count {}); the buddy allocator does "
                "not see it until the list is drained")
PCP_TAKE_WHY = ("{}: took the first page on CPU {}'s per-CPU list ({} left there); no "
                "buddy split needed")
_ORDER_OF = attrgetter("order")
PCP_DRAIN_WHY = "; count reached high={}: drained {} pages to the buddy lists"


class PerCpuPages:
    """struct per_cpu_pages: one CPU's cache of free pages for one zone.

    Lists are deques of pfns, head on the left: ``list_add`` is appendleft,
    ``list_first_entry`` is ``[0]``, ``list_add_tail`` is append and
    ``list_last_entry`` is ``[-1]``.
    """

    __slots__ = ("count", "high", "batch", "high_min", "high_max", "free_count",
                 "alloc_factor", "free_factor", "prev_free_high_order", "lists",
                 "take_whys", "free_heads")

    def __init__(self, nr_lists: int) -> None:
        self.count = 0
        self.high = 0
        self.batch = 1
        self.high_min = 0
        self.high_max = 0
        self.free_count = 0
        self.alloc_factor = 0
        self.free_factor = 0
        self.prev_free_high_order = False
        self.lists = [deque() for _ in range(nr_lists)]
        # page_alloc's in-line order-0 take and free: the take's whys by count, the
        # free's packed trace heads (its why inside) by count * 8 + migratetype; the
        # same tuple for the same text. Shared, they hold no tracked object once the
        # cyclic GC has seen them: a fresh why per event kept each event tracked into
        # the oldest generation and set off full collections, each walking the whole
        # trace buffer (tests/addr/test_fast_paths.py reads the whys)
        self.take_whys: dict[int, tuple[str, tuple[Any, ...]]] = {}
        self.free_heads: dict[int, tuple] = {}


class PerCpuPageLists:
    """Every CPU's per-CPU page lists of every zone (``zone->per_cpu_pageset``).

    ``pcp[zone.idx][cpu]`` is a :class:`PerCpuPages`; the lists are the only record
    of which blocks sit there (:attr:`pcp_pages` is a view built from them).
    """

    def __init__(self, page_alloc: PageAllocator) -> None:
        self.page_alloc = page_alloc
        self.kernel = page_alloc.kernel
        profile = self.profile = page_alloc.profile
        self.enabled = self.kernel.pcp_enabled
        self.high_rule = profile.pcp_high_rule   # batch6 (3.15), low_wmark (6.1), autotune
        self.pageblock_order = page_alloc.pageblock_order
        self.MOVABLE = page_alloc.MOVABLE
        self.PCPTYPES = page_alloc.PCPTYPES
        self._mt_name = profile.migratetype_names
        self.pcp: list[list[PerCpuPages]] = []
        self.bulk_note: str | None = None   # why the last rmqueue_bulk stole, if it did
        self.below_high: set[int] = set()  # ZONE_BELOW_HIGH (6.12)
        orders = profile.pcp_high_order_lists
        self.max_order = PAGE_ALLOC_COSTLY_ORDER if orders else 0
        self.thp = orders and profile.thp_supported
        self.nr_lists = 3 * (PAGE_ALLOC_COSTLY_ORDER + 1) + int(self.thp) if orders else 3

    def setup_pagesets(self, nr_cpus: int) -> None:
        """setup_zone_pageset + zone_set_pageset_high_and_batch (after the watermarks)."""
        if not self.pcp:
            self.pcp = [[PerCpuPages(self.nr_lists) for _ in range(nr_cpus)]
                        for _ in self.page_alloc.zones]
        for z in self.page_alloc.zones:
            batch, high_min, high_max = self.pageset_limits(z, nr_cpus)
            for pcp in self.pcp[z.idx]:
                pcp.batch, pcp.high_min, pcp.high_max = batch, high_min, high_max
                if self.profile.pcp_high_rule != "autotune":
                    pcp.high = high_min
                else:
                    pcp.high = max(high_min, min(pcp.high, high_max))

    def pageset_limits(self, zone: Zone, nr_cpus: int) -> tuple[int, int, int]:
        """mm/page_alloc.c: zone_batchsize, zone_highsize → (batch, high_min, high_max).

        3.15: pageset_set_batch: high = 6 × batch. 6.1: high from the low watermark
        shared by the CPUs. 6.12: high_min from the low watermark, high_max from
        managed/8 (MIN_PERCPU_PAGELIST_HIGH_FRACTION), with auto-tuning in between.
        """
        rule = self.profile.pcp_high_rule
        cap = (self.profile.pcp_batch_cap_kib << 10) // self.profile.page_size
        batch = min(zone.managed >> 10, cap) // 4
        batch = max(batch, 1)
        x = batch + batch // 2
        batch = (1 << (x.bit_length() - 1)) - 1  # rounddown_pow_of_two(...) - 1
        if rule == "batch6":
            return max(1, batch), 6 * batch, 6 * batch
        batch = max(1, batch)
        high_min = max(zone.low // nr_cpus, batch << 2)
        if rule == "low_wmark":
            return batch, high_min, high_min
        high_max = max((zone.managed // 8) // nr_cpus, batch << 2)
        return batch, high_min, high_max

    @property
    def pcp_pages(self) -> dict[int, tuple[int, int, int, int]]:
        """Every block on a per-CPU list: pfn → (cpu, zone index, order, list index).

        Built from the lists when asked (views, checks); the allocator itself keeps no
        second record, so a page going on or off a list costs one deque operation."""
        out: dict[int, tuple[int, int, int, int]] = {}
        for zone_idx, row in enumerate(self.pcp):
            for cpu, pcp in enumerate(row):
                for pindex, lst in enumerate(pcp.lists):
                    if lst:
                        where = (cpu, zone_idx, self.pindex_to_order(pindex), pindex)
                        out.update(zip(lst, repeat(where)))
        return out

    def on_pcp_list(self, pfn: int) -> bool:
        return any(pfn in lst for row in self.pcp for pcp in row for lst in pcp.lists)

    def pcp_allowed_order(self, order: int) -> bool:
        """pcp_allowed_order: order 0 (3.15); ≤ PAGE_ALLOC_COSTLY_ORDER or THP (6.x)."""
        if order <= self.max_order:
            return True
        return self.thp and order == self.pageblock_order

    def order_to_pindex(self, mt: int, order: int) -> int:
        """order_to_pindex."""
        if order > PAGE_ALLOC_COSTLY_ORDER:
            return 3 * (PAGE_ALLOC_COSTLY_ORDER + 1)
        return 3 * order + mt

    def pindex_to_order(self, pindex: int) -> int:
        if pindex >= 3 * (PAGE_ALLOC_COSTLY_ORDER + 1):
            return self.pageblock_order
        return pindex // 3

    def rmqueue_pcplist(self, zone: Zone, order: int, mt: int, alloc_flags: int):
        """rmqueue_pcplist (buffered_rmqueue's order-0 part in 3.15).

        6.x first halves the count that steers batch freeing: "On allocation, reduce
        the number of pages that are batch freed" (6.12 ``pcp->free_count >>= 1``,
        6.1 ``pcp->free_factor >>= 1``); then __rmqueue_pcplist.
        """
        rule = self.profile.pcp_high_rule
        if rule != "batch6":
            pcp = self.pcp[zone.idx][self.kernel.current_cpu]
            if rule == "low_wmark":
                pcp.free_factor >>= 1
            else:
                pcp.free_count >>= 1
        return self._rmqueue_pcplist(zone, order, mt, alloc_flags)

    def _rmqueue_pcplist(self, zone: Zone, order: int, mt: int, alloc_flags: int):
        """__rmqueue_pcplist: the first block on the list, refilling an empty list."""
        cpu = self.kernel.current_cpu
        pcp = self.pcp[zone.idx][cpu]
        pindex = self.order_to_pindex(mt, order)
        lst = pcp.lists[pindex]
        refilled = 0
        if not lst:
            batch = self._nr_pcp_alloc(pcp, zone, order)
            refilled = self._rmqueue_bulk(zone, order, batch, lst, mt, alloc_flags, pcp, cpu,
                                          pindex)
            if not lst:
                return None
        pfn = lst.popleft()
        pcp.count -= 1 << order
        if refilled:
            why = (f"{zone.name}: per-CPU list of CPU {cpu} was empty; refilled it with "
                   f"{refilled} order-{order} block{'s' if refilled > 1 else ''} from the buddy "
                   "allocator (rmqueue_bulk) and took the first")
            if self.bulk_note:
                why += f" ({self.bulk_note})"
        else:
            why = PCP_TAKE_WHY.format(zone.name, cpu, pcp.count)
        return pfn, order, why

    def rmqueue_pcplist_bulk(self, zone: Zone, mt: int, n: int, alloc_flags: int) -> list[int]:
        """__alloc_pages_bulk's loop: up to ``n`` × __rmqueue_pcplist(order 0).

        Unlike rmqueue_pcplist it leaves free_count alone (the kernel's bulk path
        calls __rmqueue_pcplist directly). Pages already on the list are taken in
        one slice; an empty list is refilled by rmqueue_bulk as one by one would.
        Returns the pfns, in list order; fewer than ``n`` when the zone ran dry.
        """
        pcp = self.pcp[zone.idx][self.kernel.current_cpu]
        lst = pcp.lists[self.order_to_pindex(mt, 0)]
        out: list[int] = []
        while len(out) < n:
            if not lst:
                got = self._rmqueue_pcplist(zone, 0, mt, alloc_flags)  # refills the list
                if got is None:
                    break
                out.append(got[0])
                continue
            m = min(n - len(out), len(lst))
            popleft = lst.popleft
            out += [popleft() for _ in range(m)]
            pcp.count -= m
        return out

    def _nr_pcp_alloc(self, pcp: PerCpuPages, zone: Zone, order: int) -> int:
        """How many blocks rmqueue_bulk takes: pcp->batch (3.15), scaled per order (6.1),
        nr_pcp_alloc with alloc_factor auto-tuning (6.12)."""
        rule = self.profile.pcp_high_rule
        if rule == "batch6":
            return pcp.batch
        if rule == "low_wmark":
            batch = pcp.batch
            return max(batch >> order, 2) if batch > 1 else batch
        base = pcp.batch
        high = pcp.high = max(pcp.high_min, min(pcp.high, pcp.high_max))
        if high < base:
            return 1
        batch = base if order else base << pcp.alloc_factor
        if pcp.high_min != pcp.high_max and zone.idx not in self.below_high:
            high = pcp.high = min(high + batch, pcp.high_max)
        if not order:
            max_nr_alloc = max(high - pcp.count - base, base)
            if batch <= max_nr_alloc and pcp.alloc_factor < PCP_BATCH_SCALE_MAX:
                pcp.alloc_factor += 1
            batch = min(batch, max_nr_alloc)
        if batch > 1:
            batch = max(batch >> order, 2)
        return batch

    def _rmqueue_bulk(self, zone: Zone, order: int, count: int, lst, mt: int,
                      alloc_flags: int, pcp: PerCpuPages, cpu: int, pindex: int) -> int:
        """rmqueue_bulk: take ``count`` blocks with __rmqueue, append them to the list."""
        got = 0
        trace = self.kernel.trace
        self.bulk_note = None
        for _ in range(count):
            r = self.page_alloc.rmqueue(zone, order, mt, alloc_flags)
            if r is None:
                break
            if r[2] is not None and self.bulk_note is None:
                self.bulk_note = r[2]  # e.g. a fallback that stole a pageblock
            pfn = r[0]
            lst.append(pfn)
            trace.zone_locked(pfn, order, mt, 1)
            got += 1
        pcp.count += got << order
        return got

    def free_to_pcp(self, zone: Zone, pfn: int, order: int) -> str | tuple:
        """free_unref_page (6.x) / free_hot_cold_page (3.15): park the page on a pcp list."""
        mt = self.page_alloc.get_pageblock_migratetype(pfn)
        if mt >= self.PCPTYPES:
            if self._mt_name[mt] == "Isolate":
                return self.page_alloc.free_one_page(zone, pfn, order, mt)
            mt = self.MOVABLE  # HIGHATOMIC, CMA (and 3.15's RESERVE) go on the movable list
        cpu = self.kernel.current_cpu
        pcp = self.pcp[zone.idx][cpu]
        pindex = self.order_to_pindex(mt, order)
        pcp.lists[pindex].appendleft(pfn)
        pcp.count += 1 << order
        rule = self.profile.pcp_high_rule
        why = (PCP_FREE_WHY, (cpu, self._mt_name[mt], pcp.count))
        if rule == "batch6":
            if pcp.count >= pcp.high:
                n = self.free_pcppages_bulk(zone, pcp.batch, pcp, 0, cpu)
                why = (PCP_FREE_WHY + PCP_DRAIN_WHY, why[1] + (pcp.high, n))
            return why
        if rule == "low_wmark":
            free_high = bool(pcp.free_factor and order and order <= PAGE_ALLOC_COSTLY_ORDER)
            high = 0 if (not pcp.high or free_high) else pcp.high
            if pcp.count >= high:
                if free_high:
                    n_free = pcp.count
                elif high < pcp.batch:
                    n_free = 1
                else:
                    lo, hi = pcp.batch, high - pcp.batch
                    b = pcp.batch << pcp.free_factor
                    if b < hi and pcp.free_factor < PCP_BATCH_SCALE_MAX:
                        pcp.free_factor += 1
                    n_free = max(lo, min(b, hi))
                n = self.free_pcppages_bulk(zone, n_free, pcp, pindex, cpu)
                why = (PCP_FREE_WHY + PCP_DRAIN_WHY, why[1] + (high, n))
            return why
        # 6.12: free_unref_page_commit
        pcp.alloc_factor >>= 1
        batch = pcp.batch
        free_high = False
        if order and order <= PAGE_ALLOC_COSTLY_ORDER:
            free_high = (pcp.free_count >= batch and pcp.prev_free_high_order)
            pcp.prev_free_high_order = True
        elif pcp.prev_free_high_order:
            pcp.prev_free_high_order = False
        if pcp.free_count < (batch << PCP_BATCH_SCALE_MAX):
            pcp.free_count += 1 << order
        high = self.nr_pcp_high(pcp, zone, batch, free_high)
        if pcp.count >= high:
            if free_high:
                n_free = min(pcp.count, batch << PCP_BATCH_SCALE_MAX)
            elif high < batch:
                n_free = 1
            else:
                n_free = max(batch, min(pcp.free_count, high - batch))
            n = self.free_pcppages_bulk(zone, n_free, pcp, pindex, cpu)
            why = (PCP_FREE_WHY + PCP_DRAIN_WHY, why[1] + (high, n))
            if zone.idx in self.below_high and self.page_alloc.zone_watermark_ok(
                    zone, 0, zone.high, len(self.page_alloc.zones) - 1, 0):
                self.below_high.discard(zone.idx)
        return why

    def drain_after_free(self, zone: Zone, pcp: PerCpuPages, pfn: int, mt: int, cpu: int,
                         high: int) -> None:
        """The end of the page allocator's in-line order-0 free (PageAllocator.
        free_learner_pages) when the page took the list to ``high``: the page's
        mm_page_free event, free_pcppages_bulk (its mm_page_pcpu_drain events come
        after), then the event's why with the drain in it, as :meth:`free_to_pcp` and
        the step-by-step path leave them (tests/addr/test_fast_paths.py)."""
        args = (cpu, self._mt_name[mt], pcp.count)
        rule = self.high_rule
        batch = pcp.batch
        pindex = mt
        if rule == "batch6":
            n_free, pindex = batch, 0
        elif high < batch:
            n_free = 1
        elif rule == "low_wmark":
            hi = high - batch
            b = batch << pcp.free_factor
            if b < hi and pcp.free_factor < PCP_BATCH_SCALE_MAX:
                pcp.free_factor += 1
            n_free = max(batch, min(b, hi))
        else:
            n_free = max(batch, min(pcp.free_count, high - batch))
        trace = self.kernel.trace
        index = trace.record("mm_page_free", PAGE_FREE_KEYS, (pfn, 0), "")
        n = self.free_pcppages_bulk(zone, n_free, pcp, pindex, cpu)
        if rule == "batch6":
            high = pcp.high
        elif rule == "autotune" and zone.idx in self.below_high:
            pa = self.page_alloc
            if pa.zone_watermark_ok(zone, 0, zone.high, len(pa.zones) - 1, 0):
                self.below_high.discard(zone.idx)
        trace.set_why(index, (PCP_FREE_WHY + PCP_DRAIN_WHY, args + (high, n)))

    def nr_pcp_high(self, pcp: PerCpuPages, zone: Zone, batch: int, free_high: bool) -> int:
        """6.12 nr_pcp_high (no ZONE_RECLAIM_ACTIVE in the model)."""
        high = pcp.high = max(pcp.high_min, min(pcp.high, pcp.high_max))
        if not high:
            return 0
        if free_high:
            pcp.high = max(high - (batch << PCP_BATCH_SCALE_MAX), pcp.high_min)
            return 0
        if pcp.high_min == pcp.high_max:
            return high
        if zone.idx in self.below_high:
            free_count = max(pcp.free_count, batch)
            pcp.high = max(high - free_count, pcp.high_min)
            high = max(pcp.count, pcp.high_min)
        elif pcp.count >= high:
            need_high = pcp.free_count + batch
            if pcp.high < need_high:
                pcp.high = max(pcp.high_min, min(need_high, pcp.high_max))
        return high

    def free_pcppages_bulk(self, zone: Zone, count: int, pcp: PerCpuPages, pindex: int,
                           cpu: int) -> int:
        """free_pcppages_bulk: give ``count`` pages back, round-robin over the lists,
        from each list's tail (the coldest pages)."""
        per_migratetype = not self.profile.pcp_high_order_lists
        count = min(pcp.count, count)
        freed = 0
        nlists = len(pcp.lists)
        # mm_page_pcpu_drain per block, recorded at the end in one batch: nothing in
        # between emits an event, so order and timestamps are the per-block ones
        drained_pfns: list[int] = []
        drained_orders: list[int] = []
        drained_mts: list[int] = []
        if per_migratetype:
            migratetype = 0
            batch_free = 0
            to_free = count
            while to_free:
                while True:
                    batch_free += 1
                    migratetype = (migratetype + 1) % 3
                    if pcp.lists[migratetype]:
                        break
                if batch_free == 3:
                    batch_free = to_free
                lst = pcp.lists[migratetype]
                while True:
                    pfn = lst.pop()
                    mt = self.page_alloc.get_pageblock_migratetype(pfn)
                    self.page_alloc.free_one_page(zone, pfn, 0, mt)
                    drained_pfns.append(pfn)
                    drained_mts.append(mt)
                    pcp.count -= 1
                    freed += 1
                    to_free -= 1
                    batch_free -= 1
                    if not (to_free and batch_free and lst):
                        break
            self._trace_drained(drained_pfns, 0, drained_mts)
            return freed
        pindex -= 1
        while count > 0:
            for _ in range(nlists):
                pindex += 1
                if pindex > nlists - 1:
                    pindex = 0
                if pcp.lists[pindex]:
                    break
            else:   # the kernel would spin here forever: pcp->count is out of step
                raise AssertionError(f"{zone.name}: pcp.count {pcp.count} but every per-CPU "
                                     "list is empty (kmemlab invariant broken)")
            lst = pcp.lists[pindex]
            order = self.pindex_to_order(pindex)
            n = 1 << order
            while True:
                pfn = lst.pop()
                mt = self.page_alloc.get_pageblock_migratetype(pfn)
                count -= n
                pcp.count -= n
                self.page_alloc.free_one_page(zone, pfn, order, mt)
                drained_pfns.append(pfn)
                drained_orders.append(order)
                drained_mts.append(mt)
                freed += n
                if not (count > 0 and lst):
                    break
        self._trace_drained(drained_pfns, drained_orders, drained_mts)
        return freed

    def _trace_drained(self, pfns: list[int], orders, mts: list[int]) -> None:
        """trace_mm_page_pcpu_drain for each block free_pcppages_bulk gave back."""
        self.kernel.trace.record_batch("mm_page_pcpu_drain", PCPU_DRAIN_KEYS, PCPU_DRAIN_WHY,
                                       (pfns, orders, mts), len(pfns))

    def drain_all_pages(self) -> int:
        """drain_all_pages(NULL): empty every CPU's lists in every zone; pages freed."""
        total = 0
        for z in self.page_alloc.zones:
            for cpu, pcp in enumerate(self.pcp[z.idx] if self.pcp else []):
                if pcp.count:
                    total += self.free_pcppages_bulk(z, pcp.count, pcp, 0, cpu)
        return total

    def pcp_counts(self) -> dict[str, list[int]]:
        """{zone: [pages on each CPU's lists]} for populated zones."""
        return {z.name: [p.count for p in self.pcp[z.idx]] for z in self.page_alloc.zones
                if z.present and self.pcp}

    def pcp_free_type(self, pfns: list[int]) -> int | None:
        """The pcp list type all of ``pfns`` would be freed to, or None when the batch
        is not plain: a pfn that is not an allocated order-0 page (or repeated),
        several zones, several pageblock types, or an isolated pageblock."""
        pages = list(map(self.page_alloc.allocated.get, pfns))
        try:  # orders are ≥ 0, so a zero sum means all order 0; None has no order
            if sum(map(_ORDER_OF, pages)):
                return None
        except AttributeError:
            return None
        if len(set(pfns)) != len(pfns):
            return None
        # a Page's zone is the zone spanning its pfn, and zones are pfn ranges
        lo, hi = min(pfns), max(pfns)
        zone = self.page_alloc.zone_of_pfn(lo)
        if zone is None or zone is not self.page_alloc.zone_of_pfn(hi):
            return None
        pbo = self.pageblock_order
        types = set(self.page_alloc.pageblock_mt[lo >> pbo:(hi >> pbo) + 1])
        if len(types) != 1:  # the span mixes types: look at the pages' own blocks
            pb_mt = self.page_alloc.pageblock_mt
            types = {pb_mt[b] for b in set(map(pbo.__rrshift__, pfns))}
            if len(types) != 1:
                return None
        mt = types.pop()
        if mt >= self.PCPTYPES:
            if self._mt_name[mt] == "Isolate":
                return None
            mt = self.MOVABLE  # as free_to_pcp: HIGHATOMIC, CMA, RESERVE → movable list
        return mt

    def pcp_free_room(self, zone: Zone, pcp: PerCpuPages, limit: int) -> int:
        """How many order-0 frees (≤ ``limit``) free_to_pcp would end without draining,
        with the tuning those frees do applied to ``pcp`` (6.12:
        free_unref_page_commit's alloc_factor/free_count and nr_pcp_high's clamp).

        0 when the next free drains or the outcome needs the page-by-page path
        (6.12 with ZONE_BELOW_HIGH shrinking ``high`` on every free).
        """
        rule = self.profile.pcp_high_rule
        if rule == "batch6":
            return max(0, min(pcp.high - pcp.count - 1, limit))
        if rule == "low_wmark":
            return max(0, min(pcp.high - pcp.count - 1, limit)) if pcp.high else 0
        if pcp.high_min != pcp.high_max and zone.idx in self.below_high:
            return 0
        high = pcp.high = max(pcp.high_min, min(pcp.high, pcp.high_max))
        room = max(0, min(high - pcp.count - 1, limit)) if high else 0
        if room:
            pcp.alloc_factor >>= min(room, 8)
            pcp.prev_free_high_order = False
            cap = pcp.batch << PCP_BATCH_SCALE_MAX
            if pcp.free_count < cap:
                pcp.free_count = min(pcp.free_count + room, cap)
        return room
