"""Alembic autogenerate support: kudos's column types written as plain SQLAlchemy types.

Alembic writes a column type into a migration as the Python that built it. Two of
kudos's column types do not survive that: the SQLite timestamp is a private
``TypeDecorator`` (rendered under a module path the migration never imports, and one
kudos may move), and PostgreSQL's ``JSONB`` renders as ``JSONB(astext_type=Text())``
with ``Text`` unimported. :func:`render_item` writes them as the plain SQLAlchemy
types that give the same DDL, so a migration runs as generated and never imports kudos.

The full-text index of similar-topic search is no ``MetaData`` object (SQLite's is an
FTS5 table with triggers, PostgreSQL's a GIN index on an expression):
:func:`process_revision_directives` adds the SQL that makes it to a migration when the
database lacks it, and :func:`~kudos.stores.sql.include_name` keeps autogenerate from
dropping it.

This module imports nothing from Alembic: the core does not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Dialect, MetaData
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine

from . import _sql_search
from ._sql_schema import Tables, UtcTimestamp, _json, _seq, _timestamp

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.migration import MigrationContext
    from alembic.operations.ops import MigrationScript

__all__ = ["process_revision_directives", "render_item"]

_Shape = tuple[tuple[str, str, str], ...]


def _variants(type_: TypeEngine[Any]) -> dict[str, TypeEngine[Any]]:
    # The same (SQLAlchemy-private) mapping Alembic itself reads to render variants.
    mapping: dict[str, TypeEngine[Any]] = getattr(type_, "_variant_mapping", {})
    return mapping


def _shape(type_: TypeEngine[Any]) -> _Shape:
    """What a type is, variants included, in comparable form."""
    parts = [("", type_), *sorted(_variants(type_).items())]
    return tuple(
        (dialect, f"{type(t).__module__}.{type(t).__qualname__}", repr(t)) for dialect, t in parts
    )


@cache
def _kudos_shapes() -> frozenset[_Shape]:
    """The shapes of the column types kudos's tables use that are not a single plain type."""
    return frozenset(_shape(make()) for make in (_timestamp, _json, _seq))


def _plain(type_: TypeEngine[Any], autogen_context: AutogenContext) -> str:
    """``type_`` (no variants) as Python that builds a plain SQLAlchemy type of the same DDL."""
    if isinstance(type_, UtcTimestamp):
        type_ = type_.impl_instance  # the TypeDecorator only converts values; the DDL is its impl's
    sa = autogen_context.opts["sqlalchemy_module_prefix"] or ""
    module = type(type_).__module__
    if module.startswith("sqlalchemy.dialects."):
        dialect = module.split(".")[2]
        if autogen_context.imports is not None:
            autogen_context.imports.add(f"from sqlalchemy.dialects import {dialect}")
        prefix = f"{dialect}."
    else:
        prefix = sa
    text = repr(type_)
    astext = getattr(type_, "astext_type", None)  # PostgreSQL JSON/JSONB name a core type bare
    if isinstance(astext, TypeEngine):
        text = text.replace(f"astext_type={astext!r}", f"astext_type={sa}{astext!r}")
    return prefix + text


def render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Alembic's ``render_item`` hook: write kudos's column types as plain SQLAlchemy types.

    Pass it to ``context.configure(..., render_item=render_item)`` in your Alembic
    ``env.py``. It renders the types of kudos's tables (from
    :data:`~kudos.stores.sql.metadata` or :func:`~kudos.stores.sql.make_metadata`) as
    ``sa.``/``postgresql.`` types with the same DDL, and adds the imports they need
    to the migration, for example::

        sa.DateTime(timezone=True).with_variant(sa.String(length=32), 'sqlite')
        sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

    For anything else it returns ``False``, so Alembic renders your own types as
    usual. To combine it with a ``render_item`` of your own, try kudos's first::

        def render_item(type_, obj, autogen_context):
            rendered = kudos.stores.sql.render_item(type_, obj, autogen_context)
            if rendered is not False:
                return rendered
            ...  # your own rendering, or
            return False

    Args:
        type_: what Alembic is rendering (``"type"``, ``"column"``, ...).
        obj: the object being rendered (a SQLAlchemy type when ``type_ == "type"``).
        autogen_context: Alembic's ``AutogenContext``.

    Returns:
        The Python source of the type, or ``False`` to let Alembic render ``obj``.
    """
    if type_ != "type" or not isinstance(obj, TypeEngine):
        return False
    if isinstance(obj, UtcTimestamp):
        return _plain(obj, autogen_context)
    if not _variants(obj) or _shape(obj) not in _kudos_shapes():
        return False
    rendered = _plain(obj, autogen_context)
    for dialect, variant in sorted(_variants(obj).items()):
        rendered += f".with_variant({_plain(variant, autogen_context)}, {dialect!r})"
    return rendered


def _kudos_metadata(target: object) -> list[MetaData]:
    """The ``MetaData`` objects made by ``make_metadata`` in Alembic's ``target_metadata``."""
    found = target if isinstance(target, list | tuple) else [target]
    return [md for md in found if isinstance(md, MetaData) and "kudos" in md.info]


