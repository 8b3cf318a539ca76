"""A double free without slub_debug, as a stock Debian kernel does it.

mm/slub.c (Debian 6.1.192 / 6.12.118 sources): set_freepointer has, with
CONFIG_SLAB_FREELIST_HARDENED=y, only ``BUG_ON(object == fp)`` (line 419 / 550): an
object freed twice *in a row* (it is the freelist head) is a ``kernel BUG``; any other
double free is silent and the object sits on the freelist twice, so two later
allocations return the same object. 3.15 had no check at all.
"""

from __future__ import annotations

import gzip
from contextlib import nullcontext
from pathlib import Path

import pytest
from slub_helpers import boot, snapshot

import kmemlab as km
from kmemlab.errors import KernelBug

GK = km.GFP_KERNEL


@pytest.mark.parametrize("version, line, oops", [
    ("6.1", 419, "invalid opcode: 0000 [#1] PREEMPT SMP NOPTI"),
    ("6.12", 550, "Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI")])
def test_hardened_freelist_catches_only_the_head(version, line, oops):
    k = boot(version)
    s = k.slub
    p = s.kmalloc(64, GK)
    s.kfree(p)
    before, n = snapshot(k), len(k.dmesg)
    with pytest.raises(KernelBug) as exc:
        s.kfree(p)                                     # freed twice in a row: the head
    log = k.dmesg[n:]
    assert any(ln.endswith(f"kernel BUG at mm/slub.c:{line}!") for ln in log), log
    assert any(ln.endswith("] " + oops) for ln in log), log
    assert not any("Object already free" in ln for ln in log)   # that is slub_debug's
    assert "double free" in str(exc.value) and f"mm/slub.c:{line}" in str(exc.value)
    assert snapshot(k) == before
    s.check_consistency()


@pytest.mark.parametrize("version", ["3.15", "6.1", "6.12"])
def test_other_double_free_is_silent_and_hands_the_object_out_twice(version):
    k = boot(version)
    s = k.slub
    p1, p2 = s.kmalloc(64, GK), s.kmalloc(64, GK)
    s.kfree(p1)
    s.kfree(p2)                                        # p2 is the head now
    n = len(k.dmesg)
    s.kfree(p1)                                        # not the head: nothing notices
    assert k.dmesg[n:] == []
    assert k.trace.last.name == "kfree" and "twice" in k.trace.last.why
    s.check_consistency()                              # the model's own counts stay exact
    a, b, c = (s.kmalloc(64, GK) for _ in range(3))
    # the kernel's freelist is now p1 → p2 → p1 → …: a and c are the same object
    assert (a, b, c) == (p1, p2, p1)
    assert "again" in k.trace.last.why and "two owners" in k.trace.last.why
    d = s.kmalloc(64, GK)
    assert d not in (p1, p2)                           # the model shows the first repeat
    s.check_consistency()
    s.kfree(b)
    s.kfree(a)                                         # the first owner frees it ...
    with pytest.raises(KernelBug) if version != "3.15" else nullcontext():
        s.kfree(c)                                     # ... the second owner's free is a
    s.check_consistency()                              # double free again (head: BUG)


def test_315_head_double_free_is_silent_and_repeats_at_once():
    k = boot("3.15")
    s = k.slub
    c = s.kmem_cache_create("df_obj", 96)
    o = s.kmem_cache_alloc(c, GK)
    s.kmem_cache_free(c, o)
    n = len(k.dmesg)
    s.kmem_cache_free(c, o)                            # 3.15: no BUG_ON(object == fp)
    assert k.dmesg[n:] == []
    assert k.trace.last.name == "kmem_cache_free" and "no check at all" in k.trace.last.why
    assert [s.kmem_cache_alloc(c, GK) for _ in range(2)] == [o, o]
    s.check_consistency()


def test_slub_debug_F_reports_instead():
    k = boot("6.12", cmdline="slub_debug=F")
    s = k.slub
    p1, p2 = s.kmalloc(64, GK), s.kmalloc(64, GK)
    s.kfree(p1)
    s.kfree(p2)
    with pytest.raises(KernelBug):
        s.kfree(p1)
    assert any("BUG kmalloc-64 (Not tainted): Object already free" in ln for ln in k.dmesg)
    assert s.kmalloc(64, GK) == p2 and s.kmalloc(64, GK) == p1 and \
        s.kmalloc(64, GK) not in (p1, p2)


def test_snapshot_restore_keeps_the_corruption():
    k = boot("6.12")
    p1, p2 = k.kmalloc(64, GK), k.kmalloc(64, GK)
    k.kfree(p1)
    k.kfree(p2)
    k.kfree(p1)
    snap = k.snapshot()
    first = [k.kmalloc(64, GK) for _ in range(3)]
    k.restore(snap)
    assert [k.kmalloc(64, GK) for _ in range(3)] == first == [p1, p2, p1]


def test_hardened_config_matches_a_real_debian_kernel():
    config = Path("/proc/config.gz")
    if not config.exists():
        pytest.skip("no /proc/config.gz on this machine")
    text = gzip.decompress(config.read_bytes()).decode()
    assert "CONFIG_SLAB_FREELIST_HARDENED=y" in text.splitlines()
    assert "# CONFIG_SLUB_DEBUG_ON is not set" in text.splitlines()
    assert km.Kernel(version="6.12").kconfig["CONFIG_SLAB_FREELIST_HARDENED"]
    assert not km.Kernel(version="3.15").kconfig["CONFIG_SLAB_FREELIST_HARDENED"]


@pytest.mark.parametrize("version", ["3.15", "6.12"])
def test_random_double_frees_never_break_slubs_own_invariants(version):
    import random
    rng = random.Random(16)
    k = boot(version)
    s = k.slub
    held, freed = [], []
    for _ in range(600):
        r = rng.random()
        if r < 0.5 or not held:
            p = s.kmalloc(rng.choice((16, 64, 200)), GK)
            held.append(p)
        elif r < 0.85:
            p = held.pop(rng.randrange(len(held)))
            try:
                s.kfree(p)
                freed.append(p)
            except KernelBug:                       # a repeat handed out twice, freed twice
                pass
        elif freed:
            try:
                s.kfree(rng.choice(freed))          # a double free (or a stale pointer)
            except KernelBug:
                pass
        s.check_consistency()


def test_without_hardened_freelist_even_the_head_case_is_silent():
    k = boot("6.12")
    k.kconfig["CONFIG_SLAB_FREELIST_HARDENED"] = False    # a kernel built without it
    p = k.slub.kmalloc(64, GK)
    k.slub.kfree(p)
    n = len(k.dmesg)
    k.slub.kfree(p)
    assert k.dmesg[n:] == [] and "without CONFIG_SLAB_FREELIST_HARDENED" in k.trace.last.why
    assert [k.slub.kmalloc(64, GK) for _ in range(2)] == [p, p]


def test_kasan_reports_a_double_free_in_its_own_words():
    # mm/kasan/report.c (6.12.118): "BUG: KASAN: %s in %pS", "Free of addr %px by task %s/%d"
    k = boot("6.12", cmdline="kasan=on")
    s = k.slub
    p1, p2 = s.kmalloc(64, GK), s.kmalloc(64, GK)
    s.kfree(p1)
    s.kfree(p2)
    before = snapshot(k)
    with pytest.raises(KernelBug, match="KASAN"):
        s.kfree(p1)
    log = "\n".join(k.dmesg)
    assert "BUG: KASAN: double-free in " in log
    assert f"Free of addr {p1:016x} by task insmod/1234" in log
    assert "Object already free" not in log
    assert snapshot(k) == before
