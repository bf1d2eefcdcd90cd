# SPDX-License-Identifier: GPL-3.0-or-later
"""What the evaluation scripts share to measure GPS evidence: photos decided by
``photolm.geo.gps_evidence`` itself, from their visual top candidates, as a scan decides them.

``eval_enrolment.py`` (learned landmarks, positions simulated around each landmark) and
``eval_levers.py`` (the shipped landmarks, each photo at its landmark) both call
:func:`decide`, so both measure the one rule the same way and a change to it reaches both;
where the photos and the landmarks are placed stays each script's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from photolm.bundle import Landmark
from photolm.geo import NEAR_SCORE_MARGIN, NearBar, gps_evidence
from photolm.matching import Candidate

TOP_K = 5  # the visual candidates photolm keeps per photo (Matcher.from_bundle's top_k)


def landmarks_at(names: Sequence[str], coords: Sequence[tuple[float | None, float | None]]
                 ) -> list[Landmark]:
    """One landmark per score column, its id the column's number as text (how
    :func:`decide` maps a match back to a column); a ``None`` coordinate: place unknown."""
    return [Landmark(str(i), name, (), latitude=lat, longitude=lon)
            for i, (name, (lat, lon)) in enumerate(zip(names, coords, strict=True))]


@dataclass(frozen=True)
class Decisions:
    """Per photo, the column (landmark index) chosen, -1 for none."""

    first: np.ndarray  # put first by GPS when every candidate passes: top-1 with GPS
    named: np.ndarray  # named at the threshold, GPS's margin below it where GPS agrees


def decide(scores: np.ndarray, positions: Sequence[tuple[float | None, float | None]],
           landmarks: Sequence[Landmark], threshold: float,
           margin: float = NEAR_SCORE_MARGIN,
           bars: Mapping[str, NearBar] | None = None) -> Decisions:
    """Each row of ``scores`` (one column per landmark of ``landmarks_at``) decided with the
    photo taken at ``positions[row]`` (``None`` or NaN: no usable GPS); ``bars`` as
    ``gps_evidence`` takes them, keyed by column number as text."""
    by_id = {lm.id: lm for lm in landmarks}
    first = np.full(len(scores), -1)
    named = np.full(len(scores), -1)
    for i, (row, (lat, lon)) in enumerate(zip(scores, positions, strict=True)):
        top = [Candidate(str(j), landmarks[j].name, float(row[j]))
               for j in np.argsort(-row)[:TOP_K]]
        best = gps_evidence(lat, lon, top, by_id, threshold=-np.inf, margin=margin,
                            bars=bars).match
        match = gps_evidence(lat, lon, top, by_id, threshold=threshold, margin=margin,
                             bars=bars).match
        first[i] = -1 if best is None else int(best.landmark_id)
        named[i] = -1 if match is None else int(match.landmark_id)
    return Decisions(first, named)
