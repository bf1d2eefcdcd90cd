# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure enrolment (``photolm learn``) and place discovery (``photolm places``).

Embeds the shared photo sets once with photolm's own runtime (a bundle's ONNX through
``photolm.runtime`` and ``photolm.images``), caches the vectors under ``.bench/`` and then
replays, on those vectors only, what the commands do:

* enrolment: k example photos per landmark of ``landmarks-unseen-dev`` (several random
  draws), queried with the other photos of every landmark; "right at argmax" and "right above
  the threshold" among the learned landmarks;
* false positives: non-landmark photos tagged with a learned landmark, on the half of
  ``distractors`` not used for calibration and on ``people-negatives``;
* places not taught: half of the landmarks learned, the photos of the other half named as
  one of them (most landmark photos in a library show places nobody taught photolm);
* places: pairwise precision / recall of the grouping of the unseen photos mixed with the
  600 distractors;
* ``--at-place``: a lower bar for a learned landmark where GPS puts the photo at it, against
  places not taught nearby and non-landmark photos taken there.

Thresholds are calibrated on the calibration half of the distractors and on the photos of
the 46 landmarks the model knows (other places a learned landmark must not claim: at most
``--other-places-rate`` of them), never on the photos reported. ``--write-thresholds`` and
``--write-places`` store what was chosen in the bundle's manifest (``metrics.enrolment``,
``metrics.places``), where photolm reads it: the values belong to the bundle's network.
Run from the repository root::

    PYTHONPATH=$PWD python scripts/eval_enrolment.py --model photolm/models/default
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, astuple, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:  # gpslib beside it, also when loaded by file path (tests)
    sys.path.insert(0, str(SCRIPTS))
if str(REPO) not in sys.path:  # export.learned_thresholds, however the script is started
    sys.path.insert(0, str(REPO))

from export.learned_thresholds import (  # noqa: E402  (after the path above)
    KS,
    METHODS,
    NON_LANDMARK_RATE,
    OTHER_PLACES_RATE,
    Draw,
    enrol_draw,
    method_for,
    non_decreasing,
    pick_threshold,
)

DATA = REPO.parent / "shared" / "data"
CACHE = REPO / ".bench" / "vectors"
EXTS = {".jpg", ".jpeg", ".png", ".webp"}


@dataclass
class PhotoSet:
    paths: list[str]
    labels: np.ndarray  # landmark index, -1 for non-landmark photos
    names: list[str]  # landmark folder names


def use_data(root: Path) -> None:
    """Read the shared photo sets from ``root`` (every loader below reads :data:`DATA`)."""
    global DATA
    DATA = root


def list_photos(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in EXTS)


def load_sets() -> dict[str, PhotoSet]:
    unseen_root = DATA / "landmarks-unseen-dev"
    folders = sorted(d.name for d in unseen_root.iterdir() if d.is_dir())
    paths: list[str] = []
    labels: list[int] = []
    for i, folder in enumerate(folders):
        for p in list_photos(unseen_root / folder):
            paths.append(str(p))
            labels.append(i)
    sets = {"unseen": PhotoSet(paths, np.array(labels), folders)}
    for name in ("distractors", "people-negatives"):
        photos = [str(p) for p in list_photos(DATA / name)]
        sets[name] = PhotoSet(photos, np.full(len(photos), -1), [])
    return sets


