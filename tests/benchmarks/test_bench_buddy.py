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


def test_public_api_order0_pairs(benchmark, kernel):
    flags = km.GFP_KERNEL

    def pairs():
        for _ in range(1000):
            kernel.free_pages(kernel.alloc_pages(flags, 0))
        kernel.trace.clear()

    benchmark(pairs)


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
