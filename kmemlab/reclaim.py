"""Memory pressure: LRU pages, kswapd, direct reclaim, compaction, the OOM killer.

Models, one function each, the parts of mm/vmscan.c, mm/compaction.c and
mm/oom_kill.c that decide whether an allocation below its watermark can still
succeed. The page allocator (kmemlab/page_alloc.py: ``_slowpath``) calls
``k.wakeup_kswapd``, ``k.direct_reclaim`` and ``k.out_of_memory``, which call the
entry points of the kernel's :class:`ReclaimState` (``k.reclaim``), which run the
functions here.

What is modelled:

* LRU pages: page cache (clean or dirty file pages, on the inactive file list) and
  anonymous pages (active anon list). There is no swap device, so anonymous pages
  cannot be reclaimed: only the OOM killer gets them back.
* kswapd (mm/vmscan.c: wakeup_kswapd, balance_pgdat): woken below the low
  watermark, it runs when the allocating task yields the CPU (end of a workload
  step, ``k.msleep``, ``k.kswapd_run()``) and reclaims until every zone is above
  its high watermark.
* direct reclaim (mm/vmscan.c: try_to_free_pages → shrink_node): the allocating
  task itself reclaims SWAP_CLUSTER_MAX pages per pass; that is where GFP_KERNEL
  sleeps. Clean file pages are dropped; dirty ones need writeback, which a request
  without ``__GFP_IO``/``__GFP_FS`` may not wait for (mm/vmscan.c: may_enter_fs).
* compaction (mm/compaction.c: compact_zone): movable LRU pages are migrated out of
  an aligned block (a new page is allocated elsewhere, the old one freed) until
  the block is free and merges to the requested order.
* the OOM killer (mm/oom_kill.c: out_of_memory, oom_badness, oom_kill_process) on
  a registry of killable tasks (``k.register_oom_candidate``).
* retry rules per version (mm/page_alloc.c: __alloc_pages_slowpath,
  should_alloc_retry [3.15], should_reclaim_retry [6.x], __alloc_pages_may_oom).

Not modelled: swap, active/inactive aging (pages are reclaimed oldest first), memory
cgroups, the shrinkers of slab caches, kcompactd, watermark boosting.
"""

from __future__ import annotations

from collections import OrderedDict

from . import report
from .errors import OutOfMemory

SWAP_CLUSTER_MAX = 32
PAGE_ALLOC_COSTLY_ORDER = 3
MAX_RECLAIM_RETRIES = 16
KSWAPD_PID = 41   # the pid kswapd0 has in reports (a kernel thread started at boot)


class LruPage:
    """One page on an LRU list: a page-cache page (``kind="file"``) or anonymous."""

    __slots__ = ("page", "kind", "dirty", "task", "file")

    def __init__(self, page, kind: str, dirty: bool = False, task=None, file: str = "") -> None:
        self.page, self.kind, self.dirty, self.task, self.file = page, kind, dirty, task, file

    @property
    def pfn(self) -> int:
        return self.page.pfn

    def __repr__(self) -> str:
        return (f"LruPage(pfn={self.pfn:#x}, {self.kind}{', dirty' if self.dirty else ''}, "
                f"zone={self.page.zone})")


