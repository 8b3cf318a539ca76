"""kmalloc + kfree pairs per second, mixed sizes 1..8192 (target ≥ 300,000 pairs/s).

Run with ``make bench`` (the normal test run passes --benchmark-skip).
"""

from __future__ import annotations

import random

import pytest

import kmemlab as km

PAIRS = 20_000


def _setup(trace: bool):
    k = km.Kernel(version="6.12", ram="1G", cpus=2)
    k.trace.enabled = trace
    rng = random.Random(1)
    sizes = [rng.randint(1, 8192) for _ in range(4096)]
    return k.slub, sizes


def _pairs(slub, sizes, gfp):
    kmalloc, kfree = slub.kmalloc, slub.kfree
    for i in range(PAIRS):
        kfree(kmalloc(sizes[i & 4095], gfp, caller="bench"), caller="bench")


@pytest.mark.parametrize("trace", [True, False], ids=["trace_on", "trace_off"])
def test_bench_kmalloc_kfree_pairs(benchmark, trace):
    slub, sizes = _setup(trace)
    benchmark.extra_info["pairs_per_round"] = PAIRS
    benchmark.pedantic(_pairs, args=(slub, sizes, km.GFP_KERNEL), rounds=5, iterations=1)
    pairs_per_s = PAIRS / benchmark.stats.stats.mean
    benchmark.extra_info["pairs_per_s"] = round(pairs_per_s)
    slub.check_consistency()
