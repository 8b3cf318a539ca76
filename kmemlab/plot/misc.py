"""memblock at boot, a user heap (glibc malloc), and time series from the event log."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.patches import Patch, Rectangle

from ..i18n import _
from ..page_alloc import OWNER_NAMES
from ._style import (
    LINE_COLORS,
    OWNER_COLORS,
    byte_ticks,
    fmt_bytes,
    new_figure,
    new_grid,
    note,
    put,
    same_width,
)
from .physmem import (
    aggregate_frames,
    aggregate_runs,
    frame_categories,
    frame_runs,
    map_geometry,
)

# ----------------------------------------------------------------------------- memblock
_RES_COLORS = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377",
               "#332288", "#EE7733", "#009988", "#882255"]


def memblock(k, ax=None):
    """memblock.memory and memblock.reserved (named reservations) before hand-over, and
    what the buddy allocator got after it: physical address left to right."""
    fig, ax = new_figure(ax, figsize=(10, 4.4))
    d = _memblock_patches(ax, k)
    rows = {"memblock.memory": 2, "memblock.reserved": 1, "buddy after hand-over": 0}
    top = d["top"]
    ax.set_xlim(0, top)
    ax.set_ylim(0, 3)
    ax.set_yticks([v + 0.5 for v in rows.values()], list(rows), fontsize=8)
    ticks = byte_ticks(top)
    ax.set_xticks(ticks, [fmt_bytes(t) for t in ticks], fontsize=7)
    ax.set_xlim(0, top)
    ax.set_xlabel(_("physical address"))
    _memblock_legend(ax, d["legend"])
    ax.set_title(d["title"], fontsize=9)
    fig.kmemlab = {"memblock": {"ax": ax, "patches": d["patches"], "legend": d["legend"],
                                "profile": k.profile.name}}
    return fig


def _memblock_legend(ax, entries):
    return ax.legend(handles=[Patch(**kw, label=label) for label, kw in entries],
                     loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)


def _memblock_patches(ax, k) -> dict:
    """Draw memblock()'s rectangles; return them with the legend entries and title."""
    mb = k.memblock
    top = max((r.end for r in mb.memory), default=1)
    ps = k.PAGE_SIZE
    patches = []
    for r in mb.memory:
        patches.append(put(ax, Rectangle((r.base, 2.1), r.size, 0.8, facecolor="#88CCEE",
                                         edgecolor="#333333", lw=0.5)))
    names = []
    for res in mb.reservations_sorted():
        if res.name not in names:
            names.append(res.name)
    legend = []
    for i, name in enumerate(names):
        c = _RES_COLORS[i % len(_RES_COLORS)]
        total = sum(r.size for r in mb.reservations if r.name == name)
        for r in mb.reservations:
            if r.name == name:
                w = max(r.size, top / 400)  # keep a tiny reservation visible
                patches.append(put(ax, Rectangle((r.base, 1.1), w, 0.8, facecolor=c,
                                                 edgecolor="#333333", lw=0.5)))
        first = min(r.base for r in mb.reservations if r.name == name)
        legend.append((f"{name}: {fmt_bytes(total)} at {first:#x}", {"facecolor": c}))
    # after hand-over: frames aggregated to ~2000 columns
    n = k.max_pfn
    fpp = max(1, -(-n // 2000))
    ncat = len(OWNER_NAMES) + k.profile.nr_page_orders
    runs = frame_runs(k) if fpp > 1 else None   # 64 GiB: 2 ms instead of 40 for 16 M frames
    if runs is None:
        mode, _tot = aggregate_frames(frame_categories(k), fpp, ncat)
    else:
        mode, _tot = aggregate_runs(*runs, n, fpp, ncat)
    colors = {"free": "#FBE7B0", "reserved": "#4D4D4D", "hole": "#FFFFFF"}
    prev, start = None, 0
    for i, m in enumerate(list(mode) + [-1]):
        kind = ("free" if m >= len(OWNER_NAMES) or (m >= 0 and OWNER_NAMES[m] == "free")
                else None if m < 0 else OWNER_NAMES[m])
        kind = kind if kind in (None, "free", "reserved", "hole") else "allocated"
        if kind != prev:
            if prev is not None:
                patches.append(put(ax, Rectangle(
                    (start * fpp * ps, 0.1), (i - start) * fpp * ps, 0.8,
                    facecolor=colors.get(prev, OWNER_COLORS["pages"]), edgecolor="none")))
            prev, start = kind, i
    patches.append(put(ax, Rectangle((0, 0.1), n * ps, 0.8, fill=False, edgecolor="#333333",
                                     lw=0.5)))
    legend += [("RAM (memblock.memory)", {"facecolor": "#88CCEE", "edgecolor": "#333333"}),
               ("free in the buddy", {"facecolor": colors["free"], "edgecolor": "#333333"}),
               ("still reserved", {"facecolor": colors["reserved"]}),
               ("allocated since boot", {"facecolor": OWNER_COLORS["pages"]})]
    cmd = f", cmdline '{k.cmdline}'" if k.cmdline else ""
    title = (f"memblock at boot and the hand-over to the buddy allocator "
             f"({k.profile.name}{cmd})\nmemory {fmt_bytes(mb.memory.total_size)}, "
             f"reserved {fmt_bytes(mb.reserved.total_size)}")
    return {"patches": patches, "legend": legend, "top": top, "title": title}


def update_memblock(fig, k):
    """Bring a figure drawn by :func:`memblock` up to date in place, e.g. after another
    boot: the rectangles, the address axis, the legend and the title, in the layout the
    figure has (a figure kept by an explorer keeps its axes where they are). Returns the
    artists it changed, or None when the legend would no longer fit in the figure or the
    kernel is another one: then draw it anew."""
    st = (getattr(fig, "kmemlab", None) or {}).get("memblock")
    if st is None or st["profile"] != k.profile.name:
        return None
    ax = st["ax"]
    changed = []
    for p in st["patches"]:
        p.remove()
    changed += st["patches"]
    d = _memblock_patches(ax, k)
    changed += d["patches"]
    top = d["top"]
    if ax.get_xlim() != (0, top):
        ax.set_xlim(0, top)
        ticks = byte_ticks(top)
        ax.set_xticks(ticks, [fmt_bytes(t) for t in ticks], fontsize=7)
        ax.set_xlim(0, top)
        changed.append(ax.xaxis)
    legend = ax.get_legend()
    if [kw for _l, kw in d["legend"]] != [kw for _l, kw in st["legend"]]:
        changed += [legend, _memblock_legend(ax, d["legend"])]
        if ax.get_legend().get_window_extent().x1 > fig.bbox.x1:
            return None       # the new legend does not fit right of the axes
    else:
        for text, (label, _kw) in zip(legend.get_texts(), d["legend"], strict=True):
            if text.get_text() != label:
                text.set_text(label)
                changed.append(text)
                if text.get_window_extent().x1 > fig.bbox.x1:
                    return None   # a longer entry would be cut off at the figure's edge
    if ax.get_title() != d["title"]:
        ax.set_title(d["title"], fontsize=9)
        changed.append(ax.title)
    st.update(patches=d["patches"], legend=d["legend"])
    return changed


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


def heap(proc, ax=None, *, max_chunks: int = 40, box_rows: int = 1):
    """A user heap as glibc lays it out: chunks in address order (top: to scale;
    below: one box per chunk with its size), the bins, and RSS vs VSZ.

    ``box_rows``: room for at least this many rows of ten boxes (an explorer asks for
    all of them, so that its picture keeps its size while the heap grows)."""
    m = find_malloc(proc)
    if m is None:
        fig, ax = new_figure(ax)
        note(ax, "no glibc malloc model found on this object")
        return fig
    chunks = m.heap_chunks()
    nrows = _box_rows(len(chunks), max_chunks, box_rows)
    fig, axes = new_grid(2, 2, figsize=(11, 2.6 + 0.75 * nrows), width_ratios=[3, 1],
                         height_ratios=[1, 0.6 + 0.75 * nrows])
    a_scale, a_rss = axes[0]
    a_boxes, a_bins = axes[1]
    d = _heap_data(proc, m, chunks, max_chunks)
    st = {"axes": (a_scale, a_rss, a_boxes, a_bins), "max_chunks": max_chunks,
          "box_rows": box_rows, "key": _heap_key(d, nrows), "scale": [], "boxes": [],
          "rss_bars": [], "rss_texts": []}
    if d["span"] is not None:
        lo, hi = d["span"]
        st["scale"] = [put(a_scale, Rectangle((x, 0), w, 1, facecolor=color,
                                                   edgecolor="#333333", lw=0.3))
                       for x, w, color in d["scale"]]
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
    cols = 10
    for i, (color, lab, tcolor) in enumerate(d["boxes"]):
        st["boxes"].append(_heap_box(a_boxes, i, color, lab, tcolor))
    a_boxes.set_xlim(0, cols)
    a_boxes.set_ylim(nrows + 0.1, -0.1)
    a_boxes.axis("off")
    st["boxes_title"] = a_boxes.set_title(d["boxes_title"], fontsize=9, loc="left")
    _kinds_legend(a_boxes, d["kinds"])
    # bins
    a_bins.axis("off")
    a_bins.set_title(_("bins (head first)"), fontsize=9, loc="left")
    st["bins"] = a_bins.text(0, 1, d["bins"], va="top", fontsize=7, family="monospace",
                             transform=a_bins.transAxes)
    # RSS vs VSZ
    labels, vals = d["labels"], d["vals"]
    st["rss_bars"] = list(a_rss.barh(range(len(vals)), vals, color=LINE_COLORS[: len(vals)]))
    a_rss.invert_yaxis()
    # the names sit inside the axes (tick labels left of a narrow right-hand column were
    # cut off by the neighbouring plot: "ena (brk)")
    a_rss.set_yticks([])
    for i, (lab, v) in enumerate(zip(labels, vals)):
        st["rss_texts"].append(a_rss.text(v, i, f" {lab} {fmt_bytes(v)}", va="center",
                                          fontsize=7))
    a_rss.set_xlim(0, max(vals + [1]) * 2.2)
    a_rss.set_xticks([])
    a_rss.set_title("mallinfo2" + (" and RSS/VSZ" if d["rss"] else ""), fontsize=9,
                    loc="left")
    fig.suptitle(_("User heap (glibc malloc model): chunks, bins, memory"), fontsize=10)
    fig.kmemlab = {"chunks": chunks, "bars": dict(zip(labels, vals)),   # bytes
                   "heap_state": st}
    return fig


def _box_rows(nchunks: int, max_chunks: int, box_rows: int) -> int:
    return max(box_rows, 1, -(-min(nchunks, max_chunks) // 10))


def _kinds_legend(ax, kinds):
    if not kinds:
        return None
    return ax.legend(handles=[Patch(facecolor=_CHUNK_COLORS[x], edgecolor="#333333", label=x)
                              for x in kinds], fontsize=7, loc="upper left",
                     bbox_to_anchor=(0, 0.0), ncol=min(len(kinds), 6), frameon=False)


def _heap_box(ax, i: int, color, lab: str, tcolor):
    r, col = divmod(i, 10)
    return (put(ax, Rectangle((col, r), 0.95, 0.9, facecolor=color, edgecolor="#333333",
                                   lw=0.5)),
            ax.text(col + 0.47, r + 0.45, lab, ha="center", va="center", fontsize=6.5,
                    color=tcolor))


def _heap_data(proc, m, chunks, max_chunks: int) -> dict:
    """What each panel of :func:`heap` shows, as plain values."""
    heap_chunks = [c for c in chunks if not c.is_mmapped]
    d = {"span": None, "scale": []}
    if heap_chunks:
        lo = heap_chunks[0].addr
        d["span"] = (lo, max(c.end for c in heap_chunks))
        d["scale"] = [(c.addr - lo, c.size, _CHUNK_COLORS[_chunk_kind(c)]) for c in heap_chunks]
    shown = chunks[:max_chunks]
    d["boxes"] = []
    for c in shown:
        kind = _chunk_kind(c)
        lab = f"{c.size:#x}\n{kind if kind != 'in use' else 'used'}"
        if c.is_mmapped:
            lab += "\nmmap"
        d["boxes"].append((_CHUNK_COLORS[kind], lab, "white" if kind in (
            "fencepost", "large bin", "tcache") else "black"))
    more = f" (first {max_chunks} of {len(chunks)})" if len(chunks) > max_chunks else ""
    d["boxes_title"] = f"{len(chunks)} chunks in address order{more}: size, state"
    d["kinds"] = sorted({_chunk_kind(c) for c in chunks})
    lines = []
    for kind, table in m.bins().items():
        for i, lst in table.items():
            lines.append(f"{kind}[{i}] {lst[0][1]:#x}: {len(lst)} chunk"
                         f"{'s' if len(lst) != 1 else ''}")
    d["bins"] = "\n".join(lines[:16]) or "all bins empty"
    mi = m.mallinfo2()
    labels, vals = [], []
    rss = getattr(proc, "rss_pages", None)
    vsz = getattr(proc, "vsz", None)
    d["rss"] = rss is not None and vsz is not None
    if d["rss"]:
        vsz_kib = vsz() if callable(vsz) else vsz     # ps's VSZ is in KiB, not bytes
        labels += ["VSZ", "RSS"]
        vals += [int(vsz_kib) << 10, int(rss) * getattr(m, "page_size", 4096)]
    labels += ["arena (brk)", "mmapped", "in use", "free"]
    vals += [mi.arena, mi.hblkhd, mi.uordblks, mi.fordblks]
    d["labels"], d["vals"] = labels, vals
    return d


def _heap_key(d, nrows: int) -> tuple:
    """What fixes the heap figure's size and layout."""
    return (nrows, d["span"] is None, tuple(d["labels"]), d["rss"])


def update_heap(fig, proc):
    """Bring a figure drawn by :func:`heap` up to date in place: chunks, boxes, bins and
    mallinfo2. Returns the artists it changed (``[]``: nothing did), or None when the
    figure needs drawing anew (another row of boxes, other chunk kinds, the heap moved
    or grew, a text that would need more room)."""
    st = (getattr(fig, "kmemlab", None) or {}).get("heap_state")
    m = find_malloc(proc)
    if st is None or m is None:
        return None
    chunks = m.heap_chunks()
    d = _heap_data(proc, m, chunks, st["max_chunks"])
    a_scale, a_rss, a_boxes, a_bins = st["axes"]
    nrows = _box_rows(len(chunks), st["max_chunks"], st["box_rows"])
    if _heap_key(d, nrows) != st["key"]:
        return None
    changed = []
    # the kinds under the boxes: a new legend, if it takes the same room (one row,
    # within the panel's width) the layout stays
    old = a_boxes.get_legend()
    if [t.get_text() for t in (old.get_texts() if old else [])] != d["kinds"]:
        new = _kinds_legend(a_boxes, d["kinds"])
        if old is not None:
            was = old.get_window_extent()
            now = new.get_window_extent()
            box = a_boxes.get_window_extent()
            if (now.height != was.height or now.x1 > box.x1 or was.x1 > box.x1
                    or old.get_window_extent() is None):
                return None
        changed += [old, new]
    # to scale: the span fixes the axis; rectangles reused in address order
    if d["span"] is not None:
        lo, hi = d["span"]
        if a_scale.get_title(loc="left") != (f"heap {lo:#x} – {hi:#x} to scale "
                                             f"({fmt_bytes(hi - lo)})"):
            return None
        rects = st["scale"]
        for i, (x, w, color) in enumerate(d["scale"]):
            if i == len(rects):
                rects.append(put(a_scale, Rectangle((x, 0), w, 1, facecolor=color,
                                                         edgecolor="#333333", lw=0.3)))
                changed.append(rects[i])
                continue
            r = rects[i]
            if r.get_x() != x or r.get_width() != w or r.get_facecolor() != to_rgba(color):
                changed.append(r)
                r.set_x(x)
                r.set_width(w)
                r.set_facecolor(color)
        while len(rects) > len(d["scale"]):
            r = rects.pop()
            r.remove()
            changed.append(r)
    # one box per chunk
    boxes = st["boxes"]
    for i, (color, lab, tcolor) in enumerate(d["boxes"]):
        if i == len(boxes):
            boxes.append(_heap_box(a_boxes, i, color, lab, tcolor))
            changed += boxes[i]
            continue
        rect, text = boxes[i]
        if rect.get_facecolor() != to_rgba(color):
            rect.set_facecolor(color)
            changed.append(rect)
        if text.get_text() != lab or text.get_color() != tcolor:
            text.set_text(lab)
            text.set_color(tcolor)
            changed.append(text)
    while len(boxes) > len(d["boxes"]):
        changed += boxes.pop()
        for a in changed[-2:]:
            a.remove()
    title = st["boxes_title"]
    if title.get_text() != d["boxes_title"]:
        if not same_width(title.get_text(), d["boxes_title"]):
            return None
        changed.append(title)
        title.set_text(d["boxes_title"])
    # bins: a text that must stay inside its (axis-less) panel, or the layout would move
    bins = st["bins"]
    if bins.get_text() != d["bins"]:
        changed.append(bins)
        bins.set_text(d["bins"])
        if not _inside(bins, a_bins):
            return None
    # mallinfo2
    vals = d["vals"]
    if a_rss.get_xlim() != (0, max(vals + [1]) * 2.2):
        a_rss.set_xlim(0, max(vals + [1]) * 2.2)
        changed.append(a_rss)
    for i, (bar, text, lab, v) in enumerate(zip(st["rss_bars"], st["rss_texts"], d["labels"],
                                                vals, strict=True)):
        if bar.get_width() != v:
            bar.set_width(v)
            changed.append(bar)
        s = f" {lab} {fmt_bytes(v)}"
        if text.get_text() != s or text.get_position() != (v, i):
            changed.append(text)
            text.set_text(s)
            text.set_position((v, i))
            if not _inside(text, a_rss):
                return None
    fig.kmemlab.update(chunks=chunks, bars=dict(zip(d["labels"], vals)))
    return changed


def _inside(text, ax) -> bool:
    """True if the text is drawn within its axes (so it does not move the layout)."""
    bb = text.get_window_extent()
    ab = ax.get_window_extent()
    return ab.x0 <= bb.x0 and bb.x1 <= ab.x1 and ab.y0 <= bb.y0 and bb.y1 <= ab.y1


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
