"""Unit tests for the glibc 2.36 malloc model: one rule per test, every error path."""

from __future__ import annotations

import pytest

from kmemlab.user.fake_system import FakeSystem
from kmemlab.user.malloc import (
    IS_MMAPPED,
    M_MMAP_MAX,
    M_MMAP_THRESHOLD,
    M_MXFAST,
    M_TRIM_THRESHOLD,
    PREV_INUSE,
    TCACHE_KEY,
    Event,
    GlibcMalloc,
    MallocAbort,
    MallocSegfault,
    bin_index,
    csize2tidx,
    fastbin_index,
    largebin_index_64,
    parse_tunables,
    request2size,
    set_max_fast,
    smallbin_index,
    tidx2usize,
)

NO_TCACHE = "glibc.malloc.tcache_count=0"


def snapshot(a: GlibcMalloc) -> tuple:
    """Everything the model holds, to check that a failing call changed nothing."""
    return (
        dict(a.words),
        [list(b) for b in a._tcache or []],
        [list(f) for f in a.fastbins],
        a.top,
        a.last_remainder,
        list(a.binmap),
        a.system_mem,
        dict(a._mmapped),
        a.n_mmaps,
        a.mmapped_mem,
        a.mmap_threshold,
        a.trim_threshold,
        a.have_fastchunks,
        a.system.brk,
        a.system.mappings(),
    )


def guarded(a: GlibcMalloc, size: int, n: int) -> list[int]:
    """n blocks of ``size``, each followed by a small in-use guard (no merging on free)."""
    out = []
    for _ in range(n):
        out.append(a.malloc(size))
        a.malloc(8)
    return out


# -- arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("req", "chunk"),
    [(0, 32), (1, 32), (24, 32), (25, 48), (40, 48), (41, 64), (120, 128), (1032, 1040),
     (1033, 1056)],
)
def test_request2size(req: int, chunk: int) -> None:
    assert request2size(req) == chunk


def test_tcache_indexes() -> None:
    assert csize2tidx(32) == 0
    assert csize2tidx(48) == 1
    assert csize2tidx(1040) == 63
    assert tidx2usize(63) == 1032
    assert tidx2usize(0) == 24


def test_bin_indexes() -> None:
    assert fastbin_index(32) == 0
    assert fastbin_index(128) == 6
    assert smallbin_index(32) == 2
    assert smallbin_index(1008) == 63
    assert bin_index(1008) == 63
    assert largebin_index_64(1024) == 64
    assert largebin_index_64(3071) == 95  # (3071 >> 6) = 47
    assert largebin_index_64(3072) == 96  # 48 + 48
    assert largebin_index_64(3136) == 97  # >> 9 = 6 -> 91 + 6
    assert largebin_index_64(10752) == 112  # >> 12 = 2
    assert largebin_index_64(1 << 20) == 126
    assert set_max_fast(128) == 128
    assert set_max_fast(0) == 16
    assert set_max_fast(160) == 160


def test_parse_tunables() -> None:
    t = parse_tunables(
        "glibc.malloc.tcache_count=0:glibc.malloc.mmap_threshold=0x10000:"
        "glibc.elision.enable=1:glibc.malloc.bogus=3:glibc.malloc.top_pad=abc"
    )
    assert t == {"tcache_count": 0, "mmap_threshold": 65536}


# -- first call, tcache ----------------------------------------------------------------


def test_first_malloc_allocates_tcache_struct_from_heap() -> None:
    a = GlibcMalloc()
    p = a.malloc(24)
    assert a.heap_start == FakeSystem().brk_start
    assert p - a.heap_start == 0x2A0  # after the 0x290-byte tcache_perthread_struct
    chunks = a.heap_chunks()
    assert (chunks[0].addr, chunks[0].size, chunks[0].state) == (a.heap_start, 0x290, "in use")
    assert a.system.syscalls[0].args == (a.heap_start + 0x21000,)  # brk grew by 0x21000
    assert a.malloc_usable_size(p) == 24
    assert "tcache_perthread_struct" in a.events[-1].why


