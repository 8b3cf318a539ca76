"""Kernel versions and architectures as data.

A :class:`Profile` holds every number that differs between the kernels kmemlab
models, each with the source file it was read from (see
shared/reference/linux-mm-facts.md). Code elsewhere asks the profile for a named
feature (``p.dump_stack_prints_uid``, ``p.vmap_nodes``, ``p.pcp_high_rule``...); it
never tests the version itself (tests/unit/test_no_version_literals.py enforces it),
so adding a version is one :func:`derive` entry here plus its golden files.

Every per-version table (GFP numbers, SLUB rules, slab flags, might_sleep sites,
zoneinfo/meminfo items...) is a field of the profile and is checked when the profile
is built (:meth:`Profile.__post_init__`): a missing piece fails at import, naming it.
The kernel's build configuration is data too: :mod:`kmemlab.kconfig` declares every
``CONFIG_*`` option the model reads, with its default per profile (``kconfig``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import gfp as _gfp
from . import slab_common as _sc
from .slab_common import KMALLOC_CGROUP, KMALLOC_DMA, KMALLOC_NORMAL, KMALLOC_RECLAIM
from .slub import SlubRules

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class Profile:
    """One kernel version on one architecture."""

    version: str
    arch: str
    description: str
    # -- pages and orders (include/linux/mmzone.h) --------------------------------
    page_shift: int = 12
    nr_page_orders: int = 11            # orders 0..10 in every supported profile
    max_order_constant: str = "MAX_ORDER = 11 (exclusive: orders 0..MAX_ORDER-1)"
    pageblock_order: int = 9            # include/linux/pageblock-flags.h
    # -- zones (include/linux/mmzone.h: enum zone_type; arch/x86/mm/init.c) ---------
    zone_names: tuple[str, ...] = ("DMA", "DMA32", "Normal", "Movable")
    highmem_zones: tuple[str, ...] = ()
    # Allocations from these zones get the highmem/movable min watermark rule.
    wmark_clamped_zones: tuple[str, ...] = ()
    dma_limit: int = 16 * MiB           # MAX_DMA_PFN
    dma32_limit: int | None = 4 * GiB   # MAX_DMA32_PFN; None where there is no DMA32
    # -- migrate types (include/linux/mmzone.h: enum migratetype, migratetype_names) --
    migratetype_names: tuple[str, ...] = (
        "Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate")
    # -- page allocator rules, by the version whose code they follow -----------------
    watermark_rules: str = "6.12"       # __zone_watermark_ok / gfp_to_alloc_flags flavour
    fallback_rules: str = "6.12"        # __rmqueue_fallback / steal flavour
    merge_stops_at_unmergeable_pageblocks: bool = True  # __free_one_page, 6.1+
    boot_free_to_tail: bool = True      # __free_pages_core uses FPI_TO_TAIL (6.x)
    min_free_kbytes_max: int = 262144   # init_per_zone_wmark_min clamp
    watermark_scale_factor: int = 10    # 6.x only
    lowmem_reserve_ratio: tuple[int, ...] = (256, 256, 32, 0, 0)
    # setup_per_zone_lowmem_reserve: 6.12.0 gave an empty upper zone no reserve
    # (commit 96a5c186efff); the change was reverted and the revert went to the
    # stable 6.12.y kernels distributions ship, so the default is False.
    lowmem_reserve_skips_empty_zones: bool = False
    thp_enabled: str = "always"         # /sys/kernel/mm/transparent_hugepage/enabled
    thp_supported: bool = True
    thp_zones_up_to_normal: bool = True  # set_recommended_min_free_kbytes zone count rule
    # -- boot (arch/x86/kernel/setup.c, head_64.S, mm/percpu.c) ----------------------
    sizeof_struct_page: int = 64
    kernel_load_addr: int = 16 * MiB    # CONFIG_PHYSICAL_START
    kernel_image: tuple[tuple[str, int], ...] = (
        ("Kernel code", 14 * MiB), ("Kernel rodata", 8 * MiB),
        ("Kernel data", 4 * MiB), ("Kernel bss", 6 * MiB))
    reserve_first_mib: bool = True      # 5.13+: memblock_reserve(0, SZ_1M)
    reserve_low_kib: int = 64           # 3.15: CONFIG_X86_RESERVE_LOW
    percpu_unit_kib: int = 256          # "percpu: Embedded N pages/cpu ... u262144"
    # -- address space (arch/x86/include/asm/page_*_types.h, pgtable_*_types.h) -----
    page_offset: int = 0xFFFF888000000000
    start_kernel_map: int = 0xFFFFFFFF80000000
    vmalloc_start: int = 0xFFFFC90000000000
    vmalloc_end: int = 0xFFFFE8FFFFFFFFFF
    vmemmap_start: int = 0xFFFFEA0000000000
    modules_vaddr: int = 0xFFFFFFFFA0000000
    modules_end: int = 0xFFFFFFFFFF000000
    pgtable_levels: int = 4
    # -- trace output ----------------------------------------------------------------
    trace_pfn_hex: bool = True          # mm_page_alloc pfn=0x%lx (6.x) vs %lu (3.15)
    trace_call_site_symbolic: bool = True  # call_site=%pS (6.x) vs %lx (3.15)
    # CONFIG_SLAB_FREELIST_RANDOM (added in 4.7; Debian enables it): objects of a new
    # slab are handed out in a seeded random order instead of address order.
    slab_freelist_random: bool = True
    # -- user space ------------------------------------------------------------------
    glibc: str = "2.36"  # the C library kmemlab/user/malloc.py follows (Debian 12's)
    extra: dict = field(default_factory=dict, compare=False)

    # == per-version tables (required: __post_init__ names a missing one) ===========
    gfp_table: _gfp.GfpTable | None = field(default=None, compare=False)  # gfp(_types).h
    slub_rules: SlubRules | None = None     # mm/slub.c + mm/slab_common.c rules
    slab_flag_names: frozenset | None = None  # SLAB_* flags kmem_cache_create accepts
    slab_merge_same: int | None = None      # SLAB_MERGE_SAME (3.15: SLUB_MERGE_SAME)
    # The SLAB_* flags whose name changed: TYPESAFE_BY_RCU was DESTROY_BY_RCU until 4.12
    # (), CONSISTENCY_CHECKS was DEBUG_FREE until 4.6.
    slab_flag_spelling: Mapping = field(default_factory=dict, compare=False)
    # create_unique_id: 3.15 adds 't' unless SLAB_NOTRACK (kmemcheck, removed in 4.15)
    # and has no 'D' (DMA32) or 'A' (ACCOUNT) letters.
    slab_unique_id_kmemcheck: bool = False
    # WARN site of the order > MAX_ORDER warning in __alloc_pages (line+offset of the
    # Debian build; the 3.15 one is unverified).
    order_warn_site: str | None = None
    # might_sleep() file:line per call path ("page_alloc", "slab", "mutex", "uaccess",
    # "vmalloc"): where the "sleeping function called from invalid context" report points.
    might_sleep_sites: Mapping | None = field(default=None, compare=False)
    # /proc/zoneinfo: enum zone_stat_item (+ numa_stat_item) and enum node_stat_item
    # names printed, filtered by Debian's config (see procfs.py).
    zone_stat_names: tuple[str, ...] | None = None
    node_stat_names: tuple[str, ...] | None = None
    # KERNEL_IMAGE_SIZE: 1 GiB with CONFIG_RANDOMIZE_BASE (Debian 6.x), else 512 MiB.
    kernel_image_size: int = 1 * GiB
    # Kconfig defaults of this kernel: CONFIG_* -> value ("y", "m", a number or a
    # string; absent = "is not set"). kconfig.py declares what each option does.
    kconfig: Mapping = field(default_factory=dict, compare=False)
    kconfig_source: str = ""             # where the defaults were read (package version)

    # == named features (default: the newest kernel's behaviour) =====================
    # -- boot and reports --------------------------------------------------------------
    # lib/dump_stack.c: dump_stack_print_info prints "UID: %u" after the CPU (6.10).
    dump_stack_prints_uid: bool = True
    # lib/dump_stack.c: dump_stack_lvl() heads every Call Trace (5.13,
    # "lib/dump_stack: add dump_stack_lvl()"); 3.15 dump_stack.
    dump_stack_lvl: bool = True
    # 3.15 x86 show_trace_log_lvl prints " [<ffffffff81...>] fn"; since 4.x the stack
    # dump is "<TASK> fn+0x../0x.. </TASK>" without raw addresses.
    call_trace_addresses: bool = False
    # warn_alloc (4.9, "mm: consolidate warn_alloc_failed users"): one "%s: page
    # allocation failure: order:%u, mode:%#x(%pGg)" line; 3.15 warn_alloc_failed.
    warn_alloc: bool = True
    # __get_free_pages: 3.15 VM_BUG_ON((gfp_mask & __GFP_HIGHMEM) != 0); 6.x clears it.
    get_free_pages_highmem_bug: bool = False
    # kernel/resource.c: e820 "Reserved" (3.15 e820_type_to_string: "reserved").
    iomem_reserved_name: str = "Reserved"
    # arch/x86/kernel/setup.c: "cpu_entry_area" mapping in the layout (4.15, PTI).
    cpu_entry_area: bool = True
    # -- GFP ---------------------------------------------------------------------------
    # 4.4, commit d0164adc89f6 ("mm, page_alloc: distinguish between being unable to
    # sleep, unwilling to sleep and avoiding waking kswapd"): __GFP_DIRECT_RECLAIM and
    # __GFP_KSWAPD_RECLAIM replace __GFP_WAIT and __GFP_NO_KSWAPD.
    gfp_reclaim_bits: bool = True
    # 4.13, commit dcda9b04713c: __GFP_RETRY_MAYFAIL replaces __GFP_REPEAT.
    gfp_retry_mayfail: bool = True
    # -- page allocator ----------------------------------------------------------------
    # MIGRATE_RESERVE (setup_zone_migrate_reserve) removed in 4.4, commit 974a786e63c9.
    migrate_reserve: bool = False
    # 4.6, commit 795ae7a0de6b ("mm: scale kswapd watermarks in proportion to memory"):
    # low/high = min + max(min/4, managed * watermark_scale_factor / 10000).
    has_watermark_scale_factor: bool = True
    # setup_per_zone_lowmem_reserve: a ratio of 0 means "no reserve" (5.x); 3.15 treats
    # a ratio below 1 as 1 and does not skip empty zones.
    lowmem_reserve_ratio_zero_is_none: bool = True
    # 5.14, commit 44042b449872 ("mm/page_alloc: allow high-order pages to be stored on
    # the per-cpu lists"): one pcp list per (order <= COSTLY, migratetype) + THP.
    pcp_high_order_lists: bool = True
    # zone_batchsize cap: SZ_1M / PAGE_SIZE (5.x); 3.15: 512 KiB.
    pcp_batch_cap_kib: int = 1024
    # pcp->high: "batch6" (3.15 pageset_set_batch: 6 * batch), "low_wmark" (5.14
    # zone_highsize from the low watermark, free_factor), "autotune" (6.7,
    # "mm: tune PCP high automatically": high_min/high_max, alloc_factor,
    # ZONE_BELOW_HIGH).
    pcp_high_rule: str = "autotune"
    # __zone_watermark_ok / gfp_to_alloc_flags: "classzone" (3.15, classzone_idx and
    # ALLOC_HARDER), "alloc_harder" (6.1, ALLOC_HARDER|ALLOC_OOM), "alloc_reserves" (6.3,
    # "mm/page_alloc: explicitly define what alloc flags deplete
    # min reserves": ALLOC_MIN_RESERVE/ALLOC_NON_BLOCK/ALLOC_HIGHATOMIC).
    watermark_rules: str = "alloc_reserves"
    # __rmqueue_fallback: "try_to_steal_freepages" (3.15), "steal_suitable_fallback"
    # (4.x..6.9), "freelist_hygiene" (6.10, Johannes Weiner's "mm: page_alloc: freelist
    # migratetype hygiene" series: whole-block moves, merge converts the buddy's block).
    fallback_rules: str = "freelist_hygiene"
    # /proc/pagetypeinfo stops counting a free list at 100000 (5.5, ).
    pagetypeinfo_count_capped: bool = True
    # -- zoneinfo / meminfo / vmstat -----------------------------------------------------
    # 4.8, commit 599d0c954f91 ("mm, vmscan: move LRU lists to node"): per-node stats,
    # node-based reclaim events and vmstat, zoneinfo walks every zone.
    node_lru: bool = True
    # zoneinfo "promo" watermark (WMARK_PROMO, 6.2 memory tiering; 6.1 has none).
    zoneinfo_promo: bool = True
    # meminfo "Unaccepted" (CONFIG_UNACCEPTED_MEMORY, 6.5).
    meminfo_unaccepted: bool = True
    # meminfo VmallocChunk: 3.15 reports the largest free chunk; 0 since 4.x... here the
    # field is filled only where the kernel computes it (get_vmalloc_info, gone in 5.3).
    vmalloc_chunk_reported: bool = False
    # si_mem_available (4.6+) subtracts totalreserve_pages and counts KReclaimable;
    # 3.15 meminfo_proc_show subtracts the low watermarks and SReclaimable only.
    mem_available_totalreserve: bool = True
    # extfrag_index prints "%2d.%03d" (6.x) / "%d.%03d" (3.15).
    extfrag_index_width2: bool = True
    # meminfo: 6.x also accounts kmalloc_large pages as unreclaimable slab (5.x).
    kmalloc_large_counts_as_slab: bool = True
    # -- vmalloc -----------------------------------------------------------------------
    # 6.9 ("mm: vmalloc: add a per-CPU-ish vmap node"): one vmap
    # node per CPU (at most 128); vmallocinfo walks them node by node.
    vmap_nodes: bool = True
    # vmalloc()/vzalloc() pass GFP_KERNEL|__GFP_HIGHMEM (3.15); 6.x GFP_KERNEL and
    # __vmalloc_area_node adds __GFP_HIGHMEM unless a DMA zone was asked for.
    vmalloc_api_gfp_highmem: bool = False
    # VM_NO_GUARD (4.0, "mm: vmalloc: add flag preventing guard
    # hole allocation").
    has_vm_no_guard: bool = True
    # __vmalloc_area_node: 3.15 vmallocs a big page array (VM_VPAGES), allocates page
    # by page and maps with map_vm_area; 6.x alloc_pages_bulk + vmap_pages_range.
    vmalloc_vpages: bool = False
    # alloc_vmap_area: "vmap allocation for size %lu failed" honours __GFP_NOWARN (4.x);
    # 3.15 prints it (with a trailing '.') whenever printk_ratelimit() allows.
    vmap_fail_warn_nowarn: bool = True
    # free_vmap_area_noflush: 6.x schedules drain_vmap_work; 3.15 purges synchronously.
    vmap_purge_in_worker: bool = True
    # /proc/vmallocinfo: phys=0x%pa (6.x) vs %lx, "vpages" (3.15), unpurged areas:
    # "merged" (6.1: purge list merged), "per_node" (6.9 vmap nodes), None (3.15).
    vmallocinfo_unpurged: str | None = "per_node"
    # -- memblock / bootmem ----------------------------------------------------------------
    # memblock_alloc returns a zeroed virtual pointer or NULL (4.20, with the bootmem
    # removal, ); 3.15 a physical address and panics.
    memblock_alloc_virt: bool = True
    # memblock_free takes a virtual pointer (5.16, ; the physical
    # one became memblock_phys_free).
    memblock_free_virt: bool = True
    # The bootmem API (alloc_bootmem*, free_bootmem), removed in 4.20.
    has_bootmem: bool = False
    # debugfs memblock/memory prints flags and nid columns (6.8).
    memblock_debugfs_flags: bool = True
    # -- modules -----------------------------------------------------------------------
    # module_memory (6.4, "module: replace module_layout with module_memory") allocated
    # with execmem_alloc (6.10): one allocation per section type, no MODULES_LEN check;
    # earlier kernels module_alloc() one core image (and an init image).
    module_execmem: bool = True
    # the caller module_alloc's vmap area records (3.15: module_alloc_update_bounds).
    module_alloc_caller: str = "move_module"
    # -- CMA ---------------------------------------------------------------------------
    # 3.15 dma_contiguous_reserve: cma=size only (no @base), PAGE_SIZE << max(MAX_ORDER-1,
    # pageblock_order) alignment, "CMA: reserved %ld MiB at %08lx" logs, bottom-up
    # placement below 4 GiB not tried; cma_alloc clamps align to CONFIG_CMA_ALIGNMENT,
    # isolates MAX_ORDER blocks and has no cma_* tracepoints. Since 5.x mm/cma.c.
    cma_mm_cma_c: bool = True
    # -- reclaim / OOM ---------------------------------------------------------------------
    # 4.7, commit 0a0337e0d1d1 ("mm, oom: rework oom detection"): should_reclaim_retry
    # replaces should_alloc_retry.
    should_reclaim_retry: bool = True
    # oom_badness: 3.15 adds nr_ptes, gives root a 3 % bonus (removed in 4.17,
    # ) and normalises to 0..1000 (points*1000/totalpages, removed in 5.9).
    oom_badness_normalised: bool = False
    oom_root_bonus: bool = False
    # oom report: "kill_process" (3.15: "invoked oom-killer: gfp_mask=%#x", "Out of
    # memory: Kill process %d (%s) score %u or sacrifice child"); "constraint" (4.19+:
    # gfp_mask=%#x(%pGg), the oom-kill:constraint= line, "Out of memory: Killed process").
    oom_report: str = "constraint"
    # the oom_kill vmstat counter (4.13).
    vmstat_oom_kill: bool = True
    # 3.15 __alloc_pages_may_oom asks oom_gfp_allowed() (no __GFP_FS: no OOM kill);
    # the helper went away in 3.17.
    oom_gfp_allowed: bool = False
    # mm_pgtables_bytes (4.15) replaces mm->nr_ptes in oom_badness and dump_tasks.
    mm_pgtables_bytes: bool = True
    # mm_vmscan_wakeup_kswapd prints gfp_flags (4.x).
    trace_wakeup_kswapd_gfp: bool = True
    # dump_tasks columns: "nr_ptes" (3.15), "pgtables_bytes" (4.15..6.1), "rss_split"
    # (6.2: rss_anon rss_file rss_shmem).
    dump_tasks_columns: str = "rss_split"
    # __vm_enough_memory warning: None (3.15), "short" (6.1), "bytes" (6.12).
    vm_enough_memory_warning: str | None = "bytes"
    # OVERCOMMIT_GUESS: compare with totalram (5.x); 3.15 adds up
    # free pages, page cache and reclaimable slab.
    overcommit_guess_totalram: bool = True
    # -- slab debugging / KASAN / kmemleak -------------------------------------------------
    kasan_supported: bool = True        # KASAN arrived in 4.0
    # KASAN bug type of a freed slab object: "slab-use-after-free" (6.5 KASAN
    # report rework) or "use-after-free" (earlier).
    kasan_uaf_name: str = "slab-use-after-free"
    # KASAN "The buggy address belongs to the object ... (allocated/freed)" state word.
    kasan_object_state: bool = True
    # 6.2 ("mm/slub: extend redzone check to extra allocated
    # kmalloc space than requested"): red-zone [orig_size, object_size) of kmalloc.
    slub_kmalloc_redzone: bool = True
    # slab_err/object_err: 3.15 "INFO: 0x..-0x... First byte" lines and "Restoring 0x.."
    # fixes; 6.x "0x..-0x.. @offset=..." and "Restoring Right Redzone/Poison 0x..".
    slub_report_info_lines: bool = False
    # kmemleak: 3.15 prints comm/pid/jiffies and a hex dump; "backtrace (crc %x):" (6.7).
    kmemleak_report: str = "crc"          # "crc" (6.7+), "plain" (6.1), "age" (3.15)
    # Oops for a NULL dereference: 3.15 "BUG: unable to handle kernel NULL pointer
    # dereference at %p"; 6.x "BUG: kernel NULL pointer dereference, address: ...".
    oops_unable_to_handle_null: bool = False
    # -- might_sleep / lockups / DMA ---------------------------------------------------------
    # 5.15 ("sched: Clean up the might_sleep() underscore zoo"):
    # __might_resched, "non_block"/"preempt_count"/"RCU nest depth" lines.
    might_resched: bool = True
    # "watchdog: Watchdog detected hard LOCKUP" (6.x perf watchdog rework); earlier
    # kernels print "NMI watchdog: ...".
    hardlockup_prefix: str = "watchdog"
    # swiotlb/nommu dma_map_single overflow: 3.15 nommu_map_single prints the overflow.
    nommu_dma_overflow_msg: bool = False
    # -- trace events ------------------------------------------------------------------
    # irq-flags column width of trace_print_context (5: 5.x adds migrate-disable; 3.15: 4)
    trace_irq_flags_width: int = 5
    # %p of NULL prints "(null)" (3.15) or zeros (4.15+ pointer hashing rework).
    trace_null_ptr_is_null: bool = False
    # 6.1 ("mm/slab_common: unify NUMA and UMA version of
    # tracepoints"): every kmalloc event prints node=; 3.15 only the *_node events.
    trace_kmalloc_node_always: bool = True
    # kmem_cache_free prints name= (5.12).
    trace_kmem_cache_free_name: bool = True
    # mm_page_free_batched cold= (removed in 4.15, "mm, page_alloc:
    # drop cold page").
    trace_page_cold: bool = False
    # cma_alloc_start/cma_alloc_finish/cma_release tracepoints (5.x/6.x).
    trace_cma_events: bool = True
    # the tracefs line layout traceparse writes: "symbolic" (6.x) or "classic" (3.15).
    trace_layout: str = "symbolic"
    # -- kernel reports -------------------------------------------------------------------
    # set_freepointer's BUG_ON(object == fp) (CONFIG_SLAB_FREELIST_HARDENED, 4.14): the
    # line of mm/slub.c a "kernel BUG at" report names (6.12.117: 550; 6.1.192: 419).
    slub_set_freepointer_bug_line: int = 550
    # die(): "Oops: invalid opcode: ..." since 6.7 (x86/traps: "Oops: " prefix for every
    # die() message); 6.1 printed "invalid opcode: 0000 [#1] ...".
    oops_prefix: bool = True
    # gfp_migratetype (6.x) vs allocflags_to_migratetype (3.15): the function a bad
    # mobility mask is reported from.
    gfp_migratetype_fn: str = "gfp_migratetype"
    # print_unknown_bootoptions (init/main.c, 5.5): "Unknown kernel command line
    # parameters ..., will be passed to user space."
    prints_unknown_bootoptions: bool = True
    # kvmalloc() (4.12, mm/util.c): 3.15 drivers open-coded the kmalloc→vmalloc fallback.
    has_kvmalloc: bool = True
    # -- user space ------------------------------------------------------------------------
    # page-table pages: GFP_PGTABLE_USER (5.9); 3.15 pte_alloc_one's GFP_KERNEL|
    # __GFP_NOTRACK|__GFP_REPEAT|__GFP_ZERO.
    pgtable_gfp: str = "GFP_KERNEL|__GFP_ZERO|__GFP_ACCOUNT"
    # PTI (4.15): an 8 KiB (order-1) PGD on x86_64.
    pgd_order_pti: bool = True
    # smaps_rollup (4.14) and its KSM line (6.3).
    has_smaps_rollup: bool = True
    smaps_rollup_ksm: bool = True
    # show_signal_msg: "likely on CPU %d (core %d, socket %d)" (6.2).
    segfault_prints_cpu: bool = True
    # [vvar] size (4 pages since 5.x time namespaces; 3.15: 2) and vsyscall permissions
    # (vsyscall=xonly default "--xp" since 5.3; 3.15 "r-xp").
    vvar_pages: int = 4
    vsyscall_perms: str = "--xp"
    # -- 6.13 .. 6.18 (issue 19; default: the 6.12 behaviour) ----------------------------
    # mm/slub.c: per-CPU sheaves and the per-node barn, kmem_cache_args.sheaf_capacity
    # (6.18, commit 2d517aa09bbc "slab: add opt-in caching layer of percpu sheaves");
    # kmemlab/sheaves.py has the rules.
    slub_sheaves: bool = False
    # boot caches that opt in: (name, object size, align, SLAB_* flags, sheaf_capacity)
    sheaf_boot_caches: tuple = ()
    # mm/vmstat.c: zoneinfo_show_print prints each pageset's high_min and high_max, all
    # five labels padded to "high_min: " (seen on 6.18.44; the pcp->high_min/high_max
    # fields themselves are 6.7's "mm: tune PCP high automatically").
    zoneinfo_pcp_high_minmax: bool = False
    # fs/proc/meminfo.c: "HardwareCorrupted:" only with CONFIG_MEMORY_FAILURE (6.x; set
    # from the kconfig by kconfig.apply)
    meminfo_hardware_corrupted: bool = True
    # fs/proc/meminfo.c: "Balloon:" (NR_BALLOON_PAGES; 6.15, commit 1796819d5528
    # "meminfo: add a per node counter for balloon drivers"), after Unaccepted.
    meminfo_balloon: bool = False
    # lib/dump_stack.c: dump_stack_print_info ends the CPU line with the preemption
    # model (preempt_model_str(), 6.16: "#1 PREEMPT(voluntary)"); None before.
    dump_stack_preempt_model: str | None = None

    # ---------------------------------------------------------------- derived values
    @property
    def name(self) -> str:
        return f"{self.version}/{self.arch}"

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    @property
    def max_page_order(self) -> int:
        """The largest order the buddy allocator hands out (10 everywhere here)."""
        return self.nr_page_orders - 1

    @property
    def pageblock_nr_pages(self) -> int:
        return 1 << self.pageblock_order

    def has_config_option(self, name: str) -> bool:
        """Whether the ``CONFIG_*`` option ``name`` exists in this release
        (:data:`KCONFIG_LIFETIMES`; an option not listed there always exists)."""
        since, until = KCONFIG_LIFETIMES.get(name, (None, None))
        v = tuple(int(n) for n in self.version.split("."))
        return not ((since and v < tuple(int(n) for n in since.split(".")))
                    or (until and v >= tuple(int(n) for n in until.split("."))))

    @property
    def gfp(self) -> _gfp.GfpTable:
        """This version's GFP numbers (asked on every allocation)."""
        return self.gfp_table

    @property
    def is_64bit(self) -> bool:
        return self.arch == "x86_64"

    @property
    def may_block_flag(self) -> str:
        """The flag that lets an allocation sleep (include/linux/gfp.h)."""
        return "__GFP_DIRECT_RECLAIM" if self.gfp_reclaim_bits else "__GFP_WAIT"

    def gfp_zone(self, value: int) -> str:
        """gfp_zone(): the highest zone an allocation with ``value`` may use."""
        movable = value & 0x8
        if value & 0x1:
            return "DMA"
        if value & 0x4:
            return "DMA32" if "DMA32" in self.zone_names else "Normal"
        if value & 0x2:
            if movable:
                return "Movable"
            return "HighMem" if "HighMem" in self.zone_names else "Normal"
        return "Normal"

    def gfp_migratetype(self, value: int) -> int:
        """allocflags_to_migratetype (3.15) / gfp_migratetype (6.x)."""
        movable = 1 if value & 0x8 else 0
        reclaimable = 1 if value & self.gfp.values["__GFP_RECLAIMABLE"] else 0
        if self.migratetype_names[1] == "Reclaimable":
            return (movable << 1) | reclaimable  # UNMOVABLE 0, RECLAIMABLE 1, MOVABLE 2
        return movable | (reclaimable << 1)      # UNMOVABLE 0, MOVABLE 1, RECLAIMABLE 2

    def migratetype(self, name: str) -> int:
        return self.migratetype_names.index(name)

    # ---------------------------------------------------------------- validation
    def __post_init__(self) -> None:
        """Check every per-version table and strategy name now, so a profile with a
        missing piece fails at import with a message naming it."""
        missing = [f for f in _REQUIRED_TABLES if getattr(self, f) is None]
        if missing:
            raise ValueError(f"profile {self.version}/{self.arch}: missing {', '.join(missing)} "
                             "(derive() from an existing profile copies them)")
        for f, allowed in _CHOICES.items():
            if getattr(self, f) not in allowed:
                raise ValueError(f"profile {self.version}/{self.arch}: {f}="
                                 f"{getattr(self, f)!r}; known: {', '.join(map(repr, allowed))}")
        kinds = set(self.might_sleep_sites)
        if kinds != set(MIGHT_SLEEP_KINDS):
            raise ValueError(f"profile {self.version}/{self.arch}: might_sleep_sites needs "
                             f"exactly {', '.join(MIGHT_SLEEP_KINDS)} "
                             f"(has {', '.join(sorted(kinds))})")
        if self.slub_rules.version != self.version:
            # the rules name their version in error messages; keep them in step
            object.__setattr__(self, "slub_rules",
                               dataclasses.replace(self.slub_rules, version=self.version))
        if self.gfp_table.version != self.version:
            t = _gfp.GfpTable.__new__(_gfp.GfpTable)
            t.__dict__.update(self.gfp_table.__dict__)
            t.version = self.version
            object.__setattr__(self, "gfp_table", t)


