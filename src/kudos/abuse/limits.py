"""Votes that pay nothing: the new-account and same-fingerprint limits of ``policy.abuse``.

A kudos from a limited giver is recorded like any other (it counts, it can be
withdrawn) but its awards, the author's and the giver's, are booked as 0-point
lines whose reason says which limit applied, the way a cap explains an award
it held back. Documents kept (rebuilt exactly by replay):

* ``limited_vote``: the kudos's event id -> giver, author, post, rule, why and
  the points it would have paid (ref = giver, status = the booking period),
  what ``abuse_report(period)`` lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import attrs

from ..engine.core import Context
from ..engine.plans import award_plan
from ..model import Member, Post

LIMITED = "limited_vote"


@attrs.frozen
class Limit:
    """Which rule stops a vote paying (``new_account`` or ``same_fingerprint``), and why."""

    rule: str
    why: str


def fingerprints(ctx: Context, member: str) -> set[str]:
    """Every fingerprint reported for ``member`` (at join, on referrals or on their own)."""
    doc = ctx.tx.get("member_fingerprints", member)
    return set(doc.data["fingerprints"]) if doc else set()


def unpaid_vote(ctx: Context, giver: Member, author: str) -> Limit | None:
    """Why a kudos from ``giver`` to ``author`` pays nothing under ``policy.abuse``, or None.

    Staff votes are never limited.
    """
    rules = ctx.policy.abuse
    if giver.is_staff:
        return None
    if rules.new_account_days and giver.joined_at is not None:
        age = ctx.at - giver.joined_at
        if age < timedelta(days=rules.new_account_days):
            return Limit(
                "new_account",
                f"{giver.id} joined {age.days} days before; kudos from a member pay once they "
                f"have been a member for {rules.new_account_days} days",
            )
    if rules.new_account_contributions:
        made = ctx.counter("topics", "all", giver.id) + ctx.counter("replies", "all", giver.id)
        if made < rules.new_account_contributions:
            return Limit(
                "new_account",
                f"{giver.id} has posted {made} topics and replies; kudos from a member pay once "
                f"they have posted {rules.new_account_contributions}",
            )
    if rules.same_fingerprint:
        shared = sorted(fingerprints(ctx, giver.id) & fingerprints(ctx, author))
        if shared:
            return Limit(
                "same_fingerprint",
                f"{giver.id} and {author} share the fingerprint {shared[0]!r}; votes between "
                "accounts that share one pay nothing",
            )
    return None


def _forgone(ctx: Context, action: str) -> tuple[tuple[str, int], ...]:
    points, reputation = award_plan(ctx.policy, action).amounts(ctx.day())
    return (("points", points), ("reputation", reputation))


def award(
    ctx: Context,
    limit: Limit | None,
    member: str,
    action: str,
    *,
    subject: str,
    reason: str,
    tags: Iterable[str],
) -> int:
    """Award ``action`` to ``member``, or, under ``limit``, book what it would pay as 0 lines.

    Returns the points the limit kept from ``member`` (0 without a limit).
    """
    if limit is None:
        ctx.award(member, action, subject=subject, reason=reason, tags=tags)
        return 0
    found = ctx.member(member)
    if found.deleted or (found.is_staff and not ctx.policy.staff_earn):
        return 0  # it would not have paid them anyway
    kept = 0
    for account, amount in _forgone(ctx, action):
        if amount:
            ctx.line(
                member,
                account,
                0,
                action=action,
                reason=f"{reason}: pays nothing ({limit.why})",
                subject=subject,
                tags=tuple(dict.fromkeys(tags)),
            )
            kept += amount if account == "points" else 0
    return kept


def remember(ctx: Context, limit: Limit, giver: str, post: Post, points: int) -> None:
    """Keep the limited vote for the review queue."""
    ctx.put(
        LIMITED,
        ctx.event_id,
        {
            "giver": giver,
            "author": post.author,
            "post": post.id,
            "rule": limit.rule,
            "why": limit.why,
            "points": points,
            "at": ctx.at_text,
        },
        ref=giver,
        status=ctx.period,
    )
