# ruff: noqa: E501  (trace lines are as long as the kernel prints them)
"""The fast paths of kmemlab.traceparse and kmemlab.replay give exactly what the general
path gives: the same records and printed fields, the same ParseReport, the same errors,
statistics and replay results.

The reference is the parser as it was before the fast path (tests/trace/
reference_traceparse.py, kmemlab/traceparse.py of commit 17c9f1a verbatim), read on the
real 6.12 and 6.1 boot traces and on hostile lines (odd spacing, tabs, non-ASCII text,
truncated lines, unknown events, overlong lines, CR/CRLF line ends, no final newline).
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from kmemlab import traceparse as tp
from kmemlab.kernel import Kernel
from kmemlab.replay import Replayer

HERE = Path(__file__).resolve().parent
BOOTS = HERE.parents[1] / "kmemlab" / "data" / "boots"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


ref = _load("reference_traceparse", HERE / "reference_traceparse.py")
HAND_TRACE = _load("trace_conftest", HERE / "conftest.py").HAND_TRACE

HOSTILE = [
    "            bash-100     [000] .....     1.000020: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000007000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false   ",
    "            bash-100     [000] .....     1.000021: kmalloc:  call_site=foo+0x10/0x40 ptr=ffff888000008000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    "            bash-100     [000] .....     1.000022:  kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000009000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    "            bash-100     [000] .....\t1.000023: kmalloc: call_site=foo+0x10/0x40 ptr=ffff88800000a000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    "            bash-100     [000] .....     1.000024: kmalloc: call_site=foo+0x10/0x40 ptr=ffff88800000b000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL\tnode=-1 accounted=false",
    "            bash-100     [000] .....     1.000025: kmalloc: call_site=foo+0x10/0x40 ptr=ffff88800000c000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false\t",
    "   caf\u00e9 bar-100     [001] .....     1.000026: kmalloc: call_site=foo+0x10/0x40 ptr=ffff88800000d000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    "   foo-1 bar-100     [001] .....     1.000027: kfree: call_site=qux+0x4/0x10 ptr=ffff88800000d000",
    "  jbd2/sda1-8-123    [001] .....     1.000028: kfree: call_site=qux+0x4/0x10 ptr=ffff888000007000",
    "            bash-100     [000] .....     1.000029: kmalloc: call_site=f\u00f6o+0x10/0x40 ptr=ffff88800000e000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    "            bash-100     [000] .....     1.000030: kmalloc: call_site=foo+0x10/0x40 ptr=ffff88800000f000 bytes_req=\u0661\u0662 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    "            bash-\u0661\u0660     [\u0660\u0661] .....     \u0661.000031: kfree: call_site=qux+0x4/0x10 ptr=ffff888000007000",
    "            bash-100     [000] .....     1.000031: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000010000 bytes_req=100 bytes_alloc=128",
    "            bash-100     [000] .....     1.000032: kmalloc: call_site=foo+0x10/0x40 ptr=ffff88800001",
    "            bash-100     [000] .....     1.000033: kmalloc:",
    "            bash-100     [000] .....     1.000034: kmalloc",
    "            bash-100     [000] .....     1.00",
    "            bash-100     [000] .....     1.000035: kmem_cache_free: call_site=qux+0x8/0x10 ptr=ffff888000004000 name=some cache name  ",
    "            bash-100     [000] .....     1.000036: kmem_cache_free: call_site=qux+0x8/0x10 ptr=ffff888000004000 name=tab\tname",
    "            bash-100     [000] .....     1.000037: kmem_cache_free: call_site=qux+0x8/0x10 ptr=ffff888000004000 name=",
    "            bash-100     [000] .....     1.000038: kfree: call_site=qux+0x4/0x10 ptr=          (null)",
    "            bash-100     [000] .....     1.000039: kfree: call_site=qux+0x4/0x10 ptr=(nil)",
    "            bash-100     [000] .....     1.000040: kfree: call_site=qux+0x4/0x10 ptr=0xffff888000001000",
    "            bash-100     [000] .....     1.000041: kfree: (qux+0x4) call_site=qux+0x4/0x10 ptr=ffff888000001000",
    "            bash-100     [000] .....     1.000042: mm_page_alloc: page=ffffea0000040000 pfn=4096 order=0 migratetype=0 gfp_flags=GFP_KERNEL",
    "            bash-100     [000] .....     1.000043: mm_page_alloc: page=(null) pfn=0 order=0 migratetype=0 gfp_flags=GFP_KERNEL",
    "            bash-100     [000] .....     1.000044: mm_page_alloc_zone_locked: page=ffffea0000040000 pfn=0x1000 order=2 migratetype=1 percpu_refill=1",
    "            bash-100     [000] .....     1.000045: mm_page_pcpu_drain: page=ffffea0000040000 pfn=0x1000 order=1 migratetype=1",
    "            bash-100     [000] .....     1.000046: mm_page_alloc_extfrag: page=ffffea0000040000 pfn=0x1000 alloc_order=0 fallback_order=3 pageblock_order=9 alloc_migratetype=0 fallback_migratetype=1 fragmenting=1 change_ownership=0",
    "            bash-100     [000] .....     1.000047: mm_page_free_batched: page=ffffea0000040000 pfn=0x1000 order=0 cold=1",
    "            bash-100 (  100) [000] .....     1.000048: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000011000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    "            bash-100     [000]     1.000049: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000012000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    "            bash-100  [000] d..1 1.000050: kmalloc_node: call_site=ffffffff8116d5a4 ptr=ffff888000013000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL|GFP_ZERO node=0",
    "            bash-100     [000] .....     1.000051: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000014000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1 accounted=maybe",
    "            bash-100     [000] .....     1.000052: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000015000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1 accounted=false extra=1",
    "            bash-100     [000] .....     1.000053: sched_switch: prev_comm=bash",
    "            bash-100     [000] .....     1.000054: kmalloc_tiny: call_site=foo",
    "CPU:1 [LOST 42 EVENTS]",
    "cpus=2",
    "",
    "     ",
    "\x0c",
    "            bash-100     [000] .....     1.000055: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000016000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1 accounted=false\x1c",
    "            bash-100     [000] .....     1.000056: kmalloc: call_site=foo+0x10/0x40\u00a0ptr=ffff888000017000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    "            bash-100     [000] .....     1.000057: kfree: call_site=qux+0x4/0x10 ptr=ffff888000011000\u2028",
    "    <...>-4242    [001] d.h2.  1234.567890: kfree: call_site=qux+0x4/0x10 ptr=ffff888000012000",
    "  kworker/u4:2-events_unbound-77     [001] .N...     1.000058: kfree: call_site=qux+0x4/0x10 ptr=ffff888000013000",
    "            bash-100     [000] .....     1.000059: kfree: call_site=qux+0x4/0x10 ptr=ffff88800001300 0",
    "            bash-100     [000] .....  1.000060: kfree: call_site=qux+0x4/0x10 ptr=ffff888000014000",
    "            bash-100     [000] 1.000061: kfree: call_site=qux+0x4/0x10 ptr=ffff888000015000",
    "            bash-100     [0000] ..... 1.000062: kfree: call_site=qux+0x4/0x10 ptr=ffff888000016000",
    "bash-100 [000] ..... 1.000063: kfree: call_site=qux+0x4/0x10 ptr=ffff888000017000",
    "            bash-100     [000] .....     1.000064: kfree: call_site=a:b ptr=ffff888000017000",
    "            bash-100     [000] .....     1.000065: kfree: call_site=x ptr=ffff888000017000 name=x: y",
    "            bash-100     [000] d.:1.     1.000066: kfree: call_site=x ptr=ffff888000017000",
    "      foo: bar-100     [000] .....     1.000067: kfree: call_site=x ptr=ffff888000017000",
    "            bash-100     [000] .....     1.000068: kfree: call_site=x ptr=ffff888000017000 ",
    "            bash-100     [000] .....     1.000069: kfree: call_site=x ptr=ffff88800001_7000",
    "            bash-100     [000] .....     1.000070: mm_page_free: page=ffffea0000040000 pfn=0x_1000 order=0",
    "            bash-100     [000] .....     1.000071: mm_page_free: page=ffffea0000040000 pfn=0x1000 order=+1",
    "x" * 70000,
    "            bash-100     [000] .....     1.000072: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000018000 bytes_req=8 bytes_alloc=8 gfp_flags=" + "G" * 70000,
    "            bash-100     [000] .....     1.000073: kfree: call_site=qux+0x4/0x10 ptr=ffff888000018000",
]
# CRLF, a lone CR and LF line ends, and a last line without one
HOSTILE_TEXT = (HAND_TRACE + "\r\n".join(HOSTILE[:5]) + "\r" + "\n".join(HOSTILE[5:])
                + "\n            bash-100     [000] .....     1.000099: kfree: call_site=qux+0x4/0x10 ptr=ffff888000001000")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("fast") / "hostile.txt"
    p.write_bytes(HOSTILE_TEXT.encode("utf-8"))
    return p


def _ref_items(path: Path, rep) -> list[tuple]:
    return [(r.event, r.lineno, r.line, r.context, r._body.groups())
            for r in ref.iter_records(path, rep, progress=False)]


def _report(rep) -> dict:
    d = rep.to_dict()
    d["complete"] = rep.complete
    d["max_malformed"] = rep.max_malformed
    return d


def _check_scan(path: Path) -> int:
    rep_ref, rep_new = ref.ParseReport(), tp.ParseReport()
    want = _ref_items(path, rep_ref)
    got = list(tp.scan_records(path, rep_new, progress=False))
    assert [g[:2] for g in got] == [w[:2] for w in want]
    for g, w in zip(got, want):
        # the line as Record.line gives it (the fast path keeps no end of line)
        assert (g[0], g[1], g[2].rstrip("\r\n"), g[3], g[4]) == w, w
    assert _report(rep_new) == _report(rep_ref)
    return len(got)


@pytest.mark.parametrize("version", ["6.12", "6.1"])
def test_scan_records_gives_the_reference_records_on_the_real_traces(version: str) -> None:
    assert _check_scan(BOOTS / version / "trace.txt.gz") > 100_000


def test_the_real_traces_take_the_fast_path() -> None:
    """Nearly every line of the real 6.12 boot trace is matched by the fast regexes
    (the equivalence above is then about them, not about the general path)."""
    fast = 0
    with gzip.open(BOOTS / "6.12" / "trace.txt.gz", "rt") as f:
        lines = [ln.rstrip("\n") for ln in f if ln[:1] != "#"]
    for line in lines:
        j = line.find(": ")
        k = line.rfind(" ", 0, j) + 1
        ev = line[j + 2:line.find(":", j + 2)]
        if tp._CTX_RE.fullmatch(line[:k]) and tp._FAST_RE[ev].match(line, k):
            fast += 1
    assert fast == len(lines) == 116_640


def test_scan_records_gives_the_reference_records_on_hostile_lines(hostile: Path) -> None:
    assert _check_scan(hostile) > 20


@pytest.mark.parametrize("line", HOSTILE + HAND_TRACE.splitlines())
def test_each_hostile_line_alone(tmp_path: Path, line: str) -> None:
    """Each line as the only line of a file (and so also its last, unterminated one):
    records, report and, for a file of nothing readable, the error message."""
    for text in (line, line + "\n", "# tracer: nop\n" + line + "\n"):
        p = tmp_path / "one.txt"
        p.write_bytes(text.encode("utf-8"))
        try:
            want = _ref_items(p, ref.ParseReport())
        except ref.TraceFormatError as exc:
            with pytest.raises(tp.TraceFormatError) as got:
                list(tp.scan_records(p, progress=False))
            assert str(got.value) == str(exc)
            continue
        _check_scan(p)
        new = tp.parse_line(line)
        old = ref.parse_line(line)
        assert (new is None) == (old is None)
        if new is not None:
            assert new.as_dict() == old.as_dict() and new.body_fields() == old._body.groups()
        assert len(want) <= 1


def test_records_of_iter_records_are_the_reference_records(hostile: Path) -> None:
    new = list(tp.iter_records(hostile, progress=False))
    old = list(ref.iter_records(hostile, progress=False))
    assert [r.as_dict() for r in new] == [r.as_dict() for r in old]
    assert [r.lineno for r in new] == [r.lineno for r in old]
    assert [repr(r) for r in new] == [repr(r) for r in old]


def test_iter_records_real_trace_sample_as_dict() -> None:
    path = BOOTS / "6.1" / "trace.txt.gz"
    new = tp.iter_records(path, progress=False)
    old = ref.iter_records(path, progress=False)
    for i, (a, b) in enumerate(zip(new, old)):
        if i % 97 == 0:
            assert a.as_dict() == b.as_dict() and a.line == b.line and a.body == b.body


def _bad_inputs(tmp_path: Path) -> dict[str, bytes]:
    good = HAND_TRACE.encode() * 200
    gz = gzip.compress(good)
    return {
        "empty": b"",
        "binary": b"\x00\x01\x02" * 100,
        "trace.dat": b"\x17\x08\x44tracing6" + b"\x00" * 100,
        "xz": b"\xfd7zXZ\x00" + b"\x00" * 50,
        "truncated gzip": gz[:len(gz) // 2],
        "corrupt gzip": gz[:40] + b"\xff" * 40 + gz[80:],
        "no ftrace lines": b"hello\nworld\n",
        "headers only": b"# tracer: nop\n#\n",
    }


@pytest.mark.parametrize("name", ["empty", "binary", "trace.dat", "xz", "truncated gzip",
                                  "corrupt gzip", "no ftrace lines", "headers only"])
def test_bad_input_gives_the_reference_message(tmp_path: Path, name: str) -> None:
    p = tmp_path / "bad"
    p.write_bytes(_bad_inputs(tmp_path)[name])
    try:
        want = _ref_items(p, ref.ParseReport())
    except ref.TraceFormatError as exc:
        for run in (lambda: list(tp.scan_records(p, progress=False)),
                    lambda: tp.trace_stats(p, progress=False),
                    lambda: Replayer(p, version="6.12").run()):
            with pytest.raises(tp.TraceFormatError) as got:
                run()
            assert str(got.value) == str(exc)
        return
    assert list(tp.scan_records(p, progress=False)) == want


# ---------------------------------------------------------------- statistics

def _ref_stats(path: Path, per_pointer: bool):
    st = ref.TraceStats(per_pointer=per_pointer)
    st.parse_report = ref.ParseReport()
    st.feed(ref.iter_records(path, st.parse_report, progress=False))
    return st


def _check_stats(path: Path, per_pointer: bool) -> None:
    old = _ref_stats(path, per_pointer)
    new = tp.trace_stats(path, per_pointer=per_pointer, progress=False)
    assert json.dumps(new.to_dict()) == json.dumps(old.to_dict())
    for sort in (None, "hit,bytes", "ptr", "order,migtype"):
        d_new = new.to_dict(lines=5, slab_sort=sort if tp.sort_keys_valid(sort, tp.SLAB_SORT_KEYS) else None,
                            page_sort=sort if tp.sort_keys_valid(sort, tp.PAGE_SORT_KEYS) else None)
        d_old = old.to_dict(lines=5, slab_sort=sort if ref.sort_keys_valid(sort, ref.SLAB_SORT_KEYS) else None,
                            page_sort=sort if ref.sort_keys_valid(sort, ref.PAGE_SORT_KEYS) else None)
        assert d_new == d_old
        for kw in ({}, {"alloc": True}, {"caller": False, "page": False}, {"slab": False}):
            assert new.report(sort=sort, lines=20, **kw) == old.report(sort=sort, lines=20, **kw)
    # feeding Records (TraceStats.add) gives the same as feeding scan tuples
    again = tp.TraceStats(per_pointer=per_pointer)
    again.parse_report = tp.ParseReport()
    again.feed(tp.iter_records(path, again.parse_report, progress=False))
    assert json.dumps(again.to_dict()) == json.dumps(new.to_dict())


@pytest.mark.parametrize("version", ["6.12", "6.1"])
def test_stats_are_the_reference_stats_on_the_real_traces(version: str) -> None:
    _check_stats(BOOTS / version / "trace.txt.gz", per_pointer=True)


def test_stats_are_the_reference_stats_on_hostile_lines(hostile: Path) -> None:
    _check_stats(hostile, per_pointer=True)
    _check_stats(hostile, per_pointer=False)


# -------------------------------------------------------------------- replay

def _state(r: Replayer) -> dict:
    k = r.kernel
    return {"counters": r.counters(), "summary": r.summary(),
            "proc": {n: k.proc(n) for n in ("buddyinfo", "slabinfo", "meminfo", "zoneinfo")},
            "ptr_map": r.ptr_map, "pfns": {real: p.pfn for real, p in r.pfn_map.items()},
            "errors": list(r.errors), "dmesg": list(k.dmesg)}


@pytest.mark.parametrize("version", ["6.12", "6.1"])
def test_replay_of_the_real_traces_prints_what_it_printed(version: str) -> None:
    """`kmemlab trace replay --json --show buddyinfo,slabinfo` then the summary, as
    printed before the fast path (tests/trace/data/replay_<version>.txt)."""
    path = BOOTS / version / "trace.txt.gz"
    k = Kernel(version=version, ram="1G", cpus=2)
    r = Replayer(path, k, keep_trace=False).run()
    text = (json.dumps(r.counters(), indent=2) + "\n"
            + "".join(f"\n/proc/{n} of the simulated kernel:\n" + k.proc(n)
                      for n in ("buddyinfo", "slabinfo"))
            + r.summary() + "\n")
    assert text == (HERE / "data" / f"replay_{version}.txt").read_text()


@pytest.mark.parametrize("version", ["6.12", "3.15"])
def test_replay_from_a_file_equals_replay_of_its_records(hostile: Path, version: str) -> None:
    """Step by step: the same last record, outcome ("why"), counters, and at the end
    the same kernel state, trace and dmesg, from the file (scan tuples) and from
    Records (the iterable path)."""
    a = Replayer(hostile, version=version, ram="64M", cpus=2)
    b = Replayer(list(tp.iter_records(hostile, progress=False)), version=version, ram="64M",
                 cpus=2)
    assert a.last is None and b.last is None
    while not a.done:
        assert a.step() == b.step() == 1
        assert a.last.as_dict() == b.last.as_dict() and a.last.lineno == b.last.lineno
        assert a.last_outcome == b.last_outcome
        assert a.counters() == b.counters()
    assert b.done
    assert _state(a) == _state(b)
    assert a.kernel.trace.to_ftrace() == b.kernel.trace.to_ftrace()


def test_replay_of_a_real_trace_prefix_equals_replay_of_its_records() -> None:
    path = BOOTS / "6.12" / "trace.txt.gz"
    recs = []
    for rec in tp.iter_records(path, progress=False):
        recs.append(rec)
        if len(recs) == 20_000:
            break
    a = Replayer(path, version="6.12", keep_trace=False)
    b = Replayer(recs, version="6.12", keep_trace=False)
    for _ in range(40):
        assert a.step(500) == b.step(500) == 500
        ca, cb = a.counters(), b.counters()
        assert ca.pop("done") is False and cb.pop("done") is (b.records == len(recs))
        assert a.last_outcome == b.last_outcome and ca == cb
        assert a.last.as_dict() == b.last.as_dict()
    sa, sb = _state(a), _state(b)
    for s in (sa, sb):
        s["counters"].pop("done")
        s.pop("summary")
    assert sa == sb


def test_replay_from_a_stream(hand_text: str) -> None:
    a = Replayer(io.BytesIO(hand_text.encode()), version="6.12").run()
    b = Replayer(list(tp.iter_records(io.StringIO(hand_text))), version="6.12").run()
    assert _state(a) == _state(b)


_GOOD = "            bash-100     [000] .....     1.000001: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000001000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false\n"


@pytest.mark.parametrize("text", [
    _GOOD * 5000 + "y" * (3 << 20) + "\n" + _GOOD * 5000,   # a line longer than a read
    _GOOD * 5000 + "y" * (3 << 20),                         # ... last, without a newline
    _GOOD * ((1 << 20) // len(_GOOD) + 3) + "x" * 65535 + "\n" + "x" * 65536 + "\n" + _GOOD,
    _GOOD.replace("\n", "\r\n") * 20000,                    # CRLF across read chunks
], ids=["3MiB-line", "3MiB-last-line", "64KiB-limit", "crlf"])
def test_lines_across_read_chunks(tmp_path: Path, text: str) -> None:
    p = tmp_path / "long.txt"
    with open(p, "w", newline="") as f:
        f.write(text)
    _check_scan(p)


# ------------------------------------------------------- the block path of trace_stats
# trace_stats() reads blocks of plain tracefs lines with numpy and accounts them with an
# engine over arrays (kmemlab/traceparse.py: _BlockStats, _BlockScan, _Engine); any block
# that is not entirely plain is read line by line and its records go to the same
# engine. Everything it gives must be what the reference gives record by record.

def _block_stats(path, per_pointer: bool = True):
    """trace_stats() and its reader (how many lines its block path read)."""
    return tp._trace_stats(path, 4096, per_pointer, False)


def _check_block(path: Path, per_pointer: bool = True, min_block: float = 0.0) -> None:
    """The block path's statistics, reports and ParseReport are the reference's."""
    new, reader = _block_stats(path, per_pointer)
    old = _ref_stats(path, per_pointer)
    assert json.dumps(new.to_dict()) == json.dumps(old.to_dict())
    for sort in (None, "hit,bytes", "ptr", "callsite", "order,migtype", "gfp", "frag,pingpong"):
        slab_sort = sort if tp.sort_keys_valid(sort, tp.SLAB_SORT_KEYS) else None
        page_sort = sort if tp.sort_keys_valid(sort, tp.PAGE_SORT_KEYS) else None
        assert new.to_dict(lines=7, slab_sort=slab_sort, page_sort=page_sort) == old.to_dict(
            lines=7, slab_sort=slab_sort, page_sort=page_sort)
        for kw in ({}, {"alloc": True}, {"caller": False}, {"slab": False}, {"page": False}):
            assert new.report(sort=sort, lines=11, **kw) == old.report(sort=sort, lines=11, **kw)
    assert _report(new.parse_report) == _report(old.parse_report)
    assert (new.live_objects, new.live_bytes, new.live_pages) == (
        old.live_objects, old.live_bytes, old.live_pages)
    assert new._live == old._live and new._live_pages == old._live_pages
    assert reader.block_lines >= min_block * new.parse_report.lines_read


@pytest.mark.parametrize("path", [BOOTS / "6.12" / "trace.txt.gz", BOOTS / "6.1" / "trace.txt.gz",
                                  HERE.parents[1] / "notebooks" / "data" / "kmem-trace-6.18-2s.txt.gz"],
                         ids=["6.12", "6.1", "6.18-2s"])
@pytest.mark.parametrize("per_pointer", [True, False], ids=["per-pointer", "totals"])
def test_block_path_gives_the_reference_stats_on_the_real_traces(path: Path, per_pointer: bool) -> None:
    """All lines but the header are read by the block path, and it gives the reference."""
    _check_block(path, per_pointer, min_block=0.9998)


def _canonical(comm: str, pid: int, cpu: int, flags: str, us: int, event: str, body: str,
               width: int = 5) -> str:
    """A line as trace_print_context() (6.x) writes it: "%16s-%-7d [%03d] " flags
    " %5lu.%06lu: " event ": " body."""
    return f"{comm:>16}-{pid:<7d} [{cpu:03d}] {flags} {us // 1_000_000:{width}d}.{us % 1_000_000:06d}: {event}: {body}"


_COMMS = ["bash", "<idle>", "kworker/u4:2", "jbd2/sda1-8", "Web Content", "a-1 b", "x:y", "(sd-pam)",
          "0123456789abcdef", "<...>"]
_SITES = ["do_getxattr+0x55/0x180", "__d_alloc+0x2d/0x230", "foo+0x10/0x40", "ffffffff8116d5a4",
          "getname_flags.part.0+0x24/0x1f0"]
_GFPS = ["GFP_KERNEL", "GFP_KERNEL|__GFP_ZERO", "GFP_ATOMIC|__GFP_NOWARN", "none", "GFP_NOFS|0x100000"]


def _random_trace(seed: int, n: int, hostile: float = 0.0, width: int = 5, base_us: int = 12_000_000_000) -> str:
    """n lines of random kmem events in the canonical layout, with few pointers and pfns
    (reallocation of live objects, frees of unknown, NULL and tiny pointers, failed
    allocations, ping-pong), and a share of HOSTILE lines that make their block go line
    by line."""
    import random
    rnd = random.Random(seed)
    ptrs = [rnd.randrange(1 << 64) for _ in range(40)] + [0, 8, 16, 17, 0xFFFF888000001000]
    pfns = [rnd.randrange(1 << 20) for _ in range(25)] + [0, 1]
    us = base_us
    out = ["# tracer: nop", "#"]
    for _ in range(n):
        if hostile and rnd.random() < hostile:
            out.append(rnd.choice(HOSTILE[:-3]))
            continue
        us += rnd.choice((0, 1, 7, 1000, 123_456))
        comm, pid, cpu = rnd.choice(_COMMS), rnd.choice((0, 1, 42, 9239, 1234567)), rnd.randrange(4)
        flags = rnd.choice((".....", "d..1.", "dNh2.", ".N.1."))
        r = rnd.random()
        if r < 0.55:
            ev = rnd.choice(("kmalloc", "kmem_cache_alloc", "kfree", "kmem_cache_free", "kfree"))
            ptr = rnd.choice(ptrs)
            cs = rnd.choice(_SITES)
            if ev in ("kfree", "kmem_cache_free"):
                body = f"call_site={cs} ptr={ptr:016x}" + (f" name={rnd.choice(('dentry', 'names_cache'))}"
                                                           if ev == "kmem_cache_free" else "")
            else:
                req = rnd.choice((8, 60, 100, 4096, 1120))
                alloc = max(req, rnd.choice((8, 64, 128, 4096, 1128)))
                name = f" name={rnd.choice(('dentry', 'kmalloc-64'))}" if ev == "kmem_cache_alloc" and rnd.random() < 0.5 else ""
                body = (f"call_site={cs} ptr={ptr:016x}{name} bytes_req={req} bytes_alloc={alloc} "
                        f"gfp_flags={rnd.choice(_GFPS)} node=-1 accounted={rnd.choice(('true', 'false'))}")
        else:
            ev = rnd.choice(("mm_page_alloc", "mm_page_alloc", "mm_page_free", "mm_page_free_batched",
                             "mm_page_alloc_zone_locked", "mm_page_pcpu_drain", "mm_page_alloc_extfrag"))
            pfn = rnd.choice(pfns)
            page = 0 if (ev == "mm_page_alloc" and rnd.random() < 0.1) else 0xFFFFEA0000000000 + pfn * 64
            head = f"page={page:016x} pfn=0x{pfn:x} "
            order = rnd.choice((0, 0, 1, 3, 9))
            mt = rnd.choice((0, 1, 2, 4))
            body = head + {
                "mm_page_alloc": f"order={order} migratetype={mt} gfp_flags={rnd.choice(_GFPS)}",
                "mm_page_free": f"order={order}",
                "mm_page_free_batched": "order=0",
                "mm_page_alloc_zone_locked": f"order={order} migratetype={mt} percpu_refill=1",
                "mm_page_pcpu_drain": f"order={order} migratetype={mt}",
                "mm_page_alloc_extfrag": (f"alloc_order={order} fallback_order=3 pageblock_order=9 alloc_migratetype=0 "
                                          f"fallback_migratetype={mt} fragmenting={rnd.randrange(2)} change_ownership=1"),
            }[ev]
        out.append(_canonical(comm, pid, cpu, flags, us, ev, body, width))
    return "\n".join(out) + "\n"


@pytest.fixture()
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read chunks of 16 KiB (blocks of 64 KiB): many block boundaries in a small file."""
    monkeypatch.setattr(tp, "_CHUNK", 1 << 14)


