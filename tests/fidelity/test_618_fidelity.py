"""The 6.18 profile against a real Linux 6.18: this machine when it runs 6.18, and the
snapshot of the development machine (a real 6.18.44 guest) shipped in
notebooks/data/machine-6.18 everywhere else.

Booted with the machine's CPU count and command line (the twin), every cache of
/sys/kernel/slab that the model also has must show the same object_size, slab_size,
objs_per_slab, order, align, cpu_partial, min_partial and sheaf_capacity; every zone
the same min/low/high/promo and protection given the real zone's managed pages, the
same min_free_kbytes; and each /proc file the same fields in the same order with the
same spacing (kmemlab.twin.layout_differences). The numbers are the real kernel's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import kmemlab as km
from kmemlab import snapshot
from kmemlab.twin import SLAB_COMPARE, boot_twin, layout_differences

pytestmark = pytest.mark.fidelity

SNAP = Path(__file__).resolve().parents[2] / "notebooks" / "data" / "machine-6.18"


def _sources():
    out = [pytest.param("snapshot", id="snapshot-6.18.44")]
    live = os.path.exists("/proc/zoneinfo") and os.uname().release.startswith("6.18.")
    out.append(pytest.param("live", id="this-machine", marks=pytest.mark.skipif(
        not live, reason="this machine does not run Linux 6.18")))
    return out


@pytest.fixture(scope="module", params=_sources())
def twin(request):
    facts = snapshot.read_machine(SNAP if request.param == "snapshot" else None)
    k = boot_twin(facts)
    assert k.profile.version == "6.18", k.twin.notes
    return facts, k


def test_every_shared_cache_has_the_real_geometry(twin):
    facts, k = twin
    compared = mismatches = 0
    shared = [n for n in facts.slab if n in k.slab_caches]
    assert {"kmalloc-8", "kmalloc-8k", "kmalloc-cg-64", "kmalloc-rcl-128", "dma-kmalloc-1k",
            "maple_node", "vm_area_struct"} <= set(shared)
    bad = []
    for name in shared:
        c = k.slab_caches[name]
        for a in SLAB_COMPARE:
            if a in facts.slab[name]:
                compared += 1
                if getattr(c, a) != facts.slab[name][a]:
                    mismatches += 1
                    bad.append((name, a, facts.slab[name][a], getattr(c, a)))
    assert compared >= 8 * 50
    assert not bad, bad


def test_sheaf_capacity_only_where_the_kernel_opts_in(twin):
    facts, k = twin
    with_sheaves = {n for n, a in facts.slab.items() if a.get("sheaf_capacity")}
    ours = {n for n in facts.slab if n in k.slab_caches and k.slab_caches[n].sheaf_capacity}
    assert ours == with_sheaves & set(k.slab_caches)
    assert k.slab_caches["maple_node"].sheaf_capacity == 32


def test_watermarks_and_protection_of_every_zone(twin):
    facts, k = twin
    rows = k.twin.compare_zones()
    zones = {r[0] for r in rows} - {"vm"}
    assert zones >= {"DMA", "DMA32", "Normal"}
    bad = [r for r in rows if r[2] != r[3]]
    assert not bad, k.twin.table(bad)


def test_min_free_kbytes_is_the_formula(twin):
    facts, k = twin
    # the twin computes it from the real managed pages (init_per_zone_wmark_min and
    # THP's set_recommended_min_free_kbytes), it does not copy it
    assert k.twin_formula_min_free_kbytes == facts.min_free_kbytes


@pytest.mark.parametrize("path", ["zoneinfo", "meminfo", "buddyinfo", "pagetypeinfo"])
def test_proc_layout(twin, path):
    facts, k = twin
    real = facts.texts.get(f"proc/{path}")
    if real is None:
        pytest.skip(f"/proc/{path}: {facts.missing.get(f'proc/{path}', 'absent')}")
    assert layout_differences(real, k.proc(path)) == []


def test_slabinfo_layout(twin):
    facts, k = twin
    real = facts.texts.get("proc/slabinfo")
    if real is None:
        pytest.skip("/proc/slabinfo is not readable here")
    ours = k.proc("slabinfo").splitlines()
    real_lines = real.splitlines()
    assert ours[:2] == real_lines[:2]
    by_name = {ln.split()[0]: ln for ln in real_lines[2:]}
    shared = [ln for ln in ours[2:] if ln.split()[0] in by_name]
    assert len(shared) >= 30
    bad = [ln for ln in shared if layout_differences(by_name[ln.split()[0]], ln)]
    assert not bad, bad


def test_vmallocinfo_line_format(twin):
    facts, k = twin
    import re
    real = facts.texts.get("proc/vmallocinfo")
    if real is None:
        pytest.skip("/proc/vmallocinfo is not readable here")
    line = re.compile(r"^0x[0-9a-f]{16}-0x[0-9a-f]{16} {1,7}\d+ \S+")
    assert all(line.match(ln) for ln in real.splitlines())
    k.vmalloc(5 * k.PAGE_SIZE)
    assert all(line.match(ln) for ln in k.proc("vmallocinfo").splitlines())


def test_plain_boot_differs_where_the_machine_does():
    """Without the twin, a Kernel of the same RAM has other managed pages and so other
    watermarks: the chapter 06 table."""
    facts = snapshot.read_machine(SNAP)
    plain = km.Kernel(version="6.18", ram="24G", cpus=facts.cpus)
    real = facts.zones
    assert plain.zones["DMA"].managed == real["DMA"]["managed"]
    assert plain.zones["Normal"].managed != real["Normal"]["managed"]
    assert plain.zones["DMA32"].min != real["DMA32"]["min"]
