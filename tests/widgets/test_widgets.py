"""Each explorer driven like a learner would: set values, click, read what it shows."""

from __future__ import annotations

import pytest

import kmemlab as km
from kmemlab.widgets import (
    BootExplorer,
    BuddyExplorer,
    CompareKernels,
    ContextExplorer,
    KmallocExplorer,
    MallocExplorer,
    VmallocExplorer,
)


@pytest.fixture
def save_bytes():
    from pathlib import Path
    out = Path(__file__).resolve().parents[2] / "test-output" / "plots"

    def save(name, data):
        out.mkdir(parents=True, exist_ok=True)
        (out / f"widget_{name}.png").write_bytes(data)
    return save


def test_buddy_explorer_alloc_undo_back_forward(save_bytes):
    k = km.Kernel(ram="256M")
    w = BuddyExplorer(k)
    d0, img0 = k.state_digest(), w.image.value
    w.w_order.value = 3
    w.btn_alloc.click()
    assert w.state["blocks"] and w.state["blocks"][-1][1] == 3
    assert w.image.value != img0
    assert "mm_page_alloc" in w.why.value
    d1, img1 = k.state_digest(), w.image.value
    save_bytes("buddy_map", img1)
    w.btn_back.click()
    assert k.state_digest() == d0 and not w.state["blocks"]
    w.btn_forward.click()
    assert k.state_digest() == d1 and w.state["blocks"]
    w.btn_undo.click()
    assert k.state_digest() == d0 and w.btn_forward.disabled
    for view in ("buddyinfo", "buddy tree", "timeline"):
        w.w_view.value = view
        save_bytes(f"buddy_{view.replace(' ', '_')}", w.image.value)
    w.btn_work.click()
    assert len(w.samples) == 2 and w.state["blocks"]
    w.btn_free_all.click()
    assert not w.state["blocks"]
    w.btn_reset.click()
    assert k.state_digest() == d0


def test_buddy_explorer_makes_its_own_kernel():
    w = BuddyExplorer(ram="256M")
    assert w.k.ram == 256 << 20 and w.image.value[:4] == b"\x89PNG"
    assert "伙伴系统" in w.tooltip


def test_kmalloc_explorer_names_the_cache_and_shows_double_free(save_bytes):
    k = km.Kernel(ram="256M")
    w = KmallocExplorer(k)
    w.w_size.value = 100
    assert "kmalloc-128" in w.cache_label.value and "28 B wasted" in w.cache_label.value
    img = w.image.value
    w.btn_kmalloc.click()
    assert "kmalloc-128" in w.why.value
    assert w.image.value != img
    save_bytes("kmalloc_slab", w.image.value)
    d = k.state_digest()
    fp = k.slub.state_fingerprint()
    w.btn_kfree_twice.click()
    # 6.12 without slub_debug: the hardened freelist catches a free of the head
    assert "double free" in w.oops.value and "kernel BUG at mm/slub.c:550" in w.oops.value
    assert w.state["ptrs"] == []
    w.btn_undo.click()            # undo the first kfree: the object is live again
    assert k.state_digest() == d and k.slub.state_fingerprint() == fp
    w.w_size.value = 20000
    assert "no kmalloc cache" in w.cache_label.value
    w.w_view.value = "slabinfo"
    save_bytes("kmalloc_slabinfo", w.image.value)


def test_vmalloc_explorer_vmalloc_step_and_views(save_bytes):
    w = VmallocExplorer(km.Kernel(ram="256M"))
    save_bytes("vmalloc", w.image.value)
    assert not w.btn_vmalloc.disabled and w.w_view.value == "mapping"
    w.btn_vmalloc.click()
    w.btn_step.click()
    assert "step 2/" in w.step_label.value
    w.w_view.value = "page walk"
    assert w.image.value[:4] == b"\x89PNG"


def test_context_explorer_outcome_and_oops(save_bytes):
    k = km.Kernel(ram="256M")
    w = ContextExplorer(k)
    w.w_ctx.value = "hardirq"
    w.w_gfp.value = "GFP_ATOMIC"
    w.btn_run.click()
    assert "hardirq" in w.outcome.value and "got 0x" in w.outcome.value
    save_bytes("context", w.image.value)
    w.w_ctx.value = "kprobe_handler"
    w.btn_run.click()
    assert "in <b>kprobe_handler</b>" in w.outcome.value


def test_boot_explorer_cmdline_and_error():
    w = BootExplorer(km.Kernel(ram="1G"))
    img = w.image.value
    w.w_cmdline.value = "mem=512M"
    w.btn_boot.click()
    assert w.k.cmdline == "mem=512M" and w.image.value != img
    assert w.k.memblock.memory.total_size <= 512 << 20
    w.btn_undo.click()
    assert w.k.cmdline == ""
    w.w_cmdline.value = "mem=1"
    w.btn_boot.click()
    assert "too little memory" in w.message.value and w.k.cmdline == ""


def test_malloc_explorer_why_and_glibc_abort(save_bytes):
    w = MallocExplorer(km.Kernel(ram="256M"))
    w.w_size.value = 24
    w.btn_malloc.click()
    w.w_size.value = 200
    w.btn_malloc.click()
    assert "malloc(200)" in w.why.value
    save_bytes("malloc", w.image.value)
    img = w.image.value
    w.btn_double.click()
    assert "double free detected in tcache" in w.oops.value
    assert w.image.value != img
    w.btn_undo.click()          # the abort undone: the process is back, one chunk freed
    assert w.proc.alive and len(w.state["ptrs"]) == 1
    w.btn_undo.click()          # the first free undone: both chunks live again
    assert len(w.state["ptrs"]) == 2


def test_compare_kernels_side_by_side(save_bytes):
    w = CompareKernels(ram="256M")
    assert w.k.profile.version == "3.15" and w.k2.profile.version == "6.12"
    w.w_n.value = 192
    w.btn_run.click()
    assert "3.15/x86_64" in w.why.value and "6.12/x86_64" in w.why.value
    assert "kmalloc-192" in w.table.value
    save_bytes("compare", w.image.value)
    d1, d2 = w.k.state_digest(), w.k2.state_digest()
    w.w_exp.value = "alloc_pages(order)"
    w.w_n.value = 3
    w.btn_run.click()
    w.btn_undo.click()
    assert w.k.state_digest() == d1 and w.k2.state_digest() == d2
