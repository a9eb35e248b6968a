"""Conformance tests: payback."""

from __future__ import annotations

from ._base import ConformanceBase


class PaybackConformance(ConformanceBase):
    """What every store must do for payback."""
