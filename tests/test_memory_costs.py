"""What a MemoryStore transaction costs: about what the dict operations it stands for cost.

A counter change is a few dict operations and no call; a counter's value is
remembered for the rollback once per transaction however many events change
it, and not at all when the transaction began on an empty community (its
rollback empties the community again); a document write makes one dict
lookup, and documents are indexed by kind, ref, status and search words only
once something looks them up. Whatever the transaction does, it then commits
every write or, when it raises, leaves the store exactly as it was: a
hypothesis test checks both against a plain dict model.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos import events as ev
from kudos.model import Doc, LedgerEntry, Notification, StoredEvent
from kudos.stores.memory import MemoryStore, MemoryTransaction
from kudos.stores.protocol import SEARCH_KIND, CounterKey, Snapshot
from kudos.testing import FakeClock

AT = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _calls(method: Callable[..., object], *args: object) -> list[str]:
    """The functions (Python's and built-in ones) ``method(*args)`` calls, in order."""
    seen: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            seen.append(frame.f_code.co_name)
        elif event == "c_call":
            seen.append(arg.__name__)

    gc.collect()  # none meanwhile: the finalizers a collection runs are calls too
    gc.disable()
    sys.setprofile(profile)
    try:
        method(*args)
    finally:
        sys.setprofile(None)
        gc.enable()
    return seen[1:-1]  # without the call of ``method`` itself and of ``setprofile``


def _remembered(tx: MemoryTransaction) -> int:
    """How many documents' and counters' earlier values ``tx`` keeps for its rollback."""
    return len(tx._old_docs or {}) + len(_counters_remembered(tx) or ())


def _counters_remembered(tx: MemoryTransaction) -> set[CounterKey] | None:
    """The counters whose earlier values ``tx`` keeps for its rollback (``None``: it keeps none)."""
    if tx._old_counters is None:
        return None
    return {
        (metric, scope, subject)
        for (metric, scope), (_, earlier) in tx._old_counters.items()
        for subject in earlier
    }


class _Watched(MemoryStore):
    """A MemoryStore that notes, as each transaction ends, the counters it remembered."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[set[CounterKey] | None] = []

    @contextmanager
    def transaction(self, community: str, *, read_only: bool = False) -> Iterator[Any]:
        with super().transaction(community, read_only=read_only) as tx:
            yield tx
            self.kept.append(_counters_remembered(tx))


def _kudos_stream(c: kudos.Community, start: int, n: int) -> list[ev.Event]:
    events: list[ev.Event] = []
    for i in range(start, start + n):
        events.append(ev.ReplyPosted(reply=f"r{i}", topic="t1", author=f"m{i % 3}"))
        events.append(ev.KudosGiven(post=f"r{i}", giver=f"m{(i + 1) % 3}"))
    return events


def _forum(store: MemoryStore) -> kudos.Community:
    return kudos.Community(store=store, clock=FakeClock(AT), cache=None)


# --- counters ------------------------------------------------------------------------


def test_changing_counters_that_exist_makes_no_call() -> None:
    store = MemoryStore()
    keys: list[CounterKey] = [
        (metric, scope, subject)
        for metric in ("points", "reputation")
        for scope in ("all", "2026-H2", "d:2026-11-23")
        for subject in ("ann", "bob", "cat")
    ]
    with store.transaction("c") as tx:
        # A new counter notes its board under its subject (one call each), nothing else.
        assert _calls(tx.add, dict.fromkeys(keys, 1)) == ["items"] + ["add"] * len(keys)
    with store.transaction("c") as tx:
        assert _calls(tx.add, dict.fromkeys(keys, 2)) == ["items"]
        assert _calls(tx.add, dict.fromkeys(keys, 3)) == ["items"]
        assert _remembered(tx) == len(keys)  # each counter once, for the rollback
    with store.transaction("c") as tx:
        assert [tx.counter(*k) for k in keys] == [6] * len(keys)


def test_a_counter_is_remembered_once_per_transaction_however_many_events_change_it() -> None:
    store = _Watched()
    c = _forum(store)
    c.record_many([ev.MemberJoined(member=m) for m in ("m0", "m1", "m2")])
    c.post_topic("t1", author="m0", title="Roaming")
    with store.transaction(c.id) as tx:
        before = tx.snapshot().counters
    store.kept.clear()
    c.record_many(_kudos_stream(c, 0, 40))  # 80 events, 27 kudos for each member
    with store.transaction(c.id) as tx:
        after = tx.snapshot().counters
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert store.kept == [changed, set()]  # the batch's transaction, then the read's


def test_a_batch_into_an_empty_community_remembers_nothing_and_its_rollback_empties_it() -> None:
    store = _Watched()
    c = _forum(store)
    joins = [ev.MemberJoined(member=m) for m in ("m0", "m1", "m2")]
    topic = ev.TopicPosted(topic="t1", author="m0", title="Roaming", kind="question")
    c.record_many([*joins, topic, *_kudos_stream(c, 0, 20)])
    assert store.kept[-1] is None  # nothing kept: a rollback empties the community
    before = store.data_version(c.id)

    other = _Watched()
    d = _forum(other)
    bad = ev.KudosGiven(post="r0", giver="m0")  # m0 wrote r0: no kudos to oneself
    with pytest.raises(kudos.NotAllowed, match="event #24"):
        d.record_many([*joins, topic, *_kudos_stream(d, 0, 10), bad])
    with other.transaction(d.id) as tx:
        assert tx.snapshot() == Snapshot(docs=(), counters={})
        assert tx.events() == tx.entries() == tx.notifications() == tx.find("member") == []
    assert other.data_version(d.id) == 0
    d.record_many([*joins, topic, *_kudos_stream(d, 0, 20)])  # as if the batch never ran
    assert d.standings() == c.standings()
    assert store.data_version(c.id) == before


# --- documents ------------------------------------------------------------------------


def test_writing_a_document_is_one_lookup_and_indexes_nothing_nobody_looked_up() -> None:
    store = MemoryStore()
    with store.transaction("c") as tx:
        for i in range(3):
            doc = Doc(kind="vote", key=f"v{i}", data={"n": i}, ref="r1", status="live")
            assert _calls(tx.put, doc) == ["get"]
        assert [d.key for d in tx.find("vote", ref="r1")] == ["v0", "v1", "v2"]
        # Once looked up, the kind's index is kept up to date by each write.
        moved = Doc(kind="vote", key="v1", data={"n": 1}, ref="r2", status="live")
        tx.put(moved)
        assert [d.key for d in tx.find("vote", ref="r1")] == ["v0", "v2"]
        assert [d.key for d in tx.find("vote", ref="r2", status="live")] == ["v1"]
        # A kind nobody looked up is still written with one lookup.
        post = Doc(kind="post", key="p1", data={}, ref="ann", status="live")
        assert _calls(tx.put, post) == ["get"]


# --- any transaction: committed or rolled back, against a dict model ------------------

_KINDS = ("post", "vote", SEARCH_KIND)
_REFS = (None, "r1", "r2")
_STATUSES = (None, "live", "gone")
_WORDS = ("data", "roaming", "bill")
_SUBJECTS = ("ann", "bob", "cat", "dan")
_BOARDS = (("points", "all"), ("points", "2026-H2"), ("reputation", "all"))

_counter_keys = st.tuples(st.sampled_from(_BOARDS), st.sampled_from(_SUBJECTS)).map(
    lambda b: (b[0][0], b[0][1], b[1])
)
_deltas = st.dictionaries(_counter_keys, st.integers(-3, 3), max_size=6)
_docs = st.builds(
    lambda kind, key, ref, status, words: Doc(
        kind=kind, key=key, data={"text": " ".join(words)}, ref=ref, status=status
    ),
    st.sampled_from(_KINDS),
    st.sampled_from(("k1", "k2", "k3")),
    st.sampled_from(_REFS),
    st.sampled_from(_STATUSES),
    st.lists(st.sampled_from(_WORDS), max_size=2),
)
_ops = st.one_of(
    st.tuples(st.just("add"), _deltas),
    st.tuples(st.just("tally"), _deltas),
    st.tuples(st.just("put"), _docs),
    st.tuples(st.just("event"), st.sampled_from(("e1", "e2", "e3", "e4"))),
    st.tuples(st.just("entries"), st.lists(st.sampled_from(_SUBJECTS), min_size=1, max_size=3)),
    st.tuples(st.just("notes"), st.lists(st.sampled_from(_SUBJECTS), min_size=1, max_size=2)),
    st.tuples(st.just("ack"), st.integers(1, 6)),
    st.tuples(st.just("look"), st.sampled_from(_KINDS)),
    st.tuples(
        st.just("replace"),
        st.tuples(st.lists(_docs, max_size=3), st.dictionaries(_counter_keys, st.integers(-2, 2))),
    ),
)


class _Model:
    """What a store holds, as plain dicts and lists."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], Doc] = {}
        self.counters: dict[CounterKey, int] = {}
        self.events: list[str] = []
        self.entries: list[LedgerEntry] = []
        self.outbox: list[Notification] = []

    def copy(self) -> _Model:
        other = _Model()
        other.docs, other.counters = dict(self.docs), dict(self.counters)
        other.events, other.entries, other.outbox = (
            list(self.events),
            list(self.entries),
            list(self.outbox),
        )
        return other

    def apply(self, tx: MemoryTransaction, op: tuple[str, Any]) -> None:
        """Do ``op`` in ``tx`` and here, checking the transaction reads its own writes."""
        name, arg = op
        if name in ("add", "tally"):
            getattr(tx, name)(arg)
            for k, v in arg.items():
                self.counters[k] = self.counters.get(k, 0) + v
        elif name == "put":
            tx.put(arg)
            self.docs[(arg.kind, arg.key)] = arg
        elif name == "event":
            known = tx.append_event(StoredEvent(event_id=arg, type="t", payload={}, at=AT))
            assert (known is not None) == (arg in self.events)
            if known is None:
                self.events.append(arg)
        elif name == "entries":
            n = len(self.entries)
            new = [
                LedgerEntry(
                    entry_id=f"x/{n + i}",
                    member=m,
                    account="points",
                    amount=i + 1,
                    action="test",
                    reason="test",
                    event_id="e1",
                    subject=None if i % 2 else "r1",
                    period="2026-H2",
                    at=AT,
                )
                for i, m in enumerate(arg)
            ]
            tx.append_entries(new)
            self.entries.extend(new)
        elif name == "notes":
            notes = [
                Notification(seq=0, member=m, kind="k", data={}, event_id="e1", at=AT) for m in arg
            ]
            added = tx.add_notifications(notes)
            assert [n.seq for n in added] == [len(self.outbox) + i + 1 for i in range(len(arg))]
            self.outbox.extend(added)
        elif name == "ack":
            tx.ack([arg])
            if arg <= len(self.outbox) and not self.outbox[arg - 1].acked:
                old = self.outbox[arg - 1]
                self.outbox[arg - 1] = Notification(
                    seq=old.seq,
                    member=old.member,
                    kind=old.kind,
                    data=old.data,
                    event_id=old.event_id,
                    at=old.at,
                    acked=True,
                )
        elif name == "look":
            self.check(tx, kinds=(arg,))
        else:
            docs, counters = arg
            tx.replace_projections(Snapshot(docs=tuple(docs), counters=counters))
            self.docs = {(d.kind, d.key): d for d in docs}
            self.counters = dict(counters)

    def check(self, tx: MemoryTransaction, kinds: tuple[str, ...] = _KINDS) -> None:
        """``tx`` reads exactly what the model holds."""
        docs = list(self.docs.values())
        for kind in kinds:
            for ref in _REFS:
                for status in _STATUSES:
                    want = sorted(
                        d.key
                        for d in docs
                        if d.kind == kind
                        and (ref is None or d.ref == ref)
                        and (status is None or d.status == status)
                    )
                    assert [d.key for d in tx.find(kind, ref=ref, status=status)] == want
        for word in _WORDS:
            has = {d.key for d in docs if d.kind == SEARCH_KIND and word in d.data["text"].split()}
            assert {d.key for d in tx.search([word], limit=10)} == has
        for (kind, key), doc in self.docs.items():
            assert tx.get(kind, key) == doc
        live = {k: v for k, v in self.counters.items() if v}
        assert {k: v for k, v in tx.snapshot().counters.items() if v} == live
        assert sorted(tx.snapshot().docs, key=lambda d: (d.kind, d.key)) == sorted(
            docs, key=lambda d: (d.kind, d.key)
        )
        for metric, scope in _BOARDS:
            board = {s: v for (m, sc, s), v in live.items() if (m, sc) == (metric, scope)}
            ranked = sorted(board.items(), key=lambda r: (-r[1], r[0]))
            assert tx.top(metric, scope, limit=10) == ranked
            positive = [s for s, v in ranked if v > 0]
            for subject in _SUBJECTS:
                assert tx.counter(metric, scope, subject) == board.get(subject, 0)
                at = positive.index(subject) + 1 if subject in positive else None
                assert tx.position(metric, scope, subject) == (at, len(positive))
        for subject in _SUBJECTS:
            want_of = {(m, sc): v for (m, sc, s), v in live.items() if s == subject and sc == "all"}
            assert tx.counters_of(subject, ["all"]) == want_of
        assert [e.event_id for e in tx.events()] == self.events
        assert [e.seq for e in tx.events()] == list(range(1, len(self.events) + 1))
        assert tx.entries() == self.entries
        for subject in _SUBJECTS:
            assert tx.entries(member=subject) == [e for e in self.entries if e.member == subject]
        assert tx.entries(subject="r1") == [e for e in self.entries if e.subject == "r1"]
        assert tx.notifications() == self.outbox


class _Refused(Exception):
    pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(_ops, max_size=12),
    during=st.lists(_ops, max_size=25),
    commits=st.booleans(),
)
def test_a_transaction_commits_every_write_or_leaves_the_store_as_it_was(
    before: list[tuple[str, Any]], during: list[tuple[str, Any]], commits: bool
) -> None:
    store = MemoryStore()
    model = _Model()
    with store.transaction("c") as tx:  # the store as the transaction finds it (maybe empty)
        for op in before:
            model.apply(tx, op)
    version = store.data_version("c")
    committed: list[bool] = []
    expected = model.copy()
    try:
        with store.transaction("c") as tx:
            tx.on_commit(lambda: committed.append(True))
            for op in during:
                expected.apply(tx, op)
            expected.check(tx)
            if not commits:
                raise _Refused
    except _Refused:
        expected = model
    with store.transaction("c") as tx:
        expected.check(tx)
    assert committed == ([True] if commits else [])
    # Every write moves the data version (acknowledging a notification does not).
    wrote = any(name not in ("look", "ack") for name, _ in during)
    assert store.data_version("c") == version + (1 if commits and wrote else 0)
    # The store still takes writes as usual after either ending.
    with store.transaction("c") as tx:
        expected.apply(tx, ("add", {("points", "all", "ann"): 1}))
        expected.apply(tx, ("put", Doc(kind="post", key="k9", data={}, ref="r1")))
    with store.transaction("c") as tx:
        expected.check(tx)


