"""Conformance tests: the core, the forum's facts recorded through :class:`~kudos.Community`.

What every store must make of them: idempotency, atomicity, reversals,
caps, communities sharing a store, rebuild and simulation, standings,
statements and period booking. :class:`CoreConformance` also runs the store
contract (:class:`~kudos.testing.conformance.contract.StoreContractConformance`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from ...community import Community
from ...engine import core as engine
from ...errors import Conflict, NotAllowed, RebuildMismatch, UnknownMember
from ...events import KudosGiven, MemberJoined, ReplyPosted, TopicPosted
from ...model import Doc, Notification
from ...periods import Periods
from ...policies import giffgaff, stackexchange
from ...policy import Cap, Policy, Reward
from ...stores.protocol import Store
from .. import FakeClock, assert_consistent, assert_unchanged
from ._policies import stackexchange_from_zero
from .contract import T0, StoreContractConformance, nonzero

MakeCommunity = Callable[..., Community]


def _forum(c: Community, *repliers: str, asker: str = "asker") -> None:
    """``asker`` asks question ``t1``; each of ``repliers`` answers it with ``r-<name>``."""
    c.join(asker)
    c.post_topic("t1", author=asker, title="No data abroad", tags=["roaming"])
    for name in repliers:
        c.join(name)
        c.post_reply(f"r-{name}", topic="t1", author=name)


def _balance(c: Community, member: str, account: str) -> int:
    standing = c.standing(member)
    return standing.lifetime_points if account == "points" else standing.reputation


def _se(limit: int = 200, timezone: str = "UTC") -> Policy:
    """Stack Exchange's rules, with the up-vote cap at ``limit`` a day in ``timezone``."""
    policy = stackexchange_from_zero()
    return policy.evolve(
        caps=(
            Cap(
                account="reputation",
                per="day",
                limit=limit,
                actions=("kudos_on_reply", "kudos_on_topic"),
            ),
        ),
        periods=Periods(kind="month", timezone=timezone),
    )


def _staff_voters(c: Community, n: int) -> list[str]:
    """``n`` staff members: they may up-vote without reputation, and earn nothing themselves."""
    names = [f"voter{i:02d}" for i in range(n)]
    c.record_many(MemberJoined(member=name, role="staff") for name in names)
    return names


