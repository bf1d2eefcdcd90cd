#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What reading an older catalogue from an upgraded copy costs (a read-only share or snapshot).

    nice -n 10 .venv/bin/python scripts/bench_upgraded_copy.py --photos 100000 --repeats 3

Builds (cached under ``.bench/``) a catalogue of ``--photos`` synthetic photos as photolm at
schema 7 left it: every photo with its top-k, a 512-d embedding and a 320-d descriptor
(float16, as a scan stores them), the default bundle's landmarks. Then runs each command
as a person does (a fresh process, output on a pipe) and reports wall time and peak RSS
(``wait4``), medians of ``--repeats``, interleaved so load from other work falls alike:

* ``current``: the same catalogue already at today's schema, read-only (the baseline);
* ``memory``: the schema-7 catalogue, read-only: copied into memory and upgraded there
  (what photolm does);
* ``tempfile``: the copy made into a file in the user's temp folder instead (what photolm
  does for a catalogue larger than ``upgraded_copy.MEMORY_LIMIT_BYTES``; the limit is set
  to 0 for the measurement).

"read-only" is photolm's own verdict patched in (``store._read_only_reason``), so no mount
or root is needed; the copy costs the same whatever makes the file read-only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_search import _fake_match  # the same synthetic verdicts as bench_search
from benchlib import BENCH_DIR, REPO, load_average, log, median

_BATCH = 5000

# Runs photolm's CLI with the catalogue judged read-only; with "tempfile", the copy goes
# to a file in the temp folder (deleted at exit) whatever the catalogue's size.
_RUNNER = r"""
import sys
import photolm.catalog.store as store
import photolm.catalog.upgraded_copy as upgraded_copy
store._read_only_reason = lambda path: "benchmark: judged read-only"
if sys.argv[1] == "tempfile":
    upgraded_copy.MEMORY_LIMIT_BYTES = 0
from photolm.cli.app import main
sys.argv = ["photolm", *sys.argv[2:]]
main()
"""

_LAUNCHER = r"""
import json, os, subprocess, sys, time
stats, args = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
size = 0
while chunk := proc.stdout.read(1 << 16):
    size += len(chunk)
_, status, usage = os.wait4(proc.pid, 0)
with open(stats, "w") as handle:
    json.dump({"wall": time.perf_counter() - start, "rss_kb": usage.ru_maxrss,
               "rc": os.waitstatus_to_exitcode(status), "bytes": size}, handle)
"""


def build(n: int, bundle: Any) -> Path:
    """The schema-7 catalogue of ``n`` photos (cached)."""
    import numpy as np

    import photolm.catalog.schema as schema
    from photolm.catalog import Catalog, ScanResult

    root = BENCH_DIR / f"upgraded-copy-{n}-{bundle.bundle_id[:12]}"
    catalog = root / "catalog-v7.sqlite"
    if (root / "ready.json").is_file():
        return catalog
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log(f"building a schema-7 catalogue of {n} photos in {root}")
    start = time.perf_counter()
    released = schema.MIGRATIONS, schema.SCHEMA_VERSION
    schema.MIGRATIONS, schema.SCHEMA_VERSION = released[0][:7], 7
    rng = np.random.default_rng(7)
    try:
        with Catalog.open(catalog, write=True) as cat:
            cat.replace_landmarks(bundle.bundle_id, bundle.landmarks)
            scan_id = cat.start_scan(["/bench/library"], bundle.bundle_id, bundle.model_id)
            for lo in range(0, n, _BATCH):
                batch, descriptors = [], []
                for i in range(lo, min(n, lo + _BATCH)):
                    lm, score, top = _fake_match(bundle, rng)
                    path = f"/bench/library/{2000 + i // 5000}/day-{i // 100:05d}/IMG_{i:06d}.jpg"
                    vec = rng.standard_normal(512).astype(np.float32)
                    desc = rng.standard_normal(320).astype(np.float32)
                    batch.append(ScanResult(
                        path=path, size=3_000_000 + i, mtime_ns=1_700_000_000_000_000_000 + i,
                        content_hash=f"fp1:{i:040x}", taken="2019-05-01T12:00:00",
                        camera_make="BenchCam", camera_model="BC-1", width=4000, height=3000,
                        bundle_id=bundle.bundle_id, model_id=bundle.model_id,
                        landmark_id=lm.id if lm else None,
                        landmark_name=lm.name if lm else None, score=score, topk=top,
                        embedding=vec / np.linalg.norm(vec)))
                    descriptors.append((path, bundle.model_id, desc / np.linalg.norm(desc)))
                cat.write_results(batch)
                cat.store_descriptors(descriptors)
            cat.finish_scan(scan_id, {"found": n, "synthetic": True})
    finally:
        schema.MIGRATIONS, schema.SCHEMA_VERSION = released
    (root / "ready.json").write_text(json.dumps(
        {"n": n, "seconds": round(time.perf_counter() - start, 1)}), encoding="utf-8")
    return catalog


