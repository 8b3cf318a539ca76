"""The allocator-independent half of the slab layer: mm/slab_common.c and include/linux/slab.h.

Pure functions and per-version data, no simulated state:

* kmalloc constants, the ``size_index`` table and ``kmalloc_index`` (which size class a
  request lands in), kmalloc cache names per version (``kmalloc-8192`` on 3.15,
  ``kmalloc-8k`` on 6.x, ``kmalloc-rcl-*``, ``kmalloc-cg-*``, ``dma-kmalloc-*``);
* slab cache flags (``SLAB_HWCACHE_ALIGN`` ...), ``calculate_alignment``, the merge rules
  (``slab_unmergeable`` / ``find_mergeable``) and the sysfs unique id (``:0000024``);
* ``/proc/slabinfo``: the line format of ``cache_show`` and a parser that reads the
  real file and the simulator's alike.

Numbers come from shared/reference/linux-mm-facts.md section 4; each function names the
kernel function it follows. The SLUB-specific parts (object layout, slab order, the
per-CPU and per-node lists) are in :mod:`kmemlab.slub`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------
# include/linux/slab.h constants (x86: ARCH_KMALLOC_MINALIGN = 8, SLUB).
# ---------------------------------------------------------------------------------------

KMALLOC_SHIFT_LOW = 3                   # KMALLOC_MIN_SIZE = 8 [3.15][6.1][6.12]
KMALLOC_MIN_SIZE = 1 << KMALLOC_SHIFT_LOW
ZERO_SIZE_PTR = 0x10                    # include/linux/slab.h: ((void *)16)
MAX_OBJS_PER_PAGE = 32767               # mm/slub.c: MAX_OBJS_PER_PAGE
ARCH_KMALLOC_MINALIGN = 8               # __alignof__(unsigned long long) on x86 (also i386)
ARCH_SLAB_MINALIGN = 8
PAGE_ALLOC_COSTLY_ORDER = 3
MIN_PARTIAL = 5                         # mm/slub.c
MAX_PARTIAL = 10
CACHE_LINE_SIZE = 64                    # x86 cache_line_size()


def kmalloc_shift_high(page_shift: int = 12) -> int:
    """KMALLOC_SHIFT_HIGH for SLUB = PAGE_SHIFT + 1 (include/linux/slab.h) [3.15][6.x]."""
    return page_shift + 1


def kmalloc_max_cache_size(page_shift: int = 12) -> int:
    """KMALLOC_MAX_CACHE_SIZE = 1 << KMALLOC_SHIFT_HIGH: 8192 with 4 KiB pages."""
    return 1 << kmalloc_shift_high(page_shift)


# The 24-entry table of mm/slab_common.c (size_index [3.15][6.1], kmalloc_size_index
# [6.12]): index for sizes 1..192 in steps of 8. Index 1 is kmalloc-96, 2 is kmalloc-192.
SIZE_INDEX: tuple[int, ...] = (
    3, 4, 5, 5, 6, 6, 6, 6,   # 8, 16, 24, 32, 40, 48, 56, 64
    1, 1, 1, 1,               # 72..96   -> kmalloc-96
    7, 7, 7, 7,               # 104..128 -> kmalloc-128
    2, 2, 2, 2, 2, 2, 2, 2,   # 136..192 -> kmalloc-192
)


def size_index_elem(size: int) -> int:
    """mm/slab_common.c: size_index_elem: ``(bytes - 1) / 8``."""
    return (size - 1) // 8


def fls(x: int) -> int:
    """include/asm-generic/bitops/fls.h: position of the most significant set bit (1-based)."""
    return x.bit_length()


def get_order(size: int, page_shift: int = 12) -> int:
    """include/asm-generic/getorder.h: get_order: smallest n with PAGE_SIZE << n >= size."""
    if size <= 0:
        return 64 - page_shift  # the constant-folded size-0 case (facts sheet section 3)
    return ((size - 1) >> page_shift).bit_length()


def kmalloc_index(size: int, page_shift: int = 12) -> int:
    """The kmalloc array index for ``size`` bytes (0 = ZERO_SIZE_PTR).

    mm/slab_common.c: kmalloc_slab [3.15][6.1] / kmalloc_slab + __kmalloc_index [6.12]:
    ``size_index[(size - 1) / 8]`` up to 192 bytes, ``fls(size - 1)`` above. Returns
    -1 above KMALLOC_MAX_CACHE_SIZE (those requests go to the page allocator).
    """
    if size == 0:
        return 0
    if size <= 192:
        return SIZE_INDEX[(size - 1) >> 3]
    if size > kmalloc_max_cache_size(page_shift):
        return -1
    return (size - 1).bit_length()


_INDEX_RUNS: dict[int, tuple[tuple[int, int], ...]] = {}


def kmalloc_index_runs(page_shift: int = 12) -> tuple[tuple[int, int], ...]:
    """:func:`kmalloc_index` of every size 0 … KMALLOC_MAX_CACHE_SIZE as runs of
    (index, how many consecutive sizes have it), in size order: the kmalloc_slab
    lookup table is built from ~35 runs instead of 8,193 calls (boot does it per
    kmalloc type, so a booted Kernel costs a tenth of what it did)."""
    runs = _INDEX_RUNS.get(page_shift)
    if runs is None:
        out: list[list[int]] = []
        for size in range(kmalloc_max_cache_size(page_shift) + 1):
            i = kmalloc_index(size, page_shift)
            if out and out[-1][0] == i:
                out[-1][1] += 1
            else:
                out.append([i, 1])
        runs = _INDEX_RUNS[page_shift] = tuple((i, n) for i, n in out)
    return runs


def kmalloc_size(index: int) -> int:
    """include/linux/slab.h: kmalloc_size: 96, 192 or 1 << index."""
    if index == 1:
        return 96
    if index == 2:
        return 192
    return 1 << index if index else 0


def kmalloc_short_size(size: int) -> str:
    """6.x kmalloc_info short names: 96, 192, 8..512, then 1k, 2k, 4k, 8k, 16k ... 1M, 2M."""
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20}M"
    if size >= 1024 and size % 1024 == 0:
        return f"{size >> 10}k"
    return str(size)


# kmalloc cache types (include/linux/slab.h: enum kmalloc_cache_type).
KMALLOC_NORMAL = "normal"
KMALLOC_RECLAIM = "reclaim"
KMALLOC_DMA = "dma"
KMALLOC_CGROUP = "cgroup"

_TYPE_PREFIX_6X = {KMALLOC_NORMAL: "kmalloc-", KMALLOC_RECLAIM: "kmalloc-rcl-",
                   KMALLOC_CGROUP: "kmalloc-cg-", KMALLOC_DMA: "dma-kmalloc-"}


def kmalloc_cache_name(size: int, ktype: str, short_names: bool) -> str:
    """The name of a kmalloc cache.

    3.15 (mm/slab_common.c: create_kmalloc_caches): ``kmalloc-%d`` and ``dma-kmalloc-%d``.
    6.x (mm/slab_common.c: kmalloc_info / INIT_KMALLOC_INFO): ``kmalloc-8k``,
    ``kmalloc-rcl-96``, ``kmalloc-cg-1k``, ``dma-kmalloc-192``.
    """
    if ktype not in _TYPE_PREFIX_6X:
        raise ValueError(f"unknown kmalloc cache type {ktype!r}")
    prefix = _TYPE_PREFIX_6X[ktype]
    if not short_names:
        if ktype not in (KMALLOC_NORMAL, KMALLOC_DMA):
            raise ValueError(f"Linux 3.15 has no {prefix}* caches")
        return f"{prefix}{size}"
    return prefix + kmalloc_short_size(size)


# ---------------------------------------------------------------------------------------
# Slab cache flags (include/linux/slab.h). Values as in 6.1; the aliases name the 3.15
# spellings of the same bits. Which flags a version knows is in SLAB_FLAGS_BY_VERSION.
# ---------------------------------------------------------------------------------------


class SlabFlags(enum.IntFlag):
    """``SLAB_*`` cache creation flags (include/linux/slab.h; 6.1 bit values)."""

    SLAB_CONSISTENCY_CHECKS = 0x100     # 3.15: SLAB_DEBUG_FREE
    SLAB_RED_ZONE = 0x400
    SLAB_POISON = 0x800
    SLAB_HWCACHE_ALIGN = 0x2000
    SLAB_CACHE_DMA = 0x4000
    SLAB_CACHE_DMA32 = 0x8000
    SLAB_STORE_USER = 0x10000
    SLAB_RECLAIM_ACCOUNT = 0x20000
    SLAB_PANIC = 0x40000
    SLAB_TYPESAFE_BY_RCU = 0x80000      # 3.15: SLAB_DESTROY_BY_RCU
    SLAB_MEM_SPREAD = 0x100000
    SLAB_TRACE = 0x200000
    SLAB_DEBUG_OBJECTS = 0x400000
    SLAB_NOLEAKTRACE = 0x800000
    SLAB_NOTRACK = 0x1000000            # 3.15 only (kmemcheck)
    SLAB_FAILSLAB = 0x2000000
    SLAB_ACCOUNT = 0x4000000            # 4.5+
    SLAB_NO_MERGE = 0x8000000           # 6.5+ (kmalloc caches only, here)
    SLAB_KMALLOC = 0x10000000           # internal: a kmalloc cache


SLAB_CONSISTENCY_CHECKS = SlabFlags.SLAB_CONSISTENCY_CHECKS
SLAB_DEBUG_FREE = SlabFlags.SLAB_CONSISTENCY_CHECKS
SLAB_RED_ZONE = SlabFlags.SLAB_RED_ZONE
SLAB_POISON = SlabFlags.SLAB_POISON
SLAB_HWCACHE_ALIGN = SlabFlags.SLAB_HWCACHE_ALIGN
SLAB_CACHE_DMA = SlabFlags.SLAB_CACHE_DMA
SLAB_CACHE_DMA32 = SlabFlags.SLAB_CACHE_DMA32
SLAB_STORE_USER = SlabFlags.SLAB_STORE_USER
SLAB_RECLAIM_ACCOUNT = SlabFlags.SLAB_RECLAIM_ACCOUNT
SLAB_PANIC = SlabFlags.SLAB_PANIC
SLAB_TYPESAFE_BY_RCU = SlabFlags.SLAB_TYPESAFE_BY_RCU
SLAB_DESTROY_BY_RCU = SlabFlags.SLAB_TYPESAFE_BY_RCU
SLAB_MEM_SPREAD = SlabFlags.SLAB_MEM_SPREAD
SLAB_TRACE = SlabFlags.SLAB_TRACE
SLAB_DEBUG_OBJECTS = SlabFlags.SLAB_DEBUG_OBJECTS
SLAB_NOLEAKTRACE = SlabFlags.SLAB_NOLEAKTRACE
SLAB_NOTRACK = SlabFlags.SLAB_NOTRACK
SLAB_FAILSLAB = SlabFlags.SLAB_FAILSLAB
SLAB_ACCOUNT = SlabFlags.SLAB_ACCOUNT
SLAB_NO_MERGE = SlabFlags.SLAB_NO_MERGE
SLAB_KMALLOC_FLAG = SlabFlags.SLAB_KMALLOC

# Spelling → flag, including the 3.15 names.
SLAB_FLAG_NAMES: dict[str, SlabFlags] = {f.name: f for f in SlabFlags
                                         if f is not SlabFlags.SLAB_KMALLOC}
SLAB_FLAG_NAMES["SLAB_DEBUG_FREE"] = SLAB_DEBUG_FREE
SLAB_FLAG_NAMES["SLAB_DESTROY_BY_RCU"] = SLAB_DESTROY_BY_RCU

_COMMON_FLAG_NAMES = ("SLAB_RED_ZONE", "SLAB_POISON", "SLAB_HWCACHE_ALIGN", "SLAB_CACHE_DMA",
                      "SLAB_STORE_USER", "SLAB_RECLAIM_ACCOUNT", "SLAB_PANIC",
                      "SLAB_MEM_SPREAD", "SLAB_TRACE", "SLAB_DEBUG_OBJECTS",
                      "SLAB_NOLEAKTRACE", "SLAB_FAILSLAB")
COMMON_FLAG_NAMES = _COMMON_FLAG_NAMES
# version -> accepted flag names, filled by profiles.py (Profile.slab_flag_names).
SLAB_FLAGS_BY_VERSION: dict[str, frozenset[str]] = {}

_FLAG_HINTS = {
    "SLAB_ACCOUNT": "it was added in Linux 4.5; 3.15 accounts with __GFP_KMEMCG",
    "SLAB_CACHE_DMA32": "it was added in Linux 5.0",
    "SLAB_NOTRACK": "it was removed in Linux 4.15 with kmemcheck",
    "SLAB_DEBUG_FREE": "it was renamed SLAB_CONSISTENCY_CHECKS in Linux 4.6",
    "SLAB_DESTROY_BY_RCU": "it was renamed SLAB_TYPESAFE_BY_RCU in Linux 4.12",
    "SLAB_NO_MERGE": "it was added in Linux 6.5",
}

# Debug flags (mm/slab.h: SLAB_DEBUG_FLAGS): a cache with any of them has no CPU partial
# lists (kmem_cache_debug / kmem_cache_has_cpu_partial).
SLAB_DEBUG_FLAGS = (SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE
                    | SLAB_CONSISTENCY_CHECKS)


def slab_flags(value, version: str) -> SlabFlags:
    """Accept ``SLAB_*`` flags as SlabFlags, an int, a name or ``"A|B"``; check the version.

    Raises TypeError/ValueError (Python misuse) with the version hint for flags the
    version lacks (include/linux/slab.h of that version).
    """
    if value is None:
        return SlabFlags(0)
    if isinstance(value, bool):
        raise TypeError("slab flags cannot be a bool; use e.g. km.SLAB_HWCACHE_ALIGN or 0")
    if isinstance(value, str):
        out = SlabFlags(0)
        for part in value.split("|"):
            name = part.strip()
            if not name or name == "0":
                continue
            if name not in SLAB_FLAG_NAMES:
                raise ValueError(f"unknown slab flag {name!r}; known: "
                                 f"{', '.join(sorted(SLAB_FLAGS_BY_VERSION[version]))}")
            if name not in SLAB_FLAGS_BY_VERSION[version]:
                hint = _FLAG_HINTS.get(name, "")
                raise ValueError(f"{name} does not exist in Linux {version}"
                                 + (f": {hint}" if hint else ""))
            out |= SLAB_FLAG_NAMES[name]
        return out
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"slab flags cannot be negative: {value}")
        try:
            flags = SlabFlags(value)
        except ValueError:
            raise ValueError(f"unknown slab flag bits in {value:#x}") from None
        if flags & SlabFlags.SLAB_KMALLOC:
            raise ValueError("SLAB_KMALLOC is internal to the kmalloc caches")
        known = SLAB_FLAGS_BY_VERSION[version]
        for f in SlabFlags:
            if flags & f and f.name not in known and not (
                    f is SLAB_DEBUG_FREE and "SLAB_DEBUG_FREE" in known) and not (
                    f is SLAB_TYPESAFE_BY_RCU and "SLAB_DESTROY_BY_RCU" in known):
                hint = _FLAG_HINTS.get(f.name, "")
                raise ValueError(f"{f.name} does not exist in Linux {version}"
                                 + (f": {hint}" if hint else ""))
        return flags
    raise TypeError(f"slab flags must be km.SLAB_* flags, an int or a string such as "
                    f"'SLAB_HWCACHE_ALIGN', not {type(value).__name__}")


def flag_names(flags: int, version: str | None = None) -> str:
    """``SLAB_HWCACHE_ALIGN|SLAB_ACCOUNT`` (3.15 spellings on 3.15); ``0`` for none.
    ``version`` defaults to the default profile's."""
    spelling = _profile(version).slab_flag_spelling
    names = []
    for f in SlabFlags:
        if flags & f and f is not SlabFlags.SLAB_KMALLOC:
            names.append(spelling.get(f.name, f.name))
    return "|".join(names) if names else "0"


