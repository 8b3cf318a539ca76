"""Figures of the simulated kernel: pure functions ``NAME(kernel_or_process, ..., ax=None)``
that return a matplotlib Figure and read only the core's public API and event log.

>>> import kmemlab as km
>>> k = km.Kernel(ram="1G")
>>> fig = km.plot.memory_map(k)      # doctest: +SKIP

``import kmemlab.plot`` loads no matplotlib: each name below is imported from its module
(and matplotlib with it) the first time it is used, so ``km.plot`` costs nothing until a
figure is drawn (PEP 562 module ``__getattr__``).
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module that defines it
_WHERE = {
    "trace": "trace",
    **dict.fromkeys(("OWNER_COLORS", "fmt_bytes", "note", "png_bytes"), "_style"),
    **dict.fromkeys(("frag_index", "heap", "memblock", "timeline", "update_heap",
                     "update_memblock"), "misc"),
    **dict.fromkeys(("block_tree", "buddy_tree", "buddyinfo", "memory_map", "update_buddyinfo",
                     "update_buddy_tree", "update_memory_map"), "physmem"),
    **dict.fromkeys(("slab", "slabinfo", "update_slab"), "slabplots"),
    **dict.fromkeys(("address_space", "layout_regions", "page_walk", "update_address_space",
                     "update_vmalloc_mapping", "vmalloc_mapping"), "vm"),
}

__all__ = [
    "OWNER_COLORS", "address_space", "block_tree", "buddy_tree", "buddyinfo", "fmt_bytes",
    "frag_index", "heap", "layout_regions", "memblock", "memory_map", "note", "page_walk",
    "png_bytes", "slab", "slabinfo", "timeline", "trace", "update_address_space",
    "update_buddy_tree", "update_buddyinfo", "update_heap", "update_memblock",
    "update_memory_map", "update_slab", "update_vmalloc_mapping", "vmalloc_mapping",
]


# the modules themselves (``km.plot.misc.free_pages_series``), as an eager import made them
_MODULES = ("_style", "misc", "physmem", "slabplots", "trace", "vm")


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name) or (name if name in _MODULES else None)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{where}", __name__)
    value = module if where == name else getattr(module, name)
    globals()[name] = value   # the next look-up is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_MODULES))
