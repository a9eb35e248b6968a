"""Policy history: the store remembers its policy, and a change of policy is a fact.

Property tests over random histories with policy changes at random times, and
scenarios on SQLite files and PostgreSQL (two opens of one database).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select, text, update

import kudos
from kudos import Community, InvalidPolicy, KudosError, MemoryStore, NotAllowed, PolicyMismatch
from kudos.engine.core import stored_to_event
from kudos.events import PolicyChanged
from kudos.history import fingerprint, to_json
from kudos.model import StoredEvent
from kudos.payback import PaybackRules, Rate
from kudos.policy import Cap, Policy, Reward
from kudos.stores.sql import SCHEMA_VERSION, SqlStore
from kudos.testing import FakeClock, assert_consistent

T0 = datetime(2026, 6, 3, 9, tzinfo=UTC)
MEMBERS = ("m0", "m1", "m2", "m3")
TAGS = (("roaming",), ("esim", "roaming"))


def worth(points: int, reputation: int = 1, *, cap: int | None = None) -> Policy:
    """giffgaff with kudos on a reply worth ``points`` (optionally capped per day)."""
    base = kudos.policies.giffgaff()
    rewards = {**base.rewards, "kudos_on_reply": Reward(points=points, reputation=reputation)}
    caps = (Cap(account="points", per="day", limit=cap, actions=["kudos_on_reply"]),) if cap else ()
    return base.evolve(name=f"worth {points}", rewards=rewards, caps=caps)


def seeded(c: Community) -> None:
    for m in MEMBERS:
        c.join(m)
    c.join("staff1", role="staff")
    for i, m in enumerate(MEMBERS):
        c.post_topic(f"t{i}", author=m, title=f"topic {i}", tags=TAGS[i % 2])
        for j, other in enumerate(MEMBERS):
            if other != m:
                c.post_reply(f"r{i}{j}", topic=f"t{i}", author=other)


def earned(c: Community) -> dict[tuple[str, str], int]:
    """Every member's lifetime points and reputation."""
    out = {}
    for s in c.standings():
        out[(s.member, "points")] = s.lifetime_points
        out[(s.member, "reputation")] = s.reputation
    return out


# --- hypothesis: random histories with one or two policy changes ----------------------------

facts = st.lists(
    st.tuples(
        st.sampled_from(["kudos", "withdraw", "accept"]),
        st.integers(0, 3),  # topic
        st.integers(0, 3),  # reply author / giver
        st.integers(1, 180),  # minutes later
    ),
    min_size=1,
    max_size=25,
)
policy_params = st.tuples(st.integers(0, 30), st.integers(0, 5), st.none() | st.integers(0, 40))
changes = st.lists(
    st.tuples(
        st.integers(0, 25),  # after how many facts
        policy_params,
        st.booleans(),  # retroactive
        st.integers(0, 600),  # effective: minutes before the change (0: at once)
    ),
    min_size=1,
    max_size=2,
)


