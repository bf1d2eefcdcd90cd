# SPDX-License-Identifier: GPL-3.0-or-later
"""Re-deciding catalogued photos from their stored vectors after landmarks changed.

Right after a learn or an unlearn every catalogued photo embedded by the bundle's model
is re-matched from its stored vectors, a page of 20,000 at a time, and only photos whose
verdict changed are written: no photo is decoded again. Library code: nothing here
prints; progress goes through a callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from photolm.bundle import Bundle
from photolm.learned import CombinedMatcher, GpsWeigher, uses_descriptor

if TYPE_CHECKING:
    from photolm.catalog import Catalog, MatchUpdate

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class RematchResult:
    photos: int = 0
    changed: int = 0
    seconds: float = 0.0


def rematch(cat: Catalog, bundle: Bundle, matcher: CombinedMatcher,
            progress: Progress = no_progress, *, affected: set[str] | None = None
            ) -> RematchResult:
    """Re-decide photos embedded by the bundle's model from their stored vectors.

    ``affected``: the landmark ids that changed (learned, unlearned). Only photos whose
    verdict they can change are re-decided then: those showing one of them now, and those
    scoring within reach of the threshold for one of them (GPS may accept a candidate a
    little below it), and those whose candidate list names one of them (an unlearned
    landmark must leave it). Scoring those columns is one matrix product per page of
    20,000, so 100,000 photos take seconds; a photo whose top-k list would only gain a
    candidate far below the threshold keeps its list. ``None``: every photo is re-decided.
    A photo is written, and counted in ``changed``, only when its verdict or list changed
    (learning the same examples again changes nothing, and says so); with ``affected``, a
    photo with GPS is always written, as a moved or new position may change what GPS says
    of it.
    """
    return rematch_into(cat, bundle, matcher, progress, affected, cat.update_matches)


def rematch_into(cat: Catalog, bundle: Bundle, matcher: CombinedMatcher,
                 progress: Progress, affected: set[str] | None,
                 store: Callable[[list[MatchUpdate]], int]) -> RematchResult:
    """:func:`rematch`, handing each page's new verdicts to ``store`` (returns how many)."""
    from photolm.geo import NEAR_SCORE_MARGIN

    start = time.perf_counter()
    result = RematchResult()
    weigh_gps = GpsWeigher(matcher)
    total = cat.count_embedded(bundle.model_id)
    # candidate lists naming an affected landmark: an unlearned one must leave them, and a
    # learned one's score in them is a new one
    listing = cat.listing_candidates(sorted(affected)) if affected is not None else set()
    progress("re-matching", 0, total)
    for page in cat.vector_pages(bundle.model_id,
                                 with_descriptors=uses_descriptor(matcher.space)):
        rows = np.arange(page.ids.size)
        if affected is not None:
            near = matcher.threshold - NEAR_SCORE_MARGIN
            reach = (matcher.scores_for(affected, page.embeddings, page.descriptors,
                                        page.has_descriptor) >= near).any(axis=1)
            showing = np.fromiter((lid in affected for lid in page.landmark_ids), dtype=bool,
                                  count=page.ids.size)
            listed = np.fromiter((int(i) in listing for i in page.ids), dtype=bool,
                                 count=page.ids.size)
            rows = np.flatnonzero(reach | showing | listed)
        if rows.size and (updates := _redecide(cat, bundle, matcher, page, rows, weigh_gps,
                                               only_changed=affected is None)):
            result.changed += store(updates)
        result.photos += page.ids.size
        progress("re-matching", result.photos, total)
    result.seconds = time.perf_counter() - start
    return result


def _redecide(cat: Catalog, bundle: Bundle, matcher: CombinedMatcher, page: Any,
              rows: np.ndarray, weigh_gps: GpsWeigher, *, only_changed: bool
              ) -> list[MatchUpdate]:
    """Match ``rows`` of a page, weigh GPS: the new verdicts (those that changed)."""
    from photolm.catalog import MatchUpdate
    from photolm.catalog.records import topk_json

    details = {r.id: r for r in cat.rematch_rows(page.ids[rows].tolist())}
    desc = None if page.descriptors is None else page.descriptors[rows]
    mask = None if page.has_descriptor is None else page.has_descriptor[rows]
    matches = matcher.match(page.embeddings[rows], desc, mask)
    updates = []
    for photo_id, match in zip(page.ids[rows].tolist(), matches, strict=True):
        row = details.get(photo_id)
        if row is None:
            continue
        geo = weigh_gps(match, row.latitude, row.longitude)
        best = geo.match
        topk = [c.to_json() for c in match.top]
        same = row.landmark_id == (best.landmark_id if best else None) and (
                best is None or (row.score is not None and abs(row.score - best.score) < 1e-6)
        ) and row.topk == topk_json(topk)
        if same and (only_changed or row.latitude is None):
            continue
        updates.append(MatchUpdate(
            row.path, bundle.bundle_id,
            best.landmark_id if best else None, best.name if best else None,
            best.score if best else None, topk,
            gps=geo if geo.verdict is not None else None))
    return updates
