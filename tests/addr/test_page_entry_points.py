"""k.alloc_pages and k.free_pages are the page allocator's own methods on a booted kernel
(PageAllocator.alloc_pages and PageAllocator.free_learner_pages, bound at boot as SLUB's
kmalloc and kfree are: one Python call per learner call, issue 21). Kernel.alloc_pages and
Kernel.free_pages, the documented methods a subclass inherits, must do the same: the same
pages, state and trace, and for bad arguments the same error, in the same order of checks,
with nothing changed."""

from __future__ import annotations

import random

import pytest

import kmemlab as km
from tests.addr.test_fast_paths import everything

ENTRY_POINTS = {"alloc_pages": "alloc_pages", "free_pages": "free_learner_pages"}


def boot() -> km.Kernel:
    return km.Kernel(version="6.12", ram="256M", cpus=2)


def test_the_entry_points_are_the_page_allocators_in_every_copy():
    k = boot()
    for name, method in ENTRY_POINTS.items():
        assert getattr(k, name).__self__ is k.page_alloc
        assert getattr(k, name).__func__ is getattr(type(k.page_alloc), method)
    snap = k.snapshot()
    for name in ENTRY_POINTS:
        assert getattr(snap, name).__self__ is snap.page_alloc
    page = k.alloc_pages(km.GFP_KERNEL, 0)
    k.restore(snap)
    for name in ENTRY_POINTS:
        assert getattr(k, name).__self__ is k.page_alloc
    assert page.pfn not in k.page_alloc.allocated
    again = k.alloc_pages(km.GFP_KERNEL, 0)
    assert again.pfn == page.pfn and page.pfn not in snap.page_alloc.allocated
    k.free_pages(again)
    assert again.pfn not in k.page_alloc.allocated


def test_kernel_methods_and_bound_methods_do_the_same():
    """A random mix of allocations and frees (Pages and __get_free_pages addresses, any
    order, GFP objects, ints and strings), once through k.* and once through Kernel.*."""
    k = boot()
    other = k.snapshot()
    rng = random.Random(21)
    held: list = []
    held_other: list = []
    gfps = (km.GFP_KERNEL, "GFP_ATOMIC", km.GFP("GFP_KERNEL | __GFP_NOWARN"),
            k.gfp_value(km.GFP_USER), "GFP_HIGHUSER_MOVABLE")
    for i in range(1500):
        gfp = rng.choice(gfps)
        if rng.random() < 0.55 or not held:
            order = 0 if rng.random() < 0.8 else rng.choice((1, 2, 3))
            if rng.random() < 0.2:
                a = k.get_free_pages(gfp, order)
                b = other.get_free_pages(gfp, order)
                assert a == b
                if a is not None:
                    held.append((a, order))
                    held_other.append((b, order))
                continue
            p = k.alloc_pages(gfp, order)
            q = km.Kernel.alloc_pages(other, gfp, order)
            assert (p and (p.pfn, p.order, p.caller)) == (q and (q.pfn, q.order, q.caller))
            if p is not None:
                held.append((p, None))
                held_other.append((q, None))
        else:
            j = rng.randrange(len(held))
            (a, order), (b, order_b) = held.pop(j), held_other.pop(j)
            k.free_pages(a, order)
            km.Kernel.free_pages(other, b, order_b)
        if i % 300 == 299:
            assert everything(k) == everything(other), i
    assert everything(k) == everything(other)


def _bad_alloc_calls() -> list:
    """(args, kwargs) of alloc_pages calls that must be refused."""
    g = km.GFP_KERNEL
    return [
        ((True, 0), {}),                        # a bool is not a mask
        ((-1, 0), {}),                          # a negative mask
        ((3.5, 0), {}),
        ((None, 0), {}),
        (("GFP_NO_SUCH_FLAG", 0), {}),
        ((g, -1), {}),
        ((g, 1.5), {}),
        ((g, "0"), {}),
        ((g, None), {}),
        ((g, 0), {"caller": 5}),                # the call site is checked first...
        ((True, -1), {"caller": b"x"}),         # ...then the flags, then the order
        ((3.5, -1), {}),
        ((g, 0), {"owner": "slab", "caller": 7}),
    ]


def _outcome(fn, *args, **kwargs):
    try:
        result = fn(*args, **kwargs)
    except Exception as e:   # noqa: BLE001 - the outcome is what is compared
        return ("raised", type(e).__name__, str(e))
    return ("returned", result)


@pytest.mark.parametrize("i", range(13))
def test_a_refused_alloc_is_the_same_error_and_changes_nothing(i):
    k = boot()
    args, kwargs = _bad_alloc_calls()[i]
    other = k.snapshot()
    before = everything(k)
    bound = _outcome(k.alloc_pages, *args, **kwargs)
    if "owner" in kwargs:     # not the documented method's: it refuses the keyword
        documented = _outcome(km.Kernel.alloc_pages, other, *args, **kwargs)
        assert documented[0] == "raised" and documented[1] == "TypeError"
        assert bound[:2] == ("raised", "TypeError")
        assert "caller must be a string label" in bound[2]
    else:
        documented = _outcome(km.Kernel.alloc_pages, other, *args, **kwargs)
        assert bound[0] == "raised" and bound == documented
    assert everything(k) == before == everything(other)


