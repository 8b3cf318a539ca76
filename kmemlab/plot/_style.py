"""Shared look of every kmemlab figure: colour-blind-safe palette, units, figure helpers.

Colours come from Paul Tol's colour-blind-safe schemes ("bright", "muted", "vibrant";
https://personal.sron.nl/~pault/). Free buddy blocks use a sequential cream → amber ramp
(pale = a large free block, amber = small free fragments), so that fragmentation shows as
warm colour without competing with the owners' hues.
"""

from __future__ import annotations

import io
import logging

import matplotlib as mpl
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from ..i18n import on_language_change

# Chinese figures need a font with CJK glyphs; these exist on stock Debian/Ubuntu
# (apt: fonts-wqy-zenhei, fonts-noto-cjk) and on Binder (binder/apt.txt installs
# fonts-wqy-zenhei). While the language is Chinese the first one found follows the usual
# family in font.family, so Latin text keeps its font and CJK glyphs fall back to it
# (matplotlib >= 3.6 falls back per glyph along font.family); English figures are drawn
# exactly as before.
CJK_FONTS = ["WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC",
             "Droid Sans Fallback"]
_FAMILY = list(mpl.rcParams["font.family"])


def cjk_font() -> str | None:
    """The CJK font Chinese figures use (None: none installed, Chinese shows as boxes)."""
    from matplotlib import font_manager as fm
    known = {f.name for f in fm.fontManager.ttflist}
    if not known.intersection(CJK_FONTS):
        # installed after matplotlib built its font cache: register the files
        for path in fm.findSystemFonts():
            name = path.rsplit("/", 1)[-1].lower()
            if name.startswith(("wqy-zenhei", "notosanscjk", "sourcehansans",
                                "droidsansfallback")):
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # unreadable file: skip it
                    continue
        known = {f.name for f in fm.fontManager.ttflist}
    return next((f for f in CJK_FONTS if f in known), None)


