# SPDX-License-Identifier: GPL-3.0-or-later
"""export/unseen.py: which landmarks are left out, the floor's rule, and how the exporter
raises its threshold to it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export.calibrate import calibrate_threshold
from export.errors import ExportError
from export.unseen import floor_from_scores, held_out_classes, main, read_floor

IDS = [f"landmark-{i:02d}" for i in range(46)]


def test_the_draw_is_fixed_and_ignores_the_order_of_the_ids() -> None:
    first = held_out_classes(IDS, 10, seed=2026)
    assert first == held_out_classes(list(reversed(IDS)), 10, seed=2026)
    assert len(set(first)) == 10 and set(first) <= set(IDS)
    assert first != held_out_classes(IDS, 10, seed=1)


@pytest.mark.parametrize("count", [0, 46])
def test_cannot_leave_out_none_or_all(count: int) -> None:
    with pytest.raises(ExportError, match="Cannot leave"):
        held_out_classes(IDS, count)


def test_floor_names_at_most_the_allowed_share() -> None:
    scores = np.linspace(0.0, 0.99, 100, dtype=np.float32)
    floor = floor_from_scores(scores, target_rate=0.05, confidence=None)
    assert (scores >= floor).sum() == 5  # 5 % of 100, the best-scoring five
    strict = floor_from_scores(scores, target_rate=0.05, confidence=0.95)
    assert strict > floor  # the confidence bound allows fewer


def test_floor_raises_a_lower_distractor_threshold_and_remeasures() -> None:
    landmark = np.array([0.9, 0.8, 0.7, 0.6, 0.5], dtype=np.float32)
    correct = np.ones(5, bool)
    distractors = np.array([0.1, 0.2, 0.3], dtype=np.float32)
    cal = calibrate_threshold(landmark, correct, distractors, 0.0)
    assert cal.threshold < 0.5 and cal.rates.recall == 1.0
    raised = cal.with_floor(0.75, landmark, correct, distractors)
    assert raised.threshold == pytest.approx(0.75) and raised.rates.recall == pytest.approx(0.4)
    assert raised.to_json()["distractor_threshold"] == cal.threshold
    lower = cal.with_floor(0.05, landmark, correct, distractors)
    assert lower.threshold == cal.threshold and lower.to_json()["threshold_floor"] == 0.05


def test_a_wrong_floor_file_is_one_line(tmp_path) -> None:
    bad = tmp_path / "floor.json"
    bad.write_text('{"held_out": []}', encoding="utf-8")
    with pytest.raises(ExportError, match="not a threshold-floor file"):
        read_floor(bad)


def test_a_left_out_landmark_beside_a_known_one_is_not_unseen() -> None:
    """The Iron Pillar stands in the Qutub Minar's courtyard: its photos show the minaret,
    so naming it "Qutub Minar" is no mistake about an unseen place."""
    from types import SimpleNamespace as Place

    from export.unseen import CO_LOCATED_KM, neighbours

    pillar = Place(id="iron-pillar", latitude=28.5245, longitude=77.1855)
    alhambra = Place(id="alhambra", latitude=37.1761, longitude=-3.5881)
    nowhere = Place(id="nowhere", latitude=None, longitude=None)
    known = [Place(id="qutub-minar", latitude=28.5244, longitude=77.1855),
             Place(id="taj-mahal", latitude=27.1751, longitude=78.0421)]
    found = neighbours([pillar, alhambra, nowhere], known,
                       ["iron-pillar", "alhambra", "nowhere"])
    assert list(found) == ["iron-pillar"]
    assert found["iron-pillar"]["neighbour"] == "qutub-minar"
    assert found["iron-pillar"]["km"] < CO_LOCATED_KM


@pytest.mark.parametrize(("text", "says"), [
    (None, "Cannot read"),  # no such file
    ('{"held_out": ["landmark-01",', "not a held_out.json"),  # cut short
    ('{"held_out": "landmark-01"}', "not a held_out.json"),  # hand-edited: not a list
    ('{"landmarks": ["landmark-01"]}', "not a held_out.json"),  # the wrong file
    ('{"held_out": []}', "not a held_out.json"),
])
def test_floor_with_a_broken_held_out_file_is_one_error_line(
        text: str | None, says: str, tiny_bundle_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    held = tmp_path / "held_out.json"
    if text is not None:
        held.write_text(text, encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["unseen", "floor", str(tiny_bundle_dir), str(tmp_path),
                                      "--held-out", str(held)])
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert done.value.code == 1 and len(lines) == 1, err
    assert lines[0].startswith("Error:") and str(held) in lines[0] and says in lines[0]


@pytest.fixture
def floor_argv(tiny_bundle_dir: Path, tmp_path: Path) -> list[str]:
    """``floor`` on a real (tiny) measurement: three photos of a place the bundle never saw."""
    from tests.tinybundle import write_photo

    data = tmp_path / "data"
    for i in range(3):
        write_photo(data / "cyan-place" / f"{i}.jpg", (20 + i, 200, 210))
    held = tmp_path / "held_out.json"
    held.write_text('{"held_out": ["cyan-place"]}', encoding="utf-8")
    return ["unseen", "floor", str(tiny_bundle_dir), str(data), "--held-out", str(held)]


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> tuple[object, str, list[str]]:
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as done:
        main()
    out, err = capsys.readouterr()
    return done.value.code, out, [line for line in err.splitlines() if line.strip()]


def _under_a_file(*parts: str) -> Any:
    def target(tmp_path: Path) -> Path:
        (tmp_path / "a-file").write_text("x", encoding="utf-8")
        return tmp_path.joinpath("a-file", *parts)
    return target


def _read_only(tmp_path: Path) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder / "floor.json"


@pytest.mark.parametrize(("target", "says"), [
    (_under_a_file("floor.json"), "is a file, not a folder"),
    (_under_a_file("sub", "floor.json"), "is a file, not a folder"),  # a missing parent too
    (lambda tmp_path: tmp_path, "it is a folder"),
    pytest.param(_read_only, "permission denied",
                 marks=pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")),
])
def test_floor_out_that_cannot_be_written_is_one_error_line_before_measuring(
        target: Any, says: str, floor_argv: list[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = target(tmp_path)
    code, stdout, lines = _run([*floor_argv, "--out", str(out)], monkeypatch, capsys)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("Error: Cannot write") and str(out) in lines[0]
    assert says in lines[0] and "--out" in lines[0]
    assert stdout == ""  # failed before the measurement


def test_floor_out_that_fails_after_measuring_keeps_the_record_on_stdout(
        floor_argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import export.unseen as unseen

    folder = tmp_path / "gone"
    folder.mkdir()
    measure = unseen.measure_floor

    def folder_replaced_meanwhile(*args: Any, **kwargs: Any) -> dict[str, Any]:
        folder.rmdir()
        folder.write_text("a file now")
        return measure(*args, **kwargs)

    monkeypatch.setattr(unseen, "measure_floor", folder_replaced_meanwhile)
    code, stdout, lines = _run([*floor_argv, "--out", str(folder / "floor.json")],
                               monkeypatch, capsys)
    assert code == 1 and len(lines) == 1 and lines[0].startswith("Error: Cannot write"), lines
    assert "(the record is on stdout)" in lines[0]
    record = json.loads(stdout)  # the measurement is not lost
    assert record["held_out"] == ["cyan-place"] and folder.read_text() == "a file now"


def test_floor_out_in_missing_folders_makes_them(
        floor_argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new" / "sub" / "floor.json"
    code, stdout, lines = _run([*floor_argv, "--out", str(out)], monkeypatch, capsys)
    assert code in (0, None) and not lines, lines
    assert read_floor(out) == json.loads(stdout)


def test_exclude_out_under_a_file_is_one_error_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.tinybundle import write_photo

    for name, colour in (("cyan-place", (20, 200, 210)), ("pink-place", (250, 150, 200))):
        write_photo(tmp_path / "data" / name / "0.jpg", colour)
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / "a-file" / "lco"
    code, stdout, lines = _run(["unseen", "exclude", str(tmp_path / "data"), "--count", "1",
                                "--out", str(out)], monkeypatch, capsys)
    assert code == 1 and len(lines) == 1 and stdout == "", lines
    assert lines[0].startswith("Error: Cannot write") and "is a file, not a folder" in lines[0]
