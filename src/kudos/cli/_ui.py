"""Terminal output for the ``kudos`` command: tables, progress and JSON.

With the ``cli`` extra (``pip install 'kudos-community[cli]'``) tables and
progress bars are drawn by `rich <https://rich.readthedocs.io>`_; without it,
or with ``--plain``, the same information is printed as plain text. Results go
to standard output; progress goes to standard error, so ``--json`` output can
be piped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TextIO

__all__ = ["Progress", "Ui", "make_ui", "rich_available"]


def rich_available() -> bool:
    """Whether ``rich`` can be imported (the ``cli`` extra is installed)."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class Progress(Protocol):
    """Reports how far a long command has come."""

    def advance(self, n: int = 1) -> None:
        """``n`` more units done."""


def rate_and_eta(done: int, total: int | None, elapsed: float) -> str:
    """``"2,345/s, about 3 s left"``: the rate so far and, with a total, the time left."""
    if elapsed <= 0 or done <= 0:
        return "starting"
    rate = done / elapsed
    text = f"{rate:,.0f}/s"
    if total:
        left = max(total - done, 0) / rate
        text += f", about {left:,.0f} s left"
    return text


class _PlainProgress:
    """A progress line on standard error at most every ``every`` seconds, and at the end."""

    def __init__(
        self, err: TextIO, what: str, total: int | None, *, every: float, clock: Any
    ) -> None:
        self.err, self.what, self.total, self.every, self.clock = err, what, total, every, clock
        self.done = 0
        self.start = self.last = clock()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self.report(now)

    def report(self, now: float) -> None:
        of = f" of {self.total:,}" if self.total is not None else ""
        speed = rate_and_eta(self.done, self.total, now - self.start)
        print(f"{self.what}: {self.done:,}{of} ({speed})", file=self.err, flush=True)


class Ui:
    """Where a command prints: results to ``out``, progress and notes to ``err``.

    Args:
        out: standard output (results, tables, JSON).
        err: standard error (progress, warnings).
        fancy: draw with ``rich``; ``False`` prints plain text.
        json_output: print results as JSON documents instead of tables.
        every: seconds between plain progress lines.
    """

    def __init__(
        self,
        out: TextIO,
        err: TextIO,
        *,
        fancy: bool,
        json_output: bool = False,
        every: float = 1.0,
    ) -> None:
        self.out, self.err, self.fancy, self.json, self.every = (
            out,
            err,
            fancy,
            json_output,
            every,
        )
        self.clock = time.monotonic
        self._console: Any = None
        self._err_console: Any = None
        if fancy:
            from rich.console import Console

            # Members, reasons and badges are data, never markup or emoji codes.
            self._console = Console(
                file=out, highlight=False, soft_wrap=True, markup=False, emoji=False
            )
            self._err_console = Console(file=err, highlight=False, markup=False, emoji=False)
            # rich exits with status 1 when the reader goes away; let ``main`` say 141
            # as it does for plain output.
            self._console.on_broken_pipe = _reader_gone
            self._err_console.on_broken_pipe = _reader_gone

    def line(self, text: str = "") -> None:
        """Print one line of results (not in ``--json`` mode)."""
        if self.json:
            return
        if self._console is not None:
            self._console.print(text, markup=False)
        else:
            print(text, file=self.out)

    def note(self, text: str) -> None:
        """Print a line on standard error (progress, what a command is doing)."""
        print(text, file=self.err, flush=True)

    def emit(self, document: Any) -> None:
        """Print ``document`` as JSON (in ``--json`` mode only)."""
        if self.json:
            print(json.dumps(document, indent=2, sort_keys=False, default=str), file=self.out)

    def table(
        self,
        title: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        right: Sequence[str] = (),
        empty: str = "(none)",
    ) -> None:
        """A titled table; ``right`` names the columns aligned right (numbers)."""
        if self.json:
            return
        if self._console is not None:
            from rich.table import Table

            table = Table(title=title, title_justify="left", show_edge=False)
            for name in columns:
                table.add_column(name, justify="right" if name in right else "left")
            for row in rows:
                table.add_row(*(str(cell) for cell in row))
            if rows:
                self._console.print(table)
            else:
                self._console.print(f"{title}\n  {empty}", markup=False)
            return
        print(title, file=self.out)
        if not rows:
            print(f"  {empty}", file=self.out)
            return
        cells = [[str(c) for c in columns]] + [[str(c) for c in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
        for row in cells:
            parts = [
                cell.rjust(w) if name in right else cell.ljust(w)
                for cell, w, name in zip(row, widths, columns, strict=True)
            ]
            print(("  " + "  ".join(parts)).rstrip(), file=self.out)

    @contextmanager
    def status(self, what: str) -> Iterator[None]:
        """Say on standard error what a long step is doing (a spinner with rich)."""
        if self._err_console is not None:
            with self._err_console.status(what):
                yield
            return
        self.note(f"{what} ...")
        yield

    @contextmanager
    def progress(self, what: str, total: int | None) -> Iterator[Progress]:
        """Show progress of ``what`` (``total`` units, if known) on standard error."""
        if self._err_console is not None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            columns = [
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}", markup=False),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            ]
            with RichProgress(*columns, console=self._err_console, transient=False) as bar:
                task = bar.add_task(what, total=total, rate="")
                shown = _RateTask(bar, task, self.clock)
                yield shown
                shown.finish()
            return
        plain = _PlainProgress(self.err, what, total, every=self.every, clock=self.clock)
        plain.report(plain.start)
        yield plain
        plain.report(self.clock())


def _reader_gone() -> None:
    raise BrokenPipeError


class _RateTask:
    """A rich task that also shows the rate in units per second."""

    def __init__(self, bar: Any, task: Any, clock: Any) -> None:
        self.bar, self.task, self.clock = bar, task, clock
        self.start = clock()
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        elapsed = self.clock() - self.start
        rate = f"{self.done / elapsed:,.0f}/s" if elapsed > 0 else ""
        self.bar.update(self.task, advance=n, rate=rate)

    def finish(self) -> None:
        self.advance(0)


def make_ui(out: TextIO, err: TextIO, *, plain: bool, json_output: bool) -> Ui:
    """A :class:`Ui` drawing with rich when it is installed and ``plain`` is not asked."""
    return Ui(out, err, fancy=not plain and rich_available(), json_output=json_output)
