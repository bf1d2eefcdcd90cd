# SPDX-License-Identifier: GPL-3.0-or-later
"""Candidate places: photos no landmark claims, grouped by what they look like and where.

Average-linkage clustering (scipy) on cosine distance, because a group must be alike as a
whole, not chained through one look-alike pair (single linkage merges a street with a
cathedral through a photo of both). Dense average linkage is quadratic in memory, so photos
are first split into the connected components of a k-nearest-neighbour graph with edges no
weaker than the cut (a pair further apart than that can only join through others), and each
component is clustered on its own.

Where and when are evidence, in tiers (:class:`Cuts`): two photos GPS puts more than
``max_km`` apart are never in one group; two taken within ``max_km`` need to look less
alike, two taken at the same spot (``NEAR_KM``) less still, and two taken on one visit
(within ``VISIT_MINUTES``, by the camera's clock, GPS or not) get the looser of their
tiers. A place seen from several sides (a palace's gate, its throne hall, its gardens) comes
out of the clustering as several groups at one spot; groups whose photos were taken at one
spot and whose mean looks are alike are then joined.

Ids must stay the same between runs when nothing changed: input is ordered by the caller's
keys (paths) before anything else, every step is deterministic, and a group is named after
its most central photo.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING

import numpy as np

from photolm.geo import EARTH_RADIUS_KM

if TYPE_CHECKING:
    from photolm.bundle import Bundle

NEAR_KM = 0.3
# Photos taken further apart than this are never one place. A bay or a valley photographed
# from kilometres apart then comes out as several places; letting the look alone decide
# beyond this (25 km tried) joined neighbouring landmarks of one city instead, and a wrong
# join is worse than a split (scripts/eval_enrolment.py; README, "How well it works").
MAX_KM = 1.0
# Groups whose GPS centres lie this close together may be joined.
JOIN_KM = 0.5
# Photos taken this close together in time were taken on one visit (by the clock the camera
# wrote, offsets ignored: a phone and a camera of one traveller show the same local time).
VISIT_MINUTES = 15.0


@dataclass(frozen=True)
class Cuts:
    """Cosine-distance cuts for a pair of photos, by what their GPS says, and the one for
    joining groups taken at one spot (distance between the groups' mean vectors)."""

    alike: float  # either photo has no GPS: the look alone decides
    nearby: float  # both taken within MAX_KM of each other
    same_spot: float  # both taken within NEAR_KM of each other
    join: float
    # taken within VISIT_MINUTES of each other (unless GPS forbids); None: as ``alike``
    same_visit: float = None  # type: ignore[assignment]  # set in __post_init__

    def __post_init__(self) -> None:
        if self.same_visit is None:
            object.__setattr__(self, "same_visit", self.alike)

    @classmethod
    def scaled(cls, alike: float) -> Cuts:
        """Cuts for a space measured without GPS only: the fused space's ratios."""
        ref = CUTS["fused"]
        return cls(*(alike * c / ref.alike for c in (ref.alike, ref.nearby, ref.same_spot,
                                                      ref.join, ref.same_visit)))


# Cuts per vector space (photolm.learned) for the shipped network, and for any bundle that
# carries none of its own (cuts_for), chosen by scripts/eval_enrolment.py on photos of
# the 46 known landmarks mixed with 300 distractors and 100 photos of people taken at the
# landmarks, never on the photos reported: the loosest cuts that keep pairwise precision
# >= 0.95, first without GPS (``alike``), then with simulated GPS for the others, letting at
# most 1 of those people photos into a landmark's group (naming the group would make it an
# example of the landmark). The fine-tuned embedding alone spreads photos of one place
# wider; the generic descriptor alone puts unrelated photos close (0.20 was the lowest cut
# tried): those two spaces are only fallbacks, with the fused space's GPS ratios.
CUTS = {"fused": Cuts(alike=0.44, nearby=0.60, same_spot=0.68, join=0.30, same_visit=0.88)}
CUTS["descriptor"] = Cuts.scaled(0.20)
CUTS["embedding"] = Cuts.scaled(0.56)
DEFAULT_CUTS = CUTS["fused"]
DEFAULT_MIN_PHOTOS = 3
# A group looks like a place when the mean of its photos' generic descriptors comes this
# close (cosine) to one of the shipped landmarks' descriptor prototypes: groups of portraits,
# pets or food do not (scripts/eval_enrolment.py: the least value that hides every group of
# the calibration half of people-negatives, whose groups reach at most 0.261; the held-out
# half's reach 0.270, unseen landmarks' 0.12 to 0.86). Measured for the ImageNet descriptor
# of the default bundle (its manifest's metrics.descriptor.method); a bundle may carry its
# own (likeness_for).
PLACE_LIKENESS = 0.27
_NEIGHBOURS = 15
_TILE = 2048
_GPS_TILE = 512
_MAX_WORKERS = 8
_MAX_DENSE = 6000


_Part = tuple[np.ndarray, np.ndarray, np.ndarray]  # rows, columns, margins of some pairs


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


def cuts_for(bundle: Bundle, space: str) -> Cuts:
    """The cuts for ``space`` with this bundle: those measured for its network
    (``metrics.places``), else the ones measured for the shipped network (:data:`CUTS`)."""
    own = bundle.places.cuts.get(space) if bundle.places is not None else None
    return Cuts(**own) if own else CUTS[space]


def likeness_for(bundle: Bundle) -> float:
    """The bar of :func:`place_likeness` with this bundle: its own, else
    :data:`PLACE_LIKENESS`."""
    own = bundle.places.likeness if bundle.places is not None else None
    return PLACE_LIKENESS if own is None else float(own)


def clock_seconds(taken: str | None) -> float:
    """Seconds of the wall-clock time a photo was taken (``taken``: ISO 8601 as the
    catalogue stores it), its UTC offset ignored; NaN when unknown or unreadable."""
    from datetime import datetime, timezone

    if not taken:
        return math.nan
    try:
        clock = datetime.fromisoformat(taken[:19])
    except ValueError:
        return math.nan
    return clock.replace(tzinfo=timezone.utc).timestamp()


def place_likeness(descriptors: np.ndarray, references: np.ndarray) -> float:
    """Cosine between the mean of a group's descriptor rows and the nearest of
    ``references`` (normalised here): how much the group looks like some known place."""
    mean = np.asarray(descriptors, dtype=np.float64).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm == 0.0 or not len(references):
        return 0.0
    refs = np.asarray(references, dtype=np.float64)
    refs = refs / np.maximum(np.linalg.norm(refs, axis=1, keepdims=True), 1e-12)
    return float((refs @ (mean / norm)).max())


def place_id(key: str) -> str:
    """A short id from the key (path) of the group's most central photo."""
    return "pl-" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:10]


