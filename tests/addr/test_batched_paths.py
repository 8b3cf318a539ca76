"""The batched page loops (vfree's __free_page loop, 3.15's alloc_page loop, 6.x's
bulk allocator) must leave exactly what the page-by-page calls leave: the same
free lists, per-CPU lists and counters, the same events with the same whys and
timestamps, the same bug reports. Each test forks one kernel with snapshot() and
runs the per-page calls on one copy and the batched call on the other.
"""

import pytest

import kmemlab as km
from kmemlab.errors import KernelBug

PROFILES = list(km.PROFILES)   # every profile (kmemlab/profiles.py)
PCP_FIELDS = ("count", "high", "batch", "high_min", "high_max", "free_count", "alloc_factor",
              "free_factor", "prev_free_high_order")


def everything(k):
    """All the allocator state a batched loop could touch, and the readable events."""
    pa = k.page_alloc
    pcp = [[tuple(getattr(p, f) for f in PCP_FIELDS) + tuple(tuple(lst) for lst in p.lists)
            for p in row] for row in pa.pcp]
    pages = sorted((pfn, pg.order, pg.zone, pg.owner, pg.detail, pg.gfp, pg.migratetype,
                    pg.caller) for pfn, pg in pa.allocated.items())
    events = [(e.index, e.timestamp_ns, e.cpu, e.name, e.fields, e.why) for e in k.trace]
    return (k.state_digest(), pcp, sorted(pa.pcp_pages.items()), pages, sorted(pa.vmstat.items()),
            sorted(pa.pcp_lists.below_high), k.clock_ns, len(k.trace), events, list(k.dmesg))


def fork(k):
    return k, k.snapshot()


def spy(obj, name):
    """Record the first argument of every call of obj.name (still calling it)."""
    calls = []
    real = getattr(obj, name)

    def wrapper(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)
    setattr(obj, name, wrapper)
    return calls


def take(k, n, gfp=km.GFP_KERNEL):
    return [k.alloc_pages(gfp, 0).pfn for _ in range(n)]


def past_high(k):
    """Enough order-0 pages to carry the current CPU's pcp list past its high mark."""
    pa = k.page_alloc
    probe = k.alloc_pages(km.GFP_KERNEL, 0)
    zone = pa.zone_by_name[probe.zone]
    k.free_pages(probe)
    pcp = pa.pcp[zone.idx][k.current_cpu]
    return max(pcp.high, pcp.high_max) + 3 * pcp.batch


@pytest.mark.parametrize("version,arch", PROFILES)
@pytest.mark.parametrize("tracing", [True, False])
def test_free_batch_equals_page_by_page(version, arch, tracing):
    k = km.Kernel(version=version, arch=arch, ram="256M", cpus=2)
    pfns = take(k, past_high(k))
    k.trace.enabled = tracing
    mark = k.trace.mark()
    slow, fast = fork(k)
    for pfn in pfns:
        slow.page_alloc.free_pages(pfn, 0)
    per_page = spy(fast.page_alloc, "free_pages")
    fast.page_alloc.free_order0_pages(pfns)
    assert everything(fast) == everything(slow)
    # the batch did most pages as slices: only the draining frees went one by one
    assert 0 < len(per_page) < len(pfns) // 4
    if tracing:  # the run crossed the high mark: frees and the drains between them
        names = {e.name for e in fast.trace.events(since=mark)}
        assert names == {"mm_page_free", "mm_page_pcpu_drain"}
        assert len(fast.trace.events("mm_page_free", since=mark)) == len(pfns)


def test_free_batch_equals_page_by_page_when_the_zone_is_below_high():
    """6.12's nr_pcp_high shrinks high on every free while ZONE_BELOW_HIGH is set:
    the batched loop must hand those frees to the page-by-page path."""
    k = km.Kernel(version="6.12", ram="256M", cpus=2)
    pfns = take(k, 300)
    zone = k.page_alloc.zone_by_name[k.page_alloc.allocated[pfns[0]].zone]
    k.page_alloc.pcp_lists.below_high.add(zone.idx)
    slow, fast = fork(k)
    for pfn in pfns:
        slow.page_alloc.free_pages(pfn, 0)
    fast.page_alloc.free_order0_pages(pfns)
    assert everything(fast) == everything(slow)


