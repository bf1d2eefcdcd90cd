# SPDX-License-Identifier: GPL-3.0-or-later
"""Prototype tables from planted embeddings: means, k-means sub-centres, head sub-centres."""

from __future__ import annotations

import numpy as np
import pytest

from export.errors import ExportError
from export.prototypes import head_prototypes, kmeans_prototypes, mean_prototypes, split_class


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _blob(centre: np.ndarray, n: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return _unit(centre[None, :] + spread * rng.standard_normal((n, len(centre))))


E = np.eye(64, dtype=np.float32)  # embeddings have tens to hundreds of dimensions


def test_mean_prototype_is_the_normalised_mean_per_class() -> None:
    emb = _unit(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=np.float32))
    table = mean_prototypes(emb, [0, 0, 1, 1], 2)
    np.testing.assert_allclose(table.vectors[0], np.array([1, 1, 0]) / np.sqrt(2), atol=1e-6)
    np.testing.assert_allclose(table.vectors[1], [0, 0, 1], atol=1e-6)
    assert table.owner.tolist() == [0, 1] and table.method == "mean"


def test_kmeans_splits_only_the_class_with_two_separate_views() -> None:
    two_sides = np.concatenate([_blob(E[0], 12, 0.05, 1), _blob(E[1], 12, 0.05, 2)])
    one_side = _blob(E[2], 24, 0.05, 3)
    tiny = _blob(E[3] + E[4], 4, 0.05, 4)  # too few photos for two groups of 3
    emb = np.concatenate([two_sides, one_side, tiny])
    labels = [0] * 24 + [1] * 24 + [2] * 4
    table = kmeans_prototypes(emb, labels, 3, max_k=3)
    assert table.per_class(3).tolist() == [2, 1, 1]
    sides = table.vectors[table.owner == 0]
    # one sub-centre per side, each close to its side's direction
    assert sorted(int(np.argmax(v)) for v in sides) == [0, 1]
    assert np.all(sides.max(axis=1) > 0.99)
    assert table.summary(3)["classes_with_subcentres"] == 1


def test_split_class_keeps_one_group_for_a_single_blob_and_honours_max_k() -> None:
    assert split_class(_blob(E[0], 30, 0.3, 5), max_k=3).max() == 0
    three = np.concatenate([_blob(E[i], 10, 0.05, i) for i in range(3)])
    assert split_class(three, max_k=3).max() == 2
    assert split_class(three, max_k=2).max() <= 1
    assert kmeans_prototypes(three, [0] * 30, 1, max_k=1).per_class(1).tolist() == [1]


def test_head_prototypes_drop_subcentres_no_training_photo_uses() -> None:
    # class 0: sub-centres E0 (used), E1 (used), E5 (noise); class 1: E2 (used), E6, E7
    centres = np.stack([E[0], E[1], E[5], E[2], E[6], E[7]])
    emb = np.concatenate([_blob(E[0], 3, 0.01, 1), _blob(E[1], 3, 0.01, 2),
                          _blob(E[2], 5, 0.01, 3)])
    table = head_prototypes(centres, 3, emb, [0] * 6 + [1] * 5, 2)
    assert table.per_class(2).tolist() == [2, 1]
    np.testing.assert_allclose(table.vectors, [E[0], E[1], E[2]], atol=1e-6)
    assert table.method == "head"
    with pytest.raises(ExportError, match="does not match its model"):
        head_prototypes(centres[:5], 3, emb, [0] * 6 + [1] * 5, 2)


def test_a_landmark_without_training_photos_is_named_in_the_error() -> None:
    emb = _blob(E[0], 4, 0.01, 1)
    with pytest.raises(ExportError, match="no decodable training photo.*Blue Mosque"):
        mean_prototypes(emb, [0, 0, 1, 1], 3, class_names=["Red Fort", "Green Gate",
                                                           "Blue Mosque"])
