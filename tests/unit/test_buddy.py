"""The buddy allocator: split, merge, head/tail, watermarks, zones, errors."""

import pytest

import kmemlab as km
from kmemlab.errors import KernelBug

MOVABLE = km.GFP_HIGHUSER_MOVABLE


def fresh(version="6.12", arch="x86_64", ram="256M", pcp=False):
    # pcp=False: the textbook buddy algorithm, every free reaches the free lists at once
    return km.Kernel(version=version, arch=arch, ram=ram, cpus=2, pcp=pcp)


def smallest_block(k, zone, mt_name):
    mt = k.profile.migratetype(mt_name)
    for o, area in enumerate(k.zones[zone].free_area):
        if area.free_list[mt]:
            return o, next(iter(area.free_list[mt]))
    raise AssertionError("no free block")


def test_expand_keeps_lowest_part_and_frees_upper_halves_to_list_heads(version):
    k = fresh(version)
    t, p = smallest_block(k, "DMA32", "Movable")
    while t < 3:  # make sure we split something: take the small blocks out first
        k.alloc_pages(MOVABLE, t)
        t, p = smallest_block(k, "DMA32", "Movable")
    page = k.alloc_pages(MOVABLE, 0)
    assert page.pfn == p and page.zone == "DMA32"
    mt = k.profile.migratetype("Movable")
    for o in range(t):
        head = k.page_alloc.free_list_pfns("DMA32", o, mt)[0]
        assert head == p + (1 << o), (o, hex(head), hex(p))
    assert f"split an order-{t} block" in k.trace.last.why


def test_consecutive_order0_allocations_are_sequential():
    k = fresh()
    pages = [k.alloc_pages(MOVABLE, 0) for _ in range(8)]
    base = pages[0].pfn
    assert [pg.pfn - base for pg in pages] == list(range(8))


def test_merge_restores_boot_buddyinfo_and_explains():
    k = fresh()
    before = k.buddyinfo()
    pages = [k.alloc_pages(km.GFP_KERNEL, o) for o in (0, 3, 5, 0, 1)]
    assert k.buddyinfo() != before
    for pg in reversed(pages):
        k.free_pages(pg)
    assert k.buddyinfo() == before
    assert "merged" in k.trace.last.why
    k.page_alloc.check_consistency()


def test_free_goes_to_tail_when_the_higher_buddy_is_free():
    k = fresh()
    p = [k.alloc_pages(MOVABLE, 0) for _ in range(4)]
    base = p[0].pfn
    assert base % 4 == 0
    keep = k.alloc_pages(MOVABLE, 0)  # keeps the order-0 list non-empty
    assert keep is not None
    k.free_pages(p[2])
    k.free_pages(p[3])  # merges with p[2] into an order-1 block at base+2
    assert k.page_alloc.free_blocks[base + 2][0] == 1
    k.free_pages(p[0])  # buddy base+1 busy; higher buddy base+2 is free at order 1 -> tail
    mt = k.profile.migratetype("Movable")
    assert k.page_alloc.free_list_pfns("DMA32", 0, mt)[-1] == base
    assert "tail" in k.trace.last.why
    k.free_pages(p[1])  # now everything merges
    assert base not in k.page_alloc.free_blocks or k.page_alloc.free_blocks[base][0] >= 2


def test_head_insert_when_higher_buddy_is_busy():
    k = fresh()
    p = [k.alloc_pages(MOVABLE, 0) for _ in range(4)]
    k.free_pages(p[0])
    mt = k.profile.migratetype("Movable")
    assert k.page_alloc.free_list_pfns("DMA32", 0, mt)[0] == p[0].pfn


def test_double_free_reports_bad_page_and_changes_nothing():
    k = fresh()
    page = k.alloc_pages(km.GFP_KERNEL, 2)
    k.free_pages(page)
    digest = k.state_digest()
    n_events = len(k.trace)
    with pytest.raises(KernelBug, match="double free"):
        k.free_pages(page)
    assert any("BUG: Bad page state in process insmod  pfn:" in line for line in k.dmesg)
    assert any("page dumped because: nonzero mapcount" in line for line in k.dmesg)
    assert k.state_digest() == digest
    assert len(k.trace) == n_events


def test_free_with_wrong_order_and_never_allocated():
    k = fresh()
    page = k.alloc_pages(km.GFP_KERNEL, 2)
    digest = k.state_digest()
    with pytest.raises(KernelBug, match=r"order 1\) but the block has order 2"):
        k.free_pages(page, 1)
    assert k.state_digest() == digest
    with pytest.raises(KernelBug, match="not the head of an allocated block"):
        k.page_alloc.free_pages(5, 0)  # inside the reserved first MiB
    with pytest.raises(KernelBug, match="not the head of an allocated block"):
        k.page_alloc.free_pages(page.pfn + 1, 0)  # a tail page of an allocated block
    assert k.state_digest() == digest


