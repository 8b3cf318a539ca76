"""Kernel: boots a simulated machine from a profile and wires the subsystems.

``Kernel(version, arch, ram, cpus, cmdline, seed)`` builds a PC-style physical
memory map like QEMU's (i440fx + SeaBIOS), registers it with memblock, makes the
reservations a real boot makes (the first MiB or the BIOS areas, the kernel image,
the struct page array, per-CPU areas, swiotlb when RAM reaches above 4 GiB),
sizes the zones, hands the free memory to the buddy allocator in naturally
aligned blocks (memblock_free_all / free_all_bootmem) and sets the watermarks.
"""

from __future__ import annotations

import copy
import inspect
import io
import pickle
import random
import sys
from collections.abc import Mapping
from contextlib import contextmanager
from sys import _getframe

import numpy as np

from . import gfp as _gfp
from . import kconfig as _kconfig
from . import report
from .cma import Cma, CmaArea
from .context import ContextStack, Task
from .errors import BadGfpMask, InvalidFree, KernelPanic
from .gfp import GFP as _GFP
from .highmem import Highmem
from .kdebug import DebugState, KModule, call_site, is_learner_frame, known_call_site
from .layout import build_layout
from .machine import Machine, direct_map_pages
from .memblock import Memblock, memblock_free_all
from .mm_init import free_area_init
from .module import Modules
from .page_alloc import (
    LEARNER_OWNERS,
    OWNER_CODE,
    Page,
    PageAllocator,
    Zone,
    calculate_min_free_kbytes,
    setup_per_zone_lowmem_reserve,
    setup_per_zone_wmarks,
    thp_recommended_min_free_kbytes,
)
from .pgtable import PageTables
from .profiles import DEFAULT_ARCH, DEFAULT_VERSION, GiB, MiB, Profile, get_profile
from .reclaim import ReclaimState
from .rules import Rules
from .sizes import memparse
from .steps import Step
from .trace import TraceLog
from .user import Process, UserState
from .vmalloc import PhysRun, Provenance, Vmalloc, VmallocState, VmArea
from .workload import Workload

E820_RAM, E820_RESERVED = "usable", "reserved"


def _copy_pointing_at(value, old: object, new: object):
    """A pickle round trip of ``value`` in which references to ``old`` become ``new``
    (deepcopy's memo ``{id(old): new}``, for pickle)."""
    return _load_pointing_at(_dump_pointing_at(value, old), new)


