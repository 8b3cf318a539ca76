"""TraceStats against values computed by hand on conftest.HAND_TRACE.

Definitions from tools/perf/builtin-kmem.c: Frag = 100 - 100*req/alloc; ping-pong =
freed on another CPU than the one that allocated; pages keyed by pfn; failures =
NULL page. Hand computation (successful slab allocations):

  foo  0x1000 128/100 cpu0, 0x2000 64/60 cpu0, 0x1000 again 128/100 cpu0
  bar  0x3000 32/32 cpu1;  baz 0x4000 256/200 cpu0
  -> 5 allocs, req 492, alloc 608, frag 100 - 100*492/608 = 19.078947...
  frees: 0x1000 on cpu1 (ping-pong, foo), 0x2000 on cpu0, 0x9000 (before the trace),
  NULL (kfree(NULL)), 0x4000 on cpu1 (ping-pong, baz) -> freed 128+64+256 = 448
  live at the end: 0x3000 (32) and the second 0x1000 (128) -> 2 objects, 160 bytes
"""

from __future__ import annotations

import pytest

from kmemlab.traceparse import TraceStats, fragmentation, iter_records, trace_stats


def test_slab_totals(hand_trace) -> None:
    st = trace_stats(hand_trace)
    s = st.to_dict()["slab"]
    assert s["alloc_calls"] == 5
    assert s["alloc_failures"] == 1
    assert s["bytes_req"] == 492
    assert s["bytes_alloc"] == 608
    assert s["wasted_bytes"] == 116
    assert s["internal_fragmentation_pct"] == pytest.approx(100 - 100 * 492 / 608, abs=1e-6)
    assert s["free_calls"] == 5
    assert s["free_unknown"] == 1
    assert s["free_null"] == 1
    assert s["bytes_freed"] == 448
    assert s["pingpong"] == 2
    assert s["live_objects"] == 2 and s["live_bytes"] == 160
    assert s["frees_by_cache"] == {"baz_cache": 1}
    assert s["by_gfp"]["GFP_KERNEL"] == {"calls": 3, "bytes_alloc": 320}


def test_per_callsite_rows_sorted_like_perf(hand_trace) -> None:
    st = trace_stats(hand_trace)
    rows = st.to_dict()["slab"]["by_callsite"]
    # default perf sort frag,hit,bytes, largest first: baz 21.875%, foo 18.75%, bar 0%
    assert [r["callsite"] for r in rows] == ["baz+0x8/0x30", "foo+0x10/0x40", "bar+0x20/0x80"]
    foo = rows[1]
    assert foo == {"callsite": "foo+0x10/0x40", "total_alloc": 320, "per_alloc": 106,
                   "total_req": 260, "per_req": 86, "hits": 3, "pingpong": 1,
                   "frag_pct": 18.75, "live": 1, "live_bytes": 128}
    assert rows[0]["pingpong"] == 1 and rows[0]["live"] == 0
    assert rows[2]["frag_pct"] == 0.0 and rows[2]["live_bytes"] == 32
    by_hit = st.to_dict(sort="hit")["slab"]["by_callsite"]
    assert by_hit[0]["callsite"] == "foo+0x10/0x40"
    assert len(st.to_dict(lines=1)["slab"]["by_callsite"]) == 1


def test_per_pointer_rows(hand_trace) -> None:
    st = trace_stats(hand_trace)
    ptrs = {r["ptr"]: r for r in st.to_dict(sort="ptr")["slab"]["by_ptr"]}
    p = ptrs["0xffff888000001000"]
    assert (p["hits"], p["total_alloc"], p["total_req"], p["pingpong"]) == (2, 256, 200, 1)
    assert p["live"] == 1
    assert ptrs["0xffff888000002000"]["live"] == 0
    assert "0xffff888000009000" not in ptrs  # freed, never allocated in the trace


def test_page_statistics(hand_trace) -> None:
    st = trace_stats(hand_trace)
    p = st.to_dict()["page"]
    assert p["alloc_calls"] == 3
    assert p["alloc_failures"] == 1 and p["alloc_failure_bytes"] == 8 * 4096
    assert p["by_order"] == {"0": 1, "2": 1}
    assert p["by_migratetype"] == {"Unmovable": 1, "Movable": 1}
    assert p["by_order_migratetype"] == {"0": {"Unmovable": 1}, "2": {"Movable": 1}}
    assert p["free_calls"] == 2 and p["free_bytes"] == 4096 + 8192
    assert p["free_only_calls"] == 1 and p["free_only_bytes"] == 8192
    assert p["alloc_freed_calls"] == 1
    assert p["alloc_only_calls"] == 2
    assert p["free_batched_calls"] == 1
    assert p["live_allocations"] == 1 and p["live_pages"] == 4
    assert p["live_bytes"] == 4 * 4096
    gfp = {r["gfp_flags"]: r for r in p["by_gfp"]}
    assert gfp["GFP_KERNEL"]["frees"] == 1 and gfp["GFP_HIGHUSER_MOVABLE"]["hits"] == 1


def test_parse_report_attached(hand_trace) -> None:
    st = trace_stats(hand_trace)
    rep = st.to_dict()["parse"]
    assert rep["malformed_count"] == 2
    assert [m["line"] for m in rep["malformed"]] == [16, 17]
    assert rep["skipped_by_event"] == {"sched_switch": 1}
    assert rep["lines_read"] == 24
    assert st.layout == "6.x"


def test_text_report_like_perf(hand_trace) -> None:
    st = trace_stats(hand_trace)
    text = st.report(caller=True, alloc=True)
    assert " Callsite                           | Total_alloc/Per | Total_req/Per   | Hit" in text
    assert (" foo+0x10/0x40                      |       320/106   |       260/86    |"
            "        3 |         1 | 18.750%") in text
    assert "Internal fragmentation: 19.078947%" in text
    assert "Total bytes freed:     448" in text
    assert "Frees of objects allocated before the trace: 1" in text
    assert "Live at end of trace: 2 objects, 160 bytes" in text
    assert "Total allocation failures     :                1   [               32 KB ]" in text
    assert "Total free-only requests      :                1   [                8 KB ]" in text
    assert " Alloc Ptr " in text and " PFN " in text
    lines = st.report(caller=True, lines=1).splitlines()
    assert any(ln.startswith(" ...") for ln in lines)
    only_page = st.report(slab=False)
    assert "SLAB" not in only_page and "SUMMARY (page allocator)" in only_page


def test_fragmentation_definition() -> None:
    assert fragmentation(0, 0) == 0.0
    assert fragmentation(96, 128) == 25.0


def test_incremental_feeding_equals_one_shot(hand_trace) -> None:
    st = TraceStats()
    for rec in iter_records(hand_trace):
        st.add(rec)
    one = trace_stats(hand_trace).to_dict()
    inc = st.to_dict()
    one.pop("parse")
    assert inc == one


def test_real_sample_stats(sample_trace) -> None:
    d = trace_stats(sample_trace).to_dict()
    assert d["slab"]["alloc_calls"] == 80
    assert d["slab"]["free_calls"] == 80
    assert d["page"]["alloc_calls"] == 40
    assert d["page"]["by_order"] == {"0": 40}
    assert d["page"]["extfrag_calls"] == 5
    assert d["page"]["zone_locked_calls"] == 40
