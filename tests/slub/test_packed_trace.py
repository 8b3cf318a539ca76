"""The SLUB fast paths write their trace events into a packed chunk (issue 21 item 4,
third round: kmemlab.trace._Packed, PACK slots per event in one flat list) instead
of one tuple per event. Reading must give what the tuple store gives: every read
API on a log is compared with the same log whose entries are all plain event
tuples (the store every other event uses), through the ring buffer's drops, a
late why (set_why) inside a chunk, and reads that close a chunk mid-run."""

from __future__ import annotations

import random

import pytest
from slub_helpers import boot

import kmemlab as km
from kmemlab.trace import _Packed


def _sequence(k: km.Kernel, seed: int = 3, ops: int = 600, read_every: int = 0) -> None:
    """kmalloc/kfree/kmem_cache_* mixed with page events (the tuple store) and
    contexts, so packed chunks are closed and opened again."""
    rng = random.Random(seed)
    cache = k.kmem_cache_create("packed_test", 200)
    live, objs = [], []
    for i in range(ops):
        r = rng.random()
        cpu = 1 if rng.random() < 0.2 else 0
        with k.on_cpu(cpu):
            if r < 0.35:
                live.append(k.kmalloc(rng.choice((8, 64, 100, 700, 4096)), km.GFP_KERNEL))
            elif r < 0.6 and live:
                k.kfree(live.pop(rng.randrange(len(live))))
            elif r < 0.75:
                objs.append(k.kmem_cache_alloc(cache, km.GFP_KERNEL))
            elif r < 0.88 and objs:
                k.kmem_cache_free(cache, objs.pop(rng.randrange(len(objs))))
            elif r < 0.93:
                k.free_pages(k.alloc_pages(km.GFP_KERNEL, rng.randrange(3)))
            elif r < 0.97:
                with k.context("softirq"):
                    k.kfree(k.kmalloc(32, km.GFP_ATOMIC, caller="in_softirq"))
            else:
                k.kfree(None)
        if read_every and i % read_every == 0:
            assert k.trace.last is not None  # a read closes the packed chunk
            k.trace.counts()


def _as_tuples(k: km.Kernel) -> km.Kernel:
    """A copy of ``k`` whose trace keeps every event as a plain tuple."""
    other = k.snapshot()
    t = other.trace
    events = [e for _, e in t._tuples()]
    first = t._dropped
    t._entries[:] = events
    t._first[:] = range(first, first + len(events))
    t._first_next = first + len(events)
    t.packed = None
    return other


def _reads(k: km.Kernel) -> tuple:
    t = k.trace
    n = len(t)
    lo = t.next_index - t.entries_in_buffer
    picks = sorted({lo, n - 1, (lo + n) // 2, lo + 7, n - 13})
    return (t.to_ftrace(), t.to_ftrace(since=(lo + n) // 3, header=False),
            [(e.index, e.name, e.fields, e.why, e.timestamp_ns, e.cpu, e.irq_flags)
             for e in t], t.counts(),
            [e.why for e in t.events("kfree")], [e.index for e in t.events("kmalloc", lo + 50)],
            [(t[i].name, t[i].fields) for i in picks], [e.why for e in t[lo + 3:lo + 40:7]],
            t.last.fields, t.entries_in_buffer, t.entries_written)


@pytest.mark.parametrize("version", ["3.15", "6.12", "6.18"])
def test_a_packed_log_reads_as_the_tuple_store(version):
    k = boot(version)
    k.trace.clear()
    _sequence(k)
    assert any(type(e) is _Packed for e in k.trace._entries)
    assert _reads(k) == _reads(_as_tuples(k))


@pytest.mark.parametrize("buffer_events", [37, 200])
def test_the_ring_buffer_drops_inside_packed_chunks_as_with_tuples(buffer_events):
    k = boot("6.12")
    k.trace.clear()
    mark = k.trace.mark()
    big = k.snapshot()
    k.trace.buffer_events = buffer_events
    _sequence(k, ops=900)
    _sequence(big, ops=900)
    kept = k.trace.entries_in_buffer
    assert kept <= buffer_events < len(k.trace) - mark
    tail = big.trace.events()[-kept:]
    assert [(e.index, e.name, e.fields, e.why) for e in k.trace] == \
        [(e.index, e.name, e.fields, e.why) for e in tail]
    assert _reads(k) == _reads(_as_tuples(k))


def test_set_why_inside_a_packed_chunk():
    k = boot("6.12")
    k.trace.clear()
    for _ in range(50):
        k.kfree(k.kmalloc(64, km.GFP_KERNEL))
    ref = _as_tuples(k)
    lo = k.trace.mark() - 100
    for i in (lo + 41, lo, k.trace.mark() - 1, lo + 42, lo + 17):
        k.trace.set_why(i, f"late why {i}")
        ref.trace.set_why(i, f"late why {i}")
    assert _reads(k) == _reads(ref)
    k.kfree(k.kmalloc(64, km.GFP_KERNEL))        # the log goes on after the split
    ref.kfree(ref.kmalloc(64, km.GFP_KERNEL))
    assert _reads(k) == _reads(ref)


def test_reads_between_writes_change_nothing():
    k = boot("6.12")
    other = k.snapshot()
    _sequence(k)
    _sequence(other, read_every=3)
    assert k.trace.to_ftrace() == other.trace.to_ftrace()
    assert [e.why for e in k.trace] == [e.why for e in other.trace]
    assert k.clock_ns == other.clock_ns


def test_tracing_off_writes_nothing_but_the_clock_moves():
    k = boot("6.12")
    k.trace.enabled = False
    c = k.kmem_cache_create("packed_off", 64)
    k.kfree(k.kmalloc(64, km.GFP_KERNEL))       # warm: the next ones take the fast paths
    k.kmem_cache_free(c, k.kmem_cache_alloc(c, km.GFP_KERNEL))
    n, clock = len(k.trace), k.clock_ns
    k.kfree(k.kmalloc(64, km.GFP_KERNEL))
    k.kmem_cache_free(c, k.kmem_cache_alloc(c, km.GFP_KERNEL))
    assert len(k.trace) == n and k.trace.packed is None
    assert k.clock_ns == clock + 4 * km.trace.EVENT_STEP_NS


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_chunks_closed_when_full_read_the_same(monkeypatch, chunk):
    """A chunk closes after PACKED_EVENTS events (its list becomes a tuple): small
    limits, so many chunks close on their own, read as the tuple store, drops too."""
    monkeypatch.setattr(km.trace, "PACKED_EVENTS", chunk)
    k = boot("6.12")
    k.trace.clear()
    k.trace.buffer_events = 150
    _sequence(k, ops=500)
    closed = [e for e in k.trace._entries[:-1] if type(e) is _Packed]
    assert closed and all(type(e.vals) is tuple and e.n <= chunk for e in closed)
    assert _reads(k) == _reads(_as_tuples(k))


def test_a_closed_chunk_is_left_alone_by_the_garbage_collector():
    import gc
    k = boot("6.12")
    for _ in range(3000):                       # 6,000 events: one chunk closes
        k.kfree(k.kmalloc(64, km.GFP_KERNEL))
    closed = [e for e in k.trace._entries if type(e) is _Packed and type(e.vals) is tuple]
    assert closed
    for _ in range(3):     # an outer tuple is untracked once its inner ones are (the
        gc.collect()       # chunk holds heads, which hold tuples: up to three passes)
    assert not any(gc.is_tracked(e.vals) for e in closed)
