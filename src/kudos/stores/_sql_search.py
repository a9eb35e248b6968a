"""Full-text search of the ``search`` documents in the database's own engine.

* **SQLite**: an FTS5 table ``<prefix>search_fts`` holds the ``text`` of every
  ``search`` document under the document row's ``rowid``; triggers on
  ``<prefix>docs`` keep it current (so every write path, ``executemany``
  upserts and projection replacement included, keeps it without kudos code).
* **PostgreSQL**: a GIN index ``ix_<prefix>docs_search`` on
  ``to_tsvector('simple', data->>'text')`` of the ``search`` documents; a
  search looks each word up in it and ranks by how many words a topic has.

Both are made by :meth:`~kudos.stores.sql.SqlStore.create_all` (tables of an
older version are upgraded). Without them (tables made by a host's migrations
that left them out) a search still answers: PostgreSQL evaluates the same
expression row by row, SQLite reads the documents and matches in Python.

Queries are only ever built from words of letters and digits (see
:func:`~kudos.stores.protocol.search_terms`), passed as bound parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, text

from ..model import Doc
from ._sql_schema import Tables
from .protocol import SEARCH_KIND

__all__ = [
    "drop_statements",
    "has_index",
    "include_name",
    "install",
    "make_statements",
    "search",
]

_SHADOWS = ("data", "idx", "content", "docsize", "config")  # the tables FTS5 keeps an index in
_FTS_TABLES = ("search_fts", *(f"search_fts_{shadow}" for shadow in _SHADOWS))


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: leave out kudos's full-text search index.

    SQLite keeps an FTS5 index as a virtual table and five tables of its own, and
    PostgreSQL's is a GIN index on an expression; no ``MetaData`` declares them
    for both databases, and :meth:`~kudos.stores.sql.SqlStore.create_all` makes
    them. Pass ``include_name=kudos.stores.sql.include_name`` to
    ``context.configure(...)`` so autogenerate does not offer to drop them
    (combine it with your own hook by calling it first). Everything else is included.
    """
    if name is None:
        return True
    if type_ == "index":
        return not name.endswith("docs_search")
    return type_ != "table" or not any(name.endswith(table) for table in _FTS_TABLES)


def _names(conn: Connection | Dialect, tables: Tables) -> tuple[str, str, str]:
    """(quoted docs table, quoted FTS table, bare FTS table name) for ``tables``."""
    dialect = conn if isinstance(conn, Dialect) else conn.dialect
    quote = dialect.identifier_preparer
    docs = quote.format_table(tables.docs)
    bare = f"{tables.docs.name.removesuffix('docs')}search_fts"
    schema = tables.docs.schema
    fts = (quote.quote_schema(schema) + "." if schema else "") + quote.quote(bare)
    return docs, fts, bare


def _index_name(tables: Tables) -> str:
    return f"ix_{tables.docs.name}_search"


TSVECTOR = "to_tsvector('simple'::regconfig, (data ->> 'text'))"
"""The PostgreSQL expression the GIN index is on (a query must use it verbatim)."""


def install(conn: Connection, tables: Tables) -> None:
    """Create the full-text index of the ``search`` documents if it is missing."""
    if not has_index(conn, tables):
        for sql in make_statements(conn.dialect, tables):
            conn.exec_driver_sql(sql)


def has_index(conn: Connection, tables: Tables) -> bool:
    """Whether ``conn``'s database has the full-text index of ``tables``."""
    _, _, bare = _names(conn, tables)
    if conn.dialect.name != "postgresql":
        return _has_fts(conn, tables, bare)
    name = _qualified(conn.dialect, tables, _index_name(tables))
    return conn.exec_driver_sql("SELECT to_regclass(%(n)s)", {"n": name}).scalar() is not None


def make_statements(dialect: Dialect, tables: Tables) -> list[str]:
    """The SQL that makes the full-text index of ``tables`` on ``dialect``'s database:
    PostgreSQL's GIN index, or SQLite's FTS5 table, its three triggers and the words
    of the documents already there (what :func:`install` runs when it is missing, and
    what an Alembic migration gets)."""
    docs, fts, bare = _names(dialect, tables)
    quote = dialect.identifier_preparer
    if dialect.name == "postgresql":
        return [
            f"CREATE INDEX IF NOT EXISTS {quote.quote(_index_name(tables))} ON {docs} "
            f"USING gin ({TSVECTOR}) WHERE kind = '{SEARCH_KIND}'"
        ]
    kind = f"'{SEARCH_KIND}'"
    text_of = "json_extract({}.data, '$.text')"
    # A trigger lives in its table's database (an attached one too: its name takes the
    # schema) and names that database's tables unqualified, as SQLite requires.
    on, into = quote.quote(tables.docs.name), quote.quote(bare)
    triggers = {
        "ai": f"AFTER INSERT ON {on} WHEN new.kind = {kind} BEGIN "
        f"INSERT INTO {into}(rowid, text) VALUES (new.rowid, {text_of.format('new')}); END",
        "ad": f"AFTER DELETE ON {on} WHEN old.kind = {kind} BEGIN "
        f"DELETE FROM {into} WHERE rowid = old.rowid; END",
        "au": f"AFTER UPDATE ON {on} WHEN old.kind = {kind} BEGIN "
        f"DELETE FROM {into} WHERE rowid = old.rowid; "
        f"INSERT INTO {into}(rowid, text) VALUES (new.rowid, {text_of.format('new')}); END",
    }
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(text, tokenize='unicode61 remove_diacritics 0')",
        *(
            f"CREATE TRIGGER IF NOT EXISTS {_qualified(dialect, tables, f'{bare}_{suffix}')} {body}"
            for suffix, body in triggers.items()
        ),
        f"INSERT INTO {fts}(rowid, text) SELECT rowid, {text_of.format(docs)} FROM {docs} "
        f"WHERE kind = {kind}",
    ]


