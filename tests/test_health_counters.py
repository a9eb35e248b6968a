"""Response health read from counters kept as facts happen, not from every topic's record.

``health()`` reads aggregates (one row per period, kind, group and figure or
histogram bucket) and the records of the topics still unanswered; the
figures equal a brute-force computation over every topic's record, on every
store, after any sequence of topics, replies, solutions, removals, restores and
merges, and again after ``rebuild()``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from kudos import Community, KudosError, MemoryStore
from kudos.engine.core import day_of
from kudos.health import HealthFigures, HealthReport, Timing
from kudos.health import handlers as h
from kudos.health.api import timing
from kudos.health.figures import bucket, contributions, timing_of
from kudos.policies import giffgaff
from kudos.stores._sql_tx import SqlTransaction
from kudos.stores.memory import MemoryTransaction
from kudos.stores.sql import SqlStore
from kudos.testing import FakeClock, assert_consistent

START = datetime(2026, 11, 20, 9, tzinfo=UTC)


# -- the buckets and the percentiles read from them ----------------------------------------


def test_durations_count_exactly_below_1000_seconds_then_at_three_significant_figures() -> None:
    assert [bucket(s) for s in (0, 1, 999, 1000, 1009, 7213, 99_999, 123_456)] == [
        0,
        1,
        999,
        1000,
        1000,
        7210,
        99_900,
        123_000,
    ]


@pytest.mark.parametrize(
    "values",
    [[], [5], [30, 10, 20, 40], [120, 600, 1800, 7200, 3600, 3600], list(range(1, 200, 7)) * 3],
)
def test_percentiles_from_the_histogram_equal_nearest_rank_over_the_values(
    values: list[int],
) -> None:
    histogram: dict[int, int] = {}
    for value in values:
        histogram[bucket(value)] = histogram.get(bucket(value), 0) + 1
    assert timing_of(histogram) == timing(bucket(v) for v in values)


def test_a_response_time_reads_as_the_lowest_value_of_its_bucket(clock: FakeClock) -> None:
    c = Community(MemoryStore(), giffgaff(), clock=clock)
    for m in ("bob", "alice"):
        c.join(m)
    c.post_topic("t1", author="bob")
    clock.advance(seconds=7213)
    c.post_reply("r1", topic="t1", author="alice")
    assert c.health().total.first_response == Timing(count=1, median=7210, p90=7210, longest=7210)
    assert c.topic_feedback("t1").first_response == 7213  # one topic's story stays exact


def test_a_removed_topic_contributes_nothing() -> None:
    data: dict[str, Any] = {
        "removed": True,
        "first": 10,
        "first_member": 10,
        "solution": None,
        "target": 60,
        "kind": "question",
        "tags": ["a"],
        "product": None,
        "channel": "web",
        "day": "2026-11-20",
    }
    assert contributions(data, "2026-H2") == {}
    live = contributions({**data, "removed": False}, "2026-H2")
    assert live[("health", "health|periods", "2026-H2")] == 1
    assert sum(live.values()) > 1


# -- what health() reads ----------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(params=["memory", "sqlite"])
def community(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> Community:
    if request.param == "memory":
        return Community(MemoryStore(), giffgaff(), clock=clock, cache=None)
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'health.db'}")
    return Community(store, giffgaff(), clock=clock, cache=None)


@pytest.fixture
def records_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the ``health`` records every store's transactions return from ``find``."""
    read: list[str] = []
    for cls in (MemoryTransaction, SqlTransaction):
        original = cls.find

        def find(self: Any, kind: str, *args: Any, _original: Any = original, **kw: Any) -> Any:
            found = _original(self, kind, *args, **kw)
            if kind == h.KIND:
                read.extend(d.key for d in found)
            return found

        monkeypatch.setattr(cls, "find", find)
    return read


def test_health_reads_the_unanswered_topics_records_and_no_other(
    community: Community, clock: FakeClock, records_read: list[str]
) -> None:
    c = community
    for m in ("bob", "alice"):
        c.join(m)
    c.join("staff1", role="staff")
    for i in range(30):
        c.post_topic(f"t{i}", author="bob", tags=[f"tag{i % 3}"], product=f"p{i % 2}")
        clock.advance(minutes=i + 1)
        if i % 10:
            c.post_reply(f"r{i}", topic=f"t{i}", author="staff1" if i % 4 else "alice")
    records_read.clear()
    for by in (None, "tag", "product", "kind", "channel", "period", "month", "day"):
        report = c.health(by=by)
        assert (report.total.topics, report.total.unanswered) == (30, 3)
    assert set(records_read) == {"t0", "t10", "t20"}


