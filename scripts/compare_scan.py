#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Before/after: the same scans with two photolm source trees, interleaved, in one run.

    git archive main photolm | tar -x -C /tmp/base        # the baseline's photolm/
    python scripts/compare_scan.py --base /tmp/base --n 10000 --repeats 5

Three scans, each timed as a ``photolm scan ... --json --quiet`` subprocess, base and new
alternating so load on a shared machine hits both alike; medians and new/base ratios:

* ``rescan``: ``--n`` tiny unchanged files already catalogued (classification only);
* ``rematch``: the same files after the bundle's threshold changed but not its ONNX model
  (stored embeddings re-matched, nothing decoded);
* ``fresh``: ``--fresh-n`` small real photos from ../shared/data/wonders into an empty
  catalogue (decode + embed + store).

The catalogue is seeded through the *baseline's* API (so both trees can open it; the new
tree's migration is applied to its copy before timing). Uses the tiny test bundle.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_SEED = """
import json, os, sys
import numpy as np
from photolm.bundle import read_bundle
from photolm.catalog import Catalog, PhotoRecord
root, catalog, model = sys.argv[1:4]
bundle = read_bundle(model)
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
rng = np.random.default_rng(0)
with Catalog.open(catalog, write=True) as cat:
    cat.replace_landmarks(bundle.bundle_id, bundle.landmarks)
    for lo in range(0, len(paths), 1000):
        recs = []
        for p in paths[lo:lo + 1000]:
            st = os.stat(p)
            v = rng.standard_normal(bundle.embedding_dim).astype(np.float32)
            recs.append(PhotoRecord(path=p, size=st.st_size, mtime_ns=st.st_mtime_ns,
                content_hash="fp", bundle_id=bundle.bundle_id, model_id=bundle.model_id,
                latitude=48.86 if lo % 2000 == 0 else None, longitude=2.29 if lo % 2000 == 0
                else None, embedding=v / np.linalg.norm(v)))
        cat.write_results(recs)
    cat.start_scan([root], bundle.bundle_id)
"""
_MIGRATE = ("import sys; from photolm.catalog import Catalog; "
            "Catalog.open(sys.argv[1], write=True).close()")


def _python(tree: Path, code: str, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-c", code, *args], env=env, check=True)


def _scan(tree: Path, targets: list[str], catalog: Path, model: Path) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("PHOTOLM_MODEL", None)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "photolm", "scan", *targets, "--catalog",
                           str(catalog), "--model", str(model), "--json", "--quiet"],
                          env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr[-800:])
    return wall, json.loads(proc.stdout)


def _tiny_tree(root: Path, n: int) -> None:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)).save(
        buf, "JPEG", quality=80)
    for i in range(n):
        folder = root / f"day-{i // 100:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"IMG_{i:06d}.jpg").write_bytes(buf.getvalue())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", type=Path, required=True, help="folder holding the baseline photolm/")
    p.add_argument("--new", type=Path, default=REPO, help="folder holding the new photolm/")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--fresh-n", type=int, default=150)
    p.add_argument("--repeats", type=int, default=5)
    opts = p.parse_args()
    from tests.tinybundle import make_tiny_bundle

    trees = {"base": opts.base.resolve(), "new": opts.new.resolve()}
    with tempfile.TemporaryDirectory(prefix="compare-scan-") as tmp:
        work = Path(tmp)
        model_a = work / "bundle-a"
        model_b = work / "bundle-b"  # same ONNX model, another threshold: a re-match
        make_tiny_bundle(model_a, threshold=0.9)
        make_tiny_bundle(model_b, threshold=0.8)
        photos = work / "photos"
        _tiny_tree(photos, opts.n)
        seed = work / "seed.sqlite"
        _python(trees["base"], _SEED, str(photos), str(seed), str(model_a))
        fresh = sorted(str(x) for x in (REPO.parent / "shared" / "data" / "wonders").glob(
            "*/*.jpg"))[: opts.fresh_n]
        times: dict[str, dict[str, list[float]]] = {
            k: {"base": [], "new": []} for k in ("rescan", "rematch", "fresh")}
        for r in range(opts.repeats):
            order = ("base", "new") if r % 2 == 0 else ("new", "base")
            for who in order:
                tree = trees[who]
                cat = work / f"{who}.sqlite"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{cat}{suffix}").unlink(missing_ok=True)
                shutil.copy(seed, cat)
                _python(tree, _MIGRATE, str(cat))  # untimed: the new tree's schema step
                wall, summary = _scan(tree, [str(photos)], cat, model_a)
                assert summary["skipped_unchanged"] == opts.n, summary
                times["rescan"][who].append(wall)
                wall, summary = _scan(tree, [str(photos)], cat, model_b)
                assert summary["rematched"] == opts.n, summary
                times["rematch"][who].append(wall)
                empty = work / f"{who}-fresh.sqlite"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{empty}{suffix}").unlink(missing_ok=True)
                wall, summary = _scan(tree, fresh, empty, model_a)
                assert summary["processed"] == len(fresh), summary
                times["fresh"][who].append(wall)
            print(f"repeat {r + 1}/{opts.repeats} done", file=sys.stderr, flush=True)
    report = {}
    for kind, runs in times.items():
        base, new = statistics.median(runs["base"]), statistics.median(runs["new"])
        report[kind] = {"base_median_s": round(base, 3), "new_median_s": round(new, 3),
                        "new_over_base": round(new / base, 3),
                        "base_s": [round(x, 3) for x in runs["base"]],
                        "new_s": [round(x, 3) for x in runs["new"]]}
    print(json.dumps({"n": opts.n, "fresh_n": len(fresh), "repeats": opts.repeats,
                      "cpu_count": os.cpu_count(), **report}, indent=2))


if __name__ == "__main__":
    main()
