"""Recorded steps of a kernel path, for widgets that replay a call one step at a time.

vmalloc (:mod:`kmemlab.vmalloc`) and module loading (:mod:`kmemlab.module`) record the
functions they pass through; this small module holds the record types so that neither
has to import the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """One step of a recorded kernel path (for a widget that replays it).

    ``function`` is the kernel function, ``depth`` its nesting below the API call,
    ``text`` what it did in words, ``data`` the numbers (addresses, pfns, counts).
    """

    index: int
    function: str
    depth: int
    text: str
    data: dict = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"{'  ' * self.depth}{self.function}: {self.text}"


class Recorder:
    """Collects :class:`Step` objects; ``enter()`` nests a callee."""

    __slots__ = ("steps", "depth", "enabled")

    def __init__(self, enabled: bool = True) -> None:
        self.steps: list[Step] = []
        self.depth = 0
        self.enabled = enabled

    def step(self, function: str, text: str, **data) -> None:
        if self.enabled:
            self.steps.append(Step(len(self.steps), function, self.depth, text, data))

    def enter(self) -> None:
        self.depth += 1

    def leave(self) -> None:
        self.depth -= 1