class ReclaimState:
    """The reclaim model's state, kept on the kernel as ``k.reclaim``."""

    def __init__(self, kernel) -> None:
        self.k = kernel
        self.lru: dict[str, OrderedDict[int, LruPage]] = {"file": OrderedDict(),
                                                            "anon": OrderedDict()}
        self.kswapd_pending: int | None = None   # order kswapd was woken for
        self.kswapd_zone: str | None = None
        self.oom_candidates: list = []
        self.oom_kills = 0
        self.attempt = 0          # direct reclaim passes of the current allocation
        self.reclaimed_this_alloc = 0
        self.busy = False         # inside reclaim/compaction (nested allocations)
        self.last_why = ""
        self.last_written = 0
        self.kswapd_pid = KSWAPD_PID

    # ------------------------------------------------------------ entry points
    # What the page allocator's slow path calls (through the kernel's forwarders); each
    # runs the function of this module named after the kernel's.
    def wakeup_kswapd(self, zone, order: int) -> None:
        """mm/vmscan.c: wakeup_kswapd (from the allocator's slow path)."""
        wakeup_kswapd(self.k, zone, order)

    def kswapd_run(self) -> int:
        """mm/vmscan.c: kswapd → balance_pgdat, now; the pages reclaimed."""
        return kswapd_run(self.k)

    def direct_reclaim(self, zonelist, order: int, value: int) -> int:
        """mm/page_alloc.c: __alloc_pages_direct_compact/_reclaim; pages made available."""
        return direct_reclaim(self.k, zonelist, order, value)

    def out_of_memory(self, zonelist, order: int, value: int) -> bool:
        """mm/page_alloc.c: __alloc_pages_may_oom → mm/oom_kill.c: out_of_memory."""
        return out_of_memory(self.k, zonelist, order, value)

    # ------------------------------------------------------------ LRU
    def add(self, lp: LruPage) -> None:
        """lru_cache_add: file pages on the inactive file list, anon on the active anon list."""
        self.lru[lp.kind][lp.pfn] = lp

    def remove(self, lp: LruPage) -> None:
        self.lru[lp.kind].pop(lp.pfn, None)

    def page_migrated(self, page, old_pfn: int) -> None:
        """``page`` (the same Page object) now lives at ``page.pfn`` instead of
        ``old_pfn``: its LRU entry and its task's mapping follow it. The moved page goes
        to the LRU's young end, as mm/migrate.c puts the new folio back with
        folio_add_lru (3.15: putback_lru_page), like compaction's :func:`_migrate_block`."""
        for lru in self.lru.values():
            lp = lru.get(old_pfn)
            if lp is not None and lp.page is page:
                del lru[old_pfn]
                lru[page.pfn] = lp
                if lp.task is not None:
                    lp.task.page_migrated(old_pfn, lp)
                return

    def count(self, kind: str, dirty: bool | None = None) -> int:
        if dirty is None:
            return len(self.lru[kind])
        return sum(1 for lp in self.lru[kind].values() if lp.dirty == dirty)

    def reclaimable(self, zones=None) -> int:
        names = None if zones is None else {z.name for z in zones}
        return sum(1 for lp in self.lru["file"].values()
                   if names is None or lp.page.zone in names)


def _vm(k, name: str, n: int = 1) -> None:
    k.page_alloc.count(name, n)


def _zone_key(k, zone_name: str) -> str:
    return zone_name.lower() if zone_name != "HighMem" else "high"


def _gfp(k, value: int, name: str) -> bool:
    v = k.profile.gfp.values.get(name, 0)
    return bool(v and value & v)


# ====================================================================== shrink
def shrink_lists(k, zones, value: int, nr_to_reclaim: int, *, kswapd: bool) -> tuple[int, int]:
    """mm/vmscan.c: shrink_node → shrink_inactive_list → shrink_page_list (one pass).

    Scans the file LRU oldest first in ``zones``. A clean page is freed. A dirty
    page needs writeback: kswapd and requests with ``__GFP_IO|__GFP_FS`` wake the
    flusher (wakeup_flusher_threads) and throttle on it, so the page is clean for
    the next pass; a GFP_NOIO/GFP_NOFS request may not wait for that I/O and skips
    it (may_enter_fs). Anonymous pages are not scanned: there is no swap.
    Returns (scanned, reclaimed).
    """
    st: ReclaimState = k.reclaim
    names = {z.name for z in zones}
    may_io = kswapd or (_gfp(k, value, "__GFP_IO") and _gfp(k, value, "__GFP_FS"))
    scanned = reclaimed = skipped_dirty = 0
    victims, cleaned = [], []
    budget = max(4 * nr_to_reclaim, 2048)       # nr_to_scan: a slice of the list per pass
    looked = 0
    for lp in st.lru["file"].values():
        if reclaimed >= nr_to_reclaim or looked >= budget:
            break
        looked += 1
        if lp.page.zone not in names:
            continue
        scanned += 1
        if lp.dirty:
            if may_io:
                cleaned.append(lp)
            else:
                skipped_dirty += 1
            continue
        victims.append(lp)
        reclaimed += 1
    for lp in cleaned:   # the flusher wrote it back: clean, at the tail, reclaimable later
        lp.dirty = False
        st.lru["file"].move_to_end(lp.pfn)
    written = len(cleaned)
    for lp in victims:
        st.remove(lp)
        if lp.task is not None:
            lp.task.page_reclaimed(lp)
        k.page_alloc.free_pages(lp.page, 0, caller="shrink_page_list")
    who = "kswapd" if kswapd else "direct"
    if scanned:
        if not k.profile.node_lru:
            zkey = _zone_key(k, next(iter(zones)).name) if zones else "normal"
            _vm(k, f"pgscan_{who}_{zkey}", scanned)
            _vm(k, f"pgsteal_{who}_{zkey}", reclaimed)
        else:
            _vm(k, f"pgscan_{who}", scanned)
            _vm(k, f"pgsteal_{who}", reclaimed)
            _vm(k, "pgscan_file", scanned)
            _vm(k, "pgsteal_file", reclaimed)
    if written:
        _vm(k, "nr_written", written)
        _vm(k, "pgpgout", written * (k.PAGE_SIZE >> 10))
    why = (f"{who} reclaim scanned {scanned} file pages, freed {reclaimed} clean ones")
    if written:
        why += f"; {written} dirty pages written back by the flusher (reclaimable next pass)"
    if skipped_dirty:
        why += (f"; {skipped_dirty} dirty pages skipped: without __GFP_IO|__GFP_FS the "
                "caller may not wait for writeback (it might hold the lock that I/O needs)")
    st.last_why = why
    k.trace.emit("mm_vmscan_lru_shrink_inactive", why, nid=0, nr_scanned=scanned,
                 nr_reclaimed=reclaimed, nr_dirty=written + skipped_dirty,
                 nr_writeback=written, priority=12, flags="RECLAIM_WB_FILE")
    st.last_written = written
    return scanned, reclaimed


