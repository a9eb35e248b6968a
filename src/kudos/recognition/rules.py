"""The policy data of recognition: attrs classes and constants, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from .._validate import sorted_set
from ..errors import InvalidInput, InvalidPolicy
from ..events import ROLES, Event
from ..model import Member, Post, RankProgress

ACTIONS: tuple[str, ...] = ()
"""The policy actions this capability rewards (see :mod:`kudos.policy`): none,
recognition rewards with standing, not points."""


ACTIVITIES: Mapping[str, str] = {
    "member-joined": "member",
    "topic-posted": "author",
    "reply-posted": "author",
    "kudos-given": "giver",
    "kudos-withdrawn": "giver",
    "down-voted": "voter",
    "down-vote-withdrawn": "voter",
    "solution-accepted": "by",
    "solution-unaccepted": "by",
    "idea-voted": "voter",
    "idea-vote-withdrawn": "voter",
}
"""Event types that count as a member being active, and the field naming that member.

They feed the ``days_active`` counter and the ``first`` badge rule. Staff
work (removals, adjustments, idea statuses) and facts reported about a member
(a referral qualifying) are not activity.
"""

_DOING = {
    "member-joined": "joined",
    "topic-posted": "posted a topic",
    "reply-posted": "replied",
    "kudos-given": "gave kudos",
    "kudos-withdrawn": "withdrew kudos",
    "down-voted": "down-voted",
    "down-vote-withdrawn": "withdrew a down-vote",
    "solution-accepted": "accepted a solution",
    "solution-unaccepted": "unaccepted a solution",
    "idea-voted": "voted on an idea",
    "idea-vote-withdrawn": "withdrew an idea vote",
}

_ROLE_DEFAULTS = {"staff": ("*",), "moderator": ("*",)}


# --- validation helpers ------------------------------------------------------------


def _name(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise InvalidPolicy(
            f"{where} must be a non-empty name without surrounding spaces, got {value!r}"
        )
    return value


def _requirements(value: Mapping[str, int] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for metric, need in dict(value or {}).items():
        _name("requires: a metric", metric)
        if " " in metric:
            raise InvalidPolicy(
                f"requires: metric {metric!r} has a space; metrics are "
                "counter names such as 'kudos_received'"
            )
        if isinstance(need, bool) or not isinstance(need, int) or need < 0:
            raise InvalidPolicy(f"requires.{metric} must be a whole number >= 0, got {need!r}")
        out[metric] = need
    return out


def _levels(value: Mapping[str, int] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for level, at in dict(value or {}).items():
        _name("levels: a level", level)
        if isinstance(at, bool) or not isinstance(at, int) or at < 1:
            raise InvalidPolicy(f"levels.{level} must be a whole number >= 1, got {at!r}")
        out[level] = at
    return dict(sorted(out.items(), key=lambda item: item[1]))


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _roles(value: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for role, names in dict(value).items():
        if role not in ROLES:
            raise InvalidPolicy(
                f"role_privileges: unknown role {role!r}; roles are {', '.join(ROLES)}"
            )
        if isinstance(names, str):
            raise InvalidPolicy(
                f"role_privileges.{role} must be a list of privilege names "
                f"(or ['*'] for all), got {names!r}"
            )
        out[role] = sorted_set(_name(f"role_privileges.{role}", n) for n in names)
    return out


def _need_text(metric: str, n: int) -> str:
    return f"{n:,} {metric.replace('_', ' ')}"


def _describe(requires: Mapping[str, int]) -> str:
    parts = [_need_text(m, n) for m, n in requires.items() if n > 0]
    if not parts:
        return "nothing"
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _meets(requires: Mapping[str, int], metrics: Mapping[str, int]) -> bool:
    """Whether :func:`_missing` is empty, without building it."""
    get = metrics.get
    return not any(need and get(metric, 0) < need for metric, need in requires.items())


def _missing(requires: Mapping[str, int], metrics: Mapping[str, int]) -> dict[str, int]:
    out = {}
    for metric, need in requires.items():
        have = metrics.get(metric, 0)
        if have < need:
            out[metric] = need - have
    return out


# --- the policy section ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Rank:
    """One step of the rank ladder.

    Attributes:
        name: what members see next to their name (``"Gold Star"``).
        requires: metric -> the minimum a member needs, all of them
            (``{"reputation": 1000, "solutions": 50, "tenure_days": 90}``);
            empty for the entry rank every member has.
        description: a line for the published ladder.

    >>> Rank(name="Guru", requires={"kudos_received": 100, "solutions": 20}).describe()
    '100 kudos received and 20 solutions'
    """

    name: str = attrs.field(validator=lambda i, a, v: _name("ranks.name", v))
    requires: Mapping[str, int] = attrs.field(factory=dict, converter=_requirements)
    description: str = ""

    def describe(self) -> str:
        """The criteria in words, as the published ladder shows them."""
        return "every member" if not any(self.requires.values()) else _describe(self.requires)

    def missing(self, metrics: Mapping[str, int]) -> dict[str, int]:
        """Metric -> how much more ``metrics`` need for this rank (empty: reached)."""
        return _missing(self.requires, metrics)


_RULES = ("metric", "first", "reply_within_minutes", "custom")


@attrs.frozen(kw_only=True)
class Badge:
    """An achievement, awarded once per level.

    Give exactly one rule:

    * ``metric``: a metric reaching ``threshold`` (or each of ``levels``),
      e.g. ``metric = "solutions"``, ``levels = {bronze = 1, silver = 10, gold = 100}``;
    * ``first``: the first time a member does something, an event type of
      :data:`ACTIVITIES` (``first = "kudos-given"``);
    * ``reply_within_minutes``: replying to someone else's question or
      problem within that many minutes of it being posted;
    * ``custom``: the name of a host function registered with
      :func:`register_badge_rule`, returning a number compared with
      ``threshold`` or ``levels`` (``True`` counts as 1).

    Attributes:
        name: the badge's name (``"Solver"``); levelled badges read
            ``"Solver (gold)"``.
        description: a line for the published list.
        threshold: the value a single-level badge needs (default 1).
        levels: level name -> value needed, for levelled ``metric`` and
            ``custom`` badges.

    >>> Badge(name="Solver", metric="solutions", levels={"gold": 100, "bronze": 1}).reached(7)
    ('bronze',)
    """

    name: str = attrs.field(validator=lambda i, a, v: _name("badges.name", v))
    description: str = ""
    metric: str | None = None
    first: str | None = None
    reply_within_minutes: int | None = None
    custom: str | None = None
    threshold: int = 1
    levels: Mapping[str, int] = attrs.field(factory=dict, converter=_levels)

    def __attrs_post_init__(self) -> None:
        where = f"badge {self.name!r}"
        given = [r for r in _RULES if getattr(self, r) is not None]
        if len(given) != 1:
            raise InvalidPolicy(
                f"{where} needs exactly one rule of {', '.join(_RULES)}; "
                f"it has {', '.join(given) or 'none'}"
            )
        if self.metric is not None:
            _name(f"{where}: metric", self.metric)
        if self.first is not None and self.first not in ACTIVITIES:
            raise InvalidPolicy(
                f"{where}: first = {self.first!r} is not an activity; use one of "
                f"{', '.join(ACTIVITIES)}"
            )
        minutes = self.reply_within_minutes
        if minutes is not None and (
            isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1
        ):
            raise InvalidPolicy(
                f"{where}: reply_within_minutes must be a whole number >= 1, got {minutes!r}"
            )
        if self.custom is not None and self.custom not in _BADGE_RULES:
            raise InvalidPolicy(
                f"{where}: no badge rule {self.custom!r} is registered; call "
                f"kudos.recognition.register_badge_rule({self.custom!r}, fn) before "
                "building or loading the policy"
            )
        if (
            isinstance(self.threshold, bool)
            or not isinstance(self.threshold, int)
            or self.threshold < 1
        ):
            raise InvalidPolicy(
                f"{where}: threshold must be a whole number >= 1, got {self.threshold!r}"
            )
        if self.levels and self.rule in ("first", "reply_within_minutes"):
            raise InvalidPolicy(f"{where}: a {self.rule!r} badge has a single level; drop levels")
        if self.levels and self.threshold != 1:
            raise InvalidPolicy(f"{where}: give threshold or levels, not both")

    @property
    def rule(self) -> str:
        """The badge's rule: ``metric``, ``first``, ``reply_within_minutes`` or ``custom``."""
        return next(r for r in _RULES if getattr(self, r) is not None)

    def reached(self, value: int) -> tuple[str | None, ...]:
        """The levels ``value`` reaches, lowest first (``(None,)`` for a single-level badge)."""
        if self.levels:
            return tuple(level for level, at in self.levels.items() if value >= at)
        return (None,) if value >= self.threshold else ()

    def title(self, level: str | None) -> str:
        """The badge as members see it: ``"Solver (gold)"``, or ``"Quick Draw"``."""
        return f"{self.name} ({level})" if level else self.name

    def describe(self) -> str:
        """The criteria in words, as the published list shows them."""
        if self.metric is not None:
            metric = self.metric.replace("_", " ")
            if self.levels:
                steps = ", ".join(f"{level} {at:,}" for level, at in self.levels.items())
                return f"{metric}: {steps}"
            return f"{metric}: {self.threshold:,}"
        if self.first is not None:
            return f"first time a member {_DOING[self.first]}"
        if self.reply_within_minutes is not None:
            return (
                f"replied to someone else's question within {self.reply_within_minutes} "
                "minutes of it being posted"
            )
        steps = (
            ", ".join(f"{level} {at:,}" for level, at in self.levels.items())
            if self.levels
            else f"{self.threshold}"
        )
        return f"host rule {self.custom!r}: {steps}"