def group_places(
    vectors: np.ndarray,
    keys: Sequence[str],
    *,
    positions: np.ndarray | None = None,
    times: np.ndarray | None = None,
    cuts: Cuts | float = DEFAULT_CUTS,
    min_photos: int = DEFAULT_MIN_PHOTOS,
    max_km: float = MAX_KM,
) -> list[Place]:
    """Groups of at least ``min_photos`` alike photos, biggest first.

    ``vectors``: (N, D) unit rows; ``keys``: one unique string per row (paths);
    ``positions``: (N, 2) latitude/longitude in degrees, NaN where unknown; ``times``: (N,)
    seconds of the time taken (:func:`clock_seconds`), NaN where unknown; ``cuts``: a
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
    when = None
    if times is not None and cuts.same_visit != cuts.alike:
        when = np.asarray(times, dtype=np.float64)[order]
        if np.isnan(when).all():
            when = None
    sorted_keys = [keys[i] for i in order]
    groups: list[np.ndarray] = []
    for comp in _components(vec, cuts, pos, max_km, when):
        if comp.size < 2:
            continue
        groups.extend(comp[members] for members in
                      _cluster(vec[comp], None if pos is None else pos[comp], cuts, max_km,
                               None if when is None else when[comp]))
    if pos is not None:
        groups = _join_at_one_spot(vec, pos, groups, cuts.join)
    places = [_place(vec[rows], rows, sorted_keys, pos) for rows in groups
              if rows.size >= min_photos]
    out = [Place(p.id, tuple(int(order[i]) for i in p.members), p.latitude, p.longitude)
           for p in places]
    out.sort(key=lambda p: (-p.size, p.id))
    return out


def _required(cosines: np.ndarray, cuts: Cuts, max_km: float,
              seconds: np.ndarray | None = None) -> np.ndarray:
    """The cut each pair must meet given how far apart its photos were taken (``cosines``
    of the angle between their positions, :func:`_unit_xyz`; NaN: unknown) and how long
    apart (``seconds``, NaN: unknown): the looser of the two tiers, negative where GPS says
    they can never be grouped. Comparing cosines, not kilometres, spares a trigonometric
    function per pair: ``places`` on 40,000 photos spent most of its time there."""
    cut = np.full(cosines.shape, cuts.alike)
    with np.errstate(invalid="ignore"):
        cut[cosines >= _cos_km(max_km)] = cuts.nearby
        cut[cosines >= _cos_km(min(NEAR_KM, max_km))] = cuts.same_spot
        if seconds is not None:
            visit = np.abs(seconds) <= VISIT_MINUTES * 60
            cut[visit] = np.maximum(cut[visit], cuts.same_visit)
        cut[cosines < _cos_km(max_km)] = -1.0
    return cut


def _cos_km(km: float) -> float:
    """Cosine of the angle two positions ``km`` apart subtend at the earth's centre."""
    return math.cos(km / EARTH_RADIUS_KM)


