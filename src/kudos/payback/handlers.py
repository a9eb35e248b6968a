"""The engine half of payback: closing periods, payout lifecycle, payout choices.

Documents kept (kind: key -> data; every one rebuilt exactly by replay):

* ``period``: period id -> when and by whom it was closed, with its totals
  (status ``closed``; the engine books late events past a closed period);
* ``conversion``: ``<period>:<member>`` -> the member's :class:`Conversion`
  (ref = member, status = period, so a period's conversions are one lookup);
* ``payout``: ``<period>:<member>`` -> the payout (ref = member, status
  ``issued``/``paid``/``failed``);
* ``carry_over``: ``<period>:<member>`` -> points carried *into* that period,
  by how many times they have been carried (ref = member, status = period);
* ``payout_method``: member -> their choice (status ``chosen``, or ``used``
  once a close consumed a one-period choice).

Counters: ``points_paid`` and ``points_lapsed`` per member (all-time and per
period: what ``lifetime_points`` adds back), and under the empty subject
``payout_paid_amount`` / ``payout_failed_amount`` per period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs

from ..engine import core as engine
from ..engine.core import Context, contributes_simulation, contributes_statement, handles
from ..errors import InvalidInput, NotAllowed, PeriodClosed, UnknownRecord
from ..events import PaybackPeriodClosed, PayoutFailed, PayoutMethodChosen, PayoutPaid
from ..model import Doc
from ..stores.protocol import Transaction
from . import holds
from .rules import (
    PROGRAMME,
    SETTLEMENT_ACTIONS,
    Conversion,
    PaybackRules,
    Payout,
    PayoutComparison,
    payout_key,
)

if TYPE_CHECKING:
    from ..policy import Policy

# Rows read at a time when listing a period's balances.
_PAGE = 5_000

# Paying points out, carrying them over or letting them lapse earns nothing.
engine.settlements(*SETTLEMENT_ACTIONS)


def _require_enabled(ctx: Context, doing: str) -> PaybackRules:
    rules = ctx.policy.payback
    ctx.require(
        rules.enabled,
        f"policy {ctx.policy.name!r} pays nothing out (payback.enabled is false), so members "
        f"cannot {doing}; its points are never converted into money",
    )
    return rules


def _is_closed(tx: Transaction, period: str) -> bool:
    doc = tx.get("period", period)
    return doc is not None and doc.status == "closed"


def _next_open(ctx: Context, period: str) -> str | None:
    """The first open period after ``period`` (``None`` when the schedule has no later one)."""
    periods = ctx.policy.periods
    try:
        following = periods.next(period)
        while _is_closed(ctx.tx, following):
            following = periods.next(following)
    except (InvalidInput, UnknownRecord):
        return None
    return following


def _balances(tx: Transaction, period: str) -> list[tuple[str, int]]:
    """Every member's non-zero points balance in ``period``, by member id."""
    rows: list[tuple[str, int]] = []
    offset = 0
    while True:
        page = tx.top("points", period, limit=_PAGE, offset=offset)
        rows.extend(page)
        if len(page) < _PAGE:
            break
        offset += _PAGE
    return sorted(rows)


def _local(ctx: Context, at: datetime) -> str:
    zone = ctx.policy.periods.timezone
    return f"{at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} {zone}"


# --- choosing a method ---------------------------------------------------------------


def _choice_id(tx: Transaction, event: PayoutMethodChosen) -> str:
    doc = tx.get("payout_method", event.member)
    gen = int(doc.data.get("gen", 0)) if doc else 0
    same = (
        doc is not None
        and doc.status == "chosen"
        and doc.data.get("method") == event.method
        and doc.data.get("charity") == event.charity
    )
    return engine.generation_id(engine.default_id(event), gen if same else gen + 1)


