"""What every ``kudos`` command shares: opening a database, loading a policy, errors."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import overload

from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from .. import policies
from ..community import Community
from ..community import open as open_community
from ..errors import InvalidPolicy, PolicyMismatch, StoreError
from ..policy import Policy
from ..stores.sql import SqlStore, Tables
from ..stores.sql import metadata as default_metadata
from ._words import in_cli_terms

__all__ = [
    "PRESETS",
    "CliError",
    "load_policy",
    "open_existing",
    "open_or_create",
    "opening",
    "shown_url",
    "sqlite_path",
]


def _stackexchange_dated() -> Policy:
    """Stack Exchange's rules as they were at each fact's time (question up-votes +5 before
    2019-11-13): what ``kudos import stackexchange`` values a dump under by default."""
    return policies.stackexchange(dated=True)


PRESETS: dict[str, Callable[[], Policy]] = {
    "giffgaff": policies.giffgaff,
    "stackexchange": policies.stackexchange,
    "stackexchange-dated": _stackexchange_dated,
}


class CliError(Exception):
    """A usage problem the command reports as ``kudos: <message>`` with exit status 2."""


@overload
def load_policy(name: str, *, option: str = ...) -> Policy: ...
@overload
def load_policy(name: None, *, option: str = ...) -> None: ...
def load_policy(name: str | None, *, option: str = "--policy") -> Policy | None:
    """A preset by name, or the policy in a file; ``option`` names the flag in messages.

    A file ending in ``.json`` holds the policy as JSON (what ``kudos policy
    show --json`` prints, :meth:`~kudos.Policy.to_dict`); any other file is
    TOML. Either is the whole policy: what it leaves out takes the library's
    defaults, not a preset's.

    ``None`` (no ``--policy``): the policy the database holds, so ``None``.

    Raises:
        CliError: neither a preset nor an existing file.
        InvalidPolicy: the file is not a valid policy (the message starts
            with ``policy file 'NAME'``).
    """
    if name is None:
        return None
    if name in PRESETS:
        return PRESETS[name]()
    path = Path(name)
    if not path.is_file():
        looks_like_file = path.suffix in (".toml", ".json") or "/" in name or "\\" in name
        if looks_like_file and not path.exists():
            raise CliError(f"{option} {name!r}: no such file")
        if looks_like_file:
            raise CliError(f"{option} {name!r} is not a file")
        raise CliError(
            f"{option} {name!r} is neither a preset ({', '.join(PRESETS)}) "
            "nor a policy file (TOML, or JSON ending in .json)"
        )
    prefix = f"policy file {name!r}"
    try:
        if path.suffix.lower() != ".json":
            return Policy.from_toml(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidPolicy(f"{prefix} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidPolicy(f"{prefix} must hold a JSON object (a table of settings)")
        return Policy.from_dict(data)
    except InvalidPolicy as exc:
        if repr(name) in str(exc) or repr(str(path)) in str(exc):
            raise  # names the file already
        raise InvalidPolicy(f"{prefix}: {exc}") from None


def shown_url(url: str) -> str:
    """``url`` as messages show it: its password, if any, as ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return url


_CONNECTION_FAILED = re.compile(r"^connection failed:\s*", re.IGNORECASE)


@contextlib.contextmanager
def opening(url: str) -> Iterator[None]:
    """Opening the database at ``url``: one that cannot be reached is said in one line.

    Raises:
        CliError: the database at ``url`` cannot be reached (the message hides
            the password).
    """
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError, StoreError) as exc:
        cause = exc if isinstance(exc, sa_exc.DBAPIError) else exc.__cause__
        if not isinstance(cause, sa_exc.OperationalError | sa_exc.InterfaceError):
            raise
        reason = " ".join(str(cause.orig or cause).split())
        raise CliError(
            f"cannot open the database at {shown_url(url)}: {_CONNECTION_FAILED.sub('', reason)}"
        ) from None


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
    """The community at ``--url``, creating the database and its tables if missing.

    Raises:
        CliError: the database cannot be reached, or ``--policy`` names nothing.
    """
    policy = load_policy(args.policy)
    with opening(args.url):
        return open_community(args.url, policy=policy, community=args.community)


def open_existing(
    args: argparse.Namespace, *, need_events: bool = False, policy_option: str = "--policy"
) -> Community:
    """The community at ``--url``; never creates a database or a table.

    Raises:
        CliError: no database there, it has no kudos tables, or (with
            ``need_events``) the community has recorded nothing; the database
            cannot be reached; ``args.policy`` (given as ``policy_option``) names nothing.
    """
    policy = load_policy(args.policy, option=policy_option)
    path = sqlite_path(args.url)
    url = shown_url(args.url)
    hint = "record some events first with `kudos import FILE --url URL`"
    if path is not None:
        if not path.is_file():
            raise CliError(f"no database at {path} ({url}); {hint}")
        if not _sqlite_has_kudos_tables(path):
            raise CliError(f"{url} is not a kudos database (no kudos tables); {hint}")
    with opening(args.url):
        try:
            community = open_community(
                args.url, policy=policy, community=args.community, create=False
            )
        except PolicyMismatch as exc:
            if policy_option == "--policy":
                raise
            message = in_cli_terms(str(exc)).replace(
                "Leave out --policy", f"Leave out {policy_option}"
            )
            raise CliError(message) from None
        store = community.store
        if isinstance(store, SqlStore):
            table = store.tables.schema
            if not inspect(store.engine).has_table(table.name, schema=table.schema):
                store.close()
                raise CliError(f"{url} is not a kudos database (no kudos tables); {hint}")
        with store.transaction(community.id) as tx:
            empty = not tx.events(limit=1)
    if need_events and empty:
        raise CliError(
            f"community {community.id!r} at {url} has recorded nothing; "
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
