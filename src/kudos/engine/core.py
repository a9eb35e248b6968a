"""The engine: applies one event to a store transaction under a policy.

Every capability (posts and kudos, recognition, referrals, ideas, payback)
lives in its own module and plugs in here through three registries:

* :func:`handles` registers the handler of an event type;
* :func:`before_event` registers a check or rewrite run on new events before
  their handler (channels re-point facts naming a merged member);
* :func:`after_event` registers a hook run after handled events
  (recognition re-evaluates ranks and badges of the members it touched).
  Both take ``on=``, the event types a hook acts on; the engine works out
  once per event type which hooks to call (:func:`hooks_for`), so an event
  calls only the hooks that act on its type;
* :func:`contributes_standing` registers a function adding fields to a
  :class:`~kudos.model.Standing`.

A handler reads and writes only through its :class:`Context`, which turns
awards into ledger entries (applying caps and the staff rule), keeps the
counters that leaderboards and standings read, and queues notifications. Only
the context's :meth:`Context.flush` writes to the store, so a handler that
raises leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload
from zoneinfo import ZoneInfo

from .._validate import MAX_AMOUNT, MAX_BALANCE, shown
from ..errors import Conflict, InvalidInput, NotAllowed, UnknownMember, UnknownPost
from ..events import Event, event_from_payload, key_of
from ..leaderboards.rules import METRICS as _BOARD_METRICS
from ..model import Doc, LedgerEntry, Member, Notification, Outcome, Post, StoredEvent
from ..stores.protocol import CounterKey, Transaction
from . import caps as _caps
from .plans import award_plan, cap_scope

if TYPE_CHECKING:
    from ..policy import Cap, Policy

E = TypeVar("E", bound=Event)

Handler = Callable[["Context", Any], None]
IdDeriver = Callable[[Transaction, Any], str]
Hook = Callable[["Context"], None]
StandingPart = Callable[[Transaction, "Policy", Member, datetime], dict[str, Any]]

_HANDLERS: dict[type[Event], tuple[Handler, IdDeriver | None]] = {}
_AFTER: list[Hook] = []
Before = Callable[[Transaction, "Policy", Event], Event]
_BEFORE: list[Before] = []
ActsOn = type[Event] | tuple[type[Event], ...] | Callable[[type[Event]], bool]
"""What a hook declares it acts on: an event type, a tuple of them (subclasses
included), or a predicate over event types (asked once per type)."""
_ACTS_ON: dict[Callable[..., Any], Callable[[type[Event]], bool]] = {}
# Per event type, the before-event and after-event hooks to call, worked out on first use
# from the two lists above (a registration, or a list replaced wholesale, starts it over).
_COMPILED: dict[type[Event], tuple[tuple[Before, ...], tuple[Hook, ...]]] = {}
_COMPILED_FROM: list[Any] = [None, None]
_STANDING: list[StandingPart] = []
_STATEMENT: list[Callable[[Transaction, Policy, str, str | None], dict[str, Any]]] = []
_SIMULATION: list[Callable[[Transaction, Policy, Transaction, Policy], dict[str, Any]]] = []
_PRIVILEGE_RULES: list[Callable[[Context, Member, str], bool | None]] = []
_SETTLEMENTS: set[str] = set()

EARNED_POINTS = "points_earned"
"""The counter of points earned (every points entry but settlements): what boards rank.

