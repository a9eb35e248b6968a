"""The statements on kudos's write path, and the two ways they are run.

Recording one event runs a handful of tiny statements (append the event, read
a few documents and counters) and, at commit, a few batches. On PostgreSQL the
network round trip dominates, and SQLAlchemy runs them (:class:`CoreRunner`).
On SQLite a statement costs a couple of microseconds and SQLAlchemy's own
per-execution work twenty times that, so :class:`SqliteRunner` sends the very
same SQL, compiled once by SQLAlchemy for the engine's dialect, straight to
the driver's cursor inside SQLAlchemy's transaction, and converts the values
itself exactly as the column types do (JSON text, UTC timestamp text).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Connection,
    Dialect,
    String,
    Table,
    any_,
    bindparam,
    case,
    column,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from ..errors import StoreError
from ..model import Doc, LedgerEntry, Notification, StoredEvent
from ._sql_schema import Tables, utc_text
from .protocol import CounterKey

__all__ = ["CoreRunner", "SqliteRunner", "Statements"]

_EVENT_KEYS = ("community", "event_id", "type", "payload", "at")
_DOC_KEYS = ("community", "kind", "key", "ref", "status", "data")
_COUNTER_KEYS = ("community", "metric", "scope", "subject", "value")
_ENTRY_KEYS = (
    "community",
    "entry_id",
    "member",
    "account",
    "amount",
    "action",
    "reason",
    "event_id",
    "subject",
    "period",
    "at",
    "reverses",
    "tags",
    "policy",
)
_NOTE_KEYS = ("community", "member", "kind", "data", "event_id", "at", "acked")


class Statements:
    """SQLAlchemy Core statements of one set of tables, built once per store."""

    def __init__(self, t: Tables, dialect: str) -> None:
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        ev, led, docs, cnt, out = t.events, t.ledger, t.docs, t.counters, t.outbox
        c: BindParameter[str] = bindparam("c")
        self.tables = t

        self.insert_event = (
            insert(ev)
            .on_conflict_do_nothing(index_elements=[ev.c.community, ev.c.event_id])
            .returning(ev.c.seq)
        )
        self.get_event = select(ev.c.seq, ev.c.type, ev.c.payload, ev.c.at).where(
            ev.c.community == c, ev.c.event_id == bindparam("event_id")
        )
        self.insert_entries = led.insert()
        self.get_doc = select(docs.c.ref, docs.c.status, docs.c.data).where(
            docs.c.community == c, docs.c.kind == bindparam("k"), docs.c.key == bindparam("id")
        )
        upsert_doc = insert(docs)
        self.upsert_docs = upsert_doc.on_conflict_do_update(
            index_elements=[docs.c.community, docs.c.kind, docs.c.key],
            set_={
                "ref": upsert_doc.excluded.ref,
                "status": upsert_doc.excluded.status,
                "data": upsert_doc.excluded.data,
            },
        )
        self.get_counter = select(cnt.c.value).where(
            cnt.c.community == c,
            cnt.c.metric == bindparam("m"),
            cnt.c.scope == bindparam("s"),
            cnt.c.subject == bindparam("subj"),
        )
        # Every counter of one subject in one scope: a range of the counters' key.
        self.counter_group = select(cnt.c.metric, cnt.c.value).where(
            cnt.c.community == c,
            cnt.c.scope == bindparam("s"),
            cnt.c.subject == bindparam("subj"),
        )
        counter_key = [cnt.c.community, cnt.c.metric, cnt.c.scope, cnt.c.subject]
        upsert_counter = insert(cnt)
        self.add_counters = _adding(
            upsert_counter, counter_key, cnt.c.value, upsert_counter.excluded.value
        )
        # PostgreSQL: every change of a flush in one statement, its rows from unnest() over
        # four arrays (in the order given: sorted keys, against deadlocks). An executemany
        # sends one message per row; a kudos changes about twenty counters.
        self.add_counters_bulk = None
        if dialect != "sqlite":
            changes = _unnested(
                ("metrics", "m", String),
                ("scopes", "s", String),
                ("subjects", "subj", String),
                ("values", "v", BigInteger),
                ordinality="n",
            )
            rows = insert(cnt).from_select(
                ["community", "metric", "scope", "subject", "value"],
                select(c, changes.c.m, changes.c.s, changes.c.subj, changes.c.v)
                .select_from(changes)
                .order_by(changes.c.n),
            )
            self.add_counters_bulk = _adding(rows, counter_key, cnt.c.value, rows.excluded.value)
        self.insert_notes = out.insert().returning(out.c.seq, sort_by_parameter_order=True)
        cm = t.communities
        one: ColumnElement[int] = literal_column("1")
        upsert_version = insert(cm).values(community=c, version=one)
        self.bump_version = _adding(upsert_version, [cm.c.community], cm.c.version, one)
        self.get_version = select(cm.c.version).where(cm.c.community == c)
        # PostgreSQL: the sum of the community's row and its shards' (see version_keys).
        self.get_versions = select(func.coalesce(func.sum(cm.c.version), 0)).where(
            cm.c.community.in_(bindparam("keys", expanding=True))
        )
        self.schema_version = select(t.schema.c.version).where(t.schema.c.id == literal_column("1"))
        # Commit order (PostgreSQL): a writing transaction numbers its events and ledger
        # lines again right before it commits, holding the numbering lock, so ``seq``
        # follows the order transactions commit in (see SqlTransaction.finish). Both
        # renumberings and the data version go in one round trip (data-modifying CTEs):
        # the fewer round trips the lock's holder makes, the less other writers wait.
        renumber_and_bump = insert(cm).values(community=bindparam("shard"), version=one)
        for table in (ev, led) if dialect != "sqlite" else ():
            renumbered = _renumbered(table, dialect, c).cte(f"renumbered_{table.name}")
            renumber_and_bump = renumber_and_bump.add_cte(renumbered)
        self.renumber_and_bump = _adding(renumber_and_bump, [cm.c.community], cm.c.version, one)
        self.lock = select(func.pg_advisory_xact_lock(bindparam("lock", type_=BigInteger)))
        self.lock_shared = select(
            func.pg_advisory_xact_lock_shared(bindparam("lock", type_=BigInteger))
        )
        # Several keys in one round trip, in the order given (the caller sorts them):
        # unnest() yields its arrays' elements in order, and the function runs per row.
        # ``shared`` says, per key, whether it is taken shared (else exclusively).
        pairs = _unnested(("locks", "k", BigInteger), ("shared", "s", Boolean))
        k, shared = pairs.c.k, pairs.c.s
        self.lock_many = select(
            func.count(
                case(
                    (shared, func.pg_advisory_xact_lock_shared(k)),
                    else_=func.pg_advisory_xact_lock(k),
                )
            )
        ).select_from(pairs)
        # The keys it could not take at once (it holds the others).
        self.try_locks = (
            select(k)
            .select_from(pairs)
            .where(
                ~case(
                    (shared, func.pg_try_advisory_xact_lock_shared(k)),
                    else_=func.pg_try_advisory_xact_lock(k),
                )
            )
        )


def _adding(stmt: Any, key: list[Any], column_: Any, amount: Any) -> Any:
    """``stmt`` (a PostgreSQL or SQLite ``INSERT``) adding ``amount`` to ``column_`` of the
    row already there with the same ``key`` columns: an in-database increment."""
    return stmt.on_conflict_do_update(index_elements=key, set_={column_.name: column_ + amount})


def _unnested(*arrays: tuple[str, str, Any], ordinality: str | None = None) -> Any:
    """Rows from PostgreSQL's ``unnest()`` over array parameters, in their order: one
    ``(parameter, column, type)`` per array (and the row number as ``ordinality``)."""
    return (
        func.unnest(*(bindparam(name, type_=ARRAY(kind)) for name, _, kind in arrays))
        .table_valued(*(column(col, kind) for _, col, kind in arrays), with_ordinality=ordinality)
        .render_derived()
    )


VERSION_SHARDS = 16
"""Rows a community's data version is spread over on PostgreSQL.

