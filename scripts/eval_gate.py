# SPDX-License-Identifier: GPL-3.0-or-later
"""The descriptor gate before/after, measured where it was not chosen: the report half of
the negatives (distractors, people-negatives; per category), the bundle's holdout landmark
photos and landmarks-unseen-dev (unseen photos named as a known landmark).

    PYTHONPATH=. .venv/bin/python scripts/eval_gate.py [--bundle B] [--calibrate] [--json]

``--calibrate`` first sets the gate by export/gate.py's rule (validation photos + the
calibration half only; the same function the build script runs) and rewrites the bundle's
manifest; without it the bundle's recorded gate is measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from export.descriptor import _photos  # noqa: E402
from export.gate import calibrate_gate, embed, gate_data, named, passes  # noqa: E402
from photolm.bundle import read_bundle  # noqa: E402
from photolm.matching import Matcher  # noqa: E402
from photolm.runtime import OnnxEmbedder  # noqa: E402

DATA = REPO.parent / "shared" / "data"
KNOWN = [DATA / "wonders", DATA / "landmarks-extra"]
NEGATIVES = [DATA / "distractors", DATA / "people-negatives"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=str(REPO / "photolm" / "models" / "default"))
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--gate", type=float, help="measure this gate instead of the "
                        "bundle's (a what-if; the shipped one is chosen by export/gate.py)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cache: dict = {}
    if args.calibrate:
        calibrate_gate(Path(args.bundle), Path(args.bundle), known=KNOWN, negatives=NEGATIVES,
                       cache=cache)
    bundle = read_bundle(args.bundle)
    gate = args.gate if args.gate is not None else (
        bundle.descriptor.gate if bundle.descriptor else None)
    data = gate_data(bundle, KNOWN, NEGATIVES)
    embedder = OnnxEmbedder.for_bundle(bundle, device="cpu")
    pre = bundle.preprocess
    hold_e, hold_d = embed(embedder, data.holdout, pre, cache)
    hold = named(bundle, hold_e, hold_d)
    hold_scores = Matcher.from_bundle(bundle).landmark_scores(hold_e)
    unseen_paths = [str(p) for p in _photos(DATA / "landmarks-unseen-dev")]
    unseen = named(bundle, *embed(embedder, unseen_paths, pre, cache))
    rows: dict[str, dict[str, float]] = {}

    def both(key: str, photos: int, fn) -> None:
        rows[key] = {"photos": photos, "without": fn(None), "with": fn(gate)}

    right = hold.landmark == data.holdout_labels
    nh = len(data.holdout)
    both("holdout recall at threshold", nh, lambda g: float((passes(hold, g) & right).mean()))
    top1 = hold_scores.argmax(1) == data.holdout_labels
    both("holdout top-1 at argmax (with: and not gated)", nh,
         lambda g: float((top1 & ((hold.descriptor_cos >= g) if g is not None else True)
                          ).mean()))
    both("landmarks-unseen-dev named as a known landmark", len(unseen_paths),
         lambda g: float(passes(unseen, g).mean()))
    for name, paths in data.report.items():
        n = named(bundle, *embed(embedder, paths, pre, cache))
        both(f"{name} FPR (report half)", len(paths), lambda g, n=n: float(passes(n, g).mean()))
        root = DATA / name
        cats = np.asarray([Path(p).relative_to(root).parts[0] for p in paths])
        if name == "people-negatives":
            for cat in sorted(set(cats)):
                sel = cats == cat
                both(f"{name}/{cat} FPR", int(sel.sum()),
                     lambda g, sel=sel, n=n: float(passes(n, g)[sel].mean()))
    result = {"bundle": str(args.bundle), "gate": gate, "rows": rows,
              "calibration": bundle.metrics.get("descriptor_gate")}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"gate {gate}: {bundle.metrics.get('descriptor_gate', {}).get('rule', '')}")
    print("| measure (photos) | without gate | with gate |")
    print("| --- | ---: | ---: |")
    for key, row in rows.items():
        print(f"| {key} ({row['photos']}) | {row['without']:.1%} | {row['with']:.1%} |")


if __name__ == "__main__":
    main()
