# SPDX-License-Identifier: GPL-3.0-or-later
"""Learned-landmark prototypes, thresholds and place grouping on hand-made vectors."""

from __future__ import annotations

import numpy as np
import pytest

from photolm import enrol, places


def _unit(rows: list[list[float]]) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_prototypes_keep_the_mean_and_every_example() -> None:
    ex = _unit([[1, 0, 0], [0, 1, 0]])
    protos = enrol.prototypes(ex)
    assert protos.shape == (3, 3)
    np.testing.assert_allclose(protos[0], _unit([[1, 1, 0]])[0], atol=1e-6)
    np.testing.assert_allclose(protos[1:], ex, atol=1e-6)
    assert enrol.prototypes(ex[:1]).shape == (1, 3)  # one example: no separate mean
    assert enrol.prototypes(ex, mode="mean").shape == (1, 3)
    with pytest.raises(ValueError):
        enrol.prototypes(np.empty((0, 3)))


def test_landmark_score_is_the_best_of_its_own_prototypes() -> None:
    protos = _unit([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    scores = enrol.landmark_scores(_unit([[0.6, 0.8, 0.0]]), protos, np.array([0, 0, 1]), 3)
    np.testing.assert_allclose(scores[0, :2], [0.8, 0.0], atol=1e-6)
    assert scores[0, 2] == -np.inf  # a landmark without prototypes never wins


def test_threshold_for_fpr_tags_at_most_that_share_of_negatives() -> None:
    neg = np.linspace(0.0, 0.99, 100)
    thr = enrol.threshold_for_fpr(neg, 0.01)
    assert (neg >= thr).sum() == 1
    assert (neg >= enrol.threshold_for_fpr(neg, 0.0)).sum() == 0


def test_fused_vector_cosine_is_the_weighted_mean_of_both_cosines() -> None:
    d = _unit([[1, 0], [0.6, 0.8]])
    e = _unit([[0, 1], [0.8, 0.6]])
    f = enrol.fused(d, e, 0.5)
    expected = (float(d[0] @ d[1]) + 0.25 * float(e[0] @ e[1])) / 1.25
    assert abs(float(f[0] @ f[1]) - expected) < 1e-6
    np.testing.assert_allclose(enrol.fused(None, e), e, atol=1e-6)


def test_query_expansion_adds_rows_pulled_towards_the_library() -> None:
    protos = _unit([[1, 0, 0]])
    library = _unit([[1, 0.5, 0], [1, 0.4, 0], [0, 0, 1]])
    out = enrol.expand(protos, library, 2)
    assert out.shape == (2, 3)
    assert out[1, 1] > 0.2 and abs(out[1, 2]) < 1e-6


def _three_places(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    centres = np.eye(8, dtype=np.float32)[:3]
    rows, labels = [], []
    for lab, size in enumerate((6, 4, 3)):
        for _ in range(size):
            rows.append(centres[lab] + rng.normal(0, 0.08, 8))
            labels.append(lab)
    for _ in range(10):  # loners, alike nothing
        rows.append(rng.normal(0, 1, 8))
        labels.append(-1)
    vec = np.asarray(rows, dtype=np.float32)
    return vec / np.linalg.norm(vec, axis=1, keepdims=True), np.asarray(labels)


def test_places_groups_alike_photos_biggest_first_and_leaves_loners_out() -> None:
    vec, labels = _three_places(np.random.default_rng(0))
    keys = [f"/p/{i:03d}.jpg" for i in range(len(labels))]
    found = places.group_places(vec, keys, cuts=0.3, min_photos=3)
    assert [p.size for p in found] == [6, 4, 3]
    for place, lab in zip(found, (0, 1, 2), strict=True):
        assert set(labels[list(place.members)]) == {lab}
        assert place.id.startswith("pl-")
    assert [p.size for p in places.group_places(vec, keys, cuts=0.3, min_photos=5)] == [6]


def test_places_ids_do_not_depend_on_input_order() -> None:
    vec, labels = _three_places(np.random.default_rng(1))
    keys = [f"/p/{i:03d}.jpg" for i in range(len(labels))]
    first = places.group_places(vec, keys, cuts=0.3)
    perm = np.random.default_rng(2).permutation(len(keys))
    second = places.group_places(vec[perm], [keys[i] for i in perm], cuts=0.3)
    assert [p.id for p in first] == [p.id for p in second]
    assert [sorted(keys[i] for i in p.members) for p in first] == \
        [sorted(keys[perm[i]] for i in p.members) for p in second]


def test_places_never_join_photos_taken_far_apart() -> None:
    vec, labels = _three_places(np.random.default_rng(3))
    pos = np.full((len(labels), 2), np.nan)
    first = np.flatnonzero(labels == 0)
    pos[first[:3]] = (48.8584, 2.2945)  # Paris
    pos[first[3:]] = (36.1125, -115.1726)  # Las Vegas
    found = places.group_places(vec, [f"k{i}" for i in range(len(labels))], positions=pos,
                                cuts=0.3)
    groups = [set(p.members) for p in found]
    assert set(first[:3].tolist()) in groups and set(first[3:].tolist()) in groups
    paris = next(p for p in found if set(p.members) == set(first[:3].tolist()))
    assert paris.latitude == pytest.approx(48.8584) and paris.longitude == pytest.approx(2.2945)


def test_places_photos_taken_close_together_need_to_look_less_alike() -> None:
    # Two pairs of photos at cosine distance 0.4 from each other: apart by look alone at
    # cut 0.3, together when taken 100 m apart, apart again when taken 1.1 km apart.
    a = np.array([1.0, 0.0], dtype=np.float32)
    b = np.array([0.6, 0.8], dtype=np.float32)
    vec = np.stack([a, a, b, b])
    keys = ["a1", "a2", "b1", "b2"]
    assert sorted(p.size for p in places.group_places(vec, keys, cuts=0.3, min_photos=2)) == \
        [2, 2]
    near = np.array([[48.0, 11.0], [48.0, 11.0], [48.0009, 11.0], [48.0009, 11.0]])
    together = places.group_places(vec, keys, positions=near, cuts=0.3, min_photos=2)
    assert [p.size for p in together] == [4]
    far = np.array([[48.0, 11.0], [48.0, 11.0], [48.01, 11.0], [48.01, 11.0]])  # 1.1 km
    assert sorted(p.size for p in places.group_places(vec, keys, positions=far, cuts=0.3,
                                                      min_photos=2)) == [2, 2]


def _pair(distance: float) -> np.ndarray:
    """Two unit vectors at the given cosine distance."""
    angle = np.arccos(1.0 - distance)
    return np.array([[1.0, 0.0], [np.cos(angle), np.sin(angle)]], dtype=np.float32)


def test_places_gps_tiers_each_have_their_own_cut() -> None:
    cuts = places.Cuts(alike=0.3, nearby=0.5, same_spot=0.7, join=0.0)
    keys = ["a1", "a2", "b1", "b2"]
    for distance, km, together in ((0.4, None, False), (0.4, 0.6, True), (0.6, 0.6, False),
                                   (0.6, 0.1, True), (0.8, 0.1, False)):
        vec = np.repeat(_pair(distance), 2, axis=0)
        pos = None
        if km is not None:  # the b photos taken km north of the a photos
            pos = np.array([[48.0, 11.0]] * 2 + [[48.0 + km / 111.2, 11.0]] * 2)
        sizes = sorted(p.size for p in places.group_places(vec, keys, positions=pos, cuts=cuts,
                                                           min_photos=2))
        assert sizes == ([4] if together else [2, 2]), (distance, km)


def _noisy_group(centre: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    rows = centre + rng.normal(0, 0.05, (n, centre.size))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_places_join_two_sides_of_one_place_taken_at_one_spot() -> None:
    # A palace's gate and its hall: photos of each alike, across them less alike than the
    # GPS tier allows, but the two sides' mean looks are close: one place. A third group as
    # far from both in look is not joined, nor are the two sides taken 1.1 km apart.
    rng = np.random.default_rng(5)
    dim = 64
    gate, hall, other = np.eye(dim, dtype=np.float32)[:3]
    hall = gate + 0.882 * hall
    hall /= np.linalg.norm(hall)  # cosine 0.75 to the gate
    vec = np.concatenate([_noisy_group(gate, 6, rng), _noisy_group(hall, 6, rng),
                          _noisy_group(other, 6, rng)])
    keys = [f"k{i:02d}" for i in range(18)]
    spot = np.array([48.0, 11.0])
    pos = np.concatenate([np.tile(spot, (6, 1)), np.tile(spot + np.array([0.004, 0.0]), (6, 1)),
                          np.tile(spot + np.array([0.002, 0.0]), (6, 1))])  # 450 m and 220 m north
    cuts = places.Cuts(alike=0.2, nearby=0.28, same_spot=0.28, join=0.3)
    apart = places.group_places(vec, keys, positions=pos, cuts=places.Cuts(0.2, 0.28, 0.28, 0.0))
    assert sorted(p.size for p in apart) == [6, 6, 6]
    joined = places.group_places(vec, keys, positions=pos, cuts=cuts)
    assert sorted(p.size for p in joined) == [6, 12]
    big = next(p for p in joined if p.size == 12)
    assert set(big.members) == set(range(12))
    far = pos.copy()
    far[6:12, 0] += 0.01  # the hall's photos 1.1 km further north
    assert sorted(p.size for p in places.group_places(vec, keys, positions=far, cuts=cuts)) == \
        [6, 6, 6]


def test_fused_similarities_equal_the_cosine_of_fused_vectors() -> None:
    rng = np.random.default_rng(4)
    d = enrol.unit(rng.normal(size=(5, 3)))
    e = enrol.unit(rng.normal(size=(5, 4)))
    rows = enrol.fused(enrol.unit(rng.normal(size=(2, 3))), enrol.unit(rng.normal(size=(2, 4))))
    np.testing.assert_allclose(enrol.fused_similarities(d, e, rows), enrol.fused(d, e) @ rows.T,
                               atol=1e-6)


def test_places_photos_taken_on_one_visit_need_to_look_less_alike() -> None:
    cuts = places.Cuts(alike=0.3, nearby=0.5, same_spot=0.7, join=0.0, same_visit=0.6)
    vec = np.repeat(_pair(0.4), 2, axis=0)
    keys = ["a1", "a2", "b1", "b2"]

    def sizes(minutes: float, pos: np.ndarray | None = None) -> list[int]:
        times = np.array([0.0, 60.0, minutes * 60, minutes * 60 + 60.0])
        return sorted(p.size for p in places.group_places(vec, keys, positions=pos,
                                                          times=times, cuts=cuts, min_photos=2))

    assert sizes(5) == [4]
    assert sizes(40) == [2, 2]
    assert sorted(p.size for p in places.group_places(
        vec, keys, times=np.array([0.0, 60.0, np.nan, np.nan]), cuts=cuts,
        min_photos=2)) == [2, 2]  # no time: the look alone
    far = np.array([[48.0, 11.0]] * 2 + [[48.02, 11.0]] * 2)  # 2.2 km: GPS still forbids
    assert sizes(5, far) == [2, 2]
    # both tiers apply: the looser one wins (0.8 apart needs more than one visit's 0.6,
    # and than 300 m's 0.7, but a spot's 0.9 within one visit is looser still)
    vec = np.repeat(_pair(0.8), 2, axis=0)
    near = np.array([[48.0, 11.0]] * 2 + [[48.0009, 11.0]] * 2)
    assert sizes(5, near) == [2, 2]
    cuts = places.Cuts(alike=0.3, nearby=0.5, same_spot=0.7, join=0.0, same_visit=0.9)
    assert sizes(5, near) == [4]
    assert sizes(40, near) == [2, 2]


def test_clock_seconds_reads_the_wall_clock_and_ignores_the_offset() -> None:
    a = places.clock_seconds("2023-07-14T18:30:05+02:00")
    b = places.clock_seconds("2023-07-14T18:15:05")
    assert a - b == 900.0
    assert np.isnan(places.clock_seconds(None)) and np.isnan(places.clock_seconds("garbage"))


def test_place_likeness_is_the_mean_looks_cosine_to_the_nearest_reference() -> None:
    references = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])  # not unit: normalised
    near_first = np.array([[1.0, 0.1, 0.0], [1.0, -0.1, 0.0]])
    assert places.place_likeness(near_first, references) == pytest.approx(1.0)
    between = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert places.place_likeness(between, references) == pytest.approx(np.sqrt(0.5))
    assert places.place_likeness(np.array([[0.0, 0.0, 1.0]]), references) == \
        pytest.approx(0.0)
    assert places.place_likeness(np.zeros((2, 3)), references) == 0.0


def test_learned_scores_keep_their_order_above_the_threshold_and_never_pass_1() -> None:
    """A learned landmark's own threshold lands on the bundle's; photos that pass keep
    their order (a shift capped at 1 tied every close photo at 1.00: a street at 0.85 and the
    example photo itself ranked alike); below the threshold it is the plain shift."""
    from photolm.learned import onto_bundle_scale

    own = np.array([0.45, 0.40], dtype=np.float32)
    scores = np.array([[0.30, 0.30], [0.45, 0.40], [0.75, 0.75], [0.85, 0.85], [1.0, 1.0],
                       [-np.inf, -np.inf]], dtype=np.float32)
    out = onto_bundle_scale(scores, own, 0.664)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[1], [0.664, 0.664], atol=1e-6)
    np.testing.assert_allclose(out[0], 0.30 + 0.664 - own, atol=1e-6)
    for col in range(2):
        assert 0.664 < out[2, col] < out[3, col] < out[4, col] == pytest.approx(1.0)
    assert (out[:5] <= 1.0).all() and np.isneginf(out[5]).all()
    assert ((out >= 0.664) == (scores >= own[None, :])).all()  # who passes is unchanged
