# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm search``: photos of a landmark, by name, alias, city or country."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from photolm.cli.options import CatalogOpt, JsonOpt
from photolm.cli.output import display, err, out, print_json, reporting


def search(
    query: Annotated[
        str,
        typer.Argument(help='A landmark, alias, city or country: "Eiffel Tower", "colosseo", '
                       '"Paris". Typos and accents are forgiven.', show_default=False),
    ],
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Show at most this many photos.",
                                 show_default=False)
    ] = None,
) -> None:
    """Find photos by landmark name, best matches first.

    Your answers from **photolm confirm** count over the model's: a corrected photo is
    found under the landmark you named, and photos you confirmed come first.
    """
    with reporting():
        from photolm.catalog import Catalog, resolve_catalog_path
        from photolm.names import LandmarkIndex, describe_matches, require_query

        require_query(query)  # nothing to search for: a usage error (exit 2)
        with Catalog.open(resolve_catalog_path(catalog), write=False) as cat:
            index = LandmarkIndex(cat.landmarks())
            hits = index.search(query)
            if not hits:
                if json_out:
                    print_json([])
                err.print(escape(index.unknown(query)))
                raise typer.Exit(1)
            ids = list(dict.fromkeys(h.landmark_id for h in hits))
            photos = cat.photos(landmark_ids=ids, limit=limit)
        rows = [
            {"path": display(p.path), "landmark": p.effective_landmark_name,
             "score": p.effective_score, "landmark_id": p.effective_landmark_id,
             "taken": p.taken, "review": p.review, "gps_reason": p.gps_reason}
            for p in photos
        ]
        if json_out:
            print_json(rows)
            return
        names = escape(describe_matches(hits, first=(r["landmark_id"] for r in rows)))
        if not rows:
            err.print(f"No photos of {names} in the catalogue yet.")
            return
        from rich.table import Table

        table = Table(title=f"{len(rows)} photo(s) of {names}", title_justify="left")
        table.add_column("score", justify="right")
        table.add_column("landmark")
        table.add_column("taken")
        table.add_column("path", overflow="fold")
        for r in rows:
            score = "" if r["score"] is None else f"{r['score']:.2f}"
            shown = f"{r['landmark']} (confirmed)" if r["review"] else r["landmark"]
            table.add_row(score, shown, r["taken"] or "", r["path"])
        out.print(table)
