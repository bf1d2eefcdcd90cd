# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate test photos, good and bad, into a folder.

Every function writes one file and returns its path, so tests can build exactly the folder
they need. Colours are chosen far apart (pure red, green, blue, white) so assertions survive
JPEG compression with a generous tolerance.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)
GREY = (128, 128, 128)

# A minimal ISO-BMFF "ftyp" box with the HEIC brand: enough for content sniffing, nothing
# that any decoder can read.
HEIC_HEADER = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"


def solid_jpeg(path: Path, size: tuple[int, int] = (64, 48), color: Sequence[int] = RED,
               *, exif: Image.Exif | None = None, quality: int = 95) -> Path:
    """A plain JPEG of one colour, optionally with EXIF."""
    img = Image.new("RGB", size, tuple(color))
    img.save(path, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    return path


def marker_image(size: tuple[int, int] = (96, 64)) -> Image.Image:
    """Blue image with a red block in the top-left and a green block in the top-right corner.

    Two markers, not one, so that all eight EXIF orientations are distinguishable (with one
    marker, orientation 5 would look like 1).
    """
    width, height = size
    block = min(width, height) // 3
    img = Image.new("RGB", size, BLUE)
    img.paste(RED, (0, 0, block, block))
    img.paste(GREEN, (width - block, 0, width, block))
    return img


def oriented_jpeg(path: Path, orientation: int, size: tuple[int, int] = (96, 64)) -> Path:
    """:func:`marker_image` stored as-is with the given EXIF orientation tag (any integer,
    so tests can also write nonsense such as 0 or 9)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    marker_image(size).save(path, "JPEG", quality=95, exif=exif)
    return path


def jpeg_with_raw_exif(path: Path, tiff: bytes, image: Image.Image | None = None) -> Path:
    """A JPEG whose APP1 "Exif" segment holds exactly ``tiff`` (a TIFF header and IFDs),
    for EXIF no well-behaved writer would produce."""
    buf = io.BytesIO()
    (image or Image.new("RGB", (32, 24), GREEN)).save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    payload = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    path.write_bytes(data[:2] + segment + data[2:])
    return path


def tiff_with_gps(gps_entries: Sequence[tuple[int, int, int, bytes]]) -> bytes:
    """Little-endian TIFF/EXIF bytes: IFD0 holding only a GPS IFD pointer, then a GPS IFD of
    raw ``(tag, type, count, value bytes)`` entries (values over 4 bytes stored after it).

    For values Pillow refuses to write: doubles (NaN), rationals with a zero denominator.
    """
    gps_offset = 8 + 2 + 12 + 4
    data_offset = gps_offset + 2 + 12 * len(gps_entries) + 4
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_offset)
    ifd0 += struct.pack("<I", 0)
    gps = struct.pack("<H", len(gps_entries))
    extra = b""
    for tag, kind, count, value in gps_entries:
        if len(value) <= 4:
            gps += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            gps += struct.pack("<HHII", tag, kind, count, data_offset + len(extra))
            extra += value
    gps += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + gps + extra


def jpeg_text_orientation(path: Path) -> Path:
    """:func:`marker_image` whose Orientation tag is the ASCII string "6" instead of a SHORT."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHI", 0x0112, 2, 2) + b"6\x00\x00\x00" + struct.pack("<I", 0)
    return jpeg_with_raw_exif(path, tiff, marker_image())


