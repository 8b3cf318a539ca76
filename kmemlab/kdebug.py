"""Kernel debugging reports: kmemleak, KASAN, slub_debug red zones and poisoning.

Turned on like in a real kernel, on the command line::

    k = km.Kernel(version="6.12", cmdline="kmemleak=on kasan=on slub_debug=FZPU")

* kmemleak (mm/kmemleak.c): every slab object is tracked with the Python call
  stack that allocated it. ``k.kmemleak_scan()`` marks what is reachable from the
  roots (kernel globals, module globals) through the references a learner records
  with ``k.store(ptr, into=...)``; the rest is reported as
  ``unreferenced object 0x… (size N):`` with its backtrace. (``kasan=on`` is a
  kmemlab switch: in a real kernel KASAN is the build option CONFIG_KASAN.)
* KASAN (mm/kasan/report.c, generic mode): ``k.read(addr, n)`` / ``k.write(addr, n)``
  check that the bytes belong to a live allocation: ``slab-out-of-bounds``,
  ``use-after-free`` (6.12: ``slab-use-after-free``), with the allocation and free
  stacks. Linux 3.15 has no KASAN (it arrived in 4.0).
* slub_debug (mm/slub.c: check_object, check_bytes_and_report): with ``Z`` a write
  past the requested size lands in the red zone and is reported when the object is
  freed (``Right Redzone overwritten``, 3.15 ``Redzone overwritten``; the object is
  not freed); with ``P`` a write to a freed object is reported when the object is
  allocated again (``Poison overwritten``), after which SLUB restores the poison.
* A NULL (or ZERO_SIZE_PTR) access is an oops; in interrupt context the kernel
  panics (``Fatal exception in interrupt``).

Memory contents are not modelled, only which bytes are valid.
"""

from __future__ import annotations

import inspect
import os

from . import report
from .errors import KernelPanic, Oops, OutOfBounds, UseAfterFree
from .trace import call_site_address

_PKG = os.path.dirname(os.path.abspath(__file__))
_SKIP = frozenset({"<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>"})
POISON_FREE = 0x6B
SLUB_RED_ACTIVE = 0xCC


def _third_party_dirs() -> tuple[str, ...]:
    """The standard library and every site-packages directory (ipywidgets, traitlets,
    ipykernel, pytest...): code there is never the learner's."""
    import site
    import sysconfig
    dirs = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib", "scripts"):
        d = sysconfig.get_paths().get(key)
        if d:
            dirs.add(d)
    try:
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except AttributeError:  # pragma: no cover - a virtualenv without these
        pass
    return tuple(sorted(os.path.join(os.path.abspath(d), "") for d in dirs if d))


_THIRD_PARTY = _third_party_dirs()
_PKG_SLASH = os.path.join(_PKG, "")


_LEARNER_CACHE: dict = {}


def is_learner_frame(code) -> bool:
    """Whether a frame (its code object) belongs to the learner, for the stacks and call
    sites the simulator reports: not kmemlab itself (nor the widgets built on it), not the
    standard library or anything installed in site-packages (ipywidgets, traitlets,
    ipykernel, pytest), not a comprehension's anonymous frame. Notebook cells, scripts and
    test files are the learner's. Cached per code object: it runs on every allocation."""
    known = _LEARNER_CACHE.get(code)
    if known is None:
        known = _LEARNER_CACHE[code] = _is_learner_code(code)
    return known


def _is_learner_code(code) -> bool:
    name = code.co_filename
    if code.co_name in _SKIP or name.startswith("<frozen"):
        return False
    if name.startswith(_PKG_SLASH) or name == _PKG:
        return False
    if "/site-packages/" in name or "/dist-packages/" in name:
        return False
    # platstdlib may be a parent of site-packages (a venv): site-packages is handled above
    return not any(name.startswith(d) for d in _THIRD_PARTY)