def _chord_km(km: float) -> float:
    """Straight-line distance between two points ``km`` apart on the unit sphere
    (:func:`_unit_xyz`): the radius a k-d tree over those points is asked for."""
    return 2 * math.sin(km / EARTH_RADIUS_KM / 2)


def _unit_xyz(pos: np.ndarray) -> np.ndarray:
    """(N, 3) points on the unit sphere, float64 (a metre is 1.6e-7 rad); NaN rows stay NaN."""
    lat, lon = np.radians(pos[:, 0]), np.radians(pos[:, 1])
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)],
                    axis=1)


class _Tiers:
    """GPS and time tiers for one tile of pairs without an (N, N) matrix of distances or
    times: pairs both with GPS are blocked, then the few pairs within ``max_km`` (a k-d tree
    finds them) or taken within ``VISIT_MINUTES`` of each other (found in time order) get
    the cut their tiers give."""

    def __init__(self, pos: np.ndarray | None, times: np.ndarray | None,
                 max_km: float) -> None:
        self.max_km = max_km
        self.pos = pos
        self.times = times
        if pos is not None:
            self.has = ~np.isnan(pos).any(axis=1)
            self.xyz = _unit_xyz(pos)

    def apply(self, margin: np.ndarray, rows: np.ndarray, cols: np.ndarray,
              cuts: Cuts) -> None:
        """``margin`` holds similarity minus ``1 - cuts.alike`` for the pairs of ``rows``
        and ``cols`` (index arrays); set each pair's by its tiers, in place."""
        r, c = self._candidates(rows, cols)
        similarity = margin[r, c] + (1.0 - cuts.alike)
        if self.pos is not None:
            a, b = self.has[rows], self.has[cols]
            if a.all() and b.all():  # a tile of photos with GPS (_tiles)
                margin.fill(-np.inf)
            elif a.any() and b.any():
                margin[np.ix_(a, b)] = -np.inf
        if not r.size:
            return
        a, b = rows[r], cols[c]
        cosines = np.full(r.size, np.nan)
        if self.pos is not None:
            both = self.has[a] & self.has[b]
            cosines[both] = np.einsum("ij,ij->i", self.xyz[a[both]], self.xyz[b[both]])
        seconds = None if self.times is None else self.times[a] - self.times[b]
        cut = _required(cosines, cuts, self.max_km, seconds)
        margin[r, c] = np.where(cut < 0, -np.inf, similarity - 1.0 + cut)

    def _candidates(self, rows: np.ndarray, cols: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``rows``, position in ``cols``) of the pairs a tier may apply to,
        once each."""
        from scipy.spatial import cKDTree

        found: list[tuple[np.ndarray, np.ndarray]] = []
        if self.pos is not None:
            a, b = np.flatnonzero(self.has[rows]), np.flatnonzero(self.has[cols])
            if a.size and b.size:
                near = cKDTree(self.xyz[rows[a]]).sparse_distance_matrix(
                    cKDTree(self.xyz[cols[b]]), _chord_km(self.max_km), output_type="ndarray")
                found.append((a[near["i"]], b[near["j"]]))
        if self.times is not None:
            a = np.flatnonzero(~np.isnan(self.times[rows]))
            b = np.flatnonzero(~np.isnan(self.times[cols]))
            b = b[np.argsort(self.times[cols[b]], kind="stable")]
            ordered, mine = self.times[cols[b]], self.times[rows[a]]
            window = VISIT_MINUTES * 60
            lo = np.searchsorted(ordered, mine - window, side="left")
            counts = np.searchsorted(ordered, mine + window, side="right") - lo
            if counts.sum():
                # row i's columns are b[lo_i:hi_i]
                within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
                found.append((np.repeat(a, counts), b[np.repeat(lo, counts) + within]))
        if not found:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        r = np.concatenate([f[0] for f in found])
        c = np.concatenate([f[1] for f in found])
        if len(found) > 1:
            _, first = np.unique(r * cols.size + c, return_index=True)
            r, c = r[first], c[first]
        return r, c


def _components(vec: np.ndarray, cuts: Cuts, pos: np.ndarray | None,
                max_km: float = MAX_KM, times: np.ndarray | None = None
                ) -> list[np.ndarray]:
    """Connected components of the graph linking each row to its nearest neighbours whose
    distance may still be within the cut that pair needs.

    The similarities are computed a tile of pairs at a time (:func:`_tiles`), each pair
    once, never for photos GPS puts too far apart: memory stays bounded by a few tiles, and
    the more photos carry GPS the fewer products are needed. Tiles are spread over one
    thread per core, each with a single-threaded BLAS: the work after each product (the
    margins, picking the pairs) runs in parallel too, and no core waits on another within
    a product, which small products on a busy machine otherwise do."""
    from concurrent.futures import ThreadPoolExecutor

    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from threadpoolctl import threadpool_limits

    n = vec.shape[0]
    links = _Links(n, min(_NEIGHBOURS, n - 1))
    if links.k > 0:
        tiers = None if pos is None and times is None else _Tiers(pos, times, max_km)
        tiles = list(_tiles(n, pos, max_km))

        def tile(pair: tuple[np.ndarray, np.ndarray]) -> list[_Part]:
            return _tile_links(vec, *pair, cuts, tiers, links.k)

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            os.cpu_count() or 1  # the cores this process may use, where the OS says
        workers = min(len(tiles), cores, _MAX_WORKERS)
        if workers < 2:
            for pair in tiles:
                links.keep(tile(pair))
        else:
            with threadpool_limits(limits=1, user_api="blas"), \
                    ThreadPoolExecutor(workers) as pool:
                for found in pool.map(tile, tiles):
                    links.keep(found)
    r, c = links.edges()
    graph = coo_matrix((np.ones(r.size, dtype=np.int8), (r, c)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return _split(labels)


def _tile_links(vec: np.ndarray, rows: np.ndarray, cols: np.ndarray, cuts: Cuts,
                tiers: _Tiers | None, k: int) -> list[_Part]:
    """The pairs of ``rows`` against ``cols`` (the same array twice: a chunk against
    itself) that may be grouped, as (row, column, margin), both ways round; from a tile
    crowded with them (thousands of near duplicates) only each row's and each column's
    ``k`` best, and any tied with the ``k``-th (:class:`_Links` ranks them all)."""
    # margin over the similarity each pair needs: >= 0 means "may be grouped"
    margin = vec[rows] @ vec[cols].T
    margin -= 1.0 - cuts.alike
    if tiers is not None:
        tiers.apply(margin, rows, cols, cuts)
    if rows is cols:
        np.fill_diagonal(margin, -np.inf)
    r, c = np.nonzero(margin >= 0)
    if r.size > 8 * k * (rows.size + cols.size):
        found = [_part(rows, cols, margin, _best(margin, k))]
        if rows is not cols:
            found.append(_part(cols, rows, margin.T, _best(margin.T, k)))
        return found
    m = margin[r, c]
    return [(rows[r], cols[c], m)] + ([] if rows is cols else [(cols[c], rows[r], m)])


def _part(rows: np.ndarray, cols: np.ndarray, margin: np.ndarray, mask: np.ndarray
          ) -> _Part:
    r, c = np.nonzero(mask)
    return rows[r], cols[c], margin[r, c]


def _tiles(n: int, pos: np.ndarray | None, max_km: float
           ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pairs of index chunks covering each pair of rows once (a chunk with itself: the same
    array twice), except pairs of chunks with GPS whose bounding boxes lie further apart
    than ``max_km``. Rows without GPS are chunked in order (``_TILE`` rows); rows with GPS
    in smaller chunks (``_GPS_TILE``) by where they were taken (halving the widest extent
    each time), so each covers a small region and most pairs of them are skipped."""
    chunks: list[np.ndarray] = []
    boxes: list[tuple[np.ndarray, np.ndarray] | None] = []
    without = np.arange(n) if pos is None else np.flatnonzero(np.isnan(pos).any(axis=1))
    for start in range(0, without.size, _TILE):
        chunks.append(without[start:start + _TILE])
        boxes.append(None)
    has = np.empty(0, dtype=np.int64) if pos is None else \
        np.flatnonzero(~np.isnan(pos).any(axis=1))
    if has.size:
        xyz = _unit_xyz(pos[has])
        for part in _compact(xyz, _GPS_TILE):
            chunks.append(has[part])
            boxes.append((xyz[part].min(axis=0), xyz[part].max(axis=0)))
    reach = _chord_km(max_km) * (1 + 1e-6)  # rounding never skips a pair within reach
    for i, rows in enumerate(chunks):
        for j in range(i, len(chunks)):
            a, b = boxes[i], boxes[j]
            if a is not None and b is not None:
                gap = np.maximum(0.0, np.maximum(b[0] - a[1], a[0] - b[1]))
                if float(np.sqrt((gap * gap).sum())) > reach:
                    continue
            yield rows, chunks[j]


