"""The OOM killer (mm/oom_kill.c: out_of_memory, oom_badness, oom_kill_process,
dump_header/dump_tasks) on a registry of killable tasks (``k.register_oom_candidate``),
and the rules of mm/page_alloc.c: __alloc_pages_may_oom that decide whether it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import report
from .errors import OutOfMemory
from .pcp import PAGE_ALLOC_COSTLY_ORDER
from .vmscan import count_vm_events, gfp_has

if TYPE_CHECKING:
    from .reclaim import ReclaimState


def _oom_info(cand) -> dict:
    info = {"anon_rss": 0, "file_rss": 0, "shmem_rss": 0, "swapents": 0, "total_vm": 0,
            "pgtables_bytes": 0, "nr_ptes": 0, "oom_score_adj": 0, "uid": 0}
    info.update(cand.oom_info())
    info["oom_score_adj"] = int(getattr(cand, "oom_score_adj", info["oom_score_adj"]))
    return info


class OomKiller:
    """mm/oom_kill.c: the OOM killer (``k.reclaim.oom``)."""

    def __init__(self, kernel, state: ReclaimState) -> None:
        self.k = kernel
        self.state = state   # k.reclaim: the LRU lists and kswapd/OOM state

    # ====================================================================== OOM killer
    def oom_allowed(self, value: int, order: int, zonelist) -> tuple[bool, str]:
        """mm/page_alloc.c: __alloc_pages_may_oom and the slow path's conditions, per version."""
        k = self.k
        g = k.profile.gfp.values
        p = k.profile
        normal = k.page_alloc.zone_by_name.get("Normal")
        highest = k.page_alloc.zone_by_name[k.profile.gfp_zone(value)]
        if gfp_has(k, value, "__GFP_NORETRY"):
            return False, "__GFP_NORETRY: the OOM killer is never invoked"
        if p.gfp_retry_mayfail and gfp_has(k, value, "__GFP_RETRY_MAYFAIL"):
            return False, "__GFP_RETRY_MAYFAIL: may fail, so the OOM killer is not invoked"
        if order > PAGE_ALLOC_COSTLY_ORDER and not gfp_has(k, value, "__GFP_NOFAIL"):
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

    def oom_badness(self, cand, totalpages: int) -> int:
        """mm/oom_kill.c: oom_badness: rss + swap + page tables, plus oom_score_adj scaled.

        3.15 returns the raw points too; select_bad_process scales the chosen one to
        0..1000 for the ``score`` it prints. Unkillable tasks (adj -1000) give -1.
        """
        k = self.k
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

    def out_of_memory(self, zonelist, order: int, value: int) -> bool:
        """mm/oom_kill.c: out_of_memory → select_bad_process → oom_kill_process.

        Logs the version's report (``invoked oom-killer``, the task dump, 6.x
        ``Out of memory: Killed process N (comm) total-vm:…`` or 3.15 ``Out of memory:
        Kill process N (comm) score S or sacrifice child`` + ``Killed process …``), kills
        the task with the largest badness and returns True; False when no task can be
        killed (``Out of memory and no killable processes...``). ``__GFP_NOFAIL`` keeps
        killing until the allocation fits, or raises :class:`OutOfMemory`.
        """
        k = self.k
        st = self.state
        if st.busy:
            return False
        ok, why = self.oom_allowed(value, order, zonelist)
        nofail = gfp_has(k, value, "__GFP_NOFAIL")
        if not ok:
            k.trace.emit("mark_victim", "OOM killer not invoked: " + why, pid=-1)
            k.printk(f"kmemlab: why: no OOM kill: {why}")
            return False
        killed_any = False
        while True:
            killed = self._kill_one(value, order)
            if not killed:
                if nofail and not killed_any:
                    k.printk("kmemlab: why: __GFP_NOFAIL request and nothing left to kill: a real "
                             "kernel would loop here forever")
                    raise OutOfMemory("__GFP_NOFAIL allocation cannot be satisfied: no "
                                      "reclaimable memory and no killable task")
                return killed_any
            killed_any = True
            if not nofail or self._fits(zonelist, order, value):
                return True

    def _fits(self, zonelist, order: int, value: int) -> bool:
        k = self.k
        pa = k.page_alloc
        flags = pa.gfp_to_alloc_flags(value, order)
        hi = zonelist[0].idx
        return any(pa.zone_watermark_ok(z, order, z.min, hi, flags) for z in zonelist)

    def _kill_one(self, value: int, order: int) -> bool:
        k = self.k
        st = self.state
        totalpages = k.totalram_pages
        cands = [c for c in st.oom_candidates if not getattr(c, "oom_killed", False)]
        scored = [(self.oom_badness(c, totalpages), i, c) for i, c in enumerate(cands)]
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
        self._dump_tasks(scored)
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
            count_vm_events(k, "oom_kill")
        st.oom_kills += 1
        victim.oom_killed = True
        victim.oom_kill()
        k.drain_all_pages()
        return True

    def _dump_tasks(self, scored) -> None:
        """mm/oom_kill.c: dump_tasks, in the version's column layout."""
        k = self.k
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
