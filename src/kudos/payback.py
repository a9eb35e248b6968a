"""Payback: converting a period's points into money and paying it out."""

from __future__ import annotations

import attrs

from ._base import CommunityBase

ACTIONS: tuple[str, ...] = ()
"""The policy actions this capability rewards (see :mod:`kudos.policy`)."""

__all__ = ["ACTIONS", "PaybackAPI", "PaybackRules", "preset"]


@attrs.frozen(kw_only=True)
class PaybackRules:
    """How a period's points become money."""


def preset(name: str) -> PaybackRules:
    """The section of the ``name`` preset (``"giffgaff"`` or ``"stackexchange"``)."""
    return PaybackRules()


class PaybackAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""
