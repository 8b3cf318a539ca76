"""The machine as data (issue 17): e820 map, CPUs, RAM, CPU features, and the direct
map's DirectMap4k/2M/1G as arch/x86/mm/init.c sets it up."""

from __future__ import annotations

import os
import re

import pytest

import kmemlab as km
from kmemlab.machine import Machine, direct_map_pages, parse_e820, qemu_e820

# this machine's firmware map (a real 6.18 guest with 1 GiB pages), from its dmesg
REAL_DMESG = """\
[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
[    0.000000] BIOS-e820: [mem 0x000000000009fc00-0x00000000000fffff] reserved
[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable
[    0.000000] BIOS-e820: [mem 0x00000000eec00000-0x00000000febfffff] reserved
[    0.000000] BIOS-e820: [mem 0x0000000100000000-0x000000063fffffff] usable
[    0.000839] Using GB pages for direct mapping
"""
# its /proc/meminfo after boot (set_memory_* and freeing the initrd split one 1G page)
REAL_DIRECTMAP_KB = {"4k": 30720, "2M": 2066432, "1G": 25165824}


def _kb(d):
    return d["4k"] * 4 + d["2M"] * 2048 + d["1G"] * (1 << 20)


def test_parse_e820_reads_the_bios_e820_lines_of_a_dmesg():
    e = parse_e820(REAL_DMESG)
    assert e[0] == (0, 0x9FC00, "usable") and e[-1] == (0x100000000, 0x640000000, "usable")
    with pytest.raises(ValueError, match="BIOS-e820"):
        parse_e820("nothing here")


def test_direct_map_of_this_machine_matches_its_meminfo():
    """The boot-time mapping covers exactly what the real kernel maps (the total is kept
    by later splits); its 1G count is the real one plus the pages split since boot."""
    e = parse_e820(REAL_DMESG)
    mem = [(max(s, 4096), t) for s, t, kind in e if kind == "usable"]
    got = direct_map_pages(mem, [(0, 1 << 20), (16 << 20, 64 << 20)], 0x640000000 >> 12,
                           gbpages=True)
    assert _kb(got) == sum(REAL_DIRECTMAP_KB.values())
    assert got["1G"] * (1 << 20) >= REAL_DIRECTMAP_KB["1G"]
    assert got == {"4k": 512, "2M": 511, "1G": 25}


def test_a_kernel_booted_on_this_machines_map():
    m = Machine(e820=REAL_DMESG, cpus=2, cpu_features={"pse", "pdpe1gb"})
    k = km.Kernel(version="6.12", machine=m)
    assert k.ram == (0x9FC00 + (0xC0000000 - 0x100000) + (0x640000000 - 0x100000000))
    assert any("0x0000000100000000-0x000000063fffffff] usable" in x for x in k.dmesg)
    info = k.proc("meminfo")
    assert re.search(r"^DirectMap1G: +26214400 kB$", info, re.M)
    assert "DirectMap1G" not in km.Kernel(version="6.12", machine=m, cmdline="nogbpages"
                                          ).proc("meminfo")


def test_the_default_qemu_machine_has_no_1g_pages():
    k = km.Kernel(version="6.12", ram="1G")
    info = k.proc("meminfo")
    assert "DirectMap1G" not in info
    d4 = int(re.search(r"^DirectMap4k: +(\d+) kB", info, re.M).group(1))
    d2 = int(re.search(r"^DirectMap2M: +(\d+) kB", info, re.M).group(1))
    # every RAM byte memblock knows is mapped once: [0, 1M) and the rest of the first
    # 2 MiB in 4k pages, the 2M-aligned middle in 2M pages, the unaligned top in 4k
    assert d4 + d2 == 1024 + (0x3FFE0000 - 0x100000) // 1024
    assert d2 == 510 * 2048 and d4 == 4 * (256 + 256 + 480)
    assert qemu_e820(1 << 30) == [tuple(x) for x in k.e820]


def test_machine_ram_and_cpus_and_errors():
    k = km.Kernel(version="6.1", machine=Machine(ram="512M", cpus=3))
    assert k.nr_cpus == 3 and k.ram == 512 << 20
    with pytest.raises(TypeError, match="Machine"):
        km.Kernel(machine={"ram": "1G"})
    with pytest.raises(ValueError, match="no usable RAM"):
        Machine(e820=[(0, 0x100000, "reserved")])
    with pytest.raises(TypeError, match="start, end, kind"):
        Machine(e820=[(0, 1)])


@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo"), reason="no /proc/cpuinfo")
def test_this_machines_cpu_flags_decide_directmap1g():
    flags = next(ln.split(":", 1)[1].split() for ln in open("/proc/cpuinfo")
                 if ln.startswith("flags"))
    k = km.Kernel(ram="1G", machine=Machine(cpu_features=flags))
    real = open("/proc/meminfo").read()
    assert ("DirectMap1G" in k.proc("meminfo")) == ("DirectMap1G" in real)
