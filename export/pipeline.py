# SPDX-License-Identifier: GPL-3.0-or-later
"""The whole export: trainer checkpoint -> verified, calibrated photolm bundle.

1. Load the checkpoint and rebuild its exact train/val/holdout split from its config
   (:func:`trainer.data.split_from_config`; a changed dataset is an error).
2. Export the embedding model to ONNX (:mod:`export.onnx_export`) and prove parity with
   torch on real photos through photolm's own preprocessing (:mod:`export.parity`).
3. Optionally build an int8 or fp16 variant (:mod:`export.quantize`).
4. Embed the training photos, the held-out landmark photos and the distractors once,
   through every variant, with photolm's decoder and onnxruntime (:mod:`export.embedding`).
5. Per variant: prototypes from the training photos only (:mod:`export.prototypes`), the
   "no landmark" threshold for the target false-positive rate (:mod:`export.calibrate`),
   and recognition metrics on the held-out photos (:mod:`export.evaluation`).
6. Refuse a variant that loses more than a point of top-1; write the bundle through
   :func:`photolm.bundle.write_bundle` with metrics and provenance; warn when too few
   distractors left the target false-positive rate no room (:func:`too_few_distractors`).

Which photos serve what: landmark photos are the checkpoint's *holdout* split when it has
one, else its validation split (which the trainer used only to pick the best epoch). The
threshold depends on the distractors alone; the distractors are divided deterministically
into a calibration part and an evaluation part (``distractor_holdout``), so the
false-positive rate reported in ``metrics`` is measured on photos the threshold never saw,
while ``calibration`` records the in-sample figures it was chosen on.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from export.calibrate import CalibrationResult, calibrate_threshold, distractors_needed
from export.embedding import Embedded, embed_photos, load_arrays
from export.errors import ExportError
from export.evaluation import best_scores, evaluate_table
from export.landmark_names import with_landmark_names
from export.onnx_export import export_onnx
from export.parity import MIN_COSINE, check_parity, parity_sample
from export.prototypes import (
    METHODS,
    MIN_SILHOUETTE,
    PrototypeTable,
    head_prototypes,
    kmeans_prototypes,
    mean_prototypes,
)
from export.quantize import (
    MAX_TOP1_DROP_POINTS,
    VARIANTS,
    VariantReport,
    check_accuracy_drop,
    convert_fp16,
    images_per_second,
    quantize_int8,
)
from export.read_failures import reads_as_errors
from export.report_files import refusals_as_errors
from photolm.bundle import Bundle, Landmark, Preprocess, check_replaceable, write_bundle
from photolm.runtime import OnnxEmbedder
from photolm.wording import counted


@dataclass
class ExportOptions:
    """Everything ``photolm-export`` can be told; defaults are the documented ones."""

    out: Path
    distractors: Sequence[Path] = ()
    target_fpr: float = 0.02
    fpr_confidence: float | None = 0.95  # None: meet target_fpr on the calibration photos only
    quantize: str = "none"  # none | int8 | fp16
    prototypes: str = "mean"  # mean | kmeans | head
    subcenters: int = 3  # at most this many prototypes per landmark (kmeans)
    min_silhouette: float = MIN_SILHOUETTE  # kmeans: how separate a landmark's groups must be
    parity_images: int = 64
    min_parity: float = MIN_COSINE
    max_top1_drop: float = MAX_TOP1_DROP_POINTS  # percentage points
    calibration_images: int = 128  # training photos for int8 activation ranges
    distractor_holdout: float = 0.5  # share of distractors kept out of threshold calibration
    name: str | None = None
    batch_size: int = 32
    workers: int | None = None  # decoding threads
    threads: int | None = None  # onnxruntime threads
    static_padding: bool = True
    overwrite: bool = False
    # least threshold, from landmarks left out of training (export.unseen's floor record)
    threshold_floor: dict[str, Any] | None = None
    # where the run's dataset folders are now, if they moved since fit (or fit ran on another
    # machine); () reads them where the checkpoint's config says
    data: Sequence[Path] = ()

    def validate(self) -> None:
        if self.quantize not in VARIANTS:
            raise ExportError(f"Unknown --quantize {self.quantize!r}; choose none, int8 or fp16.")
        if self.prototypes not in METHODS:
            raise ExportError(
                f"Unknown --prototypes {self.prototypes!r}; choose {', '.join(METHODS)}."
            )
        if not self.distractors:
            raise ExportError(
                "The 'no landmark' threshold is calibrated on photos without landmarks: pass "
                "--distractors DIR (e.g. ../shared/data/distractors)."
            )
        for option, folders in (("--distractors", self.distractors), ("--data", self.data)):
            for folder in folders:  # a typo, found before the checkpoint is loaded
                if not Path(folder).exists():
                    raise ExportError(f"{option} {folder}: no such folder.")
        if not 0 < self.target_fpr < 1:
            raise ExportError("--target-fpr must lie strictly between 0 and 1.")
        if self.fpr_confidence is not None and not 0 < self.fpr_confidence < 1:
            raise ExportError("--fpr-confidence must lie strictly between 0 and 1 (0: off).")
        if not 0 <= self.distractor_holdout < 1:
            raise ExportError("--distractor-holdout must lie in [0, 1).")
        if self.subcenters < 1 or self.parity_images < 1 or self.batch_size < 1:
            raise ExportError("--subcenters, --parity-images and --batch-size must be >= 1.")
        if not 0 < self.min_parity <= 1:
            raise ExportError("--min-parity must lie in (0, 1].")
        if self.max_top1_drop < 0:
            raise ExportError("--max-top1-drop cannot be negative.")
        # write_bundle checks this too, but only once the minutes of work are done
        check_replaceable(Path(self.out), overwrite=self.overwrite, flag="--overwrite")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["out"] = str(self.out)
        data["distractors"] = [str(p) for p in self.distractors]
        data["data"] = [str(p) for p in self.data]
        return data


class ExportProgress:
    """Progress hooks, no-ops by default; the CLI renders them on stderr."""

    def step(self, text: str) -> None: ...

    def stage(self, label: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


@dataclass
class ExportResult:
    bundle: Bundle
    report: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the bundle is not what was asked for


@dataclass
class _Variant:
    precision: str
    path: Path
    embedder: OnnxEmbedder


@dataclass
class _Measured:
    """A variant's prototype table, threshold and metrics, all computed through it."""

    table: PrototypeTable
    calibration: CalibrationResult
    metrics: dict[str, Any]
    report: VariantReport