# ====================================================================== kswapd
def wakeup_kswapd(k, zone, order: int) -> None:
    """mm/vmscan.c: wakeup_kswapd: mark kswapd runnable (it runs when the CPU is yielded)."""
    st: ReclaimState = k.reclaim
    if st.kswapd_pending is None or order > st.kswapd_pending:
        st.kswapd_pending = order
        st.kswapd_zone = zone.name
        why = (f"{zone.name} free {zone.free_pages} pages fell below the low watermark "
               f"{zone.low}: kswapd is woken to reclaim in the background up to high "
               f"{zone.high}; it runs when this task yields the CPU")
        if not k.profile.trace_wakeup_kswapd_gfp:
            k.trace.emit("mm_vmscan_wakeup_kswapd", why, nid=0, zid=zone.idx, order=order)
        else:
            k.trace.emit("mm_vmscan_wakeup_kswapd", why, nid=0, zid=zone.idx, order=order,
                         gfp_flags=k.gfp_value("GFP_KERNEL"))


def kswapd_run(k) -> int:
    """mm/vmscan.c: kswapd → balance_pgdat: reclaim until every zone is above high.

    Returns the pages reclaimed. Runs only if kswapd was woken (``wakeup_kswapd``).
    """
    st: ReclaimState = k.reclaim
    if st.kswapd_pending is None or st.busy:
        return 0
    order = st.kswapd_pending
    st.kswapd_pending = None
    st.busy = True
    total = 0
    try:
        k.trace.emit("mm_vmscan_kswapd_wake", f"kswapd0 runs for order {order}", nid=0,
                     zid=0, order=order)
        _vm(k, "pageoutrun")
        saved = k.current_task
        from .context import Task
        k.current_task = Task(pid=st.kswapd_pid, comm="kswapd0")
        try:
            for zone in k.page_alloc.populated_zones:
                for _ in range(4096):
                    if zone.free_pages >= zone.high:
                        break
                    _scanned, got = shrink_lists(k, [zone], k.gfp_value("GFP_KERNEL"),
                                                 SWAP_CLUSTER_MAX, kswapd=True)
                    if not _scanned:
                        break
                    total += got
        finally:
            k.current_task = saved
        k.drain_all_pages()
        k.trace.emit("mm_vmscan_kswapd_sleep",
                     f"kswapd0 reclaimed {total} pages and sleeps: zones above high or "
                     "nothing left it can reclaim", nid=0)
    finally:
        st.busy = False
    return total


# ====================================================================== direct reclaim
def _max_passes(k, value: int, order: int) -> int:
    """How many direct-reclaim passes the version's retry rules allow."""
    if _gfp(k, value, "__GFP_NORETRY"):
        return 1
    if _gfp(k, value, "__GFP_NOFAIL"):
        return MAX_RECLAIM_RETRIES
    if order > PAGE_ALLOC_COSTLY_ORDER:
        if not k.profile.should_reclaim_retry:
            # should_alloc_retry: __GFP_REPEAT retries until 1<<order pages were reclaimed
            return MAX_RECLAIM_RETRIES if _gfp(k, value, "__GFP_REPEAT") else 1
        return MAX_RECLAIM_RETRIES if _gfp(k, value, "__GFP_RETRY_MAYFAIL") else 1
    return MAX_RECLAIM_RETRIES


