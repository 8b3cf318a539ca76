"""SLUB per-CPU sheaves and the barn (Linux 6.18, mm/slub.c: alloc_from_pcs,
free_to_pcs, __pcs_replace_empty_main, __pcs_replace_full_main, barn_*).

Checked against the rules of the 6.18 source: capacity-sized bulk refills only for
gfp that may block, main/spare swaps, MAX_FULL_SHEAVES = 10 in the barn, objects in
sheaves still allocated in their slabs, shrink/destroy flush, no merging, and the
real machine's sysfs (maple_node and vm_area_struct: sheaf_capacity 32).
"""

from __future__ import annotations

import pytest

import kmemlab as km
from kmemlab import sheaves
from kmemlab.errors import KernelBug


@pytest.fixture
def k():
    return km.Kernel(version="6.18", ram="1G", cpus=2)


def test_boot_caches_with_sheaves_like_the_real_618(k):
    # /sys/kernel/slab on a real 6.18.44: maple_node 256/256/16 per slab, vm_area_struct
    # 192, align 64; both sheaf_capacity 32; every kmalloc cache 0
    m, v = k.slab_caches["maple_node"], k.slab_caches["vm_area_struct"]
    assert (m.object_size, m.align, m.objs_per_slab, m.sheaf_capacity) == (256, 256, 16, 32)
    assert (v.object_size, v.align, v.objs_per_slab, v.sheaf_capacity) == (192, 64, 21, 32)
    assert k.slab_caches["kmalloc-256"].sheaf_capacity == 0
    assert m.sysfs_name == "maple_node" and m.aliases == 0


def test_first_alloc_refills_a_whole_sheaf(k):
    c = k.kmem_cache_create("sheafy", 256, sheaf_capacity=32)
    a = k.kmem_cache_alloc(c, km.GFP_KERNEL)
    assert a is not None
    assert c.nr_live == 1 and sheaves.objects_in_sheaves(c) == 31
    assert c.objects == 32                  # the slabs count the sheaf's objects
    assert "refilled with 32 objects" in k.trace.events()[-1].why
    k.slub.check_consistency()


def test_atomic_alloc_falls_back_when_sheaves_are_empty(k):
    c = k.kmem_cache_create("sheafy", 256, sheaf_capacity=32)
    with k.context("hardirq"):
        a = k.kmem_cache_alloc(c, km.GFP_ATOMIC)
    assert a is not None and sheaves.objects_in_sheaves(c) == 0
    assert "sheaves" not in k.trace.events()[-1].why


def test_frees_fill_main_spare_then_the_barn_then_flush(k):
    c = k.kmem_cache_create("sheafy", 64, sheaf_capacity=4)
    objs = [k.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(200)]
    for o in objs:
        k.kmem_cache_free(c, o)
    pcs = c.pcs[0]
    assert len(c.barn.full) == sheaves.MAX_FULL_SHEAVES
    assert pcs.main.size <= 4 and pcs.spare is not None
    assert sheaves.objects_in_sheaves(c) <= 4 * (sheaves.MAX_FULL_SHEAVES + 2)
    assert c.nr_live == 0
    k.slub.check_consistency()
    # an alloc after that takes from the main sheaf again
    k.kmem_cache_alloc(c, km.GFP_KERNEL)
    assert "sheaves:" in k.trace.events()[-1].why


def test_shrink_flushes_every_sheaf_and_frees_empty_slabs(k):
    c = k.kmem_cache_create("sheafy", 512, sheaf_capacity=32)
    objs = [k.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(100)]
    for o in objs:
        k.kmem_cache_free(c, o)
    assert c.slabs > 0 and sheaves.objects_in_sheaves(c) > 0
    assert k.kmem_cache_shrink(c) == 0
    assert c.slabs == 0 and sheaves.objects_in_sheaves(c) == 0
    k.slub.check_consistency()


def test_destroy_with_objects_in_sheaves_only(k):
    c = k.kmem_cache_create("sheafy", 128, sheaf_capacity=8)
    k.kmem_cache_free(c, k.kmem_cache_alloc(c, km.GFP_KERNEL))
    before = k.page_alloc.zone_by_name["DMA32"].free_pages
    k.kmem_cache_destroy(c)
    assert c.destroyed
    assert k.page_alloc.zone_by_name["DMA32"].free_pages >= before


def test_caches_with_sheaves_are_not_merged(k):
    a = k.kmem_cache_create("plain_a", 200)
    b = k.kmem_cache_create("plain_b", 200)
    assert a is b                          # mergeable ones merge
    s = k.kmem_cache_create("sheafy", 200, sheaf_capacity=16)
    assert s is not a and s.aliases == 0 and s.sysfs_name == "sheafy"


def test_double_free_into_a_sheaf_is_silent_without_debugging(k):
    # mm/slub.c (6.18): slab_free -> free_to_pcs stores the pointer in the sheaf; the
    # hardened-freelist BUG_ON(object == fp) sits in set_freepointer, a path a sheaf
    # free never takes, so a stock kernel says nothing
    c = k.kmem_cache_create("sheafy", 256, sheaf_capacity=32)
    a = k.kmem_cache_alloc(c, km.GFP_KERNEL)
    k.kmem_cache_free(c, a)
    before = len(k.dmesg)
    k.kmem_cache_free(c, a)
    assert not any("BUG" in line for line in k.dmesg[before:])


def test_double_free_into_a_sheaf_cache_is_reported_with_slub_debug():
    k = km.Kernel(version="6.18", ram="1G", cpus=2, cmdline="slub_debug=F")
    c = k.kmem_cache_create("sheafy", 256, sheaf_capacity=32)
    a = k.kmem_cache_alloc(c, km.GFP_KERNEL)
    k.kmem_cache_free(c, a)
    digest = k.state_digest()
    with pytest.raises(KernelBug):
        k.kmem_cache_free(c, a)
    assert k.state_digest() == digest


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), ("32", TypeError), (True, TypeError)])
def test_sheaf_capacity_argument_checks(k, bad, exc):
    with pytest.raises(exc):
        k.kmem_cache_create("x", 64, sheaf_capacity=bad)


def test_older_kernels_have_no_sheaves():
    k612 = km.Kernel(version="6.12", ram="1G")
    with pytest.raises(ValueError, match="new in 6.18"):
        k612.kmem_cache_create("x", 64, sheaf_capacity=8)
    assert "maple_node" not in k612.slab_caches