def test_tcache_struct_allocated_even_with_tcache_off() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    assert a.malloc(1) - a.heap_start == 0x2A0


def test_first_free_also_initialises_tcache() -> None:
    a = GlibcMalloc()
    a.free(None)
    assert a._tcache is None  # free(NULL) returns before MAYBE_INIT_TCACHE
    assert a.events[-1] == Event("free", (None,), None, "free(NULL) does nothing")


def test_tcache_is_lifo_and_holds_seven() -> None:
    a = GlibcMalloc()
    ps = guarded(a, 24, 9)
    for p in ps:
        a.free(p)
    assert [c + 16 for c, _ in a.bins()["tcache"][0]] == ps[6::-1]
    assert [c + 16 for c, _ in a.bins()["fastbins"][0]] == [ps[8], ps[7]]
    assert a.malloc(24) == ps[6]
    assert a.events[-1].why == (
        "malloc(24) → 32-byte chunk from tcache bin 0, LIFO: the chunk freed last"
    )


def test_tcache_key_written_and_cleared() -> None:
    a = GlibcMalloc()
    p = a.malloc(40)
    a.free(p)
    assert a.words[p + 8] == TCACHE_KEY
    assert a.words[p] == p >> 12  # PROTECT_PTR(&e->next, NULL)
    assert a.malloc(40) == p
    assert a.words[p + 8] == 0


def test_fastbin_refills_tcache_in_reverse_order() -> None:
    a = GlibcMalloc()
    ps = guarded(a, 40, 10)
    for p in ps:
        a.free(p)  # 7 into tcache, 3 into fastbin 1
    for _ in range(7):
        a.malloc(40)
    q = a.malloc(40)  # from the fastbin head; the other two move into the tcache
    assert q == ps[9]
    assert "fastbin 1" in a.events[-1].why and "2 more" in a.events[-1].why
    assert [c + 16 for c, _ in a.bins()["tcache"][1]] == [ps[7], ps[8]]


def test_tcache_count_zero_uses_fastbins() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    p = a.malloc(100)
    a.malloc(8)
    a.free(p)
    assert a.bins()["fastbins"] == {5: [(p - 16, 112)]}
    assert a.malloc(100) == p


def test_tcache_max_tunable() -> None:
    a = GlibcMalloc(tunables="glibc.malloc.tcache_max=100")
    assert a.tcache_bins == csize2tidx(request2size(100)) + 1
    p = a.malloc(200)
    a.malloc(8)
    a.free(p)
    assert a.bins()["tcache"] == {}
    assert 1 in a.bins()["unsorted"]


# -- bins --------------------------------------------------------------------------------


def test_unsorted_then_small_bin_fifo() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    ps = guarded(a, 200, 3)
    for p in ps:
        a.free(p)
    assert [c + 16 for c, _ in a.bins()["unsorted"][1]] == ps[::-1]
    a.malloc(300)  # no fit: the unsorted chunks are sorted into small bin 13
    assert [c + 16 for c, _ in a.bins()["small"][13]] == ps[::-1]
    assert a.binmap[0] & (1 << 13)
    assert a.malloc(200) == ps[0]  # small bins are FIFO: the oldest first
    assert "small bin 13" in a.events[-1].why


def test_unsorted_exact_fit() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    p = a.malloc(2000)
    a.malloc(8)
    a.free(p)
    assert a.malloc(2000) == p
    assert "exact fit" in a.events[-1].why


def test_large_bin_sorted_and_best_fit() -> None:
    a = GlibcMalloc()
    ps = guarded(a, 1500, 1) + guarded(a, 1600, 1) + guarded(a, 1550, 1)
    for p in ps:
        a.free(p)
    a.malloc(5000)  # sorts them into large bins
    large = a.bins()["large"]
    assert large == {
        bin_index(1520): [(ps[0] - 16, 1520)],
        bin_index(1568): [(ps[2] - 16, 1568)],
        bin_index(1616): [(ps[1] - 16, 1616)],
    }
    q = a.malloc(1540)  # best fit: the 1568-byte chunk, exhausted (rest < MINSIZE)
    assert q == ps[2]
    assert "best fit" in a.events[-1].why


