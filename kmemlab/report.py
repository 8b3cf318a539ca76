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


def warn_alloc(k, order: int, value: int, reason: str) -> None:
    """mm/page_alloc.c: warn_alloc (6.x) / warn_alloc_failed (3.15)."""
    comm = k.current_task.comm
    if not k.profile.warn_alloc:
        k.printk(f"{comm}: page allocation failure: order:{order}, mode:{value:#x}")
    else:
        k.printk(f"{comm}: page allocation failure: order:{order}, "
                 f"mode:{value:#x}({k.profile.gfp.show(value)}), "
                 "nodemask=(null),cpuset=/,mems_allowed=0")
    dump_stack(k)
    k.printk("Mem-Info:")
    for z in k.page_alloc.populated_zones:
        k.printk(f"Node 0 {z.name} free:{z.free_pages << 2}kB min:{z.min << 2}kB "
                 f"low:{z.low << 2}kB high:{z.high << 2}kB managed:{z.managed << 2}kB")
    k.printk(f"kmemlab: why: {reason}")


def warn_once(k, where: str, why: str, *, modules: bool = True) -> None:
    """kernel/panic.c: __warn for a WARN_ON_ONCE that fired: cut here, the WARNING line,
    ``Modules linked in:``, the stack, kmemlab's why, end trace."""
    k.printk(CUT_HERE)
    k.printk(warning_line(k, where))
    if modules:
        k.printk("Modules linked in:")
    dump_stack(k)
    k.printk(why)
    k.printk(END_TRACE)


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
