"""Chapter 3: malloc and free (glibc 2.36 ptmalloc2, brk/mmap, tcache, bins)."""

from __future__ import annotations

from kmemlab.user.fake_system import FakeSystem
from kmemlab.user.malloc import GlibcMalloc

from . import Exercise, rng_for

CHAPTER = 3


def exercises(student: str) -> list[Exercise]:
    out = []

    r = rng_for(student, CHAPTER, 1)
    n = r.choice([0, 1, r.randrange(2, 40), r.randrange(41, 200), r.randrange(201, 1000)])

    def e1(n=n):
        m = GlibcMalloc()
        p = m.malloc(n)
        u = m.malloc_usable_size(p)
        return u, (f"m = GlibcMalloc(); p = m.malloc({n}); m.malloc_usable_size(p) = {u}: the "
                   f"chunk is max(32, ({n} + 23) & ~15) = {u + 8} bytes, of which 8 are the "
                   f"size header (the next chunk's prev_size word is lent to this one).")
    out.append(Exercise(CHAPTER, 1, "usable size",
                        f"In glibc 2.36 on x86-64, `p = malloc({n})`. What does "
                        f"`malloc_usable_size(p)` return?", e1,
                        hint="chunk size = max(32, (n + 8 + 15) & ~15); usable = chunk − 8."))

    r = rng_for(student, CHAPTER, 2)
    n2 = r.choice([16, 1000, 4000, 20000, 60000, 100000, 130000])

    def e2(n=n2):
        sysm = FakeSystem()
        m = GlibcMalloc(sysm)
        m.malloc(n)
        grown = sysm.brk - sysm.brk_start
        calls = "; ".join(str(s) for s in sysm.syscalls)
        return grown, (f"the first malloc({n}) of a fresh process made these system calls: {calls}. "
                       f"The heap grew by {grown:#x} = {grown} bytes (request + tcache struct + "
                       f"M_TOP_PAD 128 KiB, rounded up to a page).")
    out.append(Exercise(CHAPTER, 2, "the first brk",
                        f"A fresh process calls `malloc({n2})` once. By how many bytes does the "
                        f"program break (brk) move?", e2,
                        hint="use FakeSystem() and compare sysm.brk with sysm.brk_start."))

    r = rng_for(student, CHAPTER, 3)
    sizes = [r.choice([1000, 50_000, 120_000, 131_000, 131_048, 131_049, 140_000, 1 << 20])
             for _ in range(1)]
    n3 = sizes[0]

    def e3(n=n3):
        sysm = FakeSystem()
        m = GlibcMalloc(sysm)
        m.malloc(n)
        used = "mmap" if any(s.name == "mmap" for s in sysm.syscalls) else "brk"
        return used, f"{m.events[-1].why} System calls: {'; '.join(map(str, sysm.syscalls))}."
    out.append(Exercise(CHAPTER, 3, "brk or mmap",
                        f"In a fresh process, `malloc({n3})`: is the block carved from the brk heap "
                        f"or does glibc give it its own `mmap`? (answer \"brk\" or \"mmap\")", e3,
                        hint="the test is chunk size ≥ mmap_threshold (128 KiB), and only when "
                             "no bin and not the top chunk can serve it."))

    r = rng_for(student, CHAPTER, 4)
    count = r.randrange(8, 15)
    size4 = r.choice([24, 40, 56, 72, 100, 120])

    def e4(count=count, size=size4):
        m = GlibcMalloc()
        ptrs = [m.malloc(size) for _ in range(count)]
        m.malloc(5000)  # a guard so nothing merges into top
        for p in ptrs:
            m.free(p)
        bins = m.bins()
        fast = sum(len(v) for v in bins["fastbins"].values())
        return fast, (f"after {count} × free of {size}-byte blocks: "
                      f"tcache {sum(len(v) for v in bins['tcache'].values())} chunks, "
                      f"fastbins {fast}.\n{m.format_bins()}")
    out.append(Exercise(CHAPTER, 4, "tcache then fastbins",
                        f"A program mallocs {count} blocks of {size4} bytes (then one of 5000), and "
                        f"frees the {count} small blocks. How many of them end up in a fastbin?", e4,
                        hint="the tcache bin takes the first 7 frees of a size; the rest go to a "
                             "fastbin if the chunk is ≤ 128 bytes."))
    return out
