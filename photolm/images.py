# SPDX-License-Identifier: GPL-3.0-or-later
"""Open users' photos safely and fast, and turn them into the model's input tensor.

Decoding, not the network, is what limits a scan (docs: ~15-25 photos/s per core), so a JPEG
is decoded with libjpeg's DCT scaling (``Image.draft``) straight to the smallest power-of-two
reduction that is still at least as large as the model needs, typically 1/8 of a 12 MP photo.

Safety: the pixel count is checked from the header before anything is decoded (a 20,000 x
20,000 PNG is a few KB on disk and 1.2 GB in memory); only photo formats are tried, so a file
named ``.jpg`` holding something exotic never reaches an unexpected decoder; truncated files
are errors rather than grey-padded images (``ImageFile.LOAD_TRUNCATED_IMAGES`` is left alone).

Every failure is an :class:`~photolm.errors.ImageError` with one short line that the scan
stores beside the photo. Nothing here holds mutable state apart from the one-time HEIF plugin
registration (under a lock), so the scan may call :func:`load_for_model` from many threads.
"""

from __future__ import annotations

import io
import logging
import struct
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from photolm.bundle import Preprocess
from photolm.discovery import sniff_format
from photolm.errors import ImageError

DEFAULT_MAX_PIXELS = 200_000_000

HEIC_MISSING = "HEIC support is not installed: pip install 'photolm[heic]'"

# Pillow format names tried when opening; anything else (EPS, PSD, FITS...) is refused.
# MPO is what Pillow calls a camera JPEG that carries extra pictures (depth maps, previews).
PHOTO_FORMATS = ("JPEG", "MPO", "PNG", "TIFF", "WEBP", "GIF", "BMP", "AVIF", "HEIF")

_RESAMPLE = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
}

# Pillow logs some refusals itself before raising, e.g. logger.error("More samples per pixel
# than can be decoded: 19715") for a broken TIFF; with no logging configured, Python's
# last-resort handler prints that on stderr beside the one warning line the scan already
# prints for the photo (from the exception). Quieten Pillow's loggers unless the application
# has chosen a level for them itself.
_pil_log = logging.getLogger("PIL")
if _pil_log.level == logging.NOTSET:
    _pil_log.setLevel(logging.CRITICAL)

_WHITE = (255, 255, 255)
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")

# Pillow warns (DecompressionBombWarning) from 89 MP up, which would print a scary line for
# every legitimate 100 MP medium-format photo; our explicit limit, checked before decoding,
# replaces it. The filter is process-wide because ``warnings.catch_warnings`` is not
# thread-safe, and (re)installed on each open because code that does use catch_warnings
# (test runners, for one) restores the filter list it found.
_BOMB_FILTER = ("ignore", None, Image.DecompressionBombWarning, None, 0)

# Pillow refuses a file over 2 x MAX_IMAGE_PIXELS while it parses the header, before our own
# check runs, so its default (89.5 MP, refusing from 179 MP) would tell people a number the
# README does not: align it with ours, so every refusal says the one limit, 200 MP.
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS // 2

# EXIF orientation -> the transpose that makes the photo upright (EXIF 2.3, tag 0x0112).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# The Pillow plugins (PIL.<name>ImagePlugin) that open PHOTO_FORMATS; HEIF is pillow-heif's.
_PHOTO_PLUGINS = ("Jpeg", "Mpo", "Png", "Tiff", "WebP", "Gif", "Bmp", "Avif")
_plugins_imported = False
_heif_lock = threading.Lock()
_heif_registered = False
_libtiff_lock = threading.Lock()
_libtiff_silenced = False

# Pillow reads a truncated file, hits the end and raises OSError; it also raises these for
# malformed headers and chunks. All are "this file is damaged", never a bug of ours.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)


@dataclass(frozen=True)
class ImageInfo:
    """Dimensions as displayed (EXIF orientation applied) and the detected file format."""

    width: int
    height: int
    format: str


