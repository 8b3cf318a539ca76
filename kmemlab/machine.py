"""The simulated machine as data: RAM, CPUs, the firmware memory map, CPU features.

``Kernel(machine=Machine(...))`` boots on it; without one the kernel boots on the
default machine, QEMU's i440fx with SeaBIOS and its default CPU (``qemu64``: PSE, no
1 GiB pages), which is what every chapter and golden file assumes.

* ``e820``: None (the QEMU/SeaBIOS map for ``ram``), a list of ``(start, end, kind)``
  with ``kind`` "usable"/"reserved"/"ACPI data"/..., or the text of a real dmesg: its
  ``BIOS-e820: [mem 0x...-0x...] usable`` lines (arch/x86/kernel/e820.c:
  e820__print_table) are read, everything else ignored.
* ``cpu_features``: the /proc/cpuinfo flags the model reads. ``pse`` allows 2 MiB
  direct-map pages, ``pdpe1gb`` (X86_FEATURE_GBPAGES) 1 GiB pages, which the kernel uses
  when CONFIG_X86_DIRECT_GBPAGES=y (Debian: y) and ``nogbpages`` is not given;
  meminfo prints ``DirectMap1G`` only then (arch/x86/mm/pageattr.c: arch_report_meminfo).

:func:`direct_map_pages` is arch/x86/mm/init.c: init_mem_mapping for x86_64 (the ISA
range, then memory_map_top_down with its growing step sizes, split_mem_range,
adjust_range_page_size_mask) and arch/x86/mm/init_64.c: phys_pud_init/phys_pmd_init/
phys_pte_init's counting (``update_page_count``), which counts an existing large page
again when a later range maps over it. These are the boot-time figures; a running
kernel later splits some large pages (set_memory_ro/nx of the kernel image, freeing
the initrd), moving pages from DirectMap1G/2M to 2M/4k with the total unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MiB = 1 << 20
GiB = 1 << 30
PMD_SIZE = 2 * MiB
PUD_SIZE = 1 * GiB
ISA_END_ADDRESS = 0x100000

E820_LINE = re.compile(r"BIOS-e820: \[mem (0x[0-9a-fA-F]+)-(0x[0-9a-fA-F]+)\] (.+?)\s*$")
QEMU_CPU_FEATURES = frozenset({"pse", "pae", "pge"})   # qemu64: no pdpe1gb


def parse_e820(text: str) -> list[tuple[int, int, str]]:
    """The ``BIOS-e820:`` lines of a dmesg as ``(start, end, kind)`` (end exclusive)."""
    out = []
    for line in text.splitlines():
        m = E820_LINE.search(line)
        if m:
            out.append((int(m.group(1), 16), int(m.group(2), 16) + 1, m.group(3)))
    if not out:
        raise ValueError("no 'BIOS-e820: [mem 0x...-0x...] usable' lines in the text; pass "
                         "the output of dmesg (or a list of (start, end, kind))")
    return out


def qemu_e820(ram: int, is_64bit: bool = True) -> list[tuple[int, int, str]]:
    """The firmware memory map QEMU's i440fx machine with SeaBIOS reports for ``ram``."""
    below_4g = ram if ram < 0xE0000000 else 0xC0000000
    above_4g = ram - below_4g
    if not is_64bit:
        above_4g = min(above_4g, 60 * GiB)
    m = [(0x0, 0x9FC00, "usable"), (0x9FC00, 0xA0000, "reserved"),
         (0xF0000, 0x100000, "reserved"),
         (0x100000, below_4g - 0x20000, "usable"),
         (below_4g - 0x20000, below_4g, "reserved"),
         (0xFEFFC000, 0xFF000000, "reserved"),
         (0xFFFC0000, 0x100000000, "reserved")]
    if above_4g:
        m.append((0x100000000, 0x100000000 + above_4g, "usable"))
    return m


