"""What the response-health and support hooks cost: only the work whose result moves.

A reply to a topic whose counted figures cannot move (it has a first response
and a first member response already) adds no tallies and works out no
figures, however long the thread: the thousandth reply costs what the second
does. Support reads nothing more for a member already involved in a topic.
Skipping that work gives exactly what the full work gives: random histories
leave the same documents, counters and figures as the hooks' full
recomputation (kept below as the oracle), and ``rebuild()`` the same again.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kudos import Community, KudosError
from kudos.engine import core as engine
from kudos.engine.core import Context, same_person
from kudos.health import figures as f
from kudos.health import handlers as h
from kudos.model import Doc
from kudos.policies import giffgaff
from kudos.stores.memory import MemoryStore
from kudos.stores.protocol import SEARCH_KIND, CounterKey, Snapshot
from kudos.support import handlers as support
from kudos.testing import FakeClock, assert_consistent

START = datetime(2026, 9, 1, 8, tzinfo=UTC)

# -- the full work, as the hooks did it before they skipped any: the oracle ---------------------


def _figures_in_full(data: Mapping[str, Any] | None) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    if data is None or data["removed"]:
        return found
    found["topics", "-"] = 1
    first = data["first"]
    if first is not None:
        found["answered", "-"] = 1
        found["within" if first <= data["target"] else "past", "-"] = 1
        found["first", str(f.bucket(first))] = 1
    if data["first_member"] is not None:
        found["member", str(f.bucket(data["first_member"]))] = 1
    if h.solved(data):
        found["solved", "-"] = 1
        found["staff" if data["solver_staff"] else "members", "-"] = 1
        found["solution", str(f.bucket(data["solved_in"]))] = 1
    return found


def _contributions_in_full(data: Mapping[str, Any] | None, period: str) -> Counter[CounterKey]:
    found: Counter[CounterKey] = Counter()
    figures = _figures_in_full(data)
    if data is None or not figures:
        return found
    found[(f.METRIC, f.PERIODS_SCOPE, period)] += figures[("topics", "-")]
    for dimension in f.DIMENSIONS:
        groups = ["-"] if dimension == "-" else f.groups_of(data, period, dimension)
        for group in groups:
            for (figure, at), n in figures.items():
                subject = "\x1f".join((figure, at, data["kind"], group))
                found[(f.METRIC, f.scope(period, dimension), subject)] += n
    return found


def _change_in_full(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, period: str | None
) -> dict[CounterKey, int]:
    if period is None:
        return {}
    deltas = _contributions_in_full(new, period)
    deltas.subtract(_contributions_in_full(old, period))
    return {k: v for k, v in deltas.items() if v}


def _respond_in_full(ctx: Context, topic: str, response: list[Any]) -> None:
    doc = ctx.tx.get(h.KIND, topic)
    if doc is None or same_person(ctx.tx, response[h._AUTHOR], doc.data["author"]):
        return
    data = dict(doc.data)
    response[h._SECONDS] = h._seconds(data["posted_at"], ctx.at)
    h._add_response(ctx, topic, data, response)
    h._firsts(data, h.responses(ctx.tx, topic, data))
    h._save(ctx, topic, doc, data, doc.ref)


def _involve_in_full(
    ctx: Context,
    topic: str,
    product: str | None,
    member: str,
    why: str,
    key: str,
    doc: Doc | None,
) -> None:
    """Support's involvement as it was: read the member and the document whatever is kept."""
    if ctx.member(member).deleted:
        return
    doc = ctx.tx.get("involved", key)
    data = dict(doc.data) if doc else {"why": []}
    whys = list(data["why"])
    if why in whys:
        return
    data["why"] = [*whys, why]
    ctx.put("involved", key, data, ref=topic, status="involved")
    if not whys:
        ctx.put(
            "involved_in",
            support.pair_key(member, topic),
            {"topic": topic},
            ref=member,
            status=None,
        )
    if why == "following":
        ctx.deltas[("followers", "topic", topic)] += 1
    if whys:
        return
    ctx.deltas[("people_involved", "topic", topic)] += 1
    if product:
        support._product_involvement(ctx, product, member, +1)


def _sync_solution_in_full(ctx: Context, topic_id: str) -> None:
    doc = ctx.tx.get(SEARCH_KIND, topic_id)
    if doc is None:
        return
    data = dict(doc.data)
    solution = ctx.post(topic_id).solution
    if solution is not None and ctx.post(solution).removed:
        solution = None
    author = ctx.post(solution).author if solution is not None else None
    if (data["solution"], data["solution_author"]) != (solution, author):
        data.update(solution=solution, solution_author=author)
        ctx.put(SEARCH_KIND, topic_id, data, ref=doc.ref, status=doc.status)


