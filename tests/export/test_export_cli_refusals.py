# SPDX-License-Identifier: GPL-3.0-or-later
"""What the export commands refuse, and how their help reads at 80 columns.

``--overwrite`` replaces a bundle, never a run folder or a file that a mistyped ``--out``
points at; ``python -m export.results`` answers like the other commands (help, one
``Error:`` line).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

runner = CliRunner()


@pytest.mark.parametrize("target", ["file", "run folder"])
def test_overwrite_refuses_what_is_not_a_bundle(target: str, tiny_run: Path,
                                                distractor_dir: Path, tmp_path: Path) -> None:
    from export.cli import app

    if target == "file":
        out = tmp_path / "notes.txt"
        out.write_text("keep me\n")
        before = {out.name}
    else:
        out = tiny_run
        before = {p.name for p in out.iterdir()}
    res = runner.invoke(app, [str(tiny_run), "--out", str(out), "--distractors",
                              str(distractor_dir), "--overwrite", "--threads", "1", "-q"])
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert res.stderr.startswith("Error:") and "refusing to replace it" in res.stderr
    if target == "file":
        assert out.read_text() == "keep me\n"
    else:
        assert {p.name for p in out.iterdir()} == before


def test_export_help_names_every_option_whole_at_80_columns() -> None:
    from export.cli import app

    res = runner.invoke(app, ["--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert res.exit_code == 0
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    assert "[OPTIONS] {CHECKPOINT}\n" in res.stdout  # upper case, as trainer names it
    for name in ("--fpr-confidence", "--distractor-holdout", "--threshold-floor",
                 "--static-padding", "--dynamic-padding", "--min-silhouette"):
        assert name in res.stdout, name


def test_results_has_help_and_reports_a_missing_bundle_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from export.results import main

    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "BUNDLE" in capsys.readouterr().out.upper()

    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "nothing")])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error:") and "nothing" in err and "Traceback" not in err


def test_a_report_path_that_cannot_be_written_is_refused_before_the_export(
        tiny_run: Path, distractor_dir: Path, tmp_path: Path) -> None:
    from export.cli import app

    (tmp_path / "afile").write_text("keep")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked").chmod(0o555)
    refused = [(tmp_path / "afile" / "r.json", "is a file, not a folder"),
               (tmp_path, "it is a folder; give --report a file name")]
    if os.geteuid() != 0:  # root writes anywhere
        refused.append((tmp_path / "locked" / "r.json", "permission denied"))
    for report, says in refused:
        res = runner.invoke(app, [str(tiny_run), "--out", str(tmp_path / "bundle"),
                                  "--distractors", str(distractor_dir), "--threads", "1",
                                  "-q", "--report", str(report)])
        assert res.exit_code == 1, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
        assert res.stderr.startswith("Error: Cannot write --report") and says in res.stderr
        assert not (tmp_path / "bundle").exists()


NO_SPACE = "no space left on the disk holding"


def _export(tiny_run: Path, distractor_dir: Path, out: Path, *more: str) -> object:
    from export.cli import app

    return runner.invoke(app, [str(tiny_run), "--out", str(out), "--distractors",
                               str(distractor_dir), "--parity-images", "4", "--threads", "1",
                               "-q", *more])


READ_ONLY = "read-only file system"


def _refuse_the_bundle(monkeypatch: pytest.MonkeyPatch, out: Path, refusal: int) -> None:
    """The bundle's model file is copied into its staging folder first; the disk refuses it
    (``refusal`` from ``sendfile``, both paths named), as a full one did on a 2 MB tmpfs."""
    import shutil

    real = shutil.copyfile

    def copyfile(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(dst).parent.name.startswith(f".{out.name}."):
            raise OSError(refusal, os.strerror(refusal), str(src), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", copyfile)


@pytest.mark.parametrize("refusal", [errno.ENOSPC, errno.EROFS], ids=["full", "read-only"])
def test_a_disk_that_fills_under_the_bundle_is_one_line_and_leaves_nothing(
        refusal: int, tiny_run: Path, distractor_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that fills or refuses the write (read-only) under ``--out``."""
    disk = tmp_path / "stick"
    disk.mkdir()
    out = disk / "bundle"
    _refuse_the_bundle(monkeypatch, out, refusal)
    res = _export(tiny_run, distractor_dir, out)

    assert res.exit_code == 1, res.output
    why = f"{NO_SPACE} {disk}: free some space and run again" if refusal == errno.ENOSPC \
        else READ_ONLY
    assert res.stderr.strip() == (f"Error: Cannot write the bundle {out}: {why}; {out} was "
                                  "not changed.")
    assert list(disk.iterdir()) == []  # no half-written bundle, no staging folder


