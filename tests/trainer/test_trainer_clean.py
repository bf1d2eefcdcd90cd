# SPDX-License-Identifier: GPL-3.0-or-later
"""DBSCAN cleaning flags a planted outlier and writes a file list fit can take."""

from __future__ import annotations

import numpy as np

from trainer.clean import clean, find_outliers
from trainer.data import discover, read_file_list


def test_dbscan_flags_the_planted_outlier():
    rng = np.random.default_rng(0)
    centres = np.eye(2, 16)
    embeddings, labels = [], []
    for label in (0, 1):
        for _ in range(12):
            vector = centres[label] + rng.normal(scale=0.05, size=16)
            embeddings.append(vector / np.linalg.norm(vector))
            labels.append(label)
    planted = centres[1] + rng.normal(scale=0.05, size=16)  # a class-1 look-alike filed as 0
    embeddings.append(planted / np.linalg.norm(planted))
    labels.append(0)

    result = find_outliers(np.array(embeddings), np.array(labels), eps=0.33, min_samples=2)

    assert np.flatnonzero(result.is_outlier).tolist() == [24]
    assert result.similarity[24] < 0.5 < result.similarity[:24].min()
    assert result.no_cluster == []


def test_class_without_any_dense_group_is_left_alone():
    embeddings = np.eye(5, 8)  # five mutually orthogonal photos: cosine distance 1
    result = find_outliers(embeddings, np.zeros(5, dtype=int))
    assert not result.is_outlier.any()
    assert result.no_cluster == [0]


def test_clean_writes_outliers_and_a_kept_list_for_fit(trained_run, tiny_data, tmp_path):
    result = clean([tiny_data], tmp_path / "clean", checkpoint=trained_run)
    out = tmp_path / "clean"
    kept = read_file_list(out / "kept.txt")
    flagged = read_file_list(out / "outliers.txt")
    everything = {s.path for s in discover([tiny_data]).samples}
    assert kept | flagged == everything and not kept & flagged
    assert any(p.endswith("broken.jpg") for p in flagged)  # undecodable photos are dropped
    assert result.kept == len(kept)
    assert (out / "outliers.csv").read_text().startswith("path,class,reason,similarity")
    filtered = discover([tiny_data], file_list=out / "kept.txt")
    assert {s.path for s in filtered.samples} == kept


def test_a_class_too_small_to_judge_is_named_not_skipped_silently():
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(7, 8))
    labels = np.array([0, 0, 0, 0, 0, 1, 1])  # class 1: 2 photos = min_samples
    result = find_outliers(embeddings, labels, eps=0.33, min_samples=2)
    assert result.too_small == [1]
    assert not result.is_outlier[5:].any()
