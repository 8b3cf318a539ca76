"""The process model: VMAs, brk/mmap, demand paging, overcommit, exit, aborts, /proc files."""

from __future__ import annotations

import re

import pytest

import kmemlab as km
from kmemlab.user import (
    MAP_ANONYMOUS,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    PROT_READ,
    MallocAbort,
    ProcessKilled,
)

PAGE = 4096
MAPS_LINE = re.compile(
    r"^(?P<start>[0-9a-f]{8,16})-(?P<end>[0-9a-f]{8,16}) (?P<perms>[r-][w-][x-][ps]) "
    r"(?P<off>[0-9a-f]{8,}) (?P<dev>[0-9a-f]{2,}:[0-9a-f]{2,}) (?P<ino>\d+) "
    r"(?P<rest>.*)$"
)


@pytest.fixture(scope="module")
def kernel():
    return km.Kernel(version="6.12", ram="1G")


def owned_pages(k, proc) -> int:
    tag = f"{proc.comm}[{proc.pid}]"
    return sum(1 << p.order for p in k.page_alloc.allocated.values() if p.detail == tag)


# ---------------------------------------------------------------- spawn and layout

def test_spawn_layout_is_a_non_randomised_x86_64_process(kernel):
    p = kernel.spawn("layout")
    assert p.start_brk == p.brk() == 0x555555559000
    names = [v.name for v in p.vmas]
    assert "[stack]" in names and "[vdso]" in names
    stack = next(v for v in p.vmas if v.name == "[stack]")
    assert (stack.start, stack.end) == (0x7FFFFFFDE000, 0x7FFFFFFFF000)
    assert p.mmap_base == 0x7FFFF7FFF000
    assert p.vmas[0].start == 0x555555554000
    # start-up pages (relocations, TLS, libc data, argv) are resident, nothing else
    assert 10 < p.rss_pages < 40
    assert p.vsz == p.total_vm * 4
    p.exit()


def test_i386_layout_and_highmem_user_pages():
    k = km.Kernel(version="3.15", arch="i386", ram="2G")
    p = k.spawn("app32")
    assert p.start_brk == 0x0804B000
    assert p.mmap_base == 0xB8000000
    stack = next(v for v in p.vmas if v.name == "[stack]")
    assert stack.end == 0xC0000000
    a = p.mmap(64 * PAGE)
    assert a < 0xB8000000
    p.touch(a, 64 * PAGE)
    zones = {pg.zone for pg in p._anon.values()}
    assert zones == {"HighMem"}
    text = k.proc(f"{p.pid}/maps")
    first = text.splitlines()[0]
    assert first.startswith("08048000-08049000 r-xp 00000000 ")
    assert first.index("/usr/bin/app32") == 49  # seq_setwidth(25 + 4*6 - 1) + 1
    with pytest.raises(ValueError, match="4.14"):
        k.proc(f"{p.pid}/smaps_rollup")
    p.exit()


# ---------------------------------------------------------------- demand paging

def test_demand_paging_shape(kernel):
    """mmap takes nothing; reads map the zero page; writes take one page each."""
    p = kernel.spawn("paging")
    n = 4096  # 16 MiB
    free0 = kernel.nr_free_pages(include_pcp=True)
    rss0, vsz0 = p.rss_pages, p.vsz
    a = p.mmap(n * PAGE)
    assert p.vsz - vsz0 == n * 4 and p.rss_pages == rss0
    assert kernel.nr_free_pages(include_pcp=True) == free0
    assert p.touch(a, n * PAGE, write=False) == n
    assert p.rss_pages == rss0 and p.zero_page_ptes == n
    pt_after_read = p.pgtables_bytes
    assert pt_after_read >= 8 * PAGE  # one PTE page per 2 MiB
    for i in range(0, n, 16):
        p.touch(a + i * PAGE, 1)
    assert p.rss_pages - rss0 == n // 16
    p.touch(a, n * PAGE)
    assert p.rss_pages - rss0 == n
    assert p.touch(a, n * PAGE) == 0  # all resident now: no more faults
    faults = [e for e in p.fault_events() if a <= e.args[0] < a + n * PAGE]
    assert faults[0].why.startswith("read of")
    assert "wp_page_copy" in faults[n].why  # the write after a read replaces the zero page
    gfp = [e for e in kernel.trace if e.name == "mm_page_alloc"][-1]
    assert "GFP_HIGHUSER_MOVABLE" in kernel.gfp_str(gfp.fields["gfp_flags"])
    p.munmap(a, n * PAGE)
    assert p.rss_pages == rss0 and p.vsz == vsz0
    p.exit()


