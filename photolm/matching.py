# SPDX-License-Identifier: GPL-3.0-or-later
"""Embeddings against prototypes: which landmark, how sure, or "no landmark".

A landmark may own several prototype vectors (sub-centres for its different sides); its score
is the best cosine over its own prototypes. Top-k is over landmarks, not prototypes, so two
sub-centres of one landmark never crowd another landmark out of the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from photolm.bundle import Bundle, Landmark


@dataclass(frozen=True)
class Candidate:
    """One landmark the photo may show. ``descriptor_score``: the photo's generic descriptor
    against the landmark's descriptor prototype, when the bundle's gate looked; ``gate``: set
    (to the bundle's gate) only when that score fell below it, so the candidate cannot be the
    match whatever its ``score``."""

    landmark_id: str
    name: str
    score: float
    descriptor_score: float | None = None
    gate: float | None = None

    @property
    def gated(self) -> bool:
        return self.gate is not None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"landmark_id": self.landmark_id, "name": self.name,
                                   "score": round(self.score, 4)}
        if self.descriptor_score is not None:
            data["descriptor_score"] = round(self.descriptor_score, 4)
        if self.gate is not None:
            data["gate"] = round(self.gate, 4)
        return data


def passes(candidate: Candidate | None, threshold: float) -> bool:
    """The "no landmark" rule: a candidate is the match when it scores at least the
    threshold and the descriptor gate did not reject it."""
    return candidate is not None and candidate.score >= threshold and not candidate.gated


class DescriptorGate:
    """The bundle's second opinion on its own landmarks (``Descriptor.gate``): a fine-tuned
    match stands only if the photo's generic descriptor is close enough to the named
    landmark's descriptor prototype. The fine-tuned embedding names faces as landmarks; the
    ImageNet descriptor knows a face is not a building (docs/export.md)."""

    def __init__(self, prototypes: np.ndarray, owner: np.ndarray, landmark_ids: Sequence[str],
                 gate: float) -> None:
        self.prototypes = np.ascontiguousarray(prototypes, dtype=np.float32)
        self.gate = float(gate)
        self.rows: dict[str, np.ndarray] = {}
        owner = np.asarray(owner)
        for i, lid in enumerate(landmark_ids):
            rows = np.flatnonzero(owner == i)
            if rows.size:
                self.rows[lid] = rows

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> DescriptorGate | None:
        """None for bundles without a gate (older ones): matching is as it was."""
        desc = getattr(bundle, "descriptor", None)
        if (desc is None or desc.gate is None or bundle.descriptor_prototypes is None
                or bundle.descriptor_prototype_landmark is None):
            return None
        return cls(bundle.descriptor_prototypes, bundle.descriptor_prototype_landmark,
                   [lm.id for lm in bundle.landmarks], desc.gate)

    def without(self, landmark_ids: set[str]) -> DescriptorGate:
        """The gate less some landmarks: those a person taught photolm more examples of
        (``photolm learn Colosseum ...``) are judged by their learned prototypes instead."""
        gate = object.__new__(DescriptorGate)
        gate.prototypes, gate.gate = self.prototypes, self.gate
        gate.rows = {k: v for k, v in self.rows.items() if k not in landmark_ids}
        return gate

    def check(self, top: tuple[Candidate, ...], descriptor: np.ndarray | None
              ) -> tuple[Candidate, ...]:
        """``top`` with each shipped landmark's descriptor score, and the gate marked on those
        below it. A photo without a descriptor (an old catalogue row) is left as it is."""
        if descriptor is None:
            return top
        vec = np.asarray(descriptor, dtype=np.float32)
        out = []
        for c in top:
            rows = self.rows.get(c.landmark_id)
            if rows is None:
                out.append(c)
                continue
            cos = float((self.prototypes[rows] @ vec).max())
            out.append(replace(c, descriptor_score=cos,
                               gate=self.gate if cos < self.gate else None))
        return tuple(out)


@dataclass(frozen=True)
class Match:
    """The verdict for one photo. ``landmark`` is None when nothing passed the threshold."""

    landmark: Candidate | None
    top: tuple[Candidate, ...]


class Matcher:
    """Precomputes the prototype table once so matching a batch is a single matrix product."""

    def __init__(
        self,
        prototypes: np.ndarray,
        prototype_landmark: np.ndarray,
        landmarks: Sequence[Landmark],
        threshold: float,
        top_k: int = 5,
    ) -> None:
        self.prototypes = np.ascontiguousarray(prototypes, dtype=np.float32)
        self.owner = np.asarray(prototype_landmark, dtype=np.int64)
        self.landmarks = tuple(landmarks)
        self.threshold = float(threshold)
        self.top_k = max(1, min(top_k, len(self.landmarks)))

    @classmethod
    def from_bundle(cls, bundle: Bundle, top_k: int = 5) -> Matcher:
        return cls(
            bundle.prototypes, bundle.prototype_landmark, bundle.landmarks, bundle.threshold, top_k
        )

    def landmark_scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, L) best cosine similarity of each photo to each landmark."""
        sims = np.asarray(embeddings, dtype=np.float32) @ self.prototypes.T  # (N, P)
        scores = np.full((sims.shape[0], len(self.landmarks)), -np.inf, dtype=np.float32)
        np.maximum.at(scores.T, self.owner, sims.T)
        return scores

    def match(self, embeddings: np.ndarray) -> list[Match]:
        """Fine-tuned scores only (no descriptor gate): the scan matches through
        :class:`photolm.learned.CombinedMatcher`, which applies the gate."""
        scores = self.landmark_scores(embeddings)
        k = self.top_k
        top_idx = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else (
            np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
        )
        results: list[Match] = []
        for row, idx in zip(scores, top_idx, strict=True):
            ordered = idx[np.argsort(-row[idx], kind="stable")]
            top = tuple(
                Candidate(self.landmarks[i].id, self.landmarks[i].name, float(row[i]))
                for i in ordered
            )
            best = top[0] if top and top[0].score >= self.threshold else None
            results.append(Match(best, top))
        return results
