"""Kernel page tables (init_mm / swapper_pg_dir) and ``k.walk(addr)``.

x86_64: 4 levels, PGD → PUD → PMD → PTE, 9 index bits each
(arch/x86/include/asm/pgtable_64_types.h: PGDIR_SHIFT 39, PUD_SHIFT 30, PMD_SHIFT 21).
i386 without PAE: 2 levels, PGD (1024 entries of 4 MiB) → PTE
(arch/x86/include/asm/pgtable-2level_types.h: PGDIR_SHIFT 22). PAE is not modelled.

The direct map and the kernel text map are modelled as a linear map with large pages
(2 MiB PMD entries on x86_64, 4 MiB PSE PGD entries on i386), built at boot from
memblock (arch/x86/mm/init.c: init_memory_mapping → kernel_physical_mapping_init).
Their tables are boot-time tables (``pfn=None``) and are computed, not stored.

Everything mapped later — vmalloc, vmap, modules, kmap — writes real entries here, and
the table pages below the PGD come from the buddy allocator with ``owner="pgtable"``
(mm/memory.c: __pud_alloc / __pmd_alloc / __pte_alloc_kernel → pud_alloc_one,
pmd_alloc_one, pte_alloc_one_kernel). Kernel page tables are never freed on vunmap
(mm/vmalloc.c: vunmap_range_noflush only clears PTEs), so neither are these.
"""

from __future__ import annotations

from dataclasses import dataclass

# arch/x86/include/asm/pgtable_types.h
_PAGE_PRESENT = 0x001
_PAGE_RW = 0x002
_PAGE_ACCESSED = 0x020
_PAGE_DIRTY = 0x040
_PAGE_PSE = 0x080
_PAGE_GLOBAL = 0x100
_PAGE_NX = 1 << 63
_KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY       # 0x063
PAGE_KERNEL_EXEC = _KERNPG_TABLE | _PAGE_GLOBAL                               # 0x163
PAGE_KERNEL_LARGE_EXEC = PAGE_KERNEL_EXEC | _PAGE_PSE                         # 0x1e3

LEVELS_X86_64 = (("PGD", 39), ("PUD", 30), ("PMD", 21), ("PTE", 12))
LEVELS_I386 = (("PGD", 22), ("PTE", 12))


def page_kernel(is_64bit: bool) -> int:
    """PAGE_KERNEL: present, rw, accessed, dirty, global (+ NX on x86_64)."""
    return PAGE_KERNEL_EXEC | (_PAGE_NX if is_64bit else 0)


class Table:
    """One page-table page. A directory (PGD/PUD/PMD) keeps its present entries in
    ``entries`` (index → child :class:`Table`); a PTE table is an array of slots,
    kept as two lists: the frame each slot maps (``pte_pfns``, None = not present)
    and its protection bits (``pte_prots``), so mapping a run of pages is two slice
    assignments. :meth:`pte` gives the entry as the hardware reads it."""

    __slots__ = ("level", "pfn", "entries", "pte_pfns", "pte_prots", "boot")

    def __init__(self, level: str, pfn: int | None, boot: bool = False,
                 nr_entries: int = 512) -> None:
        self.level = level
        self.pfn = pfn
        self.entries: dict[int, Table] = {}
        leaf = level == "PTE"
        self.pte_pfns: list[int | None] | None = [None] * nr_entries if leaf else None
        self.pte_prots: list[int] | None = [0] * nr_entries if leaf else None
        self.boot = boot

    def __len__(self) -> int:
        """Present entries."""
        if self.pte_pfns is not None:
            return len(self.pte_pfns) - self.pte_pfns.count(None)
        return len(self.entries)

    def pte(self, idx: int) -> int:
        """The entry of slot ``idx``: (pfn << PAGE_SHIFT) | prot, 0 when not present."""
        pfn = self.pte_pfns[idx]
        return 0 if pfn is None else (pfn << 12) | self.pte_prots[idx]

    def __repr__(self) -> str:
        where = "boot" if self.pfn is None else f"pfn {self.pfn:#x}"
        return f"<{self.level} table ({where}), {len(self)} entries>"


@dataclass(frozen=True)
class WalkLevel:
    """One step of a walk: the level, the index used, the entry found."""

    level: str
    index: int
    entry: int                 # the raw entry value (0 = not present)
    table_pfn: int | None      # the page-table page read (None: a boot-time table)
    large: bool = False        # a PSE entry that maps a large page directly

    @property
    def present(self) -> bool:
        return bool(self.entry & _PAGE_PRESENT)

    def __str__(self) -> str:
        tbl = "boot" if self.table_pfn is None else f"pfn {self.table_pfn:#x}"
        big = " (large page)" if self.large else ""
        return f"{self.level}[{self.index:3d}] = {self.entry:#018x}  (table {tbl}){big}"


