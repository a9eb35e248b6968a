"""What ``simulate()`` costs: ``rebuild()``'s replay, with a refused event undone.

The replay runs in one scratch transaction, each event in its own savepoint
(:meth:`MemoryTransaction.savepoint`): no transaction per event, no value kept
for a rollback, and what recognition learns in a transaction carried from one
event to the next. An event the other policy refuses, at any point of the
history and whatever it wrote before it was refused, leaves nothing behind: no
log row, ledger line, counter, document or notification, exactly as when each
event had a transaction of its own (the replay before savepoints, kept here as
the reference).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note
from hypothesis import strategies as st

import kudos
from conftest import answered_topic
from kudos import community as community_module
from kudos.engine import core as engine
from kudos.history import handlers as history
from kudos.history.timeline import Timeline
from kudos.model import Doc, StoredEvent
from kudos.recognition import handlers as recognition
from kudos.stores.memory import DocIndex, MemoryStore, MemoryTransaction
from kudos.testing import FakeClock
from test_memory_costs import AT, _Model, _ops, _Refused

_Row = TypeVar("_Row")


class _Scratch(MemoryStore):
    """A MemoryStore that counts its transactions and the values they kept for a rollback."""

    made: list[_Scratch] = []

    def __init__(self) -> None:
        super().__init__()
        self.opened = 0
        self.remembered = 0
        _Scratch.made.append(self)

    @contextmanager
    def transaction(self, community: str, *, read_only: bool = False) -> Iterator[Any]:
        self.opened += 1
        with super().transaction(community, read_only=read_only) as tx:
            yield tx
            counters = tx._old_counters or {}
            self.remembered += len(tx._old_docs or {}) + sum(len(e) for _, e in counters.values())


def _each_in_its_own(
    scratch: MemoryStore,
    community: str,
    rows: Iterable[_Row],
    value: Callable[[MemoryTransaction, _Row], None],
) -> list[tuple[_Row, Exception]]:
    """The replay before savepoints: every event in a transaction of its own."""
    refused: list[tuple[_Row, Exception]] = []
    with scratch.transaction(community):
        for row in rows:
            try:
                with scratch.transaction(community) as one:
                    value(one, row)
            except Exception as exc:
                refused.append((row, exc))
    return refused


def _contents(store: MemoryStore, community: str) -> tuple[Any, ...]:
    """Everything ``store`` holds for ``community``: documents, non-zero counters, log,
    ledger, outbox and policy versions."""
    with store.transaction(community) as tx:
        snapshot = tx.snapshot()
        return (
            sorted(snapshot.docs, key=lambda d: (d.kind, d.key)),
            {k: v for k, v in snapshot.counters.items() if v},
            tx.events(),
            tx.entries(),
            tx.notifications(),
            tx.policy_versions(),
        )


@contextmanager
def _refusing_after_writes(doomed: set[str]) -> Iterator[None]:
    """Refuse the events of ``doomed`` once they wrote everything (as their last act)."""
    flush = engine.Context.flush

    def refuse(ctx: engine.Context) -> Any:
        written = flush(ctx)
        if ctx.event_id in doomed:
            raise kudos.NotAllowed(f"{ctx.event_id} refused after its writes")
        return written

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine.Context, "flush", refuse)
        yield


def _simulated(
    c: kudos.Community, policy: kudos.Policy, *, reference: bool = False, **options: Any
) -> tuple[kudos.Simulation, _Scratch]:
    """``c.simulate(policy)`` and its scratch store (with the replay before savepoints when
    ``reference``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(community_module, "MemoryStore", _Scratch)
        if reference:
            mp.setattr(community_module, "_replay_refusing", _each_in_its_own)
        _Scratch.made.clear()
        simulation = c.simulate(policy, **options)
        (scratch,) = _Scratch.made
    return simulation, scratch


def _same(c: kudos.Community, policy: kudos.Policy, **options: Any) -> kudos.Simulation:
    """Simulate ``policy`` both ways; both give the same simulation and scratch contents."""
    got, scratch = _simulated(c, policy, **options)
    want, reference = _simulated(c, policy, reference=True, **options)
    assert got == want
    assert got.report == want.report
    assert _contents(scratch, c.id) == _contents(reference, c.id)
    return got


def _forum(clock: FakeClock | None = None) -> kudos.Community:
    return answered_topic(clock=clock or FakeClock(), tags=["roaming"])


def _log(c: kudos.Community) -> list[str]:
    with c.store.transaction(c.id) as tx:
        return [e.event_id for e in tx.events()]


# --- what a simulated event costs ------------------------------------------------------------


def test_the_replay_opens_one_transaction_and_keeps_nothing_for_a_rollback() -> None:
    c = _forum()
    events = len(_log(c))
    made: list[object] = []

    class _Counted(recognition._Seen):
        __slots__ = ()

        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(recognition, "_Seen", _Counted)
        simulation, scratch = _simulated(c, c.policy.evolve(name="same"))
    assert simulation.changes == () and simulation.rejected == ()
    # One transaction replays the whole log (a transaction per event before), one reads
    # the result; the replay began on an empty store, so it remembers nothing.
    assert events > 10
    assert scratch.opened == 2
    assert scratch.remembered == 0
    # What recognition learned in the replay's transaction carries across its events.
    assert len(made) == 1


def test_a_refusal_before_any_write_keeps_the_transaction() -> None:
    c = _forum()
    rules = c.policy.evolve(name="strict", min_reputation_to_give_kudos=10_000)
    simulation, scratch = _simulated(c, rules)
    assert [event_id for event_id, _ in simulation.rejected] == [
        e for e in _log(c) if e.startswith("kudos")
    ]
    assert len(simulation.rejected) == 4
    # A kudos refused for the privilege is refused before it writes anything but its log
    # row: the store is as it was, and so is what was learned from it.
    assert (scratch.opened, scratch.remembered) == (2, 0)


def test_after_a_refusal_that_wrote_the_replay_goes_on_in_a_new_transaction() -> None:
    c = _forum()
    log = _log(c)
    doomed = {log[9], log[11]}  # two kudos: nothing later depends on them
    with _refusing_after_writes(doomed):
        simulation, scratch = _simulated(c, c.policy.evolve(name="same"))
    assert {event_id for event_id, _ in simulation.rejected} == doomed
    assert scratch.opened == 2 + len(doomed)


def test_when_the_first_event_is_refused_the_replay_still_remembers_nothing() -> None:
    c = _forum()
    log = _log(c)
    with _refusing_after_writes({log[0]}):
        simulation, scratch = _simulated(c, c.policy.evolve(name="same"))
    assert simulation.rejected[0][0] == log[0]
    # The refused join is undone to an empty store: the transaction after it began empty
    # too, and keeps nothing for a rollback (its rollback would empty the store again).
    # (ann's later facts are refused before they write: they keep that transaction.)
    assert len(simulation.rejected) > 1
    assert (scratch.opened, scratch.remembered) == (3, 0)


# --- a refused event leaves nothing ----------------------------------------------------------


@pytest.mark.parametrize("where", ["first", "second", "middle", "last", "every other"])
def test_an_event_refused_after_its_writes_leaves_nothing(where: str) -> None:
    c = _forum()
    log = _log(c)
    doomed = {
        "first": set(log[:1]),
        "second": set(log[1:2]),
        "middle": {log[len(log) // 2]},
        "last": set(log[-1:]),
        "every other": set(log[::2]),
    }[where]
    with _refusing_after_writes(doomed):
        simulation = _same(c, c.policy.evolve(name="same"))
        _, scratch = _simulated(c, c.policy.evolve(name="same"))
    rejected = {event_id for event_id, _ in simulation.rejected}
    assert doomed <= rejected  # (a later event of a refused join's member is refused too)
    _, _, events, entries, notes, _ = _contents(scratch, c.id)
    assert [e.event_id for e in events] == [e for e in log if e not in rejected]
    assert not any(e.event_id in rejected for e in entries)
    assert not any(n.event_id in rejected for n in notes)
    # Nothing of the refused events is in the counters or documents either: the scratch
    # holds what replaying only the kept events gives.
    kept = MemoryStore()
    with c.store.transaction(c.id) as tx:
        rows = [r for r in tx.events() if r.event_id not in rejected]
    with kept.transaction(c.id) as tx:
        for row in rows:
            engine.apply(tx, c.policy, engine.stored_to_event(row), notify=False, stored=row)
    assert _contents(scratch, c.id) == _contents(kept, c.id)


def test_what_recognition_learned_from_a_refused_event_is_forgotten() -> None:
    clock = FakeClock()
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=clock)
    for name in ("ann", "bob"):
        c.join(name)
    c.post_topic("t1", author="ann", title="No data abroad")
    clock.advance(days=1)
    c.post_reply("r1", topic="t1", author="bob")  # bob's first activity of the day ...
    c.post_reply("r2", topic="t1", author="bob")  # ... and his second
    (first,) = [e for e in _log(c) if "r1" in e]
    with _refusing_after_writes({first}):
        simulation = _same(c, c.policy.evolve(name="same"))
    # The refused reply counted bob's day and was undone: the next one counts it again.
    assert simulation.standings["bob"].counters["days_active"] == 2
    assert [event_id for event_id, _ in simulation.rejected] == [first]


def test_a_refused_close_and_refused_choices_match_the_reference() -> None:
    clock = FakeClock()
    c = _forum(clock)
    c.join("staff1", role="staff")
    c.adjust("bob", points=2_000, reputation=300, reason="seed", by="staff1")
    for m in ("bob", "cat"):
        c.set_payout_method(m, "cash")
    period = c.current_period()
    clock.set(c.policy.periods.bounds(period)[1] + timedelta(days=1))
    c.close_period(period, by="staff1")
    c.give_kudos("r2", giver="dan")
    quarters = c.policy.evolve(name="quarters", periods=kudos.periods.Periods(kind="quarter"))
    simulation = _same(c, quarters)
    assert [kind for kind, _ in simulation.report.refused_kinds] == ["period-closed"]
    payback = attrs.evolve(c.policy.payback, methods={"credit": c.policy.payback.methods["credit"]})
    simulation = _same(c, c.policy.evolve(name="credit only", payback=payback))
    assert len(simulation.rejected) == 2
    effective = clock() - timedelta(days=30)
    _same(c, quarters, effective=effective)
    _same(c, quarters, effective=effective, retroactive=False)


# --- the same simulation on random histories -------------------------------------------------

_MEMBERS = ("m0", "m1", "m2", "m3")
_POSTS = ("t0", "t1", "r0", "r1", "r2", "r3")
_member = st.sampled_from(_MEMBERS)
_fact = st.one_of(
    st.tuples(st.just("join"), _member),
    st.tuples(st.just("topic"), _member, st.sampled_from(("t0", "t1"))),
    st.tuples(st.just("reply"), _member, st.sampled_from(("r0", "r1", "r2", "r3"))),
    st.tuples(st.just("kudos"), _member, st.sampled_from(_POSTS)),
    st.tuples(st.just("kudos"), _member, st.sampled_from(_POSTS)),
    st.tuples(st.just("withdraw"), _member, st.sampled_from(_POSTS)),
    st.tuples(st.just("accept"), st.sampled_from(("r0", "r1", "r2", "r3"))),
    st.tuples(st.just("method"), _member, st.sampled_from(("credit", "cash"))),
    st.tuples(st.just("method"), _member, st.sampled_from(("cash", "charity"))),
    st.tuples(st.just("adjust"), _member, st.integers(-50, 400)),
    st.tuples(st.just("later"), st.integers(1, 60)),
)


def _record(c: kudos.Community, clock: FakeClock, fact: tuple[Any, ...]) -> None:
    """Report ``fact``; one the rules refuse is not in the log."""
    name, *args = fact
    topic_of = {"r0": "t0", "r1": "t0", "r2": "t1", "r3": "t1"}
    try:
        if name == "join":
            c.join(args[0])
        elif name == "topic":
            c.post_topic(args[1], author=args[0], title="A question", tags=["roaming"])
        elif name == "reply":
            c.post_reply(args[1], topic=topic_of[args[1]], author=args[0])
        elif name == "kudos":
            c.give_kudos(args[1], giver=args[0])
        elif name == "withdraw":
            c.withdraw_kudos(args[1], giver=args[0])
        elif name == "accept":
            topic = topic_of[args[0]]
            c.accept_solution(topic, reply=args[0], by=c.post(topic).author)
        elif name == "method":
            c.set_payout_method(args[0], args[1])
        elif name == "adjust":
            if args[1]:
                c.adjust(args[0], points=args[1], reputation=args[1], reason="hand", by="staff")
        else:
            clock.advance(hours=args[0])
    except kudos.KudosError:
        pass


def _other(which: int, policy: kudos.Policy) -> kudos.Policy:
    if which == 0:  # a privilege reached by reputation: refusals depend on what was kept
        return policy.evolve(name="strict", min_reputation_to_give_kudos=12)
    if which == 1:  # a payout method removed
        payback = attrs.evolve(policy.payback, methods={"credit": policy.payback.methods["credit"]})
        return policy.evolve(name="credit only", payback=payback)
    return policy.evolve(name="same")


def _played(facts: list[tuple[Any, ...]]) -> tuple[kudos.Community, FakeClock]:
    """A community with staff, three members, a topic and a reply, then ``facts``."""
    clock = FakeClock()
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=clock)
    c.join("staff", role="staff")
    start = [("join", "m0"), ("join", "m1"), ("join", "m2"), ("topic", "m0", "t0")]
    for fact in [*start, ("reply", "m1", "r0"), *facts]:
        _record(c, clock, fact)
    return c, clock


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=st.lists(_fact, min_size=1, max_size=40),
    which=st.sampled_from((0, 0, 1, 1, 2)),
    doomed=st.sets(st.integers(0, 45), max_size=4),
)
def test_simulate_gives_what_a_transaction_per_event_gives(
    facts: list[tuple[Any, ...]], which: int, doomed: set[int]
) -> None:
    c, _ = _played(facts)
    log = _log(c)
    refused = {log[i] for i in doomed if i < len(log)}
    with _refusing_after_writes(refused):
        simulation = _same(c, _other(which, c.policy))
    rejected = {event_id for event_id, _ in simulation.rejected}
    assert refused <= rejected
    note(f"refused by the other policy: {bool(rejected - refused)}")
    note(f"refused after its writes: {bool(refused)}")


