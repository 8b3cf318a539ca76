"""Kernel-style reports, in one place: what every subsystem prints when it reports.

The kernel writes its reports with a few shared routines, and so does kmemlab:

* lib/dump_stack.c: ``dump_stack_print_info`` (the ``CPU: … Comm: …`` line and the
  hardware name) and arch/x86/kernel/dumpstack.c: ``show_trace_log_lvl`` (the
  ``Call Trace:`` frames inside their stack markers) — :func:`cpu_line`,
  :func:`call_trace`, :func:`dump_stack`;
* kernel/panic.c: ``__warn`` (``------------[ cut here ]------------``, ``WARNING: CPU:
  … at …``, ``---[ end trace … ]---``) — :data:`CUT_HERE`, :func:`warning_line`,
  :data:`END_TRACE`;
* mm/page_alloc.c: ``warn_alloc`` and ``bad_page`` — :func:`warn_alloc`,
  :func:`bad_page`;
* mm/slub.c: ``slab_bug`` (the banner of every SLUB debug report) — :func:`slab_bug`.

A report is printed with :func:`emit` (``printk`` of each line) and then raised as the
:mod:`kmemlab.errors` class that names the bug, carrying its lines. The kernel's numbers
of each version (``dump_stack_prints_uid``, ``call_trace_addresses`` …) are fields of
the profile (:mod:`kmemlab.profiles`).
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import BadPageState, KernelBug

CUT_HERE = "------------[ cut here ]------------"
END_TRACE = "---[ end trace 0000000000000000 ]---"
# dmi_get_system_info as QEMU's i440fx machine with SeaBIOS fills it in
HARDWARE_NAME = ("Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian "
                 "04/01/2014")


def cpu_line(k, taint: str = "Not tainted", pid: int | None = None,
             comm: str | None = None) -> str:
    """lib/dump_stack.c: dump_stack_print_info's first line (6.12 adds the UID)."""
    t = k.current_task
    p = k.profile
    uid = "UID: 0 " if p.dump_stack_prints_uid else ""
    preempt = p.dump_stack_preempt_model
    return (f"CPU: {k.current_cpu} {uid}PID: {t.pid if pid is None else pid} "
            f"Comm: {t.comm if comm is None else comm} {taint} "
            f"{p.version}.0-kmemlab #1" + (f" {preempt}" if preempt else ""))


def call_trace(k, frames: list[str]) -> list[str]:
    """arch/x86/kernel/dumpstack.c: show_trace_log_lvl: the frames inside their stack
    markers. In a hard or soft interrupt the report's frames are on the IRQ stack
    (``<IRQ>``…``</IRQ>``, then the interrupted task's ``<TASK>`` with the interrupt
    entry); 3.15 (dumpstack_64.c) printed ``<IRQ>``/``<EOI>`` and no ``<TASK>``."""
    cs = k.context_stack
    irq = cs.in_hardirq() or cs.in_serving_softirq()
    if k.profile.call_trace_addresses:
        body = [f" [<{0xffffffff81000000:016x}>] {f}" for f in frames]
        return [" <IRQ> "] + body + [" <EOI> "] if irq else body
    body = [f" {f}" for f in frames]
    if not irq:
        return [" <TASK>"] + body + [" </TASK>"]
    entry = "asm_common_interrupt" if cs.in_hardirq() else "asm_sysvec_apic_timer_interrupt"
    tail = (["__handle_irq_event_percpu", "handle_irq_event", "__common_interrupt"]
            if cs.in_hardirq() else ["handle_softirqs", "__irq_exit_rcu"])
    return ([" <IRQ>"] + body + [f" {f}" for f in tail] + [" </IRQ>", " <TASK>",
            f" {entry}", " </TASK>"])


def dump_stack(k) -> None:
    """lib/dump_stack.c: dump_stack_print_info, then the call trace header."""
    k.printk(cpu_line(k))
    k.printk(HARDWARE_NAME)
    k.printk("Call Trace:")


def warning_line(k, where: str, pid: int | None = None) -> str:
    """kernel/panic.c: __warn: ``WARNING: CPU: %d PID: %d at <file> <function>``."""
    return (f"WARNING: CPU: {k.current_cpu} PID: "
            f"{k.current_task.pid if pid is None else pid} at {where}")


