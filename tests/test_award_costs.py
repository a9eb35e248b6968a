"""What the award path of a kudos costs: the work of an award is done once.

A kudos makes two awards (the author's and the giver's). Who counts for a
member (themselves, or the account they were merged into) is read with the
member's document once per event, not again by every award; the stored event's
payload is built once and makes the derived id too; the giver's vote document
is read once by the handler. What the awards book is what they booked before:
the hypothesis test records random histories (merges, deletions, staff, caps,
withdrawals) with the merge state read again on every award and compares.
"""

from __future__ import annotations

import gc
import sys
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos import events as ev
from kudos.engine import core as engine
from kudos.errors import KudosError
from kudos.stores.memory import MemoryTransaction
from kudos.testing import FakeClock


def _forum() -> kudos.Community:
    c = kudos.Community(policy=kudos.policies.giffgaff(), clock=FakeClock(), cache=None)
    for m in ("asker", "alice", "bob", "carol"):
        c.join(m)
    c.post_topic("t1", author="asker", kind="question", title="No data", tags=["roaming"])
    for i in range(3):
        c.post_reply(f"r{i}", topic="t1", author="alice")
    c.give_kudos("r0", giver="bob")  # the day's first activity of both is behind us
    return c


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The documents the store hands out, by kind, as events are recorded."""
    seen: Counter[str] = Counter()
    get = MemoryTransaction.get

    def counting(self: MemoryTransaction, kind: str, key: str) -> Any:
        seen[kind] += 1
        return get(self, kind, key)

    monkeypatch.setattr(MemoryTransaction, "get", counting)
    return seen


def test_the_awards_of_a_kudos_read_no_merge_state_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = _forum()
    asked: list[str] = []
    merged_into = engine.merged_into

    def counting(tx: Any, member: str) -> str | None:
        asked.append(member)
        return merged_into(tx, member)

    monkeypatch.setattr(engine, "merged_into", counting)
    outcome = c.give_kudos("r1", giver="bob")
    assert "alice" in {e.member for e in outcome.entries}
    # the author's and the giver's awards: who counts for them was read with their document
    assert asked == []


def test_a_kudos_reads_no_member_document_again_for_its_awards(reads: Counter[str]) -> None:
    c = _forum()
    reads.clear()
    c.give_kudos("r1", giver="bob")
    # bob: when the fact is re-pointed and by the handler (his award reads neither his
    # document nor whom he was merged into again); alice: when a vote on her post is checked
    # for her own, once by her award (the member and the merge state together), and by the
    # sweep of lines booked to merged accounts (one per line). 8 before.
    assert reads["member"] <= 6
    # the vote document: for the derived id and by the handler (not again to write it)
    assert reads["kudos"] == 2


def test_a_derived_event_builds_its_content_once(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _forum()
    built: list[str] = []
    content = ev.Event.content

    def counting(self: ev.Event) -> dict[str, Any]:
        built.append(self.type)
        return content(self)

    monkeypatch.setattr(ev.Event, "content", counting)
    outcome = c.give_kudos("r1", giver="bob")
    assert outcome.event_id == "kudos-given:r1:bob"
    assert built == ["kudos-given"]  # the stored payload's content makes the id too
    with c.store.transaction(c.id) as tx:
        stored = tx.get_event(outcome.event_id)
    assert stored is not None
    assert stored.payload == {"post": "r1", "giver": "bob", "at": stored.at.isoformat()}


def _calls(run: Any) -> int:
    """How many functions (Python's and built-in ones) ``run()`` calls."""
    seen = [0]

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "c_call"):
            seen[0] += 1

    # No collection meanwhile: the finalizers it runs (of other tests' objects) are calls too.
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
        if enabled:
            gc.enable()
    return seen[0]


def test_a_kudos_costs_fewer_calls_than_before() -> None:
    c = _forum()
    c.give_kudos("r1", giver="carol")  # carol's first activity: recognition has its work
    calls = _calls(lambda: c.give_kudos("r2", giver="carol"))
    # 606 before the award path was folded (credit, line, _book and two or three bumps per
    # line, the merge state read by each award, the content built twice), 541 since
    assert calls <= 570, calls


# --- the merge state read once gives what reading it on every award gives -------------


@st.composite
def _histories(draw: Any) -> list[tuple[Any, ...]]:
    members = ["m0", "m1", "m2", "m3", "m4"]
    ops: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(4, 30))):
        kind = draw(st.sampled_from(["kudos", "kudos", "kudos", "withdraw", "reply", "merge"]))
        one, other = draw(st.sampled_from(members)), draw(st.sampled_from(members))
        post = draw(st.integers(0, 5))
        ops.append((kind, one, other, post))
    return ops


def _play(ops: list[tuple[Any, ...]]) -> dict[str, Any]:
    policy = kudos.policies.giffgaff()
    c = kudos.Community(policy=policy, clock=FakeClock(), cache=None)
    c.join("asker")
    c.join("mod", role="moderator")
    for m in ("m0", "m1", "m2", "m3", "m4"):
        c.join(m)
    c.post_topic("t1", author="asker", kind="question", title="Roaming", tags=["roaming"])
    for i in range(6):
        c.post_reply(f"r{i}", topic="t1", author=("mod", "m0", "m1", "m2", "m3", "m4")[i])
    replies = 6
    refused: list[str] = []
    for kind, one, other, post in ops:
        try:
            if kind == "kudos":
                c.give_kudos(f"r{post}", giver=one)
            elif kind == "withdraw":
                c.withdraw_kudos(f"r{post}", giver=one)
            elif kind == "reply":
                c.post_reply(f"r{replies}", topic="t1", author=one)
                replies += 1
            else:
                c.merge_members(one, into=other, by="mod")
        except KudosError as e:
            refused.append(type(e).__name__)
    state = {"lines": _lines(c), "refused": refused}
    c.rebuild()
    assert _lines(c) == state["lines"]  # rebuild() equals incremental state
    return state


def _lines(c: kudos.Community) -> list[tuple[Any, ...]]:
    with c.store.transaction(c.id) as tx:
        return [
            (e.entry_id, e.member, e.account, e.amount, e.reason, e.period, e.reverses)
            for e in tx.entries()
        ]


def _every_award_reads_the_merge_state(self: engine.Context, member: str) -> str:
    return engine.resolve(self.tx, member)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=_histories())
def test_reading_the_merge_state_once_gives_what_reading_it_every_time_gives(
    ops: list[tuple[Any, ...]],
) -> None:
    once = _play(ops)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine.Context, "kept", _every_award_reads_the_merge_state)
        every_time = _play(ops)
    assert once == every_time
