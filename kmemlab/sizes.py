"""Sizes as the kernel's command line writes them (lib/cmdline.c: memparse)."""

from __future__ import annotations

import re

_SUFFIX_SHIFT = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}
_MEMPARSE = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgGtTpPeE]?)\s*$")


def memparse(value: int | str, *, what: str = "size") -> int:
    """Parse a size like the kernel's ``memparse()``: ``64M``, ``1G``, ``0x1000``, ``512k``.

    lib/cmdline.c: memparse reads a number with ``simple_strtoull(ptr, &end, 0)`` (so
    ``0x`` is hex and a leading ``0`` is octal) followed by an optional binary suffix
    K, M, G, T, P or E. Unlike the kernel, which silently stops at the first character
    it does not understand, garbage is rejected here with a clear message.
    """
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int or a string like '64M', not a bool")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{what} cannot be negative: {value}")
        return value
    if not isinstance(value, str):
        raise TypeError(f"{what} must be an int or a string like '64M', "
                        f"not {type(value).__name__}")
    m = _MEMPARSE.match(value)
    if not m:
        raise ValueError(
            f"cannot parse {what} {value!r}: write a number with an optional K, M, G, T, P or E "
            "suffix (binary units, as the kernel's memparse reads them), e.g. '64M' or '0x1000'")
    number = int(m.group(1), 0) if not re.fullmatch(r"0[0-7]+", m.group(1)) \
        else int(m.group(1), 8)
    suffix = m.group(2).lower()
    return number << _SUFFIX_SHIFT[suffix] if suffix else number


def size_arg(value: int | str, what: str = "size", *, minimum: int = 0) -> int:
    """A size argument of the Python API: an int or a memparse string, at least ``minimum``
    (TypeError for other types, ValueError below the minimum)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int or a size string such as '64M', "
                        f"not {type(value).__name__}")
    size = memparse(value, what=what) if isinstance(value, str) else value
    if size < minimum:
        bound = "> 0" if minimum == 1 else f"≥ {minimum}"
        raise ValueError(f"{what} must be {bound}, not {size}")
    return size


def human(nbytes: int) -> str:
    """``human(4096) == '4 KiB'``; exact when the number is a whole unit."""
    for unit, shift in (("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20),
                        ("KiB", 10)):
        if nbytes >= 1 << shift:
            q = nbytes / (1 << shift)
            return f"{q:g} {unit}" if q == int(q) else f"{q:.1f} {unit}"
    return f"{nbytes} B"