def test_a_transaction_inside_another_rolls_back_to_where_the_outer_one_was() -> None:
    store = MemoryStore()
    ann, bob, cat = (("points", "all", m) for m in ("ann", "bob", "cat"))
    p1 = Doc(kind="post", key="p1", data={"n": 1}, ref="ann")
    with store.transaction("c") as tx:
        tx.add({ann: 1})
        tx.put(p1)
    with pytest.raises(_Refused), store.transaction("c") as outer:
        outer.add({ann: 2, bob: 5})
        outer.put(attrs.evolve(p1, data={"n": 2}))
        with pytest.raises(_Refused), store.transaction("c") as inner:
            inner.add({ann: 10, cat: 1})
            inner.put(attrs.evolve(p1, data={"n": 3}, ref="bob"))
            raise _Refused
        assert [outer.counter(*k) for k in (ann, bob, cat)] == [3, 5, 0]
        assert outer.get("post", "p1") == attrs.evolve(p1, data={"n": 2})
        assert [d.key for d in outer.find("post", ref="ann")] == ["p1"]
        outer.add({cat: 4})
        assert outer.top("points", "all", limit=3) == [("bob", 5), ("cat", 4), ("ann", 3)]
        raise _Refused
    with store.transaction("c") as tx:
        assert tx.top("points", "all", limit=3) == [("ann", 1)]
        assert tx.get("post", "p1") == p1
        assert [d.key for d in tx.find("post", ref="ann")] == ["p1"]
