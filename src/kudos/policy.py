"""Policy: what each action is worth, as data.

A :class:`Policy` is a tree of frozen attrs classes: the rewards per action,
caps, who may do what, and one section per capability (recognition, referrals,
ideas, payback, leaderboards). It holds no code and does no I/O, so the same
policy gives the same awards for the same facts, in a host, in a test or in
:meth:`kudos.Community.simulate`.

Load one from TOML with :meth:`Policy.from_toml`; every key is checked and a
bad one raises :class:`kudos.InvalidPolicy` naming its path::

    name = "my forum"
    staff_earn = false

    [rewards]
    kudos_on_reply = { points = 10, reputation = 10 }
    solution_accepted = { points = 50, reputation = 15 }

    [[caps]]
    account = "reputation"
    per = "day"
    limit = 200
    actions = ["kudos_on_reply", "kudos_on_topic"]

Actions (keys of ``rewards``), and who earns them:

==========================  ==================================================
``topic_posted``            the author of a new topic
``reply_posted``            the author of a new reply
``kudos_on_reply``          the author of a reply that got kudos
``kudos_on_topic``          the author of a topic that got kudos
``kudos_given``             the member who gave kudos
``down_vote_on_reply``      the author of a down-voted reply (negative)
``down_vote_on_topic``      the author of a down-voted topic (negative)
``down_vote_cast``          the member who down-voted a reply (negative)
``solution_accepted``       the author of the reply accepted as a solution
``solution_accepter``       the asker who accepted someone else's reply
``removed_as_spam``         the author of a post removed as spam (negative)
``edit_approved``           the member whose suggested edit was approved
``association_bonus``       a member with standing elsewhere on the host's network
==========================  ==================================================

Bounties move reputation between members at the amount the host reports
(the offerer pays it at once; the awarded reply's author receives it), so
they have no entry in ``rewards``.

``canonical_reused``        the author of a canonical answer reused to answer
                            a conversation (``answer_with``)
==========================  ==================================================

==========================  ==================================================
``referral_qualified``      the referrer, when their referral qualifies
``referral_welcome``        the new member, when their referral qualifies
``idea_vote_received``      the author of an idea that got a vote
``idea_milestone``          the author of an idea reaching its vote milestone
``idea_planned``            the author of an idea set to ``planned``
``idea_implemented``        the author of an idea set to ``implemented``
``praise_received``         the member a praise topic names
``deflection_solution``     the author of the accepted solution of a topic that
                            answered a member before they posted
==========================  ==================================================
"""

from __future__ import annotations

import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs

from ._validate import MAX_AMOUNT, MAX_TEXT_LENGTH, check_text, sorted_set
from .abuse import rules as abuse
from .abuse.rules import AbuseRules
from .channels import rules as channels
from .channels.rules import ChannelRules
from .errors import InvalidInput, InvalidPolicy
from .explain.texts import DEFAULT_TEXTS, check_texts
from .health import rules as health
from .health.rules import HealthRules
from .ideas import rules as ideas
from .ideas.rules import IdeaRules
from .leaderboards import rules as leaderboards
from .leaderboards.rules import LeaderboardRules
from .payback import rules as payback
from .payback.rules import PaybackRules
from .periods import Periods
from .recognition import rules as recognition
from .recognition.rules import Recognition
from .referrals import rules as referrals
from .referrals.rules import ReferralRules
from .support import rules as support
from .support.rules import SupportRules

if typing.TYPE_CHECKING:
    from .explain.table import PolicyTable

__all__ = ["ACTIONS", "CORE_ACTIONS", "Cap", "EarlierReward", "Policy", "Reward"]

CORE_ACTIONS = (
    "topic_posted",
    "reply_posted",
    "kudos_on_reply",
    "kudos_on_topic",
    "kudos_given",
    "down_vote_on_reply",
    "down_vote_on_topic",
    "down_vote_cast",
    "solution_accepted",
    "solution_accepter",
    "removed_as_spam",
    "edit_approved",
    "association_bonus",
)
ACTIONS: tuple[str, ...] = (
    CORE_ACTIONS
    + recognition.ACTIONS
    + referrals.ACTIONS
    + ideas.ACTIONS
    + payback.ACTIONS
    + leaderboards.ACTIONS
    + abuse.ACTIONS
    + support.ACTIONS
    + channels.ACTIONS
    + health.ACTIONS
)
"""Every action a policy may reward: the forum's own, then each capability's."""

T = TypeVar("T")
CAP_SPANS = ("day", "month", "post", "period", "ever")


