# SPDX-License-Identifier: GPL-3.0-or-later
"""Choosing the thresholds a learned landmark is judged by, for one network.

``photolm learn`` judges a landmark learned from k photos by a threshold that depends on k,
read from the bundle's manifest (``metrics.enrolment``; :mod:`photolm.learned` reads it, holds
the rule a table must keep and writes the record, :func:`photolm.learned.enrolment_record`).
Two measurements choose such a table, both here so they choose it one way:

* ``scripts/eval_enrolment.py --write-thresholds`` (the shipped bundle): the 16 landmarks of
  ``landmarks-unseen-dev`` learned, the photos of the landmarks the model knows as other
  places;
* :func:`training_table`, which ``export.descriptor`` runs for any bundle it grafts (a user's
  own model): half of the training landmarks learned, the other half's photos as other places.

Per k the threshold is the least that keeps both at most a share ``fpr`` of the non-landmark
photos tagged and at most ``other_places_rate`` of the other places' photos named, over
several draws of the examples; the table is then made non-decreasing in k.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from photolm import enrol
from photolm.learned import EXPANSION_NEIGHBOURS

KS = (1, 2, 3, 5, 8)
# Non-landmark photos a threshold may tag (scripts/eval_enrolment.py --fpr).
NON_LANDMARK_RATE = 0.0075
# Photos of places nobody taught that a learned landmark may claim, as a share of the other
# places' photos: 1 % of the known landmarks' photos kept the places not taught of
# landmarks-unseen-dev at 1.5-1.8 % named (scripts/eval_enrolment.py, untaught_named), about
# the shipped model's rule for the landmarks it does not know (at most 2 %).
OTHER_PLACES_RATE = 0.01
# The same measured on the training landmarks (training_table): half of the 1 % above,
# because there the learned landmarks and the other places are classes the fine-tuned half
# of the fused vector was trained to tell apart, so other places score lower against them
# than places nobody trained on do. At 1 % such a table named 2.0-2.5 % of the places not
# taught at k=1 on landmarks-unseen-dev (three draws of the photos used), at 0.5 % 1.3 %
# (docs/export.md, "Thresholds for learned landmarks").
TRAINING_OTHER_PLACES_RATE = 0.005
# Draws of the halves in training_table: which half is learned moves the figure far more than
# which photos are the examples.
TRAINING_DRAWS = 10

METHODS = {
    # name: (prototype mode, query expansion neighbours)
    "shipped": ("mean", 0),
    "mean": ("mean", 0),
    "examples": ("examples", 0),
    "mean+examples": ("mean+examples", 0),
    "qe": ("mean+examples", 3),
    # photolm's own fallback for a network without thresholds measured under the
    # other-places rule (photolm.learned.space_of): the fine-tuned embedding, learned as
    # learn makes its prototypes there, at the bundle's threshold
    "fallback": ("mean+examples", 0),
}


def method_for(space: str) -> str:
    """The method photolm learns with in ``space``: query expansion where photolm.learned
    expands, else mean + examples."""
    return "qe" if EXPANSION_NEIGHBOURS[space] else "mean+examples"


def enrol_draw(vectors: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator,
               method: str, library: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Learn every landmark from k random photos (at most all but one of its photos):
    (protos, owner, query idx, query labels)."""
    mode, qe = METHODS[method]
    protos, owner, queries = [], [], []
    for lm in np.unique(labels):
        members = np.flatnonzero(labels == lm)
        chosen = rng.choice(members, size=min(k, members.size - 1), replace=False)
        rows = enrol.prototypes(vectors[chosen], mode=mode)
        if qe:
            rows = enrol.expand(rows, library, qe)
        protos.append(rows)
        owner.extend([lm] * len(rows))
        queries.extend(sorted(set(members.tolist()) - set(chosen.tolist())))
    q = np.array(queries, dtype=np.int64)
    return np.concatenate(protos), np.array(owner), q, labels[q]


@dataclass(frozen=True)
class Draw:
    """One draw a threshold is chosen on: the landmarks learned (their vectors, labels
    0..L-1, each with at least two photos), photos of places not learned (``None``: no
    other-places rule), non-landmark photos, the catalogue query expansion reaches into and
    the seed of the examples drawn."""

    learned: np.ndarray
    labels: np.ndarray
    other_places: np.ndarray | None
    non_landmarks: np.ndarray
    library: np.ndarray
    seed: int


