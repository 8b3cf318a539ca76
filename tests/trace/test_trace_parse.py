# ruff: noqa: E501  (trace lines are as long as the kernel prints them)
"""Golden tests: hand-written tracefs lines of every kmem event, 3.15 and 6.x layouts.

The 3.15 lines follow include/trace/events/kmem.h of 3.15 and the columns of
trace_print_context() in 3.15 ("%16s-%-5d [%03d] " + 4 irq-info chars + " %5lu.%06lu: ");
the 6.x lines follow the 6.12 format files recorded with notebooks/data's sample and "%16s-%-7d".
"""

from __future__ import annotations

import io

import pytest

from kmemlab.traceparse import (
    KMEM_EVENTS,
    ParseReport,
    format_record,
    iter_records,
    parse_gfp_string,
    parse_line,
    read_records,
)

L315 = {
    "kmalloc": "            bash-1234  [001] d..1  1234.567890: kmalloc: call_site=ffffffff811c8a4e ptr=ffff88003d4f2c00 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL|GFP_ZERO",
    "kmalloc_node": "            bash-1234  [001] ....  1234.567891: kmalloc_node: call_site=ffffffff8152d0c6 ptr=ffff88003c1e8000 bytes_req=2048 bytes_alloc=2048 gfp_flags=GFP_KERNEL node=0",
    "kfree": "            bash-1234  [001] ....  1234.567892: kfree: call_site=ffffffff811c8b10 ptr=ffff88003d4f2c00",
    "kmem_cache_alloc": "            bash-1234  [001] ....  1234.567893: kmem_cache_alloc: call_site=ffffffff811f0a2d ptr=ffff88003a5c6e40 bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL",
    "kmem_cache_alloc_node": "            bash-1234  [001] ....  1234.567894: kmem_cache_alloc_node: call_site=ffffffff81584c72 ptr=ffff88003b2d8300 bytes_req=256 bytes_alloc=256 gfp_flags=GFP_ATOMIC|0x1 node=1",
    "kmem_cache_free": "            bash-1234  [001] ....  1234.567895: kmem_cache_free: call_site=ffffffff811f0b6e ptr=ffff88003a5c6e40",
    "mm_page_alloc": "            bash-1234  [001] d...  1234.567896: mm_page_alloc: page=ffffea00003968c0 pfn=58787 order=0 migratetype=2 gfp_flags=GFP_HIGHUSER_MOVABLE",
    "mm_page_free": "            bash-1234  [001] ....  1234.567898: mm_page_free: page=ffffea00003968c0 pfn=58787 order=0",
    "mm_page_free_batched": "            bash-1234  [001] ....  1234.567899: mm_page_free_batched: page=ffffea0000396900 pfn=58788 order=0 cold=1",
    "mm_page_alloc_zone_locked": "            bash-1234  [001] d..1  1234.567900: mm_page_alloc_zone_locked: page=ffffea0000396940 pfn=58789 order=0 migratetype=2 percpu_refill=1",
    "mm_page_pcpu_drain": "     kworker/1:2-77    [001] d..2  1234.567901: mm_page_pcpu_drain: page=ffffea0000396980 pfn=58790 order=0 migratetype=1",
    "mm_page_alloc_extfrag": "            bash-1234  [001] d..1  1234.567902: mm_page_alloc_extfrag: page=ffffea0000380000 pfn=57344 alloc_order=0 fallback_order=9 pageblock_order=9 alloc_migratetype=0 fallback_migratetype=2 fragmenting=0 change_ownership=0",
}
# A failed order-3 allocation in 3.15: %p of NULL is "(null)" right-aligned to 16 columns.
L315_FAIL = "          <idle>-0     [000] d.s.  1234.567897: mm_page_alloc: page=          (null) pfn=0 order=3 migratetype=0 gfp_flags=GFP_ATOMIC|GFP_NOWARN|GFP_COMP"