@contextlib.contextmanager
def in_full() -> Iterator[None]:
    """The hooks doing the full work on every event (nothing skipped)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(h, "_respond", _respond_in_full)
        mp.setattr(h, "change", _change_in_full)
        mp.setattr(support, "_involved_for", lambda doc, why: False)
        mp.setattr(support, "_add_involvement", _involve_in_full)
        mp.setattr(support, "_sync_solution", _sync_solution_in_full)
        yield


# -- what one reply costs ------------------------------------------------------------------------


@pytest.fixture
def figure_work(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The health figure work done as events are recorded: calls of ``change`` and of the
    figures it works out, and responses walked to find the firsts."""
    work: Counter[str] = Counter()
    change, figures, firsts = h.change, f._figures, h._firsts

    def counting_change(*args: Any) -> Any:
        work["change"] += 1
        return change(*args)

    def counting_figures(data: Any) -> Any:
        work["figures"] += 1
        return figures(data)

    def counting_firsts(data: dict[str, Any], responses: list[list[Any]]) -> None:
        work["responses walked"] += len(responses)
        firsts(data, responses)

    monkeypatch.setattr(h, "change", counting_change)
    monkeypatch.setattr(f, "_figures", counting_figures)
    monkeypatch.setattr(h, "_firsts", counting_firsts)
    return work


@pytest.fixture
def health_written(monkeypatch: pytest.MonkeyPatch) -> list[CounterKey]:
    """The health counter keys each flush writes, as events are recorded."""
    written: list[CounterKey] = []
    flush = engine.Context.flush

    def watching(self: Context) -> Any:
        written.extend(k for k in [*self.tallies, *self.deltas] if k[0] == f.METRIC)
        return flush(self)

    monkeypatch.setattr(engine.Context, "flush", watching)
    return written


def _thread(clock: FakeClock) -> Community:
    c = Community(MemoryStore(), giffgaff(), clock=clock, cache=None)
    c.join("asker")
    c.join("alice")
    c.join("staff1", role="staff")
    c.post_topic("t1", author="asker", title="No signal", tags=["signal"])
    return c


def test_the_thousandth_reply_costs_what_the_second_does(figure_work: Counter[str]) -> None:
    clock = FakeClock(START)
    c = _thread(clock)
    clock.advance(minutes=5)
    figure_work.clear()
    c.post_reply("r1", topic="t1", author="alice")  # the first response, a member's
    assert figure_work["change"] == 1  # the first response moves the figures
    cost: dict[int, Counter[str]] = {}
    for n in range(2, 1001):
        clock.advance(seconds=30)
        figure_work.clear()
        c.post_reply(f"r{n}", topic="t1", author="alice" if n % 2 else "staff1")
        cost[n] = Counter(figure_work)
    assert cost[1000] == cost[2]
    assert not cost[1000], cost[1000]  # no figure worked out, no response walked
    feedback = c.topic_feedback("t1")
    assert len(feedback.answers) == 1000  # the record still keeps every response
    assert (feedback.first_response, feedback.first_member_response) == (300, 300)


