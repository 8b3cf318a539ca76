"""Inputs: gzip, file objects, bad files (library and CLI), progress bar, memory bound."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from kmemlab import cli
from kmemlab import traceparse as tp
from kmemlab.traceparse import ParseReport, TraceFormatError, iter_records, read_records

# ------------------------------------------------------------------------- gzip


def test_gzip_detected_by_magic_not_name(tmp_path: Path, hand_text: str) -> None:
    p = tmp_path / "trace.txt"  # no .gz suffix on purpose
    p.write_bytes(gzip.compress(hand_text.encode()))
    recs, rep = read_records(p)
    plain, _ = read_records(io.StringIO(hand_text))
    assert [r.line for r in recs] == [r.line for r in plain]
    assert rep.malformed_count == 2


def test_file_objects_binary_and_text(tmp_path: Path, hand_text: str) -> None:
    recs_b, _ = read_records(io.BytesIO(hand_text.encode()))
    recs_t, _ = read_records(io.StringIO(hand_text))
    assert len(recs_b) == len(recs_t) == 17
    with open(tmp_path / "x.gz", "wb") as f:
        f.write(gzip.compress(hand_text.encode()))
    with open(tmp_path / "x.gz", "rb") as f:
        assert len(list(iter_records(f))) == 17
        assert not f.closed  # the caller's file stays theirs


def test_crlf_and_latin1_bytes(hand_text: str) -> None:
    data = hand_text.replace("\n", "\r\n").encode() + b"\xe9t\xe9 garbage\r\n"
    recs, rep = read_records(io.BytesIO(data))
    assert len(recs) == 17
    assert rep.malformed_count == 3


# -------------------------------------------------------------------- bad input

_LINES = "".join(f"            bash-1       [000] .....     1.{i:06d}: kfree: "
                 f"call_site=a+0x1/0x2 ptr={(i * 2654435761) % 2**48 | 2**63:016x}\n"
                 for i in range(3000))
BAD = {
    "garbage.bin": (bytes(range(256)) * 64, "binary data"),
    "empty.txt": (b"", "empty"),
    "truncated.gz": (gzip.compress(_LINES.encode())[:20000], "truncated or corrupt gzip"),
    "trace.dat": (b"\x17\x08\x44tracing6\x00\x00\x00" + bytes(100), "trace-cmd report"),
    "perf.data": (b"PERFILE2" + bytes(100), "perf script"),
    "nul-text.txt": (b"hello\x00world\n" * 10, "binary data"),
    "only-garbage.txt": (b"lorem ipsum\ndolor sit amet\n", "no ftrace event lines"),
    "gzip-of-binary.gz": (gzip.compress(bytes(range(256)) * 8), "binary data"),
    "empty.gz": (gzip.compress(b""), "empty"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_raises_trace_format_error(tmp_path: Path, name: str) -> None:
    data, message = BAD[name]
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(TraceFormatError, match=message) as exc:
        list(iter_records(p))
    assert str(p) in str(exc.value)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_cli_exits_2_and_writes_nothing(tmp_path: Path, name: str, capsys) -> None:
    data, message = BAD[name]
    p = tmp_path / name
    p.write_bytes(data)
    assert cli.main(["trace", "stats", str(p)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("kmemlab trace stats: error: ") and message in err
    assert err.count("\n") == 1


def test_missing_file(tmp_path: Path, capsys) -> None:
    assert cli.main(["trace", "stats", str(tmp_path / "nope.txt")]) == 2
    assert "cannot open" in capsys.readouterr().err


def test_garbage_lines_never_crash(hand_text: str) -> None:
    junk = "".join(f"{'[' * i}{']' * (i % 5)}-{i} : : kmalloc: ptr=\n" for i in range(200))
    rep = ParseReport()
    assert list(iter_records(io.StringIO(junk + hand_text), rep)) != []
    assert rep.malformed_count >= 200


def test_header_only_trace_is_empty_not_an_error(capsys, tmp_path: Path) -> None:
    p = tmp_path / "empty-trace.txt"
    p.write_text("# tracer: nop\n#\n# entries-in-buffer/entries-written: 0/0   #P:2\n")
    assert cli.main(["trace", "stats", "--json", str(p)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["slab"]["alloc_calls"] == 0
    assert "no kmem events" in err


# ------------------------------------------------------------------------- CLI


def test_cli_json_shape(hand_trace, capsys) -> None:
    assert cli.main(["trace", "stats", "--json", str(hand_trace)]) == 0
    out, err = capsys.readouterr()
    d = json.loads(out)
    for key in ("alloc_calls", "free_calls", "bytes_req", "bytes_alloc",
                "internal_fragmentation_pct", "by_callsite"):
        assert key in d["slab"]
    for key in ("alloc_calls", "free_calls", "by_order", "by_migratetype"):
        assert key in d["page"]
    assert d["slab"]["bytes_alloc"] == 608 and d["page"]["by_order"] == {"0": 1, "2": 1}
    assert isinstance(d["slab"]["by_callsite"], list)
    assert "skipped 2 malformed line(s), first at line 16" in err


def test_cli_tables_options(hand_trace, capsys) -> None:
    assert cli.main(["trace", "stats", "--caller", "--slab", "--sort", "hit",
                     "--lines", "1", str(hand_trace)]) == 0
    out = capsys.readouterr().out
    assert " foo+0x10/0x40 " in out and " baz+0x8/0x30 " not in out
    assert "SUMMARY (page allocator)" not in out
    assert cli.main(["trace", "stats", "--page", "--alloc", str(hand_trace)]) == 0
    out = capsys.readouterr().out
    assert "SUMMARY (SLAB allocator)" not in out and " PFN " in out
    assert cli.main(["trace", "stats", "--json", "--page", str(hand_trace)]) == 0
    assert set(json.loads(capsys.readouterr().out)) >= {"page", "layout"}


def test_cli_bad_sort_key(hand_trace, capsys) -> None:
    assert cli.main(["trace", "stats", "--sort", "size", str(hand_trace)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "unknown sort key 'size'" in err


def test_cli_stdin(monkeypatch, capsys, hand_text: str) -> None:
    class Stdin:
        buffer = io.BytesIO(hand_text.encode())

    monkeypatch.setattr("sys.stdin", Stdin)
    assert cli.main(["trace", "stats", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["slab"]["alloc_calls"] == 5


def test_cli_trace_without_subcommand(capsys) -> None:
    assert cli.main(["trace"]) == 2


# -------------------------------------------------------------------- progress


def test_progress_auto_is_off_without_a_terminal(monkeypatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert tp._make_progress(None, 1 << 40, "x") is None
    assert tp._make_progress(False, 1 << 40, "x") is None


def test_progress_forced_on_draws_on_stderr(monkeypatch, hand_trace) -> None:
    pytest.importorskip("tqdm")
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    assert len(list(iter_records(hand_trace, progress=True))) == 17
    assert "hand.txt" in err.getvalue()


def test_progress_off_when_tqdm_missing(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    assert tp._make_progress(True, 1 << 30, "x") is None


# ------------------------------------------------------------- bounded memory


def _million_lines(path: Path, n: int) -> None:
    """Write n kmem lines lazily (kmalloc/kfree pairs on two CPUs)."""
    def lines():
        for i in range(n // 2):
            ptr = 0xFFFF888000000000 + (i % 4096) * 64
            yield (f"            bash-{100 + i % 7:<7d} [00{i % 2}] .....  "
                   f"{i // 1000:5d}.{i % 1000:06d}: kmalloc: call_site=foo+0x{i % 13:x}/0x40 "
                   f"ptr={ptr:016x} bytes_req={i % 64 + 1} bytes_alloc=64 "
                   f"gfp_flags=GFP_KERNEL node=-1 accounted=false\n")
            yield (f"            bash-{100 + i % 7:<7d} [00{(i + 1) % 2}] .....  "
                   f"{i // 1000:5d}.{i % 1000:06d}: kfree: call_site=bar+0x1/0x2 "
                   f"ptr={ptr:016x}\n")
    with open(path, "w") as f:
        f.writelines(lines())


_RSS_SCRIPT = """
import json, resource, sys
from kmemlab import traceparse as tp
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rep = tp.ParseReport()
n = sum(1 for _ in tp.iter_records(sys.argv[1], rep, progress=False))
after_parse = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
st = tp.trace_stats(sys.argv[1], per_pointer=False, progress=False).to_dict()["slab"]
after_stats = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"n": n, "lines": rep.lines_read, "bad": rep.malformed_count,
                  "parse_kib": after_parse - before, "stats_kib": after_stats - before,
                  "allocs": st["alloc_calls"], "live": st["live_objects"],
                  "pingpong": st["pingpong"]}))
