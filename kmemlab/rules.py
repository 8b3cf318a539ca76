"""Allocation rules: might_sleep, reclaim, OOM, kernel debugging (issue 5, in progress)."""

from __future__ import annotations


class RulesMixin:
    """Kernel methods for execution-context checks, reclaim, OOM and debug reports."""
