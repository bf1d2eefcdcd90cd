# SPDX-License-Identifier: GPL-3.0-or-later
"""A tiny real checkpoint exported end to end: the bundle loads in photolm and scans a folder.

One int8 export is shared by most tests (module fixture); the refusal test builds a genuinely
degraded int8 model by calibrating its activation ranges on black images.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from export.errors import ExportError
from export.onnx_export import check_onnx
from export.pipeline import ExportOptions, export_bundle, split_distractors
from photolm.bundle import read_bundle
from tests.export.exportdata import COLOURS, NON_LANDMARK, TINY_FIT, photo

runner = CliRunner()


@pytest.fixture(scope="module")
def exported(tiny_run: Path, distractor_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("export-bundles") / "int8"
    options = ExportOptions(out=out, distractors=[distractor_dir], quantize="int8",
                            parity_images=12, workers=2, threads=1)
    return export_bundle(tiny_run / "best.pt", options)


def test_bundle_passes_checker_and_parity_and_reads_back(exported) -> None:
    bundle = read_bundle(exported.bundle.path)
    assert bundle.precision == "int8" and bundle.embedding_dim == 32
    check_onnx(bundle.model_path, image_size=64)  # opset >= 17, dynamic batch, names
    parity = bundle.metrics["parity"]
    assert parity["worst_cosine"] >= 0.999 and parity["images"] == 12
    assert [lm.name for lm in bundle.landmarks] == ["Blue Mosque", "Green Gate", "Red Fort"]
    assert bundle.preprocess.size == 64 and bundle.preprocess.resize == 73
    # no --name: RUN (BACKBONE, Npx, N landmarks), the form README's "using ..." line quotes
    assert bundle.name == (f"tiny ({TINY_FIT['backbone']}, {TINY_FIT['image_size']}px, "
                           "3 landmarks)")


def test_manifest_records_calibration_metrics_and_provenance(exported, tiny_run: Path,
                                                            distractor_dir: Path) -> None:
    bundle = exported.bundle
    cal = bundle.calibration
    assert cal is not None and cal.target_fpr == 0.02 and cal.fpr <= 0.02
    assert cal.positives == 9 and cal.negatives + bundle.metrics["distractor_images"] == 20
    assert bundle.metrics["calibration"]["threshold"] == bundle.threshold
    m = bundle.metrics
    assert m["evaluated_on"] == "val split" and m["images"] == 9
    assert m["top1"] == 1.0 and m["top5"] == 1.0 and m["gap"] == 1.0
    assert set(m["variants"]) == {"fp32", "int8"}
    assert m["variants"]["int8"]["size_bytes"] < m["variants"]["fp32"]["size_bytes"]
    assert m["variants"]["int8"]["top1_drop_points"] <= 1.0
    p = bundle.provenance
    assert p["data"]["photos"] == {"train": 21, "val": 9, "holdout": 0}
    assert p["data"]["roots"] == [str(Path(p["config"]["data"][0]))]
    assert p["config"]["backbone"] == "test_efficientnet"
    assert p["checkpoint"]["file"] == "best.pt" and len(p["checkpoint"]["sha256"]) == 64
    assert p["distractors"]["roots"] == [str(distractor_dir.resolve())]
    assert set(p["git"]) == {"commit", "dirty"} and p["date"].startswith("20")
    assert p["versions"]["onnxruntime"]


def test_prototypes_are_train_photo_means_through_the_shipped_onnx_model(exported) -> None:
    from photolm.images import load_for_model
    from photolm.runtime import OnnxEmbedder
    from trainer.data import split_from_config

    bundle = exported.bundle
    split = split_from_config(bundle.provenance["config"])  # the run's own split
    embedder = OnnxEmbedder(bundle.model_path, device="cpu", threads=1)

    def class_means(samples) -> np.ndarray:
        emb = embedder.embed(np.stack([load_for_model(s.path, bundle.preprocess)
                                       for s in samples]))
        labels = np.array([s.label for s in samples])
        means = np.stack([emb[labels == c].mean(axis=0) for c in range(3)])
        return means / np.linalg.norm(means, axis=1, keepdims=True)

    train_only = class_means(split.train)
    np.testing.assert_allclose(bundle.prototypes, train_only, atol=1e-4)
    with_val = class_means(split.train + split.val)
    assert np.abs(bundle.prototypes - with_val).max() > 1e-3  # validation photos stay out


def test_photolm_scans_a_folder_with_the_exported_bundle(exported, tmp_path: Path) -> None:
    from photolm.cli.app import app

    library = tmp_path / "Pictures"
    for c, colour in enumerate(COLOURS.values()):
        photo(library / f"trip{c}.jpg", colour, seed=900 + c)
    photo(library / "kitchen.jpg", NON_LANDMARK[0], seed=999)
    catalog = tmp_path / "catalog.sqlite"
    res = runner.invoke(app, ["scan", str(library), "--model", str(exported.bundle.path),
                              "--catalog", str(catalog), "--json"])
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["processed"] == 4 and summary["errors"] == []
    res = runner.invoke(app, ["list", "--json", "--catalog", str(catalog)])
    rows = {Path(r["path"]).name: r for r in json.loads(res.stdout)}
    names = dict(zip([f"trip{c}.jpg" for c in range(3)],
                     ["Red Fort", "Green Gate", "Blue Mosque"], strict=True))
    for name, landmark in names.items():  # tagged photos carry the right landmark
        assert rows[name]["landmark"] in (None, landmark)
    assert sum(rows[n]["landmark"] is not None for n in names) >= 2


def test_cli_writes_json_report_and_refuses_to_overwrite(tiny_run: Path, distractor_dir: Path,
                                                         tmp_path: Path) -> None:
    from export.cli import app

    out = tmp_path / "bundle"
    args = [str(tiny_run), "--out", str(out), "--distractors", str(distractor_dir),
            "--parity-images", "6", "--threads", "1", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["precision"] == "fp32" and report["bundle"] == str(out)
    assert report["bundle_id"] == read_bundle(out).bundle_id
    assert set(report["timings_s"]) >= {"onnx", "parity", "embed", "total"}
    # about 10 calibration distractors cannot hold 2 % at 95 % confidence (236 could)
    calibration = report["metrics"]["calibration"]
    assert calibration["allowed_distractors"] == 0
    warning = (f"--target-fpr 0.02 at 95% confidence needs at least 236 calibration "
               f"distractors (about 472 distractor photos with --distractor-holdout 0.5); "
               f"with {calibration['negatives']}, none may score above the threshold")
    assert len(report["warnings"]) == 1 and report["warnings"][0].startswith(warning)
    assert [line for line in res.stderr.splitlines() if line.startswith("warning:")] == \
        [f"warning: {report['warnings'][0]}"]

    res = runner.invoke(app, args)
    assert res.exit_code == 1
    assert "Error:" in res.stderr and "already exists; pass --overwrite" in res.stderr
    res = runner.invoke(app, [str(tiny_run), "--out", str(tmp_path / "b2")])
    assert res.exit_code == 1 and "--distractors" in res.stderr


def test_cli_report_ends_by_naming_the_scan_that_uses_the_bundle(
        tiny_run: Path, distractor_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The retraining loop's last step, on stderr (the summary is the output)."""
    from export.cli import app

    monkeypatch.chdir(tmp_path)
    out = Path("my bundle")  # as typed: relative to here; the variable must work anywhere
    res = runner.invoke(app, [str(tiny_run), "--out", str(out), "--distractors",
                              str(distractor_dir), "--parity-images", "4", "--threads", "1"])
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith(f"Bundle written to {out} ")
    assert "" not in res.stderr.strip().splitlines()  # no blank left by a progress bar
    assert res.stderr.strip().splitlines()[-1] == (
        f"Scan with it: photolm scan PHOTOS --model '{out}' (or set PHOTOLM_MODEL="
        f"'{tmp_path / out}' so every photolm command uses it)")
    # before it, the README's step in between, with the run's own folders filled in
    roots = read_bundle(out).provenance["data"]["roots"]
    assert res.stderr.strip().splitlines()[-2] == (
        "Add the place descriptor photolm learn judges your own places by: python -m "
        f"export.descriptor '{out}' --out '{out}' "
        + " ".join(f"--known {shlex.quote(r)}" for r in roots)
        + f" --negatives {shlex.quote(str(distractor_dir))}")


