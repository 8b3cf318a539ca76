"""User space: processes with VMAs, demand paging, and a glibc malloc model."""

from __future__ import annotations


class UserMixin:
    """Kernel methods for user processes (``k.spawn``)."""