def _compact(points: np.ndarray, size: int) -> list[np.ndarray]:
    """Index chunks of at most ``size`` of ``points``, each a compact region: split at the
    widest extent until small enough (a k-d tree's cells)."""
    out: list[np.ndarray] = []
    todo = [np.arange(len(points))]
    while todo:
        part = todo.pop()
        if part.size <= size:
            out.append(part)
            continue
        p = points[part]
        axis = int(np.argmax(p.max(axis=0) - p.min(axis=0)))
        ordered = part[np.argsort(p[:, axis], kind="stable")]
        half = (-(-part.size // size) // 2) * size
        todo += [ordered[half:], ordered[:half]]
    return out


class _Links:
    """Each row's ``k`` best pairs that may be grouped (margin >= 0) among those kept so
    far, ties to the lower column, as in a sort of the row's whole margins: ranked at the
    end, and whenever what is kept grows large."""

    def __init__(self, n: int, k: int) -> None:
        self.n, self.k = n, k
        self._parts: list[_Part] = []
        self._size = 0

    def keep(self, parts: list[_Part]) -> None:
        """Keep (row, column, margin) pairs, at most one of each (row, column)."""
        self._parts += parts
        self._size += sum(p[0].size for p in parts)
        if self._size > 4 * self.k * self.n:
            self._rank()

    def _rank(self) -> None:
        if not self._parts:
            return
        src, dst, m = (np.concatenate(part) for part in zip(*self._parts, strict=True))
        order = np.lexsort((dst, -m, src))  # by row, largest margin first, then column
        src, dst, m = src[order], dst[order], m[order]
        keep = np.arange(src.size) - np.searchsorted(src, src, side="left") < self.k
        self._parts = [(src[keep], dst[keep], m[keep])]
        self._size = int(keep.sum())

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of each row's ``k`` best pairs."""
        self._rank()
        if not self._parts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return self._parts[0][0], self._parts[0][1]


def _best(margin: np.ndarray, k: int) -> np.ndarray:
    """Mask of each row's ``k`` largest margins that are >= 0, with any tied with the
    ``k``-th (which of them a row keeps is decided with the other tiles' pairs)."""
    if margin.shape[1] <= k:
        return margin >= 0
    kth = np.partition(margin, margin.shape[1] - k, axis=1)[:, margin.shape[1] - k]
    return margin >= np.maximum(kth, 0)[:, None]


def _split(labels: np.ndarray) -> list[np.ndarray]:
    """Row indices per label, in label order."""
    groups = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[groups])) + 1
    return [g for g in np.split(groups, bounds) if g.size]