# id(code object) -> the call site it names ("" for kmemlab's own frames and
# third-party code): what Kernel.caller_label finds, looked up once per code object.
# Keyed by id because a code object's hash is not cached (it hashes its names and
# constants on every lookup: a third of call_site's cost); _CODES keeps each code
# object alive, so its id stays its own. The public entry points look their caller up
# here themselves and call call_site() only for a code object not seen yet, or not a
# learner's (one call less per kmalloc, kfree or alloc_pages).
CALL_SITES: dict[int, str] = {}
_CODES: dict[int, object] = {}
# CALL_SITES.get, for the entry points: CPython 3.11 compiles ``name.get(...)`` for a
# name a module imported as an attribute load and a call (it takes the name for a
# module), not as the method call it makes of its own globals: 30 ns more per lookup
known_call_site = CALL_SITES.get


def call_site(frame) -> str:
    """The call site ``Kernel.caller_label`` reports for a call made from ``frame``:
    the first learner's frame (:func:`kmemlab.kdebug.is_learner_frame`) from
    ``frame`` out, ``notebook_cell`` for a notebook's top level. Each code object's
    answer is looked up once, so the common case (``frame`` is the learner's, and
    Python already has its frame object) costs one dict lookup: the public
    kmalloc/kfree forwarders pass ``sys._getframe(1)``, never a deeper frame, because
    every frame Python must materialise costs more than the rest of a kfree."""
    sites = CALL_SITES
    f = frame
    while f is not None:
        code = f.f_code
        site = sites.get(id(code))
        if site is None:
            site = sites[id(code)] = ("notebook_cell" if code.co_name == "<module>"
                                      else code.co_name) if is_learner_frame(code) else ""
            _CODES[id(code)] = code
        if site:
            return site
        f = f.f_back
    return "<unknown>"


def python_stack(limit: int = 6) -> list[tuple[str, int]]:
    """The learner's call stack (function, line), innermost first (see
    :func:`is_learner_frame`)."""
    out = []
    f = inspect.currentframe()
    try:
        while f is not None and len(out) < limit:
            if is_learner_frame(f.f_code):
                out.append((f.f_code.co_name, f.f_lineno))
            f = f.f_back
    finally:
        del f
    return out


class Track:
    """struct track / kasan_track: who allocated or freed an object, and when."""

    __slots__ = ("pid", "comm", "cpu", "when", "stack", "api")

    def __init__(self, k, api: str) -> None:
        t = k.current_task
        self.pid, self.comm, self.cpu = t.pid, t.comm, k.current_cpu
        self.when = k.clock_ns
        self.stack = python_stack()
        self.api = api


class TrackedObject:
    """One slab (or kmalloc_large) object the debug features follow."""

    __slots__ = ("addr", "size", "slot", "cache", "alloc", "free", "module", "redzone_bad",
                 "poison_bad", "reported", "not_leak")

    def __init__(self, addr: int, size: int, slot: int, cache: str, alloc: Track,
                 module: str | None) -> None:
        self.addr, self.size, self.slot, self.cache = addr, size, slot, cache
        self.alloc = alloc
        self.free: Track | None = None
        self.module = module
        self.redzone_bad: tuple[int, int, int] | None = None   # (offset, end, byte)
        self.poison_bad: tuple[int, int, int] | None = None
        self.reported = False
        self.not_leak = False


class KModule:
    """A scripted kernel module: a name, its globals (kmemleak roots), its allocations.

    ``with mod:`` attributes allocations to the module (backtraces show ``[name]``);
    ``mod.globals["buf"] = ptr`` (or ``k.store(ptr, into=mod)``) keeps an object
    reachable; ``mod.unload()`` (delete_module) drops the globals, so what only they
    referenced becomes a leak at the next scan, and reports what the module left.
    """

    def __init__(self, k, name: str) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a module name is an identifier like 'mydrv', not {name!r}")
        self.k, self.name = k, name
        self.globals: dict[str, int] = {}
        self.loaded = True

    def __enter__(self) -> KModule:
        if not self.loaded:
            raise ValueError(f"module {self.name} is unloaded")
        self.k.debug.module_stack.append(self.name)
        return self

    def __exit__(self, *exc) -> bool:
        self.k.debug.module_stack.pop()
        return False

    def unload(self) -> list[TrackedObject]:
        """delete_module → free_module: the module's globals disappear.

        Returns the module's allocations still live, after logging a leak report.
        """
        return self.k.debug.module_unload(self)

    def __repr__(self) -> str:
        return f"<KModule {self.name}{'' if self.loaded else ' (unloaded)'}>"


