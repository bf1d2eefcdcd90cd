# SPDX-License-Identifier: GPL-3.0-or-later
"""A reader that stops early (``photolm list | head``) ends the command quietly.

The closed pipe is the reader saying "enough", not a failure to report: no traceback, no
``Error:`` line, and the exit status a command killed by SIGPIPE has in the shell, 141
(128 + 13), as ``cat``, ``grep`` or ``git log`` give through ``head``. Not 0: the command
did not do all it was asked (a ``scan --json`` whose reader left may have had a photo fail),
and a script under ``set -o pipefail`` treats photolm as it treats those tools. Typer's own
handling exits 1 instead, which reads as an error that printed nothing.

Python's advice (docs: "Note on SIGPIPE") is followed: stdout is pointed at /dev/null
before exiting, so the flush at interpreter exit does not fail again on the closed pipe.

Under ``PYTHONUNBUFFERED=1`` (or ``python -u``), CPython's stdout writes text straight to a
raw ``FileIO``. A write the closed pipe cuts short returns how much went through, which the
text layer ignores (it does not write the rest, as a ``BufferedWriter`` does, which then meets
the closed pipe and raises): a command whose last write was cut exited 0 with half its JSON
read. :func:`whole_writes` puts a ``BufferedWriter`` back between them, line-buffered, so the
output still reaches a log line by line, as ``PYTHONUNBUFFERED`` asks.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from collections.abc import Iterator

import typer
from rich.console import Console

EXIT_READER_GONE = 128 + 13  # SIGPIPE


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def whole_writes() -> None:
    """Make every write to stdout all or an error, also under ``PYTHONUNBUFFERED``: where its
    text layer writes to a raw ``FileIO`` (which may write part and say so), put a
    line-buffered ``BufferedWriter`` (which writes the rest, or raises) on the same file
    descriptor. A stdout that is no real file (a test's capture) is left as it is."""
    stream = sys.stdout
    raw = getattr(stream, "buffer", None)
    if not isinstance(stream, io.TextIOWrapper) or not isinstance(raw, io.FileIO):
        return
    stream.flush()
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(raw.fileno(), "w", closefd=False)),
        encoding=stream.encoding, errors=stream.errors,
        newline=None if os.name == "nt" else "\n", line_buffering=True)


class PipeConsole(Console):
    """A rich console whose write to a closed pipe ends the command as any other does.

    Rich's own answer to a ``BrokenPipeError`` (:meth:`Console.on_broken_pipe`, the hook it
    asks subclasses to replace) is ``SystemExit(1)``: ``photolm tag --dry-run | head -1`` or
    ``photolm info | head -1`` exited 1 with nothing said, an error that printed nothing.
    Raised again, the error reaches :func:`reader_may_leave` like one from a plain write."""

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more to this pipe, not even what is still buffered
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


@contextlib.contextmanager
def reader_may_leave() -> Iterator[None]:
    """Turn a write to a closed stdout pipe into a quiet exit with :data:`EXIT_READER_GONE`;
    what is left in stdout's buffer is written here too, not at interpreter exit, where
    the closed pipe would be an "Exception ignored" message and exit status 120."""
    try:
        try:
            yield
        finally:
            sys.stdout.flush()
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        _silence_stdout()
        raise typer.Exit(EXIT_READER_GONE) from None
