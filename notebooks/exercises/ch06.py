"""Chapter 6: your own machine (a recorded kmem trace, simulated /proc next to a real one)."""

from __future__ import annotations

from pathlib import Path

import kmemlab as km
from kmemlab.traceparse import trace_stats

from . import Exercise, rng_for

CHAPTER = 6
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "kmem-trace-6.12-sample.txt"


def exercises(student: str) -> list[Exercise]:
    out = []
    stats = trace_stats(str(SAMPLE), progress=False).to_dict()
    sites = [row["callsite"] for row in stats["slab"]["by_callsite"]]

    r = rng_for(student, CHAPTER, 1)
    site = r.choice(sites)

    def e1(site=site):
        row = next(x for x in trace_stats(str(SAMPLE), progress=False).to_dict()["slab"]["by_callsite"]
                   if x["callsite"] == site)
        return row["hits"], (f"trace_stats(SAMPLE).to_dict()['slab']['by_callsite'] row for "
                             f"{site}: {row['hits']} allocations of {row['per_alloc']} bytes.")
    out.append(Exercise(CHAPTER, 1, "allocations per call site",
                        f"In the sample trace (`data/kmem-trace-6.12-sample.txt`), how many slab "
                        f"allocations come from call site `{site}`?", e1,
                        hint="print(trace_stats(SAMPLE).report(caller=True)) and read the Hit column."))

    r = rng_for(student, CHAPTER, 2)
    ram = r.choice(["256M", "512M", "768M", "2G", "4G"])

    def e2(ram=ram):
        k = km.Kernel(version="6.12", ram=ram)
        return k.min_free_kbytes, (f'km.Kernel(version="6.12", ram="{ram}").min_free_kbytes = '
                                   f"{k.min_free_kbytes} (sqrt(lowmem_kbytes × 16), clamped, then "
                                   f"raised by THP's recommendation if that is larger).")
    out.append(Exercise(CHAPTER, 2, "min_free_kbytes",
                        f"What value does `/proc/sys/vm/min_free_kbytes` have right after boot on a "
                        f"Linux 6.12 x86_64 machine with {ram} of RAM?", e2,
                        hint='k.min_free_kbytes, or k.proc("sys/vm/min_free_kbytes").'))

    r = rng_for(student, CHAPTER, 3)
    steps = r.choice([40, 60, 80, 100, 120, 160, 200])

    def e3(steps=steps):
        from kmemlab.replay import Replayer
        rep = Replayer(str(SAMPLE), version="6.12", ram="1G")
        rep.step(steps)
        live = len(rep.ptr_map)
        return live, (f"rep = Replayer(SAMPLE, version='6.12'); rep.step({steps}); "
                      f"len(rep.ptr_map) = {live} objects the trace allocated and has not freed yet "
                      f"(frees of objects allocated before the trace started do not count).")
    out.append(Exercise(CHAPTER, 3, "step through a real trace",
                        f"Replay the first {steps} records of the sample trace on a simulated 6.12 "
                        f"kernel (`rep = Replayer(SAMPLE, version=\"6.12\"); rep.step({steps})`). How "
                        f"many slab objects allocated *in the trace* are still live at that point?",
                        e3, hint="rep.ptr_map maps each live real pointer to its simulated object."))
    return out
