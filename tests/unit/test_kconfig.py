"""Kconfig as data (issue 17): Kernel(config=...) from a mapping or a real config file;
the Debian profiles default to what Debian's kernels ship; options the model cannot
honour are refused."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

import kmemlab as km
from kmemlab import kconfig

DATA = Path(__file__).resolve().parent.parent / "data"
DEBIAN = {"6.1": DATA / "config-6.1.0-57-amd64.gz",
          "6.12": DATA / "config-6.12.117+deb13-amd64.gz"}


@pytest.mark.parametrize("version", sorted(DEBIAN))
def test_debian_profile_defaults_are_the_debian_config(version):
    """The profile's kconfig is what boot/config-* of Debian's linux-image says."""
    real = kconfig.read(DEBIAN[version])
    prof = km.get_profile(version)
    for name in kconfig.OPTIONS:
        assert prof.kconfig.get(name) == real.get(name), name
    assert real["CONFIG_CMA"] is None and real["CONFIG_KASAN"] is None
    assert "Debian" in prof.kconfig_source


@pytest.mark.parametrize("version", sorted(DEBIAN))
def test_debian_kernel_without_cma_prints_no_cma(version):
    k = km.Kernel(version=version, ram="1G", cmdline="cma=64M")
    assert k.config["CONFIG_CMA"] is None
    assert "Cma" not in k.proc("meminfo")
    assert " CMA " not in k.proc("pagetypeinfo")
    assert "      Isolate" in k.proc("pagetypeinfo")
    assert 'Unknown kernel command line parameters "cma=64M"' in "\n".join(k.dmesg)
    assert k.cma_areas == []
    before = k.state_digest()
    with pytest.raises(ValueError, match=r"cma_alloc\(\) does not exist .*CONFIG_CMA"):
        k.cma_alloc(16)
    with pytest.raises(ValueError, match=r"cma_release\(\) does not exist"):
        k.cma_release(0, 1)
    assert k.state_digest() == before


def test_config_cma_y_brings_cma_back():
    k = km.Kernel(version="6.12", ram="1G", cmdline="cma=64M", config={"CONFIG_CMA": "y"})
    info = k.proc("meminfo")
    assert "CmaTotal:          65536 kB" in info and "CmaFree:" in info
    assert "type          CMA" in k.proc("pagetypeinfo")
    assert k.cma_alloc(16) is not None


def test_a_real_config_file_from_this_machine_or_a_shipped_debian_one(tmp_path):
    """Kernel(config=path) on a real file: /proc/config.gz or /boot/config-* when there,
    else the shipped Debian config, gzip and plain."""
    real = [p for p in ("/proc/config.gz", f"/boot/config-{os.uname().release}")
            if os.path.exists(p)]
    plain = tmp_path / "config"
    plain.write_bytes(gzip.decompress(DEBIAN["6.12"].read_bytes()))
    for path in real + [str(DEBIAN["6.12"]), plain]:
        k = km.Kernel(version="6.12", ram="512M", config=path)
        parsed = kconfig.read(path)
        for name in ("CONFIG_CMA", "CONFIG_MEMCG", "CONFIG_SLAB_FREELIST_RANDOM"):
            assert k.config[name] == parsed.get(name), (path, name)
        # a real config file is complete: no lab-only debug options
        assert k.kconfig["CONFIG_DEBUG_ATOMIC_SLEEP"] == (
            parsed.get("CONFIG_DEBUG_ATOMIC_SLEEP") == "y")


def test_memcg_off_drops_the_kmalloc_cg_caches():
    on = km.Kernel(version="6.12", ram="512M")
    off = km.Kernel(version="6.12", ram="512M", config={"CONFIG_MEMCG": "n"})
    assert "kmalloc-cg-64" in on.slab_caches and "kmalloc-cg-64" not in off.slab_caches
    p = off.kmalloc(64, "GFP_KERNEL_ACCOUNT")
    assert off.ksize(p) == 64


def test_thp_mode_and_freelist_random_follow_the_config():
    k = km.Kernel(version="6.12", ram="512M",
                  config={"CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS": None,
                          "CONFIG_TRANSPARENT_HUGEPAGE_MADVISE": "y",
                          "CONFIG_SLAB_FREELIST_RANDOM": False})
    assert k.profile.thp_enabled == "madvise" and k.profile.slab_freelist_random is False
    off = km.Kernel(version="6.12", ram="512M", config={"CONFIG_TRANSPARENT_HUGEPAGE": "n"})
    assert off.profile.thp_supported is False


def test_unknown_options_are_ignored_and_k_config_shows_the_resolved_ones():
    k = km.Kernel(version="6.1", ram="512M", config={"CONFIG_SOUND": "m", "CMA": "y"})
    assert "CONFIG_SOUND" not in k.config and k.config["CONFIG_CMA"] == "y"
    assert list(k.config) == sorted(kconfig.OPTIONS)


@pytest.mark.parametrize("version,config,match", [
    ("6.12", {"CONFIG_SLAB": "y"}, "removed in Linux 6.8"),
    ("6.1", {"CONFIG_SLAB": "y"}, "models SLUB only"),
    ("6.12", {"CONFIG_SLUB": None}, "SLUB"),
    ("6.12", {"CONFIG_RANDOM_KMALLOC_CACHES": "y"}, "kmalloc-rnd"),
    ("6.1", {"CONFIG_RANDOM_KMALLOC_CACHES": "y"}, "added in 6.6"),
    ("3.15", {"CONFIG_SLAB_FREELIST_RANDOM": "y"}, "added in 4.7"),
    ("6.12", {"CONFIG_ZONE_DMA": "n"}, "ZONE_DMA"),
    ("6.12", {"CONFIG_HIGHMEM": "y"}, "i386 only"),
    ("6.12", {"CONFIG_NR_CPUS": "x"}, "not a number"),
])
def test_options_the_model_cannot_honour_are_refused(version, config, match):
    with pytest.raises(ValueError, match=match):
        km.Kernel(version=version, ram="512M", config=config)


def test_nr_cpus_and_kasan_and_bad_arguments():
    with pytest.raises(ValueError, match="CONFIG_NR_CPUS=2"):
        km.Kernel(ram="512M", cpus=4, config={"CONFIG_NR_CPUS": 2})
    assert km.Kernel(ram="512M", cmdline="kasan=on").config["CONFIG_KASAN"] == "y"
    with pytest.raises(ValueError, match="CONFIG_KASAN is not set"):
        km.Kernel(version="6.12", ram="512M", cmdline="kasan=on", config=DEBIAN["6.12"])
    with pytest.raises(TypeError, match="mapping of CONFIG_"):
        km.Kernel(ram="512M", config=42)
    with pytest.raises(ValueError, match="not a kernel config"):
        kconfig.read(__file__)


def test_slub_debug_on_turns_slub_debug_on_from_boot():
    k = km.Kernel(ram="512M", config={"CONFIG_SLUB_DEBUG_ON": "y"})
    assert k.debug.slub_debug == "FZPU"


def test_cli_boot_takes_a_config_file(capsys):
    from kmemlab.cli import main
    rc = main(["boot", "--config", str(DEBIAN["6.12"]), "--ram", "512M"])
    out = capsys.readouterr().out
    assert rc == 0 and "CONFIG_CMA is not set" in out
