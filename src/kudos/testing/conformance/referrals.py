"""Conformance tests: referrals (lifecycle, rewards, caps, bonuses, fraud rules, figures)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest

from ...community import Community
from ...errors import Conflict, InvalidInput, NotAllowed, UnknownMember, UnknownRecord
from ...events import ReferralCodeIssued, ReferralQualified
from ...policies import giffgaff, stackexchange
from ...policy import Policy
from ...referrals.rules import ReferralBonus, ReferralRules
from ...stores.protocol import Store
from .. import FakeClock, assert_consistent
from ._base import ConformanceBase

MakeCommunity = Callable[..., Community]


def _policy(**rules: Any) -> Policy:
    """giffgaff's rewards (referrer 500 points and 10 reputation, new member 500 points)
    with a referral section of ``rules`` (no bonuses, no cap unless given)."""
    return giffgaff().evolve(referrals=ReferralRules(**rules))


def _kinds(c: Community, member: str, kind: str) -> list[dict[str, Any]]:
    return [dict(n.data) for n in c.notifications(member=member, limit=None) if n.kind == kind]


def _members(c: Community, *names: str) -> None:
    for name in names:
        c.join(name)


class ReferralConformance(ConformanceBase):
    """What every store must do for referrals."""

    # -- making a referral -------------------------------------------------------------
    def test_joining_through_a_member_records_a_pending_referral(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        c.join("alice")
        c.join("bob", referred_by="alice")
        referral = c.referral("bob")
        assert (referral.referrer, referral.status, referral.points) == ("alice", "pending", 0)
        assert referral.expires_at == referral.made_at + timedelta(days=90)
        assert c.member("bob").referred_by == "alice"
        assert c.standing("alice").pending_points == 500
        assert c.standing("bob").pending_points == 500
        assert c.statement("alice").lines == ()
        assert c.referral_figures().pending == 1
        assert_consistent(c)

    def test_a_referral_code_is_stable_and_brings_in_its_member(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        c.join("alice")
        code = c.referral_code("alice")
        assert len(code) >= 16 and c.referral_code("alice") == code
        c.join("bob", referral_code=code)
        assert c.referral("bob").referrer == "alice"
        assert c.referral("bob").code == code
        assert c.member("bob").referred_by == "alice"
        c.rebuild()
        assert c.referral_code("alice") == code
        assert_consistent(c)

    def test_an_unknown_referral_code_refuses_the_join_and_writes_nothing(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        c.join("alice")
        with pytest.raises(UnknownRecord, match="unknown referral code 'nope'"):
            c.join("bob", referral_code="nope")
        with pytest.raises(UnknownMember):
            c.member("bob")
        c.join("bob")
        assert c.referrals("alice") == []

    def test_a_code_and_a_referrer_must_agree(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _members(c, "alice", "carol")
        code = c.referral_code("alice")
        with pytest.raises(NotAllowed, match="belongs to 'alice', not to 'carol'"):
            c.join("bob", referred_by="carol", referral_code=code)
        c.join("bob", referred_by="alice", referral_code=code)
        assert c.referral("bob").referrer == "alice"

    def test_a_concurrent_first_code_wins(
        self, make_community: MakeCommunity, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        c = make_community(_policy())
        other = make_community(_policy())  # another app server on the same store
        c.join("alice")

        def raced(nbytes: int) -> str:
            other.record(ReferralCodeIssued(member="alice", code="first-code"))
            return "second-code"

        monkeypatch.setattr(secrets, "token_urlsafe", raced)
        assert c.referral_code("alice") == "first-code"
        assert other.referral_code("alice") == "first-code"

    def test_a_code_is_issued_once_per_member_and_never_shared(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _members(c, "alice", "bob")
        c.record(ReferralCodeIssued(member="alice", code="ALICE1"))
        with pytest.raises(NotAllowed, match="already someone else's"):
            c.record(ReferralCodeIssued(member="bob", code="ALICE1"))
        with pytest.raises(Conflict):
            c.record(ReferralCodeIssued(member="alice", code="ALICE2"))
        with pytest.raises(NotAllowed, match="already has referral code 'ALICE1'"):
            c.record(ReferralCodeIssued(member="alice", code="ALICE2", event_id="again"))

    def test_refer_records_a_referral_for_a_member_who_already_joined(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy())
        _members(c, "alice", "bob")
        clock.advance(days=3)
        outcome = c.refer("alice", "bob", fingerprints=["device:1"])
        assert outcome.event_id == "referral-made:bob"
        referral = c.referral("bob")
        assert (referral.status, referral.fingerprints) == ("pending", ("device:1",))
        assert referral.made_at == clock()
        assert c.member("bob").referred_by == "alice"
        assert c.refer("alice", "bob", fingerprints=["device:1"]).replayed
        assert_consistent(c)

    def test_refer_refuses_a_member_who_joined_too_long_ago(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(refer_within_days=30))
        _members(c, "alice", "bob")
        clock.advance(days=31)
        with pytest.raises(NotAllowed, match="more than 30 days before this referral"):
            c.refer("alice", "bob")
        relaxed = make_community(_policy(refer_within_days=0), community="relaxed")
        _members(relaxed, "alice", "bob")
        clock.advance(days=400)
        relaxed.refer("alice", "bob")
        assert relaxed.referral("bob").status == "pending"

    def test_refer_refuses_a_referrer_who_joined_after_the_member(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy())
        c.join("bob")
        clock.advance(hours=1)
        c.join("alice")
        with pytest.raises(NotAllowed, match="can only refer someone who joined after them"):
            c.refer("alice", "bob")

    # -- fraud rules that refuse outright --------------------------------------------------
    def test_a_member_cannot_refer_themselves(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        with pytest.raises(NotAllowed, match="cannot refer themselves"):
            c.join("alice", referred_by="alice")
        with pytest.raises(UnknownMember):
            c.member("alice")
        c.join("alice")
        with pytest.raises(NotAllowed, match="cannot refer themselves"):
            c.refer("alice", "alice")

    def test_an_unknown_referrer_refuses_the_join(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        with pytest.raises(UnknownMember, match="referrer 'ghost' of 'bob' is not a member"):
            c.join("bob", referred_by="ghost")
        with pytest.raises(UnknownMember):
            c.member("bob")

    def test_a_member_is_referred_only_once(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _members(c, "alice", "carol")
        c.join("bob", referred_by="alice")
        with pytest.raises(NotAllowed, match="already referred by 'alice'"):
            c.refer("carol", "bob")
        with pytest.raises(NotAllowed, match="already referred by 'alice'"):
            c.refer("alice", "bob")
        assert c.referral("bob").referrer == "alice"
        assert [r.member for r in c.referrals("carol")] == []
        assert_consistent(c)

    def test_referral_cycles_are_refused(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        c.join("alice")
        c.join("bob", referred_by="alice")
        with pytest.raises(NotAllowed, match="referral cycle"):
            c.refer("bob", "alice")
        c.join("carol", referred_by="bob")
        with pytest.raises(NotAllowed, match="'alice' -> 'bob' -> 'carol'"):
            c.refer("carol", "alice")
        assert c.referrals(status="pending") == c.referrals()
        assert len(c.referrals()) == 2
        assert_consistent(c)

    def test_cycles_can_be_allowed_by_the_policy(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy(refuse_cycles=False))
        c.join("alice")
        c.join("bob", referred_by="alice")
        c.refer("bob", "alice")
        assert c.referral("alice").referrer == "bob"

    # -- qualifying --------------------------------------------------------------------------
    def test_a_qualified_referral_rewards_both_members_and_counts(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        c.join("alice")
        c.join("bob", referred_by="alice")
        outcome = c.qualify_referral("bob")
        assert outcome.total("alice") == 500 and outcome.total("alice", "reputation") == 10
        assert outcome.total("bob") == 500
        assert {e.subject for e in outcome.entries} == {"referral:bob"}
        referral = c.referral("bob")
        assert (referral.status, referral.points, referral.welcome_points) == (
            "qualified",
            500,
            500,
        )
        assert referral.event_id == "referral-qualified:bob"
        assert referral.revocable_until == referral.rewarded_at + timedelta(days=90)  # type: ignore[operator]
        alice = c.standing("alice")
        assert alice.counters["referrals"] == 1 and alice.pending_points == 0
        assert c.standing("bob").pending_points == 0
        assert _kinds(c, "alice", "referral_qualified") == [
            {
                "new_member": "bob",
                "points": 500,
                "reputation": 10,
                "bonus_points": 0,
                "capped": False,
            }
        ]
        assert _kinds(c, "bob", "referral_welcome") == [
            {"referrer": "alice", "points": 500, "reputation": 0}
        ]
        assert c.qualify_referral("bob").replayed
        assert_consistent(c)

    def test_only_a_pending_referral_qualifies(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        c.join("alice")
        with pytest.raises(UnknownRecord, match="member 'alice' has no referral"):
            c.qualify_referral("alice")
        c.join("bob", referred_by="alice")
        c.qualify_referral("bob")
        with pytest.raises(NotAllowed, match="already qualified"):
            c.record(ReferralQualified(member="bob", event_id="activation-2"))
        with pytest.raises(NotAllowed, match="already qualified"):
            c.qualify_referral("bob", fingerprints=["card:1"])  # a later top-up, say
        assert c.standing("alice").points == 500

    def test_the_referrals_counter_feeds_period_leaderboards(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _members(c, "alice", "carol")
        for n, referrer in enumerate(["alice", "alice", "carol"]):
            c.join(f"new{n}", referred_by=referrer)
            c.qualify_referral(f"new{n}")
        rows = c.leaderboard(by="referrals", period="current")
        assert [(r.member, r.value) for r in rows] == [("alice", 2), ("carol", 1)]

    def test_staff_referrers_count_but_earn_nothing(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        c.join("staff1", role="staff")
        c.join("bob", referred_by="staff1")
        assert c.standing("staff1").pending_points == 0
        outcome = c.qualify_referral("bob")
        assert outcome.total("staff1") == 0 and outcome.total("bob") == 500
        assert c.standing("staff1").counters["referrals"] == 1

    # -- expiry ----------------------------------------------------------------------------
    def test_a_pending_referral_expires_after_its_window(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(expire_after_days=90))
        c.join("alice")
        c.join("bob", referred_by="alice")
        start = clock()
        clock.advance(days=60)
        c.join("carol", referred_by="alice")
        clock.advance(days=29)
        assert c.expire_referrals().notifications == ()
        clock.advance(days=1)
        with pytest.raises(NotAllowed, match="ran out on 2027-02-21"):
            c.qualify_referral("bob")
        assert c.standing("alice").pending_points == 500  # only carol's is still live
        outcome = c.expire_referrals()
        assert [(n.member, n.kind, n.data["new_member"]) for n in outcome.notifications] == [
            ("alice", "referral_expired", "bob")
        ]
        bob = c.referral("bob")
        assert (bob.status, bob.expired_at) == ("expired", start + timedelta(days=90))
        assert c.referral("carol").status == "pending"
        assert c.expire_referrals().replayed  # the same sweep again: nothing more
        with pytest.raises(NotAllowed, match="expired on 2027-02-21"):
            c.qualify_referral("bob")
        assert c.referral_figures().expired == 1
        assert_consistent(c)

    def test_a_sweep_uses_its_as_of_and_never_looks_ahead(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(expire_after_days=10))
        c.join("alice")
        c.join("bob", referred_by="alice")
        start = clock()
        clock.advance(days=30)
        with pytest.raises(InvalidInput, match="in the future"):
            c.expire_referrals(as_of=clock() + timedelta(seconds=1))
        c.expire_referrals(as_of=start + timedelta(days=9))
        assert c.referral("bob").status == "pending"
        c.expire_referrals(as_of=start + timedelta(days=10))
        assert c.referral("bob").status == "expired"
        assert_consistent(c)

    def test_without_a_window_referrals_wait_for_ever(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(expire_after_days=0))
        c.join("alice")
        c.join("bob", referred_by="alice")
        clock.advance(days=1000)
        c.expire_referrals()
        assert c.referral("bob").expires_at is None
        assert c.qualify_referral("bob").total("alice") == 500

    # -- revocation ------------------------------------------------------------------------
    def test_revoking_a_qualified_referral_claws_back_every_reward(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(bonuses=[ReferralBonus(nth=1, points=250)]))
        c.join("alice")
        c.join("bob", referred_by="alice")
        given = c.qualify_referral("bob")
        assert given.total("alice") == 750
        clock.advance(days=10)
        taken = c.revoke_referral("bob", reason="charged back")
        assert sorted(e.reverses for e in taken.entries) == sorted(  # type: ignore[type-var]
            e.entry_id for e in given.entries
        )
        assert all(e.reason == "referral of 'bob' revoked (charged back)" for e in taken.entries)
        alice = c.standing("alice")
        assert (alice.lifetime_points, alice.reputation) == (0, 0)
        assert c.standing("bob").lifetime_points == 0
        assert c.standing("alice").counters.get("referrals", 0) == 0
        referral = c.referral("bob")
        assert (referral.status, referral.points, referral.revoke_reason) == (
            "revoked",
            0,
            "charged back",
        )
        assert _kinds(c, "alice", "referral_revoked") == [
            {"new_member": "bob", "reason": "charged back", "points": 750}
        ]
        with pytest.raises(NotAllowed, match="was revoked"):
            c.record(ReferralQualified(member="bob", event_id="late"))
        assert c.revoke_referral("bob", reason="charged back").replayed
        with pytest.raises(NotAllowed, match="was revoked"):
            c.revoke_referral("bob", reason="left")
        assert c.referral_figures().points == 0
        assert_consistent(c)

    def test_revocation_is_refused_after_its_window(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(revoke_within_days=60))
        c.join("alice")
        c.join("bob", referred_by="alice")
        c.qualify_referral("bob")
        clock.advance(days=61)
        with pytest.raises(NotAllowed, match="that window has passed"):
            c.revoke_referral("bob", reason="left")
        assert c.referral("bob").status == "qualified"
        assert c.standing("alice").lifetime_points == 500

    def test_a_pending_referral_can_be_revoked_with_nothing_to_claw_back(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        c.join("alice")
        c.join("bob", referred_by="alice")
        outcome = c.revoke_referral("bob", reason="cancelled order")
        assert outcome.entries == ()
        assert c.referral("bob").status == "revoked"
        assert c.standing("alice").pending_points == 0
        with pytest.raises(NotAllowed, match="was revoked"):
            c.qualify_referral("bob")
        assert_consistent(c)

    # -- caps and bonuses --------------------------------------------------------------------
    def test_referrals_past_the_cap_qualify_but_pay_the_referrer_nothing(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(max_rewarded_per_period=2))
        c.join("alice")
        for n in range(4):
            c.join(f"new{n}", referred_by="alice")
        assert c.standing("alice").pending_points == 1000  # two slots left this period
        for n in range(3):
            c.qualify_referral(f"new{n}")
        third = c.referral("new2")
        assert third.capped and third.points == 0 and third.welcome_points == 500
        assert c.standing("alice").points == 1000
        assert c.standing("alice").counters["referrals"] == 3
        assert c.standing("alice").pending_points == 0
        c.revoke_referral("new0", reason="left")  # gives back a slot
        assert c.qualify_referral("new3").total("alice") == 500
        clock.advance(days=8)  # 2026-H2 ends on 30 November: a new period, a new cap
        c.join("new4", referred_by="alice")
        assert c.qualify_referral("new4").total("alice") == 500
        assert_consistent(c)

    def test_a_bonus_is_paid_once_for_the_nth_referral_of_a_period(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy(bonuses=[ReferralBonus(nth=3, points=1000, reputation=5)]))
        c.join("alice")
        for n in range(5):
            c.join(f"new{n}", referred_by="alice")
        totals = [c.qualify_referral(f"new{n}").total("alice") for n in range(3)]
        assert totals == [500, 500, 1500]
        assert c.referral("new2").points == 1500
        c.revoke_referral("new0", reason="left")  # now only two, but the bonus stands
        assert c.qualify_referral("new3").total("alice") == 500
        c.revoke_referral("new2", reason="charged back")  # the bonus goes with it
        assert c.standing("alice").points == 1000
        assert c.qualify_referral("new4").total("alice") == 1500  # the 3rd again: earned again
        assert_consistent(c)

    def test_a_first_recruit_bonus_needs_a_quick_start(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        first = ReferralBonus(nth=1, per="all", points=500, within_days_of_joining=42)
        c = make_community(_policy(bonuses=[first], expire_after_days=0))
        _members(c, "early", "late")
        c.join("a", referred_by="early")
        c.join("b", referred_by="late")
        clock.advance(days=41)
        assert c.qualify_referral("a").total("early") == 1000
        clock.advance(days=2)
        assert c.qualify_referral("b").total("late") == 500
        assert_consistent(c)

    def test_the_giffgaff_preset_pays_15_recruits_a_period_and_a_first_recruit_bonus(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(giffgaff())
        c.join("alice")
        for n in range(16):
            c.join(f"new{n}", referred_by="alice")
            c.qualify_referral(f"new{n}")
        assert c.standing("alice").points == 15 * 500 + 500
        assert c.referral("new15").capped
        assert c.standing("alice").counters["referrals"] == 16

    # -- fraud rules that hold for review ---------------------------------------------------
    def test_a_fingerprint_shared_with_the_referrer_holds_the_referral(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        c.join("staff1", role="staff")
        c.join("mod1", role="moderator")
        c.join("alice", fingerprints=["pay:1234"])
        c.join("bob", referred_by="alice", fingerprints=["pay:1234", "device:9"])
        outcome = c.qualify_referral("bob")
        assert outcome.entries == ()
        referral = c.referral("bob")
        assert referral.status == "held"
        assert referral.held_reasons == ("shares fingerprint 'pay:1234' with its referrer 'alice'",)
        assert _kinds(c, "alice", "referral_held") == [{"new_member": "bob"}]
        for staff in ("staff1", "mod1"):
            assert _kinds(c, staff, "referral_held") == [
                {"new_member": "bob", "referrer": "alice", "reasons": list(referral.held_reasons)}
            ]
        assert c.standing("alice").counters.get("referrals", 0) == 0
        assert c.standing("alice").pending_points == 0
        assert [r.member for r in c.referrals(status="held")] == ["bob"]
        assert_consistent(c)

    def test_fingerprints_reported_on_qualifying_are_checked_too(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy(notify_staff=False))
        c.join("staff1", role="staff")
        c.join("alice", fingerprints=["card:77"])
        c.join("bob", referred_by="alice")
        c.qualify_referral("bob", fingerprints=["card:77"])
        assert c.referral("bob").status == "held"
        assert c.referral("bob").fingerprints == ("card:77",)
        assert _kinds(c, "staff1", "referral_held") == []

    def test_too_many_recent_referrals_on_one_fingerprint_are_held(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(
            _policy(
                max_referrals_per_fingerprint=2, fingerprint_window_days=30, expire_after_days=0
            )
        )
        _members(c, "alice", "carol")
        c.join("old", referred_by="carol", fingerprints=["addr:x"])
        clock.advance(days=31)
        c.join("r1", referred_by="alice", fingerprints=["addr:x"])
        c.join("r2", referred_by="carol", fingerprints=["addr:x"])
        c.qualify_referral("r1")
        c.qualify_referral("r2")
        assert [c.referral(m).status for m in ("r1", "r2")] == ["qualified", "qualified"]
        c.join("r3", referred_by="alice", fingerprints=["addr:x"])
        c.qualify_referral("r3")
        r3 = c.referral("r3")
        assert r3.status == "held"
        assert r3.held_reasons == (
            "fingerprint 'addr:x' is on 2 other referrals made within 30 days of it "
            "(the policy allows 2)",
        )
        assert_consistent(c)

    def test_fraud_holds_can_be_switched_off(self, make_community: MakeCommunity) -> None:
        c = make_community(
            _policy(hold_shared_with_referrer=False, max_referrals_per_fingerprint=0)
        )
        c.join("alice", fingerprints=["pay:1"])
        for n in range(5):
            c.join(f"new{n}", referred_by="alice", fingerprints=["pay:1"])
            c.qualify_referral(f"new{n}")
        assert {r.status for r in c.referrals("alice")} == {"qualified"}

    # -- review ------------------------------------------------------------------------------
    def _held(self, c: Community) -> None:
        c.join("staff1", role="staff")
        c.join("alice", fingerprints=["pay:1"])
        c.join("bob", referred_by="alice", fingerprints=["pay:1"])
        c.qualify_referral("bob")

    def test_approving_a_held_referral_rewards_it(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy())
        self._held(c)
        clock.advance(days=2)
        outcome = c.review_referral("bob", approve=True, by="staff1")
        assert outcome.total("alice") == 500 and outcome.total("bob") == 500
        referral = c.referral("bob")
        assert (referral.status, referral.reviewed_by, referral.rewarded_at) == (
            "qualified",
            "staff1",
            clock(),
        )
        assert referral.event_id == "referral-reviewed:bob"
        assert c.standing("alice").counters["referrals"] == 1
        kinds = [n.kind for n in outcome.notifications if n.kind.startswith("referral")]
        assert kinds == ["referral_qualified", "referral_welcome"]
        c.revoke_referral("bob", reason="charged back")
        assert c.standing("alice").lifetime_points == 0 and c.standing("bob").lifetime_points == 0
        assert_consistent(c)

    def test_rejecting_a_held_referral_pays_nothing(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        self._held(c)
        outcome = c.review_referral("bob", approve=False, by="staff1")
        assert outcome.entries == ()
        assert c.referral("bob").status == "rejected"
        assert _kinds(c, "alice", "referral_rejected") == [{"new_member": "bob"}]
        with pytest.raises(NotAllowed, match="rejected on review by 'staff1'"):
            c.revoke_referral("bob", reason="left")
        assert c.referral_figures().rejected == 1
        assert_consistent(c)

    def test_only_staff_review_and_only_held_referrals(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        self._held(c)
        c.join("carol")
        c.join("dave", referred_by="carol")
        with pytest.raises(NotAllowed, match="only staff and moderators"):
            c.review_referral("bob", approve=True, by="carol")
        with pytest.raises(NotAllowed, match="pending, not held"):
            c.review_referral("dave", approve=True, by="staff1")
        c.qualify_referral("dave")
        with pytest.raises(NotAllowed, match="already qualified"):
            c.review_referral("dave", approve=False, by="staff1")
        with pytest.raises(UnknownRecord):
            c.review_referral("carol", approve=True, by="staff1")
        assert c.referral("bob").status == "held"
        c.review_referral("bob", approve=False, by="staff1")
        assert c.review_referral("bob", approve=False, by="staff1").replayed
        with pytest.raises(NotAllowed, match="was rejected on review"):
            c.review_referral("bob", approve=True, by="staff1")

    def test_staff_may_not_review_their_own_referral(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        c.join("staff1", role="staff", fingerprints=["pay:1"])
        c.join("staff2", role="staff")
        c.join("bob", referred_by="staff1", fingerprints=["pay:1"])
        c.qualify_referral("bob")
        with pytest.raises(NotAllowed, match="part of"):
            c.review_referral("bob", approve=True, by="staff1")
        c.review_referral("bob", approve=True, by="staff2")
        assert c.referral("bob").status == "qualified"

    # -- queries and figures ------------------------------------------------------------------
    def test_figures_count_referrals_by_state_and_period(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(expire_after_days=30))
        c.join("staff1", role="staff")
        c.join("alice", fingerprints=["pay:1"])
        for name in ("q1", "q2", "rv", "exp"):
            c.join(name, referred_by="alice")
        c.join("held", referred_by="alice", fingerprints=["pay:1"])
        c.join("rej", referred_by="alice", fingerprints=["pay:1"])
        for name in ("q1", "q2", "rv", "held", "rej"):
            c.qualify_referral(name)
        c.review_referral("rej", approve=False, by="staff1")
        c.revoke_referral("rv", reason="left")
        clock.advance(days=30)
        c.expire_referrals()
        c.join("later", referred_by="alice")  # 2027-H1
        figures = c.referral_figures("2026-H2")
        assert (
            figures.pending,
            figures.qualified,
            figures.held,
            figures.rejected,
            figures.expired,
            figures.revoked,
        ) == (0, 2, 1, 1, 1, 1)
        assert figures.points == 2000
        assert figures.conversion == Fraction(1, 3) and figures.conversion_per_mille == 333
        assert c.referral_figures().made == 7 and c.referral_figures().pending == 1
        assert c.referral_figures("current").made == 1
        with pytest.raises(UnknownRecord):
            c.referral_figures("2026-Q9")
        assert [r.member for r in c.referrals("alice")][:2] == ["exp", "held"]
        assert [r.status for r in c.referrals("alice", status="qualified")] == ["qualified"] * 2
        with pytest.raises(InvalidInput, match="status must be one of"):
            c.referrals(status="won")
        with pytest.raises(UnknownMember):
            c.referrals("ghost")
        assert_consistent(c)

    # -- programme off, replay ----------------------------------------------------------------
    def test_a_policy_without_a_programme_refuses_referral_facts(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(stackexchange())
        c.join("alice")
        c.join("bob", referred_by="alice")  # the member joins; the referrer is ignored
        with pytest.raises(UnknownRecord):
            c.referral("bob")
        with pytest.raises(NotAllowed, match="has no referral programme"):
            c.refer("alice", "bob")
        with pytest.raises(NotAllowed, match="has no referral programme"):
            c.referral_code("alice")

    def test_rebuild_reproduces_referrals_without_notifying_again(
        self, make_community: MakeCommunity, kudos_store: Store, clock: FakeClock
    ) -> None:
        c = make_community(_policy(expire_after_days=30))
        c.join("staff1", role="staff")
        c.join("alice", fingerprints=["pay:1"])
        c.join("bob", referral_code=c.referral_code("alice"))
        c.join("eve", referred_by="alice", fingerprints=["pay:1"])
        c.join("zed", referred_by="bob")
        c.qualify_referral("bob")
        c.qualify_referral("eve")
        clock.advance(days=31)
        c.expire_referrals()
        with kudos_store.transaction(c.id) as tx:
            before = tx.snapshot()
        outbox = c.notifications(limit=None)
        c.rebuild()
        with kudos_store.transaction(c.id) as tx:
            after = tx.snapshot()
        assert {(d.kind, d.key): d for d in after.docs} == {(d.kind, d.key): d for d in before.docs}
        assert {k: v for k, v in after.counters.items() if v} == {
            k: v for k, v in before.counters.items() if v
        }
        assert c.notifications(limit=None) == outbox
        assert_consistent(c)
