"""The twin of a real machine, built from the shipped snapshot of a real Linux 6.18 guest
(notebooks/data/machine-6.18, saved by `kmemlab snapshot` on the development machine) and,
where this machine is a readable Linux, from this machine.

The figures compared are the real kernel's own (/proc/zoneinfo, /sys/kernel/slab): the
twin must reproduce each zone's present/managed pages and, from the kernel's formulas,
its min/low/high/promo watermarks and protection, and the geometry of every cache the
model has.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import kmemlab as km
from kmemlab import cli, snapshot, twin

SNAP = Path(__file__).resolve().parents[2] / "notebooks" / "data" / "machine-6.18"


@pytest.fixture(scope="module")
def k():
    return km.Kernel.from_snapshot(SNAP)


def test_snapshot_is_a_real_618_machine():
    facts = snapshot.read_machine(SNAP)
    assert facts.release.startswith("6.18.")
    assert facts.version == (6, 18)
    assert facts.machine == "x86_64"
    assert facts.cpus == 2
    assert facts.config["CONFIG_SLUB"] == "y"
    assert facts.slab["maple_node"]["sheaf_capacity"] == 32
    assert facts.e820 and facts.e820[0] == (0, 0x9FC00, "usable")


def test_twin_zones_match_the_real_zoneinfo_exactly(k):
    rows = k.twin.compare_zones()
    fields = {(z, f) for z, f, _, _ in rows}
    # every populated zone, every watermark, the protection array, min_free_kbytes
    for zone in ("DMA", "DMA32", "Normal"):
        for f in ("present", "spanned", "managed", "min", "low", "high", "promo",
                  "protection"):
            assert (zone, f) in fields
    assert ("vm", "min_free_kbytes") in fields
    bad = [r for r in rows if r[2] != r[3]]
    assert not bad, k.twin.table(bad)


def test_twin_caches_match_the_real_sysfs(k):
    rows = k.twin.compare_caches()
    names = {r[0] for r in rows}
    assert {"kmalloc-8", "kmalloc-8k", "kmalloc-cg-192", "dma-kmalloc-96"} <= names
    bad = [r for r in rows if r[2] != r[3]]
    assert not bad, k.twin.table(bad)
    assert k.twin.agreement()["caches"][0] == len(rows)


def test_twin_says_what_it_cannot_match(k):
    text = "\n".join(k.twin.cannot_match)
    assert "deferred" in text            # this guest initialises struct pages lazily
    assert "free pages" in text
    assert "deferred_init=lazy" in text   # a command-line word the model ignores
    # the held-back pages are named memblock reservations, not a silent fudge
    names = {r.name for r in k.memblock.reservations_sorted()}
    assert any(n.startswith("twin:") for n in names)


def test_twin_honours_swiotlb_noforce():
    plain = km.Kernel(version="6.12", ram="8G", cpus=2)
    off = km.Kernel(version="6.12", ram="8G", cpus=2, cmdline="swiotlb=noforce")
    assert off.zones["DMA32"].managed - plain.zones["DMA32"].managed == (64 << 20) >> 12


def test_twin_without_dmesg_rebuilds_the_map_from_zoneinfo(tmp_path):
    d = tmp_path / "snap"
    shutil.copytree(SNAP, d)
    (d / "dmesg-mm").unlink()
    kk = km.Kernel.from_snapshot(d)
    assert any("rebuilt from /proc/zoneinfo" in n for n in kk.twin.notes)
    bad = [r for r in kk.twin.compare_zones() if r[2] != r[3]]
    assert not bad, kk.twin.table(bad)


def test_save_and_read_back(tmp_path):
    facts = snapshot.read_machine(SNAP)
    snapshot.save(tmp_path / "again", facts)
    back = snapshot.read_machine(tmp_path / "again")
    assert back.texts == facts.texts
    assert back.slab == facts.slab and back.slab_aliases == facts.slab_aliases
    assert back.config == facts.config
    assert back.dmesg == facts.dmesg


def _edit(tmp_path, rel, text):
    d = tmp_path / "snap"
    shutil.copytree(SNAP, d)
    if text is None:
        (d / rel).unlink()
    else:
        (d / rel).write_text(text)
    return d


@pytest.mark.parametrize("rel, text, message", [
    ("uname", "2.6.32 x86_64\n", "older than every x86_64 profile"),
    ("uname", "6.18.3 aarch64\n", "profiles for"),
    ("uname", "\n", "release machine"),
    ("MANIFEST", "hello\n", "not a kmemlab machine snapshot"),
    ("proc/zoneinfo", None, "no proc/zoneinfo"),
])
def test_unreadable_snapshots_say_why(tmp_path, rel, text, message):
    d = _edit(tmp_path, rel, text)
    with pytest.raises(snapshot.MachineUnreadable, match=message):
        km.Kernel.from_snapshot(d)


def test_a_newer_kernel_gets_the_newest_profile(tmp_path):
    d = _edit(tmp_path, "uname", "9.3.1 x86_64\n")
    kk = km.Kernel.from_snapshot(d)
    assert "newest kmemlab has" in kk.twin.notes[0]


def test_not_linux_is_a_clear_message(monkeypatch):
    class U:
        sysname, release, machine = "Darwin", "23.0.0", "arm64"
    monkeypatch.setattr(os, "uname", lambda: U)
    with pytest.raises(snapshot.MachineUnreadable, match="not Linux"):
        km.Kernel.from_this_machine()


def test_no_proc_is_a_clear_message(tmp_path):
    with pytest.raises(snapshot.MachineUnreadable, match="no /proc mounted"):
        snapshot.read_machine(root=str(tmp_path))


def test_cli_twin_and_snapshot(tmp_path, capsys):
    assert cli.main(["twin", "--snapshot", str(SNAP), "--caches"]) == 0
    out = capsys.readouterr().out
    assert "profile " in out and "zones: 25 of 25 figures equal" in out
    assert cli.main(["twin", "--snapshot", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kmemlab twin: ") and "Traceback" not in err
    f = tmp_path / "file"
    f.write_text("x")
    assert cli.main(["snapshot", str(f)]) == 2
    assert "not a directory" in capsys.readouterr().err


live = pytest.mark.skipif(not os.path.exists("/proc/zoneinfo"),
                          reason="this machine has no /proc/zoneinfo")


@live
@pytest.mark.fidelity
def test_twin_of_this_machine():
    try:
        kk = km.Kernel.from_this_machine()
    except snapshot.MachineUnreadable as exc:
        pytest.skip(str(exc))
    bad = [r for r in kk.twin.compare_zones() if r[2] != r[3]]
    assert not bad, kk.twin.table(bad)
    bad = [r for r in kk.twin.compare_caches() if r[2] != r[3]]
    assert not bad, kk.twin.table(bad)


@live
def test_snapshot_of_this_machine(tmp_path, capsys):
    assert cli.main(["snapshot", str(tmp_path / "me")]) == 0
    assert (tmp_path / "me" / "MANIFEST").read_text().startswith(snapshot.FORMAT)
    assert twin.from_snapshot(tmp_path / "me").twin.facts.release == os.uname().release


def test_layout_comparison():
    from kmemlab.twin import layout_differences
    real = "Node    0, zone   Normal, type      Movable >100000  74570 \nMemFree:   22493904 kB\n"
    ours = "Node    0, zone   Normal, type      Movable      12    512 \nMemFree:         10 kB\n"
    assert layout_differences(real, ours) == []
    assert layout_differences("count:    0\n", "count: 0\n")[0].startswith("spacing:")
    assert layout_differences("a 1\nb 2\n", "a 1\n") == ["only on the machine: 'b 2'"]