def _dump_pointing_at(value, old: object) -> bytes:
    """The first half of :func:`_copy_pointing_at`: ``old`` pickled as a reference."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = lambda obj: "kernel" if obj is old else None
    pickler.dump(value)
    return buf.getvalue()


def _load_pointing_at(data: bytes, new: object):
    """The second half: the reference made by :func:`_dump_pointing_at` becomes ``new``."""
    unpickler = pickle.Unpickler(io.BytesIO(data))
    unpickler.persistent_load = lambda pid: new
    return unpickler.load()


def get_order(size: int) -> int:
    """include/asm-generic/getorder.h: get_order(): smallest n with 4096 << n >= size.

    ``get_order(0)`` is undefined in the kernel (a compile-time constant case gives
    52); here it raises ValueError.
    """
    if isinstance(size, bool) or not isinstance(size, int):
        size = memparse(size, what="size")
    if size <= 0:
        raise ValueError(f"get_order() needs a size of at least 1 byte, not {size}")
    return max(0, ((size - 1) >> 12).bit_length())


def parse_cmdline(cmdline: str) -> dict[str, str | None]:
    """Split a kernel command line into parameters (init/main.c: parse_args)."""
    if not isinstance(cmdline, str):
        raise TypeError(f"cmdline must be a string like 'mem=512M cma=64M', "
                        f"not {type(cmdline).__name__}")
    params: dict[str, str | None] = {}
    for word in cmdline.split():
        key, sep, value = word.partition("=")
        params[key.replace("-", "_") if key.startswith("slub") else key] = value if sep else None
    return params



# Parameters this simulated kernel (or the real one, without an effect here) knows: the
# ones kmemlab acts on, plus common __setup/early_param names of real kernels. Anything
# else is "unknown" (init/main.c: unknown_bootoption) and goes to init.
KNOWN_BOOT_PARAMS = frozenset((
    "mem", "cma", "kmemleak", "kasan", "slub_debug", "slab_debug", "slub_nomerge",
    "slab_nomerge", "slub_merge", "slab_merge", "slub_min_order", "slub_max_order",
    "slub_min_objects", "quiet", "debug", "loglevel", "ignore_loglevel", "console",
    "earlyprintk", "root", "rootfstype", "rootwait", "ro", "rw", "init", "rdinit", "panic",
    "panic_on_oops", "panic_on_warn", "nokaslr", "norandmaps", "nosmp", "maxcpus",
    "nr_cpus", "mitigations", "nopti", "pti", "crashkernel", "memmap", "swiotlb", "iommu",
    "intel_iommu", "amd_iommu", "hugepages", "hugepagesz", "default_hugepagesz",
    "transparent_hugepage", "kernelcore", "movablecore", "init_on_alloc", "init_on_free",
    "page_poison", "numa", "memblock", "highmem", "vmalloc_huge", "nohugevmalloc",
))


def unknown_bootoptions(cmdline: str, known, is_64bit: bool) -> list[str]:
    """init/main.c: unknown_bootoption + print_unknown_bootoptions (5.5+): the words no
    __setup/early_param claimed and that are not module parameters (no ``.``), those
    without ``=`` (init's argv) first, then ``name=value`` ones (init's environment).
    ``vmalloc=`` is an early_param of 32-bit x86 only (arch/x86/mm/pgtable_32.c)."""
    argv, envp = [], []
    for word in cmdline.split():
        if word == "--":
            break
        key, sep, _v = word.partition("=")
        name = key.replace("-", "_")
        if "." in key or name in known or (name == "vmalloc" and not is_64bit):
            continue
        (envp if sep else argv).append(word)
    return argv + envp


def print_unknown_bootoptions(k) -> None:
    """init/main.c: print_unknown_bootoptions (5.5+; 3.15 passed them on silently).
    Without CONFIG_CMA, kernel/dma/contiguous.c (early_param "cma") is not built in."""
    known = (KNOWN_BOOT_PARAMS if k.cma.built_in else KNOWN_BOOT_PARAMS - {"cma"}) | \
        set(k.early_params)
    unknown = unknown_bootoptions(k.cmdline, known, k.profile.is_64bit)
    if unknown and k.profile.prints_unknown_bootoptions:
        k.printk(f"Unknown kernel command line parameters \"{' '.join(unknown)}\", "
                 "will be passed to user space.")


class Kernel:
    """A simulated Linux kernel on one node (node 0).

    The address-space subsystems are objects the kernel owns and forwards to:
    ``k.vmalloc_space`` (:mod:`kmemlab.vmalloc`), ``k.highmem`` (:mod:`kmemlab.highmem`),
    ``k.cma`` (:mod:`kmemlab.cma`), ``k.modules`` (:mod:`kmemlab.module`), memblock
    (:mod:`kmemlab.memblock`); so are the allocation rules (``k.rules``,
    :mod:`kmemlab.rules`), reclaim (``k.reclaim``, :mod:`kmemlab.reclaim`), debugging
    (``k.debug``, :mod:`kmemlab.kdebug`) and user processes (``k.user``,
    :mod:`kmemlab.user`).

    >>> k = Kernel(version="6.12", ram="1G", cpus=2)
    >>> page = k.alloc_pages("GFP_KERNEL", 3)
    >>> k.free_pages(page)

    ``state="booted"`` comes up where a recorded real boot to userspace ended
    (fragmented free lists, Unmovable pageblocks, named slab caches; see
    :mod:`kmemlab.boot_state`) instead of the ``"pristine"`` machine.
    """

    def __init__(self, version: str = DEFAULT_VERSION, arch: str = DEFAULT_ARCH,
                 ram: int | str = "1G", cpus: int = 2, cmdline: str = "", seed: int = 0,
                 *, pcp: bool = True, slab_freelist_random: bool | None = None,
                 early_params: dict | None = None, config=None,
                 machine: Machine | None = None, state: str = "pristine") -> None:
        base = get_profile(version, arch)
        if state not in ("pristine", "booted"):
            raise ValueError(f"state must be 'pristine' or 'booted', not {state!r}")
        if state == "booted":
            from .boot_state import boot_data
            boot_data(base.version)  # ValueError before booting if none recorded
        # The kernel's .config (kmemlab/kconfig.py) and the profile as it builds it.
        params = parse_cmdline(cmdline)
        self.config: dict[str, str | None] = _kconfig.resolve(base, config)
        explicit = not isinstance(config, Mapping) and config is not None or \
            isinstance(config, Mapping) and "CONFIG_KASAN" in config
        if params.get("kasan") == "on" and self.config["CONFIG_KASAN"] is None and \
                base.kasan_supported and not explicit:
            self.config["CONFIG_KASAN"] = "y"   # kasan=on asks for a KASAN build
        if params.get("kasan") == "on" and base.kasan_supported and \
                not self.config["CONFIG_KASAN"]:
            raise ValueError("kasan=on: this kernel's config has '# CONFIG_KASAN is not set', "
                             "so there is no KASAN to switch on; use a config with "
                             "CONFIG_KASAN=y (or leave CONFIG_KASAN out of config=)")
        self.profile: Profile = _kconfig.apply(base, self.config)
        if machine is None:
            machine = Machine()
        elif not isinstance(machine, Machine):
            raise TypeError("machine is a kmemlab.machine.Machine, e.g. "
                            "Machine(e820=dmesg_text, cpu_features={'pse', 'pdpe1gb'})")
        self.machine = machine
        if machine.cpus is not None:
            cpus = machine.cpus
        if machine.ram is not None and machine.e820 is None:
            ram = machine.ram
        if isinstance(cpus, bool) or not isinstance(cpus, int):
            raise TypeError(f"cpus must be an int, not {type(cpus).__name__}")
        if not 1 <= cpus <= 256:
            raise ValueError(f"cpus must be between 1 and 256, not {cpus}")
        nr_cpus = int(self.config["CONFIG_NR_CPUS"] or 256, 0)
        if cpus > nr_cpus:
            raise ValueError(f"cpus={cpus} is more than CONFIG_NR_CPUS={nr_cpus} of this "
                             "kernel's config")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        if machine.e820 is not None:
            ram = sum(e - s for s, e, kind in machine.e820 if kind == E820_RAM)
        ram_bytes = memparse(ram, what="ram")
        if ram_bytes < 64 * MiB:
            raise ValueError(f"ram must be at least 64M to boot, not {ram!r}")
        limit = 64 * GiB * 16 if self.profile.is_64bit else 64 * GiB
        if ram_bytes > limit:
            raise ValueError(f"ram {ram!r} is more than this model supports ({limit >> 30}G)")
        self.ram = ram_bytes
        self.nr_cpus = cpus
        # Per-CPU page lists (the kernel always has them); pcp=False shows the pure
        # buddy algorithm, every free merging at once.
        self.pcp_enabled = bool(pcp)
        # CONFIG_SLAB_FREELIST_RANDOM; None = what the profile's distribution kernel has
        self.slab_freelist_random = slab_freelist_random
        self.seed = seed
        self.rng = random.Random(seed)
        # kmemleak/KASAN/slub_debug (kmemlab/kdebug.py), built after SLUB at boot
        self.debug: DebugState | None = None
        self.cmdline = cmdline
        self.cmdline_params = params
        if _kconfig.enabled(self.config, "CONFIG_SLUB_DEBUG_ON") and "slub_debug" not in params:
            params["slub_debug"] = "FZPU"   # DEBUG_DEFAULT_FLAGS from boot
        self.early_params = dict(early_params or {})
        self.PAGE_SIZE = self.profile.page_size
        self.PAGE_SHIFT = self.profile.page_shift
        self.clock_ns = 0
        self.dmesg: list[str] = []
        self.current_cpu = 0
        self.current_task = Task(pid=1, comm="swapper/0")
        self.context_stack = ContextStack()
        self.panicked: KernelPanic | None = None
        self.trace = TraceLog(self)
        self.vm_sysctl: dict[str, int] = {}
        # state="booted": where a real boot to userspace left the machine (boot_state.py,
        # a BootStateInfo after boot; None for a pristine machine)
        self.boot_state = None
        self._boot()
        self.state = state
        if state == "booted":
            from .boot_state import apply_boot_state
            apply_boot_state(self)

    @classmethod
    def from_this_machine(cls, *, seed: int = 0) -> Kernel:
        """A twin of the machine this runs on: its zones, managed pages, watermarks and
        kmalloc geometry on the nearest profile (:mod:`kmemlab.twin`; ``k.twin``)."""
        from .twin import from_this_machine
        return from_this_machine(seed=seed)

    @classmethod
    def from_snapshot(cls, path, *, seed: int = 0) -> Kernel:
        """A twin of the machine saved in ``path`` by ``kmemlab snapshot`` (:mod:`kmemlab.twin`)."""
        from .twin import from_snapshot
        return from_snapshot(path, seed=seed)

    # ================================================================== boot
    def _boot(self) -> None:
        p = self.profile
        self.printk(f"Linux version {p.version}.0-kmemlab ({p.arch}) simulated by kmemlab")
        self.printk(f"Command line: {self.cmdline}")
        self.e820 = self._e820_map()
        for start, end, kind in self.e820:
            self.printk(f"BIOS-e820: [mem {start:#018x}-{end - 1:#018x}] {kind}")
        mb = self.memblock = Memblock(self)
        for start, end, kind in self.e820:
            if kind == E820_RAM:
                # trim_bios_range: page 0 is reserved in the e820 map itself
                lo = max(start, self.PAGE_SIZE)
                mb.add(lo, end - lo)
        mem_limit = self.cmdline_params.get("mem")
        if mem_limit:
            self._apply_mem_limit(memparse(mem_limit, what="mem="))
        max_pfn = max(r.end for r in mb.memory) >> self.PAGE_SHIFT
        self.max_pfn = max_pfn
        self.max_low_pfn = self._max_low_pfn(max_pfn)
        mb.current_limit = self.max_low_pfn << self.PAGE_SHIFT
        self._early_reservations()
        # init_mem_mapping runs here in setup_arch; meminfo's DirectMap* lines are
        # computed from this snapshot when first asked (kmemlab/machine.py).
        self._direct_map_inputs = ([(r.base, r.end) for r in mb.memory],
                                   [(r.base, r.end) for r in mb.reserved])
        self._direct_map_counts: dict[str, int] | None = None
        self.modules = Modules(self)  # before the handlers: they may EXPORT_SYMBOL
        self._run_early_params()
        # setup_arch's late part (arch/x86/kernel/setup.c): the address layout (``vmalloc=``
        # on i386 was applied above), kmap_init, then cma= (dma_contiguous_reserve)
        self.layout = build_layout(self)
        self.highmem = Highmem(self)
        self.cma = Cma(self)
        print_unknown_bootoptions(self)
        self.cma.reserve()
        self.page_alloc = PageAllocator(self, p, max_pfn)
        self.zones: dict[str, Zone] = self.page_alloc.zone_by_name
        free_area_init(self)  # mm/mm_init.c
        self._reserve_memmap_and_percpu()
        self._hand_over()
        self.cma.activate()  # cma_init_reserved_areas: the CMA areas go to the buddy
        self._init_watermarks()
        self.clock_ns = max(self.clock_ns, 1_000_000_000)
        self.current_task = Task(pid=1234, comm="insmod")
        self._boot_subsystems()
        self.boot_buddyinfo = [z.nr_free() for z in self.page_alloc.zones]

    @property
    def direct_gbpages(self) -> bool:
        """arch/x86/mm/init.c: direct_gbpages — CONFIG_X86_DIRECT_GBPAGES, a CPU with
        1 GiB pages (pdpe1gb) and no ``nogbpages`` on the command line (x86_64)."""
        return (self.profile.is_64bit and "pse" in self.machine.cpu_features
                and self.machine.gbpages and "nogbpages" not in self.cmdline_params
                and _kconfig.enabled(self.config, "CONFIG_X86_DIRECT_GBPAGES"))

    def direct_map_pages(self) -> dict[str, int]:
        """direct_pages_count after init_mem_mapping: pages mapped 4k / 2M (4M on i386
        without PAE) / 1G (kmemlab/machine.py: direct_map_pages). Boot-time figures."""
        got = self._direct_map_counts
        if got is None:
            memory, reserved = self._direct_map_inputs
            pse = "pse" in self.machine.cpu_features
            if self.profile.is_64bit:
                got = direct_map_pages(memory, reserved, self.max_pfn, pse=pse,
                                       gbpages=self.direct_gbpages,
                                       page_shift=self.PAGE_SHIFT)
            else:
                got = direct_map_pages(memory, reserved, self.max_low_pfn, pse=pse,
                                       page_shift=self.PAGE_SHIFT, pmd_size=4 * MiB)
            self._direct_map_counts = got
        return dict(got)

    def _e820_map(self) -> list[tuple[int, int, str]]:
        """The firmware memory map: the machine's, or the one QEMU's i440fx machine with
        SeaBIOS reports for ``ram`` (kmemlab/machine.py: qemu_e820)."""
        if self.machine.e820 is not None:
            return list(self.machine.e820)
        ram = self.ram
        below_4g = ram if ram < 0xE0000000 else 0xC0000000
        above_4g = ram - below_4g
        if not self.profile.is_64bit:
            above_4g = min(above_4g, 60 * GiB)
        m = [(0x0, 0x9FC00, E820_RAM), (0x9FC00, 0xA0000, E820_RESERVED),
             (0xF0000, 0x100000, E820_RESERVED),
             (0x100000, below_4g - 0x20000, E820_RAM),
             (below_4g - 0x20000, below_4g, E820_RESERVED),
             (0xFEFFC000, 0xFF000000, E820_RESERVED),
             (0xFFFC0000, 0x100000000, E820_RESERVED)]
        if above_4g:
            m.append((0x100000000, 0x100000000 + above_4g, E820_RAM))
        return m

    def _apply_mem_limit(self, limit: int) -> None:
        """mem=: memblock_mem_limit_remove_map / e820 truncation."""
        if limit < 32 * MiB:
            raise ValueError(f"mem={limit} leaves too little memory to boot (minimum 32M)")
        mb = self.memblock
        total = 0
        for r in list(mb.memory):
            if total + r.size > limit:
                keep = max(0, limit - total)
                mb.memory.remove(r.base + keep, r.size - keep)
            total += r.size

    def _max_low_pfn(self, max_pfn: int) -> int:
        """x86_64: all RAM is lowmem. i386: MAXMEM (arch/x86/mm/init_32.c, pgtable_32.c)."""
        p = self.profile
        if p.is_64bit:
            return max_pfn
        vmalloc_end = p.extra["vmalloc_end"]
        reserve = 128 * MiB
        if "vmalloc" in self.cmdline_params:
            # arch/x86/mm/pgtable_32.c: parse_vmalloc: __VMALLOC_RESERVE = size + VMALLOC_OFFSET
            reserve = memparse(self.cmdline_params["vmalloc"] or "", what="vmalloc=") + 8 * MiB
        maxmem = vmalloc_end - p.page_offset - reserve
        if maxmem <= 16 * MiB:
            raise ValueError("vmalloc= is so large that no lowmem is left")
        self.vmalloc_reserve = reserve
        return min(max_pfn, maxmem >> self.PAGE_SHIFT)

    def _early_reservations(self) -> None:
        """The memblock_reserve calls of setup_arch (arch/x86/kernel/setup.c)."""
        p = self.profile
        mb = self.memblock
        if p.reserve_first_mib:
            # 5.13+: x86/setup: always reserve the first 1M of RAM
            mb.reserve(0, 1 * MiB, "first 1 MiB (BIOS, real mode)")
        else:
            mb.reserve(0, p.reserve_low_kib * 1024, "reserve_low (CONFIG_X86_RESERVE_LOW)")
            mb.reserve(0x9F000, 0x100000 - 0x9F000, "EBDA and BIOS (reserve_ebda_region)")
            tramp = mb.find_in_range(0x6000, self.PAGE_SIZE, 0, 1 * MiB)
            if tramp is not None:
                mb.reserve(tramp, 0x6000, "real mode trampoline (reserve_real_mode)")
        base = p.kernel_load_addr
        self.kernel_image = []
        for name, size in p.kernel_image:
            self.kernel_image.append((name, base, size))
            base += size
        mb.reserve(p.kernel_load_addr, base - p.kernel_load_addr, "kernel image")
        if p.is_64bit and self.max_pfn > (4 * GiB >> self.PAGE_SHIFT) and \
                self.cmdline_params.get("swiotlb") != "noforce":
            # pci_swiotlb_detect: RAM above 4 GiB and no IOMMU -> 64 MiB bounce buffer;
            # swiotlb=noforce: none (kernel/dma/swiotlb.c: setup_io_tlb_npages)
            addr = mb.phys_alloc(64 * MiB, self.PAGE_SIZE, 0, 4 * GiB, name="swiotlb buffer")
            self.swiotlb = addr

    def _run_early_params(self) -> None:
        """early_param handlers a learner registered (name -> fn(kernel, value))."""
        for name, handler in self.early_params.items():
            if name in self.cmdline_params:
                handler(self, self.cmdline_params[name])

    def _reserve_memmap_and_percpu(self) -> None:
        """sparse_init (memmap), setup_per_cpu_areas: the big boot-time consumers."""
        p = self.profile
        mb = self.memblock
        if p.is_64bit:
            # SPARSEMEM_VMEMMAP: 2 MiB of struct pages per present 128 MiB section,
            # one sparse buffer, PMD aligned, top-down.
            section_pages = (128 * MiB) >> self.PAGE_SHIFT
            sections = set()
            for r in mb.memory:
                for s in range(r.base >> 27, ((r.end - 1) >> 27) + 1):
                    sections.add(s)
            size = len(sections) * section_pages * p.sizeof_struct_page
            align = 2 * MiB
        else:
            size = self.max_pfn * p.sizeof_struct_page  # FLATMEM mem_map
            align = self.PAGE_SIZE
        size = -(-size // self.PAGE_SIZE) * self.PAGE_SIZE
        self.memmap_phys = mb.phys_alloc(size, align, 0, None, name="struct page array (memmap)")
        if self.memmap_phys is None:
            raise ValueError("not enough memory for the struct page array; give more ram")
        unit = p.percpu_unit_kib * 1024
        atom = 2 * MiB if p.is_64bit else self.PAGE_SIZE
        total = -(-(unit * self.nr_cpus) // atom) * atom
        self.percpu_phys = mb.phys_alloc(total, atom, 16 * MiB, None,
                                         name=f"per-CPU areas ({self.nr_cpus} x {unit >> 10}K)")

    def _hand_over(self) -> None:
        """memblock_free_all: free memory to the buddy (kmemlab/memblock.py)."""
        memblock_free_all(self)

    def _init_watermarks(self) -> None:
        """init_per_zone_wmark_min, then THP's set_recommended_min_free_kbytes."""
        p = self.profile
        pa = self.page_alloc
        zones = pa.zones
        user_zone_idx = pa.zone_by_name[p.gfp_zone(p.gfp.values["GFP_USER"])].idx
        lowmem = sum(z.managed for z in zones if z.idx <= user_zone_idx)
        self.min_free_kbytes = calculate_min_free_kbytes(lowmem, p)
        self._recompute_watermarks()
        setup_per_zone_lowmem_reserve(zones, self.lowmem_reserve_ratio, p)
        self.thp_enabled = p.thp_enabled if p.thp_supported else "never"
        if self.thp_enabled != "never" and \
                self.totalram_pages < (512 * MiB >> self.PAGE_SHIFT):
            # mm/huge_memory.c: hugepage_init disables THP below 512 MiB
            self.thp_enabled = "never"
        if self.thp_enabled in ("always", "madvise"):
            if p.thp_zones_up_to_normal:
                nr_zones = sum(1 for z in zones if z.present and z.idx <= user_zone_idx)
            else:
                nr_zones = sum(1 for z in zones if z.present)
            rec = thp_recommended_min_free_kbytes(nr_zones, self.nr_free_buffer_pages(), p)
            if rec > self.min_free_kbytes:
                self.min_free_kbytes = rec
                self._recompute_watermarks()

    @property
    def lowmem_reserve_ratio(self) -> tuple[int, ...]:
        return tuple(self.vm_sysctl.get("lowmem_reserve_ratio", self.profile.lowmem_reserve_ratio))

    @property
    def watermark_scale_factor(self) -> int:
        return self.vm_sysctl.get("watermark_scale_factor", self.profile.watermark_scale_factor)

    def _recompute_watermarks(self) -> None:
        setup_per_zone_wmarks(self.page_alloc.zones, self.min_free_kbytes, self.profile,
                              self.watermark_scale_factor)
        self.page_alloc.pcp_lists.setup_pagesets(self.nr_cpus)  # zone_pcp_update follows the marks
        if self.profile.migrate_reserve:
            for z in self.page_alloc.zones:
                self.page_alloc.setup_zone_migrate_reserve(z, self.memblock)

    def nr_free_buffer_pages(self) -> int:
        """mm/page_alloc.c: nr_free_buffer_pages (:meth:`PageAllocator.nr_free_buffer_pages`)."""
        return self.page_alloc.nr_free_buffer_pages()

    def _boot_subsystems(self) -> None:
        """kmem_cache_init, then the subsystems built on it (vmalloc_init, ...)."""
        from .slub import Slub
        rnd = self.slab_freelist_random
        self.slub = Slub(self, freelist_random=self.profile.slab_freelist_random
                         if rnd is None else bool(rnd))
        # k.kmalloc, k.kfree, k.kmem_cache_alloc and k.kmem_cache_free are SLUB's own
        # methods, k.alloc_pages the page allocator's (the same arguments; without a
        # caller, the call site is the calling frame's): a learner's loop makes one
        # Python call per kmalloc, not two. The methods of the same names below say
        # what they do, and stay for a subclass. Spelled out, not looked up by name; a
        # subclass overriding one keeps its own.
        cls, slub = type(self), self.slub
        if cls.alloc_pages is Kernel.alloc_pages:
            self.alloc_pages = self.page_alloc.alloc_pages  # type: ignore[method-assign]
        if cls.free_pages is Kernel.free_pages:
            self.free_pages = self.page_alloc.free_learner_pages  # type: ignore[method-assign]
        if cls.kmalloc is Kernel.kmalloc:
            self.kmalloc = slub.kmalloc  # type: ignore[method-assign]
        if cls.kfree is Kernel.kfree:
            self.kfree = slub.kfree  # type: ignore[method-assign]
        if cls.kmem_cache_alloc is Kernel.kmem_cache_alloc:
            self.kmem_cache_alloc = slub.kmem_cache_alloc  # type: ignore[method-assign]
        if cls.kmem_cache_free is Kernel.kmem_cache_free:
            self.kmem_cache_free = slub.kmem_cache_free  # type: ignore[method-assign]
        # vmalloc_init (mm/vmalloc.c) on init_mm's page tables; i386's mem_init prints
        # the virtual kernel memory layout (arch/x86/mm/init_32.c)
        self.page_tables = PageTables(self)
        self.vmalloc_space = Vmalloc(self)
        if not self.profile.is_64bit:
            for line in str(self.layout).splitlines():
                self.printk(line)
        for hook in self._subsystem_init_hooks():
            hook()

    def _subsystem_init_hooks(self) -> list:
        """The subsystems' boot steps, in the order the kernel's initcalls run them."""
        hooks = [getattr(self, name) for name in ("_init_address_space",) if hasattr(self, name)]
        return hooks + [self._init_rules, self._init_user]

    def _init_rules(self) -> None:
        """Boot step (after SLUB): the reclaim model, workloads, debug tracking and the
        allocation rules that report through them."""
        self.reclaim = ReclaimState(self)
        self.workload = Workload(self)
        self.debug = DebugState(self)
        self.rules = Rules(self, self.reclaim, self.debug)

    def _init_user(self) -> None:
        """Boot step: the process table and the overcommit sysctls (:class:`UserState`);
        then the /proc providers, in the order their fields are filled."""
        self.user = UserState(self)
        # fs/proc/meminfo.c: each provider fills the fields of the subsystem it models
        self.meminfo_providers: list = [self.user.meminfo]
        # per-zone / per-node vmstat items of subsystems the core does not model
        # (procfs.zone_stat / node_stat): fn(zone, name) / fn(name) -> int | None
        self.zone_stat_providers: list = []
        self.node_stat_providers: list = []

    # ================================================================== logging
    def printk(self, text: str) -> None:
        """Append a line to the kernel log (``k.dmesg``), with the simulated time."""
        sec, ns = divmod(self.clock_ns, 1_000_000_000)
        for line in str(text).split("\n"):
            self.dmesg.append(f"[{sec:5d}.{ns // 1000:06d}] {line}")
        self.clock_ns += 1000

    def dmesg_tail(self, n: int = 20) -> str:
        return "\n".join(self.dmesg[-n:])

    def caller_label(self, caller: str | None = None) -> str:
        """The call site to report: ``caller`` if given, else the calling Python function.

        Walks out of the kmemlab package (and widgets built on it) and out of third-party
        code (ipywidgets, traitlets, ipykernel: :func:`kmemlab.kdebug.is_learner_frame`) to
        the learner's function; code at a notebook's top level reports ``notebook_cell``.
        """
        if caller is not None:
            if not isinstance(caller, str):
                raise TypeError(f"caller must be a string label, not {type(caller).__name__}")
            return caller
        frame = inspect.currentframe()
        try:
            f = frame.f_back if frame else None
            while f is not None and not is_learner_frame(f.f_code):
                f = f.f_back
            if f is None:
                return "<unknown>"
            name = f.f_code.co_name
            return "notebook_cell" if name == "<module>" else name
        finally:
            del frame

    def current_comm(self) -> str:
        """``current->comm``: the name reports print for the running task."""
        return self.current_task.comm

    _comm = current_comm   # the name vmalloc.py still calls

    def warn_alloc(self, order: int, value: int, reason: str) -> None:
        """mm/page_alloc.c: warn_alloc (6.x) / warn_alloc_failed (3.15)."""
        report.warn_alloc(self, order, value, reason)

    def cpu_line(self, taint: str = "Not tainted", pid: int | None = None,
                 comm: str | None = None) -> str:
        """lib/dump_stack.c: dump_stack_print_info's first line (:func:`report.cpu_line`)."""
        return report.cpu_line(self, taint, pid, comm)

    def call_trace(self, frames: list[str]) -> list[str]:
        """The frames inside their stack markers (:func:`report.call_trace`)."""
        return report.call_trace(self, frames)

    def _dump_stack(self) -> None:
        report.dump_stack(self)

    # WARN_ON_ONCE(order > largest) in mm/page_alloc.c: the line in the Debian stable
    # source each profile models (6.12.117: 4832, 6.1.192: 5634) and the faulting IP of
    # one real build (6.12.0 openSUSE: __alloc_pages_noprof+0x2ca/0x330; 6.0/6.2 syzbot:
    # __alloc_pages+0x30a/0x560). For 3.15 the line was not verified, so none is printed;
    # __alloc_pages_slowpath is inlined there, hence __alloc_pages_nodemask.
    # (Profile.order_warn_site holds each one.)

    def warn_on_once_order(self, order: int, value: int) -> None:
        """The WARN_ON_ONCE for an order beyond the largest (kernel/panic.c: __warn)."""
        report.warn_once(self, self.profile.order_warn_site,
                         f"kmemlab: why: order {order} is above the largest order "
                         f"{self.page_alloc.max_order} ({self.profile.max_order_constant}); "
                         "this warning is printed once per boot")

    def warn_gfp_migratetype(self, value: int, mt: int) -> None:
        """Both ``__GFP_RECLAIMABLE`` and ``__GFP_MOVABLE``: the mobility bits read as
        migratetype 3, which is no type an allocation may ask for (MIGRATE_HIGHATOMIC in
        6.x, MIGRATE_RESERVE in 3.15). 6.x include/linux/gfp.h: gfp_migratetype has
        ``VM_WARN_ON((gfp_flags & GFP_MOVABLE_MASK) == GFP_MOVABLE_MASK)`` (printed with
        CONFIG_DEBUG_VM) and then indexes the per-CPU lists and the fallback table
        (sized MIGRATE_PCPTYPES) out of bounds; 3.15's allocflags_to_migratetype has a
        plain ``WARN_ON``. kmemlab prints the warning and refuses the request before
        anything changes (:class:`KernelBug`) instead of going on undefined."""
        fn = self.profile.gfp_migratetype_fn
        name = self.profile.migratetype_names[mt] if mt < len(
            self.profile.migratetype_names) else str(mt)
        why = (f"kmemlab: why: gfp_flags={self.profile.gfp.show(value)} sets both "
               f"__GFP_RECLAIMABLE and __GFP_MOVABLE: migratetype {mt} ({name}) is not a "
               "type to allocate from; ask for one mobility bit")
        lines = report.warn(self, f"include/linux/gfp.h {fn}()", why=why)
        raise BadGfpMask("GFP mask with both __GFP_RECLAIMABLE and __GFP_MOVABLE "
                        f"(migratetype {mt}): pick one", lines + [why])

    def bad_page(self, pfn: int, reason: str, message: str) -> None:
        """mm/page_alloc.c: bad_page(): report and raise :class:`BadPageState`, state
        untouched (:func:`report.bad_page`)."""
        report.bad_page(self, pfn, reason, message)

    # ============ rules, reclaim, debug (rules.py, reclaim.py, kdebug.py) and user (user/)
    # One line each: the subsystem objects built at boot (_init_rules, _init_user) do the
    # work; see their docstrings. Properties stay properties, context managers stay so.
    @property
    def kconfig(self) -> dict[str, bool]:
        """The kernel options the rules read (``CONFIG_DEBUG_ATOMIC_SLEEP``, ...)."""
        return self.rules.kconfig

    @property
    def rules_tainted(self) -> bool:
        """A rules or debug report was printed ('W'/'B' in the next "Tainted:" line)."""
        return self.rules.tainted

    @rules_tainted.setter
    def rules_tainted(self, value: bool) -> None:
        self.rules.tainted = value

    @property
    def mutexes_held(self) -> list[str]:
        """The mutexes ``k.mutex_lock`` took and nothing unlocked yet, oldest first."""
        return self.rules.mutexes_held

    @property
    def reclaim_kswapd_pid(self) -> int:
        """The pid kswapd0 runs (and is reported) as."""
        return self.reclaim.kswapd_pid

    def kprobe_handler(self, symbol: str = "kprobe"):
        """``with k.kprobe_handler("do_sys_open"):`` run as a kprobe pre-handler."""
        return self.rules.kprobe_handler(symbol)

    @property
    def current(self) -> Task:
        """``current`` (arch/x86/include/asm/current.h): the task running on this CPU."""
        return self.rules.current

    def task(self, pid: int, comm: str):
        """``with k.task(1300, "myapp"):`` run the block as that task (pid, comm)."""
        return self.rules.task(pid, comm)

    def in_task(self) -> bool:
        """include/linux/preempt.h: in_task(): process context."""
        return self.rules.in_task()

    def in_hardirq(self) -> bool:
        """include/linux/preempt.h: in_hardirq() (3.15: in_irq())."""
        return self.rules.in_hardirq()

    def in_softirq(self) -> bool:
        """include/linux/preempt.h: in_serving_softirq()."""
        return self.rules.in_softirq()

    def in_nmi(self) -> bool:
        """include/linux/preempt.h: in_nmi()."""
        return self.rules.in_nmi()

    def preemptible(self) -> bool:
        """include/linux/preempt.h: preemptible()."""
        return self.rules.preemptible()

    def may_sleep(self) -> bool:
        """Could the current context sleep (preempt_count 0 and interrupts on)?"""
        return self.rules.may_sleep()

    def gfp_for_context(self) -> str:
        """The document's rules 1-3: GFP_KERNEL where the context may sleep, else GFP_ATOMIC."""
        return self.rules.gfp_for_context()

    def might_sleep(self, file: str | None = None, line: int = 0, *, what: str = "might_sleep"
                    ) -> None:
        """include/linux/kernel.h: might_sleep() → kernel/sched/core.c: __might_sleep."""
        self.rules.might_sleep(file, line, what=what)

    def mutex_lock(self, name: str = "mutex") -> None:
        """kernel/locking/mutex.c: mutex_lock: might_sleep(), then take the mutex."""
        self.rules.mutex_lock(name)

    def mutex_unlock(self, name: str = "mutex") -> None:
        """kernel/locking/mutex.c: mutex_unlock."""
        self.rules.mutex_unlock(name)

    def mutex(self, name: str = "mutex"):
        """``with k.mutex("name"):`` mutex_lock … mutex_unlock."""
        return self.rules.mutex(name)

    def msleep(self, msecs: int) -> None:
        """kernel/time/timer.c: msleep → schedule_timeout: the task really sleeps."""
        self.rules.msleep(msecs)

    def copy_from_user(self, n: int) -> int:
        """copy_from_user (include/linux/uaccess.h / lib/usercopy.c): might_fault()."""
        return self.rules.copy_from_user(n)

    def copy_to_user(self, n: int) -> int:
        """copy_to_user: might_fault() like copy_from_user; returns 0."""
        return self.rules.copy_to_user(n)

    def kswapd_run(self) -> int:
        """Let kswapd run now (mm/vmscan.c: kswapd → balance_pgdat); pages reclaimed."""
        return self.rules.kswapd_run()

    def register_oom_candidate(self, task) -> None:
        """Add a killable task to the OOM killer's list (mm/oom_kill.c: select_bad_process)."""
        self.rules.register_oom_candidate(task)

    def unregister_oom_candidate(self, task) -> None:
        """Remove a task (it exited) from the OOM killer's list."""
        self.rules.unregister_oom_candidate(task)

    @property
    def oom_candidates(self) -> list:
        """The killable tasks, in registration order."""
        return self.rules.oom_candidates

    def vmstat(self) -> dict[str, int]:
        """/proc/vmstat as a dict (mm/vmstat.c: vmstat_show)."""
        return self.rules.vmstat()

    def enable_debug(self, *, kasan: bool | None = None, kmemleak: bool | None = None,
                     slub_debug: str | None = None) -> None:
        """Turn debug tracking on after boot (objects allocated before are not tracked)."""
        self.rules.enable_debug(kasan=kasan, kmemleak=kmemleak, slub_debug=slub_debug)

    def kmemleak_scan(self) -> list:
        """mm/kmemleak.c: kmemleak_scan (``echo scan > /sys/kernel/debug/kmemleak``)."""
        return self.rules.kmemleak_scan()

    def store(self, ptr, into="global", field: str = "ptr") -> None:
        """Record ``into->field = ptr``: a pointer kmemleak can follow."""
        self.rules.store(ptr, into, field)

    def kmemleak_not_leak(self, ptr: int) -> None:
        """mm/kmemleak.c: kmemleak_not_leak: never report this object."""
        self.rules.kmemleak_not_leak(ptr)

    def kmodule(self, name: str) -> KModule:
        """A scripted module (globals = kmemleak roots; ``mod.unload()``: its leak report)."""
        return self.rules.kmodule(name)

    def module_unloaded(self, name: str) -> list:
        """kernel/module/main.c: free_module → kmemleak: a scripted module's leak report."""
        return self.rules.module_unloaded(name)

    def read(self, addr, n: int = 1) -> None:
        """A load of ``n`` bytes at ``addr`` (KASAN: __asan_loadN → kasan_check_range)."""
        self.rules.read(addr, n)

    def write(self, addr, n: int = 1, value: int = 0) -> None:
        """A store of ``n`` bytes (of ``value``) at ``addr`` (KASAN: __asan_storeN)."""
        self.rules.write(addr, n, value)

    def dma_map_single(self, addr: int, size: int, dma_mask: int = 0xFFFFFFFF) -> int:
        """dma_map_single for a device that can address ``dma_mask`` (rule 4: GFP_DMA)."""
        return self.rules.dma_map_single(addr, size, dma_mask)

    def spawn(self, name: str, env: dict[str, str] | None = None, *, uid: int = 1000,
              path: str | None = None) -> Process | None:
        """fork + execve of a small C program ``name`` (kernel/fork.c, fs/exec.c: do_execve)."""
        return self.user.spawn(name, env, uid=uid, path=path)

    @property
    def processes(self) -> list[Process]:
        """The live processes, by pid (the task list ``for_each_process`` walks)."""
        return self.user.live()

    def find_process(self, pid: int) -> Process | None:
        """kernel/pid.c: find_task_by_vpid: the live process ``pid``, or None."""
        return self.user.find_process(pid)

    def vm_commit_limit(self) -> int:
        """mm/util.c: vm_commit_limit, in pages (``CommitLimit``)."""
        return self.user.commit_limit()

    @property
    def committed_as_pages(self) -> int:
        """``vm_committed_as`` in pages (``Committed_AS``)."""
        return self.user.committed

    def meminfo_hook(self, values: dict) -> None:
        """The /proc/meminfo fields the process model fills (procfs asks k.meminfo_providers)."""
        self.user.meminfo(values)

    # ================================================================== hooks
    # What the page allocator and SLUB call; each goes straight to the subsystem object.
    def might_sleep_if_alloc(self, value: int, order: int) -> None:
        """might_sleep_if(gfpflags_allow_blocking(gfp)): checked by the context model.

        Calls :meth:`Rules.might_alloc` directly: its report finds the allocator as the
        frame three up (no wrapper in between)."""
        self.rules.might_alloc(value, order)

    def wakeup_kswapd(self, zone: Zone, order: int) -> None:
        """mm/vmscan.c: wakeup_kswapd (the reclaim model, ``k.reclaim``, does the work)."""
        self.page_alloc.count("kswapd_wake")
        self.reclaim.wakeup_kswapd(zone, order)

    def direct_reclaim(self, zonelist, order: int, value: int) -> int:
        """__alloc_pages_direct_reclaim/compact: pages made available."""
        return self.reclaim.direct_reclaim(zonelist, order, value)

    def out_of_memory(self, zonelist, order: int, value: int) -> bool:
        """mm/oom_kill.c: out_of_memory; False when there is nothing to kill."""
        return self.reclaim.out_of_memory(zonelist, order, value)

    # ================================================================== contexts
    @contextmanager
    def on_cpu(self, cpu: int):
        """Run the block on CPU ``cpu`` (per-CPU slabs, trace lines)."""
        if isinstance(cpu, bool) or not isinstance(cpu, int):
            raise TypeError(f"cpu must be an int, not {type(cpu).__name__}")
        if not 0 <= cpu < self.nr_cpus:
            raise ValueError(f"cpu must be in 0..{self.nr_cpus - 1}, not {cpu}")
        old = self.current_cpu
        self.current_cpu = cpu
        try:
            yield cpu
        finally:
            self.current_cpu = old

    def context(self, kind: str = "process"):
        """``with k.context("hardirq"):`` run in that execution context."""
        if kind not in ("process", "softirq", "hardirq", "nmi"):
            raise ValueError(f"unknown context {kind!r}; use 'process', 'softirq', "
                             "'hardirq' or 'nmi'")
        return self.context_stack.entered(kind)

    def spin_lock(self, name: str = "lock", irqsave: bool = False):
        """``with k.spin_lock("name"):`` hold a spinlock (preemption off)."""
        return self.context_stack.entered("spin_lock_irqsave" if irqsave else "spin_lock", name)

    def irqs_disabled(self):
        """``with k.irqs_disabled():`` local_irq_disable() … local_irq_enable()."""
        return self.context_stack.entered("irqs_off")

    def preempt_disabled(self):
        """``with k.preempt_disabled():`` preempt_disable() … preempt_enable()."""
        return self.context_stack.entered("preempt_off")

    def in_interrupt(self) -> bool:
        return self.context_stack.in_interrupt()

    def in_atomic(self) -> bool:
        return self.context_stack.in_atomic()

    # ================================================================== GFP
    def gfp_value(self, flags) -> int:
        """The number of ``flags`` in this kernel version (ValueError if it lacks one)."""
        return self.profile.gfp.value(_gfp.coerce(flags))

    def gfp_str(self, flags) -> str:
        """``flags`` as this version's tracepoints print them (show_gfp_flags)."""
        return self.profile.gfp.show(self.gfp_value(flags))

    def gfp_has(self, flags, name: str) -> bool:
        """Is flag ``name`` set in ``flags`` (in this version's bits)?"""
        return self.profile.gfp.has(self.gfp_value(flags), name)

    def gfp_zone(self, flags) -> str:
        """include/linux/gfp.h: gfp_zone(): the highest zone ``flags`` allow."""
        return self.profile.gfp_zone(self.gfp_value(flags))

    def gfpflags_allow_blocking(self, flags) -> bool:
        """May an allocation with ``flags`` sleep? (__GFP_WAIT in 3.15, DIRECT_RECLAIM in 6.x).

        gfp_has(flags, may_block_flag), remembered per mask: chapter 1 asks this of every
        allocation in a trace (83,000 times)."""
        p = self.profile
        return p.gfp_table.has_flag(flags if type(flags) is _GFP else _gfp.coerce(flags),
                                    p.may_block_flag)

    # ================================================================== pages
    get_order = staticmethod(get_order)

    def alloc_pages(self, gfp, order: int = 0, *, caller: str | None = None) -> Page | None:
        """alloc_pages(gfp, order) (include/linux/gfp.h → mm/page_alloc.c: __alloc_pages).

        Returns a :class:`Page` (the head of 2^order physically contiguous pages) or
        None, with a warning in ``k.dmesg`` unless ``__GFP_NOWARN``.
        """
        # PageAllocator.alloc_pages checks the flags, the call site and the order as
        # this method would; on a booted kernel k.alloc_pages is that method itself
        if caller is None:
            f = _getframe(1)
            caller = known_call_site(id(f.f_code)) or call_site(f)
        return self.page_alloc.alloc_pages(gfp, order, caller=caller)

    def get_free_pages(self, gfp, order: int = 0, *, caller: str | None = None) -> int | None:
        """__get_free_pages (mm/page_alloc.c): a direct-map address, or None for 0.

        3.15 hits ``VM_BUG_ON`` for ``__GFP_HIGHMEM`` (a HighMem page has no
        permanent address); 6.x silently clears the flag. Both are modelled.
        """
        gfp = _gfp.coerce(gfp)
        value = self.gfp_value(gfp)
        if value & 0x2:
            if self.profile.get_free_pages_highmem_bug:
                self.printk("kernel BUG at mm/page_alloc.c: __get_free_pages: "
                            "VM_BUG_ON((gfp_mask & __GFP_HIGHMEM) != 0)")
                raise BadGfpMask("__get_free_pages() with __GFP_HIGHMEM: the page might have "
                                "no kernel address (3.15 VM_BUG_ON)")
            value &= ~0x2
        page = self.page_alloc.alloc_pages(value, order, owner="pages",
                                           caller=self.caller_label(caller))
        if page is None:
            return None
        page.pinned = True   # the caller holds an address: nothing can migrate it
        return self.page_address(page)

    __get_free_pages = get_free_pages

    def get_zeroed_page(self, gfp, *, caller: str | None = None) -> int | None:
        """get_zeroed_page(gfp) = __get_free_pages(gfp | __GFP_ZERO, 0)."""
        return self.get_free_pages(_gfp.coerce(gfp) | _gfp.flag("__GFP_ZERO"), 0,
                                   caller=self.caller_label(caller))

    def free_pages(self, addr_or_page, order: int | None = None, *,
                   caller: str | None = None) -> None:
        """free_pages(addr, order) or __free_pages(page, order) (mm/page_alloc.c).

        ``free_pages(0, order)`` does nothing, as in the kernel. On a booted kernel
        ``k.free_pages`` is :meth:`PageAllocator.free_learner_pages`, which frees a
        learner's page that passes every check below itself and hands anything else
        to this method.
        """
        pa = self.page_alloc
        if isinstance(addr_or_page, Page):
            if order is None:
                order = addr_or_page.order
            held = pa.allocated.get(addr_or_page.pfn)
            if held is not None and held is not addr_or_page:
                # kmemlab check: a Page freed before whose frame was handed out again;
                # the kernel would free the new owner's page under it
                self.bad_page(addr_or_page.pfn, "nonzero mapcount (kmemlab check: stale "
                              "struct page)", f"double free of {addr_or_page!r}: it was "
                              "freed before and its frame now belongs to someone else")
            pa.check_free(addr_or_page.pfn, order, LEARNER_OWNERS)
            pa.free_pages(addr_or_page, order, caller=caller)
            return
        if isinstance(addr_or_page, bool) or not isinstance(addr_or_page, int):
            raise TypeError("free_pages takes an address (int) from __get_free_pages or a Page "
                            f"from alloc_pages, not {type(addr_or_page).__name__}")
        if addr_or_page == 0:
            return
        if order is None:
            raise TypeError("free_pages(addr, order): pass the order you allocated with")
        pfn = self.virt_to_pfn(addr_or_page)
        if addr_or_page & (self.PAGE_SIZE - 1):
            self.printk(f"kernel BUG at mm/page_alloc.c: free_pages: "
                        f"VM_BUG_ON(!virt_addr_valid((void *){addr_or_page:#x}))")
            raise InvalidFree(f"free_pages({addr_or_page:#x}): not a page-aligned address from "
                            "__get_free_pages")
        pa.check_free(pfn, order, LEARNER_OWNERS)
        pa.free_pages(pfn, order, caller=caller)

    def __free_pages(self, page: Page, order: int | None = None) -> None:
        self.free_pages(page, order)

    # ================================================================== SLUB / kmalloc
    def kmalloc(self, size, gfp, *, caller: str | None = None) -> int | None:
        """kmalloc(size, gfp) (include/linux/slab.h → mm/slub.c): a direct-map address,
        ZERO_SIZE_PTR (0x10) for size 0, or None."""
        # slub.kmalloc checks gfp and caller as the other entry points do; the call site
        # of the caller's frame (already materialised: no walk through ours)
        if caller is None:
            f = sys._getframe(1)
            caller = known_call_site(id(f.f_code)) or call_site(f)
        return self.slub.kmalloc(size, gfp, caller)

    def kzalloc(self, size, gfp, *, caller: str | None = None) -> int | None:
        """kzalloc = kmalloc(size, gfp | __GFP_ZERO)."""
        return self.slub.kzalloc(size, _gfp.coerce(gfp), caller=self.caller_label(caller))

    def kcalloc(self, n, size, gfp, *, caller: str | None = None) -> int | None:
        """kcalloc: kmalloc_array with overflow check (None when n * size overflows)."""
        return self.slub.kcalloc(n, size, _gfp.coerce(gfp), caller=self.caller_label(caller))

    def krealloc(self, ptr, new_size, gfp, *, caller: str | None = None) -> int | None:
        """krealloc (mm/slab_common.c / mm/slub.c)."""
        return self.slub.krealloc(ptr, new_size, _gfp.coerce(gfp),
                                  caller=self.caller_label(caller))

    def kfree(self, ptr, *, caller: str | None = None) -> None:
        """kfree (mm/slub.c): None, 0 and ZERO_SIZE_PTR are ignored."""
        if caller is None:   # call_site(f) without the call when f's code is known
            f = sys._getframe(1)
            caller = known_call_site(id(f.f_code)) or call_site(f)
        self.slub.kfree(ptr, caller)

    def ksize(self, ptr) -> int:
        """ksize (mm/slab_common.c): the usable size of a kmalloc'd object."""
        return self.slub.ksize(ptr)

    def kmalloc_cache(self, size, gfp=None):
        """The kmem_cache that kmalloc(size, gfp) would use (None above 8 KiB)."""
        return self.slub.kmalloc_cache(size, None if gfp is None else _gfp.coerce(gfp))

    def kmem_cache_create(self, name: str, size, align: int = 0, flags=0, ctor=None, *,
                          caller: str | None = None, sheaf_capacity: int = 0):
        """kmem_cache_create (mm/slab_common.c): a cache, possibly merged with another.

        ``sheaf_capacity`` (6.18, kmem_cache_args): per-CPU sheaves of that many objects
        (:mod:`kmemlab.sheaves`); such a cache is never merged."""
        return self.slub.kmem_cache_create(name, size, align, flags, ctor,
                                           caller=self.caller_label(caller),
                                           sheaf_capacity=sheaf_capacity)

    def kmem_cache_alloc(self, cache, gfp, *, caller: str | None = None) -> int | None:
        """kmem_cache_alloc (mm/slub.c)."""
        if caller is None:
            f = sys._getframe(1)
            caller = known_call_site(id(f.f_code)) or call_site(f)
        return self.slub.kmem_cache_alloc(cache, gfp, caller)

    def kmem_cache_zalloc(self, cache, gfp, *, caller: str | None = None) -> int | None:
        """kmem_cache_zalloc = kmem_cache_alloc(cache, gfp | __GFP_ZERO)."""
        return self.slub.kmem_cache_zalloc(cache, _gfp.coerce(gfp),
                                           caller=self.caller_label(caller))

    def kmem_cache_free(self, cache, ptr, *, caller: str | None = None) -> None:
        """kmem_cache_free (mm/slub.c)."""
        if caller is None:
            f = sys._getframe(1)
            caller = known_call_site(id(f.f_code)) or call_site(f)
        self.slub.kmem_cache_free(cache, ptr, caller)

    def kmem_cache_destroy(self, cache, *, caller: str | None = None) -> None:
        """kmem_cache_destroy (mm/slab_common.c)."""
        self.slub.kmem_cache_destroy(cache, caller=self.caller_label(caller))

    def kmem_cache_shrink(self, cache, *, caller: str | None = None) -> int:
        """kmem_cache_shrink (mm/slab_common.c → __kmem_cache_shrink)."""
        return self.slub.kmem_cache_shrink(cache, caller=self.caller_label(caller))

    @property
    def slab_caches(self):
        """The caches by name, with /sys/kernel/slab/<cache>/ attribute names."""
        return self.slub.slab_caches

    # ============ address space (vmalloc.py, highmem.py, memblock.py, cma.py, module.py)
    # One-line forwarders to the objects the kernel owns; the work is done there.
    # -- addresses
    def is_vmalloc_addr(self, addr) -> bool:
        """include/linux/mm.h: is_vmalloc_addr(): VMALLOC_START <= addr < VMALLOC_END."""
        return self.vmalloc_space.is_vmalloc_addr(addr)

    def is_vmalloc_or_module_addr(self, addr: int) -> bool:
        """mm/vmalloc.c: is_vmalloc_or_module_addr()."""
        return self.vmalloc_space.is_vmalloc_or_module_addr(addr)

    def walk(self, addr: int):
        """Walk the kernel page tables for ``addr`` (the hardware walk; the order
        arch/x86/mm/fault.c: dump_pagetable prints). Returns a :class:`~kmemlab.pgtable.Walk`."""
        return self.vmalloc_space.walk(addr)

    # -- mm/highmem.c (k.highmem)
    def kmap(self, page: Page) -> int:
        """kmap() (mm/highmem.c: kmap_high → map_new_virtual): a lowmem page's direct-map
        address, or a PKMAP slot for a HighMem page (i386). May sleep."""
        return self.highmem.kmap(page)

    def kunmap(self, page: Page) -> None:
        """kunmap() (mm/highmem.c: kunmap_high): drop one user; the mapping stays until
        the next flush_all_zero_pkmaps, so page_address() still answers."""
        self.highmem.kunmap(page)

    # -- mm/vmalloc.c (k.vmalloc_space)
    @property
    def vmalloc_steps(self) -> list[Step]:
        """The steps of the last vmalloc-family call (for replay widgets)."""
        return self.vmalloc_space.vmalloc_steps

    @property
    def vmap_areas(self) -> list[VmArea]:
        """The busy vmap areas, lowest address first."""
        return self.vmalloc_space.vmap_areas

    def vmalloc(self, size, *, caller: str | None = None) -> int | None:
        """vmalloc(size) (mm/vmalloc.c): virtually contiguous memory, or None."""
        return self.vmalloc_space.vmalloc(size, caller=caller)

    def vzalloc(self, size, *, caller: str | None = None) -> int | None:
        """vzalloc(size) (mm/vmalloc.c): vmalloc with __GFP_ZERO."""
        return self.vmalloc_space.vzalloc(size, caller=caller)

    def vmalloc_node(self, size, node: int = 0, *, caller: str | None = None) -> int | None:
        """vmalloc_node(size, node) (mm/vmalloc.c); kmemlab has one node, node 0."""
        return self.vmalloc_space.vmalloc_node(size, node, caller=caller)

    def vmalloc_32(self, size, *, caller: str | None = None) -> int | None:
        """vmalloc_32(size) (mm/vmalloc.c): pages addressable with 32 bits
        (GFP_DMA32 on x86_64, GFP_KERNEL i.e. lowmem on i386)."""
        return self.vmalloc_space.vmalloc_32(size, caller=caller)

    def vmalloc_gfp(self, size, gfp, prot=None, *, caller: str | None = None) -> int | None:
        """__vmalloc(size, gfp_mask[, prot]) (mm/vmalloc.c; 3.15 has the prot argument)."""
        return self.vmalloc_space.vmalloc_gfp(size, gfp, prot, caller=caller)

    def kvmalloc(self, size, gfp="GFP_KERNEL", *, caller: str | None = None) -> int | None:
        """kvmalloc(size, flags) (mm/util.c): kmalloc first, vmalloc above a page if that
        fails and the flags allow blocking (:meth:`kmemlab.vmalloc.Vmalloc.kvmalloc`).
        Free with :meth:`kvfree`."""
        return self.vmalloc_space.kvmalloc(size, gfp, caller=caller)

    def kvfree(self, addr, *, caller: str | None = None) -> None:
        """kvfree(addr) (mm/util.c): vfree for a vmalloc address, else kfree."""
        self.vmalloc_space.kvfree(addr, caller=caller)

    def vmalloc_node_range(self, size, gfp="GFP_KERNEL", *, align: int = 1,
                           start: int | None = None, end: int | None = None,
                           vm_flags=0, caller: str | None = None) -> int | None:
        """__vmalloc_node_range(size, align, start, end, gfp, prot, vm_flags, node, caller)
        (mm/vmalloc.c). ``vm_flags`` may be ``"VM_NO_GUARD"`` on 6.x."""
        return self.vmalloc_space.vmalloc_node_range(size, gfp, align=align, start=start,
                                                     end=end, vm_flags=vm_flags, caller=caller)

    def vfree(self, addr, *, caller: str | None = None) -> None:
        """vfree(addr) (mm/vmalloc.c): unmap, free the pages, put the VA on the lazy
        list; a purge (one TLB flush) runs when vmap_lazy_nr > lazy_max_pages()."""
        self.vmalloc_space.vfree(addr, caller=caller)

    def purge_vmap_area_lazy(self) -> int:
        """purge_vmap_area_lazy() (mm/vmalloc.c): purge now; returns areas purged."""
        return self.vmalloc_space.purge_vmap_area_lazy()

    def vmap(self, pages, count: int | None = None, flags="VM_MAP", *,
             caller: str | None = None) -> int | None:
        """vmap(pages, count, flags, prot) (mm/vmalloc.c): map existing pages (Page
        objects or pfns, one 4 KiB page each) into the vmalloc space."""
        return self.vmalloc_space.vmap(pages, count, flags, caller=caller)

    def vunmap(self, addr, *, caller: str | None = None) -> None:
        """vunmap(addr) (mm/vmalloc.c): remove the mapping, keep the pages (a vmalloc'd
        area's pages leak, as in the kernel)."""
        self.vmalloc_space.vunmap(addr, caller=caller)

    def vmalloc_to_page(self, addr) -> Page | None:
        """vmalloc_to_page(addr) (mm/vmalloc.c): walk init_mm's tables; None if unmapped."""
        return self.vmalloc_space.vmalloc_to_page(addr)

    def vmalloc_to_pfn(self, addr) -> int | None:
        """vmalloc_to_pfn(addr) = page_to_pfn(vmalloc_to_page(addr)) (mm/vmalloc.c)."""
        return self.vmalloc_space.vmalloc_to_pfn(addr)

    def find_vm_area(self, addr: int) -> VmArea | None:
        """find_vm_area(addr) (mm/vmalloc.c): the busy area starting at/containing addr."""
        return self.vmalloc_space.find_vm_area(addr)

    def phys_runs(self, addr, size) -> list[PhysRun]:
        """The physically contiguous runs behind the kernel virtual range [addr, addr+size):
        one for kmalloc/__get_free_pages memory, usually many for vmalloc."""
        return self.vmalloc_space.phys_runs(addr, size)

    def provenance(self, addr: int) -> Provenance | None:
        """Which API made the memory at ``addr`` (a kernel virtual address), or None."""
        return self.vmalloc_space.provenance(addr)

    # -- mm/memblock.c, 3.15 mm/nobootmem.c (k.memblock holds the tables)
    def memblock_add(self, base: int, size) -> None:
        """memblock_add(base, size) (mm/memblock.c)."""
        self.memblock.memblock_add(base, size)

    def memblock_reserve(self, base: int, size, name: str = "memblock_reserve") -> None:
        """memblock_reserve(base, size) (mm/memblock.c)."""
        self.memblock.memblock_reserve(base, size, name)

    def memblock_free(self, ptr: int, size) -> None:
        """memblock_free (mm/memblock.c): 3.15 takes a physical base; 6.x a virtual pointer
        (memblock_phys_free takes the physical one)."""
        self.memblock.memblock_free(ptr, size, virtual=self.profile.memblock_free_virt)

    def memblock_phys_free(self, base: int, size) -> None:
        """memblock_phys_free(base, size) (mm/memblock.c, 5.16+)."""
        self.memblock.memblock_free(base, size, virtual=False)

    def memblock_alloc(self, size, align: int = 0, *, caller: str | None = None):
        """memblock_alloc(size, align) (mm/memblock.c). 3.15: a physical address, panic on
        failure (memblock_alloc_base); 6.x: a zeroed virtual pointer or None
        (memblock_alloc_try_nid → memblock_alloc_range_nid)."""
        return self.memblock.memblock_alloc(size, align, caller=self.caller_label(caller))

    def memblock_phys_alloc(self, size, align: int = 0, *, caller: str | None = None):
        """memblock_phys_alloc(size, align) (include/linux/memblock.h): a physical address
        or None (0 in C)."""
        return self.memblock.memblock_phys_alloc(size, align, caller=self.caller_label(caller))

    def memblock_set_bottom_up(self, enable: bool) -> None:
        """memblock_set_bottom_up(enable) (include/linux/memblock.h)."""
        self.memblock.memblock_set_bottom_up(enable)

    def alloc_bootmem(self, size, *, caller: str | None = None) -> int:
        """alloc_bootmem(size) (3.15 mm/nobootmem.c: ___alloc_bootmem): a zeroed
        direct-map pointer above 16 MiB if possible; panics on failure."""
        return self.memblock.alloc_bootmem(size, caller=self.caller_label(caller))

    def alloc_bootmem_align(self, size, align: int, *, caller: str | None = None) -> int:
        """alloc_bootmem_align(size, align) (3.15 include/linux/bootmem.h)."""
        return self.memblock.alloc_bootmem(size, align=align, caller=self.caller_label(caller))

    def alloc_bootmem_pages(self, size, *, caller: str | None = None) -> int:
        """alloc_bootmem_pages(size) (3.15): page-aligned alloc_bootmem."""
        return self.memblock.alloc_bootmem(size, align=self.PAGE_SIZE,
                                      caller=self.caller_label(caller))

    def alloc_bootmem_low(self, size, *, caller: str | None = None) -> int:
        """alloc_bootmem_low(size) (3.15 mm/nobootmem.c: __alloc_bootmem_low): below
        ARCH_LOW_ADDRESS_LIMIT (4 GiB on x86_64), goal 0."""
        return self.memblock.alloc_bootmem(size, goal=0, limit=0xFFFFFFFF,
                                      caller=self.caller_label(caller))

    def alloc_bootmem_nopanic(self, size, *, caller: str | None = None) -> int | None:
        """alloc_bootmem_nopanic(size) (3.15): None instead of a panic."""
        return self.memblock.alloc_bootmem(size, panic=False, caller=self.caller_label(caller))

    def free_bootmem(self, phys: int, size) -> None:
        """free_bootmem(addr, size) (3.15 mm/nobootmem.c: memblock_free of a physical
        address)."""
        self.memblock.free_bootmem(phys, size)

    # -- kernel/module (k.modules)
    def export_symbol(self, name: str, value: int) -> None:
        """EXPORT_SYMBOL(name) (include/linux/export.h): make a value visible to modules
        (``k.exported_symbols``; ``k.find_symbol(name)``)."""
        self.modules.export_symbol(name, value)

    def find_symbol(self, name: str) -> int | None:
        """find_symbol (kernel/module.c): an exported symbol's value, or None."""
        return self.modules.find_symbol(name)

    # -- mm/cma.c (k.cma)
    def cma_alloc(self, count: int, align: int = 0, *, area: int = 0, no_warn: bool = False,
                  caller: str | None = None):
        """cma_alloc(cma, count, align, no_warn) (mm/cma.c, 6.x; 3.15's
        dma_alloc_from_contiguous): ``count`` contiguous pages from a CMA area, moving
        movable pages out first; a :class:`~kmemlab.cma.CmaAllocation` or None."""
        return self.cma.alloc(count, align, area=area, no_warn=no_warn, caller=caller)

    def cma_release(self, alloc_or_pfn, count: int | None = None, *, area: int = 0) -> bool:
        """cma_release(cma, pages, count) (mm/cma.c; 3.15 dma_release_from_contiguous)."""
        return self.cma.release(alloc_or_pfn, count, area=area)

    def load_module(self, name: str, text=0, data=0, bss=0, *, rodata=0, init=0,
                    caller: str | None = None):
        """insmod: load_module → layout_and_allocate → move_module (kernel/module.c, 3.15
        and 6.1: module_alloc; kernel/module/main.c 6.12: execmem_alloc per memory type).
        Returns a :class:`~kmemlab.module.Module` or None when it does not fit."""
        return self.modules.load(name, text, data, bss, rodata=rodata, init=init, caller=caller)

    def unload_module(self, name: str) -> None:
        """rmmod: delete_module → free_module → module_memfree (vfree)."""
        self.modules.unload(name)

    # -- state of the owned objects
    @property
    def vmalloc_state(self) -> VmallocState:
        """The vmalloc space's bookkeeping (``k.vmalloc_space.state``): areas, lazy list,
        counters."""
        return self.vmalloc_space.state

    @property
    def cma_areas(self) -> list[CmaArea]:
        """The CMA areas ``cma=`` reserved (``k.cma.areas``)."""
        return self.cma.areas

    @property
    def exported_symbols(self) -> dict[str, int]:
        """The EXPORT_SYMBOL table (``k.modules.exported_symbols``)."""
        return self.modules.exported_symbols

    def address_space_digest(self) -> tuple:
        """A fingerprint of the address-space state (vmap areas, lazy list, PTEs,
        kmaps, CMA bitmaps, modules) for "state unchanged" tests."""
        return (self.vmalloc_space.digest() + (self.highmem.digest(), self.cma.digest())
                + self.modules.digest())


    # ================================================================== addresses
    def pfn_to_virt(self, pfn: int) -> int:
        """The direct-map address of a lowmem page frame (__va(pfn << PAGE_SHIFT))."""
        return self.profile.page_offset + (pfn << self.PAGE_SHIFT)

    def virt_to_pfn(self, addr: int) -> int:
        """__pa(addr) >> PAGE_SHIFT for a direct-map address; ValueError otherwise."""
        return self.virt_to_phys(addr) >> self.PAGE_SHIFT

    def virt_to_phys(self, addr: int) -> int:
        """arch/x86: __pa / __phys_addr for the direct map and the kernel text map."""
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise TypeError(f"an address is an int, not {type(addr).__name__}")
        p = self.profile
        if p.is_64bit and addr >= p.start_kernel_map:
            return addr - p.start_kernel_map
        lowmem_end = p.page_offset + (self.max_low_pfn << self.PAGE_SHIFT)
        if p.page_offset <= addr < lowmem_end:
            return addr - p.page_offset
        raise self.vmalloc_space.phys_addr_error(addr)

    def phys_to_virt(self, phys: int) -> int:
        """__va(phys) for lowmem."""
        if phys >> self.PAGE_SHIFT >= self.max_low_pfn:
            raise ValueError(f"physical address {phys:#x} is above lowmem and has no "
                             "direct-map address (HighMem needs kmap)")
        return self.profile.page_offset + phys

    def page_address(self, page: Page) -> int | None:
        """page_address(): the direct-map address, or None for an unmapped HighMem page."""
        if page.pfn >= self.max_low_pfn:
            return self.highmem.kmap_lookup(page)
        return self.pfn_to_virt(page.pfn)

    # ================================================================== views
    @property
    def zone_list(self) -> list[Zone]:
        return list(self.page_alloc.zones)

    def buddyinfo(self) -> dict[str, list[int]]:
        """{zone name: nr_free per order} for populated zones (/proc/buddyinfo)."""
        return {z.name: z.nr_free() for z in self.page_alloc.zones if z.present}

    def frame_view(self) -> dict[str, np.ndarray]:
        """Per-frame numpy arrays for plots: zone index, owner code, block order, free.

        ``owner`` uses :data:`kmemlab.page_alloc.OWNER_NAMES`; ``order`` is the order
        of the free or allocated block the frame belongs to (-1 for holes/reserved).
        """
        n = self.max_pfn
        zone = np.full(n, -1, dtype=np.int8)
        owner = np.zeros(n, dtype=np.int8)  # 0 = hole
        order = np.full(n, -1, dtype=np.int8)
        pa = self.page_alloc
        for z in pa.zones:
            if z.spanned:
                zone[z.zone_start_pfn:z.zone_end_pfn] = z.idx
        shift = self.PAGE_SHIFT
        for r in self.memblock.memory:
            owner[(r.base + self.PAGE_SIZE - 1) >> shift: r.end >> shift] = OWNER_CODE["reserved"]
        free_code = OWNER_CODE["free"]
        for pfn, (o, _mt) in pa.free_blocks.items():
            owner[pfn:pfn + (1 << o)] = free_code
            order[pfn:pfn + (1 << o)] = o
        for pfn, page in pa.allocated.items():
            owner[pfn:pfn + (1 << page.order)] = OWNER_CODE.get(page.owner, OWNER_CODE["other"])
            order[pfn:pfn + (1 << page.order)] = page.order
        pcp_code = OWNER_CODE["pcp"]
        for pfn, (_cpu, _z, o, _i) in pa.pcp_pages.items():
            owner[pfn:pfn + (1 << o)] = pcp_code
            order[pfn:pfn + (1 << o)] = o
        return {"zone": zone, "owner": owner, "order": order}

    def nr_free_pages(self, include_pcp: bool = False) -> int:
        """Free pages in the buddy allocator (NR_FREE_PAGES), optionally plus the pages
        parked on per-CPU lists (which /proc/buddyinfo does not show)."""
        pa = self.page_alloc
        n = sum(z.free_pages for z in pa.zones)
        if include_pcp:
            n += sum(pcp.count for row in pa.pcp for pcp in row)
        return n

    def drain_all_pages(self) -> int:
        """drain_all_pages(): give every per-CPU list back to the buddy allocator."""
        return self.page_alloc.drain_all_pages()

    def proc(self, path: str) -> str:
        """The text of a /proc (or /sys, debugfs) file the simulator models."""
        from . import procfs
        return procfs.read(self, path)

    def explain(self, event) -> str:
        """The "why" of a trace event (an index or a TraceEvent)."""
        if isinstance(event, int) and not isinstance(event, bool):
            try:
                event = self.trace[event]
            except IndexError:
                raise ValueError(f"no trace event {event}: the trace holds "
                                 f"{len(self.trace)} (older ones may have left the ring "
                                 "buffer)") from None
        elif not hasattr(event, "why"):
            raise TypeError(f"explain takes an event index or a TraceEvent, not "
                            f"{type(event).__name__}")
        return event.why

    # ================================================================== snapshots
    def snapshot(self) -> Kernel:
        """A deep copy of the whole simulated machine (for undo and experiments).

        Made by a pickle round trip, which copies the same graph as ``copy.deepcopy``
        in well under half the time; a machine holding something pickle cannot copy
        (a learner's lambda as an early_params handler, say) is deep-copied instead.
        tests/unit/test_snapshot_copy.py checks that both give the same machine."""
        try:
            return pickle.loads(pickle.dumps(self, pickle.HIGHEST_PROTOCOL))
        except Exception:  # noqa: BLE001 - anything pickle refuses: the general copy
            return copy.deepcopy(self)

    def restore(self, snap: Kernel) -> None:
        """Make this kernel exactly the snapshot (the snapshot stays reusable)."""
        # objects in the copy that point back at the kernel (a process, SLUB, the trace
        # log) point at this kernel, not at a throwaway copy
        try:
            state = _copy_pointing_at(snap.__dict__, snap, self)
        except Exception:  # noqa: BLE001 - as in snapshot
            state = copy.deepcopy(snap.__dict__, {id(snap): self})
        self.__dict__.update(state)
        self._rebind()

    def frozen_state(self) -> bytes:
        """This machine as bytes for :meth:`restore_frozen`: a snapshot that costs nothing
        while kept and one unpickling per restore (``restore(snapshot)`` pickles the
        snapshot again each time). Raises what pickle raises for a machine it cannot copy
        (then use :meth:`snapshot`)."""
        return _dump_pointing_at(self.__dict__, self)

    def restore_frozen(self, data: bytes) -> None:
        """Make this kernel exactly the machine :meth:`frozen_state` gave ``data`` for
        (as :meth:`restore`; the bytes stay reusable)."""
        self.__dict__.update(_load_pointing_at(data, self))
        self._rebind()

    def _rebind(self) -> None:
        pass

    def state_digest(self) -> tuple:
        """A compact fingerprint of the allocator state (tests use it for "unchanged")."""
        pa = self.page_alloc
        return (tuple(sorted(pa.free_blocks.items())),
                tuple(sorted((p, pg.order, pg.owner) for p, pg in pa.allocated.items())),
                tuple(z.free_pages for z in pa.zones),
                tuple(tuple(tuple(fl) for fl in a.free_list) for z in pa.zones
                      for a in z.free_area),
                bytes(pa.pageblock_mt))

    def __repr__(self) -> str:
        return (f"<Kernel {self.profile.name} ram={self.ram >> 20}M cpus={self.nr_cpus} "
                f"free={sum(z.free_pages for z in self.page_alloc.zones)} pages>")


# Kernel names with two leading underscores (a class body would mangle them).
setattr(Kernel, "__vmalloc", Kernel.vmalloc_gfp)
setattr(Kernel, "__vmalloc_node_range", Kernel.vmalloc_node_range)
