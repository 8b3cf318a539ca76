"""User space: processes with VMAs, demand paging, and a glibc malloc model.

``proc = k.spawn("app")`` gives a :class:`~kmemlab.user.process.Process`; its memory
comes from the kernel's buddy allocator one page at a time, when the program first
writes to it. The kernel keeps the process table and the commit accounting in
``k.user`` (:class:`UserState`); the overcommit policy is in ``k.vm_sysctl``
(``overcommit_memory``, ``overcommit_ratio``, ``overcommit_kbytes``,
``admin_reserve_kbytes``, ``user_reserve_kbytes``).
"""

from __future__ import annotations

import re

from .. import procfs as _procfs
from .malloc import GlibcMalloc, MallocAbort, MallocSegfault
from .process import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    OVERCOMMIT_ALWAYS,
    OVERCOMMIT_GUESS,
    OVERCOMMIT_NEVER,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    Process,
    ProcessKilled,
    Vma,
    render_maps,
    render_smaps_rollup,
    render_statm,
)

__all__ = [
    "GlibcMalloc", "MallocAbort", "MallocSegfault", "Process", "ProcessKilled", "Vma",
    "UserState", "PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC",
    "MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED", "MAP_NORESERVE", "MAP_POPULATE",
    "OVERCOMMIT_GUESS", "OVERCOMMIT_ALWAYS", "OVERCOMMIT_NEVER",
]

_COMM = re.compile(r"^[^/\x00]{1,64}$")
FIRST_PID = 1000


