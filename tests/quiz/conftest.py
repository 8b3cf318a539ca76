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


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """A graded quiz saves on Submit to <quiz>-<student>.json in the working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
