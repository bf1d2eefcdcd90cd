# SPDX-License-Identifier: GPL-3.0-or-later
"""The tiled search for the photos each photo may be grouped with gives the same groups as
the straightforward one: every pair's margin in one (N, N) matrix, each row's ``k`` best
by a sort of the whole row (ties to the lower column)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from photolm import places


def _reference_components(vec: np.ndarray, cuts: places.Cuts, pos: np.ndarray | None,
                          max_km: float = places.MAX_KM, times: np.ndarray | None = None
                          ) -> list[np.ndarray]:
    n = vec.shape[0]
    margin = (vec @ vec.T).astype(np.float64)
    cosines = np.full((n, n), np.nan)
    if pos is not None:
        xyz = places._unit_xyz(pos)
        cosines = xyz @ xyz.T
    seconds = None if times is None else times[:, None] - times[None, :]
    cut = places._required(cosines, cuts, max_km, seconds)
    margin = np.where(cut < 0, -np.inf, margin - 1.0 + cut)
    np.fill_diagonal(margin, -np.inf)
    k = min(places._NEIGHBOURS, n - 1)
    src, dst = np.nonzero(margin >= 0)
    order = np.lexsort((dst, -margin[src, dst], src))  # by row, largest first, lower column
    src, dst = src[order], dst[order]
    rank = np.arange(src.size) - np.searchsorted(src, src, side="left")
    src, dst = src[rank < k], dst[rank < k]
    graph = coo_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n, n))
    return places._split(connected_components(graph, directed=False)[1])


def _library(seed: int, n_places: int, gps_share: float, time_share: float
             ) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Places of alike photos (a few of them exact copies), loners, GPS on some (at the
    place, a few hundred metres off, or kilometres away), times on some (one visit per place,
    or any time)."""
    rng = np.random.default_rng(seed)
    dim = 12
    centres = rng.normal(size=(n_places, dim))
    sizes = rng.integers(1, 25, n_places)
    label = np.repeat(np.arange(n_places), sizes)
    vec = centres[label] + rng.normal(0, rng.uniform(0.3, 0.9), (label.size, dim))
    loners = rng.normal(size=(rng.integers(0, 40), dim))
    vec = np.concatenate([vec, loners])
    copies = rng.integers(0, len(vec), 10)
    vec = np.concatenate([vec, vec[copies]])
    n = len(vec)
    place = np.concatenate([label, np.full(len(loners), -1), np.full(copies.size, -1)])
    place[len(place) - copies.size:] = place[copies]
    spot = np.stack([48 + rng.uniform(-0.05, 0.05, n_places),
                     11 + rng.uniform(-0.05, 0.05, n_places)], axis=1)
    pos = np.where(place[:, None] >= 0, spot[place], 48 + rng.uniform(-0.2, 0.2, (n, 2)))
    pos = pos + rng.normal(0, rng.choice([0.0005, 0.003, 0.02]), (n, 2))
    pos[rng.random(n) >= gps_share] = np.nan
    visit = rng.uniform(0, 86400 * 5, n_places)
    times = np.where(place >= 0, visit[place], rng.uniform(0, 86400 * 5, n)) + \
        rng.uniform(0, 2400, n)
    times[rng.random(n) >= time_share] = np.nan
    pos[len(place) - copies.size:] = pos[copies]
    times[len(place) - copies.size:] = times[copies]
    vec = (vec / np.linalg.norm(vec, axis=1, keepdims=True)).astype(np.float32)
    return vec, [f"/p/{i:05d}.jpg" for i in rng.permutation(n)], pos, times


@settings(derandomize=True, max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_places=st.integers(1, 30),
       gps_share=st.sampled_from([0.0, 0.5, 0.9, 1.0]),
       time_share=st.sampled_from([0.0, 0.6, 1.0]),
       tile=st.sampled_from([16, 64, 2048]), gps_tile=st.sampled_from([8, 32, 256]),
       k=st.sampled_from([2, 4, 15]), alike=st.sampled_from([0.2, 0.44, 0.6]))
