"""tools/record-boot/compact.py: how a real machine's /proc/kpageflags becomes free blocks,
frames and compound blocks (synthetic flag arrays with the kernel's bit numbers)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parents[2] / "tools" / "record-boot" / "compact.py"
spec = importlib.util.spec_from_file_location("compact", PATH)
compact = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compact)
K = compact.K


def flags(n: int, **runs: list[tuple[int, int]]) -> np.ndarray:
    a = np.zeros(n, dtype="<u8")
    for name, spans in runs.items():
        for start, count in spans:
            a[start:start + count] |= np.uint64(1) << np.uint64(compact.KPF[name])
    return a


def test_free_runs_are_cut_into_maximal_aligned_buddy_blocks() -> None:
    # pfns 3..20 free: __free_one_page leaves 3 (order 0), 4-7, 8-15, 16-19, 20
    kind = compact.classify(flags(64, BUDDY=[(3, 18)]))
    assert compact.buddy_blocks(kind) == [[3, 0], [4, 2], [8, 3], [16, 2], [20, 0]]
    assert compact.buddy_blocks(compact.classify(flags(4096, BUDDY=[(0, 4096)]))) == \
        [[0, 10], [1024, 10], [2048, 10], [3072, 10]]


def test_kinds_follow_the_page_flags() -> None:
    f = flags(16, RESERVED=[(0, 2)], SLAB=[(2, 4)], HEAD=[(2, 1), (8, 1)],
              TAIL=[(3, 3), (9, 1)], LRU=[(10, 1)], ANON=[(11, 1)], PGTABLE=[(12, 1)],
              NOPAGE=[(15, 1)])
    kind = compact.classify(f)
    names = [compact.KINDS[c] for c in kind]
    assert names == ["reserved"] * 2 + ["slab"] * 4 + ["kernel"] * 2 + ["compound"] * 2 \
        + ["pagecache", "anon", "pgtable", "kernel", "kernel", "hole"]
    # an order-2 slab at pfn 2 and an order-1 compound page (large kmalloc) at 8
    assert compact.compound_blocks(f, kind) == [[2, 2, "slab"], [8, 1, "compound"]]
    assert compact.rle(kind)[:2] == [[0, 2, K["reserved"]], [2, 4, K["slab"]]]


def test_pcp_pages_are_the_last_freed_unused_pages_up_to_zoneinfo_counts() -> None:
    kind = np.full(64, K["kernel"], dtype=np.uint8)
    kind[5] = K["free"]
    last_free = {1: 0, 2: 1, 3: 0, 5: 0, 4: 0}   # freed in this order; 5 went to buddy
    pages = compact.pcp_pages(last_free, kind, {"DMA32": [2, 5]}, {"DMA32": (0, 64)})
    assert pages == [[4, 0], [3, 0], [2, 1]]
