"""MemoryStore: everything in Python dicts, for tests, demos and simulations.

Transactions are serialized by one lock and made atomic by remembering, for
each document and counter, its value before the transaction first wrote it,
and how long each append-only list (events, ledger, outbox) was when it
began; an exception puts those back. Nothing is copied up front, and a
counter or document written by a thousand events of a batch is remembered
once, so a transaction costs what it writes.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime

import attrs

from ..errors import Conflict
from ..model import Doc, LedgerEntry, Notification, PolicyVersion, StoredEvent
from .protocol import SEARCH_KIND, CounterKey, Snapshot, best_candidates

__all__ = ["DocIndex", "MemoryStore", "MemoryTransaction"]

_STORES = itertools.count(1)


class _Data:
    """One community's data."""

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


class DocIndex:
    """Documents by ``(kind, key)``, indexed by kind, ``(kind, ref)`` and ``(kind, status)``.

    What :class:`MemoryStore` keeps documents in (and bulk reads load them into).

    A lookup by ``ref`` or ``status`` (a member's badges, a post's votes) reads
    the matching documents only, not every document of the community.
    """

    def __init__(self, docs: Iterable[Doc] = ()) -> None:
        self._all: dict[tuple[str, str], Doc] = {}
        self._kinds: defaultdict[str, set[str]] = defaultdict(set)
        self._refs: defaultdict[tuple[str, str | None], set[str]] = defaultdict(set)
        self._statuses: defaultdict[tuple[str, str | None], set[str]] = defaultdict(set)
        self._words: defaultdict[str, set[str]] = defaultdict(set)  # search word -> keys
        for doc in docs:
            self.put(doc)

    def get(self, k: tuple[str, str]) -> Doc | None:
        return self._all.get(k)

    def values(self) -> Iterable[Doc]:
        return self._all.values()

    def put(self, doc: Doc) -> None:
        kind, key = doc.kind, doc.key
        old = self._all.get((kind, key))
        if old is not None:
            if old.ref != doc.ref:
                self._refs[(kind, old.ref)].discard(key)
                self._refs[(kind, doc.ref)].add(key)
            if old.status != doc.status:
                self._statuses[(kind, old.status)].discard(key)
                self._statuses[(kind, doc.status)].add(key)
            if kind == SEARCH_KIND:
                self._unindex(old)
                for word in str(doc.data.get("text", "")).split():
                    self._words[word].add(key)
            # Replacing a document: its kind already lists it, and its ref and
            # status indexes only change when they do (most writes update data).
            self._all[(kind, key)] = doc
            return
        if kind == SEARCH_KIND:
            for word in str(doc.data.get("text", "")).split():
                self._words[word].add(key)
        self._all[(kind, key)] = doc
        self._kinds[kind].add(key)
        self._refs[(kind, doc.ref)].add(key)
        self._statuses[(kind, doc.status)].add(key)

    def pop(self, k: tuple[str, str]) -> None:
        old = self._all.pop(k, None)
        if old is not None:
            kind, key = k
            self._kinds[kind].discard(key)
            self._refs[(kind, old.ref)].discard(key)
            self._statuses[(kind, old.status)].discard(key)
            if kind == SEARCH_KIND:
                self._unindex(old)

    def _unindex(self, doc: Doc) -> None:
        for word in str(doc.data.get("text", "")).split():
            keys = self._words.get(word)
            if keys is not None:
                keys.discard(doc.key)
                if not keys:
                    del self._words[word]

    def search(self, terms: Sequence[str], limit: int) -> list[Doc]:
        """Search documents with any of ``terms``, in candidate order (see
        :func:`~kudos.stores.protocol.best_candidates`)."""
        hits: Counter[str] = Counter()
        for term in terms:
            hits.update(self._words.get(term, ()))
        docs = self._all
        return best_candidates(((n, docs[(SEARCH_KIND, key)]) for key, n in hits.items()), limit)

    def find(self, kind: str, ref: str | None, status: str | None) -> list[Doc]:
        if ref is not None:
            keys = self._refs.get((kind, ref), set())
            if status is not None:
                keys = keys & self._statuses.get((kind, status), set())
        elif status is not None:
            keys = self._statuses.get((kind, status), set())
        else:
            keys = self._kinds.get(kind, set())
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
        # What to put back on rollback: list lengths at the start, and each document's
        # and counter's value before its first write here (None: it did not exist).
        self._log_len = len(data.log)
        self._entries_len = len(data.entries)
        self._outbox_len = len(data.outbox)
        self._policies_len = len(data.policies)
        self._docs0 = data.docs
        self._boards0 = data.boards
        self._old_docs: dict[tuple[str, str], Doc | None] = {}
        self._old_counters: dict[CounterKey, int | None] = {}
        self._old_notes: dict[int, Notification] = {}
        self._replaced = False
        self._wrote = False
        self._after_commit: list[Callable[[], object]] = []

    def on_commit(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once this transaction committed (never if it rolls back)."""
        self._after_commit.append(callback)

    def _rollback(self) -> None:
        d = self._d
        del d.policies[self._policies_len :]
        for seq, note in self._old_notes.items():
            d.outbox[seq - 1] = note
        del d.outbox[self._outbox_len :]
        while len(d.entries) > self._entries_len:
            self._unappend(d.entries[-1])
        for stored in d.log[self._log_len :]:
            del d.events[stored.event_id]
        del d.log[self._log_len :]
        if self._replaced:
            d.docs, d.boards = self._docs0, self._boards0
        docs = self._docs0
        for k, doc in self._old_docs.items():
            if doc is None:
                docs.pop(k)
            else:
                docs.put(doc)
        boards = self._boards0
        for (metric, scope, subject), value in self._old_counters.items():
            board = boards[(metric, scope)]
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
        found = (self._d.docs.get((kind, k)) for k in sorted(set(keys)))
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
        for entry in entries:
            if entry.entry_id in d.entry_ids:
                raise Conflict(f"ledger entry {entry.entry_id!r} already exists")
            d.entries.append(entry)
            d.entry_ids.add(entry.entry_id)
            d.by_member[entry.member].append(entry)
            d.by_event[entry.event_id].append(entry)
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
        return self._d.docs._all.get((kind, key))  # DocIndex.get, inlined: the hottest read

    def put(self, doc: Doc) -> None:
        """Insert or replace a document."""
        self._wrote = True
        docs = self._d.docs
        k = (doc.kind, doc.key)
        if not self._replaced and k not in self._old_docs:
            self._old_docs[k] = docs.get(k)
        docs.put(doc)

    def search(self, terms: Sequence[str], *, limit: int) -> list[Doc]:
        """Search documents with any of ``terms`` (an in-memory word index), best first."""
        return self._d.docs.search(terms, limit)

    def find(
        self,
        kind: str,
        *,
        ref: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Doc]:
        """Documents of ``kind`` matching ``ref`` and ``status``, ordered by key."""
        found = self._d.docs.find(kind, ref, status)
        return found if limit is None else found[:limit]

    # -- counters -----------------------------------------------------------------
    def add(self, deltas: Mapping[CounterKey, int]) -> None:
        """Add each delta to its counter."""
        self._wrote = True
        boards, boards_of = self._d.boards, self._d.boards_of
        old = None if self._replaced else self._old_counters
        for key, delta in deltas.items():
            if not delta:
                continue
            metric, scope, subject = key
            board = boards[(metric, scope)]
            value = board.get(subject)
            if old is not None and key not in old:
                old[key] = value
            if value is None:
                board[subject] = delta
                boards_of[subject].add((metric, scope))
            else:
                board[subject] = value + delta

    def tally(self, deltas: Mapping[CounterKey, int]) -> None:
        """Add to counters this work only adds to and never reads back: as :meth:`add`.

        Optional in a store (see docs/stores.md): for aggregates many writers share and
        only reports read (response health, feelings, deflections), which a store may send
        late, at the commit, without locking their subjects. One writer at a time here.
        """
        self.add(deltas)

    def counter(self, metric: str, scope: str, subject: str) -> int:
        """One counter (0 when missing)."""
        board = self._d.boards.get((metric, scope))
        return board.get(subject, 0) if board else 0

    def counters_of(self, subject: str, scopes: Sequence[str]) -> dict[tuple[str, str], int]:
        """Non-zero counters of ``subject`` in ``scopes``."""
        wanted = set(scopes)
        boards = self._d.boards
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
            for (metric, scope), board in self._d.boards.items()
            if scope in wanted
            for subject, value in board.items()
            if value
        }

    def _ordered(self, metric: str, scope: str, exclude: Sequence[str]) -> list[tuple[str, int]]:
        board = self._d.boards.get((metric, scope), {})
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
                outbox[seq - 1] = attrs.evolve(old, acked=True)

    # -- rebuild ---------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Every document and non-zero counter."""
        counters = {
            (metric, scope, subject): value
            for (metric, scope), board in self._d.boards.items()
            for subject, value in board.items()
            if value
        }
        return Snapshot(docs=tuple(self._d.docs.values()), counters=counters)

    def replace_projections(self, snapshot: Snapshot) -> None:
        """Replace every document and counter with ``snapshot``'s."""
        self._wrote = True
        d = self._d
        # Rollback puts the dicts of the transaction's start back, so writes to the new
        # ones need no remembering.
        self._replaced = True
        d.docs = DocIndex(snapshot.docs)
        d.boards = defaultdict(dict)
        for (metric, scope, subject), value in snapshot.counters.items():
            if value:
                d.boards[(metric, scope)][subject] = value
                d.boards_of[subject].add((metric, scope))
