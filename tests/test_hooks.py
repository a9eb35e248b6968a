"""Hooks declare the event types they act on; an event calls only those.

The engine works out once per event type which before-event and after-event
hooks apply (:func:`kudos.engine.core.hooks_for`); a kudos, the most common
fact, no longer runs the referral, abuse, health, support, ideas and staff-board
hooks that only act on other facts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos.abuse import handlers as abuse
from kudos.channels import handlers as channels
from kudos.engine import core as engine
from kudos.events import (
    Event,
    KudosGiven,
    MemberJoined,
    PostRemoved,
    ReplyPosted,
    SolutionAccepted,
    TopicPosted,
)
from kudos.health import handlers as health
from kudos.ideas import handlers as ideas
from kudos.leaderboards import handlers as leaderboards
from kudos.recognition import handlers as recognition
from kudos.referrals import handlers as referrals
from kudos.support import handlers as support
from kudos.testing import FakeClock
from kudos.testing import _stored_state as stored_state


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Registrations made in a test are forgotten after it."""
    monkeypatch.setattr(engine, "_AFTER", list(engine._AFTER))
    monkeypatch.setattr(engine, "_BEFORE", list(engine._BEFORE))
    monkeypatch.setattr(engine, "_ACTS_ON", dict(engine._ACTS_ON))
    yield


def _names(hooks: tuple[Any, ...]) -> set[str]:
    return {f"{h.__module__}.{h.__name__}" for h in hooks}


def _name(hook: Any) -> str:
    return f"{hook.__module__}.{hook.__name__}"


EVERY_EVENT = {
    _name(recognition._recognise),
    _name(channels._check_channel),
    _name(channels._sweep_merged),
}


def test_a_kudos_calls_only_the_hooks_that_act_on_kudos() -> None:
    befores, afters = engine.hooks_for(KudosGiven)
    assert _names(afters) == EVERY_EVENT
    assert _names(befores) == {_name(channels._check_and_repoint)}


def test_each_capability_hook_is_called_for_the_types_it_acts_on() -> None:
    joined = _names(engine.hooks_for(MemberJoined)[1])
    assert joined == EVERY_EVENT | {
        _name(referrals._joined),
        _name(abuse._joined_with_fingerprints),
        _name(leaderboards._count_staff),
    }
    assert _names(engine.hooks_for(TopicPosted)[1]) == EVERY_EVENT | {
        _name(health._track),
        _name(ideas._on_idea_events),
    }
    assert _names(engine.hooks_for(ReplyPosted)[1]) == EVERY_EVENT | {
        _name(health._track),
        _name(support._on_forum_events),
    }
    assert _names(engine.hooks_for(PostRemoved)[1]) == EVERY_EVENT | {
        _name(health._track),
        _name(support._on_forum_events),
        _name(ideas._on_idea_events),
    }
    # Joining and leaving name no merged member to re-point.
    assert engine.hooks_for(MemberJoined)[0] == ()


def test_hooks_keep_their_registration_order() -> None:
    order = {_name(h): i for i, h in enumerate(engine._AFTER)}
    for event_type in (MemberJoined, TopicPosted, ReplyPosted, KudosGiven, SolutionAccepted):
        positions = [order[_name(h)] for h in engine.hooks_for(event_type)[1]]
        assert positions == sorted(positions)


def test_a_hook_declared_for_one_type_runs_only_after_it(registry: None) -> None:
    seen: list[str] = []

    @engine.after_event(on=(KudosGiven,))
    def on_kudos(ctx: engine.Context) -> None:
        seen.append(ctx.event_id)

    @engine.after_event(on=lambda event_type: issubclass(event_type, TopicPosted))
    def on_topics(ctx: engine.Context) -> None:
        seen.append(f"topic {ctx.event_id}")

    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=FakeClock())
    c.join("asker")
    c.join("alice")
    c.post_topic("t1", author="asker", title="No data")
    c.post_reply("r1", topic="t1", author="alice")
    outcome = c.give_kudos("r1", giver="asker")
    assert seen == ["topic topic-posted:t1", outcome.event_id]


def test_a_bare_hook_runs_after_every_event(registry: None) -> None:
    seen: list[str] = []

    @engine.after_event
    def every(ctx: engine.Context) -> None:
        seen.append(ctx.event.type)

    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=FakeClock())
    c.join("asker")
    c.post_topic("t1", author="asker", title="No data")
    assert seen == ["member-joined", "topic-posted"]


def test_a_before_event_hook_declared_for_one_type(registry: None) -> None:
    seen: list[str] = []

    def note(tx: Any, policy: Any, event: Event) -> Event:
        seen.append(event.type)
        return event

    engine.before_event(on=TopicPosted)(note)
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=FakeClock())
    c.join("asker")
    c.post_topic("t1", author="asker", title="No data")
    assert seen == ["topic-posted"]