def direct_reclaim(k, zonelist, order: int, value: int) -> int:
    """mm/page_alloc.c: __alloc_pages_direct_compact + __alloc_pages_direct_reclaim.

    The allocating task sleeps here. In atomic context that is
    ``BUG: scheduling while atomic`` (kernel/sched/core.c: __schedule_bug) and, with
    interrupts off, a hard lockup and a panic. Returns the pages made available
    (0 = no progress, which ends the retries).
    """
    st: ReclaimState = k.reclaim
    if st.busy:
        return 0
    if st.attempt == 0:
        k.rules.schedule_while_atomic_check("direct reclaim")
    if st.attempt >= _max_passes(k, value, order):
        why = _no_retry_why(k, value, order)
        k.trace.emit("mm_vmscan_direct_reclaim_end", why, nr_reclaimed=0)
        return 0
    if order > PAGE_ALLOC_COSTLY_ORDER and not k.profile.should_reclaim_retry and \
            _gfp(k, value, "__GFP_REPEAT") and st.reclaimed_this_alloc >= (1 << order) and \
            st.attempt:
        return 0
    st.attempt += 1
    st.busy = True
    try:
        if not k.profile.node_lru:
            _vm(k, "allocstall")
        else:
            _vm(k, "allocstall_" + _zone_key(k, zonelist[0].name))
        if st.attempt == 1:
            k.trace.emit("mm_vmscan_direct_reclaim_begin",
                         f"below the min watermark and the flags allow blocking: "
                         f"{k.current_task.comm} reclaims memory itself and sleeps while "
                         "doing it (an allocation stall)", order=order, gfp_flags=value)
        made = 0
        if order > 0:
            made = compact(k, zonelist, order)
            if made:
                return made
        _scanned, reclaimed = shrink_lists(k, list(zonelist), value,
                                           max(SWAP_CLUSTER_MAX, 1 << order), kswapd=False)
        st.reclaimed_this_alloc += reclaimed
        k.drain_all_pages()
        if order > 0 and reclaimed:
            made = compact(k, zonelist, order)
        k.trace.emit("mm_vmscan_direct_reclaim_end", st.last_why, nr_reclaimed=reclaimed)
        # dirty pages written back this pass count as progress: they are clean now
        return reclaimed or made or st.last_written
    finally:
        st.busy = False


def _no_retry_why(k, value: int, order: int) -> str:
    if _gfp(k, value, "__GFP_NORETRY"):
        return "__GFP_NORETRY: one reclaim/compaction pass, then fail (no retry, no OOM killer)"
    if order > PAGE_ALLOC_COSTLY_ORDER:
        flag = "__GFP_RETRY_MAYFAIL" if k.profile.gfp_retry_mayfail else "__GFP_REPEAT"
        return (f"order {order} > PAGE_ALLOC_COSTLY_ORDER: costly requests are not retried "
                f"without {flag}")
    return f"{MAX_RECLAIM_RETRIES} reclaim passes made no progress"


