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
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator

import typer

EXIT_READER_GONE = 128 + 13  # SIGPIPE


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@contextlib.contextmanager
def reader_may_leave() -> Iterator[None]:
    """Turn a write to a closed stdout pipe into a quiet exit with :data:`EXIT_READER_GONE`."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        _silence_stdout()
        raise typer.Exit(EXIT_READER_GONE) from None
