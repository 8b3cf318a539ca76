"""Kernel versions are data (issue 17): no code outside kmemlab/profiles.py names a
version or compares one. A new kernel is a derive() entry in profiles.py, so a
``version == "6.12"`` anywhere else would silently give it another kernel's output."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import kmemlab

PKG = Path(kmemlab.__file__).parent
ALLOWED = {PKG / "profiles.py"}
# "3.15", "6.1", "6.12", "6.18", ...: what a kernel version looks like as a literal
VERSION_LITERAL = re.compile(r"^[3-9]\.\d{1,2}$")
VERSION_FLAG = re.compile(r"^v\d{2,4}$")          # v315, v61, v612
COMPARE = {"==", "!=", "in", "not"}


def offences(source: str) -> list[tuple[int, str]]:
    """(line, what) for every version literal, version flag or version comparison."""
    out = []
    toks = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT,
                              tokenize.INDENT, tokenize.DEDENT)]
    for i, t in enumerate(toks):
        if t.type == tokenize.STRING:
            body = t.string.lstrip("rbuRBUfF")
            if body[:1] in "'\"" and body[:3] not in ('"""', "'''"):
                value = body.strip("'\"")
                if VERSION_LITERAL.match(value):
                    out.append((t.start[0], f"version literal {t.string}"))
        elif t.type == tokenize.NAME and VERSION_FLAG.match(t.string):
            out.append((t.start[0], f"version flag {t.string}"))
        elif t.type == tokenize.NAME and t.string == "version" and i > 0 and \
                toks[i - 1].string == "." and i + 1 < len(toks) and \
                toks[i + 1].string in COMPARE:
            out.append((t.start[0], f".version {toks[i + 1].string}"))
    return out


def test_no_version_literal_outside_profiles():
    found = []
    for path in sorted(PKG.rglob("*.py")):
        if path in ALLOWED:
            continue
        for line, what in offences(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(PKG.parent)}:{line}: {what}")
    assert not found, ("ask the profile for a named feature instead (kmemlab/profiles.py):\n"
                       + "\n".join(found))


def test_the_lint_catches_what_it_is_for():
    src = ('if k.profile.version == "3.15":\n    pass\nv315 = p.version != x\n'
           'x = {"6.12": 1}\n"""docstring 3.15"""\n# comment "6.1"\ny = "slabinfo 2.1"\n')
    got = [what for _line, what in offences(src)]
    assert got == [".version ==", 'version literal "3.15"', "version flag v315",
                   ".version !=", 'version literal "6.12"']
