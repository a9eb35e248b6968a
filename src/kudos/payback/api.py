"""The :class:`~kudos.Community` methods of payback (see :mod:`kudos.payback`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import _validate as v
from ..engine import core as engine
from ..engine.base import CommunityBase
from ..errors import Conflict, InvalidInput, UnknownRecord
from ..events import PaybackPeriodClosed, PayoutFailed, PayoutMethodChosen, PayoutPaid
from ..model import Outcome
from ..stores.protocol import Transaction
from .rules import (
    PROGRAMME,
    STATUSES,
    PaybackPeriod,
    PaybackRules,
    Payout,
    PayoutChoice,
    _when,
    payout_key,
)


def get_payout(tx: Transaction, payout_id: str) -> Payout:
    """The payout, or :class:`UnknownRecord` saying where ids come from."""
    doc = tx.get("payout", payout_id)
    if doc is None:
        raise UnknownRecord(
            f"no payout {payout_id!r}; payout ids are '<period>:<member>', listed by "
            "community.payouts(period)"
        )
    return Payout.from_doc(doc)


def _payouts(
    tx: Transaction, period: str | None, member: str | None, status: str | None
) -> list[Payout]:
    if period is not None:
        keys = [
            payout_key(period, d.ref)
            for d in tx.find("conversion", status=period)
            if d.ref is not None and (member is None or d.ref == member) and d.data.get("payout")
        ]
        docs = [d for d in (tx.get("payout", k) for k in keys) if d is not None]
    else:
        docs = tx.find("payout", ref=member)
    found = [Payout.from_doc(d) for d in docs if status is None or d.status == status]
    return sorted(found, key=lambda p: (p.period, p.member))


def _choice_of(tx: Transaction, rules: PaybackRules, member: str) -> PayoutChoice:
    engine.get_member(tx, member)
    doc = tx.get("payout_method", member)
    if doc is not None and doc.status == "chosen" and doc.data["method"] in rules.methods:
        return PayoutChoice(
            member=member,
            method=doc.data["method"],
            charity=doc.data.get("charity"),
            chosen=True,
            chosen_at=_when(doc.data.get("chosen_at")),
        )
    return PayoutChoice(member=member, method=rules.default_method)


def _period(tx: Transaction, policy: Any, period: str, now: datetime) -> PaybackPeriod:
    start, end = policy.periods.bounds(period)
    doc = tx.get("period", period)
    if doc is None or doc.status != "closed":
        return PaybackPeriod(
            id=period, start=start, end=end, status="open" if now < end else "ended"
        )
    d = doc.data
    return PaybackPeriod(
        id=period,
        start=start,
        end=end,
        status="closed",
        closed_at=_when(d.get("closed_at")),
        closed_by=d.get("by"),
        currency=d.get("currency"),
        members=d.get("members", 0),
        points=d.get("points", 0),
        paid_points=d.get("paid_points", 0),
        carried_over=d.get("carried_over", 0),
        carried_to=d.get("carried_to"),
        lapsed=d.get("lapsed", 0),
        debts=d.get("debts", 0),
        payouts=d.get("payouts", 0),
        amount=d.get("amount", 0),
        match=d.get("match", 0),
        by_method=d.get("by_method", {}),
        paid=tx.counter("payout_paid_amount", period, PROGRAMME),
        failed=tx.counter("payout_failed_amount", period, PROGRAMME),
        held=d.get("held", 0),
    )


def _row(payout: Payout, rules: PaybackRules) -> dict[str, str | int]:
    return {
        "payout": payout.id,
        "member": payout.member,
        "period": payout.period,
        "method": payout.method,
        "charity": payout.charity or "",
        "points": payout.points,
        "currency": payout.currency,
        "amount_minor": payout.amount,
        "amount": rules.decimal(payout.amount),
        "base": payout.base,
        "bonus": payout.bonus,
        "uplift": payout.uplift,
        "match": payout.match,
        "status": payout.status,
        "reference": payout.reference or "",
        "issued_at": payout.issued_at.isoformat() if payout.issued_at else "",
    }


def _status(value: object) -> str | None:
    if value is not None and value not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)} (or None), got {value!r}")
    return value


# --- the Community methods ---------------------------------------------------------------


class PaybackAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability.

    A member's standing shows the points of the current (open) period;
    ``lifetime_points`` counts every point earned, paid out or not.
    """

    # -- periods ----------------------------------------------------------------------
    def current_period(self) -> str:
        """The open period awards are booked in now.

        Usually the period of the clock's time; while that period is closed
        (it never is, unless closed early by a backdated close), the next open one.
        """
        now = self.now()
        return self._read(lambda tx: engine.booking_period(tx, self.policy, now))

    def period_of(self, at: datetime) -> str:
        """The period an award dated ``at`` is booked in now.

        The period ``at`` falls in (in the periods' time zone), or, when that
        one is already closed (a late event), the first open period after it.

        Raises:
            InvalidInput: ``at`` is naive.
        """
        v.check_time("at", at)
        return self._read(lambda tx: engine.booking_period(tx, self.policy, at))

    def payback_period(self, period: str) -> PaybackPeriod:
        """The period's span, status and (once closed) totals.

        Raises:
            UnknownRecord: ``period`` is not a period of the policy.
        """
        now = self.now()

        def read(tx: Transaction) -> PaybackPeriod:
            policy = self.policy  # the transaction's: another object may have changed it
            policy.periods.bounds(period)
            return _period(tx, policy, period, now)

        return self._read(read)

    # -- choosing -------------------------------------------------------------------
    def set_payout_method(
        self,
        member: str,
        method: str,
        *,
        charity: str | None = None,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """``member`` chooses how to be paid: ``"credit"``, ``"cash"`` or ``"charity"``.

        The choice applies to the next close (and every later one, unless the
        policy's ``keep_choice`` is off). ``charity`` names the charity of a
        donation.

        Raises:
            UnknownMember: never joined.
            NotAllowed: the policy pays nothing out, does not offer ``method``,
                or ``charity`` is given with another method or is not one of
                the policy's charities.
        """
        return self.record(
            PayoutMethodChosen(
                member=member, method=method, charity=charity, at=at, event_id=event_id
            )
        )

    def payout_method(self, member: str) -> PayoutChoice:
        """How ``member`` will be paid at the next close (their choice, or the default).

        Raises:
            UnknownMember: never joined.
        """
        v.check_id("member", member)
        return self._read(lambda tx: _choice_of(tx, self.policy.payback, member))

    # -- closing --------------------------------------------------------------------------
    def close_period(
        self,
        period: str,
        *,
        by: str | None = None,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> list[Payout]:
        """Close an ended payback period: convert its points and issue the payouts.

        One transaction: every member's balance in the period is converted
        (see :class:`PaybackRules`), payouts are issued (``payout_issued``
        notifications), left-over points carry over or lapse, and the period
        takes no more awards (a late event is booked in the next open
        period). Closing a closed period changes nothing and returns the same
        payouts.

        Returns:
            the period's payouts, by member.

        Raises:
            NotAllowed: the period has not ended yet, the policy pays nothing
                out, or ``by`` is not staff or a moderator.
            UnknownMember: ``by`` never joined.
            UnknownRecord: ``period`` is not a period of the policy.
        """
        event = PaybackPeriodClosed(period=period, by=by, at=at, event_id=event_id)

        def closed(tx: Transaction) -> bool:
            doc = tx.get("period", period)
            return doc is not None and doc.status == "closed"

        if not self._read(closed):
            try:
                self.record(event)
            except Conflict:
                # Another process closed it first (with another ``by``): that close stands.
                if not self._read(closed):
                    raise
        return self.payouts(period)

    # -- payouts ----------------------------------------------------------------------
    def payouts(
        self,
        period: str | None = None,
        *,
        member: str | None = None,
        status: str | None = None,
    ) -> list[Payout]:
        """Payouts of ``period`` (or of every period), optionally one member's or one status's.

        Ordered by period, then member.

        Raises:
            InvalidInput: ``status`` is not one of :data:`STATUSES`.
            UnknownRecord: ``period`` is not a period of the policy.
        """
        wanted = _status(status)
        v.check_optional_id("member", member)
        if period is not None:
            self.policy.periods.bounds(period)
        return self._read(lambda tx: _payouts(tx, period, member, wanted))

    def payout(self, payout_id: str) -> Payout:
        """One payout by id (``"2026-H2:alice"``).

        Raises:
            UnknownRecord: no such payout.
        """
        v.check_id("payout_id", payout_id)
        return self._read(lambda tx: get_payout(tx, payout_id))

    def mark_payout_paid(
        self,
        payout_id: str,
        reference: str,
        *,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Payout:
        """The host paid the payout; ``reference`` is its own (PayPal id, credit note ...).

        Notifies the member (``payout_paid``). Reporting it again with the same
        reference changes nothing.

        Raises:
            UnknownRecord: no such payout.
            NotAllowed: it failed already.
            Conflict: it was reported paid with another reference.
        """
        self.record(PayoutPaid(payout=payout_id, reference=reference, at=at, event_id=event_id))
        return self.payout(payout_id)

    def mark_payout_failed(
        self,
        payout_id: str,
        reason: str = "failed",
        *,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Payout:
        """Paying the payout failed: its points go back to the member.

        The ``payout`` debit is reversed, booked in the current open period,
        so the points are converted again at its close. Notifies the member
        (``payout_failed``).

        Raises:
            UnknownRecord: no such payout.
            NotAllowed: it was paid already.
        """
        self.record(PayoutFailed(payout=payout_id, reason=reason, at=at, event_id=event_id))
        return self.payout(payout_id)

    def export_payouts(
        self, period: str, *, status: str | None = None
    ) -> list[dict[str, str | int]]:
        """The period's payouts as plain rows (columns :data:`PAYOUT_COLUMNS`) for finance.

        Money is given both in minor units (``amount_minor``, an int) and as a
        decimal string (``amount``, ``"12.50"``); every other value is a str
        or an int::

            import csv, sys
            writer = csv.DictWriter(sys.stdout, fieldnames=kudos.payback.PAYOUT_COLUMNS)
            writer.writeheader()
            writer.writerows(community.export_payouts("2026-H2", status="issued"))
        """
        self.policy.periods.bounds(period)
        rules = self.policy.payback
        return [_row(p, rules) for p in self.payouts(period, status=status)]
