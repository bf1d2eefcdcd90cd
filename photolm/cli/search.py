# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm search``: photos of a landmark, by name, alias, city or country."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from photolm.cli.listing import raw_columns, recognised_from
from photolm.cli.options import CatalogOpt, JsonOpt
from photolm.cli.output import Column, display, err, print_json, print_rows, reporting
from photolm.wording import counted

if TYPE_CHECKING:
    from photolm.catalog import PhotoRow


def search(
    words: Annotated[
        list[str],
        typer.Argument(help='A landmark, alias, city or country: "Eiffel Tower", "colosseo", '
                       '"Paris", or in another language: "埃菲尔铁塔", "巴黎". Typos and '
                       'accents are forgiven; the quotes may be left out.',
                       show_default=False, metavar="QUERY"),
    ],
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Show at most this many photos.",
                                 show_default=False)
    ] = None,
    include_missing: Annotated[
        bool, typer.Option("--include-missing",
                           help="Also show photos whose files the last scan did not find "
                           "(marked missing); `photolm prune` forgets them.")
    ] = False,
) -> None:
    """Find photos by landmark name, best matches first.

    Your answers from **photolm confirm** count over the model's: a corrected photo is
    found under the landmark you named, and photos you confirmed come first. Exit status:
    0 (also when no photo shows it yet), 1 when photolm knows no landmark, city or country
    of that name.
    """
    with reporting():
        from photolm.catalog import Catalog, resolve_catalog_path
        from photolm.names import LandmarkIndex, describe_matches, require_query

        query = " ".join(words)  # `photolm search eiffel tower` is one query, as typed
        require_query(query)  # nothing to search for: a usage error (exit 2)
        with Catalog.open(resolve_catalog_path(catalog), write=False) as cat:
            index = LandmarkIndex(cat.landmarks())
            hits = index.search(query)
            if not hits:
                if json_out:
                    print_json([])
                err.print(index.unknown(query), markup=False)
                raise typer.Exit(1)
            ids = list(dict.fromkeys(h.landmark_id for h in hits))
            photos = cat.photos(landmark_ids=ids, limit=limit, include_missing=include_missing)
            total = cat.count_photos(ids, include_missing=include_missing)
            hidden = 0 if include_missing else cat.count_photos(ids) - total
        rows = [
            {"path": display(p.path), "landmark": p.effective_landmark_name,
             "score": p.effective_score, "landmark_id": p.effective_landmark_id,
             "taken": p.taken, "review": p.review, "gps_reason": p.gps_reason,
             "missing": p.missing, "companions": [display(c) for c in p.companions],
             "recognised_from": recognised_from(p)}
            for p in photos
        ]
        if json_out:
            print_json(rows)
            return
        names = describe_matches(hits, first=(r["landmark_id"] for r in rows))
        _render(rows, photos, names, total, hidden)


def _render(rows: list[dict[str, Any]], photos: Sequence[PhotoRow], names: str, total: int,
            hidden: int) -> None:
    """The table (or plain lines); its title says how many photos match in all, even when
    ``--limit`` shows fewer, and a note says how many missing ones were left out."""
    note = (f"{hidden} more whose files are missing: --include-missing shows them, "
            "`photolm prune` forgets them." if hidden else None)
    if not rows:
        err.print(f"No photos of {names} in the catalogue yet.", markup=False)
        if note:
            err.print(note, markup=False)
        return
    shown = (f"{len(rows)} of {counted(total, 'photo')}" if total > len(rows)
             else counted(len(rows), "photo"))
    cells = []
    for r in rows:
        # your answer: the model's landmark confirmed, or another one named instead
        landmark = f"{r['landmark']} ({r['review']})" if r["review"] else r["landmark"]
        if r["missing"]:
            landmark += " (file missing)"
        score = "" if r["score"] is None else f"{r['score']:.2f}"
        cells.append((score, landmark, r["taken"] or "", r["path"]))
    print_rows(f"{shown} of {names}",
               [Column("score", justify="right"), Column("landmark"), Column("taken"),
                Column("path", path=True)], cells, note=note,
               **raw_columns(photos))
