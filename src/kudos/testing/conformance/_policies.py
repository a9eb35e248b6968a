"""Policies the conformance suite runs on."""

from __future__ import annotations

from ...policies import stackexchange
from ...policy import Policy


def stackexchange_from_zero() -> Policy:
    """Stack Exchange's rules with reputation counted from 0 and no floor.

    The suite's checks of privileges, caps and isolation count reputation from
    zero; the preset's start and floor at 1 have their own tests.
    """
    return stackexchange().evolve(reputation_start=0, reputation_floor=None)
