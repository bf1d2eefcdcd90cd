# SPDX-License-Identifier: GPL-3.0-or-later
"""GPS evidence: far matches are rejected, near ones trusted, photos without GPS unaffected."""

from __future__ import annotations

import pytest

from photolm.bundle import Landmark
from photolm.geo import FAR_KM, NEAR_SCORE_MARGIN, gps_evidence, haversine_km
from photolm.matching import Candidate

LANDMARKS = {
    "eiffel": Landmark("eiffel", "Eiffel Tower", (), "Paris", "France", 48.8584, 2.2945),
    "colosseum": Landmark("colosseum", "Colosseum", (), "Rome", "Italy", 41.8902, 12.4922),
    "tokyo": Landmark("tokyo", "Tokyo Tower", (), "Tokyo", "Japan", 35.6586, 139.7454),
    "nowhere": Landmark("nowhere", "Unplaced", ()),
}
TROCADERO = (48.8620, 2.2875)  # photo taken across the river from the Eiffel Tower
THRESHOLD = 0.6


def _c(landmark_id: str, score: float) -> Candidate:
    return Candidate(landmark_id, LANDMARKS[landmark_id].name, score)


def test_haversine_against_known_distances() -> None:
    # Eiffel Tower to Colosseum; the spherical law of cosines gives 1,109.42 km too.
    assert haversine_km(48.8584, 2.2945, 41.8902, 12.4922) == pytest.approx(1109.42, abs=0.01)
    assert haversine_km(0, 0, 0, 180) == pytest.approx(20015.1, abs=1.0)
    assert haversine_km(10, 20, 10, 20) == 0


def test_planted_far_match_is_rejected_for_the_near_one() -> None:
    # Visually the Colosseum wins, but the photo was taken in Paris.
    candidates = [_c("colosseum", 0.81), _c("eiffel", 0.72), _c("tokyo", 0.3)]
    verdict = gps_evidence(*TROCADERO, candidates, LANDMARKS, threshold=THRESHOLD)
    assert verdict.visual_match == candidates[0]
    assert verdict.match == candidates[1]
    assert verdict.changed
    assert verdict.reason == ("Colosseum is 1,110 km from where the photo was taken: "
                              "rejected; 650 m from Eiffel Tower: GPS agrees")


def test_far_match_with_no_alternative_becomes_no_landmark() -> None:
    verdict = gps_evidence(*TROCADERO, [_c("tokyo", 0.95)], LANDMARKS, threshold=THRESHOLD)
    assert verdict.match is None and verdict.changed
    assert verdict.assessments[0].verdict == "rejected"
    assert verdict.assessments[0].distance_km is not None
    assert verdict.assessments[0].distance_km > FAR_KM


def test_near_match_is_accepted_just_below_the_threshold_but_no_lower() -> None:
    just_below = THRESHOLD - NEAR_SCORE_MARGIN / 2
    verdict = gps_evidence(*TROCADERO, [_c("eiffel", just_below)], LANDMARKS,
                           threshold=THRESHOLD)
    assert verdict.visual_match is None
    assert verdict.match == _c("eiffel", just_below)
    assert "accepted just below the score threshold" in verdict.reason
    too_low = THRESHOLD - 2 * NEAR_SCORE_MARGIN
    verdict = gps_evidence(*TROCADERO, [_c("eiffel", too_low)], LANDMARKS, threshold=THRESHOLD)
    assert verdict.match is None


def test_inconclusive_distance_leaves_the_visual_verdict() -> None:
    versailles = (48.8049, 2.1204)  # ~14 km from the tower: could be a view, could be not
    verdict = gps_evidence(*versailles, [_c("eiffel", 0.7)], LANDMARKS, threshold=THRESHOLD)
    assert verdict.match == verdict.visual_match == _c("eiffel", 0.7)
    assert verdict.assessments[0].verdict == "inconclusive"
    below = gps_evidence(*versailles, [_c("eiffel", 0.58)], LANDMARKS, threshold=THRESHOLD)
    assert below.match is None


@pytest.mark.parametrize("lat,lon", [(None, None), (float("nan"), 2.0), (91.0, 0.0)])
def test_photos_without_usable_gps_are_unaffected(lat: float | None,
                                                  lon: float | None) -> None:
    candidates = [_c("tokyo", 0.9)]
    verdict = gps_evidence(lat, lon, candidates, LANDMARKS, threshold=THRESHOLD)
    assert verdict.match == verdict.visual_match == candidates[0]
    assert not verdict.changed and verdict.assessments == ()


def test_landmarks_without_coordinates_are_unaffected() -> None:
    verdict = gps_evidence(*TROCADERO, [_c("nowhere", 0.9)], LANDMARKS, threshold=THRESHOLD)
    assert verdict.match == _c("nowhere", 0.9)
    assert verdict.assessments[0].verdict == "unknown"
    assert verdict.assessments[0].reason == "no coordinates for Unplaced: GPS not used"
