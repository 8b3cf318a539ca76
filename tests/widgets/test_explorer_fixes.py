"""What the browser run (tests/e2e) found wrong in the explorers, each driven as a learner
would: set values, click (as the front end does: ``_handle_button_msg``), read what shows."""

from __future__ import annotations

import html
import re

import pytest

import kmemlab as km
from kmemlab.widgets import (
    AddressSpaceExplorer,
    BootExplorer,
    BuddyExplorer,
    CompareKernels,
    ContextExplorer,
    KmallocExplorer,
    MallocExplorer,
    VmallocExplorer,
)
from kmemlab.widgets.base import DMESG_LINES


def browser_click(button) -> None:
    """What ipywidgets does when the browser sends a click (the frames a learner saw)."""
    button._handle_button_msg(None, {"event": "click"}, [])


def pre_lines(value: str) -> list[str]:
    body = re.search(r"<pre[^>]*>(.*?)</pre>", value, re.S)[1]
    return html.unescape(body).split("\n")


# ----------------------------------------------------------------------------- 1: dmesg tail
def test_dmesg_box_shows_the_newest_lines_without_scrolling():
    k = km.Kernel(ram="256M")
    w = KmallocExplorer(k)
    browser_click(w.btn_kmalloc)
    browser_click(w.btn_kfree_twice)            # a long SLUB report: the end must show
    assert len(k.dmesg) > DMESG_LINES
    shown = pre_lines(w.dmesg.value)
    assert shown == k.dmesg[-DMESG_LINES:]      # the tail, newest last
    assert "</TASK>" in shown[-1] or shown[-1] == k.dmesg[-1]
    # no scroll box: nothing can hide the newest line below a fold
    assert w.dmesg.layout.max_height is None and w.dmesg.layout.overflow is None
    assert f"{len(k.dmesg) - DMESG_LINES} earlier lines" in w.dmesg.value


# ----------------------------------------------------------------------------- 2: labels
def test_boot_explorer_title_and_controls_follow_the_kernel():
    w = BootExplorer(km.Kernel(ram="1G"))
    assert "6.12/x86_64, 1024 MiB" in w.head.value
    w.w_profile.value = "3.15/i386"
    w.w_ram.value = "2G"
    browser_click(w.btn_boot)
    assert w.k.profile.name == "3.15/i386"
    assert "3.15/i386, 2048 MiB" in w.head.value and "6.12" not in w.head.value
    browser_click(w.btn_back)
    assert "6.12/x86_64, 1024 MiB" in w.head.value
    assert (w.w_profile.value, w.w_ram.value) == ("6.12/x86_64", "1G")
    browser_click(w.btn_forward)
    assert "3.15/i386, 2048 MiB" in w.head.value
    assert (w.w_profile.value, w.w_ram.value) == ("3.15/i386", "2G")
    browser_click(w.btn_reset)
    assert "6.12/x86_64, 1024 MiB" in w.head.value and w.w_profile.value == "6.12/x86_64"


# ----------------------------------------------------------------------------- 3: any error
def test_unexpected_exception_in_a_step_is_shown_and_rolled_back(monkeypatch):
    k = km.Kernel(ram="256M")
    w = BuddyExplorer(k)
    d0 = k.state_digest()

    real = k.alloc_pages

    def broken(*_a, **_kw):
        real("GFP_KERNEL", 2)                   # half done, then a bug
        w.state["blocks"].append((0, 0))
        raise RuntimeError("boom in the core")
    monkeypatch.setattr(k, "alloc_pages", broken)
    browser_click(w.btn_alloc)                  # must not raise into ipywidgets
    shown = html.unescape(w.oops.value)
    assert "RuntimeError: boom in the core" in shown
    assert "this is a kmemlab bug, please report it" in shown
    assert "Traceback" in shown and "rolled back" in shown
    assert k.state_digest() == d0 and not w.state["blocks"] and w.btn_undo.disabled
    assert isinstance(w.last_error, RuntimeError)


