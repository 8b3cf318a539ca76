"""One explorer per chapter. Each is thin: it turns controls into calls of the core's
public API and redraws a :mod:`kmemlab.plot` figure.

``km.widgets.BuddyExplorer(k)`` uses the notebook's kernel; ``km.widgets.BuddyExplorer()``
boots its own (6.12 x86_64, 1 GiB).
"""

from __future__ import annotations

import copy
import html
import random

import ipywidgets as W

from .. import plot as P
from ..i18n import _
from ..plot._style import ZH, fmt_bytes
from ..profiles import DEFAULT_VERSION, DOCUMENT_VERSION
from .base import USER_DEATHS, Explorer, freeze, kernel_fingerprint, make_kernel, thaw

# The memory map in an explorer: low enough (about 300 px) that the "why" and dmesg lines
# under it stay on screen after a click (6.0 in made the student scroll every time).
MAP_FIGSIZE = (9.5, 4.2)

GFP_CHOICES = ["GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_NOIO", "GFP_NOFS", "GFP_USER",
               "GFP_HIGHUSER", "GFP_HIGHUSER_MOVABLE", "GFP_DMA", "GFP_DMA32"]


def _gfp_options(k) -> list[str]:
    out = []
    for name in GFP_CHOICES:
        try:
            k.gfp_value(name)
            out.append(name)
        except (ValueError, KeyError, TypeError):
            continue
    return out


def memory_map_frame(explorer, highlight=()):
    """The memory map view of an explorer: one figure kept, updated in place per step."""
    k = explorer.k
    return explorer.kept(
        "map", lambda: P.memory_map(k, ax=explorer.new_axes(MAP_FIGSIZE), highlight=highlight),
        lambda fig: P.update_memory_map(fig, k, highlight=highlight))


def buddyinfo_frame(explorer):
    """The /proc/buddyinfo view: one figure kept, updated in place per step."""
    k = explorer.k
    return explorer.kept("buddyinfo", lambda: P.buddyinfo(k),
                         lambda fig: P.update_buddyinfo(fig, k))


def _na(what: str, needs: str) -> str:
    return (f"<i style='color:#666'>{html.escape(what)}: not available in this build "
            f"(needs {html.escape(needs)})</i>")