def current_copy(older: Path) -> Path:
    """The same catalogue at today's schema (upgraded once, in place, in a copy)."""
    from photolm.catalog import Catalog

    path = older.with_name("catalog-current.sqlite")
    if not path.is_file():
        shutil.copyfile(older, path)
        Catalog.open(path, write=True).close()
    return path


def run_once(variant: str, catalog: Path, args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PHOTOLM_MODEL", None)
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(stats), sys.executable,
                        "-c", _RUNNER, "memory" if variant == "current" else variant, *args,
                        "--catalog", str(catalog)], env=env, check=True)
        data = json.loads(stats.read_text(encoding="utf-8"))
    if data["rc"] != 0:
        raise SystemExit(f"{variant} {args}: exit {data['rc']}")
    return data


def in_process(older: Path) -> dict[str, float]:
    """The copy's parts, timed in this process: backup into memory, then the migration."""
    import sqlite3

    from photolm.catalog import store

    source = sqlite3.connect(f"{older.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
    target = sqlite3.connect(":memory:")
    t0 = time.perf_counter()
    source.backup(target)
    t1 = time.perf_counter()
    store._migrate_copy(target, 7)
    t2 = time.perf_counter()
    pages = target.execute("PRAGMA page_count").fetchone()[0]
    size = pages * target.execute("PRAGMA page_size").fetchone()[0]
    source.close()
    target.close()
    return {"backup_s": t1 - t0, "migrate_s": t2 - t1, "copy_mb": size / 1e6}


def main(argv: list[str] | None = None) -> int:
    from photolm.bundle import default_bundle_path, read_bundle

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args(argv)
    bundle = read_bundle(default_bundle_path())
    older = build(opts.photos, bundle)
    current = current_copy(older)
    log(f"catalogue: {older.stat().st_size / 1e6:.0f} MB at schema 7")
    commands = {"search": ["search", "Eiffel Tower", "--json"], "info": ["info", "--json"],
                "landmarks": ["landmarks", "--json"]}
    variants = {"current": current, "memory": older, "tempfile": older}
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(opts.repeats):
        for name, args in commands.items():
            for variant, catalog in variants.items():
                runs.setdefault((name, variant), []).append(run_once(variant, catalog, args))
    report: dict[str, Any] = {"photos": opts.photos, "file_mb": older.stat().st_size / 1e6,
                              "load_average": load_average(), "in_process": in_process(older),
                              "commands": {}}
    for (name, variant), done in runs.items():
        wall = median([d["wall"] for d in done])
        rss = median([d["rss_kb"] for d in done]) / 1024
        report["commands"].setdefault(name, {})[variant] = {"wall_s": round(wall, 3),
                                                            "peak_rss_mb": round(rss, 1)}
        print(f"{name:7} {variant:9} wall {wall:6.2f} s  peak RSS {rss:7.1f} MB")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
