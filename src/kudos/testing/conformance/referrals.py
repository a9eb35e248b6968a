"""Conformance tests: referrals."""

from __future__ import annotations

from ._base import ConformanceBase


class ReferralConformance(ConformanceBase):
    """What every store must do for referrals."""
