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
form of its own, so there the names it lists are compared.
"""

from __future__ import annotations

import re

import attrs
from sqlalchemy import Connection, Index, MetaData, Table, inspect, text
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from ..errors import StoreError
from ._sql_schema import BOARD_ROWS, Tables, missing

__all__ = ["current", "move"]


@attrs.frozen
class _Found:
    """An index in the database's catalogue."""

    name: str
    table: str
    definition: str  # normalised (see _normal)
    valid: bool  # built and usable (PostgreSQL), a plain B-tree index (not unique)


def _normal(sql: str) -> str:
    """An index definition from its column list on, without case, quotes or blanks outside
    its string literals (``'CAP:'`` is not ``'cap:'``)."""
    sql = sql[sql.index("(") :] if "(" in sql else sql
    return "".join(
        part if part.startswith("'") else re.sub(r"[\s\"`\[\]]", "", part).lower()
        for part in re.split(r"('[^']*')", sql)
    )


def _plain(sql: str) -> bool:
    """Whether an index definition makes a plain B-tree index (not unique, no other method)."""
    head = sql[: sql.index("(")] if "(" in sql else sql
    words = head.lower().split()
    return "unique" not in words and ("using" not in words or "btree" in words)


def _laid_out(tables: Tables) -> tuple[Table, Table, Table]:
    """The tables whose layout this module keeps: counters, documents, ledger."""
    return tables.counters, tables.docs, tables.ledger


def _master(tables: Tables) -> str:
    """SQLite's catalogue of the kudos tables' schema."""
    schema = tables.counters.schema
    return f"{schema}.sqlite_master" if schema else "sqlite_master"


def _key(conn: Connection, name: str) -> str:
    """How the database tells index names apart: SQLite ignores case, PostgreSQL does not
    (kudos's names are in lower case, so unquoted names typed in capitals match both)."""
    return name.lower() if conn.dialect.name == "sqlite" else name


def _names(tables: Tables) -> set[str]:
    """The names of kudos's indexes, of this layout and the earlier, and of the ones it
    builds before a swap (``<name>_new``)."""
    names = {str(index.name) for table in _laid_out(tables) for index in table.indexes}
    names.add(_earlier_subject_index(tables))
    return names | {f"{name}_new" for name in names}


def _catalogue(conn: Connection, tables: Tables) -> dict[str, _Found]:
    """The indexes of the kudos tables, and those elsewhere in their schema under a name of
    kudos's indexes, by name (see :func:`_key`)."""
    ours = {t.name for t in _laid_out(tables)}
    names = _names(tables)
    if conn.dialect.name == "sqlite":
        rows = conn.execute(
            text(
                f"SELECT name, tbl_name, coalesce(sql, '') FROM {_master(tables)} "
                "WHERE type = 'index'"
            )
        )
        lower = {n.lower() for n in ours}, {n.lower() for n in names}
        found = [
            _Found(str(n), str(t), _normal(str(s)), _plain(str(s)))
            for n, t, s in rows
            if str(t).lower() in lower[0] or str(n).lower() in lower[1]
        ]
    else:
        # The tables as the application's queries find them (its search path), and kudos's
        # index names in the schema of the counters table.
        table = conn.dialect.identifier_preparer.format_table
        rows = conn.execute(
            text(
                "SELECT c.relname, t.relname, pg_get_indexdef(c.oid), "
                "i.indisvalid AND i.indisready AND i.indislive "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_class t ON t.oid = i.indrelid "
                "WHERE i.indrelid IN (to_regclass(:counters), to_regclass(:docs), "
                "to_regclass(:ledger)) OR (c.relname = ANY(:names) AND c.relnamespace = "
                "(SELECT relnamespace FROM pg_class WHERE oid = to_regclass(:counters)))"
            ),
            {
                "counters": table(tables.counters),
                "docs": table(tables.docs),
                "ledger": table(tables.ledger),
                "names": sorted(names),
            },
        )
        found = [
            _Found(str(n), str(t), _normal(str(d)), bool(ok) and _plain(str(d)))
            for n, t, d, ok in rows
        ]
    return {_key(conn, f.name): f for f in found}


def _on(conn: Connection, found: _Found, table: Table) -> bool:
    """Whether the index ``found`` is on ``table``."""
    return _key(conn, found.table) == _key(conn, table.name)


def _literals(sql: str) -> list[str]:
    """The string literals in ``sql``, sorted."""
    return sorted(re.findall(r"'([^']*)'", sql))


def _made_now(conn: Connection, found: _Found | None, table: Table, index: Index) -> bool:
    """Whether ``found`` is ``index`` as kudos makes it, on ``table``.

    On PostgreSQL the board index's condition is compared by the names it lists (PostgreSQL
    prints ``NOT IN (...)`` as ``<> ALL (ARRAY[...])``, with casts of its own); every other
    definition is compared whole.
    """
    if found is None or not found.valid or not _on(conn, found, table):
        return False
    if conn.dialect.name == "sqlite":
        return found.definition == _normal(str(CreateIndex(index).compile(dialect=conn.dialect)))
    where = index.dialect_options["postgresql"]["where"]
    columns = f"({', '.join(c.name for c in index.columns)})"
    if where is None:
        return found.definition == _normal(columns)
    if str(where) == BOARD_ROWS:
        head = _normal(columns) + "where"
        return found.definition.startswith(head) and _literals(found.definition) == _literals(
            _normal(BOARD_ROWS)
        )
    return found.definition == _normal(f"{columns} WHERE ({where})")


