"""Conformance tests: recognition."""

from __future__ import annotations

from ._base import ConformanceBase


class RecognitionConformance(ConformanceBase):
    """What every store must do for recognition."""
