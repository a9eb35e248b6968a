"""The tables of :class:`~kudos.stores.sql.SqlStore`, built by :func:`make_metadata`.

Every row carries its ``community``. Constraint and index names are given
explicitly (and short enough for PostgreSQL's 63-character limit with any
accepted prefix), so a host's Alembic autogenerate sees stable names.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import attrs
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from ..errors import InvalidInput, StoreError

__all__ = [
    "BOARD_QUERY_ROWS",
    "BOARD_ROWS",
    "NAMING_CONVENTION",
    "SCHEMA_VERSION",
    "UNRANKED_METRICS",
    "Tables",
    "UtcTimestamp",
    "make_metadata",
    "missing",
    "on_board_index",
    "utc_text",
]

SCHEMA_VERSION = 4
"""The version of the tables this kudos reads and writes (kept in ``<prefix>schema``).

2 added ``<prefix>communities`` (each community's data version). 3 added the
full-text index of similar-topic search (SQLite: the FTS5 table
``<prefix>search_fts`` and its triggers; PostgreSQL: the GIN index
``ix_<prefix>docs_search``). 4 added ``<prefix>policies`` (each community's
policy versions) and the ledger's ``policy`` column (the version that valued
each entry, 1 for entries written before). Older tables are brought to this
version by :meth:`~kudos.stores.sql.SqlStore.create_all` or by a migration
that makes those additions (see the CHANGELOG)."""

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""The naming convention of kudos's ``MetaData``.

Every kudos constraint and index is named explicitly (``pk_kudos_events``,
``ix_kudos_ledger_member``, ...); the convention names whatever a host adds to
the same ``MetaData`` in the same style.
"""

# Matched whole (fullmatch): ``$`` would also match before a final newline.
_PREFIX = re.compile(r"([a-z][a-z0-9_]{0,29})?")
_SCHEMA = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def utc_text(value: datetime) -> str:
    """``value`` as fixed-width UTC ISO-8601 text (a naive datetime is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class UtcTimestamp(TypeDecorator[datetime]):
    """A timezone-aware datetime kept as UTC ISO-8601 text (SQLite has no timestamp type).

    The text has a fixed width (always microseconds, always ``+00:00``), so
    comparing the text compares the instants. Values come back as aware UTC
    datetimes equal to the ones written.
    """

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        """Aware datetime -> fixed-width UTC text (a naive one is taken as UTC)."""
        return None if value is None else utc_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        """UTC text -> aware datetime."""
        return None if value is None else datetime.fromisoformat(value)


def _timestamp() -> TypeEngine[datetime]:
    return DateTime(timezone=True).with_variant(UtcTimestamp(), "sqlite")


def _json() -> TypeEngine[Any]:
    return JSON().with_variant(JSONB(), "postgresql")


def _seq() -> TypeEngine[int]:
    # SQLite numbers rows itself only for a column declared exactly INTEGER PRIMARY KEY.
    return BigInteger().with_variant(Integer(), "sqlite")


UNRANKED_METRICS = (
    "health",
    "people_involved",
    "followers",
    "kudos_given",
    "replies",
    "topics",
    "days_active",
)
"""Counters no board ranks, besides caps (``cap:<account>``): response-health figures, a
topic's or product's people involved and followers (read one by one, or a scope whole), and
a member's own tallies that only their standing and the recognition rules read (kudos
given, replies, topics, days active). Leaderboards rank
:data:`kudos.leaderboards.rules.METRICS` (see :data:`kudos.engine.core.RANKED_COUNTERS`);
a period's close pages through ``points``; idea boards rank ``idea_votes``."""

BOARD_ROWS = "substr(metric, 1, 4) <> 'cap:' AND metric NOT IN ({})".format(
    ", ".join(f"'{m}'" for m in UNRANKED_METRICS)
)
"""The counter rows the board index holds: every row but a cap's and an unranked metric's.

Those rows are among the ones events change most (a cap's count with every capped award,
health figures with every first response) and no board ranks them: left out, an event
moves fewer index entries. A board query names this condition when :func:`on_board_index`
says the board's rows are there, so the planner takes the index; any other board is read
through the primary key's ``(community, scope)`` range and sorted.
"""


BOARD_QUERY_ROWS = f"{BOARD_ROWS} AND metric NOT IN ('health', 'people_involved', 'followers')"
"""What a board query names for the board index: :data:`BOARD_ROWS`, and the second term of
the previous version's condition (which left out fewer metrics). SQLite takes a partial
index only when the query names each term of its condition, so boards read through the
index of either version until :meth:`~kudos.stores.sql.SqlStore.optimize` makes it again."""


