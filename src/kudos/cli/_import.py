"""``kudos import``: record events from a file, in batches, saying where each refusal is.

A source format is a :class:`Format`: a name, the file suffixes it claims, a
reader yielding :class:`Item` s (an event, or why a record is not one, each
with its ``file:line``) and a count for the progress bar. Formats are
registered in :data:`FORMATS`; ``kudos import FILE`` picks one by suffix,
``kudos import FORMAT PATH`` or ``--format`` names it.

JSON lines: one object a line, ``{"type": "kudos-given", "event_id": ...,
"post": "r1", "giver": "bob", "at": "2026-06-01T12:00:00+00:00"}``.

CSV: a header row naming ``type``, optionally ``event_id`` and ``at``, and the
events' fields; a row leaves empty the fields its type does not take. Lists
(``tags``, ``fingerprints``) are separated by ``;``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import attrs

from ..community import Community
from ..errors import KudosError, TransientStoreError
from ..events import Event, event_from_payload, event_types
from ._common import CliError, open_or_create
from ._ui import Progress, Ui
from ._words import in_cli_terms

__all__ = ["FORMATS", "Format", "Item", "Summary", "add_parser", "register"]


@attrs.frozen
class Item:
    """One record of a source: an event, or the reason it is not one.

    Attributes:
        where: ``"file:line"`` of the record, for messages.
        event: the event, or ``None`` when the record is refused.
        error: why the record is refused (``None`` for an event).
    """

    where: str
    event: Event | None = None
    error: str | None = None


@attrs.frozen
class Format:
    """A source format ``kudos import`` reads.

    Attributes:
        name: what ``--format`` takes.
        description: one line for ``--help``.
        suffixes: file suffixes that select this format (``".csv"``).
        read: the items of a path (``"-"``: standard input), in order.
        count: how many records a path holds, for the progress bar (``None``: unknown).
    """

    name: str
    description: str
    suffixes: tuple[str, ...]
    read: Callable[[str], Iterator[Item]]
    count: Callable[[str], int | None]


FORMATS: dict[str, Format] = {}
"""The registered source formats, by name."""


def register(source_format: Format) -> Format:
    """Add a source format to :data:`FORMATS` (and so to ``kudos import``)."""
    FORMATS[source_format.name] = source_format
    return source_format


_UNDECODED = re.compile("[\udc80-\udcff]")


def _undecoded(text: str) -> str | None:
    """Why ``text`` (decoded with ``surrogateescape``) is not UTF-8; ``None`` when it is."""
    found = _UNDECODED.search(text)
    if found is None:
        return None
    byte = ord(found.group()) - 0xDC00
    return f"not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8"


def _source_name(path: str) -> str:
    """How messages name a source: the path, or ``<stdin>`` for ``-``."""
    return "<stdin>" if path == "-" else path


@contextmanager
def _decoded(raw: IO[bytes], newline: str | None) -> Iterator[Iterator[str]]:
    """Lines of bytes as text: UTF-8, a leading byte-order mark dropped.

    ``newline`` is :class:`io.TextIOWrapper`'s: ``"\n"`` splits on line feeds
    only (JSON Lines, where a carriage return is whitespace), ``""`` on any of
    ``\n``, ``\r\n`` and a bare ``\r`` (CSV, as the csv module reads it). A
    byte that is not UTF-8 becomes a lone surrogate (``surrogateescape``), so one
    bad line is refused by :func:`_undecoded` instead of ending the import. The
    text layer is taken off again while ``raw`` is still open.
    """
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline=newline)
    try:
        yield text
    finally:
        text.detach()


@contextmanager
def _lines(path: str, newline: str | None = "\n") -> Iterator[tuple[str, Iterator[str]]]:
    if path == "-":
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:  # a text stream without bytes underneath (tests, embedding)
            yield "<stdin>", (line.removeprefix("\ufeff") for line in sys.stdin)
        else:
            with _decoded(raw, newline) as text:
                yield "<stdin>", text
        return
    with Path(path).open("rb") as handle, _decoded(handle, newline) as text:
        yield path, text


def _count_lines(path: str, *, header: int = 0, newline: str | None = "\n") -> int | None:
    """Records in a regular file, for the progress bar; ``None`` (unknown) for a pipe,
    which can be read only once."""
    if path == "-" or not Path(path).is_file():
        return None
    with Path(path).open("rb") as handle, _decoded(handle, newline) as text:
        return max(sum(1 for line in text if line.strip()) - header, 0)


def _event(where: str, data: dict[str, Any]) -> Item:
    kind = data.pop("type", None)
    if not isinstance(kind, str) or not kind:
        return Item(where, error='a record needs a "type" (e.g. "kudos-given")')
    event_id = data.pop("event_id", None)
    try:
        return Item(where, event=event_from_payload(kind, event_id, data))
    except (KudosError, TypeError, ValueError) as exc:
        return Item(where, error=str(exc))


def read_jsonl(path: str) -> Iterator[Item]:
    """The events of a JSON lines file, one object a line (blank lines skipped)."""
    with _lines(path) as (name, handle):
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{name}:{number}"
            undecoded = _undecoded(line)
            if undecoded is not None:
                yield Item(where, error=undecoded)
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                hint = (
                    "; its lines end with a bare carriage return (old Mac line endings):"
                    " JSON Lines ends each line with a line feed (\\n)"
                    if any(part.lstrip().startswith("{") for part in line.split("\r")[1:])
                    else ""
                )
                yield Item(
                    where,
                    error=f"not JSON ({exc}); expected one JSON object a line (JSON Lines){hint}",
                )
                continue
            except RecursionError:
                yield Item(where, error="not JSON kudos reads: nested too deeply")
                continue
            if not isinstance(data, dict):
                yield Item(where, error=f"expected a JSON object, got {type(data).__name__}")
                continue
            yield _event(where, data)


def _typed(kind: str, field: str, cell: str) -> Any:
    """A CSV cell as the value the event's field takes (by its annotation)."""
    cls = event_types().get(kind)
    fields = {f.name: f for f in attrs.fields(cls)} if cls is not None else {}
    annotation = str(fields[field].type) if field in fields else "str"
    if annotation.startswith("tuple"):
        return [part.strip() for part in cell.split(";") if part.strip()]
    if annotation.startswith("int"):
        try:
            return int(cell)
        except ValueError:
            raise ValueError(f"{field} must be a whole number, got {cell!r}") from None
    if annotation.startswith("bool"):
        if cell.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"{field} must be true or false, got {cell!r}")
        return cell.lower() in ("true", "1", "yes")
    return cell


