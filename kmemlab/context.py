"""Execution contexts: process, softirq, hardirq, NMI, spinlocks, irqs off.

Models include/linux/preempt.h (preempt_count layout, in_interrupt, in_atomic) and
include/linux/irqflags.h (irqs_disabled). Contexts nest as context managers:

    with k.context("hardirq"):
        k.kmalloc(64, km.GFP_ATOMIC)
    with k.spin_lock("my_lock"), k.irqs_disabled():
        ...
    with k.kprobe_handler("do_sys_open"):      # preemption and interrupts off
        ...

``k.irqs_disabled()`` is both the ``local_irq_disable()`` block and, used as a
truth value, the ``irqs_disabled()`` query (include/linux/irqflags.h).
"""

from __future__ import annotations

from dataclasses import dataclass

# include/linux/preempt.h: preempt_count bit layout
PREEMPT_OFFSET = 1 << 0
SOFTIRQ_OFFSET = 1 << 8
HARDIRQ_OFFSET = 1 << 16
NMI_OFFSET = 1 << 20

CONTEXT_KINDS = ("process", "softirq", "hardirq", "nmi")
# Every frame kind push() accepts (the first four are k.context() kinds).
FRAME_KINDS = CONTEXT_KINDS + ("spin_lock", "spin_lock_irqsave", "irqs_off", "preempt_off",
                               "kprobe", "mutex")


class Frame:
    """A pending context frame: a context manager, and for ``irqs_off`` a truth value.

    ``bool(k.irqs_disabled())`` answers the query irqs_disabled()
    (include/linux/irqflags.h); ``with k.irqs_disabled():`` disables them.
    """

    __slots__ = ("stack", "kind", "label")

    def __init__(self, stack: ContextStack, kind: str, label: str = "") -> None:
        if kind not in FRAME_KINDS:
            raise ValueError(f"unknown context {kind!r}; use one of {', '.join(CONTEXT_KINDS)}")
        self.stack, self.kind, self.label = stack, kind, label

    def __enter__(self) -> ContextStack:
        self.stack.push(self.kind, self.label)
        return self.stack

    def __exit__(self, *exc) -> bool:
        self.stack.pop()
        return False

    def __bool__(self) -> bool:
        if self.kind == "irqs_off":
            return self.stack.irqs_disabled()
        return True

    def __repr__(self) -> str:
        return f"<context frame {self.kind} {self.label}>".replace(" >", ">")


@dataclass(frozen=True)
class Task:
    """The current task (``current``): what dmesg reports as pid and comm."""

    pid: int
    comm: str


