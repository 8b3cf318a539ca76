"""Property tests: random malloc/free/realloc sequences keep the heap well formed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmemlab.user.malloc import (
    M_MXFAST,
    NSMALLBINS,
    PREV_INUSE,
    SIZE_BITS,
    GlibcMalloc,
    bin_index,
    csize2tidx,
    fastbin_index,
)

SIZES = st.one_of(
    st.integers(0, 128),
    st.integers(129, 1100),
    st.integers(1100, 70_000),
    st.integers(100_000, 300_000),
)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("malloc"), SIZES),
        st.tuples(st.just("calloc"), SIZES),
        st.tuples(st.just("free"), st.integers(0, 1000)),
        st.tuples(st.just("realloc"), st.tuples(st.integers(0, 1000), SIZES)),
    ),
    max_size=120,
)
TUNABLES = st.sampled_from(
    ["", "glibc.malloc.tcache_count=0", "glibc.malloc.tcache_count=1:glibc.malloc.mxfast=0"]
)


def check_heap(a: GlibcMalloc, live: dict[int, int]) -> None:
    """The invariants malloc/malloc.c: do_check_malloc_state asserts, and a few more."""
    m = a.words
    chunks = a.heap_chunks()
    heap = [c for c in chunks if not c.is_mmapped]
    if not a.heap_start:  # nothing asked for yet
        assert chunks == [] and not live
        return
    # chunks tile each segment, the last one is top
    assert heap[-1].state == "top" and heap[-1].addr == a.top
    for c, d in zip(heap, heap[1:], strict=False):
        assert c.end == d.addr or c.state == "fencepost"
    assert heap[0].addr == a.heap_start and heap[0].size == 0x290
    by_addr = {c.addr: c for c in chunks}
    # every live block is an in-use chunk big enough; blocks are disjoint
    spans = []
    for mem, want in live.items():
        c = by_addr[mem - 16]
        assert c.state == "in use"
        assert a.malloc_usable_size(mem) >= want
        spans.append((c.addr, c.end))
    spans.sort()
    for (_, e), (s, _) in zip(spans, spans[1:], strict=False):
        assert e <= s
    in_use = {c.addr for c in chunks if c.state == "in use"} - {a.heap_start}
    assert in_use == {mem - 16 for mem in live}
    # bins hold the right sizes
    bins = a.bins()
    for i, lst in bins["tcache"].items():
        assert len(lst) <= a.tcache_count
        assert all(csize2tidx(s) == i for _, s in lst)
    for i, lst in bins["fastbins"].items():
        assert all(fastbin_index(s) == i and s <= a.global_max_fast for _, s in lst)
    for kind in ("unsorted", "small", "large"):
        for i, lst in bins[kind].items():
            for p, s in lst:
                nxt = m.get(p + s + 8, 0)
                assert not nxt & PREV_INUSE  # a binned chunk is free for its neighbours
                assert m.get(p + s) == s  # footer
                assert m.get(p + 8, 0) & PREV_INUSE  # two free chunks never touch
                if kind != "unsorted":
                    assert bin_index(s) == i
                    assert a.binmap[i >> 5] & (1 << (i & 31))
            if kind == "large":
                sizes = [s for _, s in lst]
                assert sizes == sorted(sizes, reverse=True)
            if kind == "small":
                assert i < NSMALLBINS
    mi = a.mallinfo2()
    assert mi.uordblks + mi.fordblks == mi.arena == a.system_mem
    assert mi.hblks == len(a._mmapped) == a.n_mmaps
    assert a.top_size >= 32 and m[a.top + 8] & SIZE_BITS == PREV_INUSE


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, tunables=TUNABLES)
def test_random_sequences_keep_heap_consistent(ops: list, tunables: str) -> None:
    a = GlibcMalloc(tunables=tunables, record_events=False)
    live: dict[int, int] = {}
    for op, arg in ops:
        if op == "malloc":
            p = a.malloc(arg)
            assert p is not None
            live[p] = arg
        elif op == "calloc":
            p = a.calloc(1, arg)
            assert p is not None
            live[p] = arg
        elif live:
            keys = sorted(live)
            if op == "free":
                p = keys[arg % len(keys)]
                del live[p]
                a.free(p)
            else:
                idx, size = arg
                p = keys[idx % len(keys)]
                del live[p]
                q = a.realloc(p, size)
                if size:
                    assert q is not None
                    live[q] = size
        check_heap(a, live)
    # free everything: only the tcache struct, cached/binned free chunks and top remain
    for p in sorted(live):
        a.free(p)
    live.clear()
    check_heap(a, live)
    assert a.n_mmaps == 0 and a.mmapped_mem == 0
    a.mallopt(M_MXFAST, 128)  # mallopt consolidates the fastbins first
    check_heap(a, live)
    chunks = a.heap_chunks()
    assert a.bins()["fastbins"] == {}
    if a.tcache_count == 0:
        # nothing is cached, so everything merged back into top
        assert [c.state for c in chunks] in ([], ["in use", "top"])
    else:
        # the tcache keeps its chunks (they look in use to their neighbours), so free
        # chunks may remain between them; all of them are in a bin
        assert all(c.bin for c in chunks if c.state == "free")
        assert all(c.state != "in use" for c in chunks[1:])
