# ruff: noqa: E501  (trace lines are as long as the kernel prints them)
"""Throughput of the kmem trace parser (kmemlab.traceparse), in lines per second.

Run with ``pytest tests/benchmarks/test_bench_traceparse.py --benchmark-only``. The
input is the real 6.12 sample (notebooks/data) repeated to 200,000 lines, and the
bundled real 6.12 and 6.1 boot traces; the figure is printed and stored in the
benchmark's extra_info. Targets: 500,000 lines/s for parsing alone; 1,000,000 lines/s
for `kmemlab trace stats` (issue 21: the block path of trace_stats, against the
line-by-line path it replaces, measured here too).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from kmemlab.traceparse import ParseReport, iter_records, scan_records, trace_stats

N_LINES = 200_000
SAMPLE = Path(__file__).resolve().parents[2] / "notebooks" / "data" / "kmem-trace-6.12-sample.txt"
FALLBACK = [
    "            init-1       [000] .....     0.687844: kmalloc: call_site=__rb_allocate_pages+0x15c/0x380 ptr=ffff8ad2444b6980 bytes_req=64 bytes_alloc=64 gfp_flags=GFP_KERNEL|__GFP_RETRY_MAYFAIL|__GFP_ZERO node=0 accounted=false\n",
    "            init-1       [001] .....     1.595914: kfree: call_site=acpi_ut_evaluate_object+0xbf/0x1c0 ptr=ffff8ad245966360\n",
    "            init-1       [000] .....     0.717039: mm_page_alloc: page=fffff49b0012bec0 pfn=0x4afb order=0 migratetype=0 gfp_flags=GFP_KERNEL|__GFP_RETRY_MAYFAIL|__GFP_COMP|__GFP_ZERO\n",
    "            init-1       [000] .....     3.385868: mm_page_free: page=fffff49b00c66200 pfn=0x31988 order=0\n",
]


@pytest.fixture(scope="module")
def big_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if SAMPLE.exists():
        lines = [ln for ln in SAMPLE.read_text().splitlines(keepends=True) if ln[:1] != "#"]
    else:
        lines = FALLBACK
    p = tmp_path_factory.mktemp("bench") / "trace.txt"
    with open(p, "w") as f:
        f.writelines(itertools.islice(itertools.cycle(lines), N_LINES))
    return p


def _report(benchmark, what: str) -> float:
    rate = N_LINES / benchmark.stats.stats.min
    benchmark.extra_info["lines_per_second"] = round(rate)
    print(f"\n{what}: {rate:,.0f} lines/s (best of {benchmark.stats.stats.rounds})")
    return rate


def test_bench_parse_lines_per_second(benchmark, big_trace: Path) -> None:
    """iter_records() alone: header and body matched, fields converted lazily."""
    def run() -> int:
        rep = ParseReport()
        n = sum(1 for _ in iter_records(big_trace, rep, progress=False))
        assert rep.malformed_count == 0
        return n

    assert benchmark.pedantic(run, rounds=5, iterations=1) == N_LINES
    _report(benchmark, "parse")


def test_bench_parse_and_convert_fields(benchmark, big_trace: Path) -> None:
    """Every record's typed fields read once (what a notebook loop does)."""
    def run() -> int:
        n = 0
        for r in iter_records(big_trace, progress=False):
            r.cpu, r.timestamp, r.ptr, r.pfn, r.order, r.bytes_alloc, r.gfp  # noqa: B018
            n += 1
        return n

    assert benchmark.pedantic(run, rounds=3, iterations=1) == N_LINES
    _report(benchmark, "parse + typed fields")


def test_bench_trace_stats(benchmark, big_trace: Path) -> None:
    """trace_stats(): parse and the perf-kmem-like statistics."""
    st = benchmark.pedantic(lambda: trace_stats(big_trace, progress=False), rounds=3,
                            iterations=1)
    assert st.parse_report is not None and st.parse_report.records == N_LINES
    _report(benchmark, "parse + statistics")


BOOTS = Path(__file__).resolve().parents[2] / "kmemlab" / "data" / "boots"
# version -> (lines, records) of the recorded boot's trace
REAL = {"6.12": (116_652, 116_640), "6.1": (134_784, 134_772)}


def _real(version: str) -> Path:
    path = BOOTS / version / "trace.txt.gz"
    if not path.exists():
        pytest.skip("bundled boot trace missing")
    return path


