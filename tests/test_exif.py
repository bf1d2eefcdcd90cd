# SPDX-License-Identifier: GPL-3.0-or-later
"""photolm.exif: written EXIF is read back; nonsense and breakage give None, never errors."""

from __future__ import annotations

import logging
import struct
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image

from photolm.exif import ExifInfo, read_exif
from tests import imagefactory as factory


def test_camera_exif_is_read_back(tmp_path: Path) -> None:
    info = read_exif(factory.jpeg_with_exif(tmp_path / "p.jpg", orientation=6))
    assert info.taken == "2023-07-14T18:30:05+02:00"
    assert info.camera_make == "Canon"
    assert info.camera_model == "Canon EOS 5D Mark IV"
    assert info.latitude == pytest.approx(48.858222, abs=1e-6)
    assert info.longitude == pytest.approx(2.2945, abs=1e-6)
    assert info.altitude == pytest.approx(35.5)
    assert info.orientation == 6


def test_southern_and_western_hemispheres_are_negative(tmp_path: Path) -> None:
    path = factory.jpeg_with_exif(
        tmp_path / "rio.jpg", gps=("S", (22.0, 57.0, 6.0), "W", (43.0, 12.0, 36.0)),
        altitude=(12.0, 1),
    )
    info = read_exif(path)
    assert info.latitude == pytest.approx(-(22 + 57 / 60 + 6 / 3600))
    assert info.longitude == pytest.approx(-(43 + 12 / 60 + 36 / 3600))
    assert info.altitude == pytest.approx(-12.0)  # AltitudeRef 1: below sea level


def test_date_without_offset_and_fallback_to_digitized(tmp_path: Path) -> None:
    no_offset = factory.jpeg_with_exif(tmp_path / "a.jpg", offset=None)
    assert read_exif(no_offset).taken == "2023-07-14T18:30:05"
    digitized = factory.jpeg_with_exif(
        tmp_path / "b.jpg", taken=None, offset=None, digitized="2001:02:03 04:05:06"
    )
    assert read_exif(digitized).taken == "2001-02-03T04:05:06"


def test_unset_camera_clock_falls_back_or_gives_none(tmp_path: Path) -> None:
    zero = factory.jpeg_with_exif(tmp_path / "a.jpg", taken="0000:00:00 00:00:00")
    assert read_exif(zero).taken is None
    fallback = factory.jpeg_with_exif(
        tmp_path / "b.jpg", taken="    :  :     :  :  ", digitized="2019:12:31 23:59:59"
    )
    assert read_exif(fallback).taken == "2019-12-31T23:59:59"


def test_bad_offset_is_dropped_but_date_kept(tmp_path: Path) -> None:
    path = factory.jpeg_with_exif(tmp_path / "a.jpg", offset="+25:00")
    assert read_exif(path).taken == "2023-07-14T18:30:05"


@pytest.mark.parametrize(
    "gps",
    [
        ("N", (95.0, 0.0, 0.0), "E", (2.0, 17.0, 40.2)),  # latitude beyond the pole
        ("N", (48.0, 51.0, 29.6), "E", (181.0, 0.0, 0.0)),  # longitude beyond 180
        ("N", (48.0, 75.0, 0.0), "E", (2.0, 17.0, 40.2)),  # 75 minutes
        ("N", (Fraction(0, 1), Fraction(0, 1), Fraction(0, 1)), "E",
         (Fraction(0, 1), Fraction(0, 1), Fraction(0, 1))),  # (0, 0): "no fix"
    ],
)
def test_nonsense_gps_gives_no_position(tmp_path: Path, gps: tuple) -> None:
    info = read_exif(factory.jpeg_with_exif(tmp_path / "g.jpg", gps=gps))
    assert info.latitude is None and info.longitude is None
    assert info.camera_make == "Canon"  # the rest of the EXIF is still read


def rationals(*pairs: tuple[int, int]) -> bytes:
    return b"".join(struct.pack("<II", n, d) for n, d in pairs)


PARIS_LON = (0x0004, 5, 3, rationals((2, 1), (17, 1), (402, 10)))


@pytest.mark.parametrize(
    "latitude",
    [
        (0x0002, 5, 3, rationals((48, 1), (51, 0), (296, 10))),  # zero denominator
        (0x0002, 12, 3, struct.pack("<ddd", float("nan"), 0.0, 0.0)),  # NaN as a double
        (0x0002, 2, 4, b"48N\x00"),  # a string where numbers belong
    ],
)
def test_malformed_gps_values_give_no_position(tmp_path: Path, latitude: tuple) -> None:
    tiff = factory.tiff_with_gps([(0x0001, 2, 2, b"N\x00"), latitude,
                                  (0x0003, 2, 2, b"E\x00"), PARIS_LON])
    assert read_exif(factory.jpeg_with_raw_exif(tmp_path / "g.jpg", tiff)) == ExifInfo()


