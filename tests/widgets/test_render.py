"""The explorers' incremental renderer draws the same picture (issue 21).

For each ``kmemlab.plot.update_*`` function: after random steps on a kernel, the frame the
renderer repaints from the artists the update named is, pixel for pixel, (1) a full draw of
the same figure and (2) a full draw of the figure the pure plot function draws for the new
state. Plus the PNG encoder, "nothing changed -> nothing sent", and the snapshot that is
taken after a click.
"""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image

import kmemlab as km
from kmemlab import plot as P
from kmemlab.widgets import (
    BootExplorer,
    BuddyExplorer,
    ContextExplorer,
    KmallocExplorer,
    MallocExplorer,
    VmallocExplorer,
)
from kmemlab.widgets import render as R
from kmemlab.widgets.base import Explorer
from kmemlab.widgets.render import FigureRenderer, TextCache, encode_png


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def same(a: bytes, b: bytes) -> bool:
    x, y = pixels(a), pixels(b)
    return x.shape == y.shape and bool((x == y).all())


def check_steps(build, update, step, n: int = 12):
    """Run ``n`` steps; after each one the incremental frame must be both full draws."""
    fig = build()
    r = FigureRenderer(72)
    r.full(fig)
    partial = 0
    for i in range(n):
        step(i)
        changed = update(fig)
        if changed is None:
            fig = build()
        png = r.update(fig, changed)
        partial += bool(changed)
        assert same(png, FigureRenderer(72).full(fig)), f"step {i}: not the full draw"
        assert same(png, FigureRenderer(72).full(build())), f"step {i}: not the plot"
    assert partial, "no step was drawn incrementally"
    return r


def test_encode_png_round_trip():
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    assert (pixels(encode_png(rgba)) == rgba[..., :3]).all()


def test_band_encoder_recompresses_the_changed_rows_only():
    """Frame after frame, the PNG decodes to the pixels, with every row or only the rows
    said to have changed filtered and compressed again."""
    from kmemlab.widgets.render import BandEncoder
    rng = np.random.default_rng(2)
    rgba = np.full((83, 61, 4), 255, dtype=np.uint8)
    rgba[10:70, 5:50, :3] = rng.integers(0, 3, (60, 45, 3), dtype=np.uint8) * 90
    e = BandEncoder()
    assert (pixels(e.encode(rgba)) == rgba[..., :3]).all()
    for r0 in (0, 15, 16, 31, 40, 82):
        r1 = min(r0 + int(rng.integers(1, 20)), 83)
        rgba[r0:r1, 7:30, :3] = rng.integers(0, 256, (r1 - r0, 23, 3), dtype=np.uint8)
        assert (pixels(e.encode(rgba, [(r0, r1)])) == rgba[..., :3]).all()
    assert (pixels(e.encode(rgba[:40])) == rgba[:40, :, :3]).all()   # another size


@pytest.mark.parametrize("ram", ["1G", "64G"])
def test_memory_map_updates_in_place(ram):
    k = km.Kernel(ram=ram)
    rng = random.Random(1)
    blocks = [k.alloc_pages("GFP_KERNEL", 0)]

    def build():
        return P.memory_map(k, ax=Explorer.new_axes((9.5, 4.2)), highlight=[blocks[-1].pfn])

    def step(_i):
        if len(blocks) > 1 and rng.random() < 0.3:
            p = blocks.pop(rng.randrange(len(blocks) - 1))
            k.free_pages(p, p.order)
        else:
            blocks.append(k.alloc_pages("GFP_KERNEL", rng.choice([0, 0, 1, 3, 9])))

    check_steps(build, lambda fig: P.update_memory_map(fig, k, highlight=[blocks[-1].pfn]),
                step)


def test_slab_updates_in_place():
    k = km.Kernel(ram="256M")
    c = k.kmalloc_cache(100)
    rng = random.Random(2)
    live = [k.kmalloc(100, "GFP_KERNEL")]

    def step(_i):
        if len(live) > 1 and rng.random() < 0.4:
            k.kfree(live.pop(rng.randrange(len(live))))
        else:
            live.append(k.kmalloc(100, "GFP_KERNEL"))

    check_steps(lambda: P.slab(k, c), lambda fig: P.update_slab(fig, k, c), step, n=20)


