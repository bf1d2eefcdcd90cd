# SPDX-License-Identifier: GPL-3.0-or-later
"""GPS as evidence: where a photo was taken says a lot about which landmark it can show.

The rule, with its constants, is deliberately simple enough to state in one breath:

* **Rejected** beyond :data:`FAR_KM` (500 km). Earth's curvature hides even the highest
  mountain from an observer at ground level beyond about 340 km
  (``3.57 km * sqrt(8,849 m)``), and a building from much less; 500 km leaves room for large
  landmarks whose single coordinate is far from their ends and for GPS drift. A match
  thousands of kilometres away is a look-alike (the Eiffel Tower replica in Las Vegas, Tokyo
  Tower) or a mistake, never the landmark itself.
* **Agrees** within :data:`NEAR_KM` (10 km): the photo was taken within sight of the
  landmark. That is independent evidence the visual threshold did not see, so such a
  candidate is accepted down to :data:`NEAR_SCORE_MARGIN` (0.05 cosine) below the threshold;
  above the threshold nothing changes.
* **Inconclusive** in between: the visual verdict stands, unless a candidate GPS agrees
  with scores within :data:`NEAR_SCORE_MARGIN` of it. Being within sight is worth that much
  score below the threshold, so it is worth as much against a candidate GPS places more than
  10 km away: a photo of Hoi An's old town taken in Hoi An is Hoi An even when Hue's citadel,
  100 km away, scores 0.03 higher. A candidate without coordinates is never outranked this
  way (GPS cannot say it is farther: a learned place without a position may be right there).

Candidates are considered in score order; the first that is not rejected and passes its
(possibly relaxed) threshold is the match, or the best agreeing candidate within the margin
below it when it is inconclusive. Candidates whose landmark has no coordinates, and
photos without a usable GPS position, are unaffected. Every candidate gets a reason a person
can read ("2.1 km from Eiffel Tower: GPS agrees"), for the catalogue.

A landmark's margin can also depend on how close the photo was taken (:class:`NearBar`):
``scripts/eval_enrolment.py --at-place`` measured lower bars for learned landmarks at the
learned place itself and none elsewhere; photolm passes none (README, "How well it works").

Pure functions: no files, no catalogue, easy to test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from photolm.bundle import Landmark
from photolm.matching import Candidate, passes

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
NEAR_KM = 10.0
FAR_KM = 500.0
NEAR_SCORE_MARGIN = 0.05

Verdict = Literal["agrees", "inconclusive", "rejected", "unknown"]


@dataclass(frozen=True)
class GeoAssessment:
    """What the photo's position says about one candidate."""

    candidate: Candidate
    distance_km: float | None  # None when the landmark has no coordinates
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class GeoVerdict:
    """The match after weighing GPS evidence: decided here, stored as it is by the catalogue.

    ``visual_match`` is what the scores alone chose; ``match`` what photolm should record;
    ``changed`` tells whether GPS made a difference; ``reason`` is one line for the catalogue.
    ``verdict`` is what GPS says about the recorded match: ``"agrees"``, ``"inconclusive"``,
    ``"unknown"`` (the landmark has no coordinates), ``"rejected"`` (the visual match is too
    far away to be it), or ``None`` when GPS had nothing to say (no usable position, no
    landmark with coordinates, or no candidate near the threshold) and nothing is stored.
    """

    match: Candidate | None
    visual_match: Candidate | None
    assessments: tuple[GeoAssessment, ...]
    reason: str
    verdict: Verdict | None = None

    @property
    def changed(self) -> bool:
        return self.match != self.visual_match


@dataclass(frozen=True)
class NearBar:
    """How far below the threshold agreeing GPS accepts one landmark, by distance: down to
    ``at_place`` within ``radius_km`` (the photo was taken at the landmark itself), down to
    ``nearby`` elsewhere within :data:`NEAR_KM`."""

    radius_km: float
    at_place: float
    nearby: float


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres on a spherical Earth (error under 0.5 %)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def format_distance(km: float) -> str:
    """"350 m", "2.1 km", "1,105 km"."""
    if km < 1:
        return f"{km * 1000:.0f} m"
    if km < 10:
        return f"{km:.1f} km"
    return f"{km:,.0f} km"


