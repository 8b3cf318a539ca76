"""The core figures of the README's "How fast it is": CPU time (time.process_time),
median of 5 runs, through the public API; a loop's kernel is booted before the clock starts
(a 1 GiB boot is ~11 ms, a third of 20,000 kmalloc+kfree pairs). Run from a checkout:
``PYTHONPATH=. python tools/speed_figures.py`` (another tree's PYTHONPATH for a before/after)."""
import functools
import gzip
import inspect
import statistics
import time
from pathlib import Path

import kmemlab as km

SIZES = [8, 24, 64, 100, 200, 512, 1000, 3000, 4096, 8192, 1, 5000]


def rate(fn, n, runs=5):
    """n / median CPU seconds of ``fn(n)``. A workload written as a generator sets itself up
    (boots its kernel) before its first ``yield``; only what follows is timed."""
    ts = []
    for _ in range(runs):
        work = fn(n) if inspect.isgeneratorfunction(fn) else None
        if work is not None:
            next(work)  # the set-up, not timed
        t = time.process_time()
        if work is None:
            fn(n)
        else:
            for _ in work:
                pass
        ts.append(time.process_time() - t)
    return n / statistics.median(ts)


def kmalloc(n, trace=True):
    k = km.Kernel(ram="1G")
    k.trace.enabled = trace
    g = km.GFP_KERNEL
    yield
    for i in range(n):
        k.kfree(k.kmalloc(SIZES[i % 12], g))


def pages(n):
    k = km.Kernel(ram="1G")
    g = km.GFP_KERNEL
    yield
    for _ in range(n):
        k.free_pages(k.alloc_pages(g, 0))


def vmalloc(size):
    def run(n):
        k = km.Kernel(ram="1G")
        yield
        for _ in range(n):
            k.vfree(k.vmalloc(size))
    return run


def malloc(n):
    k = km.Kernel(ram="1G")
    p = k.spawn("m")
    yield
    for i in range(n):
        p.free(p.malloc(16 + (i * 37) % 2000))


def snapshot(n):
    k = km.Kernel(ram="1G")
    yield
    for _ in range(n):
        k.snapshot()


TRACE = str(Path(km.__file__).parent / "data" / "boots" / "6.12" / "trace.txt.gz")


def parse(n):
    from kmemlab import traceparse as tp
    for _ in range(n):
        for _r in tp.iter_records(TRACE, progress=False):
            pass


def stats(n):
    from kmemlab import traceparse as tp
    for _ in range(n):
        tp.trace_stats(TRACE)


def replay(n):
    from kmemlab.replay import Replayer
    for _ in range(n):
        Replayer(TRACE, version="6.12").run()


lines = sum(1 for _ in gzip.open(TRACE, "rt"))
print(f"kmalloc+kfree (tracing on)\t{rate(kmalloc, 20000):,.0f}\tpairs/s")
untraced = functools.partial(kmalloc, trace=False)
print(f"kmalloc+kfree (tracing off)\t{rate(untraced, 20000):,.0f}\tpairs/s")
print(f"alloc_pages+free_pages order 0\t{rate(pages, 20000):,.0f}\tpairs/s")
print(f"vmalloc(8 KiB)+vfree\t{rate(vmalloc(8192), 2000):,.0f}\tpairs/s")
print(f"vmalloc(1 MiB)+vfree\t{rate(vmalloc(1 << 20), 300):,.0f}\tpairs/s")
print(f"malloc+free (user)\t{rate(malloc, 20000):,.0f}\tpairs/s")
print(f"Kernel.snapshot (1 GiB)\t{rate(snapshot, 50):,.0f}\tper s")
print(f"parse 6.12 boot trace\t{rate(parse, 1, 3) * lines:,.0f}\tlines/s")
print(f"trace stats 6.12 boot trace\t{rate(stats, 1, 3) * lines:,.0f}\tlines/s")
print(f"replay 6.12 boot trace\t{rate(replay, 1, 3) * lines:,.0f}\tlines/s")
