"""Figures of kmem traces: cache bytes over time, page-order histogram, waste by call site.

Pure functions ``fn(data, ..., ax=None) -> Figure``: they read their data, draw on
``ax`` (or on a new :class:`matplotlib.figure.Figure`, never pyplot's global state)
and return the figure. The data come from :mod:`kmemlab.traceparse` (``TraceStats``
or its ``to_dict()``) and :mod:`kmemlab.replay` (``Replayer.timeline``); plain dicts
and lists work too. Only matplotlib is needed; this module imports nothing else of
the plot package.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from ..i18n import _

__all__ = ["cache_bytes_over_time", "order_histogram", "top_callsites_by_waste"]

# Paul Tol's colour-blind-safe "bright" and "muted" schemes (as the rest of kmemlab).
_COLORS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377",
           "#332288", "#117733", "#882255", "#999933", "#BBBBBB")
_BAR = "#4477AA"
_FAIL = "#EE6677"


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig = Figure(figsize=size, layout="constrained")
        return fig, fig.add_subplot()
    fig = ax.get_figure()
    if fig is None:  # pragma: no cover - an Axes always belongs to a figure
        raise ValueError("ax does not belong to a figure")
    return fig, ax  # type: ignore[return-value]


def _bytes(value: float) -> str:
    """Bytes with a binary unit, as /proc prints sizes: 512 B, 1.5 KiB, 3 MiB."""
    v = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(v) < 1024 or unit == "GiB":
            if unit == "B":
                return f"{v:.0f} B"
            return f"{v:.1f} {unit}".replace(".0 ", " ")
        v /= 1024
    return f"{v:.0f} GiB"  # pragma: no cover


def _byte_axis(axis: Any, top: float) -> None:
    """Ticks at round numbers of one binary unit (the one that suits ``top``)."""
    unit, div = "B", 1
    for u, d in (("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)):
        if top >= 2 * d:
            unit, div = u, d
    raw = max(top / div / 5, 1e-9)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if unit == "B":
        step = max(1, round(step))

    def fmt(v: float, _pos: int) -> str:
        x = v / div
        return f"{x:.0f} {unit}" if x == int(x) else f"{x:g} {unit}"
    axis.set_major_locator(MultipleLocator(step * div))
    axis.set_major_formatter(FuncFormatter(fmt))


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
            color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def _stats_dict(data: Any) -> Any:
    """TraceStats → its to_dict(); anything else unchanged."""
    to_dict = getattr(data, "to_dict", None)
    if callable(to_dict) and not isinstance(data, Mapping):
        return to_dict()
    return data


# ---------------------------------------------------------------- cache bytes

def cache_bytes_over_time(data: Any, top: int = 8, *, ax: Axes | None = None,
                          title: str | None = None) -> Figure:
    """Bytes held by each slab cache over a replay, for the ``top`` caches by peak.

    ``data``: a :class:`kmemlab.replay.CacheTimeline` (``Replayer(...,
    sample_every=N).timeline``), or a mapping with ``"x"`` and ``"series"`` (name →
    bytes at each x) and optionally ``"xlabel"``. Bytes are objects in use × slot
    size, as ``/proc/slabinfo`` counts ``active_objs × objsize``.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be an int ≥ 1, not {top!r}")
    if isinstance(data, Mapping):
        x = list(data.get("x", []))
        series = dict(data.get("series", {}))
        xlabel = str(data.get("xlabel", "records replayed"))
    elif hasattr(data, "series") and hasattr(data, "x"):
        x, series, xlabel = list(data.x), dict(data.series), data.xlabel
    else:
        raise TypeError("cache_bytes_over_time takes a CacheTimeline (Replayer.timeline) or "
                        f"a mapping with 'x' and 'series', not {type(data).__name__}")
    for name, values in series.items():
        if len(values) != len(x):
            raise ValueError(f"series {name!r} has {len(values)} points for {len(x)} x values")
    fig, ax = _axes(ax, (8, 4.2))
    peaks = sorted(((max(v) if v else 0, n) for n, v in series.items()),
                   key=lambda t: (-t[0], t[1]))
    names = [n for p, n in peaks[:top] if p > 0]
    ax.set_title(title or f"Slab cache bytes in use (top {len(names) or top} by peak)",
                 loc="left")
    if not names or not x:
        _empty(ax, "no slab objects in use at any sample")
        return fig
    for i, name in enumerate(names):
        ax.plot(x, series[name], color=_COLORS[i % len(_COLORS)], linewidth=1.8,
                marker="o" if len(x) <= 30 else None, markersize=4, label=name)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(_("bytes in use"))
    _byte_axis(ax.yaxis, max(max(series[n]) for n in names))
    ax.set_ylim(bottom=0)
    ax.set_xlim(x[0], x[-1] if x[-1] > x[0] else x[0] + 1)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small",
              title=_("cache"), title_fontsize="small")
    return fig


# ---------------------------------------------------------------- orders

def _order_counts(data: Any) -> tuple[dict[int, int], int]:
    data = _stats_dict(data)
    failures = 0
    if isinstance(data, Mapping) and "page" in data and isinstance(data["page"], Mapping):
        page = data["page"]
        failures = int(page.get("alloc_failures", 0) or 0)
        data = page.get("by_order", {})
    elif isinstance(data, Mapping) and "by_order" in data:
        failures = int(data.get("alloc_failures", 0) or 0)
        data = data["by_order"]
    if not isinstance(data, Mapping):
        raise TypeError("order_histogram takes {order: count}, TraceStats or its to_dict(), "
                        f"not {type(data).__name__}")
    counts: dict[int, int] = {}
    for key, n in data.items():
        try:
            order = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"order {key!r} is not an integer") from None
        if order < 0:
            raise ValueError(f"order cannot be negative: {order}")
        counts[order] = counts.get(order, 0) + int(n)
    return counts, failures


