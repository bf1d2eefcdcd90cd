# SPDX-License-Identifier: GPL-3.0-or-later
"""The model bundle: the one definition of what photolm loads and ``export`` writes.

A bundle is a folder::

    manifest.json     format + version, checksums, preprocessing, threshold, provenance
    model.onnx        image batch (N, 3, H, W) float32 -> L2-normalised embeddings (N, D)
                      [and, optionally, a second output: generic descriptors (N, G)]
    prototypes.npz    ``vectors`` (P, D) float32 unit rows, ``landmark_index`` (P,) int32
                      [optional: ``descriptor_vectors`` (Q, G), ``descriptor_landmark_index``]
    landmarks.json    one record per landmark: id, name, aliases, city, country, lat, lon

Why a folder of plain files rather than one archive: the ONNX model can be memory-mapped by
onnxruntime, the JSON is readable by people, and nothing in it needs pickle (``np.load`` runs
with ``allow_pickle=False``). Both the producer (``export``) and the consumer (``photolm``) go
through :func:`write_bundle` and :func:`read_bundle`, so the format cannot drift.

The optional *descriptor* is a second output of the same ONNX graph: a generic place
descriptor that was not fine-tuned on the shipped landmarks, so it keeps what the ImageNet
backbone knows about places it never saw. The fine-tuned embedding names the shipped
landmarks; the descriptor is what enrolment of a user's own places (``photolm learn``) and
grouping of unnamed places compare. One network pass gives both. Bundles without one still
read (``Bundle.descriptor`` is ``None``), and photolm versions that predate it ignore it.

Values measured for one network travel in its manifest, so a retrained or re-exported
network does not silently get another's: the enrolment thresholds
(``metrics.enrolment.thresholds``) and the places cuts and likeness bar (``metrics.places``,
:class:`PlaceValues`, validated here). A bundle without them gets the values photolm measured
for the shipped network.

Every file is listed in the manifest with its sha256; reading verifies them all and refuses a
file name that would step outside the bundle folder.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photolm.bundle_records import (
    MAX_INPUT_SIDE,
    Bundle,
    Calibration,
    Descriptor,
    Landmark,
    PlaceValues,
    Preprocess,
)
from photolm.errors import BundleError
from photolm.filemodes import make_staged_folder
from photolm.printed_paths import printed
from photolm.wording import counted

if TYPE_CHECKING:  # numpy is imported where used: `photolm search` needs Landmark, not numpy
    import numpy as np

__all__ = [
    "MAX_INPUT_SIDE", "Bundle", "Calibration", "Descriptor", "Landmark", "PlaceValues",
    "Preprocess", "load_bundle", "read_bundle", "resolve_bundle_path", "rewrite_bundle",
    "write_bundle",
]

FORMAT_NAME = "photolm-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MODEL_FILE = "model.onnx"
PROTOTYPES_FILE = "prototypes.npz"
LANDMARKS_FILE = "landmarks.json"
ENV_MODEL = "PHOTOLM_MODEL"
_UNIT_TOLERANCE = 1e-3

def bundle_id(manifest: bytes) -> str:
    """A bundle's id: the sha256 of its manifest's bytes. The manifest holds every member's
    checksum, so the id changes with any file of the bundle; a catalogue keys results by it."""
    return hashlib.sha256(manifest).hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, streamed so a large model never sits in memory twice."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _safe_member(root: Path, name: object) -> Path:
    """Resolve a file named in the manifest, refusing anything outside the bundle folder."""
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise BundleError(f"Bundle {printed(root)} names an invalid file {name!r}; re-export it.")
    if "/" in name or "\\" in name or os.path.isabs(name) or name.startswith(".."):
        raise BundleError(
            f"Bundle {printed(root)} refers to {name!r}, outside its folder; refusing to load it."
        )
    member = (root / name).resolve()
    if member.parent != root.resolve():
        raise BundleError(f"Bundle {printed(root)} refers to {name!r}, outside its folder; "
                          "refusing it.")
    return member


def _normalise_rows(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms == 0) or not np.all(np.isfinite(vectors)):
        raise BundleError("Prototype vectors must be finite and non-zero.")
    return (vectors / norms).astype(np.float32)


def _holds(path: Path, given: Mapping[str, np.ndarray],
           tables: Mapping[str, np.ndarray]) -> bool:
    """Does the prototypes file ``path`` hold exactly the ``given`` tables (same names,
    dtypes, bits), each within rounding of what :func:`write_bundle` would store?"""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as stored:
            if set(stored.files) != set(given):
                return False
            for key, value in given.items():
                kept = stored[key]
                if kept.dtype != value.dtype or not np.array_equal(kept, value):
                    return False
                if not np.allclose(kept, tables[key], rtol=0, atol=_UNIT_TOLERANCE):
                    return False
    except (OSError, ValueError):
        return False
    return True


def check_replaceable(out_dir: Path, *, overwrite: bool, flag: str = "overwrite=True") -> None:
    """Refuse an ``out_dir`` that a bundle may not be written to: anything that exists
    without ``overwrite`` (``flag``: how the caller's user allows it), and, with it, anything
    but a bundle folder or an empty folder.

    Writing a bundle deletes what was at ``out_dir``; an overwrite flag with a mistyped
    output (the run folder, a photo folder, a file) must not delete it. :func:`write_bundle`
    checks first, before any work; a producer whose bundle comes at the end of long work
    (``photolm-export``) calls it before that work too, so its user hears it at once.
    """
    out_dir = Path(out_dir)
    if not out_dir.exists():
        return
    if not overwrite:
        raise BundleError(f"{printed(out_dir)} already exists; pass {flag} to replace it.")
    if not out_dir.is_dir():
        raise BundleError(f"{printed(out_dir)} is a file, not a bundle folder; refusing to replace "
                          "it.")
    if (out_dir / MANIFEST).is_file() or not any(out_dir.iterdir()):
        return
    raise BundleError(f"{printed(out_dir)} is a folder but not a model bundle (no {MANIFEST}); "
                      "refusing to replace it: choose another output folder.")


def write_bundle(
    out_dir: Path,
    *,
    model_file: Path,
    landmarks: Sequence[Landmark],
    prototypes: np.ndarray,
    prototype_landmark: Sequence[int] | np.ndarray,
    preprocess: Preprocess,
    threshold: float,
    name: str,
    input_name: str = "images",
    output_name: str = "embeddings",
    precision: str = "fp32",
    calibration: Calibration | None = None,
    metrics: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    descriptor: Descriptor | None = None,
    descriptor_prototypes: np.ndarray | None = None,
    descriptor_prototype_landmark: Sequence[int] | np.ndarray | None = None,
    tables_file: Path | None = None,
) -> Bundle:
    """Write a bundle folder atomically (staged beside ``out_dir``, then renamed into place).

    Prototype rows are re-normalised here so a producer cannot ship vectors the runtime
    would score wrongly. ``tables_file``: a bundle's prototypes file that may hold exactly
    the tables given (:func:`rewrite_bundle`); when it does, it is copied byte for byte, so
    an unchanged table keeps its bytes and checksum (normalising unit rows again would move
    their last bits). The places values measured for this network travel in ``metrics``
    as ``metrics["places"]`` (:meth:`PlaceValues.to_json`), their one way into the manifest;
    they are checked here. Returns the bundle as :func:`read_bundle` sees it, which doubles
    as a round-trip check of what was just written.
    """
    import numpy as np

    out_dir = Path(out_dir)
    check_replaceable(out_dir, overwrite=overwrite)  # before any work: nothing to undo
    vectors = _normalise_rows(np.asarray(prototypes, dtype=np.float32))
    owners = np.asarray(prototype_landmark, dtype=np.int32)
    if vectors.ndim != 2 or owners.shape != (vectors.shape[0],):
        raise BundleError("prototypes must be (P, D) with one landmark index per row.")
    if len(landmarks) == 0:
        raise BundleError("A bundle needs at least one landmark.")
    if owners.min() < 0 or owners.max() >= len(landmarks):
        raise BundleError("prototype_landmark refers to a landmark that does not exist.")
    missing = set(range(len(landmarks))) - set(owners.tolist())
    if missing:
        raise BundleError(f"{counted(len(missing), 'landmark', 'has')} no prototype vector.")
    ids = [lm.id for lm in landmarks]
    if len(set(ids)) != len(ids):
        raise BundleError("Landmark ids must be unique.")
    if not (-1.0 <= float(threshold) <= 1.0) or math.isnan(float(threshold)):
        raise BundleError(f"Threshold {threshold} is not a cosine similarity in [-1, 1].")
    tables: dict[str, np.ndarray] = {"vectors": vectors, "landmark_index": owners}
    given: dict[str, np.ndarray] = {"vectors": np.asarray(prototypes, dtype=np.float32),
                                    "landmark_index": owners}
    if descriptor is not None and descriptor_prototypes is not None:
        given["descriptor_vectors"] = np.asarray(descriptor_prototypes, dtype=np.float32)
        dvec = _normalise_rows(given["descriptor_vectors"])
        downers = np.asarray(descriptor_prototype_landmark, dtype=np.int32)
        given["descriptor_landmark_index"] = downers
        if dvec.ndim != 2 or dvec.shape[1] != descriptor.dim or downers.shape != (len(dvec),):
            raise BundleError("descriptor prototypes must be (Q, descriptor dim) with one "
                              "landmark index per row.")
        if downers.size and (downers.min() < 0 or downers.max() >= len(landmarks)):
            raise BundleError("descriptor_prototype_landmark refers to a missing landmark.")
        tables.update(descriptor_vectors=dvec, descriptor_landmark_index=downers)
    elif descriptor_prototypes is not None:
        raise BundleError("descriptor prototypes need a descriptor.")
    metrics = dict(metrics or {})
    if metrics.get("places") is not None:  # refused here, not after the folder is replaced
        PlaceValues.from_json(metrics["places"])

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # not mkdtemp's 0700: a bundle serves every user of the machine
    stage = make_staged_folder(out_dir.parent, prefix=f".{out_dir.name}.")
    try:
        shutil.copyfile(model_file, stage / MODEL_FILE)
        if tables_file is not None and _holds(tables_file, given, tables):
            shutil.copyfile(tables_file, stage / PROTOTYPES_FILE)
        else:
            with open(stage / PROTOTYPES_FILE, "wb") as handle:
                np.savez(handle, **tables)  # type: ignore[arg-type]
        (stage / LANDMARKS_FILE).write_text(
            json.dumps([lm.to_json() for lm in landmarks], ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "name": name,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": {
                role: {"path": fname, "sha256": sha256_file(stage / fname)}
                for role, fname in (
                    ("model", MODEL_FILE),
                    ("prototypes", PROTOTYPES_FILE),
                    ("landmarks", LANDMARKS_FILE),
                )
            },
            "model": {
                "input_name": input_name,
                "output_name": output_name,
                "embedding_dim": int(vectors.shape[1]),
                "precision": precision,
                **({"descriptor": descriptor.to_json()} if descriptor else {}),
            },
            "preprocess": {**asdict(preprocess), "mean": list(preprocess.mean),
                           "std": list(preprocess.std)},
            "threshold": float(threshold),
            "calibration": asdict(calibration) if calibration else None,
            "metrics": metrics,
            "provenance": dict(provenance or {}),
        }
        (stage / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8"
        )
        _move_in(stage, out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return read_bundle(out_dir)


def _move_in(stage: Path, out_dir: Path) -> None:
    """The staged bundle takes ``out_dir``'s place. An old bundle there steps aside first
    and is deleted only once the new one is in, so a failure (or a crash) between the two
    renames never leaves it half deleted: it is put back, or left whole beside ``out_dir``
    (``.NAME.old.*``), which a deleted-then-renamed swap could not promise."""
    if not out_dir.exists():
        os.replace(stage, out_dir)
        return
    aside = make_staged_folder(out_dir.parent, prefix=f".{out_dir.name}.old.")
    aside.rmdir()  # a name nobody holds; renaming a folder onto a folder is not portable
    os.replace(out_dir, aside)
    try:
        os.replace(stage, out_dir)
    except BaseException:
        os.replace(aside, out_dir)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def read_bundle(path: Path | str) -> Bundle:
    """Load and verify a bundle folder (or its ``manifest.json``).

    Raises :class:`BundleError` with one actionable line on any problem: missing files,
    checksum mismatch, a format from a newer photolm, malformed tables.
    """
    import numpy as np

    root = Path(path).expanduser()
    if root.is_file() and root.name == MANIFEST:
        root = root.parent
    manifest_path = root / MANIFEST
    checkpoint = root.suffix == ".pt" and root.is_file()
    if not manifest_path.is_file() and (checkpoint or any(
            (root / name).is_file() for name in ("best.pt", "last.pt"))):
        raise BundleError(  # the trainer's output given where its export is wanted
            f"{printed(root.parent if checkpoint else root)} is a trainer run, not a model "
            f"bundle: export it first with `photolm-export {shlex.quote(printed(root))} --out "
            "BUNDLE --distractors NON_LANDMARK_PHOTOS` and use BUNDLE."
        )
    if not manifest_path.is_file():
        raise BundleError(
            f"No model bundle at {printed(root)} (missing {MANIFEST}). Pass --model with a bundle "
            f"folder made by photolm-export, or unset {ENV_MODEL}."
        )
    try:
        raw = manifest_path.read_bytes()
    except OSError as exc:  # permission denied, an I/O error on a share
        raise BundleError(
            f"Cannot read bundle manifest {printed(manifest_path)}: "
            f"{(exc.strerror or str(exc)).lower()}; check that you may read it."
        ) from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        # RecursionError: "[[[[...": valid JSON nested deeper than Python's parser goes.
        raise BundleError(
            f"Bundle manifest {printed(manifest_path)} is not valid JSON ({_one_line(exc)})."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise BundleError(f"{printed(manifest_path)} is not a photolm model bundle manifest.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise BundleError(f"Bundle {printed(root)} has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise BundleError(
            f"Bundle {printed(root)} uses format version {version}, newer than this photolm "
            f"understands ({FORMAT_VERSION}); upgrade photolm."
        )

    try:
        files = manifest["files"]
        members: dict[str, Path] = {}
        for role in ("model", "prototypes", "landmarks"):
            entry = files[role]
            member = _safe_member(root, entry["path"])
            if not member.is_file():
                raise BundleError(f"Bundle {printed(root)} is incomplete: {entry['path']} is "
                                  "missing.")
            actual = sha256_file(member)
            if actual != entry["sha256"]:
                raise BundleError(
                    f"Bundle {printed(root)}: checksum mismatch for {entry['path']} (expected "
                    f"{str(entry['sha256'])[:12]}…, found {actual[:12]}…); the file was "
                    "modified or damaged — re-export or re-install the bundle."
                )
            members[role] = member
        model_meta = manifest["model"]
        pre = manifest["preprocess"]
        preprocess = Preprocess(
            size=int(pre["size"]),
            resize=int(pre["resize"]),
            crop=str(pre.get("crop", "center")),
            interpolation=str(pre.get("interpolation", "bicubic")),
            mean=tuple(float(v) for v in pre["mean"]),  # type: ignore[arg-type]
            std=tuple(float(v) for v in pre["std"]),  # type: ignore[arg-type]
        )
        threshold = float(manifest["threshold"])
        if not -1.0 <= threshold <= 1.0:  # also refuses NaN, which would match nothing
            raise ValueError(f"threshold {threshold} is not a cosine similarity in [-1, 1]")
        declared_dim = model_meta.get("embedding_dim")
        declared_dim = None if declared_dim is None else int(declared_dim)
        names = {key: str(model_meta.get(key, default)) for key, default in
                 (("input_name", "images"), ("output_name", "embeddings"),
                  ("precision", "fp32"))}
        descriptor = _descriptor(model_meta.get("descriptor"))
        calibration = _calibration(manifest.get("calibration"))
        metrics, provenance = _mapping(manifest, "metrics"), _mapping(manifest, "provenance")
        places = _places(metrics.get("places"), manifest_path)
    except BundleError:
        raise
    # Any JSON can sit in a hand-edited manifest: a list where a table belongs (TypeError,
    # AttributeError), text where a number does (ValueError), a key left out (KeyError).
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise BundleError(
            f"Bundle manifest {printed(manifest_path)} is malformed ({_one_line(repr(exc))}); "
            "re-export or re-install the bundle."
        ) from None

    try:
        with np.load(members["prototypes"], allow_pickle=False) as tables:
            vectors = np.asarray(tables["vectors"], dtype=np.float32)
            owners = np.asarray(tables["landmark_index"], dtype=np.int32)
            dvec = downers = None
            if descriptor is not None and "descriptor_vectors" in tables:
                dvec = np.asarray(tables["descriptor_vectors"], dtype=np.float32)
                downers = np.asarray(tables["descriptor_landmark_index"], dtype=np.int32)
    except (OSError, ValueError, KeyError) as exc:
        raise BundleError(f"Bundle {printed(root)}: cannot read {PROTOTYPES_FILE} "
                          f"({exc}).") from None
    try:
        records = json.loads(members["landmarks"].read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BundleError(
            f"Bundle {printed(root)}: {LANDMARKS_FILE} is not valid JSON ({_one_line(exc)})."
        ) from None
    if not isinstance(records, list):
        raise BundleError(f"Bundle {printed(root)}: {LANDMARKS_FILE} must hold a list of "
                          "landmarks.")
    landmarks = tuple(Landmark.from_json(r) for r in records)

    dim = vectors.shape[-1] if declared_dim is None else declared_dim
    if vectors.ndim != 2 or vectors.shape[1] != dim or owners.shape != (vectors.shape[0],):
        raise BundleError(f"Bundle {printed(root)}: prototype table shape {vectors.shape} is "
                          "inconsistent.")
    if owners.size and (owners.min() < 0 or owners.max() >= len(landmarks)):
        raise BundleError(f"Bundle {printed(root)}: a prototype points at a landmark that does not "
                          "exist.")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.all(np.abs(norms - 1.0) < _UNIT_TOLERANCE):
        raise BundleError(f"Bundle {printed(root)}: prototype vectors are not unit length.")
    if dvec is not None and descriptor is not None:
        if (dvec.ndim != 2 or dvec.shape[1] != descriptor.dim
                or downers is None or downers.shape != (dvec.shape[0],)):
            raise BundleError(f"Bundle {printed(root)}: descriptor prototype table shape "
                              f"{dvec.shape} is inconsistent.")
        if downers.size and (downers.min() < 0 or downers.max() >= len(landmarks)):
            raise BundleError(f"Bundle {printed(root)}: a descriptor prototype points at a "
                              "landmark that does not exist.")
        if not np.all(np.abs(np.linalg.norm(dvec, axis=1) - 1.0) < _UNIT_TOLERANCE):
            raise BundleError(f"Bundle {printed(root)}: descriptor prototypes are not unit length.")

    return Bundle(
        path=root,
        name=str(manifest.get("name") or root.name),
        bundle_id=bundle_id(raw),
        model_id=str(files["model"]["sha256"]),
        model_path=members["model"],
        input_name=names["input_name"],
        output_name=names["output_name"],
        embedding_dim=int(dim),
        precision=names["precision"],
        preprocess=preprocess,
        threshold=threshold,
        landmarks=landmarks,
        prototypes=vectors,
        prototype_landmark=owners,
        calibration=calibration,
        metrics=metrics,
        provenance=provenance,
        created=str(manifest.get("created", "")),
        descriptor=descriptor,
        descriptor_prototypes=dvec,
        descriptor_prototype_landmark=downers,
        places=places,
    )


def rewrite_bundle(bundle: Bundle, out_dir: Path, **changes: Any) -> Bundle:
    """Write ``bundle`` to ``out_dir`` (may be its own folder) with some ``write_bundle``
    arguments changed, e.g. ``landmarks=`` or ``metrics=``; everything else, the descriptor
    included, is carried over, so a tool that edits one table cannot drop another. Prototype
    tables left as they were keep their file byte for byte (and so its checksum)."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix=".rewrite-", dir=Path(out_dir).parent) as work:
        model = Path(work) / MODEL_FILE
        shutil.copyfile(bundle.model_path, model)  # out_dir may be the bundle's own folder
        arguments: dict[str, Any] = {
            "model_file": model, "landmarks": bundle.landmarks, "prototypes": bundle.prototypes,
            "prototype_landmark": bundle.prototype_landmark, "preprocess": bundle.preprocess,
            "threshold": bundle.threshold, "name": bundle.name, "input_name": bundle.input_name,
            "output_name": bundle.output_name, "precision": bundle.precision,
            "calibration": bundle.calibration, "metrics": bundle.metrics,
            "provenance": bundle.provenance, "descriptor": bundle.descriptor,
            "descriptor_prototypes": bundle.descriptor_prototypes,
            "descriptor_prototype_landmark": (
                None if bundle.descriptor_prototype_landmark is None
                else np.asarray(bundle.descriptor_prototype_landmark)),
        }
        arguments.update(changes)
        # the tables are copied byte for byte when they are still what the file holds
        return write_bundle(Path(out_dir), overwrite=True,
                            tables_file=bundle.path / PROTOTYPES_FILE, **arguments)


def _descriptor(data: object) -> Descriptor | None:
    """The descriptor record (absent in bundles made before it existed)."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError(f"descriptor must be a table, not {type(data).__name__}")
    return Descriptor(output_name=str(data["output_name"]), dim=int(data["dim"]),
                      threshold=float(data["threshold"]), method=str(data.get("method", "")),
                      gate=None if data.get("gate") is None else float(data["gate"]))


def _places(data: object, manifest_path: Path) -> PlaceValues | None:
    """``metrics.places`` (absent in bundles whose network was never measured for places):
    a bad value is refused with one line saying which, where and what to do."""
    if data is None:
        return None
    try:
        return PlaceValues.from_json(data)
    except BundleError as exc:
        raise BundleError(f"Bundle manifest {printed(manifest_path)}: metrics.{exc} Measure "
                          "them again (scripts/eval_enrolment.py --write-places) or "
                          "re-install the bundle.") from None


def _calibration(data: object) -> Calibration | None:
    """The calibration record; fields a newer exporter adds are ignored, not fatal."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError(f"calibration must be a table, not {type(data).__name__}")
    return Calibration(
        target_fpr=float(data["target_fpr"]), fpr=float(data["fpr"]),
        precision=float(data["precision"]), recall=float(data["recall"]),
        positives=int(data["positives"]), negatives=int(data["negatives"]),
    )


def _mapping(manifest: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = manifest.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{key} must be a table, not {type(value).__name__}")
    return dict(value)


def _one_line(detail: object, limit: int = 200) -> str:
    text = " ".join(str(detail).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def default_bundle_path() -> Path:
    """Where the bundle shipped inside the photolm package lives (may not exist)."""
    return Path(str(resources.files("photolm") / "models" / "default"))


def resolve_bundle_path(option: Path | str | None = None) -> Path:
    """Pick the bundle: ``--model`` first, then ``$PHOTOLM_MODEL``, then the embedded one."""
    if option:
        return Path(option).expanduser()
    env = os.environ.get(ENV_MODEL)
    if env:
        return Path(env).expanduser()
    path = default_bundle_path()
    if not (path / MANIFEST).is_file():
        raise BundleError(
            "This photolm install has no embedded default model (photolm/models/default is "
            f"empty). Reinstall photolm, or pass --model / set {ENV_MODEL} to a bundle folder."
        )
    return path


def load_bundle(option: Path | str | None = None) -> Bundle:
    """Resolve and read the bundle the user asked for (see :func:`resolve_bundle_path`)."""
    return read_bundle(resolve_bundle_path(option))
