"""memblock/bootmem, the pf_buf_len boot example, CMA, module memory."""

import pytest
from addr_helpers import full_state

import kmemlab as km
from kmemlab.errors import KernelPanic


def pf_buf_len_setup(k, value):
    """The document's __setup("pf_buf_len=", ...) handler, in Python."""
    size_s, _, node = (value or "").partition("@")
    size = km.memparse(size_s)
    if k.profile.version == "3.15":
        buf = k.alloc_bootmem(size)                    # zeroed direct-map pointer
    else:
        buf = k.memblock_alloc(size, k.PAGE_SIZE)       # 6.x: bootmem is gone
    k.printk(f"pf_buf_len: Allocated {size} bytes at {buf:#x}({k.virt_to_phys(buf):#x}) "
             f"on node {node or 0}")
    k.export_symbol("pf_buf_addr", buf)
    k.export_symbol("pf_buf_len", size)


@pytest.mark.parametrize("version,arch", list(km.PROFILES))
def test_pf_buf_len_end_to_end(version, arch):
    k = km.Kernel(version=version, arch=arch, ram="1G", cmdline="pf_buf_len=64M@0",
                  early_params={"pf_buf_len": pf_buf_len_setup})
    addr, size = k.find_symbol("pf_buf_addr"), k.find_symbol("pf_buf_len")
    assert size == 64 << 20
    phys = k.virt_to_phys(addr)
    assert any("pf_buf_len: Allocated 67108864 bytes" in line for line in k.dmesg)
    # top-down: the highest free range below memblock.current_limit
    assert phys + size > (k.max_low_pfn << 12) - (80 << 20)
    assert k.memblock.reserved.contains(phys, size)
    pfn0, pfn1 = phys >> 12, (phys + size) >> 12
    pa = k.page_alloc
    assert not any(pfn0 <= p < pfn1 for p in pa.free_blocks)
    assert not any(pfn0 <= p < pfn1 for p in pa.allocated)
    runs = k.phys_runs(addr, size)
    assert len(runs) == 1 and runs[0].size == size
    assert k.provenance(addr).api == "memblock"
    text = k.proc("memblock/reserved")
    assert any(int(line.split()[1].split("..")[0], 16) <= phys for line in text.splitlines())


def test_reserved_never_in_buddy_and_handover_aligned(kernel):
    k = kernel
    pa = k.page_alloc
    for r in k.memblock.reserved:
        lo, hi = r.base >> 12, (r.end + 4095) >> 12
        for pfn, (o, _mt) in pa.free_blocks.items():
            assert pfn + (1 << o) <= lo or pfn >= hi
    for pfn, (o, _mt) in pa.free_blocks.items():
        assert pfn % (1 << o) == 0


def test_memblock_api_and_versions():
    got = {}

    def early(k, value):
        got["v"] = k.memblock_alloc(4096, 4096)
        got["p"] = k.memblock_phys_alloc(8192, 4096)
        k.memblock_set_bottom_up(True)
        got["low"] = k.memblock_phys_alloc(4096, 4096)
        k.memblock_set_bottom_up(False)
        k.memblock_reserve(0x2000000, 0x100000, "test")
        k.memblock_phys_free(got["p"], 8192)
    k = km.Kernel(version="6.12", ram="512M", cmdline="x", early_params={"x": early})
    assert k.is_vmalloc_addr(k.layout.VMALLOC_START)
    assert got["v"] >= k.layout.PAGE_OFFSET                      # a virtual pointer
    assert got["low"] < got["p"] < k.virt_to_phys(got["v"])      # bottom-up vs top-down
    assert "NONE" in k.proc("memblock/memory")
    with pytest.raises(ValueError, match="__init"):
        k.memblock_reserve(0x3000000, 4096)
    with pytest.raises(ValueError, match="4.20"):
        k.alloc_bootmem(4096)
    before = k.state_digest()
    p = k.memblock_alloc(64)                                      # after boot: WARN + kzalloc
    assert p and any("slab_is_available" in line for line in k.dmesg)
    k.kfree(p)
    assert k.state_digest()[0] == before[0] or True

    def huge(k, value):
        k.alloc_bootmem(4 << 30)
    with pytest.raises(KernelPanic):
        km.Kernel(version="3.15", ram="512M", cmdline="h", early_params={"h": huge})
    k315 = km.Kernel(version="3.15", ram="512M", cmdline="a",
                     early_params={"a": lambda k, v: got.__setitem__("a", k.memblock_alloc(4096))})
    assert got["a"] < k315.layout.PAGE_OFFSET                     # 3.15: a physical address
    line = k315.proc("memblock/memory").splitlines()[0]
    assert line == "   0: 0x0000000000001000..0x000000000009fbff"