def calculate_alignment(flags: int, align: int, size: int, word: int = 8,
                        cache_line: int = CACHE_LINE_SIZE) -> int:
    """mm/slab_common.c: calculate_alignment [3.15][6.1][6.12].

    With SLAB_HWCACHE_ALIGN the cache line size is halved while the object fits in half
    of it; the result is at least ARCH_SLAB_MINALIGN (8) and a multiple of the word size.
    """
    if flags & SLAB_HWCACHE_ALIGN:
        ralign = cache_line
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    align = max(align, ARCH_SLAB_MINALIGN)
    return align_up(align, word)


def align_up(x: int, a: int) -> int:
    """include/linux/align.h: ALIGN (a a power of two)."""
    return (x + a - 1) & ~(a - 1)


def kmalloc_cache_align(size: int, rule: str) -> int:
    """mm/slab_common.c: create_boot_cache alignment of a kmalloc cache.

    rule "minalign" (3.15): ARCH_KMALLOC_MINALIGN = 8; "pow2" (6.1): max(8, size) for
    power-of-two sizes; "pow2_divisor" (6.12): max(8, largest power of two dividing size)
    (kmalloc-96 → 32, kmalloc-192 → 64, as /sys/kernel/slab/*/align shows on 6.12+).
    """
    align = ARCH_KMALLOC_MINALIGN
    if rule == "pow2":
        if size & (size - 1) == 0:
            align = max(align, size)
    elif rule == "pow2_divisor":
        align = max(align, size & -size)
    elif rule != "minalign":
        raise ValueError(f"unknown kmalloc alignment rule {rule!r}")
    return align


