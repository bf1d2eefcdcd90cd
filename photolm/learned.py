# SPDX-License-Identifier: GPL-3.0-or-later
"""Landmarks a person taught photolm, matched beside the bundle's own.

A learned landmark is matched on its own scale: its best cosine to its prototypes is
compared with a threshold that depends on how many example photos it was learned from (more
prototypes, more chances for a stranger to come close; measured by
scripts/eval_enrolment.py on non-landmark photos). To sit in one ranked list with the
bundle's landmarks, that score is moved so that its threshold lands on the bundle's
(:func:`onto_bundle_scale`): below the threshold shifted, ``score - threshold(k) +
bundle.threshold``; above it, ``[threshold(k), 1]`` stretched onto ``[bundle.threshold, 1]``,
so the order of the photos that pass is kept and no score exceeds 1. Then everything
downstream (the "no landmark" rule, GPS evidence, top-k, tags) treats learned and shipped
landmarks alike.

Examples added to a shipped landmark ("learn Colosseum more.jpg") are prototypes of that
landmark's id: its score is the better of the bundle's and the learned one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photolm import enrol
from photolm.bundle import Bundle, Landmark
from photolm.bundle_records import LEARNED_PREFIX
from photolm.geo import GeoVerdict, NearBar, gps_evidence
from photolm.matching import Candidate, DescriptorGate, Match, Matcher, passes
from photolm.textfold import ascii_slug

# The space learned prototypes live in: the generic descriptor fused with the fine-tuned
# embedding, or the descriptor alone, where thresholds measured under the rule below are known
# for that network (the bundle's manifest, or MEASURED_THRESHOLDS); else the fine-tuned
# embedding with the bundle's own threshold, which names few places it was not taught.
FUSED = "fused"
DESCRIPTOR = "descriptor"
EMBEDDING = "embedding"

# A threshold table counts only if it also keeps places nobody taught unnamed: at most this
# share of the photos of other places (the known landmarks, none of them learned) may take a
# learned name (manifest metrics["enrolment"]["other_places_rate"], written by
# scripts/eval_enrolment.py --write-thresholds). Thresholds set on non-landmark photos only
# named half the photos of places nobody taught (README, "How well it works"), and the
# descriptor's own threshold (export.descriptor) is one of those, so neither is used.
OTHER_PLACES_RATE = "other_places_rate"
MAX_OTHER_PLACES_RATE = 0.02

# Thresholds by number of example photos, measured under that rule for networks whose
# bundles predate it (keyed by the sha256 of model.onnx; scripts/eval_enrolment.py --model
# BUNDLE --method qe --method mean+examples, 2026-12-07; the method photolm learns with in
# that space): each tags at most 0.75 % of the calibration half of
# ../shared/data/distractors and names at most 1 % of the 46 known landmarks' photos with
# the 16 of landmarks-unseen-dev learned at once, made non-decreasing in k.
MEASURED_THRESHOLDS: dict[str, dict[str, dict[int, float]]] = {
    # photolm/models/default as of 2026-12-01 (EfficientNet-Lite0, 512-d fine-tuned)
    "8b34a1e653cc73b8ec250dd60ebafce2bb64935d78f35687e32767ee351270bd": {
        EMBEDDING: {1: 0.559, 2: 0.625, 3: 0.625, 5: 0.671, 8: 0.671},  # mean+examples
    },
    # the same network with the 320-d generic descriptor as a second output (issue 13,
    # branch model d32e53e); fused with the embedding, query expansion on
    "2c116a7e430f59765c0f62397eff1efc9646f9707ccf28fb251c665d3c396320": {
        FUSED: {1: 0.693, 2: 0.714, 3: 0.727, 5: 0.734, 8: 0.739},  # qe
    },
}
# Agreeing GPS lowers no learned landmark's bar (photolm.geo gives shipped ones 0.05 within
# 10 km). In a city a taught place's neighbours are within 10 km, and that margin let a
# learned landmark take them: with simulated GPS 6.5 % (k=5) and 5.5 % (k=1) of the photos of
# places nobody taught were named, every one a Berlin place named as a neighbour 0.2-7 km
# away; without it 1.5 % and 1.8 %, as without GPS (scripts/eval_enrolment.py --at-place).
NO_GPS_MARGIN = NearBar(radius_km=0.0, at_place=0.0, nearby=0.0)


def gps_bars(landmark_ids: Iterable[str]) -> dict[str, NearBar]:
    """:func:`photolm.geo.gps_evidence`'s ``bars`` for these landmarks: no margin for the
    learned ones (examples added to a shipped landmark keep that landmark's)."""
    return {i: NO_GPS_MARGIN for i in landmark_ids if i.startswith(LEARNED_PREFIX)}


class GpsWeigher:
    """A match weighed with the photo's GPS position, as the scan and the re-match both
    decide it: against the matcher's landmarks that have a position, at the matcher's
    threshold, learned landmarks without the near margin (:func:`gps_bars`). Built once per
    run: the landmarks do not change during one."""

    def __init__(self, matcher: Matcher | CombinedMatcher) -> None:
        self.placed = {lm.id: lm for lm in matcher.landmarks
                       if lm.latitude is not None and lm.longitude is not None}
        self.bars = gps_bars(self.placed)
        self.threshold = matcher.threshold

    def __call__(self, match: Match, latitude: float | None,
                 longitude: float | None) -> GeoVerdict:
        return gps_evidence(latitude, longitude, match.top, self.placed,
                            threshold=self.threshold, bars=self.bars)


# Query expansion (fused space only): each prototype also gets a copy pulled towards its
# closest catalogue photos (measured: k=1 +5 points right above the threshold at the same
# false positives; on the fine-tuned embedding alone it lost 7 points at k=5).
EXPANSION_NEIGHBOURS = {FUSED: 3, DESCRIPTOR: 3, EMBEDDING: 0}


@dataclass(frozen=True)
class Learned:
    """A learned landmark (or examples added to a shipped one, ``shipped=True``)."""

    landmark: Landmark
    shipped: bool
    examples: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.landmark.id


def learned_id(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A readable, stable id for a new learned landmark: ``learned:old-bridge`` (``-2``...);
    ``learned:oresund-bridge`` for "Øresund Bridge". Stored when it is made, never derived
    again, so ids given before a change of the slug rule stay as they are."""
    base = LEARNED_PREFIX + ascii_slug(name, "place")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


# Where a learned landmark's thresholds come from (:func:`learning_thresholds`): the
# bundle's manifest, MEASURED_THRESHOLDS' row for its network, or neither (the bundle's own
# threshold in the fine-tuned embedding, which finds fewer photos of a taught place).
FROM_MANIFEST = "manifest"
FROM_BUILT_IN = "built-in"
FROM_MODEL_THRESHOLD = "model threshold"


@dataclass(frozen=True)
class LearningThresholds:
    """How ``learn`` judges learned landmarks with a bundle: the vector space, the
    thresholds by example count, and where they come from (one of the ``FROM_`` values).
    ``info`` tells a person this because it decides how many photos a taught place finds."""

    space: str
    table: dict[int, float]
    source: str


def learning_thresholds(bundle: Bundle) -> LearningThresholds:
    """The decision for this bundle: the best space with thresholds that keep places nobody
    taught unnamed, else the fine-tuned embedding at the bundle's own threshold."""
    spaces = (FUSED, DESCRIPTOR) if getattr(bundle, "descriptor", None) is not None else ()
    for space in spaces:
        found = _measured(bundle, space)
        if found is not None:
            return LearningThresholds(space, *found)
    found = _measured(bundle, EMBEDDING)  # a built-in row for an older network's embedding
    table, source = found or ({1: bundle.threshold}, FROM_MODEL_THRESHOLD)
    return LearningThresholds(EMBEDDING, table, source)


def space_of(bundle: Bundle) -> str:
    """Which vectors learned landmarks use with this bundle (:func:`learning_thresholds`)."""
    return learning_thresholds(bundle).space


def grouping_space(bundle: Bundle) -> str:
    """Which vectors ``places`` groups unclaimed photos in. Grouping names nothing, so it
    needs no threshold: the generic descriptor (fused where it was measured to group best)
    serves whenever the bundle has one."""
    if getattr(bundle, "descriptor", None) is None:
        return EMBEDDING
    if space_of(bundle) == FUSED or (bundle.places is not None
                                      and FUSED in bundle.places.cuts):
        return FUSED
    return DESCRIPTOR


def uses_descriptor(space: str) -> bool:
    return space in (FUSED, DESCRIPTOR)


def _measured(bundle: Bundle, space: str) -> tuple[dict[int, float], str] | None:
    """Thresholds by example count for ``space`` measured under the other-places rule, and
    where they were found: the bundle's manifest (``FROM_MANIFEST``), else
    MEASURED_THRESHOLDS (``FROM_BUILT_IN``); ``None`` when neither has one."""
    table = bundle.metrics.get("enrolment", {}) if isinstance(bundle.metrics, Mapping) else {}
    if isinstance(table, Mapping) and _keeps_other_places(table.get(OTHER_PLACES_RATE)):
        own = table.get("thresholds", {})
        own = own.get(space) if isinstance(own, Mapping) else None
        if isinstance(own, Mapping) and own:
            try:
                return {int(k): float(v) for k, v in own.items()}, FROM_MANIFEST
            except (TypeError, ValueError):
                pass
    measured = MEASURED_THRESHOLDS.get(bundle.model_id, {}).get(space)
    return (dict(measured), FROM_BUILT_IN) if measured else None


def _keeps_other_places(rate: object) -> bool:
    return (isinstance(rate, (int, float)) and not isinstance(rate, bool)
            and 0.0 <= rate <= MAX_OTHER_PLACES_RATE)


def enrolment_record(tables: Mapping[str, Mapping[int, float]], other_places_rate: float,
                     rule: str) -> dict[str, Any]:
    """``metrics.enrolment`` as :func:`_measured` reads it: thresholds by vector space and
    example count, measured naming at most ``other_places_rate`` of other places' photos (a
    rate above 1 means none were measured: the key is left out and photolm ignores the
    table), and the rule in words. Written by scripts/eval_enrolment.py and
    export.descriptor (export/learned_thresholds.py chooses the values)."""
    record: dict[str, Any] = {"thresholds": {space: {str(k): float(v) for k, v in table.items()}
                                             for space, table in tables.items()}}
    if other_places_rate < 1:
        record[OTHER_PLACES_RATE] = other_places_rate
    record["rule"] = rule
    return record


def thresholds(bundle: Bundle, space: str) -> dict[int, float]:
    """Threshold by number of examples: the measured table, else (the embedding space, or a
    space chosen by hand) the bundle's own threshold for every count."""
    found = _measured(bundle, space)
    return found[0] if found else {1: bundle.threshold}


def threshold_for(table: Mapping[int, float], examples: int) -> float:
    """The threshold for a landmark learned from ``examples`` photos (interpolated)."""
    ks = sorted(table)
    xs = np.array(ks, dtype=np.float64)
    ys = np.array([table[k] for k in ks], dtype=np.float64)
    return float(np.interp(max(1, examples), xs, ys))


def make_prototypes(examples: np.ndarray, space: str,
                    library: np.ndarray | None = None) -> np.ndarray:
    """Prototype rows from example vectors, expanded towards the catalogue when given."""
    rows = enrol.prototypes(examples)
    n = EXPANSION_NEIGHBOURS[space]
    if n and library is not None and library.shape[0] and library.shape[1] == rows.shape[1]:
        rows = enrol.expand(rows, library, n)
    return rows


def vectors_in(space: str, embeddings: np.ndarray, descriptors: np.ndarray | None
               ) -> np.ndarray:
    """Photos' vectors in ``space`` (stored rows are unit: float16 keeps |v| = 1 ± 1e-3)."""
    if uses_descriptor(space) and descriptors is None:
        raise ValueError(f"matching in the {space} space needs the photos' descriptors")
    if space == FUSED:
        return enrol.fused(descriptors, embeddings)
    if space == DESCRIPTOR:
        return np.asarray(descriptors, dtype=np.float32)
    return np.asarray(embeddings, dtype=np.float32)


def similarities(space: str, embeddings: np.ndarray, descriptors: np.ndarray | None,
                 rows: np.ndarray) -> np.ndarray:
    """``(N, P)`` cosines of photos' stored vectors with prototype ``rows`` of ``space``."""
    if uses_descriptor(space) and descriptors is None:
        raise ValueError(f"matching in the {space} space needs the photos' descriptors")
    if space == FUSED:
        return enrol.fused_similarities(descriptors, embeddings, rows)  # type: ignore[arg-type]
    return (descriptors if space == DESCRIPTOR else embeddings) @ rows.T  # type: ignore[operator]


def onto_bundle_scale(scores: np.ndarray, own: np.ndarray, threshold: float) -> np.ndarray:
    """Learned scores ``(N, L)`` on the bundle's scale: column ``j``'s own threshold
    ``own[j]`` lands on the bundle's ``threshold``. Below it a shift (so the "no landmark"
    rule, the uncertain band and GPS's margin below the threshold read it as they read a
    shipped landmark's score); above it ``[own, 1]`` is stretched linearly onto
    ``[threshold, 1]``. A shift alone pushed every close photo past 1, and capping it there
    tied them all at 1.00 and lost their order."""
    own = np.asarray(own, dtype=np.float32)[None, :]
    with np.errstate(invalid="ignore"):  # -inf rows (not scored) stay -inf
        stretched = threshold + (scores - own) * ((1.0 - threshold)
                                                  / np.maximum(1.0 - own, 1e-6))
        return np.where(scores >= own, np.minimum(stretched, 1.0),
                        scores + (threshold - own)).astype(np.float32)


class CombinedMatcher:
    """The bundle's landmarks and the learned ones, on the bundle threshold's scale.

    Quacks like :class:`~photolm.matching.Matcher` (``match``, ``threshold``,
    ``landmarks``), so the scan and re-matching treat it alike.
    """

    def __init__(
        self,
        bundle: Bundle,
        learned: Sequence[Learned],
        prototypes: Mapping[str, np.ndarray],
        *,
        space: str,
        top_k: int = 5,
    ) -> None:
        self.base = Matcher.from_bundle(bundle, top_k=max(top_k, 1))
        self.gate = DescriptorGate.from_bundle(bundle)
        self.threshold = self.base.threshold
        self.space = space
        shipped_ids = [lm.id for lm in bundle.landmarks]
        position = {lid: i for i, lid in enumerate(shipped_ids)}
        extra = [item.landmark for item in learned
                 if not item.shipped and item.id not in position]
        self.landmarks: tuple[Landmark, ...] = tuple(bundle.landmarks) + tuple(extra)
        for lm in extra:
            position[lm.id] = len(position)
        table = thresholds(bundle, space)
        rows: list[np.ndarray] = []
        owners: list[int] = []
        own: list[float] = []  # each learned landmark's threshold on its own scale
        self.columns: list[int] = []  # learned column -> landmark position
        for item in learned:
            protos = prototypes.get(item.id)
            if protos is None or item.id not in position:
                continue
            col = len(self.columns)
            self.columns.append(position[item.id])
            rows.append(np.asarray(protos, dtype=np.float32))
            owners.extend([col] * len(protos))
            own.append(threshold_for(table, len(item.examples)))
        # learned landmarks left without prototypes for this network (none of their
        # example photos could be read to make them): they cannot match, say so
        self.unmatched: tuple[Landmark, ...] = tuple(
            item.landmark for item in learned
            if not item.shipped and item.id in position and prototypes.get(item.id) is None)
        # learned landmarks folded into the bundle's own as it was built
        # (photolm.prototypes.adopt_shipped), for the command to say so
        self.adopted: tuple[Any, ...] = ()
        self.prototypes = np.concatenate(rows) if rows else np.zeros((0, 1), np.float32)
        self.owner = np.asarray(owners, dtype=np.int64)
        self.own_threshold = np.asarray(own, dtype=np.float32)
        self.top_k = max(1, min(top_k, len(self.landmarks)))
        if self.gate is not None and self.columns:
            self.gate = self.gate.without({self.landmarks[p].id for p in self.columns})

    @property
    def has_learned(self) -> bool:
        return bool(self.columns)

    def scores_for(self, ids: set[str], embeddings: np.ndarray,
                   descriptors: np.ndarray | None = None,
                   has_descriptor: np.ndarray | None = None) -> np.ndarray:
        """(N, len) learned scores (shifted) of just the learned landmarks ``ids``: what a
        re-match after learning one landmark needs, without scoring all the others."""
        cols = [c for c, pos in enumerate(self.columns) if self.landmarks[pos].id in ids]
        n = embeddings.shape[0]
        out = np.full((n, len(cols)), -np.inf, dtype=np.float32)
        if not cols:
            return out
        usable = self._usable(n, descriptors, has_descriptor)
        if not usable.any():
            return out
        keep = np.isin(self.owner, cols)
        owner = np.searchsorted(np.asarray(cols), self.owner[keep])
        rows = np.flatnonzero(usable) if not usable.all() else slice(None)
        sims = similarities(self.space, embeddings[rows],
                            None if descriptors is None else descriptors[rows],
                            self.prototypes[keep])
        out[rows] = enrol.best_per_owner(sims, owner, len(cols))
        return onto_bundle_scale(out, self.own_threshold[cols], self.threshold)

    def _usable(self, n: int, descriptors: np.ndarray | None,
                has_descriptor: np.ndarray | None) -> np.ndarray:
        """Rows that can be scored against learned prototypes (fused: with a descriptor)."""
        if not uses_descriptor(self.space):
            return np.ones(n, dtype=bool)
        if descriptors is None:
            return np.zeros(n, dtype=bool)
        if has_descriptor is None:
            return np.ones(n, dtype=bool)
        return np.asarray(has_descriptor, dtype=bool)

    def landmark_scores(self, embeddings: np.ndarray, descriptors: np.ndarray | None = None,
                        has_descriptor: np.ndarray | None = None) -> np.ndarray:
        """(N, L) scores on the bundle's scale; learned landmarks shifted onto it.

        In the fused space, photos without a stored descriptor (``has_descriptor`` False, or
        no ``descriptors`` at all) are scored against the bundle's landmarks only.
        """
        base = self.base.landmark_scores(embeddings)
        n = base.shape[0]
        scores = np.full((n, len(self.landmarks)), -np.inf, dtype=np.float32)
        scores[:, : base.shape[1]] = base
        usable = self._usable(n, descriptors, has_descriptor)
        if self.columns and usable.any():
            learned = np.full((n, len(self.columns)), -np.inf, dtype=np.float32)
            rows = np.flatnonzero(usable)
            sims = similarities(self.space, embeddings[rows],
                                None if descriptors is None else descriptors[rows],
                                self.prototypes)
            learned[rows] = enrol.best_per_owner(sims, self.owner, len(self.columns))
            learned = onto_bundle_scale(learned, self.own_threshold, self.threshold)
            for col, pos in enumerate(self.columns):
                np.maximum(scores[:, pos], learned[:, col], out=scores[:, pos])
        return scores

    def match(self, embeddings: np.ndarray, descriptors: np.ndarray | None = None,
              has_descriptor: np.ndarray | None = None) -> list[Match]:
        scores = self.landmark_scores(embeddings, descriptors, has_descriptor)
        k = self.top_k
        if k < scores.shape[1]:
            top_idx = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        else:
            top_idx = np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
        out: list[Match] = []
        for n, (row, idx) in enumerate(zip(scores, top_idx, strict=True)):
            ordered = idx[np.argsort(-row[idx], kind="stable")]
            top = tuple(Candidate(self.landmarks[i].id, self.landmarks[i].name, float(row[i]))
                        for i in ordered if np.isfinite(row[i]))
            if self.gate is not None and descriptors is not None and (
                    has_descriptor is None or has_descriptor[n]):
                top = self.gate.check(top, descriptors[n])
            best = top[0] if top and passes(top[0], self.threshold) else None
            out.append(Match(best, top))
        return out
