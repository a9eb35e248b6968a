"""Conformance tests: payback (closing periods, carry-over, payouts, statements, simulation)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from ...community import Community
from ...errors import Conflict, InvalidInput, NotAllowed, UnknownMember, UnknownRecord
from ...payback.rules import PAYOUT_COLUMNS, BonusTier, PaybackRules, PayoutMethod, Rate
from ...policies import giffgaff, stackexchange
from ...policy import Policy
from .. import FakeClock, assert_consistent
from ._base import ConformanceBase

MakeCommunity = Callable[..., Community]

STAFF = "staff1"
H2_CLOSE = datetime(2026, 12, 10, 12, tzinfo=UTC)
"""After 2026-H2 (1 Jun - 30 Nov 2026, London) has ended: when tests close it."""
H1_CLOSE = datetime(2027, 6, 10, 12, tzinfo=UTC)
"""After 2027-H1 (1 Dec 2026 - 31 May 2027) has ended."""


def _policy(**rules: Any) -> Policy:
    """giffgaff's rewards and periods with a payback section of ``rules``."""
    return giffgaff().evolve(payback=PaybackRules(**rules))


def _members(c: Community, *names: str) -> None:
    c.join(STAFF, role="staff")
    for name in names:
        c.join(name)


def _earn(c: Community, clock: FakeClock, member: str, points: int) -> None:
    """Credit ``member`` ``points`` now, by a staff adjustment (one event per call)."""
    clock.advance(minutes=1)
    c.adjust(member, points=points, reason="helped out", by=STAFF)


def _kinds(c: Community, member: str, kind: str) -> list[dict[str, Any]]:
    return [dict(n.data) for n in c.notifications(member=member, limit=None) if n.kind == kind]


def _balance(c: Community, member: str, period: str) -> int:
    return c.statement(member, period=period).totals["points"]


