# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure a bundle on what issue 13 asks: enrolment of unseen landmarks (fine-tuned embedding
vs the generic descriptor), unseen landmarks named as known ones, false positives per
non-landmark category, and the CPU cost of the descriptor.

    PYTHONPATH=. .venv/bin/python scripts/eval_descriptor.py [--bundle photolm/models/default]

Enrolment: for each unseen landmark, the mean of k random photos (10 draws) is its prototype;
the other photos of all unseen landmarks are the queries; "right above threshold" means the
best prototype is the right one and scores at least the bundle's threshold for that space.
The unseen set is only ever measured here, never trained or calibrated on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from export.descriptor import IMAGE_SUFFIXES, unit_rows  # noqa: E402
from export.embedding import decoded_batches  # noqa: E402
from photolm.bundle import read_bundle  # noqa: E402
from photolm.runtime import OnnxEmbedder, embed_all  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def photos(root: Path) -> tuple[list[str], list[str]]:
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return [str(p) for p in paths], [p.relative_to(root).parts[0] for p in paths]


def run_all(embedder: OnnxEmbedder, paths: list[str], pre) -> tuple[np.ndarray, np.ndarray]:
    emb, desc = [], []
    for _, items in decoded_batches(paths, pre, batch_size=32):
        arrays = [a for a, _ in items if a is not None]
        if len(arrays) != len(items):
            raise SystemExit("an evaluation photo did not decode")
        out = embed_all(embedder, np.stack(arrays))
        emb.append(out.embedding)
        desc.append(out.descriptor)
    return np.concatenate(emb), np.concatenate(desc)


def enrol(vectors: np.ndarray, labels: np.ndarray, negatives: np.ndarray, threshold: float,
          k: int, draws: int = 10) -> dict[str, float]:
    rng = np.random.default_rng(0)
    classes = np.unique(labels)
    argmax, above, fpr = [], [], []
    for _ in range(draws):
        protos, query = [], np.ones(len(labels), bool)
        for c in classes:
            pick = rng.choice(np.flatnonzero(labels == c), k, replace=False)
            protos.append(unit_rows(vectors[pick].mean(0, keepdims=True))[0])
            query[pick] = False
        table = np.stack(protos)
        scores = vectors[query] @ table.T
        right = classes[scores.argmax(1)] == labels[query]
        argmax.append(right.mean())
        above.append((right & (scores.max(1) >= threshold)).mean())
        fpr.append(((negatives @ table.T).max(1) >= threshold).mean())
    return {"argmax": float(np.mean(argmax)), "above": float(np.mean(above)),
            "negatives_fpr": float(np.mean(fpr))}


def timing(bundle, batch: np.ndarray, baseline=None, repeats: int = 15) -> dict[str, float]:
    """CPU ms per photo, one onnxruntime thread, batch 16 (CPU time, not wall time: this
    machine is shared, and one intra-op thread makes them the same work)."""
    emb = OnnxEmbedder.for_bundle(bundle, device="cpu", threads=1)
    runs = {"embedding_and_descriptor": emb.embed_all}
    if baseline is not None:
        runs["baseline_embedding"] = OnnxEmbedder.for_bundle(baseline, device="cpu",
                                                             threads=1).embed
    for fn in runs.values():
        fn(batch)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):  # interleaved, so load from other work hits both alike
        for name, fn in runs.items():
            start = time.process_time()
            fn(batch)
            times[name].append((time.process_time() - start) * 1000 / len(batch))
    return {k: float(np.median(v)) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=str(REPO / "photolm" / "models" / "default"))
    parser.add_argument("--baseline", help="another bundle to time beside it (e.g. the "
                        "previous default model)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    bundle = read_bundle(args.bundle)
    if bundle.descriptor is None:
        raise SystemExit(f"{args.bundle} has no descriptor output")
    embedder = OnnxEmbedder.for_bundle(bundle, device="cpu")
    unseen_paths, unseen_labels = photos(DATA / "landmarks-unseen-dev")
    u_emb, u_desc = run_all(embedder, unseen_paths, bundle.preprocess)
    neg_sets = {name: photos(DATA / name) for name in ("distractors", "people-negatives")}
    negs = {name: run_all(embedder, p, bundle.preprocess) for name, (p, _) in neg_sets.items()}
    n_emb = np.concatenate([v[0] for v in negs.values()])
    n_desc = np.concatenate([v[1] for v in negs.values()])
    labels = np.asarray(unseen_labels)
    result: dict[str, object] = {"bundle": str(args.bundle), "unseen_photos": len(labels),
                                 "negative_photos": len(n_emb)}
    for k in (5, 1):
        result[f"k{k}_embedding"] = enrol(u_emb, labels, n_emb, bundle.threshold, k)
        result[f"k{k}_descriptor"] = enrol(u_desc, labels, n_desc, bundle.descriptor.threshold,
                                           k)
    known = u_emb @ bundle.prototypes.T
    result["unseen_named_as_known"] = float((known.max(1) >= bundle.threshold).mean())
    per_category = {}
    for name, (_paths, cats) in neg_sets.items():
        scores = (negs[name][0] @ bundle.prototypes.T).max(1)
        for cat in sorted(set(cats)):
            rows = np.asarray(cats) == cat
            per_category[f"{name}/{cat}"] = {
                "photos": int(rows.sum()),
                "fpr": float((scores[rows] >= bundle.threshold).mean())}
    result["known_landmark_fpr_per_category"] = per_category
    batch = np.stack([a for _, items in decoded_batches(unseen_paths[:16], bundle.preprocess,
                                                         batch_size=16) for a, _ in items])
    baseline = read_bundle(args.baseline) if args.baseline else None
    result["ms_per_photo_1_thread_batch_16"] = timing(bundle, batch, baseline)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("| measure | fine-tuned embedding | generic descriptor |")
    print("| --- | ---: | ---: |")
    for k in (5, 1):
        e, d = result[f"k{k}_embedding"], result[f"k{k}_descriptor"]
        print(f"| k={k} right at argmax | {e['argmax']:.1%} | {d['argmax']:.1%} |")
        print(f"| k={k} right above threshold | {e['above']:.1%} | {d['above']:.1%} |")
        print(f"| k={k} non-landmark photos matched | {e['negatives_fpr']:.1%} | "
              f"{d['negatives_fpr']:.1%} |")
    print(f"\nunseen photos named as a known landmark: {result['unseen_named_as_known']:.1%}")
    for cat, row in per_category.items():
        print(f"known-landmark false positives, {cat} ({row['photos']}): {row['fpr']:.1%}")
    print(f"ms/photo (1 thread, batch 16): {result['ms_per_photo_1_thread_batch_16']}")


if __name__ == "__main__":
    main()
