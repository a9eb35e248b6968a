"""SqlTransaction: one unit of work of :class:`~kudos.stores.sql.SqlStore`."""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.sql.elements import BindParameter

from ..errors import Conflict, TransientStoreError
from ..model import Doc, LedgerEntry, Notification, PolicyVersion, StoredEvent
from . import _sql_search
from ._sql_hot import CoreRunner, SqliteRunner, Statements
from ._sql_schema import Tables
from .protocol import SEARCH_KIND, CounterKey, Snapshot, match_terms

__all__ = [
    "PREFETCH_CHUNK",
    "RANK_BOARDS",
    "RANK_STEP",
    "SHARED_CACHE_LIMIT",
    "WRITE_LOCK",
    "BoardRanks",
    "Queries",
    "SharedCache",
    "SqlTransaction",
    "lock_id",
]

PREFETCH_CHUNK = 500
"""Keys (or subjects) per statement of :meth:`SqlTransaction.prefetch_docs` and
:meth:`SqlTransaction.prefetch_counters`: well under every driver's parameter limit."""

SHARED_CACHE_LIMIT = 500_000
"""Documents and counters a :class:`SharedCache` keeps per community before starting over.

Large enough for the state a batch of events reads in a community of tens of thousands of
members (tens of MB), so consecutive batches do not read it all again."""

RANK_STEP = 1024
"""Members between two bookmarks of a :class:`BoardRanks` tie group: a position reads at most this
many index entries."""

RANK_BOARDS = 256
"""Boards per community a :class:`SharedCache` keeps :class:`BoardRanks` of, then starts over."""

WRITE_LOCK = "kudos:write"
"""The key of a community's write lock (see :meth:`SqlTransaction._writing`)."""