class UserState:
    """The kernel's user space (``k.user``): the process table, ``vm_committed_as`` and
    the overcommit policy, built at boot (``Kernel._init_user``). The kernel forwards
    ``k.spawn``, ``k.processes``, ``k.find_process``, ``k.vm_commit_limit`` and
    ``k.committed_as_pages``; /proc/meminfo asks :meth:`meminfo` (one of
    ``k.meminfo_providers``)."""

    def __init__(self, kernel) -> None:
        self.kernel = kernel
        self.processes: dict[int, Process] = {}
        self.next_pid = FIRST_PID
        #: vm_committed_as in pages (``Committed_AS`` in /proc/meminfo)
        self.committed = 0
        # the overcommit sysctls (mm/util.c defaults; mm/mmap.c: init_admin_reserve,
        # init_user_reserve: 3% of free memory, capped at 8 MiB / 128 MiB)
        free_kb = kernel.nr_free_pages() << (kernel.PAGE_SHIFT - 10)
        s = kernel.vm_sysctl
        s.setdefault("overcommit_memory", 0)
        s.setdefault("overcommit_ratio", 50)
        s.setdefault("overcommit_kbytes", 0)
        s.setdefault("admin_reserve_kbytes", min(free_kb // 32, 1 << 13))
        s.setdefault("user_reserve_kbytes", min(free_kb // 32, 1 << 17))

    def commit(self, pages: int) -> None:
        """mm/util.c: vm_acct_memory (negative: vm_unacct_memory)."""
        self.committed += pages

    def commit_limit(self) -> int:
        """mm/util.c: vm_commit_limit: RAM × overcommit_ratio / 100 (or overcommit_kbytes)
        + swap (none here), in pages."""
        k = self.kernel
        s = k.vm_sysctl
        if s.get("overcommit_kbytes"):
            return s["overcommit_kbytes"] >> (k.PAGE_SHIFT - 10)
        return k.totalram_pages * s["overcommit_ratio"] // 100

    def enough_memory(self, pages: int, mode: int, cap_sys_admin: bool, total_vm: int) -> bool:
        """The decision of mm/util.c: __vm_enough_memory, ``pages`` already charged."""
        k = self.kernel
        s = k.vm_sysctl
        shift = k.PAGE_SHIFT - 10
        if mode == 1:  # OVERCOMMIT_ALWAYS
            return True
        if mode == 0:  # OVERCOMMIT_GUESS
            if k.profile.overcommit_guess_totalram:
                return pages <= k.totalram_pages  # + total_swap_pages (no swap)
            # 3.15's heuristic: free + page cache − shmem + swap + reclaimable slab,
            # minus totalreserve_pages and (for non-root) the admin reserve
            free = k.nr_free_pages()
            reserve = _procfs.totalreserve_pages(k)
            if free <= reserve:
                return False
            free -= reserve
            if not cap_sys_admin:
                free -= s["admin_reserve_kbytes"] >> shift
            return free > pages
        allowed = self.commit_limit()
        if not cap_sys_admin:
            allowed -= s["admin_reserve_kbytes"] >> shift
        allowed -= min(total_vm // 32, s["user_reserve_kbytes"] >> shift)
        return self.committed < allowed

    def spawn(self, name: str, env: dict[str, str] | None = None, *, uid: int = 1000,
              path: str | None = None) -> Process | None:
        """fork + execve of a small C program called ``name`` (kernel/fork.c, fs/exec.c:
        do_execve, fs/binfmt_elf.c: load_elf_binary).

        ``env`` is its environment (``GLIBC_TUNABLES`` configures malloc); ``uid`` 0
        makes it root (``CAP_SYS_ADMIN`` for the overcommit reserves). Returns the
        :class:`Process`, or None when execve fails (the commit charge is refused or
        no page is left for its start-up).
        """
        if not isinstance(name, str) or not _COMM.match(name):
            raise ValueError(f"a process name is a short string without '/', not {name!r}")
        if env is not None and (not isinstance(env, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
            raise TypeError("env is a dict of strings, e.g. {'GLIBC_TUNABLES': "
                            "'glibc.malloc.tcache_count=0'}")
        if isinstance(uid, bool) or not isinstance(uid, int) or uid < 0:
            raise ValueError(f"uid must be an int >= 0, not {uid!r}")
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise ValueError(f"path must be an absolute path like '/usr/bin/app', not {path!r}")
        k = self.kernel
        # fork → copy_process allocates with GFP_KERNEL: might_sleep() before anything
        k.might_sleep_if_alloc(k.gfp_value("GFP_KERNEL"), 0)
        pid = self.next_pid
        proc = Process(k, pid, name, env=env, uid=uid, path=path)
        self.next_pid += 1
        if not proc.do_execve():
            proc.exit_mm("execve failed")
            return None
        k.register_oom_candidate(proc)
        return proc

    def live(self) -> list[Process]:
        """The live processes, by pid (the task list ``for_each_process`` walks)."""
        return [self.processes[p] for p in sorted(self.processes)]

    def find_process(self, pid: int) -> Process | None:
        """kernel/pid.c: find_task_by_vpid: the live process ``pid``, or None."""
        return self.processes.get(pid)

    def meminfo(self, values: dict) -> None:
        """Fill the /proc/meminfo fields the process model owns (fs/proc/meminfo.c):
        ``AnonPages``, ``PageTables``, ``CommitLimit``, ``Committed_AS``."""
        kb = self.kernel.PAGE_SIZE >> 10
        procs = self.processes.values()
        if "AnonPages" in values:
            values["AnonPages"] += sum(p.rss_pages for p in procs) * kb
        if "PageTables" in values:
            values["PageTables"] += sum(p.pgtables_bytes for p in procs) >> 10
        values["CommitLimit"] = self.commit_limit() * kb
        values["Committed_AS"] = values.get("Committed_AS", 0) + self.committed * kb


def _proc_of(kernel, match: re.Match) -> Process:
    pid = int(match.group(1))
    proc = kernel.user.processes.get(pid)
    if proc is None:
        raise ValueError(f"/proc/{pid} does not exist: no live process {pid} "
                         f"(live: {sorted(kernel.user.processes) or 'none'})")
    return proc


_procfs.register_dynamic(r"(\d+)/maps", lambda k, m: render_maps(_proc_of(k, m)))
_procfs.register_dynamic(r"(\d+)/smaps_rollup",
                         lambda k, m: render_smaps_rollup(_proc_of(k, m)))
_procfs.register_dynamic(r"(\d+)/statm", lambda k, m: render_statm(_proc_of(k, m)))
_procfs.register_dynamic(r"(\d+)/oom_score", lambda k, m: f"{_proc_of(k, m).oom_score}\n")
