"""Every plot drawn headless, with assertions on what it shows."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgb

import kmemlab as km
from kmemlab.page_alloc import OWNER_CODE
from kmemlab.plot import OWNER_COLORS
from kmemlab.plot.physmem import aggregate_frames, map_geometry
from kmemlab.user.malloc import GlibcMalloc


def busy_kernel(ram="256M", version="6.12", arch="x86_64"):
    k = km.Kernel(version=version, arch=arch, ram=ram, pcp=False)
    ptrs = [k.kmalloc(s, km.GFP_KERNEL) for s in range(8, 3000, 37)]
    for p in ptrs[::2]:
        k.kfree(p)
    pages = [k.alloc_pages(km.GFP_KERNEL, o % 4) for o in range(24)]
    for p in pages[::3]:
        k.free_pages(p)
    return k


@pytest.fixture(scope="module")
def k():
    return busy_kernel()


def test_memory_map_slab_pixels_match_slab_pages(k, save_png):
    fig = km.plot.memory_map(k)
    save_png(fig, "memory_map_256M")
    info = fig.kmemlab
    assert info["fpp"] == 1
    img = fig.axes[0].images[0].get_array()
    slab_rgb = np.array(to_rgb(OWNER_COLORS["slab"]), dtype=np.float32)
    slab_pixels = int(np.all(np.isclose(img, slab_rgb, atol=1e-3), axis=2).sum())
    slab_pages = sum(p.nr_pages for p in k.page_alloc.allocated.values() if p.owner == "slab")
    assert slab_pages > 0 and slab_pixels == slab_pages
    # the legend gives exact counts
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"slab: {slab_pages:,} pages" in texts


def test_memory_map_large_ram_aggregates(save_png):
    k = km.Kernel(ram="64G")
    k.alloc_pages(km.GFP_KERNEL, 10)
    fig = km.plot.memory_map(k)
    save_png(fig, "memory_map_64G")
    info = fig.kmemlab
    assert info["fpp"] > 1 and info["width"] * info["rows"] * info["fpp"] >= k.max_pfn
    assert info["rows"] <= 600
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("PCI hole") for t in texts)
    fv = k.frame_view()
    assert info["totals"][OWNER_CODE["reserved"]] == int((fv["owner"] == 1).sum())


def test_aggregate_frames_mode_and_totals():
    cat = np.array([2, 2, 2, 4, 4, 1, 1, 1, 1, 3], dtype=np.int16)
    mode, totals = aggregate_frames(cat, 4, 6)
    assert list(mode) == [2, 1, 1]
    assert list(totals) == [0, 4, 3, 1, 2, 0]
    assert map_geometry(65504)[2] == 1 and map_geometry(17_039_360)[2] == 128


def test_buddyinfo_bars_equal_buddyinfo(k, save_png):
    fig = km.plot.buddyinfo(k)
    save_png(fig, "buddyinfo_256M")
    info = k.buddyinfo()
    bar_axes = fig.axes[0::2]
    for ax, (zone, counts) in zip(bar_axes, info.items(), strict=True):
        heights = [int(p.get_height()) for p in ax.patches]
        assert heights == counts, zone
        assert ax.get_title(loc="left").startswith(zone)
    wm_ax = fig.axes[1]
    labels = [t.get_text() for t in wm_ax.get_legend().get_texts()]
    z = k.zones[list(info)[0]]
    assert f"min {z.min:,}" in labels and f"high {z.high:,}" in labels


def test_buddy_tree_has_the_right_blocks(save_png):
    k = km.Kernel(ram="256M", pcp=False)
    page = k.alloc_pages(km.GFP_KERNEL, 0)
    fig = km.plot.buddy_tree(k, page.pfn)
    save_png(fig, "buddy_tree")
    nodes = fig.kmemlab["nodes"]
    leaves = [n for n in nodes if n["leaf"]]
    # the leaves tile the root block exactly
    root, top = fig.kmemlab["root"], fig.kmemlab["order"]
    assert sum(1 << n["order"] for n in leaves) == 1 << top
    assert min(n["start"] for n in leaves) == root
    # the order-0 page we took is a leaf, and every free leaf is on a buddy free list
    assert any(n["start"] == page.pfn and n["order"] == 0 and n["state"] == "pages"
               for n in leaves)
    for n in leaves:
        if n["state"] == "free":
            zone = k.page_alloc.zone_of_pfn(n["start"])
            on_lists = any(n["start"] in k.page_alloc.free_list_pfns(zone, n["order"], mt)
                           for mt in range(len(k.profile.migratetype_names)))
            assert on_lists, n
    # splitting an order-10 block for one page leaves one free buddy per lower order
    free_orders = sorted(n["order"] for n in leaves if n["state"] == "free")
    assert free_orders == list(range(top))


def test_slab_used_cells_match_inuse(k, save_png):
    c = k.kmem_cache_create("plot_cache", 200)
    objs = [k.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(25)]
    k.kmem_cache_free(c, objs[3])
    fig = km.plot.slab(k, c)
    save_png(fig, "slab_plot_cache")
    views = c.slabs_view()
    assert fig.kmemlab["used"] == sum(v["objects"] - len(v["free"]) for v in views) == 24
    assert "plot_cache" in fig.axes[0].get_title()
    fig = km.plot.slab(k, "kmalloc-64")
    save_png(fig, "slab_kmalloc-64")


def test_slabinfo_bars(k, save_png):
    fig = km.plot.slabinfo(k)
    save_png(fig, "slabinfo")
    rows = fig.kmemlab["rows"]
    ax = fig.axes[0]
    used = [p.get_width() for p in ax.patches[: len(rows)]]
    assert used == [r["used"] for r in rows]
    for r in rows:
        c = k.slab_caches[r["name"]]
        assert r["memory"] == c.slabs * (k.PAGE_SIZE << c.order)
    assert [t.get_text() for t in ax.get_yticklabels()] == [r["name"] for r in rows]


@pytest.mark.parametrize("version,arch", [("6.12", "x86_64"), ("3.15", "i386")])
def test_address_space(version, arch, save_png):
    k = km.Kernel(version=version, arch=arch, ram="2G")
    p = k.kmalloc(64, km.GFP_KERNEL)
    fig = km.plot.address_space(k, marks={"kmalloc": p})
    save_png(fig, f"address_space_{version}_{arch}")
    regions = fig.kmemlab["regions"]
    assert all(a[2] <= b[1] for a, b in zip(regions, regions[1:]))
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert f"{p:#x}" in texts
    if arch == "i386":
        assert regions[0][2] == 0xC0000000
        assert any("pkmap" in r[0].lower() for r in regions)
    else:
        assert any(r[1] == k.profile.page_offset for r in regions)


def test_vmalloc_mapping(k, save_png):
    fig = km.plot.vmalloc_mapping(k)
    save_png(fig, "vmalloc_mapping")
    if not hasattr(k, "vmalloc_to_pfn"):
        assert "not available" in fig.axes[0].texts[0].get_text()
    else:  # pragma: no cover - when the vmalloc work lands
        v = k.vmalloc(8 * k.PAGE_SIZE)
        fig = km.plot.vmalloc_mapping(k, v)
        assert len([p for p in fig.kmemlab["pfns"] if p is not None]) == 8


def test_page_walk_indices(save_png):
    k = km.Kernel(ram="1G")
    addr = 0xFFFF888003001C70
    fig = km.plot.page_walk(k, addr)
    save_png(fig, "page_walk_x86_64")
    idx = fig.kmemlab["indices"]
    assert idx == {"PGD": 273, "PUD": 0, "PMD": 24, "PTE": 1, "offset": 0xC70}
    k32 = km.Kernel(version="3.15", arch="i386", ram="1G")
    fig = km.plot.page_walk(k32, 0xC0801234)
    save_png(fig, "page_walk_i386")
    assert fig.kmemlab["indices"] == {"PGD": 0x302, "PTE": 1, "offset": 0x234}


def test_memblock(save_png):
    k = km.Kernel(ram="1G", cmdline="mem=768M")
    fig = km.plot.memblock(k)
    save_png(fig, "memblock")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    for r in k.memblock.reservations:
        assert any(lab.startswith(r.name) for lab in labels)
    assert "mem=768M" in fig.axes[0].get_title()


def test_heap(save_png):
    m = GlibcMalloc()
    ptrs = [m.malloc(s) for s in (24, 100, 300, 2000, 40, 200_000)]
    m.free(ptrs[1])
    m.free(ptrs[3])
    fig = km.plot.heap(m)
    save_png(fig, "heap")
    chunks = fig.kmemlab["chunks"]
    assert any(c.state == "top" for c in chunks)
    assert sum(c.in_use for c in chunks) == len(m.heap_chunks()) - sum(
        1 for c in m.heap_chunks() if not c.in_use)
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "tcache" in texts and "mmap" in texts


def test_timeline(k, save_png):
    mark = k.trace.mark()
    page = k.alloc_pages(km.GFP_KERNEL, 2)
    fig = km.plot.timeline(k)
    save_png(fig, "timeline")
    free = fig.kmemlab["free"]
    zone = page.zone
    assert free[zone][-1] == k.zones[zone].free_pages + sum(
        k.page_alloc.pcp_counts().get(zone, [0]))
    _idx, series = km.plot.misc.free_pages_series(k, since=mark)
    assert series[zone][0] - series[zone][-1] == 4
    assert fig.kmemlab["caches"]
    assert km.plot.frag_index([0, 0, 0, 1], 3) == 0.0
    assert km.plot.frag_index([8, 0, 0, 0], 3) == 1.0