# ----------------------------------------------------------------------------- buddy
class BuddyExplorer(Explorer):
    """alloc_pages/free_pages by hand: zone (via GFP flags), order, a random workload;
    views: physical memory map, buddyinfo with watermarks, the tree of halves, timeline."""

    title = "Buddy allocator explorer"
    tooltip = f"buddy system {ZH['buddy']}; fragmentation {ZH['fragmentation']}"

    def init_state(self):
        self.state["blocks"] = []   # [(pfn, order)] allocated here, oldest first

    def controls(self):
        k = self.k
        self.w_order = W.IntSlider(value=0, min=0, max=k.profile.nr_page_orders - 1,
                                   description="order", tooltip=_("2^order pages"))
        self.w_gfp = W.Dropdown(options=_gfp_options(k), value="GFP_KERNEL", description="gfp",
                                tooltip=_("GFP flags choose the zone and the rules"))
        self.w_view = W.Dropdown(options=["memory map", "buddyinfo", "buddy tree", "timeline"],
                                 value="memory map", description=_("view"))
        self.btn_alloc = W.Button(description="alloc_pages", button_style="primary")
        self.btn_free = W.Button(description=_("free last"), tooltip="__free_pages of the last "
                                 "block allocated here")
        self.btn_free_all = W.Button(description=_("free all"))
        self.btn_work = W.Button(description=_("random workload"),
                                 tooltip=f"50 random allocs/frees: {ZH['fragmentation']}")
        self.on_click(self.btn_alloc, self.alloc)
        self.on_click(self.btn_free, self.free_last)
        self.on_click(self.btn_free_all, self.free_all)
        self.on_click(self.btn_work, self.workload)
        self.on_change(self.w_view, self.refresh)
        self.info = W.HTML()
        return W.VBox([W.HBox([self.w_gfp, self.w_order, self.w_view]),
                       W.HBox([self.btn_alloc, self.btn_free, self.btn_free_all, self.btn_work]),
                       self.info])

    def _page(self, pfn):
        return self.k.page_alloc.allocated.get(pfn)

    def alloc(self, order: int | None = None, gfp: str | None = None):
        order = self.w_order.value if order is None else order
        gfp = self.w_gfp.value if gfp is None else gfp

        def run():
            page = self.k.alloc_pages(gfp, order, caller="BuddyExplorer")
            if page is not None:
                self.state["blocks"].append((page.pfn, page.order))
            return page
        return self.act(f"alloc_pages({gfp}, {order})", run)

    def free_last(self):
        if not self.state["blocks"]:
            self.message.value = "nothing allocated here yet"
            return

        def run():
            pfn, order = self.state["blocks"][-1]
            self.k.free_pages(self._page(pfn), order)
            self.state["blocks"].pop()
        return self.act("__free_pages(last)", run)

    def free_all(self):
        def run():
            for pfn, order in reversed(self.state["blocks"]):
                self.k.free_pages(self._page(pfn), order)
            self.state["blocks"].clear()
        return self.act("free all", run)

    def workload(self, steps: int = 50, seed: int | None = None):
        rng = random.Random(len(self.k.trace) if seed is None else seed)

        def run():
            for _step in range(steps):
                blocks = self.state["blocks"]
                if blocks and rng.random() < 0.4:
                    pfn, order = blocks.pop(rng.randrange(len(blocks)))
                    self.k.free_pages(self._page(pfn), order)
                else:
                    page = self.k.alloc_pages("GFP_KERNEL", rng.choice((0, 0, 0, 1, 2, 3)),
                                              caller="workload")
                    if page is not None:
                        blocks.append((page.pfn, page.order))
        return self.act(f"random workload ({steps} steps)", run)

    def _last(self) -> list[int]:
        return [self.state["blocks"][-1][0]] if self.state["blocks"] else []

    def frame(self):
        if self.w_view.value == "memory map":
            return memory_map_frame(self, self._last())
        if self.w_view.value == "buddyinfo":
            return buddyinfo_frame(self)
        if self.w_view.value == "buddy tree":
            k = self.k
            pfn = self.state["blocks"][-1][0] if self.state["blocks"] else None
            def build():
                fig = P.buddy_tree(k, pfn)
                # (the same state: it notes what the figure shows)
                P.update_buddy_tree(fig, k, pfn)
                return fig
            # one kept tree per kernel (its colours and labels follow the profile)
            return self.kept(f"tree {k.profile.name} {k.ram}", build,
                             lambda fig: P.update_buddy_tree(fig, k, pfn))
        return super().frame()

    def figure(self):
        view = self.w_view.value
        if view == "memory map":
            return P.memory_map(self.k, ax=self.axes("map", MAP_FIGSIZE), highlight=self._last())
        if view == "buddyinfo":
            return P.buddyinfo(self.k)
        if view == "buddy tree":
            pfn = self.state["blocks"][-1][0] if self.state["blocks"] else None
            return P.buddy_tree(self.k, pfn)
        return P.timeline(self.k, samples=self.samples)

    def buddyinfo_text(self) -> str:
        """``/proc/buddyinfo`` as the kernel prints it, under an ``order`` header whose
        columns line up with the counts (``"Node %d, zone %8s "`` then ``"%6lu "``)."""
        lines = self.k.proc("buddyinfo").rstrip("\n").splitlines()
        if not lines:
            return ""
        prefix = len("Node 0, zone ") + 8 + 1
        orders = range(self.k.profile.nr_page_orders)
        header = "order".rjust(prefix - 1) + " " + "".join(f"{o:>6} " for o in orders)
        return "\n".join([header.rstrip()] + [ln.rstrip() for ln in lines])

    def update_labels(self):
        body = html.escape(self.buddyinfo_text())
        last = ""
        if self.state["blocks"]:
            pfn, order = self.state["blocks"][-1]
            last = (f"; last: pfn {pfn:#x}, order {order} ({1 << order} page"
                    f"{'s' if order else ''}), circled on the memory map")
        self.info.value = (
            "<div style='font-size:11px'><b>/proc/buddyinfo</b> (free blocks per order)</div>"
            "<pre style='margin:0;font-family:monospace;font-size:11px;line-height:1.3;"
            f"white-space:pre'>{body}</pre>"
            f"{len(self.state['blocks'])} block(s) allocated here{last}")


