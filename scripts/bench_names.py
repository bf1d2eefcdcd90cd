#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Name search cost in a fresh ``photolm search`` process: index build + one query, cold.

    .venv/bin/python scripts/bench_names.py --baseline 258c6e0

Times :class:`photolm.names.LandmarkIndex` over the shipped bundle's landmark table with
every cache cleared (as in a new process), for a few kinds of query, and the same for a
baseline revision's ``photolm/names.py`` over that revision's shipped ``landmarks.json``
(both read with ``git show``), measured side by side in one run. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

QUERIES = ["Eiffel Tower", "eifel tower", "india", "xyzzy zork", "埃菲尔铁塔"]


def _git_show(rev: str, path: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def _baseline_module(rev: str, folder: Path) -> ModuleType:
    source = folder / "baseline_names.py"
    source.write_text(_git_show(rev, "photolm/names.py"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_names", source)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _cold(module: ModuleType, landmarks: Any, query: str, repeats: int) -> float:
    """Median ms of build + search (+ suggest when nothing matched), caches cleared."""
    times = []
    for _ in range(repeats):
        for name in ("normalise", "_place_keys", "_place_names", "_fold_table", "_accents"):
            cached = getattr(module, name, None)
            if cached is not None:
                cached.cache_clear()
        start = time.perf_counter()
        index = module.LandmarkIndex(landmarks)
        if not index.search(query):
            index.suggest(query)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="258c6e0", help="git revision to compare with")
    parser.add_argument("--repeats", type=int, default=31)
    args = parser.parse_args()

    import photolm.names as current
    from photolm.bundle import Landmark, default_bundle_path, read_bundle

    now = read_bundle(default_bundle_path()).landmarks
    before = [Landmark.from_json(r) for r in json.loads(
        _git_show(args.baseline, "photolm/models/default/landmarks.json"))]
    with tempfile.TemporaryDirectory() as tmp:
        baseline = _baseline_module(args.baseline, Path(tmp))
        print(f"landmark names+aliases: baseline {sum(1 + len(x.aliases) for x in before)}, "
              f"now {sum(1 + len(x.aliases) for x in now)}")
        print(f"{'query':<16} {'baseline ms':>12} {'now ms':>8} {'ratio':>6}")
        for query in QUERIES:
            old = _cold(baseline, before, query, args.repeats)
            new = _cold(current, now, query, args.repeats)
            print(f"{query:<16} {old:>12.2f} {new:>8.2f} {new / old:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