# --- savepoints --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(_ops, max_size=8),
    ahead=st.lists(_ops, max_size=6),
    inside=st.lists(_ops, max_size=12),
    nested=st.lists(_ops, max_size=6),
    after=st.lists(_ops, max_size=6),
    kept=st.tuples(st.booleans(), st.booleans(), st.booleans()),
)
def test_a_savepoint_undoes_its_block_or_keeps_it(
    before: list[tuple[str, Any]],
    ahead: list[tuple[str, Any]],
    inside: list[tuple[str, Any]],
    nested: list[tuple[str, Any]],
    after: list[tuple[str, Any]],
    kept: tuple[bool, bool, bool],
) -> None:
    keep_nested, keep_block, commit = kept
    store = MemoryStore()
    model = _Model()
    with store.transaction("c") as tx:  # the store as the transaction finds it (maybe empty)
        for op in before:
            model.apply(tx, op)
    start = model.copy()
    committed: list[str] = []
    try:
        with store.transaction("c") as tx:
            tx.on_commit(lambda: committed.append("ahead"))
            for op in ahead:
                model.apply(tx, op)
            at_block = model.copy()
            try:
                with tx.savepoint():
                    tx.on_commit(lambda: committed.append("block"))
                    for op in inside:
                        model.apply(tx, op)
                    at_nested = model.copy()
                    try:
                        with tx.savepoint():
                            for op in nested:
                                model.apply(tx, op)
                            if not keep_nested:
                                raise _Refused
                    except _Refused:
                        model = at_nested
                    model.check(tx)
                    if not keep_block:
                        raise _Refused
            except _Refused:
                model = at_block
            model.check(tx)
            assert tx._undo is None  # dropped with the outermost savepoint
            for op in after:
                model.apply(tx, op)
            model.check(tx)
            if not commit:
                raise _Refused
    except _Refused:
        model = start
    with store.transaction("c") as tx:
        model.check(tx)
    assert committed == (["ahead", "block"][: 1 + keep_block] if commit else [])
    with store.transaction("c") as tx:  # the store takes writes as usual afterwards
        model.apply(tx, ("add", {("points", "all", "ann"): 1}))
        model.apply(tx, ("put", Doc(kind="post", key="k9", data={}, ref="r1")))
    with store.transaction("c") as tx:
        model.check(tx)


