"""Conformance tests: core."""

from __future__ import annotations

from ._base import ConformanceBase


class CoreConformance(ConformanceBase):
    """What every store must do for core."""
