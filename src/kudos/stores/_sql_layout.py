"""The kudos tables' layout: whether a database has this version's, and moving it there.

This version keys ``<prefix>counters`` by ``(community, scope, subject, metric)`` (on SQLite a
``WITHOUT ROWID`` table), without the ``(community, subject, scope)`` index of earlier
versions, and keeps partial indexes where most rows would add nothing: the counters' board
index (:data:`~kudos.stores._sql_schema.BOARD_ROWS`), and the documents' ``ref`` and
``status`` and the ledger's ``reverses`` indexes (rows where that column is set). Earlier
tables answer the same, writing more pages per event; :func:`move` brings them here
(:meth:`~kudos.stores.sql.SqlStore.optimize`).

Indexes are read from the database's catalogue (``sqlite_master``; ``pg_index`` with
``pg_get_indexdef``), not through SQLAlchemy's reflection, which skips (with a warning)
indexes on expressions, and whose names it compares as written while SQLite compares them
ignoring case. An index counts as this version's when its definition is the one kudos makes
(columns and condition; on PostgreSQL also built and valid: a failed ``CREATE INDEX
CONCURRENTLY`` leaves an invalid one). PostgreSQL prints the board index's condition in a
form of its own, so there its columns are compared and a condition required.
"""

from __future__ import annotations

import re

import attrs
from sqlalchemy import Connection, Index, MetaData, Table, inspect, text
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from ..errors import StoreError
from ._sql_schema import BOARD_ROWS, Tables

__all__ = ["current", "move"]


@attrs.frozen
class _Found:
    """An index in the database's catalogue."""

    name: str
    table: str
    definition: str  # normalised (see _normal)
    valid: bool  # built and usable (PostgreSQL), a plain B-tree index (not unique)


def _normal(sql: str) -> str:
    """An index definition from its column list on, without case, quotes or blanks."""
    sql = sql[sql.index("(") :] if "(" in sql else sql
    return re.sub(r"[\s\"`\[\]]", "", sql).lower()


def _plain(sql: str) -> bool:
    """Whether an index definition makes a plain B-tree index (not unique, no other method)."""
    head = sql[: sql.index("(")] if "(" in sql else sql
    words = head.lower().split()
    return "unique" not in words and ("using" not in words or "btree" in words)


def _catalogue(conn: Connection, tables: Tables) -> dict[str, _Found]:
    """Every index in the kudos tables' schema, by name in lower case."""
    schema = tables.counters.schema
    if conn.dialect.name == "sqlite":
        master = f"{schema}.sqlite_master" if schema else "sqlite_master"
        rows = conn.execute(
            text(f"SELECT name, tbl_name, coalesce(sql, '') FROM {master} WHERE type = 'index'")
        )
        found = [_Found(str(n), str(t), _normal(str(s)), _plain(str(s))) for n, t, s in rows]
    else:
        rows = conn.execute(
            text(
                "SELECT c.relname, t.relname, pg_get_indexdef(c.oid), "
                "i.indisvalid AND i.indisready AND i.indislive "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_class t ON t.oid = i.indrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = coalesce(CAST(:schema AS text), current_schema())"
            ),
            {"schema": schema},
        )
        found = [
            _Found(str(n), str(t), _normal(str(d)), bool(ok) and _plain(str(d)))
            for n, t, d, ok in rows
        ]
    return {f.name.lower(): f for f in found}


def _wanted(conn: Connection, index: Index) -> tuple[str, bool]:
    """The normalised definition kudos makes ``index`` with, and whether it is compared
    whole (on PostgreSQL the board index's columns only, and that it has a condition)."""
    if conn.dialect.name == "sqlite":
        return _normal(str(CreateIndex(index).compile(dialect=conn.dialect))), True
    where = index.dialect_options["postgresql"]["where"]
    columns = f"({', '.join(c.name for c in index.columns)})"
    if where is None:
        return _normal(columns), True
    condition = str(where)
    if condition == BOARD_ROWS:
        return _normal(columns), False
    return _normal(f"{columns} WHERE ({condition})"), True


def _made_now(conn: Connection, found: _Found | None, table: Table, index: Index) -> bool:
    """Whether ``found`` is ``index`` as kudos makes it, on ``table``."""
    if found is None or not found.valid or found.table.lower() != table.name.lower():
        return False
    definition, whole = _wanted(conn, index)
    if whole:
        return found.definition == definition
    return found.definition.startswith(definition + "where")