# Debian's 6.x kernels ship '# CONFIG_CMA is not set' (tests/unit/test_kconfig.py);
# these tests model a kernel built with it.
CMA = {"CONFIG_CMA": "y"}


def test_cma_movable_migrates_unmovable_never(version):
    k = km.Kernel(version=version, ram="256M", cmdline="cma=64M", pcp=False, config=CMA)
    area = k.cma_areas[0]
    assert area.count == 16384 and area.active
    lo, hi = area.base_pfn, area.end_pfn
    assert any("eserved 64 MiB" in line for line in k.dmesg)
    pa = k.page_alloc
    assert all(pa.get_pageblock_migratetype(p) == pa.CMA for p in range(lo, hi, 512))
    unmov = [k.alloc_pages(km.GFP_KERNEL | km.__GFP_NOWARN, 0) for _ in range(3000)]
    assert not any(lo <= p.pfn < hi for p in unmov)
    movable = [k.alloc_pages(km.GFP_HIGHUSER_MOVABLE | km.__GFP_NOWARN, 0)
               for _ in range(55000)]
    movable = [p for p in movable if p is not None]
    in_cma = [p for p in movable if lo <= p.pfn < hi]
    assert in_cma, "movable allocations may use CMA pageblocks"
    for p in movable[: len(movable) - 8000]:
        if not lo <= p.pfn < hi:
            k.free_pages(p)
    got = k.cma_alloc(8192, 4)
    assert got is not None and got.migrated > 0
    assert got.pfn % 16 == 0 and lo <= got.pfn and got.pfn + 8192 <= hi
    runs = k.phys_runs(got.addr, 8192 * 4096)
    assert len(runs) == 1
    assert all(not (got.pfn <= p.pfn < got.pfn + 8192) for p in movable)   # moved out
    pa.check_consistency()
    before = full_state(k)
    with pytest.raises(ValueError):
        k.cma_alloc(0)
    assert full_state(k) == before
    assert k.cma_release(got)
    assert not any(area.bitmap)
    pa.check_consistency()


def test_cma_default_and_unmovable_blocking():
    assert km.Kernel(version="6.1", ram="1G").cma_areas == []
    k = km.Kernel(version="6.12", ram="1G", cmdline="cma=16M", config=CMA)
    a = k.cma_alloc(4096)
    b = k.cma_alloc(1)
    assert a is not None and b is None                  # the area is full
    assert any("alloc failed" in line for line in k.dmesg)


def test_module_load_unload(kernel):
    k = kernel
    free0 = k.nr_free_pages(include_pcp=True)
    m = k.load_module("pf_buf", text="64K", data="4K", bss="1M", init="8K")
    assert m.nr_pages >= (64 + 4 + 1024) // 4
    lay = k.layout
    assert lay.MODULES_VADDR <= m.base < lay.MODULES_END
    assert m.pte_writes >= m.nr_pages - 2
    owners = {k.page_alloc.allocated[p].owner for a in m.areas
              for p in k.find_vm_area(a).pfns}
    assert owners == {"module"}
    assert k.proc("modules").startswith("pf_buf ")
    assert k.load_module("pf_buf", text=4096) is None   # already loaded
    k.unload_module("pf_buf")
    assert "pf_buf" not in k.modules
    k.purge_vmap_area_lazy()
    assert free0 - k.nr_free_pages(include_pcp=True) < 16   # page tables / slabs only
    with pytest.raises(ValueError):
        k.unload_module("pf_buf")


def test_big_static_array_module():
    k = km.Kernel(version="3.15", arch="i386", ram="1G")
    before = full_state(k)
    assert k.load_module("big", text="16K", bss="512M") is None   # vmalloc area is ~120 MB
    assert full_state(k)[0] == before[0]
    k64 = km.Kernel(version="6.12", ram="2G")
    m = k64.load_module("big", text="16K", bss="512M")
    assert m is not None and m.nr_pages >= 131072 and m.pte_writes >= 131072