def order_histogram(data: Any, *, ax: Axes | None = None, page_size: int = 4096,
                    title: str | None = None) -> Figure:
    """How many page allocations asked for each order (mm_page_alloc's ``order``).

    ``data``: ``{order: count}`` (keys int or str), a
    :class:`kmemlab.traceparse.TraceStats`, or its ``to_dict()`` (``page.by_order``).
    Every order from 0 to the largest one seen (at least 0-3, PAGE_ALLOC_COSTLY_ORDER)
    gets a bar (empty orders show as 0),
    labelled with its count; the tick labels give the block size (order 3 = 32 KiB
    with 4 KiB pages).
    """
    counts, failures = _order_counts(data)
    fig, ax = _axes(ax, (7, 3.8))
    ax.set_title(title or "Page allocations by order", loc="left")
    if not counts:
        _empty(ax, "no page allocations in the trace")
        return fig
    orders = list(range(0, max(max(counts), 3) + 1))
    heights = [counts.get(o, 0) for o in orders]
    bars = ax.bar(orders, heights, color=_BAR, width=0.75)
    ax.bar_label(bars, labels=[f"{h:,}" for h in heights], padding=2, fontsize="small")
    ax.set_xticks(orders, [f"{o}\n{_bytes(page_size << o)}" for o in orders])
    ax.set_xlabel(_("order (block of 2^order pages)"))
    ax.set_ylabel(_("allocations"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(heights) * 1.15 or 1)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if failures:
        ax.text(0.99, 0.97, f"{failures:,} failed (not counted)", transform=ax.transAxes,
                ha="right", va="top", color=_FAIL, fontsize="small")
    return fig


# ---------------------------------------------------------------- waste

def _waste_rows(data: Any) -> list[tuple[str, int, int, int]]:
    """[(call site, waste, bytes_req, bytes_alloc)] from any accepted input."""
    data = _stats_dict(data)
    if isinstance(data, Mapping) and "slab" in data and isinstance(data["slab"], Mapping):
        data = data["slab"].get("by_callsite", [])
    elif isinstance(data, Mapping) and "by_callsite" in data:
        data = data["by_callsite"]
    rows: list[tuple[str, int, int, int]] = []
    if isinstance(data, Mapping):  # {call site: waste}
        for site, waste in data.items():
            rows.append((str(site), int(waste), 0, 0))
        return rows
    if not isinstance(data, Sequence):
        raise TypeError("top_callsites_by_waste takes TraceStats, its to_dict(), its "
                        "by_callsite list or {call site: waste}, not "
                        f"{type(data).__name__}")
    for row in data:
        if not isinstance(row, Mapping):
            raise TypeError(f"a by_callsite row must be a mapping, not {type(row).__name__}")
        alloc = int(row.get("total_alloc", row.get("bytes_alloc", 0)))
        req = int(row.get("total_req", row.get("bytes_req", 0)))
        site = row.get("callsite", row.get("call_site", "?"))
        rows.append((str(site), alloc - req, req, alloc))
    return rows


def _short(label: str, width: int = 44) -> str:
    return label if len(label) <= width else label[:width - 1] + "…"


def top_callsites_by_waste(data: Any, top: int = 10, *, ax: Axes | None = None,
                           title: str | None = None) -> Figure:
    """The ``top`` call sites by bytes wasted: total ``bytes_alloc − bytes_req``.

    That is the internal fragmentation of ``perf kmem stat --caller``
    (tools/perf/builtin-kmem.c), in bytes instead of percent: what rounding requests
    up to the size class cost. ``data``: a :class:`kmemlab.traceparse.TraceStats`,
    its ``to_dict()``, its ``slab.by_callsite`` list, or ``{call site: waste}``.
    Call sites that wasted nothing are left out; the largest bar is at the top.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be an int ≥ 1, not {top!r}")
    rows = [r for r in _waste_rows(data) if r[1] > 0]
    rows.sort(key=lambda r: (-r[1], r[0]))
    rows = rows[:top]
    height = max(2.6, 0.9 + 0.38 * len(rows))
    fig, ax = _axes(ax, (8, height))
    ax.set_title(title or "Top call sites by bytes wasted (bytes_alloc − bytes_req)",
                 loc="left")
    if not rows:
        _empty(ax, "no call site wasted a byte")
        return fig
    rows.reverse()  # barh draws bottom-up: largest last = on top
    ys = list(range(len(rows)))
    bars = ax.barh(ys, [r[1] for r in rows], color=_FAIL, height=0.7)
    labels = []
    for _site, waste, req, alloc in rows:
        pct = f" ({100 - 100 * req / alloc:.0f}%)" if alloc else ""
        labels.append(_bytes(waste) + pct)
    ax.bar_label(bars, labels=labels, padding=3, fontsize="small")
    ax.set_yticks(ys, [_short(r[0]) for r in rows], fontsize="small")
    ax.set_xlabel("bytes wasted (percent of bytes allocated)" if any(r[3] for r in rows)
                  else "bytes wasted")
    _byte_axis(ax.xaxis, max(r[1] for r in rows))
    ax.set_xlim(0, max(r[1] for r in rows) * 1.25)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig
