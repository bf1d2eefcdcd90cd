# SPDX-License-Identifier: GPL-3.0-or-later
"""The API as the CLI uses it: imports stay light, threads are safe, untag finds every
place photolm wrote to."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from photolm.bundle import Landmark
from photolm.metadata import apply_tags, plan_tags, plan_untag, read_photolm_marker, remove_tags
from tests.tags.photos import make_photo

REPO = Path(__file__).resolve().parents[2]


def test_importing_photolm_tags_loads_neither_torch_nor_pyexiv2() -> None:
    code = ("import sys, photolm.metadata\n"
            "print(','.join(m for m in ('torch', 'timm', 'onnx', 'pyexiv2') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    assert out.strip() == ""


def test_tagging_from_many_threads(tmp_path: Path, eiffel: Landmark) -> None:
    photos = [make_photo(tmp_path / f"p{i}{ext}") for i in range(3) for ext in (".jpg", ".png")]

    def tag(photo: Path) -> str:
        return apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed")).status

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(tag, photos)) == ["written"] * len(photos)
    for photo in photos:
        marker = read_photolm_marker(photo)
        assert marker is not None and marker.embedded and marker.landmark_id == "eiffel_tower"


def test_untag_finds_embedded_and_both_sidecar_styles(tmp_path: Path,
                                                      eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "IMG_9.jpg")
    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"))
    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", sidecar_style="darktable"))
    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", sidecar_style="lightroom"))

    plan = plan_untag(photo)
    assert [t.path.name for t in plan.targets] == ["IMG_9.jpg", "IMG_9.jpg.xmp", "IMG_9.xmp"]
    assert [t.delete for t in plan.targets] == [False, True, True]
    outcome = apply_tags(plan)

    assert outcome.status == "removed" and len(outcome.files) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_9.jpg"]
    assert read_photolm_marker(photo) is None


def test_untag_can_be_narrowed_to_one_place(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "p.jpg")
    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"))
    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1"))
    assert remove_tags(photo, mode="sidecar").status == "removed"
    marker = read_photolm_marker(photo)
    assert marker is not None and marker.embedded


def test_outcome_messages_are_one_line(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "p.jpg")
    first = apply_tags(plan_tags(photo, eiffel, 0.9, "model-1"))
    again = apply_tags(plan_tags(photo, eiffel, 0.9, "model-1"))
    assert first.message == f"tagged {photo} with Eiffel Tower ({tmp_path / 'p.jpg.xmp'})"
    assert again.message == f"{photo} already carries Eiffel Tower: unchanged"
    assert remove_tags(photo).message == f"removed photolm tags from {photo} " \
                                         f"({tmp_path / 'p.jpg.xmp'})"
    assert remove_tags(photo).message == f"{photo}: no photolm tags to remove"


def test_unknown_choices_are_programming_errors(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "p.jpg")
    with pytest.raises(ValueError, match="unknown tag mode"):
        plan_tags(photo, eiffel, 0.9, "m", mode="inline")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown sidecar style"):
        plan_tags(photo, eiffel, 0.9, "m", sidecar_style="picasa")  # type: ignore[arg-type]


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that allows any bytes")
@pytest.mark.parametrize("mode", ["sidecar", "embed"])
def test_file_name_that_is_not_utf8(tmp_path: Path, eiffel: Landmark, mode: str) -> None:
    import os

    photo = make_photo(tmp_path / os.fsdecode(b"caf\xe9.jpg"))
    outcome = apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode=mode))  # type: ignore[arg-type]
    assert outcome.status == "written"
    assert "caf\\xe9.jpg" in outcome.message  # printable, never a surrogate
    assert read_photolm_marker(photo) is not None
    assert remove_tags(photo).status == "removed"
