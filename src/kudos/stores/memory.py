"""MemoryStore: everything in Python dicts, for tests, demos and simulations.

Transactions are serialized by one lock and made atomic by remembering, for
each document and counter, its value before the transaction first wrote it,
and how long each append-only list (events, ledger, outbox) was when it
began; an exception puts those back. Nothing is copied up front, and a
counter or document written by a thousand events of a batch is remembered
once, so a transaction costs what it writes. A transaction that begins on an
empty community (a first import, the scratch replay of ``rebuild()`` and
``simulate()``) remembers nothing: its rollback empties the community again.
A savepoint (:meth:`MemoryTransaction.savepoint`) undoes only what was written
since it began: inside one, each write also notes in an undo log what it
replaced (a document write its old document, a counter change its deltas), and
the log is dropped when the savepoint ends without an error, so one
transaction replays thousands of events, each of which may be refused, for
one list append per write.
Documents are indexed by ref, status and search words only once something
looks them up, so writing them costs a dict assignment until then.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

import attrs

from ..errors import Conflict
from ..model import Doc, LedgerEntry, Notification, PolicyVersion, StoredEvent
from .protocol import SEARCH_KIND, CounterKey, Snapshot, best_candidates

__all__ = ["DocIndex", "MemoryStore", "MemoryTransaction", "Savepoint"]

_STORES = itertools.count(1)

_Earlier = dict[tuple[str, str], tuple[dict[str, int], dict[str, int | None]]]
"""The boards a transaction changed, each with its subjects' values before their first
change (``None``: the subject had no counter): what a rollback puts back."""

_Undo = tuple[Any, ...]
"""One record of a savepoint's undo log: ``(_DOC, (kind, key), old document or None)``,
``(_COUNTERS, deltas)``, ``(_NOTE, seq, old notification)`` or
``(_CONTENTS, documents, boards)`` (the contents before a replacement)."""

_DOC, _COUNTERS, _NOTE, _CONTENTS = range(4)

_Contents = tuple[dict[tuple[str, str], Doc], dict[tuple[str, str], dict[str, int]]]
"""A community's documents by ``(kind, key)`` and its boards, as a transaction began."""


class _Data:
    """One community's data.

    Every container is made once and changed in place for the community's life
    (a rollback or a replacement of the projections refills it), so a
    transaction may hold on to them.
    """

    def __init__(self) -> None:
        self.events: dict[str, StoredEvent] = {}
        self.log: list[StoredEvent] = []
        self.entries: list[LedgerEntry] = []
        self.entry_ids: set[str] = set()
        self.by_member: defaultdict[str, list[LedgerEntry]] = defaultdict(list)
        self.by_subject: defaultdict[str, list[LedgerEntry]] = defaultdict(list)
        self.by_event: defaultdict[str, list[LedgerEntry]] = defaultdict(list)
        self.reversed: set[str] = set()
        self.docs = DocIndex()
        self.boards: defaultdict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        # The boards each subject has (or had) a counter on: a standing reads its own.
        self.boards_of: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        self.outbox: list[Notification] = []
        self.policies: list[PolicyVersion] = []
        self.version = 0
        self.generation = 0  # moves when the boards are replaced: a transaction's own go stale

    def empty(self) -> bool:
        """Whether nothing was ever kept (or all of it was rolled back or undone: a board
        whose counters a savepoint undid is left empty)."""
        kept = (self.log, self.entries, self.outbox, self.policies, self.docs._all)
        return not any(kept) and not any(self.boards.values())

    def clear(self) -> None:
        """Forget everything but the data version."""
        for kept in (
            self.events,
            self.log,
            self.entries,
            self.entry_ids,
            self.by_member,
            self.by_subject,
            self.by_event,
            self.reversed,
            self.boards,
            self.boards_of,
            self.outbox,
            self.policies,
        ):
            kept.clear()
        self.docs._reset({})
        self.generation += 1


