"""Golden tests: the simulator's /proc text against the kernels' printf formats.

tests/golden/<file>_<version>_<arch>.fmt hold the kernel's format strings expanded
for a 1G, 2-CPU boot (one line per printed line; zone names and item names are
literal, numbers stay as printf conversions). They were written from the C sources
(mm/vmstat.c zoneinfo_show_print / vmstat_text[], fs/proc/meminfo.c, mm/hugetlb.c,
arch/x86/mm/pageattr.c of Debian 6.12.117 and 6.1.192; 3.15's from mm/vmstat.c at
449dd6984d0e and the 3.14-era meminfo.c), never from the simulator's output.
Each conversion becomes a regex with its width enforced (``%8lu`` right-aligned in
at least 8 columns, ``%lu`` with no padding), so the files pin names, order,
indentation and column widths byte for byte; a few values are checked by hand.
"""

import os
import re
from pathlib import Path

import pytest

import kmemlab as km

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
PROFILES = list(km.PROFILES)   # every profile has golden files (found by name)
FILES = {"zoneinfo": "zoneinfo", "meminfo": "meminfo", "pagetypeinfo": "pagetypeinfo",
         "buddyinfo": "buddyinfo", "unusable_index": "extfrag/unusable_index",
         "extfrag_index": "extfrag/extfrag_index"}

_CONV = re.compile(r"%(\d*)(lu|ld|u|i|d|03d)")


def _line_regex(fmt: str) -> tuple[re.Pattern, list[tuple[int, str]]]:
    """A printf line → (regex, [(width, conv)]) for each numeric conversion."""
    parts, convs, pos = [], [], 0
    for m in _CONV.finditer(fmt):
        parts.append(re.escape(fmt[pos:m.start()]))
        width, conv = m.group(1), m.group(2)
        if conv == "03d":
            parts.append(r"(-?\d{3,})")
            convs.append((3, "03d"))
        else:
            parts.append(r"( *-?\d+)")
            convs.append((int(width) if width else 0, conv))
        pos = m.end()
    parts.append(re.escape(fmt[pos:]))
    return re.compile("".join(parts)), convs


def _assert_matches(text: str, fmt_text: str, what: str) -> None:
    got = text.split("\n")
    want = fmt_text.split("\n")
    assert len(got) == len(want), f"{what}: {len(got)} lines, format has {len(want)}"
    for i, (line, fmt) in enumerate(zip(got, want, strict=True)):
        rx, convs = _line_regex(fmt)
        m = rx.fullmatch(line)
        assert m, f"{what} line {i + 1}: {line!r} does not match {fmt!r}"
        for g, (width, conv) in zip(m.groups(), convs, strict=True):
            if conv == "03d":
                continue
            # printf pads to the width with spaces and never truncates
            assert len(g) >= width, (what, i + 1, line)
            assert len(g) == width or not g.startswith(" "), (what, i + 1, line)


@pytest.fixture(scope="module", params=PROFILES, ids=lambda p: f"{p[0]}-{p[1]}")
def kernel(request):
    version, arch = request.param
    return km.Kernel(version=version, arch=arch, ram="1G", cpus=2)


@pytest.mark.parametrize("name", sorted(FILES))
def test_file_matches_kernel_format(kernel, name):
    p = kernel.profile
    fmt = (GOLDEN / f"{name}_{p.version}_{p.arch}.fmt").read_text()
    _assert_matches(kernel.proc(FILES[name]), fmt, f"{name} {p.name}")


