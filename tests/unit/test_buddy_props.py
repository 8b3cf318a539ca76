"""Property test: random alloc/free sequences keep the buddy allocator consistent."""

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import kmemlab as km

FLAGS = [km.GFP_KERNEL, km.GFP_ATOMIC, km.GFP_HIGHUSER_MOVABLE, km.GFP_DMA,
         km.GFP_KERNEL | km.gfp.flag("__GFP_RECLAIMABLE"), km.GFP_NOWAIT]
PROFILES = list(km.PROFILES)   # every profile (kmemlab/profiles.py)


class BuddyMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.k = None
        self.pages = []

    @precondition(lambda self: self.k is None)
    @rule(profile=st.sampled_from(PROFILES), ram=st.sampled_from(["128M", "300M"]),
          pcp=st.booleans())
    def boot(self, profile, ram, pcp):
        self.k = km.Kernel(version=profile[0], arch=profile[1], ram=ram, cpus=2, pcp=pcp)
        self.boot_info = self.k.buddyinfo()

    @precondition(lambda self: self.k is not None)
    @rule(flags=st.sampled_from(FLAGS), order=st.integers(0, 10), count=st.integers(1, 30),
          cpu=st.integers(0, 1))
    def alloc(self, flags, order, count, cpu):
        with self.k.on_cpu(cpu):
            self._alloc(flags, order, count)

    def _alloc(self, flags, order, count):
        for _ in range(count):
            page = self.k.alloc_pages(flags | km.gfp.flag("__GFP_NOWARN"), order)
            if page is None:
                break
            self.pages.append(page)

    @precondition(lambda self: self.k is not None and self.pages)
    @rule(data=st.data())
    def free_some(self, data):
        n = data.draw(st.integers(1, len(self.pages)))
        idx = data.draw(st.permutations(range(len(self.pages))))[:n]
        for i in sorted(idx, reverse=True):
            self.k.free_pages(self.pages.pop(i))

    @invariant()
    def consistent(self):
        if self.k is None:
            return
        pa = self.k.page_alloc
        pa.check_consistency()  # no frame in two blocks, alignment, nr_free == lists
        parsed = km.procfs.parse_buddyinfo(self.k.proc("buddyinfo"))
        info = self.k.buddyinfo()
        if parsed is not None:
            assert parsed == info
        for z in self.k.zone_list:
            assert sum(n << o for o, n in enumerate(z.nr_free())) == z.free_pages
            on_pcp = sum(1 << o for (_c, zi, o, _i) in pa.pcp_pages.values() if zi == z.idx)
            assert on_pcp == sum(p.count for p in pa.pcp[z.idx])
            assert z.free_pages + on_pcp + sum(1 << p.order for p in pa.allocated.values()
                                               if p.zone == z.name) == z.managed

    def teardown(self):
        if self.k is None:
            return
        for page in self.pages:
            self.k.free_pages(page)
        self.k.drain_all_pages()
        # Freeing everything (and draining the per-CPU lists) restores the boot buddyinfo
        assert self.k.buddyinfo() == self.boot_info


BuddyMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25,
                                          deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
TestBuddy = BuddyMachine.TestCase
