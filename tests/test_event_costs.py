"""What every event costs whatever it is: work done once per event type, day or instant.

An event's content and its copy under a derived id read the fields in one call
per type; the event's time is formatted once and shared by the stored payload
and every document the event writes; the booking period of an award is worked
out once per day of a transaction (again only once a period closes in it);
recognition asks what it needs of an event type once per type and notes moves
its rules did not see with dict operations only. Counted, never timed: each
test below fails on the code before these savings. Where work is skipped, a
hypothesis test checks that the skip leaves exactly what the full work leaves.
"""

from __future__ import annotations

import contextlib
import gc
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos.channels.events import MembersMerged
from kudos.engine import core
from kudos.events import (
    Event,
    KudosGiven,
    MemberJoined,
    PaybackPeriodClosed,
    ReplyPosted,
    SolutionAccepted,
    TopicPosted,
)
from kudos.health import handlers as h
from kudos.testing import FakeClock

START = datetime(2026, 5, 20, 9, tzinfo=UTC)


@contextmanager
def _calls_within(name: str) -> Iterator[Counter[str]]:
    """Count, by name, the functions (Python's and built-in ones) called inside any call of
    the function named ``name``; ``"<runs>"`` counts the calls of ``name`` itself."""
    found: Counter[str] = Counter()
    depth = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal depth
        if event == "call":
            if depth:
                depth += 1
                found[frame.f_code.co_name] += 1
            elif frame.f_code.co_name == name:
                depth = 1
                found["<runs>"] += 1
        elif event == "return":
            if depth:
                depth -= 1
        elif event == "c_call" and depth:
            found[getattr(arg, "__name__", repr(arg))] += 1

    sys.setprofile(profile)
    try:
        yield found
    finally:
        sys.setprofile(None)


@contextmanager
def _counting(owner: Any, attribute: str) -> Iterator[list[Any]]:
    """Count the calls of ``owner.attribute`` (a function) while the block runs."""
    original = getattr(owner, attribute)
    seen: list[Any] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        seen.append(args)
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(owner, attribute, counted)
        yield seen


def _forum(members: int = 6) -> tuple[kudos.Community, FakeClock]:
    clock = FakeClock(START + timedelta(days=2))
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=clock)
    c.record_many([MemberJoined(member=f"m{i}") for i in range(members)])
    c.post_topic("t", author="m0", title="No data abroad", tags=["roaming"])
    return c, clock


def _stream(events: int, members: int, seed: int) -> list[Event]:
    """A valid stream of joins, topics, replies, kudos and solutions, a minute apart."""
    rng = random.Random(seed)
    at = iter(START + timedelta(minutes=i) for i in range(events + members + 1))
    names = [f"m{i}" for i in range(members)]
    out: list[Event] = [MemberJoined(member=m, at=next(at)) for m in names]
    topics: list[tuple[str, str]] = []
    replies: list[tuple[str, str, str]] = []
    given: set[tuple[str, str]] = set()
    solved: set[str] = set()
    while len(out) < events + members:
        roll = rng.random()
        if roll < 0.15 or not replies:
            topic, author = f"t{len(topics)}", rng.choice(names)
            topics.append((topic, author))
            out.append(TopicPosted(topic=topic, author=author, tags=["roaming"], at=next(at)))
            if not replies:
                reply = f"r{len(replies)}"
                replies.append((reply, topic, rng.choice(names)))
                out.append(
                    ReplyPosted(reply=reply, topic=topic, author=replies[-1][2], at=next(at))
                )
        elif roll < 0.5:
            topic, _ = rng.choice(topics)
            reply, author = f"r{len(replies)}", rng.choice(names)
            replies.append((reply, topic, author))
            out.append(ReplyPosted(reply=reply, topic=topic, author=author, at=next(at)))
        elif roll < 0.92:
            reply, _, author = rng.choice(replies)
            giver = rng.choice(names)
            if giver != author and (reply, giver) not in given:
                given.add((reply, giver))
                out.append(KudosGiven(post=reply, giver=giver, at=next(at)))
        else:
            reply, topic, author = rng.choice(replies)
            asker = dict(topics)[topic]
            if topic not in solved and author != asker:
                solved.add(topic)
                out.append(SolutionAccepted(topic=topic, reply=reply, by=asker, at=next(at)))
    return out


# --- the event's own fields -----------------------------------------------------------------


