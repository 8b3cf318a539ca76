"""/proc renderers: exact formats and formulas."""

import re

import pytest

import kmemlab as km
from kmemlab import procfs


def test_buddyinfo_golden_dma_line_matches_a_real_kernel():
    # The DMA zone after a 6.x boot: pfn 256..4095 free (the first MiB is reserved),
    # giving one order-8, one order-9 and three order-10 blocks. This machine's real
    # /proc/buddyinfo (Linux 6.x, untouched DMA zone) shows exactly this line.
    k = km.Kernel(version="6.12", ram="1G")
    first = k.proc("buddyinfo").splitlines()[0]
    assert first == ("Node 0, zone      DMA      0      0      0      0      0      0      0"
                     "      0      1      1      3 ")
    assert k.proc("/proc/buddyinfo") == k.proc("buddyinfo")
    assert procfs.parse_buddyinfo(k.proc("buddyinfo")) == k.buddyinfo()


def test_buddyinfo_lists_only_populated_zones():
    text = km.Kernel(version="6.12", ram="1G").proc("buddyinfo")
    assert [line.split()[3] for line in text.splitlines()] == ["DMA", "DMA32"]
    text = km.Kernel(version="3.15", arch="i386", ram="2G").proc("buddyinfo")
    assert [line.split()[3] for line in text.splitlines()] == ["DMA", "Normal", "HighMem"]


def test_zoneinfo_lists_every_zone_on_6x_and_round_trips():
    k = km.Kernel(version="6.12", ram="1G")
    text = k.proc("zoneinfo")
    names = re.findall(r"^Node 0, zone\s+(\S+)", text, re.M)
    assert names == ["DMA", "DMA32", "Normal", "Movable", "Device"]
    parsed = procfs.parse_zoneinfo(text)
    for z in k.zone_list:
        got = parsed[z.name]
        assert (got["min"], got["low"], got["high"], got["managed"], got["present"],
                got["spanned"], got["free"]) == (z.min, z.low, z.high, z.managed, z.present,
                                                 z.spanned, z.free_pages)
        assert got["protection"] == z.lowmem_reserve
    assert "  per-node stats" in text.split("zone    DMA32")[0]
    assert "\n        protection: (0, 0, 0, 0, 0)\nNode 0, zone   Device" in text or \
        text.rstrip().endswith("protection: (0, 0, 0, 0, 0)")


def test_zoneinfo_315_skips_empty_zones():
    text = km.Kernel(version="3.15", ram="1G").proc("zoneinfo")
    assert re.findall(r"^Node 0, zone\s+(\S+)", text, re.M) == ["DMA", "DMA32"]


def test_pagetypeinfo_layout():
    k = km.Kernel(version="6.12", ram="6G")
    lines = k.proc("pagetypeinfo").splitlines()
    assert lines[:3] == ["Page block order: 9", "Pages per block:  512", ""]
    assert lines[3].startswith("Free pages count per migrate type at order       0      1")
    assert lines[4].startswith("Node    0, zone      DMA, type    Unmovable      0")
    blocks = [x for x in lines if x.startswith("Node 0, zone")]
    assert blocks[1].split()[4:6] == ["0", "1528"]  # DMA32 without the 3G-4G hole
    assert lines[lines.index("") + 0] == ""
    hdr = [x for x in lines if x.startswith("Number of blocks type")][0]
    # Debian's 6.12 has no CONFIG_CMA: no CMA column (include/linux/mmzone.h)
    assert hdr == ("Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic"
                   "      Isolate ")


def test_iomem_and_sysctls():
    k = km.Kernel(version="6.12", ram="1G")
    iomem = k.proc("iomem").splitlines()
    assert iomem[0] == "00000000-00000fff : Reserved"
    assert iomem[1] == "00001000-0009fbff : System RAM"
    assert "00100000-3ffdffff : System RAM" in iomem
    assert any(x.startswith("  01000000-") and x.endswith(": Kernel code") for x in iomem)
    assert k.proc("sys/vm/lowmem_reserve_ratio") == "256\t256\t32\t0\t0\n"
    assert k.proc("sys/vm/watermark_scale_factor") == "10\n"
    assert k.proc("sys/vm/min_free_kbytes") == f"{k.min_free_kbytes}\n"
    k315 = km.Kernel(version="3.15", ram="1G")
    assert k315.proc("sys/vm/lowmem_reserve_ratio") == "256\t256\t32\n"
    assert k315.proc("iomem").splitlines()[0] == "00000000-00000fff : reserved"
    with pytest.raises(ValueError, match="does not exist in Linux 3.15"):
        k315.proc("sys/vm/watermark_scale_factor")
    i386 = km.Kernel(version="3.15", arch="i386", ram="1G")
    assert i386.proc("sys/vm/lowmem_reserve_ratio") == "256\t32\t32\n"


def test_unknown_proc_file():
    k = km.Kernel(ram="256M")
    with pytest.raises(ValueError, match="does not model /proc/cpuinfo; known files: .*buddyinfo"):
        k.proc("cpuinfo")
    with pytest.raises(TypeError):
        k.proc(3)


def test_meminfo_fields():
    k = km.Kernel(version="6.12", ram="1G")
    text = k.proc("meminfo")
    first = text.splitlines()[0]
    assert re.fullmatch(r"MemTotal:\s+\d+ kB", first) and len(first) == len("MemTotal:       ") + 11
    assert f"MemTotal:       {k.totalram_pages * 4:8d} kB" in text
    assert "VmallocTotal:   34359738367 kB" in text
    assert "HugePages_Total:       0\n" in text
    i386 = km.Kernel(version="3.15", arch="i386", ram="2G").proc("meminfo")
    assert "HighTotal:" in i386 and "LowTotal:" in i386


def _zone_with(nr_free):
    class Z:
        name = "Normal"
        free_area = [type("A", (), {"nr_free": n})() for n in nr_free]
    return Z()


def test_fragmentation_formulas_by_hand():
    # 4 free order-0 pages and 1 free order-2 block: 8 free pages, 5 blocks
    z = _zone_with([4, 0, 1] + [0] * 8)
    assert procfs.unusable_free_index(z, 0) == 0
    assert procfs.unusable_free_index(z, 1) == 500  # (8 - 2*2) * 1000 / 8
    assert procfs.unusable_free_index(z, 3) == 1000
    assert procfs.fragmentation_index(z, 2) == -1000  # a suitable block exists
    # order 3: 1000 - (1000 + 8*1000/8) / 5 = 1000 - 400 = 600
    assert procfs.fragmentation_index(z, 3) == 600
    assert procfs.fragmentation_index(_zone_with([0] * 11), 3) == 0
    assert procfs.unusable_free_index(_zone_with([0] * 11), 3) == 1000


def test_extfrag_files_format():
    k = km.Kernel(version="6.12", ram="1G")
    line = k.proc("extfrag/extfrag_index").splitlines()[0]
    assert line.startswith("Node 0, zone      DMA -1.000 ")
    assert k.proc("extfrag/unusable_index").splitlines()[0].startswith(
        "Node 0, zone      DMA 0.000 0.000")
