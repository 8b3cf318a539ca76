"""Virtual memory: the kernel address-space layout, a vmalloc area's pages, a page walk.

These read ``k.layout`` (when the simulator has it; else the profile's constants,
``k.profile``), ``k.vmalloc_to_pfn``, ``k.walk`` and ``/proc/vmallocinfo``.
"""

from __future__ import annotations

import math
import re

from matplotlib.patches import Rectangle

from ..i18n import _
from ._style import LINE_COLORS, fmt_bytes, new_figure, note, put

_REGION_COLORS = {"user": "#88CCEE", "hole": "#EEEEEE", "direct": "#4477AA",
                  "vmalloc": "#009988", "vmemmap": "#CCBB44", "text": "#AA3377",
                  "modules": "#882255", "pkmap": "#EE7733", "fixmap": "#BBBBBB",
                  "gap": "#FFFFFF", "other": "#DDDDDD", "highmem": "#EE6677"}


def _kind(name: str) -> str:
    n = name.lower()
    for key, kind in (("user", "user"), ("non-canonical", "hole"), ("hole", "hole"),
                      ("guard", "gap"), ("gap", "gap"), ("direct", "direct"),
                      ("lowmem", "direct"), ("vmalloc", "vmalloc"), ("vmemmap", "vmemmap"),
                      ("text", "text"), ("kernel", "text"), ("module", "modules"),
                      ("pkmap", "pkmap"), ("kmap", "pkmap"), ("fixmap", "fixmap")):
        if key in n:
            return kind
    return "other"


def _get(obj, *names, default=None):
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def layout_regions(k) -> list[tuple[str, int, int]]:
    """(name, start, end) of the kernel/user address space, lowest first.

    ``k.layout`` when the simulator has it; otherwise the profile's constants
    (arch/x86/include/asm/page_64_types.h, pgtable_64_types.h; i386 pgtable_32_areas.h).
    """
    lay = getattr(k, "layout", None)
    if lay is not None:
        try:
            items = lay() if callable(lay) else lay
            items = items.values() if isinstance(items, dict) else items
            out = []
            for it in items:
                name = _get(it, "name", "label")
                start = _get(it, "start", "base", "begin")
                end = _get(it, "end", "stop")
                if end is None and _get(it, "size") is not None:
                    end = start + _get(it, "size")
                if name is not None and isinstance(start, int) and isinstance(end, int):
                    out.append((str(name), start, end))
            if out:
                return sorted(out, key=lambda r: r[1])
        except Exception:  # noqa: BLE001 - an unfinished layout API: use the profile
            pass
    p = k.profile
    ram_top = k.max_low_pfn << k.PAGE_SHIFT
    if p.is_64bit:
        return [
            ("user space", 0, 0x00007FFFFFFFF000),
            ("non-canonical hole", 0x0000800000000000, 0xFFFF800000000000),
            ("guard hole, LDT, cpu_entry", 0xFFFF800000000000, p.page_offset),
            ("direct map of all RAM", p.page_offset, p.page_offset + (64 << 40)),
            ("vmalloc/ioremap", p.vmalloc_start, p.vmalloc_end + 1),
            ("vmemmap (struct page array)", p.vmemmap_start, p.vmemmap_start + (1 << 40)),
            ("kernel text mapping", p.start_kernel_map, p.start_kernel_map + (512 << 20)),
            ("modules", p.modules_vaddr, p.modules_end),
        ]
    high = p.page_offset + ram_top
    off = p.extra.get("vmalloc_offset", 8 << 20)
    vend = p.extra.get("vmalloc_end", 0xFF7FE000)
    pkmap = p.extra.get("pkmap_base", 0xFF800000)
    out = [("user space", 0, p.page_offset),
           (f"lowmem: direct map ({fmt_bytes(ram_top)})", p.page_offset, high),
           ("VMALLOC_OFFSET gap", high, high + off),
           ("vmalloc", high + off, vend)]
    if pkmap > vend:
        out.append(("guard", vend, pkmap))
    out += [("PKMAP (kmap of highmem)", pkmap, pkmap + (4 << 20)),
            ("fixmap", pkmap + (4 << 20), 1 << 32)]
    return out