A writer adds one to a row of its own (chosen by process and thread), so writers
in parallel do not queue for one row lock until their commit; the version is the
sum of the rows, which moves by one with every committed writing transaction."""


def version_keys(community: str) -> list[str]:
    """The keys of ``community``'s data version rows: its own and its shards'.

    A shard's key joins the id and the shard number with U+001F, a control
    character no community id may contain.
    """
    return [community] + [f"{community}\x1f{n}" for n in range(VERSION_SHARDS)]


def version_shard(community: str) -> str:
    """The data version row this process and thread add to (see :data:`VERSION_SHARDS`)."""
    return f"{community}\x1f{(os.getpid() * 7919 + threading.get_ident()) % VERSION_SHARDS}"


def _renumbered(table: Table, dialect: str, c: BindParameter[str]) -> Any:
    """``UPDATE`` giving ``table``'s rows of the events ``:ids`` new ``seq`` numbers, in order.

    PostgreSQL evaluates ``nextval`` after the subquery's ``ORDER BY`` (volatile
    functions in a sorted select list are computed after the sort), so rows keep
    their order among themselves.
    """
    # Quoted as created: SQLAlchemy quotes a name only when it needs it, which keeps its case.
    name = ".".join(f'"{part}"' for part in (table.schema, table.name) if part)
    sequence = func.pg_get_serial_sequence(literal(name), literal("seq"))
    ids = bindparam("ids", type_=ARRAY(String))
    fresh = (
        select(table.c.seq.label("old"), func.nextval(sequence).label("new"))
        .where(table.c.community == c, table.c.event_id == any_(ids))
        .order_by(table.c.seq)
        .subquery()
    )
    return update(table).where(table.c.seq == fresh.c.old).values(seq=fresh.c.new)


def _rows(community: str, docs: Sequence[Doc]) -> list[dict[str, Any]]:
    return [
        {
            "community": community,
            "kind": d.kind,
            "key": d.key,
            "ref": d.ref,
            "status": d.status,
            "data": d.data,
        }
        for d in docs
    ]


@contextmanager
def _json_only() -> Iterator[None]:
    """Say what to do when a driver (or kudos itself) cannot turn data into JSON."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"a value could not be stored ({exc}); document, payload and notification data "
            "must be JSON (str, int, bool, None, lists, dicts)"
        ) from exc


