"""PostgreSQL writers wait for each other's locks only in one order, so one always commits.

* Of two writers each holding a key the other wants next, the one whose key is
  above every key it holds waits and the other gives up at once
  (:class:`~kudos.stores._sql_tx.LockBusy`); before, both gave up.
* A writer holding the numbering lock (it notified) never waits for a key:
  it gives up instead, so a writer holding that key and waiting for the
  numbering lock commits, without PostgreSQL having to detect a deadlock.
* Needing the whole community late, while holding keys, is only tried; the
  retry takes the community first.
* A retry that meets a busy key late again takes the community exclusively:
  one piece of work gives up on a lock at most twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from conftest import process_prefix
from kudos import Community, TransientStoreError, policies
from kudos.engine import base
from kudos.model import Notification
from kudos.stores._sql_tx import (
    NUMBERING_LOCK,
    WRITE_LOCK,
    LockBusy,
    SqlTransaction,
    lock_id,
    lock_space,
)
from kudos.stores.sql import SqlStore

pytestmark = pytest.mark.postgres

COMMUNITY = "lock-order"
SPACE = lock_space(f"{process_prefix()}events", COMMUNITY)  # the tables of postgres_store
AT = datetime(2026, 6, 1, 9, tzinfo=UTC)


def _ordered(n: int) -> list[str]:
    """``n`` engine lock keys in ascending lock number order."""
    keys = [f"k{i}" for i in range(n * 4)]
    return sorted(keys, key=lambda k: lock_id(SPACE, k))[:n]


def _lock_waits(engine: Engine, key: str) -> int:
    """How many sessions of this database wait for the advisory lock of ``key``."""
    number = lock_id(SPACE, key) & (2**64 - 1)  # as PostgreSQL shows it: two oids
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted"
                    " and classid::bigint = :high and objid::bigint = :low and objsubid = 1"
                    " and database = (select oid from pg_database"
                    " where datname = current_database())"
                ),
                {"high": number >> 32, "low": number & 0xFFFFFFFF},
            ).scalar_one()
        )


def _when_a_session_waits(engine: Engine, key: str, then: Callable[[], object]) -> threading.Thread:
    """Call ``then`` (in a thread) once a session of this database waits for ``key``'s lock."""

    def watch() -> None:
        since = time.monotonic()
        while not _lock_waits(engine, key) and time.monotonic() - since < 20:
            time.sleep(0.01)
        then()

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def _holding(store: SqlStore, key: str) -> tuple[threading.Thread, threading.Event]:
    """A writer holding ``key`` until the returned event is set."""
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with store.transaction(COMMUNITY) as tx:
            tx.lock([key])
            holding.set()
            assert release.wait(20)

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(20)
    return thread, release


@pytest.fixture
def store(postgres_store: SqlStore) -> SqlStore:
    postgres_store._hints.__dict__.pop(COMMUNITY, None)
    return postgres_store


def _hints(store: SqlStore) -> set[str]:
    hints: set[str] = store._hints.__dict__.setdefault(COMMUNITY, set())
    return hints