def _missing(conn: Connection, tables: Tables) -> None:
    """Raise :class:`StoreError` naming a kudos table that is not there."""
    look = inspect(conn)
    for table in _laid_out(tables):
        if not look.has_table(table.name, schema=table.schema):
            raise missing(table)


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
    there = found.get(_key(conn, _earlier_subject_index(tables)))
    if there is not None and _on(conn, there, counters):
        return False
    if conn.dialect.name == "sqlite":
        ddl = conn.execute(
            text(f"SELECT sql FROM {_master(tables)} WHERE type = 'table' AND name = :n"),
            {"n": counters.name},
        ).scalar()
        return "WITHOUT ROWID" in str(ddl).upper()
    return True


def _stale(conn: Connection, tables: Tables, found: dict[str, _Found]) -> list[tuple[Table, Index]]:
    """kudos's partial indexes (with their tables) that are not as this version makes them:
    missing, holding every row (earlier versions), or else."""
    return [
        (table, index)
        for table in _laid_out(tables)
        for index in sorted(table.indexes, key=lambda ix: str(ix.name))
        if index.dialect_options[conn.dialect.name]["where"] is not None
        and not _made_now(conn, found.get(_key(conn, str(index.name))), table, index)
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
        _remake(conn, table, index, found)
        moved = True
    return moved


def _quoted(conn: Connection, table: Table, name: str) -> str:
    """``name`` quoted, in ``table``'s schema."""
    prepare = conn.dialect.identifier_preparer
    schema = f"{prepare.quote_schema(table.schema)}." if table.schema else ""
    return schema + prepare.quote(name)


def _claimed(conn: Connection, table: Table, name: str, found: dict[str, _Found]) -> _Found | None:
    """The index named ``name`` (on ``table``), or ``None``.

    Raises:
        StoreError: an index of that name is on another table.
    """
    there = found.get(_key(conn, name))
    if there is not None and not _on(conn, there, table):
        raise StoreError(
            f"an index named {there.name!r} is on table {there.table!r}; kudos makes an index "
            f"of that name on {table.name!r}: rename or drop the other one"
        )
    return there


def _remake(conn: Connection, table: Table, index: Index, found: dict[str, _Found]) -> None:
    """Make ``index`` again. On PostgreSQL it is built under a new name first, then put in
    the old one's place: reads of the table wait only for the swap, not the build."""
    old = _claimed(conn, table, str(index.name), found)
    if conn.dialect.name != "postgresql":
        if old is not None:
            conn.execute(text(f"DROP INDEX {_quoted(conn, table, old.name)}"))
        index.create(conn)
        return
    prepare = conn.dialect.identifier_preparer
    name = prepare.quote(str(index.name))
    building = f"{index.name}_new"
    if _claimed(conn, table, building, found) is not None:  # left by a move that failed
        conn.execute(text(f"DROP INDEX {_quoted(conn, table, building)}"))
    made = str(CreateIndex(index).compile(dialect=conn.dialect))
    conn.execute(text(made.replace(f"INDEX {name} ON", f"INDEX {prepare.quote(building)} ON", 1)))
    if old is not None:
        conn.execute(text(f"DROP INDEX {_quoted(conn, table, old.name)}"))
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
    there = found.get(_key(conn, _earlier_subject_index(tables)))
    if there is not None and _on(conn, there, counters):
        conn.execute(text(f"DROP INDEX {_quoted(conn, counters, there.name)}"))


def _move_by_copy(conn: Connection, tables: Tables, found: dict[str, _Found]) -> None:
    """SQLite: copy the rows into a new table (a rowid table cannot lose its rowid), as
    SQLite's documented procedure for table changes: the host's own indexes and triggers on
    the table, the views and triggers that name it, and the views and triggers that name
    those, are made again from their SQL, in the order they were made.

    Raises:
        StoreError: foreign keys are on and a table refers to the counters table (dropping
            it would act on the rows that refer to it), or an index of another table has
            the name of the board index.
    """
    counters = tables.counters
    prepare = conn.dialect.identifier_preparer
    master = _master(tables)
    pragma = f"{prepare.quote_schema(counters.schema)}." if counters.schema else ""
    if conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
        for (other,) in conn.execute(text(f"SELECT name FROM {master} WHERE type = 'table'")):
            refs = conn.exec_driver_sql(f"PRAGMA {pragma}foreign_key_list({prepare.quote(other)})")
            if any(str(r[2]).lower() == counters.name.lower() for r in refs):
                raise StoreError(
                    f"table {other!r} refers to {counters.name!r} by a foreign key, and foreign "
                    "keys are on: moving the table would act on its rows. Run optimize() on a "
                    "connection with PRAGMA foreign_keys=OFF (kudos rewrites its counters at "
                    "every rebuild too: better no foreign key refers to them)"
                )
    for index in counters.indexes:
        _claimed(conn, counters, str(index.name), found)
    ours = _kudos_counter_indexes(tables)
    everything = list(
        conn.execute(text(f"SELECT type, name, tbl_name, sql FROM {master} WHERE sql IS NOT NULL"))
    )
    named = {counters.name.lower()}  # the table, and the views that read it
    picked: set[str] = set()
    grew = True
    while grew:
        grew = False
        for kind, name, table, sql in everything:
            if name in picked or name.lower() in ours:
                continue
            if (table.lower() == counters.name.lower() and kind in ("index", "trigger")) or (
                kind in ("view", "trigger") and any(n in sql.lower() for n in named)
            ):
                picked.add(name)
                if kind == "view":
                    named.add(name.lower())
                grew = True
    # In the order they were made, so that a view is made again after what it reads.
    others = [(kind, name, sql) for kind, name, _, sql in everything if name in picked]
    for kind, name, _ in reversed(others):  # views on views first
        if kind in ("view", "trigger"):
            conn.execute(text(f"DROP {kind.upper()} IF EXISTS {_quoted(conn, counters, name)}"))
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
