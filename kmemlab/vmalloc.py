"""vmap areas (mm/vmalloc.c) and the kernel address-space API (issue 4, in progress)."""

from __future__ import annotations


class AddressSpaceMixin:
    """Kernel methods for address spaces, vmalloc, memblock/bootmem, CMA and modules."""
