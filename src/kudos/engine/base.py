"""The plumbing every part of :class:`kudos.Community` shares.

``Community`` is assembled from one class per capability (posts, recognition,
referrals, ideas, payback, leaderboards); each derives from
:class:`CommunityBase`, which owns the store, the policy, the clock, the read
cache and the subscribers, and turns an event into one store transaction.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import attrs

from .. import _validate as v
from ..cache import ReadCache, local_version
from ..errors import InvalidInput, KudosError, TransientStoreError
from ..events import Event, PolicyChanged
from ..history.state import PolicyState
from ..history.timeline import Timeline
from ..model import Notification, Outcome
from ..stores.protocol import Store, Transaction
from . import core as engine
from . import refusals as refusals
from .prefetch import prefetch

if TYPE_CHECKING:
    from ..policy import Policy

T = TypeVar("T")

Clock = Callable[[], datetime]
"""A callable returning the current time, timezone-aware."""

_RETRIES = 5
"""Tries of one write that fails with :class:`~kudos.TransientStoreError` before giving up."""

_BACKOFF = 0.01
"""Seconds: the bound of the first pause between two tries; it doubles with each try."""

log = logging.getLogger("kudos")

# The stamp of the cached read in progress in this thread (nested lookups reuse it).
_reading: ContextVar[Hashable] = ContextVar("kudos_reading", default=None)
_UNCACHED = object()


def utc_now() -> datetime:
    """The wall clock in UTC: the default clock."""
    return datetime.now(UTC)


class CommunityBase:
    """Store, policy, clock, cache and subscribers; see :class:`kudos.Community`."""

    store: Store
    id: str
    clock: Clock
    cache: ReadCache
    _subscribers: Subscribers
    _namespace: Hashable
    _writes: Hashable
    _policies: PolicyState
    _channel: str | None = None
    """The channel facts recorded through this object carry (see ``Community.via``)."""

    # -- time -----------------------------------------------------------------
    def now(self) -> datetime:
        """The community clock's current time.

        Raises:
            InvalidInput: the clock returned something other than a
                timezone-aware datetime kudos takes (see :mod:`kudos` input rules).
        """
        now = self.clock()
        if isinstance(now, datetime) and now.tzinfo is None:
            raise InvalidInput("the community clock returned a naive datetime; return aware ones")
        return v.check_time("the community clock's time", now)

    def _stamp(self, event: Event, now: datetime | None = None) -> Event:
        """``event`` with its time set (the clock's now when it has none).

        Raises:
            InvalidInput: the event is dated more than :data:`CLOCK_SKEW` after the
                clock's now: a fact cannot have happened in the future.
        """
        now = now or self.now()
        if self._channel is not None and event.channel is None:
            event = attrs.evolve(event, channel=self._channel)
        if event.at is None:
            return attrs.evolve(event, at=now)
        if event.at > now + v.CLOCK_SKEW:
            raise InvalidInput(
                f"{event.type} is dated {event.at.isoformat()}, after the community clock's "
                f"now ({now.isoformat()}) plus the allowed skew of {v.CLOCK_SKEW}; "
                "report facts when they have happened"
            )
        return event

    # -- writing ----------------------------------------------------------------
    def record(self, event: Event, *, retry: bool = False) -> Outcome:
        """Record one event (see :mod:`kudos.events`) in one transaction.

        Recording an event id already in the log changes nothing and returns
        the first outcome (``outcome.replayed`` is true). A refusal is an
        outcome too: when a fact with a host ``event_id`` breaks a rule, the
        refusal is remembered, and recording that id again raises the same
        error, even if the state changed in between (a re-delivery gets the
        same answer). Pass ``retry=True``, or a new ``event_id``, to really
        try again.

        Raises:
            Conflict: the id was used (or refused) before for different content.
            NotAllowed, UnknownMember, UnknownPost, InvalidInput: the fact breaks a rule;
                nothing but the refusal was written.
        """
        if not isinstance(event, Event):
            raise InvalidInput(f"record() takes a kudos event, got {type(event).__name__}")
        v.check_flag("retry", retry)
        stamped = self._stamp(event)

        refused: list[KudosError] = []  # what the rules said, when they refused

        def work(tx: Transaction) -> Outcome:
            timeline = self._policies.begin(tx)
            if not retry:
                refusals.check(tx, stamped)
            assert stamped.at is not None
            version, policy = timeline.at(stamped.at)
            if getattr(tx, "round_trips", False):
                # A server store: what the event names (its posts and members, their
                # documents and counters) locked and read in a few statements, not one each.
                prefetch(tx, policy, (stamped,))
            try:
                outcome = engine.apply(tx, policy, stamped, version=version)
            except KudosError as exc:
                refused.append(exc)
                raise
            self._policies.end(tx, timeline, [outcome])
            return outcome

        try:
            return self._write(work)
        except KudosError:
            if refused and not self._remember(stamped, refused[-1], retry):
                # Another delivery of this id was accepted after this one was refused:
                # one fact, one answer. This one answers with that outcome (a replay).
                return self._write(work)
            raise

    def _remember(self, event: Event, error: KudosError, retry: bool) -> bool:
        """Keep the rules' refusal of a host's event id, in a transaction of its own.

        Returns ``False`` when the id was accepted meanwhile (nothing kept: see
        :func:`kudos.engine.refusals.remember`), else ``True``.
        """
        if event.event_id is None or not refusals.remembered(error):
            return True
        try:
            return self._write(lambda tx: refusals.remember(tx, event, error, retry=retry))
        except KudosError:  # the refusal stands even if keeping it fails
            return True

    def record_many(
        self, events: Iterable[Event], *, retry: bool = False, trusted: bool = False
    ) -> list[Outcome]:
        """Record a batch of events in one transaction: all of them or none.

        For bulk imports and backfills; much faster than one ``record`` each.
        Refusals are remembered as by :meth:`record`: the event that breaks a
        rule has its refusal kept (when the host gave its id), and an event
        whose host id was refused before fails the batch with that refusal
        unless ``retry`` is true. ``trusted=True`` records history: reputation
        thresholds and privilege rules are not checked again, because they were
        checked when the facts happened (a voter of an imported vote needs no
        invented reputation). Every other rule (one vote per member per post,
        no self-votes, known members and posts) still holds. Replaying the log
        (``rebuild``) never re-checks privileges either.
        Python's cyclic garbage collector is paused while the batch runs (and
        restored however it ends): a batch allocates many objects that outlive
        it and form no cycles, and the collector would otherwise walk the
        whole, growing heap again and again.

        Raises:
            KudosError: the first event that breaks a rule, its position and id
                named in the message; nothing of the batch was written.
        """
        if not isinstance(events, Iterable) or isinstance(events, str | bytes | Event):
            raise InvalidInput(
                f"record_many() takes an iterable of kudos events, got {type(events).__name__}"
            )
        now = self.now()
        batch = []
        for i, e in enumerate(events):
            if not isinstance(e, Event):
                raise InvalidInput(f"record_many(): item #{i} is {type(e).__name__}, not an event")
            try:
                batch.append(self._stamp(e, now))
            except InvalidInput as exc:
                raise InvalidInput(f"record_many(): item #{i}: {exc}") from None

        v.check_flag("retry", retry)
        v.check_flag("trusted", trusted)
        refused: list[tuple[Event, KudosError]] = []

        def run(tx: Transaction) -> list[Outcome]:
            outcomes: list[Outcome] = []
            expect = getattr(tx, "expect_new_events", None)  # optional in a store
            if expect is not None and len(batch) > 1:
                expect()
            timeline = self._policies.begin(tx)
            prefetch(tx, self.policy, batch)
            for i, event in enumerate(batch):
                try:
                    if not retry and event.event_id is not None:
                        refusals.check(tx, event)
                    assert event.at is not None
                    version, policy = timeline.at(event.at)
                    try:
                        outcome = engine.apply(tx, policy, event, trusted=trusted, version=version)
                        outcomes.append(outcome)
                        if outcome.type == PolicyChanged.type and not outcome.replayed:
                            timeline = Timeline(tx.policy_versions())
                    except KudosError as exc:
                        refused.append((event, exc))
                        raise
                except KudosError as exc:
                    if isinstance(exc, TransientStoreError):
                        raise
                    raise type(exc)(
                        f"event #{i} ({event.event_id or event.type}) of the batch: {exc}; "
                        "nothing of the batch was recorded"
                    ) from exc
            self._policies.end(tx, timeline, outcomes)
            return outcomes

        try:
            with engine.paused_gc():
                return self._write(run)
        except KudosError:
            if refused and not self._remember(*refused[-1], retry):
                # The refused event's id was accepted meanwhile by another delivery: the
                # batch runs again, meeting it as a replay (one fact, one answer).
                refused.clear()
                with engine.paused_gc():
                    return self._write(run)
            raise

    def _write(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in one transaction (retried when transient); then tell the world.

        What follows a commit (cached reads of the community outdated, the
        subscribers told) runs once the work really committed: right after
        kudos's own transaction, or, when kudos joined the host's transaction,
        after the host commits it, and never for work rolled back.
        """
        for attempt in range(_RETRIES):
            try:
                with self.store.transaction(self.id) as tx:
                    result = work(tx)
                    on_commit = getattr(tx, "on_commit", None)
                    if on_commit is not None:
                        on_commit(lambda result=result: self._committed(result))
                break
            except TransientStoreError as exc:
                if attempt == _RETRIES - 1:
                    cause = str(exc).removesuffix(", run it again")
                    raise TransientStoreError(
                        f"{cause} (gave up after {_RETRIES} tries, nothing of this work was "
                        "recorded; call again later)"
                    ) from exc
                # Exponential backoff with full jitter: writers that collided do not all
                # come back at the same moment.
                pause = random.uniform(0, _BACKOFF * 2**attempt)
                log.info(
                    "community %r: %s; trying again in %.0f ms (try %d of %d)",
                    self.id,
                    exc,
                    pause * 1000,
                    attempt + 2,
                    _RETRIES,
                )
                time.sleep(pause)
        if on_commit is None:  # a store that cannot say when: its block's end is the commit
            self._committed(result)
        return result

    def _committed(self, result: object) -> None:
        self.cache.note_write(self._writes)
        for outcome in result if isinstance(result, list) else [result]:
            if isinstance(outcome, Outcome) and not outcome.replayed:
                self._publish(outcome.notifications)

    # -- the policy in force ---------------------------------------------------------
    @property
    def policy(self) -> Policy:
        """The policy in force at the clock's now: the latest version the store recorded
        whose ``effective`` time has come (a change scheduled for later is not in force yet).

        Before the community's first write, the ``policy=`` it was opened with
        (or the default preset); see :meth:`kudos.Community.change_policy`.

        It is the history as this object (or another one of the same store in
        this process) last read it: a change made through another object or
        process shows here from this object's next read or write of the store
        (each checks the latest version's number and fingerprint). Reads and
        writes value facts under the history their own transaction read.
        """
        if self._policies.timeline is None:
            self._read(lambda tx: None)
        return self._policies.current()

    def _policy_versions(self) -> Sequence[Policy]:
        """The community's policy versions as policies, version 1 first (as last read)."""
        timeline = self._policies.timeline
        return timeline.policies if timeline is not None else ()

    @property
    def _policy_token(self) -> int:
        return policy_token(self.policy)

    # -- reading ------------------------------------------------------------------
    def _read(self, work: Callable[[Transaction], T]) -> T:
        def synced(tx: Transaction) -> T:
            self._policies.sync(tx)
            return work(tx)

        return self._read_raw(synced)

    def _read_raw(self, work: Callable[[Transaction], T]) -> T:
        if _takes_read_only(self.store):
            with self.store.transaction(self.id, read_only=True) as tx:  # type: ignore[call-arg]
                return work(tx)
        with self.store.transaction(self.id) as tx:
            return work(tx)

    def _stamp_now(self) -> Hashable:
        """The versions a cached result of this community is valid for, or ``_UNCACHED``.

        This process's own writes (any ``Community``) and, unless the cache
        trusts its TTL, the store's data version (writes of any process).
        """
        data_version = getattr(self.store, "data_version", None)
        if data_version is None:
            store_version = None
        else:
            store_version = data_version(self.id, check=self.cache.freshness == "checked")
            if store_version is None:  # uncommitted kudos writes in the host's transaction
                return _UNCACHED
        return (local_version(self._writes), store_version)

    def _cached(self, key: Hashable, work: Callable[[Transaction], T]) -> T:
        if not self.cache.enabled:
            return self.cache.get_or_compute(None, lambda: self._read(work))
        stamp = self._stamp_now()
        if stamp is _UNCACHED:
            return self._read(work)
        token = _reading.set(stamp)
        try:
            return self.cache.get_or_compute(
                (self._namespace, self._policy_token, *_as_tuple(key)),
                lambda: self._read(work),
                stamp=stamp,
            )
        finally:
            _reading.reset(token)

    def _cache_get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """A cached value inside a read (see :meth:`_cached`), under the read's stamp."""
        stamp = _reading.get()
        if stamp is None:
            return compute()
        return self.cache.get_or_compute(
            (self._namespace, self._policy_token, *_as_tuple(key)), compute, stamp=stamp
        )

    # -- subscribers ----------------------------------------------------------------
    def subscribe(self, callback: Callable[[Notification], object]) -> Callable[[], None]:
        """Call ``callback`` with each notification once its transaction committed.

        When kudos owns the transaction (a store on an engine, or
        :class:`~kudos.MemoryStore`), right after its commit. When kudos joined
        your transaction (``SqlStore(connection)``), after *you* commit it;
        never for work rolled back, a rolled-back SAVEPOINT included. So the
        subscribers and the outbox (:meth:`notifications`) always agree.

        A callback that raises is logged (logger ``"kudos"``) and skipped: the
        other subscribers still run, and the write, already committed, does
        not raise because of it.

        A subscriber hears the community on its store, not only this object:
        every ``Community`` of the process on the same store and community
        (a long-lived one, or one built per request) tells it. A subscription
        lasts while the ``Community`` that made it lives (or until
        unsubscribed), so subscribe once, on a ``Community`` kept for the
        process's life; one made per request ends with its request.

        A callback runs while the writer still holds its database connection
        (kudos's own transaction has committed): a callback that reads the
        community (``standing``, ...) takes a second connection from the
        engine's pool, so give the pool at least two (SQLAlchemy's default is
        five), or read after the write returns.

        In-process only; for delivery that survives crashes, poll
        :meth:`notifications` and :meth:`ack` them. Returns a function that
        unsubscribes.
        """
        entry = (weakref.ref(self), callback)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(entry)

        return unsubscribe

    def _publish(self, notes: Sequence[Notification]) -> None:
        live = self._subscribers.live()
        for note in notes:
            for callback in live:
                try:
                    callback(note)
                except Exception:
                    log.exception(
                        "a kudos subscriber (%r) failed on notification %s %r; "
                        "the write had committed, the other subscribers still ran",
                        callback,
                        note.kind,
                        note.member,
                    )