@dataclass(frozen=True)
class Machine:
    """RAM, CPUs, e820 map and CPU features of the simulated machine.

    ``ram``/``cpus`` None: the Kernel's own ``ram``/``cpus`` arguments. With an
    ``e820`` map the RAM is what the map calls usable (``ram`` is ignored).
    """

    ram: int | str | None = None
    cpus: int | None = None
    e820: tuple | list | str | None = None
    cpu_features: frozenset = field(default=QEMU_CPU_FEATURES)
    name: str = "QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian 04/01/2014"

    def __post_init__(self) -> None:
        if isinstance(self.e820, str):
            object.__setattr__(self, "e820", tuple(parse_e820(self.e820)))
        elif self.e820 is not None:
            entries = []
            for entry in self.e820:
                try:
                    start, end, kind = entry
                    start, end = int(start), int(end)
                except (TypeError, ValueError):
                    raise TypeError("e820 entries are (start, end, kind) tuples, e.g. "
                                    "(0x100000, 0x40000000, 'usable')") from None
                if not 0 <= start < end:
                    raise ValueError(f"e820 entry {entry!r}: start must be below end")
                entries.append((start, end, str(kind)))
            entries.sort()
            if not any(k == "usable" for _s, _e, k in entries):
                raise ValueError("the e820 map has no usable RAM")
            object.__setattr__(self, "e820", tuple(entries))
        feats = self.cpu_features
        if isinstance(feats, str):
            feats = feats.split()
        object.__setattr__(self, "cpu_features", frozenset(feats))

    @property
    def gbpages(self) -> bool:
        """X86_FEATURE_GBPAGES (cpuinfo flag ``pdpe1gb``)."""
        return "pdpe1gb" in self.cpu_features

    def e820_map(self, ram: int, is_64bit: bool) -> list[tuple[int, int, str]]:
        return list(self.e820) if self.e820 is not None else qemu_e820(ram, is_64bit)