def test_a_kudos_runs_three_after_event_hooks_not_nine(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []
    originals = list(engine._AFTER)

    def counting(hook: Any) -> Any:
        def run(ctx: engine.Context) -> None:
            seen.append((ctx.event.type, hook.__name__))
            hook(ctx)

        return run

    wrapped = [counting(h) for h in originals]
    acts = dict(engine._ACTS_ON)
    for w, h in zip(wrapped, originals, strict=True):
        if h in acts:
            acts[w] = acts[h]
    monkeypatch.setattr(engine, "_AFTER", wrapped)
    monkeypatch.setattr(engine, "_ACTS_ON", acts)
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=FakeClock())
    c.join("asker")
    c.join("alice")
    c.post_topic("t1", author="asker", title="No data")
    c.post_reply("r1", topic="t1", author="alice")
    seen.clear()
    c.give_kudos("r1", giver="asker")
    assert sorted(name for _, name in seen) == ["_check_channel", "_recognise", "_sweep_merged"]


# --- the declarations drop no work: every hook on every event gives the same state --------

MEMBERS = ("alice", "bob", "carol", "dave", "staff1")
POSTS = ("t1", "t2", "r1", "r2", "r3", "i1")


def _operation() -> st.SearchStrategy[tuple[str, tuple[Any, ...]]]:
    member = st.sampled_from(MEMBERS)
    post = st.sampled_from(POSTS)
    reply = st.sampled_from(("r1", "r2", "r3"))
    topic = st.sampled_from(("t1", "t2"))
    return st.one_of(
        st.tuples(st.just("join"), st.tuples(st.sampled_from(("dave", "erin")), member)),
        st.tuples(st.just("topic"), st.tuples(st.just("t2"), member)),
        st.tuples(st.just("reply"), st.tuples(st.just("r3"), topic, member)),
        st.tuples(st.just("kudos"), st.tuples(post, member)),
        st.tuples(st.just("kudos"), st.tuples(post, member)),
        st.tuples(st.just("withdraw"), st.tuples(post, member)),
        st.tuples(st.just("down"), st.tuples(post, member)),
        st.tuples(st.just("accept"), st.tuples(topic, reply, member)),
        st.tuples(st.just("unaccept"), st.tuples(topic, member)),
        st.tuples(st.just("remove"), st.tuples(post, st.sampled_from(("removed", "spam")))),
        st.tuples(st.just("restore"), st.tuples(post)),
        st.tuples(st.just("merge"), st.tuples(member, member)),
        st.tuples(st.just("delete"), st.tuples(member)),
        st.tuples(st.just("vote_idea"), st.tuples(member)),
        st.tuples(st.just("later"), st.tuples(st.integers(1, 3_000))),
    )


def _run(
    preset: str, history: list[tuple[str, tuple[Any, ...]]]
) -> tuple[list[str], dict[str, Any]]:
    clock = FakeClock()
    c = kudos.Community(policy=getattr(kudos.policies, preset)(), clock=clock)
    c.join("staff1", role="staff")
    for m in ("alice", "bob", "carol"):
        c.join(m)
    c.post_topic("t1", author="alice", tags=["roaming"])
    c.post_topic("i1", author="bob", kind="idea", tags=["esim"])
    c.post_reply("r1", topic="t1", author="bob")
    c.post_reply("r2", topic="t1", author="carol")
    calls: dict[str, Callable[..., Any]] = {
        "join": lambda m, by: c.join(m, referred_by=by),
        "topic": lambda t, a: c.post_topic(
            t, author=a, kind="idea" if t == "i1" else "question", tags=["roaming"]
        ),
        "reply": lambda r, t, a: c.post_reply(r, topic=t, author=a),
        "kudos": lambda p, m: c.give_kudos(p, giver=m),
        "withdraw": lambda p, m: c.withdraw_kudos(p, giver=m),
        "down": lambda p, m: c.down_vote(p, voter=m),
        "accept": lambda t, r, m: c.accept_solution(t, reply=r, by=m),
        "unaccept": lambda t, m: c.unaccept_solution(t, by=m),
        "remove": lambda p, why: c.remove_post(p, by="staff1", reason=why),
        "restore": lambda p: c.restore_post(p, by="staff1"),
        "merge": lambda m, into: c.merge_members(m, into=into, by="staff1"),
        "delete": lambda m: c.delete_member(m),
        "vote_idea": lambda m: c.vote_idea("i1", voter=m),
        "later": lambda minutes: clock.advance(minutes=minutes),
    }
    answers = []
    for name, args in history:
        try:
            calls[name](*args)
            answers.append("ok")
        except kudos.KudosError as exc:
            answers.append(type(exc).__name__)
    return answers, stored_state(c)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    preset=st.sampled_from(("giffgaff", "stackexchange")),
    history=st.lists(_operation(), max_size=30),
)
def test_every_hook_on_every_event_gives_the_same_state(
    preset: str, history: list[tuple[str, tuple[Any, ...]]]
) -> None:
    declared = _run(preset, history)
    with pytest.MonkeyPatch.context() as patch:
        # Forget the declarations: every hook runs on every event, as before they existed.
        patch.setattr(engine, "_ACTS_ON", {})
        patch.setattr(engine, "_AFTER", list(engine._AFTER))
        patch.setattr(engine, "_BEFORE", list(engine._BEFORE))
        everywhere = _run(preset, history)
    assert declared == everywhere
