"""Physical memory: the frame map, /proc/buddyinfo with watermarks, a buddy block's tree.

Everything here reads ``k.frame_view()``, ``k.zone_list`` and ``k.buddyinfo()`` only.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import Patch, Rectangle

from ..i18n import _
from ..page_alloc import OWNER_CODE, OWNER_NAMES
from ._style import (
    OWNER_COLORS,
    OWNER_LABELS,
    WMARK_COLORS,
    ZH,
    fmt_bytes,
    free_order_colors,
    new_figure,
    new_grid,
    put,
    same_width,
)

_NOWN = len(OWNER_NAMES)
_FREE = OWNER_NAMES.index("free")
_HOLE = OWNER_NAMES.index("hole")


# ----------------------------------------------------------------------------- helpers
def frame_categories(k, fv=None):
    """Per-frame category (int8): owner code, or _NOWN + order for free buddy frames."""
    fv = k.frame_view() if fv is None else fv
    owner = fv["owner"]
    cat = owner.astype(np.int8)   # a copy
    np.add(fv["order"], np.int8(_NOWN), out=cat, where=owner == _FREE, casting="unsafe")
    return cat


def _runs(cat):
    """Run-length encoding of a category array: (starts, ends, codes)."""
    n = len(cat)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    change = np.flatnonzero(cat[1:] != cat[:-1]) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    ends = np.concatenate((change, [n])).astype(np.int64)
    return starts, ends, cat[starts].astype(np.int64)


def aggregate_frames(cat, fpp: int, ncat: int):
    """(mode per pixel, exact frames per category) for ``fpp`` frames per pixel.

    Works on runs of equal category (a few thousand even at 64 GiB), not on frames:
    for each category the cumulative frame count is evaluated at the pixel
    boundaries with ``searchsorted``.
    """
    if fpp == 1:
        starts, ends, codes = _runs(cat)
        totals = np.bincount(codes, weights=ends - starts, minlength=ncat).astype(np.int64)
        return cat.astype(np.int64), totals
    return aggregate_runs(*_runs(cat), len(cat), fpp, ncat)


def aggregate_runs(starts, ends, codes, n: int, fpp: int, ncat: int):
    """:func:`aggregate_frames` of the ``n`` frames given as runs (sorted, disjoint, covering
    [0, n); a category may have several runs side by side), ``fpp`` > 1."""
    totals = np.bincount(codes, weights=ends - starts, minlength=ncat).astype(np.int64)
    npix = -(-n // fpp)
    bounds = np.minimum(np.arange(npix + 1, dtype=np.int64) * fpp, n)
    counts = np.zeros((npix, ncat), dtype=np.int32)
    for c in np.flatnonzero(totals):
        sel = codes == c
        s, e = starts[sel], ends[sel]
        prefix = np.concatenate(([0], np.cumsum(e - s)))
        i = np.searchsorted(e, bounds, side="right")
        partial = np.zeros_like(bounds)
        inside = i < len(s)
        partial[inside] = np.clip(bounds[inside] - s[i[inside]], 0, None)
        cum = prefix[i] + partial
        counts[:, c] = np.diff(cum)
    return counts.argmax(axis=1), totals


def frame_runs(k):
    """:func:`frame_categories` as runs ``(starts, ends, codes)`` (sorted, disjoint,
    covering [0, k.max_pfn)), made from the tables frame_view reads (memblock.memory, the
    free, allocated and per-CPU blocks) without an array of every frame: a 64 GiB
    machine has 16 M frames but some 16,000 blocks. None when two blocks overlap (then
    frame_view's "later tables over earlier ones" decides and only the per-frame path
    gives its answer)."""
    n = k.max_pfn
    pa = k.page_alloc
    shift, ps = k.PAGE_SHIFT, k.PAGE_SIZE
    fb, al, pcp = pa.free_blocks, pa.allocated, pa.pcp_pages
    other = OWNER_CODE["other"]
    pfn = np.fromiter(list(fb) + list(al) + list(pcp), np.int64, len(fb) + len(al) + len(pcp))
    order = np.fromiter([o for o, _mt in fb.values()] + [p.order for p in al.values()]
                        + [v[2] for v in pcp.values()], np.int64, len(pfn))
    code = np.fromiter([_NOWN + o for o, _mt in fb.values()]
                       + [OWNER_CODE.get(p.owner, other) for p in al.values()]
                       + [OWNER_CODE["pcp"]] * len(pcp), np.int64, len(pfn))
    end = np.minimum(pfn + (np.int64(1) << order), n)
    keep = pfn < n
    pfn, end, code = pfn[keep], end[keep], code[keep]
    o = np.argsort(pfn, kind="stable")
    bs, be, bc = pfn[o], end[o], code[o]
    if len(bs) > 1 and (bs[1:] < be[:-1]).any():
        return None
    # between the blocks: memblock.memory's whole pages are reserved, the rest is a hole
    mem = sorted(((r.base + ps - 1) >> shift, min(r.end >> shift, n))
                 for r in k.memblock.memory)
    merged: list[list[int]] = []
    for lo, hi in mem:
        if hi <= lo:
            continue
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    holes, at = [], 0
    for lo, hi in merged:
        if lo > at:
            holes.append((at, lo))
        at = max(at, hi)
    if at < n:
        holes.append((at, n))
    gs = np.concatenate(([0], be))
    ge = np.concatenate((bs, [n]))
    parts_s, parts_e, parts_c = [bs], [be], [bc]
    for spans, c in ((merged, OWNER_CODE["reserved"]), (holes, _HOLE)):
        for lo, hi in spans:
            s, e = np.maximum(gs, lo), np.minimum(ge, hi)
            ok = e > s
            parts_s.append(s[ok])
            parts_e.append(e[ok])
            parts_c.append(np.full(int(ok.sum()), c, dtype=np.int64))
    starts, ends, codes = (np.concatenate(x) for x in (parts_s, parts_e, parts_c))
    o = np.argsort(starts, kind="stable")
    return starts[o], ends[o], codes[o]


def _palette(nr_orders: int) -> np.ndarray:
    pal = [to_rgb(OWNER_COLORS[name]) for name in OWNER_NAMES]
    pal += free_order_colors(nr_orders)
    return np.array(pal, dtype=np.float32)


def map_geometry(nframes: int) -> tuple[int, int, int]:
    """(columns, rows, frames per pixel): 1 frame per pixel up to 1 GiB of 4 KiB pages,
    then powers of two so that the picture stays near 512 x 512 (64 GiB: 64 frames)."""
    if nframes <= 1 << 16:
        width, fpp = 256, 1
    else:
        width = 512
        fpp = 1
        while -(-nframes // fpp) > 512 * 512:
            fpp *= 2
    npix = -(-nframes // fpp)
    return width, -(-npix // width), fpp


def _circle(ax, pixel: int, width: int) -> list:
    """Circle one pixel of the map (e.g. the block just allocated), also when it sits on
    the edge of the axes: not clipped, a white halo under a black ring so that it shows on
    dark (reserved) and light (free) pixels alike. Returns the two lines."""
    r, c = divmod(pixel, width)
    lines = []
    for mec, mew, z in (("white", 4.0, 5), ("black", 2.0, 6)):
        lines += ax.plot(c + 0.5, r + 0.5, marker="o", ms=12, mfc="none", mec=mec, mew=mew,
                         clip_on=False, zorder=z)
    return lines


def _map_key(k, n: int) -> tuple:
    """What the axes, ticks, zone lines and labels of a memory map depend on."""
    return (k.profile.name, k.ram, k.PAGE_SIZE, n,
            tuple((z.name, z.zone_start_pfn, z.zone_end_pfn, z.spanned) for z in k.zone_list))


def _pixel_boxes(pixels, width: int) -> list:
    """Boxes (data coordinates of the map) around changed pixels: one per run of
    neighbouring rows, from the leftmost to the rightmost changed column."""
    rows, cols = np.divmod(np.asarray(pixels), width)
    out = []
    start = 0
    breaks = np.flatnonzero(np.diff(rows) > 1) + 1
    for end in [*breaks.tolist(), len(rows)]:
        r, c = rows[start:end], cols[start:end]
        out.append(((int(c.min()), int(r.min())), (int(c.max()) + 1, int(r.max()) + 1)))
        start = end
    return out


def _legend_texts(totals, nr_orders: int) -> list[str]:
    out = [_("{}: {:,} pages").format(_(OWNER_LABELS[name]), totals[code])
           for code, name in enumerate(OWNER_NAMES)
           if name not in ("free", "hole") and totals[code]]
    out.append(_("free, large block: {:,} pages in all").format(int(totals[_NOWN:].sum())))
    out.append(_("free, order 0 (fragment)"))
    return out


# ----------------------------------------------------------------------------- memory_map
def memory_map(k, ax=None, *, highlight=(), title: str | None = None):
    """Every physical page frame, coloured by who owns it (free blocks by order).

    Frames are laid out row by row (address grows left to right, then down). Above
    1 GiB, ``fpp`` frames share one pixel, which takes the colour most of them have;
    the legend gives exact page counts. Zone boundaries are dashed lines, the PCI
    hole (no RAM between 3 and 4 GiB on a big PC) is labelled. ``highlight``: pfns to
    circle (e.g. the block just allocated).
    """
    fig, ax = new_figure(ax, figsize=(9.5, 6.4))
    nr_orders = k.profile.nr_page_orders
    ps = k.PAGE_SIZE
    cat = frame_categories(k)
    n = len(cat)
    width, rows, fpp = map_geometry(n)
    ncat = _NOWN + nr_orders
    mode, totals = aggregate_frames(cat, fpp, ncat)
    pix = np.full(width * rows, _HOLE, dtype=np.int64)
    pix[: len(mode)] = mode
    img = _palette(nr_orders)[pix].reshape(rows, width, 3)
    ax.imshow(img, interpolation="nearest", aspect="auto",
              extent=(0, width, rows, 0))
    ax.set_xlim(0, width)
    ax.set_ylim(rows, 0)
    row_bytes = width * fpp * ps
    # axes in bytes
    xt = np.linspace(0, width, 5)
    ax.set_xticks(xt, [fmt_bytes(x * fpp * ps) for x in xt])
    ax.set_xlabel(_("offset in row (one row = {})").format(fmt_bytes(row_bytes)))
    total = rows * row_bytes
    step = 1 << max(int(np.log2(total / 8)), 0)
    yt = np.arange(0, total + 1, step) / row_bytes
    ax.set_yticks(yt, [fmt_bytes(y * row_bytes) for y in yt])
    ax.set_ylabel(_("physical address"))
    ax.tick_params(labelsize=8)
    # zone boundaries, labels kept apart
    label_y = -1e9
    for z in k.zone_list:
        if not z.spanned:
            continue
        p = z.zone_start_pfn // fpp
        r, c = divmod(p, width)
        xs, ys = [0, c, c, width], [r + 1, r + 1, r, r]
        if c == 0:
            xs, ys = [0, width], [r, r]
        ax.plot(xs, ys, color="black", lw=1.2, ls="--")
        end_r = (z.zone_end_pfn - 1) // fpp // width
        mid = max((r + end_r + 1) / 2, r + 0.5, label_y + rows / 12)
        label_y = mid
        ax.annotate(f"{z.name}\n{fmt_bytes(z.spanned * ps)}", xy=(width, mid),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=8,
                    annotation_clip=False)
    # the PCI hole and other big holes inside RAM
    hole_min = (64 << 20) // ps
    starts, ends, codes = _runs(cat)
    for s, e, c in zip(starts, ends, codes, strict=True):
        if c == _HOLE and e - s >= hole_min and e < n:
            r0, r1 = s // fpp / width, e // fpp / width
            ax.text(width / 2, (r0 + r1) / 2,
                    _("PCI hole: no RAM at {} – {}").format(fmt_bytes(s * ps), fmt_bytes(e * ps)),
                    ha="center", va="center", fontsize=9, color="#444444")
    circles = []
    for pfn in highlight:
        circles += _circle(ax, int(pfn) // fpp, width)
    # legend: owners with exact counts, free orders as one ramp
    ramp = free_order_colors(nr_orders)
    colors = [OWNER_COLORS[name] for code, name in enumerate(OWNER_NAMES)
              if name not in ("free", "hole") and totals[code]] + [ramp[-1], ramp[0]]
    handles = [Patch(facecolor=c, edgecolor="#777777", label=label)
               for c, label in zip(colors, _legend_texts(totals, nr_orders), strict=True)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.1, 1.0), fontsize=8,
              frameon=False, title=_("owner (exact page counts)"), title_fontsize=8)
    scale = _("1 pixel = 1 page frame") if fpp == 1 else \
        _("1 pixel = {} frames ({}), coloured by the most common owner").format(
            fpp, fmt_bytes(fpp * ps))
    ax.set_title(title or _("Physical memory, {}, {} RAM: {:,} page frames\n{}").format(
        k.profile.name, fmt_bytes(k.ram), n, scale), fontsize=10)
    fig.kmemlab = {"fpp": fpp, "width": width, "rows": rows, "totals": totals, "pixels": pix,
                   "cat": cat, "rgb": img, "circles": circles, "key": _map_key(k, n)}
    return fig


# ----------------------------------------------------------------------------- buddyinfo
def buddyinfo(k, ax=None, *, zones=None):
    """/proc/buddyinfo as bars (free blocks per order, one panel per zone) and, on the
    right, each zone's free pages against its min/low/high watermarks.

    With ``ax`` given, only the bars are drawn (all zones grouped in that axes).
    """
    info = k.buddyinfo()
    names = [z for z in (zones or info) if z in info]
    nr_orders = k.profile.nr_page_orders
    orders = np.arange(nr_orders)
    ramp = free_order_colors(nr_orders)
    if ax is not None:
        fig = ax.figure
        w = 0.8 / max(len(names), 1)
        for i, name in enumerate(names):
            ax.bar(orders + i * w, info[name], width=w, label=name)
        ax.set_xticks(orders + 0.4 - w / 2, [str(o) for o in orders])
        ax.set_xlabel(_("order (block = 2^order pages)"))
        ax.set_ylabel(_("free blocks"))
        ax.legend(fontsize=8)
        ax.set_title(_("/proc/buddyinfo"))
        return fig
    fig, axes = new_grid(len(names), 2, figsize=(10, 1.9 + 1.7 * len(names)),
                         width_ratios=[2.2, 1])
    ps = k.PAGE_SIZE
    rows = []
    for row, name in enumerate(names):
        z = k.zones[name]
        a, b = axes[row]
        counts = info[name]
        bars = a.bar(orders, counts, color=ramp, edgecolor="#555555", lw=0.6)
        labels = a.bar_label(bars, labels=[str(c) if c else "" for c in counts], fontsize=7,
                             padding=1)
        a.set_xticks(orders, [f"{o}\n{fmt_bytes(ps << o)}" for o in orders], fontsize=7)
        a.set_ylabel(_("free blocks"), fontsize=8)
        a.set_ylim(0, max(max(counts), 1) * 1.22)
        a.set_title(f"{name}: free blocks per order", fontsize=9, loc="left")
        a.tick_params(axis="y", labelsize=7)
        # free pages vs watermarks (log scale: the marks are a few % of the zone)
        free_bar = b.barh(0, max(z.free_pages, 1), color=ramp[-1], edgecolor="#777777",
                          height=0.5, label=f"free {z.free_pages:,}")[0]
        b.barh(0, z.managed, fill=False, edgecolor="#777777", height=0.5, lw=0.8, ls=":",
               label=f"managed {z.managed:,}")
        for wm, val in (("min", z.min), ("low", z.low), ("high", z.high)):
            b.axvline(max(val, 1), color=WMARK_COLORS[wm], lw=1.5, label=f"{wm} {val:,}")
        b.set_xscale("log")
        b.set_xlim(1, max(z.managed, z.free_pages, z.high, 10) * 2)
        b.set_ylim(-0.4, 0.4)
        b.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.0, 1.05), frameon=False)
        b.set_yticks([])
        b.set_title(_("free pages vs watermarks"), fontsize=9, loc="left")
        b.tick_params(axis="x", labelsize=7)
        b.set_xlabel(_("pages (log scale)"), fontsize=7)
        rows.append({"zone": name, "bars": list(bars), "labels": labels, "free": free_bar,
                     "marks": (z.managed, z.min, z.low, z.high), "axes": (a, b)})
    fig.suptitle(f"Buddy allocator — /proc/buddyinfo, {k.profile.name}, "
                 f"{fmt_bytes(k.ram)}", fontsize=10)
    fig.kmemlab = {"buddyinfo_state": {"rows": rows, "key": (k.profile.name, k.ram,
                                                                tuple(names))}}
    return fig


def update_buddyinfo(fig, k, *, zones=None):
    """Bring a figure drawn by :func:`buddyinfo` (without ``ax``) up to date in place:
    the bars, their counts, the free pages against the watermarks. Returns the artists
    it changed (``[]``: nothing did), or None when it has to be drawn anew (other zones,
    watermarks, or new y ticks that need more room)."""
    st = (getattr(fig, "kmemlab", None) or {}).get("buddyinfo_state")
    if st is None:
        return None
    info = k.buddyinfo()
    names = [z for z in (zones or info) if z in info]
    if st["key"] != (k.profile.name, k.ram, tuple(names)):
        return None
    changed = []
    for row in st["rows"]:
        z = k.zones[row["zone"]]
        if row["marks"] != (z.managed, z.min, z.low, z.high):
            return None
        a, b = row["axes"]
        counts = info[row["zone"]]
        top = max(max(counts), 1) * 1.22
        if a.get_ylim() != (0, top):
            old = [t.get_text() for t in a.yaxis.get_ticklabels()]
            a.set_ylim(0, top)
            new = [t.get_text() for t in a.yaxis.get_ticklabels()]
            if len(old) != len(new) or not all(same_width(x, y) for x, y in zip(old, new)):
                return None
            changed.append(a)       # new scale: the whole panel
        for bar, label, c in zip(row["bars"], row["labels"], counts, strict=True):
            if bar.get_height() != c:
                bar.set_height(c)
                changed.append(bar)
            (x0, _y0), (x1, y1) = bar.get_bbox().get_points()
            # as Axes.bar_label places them (padding 1, upwards for c >= 0)
            xy, xyann, text = ((x0 + x1) / 2, max(_y0, y1)), (0, 1), str(c) if c else ""
            if label.get_text() != text or tuple(label.xy) != xy or \
                    tuple(label.xyann) != xyann:
                label.set_text(text)
                label.xy, label.xyann = xy, xyann
                changed.append(label)
        free = max(z.free_pages, 1)
        if row["free"].get_width() != free:
            row["free"].set_width(free)
            changed.append(row["free"])
        legend_text = next(t for t in b.get_legend().get_texts()
                           if t.get_text().startswith("free "))
        text = f"free {z.free_pages:,}"
        if legend_text.get_text() != text:
            if not same_width(legend_text.get_text(), text):
                return None
            legend_text.set_text(text)
            changed.append(legend_text)
    return changed


# ----------------------------------------------------------------------------- buddy_tree
def _leaf_label(owner_code: int, order: int) -> tuple[str, str]:
    if owner_code == _FREE:
        return "free", f"free o{order}"
    name = OWNER_NAMES[owner_code]
    return name, f"{_(OWNER_LABELS[name])} o{order}" if order >= 0 else _(OWNER_LABELS[name])


def block_tree(k, pfn: int, order: int | None = None, fv=None) -> list[dict]:
    """The tree of halves below the order-``order`` block that contains ``pfn``:
    a list of nodes {start, order, depth, leaf, state, label}. A node is a leaf when it
    is exactly one free or allocated block (or all reserved/hole)."""
    fv = k.frame_view() if fv is None else fv
    owner, orders = fv["owner"], fv["order"]
    top = k.profile.nr_page_orders - 1 if order is None else order
    root = (pfn >> top) << top
    n = len(owner)
    nodes: list[dict] = []

    def visit(start: int, o: int, depth: int) -> None:
        end = min(start + (1 << o), n)
        if start >= n:
            return
        seg_o = orders[start]
        seg_w = owner[start]
        whole = end - start == 1 << o
        if whole and seg_o == o and seg_w >= _FREE:
            state, label = _leaf_label(int(seg_w), o)
            nodes.append(dict(start=start, order=o, depth=depth, leaf=True, state=state,
                              label=label))
            return
        if seg_o < 0 and (owner[start:end] == seg_w).all() and (orders[start:end] < 0).all():
            state, label = _leaf_label(int(seg_w), -1)
            nodes.append(dict(start=start, order=o, depth=depth, leaf=True, state=state,
                              label=label))
            return
        if o == 0:
            state, label = _leaf_label(int(seg_w), int(seg_o))
            nodes.append(dict(start=start, order=0, depth=depth, leaf=True, state=state,
                              label=label))
            return
        nodes.append(dict(start=start, order=o, depth=depth, leaf=False, state="split",
                          label=f"o{o} split"))
        half = 1 << (o - 1)
        visit(start, o - 1, depth + 1)
        visit(start + half, o - 1, depth + 1)

    visit(root, top, 0)
    return nodes


def buddy_tree(k, pfn: int | None = None, order: int | None = None, ax=None):
    """The tree of halves of one buddy block: the root (by default the max-order block
    around ``pfn``) split into buddies until each piece is one free or allocated block.

    Drawn as an icicle: each row is an order, each rectangle a block at its pfn range;
    grey rectangles were split, coloured ones are blocks as they are now. ``pfn`` and its
    buddy (``pfn ^ (1 << order)``) are outlined. Default ``pfn``: the last block
    ``mm_page_alloc`` gave out.
    """
    fig, ax = new_figure(ax, figsize=(10, 4.6))
    if pfn is None:
        last = [e for e in k.trace.events("mm_page_alloc") if e.fields.get("pfn", -1) >= 0]
        if last:
            pfn = last[-1].fields["pfn"]
        else:
            pfn = min(z.zone_start_pfn for z in k.zone_list if z.present)
    nodes = block_tree(k, pfn, order)
    top = nodes[0]["order"]
    root = nodes[0]["start"]
    nr = k.profile.nr_page_orders
    ramp = free_order_colors(nr)
    ps = k.PAGE_SIZE
    span = 1 << top
    for nd in nodes:
        x0 = nd["start"] - root
        w = 1 << nd["order"]
        y = nd["depth"]
        if nd["leaf"]:
            color = ramp[nd["order"]] if nd["state"] == "free" else OWNER_COLORS[nd["state"]]
            put(ax, Rectangle((x0, y), w, 0.9, facecolor=color, edgecolor="#333333",
                                   lw=0.7))
            # the leaf continues down as a faint column: no further split
            put(ax, Rectangle((x0, y + 0.9), w, top - y + 0.1, facecolor=color,
                                   alpha=0.25, edgecolor="none"))
        else:
            put(ax, Rectangle((x0, y), w, 0.9, facecolor="#EEEEEE", edgecolor="#999999",
                                   lw=0.7))
        if w / span > 0.07 or (nd["leaf"] and w / span > 0.035):
            dark = nd["state"] in ("reserved", "pages", "pgtable", "module", "kmalloc_large",
                                   "vmalloc", "anon", "other")
            ax.text(x0 + w / 2, y + 0.45, nd["label"] if w / span > 0.07 else f"o{nd['order']}",
                    ha="center", va="center", fontsize=7,
                    color="white" if dark else "black", clip_on=True)
    sel_order = int(k.frame_view()["order"][pfn]) if order is None else order
    sel_order = max(sel_order, 0)
    head = (pfn >> sel_order) << sel_order
    buddy = k.page_alloc.buddy_of(head, sel_order)
    for p, lab in ((head, "block"), (buddy, "its buddy")):
        if root <= p < root + span:
            d = top - sel_order
            put(ax, Rectangle((p - root, d), 1 << sel_order, 0.9, fill=False,
                                   edgecolor="black", lw=2.2,
                                   ls="-" if lab == "block" else ":"))
    ax.set_xlim(0, span)
    ax.set_ylim(top + 1, 0)
    ax.set_yticks([d + 0.45 for d in range(top + 1)],
                  [f"order {top - d}" for d in range(top + 1)], fontsize=7)
    xt = np.linspace(0, span, 5)
    ax.set_xticks(xt, [f"pfn {int(root + x):#x}\n+{fmt_bytes(x * ps)}" for x in xt],
                  fontsize=7)
    leaves = [nd for nd in nodes if nd["leaf"]]
    nfree = sum(1 for nd in leaves if nd["state"] == "free")
    ax.set_title(f"Buddy tree of the order-{top} block at pfn {root:#x} "
                 f"({fmt_bytes(span * ps)}): {len(leaves)} blocks, {nfree} free\n"
                 f"solid outline: order-{sel_order} block at pfn {head:#x}; dotted: its buddy "
                 f"at pfn {buddy:#x}", fontsize=9)
    states = sorted({nd["state"] for nd in leaves})
    handles = [Patch(facecolor="#EEEEEE", edgecolor="#999999", label="split into two halves")]
    for s in states:
        if s == "free":
            handles.append(Patch(facecolor=ramp[0], edgecolor="#333333",
                                 label="free block (amber = small order)"))
        else:
            handles.append(Patch(facecolor=OWNER_COLORS[s], edgecolor="#333333",
                                 label=_(OWNER_LABELS[s])))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7,
              frameon=False)
    fig.kmemlab = {"nodes": nodes, "root": root, "order": top}
    return fig




__all__ = ["memory_map", "buddyinfo", "buddy_tree", "block_tree", "aggregate_frames",
           "aggregate_runs", "frame_runs",
           "map_geometry", "ZH"]


def update_memory_map(fig, k, *, highlight=()):
    """Bring a figure drawn by :func:`memory_map` up to date in place: the pixels, the
    legend's counts and the circles. Returns the artists it changed (``[]``: the picture
    is already right), or None when the map needs drawing anew (the RAM, the zones or the
    set of owners in the legend changed).

    Only the frames whose category changed are looked at again: their pixels get the
    colour most of their frames have now, as :func:`aggregate_frames` would give them.
    Widgets use it to redraw only what a step changed."""
    info = getattr(fig, "kmemlab", None)
    if not info or "cat" not in info or not fig.axes or not fig.axes[0].images:
        return None
    ax = fig.axes[0]
    nr_orders = k.profile.nr_page_orders
    ncat = _NOWN + nr_orders
    cat = frame_categories(k)
    n = len(cat)
    if _map_key(k, n) != info["key"]:
        return None
    width, fpp = info["width"], info["fpp"]
    old = info["cat"]
    diff = np.flatnonzero(cat != old)
    changed = []
    if len(diff):
        now = cat[diff]
        totals = (info["totals"] + np.bincount(now, minlength=ncat)
                  - np.bincount(old[diff], minlength=ncat))
        present = [c for c in range(_NOWN) if c not in (_FREE, _HOLE)]
        if [bool(totals[c]) for c in present] != [bool(info["totals"][c]) for c in present]:
            return None   # an owner appears in or leaves the legend
        pix = info["pixels"]
        pixels = np.unique(diff // fpp)
        if fpp == 1:
            mode = now.astype(np.int64)
        elif len(pixels) > 4096:
            mode = aggregate_frames(cat, fpp, ncat)[0][pixels]
        else:
            mode = np.array([np.bincount(cat[p * fpp:(p + 1) * fpp], minlength=ncat).argmax()
                             for p in pixels.tolist()], dtype=np.int64)
        moved = mode != pix[pixels]
        if moved.any():
            pix[pixels] = mode
            rgb = info["rgb"]
            rgb.reshape(-1, 3)[pixels[moved]] = _palette(nr_orders)[mode[moved]]
            image = ax.images[0]
            image.set_data(rgb)
            changed += [(image, part) for part in _pixel_boxes(pixels[moved], width)]
        for text, new in zip(ax.get_legend().get_texts(), _legend_texts(totals, nr_orders)):
            if text.get_text() != new:
                text.set_text(new)
                changed.append(text)
        info.update(totals=totals, cat=cat)
    # the circles: same lines, moved; new ones when there are more highlights
    circles = info["circles"]
    want = [divmod(int(pfn) // fpp, width) for pfn in highlight]
    if len(circles) != 2 * len(want):
        for line in circles:
            line.remove()
        changed += circles
        circles = []
        for pfn in highlight:
            circles += _circle(ax, int(pfn) // fpp, width)
        changed += circles
        info["circles"] = circles
    else:
        for i, (r, c) in enumerate(want):
            for line in circles[2 * i:2 * i + 2]:
                if tuple(line.get_xdata()) != (c + 0.5,) or tuple(line.get_ydata()) != (r + 0.5,):
                    changed.append(line)  # before and after: the renderer repaints both
                    line.set_data([c + 0.5], [r + 0.5])
    return changed


# ----------------------------------------------------------------------------- buddy_tree, in place
_DARK = ("reserved", "pages", "pgtable", "module", "kmalloc_large", "vmalloc", "anon", "other")


def _tree_spec(k, pfn: int | None, order: int | None) -> dict:
    """What :func:`buddy_tree` draws for this state, as plain values in the order it adds
    them: its rectangles (xy, width, height, facecolor, edgecolor, linewidth, alpha,
    fill, linestyle), its texts (x, y, text, colour), ticks, title and legend entries.
    :func:`update_buddy_tree` sets a kept figure's artists to these; tests/widgets/
    test_render.py proves the result is buddy_tree's picture, pixel for pixel."""
    if pfn is None:
        last = [e for e in k.trace.events("mm_page_alloc") if e.fields.get("pfn", -1) >= 0]
        pfn = last[-1].fields["pfn"] if last else \
            min(z.zone_start_pfn for z in k.zone_list if z.present)
    top = k.profile.nr_page_orders - 1 if order is None else order
    start = (pfn >> top) << top
    part = block_frames(k, start, min(start + (1 << top), k.max_pfn))
    # block_tree reads frames from the root on: a view whose first frame is the root's
    fv = {"owner": part["owner"], "order": part["order"]}
    nodes = block_tree(k, pfn - start, order if order is not None else top, fv)
    for nd in nodes:
        nd["start"] += start
    fv = {"order": _Offset(part["order"], start)}
    top, root = nodes[0]["order"], nodes[0]["start"]
    ramp = free_order_colors(k.profile.nr_page_orders)
    ps = k.PAGE_SIZE
    span = 1 << top
    rects, texts = [], []
    for nd in nodes:
        x0, w, y = nd["start"] - root, 1 << nd["order"], nd["depth"]
        if nd["leaf"]:
            color = ramp[nd["order"]] if nd["state"] == "free" else OWNER_COLORS[nd["state"]]
            rects.append(((x0, y), w, 0.9, color, "#333333", 0.7, None, True, "solid"))
            rects.append(((x0, y + 0.9), w, top - y + 0.1, color, "none", None, 0.25, True,
                          "solid"))
        else:
            rects.append(((x0, y), w, 0.9, "#EEEEEE", "#999999", 0.7, None, True, "solid"))
        if w / span > 0.07 or (nd["leaf"] and w / span > 0.035):
            texts.append((x0 + w / 2, y + 0.45,
                          nd["label"] if w / span > 0.07 else f"o{nd['order']}",
                          "white" if nd["state"] in _DARK else "black"))
    sel_order = max(int(fv["order"][pfn]) if order is None else order, 0)
    head = (pfn >> sel_order) << sel_order
    buddy = k.page_alloc.buddy_of(head, sel_order)
    for p, ls in ((head, "-"), (buddy, ":")):
        if root <= p < root + span:
            rects.append(((p - root, top - sel_order), 1 << sel_order, 0.9, None, "black", 2.2,
                          None, False, ls))
    xt = np.linspace(0, span, 5)
    leaves = [nd for nd in nodes if nd["leaf"]]
    nfree = sum(1 for nd in leaves if nd["state"] == "free")
    return {
        "nodes": nodes, "root": root, "order": top, "rects": rects, "texts": texts,
        "xticks": [f"pfn {int(root + x):#x}\n+{fmt_bytes(x * ps)}" for x in xt],
        "title": (f"Buddy tree of the order-{top} block at pfn {root:#x} "
                  f"({fmt_bytes(span * ps)}): {len(leaves)} blocks, {nfree} free\n"
                  f"solid outline: order-{sel_order} block at pfn {head:#x}; dotted: its buddy "
                  f"at pfn {buddy:#x}"),
        "states": sorted({nd["state"] for nd in leaves}),
        "key": (k.profile.name, k.ram, ps, top)}