# ----------------------------------------------------------------------------- kmalloc
class KmallocExplorer(Explorer):
    """kmalloc by size: which cache, how much is wasted, the slab it came from."""

    title = "kmalloc explorer"
    tooltip = f"kmalloc {ZH['kmalloc']}; slab {ZH['slab']}"

    def init_state(self):
        self.state["ptrs"] = []   # [(ptr, size)]

    def controls(self):
        self.w_size = W.IntSlider(value=100, min=1, max=16384, description=_("size (B)"),
                                  continuous_update=False)
        self.w_gfp = W.Dropdown(options=_gfp_options(self.k), value="GFP_KERNEL",
                                description="gfp")
        self.w_view = W.Dropdown(options=["slab", "slabinfo", "memory map", "timeline"],
                                 value="slab", description=_("view"))
        self.btn_kmalloc = W.Button(description="kmalloc", button_style="primary")
        self.btn_kfree = W.Button(description=_("kfree last"))
        self.btn_kfree_twice = W.Button(description=_("kfree last twice"), button_style="danger",
                                        tooltip=_("a double free: see the kernel's report"))
        self.cache_label = W.HTML()
        self.on_click(self.btn_kmalloc, self.kmalloc)
        self.on_click(self.btn_kfree, self.kfree_last)
        self.on_click(self.btn_kfree_twice, self.double_free)
        self.on_change(self.w_size, self.refresh)
        self.on_change(self.w_view, self.refresh)
        return W.VBox([W.HBox([self.w_size, self.w_gfp, self.w_view]),
                       W.HBox([self.btn_kmalloc, self.btn_kfree, self.btn_kfree_twice]),
                       self.cache_label])

    def cache(self):
        try:
            return self.k.kmalloc_cache(self.w_size.value, self.w_gfp.value)
        except (ValueError, TypeError):
            return None

    def kmalloc(self, size: int | None = None):
        size = self.w_size.value if size is None else size
        if size != self.w_size.value:
            self.w_size.value = size

        def run():
            p = self.k.kmalloc(size, self.w_gfp.value, caller="KmallocExplorer")
            if p:
                self.state["ptrs"].append((p, size))
            return p
        return self.act(f"kmalloc({size})", run)

    def kfree_last(self):
        if not self.state["ptrs"]:
            self.message.value = "nothing allocated here yet"
            return

        def run():
            p, _s = self.state["ptrs"][-1]
            self.k.kfree(p, caller="KmallocExplorer")
            self.state["ptrs"].pop()
        return self.act("kfree(last)", run)

    def double_free(self):
        if not self.state["ptrs"]:
            self.message.value = "kmalloc something first"
            return
        p, _s = self.state["ptrs"][-1]
        with self.one_frame():
            self.kfree_last()
            return self.act("kfree(last) again",
                            lambda: self.k.kfree(p, caller="KmallocExplorer"))

    def frame(self):
        view = self.w_view.value
        c = self.cache()
        if view == "slab" and c is not None:
            return self.kept("slab", lambda: P.slab(self.k, c),
                             lambda fig: P.update_slab(fig, self.k, c))
        if view == "memory map":
            return memory_map_frame(self)
        return super().frame()

    def figure(self):
        view = self.w_view.value
        c = self.cache()
        if view == "slab" and c is not None:
            return P.slab(self.k, c)
        if view == "slab":
            ax = self.axes("large", (9, 2.5), (0.05, 0.1, 0.9, 0.75))
            P.note(ax, f"kmalloc({self.w_size.value}) is above the largest kmalloc "
                              "cache: pages straight from the buddy allocator (kmalloc_large)")
            return ax.figure
        if view == "slabinfo":
            return P.slabinfo(self.k)
        if view == "memory map":
            return P.memory_map(self.k, ax=self.axes("map", MAP_FIGSIZE))
        return P.timeline(self.k, samples=self.samples)

    def update_labels(self):
        size = self.w_size.value
        c = self.cache()
        if c is None:
            self.cache_label.value = (f"kmalloc({size}) → no kmalloc cache: "
                                      f"order-{self.k.get_order(size)} pages from the buddy "
                                      "allocator")
            return
        waste = c.slab_size - size
        self.cache_label.value = (
            f"kmalloc({size}) → <b>{html.escape(c.name)}</b>: object {c.object_size} B, "
            f"{waste} B wasted ({100 * waste / c.slab_size:.0f}%), {c.objs_per_slab} objects "
            f"per order-{c.order} slab; {len(self.state['ptrs'])} live here")


