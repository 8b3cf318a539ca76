"""The page allocator's lean paths must leave exactly what its step-by-step path
leaves (``page_alloc.fast_paths = False``): the per-gfp-value decisions alloc_pages
caches (gfp_plan), the order-0 per-CPU take and free written in line, mm_page_free
written once its why is known, kernel.alloc_pages's call-site labels kept per code
object, kernel.free_pages's checks made once.

Each test forks one booted kernel with snapshot(), switches the copy to the
step-by-step path and runs the same long random sequence on both: order-0 and
higher-order allocations and frees through the public API and the subsystems' entry
points, many GFP masks (as GFP objects, fresh ones, ints and strings), contexts,
CPUs, call sites, memory pressure (the low and min watermarks, kswapd, drains, direct
reclaim, failures), watermark changes, tracing off and a small ring buffer, bad
frees. Every step must return the same; the pfns, free and per-CPU lists, pages,
counters, events with their timestamps and whys, trace text, dmesg and the /proc
files must be the same at checkpoints and at the end.
"""

from __future__ import annotations

import dataclasses
import random
import zlib

import pytest

import kmemlab as km
from kmemlab.page_alloc import Page

PCP_FIELDS = ("count", "high", "batch", "high_min", "high_max", "free_count", "alloc_factor",
              "free_factor", "prev_free_high_order")
PAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Page))
PROC_FILES = ("/proc/buddyinfo", "/proc/zoneinfo", "/proc/vmstat", "/proc/pagetypeinfo",
              "/proc/meminfo")
GFP_NAMES = ("GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_USER", "GFP_HIGHUSER_MOVABLE",
             "GFP_HIGHUSER", "GFP_DMA", "GFP_DMA32", "GFP_NOIO", "GFP_NOFS",
             "GFP_KERNEL | __GFP_RECLAIMABLE", "GFP_KERNEL | __GFP_HIGH",
             "GFP_KERNEL | __GFP_NOWARN", "GFP_ATOMIC | __GFP_NOWARN",
             "GFP_KERNEL | __GFP_ZERO", "GFP_KERNEL | __GFP_MEMALLOC",
             "GFP_ATOMIC | __GFP_NOMEMALLOC", "GFP_USER | __GFP_MOVABLE",
             "GFP_KERNEL | __GFP_MOVABLE | __GFP_RECLAIMABLE", "GFP_KERNEL | __GFP_COMP",
             "GFP_NOWAIT | __GFP_NOWARN", "GFP_TRANSHUGE_LIGHT", "GFP_KERNEL_ACCOUNT")


def everything(k) -> tuple:
    """All the state a page allocation or free could touch, and what a learner reads."""
    pa = k.page_alloc
    pcp = [[tuple(getattr(p, f) for f in PCP_FIELDS) + tuple(tuple(lst) for lst in p.lists)
            for p in row] for row in pa.pcp]
    # every field of every page (a field the in-line Page creation left unset raises here)
    pages = sorted((pfn,) + tuple(getattr(pg, f) for f in PAGE_FIELDS)
                   for pfn, pg in pa.allocated.items())
    events = [(e.index, e.timestamp_ns, e.cpu, e.pid, e.comm, e.irq_flags, e.name, e.fields,
               e.why) for e in k.trace]
    fail = pa.last_failure
    return (k.state_digest(), pcp, sorted(pa.pcp_pages.items()), pages,
            list(pa.vmstat.items()),          # in order: /proc/vmstat's first-seen items
            sorted(pa.pcp_lists.below_high), sorted(pa.warned_once),
            fail and (fail.order, fail.gfp, fail.reason), tuple(z.free_pages for z in pa.zones),
            k.clock_ns, len(k.trace), events, k.trace.to_ftrace(), list(k.dmesg),
            [k.proc(p) for p in PROC_FILES])


def gfp_of(k, rng: random.Random):
    """A GFP mask this profile knows, as a shared GFP object, a fresh one, an int or a
    string."""
    while True:
        name = rng.choice(GFP_NAMES)
        try:
            value = k.gfp_value(km.GFP(name))
        except (ValueError, KeyError):
            continue                       # a flag this version lacks
        form = rng.random()
        if form < 0.5:
            return SHARED.setdefault(name, km.GFP(name))   # the same object each time
        if form < 0.7:
            return km.GFP(name)                           # a new object each time
        if form < 0.85:
            return value
        return name


SHARED: dict[str, km.GFP] = {"GFP_KERNEL": km.GFP_KERNEL}


