# SPDX-License-Identifier: GPL-3.0-or-later
"""Test photos for the tag writer: camera EXIF, an ICC profile, noisy pixels.

Made with Pillow (fixtures may be; only photolm must never re-save originals). Pixels are
random noise so that any re-encoding would change them, and every file carries what the
issue says must survive: camera make/model, date taken, GPS, orientation, ICC profile.
Person keywords are planted with pyexiv2 directly, standing in for another tool.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageCms

MAKE, MODEL = "Canon", "EOS 5D Mark IV"
TAKEN = "2023:07:14 18:30:05"
ORIENTATION = 6

# A 16x16 HEIC (Make "Apple", Model "iPhone 12", Orientation 6) encoded once with
# pillow-heif, kept here because CI has no HEIC encoder.
HEIC_BASE64 = (
    "AAAAHGZ0eXBoZWljAAAAAG1pZjFoZWljbWlhZgAAAcdtZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAA"
    "AAAAAAAAAAAAADRpbG9jAAAAAERAAAIAAQAAAAAB6wABAAAAAAAAAQcAAgAAAAAC8gABAAAAAAAAAEwAAAA4aWlu"
    "ZgAAAAAAAgAAABVpbmZlAgAAAAABAABodmMxAAAAABVpbmZlAgAAAQACAABFeGlmAAAAAA5waXRtAAAAAAABAAAB"
    "BmlwcnAAAADlaXBjbwAAAHVodmNDAQNwAAAAkAAAAAAAHvAA/P34+AAADwNgAAEAGEABDAH//wNwAAADAJAAAAMA"
    "AAMAHroCQGEAAQApQgEBA3AAAAMAkAAAAwAAAwAeoCCBBZbqrprm4CGgwIAAAAyAAAADAIRiAAEABkQBwXPBiQAA"
    "ABNjb2xybmNseAABAA0ABoAAAAAUaXNwZQAAAAAAAABAAAAAQAAAAChjbGFwAAAAEAAAAAEAAAAQAAAAAf///9AA"
    "AAAC////0AAAAAIAAAAQcGl4aQAAAAADCAgIAAAACWlyb3QDAAAAGWlwbWEAAAAAAAAAAQABBoECAwWEhgAAABpp"
    "cmVmAAAAAAAAAA5jZHNjAAIAAQABAAABW21kYXQAAAEDKAGvEyCM0XDI9SAGB//9Fq8X86tW2Vx9jeijcVNKbJdd"
    "TBErLzo43DAn21hOp1kV12lzxXeEyQXC5YjvZM18TwC9e2ZRsPOzig7zvhcIx1e6Ua+3TteQGX8pUVrHTNCBBNSx"
    "BC8I+zlfuqCsJ7gJ4v3Du/RjEi4B6ex+/iuBz+S2B3/wEUpeM6UpdRfmmrqNFJFGtP///pkvisaagDktyT6vgtId"
    "MlgCnfu0wTfjY/+ut3izQCdsjVTy212ttdUQk/gcP2qeDGGNLSQ1Mwxp1gFYyfYe/YDQULtkHLF6W6ZEr4fvH93h"
    "pu635DfG+K8gqhsTbUnmIPJeEn2o1J/VfZt9wAAAAAZFeGlmAABNTQAqAAAACAADAQ8AAgAAAAYAAAAyARAAAgAA"
    "AAoAAAA4ARIAAwAAAAEABgAAAAAAAEFwcGxlAGlQaG9uZSAxMgA="
)


def camera_exif(*, gps: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE
    exif[ExifTags.Base.Model] = MODEL
    exif[ExifTags.Base.Orientation] = ORIENTATION
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = TAKEN
    if gps:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = "N"
        info[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.6)
        info[ExifTags.GPS.GPSLongitudeRef] = "E"
        info[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.2)
    return exif


@functools.cache
def icc_profile() -> bytes:
    """One sRGB profile per test run (the profile records its creation time)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def noise(size: tuple[int, int] = (64, 48), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def make_photo(path: Path, *, gps: bool = True) -> Path:
    """A JPEG, PNG or TIFF (by extension) with camera EXIF and an ICC profile; HEIC from
    :data:`HEIC_BASE64`; GIF plain."""
    suffix = path.suffix.lower()
    if suffix == ".heic":
        path.write_bytes(base64.b64decode(HEIC_BASE64))
        return path
    if suffix == ".gif":
        noise().convert("P").save(path, "GIF")
        return path
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}[suffix]
    extra = {"quality": 90} if fmt == "JPEG" else {}
    noise().save(path, fmt, exif=camera_exif(gps=gps), icc_profile=icc_profile(), **extra)
    if fmt == "TIFF":
        _tiff_sub_ifds(path, gps=gps)
    return path


def _tiff_sub_ifds(path: Path, *, gps: bool) -> None:
    """Pillow writes only IFD0 into a TIFF; the date and GPS live in sub-IFDs, so a camera
    TIFF gets them from exiv2 here (standing in for the camera)."""
    import pyexiv2

    values = {"Exif.Photo.DateTimeOriginal": TAKEN}
    if gps:
        values.update({
            "Exif.GPSInfo.GPSLatitudeRef": "N", "Exif.GPSInfo.GPSLatitude": "48/1 51/1 296/10",
            "Exif.GPSInfo.GPSLongitudeRef": "E", "Exif.GPSInfo.GPSLongitude": "2/1 17/1 402/10",
        })
    with pyexiv2.Image(str(path)) as image:
        image.modify_exif(values)


def plant_keywords(path: Path, keywords: list[str], *, iptc: bool = False,
                   city: str | None = None) -> None:
    """Another tool's keywords: an XMP dc:subject bag (and IPTC Keywords when asked)."""
    import pyexiv2

    items = "".join(f"<rdf:li>{k}</rdf:li>" for k in keywords)
    city_attr = f' photoshop:City="{city}"' if city else ""
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"{city_attr}>'
        f"<dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    with pyexiv2.Image(str(path)) as image:
        image.modify_raw_xmp(packet)
        if iptc:
            image.modify_iptc({"Iptc.Application2.Keywords": keywords})


def exiftool_json(path: Path, *args: str) -> dict[str, object]:
    """ExifTool's reading of ``path`` (``-G1 -struct``, numbers unformatted)."""
    exe = shutil.which("exiftool")
    if exe is None:
        raise RuntimeError("exiftool is not installed")
    out = subprocess.run([exe, "-j", "-G1", "-struct", "-n", *args, str(path)],
                         capture_output=True, check=True).stdout
    return json.loads(out)[0]


def exiftool_binary(path: Path, tag: str) -> bytes:
    exe = shutil.which("exiftool")
    if exe is None:
        raise RuntimeError("exiftool is not installed")
    return subprocess.run([exe, "-b", f"-{tag}", str(path)], capture_output=True,
                          check=True).stdout


def as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def jpeg_scan_data(data: bytes) -> bytes:
    """Everything from the first SOS marker on: the entropy-coded image data."""
    pos = 2
    while data[pos + 1] != 0xDA:
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return data[pos:]


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