class CoreRunner:
    """Runs the write path's statements through SQLAlchemy (any dialect)."""

    def __init__(self, conn: Connection, sql: Statements) -> None:
        self._conn = conn
        self._sql = sql

    def insert_event(self, community: str, event: StoredEvent) -> bool:
        """Insert ``event`` unless its id is logged; whether it was inserted."""
        params = {
            "community": community,
            "event_id": event.event_id,
            "type": event.type,
            "payload": event.payload,
            "at": event.at,
        }
        with _json_only():
            return self._conn.execute(self._sql.insert_event, params).first() is not None

    def get_event(self, community: str, event_id: str) -> StoredEvent | None:
        """The logged event ``event_id`` or ``None``."""
        row = self._conn.execute(
            self._sql.get_event, {"c": community, "event_id": event_id}
        ).first()
        if row is None:
            return None
        return StoredEvent(
            event_id=event_id, type=row.type, payload=row.payload, at=row.at, seq=row.seq
        )

    def get_doc(self, community: str, kind: str, key: str) -> Doc | None:
        """The document or ``None``."""
        row = self._conn.execute(self._sql.get_doc, {"c": community, "k": kind, "id": key}).first()
        if row is None:
            return None
        return Doc(kind=kind, key=key, data=row.data, ref=row.ref, status=row.status)

    def bump_version(self, community: str) -> None:
        """Move ``community``'s data version by one."""
        self._conn.execute(self._sql.bump_version, {"c": community})

    def schema_version(self) -> int | None:
        """The version in the schema table (``None``: no row)."""
        return self._conn.execute(self._sql.schema_version).scalar()

    def get_counter(self, community: str, key: CounterKey) -> int:
        """One counter as stored (0 when missing)."""
        metric, scope, subject = key
        params = {"c": community, "m": metric, "s": scope, "subj": subject}
        value = self._conn.execute(self._sql.get_counter, params).scalar()
        return int(value or 0)

    def upsert_docs(self, community: str, docs: Sequence[Doc]) -> None:
        """Insert or replace documents."""
        with _json_only():
            self._conn.execute(self._sql.upsert_docs, _rows(community, docs))

    def insert_entries(self, community: str, entries: Sequence[LedgerEntry]) -> None:
        """Append ledger entries, in order."""
        rows = [
            {
                "community": community,
                "entry_id": e.entry_id,
                "member": e.member,
                "account": e.account,
                "amount": e.amount,
                "action": e.action,
                "reason": e.reason,
                "event_id": e.event_id,
                "subject": e.subject,
                "period": e.period,
                "at": e.at,
                "reverses": e.reverses,
                "tags": list(e.tags),
                "policy": e.policy,
            }
            for e in entries
        ]
        self._conn.execute(self._sql.insert_entries, rows)

    def add_counters(self, community: str, deltas: Sequence[tuple[CounterKey, int]]) -> None:
        """Add each delta to its counter, in the database (in the order given)."""
        bulk = self._sql.add_counters_bulk
        if bulk is not None and len(deltas) > 1:
            params = {
                "c": community,
                "metrics": [m for (m, _, _), _ in deltas],
                "scopes": [s for (_, s, _), _ in deltas],
                "subjects": [subj for (_, _, subj), _ in deltas],
                "values": [d for _, d in deltas],
            }
            self._conn.execute(bulk, params)
            return
        rows = [
            {"community": community, "metric": m, "scope": s, "subject": subj, "value": d}
            for (m, s, subj), d in deltas
        ]
        self._conn.execute(self._sql.add_counters, rows)

    def insert_notes(self, community: str, notes: Sequence[Notification]) -> list[int]:
        """Append to the outbox; the seq of each, in order."""
        rows = [
            {
                "community": community,
                "member": n.member,
                "kind": n.kind,
                "data": n.data,
                "event_id": n.event_id,
                "at": n.at,
                "acked": n.acked,
            }
            for n in notes
        ]
        with _json_only():
            result = self._conn.execute(self._sql.insert_notes, rows)
        return [int(s) for s in result.scalars()]


