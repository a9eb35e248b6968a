"""The engine half of referrals: handlers, the join hook and the standing part.

:mod:`kudos.referrals` holds the policy section, the values and the public
API; this module applies them (see that module's docs for the lifecycle, the
documents and counters it keeps and the notifications it sends).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ..engine import core as engine
from ..engine.core import Context, after_event, contributes_standing, handles
from ..errors import NotAllowed, UnknownMember, UnknownRecord
from ..events import (
    MemberJoined,
    ReferralCodeIssued,
    ReferralMade,
    ReferralQualified,
    ReferralReviewed,
    ReferralRevoked,
    ReferralsExpired,
)
from ..model import Doc, Member
from ..stores.protocol import Transaction
from .rules import _PROGRAMME, ReferralBonus, ReferralRules

# The scope of a referrer's lifetime counts kept for caps and bonuses; not "all", so
# that they stay out of the counters a standing shows.
_EVER = "ever"

# --- small helpers -------------------------------------------------------------------


def _subject(member: str) -> str:
    """The ledger subject of the referral that brought ``member`` in."""
    return f"referral:{member}"


def _fingerprint_key(fingerprint: str, member: str) -> str:
    # Length-prefixed, so no choice of values can make two pairs share a key.
    return f"{len(fingerprint)}:{fingerprint}:{member}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _day(at: datetime) -> str:
    return at.date().isoformat()


def _rules(ctx: Context) -> ReferralRules:
    return ctx.policy.referrals


def _require_programme(ctx: Context, doing: str) -> None:
    ctx.require(
        _rules(ctx).enabled,
        f"policy {ctx.policy.name!r} has no referral programme, so kudos cannot {doing}; "
        "turn it on with enabled = true in the policy's [referrals] section",
    )


def _lock(ctx: Context, member: str) -> None:
    # Two facts about one referral (a qualification and a revocation, say) from
    # different app servers must not both act on the state they read.
    ctx.tx.lock([f"referral:{member}"])


def _load(ctx: Context, member: str) -> dict[str, Any]:
    _lock(ctx, member)
    doc = ctx.tx.get("referral", member)
    if doc is None:
        raise UnknownRecord(
            f"member {member!r} has no referral; record one first with "
            f"join({member!r}, referred_by=...) or refer(referrer, {member!r})"
        )
    return dict(doc.data)


def _save(ctx: Context, data: dict[str, Any], status: str) -> None:
    """Write the referral in ``status``, moving it between the programme's figures."""
    old = data.get("status")
    if old != status:
        if old is not None:
            ctx.bump(f"referrals_{old}", _PROGRAMME, -1, period=data["cohort"])
        ctx.bump(f"referrals_{status}", _PROGRAMME, 1, period=data["cohort"])
    data["status"] = status
    ctx.put("referral", data["member"], data, ref=data["referrer"], status=status)


def _not_older(ctx: Context, data: dict[str, Any], what: str) -> None:
    """:meth:`Context.not_older` than the referral's latest step (made, qualified, reviewed)."""
    for key, earlier in (
        ("reviewed_at", "the referral was reviewed"),
        ("qualified_at", "the referral qualified"),
        ("made_at", "the referral was made"),
    ):
        if data.get(key):
            ctx.not_older(data[key], what, earlier, "the referral it refers to")
            return


def _not_open(member: str, data: dict[str, Any], doing: str) -> str:
    """Why a referral in its current state cannot be ``doing``."""
    status = data["status"]
    what = f"the referral of {member!r}"
    if status == "qualified":
        return f"{what} already qualified on {data['qualified_at'][:10]}; it cannot {doing}"
    if status == "held":
        return (
            f"{what} qualified and is held for review; staff decide it with "
            f"review_referral({member!r}, approve=..., by=...), so it cannot {doing}"
        )
    if status == "expired":
        return (
            f"{what} expired on {data['expired_at'][:10]} (pending past the policy's "
            f"referrals.expire_after_days); it cannot {doing}"
        )
    if status == "revoked":
        return f"{what} was revoked ({data['revoke_reason']}); it cannot {doing}"
    if status == "rejected":
        return f"{what} was rejected on review by {data['reviewed_by']!r}; it cannot {doing}"
    return f"{what} is {status}; it cannot {doing}"


