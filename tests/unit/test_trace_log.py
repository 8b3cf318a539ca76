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
    kept = k.trace.entries_in_buffer
    assert kept <= 100
    first = k.trace.events()[0]
    assert first.index == n - kept
    assert k.trace[n - 1].index == n - 1
    header = k.trace.header()
    assert f"entries-in-buffer/entries-written: {kept}/{n}" in header
    text = k.trace.to_ftrace(since=0)
    assert len(text.splitlines()) == kept + header.count("\n")


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


def _batch_and_singles(buffer_events):
    """One kernel writes 40 events with record_batch, its twin with 40 record()s."""
    from kmemlab.trace import counting_why
    batch, singles = km.Kernel(ram="256M"), km.Kernel(ram="256M")
    for k in (batch, singles):
        k.trace.clear()
        k.trace.buffer_events = buffer_events
        k.trace.emit("before", "one event first", x=1)
    pfns = list(range(1000, 1040))
    template = "page {} of the run, count {}"
    batch.trace.record_batch("mm_page_free", ("pfn", "order"),
                             counting_why(template, ("A",), 7, 1), (pfns, 0), 40)
    for i, pfn in enumerate(pfns):
        singles.trace.record("mm_page_free", ("pfn", "order"), (pfn, 0),
                             template.format("A", 7 + i))
    for k in (batch, singles):
        k.trace.emit("after", "one event last", x=2)
    return batch, singles


def view(k):
    t = k.trace
    return ([(e.index, e.timestamp_ns, e.name, e.fields, e.why) for e in t], t.to_ftrace(),
            t.counts(), len(t), t.entries_in_buffer, [e.index for e in t.events("after")],
            [e.fields["pfn"] for e in t.events("mm_page_free", since=len(t) - 10)],
            k.clock_ns)


def test_a_batch_reads_exactly_like_single_records():
    batch, singles = _batch_and_singles(1000)
    assert view(batch) == view(singles)
    assert batch.trace[5].why == "page A of the run, count 11"
    assert len(batch.trace._entries) == 3 and len(singles.trace._entries) == 42


def test_a_batch_cut_by_the_ring_buffer_and_a_late_why_inside_it():
    batch, singles = _batch_and_singles(16)      # quarters of 4: the run is cut
    assert view(batch) == view(singles)
    assert batch.trace.entries_in_buffer <= 16
    b, s = _batch_and_singles(1000)
    b.trace.set_why(20, ("late {}", ("why",)))
    s.trace.set_why(20, ("late {}", ("why",)))
    assert view(b) == view(s)
    assert b.trace[20].why == "late why" and b.trace[21].why == "page A of the run, count 27"
