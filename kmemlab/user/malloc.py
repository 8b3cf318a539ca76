"""A model of glibc 2.36 malloc (ptmalloc2): the main arena of a single-threaded process.

The model follows ``malloc/malloc.c`` of glibc 2.36 on x86-64 closely enough that, for the
same sequence of calls, it returns the same addresses (relative to the heap start) and the
same ``malloc_usable_size`` as the real library: the tcache (and its
``tcache_perthread_struct`` allocated from the heap on the first call), fastbins, the
unsorted/small/large bins with glibc's bin indexing and binmap, ``last_remainder``,
``malloc_consolidate``, the top chunk growing with ``sbrk`` and shrinking with ``systrim``,
mmapped chunks above ``mmap_threshold`` and the dynamic threshold, ``calloc``, ``realloc``,
``mallopt`` and ``GLIBC_TUNABLES``.

Memory is asked for through a *system object* (see :class:`MallocSystem`); by default a
:class:`~kmemlab.user.fake_system.FakeSystem`. The words malloc itself writes (chunk
headers, footers, ``fd``/``bk`` links, tcache ``next``/``key``) are kept in a sparse word
memory, so stale headers behave as they do in a real process: a double free of a chunk that
was merged into its neighbour is caught by the same check that catches it in glibc.
The program's own data is not modelled; a word malloc never wrote reads as 0.

Misuse is reported with glibc's own message (``malloc_printerr``) by raising
:class:`MallocAbort` (``SIGABRT``); the model's state is left as it was before the call.
Every call is logged in :attr:`GlibcMalloc.events` with a short explanation.

Deliberate limits: one arena, one thread (no arenas, no locks); no ``memalign`` family;
no ``M_PERTURB`` byte filling (there is no data); the corruption checks that need a program
to overwrite malloc's metadata (``malloc(): corrupted unsorted chunks`` and friends) are not
modelled, because the model has no way to write into a chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from kmemlab.user.fake_system import FakeSystem

# -- constants (x86-64, glibc 2.36) ------------------------------------------------------

SIZE_SZ = 8  #: sysdeps/generic/malloc-size.h: INTERNAL_SIZE_T is size_t
MALLOC_ALIGNMENT = 16  #: sysdeps/generic/malloc-alignment.h
MALLOC_ALIGN_MASK = MALLOC_ALIGNMENT - 1
CHUNK_HDR_SZ = 2 * SIZE_SZ  #: prev_size + size
MIN_CHUNK_SIZE = 32  #: offsetof(struct malloc_chunk, fd_nextsize)
MINSIZE = 32  #: MIN_CHUNK_SIZE rounded up to MALLOC_ALIGNMENT

PREV_INUSE = 0x1  #: the physically previous chunk is in use
IS_MMAPPED = 0x2  #: the chunk has its own mapping
NON_MAIN_ARENA = 0x4  #: the chunk belongs to a thread arena (never set by this model)
SIZE_BITS = PREV_INUSE | IS_MMAPPED | NON_MAIN_ARENA

TCACHE_MAX_BINS = 64
TCACHE_FILL_COUNT = 7  #: default glibc.malloc.tcache_count
MAX_TCACHE_COUNT = 65535  #: counts[] are uint16_t
MAX_TCACHE_SIZE = (TCACHE_MAX_BINS - 1) * MALLOC_ALIGNMENT + MINSIZE - SIZE_SZ  #: 1032
TCACHE_PERTHREAD_SIZE = TCACHE_MAX_BINS * 2 + TCACHE_MAX_BINS * 8  #: sizeof = 640

NFASTBINS = 10
DEFAULT_MXFAST = 64 * SIZE_SZ // 4  #: 128
MAX_FAST_SIZE = 80 * SIZE_SZ // 4  #: 160
NBINS = 128
NSMALLBINS = 64
MIN_LARGE_SIZE = NSMALLBINS * MALLOC_ALIGNMENT  #: 1024
BINMAPSHIFT = 5
BINMAPSIZE = NBINS >> BINMAPSHIFT  #: 4 words of 32 bits
FASTBIN_CONSOLIDATION_THRESHOLD = 65536
MAX_ITERS = 10000

DEFAULT_MMAP_THRESHOLD = 128 * 1024  #: DEFAULT_MMAP_THRESHOLD_MIN
DEFAULT_MMAP_THRESHOLD_MAX = 4 * 1024 * 1024 * 8  #: 4 MiB * sizeof(long) = 32 MiB
DEFAULT_MMAP_MAX = 65536
DEFAULT_TRIM_THRESHOLD = 128 * 1024
DEFAULT_TOP_PAD = 128 * 1024  #: sysdeps/generic/malloc-machine.h (malloc.c's own default is 0)
MMAP_AS_MORECORE_SIZE = 1024 * 1024

PTRDIFF_MAX = 2**63 - 1
SIZE_MAX = 2**64 - 1
ENOMEM = 12

# mallopt() parameter numbers (malloc/malloc.h)
M_MXFAST = 1
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
M_CHECK_ACTION = -5
M_PERTURB = -6
M_ARENA_TEST = -7
M_ARENA_MAX = -8

#: Address of ``main_arena`` (in libc's .data). Illustrative: only differences matter.
MAIN_ARENA = 0x7FFFF7F99C80
#: offsetof(struct malloc_state, bins) on x86-64 (mutex, flags, have_fastchunks, fastbinsY[10],
#: top, last_remainder).
_BINS_OFFSET = 112
#: The per-process ``tcache_key`` (random in glibc, ``tcache_key_initialize``); fixed here.
TCACHE_KEY = 0x6B6D656D6C616221


def bin_at(i: int) -> int:
    """Address of the pseudo-chunk heading bin ``i`` (malloc/malloc.c: ``bin_at``)."""
    return MAIN_ARENA + _BINS_OFFSET + (i - 1) * 2 * SIZE_SZ - 2 * SIZE_SZ


UNSORTED = bin_at(1)  #: malloc/malloc.c: unsorted_chunks(M)
INITIAL_TOP = UNSORTED  #: malloc/malloc.c: initial_top(M), a size-0 dummy top


# -- size and index arithmetic -----------------------------------------------------------


def request2size(req: int) -> int:
    """Chunk size for a request of ``req`` bytes (malloc/malloc.c: ``request2size``)."""
    if req + SIZE_SZ + MALLOC_ALIGN_MASK < MINSIZE:
        return MINSIZE
    return (req + SIZE_SZ + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK


def csize2tidx(size: int) -> int:
    """tcache bin of a chunk size (malloc/malloc.c: ``csize2tidx``)."""
    return (size - MINSIZE + MALLOC_ALIGNMENT - 1) // MALLOC_ALIGNMENT


def tidx2usize(idx: int) -> int:
    """Largest request served by tcache bin ``idx`` (malloc/malloc.c: ``tidx2usize``)."""
    return idx * MALLOC_ALIGNMENT + MINSIZE - SIZE_SZ


def fastbin_index(size: int) -> int:
    """Fastbin of a chunk size (malloc/malloc.c: ``fastbin_index``, 64-bit)."""
    return (size >> 4) - 2


def in_smallbin_range(size: int) -> bool:
    """Whether a chunk size has its own small bin (malloc/malloc.c: ``in_smallbin_range``)."""
    return size < MIN_LARGE_SIZE


def smallbin_index(size: int) -> int:
    """Small bin of a chunk size (malloc/malloc.c: ``smallbin_index``)."""
    return size >> 4


def largebin_index_64(size: int) -> int:
    """Large bin of a chunk size (malloc/malloc.c: ``largebin_index_64``)."""
    if (size >> 6) <= 48:
        return 48 + (size >> 6)
    if (size >> 9) <= 20:
        return 91 + (size >> 9)
    if (size >> 12) <= 10:
        return 110 + (size >> 12)
    if (size >> 15) <= 4:
        return 119 + (size >> 15)
    if (size >> 18) <= 2:
        return 124 + (size >> 18)
    return 126


def bin_index(size: int) -> int:
    """Regular bin of a chunk size (malloc/malloc.c: ``bin_index``)."""
    return size >> 4 if size < MIN_LARGE_SIZE else largebin_index_64(size)


def set_max_fast(value: int) -> int:
    """``global_max_fast`` for an ``M_MXFAST`` value (malloc/malloc.c: ``set_max_fast``)."""
    return MIN_CHUNK_SIZE // 2 if value == 0 else (value + SIZE_SZ) & ~MALLOC_ALIGN_MASK


def _align_up(x: int, a: int) -> int:
    return (x + a - 1) & ~(a - 1)


def _strtoul(text: str) -> int | None:
    """Parse a tunable value like elf/dl-tunables.c: ``_dl_strtoul`` (dec, 0x hex, 0 octal)."""
    t = text.strip()
    try:
        if t[:2].lower() == "0x":
            return int(t[2:], 16)
        if len(t) > 1 and t[0] == "0":
            return int(t[1:], 8)
        return int(t, 10)
    except ValueError:
        return None


#: The malloc tunables this model understands (elf/dl-tunables.list, namespace glibc.malloc).
TUNABLE_NAMES = (
    "tcache_count",
    "tcache_max",
    "tcache_unsorted_limit",
    "mmap_threshold",
    "trim_threshold",
    "top_pad",
    "mmap_max",
    "mxfast",
    "perturb",
    "arena_max",
    "arena_test",
    "check",
    "hugetlb",
)


def parse_tunables(text: str) -> dict[str, int]:
    """Parse a ``GLIBC_TUNABLES`` string into ``{name: value}`` for the glibc.malloc tunables.

    Models elf/dl-tunables.c: ``parse_tunables``: ``name=value`` pairs separated by ``:``;
    names outside ``glibc.malloc.*`` and values that are not numbers are ignored, as the
    real loader ignores them.
    """
    out: dict[str, int] = {}
    for item in text.split(":"):
        if "=" not in item:
            continue
        name, _, value = item.partition("=")
        name = name.strip()
        if not name.startswith("glibc.malloc."):
            continue
        short = name[len("glibc.malloc."):]
        number = _strtoul(value)
        if short in TUNABLE_NAMES and number is not None:
            out[short] = number
    return out


# -- public types ------------------------------------------------------------------------


class MallocAbort(Exception):
    """glibc detected misuse and ended the process (malloc/malloc.c: ``malloc_printerr``).

    ``message`` is glibc's text (written to stderr followed by a newline), ``signal`` the
    signal that ended the process.
    """

    signal = "SIGABRT"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MallocSegfault(MallocAbort):
    """malloc read a header word at an address nothing maps: the process gets ``SIGSEGV``."""

    signal = "SIGSEGV"


class MallocSystem(Protocol):
    """What the malloc model needs from the operating system (the kernel side).

    ``sbrk(increment)`` returns the old break or ``None`` (``brk(2)`` via glibc's
    ``misc/sbrk.c: __sbrk``; negative increments shrink, ``sbrk(0)`` asks for the break);
    ``mmap(length)`` returns the address of a new private anonymous mapping or ``None``;
    ``munmap(addr, length)`` removes one. Optional: ``mremap(old_addr, old_len, new_len)``
    (``MREMAP_MAYMOVE``; new address or ``None``) and ``madvise(addr, length)``
    (``MADV_DONTNEED``). :class:`~kmemlab.user.fake_system.FakeSystem` implements them all.
    """

    def sbrk(self, increment: int) -> int | None: ...

    def mmap(self, length: int) -> int | None: ...

    def munmap(self, addr: int, length: int) -> None: ...


class Event(NamedTuple):
    """One call to the allocator: its name, arguments, result and why it came out so."""

    call: str
    args: tuple[int | None, ...]
    result: int | None
    why: str


@dataclass(frozen=True)
class ChunkInfo:
    """One chunk as a heap walk shows it (like gef ``heap chunks`` / pwndbg ``heap``).

    ``state`` is ``"in use"``, ``"free"`` (in a bin: see ``bin``), ``"top"`` or
    ``"fencepost"``. Chunks in the tcache or a fastbin keep their in-use bit in glibc, but
    are reported here as ``"free"`` with their bin.
    """

    addr: int
    size: int
    flags: int
    state: str
    bin: str | None = None

    @property
    def mem(self) -> int:
        """The user pointer (``chunk2mem``)."""
        return self.addr + CHUNK_HDR_SZ

    @property
    def end(self) -> int:
        return self.addr + self.size

    @property
    def in_use(self) -> bool:
        return self.state == "in use"

    @property
    def prev_inuse(self) -> bool:
        return bool(self.flags & PREV_INUSE)

    @property
    def is_mmapped(self) -> bool:
        return bool(self.flags & IS_MMAPPED)


@dataclass(frozen=True)
class MallInfo2:
    """``struct mallinfo2`` (malloc/malloc.c: ``int_mallinfo``)."""

    arena: int
    ordblks: int
    smblks: int
    hblks: int
    hblkhd: int
    usmblks: int
    fsmblks: int
    uordblks: int
    fordblks: int
    keepcost: int


# -- the allocator -----------------------------------------------------------------------


class GlibcMalloc:
    """glibc 2.36 malloc for the main arena of a one-thread process.

    ``system`` provides brk/mmap (default: a new :class:`FakeSystem`); ``tunables`` is a
    ``GLIBC_TUNABLES`` string, applied as ``ptmalloc_init`` (malloc/arena.c) applies it.
    All public methods are named after the C functions they model and return ``int``
    addresses (``None`` for NULL).
    """

    def __init__(
        self,
        system: MallocSystem | None = None,
        tunables: str = "",
        *,
        page_size: int = 4096,
        record_events: bool = True,
    ) -> None:
        if page_size <= 0 or page_size & (page_size - 1):
            raise ValueError("page_size must be a power of two")
        self.system: MallocSystem = system if system is not None else FakeSystem(
            page_size=page_size
        )
        self.page_size = page_size
        self.record_events = record_events
        #: Sparse word memory: address -> 64-bit word written by malloc (0 if never written).
        self._m: dict[int, int] = {}
        # struct malloc_par mp_ (malloc/malloc.c)
        self.mmap_threshold = DEFAULT_MMAP_THRESHOLD
        self.trim_threshold = DEFAULT_TRIM_THRESHOLD
        self.top_pad = DEFAULT_TOP_PAD
        self.n_mmaps_max = DEFAULT_MMAP_MAX
        self.no_dyn_threshold = False
        self.n_mmaps = 0
        self.max_n_mmaps = 0
        self.mmapped_mem = 0
        self.max_mmapped_mem = 0
        self.sbrk_base = 0
        self.tcache_bins = TCACHE_MAX_BINS
        self.tcache_max_bytes = MAX_TCACHE_SIZE
        self.tcache_count = TCACHE_FILL_COUNT
        self.tcache_unsorted_limit = 0
        self.perturb_byte = 0
        # struct malloc_state main_arena (malloc_init_state)
        self.global_max_fast = set_max_fast(DEFAULT_MXFAST)
        self.have_fastchunks = False
        self.contiguous = True
        #: fastbinsY: chunk addresses, the bin's head is the *last* element.
        self.fastbins: list[list[int]] = [[] for _ in range(NFASTBINS)]
        self.top = INITIAL_TOP
        self.last_remainder = 0
        self.binmap = [0] * BINMAPSIZE
        self.system_mem = 0
        self.max_system_mem = 0
        m = self._m
        for i in range(1, NBINS):
            b = bin_at(i)
            m[b + 16] = b
            m[b + 24] = b
        #: The thread's tcache: per bin, user pointers, head = last element (None until
        #: tcache_init has run).
        self._tcache: list[list[int]] | None = None
        self.tcache_addr = 0
        #: mmapped chunks: chunk address -> mapping length.
        self._mmapped: dict[int, int] = {}
        #: heap segments: start of each region malloc carved chunks from; closed ones end
        #: at _segment_ends[i] (fenceposts included), the last one ends at top's end.
        self._segments: list[int] = []
        self._segment_ends: list[int] = []
        self.events: list[Event] = []
        self.stderr: list[str] = []
        self.errno = 0
        self._notes: list[str] = []
        self._why = ""
        self.tunables = parse_tunables(tunables)
        self._apply_tunables(self.tunables)

    # -- configuration -------------------------------------------------------------------

    def _apply_tunables(self, t: dict[str, int]) -> None:
        """Apply tunables as malloc/arena.c: ``ptmalloc_init`` does (only those set)."""
        if "top_pad" in t:
            self._do_set_top_pad(t["top_pad"])
        if "perturb" in t:
            self.perturb_byte = t["perturb"] & 0xFF
        if "mmap_threshold" in t:
            self._do_set_mmap_threshold(t["mmap_threshold"])
        if "trim_threshold" in t:
            self._do_set_trim_threshold(t["trim_threshold"])
        if "mmap_max" in t:
            self._do_set_mmaps_max(t["mmap_max"])
        if "tcache_max" in t:
            self._do_set_tcache_max(t["tcache_max"])
        if "tcache_count" in t:
            self._do_set_tcache_count(t["tcache_count"])
        if "tcache_unsorted_limit" in t:
            self.tcache_unsorted_limit = t["tcache_unsorted_limit"]
        if "mxfast" in t:
            self._do_set_mxfast(t["mxfast"])

    def _do_set_trim_threshold(self, value: int) -> int:
        self.trim_threshold = value
        self.no_dyn_threshold = True
        return 1

    def _do_set_top_pad(self, value: int) -> int:
        self.top_pad = value
        self.no_dyn_threshold = True
        return 1

    def _do_set_mmap_threshold(self, value: int) -> int:
        # glibc 2.36 has no upper bound here (facts sheet §9).
        self.mmap_threshold = value
        self.no_dyn_threshold = True
        return 1

    def _do_set_mmaps_max(self, value: int) -> int:
        self.n_mmaps_max = value
        self.no_dyn_threshold = True
        return 1

    def _do_set_tcache_max(self, value: int) -> int:
        if value <= MAX_TCACHE_SIZE:
            self.tcache_max_bytes = value
            self.tcache_bins = csize2tidx(request2size(value)) + 1
            return 1
        return 0

    def _do_set_tcache_count(self, value: int) -> int:
        if value <= MAX_TCACHE_COUNT:
            self.tcache_count = value
            return 1
        return 0

    def _do_set_mxfast(self, value: int) -> int:
        if value <= MAX_FAST_SIZE:
            self.global_max_fast = set_max_fast(value)
            return 1
        return 0

    # -- helpers -------------------------------------------------------------------------

    def _size(self, p: int) -> int:
        """chunksize(p)."""
        return self._m.get(p + 8, 0) & ~SIZE_BITS

    @property
    def top_size(self) -> int:
        """Size of the top chunk (0 before the first sbrk)."""
        return self._m.get(self.top + 8, 0) & ~SIZE_BITS

    def _readable(self, addr: int) -> bool:
        """Whether ``addr`` lies in memory malloc obtained (heap segments, mmapped chunks)."""
        if self._segments:
            last = self._segments[-1]
            if last <= addr < self.top + self.top_size:
                return True
            for s, e in zip(self._segments, self._segment_ends, strict=False):
                if s <= addr < e:
                    return True
            if self.sbrk_base and self.sbrk_base <= addr < self._segments[0]:
                return True
        for base, length in self._mmapped.items():
            if base <= addr < base + length:
                return True
        return False

    def _abort(self, call: str, args: tuple[int | None, ...], message: str) -> MallocAbort:
        """malloc/malloc.c: ``malloc_printerr``: the message goes to stderr, then abort()."""
        self.stderr.append(message)
        self._notes = []
        if self.record_events:
            self.events.append(Event(call, args, None, f"{message} → SIGABRT"))
        return MallocAbort(message)

    def _segv(self, call: str, args: tuple[int | None, ...], addr: int) -> MallocSegfault:
        msg = f"Segmentation fault (read of chunk header at {addr:#x}, which is not mapped)"
        self._notes = []
        if self.record_events:
            self.events.append(Event(call, args, None, msg + " → SIGSEGV"))
        return MallocSegfault(msg)

    def _event(self, call: str, args: tuple[int | None, ...], result: int | None, why: str) -> None:
        if self._notes:
            why = why + "; " + "; ".join(self._notes)
            self._notes = []
        if self.record_events:
            self.events.append(Event(call, args, result, why))

    # doubly linked bins, in the words of the chunks themselves (fd at +16, bk at +24)

    def _unlink(self, p: int) -> None:
        """malloc/malloc.c: ``unlink_chunk`` (the integrity checks run before, in ``_check_unlink``)."""
        m = self._m
        fd = m[p + 16]
        bk = m[p + 24]
        m[fd + 24] = bk
        m[bk + 16] = fd

    def _check_unlink(self, p: int) -> str | None:
        m = self._m
        size = m.get(p + 8, 0) & ~SIZE_BITS
        if size != m.get(p + size, 0):
            return "corrupted size vs. prev_size"
        fd = m.get(p + 16, 0)
        bk = m.get(p + 24, 0)
        if m.get(fd + 24) != p or m.get(bk + 16) != p:
            return "corrupted double-linked list"
        return None

    def _insert_unsorted(self, p: int) -> None:
        """Put ``p`` at the head (fd side) of the unsorted bin."""
        m = self._m
        fwd = m[UNSORTED + 16]
        m[p + 16] = fwd
        m[p + 24] = UNSORTED
        m[fwd + 24] = p
        m[UNSORTED + 16] = p

    def _bin_list(self, i: int) -> list[int]:
        """Chunks of regular bin ``i`` from head (fd) to tail (bk)."""
        m = self._m
        b = bin_at(i)
        out = []
        p = m[b + 16]
        while p != b:
            out.append(p)
            p = m[p + 16]
        return out

    # tcache (malloc/malloc.c: tcache_put, tcache_get)

    def _tcache_put(self, p: int, tc_idx: int) -> None:
        """malloc/malloc.c: ``tcache_put``: push at the head, store next (safe-linked) and key."""
        mem = p + 16
        tb = self._tcache[tc_idx]  # type: ignore[index]
        m = self._m
        m[mem] = (mem >> 12) ^ (tb[-1] if tb else 0)  # PROTECT_PTR
        m[mem + 8] = TCACHE_KEY
        tb.append(mem)

    def _tcache_get(self, tc_idx: int) -> int:
        """malloc/malloc.c: ``tcache_get``: pop the head and clear its key."""
        mem = self._tcache[tc_idx].pop()  # type: ignore[index]
        self._m[mem + 8] = 0
        return mem

    def _tcache_init(self) -> None:
        """malloc/malloc.c: ``tcache_init``: the struct is an ordinary chunk from the arena."""
        saved = self._why
        victim = self._int_malloc(request2size(TCACHE_PERTHREAD_SIZE))
        self._why = saved
        if victim:
            self._tcache = [[] for _ in range(TCACHE_MAX_BINS)]
            self.tcache_addr = victim
            self._notes.insert(
                0,
                f"first use: tcache_perthread_struct ({request2size(TCACHE_PERTHREAD_SIZE):#x}"
                f"-byte chunk) allocated from the heap at {victim - 16:#x}",
            )