def test_large_bin_keeps_sizes_in_decreasing_order() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    sizes = [3200, 3400, 3300, 3400, 3250]  # all in large bin 97
    ps = [p for s in sizes for p in guarded(a, s, 1)]
    for p in ps:
        a.free(p)
    a.malloc(10000)
    (chunks,) = a.bins()["large"].values()
    got = [s for _, s in chunks]
    assert got == sorted(got, reverse=True)
    # equal sizes: the newcomer goes in second position
    firsts = [c for c, s in chunks if s == request2size(3400)]
    assert firsts == [ps[1] - 16, ps[3] - 16]


def test_binmap_split_and_last_remainder() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    (p,) = guarded(a, 2000, 1)
    a.free(p)
    q = a.malloc(100)  # unsorted -> large bin, then binmap finds it and splits it
    assert q == p
    assert "binmap" in a.events[-1].why
    assert a.last_remainder == p - 16 + 112
    r = a.malloc(100)  # the last remainder is the only unsorted chunk: split again
    assert r == q + 112
    assert "last remainder" in a.events[-1].why


def test_free_merges_neighbours_and_into_top() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    x, y, z = a.malloc(2000), a.malloc(2000), a.malloc(2000)
    a.malloc(8)
    a.free(x)
    a.free(z)
    a.free(y)  # merges with both
    (chunks,) = a.bins()["unsorted"].values()
    assert chunks == [(x - 16, 3 * 2016)]
    assert "before and the free" in a.events[-1].why
    b = GlibcMalloc(tunables=NO_TCACHE)
    x = b.malloc(2000)
    top_before = b.top
    b.free(x)
    assert b.top == x - 16 and b.top < top_before
    assert "merged into top" in b.events[-1].why


def test_malloc_consolidate_on_large_request() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    ps = [a.malloc(60) for _ in range(4)]
    a.malloc(8)
    for p in ps:
        a.free(p)
    assert a.have_fastchunks and len(a.bins()["fastbins"][3]) == 4
    a.malloc(2000)
    assert a.bins()["fastbins"] == {}
    assert "consolidated" in a.events[-1].why
    assert a.malloc(200) == ps[0]  # the four merged into one 320-byte chunk


# -- top, sbrk, trim, mmap ------------------------------------------------------------------


def test_top_grows_by_sbrk_with_top_pad() -> None:
    a = GlibcMalloc()
    a.malloc(100_000)
    brk_after_first = a.system.brk
    a.malloc(100_000)  # top too small: sbrk(nb + top_pad + MINSIZE - old top), page rounded
    assert a.system.brk > brk_after_first
    grow = a.system.brk - brk_after_first
    assert grow % 4096 == 0
    assert "sbrk" in a.events[-1].why


def test_systrim_on_free() -> None:
    a = GlibcMalloc()
    ps = [a.malloc(100_000) for _ in range(4)]
    brk = a.system.brk
    for p in reversed(ps):
        a.free(p)
    assert a.system.brk < brk
    assert a.top_size <= 128 * 1024 + 4096 + 32
    assert any("systrim" in e.why for e in a.events)


def test_mmap_threshold_and_dynamic_raise() -> None:
    a = GlibcMalloc()
    p = a.malloc(200_000)
    assert a.words[p - 8] & IS_MMAPPED
    assert a.malloc_usable_size(p) == 200704 - 16
    assert a.mallinfo2().hblks == 1
    a.free(p)
    assert a.mmap_threshold == 200704
    assert a.trim_threshold == 2 * 200704
    assert "dynamic threshold" in a.events[-1].why
    q = a.malloc(200_000)
    assert not a.words[q - 8] & IS_MMAPPED


def test_request_at_threshold_served_from_top_if_it_fits() -> None:
    a = GlibcMalloc()
    a.malloc(24)
    p = a.malloc(131049)  # nb = 131072 >= threshold, but only sysmalloc may mmap
    assert not a.words[p - 8] & IS_MMAPPED  # top (0x21000 - 0x2b0) was big enough
    q = a.malloc(131049)
    assert a.words[q - 8] & IS_MMAPPED  # now it is not


