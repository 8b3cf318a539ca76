"""GFP ("get free pages") flags, as symbols whose numbers belong to a kernel version.

Models include/linux/gfp.h (3.15) and include/linux/gfp_types.h (6.1, 6.12).

A flag such as ``GFP_KERNEL`` is a *symbol*: ``GFP_KERNEL`` is ``__GFP_WAIT|__GFP_IO|
__GFP_FS`` = 0xd0 on Linux 3.15 but ``__GFP_RECLAIM|__GFP_IO|__GFP_FS`` = 0xcc0 on 6.x.
So a :class:`GFP` keeps the expression the learner wrote (``GFP_KERNEL | __GFP_ZERO``,
``GFP_KERNEL & ~__GFP_DIRECT_RECLAIM``) and a profile turns it into a number
(:func:`gfp_value`) and prints a number the way that version's tracepoints do
(:func:`show_gfp_flags`, include/trace/events/mmflags.h: show_gfp_flags).

Kernel names that start with two underscores are mangled by Python inside class
bodies, so every flag is also reachable as ``flag("__GFP_ZERO")``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# --------------------------------------------------------------------------
# Raw bit tables (``___GFP_*``): linux-mm-facts.md section 1.1.
# --------------------------------------------------------------------------

_BITS_3_15 = {
    "__GFP_DMA": 0x1, "__GFP_HIGHMEM": 0x2, "__GFP_DMA32": 0x4, "__GFP_MOVABLE": 0x8,
    "__GFP_WAIT": 0x10, "__GFP_HIGH": 0x20, "__GFP_IO": 0x40, "__GFP_FS": 0x80,
    "__GFP_COLD": 0x100, "__GFP_NOWARN": 0x200, "__GFP_REPEAT": 0x400, "__GFP_NOFAIL": 0x800,
    "__GFP_NORETRY": 0x1000, "__GFP_MEMALLOC": 0x2000, "__GFP_COMP": 0x4000,
    "__GFP_ZERO": 0x8000, "__GFP_NOMEMALLOC": 0x10000, "__GFP_HARDWALL": 0x20000,
    "__GFP_THISNODE": 0x40000, "__GFP_RECLAIMABLE": 0x80000, "__GFP_KMEMCG": 0x100000,
    "__GFP_NOTRACK": 0x200000, "__GFP_NO_KSWAPD": 0x400000, "__GFP_OTHER_NODE": 0x800000,
    "__GFP_WRITE": 0x1000000,
}

_BITS_6_1 = {
    "__GFP_DMA": 0x1, "__GFP_HIGHMEM": 0x2, "__GFP_DMA32": 0x4, "__GFP_MOVABLE": 0x8,
    "__GFP_RECLAIMABLE": 0x10, "__GFP_HIGH": 0x20, "__GFP_IO": 0x40, "__GFP_FS": 0x80,
    "__GFP_ZERO": 0x100, "__GFP_ATOMIC": 0x200, "__GFP_DIRECT_RECLAIM": 0x400,
    "__GFP_KSWAPD_RECLAIM": 0x800, "__GFP_WRITE": 0x1000, "__GFP_NOWARN": 0x2000,
    "__GFP_RETRY_MAYFAIL": 0x4000, "__GFP_NOFAIL": 0x8000, "__GFP_NORETRY": 0x10000,
    "__GFP_MEMALLOC": 0x20000, "__GFP_COMP": 0x40000, "__GFP_NOMEMALLOC": 0x80000,
    "__GFP_HARDWALL": 0x100000, "__GFP_THISNODE": 0x200000, "__GFP_ACCOUNT": 0x400000,
    "__GFP_ZEROTAGS": 0x800000,
}

# 6.12 generates the bits from an enum; bit 9 (__GFP_ATOMIC) became unused.  Debian's
# config has MEMCG (so SLAB_OBJ_EXT) but neither KASAN_HW_TAGS nor LOCKDEP, so the
# next configured bit, NO_OBJ_EXT, lands on bit 24 (include/linux/gfp_types.h).
_BITS_6_12 = {k: v for k, v in _BITS_6_1.items() if k != "__GFP_ATOMIC"}
_BITS_6_12["__GFP_NO_OBJ_EXT"] = 0x1000000

# --------------------------------------------------------------------------
# Composite masks, defined as in the headers (expressions over the names above).
# --------------------------------------------------------------------------

_COMPOSITE_3_15 = {
    "GFP_NOWAIT": "0",
    "GFP_ATOMIC": "__GFP_HIGH",
    "GFP_NOIO": "__GFP_WAIT",
    "GFP_NOFS": "__GFP_WAIT|__GFP_IO",
    "GFP_KERNEL": "__GFP_WAIT|__GFP_IO|__GFP_FS",
    "GFP_TEMPORARY": "__GFP_WAIT|__GFP_IO|__GFP_FS|__GFP_RECLAIMABLE",
    "GFP_USER": "__GFP_WAIT|__GFP_IO|__GFP_FS|__GFP_HARDWALL",
    "GFP_HIGHUSER": "__GFP_WAIT|__GFP_IO|__GFP_FS|__GFP_HARDWALL|__GFP_HIGHMEM",
    "GFP_HIGHUSER_MOVABLE":
        "__GFP_WAIT|__GFP_IO|__GFP_FS|__GFP_HARDWALL|__GFP_HIGHMEM|__GFP_MOVABLE",
    "GFP_IOFS": "__GFP_IO|__GFP_FS",
    "GFP_TRANSHUGE": "__GFP_WAIT|__GFP_IO|__GFP_FS|__GFP_HARDWALL|__GFP_HIGHMEM|__GFP_MOVABLE"
                     "|__GFP_COMP|__GFP_NOMEMALLOC|__GFP_NORETRY|__GFP_NOWARN|__GFP_NO_KSWAPD",
    "GFP_DMA": "__GFP_DMA",
    "GFP_DMA32": "__GFP_DMA32",
}

_COMPOSITE_6_1 = {
    "__GFP_RECLAIM": "__GFP_DIRECT_RECLAIM|__GFP_KSWAPD_RECLAIM",
    "GFP_ATOMIC": "__GFP_HIGH|__GFP_ATOMIC|__GFP_KSWAPD_RECLAIM",
    "GFP_KERNEL": "__GFP_RECLAIM|__GFP_IO|__GFP_FS",
    "GFP_KERNEL_ACCOUNT": "__GFP_RECLAIM|__GFP_IO|__GFP_FS|__GFP_ACCOUNT",
    "GFP_NOWAIT": "__GFP_KSWAPD_RECLAIM",
    "GFP_NOIO": "__GFP_RECLAIM",
    "GFP_NOFS": "__GFP_RECLAIM|__GFP_IO",
    "GFP_USER": "__GFP_RECLAIM|__GFP_IO|__GFP_FS|__GFP_HARDWALL",
    "GFP_DMA": "__GFP_DMA",
    "GFP_DMA32": "__GFP_DMA32",
    "GFP_HIGHUSER": "__GFP_RECLAIM|__GFP_IO|__GFP_FS|__GFP_HARDWALL|__GFP_HIGHMEM",
    "GFP_HIGHUSER_MOVABLE": "__GFP_RECLAIM|__GFP_IO|__GFP_FS|__GFP_HARDWALL|__GFP_HIGHMEM"
                            "|__GFP_MOVABLE",
    "GFP_TRANSHUGE_LIGHT": "__GFP_IO|__GFP_FS|__GFP_HARDWALL|__GFP_HIGHMEM|__GFP_MOVABLE"
                           "|__GFP_COMP|__GFP_NOMEMALLOC|__GFP_NOWARN",
    "GFP_TRANSHUGE": "__GFP_IO|__GFP_FS|__GFP_HARDWALL|__GFP_HIGHMEM|__GFP_MOVABLE"
                     "|__GFP_COMP|__GFP_NOMEMALLOC|__GFP_NOWARN|__GFP_DIRECT_RECLAIM",
}

_COMPOSITE_6_12 = dict(_COMPOSITE_6_1)
_COMPOSITE_6_12["GFP_ATOMIC"] = "__GFP_HIGH|__GFP_KSWAPD_RECLAIM"
_COMPOSITE_6_12["GFP_NOWAIT"] = "__GFP_KSWAPD_RECLAIM|__GFP_NOWARN"

# --------------------------------------------------------------------------
# show_gfp_flags name tables, in the order the printer walks them (section 1.5).
# --------------------------------------------------------------------------

_SHOW_3_15 = (
    ("GFP_TRANSHUGE", "GFP_TRANSHUGE"), ("GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER_MOVABLE"),
    ("GFP_HIGHUSER", "GFP_HIGHUSER"), ("GFP_USER", "GFP_USER"),
    ("GFP_TEMPORARY", "GFP_TEMPORARY"), ("GFP_KERNEL", "GFP_KERNEL"), ("GFP_NOFS", "GFP_NOFS"),
    ("GFP_ATOMIC", "GFP_ATOMIC"), ("GFP_NOIO", "GFP_NOIO"), ("__GFP_HIGH", "GFP_HIGH"),
    ("__GFP_WAIT", "GFP_WAIT"), ("__GFP_IO", "GFP_IO"), ("__GFP_COLD", "GFP_COLD"),
    ("__GFP_NOWARN", "GFP_NOWARN"), ("__GFP_REPEAT", "GFP_REPEAT"),
    ("__GFP_NOFAIL", "GFP_NOFAIL"), ("__GFP_NORETRY", "GFP_NORETRY"),
    ("__GFP_COMP", "GFP_COMP"), ("__GFP_ZERO", "GFP_ZERO"),
    ("__GFP_NOMEMALLOC", "GFP_NOMEMALLOC"), ("__GFP_MEMALLOC", "GFP_MEMALLOC"),
    ("__GFP_HARDWALL", "GFP_HARDWALL"), ("__GFP_THISNODE", "GFP_THISNODE"),
    ("__GFP_RECLAIMABLE", "GFP_RECLAIMABLE"), ("__GFP_KMEMCG", "GFP_KMEMCG"),
    ("__GFP_MOVABLE", "GFP_MOVABLE"), ("__GFP_NOTRACK", "GFP_NOTRACK"),
    ("__GFP_NO_KSWAPD", "GFP_NO_KSWAPD"), ("__GFP_OTHER_NODE", "GFP_OTHER_NODE"),
)

_SHOW_6_1_NAMES = (
    "GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER", "GFP_USER",
    "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO", "GFP_NOWAIT",
    "GFP_DMA", "__GFP_HIGHMEM", "GFP_DMA32", "__GFP_HIGH", "__GFP_ATOMIC", "__GFP_IO",
    "__GFP_FS", "__GFP_NOWARN", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY",
    "__GFP_COMP", "__GFP_ZERO", "__GFP_NOMEMALLOC", "__GFP_MEMALLOC", "__GFP_HARDWALL",
    "__GFP_THISNODE", "__GFP_RECLAIMABLE", "__GFP_MOVABLE", "__GFP_ACCOUNT", "__GFP_WRITE",
    "__GFP_RECLAIM", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_ZEROTAGS",
)
_SHOW_6_1 = tuple((n, n) for n in _SHOW_6_1_NAMES)
_SHOW_6_12 = tuple((n, n) for n in _SHOW_6_1_NAMES if n != "__GFP_ATOMIC")


class GfpTable:
    """One kernel version's GFP numbers: bits, composite masks, printer table."""

    def __init__(self, version: str, bits: dict[str, int], composites: dict[str, str],
                 show: tuple[tuple[str, str], ...], zero_name: str, zone_bits_shift: int) -> None:
        self.version = version
        self.values: dict[str, int] = dict(bits)
        for name, expr in composites.items():
            value = 0
            for part in expr.split("|"):
                value |= 0 if part == "0" else self.values[part]
            self.values[name] = value
        self.show_table = tuple((self.values[sym], label) for sym, label in show)
        self.zero_name = zero_name
        self.bits_mask = (1 << zone_bits_shift) - 1
        self._cache: dict[GFP, int] = {}
        self._shown: dict[int, str] = {}  # show() of the masks seen so far
        self._has_memo: dict[str, dict] = {}  # flag name -> {mask: has_flag's answer}

    def value(self, gfp: GFP | int) -> int:
        """The number of ``gfp`` in this version, ValueError for names it lacks."""
        if type(gfp) is int:
            if gfp < 0:
                raise ValueError(f"a GFP mask cannot be negative: {gfp}")
            return gfp
        cached = self._cache.get(gfp)  # type: ignore[arg-type]
        if cached is None:
            if not isinstance(gfp, GFP):
                raise TypeError(
                    f"GFP flags must be km.GFP_* symbols, a string such as 'GFP_KERNEL' or an "
                    f"int mask, not {type(gfp).__name__}")
            cached = _evaluate(gfp._expr, self) & 0xFFFFFFFF
            _check_zone_bits(cached, gfp, self)
            self._cache[gfp] = cached
        return cached

    def show(self, value: int) -> str:
        """Print ``value`` as the tracepoints do (trace_print_flags_seq)."""
        text = self._shown.get(value)
        if text is None:
            text = self._shown[value] = self._show(value)
        return text

    def _show(self, value: int) -> str:
        if value == 0:
            return self.zero_name
        parts = []
        for mask, label in self.show_table:
            if mask and (value & mask) == mask:
                parts.append(label)
                value &= ~mask
                if not value:
                    break
        if value:
            parts.append(f"{value:#x}")
        return "|".join(parts)

    def spell(self, value: int) -> str:
        """``value`` for prose: as :meth:`show`, but bits the version's tracepoint table
        leaves as hex get their names (3.15 shows __GFP_HIGHMEM as ``0x2``; a trace line
        keeps the kernel's own format)."""
        out = []
        for part in self.show(value).split("|"):
            if not part.startswith("0x"):
                out.append(part)
                continue
            rest = int(part, 16)
            for name, mask in self.values.items():
                if name.startswith("__") and mask and not mask & (mask - 1) and rest & mask:
                    out.append(name)
                    rest &= ~mask
            if rest:
                out.append(f"{rest:#x}")
        return "|".join(out)

    def has(self, value: int, name: str) -> bool:
        mask = self.values.get(name)
        return bool(mask) and (value & mask) == mask

    def has_flag(self, gfp: GFP | int, name: str) -> bool:
        """``has(value(gfp), name)``, remembered per mask: a loop over a trace asks it of
        the same few masks tens of thousands of times."""
        memo = self._has_memo.get(name)
        if memo is None:
            memo = self._has_memo[name] = {}
        known = memo.get(gfp)
        if known is None:
            known = self.has(self.value(gfp), name)   # its errors, nothing remembered
            if len(memo) >= 4096:
                memo.clear()
            memo[gfp] = known
        return known

    def names(self) -> list[str]:
        return list(self.values)


