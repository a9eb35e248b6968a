"""The storage contract: what a store must do for kudos.

A store keeps six things per community, and never interprets them:

* the **event log** (append-only, unique event id, read back in order);
* the **ledger** (append-only entries; reversals are new entries);
* **documents**: projection records by ``(kind, key)`` with JSON data and two
  indexed columns, ``ref`` and ``status`` (members, posts, votes, referrals,
  ideas, payouts, ...);
* **counters**: integers by ``(metric, scope, subject)`` (balances, counts,
  per-period and per-tag totals), with ordered reads for leaderboards;
* the **outbox** of notifications, with a cursor and acknowledgement;
* the **policy history**: each version of the community's policy (its
  content as JSON, fingerprint and effective time), numbered 1, 2, 3, ...

All writes happen inside :meth:`Store.transaction`; everything written in one
transaction commits together or not at all. The engine (``Community``) does
all the thinking; a store only persists. The conformance suite in
:mod:`kudos.testing` proves a store meets this contract.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from ..model import Doc, LedgerEntry, Notification, PolicyVersion, StoredEvent

__all__ = [
    "EVENT_LOCK",
    "SEARCH_KIND",
    "CounterKey",
    "SearchTransaction",
    "Snapshot",
    "Store",
    "Transaction",
    "best_candidates",
    "fold",
    "match_terms",
    "search_terms",
]

CounterKey = tuple[str, str, str]
"""``(metric, scope, subject)``: e.g. ``("reputation", "all", "alice")``."""


@attrs.frozen(kw_only=True)
class Snapshot:
    """Every projection of one community: what :meth:`Transaction.replace_projections` takes."""

    docs: tuple[Doc, ...]
    counters: Mapping[CounterKey, int]


EVENT_LOCK = "event:"
"""The prefix of the :meth:`Transaction.lock` key under which appending an event locks its
id: ``EVENT_LOCK + event_id``. Code that must decide about an id before appending it (a
remembered refusal) takes the same key, so it and the append are one critical section."""


@runtime_checkable
class Transaction(Protocol):
    """One unit of work on one community's data.

    **Protocol**: reads see the transaction's own earlier writes. Nothing is
    visible to other transactions before the store's context manager exits
    without an exception; an exception rolls everything back.
    """

    community: str

    # -- locking ------------------------------------------------------------
    def lock(self, keys: Iterable[str]) -> None:
        """Serialize with other transactions touching any of ``keys`` until commit.

        Stores that serialize every write transaction may do nothing. Locks are
        taken in sorted order so two transactions cannot deadlock on them.
        """

    # -- event log ----------------------------------------------------------
    def append_event(self, event: StoredEvent) -> StoredEvent | None:
        """Append ``event`` unless its id is in the log.

        Returns ``None`` when appended, or the stored event when the id was
        already there (appending nothing). Two concurrent appends of one id
        must end with one row and neither raising.
        """

    def get_event(self, event_id: str) -> StoredEvent | None:
        """The stored event with ``event_id``, or ``None``."""

    def events(self, *, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events with ``seq > after`` in append order (at most ``limit``)."""

    # -- ledger -------------------------------------------------------------
    def append_entries(self, entries: Sequence[LedgerEntry]) -> None:
        """Append ledger entries; entry ids are unique."""

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
        """Ledger entries matching every given filter, in append order.

        ``since`` is inclusive and ``until`` exclusive, on the entries' ``at``.
        """

    def reversed_ids(self, entry_ids: Iterable[str]) -> set[str]:
        """Which of ``entry_ids`` already have a reversal entry."""

    # -- documents ----------------------------------------------------------
    def get(self, kind: str, key: str) -> Doc | None:
        """The document ``(kind, key)`` or ``None``."""

    def put(self, doc: Doc) -> None:
        """Insert or replace the document ``(doc.kind, doc.key)``."""

    def find(
        self,
        kind: str,
        *,
        ref: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Doc]:
        """Documents of ``kind`` matching ``ref``/``status`` (when given), ordered by key."""

    # -- counters -----------------------------------------------------------
    def add(self, deltas: Mapping[CounterKey, int]) -> None:
        """Add each delta to its counter (a missing counter starts at 0).

        Must be an in-database increment (never read-modify-write) so that
        concurrent transactions lose no update.
        """

    def counter(self, metric: str, scope: str, subject: str) -> int:
        """One counter's value (0 when missing)."""

    def counters_of(self, subject: str, scopes: Sequence[str]) -> dict[tuple[str, str], int]:
        """Every counter of ``subject`` in ``scopes``, as ``{(metric, scope): value}``."""

    def top(
        self,
        metric: str,
        scope: str,
        *,
        limit: int,
        offset: int = 0,
        exclude: Sequence[str] = (),
    ) -> list[tuple[str, int]]:
        """Subjects by value descending, ties by subject ascending; zeros are left out.

        Negative values come last (window boards sum them); boards rank only the
        positive ones.
        """

    def position(
        self, metric: str, scope: str, subject: str, *, exclude: Sequence[str] = ()
    ) -> tuple[int | None, int]:
        """``(1-based position or None, how many are ranked)`` in :meth:`top`'s order.

        Only positive values are ranked: a subject at zero or below has no
        position and is not counted.
        """

    # -- outbox -------------------------------------------------------------
    def add_notifications(self, notes: Sequence[Notification]) -> list[Notification]:
        """Append to the outbox; returns them with their assigned ``seq``."""

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

    def ack(self, seqs: Iterable[int]) -> None:
        """Mark outbox entries as delivered."""

    # -- policy history -------------------------------------------------------
    def policy_versions(self) -> list[PolicyVersion]:
        """Every version of the community's policy, oldest first (empty before any write)."""

    def policy_version(self) -> int:
        """The latest version's number, 0 when none is recorded (read by every transaction)."""

    def policy_latest(self) -> tuple[int, str]:
        """The latest version's number and fingerprint (``(0, "")`` when none is recorded).

        Read once by every transaction of a :class:`~kudos.Community`: a
        history known in the process is trusted only when both match, so a
        store recreated with other content under a live process is read again.
        """

    def add_policy(self, version: PolicyVersion) -> None:
        """Append the community's next policy version.

        ``version.version`` must be one more than the latest (1 for the first);
        any other number raises :class:`kudos.Conflict` (two writers recorded
        a version at once). Policy versions are history: never replaced, and
        untouched by :meth:`replace_projections`.
        """

    # -- rebuild --------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Every document and counter of the community."""

    def replace_projections(self, snapshot: Snapshot) -> None:
        """Drop every document and counter of the community and write ``snapshot``'s."""


