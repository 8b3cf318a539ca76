"""Measures of the Chinese chapters (tests/notebooks/test_zh.py, the lead's report)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ZH = NOTEBOOKS / "zh"

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_PUNCT = re.compile(r"[\u3000-\u303f\uff00-\uffef“”‘’—…·]")
# what is not prose: fenced and inline code, link targets, HTML tags and comments, URLs
NOT_PROSE = re.compile(r"```.*?```|`[^`\n]*`|\]\([^)]*\)|<!--.*?-->|<[^>\n]+>|https?://\S+",
                       re.S)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_./+-]*")


def source(cell: dict) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def identifiers(nb: dict) -> set[str]:
    """Names a chapter's code uses (kmalloc, GFP_KERNEL, buddyinfo, ...), read from the
    syntax tree: names, attributes, keywords and one-word strings; not comments or
    English sentences in strings. A Latin word of the Chinese prose that is one of these
    is an identifier, not English."""
    names: set[str] = set()
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        try:
            tree = ast.parse(source(c))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.:-]*", node.value):
                names.update(re.split(r"[.:]", node.value))
    return names


# kernel and tool names, units and abbreviations that a Chinese text writes in Latin letters
# (as the article itself does): they count as identifiers, not as English prose
LATIN_TERMS = set("""
Linux glibc SLUB SLAB DMA IOMMU ISA PCI FPGA CPU CPUs RAM MiB GiB KiB TiB EiB KB MB GB
x86 x86_64 i386 ring0 ring3 ftrace kmem Binder JupyterLab Notebook Jupyter Debian Mac
HighMem lowmem LRU VMA VMAs RSS VSZ tcache fastbin bin bins unsorted small large
oops panic kprobe kswapd shrinker dentry inode tasklet memmap slab slabs memblock bootmem
CMA API Shift Enter Kernel Restart and Run All Cells NULL vmalloc kmalloc malloc free mmap
brk strace pageblock pfn int3 BUG root sudo perf trace-cmd IRQ IRQs NMI gfp GFP zone
explorer buddyinfo buddy tree oops user page sh kmemlab
""".split())


def cjk_share(zh_nb: dict, en_nb: dict | None = None) -> tuple[float, int, int, float]:
    """(CJK share with identifiers excluded, CJK characters, other prose letters,
    CJK share counting every Latin letter) of the markdown of a Chinese chapter."""
    ids = identifiers(en_nb or zh_nb) | LATIN_TERMS
    cjk = other = other_all = 0
    for c in zh_nb["cells"]:
        if c["cell_type"] != "markdown":
            continue
        text = NOT_PROSE.sub(" ", source(c))
        cjk += len(HAN.findall(text)) + len(CJK_PUNCT.findall(text))
        for w in WORD.findall(text):
            letters = sum(ch.isalpha() for ch in w)
            other_all += letters
            core = w.strip("./+-")
            if core in ids or core.lower() in ids or "_" in core or any(ch.isdigit() for ch in core):
                continue
            other += letters
    share = cjk / (cjk + other) if cjk + other else 0.0
    share_all = cjk / (cjk + other_all) if cjk + other_all else 0.0
    return share, cjk, other, share_all
