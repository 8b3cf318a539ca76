"""SLUB per-CPU sheaves and the per-node barn (Linux 6.18, mm/slub.c).

A cache created with ``kmem_cache_args.sheaf_capacity = N`` (6.18: commit 2d517aa09bbc,
"slab: add opt-in caching layer of percpu sheaves", Vlastimil Babka) gets, on every
CPU, a *main* sheaf that is always there and a *spare* that may be absent: arrays of
up to N object pointers. Per NUMA node a *barn* keeps full and empty sheaves
(``MAX_FULL_SHEAVES`` = ``MAX_EMPTY_SHEAVES`` = 10). In 6.18 two caches opt in, both
with 32: ``maple_node`` (lib/maple_tree.c: maple_tree_init, "maple_tree: use percpu
sheaves for maple_node_cache") and ``vm_area_struct`` (mm/vma_init.c:
vma_state_init, "mm, vma: use percpu sheaves for vm_area_struct cache"); the kmalloc
caches do not. Sheaves for (almost) every cache came after 6.18.

* ``kmem_cache_alloc`` (slab_alloc_node → alloc_from_pcs) pops the main sheaf. An
  empty main is swapped with a non-empty spare, else exchanged for a full sheaf from
  the barn (barn_replace_empty_sheaf); only when the gfp allows blocking is an empty
  sheaf refilled from the slabs by a bulk allocation of N objects (refill_sheaf →
  __kmem_cache_alloc_bulk). Otherwise (GFP_ATOMIC, GFP_NOWAIT) the allocation falls
  back to the ordinary CPU-slab path (__pcs_replace_empty_main returns NULL).
* ``kmem_cache_free`` (slab_free → free_to_pcs) pushes on the main sheaf; a full main
  is swapped with an empty spare, else put in the barn for an empty one
  (barn_replace_full_sheaf); when the barn already holds MAX_FULL_SHEAVES the full
  spare is flushed to its slabs (sheaf_flush_unused → __kmem_cache_free_bulk).
* Objects in sheaves are *allocated* as far as the slabs know: /proc/slabinfo's
  active_objs and /sys/kernel/slab/<cache>/objects count them, and a slab holding one
  cannot be freed. kmem_cache_shrink and kmem_cache_destroy flush every sheaf
  (flush_all_cpus_locked → pcs_flush_all, barn_shrink).
* A cache with sheaves is never merged (mm/slab_common.c: slab_unmergeable tests
  ``s->cpu_sheaves``; __kmem_cache_create_args skips __kmem_cache_alias) and shows
  ``/sys/kernel/slab/<cache>/sheaf_capacity`` (0 for every other cache).
* Allocations asking for a NUMA node bypass the sheaves (one node here: never).

Not modelled: the kzalloc of the sheaf arrays themselves (alloc_empty_sheaf), the
RCU sheaf of kfree_rcu, kmem_cache_prefill_sheaf; and a double free into a sheaf,
which 6.18 without slub_debug does not detect, is reported as SLUB does for slabs.
"""

from __future__ import annotations

MAX_FULL_SHEAVES = 10
MAX_EMPTY_SHEAVES = 10


class Sheaf:
    """struct slab_sheaf: up to ``capacity`` objects, as (slab, index) pairs."""

    __slots__ = ("objects",)

    def __init__(self) -> None:
        self.objects: list = []

    @property
    def size(self) -> int:
        return len(self.objects)

    def __repr__(self) -> str:
        return f"<sheaf {len(self.objects)} objects>"


class PercpuSheaves:
    """struct slub_percpu_sheaves: the main sheaf (never absent) and the spare."""

    __slots__ = ("main", "spare")

    def __init__(self) -> None:
        self.main = Sheaf()
        self.spare: Sheaf | None = None


class Barn:
    """struct node_barn: full and empty sheaves shared by the CPUs of one node."""

    __slots__ = ("full", "empty")

    def __init__(self) -> None:
        self.full: list[Sheaf] = []
        self.empty: list[Sheaf] = []


def enable(slub, s, capacity: int) -> None:
    """Give cache ``s`` sheaves of ``capacity`` (do_kmem_cache_create → init_percpu_sheaves)."""
    s.sheaf_capacity = capacity
    s.pcs = [PercpuSheaves() for _ in s.cpus]
    s.barn = Barn()
    # an unmergeable cache shows under its own name only (no :0000256 unique id)
    if s.sysfs_name != s.name:
        if slub.slab_caches.get(s.sysfs_name) is s:
            slub.sysfs_slab_remove(s.sysfs_name)
        s.sysfs_name = s.name
        slub.sysfs_slab_add(s.name, s)


def objects_in_sheaves(s) -> int:
    if not getattr(s, "sheaf_capacity", 0):
        return 0
    n = sum(p.main.size + (p.spare.size if p.spare else 0) for p in s.pcs)
    return n + sum(sh.size for sh in s.barn.full)