class DebugState:
    """kmemleak + KASAN + slub_debug state, kept on the kernel as ``k.debug``."""

    def __init__(self, k) -> None:
        self.k = k
        params = k.cmdline_params
        self.kmemleak = params.get("kmemleak") == "on"
        kasan = params.get("kasan")
        if kasan == "on" and not k.profile.kasan_supported:
            raise ValueError(f"kasan=on: KASAN arrived in Linux 4.0; the {k.profile.version} "
                             "profile has only "
                             "slub_debug (use slub_debug=FZPU)")
        self.kasan = kasan == "on"
        self.slub_debug = ""
        if "slub_debug" in params:
            val = params["slub_debug"] or "FZPU"
            flags = val.split(",")[0].upper()
            bad = set(flags) - set("FZPUT-")
            if bad:
                raise ValueError(f"slub_debug={val}: unknown option(s) {''.join(sorted(bad))}; "
                                 "use letters from F Z P U T")
            self.slub_debug = "" if flags == "-" else flags
        self.objects: dict[int, TrackedObject] = {}    # live, by address
        self.freed: dict[int, TrackedObject] = {}      # last free of each address
        self.refs: dict[object, dict[str, int]] = {}   # holder -> {field: ptr}
        self.modules: dict[str, KModule] = {}
        self.module_stack: list[str] = []
        self.leaks_reported = 0

    @property
    def tracking(self) -> bool:
        return bool(self.kmemleak or self.kasan or self.slub_debug)

    # ------------------------------------------------------------ hooks from slub.py
    def on_alloc(self, addr: int, size: int, slot: int, cache: str, api: str) -> None:
        """Called by SLUB after an object was handed out (slab_post_alloc_hook)."""
        if not self.tracking:
            return
        old = self.freed.pop(addr, None)
        obj = TrackedObject(addr, size, slot, cache, Track(self.k, api),
                            self.module_stack[-1] if self.module_stack else None)
        self.objects[addr] = obj
        if old is not None and old.poison_bad is not None and "P" in self.slub_debug:
            self._report_poison(old, obj)

    def on_free(self, addr: int, api: str) -> None:
        """Called by SLUB before an object is freed (slab_free_hook / free_debug_processing).

        With slub_debug red zones a corrupted red zone is reported here and the free
        is refused (KernelBug, the object stays allocated)."""
        obj = self.objects.get(addr)
        if obj is None:
            return
        if obj.redzone_bad is not None and "Z" in self.slub_debug:
            self._report_redzone(obj, api)
        del self.objects[addr]
        obj.free = Track(self.k, api)
        self.freed[addr] = obj
        self.refs.pop(addr, None)

    # ------------------------------------------------------------ references
    def store(self, ptr, into, field: str) -> None:
        holder = self._holder(into)
        if ptr is None or ptr == 0:
            self.refs.get(holder, {}).pop(field, None)
            return
        if isinstance(ptr, bool) or not isinstance(ptr, int):
            raise TypeError(f"store() takes a pointer (int), not {type(ptr).__name__}")
        self.refs.setdefault(holder, {})[field] = ptr
        if isinstance(into, KModule):
            into.globals[field] = ptr

    def _holder(self, into):
        if into is None or into == "global":
            return "global"
        if isinstance(into, KModule):
            return ("module", into.name)
        if isinstance(into, str):
            return ("global", into)
        if isinstance(into, bool) or not isinstance(into, int):
            raise TypeError("into= is an object address (int), a module from k.kmodule(), "
                            f"or 'global'; not {type(into).__name__}")
        if into not in self.objects:
            raise ValueError(f"into={into:#x} is not a live tracked object; store the pointer "
                             "in an object you allocated, a module, or 'global'")
        return into

    # ------------------------------------------------------------ kmemleak
    def scan(self) -> list[TrackedObject]:
        """mm/kmemleak.c: kmemleak_scan: mark from the roots, report what is left."""
        if not self.kmemleak:
            raise ValueError("kmemleak is off: boot with cmdline='kmemleak=on' "
                             "(CONFIG_DEBUG_KMEMLEAK with kmemleak=on)")
        k = self.k
        gray = []
        for holder, fields in self.refs.items():
            if holder == "global" or (isinstance(holder, tuple) and (
                    holder[0] == "global" or self._module_loaded(holder[1]))):
                gray += fields.values()
        for mod in self.modules.values():
            if mod.loaded:
                gray += mod.globals.values()
        black: set[int] = set()
        while gray:
            ptr = gray.pop()
            obj = self._object_of(ptr)
            if obj is None or obj.addr in black:
                continue
            black.add(obj.addr)
            gray += self.refs.get(obj.addr, {}).values()
        leaks = [o for a, o in sorted(self.objects.items())
                 if a not in black and not o.not_leak]
        new = [o for o in leaks if not o.reported]
        for o in new:
            o.reported = True
            for line in self.leak_lines(o):
                k.printk("kmemleak: " + line if line.startswith("unreferenced") else line)
        if new:
            k.printk(f"kmemleak: {len(new)} new suspected memory leaks (see "
                     "/sys/kernel/debug/kmemleak)")
            self.leaks_reported += len(new)
        k.trace.emit("kmemleak_scan", f"kmemleak scanned {len(self.objects)} objects from the "
                     f"roots (globals, module globals, stored references): {len(leaks)} "
                     "unreferenced", objects=len(self.objects), leaks=len(leaks))
        return leaks

    def _module_loaded(self, name: str) -> bool:
        m = self.modules.get(name)
        return m is not None and m.loaded

    def _object_of(self, ptr: int) -> TrackedObject | None:
        """kmemleak follows pointers to anywhere inside an object."""
        obj = self.objects.get(ptr)
        if obj is not None:
            return obj
        for o in self.objects.values():
            if o.addr <= ptr < o.addr + o.size:
                return o
        return None

    def leak_lines(self, o: TrackedObject) -> list[str]:
        """mm/kmemleak.c: print_unreferenced, in the version's format."""
        k = self.k
        style = k.profile.kmemleak_report
        jiffies = 4294937296 + o.alloc.when // 4_000_000   # INITIAL_JIFFIES, HZ=250
        age_ns = k.clock_ns - o.alloc.when
        lines = [f"unreferenced object 0x{o.addr:08x} (size {o.size}):"]
        if style == "age":
            lines.append(f'  comm "{o.alloc.comm}", pid {o.alloc.pid}, jiffies {jiffies} '
                         f"(age {age_ns // 1_000_000_000}.{age_ns // 1_000_000 % 1000:03d}s)")
            lines.append("  hex dump (first 32 bytes):")
        else:
            lines.append(f'  comm "{o.alloc.comm}", pid {o.alloc.pid}, jiffies {jiffies}')
            lines.append(f"  hex dump (first {min(32, o.size)} bytes):")
        lines.append("    (contents are not modelled)")
        frames = self._frames(o.alloc, o.module)
        if style == "crc":
            lines.append("  backtrace (crc 0):")
            lines += [f"    {f}" for _a, f in frames]
        else:
            lines.append("  backtrace:")
            lines += [f"    [<{a:016x}>] {f}" for a, f in frames]
        return lines

    def _frames(self, t: Track, module: str | None) -> list[tuple[int, str]]:
        """The allocation backtrace: the kernel API, then the learner's Python frames.

        Offsets are the Python line numbers (``func+0x<line>``)."""
        out = [(call_site_address(t.api), f"{t.api}+0x0/0x0")]
        for i, (fn, line) in enumerate(t.stack):
            mod = f" [{module}]" if module and i == 0 else ""
            out.append((call_site_address(fn), f"{fn}+0x{line:x}/0x{line + 0x40:x}{mod}"))
        return out

    def module_unload(self, mod: KModule) -> list[TrackedObject]:
        k = self.k
        if not mod.loaded:
            raise ValueError(f"module {mod.name} is not loaded")
        mod.loaded = False
        mod.globals.clear()
        self.refs.pop(("module", mod.name), None)
        left = [o for _a, o in sorted(self.objects.items()) if o.module == mod.name]
        why = (f"module {mod.name} unloaded with {len(left)} allocation(s) still live: nothing "
               "can free them any more (rule: kfree what you kmalloc)")
        if left:
            total = sum(o.size for o in left)
            k.printk(f"kmemlab: {mod.name}: {len(left)} object(s) ({total} bytes) allocated by "
                     "the module were never freed:")
            for o in left:
                k.printk(f"kmemlab:   0x{o.addr:016x} size {o.size} ({o.cache}) allocated at "
                         + " <- ".join(f for f, _l in o.alloc.stack[:3]))
            if self.kmemleak:
                k.printk("kmemlab: why: the module's globals are gone; the next kmemleak scan "
                         "reports every object only they referenced")
        k.trace.emit("module_free", why if left else f"module {mod.name} unloaded cleanly",
                     name=mod.name, leaked=len(left))
        return left

    # ------------------------------------------------------------ access checks
    def access(self, addr: int, n: int, write: bool, value: int) -> None:
        """Check an access of ``n`` bytes at ``addr`` (KASAN's check_region_inline)."""
        k = self.k
        if addr < k.PAGE_SIZE:
            self._null_deref(addr, write)
        obj, kind = self._locate(addr)
        if obj is None:
            return
        if kind == "ok" and addr + n <= obj.addr + obj.size:
            return
        if kind == "ok":      # past the requested size
            if self.kasan:
                self._kasan_report(addr, n, write, obj, "slab-out-of-bounds")
            large = obj.cache.startswith("kmalloc_large")
            if write and "Z" in self.slub_debug and obj.redzone_bad is None and not large:
                # 6.2+ also red-zones kmalloc's [requested, object_size) (orig_size)
                kmalloc_rz = k.profile.slub_kmalloc_redzone and \
                    obj.cache.startswith("kmalloc")
                limit = obj.size if kmalloc_rz else obj.slot
                if addr + n > obj.addr + limit:
                    start = max(addr, obj.addr + limit) - obj.addr
                    obj.redzone_bad = (start, addr + n - obj.addr, value & 0xFF)
            return
        # freed object
        if self.kasan:
            bug = k.profile.kasan_uaf_name
            self._kasan_report(addr, n, write, obj, bug)
        if write and "P" in self.slub_debug and obj.poison_bad is None and \
                not obj.cache.startswith("kmalloc_large"):
            off = addr - obj.addr
            obj.poison_bad = (off, min(off + n, obj.size), value & 0xFF)

    def _locate(self, addr: int):
        for table, kind in ((self.objects, "ok"), (self.freed, "freed")):
            obj = table.get(addr)
            if obj is not None:
                return obj, kind
        best = None
        for table, kind in ((self.objects, "ok"), (self.freed, "freed")):
            for o in table.values():
                if o.addr <= addr < o.addr + o.slot and (best is None or o.addr > best[0].addr):
                    best = (o, kind)
        if best is not None:
            return best
        # just past the end of a slot: the next slot's left red zone
        for o in self.objects.values():
            if o.addr + o.size <= addr < o.addr + o.slot + 8:
                return o, "ok"
        return None, None

    def _null_deref(self, addr: int, write: bool) -> None:
        k = self.k
        fn = python_stack(1)
        where = fn[0][0] if fn else "<module>"
        if k.profile.oops_unable_to_handle_null:
            lines = [f"BUG: unable to handle kernel NULL pointer dereference at "
                     f"{addr:016x}",
                     f"IP: [<{call_site_address(where):016x}>] {where}+0x0/0x0",
                     f"Oops: {0x0002 if write else 0x0000:04x} [#1] SMP"]
        else:
            lines = [f"BUG: kernel NULL pointer dereference, address: {addr:016x}",
                     f"#PF: supervisor {'write' if write else 'read'} access in kernel mode",
                     "#PF: error_code(0x0002) - not-present page" if write else
                     "#PF: error_code(0x0000) - not-present page",
                     f"Oops: {0x0002 if write else 0x0000:04x} [#1] PREEMPT SMP NOPTI"]
        lines += [report.cpu_line(k), f"RIP: 0010:{where}+0x0/0x0"]
        why = ("kmemlab: why: the pointer is NULL (or ZERO_SIZE_PTR from kmalloc(0)); the "
               "allocation failed and its result was not checked (rule: check kmalloc's "
               "return value for NULL)")
        in_irq = k.context_stack.in_interrupt()
        for line in lines:
            k.printk(line)
        k.printk(why)
        if in_irq:
            k.printk("Kernel panic - not syncing: Fatal exception in interrupt")
            k.printk("---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---")
            exc = KernelPanic(f"NULL pointer dereference at {addr:#x} in interrupt context",
                              lines + [why])
            k.panicked = exc
            raise exc
        raise Oops(f"NULL pointer dereference at {addr:#x}", lines + [why])

    def _kasan_report(self, addr: int, n: int, write: bool, obj: TrackedObject,
                      bug: str) -> None:
        """mm/kasan/report.c: print_report (generic mode)."""
        k = self.k
        t = k.current_task
        fn = python_stack(1)
        where = fn[0][0] if fn else "<module>"
        lines = ["=" * 66, f"BUG: KASAN: {bug} in {where}+0x0/0x0",
                 f"{'Write' if write else 'Read'} of size {n} at addr {addr:016x} by task "
                 f"{t.comm}/{t.pid}", "",
                 report.cpu_line(k, "Tainted: G    B             "), "Call Trace:",
                 *report.call_trace(k, ["dump_stack_lvl", "print_report", "kasan_report",
                                        where]),
                 ""]
        for track, label in ((obj.alloc, "Allocated"), (obj.free, "Freed")):
            if track is None:
                continue
            lines.append(f"{label} by task {track.pid}:")
            lines += [" kasan_save_stack", f" {track.api}"]
            lines += [f" {f}" for f, _l in track.stack]
            lines.append("")
        off_rel = addr - obj.addr
        if addr < obj.addr:
            rel = f"{obj.addr - addr} bytes to the left of"
        elif addr >= obj.addr + obj.size:
            rel = f"{addr - obj.addr - obj.size} bytes to the right of"
        else:
            rel = f"{off_rel} bytes inside of"
        state = ""
        if k.profile.kasan_object_state:
            state = "allocated " if bug == "slab-out-of-bounds" else "freed "
        lines += [f"The buggy address belongs to the object at {obj.addr:016x}",
                  f" which belongs to the cache {obj.cache} of size {obj.slot}",
                  f"The buggy address is located {rel}",
                  f" {state}{obj.size}-byte region [{obj.addr:016x}, "
                  f"{obj.addr + obj.size:016x})", "", "=" * 66]
        if bug == "slab-out-of-bounds":
            why = (f"kmemlab: why: the object has {obj.size} valid bytes (what was asked for); "
                   f"the access reaches byte {addr + n - obj.addr - 1} (KASAN poisons "
                   "everything past the requested size)")
        else:
            why = ("kmemlab: why: the object was freed"
                   + (f" by {obj.free.stack[0][0]}" if obj.free and obj.free.stack else "")
                   + "; KASAN keeps freed memory poisoned (in quarantine) to catch this")
        for line in lines:
            k.printk(line)
        k.printk(why)
        exc = OutOfBounds if "out-of-bounds" in bug else UseAfterFree
        raise exc(f"KASAN: {bug} on {'write' if write else 'read'} of {n} bytes at "
                        f"{addr:#x}", lines + [why])

    # ------------------------------------------------------------ slub_debug reports
    def _slub_header(self, cache: str, reason: str) -> list[str]:
        taint = "Not tainted" if not self.k.rules_tainted else "Tainted: G    B"
        return ["=" * 77, f"BUG {cache} ({taint}): {reason}", "-" * 77, ""]

    def _trailer(self, o: TrackedObject) -> list[str]:
        k = self.k
        info = "INFO: " if k.profile.slub_report_info_lines else ""
        out = []
        for track, what in ((o.alloc, "Allocated"), (o.free, "Freed")):
            if track is None:
                continue
            fn = track.stack[0][0] if track.stack else "<module>"
            age = (k.clock_ns - track.when) // 4_000_000
            out.append(f"{info}{what} in {fn}+0x0/0x0 age={age} cpu={track.cpu} "
                       f"pid={track.pid}")
        out.append(f"{info}Object 0x{o.addr:016x} @offset={o.addr & (k.PAGE_SIZE - 1)}")
        return out

    def _report_redzone(self, o: TrackedObject, api: str) -> None:
        """mm/slub.c: free_debug_processing → check_object(SLUB_RED_ACTIVE)."""
        k = self.k
        start, end, byte = o.redzone_bad
        info_lines = k.profile.slub_report_info_lines
        if info_lines:
            what = "Redzone"
        else:
            what = "kmalloc Redzone" if start < o.slot else "Right Redzone"
        a, b = o.addr + start, o.addr + end - 1
        lines = self._slub_header(o.cache, f"{what} overwritten")
        if info_lines:
            lines.append(f"INFO: 0x{a:016x}-0x{b:016x}. First byte 0x{byte:x} instead of "
                         f"0x{SLUB_RED_ACTIVE:x}")
        else:
            lines.append(f"0x{a:016x}-0x{b:016x} @offset={start}. First byte 0x{byte:x} "
                         f"instead of 0x{SLUB_RED_ACTIVE:x}")
        lines += self._trailer(o)
        fix = "Restoring " if info_lines else f"Restoring {what} "
        lines.append(f"FIX {o.cache}: {fix}0x{a:016x}-0x{b:016x}=0x{SLUB_RED_ACTIVE:x}")
        lines.append(f"FIX {o.cache}: Object at 0x{o.addr:016x} not freed")
        why = (f"kmemlab: why: {end - o.size} byte(s) were written past the {o.size} bytes "
               f"asked for; slub_debug=Z fills that space with 0x{SLUB_RED_ACTIVE:x} and "
               f"checks it when the object is freed ({api})")
        for line in lines:
            k.printk(line)
        k.printk(why)
        k.rules_tainted = True
        o.redzone_bad = None
        raise OutOfBounds(f"{o.cache}: {what} overwritten at {a:#x}", lines + [why])

    def _report_poison(self, old: TrackedObject, new: TrackedObject) -> None:
        """mm/slub.c: alloc_debug_processing → check_object(SLUB_RED_INACTIVE)."""
        k = self.k
        start, end, byte = old.poison_bad
        a, b = old.addr + start, old.addr + end - 1
        info_lines = k.profile.slub_report_info_lines
        lines = self._slub_header(old.cache, "Poison overwritten")
        if info_lines:
            lines.append(f"INFO: 0x{a:016x}-0x{b:016x}. First byte 0x{byte:x} instead of "
                         f"0x{POISON_FREE:x}")
        else:
            lines.append(f"0x{a:016x}-0x{b:016x} @offset={start}. First byte 0x{byte:x} "
                         f"instead of 0x{POISON_FREE:x}")
        lines += self._trailer(old)
        fix = "Restoring " if info_lines else "Restoring Poison "
        lines.append(f"FIX {old.cache}: {fix}0x{a:016x}-0x{b:016x}=0x{POISON_FREE:x}")
        why = ("kmemlab: why: the object was written after it was freed; slub_debug=P fills "
               f"freed objects with 0x{POISON_FREE:x} and checks them when they are "
               "allocated again — the report comes long after the bug")
        for line in lines:
            k.printk(line)
        k.printk(why)
        k.rules_tainted = True