# Hints for names that exist in one version and not another.
_RENAMES = {
    "__GFP_WAIT": "it was removed in Linux 4.4: blocking is now __GFP_DIRECT_RECLAIM "
                  "(GFP_KERNEL has it, GFP_ATOMIC does not)",
    "__GFP_REPEAT": "it was replaced by __GFP_RETRY_MAYFAIL in Linux 4.13",
    "__GFP_COLD": "it was removed in Linux 4.15",
    "__GFP_NOTRACK": "it was removed in Linux 4.15 (kmemcheck is gone)",
    "__GFP_KMEMCG": "it became __GFP_ACCOUNT in Linux 4.5",
    "__GFP_NO_KSWAPD": "use GFP flags without __GFP_KSWAPD_RECLAIM instead",
    "__GFP_OTHER_NODE": "it was removed in Linux 4.11",
    "GFP_TEMPORARY": "it was removed in Linux 4.15; use GFP_KERNEL",
    "GFP_IOFS": "it was removed in Linux 4.4",
    "__GFP_ATOMIC": "it was removed in Linux 6.3: GFP_ATOMIC is now __GFP_HIGH|"
                    "__GFP_KSWAPD_RECLAIM",
    "__GFP_DIRECT_RECLAIM": "Linux 3.15 spells 'may sleep' as __GFP_WAIT",
    "__GFP_KSWAPD_RECLAIM": "in Linux 3.15 kswapd is woken unless __GFP_NO_KSWAPD",
    "__GFP_RECLAIM": "Linux 3.15 spells 'may sleep' as __GFP_WAIT",
    "__GFP_RETRY_MAYFAIL": "Linux 3.15 has __GFP_REPEAT",
    "__GFP_ACCOUNT": "Linux 3.15 has __GFP_KMEMCG",
    "GFP_KERNEL_ACCOUNT": "Linux 3.15 has no GFP_KERNEL_ACCOUNT",
    "GFP_TRANSHUGE_LIGHT": "it was added in Linux 4.8",
    "__GFP_ZEROTAGS": "it was added in Linux 5.13",
}


