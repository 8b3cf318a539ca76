"""kmemlab/report.py and the typed kernel bugs of kmemlab/errors.py: each kind of bug
the kernel reports comes out as its own KernelBug subclass carrying its report lines,
and the shared report pieces print what the kernel's routines print."""

import pytest

import kmemlab as km
from kmemlab import errors, report


def _raised(fn, *args, **kw) -> errors.KernelBug:
    with pytest.raises(errors.KernelBug) as info:
        fn(*args, **kw)
    return info.value


def test_every_typed_bug_is_a_kernel_bug_and_keeps_its_report():
    for cls in (errors.DoubleFree, errors.InvalidFree, errors.WrongCache,
                errors.UseAfterFree, errors.OutOfBounds, errors.SleepInAtomic,
                errors.BadPageState, errors.BadGfpMask, errors.ObjectsRemaining,
                errors.Oops):
        e = cls("what happened", ["line 1", "line 2"])
        assert isinstance(e, errors.KernelBug) and e.report == ["line 1", "line 2"]
    assert issubclass(errors.WrongCache, errors.InvalidFree)


def test_slub_debug_double_free_is_a_doublefree_with_the_printed_lines():
    k = km.Kernel(version="6.12", ram="256M", cmdline="slub_debug=F")
    p = k.kmalloc(64, km.GFP_KERNEL)
    k.kfree(p)
    before = len(k.dmesg)
    e = _raised(k.kfree, p)
    assert type(e) is errors.DoubleFree
    assert any("Object already free" in line for line in e.report)
    printed = [line.split("] ", 1)[-1] for line in k.dmesg[before:]]
    assert printed[:len(e.report)] == e.report                   # printed, then raised


def test_hardened_freelist_bug_is_a_doublefree():
    k = km.Kernel(version="6.12", ram="256M")    # Debian: CONFIG_SLAB_FREELIST_HARDENED=y
    p = k.kmalloc(64, km.GFP_KERNEL)
    k.kfree(p)
    e = _raised(k.kfree, p)                       # p is the freelist head: BUG_ON(object == fp)
    assert type(e) is errors.DoubleFree and "kernel BUG at mm/slub.c:" in "\n".join(e.report)


def test_freeing_what_kmalloc_never_returned_is_an_invalidfree():
    k = km.Kernel(version="6.12", ram="256M")
    p = k.kmalloc(64, km.GFP_KERNEL)
    e = _raised(k.kfree, p + 8)                   # inside an object: not a slot start
    assert type(e) is errors.InvalidFree
    page = k.alloc_pages(km.GFP_KERNEL, 0)
    addr = k.page_address(page)
    assert type(_raised(k.kfree, addr)) is errors.InvalidFree   # a buddy page


def test_wrong_cache_and_objects_remaining():
    k = km.Kernel(version="6.12", ram="256M")
    a = k.kmem_cache_create("report_a", 96)
    b = k.kmem_cache_create("report_b", 200)
    obj = k.kmem_cache_alloc(a, km.GFP_KERNEL)
    e = _raised(k.kmem_cache_free, b, obj)
    assert type(e) is errors.WrongCache and isinstance(e, errors.InvalidFree)
    e = _raised(k.kmem_cache_destroy, a)
    assert type(e) is errors.ObjectsRemaining
    assert any("Objects remaining in report_a" in line for line in e.report)


def test_kasan_use_after_free_and_out_of_bounds():
    k = km.Kernel(version="6.12", ram="256M", cmdline="kasan=on")
    p = k.kmalloc(60, km.GFP_KERNEL)
    e = _raised(k.read, p + 60, 1)               # past the 60 bytes asked for
    assert type(e) is errors.OutOfBounds and "slab-out-of-bounds" in e.report[1]
    k.kfree(p)
    e = _raised(k.read, p, 8)
    assert type(e) is errors.UseAfterFree and "slab-use-after-free" in e.report[1]


def test_null_dereference_is_an_oops():
    k = km.Kernel(version="6.12", ram="256M")
    e = _raised(k.read, 0x10, 1)
    assert type(e) is errors.Oops
    assert e.report[0] == "BUG: kernel NULL pointer dereference, address: 0000000000000010"


def test_bad_gfp_masks():
    k = km.Kernel(version="6.12", ram="256M")
    e = _raised(k.alloc_pages, km.GFP_KERNEL | km.GFP("__GFP_RECLAIMABLE")
                | km.GFP("__GFP_MOVABLE"), 0)
    assert type(e) is errors.BadGfpMask
    old = km.Kernel(version="3.15", arch="i386", ram="256M")
    e = _raised(old.get_free_pages, "GFP_HIGHUSER", 0)   # 3.15: VM_BUG_ON(__GFP_HIGHMEM)
    assert type(e) is errors.BadGfpMask


def test_bad_page_state_is_raised_with_the_kernels_first_two_lines():
    k = km.Kernel(version="6.12", ram="256M")
    page = k.alloc_pages(km.GFP_KERNEL, 2)
    e = _raised(k.free_pages, page, 1)          # freed with another order
    assert type(e) is errors.BadPageState
    assert e.report[0].startswith("BUG: Bad page state in process ")
    assert e.report[1].startswith("page dumped because: ")