# --- fingerprints -----------------------------------------------------------------------


def _add_fingerprints(ctx: Context, member: str, fingerprints: Iterable[str]) -> list[str]:
    """Index ``member``'s new fingerprints; returns all of theirs, sorted."""
    doc = ctx.tx.get("member_fingerprints", member)
    known: list[str] = list(doc.data["fingerprints"]) if doc else []
    new = [f for f in dict.fromkeys(fingerprints) if f not in known]
    for f in new:
        ctx.put(
            "fingerprint",
            _fingerprint_key(f, member),
            {"fingerprint": f, "member": member, "at": ctx.at.isoformat()},
            ref=f,
        )
    if new:
        known = sorted(known + new)
        ctx.put("member_fingerprints", member, {"fingerprints": known})
    return known


def _suspicions(ctx: Context, data: dict[str, Any]) -> list[str]:
    """Why the fraud rules would hold this referral (empty: nothing suspicious)."""
    rules = _rules(ctx)
    member, referrer = data["member"], data["referrer"]
    made = datetime.fromisoformat(data["made_at"])
    span = timedelta(days=rules.fingerprint_window_days)
    reasons = []
    for fingerprint in data["fingerprints"]:
        holders = [d.data["member"] for d in ctx.tx.find("fingerprint", ref=fingerprint)]
        if rules.hold_shared_with_referrer and referrer in holders:
            reasons.append(f"shares fingerprint {fingerprint!r} with its referrer {referrer!r}")
        limit = rules.max_referrals_per_fingerprint
        if not limit:
            continue
        others = []
        for holder in holders:
            doc = ctx.tx.get("referral", holder) if holder != member else None
            if doc is None:
                continue
            if span and abs(datetime.fromisoformat(doc.data["made_at"]) - made) > span:
                continue
            others.append(holder)
        if len(others) >= limit:
            within = (
                f" made within {rules.fingerprint_window_days} days of it"
                if rules.fingerprint_window_days
                else ""
            )
            reasons.append(
                f"fingerprint {fingerprint!r} is on {len(others)} other referrals{within} "
                f"(the policy allows {limit})"
            )
    return reasons


# --- making a referral --------------------------------------------------------------------


def _resolve(ctx: Context, referrer: str | None, code: str | None, member: str) -> str:
    """The referrer named by ``referrer`` and/or ``code``."""
    if code is None:
        assert referrer is not None
        return referrer
    doc = ctx.tx.get("referral_code", code)
    if doc is None:
        raise UnknownRecord(
            f"unknown referral code {code!r} for {member!r}; codes come from "
            "community.referral_code(member): check the link, or record the member "
            "without a referral code"
        )
    assert doc.ref is not None
    ctx.require(
        referrer is None or referrer == doc.ref,
        f"referral code {code!r} belongs to {doc.ref!r}, not to {referrer!r}; "
        "pass the referrer or their code, consistently",
    )
    return doc.ref


def _chain_up(ctx: Context, member: str) -> list[str]:
    """``member``, then who referred them, then who referred that one, ..."""
    chain = [member]
    doc = ctx.tx.get("referral", member)
    while doc is not None and doc.ref is not None and doc.ref not in chain:
        chain.append(doc.ref)
        doc = ctx.tx.get("referral", doc.ref)
    return chain