def _report_real(benchmark, what: str, version: str) -> None:
    lines, records = REAL[version]
    best = benchmark.stats.stats.min
    benchmark.extra_info["lines_per_second"] = round(lines / best)
    benchmark.extra_info["records_per_second"] = round(records / best)
    print(f"\n{what} of the real {version} boot trace: {lines / best:,.0f} lines/s, "
          f"{records / best:,.0f} records/s (best of {benchmark.stats.stats.rounds})")


@pytest.mark.parametrize("version", ["6.12", "6.1"])
def test_bench_scan_real_boot_trace(benchmark, version: str) -> None:
    """scan_records() alone (gzip, lines, fields): what replay and stats read."""
    path = _real(version)

    def run() -> int:
        rep = ParseReport()
        n = sum(1 for _ in scan_records(path, rep, progress=False))
        assert rep.malformed_count == 0
        return n

    assert benchmark.pedantic(run, rounds=3, iterations=1) == REAL[version][1]
    _report_real(benchmark, "parse", version)


@pytest.mark.parametrize("version", ["6.12", "6.1"])
def test_bench_trace_stats_real_boot_trace(benchmark, version: str) -> None:
    """What `kmemlab trace stats` computes on a real boot trace (gzip), in lines/s
    (target of issue 21: 1,000,000)."""
    path = _real(version)
    st = benchmark.pedantic(lambda: trace_stats(path, per_pointer=False, progress=False),
                            rounds=3, iterations=1)
    assert st.parse_report is not None and st.parse_report.lines_read == REAL[version][0]
    assert st.parse_report.records == REAL[version][1]
    _report_real(benchmark, "stats", version)


@pytest.mark.parametrize("version", ["6.12", "6.1"])
def test_bench_trace_stats_per_pointer_real_boot_trace(benchmark, version: str) -> None:
    """trace_stats(per_pointer=True): what `kmemlab trace stats --alloc` computes."""
    path = _real(version)
    st = benchmark.pedantic(lambda: trace_stats(path, per_pointer=True, progress=False),
                            rounds=3, iterations=1)
    assert st.parse_report is not None and st.parse_report.records == REAL[version][1]
    assert st.ptrs
    _report_real(benchmark, "stats per pointer", version)


@pytest.mark.parametrize("version", ["6.12", "6.1"])
def test_bench_trace_stats_line_by_line_real_boot_trace(benchmark, version: str) -> None:
    """The line-by-line path (scan_records() into TraceStats.feed_fields()) that the
    block path of trace_stats replaces for plain blocks: the baseline of its speed-up
    (extra_info["block_path_speedup"])."""
    import time

    from kmemlab.traceparse import TraceStats

    path = _real(version)

    def run() -> TraceStats:
        st = TraceStats(per_pointer=False)
        st.parse_report = ParseReport()
        return st.feed_fields(scan_records(path, st.parse_report, progress=False))

    st = benchmark.pedantic(run, rounds=3, iterations=1)
    assert st.parse_report is not None and st.parse_report.records == REAL[version][1]
    best = min(_timed(lambda: trace_stats(path, per_pointer=False, progress=False), time)
               for _ in range(3))
    benchmark.extra_info["block_path_speedup"] = round(benchmark.stats.stats.min / best, 2)
    _report_real(benchmark, "stats line by line", version)
    print(f"block path: {benchmark.stats.stats.min / best:.1f} x faster")


def _timed(fn, time) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@pytest.mark.parametrize("options", [[], ["--caller"], ["--json"]], ids=["default", "caller", "json"])
@pytest.mark.parametrize("version", ["6.12", "6.1"])
def test_bench_cli_trace_stats_real_boot_trace(benchmark, capsys, version: str,
                                               options: list[str]) -> None:
    """`kmemlab trace stats trace.txt.gz` as typed (statistics, tables, printing)."""
    from kmemlab.cli import main

    path = _real(version)
    rc = benchmark.pedantic(lambda: main(["trace", "stats", str(path), *options]), rounds=3,
                            iterations=1)
    out = capsys.readouterr().out
    assert rc == 0 and ("SUMMARY (SLAB allocator)" in out or '"slab"' in out)
    _report_real(benchmark, "kmemlab trace stats " + " ".join(options), version)
