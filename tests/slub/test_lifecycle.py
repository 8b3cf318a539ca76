"""Slabs on buddy pages: creation, CPU/partial/full lists, min_partial, kmalloc_large."""

from __future__ import annotations

import pytest
from slub_helpers import boot, free_pages_total

import kmemlab as km

GK = km.GFP_KERNEL


def buddy_free(k, zone="Normal"):
    return k.buddyinfo()[zone]


def test_second_slab_comes_from_buddy(version):
    k = boot(version, pcp=False)  # without per-CPU lists every slab shows in buddyinfo
    s = k.slub
    c = s.kmem_cache_create("obj512", 512)      # order 1 with 2 CPUs (12 objects min)
    assert (c.order, c.objs_per_slab) == (1, 16)
    free0 = free_pages_total(k)
    objs = [s.kmem_cache_alloc(c, GK) for _ in range(c.objs_per_slab)]
    assert c.slabs == 1 and free_pages_total(k) == free0 - 2
    info_before = dict(k.buddyinfo())
    objs.append(s.kmem_cache_alloc(c, GK))      # objs_per_slab + 1
    assert c.slabs == 2 and c.total_objects == 32
    assert free_pages_total(k) == free0 - 4
    assert k.buddyinfo() != info_before          # visible in /proc/buddyinfo
    # 3.15 merges obj512 into kmalloc-512 (a normal merge target there)
    assert c.name == ("kmalloc-512" if version == "3.15" else "obj512")
    pages = [pg for pg in k.page_alloc.allocated.values() if pg.detail == c.name]
    assert len(pages) == 2 and all(pg.order == 1 and pg.owner == "slab" for pg in pages)
    # objects are consecutive slots of the slab, in address order (no randomisation)
    first = s.slabs_of(c)[0] if s.slabs_of(c)[0].inuse == 16 else s.slabs_of(c)[1]
    assert sorted(objs[:16]) == [first.base + i * 512 for i in range(16)]
    assert objs[:16] == sorted(objs[:16])
    for p in objs:
        s.kmem_cache_free(c, p)
    # the full slab became a CPU partial slab, the CPU slab stays: nothing freed yet
    assert c.slabs == 2
    s.kmem_cache_shrink(c)
    assert c.slabs == 0 and free_pages_total(k) == free0
    s.check_consistency()


@pytest.mark.parametrize("version", ["3.15", "6.12"])
def test_empty_slabs_kept_up_to_min_partial(version):
    k = boot(version, cpus=1)
    s = k.slub
    c = s.kmem_cache_create("obj1k", 1024)
    per = c.objs_per_slab
    n_slabs = 12
    objs = [s.kmem_cache_alloc(c, GK) for _ in range(per * n_slabs)]
    assert c.slabs == n_slabs
    free0 = free_pages_total(k)
    s.flush_all(c)      # every slab to the node lists (all full now)
    for p in objs:
        s.kmem_cache_free(c, p)
    s.flush_all(c)
    # empty slabs are discarded once the node has min_partial (6.x) / min_partial+1
    # (3.15, "n->nr_partial > s->min_partial") partial slabs
    kept = c.min_partial if version != "3.15" else c.min_partial + 1
    assert c.slabs == kept and c.partial == kept
    assert free_pages_total(k) == free0 + (n_slabs - kept) * (1 << c.order)
    assert c.objects == 0   # slabinfo active_objs: free objects on node partial slabs
    s.check_consistency()


def test_cpu_slab_and_partial_lists_per_cpu():
    k = boot("6.12", cpus=2)
    s = k.slub
    c = s.kmem_cache_create("obj256", 256)
    a = [s.kmem_cache_alloc(c, GK) for _ in range(3)]
    with k.on_cpu(1):
        b = s.kmem_cache_alloc(c, GK)
    assert c.cpu_slabs == 2 and c.slabs == 2
    view = {d["cpu"]: d for d in c.slabs_view()}
    assert set(view) == {0, 1} and all(d["where"] == "cpu" for d in view.values())
    assert view[0]["inuse"] == 3 and view[1]["inuse"] == 1
    # free on CPU 1 an object of CPU 0's slab: a remote free onto slab->freelist
    with k.on_cpu(1):
        s.kmem_cache_free(c, a[2])
    assert c.stat["free_slowpath"] == 1 and c.stat["free_frozen"] == 1
    # CPU 0 uses its lockless freelist first, then picks up the remote free
    rest = [s.kmem_cache_alloc(c, GK) for _ in range(c.objs_per_slab - 2)]
    assert a[2] in rest and c.stat["alloc_refill"] == 1
    s.kmem_cache_free(c, b)
    s.check_consistency()


