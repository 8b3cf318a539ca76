"""Allocation rules: execution contexts, might_sleep, reclaim and OOM, debugging reports.

Section 4 of the source document is a list of rules — pick the GFP flags by context,
never sleep with interrupts off (the kprobe-handler panic), check for NULL, free what
you allocate. :class:`Rules` (``k.rules``; the kernel forwards its methods) gives the
calls that let a learner break each rule and see what a real kernel does:

* contexts: ``k.context("hardirq")``, ``k.spin_lock(name)``, ``k.irqs_disabled()``,
  ``k.preempt_disabled()``, ``k.kprobe_handler(symbol)``; queries ``k.in_interrupt()``,
  ``k.in_atomic()``, ``bool(k.irqs_disabled())``, ``k.in_task()``; ``k.current``;
* ``might_sleep`` (kernel/sched/core.c: __might_sleep / __might_resched) for every
  call that may sleep: allocations whose flags allow direct reclaim (page allocator,
  kmalloc, kmem_cache_alloc; vmalloc through them), ``k.mutex_lock``,
  ``k.copy_from_user``/``k.copy_to_user``; ``k.msleep`` really sleeps. The option
  ``k.kconfig["CONFIG_DEBUG_ATOMIC_SLEEP"]`` (default on) prints the report and raises
  :class:`KernelBug`; off, nothing is checked until a call really has to sleep:
  then ``BUG: scheduling while atomic`` (kernel/sched/core.c: __schedule_bug), and with
  interrupts off a hard lockup and a panic (:class:`KernelPanic`);
* memory pressure and reclaim (:mod:`kmemlab.reclaim`, :mod:`kmemlab.workload`):
  ``k.workload``, ``k.kswapd_run()``, the OOM registry ``k.register_oom_candidate``,
  ``k.proc("vmstat")``;
* debugging reports (:mod:`kmemlab.kdebug`): ``k.kmemleak_scan()``, ``k.store``,
  ``k.kmodule``, ``k.read``/``k.write`` (KASAN, slub_debug), ``k.dma_map_single``.

Every report ends with a ``kmemlab: why:`` line naming the rule it enforces, and every
state change emits a trace event whose "why" ``k.explain(event)`` returns.
"""

from __future__ import annotations

import errno
from contextlib import contextmanager

from . import procfs, report
from .context import Task
from .errors import KernelPanic, SleepInAtomic
from .kdebug import DebugState, KModule
from .profiles import MIGHT_SLEEP_KINDS, PROFILES
from .reclaim import ReclaimState, render_vmstat

# Where __might_sleep reports the call from: Profile.might_sleep_sites (file:line of
# the might_sleep()/might_fault() in the version's source). This version -> kind view
# is kept for older callers: MIGHT_SLEEP_SITES[kind][version].
MIGHT_SLEEP_SITES = {kind: {v: prof.might_sleep_sites[kind] for (v, _a), prof in PROFILES.items()}
                     for kind in MIGHT_SLEEP_KINDS}


def _site(kind: str, profile) -> tuple[str, int]:
    return profile.might_sleep_sites[kind]


