"""Statement lines in words: each ledger line rendered from the policy's templates.

The facts a line references (its event, the event it reverses, the post it
is about and that post's topic, the referral) are read in bulk, a handful of
queries per statement whatever its length, through the optional bulk reads
``events_with_ids`` and ``docs_with_keys`` of kudos's stores (a host's store
without them is read one record at a time).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..model import Doc, LedgerEntry, StatementLine, StoredEvent
from .texts import BY_YOU, DEFAULT_TEXTS, fill

if TYPE_CHECKING:
    from ..policy import Cap, Policy
    from ..stores.protocol import Transaction

__all__ = ["amount_words", "cap_words", "read_docs", "read_events", "render_lines"]

# Lines given again by these facts keep their action but say what gave them back.
_GIVEN_AGAIN = ("post-restored",)
# A post a fact is about, by the payload field naming it (the first present wins).
_POST_FIELDS = ("reply", "post", "idea", "topic")
_ACTOR_FIELDS = ("giver", "voter", "by", "member")
_SPANS = {
    "day": "per day",
    "month": "per month",
    "post": "per post",
    "period": "per payback period",
    "ever": "in a lifetime",
}


def amount_words(amount: int, account: str) -> str:
    """``"+5 points"``, ``"0 points"``, ``"+1 point"``; a debit takes a minus sign (U+2212)."""
    sign = "+" if amount > 0 else "\u2212" if amount < 0 else ""
    unit = account if account != "points" or abs(amount) != 1 else "point"
    return f"{sign}{abs(amount):,} {unit}"


def cap_words(cap: Cap) -> str:
    """A cap in words: ``"1,500 points per month"``, ``"1,000 reputation in a lifetime"``."""
    return f"{cap.limit:,} {cap.account} {_SPANS.get(cap.per, 'per ' + cap.per)}"


def render_lines(
    tx: Transaction,
    policy: Policy,
    entries: Sequence[LedgerEntry],
    versions: Sequence[Policy] = (),
) -> tuple[StatementLine, ...]:
    """``entries`` as :class:`~kudos.model.StatementLine` s, each with its sentence.

    ``versions`` are the community's policy versions (version 1 first): a line is
    worded by the version that paid it (its ``policy``): that version's templates
    (``texts``), caps and reputation floor, so a later change of rules or of
    words does not reword earlier lines. Without them, ``policy``.
    """
    if not entries:
        return ()
    wanted = {e.event_id for e in entries}
    wanted |= {_event_of(e.reverses) for e in entries if e.reverses}
    events = {ev.event_id: ev for ev in read_events(tx, wanted)}
    post_ids = {e.subject for e in entries if e.subject}
    for ev in events.values():
        post_ids.update(str(ev.payload[f]) for f in _POST_FIELDS if ev.payload.get(f))
    posts = {d.key: d for d in read_docs(tx, "post", post_ids)}
    topics = {str(d.data["topic"]) for d in posts.values() if d.data.get("topic")}
    posts.update({d.key: d for d in read_docs(tx, "post", topics - set(posts))})
    referral_ids = {str(e.subject).split(":", 1)[1] for e in entries if _is_referral(e.subject)}
    referrals = {d.key: d for d in read_docs(tx, "referral", referral_ids)}
    zone = _zone(policy.periods.timezone)
    texts: dict[int, Mapping[str, str]] = {}
    lines = []
    for e in entries:
        paid_by = _paid_by(e, policy, versions)
        words = texts.get(id(paid_by))
        if words is None:
            words = texts[id(paid_by)] = _texts(paid_by)
        lines.append(_line(e, paid_by, words, zone, events, posts, referrals, paid_by))
    return tuple(lines)


def _paid_by(e: LedgerEntry, policy: Policy, versions: Sequence[Policy]) -> Policy:
    """The policy version that valued ``e`` (``policy`` when not known)."""
    return versions[e.policy - 1] if 0 < e.policy <= len(versions) else policy


def _line(
    e: LedgerEntry,
    policy: Policy,
    texts: Mapping[str, str],
    zone: ZoneInfo,
    events: Mapping[str, StoredEvent],
    posts: Mapping[str, Doc],
    referrals: Mapping[str, Doc],
    paid_by: Policy,
) -> StatementLine:
    event = events.get(e.event_id)
    payload: Mapping[str, Any] = event.payload if event is not None else {}
    kind = event.type if event is not None else ""
    post = posts.get(e.subject or "") or next(
        (posts[str(payload[f])] for f in _POST_FIELDS if str(payload.get(f, "")) in posts), None
    )
    data: Mapping[str, Any] = post.data if post is not None else {}
    topic = posts.get(str(data.get("topic", ""))) if data.get("topic") else post
    referral = referrals.get(str(e.subject).split(":", 1)[1]) if _is_referral(e.subject) else None
    original = events.get(_event_of(e.reverses)) if e.reverses else None
    values = {
        "member": e.member,
        "actor": next((str(payload[f]) for f in _ACTOR_FIELDS if payload.get(f)), ""),
        "author": str(data.get("author") or "someone"),
        "kind": str(data.get("kind", "post")),
        "post": post.key if post is not None else "",
        # An untitled topic goes by its id.
        "title": str(topic.data.get("title") or topic.key) if topic is not None else "",
        "the_post": _the_post(e.member, post, topic),
        "date": _day(e.at, zone),
        "given_on": _day(original.at if original is not None else e.at, zone, e.at),
        "reason": e.reason,
        "note": str(payload.get("reason") or payload.get("note") or ""),
        "by": str(payload.get("by") or ""),
        "referral": referral.key if referral is not None else str(payload.get("member", "")),
        "referrer": str(referral.data.get("referrer", "")) if referral is not None else "",
        "status": str(payload.get("status", "")).replace("_", " "),
        "period": e.period,
        "floor": str(policy.reputation_floor),
        "version": str(e.policy),
    }
    if e.reverses:
        key = kind if kind in texts else "reversal"
        if values["actor"] == e.member and key + BY_YOU in texts:
            key += BY_YOU
    elif kind in _GIVEN_AGAIN:
        key = kind
    else:
        key = e.action if e.action in texts else "line"
    words = fill(texts[key], values)
    if key == e.action and e.action in paid_by.rewards:
        words = _wrapped(e, paid_by, texts, words, values)
    return StatementLine(
        entry_id=e.entry_id,
        member=e.member,
        account=e.account,
        amount=e.amount,
        action=e.action,
        reason=e.reason,
        event_id=e.event_id,
        subject=e.subject,
        period=e.period,
        at=e.at,
        reverses=e.reverses,
        tags=e.tags,
        policy=e.policy,
        text=f"{amount_words(e.amount, e.account)}: {words}",
        template=key,
    )


def _the_post(member: str, post: Doc | None, topic: Doc | None) -> str:
    """``your question "Hello"``, ``your reply in "Hello"``, ``bob's reply in "Hello"``."""
    if post is None:
        return "the post"
    author = str(post.data.get("author") or "")
    whose = "your" if author == member else f"{author}'s" if author else "the"
    kind = str(post.data.get("kind") or ("reply" if post.data.get("topic") else "post"))
    title = str(topic.data.get("title") or topic.key) if topic is not None else post.key
    joint = " in " if post.data.get("topic") else " "
    return f'{whose} {kind}{joint}"{title}"'