_REQUIRED_TABLES = ("gfp_table", "slub_rules", "slab_flag_names", "slab_merge_same",
                    "order_warn_site", "might_sleep_sites", "zone_stat_names",
                    "node_stat_names")
_CHOICES = {
    "watermark_rules": ("classzone", "alloc_harder", "alloc_reserves"),
    "fallback_rules": ("try_to_steal_freepages", "steal_suitable_fallback",
                       "freelist_hygiene"),
    "pcp_high_rule": ("batch6", "low_wmark", "autotune"),
    "dump_tasks_columns": ("nr_ptes", "pgtables_bytes", "rss_split"),
    "oom_report": ("kill_process", "constraint"),
    "vm_enough_memory_warning": (None, "short", "bytes"),
    "vmallocinfo_unpurged": (None, "merged", "per_node"),
    "kmemleak_report": ("age", "plain", "crc"),
    "trace_layout": ("classic", "symbolic"),
}
MIGHT_SLEEP_KINDS = ("page_alloc", "slab", "mutex", "uaccess", "vmalloc")


def derive(base: Profile, *, version: str, arch: str | None = None, **changed) -> Profile:
    """A new profile: ``base`` with ``version`` and the ``changed`` fields.

    ``PROFILES["6.18", "x86_64"] = derive(PROFILES["6.12", "x86_64"], version="6.18",
    description=..., ...)``. Every table and feature not named stays the base's; the
    result is validated like any profile (unknown field names are a TypeError).
    """
    unknown = sorted(set(changed) - {f.name for f in dataclasses.fields(Profile)})
    if unknown:
        raise TypeError(f"derive(): Profile has no field {', '.join(unknown)}")
    changed.setdefault("description", f"Linux {version} on {arch or base.arch} "
                                      f"(derived from {base.version})")
    return dataclasses.replace(base, version=version, arch=arch or base.arch, **changed)