def missing(table: Table) -> StoreError:
    """The error for kudos tables that are not there (``table`` first found missing)."""
    return StoreError(
        f"the kudos tables are missing (no table {table.fullname!r}); call "
        "store.create_all() once, or add kudos.stores.sql.metadata to your Alembic "
        "target_metadata and run your migrations"
    )


def on_board_index(metric: str) -> bool:
    """Whether the rows of ``metric``'s boards are in the board index (:data:`BOARD_ROWS`)."""
    return metric[:4] != "cap:" and metric not in UNRANKED_METRICS


def _rows_with(name: str, column: str, *columns: str) -> Index:
    """An index on ``columns`` of the rows whose ``column`` is set.

    Most rows leave these columns empty (a ledger line that reverses nothing, a member's
    rank or privileges without a ref or status), and every lookup names a value
    (``ref = ...``, ``reverses IN (...)``), which implies the condition: rows without one
    cost an event no index entry.
    """
    where = text(f"{column} IS NOT NULL")
    return Index(name, *columns, sqlite_where=where, postgresql_where=where)


@attrs.frozen
class Tables:
    """The kudos tables of one ``MetaData`` (see :func:`make_metadata`)."""

    schema: Table
    communities: Table
    events: Table
    ledger: Table
    docs: Table
    counters: Table
    outbox: Table
    policies: Table

    @classmethod
    def of(cls, metadata: MetaData) -> Tables:
        """Find the kudos tables in ``metadata``, made by :func:`make_metadata`.

        Raises:
            InvalidInput: ``metadata`` was not made by :func:`make_metadata`.
        """
        info = metadata.info.get("kudos")
        if not isinstance(info, dict):
            raise InvalidInput(
                "this MetaData holds no kudos tables; pass one made by "
                "kudos.stores.sql.make_metadata(schema=..., prefix=...)"
            )
        prefix, schema = info["prefix"], info["schema"]

        def table(name: str) -> Table:
            key = f"{schema}.{prefix}{name}" if schema else f"{prefix}{name}"
            return metadata.tables[key]

        return cls(
            schema=table("schema"),
            communities=table("communities"),
            events=table("events"),
            ledger=table("ledger"),
            docs=table("docs"),
            counters=table("counters"),
            outbox=table("outbox"),
            policies=table("policies"),
        )