class Rules:
    """The allocation rules of one kernel (``k.rules``): execution contexts, might_sleep,
    the sleeping calls, the OOM killer's registry and the debugging reports.

    Built at boot, after SLUB (``Kernel._init_rules``), with the reclaim model
    (:class:`kmemlab.reclaim.ReclaimState`, ``k.reclaim``) and the debug state
    (:class:`kmemlab.kdebug.DebugState`, ``k.debug``) it reports through. The kernel
    forwards its public methods (``k.might_sleep``, ``k.mutex_lock``, ``k.kmemleak_scan``
    ...); the page allocator and SLUB call :meth:`might_alloc` through
    ``k.might_sleep_if_alloc``.
    """

    def __init__(self, kernel, reclaim: ReclaimState, debug: DebugState) -> None:
        self.k = kernel
        self.reclaim = reclaim
        self.debug = debug
        p = kernel.profile
        self.may_block_bit = p.gfp.values[p.may_block_flag]
        self.kconfig: dict[str, bool] = {
            "CONFIG_DEBUG_ATOMIC_SLEEP": kernel.cmdline_params.get("kmemlab.debug_atomic_sleep")
            not in ("0", "off", "n") and kernel.config.get("CONFIG_DEBUG_ATOMIC_SLEEP") == "y",
        }
        # 4.14+ (Debian 6.1/6.12: =y): the BUG_ON(object == fp) double-free check in SLUB
        self.kconfig["CONFIG_SLAB_FREELIST_HARDENED"] = kernel.config.get(
            "CONFIG_SLAB_FREELIST_HARDENED") == "y"
        self.kconfig["CONFIG_KASAN"] = debug.kasan
        self.kconfig["CONFIG_DEBUG_KMEMLEAK"] = debug.kmemleak
        #: what SLUB's slab_post_alloc_hook/slab_free_hook call: the debug state while
        #: kmemleak, KASAN or slub_debug track objects, else None (no cost per object)
        self.slab_debug: DebugState | None = debug if debug.tracking else None
        #: a rules report was printed (the 'W' of the next report's "Tainted:" line)
        self.tainted = False
        self.mutexes_held: list[str] = []

    # ================================================================ contexts
    def kprobe_handler(self, symbol: str = "kprobe"):
        """``with k.kprobe_handler("do_sys_open"):`` run as a kprobe pre-handler.

        arch/x86/kernel/kprobes/core.c: kprobe_int3_handler runs the handler from the
        int3 trap with interrupts off and preemption disabled — the document's case
        where GFP_KERNEL can bring the machine down.
        """
        if not isinstance(symbol, str):
            raise TypeError(f"symbol must be a string, not {type(symbol).__name__}")
        return self.k.context_stack.entered("kprobe", symbol)

    @property
    def current(self) -> Task:
        """``current`` (arch/x86/include/asm/current.h): the task running on this CPU."""
        return self.k.current_task

    @contextmanager
    def task(self, pid: int, comm: str):
        """``with k.task(1300, "myapp"):`` run the block as that task (pid, comm)."""
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise ValueError(f"pid must be a positive int, not {pid!r}")
        if not isinstance(comm, str) or not comm:
            raise ValueError("comm must be a non-empty string (TASK_COMM_LEN 16)")
        saved = self.k.current_task
        self.k.current_task = Task(pid=pid, comm=comm[:15])
        try:
            yield self.k.current_task
        finally:
            self.k.current_task = saved

    def in_task(self) -> bool:
        """include/linux/preempt.h: in_task(): process context."""
        return self.k.context_stack.in_task()

    def in_hardirq(self) -> bool:
        """include/linux/preempt.h: in_hardirq() (3.15: in_irq())."""
        return self.k.context_stack.in_hardirq()

    def in_softirq(self) -> bool:
        """include/linux/preempt.h: in_serving_softirq()."""
        return self.k.context_stack.in_serving_softirq()

    def in_nmi(self) -> bool:
        """include/linux/preempt.h: in_nmi()."""
        return self.k.context_stack.in_nmi()

    def preemptible(self) -> bool:
        """include/linux/preempt.h: preemptible()."""
        return self.k.context_stack.preemptible()

    def may_sleep(self) -> bool:
        """Could the current context sleep (preempt_count 0 and interrupts on)?"""
        return self.k.context_stack.can_sleep()

    def gfp_for_context(self) -> str:
        """The document's rule 1-3: GFP_KERNEL when the context may sleep, else GFP_ATOMIC."""
        return "GFP_KERNEL" if self.k.context_stack.can_sleep() else "GFP_ATOMIC"

    # ================================================================ might_sleep
    def might_sleep(self, file: str | None = None, line: int = 0, *, what: str = "might_sleep"
                    ) -> None:
        """include/linux/kernel.h: might_sleep() → kernel/sched/core.c: __might_sleep.

        With CONFIG_DEBUG_ATOMIC_SLEEP, calling it where sleeping is forbidden logs
        ``BUG: sleeping function called from invalid context at FILE:LINE`` and the
        ``in_atomic(): …`` line, then raises :class:`KernelBug` (the real kernel only
        warns; it may then deadlock). Subsystems call it from functions that may
        sleep (``k.might_sleep(*k.profile.might_sleep_sites["vmalloc"])``).
        """
        self._refuse_if_panicked()
        if not self.kconfig["CONFIG_DEBUG_ATOMIC_SLEEP"] or self.k.context_stack.can_sleep():
            return
        if file is None:
            file, line = "kernel/sched/core.c", 0
        self._might_sleep_report(file, line, what)

    def _refuse_if_panicked(self) -> None:
        if self.k.panicked is not None:
            raise KernelPanic("the simulated machine has panicked; boot a new Kernel "
                              f"(panic: {self.k.panicked})")

    def _might_sleep_report(self, file: str, line: int, what: str) -> None:
        cs = self.k.context_stack
        t = self.k.current_task
        resched = self.k.profile.might_resched
        lines = [f"BUG: sleeping function called from invalid context at {file}:{line}"]
        if not resched:
            lines.append(f"in_atomic(): {int(cs.in_atomic())}, irqs_disabled(): "
                         f"{int(cs.irqs_disabled())}, pid: {t.pid}, name: {t.comm}")
        else:
            lines += [f"in_atomic(): {int(cs.in_atomic())}, irqs_disabled(): "
                      f"{int(cs.irqs_disabled())}, non_block: 0, pid: {t.pid}, name: {t.comm}",
                      f"preempt_count: {cs.preempt_count:x}, expected: 0",
                      "RCU nest depth: 0, expected: 0"]
        lines += self._stack_lines(["__might_resched" if resched else "__might_sleep", what])
        why = (f"kmemlab: why: {what} may sleep, but this code runs in {cs.describe()}, "
               "which must not sleep (rule: in interrupt handlers, softirqs, under a "
               "spinlock or with interrupts off use GFP_ATOMIC and never block)")
        for text in lines:
            self.k.printk(text)
        self.k.printk(why)
        self.tainted = True
        self.k.trace.emit("might_sleep_bug", why[len("kmemlab: why: "):], file=file, line=line)
        raise SleepInAtomic(f"sleeping function called from invalid context ({what} in "
                        f"{cs.describe()})", lines + [why])

    def _stack_lines(self, kernel_frames: list[str]) -> list[str]:
        from .kdebug import python_stack
        taint = "Tainted: G        W" if self.tainted else "Not tainted"
        p = self.k.profile
        frames = (["dump_stack_lvl"] if p.dump_stack_lvl else ["dump_stack"]) + kernel_frames + \
            [f for f, _l in python_stack(4)]
        return report.stack_lines(self.k, frames, taint)

    def might_alloc(self, value: int, order: int) -> None:
        """include/linux/sched/mm.h: might_alloc (3.15: might_sleep_if in mm/page_alloc.c).

        Called through ``k.might_sleep_if_alloc`` at the start of every page and slab
        allocation (the frame three up is the allocator's); also starts the
        per-allocation reclaim bookkeeping, once the checks passed (a refused
        allocation changes nothing).
        """
        if self.k.panicked is not None:
            self._refuse_if_panicked()
        if value & self.may_block_bit and self.kconfig["CONFIG_DEBUG_ATOMIC_SLEEP"] and \
                not self.k.context_stack.can_sleep():
            self._might_sleep_in_atomic(value)
        st = self.reclaim
        if not st.busy:
            st.attempt = 0
            st.reclaimed_this_alloc = 0

    def _might_sleep_in_atomic(self, value: int) -> None:
        """The might_sleep report of an allocation that may block, made in atomic context
        (raises)."""
        import sys
        f = sys._getframe(3)   # the allocator that called k.might_sleep_if_alloc
        kind = "slab" if f.f_code.co_filename.endswith("slub.py") else "page_alloc"
        what = ("kmalloc/kmem_cache_alloc" if kind == "slab" else "alloc_pages") + \
            f"({self.k.profile.gfp.show(value)})"
        file, line = _site(kind, self.k.profile)
        self._might_sleep_report(file, line, what)

    def schedule_while_atomic_check(self, reason: str) -> None:
        """kernel/sched/core.c: schedule_debug → __schedule_bug, then the hard lockup.

        Called when a call *really* sleeps (direct reclaim, msleep). In atomic context:
        ``BUG: scheduling while atomic: comm/pid/0x%08x`` → :class:`KernelBug`; with
        interrupts off the CPU cannot be woken (no timer or I/O interrupt gets
        through): the NMI watchdog reports a hard LOCKUP and the kernel panics
        (kernel/watchdog.c / watchdog_hld.c, hardlockup_panic) → :class:`KernelPanic`.
        """
        cs = self.k.context_stack
        if cs.can_sleep():
            return
        t = self.k.current_task
        lines = []
        if cs.in_atomic():
            lines.append(f"BUG: scheduling while atomic: {t.comm}/{t.pid}/"
                         f"0x{cs.preempt_count + 1:08x}")
            lines.append("Modules linked in:")
            lines += self._stack_lines(["__schedule_bug", "__schedule", "schedule", reason])
        why = (f"kmemlab: why: {reason} had to sleep (memory was short, so the allocation "
               f"could only succeed by reclaiming and waiting), but the CPU is in "
               f"{cs.describe()}")
        if cs.irqs_disabled():
            lines += [f"{self.k.profile.hardlockup_prefix}: Watchdog detected hard LOCKUP on cpu "
                      f"{self.k.current_cpu}",
                      "Kernel panic - not syncing: Hard LOCKUP",
                      "---[ end Kernel panic - not syncing: Hard LOCKUP ]---"]
            why += ("; with interrupts off no interrupt can wake it, the CPU hangs and the "
                    "watchdog panics the machine (the document's kprobe-handler case: use "
                    "GFP_ATOMIC there). Only under memory pressure: with free memory the "
                    "same GFP_KERNEL call returns at once")
        else:
            why += "; the scheduler detects it (rule: never block in atomic context)"
        for text in lines:
            self.k.printk(text)
        self.k.printk(why)
        self.tainted = True
        self.k.trace.emit("sched_bug", why[len("kmemlab: why: "):], comm=t.comm, pid=t.pid,
                        preempt_count=cs.preempt_count)
        if cs.irqs_disabled():
            exc = KernelPanic("Hard LOCKUP: slept with interrupts disabled", lines + [why])
            self.k.panicked = exc
            raise exc
        raise SleepInAtomic(f"scheduling while atomic ({reason})", lines + [why])

    # ================================================================ sleeping calls
    def mutex_lock(self, name: str = "mutex") -> None:
        """kernel/locking/mutex.c: mutex_lock: might_sleep(), then take the mutex."""
        self.might_sleep(*_site("mutex", self.k.profile), what="mutex_lock")
        self.mutexes_held.append(name)
        self.k.trace.emit("mutex_lock", f"took mutex {name} (a sleeping lock: allowed only where "
                        "sleeping is)", name=name)

    def mutex_unlock(self, name: str = "mutex") -> None:
        """kernel/locking/mutex.c: mutex_unlock."""
        if name not in self.mutexes_held:
            raise ValueError(f"mutex {name!r} is not held")
        self.mutexes_held.remove(name)
        self.k.trace.emit("mutex_unlock", f"released mutex {name}", name=name)

    @contextmanager
    def mutex(self, name: str = "mutex"):
        """``with k.mutex("name"):`` mutex_lock … mutex_unlock."""
        self.mutex_lock(name)
        try:
            yield
        finally:
            self.mutex_unlock(name)

    def msleep(self, msecs: int) -> None:
        """kernel/time/timer.c: msleep → schedule_timeout: the task really sleeps.

        There is no might_sleep() in msleep: in atomic context the scheduler itself
        reports ``BUG: scheduling while atomic`` whatever CONFIG_DEBUG_ATOMIC_SLEEP
        says. While the task sleeps, kswapd gets the CPU.
        """
        if isinstance(msecs, bool) or not isinstance(msecs, int) or msecs < 0:
            raise ValueError(f"msecs must be a non-negative int, not {msecs!r}")
        self._refuse_if_panicked()
        self.schedule_while_atomic_check(f"msleep({msecs})")
        self.k.clock_ns += msecs * 1_000_000
        comm = self.k.current_task.comm
        self.k.trace.emit("sched_switch", f"{comm} sleeps {msecs} ms; other tasks (kswapd) run",
                          prev_comm=comm)
        self.reclaim.kswapd_run()

    def copy_from_user(self, n: int) -> int:
        """copy_from_user (include/linux/uaccess.h / lib/usercopy.c): might_fault().

        User memory may be swapped out, so the copy may sleep on a page fault.
        Returns the bytes not copied (0).
        """
        return self._uaccess(n, "copy_from_user")

    def copy_to_user(self, n: int) -> int:
        """copy_to_user: might_fault() like copy_from_user; returns 0."""
        return self._uaccess(n, "copy_to_user")

    def _uaccess(self, n: int, what: str) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"{what} needs a byte count ≥ 0, not {n!r}")
        self.might_sleep(*_site("uaccess", self.k.profile), what=what)
        return 0

    # ================================================================ reclaim, OOM
    def kswapd_run(self) -> int:
        """Let kswapd run now (mm/vmscan.c: kswapd → balance_pgdat); pages reclaimed."""
        return self.reclaim.kswapd_run()

    def register_oom_candidate(self, task) -> None:
        """Add a killable task to the OOM killer's list (for_each_process in
        mm/oom_kill.c: select_bad_process).

        ``task`` needs ``pid``, ``comm``, ``oom_score_adj`` (-1000..1000; -1000 =
        never), ``oom_info()`` → dict with any of ``anon_rss``, ``file_rss``,
        ``shmem_rss``, ``swapents``, ``total_vm``, ``nr_ptes`` (pages),
        ``pgtables_bytes``, ``uid``; and ``oom_kill()`` which frees its memory.
        The OOM killer sets ``task.oom_killed = True``.
        """
        for attr in ("pid", "comm", "oom_info", "oom_kill"):
            if not hasattr(task, attr):
                raise TypeError(f"an OOM candidate needs .{attr} (see "
                                "Kernel.register_oom_candidate)")
        if task not in self.reclaim.oom_candidates:
            self.reclaim.oom_candidates.append(task)

    def unregister_oom_candidate(self, task) -> None:
        """Remove a task (it exited) from the OOM killer's list."""
        if task in self.reclaim.oom_candidates:
            self.reclaim.oom_candidates.remove(task)

    @property
    def oom_candidates(self) -> list:
        """The killable tasks, in registration order."""
        return list(self.reclaim.oom_candidates)

    def vmstat(self) -> dict[str, int]:
        """/proc/vmstat as a dict (mm/vmstat.c: vmstat_show)."""
        out = {}
        for line in render_vmstat(self.k).splitlines():
            name, val = line.split()
            out[name] = int(val)
        return out

    # ================================================================ debugging
    def enable_debug(self, *, kasan: bool | None = None, kmemleak: bool | None = None,
                     slub_debug: str | None = None) -> None:
        """Turn debug tracking on after boot (objects allocated before are not tracked;
        the cmdline options ``kmemleak=on kasan=on slub_debug=FZPU`` track from boot)."""
        d = self.debug
        if kasan:
            if not self.k.profile.kasan_supported:
                raise ValueError(f"KASAN arrived in Linux 4.0; {self.k.profile.version} has only "
                                 "slub_debug")
            d.kasan = True
        elif kasan is not None:
            d.kasan = False
        if kmemleak is not None:
            d.kmemleak = bool(kmemleak)
        if slub_debug is not None:
            if set(slub_debug.upper()) - set("FZPUT"):
                raise ValueError(f"slub_debug={slub_debug!r}: use letters from F Z P U T")
            d.slub_debug = slub_debug.upper()
        self.kconfig["CONFIG_KASAN"] = d.kasan
        self.kconfig["CONFIG_DEBUG_KMEMLEAK"] = d.kmemleak
        self.slab_debug = d if d.tracking else None

    def kmemleak_scan(self) -> list:
        """mm/kmemleak.c: kmemleak_scan (``echo scan > /sys/kernel/debug/kmemleak``).

        Returns the unreferenced objects (each with ``addr``, ``size``, ``alloc.stack``);
        logs ``unreferenced object 0x… (size N):`` reports for the new ones. Roots are
        kernel globals and loaded modules' globals; references are what ``k.store``
        recorded. (The kernel also waits 5 s before reporting a young object; kmemlab
        reports at once.)
        """
        return self.debug.scan()

    def store(self, ptr, into="global", field: str = "ptr") -> None:
        """Record ``into->field = ptr``: a pointer kmemleak can follow.

        ``into`` is an object address, a module (``k.kmodule``) for its globals, or
        ``"global"``/a global's name for a kernel global. ``ptr=None`` clears the field.
        """
        if not isinstance(field, str):
            raise TypeError("field must be a string")
        self.debug.store(ptr, into, field)

    def kmemleak_not_leak(self, ptr: int) -> None:
        """mm/kmemleak.c: kmemleak_not_leak: never report this object."""
        obj = self.debug.objects.get(ptr)
        if obj is None:
            raise ValueError(f"{ptr!r} is not a tracked live object")
        obj.not_leak = True

    def kmodule(self, name: str) -> KModule:
        """A scripted module (globals = kmemleak roots; ``with mod:`` attributes the
        allocations; ``mod.unload()`` reports what it left allocated)."""
        if name in self.debug.modules and self.debug.modules[name].loaded:
            raise ValueError(f"module {name} is already loaded")
        mod = KModule(self.k, name)
        self.debug.modules[name] = mod
        return mod

    def module_unloaded(self, name: str) -> list:
        """kernel/module/main.c: free_module → kmemleak: the leak report of a scripted
        module (``k.kmodule(name)``) when ``k.unload_module(name)`` unloads it."""
        mod = self.debug.modules.get(name)
        return [] if mod is None or not mod.loaded else mod.unload()

    def read(self, addr, n: int = 1) -> None:
        """A load of ``n`` bytes at ``addr`` (KASAN: __asan_loadN → kasan_check_range).

        Contents are not modelled: returns None. NULL → oops; with KASAN a bad access
        gives the KASAN report and :class:`KernelBug`.
        """
        self._access(addr, n, False, 0)

    def write(self, addr, n: int = 1, value: int = 0) -> None:
        """A store of ``n`` bytes (of ``value``) at ``addr`` (KASAN: __asan_storeN).

        Without KASAN a write past the object is silent, or caught later by
        slub_debug red zones/poison."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("value is the byte written (int)")
        self._access(addr, n, True, value)

    def _access(self, addr, n: int, write: bool, value: int) -> None:
        self._refuse_if_panicked()
        if addr is None:
            addr = 0
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise TypeError(f"an address is an int, not {type(addr).__name__}")
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError(f"access size must be a positive int, not {n!r}")
        self.debug.access(addr, n, write, value)

    def dma_map_single(self, addr: int, size: int, dma_mask: int = 0xFFFFFFFF) -> int:
        """dma_map_single for a device that can address ``dma_mask`` (rule 4: GFP_DMA).

        6.x kernel/dma/direct.h: dma_direct_map_page warns ``DMA addr … overflow`` and
        returns DMA_MAPPING_ERROR when the buffer is above the mask and there is no
        swiotlb; 3.15 arch/x86/kernel/pci-nommu.c: check_addr prints ``nommu_map_single:
        overflow`` and returns 0 (DMA_ERROR_CODE). Otherwise the bus address.
        """
        phys = self.k.virt_to_phys(addr)
        if phys + size - 1 <= dma_mask:
            return phys
        if getattr(self.k, "swiotlb", None) is not None:
            self.k.page_alloc.count("swiotlb_bounce")
            return self.k.swiotlb
        why = (f"kmemlab: why: the buffer is at physical {phys:#x}, above what the device can "
               f"reach ({dma_mask:#x}); allocate it with GFP_DMA (ZONE_DMA, below 16 MiB) "
               "for ISA-style devices (rule: memory a device must reach needs GFP_DMA)")
        if self.k.profile.nommu_dma_overflow_msg:
            self.k.printk(f"nommu_map_single: overflow {phys:x}+{size} of device mask "
                        f"{dma_mask:x}")
            self.k.printk(why)
            return 0
        report.warn(self.k, "kernel/dma/direct.h:103 dma_map_page_attrs",
                    before=[f"kmemlab-dev: DMA addr 0x{phys:016x}+{size} overflow (mask "
                            f"{dma_mask:x}, bus limit 0)."], stack=False, why=why, end=False)
        return (1 << 64) - 1


@procfs.renderer("vmstat")
def _vmstat(k) -> str:
    """mm/vmstat.c: vmstat_show — see kmemlab/reclaim.py: render_vmstat."""
    return render_vmstat(k)


@procfs.renderer("kmemleak")
def _kmemleak(k) -> str:
    """mm/kmemleak.c: kmemleak_seq_show (/sys/kernel/debug/kmemleak): reported leaks.

    Without ``kmemleak=on`` the file does not exist (stock Debian: CONFIG_DEBUG_KMEMLEAK
    is not set), so reading it raises FileNotFoundError as ``open()`` would."""
    if not k.debug.kmemleak:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory",
                                "/sys/kernel/debug/kmemleak")
    out = []
    for _a, o in sorted(k.debug.objects.items()):
        if o.reported and not o.not_leak:
            out += k.debug.leak_lines(o)
    return "".join(line + "\n" for line in out)
