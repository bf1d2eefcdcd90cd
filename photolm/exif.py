# SPDX-License-Identifier: GPL-3.0-or-later
"""Date taken, camera and GPS position of a photo, read with exifread.

exifread is pure Python and parses only the metadata blocks (JPEG APP1, TIFF IFDs, PNG eXIf,
WebP, HEIC ``Exif`` item), so reading is cheap next to decoding the pixels. Maker notes and
thumbnails are skipped (``details=False``, ``extract_thumbnail=False``): they are the biggest,
least standard parts of EXIF and photolm needs neither.

Metadata is a nice-to-have: a photo with broken EXIF is still a photo. :func:`read_exif`
therefore never raises; a field that is missing or nonsensical (a GPS latitude of 95°, a
zero denominator, a ``0000:00:00`` date) is ``None``.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

# exifread logs "no EXIF found" and similar at WARNING for perfectly ordinary photos; with no
# logging configured, Python's last-resort handler would print one such line per photo during
# a scan. Quieten it unless the application has chosen a level for that logger itself.
_exifread_log = logging.getLogger("exifread")
if _exifread_log.level == logging.NOTSET:
    _exifread_log.setLevel(logging.ERROR)

_DATE = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):(\d{2})\s*$")

# (date tag, offset tag) in order of preference: when the shutter fired, when it was
# digitised (scans), when the file was last written.
_DATE_TAGS = (
    ("EXIF DateTimeOriginal", "EXIF OffsetTimeOriginal"),
    ("EXIF DateTimeDigitized", "EXIF OffsetTimeDigitized"),
    ("Image DateTime", "EXIF OffsetTime"),
)


@dataclass(frozen=True)
class ExifInfo:
    """What photolm keeps from a photo's EXIF; every field may be unknown."""

    taken: str | None = None  # ISO 8601, e.g. "2023-07-14T18:30:05+02:00" (offset if known)
    camera_make: str | None = None
    camera_model: str | None = None
    latitude: float | None = None  # signed decimal degrees, north positive
    longitude: float | None = None  # signed decimal degrees, east positive
    altitude: float | None = None  # metres, negative below sea level
    orientation: int | None = None  # EXIF orientation 1..8


def read_exif(path: Path | str) -> ExifInfo:
    """Read the EXIF fields photolm uses; an empty :class:`ExifInfo` when there are none.

    Never raises: an unreadable file or broken metadata gives empty fields, because the
    caller (the scan) has already decoded the pixels and must not lose the photo over it.
    """
    return _info(_read_tags(path))


def exif_from_block(block: bytes) -> ExifInfo:
    """The same fields from an EXIF block a decoder already read (Pillow's
    ``info["exif"]``: a TIFF header, with or without the ``Exif\0\0`` prefix), so the scan
    need not open the photo again for its metadata. Never raises."""
    if block.startswith(b"Exif\x00\x00"):
        block = block[6:]
    return _info(_exifread_tags(io.BytesIO(block[:_MAX_READ])))


def exif_from_handle(handle: BinaryIO) -> ExifInfo:
    """The same fields from a photo the caller already has open (read from its start,
    leaving the position wherever exifread stopped). Never raises."""
    try:
        handle.seek(0)
    except OSError:
        return ExifInfo()
    return _info(_exifread_tags(handle))


def _info(tags: dict[str, Any]) -> ExifInfo:
    if not tags:
        return ExifInfo()
    latitude = _coordinate(tags, "GPS GPSLatitude", "GPS GPSLatitudeRef", "S", 90.0)
    longitude = _coordinate(tags, "GPS GPSLongitude", "GPS GPSLongitudeRef", "W", 180.0)
    if latitude is None or longitude is None or (latitude == 0.0 and longitude == 0.0):
        # Half a position is no position, and exactly (0, 0) is what devices without a fix
        # write, not a photo taken in the Gulf of Guinea.
        latitude = longitude = None
    return ExifInfo(
        taken=_taken(tags),
        camera_make=_text(tags.get("Image Make")),
        camera_model=_text(tags.get("Image Model")),
        latitude=latitude,
        longitude=longitude,
        altitude=_altitude(tags),
        orientation=_orientation(tags),
    )


# A camera JPEG's EXIF takes exifread about 80 reads (maker notes are skipped); this is over
# a thousand times that, and a corrupt file that sends it round a loop reaches it in well
# under a second.
_READ_BUDGET = 100_000
_MAX_READ = 16 << 20  # no EXIF field is 16 MB; a count claiming more is a corrupt one


class _ExifReadBudgetExceeded(Exception):
    """exifread kept reading far beyond what any real EXIF block needs."""


