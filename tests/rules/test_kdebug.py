"""kmemleak, KASAN, slub_debug, module unload leaks, determinism."""

import pytest

import kmemlab as km
from kmemlab.errors import KernelBug


def leaky_module(k):
    mod = k.kmodule("leaky")

    def leaky_init():
        head = k.kmalloc(64, km.GFP_KERNEL)
        k.store(head, into=mod, field="head")
        node = k.kmalloc(32, km.GFP_KERNEL)
        k.store(node, into=head, field="next")     # reachable through head
        lost = k.kmalloc(100, km.GFP_KERNEL)       # never stored: leaked
        tmp = k.kmalloc(16, km.GFP_KERNEL)
        k.kfree(tmp)                               # freed: fine
        return head, node, lost

    with mod:
        return mod, leaky_init()


@pytest.mark.parametrize("v", [v for v, a in km.PROFILES if a == "x86_64"])
def test_kmemleak_finds_exactly_the_leak(v):
    k = km.Kernel(version=v, ram="256M", cmdline="kmemleak=on")
    mod, (head, node, lost) = leaky_module(k)
    leaks = k.kmemleak_scan()
    assert [o.addr for o in leaks] == [lost]
    text = "\n".join(k.dmesg)
    assert f"kmemleak: unreferenced object 0x{lost:08x} (size 100):" in text
    assert "leaky_init+0x" in text and "[leaky]" in text
    assert "kmemleak: 1 new suspected memory leaks" in text
    assert f"unreferenced object 0x{lost:08x}" in k.proc("/sys/kernel/debug/kmemleak")
    # unloading the module drops its globals: head and node leak too
    left = mod.unload()
    assert {o.addr for o in left} == {head, node, lost}
    assert "allocated by the module were never freed" in "\n".join(k.dmesg)
    assert {o.addr for o in k.kmemleak_scan()} == {head, node, lost}


def test_freeing_everything_is_clean():
    k = km.Kernel(version="6.12", ram="256M", cmdline="kmemleak=on")
    mod = k.kmodule("tidy")
    with mod:
        p = k.kmalloc(100, km.GFP_KERNEL)
        k.kfree(p)
    assert k.kmemleak_scan() == [] and mod.unload() == []


@pytest.mark.parametrize("v,bug", [("6.1", "use-after-free"), ("6.12", "slab-use-after-free")])
def test_kasan_use_after_free_names_both_sites(v, bug):
    k = km.Kernel(version=v, ram="256M", cmdline="kasan=on")

    def driver_alloc():
        return k.kmalloc(64, km.GFP_KERNEL)

    def driver_release(p):
        k.kfree(p)

    def driver_poll(p):
        k.read(p + 8, 4)

    p = driver_alloc()
    driver_release(p)
    with pytest.raises(KernelBug) as e:
        driver_poll(p)
    rep = e.value.report
    assert rep[1] == f"BUG: KASAN: {bug} in driver_poll+0x0/0x0"
    assert rep[2] == f"Read of size 4 at addr {p + 8:016x} by task insmod/1234"
    text = "\n".join(rep)
    alloc_at = text.index("Allocated by task 1234:")
    free_at = text.index("Freed by task 1234:")
    assert text.index(" driver_alloc", alloc_at) < free_at
    assert " driver_release" in text[free_at:]
    assert "The buggy address is located 8 bytes inside of" in text


def test_kasan_out_of_bounds_and_in_bounds():
    k = km.Kernel(version="6.12", ram="256M", cmdline="kasan=on")
    p = k.kmalloc(100, km.GFP_KERNEL)
    k.write(p, 100)
    with pytest.raises(KernelBug) as e:
        k.write(p + 96, 8)
    text = "\n".join(e.value.report)
    assert "BUG: KASAN: slab-out-of-bounds in" in text
    assert "allocated 100-byte region" in text


def test_kasan_not_in_315():
    with pytest.raises(ValueError, match="KASAN arrived in Linux 4.0"):
        km.Kernel(version="3.15", ram="256M", cmdline="kasan=on")


@pytest.mark.parametrize("v,what", [("3.15", "Redzone"), ("6.1", "Right Redzone"),
                                    ("6.12", "Right Redzone")])
def test_slub_debug_redzone_reported_at_free(v, what):
    k = km.Kernel(version=v, ram="256M", cmdline="slub_debug=FZPU")
    p = k.kmalloc(64, km.GFP_KERNEL)
    k.write(p + 64, 1, value=0x41)             # one byte past kmalloc-64's object
    before = k.state_digest()
    with pytest.raises(KernelBug) as e:
        k.kfree(p)
    assert e.value.report[1].startswith("BUG kmalloc-64 (")
    assert e.value.report[1].endswith(f"): {what} overwritten")
    assert "First byte 0x41 instead of 0xcc" in "\n".join(e.value.report)
    assert k.state_digest() == before           # object not freed


def test_slub_debug_kmalloc_redzone_only_since_62():
    for v, caught in (("6.1", False), ("6.12", True)):
        k = km.Kernel(version=v, ram="256M", cmdline="slub_debug=Z")
        p = k.kmalloc(100, km.GFP_KERNEL)       # kmalloc-128
        k.write(p + 100, 4)
        if caught:
            with pytest.raises(KernelBug, match="kmalloc Redzone"):
                k.kfree(p)
        else:
            k.kfree(p)


def test_slub_debug_poison_reported_on_next_alloc():
    k = km.Kernel(version="6.1", ram="256M", cmdline="slub_debug=P")
    p = k.kmalloc(64, km.GFP_KERNEL)
    k.kfree(p)
    k.write(p, 8, value=0x00)                   # use after free: silent for now
    assert not any("Poison" in line for line in k.dmesg)
    q = k.kmalloc(64, km.GFP_KERNEL)
    assert q == p
    assert any("Poison overwritten" in line for line in k.dmesg)


def test_same_seed_same_dmesg():
    def run(seed):
        k = km.Kernel(version="6.12", ram="128M", seed=seed, cmdline="kmemleak=on")
        k.workload.background(60)
        k.workload.anon("100M", comm="hog")
        k.kmalloc(10, km.GFP_KERNEL)
        k.kmemleak_scan()
        return k.dmesg, k.proc("vmstat")
    assert run(3) == run(3)
