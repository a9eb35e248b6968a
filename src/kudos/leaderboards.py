"""Leaderboards and positions."""

from __future__ import annotations

import attrs

from ._base import CommunityBase

ACTIONS: tuple[str, ...] = ()
"""The policy actions this capability rewards (see :mod:`kudos.policy`)."""

__all__ = ["ACTIONS", "LeaderboardsAPI", "LeaderboardRules", "preset"]


@attrs.frozen(kw_only=True)
class LeaderboardRules:
    """Leaderboard settings of a policy."""


def preset(name: str) -> LeaderboardRules:
    """The section of the ``name`` preset (``"giffgaff"`` or ``"stackexchange"``)."""
    return LeaderboardRules()


class LeaderboardsAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""