@attrs.frozen(kw_only=True)
class Privilege:
    """Something a member may do once past a threshold.

    Attributes:
        name: the privilege (``"vote_ideas"``); the engine asks for
            ``give_kudos``, ``down_vote``, ``accept_solutions`` (on others'
            behalf) and ``moderate`` (remove posts, adjust points); other
            capabilities and the host may ask for any name.
        requires: metric -> minimum, all of them (``{"reputation": 15}``).
        rank: a rank of the ladder the member must hold, or a higher one.
        description: what it lets a member do, completing "needs 15
            reputation to ..." (``"vote on ideas"``).

    >>> Privilege(name="vote_ideas", requires={"reputation": 15}).describe()
    '15 reputation'
    """

    name: str = attrs.field(validator=lambda i, a, v: _name("privileges.name", v))
    requires: Mapping[str, int] = attrs.field(factory=dict, converter=_requirements)
    rank: str | None = None
    description: str = ""

    @property
    def doing(self) -> str:
        """What the privilege lets a member do, for messages."""
        return self.description or self.name.replace("_", " ")

    def describe(self) -> str:
        """The criteria in words, as the published table shows them."""
        parts = [_describe(self.requires)] if any(self.requires.values()) else []
        if self.rank is not None:
            parts.append(f"rank {self.rank} or higher")
        return " and ".join(parts) if parts else "every member"


