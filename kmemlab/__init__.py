"""kmemlab: a laboratory for Linux kernel memory allocation.

>>> import kmemlab as km
>>> k = km.Kernel(version="6.12", ram="1G", cpus=2)
>>> k.get_order(8192)
1
"""

from __future__ import annotations

from . import gfp, procfs
from .errors import KernelBug, KernelPanic, OutOfMemory
from .gfp import GFP, flag
from .i18n import get_language, set_language
from .kernel import Kernel, get_order
from .machine import Machine
from .page_alloc import Page
from .profiles import PROFILES, Profile, derive, get_profile, known_profiles
from .sizes import memparse

# Every GFP symbol as a module attribute: km.GFP_KERNEL, km.__GFP_ZERO, ...
globals().update(gfp.symbols())

__version__ = "0.1.0"

__all__ = [
    "GFP", "Kernel", "KernelBug", "KernelPanic", "Machine", "OutOfMemory", "Page", "PROFILES",
    "Profile", "derive", "flag", "get_language", "get_order", "get_profile", "gfp",
    "known_profiles", "memparse", "procfs", "set_language",
] + [name for name in gfp.symbols() if not name.startswith("__")]


def __getattr__(name: str):
    # Plots, widgets and quizzes import matplotlib/ipywidgets: load them on first use.
    if name in ("plot", "widgets", "quiz"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'kmemlab' has no attribute {name!r}")
