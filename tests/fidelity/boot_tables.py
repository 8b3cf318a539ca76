"""Field-by-field comparison of a simulated machine with a real kernel's /proc files.

The real files are the ones recorded at the end of a real Debian boot under QEMU
(``kmemlab/data/boots/<version>/``, tools/record-boot). Used by test_boot_fidelity.py;
run as a script to print the error tables::

    python tests/fidelity/boot_tables.py booted 6.12
    python tests/fidelity/boot_tables.py replay 6.1
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from kmemlab.procfs import parse_buddyinfo, parse_meminfo


@dataclass
class Row:
    field: str
    real: int
    sim: int

    @property
    def error(self) -> int:
        return self.sim - self.real

    @property
    def rel(self) -> float:
        return abs(self.error) / self.real if self.real else (0.0 if not self.sim else 1.0)


meminfo = parse_meminfo


def vmstat(text: str) -> dict[str, int]:
    return {f[0]: int(f[1]) for f in (line.split() for line in text.splitlines())
            if len(f) == 2 and f[1].lstrip("-").isdigit()}


def slabinfo(text: str) -> dict[str, tuple[int, ...]]:
    out = {}
    for line in text.splitlines()[2:]:
        f = line.split()
        if f:
            out[f[0]] = tuple(int(x) for x in f[1:6])   # active num objsize perslab pages
    return out


def pagetypeinfo(text: str) -> tuple[dict, dict]:
    """({(zone, type): [free blocks per order]}, {(zone, type): pageblocks})."""
    free, blocks = {}, {}
    types: list[str] = []
    for line in text.splitlines():
        m = re.match(r"Node\s+\d+, zone\s+(\S+), type\s+(\S+)\s+(.*)", line)
        if m:
            free[(m.group(1), m.group(2))] = [int(x) for x in m.group(3).split()]
            continue
        if line.startswith("Number of blocks type"):
            types = line.split()[4:]
            continue
        m = re.match(r"Node\s+\d+, zone\s+(\S+)\s+([\d\s]+)$", line)
        if m and types:
            for t, n in zip(types, m.group(2).split()):
                blocks[(m.group(1), t)] = int(n)
    return free, blocks


def buddy_rows(real: str, sim: str) -> list[Row]:
    r, s = parse_buddyinfo(real), parse_buddyinfo(sim)
    return [Row(f"{zone} order {o}", r[zone][o], s.get(zone, [0] * 11)[o])
            for zone in r for o in range(len(r[zone]))]


def pagetype_rows(real: str, sim: str) -> tuple[list[Row], list[Row]]:
    rf, rb = pagetypeinfo(real)
    sf, sb = pagetypeinfo(sim)
    free = []
    for key, counts in rf.items():
        scounts = sf.get(key, [0] * len(counts))
        free.append(Row(f"{key[0]} {key[1]} free pages",
                        sum(n << o for o, n in enumerate(counts)),
                        sum(n << o for o, n in enumerate(scounts))))
    blocks = [Row(f"{z} {t} pageblocks", n, sb.get((z, t), 0)) for (z, t), n in rb.items()]
    return free, blocks


MEMINFO_MODELLED = ("MemTotal", "MemFree", "Slab", "SReclaimable", "SUnreclaim")
VMSTAT_MODELLED = ("nr_free_pages", "nr_free_cma", "nr_slab_reclaimable",
                   "nr_slab_unreclaimable", "pgalloc_dma", "pgalloc_dma32", "pgfree",
                   "pgpgout", "compact_stall", "pgmigrate_success")


def meminfo_rows(real: str, sim: str, fields=MEMINFO_MODELLED) -> list[Row]:
    r, s = meminfo(real), meminfo(sim)
    return [Row(f, r[f], s.get(f, 0)) for f in fields if f in r]


def vmstat_rows(real: str, sim: str, fields=VMSTAT_MODELLED) -> list[Row]:
    r, s = vmstat(real), vmstat(sim)
    return [Row(f, r[f], s[f]) for f in fields if f in r and f in s]


def slab_rows(real: str, sim: str) -> list[tuple[str, tuple, tuple]]:
    r, s = slabinfo(real), slabinfo(sim)
    return [(name, vals, s.get(name)) for name, vals in r.items()]


def table(title: str, rows: list[Row]) -> str:
    out = [f"{title}", "| field | real | sim | error | rel |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r.field} | {r.real} | {r.sim} | {r.error:+d} | {r.rel:.2%} |")
    return "\n".join(out)


def booted(version: str):
    import kmemlab as km
    from kmemlab.boot_state import boot_data
    return km.Kernel(version=version, state="booted"), boot_data(version)["proc"]


def replayed(version: str):
    from kmemlab.boot_state import boot_data, boot_trace_path
    from kmemlab.replay import Replayer
    r = Replayer(boot_trace_path(version), version=version, keep_trace=False).run()
    return r.kernel, boot_data(version)["proc"]


def report(k, real: dict) -> str:
    sim = {name: k.proc(name) for name in ("buddyinfo", "pagetypeinfo", "meminfo",
                                            "vmstat", "slabinfo")}
    free, blocks = pagetype_rows(real["pagetypeinfo"], sim["pagetypeinfo"])
    parts = [table("buddyinfo (free blocks per order)",
                   buddy_rows(real["buddyinfo"], sim["buddyinfo"])),
             table("pagetypeinfo: free pages per type", [r for r in free if r.real or r.sim]),
             table("pagetypeinfo: pageblocks per type", [r for r in blocks if r.real or r.sim]),
             table("meminfo (kB)", meminfo_rows(real["meminfo"], sim["meminfo"])),
             table("vmstat", vmstat_rows(real["vmstat"], sim["vmstat"]))]
    rows = slab_rows(real["slabinfo"], sim["slabinfo"])
    exact = sum(1 for _n, r, s in rows if s is not None and r[:2] == s[:2])
    used = [(n, r, s) for n, r, s in rows if r[1]]
    exact_used = sum(1 for _n, r, s in used if s is not None and r[:2] == s[:2])
    lines = [f"slabinfo: {exact}/{len(rows)} caches with active_objs and num_objs exact "
             f"({exact_used}/{len(used)} of the caches in use)",
             "| cache | real active/num/objsize/perslab/pages | sim |", "|---|---|---|"]
    for n, r, s in rows:
        if s is None or r != s:
            lines.append(f"| {n} | {'/'.join(map(str, r))} | "
                         f"{'/'.join(map(str, s)) if s else 'missing'} |")
    parts.append("\n".join(lines))
    return "\n\n".join(parts)


if __name__ == "__main__":
    mode, version = sys.argv[1], sys.argv[2]
    k, real = (booted if mode == "booted" else replayed)(version)
    print(report(k, real))