class _KindIndex:
    """One kind's keys, and its keys by ``ref`` and by ``status``."""

    __slots__ = ("keys", "refs", "statuses")

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.refs: defaultdict[str | None, set[str]] = defaultdict(set)
        self.statuses: defaultdict[str | None, set[str]] = defaultdict(set)

    def move(self, key: str, old: Doc | None, new: Doc | None) -> None:
        """Index ``key``'s document ``new`` in place of ``old`` (``None``: none)."""
        if old is None:
            if new is not None:
                self.keys.add(key)
                self.refs[new.ref].add(key)
                self.statuses[new.status].add(key)
        elif new is None:
            self.keys.discard(key)
            self.refs[old.ref].discard(key)
            self.statuses[old.status].discard(key)
        else:
            # Most writes replace a document's data: its ref and status indexes then stay.
            if old.ref != new.ref:
                self.refs[old.ref].discard(key)
                self.refs[new.ref].add(key)
            if old.status != new.status:
                self.statuses[old.status].discard(key)
                self.statuses[new.status].add(key)


class DocIndex:
    """Documents by ``(kind, key)``, indexed by kind, ``(kind, ref)`` and ``(kind, status)``.

    What :class:`MemoryStore` keeps documents in (and bulk reads load them into).

    A lookup by ``ref`` or ``status`` (a member's badges, a post's votes) reads
    the matching documents only, not every document of the community. A kind's
    index is built on the kind's first lookup, and the search words on the
    first search, then kept up to date: writing documents of a kind nothing
    looks up (a replay, an import) indexes nothing.
    """

    def __init__(self, docs: Iterable[Doc] = ()) -> None:
        self._all: dict[tuple[str, str], Doc] = {(doc.kind, doc.key): doc for doc in docs}
        self._kinds: dict[str, _KindIndex] = {}  # kind -> its index, once looked up
        self._words: defaultdict[str, set[str]] | None = None  # search word -> keys
        self._watched: set[str] = set()  # the kinds with an index built (writes keep it)
        # Every kind's keys, from one pass over the documents when a first kind's index is
        # built (so that building the next ones reads only their own); dropped when a
        # document is added or removed.
        self._by_kind: defaultdict[str, list[str]] | None = None

    def get(self, k: tuple[str, str]) -> Doc | None:
        return self._all.get(k)

    def values(self) -> Iterable[Doc]:
        return self._all.values()

    def put(self, doc: Doc) -> None:
        k = (doc.kind, doc.key)
        old = self._all.get(k)
        self._all[k] = doc
        if old is None:
            self._by_kind = None
        if doc.kind in self._watched:
            self._reindex(k, old, doc)

    def pop(self, k: tuple[str, str]) -> None:
        old = self._all.pop(k, None)
        if old is not None:
            self._by_kind = None
            if old.kind in self._watched:
                self._reindex(k, old, None)

    def _reindex(self, k: tuple[str, str], old: Doc | None, new: Doc | None) -> None:
        """Keep the built indexes up to date with ``k`` going from ``old`` to ``new``."""
        kind, key = k
        index = self._kinds.get(kind)
        if index is not None:
            index.move(key, old, new)
        words = self._words
        if kind == SEARCH_KIND and words is not None:
            if old is not None:
                self._unindex(words, old)
            if new is not None:
                for word in str(new.data.get("text", "")).split():
                    words[word].add(key)

    def _reset(self, docs: Mapping[tuple[str, str], Doc]) -> None:
        """Hold exactly ``docs`` (by ``(kind, key)``); indexes are built again when used."""
        self._all.clear()
        self._all.update(docs)
        self._by_kind = None
        self._kinds.clear()
        self._words = None
        self._watched.clear()

    @staticmethod
    def _unindex(words: defaultdict[str, set[str]], doc: Doc) -> None:
        for word in str(doc.data.get("text", "")).split():
            keys = words.get(word)
            if keys is not None:
                keys.discard(doc.key)
                if not keys:
                    del words[word]

    def _kind(self, kind: str) -> _KindIndex:
        index = self._kinds.get(kind)
        if index is None:
            index = self._kinds[kind] = _KindIndex()
            self._watched.add(kind)
            by_kind = self._by_kind
            if by_kind is None:
                by_kind = self._by_kind = defaultdict(list)
                for of, key in self._all:
                    by_kind[of].append(key)
            docs = self._all
            for key in by_kind.get(kind, ()):
                index.move(key, None, docs[kind, key])
        return index

    def search(self, terms: Sequence[str], limit: int) -> list[Doc]:
        """Search documents with any of ``terms``, in candidate order (see
        :func:`~kudos.stores.protocol.best_candidates`)."""
        words = self._words
        if words is None:
            words = self._words = defaultdict(set)
            self._watched.add(SEARCH_KIND)
            for (kind, key), doc in self._all.items():
                if kind == SEARCH_KIND:
                    for word in str(doc.data.get("text", "")).split():
                        words[word].add(key)
        hits: Counter[str] = Counter()
        for term in terms:
            hits.update(words.get(term, ()))
        docs = self._all
        return best_candidates(((n, docs[(SEARCH_KIND, key)]) for key, n in hits.items()), limit)

    def find(self, kind: str, ref: str | None, status: str | None) -> list[Doc]:
        index = self._kind(kind)
        if ref is not None:
            keys = index.refs.get(ref, set())
            if status is not None:
                keys = keys & index.statuses.get(status, set())
        elif status is not None:
            keys = index.statuses.get(status, set())
        else:
            keys = index.keys
        docs = self._all
        return [docs[(kind, key)] for key in sorted(keys)]