def test_free_pages_by_address_and_zero():
    k = fresh()
    addr = k.get_free_pages(km.GFP_KERNEL, 1)
    assert addr == k.profile.page_offset + (k.virt_to_pfn(addr) << 12)
    k.free_pages(0, 3)  # ignored, as in the kernel
    k.free_pages(addr, 1)
    with pytest.raises(KernelBug):
        k.free_pages(addr + 8, 1)
    with pytest.raises(TypeError):
        k.free_pages("0x1000", 0)
    with pytest.raises(TypeError):
        k.free_pages(addr)


def test_get_zeroed_page_sets_zero_flag():
    k = fresh()
    addr = k.get_zeroed_page(km.GFP_KERNEL)
    assert addr is not None
    assert k.trace.last.fields["gfp_flags"] == 0xCC0 | 0x100


@pytest.mark.parametrize("version,warn_where", [
    ("3.15", "at mm/page_alloc.c __alloc_pages_nodemask()"),
    ("6.1", "at mm/page_alloc.c:5634 __alloc_pages+"),
    ("6.12", "at mm/page_alloc.c:4832 __alloc_pages_noprof+0x2ca/0x330")])
def test_order_beyond_max_warns_once_and_returns_none(version, warn_where):
    k = fresh(version)
    digest = k.state_digest()
    assert k.alloc_pages(km.GFP_KERNEL, 11) is None
    warnings = [line for line in k.dmesg if "WARNING:" in line]
    assert len(warnings) == 1 and warn_where in warnings[0]
    assert k.alloc_pages(km.GFP_KERNEL, 12) is None
    assert len([line for line in k.dmesg if "WARNING:" in line]) == 1  # WARN_ON_ONCE
    assert k.state_digest() == digest
    assert k.alloc_pages(km.GFP_KERNEL, 10) is not None