@dataclass(frozen=True)
class Picked:
    threshold: float  # the least keeping both rates
    on_non_landmarks: float  # the least keeping the non-landmark rate alone


def pick_threshold(draws: Iterable[Draw], k: int, method: str, fpr: float = NON_LANDMARK_RATE,
                   other_places_rate: float = OTHER_PLACES_RATE) -> Picked:
    """The threshold for landmarks learned from ``k`` photos: each draw learns its landmarks
    from k random photos; the best learned score of every non-landmark photo and of every
    other place's photo, over all draws, sets the least threshold tagging at most ``fpr`` of
    the first and (``other_places_rate`` < 1) naming at most that share of the second."""
    best, other = [], []
    for draw in draws:
        n = int(draw.labels.max()) + 1
        protos, owner, _, _ = enrol_draw(draw.learned, draw.labels, k,
                                         np.random.default_rng(draw.seed), method, draw.library)
        best.append(enrol.landmark_scores(draw.non_landmarks, protos, owner, n).max(axis=1))
        if other_places_rate < 1 and draw.other_places is not None:
            other.append(enrol.landmark_scores(draw.other_places, protos, owner, n).max(axis=1))
    plain = enrol.threshold_for_fpr(np.concatenate(best), fpr)
    threshold = plain
    if other:
        threshold = max(plain, enrol.threshold_for_fpr(np.concatenate(other),
                                                       other_places_rate))
    return Picked(float(threshold), float(plain))


def non_decreasing(chosen: Mapping[int, float]) -> dict[int, float]:
    """The table stored: each k's threshold no lower than the one for fewer examples (more
    prototypes give a stranger more chances to come close), rounded up to 3 decimals (down,
    it would name more than the rates it was chosen for)."""
    table: dict[int, float] = {}
    running = -1.0
    for k in sorted(chosen):
        running = max(running, float(chosen[k]))
        table[k] = math.ceil(round(running * 1000, 6)) / 1000
    return table


def halves(vectors: np.ndarray, labels: np.ndarray, non_landmarks: np.ndarray,
           library: np.ndarray, draws: int = TRAINING_DRAWS, seed: int = 0) -> Iterator[Draw]:
    """Draws of :func:`training_table`: in each a random half of the landmarks (those with at
    least two photos) is learned and the other half's photos are the other places."""
    usable = [lm for lm in np.unique(labels) if int((labels == lm).sum()) >= 2]
    for d in range(draws):
        rng = np.random.default_rng(seed + d)
        order = rng.permutation(np.asarray(usable))
        learned = np.sort(order[: len(order) // 2])
        taught = np.isin(labels, learned)
        others = np.isin(labels, order[len(order) // 2:])
        yield Draw(vectors[taught], np.searchsorted(learned, labels[taught]), vectors[others],
                   non_landmarks, library, seed + d)


def can_split(labels: np.ndarray) -> bool:
    """Whether :func:`halves` has a landmark to learn and one to leave out."""
    return sum(int((labels == lm).sum()) >= 2 for lm in np.unique(labels)) >= 2


def training_table(vectors: np.ndarray, labels: np.ndarray, non_landmarks: np.ndarray,
                   space: str, *, fpr: float = NON_LANDMARK_RATE,
                   other_places_rate: float = TRAINING_OTHER_PLACES_RATE,
                   draws: int = TRAINING_DRAWS, seed: int = 0) -> dict[int, float]:
    """Thresholds by example count measured on the landmarks a network was trained on (their
    photos' ``vectors`` in ``space``, ``labels`` by landmark) and ``non_landmarks``: what
    export.descriptor writes for a bundle no one measured on unseen landmarks. Query
    expansion reaches into all of those photos, as photolm learn's reaches into a catalogue
    that holds the places not taught too."""
    library = np.concatenate([vectors, non_landmarks])
    method = method_for(space)
    chosen = {k: pick_threshold(halves(vectors, labels, non_landmarks, library, draws, seed),
                                k, method, fpr, other_places_rate).threshold for k in KS}
    return non_decreasing(chosen)