class MemoryStore:
    """A store that keeps everything in memory (lost when the process ends).

    Safe to share between threads: transactions run one at a time.

    >>> import kudos
    >>> community = kudos.Community(store=kudos.MemoryStore())
    """

    def __init__(self) -> None:
        self._data: dict[str, _Data] = {}
        self._lock = threading.RLock()
        self.identity: tuple[str, int] = ("memory", next(_STORES))
        """Tells this store apart from every other one made in the process."""

    def __repr__(self) -> str:
        return f"MemoryStore(communities={sorted(self._data)!r})"

    @contextmanager
    def transaction(
        self, community: str, *, read_only: bool = False
    ) -> Iterator[MemoryTransaction]:
        """A unit of work on ``community``; an exception undoes every write in it.

        ``read_only`` changes nothing here: memory transactions run one at a time.
        """
        with self._lock:
            data = self._data.get(community)
            if data is None:
                data = self._data[community] = _Data()
            tx = MemoryTransaction(community, data)
            try:
                yield tx
            except BaseException:
                tx._rollback()
                raise
            if tx._wrote:
                data.version += 1
        for done in tx._after_commit:
            done()

    def data_version(self, community: str, *, check: bool = True) -> int:
        """A number that moves with every transaction that wrote to ``community``.

        :class:`~kudos.Community` stamps cached reads with it (see :mod:`kudos.cache`).
        """
        data = self._data.get(community)
        return data.version if data is not None else 0

    def communities(self) -> Iterator[str]:
        """Communities with at least one event."""
        with self._lock:
            return iter(sorted(c for c, d in self._data.items() if d.log))