def test_an_events_content_and_copy_look_up_their_type_once_and_call_nothing_else() -> None:
    event = TopicPosted(topic="t1", author="bob", title="eSIM", tags=["esim", "roaming"])
    TopicPosted(topic="t0", author="ann").with_id("topic-posted:t0")  # once per type
    with _calls_within("content") as calls:
        assert event.content()["tags"] == ["esim", "roaming"]
    # Per field, a getattr (and an isinstance for a value that is not None): the fastest
    # read there is; the type's fields and those left out when unset in one dict lookup.
    assert calls["<runs>"] == 1
    assert set(calls) <= {"<runs>", "getattr", "isinstance"}
    with _calls_within("with_id") as calls:
        copy = event.with_id("topic-posted:t1")
    assert copy == TopicPosted(
        topic="t1", author="bob", title="eSIM", tags=["esim", "roaming"], event_id="topic-posted:t1"
    )
    assert set(calls) <= {"<runs>", "getattr", "__new__"}


# --- the event's time, formatted once ---------------------------------------------------------


@pytest.mark.parametrize("fact", ["topic", "reply", "join"])
def test_recording_an_event_formats_its_time_once(fact: str) -> None:
    c, clock = _forum()
    with _calls_within("record") as calls:
        if fact == "topic":
            c.post_topic("t2", author="m1", title="Top-up failed", tags=["billing"])
        elif fact == "reply":
            c.post_reply("r1", topic="t", author="m1")
        else:
            c.join("newcomer")
    # The stored payload, the post, the response-health record, the topic's search
    # record and the member document all keep the same text.
    assert calls["isoformat"] == 1
    text = clock().isoformat()
    with c.store.transaction(c.id) as tx:
        if fact == "topic":
            assert tx.get("post", "t2").data["posted_at"] == text  # type: ignore[union-attr]
            assert tx.get("health", "t2").data["posted_at"] == text  # type: ignore[union-attr]
        elif fact == "reply":
            assert tx.get("post", "r1").data["posted_at"] == text  # type: ignore[union-attr]
            record = tx.get("health", "t")
            assert record is not None
            assert h.responses(tx, "t", record.data)[-1][2] == text
        else:
            assert tx.get("member", "newcomer").data["joined_at"] == text  # type: ignore[union-attr]


# --- the booking period, once per day -----------------------------------------------------------


def test_a_batch_works_out_the_booking_period_once_per_day() -> None:
    c, clock = _forum(members=30)
    c.post_reply("r", topic="t", author="m1")
    clock.set(START + timedelta(days=5))
    first = START + timedelta(days=2, hours=2)
    kudos_ = [
        KudosGiven(post="r", giver=f"m{i}", at=first + timedelta(hours=i)) for i in range(2, 30)
    ]
    days = {core.day_of(c.policy, e.at) for e in kudos_ if e.at is not None}
    assert len(days) == 2  # the batch spans two local days
    with _counting(core, "booking_period") as asked, _counting(core, "period_of") as months:
        c.record_many(kudos_)
    assert len(asked) == len(days)  # not one per event
    assert len(months) == len(days)
    lines = [
        e for e in c.statement("m1").lines if e.action == "kudos_on_reply" and e.account == "points"
    ]
    assert len(lines) == 28 and {e.period for e in lines} == {c.period_of(first)}


def test_a_period_closed_within_a_batch_books_the_batchs_later_facts_in_the_next_one() -> None:
    c, clock = _forum(members=8)
    c.join("staff1", role="staff")
    c.post_reply("r", topic="t", author="m1")
    period = c.period_of(START)
    _, end = c.policy.periods.bounds(period)
    clock.set(end + timedelta(days=2))
    before = [
        KudosGiven(post="r", giver=f"m{i}", at=end - timedelta(days=1, hours=i)) for i in (2, 3)
    ]
    close = PaybackPeriodClosed(period=period, by="staff1", at=end + timedelta(days=1))
    late = [
        KudosGiven(post="r", giver=f"m{i}", at=end - timedelta(days=1, hours=i)) for i in (4, 5)
    ]
    c.record_many([*before, close, *late])
    booked = {
        e.event_id: e.period
        for e in c.statement("m1").lines
        if e.action == "kudos_on_reply" and e.amount
    }
    following = c.policy.periods.next(period)
    assert [booked[f"kudos-given:r:m{i}"] for i in (2, 3, 4, 5)] == [
        period,
        period,
        following,
        following,
    ]


_STAFF = "staff1"
_MEMBERS = [f"m{i}" for i in range(5)]
_step = st.one_of(
    # kudos from a member on a reply, dated ``days`` after the start (perhaps before a close)
    st.tuples(st.just("kudos"), st.integers(0, 4), st.integers(0, 4), st.integers(0, 400)),
    st.tuples(st.just("reply"), st.integers(0, 4), st.integers(0, 400)),
    st.tuples(st.just("close"), st.integers(0, 2)),
    st.tuples(st.just("batch")),
)


