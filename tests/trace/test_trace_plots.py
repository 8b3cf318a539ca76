"""Plots of kmem traces (kmemlab/plot/trace.py), drawn headless and checked by content.

The PNGs are written to test-output/plots/ for a human look.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from kmemlab import traceparse as tp  # noqa: E402
from kmemlab.plot import trace as ptrace  # noqa: E402
from kmemlab.replay import CacheTimeline, replay  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "test-output" / "plots"

def save(fig: Figure, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    p = OUT / name
    fig.savefig(p, dpi=100)
    assert p.stat().st_size > 2000
    return p

def bars(ax) -> list:
    return list(ax.patches)

# ------------------------------------------------------------------ order histogram

def test_order_histogram_bar_heights_are_the_counts() -> None:
    fig = ptrace.order_histogram({0: 12, "2": 3, 5: 1})
    ax = fig.axes[0]
    heights = [b.get_height() for b in bars(ax)]
    assert heights == [12, 0, 3, 0, 0, 1]                 # orders 0..5, gaps drawn as 0
    assert [round(b.get_x() + b.get_width() / 2) for b in bars(ax)] == [0, 1, 2, 3, 4, 5]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "0\n4 KiB" and labels[5] == "5\n128 KiB"
    texts = [t.get_text() for t in ax.texts]
    assert texts[:6] == ["12", "0", "3", "0", "0", "1"]
    save(fig, "order_histogram_dict.png")

def test_order_histogram_from_trace_stats(hand_trace: Path) -> None:
    stats = tp.trace_stats(hand_trace)
    by_order = stats.to_dict()["page"]["by_order"]
    fig = ptrace.order_histogram(stats)
    ax = fig.axes[0]
    heights = [b.get_height() for b in bars(ax)]
    assert heights == [by_order.get(str(o), 0) for o in range(len(heights))]
    assert heights == [1, 0, 1, 0]   # order 0 and order 2 succeeded; the order-3 one failed
    assert any("1 failed" in t.get_text() for t in ax.texts)
    save(fig, "order_histogram_hand.png")
    assert [b.get_height() for b in ptrace.order_histogram(stats.to_dict()).axes[0].patches] \
        == heights

def test_order_histogram_empty_and_bad_input() -> None:
    fig = ptrace.order_histogram({})
    assert "no page allocations" in fig.axes[0].texts[0].get_text()
    with pytest.raises(ValueError, match="negative"):
        ptrace.order_histogram({-1: 3})
    with pytest.raises(TypeError, match="order_histogram takes"):
        ptrace.order_histogram([1, 2, 3])

def test_draws_on_a_given_axes() -> None:
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    out = ptrace.order_histogram({1: 4}, ax=ax2)
    assert out is fig and len(ax2.patches) == 4 and len(ax1.patches) == 0  # orders 0-3

# ------------------------------------------------------------------ waste by call site

def test_top_callsites_by_waste_from_the_hand_trace(hand_text: str) -> None:
    stats = tp.trace_stats(io.StringIO(hand_text))
    rows = stats.to_dict()["slab"]["by_callsite"]
    waste = {r["callsite"]: r["total_alloc"] - r["total_req"] for r in rows}
    # foo: 128 + 64 + 128 = 320 allocated for 100 + 60 + 100 = 260 asked -> 60 wasted
    # (the malformed "ptr=zzz" line does not count); baz: 256 - 200 = 56; bar: 32 - 32 = 0
    assert waste == {"foo+0x10/0x40": 60, "baz+0x8/0x30": 56, "bar+0x20/0x80": 0}
    fig = ptrace.top_callsites_by_waste(stats)
    ax = fig.axes[0]
    widths = [b.get_width() for b in bars(ax)]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == ["baz+0x8/0x30", "foo+0x10/0x40"]   # largest on top (drawn last)
    assert widths == [56, 60]
    assert [t.get_text() for t in ax.texts] == ["56 B (22%)", "60 B (19%)"]
    save(fig, "waste_hand.png")

def test_top_callsites_limit_and_long_names() -> None:
    data = {f"very_long_function_name_number_{i}_in_a_driver+0x{i:x}/0x400": 100 * i
            for i in range(1, 30)}
    fig = ptrace.top_callsites_by_waste(data, top=5)
    ax = fig.axes[0]
    assert [b.get_width() for b in bars(ax)] == [2500, 2600, 2700, 2800, 2900]
    assert all(len(t.get_text()) <= 44 for t in ax.get_yticklabels())
    assert ax.get_yticklabels()[-1].get_text().startswith("very_long_function_name_number_29")
    save(fig, "waste_top5.png")
    fig = ptrace.top_callsites_by_waste({"a": 0})
    assert "no call site wasted" in fig.axes[0].texts[0].get_text()
    with pytest.raises(ValueError, match="top"):
        ptrace.top_callsites_by_waste(data, top=0)

# ------------------------------------------------------------------ cache bytes over time

def test_cache_bytes_over_time_lines_follow_the_series() -> None:
    tl = CacheTimeline(x=[0, 1, 2, 3], series={
        "kmalloc-64": [0, 64, 128, 64], "dentry": [0, 192, 192, 0], "tiny": [0, 8, 8, 8],
        "never": [0, 0, 0, 0]})
    fig = ptrace.cache_bytes_over_time(tl, top=2)
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["dentry", "kmalloc-64"]   # by peak
    assert list(lines[0].get_ydata()) == [0, 192, 192, 0]
    assert list(lines[1].get_ydata()) == [0, 64, 128, 64]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["dentry", "kmalloc-64"]
    save(fig, "cache_bytes_small.png")
    with pytest.raises(ValueError, match="points"):
        ptrace.cache_bytes_over_time({"x": [0, 1], "series": {"a": [1]}})
    with pytest.raises(TypeError):
        ptrace.cache_bytes_over_time([1, 2])
    assert "no slab objects" in ptrace.cache_bytes_over_time(
        {"x": [0], "series": {}}).axes[0].texts[0].get_text()

def test_cache_bytes_over_time_of_the_real_sample(sample_trace: Path) -> None:
    r = replay(sample_trace, version="6.12", ram="1G", cpus=2, sample_every=5)
    fig = ptrace.cache_bytes_over_time(r.timeline, top=4)
    ax = fig.axes[0]
    names = [ln.get_label() for ln in ax.get_lines()]
    assert names == r.timeline.top(4)
    assert "kmalloc-64" in names
    k64 = r.timeline.series["kmalloc-64"]
    assert list(ax.get_lines()[names.index("kmalloc-64")].get_ydata()) == k64
    assert k64[-1] - k64[0] == 40 * 64   # the 40 kmalloc(64)s; their kfrees are not in it
    save(fig, "cache_bytes_sample.png")
    stats = tp.trace_stats(sample_trace)
    save(ptrace.order_histogram(stats), "order_histogram_sample.png")
    save(ptrace.top_callsites_by_waste(stats), "waste_sample.png")

def test_plot_module_imports_alone() -> None:
    import subprocess
    import sys
    code = ("import sys, kmemlab.plot.trace as t; "
            "assert 'matplotlib.pyplot' not in sys.modules; print(t.__all__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "order_histogram" in out.stdout
