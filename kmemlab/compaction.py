"""Compaction (mm/compaction.c: compact_zone): movable LRU pages are migrated out of
an aligned block (a new page is allocated elsewhere, the old one freed) until the block
is free and merges to the requested order. Called from direct reclaim
(kmemlab/reclaim.py: direct_reclaim, the kernel's __alloc_pages_direct_compact).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .vmscan import count_vm_events

if TYPE_CHECKING:
    from .reclaim import ReclaimState


def _inside_free(pa, base: int, order: int) -> bool:
    for o in range(order, pa.nr_orders):
        head = base & ~((1 << o) - 1)
        e = pa.free_blocks.get(head)
        if e is not None and e[0] >= o:
            return True
    return False


class Compaction:
    """mm/compaction.c: compact_zone over the zonelist (``k.reclaim.compaction``)."""

    def __init__(self, kernel, state: ReclaimState) -> None:
        self.k = kernel
        self.state = state   # k.reclaim: the LRU lists and kswapd/OOM state

    # ====================================================================== compaction
    def compact(self, zonelist, order: int) -> int:
        """mm/compaction.c: try_to_compact_pages → compact_zone (one zone at a time).

        Looks for the order-aligned block, in a MOVABLE pageblock, that holds only free
        pages and movable LRU pages and needs the fewest migrations; migrates each of
        them (mm/migrate.c: migrate_pages: allocate a page outside the block, move, free
        the old one) until the block is free and merges. Returns 1 << order on
        success, 0 otherwise. Counts compact_stall/success/fail, compact_isolated,
        compact_migrate_scanned, compact_free_scanned and pgmigrate_success.
        """
        k = self.k
        pa = k.page_alloc
        st = self.state
        count_vm_events(k, "compact_stall")
        size = 1 << order
        lru_by_pfn = {**st.lru["file"], **st.lru["anon"]}
        k.drain_all_pages()
        for zone in zonelist:
            # compaction_suitable: enough free pages to hold the migrated ones
            if zone.free_pages < size * 2:
                continue
            best = None
            counts: dict[int, int] = {}
            bad: set[int] = set()
            for pfn, page in pa.allocated.items():
                if page.zone != zone.name:
                    continue
                base = pfn & ~(size - 1)
                if pfn in lru_by_pfn and page.order == 0:
                    counts[base] = counts.get(base, 0) + 1
                else:
                    bad.add(base)
                    if page.order >= order:
                        for b in range(pfn, pfn + (1 << page.order), size):
                            bad.add(b)
            start = -(-zone.zone_start_pfn // size) * size
            for base, n in sorted(counts.items()):
                if base in bad or base < start or base + size > zone.zone_end_pfn:
                    continue
                if pa.get_pageblock_migratetype(base) != pa.MOVABLE:
                    continue
                if k.memblock.is_reserved(base << k.PAGE_SHIFT, size << k.PAGE_SHIFT):
                    continue
                if best is None or n < best[1]:
                    best = (base, n)
            if best is None:
                continue
            base, n = best
            if n > zone.free_pages - size:
                continue
            count_vm_events(k, "compact_migrate_scanned", size)
            moved = self._migrate_block(zone, base, size, lru_by_pfn)
            k.drain_all_pages()
            entry = pa.free_blocks.get(base)
            if entry is not None and entry[0] >= order or _inside_free(pa, base, order):
                count_vm_events(k, "compact_success")
                k.trace.emit("mm_compaction_end",
                             f"compaction migrated {moved} movable pages out of the order-{order} "
                             f"block at pfn {base:#x} in {zone.name}; the block is free now",
                             zone_start=zone.zone_start_pfn, migrate_pfn=base,
                             free_pfn=zone.zone_end_pfn, order=order, status="success")
                return size
        count_vm_events(k, "compact_fail")
        k.trace.emit("mm_compaction_end",
                     f"compaction found no order-{order} block made only of free and movable "
                     "pages", order=order, status="no_suitable_page")
        return 0

    def _migrate_block(self, zone, base: int, size: int, lru_by_pfn) -> int:
        """mm/migrate.c: migrate_pages for the LRU pages of [base, base + size)."""
        k = self.k
        pa = k.page_alloc
        st = self.state
        g = k.profile.gfp.values
        # the free scanner: a movable page from anywhere, no watermark (compaction checked
        # compaction_suitable already), no kswapd wakeup
        value = g["__GFP_MOVABLE"] | g["__GFP_NOWARN"] | g["__GFP_MEMALLOC"] | \
            g.get("__GFP_NO_KSWAPD", 0)
        if zone.name == "HighMem":
            value |= g["__GFP_HIGHMEM"]
        elif zone.name == "DMA32":
            value |= g["__GFP_DMA32"]
        elif zone.name == "DMA":
            value |= g["__GFP_DMA"]
        held = []
        moved = 0
        try:
            for pfn in range(base, base + size):
                lp = lru_by_pfn.get(pfn)
                if lp is None or pa.allocated.get(pfn) is not lp.page:
                    continue
                count_vm_events(k, "compact_isolated")
                new = None
                for _ in range(size + 1):
                    cand = pa.alloc_pages(value, 0, owner=lp.page.owner, detail=lp.page.detail,
                                          caller="migrate_pages")
                    if cand is None:
                        break
                    count_vm_events(k, "compact_free_scanned")
                    if base <= cand.pfn < base + size or cand.zone != zone.name:
                        held.append(cand)
                        continue
                    new = cand
                    break
                if new is None:
                    count_vm_events(k, "pgmigrate_fail")
                    break
                old = lp.page
                st.remove(lp)
                new.gfp = old.gfp
                lp.page = new
                st.add(lp)
                if lp.task is not None:
                    lp.task.page_migrated(old.pfn, lp)
                pa.free_pages(old, 0, caller="migrate_pages")
                count_vm_events(k, "pgmigrate_success")
                moved += 1
        finally:
            for cand in held:
                pa.free_pages(cand, 0, caller="compaction")
        return moved
