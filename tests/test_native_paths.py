# SPDX-License-Identifier: GPL-3.0-or-later
"""A folder whose name is not UTF-8 (copied from an old camera card or a Windows share onto a
Linux NAS) holds photos and models like any other: the C libraries that take UTF-8 strings
(LibRaw, onnxruntime) must not turn it into "corrupt RAW file" or "cannot load"."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from photolm.native_paths import utf8_path
from tests.clirun import cli as run
from tests.test_formats import dng_with_preview, needs_exiftool, needs_samples
from tests.tinybundle import COLOURS, write_photo

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")


def odd_folder(tmp_path: Path) -> Path:
    """``tmp_path/holiday-\\xff``: a name Python holds with a surrogate escape."""
    folder = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"holiday-\xff")))
    folder.mkdir()
    return folder


def test_utf8_path_says_which_paths_a_c_library_can_take(tmp_path: Path) -> None:
    assert utf8_path(tmp_path / "Zürich.jpg") == str(tmp_path / "Zürich.jpg")
    assert utf8_path(odd_folder(tmp_path) / "a.jpg") is None


@needs_exiftool
@needs_samples
def test_a_raw_in_a_folder_whose_name_is_not_utf8_is_recognised(tmp_path: Path,
                                                                env: Path) -> None:
    shots = odd_folder(tmp_path)
    preview = write_photo(tmp_path / "preview.jpg", COLOURS["eiffel-tower"], size=(120, 80))
    dng_with_preview(shots / "IMG_0001.dng", preview)
    code, out, err = run("scan", shots, "--json")
    assert code == 0, err
    assert json.loads(out)["processed"] == 1
    code, out, _ = run("search", "Eiffel Tower", "--json")
    assert [Path(h["path"]).name for h in json.loads(out)] == ["IMG_0001.dng"]


def test_a_model_in_a_folder_whose_name_is_not_utf8_loads(tmp_path: Path,
                                                          tiny_bundle_dir: Path) -> None:
    model = odd_folder(tmp_path) / "model"
    shutil.copytree(tiny_bundle_dir, model)
    shots = tmp_path / "shots"
    shots.mkdir()
    write_photo(shots / "a.jpg", COLOURS["eiffel-tower"])
    code, out, err = run("scan", shots, "--model", model, "--catalog", tmp_path / "c.sqlite",
                         "--json")
    assert code == 0 and "Error" not in err, err
    assert json.loads(out)["processed"] == 1
