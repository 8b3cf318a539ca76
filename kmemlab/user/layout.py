"""Where a freshly exec'd process has its mappings, per architecture (ASLR off).

The layout is what ``setarch -R ./prog`` shows in ``/proc/self/maps`` for a small C
program linked against glibc 2.36 (Debian 12), measured on an x86_64 Linux machine,
and rebuilt from the kernel's rules (``fs/binfmt_elf.c: load_elf_binary``,
``arch/x86/mm/mmap.c: arch_pick_mmap_layout``, ``mm_init``/``setup_arg_pages``):

* the program (a PIE on x86_64) at ``ELF_ET_DYN_BASE`` = 2/3 of ``TASK_SIZE``
  (0x555555554000); a non-PIE i386 program at its link address 0x08048000;
* ``mm->start_brk`` = ``mm->brk`` = the page after the program's ``.bss``: the heap VMA
  appears with the first ``brk()`` that grows it;
* ``mm->mmap_base`` = ``TASK_SIZE`` − 128 MiB (the stack rlimit, 8 MiB, plus
  ``stack_guard_gap`` is below the 128 MiB minimum gap ``mmap_base()`` enforces);
  ``ld.so`` is mapped first, right below it, then the vDSO, ``ld.so``'s own
  anonymous pages, ``libc.so.6`` (below a gap where ``/etc/ld.so.cache`` was mapped
  while the loader searched for it) and the TLS block; every later ``mmap`` goes
  top-down below those (``unmapped_area_topdown``);
* ``[stack]`` ends at ``STACK_TOP`` = ``TASK_SIZE`` (0x7ffffffff000 / 0xc0000000) and
  is 132 KiB after ``setup_arg_pages``' 128 KiB expansion.

Pages written before ``main()`` (the loader's relocations, the TLS block, libc's
``.data``/``.bss``, argv/envp/auxv on the stack) are listed per mapping; they are the
anonymous pages a new process already has (``Anonymous:`` in ``/proc/self/smaps``).
Inode numbers and library sizes are plausible, not those of a particular machine.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

KiB = 1024
MiB = 1 << 20


@dataclass(frozen=True)
class Segment:
    """One mapping of an exec'd image: its size, permissions, file offset, name."""

    size: int
    perms: str  # "r--p", "r-xp", "rw-p", ...
    pgoff: int = 0
    name: str | None = None  # a path, "[stack]", "[vdso]", ... or None (anonymous)
    file: bool = False
    #: page indexes written before main() (anonymous pages, COW copies of file pages)
    written: tuple[int, ...] = ()
    #: the mapping was writable when it was created (VM_ACCOUNT; relro is mprotected later)
    accounted: bool = False
    special: bool = False  # [vvar]/[vdso]: no anonymous memory, not accounted


@dataclass(frozen=True)
class ImageLayout:
    """Addresses and mappings of a new process (``mm_struct`` fields + VMAs)."""

    task_size: int
    mmap_base: int
    start_code: int
    end_code: int
    start_data: int
    end_data: int
    start_brk: int
    start_stack: int
    vmas: tuple[tuple[int, Segment], ...]  # (start, segment), lowest first
    vsyscall: str | None  # the [vsyscall] line's permissions, None when there is none


def inode_of(path: str) -> int:
    """A stable, plausible inode number for ``path`` (no real file system here)."""
    return 100000 + zlib.crc32(path.encode()) % 900000


def _place_up(base: int, parts: list[Segment]) -> tuple[int, list[tuple[int, Segment]]]:
    """Place ``parts`` back to back from ``base``; returns (end, placed)."""
    out = []
    a = base
    for s in parts:
        out.append((a, s))
        a += s.size
    return a, out


def _place_down(top: int, parts: list[Segment]) -> tuple[int, list[tuple[int, Segment]]]:
    """Place ``parts`` (lowest first) so that the last one ends at ``top``."""
    addr = top - sum(s.size for s in parts)
    return addr, _place_up(addr, parts)[1]


