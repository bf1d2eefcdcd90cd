# SPDX-License-Identifier: GPL-3.0-or-later
"""Score a prototype table the way photolm will use it, and summarise recognition quality.

Scores come from :class:`photolm.matching.Matcher` itself (best cosine over each landmark's
prototypes, top-k over landmarks), so the numbers in the manifest are the runtime's. Top-k
accuracy and GAP come from :mod:`trainer.metrics`, the same definitions ``trainer evaluate``
reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from export.calibrate import rates_at
from export.prototypes import PrototypeTable
from photolm.bundle import Landmark
from photolm.matching import Matcher
from trainer.metrics import global_average_precision, topk_accuracy


def rank(embeddings: np.ndarray, table: PrototypeTable, landmarks: Sequence[Landmark],
         k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(N, k) landmark indices best first, and their scores, exactly as photolm ranks them."""
    matcher = Matcher(table.vectors, table.owner, landmarks, threshold=1.0, top_k=k)
    scores = matcher.landmark_scores(np.asarray(embeddings, dtype=np.float32))
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return top, np.take_along_axis(scores, top, axis=1)


def evaluate_table(
    table: PrototypeTable,
    landmarks: Sequence[Landmark],
    embeddings: np.ndarray,
    true: np.ndarray,
    distractors: np.ndarray | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Recognition metrics of ``table`` on labelled photos (and, given distractor embeddings
    and a threshold, the open-set numbers at that threshold)."""
    true = np.asarray(true, dtype=np.int64)
    top, scores = rank(embeddings, table, landmarks)
    acc = topk_accuracy(top, true, (1, 5))
    result: dict[str, Any] = {
        "images": len(true),
        "top1": acc[1],
        "top5": acc[5],
        "gap": global_average_precision(top[:, 0], scores[:, 0], true),
    }
    if distractors is not None and len(distractors):
        d_top, d_scores = rank(distractors, table, landmarks, k=1)
        result["distractor_images"] = len(distractors)
        result["gap_with_distractors"] = global_average_precision(
            np.concatenate([top[:, 0], d_top[:, 0]]),
            np.concatenate([scores[:, 0], d_scores[:, 0]]),
            np.concatenate([true, np.full(len(distractors), -1)]),
        )
        if threshold is not None:
            rates = rates_at(threshold, scores[:, 0], top[:, 0] == true, d_scores[:, 0])
            result.update({
                "threshold": float(threshold),
                "fpr": rates.fpr,
                "precision_at_threshold": rates.precision,
                "recall_at_threshold": rates.recall,
            })
    return result


def best_scores(embeddings: np.ndarray, table: PrototypeTable, landmarks: Sequence[Landmark],
                true: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Each photo's best score and, given labels, whether its top-1 landmark is right."""
    top, scores = rank(embeddings, table, landmarks, k=1)
    correct = None if true is None else top[:, 0] == np.asarray(true)
    return scores[:, 0], correct
