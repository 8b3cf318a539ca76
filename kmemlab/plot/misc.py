"""memblock at boot, a user heap (glibc malloc), and time series from the event log."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Patch, Rectangle

from ..i18n import _
from ..page_alloc import OWNER_NAMES
from ._style import LINE_COLORS, OWNER_COLORS, byte_ticks, fmt_bytes, new_figure, new_grid, note
from .physmem import aggregate_frames, frame_categories, map_geometry

# ----------------------------------------------------------------------------- memblock
_RES_COLORS = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377",
               "#332288", "#EE7733", "#009988", "#882255"]


def memblock(k, ax=None):
    """memblock.memory and memblock.reserved (named reservations) before hand-over, and
    what the buddy allocator got after it: physical address left to right."""
    fig, ax = new_figure(ax, figsize=(10, 4.4))
    mb = k.memblock
    top = max((r.end for r in mb.memory), default=1)
    ps = k.PAGE_SIZE
    rows = {"memblock.memory": 2, "memblock.reserved": 1, "buddy after hand-over": 0}
    for r in mb.memory:
        ax.add_patch(Rectangle((r.base, 2.1), r.size, 0.8, facecolor="#88CCEE",
                               edgecolor="#333333", lw=0.5))
    names = []
    for res in mb.reservations_sorted():
        if res.name not in names:
            names.append(res.name)
    handles = []
    for i, name in enumerate(names):
        c = _RES_COLORS[i % len(_RES_COLORS)]
        total = sum(r.size for r in mb.reservations if r.name == name)
        for r in mb.reservations:
            if r.name == name:
                w = max(r.size, top / 400)  # keep a tiny reservation visible
                ax.add_patch(Rectangle((r.base, 1.1), w, 0.8, facecolor=c,
                                       edgecolor="#333333", lw=0.5))
        first = min(r.base for r in mb.reservations if r.name == name)
        handles.append(Patch(facecolor=c, label=f"{name}: {fmt_bytes(total)} at {first:#x}"))
    # after hand-over: frames aggregated to ~2000 columns
    cat = frame_categories(k)
    n = len(cat)
    fpp = max(1, -(-n // 2000))
    mode, _tot = aggregate_frames(cat, fpp, len(OWNER_NAMES) + k.profile.nr_page_orders)
    colors = {"free": "#FBE7B0", "reserved": "#4D4D4D", "hole": "#FFFFFF"}
    prev, start = None, 0
    for i, m in enumerate(list(mode) + [-1]):
        kind = ("free" if m >= len(OWNER_NAMES) or (m >= 0 and OWNER_NAMES[m] == "free")
                else None if m < 0 else OWNER_NAMES[m])
        kind = kind if kind in (None, "free", "reserved", "hole") else "allocated"
        if kind != prev:
            if prev is not None:
                ax.add_patch(Rectangle((start * fpp * ps, 0.1), (i - start) * fpp * ps, 0.8,
                                       facecolor=colors.get(prev, OWNER_COLORS["pages"]),
                                       edgecolor="none"))
            prev, start = kind, i
    ax.add_patch(Rectangle((0, 0.1), n * ps, 0.8, fill=False, edgecolor="#333333", lw=0.5))
    handles += [Patch(facecolor="#88CCEE", edgecolor="#333333", label="RAM (memblock.memory)"),
                Patch(facecolor=colors["free"], edgecolor="#333333", label="free in the buddy"),
                Patch(facecolor=colors["reserved"], label="still reserved"),
                Patch(facecolor=OWNER_COLORS["pages"], label="allocated since boot")]
    ax.set_xlim(0, top)
    ax.set_ylim(0, 3)
    ax.set_yticks([v + 0.5 for v in rows.values()], list(rows), fontsize=8)
    ticks = byte_ticks(top)
    ax.set_xticks(ticks, [fmt_bytes(t) for t in ticks], fontsize=7)
    ax.set_xlim(0, top)
    ax.set_xlabel(_("physical address"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7,
              frameon=False)
    cmd = f", cmdline '{k.cmdline}'" if k.cmdline else ""
    ax.set_title(f"memblock at boot and the hand-over to the buddy allocator "
                 f"({k.profile.name}{cmd})\nmemory {fmt_bytes(mb.memory.total_size)}, "
                 f"reserved {fmt_bytes(mb.reserved.total_size)}", fontsize=9)
    return fig


# ----------------------------------------------------------------------------- heap
_CHUNK_COLORS = {"in use": "#EE6677", "top": "#FFF6DA", "fencepost": "#4D4D4D",
                 "tcache": "#4477AA", "fastbin": "#66CCEE", "unsorted": "#CCBB44",
                 "small bin": "#228833", "large bin": "#AA3377", "free": "#BBBBBB"}


def find_malloc(target):
    """The glibc malloc model behind a process (or the model itself)."""
    if hasattr(target, "heap_chunks"):
        return target
    for name in ("malloc_state", "libc", "glibc", "allocator", "heap", "arena", "malloc"):
        obj = getattr(target, name, None)
        if obj is not None and hasattr(obj, "heap_chunks"):
            return obj
    return None


def _chunk_kind(c) -> str:
    if c.state != "free":
        return c.state
    b = (c.bin or "").split(" ")
    label = " ".join(b[:2]) if b[0] in ("small", "large") else b[0]
    return label if label in _CHUNK_COLORS else "free"


def heap(proc, ax=None, *, max_chunks: int = 40):
    """A user heap as glibc lays it out: chunks in address order (top: to scale;
    below: one box per chunk with its size), the bins, and RSS vs VSZ."""
    m = find_malloc(proc)
    if m is None:
        fig, ax = new_figure(ax)
        note(ax, "no glibc malloc model found on this object")
        return fig
    chunks = m.heap_chunks()
    nrows = max(1, -(-min(len(chunks), max_chunks) // 10))
    fig, axes = new_grid(2, 2, figsize=(11, 2.6 + 0.75 * nrows), width_ratios=[3, 1],
                         height_ratios=[1, 0.6 + 0.75 * nrows])
    a_scale, a_rss = axes[0]
    a_boxes, a_bins = axes[1]
    heap_chunks = [c for c in chunks if not c.is_mmapped]
    if heap_chunks:
        lo = heap_chunks[0].addr
        hi = max(c.end for c in heap_chunks)
        for c in heap_chunks:
            a_scale.add_patch(Rectangle((c.addr - lo, 0), c.size, 1,
                                        facecolor=_CHUNK_COLORS[_chunk_kind(c)],
                                        edgecolor="#333333", lw=0.3))
        a_scale.set_xlim(0, hi - lo)
        t = byte_ticks(hi - lo, 5)
        a_scale.set_xticks(t, [fmt_bytes(v) for v in t], fontsize=7)
        a_scale.set_xlim(0, hi - lo)
        a_scale.set_title(f"heap {lo:#x} – {hi:#x} to scale ({fmt_bytes(hi - lo)})",
                          fontsize=9, loc="left")
    else:
        note(a_scale, "empty heap: the first malloc sets it up")
    a_scale.set_yticks([])
    a_scale.set_ylim(0, 1)
    shown = chunks[:max_chunks]
    cols = 10
    for i, c in enumerate(shown):
        r, col = divmod(i, cols)
        kind = _chunk_kind(c)
        a_boxes.add_patch(Rectangle((col, r), 0.95, 0.9, facecolor=_CHUNK_COLORS[kind],
                                    edgecolor="#333333", lw=0.5))
        lab = f"{c.size:#x}\n{kind if kind != 'in use' else 'used'}"
        if c.is_mmapped:
            lab += "\nmmap"
        a_boxes.text(col + 0.47, r + 0.45, lab, ha="center", va="center", fontsize=6.5,
                     color="white" if kind in ("fencepost", "large bin", "tcache") else "black")
    nrows = max(1, -(-len(shown) // cols))
    a_boxes.set_xlim(0, cols)
    a_boxes.set_ylim(nrows + 0.1, -0.1)
    a_boxes.axis("off")
    more = f" (first {max_chunks} of {len(chunks)})" if len(chunks) > max_chunks else ""
    a_boxes.set_title(f"{len(chunks)} chunks in address order{more}: size, state",
                      fontsize=9, loc="left")
    kinds = sorted({_chunk_kind(c) for c in chunks})
    if kinds:
        a_boxes.legend(handles=[Patch(facecolor=_CHUNK_COLORS[x], edgecolor="#333333", label=x)
                                for x in kinds], fontsize=7, loc="upper left",
                       bbox_to_anchor=(0, 0.0), ncol=min(len(kinds), 6), frameon=False)
    # bins
    bins = m.bins()
    lines = []
    for kind, table in bins.items():
        for i, lst in table.items():
            lines.append(f"{kind}[{i}] {lst[0][1]:#x}: {len(lst)} chunk"
                         f"{'s' if len(lst) != 1 else ''}")
    a_bins.axis("off")
    a_bins.set_title(_("bins (head first)"), fontsize=9, loc="left")
    a_bins.text(0, 1, "\n".join(lines[:16]) or "all bins empty", va="top", fontsize=7,
                family="monospace", transform=a_bins.transAxes)
    # RSS vs VSZ
    mi = m.mallinfo2()
    labels, vals = [], []
    rss = getattr(proc, "rss_pages", None)
    vsz = getattr(proc, "vsz", None)
    if rss is not None and vsz is not None:
        vsz_kib = vsz() if callable(vsz) else vsz     # ps's VSZ is in KiB, not bytes
        labels += ["VSZ", "RSS"]
        vals += [int(vsz_kib) << 10, int(rss) * getattr(m, "page_size", 4096)]
    labels += ["arena (brk)", "mmapped", "in use", "free"]
    vals += [mi.arena, mi.hblkhd, mi.uordblks, mi.fordblks]
    a_rss.barh(range(len(vals)), vals, color=LINE_COLORS[: len(vals)])
    a_rss.invert_yaxis()
    # the names sit inside the axes (tick labels left of a narrow right-hand column were
    # cut off by the neighbouring plot: "ena (brk)")
    a_rss.set_yticks([])
    top = max(vals + [1])
    for i, (lab, v) in enumerate(zip(labels, vals)):
        a_rss.text(v, i, f" {lab} {fmt_bytes(v)}", va="center", fontsize=7)
    a_rss.set_xlim(0, top * 2.2)
    a_rss.set_xticks([])
    a_rss.set_title("mallinfo2" + (" and RSS/VSZ" if rss is not None else ""), fontsize=9,
                    loc="left")
    fig.suptitle(_("User heap (glibc malloc model): chunks, bins, memory"), fontsize=10)
    fig.kmemlab = {"chunks": chunks, "bars": dict(zip(labels, vals))}   # bytes
    return fig


# ----------------------------------------------------------------------------- timeline
def frag_index(counts: list[int], order: int) -> float:
    """mm/vmstat.c: unusable free space index for ``order``: the share of free pages
    in blocks too small for an order-``order`` request (0 = none, 1 = all)."""
    total = sum(c << o for o, c in enumerate(counts))
    if not total:
        return 0.0
    usable = sum(c << o for o, c in enumerate(counts) if o >= order)
    return (total - usable) / total


def free_pages_series(k, since: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(event indices, {zone: free pages incl. per-CPU lists}) from mm_page_alloc /
    mm_page_free events, walked back from the current state."""
    zones = [z for z in k.zone_list if z.present]
    starts = np.array([z.zone_start_pfn for z in zones])
    now = {z.name: z.free_pages for z in zones}
    pcp = k.page_alloc.pcp_counts()
    for name, per_cpu in pcp.items():
        now[name] = now.get(name, 0) + sum(per_cpu)
    deltas = []
    for e in k.trace.events(since=since):
        if e.name in ("mm_page_alloc", "mm_page_free"):
            pfn = e.fields.get("pfn", -1)
            if pfn is None or pfn < 0:
                continue
            zi = int(np.searchsorted(starts, pfn, side="right") - 1)
            sign = -1 if e.name == "mm_page_alloc" else 1
            deltas.append((e.index, zones[zi].name, sign << e.fields.get("order", 0)))
    idx = np.array([since] + [d[0] for d in deltas] + [k.trace.mark()])
    series = {}
    for z in zones:
        d = np.array([0] + [v if n == z.name else 0 for _i, n, v in deltas] + [0])
        cum = np.cumsum(d)
        series[z.name] = now[z.name] - cum[-1] + cum
    return idx, series


