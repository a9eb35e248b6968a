"""Conformance tests: recognition (ranks, badges, privileges and their notifications)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from ...community import Community
from ...errors import NotAllowed
from ...events import KudosGiven
from ...model import Notification
from ...policies import giffgaff, stackexchange
from ...policy import Policy
from ...recognition.handlers import current_rank
from ...recognition.rules import (
    Badge,
    BadgeFacts,
    Privilege,
    Rank,
    Recognition,
    badge_key,
    register_badge_rule,
)
from ...stores.protocol import Store
from .. import FakeClock, assert_consistent
from ._base import ConformanceBase
from ._policies import stackexchange_from_zero

MakeCommunity = Callable[..., Community]


def _policy(**section: Any) -> Policy:
    """giffgaff's rewards (kudos on a reply +1 reputation, a solution +10) with ``section``."""
    return giffgaff().evolve(recognition=Recognition(**section))


LADDER = [
    Rank(name="Guru", requires={"kudos_received": 3, "solutions": 1}),
    Rank(name="Star", requires={"reputation": 2}),
    Rank(name="Member"),
]


def _kinds(community: Community, member: str, kind: str) -> list[dict[str, Any]]:
    return [dict(n.data) for n in community.notifications(member=member) if n.kind == kind]


def _forum(c: Community, *members: str) -> None:
    """``asker`` asks ``t1``; each of ``members`` replies ``r-<member>``."""
    for m in ("asker", *members):
        c.join(m)
    c.post_topic("t1", author="asker", title="No data abroad")
    for m in members:
        c.post_reply(f"r-{m}", topic="t1", author=m)


def _night_owl(facts: BadgeFacts) -> bool:
    return facts.event.type == "reply-posted" and facts.at.hour < 5


