"""What the chapters' stored outputs tell a student (issue 16: a walk through every
chapter). nbval proves the outputs are what the code prints today; these tests prove that
what is printed is right: against the kernel source, the real traces in notebooks/data/,
and the simulator's own documented values."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import kmemlab as km
from kmemlab.traceparse import ParseReport, iter_records

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TRACE_618 = NOTEBOOKS / "data" / "kmem-trace-6.18-2s.txt.gz"


def cells(name: str) -> list[tuple[str, str]]:
    """(source, all text output) of every cell of notebooks/<name>*.ipynb."""
    path = next(NOTEBOOKS.glob(f"{name}*.ipynb"))
    out = []
    for c in json.loads(path.read_text())["cells"]:
        text = ""
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream":
                text += "".join(o["text"])
            elif "data" in o:
                text += "".join(o["data"].get("text/plain", ""))
        out.append(("".join(c["source"]), text))
    return out


def output_of(name: str, needle: str) -> str:
    hits = [text for src, text in cells(name) if needle in src]
    assert len(hits) == 1, (name, needle, len(hits))
    return hits[0]


def test_ch00_failing_cell_shows_the_whole_warning():
    out = output_of("00", "huge = k.kmalloc(64 << 20")
    assert "------------[ cut here ]------------" in out
    assert re.search(r"WARNING: CPU: 0 PID: \d+ at mm/page_alloc.c:\d+", out)
    assert "---[ end trace" in out and "kmalloc returned None" in out


def test_ch00_double_free_as_a_stock_kernel_and_slub_debug_report_it():
    out = output_of("00", "# double free, twice in a row")
    assert "kernel BUG at mm/slub.c:550" in out           # Debian 6.12.118 set_freepointer
    assert "lines the second kfree(a) printed: 0" in out  # the silent case
    assert re.search(r"\(x == z: True\)", out)            # the same object handed out twice
    out = output_of("00", 'kd = km.Kernel(version="6.12", cmdline="slub_debug=F")')
    assert "BUG kmalloc-32 (Not tainted): Object already free" in out


def test_ch01_may_sleep_counts_come_from_the_shipped_trace():
    calls = {"may sleep": 0, "must not sleep": 0}
    report = ParseReport()
    k = km.Kernel(version="6.12")
    for rec in iter_records(TRACE_618, report, progress=False):
        if rec.event in ("kmalloc", "kmem_cache_alloc", "mm_page_alloc") and rec.gfp_flags:
            flags = km.gfp.parse(str(rec.gfp_flags))
            calls["may sleep" if k.gfpflags_allow_blocking(flags) else "must not sleep"] += 1
    assert report.malformed_count == 0 and report.records > 100_000
    out = output_of("01", 'iter_records("data/kmem-trace-6.18-2s.txt.gz"')
    assert f"records in the 6.18 trace (2 s): {report.records}" in out
    assert f"allocations in it: {calls}" in out
    # the text describes the file: records, allocations, 2 seconds of a 2-CPU 6.18
    text = next(src for src, _ in cells("01") if "kmem-trace-6.18-2s.txt.gz" in src
                and src.startswith("So is it true"))
    assert f"{report.records:,} records" in text and f"{sum(calls.values()):,} of them" in text
    head = "".join(line for _, line in zip(range(3), _open_text(TRACE_618)))
    assert f"entries-in-buffer/entries-written: {report.records}/{report.records}   #P:2" in head
    stamps = [rec.timestamp for rec in iter_records(TRACE_618, ParseReport(), progress=False)]
    assert 1.9 < max(stamps) - min(stamps) <= 2.0


def _open_text(path):
    import gzip
    with gzip.open(path, "rt") as f:
        yield from f


def test_ch01_errors_cell_no_longer_claims_the_stock_report():
    out = output_of("01", "def double_free(k):")
    assert "kernel 6.12, stock: no report;" in out and "dmesg lines printed (stock): 0" in out
    assert "slub_debug=F: kfree(" in out and "Object already free" in out


def test_ch02_vmalloc_range_of_i386_is_the_boot_time_one():
    out = output_of("02", "VMALLOC_START {kk.layout.VMALLOC_START")
    k = km.Kernel(version="3.15", arch="i386")
    # arch/x86/include/asm/pgtable_32_types.h: VMALLOC_START = high_memory + 8 MiB,
    # VMALLOC_END = PKMAP_BASE - 2 * PAGE_SIZE
    high_memory = k.profile.page_offset + k.max_low_pfn * k.PAGE_SIZE
    assert k.layout.VMALLOC_START == high_memory + (8 << 20) == 0xf7ffe000
    assert "3.15/i386    PAGE_OFFSET 0x00000000c0000000   VMALLOC_START 0x00000000f7ffe000   " \
           "VMALLOC_END 0x00000000ff7fe000" in out
    assert "VMALLOC_START 0x0000000000000000" not in out


@pytest.mark.parametrize("name", ["00", "01", "02", "03", "04", "05"])
def test_chapter_outputs_have_no_box_glyphs_and_clean_quiz_titles(name):
    for src, out in cells(name):
        assert "⌛" not in out and "⌛" not in src
        for title in re.findall(r"<h3>(.*?)</h3>", out):
            assert "— your-name" in title and not re.search(r"\S— ", title), title


def test_verdict_glyphs_are_in_the_default_font():
    from matplotlib import font_manager, ft2font
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        from exercises import ErrataBox as Errata
    finally:
        sys.path.remove(str(NOTEBOOKS))
    cmap = ft2font.FT2Font(font_manager.findfont("DejaVu Sans")).get_charmap()
    for _color, _bg, tag in Errata._TITLES.values():
        glyph = tag.split(" ")[0]
        assert all(ord(ch) in cmap for ch in glyph), tag


def test_ch01_kaslr_shift_is_read_from_the_real_trace():
    out = output_of("01", "KASLR shift")
    ptr = next(rec.ptr for rec in iter_records(NOTEBOOKS / "data" / "kmem-trace-6.12-sample.txt",
                                               ParseReport(), progress=False)
               if rec.event == "kmalloc")
    base = ptr & ~((1 << 30) - 1)
    assert f"{ptr:#x}" in out and f"{base:#x}" in out
    assert base != km.Kernel(version="6.12").profile.page_offset      # randomized
    assert f"KASLR shift: {(base - 0xffff888000000000) >> 30} GiB" in out


def test_ch01_layout_is_not_presented_as_a_boot_message():
    text = " ".join(src for src, _ in cells("01"))
    assert "as the kernel prints it at boot" not in text
    assert "virtual kernel memory layout" in text and "mem_init" in text


def test_ch04_logical_and_virtual_addresses():
    out = output_of("04", "minus PAGE_OFFSET")
    logical, virtual = out.strip().splitlines()
    m = re.search(r"kmalloc (0x[0-9a-f]+): logical;  minus PAGE_OFFSET = (0x[0-9a-f]+), "
                  r"virt_to_phys = (0x[0-9a-f]+), vmalloc address: False", logical)
    assert m and int(m[1], 16) - 0xffff888000000000 == int(m[2], 16) == int(m[3], 16)
    m = re.search(r"vmalloc (0x[0-9a-f]+): virtual;  minus PAGE_OFFSET = (0x[0-9a-f]+) "
                  r"\(not RAM!\), page tables say (0x[0-9a-f]+)", virtual)
    assert m and int(m[2], 16) != int(m[3], 16) and int(m[2], 16) > 1 << 40
    assert virtual.endswith("vmalloc address: True")


def test_ch04_vmalloc_in_atomic_context_and_kvmalloc():
    out = output_of("04", "k.vmalloc(64 << 10)")
    assert out.startswith("KernelBug: vmalloc() in interrupt context")
    out = output_of("04", "k.kvmalloc(size, gfp)")
    assert re.search(r"kvmalloc\(64 KiB, GFP_KERNEL\)\s+→ direct map \(kmalloc\)", out)
    assert re.search(r"kvmalloc\(16 MiB, GFP_KERNEL\)\s+→ vmalloc area", out)
    assert re.search(r"kvmalloc\(16 MiB, GFP_ATOMIC\) in hardirq\s+→ NULL", out)


def test_ch02_and_ch04_vmalloc_explorers_start_fragmented():
    for name in ("02", "04"):
        src = next(s for s, _ in cells(name) if "km.widgets.VmallocExplorer(" in s)
        assert "fragmented=True" in src, name


def test_ch05_builtin_bss_and_the_articles_code_bugs():
    out = output_of("05", 'r.name == "kernel image"')
    k = km.Kernel(version="6.12", ram="2G")
    start, size = next((s, n) for name, s, n in k.kernel_image if name == "Kernel bss")
    assert f".bss: phys {start:#x}, {size >> 20} MiB, inside the image: True" in out
    text = " ".join(src for src, _ in cells("05"))
    assert "(char *)__get_free_pages(GFP_KERNEL, order)" in text
    assert "free_pages((unsigned long)buff, order)" in text
    assert "alloc_bootmem_node(NODE_DATA(nid), size)" in text
    assert '"/n"' in text and 'on node %u\\n"' in text