# -- health() equals a brute-force computation, on every store, and after rebuild() -------------

GROUPINGS = (None, "tag", "product", "kind", "channel", "period", "month", "day")
KIND_SETS = (None, ("problem", "question"), ("idea",))


def _figures(c: Community, docs: list[tuple[str, dict[str, Any]]]) -> HealthFigures:
    now, target = c.now(), c.policy.health.target_seconds
    first = [bucket(d["first"]) for _, d in docs if d["first"] is not None]
    member = [bucket(d["first_member"]) for _, d in docs if d["first_member"] is not None]
    solved = [d for _, d in docs if h.solved(d)]
    ages = [
        int((now - datetime.fromisoformat(d["posted_at"])).total_seconds())
        for _, d in docs
        if d["first"] is None
    ]
    return HealthFigures(
        topics=len(docs),
        answered=len(first),
        first_response=timing(first),
        first_member_response=timing(member),
        solution=timing(bucket(d["solved_in"]) for d in solved),
        solved=len(solved),
        solved_by_members=sum(1 for d in solved if not d["solver_staff"]),
        solved_by_staff=sum(1 for d in solved if d["solver_staff"]),
        unanswered=len(ages),
        unanswered_age=timing(ages),
        within_target=sum(1 for _, d in docs if d["first"] is not None and d["first"] <= target),
        past_target=sum(1 for _, d in docs if d["first"] is not None and d["first"] > target)
        + sum(1 for age in ages if age > target),
    )


def _group_names(c: Community, period: str, d: dict[str, Any], by: str) -> list[str]:
    day = day_of(c.policy, datetime.fromisoformat(d["posted_at"]))
    return {
        "tag": list(dict.fromkeys(d["tags"])),
        "product": [d["product"]] if d["product"] is not None else [],
        "kind": [d["kind"]],
        "channel": [d["channel"]],
        "period": [period],
        "month": [day[:7]],
        "day": [day],
    }[by]


def brute_force(
    c: Community, period: str | None, by: str | None, kinds: tuple[str, ...] | None
) -> HealthReport:
    """``health()`` worked out from every topic's record, as kudos did before it kept counters."""
    with c.store.transaction(c.id) as tx:
        docs = [
            (d.ref or "", dict(d.data))
            for d in tx.find(h.KIND, ref=period)
            if not d.data["removed"] and (kinds is None or d.data["kind"] in kinds)
        ]
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    if by is not None:
        for ref, d in docs:
            for g in _group_names(c, ref, d, by):
                groups.setdefault(g, []).append((ref, d))
    return HealthReport(
        period=period,
        by=by,
        target_seconds=c.policy.health.target_seconds,
        at=c.now(),
        total=_figures(c, docs),
        groups={g: _figures(c, found) for g, found in sorted(groups.items())},
        kinds=kinds,
    )


MEMBERS = ("m0", "m1", "m2", "staff1")