# ----------------------------------------------------------------------------- vmalloc
class VmallocExplorer(Explorer):
    """vmalloc by size, then step through the recorded ``__vmalloc_node_range`` path."""

    title = "vmalloc explorer"
    tooltip = f"vmalloc {ZH['vmalloc']}; page tables {ZH['page_table']}"
    FRAGMENT_PAGES = 128   # pages taken by "fragment memory"; every other one is freed

    def __init__(self, k=None, *, fragmented: bool = False, **kernel_kw):
        """``fragmented=True``: start on a machine whose free pages are scattered (what
        the lesson needs: on a fresh kernel vmalloc's pages happen to be neighbours)."""
        super().__init__(k, **kernel_kw)
        if fragmented:
            self._fragment()
            self._initial = self._snap()   # reset returns to the fragmented machine
            self.last_mark = self.k.trace.mark()
            self.refresh()

    def init_state(self):
        self.state["pinned"] = []  # pfns "fragment memory" keeps allocated
        self.state["areas"] = []   # [(addr, size)]
        self.state["steps"] = []   # [(function, depth, text)] of the last call, k.vmalloc_steps
        self.state["call"] = ""
        self.state["step"] = 0

    def controls(self):
        self.w_size = W.IntSlider(value=5 * self.k.PAGE_SIZE, min=1, max=64 * self.k.PAGE_SIZE,
                                  step=self.k.PAGE_SIZE // 4, description=_("size (B)"),
                                  continuous_update=False)
        self.w_view = W.Dropdown(options=["mapping", "address space", "page walk"],
                                 value="mapping", description=_("view"))
        self.btn_vmalloc = W.Button(description="vmalloc", button_style="primary")
        self.btn_vfree = W.Button(description=_("vfree last"))
        self.btn_step_back = W.Button(description=_("◀ step"), tooltip="previous step of the "
                                      "last call (__vmalloc_node_range)")
        self.btn_step = W.Button(description=_("step ▶"), tooltip=_("next step of the last call"))
        self.btn_fragment = W.Button(description=_("fragment memory"),
                                     tooltip=f"alloc_pages {self.FRAGMENT_PAGES} single pages, "
                                     "free every other one: free memory full of holes, as on "
                                     "a machine that has run a while")
        self.on_click(self.btn_fragment, self.fragment)
        self.step_label = W.HTML()
        self.on_click(self.btn_vmalloc, self.vmalloc)
        self.on_click(self.btn_vfree, self.vfree_last)
        self.on_click(self.btn_step, lambda: self.step(+1))
        self.on_click(self.btn_step_back, lambda: self.step(-1))
        self.on_change(self.w_view, self.refresh)
        return W.VBox([W.HBox([self.w_size, self.w_view]),
                       W.HBox([self.btn_vmalloc, self.btn_vfree, self.btn_step_back,
                               self.btn_step, self.btn_fragment]), self.step_label])

    def _record_steps(self, call: str) -> None:
        """Keep the steps the kernel recorded for the last call (``k.vmalloc_steps``) in
        the widget's state, so that back/forward/undo replay them too."""
        steps = self.k.vmalloc_steps
        self.state["steps"] = [(st.function, st.depth, st.text) for st in steps]
        self.state["call"] = call
        self.state["step"] = 0

    def vmalloc(self, size: int | None = None):
        size = self.w_size.value if size is None else size

        def run():
            a = self.k.vmalloc(size, caller="VmallocExplorer")
            if a:
                self.state["areas"].append((a, size))
            self._record_steps(f"vmalloc({size})")
            return a
        return self.act(f"vmalloc({size})", run)

    def _fragment(self) -> int:
        pages = [self.k.alloc_pages("GFP_KERNEL", 0, caller="fragment")
                 for _ in range(self.FRAGMENT_PAGES)]
        pages = [pg for pg in pages if pg is not None]
        for pg in pages[::2]:
            self.k.free_pages(pg, 0)
        self.state["pinned"] += [pg.pfn for pg in pages[1::2]]
        return len(pages) // 2

    def fragment(self):
        """Allocate single pages and free every other one, so that the next vmalloc gets
        pages that are not neighbours (kmalloc still needs, and gets, a contiguous run)."""
        return self.act(f"fragment memory ({self.FRAGMENT_PAGES} pages, every other freed)",
                        self._fragment)

    def vfree_last(self):
        if not self.state["areas"]:
            self.message.value = "nothing vmalloc'ed here yet"
            return

        def run():
            a, _s = self.state["areas"].pop()
            self.k.vfree(a, caller="VmallocExplorer")
            self._record_steps(f"vfree({a:#x})")
        return self.act("vfree(last)", run)

    def step(self, delta: int):
        """Replay the recorded kernel path of the last call one step back or forward."""
        n = len(self.state.get("steps", []))
        if n:
            self.state["step"] = max(0, min(n - 1, self.state["step"] + delta))
        self.why.value = self.why_text()
        self.update_labels()

    def figure(self):
        view = self.w_view.value
        addr = self.state["areas"][-1][0] if self.state["areas"] else None
        if view == "mapping":
            return P.vmalloc_mapping(self.k, addr,
                                     empty_hint="press the vmalloc button above")
        if view == "page walk":
            target = addr if addr is not None else self.k.pfn_to_virt(
                min(self.k.page_alloc.allocated or [0x1000]))
            return P.page_walk(self.k, target)
        marks = {"last vmalloc": addr} if addr else {}
        return P.address_space(self.k, marks=marks)

    def frame(self):
        if self.w_view.value == "mapping":
            addr = self.state["areas"][-1][0] if self.state["areas"] else None
            return self.kept(
                "mapping",
                lambda: P.vmalloc_mapping(self.k, addr, empty_hint="press the vmalloc button "
                                          "above"),
                lambda fig: P.update_vmalloc_mapping(fig, self.k, addr))
        if self.w_view.value == "address space":
            addr = self.state["areas"][-1][0] if self.state["areas"] else None
            marks = {"last vmalloc": addr} if addr else {}
            return self.kept("space", lambda: P.address_space(self.k, marks=marks),
                             lambda fig: P.update_address_space(fig, self.k, marks=marks))
        return super().frame()

    @staticmethod
    def summarise(events) -> list[tuple[int, str, str]]:
        """(count, event name, the why of its last occurrence), in order of first
        appearance: "16 × mm_page_alloc: ..." instead of sixteen lines."""
        out: dict[str, list] = {}
        for e in events:
            row = out.setdefault(e.name, [0, e.name, e.why])
            row[0] += 1
            row[2] = e.why
        return [tuple(r) for r in out.values()]

    def why_text(self):
        steps = self.state.get("steps") or []
        if not steps:
            return "<i>no step yet: press <b>vmalloc</b></i>"
        cur = min(self.state["step"], len(steps) - 1)
        rows = []
        for i, (fn, depth, text) in enumerate(steps):
            style = f"margin-left:{1.5 * depth:.1f}em"
            if i == cur:
                style += ";background:#fff2b3;font-weight:bold"
            rows.append(f"<li style='{style}'><code>{html.escape(fn)}</code>: "
                        f"{html.escape(text)}</li>")
        events = self.summarise(self.step_events())
        summary = "".join(f"<li>{n} × <code>{html.escape(name)}</code>: {html.escape(why)}</li>"
                          for n, name, why in events)
        return (f"<b>{html.escape(self.state.get('call', ''))}</b>: the kernel's path, step "
                f"{cur + 1}/{len(steps)} (◀ step / step ▶ replay it)"
                f"<ol style='margin:0'>{''.join(rows)}</ol>"
                + (f"<div style='margin-top:4px'>trace events of this call "
                   f"(<code>k.trace</code>), summarised:</div><ul style='margin:0'>{summary}</ul>"
                   if summary else ""))

    def update_labels(self):
        steps = self.state.get("steps") or []
        if not steps:
            self.step_label.value = "<i>no recorded steps yet</i>"
            return
        i = min(self.state["step"], len(steps) - 1)
        fn, _depth, text = steps[i]
        self.step_label.value = (f"step {i + 1}/{len(steps)}: <code>{html.escape(fn)}"
                                 f"</code> — {html.escape(text)}")