def test_a_reply_writes_no_more_however_long_the_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the responses a topic's record lists, each reply adds a document of its own: the
    record does not grow with its thread, and the thousandth reply writes what the hundredth
    does."""
    written: list[int] = []
    put = Context.put

    def measuring(self: Context, kind: str, key: str, data: Mapping[str, Any], **kw: Any) -> None:
        written.append(len(json.dumps(data)))
        put(self, kind, key, data, **kw)

    monkeypatch.setattr(Context, "put", measuring)
    clock = FakeClock(START)
    c = _thread(clock)
    cost: dict[int, int] = {}
    for n in range(1, 1001):
        clock.advance(seconds=30)
        written.clear()
        c.post_reply(f"r{n}", topic="t1", author="alice" if n % 2 else "staff1")
        cost[n] = sum(written)
    assert cost[1000] <= cost[100] + 10, (cost[100], cost[1000])  # a few more digits, no more
    assert max(cost.values()) < 3000, max(cost.values())  # every reply: what one page holds
    feedback = c.topic_feedback("t1")
    assert [a.reply for a in feedback.answers] == [f"r{n}" for n in range(1, 1001)]
    with c.store.transaction(c.id) as tx:
        record = tx.get(h.KIND, "t1")
        assert record is not None and len(json.dumps(record.data)) < 2000
        # An earlier kudos reads "responses" only: it fails on this record rather than lose
        # the responses it does not list.
        assert "responses" not in record.data and len(record.data["listed"]) == h.LISTED


def test_a_reply_that_cannot_move_a_figure_writes_no_health_counter(
    figure_work: Counter[str], health_written: list[CounterKey]
) -> None:
    clock = FakeClock(START)
    c = _thread(clock)
    clock.advance(minutes=5)
    c.post_reply("r1", topic="t1", author="staff1")  # first response: counted
    assert health_written
    health_written.clear()
    clock.advance(minutes=5)
    c.post_reply("r2", topic="t1", author="alice")  # first member response: counted
    assert [k for k in health_written if k[2].startswith("member\x1f600\x1f")]
    health_written.clear()
    figure_work.clear()
    clock.advance(minutes=5)
    c.post_reply("r3", topic="t1", author="alice")
    c.post_reply("r4", topic="t1", author="staff1")
    assert health_written == []
    assert not figure_work
    report = c.health()
    assert (report.total.answered, report.total.first_member_response.median) == (1, 600)


def test_a_member_already_involved_in_a_topic_costs_support_no_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = _thread(FakeClock(START))
    products: list[str] = []
    live_product = support._live_product

    def counting(topic: Any) -> Any:
        products.append(topic.id)
        return live_product(topic)

    monkeypatch.setattr(support, "_live_product", counting)
    c.post_reply("r1", topic="t1", author="alice")
    assert products == ["t1"]  # alice becomes involved: support reads the topic's product
    c.post_reply("r2", topic="t1", author="alice")
    c.post_reply("r3", topic="t1", author="alice")
    assert products == ["t1"]  # involved already: nothing more to read or write
    assert c.presence(topic="t1").people_involved == 2


@pytest.mark.parametrize("listed", [0, h.LISTED])
def test_a_reply_and_a_canonical_answer_sharing_an_id_are_two_responses(listed: int) -> None:
    """Removing the canonical reply takes out only the answers given with it, and removing a
    reply only that reply, even when the host used the reply's id for an answer's event."""
    clock = FakeClock(START)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(h, "LISTED", listed)
        c = Community(MemoryStore(), giffgaff(), clock=clock, cache=None)
        for m in ("m0", "m1", "m3"):
            c.join(m)
        for s in ("s0", "s1"):
            c.join(s, role="staff")
        c.post_topic("t2", author="m1", title="No signal")
        c.post_reply("c1", topic="t2", author="s1")
        c.accept_solution("t2", reply="c1", by="m1")
        c.mark_canonical("t2", "c1", by="s1")
        c.post_topic("t1", author="m0", title="No signal either")
        clock.advance(seconds=10)
        c.answer_with("t1", canonical="c1", by="s0", event_id="r5")
        c.post_reply("r5", topic="t1", author="m3")

        def answers() -> tuple[list[tuple[str, str]], int | None]:
            feedback = c.topic_feedback("t1")
            return [(a.reply, a.author) for a in feedback.answers], feedback.first_member_response

        assert answers() == ([("r5", "s0"), ("r5", "m3")], 10)
        c.remove_post("c1", by="s0")  # the canonical reply: its answer goes, m3's reply stays
        assert answers() == ([("r5", "m3")], 10)
        c.remove_post("r5", by="s0")  # m3's reply
        assert answers() == ([], None)
        c.restore_post("c1", by="s0")  # the answer comes back; the removed reply does not
        assert answers() == ([("r5", "s0")], None)
        assert_consistent(c)


# -- skipping gives what the full work gives ------------------------------------------------------

MEMBERS = ("m0", "m1", "m2", "staff1")

_reply = st.tuples(st.just("reply"), st.integers(0, 9), st.sampled_from(MEMBERS))
_op = st.one_of(
    _reply,
    _reply,
    _reply,
    st.tuples(
        st.just("topic"),
        st.sampled_from(MEMBERS),
        st.sampled_from(["question", "problem", "idea"]),
        st.lists(st.sampled_from(["a", "b"]), max_size=2),
        st.sampled_from([None, "p1"]),
    ),
    st.tuples(
        st.just("backdated"), st.integers(0, 9), st.sampled_from(MEMBERS), st.integers(1, 900)
    ),
    st.tuples(st.just("accept"), st.integers(0, 30)),
    st.tuples(st.just("unaccept"), st.integers(0, 9)),
    st.tuples(st.just("canonical"), st.integers(0, 9)),
    st.tuples(st.just("answer"), st.integers(0, 9), st.integers(0, 9), st.sampled_from(MEMBERS)),
    st.tuples(st.just("remove"), st.integers(0, 40), st.booleans()),
    st.tuples(st.just("merge"), st.sampled_from(MEMBERS[:3]), st.sampled_from(MEMBERS[:3])),
    st.tuples(st.just("follow"), st.integers(0, 9), st.sampled_from(MEMBERS)),
    st.tuples(st.just("delete"), st.just("m2")),
    st.tuples(st.just("wait"), st.sampled_from([30, 999, 3601, 86_400])),
)


def _run(
    ops: list[tuple[Any, ...]], midway: tuple[int, Callable[[Community], None]] | None = None
) -> tuple[Community, list[str]]:
    """A community with three topics after ``ops``, and what each op did (refused or not);
    ``midway``: what to do to the community before the op at that position."""
    clock = FakeClock(START)
    c = Community(MemoryStore(), giffgaff(), clock=clock, cache=None)
    for m in MEMBERS:
        c.join(m, role="staff" if m.startswith("staff") else "member")
    c.post_topic("ta", author="m0", kind="question", tags=["a"], product="p1")
    c.post_topic("tb", author="m1", kind="problem", tags=["a", "b"])
    c.post_topic("tc", author="staff1", kind="idea", product="p1")
    topics = ["ta", "tb", "tc"]
    replies: list[tuple[str, str]] = []
    accepted: list[tuple[str, str]] = []
    canonical: list[str] = []
    done: list[str] = []

    def pick(items: list[Any], i: int) -> Any:
        return items[i % len(items)] if items else None

    for n, op in enumerate(ops):
        if midway is not None and n == midway[0]:
            midway[1](c)
        name = op[0]
        outcome = "done"
        try:
            if name == "topic":
                _, author, kind, tags, product = op
                c.post_topic(f"t{n}", author=author, kind=kind, tags=tags, product=product)
                topics.append(f"t{n}")
            elif name in ("reply", "backdated") and topics:
                at = c.now() - timedelta(seconds=op[3]) if name == "backdated" else None
                topic = pick(topics, op[1])
                c.post_reply(f"r{n}", topic=topic, author=op[2], at=at)
                replies.append((topic, f"r{n}"))
            elif name == "accept" and replies:
                topic, reply = pick(replies, op[1])
                c.accept_solution(topic, reply=reply, by="staff1")
                accepted.append((topic, reply))
            elif name == "canonical" and accepted:
                topic, reply = pick(accepted, op[1])
                c.mark_canonical(topic, reply, by="staff1")
                canonical.append(reply)
            elif name == "unaccept":
                c.unaccept_solution(pick(topics, op[1]), by="staff1")
            elif name == "answer" and canonical:
                _, i, j, by = op
                c.answer_with(pick(topics, i), canonical=pick(canonical, j), by=by)
            elif name == "remove":
                post = pick(topics + [r for _, r in replies], op[1])
                if post is not None and op[2]:
                    c.restore_post(post, by="staff1")
                elif post is not None:
                    c.remove_post(post, by="staff1", reason="spam")
            elif name == "merge":
                c.merge_members(op[1], into=op[2], by="staff1")
            elif name == "follow" and topics:
                c.follow(pick(topics, op[1]), member=op[2])
            elif name == "delete":
                c.delete_member(op[1])
            elif name == "wait":
                clock.advance(seconds=op[1])
            else:
                outcome = "nothing to act on"
        except KudosError as e:
            outcome = type(e).__name__
        done.append(outcome)
    return c, done


def _state(c: Community) -> dict[str, Any]:
    """Documents, counters and ledger: what the hooks keep, and the figures read from them."""
    with c.store.transaction(c.id) as tx:
        snapshot = tx.snapshot()
        topics = sorted(d.key for d in tx.find(h.KIND))
        state: dict[str, Any] = {
            "documents": {(d.kind, d.key): (d.data, d.ref, d.status) for d in snapshot.docs},
            "counters": {k: v for k, v in snapshot.counters.items() if v},
            "ledger": tx.entries(),
        }
    state["health"] = [c.health(by=by) for by in (None, "tag", "product", "kind", "day")]
    state["presence"] = [c.presence(topic=t).people_involved for t in topics]
    state["products"] = c.presence(product="p1").people_involved
    return state


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ops=st.lists(_op, min_size=10, max_size=60), listed=st.sampled_from([0, 2, h.LISTED]))
def test_skipping_work_gives_what_the_full_work_gives(
    ops: list[tuple[Any, ...]], listed: int
) -> None:
    """``listed``: how many responses a topic's record lists before they get documents of
    their own (:data:`kudos.health.handlers.LISTED`, made small to have long threads)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(h, "LISTED", listed)
        fast, done = _run(ops)
        with in_full():
            full, done_in_full = _run(ops)
            wanted = _state(full)
        assert done == done_in_full
        assert _state(fast) == wanted
        assert_consistent(fast, replay=False)  # rebuild() gives the same again


