#!/usr/bin/env python3
"""Every static figure the chapters draw, rendered to pixels: to prove that a faster
plotting tree draws the same pictures as an older one, pixel for pixel.

    PYTHONPATH=OLD .venv-test/bin/python tools/plot_pixels.py dump /tmp/old.npz
    PYTHONPATH=NEW .venv-test/bin/python tools/plot_pixels.py dump /tmp/new.npz
    .venv-test/bin/python tools/plot_pixels.py compare /tmp/old.npz /tmp/new.npz

``dump`` draws each plot of :func:`figures` (the chapters' ``km.plot`` calls on kernels of
several versions, architectures and RAM sizes, in English and in Chinese), renders it with
``km.plot.png_bytes`` at the dpi a notebook shows it (100) and stores the RGBA arrays.
``compare`` prints the figures that differ (shape or any pixel) and exits 1 if one does.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator

import numpy as np


def _busy(km, version="6.12", arch="x86_64", ram="256M"):
    k = km.Kernel(version=version, arch=arch, ram=ram, pcp=False)
    ptrs = [k.kmalloc(s, km.GFP_KERNEL) for s in range(8, 3000, 37)]
    for p in ptrs[::2]:
        k.kfree(p)
    pages = [k.alloc_pages(km.GFP_KERNEL, o % 4) for o in range(24)]
    for p in pages[::3]:
        k.free_pages(p)
    return k


def figures() -> Iterator[tuple[str, Callable]]:
    """(name, draw) for each figure; draw() returns a matplotlib Figure."""
    import kmemlab as km

    for version, arch, ram in (("6.12", "x86_64", "1G"), ("3.15", "i386", "1G"),
                               ("6.1", "x86_64", "4G"), ("6.12", "x86_64", "256M")):
        tag = f"{version}-{arch}-{ram}"
        k = _busy(km, version, arch, ram)
        page = k.alloc_pages(km.GFP_KERNEL, 3)
        yield f"memory_map/{tag}", lambda k=k, p=page: km.plot.memory_map(k, highlight=[p.pfn])
        yield f"memory_map_plain/{tag}", lambda k=k: km.plot.memory_map(k)
        yield f"address_space/{tag}", lambda k=k: km.plot.address_space(k)
        yield f"slab/{tag}", lambda k=k: km.plot.slab(k, "kmalloc-128")
        yield f"buddyinfo/{tag}", lambda k=k: km.plot.buddyinfo(k)
        pfn = k.virt_to_pfn(k.get_free_pages(km.GFP_KERNEL, 2))
        yield f"buddy_tree/{tag}", lambda k=k, pfn=pfn: km.plot.buddy_tree(k, pfn, 10)
        v = k.vmalloc(5 * k.PAGE_SIZE)
        yield f"vmalloc_mapping/{tag}", lambda k=k, v=v: km.plot.vmalloc_mapping(k, v)
        yield f"slabinfo/{tag}", lambda k=k: km.plot.slabinfo(k)
        yield f"timeline/{tag}", lambda k=k: km.plot.timeline(k)
        yield f"memblock/{tag}", lambda k=k: km.plot.memblock(k)
    k = km.Kernel(version="6.12", ram="64G")
    k.alloc_pages(km.GFP_KERNEL, 10)
    yield "memory_map/64G", lambda: km.plot.memory_map(k)
    # chapter 5: half of 4096 pages freed again, no pcp lists
    k = km.Kernel(version="6.12", ram="256M", pcp=False)
    pages = [k.alloc_pages(km.GFP_KERNEL, 0) for _ in range(4096)]
    for pg in pages[::2]:
        k.free_pages(pg)
    yield "buddyinfo/ch05", lambda: km.plot.buddyinfo(k)
    yield "memory_map/ch05", lambda: km.plot.memory_map(k, highlight=[pages[1].pfn])
    # chapter 3: a process's heap
    k = km.Kernel(version="6.12", ram="1G")
    proc = k.spawn("demo")
    ptrs = [proc.malloc(s) for s in (24, 100, 300, 2000, 40, 200_000)]
    proc.free(ptrs[1])
    proc.free(ptrs[3])
    yield "heap/ch03", lambda: km.plot.heap(proc)
    yield "page_walk/x86_64", lambda: km.plot.page_walk(km.Kernel(ram="1G"),
                                                        0xFFFF888003001C70)
    # chapter 6: a replayed trace's timeline
    from pathlib import Path

    from kmemlab.replay import Replayer
    sample = Path(__file__).resolve().parents[1] / "notebooks/data/kmem-trace-6.12-sample.txt"
    rep = Replayer(str(sample), version="3.15", ram="1G", sample_every=10)
    rep.run()
    yield "trace/cache_bytes_over_time", lambda: km.plot.trace.cache_bytes_over_time(
        rep.timeline)

def dump(out: str) -> int:
    from PIL import Image

    import kmemlab as km

    arrays: dict[str, np.ndarray] = {}
    for lang in ("en", "zh"):
        km.set_language(lang)
        for name, draw in figures():
            png = km.plot.png_bytes(draw(), dpi=100)
            arrays[f"{lang}/{name}"] = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    km.set_language("en")
    np.savez_compressed(out, **arrays)
    print(f"{len(arrays)} figures -> {out}")
    return 0


def compare(a: str, b: str) -> int:
    x, y = np.load(a), np.load(b)
    bad = 0
    for name in sorted(set(x.files) | set(y.files)):
        if name not in x.files or name not in y.files:
            print(f"only in one: {name}")
            bad += 1
        elif x[name].shape != y[name].shape:
            print(f"shape {name}: {x[name].shape} != {y[name].shape}")
            bad += 1
        elif not (x[name] == y[name]).all():
            n = int((x[name] != y[name]).any(axis=2).sum())
            print(f"pixels {name}: {n} differ")
            bad += 1
    print(f"{len(x.files)} figures compared, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    import matplotlib
    matplotlib.use("Agg")
    if len(sys.argv) == 3 and sys.argv[1] == "dump":
        sys.exit(dump(sys.argv[2]))
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    sys.exit(__doc__)