def test_freelist_lifo_reuse_and_view():
    k = boot("6.12")
    s = k.slub
    p = [s.kmalloc(60, GK) for _ in range(4)]
    assert [q - p[0] for q in p] == [0, 64, 128, 192]
    s.kfree(p[1])
    s.kfree(p[2])
    assert s.kmalloc(64, GK) == p[2]        # last freed, first reused
    view = s.slab_caches["kmalloc-64"].slabs_view()[0]
    assert view["freelist"][0] == p[1] and view["inuse"] == 3
    assert view["free"] == sorted(view["freelist_index"])
    assert p[0] in view["allocated"] and p[1] not in view["allocated"]


def test_freelist_randomisation_is_seeded():
    k1 = km.Kernel(version="6.12", ram="512M", cpus=2, seed=7)
    k2 = km.Kernel(version="6.12", ram="512M", cpus=2, seed=7)
    from kmemlab.slub import Slub
    s1, s2 = Slub(k1, freelist_random=True), Slub(k2, freelist_random=True)
    a1 = [s1.kmalloc(64, GK) for _ in range(64)]
    a2 = [s2.kmalloc(64, GK) for _ in range(64)]
    assert a1 == a2 and a1 != sorted(a1) and len(set(a1)) == 64
    s1.check_consistency()


def test_order_fallback_when_high_order_fails():
    k = boot("6.12", cpus=2)
    s = k.slub
    c = s.slab_caches["kmalloc-4k"]            # order 3
    # take every block of order >= 1 so only order-0 pages are left
    held = []
    for order in range(10, 0, -1):
        while True:
            pg = k.page_alloc.alloc_pages(km.GFP_KERNEL | km.flag("__GFP_NOWARN"), order,
                                          owner="pages")
            if pg is None:
                break
            held.append(pg)
    p = s.kmalloc(4096, GK)
    slab = s.slabs_of(c)[0]
    assert p is not None and slab.order == 0 and slab.objects == 1
    assert c.stat["order_fallback"] == 1
    s.kfree(p)
    for pg in held:
        k.page_alloc.free_pages(pg, pg.order)


def test_kmalloc_large_and_limit():
    k = boot("6.12")
    s = k.slub
    free0 = free_pages_total(k)
    p = s.kmalloc(8193, GK)
    assert s.ksize(p) == 16384 and free_pages_total(k) == free0 - 4
    pg = k.page_alloc.allocated[k.virt_to_pfn(p)]
    assert pg.owner == "kmalloc_large" and pg.order == 2
    assert k.gfp_has(pg.gfp, "__GFP_COMP")
    ev = k.trace.events("kmalloc")[-1]
    assert (ev["bytes_req"], ev["bytes_alloc"]) == (8193, 16384)
    s.kfree(p)
    assert free_pages_total(k) == free0
    big = s.kmalloc(4 << 20, GK)
    assert big is not None and s.ksize(big) == 4 << 20
    s.kfree(big)
    n = len(k.dmesg)
    assert s.kmalloc((4 << 20) + 1, GK) is None
    assert any("4 MiB" in ln for ln in k.dmesg[n:])
    assert s.kmalloc((4 << 20) + 1, GK | km.flag("__GFP_NOWARN")) is None


def test_kmalloc_large_315_limit():
    k = boot("3.15")
    assert k.slub.kmalloc(8 << 20, GK) is None      # KMALLOC_MAX_SIZE 8 MiB, order 11 fails
    assert k.slub.kmalloc(128 * 1024 + 1, GK) is not None   # not the document's 128 KB


