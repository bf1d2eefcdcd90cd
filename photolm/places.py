# SPDX-License-Identifier: GPL-3.0-or-later
"""Candidate places: photos no landmark claims, grouped by what they look like and where.

Average-linkage clustering (scipy) on cosine distance, because a group must be alike as a
whole, not chained through one look-alike pair (single linkage merges a street with a
cathedral through a photo of both). Dense average linkage is quadratic in memory, so photos
are first split into the connected components of a k-nearest-neighbour graph with edges no
weaker than the cut (a pair further apart than that can only join through others), and each
component is clustered on its own. GPS is evidence: two photos taken more than ``max_km``
apart are never in one group (their distance is set to the maximum).

Ids must stay the same between runs when nothing changed: input is ordered by the caller's
keys (paths) before anything else, every step is deterministic, and a group is named after
its most central photo.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Cosine-distance cut per vector space (photolm.learned): the highest cut that keeps pairwise
# precision >= 0.95 on photos of the 46 known landmarks mixed with 300 distractors, never
# on the photos reported (scripts/eval_enrolment.py; fused and descriptor: the default
# network's 320-d descriptor). The fine-tuned embedding alone spreads photos of one place
# wider; the generic descriptor alone puts unrelated photos close (0.20 was the lowest cut
# tried: that space is only a fallback for bundles without measured fused thresholds).
CUTS = {"fused": 0.44, "descriptor": 0.20, "embedding": 0.56}
DEFAULT_CUT = CUTS["fused"]
DEFAULT_MIN_PHOTOS = 3
MAX_KM = 1.0
# Photos taken this close together need to look only half as alike to be grouped.
NEAR_KM = 0.3
NEAR_FACTOR = 0.5
_NEIGHBOURS = 15
_BLOCK = 2048
_MAX_DENSE = 6000
_EARTH_KM = 6371.0088


@dataclass(frozen=True)
class Place:
    """One candidate place; ``members`` index the input rows, most central first."""

    id: str
    members: tuple[int, ...]
    latitude: float | None
    longitude: float | None

    @property
    def size(self) -> int:
        return len(self.members)


def place_id(key: str) -> str:
    """A short id from the key (path) of the group's most central photo."""
    return "pl-" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:10]


def group_places(
    vectors: np.ndarray,
    keys: Sequence[str],
    *,
    positions: np.ndarray | None = None,
    cut: float = DEFAULT_CUT,
    min_photos: int = DEFAULT_MIN_PHOTOS,
    max_km: float = MAX_KM,
) -> list[Place]:
    """Groups of at least ``min_photos`` alike photos, biggest first.

    ``vectors``: (N, D) unit rows; ``keys``: one unique string per row (paths);
    ``positions``: (N, 2) latitude/longitude in degrees, NaN where unknown.
    """
    n = len(keys)
    if n == 0:
        return []
    if vectors.shape[0] != n:
        raise ValueError("one key per vector is needed")
    order = np.argsort(np.asarray(keys, dtype=object), kind="stable")
    vec = np.ascontiguousarray(vectors[order], dtype=np.float32)
    pos = None
    if positions is not None:
        pos = np.asarray(positions, dtype=np.float64)[order]
    sorted_keys = [keys[i] for i in order]
    places: list[Place] = []
    for comp in _components(vec, cut, pos):
        if comp.size < min_photos:
            continue
        for members in _cluster(vec[comp], None if pos is None else pos[comp], cut, max_km):
            if members.size < min_photos:
                continue
            rows = comp[members]
            places.append(_place(vec[rows], rows, sorted_keys, pos))
    remap = order  # sorted row -> caller's row
    out = [Place(p.id, tuple(int(remap[i]) for i in p.members), p.latitude, p.longitude)
           for p in places]
    out.sort(key=lambda p: (-p.size, p.id))
    return out