_seconds = st.none() | st.sampled_from([0, 59, 999, 1000, 3599, 3601, 7213, 86_400])
_record = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["question", "idea"]),
        "tags": st.lists(st.sampled_from(["a", "b"]), max_size=3),
        "product": st.sampled_from([None, "p1"]),
        "channel": st.sampled_from(["web", "twitter"]),
        "day": st.sampled_from(["2026-09-01", "2026-10-02"]),
        "removed": st.booleans(),
        "target": st.sampled_from([3600, 86_400]),
        "first": _seconds,
        "first_member": _seconds,
        "solution": st.sampled_from([None, "r1"]),
        "solution_live": st.booleans(),
        "solver_staff": st.booleans(),
        "solved_in": st.sampled_from([0, 1000, 7213]),
    }
)


@given(old=st.none() | _record, new=st.none() | _record, same_groups=st.booleans())
def test_the_moved_figures_give_what_counting_both_records_in_full_gives(
    old: dict[str, Any] | None, new: dict[str, Any] | None, same_groups: bool
) -> None:
    if same_groups and old is not None and new is not None:
        new.update({k: old[k] for k in ("kind", "tags", "product", "channel", "day")})
    assert f.change(old, new, "2026-H2") == _change_in_full(old, new, "2026-H2")
    assert f.change(old, new, None) == {}


