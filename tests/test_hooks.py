"""Hooks declare the event types they act on; an event calls only those.

The engine works out once per event type which before-event and after-event
hooks apply (:func:`kudos.engine.core.hooks_for`); a kudos, the most common
fact, no longer runs the referral, abuse, health, support, ideas and staff-board
hooks that only act on other facts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

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