# ---------------------------------------------------------------------------------------
# Merging (3.15 mm/slub.c: find_mergeable, slab_unmergeable; 6.x mm/slab_common.c).
# ---------------------------------------------------------------------------------------

SLAB_NEVER_MERGE = (SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE
                    | SLAB_TYPESAFE_BY_RCU | SLAB_NOLEAKTRACE | SLAB_FAILSLAB | SLAB_NO_MERGE)
# version -> SLAB_MERGE_SAME, filled by profiles.py (Profile.slab_merge_same).
SLAB_MERGE_SAME: dict[str, int] = {}


def _profile(version):
    """The profile of ``version`` (a version string or a Profile)."""
    from .profiles import by_version
    return by_version(version)


def create_unique_id(flags: int, size: int, version: str) -> str:
    """mm/slub.c: create_unique_id: the sysfs directory name of a mergeable cache.

    6.x: ``:`` then d (DMA), D (DMA32), a (RECLAIM_ACCOUNT), F (CONSISTENCY_CHECKS),
    A (ACCOUNT), ``-`` if any letter, then ``%07u`` of the object slot size: ``:0000024``,
    ``:A-0000192``. 3.15: d, a, F, then t unless SLAB_NOTRACK (kmemcheck off makes
    SLAB_NOTRACK 0, so every 3.15 id has a t): ``:t-0000064``.
    """
    letters = ""
    if _profile(version).slab_unique_id_kmemcheck:
        if flags & SLAB_CACHE_DMA:
            letters += "d"
        if flags & SLAB_RECLAIM_ACCOUNT:
            letters += "a"
        if flags & SLAB_DEBUG_FREE:
            letters += "F"
        letters += "t"
    else:
        if flags & SLAB_CACHE_DMA:
            letters += "d"
        if flags & SLAB_CACHE_DMA32:
            letters += "D"
        if flags & SLAB_RECLAIM_ACCOUNT:
            letters += "a"
        if flags & SLAB_CONSISTENCY_CHECKS:
            letters += "F"
        if flags & SLAB_ACCOUNT:
            letters += "A"
    return ":" + (letters + "-" if letters else "") + f"{size:07d}"