def _as_an_earlier_version_kept_it(c: Community) -> None:
    """Keep ``c``'s response-health records as kudos did before responses had documents of
    their own: each record lists the responses that count, in order."""
    with c.store.transaction(c.id) as tx:
        snapshot = tx.snapshot()
        docs = []
        for doc in snapshot.docs:
            if doc.kind == h.RESPONSE:
                continue
            if doc.kind == h.KIND:
                listed = [list(r) for r in h.responses(tx, doc.key, doc.data)]
                data = {k: v for k, v in doc.data.items() if k not in ("more", "listed")}
                doc = Doc(
                    kind=doc.kind,
                    key=doc.key,
                    data={**data, "responses": listed},
                    ref=doc.ref,
                    status=doc.status,
                )
            docs.append(doc)
        tx.replace_projections(Snapshot(docs=tuple(docs), counters=snapshot.counters))


def _observed(c: Community) -> dict[str, Any]:
    """What a host reads of response health: every topic's feedback and the figures."""
    with c.store.transaction(c.id) as tx:
        topics = sorted(d.key for d in tx.find(h.KIND))
        counters = {k: v for k, v in tx.snapshot().counters.items() if v}
    return {
        "feedback": [c.topic_feedback(t) for t in topics],
        "health": [c.health(by=by) for by in (None, "tag", "product", "kind", "day")],
        "counters": counters,
    }


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    ops=st.lists(_op, min_size=10, max_size=50),
    split=st.integers(0, 50),
    listed=st.sampled_from([0, 2, h.LISTED]),
)
def test_records_of_an_earlier_version_go_on_as_this_version_keeps_them(
    ops: list[tuple[Any, ...]], split: int, listed: int
) -> None:
    """A record listing every response (kept by an earlier kudos) reads the same, and moves
    the same with every later fact, as one that never did."""
    listing, done = _run(ops)  # topics list as many responses as they list by default
    wanted = _observed(listing)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(h, "LISTED", listed)
        kept, done_kept = _run(ops)
        upgraded, done_upgraded = _run(ops, midway=(split, _as_an_earlier_version_kept_it))
        assert done_kept == done_upgraded == done
        assert _observed(kept) == _observed(upgraded) == wanted
        upgraded.rebuild()
        assert _observed(upgraded) == wanted
