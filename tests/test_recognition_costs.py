"""What recognition costs an event that passes no threshold: a few dict lookups.

Within one transaction (a batch, a replay) recognition remembers what it
learned of its own documents: the day it last counted per member, when a
member's tenure next grows, which members have rank and privileges documents,
and the first-action badges an actor holds. A member's second event of a day
then reads none of them, and remembering gives exactly what reading gives.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos.events import Event, KudosGiven, MemberJoined, PostRemoved, ReplyPosted, TopicPosted
from kudos.recognition import handlers as recognition
from kudos.stores.memory import MemoryTransaction
from kudos.testing import FakeClock, assert_consistent

# The last days of a month: waits reach a new day and a new month.
START = datetime(2026, 1, 30, 9, tzinfo=UTC)
MEMBERS = ("m0", "m1", "m2", "m3")
OWN = ("active_days", "tenure", "rank", "privileges", "badge")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """The documents recognition reads from memory transactions, by kind.

    Only its own reads: a batch's prefetch reads the same kinds for every store.
    """
    counted: Counter[str] = Counter()
    get = MemoryTransaction.get
    here = recognition.__file__

    def counting(self: MemoryTransaction, kind: str, key: str) -> Any:
        if kind in OWN and sys._getframe(1).f_code.co_filename == here:
            counted[kind] += 1
        return get(self, kind, key)

    monkeypatch.setattr(MemoryTransaction, "get", counting)
    yield counted


def _forum() -> kudos.Community:
    # The clock stands after every kudos the tests give (members join and post at START).
    clock = FakeClock(START)
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=clock)
    c.join("asker")
    for m in ("alice", "bob"):
        c.join(m)
    c.post_topic("t1", author="asker", kind="question", title="No data", tags=["roaming"])
    for i in range(40):
        c.post_reply(f"r{i}", topic="t1", author="alice")
    clock.advance(days=3)
    return c


def _kudos(first: int, last: int, at: datetime) -> list[Event]:
    return [
        KudosGiven(post=f"r{i}", giver="bob", at=at + timedelta(minutes=i))
        for i in range(first, last)
    ]


def test_a_batch_of_kudos_reads_recognitions_documents_once_per_member(
    reads: Counter[str],
) -> None:
    c = _forum()
    c.record_many(_kudos(0, 10, START))  # alice reaches 10 reputation: a threshold
    reads.clear()
    c.record_many(_kudos(10, 30, START + timedelta(hours=1)))
    # twenty kudos by bob to alice (11 to 30 reputation, passing no threshold) on a day
    # both already acted on: each member's documents are read on their first event only
    assert reads == {"active_days": 1, "tenure": 2, "rank": 2, "privileges": 2, "badge": 1}
    assert c.standing("bob").badges == ("Supporter",)
    assert c.standing("bob").counters["days_active"] == 1
    assert_consistent(c)


def test_a_members_second_event_of_a_day_reads_no_active_days_document(
    reads: Counter[str],
) -> None:
    c = _forum()
    c.record_many(_kudos(0, 1, START))
    reads.clear()
    c.record_many(_kudos(1, 4, START + timedelta(hours=1)))
    assert reads["active_days"] == 1  # bob's first event of the batch; then one comparison
    reads.clear()
    c.record_many(_kudos(4, 6, START + timedelta(days=1)))  # a new day is counted
    assert reads["active_days"] == 1
    assert c.standing("bob").counters["days_active"] == 2


def test_an_actor_is_not_asked_again_for_a_first_action_badge_they_hold(
    asked: list[str],
) -> None:
    c = _forum()
    asked.clear()  # what setting up the forum asked
    c.record_many(_kudos(0, 6, START))
    # bob earns Supporter with his first kudos; the other five ask nothing of him
    assert asked == ["bob"]
    assert c.standing("bob").badges == ("Supporter",)


# --- remembering gives what reading gives ------------------------------------------------

member = st.integers(0, len(MEMBERS) - 1)
step = st.one_of(
    st.tuples(st.just("reply"), member, st.integers(0, 1)),
    st.tuples(st.just("give"), member, st.integers(0, 30)),
    st.tuples(st.just("give"), member, st.integers(0, 30)),
    st.tuples(st.just("give"), member, st.integers(0, 30)),
    st.tuples(st.just("spam"), st.integers(0, 30)),
    st.tuples(st.just("wait"), st.integers(1, 60 * 24 * 3)),
)


def _history(steps: list[tuple[Any, ...]]) -> list[Event]:
    """A valid history of ``steps``: steps the rules would refuse are left out."""
    at = START
    events: list[Event] = [
        MemberJoined(member=m, role="moderator" if m == "mod" else "member", at=at)
        for m in ("asker", "mod", *MEMBERS)
    ]
    events += [TopicPosted(topic=t, author="asker", at=at) for t in ("t0", "t1")]
    replies: list[tuple[str, str]] = []  # (reply, author)
    given: set[tuple[str, str]] = set()
    removed: set[str] = set()
    for kind, *args in steps:
        if kind == "wait":
            at += timedelta(minutes=args[0])
            continue
        at += timedelta(seconds=1)
        if kind == "reply":
            reply = f"r{len(replies)}"
            replies.append((reply, MEMBERS[args[0]]))
            events.append(
                ReplyPosted(reply=reply, topic=f"t{args[1]}", author=MEMBERS[args[0]], at=at)
            )
        elif kind == "give" and replies:
            reply, author = replies[args[1] % len(replies)]
            giver = MEMBERS[args[0]]
            if giver != author and reply not in removed and (reply, giver) not in given:
                given.add((reply, giver))
                events.append(KudosGiven(post=reply, giver=giver, at=at))
        elif kind == "spam" and replies:
            reply, _ = replies[args[0] % len(replies)]
            if reply not in removed:
                removed.add(reply)
                events.append(PostRemoved(post=reply, by="mod", reason="spam", at=at))
    return events


def _recorded(events: list[Event]) -> dict[str, Any]:
    later = FakeClock(START + timedelta(days=365))  # every event has happened
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=later)
    c.record_many(events, trusted=True)
    assert_consistent(c)
    with c.store.transaction(c.id) as tx:
        snapshot = tx.snapshot()
        ledger = tx.entries()
    return {
        "docs": {(d.kind, d.key): d for d in snapshot.docs},
        "counters": {k: v for k, v in snapshot.counters.items() if v},
        "outbox": [(n.member, n.kind, n.data, n.event_id) for n in c.notifications(limit=None)],
        "ledger": ledger,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=60))
def test_remembering_within_a_batch_gives_what_reading_every_document_gives(
    steps: list[tuple[Any, ...]],
) -> None:
    events = _history(steps)
    remembering = _recorded(events)
    with pytest.MonkeyPatch.context() as patch:
        # nothing remembered from one event to the next: every document read again
        patch.setattr(recognition, "_seen", lambda tx: recognition._Seen())
        reading = _recorded(events)
    assert remembering == reading