def _spread(ys: list[float], gap: float, lo: float, hi: float) -> list[float]:
    """Move label positions apart by at least ``gap``, keeping their order."""
    out = list(ys)
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + gap)
    over = out[-1] - hi if out else 0
    if over > 0:
        out = [y - over for y in out]
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - gap)
    return [max(y, lo) for y in out]


def address_space(k, ax=None, *, marks=None):
    """The virtual address space drawn to scale: x86_64 on a log scale (each region's
    height ∝ log2 of its size, since it spans 16 EiB), i386 linearly (the 3G/1G split).
    ``marks``: {label: address} to point at, e.g. a kmalloc and a vmalloc pointer."""
    regions = layout_regions(k)
    p = k.profile
    fig, ax = new_figure(ax, figsize=(9, 6.2))
    logscale = p.is_64bit
    heights = [max(math.log2(max(e - s, 2)) - 20, 1.5) if logscale else (e - s)
               for _n, s, e in regions]
    y0s = []
    y = 0.0
    for h in heights:
        y0s.append(y)
        y += h
    total = y
    width = 16 if p.is_64bit else 8
    for (name, _s, _e), y0, h in zip(regions, y0s, heights, strict=True):
        put(ax, Rectangle((0, y0), 1, h, facecolor=_REGION_COLORS[_kind(name)],
                               edgecolor="#333333", lw=0.8))
    mids = [y0 + h / 2 for y0, h in zip(y0s, heights, strict=True)]
    label_y = _spread(mids, total / 22, 0, total)
    for (name, s, e), mid, ly in zip(regions, mids, label_y, strict=True):
        ax.annotate(f"{name}: {s:#0{width + 2}x} – {e - 1:#0{width + 2}x}  ({fmt_bytes(e - s)})",
                    xy=(1, mid), xytext=(1.15, ly), fontsize=7.5, va="center",
                    arrowprops=dict(arrowstyle="-", color="#777777", lw=0.6))
    if not logscale and p.page_offset:
        split = p.page_offset
        ax.axhline(split, color="black", lw=1.5, xmax=0.3)
        ax.text(-0.05, split, f"PAGE_OFFSET {split:#x}\n(3G/1G split)", ha="right",
                va="center", fontsize=8)
    geometry = (regions, y0s, heights, total)
    arrows = _mark_arrows(ax, geometry, marks)
    ax.set_xlim(-1.0, 4.6)
    ax.set_ylim(0, total)
    ax.set_xticks([])
    ax.set_yticks([])
    for sp in ax.spines.values():
        sp.set_visible(False)
    scale = (_("height ∝ log2(size): the space is 16 EiB") if logscale
             else _("drawn to scale: 4 GiB, kernel above PAGE_OFFSET"))
    ax.set_title(_("Virtual address space, {} (low addresses at the bottom; {})").format(
        p.name, scale), fontsize=9)
    fig.kmemlab = {"regions": regions, "address_space": {
        "ax": ax, "key": (p.name, k.ram, tuple(regions)), "geometry": geometry,
        "marks": dict(marks or {}), "arrows": arrows}}
    return fig


def _mark_arrows(ax, geometry, marks) -> list:
    """The labelled arrows of ``address_space``'s ``marks``, kept apart."""
    regions, y0s, heights, total = geometry
    points = []   # (y of the address, label, colour index), labels kept apart below
    for i, (label, addr) in enumerate((marks or {}).items()):
        for (_n, s, e), y0, h in zip(regions, y0s, heights, strict=True):
            if s <= addr < e:
                points.append((y0 + h * (addr - s) / (e - s), f"{label}\n{addr:#x}", i))
                break
    points.sort()
    ys = _spread([y for y, _l, _i in points], total / 12, total * 0.03, total * 0.95)
    return [ax.annotate(text, xy=(0, ya), xytext=(-0.9, ly), fontsize=7.5, va="center",
                        color=LINE_COLORS[i % 10],
                        arrowprops=dict(arrowstyle="->", color=LINE_COLORS[i % 10]))
            for (ya, text, i), ly in zip(points, ys, strict=True)]


