"""Bad input at the public boundary: the right error, a message that says what to pass
instead, and nothing written."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import kudos
from kudos import (
    Community,
    InvalidInput,
    InvalidPolicy,
    KudosError,
    NotAllowed,
    Policy,
    UnknownMember,
    UnknownPost,
    UnknownRecord,
)
from kudos.cli import main
from kudos.events import EventRefused, MemberJoined, event_from_payload
from kudos.stores.sql import make_metadata
from kudos.testing import FakeClock, assert_unchanged

NAIVE = datetime(2026, 11, 23, 12)


@pytest.fixture
def forum(kudos_community: Community) -> Community:
    """alice asks ``t1``, bob answers ``r1``; mod moderates."""
    c = kudos_community
    for member in ("alice", "bob"):
        c.join(member)
    c.join("mod", role="moderator")
    c.post_topic("t1", author="alice", title="No data abroad")
    c.post_reply("r1", topic="t1", author="bob")
    c.give_kudos("r1", giver="alice")
    return c


Call = Callable[[Community], Any]


def refused(c: Community, call: Call, error: type[KudosError], *says: str) -> str:
    """Run ``call``: it must raise exactly ``error``, saying ``says``, and write nothing."""
    with assert_unchanged(c), pytest.raises(KudosError) as caught:
        call(c)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    for part in says:
        assert part in message, f"{part!r} not in {message!r}"
    return message


# --- ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda c: c.join(123), ("member must be a str id", "got int 123")),
        (lambda c: c.join(None), ("member must be a str id",)),
        (lambda c: c.join(""), ("member must be a non-empty id",)),
        (lambda c: c.join(" carol"), ("without surrounding spaces", "' carol'")),
        (lambda c: c.join("carol\n"), ("without surrounding spaces",)),
        (lambda c: c.post_topic("", author="alice"), ("topic must be a non-empty id",)),
        (lambda c: c.post_topic("t2", author=b"alice"), ("author must be a str id",)),
        (lambda c: c.post_reply("r2 ", topic="t1", author="bob"), ("reply must be",)),
        (lambda c: c.give_kudos("r1", giver=["alice"]), ("giver must be a str id",)),
        (lambda c: c.withdraw_kudos(7, giver="alice"), ("post must be a str id",)),
        (lambda c: c.accept_solution("t1", reply="", by="alice"), ("reply must be",)),
        (lambda c: c.remove_post("r1", by="mod", reason=""), ("reason must be",)),
        (lambda c: c.give_kudos("r1", giver="mod", event_id=""), ("event_id must be",)),
        (lambda c: c.give_kudos("r1", giver="mod", event_id=" v1"), ("event_id must be",)),
        (lambda c: c.join("carol", referred_by=""), ("referred_by must be",)),
        (lambda c: c.post_topic("t2", author="alice", tags=["ok", ""]), ("tags must hold",)),
        (lambda c: c.post_topic("t2", author="alice", tags=[1]), ("tags must hold",)),
        (lambda c: c.post_topic("t2", author="alice", tags=[" roaming"]), ("tags must hold",)),
        (lambda c: c.post_topic("t2", author="alice", title=5), ("title must be text",)),
        (lambda c: c.member(5), ("member must be a str id",)),
        (lambda c: c.member(""), ("member must be",)),
        (lambda c: c.post(" t1"), ("post must be",)),
        (lambda c: c.standing(None), ("member must be",)),
        (lambda c: c.statement(""), ("member must be",)),
    ],
)
def test_malformed_ids_and_text_are_invalid_input(forum: Community, call: Call, says: Any) -> None:
    refused(forum, call, InvalidInput, *says)


def test_a_lone_string_of_tags_is_one_tag(forum: Community) -> None:
    forum.post_topic("t2", author="alice", tags="roaming")
    assert forum.post("t2").tags == ("roaming",)


def test_reporting_a_fact_again_is_harmless(forum: Community) -> None:
    with assert_unchanged(forum):
        assert forum.join("bob").id == "bob"
        assert forum.give_kudos("r1", giver="alice").replayed


# --- unknown members and posts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "says"),
    [
        (lambda c: c.post_topic("t2", author="zoe"), UnknownMember, "community.join('zoe')"),
        (lambda c: c.post_reply("r2", topic="t1", author="zoe"), UnknownMember, "'zoe'"),
        (lambda c: c.post_reply("r2", topic="t9", author="bob"), UnknownPost, "post_topic()"),
        (lambda c: c.give_kudos("r9", giver="alice"), UnknownPost, "'r9'"),
        (lambda c: c.give_kudos("r1", giver="zoe"), UnknownMember, "'zoe'"),
        (lambda c: c.withdraw_kudos("r9", giver="alice"), UnknownPost, "'r9'"),
        (lambda c: c.accept_solution("t9", reply="r1", by="alice"), UnknownPost, "'t9'"),
        (lambda c: c.accept_solution("t1", reply="r9", by="alice"), UnknownPost, "'r9'"),
        (lambda c: c.accept_solution("t1", reply="r1", by="zoe"), UnknownMember, "'zoe'"),
        (lambda c: c.unaccept_solution("t9", by="alice"), UnknownPost, "'t9'"),
        (lambda c: c.remove_post("r9", by="mod"), UnknownPost, "'r9'"),
        (lambda c: c.remove_post("r1", by="zoe"), UnknownMember, "'zoe'"),
        (lambda c: c.adjust("zoe", points=5, reason="x", by="mod"), UnknownMember, "'zoe'"),
        (lambda c: c.adjust("bob", points=5, reason="x", by="zoe"), UnknownMember, "'zoe'"),
        (lambda c: c.member("zoe"), UnknownMember, "join"),
        (lambda c: c.post("t9"), UnknownPost, "post_reply()"),
        (lambda c: c.standing("zoe"), UnknownMember, "join"),
        (lambda c: c.statement("zoe"), UnknownMember, "join"),
    ],
)
def test_unknown_members_and_posts_say_to_report_them_first(
    forum: Community, call: Call, error: type[KudosError], says: str
) -> None:
    refused(forum, call, error, says)


# --- amounts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amounts", "says"),
    [
        ({"points": 1.5}, ("points must be a whole number", "float 1.5", "never floats")),
        ({"reputation": 2.0}, ("reputation must be a whole number",)),
        ({"points": True}, ("points must be a whole number", "bool")),
        ({"points": "10"}, ("points must be a whole number", "str")),
        ({"points": 0, "reputation": 0}, ("non-zero points= or reputation=",)),
        ({}, ("non-zero",)),
    ],
)
def test_adjustments_take_whole_non_zero_amounts(
    forum: Community, amounts: dict[str, Any], says: tuple[str, ...]
) -> None:
    refused(forum, lambda c: c.adjust("bob", reason="x", by="mod", **amounts), InvalidInput, *says)


def test_a_negative_adjustment_is_a_debit(forum: Community) -> None:
    (entry,) = forum.adjust("bob", points=-3, reason="refund", by="mod").entries
    assert (entry.account, entry.amount) == ("points", -3)
    assert forum.standing("bob").lifetime_points == 5 - 3


# --- times -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda c: c.give_kudos("t1", giver="bob", at=NAIVE), ("at must be timezone-aware",)),
        (lambda c: c.join("carol", at=NAIVE), ("timezone-aware", "naive")),
        (lambda c: c.join("carol", at="last tuesday"), ("at must be a datetime (timezone-aware)",)),
        (lambda c: c.join("carol", at=20261123), ("at must be a datetime",)),
        (lambda c: c.statement("bob", since=NAIVE), ("since must be timezone-aware",)),
        (lambda c: c.statement("bob", until="2026-11-23"), ("until must be",)),
    ],
)
def test_times_must_be_timezone_aware(forum: Community, call: Call, says: Any) -> None:
    refused(forum, call, InvalidInput, *says)


def test_an_iso_time_is_refused_with_the_common_message_even_with_an_offset(
    forum: Community,
) -> None:
    for text in ("2026-11-23T09:00:00+01:00", "2026-11-23T09:00"):
        refused(
            forum,
            lambda c, text=text: c.join("carol", at=text),
            InvalidInput,
            "at must be a datetime (timezone-aware), got str",
        )
    forum.join("carol", at=datetime(2026, 11, 23, 8, tzinfo=UTC))
    assert forum.member("carol").joined_at == datetime(2026, 11, 23, 8, tzinfo=UTC)


def test_a_clock_returning_naive_times_is_refused(kudos_store: Any) -> None:
    c = Community(store=kudos_store, clock=lambda: NAIVE)
    refused(c, lambda c: c.join("carol"), InvalidInput, "clock returned a naive datetime")


def test_the_fake_clock_takes_only_aware_times_and_moves_forward() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        FakeClock(NAIVE)
    clock = FakeClock()
    with pytest.raises(InvalidInput, match="timezone-aware"):
        clock.set(NAIVE)
    with pytest.raises(InvalidInput, match="only moves forward"):
        clock.advance(hours=-1)
    assert clock.advance(minutes=90) == datetime(2026, 11, 23, 13, 30, tzinfo=UTC)


# --- choices -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda c: c.post_topic("t2", author="alice", kind="rant"), ("'question'", "'rant'")),
        (lambda c: c.post_topic("t2", author="alice", kind=None), ("kind must be one of",)),
        (lambda c: c.join("carol", role="admin"), ("'member', 'staff', 'moderator'",)),
        (lambda c: c.join("carol", role="Staff"), ("role must be one of",)),
        (lambda c: c.statement("bob", account="money"), ("'points' or 'reputation'",)),
        (lambda c: c.notifications(since=-1), ("since must be a seq",)),
        (lambda c: c.notifications(limit=-1), ("limit must be",)),
        (lambda c: c.ack("1"), ("ack() takes notification seqs",)),
        (lambda c: c.ledger(), ("event_id= or subject=",)),
        (lambda c: c.simulate("stackexchange"), ("simulate() takes a kudos.Policy",)),
        (lambda c: c.record({"type": "kudos-given"}), ("record() takes a kudos event",)),
        (
            lambda c: c.record_many([MemberJoined(member="carol"), "dave"]),
            ("item #1 is str, not an event",),
        ),
    ],
)
def test_unknown_choices_and_wrong_types_are_invalid_input(
    forum: Community, call: Call, says: Any
) -> None:
    refused(forum, call, InvalidInput, *says)


def test_a_period_the_policy_does_not_have_is_an_unknown_record(forum: Community) -> None:
    refused(forum, lambda c: c.statement("bob", period="2026-Q4"), UnknownRecord, "2026-Q4")
    refused(forum, lambda c: c.statement("bob", period="autumn"), UnknownRecord, "'2026-H2'")


def test_a_community_needs_a_policy_and_an_id() -> None:
    with pytest.raises(InvalidInput, match=r"policy must be a kudos\.Policy"):
        Community(policy="giffgaff")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="non-empty id"):
        Community(community=" ")


def test_an_unknown_event_type_in_a_log_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown event type 'kudos-gifted'"):
        event_from_payload("kudos-gifted", "e1", {"post": "r1"})


def test_a_malformed_policy_is_an_invalid_policy() -> None:
    with pytest.raises(InvalidPolicy, match="unknown action 'kudos_recieved'"):
        Policy.from_dict({"rewards": {"kudos_recieved": {"points": 5}}})


# --- the rules, refused with nothing written ---------------------------------------------------


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda c: c.join("bob", event_id="again"), ("already joined",)),
        (lambda c: c.post_topic("t1", author="bob", event_id="again"), ("already reported",)),
        (lambda c: c.post_reply("r2", topic="r1", author="alice"), ("is a reply",)),
        (lambda c: c.give_kudos("r1", giver="bob"), ("their own reply 'r1'",)),
        (lambda c: c.give_kudos("r1", giver="alice", event_id="v2"), ("one kudos per",)),
        (lambda c: c.down_vote("r1", voter="alice"), ("no down-votes",)),
        (lambda c: c.withdraw_down_vote("r1", voter="alice"), ("no down-vote on 'r1'",)),
        (lambda c: c.unaccept_solution("t1", by="alice"), ("no accepted solution",)),
        (lambda c: c.remove_post("r1", by="alice"), ("only staff and moderators",)),
        (lambda c: c.adjust("bob", points=1, reason="x", by="bob"), ("only staff",)),
    ],
)
def test_what_the_rules_forbid_is_not_allowed_and_leaves_nothing(
    forum: Community, call: Call, says: Any
) -> None:
    refused(forum, call, NotAllowed, *says)


# --- every query argument, as the adversarial run passed them --------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.statement("bob", period=202101),
        lambda c: c.payback_period(None),
        lambda c: c.payouts(period=5),
        lambda c: c.referral_figures(period=True),
        lambda c: c.export_payouts(5),
        lambda c: c.referral_code([]),
        lambda c: c.can([], "vote_ideas"),
        lambda c: c.why_not({}, "vote_ideas"),
        lambda c: c.badges(bytearray(b"x")),
        lambda c: c.idea([]),
        lambda c: c.idea_board(tag={}),
        lambda c: c.idea_board(status=5),
        lambda c: c.refer("alice", "bob", fingerprints=5),
        lambda c: c.qualify_referral("bob", fingerprints=5),
        lambda c: c.record_many(None),
        lambda c: c.ledger(event_id=float("nan")),
        lambda c: c.notifications(member=1.5),
        lambda c: c.badges("bob", revoked="yes"),
        lambda c: c.position([], by="reputation"),
        lambda c: c.leaderboard(by=["reputation"]),
        lambda c: c.period_of(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))),
        lambda c: c.expire_referrals(as_of="soon"),
        lambda c: c.payout([]),
        lambda c: c.referral({}),
        lambda c: c.notifications(since=2**70),
    ],
)
def test_a_query_argument_of_the_wrong_type_is_invalid_input(forum: Community, call: Call) -> None:
    refused(forum, call, InvalidInput)


def test_a_community_id_with_surrounding_spaces_is_refused_like_a_member_id() -> None:
    for bad in (" uk", "uk\n", "\tuk"):
        with pytest.raises(InvalidInput, match="without surrounding spaces"):
            Community(community=bad)


@pytest.mark.parametrize("prefix", ["kudos_\n", "kudos\n", "\n"])
def test_a_table_prefix_with_a_trailing_newline_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidInput, match="prefix"):
        make_metadata(prefix=prefix)


@pytest.mark.parametrize("schema", ["kudos\n", "public\n"])
def test_a_schema_with_a_trailing_newline_is_refused(schema: str) -> None:
    with pytest.raises(InvalidInput, match="schema"):
        make_metadata(schema=schema)


# --- kudos import ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"type": ["x"]}\n', 'needs a "type"'),
        (b"[1, 2]\n", "expected a JSON object"),
        (b"not json\n", "not JSON"),
        (b'{"type": "member-joined", "member": "\\ud800"}\n', "lone surrogate"),
        (b'{"type": "member-joined", "member": "a", "at": "0001-01-01T00:00:00+00:00"}\n', "at"),
        (b'{"type": "member-joined", "member": "a", "at": [1]}\n', "at must be"),
        (b'{"type": "member-joined", "member": "a", "tags": 5}\n', "unknown tags"),
        (
            b'{"type": "points-adjusted", "member": "a", "points": 1.5, "reason": "x", "by": "s"}'
            b"\n",
            "whole number",
        ),
        (b'{"type": "member-joined", "member": "a"}\n\xff\xfe\n', "not UTF-8"),
    ],
)
def test_import_reports_a_line_that_is_no_event_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, says: str
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(content)
    status = main(["import", "--url", "memory://", str(source)])
    err = capsys.readouterr().err
    assert status != 0
    assert "Traceback" not in err and "events.jsonl:" in err and says in err, err


@pytest.mark.parametrize("content", [{"a": object()}, 5, {"a": float("nan")}, {1: "x"}])
def test_a_refusal_row_holds_only_json_objects(forum: Community, content: Any) -> None:
    refused(
        forum,
        lambda c: c.record(
            EventRefused(
                refused_id="x",
                refused_type="kudos-given",
                refused_content=content,
                error="NotAllowed",
                message="no",
                event_id="r-x",
            )
        ),
        InvalidInput,
        "must be a JSON object",
    )


# --- one rule for every time the public API takes ------------------------------------------


def _time_parameters() -> list[tuple[str, str]]:
    """Every (method, parameter) of Community typed as taking a ``datetime``."""
    found = []
    for name in sorted(dir(Community)):
        method = getattr(Community, name)
        if name.startswith("_") or not callable(method):
            continue
        hints = typing.get_type_hints(method)
        for param in inspect.signature(method).parameters:
            hint = hints.get(param)
            if hint is not None and datetime in (*typing.get_args(hint), hint):
                found.append((name, param))
    return found


TIME_PARAMETERS = _time_parameters()

# Arguments that pass every other check, so the time is what each call is refused for.
_FILL: dict[str, Any] = {
    "policy": kudos.policies.giffgaff(),
    "points": 5,
    "amount": 5,
    "feeling": "happy",
    "status": "planned",
    "method": "bank",
    "channel": "twitter",
    "handle": "@x",
    "reason": "because",
    "fingerprints": ("f1",),
    "canonical": "r1",
    "start": datetime(2026, 11, 23, 9, tzinfo=UTC),
    "end": datetime(2026, 11, 23, 17, tzinfo=UTC),
    "day": "2026-11-23",
    "period": "2026-H2",
}
_EXTRA: dict[str, dict[str, Any]] = {"presence": {"topic": "t1"}}  # one of topic or product


@pytest.mark.parametrize(("method", "param"), TIME_PARAMETERS, ids=lambda x: str(x))
def test_every_time_parameter_takes_an_aware_datetime_only(
    forum: Community, method: str, param: str
) -> None:
    """Text (with an offset or without) and naive datetimes are refused alike, by the one
    validator, naming the parameter, on every store, writing nothing."""
    call = getattr(forum, method)
    args: list[Any] = []
    kwargs: dict[str, Any] = dict(_EXTRA.get(method, {}))
    for p in inspect.signature(call).parameters.values():
        if p.name == param or p.default is not inspect.Parameter.empty:
            continue
        value = _FILL.get(p.name, "x")
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[p.name] = value
        else:
            args.append(value)
    bad: list[tuple[Any, str]] = [
        ("2026-11-23T09:00", f"{param} must be a datetime (timezone-aware), got str"),
        ("2026-11-23T09:00:00+00:00", f"{param} must be a datetime (timezone-aware), got str"),
        (datetime(2026, 11, 23, 9), f"{param} must be timezone-aware, got naive"),
    ]
    for value, says in bad:
        refused(
            forum,
            lambda c, value=value: call(*args, **{**kwargs, param: value}),
            InvalidInput,
            says,
        )


def test_the_time_parameters_are_the_ones_the_docs_list() -> None:
    """A new public method taking a time is covered by the test above: this list is what it
    found (so a method whose time is typed otherwise would show up as missing here)."""
    names = {m for m, _ in TIME_PARAMETERS}
    assert {"join", "give_kudos", "statement", "report_shift", "change_policy", "presence"} <= names
    assert ("report_shift", "start") in TIME_PARAMETERS
    assert ("statement", "since") in TIME_PARAMETERS
    assert ("expire_referrals", "as_of") in TIME_PARAMETERS
    assert len(TIME_PARAMETERS) >= 50
