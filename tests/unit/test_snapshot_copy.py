"""Kernel.snapshot / restore copy the machine by a pickle round trip (faster than
copy.deepcopy) and fall back to deepcopy for what pickle refuses: both must give the
same machine, one that then behaves exactly as a deep copy does."""

from __future__ import annotations

import copy
import pickle

import pytest

import kmemlab as km
from kmemlab import procfs


def busy(k: km.Kernel) -> None:
    """Something in every subsystem a snapshot must carry: slab objects, pages, vmalloc,
    a process with a heap and mappings, trace and dmesg."""
    keep = [k.kmalloc(n, km.GFP_KERNEL) for n in (8, 100, 3000, 9000)]
    k.kfree(keep[1])
    k.free_pages(k.alloc_pages(km.GFP_KERNEL, 3))
    k.alloc_pages(km.GFP_KERNEL, 1)
    k.vmalloc(5 * 4096)
    p = k.spawn("worker")
    a = p.malloc(100)
    p.malloc(200_000)          # mmap'd chunk
    p.free(a)
    m = p.mmap(8 * 4096)
    p.touch(m, 3 * 4096)


def seen(k: km.Kernel) -> tuple:
    """What a learner can read of the machine."""
    files = {}
    for path in procfs.known_paths(k):
        try:
            files[path] = k.proc(path)
        except (ValueError, FileNotFoundError) as exc:
            files[path] = f"<{exc}>"
    return (files, k.trace.to_ftrace(), list(k.dmesg), k.state_digest())


def then(k: km.Kernel) -> tuple:
    """The same follow-up on a copy: its results and what it leaves."""
    p = k.processes[0]
    out = (k.kmalloc(64, km.GFP_KERNEL), k.alloc_pages(km.GFP_KERNEL, 0).pfn,
           k.vmalloc(3 * 4096), p.malloc(48), p.malloc(1 << 20))
    k.kfree(out[0])
    return out, seen(k)


def test_the_pickle_copy_is_the_deep_copy(kernel) -> None:
    busy(kernel)
    fast = pickle.loads(pickle.dumps(kernel, pickle.HIGHEST_PROTOCOL))
    slow = copy.deepcopy(kernel)
    assert seen(fast) == seen(slow) == seen(kernel)
    assert then(fast) == then(slow)


def test_a_snapshot_is_independent_of_its_kernel(kernel) -> None:
    busy(kernel)
    snap = kernel.snapshot()
    before = seen(snap)
    then(kernel)
    assert seen(snap) == before
    kernel.restore(snap)
    assert seen(kernel) == before
    # restored objects point at this kernel, not at the snapshot
    assert kernel.slub.k is kernel and kernel.processes[0].kernel is kernel
    assert then(kernel) == then(snap.snapshot())


@pytest.mark.parametrize("version", ["3.15", "6.12"])
def test_restore_by_pickle_equals_restore_by_deepcopy(version: str) -> None:
    k = km.Kernel(version=version, ram="512M")
    busy(k)
    snap = k.snapshot()
    then(k)
    a, b = km.Kernel(version=version, ram="512M"), km.Kernel(version=version, ram="512M")
    a.restore(snap)
    b.__dict__.update(copy.deepcopy(snap.__dict__, {id(snap): b}))
    assert seen(a) == seen(b)
    assert then(a) == then(b)


def test_what_pickle_refuses_is_deep_copied() -> None:
    """A learner's handler (a lambda) cannot be pickled: snapshot still works."""
    k = km.Kernel(ram="512M", cmdline="demo=1", early_params={"demo": lambda kk, v: None})
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(k)
    busy(k)
    snap = k.snapshot()
    assert seen(snap) == seen(k)
    then(k)
    k.restore(snap)
    assert seen(k) == seen(snap)


@pytest.mark.parametrize("version", ["3.15", "6.12"])
def test_restore_frozen_equals_restore(version: str) -> None:
    """frozen_state/restore_frozen (BootExplorer keeps its boots so) is restore(snapshot)
    with the pickling done once: the same machine, independent of the bytes, reusable."""
    k = km.Kernel(version=version, ram="512M")
    busy(k)
    data, snap = k.frozen_state(), k.snapshot()
    before = seen(k)
    then(k)                                   # the bytes do not follow the kernel
    a, b = km.Kernel(version=version, ram="512M"), km.Kernel(version=version, ram="512M")
    a.restore_frozen(data)
    b.restore(snap)
    assert seen(a) == seen(b) == before
    assert a.slub.k is a and a.processes[0].kernel is a
    assert a.kmalloc.__self__ is a.slub       # the bound entry points are a's own
    assert then(a) == then(b)
    a.restore_frozen(data)                    # again, after a changed: the same machine
    assert seen(a) == before


def test_frozen_state_refuses_what_pickle_refuses() -> None:
    k = km.Kernel(ram="512M", cmdline="demo=1", early_params={"demo": lambda kk, v: None})
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        k.frozen_state()
