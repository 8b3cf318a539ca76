"""Chapter 0 (start here): warm-up exercises."""

from __future__ import annotations

import kmemlab as km

from . import Exercise, fmt_size, rng_for

CHAPTER = 0


def exercises(student: str) -> list[Exercise]:
    out = []

    r = rng_for(student, CHAPTER, 1)
    size = r.choice([3000, 5000, 9000, 20000, 40000, 70000, 100000, 300000, 600000])

    def e1(size=size):
        order = km.get_order(size)
        return order, (f"km.get_order({size}) = {order}: 4096 << {order} = {4096 << order} "
                       f"is the first power-of-two number of pages that holds {size} bytes.")
    out.append(Exercise(CHAPTER, 1, "get_order",
                        f"What does `get_order({size})` return on x86 (4 KiB pages)?", e1,
                        hint="the smallest n such that 4096 · 2ⁿ ≥ size."))

    r = rng_for(student, CHAPTER, 2)
    ram = r.choice(["512M", "768M", "1G", "1536M", "2G"])

    def e2(ram=ram):
        k = km.Kernel(version="6.12", ram=ram)
        n = k.buddyinfo()["DMA32"][10]
        return n, (f'km.Kernel(version="6.12", ram="{ram}").buddyinfo()["DMA32"][10] = {n}: '
                   f"the last column of the DMA32 line of /proc/buddyinfo.")
    out.append(Exercise(CHAPTER, 2, "read /proc/buddyinfo",
                        f'Boot `km.Kernel(version="6.12", ram="{ram}")`. How many free order-10 '
                        f"blocks (4 MiB each) does zone DMA32 have right after boot?", e2,
                        hint='print(k.proc("buddyinfo")) and read the last column of the DMA32 line.'))

    r = rng_for(student, CHAPTER, 3)
    s = r.choice([13, 33, 65, 100, 150, 200, 300, 700, 1500, 3000, 5000])

    def e3(s=s):
        k = km.Kernel(version="6.12")
        name = k.kmalloc_cache(s).name
        return name, f"k.kmalloc_cache({s}).name = {name!r} (the first size class ≥ {s} bytes)."
    out.append(Exercise(CHAPTER, 3, "which kmalloc cache",
                        f"On Linux 6.12 x86_64, which slab cache serves `kmalloc({s}, GFP_KERNEL)`? "
                        f"(a name like `\"kmalloc-64\"`; {fmt_size(s)} requested)", e3,
                        hint="k.kmalloc_cache(size).name, or look at k.trace.last.why after a kmalloc."))
    return out