def update_address_space(fig, k, *, marks=None):
    """Bring a figure drawn by :func:`address_space` up to date in place: the marked
    addresses. Returns the artists it changed (``[]``: the same marks), or None for
    another kernel or layout: draw it anew."""
    st = (getattr(fig, "kmemlab", None) or {}).get("address_space")
    if st is None or st["key"] != (k.profile.name, k.ram, tuple(layout_regions(k))):
        return None
    marks = dict(marks or {})
    if marks == st["marks"]:
        return []
    changed = list(st["arrows"])
    for a in st["arrows"]:
        a.remove()
    st["arrows"] = _mark_arrows(st["ax"], st["geometry"], marks)
    st["marks"] = marks
    return changed + st["arrows"]


# ----------------------------------------------------------------------------- vmalloc
_VMI = re.compile(r"^0x([0-9a-f]+)-0x([0-9a-f]+)\s+(\d+)\s+(.*)$")


def vmalloc_areas(k) -> list[dict]:
    """The areas of /proc/vmallocinfo: start, end, size (guard page included), text."""
    try:
        text = k.proc("vmallocinfo")
    except Exception:  # noqa: BLE001 - not modelled in this build
        return []
    out = []
    for line in text.splitlines():
        m = _VMI.match(line.strip())
        if m:
            out.append({"start": int(m[1], 16), "end": int(m[2], 16), "size": int(m[3]),
                        "info": m[4]})
    return out


def _zoom_window(pfns: list[int], maxpfn: int) -> tuple[int, int] | None:
    """The physical span to magnify, [first, end) in pfns: the frames with a margin, when
    they sit in less than an eighth of RAM (on the full-RAM strip they would be one dot)."""
    if not pfns:
        return None
    lo, hi = min(pfns), max(pfns) + 1
    margin = max(2, (hi - lo) // 10)
    z0, z1 = max(0, lo - margin), min(maxpfn, hi + margin)
    return (z0, z1) if (z1 - z0) * 8 <= maxpfn else None


def vmalloc_mapping(k, addr: int | None = None, ax=None, *, size: int | None = None,
                    empty_hint: str = "call k.vmalloc(size)"):
    """A vmalloc area's virtual pages (top) joined to the physical frames behind them:
    virtually contiguous, physically scattered. When the frames sit in a small part of RAM,
    a zoomed strip of that span (labelled with its address range) sits between the pages
    and the full-RAM strip, so each frame, and the gaps between them, can be seen.
    ``empty_hint`` says how to make an area when there is none (a widget names its
    button)."""
    fig, ax = new_figure(ax, figsize=(10, 4.8))
    m = _mapping(k, addr, size)
    if m is None:
        note(ax, f"no vmalloc area yet: {empty_hint}")
        return fig
    shapes = _mapping_shapes(ax, m)
    texts = [ax.text(x, y, text, **kw) for x, y, text, kw in _mapping_texts(m)]
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.2, 1.02)
    ax.axis("off")
    ax.set_title(m["title"], fontsize=10)
    fig.kmemlab = {"pfns": m["pfns"], "runs": m["runs"], "zoom": m["zoom"],
                   "mapping": {"ax": ax, "shapes": shapes, "texts": texts, "key": m["key"]}}
    return fig


