"""The answer-expression language of quizzes: a small, whitelisted subset of Python.

An expression is parsed with :mod:`ast` and *interpreted* node by node here; it is
never compiled or passed to ``eval``. What it may contain:

* literals (int, float, str, True/False/None), small lists and tuples;
* names: the question's parameters and a few constants (``PAGE_SIZE``);
* ``+ - * / // % ** << >> & | ^ ~``, comparisons, ``and/or/not``, ``x if c else y``;
* calls to the functions in :data:`FUNCTIONS` only (keyword names checked);
* attribute reads and ``["key"]`` lookups on the objects those functions return,
  each type exposing a fixed list of attributes (:data:`ATTRIBUTES`).

Everything else (other names, dunder or underscore attributes, lambdas,
comprehensions, f-strings, starred arguments…) is refused *before* anything runs,
with the column of the offending token. Evaluation is bounded: the text's length,
the number of nodes, integer sizes (``2 ** 10 ** 10`` is refused, not computed),
string lengths and the number of kernels booted.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from ..profiles import DEFAULT_ARCH, DEFAULT_VERSION
from .errors import ExpressionError

MAX_SOURCE = 600
MAX_NODES = 250
MAX_INT_BITS = 4096
MAX_STR = 10_000
MAX_POW_EXPONENT = 4096
MAX_BOOTS = 16

DEFAULT_KERNEL = {"version": DEFAULT_VERSION, "arch": DEFAULT_ARCH, "ram": "1G", "cpus": 2}


# --------------------------------------------------------------------------- kernels
class KernelCache:
    """Booted kernels shared by the expressions of one evaluation run.

    Keyed by (version, arch, ram, cpus); ``limit`` bounds how many distinct kernels
    one run may boot (each boot costs a few milliseconds and some memory).
    """

    def __init__(self, defaults: dict | None = None, limit: int = MAX_BOOTS) -> None:
        self.defaults = dict(DEFAULT_KERNEL, **(defaults or {}))
        self.limit = limit
        self._kernels: dict[tuple, object] = {}

    def get(self, version=None, arch=None, ram=None, cpus=None):
        import kmemlab as km
        from kmemlab.sizes import memparse

        d = self.defaults
        version = str(d["version"] if version is None else version)
        arch = str(d["arch"] if arch is None else arch)
        ram = memparse(d["ram"] if ram is None else ram, what="ram")
        cpus = int(d["cpus"] if cpus is None else cpus)
        key = (version, arch, ram, cpus)
        if key not in self._kernels:
            if len(self._kernels) >= self.limit:
                raise ExpressionError(f"more than {self.limit} different kernels booted by "
                                      "one quiz; use fewer (version, arch, ram, cpus) combinations")
            if not 1 <= cpus <= 64:
                raise ExpressionError(f"cpus must be between 1 and 64, not {cpus}")
            if not 64 << 20 <= ram <= 64 << 30:
                raise ExpressionError("ram must be between 64M and 64G")
            self._kernels[key] = km.Kernel(version=version, arch=arch, ram=ram, cpus=cpus)
        return self._kernels[key]


# --------------------------------------------------------------------------- views
class _View:
    """Read-only face of a simulator object: only names in ``_fields`` can be read."""

    _fields: dict[str, Callable] = {}
    _kind = "object"

    def __init__(self, target) -> None:
        self._target = target

    def get(self, name: str):
        fn = self._fields.get(name)
        if fn is None:
            raise ExpressionError(f"{self._kind} has no readable attribute {name!r}; "
                                  f"readable: {', '.join(sorted(self._fields))}")
        return fn(self._target)

    def __repr__(self) -> str:
        return f"<{self._kind}>"


class ZoneView(_View):
    _kind = "zone"
    _fields = {n: (lambda z, n=n: getattr(z, n)) for n in (
        "name", "min", "low", "high", "managed", "present", "spanned", "free_pages",
        "zone_start_pfn")}


class CacheView(_View):
    _kind = "kmem_cache"
    _fields = {n: (lambda c, n=n: getattr(c, n)) for n in (
        "name", "object_size", "size", "slab_size", "objs_per_slab", "order", "align",
        "pages_per_slab")}


class MappingView(_View):
    """zones / slab_caches: ``.DMA32`` or ``["kmalloc-192"]``."""

    def __init__(self, mapping: dict, kind: str, wrap) -> None:
        super().__init__(mapping)
        self._kind = kind
        self._wrap = wrap

    def get(self, name: str):
        return self.item(name)

    def item(self, key):
        if not isinstance(key, str) or key not in self._target:
            raise ExpressionError(f"no {key!r} in {self._kind}; known: "
                                  f"{', '.join(list(self._target)[:12])}")
        return self._wrap(self._target[key])


class KernelView(_View):
    _kind = "kernel"
    _fields = {
        "version": lambda k: k.profile.version,
        "arch": lambda k: k.profile.arch,
        "PAGE_SIZE": lambda k: k.PAGE_SIZE,
        "min_free_kbytes": lambda k: k.min_free_kbytes,
        "nr_free_pages": lambda k: k.nr_free_pages(),
        "zones": lambda k: MappingView(k.zones, "zones", ZoneView),
        "slab_caches": lambda k: MappingView(k.slab_caches, "slab_caches", CacheView),
    }


ATTRIBUTES = frozenset().union(ZoneView._fields, CacheView._fields, KernelView._fields,
                               ["DMA", "DMA32", "Normal", "HighMem", "Movable"])


# --------------------------------------------------------------------------- functions
def _size(value, what="size") -> int:
    from kmemlab.sizes import memparse

    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return memparse(value, what=what)
    except (TypeError, ValueError) as exc:
        raise ExpressionError(str(exc)) from None


def _gfp(value):
    import kmemlab as km

    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ExpressionError(f"GFP flags are written as a string like 'GFP_KERNEL', "
                              f"not {type(value).__name__}")
    result = None
    for part in value.split("|"):
        name = part.strip()
        try:
            f = km.flag(name)
        except (KeyError, ValueError, TypeError) as exc:
            raise ExpressionError(f"unknown GFP flag {name!r} ({exc})") from None
        result = f if result is None else result | f
    return result


def _cache_for(kern, size_or_name):
    if isinstance(size_or_name, str) and size_or_name.startswith(("kmalloc", "dma-", "kmem")):
        if size_or_name not in kern.slab_caches:
            raise ExpressionError(f"no slab cache {size_or_name!r} on Linux "
                                  f"{kern.profile.version}")
        return kern.slab_caches[size_or_name]
    cache = kern.kmalloc_cache(_size(size_or_name))
    if cache is None:
        raise ExpressionError(f"kmalloc({size_or_name}) is not served by a slab cache "
                              "(it goes to the page allocator)")
    return cache


class Functions:
    """The functions an expression may call, bound to a :class:`KernelCache`."""

    # name -> allowed keyword arguments
    SIGNATURES: dict[str, tuple[str, ...]] = {
        "get_order": (),
        "kmalloc_cache": ("version", "arch", "cpus", "ram", "gfp"),
        "ksize": ("version", "arch", "cpus", "ram", "gfp"),
        "objs_per_slab": ("version", "arch", "cpus", "ram"),
        "slab_order": ("version", "arch", "cpus", "ram"),
        "object_size": ("version", "arch", "cpus", "ram"),
        "gfp_value": ("version", "arch"),
        "gfp_str": ("version", "arch"),
        "gfp_zone": ("version", "arch"),
        "min_free_kbytes": ("version", "arch", "ram", "cpus"),
        "watermark": ("version", "arch", "ram", "cpus"),
        "boot": ("version", "arch", "ram", "cpus"),
        "page_size": ("version", "arch"),
        "memparse": (),
        "human": (),
        "hex": (), "int": (), "str": (), "round": (), "abs": (), "min": (), "max": (),
        "len": (), "log2": (),
    }

    def __init__(self, kernels: KernelCache) -> None:
        self.k = kernels

    def call(self, name: str, args: list, kwargs: dict):
        return getattr(self, "f_" + name)(*args, **kwargs)

    # -- kmemlab ----------------------------------------------------------------
    def f_get_order(self, size):
        import kmemlab as km
        return km.get_order(_size(size))

    def f_kmalloc_cache(self, size, gfp=None, **kern):
        k = self.k.get(**kern)
        cache = k.kmalloc_cache(_size(size), None if gfp is None else _gfp(gfp))
        return None if cache is None else cache.name

    def f_ksize(self, size, gfp="GFP_KERNEL", **kern):
        k = self.k.get(**kern)
        size = _size(size)
        if size > 64 << 20:
            raise ExpressionError("ksize(): size above 64M is outside what quizzes ask")
        ptr = k.kmalloc(size, _gfp(gfp))
        if ptr is None:
            raise ExpressionError(f"kmalloc({size}) failed on the simulated kernel")
        try:
            return k.ksize(ptr)
        finally:
            k.kfree(ptr)

    def f_objs_per_slab(self, cache, **kern):
        return _cache_for(self.k.get(**kern), cache).objs_per_slab

    def f_slab_order(self, cache, **kern):
        return _cache_for(self.k.get(**kern), cache).order

    def f_object_size(self, cache, **kern):
        return _cache_for(self.k.get(**kern), cache).object_size

    def f_gfp_value(self, flags, **kern):
        return self.k.get(**kern).gfp_value(_gfp(flags))

    def f_gfp_str(self, value, **kern):
        return self.k.get(**kern).gfp_str(_gfp(value))

    def f_gfp_zone(self, flags, **kern):
        return self.k.get(**kern).gfp_zone(_gfp(flags))

    def f_min_free_kbytes(self, **kern):
        return self.k.get(**kern).min_free_kbytes

    def f_watermark(self, zone, level, **kern):
        k = self.k.get(**kern)
        if zone not in k.zones:
            raise ExpressionError(f"no zone {zone!r}; known: {', '.join(k.zones)}")
        if level not in ("min", "low", "high"):
            raise ExpressionError("watermark level is 'min', 'low' or 'high'")
        return getattr(k.zones[zone], level)

    def f_boot(self, **kern):
        return KernelView(self.k.get(**kern))

    def f_page_size(self, **kern):
        return self.k.get(**kern).PAGE_SIZE

    def f_memparse(self, text):
        return _size(text)

    def f_human(self, n):
        from kmemlab.sizes import human
        return human(_size(n))

    # -- builtins -----------------------------------------------------------------
    def f_hex(self, n):
        return hex(_int(n))

    def f_int(self, x):
        if isinstance(x, str):
            if len(x) > 40:
                raise ExpressionError("int() of a string longer than 40 characters")
            try:
                return int(x, 0)
            except ValueError:
                raise ExpressionError(f"int(): not a number: {x!r}") from None
        return int(x)

    def f_str(self, x):
        if not isinstance(x, int | float | str | bool | type(None)):
            raise ExpressionError("str() of a simulator object; read one of its attributes")
        return _check(str(x))

    def f_round(self, x, nd=0):
        return round(x, _int(nd)) if nd else round(x)

    def f_abs(self, x):
        return abs(x)

    def f_min(self, *xs):
        return min(*xs) if len(xs) > 1 else min(xs[0])

    def f_max(self, *xs):
        return max(*xs) if len(xs) > 1 else max(xs[0])

    def f_len(self, x):
        return len(x)

    def f_log2(self, x):
        return math.log2(x)


def _int(x) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise ExpressionError(f"expected an integer, got {type(x).__name__}")
    return x


def _check(value):
    """Bound the size of every intermediate value."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionError(f"integer larger than {MAX_INT_BITS} bits")
    if isinstance(value, str) and len(value) > MAX_STR:
        raise ExpressionError(f"string longer than {MAX_STR} characters")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("result is not a finite number")
    return value