L6 = {
    "kmalloc": "     kworker/0:1-25      [000] .....   100.000001: kmalloc: call_site=alloc_fdtable+0x6a/0x120 ptr=ffff9c4ec2a1f000 bytes_req=1000 bytes_alloc=1024 gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_NOWARN node=-1 accounted=true",
    "kmem_cache_alloc": "            bash-812     [001] .....   100.000002: kmem_cache_alloc: call_site=getname_flags.part.0+0x29/0x1b0 ptr=ffff9c4ec3b2c000 bytes_req=4096 bytes_alloc=4096 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    "kfree": "            bash-812     [001] .....   100.000003: kfree: call_site=0xffffffffc0a01234 ptr=ffff9c4ec2a1f000",
    "kmem_cache_free": "            bash-812     [001] .....   100.000004: kmem_cache_free: call_site=putname+0x54/0x60 ptr=ffff9c4ec3b2c000 name=names_cache",
    "mm_page_alloc": "            bash-812     [001] .....   100.000005: mm_page_alloc: page=fffff49b00c66200 pfn=0x31988 order=2 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_COMP",
    "mm_page_free": "            bash-812     [001] .....   100.000006: mm_page_free: page=fffff49b00c66200 pfn=0x31988 order=2",
    "mm_page_free_batched": "            find-154     [000] ...2.   100.000007: mm_page_free_batched: page=fffff49b00bf0dc0 pfn=0x2fc37 order=0",
    "mm_page_alloc_zone_locked": "            init-1       [000] d..3.   100.000008: mm_page_alloc_zone_locked: page=fffff49b00129d80 pfn=0x4a76 order=0 migratetype=0 percpu_refill=1",
    "mm_page_pcpu_drain": "     kworker/0:2-44      [000] d..2.   100.000009: mm_page_pcpu_drain: page=fffff49b00129dc0 pfn=0x4a77 order=0 migratetype=1",
    "mm_page_alloc_extfrag": "            init-1       [000] d..3.   100.000010: mm_page_alloc_extfrag: page=fffff49b000e0000 pfn=0x3800 alloc_order=0 fallback_order=10 pageblock_order=9 alloc_migratetype=0 fallback_migratetype=1 fragmenting=0 change_ownership=1",
}
L6_FAIL = "            bash-812     [001] .....   100.000011: mm_page_alloc: page=0000000000000000 pfn=0x0 order=4 migratetype=0 gfp_flags=GFP_NOWAIT|__GFP_NORETRY|__GFP_COMP"


def test_every_kmem_event_has_a_315_golden_line() -> None:
    assert set(L315) == KMEM_EVENTS


@pytest.mark.parametrize("event", sorted(L315))
def test_315_lines_parse_and_write_back_identically(event: str) -> None:
    rec = parse_line(L315[event] + "\n")
    assert rec is not None and rec.event == event
    assert rec.task == ("kworker/1:2" if event == "mm_page_pcpu_drain" else "bash")
    assert rec.cpu == 1
    assert rec.layout == "3.x"
    assert format_record(rec, "3.15") == L315[event]


@pytest.mark.parametrize("event", sorted(L6))
def test_6x_lines_parse_and_write_back_identically(event: str) -> None:
    rec = parse_line(L6[event])
    assert rec is not None and rec.event == event
    assert rec.layout == "6.x"
    assert format_record(rec, "6.12") == L6[event]


def test_315_kmalloc_fields() -> None:
    r = parse_line(L315["kmalloc"])
    assert r is not None
    assert (r.task, r.pid, r.cpu, r.irq_flags) == ("bash", 1234, 1, "d..1")
    assert r.timestamp == pytest.approx(1234.567890)
    assert r.timestamp_us == 1234_567890
    assert r.call_site == "ffffffff811c8a4e" and r.call_site_addr == 0xFFFFFFFF811C8A4E
    assert r.ptr == 0xFFFF88003D4F2C00
    assert (r.bytes_req, r.bytes_alloc) == (100, 128)
    assert r.gfp_flags == "GFP_KERNEL|GFP_ZERO"
    assert r.gfp is not None and r.gfp.names == ("GFP_KERNEL", "GFP_ZERO")
    assert r.node is None and r.accounted is None and r.name is None
    assert r.pfn is None and r.order is None


def test_315_node_events_and_leftover_gfp_bits() -> None:
    r = parse_line(L315["kmalloc_node"])
    assert r is not None and r.node == 0
    r = parse_line(L315["kmem_cache_alloc_node"])
    assert r is not None and r.node == 1
    assert r.gfp is not None and r.gfp.names == ("GFP_ATOMIC",) and r.gfp.unknown == 0x1


def test_315_page_events() -> None:
    r = parse_line(L315["mm_page_alloc"])
    assert r is not None
    assert (r.page, r.pfn, r.order, r.migratetype) == (0xFFFFEA00003968C0, 58787, 0, 2)
    r = parse_line(L315["mm_page_free_batched"])
    assert r is not None and r.fields["cold"] == "1" and r.order == 0
    r = parse_line(L315["mm_page_alloc_zone_locked"])
    assert r is not None and r.fields["percpu_refill"] == "1" and r.migratetype == 2
    r = parse_line(L315["mm_page_pcpu_drain"])
    assert r is not None and (r.pid, r.pfn, r.migratetype) == (77, 58790, 1)
    r = parse_line(L315["mm_page_alloc_extfrag"])
    assert r is not None
    assert (r.order, r.migratetype, r.pfn) == (0, 0, 57344)
    assert r.fields["fallback_order"] == "9" and r.fields["fallback_migratetype"] == "2"


