"""Cache geometry: calculate_sizes, calculate_order, min_partial, cpu_partial, merging."""

from __future__ import annotations

import pytest
from slub_helpers import boot

from kmemlab import slab_common as sc
from kmemlab import slub

# linux-mm-facts.md 4.5, derived results (no debug, slub_max_order 3)
TABLE_4_CPUS = {8: (0, 512), 64: (0, 64), 96: (0, 42), 192: (0, 21), 256: (0, 16),
                512: (1, 16), 1024: (2, 16), 2048: (3, 16), 4096: (3, 8), 8192: (3, 4)}
TABLE_8_CPUS = {256: (1, 32), 512: (2, 32), 1024: (3, 32)}


@pytest.mark.parametrize("algorithm", ["slab_order", "calc_slab_order"])
def test_order_tables_from_facts_sheet(algorithm):
    for size, (order, objs) in TABLE_4_CPUS.items():
        o = slub.calculate_order(size, 4, algorithm=algorithm)
        assert (o, slub.order_objects(o, size)) == (order, objs), size
    for size, (order, objs) in TABLE_8_CPUS.items():
        o = slub.calculate_order(size, 8, algorithm=algorithm)
        assert (o, slub.order_objects(o, size)) == (order, objs), size


def test_the_two_algorithms_differ_for_large_objects():
    # facts 4.5: size 10928 with 4 CPUs: old o2/1 object, 6.12 o3/2 objects
    assert slub.calculate_order(10928, 4, algorithm="slab_order") == 2
    assert slub.calculate_order(10928, 4, algorithm="calc_slab_order") == 3
    # the two agree on every kmalloc size for 1..64 CPUs
    for cpus in (1, 2, 3, 4, 8, 16, 64):
        for size in (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192):
            assert slub.calculate_order(size, cpus, algorithm="slab_order") == \
                slub.calculate_order(size, cpus, algorithm="calc_slab_order")


@pytest.mark.parametrize("cpus,table", [(4, TABLE_4_CPUS), (8, TABLE_8_CPUS)])
def test_booted_kmalloc_geometry(version, cpus, table):
    k = boot(version, cpus=cpus)
    for size, (order, objs) in table.items():
        name = f"kmalloc-{size}" if version == "3.15" or size < 1024 else \
            f"kmalloc-{size // 1024}k"
        c = k.slub.slab_caches[name]
        assert (c.order, c.objs_per_slab, c.slab_size, c.object_size) == \
            (order, objs, size, size)


def test_kmalloc_alignment_per_version():
    assert sc.kmalloc_cache_align(96, "minalign") == 8
    assert sc.kmalloc_cache_align(64, "minalign") == 8
    assert sc.kmalloc_cache_align(64, "pow2") == 64
    assert sc.kmalloc_cache_align(96, "pow2") == 8
    assert sc.kmalloc_cache_align(96, "pow2_divisor") == 32
    assert sc.kmalloc_cache_align(192, "pow2_divisor") == 64
    assert sc.kmalloc_cache_align(8192, "pow2_divisor") == 8192
    got = {v: (boot(v).slub.slab_caches[n96].align, boot(v).slub.slab_caches[n1k].align)
           for v, n96, n1k in (("3.15", "kmalloc-96", "kmalloc-1024"),
                               ("6.1", "kmalloc-96", "kmalloc-1k"),
                               ("6.12", "kmalloc-96", "kmalloc-1k"))}
    assert got == {"3.15": (8, 8), "6.1": (8, 1024), "6.12": (32, 1024)}


def test_calculate_alignment_hwcache():
    f = sc.SLAB_HWCACHE_ALIGN
    assert sc.calculate_alignment(f, 0, 200) == 64
    assert sc.calculate_alignment(f, 0, 20) == 32     # 64 halved while size <= ralign/2
    assert sc.calculate_alignment(f, 0, 8) == 8
    assert sc.calculate_alignment(0, 0, 200) == 8
    assert sc.calculate_alignment(0, 4, 200) == 8
    assert sc.calculate_alignment(f, 128, 20) == 128


@pytest.mark.parametrize("version,offset_plain", [("3.15", 0), ("6.1", 48), ("6.12", 48)])
def test_free_pointer_placement(version, offset_plain):
    k = boot(version)
    s = k.slub
    plain = s.kmem_cache_create("plain_obj", 100)
    assert (plain.offset, plain.slab_size) == (offset_plain, 104)
    ctor = s.kmem_cache_create("ctor_obj", 100, ctor=lambda obj: None)
    assert (ctor.offset, ctor.slab_size, ctor.inuse) == (104, 112, 112)
    flag = sc.SLAB_DESTROY_BY_RCU if version == "3.15" else sc.SLAB_TYPESAFE_BY_RCU
    rcu = s.kmem_cache_create("rcu_obj", 100, flags=flag)
    assert (rcu.offset, rcu.slab_size) == (104, 112)
    assert s.ksize(s.kmem_cache_alloc(rcu, "GFP_KERNEL")) == 112   # inuse
    poison = s.kmem_cache_create("poison_obj", 100, flags=sc.SLAB_POISON)
    assert (poison.offset, poison.cpu_partial) == (104, 0)
    assert s.ksize(s.kmem_cache_alloc(poison, "GFP_KERNEL")) == 100  # object_size
    hw = s.kmem_cache_create("hw_obj", 100, flags="SLAB_HWCACHE_ALIGN")
    if version == "3.15":   # 3.15: a 128-byte slot, 64-aligned: aliases kmalloc-128
        assert hw.name == "kmalloc-128" and "hw_obj" in hw.alias_names
    else:
        assert (hw.align, hw.slab_size) == (64, 128)


