"""Conformance tests: policy history (the store remembers the policy; a change is a fact).

The store keeps each community's policy versions (:meth:`Transaction.add_policy`,
:meth:`Transaction.policy_versions`) and the version on every ledger entry;
the engine records version 1 with the first write, refuses to open a
community with another policy, and values each fact under the version in
force for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from ...community import Community
from ...errors import Conflict, KudosError, NotAllowed, PolicyMismatch
from ...history import fingerprint, to_json
from ...model import PolicyVersion
from ...policies import giffgaff
from ...policy import Policy, Reward
from ...stores.protocol import Snapshot, Store
from .. import FakeClock, assert_consistent
from ._base import ConformanceBase
from .contract import T0, _entry, _event


def _version(number: int, policy: Policy, *, effective: bool = True) -> PolicyVersion:
    return PolicyVersion(
        version=number,
        content=to_json(policy),
        fingerprint=fingerprint(policy),
        effective=T0 + timedelta(days=number) if effective and number > 1 else None,
        event_id=f"change-{number}" if number > 1 else None,
    )


def kudos_worth(points: int) -> Policy:
    """giffgaff, but kudos on a reply earns ``points`` points."""
    base = giffgaff()
    rewards = dict(base.rewards)
    rewards["kudos_on_reply"] = Reward(points=points, reputation=1)
    return base.evolve(name=f"kudos worth {points}", rewards=rewards)


def _thread(c: Community) -> None:
    c.join("alice")
    c.join("bob")
    c.join("staff1", role="staff")
    c.post_topic("t1", author="bob", title="No data abroad")
    c.post_reply("r1", topic="t1", author="alice")


class PolicyHistoryConformance(ConformanceBase):
    """What every store must do for the policy history, and what the engine builds on it."""

    # -- the store contract ---------------------------------------------------------------
    def test_policy_versions_are_appended_in_order_and_read_back_whole(
        self, kudos_store: Store
    ) -> None:
        with kudos_store.transaction("c1") as tx:
            assert tx.policy_versions() == [] and tx.policy_version() == 0
            tx.add_policy(_version(1, giffgaff()))
            tx.add_policy(_version(2, kudos_worth(10)))
        with kudos_store.transaction("c1") as tx:
            assert tx.policy_versions() == [_version(1, giffgaff()), _version(2, kudos_worth(10))]
            assert tx.policy_version() == 2
            assert tx.policy_latest() == (2, _version(2, kudos_worth(10)).fingerprint)
        with kudos_store.transaction("c2") as tx:
            assert tx.policy_versions() == [] and tx.policy_version() == 0
            assert tx.policy_latest() == (0, "")

    def test_a_policy_version_out_of_turn_raises_a_kudos_error(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.add_policy(_version(1, giffgaff()))
        for number in (1, 3):
            with pytest.raises(KudosError), kudos_store.transaction("c1") as tx:
                tx.add_policy(_version(number, kudos_worth(10)))
        with kudos_store.transaction("c1") as tx:
            assert tx.policy_versions() == [_version(1, giffgaff())]

    def test_a_rollback_takes_back_a_policy_version(self, kudos_store: Store) -> None:
        with pytest.raises(RuntimeError), kudos_store.transaction("c1") as tx:
            tx.add_policy(_version(1, giffgaff()))
            raise RuntimeError("boom")
        with kudos_store.transaction("c1") as tx:
            assert tx.policy_versions() == []

    def test_replacing_projections_leaves_the_policy_history_alone(
        self, kudos_store: Store
    ) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.add_policy(_version(1, giffgaff()))
            tx.replace_projections(Snapshot(docs=(), counters={}))
        with kudos_store.transaction("c1") as tx:
            assert tx.policy_versions() == [_version(1, giffgaff())]

    def test_the_policy_version_of_a_ledger_entry_round_trips(self, kudos_store: Store) -> None:
        entries = [_entry("e1/0"), attrs.evolve(_entry("e2/0", event_id="e2"), policy=3)]
        with kudos_store.transaction("c1") as tx:
            tx.append_event(_event("e1"))
            tx.append_event(_event("e2"))
            tx.append_entries(entries)
        with kudos_store.transaction("c1") as tx:
            assert [e.policy for e in tx.entries()] == [1, 3]
            assert tx.entries() == entries

    # -- the store remembers its policy ------------------------------------------------------
    def test_the_first_write_records_the_policy_and_every_entry_names_its_version(
        self, make_community: Callable[..., Community]
    ) -> None:
        policy = kudos_worth(10)
        c = make_community(policy)
        assert c.policy_history() == []
        _thread(c)
        c.give_kudos("r1", giver="bob")
        (first,) = c.policy_history()
        assert (first.version, first.effective, first.event_id) == (1, None, None)
        assert first.content == to_json(policy) and first.fingerprint == fingerprint(policy)
        assert {e.policy for e in c.statement("alice").lines} == {1}

    def test_opening_without_a_policy_uses_the_stored_one(
        self, kudos_store: Store, clock: FakeClock
    ) -> None:
        first = Community(store=kudos_store, policy=kudos_worth(10), clock=clock)
        _thread(first)
        again = Community(store=kudos_store, clock=clock)  # per request, no policy=
        assert again.policy == kudos_worth(10)
        again.give_kudos("r1", giver="bob")
        assert again.standing("alice").points == 10

    def test_opening_with_another_policy_names_the_settings_and_writes_nothing(
        self, kudos_store: Store, clock: FakeClock
    ) -> None:
        first = Community(store=kudos_store, policy=kudos_worth(10), clock=clock)
        _thread(first)
        with kudos_store.transaction("default") as tx:
            before = (tx.events(), tx.entries(), tx.policy_versions())
        with pytest.raises(PolicyMismatch) as refused:
            Community(store=kudos_store, policy=kudos_worth(5), clock=clock)
        message = str(refused.value)
        assert "rewards.kudos_on_reply.points: 10 in the store, 5 given" in message
        assert "change_policy" in message
        with kudos_store.transaction("default") as tx:
            assert (tx.events(), tx.entries(), tx.policy_versions()) == before

    def test_the_same_content_is_not_a_mismatch(self, kudos_store: Store, clock: FakeClock) -> None:
        first = Community(store=kudos_store, policy=kudos_worth(10), clock=clock)
        _thread(first)
        same = Policy.from_dict(json.loads(to_json(kudos_worth(10))))  # as JSON gives it
        assert same is not first.policy
        again = Community(store=kudos_store, policy=same, clock=clock)
        again.give_kudos("r1", giver="bob")
        assert len(again.policy_history()) == 1

    def test_a_policy_another_object_recorded_first_is_a_mismatch_at_the_first_write(
        self, kudos_store: Store, clock: FakeClock
    ) -> None:
        one = Community(store=kudos_store, policy=kudos_worth(10), clock=clock)
        two = Community(store=kudos_store, policy=kudos_worth(5), clock=clock)  # store empty
        one.join("alice")
        with pytest.raises(PolicyMismatch, match="10 in the store, 5 given"):
            two.join("bob")
        assert [m.id for m in one.members()] == ["alice"]

    # -- a change of policy is a fact ---------------------------------------------------------
    def test_a_change_values_later_facts_under_the_new_rules_and_keeps_earlier_ones(
        self, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        c.post_reply("r2", topic="t1", author="alice")
        c.give_kudos("r1", giver="bob")
        clock.advance(timedelta(hours=1))
        changed = c.change_policy(kudos_worth(20), by="staff1", reason="kudos count more")
        assert changed.entries == ()
        clock.advance(timedelta(hours=1))
        c.give_kudos("r2", giver="bob")
        lines = [(e.amount, e.policy) for e in c.statement("alice", account="points").lines]
        assert lines == [(10, 1), (20, 2)]
        assert c.policy == kudos_worth(20)
        assert [v.version for v in c.policy_history()] == [1, 2]
        assert c.policy_history()[1].event_id == changed.event_id
        assert_consistent(c)

    def test_a_change_is_idempotent(
        self, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        at = clock()
        first = c.change_policy(kudos_worth(20), effective=at, by="staff1", reason="more")
        again = c.change_policy(kudos_worth(20), effective=at, by="staff1", reason="more")
        assert again.replayed and again.event_id == first.event_id
        assert len(c.policy_history()) == 2

    def test_going_back_to_an_earlier_policy_at_the_same_effective_time_records_it(
        self, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        at = clock()
        clock.advance(timedelta(minutes=1))
        c.change_policy(kudos_worth(20), effective=at, by="staff1", reason="more")
        back = c.change_policy(kudos_worth(10), effective=at, by="staff1", reason="undo")
        assert not back.replayed
        assert [v.version for v in c.policy_history()] == [1, 2, 3]
        assert c.policy == kudos_worth(10)
        c.give_kudos("r1", giver="bob")
        assert [e.amount for e in c.statement("alice", account="points").lines] == [10]
        again = c.change_policy(kudos_worth(10), effective=at, by="staff1", reason="undo")
        assert again.replayed and again.event_id == back.event_id
        assert len(c.policy_history()) == 3
        assert_consistent(c)
        c.rebuild()
        assert_consistent(c)

    def test_a_change_to_the_settings_in_force_records_no_version(
        self, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        same = c.change_policy(kudos_worth(10), by="staff1", reason="no change")
        assert same.replayed and same.entries == ()
        assert len(c.policy_history()) == 1
        changed = c.change_policy(kudos_worth(20), by="staff1", reason="more", retroactive=True)
        retried = c.change_policy(kudos_worth(20), by="staff1", reason="said otherwise")
        assert retried.replayed and retried.event_id == changed.event_id
        assert len(c.policy_history()) == 2
        with pytest.raises(NotAllowed):
            c.change_policy(kudos_worth(20), by="alice", reason="no change")

    def test_a_retry_under_its_id_with_another_reason_is_a_short_conflict(
        self, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        c.change_policy(kudos_worth(20), by="staff1", reason="more", event_id="ch-1")
        again = c.change_policy(kudos_worth(20), by="staff1", reason="more", event_id="ch-1")
        assert again.replayed
        with pytest.raises(Conflict) as caught:
            c.change_policy(kudos_worth(20), by="staff1", reason="more!", event_id="ch-1")
        message = str(caught.value)
        assert "reason: 'more' first, 'more!' now" in message
        assert "policy" not in message.replace("policy-changed", "")
        assert len(message) < 300
        assert len(c.policy_history()) == 2

    def test_a_change_scheduled_for_later_is_not_in_force_until_its_time(
        self, kudos_store: Store, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        later = clock() + timedelta(days=7)
        c.change_policy(kudos_worth(20), effective=later, by="staff1", reason="from next week")
        assert c.policy == kudos_worth(10)
        assert [v.status for v in c.policy_history()] == ["in force", "scheduled"]
        c.give_kudos("r1", giver="bob")
        assert [e.amount for e in c.statement("alice", account="points").lines] == [10]
        # Opening with the policy in force now, or with the one scheduled, is no mismatch.
        now = Community(store=kudos_store, policy=kudos_worth(10), clock=clock)
        assert now.policy == kudos_worth(10)
        scheduled = Community(store=kudos_store, policy=kudos_worth(20), clock=clock)
        assert scheduled.policy == kudos_worth(10)
        with pytest.raises(PolicyMismatch):
            Community(store=kudos_store, policy=kudos_worth(5), clock=clock)
        clock.set(later + timedelta(hours=1))
        assert c.policy == kudos_worth(20)
        assert [v.status for v in c.policy_history()] == ["replaced", "in force"]
        c.post_reply("r2", topic="t1", author="alice")
        c.give_kudos("r2", giver="bob")
        lines = [(e.amount, e.policy) for e in c.statement("alice", account="points").lines]
        assert lines == [(10, 1), (20, 2)]
        assert_consistent(c)

    def test_each_line_is_worded_by_the_templates_of_the_version_that_paid_it(
        self, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        c.post_reply("r2", topic="t1", author="alice")
        c.give_kudos("r1", giver="bob")
        clock.advance(timedelta(hours=1))
        reworded = kudos_worth(10).evolve(texts={"kudos_on_reply": "{actor} liked your reply"})
        c.change_policy(reworded, by="staff1", reason="friendlier words")
        clock.advance(timedelta(hours=1))
        c.give_kudos("r2", giver="bob")
        texts = [line.text for line in c.statement("alice", account="points").lines]
        assert texts == [
            '+10 points: bob gave kudos to your reply in "No data abroad"',
            "+10 points: bob liked your reply",
        ]

    def test_a_late_fact_dated_before_the_change_gets_the_old_rules(
        self, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        before = clock()
        clock.advance(timedelta(hours=2))
        c.change_policy(
            kudos_worth(20), effective=before + timedelta(hours=1), by="staff1", reason="more"
        )
        c.give_kudos("r1", giver="bob", at=before + timedelta(minutes=30))
        assert [e.amount for e in c.statement("alice", account="points").lines] == [10]
        assert_consistent(c)

    def test_a_retroactive_change_books_the_difference_as_lines_of_its_event(
        self, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        c.give_kudos("r1", giver="bob")
        clock.advance(timedelta(hours=1))
        out = c.change_policy(
            kudos_worth(25),
            effective=T0 - timedelta(days=1),
            retroactive=True,
            by="staff1",
            reason="recalculated",
        )
        (line,) = out.entries
        assert (line.member, line.account, line.amount) == ("alice", "points", 15)
        assert line.event_id == out.event_id and line.policy == 2 and line.reverses is None
        assert "recalculated" in line.reason
        assert c.standing("alice").points == 25
        stored = [e.amount for e in c.statement("alice", account="points").lines]
        assert stored == [10, 15]  # the first line kept as it was
        assert_consistent(c)
        c.rebuild()

    def test_withdrawing_a_revalued_kudos_takes_back_its_recalculated_line(
        self, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        c.give_kudos("r1", giver="bob")
        clock.advance(timedelta(hours=1))
        c.change_policy(
            kudos_worth(25),
            effective=T0 - timedelta(days=1),
            retroactive=True,
            by="staff1",
            reason="recalculated",
        )
        out = c.withdraw_kudos("r1", giver="bob")
        assert sorted(e.amount for e in out.entries if e.account == "points") == [-15, -10]
        assert c.standing("alice").points == 0
        assert_consistent(c)
        c.rebuild()

    def test_a_change_effective_inside_a_closed_period_needs_retroactive(
        self, make_community: Callable[..., Community], clock: FakeClock
    ) -> None:
        c = make_community(kudos_worth(10))
        _thread(c)
        c.give_kudos("r1", giver="bob")
        period = c.policy.periods.period_of(clock())
        _, end = c.policy.periods.bounds(period)
        clock.set(end + timedelta(days=1))
        c.close_period(period)
        with pytest.raises(NotAllowed, match="closed payback period") as refused:
            c.change_policy(
                kudos_worth(20), effective=end - timedelta(days=1), by="staff1", reason="x"
            )
        assert "retroactive=True" in str(refused.value)
        assert len(c.policy_history()) == 1
        c.change_policy(kudos_worth(20), effective=end, by="staff1", reason="from the end")
        assert len(c.policy_history()) == 2
        assert_consistent(c)
