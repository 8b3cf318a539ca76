"""Chapter 1 (kernel vs user allocation): where kmalloc, vmalloc and a user process's
malloc land in the virtual address space, on Linux 3.15/i386 (the 3G/1G split, lowmem and
highmem) and on 6.12/x86_64 (no highmem: all RAM in the direct map).

``km.widgets.AddressSpaceExplorer()`` boots 3.15/i386 with 1 GiB;
``km.widgets.AddressSpaceExplorer(k)`` uses the notebook's kernel.
"""

from __future__ import annotations

import html
import re

import ipywidgets as W

from .. import plot as P
from ..i18n import _
from ..plot._style import ZH, fmt_bytes
from ..plot.vm import layout_regions
from ..profiles import DEFAULT_VERSION, DOCUMENT_VERSION
from .base import Explorer, make_kernel

_PFN_IN_ZONE = re.compile(r"pfn (0x[0-9a-f]+) in (\w+)")


class AddressSpaceExplorer(Explorer):
    """Switch kernels (3.15/i386, 6.12/x86_64), allocate with ``kmalloc`` (direct map,
    lowmem), ``vmalloc`` (the vmalloc area, pages from anywhere, highmem too) and
    ``malloc`` in a user process (below PAGE_OFFSET), and see each address on the
    address-space plot and in a table with the region and the physical page behind it."""

    title = "Address space explorer"
    tooltip = (f"kernel vs user allocation; highmem {ZH['highmem']}; kmalloc {ZH['kmalloc']}; "
               f"vmalloc {ZH['vmalloc']}; malloc {ZH['malloc']}")
    KERNELS = [f"{DOCUMENT_VERSION}/i386", f"{DEFAULT_VERSION}/x86_64"]
    RAMS = ["512M", "1G", "2G"]
    KINDS = ("kmalloc", "vmalloc", "malloc")

    def __init__(self, k=None, **kernel_kw):
        if k is None:
            kernel_kw.setdefault("version", DOCUMENT_VERSION)
            kernel_kw.setdefault("arch", "i386")
        self._syncing = False
        super().__init__(k, **kernel_kw)

    def init_state(self):
        self.state["allocs"] = []   # [{kind, call, addr, phys}] oldest first
        self.state["pid"] = None    # the user process, spawned at the first malloc

    # -- controls ------------------------------------------------------------------
    @staticmethod
    def _ram_text(ram: int) -> str:
        return f"{ram >> 20}M" if ram < 1 << 30 or ram % (1 << 30) else f"{ram >> 30}G"

    def controls(self):
        name, ram = self.k.profile.name, self._ram_text(self.k.ram)
        self.w_kernel = W.Dropdown(options=self.KERNELS + ([name] if name not in self.KERNELS
                                                           else []),
                                   value=name, description="kernel",
                                   tooltip=_("boots that kernel (a step: undo goes back)"))
        self.w_ram = W.Dropdown(options=self.RAMS + ([ram] if ram not in self.RAMS else []),
                                value=ram, description="RAM",
                                tooltip=_("on i386 RAM above ~896 MiB is highmem"))
        self.w_size = W.IntSlider(value=100, min=1, max=64 * 1024, description=_("size (B)"),
                                  continuous_update=False)
        self.btn_kmalloc = W.Button(description="kmalloc", button_style="primary",
                                    tooltip=_("kernel: physically contiguous, in the direct map"))
        self.btn_vmalloc = W.Button(description="vmalloc", button_style="primary",
                                    tooltip=_("kernel: virtually contiguous, in the vmalloc area"))
        self.btn_malloc = W.Button(description=_("malloc (user)"), button_style="info",
                                   tooltip=_("user space: glibc malloc in a process"))
        self.on_change(self.w_kernel, self._switch)
        self.on_change(self.w_ram, self._switch)
        self.on_click(self.btn_kmalloc, lambda: self.alloc("kmalloc"))
        self.on_click(self.btn_vmalloc, lambda: self.alloc("vmalloc"))
        self.on_click(self.btn_malloc, lambda: self.alloc("malloc"))
        self.split = W.HTML()
        self.table = W.HTML()
        return W.VBox([W.HBox([self.w_kernel, self.w_ram, self.w_size]),
                       W.HBox([self.btn_kmalloc, self.btn_vmalloc, self.btn_malloc]),
                       self.split, self.table])

    def _switch(self):
        if not self._syncing:
            self.boot()

    def _restore(self, snap):
        super()._restore(snap)
        # back/forward/undo/reset can change the kernel: the dropdowns follow it
        self._syncing = True
        try:
            name, ram = self.k.profile.name, self._ram_text(self.k.ram)
            if name not in self.w_kernel.options:
                self.w_kernel.options = list(self.w_kernel.options) + [name]
            if ram not in self.w_ram.options:
                self.w_ram.options = list(self.w_ram.options) + [ram]
            self.w_kernel.value, self.w_ram.value = name, ram
        finally:
            self._syncing = False

    # -- actions -------------------------------------------------------------------
    def boot(self, kernel: str | None = None, ram: str | None = None):
        """Boot another kernel (3.15/i386 or 6.12/x86_64) in place of this one."""
        self._syncing = True
        try:
            if kernel is not None:
                self.w_kernel.value = kernel
            if ram is not None:
                self.w_ram.value = ram
        finally:
            self._syncing = False
        version, arch = self.w_kernel.value.split("/")
        ram = self.w_ram.value

        def run():
            new = make_kernel(version=version, arch=arch, ram=ram, cpus=self.k.nr_cpus)
            self.k.restore(new)
            self.state["allocs"] = []
            self.state["pid"] = None
        r = self.act(f"boot {version}/{arch} {ram}", run)
        self.last_mark = self.k.trace.mark()
        self.refresh()
        return r

    def _process(self):
        procs = self.k.user.processes
        if self.state["pid"] in procs:
            return procs[self.state["pid"]]
        proc = self.k.spawn("app")
        self.state["pid"] = proc.pid
        return proc

    def alloc(self, kind: str, size: int | None = None):
        """``kmalloc(size, GFP_KERNEL)``, ``vmalloc(size)`` or ``malloc(size)`` in a user
        process; remembers the address and the physical page behind it."""
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {', '.join(self.KINDS)}, not {kind!r}")
        size = self.w_size.value if size is None else size
        k = self.k

        def run():
            mark = k.trace.mark()
            if kind == "kmalloc":
                addr = k.kmalloc(size, "GFP_KERNEL", caller="AddressSpaceExplorer")
                phys = self._phys(k.virt_to_phys(addr) >> k.PAGE_SHIFT) if addr else ""
                call = f"kmalloc({size}, GFP_KERNEL)"
            elif kind == "vmalloc":
                addr = k.vmalloc(size, caller="AddressSpaceExplorer")
                phys = (self._phys(k.vmalloc_to_pfn(addr)) + " (first page; the others may "
                        "be anywhere)") if addr else ""
                call = f"vmalloc({size})"
            else:
                proc = self._process()
                addr = proc.malloc(size)
                call = f"malloc({size}) in {proc.comm}[{proc.pid}]"
                phys = "no new page: the heap page was already there"
                for e in k.trace.events(since=mark):
                    m = _PFN_IN_ZONE.search(e.why) if e.name == "page_fault" else None
                    if m:
                        phys = (f"pfn {m[1]} in {m[2]}, faulted in on first touch "
                                "(demand paging)")
                        break
            if addr:
                self.state["allocs"].append({"kind": kind, "call": call, "addr": addr,
                                             "phys": phys})
            return addr
        return self.act(f"{kind}({size})", run)

    def _phys(self, pfn: int) -> str:
        z = self.k.page_alloc.zone_of_pfn(pfn)
        return f"pfn {pfn:#x} ({fmt_bytes(pfn * self.k.PAGE_SIZE)} into RAM) in " + \
            (z.name if z is not None else "?")

    def region(self, addr: int) -> str:
        for name, start, end in layout_regions(self.k):
            if start <= addr < end:
                return name
        return "?"

    # -- display -------------------------------------------------------------------
    def marks(self) -> dict[str, int]:
        last = {}
        for a in reversed(self.state["allocs"]):
            last.setdefault(a["kind"], a["addr"])
        return {f"last {kind}": last[kind] for kind in self.KINDS if kind in last}

    def frame(self):
        marks = self.marks()
        return self.kept("space", lambda: P.address_space(self.k, marks=marks),
                         lambda fig: P.update_address_space(fig, self.k, marks=marks))

    def figure(self):
        return P.address_space(self.k, marks=self.marks())

    def split_html(self) -> str:
        k, p = self.k, self.k.profile
        low = k.max_low_pfn << k.PAGE_SHIFT
        high = (k.max_pfn - k.max_low_pfn) << k.PAGE_SHIFT
        if p.is_64bit:
            return (f"<b>{html.escape(p.name)}</b>: user space below "
                    f"{0x00007FFFFFFFF000:#x}, the kernel above {p.page_offset:#x}. "
                    f"<b>No highmem</b>: all {fmt_bytes(k.max_pfn << k.PAGE_SHIFT)} of RAM is "
                    f"in the direct map at PAGE_OFFSET {p.page_offset:#x}, so every page has "
                    "a permanent kernel address.")
        split = (f"<b>{html.escape(p.name)}</b>: the 3G/1G split: user space "
                 f"0x00000000 – {p.page_offset - 1:#010x} (3 GiB), the kernel "
                 f"{p.page_offset:#010x} – 0xffffffff (1 GiB).<br>"
                 f"<b>lowmem</b>: physical 0 – {fmt_bytes(low)}, mapped once for all at "
                 f"{p.page_offset:#x} + physical (the direct map): kmalloc memory comes from "
                 "here.<br>")
        if high:
            split += (f"<b>highmem</b>: physical {fmt_bytes(low)} – "
                      f"{fmt_bytes(k.max_pfn << k.PAGE_SHIFT)} ({fmt_bytes(high)}, zone "
                      "HighMem) has no permanent kernel address: user pages and vmalloc pages "
                      "may come from there (the kernel reaches them through kmap or the "
                      "vmalloc area's page tables).")
        else:
            split += ("<b>highmem</b>: none with this much RAM (all of it fits in lowmem); "
                      "pick 1G or 2G to see some.")
        return split

    def update_labels(self):
        self.split.value = f"<div style='font-size:12px'>{self.split_html()}</div>"
        allocs = self.state["allocs"]
        if not allocs:
            self.table.value = "<i>allocate with the buttons above</i>"
            return
        width = 18 if self.k.profile.is_64bit else 10
        rows = "".join(
            f"<tr><td>{html.escape(a['kind'])}</td><td><code>{html.escape(a['call'])}</code>"
            f"</td><td><code>{a['addr']:#0{width}x}</code></td>"
            f"<td>{html.escape(self.region(a['addr']))}</td><td>{html.escape(a['phys'])}</td>"
            "</tr>" for a in allocs[-8:])
        self.table.value = ("<table style='font-size:11px'><tr><th>kind</th><th>call</th>"
                            "<th>virtual address</th><th>region</th><th>physical page</th>"
                            f"</tr>{rows}</table>")