def usable_position(lat: float, lon: float) -> bool:
    """A position GPS evidence can use: finite and on the globe."""
    return math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180


def assess(photo_lat: float, photo_lon: float, candidate: Candidate,
           landmark: Landmark | None) -> GeoAssessment:
    """Classify one candidate by its distance from where the photo was taken."""
    lat = None if landmark is None else landmark.latitude
    lon = None if landmark is None else landmark.longitude
    if lat is None or lon is None or not usable_position(lat, lon):
        return GeoAssessment(candidate, None, "unknown",
                             f"no coordinates for {candidate.name}: GPS not used")
    distance = haversine_km(photo_lat, photo_lon, lat, lon)
    shown = format_distance(distance)
    if distance <= NEAR_KM:
        return GeoAssessment(candidate, distance, "agrees",
                             f"{shown} from {candidate.name}: GPS agrees")
    if distance > FAR_KM:
        return GeoAssessment(candidate, distance, "rejected",
                             f"{candidate.name} is {shown} from where the photo was taken: "
                             "rejected")
    return GeoAssessment(candidate, distance, "inconclusive",
                         f"{candidate.name} is {shown} from where the photo was taken: "
                         "GPS neither confirms nor rules it out")


def gps_evidence(
    photo_lat: float | None,
    photo_lon: float | None,
    candidates: Sequence[Candidate],
    landmarks_by_id: Mapping[str, Landmark],
    *,
    threshold: float,
    margin: float = NEAR_SCORE_MARGIN,
    bars: Mapping[str, NearBar] | None = None,
) -> GeoVerdict:
    """Re-decide a photo's match from its top candidates and its GPS position.

    ``candidates`` are the visual top-k (any order); ``threshold`` is the bundle's "no
    landmark" threshold the visual match was decided with; ``margin`` what agreeing GPS is
    worth in score (a parameter so that the evaluation scripts measure this very rule).
    ``bars`` replaces ``margin`` for the landmarks it names (by id).
    """
    ranked = sorted(candidates, key=lambda c: -c.score)
    visual = ranked[0] if ranked and passes(ranked[0], threshold) else None
    if photo_lat is None or photo_lon is None or not usable_position(photo_lat, photo_lon):
        return GeoVerdict(visual, visual, (), "no usable GPS position: visual match only")
    if not landmarks_by_id or not ranked:
        return GeoVerdict(visual, visual, (), "no landmark coordinates: visual match only")
    assessments = tuple(assess(photo_lat, photo_lon, c, landmarks_by_id.get(c.landmark_id))
                        for c in ranked)
    own = bars or {}

    def bar(item: GeoAssessment) -> float:
        if item.verdict != "agrees":
            return threshold
        near = own.get(item.candidate.landmark_id)
        if near is None:
            return threshold - margin
        at = item.distance_km is not None and item.distance_km <= near.radius_km
        return threshold - (near.at_place if at else near.nearby)

    eligible = [item for item in assessments  # gated: the descriptor said no
                if item.verdict != "rejected" and not item.candidate.gated
                and item.candidate.score >= bar(item)]
    match = eligible[0] if eligible else None
    outranked: GeoAssessment | None = None
    if match is not None and match.verdict == "inconclusive":
        near = [item for item in eligible if item.verdict == "agrees"
                and item.candidate.score >= match.candidate.score - margin]
        if near:
            outranked, match = match, near[0]
    reasons: list[str] = []
    if visual is not None:
        first = assessments[0]
        if first.verdict == "rejected":
            reasons.append(first.reason)
    if outranked is not None:
        reasons.append(f"{outranked.candidate.name} scores a little higher but is "
                       f"{format_distance(outranked.distance_km or 0.0)} from where the photo "
                       "was taken")
    if match is not None:
        reason = match.reason
        if match.candidate.score < threshold:
            reason += " (accepted just below the score threshold)"
        if not reasons or reason not in reasons:
            reasons.append(reason)
    elif not reasons:
        reasons.append("no candidate passes the threshold")
    if visual is not None and assessments[0].verdict == "rejected":
        verdict: Verdict | None = "rejected"
    else:  # None: nothing passed the threshold and GPS did not change that
        verdict = None if match is None else match.verdict
    return GeoVerdict(None if match is None else match.candidate, visual, assessments,
                      "; ".join(reasons), verdict)
