"""Referrals: a member brings in a customer and is rewarded once it sticks."""

from __future__ import annotations

import attrs

from ._base import CommunityBase

ACTIONS: tuple[str, ...] = ("referral_qualified", "referral_welcome")
"""The policy actions this capability rewards (see :mod:`kudos.policy`)."""

__all__ = ["ACTIONS", "ReferralsAPI", "ReferralRules", "preset"]


@attrs.frozen(kw_only=True)
class ReferralRules:
    """The referral programme of a policy."""


def preset(name: str) -> ReferralRules:
    """The section of the ``name`` preset (``"giffgaff"`` or ``"stackexchange"``)."""
    return ReferralRules()


class ReferralsAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""
