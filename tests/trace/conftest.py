# ruff: noqa: E501  (trace lines are as long as the kernel prints them)
"""Shared fixtures for the kmem trace parser tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# The repository's own copy of the real Debian 6.12 sample (the chapters read it too), so
# the tests run in any clone.
SAMPLE_TRACE = Path(__file__).resolve().parents[2] / "notebooks" / "data" / "kmem-trace-6.12-sample.txt"


@pytest.fixture()
def sample_trace() -> Path:
    """The 337-line /sys/kernel/tracing/trace recorded on a Debian 6.12 kernel."""
    assert SAMPLE_TRACE.exists(), f"the repository's sample is missing: {SAMPLE_TRACE}"
    return SAMPLE_TRACE


# A small trace whose statistics were computed by hand (see test_trace_stats.py).
HAND_TRACE = """\
# tracer: nop
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
            bash-100     [000] .....     1.000001: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000001000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false
            bash-100     [000] .....     1.000002: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000002000 bytes_req=60 bytes_alloc=64 gfp_flags=GFP_KERNEL node=-1 accounted=false
          <idle>-0       [001] d.h1.     1.000003: kmalloc: call_site=bar+0x20/0x80 ptr=ffff888000003000 bytes_req=32 bytes_alloc=32 gfp_flags=GFP_ATOMIC node=-1 accounted=false
            bash-100     [000] .....     1.000004: kmem_cache_alloc: call_site=baz+0x8/0x30 ptr=ffff888000004000 bytes_req=200 bytes_alloc=256 gfp_flags=GFP_KERNEL|__GFP_ZERO node=-1 accounted=false
     kworker/1:1-30      [001] .....     1.000005: kfree: call_site=qux+0x4/0x10 ptr=ffff888000001000
            bash-100     [000] .....     1.000006: kfree: call_site=qux+0x4/0x10 ptr=ffff888000002000
            bash-100     [000] .....     1.000007: kfree: call_site=qux+0x4/0x10 ptr=ffff888000009000
            bash-100     [000] .....     1.000008: kfree: call_site=qux+0x4/0x10 ptr=0000000000000000
     kworker/1:1-30      [001] .....     1.000009: kmem_cache_free: call_site=qux+0x8/0x10 ptr=ffff888000004000 name=baz_cache
            bash-100     [000] .....     1.000010: kmalloc: call_site=foo+0x10/0x40 ptr=ffff888000001000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false
            bash-100     [000] .....     1.000011: kmalloc: call_site=big+0x1/0x2 ptr=0000000000000000 bytes_req=5000 bytes_alloc=8192 gfp_flags=GFP_KERNEL node=-1 accounted=false
this is not a trace line
            bash-100     [000] .....     1.000012: kmalloc: call_site=foo+0x10/0x40 ptr=zzz bytes_req=1 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1 accounted=false
            bash-100     [000] d..2.     1.000013: sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120
            bash-100     [000] .....     1.000014: mm_page_alloc: page=ffffea0000040000 pfn=0x1000 order=0 migratetype=0 gfp_flags=GFP_KERNEL
            bash-100     [000] .....     1.000015: mm_page_alloc: page=ffffea0000080000 pfn=0x2000 order=2 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE
            bash-100     [000] .....     1.000016: mm_page_alloc: page=0000000000000000 pfn=0x0 order=3 migratetype=0 gfp_flags=GFP_ATOMIC|__GFP_NOWARN
     kworker/1:1-30      [001] .....     1.000017: mm_page_free: page=ffffea0000040000 pfn=0x1000 order=0
     kworker/1:1-30      [001] .....     1.000018: mm_page_free: page=ffffea0000140000 pfn=0x5000 order=1
     kworker/1:1-30      [001] ...1.     1.000019: mm_page_free_batched: page=ffffea0000040000 pfn=0x1000 order=0
"""


@pytest.fixture()
def hand_trace(tmp_path: Path) -> Path:
    """HAND_TRACE written to a file."""
    p = tmp_path / "hand.txt"
    p.write_text(HAND_TRACE)
    return p


@pytest.fixture()
def hand_text() -> str:
    """HAND_TRACE as a string."""
    return HAND_TRACE