def _make(
    ctx: Context, referrer: str, member: str, code: str | None, fingerprints: Iterable[str]
) -> None:
    """Record a pending referral of ``member`` by ``referrer``, or refuse it."""
    rules = _rules(ctx)
    ctx.require(
        referrer != member,
        f"member {member!r} cannot refer themselves; a referral brings in someone else",
    )
    if ctx.tx.get("member", referrer) is None:
        raise UnknownMember(
            f"referrer {referrer!r} of {member!r} is not a member; join {referrer!r} first, "
            f"or record {member!r} without a referrer"
        )
    ctx.member(member)
    _lock(ctx, member)
    existing = ctx.tx.get("referral", member)
    ctx.require(
        existing is None,
        f"member {member!r} was already referred by {existing.ref if existing else None!r}; "
        "a member is referred only once",
    )
    if rules.refuse_cycles:
        chain = _chain_up(ctx, referrer)
        if member in chain:
            path = " -> ".join(repr(m) for m in reversed(chain[: chain.index(member) + 1]))
            raise NotAllowed(
                f"{referrer!r} cannot refer {member!r}: that would close a referral cycle "
                f"({path} referred each other in turn); referral cycles are refused "
                "(policy.referrals.refuse_cycles)"
            )
    data: dict[str, Any] = {
        "member": member,
        "referrer": referrer,
        "code": code,
        "made_at": ctx.at.isoformat(),
        "made_event": ctx.event_id,
        "cohort": ctx.policy.periods.period_of(ctx.at),
        "fingerprints": _add_fingerprints(ctx, member, fingerprints),
        "qualified_at": None,
        "qualify_event": None,
        "held_reasons": [],
        "reviewed_by": None,
        "reviewed_at": None,
        "reward_event": None,
        "rewarded_at": None,
        "period": None,
        "capped": False,
        "bonuses": [],
        "rewards": {},
        "revoked_at": None,
        "revoke_reason": None,
        "expired_at": None,
    }
    _save(ctx, data, "pending")
    joined = ctx.tx.get("member", member)
    assert joined is not None
    if joined.data.get("referred_by") != referrer:
        # So that community.member(...).referred_by names the referrer however it was reported.
        ctx.put(
            "member",
            member,
            {**joined.data, "referred_by": referrer},
            ref=joined.ref,
            status=joined.status,
        )
    ctx.touched.update((referrer, member))


@after_event(on=MemberJoined)
def _joined(ctx: Context) -> None:
    """A member joined: index their fingerprints, and record their referral, if any."""
    event = ctx.event
    if not isinstance(event, MemberJoined) or not _rules(ctx).enabled:
        return
    if event.referred_by is None and event.referral_code is None:
        _add_fingerprints(ctx, event.member, event.fingerprints)
        return
    referrer = _resolve(ctx, event.referred_by, event.referral_code, event.member)
    _make(ctx, referrer, event.member, event.referral_code, event.fingerprints)


def _refusable_id(tx: Transaction, event: Any) -> str:
    """The natural id, unless that names an earlier, different report of the fact.

    Then the event gets an id of its own, so that the handler refuses it with
    the reason (already qualified, already referred ...) instead of the
    engine calling it a conflicting replay.
    """
    base = engine.default_id(event)
    known = tx.get_event(base)
    if known is None or {k: v for k, v in known.payload.items() if k != "at"} == event.content():
        return base
    return f"{base}#differs"


@handles(ReferralMade, derive_id=_refusable_id)
def _referral_made(ctx: Context, event: ReferralMade) -> None:
    _require_programme(ctx, f"record {event.referrer!r}'s referral of {event.member!r}")
    referrer = _resolve(ctx, event.referrer, event.code, event.member)
    new = ctx.member(event.member)
    senior = ctx.member(referrer).joined_at
    if senior is not None and new.joined_at is not None:
        # Claiming a member who was already here is not bringing them in.
        ctx.require(
            senior <= new.joined_at,
            f"{referrer!r} joined on {_day(senior)}, after {event.member!r} "
            f"({_day(new.joined_at)}); a member can only refer someone who joined after them",
        )
    days = _rules(ctx).refer_within_days
    if days and new.joined_at is not None:
        ctx.require(
            ctx.at <= new.joined_at + timedelta(days=days),
            f"member {event.member!r} joined on {_day(new.joined_at)}, more than {days} days "
            "before this referral; referrals bring in new members "
            "(policy.referrals.refer_within_days)",
        )
    _make(ctx, referrer, event.member, event.code, event.fingerprints)