def _components(vec: np.ndarray, cut: float, pos: np.ndarray | None = None
                ) -> list[np.ndarray]:
    """Connected components of the graph linking each row to its nearest neighbours whose
    distance may still be within ``cut`` (after the GPS discount, when positions are known)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = vec.shape[0]
    k = min(_NEIGHBOURS, n - 1)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    if k > 0:
        for start in range(0, n, _BLOCK):
            idx = np.arange(start, min(start + _BLOCK, n))
            # margin over the similarity each pair needs: >= 0 means "may be grouped"
            margin = vec[idx] @ vec.T - (1.0 - cut)
            if pos is not None:
                with np.errstate(invalid="ignore"):
                    km = distances_km(pos[idx], pos)
                    margin[km <= NEAR_KM] += cut / NEAR_FACTOR - cut
                    margin[km > MAX_KM] = -np.inf
            margin[idx - start, idx] = -np.inf
            top = np.argpartition(-margin, k - 1, axis=1)[:, :k]
            keep = np.take_along_axis(margin, top, axis=1) >= 0
            rows.append(np.repeat(idx, k)[keep.ravel()])
            cols.append(top.ravel()[keep.ravel()])
    r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    graph = coo_matrix((np.ones(r.size, dtype=np.int8), (r, c)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    groups = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[groups])) + 1
    return [g for g in np.split(groups, bounds) if g.size]


def _cluster(vec: np.ndarray, pos: np.ndarray | None, cut: float,
             max_km: float) -> list[np.ndarray]:
    """Average-linkage clusters of one component (index arrays into ``vec``)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = vec.shape[0]
    if n == 1:
        return [np.zeros(1, dtype=np.int64)]
    if n > _MAX_DENSE:  # too big for a dense matrix: split it with a stricter graph first
        parts = _components(vec, cut * 0.8, pos)
        if len(parts) == 1:
            return [np.arange(n)]
        return [p[m] for p in parts for m in _cluster(vec[p], None if pos is None else pos[p],
                                                      cut, max_km)]
    dist = 1.0 - (vec @ vec.T).astype(np.float64)
    np.clip(dist, 0.0, 2.0, out=dist)
    if pos is not None:
        km = distances_km(pos, pos)
        with np.errstate(invalid="ignore"):
            dist[km <= NEAR_KM] *= NEAR_FACTOR
            dist[km > max_km] = 2.0
    np.fill_diagonal(dist, 0.0)
    dist = (dist + dist.T) / 2.0
    labels = fcluster(linkage(squareform(dist, checks=False), "average"), cut, "distance")
    groups = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[groups])) + 1
    return list(np.split(groups, bounds))


def distances_km(a_pos: np.ndarray, b_pos: np.ndarray) -> np.ndarray:
    """(A, B) great-circle distances; NaN where either photo has no position."""
    lat_a, lon_a = np.radians(a_pos[:, 0]), np.radians(a_pos[:, 1])
    lat_b, lon_b = np.radians(b_pos[:, 0]), np.radians(b_pos[:, 1])
    dlat = lat_a[:, None] - lat_b[None, :]
    dlon = lon_a[:, None] - lon_b[None, :]
    a = (np.sin(dlat / 2) ** 2
         + np.cos(lat_a)[:, None] * np.cos(lat_b)[None, :] * np.sin(dlon / 2) ** 2)
    return 2 * _EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _place(vec: np.ndarray, rows: np.ndarray, keys: Sequence[str],
           pos: np.ndarray | None) -> Place:
    centrality = (vec @ vec.T).mean(axis=1)
    ranked = rows[np.argsort(-centrality, kind="stable")]
    lat = lon = None
    if pos is not None:
        known = pos[rows]
        known = known[~np.isnan(known).any(axis=1)]
        if known.size:
            lat, lon = (float(v) for v in np.median(known, axis=0))
            if not (math.isfinite(lat) and math.isfinite(lon)):
                lat = lon = None
    return Place(place_id(keys[int(ranked[0])]), tuple(int(i) for i in ranked), lat, lon)
