"""Support: policy data, old facts, a store without full-text search, and random histories
recorded on MemoryStore and SQLite side by side (same answers, rebuild == incremental)."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import kudos
from kudos import Community, InvalidPolicy, KudosError, MemoryStore, Policy
from kudos.events import TopicPosted
from kudos.model import StoredEvent
from kudos.stores.memory import MemoryTransaction
from kudos.stores.protocol import SearchTransaction, search_terms
from kudos.stores.sql import SqlStore
from kudos.support import SupportRules
from kudos.testing import FakeClock, assert_consistent

# --- policy data ----------------------------------------------------------------------------


def test_support_rules_load_from_toml_and_name_a_bad_kind() -> None:
    policy = Policy.from_toml(
        """
        [support]
        solvable = ["question", "problem", "talk"]
        feelings = ["angry", "calm"]
        [rewards]
        praise_received = { points = 7 }
        """
    )
    assert policy.support.solvable == ("problem", "question", "talk")  # a set, sorted
    assert policy.support.feelings == ("angry", "calm")
    assert policy.reward("praise_received").points == 7
    with pytest.raises(InvalidPolicy, match=r"unknown kind 'rant'.*question, problem"):
        Policy.from_toml('[support]\nsolvable = ["rant"]')
    with pytest.raises(InvalidPolicy, match="at least one feeling"):
        SupportRules(feelings=())
    with pytest.raises(InvalidPolicy, match="similar_candidates"):
        SupportRules(similar_candidates=0)


def test_only_the_policys_votable_kinds_are_voted_on_as_ideas() -> None:
    policy = kudos.policies.giffgaff().evolve(support=SupportRules(votable=("idea", "problem")))
    c = Community(policy=policy, clock=FakeClock())
    c.join("ann")
    c.join("bob")
    c.post_topic("p1", author="ann", kind="problem", title="eSIM transfer fails")
    c.vote_idea("p1", voter="bob")
    plain = Community(clock=FakeClock())  # a problem is no idea under the preset
    plain.join("ann")
    plain.join("bob")
    plain.post_topic("p1", author="ann", kind="problem", title="eSIM transfer fails")
    with pytest.raises(kudos.KudosError, match="p1"):
        plain.vote_idea("p1", voter="bob")


# --- facts recorded before body and praised existed ------------------------------------------


def test_a_topic_recorded_before_body_and_praised_existed_keeps_its_content() -> None:
    old = {"topic": "t1", "author": "ann", "kind": "question", "title": "x", "tags": []}
    old |= {"product": None, "feeling": None}
    event = kudos.events.event_from_payload("topic-posted", "topic-posted:t1", old)
    assert event.content() == old  # so re-delivering it is a replay, not a Conflict
    c = Community(clock=FakeClock())
    c.join("ann")
    c.record(TopicPosted(topic="t1", author="ann", title="x"))
    assert c.record(TopicPosted(topic="t1", author="ann", title="x")).replayed
    assert "body" in TopicPosted(topic="t2", author="ann", body="hi").content()


def test_search_words_are_letters_and_digits_only() -> None:
    assert search_terms("4G\x00not; DROP TABLE--working*") == [
        "4g",
        "not",
        "drop",
        "table",
        "working",
    ]
    assert search_terms('"" ** () :: ^^') == []
    assert search_terms("a b c d", limit=2) == ["a", "b"]


# --- a host's store without full-text search ----------------------------------------------


class _PlainTransaction:
    """A transaction with every part of the protocol but ``search``."""

    def __init__(self, inner: MemoryTransaction) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "search":
            raise AttributeError(name)
        return getattr(self._inner, name)


class _PlainStore(MemoryStore):
    @contextmanager
    def transaction(self, community: str, **options: Any) -> Iterator[Any]:  # type: ignore[override]
        with super().transaction(community, **options) as tx:
            yield _PlainTransaction(tx)


def test_a_store_without_full_text_search_finds_the_same_topics() -> None:
    found = []
    for store in (MemoryStore(), _PlainStore()):
        c = Community(store=store, clock=FakeClock(), cache=None)
        for m in ("ann", "bob"):
            c.join(m)
        c.post_topic("t1", author="ann", title="No data abroad", tags=["roaming"])
        c.post_topic("t2", author="bob", title="Data bundle", body="abroad")
        c.post_reply("r1", topic="t2", author="ann")
        c.accept_solution("t2", reply="r1", by="bob")
        with store.transaction(c.id) as tx:
            assert isinstance(tx, SearchTransaction) == (type(store) is MemoryStore)
        found.append(c.similar_topics("data abroad roaming"))
    assert found[0] == found[1]
    assert [(s.topic, s.solved) for s in found[0]] == [("t1", False), ("t2", True)]


# --- random histories on two stores -----------------------------------------------------------

MEMBERS = ("ann", "bob", "cat", "sam")
TOPICS = ("t1", "t2", "t3", "t4")
WORDS = ("data", "abroad", "roaming", "bill", "esim", "signal")
FEELINGS = ("frustrated", "confused", "happy", "indifferent", "furious")


class SupportMachine(RuleBasedStateMachine):
    """The same random support facts on MemoryStore and SQLite: same outcome, same answers,
    and counts that match a model of the rules."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.dir = tempfile.TemporaryDirectory()
        self.sql = SqlStore.from_url(f"sqlite:///{Path(self.dir.name) / 'k.db'}")
        self.communities = [
            Community(store=MemoryStore(), clock=self.clock, cache=None),
            Community(store=self.sql, clock=self.clock, cache=None),
        ]
        self.feeling: dict[str, str | None] = {}
        self.removed: set[str] = set()
        self.deflections: Counter[str] = Counter()
        self.deleted: set[str] = set()
        self.following: set[tuple[str, str]] = set()

    def teardown(self) -> None:
        for c in self.communities:
            assert_consistent(c)
        self.sql.close()
        self.dir.cleanup()

    def both(self, method: str, *args: Any, **kwargs: Any) -> bool:
        """Call ``method`` on both communities; both apply, replay or refuse alike.
        True when the call applied (not refused, not an idempotent replay)."""
        results: list[Any] = []
        for c in self.communities:
            try:
                out = getattr(c, method)(*args, **kwargs)
                results.append("replayed" if getattr(out, "replayed", False) else None)
            except KudosError as exc:
                results.append(type(exc))
        assert results[0] == results[1], (method, args, kwargs, results)
        return results[0] is None

    @initialize()
    def members(self) -> None:
        for m in MEMBERS:
            self.both("join", m, role="staff" if m == "sam" else "member")

    @rule(
        topic=st.sampled_from(TOPICS),
        author=st.sampled_from(MEMBERS),
        words=st.lists(st.sampled_from(WORDS), max_size=3),
        feeling=st.none() | st.sampled_from(FEELINGS),
        kind=st.sampled_from(("question", "problem", "talk")),
        product=st.none() | st.sampled_from(("sim", "phone")),
    )
    def post_topic(
        self,
        topic: str,
        author: str,
        words: list[str],
        feeling: str | None,
        kind: str,
        product: str | None,
    ) -> None:
        posted = self.both(
            "post_topic",
            topic,
            author=author,
            kind=kind,
            title=" ".join(words),
            feeling=feeling,
            product=product,
            tags=["roaming"] if "roaming" in words else [],
        )
        assert posted == (topic not in self.feeling and feeling != "furious")
        if posted:
            self.feeling[topic] = feeling
            self.following.add((topic, author))

    @rule(topic=st.sampled_from(TOPICS), feeling=st.sampled_from(FEELINGS))
    def set_feeling(self, topic: str, feeling: str) -> None:
        author = self.communities[0].post(topic).author if topic in self.feeling else "ann"
        if self.both("set_feeling", topic, feeling, by=author):
            self.feeling[topic] = feeling

    @rule(topic=st.sampled_from(TOPICS), member=st.sampled_from(MEMBERS), n=st.integers(0, 9))
    def reply_and_accept(self, topic: str, member: str, n: int) -> None:
        reply = f"{topic}-r{n}"
        if self.both("post_reply", reply, topic=topic, author=member) and topic in self.feeling:
            self.following.add((topic, member))
            self.both("accept_solution", topic, reply=reply, by="sam")

    @rule(topic=st.sampled_from(TOPICS), member=st.sampled_from(MEMBERS))
    def deflected(self, topic: str, member: str) -> None:
        if self.both("deflected", topic, by=member):
            self.deflections[topic] += 1

    @rule(member=st.sampled_from(MEMBERS[1:]))
    def delete_member(self, member: str) -> None:
        if self.both("delete_member", member):
            self.deleted.add(member)

    @rule(topic=st.sampled_from(TOPICS), member=st.sampled_from(MEMBERS), on=st.booleans())
    def follow(self, topic: str, member: str, on: bool) -> None:
        self.both("follow" if on else "unfollow", topic, member=member)

    @rule(topic=st.sampled_from(TOPICS))
    def remove_or_restore(self, topic: str) -> None:
        if topic in self.removed:
            if self.both("restore_post", topic, by="sam"):
                self.removed.discard(topic)
        elif self.both("remove_post", topic, by="sam"):
            self.removed.add(topic)

    @rule(hours=st.integers(1, 2000))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule(words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
    def search(self, words: list[str]) -> None:
        first, second = (c.similar_topics(" ".join(words), limit=10) for c in self.communities)
        assert first == second
        assert not {s.topic for s in first} & self.removed

    @rule()
    def rebuild(self) -> None:
        for c in self.communities:
            c.rebuild()

    @invariant()
    def counts_match_the_model(self) -> None:
        live = Counter(f for t, f in self.feeling.items() if f and t not in self.removed)
        for c in self.communities:
            assert {k: v for k, v in c.feelings().items() if v} == dict(live)
            counted = sum(n for t, n in self.deflections.items() if t not in self.removed)
            assert c.deflections() == counted  # a removed topic's deflections do not count
        a, b = self.communities
        for topic in self.feeling:
            assert a.presence(topic=topic) == b.presence(topic=topic)
            assert a.presence(topic=topic).people_involved <= len(set(MEMBERS) - self.deleted)
        assert a.presence(product="sim") == b.presence(product="sim")


TestSupportMachine = SupportMachine.TestCase
TestSupportMachine.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_stored_events_of_support_round_trip() -> None:
    c = Community(clock=FakeClock())
    c.join("ann")
    c.join("sam", role="staff")
    now = c.now()
    c.post_topic("t1", author="ann", feeling="happy", body="some words", kind="talk")
    c.set_feeling("t1", "confused", by="ann")
    c.follow("t1", member="sam")
    c.report_shift("s1", member="sam", start=now, end=now + timedelta(hours=1))
    with c.store.transaction(c.id) as tx:
        rows: list[StoredEvent] = tx.events()
    for row in rows:
        event = kudos.events.event_from_payload(row.type, row.event_id, dict(row.payload))
        assert {**event.content(), "at": row.payload["at"]} == row.payload
    assert_consistent(c)


def test_topics_from_before_the_upgrade_are_found_after_one_rebuild() -> None:
    c = Community(clock=FakeClock(), cache=None)
    c.join("ann")
    c.post_topic("t1", author="ann", title="No data abroad", feeling="frustrated")
    with c.store.transaction(c.id) as tx:  # what an older kudos left: no support records
        snapshot = tx.snapshot()
        kept = tuple(d for d in snapshot.docs if d.kind != "search")
        tx.replace_projections(attrs.evolve(snapshot, docs=kept))
    assert c.similar_topics("data abroad") == []
    with pytest.raises(kudos.NotAllowed, match=r"rebuild\(\)"):
        c.set_feeling("t1", "happy", by="ann")
    c.rebuild()
    assert [s.topic for s in c.similar_topics("data abroad")] == ["t1"]
    c.set_feeling("t1", "happy", by="ann")
    assert c.feelings()["happy"] == 1


def test_history_recorded_before_the_new_checks_still_replays() -> None:
    """Facts today refused (a follow or feeling on a removed topic, a follow by a deleted
    member, a vote dated before its post) may be in a log an earlier kudos wrote; trusted
    history takes them, and rebuild() replays them to the same state."""
    from kudos.events import (
        FeelingSet,
        KudosGiven,
        MemberDeleted,
        MemberJoined,
        PostRemoved,
        ReplyPosted,
        TopicFollowed,
        TopicUnfollowed,
    )

    clock = FakeClock()
    now = clock()
    for store in (MemoryStore(), SqlStore.from_url("sqlite://")):
        c = Community(store=store, clock=clock)
        c.record_many(
            [
                *(MemberJoined(member=m) for m in ("ann", "bob", "dan")),
                MemberJoined(member="sam", role="staff"),
                TopicPosted(topic="t1", author="ann", title="No data", product="sim", at=now),
                ReplyPosted(reply="r1", topic="t1", author="bob", at=now),
                KudosGiven(post="r1", giver="ann", at=now - timedelta(hours=3)),  # by day
                TopicFollowed(topic="t1", member="dan", at=now),
                MemberDeleted(member="dan", at=now),
                TopicUnfollowed(topic="t1", member="dan", at=now),
                TopicFollowed(topic="t1", member="dan", at=now, event_id="again"),
                PostRemoved(post="t1", by="sam", reason="off topic", at=now),
                TopicFollowed(topic="t1", member="bob", at=now),
                FeelingSet(topic="t1", feeling="happy", by="ann", at=now),
            ],
            trusted=True,
        )
        assert c.presence(topic="t1").followers == 1  # bob; dan was deleted
        assert not any(c.feelings().values())  # a removed topic's feeling does not count
        assert_consistent(c)
    store.close()


# --- deflection rewards through any order of removing and restoring ------------------------


def _solved_topic(c: Community) -> None:
    for m in ("ann", "bob", "cat", "dan"):
        c.join(m)
    c.join("sue", role="staff")
    c.post_topic("t1", author="ann", title="No data abroad", product="sim", tags=["roaming"])
    c.post_reply("r1", topic="t1", author="bob")
    c.accept_solution("t1", reply="r1", by="ann")
    c.deflected("t1", by="cat")
    c.deflected("t1", by="dan")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.sampled_from(["t1", "r1", "accepted"]), max_size=8))