def test_a_savepoint_says_whether_it_undid_more_than_log_rows() -> None:
    store = MemoryStore()
    event = StoredEvent(event_id="e1", type="t", payload={}, at=AT)
    with store.transaction("c") as tx:
        with pytest.raises(_Refused), tx.savepoint() as savepoint:
            tx.append_event(event)
            raise _Refused
        assert savepoint.undid is False
        with pytest.raises(_Refused), tx.savepoint() as savepoint:
            tx.append_event(event)
            tx.add({("points", "all", "ann"): 0})  # no change, but a write
            raise _Refused
        assert savepoint.undid is True
        with tx.savepoint() as savepoint:
            tx.put(Doc(kind="post", key="p1", data={}))
        assert savepoint.undid is False  # kept, not undone
        assert tx.events() == [] and tx.get("post", "p1") is not None


def test_a_write_inside_a_savepoint_costs_one_append_more() -> None:
    store = MemoryStore()
    doc = Doc(kind="post", key="p1", data={})
    with store.transaction("c") as tx:
        tx.put(doc)  # the store is no longer empty: the next transaction remembers
    with store.transaction("c") as tx, tx.savepoint():
        tx.put(doc)
        tx.add({("points", "all", "ann"): 1})
        assert tx._undo is not None and len(tx._undo) == 2


