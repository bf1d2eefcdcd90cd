# SPDX-License-Identifier: GPL-3.0-or-later
"""Catalogue reads that only the desktop needs, written against the public Catalog API.

Kept together so they can move into the catalogue package's read-queries module in one step
once it exists (the lead was told). Nothing here writes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from photolm.bundle import Landmark
    from photolm.catalog import Catalog, PhotoRow

# How close to the threshold a top candidate's score must be to call the photo uncertain.
UNCERTAIN_MARGIN = 0.1


@dataclass(frozen=True)
class LandmarkSummary:
    """A landmark on the front page: how many photos show it and which one stands for it."""

    landmark_id: str
    name: str
    count: int
    cover: PhotoRow | None
    place: str


def photo_by_id(catalog: Catalog, photo_id: int) -> PhotoRow | None:
    """A photo by its catalogue id: the only way the desktop refers to a photo."""
    found = catalog.conn.execute(
        "SELECT path_key FROM photos WHERE id = ?", (int(photo_id),)).fetchone()
    return None if found is None else catalog.get_photo(os.fsdecode(found[0]))


def known_roots(catalog: Catalog) -> list[str]:
    """Every folder (or photo) a scan was asked to look at, oldest first, each once."""
    roots: dict[str, None] = {}
    for (text,) in catalog.conn.execute("SELECT roots FROM scans ORDER BY id"):
        for root in json.loads(text or "[]"):
            roots.setdefault(str(root))
    return list(roots)


def place_of(landmark: Landmark | None) -> str:
    if landmark is None:
        return ""
    return ", ".join(p for p in (landmark.city, landmark.country) if p)


def landmark_summaries(catalog: Catalog) -> list[LandmarkSummary]:
    """Landmarks with photos (what counts: a person's answer over the model's), most first."""
    records = {lm.id: lm for lm in catalog.landmarks()}
    counts = catalog.landmark_counts(include_missing=False)
    out: list[LandmarkSummary] = []
    for landmark_id, count in counts.items():
        best = catalog.photos([landmark_id], include_missing=False, limit=1)
        cover = best[0] if best else None
        record = records.get(landmark_id)
        name = record.name if record else (cover.effective_landmark_name if cover else None)
        out.append(LandmarkSummary(landmark_id, name or landmark_id, int(count), cover,
                                   place_of(record)))
    out.sort(key=lambda s: (-s.count, s.name.casefold()))
    return out


def landmark_photos(catalog: Catalog, landmark_id: str, order: str) -> list[PhotoRow]:
    """A landmark's photos, ``"score"`` (best first) or ``"newest"`` (undated last)."""
    if order == "newest":
        rows = catalog.photos([landmark_id], order="taken", include_missing=False)
        dated = [r for r in rows if r.taken]
        return dated[::-1] + [r for r in rows if not r.taken]
    return catalog.photos([landmark_id], order="score", include_missing=False)


def top_score(row: PhotoRow) -> float | None:
    top = row.topk
    return float(top[0]["score"]) if top else None


def uncertain_photos(catalog: Catalog, threshold: float,
                     margin: float = UNCERTAIN_MARGIN) -> list[PhotoRow]:
    """Photos no person answered for whose best candidate scored within ``margin`` of the
    threshold, closest to it first: the ones a quick look settles best.

    Built on the stored top-k until the catalogue's own uncertain query lands; then this
    becomes a call to it.
    """
    found: list[tuple[float, str, PhotoRow]] = []
    for row in catalog.iter_photos():
        if row.review is not None or row.error is not None or row.missing:
            continue
        score = top_score(row)
        if score is not None and abs(score - threshold) <= margin:
            found.append((abs(score - threshold), row.path, row))
    found.sort(key=lambda t: (t[0], t[1]))
    return [row for _, _, row in found]
