"""The kernel's build configuration as data: every ``CONFIG_*`` option the model reads.

``Kernel(config=...)`` takes a mapping (``{"CONFIG_CMA": "y"}``, values "y"/"m"/"n",
True/False/None, numbers or strings) laid over the profile's defaults, or the path of
a real config file (``/boot/config-$(uname -r)``, ``/proc/config.gz``; plain or gzip),
which is complete: a declared option it does not mention is "not set". Options the
model does not read are ignored. An option the model reads but cannot honour (e.g.
``CONFIG_SLAB=y``, ``CONFIG_RANDOM_KMALLOC_CACHES=y``, ``CONFIG_CMA=y`` on a kernel
that predates it) is a ValueError saying so. ``k.config`` shows the resolved options.

Each profile's defaults (``Profile.kconfig``) are what its distribution kernel ships:
for 6.1 and 6.12 the ``boot/config-*`` of Debian's linux-image packages (the package
versions are in profiles.py). The lab turns two debugging options on that Debian
leaves off, because the chapters teach with their reports (``LAB_DEFAULTS``); a real
config file (or a mapping that sets them) turns them off again.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .profiles import KCONFIG_LIFETIMES

_LINE_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_LINE_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


@dataclass(frozen=True)
class Option:
    """One option the model reads: its kind, what it changes, since when it exists."""

    name: str
    kind: str            # "bool", "tristate" or "int"
    effect: str

    @property
    def since(self) -> str | None:
        """The release that added the option (profiles.KCONFIG_LIFETIMES)."""
        return KCONFIG_LIFETIMES.get(self.name, (None, None))[0]

    @property
    def until(self) -> str | None:
        """The release that removed it."""
        return KCONFIG_LIFETIMES.get(self.name, (None, None))[1]


OPTIONS: dict[str, Option] = {o.name: o for o in (
    Option("CONFIG_CMA", "bool",
           "MIGRATE_CMA and the CMA column of /proc/pagetypeinfo, CmaTotal/CmaFree in "
           "meminfo, the cma= parameter (kernel/dma/contiguous.c: early_cma) and "
           "cma_alloc/cma_release (mm/cma.c); without it cma= is an unknown parameter"),
    Option("CONFIG_SLAB_FREELIST_RANDOM", "bool",
           "a new slab hands out its objects in a seeded random order "
           "(mm/slub.c: shuffle_freelist)"),
    Option("CONFIG_SLAB_FREELIST_HARDENED", "bool",
           "free pointers are stored XOR-obfuscated (mm/slub.c: freelist_ptr_encode); "
           "kmemlab keeps free pointers outside the object bytes, so nothing it prints "
           "changes — recorded so k.config matches the kernel"),
    Option("CONFIG_SLUB_DEBUG_ON", "bool",
           "slub_debug is on for every cache from boot, as slub_debug=FZPU "
           "(mm/slub.c: DEBUG_DEFAULT_FLAGS), unless slub_debug= is given"),
    Option("CONFIG_DEBUG_ATOMIC_SLEEP", "bool",
           "might_sleep() checks the context (kernel/sched/core.c: __might_sleep): "
           "\"BUG: sleeping function called from invalid context\"; without it a "
           "sleeping allocation in atomic context is only caught when it really "
           "sleeps (\"scheduling while atomic\")"),
    Option("CONFIG_TRANSPARENT_HUGEPAGE", "bool",
           "/sys/kernel/mm/transparent_hugepage/enabled exists and khugepaged raises "
           "min_free_kbytes (mm/khugepaged.c: set_recommended_min_free_kbytes)"),
    Option("CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS", "bool",
           "THP default mode 'always' (choice with _MADVISE; _NEVER since 6.8)"),
    Option("CONFIG_TRANSPARENT_HUGEPAGE_MADVISE", "bool", "THP default mode 'madvise'"),
    Option("CONFIG_TRANSPARENT_HUGEPAGE_NEVER", "bool", "THP default mode 'never'"),
    Option("CONFIG_RANDOM_KMALLOC_CACHES", "bool",
           "16 copies of each kmalloc cache chosen by call site (kmalloc-rnd-NN-*); "
           "not modelled, so =y is refused"),
    Option("CONFIG_MEMCG", "bool",
           "memory cgroups: with MEMCG_KMEM the kmalloc-cg-* caches for "
           "__GFP_ACCOUNT allocations (5.9+) and unmergeable KMALLOC_NORMAL caches"),
    Option("CONFIG_ZONE_DMA", "bool",
           "ZONE_DMA below 16 MiB; every profile models it, so =n is refused"),
    Option("CONFIG_HIGHMEM", "bool",
           "ZONE_HIGHMEM and kmap (i386 only; the i386 profile needs it, x86_64 has "
           "none)"),
    Option("CONFIG_NR_CPUS", "int", "the most CPUs the kernel boots (cpus= above it is "
           "refused)"),
    Option("CONFIG_KASAN", "bool",
           "the KASAN build kasan=on switches on (mm/kasan); without it kasan=on is "
           "refused"),
    Option("CONFIG_SLAB", "bool", "the SLAB allocator; kmemlab models SLUB only"),
    Option("CONFIG_SLOB", "bool", "the SLOB allocator; kmemlab models SLUB only"),
    Option("CONFIG_SLUB", "bool", "the SLUB allocator kmemlab models"),
    Option("CONFIG_X86_DIRECT_GBPAGES", "bool",
           "1 GiB direct-map pages when the CPU has pdpe1gb (DirectMap1G in meminfo)"),
    Option("CONFIG_RANDOMIZE_BASE", "bool",
           "KASLR: KERNEL_IMAGE_SIZE 1 GiB, so MODULES_VADDR moves up by 512 MiB"),
    Option("CONFIG_UNACCEPTED_MEMORY", "bool", "the Unaccepted line of /proc/meminfo"),
    Option("CONFIG_MEMORY_FAILURE", "bool",
           "the HardwareCorrupted line of /proc/meminfo (fs/proc/meminfo.c)"),
)}

# What the lab boots with on top of a profile's distribution defaults (the chapters
# teach with these reports); a config file or a mapping that names them wins.
LAB_DEFAULTS = {"CONFIG_DEBUG_ATOMIC_SLEEP": "y"}


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def _norm(name: str, value) -> str | None:
    """"y"/"m"/a number/a string, or None for "not set"."""
    if value is None or value is False:
        return None
    if value is True:
        return "y"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"{name}: a config value is 'y', 'm', 'n', a number, True/False or "
                        f"None, not {type(value).__name__}")
    v = value.strip()
    if v in ("n", ""):
        return None
    if len(v) >= 2 and v[0] == v[-1] == '"':
        v = v[1:-1]
    return v


def parse(text: str) -> dict[str, str | None]:
    """The options of a .config text: ``CONFIG_X=y`` and ``# CONFIG_X is not set``."""
    out: dict[str, str | None] = {}
    for line in text.splitlines():
        line = line.strip()
        m = _LINE_SET.match(line)
        if m:
            out[m.group(1)] = _norm(m.group(1), m.group(2))
            continue
        m = _LINE_UNSET.match(line)
        if m:
            out[m.group(1)] = None
    return out


