"""The boot-time allocator (mm/memblock.c).

``memblock.memory`` lists the RAM ranges firmware reported; ``memblock.reserved``
the ranges in use. Until the hand-over to the buddy allocator
(``memblock_free_all`` in 6.x, ``free_all_bootmem`` in 3.15) every early allocation
comes from here, top-down by default.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import report

if TYPE_CHECKING:
    from .kernel import Kernel


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

    def __init__(self, kernel=None, *, bottom_up: bool = False,
                 smp_cache_bytes: int = 64) -> None:
        self.kernel = kernel   # for the entry points' reports and events (None: tables only)
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

    # ------------------------------------------------------------ kernel API
    # The public calls are Kernel methods that forward here (``k.memblock_alloc`` →
    # :meth:`memblock_alloc`), with the version's behaviour; each validates before
    # mutating.
    def _require_boot(self, fn: str) -> None:
        if self.handed_over:
            raise ValueError(
                f"{fn}() after boot: memblock's code and data are __init/__initdata and were "
                "discarded (x86 has no ARCH_KEEP_MEMBLOCK); call it from an early_params handler, "
                "e.g. Kernel(..., cmdline='pf_buf_len=64M', early_params={'pf_buf_len': fn})")

    def _emit(self, name: str, why: str, **fields) -> None:
        self.kernel.trace.emit(name, why, **fields)

    def memblock_add(self, base, size) -> None:
        """memblock_add (mm/memblock.c)."""
        base, size = _addr(base), _size(size)
        self._require_boot("memblock_add")
        self.add(base, size)
        self._emit("memblock_add", "RAM range registered with memblock", base=base, size=size)

    def memblock_reserve(self, base, size, name: str = "memblock_reserve") -> None:
        """memblock_reserve (mm/memblock.c)."""
        base, size = _addr(base), _size(size)
        if not isinstance(name, str):
            raise TypeError("name must be a string")
        self._require_boot("memblock_reserve")
        self.reserve(base, size, name)
        self._emit("memblock_reserve",
                   f"reserved for {name}: never handed to the buddy allocator",
                   base=base, size=size)

    def memblock_free(self, ptr, size, *, virtual: bool) -> None:
        """memblock_free (3.15: physical; 6.x: virtual) / memblock_phys_free."""
        k = self.kernel
        ptr, size = _addr(ptr, "address"), _size(size)
        self._require_boot("memblock_free")
        base = k.virt_to_phys(ptr) if virtual else ptr
        if not self.reserved.overlaps(base, size):
            raise ValueError(f"[{base:#x}, {base + size:#x}) is not reserved in memblock")
        self.free(base, size)
        self._emit("memblock_free", "reservation given back; it reaches the buddy allocator at "
                   "the hand-over", base=base, size=size)

    def _alloc_range(self, size: int, align: int, start: int, end: int | None, name: str,
                     retry_from_zero: bool) -> int | None:
        """memblock_alloc_range_nid: find (top-down unless bottom_up) + reserve; retry from
        0 when a lower limit was given."""
        base = self.phys_alloc(size, align, start, end, name=name)
        if base is None and retry_from_zero and start:
            base = self.phys_alloc(size, align, 0, end, name=name)
        return base

    def _fallback_kzalloc(self, fn: str, size: int, caller: str):
        """memblock_alloc / alloc_bootmem once slab is up: WARN_ON_ONCE(slab_is_available())
        and kzalloc(size, GFP_NOWAIT) instead (mm/memblock.c, 3.15 mm/nobootmem.c)."""
        k = self.kernel
        report.warn(k, ("mm/memblock.c " if fn.startswith("memblock") else "mm/nobootmem.c ") + fn,
                    before=["WARN_ON_ONCE(slab_is_available())"])
        return k.kzalloc(size, "GFP_NOWAIT", caller=caller)

    def memblock_alloc(self, size, align, *, caller: str):
        """memblock_alloc: 3.15 physical + panic; 6.x zeroed virtual pointer or None."""
        k = self.kernel
        size, align = _size(size), _align(align)
        virt = k.profile.memblock_alloc_virt
        if self.handed_over:
            return self._fallback_kzalloc("memblock_alloc", size, caller)
        if virt and align == 0:
            k.printk("memblock_alloc_range_nid: align 0 — using SMP_CACHE_BYTES")
            report.dump_stack(k)
        base = self._alloc_range(size, align, 0, None, f"memblock_alloc ({caller})", True)
        if base is None:
            if not virt:
                k.printk(f"Kernel panic - not syncing: ERROR: Failed to allocate {size:#x} bytes "
                         f"below {self.current_limit:#x}.")
                from .errors import KernelPanic
                raise KernelPanic(f"memblock_alloc({size}) failed: {k.profile.version} panics "
                                  "(memblock_alloc_base)")
            k.printk(f"memblock_alloc_try_nid: Failed to allocate {size} bytes")
            return None
        self._emit("memblock_alloc", "top-down: highest free range below current_limit"
                   if not self.bottom_up else "bottom-up: lowest free range",
                   base=base, size=size, align=align or self.smp_cache_bytes)
        if not virt:
            return base
        return k.phys_to_virt(base)

    def memblock_phys_alloc(self, size, align, *, caller: str):
        """memblock_phys_alloc: a physical address or None."""
        size, align = _size(size), _align(align)
        self._require_boot("memblock_phys_alloc")
        base = self._alloc_range(size, align, 0, None, f"memblock_phys_alloc ({caller})", False)
        if base is not None:
            self._emit("memblock_alloc", "memblock_phys_alloc", base=base, size=size,
                       align=align or self.smp_cache_bytes)
        return base

    def memblock_set_bottom_up(self, enable) -> None:
        """memblock_set_bottom_up (include/linux/memblock.h)."""
        if not isinstance(enable, bool):
            raise TypeError("memblock_set_bottom_up takes True or False")
        self._require_boot("memblock_set_bottom_up")
        self.bottom_up = enable

    def require_bootmem(self, fn: str) -> None:
        k = self.kernel
        if not k.profile.has_bootmem:
            raise ValueError(f"{fn}() does not exist in Linux {k.profile.version}: bootmem was "
                             "removed in 4.20; use k.memblock_alloc() (a zeroed virtual pointer)")

    def free_bootmem(self, phys, size) -> None:
        """free_bootmem(addr, size) (3.15 mm/nobootmem.c: memblock_free of a physical
        address)."""
        self.require_bootmem("free_bootmem")
        self.memblock_free(phys, size, virtual=False)

    def alloc_bootmem(self, size, *, align: int | None = None, goal: int | None = None,
                      limit: int | None = None, panic: bool = True, caller: str = ""):
        """3.15 mm/nobootmem.c: ___alloc_bootmem → ___alloc_bootmem_nopanic →
        __alloc_memory_core_early: memblock_find_in_range_node(goal, limit) top-down,
        memblock_reserve, memset 0; retry with goal 0; panic("Out of memory") on failure."""
        k = self.kernel
        self.require_bootmem("alloc_bootmem")
        size = _size(size)
        align = self.smp_cache_bytes if align is None else _align(align) or \
            self.smp_cache_bytes
        if goal is None:
            goal = 16 * MiB    # BOOTMEM_LOW_LIMIT = __pa(MAX_DMA_ADDRESS)
        if self.handed_over:
            return self._fallback_kzalloc("alloc_bootmem", size, caller)
        end = limit if limit is not None else None
        if end is not None and self.current_limit is not None:
            end = min(end + 1, self.current_limit)
        base = self._alloc_range(size, align, goal, end, f"alloc_bootmem ({caller})", True)
        if base is None:
            if not panic:
                return None
            k.printk(f"bootmem alloc of {size} bytes failed!")
            k.printk("Kernel panic - not syncing: Out of memory")
            from .errors import KernelPanic
            raise KernelPanic(f"alloc_bootmem({size}) failed: Out of memory")
        self._emit("memblock_alloc", "alloc_bootmem: top-down from current_limit, above the goal",
                   base=base, size=size, align=align)
        return k.phys_to_virt(base)


# ============================================================================ argument checks

MiB = 1 << 20


def _size(size, what: str = "size") -> int:
    from .sizes import size_arg
    return size_arg(size, what, minimum=1)


def _addr(value, what: str = "base") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int address, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must be ≥ 0, not {value}")
    return value


def _align(align) -> int:
    if isinstance(align, bool) or not isinstance(align, int):
        raise TypeError(f"align must be an int, not {type(align).__name__}")
    if align < 0 or (align and align & (align - 1)):
        raise ValueError(f"align must be 0 or a power of two, not {align}")
    return align


# ============================================================================ debugfs

def _debug_show(k, regions, reserved: bool) -> str:
    """mm/memblock.c: memblock_debug_show. ``%4d: `` then ``%pa..%pa`` (phys_addr_t: 16
    hex digits on x86_64, 8 on i386 without PAE); 6.12 adds the node (``%4d``, or
    ``   x`` for reserved regions, which have no valid nid on x86) and the flags
    (``NONE``)."""
    w = 16 if k.profile.is_64bit else 8
    out = []
    for i, r in enumerate(regions):
        line = f"{i:4d}: 0x{r.base:0{w}x}..0x{r.end - 1:0{w}x}"
        if k.profile.memblock_debugfs_flags:
            line += f" {'x' if reserved else '0':>4} NONE"
        out.append(line)
    return "".join(s + "\n" for s in out)


def _register_debugfs() -> None:
    from . import procfs

    @procfs.renderer("memblock/memory", "debug/memblock/memory")
    def memblock_memory(k) -> str:
        """/sys/kernel/debug/memblock/memory (mm/memblock.c: memblock_debug_show). x86
        discards memblock after boot, so a real x86 kernel has no such file; kmemlab
        keeps the boot-time table to show it."""
        return _debug_show(k, list(k.memblock.memory), False)

    @procfs.renderer("memblock/reserved", "debug/memblock/reserved")
    def memblock_reserved(k) -> str:
        """/sys/kernel/debug/memblock/reserved (mm/memblock.c: memblock_debug_show)."""
        return _debug_show(k, list(k.memblock.reserved), True)


_register_debugfs()


def memblock_free_all(k: Kernel) -> None:
    """mm/memblock.c: memblock_free_all (6.x) / mm/nobootmem.c: free_all_bootmem (3.15):
    every range memblock has not reserved goes to the buddy allocator.

    Each free range goes in naturally aligned chunks: order = min(MAX_ORDER-1,
    __ffs(start)), reduced until it fits (mm/memblock.c: __free_pages_memory).
    """
    pa = k.page_alloc
    shift = k.PAGE_SHIFT
    max_order = pa.max_order
    to_tail = True if k.profile.boot_free_to_tail else None
    bounds = sorted((z.zone_start_pfn, z.zone_end_pfn, z) for z in pa.zones if z.present)
    freed_to: dict[str, int] = {}
    for start, end in k.memblock.free_ranges():
        spfn = (start + k.PAGE_SIZE - 1) >> shift
        epfn = end >> shift
        for zlo, zhi, zone in bounds:
            a, b = max(spfn, zlo), min(epfn, zhi)
            while a < b:
                order = min(max_order, (a & -a).bit_length() - 1)
                while a + (1 << order) > b:
                    order -= 1
                pa.free_one_page(zone, a, order, pa.get_pageblock_migratetype(a), to_tail)
                freed_to[zone.name] = freed_to.get(zone.name, 0) + (1 << order)
                a += 1 << order
    for zone in pa.zones:
        zone.managed = freed_to.get(zone.name, 0)
    k.memblock.handed_over = True
    k.totalram_pages = sum(z.managed for z in pa.zones)
    reserved_k = (sum(z.present for z in pa.zones) - k.totalram_pages) << (shift - 10)
    k.printk(f"Memory: {k.totalram_pages << (shift - 10)}K/"
                f"{sum(z.present for z in pa.zones) << (shift - 10)}K available "
                f"({reserved_k}K reserved)")
