# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m photolm`` and the ``photolm`` command.

The entry point loads the CLI itself rather than being part of it, so that a Ctrl-C while
Python is still importing it (typer, rich and the commands take about 0.4 s) ends as every
interrupted command ends, with one ``Error: interrupted.`` line and exit status 130, not a
KeyboardInterrupt traceback. SIGTERM and SIGHUP stop it the same way from here on
(:func:`photolm.ctrl_c.stop_on_signals`), with 143 and 129.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys


def main() -> None:
    """Console-script entry point (messages name ``photolm``)."""
    from photolm.ctrl_c import exit_status, first_received, interrupted, stop_on_signals

    stop_on_signals()
    try:
        from photolm.cli.app import main as run

        run()
    except KeyboardInterrupt as exc:
        print(f"Error: {interrupted(exc)}.", file=sys.stderr)
        raise SystemExit(exit_status(exc)) from None
    except OSError as exc:
        # The terminal closed (SIGHUP): what the command kept is kept, but its last lines
        # meet a terminal that is gone (EIO), which would end it with 1 and a traceback
        stop = first_received()
        if exc.errno != errno.EIO or stop is None:
            raise
        _output_gone()
        raise SystemExit(exit_status(stop)) from None


def _output_gone() -> None:
    """Point stdout and stderr at the null device, so the flush at exit does not fail on the
    closed terminal again (and make the exit status 120)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            os.dup2(devnull, stream.fileno())
        os.close(devnull)


if __name__ == "__main__":
    main()
