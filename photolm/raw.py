# SPDX-License-Identifier: GPL-3.0-or-later
"""Camera RAW photos, recognised from the JPEG preview the camera stored inside them.

A RAW development (demosaicing 20-50 MP of sensor data) costs seconds a photo and would
still not look like the camera's JPEG the model learnt from; the preview every camera embeds
*is* that JPEG, usually at full or near-full size. LibRaw (through rawpy) finds it in every
maker's container and hands over its bytes without touching the sensor data, so a RAW costs
about what a JPEG does. Files whose preview was stripped (as in ExifTool's test samples)
or is too small to recognise anything in get one clear error line, never a guess.

LibRaw opens the file by path: given a file object, rawpy would read the whole 25 MB RAW
into memory, while by path LibRaw reads only the header and the preview.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from photolm.discovery import RAW_EXTENSIONS
from photolm.errors import ImageError
from photolm.images import DEFAULT_MAX_PIXELS, decode_preview
from photolm.native_paths import utf8_path

RAW_MISSING = "camera RAW support is not installed: pip install rawpy"

# LibRaw's flip (0, 3, 5, 6) as the EXIF orientation it stands for.
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}


def is_raw(path: Path | str) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in RAW_EXTENSIONS


def open_raw_preview(path: Path | str, target: int | None, *, min_side: int = 1,
                     max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """The RAW's embedded preview as upright RGB, draft-decoded like a JPEG photo.

    ``min_side``: a preview whose shorter side is below this is refused (an 160x120 EXIF
    thumbnail would only be upscaled noise to the model). Raises :class:`ImageError`.
    """
    try:
        import rawpy
    except ImportError:
        raise ImageError(RAW_MISSING) from None
    try:
        with _opened(path) as source, rawpy.imread(source) as raw:
            thumb = raw.extract_thumb()
            orientation = _FLIP_TO_ORIENTATION.get(int(raw.sizes.flip), 1)
    except rawpy.LibRawNoThumbnailError:
        raise ImageError("RAW photo without an embedded preview: photolm recognises RAW "
                         "photos from the JPEG preview the camera stores in them") from None
    except rawpy.LibRawFileUnsupportedError:
        raise ImageError("unsupported or corrupt RAW file") from None
    except (rawpy.LibRawError, MemoryError, ValueError) as exc:
        raise ImageError(f"corrupt RAW file: {_reason(exc)}") from None
    except OSError as exc:
        raise ImageError(f"cannot read the file: {exc.strerror or exc}") from None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        img = decode_preview(bytes(thumb.data), target, orientation=orientation,
                             max_pixels=max_pixels)
    else:  # an uncompressed RGB bitmap (some old cameras): used as LibRaw returns it
        img = Image.fromarray(np.ascontiguousarray(thumb.data, dtype=np.uint8)).convert("RGB")
    if min(img.size) < min_side:
        width, height = img.size
        raise ImageError(f"the RAW's embedded preview is only {width}x{height} pixels, "
                         "too small to recognise")
    return img


@contextmanager
def _opened(path: Path | str) -> Iterator[str | BinaryIO]:
    """What LibRaw opens: the path, or the open file when the path is not UTF-8 (LibRaw
    then reads the whole RAW into memory, the price of a name it cannot take)."""
    native = utf8_path(path)
    if native is not None:
        yield native
        return
    with open(path, "rb") as handle:
        yield handle


def _reason(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return " ".join(str(text).split())[:160] or type(exc).__name__