def test_a_refused_overwrite_leaves_the_old_bundle_as_it_was(
        tiny_run: Path, distractor_dir: Path, tiny_bundle_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``--overwrite`` onto an existing bundle whose new files the disk refuses: the old
    bundle keeps every file, byte for byte."""
    import shutil

    disk = tmp_path / "stick"
    out = disk / "bundle"
    shutil.copytree(tiny_bundle_dir, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _refuse_the_bundle(monkeypatch, out, errno.ENOSPC)
    res = _export(tiny_run, distractor_dir, out, "--overwrite")

    assert res.exit_code == 1, res.output
    assert res.stderr.strip() == (f"Error: Cannot write the bundle {out}: {NO_SPACE} {disk}: "
                                  f"free some space and run again; {out} was not changed.")
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in disk.iterdir()] == ["bundle"]  # no staging folder left


@pytest.mark.parametrize("refusal", [errno.ENOSPC, errno.EROFS, errno.EACCES],
                         ids=["full", "read-only", "permission"])
def test_a_temporary_folder_that_refuses_says_why_and_how_to_point_elsewhere(
        refusal: int, tiny_run: Path, distractor_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The ONNX file goes to the temporary folder first; onnx reports a full disk there as a
    bare ENOSPC from ``write`` (no file named), as it did with TMPDIR on a 2 MB tmpfs; a
    read-only one the same way with EROFS: then a folder *with room* is no help, one the
    export may write to is."""
    import tempfile

    import export.pipeline as pipeline

    def export_onnx(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(refusal, os.strerror(refusal))

    monkeypatch.setattr(pipeline, "export_onnx", export_onnx)
    out = tmp_path / "bundle"
    res = _export(tiny_run, distractor_dir, out)

    scratch = tempfile.gettempdir()
    why = {errno.ENOSPC: f"{NO_SPACE} {scratch}: free some space and run again, or point "
                         "TMPDIR at a folder with room",
           errno.EROFS: f"{READ_ONLY}; point TMPDIR at a folder you can write to",
           errno.EACCES: "permission denied; point TMPDIR at a folder you can write to",
           }[refusal]
    assert res.exit_code == 1, res.output
    assert res.stderr.strip() == (
        f"Error: Cannot write the export's working files in {scratch}: {why}; {out} was not "
        "changed.")
    assert not out.exists()


def test_a_mistyped_distractors_folder_is_named_before_any_work(
        tiny_run: Path, distractor_dir: Path, tmp_path: Path) -> None:
    from export.cli import app

    missing = tmp_path / "distractor"
    res = runner.invoke(app, [str(tiny_run), "--out", str(tmp_path / "bundle"),
                              "--distractors", str(distractor_dir), "--distractors",
                              str(missing)])
    assert res.exit_code == 1
    assert res.stderr == f"Error: --distractors {missing}: no such folder.\n"  # no progress
    assert not (tmp_path / "bundle").exists()


def test_a_run_whose_data_moved_is_told_about_data_and_exports_with_it(
        tiny_run: Path, landmark_data: Path, distractor_dir: Path, tmp_path: Path) -> None:
    """Trained on a GPU machine, exported on a laptop: the folders are elsewhere. The
    photos are checked to be the ones trained on, so naming their place is safe."""
    import shutil

    import torch

    from export.cli import app

    moved = tmp_path / "gpu-box" / landmark_data.name
    state = torch.load(tiny_run / "best.pt", weights_only=True)
    state["config"]["data"] = [str(moved)]
    run = tmp_path / "run"
    run.mkdir()
    torch.save(state, run / "best.pt")
    args = [str(run), "--out", str(tmp_path / "bundle"), "--distractors", str(distractor_dir),
            "--parity-images", "4", "--threads", "1", "-q"]

    res = runner.invoke(app, args)
    assert res.exit_code == 1
    assert res.stderr == (f"Error: The run's dataset folder {moved} is not there: if it moved, "
                          "or fit ran on another machine, give its place here with --data "
                          "(once per folder fit was given).\n")

    here = shutil.copytree(landmark_data, tmp_path / "laptop" / landmark_data.name)
    res = runner.invoke(app, [*args, "--data", str(here)])
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "bundle" / "manifest.json").is_file()

    (here / "red_fort" / "00.jpg").unlink()  # not the photos it was trained on
    res = runner.invoke(app, [*args, "--data", str(here), "--overwrite"])
    assert res.exit_code == 1 and "changed since training" in res.stderr


def test_an_empty_distractors_folder_is_named_with_what_to_give(
        tiny_run: Path, tmp_path: Path) -> None:
    """'The --distractors folders hold no photos.' named neither the folder nor what it
    should hold."""
    from export.cli import app

    empty = tmp_path / "my distractors"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a photo\n")
    res = runner.invoke(app, [str(tiny_run), "--out", str(tmp_path / "b"), "--distractors",
                              str(empty), "-q"])
    assert res.exit_code == 1
    assert res.stderr == (f"Error: --distractors {empty} holds no photos (JPEG, PNG, WebP, "
                          "BMP or TIFF): give a folder of photos without landmarks (e.g. "
                          "../shared/data/distractors).\n")
