"""Kernel versions and architectures as data.

A :class:`Profile` holds every number that differs between the kernels kmemlab
models, each with the source file it was read from (see
shared/reference/linux-mm-facts.md). Code elsewhere asks the profile; it never
tests ``version == "3.15"`` itself, so adding a version means adding data here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from . import gfp as _gfp

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class Profile:
    """One kernel version on one architecture."""

    version: str
    arch: str
    description: str
    # -- pages and orders (include/linux/mmzone.h) --------------------------------
    page_shift: int = 12
    nr_page_orders: int = 11            # orders 0..10 in every supported profile
    max_order_constant: str = "MAX_ORDER = 11 (exclusive: orders 0..MAX_ORDER-1)"
    pageblock_order: int = 9            # include/linux/pageblock-flags.h
    # -- zones (include/linux/mmzone.h: enum zone_type; arch/x86/mm/init.c) ---------
    zone_names: tuple[str, ...] = ("DMA", "DMA32", "Normal", "Movable")
    highmem_zones: tuple[str, ...] = ()
    # Allocations from these zones get the highmem/movable min watermark rule.
    wmark_clamped_zones: tuple[str, ...] = ()
    dma_limit: int = 16 * MiB           # MAX_DMA_PFN
    dma32_limit: int | None = 4 * GiB   # MAX_DMA32_PFN; None where there is no DMA32
    # -- migrate types (include/linux/mmzone.h: enum migratetype, migratetype_names) --
    migratetype_names: tuple[str, ...] = (
        "Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate")
    # -- page allocator rules, by the version whose code they follow -----------------
    watermark_rules: str = "6.12"       # __zone_watermark_ok / gfp_to_alloc_flags flavour
    fallback_rules: str = "6.12"        # __rmqueue_fallback / steal flavour
    merge_stops_at_unmergeable_pageblocks: bool = True  # __free_one_page, 6.1+
    boot_free_to_tail: bool = True      # __free_pages_core uses FPI_TO_TAIL (6.x)
    min_free_kbytes_max: int = 262144   # init_per_zone_wmark_min clamp
    watermark_scale_factor: int = 10    # 6.x only
    lowmem_reserve_ratio: tuple[int, ...] = (256, 256, 32, 0, 0)
    # setup_per_zone_lowmem_reserve: 6.12.0 gave an empty upper zone no reserve
    # (commit 96a5c186efff); the change was reverted and the revert went to the
    # stable 6.12.y kernels distributions ship, so the default is False.
    lowmem_reserve_skips_empty_zones: bool = False
    thp_enabled: str = "always"         # /sys/kernel/mm/transparent_hugepage/enabled
    thp_supported: bool = True
    thp_zones_up_to_normal: bool = True  # set_recommended_min_free_kbytes zone count rule
    # -- boot (arch/x86/kernel/setup.c, head_64.S, mm/percpu.c) ----------------------
    sizeof_struct_page: int = 64
    kernel_load_addr: int = 16 * MiB    # CONFIG_PHYSICAL_START
    kernel_image: tuple[tuple[str, int], ...] = (
        ("Kernel code", 14 * MiB), ("Kernel rodata", 8 * MiB),
        ("Kernel data", 4 * MiB), ("Kernel bss", 6 * MiB))
    reserve_first_mib: bool = True      # 5.13+: memblock_reserve(0, SZ_1M)
    reserve_low_kib: int = 64           # 3.15: CONFIG_X86_RESERVE_LOW
    percpu_unit_kib: int = 256          # "percpu: Embedded N pages/cpu ... u262144"
    # -- address space (arch/x86/include/asm/page_*_types.h, pgtable_*_types.h) -----
    page_offset: int = 0xFFFF888000000000
    start_kernel_map: int = 0xFFFFFFFF80000000
    vmalloc_start: int = 0xFFFFC90000000000
    vmalloc_end: int = 0xFFFFE8FFFFFFFFFF
    vmemmap_start: int = 0xFFFFEA0000000000
    modules_vaddr: int = 0xFFFFFFFFA0000000
    modules_end: int = 0xFFFFFFFFFF000000
    pgtable_levels: int = 4
    # -- trace output ----------------------------------------------------------------
    trace_pfn_hex: bool = True          # mm_page_alloc pfn=0x%lx (6.x) vs %lu (3.15)
    trace_call_site_symbolic: bool = True  # call_site=%pS (6.x) vs %lx (3.15)
    # CONFIG_SLAB_FREELIST_RANDOM (added in 4.7; Debian enables it): objects of a new
    # slab are handed out in a seeded random order instead of address order.
    slab_freelist_random: bool = True
    # -- user space ------------------------------------------------------------------
    glibc: str = "2.36"  # the C library kmemlab/user/malloc.py follows (Debian 12's)
    extra: dict = field(default_factory=dict, compare=False)

    # ---------------------------------------------------------------- derived values
    @property
    def name(self) -> str:
        return f"{self.version}/{self.arch}"

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    @property
    def max_page_order(self) -> int:
        """The largest order the buddy allocator hands out (10 everywhere here)."""
        return self.nr_page_orders - 1

    @property
    def pageblock_nr_pages(self) -> int:
        return 1 << self.pageblock_order

    @functools.cached_property
    def gfp(self) -> _gfp.GfpTable:
        """This version's GFP numbers (cached: asked on every allocation)."""
        return _gfp.table(self.version)

    @property
    def is_64bit(self) -> bool:
        return self.arch == "x86_64"

    @property
    def may_block_flag(self) -> str:
        """The flag that lets an allocation sleep (include/linux/gfp.h)."""
        return "__GFP_WAIT" if self.version == "3.15" else "__GFP_DIRECT_RECLAIM"

    def gfp_zone(self, value: int) -> str:
        """gfp_zone(): the highest zone an allocation with ``value`` may use."""
        movable = value & 0x8
        if value & 0x1:
            return "DMA"
        if value & 0x4:
            return "DMA32" if "DMA32" in self.zone_names else "Normal"
        if value & 0x2:
            if movable:
                return "Movable"
            return "HighMem" if "HighMem" in self.zone_names else "Normal"
        return "Normal"

    def gfp_migratetype(self, value: int) -> int:
        """allocflags_to_migratetype (3.15) / gfp_migratetype (6.x)."""
        movable = 1 if value & 0x8 else 0
        reclaimable = 1 if value & self.gfp.values["__GFP_RECLAIMABLE"] else 0
        if self.version == "3.15":
            return (movable << 1) | reclaimable  # UNMOVABLE 0, RECLAIMABLE 1, MOVABLE 2
        return movable | (reclaimable << 1)      # UNMOVABLE 0, MOVABLE 1, RECLAIMABLE 2

    def migratetype(self, name: str) -> int:
        return self.migratetype_names.index(name)


