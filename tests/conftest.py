"""Fixtures shared by every test directory: ``profile`` and ``version`` (every profile
of km.PROFILES), ``kernel`` (a booted kernel of each), ``zh``, ``save_png``. A
directory's own conftest.py only adds what is particular to it."""

from __future__ import annotations

from pathlib import Path

import pytest

OUT = Path(__file__).resolve().parents[1] / "test-output" / "plots"


@pytest.fixture
def save_png():
    """Save a figure under test-output/plots/ for a person to look at; return PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from kmemlab.plot import png_bytes

    def save(fig, name: str) -> bytes:
        OUT.mkdir(parents=True, exist_ok=True)
        data = png_bytes(fig, dpi=90)
        (OUT / f"{name}.png").write_bytes(data)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        return data
    return save


# ---------------------------------------------------------------- profiles as data
# Tests follow the profiles: a new derive() entry in kmemlab/profiles.py runs them all.
import kmemlab as km  # noqa: E402

ALL_PROFILES = list(km.PROFILES)                               # (version, arch)
X86_64_VERSIONS = [v for v, a in km.PROFILES if a == "x86_64"]


@pytest.fixture(params=ALL_PROFILES, ids=[f"{v}-{a}" for v, a in ALL_PROFILES])
def profile(request) -> km.Profile:
    """Every profile in km.PROFILES."""
    return km.PROFILES[request.param]


@pytest.fixture(params=X86_64_VERSIONS)
def version(request) -> str:
    """Every x86_64 profile's version (tests may still parametrize ``version``)."""
    return request.param


@pytest.fixture(params=ALL_PROFILES, ids=[f"{v}-{a}" for v, a in ALL_PROFILES])
def kernel(request) -> km.Kernel:
    """A freshly booted kernel of every profile: 1 GiB, 2 CPUs, the default machine."""
    version, arch = request.param
    return km.Kernel(version=version, arch=arch, ram="1G", cpus=2)


@pytest.fixture
def zh():
    """Chinese for the duration of one test (km.set_language), English again after."""
    km.set_language("zh")
    yield
    km.set_language("en")