# ----------------------------------------------------------------------------- contexts
class ContextExplorer(Explorer):
    """Pick an execution context and GFP flags, allocate, and see what the kernel says."""

    title = "Execution context explorer"
    tooltip = f"interrupt context {ZH['context']}"

    CONTEXTS = ["process", "softirq", "hardirq", "spin_lock", "irqs_disabled",
                "kprobe_handler"]

    def controls(self):
        self.w_ctx = W.Dropdown(options=self.CONTEXTS, value="process", description="context",
                                tooltip=_("where the code runs"))
        self.w_gfp = W.Dropdown(options=_gfp_options(self.k), value="GFP_KERNEL",
                                description="gfp")
        self.w_size = W.IntSlider(value=64, min=1, max=8192, description=_("size (B)"),
                                  continuous_update=False)
        self.btn_run = W.Button(description=_("kmalloc here"), button_style="primary")
        self.on_click(self.btn_run, self.run)
        self.outcome = W.HTML()
        return W.VBox([W.HBox([self.w_ctx, self.w_gfp, self.w_size]), self.btn_run,
                       self.outcome])

    def _context(self, name: str):
        k = self.k
        if name == "spin_lock":
            return k.spin_lock("demo_lock")
        if name == "irqs_disabled":
            return k.irqs_disabled()
        if name == "kprobe_handler":
            return k.kprobe_handler()
        return k.context(name)

    def run(self, context: str | None = None, gfp: str | None = None):
        ctx = self.w_ctx.value if context is None else context
        gfp = self.w_gfp.value if gfp is None else gfp
        size = self.w_size.value
        cm = self._context(ctx)

        def run():
            with cm:
                return self.k.kmalloc(size, gfp, caller="ContextExplorer")
        before = len(self.k.dmesg)
        p = self.act(f"kmalloc({size}, {gfp}) in {ctx}", run)
        new = self.k.dmesg[before:]
        if self.last_error is not None:
            self.outcome.value = (f"in <b>{ctx}</b> with {gfp}: the kernel reports a bug "
                                  "(see the oops panel)")
        elif p:
            self.outcome.value = f"in <b>{ctx}</b> with {gfp}: got {p:#x}"
        else:
            self.outcome.value = f"in <b>{ctx}</b> with {gfp}: NULL" + \
                (f" — {html.escape(new[0])}" if new else "")
        return p

    def frame(self):
        return buddyinfo_frame(self)

    def figure(self):
        return P.buddyinfo(self.k)


