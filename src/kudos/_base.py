"""The plumbing every part of :class:`kudos.Community` shares.

``Community`` is assembled from one class per capability (posts, recognition,
referrals, ideas, payback, leaderboards); each derives from
:class:`CommunityBase`, which owns the store, the policy, the clock, the read
cache and the subscribers, and turns an event into one store transaction.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import attrs

from . import _engine as engine
from .cache import ReadCache
from .errors import InvalidInput, KudosError, TransientStoreError
from .events import Event
from .model import Notification, Outcome
from .stores.protocol import Store, Transaction

if TYPE_CHECKING:
    from .policy import Policy

T = TypeVar("T")

Clock = Callable[[], datetime]
"""A callable returning the current time, timezone-aware."""

_RETRIES = 5


def utc_now() -> datetime:
    """The wall clock in UTC: the default clock."""
    return datetime.now(UTC)


class CommunityBase:
    """Store, policy, clock, cache and subscribers; see :class:`kudos.Community`."""

    store: Store
    policy: Policy
    id: str
    clock: Clock
    cache: ReadCache
    _subscribers: list[Callable[[Notification], object]]

    # -- time -----------------------------------------------------------------
    def now(self) -> datetime:
        """The community clock's current time."""
        now = self.clock()
        if now.tzinfo is None:
            raise InvalidInput("the community clock returned a naive datetime; return aware ones")
        return now

    def _stamp(self, event: Event) -> Event:
        return event if event.at is not None else attrs.evolve(event, at=self.now())

    # -- writing ----------------------------------------------------------------
    def record(self, event: Event) -> Outcome:
        """Record one event (see :mod:`kudos.events`) in one transaction.

        Recording an event id already in the log changes nothing and returns
        the first outcome (``outcome.replayed`` is true).

        Raises:
            Conflict: the id was used before for different content.
            NotAllowed, UnknownMember, UnknownPost, InvalidInput: the fact breaks a rule;
                nothing was written.
        """
        if not isinstance(event, Event):
            raise InvalidInput(f"record() takes a kudos event, got {type(event).__name__}")
        stamped = self._stamp(event)
        return self._write(lambda tx: engine.apply(tx, self.policy, stamped))

    def record_many(self, events: Iterable[Event], *, trusted: bool = False) -> list[Outcome]:
        """Record a batch of events in one transaction: all of them or none.

        For bulk imports and backfills; much faster than one ``record`` each.
        ``trusted=True`` records history: reputation thresholds and privilege
        rules are not checked again, because they were checked when the facts
        happened (a voter of an imported vote needs no invented reputation).
        Every other rule (one vote per member per post, no self-votes, known
        members and posts) still holds. Replaying the log (``rebuild``) never
        re-checks privileges either.
        Python's cyclic garbage collector is paused while the batch runs (and
        restored however it ends): a batch allocates many objects that outlive
        it and form no cycles, and the collector would otherwise walk the
        whole, growing heap again and again.

        Raises:
            KudosError: the first event that breaks a rule, its position and id
                named in the message; nothing of the batch was written.
        """
        batch = [self._stamp(e) if isinstance(e, Event) else e for e in events]
        for i, e in enumerate(batch):
            if not isinstance(e, Event):
                raise InvalidInput(f"record_many(): item #{i} is {type(e).__name__}, not an event")

        def run(tx: Transaction) -> list[Outcome]:
            outcomes = []
            for i, event in enumerate(batch):
                try:
                    outcomes.append(engine.apply(tx, self.policy, event, trusted=trusted))
                except KudosError as exc:
                    if isinstance(exc, TransientStoreError):
                        raise
                    raise type(exc)(
                        f"event #{i} ({event.event_id or event.type}) of the batch: {exc}; "
                        "nothing of the batch was recorded"
                    ) from exc
            return outcomes

        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            return self._write(run)
        finally:
            if paused:
                gc.enable()

    def _write(self, work: Callable[[Transaction], T]) -> T:
        for attempt in range(_RETRIES):
            try:
                with self.store.transaction(self.id) as tx:
                    result = work(tx)
                break
            except TransientStoreError:
                if attempt == _RETRIES - 1:
                    raise
        self.cache.clear()
        for outcome in result if isinstance(result, list) else [result]:
            if isinstance(outcome, Outcome):
                self._publish(outcome.notifications if not outcome.replayed else ())
        return result

    # -- reading ------------------------------------------------------------------
    def _read(self, work: Callable[[Transaction], T]) -> T:
        with self.store.transaction(self.id) as tx:
            return work(tx)

    def _cached(self, key: Hashable, work: Callable[[Transaction], T]) -> T:
        return self.cache.get_or_compute((self.id, *_as_tuple(key)), lambda: self._read(work))

    # -- subscribers ----------------------------------------------------------------
    def subscribe(self, callback: Callable[[Notification], object]) -> Callable[[], None]:
        """Call ``callback`` with each notification after its transaction commits.

        In-process only; for delivery that survives crashes, poll
        :meth:`notifications` and :meth:`ack` them. Returns a function that
        unsubscribes.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _publish(self, notes: Sequence[Notification]) -> None:
        for note in notes:
            for callback in list(self._subscribers):
                callback(note)


def _as_tuple(key: Hashable) -> tuple[Hashable, ...]:
    return key if isinstance(key, tuple) else (key,)
