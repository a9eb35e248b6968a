"""Policy as data: loading from TOML (every preset round-trips), errors that name the bad
key, ``evolve``, rewards and caps."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from kudos import Cap, InvalidPolicy, Policy, Reward, policies
from kudos.policy import ACTIONS, CORE_ACTIONS

PRESETS = [policies.giffgaff, policies.stackexchange]


# --- a TOML writer, enough for policy data ----------------------------------------------


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _toml_value(value: Any) -> str:
    if value is None:
        return '""'  # TOML has no null: policy data reads "" as "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return _inline_table(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def _inline_table(data: Mapping[str, Any]) -> str:
    items = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items()]
    return "{" + ", ".join(items) + "}"


def to_toml(data: Mapping[str, Any]) -> str:
    """Top-level keys as ``key = value`` lines."""
    return "\n".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items())


# --- presets ----------------------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.__name__)
def test_every_preset_round_trips_through_its_data(preset: Any) -> None:
    policy = preset()
    assert Policy.from_dict(attrs.asdict(policy)) == policy


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.__name__)
def test_every_preset_round_trips_through_toml(preset: Any, tmp_path: Path) -> None:
    policy = preset()
    text = to_toml(attrs.asdict(policy))
    assert Policy.from_toml(text) == policy
    path = tmp_path / f"{policy.name}.toml"
    path.write_text(text)
    assert Policy.from_toml(path) == policy
    assert Policy.from_toml(str(path)) == policy


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.__name__)
def test_presets_reward_only_known_actions_in_whole_units(preset: Any) -> None:
    policy = preset()
    assert set(policy.rewards) <= set(ACTIONS)
    for reward in policy.rewards.values():
        assert type(reward.points) is int and type(reward.reputation) is int
    for cap in policy.caps:
        assert set(cap.actions) <= set(ACTIONS)


def test_the_presets_differ_where_the_communities_do() -> None:
    gg, se = policies.giffgaff(), policies.stackexchange()
    assert (gg.down_votes, se.down_votes) == (False, True)
    assert gg.reward("kudos_on_reply") == Reward(points=5, reputation=1)
    assert se.reward("kudos_on_reply") == Reward(reputation=10)
    assert se.reward("solution_accepted") == Reward(reputation=15)
    assert se.reward("down_vote_cast") == Reward(reputation=-1)
    assert (se.min_reputation_to_give_kudos, se.min_reputation_to_down_vote) == (15, 125)
    assert gg.caps == (
        Cap(
            account="points",
            per="month",
            limit=1500,
            actions=(
                "kudos_on_reply",
                "kudos_on_topic",
                "solution_accepted",
                "solution_accepter",
                "praise_received",
                "deflection_solution",
            ),
        ),
        Cap(account="points", per="post", limit=200, actions=("canonical_reused",)),
    )
    assert se.caps_for("kudos_on_reply", "reputation")[0].limit == 200
    assert se.caps_for("solution_accepted", "reputation") == []
    assert (gg.periods.kind, gg.periods.start_month, gg.periods.timezone) == (
        "half-year",
        12,
        "Europe/London",
    )


# --- loading ---------------------------------------------------------------------------------

CUSTOM = """
name = "my forum"
staff_earn = true
min_reputation_to_give_kudos = 3

[rewards]
kudos_on_reply = { points = 10, reputation = 2 }
solution_accepted = { points = 50 }

[[caps]]
account = "points"
per = "day"
limit = 100
actions = ["kudos_on_reply"]

