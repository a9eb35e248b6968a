"""The facts a host reports to kudos.

Each event is a frozen attrs class named for something that happened
(past tense). ``event_id`` is the idempotency key: pass the host's own id, or
leave it ``None`` and kudos derives one from the fact's natural key (for
example ``kudos-given:r1:bob``). ``at`` is when it happened; ``None`` means
"now" on the community's clock.

Recording an event whose id is already in the log changes nothing and returns
the first outcome. The *content* of an event is every field except
``event_id`` and ``at``: a retry of the same fact at a later time is the same
fact, while different content under a used id raises :class:`kudos.Conflict`.

Every event may carry the ``channel`` it came through (``"twitter"``,
``"email"``, ... as the policy's ``channels.allowed`` lists). A channel is part
of the content only when it is given, and never of a derived id, so facts and
logs written before channels existed keep their ids and payloads.

>>> from kudos.events import KudosGiven
>>> KudosGiven(post="r1", giver="bob").content()
{'post': 'r1', 'giver': 'bob'}
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import attrs

from . import _validate as v
from .errors import InvalidInput

__all__ = [
    "AssociationBonusGranted",
    "BountyAwarded",
    "BountyOffered",
    "BountyRefunded",
    "DownVoteWithdrawn",
    "DownVoted",
    "Event",
    "EventRefused",
    "FeelingSet",
    "FingerprintsReported",
    "IdeaStatusSet",
    "IdeaVoteWithdrawn",
    "IdeaVoted",
    "KudosGiven",
    "KudosWithdrawn",
    "MemberDeleted",
    "MemberJoined",
    "PaybackPeriodClosed",
    "PayoutFailed",
    "PayoutHeld",
    "PayoutMethodChosen",
    "PayoutPaid",
    "PayoutReleased",
    "PointsAdjusted",
    "PolicyChanged",
    "PostMadeWiki",
    "PostRemoved",
    "PostRestored",
    "ReferralCodeIssued",
    "ReferralMade",
    "ReferralQualified",
    "ReferralReviewed",
    "ReferralRevoked",
    "ReferralsExpired",
    "ReplyPosted",
    "SerialVotesReversed",
    "ShiftReported",
    "SolutionAccepted",
    "SolutionUnaccepted",
    "SuggestedEditApproved",
    "TopicDeflected",
    "TopicFollowed",
    "TopicPosted",
    "TopicUnfollowed",
    "VoteRingReversed",
    "event_from_payload",
    "event_types",
    "key_of",
]

TOPIC_KINDS = ("question", "problem", "idea", "praise", "talk")
ROLES = ("member", "staff", "moderator")

_REGISTRY: dict[str, type[Event]] = {}
E = TypeVar("E", bound="Event")


def _register(cls: type[E]) -> type[E]:
    _REGISTRY[cls.type] = cls
    return cls


_CONTENT_FIELDS: dict[type[Event], tuple[str, ...]] = {}
_OMITTED_WHEN_UNSET: dict[type[Event], tuple[str, ...]] = {}


TIME_FIELD = "kudos_time"
"""Metadata key marking an event field that holds a time: a timezone-aware ``datetime``
when an event is made, ISO 8601 text in a stored or imported payload."""

_TIME_FIELDS: dict[type[Event], frozenset[str]] = {}


def _time_fields(cls: type[Event]) -> frozenset[str]:
    names = _TIME_FIELDS.get(cls)
    if names is None:
        names = _TIME_FIELDS[cls] = frozenset(
            f.name for f in attrs.fields(cls) if f.metadata.get(TIME_FIELD)
        )
    return names


def _content_fields(cls: type[Event]) -> tuple[str, ...]:
    names = _CONTENT_FIELDS.get(cls)
    if names is None:
        names = _CONTENT_FIELDS[cls] = tuple(
            f.name for f in attrs.fields(cls) if f.name not in ("event_id", "at", "channel")
        )
    return names


# Per event type: its content fields, those left out when unset, and every field a copy
# sets (the content's, ``at`` and ``channel``); worked out on first use.
_FIELDS: dict[type[Event], tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}


def _fields(cls: type[Event]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    content = _content_fields(cls)
    found = _FIELDS[cls] = (content, _OMITTED_WHEN_UNSET.get(cls, ()), (*content, "at", "channel"))
    return found


def event_types() -> dict[str, type[Event]]:
    """Every event type by its stored ``type`` name (a copy)."""
    return dict(_REGISTRY)


_PART_ESCAPES = str.maketrans({"%": "%25", "#": "%23"})
_JOINED_ESCAPES = str.maketrans({"%": "%25", "#": "%23", ":": "%3A"})


def key_of(*parts: object) -> str:
    """Join ``parts`` into a natural key, escaped so that distinct facts get distinct keys.

    ``%`` and ``#`` are percent-escaped (no id can pass for another fact's
    generation suffix, ``#2``), and so is ``:`` when there are several parts,
    which ``:`` then separates: ``("a:b", "c")`` and ``("a", "b:c")`` differ.

    >>> key_of("r1", "bob"), key_of("2026-06-01T00:00:00+00:00")
    ('r1:bob', '2026-06-01T00:00:00+00:00')
    >>> key_of("a:b", "c"), key_of("a", "b:c"), key_of("bob#2")
    ('a%3Ab:c', 'a:b%3Ac', 'bob%232')
    """
    table = _PART_ESCAPES if len(parts) == 1 else _JOINED_ESCAPES
    return ":".join(str(part).translate(table) for part in parts)


@attrs.frozen(kw_only=True)
class Event:
    """Base of every event: an idempotency key and a time.

    Attributes:
        event_id: the idempotency key; ``None`` lets kudos derive it.
        at: when it happened (timezone-aware); ``None`` means the clock's now.
        channel: where the fact came from (one of the policy's
            ``channels.allowed``, e.g. ``"twitter"``); ``None``: not said.
    """

    type: ClassVar[str] = "event"

    event_id: str | None = attrs.field(default=None, validator=v.optional_identifier)
    at: datetime | None = attrs.field(
        default=None, validator=v.aware_datetime, metadata={TIME_FIELD: True}
    )
    channel: str | None = attrs.field(default=None, validator=v.optional_identifier)

    def with_id(self, event_id: str) -> Event:
        """A copy with the id kudos derived for it.

        Derived ids join several ids (each within the input rules) and may be
        longer than an id a host passes, so they are not checked again.
        """
        # A field-by-field copy: the fields were checked when this event was made, and
        # attrs.evolve would run every validator and converter again (a tenth of an event's
        # cost in a batch).
        cls = type(self)
        try:
            every = _FIELDS[cls][2]
        except KeyError:
            every = _fields(cls)[2]
        copy = object.__new__(cls)
        for name in every:
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "event_id", event_id)
        return copy

    def natural_key(self) -> str:
        """The part of a derived event id that identifies this fact.

        Each part is escaped (:func:`key_of`), so no choice of ids makes two
        facts share a key. The channel is not part of it.
        """
        content = self.content()
        content.pop("channel", None)
        return key_of(*content.values())

    def content(self) -> dict[str, Any]:
        """The fields that make the fact, as JSON-ready values (not ``event_id`` or ``at``).

        ``channel`` is included only when given: a fact recorded before
        channels existed has the same content as the same fact now.
        """
        try:
            names, omitted, _ = _FIELDS[type(self)]
        except KeyError:
            names, omitted, _ = _fields(type(self))
        out = {}
        for name in names:
            value = getattr(self, name)
            if value is None:
                if name in omitted:
                    continue  # a field added later: facts recorded before it keep their content
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        if self.channel is not None:
            out["channel"] = self.channel
        return out

    def payload(self) -> dict[str, Any]:
        """The content plus the time: what a store persists next to the id and type."""
        data = self.content()
        data["at"] = self.at.isoformat() if self.at else None
        return data


def event_from_payload(type_name: str, event_id: str | None, payload: dict[str, Any]) -> Event:
    """Rebuild an event from its type name, id and payload (as a store or a JSON import has it).

    Raises:
        InvalidInput: the type name is unknown to this version of kudos, the payload
            lacks a field the type needs or has one it does not take, or a value is bad.
    """
    cls = _REGISTRY.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        raise InvalidInput(
            f"unknown event type {v.shown(type_name)} in the log; "
            "is this kudos older than the store?"
        )
    if not isinstance(payload, dict) or not all(isinstance(k, str) for k in payload):
        raise InvalidInput(
            f"a {type_name!r} event payload must be a JSON object, got {v.shown(payload)}"
        )
    times = _time_fields(cls)
    fields = {k: v.to_datetime(x) if k in times else x for k, x in payload.items()}
    try:
        return cls(event_id=event_id, **fields)
    except TypeError as exc:
        # attrs says a keyword is missing or unexpected; say it in the payload's terms.
        takes = [*_content_fields(cls), "at", "channel"]
        missing = [
            f.name
            for f in attrs.fields(cls)
            if f.name in takes and f.default is attrs.NOTHING and f.name not in payload
        ]
        unknown = sorted(set(payload) - set(takes))
        problems = [f"lacks {', '.join(missing)}"] if missing else []
        problems += [f"has unknown {', '.join(unknown)}"] if unknown else []
        raise InvalidInput(
            f"a {type_name!r} event payload {' and '.join(problems) or f'is malformed ({exc})'}; "
            f"it takes {', '.join(takes)}"
        ) from None


MEMBER_FIELD = "kudos_member"
"""Metadata key marking an event field that names a member (merges re-point these)."""


def _member_field() -> Any:
    return attrs.field(validator=v.identifier, metadata={MEMBER_FIELD: True})


def _required_time(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    v.check_time(attr.name, value)


# --- members and posts -------------------------------------------------------


@_register
@attrs.frozen(kw_only=True)
class MemberJoined(Event):
    """A member joined the community (or was first reported to kudos).

    ``referred_by`` (a member id) or ``referral_code`` records a pending
    referral; ``fingerprints`` are opaque hashes (payment, device, address)
    used only to spot referral fraud.
    """

    type: ClassVar[str] = "member-joined"
    member: str = _member_field()
    role: str = attrs.field(default="member", validator=v.one_of(*ROLES))
    referred_by: str | None = attrs.field(default=None, validator=v.optional_identifier)
    referral_code: str | None = attrs.field(default=None, validator=v.optional_identifier)
    fingerprints: tuple[str, ...] = attrs.field(
        default=(), converter=v.to_tuple, validator=v.identifiers
    )

    def natural_key(self) -> str:
        return key_of(self.member)


@_register
@attrs.frozen(kw_only=True)
class MemberDeleted(Event):
    """``member`` deleted their account; their posts stay, owned by no one.

    Votes on those posts are still valid and replies under them still count,
    but from now on nothing is awarded to the deleted account (what it earned
    before stays in the ledger).
    """

    type: ClassVar[str] = "member-deleted"
    member: str = _member_field()

    def natural_key(self) -> str:
        return key_of(self.member)


@_register
@attrs.frozen(kw_only=True)
class TopicPosted(Event):
    """A member posted a topic: a ``question``, ``problem``, ``idea``, ``praise`` or ``talk``.

    ``body`` is optional text the host passes for similar-topic search (an
    excerpt is enough; only its first 10,000 characters are kept and indexed,
    a longer body is cut, not refused); ``praised`` names the member a ``praise`` topic thanks.
    Both are left out of the fact's content when unset, so facts recorded
    before they existed keep their content.
    """

    type: ClassVar[str] = "topic-posted"
    topic: str = attrs.field(validator=v.identifier)
    author: str = _member_field()
    kind: str = attrs.field(default="question", validator=v.one_of(*TOPIC_KINDS))
    title: str = attrs.field(default="", validator=v.text)
    tags: tuple[str, ...] = attrs.field(default=(), converter=v.to_tuple, validator=v.identifiers)
    product: str | None = attrs.field(default=None, validator=v.optional_identifier)
    feeling: str | None = attrs.field(default=None, validator=v.optional_identifier)
    body: str | None = attrs.field(
        default=None, converter=v.body_prefix, validator=attrs.validators.optional(v.text)
    )
    praised: str | None = attrs.field(default=None, validator=v.optional_identifier)

    def natural_key(self) -> str:
        return key_of(self.topic)


_OMITTED_WHEN_UNSET[TopicPosted] = ("body", "praised")


@_register
@attrs.frozen(kw_only=True)
class ReplyPosted(Event):
    """A member replied on a topic; the reply is *official* when staff wrote it."""

    type: ClassVar[str] = "reply-posted"
    reply: str = attrs.field(validator=v.identifier)
    topic: str = attrs.field(validator=v.identifier)
    author: str = _member_field()

    def natural_key(self) -> str:
        return key_of(self.reply)


@_register
@attrs.frozen(kw_only=True)
class KudosGiven(Event):
    """``giver`` gave kudos to a reply or topic."""

    type: ClassVar[str] = "kudos-given"
    post: str = attrs.field(validator=v.identifier)
    giver: str = _member_field()


@_register
@attrs.frozen(kw_only=True)
class KudosWithdrawn(Event):
    """``giver`` took back the kudos they gave to ``post``."""

    type: ClassVar[str] = "kudos-withdrawn"
    post: str = attrs.field(validator=v.identifier)
    giver: str = _member_field()


@_register
@attrs.frozen(kw_only=True)
class DownVoted(Event):
    """``voter`` down-voted ``post`` (only where the policy enables down-votes)."""

    type: ClassVar[str] = "down-voted"
    post: str = attrs.field(validator=v.identifier)
    voter: str = _member_field()


@_register
@attrs.frozen(kw_only=True)
class DownVoteWithdrawn(Event):
    """``voter`` took back their down-vote on ``post``."""

    type: ClassVar[str] = "down-vote-withdrawn"
    post: str = attrs.field(validator=v.identifier)
    voter: str = _member_field()


@_register
@attrs.frozen(kw_only=True)
class SolutionAccepted(Event):
    """``by`` accepted ``reply`` as the solution of ``topic``."""

    type: ClassVar[str] = "solution-accepted"
    topic: str = attrs.field(validator=v.identifier)
    reply: str = attrs.field(validator=v.identifier)
    by: str = _member_field()

    def natural_key(self) -> str:
        return key_of(self.topic, self.reply)


@_register
@attrs.frozen(kw_only=True)
class SolutionUnaccepted(Event):
    """``by`` withdrew the accepted solution of ``topic``."""

    type: ClassVar[str] = "solution-unaccepted"
    topic: str = attrs.field(validator=v.identifier)
    by: str = _member_field()

    def natural_key(self) -> str:
        return key_of(self.topic)


@_register
@attrs.frozen(kw_only=True)
class PostRemoved(Event):
    """A moderator removed a post; every award it earned is clawed back by reversal.

    ``reason`` ``"spam"`` or ``"abuse"`` also takes back badges the post earned.
    """

    type: ClassVar[str] = "post-removed"
    post: str = attrs.field(validator=v.identifier)
    by: str = _member_field()
    reason: str = attrs.field(default="removed", validator=v.identifier)

    def natural_key(self) -> str:
        return key_of(self.post)


@_register
@attrs.frozen(kw_only=True)
class PostRestored(Event):
    """A moderator restored a removed post (undeleted it).

    It gets back exactly what its removal took back, by new entries; the spam
    penalty, if any, is reversed.
    """

    type: ClassVar[str] = "post-restored"
    post: str = attrs.field(validator=v.identifier)
    by: str = _member_field()

    def natural_key(self) -> str:
        return key_of(self.post)


@_register
@attrs.frozen(kw_only=True)
class PointsAdjusted(Event):
    """Staff adjusted a member's points and/or reputation by hand, saying why."""

    type: ClassVar[str] = "points-adjusted"
    member: str = _member_field()
    points: int = attrs.field(default=0, validator=v.integer)
    reputation: int = attrs.field(default=0, validator=v.integer)
    reason: str = attrs.field(validator=v.identifier)
    by: str = _member_field()

    def __attrs_post_init__(self) -> None:
        if self.points == 0 and self.reputation == 0:
            raise InvalidInput("an adjustment needs a non-zero points= or reputation=")

    def natural_key(self) -> str:
        """The content *and the time* (in UTC): the same adjustment a day later is another one.

        ``Community.adjust`` and ``record(PointsAdjusted(...))`` derive the same
        id from this, so mixing them never credits one adjustment twice.
        """
        if self.at is None:  # not dated yet: the engine dates every fact before deriving its id
            return key_of(*self.content().values())
        return key_of(*self.content().values(), self.at.astimezone(UTC).isoformat())


