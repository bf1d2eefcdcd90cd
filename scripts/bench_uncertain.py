#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time ``Catalog.uncertain`` (``photolm list --uncertain``, the desktop's review) on a
synthetic catalogue of many photos, against the walk over every row in Python that it replaced.

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_uncertain.py --photos 100000

The catalogue is written through photolm's own API (``Catalog.write_results``): rows of two
bundles (one whose threshold was never stored), best scores spread over [0.2, 1.0] around a
threshold of 0.6, one in 20 reviewed, one in 50 unreadable, one in 50 missing. Both ways run
in the same process on the same file, medians of ``--repeats``; the two answers must agree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from photolm.catalog import Catalog, PhotoRecord, Review  # noqa: E402
from photolm.catalog.paths import path_key  # noqa: E402


def build(cat_path: Path, photos: int, seed: int = 0) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    with Catalog.open(cat_path, write=True) as cat:
        cat.remember_threshold("b1", 0.6)
        batch: list[PhotoRecord] = []
        reviews: list[Review] = []
        missing: list[str] = []
        for i in range(photos):
            path = f"/photos/{i // 1000:03d}/{i:07d}.jpg"
            score = float(round(rng.uniform(0.2, 1.0), 4))
            error = "truncated JPEG" if i % 50 == 7 else None
            top = [] if error else [{"landmark_id": f"l{i % 40}", "name": f"L{i % 40}",
                                     "score": score}]
            batch.append(PhotoRecord(path, 1000 + i, i, bundle_id="b2" if i % 10 == 3 else "b1",
                                     topk=top, error=error))
            if i % 20 == 5:
                reviews.append(Review(path, "none"))
            if i % 50 == 11:
                missing.append(path)
            if len(batch) == 5000:
                cat.write_results(batch)
                batch = []
        cat.write_results(batch)
        cat.set_reviews(reviews)
        gone = set(missing)
        for folder in sorted({str(Path(p).parent) for p in gone}):
            present = [r.path for r in cat.photos(under=folder) if r.path not in gone]
            cat.sync_missing([folder], present)


def python_walk(cat: Any, margin: float) -> list[Any]:
    """The implementation ``uncertain`` had before (every row read and decided in Python)."""
    thresholds = cat.thresholds()
    found = []
    for row in cat.iter_photos():
        threshold = thresholds.get(row.bundle_id or "")
        if row.review is not None or row.error is not None or row.missing:
            continue
        top = row.topk
        if threshold is None or not top:
            continue
        distance = abs(float(top[0]["score"]) - threshold)
        if distance <= margin:
            found.append((distance, path_key(row.path), row))
    found.sort(key=lambda t: (t[0], t[1]))
    return [row for _, _, row in found]


def timed(call: Any, repeats: int) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--margin", type=float, default=0.1)
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-uncertain-") as tmp:
        cat_path = Path(tmp) / "catalog.sqlite"
        start = time.perf_counter()
        build(cat_path, opts.photos)
        print(f"built {opts.photos} photos in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
        with Catalog.open(cat_path, write=False) as cat:
            walk_s, walked = timed(lambda: python_walk(cat, opts.margin), opts.repeats)
            sql_s, queried = timed(lambda: cat.uncertain(opts.margin), opts.repeats)
        if [r.path for r in walked] != [r.path for r in queried]:
            print("the two ways disagree", file=sys.stderr)
            return 1
        print(f"{opts.photos} photos, {len(queried)} uncertain; medians of {opts.repeats}:")
        print(f"  walk in Python (before): {walk_s:.3f} s")
        print(f"  Catalog.uncertain (now): {sql_s:.3f} s  ({walk_s / sql_s:.1f}x faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
