"""What an event costs: the engine does only the work whose result something reads.

Recognition re-evaluates a member only when an input of their rank, privileges
or metric badges moved (and it must then give exactly what a full evaluation
gives); replays pause the garbage collector and restore it; derived ids keep
every field of their event.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos.engine import core as engine
from kudos.recognition import handlers as recognition
from kudos.testing import FakeClock

MEMBERS = ("m0", "m1", "m2", "m3")


def _forum(clock: FakeClock | None = None) -> kudos.Community:
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=clock or FakeClock())
    c.join("asker")
    for m in ("alice", "bob"):
        c.join(m)
    c.post_topic("t1", author="asker", kind="question", title="No data", tags=["roaming"])
    c.post_reply("r1", topic="t1", author="alice")
    c.post_reply("r2", topic="t1", author="alice")
    return c


def test_a_member_whose_rank_inputs_did_not_change_is_not_evaluated_again(
    evaluated: list[str],
) -> None:
    c = _forum()
    c.give_kudos("r1", giver="bob")  # bob's first activity of the day: days_active moves
    evaluated.clear()
    # bob earns points for giving, but nothing his rank, privileges or badges read
    c.give_kudos("r2", giver="bob")
    # bob is not evaluated, and alice neither: her kudos_received and reputation moved, but
    # past no threshold of a rank, privilege or badge (evaluated only when one is passed)
    assert evaluated == []
    assert c.standing("bob").badges == ("Supporter",)


def test_a_new_day_of_activity_is_an_input_that_moved(evaluated: list[str]) -> None:
    clock = FakeClock()
    c = _forum(clock)
    c.give_kudos("r1", giver="bob")
    clock.advance(days=1)
    evaluated.clear()
    c.give_kudos("r2", giver="bob")  # a second active day: the Regular badge counts days
    assert evaluated == ["alice", "bob"]


def test_joining_evaluates_the_new_member_whatever_moved(evaluated: list[str]) -> None:
    c = _forum()
    evaluated.clear()
    c.join("carol")
    assert evaluated == ["carol"]
    assert c.standing("carol").rank == "Member"


# --- skipping changes nothing ---------------------------------------------------------------

member = st.integers(0, len(MEMBERS) - 1)
step = st.one_of(
    st.tuples(st.just("give"), member, member),
    st.tuples(st.just("withdraw"), member, member),
    st.tuples(st.just("accept"), member),
    st.tuples(st.just("unaccept"), member),
    st.tuples(st.just("spam"), member),
    st.tuples(st.just("adjust"), member, st.integers(-60, 60)),
    st.tuples(st.just("wait"), st.integers(1, 60 * 24 * 40)),
)


def _play(steps: list[tuple[Any, ...]]) -> dict[str, Any]:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=clock)
    c.join("asker")
    c.join("mod", role="moderator")
    c.post_topic("t", author="asker")
    for i, m in enumerate(MEMBERS):
        c.join(m)
        c.post_topic(f"q{i}", author="asker")
        c.post_reply(f"r{i}", topic="t", author=m)
        c.post_reply(f"s{i}", topic=f"q{i}", author=m)
    for kind, *args in steps:
        try:
            if kind == "give":
                c.give_kudos(f"r{args[1]}", giver=MEMBERS[args[0]])
            elif kind == "withdraw":
                c.withdraw_kudos(f"r{args[1]}", giver=MEMBERS[args[0]])
            elif kind == "accept":
                c.accept_solution(f"q{args[0]}", reply=f"s{args[0]}", by="asker")
            elif kind == "unaccept":
                c.unaccept_solution(f"q{args[0]}", by="asker")
            elif kind == "spam":
                c.remove_post(f"r{args[0]}", by="mod", reason="spam")
            elif kind == "adjust":
                c.adjust(MEMBERS[args[0]], reputation=args[1], reason="event host", by="mod")
            else:
                clock.advance(minutes=args[0])
        except kudos.KudosError:
            pass  # a fact the rules refuse changes nothing
    with c.store.transaction(c.id) as tx:
        snapshot = tx.snapshot()
    return {
        "docs": {(d.kind, d.key): d for d in snapshot.docs},
        "counters": snapshot.counters,
        "outbox": [(n.member, n.kind, n.data, n.event_id) for n in c.notifications(limit=None)],
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=30))
def test_skipping_members_whose_inputs_did_not_move_gives_what_evaluating_everyone_gives(
    steps: list[tuple[Any, ...]],
) -> None:
    skipping = _play(steps)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(recognition._Plan, "changed", lambda self, ctx, member: None)
        everyone = _play(steps)
    assert skipping == everyone


# --- replays and the garbage collector ------------------------------------------------------


@pytest.fixture
def collector_during_apply(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether the garbage collector was on each time the engine applied an event."""
    states: list[bool] = []
    apply = engine.apply

    def watching(*args: Any, **kwargs: Any) -> Any:
        states.append(gc.isenabled())
        return apply(*args, **kwargs)

    monkeypatch.setattr(engine, "apply", watching)
    was = gc.isenabled()
    gc.enable()
    try:
        yield states
    finally:
        if not was:
            gc.disable()