def embed_paths(paths: Sequence[str], onnx: Path, output: str, preprocess: object,
                tag: str) -> np.ndarray:
    """Vectors of ``paths`` from one ONNX output, cached per (model, output, photo list)."""
    from photolm.images import load_for_model
    from photolm.runtime import OnnxEmbedder

    digest = hashlib.sha256(onnx.read_bytes()).hexdigest()[:12]
    key = hashlib.sha256("\n".join(paths).encode()).hexdigest()[:12]
    cache = CACHE / f"{tag}-{digest}-{output}-{key}.npy"
    if cache.is_file():
        return np.load(cache, allow_pickle=False)
    embedder = OnnxEmbedder(onnx, output_name=output, device="cpu")
    out: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    start = time.perf_counter()
    for i, path in enumerate(paths):
        batch.append(load_for_model(path, preprocess))  # type: ignore[arg-type]
        if len(batch) == 16 or i == len(paths) - 1:
            out.append(embedder.embed(np.stack(batch)))
            batch = []
            if (i + 1) % 320 < 16 or i == len(paths) - 1:
                print(f"{tag}: {i + 1}/{len(paths)} ({time.perf_counter() - start:.0f} s)",
                      file=sys.stderr, flush=True)
    vectors = np.concatenate(out).astype(np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def calibration_split(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Fixed halves of the distractors: (calibration, held-out) index arrays."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2:])


def fuse(descriptor: np.ndarray | None, embedding: np.ndarray, weight: float) -> np.ndarray:
    from photolm import enrol

    return enrol.fused(descriptor, embedding, weight)


def main(argv: Sequence[str] | None = None) -> int:
    from photolm import enrol
    from photolm.bundle import read_bundle

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "photolm" / "models" / "default")
    parser.add_argument("--data", type=Path, default=DATA,
                        help="the shared photo sets (landmarks-unseen-dev, distractors, "
                        "people-negatives, wonders, landmarks-extra)")
    parser.add_argument("--descriptor-onnx", type=Path,
                        help="ONNX file of a generic descriptor when the bundle has none")
    parser.add_argument("--descriptor-output", default=None,
                        help="ONNX output holding the generic descriptor (default: the "
                        "bundle's descriptor, when it has one)")
    parser.add_argument("--embedding-only", action="store_true",
                        help="leave the bundle's descriptor out: the fine-tuned embedding "
                        "alone, as photolm learns without a measured table (--method "
                        "fallback)")
    parser.add_argument("--weight", type=float, default=enrol.EMBEDDING_WEIGHT,
                        help="weight of the fine-tuned embedding beside the descriptor")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--fpr", type=float, default=NON_LANDMARK_RATE,
                        help="share of calibration distractors a threshold may tag")
    parser.add_argument("--other-places-rate", type=float, default=OTHER_PLACES_RATE,
                        help="share of the known landmarks' photos (places not learned) a "
                        "threshold may name as a learned landmark; 1 leaves them out")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--method", action="append", help="enrolment variants to report")
    parser.add_argument("--no-places", action="store_true")
    parser.add_argument("--at-place", action="store_true",
                        help="with --method qe: also measure a lower bar for a learned "
                        "landmark where GPS puts the photo within a few hundred metres of it")
    parser.add_argument("--places-only", action="store_true",
                        help="measure place discovery only (no enrolment)")
    parser.add_argument("--places-baseline", metavar="CUTS",
                        help="also report these places cuts, comma-separated in the order of "
                        "photolm.places.Cuts (0.44,0.44,0.88,0: one cut, halved within 300 m, "
                        "as places grouped before the GPS tiers)")
    parser.add_argument("--write-thresholds", action="store_true",
                        help="store the shipped method's thresholds (query expansion, made "
                        "non-decreasing in k) in the bundle's manifest, where photolm reads "
                        "them (metrics.enrolment.thresholds)")
    parser.add_argument("--bundle-thresholds", action="store_true",
                        help="measure at the bundle's own table (metrics.enrolment, as photolm "
                        "reads it: e.g. the one export.descriptor measured on the training "
                        "landmarks) instead of thresholds chosen here")
    parser.add_argument("--write-places", action="store_true",
                        help="store the places cuts and likeness bar chosen here in the "
                        "bundle's manifest, where photolm reads them (metrics.places)")
    parser.add_argument("--calibrate-with-people", action="store_true",
                        help="set thresholds on half of people-negatives too (report the rest)")
    args = parser.parse_args(argv)
    use_data(args.data.resolve())  # absolute paths: the vector cache is keyed by them
    if args.write_places and args.no_places:
        parser.error("--write-places needs the places measured (drop --no-places)")

    bundle = read_bundle(args.model)
    sets = load_sets()
    if not args.no_places or args.other_places_rate < 1:
        sets["known"] = load_known()  # other places: thresholds and places' cuts
    emb = {name: embed_paths(s.paths, bundle.model_path, bundle.output_name, bundle.preprocess,
                             name) for name, s in sets.items()}
    desc: dict[str, np.ndarray | None] = {name: None for name in sets}
    bundle_descriptor = getattr(bundle, "descriptor", None)
    if args.embedding_only:
        bundle_descriptor = None
    if not args.embedding_only and (args.descriptor_output or args.descriptor_onnx
                                    or bundle_descriptor is not None):
        onnx = args.descriptor_onnx or bundle.model_path
        out = args.descriptor_output or (bundle_descriptor.output_name if bundle_descriptor
                                         and not args.descriptor_onnx else "embeddings")
        desc = {name: embed_paths(s.paths, onnx, out, bundle.preprocess, name)
                for name, s in sets.items()}
    vec = {name: fuse(desc[name], emb[name], args.weight) for name in sets}
    space = "embedding" if desc["unseen"] is None else \
        "descriptor" if args.weight == 0 else "fused"
    given = None
    if args.bundle_thresholds:
        from photolm import learned

        if args.write_thresholds or args.at_place:
            parser.error("--bundle-thresholds measures the bundle's table: it chooses none "
                         "to write (--write-thresholds) or to lower (--at-place)")
        if learned.space_of(bundle) != space:
            parser.error(f"the bundle has no table photolm learns with in the {space} space")
        given = learned.thresholds(bundle, space)
        print(f"the bundle's {space} thresholds: {given}", flush=True)
    results: dict[str, object] = {}
    if not args.places_only:
        results["enrolment"] = run_all(sets, vec, args.draws, args.method, bundle.threshold,
                                       args.fpr, args.calibrate_with_people,
                                       args.other_places_rate, given)
        if "qe" in (args.method or METHODS):
            results["enrolment with GPS"] = run_gps(sets, vec, args.draws,
                                                    results["enrolment"]["thresholds"]["qe"],
                                                    bundle.threshold)
        if args.at_place:
            enrolment = results["enrolment"]
            results["enrolment at the place"] = run_at_place(
                sets, vec, args.draws, enrolment["thresholds"]["qe"],  # type: ignore[index]
                enrolment["thresholds on distractors only"]["qe"],  # type: ignore[index]
                bundle.threshold)
    if args.write_thresholds:
        # the bundle as written: a later --write-places rewrites it, not the one read above
        bundle = write_thresholds(bundle, space, results["enrolment"], args.fpr,  # type: ignore[arg-type]
                                  args.other_places_rate,
                                  len(sets["known"].names) if "known" in sets else 0)
    if not args.no_places:
        from photolm.places import Cuts, cuts_for, likeness_for

        baseline = Cuts(*(float(c) for c in args.places_baseline.split(","))) \
            if args.places_baseline else None
        results["places"] = run_places(sets, vec, space, cuts_for(bundle, space), baseline)
        chosen = Cuts(**results["places"]["cuts"])  # type: ignore[index]
        bar = None
        if desc["unseen"] is not None and getattr(bundle, "descriptor_prototypes", None) \
                is not None:
            results["place likeness"] = run_likeness(sets, vec, desc, chosen,
                                                     bundle.descriptor_prototypes,
                                                     likeness_for(bundle))
            bar = results["place likeness"]["chosen"]  # type: ignore[index]
        if args.write_places:
            write_places(bundle, space, chosen, bar)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def write_thresholds(bundle, space: str, enrolment: dict, fpr: float,
                     other_places: float = 1.0, known: int = 46):  # -> Bundle
    """The thresholds photolm uses for landmarks learned with this bundle, by example count:
    those of the method photolm learns with in ``space``, each no lower than the one for
    fewer examples (export/learned_thresholds.py)."""
    from photolm.bundle import rewrite_bundle
    from photolm.learned import enrolment_record

    method = method_for(space)
    if method not in enrolment["thresholds"]:
        raise SystemExit(f"--write-thresholds for the {space} space needs --method {method}")
    table = non_decreasing(enrolment["thresholds"][method])
    metrics = dict(bundle.metrics)
    metrics["enrolment"] = enrolment_record(
        {space: table}, other_places,
        f"each k tags at most {fpr:.2%} of the calibration half of the distractors "
        + (f"and names at most {other_places:.0%} of the photos of the {known} known "
           "landmarks (places not learned) " if other_places < 1 else "")
        + "with 16 landmarks learned at once (scripts/eval_enrolment.py), made "
        "non-decreasing in k")
    written = rewrite_bundle(bundle, bundle.path, metrics=metrics)
    print(f"wrote {space} thresholds {table} into {bundle.path / 'manifest.json'}")
    return written


