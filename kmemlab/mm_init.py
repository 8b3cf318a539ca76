"""Boot-time memory init: zone sizes (mm/mm_init.c).

Linux 6.4 moved the core MM initialisation out of mm/page_alloc.c into mm/mm_init.c
(Mike Rapoport's series "mm: move most of core MM initialization to mm/mm_init.c");
3.15 has the same code in mm/page_alloc.c. The watermark setup
(init_per_zone_wmark_min, __setup_per_zone_wmarks, setup_per_zone_lowmem_reserve)
stayed in mm/page_alloc.c up to 6.18 and is modelled in kmemlab/page_alloc.py.
Run once by :meth:`kmemlab.kernel.Kernel._boot`, after memblock knows the memory and
before memblock_free_all hands it to the buddy allocator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .kernel import Kernel


def free_area_init(k: Kernel) -> None:
    """mm/mm_init.c: free_area_init (from arch/x86/mm/init.c: zone_sizes_init): each
    zone's span from the arch's zone limits clamped to memory
    (zone_spanned_pages_in_node), its present pages (calculate_node_totalpages), the
    allocator's pfn → zone tables, and the "Zone ranges" lines of dmesg."""
    p = k.profile
    pa = k.page_alloc
    shift = k.PAGE_SHIFT
    mem_pfns = [(r.base + k.PAGE_SIZE - 1) >> shift for r in k.memblock.memory]
    first_pfn = min(mem_pfns)
    bounds: dict[str, tuple[int, int]] = {}
    dma_end = p.dma_limit >> shift
    if p.is_64bit:
        dma32_end = min(p.dma32_limit >> shift, k.max_pfn)
        bounds["DMA"] = (first_pfn, min(dma_end, k.max_pfn))
        bounds["DMA32"] = (dma_end, dma32_end)
        bounds["Normal"] = (dma32_end, k.max_pfn)
    else:
        bounds["DMA"] = (first_pfn, min(dma_end, k.max_low_pfn))
        bounds["Normal"] = (dma_end, k.max_low_pfn)
        bounds["HighMem"] = (k.max_low_pfn, k.max_pfn)
    for z in pa.zones:
        lo, hi = bounds.get(z.name, (0, 0))
        if hi <= lo:
            continue
        present = 0
        for r in k.memblock.memory:
            a = max(lo, (r.base + k.PAGE_SIZE - 1) >> shift)
            b = min(hi, r.end >> shift)
            if b > a:
                present += b - a
        if not present:
            continue
        # zone_spanned_pages_in_node: the node's [start, end) clamped to the zone
        z.zone_start_pfn = max(lo, first_pfn)
        z.spanned = min(hi, k.max_pfn) - z.zone_start_pfn
        z.present = present
    pa.finish_zone_setup()
    print_zone_ranges(k, bounds)

def print_zone_ranges(k: Kernel, bounds: dict[str, tuple[int, int]]) -> None:
    """mm/mm_init.c (6.x) / mm/page_alloc.c (3.15): free_area_init's "Zone ranges"."""
    k.printk("Zone ranges:")
    for z in k.page_alloc.zones:
        if z.name == "Movable":
            continue  # printed separately ("Movable zone start for each node")
        lo, hi = bounds.get(z.name, (0, 0))
        if z.present:
            lo, hi = z.zone_start_pfn, z.zone_end_pfn
            k.printk(f"  {z.name:<8} [mem {lo << k.PAGE_SHIFT:#018x}-"
                        f"{(hi << k.PAGE_SHIFT) - 1:#018x}]")
        else:
            k.printk(f"  {z.name:<8} empty")
    k.printk("Movable zone start for each node")
    k.printk("Early memory node ranges")
    for r in k.memblock.memory:
        lo = (r.base + k.PAGE_SIZE - 1) & ~(k.PAGE_SIZE - 1)
        hi = r.end & ~(k.PAGE_SIZE - 1)
        k.printk(f"  node   0: [mem {lo:#018x}-{hi - 1:#018x}]")
