"""Section 4 of the document: each rule broken (report + exception) and followed."""

import pytest

import kmemlab as km
from kmemlab.errors import KernelBug, KernelPanic, OutOfMemory

VERSIONS = tuple(v for v, a in km.PROFILES if a == "x86_64")


def boot(v="6.12", ram="128M", cmdline=""):
    return km.Kernel(version=v, ram=ram, cmdline=cmdline)


def pressure(k):
    """Fill memory with clean page cache until the reader itself had to reclaim."""
    k.workload.page_cache(k.ram + (k.ram >> 2))
    assert k.reclaim.count("file") > 1000


# ---------------------------------------------------------------- rules 1-3: context
@pytest.mark.parametrize("v", VERSIONS)
@pytest.mark.parametrize("ctx", ["hardirq", "softirq", "spin_lock", "irqs_off"])
def test_gfp_kernel_in_atomic_context_is_reported(v, ctx):
    k = boot(v)
    before = k.state_digest()
    frame = {"hardirq": lambda: k.context("hardirq"), "softirq": lambda: k.context("softirq"),
             "spin_lock": lambda: k.spin_lock("dev_lock"),
             "irqs_off": lambda: k.irqs_disabled()}[ctx]
    with pytest.raises(KernelBug) as e:
        with frame():
            k.kmalloc(64, km.GFP_KERNEL)
    assert e.value.report[0].startswith("BUG: sleeping function called from invalid context at ")
    site = {"3.15": "mm/slub.c:965", "6.1": "include/linux/sched/mm.h:274",
            "6.12": "include/linux/sched/mm.h:321",
            "6.18": "include/linux/sched/mm.h:323"}[v]   # a 6.18.0-rc1 0-day report
    assert e.value.report[0].endswith(site)
    irqs = int(ctx in ("hardirq", "irqs_off"))
    atomic = int(ctx != "irqs_off")
    assert f"in_atomic(): {atomic}, irqs_disabled(): {irqs}" in e.value.report[1]
    assert "pid: 1234, name: insmod" in e.value.report[1]
    assert k.state_digest() == before
    assert not k.context_stack.frames


@pytest.mark.parametrize("v", VERSIONS)
def test_gfp_atomic_in_interrupt_succeeds(v):
    k = boot(v)
    with k.context("hardirq"):
        assert k.in_interrupt() and k.in_atomic() and k.irqs_disabled()
        assert k.gfp_for_context() == "GFP_ATOMIC"
        assert k.kmalloc(64, km.GFP_ATOMIC) is not None
    with k.spin_lock("l"):
        assert k.alloc_pages(km.GFP_ATOMIC, 1) is not None
    assert k.in_task() and not k.irqs_disabled() and k.gfp_for_context() == "GFP_KERNEL"
    assert k.kmalloc(64, km.GFP_KERNEL) is not None      # process context, no lock


def test_alloc_pages_and_sleeping_calls_check_context():
    k = boot("6.1")
    with k.context("softirq"):
        with pytest.raises(KernelBug, match="invalid context"):
            k.alloc_pages(km.GFP_KERNEL, 0)
        with pytest.raises(KernelBug) as e:
            k.mutex_lock("m")
        assert e.value.report[0].endswith("kernel/locking/mutex.c:283")
        with pytest.raises(KernelBug) as e:
            k.copy_from_user(16)
        assert e.value.report[0].endswith("lib/usercopy.c:14")
    k.mutex_lock("m")
    k.mutex_unlock("m")
    assert k.copy_from_user(16) == 0


def test_debug_atomic_sleep_off_is_silent_without_pressure():
    k = boot("6.12", cmdline="kmemlab.debug_atomic_sleep=0")
    assert k.kconfig["CONFIG_DEBUG_ATOMIC_SLEEP"] is False
    with k.kprobe_handler("do_sys_open"):
        assert k.kmalloc(4096, km.GFP_KERNEL) is not None
    assert not any("BUG" in line for line in k.dmesg)


# ---------------------------------------------------------------- rule 1.4: kprobe panic
@pytest.mark.parametrize("v", VERSIONS)
def test_kprobe_gfp_kernel_panics_only_under_pressure(v):
    k = boot(v, cmdline="kmemlab.debug_atomic_sleep=0")
    pressure(k)
    with pytest.raises(KernelPanic) as e:
        with k.kprobe_handler("do_sys_open"):
            for _ in range(4 * k.zones["DMA32"].high):
                k.alloc_pages(km.GFP_KERNEL, 0)
    rep = e.value.report
    assert rep[0] == "BUG: scheduling while atomic: insmod/1234/0x00000002"
    assert "Kernel panic - not syncing: Hard LOCKUP" in rep
    assert k.panicked is e.value
    with pytest.raises(KernelPanic):
        k.kmalloc(8, km.GFP_ATOMIC)


