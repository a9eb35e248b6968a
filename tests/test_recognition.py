"""Recognition as policy data: rank ladders, badge rules, privilege tables, TOML, presets,
the published docs, and invariants of the engine hook under any sequence of facts."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos import InvalidPolicy, NotAllowed, Policy, RankProgress
from kudos.recognition import (
    ACTIVITIES,
    Badge,
    BadgeFacts,
    Privilege,
    Rank,
    Recognition,
    badge_key,
    current_rank,
    preset,
    register_badge_rule,
)
from kudos.testing import FakeClock, assert_consistent

DOCS = Path(__file__).parent.parent / "docs" / "recognition.md"

LADDER = Recognition(
    ranks=[
        Rank(name="Guru", requires={"kudos_received": 50, "solutions": 10}),
        Rank(name="Star", requires={"reputation": 10}),
        Rank(name="Member"),
    ],
    privileges=[
        Privilege(name="vote_ideas", requires={"reputation": 15}, description="vote on ideas"),
        Privilege(name="edit_posts", requires={"reputation": 100}, rank="Guru"),
    ],
)


# --- ranks -----------------------------------------------------------------------


def test_rank_progress_reads_as_a_sentence() -> None:
    progress = RankProgress(rank="Guru", missing={"kudos_received": 12, "solutions": 2})
    assert str(progress) == "12 more kudos received and 2 more solutions to Guru"


def test_the_first_rank_whose_requirements_are_all_met_wins() -> None:
    assert LADDER.rank_for({"kudos_received": 50, "solutions": 10}).name == "Guru"  # type: ignore[union-attr]
    assert LADDER.rank_for({"kudos_received": 50, "solutions": 9, "reputation": 10}).name == (  # type: ignore[union-attr]
        "Star"
    )
    assert LADDER.rank_for({}).name == "Member"  # type: ignore[union-attr]


def test_next_rank_is_the_step_above_with_only_what_is_missing() -> None:
    progress = LADDER.next_rank({"reputation": 12, "kudos_received": 38, "solutions": 8})
    assert progress == RankProgress(rank="Guru", missing={"kudos_received": 12, "solutions": 2})
    assert LADDER.next_rank({"reputation": 3}) == RankProgress(
        rank="Star", missing={"reputation": 7}
    )
    assert LADDER.next_rank({"kudos_received": 60, "solutions": 10}) is None


def test_without_an_entry_rank_the_next_rank_is_the_lowest() -> None:
    ladder = Recognition(ranks=[Rank(name="Star", requires={"reputation": 10})])
    assert ladder.rank_for({}) is None
    assert ladder.next_rank({"reputation": 4}) == RankProgress(
        rank="Star", missing={"reputation": 6}
    )


def test_a_ladder_without_ranks_has_no_next_rank() -> None:
    assert Recognition().rank_for({"reputation": 10_000}) is None
    assert Recognition().next_rank({}) is None


# --- badges ------------------------------------------------------------------------


def test_levels_are_reached_lowest_first_whatever_their_order_in_the_policy() -> None:
    badge = Badge(
        name="Solver", metric="solutions", levels={"gold": 100, "bronze": 1, "silver": 10}
    )
    assert badge.reached(0) == ()
    assert badge.reached(10) == ("bronze", "silver")
    assert badge.reached(500) == ("bronze", "silver", "gold")
    assert badge.title("gold") == "Solver (gold)"


def test_a_single_level_badge_needs_its_threshold() -> None:
    badge = Badge(name="Appreciated", metric="kudos_received", threshold=50)
    assert badge.reached(49) == ()
    assert badge.reached(50) == (None,)
    assert badge.title(None) == "Appreciated"


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({}, "exactly one rule"),
        ({"metric": "solutions", "first": "kudos-given"}, "it has metric, first"),
        ({"first": "kudos-received"}, "not an activity"),
        ({"first": "kudos-given", "levels": {"gold": 2}}, "single level"),
        ({"reply_within_minutes": 0}, "reply_within_minutes"),
        ({"custom": "no_such_rule"}, "register_badge_rule('no_such_rule'"),
        ({"metric": "solutions", "threshold": 0}, "threshold"),
        ({"metric": "solutions", "threshold": 5, "levels": {"gold": 9}}, "not both"),
        ({"metric": "solutions", "levels": {"gold": 0}}, "levels.gold"),
    ],
)
def test_malformed_badges_are_refused_saying_why(fields: dict[str, Any], complaint: str) -> None:
    with pytest.raises(InvalidPolicy, match=re.escape(complaint)):
        Badge(name="B", **fields)


def test_every_activity_can_be_a_first_time_badge() -> None:
    for event_type in ACTIVITIES:
        assert Badge(name="First", first=event_type).describe().startswith("first time")


def _weekend(facts: BadgeFacts) -> bool:
    return facts.at.weekday() >= 5


def test_a_badge_rule_name_cannot_be_taken_twice() -> None:
    register_badge_rule("test_weekend", _weekend)
    register_badge_rule("test_weekend", _weekend)  # the same function again is fine
    with pytest.raises(kudos.InvalidInput, match="already registered"):
        register_badge_rule("test_weekend", lambda facts: True)
    redefined = _weekend  # a reload defines a new function of the same module and name

    def _weekend_again(facts: BadgeFacts) -> bool:
        return facts.at.weekday() >= 5

    _weekend_again.__qualname__ = redefined.__qualname__
    assert register_badge_rule("test_weekend", _weekend_again) is _weekend_again
    assert Badge(name="Weekender", custom="test_weekend").rule == "custom"


# --- privileges ----------------------------------------------------------------------


def test_privileges_say_what_is_lacking() -> None:
    assert LADDER.lacks("vote_ideas", "member", {"reputation": 3}) == (("15 reputation", "has 3"),)
    assert LADDER.lacks("vote_ideas", "member", {"reputation": 15}) == ()
    assert LADDER.lacks("edit_posts", "member", {"reputation": 150}) == (
        ("rank 'Guru' or higher", "is 'Star'"),
    )
    assert LADDER.lacks("fly", "member", {}) is None


def test_staff_and_moderators_hold_everything_by_default() -> None:
    assert LADDER.lacks("edit_posts", "staff", {}) == ()
    assert LADDER.privileges_of("moderator", {}) == {"vote_ideas", "edit_posts"}
    assert LADDER.privileges_of("member", {"reputation": 20}) == {"vote_ideas"}


def test_a_role_can_hold_a_named_set() -> None:
    rec = Recognition(
        privileges=LADDER.privileges,
        ranks=LADDER.ranks,
        role_privileges={"moderator": ["moderate", "edit_posts"]},
    )
    assert rec.privileges_of("moderator", {}) == {"moderate", "edit_posts"}
    assert rec.privileges_of("staff", {}) == frozenset()


@pytest.mark.parametrize(
    ("section", "complaint"),
    [
        ({"ranks": [Rank(name="A"), Rank(name="A")]}, "'A' appear more than once"),
        ({"privileges": [Privilege(name="p", rank="Guru")]}, "not on the ladder"),
        ({"role_privileges": {"admin": ["*"]}}, "unknown role 'admin'"),
        ({"role_privileges": {"staff": "*"}}, "must be a list"),
    ],
)
def test_malformed_sections_are_refused(section: dict[str, Any], complaint: str) -> None:
    with pytest.raises(InvalidPolicy, match=re.escape(complaint)):
        Recognition(**section)


def test_requirements_must_be_whole_numbers() -> None:
    with pytest.raises(InvalidPolicy, match=re.escape("requires.reputation")):
        Rank(name="A", requires={"reputation": 1.5})  # type: ignore[dict-item]


# --- TOML ----------------------------------------------------------------------------

TOML = """
name = "acme"

