"""vmap areas (mm/vmalloc.c): :class:`Vmalloc`, the kernel's vmalloc space (``k.vmalloc_space``).

:class:`Vmalloc` owns the vmalloc family (``vmalloc``, ``vzalloc``, ``__vmalloc``,
``kvmalloc``, ``vfree``, ``vmap``/``vunmap``, the lazy purge), the lookups
(``vmalloc_to_page``, ``find_vm_area``, ``phys_runs``, ``provenance``) and its
bookkeeping, :class:`VmallocState` (``k.vmalloc_state``). The Kernel forwards its
public calls here; HighMem's kmap is :mod:`kmemlab.highmem`, memblock/bootmem
:mod:`kmemlab.memblock`, CMA :mod:`kmemlab.cma`, modules :mod:`kmemlab.module`.

The vmalloc path follows the profile's kernel:

* 3.15: ``vmalloc`` → ``__vmalloc_node_flags`` → ``__vmalloc_node`` →
  ``__vmalloc_node_range`` → ``__get_vm_area_node`` (+1 guard page) →
  ``alloc_vmap_area`` (first fit) → ``__vmalloc_area_node`` (page array by kmalloc,
  or by a nested ``__vmalloc_node`` above one page, flag VM_VPAGES; then one
  ``alloc_page`` per page) → ``map_vm_area``.
* 6.1 / 6.12: the same skeleton; ``__vmalloc_area_node`` → ``vm_area_alloc_pages``
  takes order-0 pages with the bulk allocator in batches of at most 100
  (``alloc_pages_bulk_array_node``), falling back to ``alloc_pages`` one by one;
  ``vmap_pages_range`` maps them. ``VM_NO_GUARD`` drops the guard page.

Every call records its steps (``k.vmalloc_steps``, a list of :class:`~kmemlab.steps.Step`)
so that a notebook widget can replay ``__vmalloc_node_range`` one step at a time.

Not modelled: the vm_struct/vmap_area metadata objects themselves (their slab
allocations), huge vmalloc mappings (VM_ALLOW_HUGE_VMAP), vm_map_ram/vmap blocks,
6.9+'s per-node pools of freed VAs (``node_pool_add_va``), KASAN shadow, NUMA (node 0).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from . import gfp as _gfp
from . import procfs, report
from .errors import DoubleFree, InvalidFree, Oops
from .page_alloc import ALLOC_CMA, WMARK_LOW, Page
from .sizes import memparse
from .steps import Recorder, Step  # Step/Recorder lived here: still importable from here

# include/linux/vmalloc.h (vm_struct flags)
VM_IOREMAP = 0x00000001
VM_ALLOC = 0x00000002
VM_MAP = 0x00000004
VM_USERMAP = 0x00000008
VM_VPAGES = 0x00000010        # 3.15 only: the page array was vmalloc'd
VM_DMA_COHERENT = 0x00000010  # 6.x
VM_UNINITIALIZED = 0x00000020
VM_NO_GUARD = 0x00000040      # 6.x (absent in 3.15)
VM_FLAG_NAMES = {"VM_IOREMAP": VM_IOREMAP, "VM_ALLOC": VM_ALLOC, "VM_MAP": VM_MAP,
                 "VM_USERMAP": VM_USERMAP, "VM_NO_GUARD": VM_NO_GUARD}

BULK_BATCH = 100  # vm_area_alloc_pages: "A maximum allowed request is hard-coded and is 100"


@dataclass(eq=False)
class VmArea:
    """struct vm_struct + its struct vmap_area: one busy range of the vmalloc space.

    ``size`` includes the guard page, as vmallocinfo prints it; ``pfns`` are the
    physical pages in order (``area->pages``); ``api`` is the public call that made
    it (``vmalloc``, ``vzalloc``, ``__vmalloc``, ``vmalloc_node``, ``vmap``,
    ``module_alloc``...), ``caller`` the call site label.
    """

    addr: int
    size: int
    flags: int
    caller: str
    api: str
    pfns: list[int] = field(default_factory=list)
    guard: int = 4096
    gfp: int = 0
    phys_addr: int = 0
    pages_array: tuple[str, int] | None = None   # ("kmalloc" | "vmalloc", address)
    owns_pages: bool = True
    steps: list[Step] = field(default_factory=list, repr=False)

    @property
    def va_start(self) -> int:
        return self.addr

    @property
    def va_end(self) -> int:
        return self.addr + self.size

    @property
    def nr_pages(self) -> int:
        return len(self.pfns)

    @property
    def usable_size(self) -> int:
        """get_vm_area_size(): the size without the guard page."""
        return self.size - self.guard


@dataclass(frozen=True)
class PhysRun:
    """A physically contiguous piece behind a virtual range."""

    virt: int
    phys: int
    size: int

    @property
    def pfn(self) -> int:
        return self.phys >> 12

    @property
    def nr_pages(self) -> int:
        return self.size >> 12


@dataclass(frozen=True)
class Provenance:
    """Which API made the memory at an address, and where its block starts."""

    api: str
    start: int
    size: int
    caller: str
    detail: str = ""


class VmallocState:
    """The vmalloc space of one kernel (``k.vmalloc_state``).

    ``areas`` maps start → busy :class:`VmArea`; ``lazy`` maps start → end of ranges
    freed but not yet purged (they still hold their VA); ``lazy_nr`` is
    ``vmap_lazy_nr`` (pages, guard included); counters are in ``stats``.
    """

    def __init__(self, k) -> None:
        self.k = k
        self.areas: dict[int, VmArea] = {}
        self.lazy: dict[int, int] = {}
        self._starts: list[int] = []            # every occupied range (busy + lazy)
        self._ends: dict[int, int] = {}
        # the same ranges with touching neighbours merged: first fit only needs the
        # union, and lazily freed areas sit back to back (thousands of small ones
        # before a purge), so the search walks a handful of extents, not every area
        self._ext_starts: list[int] = []
        self._ext_ends: dict[int, int] = {}
        self.lazy_nr = 0
        self.record_steps = True
        self.last_steps: list[Step] = []
        self.stats = dict(vmalloc_calls=0, vfree_calls=0, pages_allocated=0, pages_freed=0,
                          tlb_flushes=0, purges=0, failures=0)
        # 6.12 (mm/vmalloc.c: vmap_init_nodes): nr_vmap_nodes = clamp(possible cpus,
        # 1, 128), 16-page zones; vmallocinfo walks node by node.
        self.nr_vmap_nodes = max(1, min(k.nr_cpus, 128)) if k.profile.vmap_nodes else 1

    def lazy_max_pages(self) -> int:
        """lazy_max_pages(): fls(num_online_cpus()) * (32 MiB / PAGE_SIZE)."""
        return self.k.nr_cpus.bit_length() * ((32 << 20) // self.k.PAGE_SIZE)

    # ------------------------------------------------------------ VA space
    def _occupy(self, start: int, end: int) -> None:
        bisect.insort(self._starts, start)
        self._ends[start] = end
        xs, xe = self._ext_starts, self._ext_ends
        i = bisect.bisect_right(xs, start) - 1
        if i >= 0 and xe[xs[i]] == start:      # touches the extent on its left
            start = xs[i]
        else:
            i += 1
            xs.insert(i, start)
        right = xe.pop(end, None)                # an extent starting where this ends
        if right is not None:
            del xs[i + 1]
            end = right
        xe[start] = end

    def _release(self, start: int) -> None:
        i = bisect.bisect_left(self._starts, start)
        del self._starts[i]
        end = self._ends.pop(start)
        xs, xe = self._ext_starts, self._ext_ends
        j = bisect.bisect_right(xs, start) - 1
        lo = xs[j]
        hi = xe.pop(lo)
        del xs[j]
        if lo < start:
            xs.insert(j, lo)
            xe[lo] = start
            j += 1
        if end < hi:
            xs.insert(j, end)
            xe[end] = hi

    def find_first_fit(self, size: int, align: int, vstart: int, vend: int) -> int | None:
        """The lowest aligned address in [vstart, vend) with ``size`` free bytes
        (alloc_vmap_area / __alloc_vmap_area: first fit by address)."""
        starts, ends = self._ext_starts, self._ext_ends
        addr = -(-vstart // align) * align
        i = bisect.bisect_right(starts, addr) - 1
        if i >= 0 and ends[starts[i]] > addr:
            addr = -(-ends[starts[i]] // align) * align
        j = i + 1
        n = len(starts)
        while j < n:
            s = starts[j]
            if addr + size <= s:
                break
            e = ends[s]
            if e > addr:
                addr = -(-e // align) * align
            j += 1
        if addr + size > vend or addr < vstart:
            return None
        return addr

    def occupied(self) -> list[tuple[int, int]]:
        return [(s, self._ends[s]) for s in self._starts]

    def area_containing(self, addr: int) -> VmArea | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i < 0:
            return None
        a = self.areas.get(self._starts[i])
        if a is not None and a.addr <= addr < a.va_end:
            return a
        return None

    def digest(self) -> tuple:
        return (tuple(sorted((a.addr, a.size, a.flags, tuple(a.pfns)) for a in
                             self.areas.values())),
                tuple(sorted(self.lazy.items())), self.lazy_nr)


# ============================================================================ helpers

def _sym(label: str) -> str:
    """``%pS`` for a call-site label: ``name+0x0/0x0``, as the trace events print it
    (a Python function has no machine-code offset)."""
    return label if "+" in label else f"{label}+0x0/0x0"


def _vmalloc_node_of(addr: int, state: VmallocState) -> int:
    """6.12 addr_to_node_id(): (addr / vmap_zone_size) % nr_vmap_nodes."""
    return (addr // (16 * 4096)) % state.nr_vmap_nodes


def check_page_allocated(k, pfn: int, what: str) -> None:
    """ValueError unless ``pfn`` lies in a block the page allocator handed out (kmap and
    vmap take pages someone owns)."""
    pa = k.page_alloc
    for o in range(pa.nr_orders):
        head = pfn & ~((1 << o) - 1)
        pg = pa.allocated.get(head)
        if pg is not None and pg.order >= o:
            return
    raise ValueError(f"{what}(): pfn {pfn:#x} is not an allocated page")


# ============================================================================ Vmalloc

class Vmalloc:
    """mm/vmalloc.c of one kernel (``k.vmalloc_space``): the vmalloc family, vmap, the
    lazy purge and the address lookups; its bookkeeping is ``state``
    (:class:`VmallocState`, also ``k.vmalloc_state``).

    Built by vmalloc_init at boot, after the slab allocator (the page arrays are
    kmalloc'd) and the kernel page tables (``k.page_tables``); everything else it asks
    the kernel ``k`` for (profile, page allocator, contexts, log, trace).
    """

    def __init__(self, k) -> None:
        self.k = k
        self.state = VmallocState(k)

    # ------------------------------------------------------------------ addresses
    def is_vmalloc_addr(self, addr) -> bool:
        """include/linux/mm.h: is_vmalloc_addr(): VMALLOC_START <= addr < VMALLOC_END."""
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise TypeError(f"an address is an int, not {type(addr).__name__}")
        lay = self.k.layout
        return lay.VMALLOC_START <= addr < lay.VMALLOC_END

    def is_vmalloc_or_module_addr(self, addr: int) -> bool:
        """mm/vmalloc.c: is_vmalloc_or_module_addr()."""
        lay = self.k.layout
        return self.is_vmalloc_addr(addr) or lay.MODULES_VADDR <= addr < lay.MODULES_END

    def walk(self, addr: int):
        """Walk the kernel page tables for ``addr`` (the hardware walk; the order
        arch/x86/mm/fault.c: dump_pagetable prints). Returns a :class:`~kmemlab.pgtable.Walk`."""
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise TypeError(f"an address is an int, not {type(addr).__name__}")
        return self.k.page_tables.walk(addr)

    # ------------------------------------------------------------------ vmalloc family
    @property
    def vmalloc_steps(self) -> list[Step]:
        """The steps of the last vmalloc-family call (for replay widgets)."""
        return self.state.last_steps

    @property
    def vmap_areas(self) -> list[VmArea]:
        """The busy vmap areas, lowest address first."""
        st = self.state
        return [st.areas[s] for s in st._starts if s in st.areas]

    def vmalloc(self, size, *, caller: str | None = None) -> int | None:
        """vmalloc(size) (mm/vmalloc.c): virtually contiguous memory, or None.

        3.15 asks for GFP_KERNEL|__GFP_HIGHMEM; 6.x for GFP_KERNEL, and
        __vmalloc_area_node adds __GFP_HIGHMEM.
        """
        gfp = "GFP_KERNEL|__GFP_HIGHMEM" if self.k.profile.vmalloc_api_gfp_highmem else "GFP_KERNEL"
        return self._vmalloc_api("vmalloc", size, self.k.gfp_value(gfp), caller=caller)

    def vzalloc(self, size, *, caller: str | None = None) -> int | None:
        """vzalloc(size) (mm/vmalloc.c): vmalloc with __GFP_ZERO."""
        gfp = "GFP_KERNEL|__GFP_HIGHMEM|__GFP_ZERO" if self.k.profile.vmalloc_api_gfp_highmem \
            else "GFP_KERNEL|__GFP_ZERO"
        return self._vmalloc_api("vzalloc", size, self.k.gfp_value(gfp), caller=caller)

    def vmalloc_node(self, size, node: int = 0, *, caller: str | None = None) -> int | None:
        """vmalloc_node(size, node) (mm/vmalloc.c); kmemlab has one node, node 0."""
        if isinstance(node, bool) or not isinstance(node, int):
            raise TypeError(f"node must be an int, not {type(node).__name__}")
        if node not in (0, -1):
            raise ValueError(f"kmemlab models one NUMA node: node must be 0 (or -1 for "
                             f"NUMA_NO_NODE), not {node}")
        gfp = "GFP_KERNEL|__GFP_HIGHMEM" if self.k.profile.vmalloc_api_gfp_highmem else "GFP_KERNEL"
        return self._vmalloc_api("vmalloc_node", size, self.k.gfp_value(gfp), caller=caller)

    def vmalloc_32(self, size, *, caller: str | None = None) -> int | None:
        """vmalloc_32(size) (mm/vmalloc.c): pages addressable with 32 bits
        (GFP_DMA32 on x86_64, GFP_KERNEL i.e. lowmem on i386)."""
        gfp = "GFP_DMA32|GFP_KERNEL" if self.k.profile.is_64bit else "GFP_KERNEL"
        return self._vmalloc_api("vmalloc_32", size, self.k.gfp_value(gfp), caller=caller)

    def vmalloc_gfp(self, size, gfp, prot=None, *, caller: str | None = None) -> int | None:
        """__vmalloc(size, gfp_mask[, prot]) (mm/vmalloc.c; 3.15 has the prot argument).

        Also reachable as ``k.__vmalloc`` from a notebook (``getattr``-safe name)."""
        return self._vmalloc_api("__vmalloc", size, self.k.gfp_value(_gfp.coerce(gfp)),
                                 caller=caller)

    def kvmalloc(self, size, gfp="GFP_KERNEL", *, caller: str | None = None) -> int | None:
        """kvmalloc(size, flags) (mm/util.c: kvmalloc_node in 6.1, __kvmalloc_node_noprof
        in 6.12; arrived in 4.12): kmalloc first — above a page with __GFP_NOWARN and
        __GFP_NORETRY (unless __GFP_RETRY_MAYFAIL) and without __GFP_NOFAIL, since there
        is a fallback (kmalloc_gfp_adjust); if that fails and the size is above a page,
        vmalloc. Only when the flags allow blocking: "non-sleeping allocations are not
        supported by vmalloc", so with GFP_ATOMIC the kmalloc result (maybe NULL) is
        final. Free with :meth:`kvfree`."""
        if not self.k.profile.has_kvmalloc:
            v = self.k.profile.version
            raise ValueError(f"kvmalloc() does not exist in Linux {v} (added in 4.12): a "
                             f"{v} driver tried kmalloc(size, GFP_KERNEL | __GFP_NOWARN) and "
                             "fell back to vmalloc(size) itself, in process context only")
        size = self._check_size(size)
        label = caller if caller is not None else self.k.caller_label(None)
        value = self.k.gfp_value(_gfp.coerce(gfp))
        kflags = value
        if size > self.k.PAGE_SIZE:
            g = self.k.profile.gfp.values
            kflags |= g["__GFP_NOWARN"]
            if not value & g.get("__GFP_RETRY_MAYFAIL", 0):
                kflags |= g["__GFP_NORETRY"]
            kflags &= ~g["__GFP_NOFAIL"]
        p = self.k.kmalloc(size, kflags, caller=label)
        if p is not None or size <= self.k.PAGE_SIZE:
            return p
        if not self.k.gfpflags_allow_blocking(value):
            return None               # atomic: vmalloc may sleep, so kvmalloc never tries
        if size > 0x7FFFFFFF:         # "Don't even allow crazy sizes": INT_MAX
            return None
        return self._vmalloc_api("kvmalloc", size, value, caller=label)

    def kvfree(self, addr, *, caller: str | None = None) -> None:
        """kvfree(addr) (mm/util.c): vfree for a vmalloc address, else kfree."""
        label = caller if caller is not None else self.k.caller_label(None)
        if isinstance(addr, int) and not isinstance(addr, bool) and self.is_vmalloc_addr(addr):
            self.vfree(addr, caller=label)
        else:
            self.k.kfree(addr, caller=label)

    def vmalloc_node_range(self, size, gfp="GFP_KERNEL", *, align: int = 1,
                           start: int | None = None, end: int | None = None,
                           vm_flags=0, caller: str | None = None) -> int | None:
        """__vmalloc_node_range(size, align, start, end, gfp, prot, vm_flags, node, caller)
        (mm/vmalloc.c). ``vm_flags`` may be ``"VM_NO_GUARD"`` on 6.x."""
        flags = self._vm_flags(vm_flags)
        return self._vmalloc_api("__vmalloc_node_range", size,
                                 self.k.gfp_value(_gfp.coerce(gfp)), caller=caller,
                                 align=align, start=start, end=end, vm_flags=flags)

    def _vm_flags(self, vm_flags) -> int:
        if isinstance(vm_flags, str):
            total = 0
            for word in vm_flags.replace(" ", "").split("|"):
                if not word:
                    continue
                if word not in VM_FLAG_NAMES:
                    raise ValueError(f"unknown vm flag {word!r}; known: "
                                     f"{', '.join(VM_FLAG_NAMES)}")
                total |= VM_FLAG_NAMES[word]
            vm_flags = total
        if isinstance(vm_flags, bool) or not isinstance(vm_flags, int):
            raise TypeError("vm_flags is an int or a string such as 'VM_NO_GUARD'")
        if vm_flags & VM_NO_GUARD and not self.k.profile.has_vm_no_guard:
            raise ValueError(f"VM_NO_GUARD does not exist in Linux {self.k.profile.version} "
                             "(added in 4.0)")
        return vm_flags

    def _check_size(self, size) -> int:
        if isinstance(size, bool):
            raise TypeError("size must be an int or a size string such as '4M', not bool")
        if isinstance(size, str):
            size = memparse(size, what="size")
        if not isinstance(size, int):
            raise TypeError(f"size must be an int or a size string such as '4M', "
                            f"not {type(size).__name__}")
        if size < 0:
            raise ValueError(f"size must be ≥ 0, not {size}")
        return size

    def _vmalloc_api(self, api: str, size, value: int, *, caller: str | None, align: int = 1,
                     start: int | None = None, end: int | None = None,
                     vm_flags: int = 0) -> int | None:
        size = self._check_size(size)
        if isinstance(align, bool) or not isinstance(align, int) or align <= 0 or \
                align & (align - 1):
            raise ValueError(f"align must be a power of two, not {align!r}")
        lay = self.k.layout
        vstart = lay.VMALLOC_START if start is None else start
        vend = lay.VMALLOC_END if end is None else end
        if not (isinstance(vstart, int) and isinstance(vend, int)) or vstart >= vend:
            raise ValueError("start/end must be addresses with start < end")
        label = self.k.caller_label(caller)
        self.precheck(value)
        st = self.state
        rec = Recorder(st.record_steps)
        st.stats["vmalloc_calls"] += 1
        addr = self.alloc_node_range(rec, api, size, align, vstart, vend, value, vm_flags,
                                        label)
        st.last_steps = rec.steps
        return addr

    def precheck(self, value: int) -> None:
        """BUG_ON(in_interrupt()) in __get_vm_area_node, might_sleep for GFP_KERNEL —
        checked before anything changes (so is a GFP mask with both mobility bits)."""
        self.k.page_alloc.gfp_migratetype(value)
        if self.k.in_interrupt():
            lines = ["kernel BUG at mm/vmalloc.c: __get_vm_area_node: BUG_ON(in_interrupt())"]
            report.emit(self.k, lines)
            raise Oops("vmalloc() in interrupt context: it may sleep and takes "
                       "sleeping locks (use kmalloc(GFP_ATOMIC) there)", lines)
        # whatever the mask, the kernel page tables of the area are allocated with
        # GFP_KERNEL (pte_alloc_kernel; 6.x alloc_vmap_area starts with might_sleep()):
        # vmalloc sleeps, so it is checked here, not half-way through the mapping
        self.k.might_sleep(*self.k.profile.might_sleep_sites["vmalloc"], what="vmalloc")
        self.k.might_sleep_if_alloc(value, 0)

    def alloc_node_range(self, rec: Recorder, api: str, size: int, align: int, vstart: int,
                            vend: int, value: int, vm_flags: int, label: str) -> int | None:
        """mm/vmalloc.c: __vmalloc_node_range in the profile's version."""
        p = self.k.profile
        old_warn = not p.warn_alloc
        real_size = size
        size = -(-size // self.k.PAGE_SIZE) * self.k.PAGE_SIZE
        if rec.enabled:
            rec.step("__vmalloc_node_range",
                     f"{api}({real_size}): size rounded up to {size} bytes "
                     f"({size // self.k.PAGE_SIZE} pages), gfp {p.gfp.spell(value)}",
                     api=api, size=real_size, aligned_size=size, gfp=value,
                     vstart=vstart, vend=vend)
        if not size or (size >> self.k.PAGE_SHIFT) > self.k.totalram_pages:
            why = "size is 0" if not size else \
                f"{size >> self.k.PAGE_SHIFT} pages > totalram_pages {self.k.totalram_pages}"
            if rec.enabled:
                rec.step("__vmalloc_node_range", f"fail: {why}", reason=why)
            self.state.stats["failures"] += 1
            if old_warn:
                self._vmalloc_warn(value, f"vmalloc: allocation failure: {real_size} bytes", 0)
            elif not size:
                self._warn_on_once("mm/vmalloc.c", "__vmalloc_node_range",
                                   "WARN_ON_ONCE(!size)")
            else:
                self._vmalloc_warn(value, f"vmalloc error: size {real_size}, exceeds total "
                                          "pages", 0)
            return None
        rec.enter()
        area = self._get_vm_area_node(rec, size, align, VM_ALLOC | VM_UNINITIALIZED | vm_flags,
                                      vstart, vend, value, label, api)
        rec.leave()
        if area is None:
            self.state.stats["failures"] += 1
            if old_warn:
                self._vmalloc_warn(value, f"vmalloc: allocation failure: {real_size} bytes", 0)
            else:
                self._vmalloc_warn(value, f"vmalloc error: size {real_size}, vm_struct "
                                          "allocation failed", 0)
            if rec.enabled:
                rec.step("__vmalloc_node_range", "fail: no virtual space (see alloc_vmap_area)")
            return None
        rec.enter()
        ok = self._vmalloc_area_node(rec, area, value)
        rec.leave()
        if not ok:
            self.state.stats["failures"] += 1
            if rec.enabled:
                rec.step("__vmalloc_node_range", "returned NULL: the area was vfree'd again")
            return None
        area.flags &= ~VM_UNINITIALIZED
        area.steps = rec.steps
        if rec.enabled:
            rec.step("clear_vm_uninitialized_flag",
                     f"area {area.addr:#x} is complete and visible in /proc/vmallocinfo; "
                     f"returned {area.addr:#x}", addr=area.addr)
        return area.addr

    def _get_vm_area_node(self, rec: Recorder, size: int, align: int, flags: int, vstart: int,
                          vend: int, value: int, label: str, api: str) -> VmArea | None:
        """__get_vm_area_node: reserve VA (+ the guard page) and set up the vm_struct."""
        guard = 0 if flags & VM_NO_GUARD else self.k.PAGE_SIZE
        total = size + guard
        if rec.enabled:
            rec.step("__get_vm_area_node",
                     f"reserve {total} bytes of address space: {size} + "
                     + (f"{guard} for the guard page" if guard else "no guard page (VM_NO_GUARD)"),
                     size=size, guard=guard)
        rec.enter()
        addr = self._alloc_vmap_area(rec, total, align, vstart, vend, value)
        rec.leave()
        if addr is None:
            return None
        area = VmArea(addr, total, flags, label, api, guard=guard, gfp=value)
        st = self.state
        st.areas[addr] = area
        st._occupy(addr, addr + total)
        if rec.enabled:
            rec.step("setup_vmalloc_vm", f"vm_struct: addr {addr:#x}, size {total}, caller {label}",
                     addr=addr, size=total)
        return area

    def _alloc_vmap_area(self, rec: Recorder, size: int, align: int, vstart: int, vend: int,
                         value: int) -> int | None:
        """alloc_vmap_area: first fit; on failure purge the lazy areas once and retry."""
        st = self.state
        addr = st.find_first_fit(size, align, vstart, vend)
        if addr is None and st.lazy:
            if rec.enabled:
                rec.step("alloc_vmap_area", "no free range: purge the lazily freed areas and "
                         "retry (purge_vmap_area_lazy)")
            self._purge_vmap_area_lazy("alloc_vmap_area could not find space")
            addr = st.find_first_fit(size, align, vstart, vend)
        self.k.trace.emit("alloc_vmap_area",
                          "first fit: the lowest free range of the vmalloc space that fits"
                          if addr is not None else "no free range of that size",
                          va_start=addr if addr is not None else vend, size=size, align=align,
                          vstart=vstart, vend=vend, failed=int(addr is None))
        if addr is None:
            nowarn = self.k.profile.gfp.values["__GFP_NOWARN"]
            if not self.k.profile.vmap_fail_warn_nowarn or not value & nowarn:
                dot = "" if self.k.profile.vmap_fail_warn_nowarn else "."
                self.k.printk(f"vmap allocation for size {size} failed: use vmalloc=<size> "
                              f"to increase size{dot}")
            if rec.enabled:
                rec.step("alloc_vmap_area", f"fail: no {size}-byte hole in "
                         f"[{vstart:#x}, {vend:#x})", size=size)
            return None
        if rec.enabled:
            below = bisect.bisect_left(st._starts, addr)
            rec.step("alloc_vmap_area",
                     f"first fit at {addr:#x}: the lowest hole of {size} bytes "
                     f"({below} occupied range{'s' if below != 1 else ''} below it)",
                     addr=addr, size=size)
        return addr

    def _vmalloc_area_node(self, rec: Recorder, area: VmArea, value: int) -> bool:
        """__vmalloc_area_node: page array, physical pages, page tables."""
        p = self.k.profile
        vpages = p.vmalloc_vpages
        g = p.gfp.values
        nr_pages = area.usable_size >> self.k.PAGE_SHIFT
        ptr_size = 8 if p.is_64bit else 4
        array_size = nr_pages * ptr_size
        zone_bits = g["__GFP_HIGHMEM"] | g["__GFP_DMA"] | g.get("__GFP_DMA32", 0) | \
            g["__GFP_MOVABLE"]
        nested = (value & ~zone_bits & ~g["__GFP_ZERO"]) | g["__GFP_ZERO"]
        if not vpages and not value & (g["__GFP_DMA"] | g.get("__GFP_DMA32", 0)):
            value |= g["__GFP_HIGHMEM"]
        if array_size > self.k.PAGE_SIZE:
            if rec.enabled:
                rec.step("__vmalloc_area_node",
                         f"page array: {nr_pages} pointers = {array_size} bytes > PAGE_SIZE, so "
                         "it is vmalloc'd itself (__vmalloc_node)"
                         + (", flag VM_VPAGES" if vpages else ""), array_size=array_size)
            rec.enter()
            arr = self.alloc_node_range(rec, "__vmalloc_node", array_size, 1,
                                           self.k.layout.VMALLOC_START, self.k.layout.VMALLOC_END,
                                           nested | (g["__GFP_HIGHMEM"] if vpages else 0), 0,
                                           "__vmalloc_area_node" if vpages else area.caller)
            rec.leave()
            if arr is not None:
                area.pages_array = ("vmalloc", arr)
                if vpages:
                    area.flags |= VM_VPAGES
        else:
            arr = self.k.slub.kmalloc(array_size, nested, caller="__vmalloc_area_node")
            if rec.enabled:
                rec.step("__vmalloc_area_node",
                         f"page array: {nr_pages} pointers = {array_size} bytes, kmalloc'd"
                         + (f" at {arr:#x}" if arr else " — failed"), array_size=array_size,
                         array=arr)
            if arr is not None:
                area.pages_array = ("kmalloc", arr)
        if arr is None:
            if not vpages:
                self._vmalloc_warn(value, f"vmalloc error: size {nr_pages * self.k.PAGE_SIZE}, "
                                          f"failed to allocated page array size {array_size}", 0)
            self._remove_area_now(area)
            if rec.enabled:
                rec.step("__vmalloc_area_node", "fail: no page array; the area is removed")
            return False
        label = area.caller
        detail = f"{area.api} {area.addr:#x}"
        owner = "module" if area.api in ("module_alloc", "execmem_alloc") else "vmalloc"
        if vpages:
            pfns = self._alloc_pages_loop(value | g["__GFP_NOWARN"], nr_pages, detail, label,
                                          owner)
            if rec.enabled:
                rec.step("__vmalloc_area_node",
                         f"alloc_page() × {len(pfns)} (one order-0 page per call)"
                         + ("" if len(pfns) == nr_pages else f"; failed at page {len(pfns)}"),
                         pfns=list(pfns), requested=nr_pages)
        else:
            pfns = []
            if rec.enabled:
                rec.step("vm_area_alloc_pages",
                         f"{nr_pages} order-0 pages: bulk allocator in batches of ≤ {BULK_BATCH}",
                         requested=nr_pages)
            rec.enter()
            while len(pfns) < nr_pages:
                want = min(BULK_BATCH, nr_pages - len(pfns))
                got = self._alloc_pages_bulk(value | g["__GFP_NOWARN"], want, detail, label,
                                             owner)
                pfns.extend(got)
                if rec.enabled:
                    rec.step("alloc_pages_bulk_array_node",
                             f"asked for {want}, got {len(got)}", pfns=got, requested=want)
                if len(got) != want:
                    break
            if len(pfns) < nr_pages:
                more = self._alloc_pages_loop(value | g["__GFP_NOWARN"], nr_pages - len(pfns),
                                              detail, label, owner)
                pfns.extend(more)
                if rec.enabled:
                    rec.step("alloc_pages", f"fallback, one page per call: got {len(more)} of "
                             f"{nr_pages - len(pfns) + len(more)}", pfns=more)
            rec.leave()
        area.pfns = pfns
        self.state.stats["pages_allocated"] += len(pfns)
        if len(pfns) != nr_pages:
            got_bytes = len(pfns) * self.k.PAGE_SIZE
            if vpages:
                self._vmalloc_warn(value, f"vmalloc: allocation failure, allocated {got_bytes} "
                                          f"of {area.size} bytes", 0)
            else:
                self._vmalloc_warn(value, f"vmalloc error: size {got_bytes}, failed to "
                                          "allocate pages", 0)
            if rec.enabled:
                rec.step("__vmalloc_area_node", f"fail: only {len(pfns)} of {nr_pages} pages; "
                         "vfree() gives them back", got=len(pfns))
            self.vfree_area(area, rec, "the fail path of __vmalloc_area_node")
            return False
        pt = self.k.page_tables
        before_tables = pt.nr_table_pages()
        written = pt.map_pages(area.addr, pfns)
        new_tables = pt.nr_table_pages() - before_tables
        fn = "map_vm_area" if vpages else "vmap_pages_range"
        if written is None:
            if not vpages:
                self._vmalloc_warn(value, f"vmalloc error: size {len(pfns) * self.k.PAGE_SIZE}, "
                                          "failed to map pages", 0)
            if rec.enabled:
                rec.step(fn, "fail: no page for a page table", new_tables=new_tables)
            self.vfree_area(area, rec, "a failed map")
            return False
        if rec.enabled:
            rec.step(fn, f"{written} PTEs written, {new_tables} page-table page"
                     f"{'s' if new_tables != 1 else ''} allocated; the guard page stays unmapped",
                     pte_writes=written, new_tables=new_tables)
        return True

    # ------------------------------------------------------------------ page helpers
    def _alloc_pages_loop(self, value: int, n: int, detail: str, label: str,
                          owner: str = "vmalloc") -> list[int]:
        """n × alloc_page(gfp): stops at the first failure."""
        return self.k.page_alloc.alloc_order0_pages(value, n, owner=owner, detail=detail,
                                                    caller=label)

    def _alloc_pages_bulk(self, value: int, n: int, detail: str, label: str,
                          owner: str = "vmalloc") -> list[int]:
        """mm/page_alloc.c: __alloc_pages_bulk (6.x): one zone that passes the low
        watermark + n, then order-0 pages straight off the per-CPU list
        (__rmqueue_pcplist, refilled by rmqueue_bulk); no mm_page_alloc event per page.
        Falls back to one __alloc_pages call when no zone qualifies or n == 1."""
        pa = self.k.page_alloc
        p = self.k.profile
        if not pa.pcp_enabled:  # kmemlab's textbook mode: no per-CPU lists to bulk from
            return self._alloc_pages_loop(value, n, detail, label, owner)
        if n == 1:  # "Use the single page allocator for one page"
            return self._alloc_pages_loop(value, 1, detail, label, owner)
        mt = pa.gfp_migratetype(value)
        high_zone = pa.zone_by_name[p.gfp_zone(value)]
        zonelist = pa.zonelists[high_zone.idx]
        flags = WMARK_LOW
        if mt == pa.MOVABLE:
            flags |= ALLOC_CMA
        highest = zonelist[0].idx if p.watermark_rules == "classzone" else high_zone.idx
        zone = None
        for z in zonelist:
            if pa.zone_watermark_ok(z, 0, z.low + n, highest, flags):
                zone = z
                break
        if zone is None:
            return self._alloc_pages_loop(value, 1, detail, label, owner)
        out = pa.pcp_lists.rmqueue_pcplist_bulk(zone, mt, n, flags)
        if not out:
            return self._alloc_pages_loop(value, 1, detail, label, owner)
        pa.account_order0_pages(out, zone.name, owner, detail, value, mt, label)
        return out

    def _free_vmalloc_pages(self, pfns: list[int]) -> None:
        """vfree's loop: __free_page() on each page (mm/page_alloc.c: free_unref_page)."""
        self.k.page_alloc.free_order0_pages(pfns)

    # ------------------------------------------------------------------ freeing
    def vfree(self, addr, *, caller: str | None = None) -> None:
        """vfree(addr) (mm/vmalloc.c): unmap, free the pages, put the VA on the lazy
        list; a purge (one TLB flush) runs when vmap_lazy_nr > lazy_max_pages().

        vfree(NULL) does nothing. A pointer that is not the start of a vmalloc area is
        the kernel's "Trying to vfree() nonexistent vm area" WARN: reported and raised
        as KernelBug, nothing changed.
        """
        if addr is None or addr == 0:
            return
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise TypeError(f"vfree takes an address (int), not {type(addr).__name__}")
        area = self.find_area_for_free(addr, "vfree")
        if self.k.context_stack.in_interrupt():
            why = "in interrupt: vfree_atomic defers the work to a workqueue (run now)"
        else:
            why = "process context"
            self.k.might_sleep_if_alloc(self.k.gfp_value("GFP_KERNEL"), 0)
        st = self.state
        rec = Recorder(st.record_steps)
        if rec.enabled:
            rec.step("vfree", f"vfree({addr:#x}): {why}", addr=addr)
        rec.enter()
        self.vfree_area(area, rec, "vfree")   # checks its pages before it changes anything
        rec.leave()
        st.stats["vfree_calls"] += 1
        st.last_steps = rec.steps

    def find_area_for_free(self, addr: int, what: str, want_vmap: bool | None = None) -> VmArea:
        if addr & (self.k.PAGE_SIZE - 1):
            lines = report.warn(self.k, f"mm/vmalloc.c {what}",
                                before=[f"Trying to {what}() bad address ({addr:#018x})"])
            raise InvalidFree(f"{what}({addr:#x}): not a page-aligned vmalloc address", lines)
        st = self.state
        area = st.areas.get(addr)
        if area is None or area.flags & VM_UNINITIALIZED:
            inside = st.area_containing(addr)
            extra, bug = "", InvalidFree
            if inside is not None:
                extra = (f" (kmemlab check: it is inside the area at {inside.addr:#x}; the "
                         "kernel would tear down that whole area)")
            elif addr in st.lazy:
                extra, bug = " (already vfree'd: a double free)", DoubleFree
            lines = report.warn(
                self.k, f"mm/vmalloc.c {what}",
                before=[f"Trying to {what}() nonexistent vm area ({addr:#018x})"])
            raise bug(f"{what}({addr:#x}): no vmalloc area starts there{extra}", lines)
        return area

    def vfree_area(self, area: VmArea, rec: Recorder, why: str) -> None:
        """remove_vm_area + the page loop + kvfree(pages) (mm/vmalloc.c: vfree / __vunmap).

        Everything that can fail is checked first (:meth:`_check_vfree_area`), before
        the area is unmapped, so a failing vfree changes nothing."""
        st = self.state
        pt = self.k.page_tables
        self._check_vfree_area(area)
        cleared = pt.unmap_range(area.addr, area.va_end)
        del st.areas[area.addr]
        if rec.enabled:
            rec.step("remove_vm_area", f"{cleared} PTEs cleared (no TLB flush yet: "
                     "vunmap_range_noflush)", pte_clears=cleared)
        if area.owns_pages and area.pfns:
            self._free_vmalloc_pages(area.pfns)
            st.stats["pages_freed"] += len(area.pfns)
            if rec.enabled:
                rec.step("__free_page", f"{len(area.pfns)} pages back to the page allocator",
                         pfns=list(area.pfns))
        if area.pages_array is not None:
            kind, ptr = area.pages_array
            if kind == "kmalloc":
                self.k.slub.kfree(ptr, caller="vfree")
            else:
                inner = st.areas.get(ptr)
                if inner is not None:
                    rec.enter()
                    self.vfree_area(inner, rec, "kvfree(area->pages)")
                    rec.leave()
            if rec.enabled:
                rec.step("kvfree", f"page array freed ({kind})")
            area.pages_array = None
        self._free_vmap_area_noflush(area.addr, area.va_end, rec)

    def _check_vfree_area(self, area: VmArea) -> None:
        """The checks of the teardown, before it changes anything: the area's pages
        (:meth:`PageAllocator.check_free_order0`, the bad_page checks of __free_page),
        and ``area->pages``. A kmalloc'd array that is no longer a live object (freed
        through another pointer, or handed out twice after a silent double free) makes
        the teardown's kvfree(area->pages) a double free: that kfree runs here, first,
        so its report (CONFIG_SLAB_FREELIST_HARDENED's BUG, slub_debug's "Object already
        free") comes before any page is freed; when a stock kernel lets it through, the
        array is gone and the teardown does not free it again. A vmalloc'd array's own
        pages are checked the same way."""
        if area.owns_pages and area.pfns:
            self.k.page_alloc.check_free_order0(area.pfns)
        if area.pages_array is None:
            return
        kind, ptr = area.pages_array
        if kind == "kmalloc":
            if ptr not in self.k.slub.live and ptr not in self.k.slub.large:
                self.k.slub.kfree(ptr, caller="vfree")
                area.pages_array = None
        else:
            inner = self.state.areas.get(ptr)
            if inner is not None:
                self._check_vfree_area(inner)

    def _remove_area_now(self, area: VmArea) -> None:
        """free_vm_area on a never-mapped area: the VA goes straight back."""
        st = self.state
        del st.areas[area.addr]
        st._release(area.addr)

    def _free_vmap_area_noflush(self, start: int, end: int, rec: Recorder) -> None:
        """free_vmap_area_noflush: count the pages lazily, purge above lazy_max_pages."""
        st = self.state
        nr = (end - start) >> self.k.PAGE_SHIFT
        st.lazy_nr += nr
        st.lazy[start] = end
        maxp = st.lazy_max_pages()
        self.k.trace.emit("free_vmap_area_noflush",
                          f"{nr} pages of address space wait for a lazy purge "
                          f"({st.lazy_nr}/{maxp})", va_start=start, nr_lazy=st.lazy_nr,
                          nr_lazy_max=maxp)
        if rec.enabled:
            rec.step("free_vmap_area_noflush",
                     f"VA {start:#x}-{end:#x} put on the purge list: vmap_lazy_nr = "
                     f"{st.lazy_nr} of lazy_max_pages() = {maxp}", lazy_nr=st.lazy_nr,
                     lazy_max=maxp)
        if st.lazy_nr > maxp:
            how = ("try_purge_vmap_area_lazy (synchronous in 3.15)"
                   if not self.k.profile.vmap_purge_in_worker else
                   "schedule_work(&drain_vmap_work) (the worker runs at once here)")
            if rec.enabled:
                rec.step("free_vmap_area_noflush", f"over the limit: {how}")
            self._purge_vmap_area_lazy("vmap_lazy_nr > lazy_max_pages()")

    def _purge_vmap_area_lazy(self, why: str) -> int:
        """__purge_vmap_area_lazy: one flush_tlb_kernel_range over all lazy areas, then
        their VA is free again. Returns the number of areas purged."""
        st = self.state
        if not st.lazy:
            return 0
        start = min(st.lazy)
        end = max(st.lazy.values())
        n = len(st.lazy)
        for s in list(st.lazy):
            st._release(s)
        st.lazy.clear()
        st.lazy_nr = 0
        st.stats["tlb_flushes"] += 1
        st.stats["purges"] += 1
        self.k.trace.emit("purge_vmap_area_lazy", f"{why}: one TLB flush for {n} areas",
                          start=start, end=end, num_purged=n)
        return n

    def purge_vmap_area_lazy(self) -> int:
        """purge_vmap_area_lazy() (mm/vmalloc.c): purge now; returns areas purged."""
        return self._purge_vmap_area_lazy("explicit purge")

    # ------------------------------------------------------------------ vmap
    def vmap(self, pages, count: int | None = None, flags="VM_MAP", *,
             caller: str | None = None) -> int | None:
        """vmap(pages, count, flags, prot) (mm/vmalloc.c): map existing pages (Page
        objects or pfns, one 4 KiB page each) into the vmalloc space."""
        if isinstance(pages, (Page, int)):
            raise TypeError("vmap takes a list of pages")
        pages = list(pages)
        if count is None:
            count = len(pages)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= len(pages):
            raise ValueError(f"count must be between 0 and len(pages) = {len(pages)}")
        pfns = []
        for pg in pages[:count]:
            pfn = pg.pfn if isinstance(pg, Page) else pg
            if isinstance(pfn, bool) or not isinstance(pfn, int):
                raise TypeError("vmap pages are Page objects or pfns")
            check_page_allocated(self.k, pfn, "vmap")
            pfns.append(pfn)
        vm_flags = self._vm_flags(flags)
        label = self.k.caller_label(caller)
        if self.k.in_interrupt():
            lines = ["kernel BUG at mm/vmalloc.c: __get_vm_area_node: BUG_ON(in_interrupt())"]
            report.emit(self.k, lines)
            raise Oops("vmap() in interrupt context", lines)
        self.k.might_sleep_if_alloc(self.k.gfp_value("GFP_KERNEL"), 0)
        st = self.state
        rec = Recorder(st.record_steps)
        if rec.enabled:
            rec.step("vmap", f"map {count} existing pages", count=count)
        if count > self.k.totalram_pages or count == 0:
            st.last_steps = rec.steps
            return None
        rec.enter()
        area = self._get_vm_area_node(rec, count * self.k.PAGE_SIZE, 1, vm_flags,
                                      self.k.layout.VMALLOC_START, self.k.layout.VMALLOC_END,
                                      self.k.gfp_value("GFP_KERNEL"), label, "vmap")
        rec.leave()
        if area is None:
            st.last_steps = rec.steps
            return None
        area.pfns = pfns
        area.owns_pages = False
        written = self.k.page_tables.map_pages(area.addr, pfns)
        if written is None:
            self.vfree_area(area, rec, "vmap map failure")
            st.last_steps = rec.steps
            return None
        if rec.enabled:
            rec.step("vmap_pages_range", f"{written} PTEs written", pte_writes=written)
        st.last_steps = rec.steps
        return area.addr

    def vunmap(self, addr, *, caller: str | None = None) -> None:
        """vunmap(addr) (mm/vmalloc.c): remove the mapping, keep the pages (a vmalloc'd
        area's pages leak, as in the kernel)."""
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise TypeError(f"vunmap takes an address (int), not {type(addr).__name__}")
        area = self.find_area_for_free(addr, "vunmap")
        self.k.might_sleep_if_alloc(self.k.gfp_value("GFP_KERNEL"), 0)
        st = self.state
        rec = Recorder(st.record_steps)
        area.owns_pages = False
        area.pages_array = None
        self.vfree_area(area, rec, "vunmap")
        st.last_steps = rec.steps

    # ------------------------------------------------------------------ lookups
    def vmalloc_to_page(self, addr) -> Page | None:
        """vmalloc_to_page(addr) (mm/vmalloc.c): walk init_mm's tables; None if unmapped."""
        pfn = self.vmalloc_to_pfn(addr)
        if pfn is None:
            return None
        pg = self.k.page_alloc.allocated.get(pfn)
        if pg is not None:
            return pg
        zone = self.k.page_alloc.zone_of_pfn(pfn)
        return Page(pfn, 0, zone.name if zone else "?", owner="other",
                    detail="tail page of a larger block")

    def vmalloc_to_pfn(self, addr) -> int | None:
        """vmalloc_to_pfn(addr) = page_to_pfn(vmalloc_to_page(addr)) (mm/vmalloc.c)."""
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise TypeError(f"an address is an int, not {type(addr).__name__}")
        if not self.is_vmalloc_or_module_addr(addr):
            raise ValueError(f"{addr:#x} is not a vmalloc or module address "
                             "(VIRTUAL_BUG_ON(!is_vmalloc_or_module_addr()))")
        e = self.k.page_tables.lookup_pte(addr)
        if not e & 1:
            return None
        return (e & 0x000FFFFFFFFFF000) >> self.k.PAGE_SHIFT

    def find_vm_area(self, addr: int) -> VmArea | None:
        """find_vm_area(addr) (mm/vmalloc.c): the busy area starting at/containing addr."""
        return self.state.area_containing(addr)

    def _phys_of_page(self, vaddr: int) -> int:
        p = self.k.profile
        if p.is_64bit and vaddr >= p.start_kernel_map:
            return vaddr - p.start_kernel_map
        lowmem_end = p.page_offset + (self.k.max_low_pfn << self.k.PAGE_SHIFT)
        if p.page_offset <= vaddr < lowmem_end:
            return vaddr - p.page_offset
        e = self.k.page_tables.lookup_pte(vaddr)
        if not e & 1:
            raise ValueError(f"{vaddr:#x} is not mapped (no present PTE); a guard page or a "
                             "freed area?")
        return (e & 0x000FFFFFFFFFF000) | (vaddr & (self.k.PAGE_SIZE - 1))

    def phys_runs(self, addr, size) -> list[PhysRun]:
        """The physically contiguous runs behind the kernel virtual range [addr, addr+size):
        one for kmalloc/__get_free_pages memory, usually many for vmalloc."""
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise TypeError(f"an address is an int, not {type(addr).__name__}")
        size = self._check_size(size)
        if size == 0:
            return []
        runs: list[PhysRun] = []
        page = self.k.PAGE_SIZE
        va = addr
        end = addr + size
        while va < end:
            nxt = min(end, (va | (page - 1)) + 1)
            phys = self._phys_of_page(va)
            if runs and runs[-1].phys + runs[-1].size == phys:
                last = runs[-1]
                runs[-1] = PhysRun(last.virt, last.phys, last.size + (nxt - va))
            else:
                runs.append(PhysRun(va, phys, nxt - va))
            va = nxt
        return runs

    def provenance(self, addr: int) -> Provenance | None:
        """Which API made the memory at ``addr`` (a kernel virtual address), or None."""
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise TypeError(f"an address is an int, not {type(addr).__name__}")
        st = self.state
        area = st.area_containing(addr)
        if area is not None:
            return Provenance(area.api, area.addr, area.usable_size, area.caller,
                              f"{area.nr_pages} pages")
        p = self.k.profile
        lowmem_end = p.page_offset + (self.k.max_low_pfn << self.k.PAGE_SHIFT)
        if not p.page_offset <= addr < lowmem_end:
            return None
        phys = addr - p.page_offset
        pfn = phys >> self.k.PAGE_SHIFT
        pa = self.k.page_alloc
        for o in range(pa.nr_orders):
            head = pfn & ~((1 << o) - 1)
            pg = pa.allocated.get(head)
            if pg is not None and pg.order >= o:
                api = {"slab": "kmalloc" if pg.detail.startswith("kmalloc") else
                       "kmem_cache_alloc", "kmalloc_large": "kmalloc",
                       "pages": "alloc_pages", "vmalloc": "vmalloc (backing page)",
                       "pgtable": "page table", "module": "module_alloc",
                       "cma": "cma_alloc"}.get(pg.owner, pg.owner)
                return Provenance(api, self.k.pfn_to_virt(head), pg.nr_pages * self.k.PAGE_SIZE,
                                  pg.caller, pg.detail)
        for r in self.k.memblock.reservations:
            if r.base <= phys < r.base + r.size:
                return Provenance("memblock", self.k.phys_to_virt(r.base), r.size, "", r.name)
        return None

    # ------------------------------------------------------------------ reports
    def _warn_on_once(self, file: str, func: str, cond: str) -> None:
        report.warn(self.k, f"{file} {func}", before=[cond])

    def _vmalloc_warn(self, value: int, message: str, order: int) -> None:
        """warn_alloc with vmalloc's message (:func:`report.warn_alloc`), unless
        __GFP_NOWARN."""
        if not value & self.k.profile.gfp.values["__GFP_NOWARN"]:
            report.warn_alloc(self.k, order, value, None, message)

    # ------------------------------------------------------------------ kernel seams
    def phys_addr_error(self, addr: int) -> ValueError:
        """__pa() of an address outside the linear map: the kernel computes garbage
        (or BUGs with CONFIG_DEBUG_VIRTUAL, arch/x86/mm/physaddr.c: __phys_addr). The
        error to raise, naming the region the address is in."""
        region = self.k.layout.region_of(addr)
        name = region.name if region else "no region"
        hint = ""
        if name in ("vmalloc", "modules"):
            hint = " — use vmalloc_to_pfn() or walk() for vmalloc/module addresses"
        elif name == "pkmap":
            hint = " — a kmap address; use the Page you mapped"
        return ValueError(f"{addr:#x} is not in the direct map ({name}); virt_to_phys()/__pa "
                          f"only work for lowmem addresses (arch/x86/mm/physaddr.c: "
                          f"__phys_addr){hint}")

    def digest(self) -> tuple:
        """The vmap areas and lazy list, init_mm's PTEs and its page-table page count
        (the first three items of ``k.address_space_digest()``)."""
        pt = self.k.page_tables
        return (self.state.digest(), tuple(sorted(pt.mapped_ptes().items())),
                pt.nr_table_pages())


# Kernel names with two leading underscores (mangled inside a class body).
setattr(Vmalloc, "__vmalloc", Vmalloc.vmalloc_gfp)
setattr(Vmalloc, "__vmalloc_node_range", Vmalloc.vmalloc_node_range)


# ============================================================================ /proc

@procfs.renderer("vmallocinfo")
def vmallocinfo(k) -> str:
    """mm/vmalloc.c: s_show (3.15, 6.1) / vmalloc_info_show (6.12).

    ``0x%pK-0x%pK %7ld`` (size includes the guard page), `` %pS`` caller,
    `` pages=%d``, `` phys=`` (3.15 ``%llx``, 6.x ``%pa``), the flag words, 3.15
    `` vpages`` (VM_VPAGES) / 6.x `` vpages`` (is_vmalloc_addr(v->pages)), NUMA
    `` N0=%u`` (x86_64 configs have CONFIG_NUMA). 6.x adds ``unpurged vm_area`` lines
    for lazily freed ranges (6.1 merges neighbours on its purge list; 6.12 keeps them
    per vmap node, and walks its busy lists node by node).
    """
    p = k.profile
    st = k.vmalloc_state
    vpages = p.vmalloc_vpages
    w = 16 if p.is_64bit else 8
    numa = p.is_64bit
    areas = [a for a in k.vmap_areas if not a.flags & VM_UNINITIALIZED]
    if p.vmap_nodes:
        areas.sort(key=lambda a: (_vmalloc_node_of(a.addr, st), a.addr))
    out = []
    for a in areas:
        s = f"0x{a.addr:0{w}x}-0x{a.va_end:0{w}x} {a.size:7d}"
        if a.caller:
            s += " " + _sym(a.caller)
        if a.nr_pages and a.owns_pages:
            s += f" pages={a.nr_pages}"
        if a.phys_addr:
            s += f" phys={a.phys_addr:x}" if vpages else f" phys=0x{a.phys_addr:0{w}x}"
        if a.flags & VM_IOREMAP:
            s += " ioremap"
        if a.flags & VM_ALLOC:
            s += " vmalloc"
        if a.flags & VM_MAP:
            s += " vmap"
        if a.flags & VM_USERMAP:
            s += " user"
        if vpages:
            if a.flags & VM_VPAGES:
                s += " vpages"
        elif a.pages_array is not None and a.pages_array[0] == "vmalloc":
            s += " vpages"
        if numa and a.nr_pages and a.owns_pages:
            s += f" N0={a.nr_pages}"
        out.append(s)
    if p.vmallocinfo_unpurged is not None:
        lazy = sorted(st.lazy.items())
        if p.vmallocinfo_unpurged == "merged":
            merged: list[list[int]] = []
            for s0, e0 in lazy:
                if merged and merged[-1][1] == s0:
                    merged[-1][1] = e0
                else:
                    merged.append([s0, e0])
            lazy = [(a, b) for a, b in merged]
        else:
            lazy.sort(key=lambda t: (_vmalloc_node_of(t[0], st), t[0]))
        for s0, e0 in lazy:
            out.append(f"0x{s0:0{w}x}-0x{e0:0{w}x} {e0 - s0:7d} unpurged vm_area")
    return "".join(line + "\n" for line in out)

