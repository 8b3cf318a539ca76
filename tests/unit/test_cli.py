"""The ``kmemlab`` command's core sub-commands."""

import subprocess
import sys

from kmemlab.cli import main


def test_buddyinfo_prints_the_simulated_file(capsys):
    assert main(["buddyinfo", "--version", "6.12", "--ram", "1G"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Node 0, zone      DMA      0")
    assert len(out.splitlines()) == 2  # DMA and DMA32 on a 1 GiB machine


def test_proc_and_dmesg(capsys):
    assert main(["proc", "zoneinfo", "--version", "3.15", "--arch", "i386", "--ram", "2G"]) == 0
    assert "zone  HighMem" in capsys.readouterr().out
    assert main(["dmesg", "--ram", "256M"]) == 0
    assert "Zone ranges:" in capsys.readouterr().out


def test_bad_arguments_exit_2_with_a_message(capsys):
    assert main(["buddyinfo", "--ram", "lots"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kmemlab: cannot parse ram 'lots'")
    assert main(["buddyinfo", "--version", "2.6"]) == 2
    assert "known:" in capsys.readouterr().err
    assert main(["proc", "cpuinfo"]) == 2


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "buddyinfo" in capsys.readouterr().out


def test_console_script_runs():
    exe = [sys.executable, "-m", "kmemlab.cli", "buddyinfo", "--ram", "256M"]
    r = subprocess.run(exe, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("Node 0, zone      DMA")


def test_python_dash_m_kmemlab_is_the_command():
    # `python -m kmemlab` is what a user without the console script on PATH types
    ok = subprocess.run([sys.executable, "-m", "kmemlab", "buddyinfo", "--ram", "256M"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("Node 0, zone      DMA")
    bad = subprocess.run([sys.executable, "-m", "kmemlab", "buddyinfo", "--ram", "nonsense"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip() and not bad.stdout
