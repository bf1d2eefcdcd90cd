# SPDX-License-Identifier: GPL-3.0-or-later
"""The image-data check accepts a metadata-only rewrite and catches any change to the
bytes that make up the picture, in every container photolm writes."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from photolm.metadata import embedded
from photolm.metadata.imagedata import ImageDataMismatch, check_same_image_data
from tests.tags.photos import HEIC_BASE64, jpeg_scan_data, make_photo, noise

KINDS = {".jpg": "jpeg", ".png": "png", ".tif": "tiff"}


def _metadata_rewrite(data: bytes) -> bytes:
    packet = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
              '"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
              'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>x'
              '</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>')
    return embedded.write_metadata(data, packet=packet, iptc={},
                                   exif={"Exif.Image.Artist": "someone"})


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_metadata_rewrite_passes(tmp_path: Path, suffix: str) -> None:
    data = make_photo(tmp_path / f"p{suffix}").read_bytes()
    rewritten = _metadata_rewrite(data)
    assert rewritten != data
    check_same_image_data(KINDS[suffix], data, rewritten)


def _pixel_window(suffix: str, data: bytes) -> bytes:
    """32 bytes from the middle of the coded pixels, located without photolm's parser."""
    if suffix == ".jpg":
        return jpeg_scan_data(data)[100:132]
    if suffix == ".png":
        start = data.index(b"IDAT") + 4
        return data[start + 100:start + 132]
    with Image.open(io.BytesIO(data)) as image:
        start = image.tag_v2[273][0]  # StripOffsets
    return data[start + 100:start + 132]


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_a_flipped_pixel_byte_is_caught(tmp_path: Path, suffix: str) -> None:
    data = make_photo(tmp_path / f"p{suffix}").read_bytes()
    rewritten = bytearray(_metadata_rewrite(data))
    at = rewritten.index(_pixel_window(suffix, data)) + 16
    rewritten[at] ^= 0x01
    with pytest.raises(ImageDataMismatch):
        check_same_image_data(KINDS[suffix], data, bytes(rewritten))


def test_a_changed_icc_profile_is_caught(tmp_path: Path) -> None:
    data = make_photo(tmp_path / "p.jpg").read_bytes()
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(data)) as image:
        exif = image.info["exif"]
    noise().save(buffer, "JPEG", quality=90, exif=exif)  # same pixels, no ICC profile
    with pytest.raises(ImageDataMismatch, match="0xFFE2"):
        check_same_image_data("jpeg", data, buffer.getvalue())


def test_heic_items_are_compared(tmp_path: Path) -> None:
    data = base64.b64decode(HEIC_BASE64)
    check_same_image_data("heic", data, data)
    damaged = bytearray(data)
    damaged[600] ^= 0x01  # inside the hvc1 image item (bytes 491-753 of this file)
    with pytest.raises(ImageDataMismatch, match="HEIF item 1"):
        check_same_image_data("heic", data, bytes(damaged))


@pytest.mark.parametrize("kind", ["jpeg", "png", "tiff", "heic"])
def test_unparseable_data_is_never_trusted(kind: str) -> None:
    with pytest.raises(ImageDataMismatch, match="cannot parse"):
        check_same_image_data(kind, b"not an image at all", b"not an image at all")


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ImageDataMismatch, match="no image-data check for gif"):
        check_same_image_data("gif", b"GIF89a", b"GIF89a")
