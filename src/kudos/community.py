"""Community: the object a host talks to.

The host reports what happened with the fact methods (``join``,
``post_topic``, ``give_kudos``, ...), each one event recorded in one store
transaction, and asks questions with the queries (``standing``,
``statement``, ``leaderboard``, ...).
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import attrs

from . import _validate as v
from .abuse.api import AbuseAPI
from .cache import ReadCache
from .channels.api import ChannelsAPI
from .engine import core as engine
from .engine.base import Clock, CommunityBase, subscribers_of, utc_now
from .engine.bulk import Preloaded
from .engine.registry import HANDLERS as HANDLERS  # the capabilities register their handlers
from .errors import InvalidInput, RebuildMismatch
from .events import (
    AssociationBonusGranted,
    BountyAwarded,
    BountyOffered,
    BountyRefunded,
    DownVoted,
    DownVoteWithdrawn,
    Event,
    KudosGiven,
    KudosWithdrawn,
    MemberDeleted,
    MemberJoined,
    PointsAdjusted,
    PolicyChanged,
    PostMadeWiki,
    PostRemoved,
    PostRestored,
    ReplyPosted,
    SolutionAccepted,
    SolutionUnaccepted,
    SuggestedEditApproved,
    TopicPosted,
)
from .explain.lines import render_lines
from .explain.report import CLOSE_EVENT, Refusal, SimulationReport, build_report
from .health.api import HealthAPI
from .history.api import PolicyHistoryAPI
from .history.handlers import replay
from .history.state import PolicyState
from .history.timeline import Timeline
from .ideas.api import IdeasAPI
from .leaderboards.api import LeaderboardsAPI
from .model import (
    LedgerEntry,
    Member,
    Notification,
    Outcome,
    Post,
    Standing,
    Statement,
    StoredEvent,
)
from .payback.api import PaybackAPI
from .policy import Policy
from .recognition.api import RecognitionAPI
from .referrals.api import ReferralsAPI
from .stores.memory import MemoryStore, MemoryTransaction
from .stores.protocol import Store, Transaction
from .support.api import SupportAPI

__all__ = ["SHARED_CACHE", "Community", "RebuildReport", "Simulation", "StandingChange", "open"]

SHARED_CACHE = ReadCache()
"""The read cache of every :class:`Community` built without ``cache=`` (freshness ``"checked"``)."""


@attrs.frozen(kw_only=True)
class RebuildReport:
    """What :meth:`Community.rebuild` replayed."""

    events: int
    entries: int
    members: int


@attrs.frozen(kw_only=True)
class StandingChange:
    """One member's standing now and under another policy."""

    member: str
    before: Standing
    after: Standing

    @property
    def points(self) -> int:
        """Change in lifetime points."""
        return self.after.lifetime_points - self.before.lifetime_points

    @property
    def reputation(self) -> int:
        """Change in reputation."""
        return self.after.reputation - self.before.reputation


@attrs.frozen(kw_only=True)
class Simulation:
    """What :meth:`Community.simulate` found.

    Attributes:
        policy: the name of the policy simulated.
        changes: the members whose standing would differ.
        rejected: ``(event id, reason)`` of events the other policy would refuse.
        standings: every member's standing under the other policy.
        extras: further comparisons contributed by capabilities (e.g. payouts).
        report: the diff member by member, sorted by impact, with totals and the
            rules responsible (:class:`kudos.explain.report.SimulationReport`;
            ``report.text()`` and ``report.markdown()`` render it).
    """

    policy: str
    changes: tuple[StandingChange, ...]
    rejected: tuple[tuple[str, str], ...]
    standings: dict[str, Standing]
    extras: dict[str, Any] = attrs.field(factory=dict)
    report: SimulationReport = attrs.field(eq=False, repr=False)


