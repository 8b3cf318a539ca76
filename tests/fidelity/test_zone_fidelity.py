"""The watermark formulas against this machine's real kernel (Linux 6.x).

The real /proc/zoneinfo gives each zone's managed pages; the kernel computed its
min/low/high and protection from those with mm/page_alloc.c's formulas. Feeding
the same managed pages and min_free_kbytes to kmemlab's implementation of those
formulas must give the same numbers.
"""

import os

import pytest

from kmemlab import procfs
from kmemlab.page_alloc import (
    Zone,
    calculate_min_free_kbytes,
    setup_per_zone_lowmem_reserve,
    setup_per_zone_wmarks,
    thp_recommended_min_free_kbytes,
)
from kmemlab.profiles import get_profile

pytestmark = pytest.mark.fidelity


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        pytest.skip(f"{path} is not readable on this machine")


def _real_state():
    # zoneinfo and min_free_kbytes are read back to back: memory hotplug can change them
    for _ in range(5):
        mfk = int(_read("/proc/sys/vm/min_free_kbytes"))
        zi = procfs.parse_zoneinfo(_read("/proc/zoneinfo"))
        if int(_read("/proc/sys/vm/min_free_kbytes")) == mfk:
            return mfk, zi
    pytest.skip("min_free_kbytes kept changing while reading")


def _zones_like(real, profile):
    zones = []
    for i, name in enumerate(real):
        z = Zone(name, i, 11, 6, False)
        z.managed = real[name]["managed"]
        z.present = real[name]["present"]
        zones.append(z)
    return zones


def test_watermarks_from_real_managed_pages():
    mfk, real = _real_state()
    names = list(real)
    if names[:3] != ["DMA", "DMA32", "Normal"]:
        pytest.skip(f"unexpected zone list {names}")
    profile = get_profile("6.12", "x86_64")
    wsf = int(_read("/proc/sys/vm/watermark_scale_factor"))
    zones = _zones_like(real, profile)
    setup_per_zone_wmarks(zones, mfk, profile, wsf)
    for z in zones:
        r = real[z.name]
        assert (z.min, z.low, z.high) == (r["min"] - r.get("boost", 0),
                                          r["low"] - r.get("boost", 0),
                                          r["high"] - r.get("boost", 0)), z.name
        if "promo" in r:
            assert z.promo == r["promo"] - r.get("boost", 0)


def test_lowmem_reserve_from_real_managed_pages():
    _, real = _real_state()
    ratios = tuple(int(x) for x in _read("/proc/sys/vm/lowmem_reserve_ratio").split())
    profile = get_profile("6.12", "x86_64")
    zones = _zones_like(real, profile)
    if len(ratios) != len(zones):
        pytest.skip("zone count and lowmem_reserve_ratio length differ")
    setup_per_zone_lowmem_reserve(zones, ratios, profile)
    for z in zones:
        assert z.lowmem_reserve == real[z.name]["protection"], z.name


def test_min_free_kbytes_from_real_managed_pages():
    mfk, real = _real_state()
    profile = get_profile("6.12", "x86_64")
    lowmem = sum(real[n]["managed"] for n in ("DMA", "DMA32", "Normal") if n in real)
    computed = calculate_min_free_kbytes(lowmem, profile)
    thp = _read("/sys/kernel/mm/transparent_hugepage/enabled") \
        if os.path.exists("/sys/kernel/mm/transparent_hugepage/enabled") else "[never]"
    if "[never]" not in thp:
        nr_zones = sum(1 for n in ("DMA", "DMA32", "Normal") if real.get(n, {}).get("present"))
        free_buffer = sum(max(0, real[n]["managed"] - real[n]["high"])
                          for n in ("DMA", "DMA32", "Normal") if n in real)
        rec = thp_recommended_min_free_kbytes(nr_zones, free_buffer, profile)
        computed = max(computed, rec)
    if mfk != computed:
        pytest.skip(f"min_free_kbytes {mfk} was set by hand or by hotplug history "
                    f"(formula gives {computed})")
    assert mfk == computed


def test_thp_formula_matches_the_facts_sheet():
    p = get_profile("6.12", "x86_64")
    assert thp_recommended_min_free_kbytes(3, 10**9, p) == 67584
    assert thp_recommended_min_free_kbytes(3, 1000, p) == 1000 // 20 * 4


def test_min_free_kbytes_clamps_per_version():
    assert calculate_min_free_kbytes(10**9, get_profile("3.15", "x86_64")) == 65536
    assert calculate_min_free_kbytes(10**10, get_profile("6.12", "x86_64")) == 262144
    assert calculate_min_free_kbytes(100, get_profile("6.12", "x86_64")) == 128
    # int_sqrt(1 GiB of lowmem in kB * 16) = int_sqrt(16777216) = 4096
    assert calculate_min_free_kbytes(262144, get_profile("6.12", "x86_64")) == 4096


def test_real_dma_zone_shape_matches_simulated_boot():
    """The DMA zone's span/present pages come from the same PC memory map."""
    _, real = _real_state()
    import kmemlab as km
    k = km.Kernel(version="6.12", ram="1G")
    dma = k.zones["DMA"]
    assert (dma.spanned, dma.present, dma.managed) == (
        real["DMA"]["spanned"], real["DMA"]["present"], real["DMA"]["managed"])