def read(path: str | os.PathLike) -> dict[str, str | None]:
    """A config file, plain or gzip (``/proc/config.gz``)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8", errors="replace")
    options = parse(text)
    if not options:
        raise ValueError(f"{os.fspath(path)} is not a kernel config: no CONFIG_ lines")
    return options


def resolve(profile, config=None) -> dict[str, str | None]:
    """The declared options of a kernel: ``profile``'s defaults (with LAB_DEFAULTS),
    overlaid with a mapping, or replaced by a real config file. Checked: an option
    the model cannot honour is a ValueError."""
    defaults = {name: profile.kconfig.get(name) for name in OPTIONS}
    if config is None:
        cfg = {**defaults, **LAB_DEFAULTS}
    elif isinstance(config, (str, os.PathLike)):
        given = read(config)
        cfg = {name: given.get(name) for name in OPTIONS}
        if cfg["CONFIG_NR_CPUS"] is None:
            cfg["CONFIG_NR_CPUS"] = defaults["CONFIG_NR_CPUS"]
    elif isinstance(config, Mapping):
        cfg = {**defaults, **LAB_DEFAULTS}
        for name, value in config.items():
            if not isinstance(name, str):
                raise TypeError(f"config keys are option names such as 'CONFIG_CMA', "
                                f"not {name!r}")
            key = name if name.startswith("CONFIG_") else "CONFIG_" + name
            if key in OPTIONS:
                cfg[key] = _norm(key, value)
    else:
        raise TypeError("config is a mapping of CONFIG_* options or the path of a config "
                        f"file (plain or .gz), not {type(config).__name__}")
    _check(profile, cfg)
    return dict(sorted(cfg.items()))


def _check(profile, cfg: dict) -> None:
    v = _version_tuple(profile.version)
    for name, opt in OPTIONS.items():
        if cfg[name] is None:
            continue
        if opt.since and v < _version_tuple(opt.since):
            raise ValueError(f"{name}={cfg[name]}: the option does not exist in Linux "
                             f"{profile.version} (added in {opt.since})")
        if opt.until and v >= _version_tuple(opt.until) and name not in ("CONFIG_SLAB",
                                                                          "CONFIG_SLOB"):
            raise ValueError(f"{name}: removed in Linux {opt.until}")
    def on(n):
        return cfg[n] in ("y", "m")
    for n in ("CONFIG_SLAB", "CONFIG_SLOB"):
        if on(n):
            gone = OPTIONS[n].until
            where = (f"it was removed in Linux {gone}" if v >= _version_tuple(gone)
                     else "kmemlab models SLUB only")
            raise ValueError(f"{n}=y cannot be honoured on Linux {profile.version}: {where}; "
                             "use CONFIG_SLUB=y")
    if not on("CONFIG_SLUB"):
        raise ValueError("CONFIG_SLUB is not set: kmemlab models the SLUB allocator; "
                         "set CONFIG_SLUB=y")
    if on("CONFIG_RANDOM_KMALLOC_CACHES"):
        raise ValueError("CONFIG_RANDOM_KMALLOC_CACHES=y cannot be honoured: kmemlab does "
                         "not model the kmalloc-rnd-* cache copies")
    if not on("CONFIG_ZONE_DMA"):
        raise ValueError("# CONFIG_ZONE_DMA is not set cannot be honoured: every kmemlab "
                         "profile has ZONE_DMA")
    if on("CONFIG_HIGHMEM") != bool(profile.highmem_zones):
        raise ValueError(f"CONFIG_HIGHMEM={'y' if on('CONFIG_HIGHMEM') else 'n'} cannot be "
                         f"honoured on {profile.name}: HIGHMEM is "
                         f"{'required' if profile.highmem_zones else 'i386 only'} there")
    if on("CONFIG_TRANSPARENT_HUGEPAGE") and not profile.thp_supported:
        raise ValueError(f"CONFIG_TRANSPARENT_HUGEPAGE=y cannot be honoured on "
                         f"{profile.name}: THP needs X86_64 or X86_PAE")
    modes = [m for m in ("ALWAYS", "MADVISE", "NEVER")
             if on(f"CONFIG_TRANSPARENT_HUGEPAGE_{m}")]
    if on("CONFIG_TRANSPARENT_HUGEPAGE") and len(modes) > 1:
        raise ValueError(f"CONFIG_TRANSPARENT_HUGEPAGE_{modes[0]} and _{modes[1]} are one "
                         "choice: set one of them")
    try:
        nr = int(cfg["CONFIG_NR_CPUS"] or 0, 0)
    except ValueError:
        raise ValueError(f"CONFIG_NR_CPUS={cfg['CONFIG_NR_CPUS']!r} is not a number") from None
    if nr < 1:
        raise ValueError("CONFIG_NR_CPUS must be at least 1")


def exists(profile, name: str) -> bool:
    """Whether option ``name`` exists in ``profile``'s kernel release
    (profiles.KCONFIG_LIFETIMES)."""
    OPTIONS[name]   # a KeyError for an option kmemlab does not declare
    return profile.has_config_option(name)


def enabled(cfg: Mapping, name: str) -> bool:
    return cfg.get(name) in ("y", "m")


_EFFECTIVE: dict = {}


def apply(profile, cfg: Mapping):
    """The profile as this configuration builds it (the fields options change)."""
    key = (id(profile), tuple(cfg.items()))
    hit = _EFFECTIVE.get(key)
    if hit is not None and hit[0] is profile:
        return hit[1]
    changes = {}
    names = profile.migratetype_names
    if not enabled(cfg, "CONFIG_CMA") and "CMA" in names:
        changes["migratetype_names"] = tuple(n for n in names if n != "CMA")
    if enabled(cfg, "CONFIG_CMA") and "CMA" not in names:
        raise ValueError(f"CONFIG_CMA=y cannot be honoured on {profile.name}")
    thp = enabled(cfg, "CONFIG_TRANSPARENT_HUGEPAGE")
    if thp:
        mode = "madvise" if enabled(cfg, "CONFIG_TRANSPARENT_HUGEPAGE_MADVISE") else \
            "never" if enabled(cfg, "CONFIG_TRANSPARENT_HUGEPAGE_NEVER") else "always"
    else:
        mode = "never"
    if (thp, mode) != (profile.thp_supported, profile.thp_enabled):
        changes["thp_supported"] = thp
        changes["thp_enabled"] = mode
    rules = profile.slub_rules
    from .slab_common import KMALLOC_CGROUP
    if not enabled(cfg, "CONFIG_MEMCG") and KMALLOC_CGROUP in rules.kmalloc_types:
        changes["slub_rules"] = dataclasses.replace(
            rules, kmalloc_types=tuple(t for t in rules.kmalloc_types if t != KMALLOC_CGROUP))
    from .profiles import GiB, MiB
    if profile.is_64bit:
        size = 1 * GiB if enabled(cfg, "CONFIG_RANDOMIZE_BASE") else 512 * MiB
        if size != profile.kernel_image_size:
            changes["kernel_image_size"] = size
    unaccepted = enabled(cfg, "CONFIG_UNACCEPTED_MEMORY")
    if unaccepted != profile.meminfo_unaccepted:
        changes["meminfo_unaccepted"] = unaccepted
    corrupted = enabled(cfg, "CONFIG_MEMORY_FAILURE")
    if corrupted != profile.meminfo_hardware_corrupted:
        changes["meminfo_hardware_corrupted"] = corrupted
    freelist_random = enabled(cfg, "CONFIG_SLAB_FREELIST_RANDOM")
    if freelist_random != profile.slab_freelist_random:
        changes["slab_freelist_random"] = freelist_random
    out = dataclasses.replace(profile, **changes) if changes else profile
    _EFFECTIVE[key] = (profile, out)
    return out


def format_config(cfg: Mapping) -> str:
    """The options as .config lines (``CONFIG_X=y`` / ``# CONFIG_X is not set``)."""
    return "".join(f"{n}={v}\n" if v is not None else f"# {n} is not set\n"
                   for n, v in cfg.items())


def describe(name: str) -> str:
    """What the model does with ``name`` (KeyError for an option it does not read)."""
    return OPTIONS[name].effect