def test_rebuild_replays_with_the_collector_paused_and_restores_it(
    collector_during_apply: list[bool],
) -> None:
    c = _forum()
    c.give_kudos("r1", giver="bob")
    collector_during_apply.clear()
    c.rebuild()
    assert collector_during_apply and not any(collector_during_apply)
    assert gc.isenabled()


def test_simulate_replays_with_the_collector_paused_and_restores_it(
    collector_during_apply: list[bool],
) -> None:
    c = _forum()
    c.give_kudos("r1", giver="bob")
    collector_during_apply.clear()
    c.simulate(kudos.policies.stackexchange())
    assert collector_during_apply and not any(collector_during_apply)
    assert gc.isenabled()


def test_a_failed_rebuild_restores_the_collector() -> None:
    c = _forum()
    c.give_kudos("r1", giver="bob")
    with c.store.transaction(c.id) as tx:  # a ledger line the log does not give
        (line, *_) = tx.entries(event_id=c.ledger(subject="r1")[0].event_id)
        tx.append_entries([attrs.evolve(line, entry_id="forged/0", amount=1000)])
    with pytest.raises(kudos.RebuildMismatch):
        c.rebuild()
    assert gc.isenabled()


def test_a_replay_leaves_a_paused_collector_paused() -> None:
    c = _forum()
    gc.disable()
    try:
        c.rebuild()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_what_a_run_allocated_is_not_walked_by_the_next_young_collection() -> None:
    """The objects a paused run made go to the oldest generation as they are: the first
    collection after the run does not walk all of them at once."""
    was = gc.isenabled()
    gc.enable()
    try:
        with engine.paused_gc():
            kept = [[i] for i in range(20_000)]  # tracked objects that outlive the run
        young = gc.get_count()[0]
        assert gc.isenabled()
        assert young < 1_000, young  # not the 20,000 lists the run made
        assert any(kept[-1] is o for o in gc.get_objects(generation=2))
    finally:
        if not was:
            gc.disable()


def test_objects_a_host_froze_stay_frozen() -> None:
    was = gc.isenabled()
    gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with engine.paused_gc():
            _ = [[i] for i in range(1_000)]
        assert gc.get_freeze_count() == frozen
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        if not was:
            gc.disable()


# --- derived ids --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        kudos.events.KudosGiven(post="r1", giver="bob"),
        kudos.events.TopicPosted(
            topic="t1", author="asker", title="No data", tags=["roaming", "esim"], product="sim"
        ),
        kudos.events.MemberJoined(
            member="carol", role="staff", at=datetime(2026, 1, 1, tzinfo=UTC)
        ),
    ],
)
def test_an_event_given_a_derived_id_keeps_every_field(event: kudos.events.Event) -> None:
    copy = event.with_id("derived:1")
    assert copy == attrs.evolve(event, event_id="derived:1")
    assert type(copy) is type(event) and event.event_id is None
    assert copy.payload() == event.payload()