def script(k, seed: int, n: int) -> list[tuple]:
    """A random sequence of steps (drawn once, run on both kernels)."""
    rng = random.Random(seed)
    steps = []
    for _ in range(n):
        r = rng.random()
        cpu = rng.randrange(k.nr_cpus)
        ctx = rng.choice(("process",) * 8 + ("softirq", "hardirq", "spin_lock", "irqs_off"))
        if r < 0.40:
            order = 0 if rng.random() < 0.8 else rng.choice((1, 2, 3, 4, 9, 10, 11))
            steps.append(("alloc", gfp_of(k, rng), order, cpu, ctx, rng.random()))
        elif r < 0.70:
            steps.append(("free", rng.random(), cpu, ctx, rng.random()))
        elif r < 0.74:
            steps.append(("hog", rng.randint(10, 60), rng.choice((8, 9, 10))))
        elif r < 0.77:
            steps.append(("unhog", rng.random()))
        elif r < 0.80:
            steps.append(("subsys", rng.choice(("slab", "pgtable")), gfp_of(k, rng),
                          rng.choice((0, 0, 1, 3)), cpu))
        elif r < 0.83:
            steps.append(("kmalloc", rng.choice((8, 96, 512, 4096, 9000)), cpu))
        elif r < 0.85:
            steps.append(("kfree", rng.random(), cpu))
        elif r < 0.87:
            steps.append(("vmalloc", rng.choice((4096, 40960, 1 << 20)), cpu))
        elif r < 0.88:
            steps.append(("vfree", rng.random()))
        elif r < 0.90:
            steps.append(("bad", rng.choice(("double", "order", "stale", "slab", "addr")),
                          rng.random()))
        elif r < 0.92:
            steps.append(("burst", gfp_of(k, rng), rng.randint(1, 200), cpu))
        elif r < 0.93:
            steps.append(("tracing", rng.random() < 0.8))
        elif r < 0.94:
            steps.append(("wmark", rng.choice((0.5, 1.0, 2.0, 4.0))))
        elif r < 0.95:
            steps.append(("drain",))
        elif r < 0.96:
            steps.append(("helper", gfp_of(k, rng), rng.random() < 0.5))
        else:
            steps.append(("cell", gfp_of(k, rng), cpu))
    return steps


