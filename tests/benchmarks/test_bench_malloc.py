"""Benchmarks for the glibc malloc model (run with ``pytest --benchmark-only``).

Target: at least 300,000 malloc+free pairs per second with mixed sizes, events on.
"""

from __future__ import annotations

import random

import pytest

from kmemlab.user.malloc import GlibcMalloc

PAIRS = 2000


def _mixed_sizes(n: int) -> list[int]:
    """Mostly tcache-sized requests, some larger ones that go through the bins."""
    r = random.Random(7)
    return [r.randint(1, 1032) if r.random() < 0.85 else r.randint(1033, 8192) for _ in range(n)]


@pytest.mark.parametrize("window", [1, 16], ids=["free-at-once", "16-live"])
def test_malloc_free_pairs_mixed_sizes(benchmark, window: int) -> None:
    sizes = _mixed_sizes(PAIRS)
    a = GlibcMalloc()
    ring: list[int | None] = [None] * window
    malloc, free = a.malloc, a.free

    def pairs() -> None:
        k = 0
        for s in sizes:
            old = ring[k]
            ring[k] = malloc(s)
            free(old)
            k = (k + 1) % window
        a.events.clear()

    benchmark(pairs)
    benchmark.extra_info["pairs_per_round"] = PAIRS
    benchmark.extra_info["pairs_per_second"] = round(PAIRS / benchmark.stats.stats.mean)


def test_malloc_free_pairs_tcache_only(benchmark) -> None:
    sizes = [24, 40, 64, 100, 200, 500, 1000, 48] * (PAIRS // 8)
    a = GlibcMalloc()
    malloc, free = a.malloc, a.free

    def pairs() -> None:
        for s in sizes:
            free(malloc(s))
        a.events.clear()

    benchmark(pairs)
    benchmark.extra_info["pairs_per_second"] = round(PAIRS / benchmark.stats.stats.mean)