def exif_block(
    *,
    taken: str | None = "2023:07:14 18:30:05",
    offset: str | None = "+02:00",
    digitized: str | None = None,
    make: str | None = "Canon",
    model: str | None = "Canon EOS 5D Mark IV",
    gps: tuple[object, object, object, object] | None = ("N", (48.0, 51.0, 29.6),
                                                         "E", (2.0, 17.0, 40.2)),
    altitude: tuple[float, int] | None = (35.5, 0),
    orientation: int | None = None,
) -> Image.Exif:
    """An EXIF block as a camera writes it; ``gps`` is (lat ref, (d, m, s), lon ref, (d, m, s))
    and its numbers may be anything Pillow can store, including nonsense."""
    exif = Image.Exif()
    if make is not None:
        exif[ExifTags.Base.Make] = make
    if model is not None:
        exif[ExifTags.Base.Model] = model
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        sub[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    if digitized is not None:
        sub[ExifTags.Base.DateTimeDigitized] = digitized
    if gps is not None or altitude is not None:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if gps is not None:
            lat_ref, lat, lon_ref, lon = gps
            info[ExifTags.GPS.GPSLatitudeRef] = lat_ref
            info[ExifTags.GPS.GPSLatitude] = lat
            info[ExifTags.GPS.GPSLongitudeRef] = lon_ref
            info[ExifTags.GPS.GPSLongitude] = lon
        if altitude is not None:
            info[ExifTags.GPS.GPSAltitude] = altitude[0]
            info[ExifTags.GPS.GPSAltitudeRef] = bytes([altitude[1]])
    return exif


def jpeg_with_exif(path: Path, **fields: object) -> Path:
    """A small JPEG carrying :func:`exif_block` (keyword arguments are passed on)."""
    return solid_jpeg(path, exif=exif_block(**fields))  # type: ignore[arg-type]


def jpeg_broken_exif(path: Path) -> Path:
    """A valid JPEG whose EXIF has absurd offsets, an IFD loop and a GPS IFD past the end."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 3)
    tiff += struct.pack("<HHII", 0x010F, 2, 0xFFFF, 0x7FFFFFF0)  # Make: string far away
    tiff += struct.pack("<HHII", 0x8825, 4, 1, 0xFFFFFF00)  # GPS IFD beyond the end
    tiff += struct.pack("<HHII", 0x8769, 4, 1, 8)  # Exif IFD pointing back at IFD0: loop
    tiff += struct.pack("<I", 0xFFFFFFF0)  # next IFD far away
    return jpeg_with_raw_exif(path, tiff)


def png_palette_transparent(path: Path) -> Path:
    """Palette PNG: left half transparent (index 0, stored as black), right half red."""
    img = Image.new("P", (40, 20), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
    img.paste(1, (20, 0, 40, 20))
    img.save(path, "PNG", transparency=0)
    return path


def png_rgba(path: Path) -> Path:
    """RGBA PNG: left half fully transparent black, right half opaque green, with a middle
    column at half alpha red (composited onto white it becomes (255, 128, 128))."""
    img = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    img.paste((0, 255, 0, 255), (20, 0, 40, 20))
    img.paste((255, 0, 0, 128), (18, 0, 20, 20))
    img.save(path, "PNG")
    return path


def png_la(path: Path) -> Path:
    """Greyscale + alpha: left transparent, right opaque grey 64."""
    img = Image.new("LA", (40, 20), (0, 0))
    img.paste((64, 255), (20, 0, 40, 20))
    img.save(path, "PNG")
    return path


def png_grey(path: Path, value: int = 77) -> Path:
    Image.new("L", (30, 20), value).save(path, "PNG")
    return path


def png_bilevel(path: Path) -> Path:
    """Mode "1": left black, right white."""
    img = Image.new("1", (32, 16), 0)
    img.paste(1, (16, 0, 32, 16))
    img.save(path, "PNG")
    return path


def png_16bit(path: Path, values: Sequence[int] = (0, 1000, 40000, 65535)) -> Path:
    """16-bit greyscale PNG ("I;16"), vertical stripes with the given values."""
    stripes = np.repeat(np.asarray(values, dtype=np.uint16), 8)
    Image.fromarray(np.tile(stripes, (8, 1))).save(path, "PNG")
    return path


def tiff_float(path: Path, values: Sequence[float] = (0.0, 0.25, 1.0)) -> Path:
    """32-bit float greyscale TIFF ("F") in the usual 0..1 range."""
    stripes = np.repeat(np.asarray(values, dtype=np.float32), 8)
    Image.fromarray(np.tile(stripes, (8, 1))).save(path, "TIFF")
    return path


def cmyk_jpeg(path: Path, cmyk: Sequence[int] = (0, 255, 255, 0)) -> Path:
    """CMYK JPEG as Photoshop writes it (Adobe APP14 marker, inverted values); default red."""
    Image.new("CMYK", (32, 24), tuple(cmyk)).save(path, "JPEG", quality=95)
    return path


def animated_gif(path: Path, colors: Sequence[Sequence[int]] = (RED, GREEN, BLUE)) -> Path:
    frames = [Image.new("RGB", (24, 16), tuple(c)) for c in colors]
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def big_jpeg(path: Path, size: tuple[int, int] = (4000, 3000), seed: int = 0) -> Path:
    """A camera-sized JPEG with photo-like content: smooth gradients, shapes and noise.

    Pure noise or flat colour would make decode timing and draft-vs-full comparisons
    meaningless, so this has structure at several scales.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(height // 100 + 2, width // 100 + 2, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
    pixels = np.asarray(img, dtype=np.int16)
    pixels = pixels + rng.integers(-12, 13, size=pixels.shape, dtype=np.int16)
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    img.paste(WHITE, (width // 4, height // 4, width // 2, height // 2))
    img.save(path, "JPEG", quality=90)
    return path


def truncated_jpeg(path: Path, keep: float = 0.5) -> Path:
    """A real JPEG cut short (as by an interrupted copy)."""
    buf = io.BytesIO()
    big = Image.fromarray(np.random.default_rng(1).integers(0, 256, (120, 160, 3), np.uint8))
    big.save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def random_bytes(path: Path, size: int = 4096, seed: int = 2) -> Path:
    """Garbage, typically saved with a photo extension."""
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    # Make sure no magic number appears at the start by chance.
    path.write_bytes(b"\x00garbage" + data)
    return path


def text_file(path: Path, text: str = "This is not a picture.\n") -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jpeg_named_png(path: Path) -> Path:
    """A JPEG saved under a .png name: content decides, not the extension."""
    Image.new("RGB", (30, 20), BLUE).save(path, "JPEG", quality=95)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def bomb_png(path: Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A PNG whose header claims ``width x height`` RGB pixels but holds only a few bytes of
    data: what a decompression bomb looks like before it explodes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * 3 * min(width, 64)
    data = zlib.compress(row * 4)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )
    return path


def heic_stub(path: Path) -> Path:
    """A file that sniffs as HEIC but that no decoder can read."""
    path.write_bytes(HEIC_HEADER + b"\x00" * 64)
    return path


def real_heic(path: Path, size: tuple[int, int] = (64, 48),
              image: Image.Image | None = None) -> Path | None:
    """A genuine HEIC file made with pillow-heif (of ``image``, else a marker image), or
    ``None`` where it cannot encode."""
    try:
        import pillow_heif
    except ImportError:
        return None
    try:
        heif = pillow_heif.from_pillow(image if image is not None else marker_image(size))
        heif.save(path, quality=90)
    except (RuntimeError, ValueError, OSError):  # libheif built without an HEVC encoder
        return None
    return path


def not_utf8_name(folder: Path, name: bytes = b"caf\xe9 \xff.jpg") -> Path:
    """An empty file in ``folder`` (made) whose name is not UTF-8 (Latin-1 bytes, as old
    cameras and Windows shares write them); the test is skipped where the file system
    refuses such a name."""
    import os

    import pytest

    folder.mkdir(parents=True, exist_ok=True)
    odd = Path(os.fsdecode(os.fsencode(folder) + b"/" + name))
    try:
        odd.touch()
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses such a name")
    return odd