@pytest.mark.parametrize("version,line", [
    # lib/dump_stack.c: dump_stack_print_info, as real kernels print it (6.12 adds UID,
    # 6.1 prints no preemption model; 3.15 neither)
    ("6.12", "CPU: 0 UID: 0 PID: 1234 Comm: insmod Not tainted 6.12.0-kmemlab #1"),
    ("6.1", "CPU: 0 PID: 1234 Comm: insmod Not tainted 6.1.0-kmemlab #1"),
    ("3.15", "CPU: 0 PID: 1234 Comm: insmod Not tainted 3.15.0-kmemlab #1"),
])
def test_cpu_line(version, line):
    k = km.Kernel(version=version, ram="256M")
    got = report.cpu_line(k)
    assert got == line or got.startswith(line + " ")     # 6.x: + "(PREEMPT_...)" model
    assert k.cpu_line() == got


def test_call_trace_markers_in_task_and_in_irq():
    k = km.Kernel(version="6.12", ram="256M")
    assert report.call_trace(k, ["f"]) == [" <TASK>", " f", " </TASK>"]
    with k.context("hardirq"):
        got = report.call_trace(k, ["f"])
    assert got[0] == " <IRQ>" and " </IRQ>" in got and got[-1] == " </TASK>"


def test_warn_once_prints_the_warn_layout():
    k = km.Kernel(version="6.12", ram="256M")
    n = len(k.dmesg)
    report.warn_once(k, "mm/x.c:1 f+0x0/0x10", "kmemlab: why: test")
    got = [line.split("] ", 1)[-1] for line in k.dmesg[n:]]
    assert got[0] == report.CUT_HERE
    assert got[1] == "WARNING: CPU: 0 PID: 1234 at mm/x.c:1 f+0x0/0x10"
    assert got[2] == "Modules linked in:" and got[-1] == report.END_TRACE
    assert "Call Trace:" in got and "kmemlab: why: test" in got


def test_sleeping_in_atomic_context_is_a_sleepinatomic():
    k = km.Kernel(version="6.12", ram="256M")
    with k.spin_lock("report_lock"):
        e = _raised(k.kmalloc, 64, km.GFP_KERNEL)
    assert type(e) is errors.SleepInAtomic
    assert e.report[0].startswith("BUG: sleeping function called from invalid context")


def test_scheduling_while_atomic_is_a_sleepinatomic():
    k = km.Kernel(version="6.12", ram="256M")
    with k.spin_lock("report_lock"):
        e = _raised(k.msleep, 10)
    assert type(e) is errors.SleepInAtomic and "scheduling while atomic" in str(e)


def test_vfree_of_a_bad_address_warns_and_is_an_invalidfree_then_a_doublefree():
    k = km.Kernel(version="6.12", ram="256M")
    v = k.vmalloc(3 * 4096)
    e = _raised(k.vfree, v + 8)                   # not page aligned
    assert type(e) is errors.InvalidFree
    assert e.report[0] == report.CUT_HERE and e.report[1].startswith("Trying to vfree() bad")
    assert e.report[2].startswith("WARNING: CPU: 0 PID: ") and "mm/vmalloc.c vfree" in e.report[2]
    k.vfree(v)
    e = _raised(k.vfree, v)                       # freed already (lazily purged area)
    assert type(e) is errors.DoubleFree and "nonexistent vm area" in e.report[1]


def test_vmalloc_in_interrupt_context_is_an_oops():
    k = km.Kernel(version="6.12", ram="256M")
    with k.context("hardirq"):
        e = _raised(k.vmalloc, 4096)
    assert type(e) is errors.Oops
    assert e.report == ["kernel BUG at mm/vmalloc.c: __get_vm_area_node: BUG_ON(in_interrupt())"]


def test_kunmap_of_a_page_that_is_not_kmapped_is_an_oops():
    k = km.Kernel(version="3.15", arch="i386", ram="1G")
    page = k.alloc_pages("GFP_HIGHUSER", 0)
    assert page.zone == "HighMem"
    e = _raised(k.kunmap, page)
    assert type(e) is errors.Oops and "kunmap_high" in e.report[0]


def test_warn_prints_message_before_or_after_the_warning_line():
    k = km.Kernel(version="6.12", ram="256M")
    n = len(k.dmesg)
    lines = report.warn(k, "mm/x.c f", before=["first"], after=["second"], modules=True,
                        why="kmemlab: why: test")
    printed = [line.split("] ", 1)[-1] for line in k.dmesg[n:]]
    assert lines == [report.CUT_HERE, "first", report.warning_line(k, "mm/x.c f"), "second",
                     "Modules linked in:"]
    assert printed[:5] == lines and printed[5].startswith("CPU: 0 ")
    assert printed[-2:] == ["kmemlab: why: test", report.END_TRACE]
    n = len(k.dmesg)
    report.warn(k, "mm/y.c g", stack=False, end=False)
    assert [line.split("] ", 1)[-1] for line in k.dmesg[n:]] == [
        report.CUT_HERE, report.warning_line(k, "mm/y.c g")]
