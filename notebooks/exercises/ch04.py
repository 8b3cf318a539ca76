"""Chapter 4: allocation rules (context → flags, zones, watermarks, leaks)."""

from __future__ import annotations

import contextlib
import io

import kmemlab as km
from kmemlab.traceparse import trace_stats

from . import Exercise, rng_for

CHAPTER = 4

#: scenario text → how to enter it on a simulated kernel
SCENARIOS = {
    "a hard-interrupt handler (the top half of a network driver)":
        lambda k: k.context("hardirq"),
    "a tasklet / softirq (the bottom half)":
        lambda k: k.context("softirq"),
    "process context (an ioctl handler) while holding a spinlock":
        lambda k: k.spin_lock("dev->lock"),
    "process context (an ioctl handler), no locks held":
        lambda k: k.context("process"),
    "process context between local_irq_disable() and local_irq_enable()":
        lambda k: k.irqs_disabled(),
    "a module's init function (insmod), no locks held":
        lambda k: contextlib.nullcontext(),
    "process context with preemption disabled (get_cpu() … put_cpu())":
        lambda k: k.preempt_disabled(),
}

_ZONE_CASES = [
    ("6.12", "x86_64", "GFP_DMA"), ("6.12", "x86_64", "GFP_DMA32"),
    ("6.12", "x86_64", "GFP_KERNEL"), ("6.12", "x86_64", "GFP_HIGHUSER_MOVABLE"),
    ("3.15", "i386", "GFP_KERNEL"), ("3.15", "i386", "GFP_HIGHUSER"),
    ("3.15", "i386", "GFP_DMA"), ("3.15", "x86_64", "GFP_HIGHUSER"),
]


def exercises(student: str) -> list[Exercise]:
    out = []

    r = rng_for(student, CHAPTER, 1)
    scen = r.choice(sorted(SCENARIOS))

    def e1(scen=scen):
        k = km.Kernel(version="6.12")
        with SCENARIOS[scen](k):
            can = k.context_stack.can_sleep()
            where = k.context_stack.describe()
        flag = "GFP_KERNEL" if can else "GFP_ATOMIC"
        return flag, (f"in {where}: k.context_stack.can_sleep() = {can} → {flag}. "
                      + ("Sleeping is allowed, so let the allocator reclaim." if can else
                         "Sleeping here is a bug (might_sleep would report it)."))
    out.append(Exercise(CHAPTER, 1, "which flag",
                        f"You need 200 bytes in {scen}. Which flag do you pass to kmalloc: "
                        f'"GFP_KERNEL" or "GFP_ATOMIC"?', e1,
                        hint="can the code sleep there? Try `with k.context(...)` / "
                             "`k.spin_lock()` and k.context_stack.can_sleep()."))

    r = rng_for(student, CHAPTER, 2)
    version, arch, flags = r.choice(_ZONE_CASES)

    def e2(version=version, arch=arch, flags=flags):
        k = km.Kernel(version=version, arch=arch, ram="2G")
        z = k.gfp_zone(km.gfp.flag(flags))
        return z, f'km.Kernel(version="{version}", arch="{arch}").gfp_zone({flags}) = {z!r}.'
    out.append(Exercise(CHAPTER, 2, "which zone",
                        f"On Linux {version} {arch}, from which zone does an allocation with "
                        f"`{flags}` start looking (the highest zone it may use)? "
                        f'(a name like "Normal")', e2,
                        hint="k.gfp_zone(flags)."))

    r = rng_for(student, CHAPTER, 3)
    ram = r.choice(["512M", "1G", "2G", "3G"])
    zone = "DMA32"

    def e3(ram=ram, zone=zone):
        k = km.Kernel(version="6.12", ram=ram)
        z = k.zones[zone]
        return z.min, (f'km.Kernel(version="6.12", ram="{ram}").zones["{zone}"].min = {z.min} '
                       f"pages (min_free_kbytes = {k.min_free_kbytes}, shared among the zones by "
                       f"size; low = {z.low}, high = {z.high}).")
    out.append(Exercise(CHAPTER, 3, "the min watermark",
                        f"Linux 6.12 x86_64 with {ram} of RAM: what is the `min` watermark of zone "
                        f"{zone}, in pages (as in /proc/zoneinfo)?", e3,
                        hint='k.zones["DMA32"].min, or the "min" line of k.proc("zoneinfo").'))

    r = rng_for(student, CHAPTER, 4)
    n = r.randrange(20, 60)
    size = r.choice([24, 100, 200, 300, 700, 1500])
    every = r.choice([3, 4, 5, 7])

    def e4(n=n, size=size, every=every):
        k = km.Kernel(version="6.12")
        ptrs = [k.kmalloc(size, km.GFP_KERNEL) for _ in range(n)]
        for i, p in enumerate(ptrs):
            if i % every:          # the bug: every `every`-th object is never freed
                k.kfree(p)
        # what a leak hunter does: read the kmalloc/kfree events and keep what was never freed
        st = trace_stats(io.StringIO(k.trace.to_ftrace()), progress=False).to_dict()["slab"]
        return st["live_bytes"], (
            f"trace_stats(io.StringIO(k.trace.to_ftrace())): {st['live_objects']} objects "
            f"allocated and never freed, {st['live_bytes']} bytes "
            f"({k.kmalloc_cache(size).name}: kmalloc({size}) really takes "
            f"{k.kmalloc_cache(size).object_size} bytes). Note that /proc/slabinfo cannot tell "
            f"you this: SLUB counts every object of a CPU slab as active.")
    out.append(Exercise(CHAPTER, 4, "find the leak",
                        f"A driver does `p[i] = kmalloc({size}, GFP_KERNEL)` for i = 0 … {n - 1}, "
                        f"then frees every p[i] *except* those with i % {every} == 0. How many bytes "
                        f"of slab memory are leaked (objects still allocated × their real size)?", e4,
                        hint="count the objects, and remember kmalloc rounds up to its size class."))
    return out
