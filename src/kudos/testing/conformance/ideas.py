"""Conformance tests: ideas."""

from __future__ import annotations

from ._base import ConformanceBase


class IdeaConformance(ConformanceBase):
    """What every store must do for ideas."""