def test_315_failed_page_alloc_prints_padded_null() -> None:
    r = parse_line(L315_FAIL)
    assert r is not None
    assert r.task == "<idle>" and r.pid == 0 and r.irq_flags == "d.s."
    assert r.page == 0 and r.pfn == 0 and r.order == 3
    assert format_record(r, "3.15") == L315_FAIL


def test_6x_fields() -> None:
    r = parse_line(L6["kmalloc"])
    assert r is not None
    assert r.task == "kworker/0:1" and r.pid == 25
    assert r.call_site == "alloc_fdtable+0x6a/0x120" and r.call_site_addr is None
    assert r.node == -1 and r.accounted is True
    assert r.gfp is not None and r.gfp.names == ("GFP_KERNEL_ACCOUNT", "__GFP_NOWARN")
    r = parse_line(L6["kfree"])
    assert r is not None and r.call_site_addr == 0xFFFFFFFFC0A01234
    r = parse_line(L6["kmem_cache_free"])
    assert r is not None and r.name == "names_cache"
    r = parse_line(L6["mm_page_alloc"])
    assert r is not None and (r.pfn, r.order, r.migratetype) == (0x31988, 2, 1)
    r = parse_line(L6["mm_page_free_batched"])
    assert r is not None and r.irq_flags == "...2." and "cold" not in r.fields
    r = parse_line(L6_FAIL)
    assert r is not None and r.page == 0 and r.pfn == 0
    assert format_record(r, "6.12") == L6_FAIL


def test_cross_layout_conversion_keeps_the_values() -> None:
    """3.15 -> 6.12 -> parse and 6.12 -> 3.15 -> parse keep every typed value."""
    keys = ("task", "pid", "cpu", "timestamp", "call_site_addr", "ptr", "bytes_req",
            "bytes_alloc", "gfp_flags", "page", "pfn", "order", "migratetype")
    for line in [*L315.values(), L315_FAIL, *L6.values(), L6_FAIL]:
        rec = parse_line(line)
        assert rec is not None
        for layout in ("3.15", "6.12"):
            back = parse_line(format_record(rec, layout))
            assert back is not None, (layout, line)
            for k in keys:
                assert getattr(back, k) == getattr(rec, k), (layout, k, line)


def test_node_events_map_between_versions() -> None:
    """6.1 dropped kmalloc_node: it prints as kmalloc with node=; back in 3.15 it is _node."""
    r = parse_line(L315["kmalloc_node"])
    assert r is not None
    six = format_record(r, "6.12")
    assert " kmalloc: " in six and six.endswith("node=0 accounted=false")
    back = parse_line(six)
    assert back is not None
    assert " kmalloc_node: " in format_record(back, "3.15")
    r = parse_line(L6["kmalloc"])  # node=-1: a plain kmalloc in 3.15
    assert r is not None and " kmalloc: " in format_record(r, "3.15")
    with pytest.raises(ValueError, match="layout"):
        format_record(r, "2.6")


def test_header_variants() -> None:
    """TGID column (options/record-tgid), no irq-info column, comm with '-' and spaces."""
    tgid = "            bash-1234    (   1234) [001] .....  1234.567892: kfree: call_site=x+0x1/0x2 ptr=ffff88003d4f2c00"
    noflags = "  systemd-journal-301     [000]   1234.567892: kfree: call_site=x+0x1/0x2 ptr=ffff88003d4f2c00"
    spaces = "     Web Content-4242    [000] .....  1234.567892: kfree: call_site=x+0x1/0x2 ptr=ffff88003d4f2c00"
    r = parse_line(tgid)
    assert r is not None and (r.task, r.pid, r.cpu) == ("bash", 1234, 1)
    r = parse_line(noflags)
    assert r is not None and (r.task, r.pid, r.irq_flags) == ("systemd-journal", 301, None)
    r = parse_line(spaces)
    assert r is not None and (r.task, r.pid) == ("Web Content", 4242)