def _thread(now: datetime, replied: datetime) -> kudos.Community:
    """Staff and the members joined, a topic, one reply of each member (at ``replied``)."""
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=FakeClock(now))
    c.record_many(
        [
            MemberJoined(member=_STAFF, role="staff", at=START),
            *(MemberJoined(member=m, at=START) for m in _MEMBERS),
            TopicPosted(topic="t", author=_STAFF, at=START),
            *(
                ReplyPosted(reply=f"r{i}", topic="t", author=m, at=replied)
                for i, m in enumerate(_MEMBERS)
            ),
        ]
    )
    return c


def _in_batches(
    c: kudos.Community, steps: list[tuple[Any, ...]], event: Callable[..., Event]
) -> dict[str, Any]:
    """Record ``event(kind, *args)`` of each step, a batch up to each ``("batch",)`` step
    (a refused batch changes nothing); what the community then holds."""
    batch: list[Event] = []

    def send() -> None:
        with contextlib.suppress(kudos.KudosError):
            c.record_many(batch)
        batch.clear()

    for kind, *args in steps:
        if kind == "batch":
            send()
        else:
            batch.append(event(kind, *args))
    send()
    with c.store.transaction(c.id) as tx:
        snapshot = tx.snapshot()
        ledger = [(e.entry_id, e.member, e.amount, e.period, e.reason) for e in tx.entries()]
    return {
        "docs": {(d.kind, d.key): d for d in snapshot.docs},
        "counters": dict(snapshot.counters),
        "ledger": sorted(ledger),
        "outbox": [(n.member, n.kind, n.data, n.event_id) for n in c.notifications(limit=None)],
    }


def _play_periods(steps: list[tuple[Any, ...]]) -> dict[str, Any]:
    c = _thread(START + timedelta(days=800), START + timedelta(minutes=1))
    periods = c.policy.periods
    first = c.period_of(START)
    closable = [first, periods.next(first), periods.next(periods.next(first))]
    replies = [len(_MEMBERS)]

    def event(kind: str, *args: int) -> Event:
        if kind == "kudos":
            giver, reply, days = args
            at = START + timedelta(days=days, minutes=2)
            voter = _MEMBERS[(reply + 1 + giver % 4) % 5]  # never the reply's author
            return KudosGiven(post=f"r{reply}", giver=voter, at=at)
        if kind == "reply":
            author, days = args
            at = START + timedelta(days=days, minutes=2)
            replies[0] += 1
            return ReplyPosted(
                reply=f"r{replies[0] - 1}", topic="t", author=_MEMBERS[author], at=at
            )
        period = closable[args[0]]  # a close
        _, end = periods.bounds(period)
        return PaybackPeriodClosed(period=period, by=_STAFF, at=end + timedelta(hours=1))

    return _in_batches(c, steps, event)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_step, max_size=25))
def test_the_booking_period_kept_per_day_is_the_one_worked_out_for_every_event(
    steps: list[tuple[Any, ...]],
) -> None:
    kept = _play_periods(steps)
    with pytest.MonkeyPatch.context() as patch:
        # The oracle: every event's booking period worked out in full.
        patch.setattr(core, "_booked", lambda _, tx, pol, day, at: core.booking_period(tx, pol, at))
        every_time = _play_periods(steps)
    assert kept == every_time


# --- recognition's fixed cost ---------------------------------------------------------------


def test_noting_unseen_moves_after_an_event_calls_no_dict_method() -> None:
    c, _ = _forum()
    c.post_reply("r", topic="t", author="m1")
    with _calls_within("_note_unseen_moves") as calls:
        c.give_kudos("r", giver="m2")
    assert calls["<runs>"] == 1
    assert calls["setdefault"] == 0
    assert calls["getattr"] == 0 and calls["isinstance"] == 0


def test_recognition_asks_nothing_of_an_event_type_it_asked_before() -> None:
    c, _ = _forum()
    c.post_reply("r", topic="t", author="m1")
    c.give_kudos("r", giver="m3")
    with _calls_within("_recognise") as calls:
        c.give_kudos("r", giver="m2")
    assert calls["<runs>"] == 1
    # Who acted is read by a getter kept per event type; only the post that earned a
    # badge (if one was earned) is looked up by name.
    assert calls["_field"] == calls["_earning_post"]


# --- the whole: Python calls per event --------------------------------------------------------


def _calls_per_event(events: list[Event]) -> float:
    """Python calls per event of a batch (after a first run: what is kept once per type is)."""
    now = FakeClock(START + timedelta(days=400))
    policy = kudos.policies.giffgaff()
    kudos.Community(policy=policy, clock=now, cache=None).record_many(events)
    c = kudos.Community(policy=policy, clock=now, cache=None)
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call" or event == "c_call":
            calls += 1

    gc.collect()  # none before the batch pauses collections: their finalizers are calls too
    sys.setprofile(profile)
    try:
        c.record_many(events)
    finally:
        sys.setprofile(None)
    return calls / len(events)


