# SPDX-License-Identifier: GPL-3.0-or-later
"""Every JPEG, TIFF, PNG and WebP of ExifTool's own test files through tag --embed and untag.

These files were written by real cameras and programs (FLIR, JVC, Ricoh, Sanyo maker notes,
comment segments, UTF-16 XMP, IPTC, Photoshop resources, extended XMP). ExifTool
(``-a -G1 -s -n``) is the independent reader: after tagging, every value it read before is
still there except the fields photolm writes and offsets a rewrite moves; untag gives the
original bytes back. The whole sweep (about 45 files) runs in about 15 s, so it is the test.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from photolm.bundle import Landmark
from photolm.metadata import apply_tags, plan_tags, plan_untag
from photolm.metadata.undo import MemoryUndoStore

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / \
    "metadata-samples" / "images"
EXTENSIONS = (".jpg", ".jps", ".tif", ".png", ".webp")
FILES = sorted(p.name for p in SAMPLES.iterdir() if p.suffix.lower() in EXTENSIONS) \
    if SAMPLES.is_dir() else []

# Tags photolm writes (their values may change), and offsets any rewrite of EXIF moves.
WRITTEN = {"Subject", "HierarchicalSubject", "TagsList", "Location", "LocationShown",
           "LocationShownSublocation", "LocationShownCity", "LocationShownCountryName",
           "LocationShownProvinceState", "LocationShownCountryCode", "City", "Country",
           "State", "CountryCode", "Keywords", "Sub-location", "Province-State",
           "Country-PrimaryLocationName", "Country-PrimaryLocationCode", "XPKeywords",
           "CodedCharacterSet", "IPTCDigest", "CurrentIPTCDigest"}
MOVED = {"ThumbnailOffset", "PreviewImageStart", "JpgFromRawStart"}


def exiftool_lines(path: Path) -> list[str]:
    out = subprocess.run(["exiftool", "-a", "-G1", "-s", "-n", str(path)],
                         capture_output=True, check=True).stdout
    return [line for line in out.decode("utf-8", "replace").splitlines()
            if not line.startswith(("[System]", "[ExifTool]"))
            or "Warning" in line]


def tag_name(line: str) -> str:
    return line[16:].split(":", 1)[0].strip()


@pytest.mark.skipif(not FILES, reason="../shared/data/metadata-samples is not there")
@pytest.mark.parametrize("name", FILES)
def test_sample_tag_embed_keeps_everything_and_untag_gives_original_back(
        name: str, tmp_path: Path, eiffel: Landmark, exiftool: str) -> None:
    photo = tmp_path / name
    original = (SAMPLES / name).read_bytes()
    photo.write_bytes(original)
    before = exiftool_lines(photo)
    undo = MemoryUndoStore()

    outcome = apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"), undo=undo)
    assert outcome.status == "written"
    after = exiftool_lines(photo)
    lost = [line for line in before if line not in after
            and tag_name(line) not in WRITTEN | MOVED and not line.startswith("[File]")]
    assert lost == [], f"{name}: values changed by tagging: {lost}"
    assert not [line for line in after if "Warning" in line and line not in before]
    if outcome.fallback_reason is None:
        assert any(line.startswith("[XMP-photolm]") for line in after)

    apply_tags(plan_untag(photo), undo=undo)
    assert photo.read_bytes() == original, f"{name}: untag did not give the original back"
    assert not list(tmp_path.glob("*.xmp")), "untag left a sidecar behind"
