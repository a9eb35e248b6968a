"""Test helpers for hosts and for kudos itself: a fake clock and the store conformance suite.

This module's import path is public API and will not move.

>>> from datetime import UTC, datetime, timedelta
>>> clock = FakeClock(datetime(2026, 11, 23, 12, tzinfo=UTC))
>>> clock.advance(timedelta(days=1)).isoformat()
'2026-11-24T12:00:00+00:00'
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._validate import cut
from ..engine import core as engine
from ..engine.core import EARNED_POINTS
from ..errors import InvalidInput
from ..events import EventRefused
from ..history import handlers as history
from ..history.rules import from_content
from ..model import LedgerEntry
from ..payback.rules import SETTLEMENT_ACTIONS
from ..stores.memory import MemoryStore

if TYPE_CHECKING:
    from ..community import Community

__all__ = ["FakeClock", "assert_consistent", "assert_unchanged"]


class FakeClock:
    """A clock that stands still until told to move; pass it as ``Community(clock=...)``.

    Args:
        start: the time it shows first (timezone-aware; default 2026-11-23 12:00 UTC).
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 11, 23, 12, tzinfo=UTC)
        if start.tzinfo is None:
            raise InvalidInput("FakeClock needs a timezone-aware start time")
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        """The current fake time."""
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` (or ``timedelta(**kwargs)``); returns the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise InvalidInput("a FakeClock only moves forward; use set() to jump back")
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (timezone-aware)."""
        if when.tzinfo is None:
            raise InvalidInput("FakeClock.set() needs a timezone-aware datetime")
        with self._lock:
            self._now = when
            return self._now


def assert_consistent(community: Community, *, replay: bool = True) -> None:
    """Assert the invariants every community must keep; for hosts' tests and kudos's own.

    * every balance counter (points and reputation, all-time and per period)
      equals the sum of the member's ledger entries, and the points-earned
      counter (and, where leaderboards keep them, the per-day counters) the
      sum of those that are not payback settlements;
    * every reversal references an earlier, non-reversal entry of the same
      member and account, negates it exactly, and no entry is reversed twice;
    * replaying the event log into a fresh store, each fact under the policy
      version in force for it, gives the same ledger and the same projections
      (``rebuild() == incremental``);
    * with ``replay``, recording every logged event again changes nothing.
    """
    with community.store.transaction(community.id) as tx:
        entries = tx.entries()
        rows = tx.events()
        snapshot = tx.snapshot()
        versions = tx.policy_versions()
    counters = {k: v for k, v in snapshot.counters.items() if v}
    sums: Counter[tuple[str, str, str]] = Counter()
    by_id: dict[str, LedgerEntry] = {}
    reversed_ids: set[str] = set()
    # Each line counts on the day and window boards of the policy version that booked it.
    contents = {v.version: v.content for v in versions}
    day_rules: dict[int, tuple[Any, frozenset[str]]] = {}

    def booked_under(version: int) -> tuple[Any, frozenset[str]]:
        found = day_rules.get(version)
        if found is None:
            content = contents.get(version)
            policy = community.policy if content is None else from_content(content)
            windows = engine.window_counters(policy.leaderboards.window_metrics)
            found = day_rules[version] = (policy, frozenset(windows))
        return found

    for e in entries:
        sums[(e.account, "all", e.member)] += e.amount
        sums[(e.account, e.period, e.member)] += e.amount
        counter = engine.counter_for(e.account)
        if e.action not in SETTLEMENT_ACTIONS:  # a settlement moves the balance, earns nothing
            if counter != e.account:  # points earned, beside the points balance
                sums[(counter, "all", e.member)] += e.amount
                sums[(counter, e.period, e.member)] += e.amount
            policy, windows = booked_under(e.policy)
            if counter in windows:
                day = f"day:{engine.day_of(policy, e.at)}"
                sums[(counter, day, e.member)] += e.amount
        if e.reverses is not None:
            original = by_id.get(e.reverses)
            assert original is not None, f"{e.entry_id} reverses unknown {e.reverses}"
            assert original.reverses is None, f"{e.entry_id} reverses a reversal"
            assert (original.member, original.account) == (e.member, e.account)
            assert e.amount == -original.amount, f"{e.entry_id} does not negate {e.reverses}"
            assert e.reverses not in reversed_ids, f"{e.reverses} reversed twice"
            reversed_ids.add(e.reverses)
        by_id[e.entry_id] = e
    balances = {
        k: v
        for k, v in counters.items()
        if k[0] in ("points", EARNED_POINTS, "reputation")
        and "|" not in k[1]
        and not k[1].startswith("tag:")
    }
    expected = {k: v for k, v in sums.items() if v}
    if balances != expected:  # a raise, not an assert: pytest would add both reprs
        raise AssertionError(
            _differences(
                "balances differ from the ledger", balances, expected, "counter", "ledger sum"
            )
        )

    scratch = MemoryStore()
    with scratch.transaction(community.id) as stx:
        history.replay(rows, versions, stx, fallback=community.policy)
        fresh_entries = stx.entries()
        fresh = stx.snapshot()
    if fresh_entries != entries:
        raise AssertionError(
            _differences(
                "replaying the log gives a different ledger",
                {e.entry_id: _entry_words(e) for e in entries},
                {e.entry_id: _entry_words(e) for e in fresh_entries},
                "stored",
                "replayed",
            )
        )
    fresh_counters = {k: v for k, v in fresh.counters.items() if v}
    if fresh_counters != counters:
        raise AssertionError(
            _differences(
                "replaying the log gives different counters",
                counters,
                fresh_counters,
                "stored",
                "replayed",
            )
        )
    docs = {(d.kind, d.key): d for d in snapshot.docs}
    fresh_docs = {(d.kind, d.key): d for d in fresh.docs}
    if fresh_docs != docs:
        raise AssertionError(
            _differences(
                "replaying the log gives different documents",
                docs,
                fresh_docs,
                "stored",
                "replayed",
            )
        )

    if replay:
        for row in rows:
            outcome = community.record(engine.stored_to_event(row))
            assert outcome.replayed, f"recording {row.event_id} again was not a replay"
        with community.store.transaction(community.id) as tx:
            assert tx.entries() == entries, "recording events again changed the ledger"
            assert len(tx.events()) == len(rows), "recording events again grew the log"


def _entry_words(e: LedgerEntry) -> str:
    """A ledger line in a few words, for messages: ``"bob +50 points (kudos_received)"``."""
    return f"{e.member} {e.amount:+,} {e.account} ({e.action})"


_SHOWN_VALUE = 400
"""The most characters of one value a difference shows (a document may be many thousands)."""


def _differences(
    what: str,
    have: Mapping[Any, Any],
    want: Mapping[Any, Any],
    have_name: str,
    want_name: str,
    *,
    show: int = 5,
) -> str:
    """``what``, and only the keys on which ``have`` and ``want`` differ (the first ``show``).

    ``"balances differ from the ledger: 1 of 12 differ; ('reputation', 'all', 'm1'):
    counter 57, ledger sum 50"``; a key missing on one side shows as ``-``.
    """
    keys = sorted(set(have) | set(want), key=str)
    differ = [k for k in keys if have.get(k) != want.get(k)]
    if not differ:  # equal as mappings, but not as the values compared (order, duplicates)
        return what

    def brief(side: Mapping[Any, Any], k: Any) -> str:
        return cut(str(side[k]), _SHOWN_VALUE) if k in side else "-"

    shown = "; ".join(
        f"{k}: {have_name} {brief(have, k)}, {want_name} {brief(want, k)}" for k in differ[:show]
    )
    more = f"; and {len(differ) - show:,} more" if len(differ) > show else ""
    return f"{what}: {len(differ):,} of {len(keys):,} differ; {shown}{more}"


def _stored_state(community: Community) -> dict[str, Any]:
    """Everything ``community`` keeps in its store, in comparable form."""
    with community.store.transaction(community.id) as tx:
        snapshot = tx.snapshot()
        return {
            # A refusal kudos remembers for a host's event id is the answer, not partial state.
            "events": [
                (r.event_id, r.type, dict(r.payload), r.at)
                for r in tx.events()
                if r.type != EventRefused.type
            ],
            "ledger entries": tx.entries(),
            "documents": {(d.kind, d.key): (dict(d.data), d.ref, d.status) for d in snapshot.docs},
            "counters": {k: v for k, v in snapshot.counters.items() if v},
            "notifications": [
                (n.seq, n.member, n.kind, dict(n.data), n.acked) for n in tx.notifications()
            ],
        }


@contextlib.contextmanager
def assert_unchanged(community: Community) -> Iterator[None]:
    """Assert that the ``with`` block writes nothing to ``community``'s store.

    Compares the event log, the ledger, every document, counter and
    notification before and after the block; use it around a fact the rules
    must refuse, to prove the refusal left nothing behind (but the refusal
    itself, which kudos remembers for a host's event id: see
    :meth:`kudos.Community.record`)::

        with assert_unchanged(community), pytest.raises(kudos.NotAllowed):
            community.give_kudos("r1", giver="alice")   # alice wrote r1
    """
    before = _stored_state(community)
    yield
    after = _stored_state(community)
    changed = [part for part in before if before[part] != after[part]]
    assert not changed, f"the block changed the store's {' and '.join(changed)}"