class ContextStack:
    """What the CPU is doing right now, as preempt_count and the irq flag say."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, str]] = []  # (kind, label)
        self.preempt_count = 0
        self.irqs_off = 0
        #: the latency-format flag column of a trace line (trace_print_lat_fmt), kept
        #: current by push/pop so the trace log reads it per event without a call
        self.lat_flags = "....."
        #: can_sleep(), kept current by push/pop: the allocators test it inline on
        #: every allocation that may block (might_alloc's common case, without a call)
        self.may_sleep = True

    # ------------------------------------------------------------ queries
    def in_nmi(self) -> bool:
        return bool(self.preempt_count & (0xF * NMI_OFFSET))

    def in_hardirq(self) -> bool:
        return bool(self.preempt_count & (0xF * HARDIRQ_OFFSET))

    def in_serving_softirq(self) -> bool:
        return bool(self.preempt_count & (0xFF * SOFTIRQ_OFFSET))

    def in_interrupt(self) -> bool:
        """in_interrupt(): hardirq, softirq or NMI (include/linux/preempt.h)."""
        return self.in_nmi() or self.in_hardirq() or self.in_serving_softirq()

    def in_atomic(self) -> bool:
        """in_atomic(): preempt_count() != 0 (include/linux/preempt.h)."""
        return self.preempt_count != 0

    def irqs_disabled(self) -> bool:
        return self.irqs_off > 0

    def can_sleep(self) -> bool:
        # not in_atomic() and not irqs_disabled(), without the two calls: every
        # allocation that may block asks (might_alloc)
        return self.preempt_count == 0 and self.irqs_off <= 0

    def in_task(self) -> bool:
        """in_task(): process context, not NMI/hardirq/serving softirq (preempt.h)."""
        return not self.in_interrupt()

    def preemptible(self) -> bool:
        """preemptible(): preempt_count() == 0 && !irqs_disabled() (preempt.h)."""
        return self.preempt_count == 0 and not self.irqs_disabled()

    def held_locks(self) -> list[str]:
        """Names of the spinlocks held, outermost first (debug_show_held_locks)."""
        return [label for kind, label in self.frames
                if kind in ("spin_lock", "spin_lock_irqsave")]

    def in_kprobe(self) -> str | None:
        """The probed symbol when running inside a kprobe handler, else None."""
        for kind, label in reversed(self.frames):
            if kind == "kprobe":
                return label
        return None

    @property
    def kind(self) -> str:
        """The innermost interrupt context, or "process"."""
        if self.in_nmi():
            return "nmi"
        if self.in_hardirq():
            return "hardirq"
        if self.in_serving_softirq():
            return "softirq"
        return "process"

    def describe(self) -> str:
        parts = [self.kind]
        for kind, label in self.frames:
            if kind in ("spin_lock", "spin_lock_irqsave"):
                parts.append(f"holding spinlock {label}")
                if kind == "spin_lock_irqsave":
                    parts.append("irqs disabled")
            elif kind == "kprobe":
                parts.append(f"in a kprobe handler on {label} (irqs and preemption off)")
            elif kind == "irqs_off":
                parts.append("irqs disabled")
            elif kind == "preempt_off":
                parts.append("preemption disabled")
        return ", ".join(dict.fromkeys(parts))

    def irq_flags(self) -> str:
        """The latency-format flag column of a trace line (trace_print_lat_fmt)."""
        return self.lat_flags

    def _compute_flags(self) -> str:
        irqs = "d" if self.irqs_off else "."
        if self.in_nmi():
            hs = "Z" if self.in_hardirq() else "z"
        elif self.in_hardirq() and self.in_serving_softirq():
            hs = "H"
        elif self.in_hardirq():
            hs = "h"
        elif self.in_serving_softirq():
            hs = "s"
        else:
            hs = "."
        depth = self.preempt_count & 0xFF
        pd = "." if depth == 0 else (str(depth) if depth < 16 else "f")
        return f"{irqs}.{hs}{pd}."

    # ------------------------------------------------------------ changes
    def push(self, kind: str, label: str = "") -> None:
        if kind == "hardirq":
            self.preempt_count += HARDIRQ_OFFSET
            self.irqs_off += 1  # x86 runs interrupt handlers with interrupts off
        elif kind == "softirq":
            self.preempt_count += SOFTIRQ_OFFSET
        elif kind == "nmi":
            self.preempt_count += NMI_OFFSET + HARDIRQ_OFFSET
            self.irqs_off += 1
        elif kind == "spin_lock":
            self.preempt_count += PREEMPT_OFFSET
        elif kind == "spin_lock_irqsave":
            self.preempt_count += PREEMPT_OFFSET
            self.irqs_off += 1
        elif kind == "irqs_off":
            self.irqs_off += 1
        elif kind == "preempt_off":
            self.preempt_count += PREEMPT_OFFSET
        elif kind == "kprobe":
            # x86 kprobe_int3_handler: the int3 trap runs the handler with interrupts
            # off and preemption disabled (arch/x86/kernel/kprobes/core.c)
            self.preempt_count += PREEMPT_OFFSET
            self.irqs_off += 1
        elif kind not in ("process", "mutex"):
            raise ValueError(f"unknown context {kind!r}; use one of {', '.join(CONTEXT_KINDS)}")
        self.frames.append((kind, label))
        self.lat_flags = self._compute_flags()
        self.may_sleep = self.can_sleep()

    def pop(self) -> None:
        kind, _ = self.frames.pop()
        if kind == "hardirq":
            self.preempt_count -= HARDIRQ_OFFSET
            self.irqs_off -= 1
        elif kind == "softirq":
            self.preempt_count -= SOFTIRQ_OFFSET
        elif kind == "nmi":
            self.preempt_count -= NMI_OFFSET + HARDIRQ_OFFSET
            self.irqs_off -= 1
        elif kind in ("spin_lock", "preempt_off"):
            self.preempt_count -= PREEMPT_OFFSET
        elif kind in ("spin_lock_irqsave", "kprobe"):
            self.preempt_count -= PREEMPT_OFFSET
            self.irqs_off -= 1
        elif kind == "irqs_off":
            self.irqs_off -= 1
        self.lat_flags = self._compute_flags()
        self.may_sleep = self.can_sleep()

    def entered(self, kind: str, label: str = "") -> Frame:
        """A context manager that pushes ``kind`` on enter and pops it on exit."""
        return Frame(self, kind, label)
