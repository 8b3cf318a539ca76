"""The expression language: what it computes, what it refuses (with offsets)."""

from __future__ import annotations

import pytest

import kmemlab as km
from kmemlab.quiz.errors import ExpressionError
from kmemlab.quiz.expr import Expression, Functions, KernelCache


def ev(src, **params):
    params.setdefault("x", 2000)
    return Expression(src, set(params)).evaluate(params)


def test_simulator_functions_match_the_kernel_api():
    k = km.Kernel(version="6.12", arch="x86_64", ram="1G", cpus=2)
    assert ev("get_order(8193)") == km.get_order(8193) == 2
    assert ev("get_order('64K')") == 4
    assert ev("kmalloc_cache(100)") == k.kmalloc_cache(100).name
    assert ev("objs_per_slab('kmalloc-192')") == k.slab_caches["kmalloc-192"].objs_per_slab
    assert ev("slab_order(100)") == k.kmalloc_cache(100).order
    assert ev("hex(gfp_value('GFP_KERNEL'))") == "0xcc0"
    assert ev("gfp_value('GFP_KERNEL', version='3.15')") == 0xD0
    assert ev("gfp_zone('GFP_DMA32')") == "DMA32"
    assert ev("min_free_kbytes()") == k.min_free_kbytes
    assert ev("boot().zones.DMA32.min") == k.zones["DMA32"].min
    assert ev("boot().slab_caches['kmalloc-192'].objs_per_slab") == 21
    assert ev("ksize(size)", size=100) == 128
    assert ev("kmalloc_cache(size, version=v)", size=3000, v="3.15") == "kmalloc-4096"


def test_kernels_are_cached_and_bounded():
    cache = KernelCache(limit=2)
    f = Functions(cache)
    Expression("boot(ram='1G').PAGE_SIZE + boot(ram='1G').PAGE_SIZE").evaluate({}, f)
    assert len(cache._kernels) == 1
    with pytest.raises(ExpressionError, match="more than 2 different kernels"):
        Expression("boot(cpus=1).PAGE_SIZE + boot(cpus=2).PAGE_SIZE + boot(cpus=3).PAGE_SIZE"
                   ).evaluate({}, f)


@pytest.mark.parametrize("src, offset, words", [
    ("__import__('os')", 0, "not available"),
    ("x.__class__", 2, "'__class__' is not allowed"),
    ("boot()._target", 7, "'_target' is not allowed"),
    ("(1).__class__.__subclasses__()", 4, "'__class__' is not allowed"),
    ("boot().zones.keys()", 0, "no method calls"),
    ("2 ** 10 ** 10", 5, "too large"),
    ("_x", 0, "starting with '_'"),
    ("eval('1')", 0, "not available"),
    ("lambda: 1", 0, "lambda"),
    ("{1: 2}", 0, "dict literal"),
    ("f'{x}'", 0, "f-string"),
    ("get_order(1", 9, "never closed"),
    ("get_order(*[1])", 10, "'*' unpacking"),
    ("x is None", 0, "'is'"),
    ("y + 1", 0, "unknown name 'y'"),
])
def test_refused_statically(src, offset, words):
    with pytest.raises(ExpressionError) as exc:
        Expression(src, {"x"})
    assert words in exc.value.message
    assert exc.value.offset == offset


@pytest.mark.parametrize("src, words", [
    ("2 ** 10 ** 10", "too large"),
    ("10 ** 5000", "too large"),
    ("1 << 100000", "too large"),
    ("'a' * 1000000", "joined with +"),
    ("(2 ** 2000) * (2 ** 2000) * (2 ** x)", "larger than"),
    ("1 / 0", "ZeroDivisionError"),
    ("boot().zones['Nowhere']", "no 'Nowhere' in zones"),
    ("boot(ram='1T').PAGE_SIZE", "ram must be"),
    ("gfp_value('GFP_BOGUS')", "unknown GFP flag"),
])
def test_refused_at_evaluation(src, words):
    with pytest.raises(ExpressionError, match=words.replace("(", r"\(")):
        ev(src)


def test_length_and_node_limits():
    with pytest.raises(ExpressionError, match="longer than"):
        Expression("1+" * 400 + "1")
    with pytest.raises(ExpressionError):
        Expression("(" * 300 + "1" + ")" * 300)