@handles(PayoutMethodChosen, derive_id=_choice_id)
def _method_chosen(ctx: Context, event: PayoutMethodChosen) -> None:
    ctx.member(event.member)
    rules = _require_enabled(ctx, "choose a payout method")
    ctx.require(
        event.method in rules.methods,
        f"policy {ctx.policy.name!r} does not pay by {event.method!r}; choose one of "
        f"{', '.join(rules.methods)}",
    )
    if event.charity is not None:
        ctx.require(
            event.method == "charity",
            f"a charity ({event.charity!r}) goes with the 'charity' method, not "
            f"{event.method!r}; leave charity out",
        )
        ctx.require(
            not rules.charities or event.charity in rules.charities,
            f"{event.charity!r} is not one of the community's charities "
            f"({', '.join(rules.charities)})",
        )
    doc = ctx.tx.get("payout_method", event.member)
    gen = int(doc.data.get("gen", 0)) if doc else 0
    ctx.put(
        "payout_method",
        event.member,
        {
            "method": event.method,
            "charity": event.charity,
            "chosen_at": ctx.at.isoformat(),
            "event_id": ctx.event_id,
            "gen": gen + 1,
        },
        status="chosen",
    )


# --- closing a period ----------------------------------------------------------------


class _Totals:
    """What a close adds up, written to the period document."""

    def __init__(self) -> None:
        self.members = self.points = self.paid_points = self.carried_over = 0
        self.lapsed = self.debts = self.payouts = self.amount = self.match = 0
        self.held = 0
        self.by_method: dict[str, int] = {}

    def add(self, conversion: Conversion) -> None:
        self.members += 1
        self.points += conversion.points
        self.paid_points += conversion.paid_points
        self.carried_over += conversion.carried_over
        self.lapsed += conversion.lapsed
        self.debts += conversion.debt
        self.held += conversion.held
        if conversion.payout is not None and conversion.method is not None:
            self.payouts += 1
            self.amount += conversion.amount
            self.match += conversion.match
            method = conversion.method
            self.by_method[method] = self.by_method.get(method, 0) + conversion.amount


@handles(PaybackPeriodClosed)
def _period_closed(ctx: Context, event: PaybackPeriodClosed) -> None:
    rules = _require_enabled(ctx, "have a payback period closed")
    period = event.period
    if event.by is not None:
        ctx.require(
            ctx.member(event.by).is_staff,
            f"member {event.by!r} may not close payback periods: only staff and moderators "
            "can (or leave by out when a scheduled job closes it)",
        )
    _, end = ctx.policy.periods.bounds(period)
    ctx.require(
        ctx.at >= end,
        f"period {period!r} has not ended: it ends at {_local(ctx, end)}; close it after that "
        "(and after members have chosen how to be paid)",
    )
    ctx.tx.lock([f"period:{period}"])
    found = ctx.tx.get("period", period)
    if found is not None and found.status == "closed":
        raise PeriodClosed(
            f"period {period!r} was closed already (event {found.data.get('event_id')!r}); "
            "community.payouts(period) lists its payouts"
        )
    target = _next_open(ctx, period)
    totals = _Totals()
    held = holds.holds_at(ctx.tx, ctx.policy, period)
    waiting: set[str] = set()  # held now: their choice waits for the close that pays them
    for member_id, balance in _balances(ctx.tx, period):
        member = ctx.member(member_id)
        if balance < 0:
            conversion = _owe(ctx, period, member_id, -balance, target)
        elif member_id in held and not (member.is_staff and not ctx.policy.staff_earn):
            totals.add(_hold(ctx, rules, period, member_id, balance, target, held[member_id]))
            waiting.add(member_id)
            continue
        elif member.is_staff and not ctx.policy.staff_earn:
            conversion = Conversion(
                points=balance,
                currency=rules.currency,
                lapsed=balance,
                reason="staff earn no payback (policy.staff_earn is false)",
            )
        else:
            conversion = _convert(ctx, rules, period, member_id, balance, target)
        conversion = _settle(ctx, rules, period, member_id, conversion, target)
        totals.add(conversion)
    ctx.put(
        "period",
        period,
        {
            "closed_at": ctx.at.isoformat(),
            "by": event.by,
            "event_id": ctx.event_id,
            "currency": rules.currency,
            "carried_to": target,
            "members": totals.members,
            "points": totals.points,
            "paid_points": totals.paid_points,
            "carried_over": totals.carried_over,
            "lapsed": totals.lapsed,
            "debts": totals.debts,
            "payouts": totals.payouts,
            "amount": totals.amount,
            "match": totals.match,
            "by_method": totals.by_method,
            "held": totals.held,
        },
        status="closed",
    )
    if not rules.keep_choice:
        # Members pick each period: a choice is spent by the close that paid them.
        for doc in ctx.tx.find("payout_method", status="chosen"):
            if doc.key in waiting:
                continue
            ctx.put("payout_method", doc.key, doc.data, ref=doc.ref, status="used")


