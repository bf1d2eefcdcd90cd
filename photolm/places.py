# SPDX-License-Identifier: GPL-3.0-or-later
"""Candidate places: photos no landmark claims, grouped by what they look like and where.

Average-linkage clustering (scipy) on cosine distance, because a group must be alike as a
whole, not chained through one look-alike pair (single linkage merges a street with a
cathedral through a photo of both). Dense average linkage is quadratic in memory, so photos
are first split into the connected components of a k-nearest-neighbour graph with edges no
weaker than the cut (a pair further apart than that can only join through others), and each
component is clustered on its own.

GPS is evidence, in tiers (:class:`Cuts`): two photos taken more than ``max_km`` apart are
never in one group; two taken within ``max_km`` need to look less alike, and two taken at
the same spot (``NEAR_KM``) much less. A place seen from several sides (a palace's gate, its
throne hall, its gardens) comes out of the clustering as several groups at one spot; groups
whose photos were taken at one spot and whose mean looks are alike are then joined.

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

NEAR_KM = 0.3
# Photos taken further apart than this are never one place. A bay or a valley photographed
# from kilometres apart then comes out as several places; letting the look alone decide
# beyond this (25 km tried) joined neighbouring landmarks of one city instead, and a wrong
# join is worse than a split (scripts/eval_enrolment.py; README, "How well it works").
MAX_KM = 1.0
# Groups whose GPS centres lie this close together may be joined.
JOIN_KM = 0.5


@dataclass(frozen=True)
class Cuts:
    """Cosine-distance cuts for a pair of photos, by what their GPS says, and the one for
    joining groups taken at one spot (distance between the groups' mean vectors)."""

    alike: float  # either photo has no GPS: the look alone decides
    nearby: float  # both taken within MAX_KM of each other
    same_spot: float  # both taken within NEAR_KM of each other
    join: float

    @classmethod
    def scaled(cls, alike: float) -> Cuts:
        """Cuts for a space measured without GPS only: the fused space's ratios."""
        ref = CUTS["fused"]
        return cls(alike, alike * ref.nearby / ref.alike, alike * ref.same_spot / ref.alike,
                   alike * ref.join / ref.alike)


# Cuts per vector space (photolm.learned), chosen by scripts/eval_enrolment.py on photos of
# the 46 known landmarks mixed with 300 distractors and 100 photos of people taken at the
# landmarks, never on the photos reported: the loosest cuts that keep pairwise precision
# >= 0.95, first without GPS (``alike``), then with simulated GPS for the others, letting at
# most 1 of those people photos into a landmark's group (naming the group would make it an
# example of the landmark). The fine-tuned embedding alone spreads photos of one place
# wider; the generic descriptor alone puts unrelated photos close (0.20 was the lowest cut
# tried): those two spaces are only fallbacks, with the fused space's GPS ratios.
CUTS = {"fused": Cuts(alike=0.44, nearby=0.56, same_spot=0.88, join=0.30)}
CUTS["descriptor"] = Cuts.scaled(0.20)
CUTS["embedding"] = Cuts.scaled(0.56)
DEFAULT_CUTS = CUTS["fused"]
DEFAULT_MIN_PHOTOS = 3
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
    cuts: Cuts | float = DEFAULT_CUTS,
    min_photos: int = DEFAULT_MIN_PHOTOS,
    max_km: float = MAX_KM,
) -> list[Place]:
    """Groups of at least ``min_photos`` alike photos, biggest first.

    ``vectors``: (N, D) unit rows; ``keys``: one unique string per row (paths);
    ``positions``: (N, 2) latitude/longitude in degrees, NaN where unknown; ``cuts``: a
    :class:`Cuts`, or one cut for photos without GPS (the others scaled from it).
    """
    n = len(keys)
    if n == 0:
        return []
    if vectors.shape[0] != n:
        raise ValueError("one key per vector is needed")
    if not isinstance(cuts, Cuts):
        cuts = Cuts.scaled(float(cuts))
    order = np.argsort(np.asarray(keys, dtype=object), kind="stable")
    vec = np.ascontiguousarray(vectors[order], dtype=np.float32)
    pos = None
    if positions is not None:
        pos = np.asarray(positions, dtype=np.float64)[order]
        if np.isnan(pos).any(axis=1).all():
            pos = None
    sorted_keys = [keys[i] for i in order]
    groups: list[np.ndarray] = []
    for comp in _components(vec, cuts, pos, max_km):
        if comp.size < 2:
            continue
        groups.extend(comp[members] for members in
                      _cluster(vec[comp], None if pos is None else pos[comp], cuts, max_km))
    if pos is not None:
        groups = _join_at_one_spot(vec, pos, groups, cuts.join)
    places = [_place(vec[rows], rows, sorted_keys, pos) for rows in groups
              if rows.size >= min_photos]
    out = [Place(p.id, tuple(int(order[i]) for i in p.members), p.latitude, p.longitude)
           for p in places]
    out.sort(key=lambda p: (-p.size, p.id))
    return out


