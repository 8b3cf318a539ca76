"""Hypothesis: random vmalloc/vfree/kmalloc/alloc_pages mixes keep VA areas disjoint,
page-table entries consistent with the areas, and pages conserved."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kmemlab as km

OPS = st.lists(st.tuples(st.sampled_from(["vmalloc", "vfree", "kmalloc", "kfree", "pages",
                                          "free_pages", "purge"]),
                         st.integers(1, 300)), min_size=1, max_size=40)


def check(k):
    vs = k.vmalloc_state
    occ = vs.occupied()
    for (_a, b), (c, _d) in zip(occ, occ[1:]):
        assert b <= c, "VA ranges overlap"
    ptes = k.page_tables.mapped_ptes()
    expected = {}
    for area in vs.areas.values():
        for i, pfn in enumerate(area.pfns):
            expected[area.addr + i * k.PAGE_SIZE] = pfn
    vm = {va: e >> 12 & 0xFFFFFFFFFF for va, e in ptes.items() if k.is_vmalloc_addr(va)}
    assert vm == expected
    k.page_alloc.check_consistency()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS, st.sampled_from([("3.15", "x86_64"), ("3.15", "i386"), ("6.12", "x86_64")]))
def test_random_mix(ops, profile):
    k = km.Kernel(version=profile[0], arch=profile[1], ram="128M", pcp=profile[0] != "3.15")
    total0 = k.nr_free_pages(include_pcp=True) + sum(
        pg.nr_pages for pg in k.page_alloc.allocated.values())
    vm, km_, pages = [], [], []
    for op, n in ops:
        if op == "vmalloc":
            v = k.vmalloc(n * 1000)
            if v:
                vm.append(v)
        elif op == "vfree" and vm:
            k.vfree(vm.pop(n % len(vm)))
        elif op == "kmalloc":
            p = k.kmalloc(n * 10, km.GFP_KERNEL)
            if p:
                km_.append(p)
        elif op == "kfree" and km_:
            k.kfree(km_.pop(n % len(km_)))
        elif op == "pages":
            pg = k.alloc_pages(km.GFP_KERNEL, n % 4)
            if pg:
                pages.append(pg)
        elif op == "free_pages" and pages:
            k.free_pages(pages.pop(n % len(pages)))
        elif op == "purge":
            k.purge_vmap_area_lazy()
        check(k)
    total = k.nr_free_pages(include_pcp=True) + sum(
        pg.nr_pages for pg in k.page_alloc.allocated.values())
    assert total == total0
