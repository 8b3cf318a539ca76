"""The contiguous memory allocator (mm/cma.c; 3.15 drivers/base/dma-contiguous.c).

``cma=`` reserves an area in memblock at boot (``dma_contiguous_reserve``); after the
hand-over ``cma_init_reserved_areas`` releases it to the buddy allocator as
MIGRATE_CMA pageblocks (``init_cma_reserved_pageblock``), which only movable
allocations may use. ``cma_alloc`` finds a free range in the area's bitmap and calls
``alloc_contig_range``: isolate the pageblocks, migrate the movable pages out, take the
now free pages. Facts: shared/reference/linux-mm-facts.md section 6.2.

Not modelled: CMA areas other than the default one (``dma_contiguous_default_area``),
``order_per_bit`` > 0, the per-CPU lru_add drain (LRU pages are added at once), 6.x's
pageblock-granular isolation of partially covered MAX_ORDER blocks (the window here
is pageblock-aligned and straddling free blocks are split).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import report
from .page_alloc import Page
from .sizes import memparse

MiB = 1 << 20
GiB = 1 << 30
CONFIG_CMA_ALIGNMENT = 8
_MOVABLE_OWNERS = ("pages", "anon", "pagecache")


@dataclass(eq=False)
class CmaArea:
    """struct cma: ``base_pfn``, ``count`` pages, the allocation bitmap (one bit/page)."""

    name: str
    base_pfn: int
    count: int
    zone: str = ""
    bitmap: bytearray = field(default_factory=bytearray, repr=False)
    active: bool = False

    @property
    def allocated(self) -> list[int]:
        return [i for i, b in enumerate(self.bitmap) if b]

    @property
    def end_pfn(self) -> int:
        return self.base_pfn + self.count


@dataclass(eq=False)
class CmaAllocation:
    """What cma_alloc returns: ``count`` contiguous pages from ``pfn`` (``struct page *``
    of the first page in the kernel). ``addr`` is the direct-map address."""

    pfn: int
    count: int
    area: int
    pages: list[Page]
    addr: int | None
    migrated: int = 0

    @property
    def phys(self) -> int:
        return self.pfn << 12


class Cma:
    """mm/cma.c of one kernel (``k.cma``): its areas (``areas``, also ``k.cma_areas``)
    and the entry points ``cma_alloc`` / ``cma_release``.

    Built in setup_arch, before ``cma=`` reserves (:meth:`reserve`); :meth:`activate`
    releases the areas to the buddy allocator after the hand-over.
    """

    def __init__(self, k) -> None:
        self.k = k
        self.areas: list[CmaArea] = []

    @property
    def built_in(self) -> bool:
        """CONFIG_CMA: the kernel has MIGRATE_CMA, ``cma=`` and mm/cma.c."""
        return "CMA" in self.k.profile.migratetype_names

    def reserve(self) -> None:
        """setup_arch → dma_contiguous_reserve: ``cma=`` reserves its area in memblock
        (nothing without CONFIG_CMA: kernel/dma/contiguous.c is not built in)."""
        if self.built_in:
            self.dma_contiguous_reserve()

    def activate(self) -> None:
        """mm/cma.c: cma_init_reserved_areas → cma_activate_area (core_initcall)."""
        self.activate_areas()

    def alloc(self, count: int, align: int = 0, *, area: int = 0, no_warn: bool = False,
              caller: str | None = None):
        """cma_alloc(cma, count, align, no_warn) (mm/cma.c, 6.x; 3.15's
        dma_alloc_from_contiguous): ``count`` contiguous pages from a CMA area, moving
        movable pages out first; a :class:`CmaAllocation` or None."""
        self.require("cma_alloc")
        return self._cma_alloc(count, align, area, no_warn, self.k.caller_label(caller))

    def release(self, alloc_or_pfn, count: int | None = None, *, area: int = 0) -> bool:
        """cma_release(cma, pages, count) (mm/cma.c; 3.15 dma_release_from_contiguous)."""
        self.require("cma_release")
        return self._cma_release(alloc_or_pfn, count, area)

    def require(self, fn: str) -> None:
        """A kernel built without CONFIG_CMA has no mm/cma.c: the call does not exist."""
        if not self.built_in:
            p = self.k.profile
            raise ValueError(
                f"{fn}() does not exist in this kernel: it is built without CONFIG_CMA "
                f"({p.kconfig_source or p.name} ships '# CONFIG_CMA "
                "is not set'), so there is no MIGRATE_CMA, no cma= and no mm/cma.c; "
                "boot with config={'CONFIG_CMA': 'y'} (and cmdline='cma=64M') for one "
                "that has it")

    def digest(self) -> tuple:
        """Each area's allocated pfns (an item of ``k.address_space_digest()``)."""
        return tuple(tuple(sorted(c.allocated)) for c in self.areas)


    def _parse_cma(self) -> tuple[int, int, int] | None:
        """early_cma: 3.15 ``cma=size``; 6.x ``cma=size[@base[-limit]]``."""
        k = self.k
        raw = k.cmdline_params.get("cma")
        if raw is None:
            return None
        if not raw:
            raise ValueError("cma= needs a size, e.g. cma=64M")
        size_s, _, rest = raw.partition("@")
        size = memparse(size_s, what="cma=")
        base = limit = 0
        if rest:
            if not k.profile.cma_mm_cma_c:
                k.printk(f"cma: {k.profile.version}'s early_cma reads only the size; "
                         "'@base' ignored")
            else:
                base_s, _, limit_s = rest.partition("-")
                base = memparse(base_s, what="cma= base")
                limit = memparse(limit_s, what="cma= limit") if limit_s else base + size
        return size, base, limit

    def dma_contiguous_reserve(self) -> None:
        """dma_contiguous_reserve (drivers/base/dma-contiguous.c 3.15, kernel/dma/contiguous.c
        6.x) → dma_contiguous_reserve_area / cma_declare_contiguous_nid.

        No default area without ``cma=``: 6.x x86 has CONFIG_CMA_SIZE_MBYTES=0; for 3.15
        kmemlab assumes the distribution kernel had no default area either (UNVERIFIED).
        """
        k = self.k
        parsed = self._parse_cma()
        if parsed is None:
            return
        size, base, limit = parsed
        p = k.profile
        mb = k.memblock
        if size == 0:
            return
        if not p.cma_mm_cma_c:
            # PAGE_SIZE << max(MAX_ORDER - 1, pageblock_order)
            alignment = k.PAGE_SIZE << max(p.max_page_order, p.pageblock_order)
            fixed = False
            base = 0
            limit = 0
        else:
            # CMA_MIN_ALIGNMENT_BYTES = PAGE_SIZE * pageblock_nr_pages
            alignment = k.PAGE_SIZE * p.pageblock_nr_pages
            fixed = bool(base) and base + size == limit
            if fixed and base & (alignment - 1):
                k.printk(f"cma: Region at {base:#018x} must be aligned to {alignment:#018x} bytes")
                k.printk(f"cma: Failed to reserve {size // MiB} MiB")
                return
        base = -(-base // alignment) * alignment
        size = -(-size // alignment) * alignment
        limit &= ~(alignment - 1)
        memblock_end = max(r.end for r in mb.memory)
        accessible = mb.current_limit if mb.current_limit is not None else memblock_end
        if limit == 0 or limit > accessible:
            limit = accessible
        addr = None
        name = "CMA area (cma=)"
        if fixed:
            if not mb.is_reserved(base, size) and mb.memory.contains(base, size):
                mb.reserve(base, size, name)
                addr = base
        else:
            if p.cma_mm_cma_c and p.is_64bit and not mb.bottom_up and \
                    memblock_end >= 4 * GiB + size:
                mb.bottom_up = True
                addr = mb.phys_alloc(size, alignment, 4 * GiB, limit, name=name)
                mb.bottom_up = False
            if addr is None:
                addr = mb.phys_alloc(size, alignment, base, limit, name=name)
        if addr is None:
            if not p.cma_mm_cma_c:
                k.printk(f"CMA: failed to reserve {size // MiB} MiB")
            else:
                k.printk(f"cma: Failed to reserve {size // MiB} MiB")
            return
        area = CmaArea("reserved", addr >> k.PAGE_SHIFT, size >> k.PAGE_SHIFT,
                       bitmap=bytearray(size >> k.PAGE_SHIFT))
        k.cma.areas.append(area)
        if not p.cma_mm_cma_c:
            k.printk(f"CMA: reserved {size // MiB} MiB at {addr:08x}")
        else:
            k.printk(f"cma: Reserved {size // MiB} MiB at 0x{addr:016x}")
        k.trace.emit("cma_reserve", "top-down memblock allocation, aligned to "
                     f"{alignment >> 20} MiB", base=addr, size=size)

    def activate_areas(self) -> None:
        """cma_init_reserved_areas → cma_activate_area → init_cma_reserved_pageblock:
        each pageblock becomes MIGRATE_CMA and is freed to the buddy allocator; managed
        pages (and 6.x zone->cma_pages) grow."""
        k = self.k
        pa = k.page_alloc
        nr = k.profile.pageblock_nr_pages
        for area in k.cma.areas:
            zone = pa.zone_of_pfn(area.base_pfn)
            last = pa.zone_of_pfn(area.end_pfn - 1)
            if zone is None or zone is not last:
                k.printk(f"cma: CMA area {area.name} could not be activated")
                continue
            area.zone = zone.name
            order = min(k.profile.pageblock_order, pa.max_order)
            for pfn in range(area.base_pfn, area.end_pfn, nr):
                pa.set_pageblock_migratetype(pfn, pa.CMA)
                for sub in range(pfn, pfn + nr, 1 << order):
                    pa.free_one_page(zone, sub, order, pa.CMA, None)
            zone.managed += area.count
            zone.cma_pages += area.count
            k.totalram_pages += area.count
            area.active = True
            k.trace.emit("cma_activate", "MIGRATE_CMA pageblocks handed to the buddy allocator",
                         base=area.base_pfn << k.PAGE_SHIFT, size=area.count << k.PAGE_SHIFT)

    def alloc_contig_range(self, area: CmaArea, start: int, end: int, label: str):
        """mm/page_alloc.c: alloc_contig_range(start, end, MIGRATE_CMA): 0 with the pages
        taken, or "EBUSY"/"ENOMEM" with nothing changed. Returns (err, pages, migrated)."""
        k = self.k
        pa = k.page_alloc
        zone = pa.zone_by_name[area.zone]
        p = k.profile
        iso = p.migratetype("Isolate")
        if not p.cma_mm_cma_c:    # pfn_max_align_down/up: MAX_ORDER_NR_PAGES
            unit = max(1 << pa.max_order, p.pageblock_nr_pages)
        else:                     # 6.x isolates pageblocks
            unit = p.pageblock_nr_pages
        ws = max(area.base_pfn, start & ~(unit - 1))
        we = min(area.end_pfn, -(-end // unit) * unit)
        if pa.pcp_enabled:
            pa.drain_all_pages()   # lru_add_drain_all + drain_all_pages
        # what sits in [start, end): every allocated block must be movable
        movers: list[Page] = []
        pfn = start
        while pfn < end:
            blk = _block_at(pa, pfn)
            if blk is None:
                pfn += 1
                continue
            head, order, kind = blk
            if kind == "allocated":
                pg = pa.allocated[head]
                if pg.migratetype != pa.MOVABLE or pg.owner not in _MOVABLE_OWNERS or pg.pinned:
                    return "EBUSY", [], 0
                movers.append(pg)
            pfn = head + (1 << order)
        # start_isolate_page_range: pageblocks -> MIGRATE_ISOLATE, free pages off the lists
        old_mts = {}
        for b in range(ws, we, p.pageblock_nr_pages):
            old_mts[b] = pa.get_pageblock_migratetype(b)
            pa.set_pageblock_migratetype(b, iso)
        first = _block_at(pa, ws)
        scan_lo = first[0] if first else ws
        _relist(pa, zone, scan_lo, we, iso)

        span = 1 << pa.max_order

        def undo() -> None:
            for b, mt in old_mts.items():
                pa.set_pageblock_migratetype(b, mt)
            _relist(pa, zone, max(zone.zone_start_pfn, scan_lo - span),
                    min(zone.zone_end_pfn, we + span), pa.CMA, only_mt=iso)

        # __alloc_contig_migrate_range: a new page for each movable block
        targets = []
        gfp_user_movable = k.gfp_value("GFP_HIGHUSER_MOVABLE|__GFP_NOWARN")
        for pg in movers:
            new = pa.alloc_pages(gfp_user_movable, pg.order, owner=pg.owner, detail=pg.detail,
                                 caller="alloc_migration_target")
            if new is None:
                for t in targets:
                    pa.free_pages(t, t.order)
                undo()
                return "ENOMEM", [], 0
            targets.append(new)
        for pg, new in zip(movers, targets):
            old_pfn = pg.pfn
            del pa.allocated[new.pfn]
            del pa.allocated[old_pfn]
            pg.pfn, pg.zone = new.pfn, new.zone
            pa.allocated[new.pfn] = pg
            pa.free_one_page(zone, old_pfn, pg.order, iso, None)
            k.reclaim.page_migrated(pg, old_pfn)   # a page-cache or workload page: its LRU entry
        if movers:
            k.trace.emit("mm_migrate_pages", f"moved {len(movers)} movable blocks out of the CMA "
                         "range", nr_succeeded=sum(1 << m.order for m in movers), nr_failed=0,
                         nr_thp_succeeded=0, nr_thp_failed=0, nr_thp_split=0,
                         mode="MIGRATE_SYNC", reason="contig_range")
        # isolate_freepages_range: take every free block overlapping [start, end)
        first = _block_at(pa, start)
        pfn = first[0] if first else start
        while pfn < end:
            e = pa.free_blocks.get(pfn)
            if e is None:
                pfn += 1
                continue
            o, mt = e
            pa.del_page_from_free_list(zone, pfn, o, mt)
            lo, hi = pfn, pfn + (1 << o)
            if lo < start:
                _free_range(pa, zone, lo, start, iso)
            if hi > end:
                _free_range(pa, zone, end, hi, iso)
            pfn = hi
        pages = []
        a = start
        gfp_cma = k.gfp_value("GFP_KERNEL")
        while a < end:
            order = min(pa.max_order, (a & -a).bit_length() - 1 if a else pa.max_order)
            while a + (1 << order) > end:
                order -= 1
            pg = Page(a, order, zone.name, "cma", f"cma_alloc {area.name}", gfp_cma, pa.CMA, label)
            pa.allocated[a] = pg
            pages.append(pg)
            a += 1 << order
        undo()
        return None, pages, len(movers)

    def _cma_alloc(self, count, align, area_idx, no_warn, label):
        """mm/cma.c: cma_alloc (6.x) / 3.15 dma_alloc_from_contiguous: bitmap search, then
        alloc_contig_range; on -EBUSY try the next aligned range."""
        k = self.k
        for name, val in (("count", count), ("align", align), ("area", area_idx)):
            if isinstance(val, bool) or not isinstance(val, int):
                raise TypeError(f"{name} must be an int, not {type(val).__name__}")
        if count <= 0:
            raise ValueError(f"count must be > 0 pages, not {count}")
        if align < 0:
            raise ValueError(f"align (an order) must be ≥ 0, not {align}")
        if not 0 <= area_idx < len(k.cma.areas):
            raise ValueError("no such CMA area; boot with cmdline='cma=64M' to reserve one")
        area = k.cma.areas[area_idx]
        if not area.active:
            raise ValueError(f"CMA area {area.name} is not active")
        if not k.profile.cma_mm_cma_c:
            align = min(align, CONFIG_CMA_ALIGNMENT)
        k.might_sleep_if_alloc(k.gfp_value("GFP_KERNEL"), 0)
        if k.profile.trace_cma_events:
            k.trace.emit("cma_alloc_start", "cma_alloc", name=area.name, count=count, align=align)
        mask = (1 << align) - 1
        bitmap = area.bitmap
        err = "ENOMEM"
        result = None
        start = 0
        while True:
            no = _find_zero_area(bitmap, start, count, mask, area.base_pfn)
            if no is None:
                break
            pfn = area.base_pfn + no
            err, pages, migrated = self.alloc_contig_range(area, pfn, pfn + count, label)
            if err is None:
                for i in range(no, no + count):
                    bitmap[i] = 1
                addr = k.pfn_to_virt(pfn) if pfn + count <= k.max_low_pfn else None
                result = CmaAllocation(pfn, count, area_idx, pages, addr, migrated)
                break
            if err != "EBUSY":
                break
            start = no + mask + 1
        if k.profile.trace_cma_events:
            k.trace.emit("cma_alloc_finish", "ok" if result else f"failed: -{err}", name=area.name,
                         pfn=result.pfn if result else -1, count=count, align=align,
                         errorno=0 if result else -12)
        if result is None and not no_warn:
            k.printk(f"cma: cma_alloc: {area.name}: alloc failed, req-size: {count} pages, "
                     f"ret: -{12 if err == 'ENOMEM' else 16}")
        return result

    def _warn_in_use(self, n: int) -> None:
        """free_contig_range's ``WARN(count != 0, "%lu pages are still in use!\n", count)``
        (mm/page_alloc.c, 3.15 and 6.x; kernel/panic.c: __warn prints the message after the
        WARNING line)."""
        k = self.k
        report.warn(k, "mm/page_alloc.c free_contig_range()",
                    after=[f"{n} pages are still in use!"], modules=True,
                    why="kmemlab: why: cma_release of pages this allocation does not hold "
                        "(released twice, or a wrong count): the kernel would underflow their "
                        "refcounts; nothing was freed")

    def _cma_release(self, alloc_or_pfn, count, area_idx) -> bool:
        """mm/cma.c: cma_release (3.15: dma_release_from_contiguous) → free_contig_range +
        clear the bitmap; True when the pages went back.

        False, as the kernel returns, for pages outside the area (cma_pages_valid: only a
        pr_debug). A range running past the area's end is the kernel's ``VM_BUG_ON(pfn +
        count > cma->base_pfn + cma->count)``, and a range with pages this area did not
        hand out (released twice, a wrong count) makes free_contig_range ``WARN("%lu pages
        are still in use!")`` while it underflows their refcounts: kmemlab prints that
        warning and returns False with nothing freed, rather than corrupt the allocator."""
        k = self.k
        if isinstance(alloc_or_pfn, CmaAllocation):
            pfn, count, area_idx = alloc_or_pfn.pfn, alloc_or_pfn.count, alloc_or_pfn.area
        else:
            pfn = alloc_or_pfn
            if isinstance(pfn, bool) or not isinstance(pfn, int):
                raise TypeError("cma_release takes what cma_alloc returned, or a pfn and count")
            if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
                raise TypeError("cma_release(pfn, count): count is a positive int")
        if not 0 <= area_idx < len(k.cma.areas):
            raise ValueError("no such CMA area")
        area = k.cma.areas[area_idx]
        if pfn < area.base_pfn or pfn >= area.end_pfn:
            return False
        if pfn + count > area.end_pfn:
            k.printk(f"kmemlab: cma_release(pfn {pfn:#x}, count {count}) runs past the end of "
                     f"{area.name} (pfn {area.end_pfn:#x}): VM_BUG_ON(pfn + count > "
                     "cma->base_pfn + cma->count); nothing was freed")
            return False
        off = pfn - area.base_pfn
        pa = k.page_alloc
        heads = []
        a = pfn
        while a < pfn + count:   # the blocks of one cma_alloc: owner "cma", inside the range
            pg = pa.allocated.get(a)
            if pg is None or pg.owner != "cma" or a + (1 << pg.order) > pfn + count:
                break
            heads.append(pg)
            a += 1 << pg.order
        if a < pfn + count or not all(area.bitmap[off:off + count]):
            self._warn_in_use(count - area.bitmap[off:off + count].count(1) or count)
            return False
        for pg in heads:
            pa.free_pages(pg, pg.order)
        for i in range(off, off + count):
            area.bitmap[i] = 0
        if k.profile.trace_cma_events:
            k.trace.emit("cma_release", "pages back to the buddy allocator (MIGRATE_CMA)",
                         name=area.name, pfn=pfn, count=count)
        return True


# ============================================================================ allocation

def _block_at(pa, pfn: int):
    """The free or allocated block that contains ``pfn``: (head, order, kind)."""
    for o in range(pa.nr_orders):
        head = pfn & ~((1 << o) - 1)
        e = pa.free_blocks.get(head)
        if e is not None and e[0] >= o:
            return head, e[0], "free"
        pg = pa.allocated.get(head)
        if pg is not None and pg.order >= o:
            return head, pg.order, "allocated"
    return None


def _relist(pa, zone, lo: int, hi: int, new_mt: int, only_mt: int | None = None) -> None:
    """Move the free blocks with heads in [lo, hi) to ``new_mt``'s lists
    (move_freepages_block / set_migratetype_isolate)."""
    pfn = lo
    while pfn < hi:
        e = pa.free_blocks.get(pfn)
        if e is not None:
            o, mt = e
            if only_mt is None or mt == only_mt:
                pa.del_page_from_free_list(zone, pfn, o, mt)
                pa.add_to_free_list(zone, pfn, o, new_mt, tail=False)
            pfn += 1 << o
            continue
        pg = pa.allocated.get(pfn)
        pfn += (1 << pg.order) if pg is not None else 1


def _free_range(pa, zone, lo: int, hi: int, mt: int) -> None:
    """Free [lo, hi) in naturally aligned chunks (like __free_pages_memory)."""
    a = lo
    while a < hi:
        order = min(pa.max_order, (a & -a).bit_length() - 1 if a else pa.max_order)
        while a + (1 << order) > hi:
            order -= 1
        pa.free_one_page(zone, a, order, mt, None)
        a += 1 << order


def _find_zero_area(bitmap: bytearray, start: int, count: int, mask: int,
                    base_pfn: int) -> int | None:
    """bitmap_find_next_zero_area_off with cma_bitmap_aligned_offset."""
    n = len(bitmap)
    off = (-base_pfn) & mask
    i = start
    while True:
        if mask:
            i = off if i <= off else ((i - off + mask) & ~mask) + off
        if i + count > n:
            return None
        busy = bitmap.find(1, i, i + count)
        if busy < 0:
            return i
        i = busy + 1


