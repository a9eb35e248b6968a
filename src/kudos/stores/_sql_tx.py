"""SqlTransaction: one unit of work of :class:`~kudos.stores.sql.SqlStore`."""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import Connection, Table, bindparam, delete, func, select, text, update
from sqlalchemy.sql.elements import BindParameter

from ..errors import Conflict, TransientStoreError
from ..model import Doc, LedgerEntry, Notification, PolicyVersion, StoredEvent
from . import _sql_search
from ._sql_hot import CoreRunner, SqliteRunner, Statements, version_shard
from ._sql_schema import BOARD_QUERY_ROWS, Tables, on_board_index
from .protocol import EVENT_LOCK, SEARCH_KIND, CounterKey, Snapshot, match_terms

__all__ = [
    "COMMUNITY_KINDS",
    "LOCK_LIMIT",
    "NUMBERING_LOCK",
    "PREFETCH_CHUNK",
    "RANK_BOARDS",
    "RANK_STEP",
    "SHARED_CACHE_LIMIT",
    "WRITE_LOCK",
    "BoardRanks",
    "LockBusy",
    "Queries",
    "SharedCache",
    "SqlTransaction",
    "lock_id",
    "lock_space",
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
"""The key of a community's lock: shared by every writer, exclusive for whole-community work.

See the notes on locking in :class:`SqlTransaction`."""

NUMBERING_LOCK = "kudos:numbering"
"""The key of the lock a transaction holds from numbering its events again to its commit."""

LOCK_LIMIT = 2_000
"""Advisory locks one PostgreSQL writer takes before it takes the community instead.

PostgreSQL keeps advisory locks in its shared lock table (``max_locks_per_transaction``
times the connections, 6,400 by default); a batch that would lock more keys than this
(a bulk import) takes the community lock exclusively and no key at all."""

COMMUNITY_KINDS = frozenset({"period"})
"""Document kinds written only by whole-community operations (closing a period).

Writing one takes the community lock exclusively, so a writer holding it shared
reads them without a lock of their own."""


_RETRIED = "kudos:retried"
"""In a transaction's hints: a try of this work gave up on a busy key already."""

_SHARED = "shared:"
"""Marks, in a transaction's set of keys, a key held shared."""

_EVENTS_CHECKED = "kudos:events-checked"
"""In a transaction's hints (SQLite): a try of this work met a logged event id only when
sending its events in bulk; the next try appends each event on its own."""


_UNREAD = Doc(kind="", key="", data={})
"""What a cache of documents answers for a key it does not hold (it holds ``None`` for a
document known not to exist): compared by identity only."""


def _ref(kind: str) -> str:
    """The prefix of the lock keys of ``kind``'s refs (the kind's length keeps it unambiguous)."""
    return f"ref:{len(kind)}:{kind}:"


def lock_space(tables: str, community: str) -> str:
    """The space of a community's advisory locks: its tables (the events table's full name,
    ``schema.prefix`` + ``events``) and its id, so that two sets of kudos tables in one
    database never share a lock."""
    return f"{tables}\x00{community}"


def lock_id(community: str, key: str) -> int:
    """A stable signed 64-bit number for ``(community, key)``: a PostgreSQL advisory lock id.

    ``community`` names the lock's space: a transaction passes its tables' name with the
    community id, so that communities of other tables in the database never share a lock.
    """
    digest = hashlib.blake2b(f"{community}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _doc(row: Any) -> Doc:
    """The document of a row of the documents table."""
    return Doc(kind=row.kind, key=row.key, data=row.data, ref=row.ref, status=row.status)


def _sum_into(pending: dict[CounterKey, int], deltas: Mapping[CounterKey, int]) -> None:
    """Add ``deltas`` to the queued counter changes ``pending`` (zeros left out)."""
    get = pending.get
    for key, delta in deltas.items():
        if delta:
            pending[key] = get(key, 0) + delta


class LockBusy(TransientStoreError):
    """A key a writer came to late was held by another transaction (PostgreSQL).

    The store waits, holding nothing, until those locks are free, then lets the
    caller start the work over (see :meth:`SqlTransaction._guard`).
    """

    def __init__(
        self, message: str, locks: Sequence[int] = (), shared: Sequence[bool] = ()
    ) -> None:
        super().__init__(message)
        self.locks = list(locks)
        """The advisory lock ids that were busy."""
        self.shared = list(shared) or [False] * len(self.locks)
        """Per lock id, whether it was wanted shared (else exclusively)."""


class BoardQueries:
    """The statements that read one board of the counters table, in ``top()``'s order.

    ``ranked``: for a board whose rows are in the board index
    (:func:`~kudos.stores._sql_schema.on_board_index`); its statements name the index's
    condition, so the planner can take it.
    """

    def __init__(self, cnt: Table, ranked: bool) -> None:
        c: BindParameter[str] = bindparam("c")
        where = (
            cnt.c.community == c,
            cnt.c.metric == bindparam("m"),
            cnt.c.scope == bindparam("s"),
            *((text(BOARD_QUERY_ROWS),) if ranked else ()),
        )
        board = (
            *where,
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
        # Several kinds at once: every (kind, key) of the kinds and keys given (a superset of
        # the pairs wanted, which the caller picks out), one index range per kind.
        self.docs_of_kinds = select(*self.doc_columns).where(
            docs.c.community == c,
            docs.c.kind.in_(bindparam("kinds", expanding=True)),
            docs.c.key.in_(bindparam("keys", expanding=True)),
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
        # Board reads, in two forms: for boards whose rows are in the board index (naming
        # its partial condition, so the planner takes it) and for the others.
        self.boards = {ranked: BoardQueries(cnt, ranked) for ranked in (True, False)}
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
        self.policies: dict[str, tuple[int, str]] = {}
        """Per community, its latest policy version's number and fingerprint."""


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
    id is new), and so are notifications (the caller gets their ``seq``); on
    SQLite the events of a transaction after its first new one are taken as new
    and sent together before the log is read and at commit (see
    :meth:`append_event`).

    On PostgreSQL a writing transaction locks, until it commits, the ids of
    what it reads and writes and takes the community's lock shared; a read
    that no id covers takes the community's lock exclusively (see the
    comments on locking below, and docs/stores.md). Read-only transactions
    take no lock.
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
        writer: bool = True,
        hints: set[str] | None = None,
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
        # Advisory locks are the database's, not the tables': two sets of kudos tables in
        # one database (another prefix or schema) with the same community id must not
        # queue for, or give up on, each other's locks.
        self._lock_space = lock_space(queries.tables.events.fullname, community)
        self.round_trips = postgres
        """Whether each read is a round trip to a database server (PostgreSQL), so that
        reading what one event needs in a few bulk statements first pays off."""
        self._c = {"c": community}
        self._locked: set[str] = set()
        self._locking = postgres and write_lock and writer
        self._hints = hints if hints is not None else set()
        self._entered = False
        self._exclusive = False
        self._numbering = False
        self._event_locks = 0  # of the keys locked, events' own (append_event)
        self._ceiling = -(2**63)  # the highest id lock number held
        self._appended_ids: list[str] = []
        # SQLite, once the work said it expects new events (expect_new_events): events
        # taken as new without a statement of their own, sent in one executemany before
        # the log is read and at the end (see append_event).
        self._pending: dict[str, StoredEvent] | None = None
        self._inserted: set[str] = set()  # ids appended each on its own, while pending
        self._docs: dict[tuple[str, str], Doc | None] = {}
        self._dirty: dict[str, dict[str, Doc]] = {}
        self._values: dict[CounterKey, int] = {}
        # (scope, subject) pairs whose every counter was read (prefetch_counters): a key of
        # one that is in neither _values nor the shared cache is 0 in the database.
        self._complete: set[tuple[str, str]] = set()
        self._deltas: dict[CounterKey, int] = {}
        # Shared aggregates (tally) a PostgreSQL writer sends at its commit, under the
        # numbering lock, without locking their subjects.
        self._tallies: dict[CounterKey, int] = {}
        self._entries: list[LedgerEntry] = []
        self._shared = shared
        self._shared_docs = shared.docs.get(community) if shared is not None else None
        self._shared_values = shared.values.get(community) if shared is not None else None
        self._replaced = False
        self._counted = False
        # The latest policy version (policy_latest), as read or as kept by the shared
        # cache; _policy_added: this transaction added one (read it from the table).
        self._policy: tuple[int, str] | None = None
        self._policy_added = False
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
            # Writers run in parallel, so the ``seq`` numbers events took when they
            # were appended need not follow the order in which they touched shared
            # members: a writer may append, then take a member's lock after another
            # writer appended, wrote that member and committed. A transaction that
            # locked what it touched (every recording does) numbers its events and
            # ledger lines again here, while it holds every lock it took: that puts
            # it after every writer it waited for (they committed before it could
            # take their keys). One that took no lock (appending alone) keeps its
            # numbers: nothing it did depends on another writer. So for
            # events on common members ``seq`` order is the order they were recorded
            # in, and a replay of the log in ``seq`` order (rebuild) meets them in
            # that order. Events on distinct members keep whatever order: neither
            # reads what the other writes.
            # The numbering lock (held to the commit) keeps two transactions from
            # interleaving their events' and their lines' new numbers, so ledger order
            # follows log order; those that renumber commit one at a time.
            # It is taken after every id lock and before the data version row (see
            # the notes on locking), so waiting for it cannot close a circle.
            renumber = bool(self._appended_ids) and len(self._locked) > self._event_locks
            if renumber or self._tallies:
                self._number()
            if self._tallies:
                # Shared aggregates under the numbering lock: their rows are only ever
                # locked by the one transaction holding it, so nobody waits on them while
                # holding anything else.
                self._flush_counters()
            # Last, the data version: no lock is taken after its row's. The upsert locks
            # its row in ``<prefix>communities`` until the commit; on PostgreSQL each
            # process and thread adds to a row of its own (``version_shard``), so writers
            # in parallel do not queue there, and commit in parallel.
            shard = version_shard(self.community) if self._postgres else self.community
            if renumber:  # one round trip: the new numbers and the data version
                params = {"c": self.community, "ids": self._appended_ids, "shard": shard}
                self._conn.execute(self._sql.renumber_and_bump, params)
            else:
                self._run.bump_version(shard)

    # -- buffering ------------------------------------------------------------------
    def flush(self) -> None:
        """Send every buffered write to the database (events, documents, ledger, counters)."""
        self._flush_events()
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

    def _flush_events(self) -> None:
        pending = self._pending
        if not pending:
            return
        events = list(pending.values())
        pending.clear()
        assert isinstance(self._run, SqliteRunner)
        if not self._run.insert_events(self.community, events):
            # An id taken as new is logged already: that event was recorded as new.
            # This try is rolled back; the next appends each event on its own.
            self._hints.add(_EVENTS_CHECKED)
            raise TransientStoreError(
                "an event of this work was logged already, found when its events were "
                "written together; recording them again one at a time"
            )

    def took_logged_events(self) -> bool:
        """Whether an event this transaction took as new without a statement of its own
        (SQLite, see :meth:`append_event`) is logged already: called when the work failed,
        to tell an error of the work from one of that wrong answer. Sends those events
        (the transaction rolls back anyway)."""
        try:
            self._flush_events()
        except TransientStoreError:
            return True
        except Exception:  # the database failed too: the work's own error stands
            return False
        return False

    def _flush_entries(self) -> None:
        self._flush_events()
        if self._entries:
            entries, self._entries = self._entries, []
            self._run.insert_entries(self.community, entries)

    def _flush_counters(self) -> None:
        if self._tallies and (self._numbering or not self._locking or self._exclusive):
            _sum_into(self._deltas, self._tallies)
            self._tallies = {}
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
        if self._policy_added:
            shared.policies.pop(c, None)
        elif self._policy is not None:
            shared.policies[c] = self._policy
        docs = shared.docs.setdefault(c, {})
        values = shared.values.setdefault(c, {})
        docs.update(self._docs)
        values.update(self._values)
        if len(docs) + len(values) > SHARED_CACHE_LIMIT:
            del shared.docs[c], shared.values[c]

    # -- locking --------------------------------------------------------------------
    #
    # On PostgreSQL a writing transaction locks what it reads and writes, not the
    # community: strict two-phase locking on advisory locks held to commit.
    #
    # * The community lock (WRITE_LOCK), shared: every writer takes it first, so an
    #   operation on the whole community (closing a period, rebuild, a policy change, a
    #   sweep) can take it exclusively and wait for the writers in flight.
    # * One exclusive lock per id (``id:<x>``) before the first read or write of
    #   anything keyed by it: a document by its key and its ref, a counter by its
    #   subject, ledger entries by their member and subject, the reversal of an
    #   entry by the entry's id (``reversal:<entry id>``), an event by its id
    #   (``event:<id>``, before it is appended). Two events on distinct members,
    #   posts and votes never share one, so they run in parallel; two on one member
    #   take turns, and whichever comes second reads what the first wrote (READ
    #   COMMITTED reads the latest committed rows).
    # * A read that no key covers (documents of a kind by status alone, every
    #   counter of a scope, a board's ranking, the ledger by time, the event log,
    #   the whole snapshot), any write of a document kind only whole-community
    #   operations write (COMMUNITY_KINDS), a new policy version, and a transaction
    #   that would hold more than LOCK_LIMIT keys (a bulk import) take the community
    #   lock exclusively: from then on the transaction is the community's only writer.
    #
    # Rows written without a lock of their own, and why that is safe:
    # * ledger lines and outbox notifications: inserted, never updated (but for an
    #   outbox row's ``acked``, set to true by ``ack``: idempotent); ids are derived
    #   from the event's id (locked), ``seq`` from a sequence. Notifications are
    #   inserted under the numbering lock (held to the commit), so the outbox commits
    #   in ``seq`` order and a cursor never passes one that commits later.
    # * counters: one upsert adding the change (``value = value + excluded.value``),
    #   atomic on its row whoever else adds; the subject's lock makes what a
    #   writer read of a counter (caps, balances) stay true until it commits.
    # * the data version in ``<prefix>communities``: the same kind of upsert, made
    #   last in ``finish``, on a row per process and thread (the version is the sum
    #   of the community's rows), so parallel writers do not queue for one row lock
    #   held through their commits.
    # * ``seq`` of events and ledger lines: numbered again in ``finish`` (see there).
    #
    # Why no two writers can deadlock. Keys come up as a handler reads, not all at
    # once, so every wait is ordered:
    # 1. The community lock comes before everything: taken (shared, or exclusive
    #    for whole-community work) while the transaction holds nothing. Needing it
    #    exclusively later is only tried; if other writers are in, the try gives up.
    # 2. Ids come next, in the order of their lock numbers: a transaction waits for
    #    an id only if its number is above every id it holds (so a chain of waits
    #    climbs and cannot close a circle). An id below one it holds is only tried.
    # 3. The numbering lock comes after every id: once it is held, ids are only
    #    tried, and the data version row is written after it.
    # A try that finds its lock busy rolls the transaction back at once with
    # LockBusy (a TransientStoreError): of two writers that each hold what the
    # other wants, the one above waits and the one below gives up, so one of
    # them always commits. The busy keys and every key the try took are kept
    # (``hints``) and the retry takes them all first, in order, holding nothing.

    def _guard(
        self, keys: Iterable[str | None], prefix: str = "id:", *, shared: bool = False
    ) -> None:
        """Lock ``prefix + key`` for each key not yet locked (PostgreSQL writers only).

        Exclusively, or ``shared`` (a key held shared by several writers, exclusively
        by one that needs the others out). The first keys a transaction takes (with
        the ``hints`` of a try that gave up) it waits for, in lock number order: it
        holds no id yet. A key that comes up later is waited for when its lock number
        is above every id held and the numbering lock is not held; otherwise it is
        only tried, and if another writer holds it this transaction gives up at once
        with :class:`LockBusy`, noting the key and every key it took in ``hints`` for
        the retry. Past :data:`LOCK_LIMIT` keys the transaction takes the community
        instead.
        """
        if not self._locking or self._exclusive:
            return
        locked = self._locked
        mark = _SHARED if shared else ""
        new = {
            mark + prefix + key
            for key in keys
            if key is not None and mark + prefix + key not in locked and prefix + key not in locked
        }
        if not new:
            return
        if not locked:
            new |= self._hints - {_RETRIED}
        if WRITE_LOCK in new or len(locked) + len(new) > LOCK_LIMIT:
            self._whole_community()
            return
        self._enter()
        wanted: dict[int, tuple[str, bool]] = {}
        for key in new:
            is_shared = key.startswith(_SHARED)
            n = lock_id(self._lock_space, key[len(_SHARED) :] if is_shared else key)
            if n not in wanted or not is_shared:  # wanted both ways: exclusively
                wanted[n] = (key, is_shared)
        if not locked and not self._numbering:
            self._wait(sorted(wanted), wanted)
        else:
            numbering, ceiling = self._numbering, self._ceiling
            below = sorted(n for n in wanted if numbering or n <= ceiling)
            above = sorted(n for n in wanted if not numbering and n > ceiling)
            if below:
                params = {"locks": below, "shared": [wanted[n][1] for n in below]}
                busy = list(self._conn.execute(self._sql.try_locks, params).scalars())
                if busy:
                    locked.update(wanted[n][0] for n in below if n not in busy)  # taken
                    self._give_up([wanted[n] for n in busy], busy)
            if above:
                self._wait(above, wanted)
        locked |= new
        self._ceiling = max(self._ceiling, max(wanted))

    def _wait(self, ids: list[int], wanted: Mapping[int, tuple[str, bool]]) -> None:
        """Take the advisory locks ``ids`` (sorted), waiting for each in turn."""
        if len(ids) == 1:
            statement = self._sql.lock_shared if wanted[ids[0]][1] else self._sql.lock
            self._conn.execute(statement, {"lock": ids[0]})
        else:
            params = {"locks": ids, "shared": [wanted[n][1] for n in ids]}
            self._conn.execute(self._sql.lock_many, params)

    def _give_up(self, keys: list[tuple[str, bool]], ids: list[int]) -> None:
        """Raise :class:`LockBusy` for ``keys``, noting them and every key held for the retry."""
        # The retry takes, with its first keys, every key this try took or wanted:
        # it meets late only keys beyond the point where this one stopped. A retry
        # that still meets a busy key late takes the community the next time, so
        # that it cannot lose again (LockBusy at most twice for one piece of work).
        hints = self._hints
        hints.update(self._locked, (key for key, _ in keys))
        hints.add(WRITE_LOCK if _RETRIED in hints else _RETRIED)
        names = sorted(key.removeprefix(_SHARED) for key, _ in keys)
        raise LockBusy(
            f"another transaction holds what this one needs next ({len(keys)} "
            f"lock{'s' if len(keys) > 1 else ''} busy, e.g. {names[0][:80]!r}); "
            "rolled back rather than risk a deadlock: start the work over "
            "(Community does, taking those locks first)",
            ids,
            [is_shared for _, is_shared in keys],
        )

    def _enter(self) -> None:
        """Take the community lock shared, once (PostgreSQL writers only)."""
        if self._locking and not self._entered:
            if WRITE_LOCK in self._hints:  # a try of this work needed the whole community
                self._whole_community()
                return
            self._conn.execute(
                self._sql.lock_shared, {"lock": lock_id(self._lock_space, WRITE_LOCK)}
            )
            self._entered = True

    def _whole_community(self) -> None:
        """Take the community lock exclusively: no other writer runs until this commits.

        Called by a read no key covers, before it reads. Holding nothing yet, the
        transaction waits for the writers in flight; holding locks already, it only
        tries (waiting could close a circle with a writer waiting for one of them)
        and gives up with :class:`LockBusy` when other writers are in, so that the
        retry takes the community first. What this transaction read before is still
        current: it was read under its keys' locks (still held) or is of a kind only
        such an exclusive writer changes.
        """
        if not self._locking or self._exclusive:
            return
        whole = lock_id(self._lock_space, WRITE_LOCK)
        if not self._entered and not self._locked:
            self._conn.execute(self._sql.lock, {"lock": whole})
        elif list(self._conn.execute(self._sql.try_locks, {"locks": [whole], "shared": [False]})):
            self._give_up([(WRITE_LOCK, False)], [whole])
        self._entered = self._exclusive = True

    def _number(self) -> None:
        """Take the community's numbering lock (PostgreSQL, once; held to the commit)."""
        if self._postgres and not self._numbering:
            self._conn.execute(self._sql.lock, {"lock": lock_id(self._lock_space, NUMBERING_LOCK)})
            self._numbering = True

    def _writing(self) -> None:
        """Note a write; on PostgreSQL make sure the community lock is held (shared)."""
        self.wrote = True
        if self._locking:
            self._enter()

    def lock(self, keys: Iterable[str]) -> None:
        """On PostgreSQL, take a transaction-level advisory lock per key (sorted, once each).

        Every key is locked until the transaction ends. Reads and writes lock
        the ids they touch by themselves (see the comments on locking above); these
        keys are the engine's own (``member:<id>``, ``period:<id>``, ...). SQLite has one
        writer at a time (``BEGIN IMMEDIATE``): there is nothing to take.
        """
        self._guard(keys, prefix="")

    # -- events -----------------------------------------------------------------------
    def append_event(self, event: StoredEvent) -> StoredEvent | None:
        """Append ``event`` unless its id is in the log; returns the logged one if it is.

        The database's unique ``(community, event_id)`` decides: of two
        transactions appending one id at once, the second waits for the first
        and then finds its row. On SQLite, in a work that said
        :meth:`expect_new_events`, once the transaction appended a new event, the
        next ones are answered as new without a statement (see there).
        """
        self._writing()
        if self._locking:
            # Before the insert: a second writer of this id waits here, not for the
            # first one's row in the unique index (a wait no lock order covers).
            self._guard((event.event_id,), prefix=EVENT_LOCK)
            self._event_locks += 1
        pending = self._pending
        if pending is not None:
            event_id = event.event_id
            if self.appended and event_id not in pending and event_id not in self._inserted:
                # SQLite, which holds its write lock to the commit (nobody else appends):
                # after the first event of the transaction was new, take the next ones as
                # new, and send them together (_flush_events). Should one be logged
                # already after all, the insert fails and the work runs again with every
                # event checked on its own (_EVENTS_CHECKED).
                pending[event_id] = event
                self.appended += 1
                return None
            self._flush_events()  # in order; and a second delivery in the batch is found
        if self._run.insert_event(self.community, event):
            self.appended += 1
            if pending is not None:
                self._inserted.add(event.event_id)
            if self._locking:
                self._appended_ids.append(event.event_id)
            return None
        known = self._run.get_event(self.community, event.event_id)
        if known is None:
            raise TransientStoreError(
                f"event {event.event_id!r} was being written by another transaction that "
                "rolled back; record it again"
            )
        self._pending = None  # the work meets logged events: check each from here on
        return known

    def get_event(self, event_id: str) -> StoredEvent | None:
        """The logged event with ``event_id``, or ``None``."""
        if self._pending and event_id in self._pending:
            self._flush_events()
        return self._run.get_event(self.community, event_id)

    def events(self, *, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events with ``seq > after`` in append order (at most ``limit``)."""
        self._whole_community()  # a writer reading the log (rebuild) needs all of it still
        self._flush_events()
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
        """The latest version's number and fingerprint (``(0, "")``: none); one index read
        (none on SQLite while the :class:`SharedCache` knows it)."""
        latest = self._policy
        if latest is None:
            shared = self._shared
            if shared is not None and not self._policy_added:
                latest = shared.policies.get(self.community)
            if latest is None:
                row = self._conn.execute(self._q.policy_latest, self._c).first()
                latest = (int(row.version), str(row.fingerprint)) if row is not None else (0, "")
            if not self._policy_added:
                self._policy = latest
        return latest

    def add_policy(self, version: PolicyVersion) -> None:
        """Append the next version; any number but the next one is a :class:`Conflict`."""
        self._writing()
        self._whole_community()  # PostgreSQL: no other writer, before reading the latest
        latest = self.policy_version()
        if version.version != latest + 1:
            raise Conflict(
                f"policy version {version.version} cannot follow version {latest}; "
                "policy versions are numbered 1, 2, 3, ..."
            )
        self._policy, self._policy_added = None, True
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
        if self._pending and not self._pending.keys().isdisjoint(ids):
            self._flush_events()
        rows = self._conn.execute(self._q.events_with_ids, {"c": self.community, "ids": ids})
        return [
            StoredEvent(event_id=r.event_id, type=r.type, payload=r.payload, at=r.at, seq=r.seq)
            for r in rows
        ]

    # -- ledger ---------------------------------------------------------------------
    def append_entries(self, entries: Sequence[LedgerEntry]) -> None:
        """Queue ledger entries (written before the next ledger read, or at commit)."""
        self._writing()
        if self._locking:
            self._guard(key for e in entries for key in (e.member, e.subject))
            self._guard((e.reverses for e in entries), prefix="reversal:")
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
        if member is not None or subject is not None:
            self._guard((member, subject))
        elif event_id is None:
            self._whole_community()
        # By event id alone: an event's own lines are written by the transaction that
        # logs it, so once it is in the log they are all there (reversals of them are
        # lines of the reversing event, under their member's and subject's locks).
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
        self._guard(ids, prefix="reversal:")  # a reversal's writer takes it too
        self._flush_entries()
        rows = self._conn.execute(self._q.reversed_ids, {"c": self.community, "ids": ids})
        return set(rows.scalars())

    # -- documents ------------------------------------------------------------------
    def get(self, kind: str, key: str) -> Doc | None:
        """The document ``(kind, key)`` or ``None`` (read once per transaction)."""
        k = (kind, key)
        doc = self._docs.get(k, _UNREAD)
        if doc is not _UNREAD:
            return doc
        shared = self._shared_docs
        if shared is not None:
            doc = shared.get(k, _UNREAD)
            if doc is not _UNREAD:
                return doc
        docs = self._docs
        if self._locking and kind not in COMMUNITY_KINDS:
            self._guard((key,))
        doc = docs[k] = self._run.get_doc(self.community, kind, key)
        return doc

    def docs_with_keys(self, kind: str, keys: Iterable[str]) -> list[Doc]:
        """The documents of ``kind`` among ``keys``, ordered by key, in one query.

        An optional bulk read; the engine falls back to :meth:`get` without it.
        """
        wanted = sorted(set(keys))
        if not wanted:
            return []
        if kind not in COMMUNITY_KINDS:
            self._guard(wanted)  # as ``get`` would, key by key
        self._flush_docs(kind)
        params = {"c": self.community, "kind": kind, "keys": wanted}
        return [_doc(r) for r in self._conn.execute(self._q.docs_with_keys, params)]

    def put(self, doc: Doc) -> None:
        """Insert or replace the document (written before the next ``find``, or at commit)."""
        self.wrote = True
        if self._locking:
            self._enter()
        if doc.kind in COMMUNITY_KINDS:
            self._whole_community()
        elif self._locking:
            # Its key, and its ref, shared (a find of the kind by ref takes the ref
            # exclusively; writers of documents with one ref do not wait for each other):
            # the new ref and, when this transaction read the document, the old one.
            old = self._docs.get((doc.kind, doc.key))
            self._guard((doc.key,))
            self._guard(
                (doc.ref, old.ref if old is not None else None), _ref(doc.kind), shared=True
            )
        self._docs[(doc.kind, doc.key)] = doc
        dirty = self._dirty.get(doc.kind)
        if dirty is None:
            dirty = self._dirty[doc.kind] = {}
        dirty[doc.key] = doc

    def prefetch_docs(self, kind: str, keys: Iterable[str]) -> None:
        """Read the documents ``(kind, key)`` of ``keys`` at once, for the rest of the transaction.

        What a batch of events will read, in one statement per :data:`PREFETCH_CHUNK` keys
        instead of one each: a key without a document is remembered as ``None``. Keys read or
        written before (in this transaction or the shared cache) are left as they are. On
        PostgreSQL the keys are locked first (as :meth:`get` would lock each), so nothing
        read here can be changed by another writer before commit.
        """
        self.prefetch_kinds({kind: keys})

    def prefetch_kinds(self, wanted: Mapping[str, Iterable[str]]) -> None:
        """:meth:`prefetch_docs` for several kinds at once: ``{kind: keys}``.

        The keys of every kind are locked in one statement (PostgreSQL; documents of
        :data:`COMMUNITY_KINDS` need no lock of their own) and read in one per
        :data:`PREFETCH_CHUNK` keys, whatever the number of kinds: what one event names
        (its post, its vote, five kinds of member document) in two round trips instead of
        two per kind.
        """
        docs, shared = self._docs, self._shared_docs
        pairs = {
            (kind, key)
            for kind, keys in wanted.items()
            for key in keys
            if (kind, key) not in docs and (shared is None or (kind, key) not in shared)
        }
        if not pairs:
            return
        self._guard({key for kind, key in pairs if kind not in COMMUNITY_KINDS})  # as ``get``
        kinds = sorted({kind for kind, _ in pairs})
        for kind in kinds:
            self._flush_docs(kind)
        keys = sorted({key for _, key in pairs})
        found: dict[tuple[str, str], Doc] = {}
        for i in range(0, len(keys), PREFETCH_CHUNK):
            params = {"c": self.community, "kinds": kinds, "keys": keys[i : i + PREFETCH_CHUNK]}
            for r in self._conn.execute(self._q.docs_of_kinds, params):
                pair = (r.kind, r.key)
                if pair in pairs:  # the rows are of every kind for every key
                    found[pair] = _doc(r)
        for pair in pairs:
            docs.setdefault(pair, found.get(pair))

    def find(
        self,
        kind: str,
        *,
        ref: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Doc]:
        """Documents of ``kind`` matching ``ref``/``status`` (when given), ordered by key."""
        if ref is not None:
            self._guard((ref,), _ref(kind))
        elif kind not in COMMUNITY_KINDS:
            self._whole_community()
        self._flush_docs(kind)
        stmt = self._q.find[(ref is not None, status is not None, limit is not None)]
        params = {"c": self.community, "kind": kind, "ref": ref, "status": status, "limit": limit}
        return [_doc(r) for r in self._conn.execute(stmt, params)]

    def search(self, terms: Sequence[str], *, limit: int) -> list[Doc]:
        """Search documents with any of ``terms``, best first (SQLite FTS5 or PostgreSQL
        ``tsvector``; see :mod:`kudos.stores._sql_search`). A writer reading it takes the
        community lock exclusively, as :meth:`find` by kind alone does."""
        self._whole_community()
        self._flush_docs(SEARCH_KIND)
        found = _sql_search.search(self._conn, self._q.tables, self.community, terms, limit)
        return found if found is not None else match_terms(self.find(SEARCH_KIND), terms, limit)

    # -- counters -----------------------------------------------------------------------
    def add(self, deltas: Mapping[CounterKey, int]) -> None:
        """Queue counter changes; they are summed per counter and sent as one upsert each."""
        self._writing()
        if self._locking:
            self._guard({subject for _, _, subject in deltas})
        self._counted = True
        _sum_into(self._deltas, deltas)

    def expect_new_events(self) -> None:
        """Say that this work appends mostly new events (optional in a store; a batch).

        On SQLite, from then on, once the transaction appended a new event, the
        next ones (but ids it appended itself) are answered as new without a
        statement and sent together later; should one be logged after all, the
        transaction fails with :class:`TransientStoreError` (at commit, or when the
        work raised meanwhile) and its next try appends each event on its own.
        Without this call (and on PostgreSQL), every :meth:`append_event` is
        answered at once.
        """
        if (
            isinstance(self._run, SqliteRunner)
            and _EVENTS_CHECKED not in self._hints
            and not self.appended
            and self._pending is None
        ):
            self._pending = {}

    def tally(self, deltas: Mapping[CounterKey, int]) -> None:
        """Queue changes to shared aggregates this work never reads back (optional in a store).

        On PostgreSQL a writer that is not the community's only one sends them at
        its commit, after every id lock and under the numbering lock, and locks no
        subject for them: writers on distinct members do not wait for one another on
        a period's response figures. Elsewhere they are queued as :meth:`add` does.
        """
        self._writing()
        self._counted = True
        _sum_into(self._deltas if not self._locking or self._exclusive else self._tallies, deltas)

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
                    value = 0  # read by prefetch_counters, under the subject's lock
                elif self._locking:
                    self._guard((subject,))
                    value = self._run.get_counter(self.community, key)
                elif isinstance(self._run, SqliteRunner):
                    # The subject's other counters of the scope with it, in one read of
                    # the key's range (an event reads several of a member's counters, and
                    # recognition most of them): what is unflushed is in _deltas, as always.
                    values = self._values
                    for other, stored in self._run.counter_group(self.community, scope, subject):
                        values.setdefault((other, scope, subject), int(stored))
                    self._complete.add((scope, subject))
                    value = values.get(key, 0)
                else:
                    value = self._run.get_counter(self.community, key)
            self._values[key] = value
        return value + self._deltas.get(key, 0) + self._tallies.get(key, 0)

    def prefetch_counters(self, subjects: Iterable[str], scopes: Iterable[str]) -> None:
        """Read every counter of ``subjects`` in ``scopes`` at once, for the rest of the work.

        One statement per :data:`PREFETCH_CHUNK` subjects; afterwards :meth:`counter` answers
        any metric of those subjects and scopes from memory (0 for a counter with no row).
        Values read or written before are kept. On PostgreSQL the subjects are locked
        first, as :meth:`counter` would lock each.
        """
        scope_list = sorted(set(scopes))
        complete = self._complete
        wanted = sorted({s for s in subjects if not all((sc, s) in complete for sc in scope_list)})
        if not scope_list or not wanted:
            return
        self._guard(wanted)
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
        self._guard((subject,))
        self._flush_counters()
        rows = self._conn.execute(
            self._q.counters_of, {"c": self.community, "subj": subject, "scopes": list(scopes)}
        )
        found = {(r.metric, r.scope): r.value for r in rows}
        for (metric, scope, subj), delta in self._tallies.items():  # not sent yet
            if subj == subject and scope in scopes:
                found[metric, scope] = found.get((metric, scope), 0) + delta
        return {k: v for k, v in found.items() if v}

    def counters_in(self, scopes: Sequence[str]) -> dict[CounterKey, int]:
        """Every non-zero counter in ``scopes`` (for reading many members at once)."""
        self._whole_community()
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
        self._whole_community()
        self._flush_counters()
        params = {
            "c": self.community,
            "m": metric,
            "s": scope,
            "exclude": list(exclude),
            "limit": limit,
            "offset": offset,
        }
        board = self._q.boards[on_board_index(metric)]
        return [(r.subject, r.value) for r in self._conn.execute(board.top, params)]

    def position(
        self, metric: str, scope: str, subject: str, *, exclude: Sequence[str] = ()
    ) -> tuple[int | None, int]:
        """``(1-based position or None, how many are on the board)`` in :meth:`top`'s order."""
        self._whole_community()
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
        board = self._q.boards[on_board_index(metric)]
        size = int(self._conn.execute(board.board_size, params).scalar_one())
        mine = self.counter(metric, scope, subject)
        if mine <= 0 or subject in exclude:
            return None, size
        params.update(mine=mine, subj=subject)
        return int(self._conn.execute(board.ahead, params).scalar_one()) + 1, size

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
            board = self._q.boards[on_board_index(metric)]
            counts = [(int(v), int(n)) for v, n in self._conn.execute(board.value_counts, params)]
            ranks = boards[(metric, scope)] = BoardRanks(counts)
        return ranks.fresh()

    def _ranked(
        self, ranks: BoardRanks, metric: str, scope: str, subject: str, exclude: Sequence[str]
    ) -> tuple[int | None, int] | None:
        """The position read from ``ranks``; ``None`` when they do not hold the member's value."""
        params: dict[str, Any] = {"c": self.community, "m": metric, "s": scope}
        board = self._q.boards[on_board_index(metric)]
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
            marks = ranks.bookmarks[mine] = self._bookmarks(board, params, ranks.counts[i])
        if marks is not None:
            k = bisect.bisect_right(marks[0], subject) - 1
            if k > 0:
                ahead, low = ahead + marks[1][k], marks[0][k]
        params.update(low=low, subj=subject)
        ahead += int(self._conn.execute(board.tied_before, params).scalar_one())
        ahead -= sum(1 for m, v in excluded.items() if v > mine or (v == mine and m < subject))
        return ahead + 1, size

    def _bookmarks(
        self, board: BoardQueries, params: dict[str, Any], count: int
    ) -> tuple[list[str], list[int]]:
        """Every :data:`RANK_STEP`-th member id of a tie group (``""`` stands for its first)."""
        marks, places = [""], [0]
        for place in range(RANK_STEP, count, RANK_STEP):
            params.update(low=marks[-1], skip=RANK_STEP)
            found = self._conn.execute(board.tie_bookmark, params).scalar_one_or_none()
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
        if self._postgres:
            # Outbox numbers in commit order, so a worker paging by ``seq`` (``since=``)
            # never passes a notification that commits later with a lower number: take
            # the numbering lock (held to the commit; ``finish`` takes it anyway) before
            # the numbers are drawn. Writers that notify commit one at a time from here,
            # so what is buffered is sent first, while other writers can still commit.
            if not self._numbering:
                self.flush()
            self._number()
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
        self._whole_community()
        self.flush()
        docs = tuple(_doc(r) for r in self._conn.execute(self._q.all_docs, self._c))
        counters = {
            (r.metric, r.scope, r.subject): r.value
            for r in self._conn.execute(self._q.all_counters, self._c)
        }
        return Snapshot(docs=docs, counters=counters)

    def replace_projections(self, snapshot: Snapshot) -> None:
        """Drop every document and counter of the community and write ``snapshot``'s."""
        self._writing()
        self._whole_community()
        self._dirty.clear()
        self._docs.clear()
        self._deltas.clear()
        self._tallies.clear()
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