def _evaluate(expr: tuple, table: GfpTable) -> int:
    kind = expr[0]
    if kind == "name":
        name = expr[1]
        try:
            return table.values[name]
        except KeyError:
            hint = _RENAMES.get(name)
            known = "" if hint else f"; known names: {', '.join(sorted(table.values))}"
            raise ValueError(
                f"{name} does not exist in Linux {table.version}"
                + (f": {hint}" if hint else known)) from None
    if kind == "raw":
        return expr[1]
    if kind == "or":
        value = 0
        for sub in expr[1]:
            value |= _evaluate(sub, table)
        return value
    if kind == "and":
        return _evaluate(expr[1], table) & _evaluate(expr[2], table)
    if kind == "not":
        return ~_evaluate(expr[1], table) & 0xFFFFFFFF
    raise AssertionError(expr)


def _check_zone_bits(value: int, gfp: GFP, table: GfpTable) -> None:
    # GFP_ZONE_BAD (include/linux/gfp.h): at most one of DMA, HIGHMEM, DMA32.
    zone_bits = value & 0x7
    if zone_bits & (zone_bits - 1):
        names = [n for n, b in (("__GFP_DMA", 1), ("__GFP_HIGHMEM", 2), ("__GFP_DMA32", 4))
                 if zone_bits & b]
        raise ValueError(
            f"{gfp}: {' and '.join(names)} together is an illegal zone combination "
            "(GFP_ZONE_BAD in include/linux/gfp.h); ask for one zone modifier only")