def _compiled(stmt: Any, dialect: Dialect, keys: Sequence[str]) -> str:
    """``stmt``'s SQL for ``dialect``, checking its parameters come in the order ``keys``."""
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
    order = tuple(compiled.positiontup or ())
    if order != tuple(keys):
        raise AssertionError(f"unexpected parameter order {order} (wanted {tuple(keys)})")
    return str(compiled)


class SqliteSql:
    """The write path's SQL compiled for one SQLite engine (see :class:`SqliteRunner`)."""

    def __init__(self, sql: Statements, dialect: Dialect) -> None:
        self.insert_event = _compiled(sql.insert_event, dialect, _EVENT_KEYS)
        # Many events at once, each known to be new (SqlTransaction.append_event).
        self.insert_events = _compiled(sql.tables.events.insert(), dialect, _EVENT_KEYS)
        self.get_event = _compiled(sql.get_event, dialect, ("c", "event_id"))
        self.get_doc = _compiled(sql.get_doc, dialect, ("c", "k", "id"))
        self.upsert_docs = _compiled(sql.upsert_docs, dialect, _DOC_KEYS)
        self.get_counter = _compiled(sql.get_counter, dialect, ("c", "m", "s", "subj"))
        self.counter_group = _compiled(sql.counter_group, dialect, ("c", "s", "subj"))
        self.add_counters = _compiled(sql.add_counters, dialect, _COUNTER_KEYS)
        self.insert_entries = _compiled(sql.insert_entries, dialect, _ENTRY_KEYS)
        self.get_version = _compiled(sql.get_version, dialect, ("c",))
        self.bump_version = _compiled(sql.bump_version, dialect, ("c",))
        self.schema_version = _compiled(sql.schema_version, dialect, ())
        # One row at a time: the driver's executemany cannot return each row's seq.
        self.insert_note = _compiled(
            sql.tables.outbox.insert().returning(sql.tables.outbox.c.seq), dialect, _NOTE_KEYS
        )


_loads = json.loads


_encoder = json.JSONEncoder()