[periods]
kind = "quarter"
timezone = "Europe/Dublin"
"""


def test_a_policy_loads_from_toml_text() -> None:
    policy = Policy.from_toml(CUSTOM)
    assert policy.name == "my forum" and policy.staff_earn
    assert policy.reward("kudos_on_reply") == Reward(points=10, reputation=2)
    assert policy.reward("solution_accepted") == Reward(points=50)
    assert policy.reward("topic_posted") == Reward()
    assert policy.caps == (
        Cap(account="points", per="day", limit=100, actions=("kudos_on_reply",)),
    )
    assert policy.caps_for("kudos_on_reply", "points") == list(policy.caps)
    assert policy.caps_for("kudos_on_reply", "reputation") == []
    assert (policy.periods.kind, policy.periods.timezone) == ("quarter", "Europe/Dublin")
    assert policy.periods.start_month == 1


def test_a_policy_loads_from_a_path_or_a_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "forum.toml").write_text(CUSTOM)
    assert Policy.from_toml(tmp_path / "forum.toml").name == "my forum"
    monkeypatch.chdir(tmp_path)
    assert Policy.from_toml("forum.toml").name == "my forum"
    with pytest.raises(InvalidPolicy, match=r"no policy file at 'missing\.toml'"):
        Policy.from_toml("missing.toml")


def test_an_empty_document_is_the_default_policy() -> None:
    assert Policy.from_toml("") == Policy()


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ("stafff_earn = true", "unknown key 'stafff_earn'; policy takes:"),
        ("[rewards.kudos_on_reply]\npionts = 5", "unknown key 'rewards.kudos_on_reply.pionts'"),
        ('[periods]\nknd = "month"', "unknown key 'periods.knd'"),
        ("[[caps]]\nlimit = 5\nper_day = true", "unknown key 'caps[0].per_day'"),
        ("[recognition]\nrank = []", "unknown key 'recognition.rank'"),
        ('staff_earn = "yes"', "staff_earn must be true or false, got 'yes'"),
        ("min_reputation_to_give_kudos = 1.5", "min_reputation_to_give_kudos must be a whole"),
        ("min_reputation_to_down_vote = true", "min_reputation_to_down_vote must be a whole"),
        ("name = 5", "name must be a string"),
        ("rewards = 5", "rewards must be a table"),
        ("[rewards]\nkudos_on_reply = 5", "rewards.kudos_on_reply must be a table"),
        ("[rewards]\nkudos_on_reply = { points = 2.5 }", "rewards.kudos_on_reply.points"),
        ("caps = { limit = 5 }", "caps must be a list"),
        ('[[caps]]\nlimit = "10"', "caps[0].limit must be a whole number"),
        ("[rewards]\nkudos_recieved = { points = 5 }", "unknown action 'kudos_recieved'"),
        ('[[caps]]\nlimit = 5\nactions = ["kudos"]', "caps.actions: unknown action 'kudos'"),
        ('[[caps]]\nlimit = 5\nper = "week"', "caps.per must be one of day, month, post, period"),
        ('[[caps]]\nlimit = 5\naccount = "cash"', "caps.account must be 'points' or"),
        ("[[caps]]\nlimit = -1", "caps.limit must be zero or more"),
        ('[periods]\nkind = "weekly"', "periods.kind must be one of"),
        ('[periods]\ntimezone = "Mars/Olympus"', "is not an IANA time zone"),
        ("[periods]\nstart_month = 13", "periods.start_month must be 1-12"),
        ('[periods]\nkind = "explicit"', "needs at least one entry in ranges"),
        ("name = ", "policy TOML does not parse"),
    ],
)
def test_a_bad_policy_names_the_bad_key(toml: str, says: str) -> None:
    with pytest.raises(InvalidPolicy) as caught:
        Policy.from_toml(toml)
    assert says in str(caught.value)


def test_from_dict_takes_only_a_table() -> None:
    with pytest.raises(InvalidPolicy, match="policy must be a table"):
        Policy.from_dict(["rewards"])  # type: ignore[arg-type]


# --- building in code ------------------------------------------------------------------------


def test_evolve_changes_a_copy() -> None:
    base = policies.giffgaff()
    generous = base.evolve(
        name="generous",
        rewards={**base.rewards, "kudos_on_reply": Reward(points=10, reputation=1)},
    )
    assert generous.reward("kudos_on_reply").points == 10
    assert base.reward("kudos_on_reply").points == 5
    assert generous.caps == base.caps and generous.periods == base.periods
    assert base.evolve() == base and base.evolve() is not base


def test_evolve_checks_what_it_is_given() -> None:
    base = policies.giffgaff()
    with pytest.raises(InvalidPolicy, match="evolve\\(\\): unknown key 'stafff_earn'"):
        base.evolve(stafff_earn=True)
    with pytest.raises(InvalidPolicy, match="unknown action 'bogus'"):
        base.evolve(rewards={"bogus": Reward(points=1)})
    with pytest.raises(InvalidPolicy, match="whole number"):
        base.evolve(min_reputation_to_give_kudos=2.5)


def test_rewards_and_caps_take_whole_numbers() -> None:
    with pytest.raises(InvalidPolicy, match="points must be a whole number"):
        Reward(points=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidPolicy, match="reputation must be a whole number"):
        Reward(reputation=True)
    with pytest.raises(InvalidPolicy, match="limit must be a whole number"):
        Cap(limit=10.0)  # type: ignore[arg-type]
    assert not Reward() and Reward(reputation=-2)


def test_a_cap_without_actions_covers_every_action() -> None:
    cap = Cap(account="points", limit=10)
    assert all(cap.covers(action) for action in ACTIONS)
    assert Cap(limit=1, actions=["kudos_on_reply"]).actions == ("kudos_on_reply",)
    assert not Cap(limit=1, actions=["kudos_on_reply"]).covers("kudos_on_topic")


def test_the_core_actions_come_first_and_are_unique() -> None:
    assert ACTIONS[: len(CORE_ACTIONS)] == CORE_ACTIONS
    assert len(set(ACTIONS)) == len(ACTIONS)


@pytest.mark.parametrize("kind", [Path, str], ids=["Path", "str"])
def test_a_policy_file_that_is_missing_or_unreadable_is_invalid_policy_either_way(
    kind: Any, tmp_path: Path
) -> None:
    with pytest.raises(InvalidPolicy, match=r"no policy file at .*missing\.toml"):
        Policy.from_toml(kind(tmp_path / "missing.toml"))
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(InvalidPolicy, match="no policy file"):
        Policy.from_toml(kind(tmp_path / "folder.toml"))  # a folder, not a file
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(InvalidPolicy, match="cannot read the policy file"):
        Policy.from_toml(kind(latin))
