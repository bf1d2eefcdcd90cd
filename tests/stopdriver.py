# SPDX-License-Identifier: GPL-3.0-or-later
"""Run ``photolm`` through its real entry point, sending itself a signal at a chosen moment,
for tests of how a command stops (SIGTERM, SIGHUP, Ctrl-C's SIGINT).

Usage: ``python -m tests.stopdriver ARGS...`` with ``STOP_SIGNAL`` (``SIGTERM``, ``SIGHUP``,
``SIGINT``) and ``STOP_WHEN``:

* ``write:N``: as the Nth photo's tag write (or untag) starts, so the signal arrives while
  that photo is written;
* ``decode:N``: as the scan decodes its Nth photo (in a decoding thread; the main thread,
  which stores whole batches, receives it);
* ``open``: as the command opens the catalogue;
* ``copy``: just after an older read-only catalogue was copied into a temporary file (every
  catalogue is judged read-only and "large");
* ``elsewhere``: never; the test (or a program the command runs) sends it;
* ``job``: never, but ``serve`` starts a tag job (each photo 0.5 s slower) as it starts
  serving (and creates the file ``STOP_MARK``, if set, once the server accepts
  connections), so the test's signal lands while the job runs;
* ``wait:N``: never, but the scan's Nth decode creates the file ``STOP_MARK`` and waits (up
  to a minute) for the file ``STOP_MARK.go``, so the test's signal (or closed terminal)
  lands in a running scan; the test creates that file once it has acted.

With ``STOP_SIGINT_DEFAULT=1`` SIGINT's handler is ``SIG_DFL`` first, as a program that
embeds photolm may leave it. The signal is sent with ``os.kill`` to this process, as
``kill``, ``timeout`` or a closing terminal send it; the moment is exact on any machine.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any


def _once_at(count: int, real: Callable[..., Any], signum: int) -> Callable[..., Any]:
    calls = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == count:
            os.kill(os.getpid(), signum)
        return real(*args, **kwargs)

    return wrapper


def main() -> None:
    signum = int(getattr(signal, os.environ.get("STOP_SIGNAL", "SIGINT")))
    when, _, count = os.environ["STOP_WHEN"].partition(":")
    if os.environ.get("STOP_SIGINT_DEFAULT"):
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    elif signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # a test run started in the background hands its children SIGINT ignored; a person
        # at a terminal has Python's handler
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if when == "write":
        import photolm.tagging as tagging

        tagging._write_one = _once_at(int(count), tagging._write_one, signum)
    elif when == "decode":
        import photolm.scan as scan

        scan.read_photo = _once_at(int(count), scan.read_photo, signum)
    elif when == "open":
        from photolm.catalog import Catalog

        real_open = Catalog.open.__func__  # type: ignore[attr-defined]
        Catalog.open = classmethod(_once_at(1, real_open, signum))  # type: ignore[method-assign]
    elif when == "copy":
        import photolm.catalog.store as store
        import photolm.catalog.upgraded_copy as upgraded_copy

        store._read_only_reason = lambda path: "it is on a read-only file system"
        upgraded_copy.MEMORY_LIMIT_BYTES = 0
        real_connect = upgraded_copy.connect

        def connect(*args: Any, **kwargs: Any) -> Any:
            made = real_connect(*args, **kwargs)
            os.kill(os.getpid(), signum)
            return made

        upgraded_copy.connect = connect
    elif when == "wait":
        import photolm.scan as scan

        mark, decodes, real_read = os.environ["STOP_MARK"], [0], scan.read_photo

        def read_photo(*args: Any, **kwargs: Any) -> Any:
            decodes[0] += 1
            if decodes[0] == int(count):
                open(mark, "w").close()
                deadline = time.monotonic() + 60
                while not os.path.exists(mark + ".go") and time.monotonic() < deadline:
                    time.sleep(0.02)
            return real_read(*args, **kwargs)

        scan.read_photo = read_photo
    elif when == "job":
        from pathlib import Path

        import photolm.desktop.server as server
        from photolm.desktop.jobs import Job, tag_work

        real_step, real_serve = Job.step, server.serve

        def slow_step(self: Job) -> None:
            # the job waits for the server (and so the test) to be ready: a busy machine may
            # start uvicorn later than four photos take
            mark = os.environ.get("STOP_MARK")
            deadline = time.monotonic() + 60
            while mark and not os.path.exists(mark) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            real_step(self)

        def serve(prepared: Any, **kwargs: Any) -> None:
            prepared.app.desktop.jobs.start("tag", "Writing tags", tag_work(
                Path(os.environ["PHOTOLM_CATALOG"]), "tag"))

            def serving() -> None:  # uvicorn accepts connections: its handlers are in place
                if "STOP_MARK" in os.environ:
                    open(os.environ["STOP_MARK"], "w").close()
                if kwargs.get("on_ready") is not None:
                    kwargs["on_ready"]()

            real_serve(prepared, **{**kwargs, "on_ready": serving})

        Job.step = slow_step  # type: ignore[method-assign]
        server.serve = serve
    elif when != "elsewhere":
        raise SystemExit(f"unknown STOP_WHEN {when!r}")
    from photolm.__main__ import main as photolm

    sys.argv = ["photolm", *sys.argv[1:]]
    photolm()


if __name__ == "__main__":
    main()