def test_exception_in_a_redraw_callback_is_shown(monkeypatch):
    w = KmallocExplorer(km.Kernel(ram="256M"))

    def broken_figure():
        raise KeyError("no such cache")
    monkeypatch.setattr(w, "figure", broken_figure)
    w.w_view.value = "slabinfo"                 # observer → refresh → figure()
    shown = html.unescape(w.oops.value)
    assert "KeyError" in shown and "no such cache" in shown
    assert "kmemlab bug, please report it" in shown


def test_misuse_still_goes_to_the_message_line():
    w = BootExplorer(km.Kernel(ram="1G"))
    w.w_cmdline.value = "mem=1"
    browser_click(w.btn_boot)
    assert "ValueError" in w.message.value and "kmemlab bug" not in w.oops.value


# ----------------------------------------------------------------------------- 4: stacks
def test_oops_call_trace_has_no_ipywidgets_frames():
    k = km.Kernel(ram="256M")
    w = ContextExplorer(k)
    w.w_ctx.value = "hardirq"
    w.w_gfp.value = "GFP_KERNEL"
    browser_click(w.btn_run)
    report = html.unescape(w.oops.value)
    assert "sleeping function called from invalid context" in report
    trace = report[report.index("Call Trace:"):]
    for frame in ("__call__", "click", "_handle_button_msg", "guarded", "run"):
        assert not re.search(rf"^\s*{frame}\s*$", trace, re.M), frame
    assert "kmalloc/kmem_cache_alloc(GFP_KERNEL)" in trace


def test_learner_frames_are_kept_and_third_party_ones_skipped():
    import ipywidgets as W

    from kmemlab.kdebug import is_learner_frame, python_stack

    k = km.Kernel(ram="256M")
    seen = {}

    def my_driver():
        seen["label"] = k.caller_label()
        seen["stack"] = [f for f, _l in python_stack()]
    dispatcher = W.CallbackDispatcher()        # third-party code calls the learner's code
    dispatcher.register_callback(my_driver)
    dispatcher()
    assert seen["label"] == "my_driver"
    assert seen["stack"][0] == "my_driver" and "__call__" not in seen["stack"]
    assert is_learner_frame(my_driver.__code__)
    assert not is_learner_frame(W.Button.click.__code__)
    assert not is_learner_frame(km.Kernel.kmalloc.__code__)
    assert not is_learner_frame(KmallocExplorer.kmalloc.__code__)


# ----------------------------------------------------------------------------- 5: SIGABRT
def test_malloc_double_free_is_a_user_space_abort_not_a_kernel_oops():
    k = km.Kernel(ram="256M")
    w = MallocExplorer(k)
    w.w_size.value = 100
    browser_click(w.btn_malloc)
    pid = w.proc.pid
    rss = w.proc.rss_pages
    assert rss > 0
    owned_before = len(k.page_alloc.allocated)
    browser_click(w.btn_double)
    shown = html.unescape(w.oops.value)
    assert ("free(): double free detected in tcache 2 — the process was killed with SIGABRT; "
            "the kernel is unharmed") in shown
    assert "Oops / kernel bug" not in shown and "state is unchanged" not in shown
    assert "Aborted (core dumped)" in shown
    # the process is gone and its pages went back to the buddy allocator
    assert not w.proc.alive and pid not in k.user.processes
    assert len(k.page_alloc.allocated) <= owned_before - rss
    assert w.state["ptrs"] == [] and not w.btn_undo.disabled
    browser_click(w.btn_malloc)                 # a dead process: say so, no traceback
    assert "killed by SIGABRT" in w.message.value and "undo" in w.message.value
    browser_click(w.btn_undo)                   # the abort undone: the process is back
    assert w.proc.alive and pid in k.user.processes and len(w.state["ptrs"]) == 0
    browser_click(w.btn_malloc)
    assert len(w.state["ptrs"]) == 1 and w.oops.value == ""


