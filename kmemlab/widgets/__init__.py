"""Explorers (ipywidgets) built on :mod:`kmemlab.plot` and the core's public API.

Each takes the notebook's kernel, ``km.widgets.BuddyExplorer(k)``, or boots its own,
``km.widgets.BuddyExplorer()``; all share step back/forward, undo, reset, the "why" of
the last step, the dmesg tail and an oops panel (:class:`~kmemlab.widgets.base.Explorer`).
"""

from __future__ import annotations

from .address_space import AddressSpaceExplorer
from .base import Explorer
from .explorers import (
    BootExplorer,
    BuddyExplorer,
    CompareKernels,
    ContextExplorer,
    KmallocExplorer,
    MallocExplorer,
    VmallocExplorer,
)

__all__ = ["AddressSpaceExplorer", "BootExplorer", "BuddyExplorer", "CompareKernels",
           "ContextExplorer", "Explorer", "KmallocExplorer", "MallocExplorer", "VmallocExplorer"]