# --- reading the result ----------------------------------------------------------------------


class _Passes(dict[tuple[str, str], Doc]):
    """A document dict that counts the passes over all of it."""

    passes = 0

    def __iter__(self) -> Iterator[tuple[str, str]]:
        _Passes.passes += 1
        return super().__iter__()

    def items(self) -> Any:
        _Passes.passes += 1
        return super().items()


def test_indexing_one_kind_after_another_passes_over_the_documents_once() -> None:
    docs = [Doc(kind=kind, key=f"{kind}{n}", data={}) for kind in ("a", "b", "c") for n in range(3)]
    index = DocIndex(docs)
    index._all = _Passes(index._all)
    _Passes.passes = 0
    # A simulation's result reads members, badges, referrals, payouts, periods, ... of the
    # scratch store and of the community's: each kind's first lookup indexes it.
    assert [d.key for d in index.find("a", None, None)] == ["a0", "a1", "a2"]
    assert [d.key for d in index.find("b", None, None)] == ["b0", "b1", "b2"]
    assert index.find("none", None, None) == []
    assert _Passes.passes == 1
    # A new document goes into the indexes built; the next kind is read afresh.
    index.put(Doc(kind="c", key="c9", data={}))
    index.put(Doc(kind="b", key="b9", data={}))
    assert [d.key for d in index.find("b", None, None)] == ["b0", "b1", "b2", "b9"]
    assert [d.key for d in index.find("c", None, None)] == ["c0", "c1", "c2", "c9"]
    assert _Passes.passes == 2
    index.pop(("c", "c0"))
    assert [d.key for d in index.find("c", None, None)] == ["c1", "c2", "c9"]


