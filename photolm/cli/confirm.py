# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm confirm``: a person's word on what a photo shows, which outranks the model's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from photolm.cli.options import CatalogOpt, JsonOpt
from photolm.cli.output import display, print_json, reporting, say, warn, warn_not_catalogued
from photolm.wording import counted


def confirm(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Photos (or folders of photos) you looked at.", show_default=False,
                       metavar="PHOTOS"),
    ],
    landmark: Annotated[
        str | None,
        typer.Option("--landmark", "-l", show_default=False,
                     help='What they really show: a landmark of the model, typos forgiven '
                     '("colloseum"). Without it, the recognised landmark is confirmed.'),
    ] = None,
    no_landmark: Annotated[
        bool, typer.Option("--none", help="They show no landmark: never tag them.")
    ] = False,
    clear: Annotated[
        bool, typer.Option("--clear", help="Forget your earlier answer: the model decides again.")
    ] = False,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Confirm or correct the landmark of photos, or say they show none.

    Your answer counts over the model's: **search**, **list** and **tag**
    use it (a confirmed photo is tagged even below the score threshold), and a re-scan
    never overwrites it. Exit status: 0 when every photo got your answer, 1 when some did
    not (not catalogued, or nothing recognised to confirm) or when --landmark names no
    landmark photolm knows.
    """
    with reporting():
        from photolm.catalog import Catalog, Review, resolve_catalog_path
        from photolm.cli.usage import options_clash
        from photolm.review import resolve_landmark, review_for
        from photolm.tagging import select_photos

        if sum((landmark is not None, no_landmark, clear)) > 1:
            raise options_clash("confirm", "Use at most one of --landmark, --none and --clear.")
        with Catalog.open(resolve_catalog_path(catalog), write=True, create=False) as cat:
            chosen = resolve_landmark(cat, landmark) if landmark is not None else None
            selection = select_photos(cat, paths)
            for path in selection.unmatched:
                warn_not_catalogued(path)
            reviews: list[Review] = []
            rows: list[dict[str, Any]] = []
            problems = len(selection.unmatched)
            for row in selection.rows:
                review = review_for(row, chosen, no_landmark=no_landmark, clear=clear)
                if review is None:
                    why = (f"could not be read at the last scan ({row.error})" if row.error
                           else "no landmark recognised")
                    warn(row.path, f"{why}, so nothing to confirm; name it with "
                         "--landmark NAME, or say --none")
                    problems += 1
                    continue
                reviews.append(review)
                rows.append({
                    "path": display(row.path), "review": review.verdict,
                    "landmark": review.landmark_name if review.verdict else row.landmark_name,
                    "landmark_id": review.landmark_id if review.verdict else row.landmark_id,
                    "recognised_landmark": row.landmark_name,
                    "previous_review": row.review,  # the answer this one replaces, if any
                })
            cat.set_reviews(reviews)
        if json_out:
            print_json(rows)
        elif rows:
            say(_summary(rows))
        raise typer.Exit(1 if problems else 0)


def _summary(rows: list[dict[str, Any]]) -> str:
    """One line, e.g. ``3 photos: Colosseum (2 corrected, 1 confirmed)``."""
    by_answer: dict[str, dict[str, int]] = {}
    for r in rows:
        shown = {None: "the model decides again", "none": "no landmark"}.get(
            r["review"], r["landmark"])
        kinds = by_answer.setdefault(shown, {})
        # --clear: only a photo that had an answer had one cleared
        kind = r["review"] or ("cleared" if r["previous_review"] else "had none")
        kinds[kind] = kinds.get(kind, 0) + 1
    parts = []
    for shown, kinds in by_answer.items():
        # "no landmark" says the answer already: not "no landmark (3 none)"
        detail = ", ".join(
            f"{counted(n, 'answer')} cleared" if kind == "cleared" else f"{n} {kind}"
            for kind, n in sorted(kinds.items()) if kind != "none")
        parts.append(f"{shown} ({detail})" if detail else shown)
    return f"{counted(len(rows), 'photo')}: " + "; ".join(parts)