def _dialect_sql(tables: Tables, statements: Callable[[Dialect, Tables], list[str]]) -> str:
    """Migration code running ``statements`` for the database the migration runs on, so a
    migration generated against SQLite still runs on PostgreSQL and the other way round."""
    branches = []
    dialects: list[Dialect] = [postgresql.dialect(), sqlite.dialect()]  # type: ignore[no-untyped-call]
    for dialect in dialects:
        name = dialect.name
        calls = "".join(f"\n    op.execute({sql!r})" for sql in statements(dialect, tables))
        branches.append(f'if op.get_bind().dialect.name == "{name}":{calls}')
    return "\n".join(branches)


@cache
def _search_op() -> type[Any]:
    """An Alembic operation rendered as :func:`_dialect_sql` (defined on first use, so that
    importing kudos never imports Alembic)."""
    from alembic.autogenerate import renderers
    from alembic.operations import ops

    class SearchIndexOp(ops.MigrateOperation):
        def __init__(self, code: str) -> None:
            self.code = code

    @renderers.dispatch_for(SearchIndexOp)
    def _render(autogen_context: AutogenContext, op: SearchIndexOp) -> str:
        return op.code

    return SearchIndexOp


def process_revision_directives(
    context: MigrationContext, revision: object, directives: list[MigrationScript]
) -> None:
    """Alembic's ``process_revision_directives`` hook: add kudos's full-text index to a
    migration when the database lacks it.

    No ``MetaData`` can declare the index similar-topic search uses (SQLite: an FTS5
    table kept by triggers on ``<prefix>docs``; PostgreSQL: a GIN index on
    ``to_tsvector('simple', data->>'text')``), so autogenerate alone never makes it.
    Pass this to ``context.configure(...)`` in ``run_migrations_online()``: for each
    kudos ``MetaData`` in ``target_metadata`` whose index the database does not have,
    the autogenerated ``upgrade()`` ends with the statements
    :meth:`~kudos.stores.sql.SqlStore.create_all` runs (filling the index from
    documents already there), and ``downgrade()`` starts by dropping it; both as
    ``op.execute(...)`` for PostgreSQL and for SQLite, chosen by the database the
    migration runs on. Once the database has the index nothing is added, so the
    next autogenerate is empty. Use it with :func:`~kudos.stores.sql.include_name`,
    which keeps autogenerate from offering to drop the index. A revision made
    without a database connection (offline) is left as it is.

    To combine it with a hook of your own, call it first::

        def process_revision_directives(context, revision, directives):
            kudos.stores.sql.process_revision_directives(context, revision, directives)
            ...  # your own rewriting

    Args:
        context: Alembic's ``MigrationContext`` (its connection is asked what exists).
        revision: the revision being made (unused).
        directives: the ``MigrationScript`` objects Alembic is about to write; their
            ``upgrade_ops`` and ``downgrade_ops`` are extended in place.
    """
    conn = context.connection
    if conn is None:
        return
    op = _search_op()
    for md in _kudos_metadata(context.opts.get("target_metadata")):
        tables = Tables.of(md)
        if _sql_search.has_index(conn, tables):
            continue
        for script in directives:
            if script.upgrade_ops is not None:
                script.upgrade_ops.ops.append(op(_dialect_sql(tables, _sql_search.make_statements)))
            if script.downgrade_ops is not None:
                script.downgrade_ops.ops.insert(
                    0, op(_dialect_sql(tables, _sql_search.drop_statements))
                )