The ``points`` counter is the balance (all-time and per period, what a payout
settles); paying points out, carrying them over or letting them lapse moves
the balance but earns nothing, so it leaves this counter alone.
"""


_ACCOUNT_BALANCES: dict[str, tuple[str, ...]] = {
    "points": ("points", EARNED_POINTS),
    "reputation": ("reputation",),
}
"""The balance counters a line in each account changes (see :meth:`Context._book`)."""

_BALANCE_COUNTERS = frozenset(m for ms in _ACCOUNT_BALANCES.values() for m in ms)


REVALUED_BY = "recalculated"
"""The kind of the documents, keyed by a ledger entry id, whose ``data["lines"]``
lists the entry ids of the lines that revalue that entry (a retroactive policy
change's): :meth:`Context.reverse` takes them back with the entry, and
:meth:`Context.reverse_event` those keyed by :func:`revalued_fact`."""


def revalued_fact(event_id: str) -> str:
    """The :data:`REVALUED_BY` key of the lines that revalue a fact that booked no line
    of its own for them (reversing the fact's event takes them back)."""
    return f"event:{event_id}"


def settlements(*actions: str) -> None:
    """Declare ledger actions that move the points balance without earning (payouts)."""
    _SETTLEMENTS.update(actions)


def is_settlement(action: str) -> bool:
    """Whether ledger ``action`` settles points (a payout, a carry-over) rather than earning."""
    return action in _SETTLEMENTS


def counter_for(metric: str) -> str:
    """The counter a leaderboard metric reads: ``points`` ranks points earned."""
    return EARNED_POINTS if metric == "points" else metric


RANKED_COUNTERS: frozenset[str] = frozenset(counter_for(m) for m in _BOARD_METRICS)
"""The counters a leaderboard can rank (:data:`kudos.leaderboards.METRICS`): the only ones
kept per tag, since a per-tag count is read by a per-tag board and by nothing else."""


@functools.lru_cache(maxsize=64)
def window_counters(window_metrics: tuple[str, ...]) -> frozenset[str]:
    """The counters kept per day for the leaderboard metrics ``window_metrics``."""
    return frozenset(counter_for(metric) for metric in window_metrics)


def handles(
    event_type: type[E], *, derive_id: Callable[[Transaction, E], str] | None = None
) -> Callable[[Callable[[Context, E], None]], Callable[[Context, E], None]]:
    """Register the handler of ``event_type`` (and how to derive its id, if not by natural key)."""

    def register(fn: Callable[[Context, E], None]) -> Callable[[Context, E], None]:
        _HANDLERS[event_type] = (fn, derive_id)
        return fn

    return register


def _acts_on(on: ActsOn) -> Callable[[type[Event]], bool]:
    if isinstance(on, type):
        on = (on,)
    if isinstance(on, tuple):
        types = on
        return lambda event_type: issubclass(event_type, types)
    return on


_F = TypeVar("_F", bound=Callable[..., Any])


def _registrar(hooks: list[_F], on: ActsOn | None) -> Callable[[_F], _F]:
    """What registers a hook in ``hooks`` (acting on ``on``, every event type when ``None``)."""

    def register(fn: _F) -> _F:
        if on is not None:
            _ACTS_ON[fn] = _acts_on(on)
        hooks.append(fn)
        _COMPILED.clear()
        return fn

    return register


@overload
def before_event(fn: Before, /) -> Before: ...
@overload
def before_event(*, on: ActsOn) -> Callable[[Before], Before]: ...
def before_event(
    fn: Before | None = None, /, *, on: ActsOn | None = None
) -> Before | Callable[[Before], Before]:
    """Register ``fn(tx, policy, event) -> event`` run on new events before their handler.

    It may raise (a :class:`~kudos.KudosError`) to refuse the event, or return
    the event the handler should see instead; the log keeps the event as the
    host reported it, so a replay of the log is rewritten the same way.

    Used bare (``@before_event``) it runs on every event; ``@before_event(on=...)``
    runs it only on the event types it acts on (see :data:`ActsOn`): an event
    type, a tuple of types (their subclasses included), or a predicate
    ``(event_type) -> bool`` asked once per type.
    """

    register = _registrar(_BEFORE, on)
    return register if fn is None else register(fn)


@overload
def after_event(fn: Hook, /) -> Hook: ...
@overload
def after_event(*, on: ActsOn) -> Callable[[Hook], Hook]: ...
def after_event(
    fn: Hook | None = None, /, *, on: ActsOn | None = None
) -> Hook | Callable[[Hook], Hook]:
    """Register ``fn(ctx)``, run after the handler of an event (and the caps), before the flush.

    Used bare (``@after_event``) it runs after every event;
    ``@after_event(on=(TopicPosted, ReplyPosted))`` only after events of those
    types (or their subclasses), and ``on=`` may also be a predicate
    ``(event_type) -> bool`` asked once per type. Hooks run in the order they
    registered.
    """

    register = _registrar(_AFTER, on)
    return register if fn is None else register(fn)


def hooks_for(event_type: type[Event]) -> tuple[tuple[Before, ...], tuple[Hook, ...]]:
    """The before-event and after-event hooks an event of ``event_type`` calls, in order.

    Worked out once per event type (a hook registered bare acts on every
    type); :func:`apply` calls exactly these.
    """
    if _COMPILED_FROM[0] is not _BEFORE or _COMPILED_FROM[1] is not _AFTER:
        _COMPILED.clear()  # a list was replaced (a test patching the registry)
        _COMPILED_FROM[:] = [_BEFORE, _AFTER]
    found = _COMPILED.get(event_type)
    if found is None:

        def acts(hook: Callable[..., Any]) -> bool:
            on = _ACTS_ON.get(hook)
            return on is None or on(event_type)

        found = _COMPILED[event_type] = (
            tuple(h for h in _BEFORE if acts(h)),
            tuple(h for h in _AFTER if acts(h)),
        )
    return found


def contributes_standing(fn: StandingPart) -> StandingPart:
    """Register a function that adds fields to a member's standing."""
    _STANDING.append(fn)
    return fn


def privilege_rule(
    fn: Callable[[Context, Member, str], bool | None],
) -> Callable[[Context, Member, str], bool | None]:
    """Register a rule deciding privileges: True granted, False withheld, None not its business.

    A rule may raise :class:`NotAllowed` itself to explain what is missing.
    """
    _PRIVILEGE_RULES.append(fn)
    return fn


def standing_parts() -> list[StandingPart]:
    """The registered standing contributors."""
    return list(_STANDING)


def contributes_statement(
    fn: Callable[[Transaction, Policy, str, str | None], dict[str, Any]],
) -> Callable[[Transaction, Policy, str, str | None], dict[str, Any]]:
    """Register ``fn(tx, policy, member, period) -> fields`` adding to a :class:`Statement`."""
    _STATEMENT.append(fn)
    return fn


def statement_parts() -> list[Callable[[Transaction, Policy, str, str | None], dict[str, Any]]]:
    """The registered statement contributors."""
    return list(_STATEMENT)


def contributes_simulation(
    fn: Callable[[Transaction, Policy, Transaction, Policy], dict[str, Any]],
) -> Callable[[Transaction, Policy, Transaction, Policy], dict[str, Any]]:
    """Register ``fn(tx, policy, simulated_tx, other_policy) -> extras`` for ``simulate``."""
    _SIMULATION.append(fn)
    return fn


def simulation_parts() -> list[
    Callable[[Transaction, Policy, Transaction, Policy], dict[str, Any]]
]:
    """The registered simulation contributors."""
    return list(_SIMULATION)


def default_id(event: Event) -> str:
    """``<type>:<natural key>``: the id of an event whose host gave none."""
    known = _DERIVING[0]
    if known[0] is event and type(event).natural_key is Event.natural_key:
        # The payload apply() built for the stored event holds the content the key joins.
        return f"{event.type}:{key_of(*_key_parts(known[1]))}"
    return f"{event.type}:{event.natural_key()}"


# The event apply() is deriving an id for, with its payload (content and time): built once
# for both the stored event and the natural key. One entry, replaced whole (a tuple).
_DERIVING: list[tuple[Event | None, dict[str, Any]]] = [(None, {})]


def _key_parts(payload: dict[str, Any]) -> list[Any]:
    """What :meth:`Event.natural_key` joins: the content's values but the channel."""
    return [value for name, value in payload.items() if name != "channel" and name != "at"]


def generation_id(base: str, gen: int) -> str:
    """The id of the ``gen``-th occurrence of a toggled fact (the first has no suffix)."""
    return base if gen <= 1 else f"{base}#{gen}"


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a run of many events, then restore it.

    Recording (or replaying) many events allocates many objects that outlive the
    run and form no cycles; the collector would otherwise walk the whole, growing
    heap again and again (about a fifth of a batch's time). Restored however the
    run ends, and left alone when it was already off.

    What the run allocated is then handed to the oldest generation as it is
    (``gc.freeze()`` then ``gc.unfreeze()``), so the first collection after the
    run does not walk all of it at once (0.15-0.38 s per run of 10,000-20,000
    events on the ingest benchmark); full collections still reach it. Skipped
    when the process keeps objects frozen itself (``gc.get_freeze_count()``),
    which ``unfreeze`` would release.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


# --- documents the core keeps -------------------------------------------------


# Documents are immutable values and stores hand the same Doc object back until it is
# replaced, so what was parsed from one is kept with it (with the Doc itself, so its id
# cannot be reused while the entry lives); the cache starts over when it fills up.
_PARSED: dict[int, tuple[Doc, Any]] = {}
_PARSED_LIMIT = 50_000


def member_from_doc(doc: Doc) -> Member:
    """A :class:`Member` from its projection document."""
    known = _PARSED.get(id(doc))
    if known is not None and known[0] is doc:
        return known[1]  # type: ignore[no-any-return]
    found = _member_from_doc(doc)
    _remember(doc, found)
    return found


def _remember(doc: Doc, parsed: Any) -> None:
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[id(doc)] = (doc, parsed)


def _member_from_doc(doc: Doc) -> Member:
    d = doc.data
    joined = d.get("joined_at")
    return Member(
        id=doc.key,
        role=d.get("role", "member"),
        joined_at=datetime.fromisoformat(joined) if joined else None,
        referred_by=d.get("referred_by"),
        deleted=bool(d.get("deleted")),
    )


def post_from_doc(doc: Doc) -> Post:
    """A :class:`Post` from its projection document."""
    known = _PARSED.get(id(doc))
    if known is not None and known[0] is doc:
        return known[1]  # type: ignore[no-any-return]
    found = _post_from_doc(doc)
    _remember(doc, found)
    return found


def _post_from_doc(doc: Doc) -> Post:
    d = doc.data
    posted = d.get("posted_at")
    return Post(
        id=doc.key,
        kind=d["kind"],
        author=d["author"],
        topic=d.get("topic"),
        title=d.get("title", ""),
        tags=tuple(d.get("tags", ())),
        product=d.get("product"),
        official=bool(d.get("official")),
        removed=bool(d.get("removed")),
        solution=d.get("solution"),
        posted_at=datetime.fromisoformat(posted) if posted else None,
        wiki=bool(d.get("wiki")),
    )


def merged_into(tx: Transaction, member: str) -> str | None:
    """The account ``member`` was merged into (directly), or ``None``."""
    doc = tx.get("member", member)
    return None if doc is None else doc.data.get("merged_into")


def resolve(tx: Transaction, member: str) -> str:
    """The account that counts for ``member``: itself, or the one it was merged into (at last)."""
    doc = tx.get("member", member)
    into = None if doc is None else doc.data.get("merged_into")
    if into is None:  # the common case: an account never merged
        return member
    seen = {member}
    while into is not None and into not in seen:
        seen.add(into)
        member = into
        into = merged_into(tx, member)
    return member


def unmerged(tx: Transaction) -> dict[str, None]:
    """The accounts known, in ``tx``, never to have been merged: a key lookup (see
    :class:`_Memo`). :func:`kept_account` adds to it."""
    return _memo(tx).unmerged


def kept_account(tx: Transaction, member: str, known: dict[str, None]) -> str:
    """:func:`resolve`, noting in ``known`` (:func:`unmerged`) a joined member never merged."""
    if member in known:
        return member
    doc = tx.get("member", member)
    if doc is None:
        return member
    if doc.data.get("merged_into") is None:
        known[member] = None
        return member
    return resolve(tx, member)


def same_person(tx: Transaction, one: str, other: str) -> bool:
    """Whether member ids ``one`` and ``other`` are one person: the same account, or accounts
    merged into the same one (a post written before a merge is still its author's own)."""
    if one == other:
        return True
    known = _memo(tx).unmerged
    if one in known and other in known:  # two accounts, each its own
        return False
    return resolve(tx, one) == resolve(tx, other)


def get_member(tx: Transaction, member: str) -> Member:
    """The member, or :class:`UnknownMember` saying to ``join`` them first."""
    doc = tx.get("member", member)
    if doc is None:
        raise UnknownMember(
            f"unknown member {member!r}; report them with community.join({member!r}) first"
        )
    return member_from_doc(doc)


def get_post(tx: Transaction, post: str) -> Post:
    """The post, or :class:`UnknownPost` saying to report it first."""
    doc = tx.get("post", post)
    if doc is None:
        raise UnknownPost(
            f"unknown post {post!r}; report it with post_topic() or post_reply() first"
        )
    return post_from_doc(doc)


def staff_ids(tx: Transaction) -> list[str]:
    """Ids of every staff member and moderator."""
    return [d.key for role in ("staff", "moderator") for d in tx.find("member", status=role)]


# --- the context ----------------------------------------------------------------


class Context:
    """What a handler sees: the event, the policy, and the state through ``tx``.

    Writes (ledger entries, counter changes, notifications) are queued and
    written by :meth:`flush`; reads of counters include queued changes.
    """

    __slots__ = (
        "_balances",
        "_day",
        "_kept",
        "_locked",
        "_members",
        "_memo",
        "_notify",
        "_period",
        "_posts",
        "_windowed",
        "at",
        "at_text",
        "clipped",
        "deltas",
        "entries",
        "event",
        "event_id",
        "held_back",
        "notes",
        "policy",
        "reverse_in_own_period",
        "tallies",
        "touched",
        "trusted",
        "tx",
        "unfloored",
        "unmerged",
        "unsettled",
        "version",
    )

    def __init__(
        self,
        tx: Transaction,
        policy: Policy,
        event: Event,
        *,
        notify: bool = True,
        trusted: bool = False,
        version: int = 1,
        at_text: str | None = None,
    ):
        assert event.event_id is not None and event.at is not None
        self.tx = tx
        self.policy = policy
        self.version = version
        """The version of the community's policy ``policy`` is (stamped on every entry)."""
        self.event = event
        self.event_id: str = event.event_id
        self.at: datetime = event.at
        self.at_text: str = event.at.isoformat() if at_text is None else at_text
        """The event's time as ISO 8601 text (``at.isoformat()``, or ``at_text`` when the
        caller formatted it already): what documents keep of it (``posted_at``, ...)."""
        self.entries: list[LedgerEntry] = []
        self.notes: list[Notification] = []
        # Empty counters made without Counter.__init__ (two Python calls each, per event).
        self.deltas: Counter[CounterKey] = Counter.__new__(Counter)
        self.tallies: Counter[CounterKey] = Counter.__new__(Counter)
        """Changes to shared aggregates nothing in the work reads back (``Transaction.tally``):
        response health, feelings, deflections."""
        self.touched: set[str] = set()
        self._notify = notify
        self._period: str | None = None
        self._day: str | None = None
        self._members: dict[str, Member] = {}
        self._posts: dict[str, Post] = {}  # a post document written starts its entry over
        # The account that counts for each member named (itself, or the one it was merged
        # into), read with the member's document; a member document written starts it over.
        self._kept: dict[str, str] = {}
        self._memo = memo = _memo(tx)
        self.unmerged = memo.unmerged
        """Accounts known, in this transaction, never to have been merged (see :class:`_Memo`):
        each counts as itself. A key lookup; an account not in it may still be unmerged."""
        # The balance counters booked lines changed (what flush() checks against the bound).
        self._balances: dict[CounterKey, None] = {}
        self._locked: set[str] = set()
        self._windowed = window_counters(policy.leaderboards.window_metrics)
        self.trusted = trusted
        """Recording history: privileges were checked when the facts happened."""
        self.unsettled: dict[CounterKey, tuple[Cap, datetime]] = {}
        self.clipped: list[tuple[Cap, CounterKey, LedgerEntry, int]] = []
        self.held_back: list[tuple[str, int]] = []
        """Awards held back entirely that this event stopped holding: (entry id, missing)."""
        self.unfloored: set[str] = set()
        """Members a line not held to the reputation floor debited (settle() checks them)."""
        self.reverse_in_own_period = False
        """Book reversals in the reversed entry's own period while it is open (abuse
        reversals); otherwise, and always once that period is closed, in this event's."""

    # -- reading ----------------------------------------------------------------
    def member(self, member: str) -> Member:
        """The member (cached for this event); :class:`UnknownMember` if never joined."""
        found = self._members.get(member)
        if found is None:
            found = self.known_member(member)
            if found is None:
                return get_member(self.tx, member)  # raises UnknownMember
        return found

    def known_member(self, member: str) -> Member | None:
        """The member as :meth:`member` reads it, or ``None`` if they never joined."""
        found = self._members.get(member)
        if found is None:
            doc = self.tx.get("member", member)
            if doc is None:
                return None
            found = self._members[member] = member_from_doc(doc)
            if doc.data.get("merged_into") is None:
                self._kept[member] = member
                self.unmerged[member] = None
        return found

    def kept(self, member: str) -> str:
        """:func:`resolve` of ``member``, read once per member and event.

        The account that counts for ``member``: itself, or the account it was
        merged into (at last). A member never joined counts as itself.
        """
        kept = self._kept.get(member)
        if kept is None:
            doc = self.tx.get("member", member)
            if doc is None:
                return member  # not kept: they may join later in this event
            if doc.data.get("merged_into") is None:
                kept = member
                self.unmerged[member] = None
                if member not in self._members:
                    self._members[member] = member_from_doc(doc)
            else:
                kept = resolve(self.tx, member)
            self._kept[member] = kept
        return kept

    def post(self, post: str) -> Post:
        """The post (read once per event); :class:`UnknownPost` if never reported."""
        found = self._posts.get(post)
        if found is None:
            found = self._posts[post] = get_post(self.tx, post)
        return found

    def not_before(self, post: Post, what: str) -> None:
        """Raise :class:`InvalidInput` when this event is dated before ``post`` was posted.

        ``what`` names the fact for the message (``"kudos from 'bob'"``). A fact
        about a post cannot be older than the post: it would give negative response
        times and rewards before the post existed. See :meth:`not_older`.
        """
        noun = "reply" if post.kind == "reply" else "topic"
        self.not_older(post.posted_at, what, f"{noun} {post.id!r} was posted", f"its {noun}")

    def not_older(self, then: datetime | str | None, what: str, earlier: str, it: str) -> None:
        """Raise :class:`InvalidInput` when this event is dated before ``then``.

        The one check of every fact that refers to an earlier fact (a post, the
        kudos a withdrawal takes back, the follow an unfollow ends, the removal a
        restore undoes): ``what`` names this fact, ``earlier`` the earlier one as a
        clause (``"the kudos was given"``) and ``it`` as a noun (``"the kudos it
        withdraws"``); the message names both times. ``then`` may be the ISO text a
        document keeps; ``None`` or empty text (not known) passes. Trusted history
        (an import, a rebuild) is not checked: an importer's dates may be coarser
        than the facts' (a vote dated by day), and a log recorded before this check
        replays.
        """
        if self.trusted or not then:
            return
        if isinstance(then, str):
            then = datetime.fromisoformat(then)
        if self.at >= then:
            return
        raise InvalidInput(
            f"{what} is dated {self.at.isoformat()}, before {earlier} ({then.isoformat()}); "
            f"it cannot be older than {it}: report it with its real time"
        )

    def fact_at(self, event_id: object) -> datetime | None:
        """When the stored event ``event_id`` happened; ``None`` if not given or unknown."""
        stored = self.tx.get_event(str(event_id)) if event_id else None
        return stored.at if stored is not None else None

    def not_before_acceptance(
        self, topic: Post, what: str, it: str = "the acceptance of the solution it refers to"
    ) -> None:
        """:meth:`not_older` than the acceptance of ``topic``'s solution (no solution: passes).

        For facts about an accepted solution: a deflection it answered, marking it
        canonical, unaccepting it (``it`` names the acceptance as a noun).
        """
        doc = self.tx.get("post", topic.id) if topic.solution is not None else None
        self.not_older(
            self.fact_at(doc.data.get("solution_event") if doc is not None else None),
            what,
            f"{topic.solution!r} was accepted",
            it,
        )

    def counter(self, metric: str, scope: str, subject: str) -> int:
        """A counter including this event's queued changes."""
        return self.tx.counter(metric, scope, subject) + self.deltas.get(
            (metric, scope, subject), 0
        )

    def balance(self, member: str, account: str, scope: str = "all") -> int:
        """A member's balance in ``account`` (all time, or one period's)."""
        return self.counter(account, scope, member)

    @property
    def period(self) -> str:
        """The payback period this event's awards are booked in.

        The period of the event's time, or, when that period is already
        closed (a late event), the first open period after it. Worked out once
        per day of a transaction (see :func:`_booked`).
        """
        if self._period is None:
            periods = self.policy.periods
            if periods.kind == "explicit":  # ranges may start at any instant
                self._period = booking_period(self.tx, self.policy, self.at)
            else:
                self._period = _booked(self._memo, self.tx, self.policy, self.day(), self.at)
        return self._period

    def day(self, at: datetime | None = None) -> str:
        """The calendar day of ``at`` (default: the event's) in the periods' time zone."""
        if at is None or at == self.at:
            if self._day is None:
                self._day = day_of(self.policy, self.at)
            return self._day
        return day_of(self.policy, at)

    # -- counting -----------------------------------------------------------------
    def bump(
        self,
        metric: str,
        subject: str,
        delta: int,
        *,
        period: str | None = None,
        tags: Iterable[str] = (),
        at: datetime | None = None,
        boards: bool = True,
    ) -> None:
        """Change ``metric`` of ``subject`` all-time, in a period and per tag.

        Scopes: ``all``, the period; for a counter a leaderboard ranks
        (:data:`RANKED_COUNTERS`) also ``tag:<t>`` and ``<period>|tag:<t>``
        (no other read takes a tag, so no other counter keeps one); for
        the policy's ``leaderboards.window_metrics`` also ``day:<YYYY-MM-DD>``
        (rolling-window leaderboards), the day of ``at``: when the counted fact
        happened. ``at`` defaults to the event's time; a handler undoing an
        earlier fact passes that fact's ``period`` and ``at``, so the fact
        leaves the period and the day it was counted in. Without ``boards`` only
        the all-time and period scopes change (a balance no board ranks).
        """
        if not delta:
            return
        period = period or self.period
        d = self.deltas
        get = d.get  # Counter's own += calls its __missing__ (Python) for every new key
        key = (metric, "all", subject)
        d[key] = get(key, 0) + delta
        key = (metric, period, subject)
        d[key] = get(key, 0) + delta
        if not boards:
            return
        if metric in self._windowed:
            key = (metric, _day_scope(self.day(at)), subject)
            d[key] = get(key, 0) + delta
        if metric not in RANKED_COUNTERS:
            return
        if not isinstance(tags, tuple | list):
            tags = tuple(tags)
        if tags:
            # A tag named twice (or a product as a tag) counts once.
            for tag in dict.fromkeys(tags) if len(tags) > 1 else tags:
                everywhere, within = _tag_scopes(period, tag)
                key = (metric, everywhere, subject)
                d[key] = get(key, 0) + delta
                key = (metric, within, subject)
                d[key] = get(key, 0) + delta

    # -- awarding ---------------------------------------------------------------------
    def award(
        self,
        member: str,
        action: str,
        *,
        subject: str | None,
        reason: str,
        tags: Iterable[str] = (),
        times: int = 1,
    ) -> list[LedgerEntry]:
        """Credit ``member`` what the policy says ``action`` is worth (``times`` over).

        An account merged into another earns for the account kept, under the kept
        account's caps (one person never earns two caps' worth).
        """
        member = self.kept(member)
        plan = award_plan(self.policy, action)
        if plan.earlier:
            points, reputation = plan.amounts(self.day())
        else:
            points, reputation = plan.points, plan.reputation
        made = []
        for account, amount in (("points", points), ("reputation", reputation)):
            if not amount:
                continue  # credit() books nothing for nothing
            entry = self._earn(
                member, account, amount * times, action, subject, reason, tags,
                plan.caps[account], None, False, True,
            )  # fmt: skip
            if entry is not None:
                made.append(entry)
        return made

    def credit(
        self,
        member: str,
        account: str,
        amount: int,
        *,
        action: str,
        subject: str | None,
        reason: str,
        tags: Iterable[str] = (),
        capped: bool = True,
        force: bool = False,
        floored: bool = True,
        period: str | None = None,
        caps: tuple[Cap, ...] | None = None,
    ) -> LedgerEntry | None:
        """Write one ledger entry, applying the staff rule and the policy's caps.

        A gain capped down to nothing still leaves a zero entry saying so, so a
        member's statement explains why an action earned nothing. ``force``
        (manual adjustments) skips the staff rule and the caps. A debit is
        booked only down to the policy's reputation floor unless ``force`` or
        not ``floored`` (a bounty is paid in full: its offerer had it). ``period``
        books the entry in that payback period instead of the event's
        (payouts, carry-over). ``caps`` are the caps of ``action`` in ``account``
        when the caller has them already (an :class:`~kudos.engine.plans.AwardPlan`).
        """
        if amount == 0:
            return None
        if not capped or force:
            caps = ()
        elif caps is None:
            caps = caps_for(self.policy, action, account)
        return self._earn(
            member, account, amount, action, subject, reason, tags, caps, period, force, floored
        )

    def _earn(
        self,
        member: str,
        account: str,
        amount: int,
        action: str,
        subject: str | None,
        reason: str,
        tags: Iterable[str],
        caps: tuple[Cap, ...],
        period: str | None,
        force: bool,
        floored: bool,
    ) -> LedgerEntry | None:
        """:meth:`credit` of a non-zero ``amount`` under ``caps`` (positional: the award path)."""
        if amount > MAX_AMOUNT or -amount > MAX_AMOUNT:
            raise InvalidInput(
                f"{action} would credit {member!r} {amount} {account}, past kudos's bound of "
                f"{MAX_AMOUNT} units on one amount"
            )
        found = self._members.get(member) or self.member(member)
        if found.deleted or (not force and found.is_staff and not self.policy.staff_earn):
            return None  # a deleted account's posts award no one
        if member not in self._locked:  # _lock(), inline: this runs for every award
            self.tx.lock([f"member:{member}"])
            self._locked.add(member)
        if not isinstance(tags, tuple) or len(tags) > 1:
            tags = tuple(dict.fromkeys(tags))
        given = amount
        booked_in = period or self.period
        binding: tuple[Cap, CounterKey] | None = None
        keys: list[CounterKey] = []
        if caps:
            for cap in caps:
                key = self._cap_key(cap, member, subject, self.at, booked_in)
                keys.append(key)
                if amount > 0:
                    room = max(0, cap.limit - self.counter(*key))
                    if room < given:
                        given, binding = room, (cap, key)
            if given < amount:
                limits = ", ".join(f"{c.limit} {c.account} per {c.per}" for c in caps)
                reason = f"{reason} (capped at {limits})"
        if amount < 0 and account == "reputation":
            floor = self.policy.reputation_floor
            if force:
                self.unfloored.add(member)
            elif floor is not None and floored:
                given = max(amount, min(0, floor - self.balance(member, "reputation")))
                if given > amount:
                    reason = (
                        f"{reason} ({given - amount} absorbed by the reputation floor of {floor})"
                    )
        entries = self.entries
        entry = LedgerEntry(
            entry_id=f"{self.event_id}/{len(entries)}",
            member=member,
            account=account,
            amount=given,
            action=action,
            reason=reason,
            event_id=self.event_id,
            subject=subject,
            period=booked_in,
            at=self.at,
            tags=tags,
            policy=self.version,
        )
        self._book(entry)
        if keys:
            deltas = self.deltas
            for cap, key in zip(caps, keys, strict=True):
                deltas[key] = deltas.get(key, 0) + given
                if given < 0:
                    self.unsettled[key] = (cap, self.at)
        if binding is not None:
            self.clipped.append((*binding, entry, amount - given))
        return entry

    def _check_balances(self) -> None:
        """Refuse the event if a balance it changes would leave ``[-MAX_BALANCE, MAX_BALANCE]``.

        Every counter of an account (points, points earned, reputation) is a sum
        of ledger amounts; checking the all-time and the booked periods' sums
        keeps every stored value exact on every store (SQLite turns integers past
        2**63 into floats, PostgreSQL's bigint overflows).
        """
        # Balances change only through booked lines (_book), in all time and the line's
        # period, which keeps the keys it changed; day and tag scopes count subsets of them.
        deltas, counter = self.deltas, self.tx.counter
        for key in self._balances:
            delta = deltas.get(key)
            if not delta:
                continue
            value = counter(*key) + delta
            if value > MAX_BALANCE or -value > MAX_BALANCE:
                metric, scope, member = key
                raise InvalidInput(
                    f"this would take the {metric} of member {member!r} ({scope}) "
                    f"to {value}, past kudos's bound of {MAX_BALANCE} units; refused, "
                    "nothing was written"
                )

    def _lock(self, member: str) -> None:
        if member not in self._locked:
            self.tx.lock([f"member:{member}"])
            self._locked.add(member)

    def _cap_key(
        self, cap: Any, member: str, subject: str | None, at: datetime, period: str
    ) -> CounterKey:
        return (f"cap:{cap.account}", cap_scope(cap.per, self.day(at), period, subject), member)

    def _book(self, entry: LedgerEntry) -> None:
        """Queue ``entry`` and its counter changes: the balance of its account (all time and
        its period) and, but for a settlement, what boards rank (see :meth:`bump`).

        The scopes are :meth:`bump`'s, written out here (every award books through this),
        plus the balance keys :meth:`_check_balances` checks: keep the two alike.
        """
        self.entries.append(entry)
        member = entry.member
        self.touched.add(member)
        amount = entry.amount
        if not amount:
            return
        period = entry.period
        d = self.deltas
        get = d.get
        balances = self._balances
        if entry.account == "points":
            key: CounterKey = ("points", "all", member)
            d[key] = get(key, 0) + amount
            balances[key] = None
            key = ("points", period, member)
            d[key] = get(key, 0) + amount
            balances[key] = None
            if entry.action in _SETTLEMENTS:
                return
            metric = EARNED_POINTS
        else:
            metric = entry.account
        key = (metric, "all", member)
        d[key] = get(key, 0) + amount
        if metric in _BALANCE_COUNTERS:
            balances[key] = None
        key = (metric, period, member)
        d[key] = get(key, 0) + amount
        if metric in _BALANCE_COUNTERS:
            balances[key] = None
        if metric in self._windowed:
            key = (metric, _day_scope(self.day(entry.at)), member)
            d[key] = get(key, 0) + amount
        tags = entry.tags
        if tags and metric in RANKED_COUNTERS:
            # A tag named twice (or a product as a tag) counts once.
            for tag in dict.fromkeys(tags) if len(tags) > 1 else tags:
                everywhere, within = _tag_scopes(period, tag)
                key = (metric, everywhere, member)
                d[key] = get(key, 0) + amount
                key = (metric, within, member)
                d[key] = get(key, 0) + amount

    def reverse(self, entry: LedgerEntry, reason: str) -> LedgerEntry | None:
        """Append the reversal of ``entry`` (taking back exactly what it gave).

        The lines that revalue ``entry`` (a retroactive policy change's
        ``policy_recalculated`` lines, found through a :data:`REVALUED_BY`
        document) are taken back with it. Returns ``None`` when the entry was
        already reversed (or gave nothing).
        """
        if entry.reverses is not None:
            return None
        stored = entry.entry_id in self.tx.reversed_ids([entry.entry_id])
        if not stored and not any(e.reverses == entry.entry_id for e in self.entries):
            # Taken back now (a line taken back before keeps the lines that revalued
            # it since: they count what its reversal took under the new rules).
            self._reverse_revaluations(entry.entry_id, reason, entry.member)
        if entry.amount == 0:
            # An award the cap held back entirely may have been topped up since.
            for cap in caps_for(self.policy, entry.action, entry.account):
                key = self._cap_key(cap, entry.member, entry.subject, entry.at, entry.period)
                fact = _caps.forget(self, cap, key, entry, reason)
                if fact is not None and fact["missing"]:
                    self.held_back.append((entry.entry_id, int(fact["missing"])))
        if entry.amount == 0 or stored or any(e.reverses == entry.entry_id for e in self.entries):
            # Taken back with a removed post, then given again when it was restored?
            again = self.tx.get("reinstated", entry.entry_id)
            if again is None:
                post = self.tx.get("post", entry.subject) if entry.subject else None
                if post is not None and post.status == "removed":
                    # Undone while its post is removed: restoring the post gives it no more.
                    self.put("undone", entry.entry_id, {"event": self.event_id})
                return None
            return self.reverse(self.written(again.data["event"], again.data["entry"]), reason)
        self._lock(entry.member)
        reversal = LedgerEntry(
            entry_id=f"{self.event_id}/{len(self.entries)}",
            member=entry.member,
            account=entry.account,
            amount=-entry.amount,
            action=entry.action,
            reason=reason,
            event_id=self.event_id,
            subject=entry.subject,
            period=self.reversal_period(entry),
            at=self.at,
            reverses=entry.entry_id,
            tags=entry.tags,
            policy=self.version,
        )
        self._book(reversal)
        if entry.account == "reputation" and entry.amount > 0:
            self.unfloored.add(entry.member)
        # Give the room back (or take it, for a debit) under every cap the original
        # counted against; settle() then lets the scope's held-back awards take it up.
        for cap in caps_for(self.policy, entry.action, entry.account):
            key = self._cap_key(cap, entry.member, entry.subject, entry.at, entry.period)
            self.deltas[key] -= entry.amount
            self.unsettled[key] = (cap, entry.at)
            if entry.amount > 0:
                _caps.forget(self, cap, key, entry, reason)
        return reversal

    def _reverse_revaluations(self, key: str, reason: str, member: str | None) -> int:
        """Reverse the lines a :data:`REVALUED_BY` document ``key`` lists (``member``'s only)."""
        revalued = self.tx.get(REVALUED_BY, key)
        if revalued is None:
            return 0
        done = 0
        lines = set(revalued.data["lines"])
        for event_id in sorted({line.rsplit("/", 1)[0] for line in lines}):
            for line in self.tx.entries(event_id=event_id, member=member):
                if line.entry_id in lines and self.reverse(line, reason) is not None:
                    done += 1
        return done

    def reversal_period(self, entry: LedgerEntry) -> str:
        """The period the reversal of ``entry`` is booked in.

        This event's booking period, unless :attr:`reverse_in_own_period` is set
        and ``entry``'s own period is still open: then that period, so its payout
        never pays what was taken back.
        """
        if self.reverse_in_own_period and not _is_closed(self.tx, entry.period):
            return entry.period
        return self.period

    def written(self, event_id: str, entry_id: str) -> LedgerEntry:
        """The entry ``entry_id`` that event ``event_id`` wrote (this event's included)."""
        found = self.entries if event_id == self.event_id else self.tx.entries(event_id=event_id)
        return next(e for e in found if e.entry_id == entry_id)

    def taken_back(self, event_id: str, about: Mapping[str, LedgerEntry]) -> dict[str, int]:
        """What event ``event_id`` (a removal) took back from each award in ``about``.

        ``about`` maps entry ids to the entries of a subject; the result maps each
        award's entry id to the amount its reversals took back, the reversals of its
        cap top-ups included (what :meth:`reinstate` gives again on a restore).
        """
        taken: dict[str, int] = {}
        for entry in self.tx.entries(event_id=event_id):
            original = about.get(entry.reverses) if entry.reverses is not None else None
            if original is None:
                continue
            top_up = original.action == _caps.TOP_UP
            award = about[_caps.topped_up(original)] if top_up else original
            taken[award.entry_id] = taken.get(award.entry_id, 0) + original.amount
        return taken

    def reinstate(self, award: LedgerEntry, amount: int, reason: str) -> LedgerEntry:
        """Give ``award`` again, ``amount`` of it (what a removal took back, top-ups included).

        The new line counts under the caps of the award's own span (the cap
        settles any excess), and undoing the award later takes back this line.
        """
        again = self.line(
            award.member,
            award.account,
            amount,
            action=award.action,
            reason=f"{award.reason} ({reason})",
            subject=award.subject,
            tags=award.tags,
            at=award.at,
        )
        caps = caps_for(self.policy, award.action, award.account)
        for cap in caps:
            key = self._cap_key(cap, award.member, award.subject, award.at, again.period)
            self.deltas[key] += amount
            self.unsettled[key] = (cap, award.at)
        full = getattr(self.policy.reward(award.action, self.day(award.at)), award.account)
        if caps and 0 < amount < full:  # the cap held part of it back: room may come later
            key = self._cap_key(caps[0], award.member, award.subject, award.at, again.period)
            self.clipped.append((caps[0], key, again, full - amount))
        if award.account == "reputation" and amount < 0:
            self.unfloored.add(award.member)
        self.put("reinstated", award.entry_id, {"event": self.event_id, "entry": again.entry_id})
        return again

    def hold_back(self, award: LedgerEntry, missing: int) -> None:
        """Hold ``award`` back again by ``missing`` under its cap: later room tops it up."""
        caps = caps_for(self.policy, award.action, award.account)
        if caps and missing > 0:
            key = self._cap_key(caps[0], award.member, award.subject, award.at, award.period)
            self.clipped.append((caps[0], key, award, missing))
            self.unsettled[key] = (caps[0], award.at)

    def reverse_event(self, event_id: str, reason: str, *, member: str | None = None) -> int:
        """Reverse every live entry ``event_id`` wrote (optionally only ``member``'s)."""
        done = 0
        for entry in self.tx.entries(event_id=event_id, member=member):
            if entry.action in _caps.CAP_LINES:
                continue  # the event settled a cap for other awards; they keep it
            if self.reverse(entry, reason) is not None:
                done += 1
        return done + self._reverse_revaluations(revalued_fact(event_id), reason, member)

    def live_entries(self, *, subject: str, action: str | None = None) -> list[LedgerEntry]:
        """Entries about ``subject`` (optionally of ``action``) not yet reversed.

        Awards a cap held back entirely (zero entries) are included: reversing
        one takes back the top-ups it received since.
        """
        found = [
            e
            for e in self.tx.entries(subject=subject)
            if e.reverses is None and (action is None or e.action == action)
        ]
        gone = self.tx.reversed_ids(e.entry_id for e in found)
        return [e for e in found if e.entry_id not in gone]

    def count_capped(self, cap_account: str, per: str, member: str, amount: int) -> None:
        """Count ``amount`` against a cap kept outside the ledger (e.g. referral counts)."""
        self.deltas[(f"cap:{cap_account}", per, member)] += amount

    def line(
        self,
        member: str,
        account: str,
        amount: int,
        *,
        action: str,
        reason: str,
        subject: str | None = None,
        tags: tuple[str, ...] = (),
        at: datetime | None = None,
        period: str | None = None,
    ) -> LedgerEntry:
        """Book one entry as it is, with no staff rule, cap or floor (the caps' own lines).

        It is booked at ``at`` (default: the event's time) in ``period`` (default:
        the booking period of ``at``).
        """
        self._lock(member)
        entry = LedgerEntry(
            entry_id=f"{self.event_id}/{len(self.entries)}",
            member=member,
            account=account,
            amount=amount,
            action=action,
            reason=reason,
            event_id=self.event_id,
            subject=subject,
            period=period
            or (self.period if at is None else booking_period(self.tx, self.policy, at)),
            at=at or self.at,
            tags=tags,
            policy=self.version,
        )
        self._book(entry)
        return entry

    def settle(self) -> None:
        """Bring every cap scope this event changed back to its rule, then apply the floor.

        See :mod:`kudos.engine.caps`: held-back awards take up freed room, a scope
        over its limit holds back the excess, and a reputation below the
        policy's floor is lifted to it.
        """
        _caps.settle(self)

    # -- notifying -----------------------------------------------------------------------
    def notify(self, member: str, kind: str, **data: Any) -> None:
        """Queue a notification to ``member`` (written to the outbox with the event)."""
        if self._notify:
            self.notes.append(
                Notification(
                    seq=0, member=member, kind=kind, data=data, event_id=self.event_id, at=self.at
                )
            )

    # -- writing ------------------------------------------------------------------------
    def put(
        self,
        kind: str,
        key: str,
        data: Mapping[str, Any],
        *,
        ref: str | None = None,
        status: str | None = None,
    ) -> None:
        """Write a projection document now (documents are not queued)."""
        if kind == "member":
            if self._kept:
                self._kept.clear()  # a merge changes who counts for whom
            if key in self.unmerged:
                del self.unmerged[key]
        elif kind == "post":
            if key in self._posts:
                del self._posts[key]
        elif kind == "period":  # a period closed: later awards are booked elsewhere
            self._memo.booked.clear()
        self.tx.put(Doc(kind=kind, key=key, data=data, ref=ref, status=status))

    def update(self, kind: str, key: str, **changes: Any) -> None:
        """Change fields of an existing projection document (its ref and status kept)."""
        doc = self.tx.get(kind, key)
        assert doc is not None, f"no {kind} document {key!r}"
        self.put(kind, key, {**doc.data, **changes}, ref=doc.ref, status=doc.status)

    def privilege(self, member: str, name: str) -> bool | None:
        """Whether the policy grants ``member`` the privilege ``name`` (None: it has no rule)."""
        found = self.member(member)
        for rule in _PRIVILEGE_RULES:
            decided = rule(self, found, name)
            if decided is not None:
                return decided
        return None

    def require_privilege(self, member: str, name: str, doing: str) -> None:
        """Raise :class:`NotAllowed` when the policy withholds ``name`` from ``member``.

        A trusted context (recording history) checks nothing.
        """
        if self.trusted or self.privilege(member, name) is not False:
            return
        raise NotAllowed(
            f"member {member!r} may not {doing} yet: it needs the {name!r} privilege "
            f"(see the policy's privileges and community.standing({member!r}).privileges)"
        )

    def require(self, condition: bool, message: str) -> None:
        """Raise :class:`NotAllowed` with ``message`` unless ``condition`` holds."""
        if not condition:
            raise NotAllowed(message)

    def flush(self) -> tuple[tuple[LedgerEntry, ...], tuple[Notification, ...]]:
        """Write the queued entries, counter changes and notifications.

        Raises:
            InvalidInput: a balance would leave kudos's bound (:data:`MAX_BALANCE`).
        """
        if self.entries:
            self._check_balances()
        if self.entries:
            self.tx.append_entries(self.entries)
        deltas: Mapping[CounterKey, int] = self.deltas
        if deltas and 0 in deltas.values():  # a change undone within the event writes nothing
            deltas = {k: v for k, v in deltas.items() if v}
        if deltas:
            self.tx.add(deltas)
        if self.tallies:
            # Optional in a store (``Transaction.tally``): one without it adds them as any.
            getattr(self.tx, "tally", self.tx.add)(self.tallies)
        notes = self.tx.add_notifications(self.notes) if self.notes else []
        return tuple(self.entries), tuple(notes)


def day_of(policy: Policy, at: datetime) -> str:
    """The calendar day (``YYYY-MM-DD``) of ``at`` in the policy's periods' time zone."""
    return _day_in(policy.periods.timezone, at)


# An instant's local day, kept per time zone and quarter of an hour of UTC time: every
# offset in use today is a whole number of quarter hours, so such a quarter lies within one
# local day, and a whole batch's events share a few hundred of them. A quarter that does
# not (an offset change inside it, or an old local mean time offset in seconds) is not kept.
_QUARTER = 900
_DAYS: dict[tuple[str, int], str] = {}
_DAYS_LIMIT = 65_536


def _day_in(timezone: str, at: datetime) -> str:
    quarter = int(at.timestamp() // _QUARTER)
    key = (timezone, quarter)
    day = _DAYS.get(key)
    if day is None:
        day = at.astimezone(ZoneInfo(timezone)).date().isoformat()
        if _uniform(timezone, quarter):
            if len(_DAYS) >= _DAYS_LIMIT:
                _DAYS.clear()
            _DAYS[key] = day
    return day


def _uniform(timezone: str, quarter: int) -> bool:
    """Whether every instant of ``quarter`` (of UTC time) has one local date and offset."""
    zone = ZoneInfo(timezone)
    first = datetime.fromtimestamp(quarter * _QUARTER, zone)
    last = datetime.fromtimestamp(quarter * _QUARTER + _QUARTER - 1, zone)
    return first.utcoffset() == last.utcoffset() and first.date() == last.date()


@functools.lru_cache(maxsize=4096)
def _day_scope(day: str) -> str:
    return f"day:{day}"


@functools.lru_cache(maxsize=4096)
def _tag_scopes(period: str, tag: str) -> tuple[str, str]:
    """The counter scopes of ``tag``: all time, and within ``period``."""
    return f"tag:{tag}", f"{period}|tag:{tag}"


# The period of an event's time under calendar schedules depends only on its local month,
# so it is worked out once per schedule and month (kept with the schedule itself, so an
# id is never reused while its entry lives).
_PERIOD_OF: dict[tuple[int, str], tuple[Any, str]] = {}


def period_of(policy: Policy, at: datetime) -> str:
    """``policy.periods.period_of(at)``, worked out once per calendar month of a schedule."""
    periods = policy.periods
    if periods.kind == "explicit":  # ranges may start at any instant
        return periods.period_of(at)
    key = (id(periods), _day_in(periods.timezone, at)[:7])
    known = _PERIOD_OF.get(key)
    if known is not None and known[0] is periods:
        return known[1]
    if len(_PERIOD_OF) >= 4096:
        _PERIOD_OF.clear()
    found = periods.period_of(at)
    _PERIOD_OF[key] = (periods, found)
    return found


def caps_for(policy: Policy, action: str, account: str) -> tuple[Cap, ...]:
    """:meth:`Policy.caps_for`, worked out once per policy, action and account."""
    plan = award_plan(policy, action)
    caps = plan.caps.get(account)
    if caps is None:
        counted = action not in _caps.UNCAPPED
        caps = plan.caps[account] = tuple(policy.caps_for(action, account)) if counted else ()
    return caps


def booking_period(tx: Transaction, policy: Policy, at: datetime) -> str:
    """The period an award at ``at`` is booked in: its own, or the next open one."""
    period = period_of(policy, at)
    while _is_closed(tx, period):
        period = policy.periods.next(period)
    return period


class _Memo:
    """What the engine learned in one transaction, kept across its events.

    ``booked``: per calendar schedule and local day, the booking period of that
    day (:func:`booking_period`). A period's document changes only through
    :meth:`Context.put` (closing it), which empties ``booked``; on a shared
    store, closing takes the community lock exclusively (no other writer runs
    meanwhile), so what one transaction read stays true until it writes it.

    ``unmerged``: the members whose document this transaction read without a
    ``merged_into`` (each counts as itself: :func:`resolve`). A member's document
    changes only through :meth:`Context.put`, which forgets the member; on a
    shared store, reading a member's document locks it to the commit, so no
    other writer merges them meanwhile.
    """

    __slots__ = ("booked", "unmerged")

    def __init__(self) -> None:
        self.booked: dict[tuple[int, str], tuple[Any, str]] = {}
        self.unmerged: dict[str, None] = {}


_K = TypeVar("_K")


class TransactionMemory(Generic[_K]):
    """What a part of the engine learned in the transaction the last event was applied in
    (a batch applies thousands of events in one): one object per transaction, made by
    ``make``, kept for the last transaction only and weakly (a transaction ends with its
    work). A transaction that takes no weak reference learns nothing across events."""

    def __init__(self, make: Callable[[], _K]) -> None:
        self._make = make
        self._last: tuple[weakref.ref[Any], _K] | None = None

    def of(self, tx: Transaction) -> _K:
        """The object for ``tx``: the one made for it before, or a new one."""
        last = self._last  # one read: another thread may replace it meanwhile
        if last is not None and last[0]() is tx:
            return last[1]
        made = self._make()
        with contextlib.suppress(TypeError):
            self._last = (weakref.ref(tx), made)
        return made


_memo = TransactionMemory(lambda: _Memo()).of  # _Memo looked up when made
"""What the engine learned in a transaction so far (see :class:`_Memo`)."""


def _booked(memo: _Memo, tx: Transaction, policy: Policy, day: str, at: datetime) -> str:
    """:func:`booking_period` of ``at``, of local ``day``, under a calendar schedule.

    Such a schedule's periods start at local midnight (of a month's first day), so
    every instant of one local day has one period, and one booking period while
    no period closes.
    """
    periods = policy.periods
    booked = memo.booked
    key = (id(periods), day)
    known = booked.get(key)
    if known is not None and known[0] is periods:
        return known[1]
    found = booking_period(tx, policy, at)
    booked[key] = (periods, found)
    return found


def _is_closed(tx: Transaction, period: str) -> bool:
    doc = tx.get("period", period)
    return doc is not None and doc.status == "closed"


# --- applying events -----------------------------------------------------------------


def apply(
    tx: Transaction,
    policy: Policy,
    event: Event,
    *,
    notify: bool = True,
    trusted: bool = False,
    version: int = 1,
    stored: StoredEvent | None = None,
) -> Outcome:
    """Record ``event`` (which has its time set) in ``tx``: the whole engine in one call.

    ``trusted`` records history: reputation thresholds and privilege rules
    are not checked again (they were when the fact happened). ``version`` is
    the version of the community's policy that ``policy`` is, stamped on
    every ledger entry the event writes. ``stored`` is ``event`` as a log
    holds it, when it comes from one (a replay): appended as it is.

    Raises:
        Conflict: the event id is in the log with different content.
        NotAllowed, UnknownMember, UnknownPost, ...: the fact breaks a rule.
    """
    assert event.at is not None
    try:
        handler, derive = _HANDLERS[type(event)]
    except KeyError:
        raise NotAllowed(f"kudos has no handler for {type(event).__name__}") from None
    derived = event.event_id is None
    payload = None
    if derived:
        if stored is None:
            payload = event.payload()  # the stored payload; its content makes the id too
            _DERIVING[0] = (event, payload)
        try:
            event = event.with_id(derive(tx, event) if derive else default_id(event))
        finally:
            _DERIVING[0] = (None, {})
    assert event.event_id is not None
    if stored is None or stored.event_id != event.event_id:
        if payload is None:
            payload = event.payload()
        stored = StoredEvent(
            event_id=event.event_id,
            type=event.type,
            payload=payload,
            at=event.at or _never_here(),
        )
    known = tx.append_event(stored)
    if known is not None:
        if derived and _other_actor(known, event):
            # A derived id names the state an action leads to (a topic's solution, a
            # post's removal), not who acted: another moderator taking the same action
            # (with a reason or note of their own) is the action repeated, not an id
            # reused. The rules say what is already the case (NotAllowed); should they
            # accept it, the clash is a Conflict.
            handler(Context(tx, policy, event, notify=False), event)
        return replayed(tx, known, event)
    befores, afters = hooks_for(type(event))
    for before in befores:
        event = before(tx, policy, event)
    # The time formatted once, for the log and the documents alike.
    at_text = payload["at"] if payload is not None else None
    ctx = Context(
        tx, policy, event, notify=notify, trusted=trusted, version=version, at_text=at_text
    )
    handler(ctx, event)
    ctx.settle()
    for hook in afters:
        hook(ctx)
    entries, notes = ctx.flush()
    return Outcome(event_id=ctx.event_id, type=event.type, entries=entries, notifications=notes)


def _never_here() -> datetime:
    raise AssertionError("events reach the engine with their time set")


def _same_fact(known: StoredEvent, event: Event) -> bool:
    """Whether ``known`` records ``event``'s fact (comparing every field but ``at``)."""
    content = {k: v for k, v in known.payload.items() if k != "at"}
    return known.type == event.type and content == event.content()


def _other_actor(known: StoredEvent, event: Event) -> bool:
    """Whether ``event`` is an action of ``known``'s type taken by someone else (``by``)."""
    by = event.content().get("by")
    return known.type == event.type and by is not None and known.payload.get("by") != by


def replayed(tx: Transaction, known: StoredEvent, event: Event) -> Outcome:
    """The first outcome of an event recorded again; :class:`Conflict` if it differs."""
    content = {k: v for k, v in known.payload.items() if k != "at"}
    if not _same_fact(known, event):
        now = event.content()
        if known.type == event.type and {**content, "channel": None} == {**now, "channel": None}:
            # The same fact, reported again through another channel: one fact, one channel.
            raise Conflict(
                f"event id {known.event_id!r} records this {known.type} fact already, through "
                f"channel {content.get('channel')!r}; it is now reported through "
                f"{now.get('channel')!r}. A fact comes through one channel: it was recorded "
                "once and counts once"
            )
        if known.type != event.type:
            raise Conflict(
                f"event id {known.event_id!r} was first recorded as {known.type}; now as "
                f"{event.type}. Give each distinct fact its own event_id"
            )
        differ = "; ".join(
            f"{name}: {shown(content.get(name))} first, {shown(now.get(name))} now"
            for name in sorted(set(content) | set(now))
            if content.get(name) != now.get(name)
        )
        raise Conflict(
            f"event id {known.event_id!r} was first recorded as {known.type} with other "
            f"content ({differ}). Give each distinct fact its own event_id"
        )
    assert event.event_id is not None
    return Outcome(
        event_id=known.event_id,
        type=known.type,
        entries=tuple(tx.entries(event_id=known.event_id)),
        notifications=tuple(tx.notifications(event_id=known.event_id)),
        replayed=True,
    )


def stored_to_event(stored: StoredEvent) -> Event:
    """The event a stored row holds."""
    # The stored id was checked when it came in, or derived by kudos (and may be longer).
    return event_from_payload(stored.type, None, dict(stored.payload)).with_id(stored.event_id)
