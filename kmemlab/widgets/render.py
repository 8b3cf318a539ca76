"""The explorers' renderer: a kmemlab.plot figure kept between clicks, redrawn only where it
changed, and its pixels encoded to PNG without matplotlib's savefig.

A click used to rebuild the whole figure and ``savefig`` it: 100-600 ms, nearly all of it
Agg rasterising text (tick labels, legends, titles) that had not changed. Now:

* the plot's ``update_*`` function (:mod:`kmemlab.plot`) changes the artists of a figure it
  drew, in place, and names what it changed: an artist, or ``(artist, box)`` when only a
  part of it did (``box`` in the artist's data coordinates: the pixels of a memory map
  that changed). ``[]``: the data did not change, nothing is drawn or sent; ``None``: the
  figure has to be built anew;
* :class:`FigureRenderer` repaints only the damaged pixels: the boxes the changed artists
  covered at the last frame and cover now, on whole pixels. Inside a box it draws, in the
  order ``Figure.draw`` draws them, the figure's background and every artist that reaches
  into the box, clipped to it; a text outside the box is not rasterised at all. Agg clips
  on whole pixels, so the box ends up exactly as a full draw leaves it and the rest is
  untouched: the frame is the full draw's, pixel for pixel (tests/widgets/test_render.py);
* Agg draws text glyph by glyph (matplotlib 3.11: 40 us a glyph, 1-25 ms a label), so a
  text drawn again at the same place over the same pixels is pasted from what its last
  draw left there (:class:`TextCache`: exact, since blending glyphs into the canvas
  depends on nothing else);
* where each artist of a full frame is (a third of its time) is noted by
  :meth:`FigureRenderer.settle` once the picture is sent (``defer``);
* :class:`BandEncoder` writes the RGB pixels as a PNG with numpy + zlib, compressing
  again only the bands of rows that changed.

A full frame is what ``savefig(dpi=...)`` draws, so the first frame of an explorer is the
static plot's ``png_bytes`` at that dpi.
"""

from __future__ import annotations

import struct
import zlib
from collections import OrderedDict
from operator import attrgetter

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backend_bases import GraphicsContextBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.spines import Spine
from matplotlib.text import Text
from matplotlib.transforms import Bbox

PAD = 1   # pixels added around a damaged box
MERGE = 2.0  # see _merge
SMALL = 64 * 64
RING = 2   # pixels around a box that Agg may touch when it draws clipped to the box
INK = 1.5  # pixels an artist may paint beyond its extent (snapping, antialiasing)
TEXT_INK = 1.0


# Tests set this: every text the cache would paste is drawn too, and must be the same.
VERIFY_TEXT_CACHE = False