def test_map_populate_and_madvise(kernel):
    p = kernel.spawn("populate")
    r0 = p.rss_pages
    a = p.mmap(32 * PAGE, PROT_READ | km.user.PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
               MAP_POPULATE)
    assert p.rss_pages - r0 == 32
    assert p.madvise(a + 8 * PAGE, 8 * PAGE) == 0
    assert p.rss_pages - r0 == 24
    assert p.find_vma(a + 9 * PAGE) is not None  # the mapping stays
    p.exit()


def test_munmap_splits_a_vma_and_mremap_moves_pages(kernel):
    p = kernel.spawn("split")
    a = p.mmap(10 * PAGE)
    p.touch(a, 10 * PAGE)
    n0 = len(p.vmas)
    p.munmap(a + 4 * PAGE, 2 * PAGE)
    assert len(p.vmas) == n0 + 1
    assert p.find_vma(a + 4 * PAGE) is None
    r = p.rss_pages
    b = p.mmap(4 * PAGE)
    p.touch(b, 4 * PAGE)
    pfns = [p._anon[(b >> 12) + i].pfn for i in range(4)]
    c = p.mremap(b, 4 * PAGE, 400 * PAGE)
    assert c is not None and c != b
    assert [p._anon[(c >> 12) + i].pfn for i in range(4)] == pfns  # same pages, moved
    assert p.rss_pages == r + 4
    p.exit()


def test_touch_outside_a_mapping_is_sigsegv(kernel):
    free0 = kernel.nr_free_pages(include_pcp=True)
    p = kernel.spawn("segv")
    with pytest.raises(ProcessKilled) as e:
        p.touch(0x1000, 1)
    assert e.value.signal == "SIGSEGV"
    assert not p.alive and p.term_signal == "SIGSEGV"
    assert re.search(r"segv\[\d+\]: segfault at 1000 ip [0-9a-f]{16} sp [0-9a-f]{16} error 6",
                     kernel.dmesg[-1])
    assert kernel.nr_free_pages(include_pcp=True) == free0
    with pytest.raises(ValueError, match="has ended"):
        p.malloc(1)


def test_write_to_a_read_only_mapping_is_sigsegv(kernel):
    p = kernel.spawn("ro")
    a = p.mmap(PAGE, PROT_READ)
    p.touch(a, 1, write=False)
    with pytest.raises(ProcessKilled):
        p.touch(a, 1, write=True)


# ---------------------------------------------------------------- malloc on the process

def test_malloc_grows_the_heap_with_brk_and_faults_only_header_pages(kernel):
    p = kernel.spawn("heap")
    r0 = p.rss_pages
    a = p.malloc(100)
    assert a == p.start_brk + 0x2A0
    assert p.brk() - p.start_brk == 0x21000  # round_up(656 + 128 KiB + 32)
    heap = p.find_vma(p.start_brk)
    assert (heap.start, heap.end) == (p.start_brk, p.brk())
    assert p.rss_pages - r0 == 1  # tcache struct + chunk header + top header: one page
    b = p.malloc(200_000)  # mmapped chunk: only its first page is written
    assert p.rss_pages - r0 == 2
    assert p.find_vma(b).start == b - 16
    c = p.malloc(100_000)  # from top: the new top's header lands ~24 pages further
    assert p.rss_pages - r0 == 3
    p.free(c)
    assert p.rss_pages - r0 == 3
    p.calloc(1, 50_000)  # memset of reused top memory: 13 pages, 1 already resident
    assert p.rss_pages - r0 == 15
    p.free(b)
    assert p.rss_pages - r0 == 14  # munmap gave the page back
    maps = kernel.proc(f"{p.pid}/maps")
    assert "[heap]" in maps
    whys = [e.why for e in p.events]
    assert any(w.startswith("brk(") for w in whys)
    assert any("glibc malloc writes a chunk header" in w for w in whys)
    p.exit()


