# SPDX-License-Identifier: GPL-3.0-or-later
"""Time ``learn`` and ``unlearn`` on a synthetic catalogue of many photos (no decoding).

Builds a catalogue of ``--photos`` rows with stored embeddings shaped like a real library
(a third near the bundle's landmarks, a small new place, the rest anything; half with GPS),
brings it up to date once, then times learning the new place from five catalogued photos
and unlearning it, each re-matching every photo. Run from the repository root::

    PYTHONPATH=$PWD python scripts/bench_learn.py --photos 100000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def build(cat_path: Path, bundle: object, photos: int, seed: int = 0,
          place_every: int = 2000) -> list[str]:
    """Write the synthetic catalogue; returns the paths of the new place's photos (small
    real files: ``learn`` walks what it is given; their vectors come from the catalogue)."""
    from PIL import Image

    from photolm.catalog import Catalog, ScanResult

    rng = np.random.default_rng(seed)
    protos = bundle.prototypes  # type: ignore[attr-defined]
    dim = protos.shape[1]
    place = rng.standard_normal(dim).astype(np.float32)
    place /= np.linalg.norm(place)
    descriptor = getattr(bundle, "descriptor", None)
    ddim = descriptor.dim if descriptor is not None else 0
    dplace = rng.standard_normal(max(ddim, 1)).astype(np.float32)
    place_paths: list[str] = []
    with Catalog.open(cat_path, write=True) as cat:
        batch: list[ScanResult] = []
        descs: list[tuple[str, str, np.ndarray]] = []
        for i in range(photos):
            kind = i % 3
            if i % place_every == 0:  # 50 photos of the new place per 100,000
                vec = place + rng.normal(0, 0.3 / np.sqrt(dim), dim)
                path = str(cat_path.parent / "place" / f"{i:07d}.jpg")
                Path(path).parent.mkdir(exist_ok=True)
                Image.new("RGB", (8, 8)).save(path)
                place_paths.append(path)
            elif kind == 0:
                vec = protos[rng.integers(len(protos))] + rng.normal(0, 0.5 / np.sqrt(dim), dim)
                path = f"/photos/trips/{i:07d}.jpg"
            else:
                vec = rng.standard_normal(dim)
                path = f"/photos/home/{i:07d}.jpg"
            vec = (vec / np.linalg.norm(vec)).astype(np.float32)
            if ddim:  # the descriptor: the place's photos alike, the rest anything
                dvec = dplace + rng.normal(0, 0.3 / np.sqrt(ddim), ddim) \
                    if path.find("place") >= 0 else rng.standard_normal(ddim)
                descs.append((path, bundle.model_id, dvec / np.linalg.norm(dvec)))  # type: ignore
            lat, lon = (48.1 + rng.normal(0, 0.05), 11.5 + rng.normal(0, 0.05)) \
                if i % 2 else (None, None)
            batch.append(ScanResult(path=path, size=1000 + i, mtime_ns=i, latitude=lat,
                                    longitude=lon, bundle_id=bundle.bundle_id,  # type: ignore
                                    model_id=bundle.model_id, embedding=vec))  # type: ignore
            if len(batch) == 5000:
                cat.write_results(batch)
                cat.store_descriptors(descs)
                batch, descs = [], []
                print(f"built {i + 1}/{photos}", file=sys.stderr, flush=True)
        cat.write_results(batch)
        cat.store_descriptors(descs)
    return place_paths


def main(argv: list[str] | None = None) -> int:
    from photolm.bundle import read_bundle
    from photolm.catalog import Catalog
    from photolm.learning import learn, unlearn
    from photolm.prototypes import build_matcher
    from photolm.rematch import rematch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", type=Path, default=REPO / "photolm" / "models" / "default")
    args = parser.parse_args(argv)
    bundle = read_bundle(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        cat_path = Path(tmp) / "catalog.sqlite"
        start = time.perf_counter()
        place = build(cat_path, bundle, args.photos)
        print(f"catalogue of {args.photos} photos built in {time.perf_counter() - start:.0f} s",
              file=sys.stderr)
        with Catalog.open(cat_path, write=True) as cat:
            first = rematch(cat, bundle, build_matcher(cat, bundle))
            print(f"first re-match (every photo's verdict written): {first.seconds:.2f} s, "
                  f"{first.changed} changed")
            learn_s, unlearn_s = [], []
            for _ in range(args.runs):
                t = time.perf_counter()
                result = learn(cat, bundle, "Bench Place", [Path(p) for p in place[:5]])
                learn_s.append(time.perf_counter() - t)
                t = time.perf_counter()
                unlearn(cat, bundle, "Bench Place")
                unlearn_s.append(time.perf_counter() - t)
            print(f"learn:   median {statistics.median(learn_s):.2f} s of {args.runs} "
                  f"({result.photos} photos now show it, {result.rematch.changed} changed)")
            print(f"unlearn: median {statistics.median(unlearn_s):.2f} s of {args.runs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
