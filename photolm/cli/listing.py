# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm list``: every catalogued photo with its verdict or its error."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from photolm.cli.options import CatalogOpt, JsonOpt
from photolm.cli.output import (
    Column,
    Row,
    Unnamed,
    display,
    print_json,
    print_json_rows,
    print_row_stream,
    print_rows,
    reporting,
)
from photolm.wording import apart, counted, decimals

if TYPE_CHECKING:
    from photolm.catalog import PhotoRow


def list_photos(
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    errors_only: Annotated[
        bool, typer.Option("--errors", help="Only photos that could not be processed.")
    ] = False,
    uncertain: Annotated[
        bool, typer.Option("--uncertain",
                           help="Only photos whose best candidate is close to the threshold "
                           "(either side), with their top 3, for `photolm confirm`.")
    ] = False,
    margin: Annotated[
        float | None, typer.Option("--margin", min=0.0, max=1.0, show_default=False,
                                   help="How close to the threshold counts as uncertain "
                                   "(--uncertain). Default: 0.1.")
    ] = None,
) -> None:
    """List every photo in the catalogue: landmark and score, "no landmark", or the error.

    Also why: the best candidate and the threshold when nothing passed it, what GPS said
    about the match, your confirmation or correction, and whether (and where) photolm
    wrote tags. Photos you already confirmed or corrected are never "uncertain".
    """
    with reporting():
        from photolm.catalog import Catalog, resolve_catalog_path
        from photolm.cli.usage import options_clash

        if errors_only and uncertain:
            raise options_clash("list", "Use one of --errors and --uncertain.")
        with Catalog.open(resolve_catalog_path(catalog), write=False) as cat:
            thresholds = cat.thresholds()
            if not (uncertain or errors_only):
                # row by row while the catalogue is read: never 100,000 photos at once
                if json_out:
                    print_json_rows(photo_json(p, thresholds.get(p.bundle_id or ""))
                                    for p in cat.iter_photos())
                    return

                def listed() -> Iterator[Row]:
                    for p in cat.iter_photos():
                        r = photo_json(p, thresholds.get(p.bundle_id or ""))
                        yield Row(_cells(r), r["companions"], p.recognised_from_note,
                                  p.recognised_from_alone)

                with cat.snapshot():  # the title and both reads of one catalogue state
                    print_row_stream(counted(cat.counts()["photos"], "photo"), LIST_COLUMNS,
                                     listed, raws=cat.any_companions())
                return
            # the uncertain ones and the unreadable ones: the catalogue's rules, shared
            # with the desktop's review and its page of photos that could not be read
            photos = (cat.uncertain(*(() if margin is None else (margin,))) if uncertain
                      else cat.unreadable())
            rows = [photo_json(p, thresholds.get(p.bundle_id or "")) for p in photos]
            unknown = cat.without_threshold() if uncertain else 0
        if unknown:  # never a silent "0 uncertain photos" on an older photolm's catalogue
            from photolm.cli.output import say

            them = "it" if unknown == 1 else "them"
            say(f"{counted(unknown, 'photo')} left out: an earlier photolm recognised {them} "
                f"and kept no threshold for its model; photolm scan once to include {them}")
        if json_out:
            print_json(rows)
        elif uncertain:
            _render_uncertain(rows, photos)
        else:
            _render_errors(rows, photos)


LIST_COLUMNS = [Column("path", path=True), Column("landmark"), Column("score", justify="right"),
                Column("why")]


def _cells(r: dict[str, Any]) -> tuple[str, Text | Unnamed, str, str]:
    """One photo's row: path, verdict, score, why. An unreadable photo's verdict says so
    in the words of ``list --errors``' title ("could not be read: empty file") and goes
    unnamed in a block, where "landmark error: empty file" read as a landmark's error."""
    if r["error"]:
        verdict = Text(f"could not be read: {r['error']}", style="red")
    elif r["landmark"]:
        verdict = Text(r["landmark"])
    else:
        verdict = Text("no landmark", style="dim")
    if r["missing"]:
        verdict.append(" (missing)", style="yellow")
    score = f"{r['score']:.2f}" if r["score"] is not None else ""
    return (r["path"], Unnamed(verdict) if r["error"] else verdict, score, _why(r))


def _render_errors(rows: list[dict[str, Any]], photos: Sequence[PhotoRow]) -> None:
    """Each photo's reason under an "error" column, under a title that says they could not
    be read: a block reads "error empty file"."""
    print_rows(counted(len(rows), "photo") + " that could not be read",
               [Column("path", path=True), Column("error")],
               [(r["path"], Text(r["error"] + (" (missing)" if r["missing"] else ""),
                                 style="red")) for r in rows], **raw_columns(photos))


