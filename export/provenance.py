# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a bundle came from, recorded in its manifest so anyone can tell how it was made.

Training data roots and photo counts (per split and per root), the distractor folders, the
full training config, the checkpoint's own metrics and checksum, the source commit (with a
flag when the working tree had uncommitted changes), the date, and library versions.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from photolm.bundle import sha256_file

REPO = Path(__file__).resolve().parents[1]


def git_state(repo: Path = REPO) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` for the source tree of this code.

    An installed copy (not a git checkout) or a machine without git yields ``None``s: the
    manifest then says "unknown" rather than guessing.
    """
    # GIT_OPTIONAL_LOCKS=0: ``git status`` otherwise refreshes the checkout's index and writes
    # it back (taking .git/index.lock), a write outside the paths an export was given that can
    # make the user's own git command in that checkout fail ("index.lock: File exists").
    quiet = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                                  timeout=10, check=False, env=quiet)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = run("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ("photolm", "torch", "timm", "onnx", "onnxruntime", "numpy", "pillow"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _per_root(paths: Sequence[str], roots: Sequence[str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for path in paths:
        owner = next((r for r in roots if path.startswith(r.rstrip("/") + "/")), "other")
        counts[owner] += 1
    return {root: counts.get(root, 0) for root in roots} | (
        {"other": counts["other"]} if counts.get("other") else {})


def collect_provenance(
    *,
    checkpoint: Path,
    config: Mapping[str, Any],
    training_metrics: Mapping[str, Any],
    epoch: int,
    roots: Sequence[str],
    split_paths: Mapping[str, Sequence[str]],
    classes: int,
    distractor_roots: Sequence[str],
    distractor_counts: Mapping[str, int],
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """The manifest's ``provenance`` section (plain JSON values only)."""
    all_paths = [p for part in split_paths.values() for p in part]
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": git_state(),
        "checkpoint": {
            "file": checkpoint.name,
            "sha256": sha256_file(checkpoint),
            "epoch": int(epoch),
        },
        "data": {
            "roots": list(roots),
            "classes": int(classes),
            "photos": {name: len(paths) for name, paths in split_paths.items()},
            "photos_per_root": _per_root(all_paths, roots),
        },
        "distractors": {"roots": list(distractor_roots), **dict(distractor_counts)},
        "config": dict(config),
        "training_metrics": dict(training_metrics),
        "export_options": dict(options),
        "versions": versions(),
    }
