# ruff: noqa: E501  (trace lines are as long as the kernel prints them)
"""Replay of kmem traces through a simulated kernel (kmemlab.replay).

Hand-written traces have outcomes computed by hand; the real 6.12 sample is replayed
on both the 6.12 and 3.15 profiles.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

import kmemlab as km
from kmemlab import gfp as kgfp
from kmemlab import traceparse as tp
from kmemlab.replay import CacheTimeline, Replayer, replay, translate_gfp
from kmemlab.trace_cli import register

HEAD = "# tracer: nop\n#\n"


def line(ev: str, body: str, cpu: int = 0, ts: str = "1.000001", task: str = "bash-100") -> str:
    return f"{task:>16}     [{cpu:03d}] .....     {ts}: {ev}: {body}\n"


def kmalloc(ptr: int, req: int, alloc: int, gfp: str = "GFP_KERNEL", cpu: int = 0,
            site: str = "foo+0x10/0x40") -> str:
    return line("kmalloc", f"call_site={site} ptr={ptr:016x} bytes_req={req} "
                f"bytes_alloc={alloc} gfp_flags={gfp} node=-1 accounted=false", cpu)


def kcalloc(ptr: int, req: int, alloc: int, gfp: str = "GFP_KERNEL", cpu: int = 0) -> str:
    return line("kmem_cache_alloc", f"call_site=baz+0x8/0x30 ptr={ptr:016x} bytes_req={req} "
                f"bytes_alloc={alloc} gfp_flags={gfp} node=-1 accounted=false", cpu)


def kfree(ptr: int, cpu: int = 0) -> str:
    return line("kfree", f"call_site=qux+0x4/0x10 ptr={ptr:016x}", cpu)


def kcfree(ptr: int, name: str, cpu: int = 0) -> str:
    return line("kmem_cache_free", f"call_site=qux+0x8/0x10 ptr={ptr:016x} name={name}", cpu)


def page_alloc(pfn: int, order: int, gfp: str = "GFP_KERNEL", cpu: int = 0, mt: int = 0) -> str:
    page = 0 if pfn < 0 else 0xffffea0000000000 + 64 * pfn
    return line("mm_page_alloc", f"page={page:016x} pfn={max(pfn, 0):#x} order={order} "
                f"migratetype={mt} gfp_flags={gfp}", cpu)


def page_free(pfn: int, order: int, cpu: int = 0) -> str:
    return line("mm_page_free", f"page={0xffffea0000000000 + 64 * pfn:016x} pfn={pfn:#x} "
                f"order={order}", cpu)


P1, P2, P3, P4 = (0xffff888000001000 + 0x100 * i for i in range(4))


def kernel(**kw) -> km.Kernel:
    kw.setdefault("version", "6.12")
    kw.setdefault("ram", "256M")
    kw.setdefault("cpus", 2)
    return km.Kernel(**kw)


# ------------------------------------------------------------------ hand-written traces

def test_three_kmallocs_and_a_free_of_an_unknown_pointer() -> None:
    text = HEAD + kmalloc(P1, 100, 128) + kmalloc(P2, 60, 64) + kmalloc(P3, 120, 128) \
        + kfree(P4)
    k = kernel()
    before128 = k.slab_caches["kmalloc-128"].nr_live
    before64 = k.slab_caches["kmalloc-64"].nr_live
    r = Replayer(io.StringIO(text), k).run()
    c = r.counters()
    assert c["records"] == 4
    assert c["replayed"] == 3
    assert c["unknown_frees"] == {"slab": 1, "page": 0}
    assert c["failed_allocs"] == {"slab": 0, "page": 0}
    assert c["skipped"] == 0 and c["errors"] == 0
    assert c["live_objects"] == 3
    assert k.slab_caches["kmalloc-128"].nr_live == before128 + 2
    assert k.slab_caches["kmalloc-64"].nr_live == before64 + 1
    assert set(r.ptr_map) == {P1, P2, P3}
    assert all(k.ksize(sim) in (64, 128) for sim in r.ptr_map.values())
    assert r.size_class_differs == 0
    assert "frees of objects allocated before the trace: 1 slab" in r.summary()


def test_alloc_then_free_returns_objects_and_uses_real_call_site() -> None:
    text = HEAD + kmalloc(P1, 100, 128) + kfree(P1)
    k = kernel()
    live = k.slab_caches["kmalloc-128"].nr_live
    mark = k.trace.mark()
    r = replay(io.StringIO(text), k)
    assert r.replayed == 2 and r.ptr_map == {}
    assert k.slab_caches["kmalloc-128"].nr_live == live
    evs = [e for e in k.trace.events(since=mark) if e.name in ("kmalloc", "kfree")]
    assert [e.name for e in evs] == ["kmalloc", "kfree"]
    assert evs[0]["call_site"] == "foo+0x10/0x40"
    assert evs[0].comm == "bash" and evs[0].pid == 100
    assert evs[1]["ptr"] == evs[0]["ptr"]


def test_kmem_cache_alloc_of_a_known_cache() -> None:
    k = kernel()
    c = k.kmem_cache_create("baz_cache", 200)
    text = HEAD + kcalloc(P1, 200, 200) + kcalloc(P2, 200, 200) + kcfree(P1, "baz_cache")
    r = replay(io.StringIO(text), k)
    assert r.replayed == 3
    assert r.caches_created == []
    assert c.nr_live == 1
    mark = k.trace.mark()
    k.kmem_cache_free(c, r.ptr_map[P2])  # the simulated object belongs to baz_cache
    assert k.trace.last["name"] == "baz_cache" and c.nr_live == 0 and mark < len(k.trace)
    assert r.cache_names == {}


def test_kmem_cache_alloc_of_an_unknown_cache_creates_one_by_size() -> None:
    k = kernel()
    text = HEAD + kcalloc(P1, 200, 200) + kcalloc(P2, 200, 200) + kcalloc(P3, 1000, 1000) \
        + kcfree(P1, "dentry") + kcfree(P2, "dentry")
    r = replay(io.StringIO(text), k)
    assert r.caches_created == ["trace-200", "trace-1000"]
    assert k.slab_caches["trace-200"].object_size == 200
    assert k.slab_caches["trace-200"].nr_live == 0
    assert k.slab_caches["trace-1000"].nr_live == 1
    assert r.cache_names == {"trace-200": {"dentry": 2}}
    assert "trace-200 (dentry)" in r.summary()


def test_alloc_record_with_a_name_uses_or_creates_that_cache() -> None:
    body = (f"call_site=baz+0x8/0x30 ptr={P1:016x} name=my_cache bytes_req=72 bytes_alloc=72 "
            "gfp_flags=GFP_KERNEL node=-1 accounted=false")
    r = replay(io.StringIO(HEAD + line("kmem_cache_alloc", body)), kernel())
    assert r.caches_created == ["my_cache"]
    assert r.kernel.slab_caches["my_cache"].nr_live == 1


def test_page_alloc_free_pairs_restore_buddyinfo_without_pcp() -> None:
    k = kernel(pcp=False)
    before = k.buddyinfo()
    allocs = page_alloc(0x1000, 0) + page_alloc(0x2000, 2) + page_alloc(0x3000, 5, "GFP_HIGHUSER_MOVABLE", mt=1)
    frees = page_free(0x2000, 2) + page_free(0x1000, 0) + page_free(0x3000, 5)
    r = Replayer(io.StringIO(HEAD + allocs + frees), k)
    r.step(3)
    assert k.buddyinfo() != before
    assert sorted(p.order for p in r.pfn_map.values()) == [0, 2, 5]
    assert sum(1 << p.order for p in r.pfn_map.values()) == 37
    r.run()
    assert k.buddyinfo() == before
    assert r.replayed == 6 and r.pfn_map == {}
    assert r.unknown_frees == {"slab": 0, "page": 0}


def test_page_alloc_free_pairs_restore_buddyinfo_after_drain() -> None:
    k = kernel()
    before = k.buddyinfo()
    text = HEAD + page_alloc(0x10, 0, cpu=1) + page_alloc(0x20, 1) + page_free(0x10, 0, cpu=1) \
        + page_free(0x20, 1) + page_free(0x99, 0)
    r = replay(io.StringIO(text), k)
    assert r.unknown_frees["page"] == 1
    k.drain_all_pages()
    assert k.buddyinfo() == before


def test_failed_allocations_and_skips_are_counted() -> None:
    text = (HEAD
            + kmalloc(P1, 8 << 20, 8 << 20)          # order 11: fails in the simulator
            + kfree(P1)                               # free of that failed allocation
            + kmalloc(0, 5000, 8192)                  # failed on the traced machine
            + page_alloc(-1, 3, "GFP_ATOMIC|__GFP_NOWARN")  # likewise
            + kfree(0)                                # kfree(NULL)
            + line("mm_page_alloc_zone_locked", "page=ffffea0000040000 pfn=0x1000 order=0 migratetype=0 percpu_refill=1")
            + line("mm_page_free_batched", "page=ffffea0000040000 pfn=0x1000 order=0"))
    r = replay(io.StringIO(text), kernel())
    c = r.counters()
    assert c["failed_allocs"] == {"slab": 1, "page": 0}
    assert c["frees_of_failed"] == 1
    assert c["unknown_frees"] == {"slab": 0, "page": 0}
    assert c["skipped_by_reason"] == {"allocator-internal event": 2,
                                      "failed on the traced machine": 2, "free of NULL": 1}
    assert c["replayed"] == 0 and c["errors"] == 0


def test_page_allocation_failure_in_the_simulator() -> None:
    k = kernel(ram="64M")
    text = HEAD + "".join(page_alloc(0x100000 + 0x200 * i, 9, "GFP_KERNEL|__GFP_NOWARN")
                          for i in range(40))
    r = replay(io.StringIO(text), k)
    assert r.failed_allocs["page"] > 0
    assert r.replayed + r.failed_allocs["page"] == 40
    assert len(r.pfn_map) == r.replayed


def test_reused_pointer_means_a_lost_free() -> None:
    k = kernel()
    live = k.slab_caches["kmalloc-128"].nr_live
    text = HEAD + kmalloc(P1, 100, 128) + kmalloc(P1, 100, 128) + page_alloc(0x500, 0) \
        + page_alloc(0x500, 0)
    r = replay(io.StringIO(text), k)
    assert r.implicit_frees == {"slab": 1, "page": 1}
    assert k.slab_caches["kmalloc-128"].nr_live == live + 1
    assert len(r.pfn_map) == 1


def test_cpu_numbers_are_used_and_capped() -> None:
    k = kernel(cpus=2)
    mark = k.trace.mark()
    text = HEAD + kmalloc(P1, 32, 32, cpu=1) + kmalloc(P2, 32, 32, cpu=7)
    r = replay(io.StringIO(text), k)
    assert r.cpus_capped == 1
    evs = k.trace.events("kmalloc", since=mark)
    assert [e.cpu for e in evs] == [1, 1]
    assert k.current_cpu == 0 and k.current_task.comm != "bash"


def test_flags_translate_between_versions() -> None:
    t315, t612 = kgfp.table("3.15"), kgfp.table("6.12")
    assert translate_gfp("GFP_KERNEL|__GFP_ZERO", t315) == 0xD0 | 0x8000
    assert translate_gfp("GFP_KERNEL|GFP_ZERO", t612) == 0xCC0 | 0x100
    assert translate_gfp("GFP_KERNEL|__GFP_RETRY_MAYFAIL", t315) == 0xD0 | 0x400
    assert translate_gfp("GFP_WAIT|GFP_REPEAT", t612) == 0xC00 | 0x4000
    assert translate_gfp("GFP_KERNEL_ACCOUNT", t315) == 0xD0 | 0x100000
    assert translate_gfp("none", t612) == 0 and translate_gfp("GFP_NOWAIT", t315) == 0
    dropped: dict[str, int] = {}
    assert translate_gfp("GFP_KERNEL|__GFP_KSWAPD_RECLAIM|0x4000000", t315, dropped) == 0xD0
    assert translate_gfp("GFP_KERNEL|__GFP_BOGUS", t612, dropped) == 0xCC0
    assert dropped == {"raw bits": 1, "__GFP_KSWAPD_RECLAIM": 1, "__GFP_BOGUS": 1}


def test_6x_trace_replays_on_3_15_with_translated_flags() -> None:
    text = HEAD + kmalloc(P1, 100, 128, "GFP_KERNEL_ACCOUNT|__GFP_ZERO") + page_alloc(0x77, 1, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO")
    k = kernel(version="3.15")
    mark = k.trace.mark()
    r = replay(io.StringIO(text), k)
    assert r.replayed == 2 and r.error_count == 0 and r.gfp_dropped == {}
    ev = k.trace.events("kmalloc", since=mark)[0]
    assert ev["gfp_flags"] == 0xD0 | 0x100000 | 0x8000


# ------------------------------------------------------------------ stepping

def test_stepping_counts_and_end() -> None:
    text = HEAD + kmalloc(P1, 10, 16) + kmalloc(P2, 10, 16) + kfree(P1) + kfree(P2) + kfree(P3)
    r = Replayer(io.StringIO(text), kernel(), sample_every=1)
    assert not r.done and r.records == 0
    assert r.step() == 1 and r.records == 1 and r.last is not None and r.last.ptr == P1
    assert r.last_outcome.startswith("kmalloc(10) → ")
    assert r.step(2) == 2 and set(r.ptr_map) == {P2}
    assert r.step(10) == 2 and r.done
    assert r.step(5) == 0
    assert r.unknown_frees["slab"] == 1
    tl = r.timeline
    assert isinstance(tl, CacheTimeline)
    assert tl.x == [0, 1, 2, 3, 4, 5]
    base = tl.series["kmalloc-16"][0]
    assert [v - base for v in tl.series["kmalloc-16"]] == [0, 16, 32, 16, 0, 0]
    assert "kmalloc-16" in tl.top(len(tl.series))


def test_steps_generator_and_records_iterable() -> None:
    recs, _ = tp.read_records(io.StringIO(HEAD + kmalloc(P1, 10, 16) * 1 + kfree(P1) + kfree(P2)))
    r = Replayer(recs, kernel())
    sizes = [x.records for x in r.steps(2)]
    assert sizes == [2, 3] and r.done
    assert r.parse_report is None


def test_replay_is_deterministic(sample_trace: Path) -> None:
    a = replay(sample_trace, version="6.12", ram="1G", cpus=2)
    b = replay(sample_trace, version="6.12", ram="1G", cpus=2)
    assert a.kernel.state_digest() == b.kernel.state_digest()
    assert a.ptr_map == b.ptr_map and a.counters() == b.counters()
    assert a.kernel.proc("slabinfo") == b.kernel.proc("slabinfo")


# ------------------------------------------------------------------ the real sample

@pytest.mark.parametrize("version", ["6.12", "3.15"])
def test_real_sample_replays(sample_trace: Path, version: str) -> None:
    """Counts computed from the sample: 40 lines of each event, a discontinuous excerpt."""
    stats = tp.trace_stats(sample_trace).to_dict()
    r = replay(sample_trace, version=version, ram="1G", cpus=2, sample_every=10)
    c = r.counters()
    assert c["records"] == 325
    assert c["errors"] == 0, r.errors
    assert c["by_event"]["kmalloc"] == 40 and c["by_event"]["mm_page_alloc"] == 40
    # the 85 allocator-internal events: 40 zone_locked + 5 extfrag + 40 free_batched
    assert c["skipped_by_reason"] == {"allocator-internal event": 85}
    # every free in the excerpt is of something allocated outside it (perf kmem agrees)
    assert c["unknown_frees"]["slab"] == stats["slab"]["free_unknown"] == 80
    assert c["unknown_frees"]["page"] == 40
    assert c["implicit_frees"]["slab"] == stats["slab"]["alloc_of_live_ptr"] == 31
    assert c["live_objects"] == stats["slab"]["live_objects"] == 49
    assert c["replayed"] == 80 + 40
    assert c["failed_allocs"] == {"slab": 0, "page": 0}
    assert c["size_class_differs"] == 0
    # 6.12 knows the call sites of a real 6.12 boot (kmemlab/data/boots): the caches get
    # their real names; 3.15 has no recording and names them by object size
    assert sorted(c["caches_created"]) == (["Acpi-State", "ftrace_event_field"]
                                           if version == "6.12" else ["trace-56", "trace-80"])
    assert r.parse_report is not None and r.parse_report.malformed_count == 0
    assert r.timeline is not None and r.timeline.x[-1] == 325
    assert "kmalloc-64" in r.timeline.top(3)


def test_gzip_input(tmp_path: Path) -> None:
    p = tmp_path / "t.txt.gz"
    p.write_bytes(gzip.compress((HEAD + kmalloc(P1, 10, 16) + kfree(P1)).encode()))
    assert replay(p, kernel()).replayed == 2


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"\x00\x01\x02\xff" * 200, "binary"),
    (gzip.compress(b"x" * 5000)[:20], "gzip"),
    (b"this is not a trace\nneither is this\n", "no ftrace event lines"),
])
def test_bad_file_gives_a_clear_message(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "bad.txt"
    p.write_bytes(content)
    k = kernel()
    digest = k.state_digest()
    with pytest.raises(tp.TraceFormatError, match=message):
        Replayer(p, k).run()
    assert k.state_digest() == digest


def test_missing_file_and_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(tp.TraceFormatError, match="cannot open"):
        Replayer(tmp_path / "nope.txt", kernel())
    with pytest.raises(TypeError, match="source must be"):
        Replayer(42, kernel())  # type: ignore[arg-type]
    r = Replayer(io.StringIO(HEAD), kernel())
    with pytest.raises(ValueError, match="n must be"):
        r.step(-1)
    with pytest.raises(ValueError, match="sample_every"):
        Replayer(io.StringIO(HEAD), kernel(), sample_every=-1)


def test_simulator_refusal_is_counted_and_state_kept() -> None:
    # objects of 64 MiB fit no slab (order > 10): kmem_cache_create fails, the record
    # is refused and counted; an order-11 page block simply fails (NULL)
    text = HEAD + kcalloc(P1, 64 << 20, 64 << 20) + page_alloc(0x100, 11) + kmalloc(P2, 8, 8)
    k = kernel()
    r = replay(io.StringIO(text), k)
    assert r.error_count == 1
    assert r.errors[0].startswith("line 3: kmem_cache_alloc: cannot create a cache of")
    assert r.failed_allocs == {"slab": 0, "page": 1}
    assert r.replayed == 1 and set(r.ptr_map) == {P2}
    assert "refused by the simulator: 1" in r.summary()


# ------------------------------------------------------------------ CLI

def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    import argparse
    parser = argparse.ArgumentParser(prog="kmemlab")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    rc = args.func(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_replay(sample_trace: Path, capsys) -> None:
    rc, out, err = _cli(["trace", "replay", str(sample_trace), "--show", "buddyinfo"], capsys)
    assert rc == 0, err
    assert out.startswith("replayed 120 of 325 kmem records on 6.12/x86_64")
    assert "/proc/buddyinfo of the simulated kernel:\nNode 0, zone      DMA" in out
    rc, out, err = _cli(["trace", "replay", str(sample_trace), "--json", "--version", "3.15"],
                        capsys)
    assert rc == 0
    data = json.loads(out)
    assert data["profile"] == "3.15/x86_64" and data["replayed"] == 120


@pytest.mark.parametrize("argv, message", [
    (["--version", "9.9"], "no profile"),
    (["--show", "nosuch"], "does not model"),
])
def test_cli_replay_bad_options(sample_trace: Path, capsys, argv, message) -> None:
    rc, out, err = _cli(["trace", "replay", str(sample_trace), *argv], capsys)
    assert rc == 2 and out == "" and message in err


def test_cli_replay_bad_file(tmp_path: Path, capsys) -> None:
    p = tmp_path / "bad.bin"
    p.write_bytes(b"\x7fELF\x02\x01" + b"\x00" * 100)
    rc, out, err = _cli(["trace", "replay", str(p)], capsys)
    assert rc == 2 and out == ""
    assert err.startswith("kmemlab trace replay: error: ") and "bad.bin" in err