def test_tiled_links_give_the_groups_of_the_straightforward_search(
        seed: int, n_places: int, gps_share: float, time_share: float, tile: int,
        gps_tile: int, k: int, alike: float) -> None:
    vec, keys, pos, times = _library(seed, n_places, gps_share, time_share)
    cuts = places.Cuts.scaled(alike)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(places, "_TILE", tile)
        mp.setattr(places, "_GPS_TILE", gps_tile)
        mp.setattr(places, "_NEIGHBOURS", k)
        mp.setattr(places, "_MAX_DENSE", 40)  # the stricter second pass on big components
        for p, t in ((pos, times), (None, times), (pos, None)):
            got = places.group_places(vec, keys, positions=p, times=t, cuts=cuts, min_photos=2)
            with pytest.MonkeyPatch.context() as reference:
                reference.setattr(places, "_components", _reference_components)
                want = places.group_places(vec, keys, positions=p, times=t, cuts=cuts,
                                           min_photos=2)
            assert got == want


@pytest.mark.parametrize("crowded", [False, True])
def test_tile_links_keep_each_photos_best_pairs(crowded: bool) -> None:
    """Each photo keeps its ``k`` best pairs that may be grouped, as a sort of its whole row
    would pick them, whether a tile holds few such pairs or, with hundreds of near copies
    (a burst), so many that it keeps only each row's and column's best."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(1 if crowded else 40, 16))
    spread = 0.05 if crowded else 0.5
    vec = np.concatenate([base[rng.integers(0, len(base), 300)] +
                          rng.normal(0, spread, (300, 16)), rng.normal(size=(60, 16))])
    vec = (vec / np.linalg.norm(vec, axis=1, keepdims=True)).astype(np.float32)
    vec[::7] = vec[0]  # exact copies: ties go to the lower column
    cuts = places.Cuts.scaled(0.44)
    calls = []
    best = places._best
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(places, "_TILE", 100)
        mp.setattr(places, "_best", lambda m, k: calls.append(m.shape) or best(m, k))
        links = places._Links(len(vec), 3)
        for rows, cols in places._tiles(len(vec), None, places.MAX_KM):
            links.keep(places._tile_links(vec, rows, cols, cuts, None, 3))
        src, dst = links.edges()
    assert bool(calls) == crowded  # the path meant to be tested ran
    margin = (vec @ vec.T).astype(np.float32) - np.float32(1.0 - cuts.alike)
    np.fill_diagonal(margin, -np.inf)
    want = set()
    for i in range(len(vec)):
        ok = np.flatnonzero(margin[i] >= 0)
        want |= {(i, int(j)) for j in ok[np.lexsort((ok, -margin[i, ok]))][:3]}
    assert set(zip(src.tolist(), dst.tolist(), strict=True)) == want
    assert len(src) == len(want)


def test_tiles_cover_every_pair_once_and_skip_only_photos_far_apart() -> None:
    rng = np.random.default_rng(8)
    n = 500
    pos = np.stack([48 + rng.uniform(-0.5, 0.5, n), 11 + rng.uniform(-0.5, 0.5, n)], axis=1)
    pos[rng.random(n) < 0.3] = np.nan
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(places, "_TILE", 32)
        mp.setattr(places, "_GPS_TILE", 32)
        seen = np.zeros((n, n), dtype=np.int64)
        for rows, cols in places._tiles(n, pos, places.MAX_KM):
            seen[np.ix_(rows, cols)] += 1
            if rows is not cols:
                seen[np.ix_(cols, rows)] += 1
    assert seen.max() == 1
    xyz = places._unit_xyz(pos)
    with np.errstate(invalid="ignore"):
        near = np.nan_to_num(xyz @ xyz.T, nan=1.0) >= places._cos_km(places.MAX_KM)
    assert seen[near].all()  # every pair that may be grouped is computed
    both = ~np.isnan(pos[:, 0])[:, None] & ~np.isnan(pos[:, 0])[None, :]
    assert seen[~both].all()
    assert seen[both].mean() < 0.5  # and most of those GPS puts far apart are not
