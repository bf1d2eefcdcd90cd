# SPDX-License-Identifier: GPL-3.0-or-later
"""Bind, print the address, open the browser, serve until Ctrl-C.

The socket is bound before the application is built so that the port (``--port 0`` picks a
free one) is known to the Host-header rule and to the printed address, and a busy port is
one clear error rather than a uvicorn traceback. ``TCP_NODELAY`` is set on it (accepted
connections inherit it): without it every small response waited for the client's delayed ACK,
48 ms per thumbnail instead of about 7 (scripts/bench_desktop.py, docs/desktop.md).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photolm.errors import PhotolmError, UsageError

DEFAULT_PORT = 8765


@dataclass(frozen=True)
class Prepared:
    """A bound socket and everything needed to serve on it."""

    sock: socket.socket
    app: object
    url: str
    settings: object


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: any free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # see the module docstring
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}); pick another "
                         "port with --port N (0 picks a free one).") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def address(host: str, port: int, token: str) -> str:
    """The URL to open: a wildcard bind is reached through the loopback address."""
    from photolm.desktop.security import is_wildcard

    shown = "127.0.0.1" if is_wildcard(host) else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/?token={token}"


def prepare(catalog_path: Path, model: Path | None, host: str, port: int,
            cache_dir: Path | None = None) -> Prepared:
    """Check the catalogue and bundle, bind, build the app. Raises PhotolmError."""
    from photolm.bundle import load_bundle
    from photolm.catalog import Catalog
    from photolm.desktop.app import Settings, create_app
    from photolm.desktop.security import new_token

    with Catalog.open(catalog_path, write=False):  # missing/foreign/newer: one clear line
        pass
    try:
        bundle = load_bundle(model)
        threshold, bundle_id = bundle.threshold, bundle.bundle_id
    except PhotolmError:
        if model is not None:
            raise
        threshold = bundle_id = None  # browsing works without one; scanning will say why
    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    token = new_token()
    settings = Settings(catalog_path=catalog_path, token=token, port=real_port, host=host,
                        model=model, threshold=threshold, bundle_id=bundle_id,
                        cache_dir=cache_dir)
    return Prepared(sock, create_app(settings), address(host, real_port, token), settings)


def _server(app: object) -> Any:
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                         lifespan="off", server_header=False))


def serve_in_thread(app: object, sock: socket.socket, timeout: float = 10.0) -> Any:
    """Start uvicorn on ``sock`` in a daemon thread (tests, scripts); returns once it
    accepts connections. Stop it with ``server.should_exit = True``, then
    ``server.thread.join()``."""
    import time

    server = _server(app)
    server.thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                     daemon=True)
    server.thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the desktop server did not start")
        time.sleep(0.02)
    return server


def serve(prepared: Prepared, *, on_ready: Callable[[], None] | None = None) -> None:
    """Run uvicorn on the prepared socket until interrupted (Ctrl-C stops it cleanly)."""
    server = _server(prepared.app)
    if on_ready is not None:
        def wait_then_call() -> None:
            import time

            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                on_ready()

        threading.Thread(target=wait_then_call, daemon=True).start()
    with _hangup_stops(server):
        server.run(sockets=[prepared.sock])


@contextlib.contextmanager
def _hangup_stops(server: Any) -> Iterator[None]:
    """A closed terminal (SIGHUP) asks uvicorn to stop, as Ctrl-C and SIGTERM do through its
    own handlers. Left to photolm's handler (photolm.ctrl_c), SIGHUP raised in the middle of
    whatever the event loop ran: an import cut in two there keeps Python's import lock, and a
    job thread importing waited on it for ever while serve waited for the job. An ignored
    SIGHUP (nohup) stays ignored."""
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is None or threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(hangup) == signal.SIG_IGN:
        yield
        return
    previous = signal.signal(hangup, lambda _signum, _frame: setattr(server, "should_exit",
                                                                       True))
    try:
        yield
    finally:
        signal.signal(hangup, previous)