@pytest.mark.parametrize("seed", range(8))
def test_block_path_on_random_plain_traces(tmp_path: Path, small_chunks: None, seed: int) -> None:
    """Pointers and pfns reused across many blocks, every event, odd comms; seconds with
    leading spaces, 5 to 9 digits (the event column moves), 10 digits (not the block
    layout: line by line), and a block where the seconds grow a digit."""
    base, share = [(12_000_000_000, 0.99), (0, 0.99), (123_456_000_000, 0.99),
                   (1_234_567_000_000, 0.99), (12_345_678_000_000, 0.99),
                   (123_456_789_000_000, 0.99), (1_234_567_890_000_000, 0.0),
                   (99_990_000_000, 0.5)][seed]
    p = tmp_path / "plain.txt"
    p.write_text(_random_trace(seed, 6000, base_us=base))
    for per_pointer in (True, False):
        _check_block(p, per_pointer, min_block=share)


@pytest.mark.parametrize("seed", range(4))
def test_block_path_with_hostile_lines_between_plain_blocks(tmp_path: Path, small_chunks: None,
                                                            seed: int) -> None:
    """Hostile lines scattered among plain ones: their blocks go line by line, the others
    through numpy, the records of both to the same engine in file order."""
    p = tmp_path / "mixed.txt"
    p.write_text(_random_trace(100 + seed, 5000, hostile=(0.0005, 0.002, 0.01, 0.05)[seed]))
    for per_pointer in (True, False):
        _check_block(p, per_pointer)


