"""A user process: VMAs, brk/mmap/munmap, demand paging, and glibc malloc on top.

``proc = k.spawn("app")`` execs a small program (the layout of :mod:`.layout`) and gives
a :class:`Process`. Its calls are the system calls and page faults of a real process:

* ``proc.brk(addr)``, ``proc.mmap(length, prot, flags)``, ``proc.munmap``,
  ``proc.mremap``, ``proc.madvise`` only change the VMA list and the commit accounting
  (``mm/mmap.c``, ``mm/mremap.c``, ``mm/madvise.c``; ``mm/util.c: __vm_enough_memory``);
* ``proc.touch(addr, length, write=True)`` is the program using its memory: the first
  write to an anonymous page faults (``mm/memory.c: do_anonymous_page``) and takes a
  zeroed page from the simulated buddy allocator with ``GFP_HIGHUSER_MOVABLE`` (HighMem
  on i386); a first read maps the shared zero page (no page is taken); a write after a
  read replaces the zero page (``do_wp_page`` → ``wp_page_copy``). Page tables are
  allocated as the faults need them (``__pte_alloc``, ``__pmd_alloc``, ``__pud_alloc``);
* ``proc.malloc``/``free``/``calloc``/``realloc`` run glibc 2.36's allocator
  (:class:`~kmemlab.user.malloc.GlibcMalloc`) with this process as its system: ``sbrk``
  moves the break, large blocks get their own ``mmap``; every word malloc writes (chunk
  headers, the new top's size, free-list links) is a store into the process's memory
  and faults its page in, so RSS follows what a real process shows;
* ``proc.exit()`` (``kernel/exit.c: do_exit`` → ``mm/mmap.c: exit_mmap``) gives every
  page back; a glibc abort (:class:`~kmemlab.user.malloc.MallocAbort`) or a bad access
  ends the process with ``SIGABRT``/``SIGSEGV`` the same way.

What is not modelled: file-backed pages (the page cache; so ``rss_pages`` counts the
anonymous pages, ``RssAnon``), shared mappings (``MAP_SHARED``), swap, transparent huge
pages (as with ``enabled=madvise`` and no ``MADV_HUGEPAGE``), stack growth below the
initial 132 KiB ``[stack]``, ``mprotect``, the kernel's own per-process objects
(``task_struct``, ``mm_struct``, VMAs, the kernel stack).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from .. import gfp as _gfp
from ..context import Task
from .layout import ImageLayout, image_layout, inode_of
from .malloc import (
    CHUNK_HDR_SZ,
    IS_MMAPPED,
    SIZE_BITS,
    SIZE_SZ,
    ChunkInfo,
    Event,
    GlibcMalloc,
    MallInfo2,
    MallocAbort,
    MallocSegfault,
    request2size,
)

# -- constants (include/uapi/asm-generic/mman-common.h, mman.h; include/linux/mm.h) ------

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0x0, 0x1, 0x2, 0x4
MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MREMAP_MAYMOVE = 1
MADV_DONTNEED = 4

_PROT_NAMES = {"PROT_NONE": PROT_NONE, "PROT_READ": PROT_READ, "PROT_WRITE": PROT_WRITE,
               "PROT_EXEC": PROT_EXEC}
_MAP_NAMES = {"MAP_SHARED": MAP_SHARED, "MAP_PRIVATE": MAP_PRIVATE, "MAP_FIXED": MAP_FIXED,
              "MAP_ANONYMOUS": MAP_ANONYMOUS, "MAP_ANON": MAP_ANONYMOUS,
              "MAP_NORESERVE": MAP_NORESERVE, "MAP_POPULATE": MAP_POPULATE}

VM_READ, VM_WRITE, VM_EXEC, VM_SHARED = 0x1, 0x2, 0x4, 0x8
VM_GROWSDOWN = 0x100
VM_ACCOUNT = 0x100000
VM_NORESERVE = 0x200000

OVERCOMMIT_GUESS, OVERCOMMIT_ALWAYS, OVERCOMMIT_NEVER = 0, 1, 2
ENOMEM, EINVAL, EFAULT, EPERM = 12, 22, 14, 1
MMAP_MIN_ADDR = 65536  #: vm.mmap_min_addr (Debian's default)
STACK_GUARD_GAP_PAGES = 256  #: mm/mmap.c: stack_guard_gap

#: Signals whose default action ends the process (include/uapi/asm-generic/signal.h).
SIGNALS = {"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6,
           "SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11,
           "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15}
_SIGNAL_NAMES = {v: k for k, v in SIGNALS.items()}

# x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h)
X86_PF_PROT, X86_PF_WRITE, X86_PF_USER = 0x1, 0x2, 0x4


class ProcessKilled(Exception):
    """The process died during the call (``SIGSEGV`` on a bad access, ``SIGKILL``...).

    ``signal`` is the signal's name, ``pid``/``comm`` say which process.
    """

    def __init__(self, proc: Process, signal: str, reason: str) -> None:
        super().__init__(f"{proc.comm}[{proc.pid}] killed by {signal}: {reason}")
        self.signal = signal
        self.pid = proc.pid
        self.comm = proc.comm
        self.reason = reason


def _parse_bits(value, names: dict[str, int], what: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{what} is an int or a string like 'PROT_READ|PROT_WRITE', not bool")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        out = 0
        for word in value.replace(" ", "").split("|"):
            if word in ("", "0"):
                continue
            if word not in names:
                raise ValueError(f"unknown {what} flag {word!r}; known: {', '.join(names)}")
            out |= names[word]
        return out
    raise TypeError(f"{what} is an int or a string like 'MAP_PRIVATE|MAP_ANONYMOUS', "
                    f"not {type(value).__name__}")


def _check_int(name: str, value, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value}")
    return value


@dataclass(eq=False, slots=True)
class Vma:
    """One ``struct vm_area_struct``: ``[start, end)``, ``vm_flags``, file and offset."""

    start: int
    end: int
    flags: int
    pgoff: int = 0
    name: str | None = None  # a path (file mapping) or [stack]/[vdso]/[vvar]
    file: bool = False
    special: bool = False

    @property
    def anon(self) -> bool:
        """An anonymous mapping (no file, not the vDSO): its pages come from faults."""
        return not self.file and not self.special

    @property
    def perms(self) -> str:
        """``rwxp`` as /proc/<pid>/maps prints ``vm_flags`` (fs/proc/task_mmu.c)."""
        f = self.flags
        return ("r" if f & VM_READ else "-") + ("w" if f & VM_WRITE else "-") + \
               ("x" if f & VM_EXEC else "-") + ("s" if f & VM_SHARED else "p")

    @property
    def nr_pages(self) -> int:
        return (self.end - self.start) >> 12

    def __repr__(self) -> str:
        name = f" {self.name}" if self.name else ""
        return f"Vma({self.start:#x}-{self.end:#x} {self.perms}{name})"


class _ProcessMemory(dict):
    """malloc's word memory: each store faults the page in, as a CPU store would."""

    __slots__ = ("anon", "store")

    def __setitem__(self, addr: int, value: int) -> None:
        dict.__setitem__(self, addr, value)
        if (addr >> 12) not in self.anon:
            self.store(addr)

    def __reduce__(self):
        # pickle (Kernel.snapshot): the words go in after anon/store are set, without
        # the store hook, as in __deepcopy__ (state after the object: cycles are fine)
        return (_ProcessMemory, (), (dict(self), self.anon, self.store))

    def __setstate__(self, state: tuple) -> None:
        words, self.anon, self.store = state
        dict.update(self, words)

    def __deepcopy__(self, memo: dict) -> _ProcessMemory:
        import copy

        new = _ProcessMemory()
        memo[id(self)] = new
        dict.update(new, self)  # ints only: no store hook while copying
        new.anon = copy.deepcopy(self.anon, memo)
        new.store = copy.deepcopy(self.store, memo)
        return new


