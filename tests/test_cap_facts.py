"""Awards a cap holds back: what a scope keeps of them does not grow what one more costs.

A member far past a cap (a top contributor past the monthly points cap gets
thousands of kudos a month) has every further award held back, and the scope
remembers each one, so that room opening later (a withdrawn kudos, a down-vote
counted against the cap) tops up the oldest first. The scope's ``cap`` document
lists the first :data:`kudos.engine.caps.LISTED` of them; later ones are
documents of their own. How many it lists changes nothing a member or the
ledger sees, whatever order the facts come in, and a scope an earlier kudos
kept (listing every award) goes on as one kept this way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kudos import Community, KudosError
from kudos.engine import caps
from kudos.engine.core import Context
from kudos.events import MemberJoined
from kudos.model import Doc, LedgerEntry
from kudos.policies import giffgaff, stackexchange
from kudos.policy import Cap, Policy
from kudos.stores.memory import MemoryStore
from kudos.stores.protocol import Snapshot
from kudos.testing import FakeClock, assert_consistent

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_the_three_thousandth_kudos_past_a_cap_writes_what_the_sixteen_hundredth_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written: list[int] = []
    put = Context.put

    def measuring(self: Context, kind: str, key: str, data: Mapping[str, Any], **kw: Any) -> None:
        if kind in ("cap", caps._FACT):
            written.append(len(json.dumps(data)))
        put(self, kind, key, data, **kw)

    monkeypatch.setattr(Context, "put", measuring)
    clock = FakeClock(START)
    c = Community(MemoryStore(), giffgaff(), clock=clock, cache=None)
    c.join("star")
    c.post_topic("t1", author="star", title="Roaming in the EU, the whole guide")
    c.record_many([MemberJoined(member=f"fan{i}") for i in range(3000)])
    cost: dict[int, int] = {}
    for n in range(1, 3001):
        clock.advance(seconds=20)
        written.clear()
        c.give_kudos("t1", giver=f"fan{n - 1}")
        cost[n] = sum(written)
    assert c.standing("star").points == 1500  # giffgaff's monthly cap: 1,500 kudos on a topic
    assert cost[1500] == 0 and cost[1600] > 0  # held back from the 1,501st on
    assert cost[3000] <= cost[1600] + 20, (cost[1600], cost[3000])  # a few more digits
    with c.store.transaction(c.id) as tx:
        (scope,) = tx.find("cap", ref="star")
        assert len(json.dumps(scope.data)) < 5000
        assert scope.data["more"] == 1500 - caps.LISTED
        # An earlier kudos reads "facts" only: it fails on this scope rather than top up
        # the wrong awards.
        assert "facts" not in scope.data and len(scope.data["listed"]) == caps.LISTED


# -- how many a scope lists changes nothing ------------------------------------------------


def _tight(policy: Policy) -> Policy:
    """Stack Exchange with a daily cap short runs reach, that down-votes count against."""
    cap = Cap(
        account="reputation",
        per="day",
        limit=25,
        actions=("kudos_on_reply", "kudos_on_topic", "down_vote_on_reply", "down_vote_on_topic"),
    )
    return policy.evolve(caps=(cap,))


POLICY = _tight(stackexchange())
AUTHORS = ("ann", "ben")
VOTERS = tuple(f"v{i}" for i in range(12))
POSTS = ("t1", "t2", "r1", "r2")

_op = st.one_of(
    st.tuples(st.just("kudos"), st.sampled_from(POSTS), st.sampled_from(VOTERS)),
    st.tuples(st.just("kudos"), st.sampled_from(POSTS), st.sampled_from(VOTERS)),
    st.tuples(st.just("kudos"), st.sampled_from(POSTS), st.sampled_from(VOTERS)),
    st.tuples(st.just("withdraw"), st.sampled_from(POSTS), st.sampled_from(VOTERS)),
    st.tuples(st.just("down"), st.sampled_from(POSTS), st.sampled_from(VOTERS)),
    st.tuples(st.just("undown"), st.sampled_from(POSTS), st.sampled_from(VOTERS)),
    st.tuples(st.just("remove"), st.sampled_from(POSTS), st.booleans()),
    st.tuples(st.just("wait"), st.sampled_from([60, 3600, 86_400])),
)


def _run(
    ops: list[tuple[Any, ...]], midway: tuple[int, Callable[[Community], None]] | None = None
) -> tuple[Community, list[str]]:
    clock = FakeClock(START)
    c = Community(MemoryStore(), POLICY, clock=clock, cache=None)
    for m in (*AUTHORS, *VOTERS, "mod"):
        c.join(m, role="staff" if m == "mod" else "member")
    for voter in VOTERS:
        c.adjust(voter, reputation=200, reason="seeded", by="mod")  # may down-vote
    c.post_topic("t1", author="ann", title="One")
    c.post_topic("t2", author="ben", title="Two")
    c.post_reply("r1", topic="t2", author="ann")
    c.post_reply("r2", topic="t1", author="ben")
    done = []
    for n, op in enumerate(ops):
        if midway is not None and n == midway[0]:
            midway[1](c)
        outcome = "done"
        try:
            if op[0] == "kudos":
                c.give_kudos(op[1], giver=op[2])
            elif op[0] == "withdraw":
                c.withdraw_kudos(op[1], giver=op[2])
            elif op[0] == "down":
                c.down_vote(op[1], voter=op[2])
            elif op[0] == "undown":
                c.withdraw_down_vote(op[1], voter=op[2])
            elif op[0] == "remove" and op[2]:
                c.restore_post(op[1], by="mod")
            elif op[0] == "remove":
                c.remove_post(op[1], by="mod", reason="spam")
            else:
                clock.advance(seconds=op[1])
        except KudosError as exc:
            outcome = type(exc).__name__
        done.append(outcome)
    return c, done


def _ledger(c: Community) -> tuple[list[LedgerEntry], dict[str, int]]:
    with c.store.transaction(c.id) as tx:
        entries = tx.entries()
    return entries, {m: c.standing(m).reputation for m in AUTHORS}


def _as_an_earlier_version_kept_it(c: Community) -> None:
    """Keep ``c``'s cap scopes as kudos did before held-back awards had documents of
    their own: each scope's document lists them all, in the order they came."""
    with c.store.transaction(c.id) as tx:
        snapshot = tx.snapshot()
        more: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for doc in snapshot.docs:
            if doc.kind == caps._FACT and not doc.data.get("forgotten"):
                fact = {k: v for k, v in doc.data.items() if k != "n"}
                more.setdefault(str(doc.ref), []).append((int(doc.data["n"]), fact))
        docs = []
        for doc in snapshot.docs:
            if doc.kind == caps._FACT:
                continue
            if doc.kind == "cap":
                later = [fact for _, fact in sorted(more.get(doc.key, []), key=lambda p: p[0])]
                listed = doc.data["listed"] if "more" in doc.data else doc.data["facts"]
                data = {"held": doc.data["held"], "facts": [*listed, *later]}
                doc = Doc(kind=doc.kind, key=doc.key, data=data, ref=doc.ref, status=doc.status)
            docs.append(doc)
        tx.replace_projections(Snapshot(docs=tuple(docs), counters=snapshot.counters))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    ops=st.lists(_op, min_size=20, max_size=80),
    listed=st.sampled_from([0, 1, 3]),
    split=st.integers(0, 80),
)
def test_how_many_a_scope_lists_changes_nothing_in_the_ledger(
    ops: list[tuple[Any, ...]], listed: int, split: int
) -> None:
    wanted, done = _run(ops)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(caps, "LISTED", listed)
        short, done_short = _run(ops)
        upgraded, done_upgraded = _run(ops, midway=(split, _as_an_earlier_version_kept_it))
        assert done_short == done_upgraded == done
        assert _ledger(short) == _ledger(upgraded) == _ledger(wanted)
        assert_consistent(short)
        upgraded.rebuild()
        assert _ledger(upgraded) == _ledger(wanted)
