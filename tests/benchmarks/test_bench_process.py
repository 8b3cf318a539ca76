"""Benchmarks for the process layer (run with ``pytest --benchmark-only``).

``proc.malloc`` + ``proc.free`` pairs per second, against the bare malloc model with the
same sizes: the difference is what the process layer (the store hook that faults pages
in, the abort handling) costs. Target: at least 300,000 pairs per second in the model.
"""

from __future__ import annotations

import random

import pytest

import kmemlab as km
from kmemlab.user.malloc import GlibcMalloc

PAIRS = 2000


def _sizes(n: int) -> list[int]:
    r = random.Random(7)
    return [r.randint(1, 1032) if r.random() < 0.85 else r.randint(1033, 8192) for _ in range(n)]


def _run(benchmark, malloc, free, events: list) -> None:
    sizes = _sizes(PAIRS)
    ring: list[int | None] = [None] * 16

    def pairs() -> None:
        k = 0
        for s in sizes:
            old = ring[k]
            ring[k] = malloc(s)
            free(old)
            k = (k + 1) % 16
        events.clear()

    benchmark(pairs)
    benchmark.extra_info["pairs_per_second"] = round(PAIRS / benchmark.stats.stats.mean)


def test_process_malloc_free_pairs(benchmark) -> None:
    k = km.Kernel(version="6.12", ram="1G")
    p = k.spawn("bench")
    _run(benchmark, p.malloc, p.free, p.events)


def test_bare_model_malloc_free_pairs(benchmark) -> None:
    a = GlibcMalloc()
    _run(benchmark, a.malloc, a.free, a.events)


@pytest.mark.parametrize("pages", [4096])
def test_write_faults_per_second(benchmark, pages: int) -> None:
    k = km.Kernel(version="6.12", ram="1G")

    def run() -> None:
        p = k.spawn("faults")
        a = p.mmap(pages * 4096)
        p.touch(a, pages * 4096)
        p.exit()

    benchmark(run)
    benchmark.extra_info["faults_per_second"] = round(pages / benchmark.stats.stats.mean)