class CoreConformance(StoreContractConformance):
    """What every store must do for the core: its contract, then the forum's facts on it."""

    # -- idempotency -----------------------------------------------------------------------
    def test_the_same_event_id_twice_replays_the_first_outcome(
        self, community: Community, clock: FakeClock
    ) -> None:
        _forum(community, "alice", "bob")
        first = community.give_kudos("r-alice", giver="bob", event_id="host-vote-1")
        clock.advance(hours=1)
        again = community.give_kudos("r-alice", giver="bob", event_id="host-vote-1")
        assert again.replayed and not first.replayed
        assert again.entries == first.entries and again.event_id == "host-vote-1"
        assert community.standing("alice").lifetime_points == 5
        assert len(community.ledger(event_id="host-vote-1")) == len(first.entries)

    def test_the_same_event_id_with_other_content_is_a_conflict(self, community: Community) -> None:
        _forum(community, "alice", "bob", "carol")
        community.give_kudos("r-alice", giver="bob", event_id="host-vote-1")
        with assert_unchanged(community), pytest.raises(Conflict, match="host-vote-1"):
            community.give_kudos("r-alice", giver="carol", event_id="host-vote-1")
        with assert_unchanged(community), pytest.raises(Conflict, match="own event_id"):
            community.record(TopicPosted(topic="t9", author="bob", event_id="host-vote-1"))
        with assert_unchanged(community), pytest.raises(Conflict):
            community.join("alice", role="staff")  # derived id member-joined:alice, other role

    def test_give_withdraw_and_give_again_are_three_facts(self, community: Community) -> None:
        _forum(community, "alice", "bob")
        given = community.give_kudos("r-alice", giver="bob")
        withdrawn = community.withdraw_kudos("r-alice", giver="bob")
        again = community.give_kudos("r-alice", giver="bob")
        ids = [given.event_id, withdrawn.event_id, again.event_id]
        assert len(set(ids)) == 3
        assert not any(o.replayed for o in (given, withdrawn, again))
        assert community.standing("alice").lifetime_points == 5
        assert community.standing("alice").counters["kudos_received"] == 1
        community.withdraw_kudos("r-alice", giver="bob")
        assert community.standing("alice").lifetime_points == 0
        assert_consistent(community)

    def test_a_retried_give_or_withdraw_is_a_replay(self, community: Community) -> None:
        _forum(community, "alice", "bob")
        given = community.give_kudos("r-alice", giver="bob")
        retry = community.give_kudos("r-alice", giver="bob")
        assert retry.replayed and retry.event_id == given.event_id
        assert retry.entries == given.entries
        withdrawn = community.withdraw_kudos("r-alice", giver="bob")
        retry = community.withdraw_kudos("r-alice", giver="bob")
        assert retry.replayed and retry.event_id == withdrawn.event_id
        assert community.standing("alice").lifetime_points == 0
        # A retried fact with its own host id is a second fact, which the rules refuse.
        community.give_kudos("r-alice", giver="bob", event_id="v1")
        with assert_unchanged(community), pytest.raises(NotAllowed, match="already gave"):
            community.give_kudos("r-alice", giver="bob", event_id="v2")
        assert_consistent(community)

    def test_a_retried_join_post_and_accept_are_replays(self, community: Community) -> None:
        _forum(community, "alice")
        with assert_unchanged(community):
            assert community.join("alice").id == "alice"
            assert community.post_topic(
                "t1", author="asker", title="No data abroad", tags=["roaming"]
            ).replayed
            assert community.post_reply("r-alice", topic="t1", author="alice").replayed
        accepted = community.accept_solution("t1", reply="r-alice", by="asker")
        with assert_unchanged(community):
            assert community.accept_solution("t1", reply="r-alice", by="asker").replayed
        unaccepted = community.unaccept_solution("t1", by="asker")
        with assert_unchanged(community):
            assert community.unaccept_solution("t1", by="asker").replayed
        again = community.accept_solution("t1", reply="r-alice", by="asker")
        assert len({accepted.event_id, unaccepted.event_id, again.event_id}) == 3
        assert community.standing("alice").lifetime_points == 50
        assert_consistent(community)

    # -- atomicity -------------------------------------------------------------------------
    def test_a_refused_fact_leaves_no_event_entry_counter_or_document(
        self, community: Community
    ) -> None:
        _forum(community, "alice", "bob")
        community.give_kudos("r-alice", giver="bob")
        with assert_unchanged(community):
            with pytest.raises(NotAllowed, match="own"):
                community.give_kudos("r-alice", giver="alice")
            with pytest.raises(NotAllowed, match="accept"):
                community.accept_solution("t1", reply="r-alice", by="bob")
            with pytest.raises(UnknownMember):
                community.post_reply("r9", topic="t1", author="nobody")
            with pytest.raises(NotAllowed, match="down-votes"):
                community.down_vote("r-alice", voter="bob")

    def test_a_failure_after_the_handler_wrote_rolls_back_its_documents(
        self, community: Community, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _forum(community, "alice", "bob")

        class HookFailed(Exception):
            pass

        def explode(ctx: engine.Context) -> None:
            if ctx.event.type == "solution-accepted":
                # The handler has written the topic's document and queued the awards by now.
                assert ctx.tx.get("post", "t1").data["solution"] == "r-alice"  # type: ignore[union-attr]
                raise HookFailed

        monkeypatch.setattr(engine, "_AFTER", [*engine._AFTER, explode])
        with assert_unchanged(community), pytest.raises(HookFailed):
            community.accept_solution("t1", reply="r-alice", by="asker")
        assert community.post("t1").solution is None
        monkeypatch.undo()
        community.accept_solution("t1", reply="r-alice", by="asker")
        assert community.post("t1").solution == "r-alice"
        assert_consistent(community)

    def test_record_many_writes_all_or_nothing_and_names_the_bad_event(
        self, community: Community
    ) -> None:
        community.join("asker")
        batch = [
            MemberJoined(member="alice"),
            TopicPosted(topic="t1", author="asker"),
            ReplyPosted(reply="r1", topic="t1", author="alice"),
            KudosGiven(post="r1", giver="alice", event_id="self-kudos"),
            KudosGiven(post="r1", giver="asker"),
        ]
        with assert_unchanged(community), pytest.raises(NotAllowed) as caught:
            community.record_many(batch)
        assert "#3" in str(caught.value) and "self-kudos" in str(caught.value)
        assert "nothing of the batch was recorded" in str(caught.value)
        outcomes = community.record_many([*batch[:3], batch[4]])
        assert [o.type for o in outcomes] == [
            "member-joined",
            "topic-posted",
            "reply-posted",
            "kudos-given",
        ]
        assert outcomes[3].total("alice") == 5
        assert community.standing("alice").lifetime_points == 5
        assert all(o.replayed for o in community.record_many([*batch[:3], batch[4]]))
        assert_consistent(community)

    def test_a_batch_sees_its_own_earlier_events(self, community: Community) -> None:
        outcomes = community.record_many(
            [
                MemberJoined(member="asker"),
                MemberJoined(member="alice"),
                TopicPosted(topic="t1", author="asker"),
                ReplyPosted(reply="r1", topic="t1", author="alice"),
                KudosGiven(post="r1", giver="asker"),
                KudosGiven(post="r1", giver="asker"),  # derived id: a replay inside the batch
            ]
        )
        assert outcomes[5].replayed and outcomes[5].entries == outcomes[4].entries
        assert community.standing("alice").lifetime_points == 5

    # -- reversals -------------------------------------------------------------------------
    def test_withdrawn_kudos_takes_back_exactly_what_it_gave(self, community: Community) -> None:
        _forum(community, "alice", "bob")
        given = community.give_kudos("r-alice", giver="bob")
        withdrawn = community.withdraw_kudos("r-alice", giver="bob")
        assert given.entries and len(withdrawn.entries) == len(given.entries)
        for original, reversal in zip(given.entries, withdrawn.entries, strict=True):
            assert reversal.reverses == original.entry_id
            assert (reversal.member, reversal.account, reversal.amount) == (
                original.member,
                original.account,
                -original.amount,
            )
        alice = community.standing("alice")
        assert (alice.lifetime_points, alice.reputation) == (0, 0)
        assert alice.counters.get("kudos_received", 0) == 0
        assert_consistent(community)

    def test_unaccepting_reverses_the_solution_awards(self, make_community: MakeCommunity) -> None:
        c = make_community(stackexchange_from_zero())
        _forum(c, "alice")
        accepted = c.accept_solution("t1", reply="r-alice", by="asker")
        assert {(e.member, e.amount) for e in accepted.entries} == {("alice", 15), ("asker", 2)}
        unaccepted = c.unaccept_solution("t1", by="asker")
        assert sorted(e.reverses or "" for e in unaccepted.entries) == sorted(
            e.entry_id for e in accepted.entries
        )
        assert (c.standing("alice").reputation, c.standing("asker").reputation) == (0, 0)
        assert c.standing("alice").counters.get("solutions", 0) == 0
        assert c.post("t1").solution is None
        assert_consistent(c)

    def test_accepting_another_reply_moves_the_solution(self, community: Community) -> None:
        _forum(community, "alice", "bob")
        community.accept_solution("t1", reply="r-alice", by="asker")
        moved = community.accept_solution("t1", reply="r-bob", by="asker")
        assert moved.total("alice") == -50 and moved.total("bob") == 50
        assert moved.total("asker") == 0  # the accepter's 5 points: taken back, then given again
        assert community.post("t1").solution == "r-bob"
        assert community.standing("alice").counters.get("solutions", 0) == 0
        assert community.standing("bob").counters["solutions"] == 1
        assert_consistent(community)

    def test_removing_a_post_claws_back_every_award_it_earned(self, community: Community) -> None:
        _forum(community, "alice", "bob", "carol")
        community.join("mod", role="moderator")
        community.give_kudos("r-bob", giver="carol")
        before = {m: _balance(community, m, "points") for m in ("asker", "bob", "carol")}
        community.give_kudos("r-alice", giver="bob")
        community.give_kudos("r-alice", giver="carol")
        community.accept_solution("t1", reply="r-alice", by="asker")
        assert community.standing("alice").lifetime_points == 60
        removed = community.remove_post("r-alice", by="mod", reason="off-topic")
        # Two kudos (points and reputation each), the solution (both) and the asker's
        # reward for accepting it: every award about the reply.
        assert len(removed.entries) == 7 and all(e.reverses for e in removed.entries)
        alice = community.standing("alice")
        assert (alice.lifetime_points, alice.reputation) == (0, 0)
        assert {k: v for k, v in alice.counters.items() if v and k != "days_active"} == {}
        assert {m: _balance(community, m, "points") for m in before} == before
        given = {m: community.standing(m).counters.get("kudos_given", 0) for m in ("bob", "carol")}
        assert given == {"bob": 0, "carol": 1}  # kudos on a removed post no longer count
        assert community.post("r-alice").removed
        with assert_unchanged(community), pytest.raises(NotAllowed, match="removed"):
            community.give_kudos("r-alice", giver="asker")
        assert_consistent(community)

    def test_removal_as_spam_adds_the_policys_penalty(self, community: Community) -> None:
        _forum(community, "alice", "bob")
        community.join("mod", role="moderator")
        community.give_kudos("r-alice", giver="bob")
        removed = community.remove_post("r-alice", by="mod", reason="spam")
        assert removed.total("alice", "reputation") == -1 - 50
        assert community.standing("alice").reputation == -50
        assert [e.action for e in removed.entries if not e.reverses] == ["removed_as_spam"]
        assert_consistent(community)

    def test_a_reversal_never_takes_back_more_than_a_capped_award_gave(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_se(limit=25))
        c.join("asker")
        c.post_topic("t1", author="asker")
        c.join("alice")
        c.post_reply("r1", topic="t1", author="alice")
        voters = _staff_voters(c, 3)
        amounts = [c.give_kudos("r1", giver=v).total("alice", "reputation") for v in voters]
        assert amounts == [10, 10, 5]
        capped = c.ledger(event_id=f"kudos-given:r1:{voters[2]}")[0]
        assert "capped at 25 reputation per day" in capped.reason
        taken = c.withdraw_kudos("r1", giver=voters[2])
        assert taken.total("alice", "reputation") == -5
        assert c.standing("alice").reputation == 20
        assert_consistent(c)

    # -- caps ------------------------------------------------------------------------------
    def test_up_votes_earn_at_most_200_reputation_a_day_on_stackexchange(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(stackexchange_from_zero())
        c.join("asker")
        c.post_topic("t1", author="asker")
        c.join("alice")
        c.post_reply("r1", topic="t1", author="alice")
        voters = _staff_voters(c, 22)
        c.record_many(KudosGiven(post="r1", giver=v) for v in voters[:20])
        assert c.standing("alice").reputation == 200
        over = c.give_kudos("r1", giver=voters[20])
        assert [e.amount for e in over.entries] == [0]
        assert "capped" in over.entries[0].reason
        accepted = c.accept_solution("t1", reply="r1", by="asker")
        assert accepted.total("alice", "reputation") == 15  # accepted answers are exempt
        clock.set(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
        assert c.give_kudos("r1", giver=voters[21]).total("alice", "reputation") == 10
        assert c.standing("alice").reputation == 225
        assert_consistent(c)

    def test_the_daily_cap_follows_the_policys_time_zone(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_se(limit=20, timezone="America/New_York"))
        c.join("asker")
        c.post_topic("t1", author="asker")
        c.join("alice")
        c.post_reply("r1", topic="t1", author="alice")
        voters = _staff_voters(c, 4)
        got = []
        # 23:00 and 03:00 UTC are 18:00 and 22:00 of 23 November in New York: one day;
        # 05:30 UTC is 00:30 of the 24th there.
        for voter, when in zip(
            voters,
            ["2026-11-23T23:00", "2026-11-24T03:00", "2026-11-24T04:00", "2026-11-24T05:30"],
            strict=True,
        ):
            clock.set(datetime.fromisoformat(when).replace(tzinfo=UTC))
            got.append(c.give_kudos("r1", giver=voter).total("alice", "reputation"))
        assert got == [10, 10, 0, 10]
        assert_consistent(c)

    def test_a_reversal_gives_room_back_under_the_cap(self, make_community: MakeCommunity) -> None:
        c = make_community(_se(limit=20))
        c.join("asker")
        c.post_topic("t1", author="asker")
        c.join("alice")
        c.post_reply("r1", topic="t1", author="alice")
        a, b, d = _staff_voters(c, 3)
        c.give_kudos("r1", giver=a)
        c.give_kudos("r1", giver=b)
        assert c.give_kudos("r1", giver=d).total("alice", "reputation") == 0
        c.withdraw_kudos("r1", giver=d)  # gave nothing, gives no room
        c.withdraw_kudos("r1", giver=a)
        assert c.give_kudos("r1", giver=d).total("alice", "reputation") == 10
        assert c.give_kudos("r1", giver=a).total("alice", "reputation") == 0
        assert c.standing("alice").reputation == 20
        assert_consistent(c)

    def test_caps_per_post_and_per_period(self, make_community: MakeCommunity) -> None:
        policy = giffgaff().evolve(
            caps=(
                Cap(account="points", per="post", limit=12, actions=("kudos_on_reply",)),
                Cap(account="points", per="period", limit=15, actions=("kudos_on_reply",)),
            )
        )
        c = make_community(policy)
        _forum(c, "alice")
        c.post_reply("r2", topic="t1", author="alice")
        voters = _staff_voters(c, 3)
        on_r1 = [c.give_kudos("r-alice", giver=v).total("alice") for v in voters]
        on_r2 = [c.give_kudos("r2", giver=v).total("alice") for v in voters]
        assert on_r1 == [5, 5, 2] and on_r2 == [3, 0, 0]
        assert_consistent(c)

    # -- communities sharing a store -------------------------------------------------------
    def test_two_communities_on_one_store_see_nothing_of_each_other(
        self, make_community: MakeCommunity
    ) -> None:
        uk = make_community(community="uk")
        ie = make_community(stackexchange_from_zero(), community="ie")
        for c in (uk, ie):
            _forum(c, "alice", "bob")
            c.join("mod", role="moderator")
        uk.give_kudos("r-alice", giver="bob")
        uk.accept_solution("t1", reply="r-alice", by="asker")
        ie.adjust("bob", reputation=20, reason="welcome", by="mod", event_id="adj-1")
        uk.adjust("bob", reputation=20, reason="welcome", by="mod", event_id="adj-1")
        assert uk.standing("alice").lifetime_points == 55
        assert ie.standing("alice").reputation == 0
        assert (ie.standing("bob").reputation, uk.standing("bob").reputation) == (20, 20)
        assert [(r.member, r.value) for r in uk.leaderboard(by="points")] == [
            ("alice", 55),
            ("asker", 5),
        ]
        assert [(r.member, r.value) for r in ie.leaderboard(by="reputation")] == [("bob", 20)]
        with assert_unchanged(uk):
            ie.remove_post("r-alice", by="mod")
            ie.rebuild()
        assert not uk.post("r-alice").removed and ie.post("r-alice").removed
        assert {m.id for m in uk.members()} == {m.id for m in ie.members()}
        assert_consistent(uk)
        assert_consistent(ie)

    # -- rebuild and simulate --------------------------------------------------------------
    def test_rebuild_gives_the_incremental_state(
        self, community: Community, kudos_store: Store, clock: FakeClock
    ) -> None:
        self._busy(community, clock)
        standings = {m.id: community.standing(m.id) for m in community.members()}
        with kudos_store.transaction(community.id) as tx:
            before = tx.snapshot()
        report = community.rebuild()
        assert report.members == len(standings)
        with kudos_store.transaction(community.id) as tx:
            after = tx.snapshot()
            assert report.events == len(tx.events()) and report.entries == len(tx.entries())
        assert nonzero(after) == nonzero(before)
        assert {(d.kind, d.key): d for d in after.docs} == {(d.kind, d.key): d for d in before.docs}
        assert {m.id: community.standing(m.id) for m in community.members()} == standings
        assert_consistent(community)

    def test_rebuild_repairs_damaged_projections(
        self, community: Community, kudos_store: Store, clock: FakeClock
    ) -> None:
        self._busy(community, clock)
        with kudos_store.transaction(community.id) as tx:
            healthy = tx.snapshot()
            tx.add({("points", "all", "alice"): 1000})
            tx.put(Doc(kind="post", key="t1", data={"kind": "idea", "author": "nobody"}))
        community.rebuild()
        with kudos_store.transaction(community.id) as tx:
            repaired = tx.snapshot()
        assert nonzero(repaired) == nonzero(healthy)
        assert community.post("t1").author == "asker"

    def test_rebuild_refuses_a_ledger_the_log_does_not_give_and_keeps_the_store(
        self, community: Community, kudos_store: Store, clock: FakeClock
    ) -> None:
        self._busy(community, clock)
        with kudos_store.transaction(community.id) as tx:
            (line, *_) = tx.entries(member="alice", account="points")
            tx.append_entries([attrs.evolve(line, entry_id="forged/0", amount=1000)])
        with assert_unchanged(community), pytest.raises(RebuildMismatch, match="simulate"):
            community.rebuild()

    def test_simulate_reports_differences_without_touching_the_store(
        self, community: Community, clock: FakeClock
    ) -> None:
        self._busy(community, clock)
        generous = giffgaff().evolve(
            name="generous",
            rewards={**giffgaff().rewards, "kudos_on_reply": Reward(points=10, reputation=1)},
        )
        with assert_unchanged(community):
            sim = community.simulate(generous)
        assert sim.policy == "generous" and sim.rejected == ()
        changes = {ch.member: (ch.points, ch.reputation) for ch in sim.changes}
        assert changes == {"alice": (10, 0), "bob": (5, 0)}
        assert sim.standings["alice"].lifetime_points == (
            community.standing("alice").lifetime_points + 10
        )
        same = community.simulate(community.policy)
        assert same.changes == () and same.rejected == ()

    def test_simulate_lists_events_the_other_policy_refuses(
        self, community: Community, clock: FakeClock
    ) -> None:
        self._busy(community, clock)
        with assert_unchanged(community):
            sim = community.simulate(stackexchange())
        refused = dict(sim.rejected)
        assert "kudos-given:r-alice:bob" in refused
        assert "reputation" in refused["kudos-given:r-alice:bob"]
        assert sim.standings["alice"].lifetime_points == 0

    @staticmethod
    def _busy(c: Community, clock: FakeClock) -> None:
        """A little of everything: kudos, a withdrawal, a solution, a removal, an adjustment."""
        _forum(c, "alice", "bob", "carol")
        c.join("mod", role="moderator")
        c.post_topic("t2", author="bob", kind="problem", tags=["billing"], product="sim")
        c.post_reply("r2", topic="t2", author="carol")
        c.give_kudos("r-alice", giver="bob")
        c.give_kudos("r-alice", giver="carol")
        c.give_kudos("r2", giver="alice")
        c.give_kudos("r-bob", giver="alice")
        c.give_kudos("t2", giver="alice")
        clock.advance(days=1)
        c.withdraw_kudos("r2", giver="alice")
        c.accept_solution("t1", reply="r-alice", by="asker")
        c.accept_solution("t2", reply="r2", by="mod")
        c.remove_post("r-carol", by="mod", reason="spam")
        c.adjust("carol", points=25, reason="meet-up host", by="mod")

    # -- standing, statement, periods ------------------------------------------------------
    def test_standing_counts_what_the_member_did_and_earned(
        self, community: Community, clock: FakeClock
    ) -> None:
        self._busy(community, clock)
        alice = community.standing("alice")
        assert (alice.member, alice.role, alice.period) == ("alice", "member", "2026-H2")
        assert (alice.points, alice.lifetime_points, alice.reputation) == (60, 60, 12)
        assert {
            k: alice.counters.get(k, 0)
            for k in ("replies", "kudos_received", "kudos_given", "solutions", "topics")
        } == {
            "replies": 1,
            "kudos_received": 2,
            "kudos_given": 2,
            "solutions": 1,
            "topics": 0,
        }
        carol = community.standing("carol")
        assert (carol.reputation, carol.lifetime_points) == (10 - 50, 50 + 25)
        assert carol.counters.get("replies", 0) == 1  # r2 only: r-carol was removed
        mod = community.standing("mod")
        assert (mod.role, mod.lifetime_points) == ("moderator", 0)
        with pytest.raises(UnknownMember, match="join"):
            community.standing("nobody")

    def test_statement_lines_say_what_why_and_when_with_totals(
        self, community: Community, clock: FakeClock
    ) -> None:
        self._busy(community, clock)
        statement = community.statement("alice")
        assert [(e.action, e.amount) for e in statement.lines if e.account == "points"] == [
            ("kudos_on_reply", 5),
            ("kudos_on_reply", 5),
            ("solution_accepted", 50),
        ]
        assert statement.totals == {"points": 60, "reputation": 12}
        assert all(e.member == "alice" and e.reason for e in statement.lines)
        assert "kudos from bob" in statement.lines[0].reason
        day_two = T0 + timedelta(days=1)
        late = community.statement("alice", since=day_two)
        assert [e.action for e in late.lines] == ["solution_accepted", "solution_accepted"]
        early = community.statement("alice", until=day_two, account="points")
        assert early.totals == {"points": 10, "reputation": 0}
        assert community.statement("alice", period="2026-H1").lines == ()
        carol = community.statement("carol")
        assert [(e.action, e.amount, e.reverses is not None) for e in carol.lines] == [
            ("kudos_on_reply", 5, False),
            ("kudos_on_reply", 1, False),
            ("kudos_on_reply", -5, True),
            ("kudos_on_reply", -1, True),
            ("solution_accepted", 50, False),
            ("solution_accepted", 10, False),
            ("removed_as_spam", -50, False),
            ("adjustment", 25, False),
        ]
        assert "meet-up host" in carol.lines[-1].reason and "mod" in carol.lines[-1].reason
        with pytest.raises(UnknownMember):
            community.statement("nobody")

    def test_entries_are_booked_in_the_period_of_the_event_time(
        self, community: Community, clock: FakeClock
    ) -> None:
        # 23:30 UTC on 31 May 2026 is 00:30 on 1 June in London: the second half-year.
        clock.set(datetime(2025, 12, 20, tzinfo=UTC))  # posted before the backdated kudos
        _forum(community, "alice", "bob", "carol")
        clock.set(datetime(2026, 5, 31, 22, 30, tzinfo=UTC))
        first = community.give_kudos("r-alice", giver="bob")
        clock.set(datetime(2026, 5, 31, 23, 30, tzinfo=UTC))
        second = community.give_kudos("r-alice", giver="carol")
        assert {e.period for e in first.entries} == {"2026-H1"}
        assert {e.period for e in second.entries} == {"2026-H2"}
        backdated = community.give_kudos("t1", giver="bob", at=datetime(2025, 12, 25, tzinfo=UTC))
        assert {e.period for e in backdated.entries} == {"2026-H1"}
        alice = community.standing("alice")
        assert (alice.period, alice.points, alice.lifetime_points) == ("2026-H2", 5, 10)
        assert community.statement("alice", period="2026-H1").totals["points"] == 5
        assert community.statement("asker", period="2026-H1").totals["points"] == 1
        withdrawn = community.withdraw_kudos("r-alice", giver="bob")
        assert {e.period for e in withdrawn.entries} == {"2026-H2"}
        assert_consistent(community)

    def test_staff_earn_nothing_and_their_replies_are_official(self, community: Community) -> None:
        _forum(community, "alice")
        community.join("sam", role="staff")
        community.post_reply("r-sam", topic="t1", author="sam")
        assert community.post("r-sam").official and not community.post("r-alice").official
        assert community.give_kudos("r-sam", giver="alice").entries == ()
        community.accept_solution("t1", reply="r-sam", by="asker")
        assert community.standing("sam").lifetime_points == 0
        assert community.standing("asker").lifetime_points == 5
        assert_consistent(community)

    def test_members_and_posts_read_back_as_reported(
        self, community: Community, clock: FakeClock
    ) -> None:
        community.join("bob", role="moderator")
        community.join("alice")
        community.post_topic(
            "t1",
            author="alice",
            kind="problem",
            title="No signal",
            tags=["network", "4g"],
            product="sim",
        )
        post = community.post("t1")
        assert (post.kind, post.author, post.title, post.tags, post.product, post.posted_at) == (
            "problem",
            "alice",
            "No signal",
            ("network", "4g"),
            "sim",
            clock(),
        )
        assert [(m.id, m.role) for m in community.members()] == [
            ("alice", "member"),
            ("bob", "moderator"),
        ]
        assert community.member("alice").joined_at == clock()
        community.post_reply("r1", topic="t1", author="bob")
        reply = community.post("r1")
        assert (reply.kind, reply.topic, reply.tags, reply.official) == (
            "reply",
            "t1",
            ("network", "4g"),
            True,
        )

    def test_standings_lists_every_member_as_standing_reads_them(
        self, community: Community, clock: FakeClock
    ) -> None:
        self._busy(community, clock)
        community.join("zed")  # nothing yet: on no board, but in the standings
        listed = list(community.standings())
        members = [m.id for m in community.members()]
        assert [s.member for s in listed] == members
        assert listed == [community.standing(m) for m in members]
        assert {s.role for s in listed} >= {"member", "moderator"}

    # -- several Community objects on one store ---------------------------------------------
    def test_a_reader_sees_at_once_what_another_community_object_wrote(
        self, make_community: MakeCommunity
    ) -> None:
        reader = make_community()  # long-lived, caching
        _forum(reader, "alice", "carol")
        assert reader.standing("alice").points == 0
        assert reader.leaderboard(by="kudos_received") == []
        writer = make_community()  # one per request
        writer.give_kudos("r-alice", giver="carol")
        assert reader.standing("alice").points == 5
        assert [r.member for r in reader.leaderboard(by="kudos_received")] == ["alice"]

    def test_subscribers_hear_after_the_commit_and_a_failing_one_is_skipped(
        self, community: Community, caplog: pytest.LogCaptureFixture
    ) -> None:
        heard: list[tuple[str, int]] = []

        def broken(note: Notification) -> None:
            raise RuntimeError("the listener's own bug")

        def listener(note: Notification) -> None:
            outbox = community.notifications(member=note.member, limit=None)
            heard.append((note.kind, note.seq in [n.seq for n in outbox]))  # committed already

        _forum(community, "alice")
        community.subscribe(broken)
        community.subscribe(listener)
        given = community.give_kudos("r-alice", giver="asker")  # the giver's first badge
        assert given.notifications
        assert heard == [(n.kind, True) for n in given.notifications]
        assert "the listener's own bug" in caplog.text
