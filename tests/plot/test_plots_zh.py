"""Chinese figures: every plot draws its Chinese labels with a real CJK font. Matplotlib
warns "Glyph N (...) missing from font(s) ..." when a character would be a box (tofu):
that warning fails the test. English figures keep exactly their font settings."""

from __future__ import annotations

import warnings

import matplotlib as mpl
import pytest

import kmemlab as km
from kmemlab.plot import _style
from kmemlab.user.malloc import GlibcMalloc

CJK = "\u4e00-\u9fff"




def _figures():
    k = km.Kernel(version="6.12", ram="256M")
    p = k.kmalloc(100, km.GFP_KERNEL)
    v = k.vmalloc(8 * k.PAGE_SIZE)
    m = GlibcMalloc()
    m.free(m.malloc(100))
    k32 = km.Kernel(version="3.15", arch="i386", ram="1G")
    return {
        "memory_map": lambda: km.plot.memory_map(k32),
        "buddyinfo": lambda: km.plot.buddyinfo(k),
        "buddy_tree": lambda: km.plot.buddy_tree(k),
        "slab": lambda: km.plot.slab(k, "kmalloc-128"),
        "slabinfo": lambda: km.plot.slabinfo(k),
        "address_space": lambda: km.plot.address_space(k32),
        "vmalloc_mapping": lambda: km.plot.vmalloc_mapping(k, v),
        "page_walk": lambda: km.plot.page_walk(k, p),
        "memblock": lambda: km.plot.memblock(k),
        "heap": lambda: km.plot.heap(m),
        "timeline": lambda: km.plot.timeline(k),
    }


def test_no_missing_glyph_in_any_chinese_figure(zh, save_png):
    if _style.cjk_font() is None:
        pytest.fail("no CJK font installed: install fonts-wqy-zenhei (Debian/Ubuntu apt), "
                    "as .ci/run and binder/apt.txt do")
    chinese = 0
    for name, make in _figures().items():
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=r".*Glyph .* missing from font")
            fig = make()
            save_png(fig, f"zh-{name}")
        texts = [t.get_text() for t in fig.findobj(mpl.text.Text)]
        chinese += any(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts)
    assert chinese >= 8          # most figures really carry Chinese labels


def test_missing_glyph_check_catches_tofu(zh):
    """Without the CJK font the same figure warns: the check above can fail."""
    saved = list(mpl.rcParams["font.family"])
    mpl.rcParams["font.family"] = ["DejaVu Sans"]
    try:
        with pytest.warns(UserWarning, match="missing from font"):
            km.plot.memory_map(km.Kernel(version="6.12", ram="256M")).savefig(
                __import__("io").BytesIO(), format="png")
    finally:
        mpl.rcParams["font.family"] = saved


def test_english_keeps_the_font_settings():
    before = list(mpl.rcParams["font.family"])
    km.set_language("zh")
    assert mpl.rcParams["font.family"][-1] in _style.CJK_FONTS
    km.set_language("en")
    assert list(mpl.rcParams["font.family"]) == before
    fig = km.plot.buddyinfo(km.Kernel(version="6.12", ram="256M"))
    assert not any("\u4e00" <= ch <= "\u9fff" for t in fig.findobj(mpl.text.Text)
                   for ch in t.get_text())
