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
modelled, because the model has no way to write into a chunk; a forged ``IS_MMAPPED``
header that passes glibc's alignment test is refused with ``munmap_chunk(): invalid
pointer`` instead of unmapping memory malloc never mapped; a header read outside memory
malloc obtained raises :class:`MallocSegfault`; the ``MALLOC_*_`` environment aliases of the
tunables are not read (pass ``GLIBC_TUNABLES`` text).
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


#: bin_at(i) for every i, precomputed (the bins are at fixed addresses).
_BIN_AT = [bin_at(i) for i in range(NBINS + 1)]
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

    def sbrk(self, increment: int) -> int | None:
        """glibc ``misc/sbrk.c: __sbrk`` (MORECORE): old break, or None on failure."""
        ...

    def mmap(self, length: int) -> int | None:
        """``mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)`` or None."""
        ...

    def munmap(self, addr: int, length: int) -> None:
        """``munmap(addr, length)``."""
        ...


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
        """Address of the next chunk (``next_chunk``)."""
        return self.addr + self.size

    @property
    def in_use(self) -> bool:
        """Allocated to the program (``inuse`` and in no bin)."""
        return self.state == "in use"

    @property
    def prev_inuse(self) -> bool:
        """The PREV_INUSE bit (``prev_inuse``)."""
        return bool(self.flags & PREV_INUSE)

    @property
    def is_mmapped(self) -> bool:
        """The IS_MMAPPED bit (``chunk_is_mmapped``)."""
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


