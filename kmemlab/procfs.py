"""/proc, /sys and debugfs text: render the simulator's, parse a real machine's.

Each renderer names the kernel function whose output it reproduces. The text is
byte-for-byte in that function's format for the profile's version, so a learner
can ``diff`` it against ``cat /proc/buddyinfo`` on their own machine.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

_RENDERERS: dict[str, Callable] = {}

# The other modules that define /proc files (``@renderer``, ``register_dynamic``). They
# import this module for the decorator, so it imports them on first use, from here
# only: a module missing from this list has no /proc file, whatever else imported it.
RENDERER_MODULES = ("kmemlab.vmalloc", "kmemlab.memblock", "kmemlab.module",
                    "kmemlab.rules", "kmemlab.user")
_renderers_loaded = False


def _load_renderers() -> None:
    global _renderers_loaded
    if not _renderers_loaded:
        for name in RENDERER_MODULES:
            importlib.import_module(name)
        _renderers_loaded = True


def renderer(*paths: str):
    def deco(fn):
        for p in paths:
            _RENDERERS[p] = fn
        return fn
    return deco


def known_paths(kernel=None) -> list[str]:
    _load_renderers()
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
    _load_renderers()
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
    """mm/vmstat.c: pagetypeinfo_show → pagetypeinfo_showfree, pagetypeinfo_showblockcount.

    3.15 counts every entry of a free list (``"%6lu "``); 6.x stops at 100000 and
    prints ``">%6lu "`` (``"%s%6lu "`` with the overflow flag). The 6.x
    ``pagetypeinfo_showmixedcount`` ("Number of mixed blocks") section needs
    CONFIG_PAGE_OWNER *and* ``page_owner=on`` on the command line; page_owner is off
    by default, and the model keeps no page_owner records, so it is never printed.
    Only populated zones are listed (walk_zones_in_node with assert_populated).
    """
    p = k.profile
    pa = k.page_alloc
    lines = [f"Page block order: {p.pageblock_order}",
             f"Pages per block:  {p.pageblock_nr_pages}", ""]
    head = f"{'Free pages count per migrate type at order':<43} " + \
        "".join(f"{o:6d} " for o in range(p.nr_page_orders))
    lines.append(head)
    # 6.x: "if (++freecount >= 100000) { overflow = true; break; }"
    cap = k.profile.pagetypeinfo_count_capped
    shown = list(enumerate(p.migratetype_names))  # no "CMA" without CONFIG_CMA
    for z in pa.zones:
        if not z.present:
            continue
        for mt, name in shown:
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
                 "".join(f"{name:>12} " for _mt, name in shown))
    for z in pa.zones:
        if not z.present:
            continue
        counts = pageblock_counts(k, z)
        lines.append(f"Node 0, zone {z.name:>8} " +
                     "".join(f"{counts[mt]:12d} " for mt, _name in shown))
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
#
# Item names are the kernel's vmstat_text[] (mm/vmstat.c), filtered by the options
# a Debian amd64 kernel is built with: CONFIG_NUMA=y, ZSMALLOC (y or m: zram needs
# it), SWAP=y, NUMA_BALANCING=y, IOMMU_SUPPORT=y, no SHADOW_CALL_STACK (arm64 only),
# and on 6.12 UNACCEPTED_MEMORY=y (selected by AMD_MEM_ENCRYPT / INTEL_TDX_GUEST).

# 6.12.117: enum zone_stat_item (include/linux/mmzone.h)
_ZONE_STATS_6_12 = (
    "nr_free_pages", "nr_zone_inactive_anon", "nr_zone_active_anon", "nr_zone_inactive_file",
    "nr_zone_active_file", "nr_zone_unevictable", "nr_zone_write_pending", "nr_mlock",
    "nr_bounce", "nr_zspages", "nr_free_cma", "nr_unaccepted")
# 6.1.192: the same without NR_UNACCEPTED (added in 6.5)
_ZONE_STATS_6_1 = _ZONE_STATS_6_12[:-1]
# enum numa_stat_item, printed after the zone items when CONFIG_NUMA (6.x)
_NUMA_STATS = ("numa_hit", "numa_miss", "numa_foreign", "numa_interleave", "numa_local",
               "numa_other")
# 3.15: the first NR_VM_ZONE_STAT_ITEMS entries of vmstat_text[] (mm/vmstat.c at
# 449dd6984d0e, 3.15-rc1); numa_* only with CONFIG_NUMA (x86_64, not non-PAE i386).
_ZONE_STATS_3_15_HEAD = (
    "nr_free_pages", "nr_alloc_batch", "nr_inactive_anon", "nr_active_anon",
    "nr_inactive_file", "nr_active_file", "nr_unevictable", "nr_mlock", "nr_anon_pages",
    "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback", "nr_slab_reclaimable",
    "nr_slab_unreclaimable", "nr_page_table_pages", "nr_kernel_stack", "nr_unstable",
    "nr_bounce", "nr_vmscan_write", "nr_vmscan_immediate_reclaim", "nr_writeback_temp",
    "nr_isolated_anon", "nr_isolated_file", "nr_shmem", "nr_dirtied", "nr_written")
_ZONE_STATS_3_15_TAIL = (
    "workingset_refault", "workingset_activate", "workingset_nodereclaim",
    "nr_anon_transparent_hugepages", "nr_free_cma")
# 6.1.192: enum node_stat_item
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
# 6.12.117: adds nr_iommu_pages (IOMMU_SUPPORT) and the three pgdemote_* node items.
# (nr_hugetlb, pgdemote_proactive and later names are post-6.12.)
_NODE_STATS_6_12 = (
    _NODE_STATS_6_1[:40] + ("nr_iommu_pages",) + _NODE_STATS_6_1[40:] +
    ("pgdemote_kswapd", "pgdemote_direct", "pgdemote_khugepaged"))
# 6.18.44 (a real 6.18 x86_64 kernel's zoneinfo, in its order): nr_free_pages_blocks
# (6.15) after nr_free_pages; no nr_bounce (removed with the bounce buffering, 6.16);
# nr_unaccepted only with CONFIG_UNACCEPTED_MEMORY (not in that config).
_ZONE_STATS_6_18 = ("nr_free_pages", "nr_free_pages_blocks") + tuple(
    n for n in _ZONE_STATS_6_12[1:] if n not in ("nr_bounce", "nr_unaccepted"))
# node items: no nr_writeback_temp; pgpromote_candidate_nrl after pgpromote_candidate;
# pgdemote_proactive, nr_hugetlb, nr_balloon_pages, nr_kernel_file_pages at the end.
_NODE_STATS_6_18 = tuple(
    x for n in _NODE_STATS_6_12 if n != "nr_writeback_temp"
    for x in ((n, "pgpromote_candidate_nrl") if n == "pgpromote_candidate" else (n,))
) + ("pgdemote_proactive", "nr_hugetlb", "nr_balloon_pages", "nr_kernel_file_pages")
# vmstat_item_print_in_thp(): node items printed in THP units (÷ HPAGE_PMD_NR)
_NODE_STATS_IN_THP = ("nr_anon_transparent_hugepages", "nr_file_hugepages",
                      "nr_shmem_hugepages", "nr_shmem_pmdmapped", "nr_file_pmdmapped")
_HPAGE_PMD_NR = 512
# The tables each profile names (Profile.zone_stat_names / node_stat_names).
ZONE_STATS_6_12, ZONE_STATS_6_1, NUMA_STATS = _ZONE_STATS_6_12, _ZONE_STATS_6_1, _NUMA_STATS
ZONE_STATS_3_15_HEAD, ZONE_STATS_3_15_TAIL = _ZONE_STATS_3_15_HEAD, _ZONE_STATS_3_15_TAIL
NODE_STATS_6_1, NODE_STATS_6_12 = _NODE_STATS_6_1, _NODE_STATS_6_12
ZONE_STATS_6_18, NODE_STATS_6_18 = _ZONE_STATS_6_18, _NODE_STATS_6_18


def zone_stat_names(k) -> tuple[str, ...]:
    """The per-zone counter names /proc/zoneinfo prints for the profile, in order."""
    return k.profile.zone_stat_names


def node_stat_names(k) -> tuple[str, ...]:
    """The ``per-node stats`` names of /proc/zoneinfo (none in 3.15)."""
    return k.profile.node_stat_names


def zone_stat(k, zone, name: str) -> int:
    """The value of a per-zone vmstat item the model knows.

    The providers in ``k.zone_stat_providers`` (``fn(zone, name)``, in order; the
    first that does not return None wins) supply the items of subsystems the core does
    not model (LRU lists, numa events...).
    """
    if name == "nr_free_pages":
        return zone.free_pages
    if name == "nr_free_cma":
        return zone.free_cma
    if name == "nr_free_pages_blocks":
        # 6.15 account_freepages: free pages in buddies of at least pageblock order
        po = k.profile.pageblock_order
        return sum(n << o for o, n in enumerate(zone.nr_free()) if o >= po)
    val = None
    for provider in k.zone_stat_providers:
        val = provider(zone, name)
        if val is not None:
            break
    if val is None and name == "nr_alloc_batch":
        # 3.15 __setup_per_zone_wmarks: NR_ALLOC_BATCH = high - low (the fair-zone
        # allocation batch, refilled by reset_alloc_batches).
        return zone.watermark[2] - zone.watermark[1]  # WMARK_HIGH - WMARK_LOW
    return val or 0


def node_stat(k, name: str) -> int:
    """node_page_state_pages(pgdat, item) from the first of ``k.node_stat_providers``
    (``fn(name)``) that knows it (in pages); 0 when none does."""
    for provider in k.node_stat_providers:
        val = provider(name)
        if val is not None:
            return val or 0
    return 0


@renderer("zoneinfo")
def zoneinfo(k) -> str:
    """mm/vmstat.c: zoneinfo_show → zoneinfo_show_print, per the profile's version.

    6.12 (Debian 6.12.117) and 6.1 (Debian 6.1.192) walk every zone, populated or
    not (walk_zones_in_node(m, pgdat, false, false, ...)); the ``per-node stats``
    block precedes the first populated zone; ``promo`` exists in 6.12 only;
    ``protection`` follows ``cma``; an unpopulated zone stops after ``protection``.
    3.15 walks populated zones only, has ``scanned`` and no boost/cma/promo, prints
    the zone counters with a 4-space indent *before* ``protection`` and ends with
    ``all_unreclaimable``/``start_pfn``/``inactive_ratio``. The pageset lines come
    from :func:`pagesets` (the allocator's per-CPU lists, or :func:`pcp_high_batch`).
    """
    if not k.profile.node_lru:
        return _zoneinfo_315(k)
    p = k.profile
    zones = k.page_alloc.zones
    first_populated = next((z for z in zones if z.present), None)
    out = []
    for z in zones:
        s = f"Node 0, zone {z.name:>8}"
        if z is first_populated:
            s += "\n  per-node stats"
            for name in node_stat_names(k):
                val = node_stat(k, name)
                if name in _NODE_STATS_IN_THP:
                    val //= _HPAGE_PMD_NR
                s += f"\n      {name:<12} {val}"
        s += (f"\n  pages free     {z.free_pages}"
              f"\n        boost    {z.watermark_boost}"
              f"\n        min      {z.min}"
              f"\n        low      {z.low}"
              f"\n        high     {z.high}")
        if p.zoneinfo_promo:
            s += f"\n        promo    {z.promo}"
        s += (f"\n        spanned  {z.spanned}"
              f"\n        present  {z.present}"
              f"\n        managed  {z.managed}"
              f"\n        cma      {z.cma_pages}")
        s += "\n        protection: (" + ", ".join(str(x) for x in z.lowmem_reserve) + ")"
        if not z.present:
            out.append(s + "\n")
            continue
        for name in zone_stat_names(k):
            s += f"\n      {name:<12} {zone_stat(k, z, name)}"
        s += _pagesets_text(k, z)
        # node_unreclaimable: pgdat->kswapd_failures >= MAX_RECLAIM_RETRIES; the model's
        # kswapd never gives up, so 0.
        s += (f"\n  node_unreclaimable:  0"
              f"\n  start_pfn:           {z.zone_start_pfn}")
        out.append(s + "\n")
    return "".join(out)


def _pagesets_text(k, z) -> str:
    """The ``pagesets`` block of zoneinfo_show_print (same layout in 3.15 and 6.x).

    6.18 (``zoneinfo_pcp_high_minmax``) also prints each pageset's high_min and
    high_max, with the labels padded to one width ("count:    ", "high_min: ").
    """
    threshold = stat_threshold(k, z)
    s = "\n  pagesets"
    if k.profile.zoneinfo_pcp_high_minmax:
        pcps = k.page_alloc.pcp
        rows = pcps[z.idx] if pcps and len(pcps[z.idx]) == k.nr_cpus else None
        for cpu, (count, high, batch) in enumerate(pagesets(k, z)):
            if rows is not None:
                hmin, hmax = rows[cpu].high_min, rows[cpu].high_max
            else:
                _b, hmin, hmax = k.page_alloc.pcp_lists.pageset_limits(z, k.nr_cpus)
            s += (f"\n    cpu: {cpu}"
                  f"\n              count:    {count}"
                  f"\n              high:     {high}"
                  f"\n              batch:    {batch}"
                  f"\n              high_min: {hmin}"
                  f"\n              high_max: {hmax}"
                  f"\n  vm stats threshold: {threshold}")
        return s
    for cpu, (count, high, batch) in enumerate(pagesets(k, z)):
        s += (f"\n    cpu: {cpu}"
              f"\n              count: {count}"
              f"\n              high:  {high}"
              f"\n              batch: {batch}"
              f"\n  vm stats threshold: {threshold}")
    return s


def _zoneinfo_315(k) -> str:
    """3.15 mm/vmstat.c: zoneinfo_show_print (populated zones only)."""
    out = []
    for z in k.page_alloc.zones:
        if not z.present:
            continue  # 3.15 walk_zones_in_node skips unpopulated zones
        s = f"Node 0, zone {z.name:>8}"
        # zone->pages_scanned: nothing has been scanned since the last reclaim pass
        s += (f"\n  pages free     {z.free_pages}"
              f"\n        min      {z.min}"
              f"\n        low      {z.low}"
              f"\n        high     {z.high}"
              f"\n        scanned  0"
              f"\n        spanned  {z.spanned}"
              f"\n        present  {z.present}"
              f"\n        managed  {z.managed}")
        for name in zone_stat_names(k):
            s += f"\n    {name:<12} {zone_stat(k, z, name)}"
        s += "\n        protection: (" + ", ".join(str(x) for x in z.lowmem_reserve) + ")"
        s += _pagesets_text(k, z)
        s += (f"\n  all_unreclaimable: {0 if _zone_reclaimable_315(k, z) else 1}"
              f"\n  start_pfn:         {z.zone_start_pfn}"
              f"\n  inactive_ratio:    {_inactive_ratio(z)}")
        out.append(s + "\n")
    return "".join(out)


def _zone_reclaimable_315(k, zone) -> bool:
    """3.15 mm/vmscan.c: zone_reclaimable — pages_scanned < zone_reclaimable_pages * 6.

    zone_reclaimable_pages is the file LRU (+ the anon LRU when swap exists; the
    model has no swap). pages_scanned is 0, so a zone with no file pages on its LRU
    is "all unreclaimable" — which is what 3.15 would print for such a zone.
    """
    nr = zone_stat(k, zone, "nr_active_file") + zone_stat(k, zone, "nr_inactive_file")
    return 0 < nr * 6


def pagesets(k, zone) -> list[tuple[int, int, int]]:
    """(count, high, batch) of each online CPU's per_cpu_pages for ``zone``.

    Read from the page allocator's per-CPU lists when it models them
    (``k.page_alloc.pcp[zone.idx][cpu]``); otherwise count 0 and the boot values of
    :func:`pcp_high_batch`.
    """
    pcps = k.page_alloc.pcp
    idx = zone.idx
    if pcps and idx < len(pcps) and len(pcps[idx]) == k.nr_cpus:
        return [(pcp.count, pcp.high, pcp.batch) for pcp in pcps[idx]]
    high, batch = pcp_high_batch(k, zone)
    return [(0, high, batch)] * k.nr_cpus


def zone_batchsize(k, zone) -> int:
    """mm/page_alloc.c: zone_batchsize — ~0.1% of the zone, capped, as 2^n - 1.

    The cap is 512 KiB in 3.15 (``batch * PAGE_SIZE > 512 * 1024``) and 1 MiB in 6.x
    (``min(managed >> 10, SZ_1M / PAGE_SIZE)``). The result can be 0 (small zones).
    """
    cap = (k.profile.pcp_batch_cap_kib << 10) // k.PAGE_SIZE
    batch = min(zone.managed >> 10, cap)
    batch //= 4  # "We effectively *= 4 below"
    if batch < 1:
        batch = 1
    x = batch + batch // 2
    return (1 << (x.bit_length() - 1)) - 1  # rounddown_pow_of_two(x) - 1


def pcp_high_batch(k, zone) -> tuple[int, int]:
    """The ``high`` and ``batch`` /proc/zoneinfo prints for every CPU's pageset.

    3.15 — setup_zone_pageset → pageset_set_high_and_batch → pageset_set_batch:
    ``pageset_update(pcp, 6 * batch, max(1UL, 1 * batch))`` with batch =
    zone_batchsize, so a zone whose batch is 0 (DMA) shows high 0, batch 1.

    6.1 — zone_set_pageset_high_and_batch: batch = max(1, zone_batchsize) and
    high = zone_highsize(zone, batch, cpu_online=0): the low watermark split over
    the node's CPUs, at least batch * 4. The last call at boot is from
    setup_per_zone_wmarks (postcore init_per_zone_wmark_min, and again when THP
    raises min_free_kbytes), when all CPUs are online: nr_split_cpus = nr_cpus.

    6.12 — the same function sets pcp->high_min to that zone_highsize(...) (and
    high_max with MIN_PERCPU_PAGELIST_HIGH_FRACTION); zoneinfo prints the current
    pcp->high, which the free/alloc paths clamp into [high_min, high_max] and
    decay_pcp_high lowers back to high_min when idle. We print high_min, the value
    of an idle pageset that has been used once (a never-used pcp still shows 0).
    """
    raw = zone_batchsize(k, zone)
    if k.profile.pcp_high_rule == "batch6":
        return 6 * raw, max(1, raw)
    batch = max(1, raw)
    high = max(zone.low // max(1, k.nr_cpus), batch << 2)
    return high, batch


def stat_threshold(k, zone) -> int:
    """mm/vmstat.c: calculate_normal_threshold (same in 3.15, 6.1 and 6.12).

    ``mem = managed >> (27 - PAGE_SHIFT)``; ``2 * fls(num_online_cpus()) *
    (1 + fls(mem))``, at most 125.
    """
    mem = zone.managed >> (27 - k.PAGE_SHIFT)
    threshold = 2 * k.nr_cpus.bit_length() * (1 + mem.bit_length())
    return min(125, threshold)


# kept for callers of the old private names
_pcp_high_batch = pcp_high_batch
_stat_threshold = stat_threshold


def _inactive_ratio(zone) -> int:
    """3.15 mm/page_alloc.c: calculate_zone_inactive_ratio (int_sqrt(10 * GB) or 1)."""
    gb = (zone.managed << 12) >> 30
    if gb:
        from .page_alloc import int_sqrt
        return int_sqrt(10 * gb)
    return 1


# ======================================================================== meminfo

@renderer("meminfo")
def meminfo(k) -> str:
    """fs/proc/meminfo.c: meminfo_proc_show (+ hugetlb_report_meminfo, arch_report_meminfo).

    Field list per version and Debian's x86_64 config (see ``meminfo_fields``).
    Every line is ``show_val_kb``: a 16-byte label, the value in kB right-aligned to
    8 (``seq_put_decimal_ull_width(..., 8)``; wider values are not cut), `` kB``;
    except ``HardwareCorrupted: %5lu kB`` and ``HugePages_*:   %5lu`` (no unit).

    Subsystems the core does not model print 0 unless a provider in
    ``k.meminfo_providers`` (``fn(values)``, called in order; the process model's is
    the first) fills them (``values`` maps field name → the printed number, in kB;
    HugePages_* in pages). After them, fields they left untouched and that the kernel derives
    from others are recomputed: Active, Inactive, Slab, KReclaimable (6.x, at least
    SReclaimable), and MemAvailable (si_mem_available in 6.x; the inline 3.14–4.5
    estimate in 3.15), so page cache and reclaimable slab a provider reports count.
    """
    p = k.profile
    pa = k.page_alloc
    kb = k.PAGE_SIZE >> 10
    free = sum(z.free_pages for z in pa.zones)
    values = dict.fromkeys(meminfo_fields(k), 0)
    values["MemTotal"] = k.totalram_pages * kb
    values["MemFree"] = free * kb
    if p.is_64bit:
        values["VmallocTotal"] = (p.vmalloc_end - p.vmalloc_start) >> 10
    else:
        vstart = p.page_offset + (k.max_low_pfn << k.PAGE_SHIFT) + p.extra["vmalloc_offset"]
        values["VmallocTotal"] = (p.extra["vmalloc_end"] - vstart) >> 10
    if p.vmalloc_chunk_reported:
        # get_vmalloc_info: an empty vmap_area_list gives largest_chunk = VMALLOC_TOTAL
        values["VmallocChunk"] = values["VmallocTotal"]
    values["Hugepagesize"] = 2048 if p.is_64bit else 4096  # HPAGE_SIZE: 2M, or 4M non-PAE
    # arch_report_meminfo: direct_pages_count[level] << (2, 11 or 12 on non-PAE, 20)
    dm = k.direct_map_pages()
    values["DirectMap4k"] = dm["4k"] << 2
    if p.is_64bit:
        values["DirectMap2M"] = dm["2M"] << 11
    else:
        values["DirectMap4M"] = dm["2M"] << 12
    if "DirectMap1G" in values:
        values["DirectMap1G"] = dm["1G"] << 20
    if "HighTotal" in values:
        high = [z for z in pa.zones if z.is_highmem]
        values["HighTotal"] = sum(z.managed for z in high) * kb
        values["HighFree"] = sum(z.free_pages for z in high) * kb
    # vm_commit_limit: (totalram - hugetlb) * overcommit_ratio(50) / 100 + swap(0)
    values["CommitLimit"] = k.totalram_pages * 50 // 100 * kb
    if "Percpu" in values:
        values["Percpu"] = k.profile.percpu_unit_kib * k.nr_cpus
    if "CmaFree" in values:
        values["CmaTotal"] = sum(z.cma_pages for z in pa.zones) * kb
        values["CmaFree"] = sum(z.free_cma for z in pa.zones) * kb
    # NR_SLAB_RECLAIMABLE/UNRECLAIMABLE: slab pages by the cache's allocflags
    # (__GFP_RECLAIMABLE → reclaimable); 6.x also accounts kmalloc_large pages as
    # unreclaimable slab (mm/slab_common.c: __kmalloc_large_node), 3.15 does not.
    rec = unrec = 0
    large_counts = p.kmalloc_large_counts_as_slab
    for page in pa.allocated.values():
        if page.owner == "slab":
            if page.migratetype == pa.RECLAIMABLE:
                rec += 1 << page.order
            else:
                unrec += 1 << page.order
        elif page.owner == "kmalloc_large" and large_counts:
            unrec += 1 << page.order
    values["SReclaimable"] = rec * kb
    values["SUnreclaim"] = unrec * kb
    # state="booted": what the recorded boot held that the core does not model
    if k.boot_state is not None:
        for name, delta in k.boot_state.meminfo.items():
            if name in values:
                values[name] += delta
    before = dict(values)
    for provider in k.meminfo_providers:
        provider(values)

    def derive(name, val):
        if name in values and values[name] == before[name]:
            values[name] = val

    derive("Active", values["Active(anon)"] + values["Active(file)"])
    derive("Inactive", values["Inactive(anon)"] + values["Inactive(file)"])
    derive("Slab", values["SReclaimable"] + values["SUnreclaim"])
    if "KReclaimable" in values and values["KReclaimable"] < values["SReclaimable"]:
        values["KReclaimable"] = values["SReclaimable"]
    if "LowTotal" in values:
        derive("LowTotal", values["MemTotal"] - values["HighTotal"])
        derive("LowFree", values["MemFree"] - values["HighFree"])
    derive("MemAvailable", mem_available(k, values) * kb)
    out = []
    for name, val in values.items():
        if name.startswith("HugePages_"):  # hugetlb_report_meminfo: "HugePages_Total:   %5lu"
            out.append(f"{name + ':':<16}   {val:5d}")
        elif name == "HardwareCorrupted":
            out.append(f"HardwareCorrupted: {val:5d} kB")
        else:
            out.append(f"{name + ':':<15} {val:8d} kB")
    return "\n".join(out) + "\n"


def mem_available(k, values: dict | None = None) -> int:
    """MemAvailable in pages.

    6.x — si_mem_available (mm/show_mem.c in 6.12, mm/page_alloc.c in 6.1):
    ``free - totalreserve_pages + (file LRU - min(file/2, Σlow)) + (reclaimable -
    min(reclaimable/2, Σlow))``, reclaimable = SReclaimable + kernel misc
    reclaimable (= KReclaimable), Σlow = Σ low_wmark_pages over all zones.
    3.15 — fs/proc/meminfo.c inline: ``free - Σ watermark[WMARK_LOW]`` instead of
    totalreserve_pages, then the same page-cache and SReclaimable terms.
    Both clamp at 0. ``values`` are meminfo's kB numbers (file LRU and slab come
    from ``k.meminfo_providers``; 0 when nothing provides them).
    """
    kb = k.PAGE_SIZE >> 10
    values = values or {}
    zones = k.page_alloc.zones
    free = sum(z.free_pages for z in zones)
    wmark_low = sum(z.low for z in zones)
    pagecache = (values.get("Active(file)", 0) + values.get("Inactive(file)", 0)) // kb
    if not k.profile.mem_available_totalreserve:
        available = free - wmark_low
        reclaimable = values.get("SReclaimable", 0) // kb
    else:
        available = free - totalreserve_pages(k)
        reclaimable = max(values.get("KReclaimable", 0), values.get("SReclaimable", 0)) // kb
    available += pagecache - min(pagecache // 2, wmark_low)
    available += reclaimable - min(reclaimable // 2, wmark_low)
    return max(0, available)


def totalreserve_pages(k) -> int:
    """mm/page_alloc.c: calculate_totalreserve_pages.

    For each zone: the largest lowmem_reserve[j] for j >= the zone's index, plus
    high_wmark_pages, capped at the zone's managed pages; summed.
    """
    total = 0
    for i, z in enumerate(k.page_alloc.zones):
        res = z.lowmem_reserve[i:] if z.lowmem_reserve else []
        m = max([0, *res]) + z.high
        total += min(m, z.managed)
    return total


_totalreserve_pages = totalreserve_pages


def meminfo_fields(k) -> tuple[str, ...]:
    """The /proc/meminfo field names, in order, for the profile."""
    p = k.profile
    if not p.node_lru:
        fields = _MEMINFO_HEAD_315
        if p.highmem_zones:
            fields += ("HighTotal", "HighFree", "LowTotal", "LowFree")
        fields += _MEMINFO_MID_315
        if p.thp_supported:  # CONFIG_TRANSPARENT_HUGEPAGE needs X86_64 or X86_PAE
            fields += ("AnonHugePages",)
        fields += _HUGETLB_FIELDS
        # arch_report_meminfo: DirectMap2M on X86_64/PAE, DirectMap4M on non-PAE i386;
        # DirectMap1G when direct_gbpages (a CPU with pdpe1gb, CONFIG_DIRECT_GBPAGES=y)
        fields += ("DirectMap4k", "DirectMap2M") if p.is_64bit else \
            ("DirectMap4k", "DirectMap4M")
        return fields + (("DirectMap1G",) if k.direct_gbpages else ())
    fields = _MEMINFO_6
    if "CMA" not in p.migratetype_names:   # CmaTotal/CmaFree are #ifdef CONFIG_CMA
        fields = tuple(f for f in fields if f not in ("CmaTotal", "CmaFree"))
    if not p.meminfo_hardware_corrupted:    # HardwareCorrupted: #ifdef CONFIG_MEMORY_FAILURE
        fields = tuple(f for f in fields if f != "HardwareCorrupted")
    if p.meminfo_unaccepted:
        fields += ("Unaccepted",)
    if p.meminfo_balloon:
        fields += ("Balloon",)
    fields += _HUGETLB_FIELDS + ("Hugetlb", "DirectMap4k", "DirectMap2M")
    # arch/x86/mm/pageattr.c: arch_report_meminfo prints DirectMap1G if direct_gbpages
    return fields + (("DirectMap1G",) if k.direct_gbpages else ())



_HUGETLB_FIELDS = ("HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp",
                   "Hugepagesize")
# 6.1.192 and 6.12.117 meminfo_proc_show with Debian amd64's options: ZSWAP, no
# SHADOW_CALL_STACK, no EarlyMemtestBad (memtest= not given), MEMORY_FAILURE,
# TRANSPARENT_HUGEPAGE, CMA (as the profile's migrate types assume); 6.12 adds
# Unaccepted (UNACCEPTED_MEMORY) after CmaFree.
_MEMINFO_6 = (
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active",
    "Inactive", "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)",
    "Unevictable", "Mlocked", "SwapTotal", "SwapFree", "Zswap", "Zswapped", "Dirty",
    "Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable", "Slab", "SReclaimable",
    "SUnreclaim", "KernelStack", "PageTables", "SecPageTables", "NFS_Unstable", "Bounce",
    "WritebackTmp", "CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed",
    "VmallocChunk", "Percpu", "HardwareCorrupted", "AnonHugePages", "ShmemHugePages",
    "ShmemPmdMapped", "FileHugePages", "FilePmdMapped", "CmaTotal", "CmaFree")
# 3.15 (the 3.14–4.0 single seq_printf), split around the CONFIG_HIGHMEM block
_MEMINFO_HEAD_315 = (
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active",
    "Inactive", "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)",
    "Unevictable", "Mlocked")
_MEMINFO_MID_315 = (
    "SwapTotal", "SwapFree", "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem", "Slab",
    "SReclaimable", "SUnreclaim", "KernelStack", "PageTables", "NFS_Unstable", "Bounce",
    "WritebackTmp", "CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed",
    "VmallocChunk", "HardwareCorrupted")


# ======================================================================== iomem

@renderer("iomem")
def iomem(k) -> str:
    """kernel/resource.c: r_show — System RAM, reserved ranges and the kernel image."""
    reserved = k.profile.iomem_reserved_name
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


# ======================================================================== slabinfo

@renderer("slabinfo")
def slabinfo(k) -> str:
    """mm/slab_common.c: slab_show / cache_show (slabinfo - version: 2.1)."""
    return k.slub.slabinfo_text()


# ======================================================================== sysctl

@renderer("sys/vm/min_free_kbytes")
def min_free_kbytes(k) -> str:
    return f"{k.min_free_kbytes}\n"


@renderer("sys/vm/watermark_scale_factor")
def watermark_scale_factor(k) -> str:
    if not k.profile.has_watermark_scale_factor:
        raise ValueError("/proc/sys/vm/watermark_scale_factor does not exist in Linux "
                         f"{k.profile.version} "
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


def _index_line(zone, fn, nr_orders: int, fmt: str) -> str:
    parts = []
    for o in range(nr_orders):
        idx = fn(zone, o)
        parts.append(fmt % (_cdiv(idx, 1000), _cmod(idx, 1000)) + " ")
    return f"Node 0, zone {zone.name:>8} " + "".join(parts)


@renderer("debug/extfrag/unusable_index", "extfrag/unusable_index")
def unusable_index(k) -> str:
    """mm/vmstat.c: unusable_show_print (debugfs extfrag/unusable_index).

    ``"%d.%03d "`` per order in 3.15, 6.1 and 6.12; populated zones only.
    """
    return "".join(_index_line(z, unusable_free_index, k.profile.nr_page_orders, "%d.%03d")
                   + "\n" for z in k.page_alloc.zones if z.present)


@renderer("debug/extfrag/extfrag_index", "extfrag/extfrag_index")
def extfrag_index(k) -> str:
    """mm/vmstat.c: extfrag_show_print (debugfs extfrag/extfrag_index).

    ``"%2d.%03d "`` per order in 6.1 and 6.12 (so 0.500 prints as `` 0.500``);
    ``"%d.%03d "`` in 3.15. -1000 ("a free block is big enough") prints -1.000.
    """
    fmt = "%2d.%03d" if k.profile.extfrag_index_width2 else "%d.%03d"
    return "".join(_index_line(z, fragmentation_index, k.profile.nr_page_orders, fmt) + "\n"
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


def parse_meminfo(text: str) -> dict[str, int]:
    """Parse /proc/meminfo text into {field: value} (the number, kB where the file says
    kB; fs/proc/meminfo.c: meminfo_proc_show)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"([^:]+):\s+(\d+)", line)
        if m:
            out[m.group(1)] = int(m.group(2))
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