_EXPR_KINDS = (("name",), ("raw",), ("or",), ("and",), ("not",))


class GFP:
    """A symbolic GFP mask: remembers the expression, gets its number from a profile."""

    __slots__ = ("_expr", "_hash")

    def __init__(self, expr: tuple | str | int) -> None:
        if type(expr) is not tuple or expr[:1] not in _EXPR_KINDS:
            # GFP("GFP_KERNEL | __GFP_ZERO") and GFP(0xcc0) as a learner would write them;
            # anything else is not a mask (and must not fail later, when evaluated)
            if isinstance(expr, (str, int)):
                expr = _as_gfp(expr)._expr
            else:
                raise TypeError("GFP() takes flag names such as 'GFP_KERNEL | __GFP_ZERO' "
                                f"or a number, not {type(expr).__name__}")
        self._expr = expr
        self._hash = hash(expr)

    # -- construction -----------------------------------------------------
    def __or__(self, other: GFP | int) -> GFP:
        other = _as_gfp(other)
        left = self._expr[1] if self._expr[0] == "or" else (self._expr,)
        right = other._expr[1] if other._expr[0] == "or" else (other._expr,)
        return GFP(("or", left + right))

    __ror__ = __or__

    def __and__(self, other: GFP | int) -> GFP:
        return GFP(("and", self._expr, _as_gfp(other)._expr))

    __rand__ = __and__

    def __invert__(self) -> GFP:
        return GFP(("not", self._expr))

    def __sub__(self, other: GFP) -> GFP:
        """``flags - X`` is a readable spelling of ``flags & ~X``."""
        return self & ~_as_gfp(other)

    # -- identity -----------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, GFP) and self._expr == other._expr

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return _expr_str(self._expr, top=True)

    def __repr__(self) -> str:
        return f"GFP({self})"

    @property
    def names(self) -> list[str]:
        """The symbol names the expression mentions, in order."""
        out: list[str] = []

        def walk(e: tuple) -> None:
            if e[0] == "name":
                out.append(e[1])
            elif e[0] == "or":
                for sub in e[1]:
                    walk(sub)
            elif e[0] == "and":
                walk(e[1])
                walk(e[2])
            elif e[0] == "not":
                walk(e[1])

        walk(self._expr)
        return out