def test_buddyinfo_updates_in_place():
    k = km.Kernel(ram="256M")
    rng = random.Random(3)
    live = []

    def step(_i):
        for _ in range(rng.choice([1, 5, 30])):
            if live and rng.random() < 0.4:
                p = live.pop(rng.randrange(len(live)))
                k.free_pages(p, p.order)
            else:
                live.append(k.alloc_pages("GFP_KERNEL", rng.choice([0, 2, 5, 9, 10])))

    check_steps(lambda: P.buddyinfo(k), lambda fig: P.update_buddyinfo(fig, k), step)


def test_heap_updates_in_place():
    k = km.Kernel(ram="256M")
    proc = k.spawn("app")
    rng = random.Random(4)
    live = [proc.malloc(24)]

    def step(_i):
        if len(live) > 1 and rng.random() < 0.35:
            proc.free(live.pop(rng.randrange(len(live))))
        else:
            live.append(proc.malloc(rng.choice([24, 24, 100, 1000])))

    check_steps(lambda: P.heap(proc, box_rows=4), lambda fig: P.update_heap(fig, proc), step)


@pytest.mark.parametrize("ram", ["1G", "64G"])
def test_buddy_tree_updates_in_place(ram):
    """The tree's rectangles and texts are reused in buddy_tree's order: splits, merges,
    a tree with fewer or more nodes (spares hidden, new ones added), another root block,
    the buddy outline off the tree."""
    k = km.Kernel(ram=ram)
    rng = random.Random(5)
    blocks = [k.alloc_pages("GFP_KERNEL", 0)]

    def pfn():
        return blocks[-1].pfn if blocks else None

    def step(i):
        if i in (5, 11):          # free all but the first: the tree folds up again
            while len(blocks) > 1:
                p = blocks.pop()
                k.free_pages(p, p.order)
        elif len(blocks) > 1 and rng.random() < 0.3:
            p = blocks.pop(rng.randrange(len(blocks) - 1))
            k.free_pages(p, p.order)
        else:
            blocks.extend(k.alloc_pages("GFP_KERNEL", rng.choice([0, 0, 1, 2, 4]))
                          for _ in range(rng.choice([1, 1, 3])))

    r = check_steps(lambda: P.buddy_tree(k, pfn()),
                    lambda fig: P.update_buddy_tree(fig, k, pfn()), step, n=16)
    assert r.frames["partial"] >= 10


def test_buddy_tree_explorer_keeps_its_tree():
    w = BuddyExplorer(km.Kernel(ram="1G"))
    w.w_view.value = "buddy tree"
    for _ in range(4):
        w.btn_alloc.click()
    assert w.renderer.frames["partial"] >= 2
    fresh = P.buddy_tree(w.k, w.state["blocks"][-1][0])
    assert same(w.image.value, FigureRenderer(72).full(fresh))


def test_address_space_and_vmalloc_mapping_update_in_place():
    k = km.Kernel(ram="1G")
    areas = [k.vmalloc(5 * k.PAGE_SIZE)]
    marks = {}

    def step(i):
        areas.append(k.vmalloc(5 * k.PAGE_SIZE))
        marks["last vmalloc"] = areas[-1]
        if i % 3 == 0:
            marks["last kmalloc"] = k.kmalloc(100, "GFP_KERNEL")

    check_steps(lambda: P.address_space(k, marks=marks),
                lambda fig: P.update_address_space(fig, k, marks=marks), step, n=6)
    check_steps(lambda: P.vmalloc_mapping(k, areas[-1]),
                lambda fig: P.update_vmalloc_mapping(fig, k, areas[-1]), step, n=6)


def test_memblock_updates_across_boots():
    """A kept memblock figure keeps its layout across boots: the frames equal full draws
    of that figure (a new plot may place its axes a little differently)."""
    k = km.Kernel(ram="1G")
    fig = P.memblock(k)
    r = FigureRenderer(72)
    r.full(fig)
    for ram in ("512M", "1G", "2G", "512M"):
        k.restore(km.Kernel(ram=ram))
        changed = P.update_memblock(fig, k)
        assert changed
        assert same(r.update(fig, changed), FigureRenderer(72).full(fig))
    assert r.frames["partial"] == 4