@example(steps=["t1", "r1", "t1", "accepted", "r1", "accepted"])
@example(steps=["t1", "accepted", "t1"])
def test_any_order_of_removing_and_restoring_ends_as_if_nothing_was_removed(
    steps: list[str],
) -> None:
    """Toggle topic, solution reply and its acceptance at random, then restore whatever is
    removed and accept r1 again: bob's standing and the deflection counts equal those of
    a community that removed and unaccepted nothing."""
    plain = Community(clock=FakeClock())
    _solved_topic(plain)
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqlStore.from_url(f"sqlite:///{Path(tmp) / 'k.db'}")
        for store in (MemoryStore(), sqlite):
            c = Community(store=store, clock=FakeClock())
            _solved_topic(c)
            removed = {"t1": False, "r1": False}
            accepted = True
            ends = [p for p in ("t1", "r1") if steps.count(p) % 2]
            for n, step in enumerate(
                [*steps, *ends, *(["accepted"] * (1 + steps.count("accepted")))]
            ):
                if step == "accepted":  # unaccept or accept r1 again
                    if n >= len(steps) + len(ends) and accepted:
                        break
                    try:
                        if accepted:
                            c.unaccept_solution("t1", by="ann", event_id=f"unaccept-{n}")
                        else:
                            c.accept_solution("t1", reply="r1", by="ann", event_id=f"accept-{n}")
                    except KudosError:
                        assert removed["t1"] or removed["r1"]  # refused only while removed
                        continue
                    accepted = not accepted
                    continue
                if removed[step]:  # own event ids: the same call at one instant is a replay
                    c.restore_post(step, by="sue", event_id=f"restore-{n}")
                else:
                    c.remove_post(step, by="sue", event_id=f"remove-{n}")
                removed[step] = not removed[step]
                if not removed["r1"] and accepted:  # deflection rewards follow t1
                    bob = c.standing("bob")
                    want = plain.standing("bob")
                    if removed["t1"]:
                        pay = plain.policy.reward("deflection_solution")
                        assert bob.points == want.points - 2 * pay.points
                    else:
                        assert bob.points == want.points
            assert not any(removed.values())
            assert c.post("t1").solution == "r1"
            for member in ("ann", "bob", "cat", "dan"):
                got, want = c.standing(member), plain.standing(member)
                assert (got.points, got.reputation, got.rank) == (
                    want.points,
                    want.reputation,
                    want.rank,
                )
            assert c.deflections() == plain.deflections() == 2
            assert c.deflections(topic="t1") == c.deflections(product="sim") == 2
            assert_consistent(c)  # rebuild equals incremental
        sqlite.close()
