# SPDX-License-Identifier: GPL-3.0-or-later
"""How a learned landmark's thresholds are chosen (export/learned_thresholds.py), for the
shipped bundle (scripts/eval_enrolment.py) and for a bundle export.descriptor grafts.

Planted unit vectors stand in for photos: a landmark's photos lie close together, each
landmark has a look-alike (another landmark near it: the other places a learned one must not
claim), non-landmark photos lie anywhere.
"""

from __future__ import annotations

import numpy as np
import pytest

from export import learned_thresholds as lt
from photolm import enrol

DIM = 24


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _landmarks(n: int = 8, photos: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` landmarks in look-alike pairs (2i, 2i+1), ``photos`` photos each."""
    rng = np.random.default_rng(seed)
    pairs = rng.standard_normal(((n + 1) // 2, DIM))
    centres = np.repeat(pairs, 2, axis=0)[:n] + 0.5 * rng.standard_normal((n, DIM))
    rows = np.repeat(centres, photos, axis=0) + 0.35 * rng.standard_normal((n * photos, DIM))
    return _unit(rows), np.repeat(np.arange(n), photos)


def _non_landmarks(n: int = 200, seed: int = 1) -> np.ndarray:
    return _unit(np.random.default_rng(seed).standard_normal((n, DIM)))


def _named(draws: list[lt.Draw], k: int, threshold: float) -> tuple[float, float]:
    """Shares of the non-landmark and other places' photos at or above ``threshold``, pooled
    over the draws, with each draw's own examples (its seed)."""
    non, other = [], []
    for draw in draws:
        n = int(draw.labels.max()) + 1
        protos, owner, _, _ = lt.enrol_draw(draw.learned, draw.labels, k,
                                            np.random.default_rng(draw.seed), "qe",
                                            draw.library)
        non.append(enrol.landmark_scores(draw.non_landmarks, protos, owner, n).max(axis=1))
        other.append(enrol.landmark_scores(draw.other_places, protos, owner, n).max(axis=1))
    return (float((np.concatenate(non) >= threshold).mean()),
            float((np.concatenate(other) >= threshold).mean()))


@pytest.mark.parametrize("k", [1, 3])
def test_the_threshold_is_the_least_that_keeps_both_rates(k: int) -> None:
    vectors, labels = _landmarks()
    negatives = _non_landmarks()
    library = np.concatenate([vectors, negatives])
    draws = list(lt.halves(vectors, labels, negatives, library, draws=4))
    picked = lt.pick_threshold(draws, k, "qe", fpr=0.05, other_places_rate=0.05)
    non, other = _named(draws, k, picked.threshold)
    assert non <= 0.05 and other <= 0.05
    below = float(np.nextafter(np.float32(picked.threshold), np.float32(-np.inf)))
    non_below, other_below = _named(draws, k, below)
    assert non_below > 0.05 or other_below > 0.05  # nothing lower keeps both
    # the look-alikes ask for more than the non-landmark photos alone
    assert picked.threshold > picked.on_non_landmarks
    assert _named(draws, k, picked.on_non_landmarks)[0] <= 0.05


def test_halves_learn_one_half_and_leave_the_other_out() -> None:
    vectors, labels = _landmarks(n=7)
    lone = np.flatnonzero(labels == 6)[1:]  # landmark 6 keeps one photo: nothing to learn from
    keep = np.setdiff1d(np.arange(labels.size), lone)
    vectors, labels = vectors[keep], labels[keep]
    negatives = _non_landmarks(20)
    draws = list(lt.halves(vectors, labels, negatives, vectors, draws=6))
    assert len(draws) == 6
    learned_sets = set()
    for draw in draws:
        learned_rows = {tuple(r) for r in draw.learned.round(5)}
        other_rows = {tuple(r) for r in draw.other_places.round(5)}  # type: ignore[union-attr]
        assert learned_rows and other_rows and not learned_rows & other_rows
        photo = {tuple(r): int(lab) for r, lab in zip(vectors.round(5), labels, strict=True)}
        learned_ids = {photo[r] for r in learned_rows}
        other_ids = {photo[r] for r in other_rows}
        assert learned_ids | other_ids == set(range(6))  # the lone-photo landmark sits out
        assert len(learned_ids) == 3 and len(other_ids) == 3
        # every photo of a learned landmark is there to learn from, labelled 0..L-1
        assert draw.learned.shape[0] == sum(int((labels == i).sum()) for i in learned_ids)
        assert sorted(set(draw.labels.tolist())) == [0, 1, 2]
        learned_sets.add(frozenset(learned_ids))
    assert len(learned_sets) > 1  # the halves are drawn anew
    assert lt.can_split(labels)
    assert not lt.can_split(np.array([0, 0, 0, 1]))  # one landmark to learn, none to leave out


def test_the_training_table_is_non_decreasing_and_keeps_look_alikes_unnamed() -> None:
    vectors, labels = _landmarks()
    negatives = _non_landmarks()
    table = lt.training_table(vectors, labels, negatives, "fused", draws=4)
    assert sorted(table) == list(lt.KS)
    values = [table[k] for k in lt.KS]
    assert values == sorted(values)
    alone = lt.training_table(vectors, labels, negatives, "fused", draws=4,
                              other_places_rate=1.0)
    assert all(table[k] > alone[k] for k in lt.KS)


def test_the_table_is_stored_as_photolm_reads_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The record export.descriptor and scripts/eval_enrolment.py write is the one photolm
    learns with, and one measured without other places is not used."""
    from photolm import learned
    from photolm.bundle import read_bundle, rewrite_bundle
    from tests.tinybundle import make_tiny_bundle

    bundle = make_tiny_bundle(tmp_path / "b", threshold=0.8, descriptor_threshold=0.3,
                              measured_for_learning=False)
    table = lt.non_decreasing({1: 0.71234, 2: 0.7, 5: 0.75})
    assert table == {1: 0.713, 2: 0.713, 5: 0.75}  # rounded up: never names more
    for rate, space in ((lt.TRAINING_OTHER_PLACES_RATE, learned.FUSED),
                        (1.0, learned.EMBEDDING)):
        record = learned.enrolment_record({learned.FUSED: table}, rate, "planted")
        again = read_bundle(rewrite_bundle(bundle, bundle.path, metrics={
            **bundle.metrics, "enrolment": record}).path)
        assert learned.space_of(again) == space
        if space == learned.FUSED:
            assert learned.thresholds(again, space) == table
