"""vmalloc(1 MiB) + vfree per second (run with `make bench`; target ≥ 5,000/s).

Tracing stays on (every mm_page_free is recorded, as the kernel's tracepoint would),
into a ring buffer of 50,000 events: about what ftrace's default 1,408 KiB per CPU
holds of these events. The learner-facing step recorder is off, as in a loop
nobody reads the steps of.
Python's garbage collector stays on too; the collect() before measuring only clears
what pytest itself left pending, so that a full collection of the test process's
objects does not land in the rounds of whichever test happens to run first.
"""

import gc

import pytest

import kmemlab as km


@pytest.mark.parametrize("version", ["6.12", "3.15"])
@pytest.mark.parametrize("size", [1 << 20, 8192], ids=["1M", "8K"])
def test_vmalloc_vfree(benchmark, version, size):
    k = km.Kernel(version=version, ram="1G", cpus=2)
    k.vmalloc_state.record_steps = False
    k.trace.buffer_events = 50_000

    def pair():
        k.vfree(k.vmalloc(size, caller="bench"))

    gc.collect()
    benchmark(pair)
    benchmark.extra_info["pages_per_op"] = size // k.PAGE_SIZE