def _plain_lines(n: int, seed: int = 7) -> list[str]:
    return _random_trace(seed, n).splitlines()[2:]


@pytest.mark.parametrize("where", ["first", "chunk-end", "chunk-start", "middle", "last"])
@pytest.mark.parametrize("line", HOSTILE[:-3], ids=range(len(HOSTILE) - 3))
def test_each_hostile_line_inside_plain_blocks(tmp_path: Path, small_chunks: None, line: str,
                                               where: str) -> None:
    """One hostile line at a block boundary or inside a block of plain lines (the last
    one without its newline)."""
    lines = _plain_lines(900)
    size = 0
    at = {"first": 0, "middle": 450, "last": len(lines)}.get(where)
    if at is None:   # the line that ends (or starts) past the first 16 KiB chunk
        for i, ln in enumerate(lines):
            size += len(ln) + 1
            if size >= 1 << 14:
                at = i if where == "chunk-end" else i + 1
                break
    lines.insert(at, line)
    text = "\n".join(lines) + ("" if where == "last" else "\n")
    p = tmp_path / "one.txt"
    p.write_bytes(text.encode("utf-8"))
    _check_block(p, True)


def test_block_path_with_the_hostile_file(hostile: Path) -> None:
    _check_block(hostile, True)
    _check_block(hostile, False)