[[recognition.ranks]]
name = "Expert"
requires = { reputation = 500, solutions = 25, tenure_days = 60 }

[[recognition.ranks]]
name = "Newcomer"

[[recognition.badges]]
name = "Solver"
metric = "solutions"
levels = { bronze = 1, silver = 10, gold = 100 }

[[recognition.badges]]
name = "Quick Draw"
reply_within_minutes = 10

[[recognition.privileges]]
name = "accept_solutions"
rank = "Expert"

[recognition.role_privileges]
moderator = ["moderate"]
"""


def test_the_section_loads_from_toml() -> None:
    rec = Policy.from_toml(TOML).recognition
    assert [r.name for r in rec.ranks] == ["Expert", "Newcomer"]
    assert rec.ranks[0].requires == {"reputation": 500, "solutions": 25, "tenure_days": 60}
    assert rec.badges[0].levels == {"bronze": 1, "silver": 10, "gold": 100}
    assert rec.badges[1].reply_within_minutes == 10
    assert rec.privilege("accept_solutions") == Privilege(name="accept_solutions", rank="Expert")
    assert rec.role_privileges == {"moderator": ("moderate",)}


@pytest.mark.parametrize(
    ("toml", "complaint"),
    [
        (
            '[[recognition.badges]]\nname = "S"\nmetrik = "solutions"',
            "recognition.badges[0].metrik",
        ),
        (
            '[[recognition.ranks]]\nname = "S"\nrequires = { reputation = "x" }',
            "recognition.ranks[0].requires.reputation",
        ),
        ('[[recognition.badges]]\nname = "S"\nreply_within_minutes = 1.5', "reply_within_minutes"),
    ],
)
def test_bad_toml_names_the_key(toml: str, complaint: str) -> None:
    with pytest.raises(InvalidPolicy, match=re.escape(complaint)):
        Policy.from_toml(toml)


# --- presets and their published criteria -------------------------------------------------


def test_giffgaff_ships_a_short_star_ladder() -> None:
    rec = kudos.policies.giffgaff().recognition
    assert [r.name for r in rec.ranks] == [
        "Guru",
        "Gold Star",
        "Silver Star",
        "Bronze Star",
        "Member",
    ]
    assert rec.rank_for({}).name == "Member"  # type: ignore[union-attr]
    assert rec.privileges_of("member", {}) >= {"vote_ideas", "give_kudos"}
    assert rec.privilege("accept_solutions").rank == "Guru"  # type: ignore[union-attr]


def test_stackexchange_ships_privileges_but_no_ladder() -> None:
    policy = kudos.policies.stackexchange()
    rec = policy.recognition
    assert rec.ranks == ()
    assert rec.privilege("give_kudos").requires == {  # type: ignore[union-attr]
        "reputation": policy.min_reputation_to_give_kudos
    }
    assert rec.privilege("down_vote").requires == {  # type: ignore[union-attr]
        "reputation": policy.min_reputation_to_down_vote
    }
    table = {p.name: p.requires["reputation"] for p in rec.privileges}
    assert table["edit_posts"] == 2000 and table["close_reopen"] == 3000
    assert table["moderator_tools"] == 10_000 and table["comment"] == 50


def test_an_unknown_preset_is_refused() -> None:
    with pytest.raises(InvalidPolicy, match="giffgaff, stackexchange"):
        preset("lithium")


@pytest.mark.parametrize("name", ["giffgaff", "stackexchange"])
def test_the_docs_publish_every_criterion_of_the_presets(name: str) -> None:
    text = DOCS.read_text()
    rec = preset(name)
    for rank in rec.ranks:
        assert f"| {rank.name} | {rank.describe()} | {rank.description} |" in text
    for badge in rec.badges:
        assert f"| {badge.name} | {badge.description} | {badge.describe()} |" in text
    for privilege in rec.privileges:
        assert f"| `{privilege.name}` | {privilege.doing} | {privilege.describe()} |" in text


def test_the_docs_examples_run_in_order() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert len(blocks) >= 4
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), namespace)


# --- invariants under any sequence of facts --------------------------------------------

MEMBERS = ("m0", "m1", "m2", "m3")
PROPERTY_POLICY = kudos.policies.giffgaff().evolve(
    recognition=Recognition(
        ranks=[
            Rank(name="Star", requires={"kudos_received": 2, "reputation": 2}),
            Rank(name="Helper", requires={"solutions": 1}),
            Rank(name="Member"),
        ],
        badges=[
            Badge(name="Liked", metric="kudos_received", levels={"a": 1, "b": 2, "c": 3}),
            Badge(name="Solver", metric="solutions"),
            Badge(name="Supporter", first="kudos-given"),
            Badge(name="Quick", reply_within_minutes=30),
            Badge(name="Regular", metric="days_active", threshold=2),
        ],
        privileges=[
            Privilege(name="edit_posts", rank="Star"),
            Privilege(name="vote_ideas", requires={"reputation": 3}),
        ],
    )
)

member = st.integers(0, len(MEMBERS) - 1)
step = st.one_of(
    st.tuples(st.just("give"), member, member),
    st.tuples(st.just("withdraw"), member, member),
    st.tuples(st.just("accept"), member),
    st.tuples(st.just("unaccept"), member),
    st.tuples(st.just("spam"), member),
    st.tuples(st.just("wait"), st.integers(1, 30)),
)


def _play(steps: list[tuple[Any, ...]]) -> tuple[kudos.Community, FakeClock]:
    clock = FakeClock()
    c = kudos.Community(policy=PROPERTY_POLICY, clock=clock)
    c.join("asker")
    c.join("mod", role="moderator")
    c.post_topic("t", author="asker")
    for i, m in enumerate(MEMBERS):
        c.join(m)
        c.post_topic(f"q{i}", author="asker")
        clock.advance(minutes=20)
        c.post_reply(f"r{i}", topic="t", author=m)
        c.post_reply(f"s{i}", topic=f"q{i}", author=m)
    for kind, *args in steps:
        try:
            if kind == "give":
                c.give_kudos(f"r{args[1]}", giver=MEMBERS[args[0]])
            elif kind == "withdraw":
                c.withdraw_kudos(f"r{args[1]}", giver=MEMBERS[args[0]])
            elif kind == "accept":
                c.accept_solution(f"q{args[0]}", reply=f"s{args[0]}", by="asker")
            elif kind == "unaccept":
                c.unaccept_solution(f"q{args[0]}", by="asker")
            elif kind == "spam":
                c.remove_post(f"r{args[0]}", by="mod", reason="spam")
            else:
                clock.advance(hours=args[0])
        except NotAllowed:
            pass  # a fact the rules refuse changes nothing, which is also tested
    return c, clock


def _metrics(c: kudos.Community, m: str) -> Mapping[str, int]:
    s = c.standing(m)
    return {**s.counters, "reputation": s.reputation, "points": s.lifetime_points}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=30))
def test_incremental_recognition_equals_recognition_from_the_final_counters(
    steps: list[tuple[Any, ...]],
) -> None:
    c, _ = _play(steps)
    rec = PROPERTY_POLICY.recognition
    with c.store.transaction(c.id) as tx:
        for m in MEMBERS:
            metrics = _metrics(c, m)
            assert current_rank(tx, m) == rec.rank_for(metrics).name  # type: ignore[union-attr]
            doc = tx.get("privileges", m)
            assert doc is not None
            assert frozenset(doc.data["privileges"]) == rec.privileges_of("member", metrics)
            held = {
                badge_key(m, b.name, level)
                for b in rec.badges
                if b.metric
                for level in b.reached(metrics.get(b.metric, 0))
            }
            earned = {d.key for d in tx.find("badge", ref=m, status="earned")}
            # Metric badges are never lost to ordinary reversals: earned covers what is held.
            assert held <= earned


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=30))
def test_every_notification_has_a_cause_and_tells_a_consistent_story(
    steps: list[tuple[Any, ...]],
) -> None:
    c, _ = _play(steps)
    notes = c.notifications(limit=None)
    with c.store.transaction(c.id) as tx:
        logged = {e.event_id for e in tx.events()}
    assert {n.event_id for n in notes} <= logged
    for m in MEMBERS:
        mine = [n for n in notes if n.member == m]
        rank = "Member"
        for n in (n for n in mine if n.kind == "rank_changed"):
            assert n.data["from"] == rank and n.data["to"] != rank
            rank = n.data["to"]
        assert rank == c.standing(m).rank
        privileges: set[str] = set()
        for n in mine:
            if n.kind == "privilege_granted":
                assert n.data["privilege"] not in privileges
                privileges.add(n.data["privilege"])
            elif n.kind == "privilege_revoked":
                privileges.remove(n.data["privilege"])
        assert privileges == c.standing(m).privileges
        held: Counter[str] = Counter()
        for n in mine:
            if n.kind == "badge_earned":
                assert held[n.data["title"]] == 0, "a badge level awarded twice"
                held[n.data["title"]] += 1
            elif n.kind == "badge_revoked":
                assert held[n.data["title"]] == 1, "a badge revoked that was not held"
                assert re.fullmatch(r"reply 'r\d' removed as spam", n.data["reason"])
                held[n.data["title"]] -= 1
        assert set(+held) == set(c.standing(m).badges)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=25))
def test_replay_and_rebuild_reproduce_recognition_and_notify_nothing(
    steps: list[tuple[Any, ...]],
) -> None:
    c, _ = _play(steps)
    outbox = c.notifications(limit=None)
    assert_consistent(c)  # replays the log (badges, ranks are documents) and re-records it
    with c.store.transaction(c.id) as tx:
        before = {(d.kind, d.key): d for d in tx.snapshot().docs}
    c.rebuild()
    with c.store.transaction(c.id) as tx:
        assert {(d.kind, d.key): d for d in tx.snapshot().docs} == before
    assert c.notifications(limit=None) == outbox
