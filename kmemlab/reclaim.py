"""Memory pressure: LRU pages, kswapd, direct reclaim, compaction, the OOM killer.

Models, one method each, the parts of mm/vmscan.c, mm/compaction.c and
mm/oom_kill.c that decide whether an allocation below its watermark can still
succeed. The page allocator (kmemlab/page_alloc.py: ``_slowpath``) calls
``k.wakeup_kswapd``, ``k.direct_reclaim`` and ``k.out_of_memory``, which call the
entry points of :class:`ReclaimState` (``k.reclaim``, this module: the state, the
slow path's retry rules and direct reclaim), which run the objects it owns:
``k.reclaim.vmscan`` (kmemlab/vmscan.py), ``k.reclaim.compaction``
(kmemlab/compaction.py) and ``k.reclaim.oom`` (kmemlab/oom_kill.py).

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

from .compaction import Compaction
from .oom_kill import OomKiller
from .pcp import PAGE_ALLOC_COSTLY_ORDER
from .vmscan import (
    KSWAPD_PID,
    SWAP_CLUSTER_MAX,
    LruPage,
    Vmscan,
    count_vm_events,
    gfp_has,
    zone_key,
)

MAX_RECLAIM_RETRIES = 16


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
        # the kernel files' algorithms, on this state
        self.vmscan = Vmscan(kernel, self)
        self.compaction = Compaction(kernel, self)
        self.oom = OomKiller(kernel, self)

    # ------------------------------------------------------------ entry points
    # What the page allocator's slow path calls (through the kernel's forwarders); each
    # runs the function of this module named after the kernel's.
    def wakeup_kswapd(self, zone, order: int) -> None:
        """mm/vmscan.c: wakeup_kswapd (from the allocator's slow path)."""
        self.vmscan.wakeup_kswapd(zone, order)

    def kswapd_run(self) -> int:
        """mm/vmscan.c: kswapd → balance_pgdat, now; the pages reclaimed."""
        return self.vmscan.kswapd_run()

    def out_of_memory(self, zonelist, order: int, value: int) -> bool:
        """mm/page_alloc.c: __alloc_pages_may_oom → mm/oom_kill.c: out_of_memory."""
        return self.oom.out_of_memory(zonelist, order, value)

    # ------------------------------------------------------------ direct reclaim
    def _max_passes(self, value: int, order: int) -> int:
        """How many direct-reclaim passes the version's retry rules allow."""
        k = self.k
        if gfp_has(k, value, "__GFP_NORETRY"):
            return 1
        if gfp_has(k, value, "__GFP_NOFAIL"):
            return MAX_RECLAIM_RETRIES
        if order > PAGE_ALLOC_COSTLY_ORDER:
            if not k.profile.should_reclaim_retry:
                # should_alloc_retry: __GFP_REPEAT retries until 1<<order pages were reclaimed
                return MAX_RECLAIM_RETRIES if gfp_has(k, value, "__GFP_REPEAT") else 1
            return MAX_RECLAIM_RETRIES if gfp_has(k, value, "__GFP_RETRY_MAYFAIL") else 1
        return MAX_RECLAIM_RETRIES

    def direct_reclaim(self, zonelist, order: int, value: int) -> int:
        """mm/page_alloc.c: __alloc_pages_direct_compact + __alloc_pages_direct_reclaim.

        The allocating task sleeps here. In atomic context that is
        ``BUG: scheduling while atomic`` (kernel/sched/core.c: __schedule_bug) and, with
        interrupts off, a hard lockup and a panic. Returns the pages made available
        (0 = no progress, which ends the retries).
        """
        k = self.k
        if self.busy:
            return 0
        if self.attempt == 0:
            k.rules.schedule_while_atomic_check("direct reclaim")
        if self.attempt >= self._max_passes(value, order):
            why = self._no_retry_why(value, order)
            k.trace.emit("mm_vmscan_direct_reclaim_end", why, nr_reclaimed=0)
            return 0
        if order > PAGE_ALLOC_COSTLY_ORDER and not k.profile.should_reclaim_retry and \
                gfp_has(k, value, "__GFP_REPEAT") and \
                self.reclaimed_this_alloc >= (1 << order) and self.attempt:
            return 0
        self.attempt += 1
        self.busy = True
        try:
            if not k.profile.node_lru:
                count_vm_events(k, "allocstall")
            else:
                count_vm_events(k, "allocstall_" + zone_key(k, zonelist[0].name))
            if self.attempt == 1:
                k.trace.emit("mm_vmscan_direct_reclaim_begin",
                             f"below the min watermark and the flags allow blocking: "
                             f"{k.current_task.comm} reclaims memory itself and sleeps while "
                             "doing it (an allocation stall)", order=order, gfp_flags=value)
            made = 0
            if order > 0:
                made = self.compaction.compact(zonelist, order)
                if made:
                    return made
            _scanned, reclaimed = self.vmscan.shrink_lists(
                list(zonelist), value, max(SWAP_CLUSTER_MAX, 1 << order), kswapd=False)
            self.reclaimed_this_alloc += reclaimed
            k.drain_all_pages()
            if order > 0 and reclaimed:
                made = self.compaction.compact(zonelist, order)
            k.trace.emit("mm_vmscan_direct_reclaim_end", self.last_why, nr_reclaimed=reclaimed)
            # dirty pages written back this pass count as progress: they are clean now
            return reclaimed or made or self.last_written
        finally:
            self.busy = False

    def _no_retry_why(self, value: int, order: int) -> str:
        k = self.k
        if gfp_has(k, value, "__GFP_NORETRY"):
            return "__GFP_NORETRY: one reclaim/compaction pass, then fail (no retry, no OOM killer)"
        if order > PAGE_ALLOC_COSTLY_ORDER:
            flag = "__GFP_RETRY_MAYFAIL" if k.profile.gfp_retry_mayfail else "__GFP_REPEAT"
            return (f"order {order} > PAGE_ALLOC_COSTLY_ORDER: costly requests are not retried "
                    f"without {flag}")
        return f"{MAX_RECLAIM_RETRIES} reclaim passes made no progress"

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
        folio_add_lru (3.15: putback_lru_page), like :meth:`Compaction._migrate_block`."""
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
            lines += [(f"{what}_{_zt(z)}", vm.get(f"{what}_{zone_key(k, z)}", 0))
                      for z in zones]
        lines += [("pageoutrun", vm.get("pageoutrun", 0)),
                  ("allocstall", vm.get("allocstall", 0))]
    else:
        lines += node
        lines.append(("nr_free_cma", sum(z.free_cma for z in pa.zones)))
        lines.append(("pgpgout", vm.get("pgpgout", 0)))
        lines += [(f"pgalloc_{_zt(z)}", vm.get(f"pgalloc_{z.lower()}", 0))
                  for z in zones]
        lines += [(f"allocstall_{_zt(z)}", vm.get(f"allocstall_{zone_key(k, z)}", 0))
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
