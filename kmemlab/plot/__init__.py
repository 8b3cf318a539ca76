"""Figures of the simulated kernel: pure functions ``NAME(kernel_or_process, ..., ax=None)``
that return a matplotlib Figure and read only the core's public API and event log.

>>> import kmemlab as km
>>> k = km.Kernel(ram="1G")
>>> fig = km.plot.memory_map(k)      # doctest: +SKIP
"""

from __future__ import annotations

from . import trace
from ._style import OWNER_COLORS, fmt_bytes, note, png_bytes
from .misc import frag_index, heap, memblock, timeline, update_heap, update_memblock
from .physmem import (
    block_tree,
    buddy_tree,
    buddyinfo,
    memory_map,
    update_buddyinfo,
    update_memory_map,
)
from .slabplots import slab, slabinfo, update_slab
from .vm import (
    address_space,
    layout_regions,
    page_walk,
    update_address_space,
    update_vmalloc_mapping,
    vmalloc_mapping,
)

__all__ = [
    "OWNER_COLORS", "address_space", "block_tree", "buddy_tree", "buddyinfo", "fmt_bytes",
    "frag_index", "heap", "layout_regions", "memblock", "memory_map", "note", "page_walk",
    "png_bytes", "slab", "slabinfo", "timeline", "trace", "update_address_space",
    "update_buddyinfo", "update_heap", "update_memblock", "update_memory_map", "update_slab",
    "update_vmalloc_mapping", "vmalloc_mapping",
]