class Runner:
    """Runs the steps on one kernel; what each step returned, in a comparable form."""

    def __init__(self, k) -> None:
        self.k = k
        self.held: list = []        # Pages and (address, order) from alloc_pages/get_free_pages
        self.hog: list = []
        self.sub: list = []         # pages of other owners, freed with page_alloc.free_pages
        self.objs: list = []
        self.areas: list = []
        self.min_free_kbytes = k.min_free_kbytes

    def run(self, step) -> object:
        try:
            return self.step(step)
        except km.errors.KernelBug as e:
            return (type(e).__name__, str(e))

    def pick(self, lst, r):
        return lst.pop(int(r * len(lst))) if lst else None

    def context(self, ctx):
        k = self.k
        if ctx == "process":
            return k.context("process")
        if ctx == "spin_lock":
            return k.spin_lock("test")
        if ctx == "irqs_off":
            return k.irqs_disabled()
        return k.context(ctx)

    def step(self, step):
        k = self.k
        pa = k.page_alloc
        kind = step[0]
        if kind == "alloc":
            _, gfp, order, cpu, ctx, r = step
            with k.on_cpu(cpu), self.context(ctx):
                if r < 0.75:
                    page = k.alloc_pages(gfp, order)
                elif r < 0.85:
                    page = k.alloc_pages(gfp, order, caller="a_site")
                elif r < 0.92:
                    page = [k.alloc_pages(gfp, order) for _ in range(1)][0]  # <listcomp>
                else:
                    addr = k.get_free_pages(gfp, order)
                    if addr:
                        self.held.append((addr, order))
                    return addr
            if page is not None:
                self.held.append(page)
                return page.pfn, page.order, page.zone, page.migratetype, page.caller
            return None
        if kind == "free":
            _, r, cpu, ctx, r2 = step
            what = self.pick(self.held, r)
            if what is None:
                return None
            with k.on_cpu(cpu), self.context(ctx):
                if isinstance(what, tuple):
                    k.free_pages(*what)
                elif r2 < 0.7:
                    k.free_pages(what)
                elif r2 < 0.8:
                    k.free_pages(what, what.order)
                elif r2 < 0.9:
                    k.page_alloc.free_pages(what)
                else:
                    k.page_alloc.free_pages(what.pfn, what.order)
            return "freed"
        if kind == "hog":
            _, n, order = step
            gfp = km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN")
            got = [k.alloc_pages(gfp, order) for _ in range(n)]
            self.hog += [p for p in got if p is not None]
            return [p and p.pfn for p in got]
        if kind == "unhog":
            for p in self.hog[: int(step[1] * len(self.hog))]:
                k.free_pages(p)
            del self.hog[: int(step[1] * len(self.hog))]
            return len(self.hog)
        if kind == "subsys":
            _, owner, gfp, order, cpu = step
            with k.on_cpu(cpu):
                page = pa.alloc_pages(k.gfp_value(gfp), order, owner=owner, detail="t",
                                      caller="subsys")
            if page is not None:
                self.sub.append(page)
                if len(self.sub) > 40:
                    old = self.sub.pop(0)
                    pa.free_pages(old.pfn, old.order)
            return page and page.pfn
        if kind == "kmalloc":
            with k.on_cpu(step[2]):
                ptr = k.kmalloc(step[1], km.GFP_KERNEL)
            self.objs.append(ptr)
            return ptr
        if kind == "kfree":
            ptr = self.pick(self.objs, step[1])
            with k.on_cpu(step[2]):
                k.kfree(ptr)
            return ptr
        if kind == "vmalloc":
            with k.on_cpu(step[2]):
                addr = k.vmalloc(step[1])
            if addr:
                self.areas.append(addr)
            return addr
        if kind == "vfree":
            addr = self.pick(self.areas, step[1])
            if addr:
                k.vfree(addr)
            return addr
        if kind == "bad":
            _, how, r = step
            pages = [p for p in self.held if isinstance(p, Page)]
            if not pages:
                return None
            p = pages[int(r * len(pages))]
            if how == "double":
                self.held.remove(p)
                k.free_pages(p)
                k.free_pages(p)
            elif how == "order":
                k.free_pages(p, p.order + 1)
            elif how == "stale":      # freed, its frame handed out again, freed again
                self.held.remove(p)
                k.free_pages(p)
                again = k.alloc_pages(p.gfp, p.order)
                if again is not None:
                    self.held.append(again)
                k.free_pages(p)
            elif how == "slab" and self.sub:
                k.free_pages(self.sub[0])
            elif k.page_address(p) is not None:      # (a HighMem page has no address)
                k.free_pages(k.page_address(p) + 8, p.order)
            return "no bug"
        if kind == "burst":    # pairs and runs through the public API, as a benchmark does
            _, gfp, n, cpu = step
            with k.on_cpu(cpu):
                out = []
                for _ in range(n):
                    page = k.alloc_pages(gfp, 0)
                    out.append(page and page.pfn)
                    if page is not None and len(out) % 3:
                        k.free_pages(page)
                    elif page is not None:
                        self.held.append(page)
            return out
        if kind == "tracing":
            k.trace.enabled = step[1]
            return None
        if kind == "wmark":       # a watermark change between allocations (sysctl)
            k.min_free_kbytes = int(self.min_free_kbytes * step[1])
            k._recompute_watermarks()
            return [z.watermark[:] for z in pa.zones]
        if kind == "drain":
            return k.drain_all_pages()
        if kind == "helper":     # kmemlab code between the learner and alloc_pages
            page = (via_f if step[2] else via_g)(k, step[1])
            if page is not None:
                self.held.append(page)
                return page.pfn, page.caller
            return None
        if kind == "cell":       # a notebook cell's top level: call site "notebook_cell"
            ns = {"k": k, "gfp": step[1]}
            with k.on_cpu(step[2]):
                exec(compile("page = k.alloc_pages(gfp, 0)", "<cell>", "exec"), ns)
            if ns["page"] is not None:
                self.held.append(ns["page"])
                return ns["page"].pfn, ns["page"].caller
            return None
        raise AssertionError(kind)


# A function the call-site walk skips, as it skips kmemlab's own (its file is in the
# package): the label is that of whoever called it
_HELPER = {}
exec(compile("def helper(k, gfp):\n    return k.alloc_pages(gfp, 0)\n",
             km.__file__.replace("__init__.py", "helper.py"), "exec"), _HELPER)


def via_f(k, gfp):
    return _HELPER["helper"](k, gfp)


def via_g(k, gfp):
    return _HELPER["helper"](k, gfp)


def fork(k):
    """The kernel and a copy of it on the step-by-step path."""
    slow = k.snapshot()
    slow.page_alloc.fast_paths = False
    slow.page_alloc.gfp_plans.clear()    # (what boot cached; it is not read when off)
    return k, slow


def spy_count(obj, name):
    calls = [0]
    real = getattr(obj, name)

    def wrapper(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)
    setattr(obj, name, wrapper)
    return calls


def run_both(fast, slow, steps, check_every=400):
    a, b = Runner(fast), Runner(slow)
    for i, step in enumerate(steps):
        got_fast = a.run(step)
        got_slow = b.run(step)
        assert got_fast == got_slow, (i, step)
        if i % check_every == check_every - 1:
            assert everything(fast) == everything(slow), (i, step)
    assert everything(fast) == everything(slow)