def direct_map_pages(memory: list[tuple[int, int]], reserved: list[tuple[int, int]],
                     max_pfn: int, *, pse: bool = True, gbpages: bool = False,
                     page_shift: int = 12, pmd_size: int = PMD_SIZE) -> dict[str, int]:
    """direct_pages_count after init_mem_mapping (x86_64): {"4k", "2M", "1G"} pages.

    Every page of a range init_memory_mapping is given is mapped (phys_*_init check
    the e820 map only to clear entries past the range's end); holes between memblock
    ranges are not. ``memory``: memblock.memory as (base, end); ``reserved``:
    memblock.reserved at that point of setup_arch (memory_map_top_down's first 2 MiB
    comes from memblock_phys_alloc_range, top-down). ``pmd_size`` 4 MiB: i386
    without PAE (PSE pages; the "2M" count is then DirectMap4M).
    """
    PMD_SIZE = pmd_size  # noqa: N806  (the kernel's name)
    page = 1 << page_shift
    mask_2m, mask_1g = pse, pse and gbpages
    pte: set[int] = set()       # mapped 4k pfns
    pmd: dict[int, bool] = {}   # 2M index -> leaf (True) or table (False)
    pud: dict[int, bool] = {}
    count = {"4k": 0, "2M": 0, "1G": 0}

    def region_memory(start: int, end: int) -> bool:
        return any(b <= start and end <= e for b, e in memory)

    def pte_init(start: int, end: int) -> None:
        for pfn in range(start >> page_shift, -(-end // page)):
            count["4k"] += 1          # counted again when already present
            pte.add(pfn)

    def pmd_init(start: int, end: int, big: bool) -> None:
        paddr = start
        while paddr < end:
            i = paddr // PMD_SIZE
            nxt = (i + 1) * PMD_SIZE
            leaf = pmd.get(i)
            if leaf is False:
                pte_init(paddr, min(end, nxt))
            elif leaf is True and big:
                count["2M"] += 1
            elif leaf is None and big:
                count["2M"] += 1
                pmd[i] = True
            elif leaf is None:
                pmd[i] = False
                pte_init(paddr, min(end, nxt))
            paddr = nxt

    def pud_init(start: int, end: int, m2: bool, m1: bool) -> None:
        paddr = start
        while paddr < end:
            i = paddr // PUD_SIZE
            nxt = (i + 1) * PUD_SIZE
            leaf = pud.get(i)
            if leaf is True and m1:
                count["1G"] += 1
            elif leaf is None and m1:
                count["1G"] += 1
                pud[i] = True
            elif leaf is not True:
                pud[i] = False
                pmd_init(paddr, min(end, nxt), m2)
            paddr = nxt

    def split_mem_range(start: int, end: int) -> list[tuple[int, int, bool, bool]]:
        """arch/x86/mm/init.c: split_mem_range (x86_64) + adjust_range_page_size_mask."""
        mr = []
        limit = end
        pfn = start
        head_end = PMD_SIZE if pfn == 0 else -(-pfn // PMD_SIZE) * PMD_SIZE
        head_end = min(head_end, limit)
        if pfn < head_end:
            mr.append([pfn, head_end, False, False])
            pfn = head_end
        s = -(-pfn // PMD_SIZE) * PMD_SIZE
        e = min(-(-pfn // PUD_SIZE) * PUD_SIZE, limit // PMD_SIZE * PMD_SIZE)
        if s < e:
            mr.append([s, e, mask_2m, False])
            pfn = e
        s = -(-pfn // PUD_SIZE) * PUD_SIZE
        e = limit // PUD_SIZE * PUD_SIZE
        if s < e:
            mr.append([s, e, mask_2m, mask_1g])
            pfn = e
        s = -(-pfn // PMD_SIZE) * PMD_SIZE
        e = limit // PMD_SIZE * PMD_SIZE
        if s < e:
            mr.append([s, e, mask_2m, False])
            pfn = e
        if pfn < limit:
            mr.append([pfn, limit, False, False])
        for r in mr:   # adjust_range_page_size_mask
            if mask_2m and not r[2] and region_memory(
                    r[0] // PMD_SIZE * PMD_SIZE, -(-r[1] // PMD_SIZE) * PMD_SIZE):
                r[2] = True
            if mask_1g and not r[3] and region_memory(
                    r[0] // PUD_SIZE * PUD_SIZE, -(-r[1] // PUD_SIZE) * PUD_SIZE):
                r[3] = True
        merged: list[list] = []
        for r in mr:
            if merged and merged[-1][1] == r[0] and merged[-1][2:] == r[2:]:
                merged[-1][1] = r[1]
            else:
                merged.append(r)
        return [tuple(r) for r in merged]

    def init_memory_mapping(start: int, end: int) -> None:
        for s, e, m2, m1 in split_mem_range(start, end):
            pud_init(s, e, m2, m1)

    def init_range_memory_mapping(r_start: int, r_end: int) -> int:
        mapped = 0
        for base, top in memory:  # for_each_mem_pfn_range: PFN_UP(base), PFN_DOWN(end)
            s = min(max(-(-base // page) * page, r_start), r_end)
            e = min(max(top // page * page, r_start), r_end)
            if s >= e:
                continue
            init_memory_mapping(s, e)
            mapped += e - s
        return mapped

    end = max_pfn << page_shift
    init_memory_mapping(0, ISA_END_ADDRESS)
    # memory_map_top_down(ISA_END_ADDRESS, end)
    real_end = end
    for base, top in sorted(memory, reverse=True):   # memblock_phys_alloc_range top-down
        cand = (min(top, end) - PMD_SIZE) // PMD_SIZE * PMD_SIZE
        found = None
        while cand >= max(base, ISA_END_ADDRESS):
            if not any(rb < cand + PMD_SIZE and re > cand for rb, re in reserved):
                found = cand
                break
            cand -= PMD_SIZE
        if found is not None:
            real_end = found + PMD_SIZE
            break
    step = PMD_SIZE
    mapped = 0
    last_start = real_end
    while last_start > ISA_END_ADDRESS:
        if last_start > step:
            start = max((last_start - 1) // step * step, ISA_END_ADDRESS)
        else:
            start = ISA_END_ADDRESS
        mapped += init_range_memory_mapping(start, last_start)
        last_start = start
        if mapped >= step:
            step <<= pmd_size.bit_length() - 1 - page_shift - 1   # get_new_step_size
    if real_end < end:
        init_range_memory_mapping(real_end, end)
    return count