# ----------------------------------------------------------------------------- boot
class BootExplorer(Explorer):
    """Boot with a command line and see memblock, then the hand-over to the buddy."""

    title = "Boot explorer"
    tooltip = f"memblock / bootmem {ZH['memblock']}; highmem {ZH['highmem']}"

    def controls(self):
        from ..profiles import known_profiles
        self._boots: dict = {}   # see booted()
        self.w_profile = W.Dropdown(options=known_profiles(), value=self.k.profile.name,
                                    description="kernel")
        ram = self._ram_text(self.k.ram)
        options = ["256M", "512M", "1G", "2G", "4G", "8G", "16G"]
        self.w_ram = W.Dropdown(options=options + ([ram] if ram not in options else []),
                                value=ram, description="RAM")
        self.w_cmdline = W.Text(value=self.k.cmdline, description="cmdline",
                                placeholder="mem=512M vmalloc=256M cma=64M",
                                layout=W.Layout(width="60%"))
        self.w_view = W.Dropdown(options=["memblock", "memory map", "address space"],
                                 value="memblock", description=_("view"))
        self.btn_boot = W.Button(description=_("boot"), button_style="primary")
        self.on_click(self.btn_boot, self.boot)
        self.on_change(self.w_view, self.refresh)
        return W.VBox([W.HBox([self.w_profile, self.w_ram, self.w_view]),
                       W.HBox([self.w_cmdline, self.btn_boot])])

    @staticmethod
    def _ram_text(ram: int) -> str:
        return f"{ram >> 20}M" if ram < 1 << 30 or ram % (1 << 30) else f"{ram >> 30}G"

    def _restore(self, snap):
        super()._restore(snap)
        # back/forward/undo/reset change the booted kernel: the controls follow it
        ram = self._ram_text(self.k.ram)
        if ram not in self.w_ram.options:
            self.w_ram.options = list(self.w_ram.options) + [ram]
        self.w_ram.value = ram
        if self.k.profile.name in self.w_profile.options:
            self.w_profile.value = self.k.profile.name
        self.w_cmdline.value = self.k.cmdline

    def boot(self, cmdline: str | None = None):
        if cmdline is not None:
            self.w_cmdline.value = cmdline
        version, arch = self.w_profile.value.split("/")

        def run():
            # the notebook's kernel object becomes the new boot
            boot = self.booted(version=version, arch=arch, ram=self.w_ram.value,
                               cmdline=self.w_cmdline.value, cpus=self.k.nr_cpus)
            if isinstance(boot, bytes):
                self.k.restore_frozen(boot)
            else:
                self.k.restore(boot)
        r = self.act(f"boot {self.w_profile.value} {self.w_cmdline.value!r}", run)
        self.last_mark = 0
        self.refresh(redraw=False)
        return r

    BOOTS_KEPT = 2   # fresh boots kept, newest last (going back and forth between two)

    def booted(self, **kw):
        """A freshly booted kernel for these arguments: its :meth:`Kernel.frozen_state`
        bytes (a kernel pickle cannot copy: the kernel itself). A boot is deterministic
        (the same arguments give the same machine, byte for byte), and a restore copies
        what it is given, so the last few boots are kept and handed out again; kept as
        bytes, handing one out again is one unpickling (64 GiB: 12 ms instead of 34)."""
        key = tuple(sorted(kw.items()))
        boots = self._boots
        k = boots.pop(key, None)
        if k is None:
            k = make_kernel(**kw)
            try:
                k = k.frozen_state()
            except Exception:  # noqa: BLE001 - anything pickle refuses: keep the kernel
                pass
        boots[key] = k
        while len(boots) > self.BOOTS_KEPT:
            del boots[next(iter(boots))]
        return k

    def frame(self):
        view = self.w_view.value
        k = self.k
        if view == "memblock":
            # kept across boots, in the layout of its first draw
            return self.kept("memblock", lambda: P.memblock(k),
                             lambda fig: P.update_memblock(fig, k))
        if view == "memory map":
            return memory_map_frame(self)
        return self.kept("space", lambda: P.address_space(k),
                         lambda fig: P.update_address_space(fig, k))

    def figure(self):
        view = self.w_view.value
        if view == "memblock":
            return P.memblock(self.k)
        if view == "memory map":
            return P.memory_map(self.k, ax=self.axes("map", MAP_FIGSIZE))
        return P.address_space(self.k)

    def why_text(self):
        lines = [r.name + f": {fmt_bytes(r.size)} at {r.base:#x}"
                 for r in self.k.memblock.reservations_sorted()]
        return ("<b>memblock reservations</b> (never reach the buddy allocator)"
                + "<ul style='margin:0'>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines)
                + "</ul>")


# ----------------------------------------------------------------------------- malloc
class MallocExplorer(Explorer):
    """malloc/free in a user process: chunks, bins, the why of each call."""

    title = "malloc explorer"
    tooltip = f"user-space malloc {ZH['malloc']}"

    def init_state(self):
        self.state["ptrs"] = []
        self.proc = None
        self.proc = self.k.spawn("app")
        if self.proc is None:   # execve refused: no memory for the process (ENOMEM)
            from ..user.malloc import GlibcMalloc
            self.state["malloc"] = GlibcMalloc()

    def _restore(self, snap):
        super()._restore(snap)
        if self.proc is not None:
            # the kernel's snapshot holds its own copy of the process: use that one, so that
            # undo after the process was killed brings it back, heap and all
            self.proc = self.k.user.processes.get(self.proc.pid, self.proc)

    def target(self):
        return self.proc if self.proc is not None else self.state["malloc"]

    def controls(self):
        self.w_size = W.IntSlider(value=24, min=1, max=256 * 1024, description=_("size (B)"),
                                  continuous_update=False)
        self.btn_malloc = W.Button(description="malloc", button_style="primary")
        self.btn_free = W.Button(description=_("free last"))
        self.btn_free_first = W.Button(description=_("free oldest"))
        self.btn_double = W.Button(description=_("free last twice"), button_style="danger")
        self.on_click(self.btn_malloc, self.malloc)
        self.on_click(self.btn_free, lambda: self.free(-1))
        self.on_click(self.btn_free_first, lambda: self.free(0))
        self.on_click(self.btn_double, self.double_free)
        self.note = W.HTML("" if self.proc is not None else _na(
            "user processes", "k.spawn; a stand-alone glibc malloc model is shown, with no "
            "kernel pages behind it"))
        return W.VBox([W.HBox([self.w_size, self.btn_malloc, self.btn_free,
                               self.btn_free_first, self.btn_double]), self.note])

    def _ended(self) -> bool:
        """True (and say so) when the process has been killed: nothing more to call."""
        if self.proc is None or self.proc.alive:
            return False
        self.message.value = (f"the process {html.escape(self.proc.comm)}[{self.proc.pid}] "
                              f"was killed by {html.escape(self.proc.term_signal or 'a signal')}"
                              ": <b>undo</b> brings it back, <b>reset</b> starts over")
        return True

    def _call(self, label, fn):
        if self._ended():
            return None

        def run():
            try:
                return fn()
            except USER_DEATHS:
                self.state["ptrs"] = []   # the process and every pointer into it are gone
                raise
        return self.act(label, run)

    def malloc(self, size: int | None = None):
        size = self.w_size.value if size is None else size

        def run():
            p = self.target().malloc(size)
            if p:
                self.state["ptrs"].append(p)
            return p
        return self._call(f"malloc({size})", run)

    def free(self, which: int = -1):
        if self._ended():
            return None
        if not self.state["ptrs"]:
            self.message.value = "nothing malloc'ed yet"
            return

        def run():
            p = self.state["ptrs"][which]
            self.target().free(p)
            self.state["ptrs"].remove(p)
        return self._call("free", run)

    def double_free(self):
        if self._ended():
            return None
        if not self.state["ptrs"]:
            self.message.value = "malloc something first"
            return
        p = self.state["ptrs"][-1]
        with self.one_frame():
            self.free(-1)
            return self._call("free again", lambda: self.target().free(p))

    # room for all of heap()'s boxes (max_chunks=40: four rows of ten), so the picture
    # keeps its size while the heap grows
    BOX_ROWS = 4

    def frame(self):
        return self.kept("heap", lambda: P.heap(self.target(), box_rows=self.BOX_ROWS),
                         lambda fig: P.update_heap(fig, self.target()))

    def figure(self):
        return P.heap(self.target(), box_rows=self.BOX_ROWS)

    def why_text(self):
        m = P.misc.find_malloc(self.target())
        events = getattr(m, "events", [])
        if not events:
            return "<i>no call yet</i>"
        return "<ol style='margin:0'>" + "".join(
            f"<li><code>{html.escape(e.call)}</code>: "
            f"{html.escape(e.why.removeprefix(e.call + ': '))}</li>"   # not "free: free: …"
            for e in events[-5:]) + "</ol>"