def _required(cosines: np.ndarray, cuts: Cuts, max_km: float) -> np.ndarray:
    """The cut each pair must meet given how far apart its photos were taken (``cosines``
    of the angle between their positions, :func:`_unit_xyz`; NaN: unknown); negative where
    they can never be grouped. Comparing cosines, not kilometres, spares a trigonometric
    function per pair: ``places`` on 40,000 photos spent most of its time there."""
    cut = np.full(cosines.shape, cuts.alike)
    with np.errstate(invalid="ignore"):
        cut[cosines >= _cos_km(max_km)] = cuts.nearby
        cut[cosines >= _cos_km(min(NEAR_KM, max_km))] = cuts.same_spot
        cut[cosines < _cos_km(max_km)] = -1.0
    return cut


def _cos_km(km: float) -> float:
    """Cosine of the angle two positions ``km`` apart subtend at the earth's centre."""
    return math.cos(km / _EARTH_KM)


def _unit_xyz(pos: np.ndarray) -> np.ndarray:
    """(N, 3) points on the unit sphere, float64 (a metre is 1.6e-7 rad); NaN rows stay NaN."""
    lat, lon = np.radians(pos[:, 0]), np.radians(pos[:, 1])
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)],
                    axis=1)


class _Nearby:
    """GPS tiers for blocks of the k-nearest-neighbour graph without an (N, N) matrix of
    distances: pairs both with GPS are blocked, then the few within ``max_km`` (a k-d tree
    finds them) get their tier's cut back."""

    def __init__(self, pos: np.ndarray, max_km: float) -> None:
        from scipy.spatial import cKDTree

        self.has = ~np.isnan(pos).any(axis=1)
        self.rows = np.flatnonzero(self.has)
        self.xyz = _unit_xyz(pos)
        self.tree = cKDTree(self.xyz[self.rows])
        self.max_km = max_km

    def apply(self, margin: np.ndarray, idx: np.ndarray, cuts: Cuts) -> None:
        """Shift ``margin`` (rows ``idx``, all columns) by each pair's tier, in place."""
        mine = idx[self.has[idx]]
        if not mine.size:
            return
        local = mine - idx[0]
        saved = margin[local]
        margin[np.ix_(local, self.rows)] = -np.inf
        found = self.tree.query_ball_point(self.xyz[mine], 2 * math.sin(self.max_km / _EARTH_KM
                                                                          / 2))
        lengths = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
        if not lengths.sum():
            return
        r = np.repeat(np.arange(mine.size), lengths)
        c = self.rows[np.concatenate([np.asarray(f, dtype=np.int64) for f in found])]
        cut = _required(np.einsum("ij,ij->i", self.xyz[mine[r]], self.xyz[c]), cuts,
                        self.max_km)
        margin[local[r], c] = saved[r, c] + (cut - cuts.alike)