def test_free_batch_in_a_small_ring_buffer_drops_the_same_events():
    k = km.Kernel(version="6.12", ram="256M", cpus=2)
    pfns = take(k, past_high(k))
    k.trace.clear()
    k.trace.buffer_events = 100
    slow, fast = fork(k)
    for pfn in pfns:
        slow.page_alloc.free_pages(pfn, 0)
    fast.page_alloc.free_order0_pages(pfns)
    assert fast.trace.entries_in_buffer <= 100
    assert everything(fast) == everything(slow)


@pytest.mark.parametrize("bad", ["double", "not allocated", "higher order", "repeated"])
def test_free_batch_with_a_bad_page_reports_it_like_the_loop(bad):
    k = km.Kernel(version="6.12", ram="256M", cpus=2)
    pfns = take(k, 40)
    if bad == "double":
        k.page_alloc.free_pages(pfns[20], 0)
    elif bad == "not allocated":
        pfns[20] = k.page_alloc.free_list_pfns("DMA32", 10, "Movable")[0]
    elif bad == "higher order":
        pfns[20] = k.alloc_pages(km.GFP_KERNEL, 1).pfn
    else:
        pfns[20] = pfns[3]
    slow, fast = fork(k)
    with pytest.raises(KernelBug) as slow_err:
        for pfn in pfns:
            slow.page_alloc.free_pages(pfn, 0)
    before = everything(fast)
    with pytest.raises(KernelBug) as fast_err:
        fast.page_alloc.free_order0_pages(pfns)
    assert str(fast_err.value) == str(slow_err.value)     # the same report ...
    assert any("BUG: Bad page state" in line for line in fast.dmesg)
    after = everything(fast)    # ... but all or nothing (issue 15): no page was freed
    assert after[:6] + after[7:9] == before[:6] + before[7:9]


def test_free_batch_across_pageblock_types_and_zones_equals_the_loop():
    k = km.Kernel(version="6.12", ram="256M", cpus=2)
    pa = k.page_alloc
    pfns = take(k, 200) + take(k, 30, km.GFP_DMA)
    pa.set_pageblock_migratetype(pfns[100], pa.UNMOVABLE)  # as a fallback steal would
    assert len({pa.allocated[p].zone for p in pfns}) == 2
    slow, fast = fork(k)
    for pfn in pfns:
        slow.page_alloc.free_pages(pfn, 0)
    fast.page_alloc.free_order0_pages(pfns)
    assert everything(fast) == everything(slow)


@pytest.mark.parametrize("version,arch", PROFILES)
def test_alloc_loop_equals_page_by_page(version, arch):
    k = km.Kernel(version=version, arch=arch, ram="256M", cpus=2)
    gfp = k.page_alloc.profile.gfp.value(km.GFP_KERNEL | km.gfp.flag("__GFP_HIGHMEM"))
    n = past_high(k)
    slow, fast = fork(k)
    got_slow = []
    for _ in range(n):
        page = slow.page_alloc.alloc_pages(gfp, 0, owner="vmalloc", detail="d", caller="c")
        got_slow.append(page.pfn)
    per_page = spy(fast.page_alloc, "alloc_pages")
    got_fast = fast.page_alloc.alloc_order0_pages(gfp, n, owner="vmalloc", detail="d",
                                                  caller="c")
    assert got_fast == got_slow
    assert everything(fast) == everything(slow)
    if version == "3.15":  # pages straight off the per-CPU list are taken as slices
        assert 0 < len(per_page) < n // 4
    else:
        assert len(per_page) == n


