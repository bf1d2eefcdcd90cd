# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm serve``: open the desktop (a local, offline web app) in your browser."""

from __future__ import annotations

import contextlib
import importlib.util
from typing import Annotated

import typer

from photolm.cli.options import CatalogOpt, ScannedModelOpt
from photolm.cli.output import err, out, reporting, say

# What the desktop extra installs (python-multipart is Starlette's form parser).
DESKTOP_MODULES = ("starlette", "uvicorn", "jinja2", "multipart")
INSTALL_HINT = "The desktop needs its extra: pip install 'photolm[desktop]'"


def serve(
    port: Annotated[
        int, typer.Option("--port", "-p", min=0, max=65535,
                          help="Port to listen on (0: any free port).")
    ] = 8765,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on. Keep 127.0.0.1 unless other "
                          "machines must reach it: 0.0.0.0 exposes your photos to your network "
                          "(the token is still required).")
    ] = "127.0.0.1",
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the address; do not open a browser.")
    ] = False,
    catalog: CatalogOpt = None,
    model: ScannedModelOpt = None,
) -> None:
    """Browse, correct and tag your photos in your web browser, offline.

    Prints an address with a secret token (like Jupyter) and opens it. Everything stays on
    this machine: the pages load nothing from the internet. Stop it with Ctrl-C (or
    SIGTERM, SIGHUP: a service manager's stop, a closed terminal), which exits 0.
    """
    with reporting():
        from photolm.catalog import resolve_catalog_path
        from photolm.errors import PhotolmError

        missing = [m for m in DESKTOP_MODULES if importlib.util.find_spec(m) is None]
        if missing:
            raise PhotolmError(f"{INSTALL_HINT} ({', '.join(missing)} missing).")
        from photolm.desktop import server
        from photolm.desktop.security import is_wildcard

        path = resolve_catalog_path(catalog)
        if model is None:  # the model the catalogue was scanned with, when not the default
            from photolm.model_choice import ScannedModelGone, choose_for_viewing

            try:  # a model this photolm lacks (an upgrade's new network): the shipped one
                chosen = choose_for_viewing(None, path)
            except ScannedModelGone:
                raise
            except PhotolmError:  # no model at all: browsing works, scanning says why
                chosen = None
            if chosen is not None and chosen.note:
                say(chosen.note)
                model = chosen.bundle.path
        prepared = server.prepare(path, model, host, port)
        if is_wildcard(host) or host not in ("127.0.0.1", "localhost", "::1"):
            err.print(f"[bold red]WARNING:[/] listening on {host}: anyone on your network who "
                      "gets the address below can see and change your photo catalogue. Use "
                      "--host 127.0.0.1 unless you mean it.", highlight=False)
        err.print("photolm desktop running; open this address (Ctrl-C stops it):",
                  highlight=False)
        out.print(prepared.url, markup=False, highlight=False, soft_wrap=True)

        def open_browser() -> None:
            import webbrowser

            webbrowser.open(prepared.url)

        # Ctrl-C (SIGTERM, SIGHUP: photolm.ctrl_c) is how it is meant to stop, so status 0:
        # a service manager reads 143 as a failed service
        with contextlib.suppress(KeyboardInterrupt):
            server.serve(prepared, on_ready=None if no_browser else open_browser)
        _finish_job(prepared.app)


def _finish_job(app: object) -> None:
    """A job still running when the server stops (Ctrl-C, SIGTERM, SIGHUP) is stopped at
    its next photo and waited for: its thread would otherwise die with the process, and a
    tag job's records of the photos it wrote are saved as it ends (a second Ctrl-C leaves
    at once)."""
    jobs = getattr(getattr(app, "desktop", None), "jobs", None)
    job = None if jobs is None else jobs.current
    if jobs is None or job is None or not job.running:
        return
    jobs.stop()
    with contextlib.suppress(OSError):  # SIGHUP: the terminal is gone; the job is not
        err.print(f"Stopping the running job ({job.title}) after the photo in hand ...",
                  markup=False, highlight=False)
    with contextlib.suppress(KeyboardInterrupt):
        jobs.wait(120)
