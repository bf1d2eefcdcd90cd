# SPDX-License-Identifier: GPL-3.0-or-later
"""The model bundle shipped inside the package: it loads, it is small, its names are the
datasets' display names, and it recognises landmark photos it never saw in training.

The photos are the holdout split the bundle's own provenance describes (rebuilt with the
trainer's split function from ../shared/data), so this checks the shipped file end to end
through ``photolm scan``, not a number copied from its manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from photolm.bundle import default_bundle_path, read_bundle
from photolm.catalog import Catalog
from tests.conftest import SHARED

DATA = SHARED / "data"
MAX_BYTES = 25 * 1024 * 1024
# every 4th photo of landmarks-unseen-dev (95): measured 2.4 % of all 378 named as a known
# landmark (scripts/eval_gate.py); the model before the floor named 6.9 %
UNSEEN_NAMED_MAX = 4


@pytest.fixture(scope="module")
def bundle():  # type: ignore[no-untyped-def]
    path = default_bundle_path()
    assert (path / "manifest.json").is_file(), "the default model bundle is not shipped"
    return read_bundle(path)


def test_shipped_bundle_is_small_and_named_for_people(bundle) -> None:  # type: ignore[no-untyped-def]
    size = sum(f.stat().st_size for f in bundle.path.iterdir())
    assert size <= MAX_BYTES
    names = {lm.name for lm in bundle.landmarks}
    assert {"Eiffel Tower", "Colosseum", "Taj Mahal", "Statue of Liberty",
            "Big Ben", "Hagia Sophia"} <= names
    eiffel = next(lm for lm in bundle.landmarks if lm.name == "Eiffel Tower")
    assert "Tour Eiffel" in eiffel.aliases and eiffel.city == "Paris"
    assert eiffel.latitude == pytest.approx(48.858, abs=0.01)
    assert bundle.calibration is not None and bundle.calibration.target_fpr == 0.02
    assert bundle.metrics["evaluated_on"] == "holdout split"


def _holdout(bundle) -> list[tuple[Path, str]]:  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")  # trainer.data imports it; the [train] extra is installed
    from trainer.data import discover, split_dataset

    config = bundle.provenance["config"]
    roots = [DATA / Path(root).name for root in config["data"]]
    if not all(root.is_dir() for root in roots):
        pytest.skip(f"the shared photos are not beside the checkout ({DATA})")
    index = discover(roots)
    split = split_dataset(index, val_ratio=config["val_ratio"],
                          holdout_ratio=config["holdout_ratio"], seed=config["seed"])
    assert len(split.holdout) == bundle.provenance["data"]["photos"]["holdout"]
    first: dict[int, Path] = {}
    for sample in split.holdout:  # one photo of every landmark
        first.setdefault(sample.label, Path(sample.path))
    return [(p, index.classes[label].name) for label, p in sorted(first.items())]


def test_default_model_recognises_held_out_photos_through_scan(
    bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from photolm.cli.app import app

    photos = tmp_path / "photos"
    photos.mkdir()
    truth: dict[str, str] = {}
    for i, (src, name) in enumerate(_holdout(bundle)):
        dest = photos / f"{i:02d}{src.suffix}"
        shutil.copyfile(src, dest)
        truth[dest.name] = name
    distractors = sorted((DATA / "distractors").rglob("*.jpg"))[::15][:40]
    for i, src in enumerate(distractors):
        shutil.copyfile(src, photos / f"d{i:02d}.jpg")
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "cat.sqlite"))

    runner = CliRunner()
    res = runner.invoke(app, ["scan", str(photos), "--json"])  # the embedded default model
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["processed"] == len(truth) + len(distractors)
    rows = {Path(r["path"]).name: r for r in json.loads(
        runner.invoke(app, ["list", "--json"]).stdout)}

    with Catalog.open(tmp_path / "cat.sqlite", write=False) as cat:
        best = {Path(r.path).name: r.topk[0]["name"] for r in cat.iter_photos()}
    top1 = sum(best[n] == name for n, name in truth.items())  # nearest prototype, any score
    named = sum(rows[n]["landmark"] == name for n, name in truth.items())
    wrong = [n for n, name in truth.items() if rows[n]["landmark"] not in (None, name)]
    false_positives = [n for n in rows if n.startswith("d") and rows[n]["landmark"]]
    print(f"default model on {len(truth)} held-out landmarks: top-1 {top1}, named above the "
          f"threshold {named}, wrong {len(wrong)}; distractors tagged "
          f"{len(false_positives)}/{len(distractors)}")
    assert top1 >= 0.90 * len(truth)
    assert named >= 0.75 * len(truth)
    assert len(wrong) <= 0.05 * len(truth) + 1
    assert len(false_positives) <= 2

    res = runner.invoke(app, ["search", "tour eiffel", "--json"])
    assert [Path(h["path"]).name for h in json.loads(res.stdout)] == [
        n for n, name in truth.items() if name == "Eiffel Tower" and rows[n]["landmark"] == name]


def test_default_model_enrols_an_unseen_landmark_from_five_photos(bundle) -> None:  # type: ignore[no-untyped-def]
    """The generic descriptor (second graph output) is what `learn` compares: five photos of a
    landmark the model never saw must make its other photos match, and not the other one's.
    (landmarks-unseen-dev is only measured, never trained or calibrated on.)"""
    import numpy as np

    from export.embedding import decoded_batches
    from photolm.runtime import OnnxEmbedder, embed_all

    assert bundle.descriptor is not None and bundle.descriptor.dim == 320
    assert bundle.descriptor_prototypes.shape == (len(bundle.landmarks), 320)
    root = DATA / "landmarks-unseen-dev"
    if not root.is_dir():
        pytest.skip(f"the shared photos are not beside the checkout ({DATA})")
    groups = {name: sorted((root / name).glob("*.jpg"))[:10]
              for name in ("vietnam_ha_long_bay", "vietnam_hoi_an")}
    embedder = OnnxEmbedder.for_bundle(bundle, device="cpu")
    vectors = {}
    for name, paths in groups.items():
        arrays = [a for _, items in decoded_batches([str(p) for p in paths], bundle.preprocess,
                                                     batch_size=16) for a, _ in items]
        vectors[name] = embed_all(embedder, np.stack(arrays)).descriptor
    names = list(vectors)
    protos = np.stack([vectors[n][:5].mean(0) for n in names])
    protos /= np.linalg.norm(protos, axis=1, keepdims=True)
    right = 0
    for i, name in enumerate(names):
        scores = vectors[name][5:] @ protos.T
        right += int(((scores.argmax(1) == i) & (scores.max(1) >= bundle.descriptor.threshold)
                      ).sum())
    assert right >= 7, f"only {right}/10 unseen photos matched their enrolled landmark"


def _scan_copies(sources: list[Path], prefix: str, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> list[dict]:  # type: ignore[type-arg]
    """Copies of shared photos scanned with the embedded default model: `list --json`."""
    from photolm.cli.app import app

    photos = tmp_path / "photos"
    photos.mkdir()
    for i, src in enumerate(sources):
        shutil.copyfile(src, photos / f"{prefix}{i:03d}{src.suffix}")
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "cat.sqlite"))
    runner = CliRunner()
    assert runner.invoke(app, ["scan", str(photos), "--quiet"]).exit_code == 0
    return json.loads(runner.invoke(app, ["list", "--json"]).stdout)  # type: ignore[no-any-return]


def test_portraits_stay_no_landmark_through_scan(
    bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """Portraits were the people photos the model before issue 13's retrain named most (15 %
    of the report half without the descriptor gate, 4 % with it). The retrained model with
    its unseen-landmark floor names none of the report half of people-negatives/portraits
    (measured with scripts/eval_gate.py), so its gate rule found nothing left to gate (0.0)."""
    from export.pipeline import split_distractors

    assert bundle.descriptor.gate == bundle.metrics["descriptor_gate"]["gate"]
    root = DATA / "people-negatives"
    if not root.is_dir():
        pytest.skip(f"the shared photos are not beside the checkout ({DATA})")
    everything = sorted(p for p in root.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg",
                                                                          ".png", ".webp"})
    _, report = split_distractors(everything, [root], 0.5)
    portraits = [Path(p) for p in report if Path(p).relative_to(root).parts[0] == "portraits"]
    rows = _scan_copies(portraits, "p", tmp_path, monkeypatch)
    named = [r for r in rows if r["landmark"]]
    print(f"portraits (report half) {len(rows)}: named {len(named)}")
    assert len(rows) == len(portraits)
    assert len(named) <= 1  # measured 0 of 73; the model before named 11 (3 after its gate)


def test_landmarks_the_model_never_saw_stay_no_landmark_through_scan(
    bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """Issue 13: an unseen landmark must stay "no landmark", never get a wrong famous name.
    The threshold's floor comes from landmarks left out of a second training run
    (export/unseen.py), never from landmarks-unseen-dev, which is only measured: every
    fourth of its photos goes through `photolm scan` here."""
    floor = bundle.metrics["unseen_floor"]
    assert bundle.threshold >= floor["floor"]
    assert not set(floor["held_out"]) - {lm.id for lm in bundle.landmarks}
    root = DATA / "landmarks-unseen-dev"
    if not root.is_dir():
        pytest.skip(f"the shared photos are not beside the checkout ({DATA})")
    unseen = sorted(p for p in root.rglob("*.jpg"))[::4]
    rows = _scan_copies(unseen, "u", tmp_path, monkeypatch)
    named = [r for r in rows if r["landmark"]]
    print(f"unseen landmarks (every 4th photo) {len(rows)}: named as a known one {len(named)}")
    assert len(rows) == len(unseen)
    assert len(named) <= UNSEEN_NAMED_MAX


def test_the_build_script_defaults_are_the_shipped_recipe(bundle) -> None:  # type: ignore[no-untyped-def]
    """scripts/build_default_model.sh with no overrides rebuilds this bundle's recipe."""
    import re

    script = (Path(__file__).resolve().parents[1] / "scripts" / "build_default_model.sh"
              ).read_text(encoding="utf-8")
    defaults = dict(re.findall(r"^([A-Z_]+)=\$\{\1:-([^}]*)\}", script, flags=re.M))
    config = bundle.provenance["config"]
    assert defaults["BACKBONE"] == config["backbone"]
    assert int(defaults["IMAGE_SIZE"]) == config["image_size"]
    assert int(defaults["EPOCHS"]) == config["epochs"]
    assert int(defaults["BATCH_SIZE"]) == config["batch_size"]
    assert int(defaults["FREEZE_STAGES"]) == config["freeze_stages"]
    assert defaults["LOSS"] == config["loss"]
    assert int(defaults["SEED"]) == config["seed"]
    assert defaults["UNSEEN_FLOOR"] == "1" and "unseen_floor" in bundle.metrics
    assert int(defaults["LEAVE_OUT"]) == len(bundle.metrics["unseen_floor"]["held_out"])
    # learn's thresholds and places' values are measured for this network by the build, so a
    # rebuilt bundle never falls back to values measured for another one
    assert defaults["DESCRIPTOR"] == "1" and bundle.descriptor is not None
    assert defaults["ENROLMENT"] == "1"
    assert "fused" in bundle.metrics["enrolment"]["thresholds"]
    assert bundle.places is not None
    stage = re.search(r"stage enrol .*?scripts/eval_enrolment\.py(.*?)\n\s*fi", script, re.S)
    assert stage is not None
    assert "--write-thresholds" in stage.group(1) and "--write-places" in stage.group(1)