TRACE_CMD = """\
cpus=2
version = 6
CPU 1 is empty
            bash-1234  [001]  1234.567890: kmalloc:              call_site=ffffffff811c8a4e ptr=0xffff88003d4f2c00 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL|GFP_ZERO
  bash-1234  [001] d..1  1234.567891: kfree:  call_site=ffffffff811c8b10 ptr=(nil)
            bash-1234  [001]  1234.567892: kmalloc:              (tty_buffer_alloc+0x3b) call_site=ffffffff8130f40b ptr=0xffff88003b8a3400 bytes_req=1024 bytes_alloc=1024 gfp_flags=GFP_ATOMIC|GFP_NOWARN
            bash-1234  [000] d..1.  1234.567893123: mm_page_alloc:        page=0xffffea00003968c0 pfn=58787 order=0 migratetype=2 gfp_flags=GFP_HIGHUSER_MOVABLE
CPU:0 [LOST 42 EVENTS]
            bash-1234  [000]  1234.567894: sched_switch:         prev_comm=bash prev_pid=1234
"""


def test_trace_cmd_report_lines() -> None:
    rep = ParseReport()
    recs = list(iter_records(io.StringIO(TRACE_CMD), rep))
    assert [r.event for r in recs] == ["kmalloc", "kfree", "kmalloc", "mm_page_alloc"]
    assert recs[0].ptr == 0xFFFF88003D4F2C00 and recs[0].bytes_alloc == 128
    assert recs[1].ptr == 0 and recs[1].irq_flags == "d..1"
    assert recs[2].call_site_symbol == "tty_buffer_alloc+0x3b"
    assert recs[2].call_site == "ffffffff8130f40b"
    assert recs[3].timestamp_us == 1234_567893 and recs[3].pfn == 58787
    assert rep.malformed_count == 0
    assert rep.header_lines == 4
    assert rep.lost_events == 42
    assert rep.skipped_by_event == {"sched_switch": 1}


def test_gfp_strings() -> None:
    g = parse_gfp_string("GFP_KERNEL|__GFP_ZERO|0x100000")
    assert g.names == ("GFP_KERNEL", "__GFP_ZERO") and g.unknown == 0x100000
    assert parse_gfp_string("none").names == ()
    assert parse_gfp_string("GFP_NOWAIT").names == ("GFP_NOWAIT",)  # 3.15's zero
    assert g.convert(lambda names, extra: (len(names), extra)) == (2, 0x100000)


def test_real_sample_every_event(sample_trace) -> None:
    recs, rep = read_records(sample_trace)
    assert rep.lines_read == 337
    assert rep.header_lines == 12
    assert rep.malformed_count == 0 and rep.malformed == []
    assert rep.skipped_by_event == {}
    assert rep.records == len(recs) == 325
    expected = {"kmalloc": 40, "kmem_cache_alloc": 40, "kfree": 40, "kmem_cache_free": 40,
                "mm_page_alloc": 40, "mm_page_free": 40, "mm_page_free_batched": 40,
                "mm_page_alloc_zone_locked": 40, "mm_page_alloc_extfrag": 5}
    assert rep.records_by_event == expected
    assert all(r.layout == "6.x" for r in recs)
    first = recs[0]
    assert first.as_dict()["call_site"] == "__rb_allocate_pages+0x15c/0x380"
    assert first.node == 0 and first.accounted is False
    frees = [r for r in recs if r.event == "kmem_cache_free"]
    assert {r.name for r in frees} == {"vmap_area", "ftrace_event_field", "Acpi-State"}


def test_real_sample_round_trips_byte_for_byte(sample_trace) -> None:
    lines = [ln.rstrip("\n") for ln in sample_trace.read_text().splitlines()
             if not ln.startswith("#")]
    recs, _ = read_records(sample_trace)
    assert [format_record(r, "6.12") for r in recs] == lines
    for r in recs:  # and through the 3.15 layout, values kept
        back = parse_line(format_record(r, "3.15"))
        assert back is not None
        assert (back.ptr, back.pfn, back.order, back.bytes_alloc) == (
            r.ptr, r.pfn, r.order, r.bytes_alloc)


def test_events_filter_and_overlong_line() -> None:
    text = L6["kfree"] + "\n" + "x" * 70000 + "\n" + L6["mm_page_free"] + "\n"
    rep = ParseReport()
    recs = list(iter_records(io.StringIO(text), rep, events=["mm_page_free"]))
    assert [r.event for r in recs] == ["mm_page_free"]
    assert rep.skipped_by_event == {"kfree": 1}
    assert rep.malformed_count == 1 and rep.malformed[0][0] == 2
    assert rep.lines_read == 3


def test_malformed_list_is_capped_but_counted() -> None:
    text = "".join(f"garbage {i}\n" for i in range(50)) + L6["kfree"] + "\n"
    rep = ParseReport()
    recs = list(iter_records(io.StringIO(text), rep))
    assert len(recs) == 1
    assert rep.malformed_count == 50 and len(rep.malformed) == 20
    assert rep.malformed[0] == (1, "garbage 0")
    assert "50 malformed" in rep.summary()