@attrs.frozen(kw_only=True)
class Recognition:
    """Ranks, badges and privileges of a policy.

    Attributes:
        ranks: the ladder, **highest first**; a member's rank is the first
            whose requirements they meet. Empty: no ranks.
        badges: the badges members can earn.
        privileges: what members may do past a threshold.
        role_privileges: role -> privilege names that role always holds
            (``["*"]``: every privilege, asked for or not). Default: staff
            and moderators hold everything.

    Raises:
        InvalidPolicy: a name is repeated, a privilege names a rank not on
            the ladder, or a rule is malformed.
    """

    ranks: tuple[Rank, ...] = attrs.field(default=(), converter=_tuple)
    badges: tuple[Badge, ...] = attrs.field(default=(), converter=_tuple)
    privileges: tuple[Privilege, ...] = attrs.field(default=(), converter=_tuple)
    role_privileges: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=lambda: dict(_ROLE_DEFAULTS), converter=_roles
    )

    def __attrs_post_init__(self) -> None:
        for what, items in (
            ("ranks", self.ranks),
            ("badges", self.badges),
            ("privileges", self.privileges),
        ):
            names = [item.name for item in items]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise InvalidPolicy(
                    f"recognition.{what}: {', '.join(map(repr, twice))} "
                    "appear more than once; give each its own name"
                )
        ladder = [r.name for r in self.ranks]
        for privilege in self.privileges:
            if privilege.rank is not None and privilege.rank not in ladder:
                raise InvalidPolicy(
                    f"privilege {privilege.name!r} needs rank {privilege.rank!r}, which is not "
                    f"on the ladder ({', '.join(ladder) or 'no ranks'})"
                )

    @property
    def active(self) -> bool:
        """Whether there is anything to evaluate."""
        return bool(self.ranks or self.badges or self.privileges)

    # -- ranks ----------------------------------------------------------------
    def rank_index(self, name: str | None) -> int | None:
        """The position of rank ``name`` on the ladder (0 = highest), or ``None``."""
        for i, rank in enumerate(self.ranks):
            if rank.name == name:
                return i
        return None

    def rank_for(self, metrics: Mapping[str, int]) -> Rank | None:
        """The rank ``metrics`` earn: the first on the ladder whose requirements are met.

        >>> ladder = Recognition(ranks=[Rank(name="Star", requires={"reputation": 10}),
        ...                             Rank(name="Member")])
        >>> ladder.rank_for({"reputation": 12}).name, ladder.rank_for({}).name
        ('Star', 'Member')
        """
        for rank in self.ranks:
            if _meets(rank.requires, metrics):
                return rank
        return None

    def next_rank(self, metrics: Mapping[str, int]) -> RankProgress | None:
        """The rank above the one ``metrics`` earn and what is missing (``None`` at the top)."""
        current = self.rank_for(metrics)
        index = len(self.ranks) if current is None else self.ranks.index(current)
        if index == 0:
            return None
        above = self.ranks[index - 1]
        return RankProgress(rank=above.name, missing=above.missing(metrics))

    # -- badges ----------------------------------------------------------------
    def badge(self, name: str) -> Badge | None:
        """The badge called ``name``, or ``None``."""
        return next((b for b in self.badges if b.name == name), None)

    # -- privileges ----------------------------------------------------------------
    def privilege(self, name: str) -> Privilege | None:
        """The privilege called ``name``, or ``None``."""
        return next((p for p in self.privileges if p.name == name), None)

    def role_grants(self, role: str, name: str) -> bool:
        """Whether ``role`` holds privilege ``name`` whatever its metrics."""
        names = self.role_privileges.get(role, ())
        return "*" in names or name in names

    def lacks(
        self, name: str, role: str, metrics: Mapping[str, int]
    ) -> tuple[tuple[str, str], ...] | None:
        """What a member of ``role`` with ``metrics`` lacks for privilege ``name``.

        Returns ``None`` when the policy has no rule for ``name``, ``()``
        when it is granted, else ``(needed, has)`` phrases such as
        ``("15 reputation", "has 3")``.
        """
        if self.role_grants(role, name):
            return ()
        privilege = self.privilege(name)
        if privilege is None:
            return None
        return self._lacks(privilege, metrics, self.rank_for(metrics) if privilege.rank else None)

    def _lacks(
        self, privilege: Privilege, metrics: Mapping[str, int], current: Rank | None
    ) -> tuple[tuple[str, str], ...]:
        out = [
            (_need_text(m, n), f"has {metrics.get(m, 0)}")
            for m, n in privilege.requires.items()
            if metrics.get(m, 0) < n
        ]
        if privilege.rank is not None:
            have = self.rank_index(current.name) if current else None
            need = self.rank_index(privilege.rank)
            if have is None or need is None or have > need:
                out.append(
                    (
                        f"rank {privilege.rank!r} or higher",
                        f"is {current.name!r}" if current else "has no rank",
                    )
                )
        return tuple(out)

    def privileges_of(self, role: str, metrics: Mapping[str, int]) -> frozenset[str]:
        """Every privilege a member of ``role`` with ``metrics`` holds.

        >>> vote = Privilege(name="vote_ideas", requires={"reputation": 15})
        >>> rec = Recognition(privileges=[vote])
        >>> sorted(rec.privileges_of("member", {"reputation": 20}))
        ['vote_ideas']
        """
        names = self.role_privileges.get(role, ())
        ranked = any(p.rank is not None for p in self.privileges)
        current = self.rank_for(metrics) if ranked and "*" not in names else None
        if "*" in names:
            held = {p.name for p in self.privileges}
        else:
            held = {
                p.name
                for p in self.privileges
                if p.name in names or self._holds(p, metrics, current)
            }
        held.update(n for n in names if n != "*")
        return frozenset(held)

    def _holds(
        self, privilege: Privilege, metrics: Mapping[str, int], current: Rank | None
    ) -> bool:
        """Whether :meth:`_lacks` is empty, without phrasing what is missing."""
        if not _meets(privilege.requires, metrics):
            return False
        if privilege.rank is None:
            return True
        have = self.rank_index(current.name) if current else None
        need = self.rank_index(privilege.rank)
        return have is not None and need is not None and have <= need