class _BoundedReader:
    """The file as exifread sees it, with its work bounded.

    exifread trusts the sizes and counts it finds: an ISO-BMFF box whose 64-bit size is 0
    makes its HEIC parser read the same box forever (one such photo would hang a scan), and
    a string count of 2**31 makes it read the rest of the file into memory. Counting and
    capping reads bounds every loop of that kind, whichever parser it is in.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._reads = 0

    def read(self, size: int = -1) -> bytes:
        self._reads += 1
        if self._reads > _READ_BUDGET:
            raise _ExifReadBudgetExceeded(f"more than {_READ_BUDGET} reads")
        if size is None or size < 0 or size > _MAX_READ:
            size = _MAX_READ
        return self._handle.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()


def _read_tags(path: Path | str) -> dict[str, Any]:
    tags = _exifread_tags(path)
    if not tags and _is_heif(path):
        tags = _heif_tags(path)
    return tags


_HEIF_KINDS = ("heic", "heif", "avif")


def _is_heif(path: Path | str) -> bool:
    from photolm.discovery import sniff_file

    try:
        return sniff_file(path) in _HEIF_KINDS
    except OSError:
        return False


def _heif_tags(path: Path | str) -> dict[str, Any]:
    """EXIF of a HEIF file through libheif, for files exifread's own HEIF parser refuses.

    exifread insists that a HEIF Exif item starts with ``Exif\0\0``; the format allows
    the TIFF header straight away, and libheif-based writers (darktable, GIMP, pillow-heif)
    write it so, so their photos' dates and GPS would be lost. pillow-heif (the [heic]
    extra) reads the item without decoding pixels; exifread then parses the TIFF block.
    """
    try:
        import pillow_heif
    except ImportError:
        return {}
    try:
        raw = pillow_heif.open_heif(os.fspath(path)).info.get("exif")
    except Exception:  # libheif refuses a broken file in many ways; the pixels decide later
        return {}
    if not isinstance(raw, bytes) or not raw:
        return {}
    if raw.startswith(b"Exif\x00\x00"):
        raw = raw[6:]
    return _exifread_tags(io.BytesIO(raw[:_MAX_READ]))


def _exifread_tags(source: Path | str | BinaryIO) -> dict[str, Any]:
    """exifread's tags of a file (a path) or of a TIFF block already in memory."""
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as handle:
                return _process(handle)
        return _process(source)
    except OSError:
        return {}


def _process(handle: BinaryIO) -> dict[str, Any]:
    import exifread  # imported here so commands that never read EXIF do not pay for it

    try:
        tags = exifread.process_file(
            _BoundedReader(handle), details=False, extract_thumbnail=False, strict=False
        )
    # exifread walks attacker-controlled offsets with plain indexing and struct unpacking;
    # on broken input it raises whatever that produces (IndexError, struct.error, KeyError,
    # ValueError, ZeroDivisionError, RecursionError, its own ExifError...), and the set
    # changes between releases. Only this third-party call is guarded; our own parsing of
    # its tags is not.
    except Exception:
        return {}
    return tags if isinstance(tags, dict) else {}


def _values(tag: Any) -> Any:
    return getattr(tag, "values", None)


def _text(tag: Any) -> str | None:
    value = _values(tag)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", " ").strip()
    return value or None


def _number(value: Any) -> float | None:
    """A finite float from an EXIF rational or integer; ``None`` for 0 denominators, NaN."""
    if isinstance(value, tuple) and len(value) == 1:  # exifread's form of FLOAT/DOUBLE values
        value = value[0]
    if isinstance(value, Fraction):
        # exifread keeps a rational with a zero denominator instead of raising.
        if value.denominator == 0:
            return None
        number = value.numerator / value.denominator
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        return None
    return number if math.isfinite(number) else None


def _coordinate(tags: dict[str, Any], key: str, ref_key: str, negative: str,
                limit: float) -> float | None:
    parts = _values(tags.get(key))
    if not isinstance(parts, list) or not 1 <= len(parts) <= 3:
        return None
    numbers: list[float] = []
    for part in parts:
        number = _number(part)
        if number is None:
            return None
        numbers.append(number)
    degrees, minutes, seconds = [*numbers, 0.0, 0.0][:3]
    if not (0.0 <= minutes < 60.0 and 0.0 <= seconds < 60.0):
        return None
    value = abs(degrees) + minutes / 60.0 + seconds / 3600.0
    ref = (_text(tags.get(ref_key)) or "").upper()[:1]
    if ref == negative or (not ref and degrees < 0):
        value = -value
    return value if abs(value) <= limit else None


def _altitude(tags: dict[str, Any]) -> float | None:
    parts = _values(tags.get("GPS GPSAltitude"))
    if not isinstance(parts, list) or len(parts) != 1:
        return None
    value = _number(parts[0])
    if value is None or abs(value) > 100_000:  # higher than any aircraft photo: nonsense
        return None
    ref = _values(tags.get("GPS GPSAltitudeRef"))
    if isinstance(ref, list) and ref and ref[0] == 1:
        value = -value
    return value


def _orientation(tags: dict[str, Any]) -> int | None:
    value = _values(tags.get("Image Orientation"))
    if isinstance(value, list) and value and isinstance(value[0], int) and 1 <= value[0] <= 8:
        return int(value[0])
    return None


def _taken(tags: dict[str, Any]) -> str | None:
    for date_key, offset_key in _DATE_TAGS:
        stamp = _parse_date(_text(tags.get(date_key)))
        if stamp is None:
            continue
        offset = _parse_offset(_text(tags.get(offset_key)))
        return stamp + (offset or "")
    return None


def _parse_date(text: str | None) -> str | None:
    match = _DATE.match(text or "")
    if match is None:
        return None
    try:  # rejects the "0000:00:00 00:00:00" that cameras with an unset clock write
        moment = datetime(*(int(g) for g in match.groups()))
    except ValueError:
        return None
    return moment.isoformat(timespec="seconds")


def _parse_offset(text: str | None) -> str | None:
    match = _OFFSET.match(text or "")
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 14 or int(minutes) >= 60:
        return None
    return f"{sign}{hours}:{minutes}"