def _int(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPolicy(f"{attr.name} must be a whole number, got {value!r}")
    if abs(value) > MAX_AMOUNT:
        raise InvalidPolicy(
            f"{attr.name} must be between -{MAX_AMOUNT} and {MAX_AMOUNT} (kudos's bound on "
            f"one amount), got {value}"
        )


def _strings(value: typing.Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise InvalidPolicy(f"caps.actions must be a list of actions, got {value!r}")
    return sorted_set(value)


def _caps(value: typing.Iterable[Cap]) -> tuple[Cap, ...]:
    return tuple(value)


def _iso_day(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    try:
        ok = isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    except ValueError:
        ok = False
    if not ok:
        raise InvalidPolicy(f"{attr.name} must be a day as 'YYYY-MM-DD', got {value!r}")


@attrs.frozen(kw_only=True)
class EarlierReward:
    """What an action was worth before the day ``until`` (``YYYY-MM-DD``, exclusive).

    A dated rule: facts of days before ``until`` are valued at ``points`` and
    ``reputation``, later ones by the next rule or the reward's own values.
    """

    until: str = attrs.field(validator=_iso_day)
    points: int = attrs.field(default=0, validator=_int)
    reputation: int = attrs.field(default=0, validator=_int)


def _earlier(value: typing.Iterable[EarlierReward]) -> tuple[EarlierReward, ...]:
    return tuple(sorted(value, key=lambda r: r.until))


@attrs.frozen(kw_only=True)
class Reward:
    """Points and reputation for one action (either may be negative).

    ``was`` lists earlier values with the day each stopped applying, so one
    policy values every fact by the rule in force on its day (replaying a
    history recorded before a rule changed)::

        Reward(reputation=10, was=[EarlierReward(until="2019-11-13", reputation=5)])

    >>> r = Reward(reputation=10, was=[EarlierReward(until="2019-11-13", reputation=5)])
    >>> r.on("2018-09-01").reputation, r.on("2019-11-13").reputation
    (5, 10)
    """

    points: int = attrs.field(default=0, validator=_int)
    reputation: int = attrs.field(default=0, validator=_int)
    was: tuple[EarlierReward, ...] = attrs.field(default=(), converter=_earlier)

    def __bool__(self) -> bool:
        return bool(self.points or self.reputation or self.was)

    def on(self, day: str) -> Reward:
        """The values in force on ``day`` (``YYYY-MM-DD``), without the history."""
        for earlier in self.was:
            if day < earlier.until:
                return Reward(points=earlier.points, reputation=earlier.reputation)
        return self if not self.was else Reward(points=self.points, reputation=self.reputation)


@attrs.frozen(kw_only=True)
class Cap:
    """A ceiling on what ``actions`` may earn in one account.

    ``per = "day"`` caps what a member earns per day and ``"month"`` per
    calendar month (both in the periods' time zone); ``"post"`` caps what
    one post earns its author; ``"period"`` caps
    a payback period and ``"ever"`` a member's lifetime (Stack Exchange's
    1,000 from suggested edits). ``actions`` empty means every action. Reversals give
    back room under the cap, and never take back more than was given.

    A cap is *net*: a covered action that debits (a down-vote received)
    counts against it too, and what the cap held back is topped up when
    room opens later in the same span, so the total does not depend on the
    order facts arrive in (see the policies guide).
    """

    account: str = attrs.field(default="reputation")
    per: str = attrs.field(default="day")
    limit: int = attrs.field(validator=_int)
    actions: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    @account.validator
    def _check_account(self, attr: attrs.Attribute[str], value: str) -> None:
        if value not in ("points", "reputation"):
            raise InvalidPolicy(f"caps.account must be 'points' or 'reputation', got {value!r}")

    @per.validator
    def _check_per(self, attr: attrs.Attribute[str], value: str) -> None:
        if value not in CAP_SPANS:
            raise InvalidPolicy(f"caps.per must be one of {', '.join(CAP_SPANS)}, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.limit < 0:
            raise InvalidPolicy(f"caps.limit must be zero or more, got {self.limit}")
        _check_actions(self.actions, "caps.actions")

    def covers(self, action: str) -> bool:
        """Whether awards for ``action`` count towards this cap."""
        return not self.actions or action in self.actions


def _check_actions(names: typing.Iterable[str], where: str) -> None:
    for name in names:
        if name not in ACTIONS:
            raise InvalidPolicy(
                f"{where}: unknown action {name!r}; known actions: {', '.join(ACTIONS)}"
            )


def _texts(value: Mapping[str, str]) -> dict[str, str]:
    out = check_texts(value)
    unknown = sorted(set(out) - set(DEFAULT_TEXTS))
    if unknown:
        raise InvalidPolicy(
            f"texts: unknown key {unknown[0]!r}; a template is named after an action or "
            f"the fact that booked the line: {', '.join(DEFAULT_TEXTS)}"
        )
    return out


def _rewards(value: Mapping[str, Any]) -> dict[str, Reward]:
    out: dict[str, Reward] = {}
    for action, reward in dict(value).items():
        out[action] = (
            reward
            if isinstance(reward, Reward)
            else _structure(Reward, reward, f"rewards.{action}")
        )
    _check_actions(out, "rewards")
    return out


@attrs.frozen(kw_only=True)
class Policy:
    """Everything a community's rules say, as data.

    Attributes:
        name: a label shown in reports.
        rewards: action -> :class:`Reward` (see the module docs for the actions).
        caps: ceilings on earnings (:class:`Cap`).
        staff_earn: whether staff and moderators earn points and reputation.
        down_votes: whether members may down-vote (Stack Exchange yes, giffgaff no).
        min_reputation_to_give_kudos: reputation needed to give kudos.
        min_reputation_to_down_vote: reputation needed to down-vote.
        self_accept_rewards: whether accepting your own reply earns anything.
        reputation_start: reputation every member starts with (a ledger line
            when they join; Stack Exchange: 1).
        reputation_floor: the lowest a member's reputation goes, or ``None``
            for no floor (Stack Exchange: 1). A debit that would cross it is
            booked only down to the floor; what the floor absorbed is never
            given back by reversing that debit (it was never taken), and a
            reversal that would cross it is followed by a ``reputation_floor``
            line lifting the member back to it.
        periods: how time is cut into payback periods.
        recognition: ranks, badges and privileges.
        referrals: the referral programme.
        ideas: the ideas board.
        payback: converting period points into money.
        leaderboards: leaderboard and read-cache settings.
        abuse: serial-vote detection (:class:`kudos.abuse.AbuseRules`).
        support: what topic kinds mean and the feelings
            (:class:`kudos.support.SupportRules`).
        texts: templates for the words of statement lines, by key, over
            :data:`kudos.explain.texts.DEFAULT_TEXTS` (a template naming an
            unknown ``{placeholder}``, or an unknown key, is
            :class:`~kudos.InvalidPolicy`).
        channels: the channels facts may come through (:class:`kudos.channels.ChannelRules`).
        health: the response target (:class:`kudos.health.HealthRules`).

    >>> Policy(rewards={"kudos_on_reply": Reward(points=5)}).reward("kudos_on_reply")
    Reward(points=5, reputation=0, was=())
    """

    name: str = "custom"
    rewards: Mapping[str, Reward] = attrs.field(factory=dict, converter=_rewards)
    caps: tuple[Cap, ...] = attrs.field(default=(), converter=_caps)
    staff_earn: bool = False
    down_votes: bool = False
    min_reputation_to_give_kudos: int = attrs.field(default=0, validator=_int)
    min_reputation_to_down_vote: int = attrs.field(default=0, validator=_int)
    self_accept_rewards: bool = False
    reputation_start: int = attrs.field(default=0, validator=_int)
    reputation_floor: int | None = None
    periods: Periods = attrs.field(factory=Periods)
    recognition: Recognition = attrs.field(factory=Recognition)
    referrals: ReferralRules = attrs.field(factory=ReferralRules)
    ideas: IdeaRules = attrs.field(factory=IdeaRules)
    payback: PaybackRules = attrs.field(factory=PaybackRules)
    leaderboards: LeaderboardRules = attrs.field(factory=LeaderboardRules)
    abuse: AbuseRules = attrs.field(factory=AbuseRules)
    support: SupportRules = attrs.field(factory=SupportRules)
    texts: Mapping[str, str] = attrs.field(factory=dict, converter=_texts)
    channels: ChannelRules = attrs.field(factory=ChannelRules)
    health: HealthRules = attrs.field(factory=HealthRules)

    def __attrs_post_init__(self) -> None:
        data = self.to_dict()
        text = json.dumps(data, ensure_ascii=False)  # NUL escaped as \\u0000, surrogates kept
        if len(text) > MAX_TEXT_LENGTH or "\\u0000" in text or _SURROGATE.search(text):
            _check_texts(data, "")
        floor = self.reputation_floor
        if floor is not None and (isinstance(floor, bool) or not isinstance(floor, int)):
            raise InvalidPolicy(f"reputation_floor must be a whole number, got {floor!r}")
        if floor is not None and self.reputation_start < floor:
            raise InvalidPolicy(
                f"reputation_start ({self.reputation_start}) is below reputation_floor ({floor}); "
                "members must start at or above the floor"
            )

    def reward(self, action: str, day: str | None = None) -> Reward:
        """What ``action`` earns (nothing when the policy does not reward it).

        With ``day`` (``YYYY-MM-DD``), the value in force that day (see
        :attr:`Reward.was`); without, today's rule.
        """
        found = self.rewards.get(action, _NOTHING)
        return found.on(day) if day is not None and found.was else found

    def describe(self) -> PolicyTable:
        """The whole policy as a published table (:class:`kudos.explain.table.PolicyTable`).

        Rewards, dated rules, caps, members and reputation (start, floor,
        thresholds), ranks with their thresholds, badges, privileges,
        referral and idea rules, payback conversion (rate, minimum,
        roll-over), periods and payout methods, leaderboards and abuse, and the
        policy's own statement words (its ``texts``), each a titled section of
        rows; ``.text()``, ``.markdown()`` and ``.html()`` render it.

        >>> Policy(rewards={"kudos_on_reply": Reward(points=5)}).describe().section("Rewards").rows
        (('kudos_on_reply', '+5', '+0'),)
        """
        from .explain.table import describe

        return describe(self)

    def text(self, key: str) -> str:
        """The template for ``key``: this policy's, else the default (:mod:`kudos.explain.texts`).

        Raises:
            InvalidPolicy: no template has that key.
        """
        found = self.texts.get(key) or DEFAULT_TEXTS.get(key)
        if found is None:
            raise InvalidPolicy(f"no text template {key!r}; known: {', '.join(DEFAULT_TEXTS)}")
        return found

    def caps_for(self, action: str, account: str) -> list[Cap]:
        """The caps that apply to ``action`` in ``account``."""
        return [c for c in self.caps if c.account == account and c.covers(action)]

    def evolve(self, **changes: Any) -> Policy:
        """A copy with ``changes`` applied (``attrs.evolve``), e.g. to preview a change.

        ``texts`` is the exception: the templates given **overlay** this
        policy's (keys given override, the others are kept), so a preset keeps
        its own words for every line you do not reword; a key given as
        ``None`` goes back to the default template. To replace the whole
        table, build ``Policy(...)`` or use ``attrs.evolve`` yourself.

        >>> Policy().evolve(staff_earn=True).staff_earn
        True
        >>> import kudos
        >>> se = kudos.policies.stackexchange()
        >>> mine = se.evolve(texts={"payout": "paid: {reason}"})
        >>> mine.text("payout"), mine.text("kudos_on_reply") == se.text("kudos_on_reply")
        ('paid: {reason}', True)

        Raises:
            InvalidPolicy: a change names no field of Policy, or has a bad value.
        """
        fields = {f.name for f in attrs.fields(Policy)}
        unknown = sorted(set(changes) - fields)
        if unknown:
            raise InvalidPolicy(
                f"evolve(): unknown key {unknown[0]!r}; policy takes: {', '.join(sorted(fields))}"
            )
        if "texts" in changes:
            given = changes["texts"]
            if not isinstance(given, Mapping):
                raise InvalidPolicy(f"texts must be a table of templates, got {given!r}")
            merged = {**self.texts, **given}
            changes["texts"] = {k: v for k, v in merged.items() if v is not None}
        return attrs.evolve(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain data: the policy's one canonical form.

        Tables are ``dict`` s (keys ``str``), lists are ``list`` s, and a leaf is
        a ``str``, ``int``, ``bool`` or ``None``; a date-time (a period range's
        bounds) is ISO 8601 text with its UTC offset. So it is JSON as it is,
        and TOML once ``None`` is written as ``""`` (:meth:`to_toml`).
        :meth:`from_dict` reads it back to an equal policy; what a store
        records (:func:`kudos.history.to_json`) and the fingerprint are made
        from it. Every setting is there, defaults included.

        >>> p = Policy(rewards={"kudos_on_reply": Reward(points=5)})
        >>> p.to_dict()["rewards"]
        {'kudos_on_reply': {'points': 5, 'reputation': 0, 'was': []}}
        >>> Policy.from_dict(p.to_dict()) == p
        True
        """
        data: dict[str, Any] = _plain(self)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from plain data (what TOML or JSON gives, or :meth:`to_dict`).

        A setting the data leaves out takes the library's default (the
        ``Policy()`` value), not a preset's.

        Raises:
            InvalidPolicy: a key is unknown or a value has the wrong type.
        """
        return _structure(cls, data, "")

    def to_toml(self) -> str:
        """The whole policy as TOML text, every setting written out (:meth:`to_dict`).

        :meth:`from_toml` reads it back to an equal policy, so it is where to
        start writing your own: ``kudos policy show giffgaff --toml > mine.toml``
        prints a preset this way. A setting that is unset (``None``, e.g.
        ``reputation_floor``) is written ``""``: TOML has no null.

        >>> p = Policy(name="mine", rewards={"kudos_on_reply": Reward(points=5)})
        >>> Policy.from_toml(p.to_toml()) == p
        True
        """
        from ._toml import dumps

        return dumps(self.to_dict())

    @classmethod
    def from_toml(cls, source: str | Path) -> Policy:
        """Load a policy from a TOML file path or TOML text.

        A ``str`` is a path when it is one line ending in ``.toml``; a
        :class:`~pathlib.Path` always is.

        The TOML is the **whole** policy: a setting it leaves out takes the
        library's default (the ``Policy()`` value, e.g. no rewards, no caps,
        half-year periods from January), *not* a preset's. To change a few
        settings of a preset, start from the preset written out in full
        (:meth:`to_toml`, or ``kudos policy show giffgaff --toml > mine.toml``)
        and edit that, or evolve it in code (``kudos.policies.giffgaff().evolve(...)``).

        Raises:
            InvalidPolicy: no such file (or it cannot be read as UTF-8), the TOML
                does not parse, or a key is unknown or wrong.
        """
        text = source if isinstance(source, str) else ""
        where = "policy TOML"
        if isinstance(source, Path) or ("\n" not in source and source.endswith(".toml")):
            path = Path(source)
            if not path.is_file():
                raise InvalidPolicy(f"no policy file at {str(source)!r}")
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidPolicy(f"cannot read the policy file {str(source)!r}: {exc}") from None
            where = f"policy file {str(source)!r}"
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidPolicy(f"{where} does not parse: {exc}") from None
        return cls.from_dict(data)


_NOTHING = Reward()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_texts(value: Any, path: str) -> None:
    """Every text of a policy's plain data (names, keys, templates) passes kudos's text rule.

    A store keeps the policy as UTF-8 JSON: a lone surrogate cannot be
    written, and a ``NUL`` is refused in every other text kudos takes.
    """
    if isinstance(value, str):
        try:
            check_text(path or "policy", value)
        except InvalidInput as exc:
            raise InvalidPolicy(str(exc)) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_texts(key, f"{path or 'policy'}: a key")  # named by its table, not by itself
            _check_texts(item, _join(path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_texts(item, f"{path}[{i}]")


def _plain(value: Any) -> Any:
    """``value`` (a policy or a part of one) as the plain data :meth:`Policy.to_dict` gives."""
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, tuple | list) and all(type(v) is str for v in value):
        return list(value)
    if attrs.has(type(value)):
        return {f.name: _plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _structure(cls: type[T], data: Any, path: str) -> T:
    """Build attrs class ``cls`` from plain ``data``, naming the path of any bad key."""
    if isinstance(data, cls):
        return data
    where = path or "policy"
    if not isinstance(data, Mapping):
        raise InvalidPolicy(f"{where} must be a table, got {data!r}")
    fields = {f.name: f for f in attrs.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise InvalidPolicy(
                f"unknown key {_join(path, key)!r}; {where} takes: {', '.join(sorted(fields))}"
            )
        kwargs[key] = _value(hints[key], value, _join(path, key))
    try:
        return cls(**kwargs)
    except InvalidPolicy:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidPolicy(f"{where}: {exc}") from None


def _value(hint: Any, value: Any, path: str) -> Any:
    origin = get_origin(hint)
    args = get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None or (value == "" and type(None) in args):
            return None  # TOML has no null: "" leaves an optional setting unset
        inner = [a for a in args if a is not type(None)]
        return _value(inner[0], value, path) if len(inner) == 1 else value
    if attrs.has(hint):
        return _structure(hint, value, path)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise InvalidPolicy(f"{path} must be a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_value(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise InvalidPolicy(f"{path} must be a table, got {value!r}")
        item = args[1] if len(args) == 2 else Any
        return {k: _value(item, v, _join(path, k)) for k, v in value.items()}
    if hint is bool and not isinstance(value, bool):
        raise InvalidPolicy(f"{path} must be true or false, got {value!r}")
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidPolicy(f"{path} must be a whole number, got {value!r}")
    if hint is int and abs(value) > MAX_AMOUNT:
        raise InvalidPolicy(
            f"{path} must be between -{MAX_AMOUNT} and {MAX_AMOUNT} (kudos's bound on one "
            f"amount), got {value}"
        )
    if hint is str and not isinstance(value, str):
        raise InvalidPolicy(f"{path} must be a string, got {value!r}")
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