def test_a_quantised_model_that_loses_accuracy_is_refused(
    tiny_run: Path, distractor_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calibrating activation ranges on noise a thousand times larger than real inputs makes
    the int8 steps so coarse that real photos all land on a few levels: a genuinely broken
    quantised model, built by the real quantiser, which the accuracy gate must catch."""
    import export.pipeline as pipeline

    real = pipeline.quantize_int8
    noise = np.random.default_rng(0).standard_normal((4, 3, 64, 64)).astype(np.float32)
    monkeypatch.setattr(pipeline, "quantize_int8", lambda src, dst, calibration, **kw: real(
        src, dst, 1000 * noise, **kw))
    out = tmp_path / "refused"
    options = ExportOptions(out=out, distractors=[distractor_dir], quantize="int8",
                            parity_images=6, threads=1)
    with pytest.raises(ExportError, match=r"Refusing the int8 model: .* drop of .* points") \
            as refused:
        export_bundle(tiny_run / "best.pt", options)
    assert "against 100.00% for fp32" in str(refused.value)
    assert not out.exists()


def test_distractor_split_is_deterministic_and_disjoint(distractor_dir: Path) -> None:
    paths = sorted(distractor_dir.iterdir())
    cal, ev = split_distractors(paths, [distractor_dir], 0.5)
    assert set(cal).isdisjoint(ev) and len(cal) + len(ev) == len(paths)
    again = split_distractors(paths[::-1], [distractor_dir], 0.5)  # order does not matter
    assert (sorted(cal), sorted(ev)) == (sorted(again[0]), sorted(again[1]))
    assert split_distractors(paths, [distractor_dir], 0.0) == ([str(p) for p in paths],) * 2