def test_an_order_over_max_order_fails_the_same_way():
    """Not an error but NULL and a one-time warning, from both methods alike."""
    k = boot()
    other = k.snapshot()
    assert k.alloc_pages(km.GFP_KERNEL, 11) is None
    assert km.Kernel.alloc_pages(other, km.GFP_KERNEL, 11) is None
    assert everything(k) == everything(other)
    assert any("WARNING" in line for line in k.dmesg)


def _bad_frees() -> list:
    """Frees that the bound method hands to Kernel.free_pages (its checks and reports),
    each made on a fresh kernel by ``make(k)`` -> (args, kwargs)."""
    g = km.GFP_KERNEL

    def double(k):
        p = k.alloc_pages(g, 0)
        k.free_pages(p)
        return (p,), {}

    def stale(k):                      # freed, and its frame handed out again
        p = k.alloc_pages(g, 0)
        k.free_pages(p)
        k.alloc_pages(g, 0)
        return (p,), {}

    def wrong_order(k):
        return (k.alloc_pages(g, 2), 1), {}

    def order_type(k):
        return (k.alloc_pages(g, 0), "0"), {}

    def slab_page(k):                  # a page someone else holds (a slab's)
        pfn = k.virt_to_pfn(k.kmalloc(64, g))
        page = next(p for p in k.page_alloc.allocated.values()
                    if p.owner == "slab" and p.pfn <= pfn < p.pfn + (1 << p.order))
        return (page,), {}

    def unaligned(k):
        return (k.get_free_pages(g, 0) + 8, 0), {}

    def address_without_order(k):
        return (k.get_free_pages(g, 0),), {}

    def not_an_address(k):
        return ("0x1000", 0), {}

    def a_bool(k):
        return (True, 0), {}

    def null(k):
        return (0, 3), {}

    def other_kernels_page(k):
        return (boot().alloc_pages(g, 0),), {}

    return [double, stale, wrong_order, order_type, slab_page, unaligned,
            address_without_order, not_an_address, a_bool, null, other_kernels_page]


@pytest.mark.parametrize("i", range(11))
def test_a_bad_free_is_reported_as_the_documented_method_reports_it(i):
    k = boot()
    make = _bad_frees()[i]
    args, kwargs = make(k)
    other = k.snapshot()
    # the same objects on the copy: a Page is found by its pfn there
    other_args = tuple(other.page_alloc.allocated.get(a.pfn, a)
                       if isinstance(a, km.Page) and a.pfn in k.page_alloc.allocated
                       and k.page_alloc.allocated[a.pfn] is a else a for a in args)
    bound = _outcome(k.free_pages, *args, **kwargs)
    documented = _outcome(km.Kernel.free_pages, other, *other_args, **kwargs)
    assert bound == documented
    assert everything(k) == everything(other)


def test_a_subclass_keeps_its_own_methods():
    calls = []

    class Counting(km.Kernel):
        def alloc_pages(self, gfp, order=0, *, caller=None):
            calls.append(("alloc", order))
            return super().alloc_pages(gfp, order, caller=caller)

        def free_pages(self, addr_or_page, order=None, *, caller=None):
            calls.append(("free", order))
            return super().free_pages(addr_or_page, order, caller=caller)

    k = Counting(version="6.12", ram="256M", cpus=2)
    assert "alloc_pages" not in vars(k) and "free_pages" not in vars(k)
    assert k.kmalloc.__self__ is k.slub          # what it does not override stays bound
    page = k.alloc_pages(km.GFP_KERNEL, 1)
    k.free_pages(page)
    assert calls == [("alloc", 1), ("free", None)]
    assert page.caller == "alloc_pages"     # the subclass's method is the learner's code
    assert page.pfn not in k.page_alloc.allocated


def test_the_call_site_is_the_learners_frame():
    k = boot()

    def driver_probe():
        return k.alloc_pages(km.GFP_KERNEL, 0)

    assert driver_probe().caller == "driver_probe"
    assert k.alloc_pages(km.GFP_KERNEL, 0, caller="mine").caller == "mine"
    ns = {"k": k, "km": km}
    exec(compile("page = k.alloc_pages(km.GFP_KERNEL, 0)", "<cell>", "exec"), ns)
    assert ns["page"].caller == "notebook_cell"


@pytest.mark.parametrize("owner,detail,error", [
    ("mine", "", ValueError), (None, "", TypeError), ("pages", 5, TypeError),
    (["slab"], "", TypeError)])
def test_the_holder_is_checked_before_anything_changes(owner, detail, error):
    """alloc_pages's owner and detail (kmemlab's own callers name the holder; on a booted
    kernel a learner can reach them through k.alloc_pages too)."""
    k = boot()
    before = everything(k)
    with pytest.raises(error):
        k.alloc_pages(km.GFP_KERNEL, 0, owner=owner, detail=detail)
    assert everything(k) == before
    page = k.alloc_pages(km.GFP_KERNEL, 0, owner="slab", detail="mine")
    assert (page.owner, page.detail) == ("slab", "mine")