def write_places(bundle, space: str, cuts: object, likeness: float | None) -> None:
    """The places values photolm uses with this bundle (``metrics.places``): the cuts chosen
    for ``space`` (other spaces' kept) and the likeness bar (kept when not measured: a bundle
    without descriptor prototypes)."""
    from photolm.bundle import PlaceValues, rewrite_bundle

    old = bundle.places or PlaceValues()
    values = PlaceValues(
        cuts={**old.cuts, space: asdict(cuts)},  # type: ignore[call-overload]
        likeness=old.likeness if likeness is None else likeness,
        rule="cuts: the loosest with pairwise precision >= 0.95 and at most 1 % of 100 "
             "people photos in a landmark's group, on the known landmarks, the calibration "
             "halves of distractors and people-negatives, simulated GPS and times; likeness: "
             "the least value (0.01 steps) above every group the calibration half of "
             "people-negatives forms alone (scripts/eval_enrolment.py --write-places)")
    rewrite_bundle(bundle, bundle.path, metrics={**bundle.metrics, "places": values.to_json()})
    print(f"wrote {space} places cuts {values.cuts[space]} and likeness {values.likeness} "
          f"into {bundle.path / 'manifest.json'}")


def load_known() -> PhotoSet:
    """The landmarks the default model was trained on: the other places learned landmarks'
    thresholds are set against, and the photos the places cuts are chosen on.

    Labelled by display name, so the Taj Mahal of four source folders is one landmark.
    """
    names_by_folder = known_classes()
    paths: list[str] = []
    names: list[str] = []
    for root in ("wonders", "landmarks-extra"):
        for p in list_photos(DATA / root):
            folder = str(p.parent.relative_to(DATA))
            paths.append(str(p))
            names.append(names_by_folder[folder][0].casefold())
    unique, labels = np.unique(names, return_inverse=True)
    return PhotoSet(paths, labels, list(unique))


def known_classes() -> dict[str, tuple[str, float, float]]:
    """``root[/source]/folder`` -> (name, latitude, longitude) from the classes.csv files."""
    import csv

    out: dict[str, tuple[str, float, float]] = {}
    for root in ("wonders", "landmarks-extra"):
        with open(DATA / root / "classes.csv", newline="", encoding="utf-8") as handle:
            for r in csv.DictReader(handle):
                folder = f"{root}/{r['source']}/{r['folder']}" if r.get("source") else \
                    f"{root}/{r['folder']}"
                out[folder] = (r["name"], float(r["latitude"]), float(r["longitude"]))
    return out


