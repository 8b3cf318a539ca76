"""/proc/slabinfo: golden output and a parser that reads the real file and ours alike."""

from __future__ import annotations

import os

import pytest
from slub_helpers import boot

import kmemlab as km
from kmemlab import slab_common as sc

GOLDEN_612_HEAD = """\
slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
golden_obj            13     13    304   13    1 : tunables    0    0    0 : slabdata      1      1      0
kmalloc-cg-8k          0      0   8192    4    8 : tunables    0    0    0 : slabdata      0      0      0
"""  # noqa: E501

GOLDEN_612_LINES = [
    "kmalloc-128           32     32    128   32    1 : tunables    0    0    0 : slabdata      1      1      0",  # noqa: E501
    "kmalloc-8k             4      4   8192    4    8 : tunables    0    0    0 : slabdata      1      1      0",  # noqa: E501
    "kmalloc-96            42     42     96   42    1 : tunables    0    0    0 : slabdata      1      1      0",  # noqa: E501
]


def test_golden_612():
    k = boot("6.12", cpus=2)
    s = k.slub
    s.kmalloc(100, km.GFP_KERNEL)
    s.kmalloc(8000, km.GFP_KERNEL)
    s.kmalloc(70, km.GFP_KERNEL)
    c = s.kmem_cache_create("golden_obj", 300)
    s.kmem_cache_alloc(c, km.GFP_KERNEL)
    text = s.slabinfo_text()
    assert text.startswith(GOLDEN_612_HEAD)      # newest cache first
    lines = text.splitlines()
    for line in GOLDEN_612_LINES:
        assert line in lines
    assert lines[-1].startswith("kmalloc-8 ")    # the oldest cache is last
    assert len(lines) == 2 + 52 + 1


def test_golden_315_names_and_columns():
    k = boot("3.15")
    k.slub.kmalloc(5000, km.GFP_KERNEL)
    lines = k.slub.slabinfo_text().splitlines()
    assert "kmalloc-8192           4      4   8192    4    8 : tunables    0    0    0 : " \
           "slabdata      1      1      0" in lines
    assert any(ln.startswith("dma-kmalloc-8192 ") for ln in lines)


def test_active_objs_counts_free_cpu_objects_as_active():
    k = boot("6.12", cpus=1)
    s = k.slub
    c = s.kmem_cache_create("act_obj", 1000)
    objs = [s.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(3 * c.objs_per_slab)]
    for o in objs[: c.objs_per_slab]:           # empty the first (full) slab
        s.kmem_cache_free(c, o)
    s.kmem_cache_free(c, objs[-1])              # one free object on the CPU slab
    line = [ln for ln in sc.parse_slabinfo(s.slabinfo_text()) if ln.name == "act_obj"][0]
    assert line.num_objs == c.total_objects == 3 * c.objs_per_slab
    # slabs on CPU (partial) lists count fully active, as get_slabinfo does
    assert line.active_objs == c.objects == c.total_objects - sum(
        sl.objects - sl.inuse for sl in s.slabs_of(c) if sl.where == "partial")


def test_round_trip_simulator():
    k = boot("6.1")
    k.slub.kmalloc(300, km.GFP_KERNEL)
    text = k.slub.slabinfo_text()
    parsed = sc.parse_slabinfo(text)
    assert sc.format_slabinfo(parsed) == text
    by = {p.name: p for p in parsed}
    assert by["kmalloc-512"].active_objs == 16 and by["kmalloc-512"].pagesperslab == 2


@pytest.mark.skipif(not os.access("/proc/slabinfo", os.R_OK), reason="/proc/slabinfo unreadable")
def test_round_trip_real_machine():
    with open("/proc/slabinfo") as f:
        text = f.read()
    parsed = sc.parse_slabinfo(text)
    assert parsed and sc.format_slabinfo(parsed) == text      # byte for byte
    names = {p.name for p in parsed}
    assert any(n.startswith("kmalloc-") for n in names)


def test_parser_rejects_other_formats():
    with pytest.raises(ValueError, match="2.1"):
        sc.parse_slabinfo("slabinfo - version: 1.1\n")
    with pytest.raises(ValueError, match="not /proc/slabinfo"):
        sc.parse_slabinfo("hello\n")
    with pytest.raises(ValueError, match="malformed"):
        sc.parse_slabinfo(sc.SLABINFO_HEADER + "x 1 2\n")
    with pytest.raises(TypeError):
        sc.parse_slabinfo(None)