def test_random_sequences_equal_the_step_by_step_path(kernel):
    """Every profile of the shared ``kernel`` fixture (1 GiB, 2 CPUs)."""
    fast, slow = fork(kernel)
    pa = fast.page_alloc
    seed = zlib.crc32(kernel.profile.name.encode())
    steps = script(fast, seed, 2500)
    freelist_fast = spy_count(pa, "_get_page_from_freelist")
    freelist_slow = spy_count(slow.page_alloc, "_get_page_from_freelist")
    run_both(fast, slow, steps)
    # the lean path was taken: most allocations never reached get_page_from_freelist
    assert freelist_fast[0] < freelist_slow[0] // 2
    assert pa.gfp_plans and not slow.page_alloc.gfp_plans


@pytest.mark.parametrize("version,arch", list(km.PROFILES))
def test_under_memory_pressure_equals_the_step_by_step_path(version, arch):
    """A small machine kept near its watermarks: the slow path, kswapd wakeups, drains,
    direct reclaim and failures come often, between in-line takes and frees."""
    k = km.Kernel(version=version, arch=arch, ram="128M", cpus=2)
    gfp = km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN")
    hog = []
    zone = max(k.page_alloc.populated_zones, key=lambda z: z.managed)
    while zone.free_pages > zone.high + 256:
        page = k.alloc_pages(gfp, 3)
        if page is None:
            break
        hog.append(page)
    fast, slow = fork(k)
    steps = [s for s in script(fast, 7, 1500) if s[0] not in ("hog", "wmark")]
    run_both(fast, slow, steps, check_every=250)


@pytest.mark.parametrize("version", ["3.15", "6.1", "6.12"])
def test_with_cma_pages_equals_the_step_by_step_path(version):
    """A CMA area: free CMA pages count against unmovable requests' watermark, movable
    ones may take them (and CMA pageblocks go on the movable per-CPU list)."""
    k = km.Kernel(version=version, ram="256M", cpus=2, cmdline="cma=64M",
                  config={"CONFIG_CMA": "y"})
    assert any(z.free_cma for z in k.page_alloc.zones)
    gfp = km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN")
    zone = max(k.page_alloc.populated_zones, key=lambda z: z.managed)
    while zone.free_pages - zone.free_cma > zone.low - 512:   # near the mark without CMA
        if k.alloc_pages(gfp, 3) is None:
            break
    fast, slow = fork(k)
    steps = [s for s in script(fast, 11, 1500) if s[0] not in ("hog", "wmark")]
    run_both(fast, slow, steps, check_every=250)


def test_a_small_ring_buffer_drops_the_same_events():
    k = km.Kernel(version="6.12", ram="256M", cpus=2)
    k.trace.buffer_events = 64
    fast, slow = fork(k)
    run_both(fast, slow, script(fast, 3, 800), check_every=100)


def test_no_pcp_equals_the_step_by_step_path():
    k = km.Kernel(version="6.12", ram="256M", cpus=2, pcp=False)
    fast, slow = fork(k)
    run_both(fast, slow, script(fast, 5, 800))


def test_the_order0_page_sets_every_field():
    """The in-line Page creation (no __init__) sets each dataclass field, as Page()."""
    k = km.Kernel(version="6.12", ram="256M", cpus=2)
    k.free_pages(k.alloc_pages(km.GFP_KERNEL, 0))        # a list to take from
    page = k.alloc_pages(km.GFP_KERNEL, 0, caller="here")
    pa = k.page_alloc
    ref = Page(page.pfn, 0, page.zone, "pages", "", pa.profile.gfp.value(km.GFP_KERNEL),
               pa.UNMOVABLE, "here")
    assert [getattr(page, f) for f in PAGE_FIELDS] == [getattr(ref, f) for f in PAGE_FIELDS]
    assert repr(page) == repr(ref)


def test_fast_paths_off_caches_nothing():
    k = km.Kernel(version="6.12", ram="256M", cpus=2)
    k.page_alloc.fast_paths = False
    for _ in range(10):
        k.free_pages(k.alloc_pages(km.GFP_KERNEL, 0))
    assert k.page_alloc.gfp_plans == {}


def test_a_refused_allocation_caches_nothing():
    """might_sleep's report (or a panicked kernel's refusal) leaves the kernel as it
    was, caches included (the fuzzer's "state changed after a failure" check)."""
    k = km.Kernel(version="6.12", ram="256M", cpus=2)
    pa = k.page_alloc
    gfp = km.GFP_KERNEL | km.gfp.flag("__GFP_NOWARN") | km.gfp.flag("__GFP_RECLAIMABLE")
    value = k.gfp_value(gfp)
    assert value not in pa.gfp_plans
    last = pa._last_gfp
    with k.context("hardirq"), pytest.raises(km.errors.SleepInAtomic):
        k.alloc_pages(gfp, 0)
    assert value not in pa.gfp_plans and pa._last_gfp is last
    k.alloc_pages(gfp, 0)
    assert value in pa.gfp_plans and pa._last_gfp[0] is gfp