SEARCH_KIND = "search"
"""The kind of the documents a store may index for full-text search.

Their ``data["text"]`` is lower-case words separated by single spaces (what
:func:`search_terms` makes of a text), so every store finds the same words.
"""

_WORD = re.compile(r"[^\W_]+")
MAX_TERMS = 32
"""The most distinct words of a query a search looks for (the first ones)."""
MAX_WORD = 200
"""The characters of a word that count: a longer word is cut to its first 200, in the text
indexed and in a query alike (PostgreSQL's ``tsvector`` leaves out words over 2,047 bytes,
so every store cuts words well below that)."""


def fold(word: str) -> str:
    """One word as every store indexes and searches it: NFKC, case-folded, without
    accents, and a plural ``s`` dropped.

    Accents are dropped by decomposing (NFKD) and leaving out combining marks, so
    ``Données`` and ``donnees`` are one word; ``Straße`` case-folds to ``strasse``; full-width and
    ligature forms become their plain letters (NFKC). The plural rule: a word of 4
    or more characters ending in ``s`` but not in ``ss``, ``us`` or ``is`` loses the
    ``s`` (``pins`` -> ``pin``, ``minutes`` -> ``minute``; ``gas``, ``access``,
    ``status``, ``this`` stay).

    >>> [fold(w) for w in ("Données", "PINs", "Straße", "ﬁles", "status")]
    ['donnee', 'pin', 'strasse', 'file', 'status']
    """
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", word).casefold())
    plain = unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )
    if len(plain) >= 4 and plain.endswith("s") and not plain.endswith(("ss", "us", "is")):
        return plain[:-1]
    return plain


