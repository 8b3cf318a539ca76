"""Workloads that create memory pressure: page cache, anonymous memory, background noise.

``k.workload.page_cache("200M", dirty=0.25)`` reads (and partly writes) files: page-cache
pages from the page allocator (mm/filemap.c: filemap_add_folio / 3.15
add_to_page_cache_lru, ``GFP_HIGHUSER_MOVABLE``), on the inactive file LRU.
``k.workload.anon("300M", comm="hog")`` is a task touching anonymous memory
(mm/memory.c: do_anonymous_page); with no swap only the OOM killer frees it.
``k.workload.background(steps)`` mixes both from a seeded generator.

A :class:`SimTask` is the minimal task model these workloads need, and an example of
what the OOM killer's registry (``k.register_oom_candidate``) accepts: an object with
``pid``, ``comm``, ``oom_score_adj``, ``oom_info()`` (page counts) and ``oom_kill()``.
"""

from __future__ import annotations

import random

from .context import Task
from .sizes import memparse
from .vmscan import LruPage


class SimTask:
    """A user task holding anonymous pages (mm_struct reduced to its RSS counters)."""

    def __init__(self, k, pid: int, comm: str, oom_score_adj: int = 0, uid: int = 1000) -> None:
        if not -1000 <= oom_score_adj <= 1000:
            raise ValueError(f"oom_score_adj must be in -1000..1000, not {oom_score_adj}")
        self.k = k
        self.pid, self.comm = pid, comm
        self.oom_score_adj = oom_score_adj
        self.uid = uid
        self.pages: dict[int, LruPage] = {}
        self.oom_killed = False
        self.total_vm = 0

    @property
    def task(self) -> Task:
        return Task(pid=self.pid, comm=self.comm)

    @property
    def rss_pages(self) -> int:
        return len(self.pages)

    def oom_info(self) -> dict:
        """The mm counters oom_badness and dump_tasks read (MM_ANONPAGES, page tables)."""
        n = len(self.pages)
        ptes = -(-n // 512) if n else 0   # one PTE page per 512 mapped pages (x86_64)
        return {"anon_rss": n, "file_rss": 0, "shmem_rss": 0, "swapents": 0,
                "total_vm": max(self.total_vm, n), "nr_ptes": ptes,
                "pgtables_bytes": (ptes + 1) * self.k.PAGE_SIZE, "uid": self.uid}

    def oom_kill(self) -> None:
        """SIGKILL + exit_mmap (the oom_reaper): every page of the task goes back."""
        k = self.k
        for lp in list(self.pages.values()):
            k.reclaim.remove(lp)
            k.page_alloc.free_pages(lp.page, 0, caller="exit_mmap")
        self.pages.clear()
        self.oom_killed = True

    def exit(self) -> None:
        """do_exit: free the memory and leave the OOM registry."""
        self.oom_kill()
        self.k.unregister_oom_candidate(self)

    # callbacks from reclaim/compaction
    def page_reclaimed(self, lp: LruPage) -> None:
        """Reclaim dropped ``lp`` (shrink_page_list): the task no longer maps it."""
        self.pages.pop(lp.pfn, None)

    def page_migrated(self, old_pfn: int, lp: LruPage) -> None:
        """``lp`` moved from ``old_pfn`` (compaction or alloc_contig_range's migration):
        the task's mapping follows it (mm/migrate.c: remove_migration_ptes)."""
        self.pages.pop(old_pfn, None)
        self.pages[lp.pfn] = lp

    def __repr__(self) -> str:
        state = " killed" if self.oom_killed else ""
        return f"<SimTask {self.pid} ({self.comm}) rss={len(self.pages)} pages{state}>"


class Workload:
    """``k.workload``: memory-pressure generators (deterministic, seeded)."""

    def __init__(self, k) -> None:
        self.k = k
        self.tasks: list[SimTask] = []
        self._next_pid = 2000
        self._file_no = 0
        self.reader = SimTask(k, 1999, "cat")

    def _pages(self, size) -> int:
        """The size in pages, after the checks made before a workload starts: a valid
        size, and a context where the task may sleep (its faults and reads allocate with
        GFP_HIGHUSER_MOVABLE: might_sleep), so a refused workload changes nothing."""
        if isinstance(size, bool) or not isinstance(size, (int, str)):
            raise TypeError(f"size is a byte count such as 4096 or '64M', not "
                            f"{type(size).__name__}")
        n = memparse(size, what="size") if not isinstance(size, int) else size
        if n < 0:
            raise ValueError(f"size must be a positive byte count such as '64M', not {size!r}")
        k = self.k
        k.might_sleep_if_alloc(k.gfp_value("GFP_HIGHUSER_MOVABLE"), 0)
        return -(-n // k.PAGE_SIZE)

    def _alloc(self, owner: str, detail: str, task: Task):
        k = self.k
        saved = k.current_task
        k.current_task = task
        try:
            return k.page_alloc.alloc_pages(k.gfp_value("GFP_HIGHUSER_MOVABLE") |
                                            k.gfp_value("__GFP_NOWARN"), 0, owner=owner,
                                            detail=detail, caller="workload")
        finally:
            k.current_task = saved

    def page_cache(self, size, dirty: float = 0.0, file: str | None = None) -> int:
        """Read ``size`` bytes of a file into the page cache (filemap_add_folio /
        add_to_page_cache_lru); a fraction ``dirty`` of the pages is then written
        (dirty pages need writeback before reclaim can drop them).
        Returns the pages added; stops early if an allocation fails."""
        if not 0.0 <= dirty <= 1.0:
            raise ValueError(f"dirty is a fraction between 0 and 1, not {dirty}")
        n = self._pages(size)
        k = self.k
        self._file_no += 1
        name = file or f"file{self._file_no}"
        added = 0
        every = round(1 / dirty) if dirty else 0
        for i in range(n):
            page = self._alloc("pagecache", name, self.reader.task)
            if page is None:
                break
            lp = LruPage(page, "file", dirty=bool(every) and i % every == 0, file=name)
            k.reclaim.add(lp)
            added += 1
        k.trace.emit("workload", f"page cache: read {added} pages of {name}"
                     + (f", {sum(1 for i in range(added) if every and i % every == 0)} "
                        "of them written (dirty)" if dirty else ""), pages=added)
        k.reclaim.kswapd_run()
        return added

    def anon(self, size, comm: str = "hog", oom_score_adj: int = 0,
             task: SimTask | None = None) -> SimTask:
        """A task that touches ``size`` bytes of anonymous memory (do_anonymous_page).

        The task is registered with the OOM killer. Returns it (``task.rss_pages``);
        it stops early if an allocation fails or the task itself is OOM-killed."""
        n = self._pages(size)
        k = self.k
        if task is None:
            task = SimTask(k, self._next_pid, comm, oom_score_adj)
            self._next_pid += 1
            self.tasks.append(task)
            k.register_oom_candidate(task)
        task.total_vm += n
        for _ in range(n):
            if task.oom_killed:
                break
            page = self._alloc("anon", task.comm, task.task)
            if page is None:
                break
            if task.oom_killed:      # killed while allocating: exit_mmap frees it too
                k.page_alloc.free_pages(page, 0, caller="exit_mmap")
                break
            lp = LruPage(page, "anon", task=task)
            task.pages[page.pfn] = lp
            k.reclaim.add(lp)
        k.trace.emit("workload", f"{task.comm} (pid {task.pid}) touched anonymous memory: "
                     f"rss {task.rss_pages} pages", pid=task.pid, pages=task.rss_pages)
        k.reclaim.kswapd_run()
        return task

    def background(self, steps: int = 100, seed: int | None = None) -> dict:
        """A seeded mix of page-cache reads, writes and anonymous growth/shrink.

        The same ``seed`` (default: the kernel's) gives the same sequence."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative int, not {steps!r}")
        rng = random.Random(self.k.seed if seed is None else seed)
        done = {"file_pages": 0, "anon_pages": 0, "freed": 0}
        bg = None
        for _ in range(steps):
            r = rng.random()
            if r < 0.6:
                done["file_pages"] += self.page_cache(rng.randint(1, 64) * self.k.PAGE_SIZE,
                                                      dirty=0.25 if r < 0.2 else 0.0)
            elif r < 0.9:
                if bg is None or bg.oom_killed:
                    bg = self.anon(0, comm="bgjob")
                before = bg.rss_pages
                self.anon(rng.randint(1, 32) * self.k.PAGE_SIZE, task=bg)
                done["anon_pages"] += bg.rss_pages - before
            elif bg is not None and bg.pages:
                for pfn in list(bg.pages)[: rng.randint(1, 16)]:
                    lp = bg.pages.pop(pfn)
                    self.k.reclaim.remove(lp)
                    self.k.page_alloc.free_pages(lp.page, 0, caller="munmap")
                    done["freed"] += 1
        return done

    def write_cached(self, fraction: float = 1.0) -> int:
        """write(2) into files already cached: that fraction of the page cache becomes
        dirty (oldest pages first); returns how many pages were dirtied."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
        lru = self.k.reclaim.lru["file"]
        n = round(len(lru) * fraction)
        for i, lp in enumerate(lru.values()):
            if i >= n:
                break
            lp.dirty = True
        self.k.trace.emit("workload", f"wrote {n} cached pages: they are dirty until written "
                          "back", pages=n)
        return n

    def sync(self) -> int:
        """sync(2): write every dirty page back; returns how many were written."""
        n = 0
        for lp in self.k.reclaim.lru["file"].values():
            if lp.dirty:
                lp.dirty = False
                n += 1
        self.k.page_alloc.count("nr_written", n)
        return n

    def drop_caches(self) -> int:
        """echo 1 > /proc/sys/vm/drop_caches (fs/drop_caches.c): drop clean page cache."""
        k = self.k
        n = 0
        for lp in list(k.reclaim.lru["file"].values()):
            if not lp.dirty:
                k.reclaim.remove(lp)
                k.page_alloc.free_pages(lp.page, 0, caller="drop_caches")
                n += 1
        k.page_alloc.count("drop_pagecache")
        k.printk(f"cat ({self.reader.pid}): drop_caches: 1")
        return n