def compute_standing(tx: Transaction, policy: Policy, member_id: str, now: datetime) -> Standing:
    """A member's standing read from ``tx`` (used for the store and for simulations)."""
    member = engine.get_member(tx, member_id)
    period = engine.booking_period(tx, policy, now)
    values = tx.counters_of(member_id, ["all", period])
    # By name: the same order on every store and table layout.
    counters = {m: v for (m, scope), v in sorted(values.items()) if scope == "all"}
    counters.pop("points", None)  # the balance: what this period's ``points`` shows
    fields: dict[str, Any] = {
        "member": member_id,
        "role": member.role,
        "period": period,
        "points": values.get(("points", period), 0),
        "lifetime_points": counters.pop(engine.EARNED_POINTS, 0),
        "reputation": counters.pop("reputation", 0),
        "counters": counters,
    }
    for part in engine.standing_parts():
        fields.update(part(tx, policy, member, now))
    return Standing(**fields)


class Community(
    RecognitionAPI,
    ReferralsAPI,
    IdeasAPI,
    PaybackAPI,
    LeaderboardsAPI,
    AbuseAPI,
    SupportAPI,
    ChannelsAPI,
    HealthAPI,
    PolicyHistoryAPI,
    CommunityBase,
):
    """A rewarded community: report facts, ask for standings.

    Args:
        store: where events, the ledger and projections live
            (default: a new :class:`~kudos.MemoryStore`).
        policy: what actions are worth. The store remembers the policy of
            each community (recorded with its first write): ``None`` uses the
            stored one. A community never written to and opened without
            ``policy=`` records :func:`kudos.policies.giffgaff` as its
            version 1 with its first write, so pass your policy the first
            time. A policy given must hold the stored one's settings
            (:class:`~kudos.PolicyMismatch` otherwise; see
            :meth:`change_policy` to change it).
        community: the id of this community in a store shared by several.
        clock: returns the current time (timezone-aware); tests pass
            :class:`kudos.testing.FakeClock`.
        cache: the read cache (default: one shared by every ``Community`` of
            the process built without ``cache=``, so a ``Community`` built per
            request still finds cached results); ``None`` disables caching.
            See :mod:`kudos.cache` for what a cached read guarantees.

    >>> import kudos
    >>> c = kudos.Community()
    >>> _ = c.join("alice"); _ = c.join("bob")
    >>> _ = c.post_topic("t1", author="bob", title="No data abroad")
    >>> _ = c.post_reply("r1", topic="t1", author="alice")
    >>> c.give_kudos("r1", giver="bob").total("alice", "reputation") > 0
    True

    Raises:
        PolicyMismatch: the store recorded a policy for ``community`` whose
            content differs from ``policy``; nothing is written.
    """

    def __init__(
        self,
        store: Store | None = None,
        policy: Policy | None = None,
        *,
        community: str = "default",
        clock: Clock | None = None,
        cache: ReadCache | None = SHARED_CACHE,
    ) -> None:
        if policy is not None and not isinstance(policy, Policy):
            raise InvalidInput(f"policy must be a kudos.Policy, got {type(policy).__name__}")
        v.check_id("community", community)
        self.store: Store = store if store is not None else MemoryStore()
        self.id = community
        self.clock = clock or utc_now
        identity = getattr(self.store, "identity", None)
        if cache is None:
            cache = ReadCache(0)
        elif identity is None:
            # A store that cannot say which database it is: results stay with this object.
            cache, identity = cache.fresh(), ("store", id(self.store))
        self.cache = cache
        self._namespace = (identity, community)
        # What this process's writes are counted under: every store that may share the data.
        self._writes = (getattr(self.store, "data_key", identity), community)
        self._subscribers = subscribers_of(self._namespace)
        self._policies = PolicyState(self._writes, community, policy, _default_policy, now=self.now)
        self._policies.open(self._read_raw)

    def __repr__(self) -> str:
        return f"Community({self.id!r}, policy={self.policy.name!r}, store={self.store!r})"

    # -- members and posts ------------------------------------------------------------
    def join(
        self,
        member: str,
        *,
        role: str = "member",
        referred_by: str | None = None,
        referral_code: str | None = None,
        fingerprints: Sequence[str] = (),
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Member:
        """Report a new member; ``referred_by``/``referral_code`` records a pending referral.

        Raises:
            NotAllowed: the member already joined (under another event id).
        """
        self.record(
            MemberJoined(
                member=member,
                role=role,
                referred_by=referred_by,
                referral_code=referral_code,
                fingerprints=fingerprints,
                at=at,
                event_id=event_id,
            )
        )
        return self.member(member)

    def delete_member(
        self, member: str, *, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``member`` deleted their account: their posts stay, owned by no one.

        Votes on those posts stay valid and count, replies under them are
        accepted, but nothing is awarded to the account from now on (what it
        earned before stays). An importer reports a post of an unknown, deleted
        account as a post by such a member.

        Raises:
            UnknownMember: never joined.
            NotAllowed: already deleted.
        """
        return self.record(MemberDeleted(member=member, at=at, event_id=event_id))

    def member(self, member: str) -> Member:
        """The member as kudos knows them.

        Raises:
            UnknownMember: never joined.
        """
        v.require_id("member", member)
        return self._read(lambda tx: engine.get_member(tx, member))

    def post(self, post: str) -> Post:
        """A topic or reply as kudos knows it.

        Raises:
            UnknownPost: never reported.
        """
        v.require_id("post", post)
        return self._read(lambda tx: engine.get_post(tx, post))

    def post_topic(
        self,
        topic: str,
        *,
        author: str,
        kind: str = "question",
        title: str = "",
        tags: Sequence[str] = (),
        product: str | None = None,
        feeling: str | None = None,
        body: str | None = None,
        praised: str | None = None,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Report a topic: ``kind`` is ``question``, ``problem``, ``idea``, ``praise`` or ``talk``.

        ``feeling`` is one of the policy's ``support.feelings``; ``body`` is optional
        text (an excerpt, or the whole post) that similar-topic search also
        matches: only its first 10,000 characters are kept and indexed, the rest
        is ignored; ``praised`` names the member a praise topic thanks (they earn
        ``praise_received``).

        Raises:
            InvalidInput: an unknown kind or feeling (the message lists the allowed
                ones); ``title`` over 10,000 characters; ``title`` or ``body`` not
                text or holding a NUL byte or a lone surrogate (anywhere in ``body``).
            NotAllowed: the topic id was used, or ``praised`` on a kind that cannot
                praise, or the author praising themselves.
        """
        return self.record(
            TopicPosted(
                topic=topic,
                author=author,
                kind=kind,
                title=title,
                tags=tags,
                product=product,
                feeling=feeling,
                body=body,
                praised=praised,
                at=at,
                event_id=event_id,
            )
        )

    def post_reply(
        self,
        reply: str,
        *,
        topic: str,
        author: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Report a reply on ``topic`` (official when staff wrote it)."""
        return self.record(
            ReplyPosted(reply=reply, topic=topic, author=author, at=at, event_id=event_id)
        )

    def give_kudos(
        self, post: str, *, giver: str, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``giver`` gives kudos to a reply or topic.

        Raises:
            NotAllowed: own post, kudos already given, not enough reputation.
        """
        return self.record(KudosGiven(post=post, giver=giver, at=at, event_id=event_id))

    def withdraw_kudos(
        self, post: str, *, giver: str, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``giver`` takes back their kudos; exactly what it gave is reversed."""
        return self.record(KudosWithdrawn(post=post, giver=giver, at=at, event_id=event_id))

    def down_vote(
        self, post: str, *, voter: str, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``voter`` down-votes a post (only where ``Policy.down_votes`` is on).

        A down-vote replaces the voter's kudos on the same post, if any.
        """
        return self.record(DownVoted(post=post, voter=voter, at=at, event_id=event_id))

    def withdraw_down_vote(
        self, post: str, *, voter: str, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``voter`` takes back their down-vote."""
        return self.record(DownVoteWithdrawn(post=post, voter=voter, at=at, event_id=event_id))

    def accept_solution(
        self,
        topic: str,
        *,
        reply: str,
        by: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """``by`` (the asker, or staff) accepts ``reply`` as the solution of ``topic``.

        Accepting another reply first unaccepts the current one.
        """
        return self.record(
            SolutionAccepted(topic=topic, reply=reply, by=by, at=at, event_id=event_id)
        )

    def unaccept_solution(
        self, topic: str, *, by: str, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``by`` withdraws the accepted solution of ``topic``; its awards are reversed."""
        return self.record(SolutionUnaccepted(topic=topic, by=by, at=at, event_id=event_id))

    def remove_post(
        self,
        post: str,
        *,
        by: str,
        reason: str = "removed",
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """A moderator removes a post: every award it earned is reversed.

        ``reason="spam"`` or ``"abuse"`` also applies the policy's
        ``removed_as_spam`` penalty and takes back badges the post earned.
        Without an ``event_id``, the id is derived and numbered: the first
        removal is ``post-removed:<post>``, one after the post was restored
        the next free number (``post-removed:<post>#2``, ...). Reported again
        while the post is still removed, it is a retry of the removal in
        force when that one's id has this shape (a replay), and otherwise
        refused.

        Raises:
            NotAllowed: ``by`` is not staff or a moderator, or the post is
                removed already (by another moderator, or under another id).
            Conflict: the removal in force has a derived id's shape and other
                content (another reason).
            UnknownPost: no such post.
        """
        return self.record(PostRemoved(post=post, by=by, reason=reason, at=at, event_id=event_id))

    def restore_post(
        self, post: str, *, by: str, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """A moderator restores a removed post: it gets back exactly what removal took.

        Every award the removal reversed is given again by a new entry (top-ups
        included, under the caps of its own day), the spam penalty is reversed
        and the post counts again. Undoing one of its awards later takes back
        the new entry. Removed ideas cannot be restored. Without an
        ``event_id``, restorations are numbered as removals are
        (``post-restored:<post>``, then ``post-restored:<post>#2``, ...), and
        one reported again while the post is live is a retry alike.

        Raises:
            NotAllowed: ``by`` is not staff or a moderator, the post is not
                removed, or it is an idea.
        """
        return self.record(PostRestored(post=post, by=by, at=at, event_id=event_id))

    def make_wiki(
        self, post: str, *, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``post`` becomes community wiki: later votes on it earn no one anything.

        Votes cast before keep what they earned.

        Raises:
            UnknownPost: never reported.
            NotAllowed: it is community wiki already.
        """
        return self.record(PostMadeWiki(post=post, at=at, event_id=event_id))

    def offer_bounty(
        self,
        bounty: str,
        *,
        topic: str,
        by: str,
        amount: int,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """``by`` offers ``amount`` reputation on ``topic``, paid at once.

        Raises:
            NotAllowed: not enough reputation, the ``set_bounty`` privilege
                withheld, a removed topic, or the bounty id used before.
        """
        return self.record(
            BountyOffered(
                bounty=bounty, topic=topic, by=by, amount=amount, at=at, event_id=event_id
            )
        )

    def award_bounty(
        self,
        bounty: str,
        *,
        reply: str,
        amount: int | None = None,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """The open ``bounty`` goes to ``reply``'s author (all of it, or ``amount``).

        Raises:
            NotAllowed: the bounty is not open, the reply is not on its topic,
                or it is the offerer's own reply.
        """
        return self.record(
            BountyAwarded(bounty=bounty, reply=reply, amount=amount, at=at, event_id=event_id)
        )

    def refund_bounty(
        self,
        bounty: str,
        *,
        by: str,
        reason: str = "refunded",
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Staff refund an open ``bounty``: its offerer gets the amount back by reversal."""
        return self.record(
            BountyRefunded(bounty=bounty, by=by, reason=reason, at=at, event_id=event_id)
        )

    def approve_edit(
        self,
        edit: str,
        *,
        post: str,
        member: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """``member``'s suggested edit of ``post`` was approved (Stack Exchange: +2 each)."""
        return self.record(
            SuggestedEditApproved(edit=edit, post=post, member=member, at=at, event_id=event_id)
        )

    def grant_association_bonus(
        self, member: str, *, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``member`` linked an account in good standing elsewhere: the bonus, once.

        Raises:
            NotAllowed: the member already has it.
        """
        return self.record(AssociationBonusGranted(member=member, at=at, event_id=event_id))

    def adjust(
        self,
        member: str,
        *,
        points: int = 0,
        reputation: int = 0,
        reason: str,
        by: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Staff credit (or debit, with a negative amount) a member by hand, saying why.

        Adjustments are exempt from caps. Without an ``event_id`` the id is
        derived from the adjustment's content and its time (see
        :meth:`kudos.events.PointsAdjusted.natural_key`), exactly as
        ``record(PointsAdjusted(...))`` derives it: a retry of the same
        adjustment at the same ``at`` is one adjustment, the same adjustment at
        another time is another. Give each distinct adjustment its own
        ``event_id`` when two identical ones may share an instant.

        Raises:
            InvalidInput: a zero, non-int or out-of-bound amount, a bad id, an
                empty ``event_id`` or an ``at`` that is not a time kudos takes.
            UnknownMember: ``member`` or ``by`` never joined.
        """
        return self.record(
            PointsAdjusted(
                member=member,
                points=points,
                reputation=reputation,
                reason=reason,
                by=by,
                at=at,
                event_id=event_id,
            )
        )

    # -- queries --------------------------------------------------------------------------
    def standing(self, member: str) -> Standing:
        """The member's points, reputation, counters, rank, badges and privileges.

        Raises:
            UnknownMember: never joined.
        """
        v.require_id("member", member)
        now = self.now()
        return self._cached(
            # The minute too: what pending referrals promise expires with time.
            (
                "standing",
                member,
                self.policy.periods.period_of(now),
                now.replace(second=0, microsecond=0),
            ),
            lambda tx: compute_standing(tx, self.policy, member, now),
        )

    def statement(
        self,
        member: str,
        *,
        period: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        account: str | None = None,
    ) -> Statement:
        """The member's ledger lines (what, why, when), optionally for one payback period.

        Raises:
            UnknownMember: never joined.
            UnknownRecord: ``period`` is not a period of the policy.
            InvalidInput: a naive ``since``/``until``, or an unknown ``account``.
        """
        v.require_id("member", member)
        v.require_aware("since", since)
        v.require_aware("until", until)
        if account is not None and account not in ("points", "reputation"):
            raise InvalidInput(f"account must be 'points' or 'reputation', got {v.shown(account)}")
        if period is not None:
            self.policy.periods.bounds(period)

        def read(tx: Transaction) -> Statement:
            engine.get_member(tx, member)
            lines = render_lines(
                tx,
                self.policy,
                tx.entries(member=member, period=period, since=since, until=until, account=account),
                self._policy_versions(),
            )
            totals = {
                a: sum(e.amount for e in lines if e.account == a) for a in ("points", "reputation")
            }
            fields: dict[str, Any] = {}
            for part in engine.statement_parts():
                fields.update(part(tx, self.policy, member, period))
            return Statement(
                member=member,
                lines=lines,
                totals=totals,
                period=period,
                since=since,
                until=until,
                **fields,
            )

        return self._read(read)

    def ledger(
        self, *, event_id: str | None = None, subject: str | None = None
    ) -> list[LedgerEntry]:
        """Ledger entries of one event or about one subject (a post, a referral ...)."""
        v.check_optional_id("event_id", event_id)
        v.check_optional_id("subject", subject)
        if event_id is None and subject is None:
            raise InvalidInput("ledger() needs event_id= or subject=; use statement() per member")
        return self._read(lambda tx: tx.entries(event_id=event_id, subject=subject))

    def members(self) -> builtins.list[Member]:
        """Every member, ordered by id."""
        return self._read(lambda tx: [engine.member_from_doc(d) for d in tx.find("member")])

    def standings(self) -> builtins.list[Standing]:
        """Every member's :meth:`standing`, ordered by member id: for exports and bulk reads.

        Staff and members with nothing yet are included (leaderboards leave
        them out). Everything is read in one transaction, so the standings
        agree with each other, and in bulk: each kind of document once and
        the counters of the current period and all time in one read, rather
        than a round of queries per member; each standing is then computed
        in memory, as :meth:`standing` computes it (about 100 microseconds a
        member).

        >>> import kudos
        >>> c = kudos.Community()
        >>> _ = c.join("bob"); _ = c.join("alice")
        >>> ", ".join(f"{s.member}: {s.points} points" for s in c.standings())
        'alice: 0 points, bob: 0 points'
        """
        now = self.now()

        def read(tx: Transaction) -> builtins.list[Standing]:
            view = _preloaded(tx, self.policy, now)
            return [compute_standing(view, self.policy, d.key, now) for d in view.find("member")]

        return self._read(read)

    # -- notifications ----------------------------------------------------------------------
    def notifications(
        self,
        *,
        since: int = 0,
        limit: int | None = 100,
        member: str | None = None,
        unacked: bool = False,
    ) -> list[Notification]:
        """Outbox notifications after the cursor ``since`` (a previous ``seq``), in order.

        A delivery worker polls with the last ``seq`` it handled, delivers, then
        :meth:`ack` s them; notifications are written in the same transaction
        as their cause, so none is lost and none is invented.
        """
        v.check_count("since", since, what="a seq")
        v.check_count("limit", limit, optional=True)
        v.check_optional_id("member", member)
        v.check_flag("unacked", unacked)
        return self._read(
            lambda tx: tx.notifications(after=since, limit=limit, member=member, unacked=unacked)
        )

    def ack(self, *seqs: int) -> None:
        """Mark notifications as delivered (``unacked=True`` polls skip them).

        ``seqs`` are notification numbers (``Notification.seq``), any number of them in
        one write. A number that is not in this community's outbox, or already
        acknowledged, is left as it is (no error), so a worker can acknowledge a page again.

        Raises:
            InvalidInput: a seq that is not a whole number.
        """
        for seq in seqs:
            v.check_count("ack() takes notification seqs; each", seq, what="a seq")
        self._write(lambda tx: tx.ack(seqs))

    # -- replay ----------------------------------------------------------------------------
    def rebuild(self) -> RebuildReport:
        """Recompute every projection from the event log.

        Each fact is valued under the policy version in force for it (see
        :meth:`change_policy`), as when it was recorded. The replayed ledger
        must equal the stored one (the ledger is
        append-only); projections are then replaced in one transaction. No
        notification is sent again, and no privilege is checked again (each
        was checked when its event was recorded, or the event was imported
        as trusted history). Python's cyclic garbage collector is paused while
        the log replays, as in :meth:`record_many`.

        Raises:
            RebuildMismatch: the policy now gives a different ledger; use
                :meth:`simulate` to see how.
        """

        def run(tx: Transaction) -> RebuildReport:
            scratch = MemoryStore()
            stored = tx.events()
            versions = tx.policy_versions()
            with scratch.transaction(self.id) as stx:
                # Privileges were checked when each was recorded; each fact is valued
                # under the policy version in force for it.
                replay(stored, versions, stx, fallback=self.policy, what="rebuild()")
                fresh = stx.entries()
                old = tx.entries()
                if fresh != old:
                    first = next(
                        (i for i, (a, b) in enumerate(zip(fresh, old, strict=False)) if a != b),
                        min(len(fresh), len(old)),
                    )
                    raise RebuildMismatch(
                        f"replaying {len(stored)} events under policy {self.policy.name!r} gives "
                        f"{len(fresh)} ledger entries, the ledger holds {len(old)}; they first "
                        f"differ at entry #{first}. Was the policy changed? "
                        "Preview it with simulate()"
                    )
                replayed = [(p.version, p.fingerprint) for p in stx.policy_versions()]
                if versions and replayed != [(p.version, p.fingerprint) for p in versions]:
                    raise RebuildMismatch(
                        f"replaying the log gives {len(replayed)} policy versions, the store "
                        f"holds {len(versions)} (or their content differs)"
                    )
                snapshot = stx.snapshot()
                tx.replace_projections(snapshot)
                members = sum(1 for d in snapshot.docs if d.kind == "member")
            return RebuildReport(events=len(stored), entries=len(fresh), members=members)

        with engine.paused_gc():
            return self._write(run)

    def simulate(
        self,
        policy: Policy,
        *,
        effective: datetime | None = None,
        retroactive: bool = True,
    ) -> Simulation:
        """What every member's standing would be had ``policy`` applied from the start,
        or, with ``effective``, had it been adopted from ``effective`` on.

        Replays the event log into memory; the store is not touched. Events the
        other policy refuses are listed in ``rejected``, not applied. Without
        ``effective``, recorded policy changes are left out: ``policy`` values
        every fact. With ``effective``, it previews
        :meth:`~kudos.Community.change_policy` with the same arguments: each
        fact is valued under the store's own version for it, and, when
        ``retroactive``, under ``policy`` from ``effective`` on (what the
        change would book is exactly the report's moves in points and
        reputation); a change that is not retroactive moves nothing already
        recorded. Python's cyclic garbage collector is paused while the log
        replays. The result's ``report`` is the diff before the change (its
        "before" is the store as it is): every member who moves (points,
        reputation, rank, badges, payouts), largest move first, with totals
        and the rules responsible; ``report.text()`` prints it.

        Args:
            policy: the other policy.
            effective: preview adopting it from this time (timezone-aware);
                ``None``: as if it had always been in force.
            retroactive: with ``effective``: preview a retroactive change.

        Raises:
            InvalidInput: ``policy`` is not a :class:`~kudos.Policy`; or a
                naive ``effective``, or a ``retroactive`` that is not a bool.
        """
        if not isinstance(policy, Policy):
            raise InvalidInput(f"simulate() takes a kudos.Policy, got {type(policy).__name__}")
        v.check_optional_time("effective", effective)
        v.check_flag("retroactive", retroactive)
        now = self.now()
        scratch = MemoryStore()

        def run(tx: Transaction) -> Simulation:
            rejected = []
            refusals: list[Refusal] = []
            versions = tx.policy_versions() if effective is not None else []
            timeline = Timeline(versions, self.policy)

            def facts() -> Iterator[tuple[StoredEvent, Event, int]]:
                seen = 1  # the versions recorded so far
                for row in tx.events():
                    if row.type == PolicyChanged.type:
                        seen += 1
                        continue  # replayed as its version, below (or left out)
                    event = engine.stored_to_event(row)
                    assert event.at is not None
                    yield row, event, seen

            def value(one: MemoryTransaction, fact: tuple[StoredEvent, Event, int]) -> None:
                row, event, seen = fact
                assert event.at is not None
                if effective is None:
                    engine.apply(one, policy, event, notify=False, stored=row)
                    return
                if retroactive and event.at >= effective:
                    version, rules = len(versions) + 1, policy
                else:
                    version, rules = timeline.at(event.at, upto=seen)
                engine.apply(
                    one, rules, event, notify=False, trusted=True, version=version, stored=row
                )

            for (row, _, _), exc in _replay_refusing(scratch, self.id, facts(), value):
                # the other policy's verdict, reported
                rejected.append((row.event_id, str(exc)))
                refusals.append(
                    Refusal(
                        event_id=row.event_id,
                        kind=row.type,
                        reason=str(exc),
                        period=str(row.payload["period"])
                        if row.type == CLOSE_EVENT and row.payload.get("period")
                        else None,
                    )
                )
            with scratch.transaction(self.id) as stx:
                # Every member's standing twice: the store's read in bulk, as standings()
                # does; the scratch's straight from its dicts (a bulk read would copy them).
                view = _preloaded(tx, self.policy, now)
                ids = [d.key for d in view.find("member")]
                before = {m: compute_standing(view, self.policy, m, now) for m in ids}
                after = {
                    m: compute_standing(stx, policy, m, now)
                    for m in ids
                    if stx.get("member", m) is not None
                }
                extras: dict[str, Any] = {}
                for part in engine.simulation_parts():
                    extras.update(part(tx, self.policy, stx, policy))
                report = build_report(
                    current=self.policy,
                    other=policy,
                    before=before,
                    after=after,
                    entries_before=tx.entries(),
                    entries_after=stx.entries(),
                    payouts_before=tx.find("payout"),
                    payouts_after=stx.find("payout"),
                    rejected=refusals,
                    effective=effective,
                    retroactive=retroactive,
                )
            changes = tuple(
                StandingChange(member=m, before=before[m], after=after[m])
                for m in ids
                if m in after and _differs(before[m], after[m])
            )
            return Simulation(
                policy=policy.name,
                changes=changes,
                rejected=tuple(rejected),
                standings=after,
                extras=extras,
                report=report,
            )

        with engine.paused_gc():
            return self._read(run)


_Row = TypeVar("_Row")


@functools.cache
def _default_policy() -> Policy:
    """The giffgaff preset, built once: policies are frozen values, safe to share."""
    from .policies import giffgaff

    return giffgaff()


def _replay_refusing(
    scratch: MemoryStore,
    community: str,
    rows: Iterable[_Row],
    value: Callable[[MemoryTransaction, _Row], None],
) -> list[tuple[_Row, Exception]]:
    """Call ``value`` for each of ``rows`` in order, writing into ``scratch``; the rows
    it raised for, each with its exception, whose writes are all undone.

    The rows share one transaction, each in its own savepoint (a write costs one
    list append more than in ``rebuild()``'s replay), so what the engine learns
    in a transaction (recognition's documents) carries from one row to the next.
    A row that raised before writing anything but its log row (most refusals: a
    rule checked before anything is written) leaves the store as it found it,
    and what was learned in it holds. After a row that raised once it had
    written, the rest go on in a new transaction: what was learned may come
    from writes now undone.
    """
    refused: list[tuple[_Row, Exception]] = []
    left = iter(rows)
    going = True
    while going:
        going = False
        with scratch.transaction(community) as one:
            for row in left:
                savepoint = one.savepoint()
                try:
                    with savepoint:
                        value(one, row)
                except Exception as exc:
                    refused.append((row, exc))
                    if savepoint.undid:
                        going = True
                        break
    return refused


def _preloaded(tx: Transaction, policy: Policy, now: datetime) -> Transaction:
    """``tx`` with what every member's standing reads loaded in bulk (see :class:`Preloaded`)."""
    period = engine.booking_period(tx, policy, now)
    return cast(Transaction, Preloaded(tx, ["all", period]))


def _differs(a: Standing, b: Standing) -> bool:
    """Whether ``a`` and ``b`` differ in more than the role."""
    return a != (b if a.role == b.role else attrs.evolve(b, role=a.role))


def open(  # kudos.open, like io.open
    url: str,
    *,
    policy: Policy | None = None,
    community: str = "default",
    clock: Clock | None = None,
    cache: ReadCache | None = SHARED_CACHE,
    create: bool = True,
    **engine_options: Any,
) -> Community:
    """Open a community on a database URL.

    ``"memory://"`` keeps everything in memory; any SQLAlchemy URL
    (``"sqlite:///community.db"``, ``"postgresql+psycopg://..."``) uses a
    :class:`~kudos.SqlStore`, creating its tables when ``create`` is true.

    ``policy`` is as for :class:`Community`: ``None`` uses the policy the
    store holds for ``community``; an empty community opened without it
    records the giffgaff preset as its version 1 with its first write.

    >>> import kudos
    >>> community = kudos.open("memory://")
    """
    if not isinstance(url, str) or not url:
        raise InvalidInput(f"open() takes a database URL string, got {url!r}")
    store: Store
    if url == "memory://":
        store = MemoryStore()
    else:
        from .stores.sql import SqlStore

        store = SqlStore.from_url(url, create=create, **engine_options)
    return Community(store=store, policy=policy, community=community, clock=clock, cache=cache)