class RecognitionConformance(ConformanceBase):
    """What every store must do for recognition."""

    # -- ranks ---------------------------------------------------------------------
    def test_rank_follows_reputation_up_and_down(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy(ranks=LADDER))
        _forum(c, "alice", "bob", "carol")
        c.give_kudos("r-alice", giver="bob")
        assert c.standing("alice").rank == "Member"
        c.give_kudos("r-alice", giver="carol")
        assert c.standing("alice").rank == "Star"
        c.withdraw_kudos("r-alice", giver="carol")
        assert c.standing("alice").rank == "Member"
        assert _kinds(c, "alice", "rank_changed") == [
            {"from": "Member", "to": "Star", "direction": "up"},
            {"from": "Star", "to": "Member", "direction": "down"},
        ]
        assert_consistent(c)

    def test_current_rank_is_kept_in_a_rank_document(
        self, make_community: MakeCommunity, kudos_store: Store
    ) -> None:
        c = make_community(_policy(ranks=LADDER))
        _forum(c, "alice", "bob", "carol")
        for giver in ("bob", "carol"):
            c.give_kudos("r-alice", giver=giver)
        with kudos_store.transaction(c.id) as tx:
            assert current_rank(tx, "alice") == "Star"
            assert current_rank(tx, "bob") == "Member"
            doc = tx.get("rank", "alice")
            assert doc is not None and doc.status == "Star"
            assert [d.key for d in tx.find("rank", status="Star")] == ["alice"]

    def test_joining_is_not_news(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy(ranks=LADDER, privileges=[Privilege(name="vote_ideas")]))
        c.join("alice")
        assert c.notifications() == []
        assert c.standing("alice").rank == "Member"
        assert c.standing("alice").privileges == frozenset({"vote_ideas"})

    def test_next_rank_says_what_is_missing(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy(ranks=LADDER))
        _forum(c, "alice", "bob", "carol")
        for giver in ("bob", "carol"):
            c.give_kudos("r-alice", giver=giver)
        progress = c.standing("alice").next_rank
        assert progress is not None
        assert str(progress) == "1 more kudos received and 1 more solutions to Guru"
        c.accept_solution("t1", reply="r-alice", by="asker")
        c.give_kudos("r-alice", giver="asker")
        standing = c.standing("alice")
        assert standing.rank == "Guru" and standing.next_rank is None
        assert_consistent(c)

    def test_tenure_counts_to_the_members_latest_fact_in_standing_too(
        self, make_community: MakeCommunity, clock: FakeClock, kudos_store: Store
    ) -> None:
        c = make_community(
            _policy(ranks=[Rank(name="Veteran", requires={"tenure_days": 30}), Rank(name="New")])
        )
        c.join("alice")
        clock.advance(days=31)
        # No fact since the anniversary: the stored rank, standing and the outbox agree.
        assert c.standing("alice").rank == "New"
        with kudos_store.transaction(c.id) as tx:
            assert current_rank(tx, "alice") == "New"
        assert c.notifications() == []
        c.post_topic("t1", author="alice")
        with kudos_store.transaction(c.id) as tx:
            assert current_rank(tx, "alice") == "Veteran"
        assert c.standing("alice").rank == "Veteran"
        assert _kinds(c, "alice", "rank_changed") == [
            {"from": "New", "to": "Veteran", "direction": "up"}
        ]
        assert_consistent(c)

    def test_a_late_fact_dated_before_the_anniversary_never_lowers_a_rank(
        self, make_community: MakeCommunity, clock: FakeClock, kudos_store: Store
    ) -> None:
        ranks = [
            Rank(name="Gold Star", requires={"kudos_received": 2, "tenure_days": 30}),
            Rank(name="Silver Star", requires={"kudos_received": 1}),
            Rank(name="New"),
        ]
        start = clock()
        kudos = [
            KudosGiven(post="r-alice", giver="bob", at=start + timedelta(days=40)),
            KudosGiven(post="r-alice", giver="carol", at=start + timedelta(days=41)),
            KudosGiven(post="r-alice", giver="dave", at=start + timedelta(days=10)),
        ]
        clock.advance(days=42)
        finals = set()
        for n, order in enumerate(itertools.permutations(kudos)):
            c = make_community(_policy(ranks=ranks), community=f"order{n}")
            for m in ("asker", "alice", "bob", "carol", "dave"):
                c.join(m, at=start)
            c.post_topic("t1", author="asker", at=start)
            c.post_reply("r-alice", topic="t1", author="alice", at=start)
            for event in order:
                c.record(event)
            notes = _kinds(c, "alice", "rank_changed")
            assert [n["direction"] for n in notes] == ["up"] * len(notes), order
            with kudos_store.transaction(c.id) as tx:
                stored = current_rank(tx, "alice")
            assert stored == notes[-1]["to"] == c.standing("alice").rank == "Gold Star"
            standing = c.standing("alice")
            finals.add((stored, standing.reputation, tuple(sorted(standing.counters.items()))))
            assert_consistent(c)
        assert len(finals) == 1, "arrival order changed alice's standing"

    # -- badges ----------------------------------------------------------------------
    def test_each_badge_level_is_awarded_once_and_kept_after_reversals(
        self, make_community: MakeCommunity
    ) -> None:
        solver = Badge(name="Solver", metric="solutions", levels={"bronze": 1, "silver": 2})
        c = make_community(_policy(badges=[solver]))
        _forum(c, "alice")
        c.post_topic("t2", author="asker")
        c.post_reply("r2", topic="t2", author="alice")
        c.accept_solution("t1", reply="r-alice", by="asker")
        c.accept_solution("t2", reply="r2", by="asker")
        assert c.standing("alice").badges == ("Solver (bronze)", "Solver (silver)")
        c.unaccept_solution("t2", by="asker")
        c.unaccept_solution("t1", by="asker")
        c.accept_solution("t1", reply="r-alice", by="asker")
        assert c.standing("alice").badges == ("Solver (bronze)", "Solver (silver)")
        earned = _kinds(c, "alice", "badge_earned")
        assert [(n["title"], n["post"]) for n in earned] == [
            ("Solver (bronze)", "r-alice"),
            ("Solver (silver)", "r2"),
        ]
        assert_consistent(c)

    def test_badge_awards_are_documents(
        self, make_community: MakeCommunity, kudos_store: Store
    ) -> None:
        c = make_community(_policy(badges=[Badge(name="Solver", metric="solutions")]))
        _forum(c, "alice")
        c.accept_solution("t1", reply="r-alice", by="asker")
        with kudos_store.transaction(c.id) as tx:
            doc = tx.get("badge", badge_key("alice", "Solver", None))
            assert doc is not None and doc.status == "earned" and doc.ref == "alice"
            assert doc.data["post"] == "r-alice"
        (award,) = c.badges("alice")
        assert (award.title, award.post, award.revoked_at) == ("Solver", "r-alice", None)

    def test_a_badge_earned_by_a_post_removed_as_spam_is_revoked(
        self, make_community: MakeCommunity
    ) -> None:
        quick = Badge(name="Quick Responder", reply_within_minutes=10)
        c = make_community(_policy(badges=[quick]))
        c.join("mod", role="moderator")
        _forum(c, "alice")
        assert c.standing("alice").badges == ("Quick Responder",)
        c.remove_post("r-alice", by="mod", reason="spam")
        assert c.standing("alice").badges == ()
        (revoked,) = _kinds(c, "alice", "badge_revoked")
        assert revoked["title"] == "Quick Responder" and revoked["post"] == "r-alice"
        (award,) = c.badges("alice", revoked=True)
        assert award.revoked_reason == "reply 'r-alice' removed as spam"
        assert award.revoked_at is not None
        assert c.badges("alice") == []
        assert_consistent(c)

    def test_a_plain_removal_keeps_badges(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy(badges=[Badge(name="Quick", reply_within_minutes=10)]))
        c.join("mod", role="moderator")
        _forum(c, "alice")
        c.remove_post("r-alice", by="mod", reason="off-topic")
        assert c.standing("alice").badges == ("Quick",)
        assert _kinds(c, "alice", "badge_revoked") == []
        assert_consistent(c)

    def test_a_metric_badge_still_earned_elsewhere_survives_a_spam_removal(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy(badges=[Badge(name="Solver", metric="solutions")]))
        c.join("mod", role="moderator")
        _forum(c, "alice")
        c.post_topic("t2", author="asker")
        c.post_reply("r2", topic="t2", author="alice")
        c.accept_solution("t1", reply="r-alice", by="asker")
        c.accept_solution("t2", reply="r2", by="asker")
        c.remove_post("r-alice", by="mod", reason="abuse")
        assert c.standing("alice").badges == ("Solver",)
        assert _kinds(c, "alice", "badge_revoked") == []
        c.remove_post("r2", by="mod", reason="spam")
        assert c.standing("alice").badges == ()
        (revoked,) = _kinds(c, "alice", "badge_revoked")
        assert (revoked["title"], revoked["post"]) == ("Solver", "r2")
        assert_consistent(c)

    def test_a_spam_removal_that_leaves_a_metric_badge_alone_keeps_it(
        self, make_community: MakeCommunity
    ) -> None:
        liked = Badge(name="Liked", metric="kudos_received", threshold=2)
        c = make_community(_policy(badges=[liked]))
        c.join("mod", role="moderator")
        _forum(c, "alice", "bob", "carol")
        for giver in ("bob", "carol"):
            c.give_kudos("r-alice", giver=giver)
        c.withdraw_kudos("r-alice", giver="carol")  # below the level: kept all the same
        c.post_reply("r-spam", topic="t1", author="alice")
        c.remove_post("r-spam", by="mod", reason="spam")  # it held up nothing
        assert c.standing("alice").badges == ("Liked",)
        assert _kinds(c, "alice", "badge_revoked") == []
        assert_consistent(c)

    def test_a_revoked_badge_can_be_earned_again(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy(badges=[Badge(name="Quick", reply_within_minutes=10)]))
        c.join("mod", role="moderator")
        _forum(c, "alice")
        c.remove_post("r-alice", by="mod", reason="spam")
        c.post_reply("r2", topic="t1", author="alice")
        assert c.standing("alice").badges == ("Quick",)
        assert [n.kind for n in c.notifications(member="alice")] == [
            "badge_earned",
            "badge_revoked",
            "badge_earned",
        ]
        assert_consistent(c)

    def test_quick_reply_badge_needs_someone_elses_question_within_the_window(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(badges=[Badge(name="Quick", reply_within_minutes=10)]))
        for m in ("asker", "alice", "bob"):
            c.join(m)
        c.post_topic("t1", author="asker")
        clock.advance(minutes=10)
        c.post_reply("r1", topic="t1", author="alice")
        clock.advance(minutes=1)
        c.post_reply("r2", topic="t1", author="bob")
        c.post_reply("r3", topic="t1", author="asker")
        c.post_topic("i1", author="asker", kind="idea")
        c.post_reply("r4", topic="i1", author="bob")
        assert c.standing("alice").badges == ("Quick",)
        assert c.standing("bob").badges == ()
        assert c.standing("asker").badges == ()
        assert_consistent(c)

    def test_first_badges_go_to_the_member_who_acted(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy(badges=[Badge(name="Supporter", first="kudos-given")]))
        _forum(c, "alice", "bob")
        c.give_kudos("r-alice", giver="bob")
        c.withdraw_kudos("r-alice", giver="bob")
        c.give_kudos("r-alice", giver="bob")
        assert c.standing("bob").badges == ("Supporter",)
        assert c.standing("alice").badges == ()
        assert len(_kinds(c, "bob", "badge_earned")) == 1
        assert_consistent(c)

    def test_days_active_counts_distinct_days_of_activity(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        regular = Badge(name="Regular", metric="days_active", levels={"bronze": 3})
        c = make_community(_policy(badges=[regular]))
        start = clock()
        _forum(c, "alice", "bob")
        c.give_kudos("r-alice", giver="bob")  # alice received, bob acted: only bob's day
        clock.advance(days=1)
        c.post_topic("t2", author="alice")
        c.post_topic("t3", author="alice")
        assert c.standing("alice").counters["days_active"] == 2
        c.post_topic("t0", author="alice", at=start - timedelta(days=3))  # a late report
        alice = c.standing("alice")
        assert alice.counters["days_active"] == 3
        assert alice.badges == ("Regular (bronze)",)
        assert c.standing("bob").counters["days_active"] == 1
        assert_consistent(c)

    def test_a_host_rule_decides_a_badge(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        register_badge_rule("conformance_night_owl", _night_owl)
        c = make_community(
            _policy(badges=[Badge(name="Night Owl", custom="conformance_night_owl")])
        )
        _forum(c, "alice")
        clock.set((clock() + timedelta(days=1)).replace(hour=3))
        c.post_reply("r2", topic="t1", author="alice")
        assert c.standing("alice").badges == ("Night Owl",)
        assert _kinds(c, "alice", "badge_earned")[0]["post"] == "r2"
        assert_consistent(c)

    # -- privileges -------------------------------------------------------------------
    def test_privileges_follow_reputation_with_notifications(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(stackexchange_from_zero())
        c.join("staff1", role="staff")
        c.join("bob")
        assert not c.can("bob", "give_kudos")
        assert c.why_not("bob", "flag") == "member 'bob' needs 15 reputation to flag posts (has 0)"
        c.adjust("bob", reputation=15, reason="migrated", by="staff1", event_id="adj-1")
        assert c.can("bob", "give_kudos") and c.can("bob", "flag")
        assert c.standing("bob").privileges == frozenset({"give_kudos", "flag"})
        c.adjust("bob", reputation=-1, reason="correction", by="staff1", event_id="adj-2")
        assert c.standing("bob").privileges == frozenset()
        assert [(n.kind, n.data["privilege"]) for n in c.notifications(member="bob")] == [
            ("privilege_granted", "flag"),
            ("privilege_granted", "give_kudos"),
            ("privilege_revoked", "flag"),
            ("privilege_revoked", "give_kudos"),
        ]
        assert_consistent(c)

    def test_a_withheld_privilege_refuses_the_fact(self, make_community: MakeCommunity) -> None:
        c = make_community(stackexchange_from_zero())
        _forum(c, "alice", "bob")
        with pytest.raises(NotAllowed, match="15 reputation"):
            c.give_kudos("r-alice", giver="bob")
        assert c.standing("alice").reputation == 0

    def test_down_votes_need_the_privilege_and_a_policy_that_has_them(
        self, make_community: MakeCommunity
    ) -> None:
        se = make_community(stackexchange_from_zero())
        se.join("staff1", role="staff")
        se.join("bob")
        se.adjust("bob", reputation=124, reason="migrated", by="staff1", event_id="adj-1")
        assert not se.can("bob", "down_vote")
        assert se.why_not("bob", "down_vote") == (
            "member 'bob' needs 125 reputation to vote down (has 124)"
        )
        se.adjust("bob", reputation=1, reason="migrated", by="staff1", event_id="adj-2")
        assert se.can("bob", "down_vote")
        gg = make_community(giffgaff(), community="other")
        gg.join("bob")
        assert not gg.can("bob", "down_vote")

    def test_a_privilege_never_asks_less_than_the_policys_own_gate(
        self, make_community: MakeCommunity
    ) -> None:
        policy = _policy(privileges=[Privilege(name="give_kudos", requires={"reputation": 1})])
        c = make_community(policy.evolve(min_reputation_to_give_kudos=3))
        c.join("staff1", role="staff")
        c.join("bob")
        c.adjust("bob", reputation=2, reason="migrated", by="staff1", event_id="adj-1")
        assert c.why_not("bob", "give_kudos") == (
            "member 'bob' needs 3 reputation to give kudos (has 2)"
        )
        assert "give_kudos" not in c.standing("bob").privileges
        c.adjust("bob", reputation=1, reason="migrated", by="staff1", event_id="adj-2")
        assert c.can("bob", "give_kudos")
        assert [n.data["privilege"] for n in c.notifications(member="bob")] == ["give_kudos"]

    def test_staff_and_moderators_hold_every_privilege(self, make_community: MakeCommunity) -> None:
        c = make_community(stackexchange())
        c.join("staff1", role="staff")
        c.join("mod1", role="moderator")
        for member in ("staff1", "mod1"):
            assert c.can(member, "site_analytics") and c.can(member, "anything_at_all")
            assert "site_analytics" in c.standing(member).privileges

    def test_role_privileges_can_be_narrowed(self, make_community: MakeCommunity) -> None:
        c = make_community(
            _policy(
                privileges=[Privilege(name="edit_posts", requires={"reputation": 100})],
                role_privileges={"staff": ["*"], "moderator": ["moderate"]},
            )
        )
        c.join("mod1", role="moderator")
        assert c.can("mod1", "moderate")
        assert not c.can("mod1", "edit_posts")
        assert c.standing("mod1").privileges == frozenset({"moderate"})

    def test_accepting_on_others_behalf_needs_the_rank(self, make_community: MakeCommunity) -> None:
        c = make_community(
            _policy(
                ranks=[Rank(name="Guru", requires={"reputation": 5}), Rank(name="Member")],
                privileges=[
                    Privilege(
                        name="accept_solutions",
                        rank="Guru",
                        description="accept solutions on others' behalf",
                    )
                ],
            )
        )
        c.join("staff1", role="staff")
        _forum(c, "alice", "carol", "dave")
        c.adjust("carol", reputation=5, reason="helper", by="staff1", event_id="adj-1")
        with pytest.raises(NotAllowed, match="rank 'Guru' or higher"):
            c.accept_solution("t1", reply="r-alice", by="dave")
        c.accept_solution("t1", reply="r-alice", by="carol")
        assert c.standing("alice").counters["solutions"] == 1
        assert_consistent(c)

    # -- replay, simulation, delivery -------------------------------------------------------
    def test_recording_an_event_twice_notifies_once(self, make_community: MakeCommunity) -> None:
        c = make_community(
            _policy(ranks=LADDER, badges=[Badge(name="Liked", metric="kudos_received")])
        )
        _forum(c, "alice", "bob")
        first = c.record(KudosGiven(post="r-alice", giver="bob", event_id="vote-1"))
        again = c.record(KudosGiven(post="r-alice", giver="bob", event_id="vote-1"))
        assert again.replayed and again.notifications == first.notifications
        assert [n.kind for n in c.notifications(member="alice")] == ["badge_earned"]
        assert_consistent(c)
        assert [n.kind for n in c.notifications(member="alice")] == ["badge_earned"]

    def test_rebuild_reproduces_ranks_and_badges_without_notifying(
        self, make_community: MakeCommunity, kudos_store: Store
    ) -> None:
        c = make_community(
            _policy(
                ranks=LADDER,
                badges=[Badge(name="Liked", metric="kudos_received", levels={"a": 1, "b": 2})],
                privileges=[Privilege(name="edit_posts", rank="Star")],
            )
        )
        c.join("mod", role="moderator")
        _forum(c, "alice", "bob", "carol")
        for giver in ("bob", "carol"):
            c.give_kudos("r-alice", giver=giver)
        c.remove_post("r-bob", by="mod", reason="spam")
        with kudos_store.transaction(c.id) as tx:
            before = tx.snapshot()
        outbox = c.notifications(limit=None)
        c.rebuild()
        with kudos_store.transaction(c.id) as tx:
            after = tx.snapshot()
        assert {(d.kind, d.key): d for d in after.docs} == {(d.kind, d.key): d for d in before.docs}
        assert c.notifications(limit=None) == outbox

    def test_simulate_reports_rank_and_badge_differences(
        self, make_community: MakeCommunity
    ) -> None:
        policy = _policy(ranks=LADDER, badges=[Badge(name="Liked", metric="kudos_received")])
        c = make_community(policy)
        _forum(c, "alice", "bob", "carol")
        for giver in ("bob", "carol"):
            c.give_kudos("r-alice", giver=giver)
        stricter = _policy(
            ranks=[Rank(name="Star", requires={"reputation": 50}), Rank(name="Member")]
        )
        outbox = c.notifications(limit=None)
        (change,) = [ch for ch in c.simulate(stricter).changes if ch.member == "alice"]
        assert (change.before.rank, change.after.rank) == ("Star", "Member")
        assert (change.before.badges, change.after.badges) == (("Liked",), ())
        assert c.notifications(limit=None) == outbox

    def test_notifications_are_polled_by_member_and_acknowledged(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(
            _policy(ranks=LADDER, badges=[Badge(name="Liked", metric="kudos_received")])
        )
        _forum(c, "alice", "bob", "carol")
        for giver in ("bob", "carol"):
            c.give_kudos("r-alice", giver=giver)
        pending = c.notifications(member="alice", unacked=True)
        assert [n.kind for n in pending] == ["badge_earned", "rank_changed"]
        assert all(n.event_id.startswith("kudos-given:r-alice:") for n in pending)
        c.ack(pending[0].seq)
        assert [n.kind for n in c.notifications(member="alice", unacked=True)] == ["rank_changed"]
        later = c.notifications(since=pending[0].seq)
        assert [n.kind for n in later] == ["rank_changed"]

    def test_subscribers_hear_of_changes_after_commit(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy(ranks=LADDER))
        heard: list[Notification] = []
        c.subscribe(heard.append)
        _forum(c, "alice", "bob", "carol")
        c.give_kudos("r-alice", giver="bob")
        c.give_kudos("r-alice", giver="carol")
        c.give_kudos("r-alice", giver="carol")  # a replay: heard once
        assert [(n.member, n.kind, n.data["to"]) for n in heard] == [
            ("alice", "rank_changed", "Star")
        ]
        assert heard == c.notifications(member="alice")
