"""How long ``Kernel(state="booted")`` takes: it must fit a notebook cell.

Run with ``pytest tests/benchmarks/test_bench_boot_state.py --benchmark-only``. The
pristine boot is measured alongside: the difference is what placing the recorded end
state (≈250k frames as free blocks and pages, ≈55k slab objects in ≈130 named caches)
costs.
"""

from __future__ import annotations

import pytest

import kmemlab as km
from kmemlab.boot_state import boot_data


@pytest.mark.parametrize("version", ["6.1", "6.12"])
def test_bench_booted(benchmark, version: str) -> None:
    boot_data(version)   # the bundled file is read once per process
    k = benchmark(km.Kernel, version=version, state="booted")
    assert k.boot_state.exact


def test_bench_pristine(benchmark) -> None:
    k = benchmark(km.Kernel, version="6.12")
    assert k.state == "pristine"


def test_bench_booted_other_size(benchmark) -> None:
    boot_data("6.12")
    k = benchmark.pedantic(km.Kernel, kwargs={"version": "6.12", "ram": "2G",
                                              "state": "booted"}, rounds=3)
    assert not k.boot_state.exact