def search_terms(text: str, *, limit: int | None = None) -> list[str]:
    """The distinct words of ``text`` (letters and digits), each :func:`fold`-ed, in order.

    Everything else (quotes, operators such as ``*``, ``-``, ``NEAR``'s
    parentheses, SQL punctuation, NUL bytes) separates words and is never
    passed on to a full-text engine, so no text can be a query's syntax. The
    text kudos indexes and the query are made by this same function in Python,
    so every store (SQLite FTS5, PostgreSQL ``tsvector``, memory) sees the same
    words.

    >>> search_terms('No "data" abroad* -- NEAR(roaming, 2)')
    ['no', 'data', 'abroad', 'near', 'roaming', '2']

    A word longer than :data:`MAX_WORD` characters counts by its first ones.
    """
    words: dict[str, None] = {}
    for raw in _WORD.findall(text):
        for word in _WORD.findall(fold(raw)):  # folding may split (e.g. a ligature's parts)
            words[word[:MAX_WORD]] = None
    found = list(words)
    return found if limit is None else found[:limit]


def best_candidates(hits: Iterable[tuple[int, Doc]], limit: int) -> list[Doc]:
    """The first ``limit`` of ``(terms matched, doc)`` pairs in candidate order.

    Candidate order, the same on every store: most terms matched first; among
    equals, solved topics (``data["solution"]`` set) first, then the newest
    (``data["posted_at"]``, compared as the ISO text kudos writes), then by key
    (code-point order).
    """
    pairs = sorted(hits, key=lambda pair: pair[1].key)
    pairs.sort(
        key=lambda pair: (
            pair[0],
            pair[1].data.get("solution") is not None,
            str(pair[1].data.get("posted_at") or ""),
        ),
        reverse=True,
    )
    return [doc for _, doc in pairs[:limit]]


def match_terms(docs: Iterable[Doc], terms: Sequence[str], limit: int) -> list[Doc]:
    """The ``docs`` whose ``text`` has any of ``terms``, in candidate order
    (see :func:`best_candidates`).

    How kudos searches a store without full-text search (and a store may use it
    when its own index is missing).
    """
    wanted = set(terms)
    scored = []
    for doc in docs:
        hits = len(wanted & set(str(doc.data.get("text", "")).split()))
        if hits:
            scored.append((hits, doc))
    return best_candidates(scored, limit)


@runtime_checkable
class SearchTransaction(Protocol):
    """What a transaction may add for full-text search (optional; see ``kudos.support``).

    A store whose transactions have :meth:`search` indexes the ``text`` of the
    documents of kind :data:`SEARCH_KIND` as they are written and replaced
    (SQLite FTS5, PostgreSQL ``tsvector``, an in-memory index). Without it,
    kudos reads those documents and matches them itself.
    """

    def search(self, terms: Sequence[str], *, limit: int) -> list[Doc]:
        """Documents of kind :data:`SEARCH_KIND` whose text has any of ``terms``.

        ``terms`` are lower-case words as :func:`search_terms` makes them (at
        most :data:`MAX_TERMS`); at most ``limit``, in the candidate order of
        :func:`best_candidates` (most terms matched, then solved, then newest,
        then key), which every store follows exactly. No terms: no documents.
        """


@runtime_checkable
class Store(Protocol):
    """Persistence for one or many communities.

    **Protocol**: :meth:`transaction` yields a :class:`Transaction` for one
    community; leaving the block without an exception commits, an exception
    rolls back and propagates. Driver errors are raised as
    :class:`kudos.StoreError` (or :class:`kudos.TransientStoreError` when a
    retry may succeed), never as the driver's own exception types.
    """

    def transaction(self, community: str) -> AbstractContextManager[Transaction]:
        """A unit of work on ``community``'s data."""

    def communities(self) -> Iterator[str]:
        """The ids of the communities with any event in this store."""