def preset(name: str) -> Recognition:
    """The section of the ``name`` preset (``"giffgaff"`` or ``"stackexchange"``).

    The tables are published in ``docs/recognition.md``.
    """
    if name == "giffgaff":
        return _giffgaff()
    if name == "stackexchange":
        return _stackexchange()
    raise InvalidPolicy(f"no recognition preset {name!r}; presets: giffgaff, stackexchange")


def _giffgaff() -> Recognition:
    # Members asked for a few star tiers in place of ~85 opaque Lithium ranks,
    # with the criteria shown (peers §1 and Khoros §3): five steps, all published.
    return Recognition(
        ranks=[
            Rank(
                name="Guru",
                requires={"reputation": 3000, "solutions": 150, "tenure_days": 365},
                description="the community's most trusted helpers",
            ),
            Rank(
                name="Gold Star",
                requires={"reputation": 1000, "solutions": 50, "tenure_days": 90},
                description="seasoned helpers, trusted to edit others' posts",
            ),
            Rank(
                name="Silver Star",
                requires={"reputation": 250, "solutions": 10},
                description="regular helpers with solutions to their name",
            ),
            Rank(
                name="Bronze Star",
                requires={"reputation": 50},
                description="members whose help others valued",
            ),
            Rank(name="Member", description="everyone, from their first day"),
        ],
        badges=[
            *_common_badges(),
            Badge(
                name="Kudos Magnet",
                metric="kudos_received",
                levels={"bronze": 50, "silver": 250, "gold": 1000},
                description="kudos from other members",
            ),
            Badge(
                name="Idea Maker",
                metric="ideas_implemented",
                description="an idea of theirs was implemented",
            ),
            Badge(
                name="Recruiter",
                metric="referrals",
                levels={"bronze": 1, "silver": 5, "gold": 15},
                description="friends who joined and qualified (15: giffgaff's paid maximum)",
            ),
            Badge(
                name="Quick Responder",
                reply_within_minutes=10,
                description="answered a question within 10 minutes",
            ),
        ],
        privileges=[
            Privilege(name="give_kudos", description="give kudos"),
            Privilege(name="vote_ideas", description="vote on ideas"),
            Privilege(
                name="post_links", requires={"reputation": 10}, description="post links and images"
            ),
            Privilege(name="edit_posts", rank="Gold Star", description="edit others' posts"),
            Privilege(
                name="accept_solutions",
                rank="Guru",
                description="accept solutions on others' behalf",
            ),
        ],
    )


