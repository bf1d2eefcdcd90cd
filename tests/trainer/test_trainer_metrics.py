# SPDX-License-Identifier: GPL-3.0-or-later
"""GAP and friends against hand-computed cases (true label -1 = non-landmark photo)."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.metrics import (
    confusion_matrix,
    false_positive_rate,
    global_average_precision,
    macro_precision_recall_f1,
    topk_accuracy,
)


def gap(pred, conf, true):
    return global_average_precision(np.array(pred), np.array(conf), np.array(true))


def test_gap_all_correct_is_one():
    assert gap([0, 1, 2], [0.9, 0.5, 0.7], [0, 1, 2]) == pytest.approx(1.0)


def test_gap_ranks_by_confidence_over_the_whole_set():
    # Ranked: right (0.9), wrong (0.8), right (0.3): (1/1 + 2/3) / 3
    assert gap([0, 5, 2], [0.9, 0.8, 0.3], [0, 1, 2]) == pytest.approx((1 + 2 / 3) / 3)
    # Same photos, the wrong one least confident: (1 + 1) / 3
    assert gap([0, 5, 2], [0.9, 0.1, 0.3], [0, 1, 2]) == pytest.approx(2 / 3)


def test_gap_counts_predictions_on_non_landmark_photos_as_wrong():
    # A distractor predicted most confidently: ranked wrong, right, right; M = 2.
    value = gap([3, 0, 1], [0.95, 0.9, 0.8], [-1, 0, 1])
    assert value == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_gap_ignores_non_landmark_photos_without_prediction():
    assert gap([-1, 0, 1], [0.95, 0.9, 0.8], [-1, 0, 1]) == pytest.approx(1.0)


def test_gap_landmark_photo_without_prediction_still_counts():
    # Two landmark photos, only one predicted (correctly): 1 / 2.
    assert gap([0, -1], [0.9, 0.2], [0, 1]) == pytest.approx(0.5)


def test_gap_without_landmark_photos_is_undefined():
    assert np.isnan(gap([1], [0.9], [-1]))


def test_topk_accuracy_skips_non_landmark_photos():
    top = np.array([[0, 1, 2], [2, 1, 0], [1, 0, 2], [0, 2, 1]])
    true = np.array([0, 1, 2, -1])
    acc = topk_accuracy(top, true, (1, 2, 3))
    assert acc[1] == pytest.approx(1 / 3)
    assert acc[2] == pytest.approx(2 / 3)
    assert acc[3] == pytest.approx(1.0)


def test_macro_precision_recall_f1_by_hand():
    true = np.array([0, 0, 1, 1, 2, -1])
    pred = np.array([0, 1, 1, 1, 0, 2])
    # class 0: P 1/2, R 1/2; class 1: P 2/3, R 1; class 2: P 0 (no prediction), R 0
    p, r, f1 = macro_precision_recall_f1(pred, true, 3)
    assert p == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    assert r == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert f1 == pytest.approx((1 / 2 + 0.8 + 0) / 3)
    matrix = confusion_matrix(pred, true, 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_false_positive_rate_at_threshold():
    scores = np.array([0.2, 0.5, 0.49, 0.9])
    assert false_positive_rate(scores, 0.5) == pytest.approx(0.5)
    assert false_positive_rate(scores, 0.95) == 0.0
