"""Payouts held under review: the engine half of ``hold_payout`` / ``release_payout``.

Documents kept (rebuilt exactly by replay):

* ``payout_hold``: ``<period>:<member>`` -> who held it, why and when, and, once
  released, who released it (ref = member, status ``held`` or ``released``;
  ``gen`` counts the holds of that period, so a payout can be held again).

A close pays no member with a hold standing on the closed period, or on an
earlier period whose close held their payout (its balance is carried on in
theirs): :mod:`kudos.payback.handlers` carries their whole balance to the next
open period instead (see :func:`holds_at`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .. import _validate as v
from ..engine import core as engine
from ..engine.core import Context, handles
from ..errors import NotAllowed, PeriodClosed
from ..events import PayoutHeld, PayoutReleased
from ..model import Doc
from ..stores.protocol import Transaction
from .rules import payout_key

HOLD = "payout_hold"


def _hold_id(tx: Transaction, event: PayoutHeld) -> str:
    """One id per hold: the same hold reported again is a replay, another one a new fact."""
    doc = tx.get(HOLD, payout_key(event.period, event.member))
    gen = int(doc.data.get("gen", 0)) if doc else 0
    same = (
        doc is not None
        and doc.status == "held"
        and doc.data.get("held_by") == event.by
        and doc.data.get("held_reason") == event.reason
    )
    return engine.generation_id(engine.default_id(event), gen if same else gen + 1)


def _release_id(tx: Transaction, event: PayoutReleased) -> str:
    """A release belongs to the hold it ends: that hold's generation names it.

    The same release reported again is a replay; any other release of a payout
    no longer held gets an id of its own, which the handler refuses.
    """
    doc = tx.get(HOLD, payout_key(event.period, event.member))
    gen = int(doc.data.get("gen", 0)) if doc else 0
    same = doc is not None and (
        doc.status == "held"
        or (
            doc.data.get("released_by") == event.by
            and doc.data.get("released_reason") == event.reason
        )
    )
    return engine.generation_id(engine.default_id(event), gen if same else gen + 1)


def _staff(ctx: Context, by: str, doing: str, member: str) -> None:
    ctx.require(
        ctx.member(by).is_staff,
        f"member {by!r} may not {doing}: only staff and moderators can",
    )
    ctx.require(
        by != member,
        f"member {by!r} may not {doing} of their own: another staff member or moderator must",
    )


def _period(ctx: Context, period: str) -> None:
    """``period`` is a period of the schedule within the range of times kudos keeps."""
    start, end = ctx.policy.periods.bounds(period)
    v.check_time(f"the start of period {period!r}", start)
    v.check_time(f"the end of period {period!r}", end - timedelta(microseconds=1))


@handles(PayoutHeld, derive_id=_hold_id)
def _held(ctx: Context, event: PayoutHeld) -> None:
    ctx.member(event.member)
    _staff(ctx, event.by, "hold payouts", event.member)
    _period(ctx, event.period)
    key = payout_key(event.period, event.member)
    ctx.tx.lock([f"period:{event.period}", f"payout:{key}"])
    closed = ctx.tx.get("period", event.period)
    if closed is not None and closed.status == "closed":
        raise PeriodClosed(
            f"period {event.period!r} is closed already; its payouts were issued. Hold "
            f"{event.member!r}'s payout of the open period, or mark the issued payout failed"
        )
    doc = ctx.tx.get(HOLD, key)
    if doc is not None and doc.status == "held":
        raise NotAllowed(
            f"the payout of {event.member!r} for {event.period!r} is under review already "
            f"(held by {doc.data.get('held_by')!r}: {v.shown(doc.data.get('held_reason'))}); "
            "release it before holding it again"
        )
    ctx.not_older(
        doc.data.get("released_at") if doc is not None else None,
        f"the hold of {event.member!r}'s payout for {event.period!r}",
        "its previous hold was released",
        "the release before it",
    )
    gen = int(doc.data.get("gen", 0)) if doc else 0
    ctx.put(
        HOLD,
        key,
        {
            "member": event.member,
            "period": event.period,
            "held_by": event.by,
            "held_reason": event.reason,
            "held_at": ctx.at.isoformat(),
            "gen": gen + 1,
        },
        ref=event.member,
        status="held",
    )
    ctx.notify(event.member, "payout_under_review", period=event.period, reason=event.reason)
    ctx.touched.add(event.member)


@handles(PayoutReleased, derive_id=_release_id)
def _released(ctx: Context, event: PayoutReleased) -> None:
    ctx.member(event.member)
    _staff(ctx, event.by, "release payouts", event.member)
    _period(ctx, event.period)
    key = payout_key(event.period, event.member)
    ctx.tx.lock([f"period:{event.period}", f"payout:{key}"])
    doc = ctx.tx.get(HOLD, key)
    ctx.require(
        doc is not None and doc.status == "held",
        f"the payout of {event.member!r} for {event.period!r} is not under review; "
        f"hold it with community.hold_payout() first",
    )
    assert doc is not None
    ctx.not_older(
        doc.data["held_at"],
        f"the release of {event.member!r}'s payout for {event.period!r}",
        "the payout was held",
        "the hold it releases",
    )
    ctx.put(
        HOLD,
        key,
        {
            **doc.data,
            "released_by": event.by,
            "released_reason": event.reason,
            "released_at": ctx.at.isoformat(),
        },
        ref=event.member,
        status="released",
    )
    for payout in ctx.tx.find("payout", ref=event.member, status="held"):
        # Closes under this hold (of its period, and of later ones while it stood)
        # carried the points on unpaid; the next close pays them.
        if payout.data.get("hold") == key:
            ctx.put(
                "payout",
                payout.key,
                {**payout.data, "settled_at": ctx.at.isoformat()},
                ref=payout.ref,
                status="released",
            )
    ctx.notify(event.member, "payout_released", period=event.period, reason=event.reason)
    ctx.touched.add(event.member)


def covering(tx: Transaction, period: str) -> list[Doc]:
    """Every standing hold that covers a close of ``period``, by key.

    A hold covers the period it names; once a close of that period held the
    member's payout under it (their balance carried on unpaid), it also covers
    every later close until it is released, since that balance is in theirs.
    A hold on an earlier period never closed covers nothing later.
    """
    found = []
    for doc in tx.find(HOLD, status="held"):
        member, named = doc.ref, doc.data["period"]
        if member is None:
            continue
        if named != period:
            held = tx.get("payout", payout_key(named, member))
            if held is None or held.status != "held" or held.data.get("hold") != doc.key:
                continue
        found.append(doc)
    return found


def holds_at(tx: Transaction, policy: Any, period: str) -> dict[str, Doc]:
    """The hold a close of ``period`` obeys, by member (see :func:`covering`).

    When two cover it, the one naming ``period`` is the one that applies (and
    is shown on the payout); otherwise the earliest.
    """
    found: dict[str, Doc] = {}
    for doc in covering(tx, period):
        assert doc.ref is not None
        if doc.ref not in found or doc.data["period"] == period:
            found[doc.ref] = doc
    return found


def holds(tx: Transaction, period: str | None = None) -> list[Doc]:
    """Every hold document (optionally of one period), standing or released, by key."""
    docs = tx.find(HOLD)
    return [d for d in docs if period is None or d.data.get("period") == period]