def test_a_batch_of_forum_facts_makes_at_most_300_python_calls_per_event() -> None:
    # 351 before these savings on this stream, 290 after (the event's time and fields,
    # the booking period, recognition's per-type reads, members known unmerged, posts).
    assert _calls_per_event(_stream(3000, 100, seed=7)) <= 300


# --- re-pointing facts that name a merged account -----------------------------------------------


def test_a_batch_naming_no_merged_account_resolves_each_member_once() -> None:
    c, _ = _forum(members=8)
    replies = [ReplyPosted(reply=f"r{i}", topic="t", author=f"m{i}") for i in range(1, 8)]
    c.record_many(replies)
    votes = [KudosGiven(post=f"r{i}", giver=f"m{j}") for i in range(1, 8) for j in range(1, 8)]
    votes = [v for v in votes if v.post[1:] != v.giver[1:]]
    with _calls_within("_check_and_repoint") as calls:
        c.record_many(votes)
    assert calls["<runs>"] == len(votes) == 42
    # Each giver's and author's document is read once in the batch, not once per vote.
    assert calls["resolve"] == 0
    assert calls["kept_account"] <= 7 * 2
    with _calls_within("_sweep_merged") as swept:
        c.record_many([KudosGiven(post="t", giver=f"m{i}") for i in range(1, 8)])
    assert swept["<runs>"] == 7 and swept["merged_into"] == 0


_merge_step = st.one_of(
    st.tuples(st.just("kudos"), st.integers(0, 4), st.integers(0, 9)),
    st.tuples(st.just("reply"), st.integers(0, 4)),
    st.tuples(st.just("merge"), st.integers(0, 4), st.integers(0, 4)),
    st.tuples(st.just("batch")),
)


def _play_merges(steps: list[tuple[Any, ...]]) -> dict[str, Any]:
    c = _thread(START + timedelta(days=1), START)
    replies = [len(_MEMBERS)]

    def event(kind: str, *args: int) -> Event:
        if kind == "kudos":
            return KudosGiven(post=f"r{args[1] % replies[0]}", giver=_MEMBERS[args[0]])
        if kind == "reply":
            replies[0] += 1
            return ReplyPosted(reply=f"r{replies[0] - 1}", topic="t", author=_MEMBERS[args[0]])
        gone, into = _MEMBERS[args[0]], _MEMBERS[args[1]]  # a merge
        return MembersMerged(member=gone, into=into, by=_STAFF)

    return _in_batches(c, steps, event)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_merge_step, max_size=25))
def test_accounts_known_unmerged_in_a_batch_give_what_reading_every_account_gives(
    steps: list[tuple[Any, ...]],
) -> None:
    kept = _play_merges(steps)
    with pytest.MonkeyPatch.context() as patch:
        # The oracle: nothing learned across events (every member read again each time).
        patch.setattr(core, "_memo", lambda tx: core._Memo())
        every_time = _play_merges(steps)
    assert kept == every_time


def test_a_reply_reads_its_topic_once() -> None:
    c, _ = _forum(members=4)
    with _counting(core, "get_post") as read:
        c.post_reply("r1", topic="t", author="m1")
    # The reply handler, support's involvement and response health all ask for the
    # topic: one read (the reply is read again once written, as a badge's post).
    assert [args[1] for args in read].count("t") == 1


def test_two_accounts_a_batch_knows_unmerged_are_two_people_without_resolving_either() -> None:
    c, _ = _forum(members=4)
    batch = [
        ReplyPosted(reply="r0", topic="t", author="m2"),
        KudosGiven(post="r0", giver="m0"),  # the topic's author, read as the giver
        ReplyPosted(reply="r1", topic="t", author="m1"),
    ]
    with _calls_within("same_person") as compared:
        c.record_many(batch)
    # Response health asks, for each reply, whether its author wrote the topic: the
    # first time the topic's author is not known yet (read and resolved), then it is.
    assert compared["<runs>"] == 2
    assert compared["resolve"] == 2


def test_topics_of_one_month_work_out_their_period_once() -> None:
    from kudos.periods import Periods

    c, _ = _forum(members=4)
    c.post_topic("warm", author="m2")  # the month's period, worked out once
    with _counting(Periods, "period_of") as asked:
        c.record_many([TopicPosted(topic=f"q{i}", author=f"m{i % 4}") for i in range(10)])
    # Response health's record and support's topic record keep the period the topic was
    # posted in: read from the engine's per-month table, not worked out per topic.
    assert asked == []
    with c.store.transaction(c.id) as tx:
        health = tx.get("health", "q3")
        assert health is not None and health.ref == c.period_of(START + timedelta(days=2))
