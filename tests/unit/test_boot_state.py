"""Kernel(state="booted"): the API, its errors, and that the machine works afterwards.

Numbers against the real boot are in tests/fidelity/test_boot_fidelity.py.
"""

from __future__ import annotations

import pytest

import kmemlab as km
from kmemlab.boot_state import boot_data, boot_trace_path, bundled_boots


@pytest.fixture(scope="module")
def booted() -> km.Kernel:
    return km.Kernel(version="6.12", state="booted")


def test_bundled_boots() -> None:
    assert bundled_boots() == ["6.1", "6.12"]
    m = boot_data("6.12")["manifest"]
    assert m["kernel_package"].startswith("linux-image-6.12.")
    assert "trace_event=kmem:kmalloc" in m["cmdline"]
    assert boot_trace_path("6.1").endswith("trace.txt.gz")


def test_default_is_pristine() -> None:
    k = km.Kernel(version="6.12")
    assert k.state == "pristine" and k.boot_state is None
    assert "Unmovable" not in {k.profile.migratetype_names[m] for m in k.page_alloc.pageblock_mt}


def test_unknown_state_and_profile_without_recording_are_value_errors() -> None:
    with pytest.raises(ValueError, match="'pristine' or 'booted'"):
        km.Kernel(version="6.12", state="warm")
    with pytest.raises(ValueError, match="no recorded boot for Linux 3.15.*state='pristine'"):
        km.Kernel(version="3.15", state="booted")
    with pytest.raises(ValueError, match="no recorded boot"):
        boot_data("3.15")


def test_booted_machine_says_where_it_comes_from(booted) -> None:
    assert booted.state == "booted" and booted.boot_state.exact
    assert any("state=booted" in line and "linux-image-6.12" in line for line in booted.dmesg)
    assert not any("approximation" in line for line in booted.dmesg)
    assert len(booted.trace) == 0   # placing the state is not a stream of events


def test_booted_machine_is_fragmented_and_has_slab(booted) -> None:
    pa = booted.page_alloc
    names = booted.profile.migratetype_names
    types = [names[m] for m in pa.pageblock_mt[: booted.max_pfn >> pa.pageblock_order]]
    assert types.count("Unmovable") > 50 and types.count("Reclaimable") >= 1
    dma32 = booted.zones["DMA32"]
    assert sum(dma32.free_area[o].nr_free > 0 for o in range(11)) >= 9  # blocks at most orders
    real = boot_data("6.12")["proc"]["slabinfo"]
    dentries = next(int(f[1]) for f in (line.split() for line in real.splitlines())
                    if f and f[0] == "dentry")
    assert booted.slab_caches["dentry"].nr_live == dentries > 100
    assert "dentry" in booted.proc("slabinfo")


def test_booted_machine_works_and_fails_cleanly() -> None:
    k = km.Kernel(version="6.12", state="booted")
    p = k.kmalloc(100, km.GFP_KERNEL)
    assert p is not None and k.ksize(p) == 128
    k.kfree(p)
    # an object the boot left is a live allocation: it can be freed like any other
    addr = next(a for a, rec in k.slub.live.items() if rec.cache is not None
                and rec.cache.name == "dentry")
    before = k.slab_caches["dentry"].nr_live
    k.kmem_cache_free(k.slab_caches["dentry"], addr)
    assert k.slab_caches["dentry"].nr_live == before - 1
    digest = k.state_digest()
    with pytest.raises(km.KernelBug):
        k.kmem_cache_free(k.slab_caches["dentry"], addr)   # double free
    assert k.state_digest() == digest
    page = k.alloc_pages(km.GFP_KERNEL, 10)
    assert page is not None
    k.free_pages(page, 10)
    k.slub.check_consistency()


def test_other_sizes_are_an_approximation_that_says_so() -> None:
    k = km.Kernel(version="6.1", ram="512M", cpus=4, state="booted")
    assert not k.boot_state.exact
    assert any("approximation on 512 MiB / 4 CPUs" in line for line in k.dmesg)
    real = boot_data("6.1")["proc"]["slabinfo"]
    dentry_real = next(int(f[1]) for f in (line.split() for line in real.splitlines())
                       if f and f[0] == "dentry")
    assert k.slab_caches["dentry"].objects == dentry_real
    k.slub.check_consistency()


def test_booted_kernels_are_deterministic() -> None:
    a = km.Kernel(version="6.1", state="booted")
    b = km.Kernel(version="6.1", state="booted")
    assert a.state_digest() == b.state_digest()
    assert a.proc("pagetypeinfo") == b.proc("pagetypeinfo")
