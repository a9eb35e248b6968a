"""What every ``kudos`` command shares: opening a database, loading a policy, errors."""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from .. import policies
from ..community import Community
from ..community import open as open_community
from ..policy import Policy
from ..stores.sql import SqlStore, Tables
from ..stores.sql import metadata as default_metadata

__all__ = ["PRESETS", "CliError", "load_policy", "open_existing", "open_or_create", "sqlite_path"]

PRESETS = {"giffgaff": policies.giffgaff, "stackexchange": policies.stackexchange}


class CliError(Exception):
    """A usage problem the command reports as ``kudos: <message>`` with exit status 2."""


def load_policy(name: str) -> Policy:
    """A preset by name, or the policy in a TOML file.

    Raises:
        CliError: neither a preset nor an existing file.
        InvalidPolicy: the file is not a valid policy.
    """
    if name in PRESETS:
        return PRESETS[name]()
    path = Path(name)
    if not path.is_file():
        raise CliError(
            f"--policy {name!r} is neither a preset ({', '.join(PRESETS)}) nor a TOML file"
        )
    return Policy.from_toml(path)


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; ``None`` for another database or an in-memory one.

    Raises:
        CliError: ``url`` is not a database URL.
    """
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise CliError(
            f"{url!r} is not a database URL; use e.g. sqlite:///community.db or "
            "postgresql+psycopg://user:password@host/db"
        ) from None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def open_or_create(args: argparse.Namespace) -> Community:
    """The community at ``--url``, creating the database and its tables if missing."""
    return open_community(args.url, policy=load_policy(args.policy), community=args.community)


def open_existing(args: argparse.Namespace, *, need_events: bool = False) -> Community:
    """The community at ``--url``; never creates a database or a table.

    Raises:
        CliError: no database there, it has no kudos tables, or (with
            ``need_events``) the community has recorded nothing.
    """
    policy = load_policy(args.policy)
    path = sqlite_path(args.url)
    hint = "record some events first with `kudos import FILE --url URL`"
    if path is not None:
        if not path.is_file():
            raise CliError(f"no database at {path} ({args.url}); {hint}")
        if not _sqlite_has_kudos_tables(path):
            raise CliError(f"{args.url} is not a kudos database (no kudos tables); {hint}")
    community = open_community(args.url, policy=policy, community=args.community, create=False)
    store = community.store
    if isinstance(store, SqlStore):
        table = store.tables.schema
        if not inspect(store.engine).has_table(table.name, schema=table.schema):
            store.close()
            raise CliError(f"{args.url} is not a kudos database (no kudos tables); {hint}")
    with store.transaction(community.id) as tx:
        empty = not tx.events(limit=1)
    if need_events and empty:
        raise CliError(
            f"community {community.id!r} at {args.url} has recorded nothing; "
            "is the --url or --community mistyped?"
        )
    return community


def _sqlite_has_kudos_tables(path: Path) -> bool:
    """Whether the SQLite file has kudos's tables, read without writing a byte to it.

    (Opening it as a store would switch it to WAL mode, which writes.)
    """
    name = Tables.of(default_metadata).schema.name
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
    except sqlite3.DatabaseError:
        return False
    return found is not None
