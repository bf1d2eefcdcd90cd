# SPDX-License-Identifier: GPL-3.0-or-later
"""Levers for the shipped landmarks that need no retraining (issue 13), measured on the
shipped network and its leave-landmarks-out twin, the way the build sets the threshold.

    PYTHONPATH=. .venv/bin/python scripts/eval_levers.py --run runs/default \\
        [--lco runs/default/unseen] [--sizes 224,288]

Every variant gets the build's threshold rule (``photolm-export``'s defaults), recomputed for
it: the higher of the distractor threshold (2 %, 95 % bound, calibration half of
``distractors``) and the unseen floor (2 % of the twin's left-out landmarks, 95 % bound,
co-located ones not counted). Reported on the
holdout split, the report half of ``distractors``, ``people-negatives`` and
``landmarks-unseen-dev`` (never used to choose anything here). Variants:

* test-time image size (FixRes): the checkpoints embedded with torch at each ``--sizes``
  (the exported graph is fixed at the training size) and several sizes averaged;
* per-landmark score shift: each landmark's score less its training photos' mean cosine to
  their own prototype (times ``a``), so diffuse landmarks need less;
* the generic descriptor fused into the score (the descriptor is not fine-tuned, so the same
  vectors serve both networks): ``top`` adds ``w`` times the descriptor's cosine to the named
  landmark's descriptor prototype, ``joint`` ranks landmarks by the sum;
* GPS agreement: the recall when each holdout photo carries its landmark's position and a
  candidate within ``photolm.geo.NEAR_KM`` is accepted ``margin`` below the threshold (as
  ``photolm.geo.gps_evidence``), beside the share of non-landmark photos taken beside a
  landmark that get its name.

Embeddings are cached under ``.bench/levers`` (a 224 px pass over ~8,000 photos takes about
ten minutes on two cores); descriptor vectors come from ``scripts/eval_enrolment.py``'s cache.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from photolm.enrol import unit  # noqa: E402

DATA = REPO.parent / "shared" / "data"
KNOWN = [DATA / "wonders", DATA / "landmarks-extra"]
CACHE = REPO / ".bench" / "levers"
FOLDERS = {"dis": DATA / "distractors", "unseen": DATA / "landmarks-unseen-dev",
           "people": DATA / "people-negatives"}


@dataclasses.dataclass
class Embedded:
    """One network's vectors at one image size: ``sets[name] = (vectors, ok, labels, paths)``."""

    sets: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]]

    def good(self, name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        vec, ok, labels, paths = self.sets[name]
        return vec[ok], labels[ok], [p for p, k in zip(paths, ok, strict=True) if k]


def photo_sets(ckpt: object, lco: Path | None) -> dict[str, tuple[list[str], np.ndarray]]:
    """The photos each network is measured on: its train and holdout split, and for the twin
    the photos of the landmarks left out of it (as ``export.unseen.measure_floor``)."""
    from export.unseen import left_out_photos, read_held_out
    from photolm.bundle import read_bundle
    from trainer.data import split_from_config

    split = split_from_config(ckpt.config, expected_classes=ckpt.classes,  # type: ignore[attr-defined]
                              expected_photos=ckpt.photos_sha256)  # type: ignore[attr-defined]
    out = {name: ([s.path for s in part], np.array([s.label for s in part]))
           for name, part in (("train", split.train), ("hold", split.holdout))}
    if lco is not None:
        left, _, _ = left_out_photos(KNOWN, read_bundle(lco / "bundle").landmarks,
                                     read_held_out(lco / "held_out.json"))
        out["left"] = (left, np.full(len(left), -1))
    else:  # listed as photolm-export lists --distractors
        from trainer.data import list_images

        for name, folder in FOLDERS.items():
            paths = [str(p) for p in list_images(folder)]
            out[name] = (paths, np.full(len(paths), -1))
    return out


def embed(run: Path, size: int, lco: Path | None) -> Embedded:
    """Vectors of every set for the checkpoint in ``run`` at ``size`` px (cached)."""
    import hashlib

    digest = hashlib.sha256((run / "best.pt").read_bytes()).hexdigest()[:12]
    cache = CACHE / f"{digest}-{size}.npz"
    from trainer.checkpoint import load_checkpoint

    ckpt = load_checkpoint(run)
    sets = photo_sets(ckpt, lco)
    if cache.is_file():
        data = np.load(cache, allow_pickle=False)
        return Embedded({name: (data[name], data[f"{name}_ok"], labels, paths)
                         for name, (paths, labels) in sets.items()})
    from trainer.prototypes import embed_paths

    resize = round(size * ckpt.preprocess.resize / ckpt.preprocess.size)
    pre = dataclasses.replace(ckpt.preprocess, size=size, resize=resize)
    out: dict[str, np.ndarray] = {}
    for name, (paths, _) in sets.items():
        print(f"{run.name} {size} px: {name} ({len(paths)} photos)", file=sys.stderr,
              flush=True)
        out[name], out[f"{name}_ok"] = embed_paths(ckpt.model, paths, pre, batch_size=32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return Embedded({name: (out[name], out[f"{name}_ok"], labels, paths)
                     for name, (paths, labels) in sets.items()})


def averaged(parts: Sequence[Embedded]) -> Embedded:
    """Several sizes' vectors averaged (multi-scale testing); a photo must decode in all."""
    sets = {}
    for name, (_, _, labels, paths) in parts[0].sets.items():
        ok = np.logical_and.reduce([p.sets[name][1] for p in parts])
        vec = unit(sum(unit(p.sets[name][0]) for p in parts))
        sets[name] = (vec, ok, labels, paths)
    return Embedded(sets)


def prototypes(vec: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each landmark's normalised mean vector, as the export makes them."""
    from trainer.prototypes import class_prototypes

    return class_prototypes(vec, labels, int(labels.max()) + 1)[0]


Scorer = Callable[[np.ndarray, list[str]], tuple[np.ndarray, np.ndarray]]
"""(vectors, paths) -> (best score, landmark index) per photo."""


@dataclasses.dataclass
class Network:
    """A network's vectors and its score rule."""

    emb: Embedded
    score: Scorer


def measure(known: Network, twin: Network) -> dict[str, float]:
    """The build's threshold for this variant (``photolm-export``'s rule and defaults, the
    floor as ``export.unseen`` measures it), and what it does on the reported photos."""
    from export.calibrate import calibrate_threshold
    from export.pipeline import ExportOptions, split_distractors
    from export.unseen import floor_from_scores

    build = ExportOptions(out=Path(), distractors=[FOLDERS["dis"]])  # nothing is written
    hold_vec, hold_y, hold_paths = known.emb.good("hold")
    hold_score, hold_at = known.score(hold_vec, hold_paths)
    right = hold_at == hold_y
    dis_vec, _, dis_paths = known.emb.good("dis")
    dis_score, _ = known.score(dis_vec, dis_paths)
    calibration, _ = split_distractors([Path(p) for p in dis_paths], build.distractors,
                                       build.distractor_holdout)
    in_cal = np.isin(dis_paths, calibration)
    left_vec, _, left_paths = twin.emb.good("left")
    floor = floor_from_scores(twin.score(left_vec, left_paths)[0])
    threshold = calibrate_threshold(
        hold_score, right, dis_score[in_cal], build.target_fpr,
        confidence=build.fpr_confidence).with_floor(floor, hold_score, right,
                                                    dis_score[in_cal]).threshold
    unseen = known.score(*_pair(known.emb.good("unseen")))[0]
    people = known.score(*_pair(known.emb.good("people")))[0]
    at_two = np.sort(unseen)[::-1][int(0.02 * len(unseen))]
    return {"threshold": threshold, "floor": floor, "top1": right.mean(),
            "recall": (right & (hold_score >= threshold)).mean(),
            "unseen named": (unseen >= threshold).mean(),
            "distractors": (dis_score[~in_cal] >= threshold).mean(),
            "people": (people >= threshold).mean(),
            "recall where 2 % unseen named": (right & (hold_score > at_two)).mean()}


def _pair(good: tuple[np.ndarray, np.ndarray, list[str]]) -> tuple[np.ndarray, list[str]]:
    return good[0], good[2]


def plain(emb: Embedded) -> Network:
    protos = prototypes(*emb.good("train")[:2])

    def score(vec: np.ndarray, paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
        sims = vec @ protos.T
        return sims.max(axis=1), sims.argmax(axis=1)
    return Network(emb, score)


def shifted(emb: Embedded, a: float) -> Network:
    vec, labels, _ = emb.good("train")
    protos = prototypes(vec, labels)
    own = (vec @ protos.T)[np.arange(len(labels)), labels]
    centre = np.array([own[labels == c].mean() for c in range(len(protos))])
    shift = a * (centre - centre.mean())

    def score(rows: np.ndarray, paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
        sims = rows @ protos.T - shift
        return sims.max(axis=1), sims.argmax(axis=1)
    return Network(emb, score)


def fused(emb: Embedded, descriptors: dict[str, np.ndarray], w: float, mode: str) -> Network:
    vec, labels, paths = emb.good("train")
    protos = prototypes(vec, labels)
    dprotos = prototypes(lookup(descriptors, paths), labels)

    def score(rows: np.ndarray, paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
        sims = rows @ protos.T
        dsims = lookup(descriptors, paths) @ dprotos.T
        if mode == "joint":
            total = sims + w * dsims
            return total.max(axis=1), total.argmax(axis=1)
        at = sims.argmax(axis=1)
        return sims.max(axis=1) + w * dsims[np.arange(len(at)), at], at
    return Network(emb, score)


def descriptor_vectors() -> dict[str, np.ndarray]:
    """The shipped bundle's descriptor of every photo (eval_enrolment's cached vectors)."""
    import eval_enrolment as ee

    from photolm.bundle import read_bundle

    bundle = read_bundle(REPO / "photolm" / "models" / "default")
    sets = ee.load_sets()
    sets["known"] = ee.load_known()
    out: dict[str, np.ndarray] = {}
    for name, photo_set in sets.items():
        vec = ee.embed_paths(photo_set.paths, bundle.model_path, "descriptor",
                             bundle.preprocess, name)
        out.update((str(Path(p).resolve()), v) for p, v in zip(photo_set.paths, vec, strict=True))
    return out


def lookup(descriptors: dict[str, np.ndarray], paths: Sequence[str]) -> np.ndarray:
    return np.stack([descriptors[str(Path(p).resolve())] for p in paths])


def gps_rows(classes: Sequence[dict], emb: Embedded, threshold: float) -> list[str]:
    """Recall with each holdout photo at its landmark, and non-landmark photos beside one.

    Every holdout photo is decided by ``photolm.geo.gps_evidence`` itself
    (:func:`gpslib.decide`), so the figures measure the shipped rule at each margin; "top-1
    with GPS" lets every candidate pass (GPS only rejects and re-ranks).
    """
    from gpslib import decide, landmarks_at

    coords = [(c.get("latitude"), c.get("longitude")) for c in classes]
    landmarks = landmarks_at([c["id"] for c in classes], coords)
    protos = prototypes(*emb.good("train")[:2])
    vec, labels, _ = emb.good("hold")
    sims = vec @ protos.T
    at_landmark = [coords[label] for label in labels]
    negatives = np.concatenate([emb.good("dis")[0], emb.good("people")[0]]) @ protos.T
    rows = []
    for margin in (0.0, 0.05, 0.10, 0.15, 0.20):
        decided = decide(sims, at_landmark, landmarks, threshold, margin)
        right = int((decided.named == labels).sum())
        wrong = int(((decided.named >= 0) & (decided.named != labels)).sum())
        first = int((decided.first == labels).sum())
        beside = (negatives >= threshold - margin).mean(axis=0)
        rows.append(f"| {margin:.2f} | {right / len(labels):.1%} | {wrong / len(labels):.1%} | "
                    f"{first / len(labels):.1%} | {beside.mean():.2%} | {beside.max():.1%} |")
    return rows


def named_unseen(classes: Sequence[dict], emb: Embedded, threshold: float) -> str:
    """Which unseen landmarks the shipped variant names, and as what."""
    from collections import Counter

    ids = [c["id"] for c in classes]
    vec, _, paths = emb.good("unseen")
    sims = vec @ prototypes(*emb.good("train")[:2]).T
    hits = Counter(f"{Path(p).parent.name} as {ids[j]}"
                   for p, j, s in zip(paths, sims.argmax(axis=1), sims.max(axis=1), strict=True)
                   if s >= threshold)
    return "unseen photos named at the shipped threshold: " + ", ".join(
        f"{what} ({n})" for what, n in hits.most_common())


def row(name: str, m: dict[str, float]) -> str:
    return (f"| {name} | {m['threshold']:.3f} | {m['top1']:.1%} | {m['recall']:.1%} | "
            f"{m['unseen named']:.1%} | {m['distractors']:.1%} | {m['people']:.1%} | "
            f"{m['recall where 2 % unseen named']:.1%} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=REPO / "runs" / "default",
                        help="the shipped network's run folder (best.pt, its split)")
    parser.add_argument("--lco", type=Path, default=None,
                        help="the leave-landmarks-out folder (run/, held_out.json); "
                        "default: RUN/unseen, where the build script puts it")
    parser.add_argument("--sizes", default="224,288",
                        help="test-time image sizes, comma-separated (the first is the "
                        "training size)")
    args = parser.parse_args(argv)
    lco = args.lco or args.run / "unseen"
    sizes = [int(s) for s in args.sizes.split(",")]
    known = {s: embed(args.run, s, None) for s in sizes}
    twin = {s: embed(lco / "run", s, lco) for s in sizes}
    print("| variant | threshold | top-1 | recall at it | unseen named | distractors "
          "(report half) | people | recall where 2 % of unseen are named |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = sizes[0]
    shipped = measure(plain(known[base]), plain(twin[base]))
    print(row(f"{base} px (as shipped)", shipped))
    for s in sizes[1:]:
        print(row(f"{s} px", measure(plain(known[s]), plain(twin[s]))))
    if len(sizes) > 1:
        print(row(" + ".join(f"{s}" for s in sizes) + " px averaged",
                  measure(plain(averaged(list(known.values()))),
                          plain(averaged(list(twin.values()))))))
    for a in (0.5, 1.0, 1.5):
        print(row(f"per-landmark shift a={a}", measure(shifted(known[base], a),
                                                       shifted(twin[base], a))))
    descriptors = descriptor_vectors()
    for mode in ("top", "joint"):
        for w in (0.25, 0.5):
            print(row(f"descriptor fused ({mode}) w={w}",
                      measure(fused(known[base], descriptors, w, mode),
                              fused(twin[base], descriptors, w, mode))))
    print()
    from trainer.checkpoint import load_checkpoint

    classes = load_checkpoint(args.run).classes  # once for both tables below
    print(named_unseen(classes, known[base], shipped["threshold"]))
    print()
    print("| GPS margin | recall with GPS | named wrongly with GPS | top-1 with GPS | "
          "non-landmark photo beside a landmark named (mean) | (worst landmark) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for line in gps_rows(classes, known[base], shipped["threshold"]):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