@handles(ReferralCodeIssued)
def _code_issued(ctx: Context, event: ReferralCodeIssued) -> None:
    _require_programme(ctx, f"issue a referral code to {event.member!r}")
    ctx.member(event.member)
    mine = ctx.tx.find("referral_code", ref=event.member, limit=1)
    ctx.require(
        not mine,
        f"member {event.member!r} already has referral code {mine[0].key if mine else ''!r}; "
        f"community.referral_code({event.member!r}) returns it",
    )
    ctx.require(
        ctx.tx.get("referral_code", event.code) is None,
        f"referral code {event.code!r} is already someone else's; issue another",
    )
    ctx.put(
        "referral_code",
        event.code,
        {"member": event.member, "issued_at": ctx.at.isoformat()},
        ref=event.member,
    )


# --- qualifying and rewarding ----------------------------------------------------------------


def _bonus_scope(bonus: ReferralBonus, period: str) -> str:
    """The counter scope of the live bonuses of ``bonus``'s tier (one a period, or ever)."""
    return f"{period if bonus.per == 'period' else _EVER}|{bonus.nth}"


def _bonus_due(
    ctx: Context, bonus: ReferralBonus, referrer: str, period: str, counts: dict[str, int]
) -> bool:
    if counts[bonus.per] != bonus.nth:
        return False
    if bonus.within_days_of_joining:
        joined = ctx.member(referrer).joined_at
        if joined is None or ctx.at > joined + timedelta(days=bonus.within_days_of_joining):
            return False
    # One live bonus per tier: a revoked referral's bonus can be earned again.
    return not ctx.counter("cap:referral_bonus", _bonus_scope(bonus, period), referrer)


def _reward(ctx: Context, data: dict[str, Any]) -> None:
    """Count the referral and pay its rewards (within the cap, with bonuses)."""
    rules = _rules(ctx)
    referrer, member = data["referrer"], data["member"]
    # The cap and bonus counts read below must not change before this commits.
    ctx.tx.lock([f"member:{referrer}"])
    subject = _subject(member)
    period = ctx.period
    first = len(ctx.entries)
    ctx.bump("referrals", referrer, 1)
    used = ctx.counter("cap:referrals", period, referrer)
    cap = rules.max_rewarded_per_period
    capped = bool(cap) and used >= cap
    bonuses = []
    if not capped:
        ctx.award(
            referrer,
            "referral_qualified",
            subject=subject,
            reason=f"referral of {member!r} qualified",
        )
        ctx.count_capped("referrals", period, referrer, 1)
        ctx.count_capped("referrals", _EVER, referrer, 1)
        counts = {
            "period": ctx.counter("cap:referrals", period, referrer),
            "all": ctx.counter("cap:referrals", _EVER, referrer),
        }
        for bonus in rules.bonuses:
            if not _bonus_due(ctx, bonus, referrer, period, counts):
                continue
            span = "this period" if bonus.per == "period" else "ever"
            why = f"bonus: {_ordinal(bonus.nth)} rewarded referral {span} ({member!r})"
            for account, amount in (("points", bonus.points), ("reputation", bonus.reputation)):
                ctx.credit(
                    referrer, account, amount, action="referral_bonus", subject=subject, reason=why
                )
            scope = _bonus_scope(bonus, period)
            ctx.count_capped("referral_bonus", scope, referrer, 1)
            bonuses.append(scope)
    ctx.award(
        member,
        "referral_welcome",
        subject=subject,
        reason=f"welcome: joined on the referral of {referrer!r}",
    )
    made = ctx.entries[first:]

    def total(who: str, account: str, action: str | None = None) -> int:
        return sum(
            e.amount
            for e in made
            if e.member == who and e.account == account and action in (None, e.action)
        )

    rewards = {
        "referrer_points": total(referrer, "points"),
        "referrer_reputation": total(referrer, "reputation"),
        "bonus_points": total(referrer, "points", "referral_bonus"),
        "welcome_points": total(member, "points"),
        "welcome_reputation": total(member, "reputation"),
    }
    paid = rewards["referrer_points"] + rewards["welcome_points"]
    ctx.bump("referral_points", _PROGRAMME, paid, period=data["cohort"])
    data.update(
        reward_event=ctx.event_id,
        rewarded_at=ctx.at.isoformat(),
        period=period,
        capped=capped,
        bonuses=bonuses,
        rewards=rewards,
    )
    ctx.touched.update((referrer, member))
    ctx.notify(
        referrer,
        "referral_qualified",
        new_member=member,
        points=rewards["referrer_points"],
        reputation=rewards["referrer_reputation"],
        bonus_points=rewards["bonus_points"],
        capped=capped,
    )
    if rewards["welcome_points"] or rewards["welcome_reputation"]:
        ctx.notify(
            member,
            "referral_welcome",
            referrer=referrer,
            points=rewards["welcome_points"],
            reputation=rewards["welcome_reputation"],
        )


