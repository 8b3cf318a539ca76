"""Exceptions that model what a real kernel does when code breaks its rules.

Two families, kept apart on purpose (DESIGN.md, principle 4):

* ``KernelBug`` and ``KernelPanic``: the *simulated* kernel detected a bug in the
  code a learner wrote (double free, sleeping in atomic context, ...). A report in
  the kernel's words was appended to ``k.dmesg`` first; the simulated state is
  exactly what it was before the failing call.
* Python's own ``ValueError``/``TypeError``: the Python API itself was misused
  (negative size, unknown flag name). Nothing is logged to dmesg.

Each kind of bug the kernel reports has its own subclass of ``KernelBug``
(:class:`DoubleFree`, :class:`InvalidFree`, :class:`WrongCache`,
:class:`UseAfterFree`, :class:`OutOfBounds`, :class:`SleepInAtomic`,
:class:`BadPageState`, :class:`BadGfpMask`, :class:`ObjectsRemaining`, :class:`Oops`),
so widgets, quizzes and tests tell them apart with ``isinstance`` instead of reading the
message; ``except KernelBug`` still catches them all. The report lines themselves are
written by :mod:`kmemlab.report`.
"""

from __future__ import annotations


class KernelBug(Exception):
    """A kernel bug that a real kernel would report (BUG:, WARNING:, KASAN:, ...).

    ``report`` holds the dmesg lines that were logged for it.
    """

    def __init__(self, message: str, report: list[str] | None = None) -> None:
        super().__init__(message)
        self.report: list[str] = list(report or [message])


class KernelPanic(KernelBug):
    """The simulated machine panicked (e.g. scheduling while atomic with irqs off).

    A real kernel would stop here; the simulator keeps its state inspectable but
    refuses further work until ``Kernel.reboot()``.
    """


class OutOfMemory(KernelBug):
    """Raised only for ``__GFP_NOFAIL`` requests that cannot be satisfied at all."""


class DoubleFree(KernelBug):
    """Memory freed a second time: SLUB's "Object already free" (slub_debug=F),
    CONFIG_SLAB_FREELIST_HARDENED's ``kernel BUG at mm/slub.c`` (the object is the
    freelist head), KASAN's double-free, a page or vmalloc area freed twice."""


class InvalidFree(KernelBug):
    """A free of an address the allocator never handed out, or through the wrong API
    (mm/slub.c: "Invalid object pointer", mm/slab.h: virt_to_cache "Object is not a Slab
    page!", mm/vmalloc.c: "Trying to vfree() nonexistent vm area")."""


class WrongCache(InvalidFree):
    """mm/slab.h: cache_from_obj: "Wrong slab cache. %s but object is from %s"."""


class UseAfterFree(KernelBug):
    """KASAN: slab-use-after-free / use-after-free (mm/kasan/report.c), or slub_debug's
    poison overwritten in a free object (mm/slub.c: check_bytes_and_report)."""


class OutOfBounds(KernelBug):
    """KASAN: slab-out-of-bounds (mm/kasan/report.c), or slub_debug's red zone
    overwritten (mm/slub.c: check_object "Right Redzone overwritten")."""


class SleepInAtomic(KernelBug):
    """kernel/sched/core.c: __might_sleep "BUG: sleeping function called from invalid
    context", or __schedule_bug "BUG: scheduling while atomic"."""


class BadPageState(KernelBug):
    """mm/page_alloc.c: bad_page "BUG: Bad page state in process %s"."""


class BadGfpMask(KernelBug):
    """A GFP mask the allocator cannot serve (include/linux/gfp.h: gfp_migratetype's
    VM_WARN_ON for both mobility bits, __GFP_HIGHMEM where an address is needed)."""


class ObjectsRemaining(KernelBug):
    """mm/slub.c: list_slab_objects "Objects remaining in %s on __kmem_cache_shutdown()":
    kmem_cache_destroy of a cache that still has objects."""


class Oops(KernelBug):
    """An oops: a fault the kernel cannot handle (arch/x86/mm/fault.c:
    page_fault_oops "BUG: kernel NULL pointer dereference") or a ``BUG()``
    (``kernel BUG at …``)."""