def test_kzalloc_kcalloc_krealloc():
    k = boot("6.12")
    s = k.slub
    p = s.kzalloc(40, GK)
    assert k.gfp_has(k.trace.events("kmalloc")[-1]["gfp_flags"], "__GFP_ZERO")
    assert s.kcalloc(1 << 40, 1 << 40, GK) is None          # overflow → NULL, no warning
    q = s.kcalloc(10, 10, GK)
    assert s.ksize(q) == 128
    r = s.krealloc(q, 120, GK)
    assert r == q                                           # still fits ksize
    r2 = s.krealloc(r, 300, GK)
    assert r2 != r and s.ksize(r2) == 512 and r not in s.live
    assert s.krealloc(None, 10, GK) is not None
    assert s.krealloc(r2, 0, GK) == 0x10 and r2 not in s.live
    s.kfree(p)
    i386 = boot("3.15", "i386")
    assert i386.slub.kcalloc(1 << 16, 1 << 16, GK) is None    # 32-bit size_t overflow


def test_fragmentation_and_callsites():
    k = boot("6.12")
    s = k.slub

    def driver_probe():
        out = []
        for _ in range(3):
            out.append(s.kmalloc(100, GK))
        return out

    ptrs = driver_probe()
    s.kmalloc(64, GK, caller="other_site")
    c = s.slab_caches["kmalloc-128"]
    f = c.fragmentation()
    assert (f["live_bytes_req"], f["live_bytes_alloc"], f["live_wasted"]) == (300, 384, 84)
    assert c.internal_fragmentation == 84
    rows = {r["callsite"]: r for r in s.callsite_stats()}
    assert rows["driver_probe"]["hits"] == 3 and rows["driver_probe"]["total_req"] == 300
    assert rows["driver_probe"]["frag_pct"] == pytest.approx(100 - 100 * 300 / 384, abs=1e-3)
    assert rows["other_site"]["frag_pct"] == 0.0
    s.kfree(ptrs[0])
    assert c.fragmentation()["live_wasted"] == 56


def test_trace_events_and_why():
    k = boot("6.12")
    s = k.slub
    n = len(k.trace)
    p = s.kmalloc(100, GK, caller="probe")
    ev = [e for e in k.trace[n:] if e.name == "kmalloc"][0]
    assert ev.why.startswith("kmalloc(100) → kmalloc-128: first size class ≥ 100; "
                             "28 bytes wasted")
    assert "new order-0 slab" in ev.why
    assert (ev["call_site"], ev["ptr"], ev["bytes_req"], ev["bytes_alloc"]) == \
        ("probe", p, 100, 128)
    names = [e.name for e in k.trace[n:]]
    assert names.index("mm_page_alloc") < names.index("kmalloc")
    p2 = s.kmalloc(100, GK)
    assert "fast path" in k.trace[-1].why and p2 == p + 128
    s.kfree(p2)
    assert k.trace[-1].name == "kfree" and "fast path" in k.trace[-1].why
    c = s.kmem_cache_create("trace_obj", 50)
    o = s.kmem_cache_alloc(c, GK)
    assert k.trace[-1].name == "kmem_cache_alloc" and k.trace[-1]["bytes_req"] == 50
    s.kmem_cache_free(c, o)
    assert k.trace[-1].name == "kmem_cache_free" and k.trace[-1]["name"] == "trace_obj"
    text = k.trace.to_ftrace()
    assert "kmem_cache_free: call_site=" in text and "name=trace_obj" in text


def test_destroy_returns_everything():
    k = boot("6.1")
    s = k.slub
    free0 = free_pages_total(k)
    c = s.kmem_cache_create("tmp_obj", 700)
    objs = [s.kmem_cache_alloc(c, GK) for _ in range(100)]
    for o in objs:
        s.kmem_cache_free(c, o)
    s.kmem_cache_destroy(c)
    assert free_pages_total(k) == free0 and "tmp_obj" not in s.slab_caches
    with pytest.raises(ValueError, match="destroyed"):
        s.kmem_cache_alloc(c, GK)
    s.kmem_cache_destroy(None)
    s.check_consistency()


def test_kmalloc_bad_gfp_6x_is_fixed_with_a_warning():
    k = boot("6.12")
    p = k.slub.kmalloc(32, km.GFP_KERNEL | km.flag("__GFP_HIGHMEM"))
    assert p is not None
    assert any("Unexpected gfp: 0x2 (__GFP_HIGHMEM)" in ln for ln in k.dmesg)


def test_snapshot_deepcopies_slub():
    k = boot("6.12")
    p = k.slub.kmalloc(100, GK)
    snap = k.snapshot()
    k.slub.kfree(p)
    k.restore(snap)
    assert p in k.slub.live
    k.slub.kfree(p)
    k.slub.check_consistency()