class MemoryTransaction:
    """A :class:`~kudos.stores.protocol.Transaction` on a :class:`MemoryStore`."""

    def __init__(self, community: str, data: _Data) -> None:
        self.community = community
        self._d = data
        self._docs = data.docs
        self._all = data.docs._all  # the documents by (kind, key): reads go straight to it
        self._watched = data.docs._watched
        self._boards = data.boards
        # What to put back on rollback: list lengths at the start, and each document's
        # and counter's value before its first write here (None: it did not exist).
        # A transaction that began on an empty community remembers nothing: its
        # rollback empties the community again.
        self._log_len = len(data.log)
        self._entries_len = len(data.entries)
        self._outbox_len = len(data.outbox)
        self._policies_len = len(data.policies)
        self._began_empty = data.empty()
        remember = not self._began_empty
        self._old_docs: dict[tuple[str, str], Doc | None] | None = {} if remember else None
        self._old_counters: _Earlier | None = {} if remember else None
        self._generation = data.generation
        self._old_notes: dict[int, Notification] = {}
        # The documents and boards of the transaction's start, once it replaced them.
        self._replaced: _Contents | None = None
        self._wrote = False
        self._after_commit: list[Callable[[], object]] = []
        # While a savepoint is open: what each write replaced, oldest first (see savepoint()).
        self._undo: list[_Undo] | None = None
        self._savepoints = 0  # how many savepoints are open

    def savepoint(self) -> Savepoint:
        """A point to go back to: ``with tx.savepoint(): ...`` undoes every write the
        block made when it raises (the exception goes on), and keeps them otherwise.

        The transaction stays open either way: what came before the block stays
        written, and so does what comes after it. Callbacks the block passed to
        :meth:`on_commit` are dropped with its writes. A write inside a savepoint
        costs one list append more than outside; the record is dropped when the
        outermost savepoint ends without an error (the transaction's own rollback
        does not need it). Savepoints nest. ``with tx.savepoint() as savepoint:``
        gives the savepoint, whose :attr:`Savepoint.undid` says, once the block
        raised, whether it had written anything but event log rows.
        """
        return Savepoint(self)

    def _undo_to(self, at: int, lengths: tuple[int, int, int, int, int]) -> bool:
        """Undo the writes of the undo log from position ``at`` on, newest first, and
        cut the log, ledger, outbox, policies and commit callbacks to ``lengths``;
        whether anything but log rows was undone."""
        undo = self._undo
        assert undo is not None
        d, docs, boards = self._d, self._docs, self._boards
        log_len, entries_len, outbox_len, policies_len, callbacks = lengths
        undid = len(undo) > at or (len(d.entries), len(d.outbox), len(d.policies)) != (
            entries_len,
            outbox_len,
            policies_len,
        )
        for record in reversed(undo[at:]):
            tag = record[0]
            if tag == _DOC:
                _, k, old = record
                if old is None:
                    docs.pop(k)
                else:
                    docs.put(old)
            elif tag == _COUNTERS:
                for (metric, scope, subject), delta in record[1].items():
                    if delta:
                        board = boards[metric, scope]
                        value = board.get(subject, 0) - delta
                        if value:
                            board[subject] = value
                        else:  # reads alike whether it was missing or zero
                            del board[subject]
            elif tag == _NOTE:
                _, seq, note = record
                d.outbox[seq - 1] = note
            else:
                _, docs0, boards0 = record
                docs._reset(docs0)
                boards.clear()
                boards.update(boards0)
                d.generation += 1
        del undo[at:]
        del self._after_commit[callbacks:]
        self._cut_to(log_len, entries_len, outbox_len, policies_len)
        return undid

    def _cut_to(self, log_len: int, entries_len: int, outbox_len: int, policies_len: int) -> None:
        """Cut the event log, ledger, outbox and policy versions back to these lengths
        (what a rollback and an undone savepoint take back of the lists)."""
        d = self._d
        del d.policies[policies_len:]
        del d.outbox[outbox_len:]
        while len(d.entries) > entries_len:
            self._unappend(d.entries[-1])
        for stored in d.log[log_len:]:
            del d.events[stored.event_id]
        del d.log[log_len:]

    def on_commit(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once this transaction committed (never if it rolls back)."""
        self._after_commit.append(callback)

    def _rollback(self) -> None:
        d = self._d
        if self._began_empty:
            d.clear()
            return
        for seq, note in self._old_notes.items():
            d.outbox[seq - 1] = note
        self._cut_to(self._log_len, self._entries_len, self._outbox_len, self._policies_len)
        boards = self._boards
        if self._replaced is not None:
            docs0, boards0 = self._replaced
            self._docs._reset(docs0)
            boards.clear()
            boards.update(boards0)
        docs = self._docs
        for k, doc in (self._old_docs or {}).items():
            if doc is None:
                docs.pop(k)
            else:
                docs.put(doc)
        for board_key, (_, earlier) in (self._old_counters or {}).items():
            board = boards[board_key]
            for subject, value in earlier.items():
                if value is None:
                    board.pop(subject, None)
                else:
                    board[subject] = value

    def lock(self, keys: Iterable[str]) -> None:
        """Nothing to do: memory transactions already run one at a time."""

    # -- events ---------------------------------------------------------------
    def append_event(self, event: StoredEvent) -> StoredEvent | None:
        """Append unless the id is known; returns the known event otherwise."""
        self._wrote = True
        known = self._d.events.get(event.event_id)
        if known is not None:
            return known
        log = self._d.log
        stored = StoredEvent(
            event_id=event.event_id,
            type=event.type,
            payload=event.payload,
            at=event.at,
            seq=len(log) + 1,
        )
        self._d.events[event.event_id] = stored
        log.append(stored)
        return None

    def get_event(self, event_id: str) -> StoredEvent | None:
        """The stored event or ``None``."""
        return self._d.events.get(event_id)

    def events_with_ids(self, event_ids: Iterable[str]) -> list[StoredEvent]:
        """The stored events among ``event_ids``, in append order (an optional bulk read)."""
        found = (self._d.events.get(i) for i in set(event_ids))
        return sorted((e for e in found if e is not None), key=lambda e: e.seq)

    def docs_with_keys(self, kind: str, keys: Iterable[str]) -> list[Doc]:
        """The documents of ``kind`` among ``keys``, ordered by key (an optional bulk read)."""
        docs = self._all
        found = (docs.get((kind, k)) for k in sorted(set(keys)))
        return [d for d in found if d is not None]

    def events(self, *, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events after ``seq`` ``after`` (seq is the 1-based position)."""
        stop = None if limit is None else after + limit
        return self._d.log[after:stop]

    # -- policy history -------------------------------------------------------
    def policy_versions(self) -> list[PolicyVersion]:
        """Every version of the community's policy, oldest first."""
        return list(self._d.policies)

    def policy_version(self) -> int:
        """The latest version's number (0: none recorded yet)."""
        return len(self._d.policies)

    def policy_latest(self) -> tuple[int, str]:
        """The latest version's number and fingerprint (``(0, "")``: none recorded yet)."""
        policies = self._d.policies
        return (len(policies), policies[-1].fingerprint) if policies else (0, "")

    def add_policy(self, version: PolicyVersion) -> None:
        """Append the next version; any number but the next one is a :class:`Conflict`."""
        expected = len(self._d.policies) + 1
        if version.version != expected:
            raise Conflict(
                f"policy version {version.version} cannot follow version {expected - 1}; "
                "policy versions are numbered 1, 2, 3, ..."
            )
        self._wrote = True
        self._d.policies.append(version)

    # -- ledger ---------------------------------------------------------------
    def append_entries(self, entries: Sequence[LedgerEntry]) -> None:
        """Append entries; a repeated entry id is a bug in the caller."""
        self._wrote = True
        d = self._d
        ids, by_member, by_event = d.entry_ids, d.by_member, d.by_event
        append = d.entries.append
        for entry in entries:
            entry_id = entry.entry_id
            if entry_id in ids:
                raise Conflict(f"ledger entry {entry_id!r} already exists")
            append(entry)
            ids.add(entry_id)
            by_member[entry.member].append(entry)
            by_event[entry.event_id].append(entry)
            if entry.subject is not None:
                d.by_subject[entry.subject].append(entry)
            if entry.reverses is not None:
                d.reversed.add(entry.reverses)

    def _unappend(self, entry: LedgerEntry) -> None:
        d = self._d
        d.entries.pop()
        d.entry_ids.discard(entry.entry_id)
        d.by_member[entry.member].pop()
        d.by_event[entry.event_id].pop()
        if entry.subject is not None:
            d.by_subject[entry.subject].pop()
        if entry.reverses is not None:
            d.reversed.discard(entry.reverses)

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
        """Entries matching every given filter, in append order."""
        d = self._d
        if event_id is not None:
            rows: Iterable[LedgerEntry] = d.by_event.get(event_id, ())
        elif member is not None:
            rows = d.by_member.get(member, ())
        elif subject is not None:
            rows = d.by_subject.get(subject, ())
        else:
            rows = d.entries
        return [
            e
            for e in rows
            if (member is None or e.member == member)
            and (subject is None or e.subject == subject)
            and (event_id is None or e.event_id == event_id)
            and (account is None or e.account == account)
            and (period is None or e.period == period)
            and (since is None or e.at >= since)
            and (until is None or e.at < until)
        ]

    def reversed_ids(self, entry_ids: Iterable[str]) -> set[str]:
        """Which of ``entry_ids`` have been reversed."""
        return {i for i in entry_ids if i in self._d.reversed}

    # -- documents --------------------------------------------------------------
    def get(self, kind: str, key: str) -> Doc | None:
        """The document or ``None``."""
        return self._all.get((kind, key))  # DocIndex.get, inlined: the hottest read

    def put(self, doc: Doc) -> None:
        """Insert or replace a document."""
        self._wrote = True
        k = (doc.kind, doc.key)
        docs = self._all
        old = docs.get(k)
        remembered = self._old_docs
        if remembered is not None and k not in remembered:
            remembered[k] = old
        undo = self._undo
        if undo is not None:
            undo.append((_DOC, k, old))
        docs[k] = doc  # DocIndex.put, inlined
        if old is None:
            self._docs._by_kind = None
        if doc.kind in self._watched:
            self._docs._reindex(k, old, doc)

    def search(self, terms: Sequence[str], *, limit: int) -> list[Doc]:
        """Search documents with any of ``terms`` (an in-memory word index), best first."""
        return self._docs.search(terms, limit)

    def find(
        self,
        kind: str,
        *,
        ref: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Doc]:
        """Documents of ``kind`` matching ``ref`` and ``status``, ordered by key."""
        found = self._docs.find(kind, ref, status)
        return found if limit is None else found[:limit]

    # -- counters -----------------------------------------------------------------
    def add(self, deltas: Mapping[CounterKey, int]) -> None:
        """Add each delta to its counter."""
        self._wrote = True
        boards, boards_of = self._boards, self._d.boards_of
        remembered = self._old_counters
        if self._undo is not None:
            self._undo.append((_COUNTERS, dict(deltas)))  # a copy: the caller's may change
        # One pass, dict operations only: a counter's value is remembered on its first
        # change in the transaction (and not at all when there is nothing to restore).
        if remembered is None:
            for key, delta in deltas.items():
                if delta:
                    metric, scope, subject = key
                    board = boards[metric, scope]
                    if subject in board:
                        board[subject] += delta
                    else:
                        board[subject] = delta
                        boards_of[subject].add((metric, scope))
            return
        if self._generation != self._d.generation:  # another transaction replaced the boards
            remembered = self._old_counters = {
                board_key: (boards[board_key], earlier)
                for board_key, (_, earlier) in remembered.items()
            }
            self._generation = self._d.generation
        for key, delta in deltas.items():
            if delta:
                metric, scope, subject = key
                try:
                    board, earlier = remembered[metric, scope]
                except KeyError:  # the board's first change here
                    board, earlier = remembered[metric, scope] = (boards[metric, scope], {})
                if subject in board:
                    if subject not in earlier:
                        earlier[subject] = board[subject]
                    board[subject] += delta
                else:
                    if subject not in earlier:
                        earlier[subject] = None
                    board[subject] = delta
                    boards_of[subject].add((metric, scope))

    def tally(self, deltas: Mapping[CounterKey, int]) -> None:
        """Add to counters this work only adds to and never reads back: as :meth:`add`.

        Optional in a store (see docs/stores.md): for aggregates many writers share and
        only reports read (response health, feelings, deflections), which a store may send
        late, at the commit, without locking their subjects. One writer at a time here.
        """
        self.add(deltas)

    def counter(self, metric: str, scope: str, subject: str) -> int:
        """One counter (0 when missing)."""
        board = self._boards.get((metric, scope))
        return board.get(subject, 0) if board else 0

    def counters_of(self, subject: str, scopes: Sequence[str]) -> dict[tuple[str, str], int]:
        """Non-zero counters of ``subject`` in ``scopes``."""
        wanted = set(scopes)
        boards = self._boards
        out: dict[tuple[str, str], int] = {}
        for metric, scope in self._d.boards_of.get(subject, ()):
            board = boards.get((metric, scope)) if scope in wanted else None
            if board:
                value = board.get(subject, 0)
                if value:
                    out[(metric, scope)] = value
        return out

    def counters_in(self, scopes: Sequence[str]) -> dict[CounterKey, int]:
        """Every non-zero counter in ``scopes`` (for reading many members at once)."""
        wanted = set(scopes)
        return {
            (metric, scope, subject): value
            for (metric, scope), board in self._boards.items()
            if scope in wanted
            for subject, value in board.items()
            if value
        }

    def _ordered(self, metric: str, scope: str, exclude: Sequence[str]) -> list[tuple[str, int]]:
        board = self._boards.get((metric, scope), {})
        skip = set(exclude)
        return [(s, v) for s, v in board.items() if v and s not in skip]

    def top(
        self,
        metric: str,
        scope: str,
        *,
        limit: int,
        offset: int = 0,
        exclude: Sequence[str] = (),
    ) -> list[tuple[str, int]]:
        """Subjects by value descending, then subject ascending."""
        rows = heapq.nsmallest(
            offset + limit, self._ordered(metric, scope, exclude), key=lambda r: (-r[1], r[0])
        )
        return rows[offset:]

    def position(
        self, metric: str, scope: str, subject: str, *, exclude: Sequence[str] = ()
    ) -> tuple[int | None, int]:
        """1-based position of ``subject`` and the board's size (positive values only)."""
        rows = [(s, val) for s, val in self._ordered(metric, scope, exclude) if val > 0]
        mine = self.counter(metric, scope, subject)
        if mine <= 0 or subject in exclude:
            return None, len(rows)
        ahead = sum(1 for s, val in rows if val > mine or (val == mine and s < subject))
        return ahead + 1, len(rows)

    # -- outbox --------------------------------------------------------------------
    def add_notifications(self, notes: Sequence[Notification]) -> list[Notification]:
        """Append to the outbox, numbering from 1."""
        self._wrote = True
        outbox = self._d.outbox
        added = []
        for note in notes:
            stored = Notification(
                seq=len(outbox) + 1,
                member=note.member,
                kind=note.kind,
                data=note.data,
                event_id=note.event_id,
                at=note.at,
                acked=note.acked,
            )
            outbox.append(stored)
            added.append(stored)
        return added

    def notifications(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        member: str | None = None,
        event_id: str | None = None,
        unacked: bool = False,
    ) -> list[Notification]:
        """Outbox entries after ``after``."""
        found = [
            n
            for n in self._d.outbox[after:]
            if (member is None or n.member == member)
            and (event_id is None or n.event_id == event_id)
            and not (unacked and n.acked)
        ]
        return found if limit is None else found[:limit]

    def ack(self, seqs: Iterable[int]) -> None:
        """Mark outbox entries as delivered."""
        outbox = self._d.outbox
        for seq in seqs:
            if 1 <= seq <= len(outbox) and not outbox[seq - 1].acked:
                old = outbox[seq - 1]
                if seq <= self._outbox_len:
                    self._old_notes.setdefault(seq, old)
                if self._undo is not None:
                    self._undo.append((_NOTE, seq, old))
                outbox[seq - 1] = attrs.evolve(old, acked=True)

    # -- rebuild ---------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Every document and non-zero counter."""
        counters = {
            (metric, scope, subject): value
            for (metric, scope), board in self._boards.items()
            for subject, value in board.items()
            if value
        }
        return Snapshot(docs=tuple(self._all.values()), counters=counters)

    def replace_projections(self, snapshot: Snapshot) -> None:
        """Replace every document and counter with ``snapshot``'s."""
        self._wrote = True
        docs, boards = self._docs, self._boards
        if self._undo is not None:  # a savepoint puts back the contents as they are now
            contents = {bk: dict(board) for bk, board in boards.items()}
            self._undo.append((_CONTENTS, dict(self._all), contents))
        if self._replaced is None and not self._began_empty:
            # Keep the documents and boards of the transaction's start for a rollback
            # (the boards themselves are left alone from here on), so later writes
            # need no remembering.
            docs0, boards0 = dict(self._all), dict(boards)
            # (A write a savepoint undid is remembered but gone already.)
            for k, doc in (self._old_docs or {}).items():
                if doc is None:
                    docs0.pop(k, None)
                else:
                    docs0[k] = doc
            for board_key, (_, earlier) in (self._old_counters or {}).items():
                board = boards0[board_key]
                for subject, value in earlier.items():
                    if value is None:
                        board.pop(subject, None)
                    else:
                        board[subject] = value
            self._replaced = (docs0, boards0)
            self._old_docs = self._old_counters = None
        docs._reset({(doc.kind, doc.key): doc for doc in snapshot.docs})
        boards.clear()
        self._d.generation += 1
        boards_of = self._d.boards_of
        for (metric, scope, subject), value in snapshot.counters.items():
            if value:
                boards[(metric, scope)][subject] = value
                boards_of[subject].add((metric, scope))


class Savepoint:
    """What :meth:`MemoryTransaction.savepoint` returns: a context manager that undoes
    its block's writes when the block raises (and lets the exception through)."""

    __slots__ = ("_at", "_lengths", "_tx", "undid")

    def __init__(self, tx: MemoryTransaction) -> None:
        self._tx = tx
        self.undid = False
        """Once the block raised: whether it had written anything but event log rows
        (a document, counter, ledger entry, notification or policy version, or an
        acknowledgement), all undone. ``False`` until then."""

    def __enter__(self) -> Savepoint:
        tx = self._tx
        d = tx._d
        if tx._undo is None:
            tx._undo = []
        tx._savepoints += 1
        self._at = len(tx._undo)
        self._lengths = (
            len(d.log),
            len(d.entries),
            len(d.outbox),
            len(d.policies),
            len(tx._after_commit),
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        tx = self._tx
        tx._savepoints -= 1
        if kind is not None:
            self.undid = tx._undo_to(self._at, self._lengths)
        if not tx._savepoints:
            tx._undo = None
