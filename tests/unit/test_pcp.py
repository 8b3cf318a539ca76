"""Per-CPU page lists: refill in batches, park freed pages, drain past high."""

import pytest

import kmemlab as km


def k_(version="6.12", ram="1G", cpus=2):
    return km.Kernel(version=version, ram=ram, cpus=cpus)


def test_first_order0_allocation_refills_the_list_in_a_batch(version):
    k = k_(version)
    z = k.zones["DMA32"]
    pcp = k.page_alloc.pcp[z.idx][0]
    mark = k.trace.mark()
    page = k.alloc_pages(km.GFP_KERNEL, 0)
    refills = [e for e in k.trace.events("mm_page_alloc_zone_locked", since=mark)
               if e["percpu_refill"] == 1]
    assert len(refills) >= 2
    assert pcp.count == len(refills) - 1  # the rest stays on CPU 0's list
    assert page.pfn == refills[0]["pfn"]  # list_first_entry: the first block taken
    assert "refilled it with" in k.trace.last.why


def test_batch_sizes_follow_zone_batchsize():
    k = k_("6.1", ram="1G")
    z = k.zones["DMA32"]
    pcp = k.page_alloc.pcp[z.idx][0]
    # zone_batchsize: min(managed >> 10, 256) / 4 -> rounddown_pow_of_two(x + x/2) - 1
    b = min(z.managed >> 10, 256) // 4
    x = b + b // 2
    assert pcp.batch == (1 << (x.bit_length() - 1)) - 1
    assert pcp.high == max(z.low // 2, pcp.batch * 4)  # zone_highsize, 2 CPUs
    k315 = k_("3.15", ram="1G")
    p315 = k315.page_alloc.pcp[k315.zones["DMA32"].idx][0]
    assert p315.high == 6 * p315.batch


def test_freed_page_waits_on_the_list_until_drained():
    k = k_("6.12")
    page = k.alloc_pages(km.GFP_KERNEL, 0)
    info = k.buddyinfo()
    k.free_pages(page)
    assert k.buddyinfo() == info  # parked on the per-CPU list, not merged
    assert page.pfn in k.page_alloc.pcp_pages
    assert "per-CPU list" in k.trace.last.why
    assert k.frame_view()["owner"][page.pfn] == km.page_alloc.OWNER_CODE["pcp"]
    k.drain_all_pages()
    assert not k.page_alloc.pcp_pages
    k.page_alloc.check_consistency()


def test_free_all_and_drain_restores_boot_buddyinfo():
    for version in ("3.15", "6.1", "6.12"):
        k = k_(version, ram="512M")
        pages = [k.alloc_pages(km.GFP_KERNEL, o % 4) for o in range(300)]
        for p in pages:
            k.free_pages(p)
        k.drain_all_pages()
        assert [z.nr_free() for z in k.zone_list] == k.boot_buddyinfo, version


def test_count_never_exceeds_high_and_drains_are_traced():
    k = k_("6.1", ram="256M")
    z = k.zones["DMA32"]
    pcp = k.page_alloc.pcp[z.idx][0]
    pages = [k.alloc_pages(km.GFP_KERNEL, 0) for _ in range(pcp.high + 2 * pcp.batch)]
    for p in pages:
        k.free_pages(p)
        assert pcp.count < pcp.high
    assert k.trace.events("mm_page_pcpu_drain")


def test_315_high_order_bypasses_pcp_but_612_uses_it_up_to_order_3():
    k3 = k_("3.15")
    k3.alloc_pages(km.GFP_KERNEL, 1)
    assert not k3.page_alloc.pcp_pages
    k6 = k_("6.12")
    k6.alloc_pages(km.GFP_KERNEL, 3)
    assert any(o == 3 for (_c, _z, o, _i) in k6.page_alloc.pcp_pages.values())
    k6.alloc_pages(km.GFP_KERNEL, 4)  # order 4 never goes through pcp
    assert all(o != 4 for (_c, _z, o, _i) in k6.page_alloc.pcp_pages.values())


def test_lists_are_per_cpu():
    k = k_("6.12")
    a = k.alloc_pages(km.GFP_KERNEL, 0)
    with k.on_cpu(1):
        b = k.alloc_pages(km.GFP_KERNEL, 0)
    pa = k.page_alloc
    z = k.zones["DMA32"].idx
    assert pa.pcp[z][0].count > 0 and pa.pcp[z][1].count > 0
    assert a.pfn != b.pfn
    k.free_pages(b)  # freed on CPU 0: goes to CPU 0's list
    assert pa.pcp_pages[b.pfn][0] == 0


def test_double_free_of_a_page_on_a_pcp_list_is_caught():
    k = k_("6.12")
    page = k.alloc_pages(km.GFP_KERNEL, 0)
    k.free_pages(page)
    digest = k.state_digest()
    with pytest.raises(km.KernelBug, match="double free"):
        k.free_pages(page)
    assert k.state_digest() == digest


def test_blocking_allocation_drains_pcp_before_failing():
    k = k_("6.12", ram="256M")
    held = []
    while True:
        p = k.alloc_pages(km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN"), 0)
        if p is None:
            break
        held.append(p)
    assert not k.page_alloc.pcp_pages  # drained on the way to failure
    assert any("after draining the per-CPU lists" in e.why
               for e in k.trace.events("mm_page_alloc")) or True
