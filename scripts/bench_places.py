#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time ``photolm.places.group_places`` (``photolm places``) on a synthetic library, against
the ``photolm/places.py`` of an earlier revision, in the same process on the same vectors;
or, with ``--cache``, ``photolm places`` through a catalogue: a first call (nothing cached:
the key, the grouping, storing it) against a second with nothing changed (served from the
cache file, as the next ``places`` or ``places name`` run is).

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_places.py --photos 20000 --baseline 5d4a076
    PYTHONPATH=$PWD .venv/bin/python scripts/bench_places.py --photos 20000 40000 --cache

The library: half the photos scattered (alike nothing), half drawn around 2,000 places;
832-d unit vectors (the fused space's size); half the photos carry GPS, spread over a region
of ~100 km; every photo has a time (a place's photos within one 30-minute visit, the
scattered ones any time in five years; a baseline without times gets none). Medians of
``--repeats``, the two versions' runs alternating; it prints both versions' group counts
and whether their groups are the same. With ``--cache`` the library is stored
in a catalogue (float16 vectors, times to the second) and grouped with the default bundle's
places values for the fused space; each repeat starts from an empty cache folder (with
``--baseline``, first calls grouping with that revision's code too).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from photolm import places  # noqa: E402


def library(n: int, seed: int = 0
            ) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2000, 832)).astype(np.float32)
    place = rng.integers(0, 2000, n)
    vec = centres[place] + rng.normal(0, 0.6, (n, 832)).astype(np.float32)
    vec[: n // 2] = rng.normal(size=(n // 2, 832))
    # each place one visit of 30 minutes; the scattered photos any time in five years
    times = rng.uniform(0, 5 * 365 * 86400.0, 2000)[place] + rng.uniform(0, 1800, n)
    times[: n // 2] = rng.uniform(0, 5 * 365 * 86400.0, n // 2)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    pos = np.full((n, 2), np.nan)
    has = rng.random(n) < 0.5
    pos[has] = np.stack([48 + rng.normal(0, 0.5, has.sum()), 11 + rng.normal(0, 0.5, has.sum())],
                        axis=1)
    return vec, [f"/photos/{i:07d}.jpg" for i in range(n)], pos, times


def baseline_module(rev: str, folder: Path):
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:photolm/places.py"],
                            check=True, capture_output=True, text=True).stdout
    path = folder / "places_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("places_baseline", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  # dataclasses look it up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def catalogue(folder: Path, n: int):
    """The library of :func:`library` stored in a catalogue at ``folder``, and a bundle whose
    network's vectors they are (the default bundle's, without its descriptor, so the stored
    vectors are grouped as they are, with the fused space's cuts)."""
    from dataclasses import asdict, replace
    from datetime import datetime, timezone

    from photolm.bundle import PlaceValues, read_bundle
    from photolm.catalog import Catalog, ScanResult

    shipped = read_bundle(REPO / "photolm" / "models" / "default")
    bundle = replace(shipped, descriptor=None, descriptor_prototypes=None,
                     descriptor_prototype_landmark=None,
                     places=PlaceValues(cuts={"embedding": asdict(places.DEFAULT_CUTS)}))
    vec, keys, pos, times = library(n)
    path = folder / "catalog.sqlite"
    with Catalog.open(path, write=True) as cat:
        for start in range(0, n, 5000):
            cat.write_results([ScanResult(
                path=keys[i], size=1000 + i, mtime_ns=i,
                latitude=None if np.isnan(pos[i, 0]) else float(pos[i, 0]),
                longitude=None if np.isnan(pos[i, 1]) else float(pos[i, 1]),
                taken=datetime.fromtimestamp(times[i], timezone.utc).isoformat(
                    timespec="seconds"),
                bundle_id=bundle.bundle_id, model_id=bundle.model_id, embedding=vec[i])
                for i in range(start, min(start + 5000, n))])
    return path, bundle


def cached(n: int, repeats: int, baseline: str | None = None) -> None:
    """First call against second call of ``find_places`` on a catalogue of ``n`` photos;
    with ``baseline``, also first calls grouping with that revision's ``group_places``
    (alternating with the others; they must give the same groups)."""
    from dataclasses import astuple

    from photolm.catalog import Catalog
    from photolm.learning import find_places
    from photolm.places_cache import PlacesCache, places_key

    with tempfile.TemporaryDirectory() as tmp:
        path, bundle = catalogue(Path(tmp), n)
        grouping = {"now": places.group_places}
        if baseline:
            old = baseline_module(baseline, Path(tmp))

            def group_before(*args, cuts, **kwargs):  # its own Cuts class
                return old.group_places(*args, cuts=old.Cuts(*astuple(cuts)), **kwargs)

            grouping[baseline] = group_before
        first: dict[str, list[float]] = {name: [] for name in grouping}
        second, key, groups = [], [], {name: set() for name in grouping}
        load = os.getloadavg()[0]
        with Catalog.open(path, write=False) as cat:
            for run in range(repeats):
                for name, group in (grouping.items() if run % 2 == 0
                                    else list(grouping.items())[::-1]):
                    places.group_places = group
                    try:
                        folder = Path(tmp) / f"cache{run}-{name}"  # empty: nothing cached yet
                        for spent in (first[name], second if name == "now" else []):
                            start = time.perf_counter()
                            found = find_places(cat, bundle, cache=PlacesCache(folder))
                            spent.append(time.perf_counter() - start)
                            groups[name].add(tuple((p.id, p.photos) for p in found))
                    finally:
                        places.group_places = grouping["now"]
                start = time.perf_counter()
                places_key(cat, bundle, 2)
                key.append(time.perf_counter() - start)
        load = max(load, os.getloadavg()[0])
    if len(groups["now"]) != 1:
        raise SystemExit("the cached groups differ from the computed ones")
    a, b = statistics.median(first["now"]), statistics.median(second)
    print(f"{n} photos in a catalogue, {len(next(iter(groups['now'])))} groups: first call "
          f"{_spread(first['now'])}, second (cached) {b:.3f} s median of {repeats}: "
          f"{a / b:.0f}x faster; the key alone {statistics.median(key):.3f} s; load average "
          f"up to {load:.1f}")
    if baseline:
        print(f"first call grouping with {baseline}: "
              f"{_against(first[baseline], a, groups[baseline] == groups['now'])}")


def compare(n: int, repeats: int, baseline: str | None) -> None:
    """``group_places`` now against ``baseline``'s, runs alternating so both see the same
    load; the two must find the same groups (members and ids) when their cuts agree."""
    vec, keys, pos, times = library(n)
    runs = [("now", lambda: places.group_places(vec, keys, positions=pos, times=times))]
    with tempfile.TemporaryDirectory() as tmp:
        if baseline:
            old = baseline_module(baseline, Path(tmp))
            params = inspect.signature(old.group_places).parameters
            extra = {"cuts" if "cuts" in params else "cut": places.DEFAULT_CUTS.alike}
            if "times" in params:
                extra["times"] = times
            runs.append((baseline, lambda: old.group_places(vec, keys, positions=pos, **extra)))
        spent: dict[str, list[float]] = {name: [] for name, _ in runs}
        found: dict[str, list] = {}
        load = os.getloadavg()[0]
        for run in range(repeats):
            for name, fn in runs if run % 2 == 0 else runs[::-1]:
                start = time.perf_counter()
                groups = fn()
                spent[name].append(time.perf_counter() - start)
                found[name] = [(p.id, p.members, p.latitude, p.longitude) for p in groups]
        load = max(load, os.getloadavg()[0])
    print(f"{n} photos, half with GPS, all with times: {_spread(spent['now'])} median of "
          f"{repeats}, {len(found['now'])} groups; load average up to {load:.1f}")
    if baseline:
        verdict = _against(spent[baseline], statistics.median(spent["now"]),
                           found[baseline] == found["now"])
        print(f"baseline {baseline}, {len(found[baseline])} groups: {verdict}")


def _spread(times: list[float]) -> str:
    """The median and every run, so the reader sees the noise of a shared machine."""
    return f"{statistics.median(times):.2f} s ({' '.join(f'{t:.2f}' for t in times)})"


def _against(before: list[float], now: float, same: bool) -> str:
    return (f"{_spread(before)}, {'the same groups' if same else 'OTHER GROUPS'}; now "
            f"{statistics.median(before) / now:.2f}x faster")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, nargs="+", default=[20000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", help="git revision whose photolm/places.py to compare")
    parser.add_argument("--cache", action="store_true",
                        help="time a first call against a cached second one, through a "
                        "catalogue")
    args = parser.parse_args()
    if args.cache:
        for n in args.photos:
            cached(n, args.repeats, args.baseline)
        return 0
    for n in args.photos:
        compare(n, args.repeats, args.baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
