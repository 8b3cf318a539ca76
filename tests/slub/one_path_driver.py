"""A long random kmalloc/kfree/kmem_cache_* sequence and everything it leaves, as
digests (imported by test_one_path.py; also a script that records the expected
digests with *another* tree's kmemlab, so the expectation never comes from the code
under test):

    PYTHONPATH=/path/to/reference/tree python tests/slub/one_path_driver.py OUT.json

The digests in one_path_expected.json were recorded from main at 17c9f1a (before
issue 21's lean kmalloc/kfree): the same addresses, slab states, freelists, counters,
/proc and /sys text, trace text, whys and dmesg, on every profile, with and without
tracing, with and without slub_debug.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import threading

import kmemlab as km
from kmemlab import procfs
from kmemlab.errors import KernelBug

OPS = 2500
SEED = 21
# scenario name -> (trace on, enable_debug() arguments)
MODES = {
    "trace": (True, None),
    "notrace": (False, None),
    "slub_debug": (True, {"slub_debug": "FZPU"}),
    "slub_debug_notrace": (False, {"slub_debug": "FZPU"}),
    "kasan": (True, {"kasan": True}),
}
CACHE_ATTRS = ("name", "object_size", "size", "inuse", "refcount", "objects", "total_objects",
               "slabs", "partial", "cpu_slabs", "objects_partial", "slabs_cpu_partial",
               "aliases", "hits", "nr_live", "live_requested", "total_requested",
               "sheaf_capacity")


def boot(version: str, arch: str) -> km.Kernel:
    """What the shared ``kernel`` fixture (tests/conftest.py) boots."""
    return km.Kernel(version=version, arch=arch, ram="1G", cpus=2)


def prepare(k: km.Kernel, mode: str) -> None:
    trace, debug = MODES[mode]
    k.trace.enabled = trace
    if debug:
        k.enable_debug(**debug)


def gfps(k: km.Kernel) -> list:
    g = km.gfp.flag
    out = [km.GFP_KERNEL] * 8 + [km.GFP_ATOMIC, km.GFP_NOWAIT, km.GFP_KERNEL | g("__GFP_ZERO"),
                                 km.GFP_KERNEL | g("__GFP_RECLAIMABLE"), "GFP_KERNEL",
                                 km.GFP_KERNEL | g("__GFP_DMA"), 0xCC0]
    if "__GFP_ACCOUNT" in k.profile.gfp.values:
        out.append(km.GFP_KERNEL | g("__GFP_ACCOUNT"))
    return out


def drive(k: km.Kernel, seed: int = SEED, ops: int = OPS) -> list:
    """The sequence; returns what each call returned (addresses, or the bug's type)."""
    rng = random.Random(seed)
    flags = gfps(k)
    out: list = []
    live: list[int] = []                       # from kmalloc
    objs: list[tuple] = []                     # (cache, addr) from kmem_cache_alloc
    freed: list[int] = []
    caches = []
    for name, size in (("drv_a", 200), ("drv_b", 24), ("drv_c", 1000)):
        c = k.kmem_cache_create(name, size)
        caches.append(c)
    caches.append(k.kmalloc_cache(96))
    if "maple_node" in k.slab_caches:          # 6.18: a cache with per-CPU sheaves
        caches.append(k.slab_caches["maple_node"])

    def one(i: int) -> None:
        r = rng.random()
        cpu = 1 if rng.random() < 0.15 else 0
        with k.on_cpu(cpu):
            if r < 0.30:
                size = rng.choice((rng.randint(1, 8192), rng.randint(1, 256),
                                   rng.choice((0, 8, 64, 96, 192, 4096, 8192, 9000, 20000))))
                gfp = rng.choice(flags)
                if rng.random() < 0.5:
                    p = k.kmalloc(size, gfp)   # the call site is this function
                else:
                    p = k.kmalloc(size, gfp, caller=rng.choice(("drv_open", "drv_probe")))
                out.append(p)
                if p not in (None, 0, 0x10):
                    live.append(p)
            elif r < 0.33:
                out.append(k.kzalloc(rng.randint(1, 3000), km.GFP_KERNEL))
                live.append(out[-1])
            elif r < 0.56:
                if live:
                    p = live.pop(rng.randrange(len(live)))
                    if rng.random() < 0.5:
                        k.kfree(p)
                    else:
                        k.kfree(p, caller="drv_release")
                    freed.append(p)
                else:
                    k.kfree(None)
            elif r < 0.75:
                c = rng.choice(caches)
                gfp = km.GFP_KERNEL if rng.random() < 0.9 else km.GFP_ATOMIC
                if rng.random() < 0.5:
                    p = k.kmem_cache_alloc(c, gfp)
                else:
                    p = k.kmem_cache_alloc(c, gfp, caller="drv_cache")
                out.append(p)
                if p is not None:
                    objs.append((c, p))
            elif r < 0.93:
                if objs:
                    c, p = objs.pop(rng.randrange(len(objs)))
                    if rng.random() < 0.5:
                        k.kmem_cache_free(c, p)
                    else:
                        k.kmem_cache_free(c, p, caller="drv_cache")
            elif r < 0.95:
                with k.context("softirq"):
                    p = k.kmalloc(rng.randint(1, 512), km.GFP_ATOMIC)
                out.append(p)
                live.append(p)
            elif r < 0.96:
                out.append(k.kmem_cache_shrink(rng.choice(caches[:3])))
            elif r < 0.97 and freed:
                k.kfree(rng.choice(freed))     # a double free, maybe silent (ghosts)
            elif r < 0.98 and live:
                k.kfree(live[rng.randrange(len(live))] + 8)   # inside an object
            elif r < 0.985:
                bad = rng.choice(((-1, km.GFP_KERNEL, None), (8, [1], None), (8, True, None),
                                  ("64K", km.GFP_KERNEL, None), (8, km.GFP_KERNEL, 3),
                                  (-1, "nonsense", 5), (1.5, km.GFP_KERNEL, None)))
                try:
                    out.append(k.kmalloc(bad[0], bad[1], caller=bad[2]))
                    live.append(out[-1])
                except (TypeError, ValueError) as e:
                    out.append(f"{type(e).__name__}: {e}")
                try:
                    k.kfree(rng.choice(("x", -8, [1], 1.0)), caller=rng.choice((None, 4)))
                except (TypeError, ValueError) as e:
                    out.append(f"{type(e).__name__}: {e}")
            elif r < 0.99:
                with k.context("hardirq"):
                    k.kmalloc(64, km.GFP_KERNEL)   # sleeping in atomic context
            else:
                out.append(k.krealloc(live.pop() if live else None, rng.randint(1, 5000),
                                      km.GFP_KERNEL))
                live.append(out[-1])

    for i in range(ops):
        try:
            one(i)
        except KernelBug as e:
            out.append(type(e).__name__)
    return out


def drive_alone(k: km.Kernel, seed: int = SEED, ops: int = OPS) -> list:
    """:func:`drive` in a thread of its own: bug reports print the learner's Python
    stack, which must not depend on who runs the sequence (pytest or this script)."""
    box: list = []
    t = threading.Thread(target=lambda: box.append(drive(k, seed, ops)))
    t.start()
    t.join()
    return box[0]


def everything(k: km.Kernel, returned: list) -> dict:
    """Every thing the sequence could have changed, by name."""
    s = k.slub
    caches = []
    for c in s.caches:
        caches.append(tuple(getattr(c, a) for a in CACHE_ATTRS) +
                      (sorted(c.stat.items()), c.fragmentation(), c.slabs_view()))
    live = sorted((a, r.cache.name if r.cache else None, r.idx, r.req, r.caller)
                  for a, r in s.live.items())
    large = sorted((a, r.req, r.caller, r.page.pfn) for a, r in s.large.items())
    proc = []
    for p in procfs.known_paths(k):
        try:
            proc.append((p, k.proc(p)))
        except Exception as x:  # noqa: BLE001
            proc.append((p, type(x).__name__))
    return {
        "returned": returned,
        "slub_state": s.state_fingerprint(),
        "caches": caches,
        "live": (live, large, sorted(s.ghosts)),
        "counters": (sorted(s.counters.items()), s.callsite_stats(), s.cache_stats(),
                     s.tainted),
        "page_state": (k.state_digest(), k.clock_ns),
        "proc": proc,
        "trace_text": k.trace.to_ftrace(),
        "whys": [(e.index, e.name, e.why) for e in k.trace],
        "dmesg": list(k.dmesg),
    }


def digests(k: km.Kernel, returned: list) -> dict[str, str]:
    return {key: hashlib.sha256(repr(v).encode()).hexdigest()[:20]
            for key, v in everything(k, returned).items()}


def scenario(version: str, arch: str, mode: str) -> dict[str, str]:
    k = boot(version, arch)
    prepare(k, mode)
    return digests(k, drive_alone(k))


def scenario_ids() -> list[tuple[str, str, str]]:
    return [(v, a, m) for v, a in km.PROFILES for m in MODES
            if not (m == "kasan" and v == "3.15")]     # KASAN is new in 4.0


if __name__ == "__main__":
    table = {f"{v}-{a}-{m}": scenario(v, a, m) for v, a, m in scenario_ids()}
    with open(sys.argv[1], "w") as f:
        json.dump(table, f, indent=1, sort_keys=True)
        f.write("\n")