class _QuietCJKWeight(logging.Filter):
    """WenQuanYi Zen Hei has only weight 500: matplotlib's note that it uses 500 for
    "normal" would land in every Chinese notebook's output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith("findfont: Failed to find font weight")
                    and any(f in record.getMessage() for f in CJK_FONTS))


logging.getLogger("matplotlib.font_manager").addFilter(_QuietCJKWeight())


def _fonts_for(lang: str) -> None:
    font = cjk_font() if lang == "zh" else None
    mpl.rcParams["font.family"] = _FAMILY + [font] if font else list(_FAMILY)


on_language_change(_fonts_for)

# Owner colours (keys are kmemlab.page_alloc.OWNER_NAMES).
OWNER_COLORS: dict[str, str] = {
    "hole": "#FFFFFF",
    "reserved": "#4D4D4D",
    "free": "#FBE7B0",
    "pages": "#4477AA",
    "slab": "#EE6677",
    "kmalloc_large": "#AA3377",
    "vmalloc": "#009988",
    "pgtable": "#332288",
    "anon": "#117733",
    "pagecache": "#88CCEE",
    "module": "#882255",
    "cma": "#999933",
    "percpu": "#EE7733",
    "other": "#000000",
    "pcp": "#BBBBBB",
}

OWNER_LABELS: dict[str, str] = {
    "hole": "hole (no RAM)",
    "reserved": "reserved (memblock)",
    "free": "free",
    "pages": "alloc_pages",
    "slab": "slab",
    "kmalloc_large": "kmalloc (large)",
    "vmalloc": "vmalloc",
    "pgtable": "page tables",
    "anon": "anonymous (user)",
    "pagecache": "page cache",
    "module": "module",
    "cma": "CMA",
    "percpu": "per-CPU",
    "other": "other",
    "pcp": "free on per-CPU lists",
}

# Chinese terms of the source document, for tooltips and titles' subtitles.
ZH = {
    "buddy": "伙伴系统", "fragmentation": "内存碎片", "highmem": "高端内存",
    "slab": "slab 分配器", "vmalloc": "非连续内存", "kmalloc": "kmalloc 小块内存",
    "memblock": "引导内存", "page": "页框", "zone": "内存区", "watermark": "水位",
    "context": "中断上下文", "malloc": "用户态 malloc", "page_table": "页表",
}

STATE_COLORS = {"used": "#EE6677", "free": "#FBE7B0", "leftover": "#BBBBBB",
                "cpu": "#4477AA", "partial": "#CCBB44", "full": "#AA3377"}

LINE_COLORS = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB",
               "#332288", "#EE7733", "#009988"]

WMARK_COLORS = {"min": "#CC3311", "low": "#EE7733", "high": "#0077BB"}


def free_order_colors(nr_orders: int) -> list[tuple[float, float, float]]:
    """Sequential ramp: order 0 amber (fragments) ... max order pale cream."""
    lo = np.array(to_rgb("#E69F00"))   # Okabe-Ito orange
    hi = np.array(to_rgb("#FFF6DA"))
    if nr_orders <= 1:
        return [tuple(hi)]
    return [tuple(lo + (hi - lo) * (o / (nr_orders - 1)) ** 0.7) for o in range(nr_orders)]


def fmt_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'; binary units as /proc prints sizes."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            if unit == "B":
                return f"{int(n)} B"
            # truncated, never rounded up, as the kernel's ">> 20" prints sizes: 0x377fe000
            # is "887 MiB" like mem_init's "(887 MB)", not 888
            if n == int(n) or abs(n) >= 100:
                return f"{int(n)} {unit}"
            dec = 2 if abs(n) < 10 else 1
            return f"{int(n * 10 ** dec) / 10 ** dec:g} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def fmt_pages(n: int, page_size: int = 4096) -> str:
    return f"{n:,} pages ({fmt_bytes(n * page_size)})"


def fmt_addr(a: int, width: int = 16) -> str:
    return f"0x{a:0{width}x}"


def new_figure(ax=None, figsize=(8, 5), **subplot_kw):
    """(fig, ax): the caller's axes, or a new Figure not owned by pyplot.

    Figures built here are not registered with pyplot, so a notebook cell ending in
    ``km.plot.memory_map(k)`` shows the figure once (and widgets leak nothing).
    """
    _ensure_ipython_png()
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot(**subplot_kw)


def new_grid(nrows: int, ncols: int, figsize, **kw):
    _ensure_ipython_png()
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def png_bytes(fig, dpi: int = 80) -> bytes:
    """Render a figure to PNG bytes with Agg (what widgets put into an Image)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    engine = fig.get_layout_engine()
    if engine is not None and fig.axes:
        # savefig draws a figure that has a layout engine twice: once with drawing
        # disabled, only to run the engine, then for real (matplotlib's
        # backend_bases.print_figure). Running the engine here as that first pass does
        # (the figure at the saving dpi, the canvas's renderer) and saving with no engine
        # draws once: a fifth of a chapter's figure. tools/plot_pixels.py: same pixels.
        screen_dpi = fig.dpi
        fig.dpi = dpi
        try:
            engine.execute(fig)
        finally:
            fig.dpi = screen_dpi
        fig.set_layout_engine(None)   # "none" would leave a placeholder engine
        try:
            if fig.get_layout_engine() is None:   # (rcParams may name a default one)
                fig.savefig(buf, format="png", dpi=dpi)
                return buf.getvalue()
        finally:
            fig.set_layout_engine(engine)
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


_IPY_DONE = False


def _ensure_ipython_png() -> None:
    """Make IPython show our pyplot-free Figures as PNG (once per session)."""
    global _IPY_DONE
    if _IPY_DONE:
        return
    _IPY_DONE = True
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    ip = get_ipython()
    if ip is None:
        return
    fmt = ip.display_formatter.formatters.get("image/png")
    if fmt is not None:
        fmt.for_type(Figure, lambda fig: png_bytes(fig, dpi=100))


def put(ax, patch):
    """``ax.add_patch(patch)`` without its update of the data limits: for plots that set
    both limits themselves, where that update (a third of building such a figure) has no
    effect on the picture."""
    return ax.add_artist(patch)


def same_width(a: str, b: str) -> bool:
    """True if two labels take the same room: equal, or differing only in digits (the
    figures' font has digits of one width), so a layout made for one fits the other.
    The ``update_*`` functions redraw in place only then."""
    return len(a) == len(b) and all(x == y or (x.isdigit() and y.isdigit())
                                    for x, y in zip(a, b))


def note(ax, text: str, **kw) -> None:
    """A centred grey note in an otherwise empty axes."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True,
            color="#444444", fontsize=kw.pop("fontsize", 11), **kw)
    ax.set_xticks([])
    ax.set_yticks([])


def byte_ticks(vmax: float, n: int = 6) -> list[float]:
    """Round tick positions for a byte axis from 0 to ``vmax``: multiples of 1, 2 or 5
    times a power of 1024 (so labels read 256 KiB, 512 KiB, 768 KiB...)."""
    if vmax <= 0:
        return [0.0]
    raw = vmax / n
    unit = 1024 ** int(np.floor(np.log(max(raw, 1)) / np.log(1024)))
    best = unit
    for m in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
        best = m * unit
        if best >= raw:
            break
    return list(np.arange(0, vmax + best * 0.01, best))
