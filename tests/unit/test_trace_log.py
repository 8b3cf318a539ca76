"""The simulator's event log: ring buffer, indices, formats."""

import io

import kmemlab as km
from kmemlab.traceparse import iter_records


def test_ring_buffer_keeps_the_newest_events_and_counts_all():
    k = km.Kernel(ram="256M")
    k.trace.clear()
    k.trace.buffer_events = 100
    start = k.trace.mark()
    for _ in range(150):
        k.free_pages(k.alloc_pages(km.GFP_KERNEL, 0))
    n = len(k.trace)
    assert n - start >= 300
    kept = k.trace._events
    assert len(kept) <= 100
    first = k.trace.events()[0]
    assert first.index == n - len(kept)
    assert k.trace[n - 1].index == n - 1
    header = k.trace.header()
    assert f"entries-in-buffer/entries-written: {len(kept)}/{n}" in header
    text = k.trace.to_ftrace(since=0)
    assert len(text.splitlines()) == len(kept) + header.count("\n")


def test_fields_and_why_round_trip_through_the_parser():
    for version in ("3.15", "6.12"):
        k = km.Kernel(version=version, ram="256M")
        mark = k.trace.mark()
        page = k.alloc_pages(km.GFP_KERNEL | km.gfp.flag("__GFP_ZERO"), 2)
        p = k.kmalloc(300, km.GFP_KERNEL)
        k.kfree(p)
        k.free_pages(page)
        ours = k.trace.events(since=mark)
        text = k.trace.to_ftrace(since=mark)
        parsed = list(iter_records(io.StringIO(text)))
        assert [r.event for r in parsed] == [e.name for e in ours]
        for rec, ev in zip(parsed, ours):
            assert rec.cpu == ev.cpu and rec.pid == ev.pid and rec.task == ev.comm
            if "pfn" in ev.fields and ev.fields["pfn"] >= 0:
                assert rec.pfn == ev.fields["pfn"]
            if "ptr" in ev.fields:
                assert rec.ptr == ev.fields["ptr"]
            if "bytes_req" in ev.fields:
                assert rec.bytes_req == ev.fields["bytes_req"]


def test_emit_accepts_a_name_field_and_gfp_symbols():
    k = km.Kernel(ram="256M")
    k.trace.emit("kmem_cache_free", "why", call_site="f", ptr=0xFFFF888000001000, name="x")
    assert k.trace.last.fields["name"] == "x"
    k.trace.emit("kmalloc", "w", call_site="f", ptr=1, bytes_req=8, bytes_alloc=8,
                 gfp_flags=km.GFP_KERNEL)
    assert k.trace.last.fields["gfp_flags"] == 0xCC0