def lock_id(community: str, key: str) -> int:
    """A stable signed 64-bit number for ``(community, key)``: a PostgreSQL advisory lock id."""
    digest = hashlib.blake2b(f"{community}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Queries:
    """The read and maintenance statements of one set of tables, built once per store."""

    def __init__(self, t: Tables) -> None:
        ev, led, docs, cnt, out = t.events, t.ledger, t.docs, t.counters, t.outbox
        c: BindParameter[str] = bindparam("c")
        self.tables = t

        self.events = (
            select(ev.c.seq, ev.c.event_id, ev.c.type, ev.c.payload, ev.c.at)
            .where(ev.c.community == c, ev.c.seq > bindparam("after"))
            .order_by(ev.c.seq)
        )
        self.events_limited = self.events.limit(bindparam("limit"))
        self.events_with_ids = (
            select(ev.c.seq, ev.c.event_id, ev.c.type, ev.c.payload, ev.c.at)
            .where(ev.c.community == c, ev.c.event_id.in_(bindparam("ids", expanding=True)))
            .order_by(ev.c.seq)
        )
        self.entry_columns = (
            led.c.entry_id,
            led.c.member,
            led.c.account,
            led.c.amount,
            led.c.action,
            led.c.reason,
            led.c.event_id,
            led.c.subject,
            led.c.period,
            led.c.at,
            led.c.reverses,
            led.c.tags,
            led.c.policy,
        )
        self.reversed_ids = select(led.c.reverses).where(
            led.c.community == c, led.c.reverses.in_(bindparam("ids", expanding=True))
        )
        self.doc_columns = (docs.c.kind, docs.c.key, docs.c.ref, docs.c.status, docs.c.data)
        self.all_docs = (
            select(*self.doc_columns).where(docs.c.community == c).order_by(docs.c.kind, docs.c.key)
        )
        # find(): one statement per combination of filters, built once.
        self.find: dict[tuple[bool, bool, bool], Any] = {}
        for by_ref, by_status, limited in itertools.product((False, True), repeat=3):
            stmt = select(*self.doc_columns).where(
                docs.c.community == c, docs.c.kind == bindparam("kind")
            )
            if by_ref:
                stmt = stmt.where(docs.c.ref == bindparam("ref"))
            if by_status:
                stmt = stmt.where(docs.c.status == bindparam("status"))
            stmt = stmt.order_by(docs.c.key)
            if limited:
                stmt = stmt.limit(bindparam("limit"))
            self.find[(by_ref, by_status, limited)] = stmt
        self.docs_with_keys = (
            select(*self.doc_columns)
            .where(
                docs.c.community == c,
                docs.c.kind == bindparam("kind"),
                docs.c.key.in_(bindparam("keys", expanding=True)),
            )
            .order_by(docs.c.key)
        )
        self.insert_docs = docs.insert()
        self.delete_docs = delete(docs).where(docs.c.community == c)

        pol = t.policies
        self.policy_versions = (
            select(pol.c.version, pol.c.content, pol.c.fingerprint, pol.c.effective, pol.c.event_id)
            .where(pol.c.community == c)
            .order_by(pol.c.version)
        )
        self.policy_version = select(func.max(pol.c.version)).where(pol.c.community == c)
        self.policy_latest = (
            select(pol.c.version, pol.c.fingerprint)
            .where(pol.c.community == c)
            .order_by(pol.c.version.desc())
            .limit(1)
        )
        self.insert_policy = pol.insert()

        self.insert_counters = cnt.insert()
        self.delete_counters = delete(cnt).where(cnt.c.community == c)
        self.counters_of = select(cnt.c.metric, cnt.c.scope, cnt.c.value).where(
            cnt.c.community == c,
            cnt.c.subject == bindparam("subj"),
            cnt.c.scope.in_(bindparam("scopes", expanding=True)),
            cnt.c.value != 0,
        )
        self.counters_grid = select(cnt.c.metric, cnt.c.scope, cnt.c.subject, cnt.c.value).where(
            cnt.c.community == c,
            cnt.c.subject.in_(bindparam("subjects", expanding=True)),
            cnt.c.scope.in_(bindparam("scopes", expanding=True)),
        )
        self.counters_in = select(cnt.c.metric, cnt.c.scope, cnt.c.subject, cnt.c.value).where(
            cnt.c.community == c,
            cnt.c.scope.in_(bindparam("scopes", expanding=True)),
            cnt.c.value != 0,
        )
        board = (
            cnt.c.community == c,
            cnt.c.metric == bindparam("m"),
            cnt.c.scope == bindparam("s"),
            cnt.c.value != 0,
            cnt.c.subject.not_in(bindparam("exclude", expanding=True)),
        )
        self.top = (
            select(cnt.c.subject, cnt.c.value)
            .where(*board)
            .order_by(cnt.c.value.desc(), cnt.c.subject.asc())
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
        )
        # Positions rank positive values only (top() also lists negatives, last).
        self.board_size = select(func.count()).select_from(cnt).where(*board).where(cnt.c.value > 0)
        mine: BindParameter[int] = bindparam("mine")
        subject: BindParameter[str] = bindparam("subj")
        self.ahead = (
            select(func.count())
            .select_from(cnt)
            .where(*board)
            .where((cnt.c.value > mine) | ((cnt.c.value == mine) & (cnt.c.subject < subject)))
        )
        where = (
            cnt.c.community == c,
            cnt.c.metric == bindparam("m"),
            cnt.c.scope == bindparam("s"),
        )
        self.value_counts = (
            select(cnt.c.value, func.count())
            .where(*where, cnt.c.value > 0)
            .group_by(cnt.c.value)
            .order_by(cnt.c.value.desc())
        )
        tied = (*where, cnt.c.value == mine)
        self.tie_bookmark = (
            select(cnt.c.subject)
            .where(*tied, cnt.c.subject >= bindparam("low"))
            .order_by(cnt.c.subject)
            .limit(1)
            .offset(bindparam("skip"))
        )
        self.tied_before = (
            select(func.count())
            .select_from(cnt)
            .where(*tied, cnt.c.subject >= bindparam("low"), cnt.c.subject < subject)
        )
        self.all_counters = select(cnt.c.metric, cnt.c.scope, cnt.c.subject, cnt.c.value).where(
            cnt.c.community == c, cnt.c.value != 0
        )
        self.note_columns = (
            out.c.seq,
            out.c.member,
            out.c.kind,
            out.c.data,
            out.c.event_id,
            out.c.at,
            out.c.acked,
        )
        self.ack = (
            update(out)
            .where(out.c.community == c, out.c.seq.in_(bindparam("seqs", expanding=True)))
            .values(acked=True)
        )


class SharedCache:
    """Documents and counters as committed, kept between transactions on one SQLite connection.

    Only the transactions kudos commits itself add to it, after their commit.
    It is valid while nobody else changes the database: ``stamp`` is SQLite's
    ``PRAGMA data_version`` (it moves when any other connection, of this
    process or another, commits) and the connection's ``total_changes`` after
    kudos's last commit; when either differs the store starts a new cache.
    So consecutive ``record`` calls read a member's state once, not once per
    event, and positions read the :class:`BoardRanks` of their boards.
    """

    def __init__(self, stamp: tuple[int, int | str]) -> None:
        self.stamp: tuple[int, int | str] = stamp
        self.docs: dict[str, dict[tuple[str, str], Doc | None]] = {}
        self.values: dict[str, dict[CounterKey, int]] = {}
        self.boards: dict[str, dict[tuple[str, str], BoardRanks]] = {}


class BoardRanks:
    """How many members hold each value of one board, as committed: positions in a few reads.

    A store counting who is ahead of a member reads every index entry ahead
    of it, linear in the board's size. This keeps, per board, the number of
    members at each value (one ``GROUP BY`` over the board's index) and,
    for each tie group larger than :data:`RANK_STEP`, every
    :data:`RANK_STEP`-th member id of the group in id order with its place
    in the group (its bookmarks, read when a position first falls in the
    group). A position is then the members at higher values (a binary
    search) plus those before the member in its tie group after the nearest
    bookmark: about :data:`RANK_STEP` index entries at most, whatever the
    size. It lives in the :class:`SharedCache`: the changes kudos commits
    through the same connection are applied to it (:meth:`update`), and it is
    dropped when anything else changes the database.
    """

    __slots__ = ("above", "bookmarks", "counts", "excluded", "size", "stale", "tally", "values")

    def __init__(self, counts: Iterable[tuple[int, int]]) -> None:
        self.tally = dict(counts)
        self.bookmarks: dict[int, tuple[list[str], list[int]]] = {}
        self.excluded: tuple[tuple[str, ...], dict[str, int]] = ((), {})
        self.values: list[int] = []
        self.counts: list[int] = []
        self.above: list[int] = []
        self.size = 0
        self.stale = True

    def fresh(self) -> BoardRanks:
        """Itself, with the per-value lists rebuilt if :meth:`update` changed the tally."""
        if self.stale:
            ordered = sorted(self.tally.items(), reverse=True)
            # Negated values, ascending, so bisect finds a value's place.
            self.values = [-v for v, _ in ordered]
            self.counts = [n for _, n in ordered]
            self.above = []
            total = 0
            for n in self.counts:
                self.above.append(total)
                total += n
            self.size = total
            self.stale = False
        return self

    def group(self, value: int) -> int | None:
        """The index of ``value``'s tie group, or ``None`` when no member holds it."""
        i = bisect.bisect_left(self.values, -value)
        return i if i < len(self.values) and self.values[i] == -value else None

    def update(self, moves: Iterable[tuple[str, int, int]]) -> None:
        """Apply committed changes: each ``(member, old value, new value)``."""
        for subject, old, new in moves:
            if old == new:
                continue
            if old > 0:  # only positive values are ranked
                self._move(subject, old, -1)
            if new > 0:
                self._move(subject, new, 1)
            self.stale = True
        self.excluded = ((), {})  # the values of the members left out may have moved too

    def _move(self, subject: str, value: int, step: int) -> None:
        left = self.tally.get(value, 0) + step
        if left:
            self.tally[value] = left
        else:
            self.tally.pop(value, None)
            self.bookmarks.pop(value, None)
            return
        marks = self.bookmarks.get(value)
        if marks is None:
            return
        subjects, places = marks
        k = bisect.bisect_right(subjects, subject)
        if step < 0 and k > 1 and subjects[k - 1] == subject:  # a bookmark leaves its group
            del subjects[k - 1], places[k - 1]
            k -= 1
        for j in range(k, len(places)):
            places[j] += step


class SqlTransaction:
    """A :class:`~kudos.stores.protocol.Transaction` on a :class:`~kudos.stores.sql.SqlStore`.

    Writes are buffered and sent in batches (``executemany``): documents,
    ledger entries and counter changes (summed per counter) go to the
    database right before a read that could see them, and at commit. Documents
    and counters read are remembered for the rest of the transaction, so a
    batch of events (``record_many``) reads each member's state once; on
    SQLite a :class:`SharedCache` carries them on to the next transaction.
    Events are written at once (the database's unique key decides whether an
    id is new), and so are notifications (the caller gets their ``seq``).
    """

    def __init__(
        self,
        community: str,
        conn: Connection,
        runner: CoreRunner | SqliteRunner,
        sql: Statements,
        queries: Queries,
        *,
        postgres: bool,
        write_lock: bool = True,
        shared: SharedCache | None = None,
        on_commit: Callable[[Callable[[], object]], None] | None = None,
    ) -> None:
        self.community = community
        self._on_commit = on_commit
        self.wrote = False
        """Whether this transaction wrote anything."""
        self.appended = 0
        """Events appended in this transaction."""
        self._conn = conn
        self._run = runner
        self._sql = sql
        self._q = queries
        self._postgres = postgres
        self._c = {"c": community}
        self._locked: set[str] = set()
        self._write_locked = not write_lock
        self._docs: dict[tuple[str, str], Doc | None] = {}
        self._dirty: dict[str, dict[str, Doc]] = {}
        self._values: dict[CounterKey, int] = {}
        # (scope, subject) pairs whose every counter was read (prefetch_counters): a key of
        # one that is in neither _values nor the shared cache is 0 in the database.
        self._complete: set[tuple[str, str]] = set()
        self._deltas: dict[CounterKey, int] = {}
        self._entries: list[LedgerEntry] = []
        self._shared = shared
        self._shared_docs = shared.docs.get(community) if shared is not None else None
        self._shared_values = shared.values.get(community) if shared is not None else None
        self._replaced = False
        self._counted = False
        # Counter changes on boards with a BoardRanks: sums not yet read back, then
        # (value before the transaction, value after) per member.
        self._moved: dict[tuple[str, str], dict[str, int]] = {}
        self._moves: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}

    @property
    def shared(self) -> bool:
        """Whether this transaction reads through a :class:`SharedCache`."""
        return self._shared is not None

    def on_commit(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once this work committed: kudos's commit, or the host's.

        Never called when the work, or the host transaction it joined, rolls
        back (a rolled-back SAVEPOINT it ran in included).
        """
        if self._on_commit is None:
            raise TypeError("this transaction was made without an on_commit hook")
        self._on_commit(callback)

    def finish(self) -> None:
        """Send what is buffered and move the community's data version if anything was written."""
        self.flush()
        if self.wrote:
            self._run.bump_version(self.community)

    # -- buffering ------------------------------------------------------------------
    def flush(self) -> None:
        """Send every buffered write to the database (documents, ledger, counters)."""
        self._flush_docs()
        self._flush_entries()
        self._flush_counters()
        self._read_moves()

    def _note_moves(
        self,
        boards: Mapping[tuple[str, str], BoardRanks],
        changes: Sequence[tuple[CounterKey, int]],
    ) -> None:
        """Remember the changes to summarised boards, to apply to their :class:`BoardRanks`."""
        for (metric, scope, subject), delta in changes:
            if (metric, scope) in boards:
                moved = self._moved.setdefault((metric, scope), {})
                moved[subject] = moved.get(subject, 0) + delta

    def _read_moves(self) -> None:
        """Read the new values of the counters moved on summarised boards (before commit)."""
        for (metric, scope), moved in self._moved.items():
            seen = self._moves.setdefault((metric, scope), {})
            for subject, delta in moved.items():
                new = self.counter(metric, scope, subject)
                seen[subject] = (seen[subject][0] if subject in seen else new - delta, new)
        self._moved.clear()

    def _flush_docs(self, kind: str | None = None) -> None:
        if not self._dirty:
            return
        if kind is None:
            dirty, self._dirty = self._dirty, {}
        elif kind in self._dirty:
            dirty = {kind: self._dirty.pop(kind)}
        else:
            return
        # Sorted, so two transactions writing the same documents cannot deadlock.
        docs = [dirty[k][key] for k in sorted(dirty) for key in sorted(dirty[k])]
        self._run.upsert_docs(self.community, docs)

    def _flush_entries(self) -> None:
        if self._entries:
            entries, self._entries = self._entries, []
            self._run.insert_entries(self.community, entries)

    def _flush_counters(self) -> None:
        if not self._deltas:
            return
        deltas, self._deltas = self._deltas, {}
        values, shared, complete = self._values, self._shared_values, self._complete
        changes = []
        for key in sorted(deltas):  # sorted against deadlocks, as documents
            delta = deltas[key]
            if delta:
                if key in values:
                    values[key] += delta
                elif shared is not None and key in shared:
                    values[key] = shared[key] + delta
                elif (key[1], key[2]) in complete:
                    values[key] = delta
                changes.append((key, delta))
        if changes:
            self._run.add_counters(self.community, changes)
            boards = self._shared.boards.get(self.community) if self._shared is not None else None
            if boards:
                self._note_moves(boards, changes)

    def committed(self) -> None:
        """Called by the store after this transaction committed: share what it knows."""
        shared = self._shared
        if shared is None:
            return
        c = self.community
        if self._replaced:
            shared.docs.pop(c, None)
            shared.values.pop(c, None)
        if self._replaced:
            shared.boards.pop(c, None)
        elif self._moves and (boards := shared.boards.get(c)):
            for board, moves in self._moves.items():
                if board in boards:
                    boards[board].update((m, old, new) for m, (old, new) in moves.items())
        docs = shared.docs.setdefault(c, {})
        values = shared.values.setdefault(c, {})
        docs.update(self._docs)
        values.update(self._values)
        if len(docs) + len(values) > SHARED_CACHE_LIMIT:
            del shared.docs[c], shared.values[c]

    def _forget_reads(self) -> None:
        """Drop what was read: another transaction may have changed it before our lock."""
        self._docs = {
            (kind, key): doc for kind, docs in self._dirty.items() for key, doc in docs.items()
        }
        self._values.clear()
        self._complete.clear()

    # -- locking --------------------------------------------------------------------
    def _writing(self) -> None:
        """Take the community's write lock before the first write (PostgreSQL).

        Recording an event reads state (members, posts, counters, badges) and
        writes what follows from it; two app servers doing that at once for
        overlapping members would each miss the other's changes. Holding one
        lock per community from the first write to commit makes recordings
        of a community take turns, while reads never wait. What was read
        before the lock may be stale, so it is read again.
        """
        self.wrote = True
        self._write_lock()

    def _write_lock(self) -> None:
        """Take the community's write lock (PostgreSQL, once), forgetting what was read before."""
        if self._write_locked or not self._postgres:
            return
        self._conn.execute(self._sql.lock, {"lock": lock_id(self.community, WRITE_LOCK)})
        self._write_locked = True
        self._forget_reads()

    def lock(self, keys: Iterable[str]) -> None:
        """On PostgreSQL, take a transaction-level advisory lock per key (sorted, once each).

        A transaction that writes already holds the community's write lock,
        which covers every key; on SQLite every transaction holds the
        database's write lock (``BEGIN IMMEDIATE``). Then there is nothing
        more to take.
        """
        if not self._postgres or self._write_locked:
            return
        new = {key for key in keys if key not in self._locked}
        if not new:
            return
        for lock in sorted(lock_id(self.community, key) for key in new):
            self._conn.execute(self._sql.lock, {"lock": lock})
        self._locked |= new
        self._forget_reads()

    # -- events -----------------------------------------------------------------------
    def append_event(self, event: StoredEvent) -> StoredEvent | None:
        """Append ``event`` unless its id is in the log; returns the logged one if it is.

        The database's unique ``(community, event_id)`` decides: of two
        transactions appending one id at once, the second waits for the first
        and then finds its row.
        """
        self._writing()
        if self._run.insert_event(self.community, event):
            self.appended += 1
            return None
        known = self._run.get_event(self.community, event.event_id)
        if known is None:
            raise TransientStoreError(
                f"event {event.event_id!r} was being written by another transaction that "
                "rolled back; record it again"
            )
        return known

    def get_event(self, event_id: str) -> StoredEvent | None:
        """The logged event with ``event_id``, or ``None``."""
        return self._run.get_event(self.community, event_id)

    def events(self, *, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events with ``seq > after`` in append order (at most ``limit``)."""
        params: dict[str, Any] = {"c": self.community, "after": after}
        stmt = self._q.events
        if limit is not None:
            stmt, params["limit"] = self._q.events_limited, limit
        return [
            StoredEvent(event_id=r.event_id, type=r.type, payload=r.payload, at=r.at, seq=r.seq)
            for r in self._conn.execute(stmt, params)
        ]

    # -- policy history ---------------------------------------------------------------
    def policy_versions(self) -> list[PolicyVersion]:
        """Every version of the community's policy, oldest first."""
        return [
            PolicyVersion(
                version=r.version,
                content=r.content,
                fingerprint=r.fingerprint,
                effective=r.effective,
                event_id=r.event_id,
            )
            for r in self._conn.execute(self._q.policy_versions, self._c)
        ]

    def policy_version(self) -> int:
        """The latest version's number (0: none recorded yet); one index read."""
        return int(self._conn.execute(self._q.policy_version, self._c).scalar() or 0)

    def policy_latest(self) -> tuple[int, str]:
        """The latest version's number and fingerprint (``(0, "")``: none); one index read."""
        row = self._conn.execute(self._q.policy_latest, self._c).first()
        return (int(row.version), str(row.fingerprint)) if row is not None else (0, "")

    def add_policy(self, version: PolicyVersion) -> None:
        """Append the next version; any number but the next one is a :class:`Conflict`."""
        self._writing()  # PostgreSQL: the community's write lock, before reading the latest
        latest = self.policy_version()
        if version.version != latest + 1:
            raise Conflict(
                f"policy version {version.version} cannot follow version {latest}; "
                "policy versions are numbered 1, 2, 3, ..."
            )
        self._conn.execute(
            self._q.insert_policy,
            {
                "community": self.community,
                "version": version.version,
                "content": version.content,
                "fingerprint": version.fingerprint,
                "effective": version.effective,
                "event_id": version.event_id,
            },
        )

    def events_with_ids(self, event_ids: Iterable[str]) -> list[StoredEvent]:
        """The logged events among ``event_ids``, in append order, in one query.

        An optional bulk read (statements name many events at once); the
        engine falls back to :meth:`get_event` on stores without it.
        """
        ids = sorted(set(event_ids))
        if not ids:
            return []
        rows = self._conn.execute(self._q.events_with_ids, {"c": self.community, "ids": ids})
        return [
            StoredEvent(event_id=r.event_id, type=r.type, payload=r.payload, at=r.at, seq=r.seq)
            for r in rows
        ]

    # -- ledger ---------------------------------------------------------------------
    def append_entries(self, entries: Sequence[LedgerEntry]) -> None:
        """Queue ledger entries (written before the next ledger read, or at commit)."""
        self._writing()
        self._entries.extend(entries)

    def entries(
        self,
        *,
        member: str | None = None,
        subject: str | None = None,
        event_id: str | None = None,
        account: str | None = None,
        period: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[LedgerEntry]:
        """Ledger entries matching every given filter, in append order."""
        self._flush_entries()
        t = self._q.tables.ledger
        stmt = select(*self._q.entry_columns).where(t.c.community == self.community)
        for column, value in (
            ("member", member),
            ("subject", subject),
            ("event_id", event_id),
            ("account", account),
            ("period", period),
        ):
            if value is not None:
                stmt = stmt.where(t.c[column] == value)
        if since is not None:
            stmt = stmt.where(t.c.at >= since)
        if until is not None:
            stmt = stmt.where(t.c.at < until)
        return [
            LedgerEntry(
                entry_id=r.entry_id,
                member=r.member,
                account=r.account,
                amount=r.amount,
                action=r.action,
                reason=r.reason,
                event_id=r.event_id,
                subject=r.subject,
                period=r.period,
                at=r.at,
                reverses=r.reverses,
                tags=tuple(r.tags),
                policy=r.policy,
            )
            for r in self._conn.execute(stmt.order_by(t.c.seq))
        ]

    def reversed_ids(self, entry_ids: Iterable[str]) -> set[str]:
        """Which of ``entry_ids`` already have a reversal entry."""
        ids = list(entry_ids)
        if not ids:
            return set()
        self._flush_entries()
        rows = self._conn.execute(self._q.reversed_ids, {"c": self.community, "ids": ids})
        return set(rows.scalars())

    # -- documents ------------------------------------------------------------------
    def get(self, kind: str, key: str) -> Doc | None:
        """The document ``(kind, key)`` or ``None`` (read once per transaction)."""
        k = (kind, key)
        docs = self._docs
        if k in docs:
            return docs[k]
        shared = self._shared_docs
        if shared is not None and k in shared:
            return shared[k]
        doc = docs[k] = self._run.get_doc(self.community, kind, key)
        return doc

    def docs_with_keys(self, kind: str, keys: Iterable[str]) -> list[Doc]:
        """The documents of ``kind`` among ``keys``, ordered by key, in one query.

        An optional bulk read; the engine falls back to :meth:`get` without it.
        """
        wanted = sorted(set(keys))
        if not wanted:
            return []
        self._flush_docs(kind)
        params = {"c": self.community, "kind": kind, "keys": wanted}
        return [
            Doc(kind=r.kind, key=r.key, data=r.data, ref=r.ref, status=r.status)
            for r in self._conn.execute(self._q.docs_with_keys, params)
        ]

    def put(self, doc: Doc) -> None:
        """Insert or replace the document (written before the next ``find``, or at commit)."""
        self._writing()
        self._docs[(doc.kind, doc.key)] = doc
        dirty = self._dirty.get(doc.kind)
        if dirty is None:
            dirty = self._dirty[doc.kind] = {}
        dirty[doc.key] = doc

    def prefetch_docs(self, kind: str, keys: Iterable[str]) -> None:
        """Read the documents ``(kind, key)`` of ``keys`` at once, for the rest of the transaction.

        What a batch of events will read, in one statement per :data:`PREFETCH_CHUNK` keys
        instead of one each: a key without a document is remembered as ``None``. Keys read or
        written before (in this transaction or the shared cache) are left as they are. Takes
        the community's write lock first on PostgreSQL (the batch is about to write), so
        nothing read here can be changed by another writer before commit.
        """
        self._write_lock()
        docs, shared = self._docs, self._shared_docs
        wanted = sorted(
            {
                key
                for key in keys
                if (kind, key) not in docs and (shared is None or (kind, key) not in shared)
            }
        )
        for i in range(0, len(wanted), PREFETCH_CHUNK):
            chunk = wanted[i : i + PREFETCH_CHUNK]
            found = {doc.key: doc for doc in self.docs_with_keys(kind, chunk)}
            for key in chunk:
                docs.setdefault((kind, key), found.get(key))

    def find(
        self,
        kind: str,
        *,
        ref: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Doc]:
        """Documents of ``kind`` matching ``ref``/``status`` (when given), ordered by key."""
        self._flush_docs(kind)
        stmt = self._q.find[(ref is not None, status is not None, limit is not None)]
        params = {"c": self.community, "kind": kind, "ref": ref, "status": status, "limit": limit}
        return [
            Doc(kind=r.kind, key=r.key, data=r.data, ref=r.ref, status=r.status)
            for r in self._conn.execute(stmt, params)
        ]

    def search(self, terms: Sequence[str], *, limit: int) -> list[Doc]:
        """Search documents with any of ``terms``, best first (SQLite FTS5 or PostgreSQL
        ``tsvector``; see :mod:`kudos.stores._sql_search`)."""
        self._flush_docs(SEARCH_KIND)
        found = _sql_search.search(self._conn, self._q.tables, self.community, terms, limit)
        return found if found is not None else match_terms(self.find(SEARCH_KIND), terms, limit)

    # -- counters -----------------------------------------------------------------------
    def add(self, deltas: Mapping[CounterKey, int]) -> None:
        """Queue counter changes; they are summed per counter and sent as one upsert each."""
        self._writing()
        self._counted = True
        pending = self._deltas
        for key, delta in deltas.items():
            if delta:
                pending[key] = pending.get(key, 0) + delta

    def counter(self, metric: str, scope: str, subject: str) -> int:
        """One counter's value, including this transaction's queued changes (0 when missing)."""
        key = (metric, scope, subject)
        value = self._values.get(key)
        if value is None:
            shared = self._shared_values
            if shared is not None:
                value = shared.get(key)
            if value is None:
                if (scope, subject) in self._complete:
                    value = 0
                else:
                    value = self._run.get_counter(self.community, key)
            self._values[key] = value
        return value + self._deltas.get(key, 0)

    def prefetch_counters(self, subjects: Iterable[str], scopes: Iterable[str]) -> None:
        """Read every counter of ``subjects`` in ``scopes`` at once, for the rest of the work.

        One statement per :data:`PREFETCH_CHUNK` subjects; afterwards :meth:`counter` answers
        any metric of those subjects and scopes from memory (0 for a counter with no row).
        Values read or written before are kept. Takes the write lock first on PostgreSQL, as
        :meth:`prefetch_docs` does.
        """
        self._write_lock()
        scope_list = sorted(set(scopes))
        complete = self._complete
        wanted = sorted({s for s in subjects if not all((sc, s) in complete for sc in scope_list)})
        if not scope_list or not wanted:
            return
        # Flushed sums are in the rows read; pending ones are added by counter() as always.
        self._flush_counters()
        values = self._values
        for i in range(0, len(wanted), PREFETCH_CHUNK):
            chunk = wanted[i : i + PREFETCH_CHUNK]
            params = {"c": self.community, "subjects": chunk, "scopes": scope_list}
            for r in self._conn.execute(self._q.counters_grid, params):
                values.setdefault((r.metric, r.scope, r.subject), int(r.value))
            complete.update((sc, s) for s in chunk for sc in scope_list)

    def counters_of(self, subject: str, scopes: Sequence[str]) -> dict[tuple[str, str], int]:
        """Every non-zero counter of ``subject`` in ``scopes``, as ``{(metric, scope): value}``."""
        self._flush_counters()
        rows = self._conn.execute(
            self._q.counters_of, {"c": self.community, "subj": subject, "scopes": list(scopes)}
        )
        return {(r.metric, r.scope): r.value for r in rows}

    def counters_in(self, scopes: Sequence[str]) -> dict[CounterKey, int]:
        """Every non-zero counter in ``scopes`` (for reading many members at once)."""
        self._flush_counters()
        rows = self._conn.execute(
            self._q.counters_in, {"c": self.community, "scopes": list(scopes)}
        )
        return {(r.metric, r.scope, r.subject): r.value for r in rows}

    def top(
        self,
        metric: str,
        scope: str,
        *,
        limit: int,
        offset: int = 0,
        exclude: Sequence[str] = (),
    ) -> list[tuple[str, int]]:
        """Subjects by value descending, ties by subject ascending; zeros are left out."""
        self._flush_counters()
        params = {
            "c": self.community,
            "m": metric,
            "s": scope,
            "exclude": list(exclude),
            "limit": limit,
            "offset": offset,
        }
        return [(r.subject, r.value) for r in self._conn.execute(self._q.top, params)]

    def position(
        self, metric: str, scope: str, subject: str, *, exclude: Sequence[str] = ()
    ) -> tuple[int | None, int]:
        """``(1-based position or None, how many are on the board)`` in :meth:`top`'s order."""
        self._flush_counters()
        ranks = self._board_ranks(metric, scope)
        if (
            ranks is not None
            and (found := self._ranked(ranks, metric, scope, subject, exclude)) is not None
        ):
            return found
        params: dict[str, Any] = {
            "c": self.community,
            "m": metric,
            "s": scope,
            "exclude": list(exclude),
        }
        size = int(self._conn.execute(self._q.board_size, params).scalar_one())
        mine = self.counter(metric, scope, subject)
        if mine <= 0 or subject in exclude:
            return None, size
        params.update(mine=mine, subj=subject)
        return int(self._conn.execute(self._q.ahead, params).scalar_one()) + 1, size

    def _board_ranks(self, metric: str, scope: str) -> BoardRanks | None:
        """The board's :class:`BoardRanks`, where one can be kept (SQLite, nothing written yet)."""
        shared = self._shared
        if shared is None or self._counted or self._replaced:
            return None
        boards = shared.boards.setdefault(self.community, {})
        ranks = boards.get((metric, scope))
        if ranks is None:
            if len(boards) >= RANK_BOARDS:
                boards.clear()
            params = {"c": self.community, "m": metric, "s": scope}
            counts = [(int(v), int(n)) for v, n in self._conn.execute(self._q.value_counts, params)]
            ranks = boards[(metric, scope)] = BoardRanks(counts)
        return ranks.fresh()

    def _ranked(
        self, ranks: BoardRanks, metric: str, scope: str, subject: str, exclude: Sequence[str]
    ) -> tuple[int | None, int] | None:
        """The position read from ``ranks``; ``None`` when they do not hold the member's value."""
        params: dict[str, Any] = {"c": self.community, "m": metric, "s": scope}
        key = tuple(exclude)
        if ranks.excluded[0] != key:
            # One lookup each by the primary key (then from the shared cache): an IN
            # list would tempt SQLite's planner into scanning the whole board index.
            values = {m: self.counter(metric, scope, m) for m in key}
            found = {m: v for m, v in values.items() if v > 0}
            ranks.excluded = (key, found)
        excluded = ranks.excluded[1]
        size = ranks.size - len(excluded)
        mine = self.counter(metric, scope, subject)
        if mine <= 0 or subject in exclude:
            return None, size
        i = ranks.group(mine)
        if i is None:  # cannot happen while nothing changed; count instead of trusting it
            return None
        params["mine"] = mine
        ahead, low = ranks.above[i], ""
        marks = ranks.bookmarks.get(mine)
        if marks is None and ranks.counts[i] > RANK_STEP:
            marks = ranks.bookmarks[mine] = self._bookmarks(params, ranks.counts[i])
        if marks is not None:
            k = bisect.bisect_right(marks[0], subject) - 1
            if k > 0:
                ahead, low = ahead + marks[1][k], marks[0][k]
        params.update(low=low, subj=subject)
        ahead += int(self._conn.execute(self._q.tied_before, params).scalar_one())
        ahead -= sum(1 for m, v in excluded.items() if v > mine or (v == mine and m < subject))
        return ahead + 1, size

    def _bookmarks(self, params: dict[str, Any], count: int) -> tuple[list[str], list[int]]:
        """Every :data:`RANK_STEP`-th member id of a tie group (``""`` stands for its first)."""
        marks, places = [""], [0]
        for place in range(RANK_STEP, count, RANK_STEP):
            params.update(low=marks[-1], skip=RANK_STEP)
            found = self._conn.execute(self._q.tie_bookmark, params).scalar_one_or_none()
            if found is None:
                break
            marks.append(found)
            places.append(place)
        return marks, places

    # -- outbox ---------------------------------------------------------------------------
    def add_notifications(self, notes: Sequence[Notification]) -> list[Notification]:
        """Append to the outbox; returns them with their assigned ``seq``."""
        if not notes:
            return []
        self._writing()
        seqs = self._run.insert_notes(self.community, notes)
        return [attrs.evolve(n, seq=seq) for n, seq in zip(notes, seqs, strict=True)]

    def notifications(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        member: str | None = None,
        event_id: str | None = None,
        unacked: bool = False,
    ) -> list[Notification]:
        """Outbox entries with ``seq > after`` in order."""
        t = self._q.tables.outbox
        stmt = select(*self._q.note_columns).where(t.c.community == self.community, t.c.seq > after)
        if member is not None:
            stmt = stmt.where(t.c.member == member)
        if event_id is not None:
            stmt = stmt.where(t.c.event_id == event_id)
        if unacked:
            stmt = stmt.where(t.c.acked.is_(False))
        stmt = stmt.order_by(t.c.seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [
            Notification(
                seq=r.seq,
                member=r.member,
                kind=r.kind,
                data=r.data,
                event_id=r.event_id,
                at=r.at,
                acked=r.acked,
            )
            for r in self._conn.execute(stmt)
        ]

    def ack(self, seqs: Iterable[int]) -> None:
        """Mark outbox entries as delivered."""
        wanted = list(seqs)
        if wanted:
            self._conn.execute(self._q.ack, {"c": self.community, "seqs": wanted})

    # -- rebuild ----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Every document and non-zero counter of the community."""
        self.flush()
        docs = tuple(
            Doc(kind=r.kind, key=r.key, data=r.data, ref=r.ref, status=r.status)
            for r in self._conn.execute(self._q.all_docs, self._c)
        )
        counters = {
            (r.metric, r.scope, r.subject): r.value
            for r in self._conn.execute(self._q.all_counters, self._c)
        }
        return Snapshot(docs=docs, counters=counters)

    def replace_projections(self, snapshot: Snapshot) -> None:
        """Drop every document and counter of the community and write ``snapshot``'s."""
        self._writing()
        self._dirty.clear()
        self._docs.clear()
        self._deltas.clear()
        self._values.clear()
        self._complete.clear()
        self._shared_docs = self._shared_values = None
        self._replaced = True
        self._conn.execute(self._q.delete_docs, self._c)
        self._conn.execute(self._q.delete_counters, self._c)
        if snapshot.docs:
            self._run.upsert_docs(self.community, snapshot.docs)
        counters = [(key, value) for key, value in sorted(snapshot.counters.items()) if value]
        if counters:
            self._run.add_counters(self.community, counters)