def test_mallopt_disables_dynamic_threshold() -> None:
    a = GlibcMalloc()
    assert a.mallopt(M_MMAP_THRESHOLD, 65536) == 1
    a.malloc(70_000)  # from top
    p = a.malloc(70_000)
    assert a.words[p - 8] & IS_MMAPPED
    a.free(p)
    assert a.mmap_threshold == 65536


def test_mallopt_values() -> None:
    a = GlibcMalloc()
    assert a.mallopt(M_MXFAST, 161) == 0
    assert a.mallopt(M_MXFAST, 0) == 1 and a.global_max_fast == 16
    assert a.mallopt(M_TRIM_THRESHOLD, 4096) == 1 and a.no_dyn_threshold
    assert a.mallopt(M_MMAP_MAX, 0) == 1
    p = a.malloc(300_000)
    assert not a.words[p - 8] & IS_MMAPPED  # M_MMAP_MAX = 0: never mmap
    with pytest.raises(TypeError):
        a.mallopt("M_MXFAST", 1)  # type: ignore[arg-type]


def test_mmap_failure_falls_back_to_heap_and_out_of_memory() -> None:
    a = GlibcMalloc(FakeSystem(mmap_limit=0, brk_limit=1 << 20))
    p = a.malloc(200_000)
    assert p is not None and not a.words[p - 8] & IS_MMAPPED
    assert a.malloc(2 << 20) is None
    assert a.errno == 12
    assert "out of memory" in a.events[-1].why


def test_sbrk_failure_uses_mmap_as_morecore() -> None:
    a = GlibcMalloc(FakeSystem(brk_limit=0x21000))
    a.malloc(100_000)
    p = a.malloc(100_000)  # sbrk fails: a 1 MiB mapping becomes the new top
    assert p is not None
    assert not a.contiguous
    states = [c.state for c in a.heap_chunks()]
    assert "fencepost" in states and states.count("top") == 1


def test_foreign_sbrk_fences_old_top() -> None:
    a = GlibcMalloc()
    a.malloc(100_000)
    a.system.sbrk(4096)  # someone else moves the break
    a.malloc(100_000)
    fence = [c for c in a.heap_chunks() if c.state == "fencepost"]
    assert len(fence) == 2 and all(c.size == 16 for c in fence)
    assert a.mallinfo2().arena == a.system_mem


def test_malloc_trim() -> None:
    fs = FakeSystem()
    a = GlibcMalloc(fs)
    ps = guarded(a, 20_000, 3)
    a.free(ps[0])
    a.free(ps[1])
    assert a.malloc_trim(0) == 1
    assert fs.madvised_bytes > 0


