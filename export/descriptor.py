# SPDX-License-Identifier: GPL-3.0-or-later
"""Graft a generic place descriptor onto a bundle's ONNX graph, as its second output.

Fine-tuning on 46 landmarks makes the embedding name those landmarks well and forget what the
ImageNet backbone knew about places in general, so enrolling a place the model never saw works
far better on ImageNet features (issue 13). The descriptor branch is the ImageNet-pretrained
backbone's later stages, pooled and whitened; it starts from the fine-tuned graph's output of
the frozen stages (stem and the first ``--freeze-stages`` stages are bit-for-bit ImageNet),
so the early high-resolution stages run once for both outputs. The branch's weights are stored
as float16 initialisers behind Cast nodes, which onnxruntime folds once at session load: half
the bytes on disk, float32 arithmetic at run time.

Whitening is learnt on photos of the *known* landmarks only (never on the unseen ones it is
measured on), and the enrolment threshold is calibrated on non-landmark photos against
prototypes enrolled from a few photos of known landmarks, as ``photolm learn`` will make them.
``photolm learn``'s thresholds by example count (``metrics.enrolment``) are measured on the
same photos, half of the known landmarks learned and the other half as places nobody taught
(:mod:`export.learned_thresholds`), so a bundle no one measured further learns in the fused
space too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photolm.wording import counted


@dataclass(frozen=True)
class Whitening:
    """x -> normalise((x - mean) @ projection): PCA-whitening learnt on known landmarks."""

    mean: np.ndarray  # (C,)
    projection: np.ndarray  # (C, G)

    def apply(self, x: np.ndarray) -> np.ndarray:
        out = (np.asarray(x, dtype=np.float64) - self.mean) @ self.projection
        return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
                ).astype(np.float32)


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def learn_whitening(features: np.ndarray, dim: int, shrink: float = 0.0) -> Whitening:
    """PCA-whitening of L2-normalised ``features`` to ``dim`` components.

    ``shrink`` adds that share of the mean eigenvalue before the inverse square root, so
    near-empty directions are not blown up (0: plain whitening).
    """
    x = unit_rows(features)
    mean = x.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((x - mean).T))
    order = np.argsort(values)[::-1][:dim]
    values, vectors = values[order], vectors[:, order]
    values = np.maximum(values, 1e-12) + shrink * float(values.mean())
    return Whitening(mean=mean, projection=vectors / np.sqrt(values))


def enrolment_threshold(
    known: np.ndarray, labels: Sequence[str], negatives: np.ndarray, *, shots: int = 5,
    target_fpr: float = 0.01, draws: int = 10, seed: int = 0,
) -> float:
    """Cosine threshold with ``target_fpr`` of ``negatives`` matching a place enrolled from
    ``shots`` photos: each draw enrols every known landmark from ``shots`` random photos of it
    (mean of unit rows), and the threshold is the median over draws of the negatives'
    (1 - target_fpr) quantile of their best score."""
    rng = np.random.default_rng(seed)
    labels_arr = np.asarray(labels)
    classes = sorted(set(labels_arr.tolist()))
    cuts = []
    for _ in range(draws):
        protos = []
        for name in classes:
            rows = np.flatnonzero(labels_arr == name)
            pick = rng.choice(rows, min(shots, len(rows)), replace=False)
            protos.append(unit_rows(known[pick].mean(axis=0, keepdims=True))[0])
        best = (negatives @ np.stack(protos).T).max(axis=1)
        cuts.append(float(np.quantile(best, 1.0 - target_fpr)))
    return float(np.median(cuts))


# --------------------------------------------------------------------------- the graph

DESCRIPTOR_NAME = "descriptor"
BACKBONE = "tf_efficientnet_lite0"
METHOD = ("ImageNet tf_efficientnet_lite0 (not fine-tuned), last-stage output (320 channels) "
          "mean-pooled, L2-normalised")


def _imagenet_backbone(image_size: int) -> Any:
    """The ImageNet lite0 with constant "same" padding for ``image_size`` (as export does)."""
    from export.onnx_export import freeze_same_padding
    from trainer.weights import create_backbone

    backbone = create_backbone(BACKBONE, pretrained=True, exportable=True).eval()
    freeze_same_padding(backbone, image_size)
    return backbone


def _branch(backbone: Any, start_stage: int, last_stage: int) -> Any:
    """trunk features (or, from stage 0, images) -> ImageNet stages -> mean pool -> L2 norm.

    Built here rather than at module level so torch is imported only when a graft is made.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Branch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = (nn.Sequential(backbone.conv_stem, backbone.bn1)
                         if start_stage == 0 else nn.Identity())
            self.blocks = nn.Sequential(*backbone.blocks[start_stage:last_stage + 1])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pooled = self.blocks(self.stem(x)).mean(dim=(2, 3))
            return F.normalize(pooled, p=2.0, dim=1, eps=1e-12)

    return Branch().eval()


