"""Every public method of Community, called with arbitrary values of every parameter.

On every store, each call either succeeds or raises a :class:`kudos.KudosError`
subclass (never a raw ``TypeError``, ``OverflowError``, ``UnicodeEncodeError`` or
driver error), and a refused call leaves the store's full snapshot as it was.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kudos import Community, KudosError, policies
from kudos.events import KudosGiven, PointsAdjusted, TopicPosted
from kudos.stores.protocol import Store
from kudos.testing import FakeClock
from kudos.testing import _stored_state as stored_state

# The host-facing surface; ``subscribe`` takes a callback, not data, and is left out.
METHODS = sorted(
    name
    for name, _ in inspect.getmembers(Community, inspect.isfunction)
    if not name.startswith("_") and name != "subscribe"
)


class NoOffset(tzinfo):
    """A tzinfo whose ``utcoffset()`` is None: a datetime that only looks aware."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


ZONES = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=14)), NoOffset(), None]
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)

# Values a host would pass: the seeded forum's ids, periods, metrics and choices.
PLAUSIBLE = st.sampled_from(
    [
        *("alice", "bob", "carol", "staff1", "mod1", "t1", "r1", "i1", "alice-code"),
        *("2026-H2", "2026-H1", "2025-H2", "reputation", "points", "kudos_received"),
        *("roaming", "question", "idea", "cash", "credit", "charity", "implemented"),
        *("votes", "7d", "vote_ideas", "issued", "paid", "pending", "qualified"),
        *("spam", "member", "staff", 0, 1, 5, 100, -3, True, False, None),
        NOW,
        NOW - timedelta(days=200),
        NOW + timedelta(minutes=1),
        datetime(2027, 6, 1, tzinfo=UTC),
        timedelta(days=7),
        policies.stackexchange(),
        KudosGiven(post="r1", giver="carol"),
        PointsAdjusted(member="alice", points=5, reason="event", by="staff1"),
        TopicPosted(topic="t2", author="bob", tags=["roaming", "roaming"]),
    ]
)

# Values no host should pass, each a kind the adversarial run found raising raw errors.
HOSTILE = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(math.nan),
    st.text(max_size=8),
    st.text(st.characters(codec=None, categories=None), max_size=4),  # surrogates, NUL
    st.sampled_from(["\ud800", "a\x00b", "x" * 10_000, " alice", "alice\n", "", "kudos_\n"]),
    st.binary(max_size=4),
    st.builds(bytearray, st.binary(max_size=3)),
    st.lists(st.text(max_size=3), max_size=3),
    st.lists(st.integers(), max_size=2).map(tuple),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sets(st.integers(), max_size=2),
    st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=st.sampled_from(ZONES)),
    st.timedeltas(),
    st.builds(object),
)

MEMBERS = st.sampled_from(["alice", "bob", "carol", "dave", "staff1", "mod1"])
POSTS = st.sampled_from(["t1", "r1", "i1", "t2", "r2"])
TIMES = st.sampled_from(
    [NOW, NOW - timedelta(days=1), NOW - timedelta(days=200), datetime(2026, 6, 1, tzinfo=UTC)]
)
IDS = st.text("abc123-", min_size=1, max_size=6)
# What a host would pass to a parameter of this name, so calls also get past validation.
BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(["member", "giver", "voter", "author", "referrer", "new_member"], MEMBERS),
    **dict.fromkeys(["post", "topic", "reply", "idea", "duplicate_of", "subject"], POSTS),
    **dict.fromkeys(["at", "since", "until", "as_of"], TIMES),
    **dict.fromkeys(["points", "reputation", "limit", "offset"], st.integers(-5, 20)),
    "by": MEMBERS | st.sampled_from(["reputation", "points", "kudos_received", "votes", "trend"]),
    "period": st.sampled_from(["2026-H2", "2026-H1", "2025-H2", "current"]),
    "event_id": IDS,
    "tags": st.lists(st.sampled_from(["roaming", "eu", "billing"]), max_size=3),
    "fingerprints": st.lists(st.sampled_from(["card:1", "dev:2"]), max_size=2),
    "status": st.sampled_from(["implemented", "planned", "issued", "pending", "held"]),
    "method": st.sampled_from(["cash", "credit", "charity"]),
    "kind": st.sampled_from(["question", "idea", "praise"]),
    "window": st.sampled_from(["7d", "30d", timedelta(days=3)]),
    "privilege": st.sampled_from(["vote_ideas", "give_kudos", "comment"]),
    "payout_id": st.sampled_from(["2026-H1:alice", "2026-H2:bob"]),
    "day": st.sampled_from(["2026-11-22", "2026-11-23", "2026-11-24", date(2026, 11, 20)]),
}


def values(name: str) -> st.SearchStrategy[Any]:
    """Mostly what a host would pass to ``name``, now and then anything at all."""
    named = BY_NAME.get(name, PLAUSIBLE)
    return st.one_of(*[named] * 6, PLAUSIBLE, HOSTILE)


VALUES = values("*")


def seeded(store: Store, community: str) -> Community:
    """A forum with a question, a reply with kudos and a solution, an idea, a referral."""
    c = Community(store=store, policy=policies.giffgaff(), community=community, clock=FakeClock())
    c.join("alice")
    c.join("bob", referred_by="alice")
    c.join("carol")
    c.join("staff1", role="staff")
    c.join("mod1", role="moderator")
    c.post_topic("t1", author="bob", title="No data abroad", tags=["roaming"])
    c.post_reply("r1", topic="t1", author="alice")
    c.give_kudos("r1", giver="bob")
    c.accept_solution("t1", reply="r1", by="bob")
    c.post_topic("i1", author="carol", kind="idea", title="eSIM")
    return c


def call_with(data: st.DataObject, method: Callable[..., Any]) -> Callable[[], Any]:
    """``method`` bound to arbitrary arguments drawn for each of its parameters."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, param in list(inspect.signature(method).parameters.items()):
        if param.kind is param.VAR_POSITIONAL:
            args += data.draw(st.lists(VALUES, max_size=3), label=f"*{name}")
            continue
        if param.default is not param.empty and data.draw(st.booleans(), label=f"omit {name}"):
            continue
        value = data.draw(values(name), label=name)
        if param.kind is param.KEYWORD_ONLY:
            kwargs[name] = value
        else:
            args.append(value)
    return lambda: method(*args, **kwargs)


def fuzz(community: Community, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(METHODS), label="method")
    call = call_with(data, getattr(community, name))
    before = stored_state(community)
    try:
        call()
    except KudosError:
        assert stored_state(community) == before, f"a refused {name}() changed the store"
    # Anything else propagates and fails the test with its traceback.


FUZZ = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def forum(request: pytest.FixtureRequest) -> Iterator[Community]:
    store: Store = request.getfixturevalue(f"{request.param}_store")
    yield seeded(store, "fuzzed")


def test_the_method_list_covers_the_public_surface() -> None:
    assert {"adjust", "statement", "idea_board", "record_many", "close_period"} <= set(METHODS)
    assert len(METHODS) > 50


@FUZZ
@given(data=st.data())
def test_every_public_call_succeeds_or_refuses_with_a_kudos_error_leaving_nothing(
    forum: Community, data: st.DataObject
) -> None:
    fuzz(forum, data)
