"""Fixes from the chapter walk-through (issue 16) that live in the core and the CLI.

Each test checks what a student sees against the kernel source it models (cited) or
against this machine (a real Linux 6.x)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import kmemlab as km
from kmemlab.cli import main
from kmemlab.kernel import KNOWN_BOOT_PARAMS, unknown_bootoptions
from kmemlab.plot._style import fmt_bytes

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ kmemlab --version
def test_version_is_the_programs_own(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"kmemlab {km.__version__}"
    # the sub-commands' --version still picks a kernel profile
    assert main(["buddyinfo", "--version", "3.15", "--ram", "256M"]) == 0


def test_version_from_the_console_script():
    r = subprocess.run([sys.executable, "-m", "kmemlab.cli", "--version"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == f"kmemlab {km.__version__}"


# ------------------------------------------------------------------ proc kmemleak
def test_proc_kmemleak_when_off_is_a_missing_file_like_cat(capsys):
    # like `cat /sys/kernel/debug/kmemleak` on a kernel without kmemleak: ENOENT, exit 1
    assert main(["proc", "kmemleak"]) == 1
    cap = capsys.readouterr()
    assert cap.out == ""
    assert cap.err.strip() == ("kmemlab proc: /sys/kernel/debug/kmemleak: "
                               "No such file or directory")
    with pytest.raises(FileNotFoundError):
        km.Kernel().proc("kmemleak")
    assert main(["proc", "kmemleak", "--cmdline", "kmemleak=on"]) == 0


def test_this_machine_has_no_kmemleak_file_either():
    # a stock Debian kernel: CONFIG_DEBUG_KMEMLEAK is not set
    if not Path("/proc/config.gz").exists():
        pytest.skip("no /proc/config.gz")
    import gzip
    cfg = gzip.decompress(Path("/proc/config.gz").read_bytes()).decode().splitlines()
    if "# CONFIG_DEBUG_KMEMLEAK is not set" in cfg:
        assert not Path("/sys/kernel/debug/kmemleak").exists()


# ------------------------------------------------------------------ unknown parameters
def test_unknown_boot_parameters_are_printed_on_6x_like_init_main():
    # init/main.c (6.12.118 line 855): argv words (no '=') first, then envp (name=value);
    # module parameters (with a '.') and known ones are not listed
    cmd = "quiet splash BOOT_IMAGE=/boot/vmlinuz foo.bar=1 cma=16M kmemleak=on nosuch"
    k = km.Kernel(version="6.12", cmdline=cmd)
    lines = [ln for ln in k.dmesg if "Unknown kernel command line" in ln]
    assert len(lines) == 1
    # Debian's 6.12 has no CONFIG_CMA: cma= is nobody's parameter there
    assert lines[0].endswith('Unknown kernel command line parameters "splash nosuch '
                             'BOOT_IMAGE=/boot/vmlinuz cma=16M", will be passed to user space.')
    k = km.Kernel(version="6.12", cmdline=cmd, config={"CONFIG_CMA": "y"})
    lines = [ln for ln in k.dmesg if "Unknown kernel command line" in ln]
    assert lines[0].endswith('"splash nosuch BOOT_IMAGE=/boot/vmlinuz", will be passed to '
                             'user space.')
    assert any("Unknown kernel command line" in ln
               for ln in km.Kernel(version="6.1", cmdline="nosuch").dmesg)
    # 3.15 has no print_unknown_bootoptions (added in 5.5): silent
    assert not any("Unknown" in ln for ln in km.Kernel(version="3.15", cmdline="nosuch").dmesg)
    assert not any("Unknown" in ln for ln in km.Kernel(version="6.12", cmdline="mem=512M").dmesg)


def test_vmalloc_parameter_is_known_only_on_32_bit():
    assert unknown_bootoptions("vmalloc=300M", KNOWN_BOOT_PARAMS, is_64bit=True) == \
        ["vmalloc=300M"]
    assert unknown_bootoptions("vmalloc=300M", KNOWN_BOOT_PARAMS, is_64bit=False) == []
    assert unknown_bootoptions("a -- b c=1", KNOWN_BOOT_PARAMS, is_64bit=True) == ["a"]


def test_learner_early_params_are_known():
    def handler(k, value):
        k.printk(f"pf_buf_len: {value}")
    k = km.Kernel(version="6.12", cmdline="pf_buf_len=1M",
                  early_params={"pf_buf_len": handler})
    assert not any("Unknown" in ln for ln in k.dmesg)


# ------------------------------------------------------------------ <IRQ> stacks
@pytest.mark.parametrize("ctx, tail", [("hardirq", "asm_common_interrupt"),
                                        ("softirq", "asm_sysvec_apic_timer_interrupt")])
def test_interrupt_reports_show_the_irq_stack(ctx, tail):
    # arch/x86/kernel/dumpstack.c: show_trace_log_lvl prints the stack type of each part
    k = km.Kernel(version="6.12")
    with k.context(ctx), pytest.raises(km.KernelBug):
        k.kmalloc(64, km.GFP_KERNEL)
    text = "\n".join(k.dmesg)
    trace = re.search(r"Call Trace:\n(.*?)kmemlab: why", text, re.S).group(1)
    marks = [m.split("] ")[1].strip() for m in trace.splitlines()
             if m.split("] ")[1].strip() in ("<IRQ>", "</IRQ>", "<TASK>", "</TASK>")]
    assert marks == ["<IRQ>", "</IRQ>", "<TASK>", "</TASK>"]
    assert tail in trace


def test_process_context_report_has_only_the_task_stack():
    k = km.Kernel(version="6.12")
    with k.spin_lock("dev->lock"), pytest.raises(km.KernelBug):
        k.kmalloc(64, km.GFP_KERNEL)
    text = "\n".join(k.dmesg)
    assert " <TASK>" in text and "<IRQ>" not in text


def test_315_marks_the_irq_stack_its_way():
    k = km.Kernel(version="3.15")
    with k.context("hardirq"), pytest.raises(km.KernelBug):
        k.kmalloc(64, km.GFP_KERNEL)
    text = "\n".join(k.dmesg)
    assert " <IRQ> " in text and " <EOI> " in text and "<TASK>" not in text


def test_double_free_in_an_interrupt_shows_the_irq_stack():
    k = km.Kernel(version="6.12")
    p = k.kmalloc(64, km.GFP_KERNEL)
    k.kfree(p)
    with k.context("hardirq"), pytest.raises(km.KernelBug) as exc:
        k.kfree(p)
    assert " <IRQ>" in exc.value.report


# ------------------------------------------------------------------ GFP in prose
def test_315_vmalloc_step_names_highmem_and_the_trace_keeps_the_kernel_format():
    k = km.Kernel(version="3.15")
    k.vmalloc(5 * k.PAGE_SIZE)
    assert k.vmalloc_steps[0].text.endswith("gfp GFP_KERNEL|__GFP_HIGHMEM")
    # include/trace/events/gfpflags.h in 3.15 has no __GFP_HIGHMEM entry: the raw bit
    assert k.profile.gfp.show(k.gfp_value("GFP_KERNEL|__GFP_HIGHMEM")) == "GFP_KERNEL|0x2"
    assert k.profile.gfp.spell(k.gfp_value("GFP_KERNEL")) == "GFP_KERNEL"


# ------------------------------------------------------------------ kvmalloc
def test_kvmalloc_tries_kmalloc_then_vmalloc_but_never_in_atomic_context():
    # mm/util.c: __kvmalloc_node_noprof (6.12.118) / kvmalloc_node (6.1.192)
    k = km.Kernel(version="6.12")
    small = k.kvmalloc(64 << 10)
    assert small is not None and not k.is_vmalloc_addr(small)
    n = len(k.dmesg)
    big = k.kvmalloc(16 << 20)                   # order 12: kmalloc fails quietly
    assert big is not None and k.is_vmalloc_addr(big)
    assert k.dmesg[n:] == []                     # __GFP_NOWARN on the kmalloc attempt
    with k.context("hardirq"):
        assert k.kvmalloc(16 << 20, km.GFP_ATOMIC) is None
        tiny = k.kvmalloc(100, km.GFP_ATOMIC)
    assert tiny is not None
    before = k.nr_free_pages(include_pcp=True)
    for p in (small, big, tiny):
        k.kvfree(p)
    assert k.nr_free_pages(include_pcp=True) > before
    with pytest.raises(ValueError, match="4.12"):
        km.Kernel(version="3.15").kvmalloc(100)


# ------------------------------------------------------------------ sizes as the kernel
def test_sizes_are_truncated_like_the_kernel_prints_them():
    k = km.Kernel(version="3.15", arch="i386", ram="4G")
    lowmem = k.max_low_pfn * k.PAGE_SIZE
    # mem_init's "lowmem : ... (%4ld MB)" is (high_memory - PAGE_OFFSET) >> 20
    assert fmt_bytes(lowmem) == f"{lowmem >> 20} MiB" == "887 MiB"
    assert f"({lowmem >> 20:6d} MB)" in str(k.layout)
    assert fmt_bytes(1536) == "1.5 KiB" and fmt_bytes(4 << 20) == "4 MiB"


# ------------------------------------------------------------------ the repository's data
def test_tests_and_docs_use_only_the_repositorys_own_files():
    outside = re.compile(r"\.\./" + "shared|" + re.escape('"shared" / "samples"'))
    bad = []
    for path in list((REPO / "tests").rglob("*.py")) + list((REPO / "tests").rglob("*.md")):
        if path == Path(__file__):
            continue
        if outside.search(path.read_text(encoding="utf-8", errors="replace")):
            bad.append(str(path.relative_to(REPO)))
    assert bad == [], bad
    assert (REPO / "notebooks" / "data" / "kmem-trace-6.12-sample.txt").exists()