# ---------------------------------------------------------------------------------------
# /proc/slabinfo (mm/slab_common.c: print_slabinfo_header, cache_show).
# ---------------------------------------------------------------------------------------

SLABINFO_HEADER = (
    "slabinfo - version: 2.1\n"
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
    " : tunables <limit> <batchcount> <sharedfactor>"
    " : slabdata <active_slabs> <num_slabs> <sharedavail>\n")


@dataclass(frozen=True)
class SlabinfoLine:
    """One line of /proc/slabinfo, fields named as in the header."""

    name: str
    active_objs: int
    num_objs: int
    objsize: int
    objperslab: int
    pagesperslab: int
    limit: int = 0
    batchcount: int = 0
    sharedfactor: int = 0
    active_slabs: int = 0
    num_slabs: int = 0
    sharedavail: int = 0

    def format(self) -> str:
        """mm/slab_common.c: cache_show: the line as the kernel prints it (no newline)."""
        return (f"{self.name:<17s} {self.active_objs:6d} {self.num_objs:6d} {self.objsize:6d}"
                f" {self.objperslab:4d} {self.pagesperslab:4d}"
                f" : tunables {self.limit:4d} {self.batchcount:4d} {self.sharedfactor:4d}"
                f" : slabdata {self.active_slabs:6d} {self.num_slabs:6d} {self.sharedavail:6d}")


