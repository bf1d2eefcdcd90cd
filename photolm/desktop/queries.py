# SPDX-License-Identifier: GPL-3.0-or-later
"""What the desktop's pages gather from the catalogue, built from its public queries.

The queries themselves (a photo by id, the uncertain photos, the scanned folders, GPS
places) live in :mod:`photolm.catalog.reading`, shared with the CLI. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from photolm.bundle import Landmark
    from photolm.catalog import Catalog, PhotoRow


@dataclass(frozen=True)
class LandmarkSummary:
    """A landmark on the front page: how many photos show it and which one stands for it."""

    landmark_id: str
    name: str
    count: int
    cover: PhotoRow | None
    place: str


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
