#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time ``photolm.places.group_places`` (``photolm places``) on a synthetic library, against
the ``photolm/places.py`` of an earlier revision, in the same process on the same vectors.

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_places.py --photos 20000 --baseline 5d4a076

The library: half the photos scattered (alike nothing), half drawn around 2,000 places;
832-d unit vectors (the fused space's size); half the photos carry GPS, spread over a region
of ~100 km; every photo has a time (a place's photos within one 30-minute visit, the
scattered ones any time in five years; a baseline without times gets none). Medians of
``--repeats``; it prints both versions' group counts.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
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


def timed(fn, repeats: int) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        found = len(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times), found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", help="git revision whose photolm/places.py to compare")
    args = parser.parse_args()
    vec, keys, pos, times = library(args.photos)
    now, groups = timed(lambda: places.group_places(vec, keys, positions=pos, times=times),
                        args.repeats)
    print(f"{args.photos} photos, half with GPS, all with times: {now:.2f} s median, "
          f"{groups} groups")
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            old = baseline_module(args.baseline, Path(tmp))
            params = inspect.signature(old.group_places).parameters
            extra = {"cuts" if "cuts" in params else "cut": places.DEFAULT_CUTS.alike}
            if "times" in params:
                extra["times"] = times
            before, old_groups = timed(
                lambda: old.group_places(vec, keys, positions=pos, **extra), args.repeats)
        print(f"baseline {args.baseline}: {before:.2f} s median, {old_groups} groups; "
              f"now {before / now:.2f}x faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
