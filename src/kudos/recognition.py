"""Recognition: ranks, badges and privileges (policy section and engine hooks)."""

from __future__ import annotations

import attrs

from ._base import CommunityBase

ACTIONS: tuple[str, ...] = ()
"""The policy actions this capability rewards (see :mod:`kudos.policy`)."""

__all__ = ["ACTIONS", "RecognitionAPI", "Recognition", "preset"]


@attrs.frozen(kw_only=True)
class Recognition:
    """Ranks, badges and privileges of a policy."""


def preset(name: str) -> Recognition:
    """The section of the ``name`` preset (``"giffgaff"`` or ``"stackexchange"``)."""
    return Recognition()


class RecognitionAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""