def reference_descriptors(images: np.ndarray, image_size: int) -> np.ndarray:
    """The descriptor computed in torch from the images: what the grafted graph must give."""
    import torch

    backbone = _imagenet_backbone(image_size)
    branch = _branch(backbone, 0, len(backbone.blocks) - 1)
    with torch.no_grad():
        return branch(torch.from_numpy(np.asarray(images, dtype=np.float32))).numpy()


def _shared_trunk(model: Any, backbone: Any, image_size: int) -> tuple[str, int] | None:
    """(tensor name, stages) of the deepest stage output of the bundle's graph that is still
    the ImageNet backbone's (the frozen stages of a fine-tuned model), or None."""
    import onnx
    import onnxruntime as ort
    import torch

    names = [o for n in model.graph.node for o in n.output]
    last = {}
    for name in names:  # torch.onnx names nodes /model/blocks/blocks.S/blocks.S.I/...
        parts = name.split("/")
        if len(parts) > 3 and parts[2] == "blocks" and parts[3].startswith("blocks."):
            last[int(parts[3].split(".")[1])] = name
    if not last:
        return None
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    for stage in sorted(last):
        probe.graph.output.append(onnx.helper.make_tensor_value_info(
            last[stage], onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((2, 3, image_size, image_size)).astype(
        np.float32)
    outs = session.run(None, {model.graph.input[0].name: x})
    shared = None
    with torch.no_grad():
        feat = backbone.bn1(backbone.conv_stem(torch.from_numpy(x)))
        for i, stage in enumerate(sorted(last)):
            if stage != i:
                break
            feat = backbone.blocks[stage](feat)
            ref = feat.numpy()
            if outs[i].shape != ref.shape or np.abs(outs[i] - ref).max() > 1e-3 * max(
                    1.0, float(np.abs(ref).max())):
                break
            shared = (last[stage], stage + 1)
    return shared


def _fp16_initialisers(graph: Any, prefix: str) -> int:
    """Store ``prefix``-ed float32 initialisers as float16 behind a Cast (folded at load)."""
    import onnx
    from onnx import numpy_helper

    saved = 0
    casts = []
    for init in list(graph.initializer):
        if not init.name.startswith(prefix) or init.data_type != onnx.TensorProto.FLOAT:
            continue
        array = numpy_helper.to_array(init)
        if array.size < 64:
            continue
        half = numpy_helper.from_array(array.astype(np.float16), init.name + "_fp16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(onnx.helper.make_node("Cast", [half.name], [init.name],
                                           to=onnx.TensorProto.FLOAT,
                                           name=init.name + "_cast"))
        saved += array.size * 2
    for node in reversed(casts):
        graph.node.insert(0, node)
    return saved


def _drop_descriptor(model: Any) -> None:
    """Remove a descriptor branch an earlier graft added (everything under "descriptor/")."""
    graph = model.graph
    prefix = "descriptor/"
    for output in [o for o in graph.output if o.name == DESCRIPTOR_NAME]:
        graph.output.remove(output)
    for node in [n for n in graph.node if any(o.startswith(prefix) or o == DESCRIPTOR_NAME
                                              for o in n.output)]:
        graph.node.remove(node)
    for init in [i for i in graph.initializer if i.name.startswith(prefix)]:
        graph.initializer.remove(init)


@dataclass(frozen=True)
class GraftInfo:
    shared_stages: int  # backbone stages (after the stem) computed once for both outputs
    dim: int
    fp16_bytes_saved: int


def graft_descriptor(model_in: Any, model_out: Any, *, image_size: int,
                     fp16: bool = True) -> GraftInfo:
    """Write ``model_in`` with the descriptor branch added as the output ``descriptor``."""
    import io
    import warnings

    import onnx
    import torch

    model = onnx.load(str(model_in))
    _drop_descriptor(model)  # re-grafting replaces the branch instead of doubling it
    backbone = _imagenet_backbone(image_size)
    shared = _shared_trunk(model, backbone, image_size)
    start = shared[1] if shared else 0
    branch = _branch(backbone, start, len(backbone.blocks) - 1)
    with torch.no_grad():
        x = torch.zeros(2, 3, image_size, image_size)
        trunk = backbone.blocks[:start](backbone.bn1(backbone.conv_stem(x))) if start else x
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        kwargs: dict[str, Any] = {"opset_version": 17, "input_names": ["trunk"],
                                  "output_names": [DESCRIPTOR_NAME],
                                  "dynamic_axes": {"trunk": {0: "batch"},
                                                   DESCRIPTOR_NAME: {0: "batch"}},
                                  "do_constant_folding": True}
        import inspect

        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            kwargs["dynamo"] = False
        torch.onnx.export(branch, (trunk,), buffer, **kwargs)
    part = onnx.compose.add_prefix(onnx.load_from_string(buffer.getvalue()), "descriptor/")
    source = shared[0] if shared else model.graph.input[0].name
    for node in part.graph.node:
        node.input[:] = [source if name == "descriptor/trunk" else name for name in node.input]
    out = part.graph.output[0]
    out.name = DESCRIPTOR_NAME
    for node in part.graph.node:
        node.output[:] = [DESCRIPTOR_NAME if n == "descriptor/" + DESCRIPTOR_NAME else n
                          for n in node.output]
    dim = int(branch(trunk).shape[1])
    out.type.tensor_type.shape.dim[1].Clear()
    out.type.tensor_type.shape.dim[1].dim_value = dim
    model.graph.node.extend(part.graph.node)
    model.graph.initializer.extend(part.graph.initializer)
    model.graph.output.append(out)
    saved = _fp16_initialisers(model.graph, "descriptor/") if fp16 else 0
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(model_out))
    return GraftInfo(shared_stages=start, dim=dim, fp16_bytes_saved=saved)