def _mapping(k, addr, size) -> dict | None:
    """What vmalloc_mapping shows: the area's pages, the frames behind them, the zoom."""
    ps = k.PAGE_SIZE
    areas = vmalloc_areas(k)
    if addr is None:
        if not areas:
            return None
        addr = areas[-1]["start"]
    start = addr - addr % ps
    if size is None:
        for a in areas:
            if a["start"] <= addr < a["end"]:
                start, size = a["start"], a["end"] - a["start"]
                break
        else:
            size = ps
    n = -(-size // ps)
    pfns: list[int | None] = []
    for i in range(n):
        try:
            pfns.append(int(k.vmalloc_to_pfn(start + i * ps)))
        except Exception:  # noqa: BLE001 - guard page or unmapped
            pfns.append(None)
    mapped = [(i, f) for i, f in enumerate(pfns) if f is not None]
    runs = 0
    prev = None
    for _i, f in mapped:
        if prev is None or f != prev + 1:
            runs += 1
        prev = f
    maxpfn = k.max_pfn
    zoom = _zoom_window([f for _i, f in mapped], maxpfn)
    title = _("vmalloc area: {} pages virtually contiguous, physically in {} run{}").format(
        len(mapped), runs, "s" if runs != 1 else "")
    return {"ps": ps, "start": start, "n": n, "pfns": pfns, "mapped": mapped, "runs": runs,
            "maxpfn": maxpfn, "zoom": zoom, "title": title,
            "key": (n, zoom is None, maxpfn, ps, tuple(f is None for f in pfns))}


_YV, _YZ, _YR, _HS = 0.80, 0.40, 0.0, 0.12   # strips (axes coordinates): pages, zoom, RAM


def _mapping_shapes(ax, m) -> list:
    """The rectangles and lines of vmalloc_mapping, in the order a draw stacks them."""
    yv, yz, yr, hs = _YV, _YZ, _YR, _HS
    n, pfns, mapped, maxpfn, zoom = m["n"], m["pfns"], m["mapped"], m["maxpfn"], m["zoom"]
    patches, lines = [], []
    for i, f in enumerate(pfns):
        color = LINE_COLORS[0] if f is not None else "#FFFFFF"
        patches.append(put(ax, Rectangle((i / n, yv), 1 / n, hs, facecolor=color,
                                         edgecolor="#333333", lw=0.5,
                                         hatch=None if f is not None else "xx")))
    for j, (_i, f) in enumerate(mapped):   # every frame on the full-RAM strip
        col = LINE_COLORS[j % 6]
        patches.append(put(ax, Rectangle((f / maxpfn - 0.002, yr), 0.004, hs, facecolor=col,
                                         edgecolor=col)))
    if zoom is None:
        for j, (i, f) in enumerate(mapped):
            lines += ax.plot([(i + 0.5) / n, f / maxpfn], [yv, yr + hs],
                             color=LINE_COLORS[j % 6], lw=0.8, alpha=0.8)
    else:
        z0, z1 = zoom
        span = z1 - z0
        patches.append(put(ax, Rectangle((0, yz), 1, hs, facecolor="#FFFFFF",
                                         edgecolor="none")))
        if span <= 160:   # few frames: show each frame's cell, so gaps read as frames
            for q in range(span):
                patches.append(put(ax, Rectangle((q / span, yz), 1 / span, hs, fill=False,
                                                 edgecolor="#DDDDDD", lw=0.4)))
        for j, (i, f) in enumerate(mapped):
            col = LINE_COLORS[j % 6]
            x0 = (f - z0) / span
            w = max(1 / span, 0.003)
            patches.append(put(ax, Rectangle((x0, yz), w, hs, facecolor=col,
                                             edgecolor="#333333", lw=0.4)))
            lines += ax.plot([(i + 0.5) / n, x0 + w / 2], [yv, yz + hs], color=col, lw=0.8,
                             alpha=0.8)
        patches.append(put(ax, Rectangle((0, yz), 1, hs, fill=False, edgecolor="#333333",
                                         lw=0.8)))
        # where the zoomed span lies in RAM: a bracket on the full strip, joined to the zoom
        w0, w1 = z0 / maxpfn, z1 / maxpfn
        patches.append(put(ax, Rectangle((w0, yr - 0.015), max(w1 - w0, 0.004), hs + 0.03,
                                         fill=False, edgecolor="#AA3377", lw=1.2)))
        lines += ax.plot([w0, 0], [yr + hs + 0.015, yz], color="#AA3377", lw=0.7, ls="--")
        lines += ax.plot([max(w1, w0 + 0.004), 1], [yr + hs + 0.015, yz], color="#AA3377",
                         lw=0.7, ls="--")
    patches.append(put(ax, Rectangle((0, yr), 1, hs, fill=False, edgecolor="#333333",
                                     lw=0.8)))
    return patches + lines


def _mapping_texts(m) -> list:
    """(x, y, text, keywords) of vmalloc_mapping's texts, in the order it draws them."""
    ps, start, n, maxpfn = m["ps"], m["start"], m["n"], m["maxpfn"]
    out = []
    if m["zoom"] is not None:
        z0, z1 = m["zoom"]
        span = z1 - z0
        out.append((0.5, _YZ - 0.02, f"zoom: physical {z0 * ps:#x} – {z1 * ps - 1:#x} "
                    f"({fmt_bytes(span * ps)}, {span} frames: pfn {z0:#x} – {z1 - 1:#x}); "
                    "coloured: this area's frames, blank: other frames",
                    {"fontsize": 8, "va": "top", "ha": "center", "color": "#AA3377"}))
    out.append((0, _YV + _HS + 0.03, f"virtual {start:#x} – {start + n * ps - 1:#x} ({n} "
                "pages incl. guard)", {"fontsize": 8}))
    out.append((0, _YR - 0.03, f"physical memory 0 – {fmt_bytes(maxpfn * ps)} (one mark per "
                "frame)", {"fontsize": 8, "va": "top"}))
    return out


def update_vmalloc_mapping(fig, k, addr: int | None = None, *, size: int | None = None):
    """Bring a figure drawn by :func:`vmalloc_mapping` up to date in place for another
    area of the same number of pages: its rectangles and lines drawn again, the texts
    changed where they differ. Returns the artists it changed, or None (another size,
    zoomed or not, no area): draw it anew."""
    st = (getattr(fig, "kmemlab", None) or {}).get("mapping")
    m = _mapping(k, addr, size)
    if st is None or m is None or m["key"] != st["key"]:
        return None
    ax = st["ax"]
    changed = []
    for a in st["shapes"]:
        a.remove()
    changed += st["shapes"]
    st["shapes"] = _mapping_shapes(ax, m)
    changed += st["shapes"]
    for text, (x, y, s, _kw) in zip(st["texts"], _mapping_texts(m), strict=True):
        if text.get_text() != s or text.get_position() != (x, y):
            text.set_text(s)
            text.set_position((x, y))
            changed.append(text)
    if ax.get_title() != m["title"]:
        ax.set_title(m["title"], fontsize=10)
        changed.append(ax.title)
    fig.kmemlab.update(pfns=m["pfns"], runs=m["runs"], zoom=m["zoom"])
    return changed


# ----------------------------------------------------------------------------- page walk
def walk_levels(k) -> list[tuple[str, int, int]]:
    """(level name, low bit, number of bits) of the profile's page-table format."""
    p = k.profile
    if p.is_64bit:
        if p.pgtable_levels == 5:
            return [("PGD", 48, 9), ("P4D", 39, 9), ("PUD", 30, 9), ("PMD", 21, 9),
                    ("PTE", 12, 9)]
        return [("PGD", 39, 9), ("PUD", 30, 9), ("PMD", 21, 9), ("PTE", 12, 9)]
    if p.pgtable_levels == 3:  # PAE
        return [("PGD", 30, 2), ("PMD", 21, 9), ("PTE", 12, 9)]
    return [("PGD", 22, 10), ("PTE", 12, 10)]


def page_walk(k, addr: int, ax=None):
    """How the MMU walks the page tables for ``addr``: the address split into table
    indices (top), then each level's table with the entry used (from ``k.walk`` when
    the simulator models page tables)."""
    fig, ax = new_figure(ax, figsize=(10, 4.4))
    levels = walk_levels(k)
    bits = 64 if k.profile.is_64bit else 32
    try:
        w = k.walk(addr)
        steps = _get(w, "levels", "steps", default=w)
        steps = list(steps.values() if isinstance(steps, dict) else steps)
    except Exception as exc:  # noqa: BLE001 - show the kernel's answer
        steps = [f"walk failed: {exc}"]
    fields = [(name, lo, nb, (addr >> lo) & ((1 << nb) - 1)) for name, lo, nb in levels]
    fields.append(("offset", 0, 12, addr & 0xFFF))
    top_bit = levels[0][1] + levels[0][2]
    # the address bar
    span = top_bit
    for i, (name, lo, nb, val) in enumerate(fields):
        x0 = (top_bit - lo - nb) / span
        put(ax, Rectangle((x0, 0.78), nb / span, 0.14, facecolor=LINE_COLORS[i],
                               edgecolor="#333333", alpha=0.85))
        ax.text(x0 + nb / span / 2, 0.85, f"{name}\n{val}", ha="center", va="center",
                fontsize=8, color="white" if i in (0, 5, 7) else "black")
        ax.text(x0 + nb / span / 2, 0.95, f"bits {lo + nb - 1}–{lo}", ha="center",
                fontsize=6.5)
    ax.text(0, 1.02, f"address {addr:#0{bits // 4 + 2}x}", fontsize=9, fontweight="bold")
    # the tables
    n = len(levels)
    for i, (name, _lo, nb, val) in enumerate(fields[:-1]):
        x0 = i / (n + 0.5)
        w = 0.8 / (n + 0.5)
        put(ax, Rectangle((x0, 0.05), w, 0.55, facecolor="#F5F5F5", edgecolor="#333333"))
        put(ax, Rectangle((x0, 0.05 + 0.5 * val / (1 << nb)), w, 0.05,
                               facecolor=LINE_COLORS[i], edgecolor="#333333"))
        entry = ""
        if i < len(steps):
            st = steps[i]
            if isinstance(st, str):
                entry = st
            else:
                e = _get(st, "entry", "value", "pte", default=None)
                pfn = _get(st, "pfn", default=None)
                entry = (f"entry {e:#x}" if isinstance(e, int) else str(e or "")) + \
                    (f"\npfn {pfn:#x}" if isinstance(pfn, int) else "")
        ax.text(x0 + w / 2, 0.63, f"{name} table\n[{val}]", ha="center", fontsize=8)
        if entry:
            ax.text(x0 + w / 2, 0.0, entry, ha="center", va="top", fontsize=6.5)
        if i + 1 < n:
            ax.annotate("", xy=((i + 1) / (n + 0.5), 0.3), xytext=(x0 + w, 0.3),
                        arrowprops=dict(arrowstyle="->"))
    xf = n / (n + 0.5)
    put(ax, Rectangle((xf, 0.05), 0.8 / (n + 0.5) * 0.6, 0.55, facecolor="#FBE7B0",
                           edgecolor="#333333"))
    ax.text(xf + 0.8 / (n + 0.5) * 0.3, 0.63, f"page\n+{addr & 0xFFF:#x}", ha="center",
            fontsize=8)
    ax.annotate("", xy=(xf, 0.3), xytext=((n - 1) / (n + 0.5) + 0.8 / (n + 0.5), 0.3),
                arrowprops=dict(arrowstyle="->"))
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.15, 1.08)
    ax.axis("off")
    ax.set_title(f"Page-table walk ({len(levels)} levels, {k.profile.name})", fontsize=9)
    fig.kmemlab = {"indices": {f[0]: f[3] for f in fields}}
    return fig