# --------------------------------------------------------------------------- parsing
_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_,
          ast.Invert: operator.invert}
_CMPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
         ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
         ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}

CONSTANTS = {"PAGE_SIZE": 4096, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

_NODE_NAMES = {
    ast.Lambda: "lambda", ast.ListComp: "comprehension", ast.SetComp: "comprehension",
    ast.DictComp: "comprehension", ast.GeneratorExp: "generator expression",
    ast.JoinedStr: "f-string", ast.NamedExpr: "':=' assignment", ast.Starred: "'*' unpacking",
    ast.Await: "await", ast.Yield: "yield", ast.Dict: "dict literal", ast.Set: "set literal",
    ast.Slice: "slice",
}


class Expression:
    """A parsed, checked expression; :meth:`evaluate` runs it on given parameters."""

    def __init__(self, source: str, names: set[str] | frozenset[str] = frozenset()) -> None:
        if not isinstance(source, str):
            raise ExpressionError(f"an expression is a string, not {type(source).__name__}", 0)
        if len(source) > MAX_SOURCE:
            raise ExpressionError(f"expression longer than {MAX_SOURCE} characters", MAX_SOURCE)
        self.source = source
        self.names = frozenset(names) | frozenset(CONSTANTS)
        text = source.strip()
        lead = len(source) - len(source.lstrip())
        if "\n" in text:
            raise ExpressionError("an expression is written on one line", text.index("\n") + lead)
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            col = (exc.offset or 1) - 1 + lead
            raise ExpressionError(f"syntax error: {exc.msg}", col) from None
        except (RecursionError, MemoryError, ValueError):
            raise ExpressionError("expression too complex to parse", 0) from None
        self._lead = lead
        self.tree = tree.body
        self._count = 0
        self._validate(self.tree)
        self.used_names = frozenset(n.id for n in ast.walk(self.tree)
                                    if isinstance(n, ast.Name)) - frozenset(CONSTANTS)

    # ---- static check -----------------------------------------------------------
    def _col(self, node) -> int:
        return getattr(node, "col_offset", 0) + self._lead

    def _bad(self, node, message: str) -> ExpressionError:
        return ExpressionError(message, self._col(node))

    def _validate(self, node) -> None:
        self._count += 1
        if self._count > MAX_NODES:
            raise self._bad(node, f"expression has more than {MAX_NODES} parts")
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float | str | bool | type(None)) or \
                    isinstance(node.value, complex):
                raise self._bad(node, f"literal {node.value!r} is not allowed")
            if isinstance(node.value, str) and len(node.value) > 1000:
                raise self._bad(node, "string literal longer than 1000 characters")
            if isinstance(node.value, int) and node.value.bit_length() > MAX_INT_BITS:
                raise self._bad(node, "integer literal too large")
            return
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise self._bad(node, f"name {node.id!r} is not allowed (names starting with "
                                      "'_' are never available)")
            if node.id in Functions.SIGNATURES:
                raise self._bad(node, f"{node.id} is a function: call it, e.g. {node.id}(...)")
            if node.id not in self.names:
                known = sorted(self.names - frozenset(CONSTANTS)) or ["(no parameters)"]
                raise self._bad(node, f"unknown name {node.id!r}; parameters: "
                                      f"{', '.join(known)}; functions: "
                                      f"{', '.join(sorted(Functions.SIGNATURES))}")
            return
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise self._bad(node, f"operator {type(node.op).__name__} is not allowed")
            self._validate(node.left)
            self._validate(node.right)
            if _constant_only(node):
                # fold constants now, so `2 ** 10 ** 10` is refused when the file is read
                self._eval(node, {}, None)
            return
        if isinstance(node, ast.UnaryOp):
            self._validate(node.operand)
            return
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                self._validate(v)
            return
        if isinstance(node, ast.Compare):
            for op in node.ops:
                if type(op) not in _CMPS:
                    raise self._bad(node, f"comparison {type(op).__name__} is not allowed "
                                          "(no 'is')")
            self._validate(node.left)
            for c in node.comparators:
                self._validate(c)
            return
        if isinstance(node, ast.IfExp):
            for n in (node.test, node.body, node.orelse):
                self._validate(n)
            return
        if isinstance(node, ast.List | ast.Tuple):
            if len(node.elts) > 64:
                raise self._bad(node, "list literal with more than 64 items")
            for e in node.elts:
                self._validate(e)
            return
        if isinstance(node, ast.Attribute):
            self._validate(node.value)  # report the leftmost offending token first
            if node.attr.startswith("_"):
                raise ExpressionError(
                    f"attribute {node.attr!r} is not allowed (names starting with '_' are "
                    "never readable)", self._attr_col(node))
            if node.attr not in ATTRIBUTES:
                raise ExpressionError(
                    f"unknown attribute {node.attr!r}; readable attributes: "
                    f"{', '.join(sorted(ATTRIBUTES))}", self._attr_col(node))
            return
        if isinstance(node, ast.Subscript):
            if not isinstance(node.slice, ast.Constant | ast.Name):
                raise self._bad(node.slice, "only ['name'] lookups are allowed in [...]")
            self._validate(node.value)
            self._validate(node.slice)
            return
        if isinstance(node, ast.Call):
            func = node.func
            if not isinstance(func, ast.Name):
                if isinstance(func, ast.Attribute):
                    self._validate(func.value)
                raise self._bad(func, "only the quiz functions can be called "
                                      "(no method calls)")
            if func.id not in Functions.SIGNATURES:
                raise self._bad(func, f"function {func.id!r} is not available; functions: "
                                      f"{', '.join(sorted(Functions.SIGNATURES))}")
            allowed = Functions.SIGNATURES[func.id]
            if len(node.args) > 8:
                raise self._bad(node, "too many arguments")
            for a in node.args:
                self._validate(a)
            for kw in node.keywords:
                if kw.arg is None:
                    raise self._bad(kw.value, "'**' arguments are not allowed")
                if kw.arg not in allowed:
                    raise ExpressionError(
                        f"{func.id}() takes no keyword {kw.arg!r}"
                        + (f"; keywords: {', '.join(allowed)}" if allowed else ""),
                        getattr(kw, "col_offset", self._col(node)) + self._lead)
                self._validate(kw.value)
            return
        what = _NODE_NAMES.get(type(node), type(node).__name__)
        raise self._bad(node, f"{what} is not allowed in a quiz expression")

    def _attr_col(self, node: ast.Attribute) -> int:
        end = getattr(node, "end_col_offset", None)
        if end is None:
            return self._col(node)
        return end - len(node.attr) + self._lead

    # ---- evaluation -------------------------------------------------------------
    def evaluate(self, params: dict | None = None, functions: Functions | None = None):
        """Compute the value for ``params``; errors are :class:`ExpressionError`."""
        env = dict(CONSTANTS)
        env.update(params or {})
        functions = functions or Functions(KernelCache())
        try:
            return self._eval(self.tree, env, functions)
        except ExpressionError as exc:
            if exc.offset is None:
                exc.offset = self._lead
            raise
        except (ArithmeticError, TypeError, ValueError, KeyError, IndexError,
                AttributeError) as exc:
            raise ExpressionError(f"evaluation failed: {type(exc).__name__}: {exc}",
                                  self._lead) from None

    def _eval(self, node, env: dict, fns: Functions):
        ev = self._eval
        try:
            if isinstance(node, ast.Constant):
                return node.value
            if isinstance(node, ast.Name):
                return env[node.id]
            if isinstance(node, ast.BinOp):
                left = ev(node.left, env, fns)
                right = ev(node.right, env, fns)
                self._guard(node, left, right)
                return _check(_BINOPS[type(node.op)](left, right))
            if isinstance(node, ast.UnaryOp):
                v = ev(node.operand, env, fns)
                if isinstance(v, _View):
                    raise self._bad(node, "operators apply to numbers, not simulator objects")
                return _check(_UNARY[type(node.op)](v))
            if isinstance(node, ast.BoolOp):
                if isinstance(node.op, ast.And):
                    v = True
                    for x in node.values:
                        v = ev(x, env, fns)
                        if not v:
                            return v
                    return v
                v = False
                for x in node.values:
                    v = ev(x, env, fns)
                    if v:
                        return v
                return v
            if isinstance(node, ast.Compare):
                left = ev(node.left, env, fns)
                for op, comp in zip(node.ops, node.comparators, strict=True):
                    right = ev(comp, env, fns)
                    if isinstance(left, _View) or isinstance(right, _View):
                        raise self._bad(node, "compare an attribute of the simulator object")
                    if not _CMPS[type(op)](left, right):
                        return False
                    left = right
                return True
            if isinstance(node, ast.IfExp):
                return ev(node.body if ev(node.test, env, fns) else node.orelse, env, fns)
            if isinstance(node, ast.List | ast.Tuple):
                return tuple(ev(e, env, fns) for e in node.elts)
            if isinstance(node, ast.Attribute):
                obj = ev(node.value, env, fns)
                if not isinstance(obj, _View):
                    raise ExpressionError(f"{type(obj).__name__} has no attribute "
                                          f"{node.attr!r}", self._attr_col(node))
                return obj.get(node.attr)
            if isinstance(node, ast.Subscript):
                obj = ev(node.value, env, fns)
                key = ev(node.slice, env, fns)
                if isinstance(obj, MappingView):
                    return obj.item(key)
                if isinstance(obj, tuple | str) and isinstance(key, int):
                    return obj[key]
                raise self._bad(node, "[...] applies to zones, slab_caches, lists and strings")
            if isinstance(node, ast.Call):
                args = [ev(a, env, fns) for a in node.args]
                kwargs = {kw.arg: ev(kw.value, env, fns) for kw in node.keywords}
                for v in (*args, *kwargs.values()):
                    if isinstance(v, _View) and node.func.id not in ("len",):
                        raise self._bad(node, "pass a value read from the simulator object, "
                                              "not the object itself")
                try:
                    return _check(fns.call(node.func.id, args, kwargs))
                except TypeError as exc:
                    raise self._bad(node, f"{node.func.id}(): {exc}") from None
        except ExpressionError as exc:
            if exc.offset is None:
                exc.offset = self._col(node)
            raise
        except (ArithmeticError, TypeError, ValueError, KeyError, IndexError) as exc:
            raise self._bad(node, f"{type(exc).__name__}: {exc}") from None
        raise self._bad(node, "not allowed")  # pragma: no cover  (validated before)

    def _guard(self, node: ast.BinOp, left, right) -> None:
        """Refuse operations whose result would be huge before computing them."""
        if isinstance(left, _View) or isinstance(right, _View):
            raise self._bad(node, "operators apply to numbers, not simulator objects; read an "
                                  "attribute first")
        op = type(node.op)
        if isinstance(left, str) or isinstance(right, str):
            if op is ast.Add and isinstance(left, str) and isinstance(right, str):
                return
            if op is ast.Mod and isinstance(left, str):
                raise self._bad(node, "'%' formatting is not available; use str() and +")
            raise self._bad(node, "strings can only be joined with +")
        if isinstance(left, tuple) or isinstance(right, tuple):
            raise self._bad(node, "arithmetic on lists is not allowed")
        if op is ast.Pow:
            if isinstance(right, int) and not isinstance(right, bool):
                if right > MAX_POW_EXPONENT or (
                        isinstance(left, int) and abs(left) > 1
                        and abs(left).bit_length() * right > MAX_INT_BITS):
                    raise ExpressionError(
                        f"exponent {right} is too large (results are limited to "
                        f"{MAX_INT_BITS} bits)", self._col(node.right))
            elif isinstance(right, float) and abs(right) > MAX_POW_EXPONENT:
                raise ExpressionError(f"exponent {right} is too large", self._col(node.right))
        elif op is ast.LShift:
            if isinstance(right, int) and right > MAX_INT_BITS:
                raise ExpressionError(f"shift by {right} bits is too large",
                                      self._col(node.right))
        elif op is ast.Mult and isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                raise self._bad(node, f"product larger than {MAX_INT_BITS} bits")


def _constant_only(node) -> bool:
    return all(isinstance(n, ast.Constant | ast.BinOp | ast.UnaryOp | ast.operator
                          | ast.unaryop) for n in ast.walk(node))


def parse(source: str, names=frozenset()) -> Expression:
    """Parse and check ``source``; raise :class:`ExpressionError` with an offset."""
    return Expression(source, names)