# ----------------------------------------------------------------------------- compare
class CompareKernels(Explorer):
    """The same experiment on two kernel versions side by side (3.15 vs 6.12)."""

    title = "Compare kernels"
    tooltip = "the document's Linux 3.15 next to a modern kernel"

    def __init__(self, k=None, k2=None, **kw):
        self.k2 = k2 if k2 is not None else make_kernel(version=DEFAULT_VERSION, **{
            key: v for key, v in kw.items() if key != "version"})
        if k is None:
            k = make_kernel(version=DOCUMENT_VERSION, **{key: v for key, v in kw.items()
                                               if key != "version"})
        self._drawn = None    # (experiment, n) the kept figure shows
        super().__init__(k)

    def _snap(self):
        return (freeze(self.k), copy.deepcopy(self.state), freeze(self.k2))

    def fingerprint(self) -> tuple:
        return super().fingerprint() + kernel_fingerprint(self.k2)

    def _restore(self, snap):
        super()._restore(snap[:2])
        self.k2.restore(thaw(snap[2]))

    def controls(self):
        self.w_exp = W.Dropdown(options=["kmalloc(size)", "alloc_pages(order)",
                                         "kmem_cache_create(size)"], value="kmalloc(size)",
                                description=_("experiment"))
        self.w_n = W.IntSlider(value=100, min=1, max=8192, description=_("size (B)"),
                               continuous_update=False)
        self.btn_run = W.Button(description=_("run on both"), button_style="primary")
        self.on_click(self.btn_run, self.run)
        self._last_n = {}
        self._exp_shown = self.w_exp.value
        self.on_change(self.w_exp, self.switch_experiment)
        self.on_change(self.w_exp, self.update_labels)   # the table names the experiment
        self.on_change(self.w_n, self.update_labels)
        self.table = W.HTML()
        return W.VBox([W.HBox([self.w_exp, self.w_n, self.btn_run]), self.table])

    # slider kind, range and start value per experiment: a size is not an order (an
    # order-3000 request came from a kmalloc size left on the slider); orders go one past
    # the largest, where the kernel warns and returns NULL
    RANGES = {"kmalloc(size)": ("size", 1, 8192, 100),
              "alloc_pages(order)": ("order", 0, 12, 3),
              "kmem_cache_create(size)": ("size", 8, 8192, 200)}

    def switch_experiment(self):
        """Sizes carry over between the size experiments; an order is kept apart."""
        old_kind = self.RANGES[self._exp_shown][0]
        self._last_n[old_kind] = self.w_n.value
        exp = self._exp_shown = self.w_exp.value
        kind, lo, hi, start = self.RANGES[exp]
        value = min(max(self._last_n.get(kind, start), lo), hi)
        s = self.w_n
        s.min, s.max = min(s.min, lo), max(s.max, hi)   # widen first: value stays valid
        s.value = value
        s.min, s.max = lo, hi
        s.description = _("order") if kind == "order" else _("size (B)")

    def run(self, experiment: str | None = None, n: int | None = None):
        exp = self.w_exp.value if experiment is None else experiment
        n = self.w_n.value if n is None else n
        results = {}

        def one(k):
            if exp.startswith("kmalloc"):
                p = k.kmalloc(n, "GFP_KERNEL", caller="compare")
                c = k.kmalloc_cache(n)
                return (c.name if c else "pages", p)
            if exp.startswith("alloc_pages"):
                page = k.alloc_pages("GFP_KERNEL", n)   # above the largest: WARN + NULL
                return (page.zone if page else "-", page.pfn if page else None)
            c = k.kmem_cache_create(f"cmp_{n}", n)
            return (c.name, c.objs_per_slab)

        def run():
            for k in (self.k, self.k2):
                results[k.profile.name] = one(k)
            self.state["last"] = (exp, n, results)
            return results
        return self.act(f"{exp} n={n}", run)

    def figure(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        fig = Figure(figsize=(12, 4.2), layout="constrained")
        FigureCanvasAgg(fig)
        a, b = fig.subplots(1, 2)
        exp = self.state.get("last", ("kmalloc(size)", 100, {}))
        for ax, k in ((a, self.k), (b, self.k2)):
            if exp[0].startswith("alloc_pages"):
                P.buddyinfo(k, ax=ax)
                ax.set_title(f"{k.profile.name}: /proc/buddyinfo", fontsize=9)
            elif exp[0].startswith("kmalloc") and k.kmalloc_cache(min(exp[1], 8192)):
                c = k.kmalloc_cache(min(exp[1], 8192))
                P.slab(k, c, ax=ax, max_slabs=4, legend=False,
                       title=f"{k.profile.name}: kmalloc({exp[1]}) → {c.name}, "
                             f"{c.objs_per_slab} objs/order-{c.order} slab")
            else:
                P.slabinfo(k, ax=ax, top=10)
                ax.set_title(f"{k.profile.name}: slabinfo", fontsize=9)
        self._drawn = exp[:2]
        return fig

    def frame(self):
        """kmalloc on both: the two slab panels are kept and updated in place."""
        exp = self.state.get("last", ("kmalloc(size)", 100, {}))
        caches = [k.kmalloc_cache(min(exp[1], 8192)) if exp[0].startswith("kmalloc")
                  else None for k in (self.k, self.k2)]
        if not all(caches):
            return super().frame()

        def update(fig):
            if self._drawn != exp[:2]:
                return None
            changed = []
            for ax, k, c in zip(fig.axes, (self.k, self.k2), caches):
                got = P.update_slab(fig, k, c, ax=ax)
                if got is None:
                    return None
                changed += got
            return changed
        return self.kept("kmalloc", self.figure, update)

    def why_text(self):
        out = []
        for k in (self.k, self.k2):
            ev = k.trace.last
            if ev is not None:
                out.append(f"<li><b>{k.profile.name}</b> <code>{html.escape(ev.name)}</code>: "
                           f"{html.escape(ev.why)}</li>")
        return "<ul style='margin:0'>" + "".join(out) + "</ul>" if out else "<i>no step</i>"

    def head_html(self):
        k2 = getattr(self, "k2", None)
        other = f" vs {html.escape(k2.profile.name)}" if k2 is not None else ""
        return (f"<b>{html.escape(self.title)}</b> — {html.escape(self.k.profile.name)}"
                f"{other}, {self.k.ram >> 20} MiB")

    def _order(self, k, n: int) -> int:
        return min(n, k.profile.nr_page_orders - 1)

    def update_labels(self):
        """The table under the controls describes the experiment chosen (and its result
        once it has run on both kernels)."""
        exp, n = self.w_exp.value, self.w_n.value
        last = self.state.get("last")
        done = last[2] if last is not None and last[:2] == (exp, n) else {}
        kernels = (self.k, self.k2)
        pending = "<i>run on both</i>"
        if exp.startswith("kmalloc"):
            caption = f"kmalloc({n}, GFP_KERNEL)"
            head = "kmalloc cache", "objs/slab", "order"
            rows = []
            for k in kernels:
                c = k.kmalloc_cache(min(n, 8192))
                rows.append((k.profile.name, c.name if c else "- (pages: kmalloc_large)",
                             c.objs_per_slab if c else "-", c.order if c else "-"))
        elif exp.startswith("alloc_pages"):
            caption = f"alloc_pages(GFP_KERNEL, {n})"
            head = ("zone", "pfn", "block")
            rows = []
            for k in kernels:
                o = self._order(k, n)
                size = (f"order {n}: {1 << n} pages ({fmt_bytes((1 << n) * k.PAGE_SIZE)})"
                        if o == n else f"order {n} is above the largest order {o}: the "
                        "kernel warns and returns NULL")
                res = done.get(k.profile.name)
                zone = html.escape(str(res[0])) if res else pending
                pfn = (f"{res[1]:#x}" if res[1] is not None else "NULL") if res else "-"
                rows.append((k.profile.name, zone, pfn, size))
        else:
            caption = f'kmem_cache_create("cmp_{n}", {n})'
            head = ("objs/slab", "order", "slot size")
            rows = []
            for k in kernels:
                c = k.slab_caches.get(f"cmp_{n}") if done else None
                rows.append((k.profile.name, c.objs_per_slab if c else pending,
                             c.order if c else "-", fmt_bytes(c.slab_size) if c else "-"))
        cell = "padding:0 8px 0 0;text-align:left"
        th = "".join(f"<th style='{cell}'>{html.escape(h)}</th>" for h in ("kernel", *head))
        body = "".join("<tr>" + "".join(f"<td style='{cell}'>{c}</td>" for c in r) + "</tr>"
                       for r in rows)
        self.table.value = (f"<table style='font-size:11px'><caption style='text-align:left'>"
                            f"experiment: <b><code>{html.escape(caption)}</code></b> on both "
                            f"kernels</caption><tr>{th}</tr>{body}</table>")
