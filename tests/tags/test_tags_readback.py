# SPDX-License-Identifier: GPL-3.0-or-later
"""ExifTool, an independent reader, sees every field photolm writes, and nothing else moves.

Sidecar and embedded mode, JPEG, PNG, TIFF and HEIC: keywords (flat, Lightroom, digiKam,
Windows), location fields, the photolm marker; original EXIF, ICC profile and pixel data
survive exactly; untag gives back the original keyword set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from photolm.bundle import Landmark
from photolm.metadata import apply_tags, plan_tags, read_photolm_marker, remove_tags
from tests.tags.photos import (
    MAKE,
    MODEL,
    ORIENTATION,
    TAKEN,
    as_list,
    exiftool_binary,
    exiftool_json,
    icc_profile,
    jpeg_scan_data,
    make_photo,
    pixels,
    plant_keywords,
)

LR = "Places|France|Paris|Eiffel Tower"
DK = "Places/France/Paris/Eiffel Tower"


def _check_xmp_fields(tags: dict[str, object]) -> None:
    assert as_list(tags.get("XMP-dc:Subject")) == ["Eiffel Tower"]
    assert as_list(tags.get("XMP-lr:HierarchicalSubject")) == [LR]
    assert as_list(tags.get("XMP-digiKam:TagsList")) == [DK]
    assert tags.get("XMP-iptcCore:Location") == "Eiffel Tower"
    assert tags.get("XMP-photoshop:City") == "Paris"
    assert tags.get("XMP-photoshop:Country") == "France"
    assert as_list(tags.get("XMP-iptcExt:LocationShown")) == [
        {"City": "Paris", "CountryName": "France", "Sublocation": "Eiffel Tower"}]
    assert tags.get("XMP-photolm:LandmarkId") == "eiffel_tower"
    assert tags.get("XMP-photolm:Score") == pytest.approx(0.8731)
    assert tags.get("XMP-photolm:ModelId") == "model-1"
    assert "dc:subject=Eiffel Tower" in as_list(tags.get("XMP-photolm:Added"))


def _check_original_exif(tags: dict[str, object]) -> None:
    assert tags.get("IFD0:Make") == MAKE
    assert tags.get("IFD0:Model") == MODEL
    assert tags.get("IFD0:Orientation") == ORIENTATION
    assert tags.get("ExifIFD:DateTimeOriginal") == TAKEN
    assert tags.get("GPS:GPSLatitude") == pytest.approx(48 + 51 / 60 + 29.6 / 3600)
    assert tags.get("GPS:GPSLongitude") == pytest.approx(2 + 17 / 60 + 40.2 / 3600)


@pytest.mark.parametrize("name", ["photo.jpg", "photo.png", "photo.tif", "photo.heic"])
def test_sidecar_fields_read_back_and_photo_untouched(tmp_path: Path, eiffel: Landmark,
                                                      exiftool: str, name: str) -> None:
    photo = make_photo(tmp_path / name)
    before = photo.read_bytes()
    outcome = apply_tags(plan_tags(photo, eiffel, 0.8731, "model-1"))
    sidecar = tmp_path / f"{name}.xmp"
    assert outcome.status == "written" and outcome.files == (sidecar,)
    _check_xmp_fields(exiftool_json(sidecar))
    assert photo.read_bytes() == before


def test_lightroom_style_sidecar(tmp_path: Path, eiffel: Landmark, exiftool: str) -> None:
    photo = make_photo(tmp_path / "IMG_1234.jpg")
    apply_tags(plan_tags(photo, eiffel, 0.8731, "model-1", sidecar_style="lightroom"))
    tags = exiftool_json(tmp_path / "IMG_1234.xmp")
    _check_xmp_fields(tags)
    assert tags.get("XMP-photolm:Photo") == "IMG_1234.jpg"
    assert not (tmp_path / "IMG_1234.jpg.xmp").exists()


@pytest.mark.parametrize("name", ["photo.jpg", "photo.png", "photo.tif"])
def test_embedded_fields_read_back_and_original_data_preserved(
        tmp_path: Path, eiffel: Landmark, exiftool: str, name: str) -> None:
    photo = make_photo(tmp_path / name)
    before_pixels = pixels(photo)
    before_icc = exiftool_binary(photo, "ICC_Profile")
    before_data = photo.read_bytes()

    outcome = apply_tags(plan_tags(photo, eiffel, 0.8731, "model-1", mode="embed"))

    assert outcome.status == "written" and outcome.files == (photo,)
    assert outcome.fallback_reason is None
    tags = exiftool_json(photo)
    _check_xmp_fields(tags)
    _check_original_exif(tags)
    if name.endswith(".jpg"):
        assert tags.get("IFD0:XPKeywords") == "Eiffel Tower"
        assert jpeg_scan_data(photo.read_bytes()) == jpeg_scan_data(before_data)
    else:
        assert "IFD0:XPKeywords" not in tags  # Windows keywords: JPEG only, as asked
    assert before_icc == icc_profile() == exiftool_binary(photo, "ICC_Profile")
    assert (pixels(photo) == before_pixels).all()
    assert not list(tmp_path.glob(".photolm-tmp-*"))


def test_embedded_heic_through_exiftool(tmp_path: Path, eiffel: Landmark, exiftool: str) -> None:
    photo = make_photo(tmp_path / "photo.heic")
    before = exiftool_json(photo)

    outcome = apply_tags(plan_tags(photo, eiffel, 0.8731, "model-1", mode="embed"))

    assert outcome.status == "written" and outcome.files == (photo,)
    tags = exiftool_json(photo)
    _check_xmp_fields(tags)
    for key in ("IFD0:Make", "IFD0:Model", "IFD0:Orientation", "QuickTime:ImageSpatialExtent"):
        assert tags[key] == before[key]
    assert not (tmp_path / "photo.heic.xmp").exists()

    removed = remove_tags(photo)
    assert removed.status == "removed"
    assert not any(k.startswith("XMP-") for k in exiftool_json(photo))


def test_iptc_keywords_written_only_when_the_photo_has_iptc(tmp_path: Path, eiffel: Landmark,
                                                            exiftool: str) -> None:
    plain = make_photo(tmp_path / "plain.jpg")
    with_iptc = make_photo(tmp_path / "iptc.jpg")
    plant_keywords(with_iptc, ["Holiday"], iptc=True)

    for photo in (plain, with_iptc):
        apply_tags(plan_tags(photo, eiffel, 0.8731, "model-1", mode="embed"))

    assert not any(k.startswith("IPTC:") for k in exiftool_json(plain))
    tags = exiftool_json(with_iptc)
    assert as_list(tags["IPTC:Keywords"]) == ["Holiday", "Eiffel Tower"]
    assert tags["IPTC:Sub-location"] == "Eiffel Tower"
    assert tags["IPTC:City"] == "Paris"
    assert tags["IPTC:Country-PrimaryLocationName"] == "France"


def test_iptc_byte_limits_are_respected(tmp_path: Path, exiftool: str) -> None:
    long_name = "Basilique du Sacré-Cœur de Montmartre, ses jardins et son funiculaire"  # 71 B
    landmark = Landmark("sacre_coeur", long_name, (), "Paris", "France")
    photo = make_photo(tmp_path / "photo.jpg")
    plant_keywords(photo, ["Holiday"], iptc=True)

    plan = plan_tags(photo, landmark, 0.9, "model-1", mode="embed")
    apply_tags(plan)

    tags = exiftool_json(photo)
    keyword = as_list(tags["IPTC:Keywords"])[-1]
    assert isinstance(keyword, str) and long_name.startswith(keyword)
    assert len(keyword.encode("utf-8")) <= 64
    sub = tags["IPTC:Sub-location"]
    assert isinstance(sub, str) and long_name.startswith(sub)
    assert len(sub.encode("utf-8")) <= 32
    assert tags["IPTC:CodedCharacterSet"] == "\x1b%G"  # declared UTF-8 for "é", "œ"
    assert as_list(tags["XMP-dc:Subject"])[-1] == long_name  # XMP has no limit
    assert any("cut to 64 bytes" in line for line in plan.describe())


@pytest.mark.parametrize("mode", ["sidecar", "embed"])
def test_person_keywords_survive_and_untag_restores_the_original_set(
        tmp_path: Path, eiffel: Landmark, exiftool: str, mode: str) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    # "eiffel tower" was typed by a person before photolm came: it must never be removed.
    plant_keywords(photo, ["Holiday", "eiffel tower", "Family"], iptc=True)
    original = exiftool_json(photo)

    apply_tags(plan_tags(photo, eiffel, 0.8731, "model-1", mode=mode))  # type: ignore[arg-type]
    where = photo if mode == "embed" else tmp_path / "photo.jpg.xmp"
    tagged = exiftool_json(where)
    assert as_list(tagged["XMP-dc:Subject"]) == ["Holiday", "eiffel tower", "Family"]
    assert as_list(tagged["XMP-lr:HierarchicalSubject"]) == [LR]
    marker = read_photolm_marker(photo)
    assert marker is not None and marker.embedded == (mode == "embed")
    assert ("dc:subject", "Eiffel Tower") in {(e.field, e.value) for e in marker.pre_existing}

    outcome = remove_tags(photo)

    assert outcome.status == "removed"
    after = exiftool_json(photo)
    assert as_list(after["XMP-dc:Subject"]) == as_list(original["XMP-dc:Subject"])
    assert as_list(after["IPTC:Keywords"]) == as_list(original["IPTC:Keywords"])
    assert "IFD0:XPKeywords" not in after
    assert not any(k.startswith(("XMP-photolm", "XMP-lr", "XMP-digiKam", "XMP-iptcExt"))
                   for k in after)
    assert not (tmp_path / "photo.jpg.xmp").exists()  # photolm created it, photolm removed it
    assert read_photolm_marker(photo) is None


def test_untag_restores_windows_keywords_exactly(tmp_path: Path, eiffel: Landmark,
                                                 exiftool: str) -> None:
    import pyexiv2

    photo = make_photo(tmp_path / "photo.jpg")
    with pyexiv2.Image(str(photo)) as image:
        image.modify_exif({"Exif.Image.XPKeywords": "Holiday; Family"})

    apply_tags(plan_tags(photo, eiffel, 0.8731, "model-1", mode="embed"))
    assert exiftool_json(photo)["IFD0:XPKeywords"] == "Holiday; Family;Eiffel Tower"
    remove_tags(photo)
    assert exiftool_json(photo)["IFD0:XPKeywords"] == "Holiday; Family"


def test_estimated_location_for_a_photo_without_gps(tmp_path: Path, eiffel: Landmark,
                                                    exiftool: str) -> None:
    embedded = make_photo(tmp_path / "embedded.jpg", gps=False)
    sidecar_photo = make_photo(tmp_path / "sidecar.jpg", gps=False)
    with_gps = make_photo(tmp_path / "gps.jpg")

    for photo, mode in ((embedded, "embed"), (sidecar_photo, "sidecar"), (with_gps, "embed")):
        apply_tags(plan_tags(photo, eiffel, 0.8731, "model-1", mode=mode,  # type: ignore[arg-type]
                             write_location=True))

    tags = exiftool_json(embedded)
    assert tags["GPS:GPSLatitude"] == pytest.approx(48.8584, abs=1e-6)
    assert tags["GPS:GPSLongitude"] == pytest.approx(2.2945, abs=1e-6)
    assert "ESTIMATED" in str(tags["GPS:GPSProcessingMethod"])
    assert tags["XMP-photolm:LocationEstimated"] is True or \
        tags["XMP-photolm:LocationEstimated"] == "True"
    side = exiftool_json(tmp_path / "sidecar.jpg.xmp")
    assert side["XMP-exif:GPSLatitude"] == pytest.approx(48.8584, abs=1e-6)
    assert side["XMP-exif:GPSLongitude"] == pytest.approx(2.2945, abs=1e-6)
    assert "ESTIMATED" in str(side["XMP-exif:GPSProcessingMethod"])
    # A photo with its own GPS keeps it.
    assert exiftool_json(with_gps)["GPS:GPSLatitude"] == pytest.approx(48 + 51 / 60 + 29.6 / 3600)

    remove_tags(embedded)
    assert not any(k.startswith("GPS:") for k in exiftool_json(embedded))


def test_a_jpeg_without_exif_gets_a_complete_first_exif_block(
        tmp_path: Path, eiffel: Landmark, exiftool: str) -> None:
    """Windows keywords need an EXIF block; in a JPEG that had none, the block photolm
    creates carries the IFD0 tags the standard requires, so ExifTool validates the photo as
    it did before (it warned of 4 missing tags); untag gives the original bytes back."""
    import subprocess

    from PIL import Image

    from photolm.metadata import plan_untag
    from photolm.metadata.undo import MemoryUndoStore

    photo = tmp_path / "plain.jpg"
    Image.new("RGB", (64, 48), (200, 50, 50)).save(photo)
    original = photo.read_bytes()

    def validate() -> str:
        return subprocess.run([exiftool, "-validate", "-warning", "-a", str(photo)],
                              capture_output=True, text=True, check=True).stdout

    assert "Validate                        : OK" in validate()
    undo = MemoryUndoStore()
    apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"), undo=undo)
    assert "Validate                        : OK" in validate(), validate()
    tags = exiftool_json(photo)
    assert tags["IFD0:XPKeywords"] == "Eiffel Tower"
    assert (tags["IFD0:XResolution"], tags["IFD0:YResolution"], tags["IFD0:ResolutionUnit"],
            tags["IFD0:YCbCrPositioning"]) == (72, 72, 2, 1)
    apply_tags(plan_untag(photo), undo=undo)
    assert photo.read_bytes() == original


@pytest.mark.parametrize(("unit", "x", "y", "exif_unit"), [(1, 300, 300, 2), (2, 118, 59, 3)],
                         ids=["300 dpi", "per cm"])
def test_a_first_exif_block_keeps_the_jfif_resolution(
        tmp_path: Path, eiffel: Landmark, exiftool: str, unit: int, x: int, y: int,
        exif_unit: int) -> None:
    """A scan saved at 300 dpi says so in its JFIF header only: the EXIF block photolm
    creates for Windows keywords says the same, not 72 dpi, which Photoshop and Windows
    would read over JFIF (the scan's print size would change)."""
    from PIL import Image

    photo = tmp_path / "scan.jpg"
    Image.new("RGB", (64, 48), (200, 50, 50)).save(photo, dpi=(300, 300))
    data = bytearray(photo.read_bytes())
    at = data.index(b"JFIF\x00")
    data[at + 7:at + 12] = bytes([unit]) + x.to_bytes(2, "big") + y.to_bytes(2, "big")
    photo.write_bytes(bytes(data))
    apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"))
    tags = exiftool_json(photo)
    assert tags["IFD0:XPKeywords"] == "Eiffel Tower"
    assert (tags["JFIF:XResolution"], tags["JFIF:YResolution"]) == (x, y)
    assert (tags["IFD0:XResolution"], tags["IFD0:YResolution"],
            tags["IFD0:ResolutionUnit"]) == (x, y, exif_unit)