def _expr_str(e: tuple, top: bool = False) -> str:
    kind = e[0]
    if kind == "name":
        return e[1]
    if kind == "raw":
        return f"{e[1]:#x}"
    if kind == "or":
        s = "|".join(_expr_str(sub) for sub in e[1])
        return s if top else f"({s})"
    if kind == "and":
        s = f"{_expr_str(e[1])} & {_expr_str(e[2])}"
        return s if top else f"({s})"
    if kind == "not":
        return "~" + _expr_str(e[1])
    raise AssertionError(e)


def _as_gfp(value: GFP | int | str) -> GFP:
    if isinstance(value, GFP):
        return value
    if isinstance(value, bool):
        raise TypeError("GFP flags cannot be a bool")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a GFP mask cannot be negative: {value}")
        return GFP(("raw", value))
    if isinstance(value, str):
        return parse(value)
    raise TypeError(f"cannot combine GFP flags with {type(value).__name__}")


# Every name any supported version knows.
ALL_NAMES: tuple[str, ...] = tuple(dict.fromkeys(
    list(_BITS_3_15) + list(_COMPOSITE_3_15) + list(_BITS_6_1) + list(_BITS_6_12)
    + list(_COMPOSITE_6_1)))

_SYMBOLS: dict[str, GFP] = {name: GFP(("name", name)) for name in ALL_NAMES}


