"""Layout constants, page-table walks, virt/phys conversions, i386 HighMem and kmap."""

import pytest

import kmemlab as km
from kmemlab.errors import KernelBug


@pytest.mark.parametrize("version,page_offset", [("3.15", 0xFFFF880000000000),
                                                 ("6.1", 0xFFFF888000000000),
                                                 ("6.12", 0xFFFF888000000000)])
def test_x86_64_constants(version, page_offset):
    k = km.Kernel(version=version, ram="1G")
    lay = k.layout
    assert lay.PAGE_OFFSET == page_offset
    assert lay["direct map"].start == page_offset
    assert lay.VMALLOC_START == 0xFFFFC90000000000
    assert lay.VMALLOC_END - 1 == 0xFFFFE8FFFFFFFFFF        # 32 TiB
    assert lay["vmemmap"].start == 0xFFFFEA0000000000
    assert lay.START_KERNEL_map == 0xFFFFFFFF80000000
    assert lay.MODULES_VADDR == (0xFFFFFFFFA0000000 if version == "3.15" else 0xFFFFFFFFC0000000)
    assert "vmalloc" in str(lay)


def test_i386_constants_and_vmalloc_param():
    k = km.Kernel(version="3.15", arch="i386", ram="2G")
    lay = k.layout
    assert lay.PAGE_OFFSET == 0xC0000000
    assert lay.PKMAP_BASE == 0xFF800000
    assert lay.VMALLOC_END == 0xFF7FE000
    assert lay.VMALLOC_START == lay.high_memory + 8 * 2**20
    # MAXMEM = VMALLOC_END - PAGE_OFFSET - 128M
    assert k.max_low_pfn << 12 == 0xFF7FE000 - 0xC0000000 - 128 * 2**20
    assert k.zones["HighMem"].present > 0
    k2 = km.Kernel(version="3.15", arch="i386", ram="2G", cmdline="vmalloc=256M")
    assert k2.max_low_pfn < k.max_low_pfn
    assert k2.layout.VMALLOC_START < lay.VMALLOC_START
    assert k2.layout["vmalloc"].size > lay["vmalloc"].size


def test_walk_indices_x86_64():
    k = km.Kernel(version="6.12", ram="1G")
    w = k.walk(0xFFFF888000000000 + 0x200000 * 3 + 0x1234)
    assert w.indices == {"PGD": 273, "PUD": 0, "PMD": 3}
    assert w.phys == 0x200000 * 3 + 0x1234 and w.page_size == 2 << 20
    w = k.walk(0xFFFFC90000000000)
    assert w.levels[0].level == "PGD" and w.levels[0].index == 402
    assert not w.present
    text = k.walk(0xFFFFFFFF81000000)
    assert text.phys == 0x1000000 and text.levels[0].index == 511


def test_walk_vmalloc_area_matches_pages(kernel):
    k = kernel
    v = k.vmalloc(3 * k.PAGE_SIZE)
    area = k.find_vm_area(v)
    for i, pfn in enumerate(area.pfns):
        w = k.walk(v + i * k.PAGE_SIZE + 5)
        assert w.pfn == pfn and w.phys & 0xFFF == 5
        assert w.levels[-1].level == "PTE"
        assert all(lv.present for lv in w.levels)
        assert k.vmalloc_to_pfn(v + i * k.PAGE_SIZE) == pfn
    assert not k.walk(v + 3 * k.PAGE_SIZE).present             # guard page
    tables = [pg for pg in k.page_alloc.allocated.values() if pg.owner == "pgtable"]
    assert tables and {lv.table_pfn for lv in w.levels[1:]} <= {t.pfn for t in tables}


def test_virt_phys_round_trip(kernel):
    k = kernel
    p = k.kmalloc(100, km.GFP_KERNEL)
    phys = k.virt_to_phys(p)
    assert k.phys_to_virt(phys) == p
    page = k.alloc_pages(km.GFP_KERNEL, 0)
    assert k.virt_to_phys(k.page_address(page)) == page.pfn << 12
    v = k.vmalloc(4096)
    with pytest.raises(ValueError, match="vmalloc_to_pfn"):
        k.virt_to_phys(v)
    assert k.is_vmalloc_addr(v) and not k.is_vmalloc_addr(p)


def test_highmem_kmap():
    k = km.Kernel(version="3.15", arch="i386", ram="2G")
    page = k.alloc_pages(km.GFP_HIGHUSER, 0)
    assert page.zone == "HighMem" and page.pfn >= k.max_low_pfn
    assert k.page_address(page) is None
    v = k.kmap(page)
    assert v in k.layout["pkmap"]
    assert k.page_address(page) == v
    assert k.walk(v).pfn == page.pfn
    assert k.kmap(page) == v                         # second user, same slot
    k.kunmap(page)
    k.kunmap(page)
    assert k.page_address(page) == v                 # still mapped until a flush
    before = k.address_space_digest()
    with pytest.raises(KernelBug):
        k.kunmap(page)
    assert k.address_space_digest() == before
    with pytest.raises(ValueError):
        k.phys_to_virt(page.pfn << 12)
    low = k.alloc_pages(km.GFP_KERNEL, 0)
    assert k.kmap(low) == k.page_address(low)
