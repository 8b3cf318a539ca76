"""Random kmalloc/kfree/kmem_cache_* sequences keep SLUB's invariants (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kmemlab as km
from kmemlab import slab_common as sc

GK = km.GFP_KERNEL
SIZES = st.one_of(st.integers(1, 256), st.integers(257, 8192), st.integers(8193, 40000))


class SlubMachine(RuleBasedStateMachine):
    @initialize(version=st.sampled_from(["3.15", "6.1", "6.12"]), cpus=st.sampled_from([1, 2, 4]))
    def boot(self, version, cpus):
        self.k = km.Kernel(version=version, ram="256M", cpus=cpus)
        self.s = self.k.slub
        self.cpus = cpus
        self.ptrs: dict[int, int] = {}          # ptr -> requested size (kmalloc)
        self.objs: list[tuple[object, int]] = []  # (cache, ptr)
        self.caches: list = []
        self.n = 0
        self.free0 = self._buddy_free()
        self.slab_pages0 = self._slab_pages()

    def _buddy_free(self):
        return self.k.nr_free_pages(include_pcp=True)

    def _slab_pages(self):
        return sum(1 << sl.order for c in self.s.caches for sl in self.s.slabs_of(c))

    @rule(size=SIZES, cpu=st.integers(0, 3), rcl=st.booleans())
    def kmalloc(self, size, cpu, rcl):
        gfp = GK | km.flag("__GFP_RECLAIMABLE") if rcl else GK
        with self.k.on_cpu(cpu % self.cpus):
            p = self.s.kmalloc(size, gfp)
        assert p is not None
        assert p not in self.ptrs
        self.ptrs[p] = size
        assert self.s.ksize(p) >= size

    @precondition(lambda self: self.ptrs)
    @rule(data=st.data(), cpu=st.integers(0, 3))
    def kfree(self, data, cpu):
        p = data.draw(st.sampled_from(sorted(self.ptrs)))
        with self.k.on_cpu(cpu % self.cpus):
            self.s.kfree(p)
        del self.ptrs[p]

    @precondition(lambda self: len(self.caches) < 4)
    @rule(size=st.integers(1, 3000), ctor=st.booleans(), hw=st.booleans())
    def create(self, size, ctor, hw):
        self.n += 1
        c = self.s.kmem_cache_create(f"st_cache{self.n}", size,
                                     flags=sc.SLAB_HWCACHE_ALIGN if hw else 0,
                                     ctor=(lambda o: None) if ctor else None)
        self.caches.append((c, f"st_cache{self.n}"))

    @precondition(lambda self: self.caches)
    @rule(data=st.data(), cpu=st.integers(0, 3))
    def cache_alloc(self, data, cpu):
        c, name = data.draw(st.sampled_from(self.caches))
        with self.k.on_cpu(cpu % self.cpus):
            p = self.s.kmem_cache_alloc(name, GK)
        self.objs.append((c, p))

    @precondition(lambda self: self.objs)
    @rule(data=st.data(), cpu=st.integers(0, 3))
    def cache_free(self, data, cpu):
        i = data.draw(st.integers(0, len(self.objs) - 1))
        c, p = self.objs.pop(i)
        with self.k.on_cpu(cpu % self.cpus):
            self.s.kmem_cache_free(c, p)

    @precondition(lambda self: self.caches)
    @rule(data=st.data())
    def shrink_or_destroy(self, data):
        c, name = data.draw(st.sampled_from(self.caches))
        if any(cc is c for cc, _ in self.objs):
            self.s.kmem_cache_shrink(name)
            return
        self.caches.remove((c, name))
        self.s.kmem_cache_destroy(name)

    @invariant()
    def consistent(self):
        if not hasattr(self, "s"):
            return
        s = self.s
        s.check_consistency()
        # objects are disjoint and inside a slab of their cache
        spans = []
        for p, rec in s.live.items():
            sl = rec.slab
            assert sl.cache is rec.cache
            assert sl.base <= p and p + rec.cache.size <= sl.base + (
                sl.objects * rec.cache.size)
            spans.append((p, p + rec.cache.size))
        for p, rec in s.large.items():
            spans.append((p, p + (self.k.PAGE_SIZE << rec.page.order)))
        spans.sort()
        for (_a0, a1), (b0, _b1) in zip(spans, spans[1:], strict=False):
            assert a1 <= b0
        # counts agree with /proc/slabinfo
        lines = {ln.name: ln for ln in sc.parse_slabinfo(s.slabinfo_text())}
        for c in s.caches:
            ln = lines[c.name]
            assert ln.num_objs == c.total_objects and ln.num_slabs == c.slabs
            assert ln.active_objs >= c.nr_live
        # pages are conserved between slabs, kmalloc_large and the buddy allocator
        slab_pages = sum(1 << sl.order for c in s.caches for sl in s.slabs_of(c))
        large_pages = sum(1 << rec.page.order for rec in s.large.values())
        assert self._buddy_free() + (slab_pages - self.slab_pages0) + large_pages == self.free0
        owned = sum(1 << pg.order for pg in self.k.page_alloc.allocated.values()
                    if pg.owner in ("slab", "kmalloc_large"))
        assert owned == slab_pages + large_pages


SlubMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestSlubStateful = SlubMachine.TestCase
