"""A machine that has booted: the state a real Debian kernel leaves after booting to a shell.

``Kernel(version, state="booted")`` comes up where a real boot ended instead of in the
pristine state (every free page in order-10 blocks, every pageblock Movable, no slab in
use). The state comes from a recording bundled in ``kmemlab/data/boots/<version>/``
(``tools/record-boot/record-boot.sh``: a Debian linux-image booted under QEMU TCG with
1 GiB and 2 CPUs to a busybox shell, its ``/proc`` files, ``/proc/kpageflags`` and
``/sys/kernel/slab`` saved at the end; ``tools/record-boot/compact.py`` compacts them):

* page frames: every frame the real kernel held at the end is held again, at the same
  pfn, by the owner the real frame's flags name (``slab``, ``kmalloc_large`` for
  compound pages outside slab, ``pagecache``/``anon`` for LRU pages, ``pgtable``,
  ``other`` for the rest of kernel memory); memblock-reserved frames stay reserved;
  free frames are the real free buddy blocks, each on the free list of its pageblock's
  migratetype; order-0 pages on the per-CPU lists as far as the trace tells;
* pageblock migratetypes: inferred per block (the kernel exports only counts) and
  fitted to the real /proc/pagetypeinfo counts (see compact.py: pageblock_types);
* zones: the real ``managed`` counts, watermarks and lowmem_reserve (zoneinfo);
* slab: every root cache of the real /proc/slabinfo by its real name, with the flags
  /sys/kernel/slab shows (``reclaim_account`` = SLAB_RECLAIM_ACCOUNT, ``cache_dma``,
  ``hwcache_align``, ``destroy_by_rcu``; SLAB_ACCOUNT from the ``:A-`` unique id) and
  the real geometry, its real number of slabs on the real slab frames (reclaimable
  caches' slabs preferably in Reclaimable pageblocks) and its real number of active
  objects; merged names (the sysfs symlinks) are aliases of their root cache;
* what the core does not model (page cache, kernel stacks, per-CPU areas...) is shown
  in /proc/meminfo as the real boot left it (procfs adds the recorded values, k.boot_state.meminfo).

Other RAM sizes or CPU counts than the recording's: the live allocations (the same
slab caches and objects, the same kernel pages) are made through the simulated
allocators of the pristine machine of that size instead; dmesg and ``k.boot_state``
say it is an approximation. A profile without a recording (3.15) is a ValueError.

Fast (a few tens of ms): nothing is replayed record by record; the compact end state
is placed directly. Deterministic: no clock, no randomness beyond ``k.rng``.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from functools import lru_cache
from importlib import resources
from typing import Any

from . import slab_common as sc
from .page_alloc import Page
from .procfs import parse_meminfo
from .profiles import GiB

__all__ = ["BOOT_STATES", "BootStateInfo", "apply_boot_state", "boot_data",
           "boot_trace_path", "bundled_boots", "named_cache_flags"]

BOOT_STATES = ("pristine", "booted")
_LETTER_MT = {"U": "Unmovable", "M": "Movable", "R": "Reclaimable", "H": "HighAtomic"}
_KIND_OWNER = {"slab": "slab", "compound": "kmalloc_large", "pagecache": "pagecache",
               "anon": "anon", "pgtable": "pgtable", "kernel": "other"}
# /proc/meminfo fields the core does not model: shown as the recording left them
_CARRIED = ("Buffers", "Cached", "Active(anon)", "Inactive(anon)", "Active(file)",
            "Inactive(file)", "Unevictable", "Mlocked", "AnonPages", "Mapped", "Shmem",
            "KernelStack", "PageTables", "VmallocUsed", "Percpu", "Committed_AS",
            "DirectMap4k", "DirectMap2M", "DirectMap1G")


def bundled_boots() -> list[str]:
    """Kernel versions with a bundled boot recording (``kmemlab/data/boots/<v>/``)."""
    root = resources.files("kmemlab") / "data" / "boots"
    try:
        return sorted(p.name for p in root.iterdir() if (p / "boot.json.gz").is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


@lru_cache(maxsize=4)
def boot_data(version: str) -> dict[str, Any]:
    """The compact recording of a real boot of ``version`` (see tools/record-boot)."""
    if version not in bundled_boots():
        raise ValueError(f"no recorded boot for Linux {version}: state='booted' needs one "
                         f"(bundled: {', '.join(bundled_boots()) or 'none'}); use "
                         "state='pristine', or record one with tools/record-boot")
    path = resources.files("kmemlab") / "data" / "boots" / version / "boot.json.gz"
    data = json.loads(gzip.decompress(path.read_bytes()))
    data["manifest"] = dict(
        line.split(": ", 1) for line in
        (path.parent / "manifest.txt").read_text().splitlines() if ": " in line)
    return data


def boot_trace_path(version: str) -> str:
    """Path of the bundled kmem trace of that boot (gzip text; ``Replayer`` reads it)."""
    boot_data(version)  # ValueError if none
    return str(resources.files("kmemlab") / "data" / "boots" / version / "trace.txt.gz")


def _slabinfo_rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()[2:] if line.strip()]


def named_cache_flags(data: dict, name: str) -> tuple[dict, int]:
    """(sysfs attributes, SLAB_* flags) of the real cache ``name``: its own directory in
    /sys/kernel/slab, or the merged cache its symlink points to."""
    attrs = data["slab"].get(name)
    target = name
    if attrs is None:
        target = data["aliases"].get(name, "")
        attrs = data["slab"].get(target, {})
    flags = 0
    if attrs.get("reclaim_account"):
        flags |= sc.SLAB_RECLAIM_ACCOUNT
    if attrs.get("cache_dma"):
        flags |= sc.SLAB_CACHE_DMA
    if attrs.get("hwcache_align"):
        flags |= sc.SLAB_HWCACHE_ALIGN
    if attrs.get("destroy_by_rcu"):
        flags |= sc.SLAB_TYPESAFE_BY_RCU
    # mm/slub.c: create_unique_id: 'd' DMA, 'a' reclaim account, 'A' SLAB_ACCOUNT
    m = re.match(r":([a-zA-Z]*)-?\d+$", target)
    if m and "A" in m.group(1):
        flags |= sc.SLAB_ACCOUNT
    return attrs, flags


class BootStateInfo:
    """What ``state="booted"`` did: ``exact`` (the recording's own machine size) or an
    approximation, the recording's manifest, and counts of what was placed."""

    def __init__(self, version: str, exact: bool, manifest: dict) -> None:
        self.version = version
        self.exact = exact
        self.manifest = manifest
        self.placed: dict[str, int] = defaultdict(int)
        self.notes: list[str] = []
        #: real minus simulated /proc/meminfo, per field the core does not model: procfs
        #: adds it, so the booted machine shows the real values
        self.meminfo: dict[str, int] = {}

    def __repr__(self) -> str:
        return (f"<BootStateInfo {self.version} {'exact' if self.exact else 'approximate'}"
                f" {dict(self.placed)}>")


def apply_boot_state(k: Any) -> BootStateInfo:
    """Bring a freshly booted (pristine) simulated kernel into the recorded state."""
    data = boot_data(k.profile.version)
    exact = (k.ram == GiB and k.nr_cpus == 2 and k.profile.arch == "x86_64"
             and not k.cmdline_params.get("mem") and not k.cma_areas)
    info = BootStateInfo(k.profile.version, exact, data["manifest"])
    old = k.trace.enabled
    k.trace.enabled = False
    try:
        # the recorded slab frames by order, from the frame placement to the caches
        slab_pool = _place_frames(k, data, info) if exact else {}
        _populate_slab(k, data, info, slab_pool)
        if not exact:
            _approximate_pages(k, data, info)
    finally:
        k.trace.enabled = old
    _install_meminfo(k, data, info)
    _carry_vmstat(k, data)
    pkg = data["manifest"].get("kernel_package", "?")
    k.printk(f"kmemlab: state=booted: the state a real boot to userspace left "
             f"({pkg}, QEMU TCG, 1 GiB, 2 CPUs, busybox init)")
    if not exact:
        k.printk(f"kmemlab: state=booted is an approximation on {k.ram >> 20} MiB / "
                 f"{k.nr_cpus} CPUs: the recording's live allocations were made again "
                 "through this machine's allocators, not placed at their real pfns")
    k.boot_state = info
    return info


# ---------------------------------------------------------------------- exact placement
def _zone_facts(zoneinfo: str) -> dict[str, dict[str, Any]]:
    facts: dict[str, dict[str, Any]] = {}
    zone = None
    for line in zoneinfo.splitlines():
        m = re.match(r"Node \d+, zone\s+(\S+)", line)
        if m:
            zone = m.group(1)
            facts[zone] = {}
            continue
        if zone is None:
            continue
        m = re.match(r"\s+(min|low|high|managed|present|spanned)\s+(\d+)$", line)
        if m:
            facts[zone][m.group(1)] = int(m.group(2))
        m = re.match(r"\s+protection: \((.*)\)", line)
        if m:
            facts[zone]["protection"] = [int(x) for x in m.group(1).split(",")]
    return facts


def _place_frames(k: Any, data: dict, info: BootStateInfo) -> dict[int, list[int]]:
    """Place the recorded frames at their real pfns; returns the slab frames (by order),
    which :func:`_populate_slab` gives to the caches."""
    pa = k.page_alloc
    mts = k.profile.migratetype_names
    letters = data["pageblock"]
    mt_of = [mts.index(_LETTER_MT[c]) for c in letters]
    shift = pa.pageblock_order
    # zones: the real managed pages and watermarks
    facts = _zone_facts(data["proc"]["zoneinfo"])
    for z in pa.zones:
        f = facts.get(z.name)
        if not f or not z.present:
            continue
        z.managed = f.get("managed", z.managed)
        z.watermark[0], z.watermark[1], z.watermark[2] = f["min"], f["low"], f["high"]
        if "protection" in f and len(f["protection"]) == len(z.lowmem_reserve):
            z.lowmem_reserve = list(f["protection"])
    k.totalram_pages = sum(z.managed for z in pa.zones)
    # free lists: empty them, then the real free blocks on their pageblock's list
    for z in pa.zones:
        for area in z.free_area:
            for fl in area.free_list:
                fl.clear()
            area.nr_free = 0
        z.free_pages = z.free_cma = 0
    pa.free_blocks.clear()
    for b, mt in enumerate(mt_of):
        if b < len(pa.pageblock_mt):
            pa.pageblock_mt[b] = mt
    zone_of = pa.zone_of_pfn
    for pfn, order in data["free"]:
        z = zone_of(pfn)
        if z is None:
            continue
        pa.add_to_free_list(z, pfn, order, mt_of[pfn >> shift], True)
        info.placed["free pages"] += 1 << order
    # per-CPU lists
    for pfn, cpu in data["pcp"]:
        z = zone_of(pfn)
        if z is None or cpu >= k.nr_cpus or not pa.pcp:
            continue
        pcp = pa.pcp[z.idx][cpu]
        pcp.lists[pa.pcp_lists.order_to_pindex(mt_of[pfn >> shift], 0)].append(pfn)
        pcp.count += 1
        info.placed["pcp pages"] += 1
    pcp_pfns = {pfn for pfn, _c in data["pcp"]}
    # allocated frames: compound blocks (slab pages are SLUB's, placed later), then
    # the order-0 rest by kind
    in_block: set[int] = set()
    slab_pool: dict[int, list[int]] = defaultdict(list)
    for pfn, order, kind in data["blocks"]:
        in_block.update(range(pfn, pfn + (1 << order)))
        if kind == "slab":
            slab_pool[order].append(pfn)
        else:
            _own(k, pfn, order, _KIND_OWNER.get(kind, "other"), mt_of[pfn >> shift])
            info.placed[f"{_KIND_OWNER.get(kind, 'other')} pages"] += 1 << order
    kinds = data["kinds"]
    reserved = []
    for start, count, code in data["frames"]:
        kind = kinds[code]
        if kind in ("free", "hole"):
            continue
        if kind == "reserved":
            reserved.append((start, count))
            continue
        owner = _KIND_OWNER.get(kind, "other")
        for pfn in range(start, start + count):
            if pfn in in_block or pfn in pcp_pfns:
                continue
            if kind == "slab":   # an order-0 slab page outside any recorded block
                slab_pool[0].append(pfn)
                continue
            _own(k, pfn, 0, owner, mt_of[pfn >> shift])
            info.placed[f"{owner} pages"] += 1
    k.memblock.reserved.regions[:] = []
    for start, count in reserved:
        k.memblock.reserved.add(start << k.PAGE_SHIFT, count << k.PAGE_SHIFT)
    info.placed["reserved pages"] = sum(c for _s, c in reserved)
    return slab_pool


def _own(k: Any, pfn: int, order: int, owner: str, mt: int) -> None:
    pa = k.page_alloc
    z = pa.zone_of_pfn(pfn)
    pa.allocated[pfn] = Page(pfn, order, z.name if z else "DMA32", owner, "boot", 0, mt,
                             "boot")


# ---------------------------------------------------------------------- slab
def _populate_slab(k: Any, data: dict, info: BootStateInfo,
                   pool: dict[int, list[int]]) -> None:
    """Fill the caches as /proc/slabinfo says; on the recorded slab frames ``pool``
    (exact placement; empty: through the buddy allocator)."""
    exact = info.exact
    slub = k.slub
    rows = _slabinfo_rows(data["proc"]["slabinfo"])
    pa = k.page_alloc
    letters = data["pageblock"]
    shift = pa.pageblock_order
    # the recorded slab frames by (order, pageblock letter), lowest pfn popped first
    by_type: dict[tuple[int, str], list[int]] = defaultdict(list)
    for order, lst in pool.items():
        for pfn in sorted(lst, reverse=True):
            by_type[(order, letters[pfn >> shift])].append(pfn)
    real_alloc = pa.alloc_pages
    gfp = k.profile.gfp.values
    reclaimable_bit = gfp["__GFP_RECLAIMABLE"]

    def slab_pages(value, order, *, owner="slab", detail="", caller=None):
        """The real slab frames, in place of the buddy allocator, while caches fill."""
        want = "R" if value & reclaimable_bit else "U"
        lst = by_type.get((order, want))
        if not lst:   # a frame in another kind of block (the pageblock fit is inferred)
            lst = next((by_type[key] for key in sorted(by_type)
                        if key[0] == order and by_type[key]), None)
        if not lst:
            info.placed["slabs not on a recorded slab frame"] += 1
            return real_alloc(value, order, owner=owner, detail=detail, caller=caller)
        pfn = lst.pop()
        mt = pa.RECLAIMABLE if value & reclaimable_bit else pa.UNMOVABLE
        z = pa.zone_of_pfn(pfn)
        page = Page(pfn, order, z.name if z else "DMA32", owner, detail, value, mt,
                    caller or "boot")
        pa.allocated[pfn] = page
        return page

    order_of = {row[0]: i for i, row in enumerate(rows)}
    kernel_gfp = k.gfp_value("GFP_KERNEL")
    if exact:
        pa.alloc_pages = slab_pages
    try:
        for row in reversed(rows):   # oldest first: slabinfo lists the newest first
            name = row[0]
            active, num = int(row[1]), int(row[2])
            cache = slub.slab_caches.get(name)
            if cache is None or cache.name != name:
                cache = _create_named(k, data, name, int(row[3]), info)
                if cache is None:
                    continue
            if not num:
                continue
            if cache.objs_per_slab != int(row[4]):   # another geometry: as many objects
                num = -(-active // cache.objs_per_slab) * cache.objs_per_slab
            _fill(k, cache, active, num, kernel_gfp, info)
    finally:
        if exact:
            del pa.alloc_pages   # the instance attribute: back to the class method
    # recorded slab frames beyond /proc/slabinfo's slabs (kpageflags was read a moment
    # later): kernel memory of no cache, so that Slab: agrees with slabinfo
    for (order, _letter), lst in sorted(by_type.items()):
        for pfn in lst:
            _own(k, pfn, order, "other", pa.UNMOVABLE)
            info.placed["slab frames without a cache"] += 1 << order
    # /proc/slabinfo order: the real one (newest first), the simulator's extra caches last
    slub.caches.sort(key=lambda c: -order_of.get(c.name, len(rows)))


def _create_named(k: Any, data: dict, name: str, objsize: int, info: BootStateInfo):
    slub = k.slub
    attrs, flags = named_cache_flags(data, name)
    size = int(attrs.get("object_size", objsize))
    align = int(attrs.get("align", 0))
    real_align = sc.calculate_alignment(flags, align, size, slub.word)
    cache = slub.create_cache(name, size, real_align, sc.slab_flags(flags, slub.version),
                               None, None)
    if cache is None:
        info.notes.append(f"{name}: cannot create")
        return None
    # the real geometry, where the simulator's calculate_sizes/order differ (only on the
    # recording's CPU count: calculate_order depends on nr_cpus)
    if attrs.get("slab_size") and attrs.get("objs_per_slab") and k.nr_cpus == 2:
        if (cache.size, cache.order, cache.objs_per_slab) != (
                attrs["slab_size"], attrs["order"], attrs["objs_per_slab"]):
            info.placed["caches with the real geometry imposed"] += 1
            cache.size = cache.slab_size = int(attrs["slab_size"])
            cache.order = int(attrs["order"])
            cache.objs_per_slab = int(attrs["objs_per_slab"])
            cache.random_seq = (slub.freelist_randomize(cache.objs_per_slab)
                                if cache.random_seq is not None else None)
    # merged names: the sysfs symlinks that point at this cache's directory
    target = name if name in data["slab"] else data["aliases"].get(name)
    for alias, tgt in data["aliases"].items():
        if tgt == target and alias != name and alias not in slub.slab_caches:
            cache.refcount += 1
            cache.alias_names.append(alias)
            slub.sysfs_slab_add(alias, cache)
    info.placed["named caches"] += 1
    return cache


def _fill(k: Any, cache: Any, active: int, num: int, gfp: int, info: BootStateInfo) -> None:
    """``num / objs_per_slab`` slabs (mm/slub.c: new_slab, on the recorded frames while
    _place_frames' pool lasts) holding ``active`` objects: the newest slabs keep the
    free objects (never all of one), on the node partial list, the others are full, so
    /proc/slabinfo's active_objs (objects not free on node partial slabs) is ``active``.

    The objects are recorded as live allocations like kmem_cache_alloc's (kfree of one
    works), without the per-object trace events and checks: boot-time bookkeeping.
    """
    from .slub import WHERE_FULL, WHERE_PARTIAL, LiveObject
    slub = k.slub
    per = cache.objs_per_slab or 1
    nslabs = -(-num // per)
    slabs = []
    for _ in range(nslabs):
        slab = slub.new_slab(cache, gfp, gfp)
        if slab is None:
            info.placed["slabs that failed"] += 1
            break
        slabs.append(slab)
    free = max(0, sum(sl.objects for sl in slabs) - active)
    live = slub.live
    size, osize = cache.size, cache.object_size
    dbg = k.rules.slab_debug
    n_live = 0
    for slab in reversed(slabs):     # the newest slabs keep the free objects
        keep_free = min(free, slab.objects - 1)
        free -= keep_free
        take = slab.objects - keep_free
        fl = slab.freelist
        base = slab.base
        idxs = fl[len(fl) - take:]          # the freelist's head is at the end
        del fl[len(fl) - take:]
        live.update({base + i * size: LiveObject(cache, slab, i, osize, "boot")
                     for i in reversed(idxs)})
        if dbg is not None:
            for i in reversed(idxs):
                dbg.on_alloc(base + i * size, osize, osize, cache.name, "kmem_cache_alloc")
        slab.inuse = take
        slab.cpu = -1
        n_live += take
        if fl:
            slab.where = WHERE_PARTIAL
            cache.node_partial.insert(0, slab)
        else:
            slab.where = WHERE_FULL
            cache.full[slab] = None
    cache.nr_live += n_live
    cache.live_requested += n_live * osize
    cache.hits += n_live
    cache.total_requested += n_live * osize
    cs = slub.callsites.setdefault("boot", [0, 0, 0, 0])
    cs[0] += n_live
    cs[1] += n_live * osize
    cs[2] += n_live * size
    info.placed["slab objects"] += n_live


# ---------------------------------------------------------------------- approximation
def _approximate_pages(k: Any, data: dict, info: BootStateInfo) -> None:
    """Other machine sizes: the recording's kernel pages (not slab, which
    _populate_slab made) are allocated again through this machine's allocator, in
    pfn order, with the migratetype of the pageblock they sat in."""
    pa = k.page_alloc
    letters = data["pageblock"]
    shift = pa.pageblock_order
    by_mt = {"U": k.gfp_value("GFP_KERNEL"), "R": k.gfp_value("GFP_KERNEL|__GFP_RECLAIMABLE"),
             "M": k.gfp_value("GFP_HIGHUSER_MOVABLE"), "H": k.gfp_value("GFP_KERNEL")}
    kinds = data["kinds"]
    in_block = {}
    for pfn, order, kind in data["blocks"]:
        if kind != "slab":
            in_block[pfn] = (order, kind)
    skip = set()
    for pfn, (order, _kind) in in_block.items():
        skip.update(range(pfn + 1, pfn + (1 << order)))
    for start, count, code in data["frames"]:
        kind = kinds[code]
        if kind in ("free", "hole", "reserved", "slab"):
            continue
        for pfn in range(start, start + count):
            if pfn in skip:
                continue
            order, kk = in_block.get(pfn, (0, kind))
            owner = _KIND_OWNER.get(kk, "other")
            page = pa.alloc_pages(by_mt[letters[pfn >> shift] if (pfn >> shift) < len(letters)
                                        else "U"] | k.gfp_value("__GFP_NOWARN"), order,
                                  owner=owner, detail="boot", caller="boot")
            if page is None:
                info.placed["pages that did not fit"] += 1 << order
                continue
            info.placed[f"{owner} pages"] += 1 << order


# ---------------------------------------------------------------------- meminfo
def _install_meminfo(k: Any, data: dict, info: BootStateInfo) -> None:
    """The difference, per field the core does not model, between the real meminfo and
    the simulated one (``info.meminfo``): procfs adds it once ``k.boot_state`` is
    ``info``, so the booted machine shows the real values and what the learner does
    afterwards changes them as usual."""
    real = parse_meminfo(data["proc"]["meminfo"])
    sim = parse_meminfo(k.proc("meminfo"))   # k.boot_state is still None: no deltas
    info.meminfo = {name: real[name] - sim.get(name, 0) for name in _CARRIED
                    if name in real and name in sim and real[name] != sim.get(name, 0)}


def _carry_vmstat(k: Any, data: dict) -> None:
    """/proc/vmstat's event counters (pgalloc_*, pgfree, compact_*...) count since boot:
    the booted machine starts from the recorded boot's values."""
    real = {}
    for line in data["proc"]["vmstat"].splitlines():
        f = line.split()
        if len(f) == 2 and f[1].isdigit():
            real[f[0]] = int(f[1])
    vm = k.page_alloc.vmstat
    for line in k.proc("vmstat").splitlines():
        name = line.split()[0]
        if name in real and name.startswith(("pg", "compact_", "oom_kill", "drop_pagecache")):
            vm[name] = real[name]