# ======================================================================== the data

# Debian amd64 kernels: the options kmemlab/kconfig.py declares, as boot/config-* of
# the linux-image packages sets them (absent = "is not set": CMA, SLUB_DEBUG_ON,
# DEBUG_ATOMIC_SLEEP, KASAN, RANDOM_KMALLOC_CACHES, HIGHMEM). The files are shipped
# gzipped in tests/data/ and tests/unit/test_kconfig.py checks these dicts.
# Debian 12: linux-image-6.1.0-57-amd64 6.1.192-3 (boot/config-6.1.0-57-amd64)
_KCONFIG_DEBIAN_6_1: dict[str, str] = {
    "CONFIG_SLAB_FREELIST_RANDOM": "y", "CONFIG_SLAB_FREELIST_HARDENED": "y",
    "CONFIG_TRANSPARENT_HUGEPAGE": "y", "CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS": "y",
    "CONFIG_MEMCG": "y", "CONFIG_ZONE_DMA": "y", "CONFIG_NR_CPUS": "8192",
    "CONFIG_SLUB": "y", "CONFIG_X86_DIRECT_GBPAGES": "y", "CONFIG_RANDOMIZE_BASE": "y",
    "CONFIG_MEMORY_FAILURE": "y",
}
# Debian 13: linux-image-6.12.117+deb13-amd64 6.12.117-1 (boot/config-6.12.117+deb13-amd64)
_KCONFIG_DEBIAN_6_12: dict[str, str] = {**_KCONFIG_DEBIAN_6_1, "CONFIG_UNACCEPTED_MEMORY": "y"}
# 3.15: no distribution shipped 3.15 itself; kmemlab keeps what it modelled before the
# options were data (CMA on, so cma= works as in the source document; THP always on
# x86_64; SLUB; no KASLR), with Debian 8's (3.16) NR_CPUS (512 amd64, 32 i386).
_KCONFIG_3_15_X86_64: dict[str, str] = {
    "CONFIG_CMA": "y", "CONFIG_TRANSPARENT_HUGEPAGE": "y",
    "CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS": "y", "CONFIG_MEMCG": "y", "CONFIG_ZONE_DMA": "y",
    "CONFIG_NR_CPUS": "512", "CONFIG_SLUB": "y", "CONFIG_X86_DIRECT_GBPAGES": "y",
}
_KCONFIG_3_15_I386: dict[str, str] = {
    "CONFIG_CMA": "y", "CONFIG_MEMCG": "y", "CONFIG_ZONE_DMA": "y", "CONFIG_HIGHMEM": "y",
    "CONFIG_NR_CPUS": "32", "CONFIG_SLUB": "y",
}

