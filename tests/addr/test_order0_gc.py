"""alloc_pages/free_pages' in-line order-0 paths write trace events the cyclic GC can
let go of (kmemlab/pcp.py: PerCpuPages.take_whys/free_whys): each event's why is a
shared tuple of untracked values, so the event is untracked at its first collection.
A fresh (template, args) why per event kept every event tracked into the oldest
generation, where the full collections it set off walked the whole trace buffer
(order-0 pairs ran at about 2/3 of the speed)."""

from __future__ import annotations

import gc

import kmemlab as km


def test_order0_trace_events_leave_the_cyclic_gc() -> None:
    k = km.Kernel(ram="1G")
    g = km.GFP_KERNEL
    for _ in range(1000):
        k.free_pages(k.alloc_pages(g, 0))
    gc.collect()
    n0 = len(gc.get_objects())
    for _ in range(20000):
        k.free_pages(k.alloc_pages(g, 0))
    gc.collect(1)   # the young generations only: what a full collection would find
    grown = len(gc.get_objects()) - n0
    assert len(k.trace) >= 40000 and grown < 1000, grown
    # the whys read as they did
    e = k.trace.events("mm_page_alloc")[-1]
    assert "took the first page on CPU 0's per-CPU list" in e.why
    e = k.trace.events("mm_page_free")[-1]
    assert "freed to CPU 0's per-CPU list (Unmovable, count" in e.why