# ----------------------------------------------------------------------------- 6: buddy
def test_buddyinfo_table_is_aligned_under_an_order_header():
    k = km.Kernel(ram="256M")
    w = BuddyExplorer(k)
    browser_click(w.btn_alloc)
    assert "font-family:monospace" in w.info.value
    lines = pre_lines(w.info.value)
    header, rows = lines[0], lines[1:]
    assert header.split() == ["order"] + [str(o) for o in range(k.profile.nr_page_orders)]
    assert [r.rstrip() for r in k.proc("buddyinfo").splitlines()] == rows
    prefix = len("Node 0, zone ") + 8 + 1     # "Node %d, zone %8s "
    ends = [m.end() for m in re.finditer(r"\d+", header[prefix:])]
    for row in rows:   # every count ends in the column of its order
        assert [m.end() for m in re.finditer(r"\d+", row[prefix:])] == ends


def test_memory_map_marker_of_the_last_block_is_not_clipped():
    k = km.Kernel(ram="256M")
    w = BuddyExplorer(k)
    w.w_order.value = 3
    browser_click(w.btn_alloc)
    browser_click(w.btn_alloc)                  # the fast path (update_memory_map) too
    fig = w.figure()
    marks = [ln for ln in fig.axes[0].lines if ln.get_marker() == "o"]
    assert marks and all(not ln.get_clip_on() for ln in marks)
    pfn = w.state["blocks"][-1][0]
    width, fpp = fig.kmemlab["width"], fig.kmemlab["fpp"]
    r, c = divmod(pfn // fpp, width)
    assert all((ln.get_xdata()[0], ln.get_ydata()[0]) == (c + 0.5, r + 0.5) for ln in marks)
    assert "pfn" in w.info.value and "order 3" in w.info.value


# ----------------------------------------------------------------------------- 7: compare
def test_compare_headline_describes_the_experiment():
    w = CompareKernels(ram="256M")
    w.w_exp.value = "alloc_pages(order)"
    w.w_n.value = 3
    assert "kmalloc cache" not in w.table.value
    assert "alloc_pages(GFP_KERNEL, 3)" in w.table.value and "run on both" in w.table.value
    browser_click(w.btn_run)
    assert re.search(r">0x[0-9a-f]+</td>", w.table.value)
    assert "order 3: 8 pages (32 KiB)" in w.table.value
    w.w_exp.value = "kmem_cache_create(size)"
    w.w_n.value = 200
    browser_click(w.btn_run)
    assert 'kmem_cache_create("cmp_200", 200)' in html.unescape(w.table.value)
    assert "kmalloc cache" not in w.table.value
    w.w_exp.value = "kmalloc(size)"
    assert "kmalloc(200, GFP_KERNEL)" in w.table.value and "kmalloc-256" in w.table.value
    assert "3.15/x86_64 vs 6.12/x86_64" in w.head.value


# ----------------------------------------------------------------------------- 8: vmalloc why
def test_vmalloc_why_replays_the_kernel_path_with_page_events_summarised():
    k = km.Kernel(ram="256M")
    w = VmallocExplorer(k)
    empty = " ".join(t.get_text() for t in w.figure().axes[0].texts)
    assert "vmalloc button" in empty and "k.vmalloc(size)" not in empty
    w.w_size.value = 16 * k.PAGE_SIZE
    browser_click(w.btn_vmalloc)
    steps = [s.function for s in k.vmalloc_steps]
    assert steps[0] == "__vmalloc_node_range"
    why = html.unescape(w.why.value)
    assert why.index("__vmalloc_node_range") < why.index("mm_page_alloc")
    assert all(f in why for f in steps)
    assert re.search(r"\d+ × <code>mm_page_alloc</code>:", why)
    assert why.count("<code>mm_page_alloc</code>") == 1      # one summary line, not 16
    assert w.step_label.value.startswith(f"step 1/{len(steps)}: <code>__vmalloc_node_range")
    browser_click(w.btn_step)
    assert f"step 2/{len(steps)}: <code>{steps[1]}" in w.step_label.value
    assert f"step 2/{len(steps)}" in w.why.value
    browser_click(w.btn_undo)                   # the replay follows the state
    assert "no step yet" in w.why.value


# ----------------------------------------------------------------------------- 9: zoom
def test_vmalloc_mapping_zooms_on_clustered_frames(save_png):
    k = km.Kernel(ram="1G")
    pages = [k.alloc_pages("GFP_KERNEL", 0) for _ in range(200)]
    for p in pages[::3]:
        k.free_pages(p, 0)                      # holes: the area gets scattered frames
    v = k.vmalloc(16 * k.PAGE_SIZE)
    fig = km.plot.vmalloc_mapping(k, v)
    save_png(fig, "vmalloc_mapping_zoom")
    pfns = [p for p in fig.kmemlab["pfns"] if p is not None]
    z0, z1 = fig.kmemlab["zoom"]
    assert z0 < min(pfns) and max(pfns) < z1 - 1 and (z1 - z0) * 8 <= k.max_pfn
    assert fig.kmemlab["runs"] > 1
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert f"zoom: physical {z0 * k.PAGE_SIZE:#x} – {z1 * k.PAGE_SIZE - 1:#x}" in texts


def test_vmalloc_mapping_no_zoom_when_frames_span_ram():
    k = km.Kernel(ram="256M")
    v = k.vmalloc(4 * k.PAGE_SIZE)
    fig = km.plot.vmalloc_mapping(k, v)
    pfns = [p for p in fig.kmemlab["pfns"] if p is not None]
    from kmemlab.plot.vm import _zoom_window
    assert fig.kmemlab["zoom"] == _zoom_window(pfns, k.max_pfn)
    assert _zoom_window([0, k.max_pfn - 1], k.max_pfn) is None


# ----------------------------------------------------------------------------- 10: chapter 1
def test_address_space_explorer_i386_lowmem_highmem_and_three_kinds(save_png):
    w = AddressSpaceExplorer()
    k = w.k
    assert k.profile.name == "3.15/i386" and "Address space explorer" in w.head.value
    assert "lowmem" in w.split.value and "highmem" in w.split.value and "HighMem" in w.split.value
    img = w.image.value
    for btn in (w.btn_kmalloc, w.btn_vmalloc, w.btn_malloc):
        browser_click(btn)
    assert w.image.value != img
    save_png(w.figure(), "widget_address_space_i386")
    kinds = {a["kind"]: a for a in w.state["allocs"]}
    assert set(kinds) == {"kmalloc", "vmalloc", "malloc"}
    page_offset = k.profile.page_offset
    assert kinds["kmalloc"]["addr"] >= page_offset and kinds["malloc"]["addr"] < page_offset
    assert w.region(kinds["kmalloc"]["addr"]).startswith("lowmem")
    assert w.region(kinds["vmalloc"]["addr"]).startswith("vmalloc")
    assert w.region(kinds["malloc"]["addr"]).startswith("user")
    table = html.unescape(w.table.value)
    assert "kmalloc(100, GFP_KERNEL)" in table and "vmalloc(100)" in table
    assert re.search(r"malloc\(100\) in app\[\d+\]", table)
    assert re.search(r"pfn 0x[0-9a-f]+ .* in (DMA|Normal)", table)


def test_address_space_explorer_switches_kernel_and_undo_switches_back():
    w = AddressSpaceExplorer(ram="1G")
    browser_click(w.btn_kmalloc)
    w.w_kernel.value = "6.12/x86_64"            # a boot: a step
    assert w.k.profile.name == "6.12/x86_64" and "6.12/x86_64" in w.head.value
    assert "No highmem" in w.split.value and w.state["allocs"] == []
    browser_click(w.btn_kmalloc)
    browser_click(w.btn_malloc)
    a = {x["kind"]: x["addr"] for x in w.state["allocs"]}
    assert w.region(a["kmalloc"]).startswith("direct map")
    assert w.region(a["malloc"]).startswith("user")
    browser_click(w.btn_undo)
    browser_click(w.btn_undo)
    browser_click(w.btn_undo)                   # before the boot: i386 and its kmalloc
    assert w.k.profile.name == "3.15/i386" and w.w_kernel.value == "3.15/i386"
    assert "3.15/i386" in w.head.value and len(w.state["allocs"]) == 1
    with pytest.raises(ValueError, match="kind must be one of"):
        w.alloc("kzalloc")