_SITES_6_12 = {"page_alloc": ("include/linux/sched/mm.h", 321),     # might_alloc
               "slab": ("include/linux/sched/mm.h", 321),
               "mutex": ("kernel/locking/mutex.c", 283),            # mutex_lock
               "uaccess": ("include/linux/uaccess.h", 162),         # _inline_copy_from_user
               "vmalloc": ("mm/vmalloc.c", 3289)}
_SITES_6_1 = {"page_alloc": ("include/linux/sched/mm.h", 274),
              "slab": ("include/linux/sched/mm.h", 274),
              "mutex": ("kernel/locking/mutex.c", 283),
              "uaccess": ("lib/usercopy.c", 14),                     # _copy_from_user
              "vmalloc": ("mm/vmalloc.c", 2858)}
# The 3.15 page_alloc line is from a 3.14-era report (April 2014); the others are
# approximate.
_SITES_3_15 = {"page_alloc": ("mm/page_alloc.c", 2736),            # __alloc_pages_nodemask
               "slab": ("mm/slub.c", 965),                          # slab_pre_alloc_hook
               "mutex": ("kernel/locking/mutex.c", 97),
               "uaccess": ("arch/x86/include/asm/uaccess.h", 699),  # copy_from_user
               "vmalloc": ("mm/vmalloc.c", 1339)}

