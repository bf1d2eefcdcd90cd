# SPDX-License-Identifier: GPL-3.0-or-later
"""The prototype table: the vectors photolm compares each photo with, one or more per landmark.

All three methods work on embeddings of the *training* photos computed through the exported
ONNX model (:mod:`export.embedding`), so the table lives in exactly the space the runtime
produces, including any quantisation error. Validation photos never enter the table: they
measure it.

* ``mean``: one prototype per landmark, the normalised mean of its photos' embeddings.
* ``kmeans``: a landmark whose photos form clearly separate groups (the Colosseum from
  outside and from inside, a temple by day and by night) gets one prototype per group:
  spherical k-means for k = 2..K on its photos, the k with the best cosine silhouette kept
  when that silhouette is at least ``min_silhouette`` and every group has ``min_cluster``
  photos; otherwise the mean. A single blob stays one prototype, so the table grows only
  where it helps.
* ``head``: the sub-centres of a sub-center ArcFace head (its k class centres per landmark),
  keeping only the sub-centres that are the nearest one for at least ``min_members``
  training photos of their landmark (the paper's "dominant" sub-centres; the others gather
  noise). With a plain ArcFace head this is its one centre per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from export.errors import ExportError
from photolm.wording import counted

METHODS = ("mean", "kmeans", "head")
#: Below this mean silhouette (cosine) a class counts as one group. Measured (docs/export.md):
#: a single Gaussian blob of 30 unit vectors stays below it from 64 dimensions up (in 8
#: dimensions k-means finds "groups" scoring 0.28); real landmark classes under an
#: EfficientNet-Lite0 embedding score 0.07-0.34, and splitting those above 0.2 raised holdout
#: top-1 by 1.5 points where 0.1 and 0.35 did worse.
MIN_SILHOUETTE = 0.2


@dataclass(frozen=True)
class PrototypeTable:
    vectors: np.ndarray  # (P, D) float32, unit rows
    owner: np.ndarray  # (P,) int32 class index per row
    method: str

    def per_class(self, num_classes: int) -> np.ndarray:
        return np.bincount(self.owner, minlength=num_classes)[:num_classes]

    def summary(self, num_classes: int) -> dict[str, Any]:
        counts = self.per_class(num_classes)
        return {
            "method": self.method,
            "vectors": len(self.vectors),
            "classes": int(num_classes),
            "classes_with_subcentres": int((counts > 1).sum()),
            "max_per_class": int(counts.max()) if len(counts) else 0,
        }


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


def _check_classes(labels: np.ndarray, num_classes: int,
                   class_names: Sequence[str] | None) -> None:
    counts = np.bincount(labels, minlength=num_classes)[:num_classes]
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        names = [class_names[i] if class_names else str(i) for i in empty[:8]]
        raise ExportError(
            f"{counted(len(empty), 'landmark', 'has')} no decodable training photo, so no "
            "prototype: "
            f"{', '.join(names)}{'…' if len(empty) > 8 else ''}. Add photos or retrain "
            "without them."
        )


def _inputs(embeddings: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    emb = np.asarray(embeddings, dtype=np.float32)
    lab = np.asarray(labels, dtype=np.int64).reshape(-1)
    if emb.ndim != 2 or len(emb) != len(lab):
        raise ExportError("Prototype input must be (N, D) embeddings with N labels.")
    return emb, lab


def mean_prototypes(embeddings: Any, labels: Any, num_classes: int, *,
                    class_names: Sequence[str] | None = None) -> PrototypeTable:
    """One normalised mean embedding per class."""
    emb, lab = _inputs(embeddings, labels)
    _check_classes(lab, num_classes, class_names)
    sums = np.zeros((num_classes, emb.shape[1]), dtype=np.float64)
    np.add.at(sums, lab, emb.astype(np.float64))
    return PrototypeTable(_unit(sums), np.arange(num_classes, dtype=np.int32), "mean")


def split_class(vectors: np.ndarray, *, max_k: int = 3, min_cluster: int = 3,
                min_silhouette: float = MIN_SILHOUETTE, seed: int = 0) -> np.ndarray:
    """Cluster labels (0..k-1) for one class's unit embeddings; all zeros when the photos do
    not form separate groups by the criterion in the module docstring."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(vectors)
    best_labels = np.zeros(n, dtype=np.int64)
    best_score = -np.inf
    for k in range(2, max_k + 1):
        if n < k * min_cluster:
            break
        km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(vectors)
        assigned = km.labels_
        if np.bincount(assigned, minlength=k).min() < min_cluster:
            continue
        score = float(silhouette_score(vectors, assigned, metric="cosine"))
        if score >= min_silhouette and score > best_score:  # a tie keeps the smaller k
            best_labels, best_score = assigned.astype(np.int64), score
    return best_labels


def kmeans_prototypes(embeddings: Any, labels: Any, num_classes: int, *, max_k: int = 3,
                      min_cluster: int = 3, min_silhouette: float = MIN_SILHOUETTE, seed: int = 0,
                      class_names: Sequence[str] | None = None) -> PrototypeTable:
    """Up to ``max_k`` sub-centres per class where its photos form separate groups."""
    emb, lab = _inputs(embeddings, labels)
    _check_classes(lab, num_classes, class_names)
    if max_k < 1:
        raise ExportError("--subcenters must be at least 1.")
    vectors: list[np.ndarray] = []
    owner: list[int] = []
    for c in range(num_classes):
        members = _unit(emb[lab == c])
        groups = (split_class(members, max_k=max_k, min_cluster=min_cluster,
                              min_silhouette=min_silhouette, seed=seed)
                  if max_k > 1 else np.zeros(len(members), dtype=np.int64))
        for g in range(int(groups.max()) + 1):
            vectors.append(members[groups == g].astype(np.float64).sum(axis=0))
            owner.append(c)
    return PrototypeTable(_unit(np.stack(vectors)), np.asarray(owner, dtype=np.int32),
                          "kmeans")


def head_prototypes(centres: Any, subcenters: int, embeddings: Any, labels: Any,
                    num_classes: int, *, min_members: int = 1,
                    class_names: Sequence[str] | None = None) -> PrototypeTable:
    """The head's (C·k, D) class-major centres, keeping each class's dominant sub-centres."""
    emb, lab = _inputs(embeddings, labels)
    _check_classes(lab, num_classes, class_names)
    table = _unit(np.asarray(centres, dtype=np.float32))
    if subcenters < 1 or table.shape != (num_classes * subcenters, emb.shape[1]):
        raise ExportError(
            f"The head's centres have shape {table.shape}, expected "
            f"({num_classes}·{subcenters}, {emb.shape[1]}); the checkpoint's head does not "
            "match its model. Use --prototypes mean."
        )
    vectors: list[np.ndarray] = []
    owner: list[int] = []
    for c in range(num_classes):
        own = table[c * subcenters:(c + 1) * subcenters]
        nearest = np.argmax(_unit(emb[lab == c]) @ own.T, axis=1)
        uses = np.bincount(nearest, minlength=subcenters)
        keep = np.flatnonzero(uses >= min_members)
        if len(keep) == 0:
            keep = np.array([int(np.argmax(uses))])
        vectors.extend(own[keep])
        owner.extend([c] * len(keep))
    return PrototypeTable(_unit(np.stack(vectors)), np.asarray(owner, dtype=np.int32), "head")