def test_heap_shrinks_with_trim_and_pages_go_back(kernel):
    p = kernel.spawn("trim")
    ptrs = [p.malloc(60_000) for _ in range(20)]
    for q in ptrs:
        p.touch(q, 60_000)
    high = p.rss_pages
    brk_high = p.brk()
    for q in reversed(ptrs):
        p.free(q)
    assert p.brk() < brk_high  # systrim: negative sbrk
    assert p.rss_pages < high - 200
    p.exit()


def test_realloc_of_an_mmapped_block_uses_mremap(kernel):
    p = kernel.spawn("remap")
    a = p.malloc(1 << 20)
    p.touch(a, 1 << 20)
    r = p.rss_pages
    b = p.realloc(a, 4 << 20)
    assert b is not None
    assert p.rss_pages == r  # pages moved with the mapping, nothing copied
    assert any(e.call == "mremap" for e in p.events)
    p.exit()


def test_glibc_tunables_from_env(kernel):
    p = kernel.spawn("tun", env={"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"})
    a = p.malloc(24)
    p.free(a)
    assert p.bins()["tcache"] == {}
    assert p.bins()["fastbins"]
    p.exit()


def test_abort_ends_the_process_and_leaves_the_kernel_unharmed(kernel):
    free0 = kernel.nr_free_pages(include_pcp=True)
    committed0 = kernel.committed_as_pages
    p = kernel.spawn("dfree")
    a = p.malloc(24)
    p.malloc(1 << 20)
    p.free(a)
    with pytest.raises(MallocAbort, match=r"free\(\): double free detected in tcache 2"):
        p.free(a)
    assert not p.alive and p.term_signal == "SIGABRT"
    assert p.stderr == ["free(): double free detected in tcache 2"]
    assert kernel.nr_free_pages(include_pcp=True) == free0
    assert owned_pages(kernel, p) == 0
    assert kernel.committed_as_pages == committed0
    assert kernel.find_process(p.pid) is None
    with pytest.raises(ValueError, match="No such|does not exist"):
        kernel.proc(f"{p.pid}/maps")
    x = kernel.kmalloc(100, km.GFP_KERNEL)  # the kernel goes on
    assert x is not None
    kernel.kfree(x)


def test_exit_frees_every_page(kernel):
    free0 = kernel.nr_free_pages(include_pcp=True)
    p = kernel.spawn("exiter")
    ptrs = [p.malloc(s) for s in (10, 100, 1000, 10_000, 100_000, 1_000_000)]
    for q in ptrs:
        p.touch(q, 5000)
    a = p.mmap(300 * PAGE)
    p.touch(a, 300 * PAGE, write=False)
    p.touch(a, 100 * PAGE)
    assert kernel.nr_free_pages(include_pcp=True) < free0 - 100
    p.exit(3)
    assert p.exit_code == 3
    assert kernel.nr_free_pages(include_pcp=True) == free0
    assert owned_pages(kernel, p) == 0


# ---------------------------------------------------------------- overcommit