def play(c: Community, clock: FakeClock, fact: tuple[str, int, int, int]) -> None:
    kind, topic, member, minutes = fact
    clock.advance(timedelta(minutes=minutes))
    reply = f"r{topic}{member}"
    asker = MEMBERS[topic]
    giver = MEMBERS[(member + 1) % 4]
    try:
        if kind == "kudos":
            c.give_kudos(reply, giver=giver, event_id=f"k-{reply}-{giver}-{clock().timestamp()}")
        elif kind == "withdraw":
            c.withdraw_kudos(
                reply, giver=giver, event_id=f"w-{reply}-{giver}-{clock().timestamp()}"
            )
        else:
            c.accept_solution(f"t{topic}", reply=reply, by=asker)
    except KudosError:
        pass  # the rules refused it (own reply, no kudos to withdraw, ...): a refusal is fine


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(first=policy_params, history=facts, policy_changes=changes)
def test_random_histories_with_policy_changes_keep_every_invariant(
    first: tuple[int, int, int | None],
    history: list[tuple[str, int, int, int]],
    policy_changes: list[tuple[int, tuple[int, int, int | None], bool, int]],
) -> None:
    clock = FakeClock(T0)
    c = Community(MemoryStore(), worth(first[0], first[1], cap=first[2]), clock=clock)
    seeded(c)
    due = sorted(
        ((min(at, len(history)), *rest) for at, *rest in policy_changes), key=lambda ch: ch[0]
    )
    recorded = 1
    for step in range(len(history) + 1):
        while due and due[0][0] <= step:
            _, (points, reputation, cap), retroactive, back = due.pop(0)
            new = worth(points, reputation, cap=cap)
            ledger_before = _ledger(c)
            before = earned(c)
            clock.advance(timedelta(minutes=1))
            effective = T0 - timedelta(days=1) if retroactive else clock() - timedelta(minutes=back)
            out = c.change_policy(
                new,
                effective=effective,
                retroactive=retroactive,
                by="staff1",
                reason="fuzz",
                event_id=f"change-{len(policy_changes) - len(due)}",
            )
            # The ledger is append-only: what was there is still there, unchanged.
            assert _ledger(c)[: len(ledger_before)] == ledger_before
            if out.replayed:
                # The settings in force from `effective` on already: nothing recorded.
                assert _ledger(c) == ledger_before
            else:
                recorded += 1
            assert len(c.policy_history()) == recorded
            if out.replayed:
                # A no-op answers with the version in force (its lines, if it booked any).
                assert earned(c) == before
            elif retroactive:
                # What it booked is exactly what recalculating every fact under the new
                # policy gives (simulate replays the whole log under one policy).
                full = {
                    (m, account): getattr(s, field)
                    for m, s in c.simulate(new).standings.items()
                    for account, field in (
                        ("points", "lifetime_points"),
                        ("reputation", "reputation"),
                    )
                }
                booked: Counter[tuple[str, str]] = Counter()
                for line in out.entries:
                    assert line.action == "policy_recalculated" and line.event_id == out.event_id
                    booked[(line.member, line.account)] += line.amount
                for key, value in before.items():
                    assert value + booked[key] == full[key], key
                assert earned(c) == full
                # Every tag board equals that of a community that always had the new rules.
                assert tag_boards(c) == tag_boards(recalculated(c, new))
            else:
                assert out.entries == ()
        if step < len(history):
            play(c, clock, history[step])
    assert [v.version for v in c.policy_history()] == list(range(1, recorded + 1))
    assert_consistent(c)  # balances == ledger sums; replay == incremental; replays change nothing
    report = c.rebuild()
    assert report.events == len(_events(c))


def tag_boards(c: Community) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """Every tag's all-time points and reputation boards."""
    return {
        (tag, by): sorted((row.member, row.value) for row in c.leaderboard(by, tag=tag, limit=100))
        for tag in ("roaming", "esim")
        for by in ("points", "reputation")
    }


def recalculated(c: Community, policy: Policy) -> Community:
    """A community that recorded every fact of ``c`` (policy changes left out) under ``policy``."""
    truth = Community(MemoryStore(), policy, clock=FakeClock(c.now()))
    for row in _events(c):
        if row.type != PolicyChanged.type:
            with contextlib.suppress(KudosError):  # refused under these rules: earns nothing
                truth.record(stored_to_event(row))
    return truth


def _ledger(c: Community) -> list[kudos.LedgerEntry]:
    with c.store.transaction(c.id) as tx:
        return tx.entries()


def _events(c: Community) -> list[StoredEvent]:
    with c.store.transaction(c.id) as tx:
        return list(tx.events())


# --- scenarios: mismatch on open ---------------------------------------------------------


def test_two_opens_of_a_sqlite_file_agree_on_its_policy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'community.db'}"
    clock = FakeClock(T0)
    first = kudos.open(url, policy=worth(10), clock=clock)
    seeded(first)
    first.give_kudos("r01", giver="m0")
    with pytest.raises(PolicyMismatch) as refused:
        kudos.open(url, policy=worth(5), clock=clock)
    assert "rewards.kudos_on_reply.points: 10 in the store, 5 given" in str(refused.value)
    again = kudos.open(url, clock=clock)  # no policy=: the stored one, not giffgaff's 5
    assert again.policy == worth(10)
    again.give_kudos("r02", giver="m0")
    assert again.standing("m2").points == 10
    same = kudos.open(url, policy=worth(10), clock=clock)  # the same content is welcome
    assert same.standing("m1").points == 10