def emit(k, lines: list[str]) -> None:
    """printk every line of a report."""
    for line in lines:
        k.printk(line)


def slab_bug(name: str, taint: str, reason: str) -> list[str]:
    """mm/slub.c: slab_bug: the banner every SLUB debug report starts with."""
    return ["=" * 77, f"BUG {name} ({taint}): {reason}", "-" * 77, ""]


def warn_alloc(k, order: int, value: int, reason: str | None,
               message: str | None = None) -> None:
    """mm/page_alloc.c: warn_alloc (6.x) / warn_alloc_failed (3.15). ``message`` is the
    caller's format (vmalloc's "vmalloc error: size …"), the page allocator's
    "page allocation failure: order:N" when None: 6.x prints it with the mode on one
    line; 3.15 printed it, then the page allocation failure line. Without a ``reason``
    (vmalloc) only the Mem-Info header follows the stack, as kmemlab always printed."""
    comm = k.current_task.comm
    failure = f"page allocation failure: order:{order}"
    if not k.profile.warn_alloc:
        if message is not None:
            k.printk(f"{comm}: {message}")
        k.printk(f"{comm}: {failure}, mode:{value:#x}")
    else:
        k.printk(f"{comm}: {failure if message is None else message}, "
                 f"mode:{value:#x}({k.profile.gfp.show(value)}), "
                 "nodemask=(null),cpuset=/,mems_allowed=0")
    dump_stack(k)
    if reason is None:
        k.printk("Mem-Info:")
        return
    show_mem(k)
    k.printk(f"kmemlab: why: {reason}")


def warn(k, where: str, *, before: Sequence[str] = (), after: Sequence[str] = (),
         modules: bool = False, stack: bool = True, why: str | None = None,
         end: bool = True) -> list[str]:
    """kernel/panic.c: __warn: cut here, the ``WARNING: CPU: … at <where>`` line with the
    WARN()'s message before it (``__warn_printk``) or after it, ``Modules linked in:``,
    the stack (:func:`dump_stack`), kmemlab's why, end trace. Returns the lines up to
    the stack (what the raised bug carries)."""
    lines = [CUT_HERE, *before, warning_line(k, where), *after]
    if modules:
        lines.append("Modules linked in:")
    emit(k, lines)
    if stack:
        dump_stack(k)
    if why is not None:
        k.printk(why)
    if end:
        k.printk(END_TRACE)
    return lines


def warn_once(k, where: str, why: str, *, modules: bool = True) -> None:
    """A WARN_ON_ONCE that fired (:func:`warn` with ``Modules linked in:``)."""
    warn(k, where, modules=modules, why=why)


def stack_lines(k, frames: list[str], taint: str = "Not tainted") -> list[str]:
    """The stack part of a report as lines: dump_stack_print_info's CPU line, then
    ``Call Trace:`` and the frames (:func:`call_trace`)."""
    return [cpu_line(k, taint), "Call Trace:"] + call_trace(k, frames)


def show_mem(k) -> None:
    """mm/show_mem.c: __show_mem's per-zone lines (free, watermarks, managed)."""
    k.printk("Mem-Info:")
    for z in k.page_alloc.populated_zones:
        k.printk(f"Node 0 {z.name} free:{z.free_pages << 2}kB min:{z.min << 2}kB "
                 f"low:{z.low << 2}kB high:{z.high << 2}kB managed:{z.managed << 2}kB")


def bad_page(k, pfn: int, reason: str, message: str) -> None:
    """mm/page_alloc.c: bad_page(): report and raise :class:`BadPageState`, state
    untouched."""
    lines = [f"BUG: Bad page state in process {k.current_task.comm}  pfn:{pfn:05x}",
             f"page dumped because: {reason}"]
    emit(k, lines)
    dump_stack(k)
    raise BadPageState(message, lines)


def report_and_raise(k, lines: list[str], exc: type[KernelBug], message: str) -> None:
    """printk a finished report and raise it as ``exc`` (a :class:`KernelBug` class)."""
    emit(k, lines)
    raise exc(message, lines)
