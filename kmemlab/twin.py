"""A simulated twin of a real machine: ``Kernel.from_this_machine()`` / ``from_snapshot(dir)``.

The twin is a :class:`~kmemlab.kernel.Kernel` booted on the nearest profile with the
real machine's

* firmware map: the ``BIOS-e820:`` lines of dmesg where this user may read them, else
  a map rebuilt from each zone's ``start_pfn``/``spanned``/``present`` in /proc/zoneinfo
  (so every zone spans and holds the same pages);
* CPU count (``/sys/devices/system/cpu/present``: num_present_cpus(), which SLUB's
  calculate_order uses) and the ``slub_*``/``slab_*``/``swiotlb=``/``mem=`` words of
  /proc/cmdline;
* managed pages per zone: after the model's own boot reservations, each zone gives up
  the pages the real kernel does not manage (firmware tables, a larger kernel image,
  memmap, crash kernel, and on machines with deferred struct-page init the pages not
  initialised yet) as memblock reservations named for why, so ``zone.managed`` is the
  real figure and the watermarks follow from the kernel's formulas
  (mm/page_alloc.c: __setup_per_zone_wmarks, setup_per_zone_lowmem_reserve);
* vm sysctls: ``min_free_kbytes`` (when it differs from what the formula gives, e.g.
  set by hand), ``watermark_scale_factor``, ``lowmem_reserve_ratio``, the THP mode.

What a twin cannot be is listed in ``k.twin.cannot_match`` (pages already used by the
running system, per-CPU list contents, caches of drivers the model does not have...),
and ``k.twin.compare()`` puts each real figure next to the twin's.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field

from .kernel import E820_RAM, Kernel
from .machine import QEMU_CPU_FEATURES, Machine
from .profiles import PROFILES, Profile
from .snapshot import MachineFacts, MachineUnreadable, read_machine

PAGE_SHIFT = 12

# /proc/cmdline words the model honours; everything else is not passed to the twin.
_CMDLINE_KEEP = ("slub_", "slab_", "swiotlb=", "mem=", "cma=")
# memory-related words the model does not model (reported, not silently dropped)
_CMDLINE_NOTE = ("kernelcore=", "movablecore=", "hugepages=", "hugepagesz=",
                 "default_hugepagesz=", "transparent_hugepage=", "page_reporting.",
                 "deferred_init", "numa=", "init_on_alloc=", "init_on_free=",
                 "page_alloc.shuffle=", "crashkernel=", "memmap=")
SLAB_COMPARE = ("object_size", "slab_size", "objs_per_slab", "order", "align",
                "cpu_partial", "min_partial", "sheaf_capacity")
ZONE_COMPARE = ("spanned", "present", "managed", "min", "low", "high", "promo")


def _profile_version(p: Profile) -> tuple[int, int]:
    major, minor = p.version.split(".")[:2]
    return int(major), int(minor)


def nearest_profile(facts: MachineFacts) -> tuple[Profile, list[str]]:
    """The newest profile not newer than the machine's kernel, on its architecture.

    Returns the profile and notes that say why it was chosen; raises
    :class:`MachineUnreadable` when no profile fits (another architecture, or a kernel
    older than every profile).
    """
    arch = {"amd64": "x86_64", "i686": "i386", "i586": "i386", "x86": "i386"}.get(
        facts.machine, facts.machine)
    ours = sorted((p for p in PROFILES.values() if p.arch == arch), key=_profile_version)
    if not ours:
        archs = sorted({p.arch for p in PROFILES.values()})
        raise MachineUnreadable(
            f"{facts.source} is a {facts.machine} machine; kmemlab has profiles for "
            f"{', '.join(archs)} only, so it cannot build a twin of it")
    have = facts.version
    older = [p for p in ours if _profile_version(p) <= have]
    if not older:
        raise MachineUnreadable(
            f"{facts.source} runs Linux {facts.release}, older than every {arch} profile "
            f"({', '.join(p.version for p in ours)}); kmemlab cannot model it")
    p = older[-1]
    notes = []
    if _profile_version(p) == have:
        notes.append(f"profile {p.name}: the machine runs Linux {facts.release}")
    else:
        newer = [q.version for q in ours if _profile_version(q) > have]
        what = (f"the nearest older one (next: {newer[0]})" if newer
                else "the newest kmemlab has; changes after it are not modelled")
        notes.append(f"profile {p.name}: the machine runs Linux {facts.release}, "
                     f"{p.version} is {what}")
    return p, notes


# ====================================================================== the firmware map

def e820_from_zoneinfo(facts: MachineFacts) -> list[tuple[int, int, str]]:
    """A firmware map with each zone's span and present pages (when dmesg is closed).

    The hole of a zone (spanned - present) is put where PCs have it: 640 KiB-1 MiB in
    the DMA zone (the BIOS area), the rest at the top of the zone (the PCI hole below
    4 GiB in DMA32).
    """
    zones = facts.zones
    starts = facts.zone_start_pfn
    out: list[tuple[int, int, str]] = []
    for name, z in zones.items():
        present, spanned = z.get("present", 0), z.get("spanned", 0)
        if not present or name not in starts:
            continue
        lo = starts[name]
        hole = spanned - present
        runs = [(lo, lo + spanned - hole)]
        if name == "DMA" and lo <= 1 and hole >= 0x61 and spanned > 0x100:
            runs = [(0, 0x9F), (0x100, lo + spanned - (hole - 0x61))]
        for a, b in runs:
            if b > a:
                out.append((a << PAGE_SHIFT, b << PAGE_SHIFT, E820_RAM))
    return out


class TwinKernel(Kernel):
    """A Kernel whose firmware map, managed pages and vm sysctls come from a real machine.

    Build one with :func:`boot_twin` (or ``Kernel.from_this_machine()`` /
    ``Kernel.from_snapshot(dir)``); it is a Kernel in every other respect.
    """

    def __init__(self, facts: MachineFacts, **kwargs) -> None:
        self._twin_facts = facts
        super().__init__(**kwargs)

    def _hand_over(self) -> None:
        """Hold back the pages the real kernel does not manage, then memblock_free_all."""
        real = self._twin_facts.zones
        self.twin_reserved: dict[str, int] = {}
        self.twin_short: dict[str, int] = {}
        for z in self.page_alloc.zones:
            r = real.get(z.name)
            if not z.present or not r or "managed" not in r:
                continue
            lo, hi = z.zone_start_pfn << PAGE_SHIFT, z.zone_end_pfn << PAGE_SHIFT
            ranges = [(max(a, lo), min(b, hi)) for a, b in self.memblock.free_ranges()
                      if b > lo and a < hi]
            ranges = [(a, b) for a, b in ranges
                      if (b >> PAGE_SHIFT) > ((a + (1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT)]
            free = sum((b >> PAGE_SHIFT) - ((a + (1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT)
                       for a, b in ranges)
            extra = free - r["managed"]
            if extra < 0:
                self.twin_short[z.name] = -extra
                continue
            self.twin_reserved[z.name] = extra
            why = self._twin_reason(z.name, r)
            for a, b in sorted(ranges, reverse=True):  # top-down, like memblock
                if extra <= 0:
                    break
                b_pfn = b >> PAGE_SHIFT
                a_pfn = (a + (1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT
                take = min(extra, b_pfn - a_pfn)
                self.memblock.reserve((b_pfn - take) << PAGE_SHIFT, take << PAGE_SHIFT, why)
                extra -= take
        super()._hand_over()

    def _twin_reason(self, zone: str, real: dict) -> str:
        f = self._twin_facts
        deferred = f.config.get("CONFIG_DEFERRED_STRUCT_PAGE_INIT") == "y"
        if deferred and zone == "Normal" and real["managed"] < real.get("present", 0) * 0.9:
            return "twin: struct pages not initialised yet on the real machine (deferred init)"
        return "twin: not managed on the real machine (firmware, kernel, memmap, ...)"

    def _init_watermarks(self) -> None:
        """The real vm sysctls, then init_per_zone_wmark_min as the kernel runs it."""
        f = self._twin_facts
        p = self.profile
        if f.watermark_scale_factor is not None and \
                f.watermark_scale_factor != p.watermark_scale_factor:
            self.vm_sysctl["watermark_scale_factor"] = f.watermark_scale_factor
        ratio = f.lowmem_reserve_ratio
        if ratio is not None and ratio != tuple(p.lowmem_reserve_ratio) and \
                len(ratio) == len(p.lowmem_reserve_ratio):
            self.vm_sysctl["lowmem_reserve_ratio"] = ratio
        super()._init_watermarks()
        self.twin_formula_min_free_kbytes = self.min_free_kbytes
        if f.min_free_kbytes is not None and f.min_free_kbytes != self.min_free_kbytes:
            # set by hand (sysctl vm.min_free_kbytes) or left from a hotplug/deferred
            # history: the real value is what the watermarks were computed from
            self.min_free_kbytes = f.min_free_kbytes
            self._recompute_watermarks()
        mode = f.thp_enabled
        if mode and p.thp_supported:
            self.thp_enabled = mode


@dataclass
class TwinReport:
    """How the twin was built and what it cannot match (``k.twin``)."""

    facts: MachineFacts
    profile: Profile
    notes: list[str] = field(default_factory=list)
    cannot_match: list[str] = field(default_factory=list)
    kernel: Kernel | None = field(default=None, repr=False)

    def summary(self) -> str:
        lines = [self.facts.describe()]
        lines += [f"  {n}" for n in self.notes]
        if self.cannot_match:
            lines.append("It cannot match:")
            lines += [f"  - {n}" for n in self.cannot_match]
        return "\n".join(lines)

    # ------------------------------------------------------------------ comparison
    def compare_zones(self) -> list[tuple[str, str, object, object]]:
        """(zone, field, real, twin) for every zone field the real zoneinfo shows."""
        k = self.kernel
        rows = []
        for name, r in self.facts.zones.items():
            z = k.zones.get(name)
            if z is None or not r.get("present"):
                continue
            for f in ZONE_COMPARE:
                if f in r:
                    rows.append((name, f, r[f], getattr(z, f)))
            if "protection" in r:
                rows.append((name, "protection", tuple(r["protection"]),
                             tuple(z.lowmem_reserve)))
        if self.facts.min_free_kbytes is not None:
            rows.append(("vm", "min_free_kbytes", self.facts.min_free_kbytes,
                         getattr(k, "twin_formula_min_free_kbytes", k.min_free_kbytes)))
        return rows

    def compare_caches(self) -> list[tuple[str, str, object, object]]:
        """(cache, attribute, real, twin) for every real cache the twin also has."""
        k = self.kernel
        rows = []
        for name, attrs in self.facts.slab.items():
            c = k.slub.slab_caches.get(name)
            if c is None:
                continue
            for a in SLAB_COMPARE:
                if a in attrs and hasattr(c, a):
                    rows.append((name, a, attrs[a], getattr(c, a)))
        return rows

    def compare(self) -> list[tuple[str, str, object, object]]:
        return self.compare_zones() + self.compare_caches()

    def agreement(self) -> dict[str, tuple[int, int]]:
        """{"zones": (equal, total), "caches": (equal, total)}: stable to print."""
        out = {}
        for what, rows in (("zones", self.compare_zones()), ("caches", self.compare_caches())):
            out[what] = (sum(1 for r in rows if r[2] == r[3]), len(rows))
        return out

    def table(self, rows=None, only_differences: bool = False) -> str:
        rows = self.compare() if rows is None else rows
        out = [f"{'what':<24} {'field':<16} {'real':>14} {'twin':>14}"]
        for a, b, real, twin in rows:
            if only_differences and real == twin:
                continue
            mark = "" if real == twin else "   <- differs"
            out.append(f"{a:<24} {b:<16} {str(real):>14} {str(twin):>14}{mark}")
        return "\n".join(out)


def _twin_cmdline(facts: MachineFacts) -> tuple[str, list[str]]:
    keep, ignored = [], []
    for word in facts.cmdline.split():
        if word == "--":
            break  # the rest goes to init
        if word.startswith(_CMDLINE_KEEP):
            keep.append(word)
        elif word.startswith(_CMDLINE_NOTE):
            ignored.append(word)
    return " ".join(keep), ignored


def boot_twin(facts: MachineFacts, *, seed: int = 0) -> Kernel:
    """Boot the twin of ``facts`` (see the module docstring); ``k.twin`` says how."""
    profile, notes = nearest_profile(facts)
    if facts.nodes > 1:
        notes.append(f"the machine has {facts.nodes} NUMA nodes; the twin models node 0")
    zones = facts.zones
    if not any(z.get("present") for z in zones.values()):
        raise MachineUnreadable(f"{facts.source}: /proc/zoneinfo shows no populated zone")
    e820 = facts.e820
    if e820:
        notes.append("firmware map: the BIOS-e820 lines of dmesg")
    else:
        e820 = e820_from_zoneinfo(facts)
        notes.append("firmware map: rebuilt from /proc/zoneinfo (dmesg "
                     f"{facts.missing.get('dmesg-mm', 'has no BIOS-e820 lines')})")
    cmdline, ignored = _twin_cmdline(facts)
    cpus = max(1, min(256, facts.cpus))
    # the CPU features the model reads: DirectMap1G in meminfo means 1 GiB pages in use
    features = set(QEMU_CPU_FEATURES)
    if "DirectMap1G" in facts.meminfo:
        features.add("pdpe1gb")
    dmi = next((ln.split("DMI: ", 1)[1].strip() for ln in facts.dmesg if "DMI: " in ln), None)
    machine = Machine(cpus=cpus, e820=tuple(e820), cpu_features=frozenset(features),
                      **({"name": dmi} if dmi else {}))
    kwargs = dict(version=profile.version, arch=profile.arch, cmdline=cmdline, seed=seed,
                  machine=machine)
    cannot = []
    if facts.config:
        # the machine's own .config, complete: a declared option it does not set is off
        from .kconfig import OPTIONS
        config = {n: (None if facts.config.get(n, "n") == "n" else facts.config[n])
                  for n in OPTIONS}
        try:
            k = TwinKernel(facts, config=config, **kwargs)
            notes.append(f"config: {facts.config_source or 'the saved config'}")
        except ValueError as exc:
            cannot.append(f"config: the model cannot honour it ({exc}); the twin boots "
                          f"with the {profile.name} defaults")
            k = TwinKernel(facts, **kwargs)
    else:
        k = TwinKernel(facts, **kwargs)
    for name, short in getattr(k, "twin_short", {}).items():
        cannot.append(f"{name}: the model's own boot reservations leave {short} pages "
                      "fewer than the machine manages")
    if "Normal" in getattr(k, "twin_reserved", {}) and \
            k._twin_reason("Normal", zones.get("Normal", {})).find("deferred") >= 0:
        cannot.append("Normal: the machine is still initialising struct pages (deferred "
                      "struct-page init); its managed pages and watermarks grow as it runs, "
                      "the twin is fixed at the moment the files were read")
    mt = facts.meminfo.get("MemTotal")
    twin_mt = k.totalram_pages << (PAGE_SHIFT - 10)
    if mt is not None and mt != twin_mt:
        cannot.append(f"MemTotal: {mt} kB on the machine, {twin_mt} kB (the sum of managed "
                      "pages) in the twin")
    if getattr(k, "twin_formula_min_free_kbytes", None) != k.min_free_kbytes:
        cannot.append(f"min_free_kbytes: the formula gives {k.twin_formula_min_free_kbytes}, "
                      f"the machine has {k.min_free_kbytes} (set by hand or left by its "
                      "history); the twin uses the machine's")
    free = sum(z.get("free", 0) for z in zones.values())
    cannot.append(f"free pages: the machine has {free} free, the twin {k.nr_free_pages()} "
                  "(a running system has page cache, processes and slabs in use; the twin "
                  "has just booted)")
    cannot.append("per-CPU page lists and slab caches of drivers and filesystems the model "
                  "does not have")
    if ignored:
        cannot.append("command-line words about memory the model does not model: "
                      + " ".join(ignored))
    for rel in ("config", "sys/kernel/slab", "proc/pagetypeinfo", "proc/slabinfo"):
        if rel in facts.missing:
            cannot.append(f"{rel}: {facts.missing[rel]}")
    k.twin = TwinReport(facts=facts, profile=profile, notes=notes, cannot_match=cannot,
                        kernel=k)
    k.printk(f"kmemlab twin of {facts.source} (Linux {facts.release}) on profile "
             f"{profile.name}")
    return k


def from_this_machine(*, seed: int = 0) -> Kernel:
    """``Kernel.from_this_machine()``: read this machine now and boot its twin."""
    return boot_twin(read_machine(), seed=seed)


def from_snapshot(path: str | os.PathLike, *, seed: int = 0) -> Kernel:
    """``Kernel.from_snapshot(dir)``: boot the twin of a saved machine snapshot."""
    return boot_twin(read_machine(path), seed=seed)


# ====================================================================== CLI

def _cmd_twin(args) -> int:
    try:
        k = from_snapshot(args.snapshot) if args.snapshot else from_this_machine()
    except (MachineUnreadable, ValueError, TypeError) as exc:
        print(f"kmemlab twin: {exc}", file=sys.stderr)
        return 2
    print(k.twin.summary())
    print()
    rows = k.twin.compare_zones() if not args.caches else k.twin.compare()
    print(k.twin.table(rows, only_differences=args.differences))
    agree = k.twin.agreement()
    print()
    for what, (eq, total) in agree.items():
        print(f"{what}: {eq} of {total} figures equal")
    if args.proc:
        print()
        sys.stdout.write(k.proc(args.proc))
    return 0


def _cmd_snapshot(args) -> int:
    from .snapshot import save
    try:
        facts = save(args.dir)
    except (MachineUnreadable, ValueError, OSError) as exc:
        print(f"kmemlab snapshot: {exc}", file=sys.stderr)
        return 2
    print(f"saved {len(facts.texts)} files of {facts.describe()} in {args.dir}")
    for rel, why in sorted(facts.missing.items()):
        print(f"  not saved: {rel} ({why})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("twin", help="boot a simulated twin of this machine (or of a snapshot) "
                                    "and compare them")
    p.add_argument("--snapshot", metavar="DIR", default=None,
                   help="a directory saved by `kmemlab snapshot` (default: this machine)")
    p.add_argument("--caches", action="store_true", help="also compare the slab caches")
    p.add_argument("--differences", action="store_true", help="print only what differs")
    p.add_argument("--proc", metavar="FILE", default=None,
                   help="also print the twin's /proc FILE (e.g. zoneinfo)")
    p.set_defaults(func=_cmd_twin)
    p = sub.add_parser("snapshot", help="save what kmemlab reads of this machine in DIR")
    p.add_argument("dir", metavar="DIR")
    p.set_defaults(func=_cmd_snapshot)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - python -m
    parser = argparse.ArgumentParser(prog="kmemlab")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


# ====================================================================== /proc layouts

# a number, with pagetypeinfo's ">" for a free list counted up to 100000 ("%s%6lu")
_NUM = re.compile(r">?-?\d+")


def _line_shape(line: str) -> tuple[str, list[tuple[int, int]]]:
    """(the text without numbers or spaces, [(start, end) column of each number])."""
    spans = [(m.start(), m.end()) for m in _NUM.finditer(line)]
    return re.sub(r"\s+", " ", _NUM.sub("N", line)).strip(), spans


def line_layout_matches(real: str, sim: str) -> bool:
    """Same words in the same order, every number where the real one is.

    A number is in the same place when it starts in the same column (a left-aligned
    field, ``%-12s %lu``) or ends in the same column (a right-aligned one, ``%8lu``);
    numbers of different widths cannot share both.
    """
    (rt, rs), (st, ss) = _line_shape(real), _line_shape(sim)
    if rt != st or len(rs) != len(ss):
        return False
    return all(a[0] == b[0] or a[1] == b[1] for a, b in zip(rs, ss))


def layout_differences(real: str, sim: str, *, skip: str | None = None) -> list[str]:
    """The lines where ``sim`` is not laid out like ``real`` (fields, order, spacing).

    Lines are paired in order; a line only one side has is reported as missing or
    extra. ``skip``: a regex of lines to leave out on both sides (e.g. per-process
    entries).
    """
    import difflib

    def keep(text):
        lines = text.splitlines()
        return [ln for ln in lines if not (skip and re.search(skip, ln))]

    a, b = keep(real), keep(sim)
    sa = [_line_shape(x)[0] for x in a]
    sb = [_line_shape(x)[0] for x in b]
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, sa, sb, autojunk=False).get_opcodes():
        if op == "equal":
            for x, y in zip(a[i1:i2], b[j1:j2]):
                if not line_layout_matches(x, y):
                    out.append(f"spacing: real {x!r} / twin {y!r}")
            continue
        for x in a[i1:i2]:
            out.append(f"only on the machine: {x!r}")
        for y in b[j1:j2]:
            out.append(f"only in the twin: {y!r}")
    return out
