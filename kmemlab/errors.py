"""Exceptions that model what a real kernel does when code breaks its rules.

Two families, kept apart on purpose (DESIGN.md, principle 4):

* ``KernelBug`` and ``KernelPanic``: the *simulated* kernel detected a bug in the
  code a learner wrote (double free, sleeping in atomic context, ...). A report in
  the kernel's words was appended to ``k.dmesg`` first; the simulated state is
  exactly what it was before the failing call.
* Python's own ``ValueError``/``TypeError``: the Python API itself was misused
  (negative size, unknown flag name). Nothing is logged to dmesg.
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
