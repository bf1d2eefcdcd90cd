# SPDX-License-Identifier: GPL-3.0-or-later
"""Where output goes: data on stdout, talk (progress, warnings, errors) on stderr.

Keeping the two apart is what makes ``photolm search --json ... | jq`` safe while still
showing progress bars and warnings to the person at the terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from photolm.errors import PhotolmError

DEBUG_ENV = "PHOTOLM_DEBUG"

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


# Control characters are legal in file names; printed raw, a newline would split one
# warning into two and an escape sequence would reach the terminal.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def display(path: object) -> str:
    """A printable, one-line form of a path: non-UTF-8 bytes in file names become ``\\xNN``
    escapes, control characters ``\\n``, ``\\t`` or ``\\xNN``."""
    text = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text.translate(_CONTROL)


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else mixed in."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Column:
    header: str
    path: bool = False  # never broken: the table grows wider than the terminal instead
    justify: Literal["left", "right"] = "left"


def print_rows(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str | Text]],
               *, note: str | None = None) -> None:
    """Rows for a person: a table on a terminal, plain tab-separated lines elsewhere.

    In a pipe or a file a box-drawn table only gets in the way of ``grep``/``cut``, so each
    row is one line of tab-separated fields (markup dropped) and the title goes to stderr.
    On a terminal, a path is never folded mid-name: other columns wrap first, and when even
    that is not enough the table is drawn wider than the terminal, which then wraps whole
    lines (a path copied from it is still whole). ``note`` is printed after the rows, on
    stderr.
    """
    if not out.is_terminal:
        if title:
            err.print(title, markup=False, highlight=False, emoji=False)
        for row in rows:
            sys.stdout.write("\t".join(_plain(cell) for cell in row) + "\n")
        sys.stdout.flush()
        if note:
            err.print(note, markup=False, highlight=False, emoji=False)
        return
    from rich.table import Table

    widths = [max([len(c.header), *(cell_len(_plain(r[i])) for r in rows)])
              for i, c in enumerate(columns)]
    table = Table(title=title, title_justify="left")
    for column, width in zip(columns, widths, strict=True):
        if column.path:
            table.add_column(column.header, no_wrap=True, min_width=width,
                             justify=column.justify)
        else:
            table.add_column(column.header, overflow="fold", justify=column.justify)
    for row in rows:  # plain strings are text, never markup: a path may hold "[...]"
        table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in row))
    needed = sum(w if c.path else min(w, 12) for c, w in zip(columns, widths, strict=True))
    needed += 3 * len(columns) + 1  # borders and padding
    shown = out.width
    try:
        out.width = max(shown, needed)
        out.print(table, crop=False)
    finally:
        out.width = shown
    if note:
        err.print(note, markup=False, highlight=False, emoji=False)


def _plain(cell: str | Text) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def warn(path: object, message: str) -> None:
    """One line per problem photo or folder, on stderr: ``warning: PATH: what happened``.

    Library errors that name the path themselves (the tag writer's "read-only file: PATH
    (...)") are shown as they are rather than with the path twice.
    """
    shown = display(path)
    line = message if shown in message else f"{shown}: {message}"
    err.print(f"[yellow]warning:[/] {escape(line)}")


def note(path: object, message: str) -> None:
    """One line about a photo that is not a problem but worth knowing (e.g. a sidecar was
    written because the format cannot hold embedded tags), on stderr."""
    err.print(f"[cyan]note:[/] {escape(display(path))}: {escape(message.translate(_CONTROL))}")


def error_line(message: str) -> None:
    err.print(f"[bold red]Error:[/] {escape(message)}")


class Bar:
    """A progress bar that may be switched off: ``start``/``advance`` do nothing then."""

    def __init__(self, progress: Any | None) -> None:
        self._progress = progress
        self._task: Any | None = None

    def start(self, total: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("work", total=total, rate="-")

    def advance(self, n: int = 1) -> None:
        if self._progress is None or self._task is None:
            return
        speed = self._progress.tasks[0].speed
        self._progress.update(self._task, advance=n, rate=f"{speed:.1f}" if speed else "-")


@contextlib.contextmanager
def progress_bar(verb: str, *, show: bool, rate: str | None = None) -> Iterator[Bar]:
    """A transient progress bar on stderr for long work (``rate``: e.g. "photos/s" adds the
    speed and an ETA). ``show=False`` (no terminal, --quiet, --json) gives a silent bar, so
    callers never branch on it."""
    if not show:
        yield Bar(None)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [TextColumn(f"[bold]{escape(verb)}"), BarColumn(), MofNCompleteColumn()]
    if rate:
        columns += [TextColumn(f"{{task.fields[rate]}} {escape(rate)}"), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=err, transient=True) as progress:
        yield Bar(progress)


def bar_wanted(*, quiet: bool = False, json_out: bool = False) -> bool:
    """Progress bars only for a person at a terminal."""
    return err.is_terminal and not quiet and not json_out


@contextlib.contextmanager
def reporting() -> Iterator[None]:
    """Turn expected failures into one ``Error:`` line and an exit status, never a traceback.

    Set PHOTOLM_DEBUG=1 to see the traceback anyway.
    """
    try:
        yield
    except PhotolmError as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        error_line(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        error_line("interrupted.")
        raise typer.Exit(130) from None