def _common_badges() -> list[Badge]:
    return [
        Badge(
            name="Solver",
            metric="solutions",
            levels={"bronze": 1, "silver": 10, "gold": 100},
            description="replies accepted as solutions",
        ),
        Badge(name="Supporter", first="kudos-given", description="gave kudos for the first time"),
        Badge(
            name="Regular",
            metric="days_active",
            levels={"bronze": 15, "silver": 50, "gold": 100},
            description="active on many different days",
        ),
    ]


def _stackexchange() -> Recognition:
    # The privilege table of graduated Stack Exchange sites (peers §2);
    # give_kudos and down_vote match Policy.min_reputation_to_give_kudos/_to_down_vote.
    table = [
        ("give_kudos", 15, "vote up"),
        ("flag", 15, "flag posts"),
        ("comment", 50, "comment everywhere"),
        ("set_bounty", 75, "set bounties"),
        ("down_vote", 125, "vote down"),
        ("view_close_votes", 250, "view close votes"),
        ("review_queues", 500, "access review queues"),
        ("established_user", 1000, "see vote counts (established user)"),
        ("edit_posts", 2000, "edit questions and answers freely"),
        ("close_reopen", 3000, "cast close and reopen votes"),
        ("moderator_tools", 10_000, "access moderator tools"),
        ("protect_questions", 15_000, "protect questions"),
        ("trusted_user", 20_000, "delete and undelete (trusted user)"),
        ("site_analytics", 25_000, "access site analytics"),
    ]
    return Recognition(
        badges=[
            *_common_badges(),
            Badge(name="Critic", first="down-voted", description="down-voted for the first time"),
            Badge(
                name="Scholar",
                first="solution-accepted",
                description="accepted an answer for the first time",
            ),
        ],
        privileges=[
            Privilege(name=n, requires={"reputation": r}, description=d) for n, r, d in table
        ],
    )