def test_overcommit_never_refuses_past_commit_limit():
    k = km.Kernel(version="6.12", ram="256M")
    k.vm_sysctl["overcommit_memory"] = 2
    p = k.spawn("strict")
    limit = k.vm_commit_limit()
    assert limit == k.totalram_pages * 50 // 100
    room = limit - k.committed_as_pages
    assert p.mmap((room + 10) * PAGE) is None
    assert p.errno == 12
    assert "not enough memory for the allocation" in k.dmesg[-1]
    a = p.mmap((room // 2) * PAGE)
    assert a is not None
    assert "Committed_AS" in k.proc("meminfo")
    # MAP_NORESERVE does not help in mode 2 ...
    assert p.mmap(room * PAGE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE) is None
    # ... and brk is charged too
    old = p.brk()
    assert p.brk(old + room * PAGE) == old
    assert p.malloc(room * PAGE) is None  # malloc sees mmap and sbrk fail: NULL
    k.vm_sysctl["overcommit_ratio"] = 100
    assert p.mmap((room // 2) * PAGE) is not None
    p.exit()


def test_overcommit_guess_refuses_only_more_than_ram():
    k = km.Kernel(version="6.12", ram="256M")
    p = k.spawn("guess")
    assert p.mmap(k.totalram_pages * PAGE + PAGE) is None
    a = p.mmap(k.totalram_pages * PAGE)
    b = p.mmap(k.totalram_pages * PAGE)  # each request alone fits: both succeed
    assert a and b
    assert p.mmap(1 << 40, flags="MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE") is not None
    p.exit()


def test_overcommit_always_never_refuses():
    k = km.Kernel(version="6.12", ram="256M")
    k.vm_sysctl["overcommit_memory"] = 1
    p = k.spawn("always")
    assert p.mmap(1 << 40) is not None
    p.exit()
    assert k.committed_as_pages == 0


def test_overcommit_guess_in_3_15_uses_the_free_memory_heuristic():
    k = km.Kernel(version="3.15", ram="256M")
    p = k.spawn("old")
    free = k.nr_free_pages()
    assert p.mmap(free * PAGE) is None  # less than RAM, but more than free - reserves
    assert p.mmap(free // 2 * PAGE) is not None
    p.exit()


def test_oom_killer_kills_a_process_that_touches_too_much():
    k = km.Kernel(version="6.12", ram="128M")
    k.vm_sysctl["overcommit_memory"] = 1
    free0 = k.nr_free_pages(include_pcp=True)
    p = k.spawn("hog")
    assert p in k.oom_candidates
    a = p.mmap(256 << 20)
    with pytest.raises(ProcessKilled) as e:
        p.touch(a, 256 << 20)
    assert e.value.signal == "SIGKILL"
    assert p.oom_killed and not p.alive
    assert any("Killed process" in line and "(hog)" in line for line in k.dmesg)
    assert p not in k.oom_candidates
    k.drain_all_pages()
    assert k.nr_free_pages(include_pcp=True) == free0


def test_oom_score_and_kill(kernel):
    p = kernel.spawn("score")
    a = p.mmap(1000 * PAGE)
    p.touch(a, 1000 * PAGE)
    assert p.oom_badness() == p.rss_pages + p.pgtables_bytes // PAGE
    assert kernel.proc(f"{p.pid}/oom_score") == f"{p.oom_score}\n"
    p.kill("SIGTERM")
    assert p.term_signal == "SIGTERM" and not p.alive
    with pytest.raises(ValueError):
        kernel.spawn("x").kill("SIGWHAT")


# ---------------------------------------------------------------- /proc formats

def test_maps_format(kernel):
    p = kernel.spawn("fmt")
    p.malloc(10)
    p.mmap(5 * PAGE)
    text = kernel.proc(f"{p.pid}/maps")
    assert text.endswith("\n")
    lines = text.splitlines()
    prev_end = 0
    for line in lines:
        m = MAPS_LINE.match(line)
        assert m, line
        start, end = int(m["start"], 16), int(m["end"], 16)
        assert start < end and start >= prev_end
        prev_end = end
        if m["rest"].strip():
            assert line.index(m["rest"].strip()) == 73  # seq_setwidth(25 + 8*6 - 1) + 1
        else:
            assert line.endswith(" 0 ")  # anonymous: header only, with its trailing space
    assert any(line.endswith("[heap]") for line in lines)
    assert lines[-1].endswith("[vsyscall]") and lines[-1].startswith("ffffffffff600000-")
    p.exit()


def test_maps_lines_have_the_structure_of_this_machines(kernel):
    try:
        real = open("/proc/self/maps").read().splitlines()
    except OSError:
        pytest.skip("no /proc/self/maps here")
    p = kernel.spawn("cmp")
    p.malloc(10)
    model = kernel.proc(f"{p.pid}/maps").splitlines()
    for lines in (real, model):
        for line in lines:
            m = MAPS_LINE.match(line)
            assert m, line
            name = m["rest"].strip()
            if name and len(line) - len(name) - 1 <= 73:
                assert line[72] == " " and line[73:] == name
            if not name:
                assert line.endswith(" ")
    real_names = {MAPS_LINE.match(x)["rest"].strip() for x in real}
    model_names = {MAPS_LINE.match(x)["rest"].strip() for x in model}
    assert {"[heap]", "[stack]", "[vdso]", "[vvar]"} <= model_names
    assert "[stack]" in real_names
    p.exit()


def test_smaps_rollup_format(kernel):
    p = kernel.spawn("roll")
    p.malloc(100)
    text = kernel.proc(f"{p.pid}/smaps_rollup")
    lines = text.splitlines()
    assert lines[0].startswith("555555554000-7ffffffff000 ---p 00000000 00:00 0 ")
    assert lines[0][73:] == "[rollup]"
    fields = dict(re.match(r"^(\w+):\s+(\d+) kB$", x).groups() for x in lines[1:])
    assert int(fields["Rss"]) == p.rss == int(fields["Anonymous"])
    for x in lines[1:]:
        assert len(x) == 27  # 16-wide label + 8-wide value + " kB" (Private_Hugetlb: 17 + 7)
    try:
        real = open("/proc/self/smaps_rollup").read().splitlines()
    except OSError:
        return
    real_names = [x.split(":")[0] for x in real[1:]]
    model_names = [x.split(":")[0] for x in lines[1:]]
    if "KSM" in real_names and "AnonHugePteMap" not in real_names:
        assert model_names == real_names  # 6.6+ field list, like the 6.12 profile
    p.exit()


def test_statm_and_meminfo(kernel):
    p = kernel.spawn("statm")
    size, res, shared, text, lib, data, dt = map(int, kernel.proc(f"{p.pid}/statm").split())
    assert (size, res, shared, lib, dt) == (p.total_vm, p.rss_pages, 0, 0, 0)
    assert text == 1 and data > 0
    mi = kernel.proc("meminfo")
    committed = int(re.search(r"Committed_AS:\s+(\d+) kB", mi).group(1))
    assert committed == kernel.committed_as_pages * 4
    p.exit()


# ---------------------------------------------------------------- misuse

def test_misuse_raises_python_errors(kernel):
    p = kernel.spawn("misuse")
    with pytest.raises(ValueError):
        p.mmap(0)
    with pytest.raises(ValueError, match="only anonymous"):
        p.mmap(PAGE, flags="MAP_PRIVATE")
    with pytest.raises(ValueError, match="unknown"):
        p.mmap(PAGE, prot="PROT_SHINY")
    with pytest.raises(ValueError):
        p.munmap(0x1001, PAGE)
    with pytest.raises(TypeError):
        p.touch("here", 1)
    with pytest.raises(ValueError):
        kernel.spawn("a/b")
    with pytest.raises(TypeError):
        kernel.spawn("x", env={"A": 1})
    assert p.alive
    p.exit()


def test_snapshot_restore_keeps_processes(kernel):
    k = km.Kernel(version="6.12", ram="256M")
    p = k.spawn("snap")
    a = p.malloc(100)
    snap = k.snapshot()
    p.free(a)
    p.exit()
    k.restore(snap)
    q = k.find_process(p.pid)
    assert q is not None and q.alive
    q.free(a)
    b = q.malloc(100)
    assert b == a
    q.exit()