def test_of_two_writers_crossing_late_keys_the_higher_waits_and_one_commits(
    store: SqlStore,
) -> None:
    low, high = _ordered(2)
    meeting = threading.Barrier(2, timeout=20)
    results: dict[str, BaseException | None] = {}

    def take(first: str, then: str) -> None:
        try:
            with store.transaction(COMMUNITY) as tx:
                tx.lock([first])
                meeting.wait()
                tx.lock([then])
            results[first] = None
        except BaseException as exc:  # handed to the test thread
            results[first] = exc

    threads = [threading.Thread(target=take, args=p) for p in ((low, high), (high, low))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # The holder of the low key waits for the high one; the holder of the high key only
    # tries the low one, gives up, and its store waits for the low key before re-raising.
    assert results[low] is None, results
    assert isinstance(results[high], LockBusy), results


def test_a_writer_holding_the_numbering_lock_gives_up_a_busy_key_instead_of_waiting(
    store: SqlStore, postgres_engine: Engine
) -> None:
    (key,) = _ordered(1)
    note = Notification(seq=0, member="m", kind="badge", data={}, event_id="e", at=AT)
    has_key, has_numbering = threading.Event(), threading.Event()
    results: dict[str, BaseException | None] = {}

    def run(name: str, work: Callable[[SqlTransaction], None]) -> None:
        try:
            with store.transaction(COMMUNITY) as tx:
                work(tx)
            results[name] = None
        except BaseException as exc:  # handed to the test thread
            results[name] = exc

    def keyholder(tx: SqlTransaction) -> None:
        tx.lock([key])
        has_key.set()
        assert has_numbering.wait(20)
        tx.add_notifications([note])  # waits for the numbering lock the notifier holds

    def notifier(tx: SqlTransaction) -> None:
        assert has_key.wait(20)
        tx.add_notifications([note])  # holds the numbering lock to its commit
        has_numbering.set()
        while not _lock_waits(postgres_engine, NUMBERING_LOCK):  # the keyholder waits for it
            time.sleep(0.01)
        tx.lock([key])  # held by the keyholder: tried, not waited for

    threads = [
        threading.Thread(target=run, args=("keyholder", keyholder)),
        threading.Thread(target=run, args=("notifier", notifier)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Waiting would have closed a circle PostgreSQL breaks after deadlock_timeout by
    # failing one of the two with "deadlock detected"; trying breaks it at once.
    assert results["keyholder"] is None, results
    assert isinstance(results["notifier"], LockBusy), results


def test_the_whole_community_needed_late_is_tried_and_taken_first_by_the_retry(
    store: SqlStore, postgres_engine: Engine
) -> None:
    key, other = _ordered(2)
    thread, release = _holding(store, other)
    # Once this one's store waits (holding nothing) for the community, the writer commits.
    watcher = _when_a_session_waits(postgres_engine, WRITE_LOCK, release.set)
    try:
        with pytest.raises(LockBusy), store.transaction(COMMUNITY) as tx:
            tx.lock([key])
            tx.top("points", "all", limit=1)  # a read no key covers: the whole community
    finally:
        release.set()
        thread.join(timeout=30)
        watcher.join(timeout=30)
    assert WRITE_LOCK in _hints(store)
    with store.transaction(COMMUNITY) as tx:
        tx.lock([key])
        assert tx._exclusive  # taken first, exclusively, before any key
    assert not _hints(store)  # the work committed: nothing is carried over


def test_a_retry_that_meets_a_busy_key_late_again_takes_the_community(
    store: SqlStore, postgres_engine: Engine
) -> None:
    low, mid, high = _ordered(3)
    # The work locks ``high``, then ``low``, then (once it got that far) ``mid``: both
    # below ``high``, so only tried. The first try meets ``low`` busy; the retry takes
    # ``high`` and ``low`` first and meets ``mid`` busy, late.
    for busy in (low, mid):
        thread, release = _holding(store, busy)
        # Once this one's store waits (holding nothing) for the busy key, the holder commits.
        watcher = _when_a_session_waits(postgres_engine, busy, release.set)
        try:
            with pytest.raises(LockBusy), store.transaction(COMMUNITY) as tx:
                tx.lock([high])
                tx.lock([low])
                tx.lock([mid])
        finally:
            release.set()
            thread.join(timeout=30)
            watcher.join(timeout=30)
        assert (WRITE_LOCK in _hints(store)) == (busy == mid)
    with store.transaction(COMMUNITY) as tx:  # the third try cannot lose again
        tx.lock([high])
        tx.lock([low])
        tx.lock([mid])
        assert tx._exclusive


def test_community_retries_with_growing_jittered_pauses_then_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, store: SqlStore
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(base.time, "sleep", pauses.append)
    community = Community(store=store, community=COMMUNITY, policy=policies.giffgaff())
    tries = 0

    def busy(tx: object) -> None:
        nonlocal tries
        tries += 1
        raise TransientStoreError("the database was busy")

    with pytest.raises(TransientStoreError, match="gave up after 5 tries") as raised:
        community._write(busy)
    assert tries == base._RETRIES == 5
    assert "call again later" in str(raised.value)
    assert "the database was busy" in str(raised.value)
    assert len(pauses) == 4
    assert all(0 <= p <= base._BACKOFF * 2**i for i, p in enumerate(pauses)), pauses
