"""The kernel's virtual address-space layout per profile (``k.layout``).

x86_64: Documentation/x86/x86_64/mm.txt (3.15) / mm.rst (6.x) and
arch/x86/include/asm/page_64_types.h, pgtable_64_types.h. i386:
arch/x86/include/asm/pgtable_32_types.h (3.15), arch/x86/mm/pgtable_32.c
(parse_vmalloc), arch/x86/mm/init_32.c (mem_init's "virtual kernel memory layout").
Facts: shared/reference/linux-mm-facts.md sections 5.1 and 7.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40

# KERNEL_IMAGE_SIZE (arch/x86/include/asm/page_64_types.h): 512 MiB, or 1 GiB with
# CONFIG_RANDOMIZE_BASE (Debian's 6.x kernels), which moves MODULES_VADDR
# (= __START_KERNEL_map + KERNEL_IMAGE_SIZE, pgtable_64_types.h) to 0xffffffffc0000000.
# 3.15 (no KASLR in the distribution config): 512 MiB.
# (Profile.kernel_image_size)

# i386 (3.15, non-PAE): LAST_PKMAP = 1024 (arch/x86/include/asm/highmem.h),
# FIXADDR_TOP = 0xfffff000 (arch/x86/include/asm/fixmap.h, __FIXADDR_TOP).
LAST_PKMAP_I386 = 1024
FIXADDR_TOP_I386 = 0xFFFFF000


@dataclass(frozen=True)
class Region:
    """One range of kernel virtual addresses: ``[start, end)``."""

    name: str
    start: int
    end: int
    description: str

    @property
    def size(self) -> int:
        return self.end - self.start

    def __contains__(self, addr: int) -> bool:
        return self.start <= addr < self.end


class Layout:
    """The regions of one kernel's virtual address space, lowest first.

    ``layout["vmalloc"]`` is a :class:`Region`; ``layout.region_of(addr)`` the region
    holding an address; ``str(layout)`` a table like the boot log's
    "virtual kernel memory layout" (arch/x86/mm/init_32.c: mem_init, 3.15 i386).
    Constants: ``PAGE_OFFSET``, ``VMALLOC_START``, ``VMALLOC_END``, ``MODULES_VADDR``,
    ``MODULES_END``, ``PKMAP_BASE`` (i386), ``high_memory``.
    """

    def __init__(self, regions: list[Region], **constants: int) -> None:
        self.regions = sorted(regions, key=lambda r: r.start)
        self._by_name = {r.name: r for r in self.regions}
        self.constants = dict(constants)
        for key, val in constants.items():
            setattr(self, key, val)

    def __getitem__(self, name: str) -> Region:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no region {name!r}; regions: {', '.join(self._by_name)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(self.regions)

    def __len__(self) -> int:
        return len(self.regions)

    def names(self) -> list[str]:
        return [r.name for r in self.regions]

    def region_of(self, addr: int) -> Region | None:
        """The region that contains ``addr`` (None in a hole)."""
        for r in self.regions:
            if r.start <= addr < r.end:
                return r
        return None

    def __str__(self) -> str:
        width = 18 if self.regions and self.regions[-1].end > 1 << 32 else 10
        lines = ["virtual kernel memory layout:"]
        for r in self.regions:
            size = r.size
            if size >= 4 * TiB:
                human = f"{size // TiB:6d} TB"
            elif size >= 4 * GiB:
                human = f"{size // GiB:6d} GB"
            elif size >= MiB:
                human = f"{size // MiB:6d} MB"
            else:
                human = f"{size >> 10:6d} kB"
            lines.append(f"    {r.name:<12}: 0x{r.start:0{width - 2}x} - 0x{r.end:0{width - 2}x}"
                         f"   ({human})  {r.description}")
        return "\n".join(lines)

    __repr__ = __str__


def build_layout(k) -> Layout:
    """The layout of kernel ``k`` (after memblock knows max_low_pfn and ``vmalloc=``)."""
    p = k.profile
    if p.is_64bit:
        return _layout_x86_64(k)
    return _layout_i386(k)


def _layout_x86_64(k) -> Layout:
    """arch/x86/include/asm/pgtable_64_types.h, page_64_types.h (4-level paging)."""
    p = k.profile
    direct_end = p.page_offset + 64 * TiB
    text = p.start_kernel_map
    image = p.kernel_image_size
    modules_vaddr = text + image
    modules_end = p.modules_end
    regions = [
        Region("user", 0, 0x0000800000000000, "user space (128 TB, per process)"),
        Region("direct map", p.page_offset, direct_end,
               "direct mapping of all physical memory (page_offset_base)"),
        Region("vmalloc", p.vmalloc_start, p.vmalloc_end + 1,
               "vmalloc/ioremap space (VMALLOC_START..VMALLOC_END)"),
        Region("vmemmap", p.vmemmap_start, p.vmemmap_start + TiB,
               "virtual memory map: the struct page array (vmemmap_base)"),
        Region("kernel text", text, text + image,
               "kernel text mapping, mapped to physical address 0 (__START_KERNEL_map)"),
        Region("modules", modules_vaddr, modules_end,
               "module mapping space (MODULES_VADDR..MODULES_END)"),
        Region("fixmap", 0xFFFFFFFFFF600000, 0xFFFFFFFFFFE00000,
               "fixmap / legacy vsyscall ABI (FIXADDR_START..FIXADDR_TOP)"),
    ]
    if p.cpu_entry_area:
        regions.append(Region("cpu_entry_area", 0xFFFFFE0000000000, 0xFFFFFE8000000000,
                              "cpu_entry_area mapping (4.15+)"))
    high_memory = p.page_offset + (k.max_low_pfn << k.PAGE_SHIFT)
    return Layout(regions, PAGE_OFFSET=p.page_offset, VMALLOC_START=p.vmalloc_start,
                  VMALLOC_END=p.vmalloc_end + 1, MODULES_VADDR=modules_vaddr,
                  MODULES_END=modules_end, START_KERNEL_map=text,
                  KERNEL_IMAGE_SIZE=image, VMEMMAP_START=p.vmemmap_start,
                  high_memory=high_memory, PKMAP_BASE=0, LAST_PKMAP=0)


def _layout_i386(k) -> Layout:
    """3.15 x86_32 without PAE (arch/x86/include/asm/pgtable_32_types.h, highmem.h).

    ``VMALLOC_START = high_memory + VMALLOC_OFFSET`` (8 MiB), ``VMALLOC_END =
    PKMAP_BASE - 2 * PAGE_SIZE``; ``vmalloc=`` moved ``max_low_pfn`` (and so
    ``high_memory``) at boot (arch/x86/mm/pgtable_32.c: parse_vmalloc, the core's
    ``_max_low_pfn``). Modules live in the vmalloc area (MODULES_VADDR = VMALLOC_START).
    The fixmap's lower end depends on the configuration; kmemlab puts it right above
    the PKMAP area.
    """
    p = k.profile
    page = k.PAGE_SIZE
    high_memory = p.page_offset + (k.max_low_pfn << k.PAGE_SHIFT)
    vstart = high_memory + p.extra["vmalloc_offset"]
    pkmap = p.extra["pkmap_base"]
    vend = pkmap - 2 * page
    pkmap_end = pkmap + LAST_PKMAP_I386 * page
    regions = [
        Region("user", 0, p.page_offset, "user space (3 GB: the 3G/1G split, VMSPLIT_3G)"),
        Region("lowmem", p.page_offset, high_memory,
               "lowmem: direct map of ZONE_DMA + ZONE_NORMAL (PAGE_OFFSET..high_memory)"),
        Region("vmalloc", vstart, vend,
               "vmalloc/ioremap/modules (high_memory + 8 MiB .. PKMAP_BASE - 2 pages)"),
        Region("pkmap", pkmap, pkmap_end,
               "persistent kmap area for HighMem pages (PKMAP_BASE, LAST_PKMAP pages)"),
        Region("fixmap", pkmap_end, FIXADDR_TOP_I386,
               "fixmap, incl. kmap_atomic slots (FIXADDR_START..FIXADDR_TOP)"),
    ]
    return Layout(regions, PAGE_OFFSET=p.page_offset, VMALLOC_START=vstart, VMALLOC_END=vend,
                  MODULES_VADDR=vstart, MODULES_END=vend, START_KERNEL_map=p.page_offset,
                  KERNEL_IMAGE_SIZE=0, VMEMMAP_START=0, high_memory=high_memory,
                  PKMAP_BASE=pkmap, LAST_PKMAP=LAST_PKMAP_I386)
