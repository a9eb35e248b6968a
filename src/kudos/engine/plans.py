"""What a policy says about one action, worked out once per policy and kept with it.

Every award asks the same questions of the policy: what the action is worth (on
the fact's day, when the reward has an earlier value), and which caps it counts
against in each account. A policy is immutable, so the answers are compiled
once per policy and action into an :class:`AwardPlan`; applying an event then
only fills in the member, the day and the period. A changed policy (a new
version in the community's history, or the policy ``simulate()`` runs under) is
another object and gets plans of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import caps as _caps

if TYPE_CHECKING:
    from ..policy import Cap, Policy


class AwardPlan:
    """One action under one policy: its reward by day and its caps by account.

    ``points`` and ``reputation`` are today's values (integer units);
    ``earlier`` holds ``(until, points, reputation)`` of each earlier value in
    the reward's order (``YYYY-MM-DD``, the first day it no longer applied).
    ``caps`` maps ``"points"`` and ``"reputation"`` to the caps the action
    counts against there (empty for uncapped actions).
    """

    __slots__ = ("action", "caps", "earlier", "points", "reputation")

    def __init__(self, policy: Policy, action: str) -> None:
        reward = policy.reward(action)
        self.action = action
        self.points: int = reward.points
        self.reputation: int = reward.reputation
        self.earlier: tuple[tuple[str, int, int], ...] = tuple(
            (e.until, e.points, e.reputation) for e in reward.was
        )
        counted = action not in _caps.UNCAPPED
        self.caps: dict[str, tuple[Cap, ...]] = {
            account: tuple(policy.caps_for(action, account)) if counted else ()
            for account in ("points", "reputation")
        }

    def amounts(self, day: str) -> tuple[int, int]:
        """``(points, reputation)`` the action earns on ``day`` (``YYYY-MM-DD``).

        The same values as ``policy.reward(action).on(day)``, without building
        a :class:`~kudos.policy.Reward` for every award.
        """
        for until, points, reputation in self.earlier:
            if day < until:
                return points, reputation
        return self.points, self.reputation


# Kept with the policy itself (so an id is never reused while its entry lives); a
# community sees a handful of policies, so the table starts over when it fills up.
_PLANS: dict[int, tuple[Any, dict[str, AwardPlan]]] = {}
_PLANS_LIMIT = 64


# The plans of the policy asked for last: nearly every award asks under the same one.
_LAST: list[tuple[Any, dict[str, AwardPlan]]] = [(None, {})]


def award_plan(policy: Policy, action: str) -> AwardPlan:
    """The :class:`AwardPlan` of ``action`` under ``policy``, compiled on first use."""
    last = _LAST[0]
    if last[0] is policy:
        plan = last[1].get(action)
        if plan is not None:
            return plan
    known = _PLANS.get(id(policy))
    if known is None or known[0] is not policy:
        if len(_PLANS) >= _PLANS_LIMIT:
            _PLANS.clear()
        known = _PLANS[id(policy)] = (policy, {})
    plan = known[1].get(action)
    if plan is None:
        plan = known[1][action] = AwardPlan(policy, action)
    _LAST[0] = known
    return plan


def cap_scope(per: str, day: str, period: str, subject: str | None) -> str:
    """The counter scope a cap ``per`` day, month, post, period or ever keeps its count in."""
    if per == "day":
        return f"day:{day}"
    if per == "post":
        return f"post:{subject}"
    if per == "month":
        return f"month:{day[:7]}"
    if per == "period":
        return period
    if per == "ever":
        return "ever"
    raise KeyError(per)
