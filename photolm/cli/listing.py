# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm list``: every catalogued photo with its verdict or its error."""

from __future__ import annotations

from typing import Annotated

import typer

from photolm.cli.options import CatalogOpt, JsonOpt
from photolm.cli.output import display, out, print_json, reporting


def list_photos(
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    errors_only: Annotated[
        bool, typer.Option("--errors", help="Only photos that could not be processed.")
    ] = False,
) -> None:
    """List every photo in the catalogue: landmark and score, "no landmark", or the error."""
    with reporting():
        from photolm.catalog import Catalog, resolve_catalog_path

        with Catalog.open(resolve_catalog_path(catalog), write=False) as cat:
            rows = [
                {"path": display(p.path), "landmark": p.landmark_name, "score": p.score,
                 "error": p.error, "missing": bool(p.missing), "taken": p.taken}
                for p in cat.iter_photos()
                if not errors_only or p.error
            ]
        if json_out:
            print_json(rows)
            return
        from rich.table import Table

        table = Table(title=f"{len(rows)} photo(s)", title_justify="left")
        table.add_column("path", overflow="fold")
        table.add_column("landmark")
        table.add_column("score", justify="right")
        for r in rows:
            verdict = f"[red]error: {r['error']}[/]" if r["error"] else (
                r["landmark"] or "[dim]no landmark[/]")
            if r["missing"]:
                verdict += " [yellow](missing)[/]"
            score = f"{r['score']:.2f}" if r["score"] is not None else ""
            table.add_row(r["path"], verdict, score)
        out.print(table)