# --- a retroactive policy change's replay ----------------------------------------------------


def _scratch_lines_each_in_its_own(
    tx: Any, timeline: Any, number: int, new: kudos.Policy, effective: Any
) -> Any:
    """The recalculation's replay before: every fact in a transaction of its own."""
    scratch = MemoryStore()
    seen = 1
    for row in tx.events():
        if row.type == "policy-changed":
            seen += 1
            continue
        fact = engine.stored_to_event(row)
        version, policy = (number, new) if fact.at >= effective else timeline.at(fact.at, upto=seen)
        with scratch.transaction(tx.community) as one:
            engine.apply(one, policy, fact, notify=False, trusted=True, version=version)
    totals: dict[Any, int] = {}
    times: dict[Any, Any] = {}
    with scratch.transaction(tx.community) as stx:
        for e in stx.entries():
            if not engine.is_settlement(e.action):
                key = (e.event_id, e.member, e.account, e.action, e.subject, tuple(e.tags))
                totals[key] = totals.get(key, 0) + e.amount
                times.setdefault(key, e.at)
    return totals, times


def test_a_retroactive_change_replays_history_in_one_transaction() -> None:
    clock = FakeClock()
    c = _forum(clock)
    c.join("staff", role="staff")
    events = len(_log(c))
    richer = c.policy.evolve(rewards={**c.policy.rewards, "kudos_on_reply": kudos.Reward(points=9)})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(history, "MemoryStore", _Scratch)
        _Scratch.made.clear()
        c.change_policy(
            richer, effective=clock() - timedelta(days=1), by="staff", reason="x", retroactive=True
        )
        (scratch,) = _Scratch.made
    assert events > 10
    assert (scratch.opened, scratch.remembered) == (1, 0)  # a transaction per fact before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=st.lists(_fact, min_size=1, max_size=40), back=st.integers(0, 3))
def test_a_recalculation_books_what_a_transaction_per_fact_books(
    facts: list[tuple[Any, ...]], back: int
) -> None:
    c, clock = _played(facts)
    rewards = {**c.policy.rewards, "kudos_on_reply": kudos.Reward(points=9, reputation=40)}
    new = c.policy.evolve(name="richer", rewards=rewards)
    effective = clock() - timedelta(hours=20 * back)
    with c.store.transaction(c.id) as tx:
        timeline = Timeline(tx.policy_versions())
        got = history._scratch_lines(tx, "none", timeline, 2, new, effective)
        want = _scratch_lines_each_in_its_own(tx, timeline, 2, new, effective)
    assert (dict(got[0]), got[1]) == want
