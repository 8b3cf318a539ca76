"""First fit over the vmalloc space: the merged extents the search walks must give
the address a walk over every occupied range gives (alloc_vmap_area: the lowest
aligned hole that fits)."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

import kmemlab as km
from kmemlab.vmalloc import VmallocState

PAGE = 4096


def first_fit_by_every_range(ranges, size, align, vstart, vend):
    """The specification: walk the sorted occupied ranges one by one."""
    addr = -(-vstart // align) * align
    for s, e in sorted(ranges):
        if e <= addr:
            continue
        if addr + size <= s:
            break
        addr = max(addr, -(-e // align) * align)
    return addr if addr + size <= vend else None


def check(state, ranges, vstart, vend):
    xs, xe = state._ext_starts, state._ext_ends
    assert xs == sorted(xe)
    for a, b in zip(xs, xs[1:]):
        assert xe[a] < b, "touching or overlapping extents were not merged"
    covered = sum(xe[a] - a for a in xs)
    assert covered == sum(e - s for s, e in ranges)
    for size in (PAGE, 2 * PAGE, 5 * PAGE, 64 * PAGE):
        for align in (PAGE, 4 * PAGE, 16 * PAGE):
            assert state.find_first_fit(size, align, vstart, vend) == \
                first_fit_by_every_range(ranges, size, align, vstart, vend)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 6), st.integers(0, 10**6)),
                max_size=60))
def test_extents_give_the_same_first_fit_as_every_range(ops):
    k = km.Kernel(ram="256M")
    state = VmallocState(k)
    vstart, vend = 0x100000, 0x100000 + 512 * PAGE
    ranges = []
    for occupy, pages, pick in ops:
        if occupy or not ranges:
            size = pages * PAGE
            addr = first_fit_by_every_range(ranges, size, PAGE, vstart, vend)
            if addr is None:
                continue
            state._occupy(addr, addr + size)
            ranges.append((addr, addr + size))
        else:
            s, e = ranges.pop(pick % len(ranges))
            state._release(s)
        check(state, ranges, vstart, vend)


def test_many_lazy_small_areas_still_place_first_fit():
    """Thousands of small vfree'd areas wait for a purge back to back; the next
    vmalloc still lands in the lowest hole, past all of them."""
    k = km.Kernel(version="6.12", ram="1G", cpus=2)
    k.vmalloc_state.record_steps = False
    first = k.vmalloc(8192)
    k.vfree(first)
    addrs = []
    for _ in range(2000):
        a = k.vmalloc(8192)
        addrs.append(a)
        k.vfree(a)
    st_ = k.vmalloc_state
    assert len(st_.lazy) > 1000                      # still unpurged
    assert len(st_._ext_starts) < 10                 # but merged into few extents
    assert addrs == sorted(addrs) and addrs[1] - addrs[0] == 3 * PAGE  # 2 pages + guard
    rng = random.Random(7)
    ranges = [(s, st_._ends[s]) for s in st_._starts]
    lay = k.layout
    for _ in range(20):
        size = rng.choice([1, 3, 17]) * PAGE
        assert st_.find_first_fit(size, PAGE, lay.VMALLOC_START, lay.VMALLOC_END) == \
            first_fit_by_every_range(ranges, size, PAGE, lay.VMALLOC_START, lay.VMALLOC_END)