def _render_uncertain(rows: list[dict[str, Any]], photos: Sequence[PhotoRow]) -> None:
    cells = []
    for r in rows:
        best = r["candidates"][0]["score"] if r["candidates"] else None
        n = decimals(best, r["threshold"])
        cells.append((r["path"], r["landmark"] or "no landmark",
                      ", ".join(f"{c['name']} {c['score']:.{n}f}" for c in r["candidates"]),
                      f"{r['threshold']:.{n}f}"))
    print_rows(f"{counted(len(rows), 'uncertain photo')}, closest to the threshold first",
               [Column("path", path=True), Column("landmark"), Column("top 3"),
                Column("threshold", justify="right")], cells,
               note="Tell photolm what they show: photolm confirm PHOTO (the landmark "
               "recognised), --landmark NAME (another one) or --none." if rows else None,
               **raw_columns(photos))


def raw_columns(photos: Sequence[PhotoRow]) -> dict[str, list[Any]]:
    """:func:`photolm.cli.output.print_rows`' ``raws``, ``raw_notes`` and ``notes`` for rows
    of these photos: their RAWs' names, and the catalogue's one wording of a verdict that
    came from a RAW's preview (:attr:`~photolm.catalog.PhotoRow.recognised_from_note`, as
    the desktop), beside the RAWs or, when that RAW is gone and none is left, on a line of
    its own (:attr:`~photolm.catalog.PhotoRow.recognised_from_alone`)."""
    return {"raws": [[display(c) for c in p.companions] for p in photos],
            "raw_notes": [p.recognised_from_note for p in photos],
            "notes": [p.recognised_from_alone for p in photos]}


def photo_json(p: PhotoRow, threshold: float | None = None) -> dict[str, Any]:
    """One photo for ``--json``: ``landmark``/``score`` are what counts (a person's answer
    over the model's), ``recognised_*`` what the model said after GPS evidence;
    ``best_candidate``/``candidates`` the model's top scores whatever the threshold
    (``threshold``: the bundle's, when known); ``companions`` the camera RAW files of the same
    shot beside it; ``recognised_from`` the RAW whose preview was recognised because the
    photo's own file could not be read (``None``: recognised from the photo's own file)."""
    top = p.topk
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
        "tag_landmark": p.tag_landmark, "tag_files": [display(f) for f in p.tag_files],
        "tag_error": p.tag_error,
        "tagged_at": p.tagged_at, "companions": [display(c) for c in p.companions],
        "recognised_from": recognised_from(p),
        "best_candidate": top[0] if top else None, "candidates": top[:3],
        "threshold": threshold, "gate_reason": gate_reason(top, threshold),
    }


def recognised_from(p: PhotoRow) -> str | None:
    """The RAW whose preview the verdict came from (``None``: the photo's own file), printed
    as its photo's path is, also once that RAW is gone."""
    if p.recognised_from is None:
        return None
    return display(p.recognised_from_file
                   or os.path.join(os.path.dirname(p.path), p.recognised_from))


def gate_reason(top: list[dict[str, Any]], threshold: float | None) -> str | None:
    """Why the model's best candidate is not the match although it scored above the
    threshold: its generic descriptor is far from the landmark's (the bundle's gate)."""
    best = top[0] if top else None
    if (not best or best.get("gate") is None or best.get("descriptor_score") is None
            or threshold is None or best["score"] < threshold):
        return None
    score, gate = apart(best["descriptor_score"], best["gate"])
    return (f"{best['name']} {best['score']:.2f} rejected: the photo does not look like it "
            f"to the generic descriptor ({score}, below the gate {gate})")


def _why(r: dict[str, Any]) -> str:
    """A short account for the table: your answer, GPS's reason, what photolm wrote."""
    parts: list[str] = []
    if r["review"] == "confirmed":
        parts.append("confirmed by you")
    elif r["review"] == "corrected":
        parts.append(f"corrected by you (model: {r['recognised_landmark'] or 'no landmark'})")
    elif r["review"] == "none":
        parts.append("you said: no landmark")
    best, threshold = r["best_candidate"], r["threshold"]
    if (r["landmark"] is None and r["review"] is None and not r["error"] and best is not None
            and threshold is not None and best["score"] < threshold):
        score, bar = apart(best["score"], threshold)
        parts.append(f"best candidate {best['name']} {score}, below the threshold {bar}")
    if r["gate_reason"] and r["landmark"] is None and r["review"] is None:
        parts.append(r["gate_reason"])
    if r["gps_reason"] and (r["gps_changed"] or r["review"] is None):
        parts.append(r["gps_reason"])
    if r["tag_status"] == "failed":
        parts.append(f"{r['tag_action']} failed: {r['tag_error']}")
    elif r["tag_action"] == "tag" and r["tag_status"] in ("written", "unchanged"):
        parts.append(f"tagged ({r['tag_mode']})")
    elif r["tag_action"] == "untag" and r["tag_status"] == "removed":
        parts.append("tags removed")
    return "; ".join(parts)
