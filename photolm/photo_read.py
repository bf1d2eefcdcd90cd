# SPDX-License-Identifier: GPL-3.0-or-later
"""Everything the scan needs from one photo, read through one open file.

The scan used to open each photo three times: to fingerprint it, to decode it, and for
exifread to find the EXIF block Pillow had already parsed while decoding. Here one handle
serves all three: the fingerprint reads its head and tail, Pillow decodes from it, and the
EXIF fields come from the block Pillow hands over (``info["exif"]``), or, for formats that
keep EXIF elsewhere (TIFF), from exifread on the same handle. A camera RAW is the one
exception: LibRaw reads its preview by path (see :mod:`photolm.raw`).

Never raises for a bad photo: failures are results (``error``), because every photo found
must end up in the catalogue, with a fingerprint when one could be taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from photolm.bundle import Preprocess
from photolm.errors import ImageError
from photolm.exif import ExifInfo, exif_from_block, exif_from_handle
from photolm.fingerprint import fingerprint_handle
from photolm.images import DEFAULT_MAX_PIXELS, decode_target, decode_upright, to_model_input
from photolm.raw import is_raw, open_raw_preview


@dataclass(frozen=True)
class PhotoRead:
    """What one read of a photo gave: any field may be missing when ``error`` says why."""

    fingerprint: str | None = None
    pixels: np.ndarray | None = None  # the model's (3, size, size) float32 input
    exif: ExifInfo | None = None
    error: str | None = None


def read_photo(path: Path | str, pre: Preprocess, *, size: int | None = None,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> PhotoRead:
    """Fingerprint, model input and EXIF facts of one photo, opening it once.

    ``size`` is the size the walk saw (the fingerprint hashes it, so a file growing while
    it is read cannot give two fingerprints for one scan). Never raises for a bad photo.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return _read_open(handle, path, pre, size, max_pixels)
    except OSError as exc:  # opening it; the reads inside report their own failures
        return PhotoRead(error=os_message(exc))


def _read_open(handle: BinaryIO, path: Path, pre: Preprocess, size: int | None,
               max_pixels: int) -> PhotoRead:
    try:
        fp = fingerprint_handle(handle, size)
        handle.seek(0)
    except OSError as exc:
        return PhotoRead(error=os_message(exc))
    try:
        if is_raw(path):
            image = open_raw_preview(path, decode_target(pre), min_side=pre.size,
                                     max_pixels=max_pixels)
            block = None
        else:
            decoded = decode_upright(handle, path, decode_target(pre),
                                     max_pixels=max_pixels, stored_min=pre.size)
            image, block = decoded.image, decoded.exif_block
        pixels = to_model_input(image, pre)
    except ImageError as exc:
        return PhotoRead(fingerprint=fp, error=str(exc))
    exif = exif_from_block(block) if block else exif_from_handle(handle)
    return PhotoRead(fingerprint=fp, pixels=pixels, exif=exif)


# What a failure to open or read the file says (here, and in images.py and raw.py): nothing
# about the photo in it. Fixing it (chmod, a share or a stick back) changes neither the
# file's size nor its modification time, so the scan tries such a photo again instead of
# counting it "known unreadable" as it does a corrupt one.
_ACCESS_FAILURES = ("permission denied: cannot read the file", "cannot read the file:",
                    "file vanished during the scan", "file not found")


def access_failure(error: str | None) -> bool:
    """Whether a photo's recorded error is the file not being readable, not its content."""
    return error is not None and error.startswith(_ACCESS_FAILURES)


def os_message(exc: OSError) -> str:
    """One line for an OS failure to read a photo the walk had just listed."""
    if isinstance(exc, PermissionError):
        return "permission denied: cannot read the file"
    if isinstance(exc, FileNotFoundError):
        return "file vanished during the scan"
    if isinstance(exc, IsADirectoryError):
        return "not a file (it is a folder)"
    return f"cannot read the file: {exc.strerror or exc}"