# ----------------------------------------------------------------------------- PNG
def _filtered(rgba: np.ndarray) -> np.ndarray:
    """The PNG scanlines of an (h, w, 4) image as 8-bit RGB, each row with the "Up" filter
    (each byte minus the one above it), which suits these flat-coloured pictures."""
    h, w = rgba.shape[:2]
    rows = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    rows[:, 0] = 2                                  # filter type 2: Up
    rgb = rows[:, 1:].reshape(h, w, 3)              # (a view: no copy of the pixels)
    rgb[0] = rgba[0, :, :3]
    np.subtract(rgba[1:, :, :3], rgba[:-1, :, :3], out=rgb[1:])
    return rows


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _png(w: int, h: int, idat: bytes) -> bytes:
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def encode_png(rgba: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of an (h, w, 4) uint8 image, as 8-bit RGB (the figures are opaque), at
    zlib's fastest level."""
    h, w = rgba.shape[:2]
    return _png(w, h, zlib.compress(_filtered(rgba).tobytes(), level))


class BandEncoder:
    """PNG frames of one canvas, compressing again only the bands of rows that changed.

    The zlib stream of the image data is made of one deflate stream per band of ROWS
    scanlines, each ended by a full flush (which starts the next with an empty window),
    so a band whose rows did not change keeps its compressed bytes; only the rows a
    repaint touched are filtered again, the Adler-32 of the whole is computed anew (fast).
    A 800 x 400 frame: 5-8 ms -> 1 ms."""

    ROWS = 16

    def __init__(self, level: int = 1):
        self.level = level
        self.rows = None             # the last frame's scanlines
        self.packed: list = []       # its compressed bands

    def encode(self, rgba: np.ndarray, dirty=None) -> bytes:
        """The PNG of ``rgba``. ``dirty``: [(first row, end row)] (top to bottom), the only
        rows that may differ from the last frame's (a repaint's boxes)."""
        h, w = rgba.shape[:2]
        rows = self.rows
        if dirty is None or rows is None or rows.shape != (h, 1 + 3 * w):
            rows, changed = _filtered(rgba), None
            self.packed = []
        else:
            changed = set()
            rgb = rows[:, 1:].reshape(h, w, 3)
            for r0, r1 in dirty:
                r0, r1 = max(int(r0), 0), min(int(r1) + 1, h)   # (+1: the row below)
                if r1 <= r0:
                    continue
                if r0 == 0:
                    rgb[0] = rgba[0, :, :3]
                    r0 = 1
                np.subtract(rgba[r0:r1, :, :3], rgba[r0 - 1:r1 - 1, :, :3], out=rgb[r0:r1])
                changed.update(range(r0 // self.ROWS, (r1 - 1) // self.ROWS + 1))
        out = [b"\x78\x01"]                        # zlib header: deflate, fastest
        adler = 1
        for i, r0 in enumerate(range(0, h, self.ROWS)):
            band = rows[r0:r0 + self.ROWS]
            adler = zlib.adler32(band, adler)
            if changed is None or i in changed or i >= len(self.packed):
                c = zlib.compressobj(self.level, zlib.DEFLATED, -15)
                packed = c.compress(band) + c.flush(zlib.Z_FULL_FLUSH)
                if i < len(self.packed):
                    self.packed[i] = packed
                else:
                    self.packed.append(packed)
            out.append(self.packed[i])
        self.rows = rows
        out.append(b"\x03\x00")                    # the final block: empty
        out.append(struct.pack(">I", adler & 0xFFFFFFFF))
        return _png(w, h, b"".join(out))


# ----------------------------------------------------------------------------- boxes
# A box is (x0, y0, x1, y1) in display pixels (y up, as matplotlib's display coordinates).
def _box(bb: Bbox | None):
    if bb is None:
        return None
    x0, y0, x1, y1 = bb.extents
    if not (np.isfinite(x0) and np.isfinite(y0) and np.isfinite(x1) and np.isfinite(y1)):
        return None
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _union(a, b):
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _area(b) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])


def _merge(boxes: list) -> list:
    """Join boxes that overlap, and small ones that lie so close that their union is at
    most MERGE times their areas (one repaint of a row of changed labels, not one per
    label). Each pass grows every box by all it can take in; passes repeat until none
    does (n^2 a pass: a few hundred boxes of changed labels are common)."""
    out = sorted(boxes)
    merged = True
    while merged:
        merged = False
        i = 0
        while i < len(out):
            a = out[i]
            j = i + 1
            while j < len(out):
                b = out[j]
                u = _union(a, b)
                if _overlaps(a, b) or (max(_area(a), _area(b)) <= SMALL
                                       and _area(u) <= MERGE * (_area(a) + _area(b))):
                    a = u
                    del out[j]
                    merged = True
                else:
                    j += 1
            out[i] = a
            i += 1
    return out


class _ClippedGC(GraphicsContextBase):
    """A graphics context that never draws outside one box (whole display pixels)."""

    box = Bbox.null()

    def __init__(self):
        super().__init__()
        self._cliprect = self.box

    def set_clip_rectangle(self, rectangle):
        if rectangle is None:
            self._cliprect = self.box
            return
        inter = Bbox.intersection(rectangle, self.box)
        # no overlap: a box outside the canvas (an all-zero one would mean "no clip")
        self._cliprect = inter if inter is not None else Bbox([[-3, -3], [-2, -2]])


# ----------------------------------------------------------------------------- texts
class TextCache:
    """What drawing one text did to the pixels under it, kept for the next time the same
    text is drawn at the same place over the same pixels.

    Agg draws a text glyph by glyph (matplotlib 3.11: FreeType renders every glyph at its
    subpixel position, 40 us each), 1-25 ms per label; a repaint draws again every text
    that reaches into a damaged box, most of them unchanged. Blending a glyph into the
    canvas depends on nothing but the pixels under it, the text, its font, colour, clip and
    position: so the pixels of a region around the text after the draw are a function of
    the same region before it. The cache maps (all of that, the region's pixels before)
    to the region's pixels after, and pastes them instead of drawing. The region is the
    text's extent and MARGIN pixels; a draw that changed a pixel in the CHECK pixels
    around it marks that text as one not to cache."""

    MARGIN = 3
    CHECK = 6
    LIMIT = 8 << 20        # bytes kept per renderer (an explorer each)

    def __init__(self):
        self.entries: OrderedDict = OrderedDict()
        self.size = 0
        self.unsafe: set = set()
        self.regions: dict = {}    # (line, font, place) -> its region
        self.hits = self.misses = 0

    @staticmethod
    def _font(prop) -> tuple:
        return (tuple(prop.get_family()), prop.get_style(), prop.get_variant(),
                prop.get_weight(), prop.get_stretch(), prop.get_size_in_points(),
                prop.get_file(), prop.get_math_fontfamily())

    def region(self, renderer, x, y, s, prop, angle, ismath):
        """The pixels one line of text drawn at (x, y) may touch: (x0, y0, x1, y1) in
        display pixels (y up), its extent and MARGIN pixels around it. (x, y) is where
        Agg's draw_text puts the line's baseline, y from the top; the extent is the line's
        width, height and descent, turned by ``angle`` about that point."""
        H = renderer.height
        key = (s, self._font(prop), angle, ismath, x, y, H, renderer.dpi)
        got = self.regions.get(key)
        if got is not None:
            return got
        # (FreeType lays the line out again, 0.1-2 ms: once per text and place)
        w, h, d = renderer.get_text_width_height_descent(s, prop, ismath)
        yb = H - y
        rad = np.radians(angle)
        c, sn = np.cos(rad), np.sin(rad)
        xs, ys = [], []
        for u, v in ((0, -d), (w, -d), (w, h - d), (0, h - d)):
            xs.append(x + u * c - v * sn)
            ys.append(yb + u * sn + v * c)
        m = self.MARGIN
        if len(self.regions) > 8192:
            self.regions.clear()
        got = self.regions[key] = (int(np.floor(min(xs))) - m, int(np.floor(min(ys))) - m,
                                   int(np.ceil(max(xs))) + m, int(np.ceil(max(ys))) + m)
        return got

    def draw(self, renderer, draw_text, gc, x, y, s, prop, angle, ismath, mtext,
             box=None, extent=None) -> None:
        """``draw_text(gc, x, y, s, prop, angle, ...)``, or what it drew last time over
        the same pixels; nothing when the line lies outside ``box`` (a repaint).
        ``extent``: where the renderer knows the text (of one line) to be, if it does."""
        def real():
            draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
        if ismath == "TeX" or not np.isfinite(x) or not np.isfinite(y):
            return real()
        if extent is not None:
            m = self.MARGIN
            x0, y0 = int(np.floor(extent[0])) - m, int(np.floor(extent[1])) - m
            x1, y1 = int(np.ceil(extent[2])) + m, int(np.ceil(extent[3])) + m
        else:
            x0, y0, x1, y1 = self.region(renderer, x, y, s, prop, angle, ismath)
        if box is not None and not _overlaps((x0, y0, x1, y1), box):
            return None
        if gc.get_clip_path()[0] is not None:
            return real()
        buf = np.asarray(renderer.buffer_rgba())
        h, w = buf.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            return real()
        clip = gc.get_clip_rectangle()
        if clip is not None:
            cx0, cy0, cx1, cy1 = clip.extents
            # a clip that leaves the whole region alone does not change what is drawn
            clip = None if (cx0 <= x0 and cy0 <= y0 and cx1 >= x1 and cy1 >= y1) else \
                (cx0, cy0, cx1, cy1)
        rc = mpl.rcParams
        sig = (s, self._font(prop), angle, ismath, x, y, x0, y0, x1, y1, clip, h, w,
               renderer.dpi, tuple(gc.get_rgb()), gc.get_alpha(), gc.get_forced_alpha(),
               gc.get_antialiased(), gc.get_snap(), rc["text.hinting"],
               rc["text.hinting_factor"], rc["mathtext.fontset"],
               None if mtext is None else mtext.get_fontfeatures(),
               None if mtext is None else mtext.get_language())
        if sig in self.unsafe:
            return real()
        r0, r1 = h - y1, h - y0                        # rows, top to bottom
        region = buf[r0:r1, x0:x1]
        key = (sig, region.tobytes())
        after = self.entries.get(key)
        if after is not None and not VERIFY_TEXT_CACHE:
            self.entries.move_to_end(key)
            self.hits += 1
            region[...] = np.frombuffer(after, dtype=np.uint8).reshape(region.shape)
            return None
        c = self.CHECK
        o0, o1 = max(r0 - c, 0), min(r1 + c, h)
        p0, p1 = max(x0 - c, 0), min(x1 + c, w)
        before = buf[o0:o1, p0:p1].copy()
        real()
        changed = (buf[o0:o1, p0:p1] != before).any(axis=2)
        changed[r0 - o0:r1 - o0, x0 - p0:x1 - p0] = False
        if changed.any():             # it drew outside the region: never cache it
            self.unsafe.add(sig)
            return None
        if after is not None:        # VERIFY_TEXT_CACHE
            assert region.tobytes() == after, f"text cache: {s!r} drawn differently"
            self.hits += 1
            return None
        self.misses += 1
        after = region.tobytes()
        self.entries[key] = after
        self.size += 2 * len(after)
        while self.size > self.LIMIT:
            old, value = self.entries.popitem(last=False)
            self.size -= 2 * len(value)
        return None


# ----------------------------------------------------------------------------- renderer
class FigureRenderer:
    """Frames of one figure at a fixed dpi: :meth:`full` draws all of it, :meth:`update`
    repaints what the named artists covered at the last frame and cover now."""

    def __init__(self, dpi: int = 72):
        self.dpi = dpi
        self.fig = None
        self.png = b""
        self.frames = {"full": 0, "partial": 0, "unchanged": 0}
        self._where: dict = {}   # artist -> its box at the last frame (None: unknown)
        self._images: dict = {}  # AxesImage -> _NearestImage
        self._ticks: dict = {}   # Axis -> the ticks it drew at the last frame
        self.texts = TextCache()
        self.encoder = BandEncoder()
        # True: full() leaves noting where things are to settle() (see there)
        self.defer = False
        self._settled = True
        self._drawn: list = []   # texts drawn by the last full frame, until settle()

    def forget(self) -> None:
        """The next frame is a full one (e.g. after the figure was changed elsewhere)."""
        self.fig = None

    # -- frames ---------------------------------------------------------------------
    def full(self, fig) -> bytes:
        """Draw the whole figure (what savefig draws) and note where each artist is."""
        if fig.dpi != self.dpi:
            fig.set_dpi(self.dpi)
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        self.fig = fig
        self._where = {}
        self._settled = False
        self._drawn = []
        renderer = fig.canvas.get_renderer()
        renderer.draw_text = self._text_hook(renderer, renderer.draw_text, None)
        try:
            fig.canvas.draw()
        finally:
            del renderer.draw_text
        if fig.get_layout_engine() is not None:
            # keep the layout this draw made: a partial frame is drawn without running
            # the layout engine, so a later full one must not run it either
            fig.set_layout_engine("none")
        self.frames["full"] += 1
        self.png = self.encoder.encode(np.asarray(fig.canvas.buffer_rgba()))
        if not self.defer:
            self.settle()
        return self.png

    def settle(self) -> None:
        """Note where each artist of the last full frame is (what the next partial frame
        repaints from). With ``defer`` the caller calls this once the frame is sent, and
        always before it changes the figure (Explorer.kept): a third of a full frame's
        time, which then is not part of the wait for the picture."""
        fig = self.fig
        if fig is None or self._settled:
            return
        self._settled = True
        renderer = fig.canvas.get_renderer()
        where = self._where
        for t in self._drawn:           # the texts the full draw drew
            if t not in where:
                where[t] = self._extent(t, renderer)
        self._drawn = []
        self._images = {}
        self._ticks = {}
        for a in self._units(fig):
            if a not in where:
                where[a] = self._extent(a, renderer)
            if isinstance(a, Axis):
                self._ticks[a] = self._drawn_ticks(a)
                # (texts of several lines are drawn without their Text: noted here)
                for t in self._axis_parts(a):
                    if isinstance(t, Text) and t not in where:
                        where[t] = self._extent(t, renderer)
            if isinstance(a, AxesImage):
                fast = _NearestImage.of(a, renderer)
                if fast is not None:
                    self._images[a] = fast

    def update(self, fig, changed) -> bytes:
        """The frame after ``changed`` (artists, ``(artist, data box)``, or an Axes for
        all of it) changed.

        ``None``: anything may have changed, a full frame; ``[]``: nothing did, the last
        frame's PNG again."""
        if changed is None or fig is not self.fig:
            return self.full(fig)
        self.settle()
        if not changed:
            self.frames["unchanged"] += 1
            return self.png
        renderer = fig.canvas.get_renderer()
        damage = []
        items = []
        for item in changed:   # an Axes: all that it draws
            items += self._axes_units(item) if isinstance(item, Axes) else [item]
        for item in items:
            a, part = item if isinstance(item, tuple) else (item, None)
            if isinstance(a, (Axis, Legend)):
                # its texts may have moved: their extents are noted again as they are drawn
                for t in self._texts_of(a):
                    self._where.pop(t, None)
            if part is not None:              # a part of the artist, in its data coordinates
                box = _box(Bbox(part).transformed(a.get_transform()))
                if box is None:
                    return self.full(fig)
                damage.append(box)
                continue
            if a in self._where:
                old = self._where.pop(a)
                if old is None:
                    return self.full(fig)
                damage.append(old)
            if self._attached(a):
                new = self._extent(a, renderer)
                if new is None:
                    return self.full(fig)
                self._where[a] = new
                damage.append(new)
        w, h = fig.canvas.get_width_height(physical=True)
        boxes = []
        for b in damage:
            if b[2] <= b[0] and b[3] <= b[1]:
                continue
            px = (max(np.floor(b[0]) - PAD, 0), max(np.floor(b[1]) - PAD, 0),
                  min(np.ceil(b[2]) + PAD, w), min(np.ceil(b[3]) + PAD, h))
            if px[2] > px[0] and px[3] > px[1]:
                boxes.append(tuple(float(v) for v in px))
        if not boxes:
            self.frames["unchanged"] += 1
            return self.png
        units = self._units(fig)
        changed_units = set(items)
        boxes = _merge(boxes)
        # which unit reaches into which box, all at once
        ext = []
        for a in units:
            bb = self._where.get(a, False)
            if bb is False:
                bb = self._where[a] = self._extent(a, renderer)
            ext.append((-np.inf, -np.inf, np.inf, np.inf) if bb is None else bb)
        e, b = np.array(ext, dtype=float), np.array(boxes, dtype=float)
        hits = ((e[:, None, 0] < b[None, :, 2]) & (b[None, :, 0] < e[:, None, 2])
                & (e[:, None, 1] < b[None, :, 3]) & (b[None, :, 1] < e[:, None, 3]))
        for j, box in enumerate(boxes):
            self._repaint(renderer, box, [u for u, hit in zip(units, hits[:, j]) if hit],
                          changed_units)
        for a in changed_units:
            if isinstance(a, Axis):
                self._ticks[a] = self._drawn_ticks(a)
        self.frames["partial"] += 1
        self.png = self.encoder.encode(np.asarray(fig.canvas.buffer_rgba()),
                                       [(h - b[3], h - b[1]) for b in boxes])
        return self.png

    # -- what is drawn, and where -----------------------------------------------------
    @staticmethod
    def _attached(a) -> bool:
        """True while the artist is part of its figure (a removed one is not)."""
        if a.figure is None:
            return False
        ax = getattr(a, "axes", None)
        return ax is None or ax.figure is not None

    def _units(self, fig) -> list:
        """What Figure.draw draws, in its order, opened one level into each Axes (an
        Axis, a legend, an annotation are one unit each)."""
        out = [fig.patch]
        for a in sorted((a for a in fig.get_children()
                         if a is not fig.patch and not a.get_animated()),
                        key=attrgetter("zorder")):
            if a in fig.axes:
                out += self._axes_units(a)
            else:
                out.append(a)
        return out

    @classmethod
    def _axes_units(cls, ax) -> list:
        """What Axes.draw draws, in its order (see matplotlib.axes._base.Axes.draw)."""
        if not ax.get_visible():
            return []
        children = ax.get_children()
        children.remove(ax.patch)
        framed = ax.axison and ax.get_frame_on()
        if not framed:
            for spine in ax.spines.values():
                children.remove(spine)
        if not ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                children.remove(axis)
        children = sorted((a for a in children if not a.get_animated()),
                          key=attrgetter("zorder"))
        if framed:
            children = [ax.patch] + children
        out = []
        for a in children:
            if a in ax.child_axes:
                out += cls._axes_units(a)
            else:
                out.append(a)
        return out

    @staticmethod
    def _extent(a, renderer):
        """Where the artist draws, a box in display pixels; None: it cannot say."""
        try:
            if not a.get_visible():
                return (0.0, 0.0, 0.0, 0.0)
            if isinstance(a, Axis):   # tick labels, axis label, and the tick marks
                boxes = [a.get_tightbbox(renderer)]
                for tick in a.get_major_ticks() + a.get_minor_ticks():
                    if tick.get_visible():
                        boxes += [line.get_window_extent(renderer)
                                  for line in (tick.tick1line, tick.tick2line, tick.gridline)
                                  if line.get_visible()]
                boxes = [b for b in boxes if b is not None and b.width + b.height > 0]
                return _box(Bbox.union(boxes)) if boxes else (0.0, 0.0, 0.0, 0.0)
            if type(a).get_window_extent is Artist.get_window_extent:
                bb = a.get_tightbbox(renderer)
            else:
                bb = a.get_window_extent(renderer)
            if isinstance(a, Text) and a.get_bbox_patch() is not None:
                bb = Bbox.union([bb, a.get_bbox_patch().get_window_extent(renderer)])
        except Exception:  # noqa: BLE001 - an artist that cannot say: draw it all
            return None
        if bb is None:
            return (0.0, 0.0, 0.0, 0.0)
        box = _box(bb)
        # window extents stop at the middle of a stroke: add half the widest stroke
        stroke = 0.0
        if isinstance(a, Line2D):
            stroke = max(a.get_linewidth(), a.get_markeredgewidth() if a.get_marker()
                         not in (None, "None", "", " ") else 0.0)
        elif isinstance(a, (Patch, Spine)):
            stroke = a.get_linewidth()
        elif isinstance(a, Collection):
            stroke = float(np.max(a.get_linewidths(), initial=0.0))
        if box is not None:
            # + snapping to pixel centres (up to half a pixel) and antialiasing; a text's
            # extent is its line boxes, glyphs stay inside but for a pixel of antialiasing
            half = stroke * renderer.points_to_pixels(1.0) / 2 + (
                TEXT_INK if isinstance(a, Text) else INK)
            box = (box[0] - half, box[1] - half, box[2] + half, box[3] + half)
        return box

    # -- drawing --------------------------------------------------------------------
    # An Axis or a legend that did not change is drawn part by part, each where the last
    # full draw put it: Axis.draw and Legend.draw would first lay out every tick and entry
    # again (most of their cost), for the same positions.
    @staticmethod
    def _drawn_ticks(axis) -> list:
        """The ticks Axis.draw draws: those inside the view interval."""
        lo, hi = axis.get_view_interval()
        t = axis.get_transform()
        a, b = sorted(t.transform([lo, hi]))
        tol = (b - a) * 1e-10
        out = []
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            try:
                loc = t.transform(tick.get_loc())
            except (AssertionError, ValueError):
                continue
            if a - tol <= loc <= b + tol:
                out.append(tick)
        return out

    def _axis_parts(self, axis) -> list:
        parts = []
        for tick in self._ticks[axis]:
            if tick.get_visible():
                parts += [tick.gridline, tick.tick1line, tick.tick2line, tick.label1,
                          tick.label2]
        return parts + [axis.label, axis.offsetText]

    @staticmethod
    def _texts_of(a) -> list:
        if isinstance(a, Legend):
            return [*a.get_texts(), a.get_title()]
        ticks = a.get_major_ticks() + a.get_minor_ticks()
        return [t.label1 for t in ticks] + [t.label2 for t in ticks] + [a.label, a.offsetText]

    @staticmethod
    def _legend_parts(legend) -> list:
        return [legend.legendPatch, legend.get_title(), *legend.legend_handles,
                *legend.get_texts()]

    def _draw_parts(self, parts, renderer, box) -> None:
        for p in parts:
            if p is None or not p.get_visible():
                continue
            if isinstance(p, Text):
                # where it was drawn last (the text hook notes it): Text.draw would lay
                # the text out before the hook can skip it
                bb = self._where.get(p)
            else:
                bb = self._extent(p, renderer)
            if bb is not None and not _overlaps(bb, box):
                continue
            p.draw(renderer)

    def _text_hook(self, renderer, draw_text, box):
        """renderer.draw_text that notes where each text is and, given a box, does not
        rasterise the texts outside it."""
        where = self._where
        texts = self.texts
        drawn = self._drawn

        def draw(gc, x, y, s, prop, angle, ismath=False, mtext=None):
            bb = None
            if mtext is not None and box is None:
                drawn.append(mtext)      # where it is: noted by settle()
            elif mtext is not None:
                bb = where.get(mtext, False)
                if bb is False:
                    bb = where[mtext] = self._extent(mtext, renderer)
                if box is not None and bb is not None and not _overlaps(bb, box):
                    return
            # (a text of several lines draws each one with mtext=None)
            texts.draw(renderer, draw_text, gc, x, y, s, prop, angle, ismath, mtext, box, bb)
        return draw

    def _repaint(self, renderer, box, units, changed=frozenset()) -> None:
        """Draw everything that reaches into ``box``, clipped to it, in draw order."""
        clip = Bbox([[box[0], box[1]], [box[2], box[3]]])
        renderer.new_gc = type("_BoxGC", (_ClippedGC,), {"box": clip})
        renderer.draw_text = self._text_hook(renderer, renderer.draw_text, box)
        # Agg clips markers on inclusive pixel bounds, one pixel past the box's right and
        # lower edge: keep a ring of pixels around the box and put it back afterwards
        buf = np.asarray(renderer.buffer_rgba())
        h, w = buf.shape[:2]
        x0, x1 = int(box[0]), int(box[2])
        r0, r1 = h - int(box[3]), h - int(box[1])        # rows, top to bottom
        rx0, rx1, rr0, rr1 = max(x0 - RING, 0), min(x1 + RING, w), max(r0 - RING, 0), \
            min(r1 + RING, h)
        ring = buf[rr0:rr1, rx0:rx1].copy()
        try:
            for a in units:          # (those that reach into the box)
                fast = self._images.get(a) if isinstance(a, AxesImage) else None
                if fast is not None and fast.usable(a, renderer):
                    a.make_image = fast.make_image
                    try:
                        a.draw(renderer)
                    finally:
                        del a.make_image
                elif isinstance(a, Axis) and a not in changed and a in self._ticks:
                    self._draw_parts(self._axis_parts(a), renderer, box)
                elif isinstance(a, Legend) and a not in changed:
                    self._draw_parts(self._legend_parts(a), renderer, box)
                else:
                    a.draw(renderer)
        finally:
            del renderer.new_gc
            del renderer.draw_text
            inside = buf[r0:r1, x0:x1].copy()
            buf[rr0:rr1, rx0:rx1] = ring
            buf[r0:r1, x0:x1] = inside


class _NearestImage:
    """An AxesImage of RGB floats drawn with interpolation="nearest", without resampling:
    which data pixel each output pixel shows is found once, by letting matplotlib resample
    an image whose pixels encode their own index, and checked against matplotlib's own
    output. A frame then only looks the colours up (matplotlib converts the whole image
    and resamples it on every draw: most of a memory map's cost)."""

    MAX = 1 << 21          # 3 x 7 bits of index

    def __init__(self, image, key, index, l, b, trans):
        self.image, self.key, self.index = image, key, index
        self.l, self.b, self.trans = l, b, trans

    @staticmethod
    def _key(a, renderer):
        A = a.get_array()
        return (A.shape, tuple(a.get_extent()), tuple(a.axes.bbox.extents),
                tuple(a.get_clip_box().extents) if a.get_clip_box() is not None else None,
                renderer.dpi, renderer.get_image_magnification(), a.origin)

    @classmethod
    def of(cls, a, renderer):
        A = a.get_array()
        if (A is None or A.ndim != 3 or A.shape[2] != 3 or A.dtype.kind != "f"
                or a.get_alpha() is not None or a.get_interpolation() != "nearest"
                or a.get_clip_path() is not None or A.shape[0] * A.shape[1] > cls.MAX
                or np.ma.is_masked(A) or not a.get_transform().is_affine):
            return None
        data = np.array(A, dtype=np.float32)
        h, w = data.shape[:2]
        i = np.arange(h * w)
        code = np.stack([(i >> 14) & 127, (i >> 7) & 127, i & 127], axis=-1)
        mag = renderer.get_image_magnification()
        try:
            a.set_data(((2 * code + 1) / 256).reshape(h, w, 3))   # x 255, truncated: 2 code
            im, l, b, trans = a.make_image(renderer, mag)
        finally:
            a.set_data(data)
        if im is None:
            return None
        im = np.asarray(im)
        index = ((im[..., 0].astype(np.int64) // 2) << 14 | (im[..., 1].astype(np.int64) // 2)
                 << 7 | im[..., 2].astype(np.int64) // 2)
        if index.max(initial=0) >= h * w:
            return None
        fast = cls(a, cls._key(a, renderer), index, l, b, trans)
        real = a.make_image(renderer, mag)[0]
        if real is None or not np.array_equal(np.asarray(real), fast.pixels(data)):
            return None
        return fast

    def usable(self, a, renderer) -> bool:
        return self._key(a, renderer) == self.key

    def pixels(self, data) -> np.ndarray:
        flat = np.asarray(data).reshape(-1, 3)
        out = np.empty(self.index.shape + (4,), dtype=np.uint8)
        out[..., :3] = (flat[self.index].astype(np.float64) * 255).astype(np.uint8)
        out[..., 3] = 255
        return out

    def make_image(self, renderer, magnification=1.0, unsampled=False):
        return self.pixels(self.image.get_array()), self.l, self.b, self.trans
