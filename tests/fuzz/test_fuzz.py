"""The API fuzzer in the suite (issue 15): a short seeded run, and checks that its
checks can fail. The long run is ``make fuzz`` (``tests/fuzz/apifuzz.py``)."""

from __future__ import annotations

import pytest
from apifuzz import (
    Episode,
    InvariantViolation,
    Stats,
    check_invariants,
    digest,
    fuzz,
)

import kmemlab as km


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_short_fuzz_run_finds_nothing(seed):
    stats = fuzz(seed, 150, episode_ops=150, timeout=60)
    assert stats.ops >= 150
    assert stats.invalid_ops > 20 and stats.raised > 20     # it does try invalid calls
    assert stats.failures == 0, "\n".join([stats.report()] + stats.problems[:5])


def test_digest_sees_a_one_field_change():
    k = km.Kernel(version="6.1", ram="256M")
    d0 = digest(k)
    k.page_alloc.pcp[2][0].free_count += 1      # in no /proc file: the graph hash sees it
    assert d0.diff(digest(k), allow_dmesg_growth=True)
    d1 = digest(k)
    k.printk("hello")
    assert d1.diff(digest(k), allow_dmesg_growth=False)   # Python misuse must not log
    assert not d1.diff(digest(k), allow_dmesg_growth=True)


def test_invariants_catch_a_pcp_desync_and_a_double_home():
    k = km.Kernel(version="6.12", ram="256M")
    page = k.alloc_pages(km.GFP_KERNEL, 0)
    k.free_pages(page)                               # onto a per-CPU list
    check_invariants(k)
    pa = k.page_alloc
    zone = pa.zone_by_name[page.zone]
    pcp = pa.pcp[zone.idx][k.current_cpu]
    pcp.count += 1
    with pytest.raises(InvariantViolation, match="pcp.count"):
        check_invariants(k)
    pcp.count -= 1
    pfn = next(iter(pa.free_blocks))
    o, mt = pa.free_blocks[pfn]
    pa.allocated[pfn] = km.Page(pfn, 0, zone.name)    # free and allocated at once
    with pytest.raises(InvariantViolation):
        check_invariants(k)


def test_watchdog_turns_a_hang_into_a_failure(monkeypatch):
    stats = Stats()
    ep = Episode(5, stats, timeout=0.5)

    def spin():
        while True:
            pass
    spin.__name__ = "op_spin"
    ep.ops = ([spin], [1])
    ep._before = None
    assert ep.step() is False
    assert stats.hangs == 1 and "hang" in stats.problems[0]
