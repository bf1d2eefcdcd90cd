# SPDX-License-Identifier: GPL-3.0-or-later
"""Cosine matching, per-landmark best prototype, top-k and the "no landmark" threshold."""

from __future__ import annotations

import numpy as np

from photolm.bundle import Landmark
from photolm.matching import Matcher

LMS = [Landmark("a", "A"), Landmark("b", "B"), Landmark("c", "C")]


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def test_best_subcentre_wins_and_topk_is_per_landmark() -> None:
    protos = np.stack([_unit([1, 0, 0]), _unit([0, 1, 0]), _unit([0, 0.9, 0.1]),
                       _unit([0, 0, 1])])
    m = Matcher(protos, np.array([0, 1, 1, 2]), LMS, threshold=0.5, top_k=3)
    (res,) = m.match(_unit([0.1, 0.2, 1.0])[None])
    assert res.landmark is not None and res.landmark.landmark_id == "c"
    assert [c.landmark_id for c in res.top] == ["c", "b", "a"]
    # B's score is its best sub-centre, computed independently here
    v = _unit([0.1, 0.2, 1.0])
    expected_b = max(float(v @ protos[1]), float(v @ protos[2]))
    assert abs(res.top[1].score - expected_b) < 1e-6


def test_below_threshold_is_no_landmark_but_keeps_candidates() -> None:
    protos = np.eye(3, dtype=np.float32)
    m = Matcher(protos, np.arange(3), LMS, threshold=0.9, top_k=2)
    res = m.match(np.stack([_unit([1, 1, 1]), _unit([1, 0.01, 0])]))
    assert res[0].landmark is None and len(res[0].top) == 2
    assert res[1].landmark is not None and res[1].landmark.name == "A"


def test_topk_clamped_to_landmark_count() -> None:
    m = Matcher(np.eye(3, dtype=np.float32), np.arange(3), LMS, threshold=0.0, top_k=10)
    (res,) = m.match(_unit([0.2, 0.3, 1])[None])
    assert len(res.top) == 3
