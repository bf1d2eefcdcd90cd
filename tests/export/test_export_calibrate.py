# SPDX-License-Identifier: GPL-3.0-or-later
"""Threshold calibration on planted scores: the chosen value, ties, rates and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from export.calibrate import calibrate_threshold, rates_at
from export.errors import ExportError
from photolm.bundle import Landmark
from photolm.matching import Matcher


def _above(value: float) -> float:
    return float(np.nextafter(np.float32(value), np.float32(np.inf), dtype=np.float32))


def test_picks_just_above_the_third_highest_distractor_for_2_percent_of_100() -> None:
    distractors = np.arange(100, dtype=np.float32) / 100  # 0.00 ... 0.99
    result = calibrate_threshold([0.99, 0.5], [True, True], distractors, target_fpr=0.02)
    # 2 of 100 may pass: 0.99 and 0.98; 0.97 must not.
    assert result.threshold == _above(0.97)
    assert result.rates.fpr == pytest.approx(0.02)
    assert result.rates.tagged_distractors == 2
    # It is the smallest such threshold: at 0.97 itself the FPR is over the target.
    assert rates_at(float(np.float32(0.97)), [], [], distractors).fpr > 0.02


def test_ties_at_the_boundary_are_all_rejected() -> None:
    distractors = np.array([0.9, 0.8, 0.8, 0.8] + [0.1] * 46, dtype=np.float32)
    result = calibrate_threshold([0.95], [True], distractors, target_fpr=0.04)  # 2 allowed
    assert result.threshold == _above(0.8)
    assert result.rates.tagged_distractors == 1  # 0.9 only: the three 0.8s stand or fall together
    assert result.rates.fpr == pytest.approx(0.02)


def test_precision_and_recall_at_the_chosen_threshold() -> None:
    distractors = np.array([0.6, 0.3, 0.2, 0.1], dtype=np.float32)
    landmark_scores = [0.9, 0.8, 0.7, 0.65, 0.5, 0.4]
    correct = [True, True, False, True, True, False]
    result = calibrate_threshold(landmark_scores, correct, distractors, target_fpr=0.25)
    assert result.threshold == _above(0.3)  # one of four distractors (0.6) may pass
    r = result.rates
    # tagged: landmarks 0.9, 0.8, 0.7 (wrong), 0.65, 0.5, 0.4 (wrong) + distractor 0.6
    assert (r.tagged_landmarks, r.correct_landmarks, r.tagged_distractors) == (6, 4, 1)
    assert r.precision == pytest.approx(4 / 7)
    assert r.recall == pytest.approx(4 / 6)
    assert (r.positives, r.negatives) == (6, 4)
    cal = result.to_calibration()
    assert (cal.target_fpr, cal.fpr, cal.positives) == (0.25, 0.25, 6)


def test_threshold_behaves_identically_in_photolm_matcher() -> None:
    """photolm compares float32 scores with ``>=``; the calibrated FPR must hold there."""
    rng = np.random.default_rng(3)
    angles = rng.uniform(0.2, 1.4, size=200)
    embeddings = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    matcher = Matcher(np.array([[1.0, 0.0]], dtype=np.float32), np.array([0]),
                      [Landmark("x", "X")], threshold=0.0)
    scores = matcher.landmark_scores(embeddings)[:, 0]
    result = calibrate_threshold([0.99], [True], scores, target_fpr=0.05)
    tagged = Matcher(matcher.prototypes, matcher.owner, matcher.landmarks,
                     threshold=result.threshold).match(embeddings)
    assert sum(m.landmark is not None for m in tagged) == 10 == result.rates.tagged_distractors


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1, 0.875, width=32), min_size=1, max_size=60),  # < 1: 1.0 errors
    st.sampled_from([0.0, 0.01, 0.02, 0.05, 0.1, 0.5]),
)
def test_fpr_never_exceeds_target_and_threshold_is_minimal(scores: list[float],
                                                           target: float) -> None:
    result = calibrate_threshold([0.5], [True], scores, target_fpr=target)
    assert result.rates.fpr <= target + 1e-12
    lower = float(np.nextafter(np.float32(result.threshold), np.float32(-np.inf),
                               dtype=np.float32))
    if result.threshold > -1.0:
        assert rates_at(lower, [0.5], [True], scores).fpr > target


def test_target_one_tags_everything() -> None:
    assert calibrate_threshold([0.2], [True], [0.1, 0.9], target_fpr=1.0).threshold == -1.0


@pytest.mark.parametrize(
    ("landmarks", "distractors", "target", "message"),
    [
        ([0.5], [], 0.02, "--distractors"),
        ([], [0.1], 0.02, "validation split is empty"),
        ([0.5], [0.1], 1.5, "must lie in [0, 1]"),
        ([0.5], [1.0, 1.0, 0.2], 0.02, "same embedding"),
        ([np.nan], [0.1], 0.02, "finite"),
    ],
)
def test_impossible_calibrations_are_clear_errors(landmarks: list[float],
                                                  distractors: list[float], target: float,
                                                  message: str) -> None:
    with pytest.raises(ExportError) as info:
        calibrate_threshold(landmarks, [True] * len(landmarks), distractors, target_fpr=target)
    assert message in str(info.value)


def test_confidence_bound_allows_only_what_the_target_survives() -> None:
    """With 315 distractors the plain rule lets 6 through (1.9 %); at 95 % confidence only
    counts whose Clopper-Pearson upper bound stays within 2 % may pass: 2 (bound 1.99 %),
    not 3 (2.4 %). Checked against the bound computed independently by bisection."""
    from math import comb

    def upper(a: int, n: int, conf: float) -> float:  # P(X <= a | p) = 1 - conf, solved for p
        lo, hi = a / n, 1.0
        for _ in range(60):
            p = (lo + hi) / 2
            tail = sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(a + 1))
            lo, hi = (p, hi) if tail > 1 - conf else (lo, p)
        return hi

    n = 315
    assert upper(2, n, 0.95) <= 0.02 < upper(3, n, 0.95)
    distractors = np.linspace(0.0, 0.9, n, dtype=np.float32)
    plain = calibrate_threshold([0.95], [True], distractors, target_fpr=0.02)
    strict = calibrate_threshold([0.95], [True], distractors, target_fpr=0.02, confidence=0.95)
    assert (plain.allowed, plain.rates.tagged_distractors) == (6, 6)
    assert (strict.allowed, strict.rates.tagged_distractors) == (2, 2)
    assert strict.threshold == _above(float(np.sort(distractors)[-3]))
    assert strict.threshold > plain.threshold
    assert strict.to_json()["confidence"] == 0.95


def test_confidence_outside_zero_one_is_refused() -> None:
    with pytest.raises(ExportError, match="Confidence"):
        calibrate_threshold([0.9], [True], [0.1, 0.2], confidence=1.0)


@pytest.mark.parametrize(("target", "confidence", "need"), [
    (0.001, None, 1000), (0.02, None, 50), (0.02, 0.95, 236), (0.001, 0.95, 4742)])
def test_too_few_distractors_for_the_target_is_one_warning_naming_how_many(
        target: float, confidence: float | None, need: int) -> None:
    """With ``a = floor(target x n) = 0`` (300 distractors at 0.1 %) no distractor may pass,
    so the threshold is the top distractor's whatever the target: the export says so, and
    how many would allow one (the count checked against the allowance rule itself)."""
    from export.calibrate import allowed_false_positives, distractors_needed
    from export.pipeline import ExportOptions, too_few_distractors

    assert distractors_needed(target, confidence) == need
    assert allowed_false_positives(need - 1, target, confidence) == 0
    assert allowed_false_positives(need, target, confidence) >= 1
    distractors = np.linspace(0.0, 0.6, min(300, need - 1), dtype=np.float32)
    few = calibrate_threshold([0.95], [True], distractors, target_fpr=target,
                              confidence=confidence)
    assert few.threshold == _above(0.6) and few.rates.tagged_distractors == 0
    warning = too_few_distractors(few, ExportOptions(out="b", target_fpr=target,
                                                     fpr_confidence=confidence))
    assert warning is not None and "\n" not in warning
    assert warning.startswith(f"--target-fpr {target:g}")
    assert (f"needs at least {need} calibration distractors (about {2 * need} distractor "
            f"photos with --distractor-holdout 0.5); with {len(distractors)}, none may score "
            "above") in warning
    assert "just above the highest-scoring one" in warning
    enough = np.linspace(0.0, 0.6, need, dtype=np.float32)
    fine = calibrate_threshold([0.95], [True], enough, target_fpr=target, confidence=confidence)
    assert too_few_distractors(fine, ExportOptions(out="b", target_fpr=target)) is None
