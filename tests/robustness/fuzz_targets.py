# SPDX-License-Identifier: GPL-3.0-or-later
"""The fuzzing property, shared by the hypothesis tests and the atheris harness.

:func:`check_file` is what "robust" means for the code that reads photos: a result of the
right shape and range, or an ``ImageError`` for decoding; an ``ExifInfo`` of sane values and
no exception at all for metadata. Any other outcome (another exception, NaN in the model
input, a latitude of 95 degrees) raises ``AssertionError`` or the exception itself.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from photolm.bundle import Preprocess
from photolm.errors import ImageError
from photolm.exif import ExifInfo, read_exif
from photolm.images import image_info, load_for_model

PRE = Preprocess(size=32, resize=36, crop="center", interpolation="bilinear")
# A lower pixel ceiling than the scan's keeps a fuzzer from spending its time decoding
# headers that claim 150 MP; the code path (header check, then decode) is the same.
MAX_PIXELS = 4_000_000


def check_file(path: Path) -> str:
    """Run every reader on ``path``; returns ``"ok"`` or ``"image-error"`` for statistics."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's "Corrupt EXIF" chatter is not a failure
        try:
            array = load_for_model(path, PRE, max_pixels=MAX_PIXELS)
        except ImageError as exc:
            assert str(exc) and "\n" not in str(exc), repr(str(exc))
            outcome = "image-error"
        else:
            assert array.shape == (3, PRE.size, PRE.size) and array.dtype == np.float32
            assert np.isfinite(array).all()
            # mean 0.5, std 0.5: pixels in [0, 1] map to [-1, 1]
            assert array.min() >= -1.0 - 1e-5 and array.max() <= 1.0 + 1e-5
            outcome = "ok"
        try:
            info = image_info(path, max_pixels=MAX_PIXELS)
        except ImageError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert info.width > 0 and info.height > 0
        check_exif(read_exif(path))
    return outcome


def check_exif(info: ExifInfo) -> None:
    assert isinstance(info, ExifInfo)
    if info.latitude is not None or info.longitude is not None:
        assert info.latitude is not None and info.longitude is not None
        assert math.isfinite(info.latitude) and -90.0 <= info.latitude <= 90.0
        assert math.isfinite(info.longitude) and -180.0 <= info.longitude <= 180.0
    if info.altitude is not None:
        assert math.isfinite(info.altitude)
    if info.orientation is not None:
        assert 1 <= info.orientation <= 8
    for text in (info.taken, info.camera_make, info.camera_model):
        assert text is None or (isinstance(text, str) and text.strip() == text and text)


def seeds() -> dict[str, bytes]:
    """Small valid photos of every format photolm opens, several with EXIF and GPS."""
    from tests import imagefactory as factory

    exif = factory.exif_block(orientation=6)
    base = Image.new("RGB", (24, 16), (200, 30, 30))
    base.paste((30, 200, 30), (0, 0, 8, 8))
    out: dict[str, bytes] = {}
    for name, fmt, img, kwargs in (
        ("exif.jpg", "JPEG", base, {"exif": exif, "quality": 80}),
        ("plain.jpg", "JPEG", base, {"quality": 50}),
        ("progressive.jpg", "JPEG", base, {"progressive": True}),
        ("cmyk.jpg", "JPEG", base.convert("CMYK"), {}),
        ("grey.jpg", "JPEG", base.convert("L"), {}),
        ("exif.png", "PNG", base, {"exif": exif}),
        ("palette.png", "PNG", base.convert("P"), {"transparency": 0}),
        ("rgba.png", "PNG", base.convert("RGBA"), {}),
        ("exif.tif", "TIFF", base, {"exif": exif}),
        ("lzw.tif", "TIFF", base, {"compression": "tiff_lzw"}),
        ("plain.webp", "WEBP", base, {"exif": exif}),
        ("plain.gif", "GIF", base, {}),
        ("plain.bmp", "BMP", base, {}),
    ):
        buf = io.BytesIO()
        img.save(buf, fmt, **kwargs)
        out[name] = buf.getvalue()
    buf = io.BytesIO()
    frames = [Image.new("RGB", (12, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    out["animated.gif"] = buf.getvalue()
    out["heic-header.heic"] = factory.HEIC_HEADER + bytes(32)
    return out
