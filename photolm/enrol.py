# SPDX-License-Identifier: GPL-3.0-or-later
"""Learned landmarks: prototypes made from a person's example photos, and how they match.

A landmark learned from k photos keeps every example as its own prototype besides their mean:
the photos of a place show different sides of it, and the best of "closest example" and
"closest to the average" is what retrieval needs (scripts/eval_enrolment.py measures each).
Pure numpy on unit vectors: nothing here decodes a photo or touches the catalogue.
"""

from __future__ import annotations

import numpy as np


def unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); zero rows stay zero."""
    arr = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    return arr / np.maximum(norms, 1e-12)


def prototypes(examples: np.ndarray, *, mode: str = "mean+examples") -> np.ndarray:
    """Prototype rows for one landmark from its example vectors ``(k, D)``.

    ``mean``: one row; ``examples``: one row per example; ``mean+examples``: both (one row
    when k == 1).
    """
    ex = unit(np.atleast_2d(examples))
    if ex.shape[0] == 0:
        raise ValueError("A learned landmark needs at least one example vector.")
    mean = unit(ex.mean(axis=0, keepdims=True))
    if mode == "mean":
        return mean
    if mode == "examples" or ex.shape[0] == 1:
        return ex
    if mode == "mean+examples":
        return np.concatenate([mean, ex])
    raise ValueError(f"unknown prototype mode {mode!r}")


def landmark_scores(vectors: np.ndarray, protos: np.ndarray, owner: np.ndarray,
                    n_landmarks: int) -> np.ndarray:
    """``(N, L)`` best cosine of each vector over each landmark's own prototype rows."""
    sims = np.asarray(vectors, dtype=np.float32) @ np.asarray(protos, dtype=np.float32).T
    return best_per_owner(sims, owner, n_landmarks)


def best_per_owner(sims: np.ndarray, owner: np.ndarray, n_landmarks: int) -> np.ndarray:
    """``(N, L)`` from ``(N, P)`` similarities: the best column of each landmark's rows."""
    scores = np.full((sims.shape[0], n_landmarks), -np.inf, dtype=np.float32)
    for lm in range(n_landmarks):
        cols = np.flatnonzero(owner == lm)
        if cols.size:
            scores[:, lm] = sims[:, cols].max(axis=1)
    return scores


def threshold_for_fpr(negative_best: np.ndarray, fpr: float) -> float:
    """Smallest score threshold that tags at most ``fpr`` of the negatives.

    ``negative_best``: each negative photo's best score over the learned landmarks.
    """
    neg = np.sort(np.asarray(negative_best, dtype=np.float64))[::-1]
    allowed = int(np.floor(fpr * neg.size))
    if neg.size == 0:
        return -1.0
    # Tag "score >= threshold": sit just above the (allowed+1)-th highest negative, by a
    # float32 step: scores are float32, and a float64 step above one rounds back onto it.
    return float(np.nextafter(np.float32(neg[allowed]), np.float32(np.inf))) \
        if allowed < neg.size else -1.0


def expand(protos: np.ndarray, library: np.ndarray, neighbours: int) -> np.ndarray:
    """Average query expansion: each prototype row moves towards its closest library photos.

    The new row is the normalised sum of the row and its ``neighbours`` nearest library
    vectors weighted by their similarity (alpha-QE with alpha = 1); originals are kept too.
    """
    if neighbours <= 0 or library.shape[0] == 0:
        return protos
    sims = protos @ library.T
    n = min(neighbours, library.shape[0])
    top = np.argpartition(-sims, n - 1, axis=1)[:, :n]
    weights = np.maximum(np.take_along_axis(sims, top, axis=1), 0.0)
    expanded = protos + np.einsum("pn,pnd->pd", weights, library[top])
    return np.concatenate([protos, unit(expanded)])


# Weight of the fine-tuned embedding beside the generic descriptor in the vectors learned
# landmarks are matched with (scripts/eval_enrolment.py --weight; 0.35-0.7 measured alike).
EMBEDDING_WEIGHT = 0.5


def fused(descriptor: np.ndarray | None, embedding: np.ndarray,
          weight: float = EMBEDDING_WEIGHT) -> np.ndarray:
    """The vector learned landmarks and places work on: ``[descriptor, w * embedding]``, unit.

    The generic descriptor generalises to places the model never saw; the fine-tuned
    embedding still knows what makes a landmark a landmark (and not a portrait). Their cosine
    is the weighted mean of the two cosines. Without a descriptor, the embedding alone.
    """
    emb = unit(np.atleast_2d(embedding))
    if descriptor is None:
        return emb
    desc = unit(np.atleast_2d(descriptor))
    return unit(np.concatenate([desc, weight * emb], axis=1))


def fused_similarities(descriptors: np.ndarray, embeddings: np.ndarray, rows: np.ndarray,
                       weight: float = EMBEDDING_WEIGHT) -> np.ndarray:
    """``(N, P)`` cosines between photos' fused vectors and fused ``rows``, without building
    the photos' fused vectors: two matrix products on the stored unit parts. Re-matching a
    whole catalogue does this, where concatenating and normalising 100,000 rows cost more
    than the products themselves."""
    split = descriptors.shape[1]
    sims = descriptors @ rows[:, :split].T
    sims += weight * (embeddings @ rows[:, split:].T)
    sims *= 1.0 / np.sqrt(1.0 + weight * weight)
    return sims
