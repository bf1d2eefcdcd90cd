# SPDX-License-Identifier: GPL-3.0-or-later
"""Camera RAW, iPhone HEIC, Live Photos and videos, and the one read of each photo."""

from __future__ import annotations

import builtins
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from photolm import photo_read
from photolm.bundle import Preprocess
from photolm.exif import read_exif
from photolm.images import decode_upright
from tests import imagefactory as factory
from tests.clirun import cli as run
from tests.conftest import SHARED
from tests.tinybundle import COLOURS, PREPROCESS, write_photo

SAMPLES = SHARED / "data" / "metadata-samples" / "images"
needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")
needs_samples = pytest.mark.skipif(not (SAMPLES / "DNG.dng").exists(),
                                   reason="needs ../shared metadata-samples")


def dng_with_preview(path: Path, preview: Path) -> Path:
    """A real camera DNG (ExifTool's sample, sensor data and maker notes kept) given back
    the JPEG previews cameras store (PreviewImage and the full-size JpgFromRaw)."""
    subprocess.run(["exiftool", "-q", "-q", f"-PreviewImage<={preview}",
                    f"-JpgFromRaw<={preview}", str(SAMPLES / "DNG.dng"), "-o", str(path)],
                   check=True)
    return path


def heic_with_thumbnail(path: Path, image: Image.Image, box: int | None) -> Path:
    import pillow_heif

    pillow_heif.from_pillow(image).save(path, quality=60, thumbnails=[box] if box else [])
    return path


@needs_exiftool
@needs_samples
def test_raw_is_recognised_from_its_preview_and_stripped_raws_give_one_line(
        tmp_path: Path, env: Path) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    preview = write_photo(tmp_path / "preview.jpg", COLOURS["eiffel-tower"], size=(120, 80))
    dng_with_preview(shots / "IMG_0001.dng", preview)
    for name in ("Nikon.nef", "CanonRaw.cr3", "FujiFilm.raf", "CanonRaw.cr2"):
        shutil.copy(SAMPLES / name, shots / name)
    code, out, err = run("scan", shots, "--json")
    assert "Traceback" not in err
    summary = json.loads(out)
    # the tiny test model's input is 32 px, so the RAF's 160x120 preview is large enough
    assert summary["found"] == 5 and summary["processed"] == 2 and code == 1
    errors = {Path(e["path"]).name: e["error"] for e in summary["errors"]}
    assert errors == {
        "Nikon.nef": "RAW photo without an embedded preview: photolm recognises RAW photos "
                     "from the JPEG preview the camera stores in them",
        "CanonRaw.cr3": "RAW photo without an embedded preview: photolm recognises RAW "
                        "photos from the JPEG preview the camera stores in them",
        "CanonRaw.cr2": "unsupported or corrupt RAW file",
    }
    code, out, _ = run("search", "Eiffel Tower", "--json")
    hits = json.loads(out)
    assert [Path(h["path"]).name for h in hits] == ["IMG_0001.dng"]
    assert hits[0]["taken"] == "2005-08-03T18:59:18"  # from the RAW's own EXIF
    small = photo_read.read_photo(shots / "FujiFilm.raf", Preprocess(size=224, resize=256))
    assert small.error == "the RAW's embedded preview is only 160x120 pixels, too small to " \
                         "recognise"
    assert small.fingerprint is not None


def test_raw_beside_its_jpeg_is_joined_and_videos_are_skipped_and_counted(tmp_path: Path,
                                                                          env: Path) -> None:
    shots = tmp_path / "shots"
    write_photo(shots / "IMG_0001.JPG", COLOURS["colosseum"])
    (shots / "IMG_0001.CR2").write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64))
    write_photo(shots / "IMG_0002.JPG", COLOURS["taj-mahal"])
    (shots / "IMG_0002.MOV").write_bytes(bytes(64))  # a Live Photo's video
    (shots / "birthday.mp4").write_bytes(bytes(64))
    code, out, err = run("scan", shots, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["found"] == 2 and summary["processed"] == 2 and summary["errors"] == []
    assert summary["skipped"] == {"live_photo_video": 1, "video": 1}
    assert summary["raw_pairs"] == 1
    code, _, err = run("scan", shots, "--force")
    assert code == 0
    assert "1 Live Photo video, 1 video" in " ".join(err.split())


def test_heic_decodes_its_smallest_thumbnail_that_covers_the_model_input(
        tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif")
    big = Image.new("RGB", (1200, 900), COLOURS["eiffel-tower"])
    photo = heic_with_thumbnail(tmp_path / "IMG_0001.HEIC", big, 320)
    with open(photo, "rb") as handle:
        assert decode_upright(handle, photo, 256, stored_min=224).image.size == (320, 240)
    with open(photo, "rb") as handle:  # 240 px is too small for a 256 px input: full decode
        assert decode_upright(handle, photo, 256, stored_min=256).image.size == (1200, 900)
    bare = heic_with_thumbnail(tmp_path / "IMG_0002.HEIC", big, None)
    with open(bare, "rb") as handle:
        assert decode_upright(handle, bare, 256, stored_min=224).image.size == (1200, 900)


def test_heic_thumbnail_is_upright_like_the_photo(tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif")
    import pillow_heif

    img = Image.new("RGB", (1200, 900), (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, 600, 900))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated 90 degrees clockwise
    photo = tmp_path / "rotated.heic"
    pillow_heif.from_pillow(img).save(photo, quality=60, thumbnails=[320],
                                      exif=exif.tobytes())
    pre = Preprocess(size=224, resize=256)
    with open(photo, "rb") as handle:
        thumb = decode_upright(handle, photo, 256, stored_min=224).image
    with open(photo, "rb") as handle:
        full = decode_upright(handle, photo, None).image
    assert thumb.size == (240, 320) and full.size == (900, 1200)
    # blue (the stored left half) is on top once upright, in both
    for shown in (thumb, full):
        top = shown.getpixel((shown.width // 2, shown.height // 4))
        assert top[2] > 150 and top[0] < 100, top
    assert photo_read.read_photo(photo, pre).error is None


def test_a_photo_is_opened_once_and_its_exif_matches_exifread_on_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = factory.jpeg_with_exif(tmp_path / "gps.jpg", orientation=6)
    expected = read_exif(photo)
    assert expected.latitude is not None and expected.taken is not None
    opened: list[str] = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    read = photo_read.read_photo(photo, PREPROCESS)
    monkeypatch.undo()
    assert read.error is None and read.pixels is not None
    assert read.exif == expected
    assert opened.count(str(photo)) == 1
    assert read.fingerprint is not None and read.fingerprint.startswith("fp1:")


def test_tiff_exif_is_read_from_the_open_file(tmp_path: Path) -> None:
    photo = tmp_path / "scan.tif"
    Image.new("RGB", (64, 48), COLOURS["colosseum"]).save(
        photo, exif=factory.exif_block(), compression="tiff_lzw")
    read = photo_read.read_photo(photo, PREPROCESS)
    assert read.error is None
    assert read.exif == read_exif(photo) and read.exif is not None
    assert read.exif.camera_make == "Canon"
