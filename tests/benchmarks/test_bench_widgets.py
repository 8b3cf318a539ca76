"""Widget update path: a state change → the redrawn figure as PNG bytes in the Image
widget (targets: < 100 ms at 1 GiB, < 250 ms at 16 GiB).

Run with ``make bench`` (the normal test run passes --benchmark-skip). Measured paths:

* ``click``: BuddyExplorer's alloc button end to end (snapshot for undo, alloc_pages,
  memory_map into a reused fixed-layout Figure, Agg → PNG, Image.value).
* ``plot_only``: memory_map + PNG with a new constrained-layout Figure (what a notebook
  cell does), for comparison.
"""

from __future__ import annotations

import pytest

import kmemlab as km


@pytest.mark.parametrize("ram,target_ms", [("1G", 100), ("16G", 250)])
def test_bench_buddy_click_to_png(benchmark, ram, target_ms):
    w = km.widgets.BuddyExplorer(km.Kernel(ram=ram))

    def step():
        w.btn_alloc.click()
        w.btn_undo.click()   # keep the state the same between rounds
    benchmark.pedantic(step, rounds=8, iterations=1, warmup_rounds=1)
    per_update_ms = benchmark.stats.stats.median * 1000 / 2
    benchmark.extra_info["per_update_ms"] = round(per_update_ms, 1)
    assert per_update_ms < target_ms


@pytest.mark.parametrize("ram", ["1G", "16G"])
def test_bench_memory_map_png(benchmark, ram):
    k = km.Kernel(ram=ram)
    benchmark.pedantic(lambda: km.plot.png_bytes(km.plot.memory_map(k), dpi=72), rounds=5,
                       iterations=1, warmup_rounds=1)