@pytest.mark.parametrize("end", ["\r\n", "\r"])
def test_block_path_with_other_line_ends(tmp_path: Path, small_chunks: None, end: str) -> None:
    """CRLF and CR files: the text is translated before the block path sees it."""
    p = tmp_path / "crlf.txt"
    p.write_bytes(_random_trace(3, 3000).replace("\n", end).encode())
    _check_block(p, True, min_block=0.99)


def test_block_path_with_non_ascii_text(tmp_path: Path, small_chunks: None) -> None:
    """A block with one non-ASCII line (or bytes invalid in UTF-8) goes line by line."""
    lines = _plain_lines(3000)
    lines[100] = lines[100].replace("bash", "b\u00e4sh")
    text = "\n".join(lines) + "\n"
    data = text.encode("utf-8")
    data = data[:40_000] + b"\xff\xfe" + data[40_000:]
    p = tmp_path / "utf8.txt"
    p.write_bytes(data)
    _check_block(p, True)


@pytest.mark.parametrize("case", ["huge-size", "huge-ptr", "huge-cpu"])
def test_values_beyond_the_engine_go_to_tracestats(tmp_path: Path, small_chunks: None, case: str) -> None:
    """A record whose numbers do not fit the engine's arrays (a size past 31 bits, a
    pointer past 64 bits, a cpu past 31 bits): its block is read line by line and from
    there on (per pointer) the statistics are kept by TraceStats itself."""
    lines = _plain_lines(3000)
    bad = {
        "huge-size": lines[10].split(" bytes_req=")[0] + " bytes_req=99999999999 bytes_alloc=99999999999 gfp_flags=GFP_KERNEL node=-1 accounted=false",
        "huge-ptr": "            bash-100     [000] .....     1.000020: kmalloc: call_site=foo+0x10/0x40 ptr=1ffffffffffffffff0 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false",
        "huge-cpu": "            bash-100     [99999999999] .....     1.000020: kfree: call_site=foo+0x10/0x40 ptr=ffff888000007000",
    }[case]
    if case == "huge-size" and "bytes_req" not in lines[10]:
        bad = "            bash-100     [000] .....     1.000020: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000007000 bytes_req=99999999999 bytes_alloc=99999999999 gfp_flags=GFP_KERNEL node=-1 accounted=false"
    lines.insert(1500, bad)
    p = tmp_path / "big.txt"
    p.write_text("\n".join(lines) + "\n")
    for per_pointer in (True, False):
        _check_block(p, per_pointer)
    _, reader = _block_stats(p, True)
    assert reader.escaped


