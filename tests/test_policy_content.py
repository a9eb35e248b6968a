"""A policy as content: its one plain-data form, JSON, TOML, fingerprint and differences.

``Policy.to_dict()`` is what a store records, what the fingerprint is made of
and what ``to_toml`` writes; it reads back (``from_dict``, ``from_toml``) to an
equal policy whatever the settings, explicit payback periods included.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kudos
from kudos import Community, MemoryStore, Policy
from kudos.history.rules import fingerprint, from_content, to_json
from kudos.periods import PeriodRange, Periods
from kudos.policy import ACTIONS, Cap, Reward
from kudos.stores.sql import SqlStore
from kudos.testing import FakeClock

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
SPRING = Periods(
    kind="explicit",
    ranges=(
        PeriodRange(
            id="spring",
            start=datetime(2026, 3, 1, tzinfo=UTC),
            end=datetime(2026, 6, 1, tzinfo=UTC),
        ),
        PeriodRange(
            id="summer",
            start=datetime(2026, 6, 1, tzinfo=UTC),
            end=datetime(2026, 9, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        ),
    ),
)


def explicit(base: Policy | None = None) -> Policy:
    """giffgaff (or ``base``) paid out over two named periods."""
    return (base or kudos.policies.giffgaff()).evolve(name="seasons", periods=SPRING)


# --- strategies ----------------------------------------------------------------------

_names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
_zones = st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Kolkata"])


@st.composite
def _periods(draw: st.DrawFn) -> Periods:
    kind = draw(st.sampled_from(["half-year", "quarter", "month", "explicit"]))
    if kind != "explicit":
        return Periods(kind=kind, start_month=draw(st.integers(1, 12)), timezone=draw(_zones))
    start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 10**6)))
    ranges = []
    for i in range(draw(st.integers(1, 4))):
        end = start + timedelta(minutes=draw(st.integers(1, 10**6)))
        offset = timezone(timedelta(minutes=15 * draw(st.integers(-48, 56))))
        ranges.append(
            PeriodRange(id=f"p{i}", start=start.astimezone(offset), end=end.astimezone(offset))
        )
        start = end + timedelta(minutes=draw(st.integers(0, 1000)))
    return Periods(kind="explicit", ranges=draw(st.permutations(ranges)), timezone=draw(_zones))


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """A preset (or the defaults) evolved with random settings."""
    base = draw(st.sampled_from([kudos.policies.giffgaff, kudos.policies.stackexchange, Policy]))()
    actions = st.lists(st.sampled_from(ACTIONS), max_size=5)
    rewards = dict(base.rewards)
    for action in draw(actions):
        rewards[action] = Reward(
            points=draw(st.integers(-1000, 1000)), reputation=draw(st.integers(-100, 100))
        )
    caps = [
        Cap(
            account=draw(st.sampled_from(["points", "reputation"])),
            per=draw(st.sampled_from(["day", "month", "post", "period", "ever"])),
            limit=draw(st.integers(0, 5000)),
            actions=draw(actions),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    support = attrs.evolve(
        base.support,
        feelings=draw(st.permutations(base.support.feelings)),
        solvable=draw(st.permutations(base.support.solvable)),
    )
    channels = attrs.evolve(base.channels, allowed=draw(st.permutations(base.channels.allowed)))
    return base.evolve(
        name=draw(_names),
        rewards=rewards,
        caps=(*base.caps, *caps),
        staff_earn=draw(st.booleans()),
        min_reputation_to_give_kudos=draw(st.integers(0, 100)),
        periods=draw(_periods()),
        support=support,
        channels=channels,
        texts=draw(
            st.dictionaries(
                st.sampled_from(["kudos_on_reply", "payout", "solution_accepted"]),
                st.sampled_from(["{actor} liked {the_post}", "paid: {reason}", "well done"]),
                max_size=2,
            )
        ),
    )


# --- 1. one canonical plain-data form ---------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(policies())
def test_a_policy_reads_back_equal_from_its_plain_data_json_and_stored_content(p: Policy) -> None:
    data = p.to_dict()
    assert json.loads(json.dumps(data)) == data  # JSON types only
    again = Policy.from_dict(data)
    assert again == p
    assert again.to_dict() == data
    assert fingerprint(again) == fingerprint(p)
    assert json.loads(to_json(p)) == data
    assert from_content(to_json(p)) == p
    assert Policy.from_toml(p.to_toml()) == p


def test_a_period_range_bound_is_iso_text_with_its_offset() -> None:
    data = explicit().to_dict()["periods"]
    assert data["ranges"][1] == {
        "id": "summer",
        "start": "2026-06-01T00:00:00+00:00",
        "end": "2026-09-01T01:00:00+01:00",
    }


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryStore | SqlStore:
    if request.param == "memory":
        return MemoryStore()
    return SqlStore.from_url(f"sqlite:///{tmp_path / 'k.db'}")


def test_a_community_with_explicit_periods_records_writes_and_changes_its_policy(
    store: MemoryStore | SqlStore,
) -> None:
    clock = FakeClock(T0)
    c = Community(store=store, policy=explicit(), clock=clock)
    c.join("alice")  # the first write records the policy
    c.join("staff1", role="staff")  # only staff change the policy
    assert c.current_period() == "spring"
    again = Community(store=store, clock=clock)
    assert again.policy == explicit()
    later = explicit(kudos.policies.stackexchange())
    c.change_policy(later, effective=T0 + timedelta(days=1), by="staff1", reason="seasons")
    assert [v.version for v in c.policy_history()] == [1, 2]
    clock.advance(timedelta(days=2))  # in force from its effective time
    assert Community(store=store, clock=clock).policy == later


def test_explicit_periods_load_from_toml_and_are_recorded() -> None:
    p = Policy.from_toml(
        """
        name = "seasons"
        [periods]
        kind = "explicit"
        [[periods.ranges]]
        id = "spring"
        start = "2026-03-01T00:00:00+00:00"
        end = "2026-06-01T00:00:00+00:00"
        """
    )
    c = Community(store=MemoryStore(), policy=p, clock=FakeClock(T0))
    c.join("alice")
    assert Policy.from_dict(json.loads(c.policy_history()[0].content)) == p


# --- 3. lists that are sets compare as sets ------------------------------------------------

LEGACY = json.loads(
    (Path(__file__).parent / "fixtures/policies/stored-before-canonical-lists.json").read_text(
        encoding="utf-8"
    )
)
"""The presets as the kudos before sorted sets recorded them (content and fingerprint)."""


def _reordered(p: Policy) -> Policy:
    """``p`` with every list that is a set written backwards (and an item repeated)."""
    back = lambda items: (*reversed(items), *items[:1])  # noqa: E731
    ideas = p.ideas
    return p.evolve(
        caps=[attrs.evolve(c, actions=back(c.actions)) for c in p.caps],
        support=attrs.evolve(
            p.support,
            solvable=back(p.support.solvable),
            votable=back(p.support.votable),
            praisable=back(p.support.praisable),
            feelings=back(p.support.feelings),
            stop_words=back(p.support.stop_words),
        ),
        channels=attrs.evolve(p.channels, allowed=back(p.channels.allowed)),
        leaderboards=attrs.evolve(
            p.leaderboards, window_metrics=back(p.leaderboards.window_metrics)
        ),
        ideas=attrs.evolve(
            ideas,
            closed=back(ideas.closed),
            transitions={k: back(v) for k, v in ideas.transitions.items()},
        ),
        payback=attrs.evolve(p.payback, charities=("Shelter", "Oxfam", "Shelter")),
        recognition=attrs.evolve(
            p.recognition,
            role_privileges={k: back(v) for k, v in p.recognition.role_privileges.items()},
        ),
        periods=Periods(kind="explicit", ranges=tuple(reversed(SPRING.ranges))),
    )


@pytest.mark.parametrize("preset", [kudos.policies.giffgaff, kudos.policies.stackexchange])
def test_lists_that_are_sets_compare_as_sets(preset: type[Policy]) -> None:
    p = preset()
    again = _reordered(p)
    assert again == p.evolve(
        payback=attrs.evolve(p.payback, charities=["Oxfam", "Shelter"]), periods=SPRING
    )
    mine = p.evolve(payback=attrs.evolve(p.payback, charities=["Oxfam", "Shelter"]), periods=SPRING)
    assert fingerprint(again) == fingerprint(mine)
    c = Community(store=MemoryStore(), policy=mine, clock=FakeClock(T0))
    c.join("alice")
    Community(store=c.store, policy=again, clock=FakeClock(T0)).join("bob")  # no mismatch


def test_lists_whose_order_means_something_keep_it() -> None:
    p = kudos.policies.giffgaff()
    ladder = p.recognition.ranks
    assert Policy.from_dict(p.to_dict()).recognition.ranks == ladder
    assert p.evolve(recognition=attrs.evolve(p.recognition, ranks=ladder[::-1])) != p


@pytest.mark.parametrize("name", ["giffgaff", "stackexchange"])
def test_a_store_written_before_lists_were_sorted_opens_with_its_policy(
    store: MemoryStore | SqlStore, name: str
) -> None:
    from kudos.model import PolicyVersion

    preset = getattr(kudos.policies, name)()
    with store.transaction("default") as tx:
        tx.add_policy(PolicyVersion(version=1, **LEGACY[name]))
    clock = FakeClock(T0)
    c = Community(store=store, policy=preset, clock=clock)  # no PolicyMismatch
    c.join("alice")
    c.join("staff1", role="staff")  # only staff change the policy
    assert Community(store=store, clock=clock).policy == preset
    c.change_policy(
        preset.evolve(name="later"), effective=T0 + timedelta(days=1), by="staff1", reason="x"
    )
    c.rebuild()  # the replay records the stored versions as they are
    assert [v.fingerprint for v in c.policy_history()][:1] == [LEGACY[name]["fingerprint"]]
    with pytest.raises(kudos.PolicyMismatch, match="staff_earn"):
        Community(store=store, policy=preset.evolve(name="later", staff_earn=True), clock=clock)


# --- 4. every text of a policy passes kudos's text rule ---------------------------------------


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"name": "a\ud800b"}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"texts": {"kudos_on_reply": "thanks\x00 {actor}"}}, "texts.kudos_on_reply"),
        ({"texts": {"payout": "paid \ud800 {reason}"}}, "texts.payout"),
        ({"name": "x" * 10_001}, "name"),
    ],
)
def test_bad_text_in_a_policy_is_invalid_policy_naming_the_key(
    changes: dict[str, object], key: str
) -> None:
    with pytest.raises(kudos.InvalidPolicy, match="^" + re.escape(key) + " must"):
        kudos.policies.giffgaff().evolve(**changes)


def test_bad_text_deep_in_a_policy_or_its_toml_names_its_path() -> None:
    p = kudos.policies.giffgaff()
    rank = attrs.evolve(p.recognition.ranks[0], description="top\x00")
    with pytest.raises(kudos.InvalidPolicy, match=r"^recognition\.ranks\[0\]\.description must"):
        p.evolve(recognition=attrs.evolve(p.recognition, ranks=(rank, *p.recognition.ranks[1:])))
    with pytest.raises(kudos.InvalidPolicy, match=r"^payback\.charities\[0\] must"):
        Policy.from_toml('[payback]\ncharities = ["Ox\\u0000fam"]\n')
    with pytest.raises(
        kudos.InvalidPolicy, match=r"^ideas\.budget_by_rank: a key must not hold a control"
    ):
        Policy.from_toml('[ideas]\nbudget_by_rank = { "Gu\\u0000ru" = 3 }\n')


def test_a_policy_with_bad_text_never_reaches_a_store(store: MemoryStore | SqlStore) -> None:
    c = Community(store=store, policy=kudos.policies.giffgaff(), clock=FakeClock(T0))
    c.join("alice")
    with pytest.raises(kudos.InvalidPolicy):
        c.change_policy(c.policy.evolve(name="new\ud800"), by="staff1", reason="x")
    assert len(c.policy_history()) == 1


# --- 5. what differs, said once per setting ---------------------------------------------------


def test_differences_of_reworded_texts_name_only_the_templates() -> None:
    from kudos.history.rules import differences

    base = kudos.policies.giffgaff()
    stored = base.evolve(texts={"kudos_on_reply": "{actor} liked {the_post}"})
    assert differences(stored, base) == [
        'texts.kudos_on_reply: "{actor} liked {the_post}" in the store, absent given'
    ]


def test_a_table_one_side_lacks_is_one_difference() -> None:
    from kudos.history.rules import differences
    from kudos.payback.rules import PaybackRules, PayoutMethod

    credit = Policy(payback=PaybackRules(methods={"credit": PayoutMethod()}))
    both = Policy(
        payback=PaybackRules(methods={"credit": PayoutMethod(), "cash": PayoutMethod(minimum=1000)})
    )
    assert differences(credit, both) == [
        "payback.methods.cash: absent in the store, "
        '{"minimum": 1000, "uplift_percent": 0, "match_percent": 0, "fallback": null} given'
    ]


def test_a_mismatch_lists_at_most_ten_settings_then_how_many_more() -> None:
    c = Community(store=MemoryStore(), policy=kudos.policies.giffgaff(), clock=FakeClock(T0))
    c.join("alice")
    with pytest.raises(kudos.PolicyMismatch) as refused:
        Community(store=c.store, policy=kudos.policies.stackexchange(), clock=FakeClock(T0))
    message = str(refused.value)
    assert message.count(" in the store, ") == 10
    assert re.search(r"\.\.\. and \d+ more settings", message)


# --- 2. writing a policy file -------------------------------------------------------------------


def test_to_toml_writes_a_whole_policy_with_quoted_keys_and_unset_settings() -> None:
    from kudos.ideas.rules import IdeaRules

    p = explicit().evolve(
        name='say "hi"\t\x7f\u00e9',
        reputation_floor=None,
        ideas=IdeaRules(budget_by_rank={"Bronze Star": 4}),
        texts={"payout": "paid:\n{reason}"},
    )
    text = p.to_toml()
    assert '"Bronze Star" = 4' in text and 'reputation_floor = ""' in text
    assert Policy.from_toml(text) == p


def test_a_toml_file_is_a_whole_policy_settings_left_out_take_the_library_defaults() -> None:
    p = Policy.from_toml('name = "mine"\n[rewards]\nkudos_on_reply = { points = 10 }\n')
    assert p.periods == Policy().periods != kudos.policies.giffgaff().periods
    assert p.recognition == Policy().recognition