def cache_bytes_series(k, since: int = 0, top: int = 6):
    """(event indices, {cache: live bytes}) from kmalloc/kmem_cache_* events since
    ``since`` (bytes_alloc of allocations whose free is in the log too)."""
    live: dict[int, tuple[str, int]] = {}
    cur: dict[str, int] = {}
    idx = [since]
    rows: list[dict[str, int]] = [{}]
    for e in k.trace.events(since=since):
        f = e.fields
        if e.name in ("kmalloc", "kmem_cache_alloc", "kmalloc_node", "kmem_cache_alloc_node"):
            if not f.get("ptr"):
                continue
            name = f.get("name") or _cache_for(k, f.get("bytes_alloc", 0), e.name)
            live[f["ptr"]] = (name, f.get("bytes_alloc", 0))
            cur[name] = cur.get(name, 0) + f.get("bytes_alloc", 0)
        elif e.name in ("kfree", "kmem_cache_free") and f.get("ptr") in live:
            name, b = live.pop(f["ptr"])
            cur[name] -= b
        else:
            continue
        idx.append(e.index)
        rows.append(dict(cur))
    idx.append(k.trace.mark())
    rows.append(dict(cur))
    names = sorted(cur, key=lambda n: -max(r.get(n, 0) for r in rows))[:top]
    return np.array(idx), {n: np.array([r.get(n, 0) for r in rows]) for n in names}