def test_block_path_on_text_streams(hand_text: str) -> None:
    """A text stream (no bytes to read) and a binary one: as from a file."""
    text = _random_trace(5, 4000)
    for src in (io.StringIO(text), io.BytesIO(text.encode())):
        new = tp.trace_stats(src, progress=False)
        old = ref.TraceStats()
        old.parse_report = ref.ParseReport()
        old.feed(ref.iter_records(io.StringIO(text), old.parse_report, progress=False))
        d_new, d_old = new.to_dict(), old.to_dict()
        d_new["parse"].pop("source")
        d_old["parse"].pop("source")
        assert d_new == d_old


@pytest.mark.parametrize("cut", [0.02, 0.13, 0.31, 0.5, 0.77, 0.95, 0.999])
@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_block_path_gzip_errors_give_the_reference_message(tmp_path: Path, cut: float, damage: str) -> None:
    """A truncated or corrupt gzip stream fails with the reference's message, the line
    number in it included: the block path reads the same chunks as the reference."""
    gz = (BOOTS / "6.12" / "trace.txt.gz").read_bytes()
    at = int(len(gz) * cut)
    data = gz[:at] if damage == "truncated" else gz[:at] + bytes(b ^ 0x5A for b in gz[at:at + 64]) + gz[at + 64:]
    p = tmp_path / "bad.gz"
    p.write_bytes(data)
    try:
        _ref_stats(p, False)
    except ref.TraceFormatError as exc:
        with pytest.raises(tp.TraceFormatError) as got:
            tp.trace_stats(p, per_pointer=False, progress=False)
        assert str(got.value) == str(exc)
    else:  # the damage did not hit the stream (its CRC is checked at the end)
        _check_block(p, False)


