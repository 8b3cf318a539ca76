"""What an unprivileged user can read about a real Linux machine's memory, saved or live.

A *machine snapshot* is a directory of small text files that mirrors the paths it was
read from (``proc/zoneinfo``, ``sys/kernel/mm/transparent_hugepage/enabled``, ...) plus
three digests that would otherwise be large:

``uname``           ``os.uname()``: release and machine (``uname -r``, ``uname -m``)
``config``          the ``CONFIG_*`` lines of ``/proc/config.gz`` or
                    ``/boot/config-$(uname -r)`` that name memory-management options
``dmesg-mm``        the boot-log lines about memory (``BIOS-e820:``, ``Memory:``,
                    ``Zone ranges``, ``percpu:``, ``deferred``), where ``dmesg`` is readable
``sys/kernel/slab`` one line per cache of ``/sys/kernel/slab/*/``: its geometry
                    attributes, or ``alias -> target`` for a merged cache's symlink
``MANIFEST``        what was read, from where, and what could not be read and why

:func:`save` writes one (``kmemlab snapshot DIR``); :func:`read_machine` reads either the
live machine (``source=None``) or a saved directory into a :class:`MachineFacts`. Files
that a kernel only lets root read (``/proc/pagetypeinfo``, ``/proc/slabinfo``) or that
are absent are recorded as missing with the reason; nothing here raises for a missing
file except :func:`read_machine` when the machine is not a Linux with ``/proc`` at all
(:class:`MachineUnreadable`, a ``ValueError`` whose message says what was missing).
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
from dataclasses import dataclass, field

from .procfs import parse_meminfo

FORMAT = "kmemlab machine snapshot 1"

# Plain files copied as they are (relative to /).  vmallocinfo is long on a busy machine;
# only its first lines are kept (its layout, not its contents, is what is compared).
TEXT_FILES = (
    "proc/zoneinfo", "proc/meminfo", "proc/buddyinfo", "proc/pagetypeinfo",
    "proc/slabinfo", "proc/vmallocinfo", "proc/cmdline", "proc/sys/vm/min_free_kbytes",
    "proc/sys/vm/watermark_scale_factor", "proc/sys/vm/lowmem_reserve_ratio",
    "proc/sys/vm/watermark_boost_factor",
    "sys/kernel/mm/transparent_hugepage/enabled",
    "sys/devices/system/cpu/present", "sys/devices/system/cpu/possible",
    "sys/devices/system/cpu/online",
)
TRUNCATE_LINES = {"proc/vmallocinfo": 40}

# The sysfs attributes of a cache that describe its geometry and tuning (mm/slub.c,
# the *_show functions of the SLAB_ATTR_RO table); sheaf_capacity exists from 6.18.
SLAB_ATTRS = ("object_size", "slab_size", "objs_per_slab", "order", "align",
              "cpu_partial", "min_partial", "sheaf_capacity", "reclaim_account",
              "cache_dma", "hwcache_align", "destroy_by_rcu", "ctor")

# Kconfig options about memory management worth keeping (prefixes of the option name).
CONFIG_PREFIXES = (
    "CONFIG_SLAB", "CONFIG_SLUB", "CONFIG_KMALLOC", "CONFIG_RANDOM_KMALLOC",
    "CONFIG_CMA", "CONFIG_MEMCG", "CONFIG_ZONE_", "CONFIG_HIGHMEM", "CONFIG_NR_CPUS",
    "CONFIG_KASAN", "CONFIG_TRANSPARENT_HUGEPAGE", "CONFIG_DEBUG_ATOMIC_SLEEP",
    "CONFIG_DEFERRED_STRUCT_PAGE_INIT", "CONFIG_PAGE_REPORTING", "CONFIG_NUMA",
    "CONFIG_SPARSEMEM", "CONFIG_MEMORY_HOTPLUG", "CONFIG_PREEMPT", "CONFIG_HUGETLB",
    "CONFIG_INIT_ON_", "CONFIG_SHUFFLE_PAGE", "CONFIG_COMPACTION", "CONFIG_MIGRATION",
    "CONFIG_ARCH_FORCE_MAX_ORDER", "CONFIG_PAGE_BLOCK_ORDER", "CONFIG_PCP_BATCH",
    "CONFIG_X86_5LEVEL", "CONFIG_PGTABLE_LEVELS", "CONFIG_PHYSICAL_START",
    "CONFIG_LOCKDEP", "CONFIG_PROVE_LOCKING", "CONFIG_DEBUG_VM", "CONFIG_VMAP_STACK",
    "CONFIG_SWIOTLB", "CONFIG_MEM_ALLOC_PROFILING", "CONFIG_ZSWAP", "CONFIG_KFENCE",
    "CONFIG_HARDENED_USERCOPY", "CONFIG_PAGE_POISONING", "CONFIG_DEBUG_PAGEALLOC",
    "CONFIG_HAVE_ARCH_TRANSPARENT", "CONFIG_LOCALVERSION", "CONFIG_PAGE_BLOCK_MAX_ORDER",
    "CONFIG_UNACCEPTED_MEMORY", "CONFIG_MEMORY_FAILURE", "CONFIG_ZSMALLOC", "CONFIG_SWAP",
    "CONFIG_MEMORY_BALLOON", "CONFIG_BALLOON_COMPACTION", "CONFIG_VIRTIO_BALLOON",
    "CONFIG_LRU_GEN", "CONFIG_RANDOMIZE_", "CONFIG_SECRETMEM", "CONFIG_ZONE_DEVICE",
    "CONFIG_DEBUG_KMEMLEAK", "CONFIG_X86_64", "CONFIG_64BIT", "CONFIG_SMP",
    "CONFIG_X86_DIRECT_GBPAGES",
)
_CONFIG_LINE = re.compile(r"^(?:(CONFIG_\w+)=(.*)|# (CONFIG_\w+) is not set)$")
_DMESG_KEEP = re.compile(
    r"(BIOS-e820:|e820: (update|remove)|Memory: \d+K/\d+K|Zone ranges|^\s+(DMA|DMA32|Normal|"
    r"Movable|Device|HighMem)\s+(\[mem|empty)|Early memory node ranges|node\s+\d+: \[mem|"
    r"percpu: Embedded|deferred|Linux version|Command line:|SLUB: HWalign|Built \d+ zonelists|"
    r"On node \d+, zone|Initmem setup|Faking a node|NUMA|Movable zone start|"
    r"Hypervisor detected|DMI: |Using GB pages)")


class MachineUnreadable(ValueError):
    """The machine (or saved snapshot) cannot be read well enough to build a twin."""


@dataclass
class MachineFacts:
    """What kmemlab knows about one real machine, parsed from its files."""

    source: str                       # "this machine" or the snapshot directory
    release: str                      # uname -r, e.g. "6.18.44-fc-v1147"
    machine: str                      # uname -m, e.g. "x86_64"
    texts: dict[str, str] = field(default_factory=dict)   # relative path -> text
    missing: dict[str, str] = field(default_factory=dict)  # relative path -> why
    config: dict[str, str] = field(default_factory=dict)   # CONFIG_X -> "y"/"n"/value
    config_source: str | None = None
    slab: dict[str, dict[str, int | str]] = field(default_factory=dict)
    slab_aliases: dict[str, str] = field(default_factory=dict)
    dmesg: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ derived
    @property
    def version(self) -> tuple[int, int]:
        """(major, minor) of the running kernel, from ``uname -r``."""
        return parse_release(self.release)

    @property
    def zones(self) -> dict[str, dict]:
        """Node 0's zones from /proc/zoneinfo (see :func:`kmemlab.procfs.parse_zoneinfo`)."""
        from .procfs import parse_zoneinfo
        return parse_zoneinfo(self.texts.get("proc/zoneinfo", ""))

    @property
    def nodes(self) -> int:
        return len(set(re.findall(r"^Node (\d+), zone", self.texts.get("proc/zoneinfo", ""),
                                  re.M))) or 1

    @property
    def zone_start_pfn(self) -> dict[str, int]:
        """start_pfn of each populated zone of node 0 (zoneinfo_show_print)."""
        out: dict[str, int] = {}
        cur = None
        for line in self.texts.get("proc/zoneinfo", "").splitlines():
            m = re.match(r"Node (\d+), zone\s+(\S+)", line)
            if m:
                cur = m.group(2) if m.group(1) == "0" else None
                continue
            m = re.match(r"\s+start_pfn:\s+(\d+)", line)
            if m and cur:
                out[cur] = int(m.group(1))
        return out

    @property
    def meminfo(self) -> dict[str, int]:
        return parse_meminfo(self.texts.get("proc/meminfo", ""))

    @property
    def cpus(self) -> int:
        """num_present_cpus() (what SLUB's calculate_order uses), else the online CPUs."""
        for name in ("sys/devices/system/cpu/present", "sys/devices/system/cpu/online"):
            text = self.texts.get(name)
            if text and text.strip():
                return cpulist_count(text)
        return self._int_text("nproc", 1)

    def _int_text(self, name: str, default: int) -> int:
        try:
            return int(self.texts.get(name, "").split()[0])
        except (IndexError, ValueError):
            return default

    @property
    def min_free_kbytes(self) -> int | None:
        v = self._int_text("proc/sys/vm/min_free_kbytes", -1)
        return None if v < 0 else v

    @property
    def watermark_scale_factor(self) -> int | None:
        v = self._int_text("proc/sys/vm/watermark_scale_factor", -1)
        return None if v < 0 else v

    @property
    def lowmem_reserve_ratio(self) -> tuple[int, ...] | None:
        text = self.texts.get("proc/sys/vm/lowmem_reserve_ratio")
        return tuple(int(x) for x in text.split()) if text else None

    @property
    def thp_enabled(self) -> str | None:
        """The bracketed mode of /sys/kernel/mm/transparent_hugepage/enabled."""
        m = re.search(r"\[(\w+)\]", self.texts.get("sys/kernel/mm/transparent_hugepage/enabled",
                                                   ""))
        return m.group(1) if m else None

    @property
    def cmdline(self) -> str:
        return self.texts.get("proc/cmdline", "").strip()

    @property
    def e820(self) -> list[tuple[int, int, str]] | None:
        """The firmware map from the ``BIOS-e820:`` lines of dmesg, [start, end) each."""
        out = []
        for line in self.dmesg:
            m = re.search(r"BIOS-e820: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] (.+)$", line)
            if m:
                out.append((int(m.group(1), 16), int(m.group(2), 16) + 1, m.group(3).strip()))
        return out or None

    def describe(self) -> str:
        zones = ", ".join(f"{n} {z.get('managed', 0)} managed" for n, z in self.zones.items()
                          if z.get("present"))
        return (f"{self.source}: Linux {self.release} ({self.machine}), {self.cpus} CPU(s), "
                f"{self.meminfo.get('MemTotal', 0) >> 10} MiB MemTotal; {zones}")