def _wrapped(
    e: LedgerEntry,
    policy: Policy,
    texts: Mapping[str, str],
    words: str,
    values: dict[str, str],
) -> str:
    """The words of an award a cap held back or the reputation floor absorbed in part."""
    full = getattr(policy.reward(e.action, _iso_day(e.at, policy)), e.account)
    caps = [c for c in policy.caps if c.account == e.account and c.covers(e.action)]
    if caps and 0 <= e.amount < full:
        return fill(texts["capped"], {**values, "cap": cap_words(caps[0]), "text": words})
    floor = policy.reputation_floor
    if e.account == "reputation" and floor is not None and full < e.amount <= 0:
        absorbed = f"{e.amount - full:,}"
        return fill(texts["floored"], {**values, "absorbed": absorbed, "text": words})
    return words


def _texts(policy: Policy) -> Mapping[str, str]:
    return {**DEFAULT_TEXTS, **policy.texts}


def read_events(tx: Transaction, ids: Iterable[str]) -> list[StoredEvent]:
    """The logged events among ``ids``, in append order: in one read where the store can.

    Uses the store's optional ``events_with_ids`` bulk read, else ``get_event`` per id.
    """
    bulk = getattr(tx, "events_with_ids", None)
    if bulk is not None:
        return list(bulk(ids))
    found = (tx.get_event(i) for i in set(ids))
    return sorted((e for e in found if e is not None), key=lambda e: e.seq)


def read_docs(tx: Transaction, kind: str, keys: Iterable[str]) -> list[Doc]:
    """The documents of ``kind`` among ``keys``, ordered by key: in one read where it can.

    Uses the store's optional ``docs_with_keys`` bulk read, else ``get`` per key.
    """
    keys = set(keys)
    if not keys:
        return []
    bulk = getattr(tx, "docs_with_keys", None)
    if bulk is not None:
        return list(bulk(kind, keys))
    found = (tx.get(kind, k) for k in sorted(keys))
    return [d for d in found if d is not None]


def _event_of(entry_id: str | None) -> str:
    return (entry_id or "").rsplit("/", 1)[0]


def _is_referral(subject: str | None) -> bool:
    return bool(subject) and str(subject).startswith("referral:")


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _iso_day(at: datetime, policy: Policy) -> str:
    return at.astimezone(_zone(policy.periods.timezone)).date().isoformat()


def _day(at: datetime, zone: ZoneInfo, relative_to: datetime | None = None) -> str:
    """``"3 March 2026"``, or ``"3 March"`` when ``relative_to`` falls in the same year."""
    day = at.astimezone(zone).date()
    same = relative_to is not None and relative_to.astimezone(zone).year == day.year
    return _day_words(day, same)


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@functools.lru_cache(maxsize=4096)
def _day_words(day: date, without_year: bool) -> str:
    words = f"{day.day} {_MONTHS[day.month - 1]}"
    return words if without_year else f"{words} {day.year}"