def _hold(ctx: Context, data: dict[str, Any], reasons: list[str]) -> None:
    referrer, member = data["referrer"], data["member"]
    data["held_reasons"] = reasons
    _save(ctx, data, "held")
    ctx.notify(referrer, "referral_held", new_member=member)
    if _rules(ctx).notify_staff:
        for staff in engine.staff_ids(ctx.tx):
            if staff != referrer:
                ctx.notify(
                    staff,
                    "referral_held",
                    new_member=member,
                    referrer=referrer,
                    reasons=list(reasons),
                )
    ctx.touched.update((referrer, member))


@handles(ReferralQualified, derive_id=_refusable_id)
def _referral_qualified(ctx: Context, event: ReferralQualified) -> None:
    _require_programme(ctx, f"qualify the referral of {event.member!r}")
    data = _load(ctx, event.member)
    ctx.require(data["status"] == "pending", _not_open(event.member, data, "qualify"))
    _not_older(ctx, data, f"the qualification of the referral of {event.member!r}")
    deadline = _rules(ctx).expires_at(datetime.fromisoformat(data["made_at"]))
    ctx.require(
        deadline is None or ctx.at < deadline,
        f"the referral of {event.member!r} ran out on {deadline and _day(deadline)} "
        f"(pending longer than {_rules(ctx).expire_after_days} days); it can no longer "
        "qualify, and the next expire_referrals() sweep expires it",
    )
    data["fingerprints"] = _add_fingerprints(ctx, event.member, event.fingerprints)
    data["qualified_at"] = ctx.at.isoformat()
    data["qualify_event"] = ctx.event_id
    reasons = _suspicions(ctx, data)
    if reasons:
        _hold(ctx, data, reasons)
        return
    _reward(ctx, data)
    _save(ctx, data, "qualified")


@handles(ReferralReviewed, derive_id=_refusable_id)
def _referral_reviewed(ctx: Context, event: ReferralReviewed) -> None:
    reviewer = ctx.member(event.by)
    ctx.require(
        reviewer.is_staff or ctx.privilege(event.by, "moderate") is True,
        f"member {event.by!r} may not review referrals: only staff and moderators can",
    )
    data = _load(ctx, event.member)
    ctx.require(
        event.by not in (data["referrer"], data["member"]),
        f"member {event.by!r} may not review a referral they are part of; ask another staff member",
    )
    if data["status"] == "pending":
        raise NotAllowed(
            f"the referral of {event.member!r} is pending, not held; only referrals held "
            "for review are reviewed (qualify_referral() decides whether one is held)"
        )
    ctx.require(data["status"] == "held", _not_open(event.member, data, "be reviewed"))
    _not_older(ctx, data, f"the review of the referral of {event.member!r}")
    data["reviewed_by"] = event.by
    data["reviewed_at"] = ctx.at.isoformat()
    if event.approve:
        _reward(ctx, data)
        _save(ctx, data, "qualified")
        return
    _save(ctx, data, "rejected")
    ctx.notify(data["referrer"], "referral_rejected", new_member=event.member)
    ctx.touched.update((data["referrer"], event.member))


# --- revoking and expiring ------------------------------------------------------------------