_SLABINFO_LINE = re.compile(
    r"^(?P<name>\S+)\s+(?P<active_objs>\d+)\s+(?P<num_objs>\d+)\s+(?P<objsize>\d+)\s+"
    r"(?P<objperslab>\d+)\s+(?P<pagesperslab>\d+)\s+:\s+tunables\s+(?P<limit>\d+)\s+"
    r"(?P<batchcount>\d+)\s+(?P<sharedfactor>\d+)\s+:\s+slabdata\s+(?P<active_slabs>\d+)\s+"
    r"(?P<num_slabs>\d+)\s+(?P<sharedavail>\d+)")


def parse_slabinfo(text: str) -> list[SlabinfoLine]:
    """Parse /proc/slabinfo text (a real machine's or the simulator's), version 2.1.

    Lines that SLAB (not SLUB) extends with ``: globalstat``/``: cpustat`` are read up to
    the slabdata fields. ValueError on another format version or a malformed line.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_slabinfo takes the file's text, not {type(text).__name__}")
    lines = text.splitlines()
    if not lines or not lines[0].startswith("slabinfo - version:"):
        raise ValueError("not /proc/slabinfo text: the first line must be "
                         "'slabinfo - version: 2.1'")
    version = lines[0].split(":", 1)[1].strip()
    if version != "2.1":
        raise ValueError(f"slabinfo format version {version} is not supported (only 2.1)")
    out = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#"):
            continue
        m = _SLABINFO_LINE.match(line)
        if not m:
            raise ValueError(f"slabinfo line {n} is malformed: {line!r}")
        d = m.groupdict()
        out.append(SlabinfoLine(d.pop("name"), **{k: int(v) for k, v in d.items()}))
    return out


def format_slabinfo(lines: list[SlabinfoLine]) -> str:
    """Header plus one line per cache, as ``cat /proc/slabinfo`` prints them."""
    return SLABINFO_HEADER + "".join(line.format() + "\n" for line in lines)
