"""/proc, /sys and debugfs text: render the simulator's, parse a real machine's.

Each renderer names the kernel function whose output it reproduces. The text is
byte-for-byte in that function's format for the profile's version, so a learner
can ``diff`` it against ``cat /proc/buddyinfo`` on their own machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_RENDERERS: dict[str, Callable] = {}


def renderer(*paths: str):
    def deco(fn):
        for p in paths:
            _RENDERERS[p] = fn
        return fn
    return deco


def known_paths(kernel=None) -> list[str]:
    return sorted(_RENDERERS)


def _normalise(path: str) -> str:
    if not isinstance(path, str):
        raise TypeError(f"a /proc path is a string such as 'buddyinfo', not {type(path).__name__}")
    p = path.strip()
    for prefix in ("/proc/", "proc/", "/sys/kernel/debug/", "/sys/kernel/"):
        if p.startswith(prefix):
            p = p[len(prefix):]
            break
    return p.lstrip("/")


def read(kernel, path: str) -> str:
    """The text of ``path`` (``"buddyinfo"``, ``"/proc/zoneinfo"``, ``"sys/vm/..."``)."""
    p = _normalise(path)
    fn = _RENDERERS.get(p)
    if fn is None:
        for pattern, dyn in _DYNAMIC:
            m = pattern.fullmatch(p)
            if m:
                return dyn(kernel, m)
        raise ValueError(f"kmemlab does not model /proc/{p}; known files: "
                         f"{', '.join(known_paths())}, <pid>/maps, <pid>/smaps_rollup")
    return fn(kernel)


# (regex, fn(kernel, match)) for per-process files; filled by the user-space model.
_DYNAMIC: list[tuple[re.Pattern, Callable]] = []


def register_dynamic(pattern: str, fn: Callable) -> None:
    _DYNAMIC.append((re.compile(pattern), fn))


# ======================================================================== buddy

@renderer("buddyinfo")
def buddyinfo(k) -> str:
    """mm/vmstat.c: frag_show_print — one line per populated zone."""
    out = []
    for z in k.page_alloc.zones:
        if not z.present:
            continue
        out.append(f"Node 0, zone {z.name:>8} " + "".join(f"{n:6d} " for n in z.nr_free()))
    return "\n".join(out) + "\n"


@renderer("pagetypeinfo")
def pagetypeinfo(k) -> str:
    """mm/vmstat.c: pagetypeinfo_show (+ showfree_print, showblockcount_print)."""
    p = k.profile
    pa = k.page_alloc
    lines = [f"Page block order: {p.pageblock_order}",
             f"Pages per block:  {p.pageblock_nr_pages}", ""]
    head = f"{'Free pages count per migrate type at order':<43} " + \
        "".join(f"{o:6d} " for o in range(p.nr_page_orders))
    lines.append(head)
    cap = p.version != "3.15"  # 6.x stops counting a list at 100000 entries
    for z in pa.zones:
        if not z.present:
            continue
        for mt, name in enumerate(p.migratetype_names):
            row = f"Node {0:4d}, zone {z.name:>8}, type {name:>12} "
            for area in z.free_area:
                n = len(area.free_list[mt])
                if cap and n >= 100000:
                    row += f">{100000:6d} "
                else:
                    row += f"{n:6d} "
            lines.append(row)
    lines.append("")
    lines.append(f"{'Number of blocks type ':<23}" +
                 "".join(f"{name:>12} " for name in p.migratetype_names))
    for z in pa.zones:
        if not z.present:
            continue
        counts = pageblock_counts(k, z)
        lines.append(f"Node 0, zone {z.name:>8} " + "".join(f"{c:12d} " for c in counts))
    return "\n".join(lines) + "\n"


def pageblock_counts(k, zone) -> list[int]:
    """Pageblocks of each migrate type in a zone (pagetypeinfo_showblockcount_print)."""
    p = k.profile
    pa = k.page_alloc
    counts = [0] * len(p.migratetype_names)
    present_sections = _present_sections(k)
    step = p.pageblock_nr_pages
    for pfn in range(zone.zone_start_pfn, zone.zone_end_pfn, step):
        if (pfn >> _SECTION_PFN_SHIFT) not in present_sections:
            continue  # pfn_to_online_page() is NULL in a hole
        counts[pa.get_pageblock_migratetype(pfn)] += 1
    return counts


_SECTION_PFN_SHIFT = 27 - 12  # 128 MiB sections (SECTION_SIZE_BITS 27 on x86_64)


def _present_sections(k) -> set[int]:
    out = set()
    for r in k.memblock.memory:
        first = r.base >> 27
        last = (r.end - 1) >> 27
        out.update(range(first, last + 1))
    return out


# ======================================================================== zoneinfo

_ZONE_STATS_6_12 = (
    "nr_free_pages", "nr_zone_inactive_anon", "nr_zone_active_anon", "nr_zone_inactive_file",
    "nr_zone_active_file", "nr_zone_unevictable", "nr_zone_write_pending", "nr_mlock",
    "nr_bounce", "nr_zspages", "nr_free_cma")
_ZONE_STATS_6_1 = _ZONE_STATS_6_12
_NUMA_STATS = ("numa_hit", "numa_miss", "numa_foreign", "numa_interleave", "numa_local",
               "numa_other")
_ZONE_STATS_3_15 = (
    "nr_free_pages", "nr_alloc_batch", "nr_inactive_anon", "nr_active_anon",
    "nr_inactive_file", "nr_active_file", "nr_unevictable", "nr_mlock", "nr_anon_pages",
    "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback", "nr_slab_reclaimable",
    "nr_slab_unreclaimable", "nr_page_table_pages", "nr_kernel_stack", "nr_unstable",
    "nr_bounce", "nr_vmscan_write", "nr_vmscan_immediate_reclaim", "nr_writeback_temp",
    "nr_isolated_anon", "nr_isolated_file", "nr_shmem", "nr_dirtied", "nr_written",
    "nr_pages_scanned", "numa_hit", "numa_miss", "numa_foreign", "numa_interleave",
    "numa_local", "numa_other", "workingset_refault", "workingset_activate",
    "workingset_nodereclaim", "nr_anon_transparent_hugepages", "nr_free_cma")
_NODE_STATS_6_12 = (
    "nr_inactive_anon", "nr_active_anon", "nr_inactive_file", "nr_active_file",
    "nr_unevictable", "nr_slab_reclaimable", "nr_slab_unreclaimable", "nr_isolated_anon",
    "nr_isolated_file", "workingset_nodes", "workingset_refault_anon",
    "workingset_refault_file", "workingset_activate_anon", "workingset_activate_file",
    "workingset_restore_anon", "workingset_restore_file", "workingset_nodereclaim",
    "nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback",
    "nr_writeback_temp", "nr_shmem", "nr_shmem_hugepages", "nr_shmem_pmdmapped",
    "nr_file_hugepages", "nr_file_pmdmapped", "nr_anon_transparent_hugepages",
    "nr_vmscan_write", "nr_vmscan_immediate_reclaim", "nr_dirtied", "nr_written",
    "nr_throttled_written", "nr_kernel_misc_reclaimable", "nr_foll_pin_acquired",
    "nr_foll_pin_released", "nr_kernel_stack", "nr_page_table_pages",
    "nr_sec_page_table_pages", "nr_iommu_pages", "nr_swapcached", "pgpromote_success",
    "pgpromote_candidate", "pgdemote_kswapd", "pgdemote_direct", "pgdemote_khugepaged",
    "nr_hugetlb")
_NODE_STATS_6_1 = (
    "nr_inactive_anon", "nr_active_anon", "nr_inactive_file", "nr_active_file",
    "nr_unevictable", "nr_slab_reclaimable", "nr_slab_unreclaimable", "nr_isolated_anon",
    "nr_isolated_file", "workingset_nodes", "workingset_refault_anon",
    "workingset_refault_file", "workingset_activate_anon", "workingset_activate_file",
    "workingset_restore_anon", "workingset_restore_file", "workingset_nodereclaim",
    "nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback",
    "nr_writeback_temp", "nr_shmem", "nr_shmem_hugepages", "nr_shmem_pmdmapped",
    "nr_file_hugepages", "nr_file_pmdmapped", "nr_anon_transparent_hugepages",
    "nr_vmscan_write", "nr_vmscan_immediate_reclaim", "nr_dirtied", "nr_written",
    "nr_throttled_written", "nr_kernel_misc_reclaimable", "nr_foll_pin_acquired",
    "nr_foll_pin_released", "nr_kernel_stack", "nr_page_table_pages",
    "nr_sec_page_table_pages", "nr_swapcached", "pgpromote_success", "pgpromote_candidate")


def zone_stat(k, zone, name: str) -> int:
    """The value of a per-zone vmstat item the model knows (0 for the others)."""
    if name == "nr_free_pages":
        return zone.free_pages
    if name == "nr_free_cma":
        return zone.free_cma
    getter = getattr(k, "zone_stat_hook", None)
    return getter(zone, name) if getter else 0


def node_stat(k, name: str) -> int:
    getter = getattr(k, "node_stat_hook", None)
    return getter(name) if getter else 0


@renderer("zoneinfo")
def zoneinfo(k) -> str:
    """mm/vmstat.c: zoneinfo_show_print, for every zone the version lists."""
    p = k.profile
    zones = k.page_alloc.zones
    out = []
    first_populated = next((z for z in zones if z.present), None)
    v315 = p.version == "3.15"
    for z in zones:
        if v315 and not z.present:
            continue  # 3.15 walk_zones_in_node skips unpopulated zones
        s = f"Node 0, zone {z.name:>8}"
        if not v315 and z is first_populated:
            s += "\n  per-node stats"
            names = _NODE_STATS_6_12 if p.version == "6.12" else _NODE_STATS_6_1
            for name in names:
                s += f"\n      {name:<12} {node_stat(k, name)}"
        if v315:
            s += (f"\n  pages free     {z.free_pages}"
                  f"\n        min      {z.min}"
                  f"\n        low      {z.low}"
                  f"\n        high     {z.high}"
                  f"\n        scanned  0"
                  f"\n        spanned  {z.spanned}"
                  f"\n        present  {z.present}"
                  f"\n        managed  {z.managed}")
            for name in _ZONE_STATS_3_15:
                s += f"\n    {name:<12} {zone_stat(k, z, name)}"
            s += "\n        protection: (" + ", ".join(str(x) for x in z.lowmem_reserve) + ")"
            s += "\n  pagesets"
            for cpu in range(k.nr_cpus):
                high, batch = _pcp_high_batch(k, z)
                s += (f"\n    cpu: {cpu}\n              count: 0\n              high:  {high}"
                      f"\n              batch: {batch}\n  vm stats threshold: "
                      f"{_stat_threshold(k, z)}")
            s += (f"\n  all_unreclaimable: 0\n  start_pfn:         {z.zone_start_pfn}"
                  f"\n  inactive_ratio:    {_inactive_ratio(z)}")
            out.append(s + "\n")
            continue
        s += (f"\n  pages free     {z.free_pages}"
              f"\n        boost    {z.watermark_boost}"
              f"\n        min      {z.min}"
              f"\n        low      {z.low}"
              f"\n        high     {z.high}"
              f"\n        promo    {z.promo}"
              f"\n        spanned  {z.spanned}"
              f"\n        present  {z.present}"
              f"\n        managed  {z.managed}"
              f"\n        cma      {z.cma_pages}")
        s += "\n        protection: (" + ", ".join(str(x) for x in z.lowmem_reserve) + ")"
        if not z.present:
            out.append(s + "\n")
            continue
        for name in _ZONE_STATS_6_12:
            s += f"\n      {name:<12} {zone_stat(k, z, name)}"
        for name in _NUMA_STATS:
            s += f"\n      {name:<12} {zone_stat(k, z, name)}"
        s += "\n  pagesets"
        for cpu in range(k.nr_cpus):
            high, batch = _pcp_high_batch(k, z)
            s += (f"\n    cpu: {cpu}\n              count:    0\n              high:     {high}"
                  f"\n              batch:    {batch}")
            if p.version == "6.12":
                s += f"\n              high_min: {high}\n              high_max: {high}"
            s += f"\n  vm stats threshold: {_stat_threshold(k, z)}"
        s += f"\n  node_unreclaimable:  0\n  start_pfn:           {z.zone_start_pfn}"
        out.append(s + "\n")
    return "".join(out)


def _pcp_high_batch(k, zone) -> tuple[int, int]:
    """mm/page_alloc.c: zone_batchsize, and the pcp ``high`` limit.

    The model keeps no pages on pcp lists (``count`` is always 0); ``batch`` follows
    zone_batchsize exactly, ``high`` is 6 × batch in 3.15 (pageset_set_batch) and an
    approximation of 6.x's zone_highsize (low watermark shared by the CPUs).
    """
    cap = (512 * 1024 if k.profile.version == "3.15" else 1 << 20) // k.PAGE_SIZE
    batch = min(zone.managed >> 10, cap) // 4
    batch = max(batch, 1)
    x = batch + batch // 2
    batch = max(1, (1 << (x.bit_length() - 1)) - 1)
    if k.profile.version == "3.15":
        return 6 * batch, batch
    high = max(4 * batch, zone.low // k.nr_cpus)
    return high, batch


def _stat_threshold(k, zone) -> int:
    """mm/vmstat.c: calculate_normal_threshold."""
    mem = zone.managed >> (27 - k.PAGE_SHIFT)
    threshold = 2 * (k.nr_cpus).bit_length() * (1 + (mem.bit_length() if mem else 0))
    return min(125, threshold)


def _inactive_ratio(zone) -> int:
    gb = (zone.managed << 12) >> 30
    if gb:
        from .page_alloc import int_sqrt
        return int_sqrt(10 * gb)
    return 1


# ======================================================================== meminfo

@renderer("meminfo")
def meminfo(k) -> str:
    """fs/proc/meminfo.c: meminfo_proc_show — the fields the model can know.

    Fields whose subsystems the simulator does not model print 0; see the
    ``meminfo_hook`` for subsystems that add their numbers.
    """
    p = k.profile
    pa = k.page_alloc
    kb = k.PAGE_SIZE >> 10
    free = sum(z.free_pages for z in pa.zones)
    values = dict.fromkeys(_MEMINFO_FIELDS_6 if p.version != "3.15" else _MEMINFO_FIELDS_315,
                           0)
    values["MemTotal"] = k.totalram_pages * kb
    values["MemFree"] = free * kb
    values["MemAvailable"] = max(0, free - _totalreserve_pages(k)) * kb
    if p.is_64bit:
        values["VmallocTotal"] = (p.vmalloc_end - p.vmalloc_start) >> 10
    else:
        vstart = p.page_offset + (k.max_low_pfn << k.PAGE_SHIFT) + p.extra["vmalloc_offset"]
        values["VmallocTotal"] = (p.extra["vmalloc_end"] - vstart) >> 10
    values["Hugepagesize"] = 2048 if p.is_64bit else 4096
    if "HighTotal" in values:
        high = [z for z in pa.zones if z.is_highmem]
        values["HighTotal"] = sum(z.managed for z in high) * kb
        values["HighFree"] = sum(z.free_pages for z in high) * kb
        values["LowTotal"] = values["MemTotal"] - values["HighTotal"]
        values["LowFree"] = values["MemFree"] - values["HighFree"]
    values["CommitLimit"] = k.totalram_pages * 50 // 100 * kb
    values["Percpu"] = k.profile.percpu_unit_kib * k.nr_cpus
    hook = getattr(k, "meminfo_hook", None)
    if hook:
        hook(values)
    if not p.is_64bit or "HighTotal" not in values:
        pass
    out = []
    for name, val in values.items():
        if name.startswith("HugePages_"):  # hugetlb_report_meminfo: "HugePages_Total:   %5lu"
            out.append(f"{name + ':':<16}   {val:5d}")
        else:
            out.append(f"{name + ':':<15} {val:8d} kB")
    return "\n".join(out) + "\n"


def _totalreserve_pages(k) -> int:
    """calculate_totalreserve_pages: Σ max lowmem_reserve + high watermark."""
    total = 0
    for z in k.page_alloc.zones:
        m = max(z.lowmem_reserve) if z.lowmem_reserve else 0
        m += z.high
        total += min(m, z.managed)
    return total


_MEMINFO_FIELDS_6 = (
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active",
    "Inactive", "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)",
    "Unevictable", "Mlocked", "SwapTotal", "SwapFree", "Zswap", "Zswapped", "Dirty",
    "Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable", "Slab", "SReclaimable",
    "SUnreclaim", "KernelStack", "PageTables", "SecPageTables", "NFS_Unstable", "Bounce",
    "WritebackTmp", "CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed",
    "VmallocChunk", "Percpu", "HardwareCorrupted", "AnonHugePages", "ShmemHugePages",
    "ShmemPmdMapped", "FileHugePages", "FilePmdMapped", "HugePages_Total", "HugePages_Free",
    "HugePages_Rsvd", "HugePages_Surp", "Hugepagesize", "Hugetlb", "DirectMap4k",
    "DirectMap2M", "DirectMap1G")
_MEMINFO_FIELDS_315 = (
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active",
    "Inactive", "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)",
    "Unevictable", "Mlocked", "HighTotal", "HighFree", "LowTotal", "LowFree", "SwapTotal",
    "SwapFree", "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem", "Slab",
    "SReclaimable", "SUnreclaim", "KernelStack", "PageTables", "NFS_Unstable", "Bounce",
    "WritebackTmp", "CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed",
    "VmallocChunk", "HardwareCorrupted", "AnonHugePages", "HugePages_Total", "HugePages_Free",
    "HugePages_Rsvd", "HugePages_Surp", "Hugepagesize", "DirectMap4k", "DirectMap2M")


# ======================================================================== iomem

@renderer("iomem")
def iomem(k) -> str:
    """kernel/resource.c: r_show — System RAM, reserved ranges and the kernel image."""
    reserved = "reserved" if k.profile.version == "3.15" else "Reserved"
    lines = []
    entries = []
    for start, end, kind in k.e820:
        if kind == "usable":
            if start == 0:  # trim_bios_range reserved page 0 in the e820 table
                entries.append((0, k.PAGE_SIZE, reserved))
                start = k.PAGE_SIZE
            entries.append((start, end, "System RAM"))
        else:
            entries.append((start, end, reserved))
    entries.sort()
    for start, end, name in entries:
        lines.append(f"{start:08x}-{end - 1:08x} : {name}")
        if name == "System RAM":
            for part, base, size in k.kernel_image:
                if start <= base and base + size <= end:
                    lines.append(f"  {base:08x}-{base + size - 1:08x} : {part}")
    return "\n".join(lines) + "\n"


# ======================================================================== sysctl

@renderer("sys/vm/min_free_kbytes")
def min_free_kbytes(k) -> str:
    return f"{k.min_free_kbytes}\n"


@renderer("sys/vm/watermark_scale_factor")
def watermark_scale_factor(k) -> str:
    if k.profile.version == "3.15":
        raise ValueError("/proc/sys/vm/watermark_scale_factor does not exist in Linux 3.15 "
                         "(added in 4.6)")
    return f"{k.watermark_scale_factor}\n"


@renderer("sys/vm/lowmem_reserve_ratio")
def lowmem_reserve_ratio(k) -> str:
    """proc_dointvec: tab-separated values."""
    return "\t".join(str(x) for x in k.lowmem_reserve_ratio) + "\n"


# ======================================================================== extfrag

def fill_contig_page_info(zone, order: int) -> tuple[int, int, int]:
    """mm/vmstat.c: fill_contig_page_info → (free_pages, free_blocks_total, suitable)."""
    free_pages = blocks_total = suitable = 0
    for o, area in enumerate(zone.free_area):
        blocks = area.nr_free
        blocks_total += blocks
        free_pages += blocks << o
        if o >= order:
            suitable += blocks << (o - order)
    return free_pages, blocks_total, suitable


def unusable_free_index(zone, order: int) -> int:
    """mm/vmstat.c: unusable_free_index (×1000)."""
    free_pages, _, suitable = fill_contig_page_info(zone, order)
    if free_pages == 0:
        return 1000
    return (free_pages - (suitable << order)) * 1000 // free_pages


def fragmentation_index(zone, order: int) -> int:
    """mm/vmstat.c: __fragmentation_index (×1000; −1000 when a block is free)."""
    free_pages, blocks_total, suitable = fill_contig_page_info(zone, order)
    if not blocks_total:
        return 0
    if suitable:
        return -1000
    requested = 1 << order
    return 1000 - _cdiv(1000 + _cdiv(free_pages * 1000, requested), blocks_total)


def _cdiv(a: int, b: int) -> int:
    """C division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _cmod(a: int, b: int) -> int:
    return a - b * _cdiv(a, b)


