"""Widget and plot fixes from the chapter walk-through (issue 16): what the student sees."""

from __future__ import annotations

import html
import io
import re

from PIL import Image

import kmemlab as km
from kmemlab.widgets import CompareKernels, MallocExplorer, VmallocExplorer


def test_heap_figure_shows_vsz_in_bytes_next_to_rss():
    k = km.Kernel(version="6.12", ram="1G")
    proc = k.spawn("app")
    a = proc.malloc(64 << 20)
    proc.touch(a, 16 << 20)
    bars = km.plot.heap(proc).kmemlab["bars"]
    # ps: VSZ and RSS are KiB (VmSize, VmRSS); the figure plots bytes
    assert bars["VSZ"] == proc.vsz * 1024 and bars["RSS"] == proc.rss * 1024
    assert bars["VSZ"] > 64 << 20 > bars["RSS"] > 16 << 20
    texts = [t.get_text() for ax in km.plot.heap(proc).axes for t in ax.texts]
    assert any(t.strip().startswith("VSZ 66.4 MiB") for t in texts), texts
    assert any(t.strip() == "arena (brk) 132 KiB" for t in texts), texts


def test_vmalloc_explorer_started_fragmented_shows_scattered_pages():
    w = VmallocExplorer(km.Kernel(version="6.12"), fragmented=True)
    w.btn_vmalloc.click()
    fig = w.figure()
    assert fig.kmemlab["runs"] == 5          # 5 pages, 5 separate physical runs
    assert "physically in 5 runs" in fig.axes[0].get_title() or \
        any("physically in 5 runs" in t.get_text() for t in fig.texts)
    w.btn_reset.click()                      # reset keeps the fragmented start
    assert w.state["areas"] == [] and len(w.state["pinned"]) == VmallocExplorer.FRAGMENT_PAGES // 2


def test_vmalloc_explorer_fragment_button_and_undo():
    w = VmallocExplorer(km.Kernel(version="6.12"))
    w.btn_vmalloc.click()
    assert w.figure().kmemlab["runs"] == 1   # a fresh kernel: neighbouring pages
    d = w.k.state_digest()
    w.btn_fragment.click()
    w.btn_vmalloc.click()
    assert w.figure().kmemlab["runs"] == 5
    w.btn_undo.click()
    w.btn_undo.click()
    assert w.k.state_digest() == d


def test_compare_kernels_keeps_sizes_and_orders_apart():
    w = CompareKernels(ram="256M")
    w.w_n.value = 3000                       # a kmalloc size ...
    w.w_exp.value = "alloc_pages(order)"     # ... is not carried over as an order
    assert (w.w_n.value, w.w_n.min, w.w_n.max) == (3, 0, 12)
    w.w_n.value = 11
    w.btn_run.click()
    table = html.unescape(w.table.value)
    assert "capped" not in table
    assert table.count("order 11 is above the largest order 10: the kernel warns and "
                       "returns NULL") == 2
    assert table.count(">NULL<") == 2
    assert any("order 11 is above the largest order 10" in ln for ln in w.k2.dmesg)
    w.w_exp.value = "kmalloc(size)"          # back: the size it had
    assert w.w_n.value == 3000 and w.w_n.max == 8192
    w.w_n.value = 5
    w.w_exp.value = "kmem_cache_create(size)"  # size to size: kept (at least 8 bytes)
    assert (w.w_n.value, w.w_n.min) == (8, 8)


def test_malloc_explorer_why_does_not_repeat_the_call_name():
    w = MallocExplorer()
    w.w_size.value = 200_000
    w.btn_malloc.click()
    w.btn_free.click()
    text = html.unescape(re.sub("<[^>]+>", "", w.why.value))
    assert "free: mmapped chunk" in text and "free: free:" not in text


def test_memory_map_in_an_explorer_leaves_room_for_why_and_dmesg():
    w = km.widgets.BuddyExplorer(km.Kernel(version="6.12", ram="256M"))
    width, height = Image.open(io.BytesIO(w.image.value)).size
    assert height <= 320 and width >= 600


def test_quiz_title_and_check_button():
    from pathlib import Path

    from kmemlab.quiz import show
    quiz = Path(__file__).resolve().parents[2] / "notebooks" / "quizzes" / "00-start-here.yaml"
    qw = show(str(quiz), student="ann")
    head = qw.box.children[0].value
    assert "Start here — ann</h3>" in head                 # not "Start here— ann"
    # the label must fit: a fixed 90px cut it to "Ch…" in JupyterLab's theme
    assert qw.check_buttons and all(b.layout.width == "auto"
                                    for b in qw.check_buttons.values())