# ----------------------------------------------------------------------------- explorers
def test_a_click_repaints_only_what_changed_and_the_picture_is_the_plot():
    k = km.Kernel(ram="1G")
    w = BuddyExplorer(k)
    w.btn_alloc.click()       # the first block: a new owner in the legend, drawn anew
    for _ in range(3):
        w.btn_alloc.click()
    assert w.renderer.frames["partial"] >= 3
    fresh = P.memory_map(k, ax=Explorer.new_axes((9.5, 4.2)), highlight=w._last())
    assert same(w.image.value, FigureRenderer(72).full(fresh))


def test_nothing_changed_nothing_sent():
    w = ContextExplorer(km.Kernel(ram="1G"))
    w.btn_run.click()         # the first kmalloc(64) takes a page for a new slab
    sent = []
    w.image.observe(lambda ch: sent.append(ch), names="value")
    w.btn_run.click()         # the next ones come from that slab: buddyinfo is the same
    assert "got 0x" in w.outcome.value
    assert sent == [] and w.renderer.frames["unchanged"] == 1


def test_double_free_draws_one_picture():
    w = KmallocExplorer(km.Kernel(ram="256M"))
    w.btn_kmalloc.click()
    before = dict(w.renderer.frames)
    sent = []
    w.image.observe(lambda ch: sent.append(ch), names="value")
    w.btn_kfree_twice.click()
    assert "double free" in w.oops.value
    assert len(sent) == 1
    assert sum(w.renderer.frames.values()) == sum(before.values()) + 1
    m = MallocExplorer(km.Kernel(ram="256M"))
    m.btn_malloc.click()
    sent.clear()
    m.image.observe(lambda ch: sent.append(ch), names="value")
    m.btn_double.click()
    assert "double free" in m.oops.value and len(sent) == 1


def test_the_snapshot_taken_after_a_click_is_not_used_once_the_kernel_changed():
    """After a click the explorer snapshots the state for the next step; a notebook cell
    that changes the same kernel before the next click must still be undone correctly."""
    k = km.Kernel(ram="256M")
    w = BuddyExplorer(k)
    w.btn_alloc.click()
    k.alloc_pages("GFP_KERNEL", 2)          # a cell, between two clicks
    k.kfree(k.kmalloc(64, "GFP_KERNEL"))
    d = k.state_digest()
    w.btn_alloc.click()
    w.btn_undo.click()
    assert k.state_digest() == d
    w.btn_alloc.click()                     # nothing in between: the prepared snapshot
    d2 = k.state_digest()
    w.btn_alloc.click()
    w.btn_undo.click()
    assert k.state_digest() == d2


# ----------------------------------------------------------------------------- text cache
def test_text_cache_pastes_what_a_draw_draws(monkeypatch):
    """Every text the cache would paste is drawn as well and must come out the same
    (VERIFY_TEXT_CACHE), in repaints of several explorers; and the pictures are still
    the plots'."""
    monkeypatch.setattr(R, "VERIFY_TEXT_CACHE", True)
    verified = []
    real = TextCache.draw

    def draw(self, *args):
        before = self.hits
        real(self, *args)
        verified.append(self.hits - before)
    monkeypatch.setattr(TextCache, "draw", draw)
    k = km.Kernel(ram="1G")
    boot = BootExplorer(k)
    for ram in ("512M", "1G", "512M", "1G"):
        boot.w_ram.value = ram
        boot.btn_boot.click()
    w = KmallocExplorer(km.Kernel(ram="1G"))
    for _ in range(4):
        w.btn_kmalloc.click()
    v = VmallocExplorer(km.Kernel(ram="1G"))
    for _ in range(3):
        v.btn_vmalloc.click()
    b = BuddyExplorer(km.Kernel(ram="1G"))
    b.w_view.value = "buddy tree"
    for _ in range(3):
        b.btn_alloc.click()
    assert sum(verified) > 20, "the cache was hardly used"
    assert same(w.image.value, FigureRenderer(72).full(P.slab(w.k, w.cache())))
    assert same(b.image.value, FigureRenderer(72).full(P.buddy_tree(b.k, b._last()[0])))