def flag(name: str) -> GFP:
    """The symbolic flag called ``name`` (e.g. ``flag("__GFP_ZERO")``)."""
    if not isinstance(name, str):
        raise TypeError(f"flag() takes a name such as '__GFP_ZERO', not {type(name).__name__}")
    try:
        return _SYMBOLS[name.strip()]
    except KeyError:
        close = [n for n in ALL_NAMES if name.strip().upper().lstrip("_") in n]
        hint = f"; did you mean {', '.join(close[:4])}?" if close else ""
        raise ValueError(f"unknown GFP flag name {name!r}{hint}") from None


_TOKEN = re.compile(r"\s*(~|\||&|\(|\)|0[xX][0-9a-fA-F]+|\d+|[A-Za-z_][A-Za-z0-9_]*)")


def parse(text: str) -> GFP:
    """Parse ``"GFP_KERNEL|__GFP_ZERO"``, ``"GFP_KERNEL & ~__GFP_DIRECT_RECLAIM"`` or ``"0xcc0"``.

    Also accepts 3.15's tracepoint spelling without underscores (``GFP_ZERO`` for
    ``__GFP_ZERO``), so a line printed by a 3.15 trace parses back.
    """
    if isinstance(text, GFP):
        return text
    if not isinstance(text, str):
        raise TypeError(f"parse() takes a string, not {type(text).__name__}")
    known = _PARSED.get(text)
    if known is not None:
        return known
    tokens: list[str] = []
    pos = 0
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty GFP expression; write e.g. 'GFP_KERNEL'")
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if not m:
            raise ValueError(f"cannot parse GFP expression {text!r} at column {pos + 1}")
        tokens.append(m.group(1))
        pos = m.end()
        while pos < len(stripped) and stripped[pos].isspace():
            pos += 1
    result, rest = _parse_or(tokens, text)
    if rest:
        raise ValueError(f"unexpected {rest[0]!r} in GFP expression {text!r}")
    if len(_PARSED) >= 4096:  # bounded: a loop over generated strings cannot grow it
        _PARSED.clear()
    _PARSED[text] = result
    return result


_PARSED: dict[str, GFP] = {}  # parse() results; GFP values are immutable


