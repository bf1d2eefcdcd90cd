# SPDX-License-Identifier: GPL-3.0-or-later
"""A photo the export cannot read is a read failure, named; a refused write still is a write.

The parity check and int8 calibration read the dataset's photos while the export's working
files sit in ``$TMPDIR``. A read failure that escapes the decoders (an I/O error on the data
disk, a photo the export may not open, raised bare or behind a library's own error) was
worded "Cannot write the export's working files in /tmp ...: point TMPDIR at a folder with
room", sending a person after the wrong disk. Faults are injected where the pipeline calls
the photo readers (their own per-photo failures are skipped and counted, tested elsewhere).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import export.pipeline as pipeline
from photolm.printed_paths import printed

runner = CliRunner()


def _export(tiny_run: Path, distractor_dir: Path, out: Path, *extra: str) -> Any:
    from export.cli import app

    return runner.invoke(app, [str(tiny_run), "--out", str(out), "--distractors",
                               str(distractor_dir), "--parity-images", "4", "--threads", "1",
                               "-q", *extra])


def _bare(code: int, photo: str) -> Exception:
    return OSError(code, os.strerror(code), photo)


def _behind_a_library_error(code: int, photo: str) -> Exception:
    """As torch and onnx report a failed file operation: their own error raised while
    handling the OSError."""
    try:
        raise OSError(code, os.strerror(code), photo)
    except OSError:
        try:
            raise RuntimeError("unexpected end of data")
        except RuntimeError as wrapped:
            return wrapped


def _one_error_line(res: Any) -> str:
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


@pytest.mark.parametrize("code", [errno.EIO, errno.EACCES])
@pytest.mark.parametrize("raised", [_bare, _behind_a_library_error], ids=["bare", "behind"])
def test_a_photo_unreadable_during_the_parity_check_is_named_as_a_read(
        tiny_run: Path, distractor_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        code: int, raised: Callable[[int, str], Exception]) -> None:
    seen: list[str] = []

    def check_parity(model: Any, embedder: Any, paths: Sequence[str], *args: Any,
                     **kwargs: Any) -> Any:
        seen.append(str(paths[0]))
        raise raised(code, str(paths[0]))

    monkeypatch.setattr(pipeline, "check_parity", check_parity)
    out = tmp_path / "bundle"
    line = _one_error_line(_export(tiny_run, distractor_dir, out))

    assert line == (f"Error: Cannot read {printed(seen[0])}: {os.strerror(code).lower()}; "
                    "check the disk holding it and that you may read it, then run again; "
                    f"{out} was not changed.")
    assert not out.exists()


def test_a_photo_unreadable_during_int8_calibration_is_named_as_a_read(
        tiny_run: Path, distractor_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = pipeline.load_arrays
    calls: list[str] = []

    def load_arrays(paths: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        calls.append(str(paths[0]))
        if len(calls) == 1:  # the first call is the calibration set's
            raise _bare(errno.EIO, str(paths[0]))
        return real(paths, *args, **kwargs)

    monkeypatch.setattr(pipeline, "load_arrays", load_arrays)
    out = tmp_path / "bundle"
    line = _one_error_line(_export(tiny_run, distractor_dir, out, "--quantize", "int8"))

    assert line.startswith(f"Error: Cannot read {printed(calls[0])}: input/output error; ")
    assert "TMPDIR" not in line and "Cannot write" not in line
    assert not out.exists()


@pytest.mark.parametrize("code", [errno.EACCES, errno.EIO, errno.ENOSPC])
def test_a_refused_write_of_the_quantised_model_is_still_a_write_failure(
        tiny_run: Path, distractor_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    import tempfile

    def quantize_int8(source: Path, target: Path, calib: Any) -> None:
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(pipeline, "quantize_int8", quantize_int8)
    out = tmp_path / "bundle"
    line = _one_error_line(_export(tiny_run, distractor_dir, out, "--quantize", "int8"))

    scratch = tempfile.gettempdir()
    assert line.startswith(f"Error: Cannot write the export's working files in {scratch}: ")
    elsewhere = ("or point TMPDIR at a folder with room" if code == errno.ENOSPC
                 else "point TMPDIR at a folder you can write to")
    assert line.endswith(f"{elsewhere}; {out} was not changed.")
    assert not out.exists()


def test_a_bundle_folder_that_refuses_the_write_is_still_a_write_failure(
        tiny_run: Path, distractor_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Permission denied from the bundle's own write (a share that turned read-only for this
    user mid-export) is the bundle's line, not a traceback."""
    import shutil

    out = tmp_path / "bundle"
    real = shutil.copyfile

    def copyfile(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(dst).parent.name.startswith(f".{out.name}."):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", copyfile)
    line = _one_error_line(_export(tiny_run, distractor_dir, out))

    assert line == (f"Error: Cannot write the bundle {out}: permission denied; {out} was not "
                    "changed.")
    assert not out.exists()