def _text_chunks(reader: Any) -> list[Any]:
    out: list[Any] = []
    try:
        while True:
            c = reader.read(1 << 20)
            if not c:
                break
            out.append(b"".join(c).decode("ascii") if isinstance(c, list) else c)
    except (EOFError, OSError, zlib.error) as exc:
        out.append((type(exc).__name__, str(exc)))
    return out


@pytest.mark.parametrize("kind", ["ascii", "crlf", "cr", "utf-8", "bad-utf-8", "cr-at-chunk-end"])
def test_raw_text_reads_what_textiowrapper_reads(kind: str) -> None:
    """_RawText (bytes for plain chunks) returns TextIOWrapper.read()'s characters in the
    same chunks, from the same read1() calls (gzip errors at the same chunk)."""
    base = gzip.decompress((BOOTS / "6.12" / "trace.txt.gz").read_bytes())[:(5 << 20) + 777]
    data = {
        "ascii": base, "crlf": base.replace(b"\n", b"\r\n"), "cr": base[:3 << 20].replace(b"\n", b"\r"),
        "utf-8": base[:2 << 20] + "\u00e9\u20ac\U0001f600".encode() * 300_000 + base[:100_000],
        "bad-utf-8": base[:(1 << 20) - 1] + b"\xe2\x82" + base[:1 << 20] + b"\xff\xfe\xe2",
        "cr-at-chunk-end": base[:(1 << 20) - 1] + b"\r\nabc" + base[:2 << 20],
    }[kind]
    gz = gzip.compress(data, 1)

    def opened(payload: bytes, zipped: bool) -> Any:
        raw = io.BufferedReader(io.BytesIO(payload))
        f = gzip.GzipFile(fileobj=raw, mode="rb") if zipped else raw
        try:
            f.peek(1 << 16)
        except (EOFError, OSError, zlib.error):
            pass
        return f

    for payload, zipped in ((data, False), (gz, True), (gz[:len(gz) // 3], True), (gz[:-9], True)):
        want = _text_chunks(io.TextIOWrapper(opened(payload, zipped), encoding="utf-8",
                                             errors="replace", newline=None))
        assert _text_chunks(tp._RawText(opened(payload, zipped))) == want


# ----------------------------------------------------------- kmemlab trace stats (CLI)

_CLI_OPTIONS = [[], ["--json"], ["--caller"], ["--alloc"], ["--caller", "--alloc"], ["--slab"],
                ["--page"], ["--slab", "--caller", "--alloc"], ["--sort", "hit"],
                ["--sort", "bytes,frag", "--caller"], ["--sort", "page,order", "--alloc"],
                ["--sort", "callsite,pingpong", "--caller", "--alloc"], ["-l", "5", "--caller", "--alloc"],
                ["--json", "--alloc", "-s", "ptr", "-l", "3"], ["--json", "--page", "-s", "gfp"],
                ["--page-size", "16384", "--alloc"], ["--sort", "bogus"], ["--sort", ","],
                ["--page-size", "3"]]


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], module: Any,
         args: list[str]) -> tuple[int, str, str]:
    from kmemlab import trace_cli
    from kmemlab.cli import main
    monkeypatch.setattr(trace_cli, "tp", module)
    rc = main(["trace", "stats", *args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("options", _CLI_OPTIONS, ids=[" ".join(o) or "default" for o in _CLI_OPTIONS])
def test_cli_prints_what_the_reference_prints(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str],
                                              options: list[str]) -> None:
    """`kmemlab trace stats` on the real 6.12 boot trace: stdout, stderr and exit code
    byte for byte those of the reference parser, with every option."""
    path = str(BOOTS / "6.12" / "trace.txt.gz")
    assert _cli(monkeypatch, capsys, tp, [path, *options]) == _cli(monkeypatch, capsys, ref, [path, *options])


@pytest.mark.parametrize("name", ["hostile", "mixed", "hand", "empty", "binary", "trace.dat",
                                  "truncated gzip", "corrupt gzip", "no ftrace lines", "headers only"])
def test_cli_on_hostile_and_bad_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str], name: str) -> None:
    """Warnings (malformed lines, lost events, no kmem events), errors (exit 2) and output
    as the reference's, on hostile and broken input."""
    p = tmp_path / "in"
    if name == "hostile":
        p.write_bytes(HOSTILE_TEXT.encode("utf-8"))
    elif name == "mixed":
        p.write_text(_random_trace(9, 20_000, hostile=0.003))
    elif name == "hand":
        p.write_text(HAND_TRACE)
    else:
        p.write_bytes(_bad_inputs(tmp_path)[name])
    for options in (["--json"], ["--caller", "--alloc"], []):
        assert (_cli(monkeypatch, capsys, tp, [str(p), *options])
                == _cli(monkeypatch, capsys, ref, [str(p), *options]))