class _Offset:
    """An array of frames [start, ...) read with absolute pfns."""

    def __init__(self, a, start: int):
        self.a, self.start = a, start

    def __getitem__(self, pfn: int):
        return self.a[pfn - self.start]


def block_frames(k, start: int, end: int) -> dict[str, np.ndarray]:
    """``k.frame_view()``'s ``owner`` and ``order`` for the frames [start, end) only, from
    the same public tables (memblock.memory, then the free, allocated and per-CPU
    blocks, later ones over earlier ones, as Kernel.frame_view lays them down): a 64 GiB
    frame_view is 16 M frames, 27 ms, for a tree of 1024."""
    n = max(end - start, 0)
    owner = np.zeros(n, dtype=np.int8)
    order = np.full(n, -1, dtype=np.int8)
    shift, ps = k.PAGE_SHIFT, k.PAGE_SIZE
    for r in k.memblock.memory:
        lo, hi = max((r.base + ps - 1) >> shift, start), min(r.end >> shift, end)
        if hi > lo:
            owner[lo - start:hi - start] = OWNER_CODE["reserved"]
    pa = k.page_alloc

    def lay(pfn: int, o: int, code: int) -> None:
        lo, hi = max(pfn, start), min(pfn + (1 << o), end)
        if hi > lo:
            owner[lo - start:hi - start] = code
            order[lo - start:hi - start] = o
    for pfn, (o, _mt) in pa.free_blocks.items():
        if pfn < end and pfn + (1 << o) > start:
            lay(pfn, o, OWNER_CODE["free"])
    other = OWNER_CODE["other"]
    for pfn, page in pa.allocated.items():
        if pfn < end and pfn + (1 << page.order) > start:
            lay(pfn, page.order, OWNER_CODE.get(page.owner, other))
    for pfn, (_cpu, _z, o, _i) in pa.pcp_pages.items():
        if pfn < end and pfn + (1 << o) > start:
            lay(pfn, o, OWNER_CODE["pcp"])
    return {"owner": owner, "order": order}


