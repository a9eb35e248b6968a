"""Alembic autogenerate support: kudos's column types written as plain SQLAlchemy types.

Alembic writes a column type into a migration as the Python that built it. Two of
kudos's column types do not survive that: the SQLite timestamp is a private
``TypeDecorator`` (rendered under a module path the migration never imports, and one
kudos may move), and PostgreSQL's ``JSONB`` renders as ``JSONB(astext_type=Text())``
with ``Text`` unimported. :func:`render_item` writes them as the plain SQLAlchemy
types that give the same DDL, so a migration runs as generated and never imports kudos.

This module imports nothing from Alembic: the core does not depend on it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.types import TypeEngine

from ._sql_schema import UtcTimestamp, _json, _seq, _timestamp

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext

__all__ = ["render_item"]

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
