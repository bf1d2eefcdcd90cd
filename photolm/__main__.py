# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m photolm`` and the ``photolm`` command.

The entry point loads the CLI itself rather than being part of it, so that a Ctrl-C while
Python is still importing it (typer, rich and the commands take about 0.4 s) ends as every
interrupted command ends, with one ``Error: interrupted.`` line and exit status 130, not a
KeyboardInterrupt traceback.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point (messages name ``photolm``)."""
    try:
        from photolm.cli.app import main as run

        run()
    except KeyboardInterrupt:
        print("Error: interrupted.", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