def _utc_text(value: Any) -> Any:
    """A datetime as UTC ISO 8601 text (what a policy change keeps as ``effective``)."""
    if isinstance(value, datetime):
        v.check_time("effective", value)
        return value.astimezone(UTC).isoformat()
    return value


def _iso_time(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"{attr.name} must be a datetime, got {v.shown(value)}")
    v.check_time(attr.name, v.to_datetime(value))


def _policy_content(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.startswith("{"):
        raise InvalidInput(
            f"{attr.name} must be a policy as JSON (kudos.history.to_json(policy)), "
            f"got {v.shown(value)}"
        )


def _optional_version(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        v.integer(inst, attr, value)
        if value < 1:
            raise InvalidInput(f"{attr.name} must be a policy version (1 or more), got {value}")


@_register
@attrs.frozen(kw_only=True)
class PolicyChanged(Event):
    """The community's policy changed: facts from ``effective`` on are valued under ``policy``.

    ``policy`` is the new policy as JSON (:func:`kudos.history.to_json`),
    ``effective`` when it takes effect (UTC ISO 8601 text; a datetime is
    converted). Facts already recorded keep their value, unless
    ``retroactive``: then what history is worth under the new rules (every
    fact from ``effective`` on) is worked out, and the difference per ledger
    line it revalues booked as ``policy_recalculated`` lines of this event.
    :meth:`kudos.Community.change_policy` records it, with ``replaces`` the
    number of the latest version when it was asked for (part of a derived id,
    so going back to an earlier policy is a new fact, not a replay of the
    change that first adopted it); ``None`` when the host gives the id.
    """

    type: ClassVar[str] = "policy-changed"
    policy: str = attrs.field(validator=_policy_content, repr=False)
    effective: str = attrs.field(converter=_utc_text, validator=_iso_time)
    retroactive: bool = attrs.field(default=False, validator=v.boolean)
    by: str = _member_field()
    reason: str = attrs.field(validator=v.reason)
    replaces: int | None = attrs.field(default=None, validator=_optional_version)

    def natural_key(self) -> str:
        """The new policy's fingerprint, when it takes effect, whether retroactively,
        and the version it replaces (when known)."""
        digest = hashlib.sha256(self.policy.encode("utf-8")).hexdigest()[:32]
        parts = [digest, self.effective, "retroactive" if self.retroactive else "onward"]
        if self.replaces is not None:
            parts.append(f"after-{self.replaces}")
        return key_of(*parts)


_OMITTED_WHEN_UNSET[PolicyChanged] = ("replaces",)


# --- Stack Exchange's own facts ----------------------------------------------


@_register
@attrs.frozen(kw_only=True)
class PostMadeWiki(Event):
    """``post`` became community wiki: votes on it from now on earn no one anything."""

    type: ClassVar[str] = "post-made-wiki"
    post: str = attrs.field(validator=v.identifier)

    def natural_key(self) -> str:
        return key_of(self.post)


def _positive(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    v.integer(inst, attr, value)
    if value <= 0:
        raise InvalidInput(f"{attr.name} must be more than zero, got {value}")


def _optional_positive(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _positive(inst, attr, value)


@_register
@attrs.frozen(kw_only=True)
class BountyOffered(Event):
    """``by`` offered ``amount`` reputation on ``topic`` as ``bounty``, paid at once."""

    type: ClassVar[str] = "bounty-offered"
    bounty: str = attrs.field(validator=v.identifier)
    topic: str = attrs.field(validator=v.identifier)
    by: str = _member_field()
    amount: int = attrs.field(validator=_positive)

    def natural_key(self) -> str:
        return key_of(self.bounty)


@_register
@attrs.frozen(kw_only=True)
class BountyAwarded(Event):
    """``bounty`` went to ``reply``: its author receives the bounty (or ``amount``, e.g. half).

    Stack Exchange awards half a bounty nobody awarded to the top answer posted
    after it started (with a score of 2 or more); pass that ``amount``.
    """

    type: ClassVar[str] = "bounty-awarded"
    bounty: str = attrs.field(validator=v.identifier)
    reply: str = attrs.field(validator=v.identifier)
    amount: int | None = attrs.field(default=None, validator=_optional_positive)

    def natural_key(self) -> str:
        return key_of(self.bounty)


@_register
@attrs.frozen(kw_only=True)
class BountyRefunded(Event):
    """``bounty`` was refunded to its offerer (Stack Exchange: a moderator's decision)."""

    type: ClassVar[str] = "bounty-refunded"
    bounty: str = attrs.field(validator=v.identifier)
    by: str = _member_field()
    reason: str = attrs.field(default="refunded", validator=v.identifier)

    def natural_key(self) -> str:
        return key_of(self.bounty)


@_register
@attrs.frozen(kw_only=True)
class SuggestedEditApproved(Event):
    """``member``'s suggested edit ``edit`` of ``post`` was approved."""

    type: ClassVar[str] = "suggested-edit-approved"
    edit: str = attrs.field(validator=v.identifier)
    post: str = attrs.field(validator=v.identifier)
    member: str = _member_field()

    def natural_key(self) -> str:
        return key_of(self.edit)


@_register
@attrs.frozen(kw_only=True)
class AssociationBonusGranted(Event):
    """``member`` linked an account in good standing elsewhere on the host's network.

    Stack Exchange: +100 once, for 200 or more reputation on another site.
    """

    type: ClassVar[str] = "association-bonus-granted"
    member: str = _member_field()

    def natural_key(self) -> str:
        return key_of(self.member)


# --- referrals ---------------------------------------------------------------


@_register
@attrs.frozen(kw_only=True)
class ReferralMade(Event):
    """``referrer`` brought in ``member``; the referral is pending until qualified."""

    type: ClassVar[str] = "referral-made"
    referrer: str = _member_field()
    member: str = _member_field()
    code: str | None = attrs.field(default=None, validator=v.optional_identifier)
    fingerprints: tuple[str, ...] = attrs.field(
        default=(), converter=v.to_tuple, validator=v.identifiers
    )

    def natural_key(self) -> str:
        return key_of(self.member)


@_register
@attrs.frozen(kw_only=True)
class ReferralQualified(Event):
    """The referred ``member`` became a real customer (e.g. activated their SIM).

    ``fingerprints`` are opaque hashes known only now (e.g. of the card that
    paid the first top-up), checked by the fraud rules with the others.
    """

    type: ClassVar[str] = "referral-qualified"
    member: str = _member_field()
    fingerprints: tuple[str, ...] = attrs.field(
        default=(), converter=v.to_tuple, validator=v.identifiers
    )

    def natural_key(self) -> str:
        return key_of(self.member)


@_register
@attrs.frozen(kw_only=True)
class ReferralRevoked(Event):
    """The referred ``member`` left or charged back; the referral's rewards are reversed."""

    type: ClassVar[str] = "referral-revoked"
    member: str = _member_field()
    reason: str = attrs.field(default="revoked", validator=v.identifier)

    def natural_key(self) -> str:
        return key_of(self.member)


@_register
@attrs.frozen(kw_only=True)
class ReferralReviewed(Event):
    """Staff approved or rejected a referral held for review."""

    type: ClassVar[str] = "referral-reviewed"
    member: str = _member_field()
    approve: bool = attrs.field(validator=v.boolean)
    by: str = _member_field()

    def natural_key(self) -> str:
        return key_of(self.member)


@_register
@attrs.frozen(kw_only=True)
class ReferralsExpired(Event):
    """A sweep: every referral still pending past the policy's window at ``as_of`` expires."""

    type: ClassVar[str] = "referrals-expired"
    as_of: datetime = attrs.field(validator=_required_time, metadata={TIME_FIELD: True})

    def content(self) -> dict[str, Any]:
        return {**super().content(), "as_of": self.as_of.isoformat()}


@_register
@attrs.frozen(kw_only=True)
class ReferralCodeIssued(Event):
    """``member`` was given the referral ``code`` a host puts in their invitation link.

    The code is part of the fact, so replaying the log gives every member the
    same code again; one code per member (the derived id is the member's).
    """

    type: ClassVar[str] = "referral-code-issued"
    member: str = _member_field()
    code: str = attrs.field(validator=v.identifier)

    def natural_key(self) -> str:
        return key_of(self.member)


# --- ideas -------------------------------------------------------------------


@_register
@attrs.frozen(kw_only=True)
class IdeaVoted(Event):
    """``voter`` voted for the idea topic ``idea``."""

    type: ClassVar[str] = "idea-voted"
    idea: str = attrs.field(validator=v.identifier)
    voter: str = _member_field()


@_register
@attrs.frozen(kw_only=True)
class IdeaVoteWithdrawn(Event):
    """``voter`` took back their vote on ``idea``."""

    type: ClassVar[str] = "idea-vote-withdrawn"
    idea: str = attrs.field(validator=v.identifier)
    voter: str = _member_field()


@_register
@attrs.frozen(kw_only=True)
class IdeaStatusSet(Event):
    """Staff moved ``idea`` to ``status`` (``duplicate_of`` names the canonical idea)."""

    type: ClassVar[str] = "idea-status-set"
    idea: str = attrs.field(validator=v.identifier)
    status: str = attrs.field(validator=v.identifier)
    by: str = _member_field()
    note: str = attrs.field(default="", validator=v.text)
    duplicate_of: str | None = attrs.field(default=None, validator=v.optional_identifier)

    def natural_key(self) -> str:
        return key_of(self.idea, self.status)


# --- payback -----------------------------------------------------------------


@_register
@attrs.frozen(kw_only=True)
class PayoutMethodChosen(Event):
    """``member`` chose how to be paid: ``credit``, ``cash`` or ``charity``."""

    type: ClassVar[str] = "payout-method-chosen"
    member: str = _member_field()
    method: str = attrs.field(validator=v.identifier)
    charity: str | None = attrs.field(default=None, validator=v.optional_identifier)


@_register
@attrs.frozen(kw_only=True)
class PaybackPeriodClosed(Event):
    """The payback ``period`` was closed: its points are converted and paid out."""

    type: ClassVar[str] = "period-closed"
    period: str = attrs.field(validator=v.identifier)
    by: str | None = attrs.field(default=None, validator=v.optional_identifier)

    def natural_key(self) -> str:
        return key_of(self.period)


@_register
@attrs.frozen(kw_only=True)
class PayoutPaid(Event):
    """The host paid ``payout``; ``reference`` is its own (PayPal id, credit note ...)."""

    type: ClassVar[str] = "payout-paid"
    payout: str = attrs.field(validator=v.identifier)
    reference: str = attrs.field(validator=v.identifier)

    def natural_key(self) -> str:
        return key_of(self.payout)


@_register
@attrs.frozen(kw_only=True)
class PayoutFailed(Event):
    """Paying ``payout`` failed; its points return to the member by reversal."""

    type: ClassVar[str] = "payout-failed"
    payout: str = attrs.field(validator=v.identifier)
    reason: str = attrs.field(default="failed", validator=v.identifier)

    def natural_key(self) -> str:
        return key_of(self.payout)


# --- refusals ----------------------------------------------------------------


@_register
@attrs.frozen(kw_only=True)
class EventRefused(Event):
    """kudos refused the fact recorded under the host's ``refused_id``; kept so a
    re-delivery of that id gets the same answer (see ``Community.record``).

    kudos writes these itself; they change no balance, and replaying the log skips them.
    """

    type: ClassVar[str] = "event-refused"
    refused_id: str = attrs.field(validator=v.identifier)
    refused_type: str = attrs.field(validator=v.identifier)
    refused_content: dict[str, Any] = attrs.field(factory=dict, validator=v.json_object)
    error: str = attrs.field(validator=v.identifier)
    message: str = attrs.field(validator=v.text)

    def natural_key(self) -> str:
        return key_of(self.refused_id)


# --- abuse ---------------------------------------------------------------------


@_register
@attrs.frozen(kw_only=True)
class SerialVotesReversed(Event):
    """A daily sweep: every award of the serial kudos of ``day`` (``YYYY-MM-DD``) is reversed."""

    type: ClassVar[str] = "serial-votes-reversed"
    day: str = attrs.field(validator=[v.identifier, v.iso_day])

    def natural_key(self) -> str:
        return key_of(self.day)


def _some(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        raise InvalidInput(f"{attr.name} must name at least one, got none")


def _member_set(value: Any) -> Any:
    """A list of member ids as a sorted tuple (a group is a set: its order says nothing)."""
    items = v.to_tuple(value)
    if isinstance(items, tuple) and all(isinstance(i, str) for i in items):
        return tuple(sorted(items))
    return items


@_register
@attrs.frozen(kw_only=True)
class VoteRingReversed(Event):
    """Staff (``by``) reversed what the kudos inside the vote ring ``members`` paid in ``period``.

    ``members`` is a set of member ids (kept sorted); the ring must be one the
    policy's ``abuse`` rules flag in that period.
    """

    type: ClassVar[str] = "vote-ring-reversed"
    period: str = attrs.field(validator=v.identifier)
    members: tuple[str, ...] = attrs.field(converter=_member_set, validator=[v.identifiers, _some])
    by: str = _member_field()
    reason: str = attrs.field(default="vote ring", validator=v.reason)

    def natural_key(self) -> str:
        return key_of(self.period, *self.members)


@_register
@attrs.frozen(kw_only=True)
class FingerprintsReported(Event):
    """The host reports opaque hashes (device, payment, address) of ``member``'s account.

    They join the fingerprints given at ``join`` and at referrals, which the
    referral fraud rules and the policy's ``abuse.same_fingerprint`` read.
    """

    type: ClassVar[str] = "fingerprints-reported"
    member: str = _member_field()
    fingerprints: tuple[str, ...] = attrs.field(
        converter=v.to_tuple, validator=[v.identifiers, _some]
    )

    def natural_key(self) -> str:
        return key_of(self.member, *sorted(self.fingerprints))


@_register
@attrs.frozen(kw_only=True)
class PayoutHeld(Event):
    """Staff (``by``) put ``member``'s payout of ``period`` under review, saying why."""

    type: ClassVar[str] = "payout-held"
    member: str = _member_field()
    period: str = attrs.field(validator=v.identifier)
    by: str = _member_field()
    reason: str = attrs.field(validator=v.reason)

    def natural_key(self) -> str:
        return key_of(self.member, self.period)


@_register
@attrs.frozen(kw_only=True)
class PayoutReleased(Event):
    """Staff (``by``) ended the review of ``member``'s payout of ``period``."""

    type: ClassVar[str] = "payout-released"
    member: str = _member_field()
    period: str = attrs.field(validator=v.identifier)
    by: str = _member_field()
    reason: str = attrs.field(default="reviewed", validator=v.reason)

    def natural_key(self) -> str:
        return key_of(self.member, self.period)


# --- support -------------------------------------------------------------------


@_register
@attrs.frozen(kw_only=True)
class FeelingSet(Event):
    """``by`` (the topic's author) says how they feel about ``topic`` now.

    The feeling must be one of the policy's ``support.feelings``; a later
    ``FeelingSet`` of the same topic replaces it (give each change its own
    ``event_id``, or let kudos derive one from the topic and the feeling).
    """

    type: ClassVar[str] = "feeling-set"
    topic: str = attrs.field(validator=v.identifier)
    feeling: str = attrs.field(validator=v.identifier)
    by: str = _member_field()


@_register
@attrs.frozen(kw_only=True)
class TopicDeflected(Event):
    """``by`` found their answer in the suggested ``topic`` and did not post (once per member)."""

    type: ClassVar[str] = "topic-deflected"
    topic: str = attrs.field(validator=v.identifier)
    by: str = _member_field()


@_register
@attrs.frozen(kw_only=True)
class TopicFollowed(Event):
    """``member`` follows ``topic`` (the host reports it; kudos counts the people involved)."""

    type: ClassVar[str] = "topic-followed"
    topic: str = attrs.field(validator=v.identifier)
    member: str = _member_field()


@_register
@attrs.frozen(kw_only=True)
class TopicUnfollowed(Event):
    """``member`` stopped following ``topic``."""

    type: ClassVar[str] = "topic-unfollowed"
    topic: str = attrs.field(validator=v.identifier)
    member: str = _member_field()


@_register
@attrs.frozen(kw_only=True)
class ShiftReported(Event):
    """Staff member ``member`` is on duty from ``start`` to ``end`` (exclusive).

    ``product`` limits the shift to one product's community (``None``: every
    product). ``shift`` is the host's id of the shift; reporting it again with
    other fields replaces it (each distinct report is its own generation; the
    same fields again are a replay), and
    ``end`` equal to ``start`` cancels it.
    """

    type: ClassVar[str] = "shift-reported"
    shift: str = attrs.field(validator=v.identifier)
    member: str = _member_field()
    start: datetime = attrs.field(validator=_required_time, metadata={TIME_FIELD: True})
    end: datetime = attrs.field(validator=_required_time, metadata={TIME_FIELD: True})
    product: str | None = attrs.field(default=None, validator=v.optional_identifier)

    def content(self) -> dict[str, Any]:
        out = super().content()
        out["start"] = self.start.isoformat()
        out["end"] = self.end.isoformat()
        return out

    def natural_key(self) -> str:
        return key_of(self.shift, self.start.isoformat(), self.end.isoformat())
