# ruff: noqa: E501  (trace lines are as long as the kernel prints them)
"""The replay's template and block paths (traceparse.scan_records(templates=True),
Replayer._step_rows) give what the replay gave before them: the reference is
kmemlab/replay.py of merge21 (tests/trace/reference_replay.py), which reads every line
with scan_records()' per-line path and converts the printed fields record by record.

Compared step by step (counters, the last record, its outcome, done) and at the end
(the simulated kernel's /proc files, maps, errors, dmesg, its own trace) on the
bundled real boot traces, on random traces in the 6.x tracefs layout (so most blocks
take the block path) with hostile lines among them, and when a read fails (truncated
gzip) or the simulator raises in the middle of a block.
"""

from __future__ import annotations

import gzip
import importlib.util
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from kmemlab import traceparse as tp
from kmemlab.replay import Replayer

HERE = Path(__file__).resolve().parent
BOOTS = HERE.parents[1] / "kmemlab" / "data" / "boots"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


ref = _load("reference_replay", HERE / "reference_replay.py")
HOSTILE = _load("fastpath_hostile", HERE / "test_trace_fastpath.py").HOSTILE


# ------------------------------------------------------------------ random traces

_COMMS = [("bash", 100), ("kworker/0:1", 30), ("<idle>", 0), ("Web Content", 4242),
          ("jbd2/sda1-8", 123), ("ls", 9239)]
_GFPS = ["GFP_KERNEL", "GFP_ATOMIC", "GFP_KERNEL|__GFP_ZERO", "GFP_NOWAIT",
         "GFP_KERNEL_ACCOUNT", "GFP_NOFS", "GFP_KERNEL|__GFP_WAIT", "GFP_ATOMIC|0x400",
         "GFP_HIGHUSER_MOVABLE", "__GFP_IO|__GFP_FS|__GFP_HARDWALL|__GFP_MOVABLE",
         "GFP_KERNEL|__GFP_COMP"]
_SIZES = [0, 8, 24, 64, 100, 192, 256, 1000, 4096, 5000, 9000, 70000]
_SITES = ["foo+0x10/0x40", "d_alloc+0x2c/0xa0", "getname_flags.part.0+0x24/0x1f0",
          "__d_alloc+0x2d/0x230", "ext4_alloc_inode+0x1f/0x190", "bar+0x4/0x10"]
_NAMES = ["names_cache", "dentry", "ext4_inode_cache", "some_cache", None]


