"""km.plot.png_bytes draws a figure with a layout engine once (matplotlib's savefig draws it
twice): the same PNG bytes as savefig, at any dpi, and the figure keeps its engine."""

from __future__ import annotations

import io

import matplotlib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine

import kmemlab as km
import kmemlab.plot as P


def _savefig(fig, dpi):
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


@pytest.fixture(scope="module")
def kernel():
    k = km.Kernel(version="6.12", ram="256M", pcp=False)
    pages = [k.alloc_pages(km.GFP_KERNEL, 0) for _ in range(512)]
    for p in pages[::2]:
        k.free_pages(p)
    return k


@pytest.mark.parametrize("dpi", [72, 80, 100])
@pytest.mark.parametrize("plot", ["buddyinfo", "slabinfo", "memory_map"])
def test_same_bytes_as_savefig(kernel, plot, dpi):
    draw = getattr(P, plot)
    ours = P.png_bytes(draw(kernel), dpi=dpi)
    theirs = _savefig(draw(kernel), dpi)
    assert ours == theirs


def test_the_figure_keeps_its_engine_and_dpi(kernel):
    fig = P.buddyinfo(kernel)
    engine, dpi = fig.get_layout_engine(), fig.dpi
    assert isinstance(engine, ConstrainedLayoutEngine)
    first = P.png_bytes(fig, dpi=80)
    assert fig.get_layout_engine() is engine and fig.dpi == dpi
    assert P.png_bytes(fig, dpi=80) == first      # drawn again: the same picture


def test_a_default_engine_in_rcparams_is_not_applied(kernel):
    # set_layout_engine(None) would install rcParams' engine: png_bytes must not save with
    # it (the tight layout would move the axes), but as savefig does
    with matplotlib.rc_context({"figure.autolayout": True}):
        ours = P.png_bytes(P.buddyinfo(kernel), dpi=80)
        theirs = _savefig(P.buddyinfo(kernel), 80)
        fig = P.buddyinfo(kernel)
        P.png_bytes(fig, dpi=80)
        assert not isinstance(fig.get_layout_engine(), TightLayoutEngine)
    assert ours == theirs


def test_a_figure_without_axes():
    from matplotlib.figure import Figure

    def text_only():
        fig = Figure(figsize=(2, 1), layout="constrained")
        fig.text(0.1, 0.5, "no axes")
        return fig
    assert P.png_bytes(text_only(), dpi=50) == _savefig(text_only(), 50)
