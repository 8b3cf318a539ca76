"""A stand-alone "system" for the malloc model: brk and anonymous mmap, nothing else.

The malloc model (:mod:`kmemlab.user.malloc`) never touches addresses itself: it asks a
*system object* for memory, exactly as glibc asks the kernel. :class:`FakeSystem` is the
smallest such object, so that the model works without a simulated kernel. The kernel-side
process (VMAs, demand paging) plugs in later as another object with the same methods.

The interface (also written down as :class:`kmemlab.user.malloc.MallocSystem`):

``sbrk(increment) -> int | None``
    Move the program break by ``increment`` bytes (negative shrinks) and return the *old*
    break, or ``None`` when the kernel refuses (``(void *) -1`` / ``ENOMEM``).
    ``sbrk(0)`` returns the current break. Models ``brk(2)`` as wrapped by glibc's
    ``misc/sbrk.c: __sbrk``.
``mmap(length) -> int | None``
    A private anonymous read/write mapping of ``length`` bytes (a multiple of the page
    size), placed top-down below ``mmap_base`` like the kernel's
    ``mm/mmap.c: unmapped_area_topdown``; ``None`` for ``MAP_FAILED``.
``munmap(addr, length) -> None``
    Remove the mapping ``[addr, addr + length)`` (``mm/mmap.c: do_munmap``).
``mremap(old_addr, old_len, new_len) -> int | None`` (optional)
    ``mremap(2)`` with ``MREMAP_MAYMOVE`` (``mm/mremap.c``): shrink in place, grow in place
    when the pages above are free, otherwise move. glibc only uses it for mmapped chunks.
``madvise(addr, length) -> None`` (optional)
    ``madvise(MADV_DONTNEED)``, used by ``malloc_trim``.

Everything is deterministic: no randomisation (as with ``setarch -R`` / ASLR off), so the
same calls give the same addresses.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

#: Where the heap starts in a non-randomised x86-64 process (just past a PIE's .bss).
DEFAULT_BRK_START = 0x555555559000
#: Top of the mmap area (mm->mmap_base) for a non-randomised x86-64 process, below libc.
DEFAULT_MMAP_BASE = 0x7FFFF7DC0000


@dataclass
class SyscallRecord:
    """One system call as strace would show it (``name(args) = result``)."""

    name: str
    args: tuple[int, ...]
    result: int | None

    def __str__(self) -> str:
        args = ", ".join(hex(a) if a >= 4096 or a < 0 else str(a) for a in self.args)
        res = "-1 ENOMEM" if self.result is None else hex(self.result)
        return f"{self.name}({args}) = {res}"


@dataclass
class FakeSystem:
    """A deterministic brk + anonymous-mmap provider for :class:`~kmemlab.user.malloc.GlibcMalloc`.

    ``brk_limit`` bounds the heap size (like ``RLIMIT_DATA``): ``sbrk`` beyond it fails.
    ``mmap_limit`` bounds the total bytes of live mappings: ``mmap`` beyond it fails.
    ``syscalls`` records every call in strace style.
    """

    brk_start: int = DEFAULT_BRK_START
    mmap_base: int = DEFAULT_MMAP_BASE
    page_size: int = 4096
    brk_limit: int | None = None
    mmap_limit: int | None = None
    #: Lowest address the top-down search may use (``mmap_min_addr`` is far lower; the
    #: heap's current break is the practical floor).
    mmap_floor: int = 0x10000
    brk: int = field(init=False)
    syscalls: list[SyscallRecord] = field(init=False, default_factory=list)
    madvised_bytes: int = field(init=False, default=0)
    _starts: list[int] = field(init=False, default_factory=list)
    _lengths: dict[int, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.brk_start % self.page_size or self.mmap_base % self.page_size:
            raise ValueError("brk_start and mmap_base must be page aligned")
        self.brk = self.brk_start

    # -- brk -------------------------------------------------------------------------

    def sbrk(self, increment: int) -> int | None:
        """Move the break by ``increment``; return the old break or ``None``.

        Models glibc ``misc/sbrk.c: __sbrk`` over the kernel's ``mm/mmap.c: brk``.
        """
        old = self.brk
        new = old + increment
        ok = new >= self.brk_start
        if ok and self.brk_limit is not None and new - self.brk_start > self.brk_limit:
            ok = False
        if ok and increment > 0 and self._overlaps(old, new + self.page_size):
            ok = False  # the kernel keeps a guard gap below the next mapping
        if increment:
            self.syscalls.append(SyscallRecord("brk", (new,), new if ok else old))
        if not ok:
            return None
        self.brk = new
        return old

    # -- mmap ------------------------------------------------------------------------

    def _overlaps(self, lo: int, hi: int) -> bool:
        i = bisect.bisect_left(self._starts, hi)
        if i == 0:
            return False
        s = self._starts[i - 1]
        return s + self._lengths[s] > lo

    def _find_topdown(self, length: int) -> int | None:
        """Highest gap below ``mmap_base`` that fits (``unmapped_area_topdown``)."""
        floor = max(self.mmap_floor, self._page_up(self.brk) + self.page_size)
        hi = self.mmap_base
        for s in reversed(self._starts):
            end = s + self._lengths[s]
            if end <= hi and hi - end >= length:
                return hi - length
            hi = min(hi, s)
        if hi - floor >= length:
            return hi - length
        return None

    def _page_up(self, x: int) -> int:
        return (x + self.page_size - 1) // self.page_size * self.page_size

    def _live_bytes(self) -> int:
        return sum(self._lengths.values())

    def _insert(self, addr: int, length: int) -> None:
        bisect.insort(self._starts, addr)
        self._lengths[addr] = length

    def mmap(self, length: int) -> int | None:
        """Map ``length`` bytes of anonymous memory; return the address or ``None``.

        Models ``mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)``
        (kernel ``mm/mmap.c: do_mmap`` with ``unmapped_area_topdown``).
        """
        length = self._page_up(length)
        addr: int | None = None
        if length > 0 and (
            self.mmap_limit is None or self._live_bytes() + length <= self.mmap_limit
        ):
            addr = self._find_topdown(length)
        if addr is not None:
            self._insert(addr, length)
        self.syscalls.append(SyscallRecord("mmap", (0, length), addr))
        return addr

    def munmap(self, addr: int, length: int) -> None:
        """Unmap ``[addr, addr + length)``, splitting mappings as the kernel does.

        Models kernel ``mm/mmap.c: do_munmap``.
        """
        length = self._page_up(length)
        lo, hi = addr, addr + length
        for s in list(self._starts):
            e = s + self._lengths[s]
            if e <= lo or s >= hi:
                continue
            self._starts.remove(s)
            del self._lengths[s]
            if s < lo:
                self._insert(s, lo - s)
            if e > hi:
                self._insert(hi, e - hi)
        self.syscalls.append(SyscallRecord("munmap", (addr, length), 0))

    def mremap(self, old_addr: int, old_len: int, new_len: int) -> int | None:
        """``mremap(old_addr, old_len, new_len, MREMAP_MAYMOVE)``; new address or ``None``.

        Models kernel ``mm/mremap.c``: shrink in place, grow in place if the pages above
        are free, otherwise move the whole mapping to a new top-down area.
        """
        old_len = self._page_up(old_len)
        new_len = self._page_up(new_len)
        if old_addr not in self._lengths or self._lengths[old_addr] != old_len:
            self.syscalls.append(SyscallRecord("mremap", (old_addr, old_len, new_len), None))
            return None
        result: int | None
        if new_len <= old_len:
            self._lengths[old_addr] = new_len
            result = old_addr
        elif self.mmap_limit is not None and (
            self._live_bytes() + new_len - old_len > self.mmap_limit
        ):
            result = None
        elif (
            old_addr + new_len <= self.mmap_base
            and not self._overlaps(old_addr + old_len, old_addr + new_len)
        ):
            self._lengths[old_addr] = new_len
            result = old_addr
        else:
            self._starts.remove(old_addr)
            del self._lengths[old_addr]
            result = self._find_topdown(new_len)
            if result is None:
                self._insert(old_addr, old_len)
            else:
                self._insert(result, new_len)
        self.syscalls.append(SyscallRecord("mremap", (old_addr, old_len, new_len), result))
        return result

    def madvise(self, addr: int, length: int) -> None:
        """``madvise(addr, length, MADV_DONTNEED)``: only counted here."""
        self.madvised_bytes += length
        self.syscalls.append(SyscallRecord("madvise", (addr, length, 4), 0))

    # -- introspection ---------------------------------------------------------------

    def mappings(self) -> list[tuple[int, int]]:
        """Live anonymous mappings as ``(start, end)``, lowest first."""
        return [(s, s + self._lengths[s]) for s in self._starts]

    def is_mapped(self, addr: int) -> bool:
        """Whether ``addr`` is inside the heap (``[brk_start, brk)``) or a mapping."""
        if self.brk_start <= addr < self.brk:
            return True
        return self._overlaps(addr, addr + 1)
