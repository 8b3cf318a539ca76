"""kmalloc + kfree pairs per second, mixed sizes 1..8192, and kmem_cache_alloc +
kmem_cache_free pairs (issue 21 item 4: ≥ 800,000 kmalloc+kfree pairs/s through the
public API with tracing on, on a quiet machine).

``test_bench_kmalloc_kfree_pairs`` goes through the public API as a notebook does:
``k.kmalloc(size, gfp)`` / ``k.kfree(ptr)`` without a caller, so the call site comes
from the caller's frame. ``test_bench_slub_kmalloc_kfree_pairs`` calls the allocator
object with an explicit call site (what the figures before issue 21 measured).

``test_bench_kmalloc_figure`` is the README's figure itself (tools/speed_figures.py:
``kmalloc``): a 1 GiB kernel booted and 20,000 pairs of 12 sizes, boot included
(issue 21 item 4, third round: boot is a sixth of it no more). ``test_bench_boot``
times that boot alone.

Run with ``make bench`` (the normal test run passes --benchmark-skip).
"""

from __future__ import annotations

import random

import pytest

import kmemlab as km

PAIRS = 20_000


def _setup(trace: bool, version: str = "6.12"):
    k = km.Kernel(version=version, ram="1G", cpus=2)
    k.trace.enabled = trace
    rng = random.Random(1)
    sizes = [rng.randint(1, 8192) for _ in range(4096)]
    return k, sizes


def _public_pairs(k, sizes, gfp):
    kmalloc, kfree = k.kmalloc, k.kfree
    for i in range(PAIRS):
        kfree(kmalloc(sizes[i & 4095], gfp))


def _slub_pairs(slub, sizes, gfp):
    kmalloc, kfree = slub.kmalloc, slub.kfree
    for i in range(PAIRS):
        kfree(kmalloc(sizes[i & 4095], gfp, caller="bench"), caller="bench")


def _cache_pairs(k, cache, gfp):
    alloc, free = k.kmem_cache_alloc, k.kmem_cache_free
    for _ in range(PAIRS):
        free(cache, alloc(cache, gfp))


def _report(benchmark) -> None:
    benchmark.extra_info["pairs_per_round"] = PAIRS
    benchmark.extra_info["pairs_per_s"] = round(PAIRS / benchmark.stats.stats.mean)


@pytest.mark.parametrize("version", ["3.15", "6.1", "6.12", "6.18"])
@pytest.mark.parametrize("trace", [True, False], ids=["trace_on", "trace_off"])
def test_bench_kmalloc_kfree_pairs(benchmark, trace, version):
    if version != "6.12" and not trace:
        pytest.skip("tracing off is measured on 6.12")
    k, sizes = _setup(trace, version)
    benchmark.pedantic(_public_pairs, args=(k, sizes, km.GFP_KERNEL), rounds=5, iterations=1)
    _report(benchmark)
    k.slub.check_consistency()


@pytest.mark.parametrize("trace", [True, False], ids=["trace_on", "trace_off"])
def test_bench_slub_kmalloc_kfree_pairs(benchmark, trace):
    k, sizes = _setup(trace)
    benchmark.pedantic(_slub_pairs, args=(k.slub, sizes, km.GFP_KERNEL), rounds=5,
                       iterations=1)
    _report(benchmark)
    k.slub.check_consistency()


@pytest.mark.parametrize("version", ["3.15", "6.12", "6.18"])
def test_bench_kmem_cache_alloc_free_pairs(benchmark, version):
    k, _ = _setup(True, version)
    cache = k.kmem_cache_create("bench_cache", 200)
    benchmark.pedantic(_cache_pairs, args=(k, cache, km.GFP_KERNEL), rounds=5, iterations=1)
    _report(benchmark)
    k.slub.check_consistency()


FIGURE_SIZES = [8, 24, 64, 100, 200, 512, 1000, 3000, 4096, 8192, 1, 5000]


def _figure(trace: bool) -> None:
    """tools/speed_figures.py: kmalloc(n, trace) with n = PAIRS."""
    k = km.Kernel(ram="1G")
    k.trace.enabled = trace
    g = km.GFP_KERNEL
    for i in range(PAIRS):
        k.kfree(k.kmalloc(FIGURE_SIZES[i % 12], g))


@pytest.mark.parametrize("trace", [True, False], ids=["trace_on", "trace_off"])
def test_bench_kmalloc_figure(benchmark, trace):
    benchmark.pedantic(_figure, args=(trace,), rounds=5, iterations=1)
    _report(benchmark)


def test_bench_boot(benchmark):
    benchmark.pedantic(lambda: km.Kernel(ram="1G"), rounds=10, iterations=1)