def _refill(slub, s, sheaf: Sheaf, value: int, gfp) -> bool:
    """refill_sheaf: bulk-allocate objects from the slabs until the sheaf is full.

    __kmem_cache_alloc_bulk is all or nothing: on a failure the objects already taken
    go back (kmem_cache_free_bulk) and the sheaf stays as it was.
    """
    got = []
    for _ in range(s.sheaf_capacity - sheaf.size):
        res = slub.slab_alloc_node(s, value, gfp)
        if res is None:
            for slab, idx in reversed(got):
                _return_to_slab(slub, s, slab, idx)
            return False
        addr, _ = res
        slab = slub.virt_to_slab(addr)
        got.append((slab, (addr - slab.base) // s.size))
    sheaf.objects.extend(got)
    s.stat["sheaf_refill"] = s.stat.get("sheaf_refill", 0) + len(got)
    return True


def _return_to_slab(slub, s, slab, idx: int) -> None:
    """The slab half of slab_free for one object (do_slab_free / __slab_free)."""
    cpu = slub.k.current_cpu
    slab.inuse -= 1
    c = s.cpus[cpu]
    if c.slab is slab:
        c.freelist.append(idx)
    else:
        slub.slab_free_slowpath(s, slab, idx, cpu)


def _flush(slub, s, sheaf: Sheaf | None) -> int:
    """sheaf_flush_unused / sheaf_flush_main: every object back to its slab."""
    if sheaf is None:
        return 0
    n = sheaf.size
    while sheaf.objects:
        slab, idx = sheaf.objects.pop()
        _return_to_slab(slub, s, slab, idx)
    return n


def alloc_from_pcs(slub, s, value: int, gfp):
    """alloc_from_pcs: (slab, index, why) from this CPU's sheaves, or None to fall back."""
    cpu = slub.k.current_cpu
    pcs = s.pcs[cpu]
    how = "from CPU's main sheaf"
    if not pcs.main.objects:
        barn = s.barn
        if pcs.spare is not None and pcs.spare.objects:
            pcs.main, pcs.spare = pcs.spare, pcs.main
            how = "main sheaf empty: swapped with the full spare sheaf"
        elif barn.full:
            full = barn.full.pop(0)
            barn.empty.append(pcs.main)        # the limit is ignored: nothing new
            pcs.main = full
            how = "main sheaf empty: exchanged for a full sheaf from the node's barn"
        elif not slub.k.gfpflags_allow_blocking(value):
            return None                        # cannot refill without blocking
        else:
            if pcs.spare is not None:
                empty, pcs.spare = pcs.spare, None
            elif barn.empty:
                empty = barn.empty.pop(0)
            else:
                empty = Sheaf()                # alloc_empty_sheaf
            if not _refill(slub, s, empty, value, gfp):
                if len(barn.empty) < MAX_EMPTY_SHEAVES:
                    barn.empty.append(empty)
                return None
            if pcs.spare is None:
                pcs.spare = pcs.main
            elif len(barn.empty) < MAX_EMPTY_SHEAVES:
                barn.empty.append(pcs.main)
            pcs.main = empty
            how = (f"main sheaf empty: refilled with {s.sheaf_capacity} objects from the "
                   "slabs (bulk allocation)")
    slab, idx = pcs.main.objects.pop()
    s.stat["alloc_cpu_sheaf"] = s.stat.get("alloc_cpu_sheaf", 0) + 1
    return slab, idx, f"sheaves: {how}"


def free_to_pcs(slub, s, slab, idx: int) -> str:
    """free_to_pcs: the object goes on this CPU's main sheaf; returns the why."""
    cpu = slub.k.current_cpu
    pcs = s.pcs[cpu]
    how = "onto CPU's main sheaf (the object stays allocated in its slab)"
    if pcs.main.size >= s.sheaf_capacity:
        barn = s.barn
        if pcs.spare is None:
            empty = barn.empty.pop(0) if barn.empty else Sheaf()
            pcs.spare, pcs.main = pcs.main, empty
            how = "main sheaf full: it became the spare; an empty sheaf is the new main"
        elif not pcs.spare.objects:
            pcs.main, pcs.spare = pcs.spare, pcs.main
            how = "main sheaf full: swapped with the empty spare"
        elif len(barn.full) < MAX_FULL_SHEAVES:
            barn.full.append(pcs.main)
            pcs.main = barn.empty.pop(0) if barn.empty else Sheaf()
            how = (f"main and spare sheaves full: the main went to the barn "
                   f"({len(barn.full)} full sheaves there)")
        else:
            n = _flush(slub, s, pcs.spare)
            empty, pcs.spare = pcs.spare, pcs.main
            pcs.main = empty
            how = (f"sheaves and barn full ({MAX_FULL_SHEAVES} full sheaves): the spare's "
                   f"{n} objects were freed to their slabs")
    pcs.main.objects.append((slab, idx))
    s.stat["free_cpu_sheaf"] = s.stat.get("free_cpu_sheaf", 0) + 1
    return f"sheaves: {how}"


def flush_all(slub, s) -> int:
    """pcs_flush_all on every CPU, then barn_shrink: every cached object to its slab."""
    if not getattr(s, "sheaf_capacity", 0):
        return 0
    n = 0
    for pcs in s.pcs:
        n += _flush(slub, s, pcs.spare)
        pcs.spare = None
        n += _flush(slub, s, pcs.main)
    for sheaf in s.barn.full:
        n += _flush(slub, s, sheaf)
    s.barn.full.clear()
    s.barn.empty.clear()
    return n


def find_in_sheaves(s, slab, idx: int) -> str | None:
    """Where (slab, idx) sits in the sheaves of ``s`` ("CPU 0's main sheaf"...), or None."""
    if not getattr(s, "sheaf_capacity", 0):
        return None
    for cpu, pcs in enumerate(s.pcs):
        if (slab, idx) in pcs.main.objects:
            return f"CPU {cpu}'s main sheaf"
        if pcs.spare is not None and (slab, idx) in pcs.spare.objects:
            return f"CPU {cpu}'s spare sheaf"
    for sheaf in s.barn.full:
        if (slab, idx) in sheaf.objects:
            return "a full sheaf in the barn"
    return None


def fingerprint(s) -> tuple:
    if not getattr(s, "sheaf_capacity", 0):
        return ()
    def ids(sheaf):
        return tuple((sl.base, i) for sl, i in sheaf.objects) if sheaf is not None else None
    return (tuple((ids(p.main), ids(p.spare)) for p in s.pcs),
            tuple(ids(x) for x in s.barn.full), len(s.barn.empty))