def test_raw_gps_builder_produces_readable_gps(tmp_path: Path) -> None:
    """The control for the test above: the same bytes with sane numbers do give a position."""
    tiff = factory.tiff_with_gps([
        (0x0001, 2, 2, b"S\x00"), (0x0002, 5, 3, rationals((33, 1), (51, 1), (3547, 100))),
        (0x0003, 2, 2, b"E\x00"), PARIS_LON,
    ])
    info = read_exif(factory.jpeg_with_raw_exif(tmp_path / "g.jpg", tiff))
    assert info.latitude == pytest.approx(-(33 + 51 / 60 + 35.47 / 3600))
    assert info.longitude == pytest.approx(2.2945)
    doubles = factory.tiff_with_gps([
        (0x0001, 2, 2, b"N\x00"), (0x0002, 12, 3, struct.pack("<ddd", 48.5, 0.0, 0.0)),
        (0x0003, 2, 2, b"E\x00"), PARIS_LON,
    ])
    assert read_exif(factory.jpeg_with_raw_exif(tmp_path / "d.jpg", doubles)).latitude == 48.5


def test_broken_exif_gives_empty_info(tmp_path: Path) -> None:
    assert read_exif(factory.jpeg_broken_exif(tmp_path / "b.jpg")) == ExifInfo()


@pytest.mark.parametrize(
    "make",
    [factory.empty_file, factory.random_bytes, factory.text_file, factory.truncated_jpeg,
     factory.png_rgba, factory.heic_stub, factory.bomb_png],
)
def test_files_without_usable_exif_give_empty_info(tmp_path: Path, make: object) -> None:
    assert read_exif(make(tmp_path / "x.jpg")) == ExifInfo()  # type: ignore[operator]


def test_missing_file_gives_empty_info(tmp_path: Path) -> None:
    assert read_exif(tmp_path / "gone.jpg") == ExifInfo()
    assert read_exif(tmp_path) == ExifInfo()


def test_png_exif_chunk_is_read(tmp_path: Path) -> None:
    path = tmp_path / "e.png"
    Image.new("RGB", (8, 8)).save(path, "PNG", exif=factory.exif_block())
    info = read_exif(path)
    assert info.camera_model == "Canon EOS 5D Mark IV"
    assert info.taken == "2023-07-14T18:30:05+02:00"


def test_truncated_exif_inside_a_jpeg_never_raises(tmp_path: Path) -> None:
    full = factory.jpeg_with_exif(tmp_path / "full.jpg").read_bytes()
    for cut in range(4, 400, 7):  # every cut lands somewhere inside the EXIF block
        path = tmp_path / f"cut{cut}.jpg"
        path.write_bytes(full[:cut])
        assert isinstance(read_exif(path), ExifInfo)


def test_no_warning_lines_for_photos_without_exif(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert logging.getLogger("exifread").getEffectiveLevel() >= logging.ERROR
    read_exif(factory.png_grey(tmp_path / "g.png"))
    assert capsys.readouterr().err == ""


def test_heic_written_by_libheif_tools_keeps_date_camera_and_gps(tmp_path: Path) -> None:
    """libheif-based writers put the TIFF header first in the Exif item (no ``Exif\\0\\0``),
    which exifread's own HEIF parser refuses; photolm reads such files through pillow-heif."""
    pillow_heif = pytest.importorskip("pillow_heif")
    import exifread
    from PIL import ExifTags, Image

    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:01 10:20:30"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (48.0, 51.0, 29.6)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "W", (2.0, 17.0, 40.2)
    photo = tmp_path / "IMG_0001.HEIC"
    heif = pillow_heif.from_pillow(Image.new("RGB", (64, 48), (200, 20, 20)))
    heif.save(photo, exif=exif.tobytes())
    with open(photo, "rb") as handle, pytest.raises(AssertionError):
        exifread.process_file(handle, details=False)  # why the fallback exists

    info = read_exif(photo)
    assert (info.camera_make, info.camera_model) == ("Apple", "iPhone 15")
    assert info.taken == "2024-05-01T10:20:30"
    assert info.latitude == pytest.approx(48.85822, abs=1e-4)
    assert info.longitude == pytest.approx(-2.29450, abs=1e-4)
