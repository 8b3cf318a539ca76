"""Boot: zone spans per RAM size, reservations, min_free_kbytes, THP rule."""

import pytest

import kmemlab as km

PAGE = 4096


def spans(k):
    return {z.name: (z.zone_start_pfn, z.spanned, z.present) for z in k.zone_list if z.present}


@pytest.mark.parametrize("ram,expect", [
    # QEMU i440fx + SeaBIOS: usable 0x1000-0x9efff (after trimming page 0 and the
    # partial page) and 1 MiB..below_4g-128K; above 3.5 GiB the PCI hole.
    ("256M", {"DMA": (1, 4095, 3998), "DMA32": (4096, 0xFFE0 - 4096, 0xFFE0 - 4096)}),
    ("1G", {"DMA": (1, 4095, 3998), "DMA32": (4096, 0x3FFE0 - 4096, 0x3FFE0 - 4096)}),
    ("2G", {"DMA": (1, 4095, 3998), "DMA32": (4096, 0x7FFE0 - 4096, 0x7FFE0 - 4096)}),
    ("6G", {"DMA": (1, 4095, 3998), "DMA32": (4096, 0x100000 - 4096, 0xBFFE0 - 4096),
            "Normal": (0x100000, 0xC0000, 0xC0000)}),
])
def test_x86_64_zone_spans(ram, expect):
    for version in ("3.15", "6.1", "6.12"):
        assert spans(km.Kernel(version=version, ram=ram)) == expect


@pytest.mark.parametrize("ram,expect", [
    ("512M", {"DMA": (1, 4095, 3998), "Normal": (4096, 0x1FFE0 - 4096, 0x1FFE0 - 4096)}),
    ("2G", {"DMA": (1, 4095, 3998), "Normal": (4096, 0x377FE - 4096, 0x377FE - 4096),
            "HighMem": (0x377FE, 0x7FFE0 - 0x377FE, 0x7FFE0 - 0x377FE)}),
])
def test_i386_zone_spans(ram, expect):
    assert spans(km.Kernel(version="3.15", arch="i386", ram=ram)) == expect


def test_reserved_memory_never_reaches_the_buddy_allocator():
    for version, arch in (("6.12", "x86_64"), ("3.15", "x86_64"), ("3.15", "i386")):
        k = km.Kernel(version=version, arch=arch, ram="1G")
        for pfn, (order, _) in k.page_alloc.free_blocks.items():
            assert not k.memblock.is_reserved(pfn * PAGE, (1 << order) * PAGE), (version, pfn)
        names = " ".join(r.name for r in k.memblock.reservations)
        assert "kernel image" in names and "struct page" in names and "per-CPU" in names


def test_hand_over_blocks_are_naturally_aligned_and_managed_adds_up():
    k = km.Kernel(ram="2G")
    for pfn, (order, _) in k.page_alloc.free_blocks.items():
        assert pfn % (1 << order) == 0
    for z in k.zone_list:
        assert z.free_pages == z.managed
    free_bytes = sum(e - s for s, e in k.memblock.free_ranges())
    assert k.totalram_pages * PAGE == free_bytes


def test_first_mib_reserved_on_6x_not_on_315():
    k6 = km.Kernel(version="6.12", ram="1G")
    k3 = km.Kernel(version="3.15", ram="1G")
    assert k6.zones["DMA"].managed == 3840
    # 3.15 keeps 64 KiB, the EBDA/BIOS area and the trampoline reserved only
    assert 3840 < k3.zones["DMA"].managed < 3998


def test_memmap_is_one_64th_of_ram_on_x86_64():
    k = km.Kernel(ram="4G")
    memmap = [r for r in k.memblock.reservations if r.name.startswith("struct page")][0]
    sections = len({s for r in k.memblock.memory
                    for s in range(r.base >> 27, ((r.end - 1) >> 27) + 1)})
    assert memmap.size == sections * 2 * 1024 * 1024


@pytest.mark.parametrize("version,ram,thp,expected", [
    ("6.12", "1G", True, 2 * 512 * 11 * 4),   # DMA + DMA32 -> 45056 kB
    ("6.12", "6G", True, 3 * 512 * 11 * 4),   # + Normal -> 67584 kB
    ("6.12", "256M", False, None),            # THP off below 512 MiB
    ("3.15", "1G", True, 2 * 512 * 11 * 4),
])
def test_min_free_kbytes_with_thp(version, ram, thp, expected):
    k = km.Kernel(version=version, ram=ram)
    assert (k.thp_enabled != "never") == thp
    if expected is not None:
        assert k.min_free_kbytes == expected
    else:
        from kmemlab.page_alloc import int_sqrt
        lowmem_kb = sum(z.managed for z in k.zone_list) * 4
        assert k.min_free_kbytes == max(128, int_sqrt(lowmem_kb * 16))


def test_i386_has_no_thp_and_highmem_watermark_clamp():
    k = km.Kernel(version="3.15", arch="i386", ram="2G")
    assert k.thp_enabled == "never"
    hm = k.zones["HighMem"]
    assert hm.min == max(32, min(hm.managed // 1024, 128))


def test_movable_zone_min_is_32_on_612_only():
    assert km.Kernel(version="6.12", ram="1G").zones["Movable"].min == 32
    assert km.Kernel(version="6.1", ram="1G").zones["Movable"].min == 0


def test_315_migrate_reserve_blocks():
    k = km.Kernel(version="3.15", ram="1G")
    counts = {z.name: k.proc("pagetypeinfo") for z in k.zone_list}
    assert counts
    pa = k.page_alloc
    reserve = [pfn for pfn in range(0, k.max_pfn, 512) if pa.get_pageblock_migratetype(pfn)
               == pa.RESERVE]
    assert 1 <= len(reserve) <= 4  # at most 2 per zone


def test_mem_cmdline_limits_ram():
    k = km.Kernel(ram="2G", cmdline="mem=512M")
    assert k.totalram_pages * PAGE < 512 << 20
    with pytest.raises(ValueError):
        km.Kernel(ram="1G", cmdline="mem=1M")


def test_dmesg_boot_lines():
    k = km.Kernel(ram="1G")
    text = "\n".join(k.dmesg)
    assert "BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffff] usable" in text
    assert "  DMA32    [mem 0x0000000001000000-0x000000003ffdffff]" in text
    assert "  Normal   empty" in text
    assert "  node   0: [mem 0x0000000000001000-0x000000000009efff]" in text


def test_big_machine_boots():
    k = km.Kernel(ram="64G", cpus=8)
    assert k.zones["Normal"].managed > 15_000_000
    assert k.swiotlb is not None