def _parse_or(tokens: list[str], text: str) -> tuple[GFP, list[str]]:
    left, tokens = _parse_and(tokens, text)
    while tokens and tokens[0] == "|":
        right, tokens = _parse_and(tokens[1:], text)
        left = left | right
    return left, tokens


def _parse_and(tokens: list[str], text: str) -> tuple[GFP, list[str]]:
    left, tokens = _parse_unary(tokens, text)
    while tokens and tokens[0] == "&":
        right, tokens = _parse_unary(tokens[1:], text)
        left = left & right
    return left, tokens


def _parse_unary(tokens: list[str], text: str) -> tuple[GFP, list[str]]:
    if not tokens:
        raise ValueError(f"GFP expression {text!r} ends too early")
    tok = tokens[0]
    if tok == "~":
        inner, rest = _parse_unary(tokens[1:], text)
        return ~inner, rest
    if tok == "(":
        inner, rest = _parse_or(tokens[1:], text)
        if not rest or rest[0] != ")":
            raise ValueError(f"missing ')' in GFP expression {text!r}")
        return inner, rest[1:]
    if tok[0].isdigit():
        return GFP(("raw", int(tok, 0))), tokens[1:]
    if tok in _SYMBOLS:
        return _SYMBOLS[tok], tokens[1:]
    if "__" + tok in _SYMBOLS:  # 3.15 tracepoints print __GFP_ZERO as GFP_ZERO
        return _SYMBOLS["__" + tok], tokens[1:]
    if tok == "none":  # 6.x prints 0 as "none"
        return GFP(("raw", 0)), tokens[1:]
    return flag(tok), tokens[1:]  # raises with a hint


def coerce(value: GFP | int | str) -> GFP | int:
    """Accept what the public API accepts as flags: a GFP, an int mask, or a string."""
    if isinstance(value, GFP):
        return value
    if isinstance(value, bool):
        raise TypeError("GFP flags cannot be a bool; use e.g. km.GFP_KERNEL")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a GFP mask cannot be negative: {value}")
        return value
    if isinstance(value, str):
        return parse(value)
    raise TypeError(
        f"GFP flags must be km.GFP_* symbols, a string such as 'GFP_KERNEL' or an int mask, "
        f"not {type(value).__name__}")


# The headers' data, one set per header revision; profiles.py builds each profile's
# GfpTable from one of these (Profile.gfp_table).
GFP_H_3_15 = dict(bits=_BITS_3_15, composites=_COMPOSITE_3_15, show=_SHOW_3_15,
                  zero_name="GFP_NOWAIT", zone_bits_shift=25)
GFP_TYPES_H_6_1 = dict(bits=_BITS_6_1, composites=_COMPOSITE_6_1, show=_SHOW_6_1,
                       zero_name="none", zone_bits_shift=27)
GFP_TYPES_H_6_12 = dict(bits=_BITS_6_12, composites=_COMPOSITE_6_12, show=_SHOW_6_12,
                        zero_name="none", zone_bits_shift=25)

# version -> table, filled by profiles.py from every profile (kept for old callers).
TABLES: dict[str, GfpTable] = {}


def table(version: str) -> GfpTable:
    """The GFP numbers of a kernel version (its profile's ``gfp_table``)."""
    if not TABLES:
        from . import profiles  # noqa: F401  (registers every profile's table)
    try:
        return TABLES[version]
    except KeyError:
        raise ValueError(
            f"no GFP table for Linux {version}; known: {', '.join(TABLES)}") from None


def symbols() -> dict[str, GFP]:
    """Every flag symbol by name (for ``from kmemlab.gfp import *``-style exports)."""
    return dict(_SYMBOLS)


def names_in(value: int, version: str) -> Iterable[str]:
    """The raw ``__GFP_*`` bit names set in ``value`` for ``version``."""
    t = table(version)
    return [n for n, b in t.values.items() if n.startswith("__GFP_") and b and
            (b & (b - 1)) == 0 and value & b]


# Module-level names: km.GFP_KERNEL, km.gfp.__GFP_ZERO (outside classes), ...
globals().update(_SYMBOLS)