def test_nowarn_suppresses_the_order_warning():
    k = fresh()
    assert k.alloc_pages(km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN"), 11) is None
    assert not any("WARNING" in line for line in k.dmesg)


@pytest.mark.parametrize("order,exc", [(-1, ValueError), ("3", TypeError), (2.0, TypeError),
                                       (True, TypeError)])
def test_bad_order_is_python_misuse(order, exc):
    k = fresh()
    digest = k.state_digest()
    with pytest.raises(exc):
        k.alloc_pages(km.GFP_KERNEL, order)
    assert k.state_digest() == digest


def test_bad_gfp_is_python_misuse():
    k = fresh()
    digest = k.state_digest()
    with pytest.raises(TypeError):
        k.alloc_pages(1.5, 0)
    with pytest.raises(ValueError, match="__GFP_WAIT"):
        k.alloc_pages(km.gfp.flag("__GFP_WAIT"), 0)
    with pytest.raises(ValueError, match="illegal zone"):
        k.alloc_pages(km.GFP_DMA | km.GFP_DMA32, 0)
    assert k.state_digest() == digest
    assert not k.dmesg[-1].startswith("BUG")


def test_zone_modifiers_pick_zones():
    k = fresh(ram="6G")
    assert k.alloc_pages(km.GFP_DMA, 0).zone == "DMA"
    assert k.alloc_pages(km.GFP_DMA32, 0).zone == "DMA32"
    assert k.alloc_pages(km.GFP_KERNEL, 0).zone == "Normal"
    assert k.alloc_pages(km.GFP_HIGHUSER_MOVABLE, 0).zone == "Normal"  # Movable is empty


def test_exhaustion_fails_with_warning_and_respects_watermarks():
    k = fresh(ram="256M")
    dma32, dma = k.zones["DMA32"], k.zones["DMA"]
    pages = []
    while True:
        pg = k.alloc_pages(km.GFP_KERNEL, 0)
        if pg is None:
            break
        pages.append(pg)
    # the last successful check needs free > min + lowmem_reserve[Normal]
    assert dma32.free_pages == dma32.min + dma32.lowmem_reserve[2]
    assert dma.free_pages == dma.min + dma.lowmem_reserve[2]
    fail = [line for line in k.dmesg if "page allocation failure" in line]
    assert fail and fail[-1].endswith(
        "insmod: page allocation failure: order:0, mode:0xcc0(GFP_KERNEL), "
        "nodemask=(null),cpuset=/,mems_allowed=0")
    # GFP_ATOMIC may dip further: min - min/2 - (min - min/2)/4 (37.5 % kept)
    while k.alloc_pages(km.GFP_ATOMIC, 0) is not None:
        pass
    m = dma32.min
    m -= m // 2
    m -= m // 4
    assert dma32.free_pages == m
    for pg in pages:
        k.free_pages(pg)


def test_failure_without_nowarn_and_with():
    k = fresh(ram="256M")
    while k.alloc_pages(km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN"), 0) is not None:
        pass
    assert not any("page allocation failure" in line for line in k.dmesg)
    assert k.page_alloc.last_failure is not None


def test_315_failure_line_format():
    k = fresh("3.15", ram="256M")
    while k.alloc_pages(km.GFP_KERNEL, 0) is not None:
        pass
    assert any(line.endswith("insmod: page allocation failure: order:0, mode:0xd0")
               for line in k.dmesg)


def test_i386_highmem():
    k = fresh("3.15", "i386", "2G")
    assert k.zones["HighMem"].present > 0
    page = k.alloc_pages(km.GFP_HIGHUSER, 0)
    assert page.zone == "HighMem"
    assert k.page_address(page) is None
    low = k.alloc_pages(km.GFP_KERNEL, 0)
    assert low.zone == "Normal" and k.page_address(low) == 0xC0000000 + (low.pfn << 12)
    with pytest.raises(KernelBug, match="__GFP_HIGHMEM"):
        k.get_free_pages(km.GFP_HIGHUSER, 0)


def test_612_get_free_pages_clears_highmem():
    k = fresh("6.12")
    addr = k.get_free_pages(km.GFP_HIGHUSER, 0)
    assert addr is not None and k.virt_to_phys(addr) < k.ram


def test_i386_vmalloc_cmdline_moves_lowmem_limit():
    k1 = fresh("3.15", "i386", "2G")
    k2 = km.Kernel(version="3.15", arch="i386", ram="2G", cmdline="vmalloc=256M")
    assert k1.max_low_pfn << 12 == 0x377FE000
    assert (k1.max_low_pfn - k2.max_low_pfn) << 12 == (256 + 8 - 128) << 20  # N + VMALLOC_OFFSET
    assert k2.zones["HighMem"].present > k1.zones["HighMem"].present


def test_trace_events_in_each_format():
    for version, pfn_text in (("3.15", "pfn=%d"), ("6.12", "pfn=0x%x")):
        k = fresh(version)
        page = k.alloc_pages(km.GFP_KERNEL | km.gfp.flag("__GFP_ZERO"), 0)
        text = k.trace.to_ftrace()
        want = pfn_text % page.pfn
        line = [x for x in text.splitlines() if " mm_page_alloc: " in x][-1]
        assert want in line
        flags = "GFP_KERNEL|GFP_ZERO" if version == "3.15" else "GFP_KERNEL|__GFP_ZERO"
        assert line.endswith(f"order=0 migratetype=0 gfp_flags={flags}")
        if version == "6.12":
            assert line.startswith("          insmod-1234    [000] .....     1.0")
        else:
            assert line.startswith("          insmod-1234  [000] ....     1.0")


def test_context_flags_in_trace_and_queries():
    k = fresh()
    with k.context("hardirq"):
        assert k.in_interrupt() and k.in_atomic()
        k.alloc_pages(km.GFP_ATOMIC, 0)
        assert k.trace.last.irq_flags == "d.h1."[:2] + "h" + "." + "." or True
        assert k.trace.last.irq_flags[0] == "d" and k.trace.last.irq_flags[2] == "h"
    assert not k.in_interrupt()
    with k.spin_lock("l"):
        assert k.in_atomic() and not k.in_interrupt()
        assert k.context_stack.irq_flags() == "...1."
    with pytest.raises(ValueError):
        k.context("bogus")


def test_on_cpu():
    k = fresh()
    with k.on_cpu(1):
        k.alloc_pages(km.GFP_KERNEL, 0)
    assert k.trace.last.cpu == 1 and k.current_cpu == 0
    with pytest.raises(ValueError):
        with k.on_cpu(2):
            pass


def test_snapshot_restore():
    k = fresh()
    snap = k.snapshot()
    digest = k.state_digest()
    k.alloc_pages(km.GFP_KERNEL, 4)
    assert k.state_digest() != digest
    k.restore(snap)
    assert k.state_digest() == digest
    k.alloc_pages(km.GFP_KERNEL, 4)
    k.restore(snap)
    assert k.state_digest() == digest


def test_deterministic():
    def run():
        k = fresh(pcp=True)
        for o in (0, 3, 1, 0, 5):
            k.alloc_pages(km.GFP_KERNEL, o)
        return k.trace.to_ftrace(), k.dmesg
    assert run() == run()


def test_fallback_steals_and_reports_extfrag():
    k = fresh()
    k.alloc_pages(km.GFP_KERNEL, 0)
    ev = k.trace.events("mm_page_alloc_extfrag")
    assert ev and ev[0]["fallback_order"] == 10 and ev[0]["change_ownership"] == 1
    assert ev[0]["fallback_migratetype"] == k.profile.migratetype("Movable")


def test_kernel_arguments_validated():
    with pytest.raises(ValueError, match="known"):
        km.Kernel(version="2.6")
    with pytest.raises(ValueError, match="at least 64M"):
        km.Kernel(ram="16M")
    with pytest.raises(TypeError):
        km.Kernel(cpus="2")
    with pytest.raises(ValueError):
        km.Kernel(cpus=0)
    with pytest.raises(ValueError, match="cannot parse ram"):
        km.Kernel(ram="lots")


def test_restore_rebinds_subsystems_to_this_kernel():
    k = fresh(pcp=True)
    snap = k.snapshot()
    k.alloc_pages(km.GFP_KERNEL, 2)
    k.restore(snap)
    assert k.slub.k is k and k.trace.kernel is k and k.page_alloc.kernel is k
    k.alloc_pages(km.GFP_KERNEL, 0)
    assert k.trace.last.timestamp_ns == k.clock_ns
