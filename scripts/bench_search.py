#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scaled checks: re-scan of 10,000 unchanged photos, search on 100,000 rows, scan memory.

    .venv/bin/python scripts/bench_search.py --model runs/default/bundle

Also run as part of scripts/bench_scan.py (its ``--no-scaled`` skips this). Catalogues are
built through photolm's own API (:class:`photolm.catalog.Catalog`, ``write_results`` with
:class:`~photolm.catalog.PhotoRecord`):

* **re-scan**: ``--rescan-n`` tiny real JPEG files (our own synthetic bytes) in
  ``.bench/rescan-<n>/``, catalogued with their real size and mtime, the bundle's ids and an
  embedding each, so ``photolm scan`` classifies every one as unchanged: the measured time is
  walk + ``stat`` + index load + classification + bookkeeping, all through the real CLI;
* **search**: ``--search-n`` synthetic rows spread over the bundle's landmarks; ``photolm
  search "Eiffel Tower" --json`` timed as a CLI (Python start-up included) and in-process
  (the same calls the command makes: open, landmark index, query, rows);
* **memory**: peak RSS (``wait4``'s ``ru_maxrss`` of exactly that process) of a scan of
  ``--rss-sizes`` small photos taken *in place* from ``../shared/data/wonders`` (nothing is
  copied), to show that memory does not grow with the number of photos.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib import (  # importing it puts this checkout on sys.path
    BENCH_DIR,
    SHARED_PHOTOS,
    TARGETS,
    checked_scan,
    choose_model,
    log,
    median,
    photolm_command,
    rel,
    run_cli,
)

QUERY = "Eiffel Tower"
_BATCH = 5000


def _tiny_jpeg() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _unit_vectors(n: int, dim: int, seed: int) -> Any:
    import numpy as np

    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _fake_match(bundle: Any, rng: Any) -> tuple[Any, float | None, list[dict]]:
    """A plausible landmark decision for a synthetic row (70 % have a landmark)."""
    lms = bundle.landmarks
    if rng.random() >= 0.7 or not lms:
        return None, None, []
    lm = lms[int(rng.integers(len(lms)))]
    score = float(round(bundle.threshold + (1 - bundle.threshold) * rng.random(), 4))
    top = [{"landmark_id": lm.id, "name": lm.name, "score": score}]
    for other in rng.choice(len(lms), size=min(4, len(lms)), replace=False):
        o = lms[int(other)]
        if o.id != lm.id and len(top) < 5:
            top.append({"landmark_id": o.id, "name": o.name,
                        "score": float(round(score * rng.random(), 4))})
    return lm, score, top


def build_rescan_tree(bundle: Any, n: int, base: Path = BENCH_DIR) -> tuple[Path, Path]:
    """``n`` tiny files and a catalogue in which all of them are unchanged (cached)."""
    import numpy as np

    from photolm.catalog import Catalog, PhotoRecord
    from photolm.fingerprint import fingerprint

    root = base / f"rescan-{n}-{bundle.bundle_id[:12]}"
    photos = root / "photos"
    catalog = root / "catalog.sqlite"
    marker = root / "ready.json"
    if marker.is_file() and catalog.is_file():
        return photos, catalog
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    log(f"building re-scan tree: {n} files and their catalogue in {rel(root)}")
    data = _tiny_jpeg()
    paths = []
    for i in range(n):
        folder = photos / f"{2000 + i // 2000}" / f"day-{i // 100:04d}"
        if i % 100 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{i:06d}.jpg"
        path.write_bytes(data)
        paths.append(path.resolve())
    rng = np.random.default_rng(1)
    fp = fingerprint(paths[0])
    with Catalog.open(catalog, write=True) as cat:
        cat.replace_landmarks(bundle.bundle_id, bundle.landmarks)
        scan_id = cat.start_scan([str(photos.resolve())], bundle.bundle_id)
        for lo in range(0, n, _BATCH):
            chunk = paths[lo: lo + _BATCH]
            vectors = _unit_vectors(len(chunk), bundle.embedding_dim, lo)
            records = []
            for path, vec in zip(chunk, vectors, strict=True):
                st = os.stat(path)
                lm, score, top = _fake_match(bundle, rng)
                records.append(PhotoRecord(
                    path=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns, content_hash=fp,
                    taken="2024-05-01T12:00:00", camera_make="BenchCam", camera_model="BC-1",
                    width=64, height=48, bundle_id=bundle.bundle_id, model_id=bundle.model_id,
                    landmark_id=lm.id if lm else None, landmark_name=lm.name if lm else None,
                    score=score, topk=top, embedding=vec))
            cat.write_results(records)
        cat.finish_scan(scan_id, {"found": n, "synthetic": True})
    marker.write_text(json.dumps({"n": n, "seconds": round(time.perf_counter() - start, 1)}),
                      encoding="utf-8")
    return photos, catalog


def build_search_catalog(bundle: Any, n: int, base: Path = BENCH_DIR) -> Path:
    """A catalogue of ``n`` synthetic rows over the bundle's landmarks (cached)."""
    import numpy as np

    from photolm.catalog import Catalog, PhotoRecord

    root = base / f"search-{n}-{bundle.bundle_id[:12]}"
    catalog = root / "catalog.sqlite"
    marker = root / "ready.json"
    if marker.is_file() and catalog.is_file():
        return catalog
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    start = time.perf_counter()
    log(f"building search catalogue: {n} rows in {rel(root)}")
    rng = np.random.default_rng(2)
    with Catalog.open(catalog, write=True) as cat:
        cat.replace_landmarks(bundle.bundle_id, bundle.landmarks)
        scan_id = cat.start_scan(["/bench/library"], bundle.bundle_id)
        for lo in range(0, n, _BATCH):
            records = []
            for i in range(lo, min(n, lo + _BATCH)):
                lm, score, top = _fake_match(bundle, rng)
                records.append(PhotoRecord(
                    path=f"/bench/library/{2000 + i // 5000}/day-{i // 100:05d}/IMG_{i:06d}.jpg",
                    size=3_000_000 + i, mtime_ns=1_700_000_000_000_000_000 + i,
                    content_hash=f"fp1:{i:040x}", taken=f"20{10 + i % 15:02d}-05-01T12:00:00",
                    camera_make="BenchCam", camera_model="BC-1", width=4000, height=3000,
                    bundle_id=bundle.bundle_id, model_id=bundle.model_id,
                    landmark_id=lm.id if lm else None, landmark_name=lm.name if lm else None,
                    score=score, topk=top))
            cat.write_results(records)
        cat.finish_scan(scan_id, {"found": n, "synthetic": True})
    marker.write_text(json.dumps({"n": n, "seconds": round(time.perf_counter() - start, 1)}),
                      encoding="utf-8")
    return catalog


def search_query(bundle: Any) -> str:
    names = [lm.name for lm in bundle.landmarks]
    return QUERY if QUERY in names else (names[0] if names else QUERY)


def search_in_process(catalog: Path, query: str) -> tuple[float, float, int]:
    """What ``photolm search --json`` does, timed: (total s, query-only s, rows)."""
    from photolm.catalog import Catalog
    from photolm.cli.output import display
    from photolm.names import LandmarkIndex

    t0 = time.perf_counter()
    with Catalog.open(catalog, write=False) as cat:
        index = LandmarkIndex(cat.landmarks())
        t1 = time.perf_counter()
        hits = index.search(query)
        ids = list(dict.fromkeys(h.landmark_id for h in hits))
        photos = cat.photos(landmark_ids=ids)
        t2 = time.perf_counter()
        rows = [{"path": display(p.path), "landmark": p.landmark_name, "score": p.score,
                 "landmark_id": p.landmark_id, "taken": p.taken} for p in photos]
        json.dumps(rows)
    t3 = time.perf_counter()
    return t3 - t0, t2 - t1, len(rows)


def measure_search(catalog: Path, query: str, repeats: int) -> dict[str, Any]:
    cli = [*photolm_command(), "search", query, "--catalog", str(catalog), "--json"]
    walls, rows = [], None
    for _ in range(max(3, repeats)):
        run = run_cli(cli)
        if run.returncode != 0:
            raise RuntimeError(f"photolm search failed: {run.stderr[-400:]}")
        walls.append(run.wall_s)
        rows = len(run.json())
    python = [run_cli([sys.executable, "-c", "pass"]).wall_s for _ in range(3)]
    first = search_in_process(catalog, query)
    runs = [search_in_process(catalog, query) for _ in range(max(5, repeats))]
    return {
        "query": query, "rows_returned": rows,
        "cli_wall_ms": round(1000 * median(walls), 1),
        "cli_wall_ms_all": [round(1000 * w, 1) for w in walls],
        "python_startup_ms": round(1000 * median(python), 1),
        "in_process_first_ms": round(1000 * first[0], 2),
        "in_process_total_ms": round(1000 * median([r[0] for r in runs]), 2),
        "in_process_query_ms": round(1000 * median([r[1] for r in runs]), 2),
    }


def measure_rescan(photos: Path, catalog: Path, model: Path, n: int,
                   repeats: int) -> dict[str, Any]:
    args = [*photolm_command(), "scan", str(photos.resolve()), "--catalog", str(catalog),
            "--model", str(model), "--json", "--quiet"]
    walls, internal, rss = [], [], []
    for _ in range(repeats):
        run, summary = checked_scan(args, expect_processed=0, expect_unchanged=n)
        walls.append(run.wall_s)
        internal.append(float(summary["seconds"]))
        rss.append(run.max_rss_mb)
    return {"photos": n, "wall_s": round(median(walls), 3),
            "wall_s_all": [round(w, 3) for w in walls],
            "internal_s": round(median(internal), 3), "peak_rss_mb": round(max(rss), 1)}


def measure_rss(model: Path, sizes: Sequence[int], work: Path,
                sources: Sequence[Path] | None = None) -> dict[str, Any]:
    """Peak RSS of scans of growing numbers of small photos, taken in place from shared/."""
    sources = sorted(sources) if sources is not None else sorted(SHARED_PHOTOS.glob("*/*.jpg"))
    points = []
    for size in sizes:
        files = [str(p.resolve()) for p in sources[:size]]
        if len(files) < size:
            log(f"memory check: only {len(files)} source photos for size {size}")
        catalog = work / f"rss-{size}" / "catalog.sqlite"
        args = [*photolm_command(), "scan", *files, "--catalog", str(catalog),
                "--model", str(model), "--json", "--quiet"]
        run, _ = checked_scan(args, expect_processed=len(files))
        points.append({"photos": len(files), "peak_rss_mb": round(run.max_rss_mb, 1),
                       "wall_s": round(run.wall_s, 2)})
        shutil.rmtree(catalog.parent, ignore_errors=True)
    out: dict[str, Any] = {"points": points}
    if len(points) >= 2 and points[-1]["photos"] > points[0]["photos"]:
        lo, hi = points[0], points[-1]
        slope = (hi["peak_rss_mb"] - lo["peak_rss_mb"]) / (hi["photos"] - lo["photos"])
        out["mb_per_1000_photos"] = round(1000 * slope, 2)
        # A negative slope is noise (allocator, arena growth): extrapolate with zero growth.
        top = max(p["peak_rss_mb"] for p in points)
        out["extrapolated_10k_mb"] = round(top + max(0.0, slope) * (10_000 - hi["photos"]), 1)
    return out


def run_scaled(model: Path, bundle: Any, base: Path, *, rescan_n: int, search_n: int,
               rss_sizes: Sequence[int], repeats: int, work: Path,
               sources: Sequence[Path] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rescan_n > 0:
        photos, catalog = build_rescan_tree(bundle, rescan_n, base)
        log(f"scaled: re-scan of {rescan_n} unchanged photos")
        out["rescan"] = measure_rescan(photos, catalog, model, rescan_n, repeats)
    if search_n > 0:
        catalog = build_search_catalog(bundle, search_n, base)
        log(f"scaled: search on {search_n} rows")
        out["search"] = {"rows": search_n,
                         **measure_search(catalog, search_query(bundle), repeats)}
    if rss_sizes:
        log(f"scaled: peak memory of scans of {list(rss_sizes)} small photos")
        out["memory"] = measure_rss(model, rss_sizes, work, sources)
    return out


def markdown_section(scaled: dict[str, Any]) -> list[str]:
    lines = ["## Scaled checks", "", "| check | measured | target |", "|---|---:|---:|"]
    if "rescan" in scaled:
        r = scaled["rescan"]
        lines.append(f"| re-scan of {r['photos']:,} unchanged photos, wall (scan's own "
                     f"{r['internal_s']} s) | {r['wall_s']} s | ≤ {TARGETS['rescan_10k_s']} s |")
        lines.append(f"| peak RSS of that re-scan | {r['peak_rss_mb']} MB | "
                     f"≤ {TARGETS['rss_10k_mb']:.0f} MB |")
    if "search" in scaled:
        s = scaled["search"]
        lines.append(f"| `photolm search \"{s['query']}\" --json` on {s['rows']:,} rows, "
                     f"in-process query ({s['rows_returned']} rows returned) | "
                     f"{s['in_process_query_ms']} ms | ≤ {TARGETS['search_query_ms']:.0f} ms |")
        lines.append(f"| same, in-process open + index + query + JSON rows (first call "
                     f"{s['in_process_first_ms']} ms) | {s['in_process_total_ms']} ms | |")
        lines.append(f"| same, CLI wall incl. Python start-up (bare `python -c pass`: "
                     f"{s['python_startup_ms']} ms) | {s['cli_wall_ms']} ms | |")
    if "memory" in scaled:
        m = scaled["memory"]
        for p in m["points"]:
            lines.append(f"| peak RSS, scan of {p['photos']} small photos | "
                         f"{p['peak_rss_mb']} MB | flat |")
        if "extrapolated_10k_mb" in m:
            lines.append(f"| small photos: growth ({m['mb_per_1000_photos']} MB per 1,000), "
                         f"extrapolated to 10,000 photos | {m['extrapolated_10k_mb']} MB | "
                         f"≤ {TARGETS['rss_10k_mb']:.0f} MB |")
    return lines


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="bench_search.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=None, help="bundle folder (default as bench_scan.py)")
    p.add_argument("--rescan-n", type=int, default=10_000)
    p.add_argument("--search-n", type=int, default=100_000)
    p.add_argument("--rss-sizes", default="100,400,1500")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--bench-dir", type=Path, default=BENCH_DIR)
    p.add_argument("--out-json", type=Path, default=None,
                   help="default BENCH_DIR/bench_search.json")
    opts = p.parse_args(argv)
    from photolm.bundle import read_bundle

    base = opts.bench_dir.resolve()
    base.mkdir(parents=True, exist_ok=True)
    choice = choose_model(opts.model, base)
    bundle = read_bundle(choice.path)
    work = Path(tempfile.mkdtemp(prefix="search-run-", dir=base))
    try:
        scaled = run_scaled(choice.path, bundle, base, rescan_n=opts.rescan_n,
                            search_n=opts.search_n,
                            rss_sizes=[int(v) for v in opts.rss_sizes.split(",") if v.strip()],
                            repeats=opts.repeats, work=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    scaled["model"] = {"path": rel(choice.path), "chosen_by": choice.source,
                       "name": bundle.name}
    out = opts.out_json or base / "bench_search.json"
    out.write_text(json.dumps(scaled, indent=1), encoding="utf-8")
    print("\n".join(markdown_section(scaled)))
    log(f"wrote {rel(out)}")
    return scaled


if __name__ == "__main__":
    main()