def test_a_template_per_line_goes_to_tracestats(tmp_path: Path) -> None:
    """Nearly every line a new template (all sizes different): the block path gives up
    (it would parse each template once) and TraceStats accounts the rest itself."""
    import random
    rnd = random.Random(4)
    lines = [_canonical("bash", 100, i % 2, ".....", 1_000_000 * i, "kmalloc",
                        f"call_site=f{rnd.randrange(10**6)}+0x1/0x2 ptr={rnd.randrange(1 << 40):016x} "
                        f"bytes_req={rnd.randrange(1, 1 << 20)} bytes_alloc=1048576 gfp_flags=GFP_KERNEL "
                        "node=-1 accounted=false") for i in range(3000)]
    p = tmp_path / "many.txt"
    p.write_text("\n".join(_plain_lines(500) + lines + _plain_lines(500, seed=8)) + "\n")
    _, reader = _block_stats(p)
    assert reader.escaped
    _check_block(p, True)
    _check_block(p, False)


def test_a_trace_read_mostly_line_by_line_goes_to_tracestats(tmp_path: Path, small_chunks: None) -> None:
    """A layout the block path does not read (two spaces before the seconds): after
    20,000 lines read line by line, TraceStats accounts the rest itself."""
    text = "".join(
        f"            bash-{100 + i % 7:<7d} [00{i % 2}] .....  {i // 1000:5d}.{i % 1000:06d}: "
        + (f"kmalloc: call_site=foo+0x{i % 13:x}/0x40 ptr={0xFFFF888000000000 + (i % 512) * 64:016x} "
           f"bytes_req={i % 64 + 1} bytes_alloc=64 gfp_flags=GFP_KERNEL node=-1 accounted=false\n"
           if i % 2 == 0 else f"kfree: call_site=bar+0x1/0x2 ptr={0xFFFF888000000000 + ((i - 1) % 512) * 64:016x}\n")
        for i in range(30_000))
    p = tmp_path / "two-spaces.txt"
    p.write_text(text + _random_trace(1, 2000))
    _, reader = _block_stats(p)
    assert reader.escaped
    _check_block(p, True)


