from __future__ import annotations

from pathlib import Path

import pytest
from quiz_helpers import SMALL


@pytest.fixture
def small_quiz(tmp_path) -> Path:
    """A quiz with every question type, answers known."""
    p = tmp_path / "small.yaml"
    p.write_text(SMALL, encoding="utf-8")
    return p