def test_kprobe_gfp_atomic_under_pressure_survives():
    k = boot("6.12", cmdline="kmemlab.debug_atomic_sleep=0")
    pressure(k)
    with k.kprobe_handler("do_sys_open"):
        got = [k.alloc_pages(km.GFP_ATOMIC | km.__GFP_NOWARN, 0) for _ in range(8)]
    assert all(got) and k.panicked is None


def test_msleep_in_spinlock_is_scheduling_while_atomic():
    k = boot("6.1")
    with pytest.raises(KernelBug) as e:
        with k.spin_lock("l"):
            k.msleep(10)
    assert e.value.report[0] == "BUG: scheduling while atomic: insmod/1234/0x00000002"
    k.msleep(10)


# ---------------------------------------------------------------- watermarks and reserves
def _drain_to_min(k, gfp):
    """Take pages with ``gfp`` until the allocation fails; return how many succeeded."""
    n = 0
    while k.alloc_pages(gfp | km.__GFP_NOWARN, 0) is not None:
        n += 1
    return n


def _below_min_with_atomic(k):
    """GFP_ATOMIC dips below min in every zone until its own reserve is gone."""
    while True:
        while k.alloc_pages(km.GFP_ATOMIC | km.__GFP_NOWARN, 0) is not None:
            pass
        if not k.drain_all_pages():      # the per-CPU lists are empty too
            break
    z = k.zones["DMA32"]
    assert z.free_pages <= z.min
    return z