def _claw_back(ctx: Context, data: dict[str, Any], reason: str) -> None:
    referrer, member = data["referrer"], data["member"]
    why = f"referral of {member!r} revoked ({reason})"
    for who in dict.fromkeys((referrer, member)):
        ctx.reverse_event(data["reward_event"], why, member=who)
    rewarded = datetime.fromisoformat(data["rewarded_at"])
    ctx.bump("referrals", referrer, -1, period=data["period"], at=rewarded)
    if not data["capped"]:
        ctx.count_capped("referrals", data["period"], referrer, -1)
        ctx.count_capped("referrals", _EVER, referrer, -1)
    for scope in data["bonuses"]:
        ctx.count_capped("referral_bonus", scope, referrer, -1)
    rewards = data["rewards"]
    paid = rewards["referrer_points"] + rewards["welcome_points"]
    ctx.bump("referral_points", _PROGRAMME, -paid, period=data["cohort"])


@handles(ReferralRevoked, derive_id=_refusable_id)
def _referral_revoked(ctx: Context, event: ReferralRevoked) -> None:
    data = _load(ctx, event.member)
    status = data["status"]
    ctx.require(
        status in ("pending", "held", "qualified"), _not_open(event.member, data, "be revoked")
    )
    _not_older(ctx, data, f"the revocation of the referral of {event.member!r}")
    points = 0
    if status == "qualified":
        until = _rules(ctx).revocable_until(datetime.fromisoformat(data["rewarded_at"]))
        ctx.require(
            until is None or ctx.at <= until,
            f"the referral of {event.member!r} was rewarded on {data['rewarded_at'][:10]} and "
            f"could be revoked until {until and _day(until)} "
            f"(policy.referrals.revoke_within_days = {_rules(ctx).revoke_within_days}); "
            "that window has passed. Correct balances by hand with adjust() if you must",
        )
        _claw_back(ctx, data, event.reason)
        points = data["rewards"]["referrer_points"]
    data["revoked_at"] = ctx.at.isoformat()
    data["revoke_reason"] = event.reason
    _save(ctx, data, "revoked")
    ctx.notify(
        data["referrer"],
        "referral_revoked",
        new_member=event.member,
        reason=event.reason,
        points=points,
    )
    ctx.touched.update((data["referrer"], event.member))


@handles(ReferralsExpired)
def _referrals_expired(ctx: Context, event: ReferralsExpired) -> None:
    ctx.require(
        event.as_of <= ctx.at,
        f"a sweep as of {event.as_of.isoformat()} recorded at {ctx.at.isoformat()} looks into "
        "the future; expire only what has already run out",
    )
    rules = _rules(ctx)
    for found in ctx.tx.find("referral", status="pending"):
        deadline = rules.expires_at(datetime.fromisoformat(found.data["made_at"]))
        if deadline is None or deadline > event.as_of:
            continue
        data = _load(ctx, found.key)
        if data["status"] != "pending":  # decided meanwhile by another transaction
            continue
        data["expired_at"] = deadline.isoformat()
        _save(ctx, data, "expired")
        ctx.notify(data["referrer"], "referral_expired", new_member=data["member"])
        ctx.touched.update((data["referrer"], data["member"]))


# --- standing ------------------------------------------------------------------------------


def _live(doc: Doc, rules: ReferralRules, now: datetime) -> bool:
    deadline = rules.expires_at(datetime.fromisoformat(doc.data["made_at"]))
    return deadline is None or now < deadline


@contributes_standing
def _standing(tx: Transaction, policy: Any, member: Member, now: datetime) -> dict[str, Any]:
    """``pending_points``: what the member's pending referrals promise them."""
    if member.is_staff and not policy.staff_earn:
        return {"pending_points": 0}
    rules: ReferralRules = policy.referrals
    waiting = sum(
        1 for d in tx.find("referral", ref=member.id, status="pending") if _live(d, rules, now)
    )
    if rules.max_rewarded_per_period and waiting:
        period = engine.booking_period(tx, policy, now)
        used = tx.counter("cap:referrals", period, member.id)
        waiting = min(waiting, max(0, rules.max_rewarded_per_period - used))
    promised = waiting * policy.reward("referral_qualified").points
    own = tx.get("referral", member.id)
    if own is not None and own.status == "pending" and _live(own, rules, now):
        promised += policy.reward("referral_welcome").points
    return {"pending_points": promised}