def pairwise(groups: Sequence[Sequence[int]], labels: np.ndarray) -> tuple[float, float]:
    """Pairwise precision and recall of groups against labels (negative label: a loner)."""
    tp = total = 0
    for g in groups:
        _, counts = np.unique(labels[list(g)], return_counts=True)
        tp += int((counts * (counts - 1) // 2).sum())
        total += len(g) * (len(g) - 1) // 2
    _, counts = np.unique(labels[labels >= 0], return_counts=True)
    positives = int((counts * (counts - 1) // 2).sum())
    return (tp / total if total else 1.0), (tp / positives if positives else 0.0)


@dataclass
class Library:
    """A simulated library for ``places``: vectors, labels (>= 0: a landmark; each negative
    label its own loner) and where (``visit``: the landmark's index, -1 for photos taken at
    home) each photo was taken; positions and times are drawn from it."""

    vec: np.ndarray
    labels: np.ndarray
    visit: np.ndarray
    coords: dict[int, tuple[float, float]]
    strangers: int = 0  # the last rows: photos of people taken at the landmarks

    def with_people(self, people: np.ndarray, rng: np.random.Generator,
                    n: int = 100) -> Library:
        """``n`` photos of people taken at the landmarks (a traveller's selfies)."""
        pick = rng.choice(len(people), size=min(n, len(people)), replace=False)
        at = rng.integers(0, len(self.coords), pick.size)
        lab = self.labels.min(initial=0) - 1 - np.arange(pick.size)
        return Library(np.concatenate([self.vec, people[pick]]),
                       np.concatenate([self.labels, lab]), np.concatenate([self.visit, at]),
                       self.coords, pick.size)

    def positions(self, rng: np.random.Generator, without_gps: float = 0.0,
                  spread: float = 1.0) -> np.ndarray:
        """As a phone records them: within ~300 m of the landmark (times ``spread``: a bay
        is photographed from kilometres apart), a share ``without_gps`` of the photos taken
        there (a camera's) without; photos at home around one town, half without GPS."""
        pos = np.full((self.visit.size, 2), np.nan)
        for i, at in enumerate(self.visit):
            if at >= 0:
                lat, lon = self.coords[int(at)]
                pos[i] = (lat + rng.normal(0, 0.002 * spread),
                          lon + rng.normal(0, 0.003 * spread))
            elif rng.random() < 0.5:
                pos[i] = (48.137 + rng.normal(0, 0.05), 11.575 + rng.normal(0, 0.08))
        if without_gps:
            drop = (self.visit >= 0) & (rng.random(self.visit.size) < without_gps)
            pos[drop] = np.nan
        return pos

    def times(self, rng: np.random.Generator) -> np.ndarray:
        """A traveller's clock on a city walk: landmarks visited in index order (one city's
        landmarks next to each other), four a day, each visit's photos within 30 minutes and
        the next visit 5 minutes later, so the visit window (15 minutes) reaches into the
        neighbouring visits; photos at home at any time of a year."""
        visit_start = {at: (at // 4) * 86400.0 + 9 * 3600.0 + (at % 4) * 2100.0
                       for at in range(len(self.coords))}
        when = np.empty(self.visit.size)
        for i, at in enumerate(self.visit):
            when[i] = visit_start[int(at)] + rng.uniform(0, 1800) if at >= 0 else \
                rng.uniform(-365 * 86400.0, 0)
        return when

    def score(self, cuts: object, pos: np.ndarray | None, times: np.ndarray | None
              ) -> tuple[float, float, int, int]:
        """Pairwise precision, recall, strangers in a landmark's group, groups."""
        from photolm import places

        keys = [f"q{i:06d}" for i in range(self.labels.size)]
        groups = places.group_places(self.vec, keys, positions=pos, times=times,
                                     cuts=cuts)  # type: ignore[arg-type]
        # precision and recall on the landmark and home photos: the strangers are counted
        # on their own (groups of selfies alone are the people-photo caveat, not places)
        first_stranger = self.labels.size - self.strangers
        members = [np.asarray(g.members) for g in groups]
        p, r = pairwise([m[m < first_stranger] for m in members], self.labels)
        joined = sum(int((m >= first_stranger).sum()) for m in members
                     if (self.labels[m] >= 0).any())
        return p, r, joined, len(groups)


def tune_cuts(lib: Library, precision: float = 0.95, joined: float = 0.01
              ) -> tuple[object, list[tuple]]:
    """The loosest cuts keeping pairwise ``precision`` and letting at most a share ``joined``
    of the strangers (people photos taken at the landmarks) into a landmark's group, where
    naming the group would make them examples of the landmark: first the cut for photos
    without GPS or time (the highest), then, with it fixed, the GPS tiers and the join cut
    with the best recall (every photo with GPS), then the cut for photos taken on one visit
    (every photo with its time, 30 % of the landmark photos without GPS: a phone's and a
    camera's)."""
    from dataclasses import replace

    from photolm import places

    rows: list[tuple] = []
    # three draws of the simulated GPS and clock, so the choice does not follow one draw
    draws = [(lib.positions(np.random.default_rng(seed)),
              lib.positions(np.random.default_rng(seed), without_gps=0.3),
              lib.times(np.random.default_rng(seed + 100))) for seed in (5, 6, 7)]

    def ok(cuts: places.Cuts, gps: bool, timed: bool) -> tuple[bool, float]:
        scores = [lib.score(cuts, (some if timed else every) if gps else None,
                            times if timed else None)
                  for every, some, times in (draws if gps or timed else draws[:1])]
        prec = float(np.mean([x[0] for x in scores]))
        rec = float(np.mean([x[1] for x in scores]))
        n = max(x[2] for x in scores)
        rows.append((gps, timed, *astuple(cuts), prec, rec, n))
        return prec >= precision and n <= joined * lib.strangers, rec

    alike = places.DEFAULT_CUTS.alike
    for cut in np.arange(0.20, 0.62, 0.02):
        c = round(float(cut), 2)
        if ok(places.Cuts(c, c, c, 0.0), False, False)[0]:
            alike = c
    best = (-1.0, places.Cuts(alike, alike, alike, 0.0))
    for nearby in np.arange(alike, 0.80, 0.04):
        for same_spot in np.arange(nearby, 1.30, 0.08):
            for join in (0.0, 0.3, 0.4, 0.5):
                cuts = places.Cuts(alike, round(float(nearby), 2), round(float(same_spot), 2),
                                   join)
                good, rec = ok(cuts, True, False)
                if good and rec > best[0]:
                    best = (rec, cuts)
    chosen = best[1]
    best = (-1.0, chosen)
    for visit in np.arange(alike, 1.30, 0.04):
        cuts = replace(chosen, same_visit=round(float(visit), 2))
        good, rec = ok(cuts, True, True)
        if good and rec > best[0]:
            best = (rec, cuts)
    return best[1], rows


SCENARIOS = (
    # name, share of landmark photos without GPS (None: no GPS at all), spread, times
    ("no GPS", None, 1.0, False),
    ("simulated GPS", 0.0, 1.0, False),
    ("simulated GPS, 30 % of landmark photos without", 0.3, 1.0, False),
    ("simulated GPS spread 2x wider", 0.0, 2.0, False),
    ("simulated GPS spread 4x wider", 0.0, 4.0, False),
    ("no GPS, simulated times", None, 1.0, True),
    ("simulated GPS and times", 0.0, 1.0, True),
    ("simulated GPS, 30 % without, simulated times", 0.3, 1.0, True),
)


def places_mixes(sets: dict[str, PhotoSet], vec: dict[str, np.ndarray]
                 ) -> tuple[Library, dict[str, Library]]:
    """The library the places cuts are chosen on (15 photos of each known landmark at most,
    the calibration halves of the distractors and of the people photos, those taken at the
    landmarks) and the mixes reported on: the issue's (the unseen landmarks and the held-out
    distractors) and a traveller's (with 100 held-out people photos taken at the landmarks)."""
    known, distr = sets["known"], sets["distractors"]
    cal, held = calibration_split(len(distr.paths))
    people = vec["people-negatives"]
    p_cal, p_held = calibration_split(len(people))
    rng = np.random.default_rng(3)
    pick = np.concatenate([rng.permutation(np.flatnonzero(known.labels == lab))[:15]
                           for lab in np.unique(known.labels)])
    tune = Library(np.concatenate([vec["known"][pick], vec["distractors"][cal]]),
                   np.concatenate([known.labels[pick], -1 - np.arange(cal.size)]),
                   np.concatenate([known.labels[pick], np.full(cal.size, -1)]),
                   known_coordinates(known)).with_people(people[p_cal],
                                                         np.random.default_rng(6))
    unseen = sets["unseen"]
    issue = Library(np.concatenate([vec["unseen"], vec["distractors"][held]]),
                    np.concatenate([unseen.labels, -1 - np.arange(held.size)]),
                    np.concatenate([unseen.labels, np.full(held.size, -1)]),
                    unseen_coordinates(unseen))
    return tune, {"issue": issue,
                  "traveller": issue.with_people(people[p_held], np.random.default_rng(12))}


def run_places(sets: dict[str, PhotoSet], vec: dict[str, np.ndarray], space: str,
               shipped: object, baseline: object | None = None) -> dict[str, object]:
    """Choose the cuts (:func:`tune_cuts`) on known landmarks + the calibration halves of
    the distractors and of the people photos (100 of them taken at the landmarks); report on
    the unseen landmarks + the held-out half of the distractors (the issue's mix), and with
    100 held-out people photos taken at the landmarks (a traveller's mix), in each of
    :data:`SCENARIOS`, with the chosen cuts, the ``shipped`` ones (what photolm uses with the
    bundle now) and ``baseline``; and how many people photos alone get grouped at all."""
    from photolm import places

    tune, mixes = places_mixes(sets, vec)
    chosen, rows = tune_cuts(tune)
    print(f"places: cuts chosen on known landmarks + calibration distractors and people: "
          f"{chosen}", flush=True)
    candidates = {"chosen": chosen, "shipped": shipped}
    if baseline is not None:
        candidates["baseline"] = baseline
    out: dict[str, object] = {"cuts": asdict(chosen), "tuning": rows}
    for mix, lib in mixes.items():
        for name, without, spread, timed in SCENARIOS:
            pos = None if without is None else lib.positions(np.random.default_rng(11),
                                                            without, spread)
            times = lib.times(np.random.default_rng(13)) if timed else None
            for label, cuts in candidates.items():
                p, r, joined, n_groups = lib.score(cuts, pos, times)
                f1 = 2 * p * r / (p + r) if p + r else 0.0
                key = f"{mix} mix, {label} cuts, {name}"
                out[key] = {"precision": p, "recall": r, "f1": f1, "groups": n_groups,
                            "people_in_landmark_groups": joined}
                print(f"places {key}: precision {p:.3f} recall {r:.3f} F1 {f1:.3f} "
                      f"({n_groups} groups"
                      + (f", {joined} people photos in landmark groups" if lib.strangers
                         else "") + ")", flush=True)
    people = vec["people-negatives"]
    grouped = places.group_places(people, sets["people-negatives"].paths,
                                  cuts=shipped)  # type: ignore[arg-type]
    share = sum(g.size for g in grouped) / len(people)
    out["people grouped"] = {"share": share, "groups": len(grouped)}
    print(f"places: people photos alone at the shipped cut: {share:.1%} end up in "
          f"{len(grouped)} group(s)", flush=True)
    return out


def run_likeness(sets: dict[str, PhotoSet], vec: dict[str, np.ndarray],
                 desc: dict[str, np.ndarray], cuts: object, references: np.ndarray,
                 shipped: float) -> dict[str, object]:
    """``places`` leaves out groups that look like no place: choose the bar on the groups
    the calibration half of people-negatives forms alone (the least value, to 0.01, above
    every one of them), report on the held-out half's groups, the distractors' and the
    unseen landmarks' (mixed with the held-out distractors), at the chosen and the ``shipped``
    bar (what photolm uses with the bundle now); groups are made with ``cuts`` (the chosen
    ones, which --write-places stores beside the bar)."""
    from photolm import places

    def likeness(name: str, rows: np.ndarray, tag: str) -> list[tuple[float, np.ndarray]]:
        keys = [f"{tag}{i:06d}" for i in range(rows.size)]
        found = places.group_places(vec[name][rows], keys, cuts=cuts)  # type: ignore[arg-type]
        return [(places.place_likeness(desc[name][rows][list(g.members)], references),
                 rows[list(g.members)]) for g in found]

    p_cal, p_held = calibration_split(len(sets["people-negatives"].paths))
    cal = likeness("people-negatives", p_cal, "c")
    chosen = math.ceil(max((x for x, _ in cal), default=0.0) * 100 + 1e-9) / 100
    print(f"places: likeness bar chosen on the calibration people's {len(cal)} groups: "
          f"{chosen:.2f} (shipped {shipped:.2f})", flush=True)
    _, d_held = calibration_split(len(sets["distractors"].paths))
    unseen = sets["unseen"]
    mix_desc = np.concatenate([desc["unseen"], desc["distractors"][d_held]])
    mix_vec = np.concatenate([vec["unseen"], vec["distractors"][d_held]])
    labels = np.concatenate([unseen.labels, np.full(d_held.size, -1)])
    found = places.group_places(mix_vec, [f"u{i:06d}" for i in range(labels.size)],
                                cuts=cuts)  # type: ignore[arg-type]
    landmark_groups = [(places.place_likeness(mix_desc[list(g.members)], references),
                        np.asarray(g.members)) for g in found
                       if (labels[list(g.members)] >= 0).mean() > 0.5]
    held = likeness("people-negatives", p_held, "h")
    distr = likeness("distractors", np.arange(len(sets["distractors"].paths)), "d")
    out: dict[str, object] = {"chosen": chosen, "shipped": shipped}
    for bar_name, bar in (("chosen", chosen), ("shipped", shipped)):
        lost = [m for x, m in landmark_groups if x < bar]
        row = {"people held-out groups hidden": [sum(x < bar for x, _ in held), len(held)],
               "distractor groups hidden": [sum(x < bar for x, _ in distr), len(distr)],
               "unseen landmark groups hidden": [len(lost), len(landmark_groups)],
               "unseen landmark photos in them": int(sum(m.size for m in lost)),
               "unseen landmarks hit": sorted({unseen.names[int(labels[m].max())]
                                               for m in lost})}
        out[f"at {bar_name}"] = row
        print(f"places: likeness bar {bar:.2f} ({bar_name}): {row}", flush=True)
    return out


def known_coordinates(known: PhotoSet) -> dict[int, tuple[float, float]]:
    by_name = {name.casefold(): (lat, lon) for name, lat, lon in known_classes().values()}
    return {i: by_name[name] for i, name in enumerate(known.names)}


def unseen_coordinates(unseen: PhotoSet) -> dict[int, tuple[float, float]]:
    import csv

    with open(DATA / "landmarks-unseen-dev" / "classes.csv", newline="",
              encoding="utf-8") as handle:
        by_folder = {r["folder"]: (float(r["latitude"]), float(r["longitude"]))
                     for r in csv.DictReader(handle)}
    return {i: by_folder[name] for i, name in enumerate(unseen.names)}


# Halves of the 16 landmarks drawn for the places-not-taught measure, whatever --draws says:
# which half is learned moves the figure far more than which photos are the examples.
UNTAUGHT_DRAWS = 20
# Methods measured at the bundle's own threshold instead of one chosen here.
AT_BUNDLE_THRESHOLD = ("shipped", "fallback")


def untaught_named(vec: dict[str, np.ndarray], unseen: PhotoSet, k: int, method: str,
                   library: np.ndarray, threshold: float, draws: int) -> dict[str, float]:
    """Half of the landmarks learned (a random half per draw, seeds 500..), the rest not:
    "untaught": the share of the other half's photos named as a learned landmark (a place
    nobody taught given a learned name); "above_half": right above the threshold on the
    learned half's other photos."""
    from photolm import enrol

    n_lm = len(unseen.names)
    named, above = [], []
    for draw in range(draws):
        rng = np.random.default_rng(500 + draw)
        learned = np.sort(rng.choice(n_lm, size=n_lm // 2, replace=False))
        taught = np.isin(unseen.labels, learned)
        protos, owner, q, qlab = enrol_draw(vec["unseen"][taught],
                                            np.searchsorted(learned, unseen.labels[taught]),
                                            k, rng, method, library)
        s = enrol.landmark_scores(vec["unseen"][taught][q], protos, owner, learned.size)
        above.append(float(((s.argmax(axis=1) == qlab) & (s.max(axis=1) >= threshold)).mean()))
        other = enrol.landmark_scores(vec["unseen"][~taught], protos, owner, learned.size)
        named.append(float((other.max(axis=1) >= threshold).mean()))
    return {"untaught": float(np.mean(named)), "above_half": float(np.mean(above))}


def run_all(sets: dict[str, PhotoSet], vec: dict[str, np.ndarray], draws: int,
            methods: list[str] | None, shipped_threshold: float,
            fpr: float = NON_LANDMARK_RATE, with_people: bool = False,
            other_places: float = 1.0, given: dict[int, float] | None = None
            ) -> dict[str, object]:
    """Enrolment per method and k at thresholds chosen on draws (seeds 0..) that are not the
    reported ones (seeds 1000..), on the calibration half of the distractors and (other
    places, ``other_places`` < 1) the known landmarks' photos, none of them learned here;
    or at the bundle's own threshold (AT_BUNDLE_THRESHOLD), or at the table ``given``."""
    from photolm import enrol
    from photolm.learned import threshold_for

    unseen = sets["unseen"]
    n_lm = len(unseen.names)
    cal_idx, held_idx = calibration_split(len(sets["distractors"].paths))
    negatives = {"cal": vec["distractors"][cal_idx], "distractors": vec["distractors"][held_idx],
                 "people": vec["people-negatives"]}
    if with_people:  # calibrate on half the people photos too; report the other half
        p_cal, p_held = calibration_split(len(sets["people-negatives"].paths))
        negatives["cal"] = np.concatenate([negatives["cal"], vec["people-negatives"][p_cal]])
        negatives["people"] = vec["people-negatives"][p_held]
    library = np.concatenate([vec["unseen"], vec["distractors"], vec["people-negatives"]])
    results: dict[str, object] = {}
    thresholds: dict[str, dict[int, float]] = {}
    plain: dict[str, dict[int, float]] = {}  # set on the calibration distractors alone
    for method in methods or list(METHODS):
        for k in KS:
            if method in AT_BUNDLE_THRESHOLD:
                threshold = shipped_threshold
            elif given is not None:  # --bundle-thresholds: the table as photolm reads it
                threshold = threshold_for(given, k)
            else:
                other = vec["known"] if other_places < 1 and "known" in vec else None
                picked = pick_threshold(
                    (Draw(vec["unseen"], unseen.labels, other, negatives["cal"], library, draw)
                     for draw in range(draws)), k, method, fpr, other_places)
                plain.setdefault(method, {})[k] = round(picked.on_non_landmarks, 4)
                threshold = picked.threshold
            rows = []
            for draw in range(draws):
                protos, owner, q, qlab = enrol_draw(vec["unseen"], unseen.labels, k,
                                                    np.random.default_rng(1000 + draw), method,
                                                    library)
                scores = enrol.landmark_scores(vec["unseen"][q], protos, owner, n_lm)
                best = scores.argmax(axis=1)
                right = best == qlab
                row = {"argmax": float(right.mean()),
                       "above": float((right & (scores.max(axis=1) >= threshold)).mean())}
                for name in ("distractors", "people"):
                    s = enrol.landmark_scores(negatives[name], protos, owner, n_lm)
                    row[f"fp_{name}"] = float((s.max(axis=1) >= threshold).mean())
                rows.append(row)
            summary = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
            summary["min_above"] = float(min(r["above"] for r in rows))
            summary["threshold"] = float(threshold)
            summary.update(untaught_named(vec, unseen, k, method, library, threshold,
                                          UNTAUGHT_DRAWS))
            results[f"{method} k={k}"] = summary
            thresholds.setdefault(method, {})[k] = round(float(threshold), 4)
            print(f"{method:>14} k={k}: argmax {summary['argmax']:.1%}  above "
                  f"{summary['above']:.1%} (worst draw {summary['min_above']:.1%})  "
                  f"fp distractors {summary['fp_distractors']:.2%}  "
                  f"people {summary['fp_people']:.2%}  untaught places named "
                  f"{summary['untaught']:.1%} (half learned: right above "
                  f"{summary['above_half']:.1%})  thr {threshold:.3f}", flush=True)
    print(f"thresholds by examples: {thresholds}")
    results["thresholds"] = thresholds
    results["thresholds on distractors only"] = plain
    return results



def run_gps(sets: dict[str, PhotoSet], vec: dict[str, np.ndarray], draws: int,
            thresholds: dict[int, float], bundle_threshold: float) -> dict[str, object]:
    """Enrolment when the photos carry GPS (simulated: each photo within ~300 m of its
    landmark, as ``Library.positions``; a learned landmark placed at its examples' median,
    as ``photolm learn`` places it), decided by ``photolm.geo.gps_evidence`` itself on the
    bundle's scale (``photolm.learned.onto_bundle_scale``), the visual top 5 as photolm keeps
    them. "argmax" lets every candidate pass (what GPS leaves of the ranking); "above" uses
    the learned threshold, with GPS's margin below it as in a scan (both
    :func:`gpslib.decide`). Same draws as :func:`run_all`."""
    from gpslib import decide, landmarks_at

    from photolm import enrol
    from photolm.learned import NO_GPS_MARGIN, onto_bundle_scale

    unseen = sets["unseen"]
    n_lm = len(unseen.names)
    where = unseen_coordinates(unseen)
    library = np.concatenate([vec["unseen"], vec["distractors"], vec["people-negatives"]])
    learned_bars = {str(j): NO_GPS_MARGIN for j in range(n_lm)}  # photolm.learned.gps_bars
    results: dict[str, object] = {}
    for k in (1, 5):
        own = np.full(n_lm, thresholds[k], dtype=np.float32)
        argmax, above, plain, truth = [], [], [], []
        for draw in range(draws):
            rng = np.random.default_rng(1000 + draw)
            protos, owner, q, qlab = enrol_draw(vec["unseen"], unseen.labels, k, rng, "qe",
                                                library)
            scores = onto_bundle_scale(enrol.landmark_scores(vec["unseen"][q], protos, owner,
                                                             n_lm), own, bundle_threshold)
            truth.extend(qlab.tolist())
            pos = np.array([where[int(lm)] for lm in qlab]) + \
                rng.normal(0, 1, (q.size, 2)) * (0.002, 0.003)
            placed = []
            for lm in range(n_lm):  # at its k examples' median, as photolm learn places it
                examples = where[lm] + rng.normal(0, 1, (k, 2)) * (0.002, 0.003)
                lat, lon = np.median(examples, axis=0)
                placed.append((float(lat), float(lon)))
            decided = decide(scores, pos, landmarks_at(unseen.names, placed),
                             bundle_threshold, bars=learned_bars)
            argmax.extend((decided.first == qlab).tolist())
            above.extend((decided.named == qlab).tolist())
            plain.extend((scores.argmax(axis=1) == qlab).tolist())
        summary = {"argmax": float(np.mean(plain)), "argmax_gps": float(np.mean(argmax)),
                   "above_gps": float(np.mean(above))}
        right, labels = np.array(plain), np.array(truth)
        per = {unseen.names[lm]: float(right[labels == lm].mean()) for lm in range(n_lm)}
        worst = sorted(per, key=per.get)[:2]
        rest = ~np.isin(labels, [unseen.names.index(w) for w in worst])
        summary["argmax_by_landmark"] = per
        print(f"{'':>14} k={k}: argmax without GPS, worst two {worst[0]} {per[worst[0]]:.1%}, "
              f"{worst[1]} {per[worst[1]]:.1%}; the other {n_lm - 2} {right[rest].mean():.1%}")
        results[f"qe k={k}"] = summary
        print(f"{'with GPS':>14} k={k}: argmax {summary['argmax']:.1%} -> "
              f"{summary['argmax_gps']:.1%} with GPS, right above the threshold with GPS "
              f"{summary['above_gps']:.1%}", flush=True)
    return results


# GPS at the learned place (--at-place): radii (km) around a learned landmark's position and
# margins below its threshold measured there; "dis" is the bar set on distractors alone.
AT_PLACE_KM = (0.15, 0.3, 0.5)
AT_PLACE_MARGINS: tuple[float | str, ...] = (0.10, 0.15, 0.20, "dis")


def around(coords: tuple[float, float] | np.ndarray, rng: np.random.Generator,
           n: int) -> np.ndarray:
    """``n`` positions within ~300 m of ``coords``, as a phone records them there."""
    return np.asarray(coords, dtype=np.float64) + rng.normal(0, 1, (n, 2)) * (0.002, 0.003)


def run_at_place(sets: dict[str, PhotoSet], vec: dict[str, np.ndarray], draws: int,
                 thresholds: dict[int, float], plain: dict[int, float],
                 bundle_threshold: float) -> dict[str, object]:
    """A lower bar for a learned landmark where the photo's GPS puts it at the landmark itself
    (within R of its position): the rule shipped landmarks keep and learned ones had before
    (GPS agreeing within 10 km is worth ``NEAR_SCORE_MARGIN`` below the threshold), photolm's
    rule now for learned landmarks (no margin), and margins M within R, each photo decided
    by ``photolm.geo.gps_evidence`` (its ``at_place``). Per k and setting: "above", right above
    the threshold on the learned landmarks' other photos (the draws of :func:`run_gps`);
    "wrong", those named as another learned landmark; "untaught", places nobody taught named
    (the halves of :func:`untaught_named`, their photos at their own landmarks, the real
    coordinates of classes.csv: Berlin Cathedral and Museum Island lie ~230 m apart);
    "distractors" and "people", the held-out distractors and people-negatives taken at a
    learned landmark (each at a random one of the 16, within ~300 m), named."""
    from gpslib import decide, landmarks_at

    from photolm import enrol
    from photolm.geo import NEAR_SCORE_MARGIN, NearBar
    from photolm.learned import NO_GPS_MARGIN, onto_bundle_scale

    unseen = sets["unseen"]
    n_lm = len(unseen.names)
    where = unseen_coordinates(unseen)
    library = np.concatenate([vec["unseen"], vec["distractors"], vec["people-negatives"]])
    _, d_held = calibration_split(len(sets["distractors"].paths))
    strangers = {"distractors": vec["distractors"][d_held], "people": vec["people-negatives"]}
    results: dict[str, object] = {}
    for k in (1, 5):
        # (name, the bar of every learned landmark; None: the shipped landmarks' rule, which
        # learned ones had before; "off": no GPS)
        settings: list[tuple[str, NearBar | str | None]] = [
            ("no GPS", "off"), ("before", None), ("now: no margin", NO_GPS_MARGIN)]
        for nearby in (NEAR_SCORE_MARGIN, 0.0):
            for km in AT_PLACE_KM:
                for m in AT_PLACE_MARGINS:
                    margin = thresholds[k] - plain[k] if m == "dis" else float(m)
                    label = m if m == "dis" else f"-{m:.2f}"
                    settings.append((f"{km * 1000:.0f} m {label}, else -{nearby:.2f}",
                                     NearBar(km, margin, nearby)))
        counts = {name: {"above": [], "wrong": [], "untaught": [], "distractors": [],
                         "people": []} for name, _ in settings}

        def run(scores: np.ndarray, pos: np.ndarray, placed: list[tuple[float, float]],
                names: list[str], settings: list[tuple[str, NearBar | str | None]] = settings
                ) -> dict[str, np.ndarray]:
            landmarks = landmarks_at(names, placed)
            out = {}
            for name, near in settings:
                if near == "off":
                    out[name] = decide(scores, np.full_like(pos, np.nan), landmarks,
                                       bundle_threshold).named
                    continue
                bars = None if near is None else {str(j): near for j in range(len(names))}
                out[name] = decide(scores, pos, landmarks, bundle_threshold,
                                   bars=bars).named  # type: ignore[arg-type]
            return out

        own = np.full(n_lm, thresholds[k], dtype=np.float32)
        for draw in range(draws):  # all 16 learned: run_gps's draws, its positions
            rng = np.random.default_rng(1000 + draw)
            protos, owner, q, qlab = enrol_draw(vec["unseen"], unseen.labels, k, rng, "qe",
                                                library)
            scores = onto_bundle_scale(enrol.landmark_scores(vec["unseen"][q], protos, owner,
                                                             n_lm), own, bundle_threshold)
            pos = np.array([where[int(lm)] for lm in qlab]) + \
                rng.normal(0, 1, (q.size, 2)) * (0.002, 0.003)
            placed = [tuple(float(x) for x in np.median(around(where[lm], rng, k), axis=0))
                      for lm in range(n_lm)]
            for name, named in run(scores, pos, placed, unseen.names).items():
                counts[name]["above"].append(float((named == qlab).mean()))
                counts[name]["wrong"].append(float(((named >= 0) & (named != qlab)).mean()))
            for kind, vectors in strangers.items():
                at_lm = rng.integers(0, n_lm, len(vectors))
                spot = np.array([where[int(lm)] for lm in at_lm]) + \
                    rng.normal(0, 1, (len(vectors), 2)) * (0.002, 0.003)
                s = onto_bundle_scale(enrol.landmark_scores(vectors, protos, owner, n_lm),
                                      own, bundle_threshold)
                for name, named in run(s, spot, placed, unseen.names).items():
                    counts[name][kind].append(float((named >= 0).mean()))
        for draw in range(UNTAUGHT_DRAWS):  # half learned: untaught_named's draws
            rng = np.random.default_rng(500 + draw)
            learned = np.sort(rng.choice(n_lm, size=n_lm // 2, replace=False))
            taught = np.isin(unseen.labels, learned)
            protos, owner, _, _ = enrol_draw(vec["unseen"][taught],
                                             np.searchsorted(learned, unseen.labels[taught]),
                                             k, rng, "qe", library)
            s = onto_bundle_scale(enrol.landmark_scores(vec["unseen"][~taught], protos, owner,
                                                        learned.size),
                                  own[: learned.size], bundle_threshold)
            pos = np.array([where[int(lm)] for lm in unseen.labels[~taught]]) + \
                rng.normal(0, 1, (int((~taught).sum()), 2)) * (0.002, 0.003)
            placed = [tuple(float(x) for x in np.median(around(where[int(lm)], rng, k), axis=0))
                      for lm in learned]
            names = [unseen.names[int(lm)] for lm in learned]
            for name, named in run(s, pos, placed, names).items():
                counts[name]["untaught"].append(float((named >= 0).mean()))
        print(f"\nk={k} (threshold {thresholds[k]:.3f}, on distractors alone {plain[k]:.3f}), "
              "GPS simulated:\n| within R of the learned landmark, bar | right above | named "
              "wrongly | places not taught named | distractors at the place named | people "
              "photos at the place named |\n| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, near in settings:
            row = {key: float(np.mean(v)) for key, v in counts[name].items()}
            results[f"qe k={k} {name}"] = row
            label = {"no GPS": "without GPS",
                     "before": "before: as shipped landmarks (within 10 km: -0.05)",
                     "now: no margin": "now: GPS, no margin for learned landmarks"
                     }.get(name) or \
                f"{name} ({thresholds[k] - near.at_place:.3f})"  # type: ignore[union-attr]
            print(f"| {label} | {row['above']:.1%} | {row['wrong']:.1%} | "
                  f"{row['untaught']:.1%} | {row['distractors']:.2%} | {row['people']:.2%} |",
                  flush=True)
    return results


if __name__ == "__main__":
    raise SystemExit(main())