def _random_lines(seed: int, n: int, hostile_at: tuple[int, ...] = ()) -> list[str]:
    """``n`` lines of the 6.x tracefs layout (trace_print_context: "%16s-%-7d [%03d] "
    + 5 flags + " %5lu.%06lu: "): slab and page events on a small pool of pointers and
    pfns (reuse without a free, frees of unknown objects), CPUs beyond the simulated
    two, NULL and ZERO_SIZE_PTR frees, flags without a counterpart; the lines of
    HOSTILE (and a header) inserted before the line numbers in ``hostile_at``."""
    rnd = random.Random(seed)
    # a few hundred bodies apart from the pointers, as in a real trace (a block of
    # nearly a template per line is read line by line)
    km = [(rnd.choice(_SITES), rnd.choice(_SIZES), rnd.choice(_GFPS), rnd.choice(("false", "true")))
          for _ in range(40)]
    kc = [(rnd.choice(_SITES), rnd.choice((32, 192, 1120, 4096)), rnd.choice(_NAMES),
           rnd.choice(_GFPS)) for _ in range(30)]
    pa = [(rnd.choice((0, 0, 0, 1, 3, 9)), rnd.choice((0, 1, 2)), rnd.choice(_GFPS))
          for _ in range(20)]
    ptrs = [0xffff888000000000 + 64 * i for i in range(400)]
    pfns = [0x10000 + 8 * i for i in range(200)]
    out = ["# tracer: nop", "#", "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION"]
    t = 12314.264747
    hostile = set(hostile_at)
    for i in range(n):
        if i in hostile:
            out.extend(HOSTILE)
            out.append("CPU:1 [LOST 12 EVENTS]")
        comm, pid = rnd.choice(_COMMS)
        cpu = rnd.choice((0, 0, 1, 1, 3))
        flags = rnd.choice((".....", "d..1.", "..s1."))
        t += rnd.random() / 1000
        head = f"{comm:>16}-{pid:<7} [{cpu:03d}] {flags} {t:12.6f}: "
        r = rnd.random()
        p = rnd.choice(ptrs)
        site = rnd.choice(_SITES)
        if r < 0.22:
            site, size, gfp, acc = rnd.choice(km)
            alloc = 0 if size == 0 else 1 << max(3, (size - 1).bit_length())
            body = (f"kmalloc: call_site={site} ptr={p:016x} bytes_req={size} bytes_alloc={alloc} "
                    f"gfp_flags={gfp} node=-1 accounted={acc}")
        elif r < 0.42:
            site, size, name, gfp = rnd.choice(kc)
            nm = f" name={name}" if name else ""
            body = (f"kmem_cache_alloc: call_site={site} ptr={p:016x}{nm} bytes_req={size} "
                    f"bytes_alloc={size} gfp_flags={gfp} node=-1 accounted=false")
        elif r < 0.60:
            q = rnd.choice((p, p, p, 0, 0x10))
            body = f"kfree: call_site={site} ptr={q:016x}"
        elif r < 0.76:
            name = rnd.choice(_NAMES) or "dentry"
            body = f"kmem_cache_free: call_site={site} ptr={p:016x} name={name}"
        elif r < 0.88:
            pfn = rnd.choice(pfns)
            page = 0 if rnd.random() < 0.02 else 0xffffea0000000000 + 64 * pfn
            order, mt, gfp = rnd.choice(pa)
            body = (f"mm_page_alloc: page={page:016x} pfn={pfn:#x} order={order} "
                    f"migratetype={mt} gfp_flags={gfp}")
        elif r < 0.97:
            pfn = rnd.choice(pfns)
            body = f"mm_page_free: page={0xffffea0000000000 + 64 * pfn:016x} pfn={pfn:#x} order={rnd.choice((0, 0, 1, 3))}"
        elif r < 0.985:
            pfn = rnd.choice(pfns)
            body = (f"mm_page_alloc_zone_locked: page={0xffffea0000000000 + 64 * pfn:016x} pfn={pfn:#x} "
                    "order=0 migratetype=1 percpu_refill=1")
        else:
            pfn = rnd.choice(pfns)
            body = f"mm_page_pcpu_drain: page={0xffffea0000000000 + 64 * pfn:016x} pfn={pfn:#x} order=0 migratetype=1"
        out.append(head + body)
    return out


