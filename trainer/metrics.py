# SPDX-License-Identifier: GPL-3.0-or-later
"""Recognition metrics, in numpy so they are easy to check by hand.

Conventions: a true label ``-1`` marks a non-landmark photo (a distractor, or a landmark the
model does not know); a predicted label ``-1`` means "no prediction" (the score fell below
the threshold).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


def topk_accuracy(topk_labels: np.ndarray, true: np.ndarray,
                  ks: Iterable[int] = (1, 5)) -> dict[int, float]:
    """Share of landmark photos (true >= 0) whose label is among the first k predictions."""
    topk_labels = np.asarray(topk_labels)
    true = np.asarray(true)
    mask = true >= 0
    result = {}
    for k in ks:
        if not mask.any():
            result[k] = float("nan")
            continue
        hits = (topk_labels[mask, :k] == true[mask, None]).any(axis=1)
        result[k] = float(hits.mean())
    return result


def global_average_precision(pred: np.ndarray, confidence: np.ndarray,
                             true: np.ndarray) -> float:
    """Kaggle's Global Average Precision (micro-AP over one prediction per photo).

    GAP = (1/M) Σ_i P(i)·rel(i): predictions (photos with ``pred >= 0``) are ranked by
    confidence over the whole set (ties keep input order); P(i) is the precision of the first
    i predictions, rel(i) is 1 when prediction i is right; M is the number of landmark photos
    (``true >= 0``). A prediction on a non-landmark photo is always wrong; a photo with no
    prediction adds nothing to the sum but still counts in M if it shows a landmark.
    """
    pred = np.asarray(pred)
    confidence = np.asarray(confidence, dtype=np.float64)
    true = np.asarray(true)
    m = int((true >= 0).sum())
    if m == 0:
        return float("nan")
    predicted = pred >= 0
    order = np.argsort(-confidence[predicted], kind="stable")
    correct = ((pred == true) & (true >= 0))[predicted][order].astype(np.float64)
    if correct.size == 0:
        return 0.0
    precision_at_i = np.cumsum(correct) / np.arange(1, correct.size + 1)
    return float((precision_at_i * correct).sum() / m)


@dataclass(frozen=True)
class ClassReport:
    """Per-class counts and rates over landmark photos."""

    support: np.ndarray  # photos of the class
    correct: np.ndarray  # of which predicted right
    predicted: np.ndarray  # photos predicted as the class
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray


def per_class_report(pred: np.ndarray, true: np.ndarray, num_classes: int) -> ClassReport:
    """Precision, recall, F1 per class over landmark photos (true >= 0); 0 where undefined."""
    pred = np.asarray(pred)
    true = np.asarray(true)
    mask = true >= 0
    pred, true = pred[mask], true[mask]
    support = np.bincount(true, minlength=num_classes)[:num_classes]
    hits = true[pred == true]
    correct = np.bincount(hits, minlength=num_classes)[:num_classes]
    valid = pred[(pred >= 0) & (pred < num_classes)]
    predicted = np.bincount(valid, minlength=num_classes)[:num_classes]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, correct / np.maximum(predicted, 1), 0.0)
        recall = np.where(support > 0, correct / np.maximum(support, 1), 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1), 0.0)
    return ClassReport(support, correct, predicted, precision, recall, f1)


def macro_precision_recall_f1(pred: np.ndarray, true: np.ndarray,
                              num_classes: int) -> tuple[float, float, float]:
    """Unweighted means over the classes that have photos in the evaluated set."""
    report = per_class_report(pred, true, num_classes)
    present = report.support > 0
    if not present.any():
        return float("nan"), float("nan"), float("nan")
    return (float(report.precision[present].mean()), float(report.recall[present].mean()),
            float(report.f1[present].mean()))


def confusion_matrix(pred: np.ndarray, true: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) counts, rows = true class, columns = predicted class (landmark photos only,
    photos without a prediction left out)."""
    pred = np.asarray(pred)
    true = np.asarray(true)
    keep = (true >= 0) & (pred >= 0)
    flat = true[keep] * num_classes + pred[keep]
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def false_positive_rate(nonlandmark_scores: np.ndarray, threshold: float) -> float:
    """Share of non-landmark photos whose best score reaches the threshold (so would be
    tagged with some landmark)."""
    scores = np.asarray(nonlandmark_scores, dtype=np.float64)
    if scores.size == 0:
        return float("nan")
    return float((scores >= threshold).mean())
