"""Chapter 2: kmalloc and vmalloc (GFP flags, size classes, the real limit)."""

from __future__ import annotations

import kmemlab as km

from . import Exercise, fmt_size, rng_for

CHAPTER = 2

_COMBOS = [
    ("GFP_KERNEL", "__GFP_ZERO"), ("GFP_ATOMIC", "__GFP_NOWARN"), ("GFP_KERNEL", "__GFP_NORETRY"),
    ("GFP_USER", "__GFP_ZERO"), ("GFP_NOFS", "__GFP_NOWARN"), ("GFP_KERNEL", "__GFP_DMA"),
    ("GFP_ATOMIC", "__GFP_ZERO"), ("GFP_NOIO", "__GFP_HIGH"),
]


def exercises(student: str) -> list[Exercise]:
    out = []

    r = rng_for(student, CHAPTER, 1)
    s = r.choice([r.randrange(9, 64), r.randrange(65, 256), r.randrange(257, 2048),
                  r.randrange(2049, 8192)])
    version = r.choice(["3.15", "6.12"])

    def e1(s=s, version=version):
        k = km.Kernel(version=version)
        p = k.kmalloc(s, km.GFP_KERNEL)
        waste = k.ksize(p) - s
        return waste, (f'k = km.Kernel(version="{version}"); p = k.kmalloc({s}, km.GFP_KERNEL); '
                       f"k.ksize(p) = {k.ksize(p)} ({k.kmalloc_cache(s).name}) → {waste} bytes wasted.")
    out.append(Exercise(CHAPTER, 1, "internal fragmentation",
                        f"On Linux {version} x86_64, a driver calls `kmalloc({s}, GFP_KERNEL)`. "
                        f"How many bytes of the object are wasted (`ksize(p) - {s}`)?", e1,
                        hint="k.ksize(p) is the size of the object kmalloc really handed out."))

    r = rng_for(student, CHAPTER, 2)
    a, b = r.choice(_COMBOS)

    def e2(a=a, b=b):
        k = km.Kernel(version="3.15")
        flags = km.gfp.flag(a) | km.gfp.flag(b)
        v = k.gfp_value(flags)
        return hex(v), (f'km.Kernel(version="3.15").gfp_value({a} | {b}) = {v:#x} '
                        f"({k.gfp_value(km.gfp.flag(a)):#x} | {k.gfp_value(km.gfp.flag(b)):#x}).")
    out.append(Exercise(CHAPTER, 2, "GFP bits in 3.15",
                        f"In Linux 3.15, what is the numeric value of `{a} | {b}`? (hex)", e2,
                        hint="k.gfp_value(km.gfp.flag(...) | km.gfp.flag(...)) on a 3.15 kernel; "
                             "bits are OR-ed, never XOR-ed."))

    r = rng_for(student, CHAPTER, 3)
    csize = r.choice([96, 192, 512, 1024, 2048, 4096, 8192])
    version3 = r.choice(["3.15", "6.12"])
    cache = km.Kernel(version=version3).kmalloc_cache(csize).name  # 3.15 says kmalloc-1024, 6.x kmalloc-1k

    def e3(cache=cache, version=version3):
        k = km.Kernel(version=version, cpus=2)
        c = k.slab_caches[cache]
        return c.objs_per_slab, (f'km.Kernel(version="{version}").slab_caches["{cache}"]: '
                                 f"objs_per_slab = {c.objs_per_slab}, order = {c.order} "
                                 f"(slab of {(4096 << c.order) // 1024} KiB, slab_size {c.slab_size}).")
    out.append(Exercise(CHAPTER, 3, "objects per slab",
                        f"On Linux {version3} x86_64 with 2 CPUs, how many objects does one slab of "
                        f"`{cache}` hold (`objs_per_slab`, as in `/sys/kernel/slab/{cache}/`)?", e3,
                        hint="k.slab_caches[name].objs_per_slab, or the 4th number of its "
                             "/proc/slabinfo line."))

    r = rng_for(student, CHAPTER, 4)
    big = r.choice([20, 33, 100, 129, 200, 513, 700, 1025, 3000]) * 1024 + r.choice([0, 1, 512])

    def e4(big=big):
        k = km.Kernel(version="6.12")
        p = k.kmalloc(big, km.GFP_KERNEL)
        return k.ksize(p), (f"kmalloc({big}) is above KMALLOC_MAX_CACHE_SIZE (8192): it takes an "
                            f"order-{km.get_order(big)} block straight from the buddy allocator; "
                            f"k.ksize(p) = {k.ksize(p)}. {k.trace.last.why}")
    out.append(Exercise(CHAPTER, 4, "large kmalloc",
                        f"On Linux 6.12, `p = kmalloc({big}, GFP_KERNEL)` ({fmt_size(big)}). "
                        f"How many bytes does `ksize(p)` report?", e4,
                        hint="above 8 KiB kmalloc rounds up to 4096 · 2^get_order(size)."))

    r = rng_for(student, CHAPTER, 5)
    lim_version = r.choice(["3.15", "6.1", "6.12"])

    def e5(version=lim_version):
        k = km.Kernel(version=version, ram="2G")
        lo, hi = 1, 64 << 20
        while lo < hi:  # the largest size kmalloc grants, by bisection on fresh kernels
            mid = (lo + hi + 1) // 2
            kk = k.snapshot()
            if kk.kmalloc(mid, km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN")) is not None:
                lo = mid
            else:
                hi = mid - 1
        return lo, (f"bisection with k.kmalloc(size, GFP_KERNEL|__GFP_NOWARN) on a fresh "
                    f"Linux {version} kernel: the largest size that succeeds is {lo} bytes "
                    f"= {fmt_size(lo)} (one order-{km.get_order(lo)} block).")
    out.append(Exercise(CHAPTER, 5, "the real kmalloc limit",
                        f"What is the largest size in bytes that `kmalloc(size, GFP_KERNEL)` can "
                        f"return on Linux {lim_version} x86_64 with 2 GiB of free RAM?", e5,
                        hint="try sizes on k.snapshot() copies; 128 KiB is not the answer."))
    return out
