"""Round trip: the simulator's own ``k.trace.to_ftrace()`` parses back to the same events.

kmemlab/trace.py writes /sys/kernel/tracing/trace for the 3.15 and 6.12 layouts;
kmemlab/traceparse.py must read every field of every kmem event back unchanged.
"""

from __future__ import annotations

import io

import pytest

import kmemlab as km
from kmemlab import gfp as kgfp
from kmemlab import traceparse as tp
from kmemlab.trace import call_site_address


def workload(version: str) -> km.Kernel:
    """Every kmem event the simulator emits, on two CPUs and in interrupt context."""
    k = km.Kernel(version=version, ram="64M", cpus=2)
    c = k.kmem_cache_create("rt_cache", 200)
    objs = [k.kmalloc(n, "GFP_KERNEL", caller="drv_probe") for n in (8, 100, 200, 3000)]
    objs.append(k.kmalloc(20000, "GFP_KERNEL|__GFP_ZERO", caller="big_buf+0x10/0x80"))
    assert k.kmalloc(8 << 20, "GFP_KERNEL|__GFP_NOWARN") is None        # fails: ptr NULL
    with k.on_cpu(1):
        o = k.kmem_cache_alloc(c, "GFP_KERNEL", caller="rt_alloc")
        with k.context("hardirq"):
            a = k.kmalloc(64, "GFP_ATOMIC", caller="irq_handler")
        k.kmem_cache_free(c, o, caller="rt_free")
    k.kfree(a)
    k.kfree(None)
    for p in objs:
        k.kfree(p, caller="drv_remove")
    pages = [k.alloc_pages("GFP_KERNEL", o) for o in (0, 0, 1, 3, 5)]
    pages.append(k.alloc_pages("GFP_HIGHUSER_MOVABLE", 0))
    for p in pages:
        k.free_pages(p)
    many = [k.alloc_pages("GFP_KERNEL", 0) for _ in range(600)]       # pcp refill/drain
    for p in many:
        k.free_pages(p)
    while k.alloc_pages("GFP_KERNEL|__GFP_NOWARN", 9) is not None:    # a failure: pfn -1
        pass
    return k


def _check(rec: tp.Record, ev, k: km.Kernel) -> None:
    prof = k.profile
    v315 = prof.version == "3.15"
    f = ev.fields
    assert rec.event == ev.name
    assert rec.task == ev.comm and rec.pid == ev.pid and rec.cpu == ev.cpu
    assert rec.irq_flags == (ev.irq_flags[:4] if v315 else ev.irq_flags)
    assert rec.timestamp_us == ev.timestamp_ns // 1000
    assert rec.layout == ("3.x" if v315 else "6.x")
    if "call_site" in f:
        label = f["call_site"]
        if v315:
            assert rec.call_site_addr == call_site_address(label)
        else:
            assert rec.call_site == (label if "+" in label else f"{label}+0x0/0x0")
        assert rec.ptr == f["ptr"]
    if "bytes_req" in f:
        assert rec.bytes_req == f["bytes_req"]
        assert rec.bytes_alloc == f["bytes_alloc"]
    if "gfp_flags" in f:
        assert prof.gfp.value(kgfp.parse(rec.gfp_flags)) == k.gfp_value(f["gfp_flags"])
    if ev.name in ("kmalloc", "kmem_cache_alloc") and not v315:
        assert rec.node == f["node"]
        assert rec.accounted is bool(f["accounted"])
    if ev.name == "kmem_cache_free":
        assert rec.name == (None if v315 else f["name"])
    if "pfn" in f:
        pfn = f["pfn"]
        assert rec.pfn == max(pfn, 0)
        if pfn < 0:
            assert rec.page == 0
        else:
            assert rec.page == prof.vmemmap_start + pfn * prof.sizeof_struct_page
        order_key = "alloc_order" if ev.name == "mm_page_alloc_extfrag" else "order"
        assert rec.order == f[order_key]
    if "migratetype" in f:
        assert rec.migratetype == f["migratetype"]
    extra = {"percpu_refill", "fallback_order", "fallback_migratetype", "fragmenting",
             "change_ownership"}
    for key in extra & set(f):
        assert int(rec.fields[key]) == int(f[key]), key


@pytest.mark.parametrize("version", ["3.15", "6.12"])
def test_simulator_trace_parses_back_field_for_field(version: str) -> None:
    k = workload(version)
    text = k.trace.to_ftrace()
    rep = tp.ParseReport()
    recs = list(tp.iter_records(io.StringIO(text), rep))
    sim = [e for e in k.trace if e.name in tp.KMEM_EVENTS]
    assert rep.malformed_count == 0, rep.malformed[:3]
    assert len(recs) == len(sim)
    assert sum(rep.skipped_by_event.values()) == len(k.trace) - len(sim)
    names = {e.name for e in sim}
    assert {"kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "mm_page_alloc",
            "mm_page_free", "mm_page_alloc_zone_locked", "mm_page_pcpu_drain"} <= names
    assert any(e.name == "mm_page_alloc" and e["pfn"] < 0 for e in sim)       # failure
    assert any(e.name == "kmalloc" and e["ptr"] == 0 for e in sim)           # failure
    assert any(e.cpu == 1 for e in sim) and any(e.irq_flags[:4] != "...." for e in sim)
    for rec, ev in zip(recs, sim):
        _check(rec, ev, k)


def _null(rec: tp.Record) -> bool:
    return rec.ptr == 0 or rec.page == 0


@pytest.mark.parametrize("version", ["3.15", "6.12"])
def test_roundtrip_through_format_record(version: str) -> None:
    """traceparse.format_record writes a parsed line back exactly as the simulator did."""
    k = workload(version)
    lines = k.trace.to_ftrace(header=False).splitlines()
    recs = [(ln, tp.parse_line(ln)) for ln in lines]
    kmem = [(ln, rec) for ln, rec in recs if rec is not None and not _null(rec)]
    assert len(kmem) > 100
    for ln, rec in kmem:
        assert tp.format_record(rec, version) == ln


# The kernel prints a NULL %p as '          (null)' in 3.15 (lib/vsprintf.c: width
# 2*sizeof(void *)) and as '0000000000000000' in 6.x (ptr_to_id: a number).
@pytest.mark.parametrize("version", ["3.15", "6.12"])
def test_null_pointers_print_as_the_kernel_does(version: str) -> None:
    k = workload(version)
    lines = k.trace.to_ftrace(header=False).splitlines()
    nulls = [(ln, rec) for ln in lines if (rec := tp.parse_line(ln)) is not None and _null(rec)]
    assert len(nulls) == 3  # failed kmalloc, kfree(NULL), failed mm_page_alloc
    for ln, rec in nulls:
        assert tp.format_record(rec, version) == ln


@pytest.mark.parametrize("version", ["3.15", "6.12"])
def test_simulator_trace_replays_onto_a_fresh_kernel(version: str) -> None:
    """What one simulated kernel did, replayed on another of the same profile."""
    from kmemlab.replay import replay

    k = workload(version)
    r = replay(io.StringIO(k.trace.to_ftrace()), version=version, ram="64M", cpus=2,
               keep_trace=False)
    c = r.counters()
    assert c["errors"] == 0, r.errors
    assert c["unknown_frees"] == {"slab": 0, "page": 0}
    assert c["live_objects"] == 0
    assert c["size_class_differs"] == 0
    assert c["gfp_dropped"] == {}