def x86_64_layout(version, prog: str) -> ImageLayout:
    """A PIE linked with glibc 2.36 on x86_64 (4-level paging, 47-bit user space)."""
    task_size = 0x7FFFFFFFF000
    mmap_base = task_size - 128 * MiB  # 0x7ffff7fff000
    base = 0x555555554000  # ELF_ET_DYN_BASE (TASK_SIZE / 3 * 2), page aligned
    prog_segs = [
        Segment(0x1000, "r--p", 0x0000, prog, True),
        Segment(0x1000, "r-xp", 0x1000, prog, True),
        Segment(0x1000, "r--p", 0x2000, prog, True),
        Segment(0x1000, "r--p", 0x2000, prog, True, (0,), True),   # relro (.got)
        Segment(0x1000, "rw-p", 0x3000, prog, True, (0,), True),   # .data/.bss
    ]
    start_brk, vmas = _place_up(base, prog_segs)
    ld = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
    ld_segs = [
        Segment(0x1000, "r--p", 0x0, ld, True),
        Segment(0x26000, "r-xp", 0x1000, ld, True),
        Segment(0xA000, "r--p", 0x27000, ld, True),
        Segment(0x2000, "r--p", 0x31000, ld, True, (0, 1), True),
        Segment(0x2000, "rw-p", 0x33000, ld, True, (0, 1), True),
    ]
    top, placed = _place_down(mmap_base, ld_segs)
    vmas += placed
    vdso = [Segment(0x4000, "r--p", 0, "[vvar]", special=True),
            Segment(0x2000, "r-xp", 0, "[vdso]", special=True)]
    p = _profile(version)   # a Profile or a version string
    if p.vvar_pages != 4:
        vdso = [Segment(p.vvar_pages << 12, "r--p", 0, "[vvar]", special=True),
                Segment(0x2000, "r-xp", 0, "[vdso]", special=True)]
    top, placed = _place_down(top, vdso)
    vmas += placed
    top, placed = _place_down(top, [Segment(0x2000, "rw-p", 0, None, False, (0,), True)])
    vmas += placed
    top -= 0x9000  # /etc/ld.so.cache was mapped here while libc was looked up
    libc_segs = [
        Segment(0x26000, "r--p", 0x0, libc, True),
        Segment(0x156000, "r-xp", 0x26000, libc, True),
        Segment(0x53000, "r--p", 0x17C000, libc, True),
        Segment(0x4000, "r--p", 0x1CF000, libc, True, (0, 1, 2, 3), True),
        Segment(0x2000, "rw-p", 0x1D3000, libc, True, (0, 1), True),
        Segment(0xD000, "rw-p", 0, None, False, (0, 1, 2, 3, 4), True),  # .bss
    ]
    top, placed = _place_down(top, libc_segs)
    vmas += placed
    top, placed = _place_down(top, [Segment(0x3000, "rw-p", 0, None, False, (1, 2), True)])
    vmas += placed  # TLS block and struct pthread of the main thread
    stack = Segment(0x21000, "rw-p", 0, "[stack]", False, (0x1F, 0x20), True)
    vmas.append((task_size - stack.size, stack))
    vmas.sort(key=lambda v: v[0])
    return ImageLayout(
        task_size=task_size, mmap_base=mmap_base,
        start_code=base + 0x1000, end_code=base + 0x2000,
        start_data=base + 0x3DE0, end_data=base + 0x4010,
        start_brk=start_brk, start_stack=task_size - 0x1000 + 0x4A0,
        vmas=tuple(vmas),
        vsyscall=p.vsyscall_perms,
    )


def i386_layout(version: str, prog: str) -> ImageLayout:
    """A non-PIE i386 program linked with glibc (3G/1G split, 2-level paging)."""
    task_size = 0xC0000000
    mmap_base = task_size - 128 * MiB  # 0xb8000000
    base = 0x08048000
    prog_segs = [
        Segment(0x1000, "r-xp", 0x0000, prog, True),
        Segment(0x1000, "r--p", 0x0000, prog, True, (0,), True),   # relro
        Segment(0x1000, "rw-p", 0x1000, prog, True, (0,), True),   # .data/.bss
    ]
    start_brk, vmas = _place_up(base, prog_segs)
    ld = "/lib/ld-linux.so.2"
    libc = "/lib/i386-linux-gnu/libc.so.6"
    ld_segs = [
        Segment(0x1000, "r--p", 0x0, ld, True),
        Segment(0x23000, "r-xp", 0x1000, ld, True),
        Segment(0xA000, "r--p", 0x24000, ld, True),
        Segment(0x1000, "r--p", 0x2E000, ld, True, (0,), True),
        Segment(0x1000, "rw-p", 0x2F000, ld, True, (0,), True),
    ]
    top, placed = _place_down(mmap_base, ld_segs)
    vmas += placed
    top, placed = _place_down(top, [Segment(0x2000, "r--p", 0, "[vvar]", special=True),
                                    Segment(0x1000, "r-xp", 0, "[vdso]", special=True)])
    vmas += placed
    top, placed = _place_down(top, [Segment(0x2000, "rw-p", 0, None, False, (0,), True)])
    vmas += placed
    top -= 0x9000  # /etc/ld.so.cache
    libc_segs = [
        Segment(0x1D000, "r--p", 0x0, libc, True),
        Segment(0x17F000, "r-xp", 0x1D000, libc, True),
        Segment(0x80000, "r--p", 0x19C000, libc, True),
        Segment(0x2000, "r--p", 0x21C000, libc, True, (0, 1), True),
        Segment(0x1000, "rw-p", 0x21E000, libc, True, (0,), True),
        Segment(0xA000, "rw-p", 0, None, False, (0, 1, 2, 3), True),
    ]
    top, placed = _place_down(top, libc_segs)
    vmas += placed
    top, placed = _place_down(top, [Segment(0x3000, "rw-p", 0, None, False, (1, 2), True)])
    vmas += placed
    stack = Segment(0x21000, "rw-p", 0, "[stack]", False, (0x1F, 0x20), True)
    vmas.append((task_size - stack.size, stack))
    vmas.sort(key=lambda v: v[0])
    return ImageLayout(
        task_size=task_size, mmap_base=mmap_base,
        start_code=base, end_code=base + 0x1000,
        start_data=base + 0x1F00, end_data=base + 0x2020,
        start_brk=start_brk, start_stack=task_size - 0x1000 + 0x3A0,
        vmas=tuple(vmas), vsyscall=None,
    )


def _profile(version):
    from ..profiles import by_version
    return by_version(version)


def image_layout(profile, prog: str) -> ImageLayout:
    """The layout for a kernel profile (its architecture and version)."""
    if profile.is_64bit:
        return x86_64_layout(profile, prog)
    return i386_layout(profile.version, prog)
