"""SLUB geometry against this machine's real kernel (/sys/kernel/slab) and the facts sheet.

The real machine runs a Linux 6.x kernel; its kmalloc caches are compared with a
simulated 6.12 kernel that has the same number of present CPUs and the same slub_*/slab_*
boot parameters. Skipped where /sys/kernel/slab is absent (not Linux, no SLUB sysfs).
"""

from __future__ import annotations

import os
import re

import pytest

import kmemlab as km
from kmemlab import slub

SYS_SLAB = "/sys/kernel/slab"
GEOMETRY = ("object_size", "slab_size", "objs_per_slab", "order", "align")
TUNING = ("min_partial", "cpu_partial")
KMALLOC_RE = re.compile(r"^(kmalloc|kmalloc-rcl|kmalloc-cg|dma-kmalloc)-(\d+k?)$")

pytestmark = pytest.mark.fidelity


def present_cpus() -> int:
    """num_present_cpus(), what 6.x calculate_order uses (facts 4.5)."""
    try:
        with open("/sys/devices/system/cpu/present") as f:
            text = f.read().strip()
    except OSError:
        return os.cpu_count() or 1
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        n += (int(hi) if hi else int(lo)) - int(lo) + 1
    return n


def slab_cmdline() -> str:
    try:
        with open("/proc/cmdline") as f:
            words = f.read().split()
    except OSError:
        return ""
    return " ".join(w for w in words if w.startswith(("slub_", "slab_")))


def real_kmalloc_caches() -> dict[str, dict[str, int]]:
    out = {}
    for name in sorted(os.listdir(SYS_SLAB)):
        if not KMALLOC_RE.match(name):
            continue
        attrs = {}
        for attr in GEOMETRY + TUNING:
            try:
                with open(os.path.join(SYS_SLAB, name, attr)) as f:
                    attrs[attr] = int(f.read().split()[0])
            except (OSError, ValueError):
                pass
        out[name] = attrs
    return out


needs_sysfs = pytest.mark.skipif(not os.path.isdir(SYS_SLAB),
                                 reason="/sys/kernel/slab is absent on this machine")


@pytest.fixture(scope="module")
def machine():
    real = real_kmalloc_caches()
    if not real:
        pytest.skip("no kmalloc caches in /sys/kernel/slab")
    k = km.Kernel(version="6.12", ram="1G", cpus=present_cpus(), cmdline=slab_cmdline())
    return real, k


@needs_sysfs
def test_kmalloc_geometry_matches_this_machine(machine):
    real, k = machine
    mismatches = {}
    for name, attrs in real.items():
        cache = k.slub.slab_caches.get(name)
        assert cache is not None, f"{name} exists on this machine but not in the simulator"
        sim = {a: getattr(cache, a) for a in GEOMETRY if a in attrs}
        want = {a: attrs[a] for a in GEOMETRY if a in attrs}
        if sim != want:
            mismatches[name] = (want, sim)
    assert not mismatches, mismatches
    # every normal size class is on the real machine too
    assert {f"kmalloc-{n}" for n in ("8", "96", "192", "1k", "8k")} <= set(real)


@needs_sysfs
def test_kmalloc_tuning_matches_this_machine(machine):
    real, k = machine
    for name, attrs in real.items():
        cache = k.slub.slab_caches[name]
        for a in TUNING:
            if a in attrs:
                assert getattr(cache, a) == attrs[a], (name, a)


@needs_sysfs
def test_the_machine_has_what_the_simulator_creates(machine):
    real, k = machine
    ours = {n for n, c in k.slub.slab_caches.items() if c.kmalloc_type is not None}
    # the real kernel may lack types its config leaves out (no ZONE_DMA, no memcg)
    normal = {n for n in ours if n.startswith("kmalloc-") and
              not n.startswith(("kmalloc-rcl", "kmalloc-cg"))}
    assert normal <= set(real)


# linux-mm-facts.md 4.5: derived tables for 4 and 8 CPUs (and 4.6 for the tuning)
FACTS = {
    4: {"kmalloc-8": (0, 512), "kmalloc-64": (0, 64), "kmalloc-96": (0, 42),
        "kmalloc-192": (0, 21), "kmalloc-256": (0, 16), "kmalloc-512": (1, 16),
        "kmalloc-1k": (2, 16), "kmalloc-2k": (3, 16), "kmalloc-4k": (3, 8),
        "kmalloc-8k": (3, 4)},
    8: {"kmalloc-256": (1, 32), "kmalloc-512": (2, 32), "kmalloc-1k": (3, 32)},
}


@pytest.mark.parametrize("cpus", [4, 8])
def test_facts_sheet_tables(version, cpus):
    k = km.Kernel(version=version, ram="512M", cpus=cpus)
    for name, (order, objs) in FACTS[cpus].items():
        if version == "3.15" and name.endswith("k"):
            name = f"kmalloc-{int(name[8:-1]) * 1024}"
        c = k.slub.slab_caches[name]
        assert (c.order, c.objs_per_slab) == (order, objs), (version, cpus, name)


def test_facts_sheet_algorithms_differ():
    assert slub.calculate_order(10928, 4, algorithm="slab_order") == 2
    assert slub.calculate_order(10928, 4, algorithm="calc_slab_order") == 3
