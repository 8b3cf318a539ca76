"""Helpers shared by the SLUB tests (imported as a plain module)."""

from __future__ import annotations

import kmemlab as km

PROFILES = list(km.PROFILES)   # every profile (kmemlab/profiles.py)
VERSIONS = [v for v, a in km.PROFILES if a == "x86_64"]


def boot(version: str = "6.12", arch: str = "x86_64", cpus: int = 2, cmdline: str = "",
         ram: str = "512M", pcp: bool = True, freelist_random: bool = False) -> km.Kernel:
    # address-ordered free lists unless a test asks for CONFIG_SLAB_FREELIST_RANDOM
    return km.Kernel(version=version, arch=arch, ram=ram, cpus=cpus, cmdline=cmdline, pcp=pcp,
                     slab_freelist_random=freelist_random)


def snapshot(k: km.Kernel) -> tuple:
    """Everything a failing call must leave untouched: SLUB state and the buddy lists."""
    return (k.slub.state_fingerprint(), k.state_digest())


def free_pages_total(k: km.Kernel) -> int:
    # pages parked on per-CPU lists are free too, only not in the buddy lists
    return k.nr_free_pages(include_pcp=True)
