"""Hostile input files (issue 15): every one gets a one-line error and a non-zero exit
code from the CLI (``kmemlab quiz check``: 1 for an invalid quiz, as the quiz CLI
documents; ``kmemlab trace``: 2), never a traceback, in bounded time and memory."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
import tracemalloc

import pytest

from kmemlab.cli import main

QUIZ_HEAD = "title: t\nquestions:\n"
NUMERIC = QUIZ_HEAD + "  - id: q1\n    type: numeric\n    prompt: p\n    answer: {}\n"

HOSTILE_QUIZZES = {
    "deep-flow": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(3000)) + "  " * 3000 + "x\n",
    "merge-key": QUIZ_HEAD + "  - &q {id: q1, type: numeric, prompt: p, answer: 1}\n"
                 "  - <<: {id: q2, type: numeric}\n    prompt: p\n    answer: 1\n",
    "merge-key-only": "base: {a: 1}\nother:\n  <<: {b: 2}\n",
    "alias": QUIZ_HEAD + "  - &q {id: q1, type: numeric, prompt: p, answer: 1}\n  - *q\n",
    "nul-bytes": QUIZ_HEAD + "  - id: q1\x00\n",
    "huge-int": NUMERIC.format("1" * 10000),
    "huge-exponent-float": NUMERIC.format("1e999999999"),
    "huge-exponent-string": NUMERIC.format("'1e999999999'"),
    "tolerance-inf": NUMERIC.format("8") + "    tolerance: .inf\n",
    "points-nan": NUMERIC.format("8") + "    points: .nan\n",
    "billion-laughs": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a]\n"
                      "c: [*b, *b, *b, *b, *b, *b, *b, *b]\n",
}


def _run(capsys, argv, *, trace_memory: bool = True):
    t0 = time.monotonic()
    peak = 0
    if trace_memory:
        tracemalloc.start()
    try:
        rc = main(argv)
        if trace_memory:
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        if trace_memory:
            tracemalloc.stop()
    out = capsys.readouterr()
    return rc, out.err, peak, time.monotonic() - t0


@pytest.mark.parametrize("name", sorted(HOSTILE_QUIZZES))
def test_hostile_quiz_file_is_one_line_error(tmp_path, capsys, name):
    p = tmp_path / f"{name}.yaml"
    p.write_text(HOSTILE_QUIZZES[name], encoding="utf-8")
    rc, err, _peak, _secs = _run(capsys, ["quiz", "check", "--seeds", "1", str(p)],
                                 trace_memory=False)
    assert rc in (1, 2), err
    assert "Traceback" not in err and err.strip(), err
    assert len(err.strip().splitlines()) <= 3, err     # one line per error found


def test_huge_and_binary_quiz_files(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (50 << 20) + b"\n")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(os.urandom(8192))
    for p in (big, binary):
        rc, err, peak, _ = _run(capsys, ["quiz", "check", str(p)])
        assert rc in (1, 2) and "Traceback" not in err and len(err.splitlines()) == 1, err
        assert peak < 16 << 20      # the size is checked before the file is read


def _trace_files(tmp):
    line = b" app-1 [000] ..... 1.000001: kfree: call_site=foo+0x1/0x2 ptr=0xffff888100000000\n"
    g = gzip.compress(line * 2000)
    files = {
        "binary": os.urandom(8192),
        "truncated.gz": g[: len(g) // 2],
        "nul-bytes": line.replace(b"ptr", b"p\x00tr") * 20,
        "bad-utf8": line.replace(b"foo", b"f\xe9\xff") * 20,
        "utf16": line.decode().encode("utf-16") * 5,
        "empty": b"",
    }
    out = {}
    for name, data in files.items():
        p = tmp / name
        p.write_bytes(data)
        out[name] = p
    return out


@pytest.fixture(scope="module")
def trace_files(tmp_path_factory):
    return _trace_files(tmp_path_factory.mktemp("traces"))


@pytest.mark.parametrize("name", ["binary", "truncated.gz", "nul-bytes", "utf16", "empty"])
@pytest.mark.parametrize("cmd", ["stats", "replay"])
def test_hostile_trace_file_is_one_line_error(trace_files, capsys, name, cmd):
    rc, err, _peak, _ = _run(capsys, ["trace", cmd, str(trace_files[name])],
                             trace_memory=False)
    assert rc == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_trace_file_with_a_100_mb_line_in_bounded_memory(tmp_path):
    long = tmp_path / "long-line"
    with open(long, "wb") as f:       # one 100 MB line
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            f.write(chunk)
        f.write(b"\n")
    # tracemalloc's peak, not ru_maxrss: a forked child starts with its parent's
    # high-water mark, which here is pytest's after the 50 MB quiz file
    code = ("import tracemalloc\ntracemalloc.start()\nfrom kmemlab.cli import main\n"
            f"rcs = [main(['trace', c, {str(long)!r}]) for c in ('stats', 'replay')]\n"
            "print(rcs, tracemalloc.get_traced_memory()[1] // 1024)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=600)
    rcs, peak_kib = r.stdout.rsplit(" ", 1)
    assert rcs.strip() == "[2, 2]", r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 2
    assert int(peak_kib) < 64 * 1024      # the line is never held whole (100 MB)


def test_trace_with_bad_encoding_is_read_with_replacement(trace_files, capsys):
    rc, err, _peak, _ = _run(capsys, ["trace", "stats", str(trace_files["bad-utf8"])])
    assert rc == 0 and "Traceback" not in err
