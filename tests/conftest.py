"""Fixtures shared by the plot and widget tests."""

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