def test_text_cache_does_not_paste_over_other_pixels():
    """The same text at the same place over other pixels is drawn, not pasted."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(3, 1))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    back = ax.axvspan(0, 1, color="white")
    ax.text(0.5, 0.5, "pfn 0x1234", ha="center", va="center")
    ax.set_axis_off()
    r = FigureRenderer(72)
    r.full(fig)
    for color in ("#EE6677", "white", "#EE6677"):
        back.set_color(color)
        png = r.update(fig, [back])
        assert same(png, FigureRenderer(72).full(fig))
    assert r.texts.hits >= 1


def test_in_an_event_loop_the_bookkeeping_waits_for_the_picture():
    """In a kernel (a running event loop) the renderer's notes and the snapshot are made
    SNAPSHOT_DELAY after a click; a click that comes sooner still repaints from the last
    frame as drawn and undoes exactly."""
    import asyncio

    from kmemlab.widgets import base

    async def run():
        k = km.Kernel(ram="1G")
        w = BuddyExplorer(k)
        assert w._snap_timer is not None and not w.renderer._settled
        w.btn_alloc.click()           # before the first frame was settled
        w.btn_alloc.click()
        d = k.state_digest()
        w.btn_alloc.click()
        assert w._pre is None         # not yet
        await asyncio.sleep(base.SNAPSHOT_DELAY * 3)
        assert w._pre is not None and w.renderer._settled
        w.btn_alloc.click()
        w.btn_undo.click()
        w.btn_undo.click()
        assert k.state_digest() == d
        fresh = P.memory_map(k, ax=Explorer.new_axes((9.5, 4.2)), highlight=w._last())
        assert same(w.image.value, FigureRenderer(72).full(fresh))
        assert w.renderer.frames["partial"] >= 3
    asyncio.run(run())


def test_buddy_tree_explorer_stays_incremental_across_hex_pfns():
    """The title names pfns in hex: 0x3009 -> 0x300a is as high a title (the layout counts
    its height only), so the tree is not drawn anew."""
    w = BuddyExplorer(km.Kernel(ram="1G"))
    w.w_view.value = "buddy tree"
    w.btn_alloc.click()        # the first block: a new entry in the legend, drawn anew
    full = w.renderer.frames["full"]
    for _ in range(24):
        w.btn_alloc.click()
    assert w.renderer.frames["full"] == full
    fresh = P.buddy_tree(w.k, w.state["blocks"][-1][0])
    assert same(w.image.value, FigureRenderer(72).full(fresh))


@pytest.mark.parametrize("ram", ["1G", "64G"])
def test_block_frames_is_frame_view_of_the_block(ram):
    k = km.Kernel(ram=ram, cmdline="cma=64M")
    rng = random.Random(7)
    live = [k.alloc_pages("GFP_KERNEL", rng.choice([0, 1, 3, 5, 10])) for _ in range(60)]
    for p in live[::3]:
        k.free_pages(p, p.order)
    fv = k.frame_view()
    top = k.profile.nr_page_orders - 1
    for pfn in [0, 1 << top, live[-1].pfn, k.max_pfn - 1] + [p.pfn for p in live[:8]]:
        s = (pfn >> top) << top
        e = min(s + (1 << top), k.max_pfn)
        part = P.physmem.block_frames(k, s, e)
        assert (part["owner"] == fv["owner"][s:e]).all()
        assert (part["order"] == fv["order"][s:e]).all()


def test_undo_history_is_kept_as_pickles():
    from kmemlab.widgets.base import FrozenKernel
    k = km.Kernel(ram="256M")
    w = BuddyExplorer(k)
    d = k.state_digest()
    w.btn_alloc.click()
    w.btn_alloc.click()
    assert all(isinstance(snap[0], FrozenKernel) for snap, _label in w._history)
    w.btn_undo.click()
    w.btn_undo.click()
    assert k.state_digest() == d