_SLUB_3_15 = SlubRules(
    version="3.15", short_names=False, kmalloc_types=(KMALLOC_NORMAL, KMALLOC_DMA),
    kmalloc_align="minalign", freeptr_mid_object=False, order_algorithm="slab_order",
    cpu_partial_table=((4096, 2), (1024, 6), (256, 13), (0, 30)),
    cpu_partial_slabs=False, discard_if_nr_partial_ge=False, comp_always=False,
    kmalloc_mergeable=True, merge_newest_first=True, bad_gfp_is_bug=True,
    shutdown_fn="kmem_cache_close()", large_owner_trace_has_comp=False,
    min_order_raises_max=False, shrink_promotes_few_free=False,
    high_order_try_no_reclaim=False, kmalloc_large_fixes_flags=False,
    wrong_cache_pr_err_first=True, destroy_warns_with_caller=False,
)
_SLUB_6_1 = SlubRules(
    version="6.1", short_names=True,
    kmalloc_types=(KMALLOC_NORMAL, KMALLOC_CGROUP, KMALLOC_RECLAIM, KMALLOC_DMA),
    kmalloc_align="pow2", freeptr_mid_object=True, order_algorithm="slab_order",
    cpu_partial_table=((4096, 6), (1024, 24), (256, 52), (0, 120)),
    cpu_partial_slabs=True, discard_if_nr_partial_ge=True, comp_always=False,
    kmalloc_mergeable=False, merge_newest_first=False, bad_gfp_is_bug=False,
    shutdown_fn="__kmem_cache_shutdown()", large_owner_trace_has_comp=False,
    nomerge_params=("slab_nomerge", "slub_nomerge"),
    merge_params=("slab_merge", "slub_merge"),
)
_SLUB_6_12 = SlubRules(
    version="6.12", short_names=True,
    kmalloc_types=(KMALLOC_NORMAL, KMALLOC_RECLAIM, KMALLOC_DMA, KMALLOC_CGROUP),
    kmalloc_align="pow2_divisor", freeptr_mid_object=True,
    order_algorithm="calc_slab_order",
    cpu_partial_table=((4096, 6), (1024, 24), (256, 52), (0, 120)),
    cpu_partial_slabs=True, discard_if_nr_partial_ge=True, comp_always=True,
    kmalloc_mergeable=False, merge_newest_first=False, bad_gfp_is_bug=False,
    shutdown_fn="__kmem_cache_shutdown()", large_owner_trace_has_comp=False,
    nomerge_params=("slab_nomerge", "slub_nomerge"),
    merge_params=("slab_merge", "slub_merge"),
    order_param_prefixes=("slab_", "slub_"),
)

_SLAB_FLAGS_COMMON = _sc.COMMON_FLAG_NAMES
_SLAB_FLAGS_3_15 = frozenset(_SLAB_FLAGS_COMMON + (
    "SLAB_DEBUG_FREE", "SLAB_CONSISTENCY_CHECKS", "SLAB_DESTROY_BY_RCU",
    "SLAB_TYPESAFE_BY_RCU", "SLAB_NOTRACK"))
_SLAB_FLAGS_6_1 = frozenset(_SLAB_FLAGS_COMMON + (
    "SLAB_CONSISTENCY_CHECKS", "SLAB_TYPESAFE_BY_RCU", "SLAB_CACHE_DMA32", "SLAB_ACCOUNT"))