_X86_64_6X = dict(
    zone_names=("DMA", "DMA32", "Normal", "Movable", "Device"),
    lowmem_reserve_ratio=(256, 256, 32, 0, 0),
)

PROFILES: dict[tuple[str, str], Profile] = {
    ("3.15", "x86_64"): Profile(
        version="3.15", arch="x86_64",
        description="Linux 3.15 on x86_64 (the source document's kernel)",
        max_order_constant="MAX_ORDER = 11 (exclusive: orders 0..MAX_ORDER-1)",
        zone_names=("DMA", "DMA32", "Normal", "Movable"),
        migratetype_names=("Unmovable", "Reclaimable", "Movable", "Reserve", "CMA", "Isolate"),
        watermark_rules="3.15", fallback_rules="3.15",
        merge_stops_at_unmergeable_pageblocks=False, boot_free_to_tail=False,
        min_free_kbytes_max=65536, lowmem_reserve_ratio=(256, 256, 32),
        thp_enabled="always", thp_zones_up_to_normal=False,
        kernel_image=(("Kernel code", 6 * MiB), ("Kernel data", 2 * MiB),
                      ("Kernel bss", 2 * MiB)),
        reserve_first_mib=False, percpu_unit_kib=112,
        page_offset=0xFFFF880000000000, vmemmap_start=0xFFFFEA0000000000,
        trace_pfn_hex=False, trace_call_site_symbolic=False,
        slab_freelist_random=False,
    ),
    ("3.15", "i386"): Profile(
        version="3.15", arch="i386",
        description="Linux 3.15 on i386 (3G/1G split, HIGHMEM, no DMA32)",
        max_order_constant="MAX_ORDER = 11 (exclusive: orders 0..MAX_ORDER-1)",
        pageblock_order=10,  # HUGETLB_PAGE_ORDER = 22 - 12 without PAE
        zone_names=("DMA", "Normal", "HighMem", "Movable"),
        highmem_zones=("HighMem",), wmark_clamped_zones=("HighMem",),
        dma32_limit=None,
        migratetype_names=("Unmovable", "Reclaimable", "Movable", "Reserve", "CMA", "Isolate"),
        watermark_rules="3.15", fallback_rules="3.15",
        merge_stops_at_unmergeable_pageblocks=False, boot_free_to_tail=False,
        min_free_kbytes_max=65536, lowmem_reserve_ratio=(256, 32, 32),
        thp_enabled="never", thp_supported=False,  # THP needs X86_64 or X86_PAE
        thp_zones_up_to_normal=False,
        sizeof_struct_page=32,
        kernel_image=(("Kernel code", 5 * MiB), ("Kernel data", 1 * MiB),
                      ("Kernel bss", 1 * MiB)),
        reserve_first_mib=False, percpu_unit_kib=64,
        page_offset=0xC0000000, start_kernel_map=0xC0000000,
        vmalloc_start=0, vmalloc_end=0, vmemmap_start=0,
        modules_vaddr=0, modules_end=0, pgtable_levels=2,
        trace_pfn_hex=False, trace_call_site_symbolic=False,
        slab_freelist_random=False,
        # PKMAP_BASE 0xff800000 (4 MiB aligned below the fixmap); VMALLOC_END two pages
        # below it; MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE(128M)
        # = 0x377fe000, the "887MB LOWMEM available" a 3.x i386 boot prints.
        extra={"pkmap_base": 0xFF800000, "vmalloc_end": 0xFF7FE000, "vmalloc_offset": 8 << 20},
    ),
    ("6.1", "x86_64"): Profile(
        version="6.1", arch="x86_64",
        description="Linux 6.1 on x86_64 (Debian 12's kernel)",
        max_order_constant="MAX_ORDER = 11 (exclusive: orders 0..MAX_ORDER-1)",
        watermark_rules="6.1", fallback_rules="6.1",
        **_X86_64_6X,
    ),
    ("6.12", "x86_64"): Profile(
        version="6.12", arch="x86_64",
        description="Linux 6.12 on x86_64 (Debian 13's kernel)",
        max_order_constant="MAX_PAGE_ORDER = 10 (inclusive); NR_PAGE_ORDERS = 11",
        wmark_clamped_zones=("Movable",),  # 6.6+: ZONE_MOVABLE gets the highmem rule
        **_X86_64_6X,
    ),
}

DEFAULT_VERSION = "6.12"
DEFAULT_ARCH = "x86_64"


def get_profile(version: str = DEFAULT_VERSION, arch: str = DEFAULT_ARCH) -> Profile:
    """The profile for ``version`` on ``arch``; ValueError listing the known ones."""
    if not isinstance(version, str) or not isinstance(arch, str):
        raise TypeError("version and arch are strings, e.g. version='6.12', arch='x86_64'")
    key = (version.strip(), arch.strip())
    if key[1] in ("x86", "i686", "x86_32"):
        key = (key[0], "i386")
    if key[1] in ("amd64", "x86-64"):
        key = (key[0], "x86_64")
    try:
        return PROFILES[key]
    except KeyError:
        known = ", ".join(f"version={v!r} arch={a!r}" for v, a in PROFILES)
        raise ValueError(f"no profile for Linux {version} on {arch}; known: {known}") from None


def known_profiles() -> list[str]:
    return [p.name for p in PROFILES.values()]