def make_metadata(*, schema: str | None = None, prefix: str = "kudos_") -> MetaData:
    """A new ``MetaData`` holding kudos's tables, named ``<prefix>events`` and so on.

    Each call builds fresh ``Table`` objects, so several stores (or a host's
    Alembic environment) can use different prefixes and schemas side by side.

    Args:
        schema: the database schema (PostgreSQL) to put the tables in; ``None``
            for the connection's default.
        prefix: prepended to every table, constraint and index name: lower-case
            letters, digits and ``_``, starting with a letter, at most 30
            characters (``""`` for none).

    Raises:
        InvalidInput: the prefix or schema is not a plain identifier.

    >>> sorted(make_metadata(prefix="forum_").tables)  # doctest: +NORMALIZE_WHITESPACE
    ['forum_communities', 'forum_counters', 'forum_docs', 'forum_events', 'forum_ledger',
     'forum_outbox', 'forum_policies', 'forum_schema']
    """
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise InvalidInput(
            f"table prefix {prefix!r} is not usable: use lower-case letters, digits and '_', "
            "starting with a letter, at most 30 characters (e.g. 'kudos_')"
        )
    if schema is not None and (not isinstance(schema, str) or not _SCHEMA.fullmatch(schema)):
        raise InvalidInput(
            f"schema {schema!r} is not a plain identifier; use letters, digits and '_'"
        )
    p = prefix
    md = MetaData(schema=schema, naming_convention=NAMING_CONVENTION)
    md.info["kudos"] = {"prefix": prefix, "schema": schema}

    Table(
        f"{p}schema",
        md,
        Column("id", Integer, nullable=False, autoincrement=False),
        Column("version", Integer, nullable=False),
        PrimaryKeyConstraint("id", name=f"pk_{p}schema"),
        CheckConstraint("id = 1", name="one_row"),
        comment="The version of the kudos tables (one row).",
    )
    Table(
        f"{p}communities",
        md,
        Column("community", String, nullable=False),
        Column("version", BigInteger, nullable=False),
        PrimaryKeyConstraint("community", name=f"pk_{p}communities"),
        comment="Each community's data version: moved by every transaction that writes.",
    )
    Table(
        f"{p}policies",
        md,
        Column("community", String, nullable=False),
        Column("version", Integer, nullable=False),
        Column("content", Text, nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("effective", _timestamp(), nullable=True),
        Column("event_id", String, nullable=True),
        PrimaryKeyConstraint("community", "version", name=f"pk_{p}policies"),
        comment="Each community's policy versions: JSON content, fingerprint, effective time.",
    )
    Table(
        f"{p}events",
        md,
        Column("seq", _seq(), nullable=False, autoincrement=True),
        Column("community", String, nullable=False),
        Column("event_id", String, nullable=False),
        Column("type", String, nullable=False),
        Column("payload", _json(), nullable=False),
        Column("at", _timestamp(), nullable=False),
        PrimaryKeyConstraint("seq", name=f"pk_{p}events"),
        UniqueConstraint("community", "event_id", name=f"uq_{p}events_event_id"),
        Index(f"ix_{p}events_seq", "community", "seq"),
        comment="The event log: every fact reported, once (the source of truth).",
    )
    Table(
        f"{p}ledger",
        md,
        Column("seq", _seq(), nullable=False, autoincrement=True),
        Column("community", String, nullable=False),
        Column("entry_id", String, nullable=False),
        Column("member", String, nullable=False),
        Column("account", String, nullable=False),
        Column("amount", BigInteger, nullable=False),
        Column("action", String, nullable=False),
        Column("reason", Text, nullable=False),
        Column("event_id", String, nullable=False),
        Column("subject", String, nullable=True),
        Column("period", String, nullable=False),
        Column("at", _timestamp(), nullable=False),
        Column("reverses", String, nullable=True),
        Column("tags", _json(), nullable=False),
        Column("policy", Integer, nullable=False, server_default="1"),
        PrimaryKeyConstraint("seq", name=f"pk_{p}ledger"),
        UniqueConstraint("community", "entry_id", name=f"uq_{p}ledger_entry_id"),
        Index(f"ix_{p}ledger_member", "community", "member", "seq"),
        Index(f"ix_{p}ledger_subject", "community", "subject", "seq"),
        Index(f"ix_{p}ledger_event", "community", "event_id", "seq"),
        _rows_with(f"ix_{p}ledger_reverses", "reverses", "community", "reverses"),
        comment="The append-only ledger of points and reputation; reversals are new rows.",
    )
    Table(
        f"{p}docs",
        md,
        Column("community", String, nullable=False),
        Column("kind", String, nullable=False),
        Column("key", String, nullable=False),
        Column("ref", String, nullable=True),
        Column("status", String, nullable=True),
        Column("data", _json(), nullable=False),
        PrimaryKeyConstraint("community", "kind", "key", name=f"pk_{p}docs"),
        _rows_with(f"ix_{p}docs_ref", "ref", "community", "kind", "ref", "key"),
        _rows_with(f"ix_{p}docs_status", "status", "community", "kind", "status", "key"),
        comment="Projection documents (members, posts, votes, badges, ...), rebuildable.",
    )
    Table(
        f"{p}counters",
        md,
        Column("community", String, nullable=False),
        Column("metric", String, nullable=False),
        Column("scope", String, nullable=False),
        Column("subject", String, nullable=False),
        Column("value", BigInteger, nullable=False),
        # One member's counters of a scope sit side by side (a kudos changes a dozen of
        # them); on SQLite the key is the table itself (no rowid B-tree beside it).
        PrimaryKeyConstraint("community", "scope", "subject", "metric", name=f"pk_{p}counters"),
        Index(
            f"ix_{p}counters_board",
            "community",
            "metric",
            "scope",
            "value",
            "subject",
            sqlite_where=text(BOARD_ROWS),
            postgresql_where=text(BOARD_ROWS),
        ),
        comment="Counters and balances by (metric, scope, subject), rebuildable.",
        sqlite_with_rowid=False,
    )
    Table(
        f"{p}outbox",
        md,
        Column("seq", _seq(), nullable=False, autoincrement=True),
        Column("community", String, nullable=False),
        Column("member", String, nullable=False),
        Column("kind", String, nullable=False),
        Column("data", _json(), nullable=False),
        Column("event_id", String, nullable=False),
        Column("at", _timestamp(), nullable=False),
        Column("acked", Boolean, nullable=False),
        PrimaryKeyConstraint("seq", name=f"pk_{p}outbox"),
        Index(f"ix_{p}outbox_seq", "community", "seq"),
        Index(f"ix_{p}outbox_event", "community", "event_id"),
        Index(f"ix_{p}outbox_member", "community", "member", "seq"),
        comment="Notifications to deliver, written with their cause.",
    )
    return md