def test_huge_and_bad_requests() -> None:
    a = GlibcMalloc()
    assert a.malloc(2**63) is None and a.errno == 12
    assert a.calloc(2**32, 2**32) is None
    with pytest.raises(ValueError):
        a.malloc(-1)
    with pytest.raises(TypeError):
        a.malloc(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a.free("0x10")  # type: ignore[arg-type]


# -- calloc, realloc -----------------------------------------------------------------------


def test_calloc_skips_tcache() -> None:
    a = GlibcMalloc()
    p = a.malloc(24)
    a.malloc(8)
    a.free(p)
    q = a.calloc(3, 8)
    assert q != p
    assert a.bins()["tcache"][0] == [(p - 16, 32)]
    assert "cleared" in a.events[-1].why


def test_realloc_paths() -> None:
    a = GlibcMalloc()
    p = a.malloc(100)
    assert a.realloc(p, 1000) == p  # grows into top
    assert "into top" in a.events[-1].why
    assert a.realloc(p, 50) == p  # shrink: the rest is freed (to the tcache)
    assert "rest freed" in a.events[-1].why
    a.malloc(10)
    q = a.realloc(p, 3000)  # blocked: moves
    assert q != p and "moved" in a.events[-1].why
    assert a.realloc(None, 10) is not None
    assert a.realloc(q, 0) is None
    assert "frees" in a.events[-1].why


def test_realloc_into_next_free_chunk() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    x, y = a.malloc(3000), a.malloc(3000)
    a.malloc(8)
    a.free(y)
    assert a.realloc(x, 5000) == x
    assert "into the free" in a.events[-1].why


def test_realloc_mmapped_uses_mremap() -> None:
    a = GlibcMalloc()
    p = a.malloc(300_000)
    q = a.realloc(p, 600_000)
    assert a.words[q - 8] & IS_MMAPPED
    assert a.malloc_usable_size(q) == 600_000 + 8 - (600_000 + 8) % 4096 + 4096 - 16
    assert "mremap" in a.events[-1].why
    assert a.mallinfo2().hblkhd == a.mmapped_mem


# -- introspection -------------------------------------------------------------------------


def test_mallinfo2_counts_tcache_as_used() -> None:
    a = GlibcMalloc()
    p = a.malloc(24)
    a.free(p)
    mi = a.mallinfo2()
    assert mi.arena == 0x21000
    assert mi.ordblks == 1 and mi.smblks == 0
    assert mi.uordblks == 0x290 + 32
    assert mi.fordblks == mi.keepcost == a.top_size
    assert mi.usmblks == 0


def test_heap_chunks_tile_the_heap() -> None:
    a = GlibcMalloc()
    ps = guarded(a, 500, 3)
    a.free(ps[1])
    chunks = a.heap_chunks()
    for c, d in zip(chunks, chunks[1:], strict=False):
        assert c.end == d.addr
    assert chunks[-1].state == "top"
    assert [c.bin for c in chunks if c.state == "free"] == ["tcache 30"]
    assert chunks[1].prev_inuse and chunks[1].flags & PREV_INUSE
    assert "tcache[30]" in a.format_bins()


def test_events_record_calls() -> None:
    a = GlibcMalloc()
    p = a.malloc(10)
    a.free(p)
    assert [(e.call, e.args, e.result) for e in a.events] == [
        ("malloc", (10,), p),
        ("free", (p,), None),
    ]
    b = GlibcMalloc(record_events=False)
    b.free(b.malloc(10))
    assert b.events == []


# -- errors: glibc's messages, state unchanged -----------------------------------------------


def expect_abort(a: GlibcMalloc, call, *args, message: str) -> MallocAbort:
    before = snapshot(a)
    with pytest.raises(MallocAbort) as info:
        call(*args)
    assert info.value.message == message
    assert info.value.signal == "SIGABRT"
    assert a.stderr[-1] == message
    assert snapshot(a) == before
    return info.value


def test_double_free_in_tcache() -> None:
    a = GlibcMalloc()
    p = a.malloc(24)
    a.free(p)
    expect_abort(a, a.free, p, message="free(): double free detected in tcache 2")
    assert a.events[-1].why.endswith("SIGABRT")


def test_double_free_fasttop() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    p = a.malloc(24)
    a.free(p)
    expect_abort(a, a.free, p, message="double free or corruption (fasttop)")


def test_double_free_fasttop_with_full_tcache() -> None:
    a = GlibcMalloc()
    ps = [a.malloc(24) for _ in range(8)]
    for p in ps:
        a.free(p)
    # ps[7] went to the fastbin (tcache bin full): only the fastbin's head check catches it
    expect_abort(a, a.free, ps[7], message="double free or corruption (fasttop)")
    # glibc's fastbin check only looks at the head: A, B, A passes
    b = GlibcMalloc(tunables=NO_TCACHE)
    x, y = b.malloc(24), b.malloc(24)
    b.free(x)
    b.free(y)
    b.free(x)
    assert b.malloc(24) == x and b.malloc(24) == y and b.malloc(24) == x


def test_double_free_not_prev() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    p = a.malloc(200)
    a.malloc(8)
    a.free(p)
    expect_abort(a, a.free, p, message="double free or corruption (!prev)")


def test_double_free_of_merged_chunk_uses_stale_header() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    x, y = a.malloc(200), a.malloc(200)
    a.malloc(8)
    a.free(x)
    a.free(y)  # merged into x's chunk; y's header stays in memory
    expect_abort(a, a.free, y, message="double free or corruption (!prev)")


def test_double_free_top() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    p = a.malloc(2000)
    a.free(p)  # merged into top: p's chunk *is* top now
    expect_abort(a, a.free, p, message="double free or corruption (top)")


def test_invalid_pointer() -> None:
    a = GlibcMalloc()
    p = a.malloc(100)
    expect_abort(a, a.free, p + 8, message="free(): invalid pointer")  # misaligned
    expect_abort(a, a.free, p + 32, message="free(): invalid pointer")  # header reads 0


def test_double_free_out() -> None:
    a = GlibcMalloc()
    p = a.malloc(24)
    a.free(p)
    # p + 16 as a pointer: its "size" is the tcache key, so the next chunk is past the heap
    expect_abort(a, a.free, p + 16, message="double free or corruption (out)")


def test_invalid_size() -> None:
    a = GlibcMalloc()
    p = a.malloc(100)
    a.words[p - 8] = 24 | PREV_INUSE  # an overflow from the previous block
    expect_abort(a, a.free, p, message="free(): invalid size")


def test_invalid_next_size() -> None:
    a = GlibcMalloc(tunables=NO_TCACHE)
    p = a.malloc(24)
    a.malloc(8)
    a.words[p - 16 + 32 + 8] = 8  # clobber the next chunk's size word
    expect_abort(a, a.free, p, message="free(): invalid next size (fast)")
    q = a.malloc(200)
    a.malloc(8)
    a.words[q - 16 + 208 + 8] = 1  # next chunk's size word: PREV_INUSE only
    expect_abort(a, a.free, q, message="free(): invalid next size (normal)")


def test_munmap_chunk_invalid_pointer() -> None:
    a = GlibcMalloc()
    p = a.malloc(300_000)
    a.words[p - 16] = 16  # prev_size: the block would not be page aligned
    expect_abort(a, a.free, p, message="munmap_chunk(): invalid pointer")
    expect_abort(a, a.realloc, p, 400_000, message="mremap_chunk(): invalid pointer")


def test_realloc_errors() -> None:
    a = GlibcMalloc()
    p = a.malloc(100)
    expect_abort(a, a.realloc, p + 8, 10, message="realloc(): invalid pointer")
    a.words[p - 8] = 8
    expect_abort(a, a.realloc, p, 10, message="realloc(): invalid old size")
    a.words[p - 8] = 112 | PREV_INUSE
    a.words[p - 16 + 112 + 8] = 4
    expect_abort(a, a.realloc, p, 10, message="realloc(): invalid next size")


def test_realloc_of_freed_tcache_chunk_that_must_move() -> None:
    a = GlibcMalloc()
    p = a.malloc(100)
    a.malloc(8)
    a.free(p)
    expect_abort(a, a.realloc, p, 5000, message="free(): double free detected in tcache 2")


def test_too_many_chunks_in_tcache() -> None:
    a = GlibcMalloc()
    ps = [a.malloc(24) for _ in range(8)]
    for p in ps[:7]:
        a.free(p)
    a.words[ps[7] + 8] = TCACHE_KEY  # the program left a copy of the key in its data
    a.tcache_count = 3  # so the walk goes past tcache_count
    expect_abort(a, a.free, ps[7], message="free(): too many chunks detected in tcache")


def test_free_of_unmapped_address_segfaults() -> None:
    a = GlibcMalloc()
    a.malloc(10)
    before = snapshot(a)
    with pytest.raises(MallocSegfault) as info:
        a.free(0x1000)
    assert info.value.signal == "SIGSEGV"
    assert isinstance(info.value, MallocAbort)
    assert snapshot(a) == before
    freed = a.malloc(300_000)
    a.free(freed)
    with pytest.raises(MallocSegfault):
        a.free(freed)  # the mapping is gone


def test_model_keeps_working_after_abort() -> None:
    a = GlibcMalloc()
    p = a.malloc(24)
    a.free(p)
    with pytest.raises(MallocAbort):
        a.free(p)
    assert a.malloc(24) == p
