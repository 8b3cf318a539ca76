"""Kernel bugs (SLUB debug style reports + KernelBug, state unchanged) and API misuse."""

from __future__ import annotations

import pytest
from slub_helpers import boot, snapshot

import kmemlab as km
from kmemlab.errors import KernelBug

GK = km.GFP_KERNEL


def setup(version="6.12"):
    k = boot(version)
    s = k.slub
    c = s.kmem_cache_create("bug_obj", 96, flags="SLAB_HWCACHE_ALIGN")
    objs = [s.kmem_cache_alloc(c, GK) for _ in range(5)]
    p = s.kmalloc(64, GK)
    return k, s, c, objs, p


def expect_bug(k, fn, *texts):
    before = snapshot(k)
    n = len(k.dmesg)
    with pytest.raises(KernelBug) as exc:
        fn()
    log = "\n".join(k.dmesg[n:])
    for t in texts:
        assert t in log, (t, log)
    assert exc.value.report and all(line in log for line in exc.value.report if line)
    assert snapshot(k) == before          # nothing changed
    k.slub.check_consistency()
    return log


def test_double_free(version):
    k, s, c, objs, p = setup(version)
    s.kfree(p)
    log = expect_bug(k, lambda: s.kfree(p), "Object already free", "FIX ",
                     f"Object at 0x{p:016x} not freed")
    assert "BUG kmalloc-64 (Not tainted): Object already free" in log
    s.kmem_cache_free(c, objs[0])
    log = expect_bug(k, lambda: s.kmem_cache_free(c, objs[0]), "Object already free")
    assert "(Tainted: G    B)" in log       # the first BUG tainted the kernel


def test_pointer_inside_object():
    k, s, c, objs, p = setup()
    log = expect_bug(k, lambda: s.kfree(p + 8), "Invalid object pointer",
                     "8 bytes inside object")
    assert f"BUG kmalloc-64 (Not tainted): Invalid object pointer 0x{p + 8:016x}" in log
    expect_bug(k, lambda: s.kmem_cache_free(c, objs[1] + 1), "Invalid object pointer")


def test_never_allocated_slot_and_address():
    k, s, c, objs, p = setup()
    slab = s.slabs_of(s.slab_caches["kmalloc-64"])[0]
    never = slab.base + 40 * 64                        # a slot nobody got yet
    expect_bug(k, lambda: s.kfree(never), "Object already free")
    page = k.page_alloc.alloc_pages(GK, 0, owner="pages")
    addr = k.pfn_to_virt(page.pfn)
    expect_bug(k, lambda: s.kfree(addr), "object pointer:", "never returned by kmalloc")
    expect_bug(k, lambda: s.kfree(0xDEAD0000), "unable to handle page fault")
    big = s.kmalloc(20000, GK)
    expect_bug(k, lambda: s.kfree(big + 4096), "inside the kmalloc_large allocation")


@pytest.mark.parametrize("version", ["3.15", "6.12"])
def test_wrong_cache(version):
    k = boot(version)
    s = k.slub
    a = s.kmem_cache_create("cache_a", 200, ctor=lambda o: None)   # ctor: never merged
    b = s.kmem_cache_create("cache_b", 200, ctor=lambda o: None)
    o = s.kmem_cache_alloc(a, GK)
    if version == "3.15":   # the 3.15 message swaps the two names
        text = "cache_from_obj: Wrong slab cache. cache_a but object is from cache_b"
    else:
        text = "cache_from_obj: Wrong slab cache. cache_b but object is from cache_a"
    expect_bug(k, lambda: s.kmem_cache_free(b, o), text)
    p = s.kmalloc(10, GK)
    expect_bug(k, lambda: s.kmem_cache_free(b, p), "Wrong slab cache")
    expect_bug(k, lambda: s.kmem_cache_free(b, None), "Object is not a Slab page")


@pytest.mark.parametrize("version,fn", [("3.15", "kmem_cache_close()"),
                                        ("6.12", "__kmem_cache_shutdown()")])
def test_destroy_with_objects(version, fn):
    k = boot(version)
    s = k.slub
    c = s.kmem_cache_create("leaky", 300, ctor=lambda o: None)
    o = s.kmem_cache_alloc(c, GK)
    log = expect_bug(k, lambda: s.kmem_cache_destroy(c),
                     f"Objects remaining in leaky on {fn}",
                     f"Object 0x{o:016x} @offset=",
                     "kmem_cache_destroy leaky: Slab cache still has objects")
    assert "BUG leaky" in log
    s.kmem_cache_free(c, o)
    s.kmem_cache_destroy(c)
    assert "leaky" not in s.slab_caches


def test_bad_gfp_is_a_bug_on_315():
    k = boot("3.15")
    expect_bug(k, lambda: k.slub.kmalloc(32, GK | km.flag("__GFP_HIGHMEM")),
               "kernel BUG at mm/slub.c")


@pytest.mark.parametrize("call,exc", [
    (lambda s: s.kmalloc(-1, GK), ValueError),
    (lambda s: s.kmalloc(1.5, GK), TypeError),
    (lambda s: s.kmalloc(True, GK), TypeError),
    (lambda s: s.kmalloc("12X", GK), ValueError),
    (lambda s: s.kmalloc(10, [1]), TypeError),
    (lambda s: s.kmalloc(10, "GFP_NOPE"), ValueError),
    (lambda s: s.kmalloc(10, km.flag("__GFP_WAIT")), ValueError),   # not in 6.12
    (lambda s: s.kfree("0x1000"), TypeError),
    (lambda s: s.kfree([1]), TypeError),
    (lambda s: s.kfree(-5), ValueError),
    (lambda s: s.kcalloc(-1, 4, GK), ValueError),
    (lambda s: s.kmem_cache_create(5, 10), TypeError),
    (lambda s: s.kmem_cache_create("has space", 10), ValueError),
    (lambda s: s.kmem_cache_create("zero", 0), ValueError),
    (lambda s: s.kmem_cache_create("algn", 10, align=3), ValueError),
    (lambda s: s.kmem_cache_create("c", 10, ctor=5), TypeError),
    (lambda s: s.kmem_cache_create("kmalloc-64", 10), ValueError),
    (lambda s: s.kmem_cache_alloc("no_such_cache", GK), ValueError),
    (lambda s: s.kmem_cache_alloc(42, GK), TypeError),
    (lambda s: s.kmem_cache_destroy("kmalloc-64"), ValueError),
])
def test_python_misuse(call, exc):
    k = boot("6.12")
    k.slub.kmalloc(100, GK)
    before = snapshot(k)
    n = len(k.dmesg)
    with pytest.raises(exc):
        call(k.slub)
    assert snapshot(k) == before and len(k.dmesg) == n


def test_string_sizes_and_gfp_strings():
    k = boot("6.12")
    p = k.slub.kmalloc("4K", "GFP_KERNEL|__GFP_ZERO")
    assert k.slub.ksize(p) == 4096
