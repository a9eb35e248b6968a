"""The ``kudos`` command: a demo, imports, and questions about a community database.

::

    kudos demo                                   # a small simulated community on SQLite
    kudos import events.jsonl --url sqlite:///community.db    # or .csv; --stop-on-error
    kudos standing alice --url sqlite:///community.db
    kudos statement alice --period 2026-H2 --url sqlite:///community.db
    kudos leaderboard --by solutions --url sqlite:///community.db
    kudos close-period 2026-H2 --url sqlite:///community.db
    kudos verify --url sqlite:///community.db    # ledger and projections agree
    kudos policy show --policy stackexchange
    kudos policy show giffgaff --toml > mine.toml   # a whole policy to edit
    kudos policy show --url sqlite:///community.db  # the policy in force there
    kudos policy history --url sqlite:///community.db
    kudos policy change mine.toml --effective 2026-06-01T00:00:00+00:00 --by staff1 \
        --reason "kudos count double" --url sqlite:///community.db
    kudos simulate --policy rewards.toml --url sqlite:///community.db

``--url`` defaults to the ``KUDOS_URL`` environment variable, else
``sqlite:///kudos.db``. ``--policy`` takes a preset name (``giffgaff``, ``stackexchange``), a TOML
file or a JSON file (``.json``); without it, the policy the database holds. Read commands
take ``--json``. Read commands never create a database.
Exit status: 0 done, 1 the data disagrees or was refused (``verify``,
``import``), 2 a usage problem (``kudos: <message>`` on standard error).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from ..errors import KudosError
from . import _commands, _import
from ._common import CliError
from ._ui import make_ui
from ._words import in_cli_terms

__all__ = ["main"]


def _version() -> str:
    from .. import __version__

    return f"kudos {__version__}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kudos",
        description="Customer-community gamification on an auditable ledger.",
        epilog="Run `kudos COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        help: str,
        *,
        db: bool = True,
        json: bool = True,
        policy: bool = True,
        plain: bool = True,
        epilog: str | None = None,
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, epilog=epilog)
        if db:
            p.add_argument(
                "--url",
                default=os.environ.get("KUDOS_URL") or "sqlite:///kudos.db",
                help="database URL (default: $KUDOS_URL, else sqlite:///kudos.db)",
            )
            if policy:
                p.add_argument(
                    "--policy",
                    default=None,
                    help="preset name or policy TOML file (default: the policy the "
                    "database holds, giffgaff for a new one)",
                )
            p.add_argument("--community", default="default", help="community id (default: default)")
        if json:
            p.add_argument("--json", action="store_true", help="print JSON instead of tables")
        if plain:
            p.add_argument(
                "--plain", action="store_true", help="plain text, no colours, boxes or bars"
            )
        return p

    _commands.add_parsers(sub, command)
    _import.add_parser(sub, command)
    return parser


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the ``kudos`` command with ``argv`` (default: the process's); returns the exit status.

    Results go to ``out`` (default standard output), progress and errors to
    ``err`` (default standard error).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    ui = make_ui(
        out, err, plain=getattr(args, "plain", False), json_output=getattr(args, "json", False)
    )
    try:
        status: int = args.run(args, ui)
    except (CliError, KudosError) as exc:
        print(f"kudos: {in_cli_terms(str(exc))}", file=err)
        return 2
    except BrokenPipeError:
        # The reader went away (``kudos ... | head``): stop quietly, as other tools do.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"kudos: {exc.strerror or exc}{where}", file=err)
        return 2
    except KeyboardInterrupt:
        print("kudos: interrupted", file=err)
        return 130
    return status
