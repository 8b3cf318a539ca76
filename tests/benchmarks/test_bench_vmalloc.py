"""vmalloc(1 MiB) + vfree per second (run with `make bench`; target ≥ 5,000/s)."""

import pytest

import kmemlab as km


@pytest.mark.parametrize("version", ["6.12", "3.15"])
def test_vmalloc_1m_vfree(benchmark, version):
    k = km.Kernel(version=version, ram="1G", cpus=2)
    k.vmalloc_state.record_steps = False

    def pair():
        k.vfree(k.vmalloc(1 << 20, caller="bench"))
        if len(k.trace) > 100000:
            k.trace.clear()

    benchmark(pair)
    benchmark.extra_info["pages_per_op"] = 256