def _hand_batch(managed, cap_pages):
    """zone_batchsize by hand: min(managed/1024, cap)/4, >=1, rounddown_pow_of_two(b+b/2)-1."""
    b = max(min(managed // 1024, cap_pages) // 4, 1)
    x = b + b // 2
    p2 = 1
    while p2 * 2 <= x:
        p2 *= 2
    return p2 - 1


def _fields(block, key):
    return [int(x) for x in re.findall(rf"^\s+{key}:\s+(-?\d+)$", block, re.M)]


def test_zoneinfo_pageset_values_by_hand(kernel):
    p = kernel.profile
    text = kernel.proc("zoneinfo")
    for z in kernel.zone_list:
        if not z.present:
            continue
        block = text.split(f"Node 0, zone {z.name:>8}\n")[1].split("\nNode 0, zone")[0]
        if p.version == "3.15":
            raw = _hand_batch(z.managed, 128)               # 512 KiB cap
            high, batch = 6 * raw, max(1, raw)              # pageset_set_batch
        else:
            batch = max(1, _hand_batch(z.managed, 256))     # 1 MiB cap
            high = max(z.low // 2, batch * 4)               # zone_highsize, 2 CPUs
        assert _fields(block, "count") == [0, 0]
        assert _fields(block, "high") == [high, high]
        assert _fields(block, "batch") == [batch, batch]
        mem = z.managed >> 15                               # 128 MiB units
        thr = min(125, 2 * 2 * (1 + mem.bit_length()))     # 2 * fls(2) * (1 + fls(mem))
        assert re.findall(r"vm stats threshold: (\d+)", block) == [str(thr)] * 2
        assert "start_pfn:" in block and block.rstrip().endswith(
            str(z.zone_start_pfn) if p.version != "3.15" else
            f"inactive_ratio:    {1 if z.managed < 262144 else 3}")


def test_3_15_dma_pageset_is_high_0_batch_1():
    # a 3.x DMA zone: zone_batchsize() = 0, so pageset_set_batch gives high 0, batch 1
    text = km.Kernel(version="3.15", ram="1G", cpus=2).proc("zoneinfo")
    dma = text.split("Node 0, zone    DMA32")[0]
    assert "              high:  0\n              batch: 1\n" in dma


def test_meminfo_values_by_hand(kernel):
    p = kernel.profile
    text = kernel.proc("meminfo")
    vals = dict(re.findall(r"^([\w()]+):\s+(\d+)", text, re.M))
    vals = {k: int(v) for k, v in vals.items()}
    zones = kernel.zone_list
    free = sum(z.free_pages for z in zones)
    assert vals["MemTotal"] == kernel.totalram_pages * 4
    assert vals["MemFree"] == free * 4
    if p.version == "3.15":
        avail = free - sum(z.watermark[1] for z in zones)  # 3.15: free - Σ low
    else:
        reserve = 0
        for i, z in enumerate(zones):
            reserve += min(max([0, *z.lowmem_reserve[i:]]) + z.high, z.managed)
        avail = free - reserve                               # si_mem_available
    assert vals["MemAvailable"] == max(0, avail) * 4
    assert vals["Hugepagesize"] == (2048 if p.is_64bit else 4096)
    if p.arch == "i386":
        assert vals["LowTotal"] + vals["HighTotal"] == vals["MemTotal"]
    else:
        assert vals["VmallocTotal"] == 34359738367  # (32 TiB - 1) >> 10


def test_meminfo_provider_feeds_mem_available():
    k = km.Kernel(version="6.12", ram="1G", cpus=2)
    base = int(re.search(r"MemAvailable:\s+(\d+)", k.proc("meminfo")).group(1))
    low = sum(z.low for z in k.zone_list)

    def hook(values):
        values["Active(file)"] = 40000 * 4
        values["Inactive(file)"] = 10000 * 4
        values["SReclaimable"] = 2000 * 4

    k.meminfo_providers.append(hook)   # after the process model's
    text = k.proc("meminfo")
    got = int(re.search(r"MemAvailable:\s+(\d+)", text).group(1))
    cache, recl = 50000, 2000
    want = base + (cache - min(cache // 2, low)) * 4 + (recl - min(recl // 2, low)) * 4
    assert got == want
    assert "Active:           160000 kB" in text and "KReclaimable:       8000 kB" in text
    assert "Slab:               8000 kB" in text


def test_extfrag_widths_per_version():
    class A:
        def __init__(self, n):
            self.nr_free = n

    class Z:
        name = "Normal"
        present = 1
        free_area = [A(4), A(0), A(1)] + [A(0)] * 8  # 8 free pages in 5 blocks

    from kmemlab import procfs

    # order 3: 1000 - (1000 + 8000/8) / 5 = 600; orders 0-2 have a suitable block
    want = {"6.12": "Node 0, zone   Normal -1.000 -1.000 -1.000  0.600  0.700 ",   # %2d.%03d
            "6.1": "Node 0, zone   Normal -1.000 -1.000 -1.000  0.600  0.700 ",
            "3.15": "Node 0, zone   Normal -1.000 -1.000 -1.000 0.600 0.700 "}    # %d.%03d
    for version, prefix in want.items():
        k = km.Kernel(version=version, ram="256M")
        k.page_alloc.zones = [Z()]
        assert procfs.extfrag_index(k).startswith(prefix), version
        # unusable_index is "%d.%03d " in every version
        assert procfs.unusable_index(k).startswith(
            "Node 0, zone   Normal 0.000 0.500 0.500 1.000 1.000 "), version


# ---------------------------------------------------------------- a real machine

def _real(path):
    try:
        return Path(path).read_text()
    except OSError:
        return None


# The names this machine's kernel (Linux 6.18 here) prints that 6.12.117 does not, and
# those 6.12.117 prints that a later or differently configured kernel may lack:
#   zone items:  nr_free_pages_blocks (6.16+); nr_unaccepted (UNACCEPTED_MEMORY),
#                nr_zspages (ZSMALLOC) depend on the config
#   node items:  pgpromote_candidate_nrl, pgdemote_proactive, nr_hugetlb,
#                nr_balloon_pages, nr_kernel_file_pages (after 6.12); nr_iommu_pages,
#                nr_swapcached, pgpromote_* depend on the config
#   pagesets:    6.12 prints "count: %i", "high:  %i", "batch: %i"; later kernels
#                print "count:    %i", "high:     %i", "batch:    %i", "high_min: %i",
#                "high_max: %i" (the torvalds-HEAD form), so only "count:" is compared
#   meminfo:     Balloon (6.16+); CmaTotal/CmaFree/Unaccepted/Zswap* are config-dependent
_REAL_ONLY_OK = {"nr_free_pages_blocks", "pgpromote_candidate_nrl", "pgdemote_proactive",
                 "nr_hugetlb", "nr_balloon_pages", "nr_kernel_file_pages", "Balloon"}


def _common_order(ours, theirs):
    common = [x for x in ours if x in set(theirs)]
    return common, [x for x in theirs if x in set(ours)]


@pytest.mark.skipif(_real("/proc/zoneinfo") is None, reason="no /proc/zoneinfo here")
def test_zoneinfo_structure_matches_this_machine():
    real = _real("/proc/zoneinfo")
    ours = km.Kernel(version="6.12", ram="1G", cpus=2).proc("zoneinfo")

    def first_zone(text):
        block = text.split("\nNode ")[0]
        return [line for line in block.split("\n")]

    r, o = first_zone(real), first_zone(ours)
    assert r[0] == o[0] == "Node 0, zone      DMA"
    assert r[1] == o[1] == "  per-node stats"
    # indentation and "%-12s %lu" layout of every counter line
    pat = re.compile(r"( {4}| {6})([a-z_]+) +(\d+)$")
    for line in r[2:] + o[2:]:
        if pat.fullmatch(line):
            name = pat.fullmatch(line).group(2)
            assert line.strip() == f"{name:<12} {line.split()[-1]}"

    def names(lines, start, stop):
        i = lines.index(start)
        j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith(stop))
        return [x.split()[0] for x in lines[i + 1:j]]

    node_o, node_r = _common_order(names(o, "  per-node stats", "  pages free"),
                                   names(r, "  per-node stats", "  pages free"))
    assert node_o == node_r and len(node_o) >= 40
    extra = set(names(r, "  per-node stats", "  pages free")) - set(
        names(o, "  per-node stats", "  pages free"))
    assert extra <= _REAL_ONLY_OK
    # the watermark block: labels, order and 8-space indent
    def wm_block(lines):
        i = next(k for k, x in enumerate(lines) if x.startswith("  pages free"))
        j = next(k for k, x in enumerate(lines) if "protection:" in x)
        return lines[i:j]

    wm_r, wm_o = wm_block(r), wm_block(o)
    assert [x.split()[0] for x in wm_r[1:]] == ["boost", "min", "low", "high", "promo",
                                                "spanned", "present", "managed", "cma"]
    assert [x[:17] for x in wm_o] == [x[:17] for x in wm_r]
    prot_r = next(x for x in r if "protection:" in x)
    assert re.fullmatch(r"        protection: \((\d+, )*\d+\)", prot_r)
    zs_o = [x.split()[0] for x in o[o.index(next(x for x in o if "protection" in x)) + 1:]
            if re.match(r" {6}[a-z]", x)]
    zs_r = [x.split()[0] for x in r[r.index(prot_r) + 1:] if re.match(r" {6}[a-z]", x)]
    a, b = _common_order(zs_o, zs_r)
    assert a == b and a[:1] == ["nr_free_pages"] and "numa_hit" in a
    assert set(zs_r) - set(zs_o) <= _REAL_ONLY_OK
    for text in (real, ours):
        assert re.search(r"^  pagesets\n    cpu: 0\n              count:", text, re.M)
        assert re.search(r"^  vm stats threshold: \d+$", text, re.M)
        assert re.search(r"^  node_unreclaimable:  \d+\n  start_pfn:           \d+$", text,
                         re.M)


@pytest.mark.skipif(_real("/proc/meminfo") is None, reason="no /proc/meminfo here")
def test_meminfo_structure_matches_this_machine():
    real = _real("/proc/meminfo").rstrip("\n").split("\n")
    # this machine's CPU flags (pdpe1gb → DirectMap1G) and config (no CMA lines)
    flags = _real("/proc/cpuinfo") or ""
    flags = next((ln.split(":", 1)[1].split() for ln in flags.splitlines()
                  if ln.startswith("flags")), ["pse"])
    config = "/proc/config.gz" if os.path.exists("/proc/config.gz") else None
    ours = km.Kernel(version="6.12", ram="1G", cpus=2, config=config,
                     machine=km.Machine(cpu_features=flags)).proc("meminfo")
    ours = ours.rstrip("\n").split("\n")
    rn = [x.split(":")[0] for x in real]
    on = [x.split(":")[0] for x in ours]
    a, b = _common_order(on, rn)
    assert a == b and len(a) >= 50
    assert set(rn) - set(on) <= _REAL_ONLY_OK
    # same layout for every common field: the number ends in the same column (16-byte
    # label + %8lu, or %5lu for HardwareCorrupted / HugePages_*) and the same unit
    shape = re.compile(r"(.+?:) *(\d+)( kB)?")
    real_by = {shape.fullmatch(x).group(1): x for x in real}
    checked = 0
    for line in ours:
        m = shape.fullmatch(line)
        rl = real_by.get(m.group(1))
        if rl is None:
            continue
        rm = shape.fullmatch(rl)
        assert (m.group(3) is None) == (rm.group(3) is None), line
        if len(m.group(2)) <= 5 and len(rm.group(2)) <= 5:
            assert len(line) == len(rl), (line, rl)  # both padded to the same width
            checked += 1
    assert checked >= 30


def test_golden_files_exist_for_every_profile(profile):
    """A new profile needs its golden files (found by profile name)."""
    for name in FILES:
        path = GOLDEN / f"{name}_{profile.version}_{profile.arch}.fmt"
        assert path.is_file(), f"write {path.name} from that kernel's format strings"