def _cache_for(k, bytes_alloc: int, event: str) -> str:
    if event.startswith("kmalloc") and bytes_alloc <= 8192:
        c = k.kmalloc_cache(bytes_alloc)
        if c is not None:
            return c.name
    return f"{bytes_alloc} B objects" if bytes_alloc <= 8192 else "kmalloc (large)"


def timeline(k, ax=None, *, since: int = 0, samples=None, order: int = 3):
    """Time series from the event log: free pages per zone, the unusable free space
    index for ``order`` (from ``samples`` = [(event index, buddyinfo dict)], which
    widgets record after each step; else just now), and live bytes per slab cache."""
    idx, series = free_pages_series(k, since)
    if ax is not None:
        fig = ax.figure
        for i, (name, s) in enumerate(series.items()):
            ax.step(idx, s, where="post", color=LINE_COLORS[i], label=name)
        ax.set_xlabel(_("event number"))
        ax.set_ylabel(_("free pages"))
        ax.legend(fontsize=7)
        return fig
    fig, axes = new_grid(3, 1, figsize=(9, 7.2), sharex=True)
    a, b, c = axes[:, 0]
    for i, (name, s) in enumerate(series.items()):
        a.step(idx, s, where="post", color=LINE_COLORS[i], label=name)
        z = k.zones[name]
        a.axhline(z.low, color=LINE_COLORS[i], ls=":", lw=0.8)
    a.set_yscale("log")
    a.set_ylabel(_("free pages (log)"), fontsize=8)
    a.set_title(_("free pages per zone (buddy + per-CPU lists); dotted: low watermark"),
                fontsize=9, loc="left")
    a.legend(fontsize=7, loc="upper right")
    samples = list(samples or [])
    if not samples or samples[-1][0] < k.trace.mark():
        samples.append((k.trace.mark(), k.buddyinfo()))
    zones = list(samples[-1][1])
    for i, name in enumerate(zones):
        xs = [s[0] for s in samples if name in s[1]]
        ys = [frag_index(s[1][name], order) for s in samples if name in s[1]]
        b.step(xs, ys, where="post", marker="o", ms=3, color=LINE_COLORS[i], label=name)
    b.set_ylim(-0.05, 1.05)
    b.set_ylabel(_("index"), fontsize=8)
    b.set_title(f"fragmentation: unusable free space index for order {order} "
                "(share of free pages in smaller blocks)", fontsize=9, loc="left")
    b.legend(fontsize=7, loc="upper right")
    cidx, cseries = cache_bytes_series(k, since)
    if cseries:
        for i, (name, s) in enumerate(cseries.items()):
            c.step(cidx, s, where="post", color=LINE_COLORS[i], label=name)
        c.legend(fontsize=7, loc="upper left")
        top = max(float(s.max()) for s in cseries.values())
        yt = byte_ticks(max(top, 1), 4)
        c.set_yticks(yt, [fmt_bytes(v) for v in yt], fontsize=7)
        c.set_ylim(0, max(top, 1) * 1.1)
    else:
        note(c, "no kmalloc / kmem_cache events yet")
    c.set_title(_("live bytes per slab cache"), fontsize=9, loc="left")
    c.set_xlabel(_("event number in k.trace"))
    for axx in (a, b):
        axx.tick_params(labelsize=7)
    fig.suptitle(f"Event log over time ({k.profile.name}, {len(k.trace)} events)", fontsize=10)
    fig.kmemlab = {"free": series, "caches": cseries}
    return fig


__all__ = ["memblock", "heap", "timeline", "frag_index", "free_pages_series",
           "cache_bytes_series", "find_malloc", "map_geometry"]