def _components(vec: np.ndarray, cuts: Cuts, pos: np.ndarray | None,
                max_km: float = MAX_KM) -> list[np.ndarray]:
    """Connected components of the graph linking each row to its nearest neighbours whose
    distance may still be within the cut that pair needs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = vec.shape[0]
    k = min(_NEIGHBOURS, n - 1)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    gps = None if pos is None else _Nearby(pos, max_km)
    if k > 0:
        for start in range(0, n, _BLOCK):
            idx = np.arange(start, min(start + _BLOCK, n))
            # margin over the similarity each pair needs: >= 0 means "may be grouped"
            margin = vec[idx] @ vec.T - (1.0 - cuts.alike)
            if gps is not None:
                gps.apply(margin, idx, cuts)
            margin[idx - start, idx] = -np.inf
            top = np.argpartition(-margin, k - 1, axis=1)[:, :k]
            keep = np.take_along_axis(margin, top, axis=1) >= 0
            rows.append(np.repeat(idx, k)[keep.ravel()])
            cols.append(top.ravel()[keep.ravel()])
    r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    graph = coo_matrix((np.ones(r.size, dtype=np.int8), (r, c)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return _split(labels)


def _split(labels: np.ndarray) -> list[np.ndarray]:
    """Row indices per label, in label order."""
    groups = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[groups])) + 1
    return [g for g in np.split(groups, bounds) if g.size]


def _cluster(vec: np.ndarray, pos: np.ndarray | None, cuts: Cuts,
             max_km: float) -> list[np.ndarray]:
    """Average-linkage clusters of one component (index arrays into ``vec``)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = vec.shape[0]
    if n == 1:
        return [np.zeros(1, dtype=np.int64)]
    if n > _MAX_DENSE:  # too big for a dense matrix: split it with a stricter graph first
        stricter = Cuts(*(c * 0.8 for c in (cuts.alike, cuts.nearby, cuts.same_spot,
                                            cuts.join)))
        parts = _components(vec, stricter, pos, max_km)
        if len(parts) == 1:
            return [np.arange(n)]
        return [p[m] for p in parts for m in _cluster(vec[p], None if pos is None else pos[p],
                                                      cuts, max_km)]
    dist = 1.0 - (vec @ vec.T).astype(np.float64)
    np.clip(dist, 0.0, 2.0, out=dist)
    if pos is not None:
        # each pair's distance in units of the cut it needs, so one cut serves every pair
        xyz = _unit_xyz(pos)
        cut = _required(xyz @ xyz.T, cuts, max_km)
        dist = np.where(cut < 0, 2.0, dist * (cuts.alike / np.where(cut > 0, cut, 1.0)))
    np.fill_diagonal(dist, 0.0)
    dist = (dist + dist.T) / 2.0
    labels = fcluster(linkage(squareform(dist, checks=False), "average"), cuts.alike,
                      "distance")
    return _split(labels)


def _join_at_one_spot(vec: np.ndarray, pos: np.ndarray, groups: list[np.ndarray],
                      cut: float) -> list[np.ndarray]:
    """Join groups taken within ``JOIN_KM`` of each other whose mean vectors are within
    ``cut``; a group has a spot when at least half its photos carry GPS."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    placed = [i for i, g in enumerate(groups)
              if g.size >= 2 and 2 * int((~np.isnan(pos[g]).any(axis=1)).sum()) >= g.size]
    if len(placed) < 2:
        return groups
    centres = np.stack([_spot(pos[groups[i]]) for i in placed])
    means = np.stack([vec[groups[i]].mean(axis=0) for i in placed]).astype(np.float64)
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    chord = 2 * math.sin(JOIN_KM / _EARTH_KM / 2)
    pairs = cKDTree(_unit_xyz(centres)).query_pairs(chord, output_type="ndarray")
    if pairs.size:
        alike = 1.0 - np.einsum("ij,ij->i", means[pairs[:, 0]], means[pairs[:, 1]]) <= cut
        pairs = pairs[alike]
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                       shape=(len(placed), len(placed)))
    _, labels = connected_components(graph, directed=False)
    joined = [np.sort(np.concatenate([groups[placed[i]] for i in part]))
              for part in _split(labels)]
    unplaced = set(range(len(groups))) - set(placed)
    return joined + [groups[i] for i in sorted(unplaced)]


def _spot(pos: np.ndarray) -> np.ndarray:
    """Median latitude/longitude of the photos that carry GPS."""
    known = pos[~np.isnan(pos).any(axis=1)]
    return np.median(known, axis=0)


def _place(vec: np.ndarray, rows: np.ndarray, keys: Sequence[str],
           pos: np.ndarray | None) -> Place:
    centrality = (vec @ vec.T).mean(axis=1)
    ranked = rows[np.argsort(-centrality, kind="stable")]
    lat = lon = None
    if pos is not None and not np.isnan(pos[rows]).any(axis=1).all():
        lat, lon = (float(v) for v in _spot(pos[rows]))
        if not (math.isfinite(lat) and math.isfinite(lon)):
            lat = lon = None
    return Place(place_id(keys[int(ranked[0])]), tuple(int(i) for i in ranked), lat, lon)
