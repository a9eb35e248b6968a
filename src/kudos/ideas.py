"""Ideas: a voting board with budgets, a status workflow and rewards for authors."""

from __future__ import annotations

import attrs

from ._base import CommunityBase

ACTIONS: tuple[str, ...] = ("idea_vote_received", "idea_milestone", "idea_planned", "idea_implemented")
"""The policy actions this capability rewards (see :mod:`kudos.policy`)."""

__all__ = ["ACTIONS", "IdeasAPI", "IdeaRules", "preset"]


@attrs.frozen(kw_only=True)
class IdeaRules:
    """The ideas board of a policy."""


def preset(name: str) -> IdeaRules:
    """The section of the ``name`` preset (``"giffgaff"`` or ``"stackexchange"``)."""
    return IdeaRules()


class IdeasAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""