class Subscribers(list[tuple["weakref.ref[CommunityBase]", Callable[[Notification], object]]]):
    """The in-process subscribers of one community on one store, shared by its Community objects.

    A host subscribing once, on a long-lived ``Community``, hears what the
    ``Community`` objects it builds per request write. Each subscription
    belongs to the ``Community`` that made it and ends when that object does.
    """

    def live(self) -> list[Callable[[Notification], object]]:
        """The callbacks whose ``Community`` still lives (the others are dropped)."""
        with _subscribers_lock:
            self[:] = [entry for entry in self if entry[0]() is not None]
            return [callback for _, callback in self]


_subscribers: weakref.WeakValueDictionary[Hashable, Subscribers] = weakref.WeakValueDictionary()
_subscribers_lock = threading.Lock()


def subscribers_of(namespace: Hashable) -> Subscribers:
    """The subscribers of ``namespace`` (store identity, community), kept while a holder lives."""
    with _subscribers_lock:
        found = _subscribers.get(namespace)
        if found is None:
            found = _subscribers[namespace] = Subscribers()
        return found


_policy_tokens: dict[int, int] = {}
_next_policy_token = itertools.count(1)


def policy_token(policy: object) -> int:
    """A number per policy object alive: cached results computed under one are not another's."""
    key = id(policy)
    with _subscribers_lock:
        found = _policy_tokens.get(key)
        if found is None:
            found = _policy_tokens[key] = next(_next_policy_token)
            weakref.finalize(policy, _policy_tokens.pop, key, None)
    return found


_READ_ONLY: dict[type, bool] = {}


def _takes_read_only(store: Store) -> bool:
    """Whether ``store.transaction`` takes ``read_only=`` (an optional part of the protocol)."""
    kind = type(store)
    found = _READ_ONLY.get(kind)
    if found is None:
        try:
            parameters = inspect.signature(store.transaction).parameters
        except (TypeError, ValueError):
            parameters = {}  # type: ignore[assignment]
        found = _READ_ONLY[kind] = "read_only" in parameters
    return found


def _as_tuple(key: Hashable) -> tuple[Hashable, ...]:
    return key if isinstance(key, tuple) else (key,)
