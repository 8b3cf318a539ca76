"""Module memory: where ``insmod`` puts a module (kernel/module.c 3.15/6.1,
kernel/module/main.c 6.12; arch/x86/kernel/module.c: module_alloc; mm/execmem.c).

3.15 and 6.1 allocate the module's *core* (text, rodata, data + bss, each page
aligned under CONFIG_STRICT_MODULE_RWX / DEBUG_SET_MODULE_RONX) with one
``module_alloc`` = ``__vmalloc_node_range(size, MODULE_ALIGN, MODULES_VADDR,
MODULES_END, GFP_KERNEL, PAGE_KERNEL_EXEC, ...)``, and the init sections with another,
freed after ``do_init_module``. 6.12 allocates each memory type (MOD_TEXT, MOD_DATA
with bss, MOD_RODATA, MOD_INIT_*) separately with ``execmem_alloc``. On x86_64 the
range is the modules area; on i386 it is the vmalloc area. Every page is allocated
and mapped: a 512 MiB static array in .bss costs 131072 pages and PTE writes.

Not modelled: KASLR's module load offset (kmemlab boots as with ``nokaslr``), the
ELF itself, symbol resolution beyond ``k.exported_symbols``, module refcounts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from . import procfs
from .steps import Recorder


@dataclass(eq=False)
class Module:
    """A loaded module: its sections' addresses and what loading cost."""

    name: str
    sections: dict[str, tuple[int, int]]        # name -> (address, size)
    areas: list[int]                            # vmalloc areas (start addresses)
    core_size: int
    nr_pages: int
    pte_writes: int
    pgtable_pages: int
    steps: list = field(default_factory=list, repr=False)

    @property
    def base(self) -> int:
        return self.areas[0]


def _size(value, what: str) -> int:
    from .sizes import size_arg
    return size_arg(value, what)