# ====================================================================== helpers

def parse_release(release: str) -> tuple[int, int]:
    """``"6.18.44-fc-v1147"`` -> (6, 18); ValueError for something that is not one."""
    m = re.match(r"\s*(\d+)\.(\d+)", release or "")
    if not m:
        raise MachineUnreadable(f"cannot read a kernel version from uname -r {release!r}")
    return int(m.group(1)), int(m.group(2))


def cpulist_count(text: str) -> int:
    """Count the CPUs in a cpulist such as ``0-3,8-11`` (lib/bitmap.c format)."""
    n = 0
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        n += (int(hi) if hi else int(lo)) - int(lo) + 1
    return n


def parse_config(text: str) -> dict[str, str]:
    """``CONFIG_X=y`` -> {"CONFIG_X": "y"}; ``# CONFIG_X is not set`` -> "n"."""
    out = {}
    for line in text.splitlines():
        m = _CONFIG_LINE.match(line.strip())
        if m:
            if m.group(1):
                out[m.group(1)] = m.group(2).strip('"')
            else:
                out[m.group(3)] = "n"
    return out


def _read(path: str) -> tuple[str | None, str | None]:
    """(text, None) or (None, why)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None, "absent"
    except PermissionError:
        return None, "not readable without root"
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc})"
    return data.decode("utf-8", "replace"), None


def _live_config(root: str, release: str) -> tuple[str | None, str | None, str]:
    """(text, source, why-not): /proc/config.gz first, then /boot/config-$(uname -r)."""
    path = os.path.join(root, "proc/config.gz")
    try:
        with gzip.open(path, "rt", errors="replace") as f:
            return f.read(), "/proc/config.gz", ""
    except OSError:
        pass
    boot = os.path.join(root, "boot", f"config-{release}")
    text, why = _read(boot)
    if text is not None:
        return text, f"/boot/config-{release}", ""
    return None, None, "neither /proc/config.gz nor /boot/config-<release> is readable"


def _live_dmesg(root: str) -> tuple[list[str] | None, str]:
    """The boot log if this user may read it (dmesg_restrict), else (None, why)."""
    if root != "/":
        return None, "not the live machine"
    try:
        out = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"dmesg did not run ({exc})"
    if out.returncode != 0 or not out.stdout:
        return None, "dmesg is not readable by this user (kernel.dmesg_restrict)"
    return out.stdout.splitlines(), ""


def _live_slab(root: str) -> tuple[dict, dict, str]:
    base = os.path.join(root, "sys/kernel/slab")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return {}, {}, "/sys/kernel/slab is absent (no SLUB sysfs)"
    caches: dict[str, dict] = {}
    aliases: dict[str, str] = {}
    for name in names:
        path = os.path.join(base, name)
        if os.path.islink(path):
            aliases[name] = os.path.basename(os.readlink(path))
            continue
        attrs: dict[str, int | str] = {}
        for attr in SLAB_ATTRS:
            text, _ = _read(os.path.join(path, attr))
            if text is None:
                continue
            word = text.split()[0] if text.split() else ""
            attrs[attr] = int(word) if re.fullmatch(r"-?\d+", word) else word
        caches[name] = attrs
    return caches, aliases, ""


def _format_slab(caches: dict, aliases: dict) -> str:
    lines = ["# name attr=value ... (one real cache per line), or alias -> target"]
    for name, attrs in caches.items():
        lines.append(name + " " + " ".join(f"{k}={v}" for k, v in attrs.items()))
    for name, target in aliases.items():
        lines.append(f"{name} -> {target}")
    return "\n".join(lines) + "\n"


def _parse_slab(text: str) -> tuple[dict, dict]:
    caches: dict[str, dict] = {}
    aliases: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if " -> " in line:
            a, _, b = line.partition(" -> ")
            aliases[a.strip()] = b.strip()
            continue
        name, *rest = line.split()
        attrs: dict[str, int | str] = {}
        for word in rest:
            k, _, v = word.partition("=")
            attrs[k] = int(v) if re.fullmatch(r"-?\d+", v) else v
        caches[name] = attrs
    return caches, aliases


# ====================================================================== reading

def read_machine(source: str | os.PathLike | None = None, *, root: str = "/") -> MachineFacts:
    """The facts of the live machine (``source=None``) or of a saved snapshot directory.

    Raises :class:`MachineUnreadable` (a ValueError) with a message when there is not
    enough to build a twin: not Linux, no /proc/zoneinfo, no kernel release.
    """
    if source is not None:
        return _read_snapshot(os.fspath(source))
    return _read_live(root)


def _read_consistent(root: str, facts: MachineFacts) -> None:
    """zoneinfo and min_free_kbytes read back to back until two reads agree.

    Memory hotplug, ballooning and lazily deferred struct-page init change managed
    pages and recompute the watermarks while the machine runs; a twin needs one moment.
    """
    names = ("proc/zoneinfo", "proc/sys/vm/min_free_kbytes")
    last = None
    for _ in range(5):
        texts = {rel: _read(os.path.join(root, rel))[0] for rel in names}
        key = (re.findall(r"(?m)^\s+(?:managed|min)\s+\d+$", texts[names[0]] or ""),
               texts[names[1]])
        if key == last:
            break
        last = key
    for rel, text in texts.items():
        if text is not None:
            facts.texts[rel] = text


def _read_live(root: str) -> MachineFacts:
    uname = os.uname() if hasattr(os, "uname") else None
    sysname = uname.sysname if uname else os.name
    if sysname != "Linux":
        raise MachineUnreadable(
            f"this machine runs {sysname}, not Linux: there is no /proc/zoneinfo or "
            "/sys/kernel/slab to read. Use Kernel.from_snapshot(DIR) with a snapshot "
            "saved on a Linux machine by `kmemlab snapshot DIR`.")
    release_text, _ = _read(os.path.join(root, "proc/sys/kernel/osrelease"))
    release = (release_text or uname.release).strip()
    facts = MachineFacts(source="this machine", release=release, machine=uname.machine)
    _read_consistent(root, facts)
    for rel in TEXT_FILES:
        if rel in facts.texts:
            continue
        text, why = _read(os.path.join(root, rel))
        if text is None:
            facts.missing[rel] = why or "unreadable"
            continue
        keep = TRUNCATE_LINES.get(rel)
        if keep:
            text = "".join(text.splitlines(keepends=True)[:keep])
        facts.texts[rel] = text
    facts.texts["nproc"] = f"{os.cpu_count() or 1}\n"
    if "proc/zoneinfo" not in facts.texts:
        raise MachineUnreadable(
            f"/proc/zoneinfo is {facts.missing.get('proc/zoneinfo', 'absent')} here "
            "(no /proc mounted?): a twin needs each zone's managed pages. Run on a "
            "Linux machine with /proc, or use Kernel.from_snapshot(DIR).")
    text, src, why = _live_config(root, release)
    if text is None:
        facts.missing["config"] = why
    else:
        facts.config, facts.config_source = parse_config(text), src
    lines, why = _live_dmesg(root)
    if lines is None:
        facts.missing["dmesg-mm"] = why
    else:
        facts.dmesg = [ln for ln in lines if _DMESG_KEEP.search(ln)]
    facts.slab, facts.slab_aliases, why = _live_slab(root)
    if why:
        facts.missing["sys/kernel/slab"] = why
    return facts


def _read_snapshot(path: str) -> MachineFacts:
    manifest, why = _read(os.path.join(path, "MANIFEST"))
    if manifest is None or not manifest.startswith(FORMAT):
        raise MachineUnreadable(
            f"{path} is not a kmemlab machine snapshot (no MANIFEST starting "
            f"{FORMAT!r}); make one with `kmemlab snapshot DIR` on the machine")
    uname, _ = _read(os.path.join(path, "uname"))
    words = (uname or "").split()
    if len(words) < 2:
        raise MachineUnreadable(f"{path}/uname must hold 'release machine', e.g. "
                                "'6.18.44 x86_64'")
    facts = MachineFacts(source=os.path.basename(os.path.normpath(path)) or path,
                         release=words[0], machine=words[1])
    for rel in TEXT_FILES + ("nproc",):
        text, _ = _read(os.path.join(path, rel))
        if text is not None:
            facts.texts[rel] = text
    for line in manifest.splitlines():
        m = re.match(r"missing (\S+): (.*)$", line)
        if m:
            facts.missing[m.group(1)] = m.group(2)
        m = re.match(r"config-source (.*)$", line)
        if m:
            facts.config_source = m.group(1)
    if "proc/zoneinfo" not in facts.texts:
        raise MachineUnreadable(f"{path} has no proc/zoneinfo: a twin needs each zone's "
                                "managed pages")
    text, _ = _read(os.path.join(path, "config"))
    if text is not None:
        facts.config = parse_config(text)
    text, _ = _read(os.path.join(path, "dmesg-mm"))
    if text is not None:
        facts.dmesg = text.splitlines()
    text, _ = _read(os.path.join(path, "sys/kernel/slab"))
    if text is not None:
        facts.slab, facts.slab_aliases = _parse_slab(text)
    return facts


# ====================================================================== saving

def save(dest: str | os.PathLike, facts: MachineFacts | None = None) -> MachineFacts:
    """Write a snapshot of ``facts`` (default: this machine, read now) into ``dest``."""
    dest = os.fspath(dest)
    if facts is None:
        facts = read_machine()
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise ValueError(f"{dest} exists and is not a directory")
    os.makedirs(dest, exist_ok=True)

    def write(rel: str, text: str) -> None:
        path = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    write("uname", f"{facts.release} {facts.machine}\n")
    for rel, text in facts.texts.items():
        write(rel, text)
    if facts.config:
        from .kconfig import OPTIONS
        kept = {k: v for k, v in facts.config.items()
                if k.startswith(CONFIG_PREFIXES) or k in OPTIONS}
        lines = [f"# {len(kept)} memory-management options of {len(facts.config)} in "
                 f"{facts.config_source}"]
        lines += [f"# {k} is not set" if v == "n" else f"{k}={v}" for k, v in kept.items()]
        write("config", "\n".join(lines) + "\n")
    if facts.dmesg:
        write("dmesg-mm", "\n".join(facts.dmesg) + "\n")
    if facts.slab:
        write("sys/kernel/slab", _format_slab(facts.slab, facts.slab_aliases))
    lines = [FORMAT, f"release {facts.release}", f"machine {facts.machine}",
             f"read-from {facts.source}"]
    if facts.config_source:
        lines.append(f"config-source {facts.config_source}")
    lines += [f"saved {rel}" for rel in sorted(facts.texts)]
    lines += [f"missing {rel}: {why}" for rel, why in sorted(facts.missing.items())]
    write("MANIFEST", "\n".join(lines) + "\n")
    return facts