def _flags_from_perms(perms: str) -> int:
    f = 0
    if perms[0] == "r":
        f |= VM_READ
    if perms[1] == "w":
        f |= VM_WRITE
    if perms[2] == "x":
        f |= VM_EXEC
    if perms[3] == "s":
        f |= VM_SHARED
    return f


class Process:
    """A process with an address space (``struct mm_struct``) and glibc's malloc.

    Made by :meth:`kmemlab.user.UserState.spawn` (``k.spawn``). Addresses are ints; sizes in bytes;
    ``rss_pages`` and ``total_vm`` in pages, ``vsz`` in KiB like ``ps``.
    """

    def __init__(self, kernel, pid: int, comm: str, *, env: dict[str, str] | None = None,
                 uid: int = 1000, path: str | None = None) -> None:
        self.kernel = kernel
        self.pid = pid
        self.comm = comm[:15]  # TASK_COMM_LEN - 1
        self.uid = uid
        self.env = dict(env or {})
        self.path = path or f"/usr/bin/{comm}"
        self.task = Task(pid=pid, comm=self.comm)
        p = kernel.profile
        self.page_size = kernel.PAGE_SIZE
        self.page_shift = kernel.PAGE_SHIFT
        lay: ImageLayout = image_layout(p, self.path)
        self.layout = lay
        self.task_size = lay.task_size
        self.mmap_base = lay.mmap_base
        self.start_code, self.end_code = lay.start_code, lay.end_code
        self.start_data, self.end_data = lay.start_data, lay.end_data
        self.start_brk = lay.start_brk
        self._brk = lay.start_brk
        self.start_stack = lay.start_stack
        self.alive = True
        self.exit_code: int | None = None
        self.term_signal: str | None = None
        self.oom_score_adj = 0
        self.oom_killed = False  # set by the OOM killer (kmemlab/reclaim.py)
        self.min_flt = 0
        self.errno = 0
        #: the process's timeline: system calls, page faults and malloc's own events
        self.events: list[Event] = []
        self._vmas: list[Vma] = []
        self._starts: list[int] = []
        #: vpn -> Page: pages written (MM_ANONPAGES); vpn in _zero: the zero page, read only
        self._anon: dict = {}
        self._zero: set[int] = set()
        self.committed_pages = 0  # this mm's share of vm_committed_as
        if p.is_64bit:
            self._pt_levels = ((21, "pte"), (30, "pmd"), (39, "pud"))
        else:
            self._pt_levels = ((22, "pte"),)  # 2-level paging: the pgd points at PTE pages
        self._tables: list[dict] = [{} for _ in self._pt_levels]
        self._pgd = None
        gfp = p.gfp
        self._gfp_user = gfp.value(_gfp.coerce("GFP_HIGHUSER_MOVABLE|__GFP_ZERO"))
        self._gfp_pt = gfp.value(_gfp.coerce(p.pgtable_gfp))
        self._pgd_order = 1 if p.is_64bit and p.pgd_order_pti else 0  # PTI: 8 KiB PGD
        self._detail = f"{self.comm}[{pid}]"
        libc_text = [v for v, s in lay.vmas if s.perms == "r-xp" and s.name and "libc" in s.name]
        self._ip_libc = (libc_text[0] if libc_text else lay.start_code) + 0x9A3C5
        self._ip_user = lay.start_code + 0x159
        self._sp = lay.start_stack - 0x4A0 - 0x1E0
        self.libc: GlibcMalloc | None = None
        self._in_exec = True
        self._mremap_moves = 0

    # ================================================================ exec
    def do_execve(self) -> bool:
        """fs/exec.c: do_execve → fs/binfmt_elf.c: load_elf_binary, then ld.so and libc
        start-up; False if the commit charge is refused (execve fails with ENOMEM)."""
        k = self.kernel
        lay = self.layout
        accounted = sum(s.size >> self.page_shift for _a, s in lay.vmas if s.accounted)
        if not self._vm_enough_memory(accounted, quiet=True):
            return False
        pgd = self._alloc_kernel_page(self._pgd_order, "pgd_alloc")
        if pgd is None:
            self._unaccount(accounted)
            return False
        self._pgd = pgd
        for start, s in lay.vmas:
            flags = _flags_from_perms(s.perms)
            if s.accounted:
                flags |= VM_ACCOUNT
            if s.name == "[stack]":
                flags |= VM_GROWSDOWN
            self._insert_vma(Vma(start, start + s.size, flags, s.pgoff >> self.page_shift,
                                 s.name, s.file, s.special))
        self._emit("sched_process_exec", f"execve of {self.path}: {len(self._vmas)} mappings, "
                   f"no page of them resident yet", filename=self.path, pid=self.pid,
                   old_pid=self.pid)
        try:
            for start, s in lay.vmas:
                for i in s.written:
                    self._fault(start + (i << self.page_shift), True,
                                "start-up (relocations, TLS, libc data, argv/envp on the stack)")
        except ProcessKilled:
            return False
        self.libc = GlibcMalloc(self, self.env.get("GLIBC_TUNABLES", ""),
                                page_size=self.page_size)
        mem = _ProcessMemory(self.libc.words)
        mem.anon = self._anon
        mem.store = self._malloc_store
        self.libc.words = mem
        self.libc.events = self.events  # one timeline
        self._in_exec = False
        k.user.processes[self.pid] = self
        return True

    # ================================================================ VMAs
    def _insert_vma(self, vma: Vma) -> None:
        i = bisect.bisect_left(self._starts, vma.start)
        self._starts.insert(i, vma.start)
        self._vmas.insert(i, vma)

    def _remove_vma(self, vma: Vma) -> None:
        i = bisect.bisect_left(self._starts, vma.start)
        del self._starts[i]
        del self._vmas[i]

    def find_vma(self, addr: int) -> Vma | None:
        """The VMA containing ``addr``, or None (``mm/mmap.c: find_vma`` + a range check)."""
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0:
            v = self._vmas[i]
            if addr < v.end:
                return v
        return None

    @property
    def vmas(self) -> list[Vma]:
        """The VMAs, lowest first (``mm->mmap`` / the maple tree walk)."""
        return list(self._vmas)

    def _overlapping(self, lo: int, hi: int) -> list[Vma]:
        i = max(0, bisect.bisect_right(self._starts, lo) - 1)
        out = []
        for v in self._vmas[i:]:
            if v.start >= hi:
                break
            if v.end > lo:
                out.append(v)
        return out

    def _is_heap(self, v: Vma) -> bool:
        return v.anon and v.name is None and v.start <= self._brk and v.end >= self.start_brk

    def _can_merge(self, a: Vma, b: Vma) -> bool:
        """mm/mmap.c: vma_merge / is_mergeable_vma for anonymous private VMAs."""
        return (a.end == b.start and a.anon and b.anon and a.flags == b.flags
                and a.name is None and b.name is None)

    def _merge_around(self, v: Vma) -> Vma:
        i = bisect.bisect_left(self._starts, v.start)
        if i + 1 < len(self._vmas) and self._can_merge(v, self._vmas[i + 1]):
            nxt = self._vmas[i + 1]
            v.end = nxt.end
            self._remove_vma(nxt)
        if i > 0 and self._can_merge(self._vmas[i - 1], v):
            prev = self._vmas[i - 1]
            prev.end = v.end
            self._remove_vma(v)
            v = prev
        return v

    def _vm_start_gap(self, v: Vma) -> int:
        if v.flags & VM_GROWSDOWN:
            return max(0, v.start - (STACK_GUARD_GAP_PAGES << self.page_shift))
        return v.start

    def _unmapped_area_topdown(self, length: int) -> int | None:
        """mm/mmap.c: unmapped_area_topdown: the highest gap below mmap_base that fits."""
        low = max(self.page_size, MMAP_MIN_ADDR)
        gap_end = self.mmap_base
        for v in reversed(self._vmas):
            if v.start >= gap_end:
                continue
            if gap_end - max(v.end, low) >= length and v.end <= gap_end:
                return gap_end - length
            gap_end = min(gap_end, self._vm_start_gap(v))
        if gap_end - low >= length:
            return gap_end - length
        return None

    def _range_free(self, lo: int, hi: int) -> bool:
        return not self._overlapping(lo, hi)

    # ================================================================ accounting
    def _cap_sys_admin(self) -> bool:
        return self.uid == 0

    def _vm_enough_memory(self, pages: int, quiet: bool = False) -> bool:
        """mm/util.c: __vm_enough_memory (mm/mmap.c in 3.15): charge ``pages`` to
        vm_committed_as, or refuse under the vm.overcommit_memory policy."""
        k = self.kernel
        u = k.user
        sysctl = k.vm_sysctl
        mode = sysctl["overcommit_memory"]
        u.commit(pages)
        ok = u.enough_memory(pages, mode, self._cap_sys_admin(), self.total_vm)
        if ok:
            self.committed_pages += pages
            return True
        u.commit(-pages)
        warning = k.profile.vm_enough_memory_warning
        if warning is not None and not quiet:
            if warning == "short":
                k.printk(f"__vm_enough_memory: pid: {self.pid}, comm: {self.comm}, "
                         "not enough memory for the allocation")
            else:
                k.printk(f"__vm_enough_memory: pid: {self.pid}, comm: {self.comm}, bytes: "
                         f"{pages << self.page_shift} not enough memory for the allocation")
        return False

    def _unaccount(self, pages: int) -> None:
        """mm/util.c: vm_unacct_memory."""
        if pages:
            self.kernel.user.commit(-pages)
            self.committed_pages -= pages

    # ================================================================ page tables
    def _alloc_kernel_page(self, order: int, fn: str):
        k = self.kernel
        saved = k.current_task
        k.current_task = self.task
        try:
            return k.page_alloc.alloc_pages(self._gfp_pt, order, owner="pgtable",
                                            detail=self._detail, caller=fn)
        finally:
            k.current_task = saved

    def _ensure_tables(self, addr: int) -> None:
        """mm/memory.c: __handle_mm_fault: __pud_alloc, __pmd_alloc, __pte_alloc."""
        for (shift, name), tables in zip(reversed(self._pt_levels), reversed(self._tables),
                                         strict=True):
            key = addr >> shift
            if key in tables:
                continue
            page = self._alloc_kernel_page(0, f"__{name}_alloc")
            if not self.alive:
                if page is not None:
                    self.kernel.page_alloc.free_pages(page, 0)
                raise ProcessKilled(self, self.term_signal or "SIGKILL",
                                    "killed while its page tables were being allocated")
            if page is None:
                self._oom_in_fault(addr)
            tables[key] = page

    def _free_tables(self, lo: int, hi: int) -> None:
        """mm/memory.c: free_pgtables: tables whose whole range no VMA uses any more."""
        pa = self.kernel.page_alloc
        for (shift, _name), tables in zip(self._pt_levels, self._tables, strict=True):
            if not tables:
                continue
            first, last = lo >> shift, (hi - 1) >> shift
            keys = (range(first, last + 1) if last - first < len(tables)
                    else [t for t in tables if first <= t <= last])
            for key in keys:
                page = tables.get(key)
                if page is None:
                    continue
                if not self._overlapping(key << shift, (key + 1) << shift):
                    del tables[key]
                    pa.free_pages(page, 0)

    @property
    def pgtables_bytes(self) -> int:
        """mm_pgtables_bytes(mm): PTE, PMD and PUD pages (``VmPTE``); the PGD is apart."""
        return sum(len(t) for t in self._tables) << self.page_shift

    # ================================================================ faults
    def _emit(self, name: str, why: str, **fields) -> None:
        k = self.kernel
        saved = k.current_task
        k.current_task = self.task
        try:
            k.trace.emit(name, why, **fields)
        finally:
            k.current_task = saved

    def _oom_in_fault(self, addr: int) -> None:
        """VM_FAULT_OOM → mm/oom_kill.c: pagefault_out_of_memory: no page for the fault."""
        self.kernel.printk(f"{self.comm}[{self.pid}]: page fault at {addr:#x}: no free page "
                           "(VM_FAULT_OOM), the process is killed")
        self._die("SIGKILL", "out of memory in a page fault")
        raise ProcessKilled(self, "SIGKILL", f"no page for the fault at {addr:#x} "
                            "(VM_FAULT_OOM)")

    def _fault(self, addr: int, write: bool, reason: str = "", ip: int | None = None) -> int:
        """arch/x86/mm/fault.c: do_user_addr_fault → mm/memory.c: handle_mm_fault.

        The VMA and its permissions were checked by the caller. Returns 1 when a fault
        was taken, 0 when the PTE already allowed the access.
        """
        shift = self.page_shift
        vpn = addr >> shift
        if vpn in self._anon:
            return 0
        on_zero = vpn in self._zero
        if not write and on_zero:
            return 0
        k = self.kernel
        self.min_flt += 1
        code = X86_PF_USER | (X86_PF_WRITE if write else 0) | (X86_PF_PROT if on_zero else 0)
        ip = self._ip_user if ip is None else ip
        where = self._where(addr)
        if not write:
            why = (f"read of {addr:#x} in {where}: first touch of this anonymous page; "
                   "do_anonymous_page maps the shared zero page read-only, no page taken")
        elif on_zero:
            why = (f"write to {addr:#x} in {where}: the PTE maps the zero page read-only; "
                   "do_wp_page → wp_page_copy takes a zeroed page from the buddy allocator")
        else:
            why = (f"write to {addr:#x} in {where}: first touch of this anonymous page; "
                   "do_anonymous_page takes a zeroed page from the buddy allocator "
                   "(GFP_HIGHUSER_MOVABLE)")
        if reason:
            why += f" [{reason}]"
        self._emit("page_fault_user", why, address=f"0x{addr:x}", ip=f"0x{ip:x}",
                   error_code=f"0x{code:x}")
        if not on_zero:
            self._ensure_tables(addr)
        if not write:
            self._zero.add(vpn)
            self.events.append(Event("page_fault", (addr, 0), None, why))
            return 1
        saved = k.current_task
        k.current_task = self.task
        try:
            page = k.page_alloc.alloc_pages(
                self._gfp_user, 0, owner="anon", detail=self._detail,
                caller="wp_page_copy" if on_zero else "do_anonymous_page")
        finally:
            k.current_task = saved
        if not self.alive:  # the OOM killer chose this process while it waited
            if page is not None:
                k.page_alloc.free_pages(page, 0)
            raise ProcessKilled(self, self.term_signal or "SIGKILL", "killed during a fault")
        if page is None:
            self._oom_in_fault(addr)
        self._zero.discard(vpn)
        self._anon[vpn] = page
        self.events.append(Event("page_fault", (addr, 1), page.pfn,
                                 why + f": pfn {page.pfn:#x} in {page.zone}"))
        return 1

    def _where(self, addr: int) -> str:
        v = self.find_vma(addr)
        if v is None:
            return "no mapping"
        if self._is_heap(v):
            return "[heap]"
        return v.name or f"anonymous mapping {v.start:#x}-{v.end:#x}"

    def _malloc_store(self, addr: int) -> None:
        """A store by glibc's malloc (a chunk header, a free-list link, the top's size)."""
        v = self.find_vma(addr)
        if v is None or not v.anon:
            return  # libc's own .data (main_arena): already resident
        self._fault(addr, True, "glibc malloc writes a chunk header", ip=self._ip_libc)

    def _segv(self, addr: int, write: bool, why: str) -> None:
        """arch/x86/mm/fault.c: bad_area → show_signal_msg, then SIGSEGV."""
        k = self.kernel
        code = X86_PF_USER | (X86_PF_WRITE if write else 0)
        if self.find_vma(addr) is not None:
            code |= X86_PF_PROT
        w = 16 if k.profile.is_64bit else 8
        line = (f"{self.comm}[{self.pid}]: segfault at {addr:x} ip {self._ip_user:0{w}x} "
                f"sp {self._sp:0{w}x} error {code:x} in {self.comm}"
                f"[{self.start_code:x}+{self.end_code - self.start_code:x}]")
        if k.profile.segfault_prints_cpu:
            line += f" likely on CPU {k.current_cpu} (core {k.current_cpu}, socket 0)"
        k.printk(line)
        self._die("SIGSEGV", why)
        raise ProcessKilled(self, "SIGSEGV", why)

    # ================================================================ public: memory
    def _check_alive(self, runs: bool = True) -> None:
        """Every entry point checks first, before anything changes: the process has not
        ended, and (``runs``) it can run at all. User code runs in process context; a
        system call or page fault may sleep (arch/x86/mm/fault.c: do_user_addr_fault →
        might_sleep), so calling into a process while the simulated CPU is inside an
        atomic section is the might_sleep bug, reported before the call starts."""
        if not self.alive:
            how = (f"killed by {self.term_signal}" if self.term_signal
                   else f"exited with status {self.exit_code}")
            raise ValueError(f"process {self.pid} ({self.comm}) has ended ({how}); "
                             "spawn a new one with k.spawn()")
        if runs and not self.kernel.context_stack.can_sleep():
            k = self.kernel
            k.might_sleep_if_alloc(k.gfp_value("GFP_KERNEL"), 0)

    def touch(self, addr: int, length: int = 1, write: bool = True) -> int:
        """The program reads or writes ``[addr, addr + length)``: page faults as needed.

        Models the CPU access and ``arch/x86/mm/fault.c: do_user_addr_fault`` →
        ``mm/memory.c: handle_mm_fault`` (``do_anonymous_page``, ``do_wp_page``).
        Returns the number of page faults taken. An access outside every VMA, or one
        the VMA's permissions forbid, kills the process with ``SIGSEGV``.
        """
        self._check_alive()
        addr = _check_int("addr", addr)
        length = _check_int("length", length)
        if length == 0:
            return 0
        shift = self.page_shift
        faults = 0
        page = addr >> shift
        last = (addr + length - 1) >> shift
        need = VM_WRITE if write else VM_READ
        anon = self._anon
        zero = self._zero
        v = None
        while page <= last:
            a = page << shift
            if page in anon or (not write and page in zero):
                page += 1
                continue
            if v is None or not v.start <= a < v.end:
                v = self.find_vma(a)
                if v is None:
                    self._segv(max(a, addr), write, f"{'write' if write else 'read'} of "
                               f"{max(a, addr):#x}: no mapping there")
                if not v.flags & need:
                    self._segv(max(a, addr), write, f"{'write' if write else 'read'} of "
                               f"{max(a, addr):#x}: the mapping is {v.perms}")
            if v.anon or (write and v.file):  # a private file page is copied on write
                faults += self._fault(max(a, addr), write)
            page += 1
        return faults

    def brk(self, addr: int | None = None) -> int:
        """``brk(2)`` (mm/mmap.c: SYSCALL_DEFINE1(brk) → do_brk_flags / do_vmi_munmap).

        ``proc.brk()`` returns the current break (``mm->brk``); ``proc.brk(addr)`` moves
        it and returns the new break, or the unchanged old one when the kernel refuses
        (below ``start_brk``, into the next mapping, or the commit charge is refused).
        """
        self._check_alive()
        if addr is None:
            return self._brk
        addr = _check_int("addr", addr)
        ps = self.page_size
        old = self._brk
        newbrk = (addr + ps - 1) & ~(ps - 1)
        oldbrk = (old + ps - 1) & ~(ps - 1)
        why = ""
        ok = True
        if addr < self.start_brk:
            ok, why = False, f"{addr:#x} is below start_brk {self.start_brk:#x}"
        elif newbrk == oldbrk:
            why = "same page: only mm->brk moves"
        elif addr <= old:
            self._unmap_range(newbrk, oldbrk)
            why = f"heap shrunk by {oldbrk - newbrk:#x} bytes: its pages are freed"
        else:
            nxt = self._overlapping(oldbrk, newbrk + ps + (STACK_GUARD_GAP_PAGES << 12))
            if any(newbrk + ps > self._vm_start_gap(n) for n in nxt):
                ok, why = False, "the next mapping is in the way"
            elif not self._vm_enough_memory((newbrk - oldbrk) >> self.page_shift):
                ok, why = False, ("not enough memory: the commit charge was refused "
                                  f"(vm.overcommit_memory={self.kernel.vm_sysctl['overcommit_memory']})")
            else:
                heap = self.find_vma(oldbrk - 1) if oldbrk > self.start_brk else None
                if heap is not None and heap.anon and heap.end == oldbrk and \
                        heap.flags == VM_READ | VM_WRITE | VM_ACCOUNT:
                    heap.end = newbrk
                    why = f"[heap] VMA grown by {newbrk - oldbrk:#x} bytes, no page taken yet"
                else:
                    self._insert_vma(Vma(oldbrk, newbrk, VM_READ | VM_WRITE | VM_ACCOUNT))
                    why = f"new [heap] VMA {oldbrk:#x}-{newbrk:#x}, no page taken yet"
        if ok:
            self._brk = addr
        else:
            self.errno = ENOMEM
        self.events.append(Event("brk", (addr,), self._brk, f"brk({addr:#x}) = "
                                 f"{self._brk:#x}: {why}"))
        return self._brk

    def sbrk(self, increment: int) -> int | None:
        """glibc ``misc/sbrk.c: __sbrk`` over ``brk(2)``: the old break, or None (-1).

        This is what malloc calls (``MORECORE``).
        """
        self._check_alive()
        old = self._brk
        if increment == 0:
            return old
        if increment < 0 and old + increment < 0:
            return None
        new = self.brk(old + increment)
        if new < old + increment:
            self.errno = ENOMEM
            return None
        return old

    def mmap(self, length: int, prot=PROT_READ | PROT_WRITE,
             flags=MAP_PRIVATE | MAP_ANONYMOUS, addr: int = 0) -> int | None:
        """``mmap(2)`` of anonymous memory (mm/mmap.c: do_mmap → mmap_region).

        Creates (or extends, when it can merge) a VMA; takes no page, except with
        ``MAP_POPULATE``. Returns the address, or None (``MAP_FAILED``, ``errno`` =
        ENOMEM) when no gap fits or the commit charge is refused. ``prot``/``flags``
        are ints or strings like ``"PROT_READ|PROT_WRITE"``.
        """
        self._check_alive()
        length = _check_int("length", length)
        prot = _parse_bits(prot, _PROT_NAMES, "prot")
        flags = _parse_bits(flags, _MAP_NAMES, "flags")
        addr = _check_int("addr", addr)
        if length == 0:
            raise ValueError("mmap: length 0 is EINVAL")
        if not flags & MAP_ANONYMOUS:
            raise ValueError("mmap: only anonymous mappings (MAP_ANONYMOUS) are modelled; "
                             "file-backed memory needs the page cache, which kmemlab lacks")
        if flags & MAP_SHARED or not flags & MAP_PRIVATE:
            raise ValueError("mmap: only MAP_PRIVATE mappings are modelled (MAP_SHARED "
                             "anonymous memory is shmem)")
        if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC):
            raise ValueError(f"mmap: unknown prot bits {prot:#x}")
        ps = self.page_size
        size = (length + ps - 1) & ~(ps - 1)
        args = (addr, length, prot, flags)
        if size > self.task_size:
            return self._mmap_fail(args, "longer than the address space")
        vm_flags = (VM_READ if prot & PROT_READ else 0) | (VM_WRITE if prot & PROT_WRITE else 0) \
            | (VM_EXEC if prot & PROT_EXEC else 0)
        mode = self.kernel.vm_sysctl["overcommit_memory"]
        if flags & MAP_NORESERVE and mode != OVERCOMMIT_NEVER:
            vm_flags |= VM_NORESERVE
        if flags & MAP_FIXED:
            if addr & (ps - 1):
                raise ValueError(f"mmap: MAP_FIXED address {addr:#x} is not page aligned "
                                 "(EINVAL)")
            if addr < MMAP_MIN_ADDR:
                self.errno = EPERM
                self.events.append(Event("mmap", args, None, f"address below vm.mmap_min_addr "
                                         f"({MMAP_MIN_ADDR}): EPERM"))
                return None
            if addr + size > self.task_size:
                return self._mmap_fail(args, "beyond TASK_SIZE")
            start = addr
        else:
            start = None
            hint = (addr + ps - 1) & ~(ps - 1) if addr else 0
            if hint and hint >= MMAP_MIN_ADDR and hint + size <= self.task_size and \
                    self._range_free(hint, hint + size):
                start = hint
            if start is None:
                start = self._unmapped_area_topdown(size)
            if start is None:
                return self._mmap_fail(args, "no gap in the address space is large enough")
        charged = 0
        if vm_flags & (VM_WRITE | VM_NORESERVE) == VM_WRITE:  # accountable_mapping
            charged = size >> self.page_shift
            if flags & MAP_FIXED:
                charged -= sum((min(v.end, start + size) - max(v.start, start)) >> 12
                               for v in self._overlapping(start, start + size)
                               if v.flags & VM_ACCOUNT)
            if charged > 0 and not self._vm_enough_memory(charged):
                return self._mmap_fail(args, "not enough memory: the commit charge of "
                                       f"{size >> 10} KiB was refused (vm.overcommit_memory="
                                       f"{mode})")
            vm_flags |= VM_ACCOUNT
        if flags & MAP_FIXED:
            self._unmap_range(start, start + size, unaccount=True)
            if charged < 0:
                self._unaccount(charged)
        v = Vma(start, start + size, vm_flags)
        self._insert_vma(v)
        merged = self._merge_around(v)
        why = (f"mmap({length}) = {start:#x}: new VMA {start:#x}-{start + size:#x} "
               f"({size >> 10} KiB, no page taken yet")
        why += f"; merged into {merged.start:#x}-{merged.end:#x})" if merged is not v else ")"
        if vm_flags & VM_ACCOUNT:
            why += f"; {size >> 10} KiB charged to Committed_AS"
        self.events.append(Event("mmap", args, start, why))
        if flags & MAP_POPULATE:
            self.touch(start, size, write=bool(prot & PROT_WRITE))
        return start

    def _mmap_fail(self, args: tuple, why: str) -> None:
        self.errno = ENOMEM
        self.events.append(Event("mmap", args, None, f"MAP_FAILED (ENOMEM): {why}"))
        return None

    def _zap(self, lo: int, hi: int) -> int:
        """mm/memory.c: zap_page_range: drop the PTEs of ``[lo, hi)``, free anon pages."""
        shift = self.page_shift
        first, last = lo >> shift, (hi - 1) >> shift
        pa = self.kernel.page_alloc
        anon, zero = self._anon, self._zero
        freed = 0
        if last - first < len(anon) + len(zero):
            vpns = range(first, last + 1)
        else:
            vpns = [v for v in list(anon) + list(zero) if first <= v <= last]
        for vpn in vpns:
            page = anon.pop(vpn, None)
            if page is not None:
                pa.free_pages(page, 0)
                freed += 1
            else:
                zero.discard(vpn)
        return freed

    def _unmap_range(self, lo: int, hi: int, unaccount: bool = True) -> int:
        """mm/mmap.c: do_vmi_munmap: split the VMAs at the edges, zap, free page tables."""
        removed_acct = 0
        for v in self._overlapping(lo, hi):
            a, b = max(v.start, lo), min(v.end, hi)
            if v.flags & VM_ACCOUNT:
                removed_acct += (b - a) >> self.page_shift
            if v.start < lo and v.end > hi:  # split in three
                right = Vma(hi, v.end, v.flags, v.pgoff + ((hi - v.start) >> 12), v.name,
                            v.file, v.special)
                v.end = lo
                self._insert_vma(right)
            elif v.start < lo:
                v.end = lo
            elif v.end > hi:
                self._remove_vma(v)
                v.pgoff += (hi - v.start) >> 12
                v.start = hi
                self._insert_vma(v)
            else:
                self._remove_vma(v)
        freed = self._zap(lo, hi)
        self._free_tables(lo, hi)
        if unaccount:
            self._unaccount(removed_acct)
        return freed

    def munmap(self, addr: int, length: int) -> int:
        """``munmap(2)`` (mm/mmap.c: __vm_munmap → do_vmi_munmap): 0.

        Splits VMAs at the edges, frees the pages and page tables of the range, and
        gives the commit charge back. Unmapping nothing is fine, as in the kernel.
        """
        self._check_alive()
        addr = _check_int("addr", addr)
        length = _check_int("length", length)
        ps = self.page_size
        if addr & (ps - 1):
            raise ValueError(f"munmap: address {addr:#x} is not page aligned (EINVAL)")
        if length == 0:
            raise ValueError("munmap: length 0 is EINVAL")
        size = (length + ps - 1) & ~(ps - 1)
        if addr + size > self.task_size:
            raise ValueError("munmap: range beyond TASK_SIZE (EINVAL)")
        rss = self.rss_pages
        self._unmap_range(addr, addr + size)
        self.events.append(Event("munmap", (addr, length), 0,
                                 f"munmap({addr:#x}, {length}): {rss - self.rss_pages} "
                                 "resident pages given back to the buddy allocator"))
        return 0

    def mremap(self, old_addr: int, old_len: int, new_len: int,
               flags: int = MREMAP_MAYMOVE) -> int | None:
        """``mremap(2)`` (mm/mremap.c): shrink in place, grow in place when the pages
        above are free, else (``MREMAP_MAYMOVE``) move the VMA and its page-table
        entries (``move_page_tables``: the same physical pages, no copy). None on failure.
        """
        self._check_alive()
        old_addr = _check_int("old_addr", old_addr)
        old_len = _check_int("old_len", old_len)
        new_len = _check_int("new_len", new_len)
        ps = self.page_size
        if old_addr & (ps - 1) or new_len == 0:
            raise ValueError("mremap: unaligned address or zero length (EINVAL)")
        old_len = (old_len + ps - 1) & ~(ps - 1)
        new_len = (new_len + ps - 1) & ~(ps - 1)
        args = (old_addr, old_len, new_len)
        v = self.find_vma(old_addr)
        if v is None or old_addr + old_len > v.end or not v.anon:
            self.errno = EFAULT
            self.events.append(Event("mremap", args, None, "EFAULT: not one anonymous VMA"))
            return None
        if new_len <= old_len:
            if new_len < old_len:
                self._unmap_range(old_addr + new_len, old_addr + old_len)
            self.events.append(Event("mremap", args, old_addr, "shrunk in place"))
            return old_addr
        delta = (new_len - old_len) >> self.page_shift
        end = old_addr + new_len
        if old_addr + old_len == v.end and end <= self.mmap_base and \
                self._range_free(v.end, end):
            if v.flags & VM_ACCOUNT and not self._vm_enough_memory(delta):
                return self._mremap_fail(args)
            v.end = end
            self.events.append(Event("mremap", args, old_addr, "grown in place: the pages "
                                     "above were free"))
            return old_addr
        if not flags & MREMAP_MAYMOVE:
            return self._mremap_fail(args)
        new = self._unmapped_area_topdown(new_len)
        if new is None:
            return self._mremap_fail(args)
        if v.flags & VM_ACCOUNT and not self._vm_enough_memory(delta):
            return self._mremap_fail(args)
        moved = []
        shift = self.page_shift
        for i in range(old_len >> shift):
            vpn = (old_addr >> shift) + i
            page = self._anon.pop(vpn, None)
            if page is not None:
                moved.append((i, page))
            elif vpn in self._zero:
                self._zero.discard(vpn)
                moved.append((i, None))
        self._unmap_range(old_addr, old_addr + old_len, unaccount=False)
        nv = Vma(new, new + new_len, v.flags)
        self._insert_vma(nv)
        for i, page in moved:
            a = new + (i << shift)
            self._ensure_tables(a)
            if page is None:
                self._zero.add(a >> shift)
            else:
                self._anon[a >> shift] = page
        self._merge_around(nv)
        self._mremap_moves += 1
        self.events.append(Event("mremap", args, new, f"moved to {new:#x}: {len(moved)} "
                                 "page-table entries moved, no data copied"))
        return new

    def _mremap_fail(self, args: tuple) -> None:
        self.errno = ENOMEM
        self.events.append(Event("mremap", args, None, "ENOMEM"))
        return None

    def madvise(self, addr: int, length: int, advice: int = MADV_DONTNEED) -> int:
        """``madvise(2)`` with ``MADV_DONTNEED`` (mm/madvise.c: madvise_dontneed_single_vma
        → zap_page_range): the range's pages are freed, the VMA stays; the next touch
        faults in a zeroed page. Returns 0, or -ENOMEM if part of the range is unmapped.
        """
        self._check_alive()
        addr = _check_int("addr", addr)
        length = _check_int("length", length)
        if advice != MADV_DONTNEED:
            raise ValueError("madvise: only MADV_DONTNEED (4) is modelled")
        ps = self.page_size
        if addr & (ps - 1):
            raise ValueError(f"madvise: address {addr:#x} is not page aligned (EINVAL)")
        size = (length + ps - 1) & ~(ps - 1)
        freed = 0
        covered = 0
        for v in self._overlapping(addr, addr + size):
            a, b = max(v.start, addr), min(v.end, addr + size)
            covered += b - a
            freed += self._zap(a, b)
        res = 0 if covered == size else -ENOMEM
        self.events.append(Event("madvise", (addr, length, advice), res,
                                 f"MADV_DONTNEED: {freed} pages freed, the mapping stays"))
        return res

    # ================================================================ public: glibc
    def _libc_died(self, e: MallocAbort) -> None:
        self._die(e.signal, e.message)

    def _libc_crashed(self, call: str, e: KeyError) -> MallocAbort:
        """malloc followed a corrupted pointer to a word nothing ever wrote (the model
        keeps only written words): on a real machine a read there is garbage or
        SIGSEGV. The process ends with SIGSEGV, as :class:`MallocSegfault`."""
        addr = e.args[0] if e.args and isinstance(e.args[0], int) else 0
        err = MallocSegfault(f"Segmentation fault in {call}() (read at {addr:#x} through a "
                             "corrupted heap pointer)")
        self._libc_died(err)
        return err

    def malloc(self, size: int) -> int | None:
        """glibc ``malloc`` (malloc/malloc.c: ``__libc_malloc``) in this process."""
        if not self.alive or not self.kernel.context_stack.can_sleep():
            self._check_alive()
        try:
            return self.libc.malloc(size)
        except MallocAbort as e:
            self._libc_died(e)
            raise
        except KeyError as e:
            raise self._libc_crashed("malloc", e) from None

    def free(self, ptr: int | None) -> None:
        """glibc ``free`` (malloc/malloc.c: ``__libc_free``) in this process."""
        if not self.alive or not self.kernel.context_stack.can_sleep():
            self._check_alive()
        try:
            self.libc.free(ptr)
        except MallocAbort as e:
            self._libc_died(e)
            raise
        except KeyError as e:
            raise self._libc_crashed("free", e) from None

    def calloc(self, nmemb: int, size: int) -> int | None:
        """glibc ``calloc`` (malloc/malloc.c: ``__libc_calloc``): the ``memset`` writes
        (and so faults in) every page of the block except mmapped chunks and the part
        that comes straight from ``sbrk`` (``MORECORE_CLEARS``)."""
        self._check_alive()
        lib = self.libc
        oldtop = lib.top
        oldtopsize = lib.top_size
        if lib.sbrk_base and oldtopsize < lib.sbrk_base + lib.max_system_mem - oldtop:
            oldtopsize = lib.sbrk_base + lib.max_system_mem - oldtop
        try:
            mem = lib.calloc(nmemb, size)
        except MallocAbort as e:
            self._libc_died(e)
            raise
        except KeyError as e:
            raise self._libc_crashed("calloc", e) from None
        if mem is not None:
            p = mem - CHUNK_HDR_SZ
            raw = lib.words.get(p + 8, 0)
            if not raw & IS_MMAPPED:
                csz = raw & ~SIZE_BITS
                if p == oldtop and csz > oldtopsize:
                    csz = oldtopsize
                if csz > SIZE_SZ:
                    self._libc_touch(mem, csz - SIZE_SZ)
        return mem

    def _libc_touch(self, addr: int, length: int) -> None:
        """A memset/memcpy inside libc writing ``[addr, addr + length)``."""
        shift = self.page_shift
        for vpn in range(addr >> shift, ((addr + length - 1) >> shift) + 1):
            if vpn not in self._anon:
                a = max(addr, vpn << shift)
                v = self.find_vma(a)
                if v is not None and v.anon:
                    self._fault(a, True, "memset/memcpy in libc", ip=self._ip_libc)

    def realloc(self, ptr: int | None, size: int) -> int | None:
        """glibc ``realloc`` (malloc/malloc.c: ``__libc_realloc``): when the block moves,
        the ``memcpy`` writes the new block's pages; an mmapped block moved by
        ``mremap`` keeps its pages."""
        self._check_alive()
        lib = self.libc
        old_usable = 0
        was_mmapped = False
        if ptr:
            raw = lib.words.get(ptr - CHUNK_HDR_SZ + 8, 0)
            was_mmapped = bool(raw & IS_MMAPPED)
            csz = raw & ~SIZE_BITS
            old_usable = csz - (CHUNK_HDR_SZ if was_mmapped else SIZE_SZ)
        n_mremap = self._mremap_moves
        try:
            new = lib.realloc(ptr, size)
        except MallocAbort as e:
            self._libc_died(e)
            raise
        except KeyError as e:
            raise self._libc_crashed("realloc", e) from None
        if new is not None and ptr and new != ptr and old_usable > 0:
            if not (was_mmapped and self._mremap_moves > n_mremap):
                self._libc_touch(new, min(old_usable, max(size, 1)))
        return new

    def malloc_usable_size(self, ptr: int | None) -> int:
        """glibc ``malloc_usable_size`` (malloc/malloc.c: ``musable``)."""
        self._check_alive()
        return self.libc.malloc_usable_size(ptr)

    def mallopt(self, param: int, value: int) -> int:
        """glibc ``mallopt`` (malloc/malloc.c: ``__libc_mallopt``): 1 on success, else 0."""
        self._check_alive()
        return self.libc.mallopt(param, value)

    def malloc_trim(self, pad: int = 0) -> int:
        """glibc ``malloc_trim`` (malloc/malloc.c: ``mtrim``): ``madvise(MADV_DONTNEED)``
        on free chunks, then a negative ``sbrk``: RSS falls."""
        self._check_alive()
        return self.libc.malloc_trim(pad)

    def mallinfo2(self) -> MallInfo2:
        """glibc ``mallinfo2`` (malloc/malloc.c: ``int_mallinfo``)."""
        return self.libc.mallinfo2()

    def heap_chunks(self) -> list[ChunkInfo]:
        """The heap walk of :meth:`GlibcMalloc.heap_chunks` (like gef ``heap chunks``)."""
        return self.libc.heap_chunks()

    def bins(self) -> dict:
        """The bins of :meth:`GlibcMalloc.bins` (like pwndbg ``bins``)."""
        return self.libc.bins()

    @property
    def stderr(self) -> list[str]:
        """What glibc wrote to stderr (``malloc_printerr`` messages)."""
        return self.libc.stderr if self.libc is not None else []

    # ================================================================ ending
    def _die(self, signal: str, why: str) -> None:
        self.exit_mm(why)
        self.term_signal = signal
        self.events.append(Event("exit", (), None, f"killed by {signal}: {why}; every page "
                                 "given back"))

    def exit_mm(self, why: str) -> None:
        """kernel/exit.c: do_exit → exit_mm → mm/mmap.c: exit_mmap: free it all."""
        if not self.alive:
            return
        k = self.kernel
        self.alive = False
        pa = k.page_alloc
        for page in self._anon.values():
            pa.free_pages(page, 0)
        self._anon.clear()
        self._zero.clear()
        for tables in self._tables:
            for page in tables.values():
                pa.free_pages(page, 0)
            tables.clear()
        if self._pgd is not None:
            pa.free_pages(self._pgd, self._pgd_order)
            self._pgd = None
        self._unaccount(self.committed_pages)
        self._vmas.clear()
        self._starts.clear()
        k.user.processes.pop(self.pid, None)
        if not self._in_exec:
            k.unregister_oom_candidate(self)
        self._emit("sched_process_exit", f"{self.comm}[{self.pid}] exits ({why}): exit_mmap "
                   "gave every page and page table back", comm=self.comm, pid=self.pid, prio=120)

    def exit(self, status: int = 0) -> None:
        """``exit(status)`` (kernel/exit.c: do_exit → mm/mmap.c: exit_mmap): every anonymous
        page, every page table and the commit charge go back."""
        self._check_alive()
        status = _check_int("status", status)
        self.exit_mm(f"exit({status})")
        self.exit_code = status & 0xFF
        self.events.append(Event("exit", (status,), None, "exit: every page given back"))

    def kill(self, signal="SIGKILL") -> None:
        """Send a signal whose default action ends the process (kernel/signal.c:
        ``kill`` → ``do_group_exit``). ``signal`` is a name (``"SIGKILL"``) or number."""
        if isinstance(signal, int) and not isinstance(signal, bool):
            if signal not in _SIGNAL_NAMES:
                raise ValueError(f"signal {signal} is not modelled; use one of {SIGNALS}")
            signal = _SIGNAL_NAMES[signal]
        if signal not in SIGNALS:
            raise ValueError(f"unknown signal {signal!r}; known: {', '.join(SIGNALS)}")
        self._check_alive(runs=False)   # a signal can be sent from any context
        self._die(signal, f"{signal} received")

    # ================================================================ numbers
    @property
    def rss_pages(self) -> int:
        """Resident pages (``get_mm_rss``: MM_ANONPAGES; file pages are not modelled)."""
        return len(self._anon)

    @property
    def total_vm(self) -> int:
        """``mm->total_vm``: pages of every VMA, touched or not (statm's first field)."""
        return sum(v.end - v.start for v in self._vmas) >> self.page_shift

    @property
    def vsz(self) -> int:
        """Virtual size in KiB, as ``ps`` shows ``VSZ`` (``VmSize``)."""
        return self.total_vm << (self.page_shift - 10)

    @property
    def rss(self) -> int:
        """Resident set in KiB (``VmRSS``, ``ps`` RSS)."""
        return self.rss_pages << (self.page_shift - 10)

    @property
    def zero_page_ptes(self) -> int:
        """PTEs that map the shared zero page (read but never written)."""
        return len(self._zero)

    def statm(self) -> tuple[int, int, int, int, int, int, int]:
        """/proc/<pid>/statm (fs/proc/task_mmu.c: task_statm): size resident shared text
        lib data dt, in pages."""
        text = ((self.end_code + self.page_size - 1) >> self.page_shift) - \
            (self.start_code >> self.page_shift)
        data = sum(v.end - v.start for v in self._vmas
                   if v.flags & VM_WRITE and not v.flags & VM_SHARED) >> self.page_shift
        return (self.total_vm, self.rss_pages, 0, text, 0, data, 0)

    def oom_badness(self, totalpages: int | None = None) -> int:
        """mm/oom_kill.c: oom_badness: rss + swap entries + page-table pages, plus
        ``oom_score_adj`` × totalpages / 1000 (3.15: root gets 3 % off)."""
        k = self.kernel
        if totalpages is None:
            totalpages = k.totalram_pages
        if not self.alive or self.oom_score_adj == -1000:
            return 0
        points = self.rss_pages + (self.pgtables_bytes >> self.page_shift)
        if k.profile.oom_root_bonus and self._cap_sys_admin():
            points -= points * 3 // 100
        points += self.oom_score_adj * (totalpages // 1000)
        return max(points, 1) if k.profile.oom_badness_normalised else points

    def oom_info(self) -> dict:
        """What mm/oom_kill.c: oom_badness and dump_tasks read from the mm (in pages;
        ``pgtables_bytes`` in bytes), for the OOM killer's registry."""
        return {"anon_rss": self.rss_pages, "file_rss": 0, "shmem_rss": 0, "swapents": 0,
                "total_vm": self.total_vm, "pgtables_bytes": self.pgtables_bytes,
                "nr_ptes": len(self._tables[0]), "uid": self.uid}

    def oom_kill(self) -> None:
        """mm/oom_kill.c: oom_kill_process → __oom_kill_process: SIGKILL, and the
        victim's memory is freed (the OOM reaper / exit_mmap)."""
        if self.alive:
            self._die("SIGKILL", "chosen by the OOM killer")

    @property
    def oom_score(self) -> int:
        """/proc/<pid>/oom_score (fs/proc/base.c: proc_oom_score)."""
        k = self.kernel
        total = k.totalram_pages
        b = self.oom_badness(total)
        if k.profile.oom_badness_normalised:
            return b * 1000 // total
        return (1000 + b * 1000 // total) * 2 // 3

    def fault_events(self) -> Iterator[Event]:
        """The page faults of this process, oldest first."""
        return (e for e in self.events if e.call == "page_fault")

    def __repr__(self) -> str:
        state = "running" if self.alive else (
            f"killed by {self.term_signal}" if self.term_signal else f"exited({self.exit_code})")
        return (f"<Process {self.pid} {self.comm!r} {state} vsz={self.vsz}K "
                f"rss={self.rss}K brk={self._brk:#x}>")


# ==================================================================== /proc renderers
def _header(start: int, end: int, perms: str, pgoff: int, dev: str, ino: int) -> str:
    """fs/proc/task_mmu.c: show_vma_header_prefix ("%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ")."""
    return f"{start:08x}-{end:08x} {perms} {pgoff:08x} {dev} {ino} "


def _pad(line: str, width: int) -> str:
    """seq_pad(m, ' '): pad to the column ``seq_setwidth`` set, then one space."""
    if len(line) < width:
        line += " " * (width - len(line))
    return line + " "


def render_maps(proc: Process) -> str:
    """fs/proc/task_mmu.c: show_map → show_map_vma, one line per VMA, then the gate VMA."""
    k = proc.kernel
    width = 25 + (8 if k.profile.is_64bit else 4) * 6 - 1  # seq_setwidth
    lines = []
    for v in proc._vmas:
        if v.file:
            dev, ino = "fe:00", inode_of(v.name or "")
            pgoff = v.pgoff << proc.page_shift
        else:
            dev, ino, pgoff = "00:00", 0, 0
        head = _header(v.start, v.end, v.perms, pgoff, dev, ino)
        name = v.name
        if name is None and proc._is_heap(v):
            name = "[heap]"
        lines.append(_pad(head, width) + name if name else head)
    if proc.layout.vsyscall:
        head = _header(0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, proc.layout.vsyscall, 0,
                       "00:00", 0)
        lines.append(_pad(head, width) + "[vsyscall]")
    return "\n".join(lines) + "\n"


def render_smaps_rollup(proc: Process) -> str:
    """fs/proc/task_mmu.c: show_smaps_rollup → __show_smap(rollup=true) (4.14+)."""
    k = proc.kernel
    if not k.profile.has_smaps_rollup:
        raise ValueError("/proc/<pid>/smaps_rollup does not exist in Linux "
                         f"{k.profile.version} (added in "
                         "4.14); read /proc/<pid>/maps")
    width = 25 + (8 if k.profile.is_64bit else 4) * 6 - 1
    first = proc._vmas[0].start if proc._vmas else 0
    last = proc._vmas[-1].end if proc._vmas else 0
    head = _pad(_header(first, last, "---p", 0, "00:00", 0), width) + "[rollup]"
    anon = proc.rss
    fields = [("Rss", anon), ("Pss", anon), ("Pss_Dirty", anon), ("Pss_Anon", anon),
              ("Pss_File", 0), ("Pss_Shmem", 0), ("Shared_Clean", 0), ("Shared_Dirty", 0),
              ("Private_Clean", 0), ("Private_Dirty", anon), ("Referenced", anon),
              ("Anonymous", anon)]
    if k.profile.smaps_rollup_ksm:
        fields.append(("KSM", 0))
    fields += [("LazyFree", 0), ("AnonHugePages", 0), ("ShmemPmdMapped", 0),
               ("FilePmdMapped", 0), ("Shared_Hugetlb", 0)]
    lines = [head]
    for name, val in fields:
        lines.append(f"{name + ':':<16}{val:>8} kB")
    lines.append(f"{'Private_Hugetlb: '}{0:>7} kB")
    for name in ("Swap", "SwapPss", "Locked"):
        lines.append(f"{name + ':':<16}{0:>8} kB")
    return "\n".join(lines) + "\n"


def render_statm(proc: Process) -> str:
    """fs/proc/array.c: proc_pid_statm ("%lu %lu %lu %lu 0 %lu 0")."""
    size, res, shared, text, _lib, data, _dt = proc.statm()
    return f"{size} {res} {shared} {text} 0 {data} 0\n"


def request_chunk(size: int) -> int:
    """glibc's chunk size for a request (``request2size``), re-exported for notebooks."""
    return request2size(size)