@dataclass(frozen=True)
class Walk:
    """The result of ``k.walk(addr)``: each level's index and entry, and the answer."""

    addr: int
    levels: tuple[WalkLevel, ...]
    phys: int | None           # the physical address, or None when not mapped
    page_size: int
    region: str | None

    @property
    def present(self) -> bool:
        return self.phys is not None

    @property
    def pfn(self) -> int | None:
        return None if self.phys is None else self.phys >> 12

    @property
    def indices(self) -> dict[str, int]:
        return {lv.level: lv.index for lv in self.levels}

    def __str__(self) -> str:
        lines = [f"walk {self.addr:#x} ({self.region or 'no region'}):"]
        lines += ["  " + str(lv) for lv in self.levels]
        if self.phys is None:
            lines.append("  -> not mapped")
        else:
            lines.append(f"  -> phys {self.phys:#x} (page size {self.page_size >> 10} KiB)")
        return "\n".join(lines)


class PageTables:
    """init_mm's page tables for one simulated kernel.

    ``pte_writes``/``pte_clears`` count entries written and cleared; ``table_pages``
    the page-table pages taken from the buddy allocator (by level).
    """

    def __init__(self, k) -> None:
        self.k = k
        self.is_64bit = k.profile.is_64bit
        self.levels = LEVELS_X86_64 if self.is_64bit else LEVELS_I386
        self.index_bits = 9 if self.is_64bit else 10
        self.root = Table("PGD", None, boot=True)   # swapper_pg_dir / init_top_pgt
        self.pte_writes = 0
        self.pte_clears = 0
        self.table_pages: dict[str, int] = {}
        self.prot = page_kernel(self.is_64bit)
        leaf = self.levels[-2]
        self.pte_span = 1 << (leaf[1])  # bytes one PTE table maps (2 MiB / 4 MiB)

    # ---------------------------------------------------------------- indices
    def indices(self, addr: int) -> list[tuple[str, int]]:
        """pgd_index, pud_index, pmd_index, pte_index of ``addr``."""
        mask = (1 << self.index_bits) - 1
        return [(name, (addr >> shift) & mask) for name, shift in self.levels]

    # ---------------------------------------------------------------- tables
    def _new_table(self, level: str, boot: bool) -> Table | None:
        nr = 1 << self.index_bits
        if boot:
            return Table(level, None, boot=True, nr_entries=nr)
        k = self.k
        # PGALLOC_GFP / GFP_PGTABLE_KERNEL = GFP_KERNEL | __GFP_ZERO (arch/x86/mm/pgtable.c)
        from . import gfp as _gfp
        flags = _gfp.flag("GFP_KERNEL") | _gfp.flag("__GFP_ZERO")
        page = k.page_alloc.alloc_pages(flags, 0, owner="pgtable", detail=f"kernel {level}",
                                        caller=f"{level.lower()}_alloc_kernel")
        if page is None:
            return None
        self.table_pages[level] = self.table_pages.get(level, 0) + 1
        return Table(level, page.pfn, nr_entries=nr)

    def pte_table(self, addr: int, create: bool, boot: bool = False) -> Table | None:
        """The PTE table covering ``addr``, allocating the missing levels when ``create``."""
        t = self.root
        mask = (1 << self.index_bits) - 1
        for depth in range(len(self.levels) - 1):
            idx = (addr >> self.levels[depth][1]) & mask
            child = t.entries.get(idx)
            if child is None:
                if not create:
                    return None
                child = self._new_table(self.levels[depth + 1][0], boot)
                if child is None:
                    return None
                t.entries[idx] = child
            t = child
        return t

    def map_pages(self, start: int, pfns: list[int], prot: int | None = None,
                  boot: bool = False) -> int | None:
        """vmap_pages_range: one PTE per page from ``start``. Returns PTEs written, or None
        when a page-table page could not be allocated (entries written so far stay)."""
        if prot is None:
            prot = self.prot
        shift = self.levels[-1][1]
        mask = (1 << self.index_bits) - 1
        span = self.pte_span
        i = 0
        n = len(pfns)
        written = 0
        addr = start
        while i < n:
            tbl = self.pte_table(addr, True, boot)
            if tbl is None:
                self.pte_writes += written
                return None
            room = (span - (addr & (span - 1))) >> shift
            chunk = min(room, n - i)
            idx = (addr >> shift) & mask
            tbl.pte_pfns[idx:idx + chunk] = pfns[i:i + chunk]
            tbl.pte_prots[idx:idx + chunk] = [prot] * chunk
            written += chunk
            i += chunk
            addr += chunk << shift
        self.pte_writes += written
        return written

    def unmap_range(self, start: int, end: int) -> int:
        """vunmap_range_noflush: clear the PTEs of [start, end); tables stay."""
        shift = self.levels[-1][1]
        mask = (1 << self.index_bits) - 1
        span = self.pte_span
        cleared = 0
        addr = start
        while addr < end:
            nxt = min(end, (addr | (span - 1)) + 1)
            tbl = self.pte_table(addr, False)
            if tbl is not None:
                lo, hi = (addr >> shift) & mask, ((nxt - 1) >> shift & mask) + 1
                slots = tbl.pte_pfns
                cleared += hi - lo - slots[lo:hi].count(None)
                slots[lo:hi] = [None] * (hi - lo)
            addr = nxt
        self.pte_clears += cleared
        return cleared

    def lookup_pte(self, addr: int) -> int:
        """The PTE value for ``addr`` in the stored tables (0 if none)."""
        tbl = self.pte_table(addr, False)
        if tbl is None:
            return 0
        return tbl.pte((addr >> 12) & ((1 << self.index_bits) - 1))

    def mapped_ptes(self) -> dict[int, int]:
        """Every stored PTE: virtual page address → entry (for checks and plots)."""
        out: dict[int, int] = {}
        top = 0xFFFF000000000000 if self.is_64bit else 0

        def rec(t: Table, depth: int, base: int) -> None:
            shift = self.levels[depth][1]
            if t.pte_pfns is not None:
                for idx, pfn in enumerate(t.pte_pfns):
                    if pfn is not None:
                        addr = base | (idx << shift)
                        out[addr | (top if addr >> 47 & 1 else 0)] = t.pte(idx)
                return
            for idx, child in t.entries.items():
                rec(child, depth + 1, base | (idx << shift))
        rec(self.root, 0, 0)
        return out

    def nr_table_pages(self) -> int:
        return sum(self.table_pages.values())

    # ---------------------------------------------------------------- walk
    def walk(self, addr: int) -> Walk:
        """Walk init_mm's tables for ``addr`` (arch/x86/mm/fault.c: dump_pagetable order)."""
        k = self.k
        lay = k.layout
        region = lay.region_of(addr)
        rname = region.name if region else None
        idx = self.indices(addr)
        if rname in ("direct map", "lowmem", "kernel text"):
            return self._walk_linear(addr, idx, rname)
        levels = []
        t: Table | None = self.root
        for depth, (name, i) in enumerate(idx):
            if t is None:
                break
            e = t.pte(i) if t.pte_pfns is not None else t.entries.get(i)
            if not e:
                levels.append(WalkLevel(name, i, 0, t.pfn))
                return Walk(addr, tuple(levels), None, k.PAGE_SIZE, rname)
            if isinstance(e, Table):
                phys = (e.pfn << 12) if e.pfn is not None else 0
                levels.append(WalkLevel(name, i, phys | _KERNPG_TABLE, t.pfn))
                t = e
            else:
                levels.append(WalkLevel(name, i, e, t.pfn))
                phys = (e & 0x000FFFFFFFFFF000) | (addr & 0xFFF)
                return Walk(addr, tuple(levels), phys, k.PAGE_SIZE, rname)
            if depth == len(idx) - 1:
                break
        return Walk(addr, tuple(levels), None, k.PAGE_SIZE, rname)

    def _walk_linear(self, addr: int, idx, rname: str) -> Walk:
        """The boot-time linear maps, with large pages (PMD 2 MiB / PGD 4 MiB)."""
        k = self.k
        p = k.profile
        if rname == "kernel text":
            phys = addr - p.start_kernel_map
            flags = PAGE_KERNEL_LARGE_EXEC
            valid = phys < k.layout.KERNEL_IMAGE_SIZE
        else:
            phys = addr - p.page_offset
            flags = PAGE_KERNEL_LARGE_EXEC | (_PAGE_NX if self.is_64bit else 0)
            valid = phys < k.max_low_pfn << k.PAGE_SHIFT and \
                k.memblock.memory.overlaps(phys, 1)
        large_shift = 21 if self.is_64bit else 22
        size = 1 << large_shift
        levels = []
        last = len(idx) - 1 if not self.is_64bit else 2   # PGD (i386) or PMD (x86_64)
        for depth, (name, i) in enumerate(idx[:last + 1]):
            if depth < last:
                levels.append(WalkLevel(name, i, _KERNPG_TABLE if valid else 0, None))
            else:
                entry = ((phys & ~(size - 1)) | flags) if valid else 0
                levels.append(WalkLevel(name, i, entry, None, large=valid))
        return Walk(addr, tuple(levels), phys if valid else None, size, rname)