class HealthMachine(RuleBasedStateMachine):
    """Random topics, replies, solutions, removals, restores and merges over weeks."""

    store_kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(START)
        self.topics: list[str] = []
        self.replies: list[tuple[str, str]] = []
        self.n = 0
        self.c: Community

    @initialize()
    def open_community(self) -> None:
        if self.store_kind == "memory":
            store: Any = MemoryStore()
        else:
            store = SqlStore.from_url("sqlite://")
        self.c = Community(store, giffgaff(), clock=self.clock, cache=None)
        for m in MEMBERS:
            self.c.join(m, role="staff" if m.startswith("staff") else "member")

    def _try(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        with contextlib.suppress(KudosError):
            fn(*args, **kwargs)

    @rule(
        author=st.sampled_from(MEMBERS),
        kind=st.sampled_from(["question", "problem", "idea", "talk"]),
        tags=st.lists(st.sampled_from(["a", "b", "c"]), max_size=2),
        product=st.sampled_from([None, "p1", "p2"]),
        channel=st.sampled_from(["web", "twitter"]),
    )
    def post_topic(
        self, author: str, kind: str, tags: list[str], product: str | None, channel: str
    ) -> None:
        self.n += 1
        topic = f"t{self.n}"
        self.c.via(channel).post_topic(
            topic, author=author, kind=kind, tags=tags, product=product, title=topic
        )
        self.topics.append(topic)

    def _answer(self, i: int, author: str, accept: bool) -> None:
        if not self.topics:
            return
        topic = self.topics[i % len(self.topics)]
        self.n += 1
        reply = f"r{self.n}"
        try:
            self.c.post_reply(reply, topic=topic, author=author)
        except KudosError:
            return
        self.replies.append((topic, reply))
        if accept:
            self._try(self.c.accept_solution, topic, reply=reply, by="staff1")

    @rule(i=st.integers(0, 40), author=st.sampled_from(MEMBERS), accept=st.booleans())
    def reply(self, i: int, author: str, accept: bool) -> None:
        self._answer(i, author, accept)

    @rule(i=st.integers(0, 40), author=st.sampled_from(MEMBERS))
    def reply_again(self, i: int, author: str) -> None:
        self._answer(-1 - i, author, False)

    @rule(i=st.integers(0, 40))
    def accept(self, i: int) -> None:
        if self.replies:
            topic, reply = self.replies[i % len(self.replies)]
            self._try(self.c.accept_solution, topic, reply=reply, by="staff1")

    @rule(data=st.data())
    def unaccept(self, data: st.DataObject) -> None:
        if self.topics:
            self._try(
                self.c.unaccept_solution, data.draw(st.sampled_from(self.topics)), by="staff1"
            )

    @rule(i=st.integers(0, 80), restore=st.booleans())
    def remove_or_restore(self, i: int, restore: bool) -> None:
        posts = self.topics + [r for _, r in self.replies]
        if posts:
            post = posts[i % len(posts)]
            if restore:
                self._try(self.c.restore_post, post, by="staff1")
            else:
                self._try(self.c.remove_post, post, by="staff1", reason="spam")

    @rule(member=st.sampled_from(MEMBERS[:3]), into=st.sampled_from(MEMBERS[:3]))
    def merge(self, member: str, into: str) -> None:
        self._try(self.c.merge_members, member, into=into, by="staff1")

    @rule(seconds=st.sampled_from([30, 400, 999, 1000, 3599, 3601, 7213, 86_400, 9 * 86_400]))
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule(
        period=st.sampled_from([None, "2026-H2", "2027-H1"]),
        by=st.sampled_from(GROUPINGS),
        kinds=st.sampled_from(KIND_SETS),
    )
    def health_equals_brute_force(
        self, period: str | None, by: str | None, kinds: tuple[str, ...] | None
    ) -> None:
        assert self.c.health(period, by, kinds=kinds) == brute_force(self.c, period, by, kinds)

    def teardown(self) -> None:
        if not hasattr(self, "c"):
            return
        queries = [(p, by, k) for p in (None, "2026-H2") for by in GROUPINGS for k in KIND_SETS]
        before = [self.c.health(p, by, kinds=k) for p, by, k in queries]
        assert before == [brute_force(self.c, p, by, k) for p, by, k in queries]
        self.c.rebuild()
        assert [self.c.health(p, by, kinds=k) for p, by, k in queries] == before
        assert_consistent(self.c, replay=False)


class SqliteHealthMachine(HealthMachine):
    store_kind = "sqlite"


TestHealthMachine = HealthMachine.TestCase
TestHealthMachine.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSqliteHealthMachine = SqliteHealthMachine.TestCase
TestSqliteHealthMachine.settings = settings(
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_a_record_kept_before_the_counters_counts_in_full_at_its_next_change(
    community: Community, clock: FakeClock
) -> None:
    c = community
    for m in ("bob", "alice"):
        c.join(m)
    c.post_topic("t1", author="bob", tags=["roaming"])
    with c.store.transaction(c.id) as tx:  # as an older kudos left it: no target, no counters
        doc = tx.get(h.KIND, "t1")
        assert doc is not None
        tx.add({k: -v for k, v in contributions(doc.data, doc.ref).items()})
        old = {k: v for k, v in doc.data.items() if k not in ("target", "day")}
        tx.put(attrs.evolve(doc, data=old))
    assert c.health().total.topics == 0
    assert c.health(by="day").total.unanswered == 1  # still read as unanswered, grouped by day
    clock.advance(minutes=5)
    c.post_reply("r1", topic="t1", author="alice")
    report = c.health(by="tag")
    assert (report.total.topics, report.total.answered) == (1, 1)
    assert report.groups["roaming"].first_response.median == 300
    c.rebuild()
    assert c.health(by="tag") == report