_SLAB_FLAGS_6_12 = _SLAB_FLAGS_6_1 | {"SLAB_NO_MERGE"}   # SLAB_NO_MERGE: 6.5
# 3.15 mm/slub.c: SLUB_MERGE_SAME; 6.x mm/slab_common.c: SLAB_MERGE_SAME
_MERGE_SAME_3_15 = (_sc.SLAB_DEBUG_FREE | _sc.SLAB_RECLAIM_ACCOUNT | _sc.SLAB_CACHE_DMA
                    | _sc.SLAB_NOTRACK)
_MERGE_SAME_6 = (_sc.SLAB_RECLAIM_ACCOUNT | _sc.SLAB_CACHE_DMA | _sc.SLAB_CACHE_DMA32
                 | _sc.SLAB_ACCOUNT)

_GFP_3_15 = _gfp.GfpTable("3.15", **_gfp.GFP_H_3_15)
_GFP_6_1 = _gfp.GfpTable("6.1", **_gfp.GFP_TYPES_H_6_1)
_GFP_6_12 = _gfp.GfpTable("6.12", **_gfp.GFP_TYPES_H_6_12)

# Everything 3.15 does the old way (the features above, by the release that changed
# them); shared by the two 3.15 profiles.
_LINUX_3_15 = dict(
    gfp_table=_GFP_3_15, slub_rules=_SLUB_3_15, slab_flag_names=_SLAB_FLAGS_3_15,
    slab_merge_same=_MERGE_SAME_3_15, slab_unique_id_kmemcheck=True,
    slab_flag_spelling={"SLAB_TYPESAFE_BY_RCU": "SLAB_DESTROY_BY_RCU",
                        "SLAB_CONSISTENCY_CHECKS": "SLAB_DEBUG_FREE"},
    order_warn_site="mm/page_alloc.c __alloc_pages_nodemask()",  # line/offset unverified
    might_sleep_sites=_SITES_3_15,
    zone_stat_names=(), node_stat_names=(),   # filled per arch below
    kernel_image_size=512 * MiB,              # no KASLR in the distribution config
    dump_stack_prints_uid=False, dump_stack_lvl=False, call_trace_addresses=True,
    warn_alloc=False, get_free_pages_highmem_bug=True, iomem_reserved_name="reserved",
    cpu_entry_area=False, gfp_reclaim_bits=False, gfp_retry_mayfail=False,
    migrate_reserve=True, has_watermark_scale_factor=False,
    lowmem_reserve_ratio_zero_is_none=False, pcp_high_order_lists=False,
    pcp_batch_cap_kib=512, pcp_high_rule="batch6", watermark_rules="classzone",
    fallback_rules="try_to_steal_freepages", pagetypeinfo_count_capped=False,
    node_lru=False, zoneinfo_promo=False, meminfo_unaccepted=False,
    vmalloc_chunk_reported=True, mem_available_totalreserve=False,
    extfrag_index_width2=False, kmalloc_large_counts_as_slab=False,
    vmap_nodes=False, vmalloc_api_gfp_highmem=True, has_vm_no_guard=False,
    vmalloc_vpages=True, vmap_fail_warn_nowarn=False, vmap_purge_in_worker=False,
    vmallocinfo_unpurged=None, memblock_alloc_virt=False, memblock_free_virt=False,
    has_bootmem=True, memblock_debugfs_flags=False, module_execmem=False,
    module_alloc_caller="module_alloc_update_bounds",
    cma_mm_cma_c=False, should_reclaim_retry=False, oom_badness_normalised=True,
    oom_root_bonus=True,
    oom_report="kill_process", vmstat_oom_kill=False, oom_gfp_allowed=True,
    mm_pgtables_bytes=False, trace_wakeup_kswapd_gfp=False, dump_tasks_columns="nr_ptes",
    vm_enough_memory_warning=None, overcommit_guess_totalram=False,
    kasan_supported=False, kasan_uaf_name="use-after-free", kasan_object_state=False,
    slub_kmalloc_redzone=False, slub_report_info_lines=True, kmemleak_report="age",
    oops_unable_to_handle_null=True, might_resched=False, hardlockup_prefix="NMI watchdog",
    nommu_dma_overflow_msg=True, trace_irq_flags_width=4, trace_null_ptr_is_null=True,
    trace_kmalloc_node_always=False, trace_kmem_cache_free_name=False,
    trace_page_cold=True, trace_cma_events=False, trace_layout="classic",
    pgtable_gfp="GFP_KERNEL|__GFP_NOTRACK|__GFP_REPEAT|__GFP_ZERO", pgd_order_pti=False,
    has_smaps_rollup=False, smaps_rollup_ksm=False, segfault_prints_cpu=False,
    vvar_pages=2, vsyscall_perms="r-xp", slub_set_freepointer_bug_line=0, oops_prefix=False,
    gfp_migratetype_fn="allocflags_to_migratetype", prints_unknown_bootoptions=False,
    has_kvmalloc=False,
)
# 3.15 zoneinfo counters (procfs.py): the zone items, numa_* only with CONFIG_NUMA.
from .procfs import (  # noqa: E402  # noqa: E402,E501
    NODE_STATS_6_1,
    NODE_STATS_6_12,
    NODE_STATS_6_18,
    NUMA_STATS,
    ZONE_STATS_3_15_HEAD,
    ZONE_STATS_3_15_TAIL,
    ZONE_STATS_6_1,
    ZONE_STATS_6_12,
    ZONE_STATS_6_18,
)

_X86_64_6X = dict(
    zone_names=("DMA", "DMA32", "Normal", "Movable", "Device"),
    lowmem_reserve_ratio=(256, 256, 32, 0, 0),
)

