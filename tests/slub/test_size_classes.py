"""kmalloc size → cache, names per version, ksize (linux-mm-facts.md 4.1-4.3)."""

from __future__ import annotations

import pytest
from slub_helpers import PROFILES, boot

import kmemlab as km
from kmemlab import slab_common as sc


def expected_class(size: int) -> int:
    """The size_index / fls rule written independently of the implementation."""
    if size <= 8:
        return 8
    if size <= 16:
        return 16
    if size <= 32:
        return 32
    if size <= 64:
        return 64
    if size <= 96:
        return 96
    if size <= 128:
        return 128
    if size <= 192:
        return 192
    c = 256
    while c < size:
        c *= 2
    return c


def name_315(size: int, prefix: str = "kmalloc-") -> str:
    return f"{prefix}{size}"


def name_6x(size: int, prefix: str = "kmalloc-") -> str:
    return prefix + (f"{size // 1024}k" if size >= 1024 else str(size))


def test_size_index_table_matches_kernel():
    # mm/slab_common.c: kmalloc_size_index[24]
    assert sc.SIZE_INDEX == (3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7,
                             2, 2, 2, 2, 2, 2, 2, 2)
    assert sc.kmalloc_index(0) == 0
    assert sc.kmalloc_index(8193) == -1
    for size in range(1, 8193):
        assert sc.kmalloc_size(sc.kmalloc_index(size)) == expected_class(size), size


@pytest.mark.parametrize("version,arch", PROFILES)
def test_every_size_to_cache_name(version, arch):
    k = boot(version, arch)
    name = name_315 if version == "3.15" else name_6x
    for size in range(1, 8193):
        c = k.slub.kmalloc_cache(size, km.GFP_KERNEL)
        assert c.name == name(expected_class(size)), size
        assert c.object_size == expected_class(size)
    for size in (0, 8193, 16384, 1 << 20, 4 << 20, (4 << 20) + 1):
        assert k.slub.kmalloc_cache(size, km.GFP_KERNEL) is None


@pytest.mark.parametrize("version", ["6.1", "6.12"])
def test_kmalloc_type_caches_6x(version):
    k = boot(version)
    s = k.slub
    rcl = km.GFP_KERNEL | km.flag("__GFP_RECLAIMABLE")
    acct = km.flag("GFP_KERNEL_ACCOUNT")
    dma = km.GFP_KERNEL | km.GFP_DMA
    for size in (1, 8, 96, 100, 192, 1000, 8192):
        cls = expected_class(size)
        assert s.kmalloc_cache(size, rcl).name == name_6x(cls, "kmalloc-rcl-")
        assert s.kmalloc_cache(size, acct).name == name_6x(cls, "kmalloc-cg-")
        assert s.kmalloc_cache(size, dma).name == name_6x(cls, "dma-kmalloc-")
        # priority: DMA > RECLAIMABLE > ACCOUNT (include/linux/slab.h: kmalloc_type)
        assert s.kmalloc_cache(size, dma | km.flag("__GFP_RECLAIMABLE")).name.startswith("dma-")
        assert s.kmalloc_cache(size, acct | km.flag("__GFP_RECLAIMABLE")).name.startswith(
            "kmalloc-rcl-")
        # no DMA32 kmalloc caches
        assert s.kmalloc_cache(size, km.GFP_KERNEL | km.GFP_DMA32).name == name_6x(cls)


def test_kmalloc_types_315():
    k = boot("3.15")
    s = k.slub
    assert s.kmalloc_cache(100, km.GFP_KERNEL | km.GFP_DMA).name == "dma-kmalloc-128"
    # 3.15 has no reclaimable or memcg kmalloc caches
    assert s.kmalloc_cache(100, km.flag("GFP_TEMPORARY")).name == "kmalloc-128"
    names = set(s.slab_caches)
    assert "kmalloc-8192" in names and "kmalloc-8k" not in names
    assert not any(n.startswith(("kmalloc-rcl", "kmalloc-cg")) for n in names)


def test_cache_sets_per_version():
    k315 = boot("3.15")
    assert len(k315.slub.caches) == 2 * 13      # kmalloc + dma-kmalloc, 8 .. 8192 + 96/192
    for v in ("6.1", "6.12"):
        k = boot(v)
        assert len(k.slub.caches) == 4 * 13
        assert {"kmalloc-8k", "kmalloc-rcl-8k", "kmalloc-cg-8k", "dma-kmalloc-8k"} <= set(
            k.slab_caches if hasattr(k, "slab_caches") else k.slub.slab_caches)


@pytest.mark.parametrize("version,arch", PROFILES)
def test_ksize_examples(version, arch):
    k = boot(version, arch)
    s = k.slub
    assert s.ksize(None) == 0
    assert s.ksize(0x10) == 0
    for req, expected in ((1, 8), (100, 128), (8193, 16384), (96, 96), (4097, 8192)):
        p = s.kmalloc(req, km.GFP_KERNEL)
        assert s.ksize(p) == expected, req
        s.kfree(p)


def test_kmalloc_zero_and_free_null():
    k = boot()
    s = k.slub
    assert s.kmalloc(0, km.GFP_KERNEL) == 0x10
    before = len(k.trace)
    s.kfree(None)
    s.kfree(0x10)
    # both do nothing, but the kfree tracepoint fires before the NULL check
    assert [e.name for e in k.trace[before:]] == ["kfree", "kfree"]


def test_get_order_boundaries():
    assert sc.get_order(1) == 0
    assert sc.get_order(4096) == 0
    assert sc.get_order(4097) == 1
    assert sc.get_order(8193) == 2
    assert sc.get_order(4 << 20) == 10
    assert sc.get_order((4 << 20) + 1) == 11