def test_a_mismatch_leaves_nothing_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'community.db'}"
    clock = FakeClock(T0)
    seeded(kudos.open(url, policy=worth(10), clock=clock))
    store = SqlStore.from_url(url)
    with store.engine.connect() as conn:
        before = {t.name: conn.execute(select(t)).all() for t in store.metadata.sorted_tables}
    for _ in range(2):
        with pytest.raises(PolicyMismatch):
            Community(SqlStore.from_url(url), policy=worth(5), clock=clock)
    with store.engine.connect() as conn:
        after = {t.name: conn.execute(select(t)).all() for t in store.metadata.sorted_tables}
    assert after == before


def test_two_communities_on_one_postgresql_store_agree_on_its_policy(
    postgres_store: SqlStore,
) -> None:
    clock = FakeClock(T0)
    first = Community(postgres_store, worth(10), clock=clock)
    seeded(first)
    with pytest.raises(PolicyMismatch, match="10 in the store, 5 given"):
        Community(SqlStore(postgres_store.engine, metadata=postgres_store.metadata), worth(5))
    per_request = Community(
        SqlStore(postgres_store.engine, metadata=postgres_store.metadata), clock=clock
    )
    assert per_request.policy == worth(10)
    per_request.give_kudos("r01", giver="m0")
    assert first.standing("m1").points == 10
    first.change_policy(worth(20), by="staff1", reason="more")
    clock.advance(timedelta(minutes=5))
    per_request.give_kudos("r02", giver="m0")  # the long-lived object takes up the change
    assert [(e.amount, e.policy) for e in per_request.statement("m2", account="points").lines] == [
        (20, 2)
    ]
    assert_consistent(per_request)


def test_a_first_write_racing_another_policy_on_postgresql_is_a_mismatch(
    postgres_store: SqlStore,
) -> None:
    clock = FakeClock(T0)
    one = Community(postgres_store, worth(10), clock=clock)
    two = Community(
        SqlStore(postgres_store.engine, metadata=postgres_store.metadata), worth(5), clock=clock
    )
    one.join("m0")
    with pytest.raises(PolicyMismatch):
        two.join("m1")
    assert [m.id for m in one.members()] == ["m0"]


# --- scenarios: bad input -------------------------------------------------------------------


def test_a_malformed_or_contradictory_policy_is_invalid_policy_naming_the_key() -> None:
    with pytest.raises(InvalidPolicy, match=r"rewards\.kudos_on_reply\.points"):
        Policy.from_toml('[rewards]\nkudos_on_reply = { points = "ten" }\n')
    with pytest.raises(InvalidPolicy, match=r"reputation_start .* reputation_floor"):
        Policy.from_dict({"reputation_start": 0, "reputation_floor": 1})
    c = Community(clock=FakeClock(T0))
    seeded(c)
    bad = to_json(worth(10)).replace('"staff_earn"', '"staff_earns"')
    with pytest.raises(InvalidPolicy, match="staff_earns"):
        c.record(PolicyChanged(policy=bad, effective=T0, by="staff1", reason="typo"))
    assert len(c.policy_history()) == 1
    with pytest.raises(kudos.InvalidInput, match=r"kudos\.Policy"):
        c.change_policy({"name": "x"}, by="staff1", reason="x")  # type: ignore[arg-type]


def test_a_change_into_a_closed_period_is_refused_unless_retroactive() -> None:
    clock = FakeClock(T0)
    c = Community(policy=worth(10), clock=clock)
    seeded(c)
    c.give_kudos("r01", giver="m0")
    c.set_payout_method("m1", "credit")
    _, end = c.policy.periods.bounds("2026-H2")
    clock.set(end + timedelta(days=2))
    c.close_period("2026-H2")
    with pytest.raises(NotAllowed, match="closed payback period") as refused:
        c.change_policy(worth(20), effective=T0, by="staff1", reason="back-dated")
    assert "retroactive=True" in str(refused.value)
    assert len(c.policy_history()) == 1
    out = c.change_policy(worth(20), effective=T0, retroactive=True, by="staff1", reason="SE 2019")
    (line,) = out.entries
    assert (line.member, line.amount, line.period) == ("m1", 10, "2027-H1")  # booked now
    assert c.payouts("2026-H2")[0].points == 10  # what was paid stays paid
    assert_consistent(c)


