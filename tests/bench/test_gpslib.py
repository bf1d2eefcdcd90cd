# SPDX-License-Identifier: GPL-3.0-or-later
"""``scripts/gpslib.py``: what ``eval_enrolment.py`` and ``eval_levers.py`` measure GPS with.

The figures both scripts print rest on :func:`gpslib.decide` mapping each photo's visual
scores and position through ``photolm.geo.gps_evidence`` back to a landmark index.
"""

from __future__ import annotations

import numpy as np
import pytest

from photolm.geo import NEAR_SCORE_MARGIN
from tests.scriptload import load_script

gpslib = load_script("gpslib")

# two look-alike landmarks 11 km apart, one 890 km away, one without a known place
NAMES = ["old-gate", "new-gate", "far-tower", "somewhere"]
COORDS = [(48.0, 11.0), (48.1, 11.0), (40.0, 11.0), (None, None)]
THRESHOLD = 0.5


def test_landmarks_are_numbered_by_score_column() -> None:
    landmarks = gpslib.landmarks_at(NAMES, COORDS)
    assert [(lm.id, lm.name, lm.latitude, lm.longitude) for lm in landmarks] == [
        ("0", "old-gate", 48.0, 11.0), ("1", "new-gate", 48.1, 11.0),
        ("2", "far-tower", 40.0, 11.0), ("3", "somewhere", None, None)]


def test_gps_puts_the_landmark_taken_at_first_and_names_it_within_the_margin() -> None:
    """The photo looks a little more like landmark 0 but was taken at landmark 1: GPS ranks
    1 first, and names it although its score lies just under the threshold."""
    scores = np.array([[0.50, 0.49, 0.10, 0.10]], dtype=np.float32)
    decided = gpslib.decide(scores, [COORDS[1]], gpslib.landmarks_at(NAMES, COORDS),
                            THRESHOLD)
    assert decided.first.tolist() == [1]
    assert decided.named.tolist() == [1]


def test_without_gps_the_visual_rule_decides() -> None:
    """No position (None or NaN): top-1 is the best score, named only at the threshold."""
    scores = np.array([[0.48, 0.40, 0.10, 0.10], [0.30, 0.60, 0.10, 0.10],
                       [0.10, 0.20, 0.10, 0.45]], dtype=np.float32)
    positions = [(None, None), (float("nan"), float("nan")), (None, None)]
    decided = gpslib.decide(scores, positions, gpslib.landmarks_at(NAMES, COORDS), THRESHOLD)
    assert decided.first.tolist() == [0, 1, 3]
    assert decided.named.tolist() == [-1, 1, -1]


@pytest.mark.parametrize(("margin", "named"), [(0.0, -1), (NEAR_SCORE_MARGIN, 1)])
def test_margin_is_what_agreeing_gps_is_worth(margin: float, named: int) -> None:
    scores = np.array([[0.10, THRESHOLD - NEAR_SCORE_MARGIN / 2, 0.10, 0.10]], dtype=np.float32)
    decided = gpslib.decide(scores, [COORDS[1]], gpslib.landmarks_at(NAMES, COORDS),
                            THRESHOLD, margin)
    assert decided.named.tolist() == [named]


def test_a_landmark_far_from_the_photo_is_not_named() -> None:
    """Taken at landmark 0, scored highest for landmark 2, 890 km away: GPS rejects it and
    the photo stays unnamed (landmark 0 scores too low to be named, even with GPS)."""
    scores = np.array([[0.30, 0.10, 0.80, 0.10]], dtype=np.float32)
    decided = gpslib.decide(scores, [COORDS[0]], gpslib.landmarks_at(NAMES, COORDS),
                            THRESHOLD)
    assert decided.named.tolist() == [-1]
    assert decided.first.tolist() == [0]