def split_distractors(paths: Sequence[Path], roots: Sequence[Path],
                      holdout: float) -> tuple[list[str], list[str]]:
    """(calibration, evaluation) distractor paths: a hash of each photo's path inside its
    root decides, so the division is the same on every machine and for every run."""
    if holdout <= 0:
        names = [str(p) for p in paths]
        return names, names
    calibration, evaluation = [], []
    resolved = [Path(r).resolve() for r in roots]
    for path in paths:
        full = Path(path).resolve()
        root = next((r for r in resolved if full.is_relative_to(r)), full.parent)
        digest = hashlib.sha256(full.relative_to(root).as_posix().encode()).digest()
        share = int.from_bytes(digest[:8], "big") / 2**64
        (evaluation if share < holdout else calibration).append(str(path))
    if not calibration or not evaluation:
        raise ExportError(
            f"Too few distractor photos ({len(paths)}) to keep {holdout:.0%} of them out of "
            "calibration; add photos or pass --distractor-holdout 0."
        )
    return calibration, evaluation


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) or math.isinf(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _by_class(samples: Sequence[Any], num_classes: int) -> list[list[str]]:
    groups: list[list[str]] = [[] for _ in range(num_classes)]
    for sample in samples:
        groups[sample.label].append(sample.path)
    return groups


def _build_table(method: str, emb: np.ndarray, labels: np.ndarray, ckpt: Any,
                 options: ExportOptions, names: Sequence[str]) -> PrototypeTable:
    num = len(names)
    if method == "kmeans":
        return kmeans_prototypes(emb, labels, num, max_k=options.subcenters,
                                 min_silhouette=options.min_silhouette,
                                 seed=int(ckpt.config.seed), class_names=names)
    if method == "head":
        head = ckpt.build_head()
        centres = head.centres().detach().float().cpu().numpy()
        return head_prototypes(centres, int(getattr(head, "subcenters", 1)), emb, labels, num,
                               class_names=names)
    return mean_prototypes(emb, labels, num, class_names=names)


@dataclass
class _Inputs:
    """The checkpoint and every photo set the export uses, resolved once."""

    ckpt: Any
    landmarks: list[Landmark]
    torch_pre: Any  # the trainer's EvalPreprocess
    pre: Preprocess
    split: Any  # trainer.data.DatasetSplit
    held_name: str
    held: list[Any]
    distractors: list[Path]
    d_cal: list[str]
    d_eval: list[str]

    @property
    def names(self) -> list[str]:
        return [lm.name for lm in self.landmarks]


@dataclass
class _Rows:
    """Row numbers of each photo set in the shared embedding table (decodable photos only)."""

    train: list[int]
    train_labels: np.ndarray
    held: list[int]
    held_labels: np.ndarray
    d_cal: list[int]
    d_eval: list[int]


def _load_inputs(checkpoint: Path | str, options: ExportOptions) -> _Inputs:
    from trainer.checkpoint import load_checkpoint
    from trainer.data import list_images, split_from_config

    ckpt = load_checkpoint(checkpoint)
    tp = ckpt.preprocess
    pre = Preprocess(size=tp.size, resize=tp.resize, crop=tp.crop,
                     interpolation=tp.interpolation, mean=tuple(tp.mean), std=tuple(tp.std))
    config = ckpt.config
    if options.data:  # the same photos elsewhere: the split's checksum proves it
        config = replace(config, data=[str(Path(p).resolve()) for p in options.data])
    else:
        gone = [root for root in config.data or [] if not Path(root).is_dir()]
        if gone:
            raise ExportError(
                f"The run's dataset folder {gone[0]} is not there: if it moved, or fit ran on "
                "another machine, give its place here with --data (once per folder fit was "
                "given).")
    split = split_from_config(config, expected_classes=ckpt.classes,
                              expected_photos=ckpt.photos_sha256)
    held = split.holdout or split.val
    if not held:
        raise ExportError(
            "The checkpoint has neither a validation nor a holdout split, so nothing can "
            "measure the bundle; retrain with a validation split (e.g. --split 80/20)."
        )
    distractors: list[Path] = []
    for folder in options.distractors:
        distractors.extend(list_images(folder))
    if not distractors:
        raise ExportError(
            f"--distractors {', '.join(map(str, options.distractors))} holds no photos "
            "(JPEG, PNG, WebP, BMP or TIFF): give a folder of photos without landmarks "
            "(e.g. ../shared/data/distractors).")
    d_cal, d_eval = split_distractors(distractors, list(options.distractors),
                                      options.distractor_holdout)
    # Curated multilingual names and real place fields (export/landmark_names.json).
    landmarks = with_landmark_names([Landmark.from_json(c) for c in ckpt.classes])
    return _Inputs(ckpt=ckpt, landmarks=landmarks,
                   torch_pre=tp, pre=pre, split=split,
                   held_name="holdout" if split.holdout else "val", held=list(held),
                   distractors=distractors, d_cal=d_cal, d_eval=d_eval)


def _rows(inputs: _Inputs, embedded: Embedded) -> _Rows:
    position = {p: i for i, p in enumerate(embedded.paths)}

    def labelled(samples: Sequence[Any]) -> tuple[list[int], np.ndarray]:
        pairs = [(position[s.path], s.label) for s in samples if embedded.ok[position[s.path]]]
        return [r for r, _ in pairs], np.asarray([lab for _, lab in pairs], dtype=np.int64)

    def plain(paths: Sequence[str]) -> list[int]:
        return [position[p] for p in paths if embedded.ok[position[p]]]

    train, train_labels = labelled(inputs.split.train)
    held, held_labels = labelled(inputs.held)
    return _Rows(train, train_labels, held, held_labels, plain(inputs.d_cal),
                 plain(inputs.d_eval))


def _measure(variant: _Variant, vectors: np.ndarray, rows: _Rows, inputs: _Inputs,
             options: ExportOptions, bench: np.ndarray,
             reference: VariantReport | None) -> tuple[_Measured, float | None]:
    """Prototypes, accuracy, threshold and open-set metrics of one variant, all through its
    own embeddings. With a ``reference`` (fp32) the accuracy gate runs first, so a broken
    quantised model is refused for what it is rather than failing later in calibration."""
    table = _build_table(options.prototypes, vectors[rows.train], rows.train_labels,
                         inputs.ckpt, options, inputs.names)
    held = vectors[rows.held]
    accuracy = evaluate_table(table, inputs.landmarks, held, rows.held_labels)
    report = VariantReport(
        precision=variant.precision,
        size_bytes=variant.path.stat().st_size,
        images_per_s=images_per_second(variant.embedder, bench),
        top1=accuracy["top1"], top5=accuracy["top5"], gap=accuracy["gap"],
    )
    drop = (None if reference is None
            else check_accuracy_drop(reference, report, options.max_top1_drop))
    scores, correct = best_scores(held, table, inputs.landmarks, rows.held_labels)
    d_scores, _ = best_scores(vectors[rows.d_cal], table, inputs.landmarks)
    calibration = calibrate_threshold(scores, correct, d_scores, options.target_fpr,
                                      confidence=options.fpr_confidence)
    if options.threshold_floor is not None:
        calibration = calibration.with_floor(float(options.threshold_floor["floor"]), scores,
                                             correct, d_scores)
    metrics = evaluate_table(table, inputs.landmarks, held, rows.held_labels,
                             vectors[rows.d_eval], calibration.threshold)
    return _Measured(table, calibration, metrics, report), drop


def too_few_distractors(calibration: CalibrationResult, options: ExportOptions) -> str | None:
    """One line when the calibration distractors are too few for the target to mean
    anything: not one of them may score above the threshold, which therefore lands just
    above the highest-scoring one (docs/export.md, "The no landmark threshold")."""
    if calibration.allowed > 0:
        return None
    need = distractors_needed(calibration.target_fpr, calibration.confidence)
    share = 1.0 - options.distractor_holdout
    photos = (f" (about {math.ceil(need / share)} distractor photos with --distractor-holdout "
              f"{options.distractor_holdout:g})" if options.distractor_holdout else "")
    confidence = (f" at {calibration.confidence:.0%} confidence" if calibration.confidence
                  else "")
    return (f"--target-fpr {calibration.target_fpr:g}{confidence} needs at least {need} "
            f"calibration distractors{photos}; with {calibration.rates.negatives}, none may "
            "score above the threshold, so it was set just above the highest-scoring one: "
            "stricter than asked, at a cost in recall.")


def _provenance(inputs: _Inputs, options: ExportOptions) -> dict[str, Any]:
    from export.provenance import collect_provenance

    split, ckpt = inputs.split, inputs.ckpt
    return collect_provenance(
        checkpoint=ckpt.path,
        config=ckpt.config_dict,
        training_metrics=ckpt.metrics,
        epoch=ckpt.epoch,
        roots=list(split.index.roots),
        split_paths={name: [s.path for s in split.part(name)]
                     for name in ("train", "val", "holdout")},
        classes=len(inputs.landmarks),
        distractor_roots=[str(Path(p).resolve()) for p in options.distractors],
        distractor_counts={"photos": len(inputs.distractors), "calibration": len(inputs.d_cal),
                           "evaluation": len(inputs.d_eval)},
        options=options.to_json(),
    )


def export_bundle(checkpoint: Path | str, options: ExportOptions,
                  progress: ExportProgress | None = None) -> ExportResult:
    """Run the whole export (module docstring); returns the written bundle and a report.

    Raises :class:`ExportError` (or a trainer/photolm error) with one actionable line when a
    check fails: parity, calibration, or a quantised model's accuracy. Nothing is written
    to ``options.out`` unless every check passed.
    """
    options.validate()
    progress = progress or ExportProgress()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    progress.step("Loading the checkpoint and rebuilding its data split")
    inputs = _load_inputs(checkpoint, options)
    ckpt, pre, num = inputs.ckpt, inputs.pre, len(inputs.landmarks)
    lap("load")

    scratch, out = Path(tempfile.gettempdir()), Path(options.out)
    unchanged = f"; {out} was not changed"

    def writing_scratch() -> AbstractContextManager[None]:
        # only the calls that write: a photo read in between is not the scratch disk's fault
        return refusals_as_errors(f"the export's working files in {scratch}", scratch,
                                  unchanged, elsewhere="TMPDIR")

    with writing_scratch():
        scratch_dir = tempfile.TemporaryDirectory(prefix="photolm-export-",
                                                  ignore_cleanup_errors=True)
    with scratch_dir as tmp:
        work = Path(tmp)
        progress.step("Exporting to ONNX")
        with writing_scratch():
            info = export_onnx(ckpt.model, work / "fp32.onnx", image_size=pre.size,
                               static_padding=options.static_padding)
        variants = [_Variant("fp32", info.path,
                             OnnxEmbedder(info.path, device="cpu", threads=options.threads))]
        lap("onnx")

        progress.step("Checking parity with torch on real photos")
        sample = parity_sample(_by_class(inputs.held, num), options.parity_images)
        if len(sample) < options.parity_images:
            sample += parity_sample(_by_class(inputs.split.train, num),
                                    options.parity_images - len(sample))
        with reads_as_errors(unchanged):
            parity = check_parity(ckpt.model, variants[0].embedder, sample, inputs.torch_pre,
                                  pre, min_cosine=options.min_parity)
        lap("parity")

        if options.quantize != "none":
            progress.step(f"Building the {options.quantize} model")
            target = work / f"{options.quantize}.onnx"
            if options.quantize == "int8":
                with reads_as_errors(unchanged):
                    calib = load_arrays(parity_sample(_by_class(inputs.split.train, num),
                                                      options.calibration_images),
                                        pre, workers=options.workers)
                with writing_scratch():
                    quantize_int8(info.path, target, calib)
            else:
                with writing_scratch():
                    convert_fp16(info.path, target)
            variants.append(_Variant(options.quantize, target,
                                     OnnxEmbedder(target, device="cpu", threads=options.threads)))
            lap("quantize")

        everything = ([s.path for s in inputs.split.train] + [s.path for s in inputs.held]
                      + sorted(set(inputs.d_cal) | set(inputs.d_eval)))
        progress.step(f"Embedding {counted(len(everything), 'photo')} through "
                      f"{' and '.join(v.precision for v in variants)}")
        progress.stage("embedding", len(everything))
        with reads_as_errors(unchanged):
            embedded = embed_photos({v.precision: v.embedder for v in variants}, everything,
                                    pre, batch_size=options.batch_size,
                                    workers=options.workers, on_batch=progress.advance)
        notes = ([f"skipped {counted(len(embedded.bad), 'photo')} that could not be decoded "
                  f"(first: {embedded.bad[0][0]}: {embedded.bad[0][1]})."]
                 if embedded.bad else [])
        lap("embed")

        progress.step("Prototypes, threshold and metrics")
        rows = _rows(inputs, embedded)
        with reads_as_errors(unchanged):
            bench = load_arrays([s.path for s in inputs.held[:32]], pre,
                                workers=options.workers)
        measured: dict[str, _Measured] = {}
        comparison: dict[str, dict[str, Any]] = {}
        for variant in variants:
            reference = measured["fp32"].report if measured else None
            result, drop = _measure(variant, embedded.vectors[variant.precision], rows, inputs,
                                    options, bench, reference)
            measured[variant.precision] = result
            comparison[variant.precision] = result.report.to_json()
            if drop is not None:
                comparison[variant.precision]["top1_drop_points"] = round(drop, 3)
        lap("evaluate")

        shipped = variants[-1]
        ship = measured[shipped.precision]
        warnings = [w for w in (too_few_distractors(ship.calibration, options),) if w]
        metrics = _jsonable({
            "evaluated_on": f"{inputs.held_name} split",
            **ship.metrics,
            "calibration": ship.calibration.to_json(),
            "parity": parity.to_json(),
            "variants": comparison,
            "prototypes": ship.table.summary(num),
            "unreadable_photos": len(embedded.bad),
            **({"unseen_floor": options.threshold_floor} if options.threshold_floor else {}),
        })
        progress.step(f"Writing the bundle to {options.out}")
        with refusals_as_errors(f"the bundle {out}", out.parent, unchanged):
            bundle = write_bundle(
                Path(options.out),
                model_file=shipped.path,
                landmarks=inputs.landmarks,
                prototypes=ship.table.vectors,
                prototype_landmark=ship.table.owner,
                preprocess=pre,
                threshold=ship.calibration.threshold,
                name=options.name or _default_name(ckpt, num),
                precision=shipped.precision,
                calibration=ship.calibration.to_calibration(),
                metrics=metrics,
                provenance=_jsonable(_provenance(inputs, options)),
                overwrite=options.overwrite,
            )
        lap("write")

    report = {
        "bundle": str(bundle.path),
        "name": bundle.name,
        "bundle_id": bundle.bundle_id,
        "model_id": bundle.model_id,
        "precision": bundle.precision,
        "size_bytes": ship.report.size_bytes,
        "threshold": bundle.threshold,
        "metrics": metrics,
        "timings_s": timings | {"total": round(sum(timings.values()), 2)},
        "notes": notes,
        "warnings": warnings,
    }
    return ExportResult(bundle=bundle, report=_jsonable(report), notes=notes,
                        warnings=warnings)


def _default_name(ckpt: Any, num: int) -> str:
    run = ckpt.path.parent.name or "photolm"
    return (f"{run} ({ckpt.config.backbone}, {ckpt.config.image_size}px, "
            f"{counted(num, 'landmark')})")
