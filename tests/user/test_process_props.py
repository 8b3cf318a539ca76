"""Property test: random malloc/free/touch/mmap/munmap keep the address space consistent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kmemlab as km
from kmemlab.user.process import VM_ACCOUNT

PAGE = 4096
SIZES = st.one_of(st.integers(0, 1100), st.integers(1100, 70_000),
                  st.integers(100_000, 600_000))
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("malloc"), SIZES),
        st.tuples(st.just("free"), st.integers(0, 1000)),
        st.tuples(st.just("touch"), st.tuples(st.integers(0, 1000), st.integers(1, 20_000),
                                              st.booleans())),
        st.tuples(st.just("mmap"), st.integers(1, 64)),
        st.tuples(st.just("munmap"), st.tuples(st.integers(0, 1000), st.integers(0, 8),
                                               st.integers(1, 8))),
        st.tuples(st.just("trim"), st.just(0)),
    ),
    max_size=60,
)

_K = km.Kernel(version="6.12", ram="512M")


def check(k, p) -> None:
    vmas = p.vmas
    for a, b in zip(vmas, vmas[1:], strict=False):
        assert a.start < a.end <= b.start  # sorted and disjoint
    for vpn in p._anon:
        v = p.find_vma(vpn << 12)
        assert v is not None and v.anon or v.file, hex(vpn << 12)
    for vpn in p._zero:
        assert p.find_vma(vpn << 12) is not None
    assert not set(p._anon) & p._zero
    tag = f"{p.comm}[{p.pid}]"
    anon = sum(1 for pg in k.page_alloc.allocated.values()
               if pg.owner == "anon" and pg.detail == tag)
    assert anon == p.rss_pages
    accounted = sum(v.nr_pages for v in vmas if v.flags & VM_ACCOUNT)
    assert p.committed_pages == accounted
    heap = p.find_vma(p.start_brk)
    if p.brk() > p.start_brk:
        assert heap is not None and heap.start == p.start_brk
        assert heap.end == (p.brk() + PAGE - 1) & ~(PAGE - 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_random_process_operations(ops):
    k = _K
    free0 = k.nr_free_pages(include_pcp=True)
    committed0 = k.committed_as_pages
    p = k.spawn("prop")
    live: list[tuple[int, int]] = []  # malloc'd blocks (ptr, size)
    maps: list[tuple[int, int]] = []  # our own mappings (addr, pages)
    for op, arg in ops:
        if op == "malloc":
            ptr = p.malloc(arg)
            if ptr is not None:
                live.append((ptr, arg))
        elif op == "free" and live:
            ptr, _ = live.pop(arg % len(live))
            p.free(ptr)
        elif op == "touch" and live:
            ptr, size = live[arg[0] % len(live)]
            if size:
                p.touch(ptr, min(size, arg[1]), write=arg[2])
        elif op == "mmap":
            a = p.mmap(arg * PAGE)
            assert a is not None
            maps.append((a, arg))
            p.touch(a, arg * PAGE // 2)
        elif op == "munmap" and maps:
            a, n = maps.pop(arg[0] % len(maps))
            p.munmap(a, n * PAGE)
        elif op == "trim":
            p.malloc_trim(0)
        check(k, p)
        for ptr, _ in live:
            assert p.find_vma(ptr) is not None
    p.exit()
    assert k.nr_free_pages(include_pcp=True) == free0
    assert k.committed_as_pages == committed0
