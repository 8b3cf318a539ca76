# ruff: noqa: E501  (trace lines are as long as the kernel prints them)
"""Replay speed (kmemlab.replay), in records per second.

Run with ``pytest tests/benchmarks/test_bench_replay.py --benchmark-only``. The input
is a generated 6.12 trace of 50,000 records: kmalloc/kfree pairs of several sizes on
two CPUs, kmem_cache_alloc/free, and page alloc/free pairs (order 0-3), so every
record is applied to the simulator (nothing is an unknown free).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kmemlab.replay import Replayer

N_RECORDS = 50_000


def _lines() -> list[str]:
    out = ["# tracer: nop\n"]
    sizes = (8, 24, 64, 100, 200, 512, 1000, 3000)
    n = 0
    i = 0
    while n < N_RECORDS:
        cpu = i & 1
        live = []
        for j, size in enumerate(sizes):
            ptr = 0xffff888000000000 + ((i * 16 + j) << 12)
            alloc = 1 << max(3, (size - 1).bit_length())
            out.append(f"            bash-100     [{cpu:03d}] .....     1.000001: kmalloc: call_site=foo+0x10/0x40 ptr={ptr:016x} bytes_req={size} bytes_alloc={alloc} gfp_flags=GFP_KERNEL node=-1 accounted=false\n")
            live.append(ptr)
        cptr = 0xffff888100000000 + (i << 12)
        out.append(f"            bash-100     [{cpu:03d}] .....     1.000002: kmem_cache_alloc: call_site=d_alloc+0x2c/0xa0 ptr={cptr:016x} bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=false\n")
        pfn = 0x100000 + i * 8
        order = i & 3
        out.append(f"            bash-100     [{cpu:03d}] .....     1.000003: mm_page_alloc: page=ffffea0000000000 pfn={pfn:#x} order={order} migratetype=0 gfp_flags=GFP_KERNEL\n")
        for ptr in live:
            out.append(f"     kworker/1:1-30      [{1 - cpu:03d}] .....     1.000004: kfree: call_site=bar+0x4/0x10 ptr={ptr:016x}\n")
        out.append(f"     kworker/1:1-30      [{cpu:03d}] .....     1.000005: kmem_cache_free: call_site=d_free+0x8/0x10 ptr={cptr:016x} name=dentry\n")
        out.append(f"     kworker/1:1-30      [{cpu:03d}] .....     1.000006: mm_page_free: page=ffffea0000000000 pfn={pfn:#x} order={order}\n")
        n += 2 * len(sizes) + 4
        i += 1
    return out


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    lines = _lines()
    p = tmp_path_factory.mktemp("bench") / "replay.txt"
    p.write_text("".join(lines))
    return p, len(lines) - 1


@pytest.mark.parametrize("version", ["6.12", "3.15"])
def test_bench_replay_records_per_second(benchmark, trace_file, version: str) -> None:
    path, n = trace_file

    def run() -> Replayer:
        return Replayer(path, version=version, ram="1G", cpus=2, keep_trace=False).run()

    r = benchmark.pedantic(run, rounds=3, iterations=1)
    assert r.records == n and r.replayed == n and r.error_count == 0
    assert r.counters()["live_objects"] == 0
    rate = n / benchmark.stats.stats.min
    benchmark.extra_info["records_per_second"] = round(rate)
    print(f"\nreplay {version}: {rate:,.0f} records/s (best of {benchmark.stats.stats.rounds})")


# ---------------------------------------------------------------- the real boot traces
# The recorded boots (kmemlab/data/boots/<version>/trace.txt.gz: 116,640 records of a
# real Debian 6.12 kernel, 134,772 of a 6.1 one, under QEMU): what `kmemlab trace
# replay` reads, parsing included. Target of issue 21: 250,000 records/s.
BOOTS = Path(__file__).resolve().parents[2] / "kmemlab" / "data" / "boots"
REAL = {"6.12": (116_640, 97_490), "6.1": (134_772, None)}


@pytest.mark.parametrize("version", ["6.12", "6.1"])
def test_bench_replay_real_boot_trace(benchmark, version: str) -> None:
    """Replayer(trace).run() on a booted kernel of that version (boot not timed)."""
    from kmemlab.kernel import Kernel

    path = BOOTS / version / "trace.txt.gz"
    if not path.exists():
        pytest.skip("bundled boot trace missing")
    n, replayed = REAL[version]

    def setup():
        return (Kernel(version=version, ram="1G", cpus=2),), {}

    def run(k) -> Replayer:
        return Replayer(path, k, keep_trace=False).run()

    r = benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    assert r.records == n and r.done and r.error_count == 0
    assert replayed is None or r.replayed == replayed
    rate = n / benchmark.stats.stats.min
    benchmark.extra_info["records_per_second"] = round(rate)
    print(f"\nreplay of the real {version} boot trace: {rate:,.0f} records/s incl. parsing "
          f"(best of {benchmark.stats.stats.rounds})")


def test_bench_cli_trace_replay_real_boot_trace(benchmark, capsys) -> None:
    """`kmemlab trace replay trace.txt.gz` as typed: kernel boot, parse, replay, print."""
    from kmemlab.cli import main

    path = BOOTS / "6.12" / "trace.txt.gz"
    if not path.exists():
        pytest.skip("bundled boot trace missing")
    rc = benchmark.pedantic(lambda: main(["trace", "replay", str(path)]), rounds=3,
                            iterations=1)
    assert rc == 0 and "replayed 97,490 of 116,640" in capsys.readouterr().out
    rate = REAL["6.12"][0] / benchmark.stats.stats.min
    benchmark.extra_info["records_per_second"] = round(rate)
    print(f"\nkmemlab trace replay (6.12 boot trace): {rate:,.0f} records/s end to end")


def test_bench_replay_fast_paths_speedup(benchmark) -> None:
    """The template and block paths against the replay before them (merge21's,
    tests/trace/reference_replay.py, which reads line by line) on the 6.12 boot trace,
    runs interleaved; the ratio of the best times is reported (the two give the same
    replay: tests/trace/test_replay_blocks.py)."""
    import importlib.util
    import sys
    import time

    from kmemlab.kernel import Kernel

    path = BOOTS / "6.12" / "trace.txt.gz"
    ref_path = Path(__file__).resolve().parents[1] / "trace" / "reference_replay.py"
    if not path.exists() or not ref_path.exists():
        pytest.skip("bundled boot trace or reference replay missing")
    spec = importlib.util.spec_from_file_location("reference_replay", ref_path)
    ref = importlib.util.module_from_spec(spec)
    sys.modules["reference_replay"] = ref
    spec.loader.exec_module(ref)
    best = {"fast": float("inf"), "reference": float("inf")}

    def run() -> None:
        for name, cls in (("fast", Replayer), ("reference", ref.Replayer)):
            k = Kernel(version="6.12", ram="1G", cpus=2)
            t = time.process_time()
            r = cls(path, k, keep_trace=False).run()
            best[name] = min(best[name], time.process_time() - t)
            assert r.records == REAL["6.12"][0]

    benchmark.pedantic(run, rounds=3, iterations=1)
    ratio = best["reference"] / best["fast"]
    benchmark.extra_info["fast_paths_speedup"] = round(ratio, 2)
    benchmark.extra_info["records_per_second"] = round(REAL["6.12"][0] / best["fast"])
    print(f"\nreplay of the 6.12 boot trace: {REAL['6.12'][0] / best['fast']:,.0f} records/s, "
          f"{ratio:.2f}x the line-by-line replay ({REAL['6.12'][0] / best['reference']:,.0f})")