# ====================================================================== compaction
def compact(k, zonelist, order: int) -> int:
    """mm/compaction.c: try_to_compact_pages → compact_zone (one zone at a time).

    Looks for the order-aligned block, in a MOVABLE pageblock, that holds only free
    pages and movable LRU pages and needs the fewest migrations; migrates each of
    them (mm/migrate.c: migrate_pages: allocate a page outside the block, move, free
    the old one) until the block is free and merges. Returns 1 << order on
    success, 0 otherwise. Counts compact_stall/success/fail, compact_isolated,
    compact_migrate_scanned, compact_free_scanned and pgmigrate_success.
    """
    pa = k.page_alloc
    st: ReclaimState = k.reclaim
    _vm(k, "compact_stall")
    size = 1 << order
    lru_by_pfn = {**st.lru["file"], **st.lru["anon"]}
    k.drain_all_pages()
    for zone in zonelist:
        # compaction_suitable: enough free pages to hold the migrated ones
        if zone.free_pages < size * 2:
            continue
        best = None
        counts: dict[int, int] = {}
        bad: set[int] = set()
        for pfn, page in pa.allocated.items():
            if page.zone != zone.name:
                continue
            base = pfn & ~(size - 1)
            if pfn in lru_by_pfn and page.order == 0:
                counts[base] = counts.get(base, 0) + 1
            else:
                bad.add(base)
                if page.order >= order:
                    for b in range(pfn, pfn + (1 << page.order), size):
                        bad.add(b)
        start = -(-zone.zone_start_pfn // size) * size
        for base, n in sorted(counts.items()):
            if base in bad or base < start or base + size > zone.zone_end_pfn:
                continue
            if pa.get_pageblock_migratetype(base) != pa.MOVABLE:
                continue
            if k.memblock.is_reserved(base << k.PAGE_SHIFT, size << k.PAGE_SHIFT):
                continue
            if best is None or n < best[1]:
                best = (base, n)
        if best is None:
            continue
        base, n = best
        if n > zone.free_pages - size:
            continue
        _vm(k, "compact_migrate_scanned", size)
        moved = _migrate_block(k, zone, base, size, lru_by_pfn)
        k.drain_all_pages()
        entry = pa.free_blocks.get(base)
        if entry is not None and entry[0] >= order or _inside_free(pa, base, order):
            _vm(k, "compact_success")
            k.trace.emit("mm_compaction_end",
                         f"compaction migrated {moved} movable pages out of the order-{order} "
                         f"block at pfn {base:#x} in {zone.name}; the block is free now",
                         zone_start=zone.zone_start_pfn, migrate_pfn=base,
                         free_pfn=zone.zone_end_pfn, order=order, status="success")
            return size
    _vm(k, "compact_fail")
    k.trace.emit("mm_compaction_end",
                 f"compaction found no order-{order} block made only of free and movable "
                 "pages", order=order, status="no_suitable_page")
    return 0


def _inside_free(pa, base: int, order: int) -> bool:
    for o in range(order, pa.nr_orders):
        head = base & ~((1 << o) - 1)
        e = pa.free_blocks.get(head)
        if e is not None and e[0] >= o:
            return True
    return False


def _migrate_block(k, zone, base: int, size: int, lru_by_pfn) -> int:
    """mm/migrate.c: migrate_pages for the LRU pages of [base, base + size)."""
    pa = k.page_alloc
    st: ReclaimState = k.reclaim
    g = k.profile.gfp.values
    # the free scanner: a movable page from anywhere, no watermark (compaction checked
    # compaction_suitable already), no kswapd wakeup
    value = g["__GFP_MOVABLE"] | g["__GFP_NOWARN"] | g["__GFP_MEMALLOC"] | \
        g.get("__GFP_NO_KSWAPD", 0)
    if zone.name == "HighMem":
        value |= g["__GFP_HIGHMEM"]
    elif zone.name == "DMA32":
        value |= g["__GFP_DMA32"]
    elif zone.name == "DMA":
        value |= g["__GFP_DMA"]
    held = []
    moved = 0
    try:
        for pfn in range(base, base + size):
            lp = lru_by_pfn.get(pfn)
            if lp is None or pa.allocated.get(pfn) is not lp.page:
                continue
            _vm(k, "compact_isolated")
            new = None
            for _ in range(size + 1):
                cand = pa.alloc_pages(value, 0, owner=lp.page.owner, detail=lp.page.detail,
                                      caller="migrate_pages")
                if cand is None:
                    break
                _vm(k, "compact_free_scanned")
                if base <= cand.pfn < base + size or cand.zone != zone.name:
                    held.append(cand)
                    continue
                new = cand
                break
            if new is None:
                _vm(k, "pgmigrate_fail")
                break
            old = lp.page
            st.remove(lp)
            new.gfp = old.gfp
            lp.page = new
            st.add(lp)
            if lp.task is not None:
                lp.task.page_migrated(old.pfn, lp)
            pa.free_pages(old, 0, caller="migrate_pages")
            _vm(k, "pgmigrate_success")
            moved += 1
    finally:
        for cand in held:
            pa.free_pages(cand, 0, caller="compaction")
    return moved


# ====================================================================== OOM killer
def oom_allowed(k, value: int, order: int, zonelist) -> tuple[bool, str]:
    """mm/page_alloc.c: __alloc_pages_may_oom and the slow path's conditions, per version."""
    g = k.profile.gfp.values
    p = k.profile
    normal = k.page_alloc.zone_by_name.get("Normal")
    highest = k.page_alloc.zone_by_name[k.profile.gfp_zone(value)]
    if _gfp(k, value, "__GFP_NORETRY"):
        return False, "__GFP_NORETRY: the OOM killer is never invoked"
    if p.gfp_retry_mayfail and _gfp(k, value, "__GFP_RETRY_MAYFAIL"):
        return False, "__GFP_RETRY_MAYFAIL: may fail, so the OOM killer is not invoked"
    if order > PAGE_ALLOC_COSTLY_ORDER and not _gfp(k, value, "__GFP_NOFAIL"):
        return False, (f"order {order} > PAGE_ALLOC_COSTLY_ORDER: the OOM killer will not "
                       "help higher-order allocations")
    if normal is not None and highest.idx < normal.idx:
        return False, ("the request is for a zone below Normal: the OOM killer does not kill "
                       "tasks for lowmem")
    if not value & g["__GFP_FS"]:
        if p.oom_gfp_allowed:
            return False, ("no __GFP_FS: oom_gfp_allowed() is false (a real "
                           f"{p.version} kernel keeps "
                           "retrying order ≤ 3 requests forever; kmemlab fails them)")
        return False, ("no __GFP_FS: out_of_memory() does not kill for GFP_NOFS/GFP_NOIO (a "
                       "real 6.x kernel keeps retrying order ≤ 3 requests; kmemlab fails them)")
    return True, ""


def oom_badness(k, cand, totalpages: int) -> int:
    """mm/oom_kill.c: oom_badness: rss + swap + page tables, plus oom_score_adj scaled.

    3.15 returns the raw points too; select_bad_process scales the chosen one to
    0..1000 for the ``score`` it prints. Unkillable tasks (adj -1000) give -1.
    """
    info = _oom_info(cand)
    adj = info["oom_score_adj"]
    if adj == -1000:
        return -1
    points = info["anon_rss"] + info["file_rss"] + info["shmem_rss"] + info["swapents"]
    if not k.profile.mm_pgtables_bytes:
        points += info["nr_ptes"]
    else:
        points += info["pgtables_bytes"] // k.PAGE_SIZE
    points += adj * (totalpages // 1000)
    if k.profile.oom_badness_normalised:
        return points if points > 0 else 1
    return points


def _oom_info(cand) -> dict:
    info = {"anon_rss": 0, "file_rss": 0, "shmem_rss": 0, "swapents": 0, "total_vm": 0,
            "pgtables_bytes": 0, "nr_ptes": 0, "oom_score_adj": 0, "uid": 0}
    info.update(cand.oom_info())
    info["oom_score_adj"] = int(getattr(cand, "oom_score_adj", info["oom_score_adj"]))
    return info


def out_of_memory(k, zonelist, order: int, value: int) -> bool:
    """mm/oom_kill.c: out_of_memory → select_bad_process → oom_kill_process.

    Logs the version's report (``invoked oom-killer``, the task dump, 6.x
    ``Out of memory: Killed process N (comm) total-vm:…`` or 3.15 ``Out of memory:
    Kill process N (comm) score S or sacrifice child`` + ``Killed process …``), kills
    the task with the largest badness and returns True; False when no task can be
    killed (``Out of memory and no killable processes...``). ``__GFP_NOFAIL`` keeps
    killing until the allocation fits, or raises :class:`OutOfMemory`.
    """
    st: ReclaimState = k.reclaim
    if st.busy:
        return False
    ok, why = oom_allowed(k, value, order, zonelist)
    nofail = _gfp(k, value, "__GFP_NOFAIL")
    if not ok:
        k.trace.emit("mark_victim", "OOM killer not invoked: " + why, pid=-1)
        k.printk(f"kmemlab: why: no OOM kill: {why}")
        return False
    killed_any = False
    while True:
        killed = _kill_one(k, value, order)
        if not killed:
            if nofail and not killed_any:
                k.printk("kmemlab: why: __GFP_NOFAIL request and nothing left to kill: a real "
                         "kernel would loop here forever")
                raise OutOfMemory("__GFP_NOFAIL allocation cannot be satisfied: no "
                                  "reclaimable memory and no killable task")
            return killed_any
        killed_any = True
        if not nofail or _fits(k, zonelist, order, value):
            return True


def _fits(k, zonelist, order: int, value: int) -> bool:
    pa = k.page_alloc
    flags = pa.gfp_to_alloc_flags(value, order)
    hi = zonelist[0].idx
    return any(pa.zone_watermark_ok(z, order, z.min, hi, flags) for z in zonelist)


def _kill_one(k, value: int, order: int) -> bool:
    st: ReclaimState = k.reclaim
    totalpages = k.totalram_pages
    cands = [c for c in st.oom_candidates if not getattr(c, "oom_killed", False)]
    scored = [(oom_badness(k, c, totalpages), i, c) for i, c in enumerate(cands)]
    scored = [t for t in scored if t[0] >= 0 and _oom_info(t[2])["anon_rss"] +
              _oom_info(t[2])["file_rss"] + _oom_info(t[2])["shmem_rss"] > 0]
    old_report = k.profile.oom_report == "kill_process"
    cur = k.current_task
    if not scored:
        if not st.oom_candidates or all(getattr(c, "oom_killed", False)
                                        for c in st.oom_candidates):
            k.printk("Out of memory and no killable processes...")
        else:
            k.printk("Out of memory and no killable processes...")
        return False
    # select_bad_process: highest points; ties go to the first task in the list
    points, _i, victim = max(scored, key=lambda t: (t[0], -t[1]))
    info = _oom_info(victim)
    if old_report:
        k.printk(f"{cur.comm} invoked oom-killer: gfp_mask={value:#x}, order={order}, "
                 "oom_score_adj=0")
    else:
        k.printk(f"{cur.comm} invoked oom-killer: gfp_mask={value:#x}"
                 f"({k.profile.gfp.show(value)}), order={order}, oom_score_adj=0")
    k.printk(report.cpu_line(k, pid=cur.pid, comm=cur.comm))
    k.printk("Call Trace:")
    report.show_mem(k)
    _dump_tasks(k, scored)
    kb = k.PAGE_SIZE >> 10
    if old_report:
        score = points * 1000 // max(1, totalpages)
        k.printk(f"Out of memory: Kill process {victim.pid} ({victim.comm}) score {score} "
                 "or sacrifice child")
        k.printk(f"Killed process {victim.pid} ({victim.comm}) total-vm:"
                 f"{info['total_vm'] * kb}kB, anon-rss:{info['anon_rss'] * kb}kB, "
                 f"file-rss:{info['file_rss'] * kb}kB")
    else:
        k.printk(f"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,"
                 f"mems_allowed=0,global_oom,task_memcg=/,task={victim.comm},"
                 f"pid={victim.pid},uid={info['uid']}")
        k.printk(f"Out of memory: Killed process {victim.pid} ({victim.comm}) total-vm:"
                 f"{info['total_vm'] * kb}kB, anon-rss:{info['anon_rss'] * kb}kB, "
                 f"file-rss:{info['file_rss'] * kb}kB, shmem-rss:{info['shmem_rss'] * kb}kB, "
                 f"UID:{info['uid']} pgtables:{info['pgtables_bytes'] >> 10}kB "
                 f"oom_score_adj:{info['oom_score_adj']}")
    why = (f"no reclaimable memory left for {cur.comm}'s order-{order} request: the OOM "
           f"killer chose {victim.comm} (pid {victim.pid}), the task with the largest "
           f"badness {points} (rss + page tables + swap, adjusted by oom_score_adj)")
    k.printk(f"kmemlab: why: {why}")
    k.trace.emit("mark_victim", why, pid=victim.pid)
    if k.profile.vmstat_oom_kill:
        _vm(k, "oom_kill")
    st.oom_kills += 1
    victim.oom_killed = True
    victim.oom_kill()
    k.drain_all_pages()
    return True


def _dump_tasks(k, scored) -> None:
    """mm/oom_kill.c: dump_tasks, in the version's column layout."""
    cols = k.profile.dump_tasks_columns
    if cols == "nr_ptes":
        k.printk("[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name")
    elif cols == "pgtables_bytes":
        k.printk("Tasks state (memory values in pages):")
        k.printk("[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents "
                 "oom_score_adj name")
    else:
        k.printk("Tasks state (memory values in pages):")
        k.printk("[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem "
                 "pgtables_bytes swapents oom_score_adj name")
    for _p, _i, c in sorted(scored, key=lambda t: t[2].pid):
        i = _oom_info(c)
        rss = i["anon_rss"] + i["file_rss"] + i["shmem_rss"]
        if cols == "nr_ptes":
            k.printk(f"[{c.pid:5d}] {i['uid']:5d} {c.pid:5d} {i['total_vm']:8d} {rss:8d} "
                     f"{i['nr_ptes']:7d} {i['swapents']:8d}         {i['oom_score_adj']:5d} "
                     f"{c.comm}")
        elif cols == "pgtables_bytes":
            k.printk(f"[{c.pid:7d}] {i['uid']:5d} {c.pid:5d} {i['total_vm']:8d} {rss:8d} "
                     f"{i['pgtables_bytes']:8d} {i['swapents']:8d}         "
                     f"{i['oom_score_adj']:5d} {c.comm}")
        else:
            k.printk(f"[{c.pid:7d}] {i['uid']:5d} {c.pid:5d} {i['total_vm']:8d} {rss:8d} "
                     f"{i['anon_rss']:8d} {i['file_rss']:8d} {i['shmem_rss']:9d} "
                     f"{i['pgtables_bytes']:8d} {i['swapents']:8d}         "
                     f"{i['oom_score_adj']:5d} {c.comm}")


# ====================================================================== /proc/vmstat
_ZONE_TEXT = {"DMA": "dma", "DMA32": "dma32", "Normal": "normal", "HighMem": "high",
              "Movable": "movable"}


def _zt(zone_name: str) -> str:
    return _ZONE_TEXT.get(zone_name, zone_name.lower())


def render_vmstat(k) -> str:
    """mm/vmstat.c: vmstat_show over vmstat_text[] — the items this model counts.

    Names and order are the version's; items the simulator has no value for are left
    out (a real file has ~150-190 lines).
    """
    pa = k.page_alloc
    vm = pa.vmstat
    st: ReclaimState = k.reclaim
    zones = [z.name for z in pa.zones]
    file_pages = st.count("file")
    lines = [("nr_free_pages", sum(z.free_pages for z in pa.zones)),
             ("nr_inactive_anon", 0), ("nr_active_anon", st.count("anon")),
             ("nr_inactive_file", file_pages), ("nr_active_file", 0)]
    node = [("nr_anon_pages", st.count("anon")), ("nr_file_pages", file_pages),
            ("nr_dirty", st.count("file", dirty=True)), ("nr_writeback", 0),
            ("nr_vmscan_write", vm.get("nr_vmscan_write", 0)),
            ("nr_written", vm.get("nr_written", 0))]
    if not k.profile.node_lru:
        lines += node
        lines.append(("nr_free_cma", sum(z.free_cma for z in pa.zones)))
        lines.append(("pgpgout", vm.get("pgpgout", 0)))
        lines += [(f"pgalloc_{_zt(z)}", vm.get(f"pgalloc_{z.lower()}", 0))
                  for z in zones]
        lines.append(("pgfree", vm.get("pgfree", 0)))
        for what in ("pgsteal_kswapd", "pgsteal_direct", "pgscan_kswapd", "pgscan_direct"):
            lines += [(f"{what}_{_zt(z)}", vm.get(f"{what}_{_zone_key(k, z)}", 0))
                      for z in zones]
        lines += [("pageoutrun", vm.get("pageoutrun", 0)),
                  ("allocstall", vm.get("allocstall", 0))]
    else:
        lines += node
        lines.append(("nr_free_cma", sum(z.free_cma for z in pa.zones)))
        lines.append(("pgpgout", vm.get("pgpgout", 0)))
        lines += [(f"pgalloc_{_zt(z)}", vm.get(f"pgalloc_{z.lower()}", 0))
                  for z in zones]
        lines += [(f"allocstall_{_zt(z)}", vm.get(f"allocstall_{_zone_key(k, z)}", 0))
                  for z in zones]
        lines.append(("pgfree", vm.get("pgfree", 0)))
        for what in ("pgsteal_kswapd", "pgsteal_direct", "pgscan_kswapd", "pgscan_direct",
                     "pgscan_anon", "pgscan_file", "pgsteal_anon", "pgsteal_file"):
            lines.append((what, vm.get(what, 0)))
        lines += [("pageoutrun", vm.get("pageoutrun", 0)),
                  ("drop_pagecache", vm.get("drop_pagecache", 0)),
                  ("oom_kill", vm.get("oom_kill", 0))]
    lines += [("pgmigrate_success", vm.get("pgmigrate_success", 0)),
              ("pgmigrate_fail", vm.get("pgmigrate_fail", 0))]
    for what in ("compact_migrate_scanned", "compact_free_scanned", "compact_isolated",
                 "compact_stall", "compact_fail", "compact_success"):
        lines.append((what, vm.get(what, 0)))
    return "".join(f"{name} {val}\n" for name, val in lines)