def drop_statements(dialect: Dialect, tables: Tables) -> list[str]:
    """The SQL that drops what :func:`make_statements` makes (a migration's downgrade)."""
    _, fts, bare = _names(dialect, tables)
    if dialect.name == "postgresql":
        return [f"DROP INDEX IF EXISTS {_qualified(dialect, tables, _index_name(tables))}"]
    triggers = [
        f"DROP TRIGGER IF EXISTS {_qualified(dialect, tables, f'{bare}_{suffix}')}"
        for suffix in ("ai", "ad", "au")
    ]
    return [*triggers, f"DROP TABLE IF EXISTS {fts}"]


def _qualified(dialect: Dialect, tables: Tables, name: str) -> str:
    """``name`` quoted, in the schema of ``tables``."""
    quote = dialect.identifier_preparer
    schema = tables.docs.schema
    return (quote.quote_schema(schema) + "." if schema else "") + quote.quote(name)


def _has_fts(conn: Connection, tables: Tables, bare: str) -> bool:
    """Whether the SQLite database of ``tables`` (an attached one too) has the FTS table."""
    master = _qualified(conn.dialect, tables, "sqlite_master")
    row = conn.exec_driver_sql(
        f"SELECT 1 FROM {master} WHERE type = 'table' AND name = ?", (bare,)
    ).first()
    return row is not None


def statement(
    conn: Connection, tables: Tables, terms: Sequence[str]
) -> tuple[Any, dict[str, str]] | None:
    """The full-text query of ``terms`` and its term parameters (``:c`` community,
    ``:n`` limit); ``None`` when this database has no full-text index to ask.

    Candidates come in the order of :func:`~kudos.stores.protocol.best_candidates`
    (terms matched, then solved, then newest, then key), on both databases."""
    docs, fts, bare = _names(conn, tables)
    params = {f"t{i}": term for i, term in enumerate(terms)}
    # One index look-up per word; a topic's rank is how many of the words it has.
    if conn.dialect.name == "postgresql":
        look_up = (
            f"SELECT key AS k FROM {docs} WHERE community = :c AND kind = '{SEARCH_KIND}' "
            f"AND {TSVECTOR} @@ to_tsquery('simple'::regconfig, :{{p}})"
        )
        join = f"{docs} AS d ON d.community = :c AND d.kind = '{SEARCH_KIND}' AND d.key = h.k"
        field = "(d.data ->> '{}')"
        key = 'd.key COLLATE "C"'
    else:
        if not _has_fts(conn, tables, bare):
            return None
        # The left of MATCH is the table's own name: a schema-qualified one reads as a column.
        own = conn.dialect.identifier_preparer.quote(bare)
        look_up = f"SELECT rowid AS k FROM {fts} WHERE {own} MATCH :{{p}}"
        join = f"{docs} AS d ON d.rowid = h.k AND d.community = :c AND d.kind = '{SEARCH_KIND}'"
        field = "json_extract(d.data, '$.{}')"
        key = "d.key"
        params = {p: f'"{term}"' for p, term in params.items()}
    hits = " UNION ALL ".join(look_up.format(p=p) for p in params)
    solved, posted = field.format("solution"), field.format("posted_at")
    stmt = text(
        f"WITH hits AS ({hits}), counted AS (SELECT k, count(*) AS r FROM hits GROUP BY k) "
        f"SELECT d.kind, d.key, d.ref, d.status, d.data FROM counted AS h JOIN {join} "
        f"ORDER BY h.r DESC, ({solved} IS NOT NULL) DESC, {posted} DESC, {key} LIMIT :n"
    )
    return stmt, params


def search(
    conn: Connection, tables: Tables, community: str, terms: Sequence[str], limit: int
) -> list[Doc] | None:
    """The best ``limit`` search documents with any of ``terms``; ``None`` when this
    database has no full-text index to ask (the caller matches by itself)."""
    if not terms:
        return []
    found = statement(conn, tables, terms)
    if found is None:
        return None
    stmt, params = found
    rows = conn.execute(stmt, {"c": community, "n": limit, **params})
    out = []
    for r in rows:
        data = r.data
        if isinstance(data, str):
            data = json.loads(data)
        out.append(Doc(kind=r.kind, key=r.key, data=data, ref=r.ref, status=r.status))
    return out
