# SPDX-License-Identifier: GPL-3.0-or-later
"""Choose the "no landmark" threshold from data, for a target false-positive rate.

Inputs are scores as photolm computes them (:class:`photolm.matching.Matcher`: a photo's score
is its best cosine over all landmarks' prototypes) for two sets of photos the prototypes were
*not* built from:

* held-out landmark photos, each with whether its top-1 landmark is the right one;
* non-landmark photos (distractors).

photolm tags a photo with its top-1 landmark when ``score >= threshold``. Definitions used
here and recorded in the manifest:

* **false positive**: a *non-landmark* photo that gets tagged (any landmark). The false-
  positive rate (FPR) is their share of the distractor photos. A landmark photo tagged with
  the wrong landmark is not counted in the FPR (it is a recognition error, which lowers
  precision instead).
* **precision**: correctly tagged landmark photos / all tagged photos (landmark and
  distractor); 1.0 when nothing is tagged. It depends on the mix of the two sets, so read it
  together with their sizes (``positives``, ``negatives``).
* **recall**: correctly tagged landmark photos / all held-out landmark photos.

The threshold chosen is the *smallest* one whose FPR on the distractors is at most the target:
with ``a = floor(target · n)`` distractors allowed through, it lies just above the
``(a+1)``-th highest distractor score (the next float32 value, since photolm compares float32
scores). Ties are handled deterministically: every distractor with a score equal to that
``(a+1)``-th one is rejected too, so the FPR may fall below the target but never exceeds it.

That rule meets the target *on the calibration photos*; on new photos the rate scatters
around it (with 300 distractors one standard error is about 0.8 points). With ``confidence``
(the exporter's default is 0.95) ``a`` is instead the largest count whose one-sided
Clopper-Pearson upper bound at that level stays within the target: the threshold then
holds the target *for photos like these* with that confidence, rather than on average. It
costs recall, which is the side a person can fix (``photolm confirm``); a false tag in
someone's metadata is the worse error. Pure numpy (and scipy for the bound); no model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from export.errors import ExportError
from photolm.bundle import Calibration
from photolm.wording import counted


@dataclass(frozen=True)
class Rates:
    """What a threshold does to the two photo sets."""

    threshold: float
    fpr: float
    precision: float
    recall: float
    positives: int  # held-out landmark photos
    negatives: int  # non-landmark photos
    tagged_landmarks: int  # landmark photos at or above the threshold (right or wrong)
    correct_landmarks: int  # ... of which the top-1 landmark is right
    tagged_distractors: int  # false positives

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CalibrationResult:
    target_fpr: float
    rates: Rates
    confidence: float | None = None  # None: the target holds on the calibration photos
    allowed: int = 0  # distractors allowed above the threshold
    floor: float | None = None  # least threshold for unseen landmarks (export.unseen)
    distractor_threshold: float | None = None  # what the distractors alone chose

    @property
    def threshold(self) -> float:
        return self.rates.threshold

    def with_floor(self, floor: float | None, landmark_scores: Any, landmark_correct: Any,
                   distractor_scores: Any) -> CalibrationResult:
        """The threshold raised to ``floor`` where the distractors chose a lower one, with
        its rates measured again on the same photos."""
        if floor is None:
            return self
        chosen = self.threshold
        if floor <= chosen:
            return replace(self, floor=float(floor), distractor_threshold=chosen)
        scores, correct, negatives = _arrays(landmark_scores, landmark_correct,
                                             distractor_scores)
        return replace(self, rates=rates_at(float(floor), scores, correct, negatives),
                       floor=float(floor), distractor_threshold=chosen)

    def to_calibration(self) -> Calibration:
        """The record the bundle manifest carries."""
        r = self.rates
        return Calibration(target_fpr=self.target_fpr, fpr=r.fpr, precision=r.precision,
                           recall=r.recall, positives=r.positives, negatives=r.negatives)

    def to_json(self) -> dict[str, Any]:
        data = {"target_fpr": self.target_fpr, "confidence": self.confidence,
                "allowed_distractors": self.allowed, **self.rates.to_json()}
        if self.floor is not None:
            data |= {"threshold_floor": self.floor,
                     "distractor_threshold": self.distractor_threshold}
        return data


def _arrays(landmark_scores: Any, landmark_correct: Any,
            distractor_scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scores = np.asarray(landmark_scores, dtype=np.float32).reshape(-1)
    correct = np.asarray(landmark_correct, dtype=bool).reshape(-1)
    negatives = np.asarray(distractor_scores, dtype=np.float32).reshape(-1)
    if scores.shape != correct.shape:
        raise ExportError("landmark_scores and landmark_correct must have the same length.")
    if not (np.all(np.isfinite(scores)) and np.all(np.isfinite(negatives))):
        raise ExportError("Calibration scores must be finite numbers.")
    return scores, correct, negatives


def rates_at(threshold: float, landmark_scores: Any, landmark_correct: Any,
             distractor_scores: Any) -> Rates:
    """FPR, precision and recall when photos with ``score >= threshold`` are tagged."""
    scores, correct, negatives = _arrays(landmark_scores, landmark_correct, distractor_scores)
    t = float(threshold)
    tagged = scores >= t
    tagged_landmarks = int(tagged.sum())
    correct_landmarks = int((tagged & correct).sum())
    tagged_distractors = int((negatives >= t).sum())
    total_tagged = tagged_landmarks + tagged_distractors
    return Rates(
        threshold=t,
        fpr=tagged_distractors / len(negatives) if len(negatives) else float("nan"),
        precision=correct_landmarks / total_tagged if total_tagged else 1.0,
        recall=correct_landmarks / len(scores) if len(scores) else float("nan"),
        positives=len(scores),
        negatives=len(negatives),
        tagged_landmarks=tagged_landmarks,
        correct_landmarks=correct_landmarks,
        tagged_distractors=tagged_distractors,
    )


def allowed_false_positives(n: int, target_fpr: float, confidence: float | None) -> int:
    """How many of ``n`` distractors may score above the threshold (see module doc)."""
    if confidence is None:
        return math.floor(target_fpr * n + 1e-9)
    from scipy.stats import beta

    allowed = 0  # even none seen may not prove the target with few photos: allow none then
    for a in range(1, n):  # the bound grows with a: stop at the first that breaks the target
        if float(beta.ppf(confidence, a + 1, n - a)) > target_fpr:
            break
        allowed = a
    return allowed


def distractors_needed(target_fpr: float, confidence: float | None) -> int:
    """The fewest calibration distractors with which one may score above the threshold
    (:func:`allowed_false_positives` >= 1). With fewer, none may: the threshold lands just
    above the highest-scoring distractor whatever the target, so the target says nothing."""
    def enough(n: int) -> bool:
        return allowed_false_positives(n, target_fpr, confidence) >= 1

    low, high = 1, 2  # not enough at ``low``, maybe at ``high``: double, then halve the gap
    while not enough(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def calibrate_threshold(landmark_scores: Any, landmark_correct: Any, distractor_scores: Any,
                        target_fpr: float = 0.02, *,
                        confidence: float | None = None) -> CalibrationResult:
    """The smallest threshold with FPR <= ``target_fpr`` on the distractors, or, with
    ``confidence``, the smallest whose FPR bound at that confidence is (see module doc)."""
    if not 0.0 <= target_fpr <= 1.0 or math.isnan(target_fpr):
        raise ExportError(f"Target false-positive rate {target_fpr} must lie in [0, 1].")
    if confidence is not None and not 0.0 < confidence < 1.0:
        raise ExportError(f"Confidence {confidence} must lie strictly between 0 and 1.")
    scores, correct, negatives = _arrays(landmark_scores, landmark_correct, distractor_scores)
    if len(negatives) == 0:
        raise ExportError(
            "Calibrating the threshold needs non-landmark photos; pass --distractors with a "
            "folder of photos that show no landmark."
        )
    if len(scores) == 0:
        raise ExportError("Calibrating the threshold needs held-out landmark photos; the "
                          "checkpoint's validation split is empty (train with --split 80/20).")
    allowed = allowed_false_positives(len(negatives), target_fpr, confidence)
    if allowed >= len(negatives):
        threshold = -1.0
    else:
        ranked = np.sort(negatives)[::-1]
        boundary = np.float32(ranked[allowed])
        above = np.nextafter(boundary, np.float32(np.inf), dtype=np.float32)
        if above > 1.0:
            raise ExportError(
                f"Cannot reach a false-positive rate of {target_fpr:g}: "
                f"{counted(int((negatives >= 1.0).sum()), 'non-landmark photo', 'scores')} "
                "1.0: (near-)duplicates of training photos, or the model gives every photo "
                "the same embedding. Remove such duplicates, or check the model."
            )
        threshold = max(-1.0, float(above))
    rates = rates_at(threshold, scores, correct, negatives)
    return CalibrationResult(target_fpr=float(target_fpr), rates=rates, confidence=confidence,
                             allowed=allowed)