def load_for_model(
    path: Path | str, pre: Preprocess, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Decode a photo into the model's input: a ``(3, size, size)`` float32 array.

    Raises :class:`ImageError` (one short line) when the file cannot be used.
    """
    return to_model_input(open_rgb(path, decode_target(pre), max_pixels=max_pixels,
                                   stored_min=pre.size), pre)


def decode_target(pre: Preprocess) -> int:
    """The side both dimensions of a reduced (DCT-scaled) JPEG decode must keep."""
    return pre.resize if pre.crop == "center" else pre.size


def to_model_input(img: Image.Image, pre: Preprocess) -> np.ndarray:
    """The evaluation transform shared with the trainer (docs/architecture.md).

    The shorter side becomes ``resize`` and the longer ``int(long * resize / short + 0.5)``
    (rounded half up); the centre crop's offsets are ``(w - size) // 2`` and
    ``(h - size) // 2``; then ``/ 255``, ``- mean``, ``/ std`` in float32, HWC -> CHW. With
    ``crop == "none"`` the image is resized straight to ``size x size``. These are the exact
    formulas of ``trainer.transforms.eval_array``: change both or neither.
    """
    if img.mode != "RGB":
        img = to_rgb(img)
    resample = _RESAMPLE[pre.interpolation]
    if pre.crop == "none":
        if img.size != (pre.size, pre.size):
            img = img.resize((pre.size, pre.size), resample)
    else:
        width, height = img.size
        if width <= height:
            new_size = (pre.resize, max(1, int(height * pre.resize / width + 0.5)))
        else:
            new_size = (max(1, int(width * pre.resize / height + 0.5)), pre.resize)
        if img.size != new_size:
            img = img.resize(new_size, resample)
        left = (new_size[0] - pre.size) // 2
        top = (new_size[1] - pre.size) // 2
        img = img.crop((left, top, left + pre.size, top + pre.size))
    pixels = np.asarray(img, dtype=np.float32) / np.float32(255.0)
    mean = np.asarray(pre.mean, dtype=np.float32)
    std = np.asarray(pre.std, dtype=np.float32)
    return np.ascontiguousarray(((pixels - mean) / std).transpose(2, 0, 1), dtype=np.float32)


def open_rgb(
    path: Path | str, target: int | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS,
    stored_min: int | None = None,
) -> Image.Image:
    """Decode a photo to an upright RGB image whose sides are both at least ``target`` px
    (or as large as the photo when it is smaller); ``target=None`` decodes at full size.

    The draft request is the square ``(target, target)``: libjpeg then keeps *both* sides at
    least ``target``, so the result is large enough whatever the EXIF orientation swaps and
    whichever side ends up shorter. ``stored_min`` lets a HEIC be read from its smallest
    stored thumbnail whose sides are both at least that (see :func:`decode_upright`).
    """
    path = Path(path)
    with _open_file(path) as handle:
        return decode_upright(handle, path, target, max_pixels=max_pixels,
                              stored_min=stored_min).image


@dataclass(frozen=True)
class Decoded:
    """An upright RGB image and the EXIF block its decoder already parsed (``None`` when
    the format keeps EXIF where Pillow does not hand it over as one block, e.g. TIFF)."""

    image: Image.Image
    exif_block: bytes | None
    orientation: int | None = None  # the EXIF orientation that was applied, if any


def decode_upright(
    handle: BinaryIO, path: Path, target: int | None, *, max_pixels: int = DEFAULT_MAX_PIXELS,
    stored_min: int | None = None,
) -> Decoded:
    """:func:`open_rgb` on a file the caller has open, so the scan reads each photo once.

    A HEIC is decoded from its smallest stored thumbnail whose sides are both at least
    ``stored_min`` (pillow-heif's ``draft``; iPhones store a 320x240 one), because a full
    HEIC decode costs ~10 JPEGs and the model sees a 224 px crop anyway; without such a
    thumbnail the full image is decoded.
    """
    img, kind = _identify(handle, path, max_pixels)
    try:
        if target and img.format in ("JPEG", "MPO"):
            img.draft("RGB", (target, target))
        elif stored_min and img.format == "HEIF":
            img.draft("RGB", (stored_min, stored_min))
        img.load()
    except Image.DecompressionBombError:  # a later GIF frame or TIFF page claims more
        raise ImageError(_too_large_message(None, max_pixels)) from None
    except MemoryError:
        raise ImageError("not enough memory to decode this image") from None
    except _DECODE_ERRORS as exc:
        raise _unreadable(exc) or ImageError(f"truncated or corrupt {_label(img.format, kind)}: "
                                             f"{_reason(exc)}") from None
    block = img.info.get("exif")
    # Applied as ``ImageOps.exif_transpose`` would, without rewriting the EXIF block (a
    # decoded copy does not need it, and that can fail on broken EXIF); read while the
    # file is open, because some formats read EXIF lazily.
    orientation = _exif_orientation(img)
    method = _TRANSPOSE.get(orientation or 1)
    if method is not None:
        img = img.transpose(method)
    try:
        rgb = to_rgb(img)
    except MemoryError:
        raise ImageError("not enough memory to decode this image") from None
    except ValueError as exc:  # e.g. a LAB TIFF, which Pillow cannot convert to RGB
        raise ImageError(f"unsupported colour mode {img.mode}: {_reason(exc)}") from None
    return Decoded(rgb, block if isinstance(block, bytes) and block else None, orientation)


def decode_preview(data: bytes, target: int | None, *, orientation: int | None,
                   max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """An embedded JPEG preview (a camera RAW's) to upright RGB, with the same limits and
    draft decoding as a photo. ``orientation`` is the container's: previews usually carry
    no EXIF of their own, and when one does, its own orientation wins."""
    decoded = decode_upright(io.BytesIO(data), Path("preview.jpg"), target,
                             max_pixels=max_pixels)
    method = _TRANSPOSE.get(orientation or 1)
    if decoded.orientation in (None, 1) and method is not None:
        return decoded.image.transpose(method)
    return decoded.image


def image_info(path: Path | str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Size and format from the header alone (no pixel decoding); same errors as decoding."""
    path = Path(path)
    with _open_file(path) as handle:
        img, _ = _identify(handle, path, max_pixels)
        width, height = img.size
        if _exif_orientation(img) in (5, 6, 7, 8):
            width, height = height, width
        return ImageInfo(width, height, (img.format or "unknown").lower())


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any decoded mode to 8-bit RGB the way a viewer would show it.

    Transparent areas become white (Pillow's plain ``convert("RGB")`` drops alpha and
    shows whatever colour the transparent pixels happen to hold, often black); 16-bit and
    float greyscale are scaled to 8 bits rather than clipped at 255; CMYK (Adobe-inverted
    JPEGs included) goes through Pillow's decoder-aware conversion.
    """
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in _SIXTEEN_BIT:
        wide = np.clip(np.asarray(img).astype(np.int64), 0, 65535)
        narrow = ((wide * 255 + 32767) // 65535).astype(np.uint8)
        return Image.fromarray(narrow).convert("RGB")
    if mode == "F":
        values = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0)
        if values.size and values.max() <= 1.0:  # float images are usually 0..1
            values = values * 255.0
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8)).convert("RGB")
    if mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


# -- internals ------------------------------------------------------------------------------
def _open_file(path: Path) -> BinaryIO:
    """``open(path, "rb")`` with every OS failure turned into an :class:`ImageError`.

    We hand Pillow a file object we own, not the path, so closing it afterwards cannot
    invalidate the decoded image (``Image.close`` would) and no descriptor is left behind
    for multi-frame formats, which Pillow keeps open for seeking.
    """
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except IsADirectoryError:
        raise ImageError("not a file (it is a folder)") from None
    except PermissionError:
        raise ImageError("permission denied: cannot read the file") from None
    except OSError as exc:
        raise ImageError(f"cannot read the file: {exc.strerror or exc}") from None


def _identify(handle: BinaryIO, path: Path, max_pixels: int) -> tuple[Image.Image, str | None]:
    """Open the header with Pillow and enforce the pixel limit; nothing is decoded yet."""
    try:
        head = handle.read(16)
        handle.seek(0)
    except OSError as exc:
        raise ImageError(f"cannot read the file: {exc.strerror or exc}") from None
    if not head:
        raise ImageError("empty file")
    kind = sniff_format(head)
    if _BOMB_FILTER not in warnings.filters:
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    heif_ready = kind in ("heic", "heif") and _enable_heif()
    if kind == "tiff":
        _silence_libtiff()
    try:
        img = Image.open(handle, formats=_available_formats())
    except UnidentifiedImageError:
        raise ImageError(_unidentified_message(kind, path, heif_ready)) from None
    except Image.DecompressionBombError:
        raise ImageError(_too_large_message(None, max_pixels)) from None
    except MemoryError:
        raise ImageError("not enough memory to read this image's header") from None
    except _DECODE_ERRORS as exc:
        raise _unreadable(exc) or ImageError(f"corrupt {_label(None, kind)}: "
                                             f"{_reason(exc)}") from None
    width, height = img.size
    if width <= 0 or height <= 0:
        raise ImageError(f"corrupt {_label(img.format, kind)}: it claims {width}x{height} pixels")
    if width * height > max_pixels:
        raise ImageError(_too_large_message((width, height), max_pixels))
    return img, kind


def _available_formats() -> tuple[str, ...]:
    # Image.open raises KeyError for a requested format no plugin provides (HEIF without
    # pillow-heif, AVIF in a Pillow built without libavif), so offer only what exists.
    _import_photo_plugins()
    return tuple(name for name in PHOTO_FORMATS if name in Image.OPEN)


def _import_photo_plugins() -> None:
    """Import Pillow's plugins for :data:`PHOTO_FORMATS` only. ``Image.init()`` would import
    all of Pillow's plugins on the first photo of every scan, while the other workers wait
    on the same imports, for formats photolm refuses anyway (docs/performance.md)."""
    global _plugins_imported
    if _plugins_imported:
        return
    import contextlib
    import importlib

    for name in _PHOTO_PLUGINS:
        # e.g. AVIF in a Pillow without it: then not offered, as before
        with contextlib.suppress(ImportError):
            importlib.import_module(f"PIL.{name}ImagePlugin")
    _plugins_imported = True


def _enable_heif() -> bool:
    """Register pillow-heif's opener once, on the first HEIC/HEIF photo; False if missing."""
    global _heif_registered
    try:
        import pillow_heif
    except ImportError:
        return False
    with _heif_lock:
        if not _heif_registered:
            pillow_heif.register_heif_opener()
            _heif_registered = True
    return True


def _silence_libtiff() -> None:
    """Stop libtiff printing its own lines for damaged TIFFs, once per process.

    On a corrupt LZW strip libtiff writes e.g. "LZWDecode: Not enough data at scanline 0"
    straight to the process's stderr, beside the one warning line the scan prints for that
    photo. Pillow installs a handler for libtiff's warnings but not for its errors; the
    error still reaches us as Pillow's "decoder error", so dropping libtiff's global error
    handlers loses nothing. Best effort: where the library cannot be found, nothing changes.
    """
    global _libtiff_silenced
    with _libtiff_lock:
        if _libtiff_silenced:
            return
        _libtiff_silenced = True
        import ctypes

        for path in _libtiff_paths():
            try:
                lib = ctypes.CDLL(path)  # the library already mapped: dlopen returns it
            except OSError:
                continue
            for name in ("TIFFSetErrorHandler", "TIFFSetErrorHandlerExt"):
                setter = getattr(lib, name, None)
                if setter is not None:
                    setter.argtypes = [ctypes.c_void_p]
                    setter.restype = ctypes.c_void_p
                    setter(None)  # libtiff documents NULL as "no handler"


def _libtiff_paths() -> list[str]:
    """The libtiff Pillow's decoder uses: as mapped into this process (Linux), else where
    Pillow's wheels bundle it, else the system's."""
    import glob
    import os

    paths: list[str] = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and "libtiff" in os.path.basename(fields[5].strip()):
                    paths.append(fields[5].strip())
    except OSError:  # not Linux
        pass
    if not paths:
        import ctypes.util

        import PIL

        base = os.path.dirname(PIL.__file__)
        paths += glob.glob(os.path.join(base, os.pardir, "pillow.libs", "libtiff*"))
        paths += glob.glob(os.path.join(base, ".dylibs", "libtiff*"))
        system = ctypes.util.find_library("tiff")
        if system:
            paths.append(system)
    return list(dict.fromkeys(paths))


def _unidentified_message(kind: str | None, path: Path, heif_ready: bool) -> str:
    if kind in ("heic", "heif") and not heif_ready:
        return HEIC_MISSING
    if kind == "avif" and "AVIF" not in Image.OPEN:
        return "AVIF support is missing from this Pillow build: pip install -U pillow"
    if kind is None and path.suffix.lower() in (".heic", ".heif"):
        return "not a HEIC image (unrecognised content)"
    if kind is not None:
        return f"corrupt {_label(None, kind)}: its header cannot be read"
    return "not an image (unrecognised content)"


def _too_large_message(size: tuple[int, int] | None, max_pixels: int) -> str:
    if size is None:
        # Pillow's own decompression-bomb guard (2 x Image.MAX_IMAGE_PIXELS) fired first.
        ceiling = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
        return f"image too large: it exceeds the {_megapixels(ceiling)} MP safety limit"
    width, height = size
    return (f"image too large: {width}x{height} pixels exceeds the "
            f"{_megapixels(max_pixels)} MP safety limit")


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.3g}"


def _label(pillow_format: str | None, kind: str | None) -> str:
    name = (pillow_format or kind or "").upper()
    if not name:
        return "image"
    return "JPEG" if name == "MPO" else name


def _unreadable(exc: BaseException) -> ImageError | None:
    """The file failing a read (an OS error number: EIO from a share or a stick pulled out),
    not its content: worded as photo_read.access_failure knows, so a later scan tries the
    photo again instead of counting it corrupt. Pillow's own "corrupt" errors carry none."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return ImageError(f"cannot read the file: {exc.strerror or exc}")
    return None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


def _exif_orientation(img: Image.Image) -> int | None:
    try:
        value = img.getexif().get(0x0112)
    # Pillow parses EXIF lazily and reports broken blocks with any of these; orientation
    # is best-effort, so a photo with unreadable EXIF is shown as stored.
    except (*_DECODE_ERRORS, KeyError, TypeError):
        return None
    return value if isinstance(value, int) else None

