"""Fixtures for the SLUB tests."""

from __future__ import annotations

import pytest
from slub_helpers import PROFILES, VERSIONS, boot

import kmemlab as km


@pytest.fixture(params=PROFILES, ids=lambda p: f"{p[0]}-{p[1]}")
def k(request) -> km.Kernel:
    version, arch = request.param
    return boot(version, arch)


@pytest.fixture(params=VERSIONS)
def k64(request) -> km.Kernel:
    return boot(request.param)
