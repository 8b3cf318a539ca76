"""Page reclaim: the LRU lists, kswapd and one pass of shrinking (mm/vmscan.c).

Clean file pages are dropped; dirty ones need writeback, which a request without
``__GFP_IO``/``__GFP_FS`` may not wait for (may_enter_fs). There is no swap device,
so anonymous pages are never reclaimed here. :class:`Vmscan` (``k.reclaim.vmscan``)
works on the state of :class:`~kmemlab.reclaim.ReclaimState` (``k.reclaim``), whose
entry points the allocator's slow path calls. kmemlab/reclaim.py says what is modelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .reclaim import ReclaimState

SWAP_CLUSTER_MAX = 32
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


def count_vm_events(k, name: str, n: int = 1) -> None:
    """include/linux/vmstat.h: count_vm_events (the /proc/vmstat counters)."""
    k.page_alloc.count(name, n)


def zone_key(k, zone_name: str) -> str:
    """The zone's suffix in /proc/vmstat names (pgsteal_..., pgscan_...)."""
    return zone_name.lower() if zone_name != "HighMem" else "high"


def gfp_has(k, value: int, name: str) -> bool:
    """Whether the mask ``value`` has the flag ``name`` (False where the version has none)."""
    v = k.profile.gfp.values.get(name, 0)
    return bool(v and value & v)


class Vmscan:
    """mm/vmscan.c: one pass of shrinking the LRU lists, and kswapd
    (``k.reclaim.vmscan``)."""

    def __init__(self, kernel, state: ReclaimState) -> None:
        self.k = kernel
        self.state = state   # k.reclaim: the LRU lists and kswapd/OOM state

    # ====================================================================== shrink
    def shrink_lists(self, zones, value: int, nr_to_reclaim: int, *,
                     kswapd: bool) -> tuple[int, int]:
        """mm/vmscan.c: shrink_node → shrink_inactive_list → shrink_page_list (one pass).

        Scans the file LRU oldest first in ``zones``. A clean page is freed. A dirty
        page needs writeback: kswapd and requests with ``__GFP_IO|__GFP_FS`` wake the
        flusher (wakeup_flusher_threads) and throttle on it, so the page is clean for
        the next pass; a GFP_NOIO/GFP_NOFS request may not wait for that I/O and skips
        it (may_enter_fs). Anonymous pages are not scanned: there is no swap.
        Returns (scanned, reclaimed).
        """
        k = self.k
        st = self.state
        names = {z.name for z in zones}
        may_io = kswapd or (gfp_has(k, value, "__GFP_IO") and gfp_has(k, value, "__GFP_FS"))
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
                zkey = zone_key(k, next(iter(zones)).name) if zones else "normal"
                count_vm_events(k, f"pgscan_{who}_{zkey}", scanned)
                count_vm_events(k, f"pgsteal_{who}_{zkey}", reclaimed)
            else:
                count_vm_events(k, f"pgscan_{who}", scanned)
                count_vm_events(k, f"pgsteal_{who}", reclaimed)
                count_vm_events(k, "pgscan_file", scanned)
                count_vm_events(k, "pgsteal_file", reclaimed)
        if written:
            count_vm_events(k, "nr_written", written)
            count_vm_events(k, "pgpgout", written * (k.PAGE_SIZE >> 10))
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
    def wakeup_kswapd(self, zone, order: int) -> None:
        """mm/vmscan.c: wakeup_kswapd: mark kswapd runnable (it runs when the CPU is yielded)."""
        k = self.k
        st = self.state
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

    def kswapd_run(self) -> int:
        """mm/vmscan.c: kswapd → balance_pgdat: reclaim until every zone is above high.

        Returns the pages reclaimed. Runs only if kswapd was woken (``wakeup_kswapd``).
        """
        k = self.k
        st = self.state
        if st.kswapd_pending is None or st.busy:
            return 0
        order = st.kswapd_pending
        st.kswapd_pending = None
        st.busy = True
        total = 0
        try:
            k.trace.emit("mm_vmscan_kswapd_wake", f"kswapd0 runs for order {order}", nid=0,
                         zid=0, order=order)
            count_vm_events(k, "pageoutrun")
            saved = k.current_task
            from .context import Task
            k.current_task = Task(pid=st.kswapd_pid, comm="kswapd0")
            try:
                for zone in k.page_alloc.populated_zones:
                    for _ in range(4096):
                        if zone.free_pages >= zone.high:
                            break
                        _scanned, got = self.shrink_lists([zone], k.gfp_value("GFP_KERNEL"),
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