def test_cli_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`kmemlab trace stats -` (gzip on stdin)."""
    data = (BOOTS / "6.1" / "trace.txt.gz").read_bytes()

    def run(module: Any) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        return _cli(monkeypatch, capsys, module, ["-", "--caller"])

    assert run(tp) == run(ref)


@pytest.mark.parametrize("text", [
    _GOOD * 5000 + "y" * (3 << 20) + "\n" + _GOOD * 5000,   # a line longer than a read
    _GOOD * 5000 + "y" * (3 << 20),                         # ... last, without a newline
    _GOOD * ((1 << 20) // len(_GOOD) + 3) + "x" * 65535 + "\n" + "x" * 65536 + "\n" + _GOOD,
    _GOOD.replace("\n", "\r\n") * 20000,                    # CRLF across read chunks
    _GOOD * 7000 + "z" * 70000 + _GOOD * 100 + "w" * ((2 << 20) + 5) + "\n" + _GOOD * 9000,
], ids=["3MiB-line", "3MiB-last-line", "64KiB-limit", "crlf", "overlong-tails"])
def test_block_path_with_lines_across_read_chunks(tmp_path: Path, text: str) -> None:
    """Overlong lines (skipped to their end), lines across read chunks and blocks: the
    block path reads what _read_blocks reads."""
    p = tmp_path / "long.txt"
    with open(p, "w", newline="") as f:
        f.write(text)
    _check_block(p, True)