# --- host badge rules ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BadgeFacts:
    """What a host's badge rule sees: one member, after one event.

    Attributes:
        member: the member being evaluated.
        event: the event just recorded.
        at: its time (use this, never the clock).
        metrics: the member's metrics (missing ones read as 0), including
            this event's changes.
        post: the post the event is about (the reply of a ``ReplyPosted``,
            the post of a ``KudosGiven`` ...), if any.
    """

    member: Member
    event: Event
    at: datetime
    metrics: Mapping[str, int]
    post: Post | None = None


BadgeRule = Callable[[BadgeFacts], int | bool]
_BADGE_RULES: dict[str, BadgeRule] = {}


def register_badge_rule(name: str, rule: BadgeRule) -> BadgeRule:
    """Make ``rule`` available to badges as ``custom = name``.

    ``rule(facts)`` returns a number (or a bool) compared with the badge's
    ``threshold`` or ``levels``. It must be **pure**: decide from ``facts``
    alone, read no clock, database or global state, so replaying the log
    (``rebuild``, ``simulate``) awards exactly the same badges. Register
    before building or loading a policy that names it.

    Registering the same function again (or its new definition after a
    module reload: same module, same name) replaces it.

    Raises:
        InvalidInput: ``name`` is taken by another function.

    >>> def early_bird(facts):
    ...     return facts.event.type == "reply-posted" and facts.at.hour < 7
    >>> register_badge_rule("early_bird", early_bird) is early_bird
    True
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"a badge rule needs a non-empty name, got {name!r}")
    if not callable(rule):
        raise InvalidInput(f"badge rule {name!r} must be a function of BadgeFacts")
    known = _BADGE_RULES.get(name)
    if known is not None and _origin(known) != _origin(rule):
        raise InvalidInput(
            f"badge rule {name!r} is already registered to {known!r}; pick another name"
        )
    _BADGE_RULES[name] = rule
    return rule


def _origin(rule: BadgeRule) -> tuple[str, str]:
    return (getattr(rule, "__module__", "") or "", getattr(rule, "__qualname__", repr(rule)))


def badge_key(member: str, badge: str, level: str | None) -> str:
    """The document key of ``member``'s award of ``badge`` at ``level``.

    Length-prefixed, so no choice of names makes two awards share a key.
    """
    return f"{len(member)}:{member}:{len(badge)}:{badge}:{level or ''}"


# --- the Community methods --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BadgeAward:
    """One badge level a member earned (and, if so, lost).

    Attributes:
        member: who earned it.
        badge: the badge's name; ``level`` its level (``None`` for single-level badges).
        title: as members see it (``"Solver (gold)"``).
        earned_at: the time of the event that earned it; ``event_id`` that event.
        post: the post that earned it, when one did (a removal of that post as
            spam or abuse revokes it).
        revoked_at: when it was revoked, with ``revoked_reason``; ``None`` if held.
    """

    member: str
    badge: str
    level: str | None
    title: str
    earned_at: datetime
    event_id: str
    post: str | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


# The engine half (hooks, privilege rule, standing) needs the names above.