def test_min_partial_and_cpu_partial():
    assert [slub.min_partial_for(n) for n in (8, 2048, 4095, 4096, 8192, 16384, 1 << 20)] == \
        [5, 5, 5, 6, 6, 7, 10]
    r315, r612 = slub.rules_for("3.15"), slub.rules_for("6.12")
    assert [slub.cpu_partial_for(n, r315) for n in (8, 256, 1024, 4096)] == [30, 13, 6, 2]
    assert [slub.cpu_partial_for(n, r612) for n in (8, 256, 1024, 4096)] == [120, 52, 24, 6]
    k = boot("6.12")
    c = k.slub.slab_caches["kmalloc-64"]
    assert (c.cpu_partial, c.cpu_partial_slabs) == (120, 4)   # ceil(120 * 2 / 64)
    assert k.slub.slab_caches["kmalloc-8k"].cpu_partial_slabs == 3


def test_boot_params_change_order():
    k = boot("6.12", cmdline="slub_max_order=0")
    assert k.slub.slab_caches["kmalloc-8k"].order == 1           # get_order(8192) fallback
    assert k.slub.slab_caches["kmalloc-512"].order == 0
    k = boot("6.12", cmdline="slub_min_objects=64")
    assert k.slub.slab_caches["kmalloc-256"].order == 2
    k = boot("3.15", cmdline="slub_min_order=2")
    assert k.slub.slab_caches["kmalloc-8"].order == 2


def test_unique_ids():
    assert sc.create_unique_id(0, 24, "6.12") == ":0000024"
    assert sc.create_unique_id(sc.SLAB_ACCOUNT, 192, "6.12") == ":A-0000192"
    assert sc.create_unique_id(sc.SLAB_RECLAIM_ACCOUNT | sc.SLAB_CACHE_DMA, 64, "6.1") == \
        ":da-0000064"
    assert sc.create_unique_id(0, 64, "3.15") == ":t-0000064"
    assert sc.create_unique_id(sc.SLAB_CACHE_DMA, 8, "3.15") == ":dt-0000008"


def test_merging_315_kmalloc_caches_are_targets():
    k = boot("3.15")
    s = k.slub
    c = s.kmem_cache_create("my60", 60)
    assert c.name == "kmalloc-64" and c.aliases == 1 and c.alias_names == ["my60"]
    assert s.slab_caches["my60"] is c
    assert s.slab_caches[":t-0000064"] is c and s.slab_caches["kmalloc-64"] is c
    # 56 bytes: 64 - 56 >= 8 → not merged
    d = s.kmem_cache_create("my56", 56)
    assert d.name == "my56"
    # a constructor never merges
    e = s.kmem_cache_create("my64c", 64, ctor=lambda o: None)
    assert e.name == "my64c" and "my64c" in s.slab_caches
    # kmalloc-64's line is still alone in slabinfo
    assert sum(1 for ln in s.slabinfo_text().splitlines() if ln.startswith("my60")) == 0


@pytest.mark.parametrize("version", ["6.1", "6.12"])
def test_merging_6x(version):
    k = boot(version)
    s = k.slub
    a = s.kmem_cache_create("first24", 24)
    assert a.name == "first24" and a.sysfs_name == ":0000024"
    b = s.kmem_cache_create("second20", 20)          # ALIGN(20, 8) = 24 → merge
    assert b is a and a.aliases == 1 and a.object_size == 24
    c = s.kmem_cache_create("acct24", 24, flags=sc.SLAB_ACCOUNT)  # merge-same flags differ
    assert c is not a and c.sysfs_name == ":A-0000024"
    d = s.kmem_cache_create("small60", 60)
    assert d.name == "small60"                       # kmalloc-64 is never a target on 6.x
    s.kmem_cache_destroy("second20")
    assert a.aliases == 0 and "second20" not in s.slab_caches
    k2 = boot(version, cmdline="slab_nomerge")
    x = k2.slub.kmem_cache_create("x24", 24)
    y = k2.slub.kmem_cache_create("y24", 24)
    assert x is not y and x.sysfs_name == "x24"


def test_slab_flags_checked_per_version():
    k = boot("3.15")
    with pytest.raises(ValueError, match="SLAB_ACCOUNT does not exist in Linux 3.15"):
        k.slub.kmem_cache_create("a", 32, flags="SLAB_ACCOUNT")
    with pytest.raises(ValueError, match="renamed SLAB_TYPESAFE_BY_RCU"):
        boot("6.12").slub.kmem_cache_create("b", 32, flags="SLAB_DESTROY_BY_RCU")
    with pytest.raises(ValueError, match="unknown slab flag"):
        k.slub.kmem_cache_create("c", 32, flags="SLAB_BOGUS")
    with pytest.raises(TypeError):
        k.slub.kmem_cache_create("d", 32, flags=1.5)
    with pytest.raises(ValueError, match="not modelled"):
        k.slub.kmem_cache_create("e", 32, flags=sc.SLAB_RED_ZONE)


def test_too_large_cache_fails_like_the_kernel():
    k = boot("6.12")
    assert k.slub.kmem_cache_create("huge", (4 << 20) + 8) is None
    assert any("kmem_cache_create(huge) failed with error -22" in ln for ln in k.dmesg)
    big = k.slub.kmem_cache_create("big", 3 << 20)
    assert big.order == 10 and big.objs_per_slab == 1
