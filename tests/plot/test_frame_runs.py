"""frame_runs (the frame map as runs, from the block tables) equals frame_categories (the
per-frame array from k.frame_view()), and aggregate_runs equals aggregate_frames."""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest

import kmemlab as km
from kmemlab.page_alloc import OWNER_CODE, OWNER_NAMES
from kmemlab.plot.physmem import (
    aggregate_frames,
    aggregate_runs,
    frame_categories,
    frame_runs,
)


def check_equal(k):
    cat = frame_categories(k)
    runs = frame_runs(k)
    assert runs is not None
    s, e, c = runs
    assert s[0] == 0 and e[-1] == k.max_pfn and (s[1:] == e[:-1]).all()   # cover, disjoint
    assert (np.repeat(c, e - s) == cat).all()
    ncat = len(OWNER_NAMES) + k.profile.nr_page_orders
    for fpp in (2, 7, 64, max(2, -(-k.max_pfn // 2000))):
        got_mode, got_tot = aggregate_runs(s, e, c, k.max_pfn, fpp, ncat)
        want_mode, want_tot = aggregate_frames(cat, fpp, ncat)
        assert (got_mode == want_mode).all() and (got_tot == want_tot).all()


def churn(k, rng, steps):
    pages, objs, areas = [], [], []
    for _ in range(steps):
        op = rng.random()
        if op < 0.35:
            p = k.alloc_pages("GFP_KERNEL", rng.choice([0, 0, 1, 2, 3, 5, 9]))
            if p is not None:
                pages.append(p)
        elif op < 0.55:
            a = k.kmalloc(rng.choice([8, 100, 700, 5000, 40000]), "GFP_KERNEL")
            if a:
                objs.append(a)
        elif op < 0.62:
            v = k.vmalloc(rng.choice([4096, 3 * 4096, 64 * 1024]))
            if v:
                areas.append(v)
        elif op < 0.85 and pages:
            k.free_pages(pages.pop(rng.randrange(len(pages))))
        elif op < 0.95 and objs:
            k.kfree(objs.pop(rng.randrange(len(objs))))
        elif areas:
            k.vfree(areas.pop(rng.randrange(len(areas))))


@pytest.mark.parametrize("version,arch", list(km.PROFILES))
def test_runs_equal_frames_on_every_profile(version, arch):
    k = km.Kernel(version=version, arch=arch, ram="256M", cpus=2)
    check_equal(k)                                  # right after boot
    rng = random.Random(f"{version}/{arch}")
    for _ in range(4):
        churn(k, rng, 150)
        check_equal(k)


@pytest.mark.parametrize("ram,cmdline", [("1G", ""), ("4G", "mem=3000M"), ("64G", ""),
                                         ("512M", "cma=64M"), ("3G", "")])
def test_runs_equal_frames_on_machines_with_holes(ram, cmdline):
    k = km.Kernel(ram=ram, cmdline=cmdline)
    check_equal(k)
    churn(k, random.Random(ram), 200)
    check_equal(k)


def fake_kernel(n, memory, free=(), allocated=(), pcp=()):
    """Only what frame_runs and frame_view read."""
    ps = 4096
    k = SimpleNamespace(max_pfn=n, PAGE_SIZE=ps, PAGE_SHIFT=12,
                        profile=SimpleNamespace(nr_page_orders=11))
    k.memblock = SimpleNamespace(memory=[SimpleNamespace(base=b, end=e, size=e - b)
                                         for b, e in memory])
    k.page_alloc = SimpleNamespace(
        free_blocks={p: (o, 0) for p, o in free},
        allocated={p: SimpleNamespace(order=o, owner=w) for p, o, w in allocated},
        pcp_pages={p: (0, 0, o, 0) for p, o in pcp},
        zones=[])
    k.frame_view = lambda: km.Kernel.frame_view(k)
    return k


def test_edges_partial_pages_overlapping_regions_blocks_past_the_end():
    # a region starting mid-page, two overlapping regions, one touching, a hole at the
    # end, a block running past max_pfn, an allocated owner unknown to the map ("other")
    k = fake_kernel(64, [(100, 10 * 4096), (8 * 4096, 20 * 4096), (20 * 4096, 30 * 4096),
                         (40 * 4096, 90 * 4096)],
                    free=[(2, 1), (16, 2), (60, 3)], allocated=[(8, 0, "slab"),
                                                                (24, 1, "mystery")],
                    pcp=[(44, 0)])
    s, e, c = frame_runs(k)
    assert (np.repeat(c, e - s) == frame_categories(k)).all()
    assert c[0] == OWNER_CODE["hole"]           # page 0 is only partly RAM: a hole


def test_overlapping_blocks_fall_back_to_the_per_frame_path():
    k = fake_kernel(32, [(0, 32 * 4096)], free=[(0, 3)], pcp=[(4, 0)])
    assert frame_runs(k) is None
