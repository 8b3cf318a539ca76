"""The checks kmalloc, kmem_cache_alloc and kfree make inline on their fast paths
(issue 21 item 4, second round) decide as the full paths do: might_alloc's report
(found by counting frames) is still made when one is due, a panicked machine still
refuses, and ContextStack.may_sleep follows can_sleep() through every push and pop."""

import pytest

import kmemlab as km
from kmemlab.context import CONTEXT_KINDS
from kmemlab.errors import KernelBug, KernelPanic


@pytest.mark.parametrize("v", ["3.15", "6.12"])
@pytest.mark.parametrize("api", ["kmalloc", "kmem_cache_alloc"])
def test_blocking_alloc_under_a_spinlock_reports_the_slab_site(v, api):
    k = km.Kernel(version=v, ram="128M")
    cache = k.kmem_cache_create("fast_check", 96)
    alloc = {"kmalloc": lambda gfp: k.kmalloc(64, gfp),
             "kmem_cache_alloc": lambda gfp: k.kmem_cache_alloc(cache, gfp)}[api]
    k.kfree(k.kmalloc(64, km.GFP_KERNEL))      # warm: the fast path is the one taken
    k.kmem_cache_free(cache, k.kmem_cache_alloc(cache, km.GFP_KERNEL))
    with k.spin_lock("l"):
        assert alloc(km.GFP_ATOMIC) is not None     # cannot block: nothing to report
        with pytest.raises(KernelBug) as e:
            alloc(km.GFP_KERNEL)
    assert e.value.report[0].startswith("BUG: sleeping function called from invalid context")
    assert "kmalloc/kmem_cache_alloc(GFP_KERNEL)" in "\n".join(e.value.report)
    assert k.context_stack.can_sleep()


def test_a_panicked_machine_refuses_the_fast_path():
    k = km.Kernel(version="6.12", ram="128M")
    k.kfree(k.kmalloc(64, km.GFP_ATOMIC))
    k.panicked = "test"
    with pytest.raises(KernelPanic):
        k.kmalloc(64, km.GFP_ATOMIC)


@pytest.mark.parametrize("kind", CONTEXT_KINDS + ("spin_lock", "spin_lock_irqsave", "irqs_off",
                                  "preempt_off", "kprobe", "mutex"))
def test_may_sleep_follows_can_sleep(kind):
    cs = km.Kernel(version="6.12", ram="128M").context_stack
    assert cs.may_sleep == cs.can_sleep()
    cs.push(kind)
    assert cs.may_sleep == cs.can_sleep()
    cs.push("spin_lock")
    assert cs.may_sleep == cs.can_sleep() is False
    cs.pop()
    assert cs.may_sleep == cs.can_sleep()
    cs.pop()
    assert cs.may_sleep is True
