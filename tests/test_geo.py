# SPDX-License-Identifier: GPL-3.0-or-later
"""GPS evidence: far matches are rejected, near ones trusted, photos without GPS unaffected."""

from __future__ import annotations

import pytest

from photolm.bundle import Landmark
from photolm.geo import FAR_KM, NEAR_SCORE_MARGIN, NearBar, gps_evidence, haversine_km
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


HOI_AN = Landmark("hoi-an", "Hoi An Ancient Town", (), "Hoi An", "Vietnam", 15.8801, 108.3380)
HUE = Landmark("hue", "Imperial City of Hue", (), "Hue", "Vietnam", 16.4698, 107.5786)
VIETNAM = {"hoi-an": HOI_AN, "hue": HUE, "nowhere": LANDMARKS["nowhere"]}
IN_HOI_AN = (15.8770, 108.3300)  # ~900 m from the old town's centre, ~100 km from Hue


def _v(landmark_id: str, score: float) -> Candidate:
    return Candidate(landmark_id, VIETNAM[landmark_id].name, score)


def test_near_candidate_outranks_a_far_one_within_the_margin() -> None:
    # Hue's citadel scores 0.03 higher, but the photo was taken in Hoi An, 100 km away.
    candidates = [_v("hue", 0.74), _v("hoi-an", 0.71)]
    verdict = gps_evidence(*IN_HOI_AN, candidates, VIETNAM, threshold=THRESHOLD)
    assert verdict.visual_match == candidates[0]
    assert verdict.match == candidates[1] and verdict.changed
    assert verdict.verdict == "agrees"
    assert verdict.reason.startswith("Imperial City of Hue scores a little higher but is "
                                     "104 km from where the photo was taken; ")
    assert verdict.reason.endswith("from Hoi An Ancient Town: GPS agrees")


def test_near_candidate_further_below_than_the_margin_does_not_outrank() -> None:
    candidates = [_v("hue", 0.74), _v("hoi-an", 0.74 - 2 * NEAR_SCORE_MARGIN)]
    verdict = gps_evidence(*IN_HOI_AN, candidates, VIETNAM, threshold=THRESHOLD)
    assert verdict.match == candidates[0] and not verdict.changed
    assert verdict.verdict == "inconclusive"


def test_near_candidate_must_still_pass_its_own_relaxed_threshold() -> None:
    # within the margin of the far one, but more than the margin below the threshold
    low = THRESHOLD - NEAR_SCORE_MARGIN - 0.01
    candidates = [_v("hue", low + 0.02), _v("hoi-an", low)]
    verdict = gps_evidence(*IN_HOI_AN, candidates, VIETNAM, threshold=THRESHOLD)
    assert verdict.match is None


def test_a_candidate_without_coordinates_is_never_outranked_by_a_near_one() -> None:
    # A place the person learned without a position may be right here: GPS cannot say the
    # near shipped landmark is the better answer.
    candidates = [_v("nowhere", 0.74), _v("hoi-an", 0.72)]
    verdict = gps_evidence(*IN_HOI_AN, candidates, VIETNAM, threshold=THRESHOLD)
    assert verdict.match == candidates[0] and not verdict.changed


@pytest.mark.parametrize("margin", [0.0, 0.1])
def test_margin_parameter_drives_both_rules(margin: float) -> None:
    candidates = [_v("hue", 0.74), _v("hoi-an", 0.67)]
    verdict = gps_evidence(*IN_HOI_AN, candidates, VIETNAM, threshold=THRESHOLD, margin=margin)
    assert (verdict.match == candidates[1]) is (margin == 0.1)
    alone = gps_evidence(*IN_HOI_AN, [_v("hoi-an", THRESHOLD - 0.05)], VIETNAM,
                         threshold=THRESHOLD, margin=margin)
    assert (alone.match is not None) is (margin == 0.1)


@pytest.mark.parametrize(("where", "named"), [((48.8584, 2.2950), True), (TROCADERO, False)])
def test_a_bar_sets_one_landmarks_margin_by_distance(where: tuple[float, float],
                                                     named: bool) -> None:
    """A bar of 0.15 within 300 m and none beyond (what scripts/eval_enrolment.py --at-place
    measures for learned landmarks): a score 0.1 under the threshold names the tower from its
    foot, not from the Trocadero ~650 m away, where the default margin would have."""
    bars = {"eiffel": NearBar(0.3, 0.15, 0.0)}
    low = [_c("eiffel", THRESHOLD - 0.1)]
    verdict = gps_evidence(*where, low, LANDMARKS, threshold=THRESHOLD, bars=bars)
    assert (verdict.match is not None) is named
    assert gps_evidence(*TROCADERO, [_c("eiffel", THRESHOLD - NEAR_SCORE_MARGIN / 2)],
                        LANDMARKS, threshold=THRESHOLD, bars=bars).match is None
    # a landmark without a bar keeps the default margin
    assert gps_evidence(*TROCADERO, [_c("eiffel", THRESHOLD - NEAR_SCORE_MARGIN / 2)],
                        LANDMARKS, threshold=THRESHOLD, bars={"tokyo": bars["eiffel"]}
                        ).match is not None