def _page_align(k, n: int) -> int:
    return -(-n // k.PAGE_SIZE) * k.PAGE_SIZE


class Modules(Mapping):
    """kernel/module/main.c of one kernel (``k.modules``): the loaded modules by name
    (the kernel's ``modules`` list; this object reads as that mapping) and the
    symbols exported to them (``exported_symbols``, also ``k.exported_symbols``)."""

    def __init__(self, k) -> None:
        self.k = k
        self.loaded: dict[str, Module] = {}
        self.exported_symbols: dict[str, int] = {}

    def __getitem__(self, name: str) -> Module:
        return self.loaded[name]

    def __contains__(self, name) -> bool:
        return name in self.loaded

    def __iter__(self) -> Iterator[str]:
        return iter(self.loaded)

    def __len__(self) -> int:
        return len(self.loaded)

    def __repr__(self) -> str:
        return f"<Modules {sorted(self.loaded)}>"

    def export_symbol(self, name: str, value: int) -> None:
        """EXPORT_SYMBOL(name) (include/linux/export.h): make a value visible to modules
        (``k.exported_symbols``; ``k.find_symbol(name)``)."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a symbol name is a C identifier, not {name!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("an exported value is an int (an address or a number)")
        self.exported_symbols[name] = value

    def find_symbol(self, name: str) -> int | None:
        """find_symbol (kernel/module.c): an exported symbol's value, or None."""
        return self.exported_symbols.get(name)

    def load(self, name: str, text=0, data=0, bss=0, *, rodata=0, init=0,
             caller: str | None = None) -> Module | None:
        """insmod: load_module → layout_and_allocate → move_module (kernel/module.c, 3.15
        and 6.1: module_alloc; kernel/module/main.c 6.12: execmem_alloc per memory type).
        Returns a :class:`Module` or None when it does not fit."""
        k = self.k
        caller = k.caller_label(caller)
        if not isinstance(name, str) or not name or not name.replace("-", "_").isidentifier():
            raise ValueError(f"a module name is like 'pf_buf', not {name!r}")
        sizes = {"text": _size(text, "text"), "rodata": _size(rodata, "rodata"),
                 "data": _size(data, "data"), "bss": _size(bss, "bss"), "init": _size(init, "init")}
        if not any(sizes[s] for s in ("text", "rodata", "data", "bss")):
            raise ValueError("a module needs some text, rodata, data or bss")
        name = name.replace("-", "_")
        if name in self.loaded:
            k.printk(f"{name}: module is already loaded")
            return None   # -EEXIST
        lay = k.layout
        p = k.profile
        pt = k.page_tables
        vm = k.vmalloc_space
        st = vm.state
        pte0, tables0, pages0 = pt.pte_writes, pt.nr_table_pages(), st.stats["pages_allocated"]
        rec = Recorder(st.record_steps)
        text_sz = _page_align(k, sizes["text"])
        ro_sz = _page_align(k, sizes["rodata"])
        data_sz = _page_align(k, sizes["data"] + sizes["bss"])
        if p.module_execmem:
            plan = [(t, s) for t, s in (("text", text_sz), ("rodata", ro_sz), ("data", data_sz),
                                        ("init", _page_align(k, sizes["init"]))) if s]
            api, label = "execmem_alloc", "execmem_alloc"
        else:
            plan = [("core", text_sz + ro_sz + data_sz)]
            if sizes["init"]:
                plan.append(("init", _page_align(k, sizes["init"])))
            api = "module_alloc"
            label = p.module_alloc_caller
        modules_len = lay.MODULES_END - lay.MODULES_VADDR
        gfp = k.gfp_value("GFP_KERNEL|__GFP_HIGHMEM" if p.vmalloc_api_gfp_highmem else "GFP_KERNEL")
        got: dict[str, int] = {}
        for kind, size in plan:
            rec.step(api, f"{kind}: {size} bytes in [MODULES_VADDR, MODULES_END)", size=size)
            if not p.module_execmem and size > modules_len:
                rec.step(api, "fail: larger than MODULES_LEN")
                addr = None
            else:
                vm.precheck(gfp)
                rec.enter()
                addr = vm.alloc_node_range(rec, api, size, k.PAGE_SIZE, lay.MODULES_VADDR,
                                           lay.MODULES_END, gfp, 0, label)
                rec.leave()
            if addr is None:
                for a in got.values():
                    vm.vfree_area(st.areas[a], rec, "load_module failure")
                st.last_steps = rec.steps
                k.printk(f"{name}: failed to allocate {kind} ({size} bytes): -ENOMEM")
                return None
            got[kind] = addr
        sections: dict[str, tuple[int, int]] = {}
        if p.module_execmem:
            for sec, kind in (("text", "text"), ("rodata", "rodata"), ("data", "data")):
                if kind in got:
                    sections[sec] = (got[kind], sizes[sec])
            if sizes["bss"]:
                sections["bss"] = (got["data"] + sizes["data"], sizes["bss"])
        else:
            base = got["core"]
            sections["text"] = (base, sizes["text"])
            sections["rodata"] = (base + text_sz, sizes["rodata"])
            sections["data"] = (base + text_sz + ro_sz, sizes["data"])
            sections["bss"] = (base + text_sz + ro_sz + sizes["data"], sizes["bss"])
        nr_pages = st.stats["pages_allocated"] - pages0
        if "init" in got:
            rec.step("do_init_module", "init done: the init sections are freed (module_memfree)")
            vm.vfree_area(st.areas[got.pop("init")], rec, "do_init_module")
        areas = list(got.values())
        for a in areas:
            st.areas[a].api = api
        core = sum(st.areas[a].usable_size for a in areas)
        mod = Module(name, sections, areas, core, nr_pages, pt.pte_writes - pte0,
                     pt.nr_table_pages() - tables0, rec.steps)
        self.loaded[name] = mod
        st.last_steps = rec.steps
        k.trace.emit("module_load", f"{nr_pages} pages allocated and mapped", name=name,
                     addr=areas[0], size=core)
        return mod

    def unload(self, name: str) -> None:
        """rmmod: delete_module → free_module → module_memfree / execmem_free (vfree)."""
        k = self.k
        if not isinstance(name, str):
            raise TypeError("unload_module takes the module's name")
        mod = self.loaded.get(name.replace("-", "_"))
        if mod is None:
            raise ValueError(f"no module named {name!r} is loaded (rmmod: ERROR: Module {name} "
                             "is not currently loaded)")
        k.might_sleep_if_alloc(k.gfp_value("GFP_KERNEL"), 0)
        vm = k.vmalloc_space
        st = vm.state
        # all or nothing: every area must still be there (a learner may have vfree'd one;
        # module_memfree would then WARN "Trying to vfree() nonexistent vm area") and its
        # pages freeable, before the first is freed
        for a in mod.areas:
            area = st.areas.get(a)
            if area is None:
                vm.find_area_for_free(a, "vfree")      # the kernel's WARN, then KernelBug
            elif area.owns_pages and area.pfns:
                k.page_alloc.check_free_order0(area.pfns)
        rec = Recorder(st.record_steps)
        for a in mod.areas:
            vm.vfree_area(st.areas[a], rec, "free_module")
        del self.loaded[mod.name]
        st.last_steps = rec.steps
        k.trace.emit("module_free", "module memory vfree'd", name=mod.name)
        k.module_unloaded(mod.name)  # kmemleak: what a scripted module of that name left

    def digest(self) -> tuple:
        """The loaded modules' names and the exported symbols (the last two items of
        ``k.address_space_digest()``)."""
        return (tuple(sorted(self.loaded)), tuple(sorted(self.exported_symbols.items())))


@procfs.renderer("modules")
def proc_modules(k) -> str:
    """kernel/module.c: m_show — ``name size refcnt deps state 0x%pK (taints)``; a
    learner's module is out of tree and unsigned: taints ``(OE)``."""
    w = 16 if k.profile.is_64bit else 8
    out = []
    for mod in sorted(k.modules.loaded.values(), key=lambda m: -m.base):
        out.append(f"{mod.name} {mod.core_size} 0 - Live 0x{mod.base:0{w}x} (OE)")
    return "".join(s + "\n" for s in out)