def test_closing_a_period_uses_the_rules_in_force_at_its_close() -> None:
    clock = FakeClock(T0)
    c = Community(policy=worth(100), clock=clock)
    seeded(c)
    c.give_kudos("r01", giver="m0")
    c.set_payout_method("m1", "credit")
    double = worth(100).evolve(
        name="double payback", payback=attrs.evolve(PaybackRules(), rate=Rate(minor_units=2))
    )
    c.change_policy(double, by="staff1", reason="double payback from today")
    _, end = c.policy.periods.bounds("2026-H2")
    clock.set(end + timedelta(days=1))
    (payout,) = c.close_period("2026-H2")
    assert (payout.points, payout.amount) == (100, 200)
    assert_consistent(c)


# --- the upgrade from schema version 3 ----------------------------------------------------


def test_tables_of_version_3_are_upgraded_by_create_all(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    clock = FakeClock(T0)
    seeded(kudos.open(url, policy=worth(10), clock=clock))
    store = SqlStore.from_url(url, create=False)
    t = store.tables
    with store.engine.begin() as conn:  # what version 3 had: no policies, no ledger.policy
        conn.execute(text(f"DROP TABLE {t.policies.name}"))
        conn.execute(text(f"ALTER TABLE {t.ledger.name} DROP COLUMN policy"))
        conn.execute(update(t.schema).values(version=3))
    store.close()
    with pytest.raises(kudos.StoreError, match="older than this kudos"):
        Community(SqlStore.from_url(url, create=False), clock=clock).members()
    upgraded = kudos.open(url, policy=worth(10), clock=clock)  # create_all brings it to 4
    assert isinstance(upgraded.store, SqlStore)
    with upgraded.store.engine.connect() as conn:
        assert conn.execute(select(t.schema.c.version)).scalar() == SCHEMA_VERSION == 4
        columns = {c["name"] for c in inspect(conn).get_columns(t.ledger.name)}
        assert "policy" in columns
    assert upgraded.policy_history() == []  # written before kudos kept it
    upgraded.give_kudos("r01", giver="m0")  # the first write records version 1
    assert [v.fingerprint for v in upgraded.policy_history()] == [fingerprint(worth(10))]
    assert {e.policy for e in upgraded.statement("m1").lines} == {1}
    assert_consistent(upgraded)


# --- the stored policy holds every setting, the newer sections too ----------------------------


def _custom() -> Policy:
    """giffgaff with custom support, channels, health, statement words and abuse rules."""
    from kudos.abuse.rules import AbuseRules
    from kudos.channels import ChannelRules
    from kudos.health import HealthRules
    from kudos.support import SupportRules

    return worth(10).evolve(
        name="custom sections",
        support=SupportRules(solvable=("question",), feelings=("calm", "cross")),
        channels=ChannelRules(allowed=("web", "sms"), default="web"),
        health=HealthRules(target_seconds=900),
        texts={"kudos_on_reply": '{actor} liked your reply in "{title}"'},
        abuse=AbuseRules(serial_votes=4, ring_votes=7),
    )


@pytest.mark.parametrize("where", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_stored_policy_keeps_its_support_channels_health_texts_and_abuse_rules(
    where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    def store() -> SqlStore:
        if where == "sqlite":
            return SqlStore.from_url(f"sqlite:///{tmp_path / 'community.db'}")
        pg: SqlStore = request.getfixturevalue("postgres_store")
        return SqlStore(pg.engine, metadata=pg.metadata)

    clock = FakeClock(T0)
    custom = _custom()
    first = Community(store(), custom, clock=clock)
    seeded(first)
    first.give_kudos("r01", giver="m0")
    reopened = Community(store(), clock=clock)  # no policy=: the stored one, every section
    assert reopened.policy == custom
    assert reopened.policy.describe() == custom.describe()
    line = reopened.statement("m1", account="points").lines[-1]
    assert line.text == '+10 points: m0 liked your reply in "topic 0"'  # the stored words
    for changed, setting in [
        (custom.evolve(support=attrs.evolve(custom.support, solvable=("problem",))), "support"),
        (custom.evolve(channels=attrs.evolve(custom.channels, allowed=("web",))), "channels"),
        (custom.evolve(health=attrs.evolve(custom.health, target_seconds=60)), "health"),
        (custom.evolve(texts={"kudos_on_reply": None}), "texts.kudos_on_reply"),
        (custom.evolve(abuse=attrs.evolve(custom.abuse, serial_votes=9)), "abuse.serial_votes"),
    ]:
        with pytest.raises(PolicyMismatch, match=f"{setting}.*in the store"):
            Community(store(), changed, clock=clock)


# --- statement lines say which policy version paid them, and recalculations in words ------------


def test_statement_lines_carry_their_policy_version_and_recalculations_read_as_words() -> None:
    clock = FakeClock(T0)
    c = Community(MemoryStore(), worth(10), clock=clock)
    seeded(c)
    c.give_kudos("r01", giver="m0")
    clock.advance(timedelta(hours=1))
    c.change_policy(worth(20), by="staff1", reason="replies matter more")
    clock.advance(timedelta(hours=1))
    c.give_kudos("r02", giver="m0")
    clock.advance(timedelta(hours=1))
    c.change_policy(
        worth(30), effective=T0, by="staff1", reason="as Stack Exchange did", retroactive=True
    )
    lines = c.statement("m1", account="points").lines
    assert [(ln.amount, ln.policy, ln.action) for ln in lines][-1] == (20, 3, "policy_recalculated")
    kudos_lines = [ln for ln in lines if ln.action == "kudos_on_reply"]
    assert [(ln.amount, ln.policy) for ln in kudos_lines] == [(10, 1)]
    assert lines[-1].template == "policy_recalculated"
    assert lines[-1].text == (
        "+20 points: recalculated under policy version 3, changed by staff1: as Stack Exchange did"
    )
    assert lines[-1].entry().policy == 3
    (paid_under_2,) = [
        ln for ln in c.statement("m2", account="points").lines if ln.action == "kudos_on_reply"
    ]
    assert (paid_under_2.amount, paid_under_2.policy) == (20, 2)
    assert_consistent(c)


def test_a_change_of_policy_does_not_reword_earlier_lines(tmp_path: Path) -> None:
    # A kudos worth 5 under giffgaff stays "+5 points: ... gave kudos ..." after a change to a
    # policy paying 10: whether a line was capped is judged by the version that paid it.
    clock = FakeClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    c = kudos.open(f"sqlite:///{tmp_path / 'c.db'}", policy=kudos.policies.giffgaff(), clock=clock)
    c.join("ann")
    c.join("bob")
    c.join("sam", role="staff")
    c.post_topic("t1", author="ann", title="No data abroad")
    c.post_reply("r1", topic="t1", author="bob")
    c.give_kudos("r1", giver="ann")
    before = [line.text for line in c.statement("bob").lines]
    generous = kudos.policies.giffgaff().evolve(
        rewards={**kudos.policies.giffgaff().rewards, "kudos_on_reply": Reward(points=10)}
    )
    clock.advance(hours=1)
    c.change_policy(generous, effective=c.now(), by="sam", reason="more for kudos")
    after = [line.text for line in c.statement("bob").lines]
    assert after == before
    assert not any("capped" in text for text in after), after


# --- who may change the policy, and why -----------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_a_change_needs_a_reason_that_says_something(reason: str) -> None:
    c = Community(MemoryStore(), worth(10), clock=FakeClock(T0))
    seeded(c)
    with pytest.raises(kudos.InvalidInput, match="reason must say why"):
        c.change_policy(worth(20), by="staff1", reason=reason)
    assert len(c.policy_history()) == 1


def test_only_staff_may_change_the_policy_as_only_staff_may_close_a_period() -> None:
    c = Community(MemoryStore(), worth(10), clock=FakeClock(T0))
    seeded(c)
    with pytest.raises(NotAllowed, match="'m0' may not change the policy"):
        c.change_policy(worth(20), by="m0", reason="more")
    with pytest.raises(kudos.UnknownMember) as unknown:
        c.change_policy(worth(20), by="nobody", reason="more")
    with pytest.raises(kudos.UnknownMember) as closing:
        c.close_period("2026-H1", by="nobody")
    assert type(unknown.value) is type(closing.value)
    assert len(c.policy_history()) == 1
    c.join("mod", role="moderator")
    c.change_policy(worth(20), by="mod", reason="more")
    assert len(c.policy_history()) == 2
    assert_consistent(c)
