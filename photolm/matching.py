# SPDX-License-Identifier: GPL-3.0-or-later
"""Embeddings against prototypes: which landmark, how sure, or "no landmark".

A landmark may own several prototype vectors (sub-centres for its different sides); its score
is the best cosine over its own prototypes. Top-k is over landmarks, not prototypes, so two
sub-centres of one landmark never crowd another landmark out of the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photolm.bundle import Bundle, Landmark


@dataclass(frozen=True)
class Candidate:
    landmark_id: str
    name: str
    score: float

    def to_json(self) -> dict[str, object]:
        return {"landmark_id": self.landmark_id, "name": self.name, "score": round(self.score, 4)}


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