class _Counted:
    """Lines, counting how many were read (the csv module's own count stops at an error)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines, self.count = lines, 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.count += 1
        return line


def read_csv(path: str) -> Iterator[Item]:
    """The events of a CSV file with a header row (see the module's description)."""
    with _lines(path, newline="") as (name, handle):
        lines = _Counted(handle)
        reader = csv.DictReader(lines)
        try:
            header = reader.fieldnames
        except csv.Error as exc:
            yield Item(f"{name}:1", error=f"not CSV ({exc})")
            return
        undecoded = _undecoded(",".join(header or ()))
        if undecoded is not None or header is None or "type" not in header:
            yield Item(f"{name}:1", error=undecoded or 'the header row must name a "type" column')
            return
        twice = sorted({field for field in header if header.count(field) > 1})
        if twice:
            yield Item(f"{name}:1", error=f"the header row names {', '.join(twice)} twice")
            return
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a cell larger than the csv module's limit
                yield Item(f"{name}:{lines.count}", error=f"not CSV ({exc})")
                continue
            where = f"{name}:{lines.count}"
            undecoded = _undecoded(
                ",".join(cell or "" for cell in row.values() if isinstance(cell, str))
            )
            if undecoded is not None:
                yield Item(where, error=undecoded)
                continue
            kind = row.get("type") or ""
            try:
                data = {
                    field: cell if field in ("type", "event_id") else _typed(kind, field, cell)
                    for field, cell in row.items()
                    if field is not None and cell not in (None, "")
                }
            except ValueError as exc:
                yield Item(where, error=str(exc))
                continue
            if None in row:
                yield Item(where, error="more cells than the header names")
                continue
            yield _event(where, data)


register(
    Format(
        name="jsonl",
        description='JSON lines: {"type": "kudos-given", "post": "r1", "giver": "bob"}',
        suffixes=(".jsonl", ".ndjson", ".json"),
        read=read_jsonl,
        count=_count_lines,
    )
)
register(
    Format(
        name="csv",
        description="CSV with a header row: type,event_id,at,<fields>",
        suffixes=(".csv",),
        read=read_csv,
        count=lambda path: _count_lines(path, header=1, newline=""),
    )
)


@attrs.define
class Summary:
    """What an import did: events recorded, already known, refused (with where and why)."""

    source: str
    recorded: int = 0
    already_known: int = 0
    refused: list[tuple[str, str]] = attrs.field(factory=list)
    stopped: bool = False
    interrupted: bool = False

    def document(self) -> dict[str, Any]:
        """The summary as JSON data."""
        return {
            "source": self.source,
            "recorded": self.recorded,
            "already_known": self.already_known,
            "refused": len(self.refused),
            "errors": [{"where": w, "message": m} for w, m in self.refused],
            "stopped": self.stopped,
            "interrupted": self.interrupted,
        }


_POSITION = re.compile(r"^event #(\d+) ")


class _Recorder:
    """Records events in batches; on a refusal, records the batch around it."""

    def __init__(
        self, community: Community, summary: Summary, ui: Ui, progress: Progress, stop: bool
    ) -> None:
        self.community, self.summary, self.ui, self.progress = community, summary, ui, progress
        self.stop = stop

    def refuse(self, where: str, message: str) -> bool:
        """Report a refusal; whether to go on."""
        message = in_cli_terms(message)
        self.summary.refused.append((where, message))
        self.ui.note(f"{where}: {message}")
        self.progress.advance()
        if self.stop:
            self.summary.stopped = True
        return not self.stop

    def record(self, batch: list[tuple[str, Event]]) -> bool:
        """Record ``batch``; whether to go on."""
        while batch:
            try:
                outcomes = self.community.record_many([event for _, event in batch])
            except TransientStoreError:
                raise
            except KudosError as exc:
                found = _POSITION.match(str(exc))
                bad = int(found.group(1)) if found else 0
                if bad and not self.record(batch[:bad]):
                    return False
                if not found and len(batch) > 1:
                    # No position in the message: find the refused event one at a time.
                    return all(self.record([item]) for item in batch)
                cause = exc.__cause__ if isinstance(exc.__cause__, KudosError) else exc
                if not self.refuse(batch[bad][0], str(cause)):
                    return False
                batch = batch[bad + 1 :]
                continue
            known = sum(o.replayed for o in outcomes)
            self.summary.already_known += known
            self.summary.recorded += len(outcomes) - known
            self.progress.advance(len(outcomes))
            batch = []
        return True


def _format_of(args: argparse.Namespace) -> tuple[Format, str]:
    if args.path is not None:
        name, path = args.source, args.path
        if args.format is not None and args.format != name:
            raise CliError(f"the format is {name!r}; drop --format {args.format!r}")
    else:
        name, path = args.format, args.source
    if name is None:
        suffix = "" if path == "-" else Path(path).suffix.lower()
        found = [f for f in FORMATS.values() if suffix in f.suffixes]
        if path == "-":
            found = [FORMATS["jsonl"]]
        if not found:
            hint = (
                f"; a Stack Exchange dump folder is `kudos import {STACKEXCHANGE} {path}`"
                if path != "-" and Path(path).is_dir()
                else ""
            )
            raise CliError(
                f"cannot tell the format of {path!r} from its suffix; "
                f"pass --format ({', '.join([*FORMATS, STACKEXCHANGE])}){hint}"
            )
        return found[0], path
    if name not in FORMATS:
        raise CliError(f"unknown import format {name!r}; choose from {', '.join(FORMATS)}")
    return FORMATS[name], path


def _feed(items: Iterator[Item], recorder: _Recorder, size: int) -> None:
    """Record ``items`` in batches of ``size``, reporting each refusal where it is."""
    batch: list[tuple[str, Event]] = []
    for item in items:
        if item.event is None:
            going = recorder.record(batch) and recorder.refuse(item.where, item.error or "")
            batch = []
        else:
            batch.append((item.where, item.event))
            if len(batch) < size:
                continue
            going = recorder.record(batch)
            batch = []
        if not going:
            return
    recorder.record(batch)


STACKEXCHANGE = "stackexchange"
"""The format name of a Stack Exchange data dump folder (``kudos import stackexchange DIR``)."""


def _import_stackexchange(args: argparse.Namespace, ui: Ui, path: str) -> int:
    """``kudos import stackexchange DIR``: a public dump's history, as trusted events.

    With ``--policy`` left at its default, the dump is valued under the
    ``stackexchange-dated`` preset (the rules in force at each fact's time); the
    other commands then take the same ``--policy``. The dump is read and checked
    whole before any database is made.
    """
    from ..importers.stackexchange import events_from_dump, record_events

    if path == "-":
        raise CliError("a Stack Exchange dump is a folder; standard input cannot be one")
    folder = Path(path)
    if not folder.exists():
        raise CliError(f"no such folder: {path}")
    if not folder.is_dir():
        raise CliError(
            f"{path} is not a folder; a Stack Exchange dump is a folder holding Posts.xml, "
            "Votes.xml and Users.xml"
        )
    missing = [n for n in ("Users.xml", "Posts.xml", "Votes.xml") if not (folder / n).is_file()]
    if missing:
        raise CliError(f"{path} is not a Stack Exchange dump: it has no {', '.join(missing)}")
    if args.batch < 1:
        raise CliError(f"--batch must be 1 or more, got {args.batch}")
    if not args.community.strip():
        raise CliError("--community must name a community, e.g. --community default")
    if args.policy is None:  # no point in valuing a dump under giffgaff
        args.policy = "stackexchange-dated"
    events, skipped = events_from_dump(folder)  # a malformed dump stops here: no database
    community = open_or_create(args)
    done = [0]
    with ui.progress(f"importing {path}", len(events)) as progress:

        def report(recorded: int, total: int) -> None:
            progress.advance(recorded - done[0])
            done[0] = recorded

        try:
            result = record_events(
                events, skipped, community, batch_size=args.batch, progress=report
            )
        except KeyboardInterrupt:
            ui.line(f"{path}: interrupted after {done[0]:,} events (each batch is committed)")
            return 130
    ui.emit(
        {
            "source": path,
            "policy": args.policy,
            "recorded": result.recorded,
            "already_known": result.replayed,
            "by_type": dict(result.counts),
            "skipped": dict(result.skipped),
        }
    )
    ui.line(f"{path}: {result}")
    ui.line(f"valued under --policy {args.policy}: the database keeps it for the other commands")
    return 0


def run_import(args: argparse.Namespace, ui: Ui) -> int:
    """``kudos import``: exit 0 when every record was recorded or known, 1 if any was refused."""
    if STACKEXCHANGE in (args.source, args.format):
        return _import_stackexchange(args, ui, args.path or args.source)
    source_format, path = _format_of(args)
    if path != "-":
        source = Path(path)
        if not source.exists():
            raise CliError(f"no such file: {path}")
        if source.is_dir():
            raise CliError(f"{path} is a folder, not a file of events")
        if not os.access(source, os.R_OK):  # say so before creating any database
            raise CliError(f"cannot read {path}: permission denied")
    if args.batch < 1:
        raise CliError(f"--batch must be 1 or more, got {args.batch}")
    if not args.community.strip():
        raise CliError("--community must name a community, e.g. --community default")
    community = open_or_create(args)
    summary = Summary(source=_source_name(path))
    with ui.progress(f"importing {summary.source}", source_format.count(path)) as progress:
        recorder = _Recorder(community, summary, ui, progress, args.stop_on_error)
        try:
            _feed(source_format.read(path), recorder, args.batch)
        except KeyboardInterrupt:
            # Each batch is one transaction: what the summary counts is committed.
            summary.interrupted = True
    ui.emit(summary.document())
    ui.line(
        f"{summary.source}: {summary.recorded:,} recorded, "
        f"{summary.already_known:,} already known, "
        f"{len(summary.refused):,} refused"
        + (" (stopped at the first refusal)" if summary.stopped else "")
        + (" (interrupted: the rest was not recorded)" if summary.interrupted else "")
    )
    if summary.interrupted:
        return 130
    return 1 if summary.refused else 0


def add_parser(sub: Any, common: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``import`` to the ``kudos`` subcommands."""
    formats = "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())
    imp = common(
        "import",
        "record events from a file (JSON lines or CSV) or a Stack Exchange dump, in batches",
        epilog=f"formats: {formats}",
    )
    imp.add_argument(
        "source",
        metavar="[FORMAT] PATH",
        help="the file to read (- for standard input) or dump folder, optionally after its "
        "format's name",
    )
    imp.add_argument("path", nargs="?", default=None, help=argparse.SUPPRESS)
    imp.add_argument(
        "--format",
        choices=sorted([*FORMATS, STACKEXCHANGE]),
        default=None,
        help="the format (default: by suffix); stackexchange reads a dump folder",
    )
    imp.add_argument(
        "--batch", type=int, default=5_000, help="events per transaction (default: 5000)"
    )
    imp.add_argument(
        "--stop-on-error",
        action="store_true",
        help="stop at the first refused record (default: report it and go on)",
    )
    imp.set_defaults(run=run_import)
