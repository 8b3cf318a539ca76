"""vmalloc: pages, guard page, first fit, lazy purge, contiguity, failures, vmallocinfo."""

import os
import re

import pytest
from addr_helpers import full_state

import kmemlab as km
from kmemlab.errors import KernelBug

LINE = re.compile(r"^0x[0-9a-f]+-0x[0-9a-f]+ +\d+( \S+\+0x[0-9a-f]+/0x[0-9a-f]+( \[\S+\])?)?"
                  r"( pages=\d+)?( phys=(0x)?[0-9a-f]+)?( ioremap)?( sparse)?( vmalloc)?( vmap)?"
                  r"( user)?( dma-coherent)?( vpages)?( N\d+=\d+)*$")
UNPURGED = re.compile(r"^0x[0-9a-f]+-0x[0-9a-f]+ +\d+ (unpurged vm_area|vm_map_ram)$")


def test_pages_and_guard(kernel):
    k = kernel
    v = k.vmalloc(5 * k.PAGE_SIZE + 1)
    a = k.find_vm_area(v)
    assert a.nr_pages == 6 and a.size == 7 * k.PAGE_SIZE and a.api == "vmalloc"
    assert all(k.page_alloc.allocated[p].owner == "vmalloc" for p in a.pfns)
    w = k.vmalloc(k.PAGE_SIZE)
    assert w == v + 7 * k.PAGE_SIZE                 # right after the guard page
    if k.profile.version != "3.15":
        x = k.vmalloc_node_range(k.PAGE_SIZE, vm_flags="VM_NO_GUARD")
        assert k.find_vm_area(x).size == k.PAGE_SIZE
    else:
        with pytest.raises(ValueError, match="VM_NO_GUARD"):
            k.vmalloc_node_range(k.PAGE_SIZE, vm_flags="VM_NO_GUARD")


def test_first_fit_reuses_lowest_hole(kernel):
    k = kernel
    a = [k.vmalloc(4 * k.PAGE_SIZE) for _ in range(4)]
    k.vfree(a[1])
    k.purge_vmap_area_lazy()
    small = k.vmalloc(2 * k.PAGE_SIZE)
    assert small == a[1]                              # the lowest hole that fits
    big = k.vmalloc(10 * k.PAGE_SIZE)
    assert big > a[3]


def test_lazy_purge_threshold(kernel):
    k = kernel
    st = k.vmalloc_state
    limit = st.lazy_max_pages()
    assert limit == k.nr_cpus.bit_length() * 8192
    per = 512                     # 511 pages + guard; the page array is kmalloc-4k
    flushes = st.stats["tlb_flushes"]
    n = limit // per
    for _ in range(n):
        k.vfree(k.vmalloc((per - 1) * k.PAGE_SIZE))
    assert st.lazy_nr == n * per and st.stats["tlb_flushes"] == flushes   # not above yet
    k.vfree(k.vmalloc((per - 1) * k.PAGE_SIZE))
    assert st.lazy_nr == 0 and st.stats["tlb_flushes"] == flushes + 1     # one flush
    assert any(e.name == "purge_vmap_area_lazy" for e in k.trace)


def test_contiguity_kmalloc_vs_vmalloc(kernel):
    k = kernel
    p = k.kmalloc(8192, km.GFP_KERNEL)
    assert len(k.phys_runs(p, 8192)) == 1
    g = k.get_free_pages(km.GFP_KERNEL, 4)
    assert len(k.phys_runs(g, 16 * k.PAGE_SIZE)) == 1
    # fragment: hold every other page
    flags = km.GFP_KERNEL if k.profile.is_64bit else km.GFP_HIGHUSER   # vmalloc's zone
    held = [k.alloc_pages(flags, 0) for _ in range(400)]
    for pg in held[::2]:
        k.free_pages(pg)
    v = k.vmalloc(64 * k.PAGE_SIZE)
    runs = k.phys_runs(v, 64 * k.PAGE_SIZE)
    assert len(runs) > 1 and sum(r.size for r in runs) == 64 * k.PAGE_SIZE
    assert k.provenance(v + 5).api == "vmalloc"
    assert k.provenance(p).api == "kmalloc"
    assert k.provenance(g).api == "alloc_pages"
    with pytest.raises(ValueError, match="not mapped"):
        k.phys_runs(v, 65 * k.PAGE_SIZE)              # runs into the guard page


def test_steps_replay_the_version_path(kernel):
    k = kernel
    k.vmalloc(600 * k.PAGE_SIZE)
    fns = [s.function for s in k.vmalloc_steps]
    assert fns[0] == "__vmalloc_node_range" and "alloc_vmap_area" in fns
    assert fns[-1] == "clear_vm_uninitialized_flag"
    if k.profile.version == "3.15":
        assert "map_vm_area" in fns
    else:
        assert fns.count("alloc_pages_bulk_array_node") >= 6 and "vmap_pages_range" in fns
    nested = [s for s in k.vmalloc_steps if s.depth > 0]
    assert nested and all(isinstance(s.data, dict) for s in k.vmalloc_steps)