def _c_encoder() -> Any:
    """``json.dumps``'s own C encoder (what ``JSONEncoder.encode`` builds on every call),
    built once: the same text, without the per-call set-up."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return None
    e = _encoder
    return make(
        {},
        e.default,
        json.encoder.encode_basestring_ascii,
        None,
        e.key_separator,
        e.item_separator,
        e.sort_keys,
        e.skipkeys,
        e.allow_nan,
    )


_c_encode = _c_encoder()


def _dumps(value: Any) -> str:
    """``value`` as ``json.dumps(value)`` gives it; :class:`StoreError` when it is not JSON.

    The handler of _json_only, inlined: this runs for every row written.
    """
    global _c_encode
    try:
        if _c_encode is None or value.__class__ is str:
            return _encoder.encode(value)
        return "".join(_c_encode(value, 0))
    except Exception as exc:
        # The encoder's record of the containers it is in may still hold those it was in
        # when it failed: start with a new one.
        _c_encode = _c_encoder()
        if not isinstance(exc, TypeError | ValueError):
            raise
        with _json_only():
            raise exc from None


_from_text = datetime.fromisoformat


class SqliteRunner:
    """Runs the write path's statements on the SQLite driver's own cursor.

    The SQL is SQLAlchemy's (:class:`SqliteSql`); values are converted as the
    column types convert them, so rows read either way are the same.
    """

    def __init__(self, conn: Connection, sql: SqliteSql) -> None:
        driver = conn.connection.driver_connection
        assert driver is not None
        self._cur = driver.cursor()
        self._sql = sql
        # Text of each timestamp and tag list written in this transaction: an event's
        # time is also its ledger lines' and notifications', its lines share their tags.
        self._texts: dict[datetime, str] = {}
        self._tags: dict[tuple[str, ...], str] = {}

    def _utc(self, at: datetime) -> str:
        """``utc_text(at)``, worked out once per transaction."""
        text = self._texts.get(at)
        if text is None:
            text = self._texts[at] = utc_text(at)
        return text

    def _tag_text(self, tags: tuple[str, ...]) -> str:
        """A ledger entry's tags as the JSON list stored, worked out once per transaction."""
        if tags.__class__ is not tuple:
            return _dumps(list(tags))
        text = self._tags.get(tags)
        if text is None:
            text = self._tags[tags] = _dumps(list(tags))
        return text

    def insert_event(self, community: str, event: StoredEvent) -> bool:
        """Insert ``event`` unless its id is logged; whether it was inserted."""
        params = (community, event.event_id, event.type, _dumps(event.payload), self._utc(event.at))
        return self._cur.execute(self._sql.insert_event, params).fetchone() is not None

    def insert_events(self, community: str, events: Sequence[StoredEvent]) -> bool:
        """Insert ``events``, in order, in one ``executemany``; ``False`` (having inserted
        some, maybe) when an id among them is logged already: the caller rolls back."""
        utc = self._utc
        rows = [(community, e.event_id, e.type, _dumps(e.payload), utc(e.at)) for e in events]
        try:
            self._cur.executemany(self._sql.insert_events, rows)
        except sqlite3.IntegrityError:
            return False
        return True

    def get_event(self, community: str, event_id: str) -> StoredEvent | None:
        """The logged event ``event_id`` or ``None``."""
        row = self._cur.execute(self._sql.get_event, (community, event_id)).fetchone()
        if row is None:
            return None
        seq, type_, payload, at = row
        return StoredEvent(
            event_id=event_id, type=type_, payload=_loads(payload), at=_from_text(at), seq=seq
        )

    def get_doc(self, community: str, kind: str, key: str) -> Doc | None:
        """The document or ``None``."""
        row = self._cur.execute(self._sql.get_doc, (community, kind, key)).fetchone()
        if row is None:
            return None
        ref, status, data = row
        return Doc(kind=kind, key=key, data=_loads(data), ref=ref, status=status)

    def bump_version(self, community: str) -> None:
        """Move ``community``'s data version by one."""
        self._cur.execute(self._sql.bump_version, (community,))

    def schema_version(self) -> int | None:
        """The version in the schema table (``None``: no row)."""
        row = self._cur.execute(self._sql.schema_version).fetchone()
        return None if row is None else int(row[0])

    def counter_group(self, community: str, scope: str, subject: str) -> list[tuple[str, int]]:
        """Every counter of ``subject`` in ``scope`` as stored: ``(metric, value)`` pairs."""
        rows: list[tuple[str, int]] = self._cur.execute(
            self._sql.counter_group, (community, scope, subject)
        ).fetchall()
        return rows

    def get_counter(self, community: str, key: CounterKey) -> int:
        """One counter as stored (0 when missing)."""
        row = self._cur.execute(self._sql.get_counter, (community, *key)).fetchone()
        return 0 if row is None else int(row[0])

    def upsert_docs(self, community: str, docs: Sequence[Doc]) -> None:
        """Insert or replace documents."""
        self._cur.executemany(
            self._sql.upsert_docs,
            [(community, d.kind, d.key, d.ref, d.status, _dumps(d.data)) for d in docs],
        )

    def insert_entries(self, community: str, entries: Sequence[LedgerEntry]) -> None:
        """Append ledger entries, in order."""
        utc, tag_text = self._utc, self._tag_text
        self._cur.executemany(
            self._sql.insert_entries,
            [
                (
                    community,
                    e.entry_id,
                    e.member,
                    e.account,
                    e.amount,
                    e.action,
                    e.reason,
                    e.event_id,
                    e.subject,
                    e.period,
                    utc(e.at),
                    e.reverses,
                    tag_text(e.tags),
                    e.policy,
                )
                for e in entries
            ],
        )

    def add_counters(self, community: str, deltas: Sequence[tuple[CounterKey, int]]) -> None:
        """Add each delta to its counter, in the database."""
        self._cur.executemany(
            self._sql.add_counters, [(community, *key, delta) for key, delta in deltas]
        )

    def insert_notes(self, community: str, notes: Sequence[Notification]) -> list[int]:
        """Append to the outbox; the seq of each, in order."""
        seqs = []
        for n in notes:
            params = (
                community,
                n.member,
                n.kind,
                _dumps(n.data),
                n.event_id,
                self._utc(n.at),
                int(n.acked),
            )
            seqs.append(int(self._cur.execute(self._sql.insert_note, params).fetchone()[0]))
        return seqs