PROFILES: dict[tuple[str, str], Profile] = {
    ("3.15", "x86_64"): Profile(
        version="3.15", arch="x86_64",
        description="Linux 3.15 on x86_64 (the source document's kernel)",
        max_order_constant="MAX_ORDER = 11 (exclusive: orders 0..MAX_ORDER-1)",
        zone_names=("DMA", "DMA32", "Normal", "Movable"),
        migratetype_names=("Unmovable", "Reclaimable", "Movable", "Reserve", "CMA", "Isolate"),
        merge_stops_at_unmergeable_pageblocks=False, boot_free_to_tail=False,
        min_free_kbytes_max=65536, lowmem_reserve_ratio=(256, 256, 32),
        thp_enabled="always", thp_zones_up_to_normal=False,
        kernel_image=(("Kernel code", 6 * MiB), ("Kernel data", 2 * MiB),
                      ("Kernel bss", 2 * MiB)),
        reserve_first_mib=False, percpu_unit_kib=112,
        page_offset=0xFFFF880000000000, vmemmap_start=0xFFFFEA0000000000,
        trace_pfn_hex=False, trace_call_site_symbolic=False,
        slab_freelist_random=False,
        **{**_LINUX_3_15,
           "zone_stat_names": ZONE_STATS_3_15_HEAD + NUMA_STATS + ZONE_STATS_3_15_TAIL,
           "kconfig": _KCONFIG_3_15_X86_64},
    ),
    ("3.15", "i386"): Profile(
        version="3.15", arch="i386",
        description="Linux 3.15 on i386 (3G/1G split, HIGHMEM, no DMA32)",
        max_order_constant="MAX_ORDER = 11 (exclusive: orders 0..MAX_ORDER-1)",
        pageblock_order=10,  # HUGETLB_PAGE_ORDER = 22 - 12 without PAE
        zone_names=("DMA", "Normal", "HighMem", "Movable"),
        highmem_zones=("HighMem",), wmark_clamped_zones=("HighMem",),
        dma32_limit=None,
        migratetype_names=("Unmovable", "Reclaimable", "Movable", "Reserve", "CMA", "Isolate"),
        merge_stops_at_unmergeable_pageblocks=False, boot_free_to_tail=False,
        min_free_kbytes_max=65536, lowmem_reserve_ratio=(256, 32, 32),
        thp_enabled="never", thp_supported=False,  # THP needs X86_64 or X86_PAE
        thp_zones_up_to_normal=False,
        sizeof_struct_page=32,
        kernel_image=(("Kernel code", 5 * MiB), ("Kernel data", 1 * MiB),
                      ("Kernel bss", 1 * MiB)),
        reserve_first_mib=False, percpu_unit_kib=64,
        page_offset=0xC0000000, start_kernel_map=0xC0000000,
        vmalloc_start=0, vmalloc_end=0, vmemmap_start=0,
        modules_vaddr=0, modules_end=0, pgtable_levels=2,
        trace_pfn_hex=False, trace_call_site_symbolic=False,
        slab_freelist_random=False,
        # PKMAP_BASE 0xff800000 (4 MiB aligned below the fixmap); VMALLOC_END two pages
        # below it; MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE(128M)
        # = 0x377fe000, the "887MB LOWMEM available" a 3.x i386 boot prints.
        extra={"pkmap_base": 0xFF800000, "vmalloc_end": 0xFF7FE000, "vmalloc_offset": 8 << 20},
        **{**_LINUX_3_15,
           "zone_stat_names": ZONE_STATS_3_15_HEAD + ZONE_STATS_3_15_TAIL,  # no NUMA
           "kconfig": _KCONFIG_3_15_I386},
    ),
    ("6.12", "x86_64"): Profile(
        version="6.12", arch="x86_64",
        description="Linux 6.12 on x86_64 (Debian 13's kernel)",
        max_order_constant="MAX_PAGE_ORDER = 10 (inclusive); NR_PAGE_ORDERS = 11",
        wmark_clamped_zones=("Movable",),  # 6.6+: ZONE_MOVABLE gets the highmem rule
        gfp_table=_GFP_6_12, slub_rules=_SLUB_6_12, slab_flag_names=_SLAB_FLAGS_6_12,
        slab_merge_same=_MERGE_SAME_6,
        order_warn_site="mm/page_alloc.c:4832 __alloc_pages_noprof+0x2ca/0x330",
        might_sleep_sites=_SITES_6_12,
        zone_stat_names=ZONE_STATS_6_12 + NUMA_STATS, node_stat_names=NODE_STATS_6_12,
        kconfig=_KCONFIG_DEBIAN_6_12,
        kconfig_source="Debian 13 linux-image-6.12.117+deb13-amd64 6.12.117-1",
        **_X86_64_6X,
    ),
}
# 6.1 = 6.12 with everything 6.2..6.12 changed undone.
PROFILES["6.1", "x86_64"] = derive(
    PROFILES["6.12", "x86_64"], version="6.1",
    description="Linux 6.1 on x86_64 (Debian 12's kernel)",
    max_order_constant="MAX_ORDER = 11 (exclusive: orders 0..MAX_ORDER-1)",
    wmark_clamped_zones=(),
    gfp_table=_GFP_6_1, slub_rules=_SLUB_6_1, slab_flag_names=_SLAB_FLAGS_6_1,
    order_warn_site="mm/page_alloc.c:5634 __alloc_pages+0x30a/0x560",
    might_sleep_sites=_SITES_6_1,
    zone_stat_names=ZONE_STATS_6_1 + NUMA_STATS, node_stat_names=NODE_STATS_6_1,
    kconfig=_KCONFIG_DEBIAN_6_1,
    kconfig_source="Debian 12 linux-image-6.1.0-57-amd64 6.1.192-3",
    dump_stack_prints_uid=False, watermark_rules="alloc_harder",
    fallback_rules="steal_suitable_fallback", pcp_high_rule="low_wmark",
    zoneinfo_promo=False, meminfo_unaccepted=False, vmap_nodes=False,
    vmallocinfo_unpurged="merged", memblock_debugfs_flags=False,
    module_execmem=False, dump_tasks_columns="pgtables_bytes",
    vm_enough_memory_warning="short", kasan_uaf_name="use-after-free",
    kasan_object_state=False, slub_kmalloc_redzone=False, kmemleak_report="plain",
    hardlockup_prefix="NMI watchdog", smaps_rollup_ksm=False, segfault_prints_cpu=False,
    slub_set_freepointer_bug_line=419, oops_prefix=False,
)
# 6.18 = 6.12 with what a learner can see change in 6.13..6.18 (issue 19). Each item was
# checked against a real 6.18.44 x86_64 kernel (the development machine: its /proc,
# /sys/kernel/slab and /proc/config.gz are saved in notebooks/data/machine-6.18) and,
# where found, the commit:
# * SLUB sheaves (6.18, 2d517aa09bbc): maple_node (lib/maple_tree.c: maple_tree_init,
#   "maple_tree: use percpu sheaves for maple_node_cache") and vm_area_struct
#   (mm/vma_init.c: vma_state_init, "mm, vma: use percpu sheaves for vm_area_struct
#   cache") have sheaf_capacity 32, every other cache 0; caches with sheaves are never
#   merged (mm/slab_common.c: slab_unmergeable). vm_area_struct is TYPESAFE_BY_RCU with
#   its free pointer inside the object (use_freeptr_offset), so its slot stays 192:
#   modelled as a plain 192-byte cache (destroy_by_rcu is not compared).
# * GFP: the bits and composite masks are 6.12's (include/linux/gfp_types.h; GFP_NOWAIT
#   = __GFP_KSWAPD_RECLAIM|__GFP_NOWARN since 6.12, commit 16f5dfbc851b); with this
#   config (MEMCG, no KASAN_HW_TAGS, no LOCKDEP) __GFP_NO_OBJ_EXT is still bit 24.
# * kmalloc: the same size classes (8..8k, 96, 192) and kinds (kmalloc-, -cg-, -rcl-,
#   dma-); CONFIG_RANDOM_KMALLOC_CACHES (kmalloc-rnd-NN-*) is not set in this config.
#   CONFIG_SLAB_BUCKETS adds a "kmalloc_buckets" cache (not modelled).
# * page allocator: MAX_PAGE_ORDER 10, pageblock_order 9 (CONFIG_PAGE_BLOCK_MAX_ORDER
#   = 10, 6.16, capped by HPAGE_PMD_ORDER); the watermark, boost and lowmem_reserve
#   formulas give this machine's zoneinfo exactly (tests/fidelity); __rmqueue_fallback
#   became __rmqueue_claim + __rmqueue_steal (6.15, "mm: page_alloc: speed up fallbacks
#   in rmqueue_bulk()") with the same choice for one allocation (the "sticky" steal
#   mode of a pcp batch refill is not modelled); vm.defrag_mode (6.15) defaults to 0.
# * /proc/zoneinfo: per-node items gain pgpromote_candidate_nrl, pgdemote_proactive,
#   nr_hugetlb, nr_balloon_pages, nr_kernel_file_pages and lose nr_writeback_temp; zone
#   items gain nr_free_pages_blocks (6.15, with defrag_mode) and lose nr_bounce (and
#   nr_unaccepted without CONFIG_UNACCEPTED_MEMORY); pagesets print high_min/high_max.
# * /proc/meminfo: "Balloon:" (6.15); this config has neither MEMORY_FAILURE
#   (HardwareCorrupted) nor CMA nor UNACCEPTED_MEMORY. /proc/pagetypeinfo: no CMA type.
#   /proc/vmallocinfo and /proc/slabinfo: unchanged layouts.
# * reports: the dump_stack CPU line ends with the preemption model (6.16); the order
#   WARN of the page allocator is in __alloc_frozen_pages_noprof (6.14, "mm/page_alloc:
#   add __alloc_frozen_pages()"; line and offset of a 6.18 build not verified); the
#   might_alloc site is include/linux/sched/mm.h:323 (a 6.18-rc1 report); the mutex,
#   uaccess and vmalloc might_sleep sites are 6.12's (not re-verified for 6.18).
# Default config: the options the model reads from this machine's /proc/config.gz
# (Linux 6.18.44-fc-v1147, a Firecracker guest kernel): no distribution 6.18 package
# was reachable (Debian's archive has 6.12 and 7.x only).
_KCONFIG_6_18_DEV = {
    "CONFIG_SLUB": "y", "CONFIG_SLAB_FREELIST_RANDOM": "y", "CONFIG_X86_DIRECT_GBPAGES": "y",
    "CONFIG_RANDOMIZE_BASE": "y",
    "CONFIG_SLAB_FREELIST_HARDENED": "y", "CONFIG_SLUB_DEBUG": "y",
    "CONFIG_SLUB_CPU_PARTIAL": "y", "CONFIG_SLAB_BUCKETS": "y", "CONFIG_MEMCG": "y",
    "CONFIG_ZONE_DMA": "y", "CONFIG_ZONE_DMA32": "y", "CONFIG_NR_CPUS": "256",
    "CONFIG_TRANSPARENT_HUGEPAGE": "y", "CONFIG_TRANSPARENT_HUGEPAGE_MADVISE": "y",
    "CONFIG_DEFERRED_STRUCT_PAGE_INIT": "y", "CONFIG_PAGE_REPORTING": "y",
    "CONFIG_SHUFFLE_PAGE_ALLOCATOR": "y", "CONFIG_PCP_BATCH_SCALE_MAX": "5",
    "CONFIG_PAGE_BLOCK_MAX_ORDER": "10", "CONFIG_NUMA": "y", "CONFIG_ZSMALLOC": "y",
    "CONFIG_SWAP": "y", "CONFIG_MEMORY_BALLOON": "y", "CONFIG_HUGETLB_PAGE": "y",
    "CONFIG_PREEMPT_NONE": "y", "CONFIG_PREEMPT_DYNAMIC": "y",
    # not set: CMA, RANDOM_KMALLOC_CACHES, SLUB_DEBUG_ON, DEBUG_ATOMIC_SLEEP, KASAN,
    # HIGHMEM, MEMORY_FAILURE, UNACCEPTED_MEMORY, LOCKDEP
}
PROFILES["6.18", "x86_64"] = derive(
    PROFILES["6.12", "x86_64"], version="6.18",
    description="Linux 6.18 on x86_64 (config: a real 6.18.44 guest's /proc/config.gz)",
    kconfig=_KCONFIG_6_18_DEV,
    kconfig_source="/proc/config.gz of Linux 6.18.44-fc-v1147 (notebooks/data/machine-6.18)",
    thp_enabled="madvise",               # CONFIG_TRANSPARENT_HUGEPAGE_MADVISE=y
    order_warn_site="mm/page_alloc.c __alloc_frozen_pages_noprof()",  # line unverified
    zone_stat_names=ZONE_STATS_6_18 + NUMA_STATS, node_stat_names=NODE_STATS_6_18,
    meminfo_unaccepted=False, meminfo_balloon=True, zoneinfo_pcp_high_minmax=True,
    dump_stack_preempt_model="PREEMPT(none)",   # PREEMPT_DYNAMIC, booted as "none"
    # might_alloc moved two lines down: a 6.18.0-rc1 report (0-day CI 202510201616)
    # says "invalid context at include/linux/sched/mm.h:323" for a kmalloc
    might_sleep_sites={**_SITES_6_12, "page_alloc": ("include/linux/sched/mm.h", 323),
                       "slab": ("include/linux/sched/mm.h", 323)},
    slub_sheaves=True,
    sheaf_boot_caches=(("maple_node", 256, 256, 0, 32),
                       ("vm_area_struct", 192, 0, "SLAB_HWCACHE_ALIGN|SLAB_ACCOUNT", 32)),
)
# (A new kernel: one derive(...) entry here, above this line; see docs/ARCHITECTURE.md.)

