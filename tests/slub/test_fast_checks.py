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


def test_kmem_cache_calls_check_the_cache_on_the_inline_path():
    """kmem_cache_alloc/free accept their own live cache at once and send everything
    else through _cache_arg: a destroyed cache, another kernel's, a name, a non-cache."""
    k = km.Kernel(version="6.12", ram="128M")
    other = km.Kernel(version="6.12", ram="128M")
    c = k.kmem_cache_create("fast_cache_arg", 80)
    foreign = other.kmem_cache_create("fast_cache_arg", 80)
    k.kmem_cache_free(c, k.kmem_cache_alloc(c, km.GFP_KERNEL))
    p = k.kmem_cache_alloc("fast_cache_arg", km.GFP_KERNEL)     # by name
    assert k.slub.live[p].cache is c
    k.kmem_cache_free("fast_cache_arg", p)
    for api in (lambda x: k.kmem_cache_alloc(x, km.GFP_KERNEL),
                lambda x: k.kmem_cache_free(x, 0xFFFF888000001000)):
        with pytest.raises(ValueError, match="belongs to another simulated kernel"):
            api(foreign)
        with pytest.raises(TypeError, match="must be a cache"):
            api(3)
    k.kmem_cache_destroy(c)
    with pytest.raises(ValueError, match="was destroyed"):
        k.kmem_cache_alloc(c, km.GFP_KERNEL)
    with pytest.raises(ValueError, match="was destroyed"):
        k.kmem_cache_free(c, 0xFFFF888000001000)


def test_ksize_follows_the_cache_flags():
    """slab_ksize decided at creation (KmemCache.ksize_of): the slot size, object_size
    under SLAB_POISON, inuse under SLAB_TYPESAFE_BY_RCU."""
    from kmemlab.slab_common import SLAB_POISON, SLAB_TYPESAFE_BY_RCU
    k = km.Kernel(version="6.12", ram="128M")
    plain = k.kmem_cache_create("ks_plain", 52)
    poison = k.kmem_cache_create("ks_poison", 52, flags=SLAB_POISON)
    rcu = k.kmem_cache_create("ks_rcu", 52, flags=SLAB_TYPESAFE_BY_RCU)
    assert k.ksize(k.kmem_cache_alloc(plain, km.GFP_KERNEL)) == plain.size
    assert k.ksize(k.kmem_cache_alloc(poison, km.GFP_KERNEL)) == poison.object_size == 52
    assert k.ksize(k.kmem_cache_alloc(rcu, km.GFP_KERNEL)) == rcu.inuse
    assert k.ksize(k.kmalloc(100, km.GFP_KERNEL)) == 128