def _hold(
    ctx: Context,
    rules: PaybackRules,
    period: str,
    member: str,
    balance: int,
    target: str | None,
    hold: Doc,
) -> Conversion:
    """A member under review is not paid: their balance waits in the next open period.

    The points keep their age (a hold never makes them lapse sooner), the
    payout is listed as ``held`` with what it would have paid, and the first
    close after the release pays them with the rest.
    """
    key = payout_key(period, member)
    would = _convert(ctx, rules, period, member, balance, target)
    carried_doc = ctx.tx.get("carry_over", key)
    carried: list[int] = list(carried_doc.data["carried"]) if carried_doc else []
    why = f"payout held under review by {hold.data['held_by']}: {hold.data['held_reason']}"
    if target is not None:
        reason = f"{why}; its points wait in {target} for the release"
        ctx.credit(
            member,
            "points",
            -balance,
            action="carry_over",
            subject=key,
            reason=f"held over to {target}: {why}",
            force=True,
            period=period,
        )
        ctx.credit(
            member,
            "points",
            balance,
            action="carry_over",
            subject=key,
            reason=f"held over from {period}: {why}",
            force=True,
            period=target,
        )
        _carry_into(ctx, target, member, carried)
    else:
        reason = f"{why}; no later period, so its points stay in {period}"
    conversion = Conversion(
        member=member,
        period=period,
        points=balance,
        carried_in=sum(carried),
        currency=rules.currency,
        carried_to=target,
        held=balance,
        reason=reason,
        payout=key,
    )
    ctx.put(
        "payout",
        key,
        {
            "member": member,
            "period": period,
            "points": balance,
            "amount": would.amount,
            "currency": would.currency,
            "method": would.method or "",
            "charity": would.charity,
            "base": would.base,
            "bonus": would.bonus,
            "uplift": would.uplift,
            "match": would.match,
            "issued_at": ctx.at.isoformat(),
            "event_id": ctx.event_id,
            "hold_reason": hold.data["held_reason"],
            "held_by": hold.data["held_by"],
            "hold": hold.key,
        },
        ref=member,
        status="held",
    )
    ctx.put("conversion", key, conversion.data(), ref=member, status=period)
    ctx.notify(member, "payout_held", period=period, points=balance, reason=reason)
    ctx.touched.add(member)
    return conversion


def _owe(ctx: Context, period: str, member: str, debt: int, target: str | None) -> Conversion:
    """A negative balance (points taken back after a payout, or deducted by staff) moves on."""
    rules = ctx.policy.payback
    if target is None:
        return Conversion(
            points=0,
            currency=rules.currency,
            debt=debt,
            reason="no later period to carry the debt to; written off",
        )
    return Conversion(
        points=0,
        currency=rules.currency,
        debt=debt,
        carried_to=target,
        reason=(
            f"{debt} points owed: more was taken back or deducted than the balance held, "
            f"so the next period ({target}) starts {debt} points down"
        ),
    )


def _convert(
    ctx: Context, rules: PaybackRules, period: str, member: str, balance: int, target: str | None
) -> Conversion:
    carried_doc = ctx.tx.get("carry_over", payout_key(period, member))
    carried: Sequence[int] = carried_doc.data["carried"] if carried_doc else ()
    choice = ctx.tx.get("payout_method", member)
    method = charity = None
    if choice is not None and choice.status == "chosen":
        method, charity = choice.data["method"], choice.data.get("charity")
    conversion = rules.convert(balance, method=method, charity=charity, carried=carried)
    if conversion.carried_over and target is None:
        # An explicit schedule that has ended: nowhere to carry to.
        return attrs.evolve(
            conversion,
            carried=(),
            lapsed=conversion.lapsed + conversion.carried_over,
            reason=f"{conversion.reason}; no later period to carry them to",
        )
    return conversion