class PaybackConformance(ConformanceBase):
    """What every store must do for payback."""

    # -- closing a period ----------------------------------------------------------------
    def test_closing_pays_each_member_by_their_method_and_empties_the_period(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice", "bob", "carol")
        c.post_topic("t1", author="carol", title="No data abroad")
        c.post_reply("r1", topic="t1", author="alice")
        c.give_kudos("r1", giver="bob")
        c.give_kudos("r1", giver="carol")
        c.accept_solution("t1", reply="r1", by="carol")
        _earn(c, clock, "alice", 1_000)
        _earn(c, clock, "bob", 250)
        c.set_payout_method("alice", "cash")
        c.set_payout_method("bob", "credit")
        c.set_payout_method("carol", "charity", charity="shelter")
        _earn(c, clock, "carol", 400)
        clock.set(H2_CLOSE)
        payouts = c.close_period("2026-H2", by=STAFF)
        assert [
            (p.member, p.points, p.amount, p.currency, p.method, p.status) for p in payouts
        ] == [
            ("alice", 1_060, 1_060, "GBP", "cash", "issued"),
            ("bob", 250, 250, "GBP", "credit", "issued"),
            ("carol", 405, 405, "GBP", "charity", "issued"),
        ]
        assert payouts[2].charity == "shelter" and payouts[2].match == 405
        assert payouts[0].id == "2026-H2:alice" and payouts[0].issued_at == H2_CLOSE
        for member in ("alice", "bob", "carol"):
            assert _balance(c, member, "2026-H2") == 0
        assert c.standing("alice").reputation == 12  # reputation is untouched by payouts
        report = c.payback_period("2026-H2")
        assert (report.status, report.closed_by, report.payouts, report.amount) == (
            "closed",
            STAFF,
            3,
            1_715,
        )
        assert report.by_method == {"cash": 1_060, "credit": 250, "charity": 405}
        assert report.match == 405 and report.outstanding == 1_715
        assert_consistent(c)

    def test_closing_before_the_period_ends_is_refused_saying_when(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice")
        _earn(c, clock, "alice", 2_000)
        with pytest.raises(NotAllowed, match="ends at 2026-12-01 00:00 Europe/London"):
            c.close_period("2026-H2")
        with pytest.raises(NotAllowed, match="2027-06-01 00:00 Europe/London"):
            c.close_period("2027-H1")
        assert c.payback_period("2026-H2").status == "open"
        clock.set(datetime(2026, 12, 1, tzinfo=UTC))
        assert c.payback_period("2026-H2").status == "ended"
        assert _balance(c, "alice", "2026-H2") == 2_000
        assert c.payouts("2026-H2") == []

    def test_closing_an_unknown_period_is_refused(self, make_community: MakeCommunity) -> None:
        c = make_community()
        with pytest.raises(UnknownRecord, match="'2026-Q3'"):
            c.close_period("2026-Q3")
        with pytest.raises(UnknownRecord):
            c.payback_period("whenever")
        with pytest.raises(UnknownRecord):
            c.payouts("2026-13")

    def test_only_staff_close_a_period_when_someone_is_named(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice")
        _earn(c, clock, "alice", 1_000)
        c.set_payout_method("alice", "credit")
        clock.set(H2_CLOSE)
        with pytest.raises(NotAllowed, match="'alice' may not close payback periods"):
            c.close_period("2026-H2", by="alice")
        with pytest.raises(UnknownMember):
            c.close_period("2026-H2", by="ghost")
        assert c.payback_period("2026-H2").status == "ended"
        assert [p.member for p in c.close_period("2026-H2")] == ["alice"]

    def test_closing_twice_returns_the_same_payouts_and_writes_nothing(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice", "bob")
        for member in ("alice", "bob"):
            _earn(c, clock, member, 1_200)
            c.set_payout_method(member, "credit")
        clock.set(H2_CLOSE)
        first = c.close_period("2026-H2", by=STAFF)
        entries = c.ledger(event_id="period-closed:2026-H2")
        notes = c.notifications(limit=None)
        clock.advance(days=1)
        assert c.close_period("2026-H2", by="someone-else") == first
        assert c.close_period("2026-H2") == first
        assert c.ledger(event_id="period-closed:2026-H2") == entries
        assert c.notifications(limit=None) == notes
        assert len(entries) == 2
        assert_consistent(c)

    def test_a_closed_period_takes_no_more_awards_late_ones_go_to_the_open_period(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice", "bob")
        c.post_topic("t1", author="bob", title="Roaming")
        c.post_reply("r1", topic="t1", author="alice")
        assert c.period_of(clock()) == "2026-H2"
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        late = datetime(2026, 11, 28, 9, tzinfo=UTC)
        outcome = c.give_kudos("r1", giver="bob", at=late)
        points = [e for e in outcome.entries if e.account == "points"]
        assert [(e.member, e.amount, e.period, e.at) for e in points] == [
            ("alice", 5, "2027-H1", late)
        ]
        assert c.period_of(late) == "2027-H1"
        assert c.current_period() == "2027-H1"
        assert _balance(c, "alice", "2026-H2") == 0
        assert _balance(c, "alice", "2027-H1") == 5
        assert_consistent(c)

    def test_an_award_late_on_31_may_utc_is_in_the_june_period_in_london(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice")
        clock.set(datetime(2027, 5, 31, 23, 30, tzinfo=UTC))  # 00:30 on 1 June, BST
        outcome = c.adjust("alice", points=10, reason="late-night answer", by=STAFF)
        assert outcome.entries[0].period == "2027-H2"
        assert c.current_period() == "2027-H2"
        clock.set(datetime(2027, 5, 31, 22, 30, tzinfo=UTC))
        assert c.period_of(clock()) == "2027-H1"

    # -- carry-over and lapse -----------------------------------------------------------------
    def test_points_below_the_cash_minimum_roll_over_once_then_lapse(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice")
        _earn(c, clock, "alice", 600)
        c.set_payout_method("alice", "cash")
        clock.set(H2_CLOSE)
        assert c.close_period("2026-H2") == []
        conversion = c.statement("alice", period="2026-H2").conversion
        assert (conversion.paid_points, conversion.carried_over, conversion.lapsed) == (0, 600, 0)
        assert conversion.carried_to == "2027-H1"
        assert conversion.reason == "its value £6.00 is below the £10.00 minimum for cash"
        assert _balance(c, "alice", "2027-H1") == 600
        carried = c.statement("alice", period="2027-H1").lines
        assert [(e.action, e.amount, e.event_id) for e in carried] == [
            ("carry_over", 600, "period-closed:2026-H2")
        ]
        assert _kinds(c, "alice", "points_carried_over")[0]["points"] == 600

        # Still under £10 the next period: the 600 carried once lapse, the new 300 carry.
        clock.set(datetime(2027, 1, 5, tzinfo=UTC))
        _earn(c, clock, "alice", 300)
        c.set_payout_method("alice", "cash")
        clock.set(H1_CLOSE)
        assert c.close_period("2027-H1") == []
        conversion = c.statement("alice", period="2027-H1").conversion
        assert (conversion.points, conversion.carried_in) == (900, 600)
        assert (conversion.carried_over, conversion.lapsed) == (300, 600)
        assert "carried over once already and lapse" in conversion.reason
        assert _balance(c, "alice", "2027-H1") == 0
        assert _balance(c, "alice", "2027-H2") == 300
        assert _kinds(c, "alice", "points_lapsed")[0]["points"] == 600
        report = c.payback_period("2027-H1")
        assert (report.points, report.paid_points, report.carried_over, report.lapsed) == (
            900,
            0,
            300,
            600,
        )
        assert c.standing("alice").lifetime_points == 900
        assert_consistent(c)

    def test_carried_points_are_paid_first_once_the_minimum_is_reached(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice")
        _earn(c, clock, "alice", 600)
        c.set_payout_method("alice", "cash")
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        _earn(c, clock, "alice", 500)
        c.set_payout_method("alice", "cash")
        clock.set(H1_CLOSE)
        [payout] = c.close_period("2027-H1")
        assert (payout.points, payout.amount) == (1_100, 1_100)
        assert c.payback_period("2027-H1").lapsed == 0
        assert_consistent(c)

    def test_a_member_who_chooses_no_method_rolls_over_once_where_members_pick_each_period(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice")
        _earn(c, clock, "alice", 2_000)
        c.set_payout_method("alice", "credit")
        assert c.payout_method("alice").chosen
        clock.set(H2_CLOSE)
        [payout] = c.close_period("2026-H2")
        assert payout.method == "credit"
        # giffgaff: the member picks each period; the choice was spent by that close.
        assert c.payout_method("alice").method is None
        _earn(c, clock, "alice", 1_500)
        clock.set(H1_CLOSE)
        assert c.close_period("2027-H1") == []
        conversion = c.statement("alice", period="2027-H1").conversion
        assert conversion.reason == "no payout method was chosen"
        assert conversion.carried_over == 1_500
        clock.set(datetime(2027, 12, 10, tzinfo=UTC))
        assert c.close_period("2027-H2") == []
        assert c.payback_period("2027-H2").lapsed == 1_500
        assert_consistent(c)

    def test_a_kept_choice_and_a_default_method_pay_without_a_new_choice(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(methods={"credit": PayoutMethod(), "cash": PayoutMethod()}))
        _members(c, "alice", "bob")
        c.set_payout_method("alice", "cash")
        _earn(c, clock, "alice", 100)
        _earn(c, clock, "bob", 100)
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        assert c.payout_method("alice").method == "cash"
        assert c.payout_method("bob") == c.payout_method("bob").__class__(
            member="bob", method="credit"
        )
        _earn(c, clock, "alice", 50)
        clock.set(H1_CLOSE)
        [payout] = c.close_period("2027-H1")
        assert (payout.member, payout.method, payout.amount) == ("alice", "cash", 50)

    def test_points_lapse_at_once_where_the_policy_says_so(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(minimum=500, below_minimum="lapse"))
        _members(c, "alice")
        _earn(c, clock, "alice", 499)
        clock.set(H2_CLOSE)
        assert c.close_period("2026-H2") == []
        assert c.payback_period("2026-H2").lapsed == 499
        assert _balance(c, "alice", "2027-H1") == 0
        assert c.standing("alice").points == 0
        assert c.standing("alice").lifetime_points == 499
        assert_consistent(c)

    # -- money ----------------------------------------------------------------------------
    def test_credit_uplift_and_charity_match_are_separate_figures(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(
            _policy(
                methods={
                    "credit": PayoutMethod(uplift_percent=10),
                    "cash": PayoutMethod(minimum=1_000),
                    "charity": PayoutMethod(match_percent=100),
                },
                charities=("shelter", "samaritans"),
            )
        )
        _members(c, "alice", "bob")
        _earn(c, clock, "alice", 1_234)
        _earn(c, clock, "bob", 1_234)
        c.set_payout_method("alice", "credit")
        c.set_payout_method("bob", "charity", charity="samaritans")
        clock.set(H2_CLOSE)
        alice, bob = c.close_period("2026-H2")
        assert (alice.base, alice.uplift, alice.amount, alice.match) == (1_234, 123, 1_357, 0)
        assert (bob.base, bob.uplift, bob.amount, bob.match) == (1_234, 0, 1_234, 1_234)
        assert (alice.points, bob.points) == (1_234, 1_234)
        assert c.payback_period("2026-H2").match == 1_234

    def test_a_rate_with_rounding_down_never_pays_a_fraction(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(rate=Rate(minor_units=1, points=3)))
        _members(c, "alice")
        _earn(c, clock, "alice", 1_001)
        clock.set(H2_CLOSE)
        [payout] = c.close_period("2026-H2")
        assert (payout.points, payout.amount) == (1_001, 333)

    def test_bonus_tiers_add_to_the_points_past_each_threshold(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        tiers = [BonusTier(above=5_000, percent=10), BonusTier(above=10_000, percent=20)]
        c = make_community(_policy(bonus_tiers=tiers))
        _members(c, "alice", "bob", "carol")
        _earn(c, clock, "alice", 4_000)
        _earn(c, clock, "bob", 6_000)
        _earn(c, clock, "carol", 12_000)
        clock.set(H2_CLOSE)
        alice, bob, carol = c.close_period("2026-H2")
        assert (alice.bonus, alice.amount) == (0, 4_000)
        assert (bob.bonus, bob.amount) == (100, 6_100)
        assert (carol.bonus, carol.amount) == (500 + 400, 12_900)

    def test_the_per_member_maximum_carries_the_excess_over(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(maximum=3_000))
        _members(c, "alice")
        _earn(c, clock, "alice", 4_200)
        clock.set(H2_CLOSE)
        [payout] = c.close_period("2026-H2")
        assert (payout.points, payout.amount) == (3_000, 3_000)
        conversion = c.statement("alice", period="2026-H2").conversion
        assert conversion.carried_over == 1_200
        assert conversion.reason == "£30.00 is the most paid to one member for a period"
        assert _balance(c, "alice", "2027-H1") == 1_200
        assert_consistent(c)

    def test_the_excess_over_the_maximum_lapses_where_the_policy_says_so(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(maximum=3_000, over_maximum="lapse"))
        _members(c, "alice")
        _earn(c, clock, "alice", 4_200)
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        report = c.payback_period("2026-H2")
        assert (report.paid_points, report.carried_over, report.lapsed) == (3_000, 0, 1_200)

    def test_staff_points_lapse_where_staff_earn_nothing(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy())
        _members(c)
        _earn(c, clock, STAFF, 700)
        clock.set(H2_CLOSE)
        assert c.close_period("2026-H2") == []
        assert c.statement(STAFF, period="2026-H2").conversion.lapsed == 700
        paying = make_community(_policy().evolve(staff_earn=True), community="staff-paid")
        _members(paying)
        clock.set(datetime(2026, 11, 1, tzinfo=UTC))
        _earn(paying, clock, STAFF, 700)
        clock.set(H2_CLOSE)
        assert [p.member for p in paying.close_period("2026-H2")] == [STAFF]

    def test_points_taken_back_after_a_payout_become_a_debt_on_the_next_period(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy())
        _members(c, "alice", "bob")
        c.post_topic("t1", author="bob", title="eSIM")
        c.post_reply("r1", topic="t1", author="alice")
        c.accept_solution("t1", reply="r1", by="bob")
        clock.set(H2_CLOSE)
        payouts = {p.member: p for p in c.close_period("2026-H2")}
        assert (payouts["alice"].points, payouts["bob"].points) == (50, 5)
        c.remove_post("r1", by=STAFF, reason="copied")
        assert _balance(c, "alice", "2027-H1") == -50
        clock.set(H1_CLOSE)
        assert c.close_period("2027-H1") == []
        conversion = c.statement("alice", period="2027-H1").conversion
        assert (conversion.debt, conversion.carried_to) == (50, "2027-H2")
        assert _balance(c, "alice", "2027-H1") == 0
        assert _balance(c, "alice", "2027-H2") == -50
        assert c.payback_period("2027-H1").debts == 50 + 5  # bob accepted it: his 5 too
        assert_consistent(c)

    # -- the payout lifecycle ---------------------------------------------------------------
    def test_a_paid_payout_keeps_the_hosts_reference(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy())
        _members(c, "alice")
        _earn(c, clock, "alice", 1_500)
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        clock.advance(days=3)
        paid = c.mark_payout_paid("2026-H2:alice", "PAYPAL-9X1")
        assert (paid.status, paid.reference, paid.settled_at) == ("paid", "PAYPAL-9X1", clock())
        assert c.mark_payout_paid("2026-H2:alice", "PAYPAL-9X1") == paid
        with pytest.raises(Conflict):
            c.mark_payout_paid("2026-H2:alice", "PAYPAL-OTHER")
        with pytest.raises(NotAllowed, match="paid already"):
            c.mark_payout_failed("2026-H2:alice", "bounced")
        assert c.payouts("2026-H2", status="paid") == [paid]
        assert c.payouts(member="alice") == [paid]
        assert c.payback_period("2026-H2").paid == 1_500
        assert _kinds(c, "alice", "payout_paid") == [
            {
                "payout": "2026-H2:alice",
                "period": "2026-H2",
                "amount": 1_500,
                "currency": "GBP",
                "method": "credit",
                "reference": "PAYPAL-9X1",
            }
        ]
        assert_consistent(c)

    def test_a_failed_payout_returns_its_points_in_the_open_period(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy())
        _members(c, "alice")
        _earn(c, clock, "alice", 1_500)
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        failed = c.mark_payout_failed("2026-H2:alice", "paypal-unverified")
        assert (failed.status, failed.failure_reason) == ("failed", "paypal-unverified")
        [reversal] = c.ledger(event_id="payout-failed:2026-H2:alice")
        assert (reversal.amount, reversal.period, reversal.action) == (1_500, "2027-H1", "payout")
        assert reversal.reverses is not None
        assert _balance(c, "alice", "2026-H2") == 0
        assert c.standing("alice").points == 1_500
        assert c.standing("alice").lifetime_points == 1_500
        assert _kinds(c, "alice", "payout_failed")[0]["returned_to"] == "2027-H1"
        with pytest.raises(NotAllowed, match="failed already"):
            c.mark_payout_paid("2026-H2:alice", "PAYPAL-1")
        assert c.payback_period("2026-H2").failed == 1_500
        clock.set(H1_CLOSE)
        [again] = c.close_period("2027-H1")
        assert (again.id, again.points) == ("2027-H1:alice", 1_500)
        assert_consistent(c)

    def test_an_unknown_payout_is_refused(self, make_community: MakeCommunity) -> None:
        c = make_community()
        with pytest.raises(UnknownRecord, match="no payout '2026-H2:nobody'"):
            c.mark_payout_paid("2026-H2:nobody", "REF")
        with pytest.raises(UnknownRecord):
            c.payout("2026-H2:nobody")
        with pytest.raises(InvalidInput):
            c.payouts("2026-H2", status="lost")

    def test_payout_notifications_tell_the_member_what_was_issued(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice")
        _earn(c, clock, "alice", 1_000)
        c.set_payout_method("alice", "charity", charity="shelter")
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        assert _kinds(c, "alice", "payout_issued") == [
            {
                "payout": "2026-H2:alice",
                "period": "2026-H2",
                "points": 1_000,
                "amount": 1_000,
                "currency": "GBP",
                "method": "charity",
                "charity": "shelter",
                "match": 1_000,
            }
        ]

    # -- choosing a method ----------------------------------------------------------------
    def test_a_payout_method_must_be_one_the_policy_offers(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(
            _policy(
                methods={"credit": PayoutMethod(), "charity": PayoutMethod()},
                charities=("shelter",),
            )
        )
        _members(c, "alice")
        with pytest.raises(NotAllowed, match="does not pay by 'cash'; choose one of credit"):
            c.set_payout_method("alice", "cash")
        with pytest.raises(NotAllowed, match="goes with the 'charity' method"):
            c.set_payout_method("alice", "credit", charity="shelter")
        with pytest.raises(NotAllowed, match="not one of the community's charities"):
            c.set_payout_method("alice", "charity", charity="elsewhere")
        with pytest.raises(UnknownMember):
            c.set_payout_method("ghost", "credit")
        first = c.set_payout_method("alice", "charity", charity="shelter")
        assert c.set_payout_method("alice", "charity", charity="shelter").replayed
        c.set_payout_method("alice", "credit")
        back = c.set_payout_method("alice", "charity", charity="shelter")
        assert not back.replayed and back.event_id != first.event_id
        assert c.payout_method("alice").method == "charity"
        assert_consistent(c)

    def test_a_policy_that_pays_nothing_refuses_to_close_or_take_a_choice(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(stackexchange())
        _members(c, "alice")
        clock.set(H2_CLOSE)
        with pytest.raises(NotAllowed, match="pays nothing out"):
            c.close_period("2026-11")
        with pytest.raises(NotAllowed, match="pays nothing out"):
            c.set_payout_method("alice", "cash")

    # -- statements, exports, rebuild, simulation -----------------------------------------
    def test_the_statement_of_a_closed_period_agrees_with_its_payout(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(maximum=1_000, bonus_tiers=[BonusTier(above=500, percent=7)]))
        _members(c, "alice", "bob", "carol")
        c.post_topic("t1", author="bob", title="Top-ups")
        c.post_reply("r1", topic="t1", author="alice")
        c.give_kudos("r1", giver="bob")
        c.accept_solution("t1", reply="r1", by="bob")
        _earn(c, clock, "alice", 1_200)
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        statement = c.statement("alice", period="2026-H2")
        payout, conversion = statement.payout, statement.conversion
        earned = sum(
            e.amount
            for e in statement.lines
            if e.action not in ("payout", "carry_over", "lapse", "write_off")
            and e.account == "points"
        )
        paid = -sum(e.amount for e in statement.lines if e.action == "payout")
        assert earned == conversion.points == 1_255
        assert paid == payout.points == conversion.paid_points
        assert conversion.paid_points + conversion.carried_over + conversion.lapsed == earned
        rules = c.policy.payback
        assert payout.amount == rules.base(paid) + rules.bonus(paid) == conversion.amount <= 1_000
        assert statement.totals["points"] == 0
        assert c.statement("alice", period="2027-H1").totals["points"] == conversion.carried_over
        assert c.statement("bob", period="2026-H2").payout.points == 5
        assert c.statement("carol", period="2026-H2").payout is None
        assert c.statement("alice").conversion is None

    def test_exported_rows_are_plain_text_and_whole_numbers_for_finance(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice", "bob")
        _earn(c, clock, "alice", 1_234)
        _earn(c, clock, "bob", 567)
        c.set_payout_method("alice", "cash")
        c.set_payout_method("bob", "charity", charity="shelter")
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        c.mark_payout_paid("2026-H2:bob", "GIFT-7")
        rows = c.export_payouts("2026-H2")
        assert all(tuple(row) == PAYOUT_COLUMNS for row in rows)
        assert all(
            isinstance(v, str | int) and not isinstance(v, bool)
            for row in rows
            for v in row.values()
        )
        assert rows[0]["amount"] == "12.34" and rows[0]["amount_minor"] == 1_234
        assert rows[1]["reference"] == "GIFT-7" and rows[1]["charity"] == "shelter"
        assert [r["member"] for r in c.export_payouts("2026-H2", status="issued")] == ["alice"]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=PAYOUT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        assert out.getvalue().splitlines()[1].startswith("2026-H2:alice,alice,2026-H2,cash,,1234")

    def test_a_closed_period_rebuilds_exactly(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice", "bob", "carol")
        _earn(c, clock, "alice", 1_500)
        _earn(c, clock, "bob", 700)
        _earn(c, clock, "carol", 300)
        c.set_payout_method("alice", "cash")
        c.set_payout_method("bob", "cash")
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        c.mark_payout_failed("2026-H2:alice", "bounced")
        before = (c.payouts("2026-H2"), c.payback_period("2026-H2"), c.standing("bob"))
        c.rebuild()
        assert (c.payouts("2026-H2"), c.payback_period("2026-H2"), c.standing("bob")) == before
        assert_consistent(c)

    def test_simulate_reports_what_a_rate_cut_would_have_saved(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        _members(c, "alice", "bob")
        _earn(c, clock, "alice", 2_000)
        _earn(c, clock, "bob", 1_500)
        c.set_payout_method("alice", "credit")
        c.set_payout_method("bob", "cash")
        clock.set(H2_CLOSE)
        c.close_period("2026-H2")
        cut = c.policy.evolve(
            payback=PaybackRules(
                rate=Rate(minor_units=4, points=5),
                methods=c.policy.payback.methods,
                default_method=None,
                keep_choice=False,
            )
        )
        [row] = c.simulate(cut).extras["payouts"]
        assert (row.period, row.before, row.after, row.change) == ("2026-H2", 3_500, 2_800, -700)
        assert (row.payouts_before, row.payouts_after) == (2, 2)
        [nothing] = c.simulate(stackexchange()).extras["payouts"]
        assert (nothing.after, nothing.other_currency) == (0, None)
        assert c.payouts("2026-H2")[0].amount == 2_000  # the store is untouched