def _cluster(vec: np.ndarray, pos: np.ndarray | None, cuts: Cuts,
             max_km: float, times: np.ndarray | None = None) -> list[np.ndarray]:
    """Average-linkage clusters of one component (index arrays into ``vec``)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = vec.shape[0]
    if n == 1:
        return [np.zeros(1, dtype=np.int64)]
    if n > _MAX_DENSE:  # too big for a dense matrix: split it with a stricter graph first
        stricter = Cuts(*(c * 0.8 for c in astuple(cuts)))
        parts = _components(vec, stricter, pos, max_km, times)
        if len(parts) == 1:
            return [np.arange(n)]
        return [p[m] for p in parts
                for m in _cluster(vec[p], None if pos is None else pos[p], cuts, max_km,
                                  None if times is None else times[p])]
    dist = 1.0 - (vec @ vec.T).astype(np.float64)
    np.clip(dist, 0.0, 2.0, out=dist)
    if pos is not None or times is not None:
        # each pair's distance in units of the cut it needs, so one cut serves every pair
        if pos is None:
            cosines = np.full(dist.shape, np.nan)
        else:
            xyz = _unit_xyz(pos)
            cosines = xyz @ xyz.T
        seconds = None if times is None else times[:, None] - times[None, :]
        cut = _required(cosines, cuts, max_km, seconds)
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
    pairs = cKDTree(_unit_xyz(centres)).query_pairs(_chord_km(JOIN_KM), output_type="ndarray")
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