def _set_rect(r, spec) -> None:
    xy, w, h, fc, ec, lw, alpha, fill, ls = spec
    r.set_xy(xy)
    r.set_width(w)
    r.set_height(h)
    r.set_fill(fill)
    r.set_alpha(alpha)
    r.set_facecolor(fc)
    r.set_edgecolor(ec)
    r.set_linewidth(lw)
    r.set_linestyle(ls)
    r.set_visible(True)


def _tree_text(ax, spec):
    x, y, s, color = spec
    return ax.text(x, y, s, ha="center", va="center", fontsize=7, color=color, clip_on=True)


def _tree_counts(nodes) -> tuple[int, int]:
    """(rectangles without the outlines, texts) that buddy_tree draws for ``nodes``."""
    span = 1 << nodes[0]["order"]
    rects = sum(2 if nd["leaf"] else 1 for nd in nodes)
    texts = sum(1 for nd in nodes if (1 << nd["order"]) / span > 0.07
                or (nd["leaf"] and (1 << nd["order"]) / span > 0.035))
    return rects, texts


def _reuse(specs, state, make, apply, z0: float) -> list:
    """Artists showing ``specs``, in that order: one that shows a spec already is kept,
    others are reused from those whose spec went away (or the hidden spares), or made;
    the rest are hidden. Draw order is set with zorder (z0 + a fraction, in the order of
    ``specs``): the kept ones keep their order among themselves, so only the new, moved
    and hidden ones are changed. Returns the changed artists."""
    shown, spares = state["shown"], state["spares"]
    wanted = set(specs)
    pool = spares + [a for sp, a in shown.items() if sp not in wanted]
    changed, now, order = [], {}, []
    for spec in specs:
        a = shown.get(spec)
        if a is None or spec in now:
            if pool:
                a = pool.pop()
                apply(a, spec)
            else:
                a = make(spec)
            changed.append(a)
        now[spec] = a
        order.append(a)
    for a in pool:
        if a.get_visible():
            a.set_visible(False)
            changed.append(a)
    n = max(len(order), 1)
    for i, a in enumerate(order):
        a.set_zorder(z0 + 0.25 * i / n)
    state["shown"], state["spares"] = now, pool
    return changed


