# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm list``: every catalogued photo with its verdict or its error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from photolm.cli.options import CatalogOpt, JsonOpt
from photolm.cli.output import display, out, print_json, reporting

if TYPE_CHECKING:
    from photolm.catalog import PhotoRow


def list_photos(
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    errors_only: Annotated[
        bool, typer.Option("--errors", help="Only photos that could not be processed.")
    ] = False,
) -> None:
    """List every photo in the catalogue: landmark and score, "no landmark", or the error.

    Also why: what GPS said about the match, your confirmation or correction, and whether
    (and where) photolm wrote tags.
    """
    with reporting():
        from photolm.catalog import Catalog, resolve_catalog_path

        with Catalog.open(resolve_catalog_path(catalog), write=False) as cat:
            rows = [photo_json(p) for p in cat.iter_photos() if not errors_only or p.error]
        if json_out:
            print_json(rows)
            return
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=f"{len(rows)} photo(s)", title_justify="left")
        table.add_column("path", overflow="fold")
        table.add_column("landmark")
        table.add_column("score", justify="right")
        table.add_column("why", overflow="fold")
        for r in rows:
            verdict = f"[red]error: {escape(r['error'])}[/]" if r["error"] else (
                escape(r["landmark"]) if r["landmark"] else "[dim]no landmark[/]")
            if r["missing"]:
                verdict += " [yellow](missing)[/]"
            score = f"{r['score']:.2f}" if r["score"] is not None else ""
            table.add_row(escape(r["path"]), verdict, score, escape(_why(r)))
        out.print(table)


def photo_json(p: PhotoRow) -> dict[str, Any]:
    """One photo for ``--json``: ``landmark``/``score`` are what counts (a person's answer
    over the model's), ``recognised_*`` what the model said after GPS evidence."""
    return {
        "path": display(p.path), "landmark": p.effective_landmark_name,
        "score": p.effective_score, "error": p.error, "missing": bool(p.missing),
        "taken": p.taken, "landmark_id": p.effective_landmark_id,
        "recognised_landmark": p.landmark_name, "recognised_score": p.score,
        "latitude": p.latitude, "longitude": p.longitude,
        "gps_verdict": p.gps_verdict, "gps_reason": p.gps_reason, "gps_changed": p.gps_changed,
        "visual_landmark": p.visual_landmark_name, "visual_score": p.visual_score,
        "review": p.review, "reviewed_at": p.reviewed_at,
        "tag_action": p.tag_action, "tag_status": p.tag_status, "tag_mode": p.tag_mode,
        "tag_landmark": p.tag_landmark, "tag_files": p.tag_files, "tag_error": p.tag_error,
        "tagged_at": p.tagged_at,
    }


def _why(r: dict[str, Any]) -> str:
    """A short account for the table: your answer, GPS's reason, what photolm wrote."""
    parts: list[str] = []
    if r["review"] == "confirmed":
        parts.append("confirmed by you")
    elif r["review"] == "corrected":
        parts.append(f"corrected by you (model: {r['recognised_landmark'] or 'no landmark'})")
    elif r["review"] == "none":
        parts.append("you said: no landmark")
    if r["gps_reason"] and (r["gps_changed"] or r["review"] is None):
        parts.append(r["gps_reason"])
    if r["tag_status"] == "failed":
        parts.append(f"{r['tag_action']} failed: {r['tag_error']}")
    elif r["tag_action"] == "tag" and r["tag_status"] in ("written", "unchanged"):
        parts.append(f"tagged ({r['tag_mode']})")
    elif r["tag_action"] == "untag" and r["tag_status"] == "removed":
        parts.append("tags removed")
    return "; ".join(parts)