def test_va_exhaustion_fails_cleanly(kernel):
    k = kernel
    start = k.layout.VMALLOC_START
    end = start + 8 * k.PAGE_SIZE
    k.vmalloc_node_range(4 * k.PAGE_SIZE, start=start, end=end)
    before = full_state(k)
    assert k.vmalloc_node_range(4 * k.PAGE_SIZE, start=start, end=end) is None
    assert full_state(k) == before
    assert any("vmap allocation for size" in line for line in k.dmesg)


def test_page_failure_rolls_back(kernel):
    v, a = kernel.profile.version, kernel.profile.arch
    k = km.Kernel(version=v, arch=a, ram="64M", pcp=False)
    k.vmalloc(k.PAGE_SIZE)                              # page tables exist already
    k.purge_vmap_area_lazy()
    free0 = k.nr_free_pages(include_pcp=True)
    busy0 = set(k.vmalloc_state.areas)
    tables0 = k.page_tables.nr_table_pages()

    def owners():   # SLUB may keep a new, empty slab for the kmalloc'd page array
        return sorted(pg.owner for pg in k.page_alloc.allocated.values()
                      if pg.owner not in ("pgtable", "slab"))

    def slab_pages():
        return sum(pg.nr_pages for pg in k.page_alloc.allocated.values() if pg.owner == "slab")
    owners0, slab0 = owners(), slab_pages()
    assert k.vmalloc(k.totalram_pages * k.PAGE_SIZE - k.PAGE_SIZE) is None
    assert set(k.vmalloc_state.areas) == busy0
    k.purge_vmap_area_lazy()
    # kernel page tables are never freed (vunmap_range_noflush), everything else came back
    new_tables = k.page_tables.nr_table_pages() - tables0
    assert k.nr_free_pages(include_pcp=True) + new_tables + slab_pages() - slab0 == free0
    assert owners() == owners0
    assert any("vmalloc" in line and ("error" in line or "failure" in line) for line in k.dmesg)
    k.page_alloc.check_consistency()


def test_errors_leave_state_unchanged(kernel):
    k = kernel
    v = k.vmalloc(2 * k.PAGE_SIZE)
    before = full_state(k)
    with pytest.raises(KernelBug):
        k.vfree(v + k.PAGE_SIZE)                      # interior pointer
    with pytest.raises(KernelBug):
        k.vfree(v + 1)                                # not page aligned
    with pytest.raises(KernelBug):
        k.vfree(k.layout.VMALLOC_END - k.PAGE_SIZE)   # never allocated
    with pytest.raises(ValueError):
        k.vmalloc(-1)
    with pytest.raises(TypeError):
        k.vmalloc(1.5)
    with pytest.raises(KernelBug):
        with k.context("hardirq"):
            k.vmalloc(4096)
    assert k.vmalloc(0) is None
    assert full_state(k) == before
    k.vfree(v)
    before = full_state(k)
    with pytest.raises(KernelBug, match="double free"):
        k.vfree(v)
    assert full_state(k) == before
    k.vfree(None)


def test_vmap_vunmap(kernel):
    k = kernel
    pages = [k.alloc_pages(km.GFP_KERNEL, 0) for _ in range(3)]
    v = k.vmap(pages)
    assert [k.vmalloc_to_pfn(v + i * k.PAGE_SIZE) for i in range(3)] == [p.pfn for p in pages]
    assert k.vmalloc_to_page(v) is pages[0]
    assert " vmap" in k.proc("vmallocinfo")
    k.vunmap(v)
    assert all(p.pfn in k.page_alloc.allocated for p in pages)   # pages stay
    assert k.vmalloc_to_pfn(v) is None


def test_vmallocinfo_format(kernel):
    k = kernel
    k.vmalloc(4096)
    k.vmalloc(5 << 20)          # page array > PAGE_SIZE: vmalloc-ed, vpages
    x = k.vzalloc(8192)
    k.vfree(x)
    text = k.proc("vmallocinfo")
    lines = text.splitlines()
    assert any("vpages" in ln for ln in lines)
    for ln in lines:
        assert LINE.match(ln) or UNPURGED.match(ln), ln
    if k.profile.version == "3.15":
        assert "unpurged" not in text
    else:
        assert lines[-1].endswith("unpurged vm_area")
    w = 16 if k.profile.is_64bit else 8
    assert re.match(rf"^0x[0-9a-f]{{{w}}}-0x[0-9a-f]{{{w}}} ", lines[0])


@pytest.mark.fidelity
def test_vmallocinfo_matches_this_machine():
    try:
        with open("/proc/vmallocinfo") as f:
            real = f.read().splitlines()
    except OSError:
        pytest.skip("/proc/vmallocinfo is not readable here")
    if not real or os.geteuid() != 0:
        pytest.skip("needs root to read /proc/vmallocinfo")
    for ln in real:
        assert LINE.match(ln) or UNPURGED.match(ln), f"our pattern does not parse: {ln!r}"
    sim = km.Kernel(version="6.12", ram="1G")
    sim.vmalloc(20480)
    ours = sim.proc("vmallocinfo").splitlines()[0]
    real_vm = next(ln for ln in real if " vmalloc" in ln and "pages=" in ln)
    shape = re.compile(r"0x[0-9a-f]{16}-0x[0-9a-f]{16} +\d+ \S+\+0x[0-9a-f]+/0x[0-9a-f]+ "
                       r"pages=\d+ vmalloc( vpages)? N0=\d+")
    assert shape.fullmatch(ours) and shape.fullmatch(real_vm)