def _settle(
    ctx: Context,
    rules: PaybackRules,
    period: str,
    member: str,
    conversion: Conversion,
    target: str | None,
) -> Conversion:
    """Write the ledger entries, documents and notifications of one member's conversion."""
    key = payout_key(period, member)
    payout_id = key if conversion.paid_points else None
    moves = conversion.carried_over or conversion.debt
    conversion = attrs.evolve(
        conversion,
        member=member,
        period=period,
        payout=payout_id,
        carried_to=target if moves else None,
    )

    def entry(amount: int, action: str, reason: str, into: str) -> None:
        ctx.credit(
            member,
            "points",
            amount,
            action=action,
            subject=key,
            reason=reason,
            force=True,
            period=into,
        )

    if conversion.paid_points:
        assert conversion.method is not None
        paid = rules.format(conversion.amount)
        how = f"to {conversion.charity}" if conversion.charity else f"as {conversion.method}"
        entry(-conversion.paid_points, "payout", f"payout of {period}: {paid} {how}", period)
        ctx.bump("points_paid", member, conversion.paid_points, period=period)
        ctx.put(
            "payout",
            key,
            {
                "member": member,
                "period": period,
                "points": conversion.paid_points,
                "amount": conversion.amount,
                "currency": conversion.currency,
                "method": conversion.method,
                "charity": conversion.charity,
                "base": conversion.base,
                "bonus": conversion.bonus,
                "uplift": conversion.uplift,
                "match": conversion.match,
                "issued_at": ctx.at.isoformat(),
                "event_id": ctx.event_id,
            },
            ref=member,
            status="issued",
        )
        ctx.notify(
            member,
            "payout_issued",
            payout=key,
            period=period,
            points=conversion.paid_points,
            amount=conversion.amount,
            currency=conversion.currency,
            method=conversion.method,
            charity=conversion.charity,
            match=conversion.match,
        )
    if conversion.carried_over and target is not None:
        moved = conversion.carried_over
        entry(-moved, "carry_over", f"carried over to {target}: {conversion.reason}", period)
        entry(moved, "carry_over", f"carried over from {period}: {conversion.reason}", target)
        _carry_into(ctx, target, member, conversion.carried)
        ctx.notify(
            member,
            "points_carried_over",
            period=period,
            to=target,
            points=moved,
            reason=conversion.reason,
        )
    if conversion.lapsed:
        entry(
            -conversion.lapsed,
            "lapse",
            f"lapsed at the close of {period}: {conversion.reason}",
            period,
        )
        ctx.bump("points_lapsed", member, conversion.lapsed, period=period)
        ctx.notify(
            member,
            "points_lapsed",
            period=period,
            points=conversion.lapsed,
            reason=conversion.reason,
        )
    if conversion.debt:
        if target is not None:
            entry(conversion.debt, "carry_over", f"owed points carried to {target}", period)
            entry(-conversion.debt, "carry_over", f"owed points carried from {period}", target)
        else:
            entry(
                conversion.debt,
                "write_off",
                f"owed points written off at the close of {period}: no later period",
                period,
            )
    ctx.put("conversion", key, conversion.data(), ref=member, status=period)
    ctx.touched.add(member)
    return conversion


def _carry_into(ctx: Context, target: str, member: str, carried: Sequence[int]) -> None:
    key = payout_key(target, member)
    doc = ctx.tx.get("carry_over", key)
    had = list(doc.data["carried"]) if doc else []
    merged = [
        (had[i] if i < len(had) else 0) + (carried[i] if i < len(carried) else 0)
        for i in range(max(len(had), len(carried)))
    ]
    ctx.put("carry_over", key, {"carried": merged}, ref=member, status=target)


# --- the payout lifecycle -------------------------------------------------------------------