@pytest.mark.parametrize("v", VERSIONS)
def test_gfp_atomic_goes_below_min_and_fails_when_reserve_is_gone(v):
    k = boot(v)
    k.workload.anon(k.ram // 2, comm="app", oom_score_adj=-1000)
    pa = k.page_alloc
    z = k.zones["DMA32"]
    n = 0
    while z.free_pages > z.min:
        assert k.alloc_pages(km.GFP_ATOMIC, 0) is not None   # GFP_KERNEL would reclaim here
        n += 1
    assert n > 0 and z.free_pages <= z.min
    _drain_to_min(k, km.GFP_ATOMIC)
    assert z.free_pages <= pa.effective_min(z, pa.gfp_to_alloc_flags(
        k.gfp_value("GFP_ATOMIC"), 0))
    assert k.alloc_pages(km.GFP_ATOMIC, 0) is None
    assert "page allocation failure: order:0" in "\n".join(k.dmesg[-20:])


def test_gfp_kernel_below_min_reclaims_page_cache():
    k = boot("6.12")
    pressure(k)
    _below_min_with_atomic(k)
    stalls = k.vmstat()["allocstall_dma32"]
    steal = k.vmstat()["pgsteal_direct"]
    assert k.alloc_pages(km.GFP_KERNEL, 0) is not None
    vm = k.vmstat()
    assert vm["allocstall_dma32"] > stalls and vm["pgsteal_direct"] > steal
    assert any("reclaims memory itself" in k.explain(e)
               for e in k.trace.events("mm_vmscan_direct_reclaim_begin"))


def test_gfp_nowait_315_dips_into_reserve_but_612_does_not():
    res = {}
    for v in ("3.15", "6.12"):
        k = boot(v)
        z = k.zones["DMA32"]
        k.workload.anon(k.ram // 2, comm="app", oom_score_adj=-1000)
        _drain_to_min(k, km.GFP_NOWAIT)
        k.drain_all_pages()
        res[v] = (z.free_pages - z.min) / z.min
    # 3.15: ALLOC_HARDER (no __GFP_WAIT) → down to 75 % of min; 6.12: stops at min
    assert res["3.15"] < -0.15
    assert res["6.12"] > -0.05


# ---------------------------------------------------------------- reclaim, NOIO, OOM
def test_gfp_noio_cannot_reclaim_dirty_pages():
    for gfp, expect in ((km.GFP_NOIO, None), (km.GFP_KERNEL, "ok")):
        k = boot("6.12")
        k.workload.page_cache(k.ram + (k.ram >> 2))
        assert k.workload.write_cached(1.0) == k.reclaim.count("file")
        assert k.reclaim.count("file", dirty=True) == k.reclaim.count("file")
        _below_min_with_atomic(k)
        got = k.alloc_pages(gfp | km.__GFP_NOWARN, 0)
        if expect is None:
            assert got is None
            assert "dirty pages skipped" in k.reclaim.last_why
        else:
            assert got is not None


@pytest.mark.parametrize("v", VERSIONS)
def test_oom_killer_fires_once_then_allocation_succeeds(v):
    k = boot(v)
    hog = k.workload.anon(k.ram // 2, comm="hog")
    assert not hog.oom_killed
    small = k.workload.anon("1M", comm="small")
    _below_min_with_atomic(k)
    assert k.alloc_pages(km.GFP_KERNEL, 0) is not None
    text = "\n".join(k.dmesg)
    if v == "3.15":
        assert f"Out of memory: Kill process {hog.pid} (hog) score " in text
        assert f"Killed process {hog.pid} (hog) total-vm:" in text
    else:
        assert f"Out of memory: Killed process {hog.pid} (hog) total-vm:" in text
        assert k.vmstat()["oom_kill"] == 1
    assert k.reclaim.oom_kills == 1 and hog.oom_killed and not small.oom_killed
    assert k.alloc_pages(km.GFP_KERNEL, 0) is not None
    assert k.reclaim.oom_kills == 1


def test_noretry_and_nofail_semantics():
    k = boot("6.12")
    k.workload.anon(k.ram // 2, comm="hog")
    _below_min_with_atomic(k)
    assert k.alloc_pages(km.GFP_KERNEL | km.__GFP_NORETRY | km.__GFP_NOWARN, 0) is None
    assert k.reclaim.oom_kills == 0
    assert k.alloc_pages(km.GFP_KERNEL | km.__GFP_RETRY_MAYFAIL | km.__GFP_NOWARN, 0) is None
    assert k.reclaim.oom_kills == 0
    assert k.alloc_pages(km.GFP_KERNEL | km.__GFP_NOFAIL, 0) is not None
    assert k.reclaim.oom_kills == 1
    k2 = boot("6.12")
    _below_min_with_atomic(k2)
    with pytest.raises(OutOfMemory):
        k2.alloc_pages(km.GFP_KERNEL | km.__GFP_NOFAIL, 0)


def test_kswapd_reclaims_to_high():
    k = boot("6.1")
    k.workload.page_cache(k.ram)
    z = k.zones["DMA32"]
    assert z.free_pages >= z.high
    assert k.vmstat()["pgsteal_kswapd"] > 0


def test_compaction_migrates_movable_pages_for_high_order():
    k = boot("6.12", ram="128M")
    k.workload.page_cache(k.ram)          # page cache everywhere, fragmented by reclaim
    k.workload.anon("8M", comm="app")
    before = k.vmstat()["pgmigrate_success"]
    pages = []
    for _ in range(40):
        p = k.alloc_pages(km.GFP_KERNEL | km.__GFP_NOWARN, 4)
        if p is None:
            break
        pages.append(p)
    vm = k.vmstat()
    assert pages and vm["compact_stall"] > 0
    assert vm["pgmigrate_success"] >= before
    k.page_alloc.check_consistency()


def test_vmstat_names_per_version():
    assert "allocstall 0" in boot("3.15").proc("vmstat")
    text = boot("6.12").proc("/proc/vmstat")
    assert "oom_kill 0" in text and "allocstall_normal 0" in text and "compact_stall 0" in text


# ---------------------------------------------------------------- rule 5: check NULL
@pytest.mark.parametrize("v", VERSIONS)
def test_unchecked_null_is_an_oops(v):
    k = boot(v)
    with pytest.raises(KernelBug) as e:
        k.write(None, 4)
    first = {"3.15": "BUG: unable to handle kernel NULL pointer dereference at "
                     "0000000000000000"}.get(v, "BUG: kernel NULL pointer dereference, "
                                                "address: 0000000000000000")
    assert e.value.report[0] == first
    with pytest.raises(KernelPanic):
        with k.context("hardirq"):
            k.read(0x10, 1)      # ZERO_SIZE_PTR in an interrupt: fatal


def test_checked_pointer_is_fine():
    k = boot("6.12")
    p = k.kmalloc(32, km.GFP_KERNEL)
    if p is not None:
        k.write(p, 32)
        k.read(p, 32)


# ---------------------------------------------------------------- rule 4: DMA
def test_dma_needs_gfp_dma():
    k = boot("6.12")
    p = k.kmalloc(512, km.GFP_KERNEL)
    assert k.dma_map_single(p, 512, dma_mask=0xFFFFFF) == (1 << 64) - 1
    assert "overflow (mask ffffff" in "\n".join(k.dmesg[-4:])
    q = k.kmalloc(512, km.GFP_KERNEL | km.GFP_DMA)
    assert k.dma_map_single(q, 512, dma_mask=0xFFFFFF) == k.virt_to_phys(q)


# ---------------------------------------------------------------- rule 6 / vmalloc
def test_vmalloc_rule_via_page_allocator():
    k = boot("6.12")
    with pytest.raises(KernelBug):
        with k.spin_lock("l"):
            k.might_sleep("mm/vmalloc.c", 3289, what="vmalloc")