@pytest.mark.parametrize("version", ["3.15", "6.12"])
def test_alloc_loop_near_the_low_watermark_equals_page_by_page(version):
    """Under the low watermark every page takes the slow path (kswapd wakeups, the min
    watermark); the batched loop must not shortcut those."""
    k = km.Kernel(version=version, ram="128M", cpus=1)
    zone = max(k.page_alloc.populated_zones, key=lambda z: z.managed)
    big = []
    while zone.free_pages > zone.low + 64:
        page = k.alloc_pages(km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN"), 3)
        if page is None:
            break
        big.append(page)
    gfp = k.page_alloc.profile.gfp.value(km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN"))
    slow, fast = fork(k)
    got_slow = []
    for _ in range(300):
        page = slow.page_alloc.alloc_pages(gfp, 0, owner="vmalloc", detail="d", caller="c")
        if page is None:
            break
        got_slow.append(page.pfn)
    got_fast = fast.page_alloc.alloc_order0_pages(gfp, 300, owner="vmalloc", detail="d",
                                                  caller="c")
    assert got_fast == got_slow
    assert everything(fast) == everything(slow)


@pytest.mark.parametrize("version", ["6.1", "6.12"])
def test_bulk_take_equals_rmqueue_pcplist_without_the_free_count_halving(version):
    k = km.Kernel(version=version, ram="256M", cpus=2)
    pa = k.page_alloc
    n = past_high(k)
    k.free_pages(k.alloc_pages(km.GFP_KERNEL, 0))      # some pages on the list
    slow, fast = fork(k)
    mt = pa.UNMOVABLE
    got_slow = []
    for _ in range(n):
        got_slow.append(slow.page_alloc.pcp_lists._rmqueue_pcplist(
            slow.page_alloc.zone_by_name["DMA32"], 0, mt, 1)[0])
    got_fast = fast.page_alloc.pcp_lists.rmqueue_pcplist_bulk(
        fast.page_alloc.zone_by_name["DMA32"], mt, n, 1)
    assert got_fast == got_slow and len(got_fast) == n   # ran past refills
    assert everything(fast) == everything(slow)


@pytest.mark.parametrize("version,field", [("6.1", "free_factor"), ("6.12", "free_count")])
def test_single_page_allocation_halves_the_batch_free_count(version, field):
    """mm/page_alloc.c: rmqueue_pcplist: "On allocation, reduce the number of pages that
    are batch freed" — pcp->free_count >>= 1 (6.12), pcp->free_factor >>= 1 (6.1);
    the bulk allocator (__alloc_pages_bulk) calls __rmqueue_pcplist and does not."""
    k = km.Kernel(version=version, ram="256M", cpus=2)
    pa = k.page_alloc
    pcp = pa.pcp[pa.zone_by_name["DMA32"].idx][k.current_cpu]
    setattr(pcp, field, 12)
    k.alloc_pages(km.GFP_KERNEL, 0)
    assert getattr(pcp, field) == 6
    pa.pcp_lists.rmqueue_pcplist_bulk(pa.zone_by_name["DMA32"], pa.UNMOVABLE, 5, 1)
    assert getattr(pcp, field) == 6


@pytest.mark.parametrize("version,arch", PROFILES)
def test_vmalloc_vfree_cycle_matches_a_page_by_page_kernel(version, arch, monkeypatch):
    """The whole vmalloc/vfree path, batched, against the same path with the batched
    loops replaced by their page-by-page definitions."""
    k = km.Kernel(version=version, arch=arch, ram="256M", cpus=2)
    slow, fast = fork(k)

    def free_loop(pfns):
        for pfn in pfns:
            slow.page_alloc.free_pages(pfn, 0)

    def alloc_loop(value, n, *, owner, detail, caller):
        out = []
        for _ in range(n):
            page = slow.page_alloc.alloc_pages(value, 0, owner=owner, detail=detail,
                                               caller=caller)
            if page is None:
                break
            out.append(page.pfn)
        return out

    monkeypatch.setattr(slow.page_alloc, "free_order0_pages", free_loop)
    monkeypatch.setattr(slow.page_alloc, "alloc_order0_pages", alloc_loop)
    for kern in (slow, fast):
        live = []
        for i in range(12):
            live.append(kern.vmalloc((i % 5 + 1) * 300 * 1024, caller="t"))
            if i % 3 == 2:
                kern.vfree(live.pop(0))
        for addr in live:
            kern.vfree(addr)
    assert everything(fast) == everything(slow)
    assert fast.address_space_digest() == slow.address_space_digest()