# --------------------------------------------------------------------------- the bundle

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def _photos(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def describe_photos(embedder: Any, paths: Sequence[Path | str], pre: Any,
                    failed: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(descriptors, fine-tuned embeddings) of the photos that decode (undecodable ones are
    left out, and added to ``failed`` when given): the graph gives both in one pass."""
    from export.embedding import decoded_batches
    from photolm.runtime import embed_all

    desc: list[np.ndarray] = []
    emb: list[np.ndarray] = []
    for start, items in decoded_batches([str(p) for p in paths], pre, batch_size=32):
        if failed is not None:
            failed += [str(paths[start + i]) for i, (a, _) in enumerate(items) if a is None]
        arrays = [a for a, _ in items if a is not None]
        if arrays:
            both = embed_all(embedder, np.stack(arrays))
            desc.append(both.descriptor)  # type: ignore[arg-type]
            emb.append(both.embedding)
    if not desc:
        return np.zeros((0, 1), dtype=np.float32), np.zeros((0, 1), dtype=np.float32)
    return np.concatenate(desc), np.concatenate(emb)


def bundle_positions(bundle: Any, classes: Sequence[Any]) -> list[int | None]:
    """Each discovered class's position among the bundle's landmarks (``None``: not one of
    them): by its id, or the id an earlier rule gave its name (a bundle made before Latin
    spellings has "resund-bridge" for "Øresund Bridge"), then by name (one from before
    non-Latin names kept their letters has "unnamed")."""
    from trainer.data import class_ids

    by_id = {lm.id: i for i, lm in enumerate(bundle.landmarks)}
    by_name = {lm.name: i for i, lm in enumerate(bundle.landmarks)}
    return [next((by_id[i] for i in (info.id, *class_ids(info.name)) if i in by_id),
                 by_name.get(info.name)) for info in classes]


def prototype_photos(bundle: Any, known: Sequence[Path], per_landmark: int,
                     rng: np.random.Generator) -> tuple[list[str], list[int]]:
    """The photos (and their landmark positions) the descriptor prototypes are made of:
    ``per_landmark`` drawn from each landmark's photos less the bundle's held-out split.
    The gate calibration (export/gate.py) reruns this to keep them out of its positives."""
    from trainer.data import discover

    index = discover(list(known))
    samples = index.samples
    config = bundle.provenance.get("config") or {}
    if "holdout_ratio" in config:  # keep the bundle's held-out photos out, as export does
        from trainer.data import split_dataset

        split = split_dataset(index, val_ratio=config["val_ratio"],
                              holdout_ratio=config["holdout_ratio"], seed=config["seed"])
        samples = [*split.train, *split.val]
    chosen: list[str] = []
    owners: list[int] = []
    for label, owner in enumerate(bundle_positions(bundle, index.classes)):
        if owner is None:
            continue
        paths = sorted(s.path for s in samples if s.label == label)
        pick = rng.choice(len(paths), min(per_landmark, len(paths)), replace=False)
        chosen += [str(paths[i]) for i in sorted(pick)]
        owners += [owner] * len(pick)
    missing = sorted(set(range(len(bundle.landmarks))) - set(owners))
    if missing:
        from export.errors import ExportError

        names = ", ".join(bundle.landmarks[i].name for i in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        trained = (bundle.provenance.get("data") or {}).get("roots") or []
        hint = (" (it was trained on " + ", ".join(map(str, trained)) + ")") if trained else ""
        raise ExportError(f"No photos of {counted(len(missing), 'landmark')} of the bundle "
                          f"({names}{more}) in {', '.join(map(str, known))}: pass every "
                          f"folder the bundle was trained on with --known{hint}.")
    return chosen, owners


def negative_photos(negatives: Sequence[Path]) -> list[Path]:
    """The photos of the ``--negatives`` folders; a folder that is missing or holds none is
    refused in one line (two halves are made of them: one sets, one measures)."""
    from export.errors import ExportError

    found: list[Path] = []
    for root in negatives:
        if not Path(root).is_dir():
            raise ExportError(f"--negatives {root} does not exist or is not a folder.")
        photos = _photos(root)
        if not photos:
            raise ExportError(f"--negatives {root} holds no photos "
                              f"({', '.join(IMAGE_SUFFIXES)}).")
        found += photos
    if len(found) < 2:
        raise ExportError("--negatives holds 1 photo; give at least 2 photos without "
                          "landmarks (one half sets the threshold, the other measures it).")
    return found


# Manifest metrics measured with a bundle's descriptor (learn's thresholds, the places values,
# the descriptor gate's record): a new graft makes them stale, so it drops them and the build
# measures them again (scripts/build_default_model.sh: the gate and enrol stages). learn's
# thresholds it measures itself on the training landmarks (learned_table), so a bundle no one
# measures further still learns in the fused space.
MEASURED_WITH_DESCRIPTOR = ("enrolment", "places", "descriptor_gate")


def remeasure_commands(dropped: Sequence[str], bundle: Path, known: Sequence[Path],
                       negatives: Sequence[Path]) -> list[str]:
    """The commands that measure the ``dropped`` metrics (keys of
    :data:`MEASURED_WITH_DESCRIPTOR`) again for ``bundle``, in the build script's order (the
    gate, then learn's thresholds and the places values), as a person can paste them from
    the repository root; the gate on the photos this graft was given."""
    import shlex

    def q(path: Path) -> str:
        return shlex.quote(str(path))

    commands = []
    if "descriptor_gate" in dropped:
        commands.append(" ".join(["python -m export.gate", q(bundle),
                                  *(f"--known {q(k)}" for k in known),
                                  *(f"--negatives {q(n)}" for n in negatives)]))
    flags = [flag for key, flag in (("enrolment", "--write-thresholds"),
                                    ("places", "--write-places")) if key in dropped]
    if flags:
        only = ["--places-only"] if flags == ["--write-places"] else []  # no enrolment run
        commands.append(" ".join(["python scripts/eval_enrolment.py --model", q(bundle),
                                  *only, *flags]))
    return commands


def learned_table(descriptors: np.ndarray, embeddings: np.ndarray, owners: Sequence[int],
                  negatives: tuple[np.ndarray, np.ndarray], *, seed: int = 0
                  ) -> dict[str, Any] | None:
    """``metrics.enrolment`` for this network, measured on the photos of the landmarks it
    was trained on (half learned, the other half as places nobody taught, draws of the
    halves) and on non-landmark photos (``negatives``: descriptors, embeddings), in the space
    photolm then learns in (fused); ``None`` when fewer than two landmarks have two photos
    each (nothing to leave out), and photolm learns in the fine-tuned embedding."""
    from export.learned_thresholds import (
        NON_LANDMARK_RATE,
        TRAINING_DRAWS,
        TRAINING_OTHER_PLACES_RATE,
        can_split,
        training_table,
    )
    from photolm import enrol
    from photolm.learned import FUSED, enrolment_record

    labels = np.asarray(owners)
    if not can_split(labels) or not len(negatives[0]):
        return None
    table = training_table(enrol.fused(descriptors, embeddings), labels,
                           enrol.fused(*negatives), FUSED, fpr=NON_LANDMARK_RATE,
                           other_places_rate=TRAINING_OTHER_PLACES_RATE,
                           draws=TRAINING_DRAWS, seed=seed)
    landmarks = int(np.unique(labels).size)
    return enrolment_record(
        {FUSED: table}, TRAINING_OTHER_PLACES_RATE,
        f"each k tags at most {NON_LANDMARK_RATE:.2%} of the calibration half of the "
        f"non-landmark photos and names at most {TRAINING_OTHER_PLACES_RATE:.1%} of the "
        f"photos of the other half of the {landmarks} training landmarks with one half "
        f"learned ({TRAINING_DRAWS} draws of the halves; export.descriptor, "
        "export/learned_thresholds.py), made non-decreasing in k")


def add_descriptor(
    bundle: Any, out_dir: Path, *, known: Sequence[Path], negatives: Sequence[Path],
    per_landmark: int = 25, target_fpr: float = 0.01, seed: int = 0,
) -> Any:
    """Rewrite ``bundle`` (as :func:`photolm.bundle.read_bundle` read it; the caller's one
    read, which also tells it what the graft drops) into ``out_dir`` with the descriptor
    output.

    ``known``: the labelled folders the bundle's landmarks came from (their photos, less the
    bundle's held-out split, give the shipped landmarks' descriptor prototypes and the
    enrolment threshold's positives);
    ``negatives``: folders of non-landmark photos, split in two halves by ``seed``: one sets
    the threshold, the other measures its false-positive rate.
    """
    import tempfile

    from photolm.bundle import Descriptor, write_bundle
    from photolm.runtime import OnnxEmbedder

    negative_paths = negative_photos(negatives)
    rng = np.random.default_rng(seed)
    chosen, owners = prototype_photos(bundle, known, per_landmark, rng)
    order = rng.permutation(len(negative_paths))
    calibrate = [negative_paths[i] for i in order[::2]]
    held_out = [negative_paths[i] for i in order[1::2]]

    with tempfile.TemporaryDirectory(dir=Path(out_dir).parent) as work:
        model = Path(work) / "model.onnx"
        info = graft_descriptor(bundle.model_path, model, image_size=bundle.preprocess.size)
        embedder = OnnxEmbedder(model, input_name=bundle.input_name,
                                output_name=bundle.output_name,
                                descriptor_name=DESCRIPTOR_NAME, device="cpu")
        unreadable: list[str] = []
        known_desc, known_emb = describe_photos(embedder, chosen, bundle.preprocess,
                                                unreadable)
        if unreadable:  # left out, as trainer fit and photolm-export leave them out
            gone = set(unreadable)
            owners = [o for p, o in zip(chosen, owners, strict=True) if p not in gone]
            chosen = [p for p in chosen if p not in gone]
            lost = sorted(set(range(len(bundle.landmarks))) - set(owners))
            if lost:
                from export.errors import ExportError

                raise ExportError(
                    f"No photo of {', '.join(bundle.landmarks[i].name for i in lost[:5])} in "
                    f"--known could be read ({', '.join(unreadable[:3])}"
                    f"{', ...' if len(unreadable) > 3 else ''}); replace them with photos "
                    "that open.")
        cal, cal_emb = describe_photos(embedder, calibrate, bundle.preprocess)
        test, _ = describe_photos(embedder, held_out, bundle.preprocess)
        if not len(cal) or not len(test):
            from export.errors import ExportError

            raise ExportError("Too few of the --negatives photos could be decoded to set the "
                              "threshold and measure it; add photos without landmarks.")
        labels = [str(o) for o in owners]
        threshold = enrolment_threshold(known_desc, labels, cal, target_fpr=target_fpr,
                                        seed=seed)
        held_fpr = _enrolled_fpr(known_desc, labels, test, threshold, seed=seed)
        owner_arr = np.asarray(owners)
        prototypes = np.stack([unit_rows(known_desc[owner_arr == i].mean(0, keepdims=True))[0]
                               for i in range(len(bundle.landmarks))])
        metrics = {
            "method": METHOD, "dim": info.dim, "shared_stages": info.shared_stages,
            "weights": "float16 initialisers, Cast to float32 at load",
            "threshold": threshold, "target_fpr": target_fpr, "shots": 5,
            "calibration_negatives": len(cal), "held_out_negatives": len(test),
            "held_out_fpr": held_fpr, "prototype_photos": len(chosen),
            "per_landmark": per_landmark, "unreadable_photos": unreadable,
        }
        enrolment = learned_table(known_desc, known_emb, owners, (cal, cal_emb), seed=seed)
        kept = {k: v for k, v in bundle.metrics.items() if k not in MEASURED_WITH_DESCRIPTOR}
        return write_bundle(
            out_dir, model_file=model, landmarks=bundle.landmarks,
            prototypes=bundle.prototypes, prototype_landmark=bundle.prototype_landmark,
            preprocess=bundle.preprocess, threshold=bundle.threshold, name=bundle.name,
            input_name=bundle.input_name, output_name=bundle.output_name,
            precision=bundle.precision, calibration=bundle.calibration,
            metrics={**kept, "descriptor": metrics,
                     **({"enrolment": enrolment} if enrolment else {})},
            provenance={**bundle.provenance, "descriptor": {
                "known": [str(Path(p)) for p in known],
                "negatives": [str(Path(p)) for p in negatives], "seed": seed}},
            overwrite=True,
            descriptor=Descriptor(DESCRIPTOR_NAME, info.dim, threshold, METHOD),
            descriptor_prototypes=prototypes, descriptor_prototype_landmark=np.arange(
                len(bundle.landmarks)),
        )


def _enrolled_fpr(known: np.ndarray, labels: Sequence[str], negatives: np.ndarray,
                  threshold: float, *, shots: int = 5, draws: int = 10, seed: int = 0) -> float:
    """Share of ``negatives`` matching some place enrolled from ``shots`` photos, averaged
    over draws (the same enrolment as :func:`enrolment_threshold`)."""
    rng = np.random.default_rng(seed + 1)
    labels_arr = np.asarray(labels)
    rates = []
    for _ in range(draws):
        protos = []
        for name in sorted(set(labels_arr.tolist())):
            rows = np.flatnonzero(labels_arr == name)
            pick = rng.choice(rows, min(shots, len(rows)), replace=False)
            protos.append(unit_rows(known[pick].mean(axis=0, keepdims=True))[0])
        rates.append(float(((negatives @ np.stack(protos).T).max(axis=1) >= threshold).mean()))
    return float(np.mean(rates))


# --------------------------------------------------------------------------- command line

def _summary(path: Path, measured: dict[str, Any]) -> str:
    """The graft in one line, for a person (``--json`` gives a script all of it)."""
    shared = measured.get("shared_stages", 0)
    held = measured.get("held_out_fpr")
    return (f"Descriptor added to {path}: {measured.get('dim')} values"
            + (f", {counted(shared, 'backbone stage')} shared with the model" if shared else "")
            + f"; threshold {measured.get('threshold', float('nan')):.3f} for "
            f"{measured.get('target_fpr', float('nan')):.1%} of non-landmark photos"
            + (f" ({held:.1%} of {counted(measured.get('held_out_negatives', 0), 'held-out one')}"
               " pass it)." if held is not None else "."))


def main(argv: list[str] | None = None) -> None:
    """``python -m export.descriptor BUNDLE --out OUT --known DIR... --negatives DIR...``."""
    import math
    import shlex

    import typer

    from export.bundle_arg import read_given_bundle
    from photolm.bundle import check_replaceable
    from photolm.cli.output import err, print_json, reporting
    from photolm.cli.usage import tool_app, tool_command

    app = tool_app()

    @tool_command(app)
    def add(
        bundle: Path = typer.Argument(..., metavar="BUNDLE", show_default=False,
                                      help="Bundle folder photolm-export wrote."),
        out: Path = typer.Option(..., "--out", "-o", help="Bundle folder to write (may be "
                                 "BUNDLE itself)."),
        known: list[Path] = typer.Option(..., "--known", help="Labelled folders of the "
                                         "bundle's landmarks (repeatable)."),
        negatives: list[Path] = typer.Option(..., "--negatives", help="Folders of "
                                             "non-landmark photos (repeatable)."),
        per_landmark: int = typer.Option(25, min=5, help="Photos per landmark for its "
                                         "descriptor prototype and the calibration."),
        target_fpr: float = typer.Option(0.01, min=0.0, max=0.5, help="False-positive "
                                         "rate the enrolment threshold is set for (0 to 0.5)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out when it is "
                                       "another bundle than BUNDLE."),
        json_out: bool = typer.Option(False, "--json", help="Print the result as JSON on "
                                      "stdout."),
    ) -> None:
        """Add the generic place descriptor to a bundle made by photolm-export, and measure
        on your landmarks' photos the thresholds photolm learn judges the places you teach it
        by. Run it after photolm-export, before photolm scan --model BUNDLE.

        Example: python -m export.descriptor my-bundle --out my-bundle --known
        ../shared/data/wonders --negatives ../shared/data/distractors
        """
        with reporting():
            source = read_given_bundle(bundle)
            if not (out.exists() and out.resolve() == source.path.resolve()):
                # in place is what the README does; any other existing folder is refused as
                # photolm-export refuses it, before the work rather than after it
                check_replaceable(out, overwrite=overwrite, flag="--overwrite")
            result = add_descriptor(source, out, known=known, negatives=negatives,
                                    per_landmark=per_landmark, target_fpr=target_fpr)
        stale = [k for k in MEASURED_WITH_DESCRIPTOR
                 if k in source.metrics and k not in result.metrics]
        enrolment = result.metrics.get("enrolment")
        measured = result.metrics["descriptor"]
        if json_out:
            print_json({"bundle": str(result.path), "descriptor": measured,
                        "enrolment": enrolment, "dropped": [f"metrics.{k}" for k in stale]})
        else:
            typer.echo(_summary(result.path, measured))
        calibration, rate = measured.get("calibration_negatives"), measured.get("target_fpr")
        if calibration and rate and calibration * rate < 1:  # as photolm-export warns
            err.print(f"warning: only {counted(calibration, 'non-landmark photo')} set the "
                      f"threshold, too few for a {rate:.1%} rate (that takes "
                      f"{math.ceil(1 / rate)} at least): it is about the highest of their "
                      "scores. Give more --negatives photos (half of them set it).",
                      markup=False, highlight=False, soft_wrap=True)
        unreadable = measured.get("unreadable_photos") or []
        if unreadable:
            err.print(f"warning: {counted(len(unreadable), 'landmark photo')} could not be "
                      f"read and {'was' if len(unreadable) == 1 else 'were'} left out: "
                      f"{', '.join(unreadable[:5])}{', ...' if len(unreadable) > 5 else ''}",
                      markup=False, highlight=False, soft_wrap=True)
        if enrolment:
            table = ", ".join(f"k={k}: {v:.3f}" for k, v in
                              next(iter(enrolment["thresholds"].values())).items())
            err.print(f"Thresholds for learned landmarks, measured on the training landmarks "
                      f"(metrics.enrolment): {table}.", markup=False, highlight=False)
        else:
            err.print("No thresholds for learned landmarks: they need two landmarks with two "
                      "photos each. photolm learn will judge learned landmarks in the "
                      "fine-tuned embedding at the bundle's threshold.",
                      markup=False, highlight=False)
        if stale:
            again = " then ".join(f"`{c}`" for c in remeasure_commands(stale, out, known,
                                                                       negatives))
            err.print(f"Dropped {', '.join(f'metrics.{k}' for k in stale)}: measured with the "
                      f"descriptor this graft replaced. Measure them again: {again} (from "
                      "the repository root).", markup=False, highlight=False, soft_wrap=True)
        err.print(f"Scan with it: photolm scan PHOTOS --model {shlex.quote(str(out))}",
                  markup=False, highlight=False, soft_wrap=True)

    app(args=argv, prog_name="python -m export.descriptor")


if __name__ == "__main__":
    main()