def _issued(ctx: Context, payout_id: str, doing: str) -> dict[str, Any]:
    ctx.tx.lock([f"payout:{payout_id}"])
    doc = ctx.tx.get("payout", payout_id)
    if doc is None:
        raise UnknownRecord(
            f"no payout {payout_id!r}; payout ids are '<period>:<member>', listed by "
            "community.payouts(period)"
        )
    data = dict(doc.data)
    if doc.status in ("held", "released"):
        raise NotAllowed(
            f"payout {payout_id!r} was held under review ({data.get('hold_reason')}); nothing "
            f"was issued, so it cannot {doing}. Its points are paid at the first close after "
            "community.release_payout()"
        )
    if doc.status == "paid":
        raise NotAllowed(
            f"payout {payout_id!r} was paid already (reference {data.get('reference')!r}); "
            f"it cannot {doing}. If the money came back, return the points with "
            "community.adjust()"
        )
    if doc.status == "failed":
        raise NotAllowed(
            f"payout {payout_id!r} failed already ({data.get('failure_reason')}); its points "
            f"went back to the member and will be paid at the next close, so it cannot {doing}"
        )
    ctx.not_older(
        data.get("issued_at"),
        f"payout {payout_id!r} reported to {doing}",
        "the close that issued it",
        "the payout it settles",
    )
    return data


@handles(PayoutPaid)
def _payout_paid(ctx: Context, event: PayoutPaid) -> None:
    data = _issued(ctx, event.payout, "be paid")
    data.update(reference=event.reference, settled_at=ctx.at.isoformat())
    ctx.put("payout", event.payout, data, ref=data["member"], status="paid")
    ctx.bump("payout_paid_amount", PROGRAMME, data["amount"], period=data["period"])
    ctx.notify(
        data["member"],
        "payout_paid",
        payout=event.payout,
        period=data["period"],
        amount=data["amount"],
        currency=data["currency"],
        method=data["method"],
        reference=event.reference,
    )


@handles(PayoutFailed)
def _payout_failed(ctx: Context, event: PayoutFailed) -> None:
    data = _issued(ctx, event.payout, "fail")
    member = data["member"]
    debits = [
        e
        for e in ctx.tx.entries(event_id=data["event_id"], subject=event.payout)
        if e.action == "payout" and e.reverses is None
    ]
    for debit in debits:
        ctx.reverse(
            debit,
            f"payout {event.payout} failed ({event.reason}): its points are "
            "back, to be paid at the next close",
        )
    ctx.bump("points_paid", member, -data["points"], period=data["period"])
    ctx.bump("payout_failed_amount", PROGRAMME, data["amount"], period=data["period"])
    data.update(failure_reason=event.reason, settled_at=ctx.at.isoformat())
    ctx.put("payout", event.payout, data, ref=member, status="failed")
    ctx.notify(
        member,
        "payout_failed",
        payout=event.payout,
        period=data["period"],
        points=data["points"],
        amount=data["amount"],
        currency=data["currency"],
        reason=event.reason,
        returned_to=ctx.period,
    )
    ctx.touched.add(member)


# --- what standings, statements and simulations read -------------------------------------


@contributes_statement
def _statement(tx: Transaction, policy: Policy, member: str, period: str | None) -> dict[str, Any]:
    if period is None:
        return {}
    key = payout_key(period, member)
    doc = tx.get("conversion", key)
    if doc is None:
        return {}
    payout = tx.get("payout", key)
    return {
        "conversion": Conversion.from_data(doc.data),
        "payout": Payout.from_doc(payout) if payout is not None else None,
    }


@contributes_simulation
def _simulation(
    tx: Transaction, policy: Policy, sim_tx: Transaction, sim_policy: Policy
) -> dict[str, Any]:
    rows = []
    for doc in tx.find("period", status="closed"):
        other = sim_tx.get("period", doc.key)
        closed = other is not None and other.status == "closed"
        rows.append(
            PayoutComparison(
                period=doc.key,
                currency=doc.data["currency"],
                before=doc.data["amount"],
                after=other.data["amount"] if other is not None and closed else 0,
                other_currency=other.data["currency"] if other is not None and closed else None,
                payouts_before=doc.data["payouts"],
                payouts_after=other.data["payouts"] if other is not None and closed else 0,
            )
        )
    return {"payouts": tuple(rows)}
