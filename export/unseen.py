# SPDX-License-Identifier: GPL-3.0-or-later
"""A threshold floor for landmarks the model never saw, set by leaving landmarks out.

Most landmark photos in a real library show places the shipped model was never trained on,
and they must stay "no landmark" rather than get a wrong famous name. Non-landmark photos
(distractors, people) are the wrong negatives for that: an unseen church *is* a building, and
a threshold calibrated on cats and portraits names it. Nor can the trained landmarks stand in
for unseen ones: ArcFace pushed exactly those classes apart, so leaving one out of the
prototype table after training makes it look far easier to reject than a new place is.

So a second model is trained with the same recipe on all but ``count`` landmarks (chosen by a
seeded draw, written as a ``trainer fit --exclude-list``), and every photo of the landmarks it
never saw is scored against its prototypes. The floor is the smallest threshold at which at
most ``target_rate`` of those photos are named as one of its landmarks, with the same
Clopper-Pearson confidence the distractor threshold uses (:mod:`export.calibrate`). The
shipped model, trained with the same recipe on every landmark, then uses
``max(distractor threshold, floor)`` (``photolm-export --threshold-floor FILE``).

    python -m export.unseen exclude DATA... --out DIR        # DIR/exclude.txt, held_out.json
    python -m export.unseen floor LCO_BUNDLE DATA... --held-out DIR/held_out.json --out FLOOR
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from photolm.wording import counted

DEFAULT_COUNT = 10
DEFAULT_SEED = 2026
DEFAULT_TARGET_RATE = 0.02
DEFAULT_CONFIDENCE = 0.95
# A left-out landmark closer than this to one the model knows is not "unseen": its photos
# often show the neighbour (the Iron Pillar of Delhi stands beside the Qutub Minar).
CO_LOCATED_KM = 5.0


def held_out_classes(class_ids: Sequence[str], count: int = DEFAULT_COUNT,
                     seed: int = DEFAULT_SEED) -> list[str]:
    """``count`` landmark ids drawn with ``seed``: the same draw on every machine."""
    ids = sorted(class_ids)
    if not 0 < count < len(ids):
        from export.errors import ExportError

        raise ExportError(f"Cannot leave {count} of {len(ids)} landmarks out; choose 1 to "
                          f"{len(ids) - 1}.")
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(ids, count, replace=False).tolist())


def write_exclusion(data: Sequence[Path], out: Path, count: int = DEFAULT_COUNT,
                    seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Write ``out/exclude.txt`` (every photo of the held-out landmarks, for ``trainer fit
    --exclude-list``) and ``out/held_out.json`` (which landmarks, how many photos)."""
    from export.report_files import check_writable, write_json, write_text
    from trainer.data import discover

    check_writable(out / "exclude.txt", "--out")
    index = discover(list(data))
    ids = [c.id for c in index.classes]
    held = held_out_classes(ids, count, seed)
    chosen = set(held)
    paths = [os.path.normpath(s.path) for s in index.samples if ids[s.label] in chosen]
    record = {"held_out": held, "photos": len(paths), "count": count, "seed": seed,
              "data": [str(Path(d).resolve()) for d in data]}
    write_text(out / "exclude.txt", "".join(p + "\n" for p in paths), "--out")
    write_json(out / "held_out.json", record, "--out")
    return record


def floor_from_scores(scores: np.ndarray, target_rate: float = DEFAULT_TARGET_RATE,
                      confidence: float | None = DEFAULT_CONFIDENCE) -> float:
    """Smallest threshold naming at most the allowed share of unseen-landmark photos, whose
    best scores against the known prototypes are ``scores``."""
    from export.calibrate import allowed_false_positives

    ranked = np.sort(np.asarray(scores, dtype=np.float32).reshape(-1))[::-1]
    allowed = allowed_false_positives(len(ranked), target_rate, confidence)
    if allowed >= len(ranked):
        return -1.0
    return float(np.nextafter(ranked[allowed], np.float32(np.inf), dtype=np.float32))


def measure_floor(bundle_dir: Path, data: Sequence[Path], held_out: Sequence[str], *,
                  target_rate: float = DEFAULT_TARGET_RATE,
                  confidence: float | None = DEFAULT_CONFIDENCE) -> dict[str, Any]:
    """The floor from a bundle trained without the ``held_out`` landmarks."""
    from export.bundle_arg import read_given_bundle
    from export.embedding import embed_photos
    from export.errors import ExportError
    from photolm.matching import Matcher
    from photolm.runtime import OnnxEmbedder

    bundle = read_given_bundle(bundle_dir)
    known = {lm.id for lm in bundle.landmarks}
    leaked = sorted(known & set(held_out))
    if leaked:
        raise ExportError(f"{bundle_dir} was trained on {', '.join(leaked)}, which the floor "
                          "treats as unseen; train it with the exclusion list.")
    paths, chosen, co_located = left_out_photos(data, bundle.landmarks, held_out)
    if not paths:
        raise ExportError("No photos of the held-out landmarks were found under the data "
                          "folders.")
    embedder = OnnxEmbedder.for_bundle(bundle, device="cpu")
    embedded = embed_photos({"model": embedder}, paths, bundle.preprocess)
    if not embedded.ok.any():  # undecodable ones are left out, as trainer fit skipped them
        raise ExportError("None of the held-out landmarks' photos could be decoded.")
    scores = Matcher.from_bundle(bundle).landmark_scores(embedded.good("model")).max(axis=1)
    floor = floor_from_scores(scores, target_rate, confidence)
    return {
        "floor": floor,
        "rule": (f"smallest threshold naming at most {target_rate:.0%} of the photos of "
                 f"{counted(len(chosen), 'landmark')} left out of training (confidence "
                 f"{confidence or 0:.0%}) as a known landmark; left-out landmarks within "
                 f"{CO_LOCATED_KM:g} km of a known one are not counted"),
        "target_rate": target_rate, "confidence": confidence,
        "held_out": sorted(held_out), "measured_on": sorted(chosen), "photos": len(scores),
        "co_located": co_located, "co_located_km": CO_LOCATED_KM,
        "named_at_floor": float((scores >= floor).mean()),
        "named_at_its_threshold": float((scores >= bundle.threshold).mean()),
        "bundle_threshold": bundle.threshold, "bundle_model_id": bundle.model_id,
    }