"""


@pytest.mark.slow
def test_one_million_lines_bounded_memory(tmp_path: Path) -> None:
    """A 1,000,000-line (~140 MB) trace is streamed in bounded memory.

    tracemalloc (Python allocations) is checked on the first 200,000 lines: it makes
    parsing ~12x slower, so the whole file is checked with the peak RSS
    (ru_maxrss, which also sees C allocations) of a fresh interpreter instead.
    """
    n = 1_000_000
    p = tmp_path / "big.txt"
    _million_lines(p, n)
    assert p.stat().st_size > 100 << 20
    tracemalloc.start()
    try:
        peaks = []
        last = None
        for count, rec in enumerate(iter_records(p, progress=False), 1):
            last = rec
            if count % 50_000 == 0:
                peaks.append(tracemalloc.get_traced_memory()[1])
                if count == 200_000:
                    break
    finally:
        tracemalloc.stop()
    assert last is not None and last.event == "kfree"
    assert max(peaks) < 50 << 20, f"peak traced memory {max(peaks) / 2**20:.1f} MiB"
    assert peaks[-1] < 2 * peaks[0] + (1 << 20), f"traced memory grows: {peaks}"

    proc = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(p)], capture_output=True,
                          text=True, timeout=120, check=True)
    d = json.loads(proc.stdout)
    assert d["n"] == d["lines"] == n and d["bad"] == 0
    assert d["parse_kib"] < 50 << 10, f"RSS grew by {d['parse_kib']} KiB while parsing"
    assert d["stats_kib"] < 50 << 10, f"RSS grew by {d['stats_kib']} KiB with statistics"
    assert d["allocs"] == n // 2 and d["live"] == 0 and d["pingpong"] == n // 2
