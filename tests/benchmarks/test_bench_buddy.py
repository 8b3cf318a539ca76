"""Benchmarks for the page allocator (run with `make bench`)."""

import random
import tracemalloc

import pytest

import kmemlab as km


@pytest.fixture(scope="module")
def kernel():
    return km.Kernel(version="6.12", ram="1G", cpus=2)


def test_order0_alloc_free_pairs(benchmark, kernel):
    alloc, free = kernel.page_alloc.alloc_pages, kernel.page_alloc.free_pages
    flags = km.GFP_KERNEL

    def pairs():
        for _ in range(1000):
            free(alloc(flags, 0, caller="bench"))
        kernel.trace.clear()

    benchmark(pairs)
    benchmark.extra_info["pairs_per_round"] = 1000


def public_api_pairs(benchmark, k, pairs_per_round=1000):
    """``p = k.alloc_pages(GFP_KERNEL, 0); k.free_pages(p)`` with tracing on, as a
    learner's loop calls them; pairs/s (best and median round) in extra_info."""
    assert k.trace.enabled
    flags = km.GFP_KERNEL

    def pairs():
        for _ in range(pairs_per_round):
            k.free_pages(k.alloc_pages(flags, 0))
        k.trace.clear()

    benchmark(pairs)
    benchmark.extra_info["pairs_per_round"] = pairs_per_round
    stats = getattr(benchmark, "stats", None)   # None with --benchmark-disable
    if stats is not None:
        benchmark.extra_info["pairs_per_s_best"] = round(pairs_per_round / stats.stats.min)
        benchmark.extra_info["pairs_per_s_median"] = round(pairs_per_round /
                                                           stats.stats.median)


def test_public_api_order0_pairs(benchmark, kernel):
    """Issue 21 item 4: >= 400,000 pairs/s (6.12 profile, 1 GiB)."""
    public_api_pairs(benchmark, kernel)


@pytest.mark.parametrize("version", ["3.15", "6.1", "6.18"])
def test_public_api_order0_pairs_other_versions(benchmark, version):
    public_api_pairs(benchmark, km.Kernel(version=version, ram="1G", cpus=2))


def test_public_api_order0_pairs_step_by_step(benchmark):
    """The same loop on the reference path (page_alloc.fast_paths off): the baseline
    the lean path's speed-up is measured against in the same run."""
    k = km.Kernel(version="6.12", ram="1G", cpus=2)
    k.page_alloc.fast_paths = False
    public_api_pairs(benchmark, k)


def test_random_orders(benchmark, kernel):
    rng = random.Random(1)
    orders = [rng.randint(0, 10) for _ in range(1000)]
    alloc, free = kernel.page_alloc.alloc_pages, kernel.page_alloc.free_pages
    flags = km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN")

    def run():
        held = []
        for o in orders:
            p = alloc(flags, o, caller="bench")
            if p is not None:
                held.append(p)
            if len(held) > 50:
                free(held.pop(rng.randrange(len(held))))
        for p in held:
            free(p)
        kernel.trace.clear()

    benchmark(run)


@pytest.mark.parametrize("ram", ["1G", "16G", "64G"])
def test_boot(benchmark, ram):
    benchmark.pedantic(lambda: km.Kernel(ram=ram), rounds=3, iterations=1)
    tracemalloc.start()
    km.Kernel(ram=ram)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    benchmark.extra_info["peak_MB"] = round(peak / 1e6, 1)
