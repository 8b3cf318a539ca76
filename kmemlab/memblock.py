"""The boot-time allocator (mm/memblock.c).

``memblock.memory`` lists the RAM ranges firmware reported; ``memblock.reserved``
the ranges in use. Until the hand-over to the buddy allocator
(``memblock_free_all`` in 6.x, ``free_all_bootmem`` in 3.15) every early allocation
comes from here, top-down by default.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass
class Region:
    base: int
    size: int

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(frozen=True)
class Reservation:
    """One named reservation, kept for plots and /proc/iomem (memblock merges them)."""

    base: int
    size: int
    name: str


class RegionList:
    """A sorted, merged list of ranges (struct memblock_type)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.regions: list[Region] = []

    def __iter__(self):
        return iter(self.regions)

    def __len__(self) -> int:
        return len(self.regions)

    @property
    def total_size(self) -> int:
        return sum(r.size for r in self.regions)

    def add(self, base: int, size: int) -> None:
        """memblock_add_range: insert and merge with neighbours."""
        if size <= 0:
            return
        end = base + size
        keep: list[Region] = []
        for r in self.regions:
            if r.end < base or r.base > end:
                keep.append(r)
            else:  # overlapping or touching: absorb
                base, end = min(base, r.base), max(end, r.end)
        keep.append(Region(base, end - base))
        keep.sort(key=lambda r: r.base)
        self.regions = keep

    def remove(self, base: int, size: int) -> None:
        """memblock_remove_range: cut [base, base+size) out, splitting regions."""
        end = base + size
        out: list[Region] = []
        for r in self.regions:
            if r.end <= base or r.base >= end:
                out.append(r)
                continue
            if r.base < base:
                out.append(Region(r.base, base - r.base))
            if r.end > end:
                out.append(Region(end, r.end - end))
        self.regions = out

    def overlaps(self, base: int, size: int) -> bool:
        end = base + size
        starts = [r.base for r in self.regions]
        i = bisect.bisect_right(starts, base) - 1
        for r in self.regions[max(i, 0):]:
            if r.base >= end:
                break
            if r.end > base:
                return True
        return False

    def contains(self, base: int, size: int) -> bool:
        return any(r.base <= base and base + size <= r.end for r in self.regions)


class Memblock:
    """struct memblock: memory, reserved, direction and current limit."""

    def __init__(self, *, bottom_up: bool = False, smp_cache_bytes: int = 64) -> None:
        self.memory = RegionList("memory")
        self.reserved = RegionList("reserved")
        self.bottom_up = bottom_up
        self.current_limit: int | None = None  # MEMBLOCK_ALLOC_ACCESSIBLE
        self.smp_cache_bytes = smp_cache_bytes
        self.reservations: list[Reservation] = []
        self.handed_over = False

    # ------------------------------------------------------------ basic operations
    def add(self, base: int, size: int) -> None:
        """memblock_add (mm/memblock.c): register RAM."""
        self.memory.add(base, size)

    def reserve(self, base: int, size: int, name: str = "reserved") -> None:
        """memblock_reserve (mm/memblock.c): mark a range in use."""
        self.reserved.add(base, size)
        self.reservations.append(Reservation(base, size, name))

    def free(self, base: int, size: int) -> None:
        """memblock_free / memblock_phys_free (mm/memblock.c): give a reservation back."""
        self.reserved.remove(base, size)
        end = base + size
        kept = []
        for r in self.reservations:
            if r.base + r.size <= base or r.base >= end:
                kept.append(r)
                continue
            if r.base < base:
                kept.append(Reservation(r.base, base - r.base, r.name))
            if r.base + r.size > end:
                kept.append(Reservation(end, r.base + r.size - end, r.name))
        self.reservations = kept

    def free_ranges(self, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        """for_each_free_mem_range: memory minus reserved, as (start, end) pairs."""
        out: list[tuple[int, int]] = []
        res = self.reserved.regions
        for m in self.memory:
            lo, hi = max(m.base, start), m.end if end is None else min(m.end, end)
            if lo >= hi:
                continue
            cur = lo
            for r in res:
                if r.end <= cur:
                    continue
                if r.base >= hi:
                    break
                if r.base > cur:
                    out.append((cur, r.base))
                cur = max(cur, r.end)
                if cur >= hi:
                    break
            if cur < hi:
                out.append((cur, hi))
        return out

    # ------------------------------------------------------------ allocation
    def find_in_range(self, size: int, align: int, start: int, end: int) -> int | None:
        """memblock_find_in_range_node: lowest-first or highest-first free fit.

        Page 0 is never returned (``start = max(start, PAGE_SIZE)``).
        """
        if align == 0:
            align = self.smp_cache_bytes
        start = max(start, 4096)
        if end <= start:
            return None
        ranges = self.free_ranges(start, end)
        if self.bottom_up:
            for lo, hi in ranges:
                cand = -(-lo // align) * align
                if cand + size <= hi:
                    return cand
            return None
        for lo, hi in reversed(ranges):
            if hi - lo < size:
                continue
            cand = (hi - size) // align * align
            if cand >= lo:
                return cand
        return None

    def phys_alloc(self, size: int, align: int = 0, start: int = 0, end: int | None = None,
                   name: str = "memblock_alloc") -> int | None:
        """memblock_phys_alloc_range: find and reserve; the physical address or None."""
        if end is None:
            end = self.current_limit if self.current_limit is not None else \
                max((r.end for r in self.memory), default=0)
        base = self.find_in_range(size, align, start, end)
        if base is None:
            return None
        self.reserve(base, size, name)
        return base

    # ------------------------------------------------------------ views
    def is_reserved(self, base: int, size: int) -> bool:
        return self.reserved.overlaps(base, size)

    def reservations_sorted(self) -> list[Reservation]:
        return sorted(self.reservations, key=lambda r: r.base)
