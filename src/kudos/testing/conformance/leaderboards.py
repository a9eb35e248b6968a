"""Conformance tests: leaderboards."""

from __future__ import annotations

from ._base import ConformanceBase


class LeaderboardConformance(ConformanceBase):
    """What every store must do for leaderboards."""