def _set_text(t, spec) -> None:
    x, y, text, color = spec
    t.set_position((x, y))
    t.set_text(text)
    t.set_color(color)
    t.set_visible(True)


def update_buddy_tree(fig, k, pfn: int | None = None, order: int | None = None):
    """Bring a figure drawn by :func:`buddy_tree` up to date in place: it shows the
    rectangles and texts buddy_tree would draw now, in buddy_tree's order (where
    neighbours' edges meet, the later one is on top): those of blocks that did not change
    stay as they are, the others are reused, made or hidden, and zorders (1-1.25 for the
    rectangles, 3-3.25 for the texts: the places buddy_tree's share) keep the order. The
    ticks and the title get their new text. Returns the artists it changed (``[]``:
    nothing did), or None when it has to be drawn anew (other entries in the legend,
    another root order, a label that needs more room)."""
    info = getattr(fig, "kmemlab", None)
    if not info or "nodes" not in info or len(fig.axes) != 1:
        return None
    ax = fig.axes[0]
    st = info.get("tree_state")
    first = st is None
    if first:
        # the figure as buddy_tree drew it: one or two rectangles per node, then the
        # outlines; what each shows is not known here, so all are set (and changed) once
        rects, texts = list(ax.patches), list(ax.texts)
        n_rects, n_texts = _tree_counts(info["nodes"])
        if not 0 <= len(rects) - n_rects <= 2 or len(texts) != n_texts or \
                ax.get_legend() is None:
            return None
        st = info["tree_state"] = {
            "legend": sorted({nd["state"] for nd in info["nodes"] if nd["leaf"]}),
            "rects": {"shown": {}, "spares": rects[::-1]},
            "texts": {"shown": {}, "spares": texts[::-1]},
            "key": (k.profile.name, k.ram, k.PAGE_SIZE, info["order"])}
    new = _tree_spec(k, pfn, order)
    if new["key"] != st["key"] or new["states"] != st["legend"]:
        return None
    old_labels = [t.get_text() for t in ax.xaxis.get_ticklabels()]
    if (len(old_labels) != len(new["xticks"])
            or not all(same_width(a, b) for a, b in zip(old_labels, new["xticks"]))
            or not _same_height(fig, ax.title, new["title"])):
        return None
    changed = _reuse(new["rects"], st["rects"],
                     lambda spec: _with(put(ax, Rectangle(*spec[:3])), _set_rect, spec),
                     _set_rect, 1.0)
    changed += _reuse(new["texts"], st["texts"],
                      lambda spec: _tree_text(ax, spec), _set_text, 3.0)
    if old_labels != new["xticks"]:
        ax.set_xticks(np.linspace(0, 1 << new["order"], 5), new["xticks"], fontsize=7)
        changed += [t for t, old in zip(ax.xaxis.get_ticklabels(), old_labels)
                    if t.get_text() != old]
    if ax.get_title() != new["title"]:
        ax.set_title(new["title"], fontsize=9)
        changed.append(ax.title)
    info.update(nodes=new["nodes"], root=new["root"], order=new["order"])
    return changed


def _same_height(fig, title, text: str) -> bool:
    """True if ``text`` as the title leaves the layout as it is: the constrained layout
    counts a title's height only (Axes.get_tightbbox, for_layout_only), which its lines'
    heights and descents make (the pfns in it are hex: "0x3009" -> "0x300a" is not
    same_width, but as high)."""
    old, new = title.get_text().split("\n"), text.split("\n")
    if len(old) != len(new):
        return False
    prop = title.get_fontproperties()
    for a, b in zip(old, new):
        if a == b:
            continue
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        renderer = fig.canvas.get_renderer()
        if renderer.get_text_width_height_descent(a, prop, False)[1:] != \
                renderer.get_text_width_height_descent(b, prop, False)[1:]:
            return False
    return True


def _with(artist, apply, spec):
    apply(artist, spec)
    return artist