def _missing(conn: Connection, tables: Tables) -> None:
    """Raise :class:`StoreError` naming a kudos table that is not there."""
    look = inspect(conn)
    for table in (tables.counters, tables.docs, tables.ledger):
        if not look.has_table(table.name, schema=table.schema):
            raise StoreError(
                f"the kudos tables are missing (no table {table.fullname!r}); call "
                "store.create_all() once, or add kudos.stores.sql.metadata to your Alembic "
                "target_metadata and run your migrations"
            )


def _earlier_subject_index(tables: Tables) -> str:
    """The name of the ``(community, subject, scope)`` index of the earlier layout."""
    return f"ix_{tables.counters.name}_subject"


def _counters_key(conn: Connection, tables: Tables) -> str | None:
    """``None`` when the counters table has this version's key, else the name of the key
    it has (``""`` for none)."""
    counters = tables.counters
    key = inspect(conn).get_pk_constraint(counters.name, schema=counters.schema)
    if key.get("constrained_columns") == [c.name for c in counters.primary_key.columns]:
        return None
    return str(key.get("name") or "")


def _counters_current(conn: Connection, tables: Tables, found: dict[str, _Found]) -> bool:
    """Whether the counters table has this version's key, and not the earlier subject index
    (on SQLite: and no rowid). Its board index is looked at with the other partial indexes
    (:func:`_stale`), the host's own indexes not at all."""
    counters = tables.counters
    if _counters_key(conn, tables) is not None:
        return False
    if _earlier_subject_index(tables).lower() in found:
        return False
    if conn.dialect.name == "sqlite":
        schema = counters.schema
        master = f"{schema}.sqlite_master" if schema else "sqlite_master"
        ddl = conn.execute(
            text(f"SELECT sql FROM {master} WHERE type = 'table' AND name = :n"),
            {"n": counters.name},
        ).scalar()
        return "WITHOUT ROWID" in str(ddl).upper()
    return True


def _stale(conn: Connection, tables: Tables, found: dict[str, _Found]) -> list[tuple[Table, Index]]:
    """kudos's partial indexes (with their tables) that are not as this version makes them:
    missing, holding every row (earlier versions), or else."""
    return [
        (table, index)
        for table in (tables.counters, tables.docs, tables.ledger)
        for index in sorted(table.indexes, key=lambda ix: str(ix.name))
        if index.dialect_options[conn.dialect.name]["where"] is not None
        and not _made_now(conn, found.get(str(index.name).lower()), table, index)
    ]


def current(conn: Connection, tables: Tables) -> bool:
    """Whether the tables are in this version's layout.

    Raises:
        StoreError: a kudos table is missing.
    """
    _missing(conn, tables)
    found = _catalogue(conn, tables)
    return _counters_current(conn, tables, found) and not _stale(conn, tables, found)


def move(conn: Connection, tables: Tables) -> bool:
    """Bring the tables to this version's layout, in ``conn``'s transaction; whether
    anything changed.

    Raises:
        StoreError: a kudos table is missing, or an index of another table has the name
            of one kudos makes (nothing is changed then).
    """
    _missing(conn, tables)
    found = _catalogue(conn, tables)
    moved = False
    if not _counters_current(conn, tables, found):
        if conn.dialect.name == "postgresql":
            _move_in_place(conn, tables, found)
        else:
            _move_by_copy(conn, tables, found)
        moved = True
        found = _catalogue(conn, tables)
    for table, index in _stale(conn, tables, found):
        _remake(conn, table, index, found.get(str(index.name).lower()))
        moved = True
    return moved


def _quoted(conn: Connection, table: Table, name: str) -> str:
    """``name`` quoted, in ``table``'s schema."""
    prepare = conn.dialect.identifier_preparer
    schema = f"{prepare.quote_schema(table.schema)}." if table.schema else ""
    return schema + prepare.quote(name)