def _index_line(zone, fn, nr_orders: int) -> str:
    parts = []
    for o in range(nr_orders):
        idx = fn(zone, o)
        parts.append(f"{_cdiv(idx, 1000)}.{_cmod(idx, 1000):03d} ")
    return f"Node 0, zone {zone.name:>8} " + "".join(parts)


@renderer("debug/extfrag/unusable_index", "extfrag/unusable_index")
def unusable_index(k) -> str:
    """mm/vmstat.c: unusable_show_print (debugfs extfrag/unusable_index)."""
    return "".join(_index_line(z, unusable_free_index, k.profile.nr_page_orders) + "\n"
                   for z in k.page_alloc.zones if z.present)


@renderer("debug/extfrag/extfrag_index", "extfrag/extfrag_index")
def extfrag_index(k) -> str:
    """mm/vmstat.c: extfrag_show_print (debugfs extfrag/extfrag_index)."""
    return "".join(_index_line(z, fragmentation_index, k.profile.nr_page_orders) + "\n"
                   for z in k.page_alloc.zones if z.present)


# ======================================================================== parsing real files

def parse_buddyinfo(text: str) -> dict[str, list[int]]:
    """Parse /proc/buddyinfo text into {zone: [nr_free per order]}."""
    out: dict[str, list[int]] = {}
    for line in text.splitlines():
        m = re.match(r"Node\s+(\d+),\s+zone\s+(\S+)\s+(.*)$", line)
        if m:
            out[m.group(2)] = [int(x) for x in m.group(3).split()]
    return out


def parse_zoneinfo(text: str) -> dict[str, dict]:
    """Parse /proc/zoneinfo into {zone: {"min":..,"low":..,"high":..,"managed":..,
    "present":..,"spanned":..,"free":..,"protection":[..]}} (node 0)."""
    zones: dict[str, dict] = {}
    cur: dict | None = None
    for line in text.splitlines():
        m = re.match(r"Node (\d+), zone\s+(\S+)", line)
        if m:
            cur = zones.setdefault(m.group(2), {}) if m.group(1) == "0" else {}
            continue
        if cur is None:
            continue
        s = line.strip()
        m = re.match(r"pages free\s+(\d+)", s)
        if m:
            cur["free"] = int(m.group(1))
            continue
        m = re.match(r"(min|low|high|promo|boost|spanned|present|managed|cma)\s+(\d+)$", s)
        if m:
            cur.setdefault(m.group(1), int(m.group(2)))
            continue
        m = re.match(r"protection: \((.*)\)", s)
        if m:
            cur["protection"] = [int(x) for x in m.group(1).split(",")]
    return zones