def left_out_photos(data: Sequence[Path], known: Sequence[Any], held_out: Sequence[str]
                    ) -> tuple[list[str], set[str], dict[str, dict[str, Any]]]:
    """The photos under ``data`` of the ``held_out`` landmarks the floor counts (those not
    standing beside one the model ``known``s: :func:`neighbours`), those landmarks, and the
    co-located ones left aside."""
    from trainer.data import class_ids, discover

    index = discover(list(data))
    ids = [c.id for c in index.classes]
    given = set(held_out)  # a held_out.json from before Latin spellings has their old ids
    held_out = [c.id for c in index.classes if given & set(class_ids(c.name))]
    co_located = neighbours(index.classes, known, held_out)
    chosen = set(held_out) - set(co_located)
    return [s.path for s in index.samples if ids[s.label] in chosen], chosen, co_located


def neighbours(classes: Sequence[Any], known: Sequence[Any], held_out: Sequence[str]
               ) -> dict[str, dict[str, Any]]:
    """Left-out landmarks standing within :data:`CO_LOCATED_KM` of a landmark the model
    knows (by the coordinates of the classes tables), with that neighbour."""
    from photolm.geo import haversine_km

    where = {c.id: c for c in classes}
    found: dict[str, dict[str, Any]] = {}
    for lm_id in held_out:
        here = where.get(lm_id)
        if here is None or here.latitude is None or here.longitude is None:
            continue
        for other in known:
            if other.latitude is None or other.longitude is None:
                continue
            km = haversine_km(here.latitude, here.longitude, other.latitude, other.longitude)
            if km < CO_LOCATED_KM and km < found.get(lm_id, {}).get("km", float("inf")):
                found[lm_id] = {"neighbour": other.id, "km": round(km, 2)}
    return found


def read_held_out(path: Path) -> list[str]:
    """The landmarks ``exclude`` left out, from its ``held_out.json``: a missing, cut-short
    or hand-edited file fails with one line before any model is loaded."""
    from export.errors import ExportError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"Cannot read {path}: {exc.strerror or exc}. Give --held-out the "
                          "held_out.json that `python -m export.unseen exclude` wrote.") \
            from None
    try:
        held = json.loads(text)["held_out"]
        if not isinstance(held, list) or not held or not all(isinstance(i, str) for i in held):
            raise ValueError('"held_out" must be a non-empty list of landmark ids')
    except (ValueError, KeyError, TypeError) as exc:
        reason = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ExportError(f"{path} is not a held_out.json from `python -m export.unseen "
                          f"exclude` ({reason}).") from None
    return held


def read_floor(path: Path) -> dict[str, Any]:
    """The record ``floor`` wrote, checked enough that a wrong file fails with one line."""
    from export.errors import ExportError

    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        float(record["floor"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExportError(f"{path} is not a threshold-floor file from `python -m "
                          f"export.unseen floor` ({exc}).") from None
    return record


def main(argv: list[str] | None = None) -> None:
    """``python -m export.unseen exclude|floor ...``."""
    import typer

    from photolm.cli.output import print_json, reporting
    from photolm.cli.usage import tool_app

    app = tool_app(help=__doc__.splitlines()[0])

    @app.command()
    def exclude(
        data: list[Path] = typer.Argument(..., metavar="DATA", show_default=False,
                                          help="The training data folders."),
        out: Path = typer.Option(..., "--out", "-o", help="Folder for exclude.txt and "
                                 "held_out.json."),
        count: int = typer.Option(DEFAULT_COUNT, "--count", help="Landmarks to leave out."),
        seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Seed of the draw."),
    ) -> None:
        """Choose the landmarks to leave out and list their photos for trainer fit."""
        with reporting():
            print_json(write_exclusion(data, out, count, seed))

    @app.command()
    def floor(
        bundle: Path = typer.Argument(..., metavar="BUNDLE", show_default=False,
                                      help="Bundle of the model trained without them."),
        data: list[Path] = typer.Argument(..., metavar="DATA", show_default=False,
                                          help="The training data folders."),
        held_out: Path = typer.Option(..., "--held-out", help="held_out.json from exclude."),
        out: Path | None = typer.Option(None, "--out", "-o", help="Write the record here."),
        target_rate: float = typer.Option(DEFAULT_TARGET_RATE, "--target-rate",
                                          help="Share of unseen-landmark photos allowed a "
                                          "known name."),
        confidence: float = typer.Option(DEFAULT_CONFIDENCE, "--confidence",
                                         help="Clopper-Pearson confidence (0: off)."),
    ) -> None:
        """Measure the threshold floor on the landmarks the bundle never saw."""
        from export.report_files import check_writable, write_json

        with reporting():
            held = read_held_out(held_out)
            if out is not None:
                check_writable(out, "--out")
            result = measure_floor(bundle, data, held, target_rate=target_rate,
                                   confidence=confidence or None)
            print_json(result)  # first: a write failing after all is then not a lost run
            if out is not None:
                write_json(out, result, "--out", kept="the record is on stdout")

    app(args=argv, prog_name="python -m export.unseen")


if __name__ == "__main__":
    main()