def _remake(conn: Connection, table: Table, index: Index, found: _Found | None) -> None:
    """Make ``index`` again. On PostgreSQL it is built under a new name first, then put in
    the old one's place: reads of the table wait only for the swap, not the build."""
    if found is not None and found.table.lower() != table.name.lower():
        raise StoreError(
            f"an index named {found.name!r} is on table {found.table!r}; kudos makes an index "
            f"of that name on {table.name!r}: rename or drop the other one"
        )
    if conn.dialect.name != "postgresql":
        if found is not None:
            conn.execute(text(f"DROP INDEX {_quoted(conn, table, found.name)}"))
        index.create(conn)
        return
    prepare = conn.dialect.identifier_preparer
    name = prepare.quote(str(index.name))
    building = f"{index.name}_new"
    made = str(CreateIndex(index).compile(dialect=conn.dialect))
    conn.execute(text(f"DROP INDEX IF EXISTS {_quoted(conn, table, building)}"))
    conn.execute(text(made.replace(f"INDEX {name} ON", f"INDEX {prepare.quote(building)} ON", 1)))
    if found is not None:
        conn.execute(text(f"DROP INDEX {_quoted(conn, table, found.name)}"))
    conn.execute(text(f"ALTER INDEX {_quoted(conn, table, building)} RENAME TO {name}"))


def _kudos_counter_indexes(tables: Tables) -> set[str]:
    """kudos's own index names on the counters table, of this layout and the earlier, in
    lower case."""
    names = {str(ix.name) for ix in tables.counters.indexes} | {_earlier_subject_index(tables)}
    return {name.lower() for name in names}


def _move_in_place(conn: Connection, tables: Tables, found: dict[str, _Found]) -> None:
    """PostgreSQL: a new key on the same table (grants, views stay), without the earlier
    subject index; the board index is made again with the other partial indexes."""
    counters = tables.counters
    table = conn.dialect.identifier_preparer.format_table(counters)
    key = _counters_key(conn, tables)
    if key is not None:
        if key:
            name = conn.dialect.identifier_preparer.quote(key)
            conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
        conn.execute(AddConstraint(counters.primary_key))
    there = found.get(_earlier_subject_index(tables).lower())
    if there is not None and there.table.lower() == counters.name.lower():
        conn.execute(text(f"DROP INDEX {_quoted(conn, counters, there.name)}"))


def _move_by_copy(conn: Connection, tables: Tables, found: dict[str, _Found]) -> None:
    """SQLite: copy the rows into a new table (a rowid table cannot lose its rowid), as
    SQLite's documented procedure for table changes: the host's own indexes and
    triggers on the table, and the views and triggers that name it, are made again."""
    counters = tables.counters
    prepare = conn.dialect.identifier_preparer
    schema = counters.schema
    master = f"{schema}.sqlite_master" if schema else "sqlite_master"
    ours = _kudos_counter_indexes(tables)
    others = [
        (kind, name, sql)
        for kind, name, table, sql in conn.execute(
            text(f"SELECT type, name, tbl_name, sql FROM {master} WHERE sql IS NOT NULL")
        )
        if name.lower() not in ours
        and (
            (table.lower() == counters.name.lower() and kind in ("index", "trigger"))
            or (kind in ("view", "trigger") and counters.name.lower() in sql.lower())
        )
    ]
    for kind, name, _ in others:
        if kind in ("view", "trigger"):
            conn.execute(text(f"DROP {kind.upper()} IF EXISTS {_quoted(conn, counters, name)}"))
    for name in sorted(ours):  # kudos's names on another table would collide below
        there = found.get(name)
        if there is not None and there.table.lower() != counters.name.lower():
            raise StoreError(
                f"an index named {there.name!r} is on table {there.table!r}; kudos makes an "
                f"index of that name on {counters.name!r}: rename or drop the other one"
            )
    new = f"{counters.name}_new"
    copy = counters.to_metadata(MetaData(schema=counters.schema), name=new)
    conn.execute(CreateTable(copy))
    columns = ", ".join(prepare.quote(c.name) for c in counters.columns)
    table, made = prepare.format_table(counters), prepare.format_table(copy)
    conn.execute(text(f"INSERT INTO {made} ({columns}) SELECT {columns} FROM {table}"))
    conn.execute(text(f"DROP TABLE {table}"))
    conn.execute(text(f"ALTER TABLE {made} RENAME TO {prepare.quote(counters.name)}"))
    for index in counters.indexes:
        index.create(conn)
    for _, _, sql in others:
        conn.exec_driver_sql(sql)  # as the host wrote it (no bound parameters in it)
