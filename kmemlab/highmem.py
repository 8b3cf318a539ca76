"""Permanent kernel mappings of HighMem pages (mm/highmem.c): :class:`Highmem` (``k.highmem``).

On i386 a HighMem page has no direct-map address; ``kmap`` maps it into one of the
LAST_PKMAP slots of the PKMAP window (``layout.PKMAP_BASE``), ``kunmap`` drops a user,
and the slots whose count fell to 1 are unmapped together, with one TLB flush, when
the slot search wraps (flush_all_zero_pkmaps). A lowmem page's kmap is its direct-map
address. x86_64 has no HighMem (LAST_PKMAP is 0).

Not modelled: kmap_atomic / kmap_local (per-CPU fixmap slots), the pkmap_map_wait
sleep (a kmap with every slot busy is reported as a bug: nothing would wake it).
"""

from __future__ import annotations

from . import report
from .errors import KernelBug, Oops
from .page_alloc import Page
from .vmalloc import check_page_allocated


class Highmem:
    """mm/highmem.c of one kernel: the PKMAP slots (``pkmap_count``: 0 free, 1 mapped
    but unused, n + 1 with n users), ``pkmap_page`` slot → pfn and ``pkmap_slot``
    pfn → slot (page_address_htable), ``last_pkmap_nr`` where the search resumes.

    Built by kmap_init (arch/x86/mm/init_32.c, in setup_arch's paging_init), once the
    address layout is known.
    """

    def __init__(self, k) -> None:
        self.k = k
        self.pkmap_count = [0] * (k.layout.LAST_PKMAP or 0)
        self.pkmap_page: dict[int, int] = {}   # slot -> pfn (page_address_htable)
        self.pkmap_slot: dict[int, int] = {}   # pfn -> slot
        self.last_pkmap_nr = 0

    def kmap_lookup(self, page: Page) -> int | None:
        """page_address() of a HighMem page: its PKMAP address while mapped
        (mm/highmem.c: page_address → page_address_htable), else None."""
        slot = self.pkmap_slot.get(page.pfn)
        if slot is None:
            return None
        return self.k.layout.PKMAP_BASE + slot * self.k.PAGE_SIZE

    def kmap(self, page: Page) -> int:
        """kmap() (mm/highmem.c: kmap_high → map_new_virtual): a lowmem page's direct-map
        address, or a PKMAP slot for a HighMem page (i386). May sleep."""
        if not isinstance(page, Page):
            raise TypeError(f"kmap() takes a Page, not {type(page).__name__}")
        if page.pfn < self.k.max_low_pfn:
            return self.k.pfn_to_virt(page.pfn)
        check_page_allocated(self.k, page.pfn, "kmap")
        self.k.might_sleep_if_alloc(self.k.gfp_value("GFP_KERNEL"), 0)
        slot = self.pkmap_slot.get(page.pfn)
        if slot is None:
            slot = self._map_new_virtual(page.pfn)
        self.pkmap_count[slot] += 1
        vaddr = self.k.layout.PKMAP_BASE + slot * self.k.PAGE_SIZE
        self.k.trace.emit("kmap", f"HighMem pfn {page.pfn:#x} mapped at PKMAP slot {slot}",
                          addr=vaddr, pfn=page.pfn, count=self.pkmap_count[slot] - 1)
        return vaddr

    def _map_new_virtual(self, pfn: int) -> int:
        n = len(self.pkmap_count)
        count = n
        while True:
            self.last_pkmap_nr = (self.last_pkmap_nr + 1) & (n - 1)
            if not self.last_pkmap_nr:
                self._flush_all_zero_pkmaps()
                count = n
            if not self.pkmap_count[self.last_pkmap_nr]:
                break
            count -= 1
            if not count:
                # the kernel sleeps on pkmap_map_wait until a kunmap; nothing will wake us
                self.k.printk("BUG: kmap: all LAST_PKMAP slots are in use and nobody will "
                              "kunmap one (task would sleep forever)")
                raise KernelBug("kmap(): every PKMAP slot is in use; kunmap() some pages")
        slot = self.last_pkmap_nr
        vaddr = self.k.layout.PKMAP_BASE + slot * self.k.PAGE_SIZE
        self.k.page_tables.map_pages(vaddr, [pfn], boot=True)
        self.pkmap_count[slot] = 1
        self.pkmap_page[slot] = pfn
        self.pkmap_slot[pfn] = slot
        return slot

    def _flush_all_zero_pkmaps(self) -> None:
        """mm/highmem.c: flush_all_zero_pkmaps: unmap slots with count 1, one TLB flush."""
        flushed = False
        for slot, cnt in enumerate(self.pkmap_count):
            if cnt != 1:
                continue
            self.pkmap_count[slot] = 0
            pfn = self.pkmap_page.pop(slot)
            del self.pkmap_slot[pfn]
            vaddr = self.k.layout.PKMAP_BASE + slot * self.k.PAGE_SIZE
            self.k.page_tables.unmap_range(vaddr, vaddr + self.k.PAGE_SIZE)
            flushed = True
        if flushed:
            self.k.vmalloc_state.stats["tlb_flushes"] += 1

    def kunmap(self, page: Page) -> None:
        """kunmap() (mm/highmem.c: kunmap_high): drop one user; the mapping stays until
        the next flush_all_zero_pkmaps, so page_address() still answers."""
        if not isinstance(page, Page):
            raise TypeError(f"kunmap() takes a Page, not {type(page).__name__}")
        if page.pfn < self.k.max_low_pfn:
            return
        slot = self.pkmap_slot.get(page.pfn)
        if slot is None or self.pkmap_count[slot] < 2:
            lines = ["kernel BUG at mm/highmem.c: kunmap_high: BUG_ON(!vaddr) / "
                     "pkmap_count underflow"]
            report.emit(self.k, lines)
            raise Oops(f"kunmap() of pfn {page.pfn:#x}, which is not kmapped", lines)
        self.pkmap_count[slot] -= 1
        self.k.trace.emit("kunmap", f"PKMAP slot {slot} released (count {self.pkmap_count[slot]})",
                          pfn=page.pfn, count=self.pkmap_count[slot] - 1)

    def digest(self) -> tuple:
        """The slot counts (an item of ``k.address_space_digest()``)."""
        return tuple(self.pkmap_count)
