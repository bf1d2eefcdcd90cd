# SPDX-License-Identifier: GPL-3.0-or-later
"""Run ``photolm scan`` slowed down, for tests that interrupt or race a scan.

Usage: ``python -m tests.robustness.slowscan PHOTOS [extra scan options]``. Each decode sleeps
``SLOW_DECODE`` seconds and each catalogue transaction sleeps ``SLOW_COMMIT`` seconds *inside*
the transaction, before it commits, so that a kill at a random moment often lands while a
batch is half-stored: the case that SQLite's atomic commit must make harmless.

With ``SLOW_MARK=FILE``, while a batch of scan results is written but not yet committed,
FILE exists and holds the number of that batch (1, 2, ...); batch ``SLOW_MARK_AT`` (default
3) then waits 60 s before committing, so a test can wait for it and kill the scan exactly
inside that transaction.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator


def main() -> None:
    import sqlite3

    import photolm.scan as scan
    from photolm.catalog import Catalog

    decode_pause = float(os.environ.get("SLOW_DECODE", "0.02"))
    commit_pause = float(os.environ.get("SLOW_COMMIT", "0.04"))
    real_load = scan.read_photo
    real_transaction = Catalog._transaction
    mark = os.environ.get("SLOW_MARK")
    hold_at = int(os.environ.get("SLOW_MARK_AT", "3"))
    batches = [0]

    def slow_load(*args: object, **kwargs: object) -> object:
        time.sleep(decode_pause)
        return real_load(*args, **kwargs)

    @contextlib.contextmanager
    def slow_transaction(self: Catalog, what: str) -> Iterator[sqlite3.Connection]:
        with real_transaction(self, what) as conn:
            yield conn
            if mark and what == "store scan results":
                batches[0] += 1
                with open(mark + ".tmp", "w") as handle:
                    handle.write(str(batches[0]))
                os.replace(mark + ".tmp", mark)
                if batches[0] == hold_at:
                    time.sleep(60)
            time.sleep(commit_pause)  # rows written, not yet committed
        if mark and os.path.exists(mark):
            os.unlink(mark)

    scan.read_photo = slow_load
    Catalog._transaction = slow_transaction  # type: ignore[method-assign]
    from photolm.cli.app import main as photolm_main

    sys.argv = ["photolm", "scan", *sys.argv[1:]]
    photolm_main()


if __name__ == "__main__":
    main()