# Cached "why" texts of the two fast paths (they depend only on the size).
_WHY_TCACHE_GET: dict[int, str] = {}
_WHY_TCACHE_PUT: dict[int, str] = {}
_tuple_new = tuple.__new__


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
        self.words: dict[int, int] = {}
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
        m = self.words
        for i in range(1, NBINS):
            b = _BIN_AT[i]
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
        self._heap_lo = 1 << 64  # start of the current segment (fast pointer check)
        self.events: list[Event] = []
        self.stderr: list[str] = []
        self.errno = 0
        self._notes: list[str] = []
        self._api: tuple = ("malloc", ())   # the call in progress (for deep aborts)
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
        return self.words.get(p + 8, 0) & ~SIZE_BITS

    @property
    def top_size(self) -> int:
        """``chunksize(av->top)`` (malloc/malloc.c); 0 before the first sbrk."""
        return self.words.get(self.top + 8, 0) & ~SIZE_BITS

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
        """malloc/malloc.c: ``unlink_chunk``. Its checks (``corrupted size vs. prev_size``,
        ``corrupted double-linked list``) run first, in ``_check_unlink``: callers that
        report through their own path check before; for every other caller (the bin
        searches of ``_int_malloc``, ``malloc_consolidate``) a failed check is glibc's
        ``malloc_printerr`` abort here, before a link is written."""
        err = self._check_unlink(p)
        if err:
            call, args = self._api
            raise self._abort(call, args, err)
        m = self.words
        fd = m[p + 16]
        bk = m[p + 24]
        m[fd + 24] = bk
        m[bk + 16] = fd

    def _check_unlink(self, p: int) -> str | None:
        m = self.words
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
        m = self.words
        fwd = m[UNSORTED + 16]
        m[p + 16] = fwd
        m[p + 24] = UNSORTED
        m[fwd + 24] = p
        m[UNSORTED + 16] = p

    def _bin_list(self, i: int) -> list[int]:
        """Chunks of regular bin ``i`` from head (fd) to tail (bk)."""
        m = self.words
        b = _BIN_AT[i]
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
        m = self.words
        m[mem] = (mem >> 12) ^ (tb[-1] if tb else 0)  # PROTECT_PTR
        m[mem + 8] = TCACHE_KEY
        tb.append(mem)

    def _tcache_get(self, tc_idx: int) -> int:
        """malloc/malloc.c: ``tcache_get``: pop the head and clear its key."""
        mem = self._tcache[tc_idx].pop()  # type: ignore[index]
        self.words[mem + 8] = 0
        return mem

    def _tcache_init(self) -> None:
        """malloc/malloc.c: ``tcache_init``: the struct is an ordinary chunk from the arena."""
        saved = self._why
        victim = self._int_malloc(request2size(TCACHE_PERTHREAD_SIZE))
        how, self._why = self._why, saved
        if victim:
            self._tcache = [[] for _ in range(TCACHE_MAX_BINS)]
            self.tcache_addr = victim
            self._notes.insert(
                0,
                f"first use: tcache_perthread_struct ({request2size(TCACHE_PERTHREAD_SIZE):#x}"
                f"-byte chunk) allocated from the heap at {victim - 16:#x} ({how})",
            )

    # -- _int_malloc ---------------------------------------------------------------------

    def _split_top(self, nb: int) -> int:
        m = self.words
        victim = self.top
        size = m[victim + 8] & ~SIZE_BITS
        remainder = victim + nb
        self.top = remainder
        m[victim + 8] = nb | PREV_INUSE
        m[remainder + 8] = (size - nb) | PREV_INUSE
        return victim + 16

    def _int_malloc(self, nb: int) -> int | None:
        """malloc/malloc.c: ``_int_malloc`` for a chunk size ``nb``; sets ``self._why``."""
        m = self.words
        tc = self._tcache
        tc_idx = (nb - 17) >> 4
        use_tc = tc is not None and tc_idx < self.tcache_bins
        # 1. fastbin, exact size
        if nb <= self.global_max_fast:
            idx = (nb >> 4) - 2
            fb = self.fastbins[idx]
            if fb:
                victim = fb.pop()
                moved = 0
                if use_tc:
                    tb = tc[tc_idx]  # type: ignore[index]
                    while len(tb) < self.tcache_count and fb:
                        self._tcache_put(fb.pop(), tc_idx)
                        moved += 1
                self._why = f"from fastbin {idx} (LIFO: the chunk freed last)"
                if moved:
                    self._why += f"; {moved} more of that size moved into tcache bin {tc_idx}"
                return victim + 16
        # 2. small bin, exact size
        if nb < MIN_LARGE_SIZE:
            idx = nb >> 4
            b = _BIN_AT[idx]
            victim = m[b + 24]
            if victim != b:
                bck = m[victim + 24]
                m[victim + nb + 8] |= PREV_INUSE
                m[b + 24] = bck
                m[bck + 16] = b
                moved = 0
                if use_tc:
                    tb = tc[tc_idx]  # type: ignore[index]
                    while len(tb) < self.tcache_count:
                        tcv = m[b + 24]
                        if tcv == b:
                            break
                        bck = m[tcv + 24]
                        m[tcv + nb + 8] |= PREV_INUSE
                        m[b + 24] = bck
                        m[bck + 16] = b
                        self._tcache_put(tcv, tc_idx)
                        moved += 1
                self._why = f"from small bin {idx} (FIFO: the oldest chunk)"
                if moved:
                    self._why += f"; {moved} more of that size moved into tcache bin {tc_idx}"
                return victim + 16
        else:
            idx = largebin_index_64(nb)
            if self.have_fastchunks:
                self._consolidate()
                self._notes.append("large request: fastbins consolidated first")
        # 3. the unsorted bin, oldest first; exact fits are taken, the rest sorted into bins
        tcache_nb = nb if use_tc else 0
        return_cached = False
        tcache_unsorted_count = 0
        while True:
            iters = 0
            binned = 0
            while True:
                victim = m[UNSORTED + 24]
                if victim == UNSORTED:
                    break
                bck = m[victim + 24]
                size = m[victim + 8] & ~SIZE_BITS
                if (
                    nb < MIN_LARGE_SIZE
                    and bck == UNSORTED
                    and victim == self.last_remainder
                    and size > nb + MINSIZE
                ):
                    remainder_size = size - nb
                    remainder = victim + nb
                    m[UNSORTED + 24] = m[UNSORTED + 16] = remainder
                    self.last_remainder = remainder
                    m[remainder + 16] = m[remainder + 24] = UNSORTED
                    m[victim + 8] = nb | PREV_INUSE
                    m[remainder + 8] = remainder_size | PREV_INUSE
                    m[remainder + remainder_size] = remainder_size
                    self._why = (
                        f"split from the last remainder ({size}-byte chunk, the only one in "
                        f"the unsorted bin); {remainder_size} bytes stay there"
                    )
                    return victim + 16
                m[UNSORTED + 24] = bck
                m[bck + 16] = UNSORTED
                if size == nb:
                    m[victim + size + 8] |= PREV_INUSE
                    if tcache_nb and len(tc[tc_idx]) < self.tcache_count:  # type: ignore[index]
                        self._tcache_put(victim, tc_idx)
                        return_cached = True
                        continue
                    self._why = "from the unsorted bin (exact fit)"
                    if binned:
                        self._why += f" ({binned} other chunks sorted into their bins first)"
                    return victim + 16
                # place the chunk in its bin
                if size < MIN_LARGE_SIZE:
                    victim_index = size >> 4
                    bck = _BIN_AT[victim_index]
                    fwd = m[bck + 16]
                else:
                    victim_index = largebin_index_64(size)
                    bck = _BIN_AT[victim_index]
                    fwd = m[bck + 16]
                    if fwd != bck:  # keep large bins sorted, largest first
                        last = m[bck + 24]
                        if size < m[last + 8] & ~SIZE_BITS:
                            fwd = bck
                            bck = last
                        else:
                            while size < m[fwd + 8] & ~SIZE_BITS:
                                fwd = m[fwd + 16]
                            if size == m[fwd + 8] & ~SIZE_BITS:
                                fwd = m[fwd + 16]  # always insert in the second position
                            bck = m[fwd + 24]
                self.binmap[victim_index >> BINMAPSHIFT] |= 1 << (victim_index & 31)
                m[victim + 24] = bck
                m[victim + 16] = fwd
                m[fwd + 24] = victim
                m[bck + 16] = victim
                binned += 1
                tcache_unsorted_count += 1
                if (
                    return_cached
                    and self.tcache_unsorted_limit > 0
                    and tcache_unsorted_count > self.tcache_unsorted_limit
                ):
                    self._why = "exact fits from the unsorted bin stashed in tcache; one returned"
                    return self._tcache_get(tc_idx)
                iters += 1
                if iters >= MAX_ITERS:
                    break
            if binned:
                self._notes.append(f"{binned} unsorted chunk(s) sorted into small/large bins")
            if return_cached:
                self._why = (
                    f"exact fits from the unsorted bin stashed in tcache bin {tc_idx}; "
                    "the last one stashed is returned"
                )
                return self._tcache_get(tc_idx)
            # 4. large request: best fit in its own bin (smallest chunk that fits)
            if nb >= MIN_LARGE_SIZE:
                b = _BIN_AT[idx]
                first = m[b + 16]
                if first != b and m[first + 8] & ~SIZE_BITS >= nb:
                    victim = m[b + 24]
                    while m[victim + 8] & ~SIZE_BITS < nb:
                        victim = m[victim + 24]
                    size = m[victim + 8] & ~SIZE_BITS
                    while True:  # go to the first chunk of that size (the skip-list entry)
                        pv = m[victim + 24]
                        if pv == b or m[pv + 8] & ~SIZE_BITS != size:
                            break
                        victim = pv
                    nxt = m[victim + 16]
                    if victim != m[b + 24] and m[nxt + 8] & ~SIZE_BITS == size:
                        victim = nxt  # take the second one: the skip list stays as it is
                    self._unlink(victim)
                    self._take_split(victim, size, nb, small_request=False)
                    self._why = (
                        f"from large bin {idx}: best fit, the {size}-byte chunk" + self._why
                    )
                    return victim + 16
            # 5. binmap: the next non-empty bin above, its smallest/oldest chunk, split
            idx += 1
            block = idx >> BINMAPSHIFT
            bmap = self.binmap[block]
            bit = 1 << (idx & 31)
            found = 0
            while True:
                if bit > bmap or bit == 0:
                    while True:
                        block += 1
                        if block >= BINMAPSIZE:
                            break
                        bmap = self.binmap[block]
                        if bmap:
                            break
                    if block >= BINMAPSIZE:
                        break
                    idx = block << BINMAPSHIFT
                    bit = 1
                while bit & bmap == 0:
                    idx += 1
                    bit <<= 1
                b = _BIN_AT[idx]
                victim = m[b + 24]
                if victim == b:  # false alarm: clear the bit
                    bmap &= ~bit
                    self.binmap[block] = bmap
                    idx += 1
                    bit <<= 1
                    continue
                found = victim
                break
            if found:
                victim = found
                size = m[victim + 8] & ~SIZE_BITS
                self._unlink(victim)
                self._take_split(victim, size, nb, small_request=nb < MIN_LARGE_SIZE)
                kind = "small" if idx < NSMALLBINS else "large"
                self._why = (
                    f"split from the {size}-byte chunk of {kind} bin {idx} (no exact fit; "
                    f"the next non-empty bin in the binmap)" + self._why
                )
                return victim + 16
            # 6. top
            top_size = m.get(self.top + 8, 0) & ~SIZE_BITS
            if top_size >= nb + MINSIZE:
                self._why = f"split from the top chunk ({top_size} bytes before)"
                return self._split_top(nb)
            if self.have_fastchunks:
                self._consolidate()
                self._notes.append("top too small: fastbins consolidated, search repeated")
                idx = nb >> 4 if nb < MIN_LARGE_SIZE else largebin_index_64(nb)
                continue
            return self._sysmalloc(nb)

    def _take_split(self, victim: int, size: int, nb: int, small_request: bool) -> None:
        """Use ``victim`` (already unlinked) for ``nb``: exhaust it or split the rest off."""
        m = self.words
        remainder_size = size - nb
        if remainder_size < MINSIZE:
            m[victim + size + 8] |= PREV_INUSE
            self._why = ", used whole"
            return
        remainder = victim + nb
        self._insert_unsorted(remainder)
        if small_request:
            self.last_remainder = remainder
        m[victim + 8] = nb | PREV_INUSE
        m[remainder + 8] = remainder_size | PREV_INUSE
        m[remainder + remainder_size] = remainder_size
        self._why = f"; the {remainder_size}-byte rest goes to the unsorted bin"
        if small_request:
            self._why += " as last_remainder"

    # -- sysmalloc -----------------------------------------------------------------------

    def _mmap_chunk(self, nb: int) -> int | None:
        """malloc/malloc.c: ``sysmalloc_mmap``: a chunk with its own mapping."""
        size = _align_up(nb + SIZE_SZ, self.page_size)
        if size <= nb:
            return None
        mm = self.system.mmap(size)
        if mm is None:
            return None
        m = self.words
        m[mm] = 0
        m[mm + 8] = size | IS_MMAPPED
        self._mmapped[mm] = size
        self.n_mmaps += 1
        self.max_n_mmaps = max(self.max_n_mmaps, self.n_mmaps)
        self.mmapped_mem += size
        self.max_mmapped_mem = max(self.max_mmapped_mem, self.mmapped_mem)
        return mm + 16

    def _sysmalloc(self, nb: int) -> int | None:
        """malloc/malloc.c: ``sysmalloc`` for the main arena: mmap the chunk, or grow top."""
        m = self.words
        ps = self.page_size
        sysobj = self.system
        if nb >= self.mmap_threshold and self.n_mmaps < self.n_mmaps_max:
            mem = self._mmap_chunk(nb)
            if mem is not None:
                self._why = (
                    f"in its own mapping of {self._mmapped[mem - 16]} bytes (IS_MMAPPED): "
                    f"{nb} ≥ mmap_threshold ({self.mmap_threshold}) and top is too small"
                )
                return mem
        old_top = self.top
        old_size = m.get(old_top + 8, 0) & ~SIZE_BITS
        old_end = old_top + old_size
        brk: int | None = None
        snd_brk: int | None = None
        size = nb + self.top_pad + MINSIZE
        if self.contiguous:
            size -= old_size
        size = _align_up(size, ps)
        how = ""
        if size > 0:
            brk = sysobj.sbrk(size)
            how = f"sbrk({size:#x})"
        if brk is None:
            if self.contiguous:
                size = _align_up(size + old_size, ps)
            if size < MMAP_AS_MORECORE_SIZE:
                size = MMAP_AS_MORECORE_SIZE
            if size > nb:
                mbrk = sysobj.mmap(size)
                if mbrk is not None:
                    brk = mbrk
                    snd_brk = brk + size
                    self.contiguous = False
                    how = f"sbrk failed: mmap({size:#x}) used as MORECORE (heap now non-contiguous)"
        if brk is not None:
            if self.sbrk_base == 0:
                self.sbrk_base = brk
            self.system_mem += size
            if brk == old_end and snd_brk is None:
                m[old_top + 8] = (size + old_size) | PREV_INUSE
            elif self.contiguous and old_size and brk < old_end:
                self.stderr.append("break adjusted to free malloc space")
                raise MallocAbort("break adjusted to free malloc space")
            else:
                correction = 0
                aligned_brk = brk
                if self.contiguous:
                    if old_size:
                        self.system_mem += brk - old_end  # foreign sbrk counted as ours
                    front_misalign = (brk + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK
                    if front_misalign:
                        correction = MALLOC_ALIGNMENT - front_misalign
                        aligned_brk += correction
                    correction += old_size
                    end_misalign = brk + size + correction
                    correction += _align_up(end_misalign, ps) - end_misalign
                    snd_brk = sysobj.sbrk(correction)
                    if snd_brk is None:
                        correction = 0
                        snd_brk = sysobj.sbrk(0)
                elif snd_brk is None:
                    snd_brk = sysobj.sbrk(0)
                if snd_brk is not None:
                    self.top = aligned_brk
                    m[aligned_brk + 8] = (snd_brk - aligned_brk + correction) | PREV_INUSE
                    self.system_mem += correction
                    if self._segments:
                        self._segment_ends.append(old_end)
                    self._segments.append(aligned_brk)
                    self._heap_lo = aligned_brk
                    if old_size != 0:
                        # fenceposts after the old top, then free what is left of it
                        old_size = (old_size - 2 * CHUNK_HDR_SZ) & ~MALLOC_ALIGN_MASK
                        m[old_top + 8] = old_size | PREV_INUSE
                        m[old_top + old_size + 8] = CHUNK_HDR_SZ | PREV_INUSE
                        m[old_top + old_size + CHUNK_HDR_SZ + 8] = CHUNK_HDR_SZ | PREV_INUSE
                        if old_size >= MINSIZE:
                            self._int_free(old_top)
                        how += "; the old top was fenced off and freed"
        self.max_system_mem = max(self.max_system_mem, self.system_mem)
        top_size = m.get(self.top + 8, 0) & ~SIZE_BITS
        if top_size >= nb + MINSIZE:
            self._why = f"split from top after {how} grew the heap (top was too small)"
            return self._split_top(nb)
        self.errno = ENOMEM
        self._why = "not possible, out of memory: " + (
            how + " did not give enough" if how else "sbrk failed"
        )
        return None

    # -- _int_free -----------------------------------------------------------------------

    def _free_check(self, p: int) -> str | None:
        """The checks ``_int_free`` makes before it changes anything; glibc's message or None.

        Running them first keeps the model unchanged when the call aborts.
        """
        m = self.words
        raw = m.get(p + 8, 0)
        size = raw & ~SIZE_BITS
        if size == 0 or p > (1 << 64) - size or p & MALLOC_ALIGN_MASK:
            return "free(): invalid pointer"
        if size < MINSIZE or size & MALLOC_ALIGN_MASK:
            return "free(): invalid size"
        tc = self._tcache
        tc_idx = (size - 17) >> 4
        if tc is not None and tc_idx < self.tcache_bins:
            mem = p + 16
            tb = tc[tc_idx]
            if m.get(mem + 8) == TCACHE_KEY:
                for cnt, e in enumerate(reversed(tb)):
                    if cnt >= self.tcache_count:
                        return "free(): too many chunks detected in tcache"
                    if e == mem:
                        return "free(): double free detected in tcache 2"
            if len(tb) < self.tcache_count:
                return None
        nxt = p + size
        nraw = m.get(nxt + 8, 0)
        if size <= self.global_max_fast:
            if nraw <= CHUNK_HDR_SZ or nraw & ~SIZE_BITS >= self.system_mem:
                return "free(): invalid next size (fast)"
            fb = self.fastbins[(size >> 4) - 2]
            if fb and fb[-1] == p:
                return "double free or corruption (fasttop)"
            return None
        if raw & IS_MMAPPED:
            return self._munmap_check(p)
        top = self.top
        if p == top:
            return "double free or corruption (top)"
        if self.contiguous and nxt >= top + (m.get(top + 8, 0) & ~SIZE_BITS):
            return "double free or corruption (out)"
        if not nraw & PREV_INUSE:
            return "double free or corruption (!prev)"
        if nraw <= CHUNK_HDR_SZ or nraw & ~SIZE_BITS >= self.system_mem:
            return "free(): invalid next size (normal)"
        if not raw & PREV_INUSE:
            prevsize = m.get(p, 0)
            prv = p - prevsize
            if m.get(prv + 8, 0) & ~SIZE_BITS != prevsize:
                return "corrupted size vs. prev_size while consolidating"
            err = self._check_unlink(prv)
            if err:
                return err
        nsize = nraw & ~SIZE_BITS
        if nxt != top and not m.get(nxt + nsize + 8, 0) & PREV_INUSE:
            return self._check_unlink(nxt)
        return None

    def _int_free(self, p: int) -> str:
        """malloc/malloc.c: ``_int_free``; raises MallocAbort first if a check fails.

        Returns a short description of where the chunk went.
        """
        err = self._free_check(p)
        if err:
            raise MallocAbort(err)
        return self._int_free_apply(p)

    def _int_free_apply(self, p: int) -> str:
        m = self.words
        size = m[p + 8] & ~SIZE_BITS
        tc = self._tcache
        tc_idx = (size - 17) >> 4
        if tc is not None and tc_idx < self.tcache_bins and len(tc[tc_idx]) < self.tcache_count:
            self._tcache_put(p, tc_idx)
            return f"{size}-byte chunk put at the head of tcache bin {tc_idx}"
        if size <= self.global_max_fast:
            self.have_fastchunks = True
            idx = (size >> 4) - 2
            fb = self.fastbins[idx]
            m[p + 16] = ((p + 16) >> 12) ^ (fb[-1] if fb else 0)  # PROTECT_PTR
            fb.append(p)
            if tc is not None and tc_idx < self.tcache_bins:
                return (
                    f"tcache bin {tc_idx} full: "
                    f"{size}-byte chunk put at the head of fastbin {idx}"
                )
            return f"{size}-byte chunk put at the head of fastbin {idx}"
        if m[p + 8] & IS_MMAPPED:
            self._munmap_chunk(p)
            return "mmapped chunk unmapped"
        nextchunk = p + size
        nextsize = m[nextchunk + 8] & ~SIZE_BITS
        merged = []
        if not m[p + 8] & PREV_INUSE:
            prevsize = m[p]
            size += prevsize
            p -= prevsize
            self._unlink(p)
            merged.append(f"the free {prevsize}-byte chunk before")
        if nextchunk != self.top:
            if not m.get(nextchunk + nextsize + 8, 0) & PREV_INUSE:
                self._unlink(nextchunk)
                size += nextsize
                merged.append(f"the free {nextsize}-byte chunk after")
            else:
                m[nextchunk + 8] &= ~PREV_INUSE
            self._insert_unsorted(p)
            m[p + 8] = size | PREV_INUSE
            m[p + size] = size
            where = f"{size}-byte free chunk put at the head of the unsorted bin"
        else:
            size += nextsize
            m[p + 8] = size | PREV_INUSE
            self.top = p
            merged.append("top")
            where = f"merged into top (now {size} bytes)"
        if merged:
            where = "merged with " + " and ".join(merged) + "; " + where
        if size >= FASTBIN_CONSOLIDATION_THRESHOLD:
            if self.have_fastchunks:
                self._consolidate()
                where += "; ≥ 64 KiB freed: fastbins consolidated"
            if (m[self.top + 8] & ~SIZE_BITS) >= self.trim_threshold:
                released = self._systrim(self.top_pad)
                if released:
                    where += (
                        f"; top ≥ trim_threshold ({self.trim_threshold}): systrim gave back "
                        f"{released} bytes with sbrk(-{released:#x})"
                    )
        return where

    def _consolidate(self) -> None:
        """malloc/malloc.c: ``malloc_consolidate``: empty every fastbin, merging neighbours."""
        self.have_fastchunks = False
        m = self.words
        for fb in self.fastbins:
            if not fb:
                continue
            chunks = fb[::-1]  # from the head
            fb.clear()
            for p in chunks:
                size = m[p + 8] & ~SIZE_BITS
                nextchunk = p + size
                nextsize = m[nextchunk + 8] & ~SIZE_BITS
                if not m[p + 8] & PREV_INUSE:
                    prevsize = m[p]
                    size += prevsize
                    p -= prevsize
                    self._unlink(p)
                if nextchunk != self.top:
                    if not m.get(nextchunk + nextsize + 8, 0) & PREV_INUSE:
                        size += nextsize
                        self._unlink(nextchunk)
                    else:
                        m[nextchunk + 8] &= ~PREV_INUSE
                    self._insert_unsorted(p)
                    m[p + 8] = size | PREV_INUSE
                    m[p + size] = size
                else:
                    size += nextsize
                    m[p + 8] = size | PREV_INUSE
                    self.top = p

    def _systrim(self, pad: int) -> int:
        """malloc/malloc.c: ``systrim``: give the top's free pages back with a negative sbrk.

        Returns the number of bytes released.
        """
        m = self.words
        top_size = m.get(self.top + 8, 0) & ~SIZE_BITS  # 0 before the first sbrk
        top_area = top_size - MINSIZE - 1
        if top_area <= pad:
            return 0
        extra = (top_area - pad) & ~(self.page_size - 1)
        if extra == 0:
            return 0
        current_brk = self.system.sbrk(0)
        if current_brk != self.top + top_size:
            return 0
        self.system.sbrk(-extra)
        new_brk = self.system.sbrk(0)
        if new_brk is None:
            return 0
        released = current_brk - new_brk
        if released:
            self.system_mem -= released
            m[self.top + 8] = (top_size - released) | PREV_INUSE
        return released

    def _munmap_check(self, p: int) -> str | None:
        m = self.words
        offset = m.get(p, 0)
        block = p - offset
        total = offset + (m.get(p + 8, 0) & ~SIZE_BITS)
        mem_off = (p + 16) & (self.page_size - 1)
        if (block | total) & (self.page_size - 1) or mem_off & (mem_off - 1):
            return "munmap_chunk(): invalid pointer"
        if self._mmapped.get(block) != total:
            # glibc would munmap whatever the header describes; the model refuses to
            # unmap memory it did not map and reports the crash that would follow.
            return "munmap_chunk(): invalid pointer"
        return None

    def _munmap_chunk(self, p: int) -> None:
        """malloc/malloc.c: ``munmap_chunk`` (checked before by ``_munmap_check``)."""
        m = self.words
        offset = m.get(p, 0)
        block = p - offset
        total = offset + (m[p + 8] & ~SIZE_BITS)
        self.n_mmaps -= 1
        self.mmapped_mem -= total
        del self._mmapped[block]
        for a in (p, p + 8, p + 16, p + 24):
            m.pop(a, None)
        self.system.munmap(block, total)

    def _mremap_chunk(self, p: int, nb: int) -> int | None:
        """malloc/malloc.c: ``mremap_chunk``; returns the new chunk or None (caller falls back)."""
        m = self.words
        ps = self.page_size
        offset = m.get(p, 0)
        size = m[p + 8] & ~SIZE_BITS
        block = p - offset
        total = offset + size
        new_size = _align_up(nb + offset + SIZE_SZ, ps)
        if total == new_size:
            self._why = "mmapped chunk: same number of pages, nothing to do"
            return p
        mremap = getattr(self.system, "mremap", None)
        cp = mremap(block, total, new_size) if mremap is not None else None
        if cp is None:
            return None
        del self._mmapped[block]
        for a in (p, p + 8):
            m.pop(a, None)
        np = cp + offset
        m[np] = offset
        m[np + 8] = (new_size - offset) | IS_MMAPPED
        self._mmapped[cp] = new_size
        self.mmapped_mem += new_size - size - offset
        self.max_mmapped_mem = max(self.max_mmapped_mem, self.mmapped_mem)
        moved = "in place" if cp == block else f"moved to {cp:#x}"
        self._why = f"mmapped chunk: mremap {total:#x} → {new_size:#x} bytes, {moved}"
        return np

    # -- public API ----------------------------------------------------------------------

    @staticmethod
    def _check_arg(name: str, value: object) -> int:
        if type(value) is not int:
            raise TypeError(f"{name} must be an int (a C size_t), not {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{name} must be >= 0 (size_t cannot be negative): got {value}")
        return value

    @staticmethod
    def _check_ptr(value: object) -> int:
        if value is None:
            return 0
        if type(value) is not int:
            raise TypeError(f"pointer must be an int address or None, not {type(value).__name__}")
        if value < 0 or value > SIZE_MAX:
            raise ValueError(f"pointer out of the 64-bit address range: {value}")
        return value

    def malloc(self, size: int) -> int | None:
        """Allocate ``size`` bytes (malloc/malloc.c: ``__libc_malloc`` → ``_int_malloc``).

        Returns the user pointer, or ``None`` (``errno`` = ENOMEM).
        """
        if type(size) is not int or size < 0:
            self._check_arg("size", size)
        self._api = ("malloc", (size,))
        if size > PTRDIFF_MAX:
            self.errno = ENOMEM
            self._event("malloc", (size,), None, "request > PTRDIFF_MAX: NULL, ENOMEM")
            return None
        nb = MINSIZE if size + 23 < MINSIZE else (size + 23) & ~MALLOC_ALIGN_MASK
        tc_idx = (nb - 17) >> 4
        tc = self._tcache
        if tc is None:
            self._tcache_init()
            tc = self._tcache
        if tc is not None and tc_idx < self.tcache_bins:
            tb = tc[tc_idx]
            if tb:
                mem = tb.pop()
                self.words[mem + 8] = 0
                if self.record_events:
                    why = _WHY_TCACHE_GET.get(size)
                    if why is None:
                        why = _WHY_TCACHE_GET[size] = (
                            f"malloc({size}) → {nb}-byte chunk from tcache bin {tc_idx}, "
                            "LIFO: the chunk freed last"
                        )
                    self.events.append(_tuple_new(Event, ("malloc", (size,), mem, why)))
                return mem
        mem = self._int_malloc(nb)
        self._event("malloc", (size,), mem, f"malloc({size}) → {nb}-byte chunk " + self._why)
        return mem

    def free(self, mem: int | None) -> None:
        """Free a block (malloc/malloc.c: ``__libc_free`` → ``_int_free`` / ``munmap_chunk``)."""
        if type(mem) is not int:
            mem = self._check_ptr(mem)
        if mem == 0:
            self._event("free", (None,), None, "free(NULL) does nothing")
            return
        self._api = ("free", (mem,))
        p = mem - 16
        m = self.words
        if not self._heap_lo <= p < self.top and not self._readable(p + 8):
            raise self._segv("free", (mem,), p + 8)
        raw = m.get(p + 8, 0)
        if raw & IS_MMAPPED:
            err = self._munmap_check(p)
            if err:
                raise self._abort("free", (mem,), err)
            size = raw & ~SIZE_BITS
            why = f"free: mmapped chunk, munmap of {size} bytes"
            if (
                not self.no_dyn_threshold
                and raw > self.mmap_threshold
                and raw <= DEFAULT_MMAP_THRESHOLD_MAX
            ):
                self.mmap_threshold = size
                self.trim_threshold = 2 * size
                why += (
                    f"; dynamic threshold: mmap_threshold raised to {size}, "
                    f"trim_threshold to {2 * size}"
                )
            self._munmap_chunk(p)
            self._event("free", (mem,), None, why)
            return
        tc = self._tcache
        if tc is None:
            self._tcache_init()
            tc = self._tcache
        # fast path: the tcache (the checks of _int_free, inlined)
        size = raw & ~SIZE_BITS
        if (
            tc is not None
            and not (p | size) & MALLOC_ALIGN_MASK
            and MINSIZE <= size
            and p <= (1 << 64) - size
        ):
            tc_idx = (size - 17) >> 4
            if tc_idx < self.tcache_bins and m.get(mem + 8) != TCACHE_KEY:
                tb = tc[tc_idx]
            else:
                tb = None
            if tb is not None and len(tb) < self.tcache_count:
                m[mem] = (mem >> 12) ^ (tb[-1] if tb else 0)
                m[mem + 8] = TCACHE_KEY
                tb.append(mem)
                if self.record_events:
                    why = _WHY_TCACHE_PUT.get(size)
                    if why is None:
                        why = _WHY_TCACHE_PUT[size] = (
                            f"free: {size}-byte chunk put at the head of tcache bin {tc_idx}"
                        )
                    self.events.append(_tuple_new(Event, ("free", (mem,), None, why)))
                return
        err = self._free_check(p)
        if err:
            raise self._abort("free", (mem,), err)
        why = self._int_free_apply(p)
        self._event("free", (mem,), None, "free: " + why)

    def calloc(self, nmemb: int, size: int) -> int | None:
        """Allocate zeroed memory (malloc/malloc.c: ``__libc_calloc``; no tcache in 2.36)."""
        self._check_arg("nmemb", nmemb)
        self._check_arg("size", size)
        nbytes = nmemb * size
        if nbytes > PTRDIFF_MAX:
            self.errno = ENOMEM
            self._event("calloc", (nmemb, size), None, "nmemb * size overflows: NULL, ENOMEM")
            return None
        if self._tcache is None:
            self._tcache_init()
        oldtop = self.top
        oldtopsize = self.top_size
        if self.sbrk_base and oldtopsize < self.sbrk_base + self.max_system_mem - oldtop:
            oldtopsize = self.sbrk_base + self.max_system_mem - oldtop
        mem = self._int_malloc(request2size(nbytes))
        why = f"calloc({nmemb}, {size}) → {request2size(nbytes)}-byte chunk " + self._why
        if mem is not None:
            p = mem - 16
            csz = self._size(p)
            if self.words[p + 8] & IS_MMAPPED:
                why += "; fresh mmap pages are already zero: no memset"
            else:
                if p == oldtop and csz > oldtopsize:
                    csz = oldtopsize
                why += f"; {csz - SIZE_SZ} bytes cleared (MORECORE_CLEARS spares fresh sbrk memory)"
        why += " (calloc skips the tcache in 2.36)"
        self._event("calloc", (nmemb, size), mem, why)
        return mem

    def realloc(self, mem: int | None, size: int) -> int | None:
        """Resize a block (malloc/malloc.c: ``__libc_realloc``, ``_int_realloc``)."""
        mem = self._check_ptr(mem)
        self._check_arg("size", size)
        args = (mem or None, size)
        self._api = ("realloc", args)
        if size == 0 and mem:
            self.free(mem)
            if self.record_events:
                self.events.pop()
            self._event("realloc", args, None, "realloc(p, 0) frees p and returns NULL")
            return None
        if not mem:
            res = self.malloc(size)
            if self.record_events:
                why = self.events.pop().why
                self._event("realloc", args, res, "realloc(NULL, n) is malloc(n): " + why)
            return res
        p = mem - 16
        if not self._readable(p + 8):
            raise self._segv("realloc", args, p + 8)
        m = self.words
        raw = m.get(p + 8, 0)
        oldsize = raw & ~SIZE_BITS
        mmapped = bool(raw & IS_MMAPPED)
        if not mmapped and self._tcache is None:
            self._tcache_init()
        if oldsize == 0 or p > (1 << 64) - oldsize or p & MALLOC_ALIGN_MASK:
            raise self._abort("realloc", args, "realloc(): invalid pointer")
        if size > PTRDIFF_MAX:
            self.errno = ENOMEM
            self._event("realloc", args, None, "request > PTRDIFF_MAX: NULL, ENOMEM")
            return None
        nb = request2size(size)
        if mmapped:
            offset = m.get(p, 0)
            mem_off = mem & (self.page_size - 1)
            if ((p - offset) | (offset + oldsize)) & (self.page_size - 1) or mem_off & (
                mem_off - 1
            ):
                raise self._abort("realloc", args, "mremap_chunk(): invalid pointer")
            newp = self._mremap_chunk(p, nb)
            if newp is not None:
                self._event("realloc", args, newp + 16, f"realloc → {self._why}")
                return newp + 16
            if oldsize - SIZE_SZ >= nb:
                self._event("realloc", args, mem, "mremap failed; the old mapping is big enough")
                return mem
            newmem = self.malloc(size)
            if self.record_events:
                self.events.pop()
            if newmem is None:
                self._event("realloc", args, None, "mremap and malloc failed: NULL")
                return None
            self._munmap_chunk(p)
            self._event("realloc", args, newmem, "mremap failed: malloc, copy, munmap old")
            return newmem
        newmem = self._int_realloc(p, oldsize, nb, args)
        self._event("realloc", args, newmem, f"realloc({mem:#x}, {size}) → " + self._why)
        return newmem

    def _int_realloc(
        self, oldp: int, oldsize: int, nb: int, args: tuple[int | None, ...]
    ) -> int | None:
        """malloc/malloc.c: ``_int_realloc``: in place if possible, else malloc-copy-free."""
        m = self.words
        raw = m.get(oldp + 8, 0)
        if raw <= CHUNK_HDR_SZ or oldsize >= self.system_mem:
            raise self._abort("realloc", args, "realloc(): invalid old size")
        nxt = oldp + oldsize
        nraw = m.get(nxt + 8, 0)
        nextsize = nraw & ~SIZE_BITS
        if nraw <= CHUNK_HDR_SZ or nextsize >= self.system_mem:
            raise self._abort("realloc", args, "realloc(): invalid next size")
        if oldsize >= nb:
            newp, newsize = oldp, oldsize
            why = "already big enough: kept in place"
        elif nxt == self.top and oldsize + nextsize >= nb + MINSIZE:
            m[oldp + 8] = nb | (raw & SIZE_BITS)
            self.top = oldp + nb
            m[self.top + 8] = (oldsize + nextsize - nb) | PREV_INUSE
            self._why = f"grown in place into top ({nb} bytes)"
            return oldp + 16
        elif (
            nxt != self.top
            and not m.get(nxt + nextsize + 8, 0) & PREV_INUSE
            and oldsize + nextsize >= nb
        ):
            err = self._check_unlink(nxt)
            if err:
                raise self._abort("realloc", args, err)
            newp, newsize = oldp, oldsize + nextsize
            self._unlink(nxt)
            why = f"grown in place into the free {nextsize}-byte chunk after it"
        else:
            err = self._free_check(oldp)
            if err:
                raise self._abort("realloc", args, err)
            newmem = self._int_malloc(nb)
            if newmem is None:
                self._why = "could not allocate a new block: NULL, the old one is kept"
                return None
            newp = newmem - 16
            newsize = self._size(newp)
            if newp == nxt:
                newsize += oldsize
                newp = oldp
                why = "the new chunk came right after the old one: merged, kept in place"
            else:
                got = self._why
                where = self._int_free_apply(oldp)
                self._why = f"moved: new {newsize}-byte chunk {got}; copied; old {where}"
                return newmem
        remainder_size = newsize - nb
        if remainder_size < MINSIZE:
            m[newp + 8] = newsize | (m[newp + 8] & SIZE_BITS)
            m[newp + newsize + 8] |= PREV_INUSE
        else:
            remainder = newp + nb
            m[newp + 8] = nb | (m[newp + 8] & SIZE_BITS)
            m[remainder + 8] = remainder_size | PREV_INUSE
            m[remainder + remainder_size + 8] |= PREV_INUSE
            where = self._int_free(remainder)
            why += f"; the {remainder_size}-byte rest freed: {where}"
        self._why = why
        return newp + 16

    def malloc_usable_size(self, mem: int | None) -> int:
        """Bytes the block can hold (malloc/malloc.c: ``musable``)."""
        mem = self._check_ptr(mem)
        if not mem:
            return 0
        p = mem - 16
        m = self.words
        raw = m.get(p + 8, 0)
        size = raw & ~SIZE_BITS
        if raw & IS_MMAPPED:
            return size - CHUNK_HDR_SZ
        if m.get(p + size + 8, 0) & PREV_INUSE:
            return size - SIZE_SZ
        return 0

    def mallopt(self, param: int, value: int) -> int:
        """Set a malloc parameter (malloc/malloc.c: ``__libc_mallopt``); 1 on success, else 0.

        Always consolidates the fastbins first, as glibc does.
        """
        if type(param) is not int or type(value) is not int:
            raise TypeError("mallopt(param, value) takes two ints (e.g. M_MMAP_THRESHOLD)")
        self._consolidate()
        v = value & SIZE_MAX  # an int passed to a size_t helper
        res = 1
        if param == M_MXFAST:
            res = self._do_set_mxfast(v)
        elif param == M_TRIM_THRESHOLD:
            res = self._do_set_trim_threshold(v)
        elif param == M_TOP_PAD:
            res = self._do_set_top_pad(v)
        elif param == M_MMAP_THRESHOLD:
            res = self._do_set_mmap_threshold(v)
        elif param == M_MMAP_MAX:
            res = self._do_set_mmaps_max(value)
        elif param == M_PERTURB:
            self.perturb_byte = value & 0xFF
        self._event("mallopt", (param, value), res, "fastbins consolidated; parameter set"
                    if res else "value rejected; fastbins consolidated anyway")
        return res

    def malloc_trim(self, pad: int = 0) -> int:
        """Give free memory back (malloc/malloc.c: ``mtrim``): madvise free pages, then systrim."""
        self._check_arg("pad", pad)
        self._api = ("malloc_trim", (pad,))
        self._consolidate()
        ps = self.page_size
        psm1 = ps - 1
        psindex = bin_index(ps)
        madvise = getattr(self.system, "madvise", None)
        advised = 0
        result = 0
        for i in range(1, NBINS):
            if i != 1 and i < psindex:
                continue
            for p in reversed(self._bin_list(i)):
                size = self._size(p)
                if size > psm1 + 48:
                    paligned = (p + 48 + psm1) & ~psm1
                    size -= paligned - p
                    if size > psm1:
                        if madvise is not None:
                            madvise(paligned, size & ~psm1)
                        advised += size & ~psm1
                        result = 1
        released = self._systrim(pad)
        if released:
            result = 1
        self._event(
            "malloc_trim",
            (pad,),
            result,
            f"fastbins consolidated; madvise(MADV_DONTNEED) on {advised} bytes of free chunks; "
            f"systrim gave back {released} bytes",
        )
        return result

    # -- introspection -------------------------------------------------------------------

    def bins(self) -> dict[str, dict[int, list[tuple[int, int]]]]:
        """All bins, like gef/pwndbg ``heap bins``: ``{kind: {index: [(chunk, size), ...]}}``.

        Kinds: ``tcache``, ``fastbins``, ``unsorted`` (index 1), ``small``, ``large``; each
        list runs from the bin's head (the next chunk malloc would take from a LIFO bin, the
        newest in a FIFO bin) to its tail. Addresses are chunk addresses (``mem - 16``).
        Empty bins are left out. Models no glibc function: it reads the state
        ``malloc/malloc.c: do_check_malloc_state`` walks.
        """
        out: dict[str, dict[int, list[tuple[int, int]]]] = {
            "tcache": {},
            "fastbins": {},
            "unsorted": {},
            "small": {},
            "large": {},
        }
        if self._tcache is not None:
            for i, tb in enumerate(self._tcache):
                if tb:
                    out["tcache"][i] = [(e - 16, self._size(e - 16)) for e in reversed(tb)]
        for i, fb in enumerate(self.fastbins):
            if fb:
                out["fastbins"][i] = [(p, self._size(p)) for p in reversed(fb)]
        for i in range(1, NBINS):
            chunks = self._bin_list(i)
            if chunks:
                kind = "unsorted" if i == 1 else "small" if i < NSMALLBINS else "large"
                out[kind][i] = [(p, self._size(p)) for p in chunks]
        return out

    def _bin_labels(self) -> dict[int, str]:
        labels: dict[int, str] = {}
        names = {"tcache": "tcache", "fastbins": "fastbin", "small": "small bin",
                 "large": "large bin"}
        for kind, table in self.bins().items():
            for i, chunks in table.items():
                label = "unsorted" if kind == "unsorted" else f"{names[kind]} {i}"
                for p, _ in chunks:
                    labels[p] = label
        return labels

    def heap_chunks(self) -> list[ChunkInfo]:
        """Walk the heap chunk by chunk (like gef ``heap chunks``), then the mmapped chunks.

        Follows the size fields from the start of each heap segment to its end (the top
        chunk for the current one), as ``malloc/malloc.c: do_check_malloc_state`` does.
        """
        m = self.words
        labels = self._bin_labels()
        out: list[ChunkInfo] = []
        ends = self._segment_ends + [self.top + self.top_size]
        for start, end in zip(self._segments, ends, strict=False):
            p = start
            while p < end:
                raw = m.get(p + 8, 0)
                size = raw & ~SIZE_BITS
                flags = raw & SIZE_BITS
                if p == self.top:
                    out.append(ChunkInfo(p, size, flags, "top"))
                    break
                if size == CHUNK_HDR_SZ or size == 0:
                    out.append(ChunkInfo(p, size, flags, "fencepost"))
                    if size == 0:
                        break
                    p += size
                    continue
                label = labels.get(p)
                if label is not None:
                    out.append(ChunkInfo(p, size, flags, "free", label))
                elif m.get(p + size + 8, 0) & PREV_INUSE:
                    out.append(ChunkInfo(p, size, flags, "in use"))
                else:
                    out.append(ChunkInfo(p, size, flags, "free", "?"))
                p += size
        for base in sorted(self._mmapped):
            raw = m.get(base + 8, 0)
            out.append(ChunkInfo(base, raw & ~SIZE_BITS, raw & SIZE_BITS, "in use"))
        return out

    def mallinfo2(self) -> MallInfo2:
        """Allocator statistics (malloc/malloc.c: ``int_mallinfo`` via ``__libc_mallinfo2``).

        Chunks in the tcache count as in use, as in glibc.
        """
        avail = self.top_size
        nblocks = 1
        nfast = 0
        fastavail = 0
        for fb in self.fastbins:
            for p in fb:
                nfast += 1
                fastavail += self._size(p)
        avail += fastavail
        for i in range(1, NBINS):
            for p in self._bin_list(i):
                nblocks += 1
                avail += self._size(p)
        return MallInfo2(
            arena=self.system_mem,
            ordblks=nblocks,
            smblks=nfast,
            hblks=self.n_mmaps,
            hblkhd=self.mmapped_mem,
            usmblks=0,
            fsmblks=fastavail,
            uordblks=self.system_mem - avail,
            fordblks=avail,
            keepcost=self.top_size,
        )

    @property
    def heap_start(self) -> int:
        """Where the first heap chunk (the tcache struct) starts (``mp_.sbrk_base`` aligned)."""
        return self._segments[0] if self._segments else 0

    def format_bins(self) -> str:
        """``bins()`` as text, like pwndbg's ``bins`` (reads the bins of malloc/malloc.c)."""
        lines = []
        for kind, table in self.bins().items():
            if not table:
                lines.append(f"{kind}: empty")
                continue
            for i, chunks in table.items():
                chain = " → ".join(f"{p:#x}" for p, _ in chunks)
                lines.append(f"{kind}[{i}] ({chunks[0][1]:#x}, {len(chunks)}): {chain}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<GlibcMalloc top={self.top:#x} ({self.top_size} bytes) system_mem="
            f"{self.system_mem} mmapped={self.n_mmaps} events={len(self.events)}>"
        )
