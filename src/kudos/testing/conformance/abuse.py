"""Conformance: serial voting found and reversed, on every store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from ...abuse.rules import AbuseRules
from ...community import Community
from ...errors import InvalidInput, NotAllowed, PeriodClosed, UnknownMember, UnknownRecord
from ...policies import giffgaff, stackexchange
from ...policy import Reward
from ...referrals import ReferralRules
from .. import FakeClock, assert_consistent, assert_unchanged
from ._base import ConformanceBase

MakeCommunity = Callable[..., Community]
DAY = "2026-11-23"


def _votes(c: Community, clock: FakeClock) -> None:
    """On 23 Nov: bob gives alice 3 kudos, carol gives alice 1, bob gives dave 2."""
    clock.set(datetime(2026, 11, 23, 9, tzinfo=UTC))
    for m in ("alice", "bob", "carol", "dave"):
        c.join(m)
    c.post_topic("t0", author="carol")
    for author, giver, n in (("alice", "bob", 3), ("alice", "carol", 1), ("dave", "bob", 2)):
        for i in range(n):
            reply = f"r-{author}-{giver}-{i}"
            c.post_reply(reply, topic="t0", author=author)
            c.give_kudos(reply, giver=giver)
            clock.advance(minutes=10)


class AbuseConformance(ConformanceBase):
    """Serial kudos are detected by the policy's threshold and their awards reversed."""

    @pytest.fixture
    def strict(self, make_community: MakeCommunity) -> Community:
        return make_community(giffgaff().evolve(abuse=AbuseRules(serial_votes=3)))

    def test_serial_kudos_are_listed_and_their_awards_reversed(
        self, strict: Community, clock: FakeClock
    ) -> None:
        c = strict
        _votes(c, clock)
        before = {m: c.standing(m) for m in ("alice", "bob", "carol", "dave")}
        assert (before["alice"].reputation, before["alice"].points) == (4, 20)
        clock.advance(days=1)
        (found,) = c.serial_votes(DAY)
        assert (found.giver, found.author, found.votes, found.reversed) == (
            "bob",
            "alice",
            3,
            False,
        )
        outcome = c.reverse_serial_votes(DAY)
        assert {e.member for e in outcome.entries} == {"alice"}
        assert all(e.reverses is not None and "serial voting" in e.reason for e in outcome.entries)
        alice = c.standing("alice")
        assert (alice.reputation, alice.points) == (1, 5)  # carol's kudos stands
        assert c.standing("dave") == before["dave"]  # two kudos are not serial
        assert c.serial_votes(DAY)[0].reversed
        assert c.reverse_serial_votes(DAY).replayed
        # A serial kudos withdrawn later takes back nothing more.
        c.withdraw_kudos("r-alice-bob-0", giver="bob")
        assert c.standing("alice").reputation == 1
        assert_consistent(c)
        c.rebuild()
        assert c.standing("alice").reputation == 1

    def test_a_day_is_reversed_only_once_it_ended_and_only_under_a_threshold(
        self, strict: Community, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        _votes(strict, clock)
        with assert_unchanged(strict), pytest.raises(NotAllowed, match="has not ended"):
            strict.reverse_serial_votes(DAY)
        other = make_community(community="lenient")
        other.join("alice")
        assert other.serial_votes(DAY) == []
        clock.advance(days=1)
        with assert_unchanged(other), pytest.raises(NotAllowed, match=r"abuse\.serial_votes"):
            other.reverse_serial_votes(DAY)
        for bad in ("23/11/2026", "2026-13-01", 20261123, datetime(2026, 11, 23, tzinfo=UTC)):
            with pytest.raises(InvalidInput, match="day"):
                strict.reverse_serial_votes(bad)  # type: ignore[arg-type]
        strict.reverse_serial_votes(date(2026, 11, 23))  # a date works as well
        assert strict.serial_votes(DAY)[0].reversed
        assert strict.serial_votes((clock() - timedelta(days=30)).date()) == []


def _kudos(c: Community, clock: FakeClock, votes: list[tuple[str, str, int]]) -> None:
    """Each ``(giver, author, n)``: the author posts n replies on t0 and the giver likes each."""
    for giver, author, n in votes:
        for _ in range(n):
            reply = f"r{int(clock().timestamp())}-{giver}-{author}"
            c.post_reply(reply, topic="t0", author=author)
            c.give_kudos(reply, giver=giver)
            clock.advance(minutes=10)


class AbuseReviewConformance(ConformanceBase):
    """Vote rings, votes that pay nothing, payouts held under review, and the review queue."""

    def test_a_vote_ring_is_flagged_and_only_staff_reverse_what_it_paid(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        rules = AbuseRules(ring_size=3, ring_share=80, ring_votes=3)
        c = make_community(giffgaff().evolve(abuse=rules))
        clock.set(datetime(2026, 11, 2, 9, tzinfo=UTC))
        for m in ("a", "b", "c", "d", "e"):
            c.join(m)
        c.join("mod", role="moderator")
        c.post_topic("t0", author="e")
        # a, b and c give each other all their kudos; d gives only to a and b, who never
        # give back; e gives a single kudos.
        _kudos(c, clock, [("a", "b", 2), ("a", "c", 1), ("b", "c", 2), ("b", "a", 1)])
        _kudos(c, clock, [("c", "a", 3), ("d", "a", 2), ("d", "b", 1), ("e", "a", 1)])
        (ring,) = c.vote_rings("2026-H2")
        assert (ring.members, ring.votes, ring.reversed) == (("a", "b", "c"), 9, False)
        assert ring.shares == {"a": 100, "b": 100, "c": 100}
        assert ring.points == 9 * 5
        assert c.vote_rings("2026-H2") == [ring]  # the same log, the same answer
        assert c.abuse_report("2026-H2").rings == (ring,)
        before = {m: c.standing(m) for m in ("a", "b", "c", "d")}
        with assert_unchanged(c), pytest.raises(NotAllowed, match="only staff"):
            c.reverse_vote_ring("2026-H2", ["a", "b", "c"], by="d")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="not a vote ring"):
            c.reverse_vote_ring("2026-H2", ["a", "b"], by="mod")
        with assert_unchanged(c), pytest.raises(UnknownMember):
            c.reverse_vote_ring("2026-H2", ["a", "b", "c"], by="ghost")
        outcome = c.reverse_vote_ring("2026-H2", ["c", "b", "a"], by="mod", reason="ring")
        assert outcome.entries and all(
            e.reverses is not None and "vote ring a, b, c" in e.reason for e in outcome.entries
        )
        assert {e.member for e in outcome.entries} == {"a", "b", "c"}
        # What d and e gave a and b stands; the ring's own kudos pay nothing any more.
        assert c.standing("a").points == before["a"].points - 4 * 5 == 3 * 5
        assert c.standing("b").points == before["b"].points - 2 * 5 == 1 * 5
        assert c.standing("c").points == 0
        assert c.standing("d") == before["d"]
        assert c.vote_rings("2026-H2")[0].reversed
        assert c.abuse_report("2026-H2").points == 0
        assert c.reverse_vote_ring("2026-H2", ["a", "b", "c"], by="mod", reason="ring").replayed
        assert_consistent(c)
        c.rebuild()
        assert c.standing("a").points == 15

    def test_rings_are_off_unless_the_policy_sets_a_size(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        for m in ("a", "b"):
            c.join(m)
        c.join("mod", role="staff")
        c.post_topic("t0", author="a")
        _kudos(c, clock, [("a", "b", 5), ("b", "a", 5)])
        assert c.vote_rings("2026-H2") == []
        with assert_unchanged(c), pytest.raises(NotAllowed, match=r"abuse\.ring_size"):
            c.reverse_vote_ring("2026-H2", ["a", "b"], by="mod")
        with pytest.raises(UnknownRecord):
            c.vote_rings("2026-Q9")

    def test_new_accounts_and_shared_fingerprints_earn_nothing_with_a_reason(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        rules = AbuseRules(new_account_days=7, same_fingerprint=True)
        c = make_community(giffgaff().evolve(abuse=rules))
        clock.set(datetime(2026, 11, 1, 9, tzinfo=UTC))
        c.join("alice")
        c.join("bob", fingerprints=["device-1"])
        c.join("carol")
        c.post_topic("t0", author="alice")
        clock.set(datetime(2026, 11, 20, 9, tzinfo=UTC))
        c.join("newbie")
        c.report_fingerprints("carol", ["device-1"])  # carol turns out to share bob's device
        c.post_reply("r1", topic="t0", author="alice")
        c.post_reply("r2", topic="t0", author="carol")
        c.post_reply("r3", topic="t0", author="bob")
        limited = c.give_kudos("r1", giver="newbie")
        assert [(e.member, e.account, e.amount) for e in limited.entries] == [
            ("alice", "points", 0),
            ("alice", "reputation", 0),
        ]
        assert all(
            "pays nothing" in e.reason and "newbie joined 0 days" in e.reason
            for e in limited.entries
        )
        shared = c.give_kudos("r2", giver="bob")
        assert {e.amount for e in shared.entries} == {0}
        assert all("share the fingerprint 'device-1'" in e.reason for e in shared.entries)
        paid = c.give_kudos("r3", giver="alice")  # no limit between alice and bob
        assert {e.amount for e in paid.entries if e.account == "points"} == {5}
        assert (c.standing("alice").points, c.standing("carol").points) == (0, 0)
        assert c.standing("alice").counters["kudos_received"] == 1  # the vote counts
        report = c.abuse_report("2026-H2")
        assert [(v.giver, v.author, v.rule, v.points) for v in report.limited_votes] == [
            ("newbie", "alice", "new_account", 5),
            ("bob", "carol", "same_fingerprint", 5),
        ]
        clock.advance(days=7)
        c.post_reply("r4", topic="t0", author="alice")
        c.give_kudos("r4", giver="newbie")  # a week on, newbie's kudos pay
        assert c.standing("alice").points == 5
        with assert_unchanged(c), pytest.raises(UnknownMember):
            c.report_fingerprints("ghost", ["device-2"])
        with assert_unchanged(c), pytest.raises(InvalidInput, match="fingerprints"):
            c.report_fingerprints("bob", [])
        assert_consistent(c)
        c.rebuild()
        assert c.abuse_report("2026-H2").limited_votes == report.limited_votes

    def test_members_who_posted_nothing_yet_or_share_a_join_fingerprint_earn_no_one_anything(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        rules = AbuseRules(new_account_contributions=1, same_fingerprint=True)
        # No referral programme: fingerprints given at join are kept all the same.
        policy = giffgaff().evolve(
            abuse=rules,
            referrals=ReferralRules(enabled=False),
            rewards={**giffgaff().rewards, "kudos_given": Reward(points=1)},
        )
        c = make_community(policy)
        c.join("alice", fingerprints=["card-1"])
        c.join("alias", fingerprints=["card-1"])
        c.join("lurker")
        c.post_topic("t0", author="alice")
        c.post_topic("t1", author="alias")
        c.post_reply("r1", topic="t0", author="alice")
        lurking = c.give_kudos("r1", giver="lurker")
        assert [(e.member, e.amount) for e in lurking.entries] == [
            ("alice", 0),
            ("alice", 0),
            ("lurker", 0),
        ]
        assert "lurker has posted 0 topics and replies" in lurking.entries[0].reason
        clock.advance(minutes=1)
        twin = c.give_kudos("r1", giver="alias")
        assert {e.amount for e in twin.entries} == {0}
        c.post_reply("r2", topic="t0", author="lurker")  # now lurker has posted
        c.post_reply("r3", topic="t1", author="alias")
        paid = c.give_kudos("r3", giver="lurker")
        assert {(e.member, e.account, e.amount) for e in paid.entries} == {
            ("alias", "points", 5),
            ("alias", "reputation", 1),
            ("lurker", "points", 1),
        }
        assert [v.rule for v in c.abuse_report("2026-H2").limited_votes] == [
            "new_account",
            "same_fingerprint",
        ]
        # Withdrawing a kudos that paid nothing takes nothing back.
        c.withdraw_kudos("r1", giver="lurker")
        assert (c.standing("alice").points, c.standing("lurker").points) == (0, 1)
        assert_consistent(c)

    def test_a_held_payout_waits_for_its_release_and_bad_holds_write_nothing(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        clock.set(datetime(2026, 11, 2, 9, tzinfo=UTC))
        for m in ("alice", "bob"):
            c.join(m)
        c.join("mod", role="staff")
        c.post_topic("t0", author="bob")
        _kudos(c, clock, [("bob", "alice", 4), ("alice", "bob", 2)])
        for m in ("alice", "bob"):
            c.set_payout_method(m, "credit")
        with assert_unchanged(c), pytest.raises(UnknownMember):
            c.hold_payout("ghost", "2026-H2", by="mod", reason="review")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="only staff"):
            c.hold_payout("alice", "2026-H2", by="bob", reason="review")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="not under review"):
            c.release_payout("alice", "2026-H2", by="mod")
        with assert_unchanged(c), pytest.raises(UnknownRecord):
            c.hold_payout("alice", "2026-Q9", by="mod", reason="review")
        held = c.hold_payout("alice", "2026-H2", by="mod", reason="ring review")
        assert [n.kind for n in held.notifications] == ["payout_under_review"]
        assert c.hold_payout("alice", "2026-H2", by="mod", reason="ring review").replayed
        with assert_unchanged(c), pytest.raises(NotAllowed, match="under review already"):
            c.hold_payout("alice", "2026-H2", by="mod", reason="another look")
        (review,) = c.abuse_report("2026-H2").reviews
        assert (review.member, review.reason, review.points, review.released) == (
            "alice",
            "ring review",
            20,
            False,
        )
        clock.set(datetime(2026, 12, 1, 1, tzinfo=UTC))
        payouts = {p.member: p for p in c.close_period("2026-H2")}
        assert (payouts["bob"].status, payouts["bob"].amount) == ("issued", 10)
        alice = payouts["alice"]
        assert (alice.status, alice.points, alice.amount, alice.hold_reason) == (
            "held",
            20,
            20,
            "ring review",
        )
        rows = {r["member"]: r for r in c.export_payouts("2026-H2")}
        assert rows["alice"]["status"] == "held"
        period = c.payback_period("2026-H2")
        assert (period.held, period.amount, period.payouts) == (20, 10, 1)
        assert c.standing("alice").points == 20  # waiting in 2027-H1
        with assert_unchanged(c), pytest.raises(PeriodClosed):
            c.hold_payout("bob", "2026-H2", by="mod", reason="too late")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="held under review"):
            c.mark_payout_paid(alice.id, "ref-1")
        released = c.release_payout("alice", "2026-H2", by="mod", reason="all fine")
        assert [n.kind for n in released.notifications] == ["payout_released"]
        assert c.payout(alice.id).status == "released"
        assert c.abuse_report("2026-H2").reviews[0].released
        with assert_unchanged(c), pytest.raises(NotAllowed, match="not under review"):
            c.release_payout("alice", "2026-H2", by="mod", reason="again")
        c.set_payout_method("alice", "credit")
        clock.set(datetime(2027, 6, 1, 1, tzinfo=UTC))
        (paid,) = c.close_period("2027-H1")
        assert (paid.member, paid.points, paid.amount, paid.status) == ("alice", 20, 20, "issued")
        assert c.standing("alice").points == 0
        assert_consistent(c)

    def test_a_hold_stands_over_later_closes_until_it_is_released(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community()
        clock.set(datetime(2026, 11, 2, 9, tzinfo=UTC))
        c.join("alice")
        c.join("mod", role="staff")
        c.adjust("alice", points=300, reason="answers", by="mod")
        c.hold_payout("alice", "2026-H2", by="mod", reason="ring review")
        for period, close_at in (("2026-H2", (2026, 12, 1)), ("2027-H1", (2027, 6, 1))):
            c.set_payout_method("alice", "credit")
            clock.set(datetime(*close_at, 9, tzinfo=UTC))
            (held,) = c.close_period(period)
            assert (held.status, held.points) == ("held", 300)
        assert c.standing("alice").points == 300  # in 2027-H2 now, as old as it was
        c.release_payout("alice", "2026-H2", by="mod")
        assert [p.status for p in c.payouts(member="alice")] == ["released", "released"]
        c.set_payout_method("alice", "credit")
        clock.set(datetime(2027, 12, 1, 9, tzinfo=UTC))
        (paid,) = c.close_period("2027-H2")
        assert (paid.status, paid.points, paid.amount) == ("issued", 300, 300)
        assert_consistent(c)


class AbuseReversalConformance(ConformanceBase):
    """Reversing abuse keeps its money from being paid, under caps, holds and repeats."""

    def _last_day(self, make_community: MakeCommunity, clock: FakeClock) -> Community:
        """On 30 Nov 2026, the last day of giffgaff's 2026-H2: bob gives alice 3 kudos, carol 1."""
        c = make_community(giffgaff().evolve(abuse=AbuseRules(serial_votes=3)))
        clock.set(datetime(2026, 11, 30, 9, tzinfo=UTC))
        for m in ("alice", "bob", "carol"):
            c.join(m)
        c.join("mod", role="staff")
        c.post_topic("t0", author="carol")
        _kudos(c, clock, [("bob", "alice", 3), ("carol", "alice", 1)])
        for m in ("alice", "bob", "carol"):
            c.set_payout_method(m, "credit")
        return c

    def test_abuse_reversed_while_its_period_is_open_is_booked_there_and_never_paid(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = self._last_day(make_community, clock)
        clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))  # 2027-H1; 2026-H2 is still open
        assert c.period_of(clock()) == "2027-H1"
        assert c.abuse_report("2026-H2").points == 3 * 5  # detected, and it would pay
        outcome = c.reverse_serial_votes("2026-11-30")
        assert outcome.entries and {e.period for e in outcome.entries} == {"2026-H2"}
        assert c.abuse_report("2026-H2").points == 0
        payouts = {p.member: p for p in c.close_period("2026-H2")}
        assert (payouts["alice"].points, payouts["alice"].amount) == (5, 5)
        assert c.standing("alice").points == 0  # no debt left behind
        assert_consistent(c)
        c.rebuild()
        assert c.standing("alice").points == 0
        assert c.abuse_report("2026-H2").points == 0

    def test_abuse_reversed_after_its_period_closed_is_a_debt_and_the_report_says_it_paid(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = self._last_day(make_community, clock)
        clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))
        c.close_period("2026-H2")
        outcome = c.reverse_serial_votes("2026-11-30")
        assert {e.period for e in outcome.entries} == {"2027-H1"}
        assert c.standing("alice").points == -3 * 5
        assert c.abuse_report("2026-H2").points == 3 * 5  # that payout paid them
        assert_consistent(c)

    def test_serial_votes_under_a_daily_cap_are_all_counted_and_none_topped_up(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        policy = stackexchange().evolve(abuse=AbuseRules(serial_votes=10))

        def run(name: str, serial: bool) -> Community:
            c = make_community(policy, community=name)
            clock.set(datetime(2026, 11, 2, 9, tzinfo=UTC))
            for m in ("alice", "bob", "carol", "dave"):
                c.join(m)
            c.join("mod", role="staff")
            for m in ("bob", "carol", "dave"):
                c.adjust(m, reputation=100, reason="seed", by="mod")
            c.post_topic("t0", author="carol")
            # bob's 25 upvotes come first: 20 fill alice's 200 daily cap, 5 are held back;
            # carol's and dave's honest 15 are all held back behind them.
            votes = [("bob", "alice", 25)] if serial else []
            _kudos(c, clock, [*votes, ("carol", "alice", 8), ("dave", "alice", 7)])
            return c

        clean = run("clean", False).standing("alice").reputation  # never saw bob's votes
        assert clean == 151
        c = run("serial", True)
        assert c.standing("alice").reputation == 201
        clock.set(datetime(2026, 11, 3, 9, tzinfo=UTC))
        (found,) = c.serial_votes("2026-11-02")
        assert (found.giver, found.votes) == ("bob", 25)  # capped votes count too
        c.reverse_serial_votes("2026-11-02")
        assert c.standing("alice").reputation == clean
        assert c.serial_votes("2026-11-02")[0].reversed
        assert_consistent(c)
        c.rebuild()
        assert c.standing("alice").reputation == 151

    def test_a_ring_that_kept_voting_is_reversed_again_by_the_same_call(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(giffgaff().evolve(abuse=AbuseRules(ring_size=4, ring_votes=3)))
        clock.set(datetime(2026, 11, 2, 9, tzinfo=UTC))
        for m in ("a", "b", "e"):
            c.join(m)
        c.join("mod", role="staff")
        c.post_topic("t0", author="e")
        _kudos(c, clock, [("a", "b", 3), ("b", "a", 3)])
        first = c.reverse_vote_ring("2026-H2", ["a", "b"], by="mod", reason="ring")
        assert c.reverse_vote_ring("2026-H2", ["a", "b"], by="mod", reason="ring").replayed
        _kudos(c, clock, [("a", "b", 3)])  # more ring votes after the reversal
        assert c.standing("b").points == 3 * 5
        again = c.reverse_vote_ring("2026-H2", ["a", "b"], by="mod", reason="ring")
        assert not again.replayed and again.event_id != first.event_id
        assert len([e for e in again.entries if (e.member, e.account) == ("b", "points")]) == 3
        assert c.standing("b").points == 0
        (ring,) = c.vote_rings("2026-H2")
        assert ring.reversed and c.abuse_report("2026-H2").points == 0
        assert c.reverse_vote_ring("2026-H2", ["a", "b"], by="mod", reason="ring").replayed
        for empty in ("", "   "):
            with assert_unchanged(c), pytest.raises(InvalidInput, match="reason"):
                c.reverse_vote_ring("2026-H2", ["a", "b"], by="mod", reason=empty)
        assert_consistent(c)
        c.rebuild()
        assert c.standing("b").points == 0


class PayoutHoldConformance(ConformanceBase):
    """Holds name a real open period, cover it alone, keep the member's choice."""

    def _members(self, make_community: MakeCommunity, clock: FakeClock) -> Community:
        c = make_community(giffgaff())  # a choice is spent by the close that pays it
        clock.set(datetime(2026, 11, 2, 9, tzinfo=UTC))
        for m in ("alice", "bob"):
            c.join(m)
        c.join("mod", role="staff")
        c.join("mod2", role="moderator")
        for m in ("alice", "bob"):
            c.adjust(m, points=2000, reason="answers", by="mod")
            c.set_payout_method(m, "credit")
        return c

    def test_a_hold_keeps_the_members_choice_for_the_close_that_pays_them(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = self._members(make_community, clock)
        c.hold_payout("alice", "2026-H2", by="mod", reason="review")
        clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))
        payouts = {p.member: p for p in c.close_period("2026-H2")}
        assert (payouts["alice"].status, payouts["alice"].method) == ("held", "credit")
        assert payouts["alice"].amount == 2000
        assert c.payout_method("alice").chosen  # left for the close that pays her
        assert not c.payout_method("bob").chosen  # bob's was spent on his payout
        c.adjust("alice", points=100, reason="more", by="mod")
        clock.set(datetime(2027, 6, 1, 9, tzinfo=UTC))
        (later,) = c.close_period("2027-H1")  # the hold still stands: shown in full
        assert (later.member, later.status, later.method) == ("alice", "held", "credit")
        assert (later.points, later.amount) == (2100, 2100)
        c.release_payout("alice", "2026-H2", by="mod")
        clock.set(datetime(2027, 12, 1, 9, tzinfo=UTC))
        (paid,) = c.close_period("2027-H2")
        assert (paid.status, paid.method, paid.amount) == ("issued", "credit", 2100)
        assert_consistent(c)

    def test_a_hold_names_a_real_open_period_and_never_ones_own_payout(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = self._members(make_community, clock)
        for period in ("1900-H1", "3000-H1", "2026-Q9"):
            with assert_unchanged(c), pytest.raises((InvalidInput, UnknownRecord)):
                c.hold_payout("alice", period, by="mod", reason="review")
        for empty in ("", " "):
            with assert_unchanged(c), pytest.raises(InvalidInput, match="reason"):
                c.hold_payout("alice", "2026-H2", by="mod", reason=empty)
        with assert_unchanged(c), pytest.raises(NotAllowed, match="their own"):
            c.hold_payout("mod", "2026-H2", by="mod", reason="review")
        c.hold_payout("mod", "2026-H2", by="mod2", reason="review")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="their own"):
            c.release_payout("mod", "2026-H2", by="mod")
        with assert_unchanged(c), pytest.raises(InvalidInput, match="reason"):
            c.release_payout("mod", "2026-H2", by="mod2", reason="")
        c.release_payout("mod", "2026-H2", by="mod2", reason="fine")
        assert_consistent(c)

    def test_a_hold_on_a_period_never_closed_does_not_freeze_later_payouts(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = self._members(make_community, clock)
        c.hold_payout("alice", "2026-H2", by="mod", reason="first look")
        clock.set(datetime(2027, 2, 1, 9, tzinfo=UTC))
        c.adjust("alice", points=300, reason="answers", by="mod")  # booked in 2027-H1
        clock.set(datetime(2027, 7, 1, 9, tzinfo=UTC))
        payouts = {p.member: p for p in c.close_period("2027-H1")}
        assert (payouts["alice"].status, payouts["alice"].points) == ("issued", 300)

    def test_the_reason_shown_is_the_hold_that_applies(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = self._members(make_community, clock)
        c.hold_payout("alice", "2026-H2", by="mod", reason="first look")
        clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))
        held = {p.member: p for p in c.close_period("2026-H2")}["alice"]
        assert held.hold_reason == "first look"
        c.hold_payout("alice", "2027-H1", by="mod", reason="second look")
        c.set_payout_method("alice", "credit")
        clock.set(datetime(2027, 6, 1, 9, tzinfo=UTC))
        (later,) = c.close_period("2027-H1")
        assert (later.status, later.hold_reason) == ("held", "second look")
        reviews = {r.period: r.reason for r in c.abuse_report("2027-H1").reviews}
        assert reviews == {"2026-H2": "first look", "2027-H1": "second look"}