# In version order, x86_64 first: 3.15 x86_64, 3.15 i386, 6.1, 6.12, ...
PROFILES = dict(sorted(PROFILES.items(), key=lambda kv: (
    tuple(int(n) for n in kv[0][0].split(".")), kv[0][1] != "x86_64")))

# The release that added / removed each CONFIG_* option kmemlab/kconfig.py declares
# (an option outside its lifetime is refused for that profile).
KCONFIG_LIFETIMES: dict[str, tuple[str | None, str | None]] = {
    "CONFIG_SLAB_FREELIST_RANDOM": ("4.7", None),
    "CONFIG_SLAB_FREELIST_HARDENED": ("4.14", None),
    "CONFIG_TRANSPARENT_HUGEPAGE_NEVER": ("6.8", None),
    "CONFIG_RANDOM_KMALLOC_CACHES": ("6.6", None),
    "CONFIG_KASAN": ("4.0", None),
    "CONFIG_SLAB": (None, "6.8"),
    "CONFIG_SLOB": (None, "6.4"),
    "CONFIG_UNACCEPTED_MEMORY": ("6.5", None),
}

DEFAULT_VERSION = "6.12"
DEFAULT_ARCH = "x86_64"
# The kernel of the source document the chapters follow (and compare with).
DOCUMENT_VERSION = "3.15"


def get_profile(version: str = DEFAULT_VERSION, arch: str = DEFAULT_ARCH) -> Profile:
    """The profile for ``version`` on ``arch``; ValueError listing the known ones."""
    if not isinstance(version, str) or not isinstance(arch, str):
        raise TypeError("version and arch are strings, e.g. version='6.12', arch='x86_64'")
    key = (version.strip(), arch.strip())
    if key[1] in ("x86", "i686", "x86_32"):
        key = (key[0], "i386")
    if key[1] in ("amd64", "x86-64"):
        key = (key[0], "x86_64")
    try:
        return PROFILES[key]
    except KeyError:
        known = ", ".join(f"version={v!r} arch={a!r}" for v, a in PROFILES)
        raise ValueError(f"no profile for Linux {version} on {arch}; known: {known}") from None


def known_profiles() -> list[str]:
    return [p.name for p in PROFILES.values()]


def by_version(version) -> Profile:
    """The first profile of ``version`` (a version string, or a Profile itself;
    None: the default profile)."""
    if isinstance(version, Profile):
        return version
    if version is None:
        return get_profile()
    for (v, _a), p in PROFILES.items():
        if v == version:
            return p
    raise ValueError(f"no profile for Linux {version}; known: "
                     f"{', '.join(sorted({v for v, _a in PROFILES}))}")


def versions() -> list[str]:
    """Every known version, in PROFILES order (the quiz schema's enum)."""
    return list(dict.fromkeys(v for v, _a in PROFILES))


def trace_layout(name: str) -> str | None:
    """The tracefs line layout ("classic"/"symbolic") for a version or alias."""
    aliases = {"3.x": "classic", "6.x": "symbolic"}
    if name in aliases:
        return aliases[name]
    try:
        return by_version(name).trace_layout
    except ValueError:
        return None


def register(profile: Profile) -> Profile:
    """Add ``profile`` to PROFILES and to the version-keyed tables older callers use
    (gfp.TABLES, slub.SLUB_RULES, slab_common.SLAB_FLAGS_BY_VERSION/SLAB_MERGE_SAME)."""
    from . import slub as _slub
    PROFILES[(profile.version, profile.arch)] = profile
    _gfp.TABLES.setdefault(profile.version, profile.gfp_table)
    _slub.SLUB_RULES.setdefault(profile.version, profile.slub_rules)
    _sc.SLAB_FLAGS_BY_VERSION.setdefault(profile.version, profile.slab_flag_names)
    _sc.SLAB_MERGE_SAME.setdefault(profile.version, profile.slab_merge_same)
    return profile


for _p in list(PROFILES.values()):
    register(_p)