@pytest.fixture(scope="module")
def random_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~45,000 lines (several read chunks): most blocks plain, two with hostile lines."""
    p = tmp_path_factory.mktemp("blocks") / "random.txt.gz"
    lines = _random_lines(7, 45_000, hostile_at=(14_000, 30_000))
    p.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))
    return p


def _kinds(path: Path) -> dict[str, int]:
    """How many records each path of scan_records(templates=True) read."""
    kinds = {"block": 0, "template": 0, "fields": 0}
    for item in tp.scan_records(path, templates=True, progress=False):
        if item[0] is None:
            kinds["block"] += len(item[4])
        else:
            kinds["template" if item[5] is not None else "fields"] += 1
    return kinds


# ------------------------------------------------------------------ parsing

def _value(text: str) -> int:
    return 0 if text.strip()[-1] == ")" else int(text, 16)


def _expand(items: Any) -> list[tuple[Any, ...]]:
    """scan_records(templates=True) items as scan_records() tuples (the varying fields
    as ints, so that a template's own ptr/page/pfn text is not compared)."""
    out = []
    for item in items:
        if item[0] is None:
            _, first, where, ctxs, tmpls, values = item
            for i, (c, t, v) in enumerate(zip(ctxs, tmpls, values)):
                out.append((t.event, first + i, where.line(first + i), c, t.fields, v))
        elif item[5] is not None:   # a line of a template
            out.append(item[:4] + (item[4].fields, item[5]))
        else:
            out.append(item)
    return [_norm(x) for x in out]


def _norm(item: tuple[Any, ...]) -> tuple[Any, ...]:
    ev, lineno, line, ctx, g = item[:5]
    value = item[5] if len(item) > 5 else None
    if tp.BODY_FIELDS[ev][0] == "page":
        if value is None:
            value = (_value(g[0]), int(g[1], 16) if g[1][:2] == "0x" else int(g[1]))
        return ev, lineno, line, ctx, g[2:], value
    if value is None:
        value = _value(g[2])
    return ev, lineno, line, ctx, g[:2] + g[3:], value


@pytest.mark.parametrize("which", ["6.12", "6.1", "random", "hostile", "hostile+overlong"])
def test_template_and_block_paths_read_what_the_line_path_reads(which: str, random_trace: Path,
                                                                 tmp_path: Path) -> None:
    if which == "random":
        path = random_trace
    elif which.startswith("hostile"):
        # an overlong line makes its whole read chunk go the general way (as before)
        bad = HOSTILE if "overlong" in which else [h for h in HOSTILE if len(h) < 1000]
        path = tmp_path / "hostile.txt"
        path.write_text("\n".join(_random_lines(3, 300) + bad + _random_lines(4, 300)) + "\n")
    else:
        path = BOOTS / which / "trace.txt.gz"
    want_rep, got_rep = tp.ParseReport(), tp.ParseReport()
    want = [_norm(x) for x in tp.scan_records(path, want_rep, progress=False)]
    got = _expand(tp.scan_records(path, got_rep, templates=True, progress=False))
    assert got == want
    assert got_rep.to_dict() == want_rep.to_dict()
    kinds = _kinds(path)
    if not which.startswith("hostile"):   # the paths under test did the reading
        assert kinds["block"] > 0.5 * len(want) and kinds["template"] > 0
    elif which == "hostile":
        assert kinds["template"] > 0.8 * len(want) and kinds["fields"] > 0


# ------------------------------------------------------------------ replay

def _state(r: Any) -> dict:
    k = r.kernel
    return {"counters": r.counters(), "summary": r.summary(),
            "proc": {n: k.proc(n) for n in ("buddyinfo", "slabinfo", "meminfo", "zoneinfo",
                                            "pagetypeinfo")},
            "ptr_map": r.ptr_map, "pfns": {real: p.pfn for real, p in r.pfn_map.items()},
            "pages": {real: (p.pfn, p.order, p.zone, p.owner, p.detail, p.gfp, p.migratetype,
                             p.caller) for real, p in r.pfn_map.items()},
            "errors": list(r.errors), "dmesg": list(k.dmesg), "last": r.last_outcome,
            "timeline": None if r.timeline is None else (r.timeline.x, r.timeline.series)}


def _same_step(a: Replayer, b: Any) -> None:
    assert a.counters() == b.counters()
    assert a.last_outcome == b.last_outcome
    assert a.done == b.done
    if b.last is None:
        assert a.last is None
    else:
        assert a.last.as_dict() == b.last.as_dict() and a.last.lineno == b.last.lineno


def _replay_both(path: Path, seed: int, **kw: Any) -> tuple[Replayer, Any]:
    a = Replayer(path, **kw)
    b = ref.Replayer(path, **kw)
    rnd = random.Random(seed)
    while not b.done:
        n = rnd.choice((1, 1, 2, 7, 100, 999, 4096, 6000, 20000))
        assert a.step(n) == b.step(n)
        _same_step(a, b)
    assert a.done and a.step(5) == 0
    return a, b


@pytest.mark.parametrize("version", ["6.12", "6.1"])
def test_replay_of_the_real_traces_equals_the_reference(version: str) -> None:
    a, b = _replay_both(BOOTS / version / "trace.txt.gz", 1, version=version, keep_trace=False,
                        sample_every=5000)
    assert _state(a) == _state(b)


@pytest.mark.parametrize("version,cpus,ram", [("6.12", 2, "64M"), ("6.1", 4, "1G"),
                                              ("3.15", 2, "64M"), ("6.18", 2, "256M")])
def test_replay_of_a_random_trace_equals_the_reference(random_trace: Path, version: str,
                                                       cpus: int, ram: str) -> None:
    a, b = _replay_both(random_trace, 2, version=version, cpus=cpus, ram=ram, sample_every=777)
    assert _state(a) == _state(b)
    assert a.kernel.trace.to_ftrace() == b.kernel.trace.to_ftrace()


@pytest.mark.parametrize("options", [{"slab": False}, {"pages": False}, {"named_caches": False}])
def test_replay_options_equal_the_reference(random_trace: Path, options: dict) -> None:
    a, b = _replay_both(random_trace, 3, version="6.12", ram="128M", keep_trace=False, **options)
    assert _state(a) == _state(b)


def test_replay_of_huge_numbers_equals_the_reference(tmp_path: Path) -> None:
    """Fields int() refuses (more digits than sys.int_info allows) are refused by the
    simulator's caller, on the template path as on the per-line path."""
    lines = _random_lines(5, 200)
    big = "9" * 5000
    lines.append(f"            bash-100     [000] .....     1.000001: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000001000 bytes_req={big} bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false")
    lines.append(f"            bash-100     [000] .....     1.000002: mm_page_alloc: page=ffffea0000040000 pfn={big} order=0 migratetype=0 gfp_flags=GFP_KERNEL")
    lines.append(f"            bash-100     [000] .....     1.000003: mm_page_free: page=ffffea0000040000 pfn=4096 order={big}")
    lines += lines[3:50]
    p = tmp_path / "big.txt"
    p.write_text("\n".join(lines) + "\n")
    a, b = _replay_both(p, 4, version="6.12", ram="64M")
    assert _state(a) == _state(b) and a.error_count > 0


def test_a_failed_read_leaves_the_reference_state(random_trace: Path, tmp_path: Path) -> None:
    data = gzip.decompress(random_trace.read_bytes())
    p = tmp_path / "cut.txt.gz"
    p.write_bytes(gzip.compress(data)[: len(gzip.compress(data)) * 2 // 3])
    for n in (1, 4096):
        a = Replayer(p, version="6.12", ram="128M")
        b = ref.Replayer(p, version="6.12", ram="128M")
        errors = []
        for r in (a, b):
            with pytest.raises(tp.TraceFormatError) as exc:
                while r.step(n):
                    pass
            errors.append(str(exc.value))
        assert errors[0] == errors[1]
        _same_step(a, b)
        assert _state(a) == _state(b)


class _Boom(Exception):
    pass


def test_an_exception_in_the_middle_of_a_block_leaves_the_reference_state(
        random_trace: Path) -> None:
    """An exception the replay does not count (here from kfree, the 3000th call) stops
    the replay after that record, as before; the replay then goes on from the next."""
    a = Replayer(random_trace, version="6.12", ram="128M")
    b = ref.Replayer(random_trace, version="6.12", ram="128M")
    for r in (a, b):
        k = r.kernel
        calls = [0]
        real_kfree = k.kfree

        def kfree(ptr: int, *, caller: str | None = None, _real=real_kfree, _calls=calls) -> None:
            _calls[0] += 1
            if _calls[0] in (3000, 3001, 9000):
                raise _Boom
            _real(ptr, caller=caller)

        k.kfree = kfree
    for _ in range(3):
        for r in (a, b):
            with pytest.raises(_Boom):
                r.run()
        _same_step(a, b)
    a.run()
    b.run()
    _same_step(a, b)
    assert _state(a) == _state(b)
