# SPDX-License-Identifier: GPL-3.0-or-later
"""The bad-input corpus: every odd or broken file a real photo library may hold.

:func:`build` writes the corpus into a folder and returns what the scan must make of each
entry, so the tests (and the case count in docs/guarantees.md) come from one list. The
generators are cheap (the largest file, a real 20,000 x 20,000 PNG, is ~60 KB on disk) and
deterministic.
"""

from __future__ import annotations

import importlib.util
import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from photolm import images
from tests import imagefactory as factory
from tests.tinybundle import COLOURS, write_photo

# What the scan must make of a corpus entry.
OK = "ok"  # a row without error (and the landmark, when one is given)
ERROR = "error"  # a row with an error, and one warning line naming the file
WALK = "walk"  # no photo row (there is no readable photo), one warning line
IGNORED = "ignored"  # not a photo: no row, no line (e.g. a FIFO named .jpg)


@dataclass(frozen=True)
class Case:
    name: str  # path relative to the corpus root (str; bytes names are in BYTES_CASES)
    expect: str
    message: str | None = None  # expected start of the error / warning text
    landmark: str | None = None  # for OK cases: the landmark the photo shows, if any


RED_LM = COLOURS["eiffel-tower"]
GREEN_LM = COLOURS["colosseum"]
BLUE_LM = COLOURS["taj-mahal"]
YELLOW_LM = COLOURS["cologne-cathedral"]


# -------------------------------------------------------------------------- generators
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def huge_png(path: Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A *valid*, complete 1-bit PNG of ``width x height`` (400 MP): small on disk, 400 MB
    as Pillow would hold it. Written chunk by chunk; Pillow could not even create it here."""
    packer = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                     + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b""))
    return path


def gif_claiming(path: Path, width: int = 65_535, height: int = 65_535) -> Path:
    """A GIF whose screen and frame claim 4.3 gigapixels, holding almost nothing."""
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0xF0, 0, 0) + b"\x00" * 6
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    path.write_bytes(head + frame + b"\x3b")
    return path


def truncated_png(path: Path) -> Path:
    buf = io.BytesIO()
    noise = np.random.default_rng(3).integers(0, 256, (64, 64, 3), np.uint8)
    Image.fromarray(noise).save(buf, "PNG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


def damaged_lzw_tiff(path: Path) -> Path:
    """An LZW TIFF whose strip is zeroed after 8 bytes: libtiff fails *and* (unless
    silenced) prints its own "Using code not yet in table." line on stderr."""
    buf = io.BytesIO()
    noise = np.random.default_rng(5).integers(0, 256, (64, 64, 3), np.uint8)
    Image.fromarray(noise).save(buf, "TIFF", compression="tiff_lzw")
    data = bytearray(buf.getvalue())
    with Image.open(io.BytesIO(bytes(data))) as img:
        offset, count = img.tag_v2[273][0], img.tag_v2[279][0]
    data[offset + 8: offset + count] = bytes(count - 8)
    path.write_bytes(bytes(data))
    return path


def tiff_absurd_samples(path: Path, samples: int = 19_715) -> Path:
    """A TIFF whose SamplesPerPixel says 19,715: Pillow refuses it *and* logs an error
    ("More samples per pixel than can be decoded") that would print a line of its own."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), RED_LM).save(buf, "TIFF")
    data = bytearray(buf.getvalue())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == 277:  # SamplesPerPixel, one SHORT
            struct.pack_into("<H", data, entry + 8, samples)
    path.write_bytes(bytes(data))
    return path


def header_only_jpeg(path: Path) -> Path:
    """The JPEG magic and an APP0 marker, then zeros: sniffs as JPEG, decodes as nothing."""
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    return path


def jpeg_huge_maker_note(path: Path, size: int = 60_000) -> Path:
    """A landmark photo whose Exif IFD carries a 60 KB MakerNote of noise (the APP1
    segment is close to its 64 KB ceiling), plus a Make so there is something to read."""
    noise = np.random.default_rng(4).integers(0, 256, size, np.uint8).tobytes()
    make = b"Canon\x00"
    exif_ifd_offset = 8 + 2 + 2 * 12 + 4
    note_offset = exif_ifd_offset + 2 + 12 + 4
    make_offset = note_offset + size
    ifd0 = struct.pack("<H", 2)
    ifd0 += struct.pack("<HHII", 0x010F, 2, len(make), make_offset)
    ifd0 += struct.pack("<HHII", 0x8769, 4, 1, exif_ifd_offset) + struct.pack("<I", 0)
    exif_ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x927C, 7, size, note_offset)
    exif_ifd += struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + exif_ifd + noise + make
    return factory.jpeg_with_raw_exif(path, tiff, Image.new("RGB", (64, 48), RED_LM))


def gps_zero_denominators() -> bytes:
    rational = struct.pack("<II", 48, 0) * 3
    return factory.tiff_with_gps([
        (1, 2, 2, b"N\x00"), (2, 5, 3, rational), (3, 2, 2, b"E\x00"), (4, 5, 3, rational),
    ])


def gps_nan_doubles() -> bytes:
    nan = struct.pack("<d", float("nan")) * 3
    return factory.tiff_with_gps([
        (1, 2, 2, b"N\x00"), (2, 12, 3, nan), (3, 2, 2, b"E\x00"), (4, 12, 3, nan),
    ])


def landmark_jpeg_with(tiff: bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        return factory.jpeg_with_raw_exif(path, tiff, Image.new("RGB", (64, 48), BLUE_LM))
    return make


def cmyk_landmark(path: Path) -> Path:
    return factory.cmyk_jpeg(path)


def palette_png(path: Path) -> Path:
    return factory.png_palette_transparent(path)


# ------------------------------------------------------------------------------ corpus
# (relative name, generator, expectation). Generators take the full path.
_GOOD: list[tuple[str, Callable[[Path], object], Case]] = []
_BAD: list[tuple[str, Callable[[Path], object], Case]] = []


def _good(name: str, make: Callable[[Path], object], landmark: str | None = None) -> None:
    _GOOD.append((name, make, Case(name, OK, landmark=landmark)))


def _bad(name: str, make: Callable[[Path], object], message: str, expect: str = ERROR) -> None:
    _BAD.append((name, make, Case(name, expect, message)))


# Plain good photos of landmarks: these must never be lost, whatever sits beside them.
_good("good/eiffel.jpg", lambda p: write_photo(p, RED_LM), "Eiffel Tower")
_good("good/colosseum.png", lambda p: write_photo(p, GREEN_LM, size=(48, 64)), "Colosseum")
_good("good/taj.webp", lambda p: write_photo(p, BLUE_LM, fmt="WEBP", lossless=True),
      "Taj Mahal")
_good("good/dom.tif", lambda p: write_photo(p, YELLOW_LM, fmt="TIFF"), "Cologne Cathedral")
_good("good/IMG_0001", lambda p: write_photo(p, RED_LM, fmt="JPEG"), "Eiffel Tower")  # no ext
_good("good/UPPER.JPG", lambda p: write_photo(p, GREEN_LM, fmt="JPEG"), "Colosseum")
_good("good/jpeg-named.png", lambda p: write_photo(p, BLUE_LM, fmt="JPEG"), "Taj Mahal")
# Odd but valid formats and modes.
_good("modes/cmyk.jpg", cmyk_landmark)
_good("modes/sixteen-bit.png", factory.png_16bit)
_good("modes/float.tif", factory.tiff_float)
_good("modes/animated.gif", factory.animated_gif)
_good("modes/palette-transparent.png", palette_png)
_good("modes/rgba.png", factory.png_rgba)
_good("modes/grey-alpha.png", factory.png_la)
_good("modes/bilevel.png", factory.png_bilevel)
_good("modes/real.heic", lambda p: factory.real_heic(p) or write_photo(p, RED_LM, fmt="JPEG"))
# Broken EXIF on photos whose pixels are fine.
for _value in (0, 9, 65535):
    _good(f"exif/orientation-{_value}.jpg",
          lambda p, v=_value: factory.oriented_jpeg(p, v))
_good("exif/orientation-text.jpg", factory.jpeg_text_orientation)
_good("exif/gps-95-degrees.jpg",
      lambda p: factory.jpeg_with_exif(p, gps=("N", (95.0, 0.0, 0.0), "E", (2.0, 0.0, 0.0))))
_good("exif/gps-75-minutes.jpg",
      lambda p: factory.jpeg_with_exif(p, gps=("N", (48.0, 75.0, 0.0), "E", (2.0, 0.0, 0.0))))
_good("exif/gps-zero-denominator.jpg", landmark_jpeg_with(gps_zero_denominators()), "Taj Mahal")
_good("exif/gps-nan.jpg", landmark_jpeg_with(gps_nan_doubles()), "Taj Mahal")
_good("exif/huge-maker-note.jpg", jpeg_huge_maker_note, "Eiffel Tower")
_good("exif/loops-and-wild-offsets.jpg", factory.jpeg_broken_exif)
_good("exif/date-0000.jpg", lambda p: factory.jpeg_with_exif(p, taken="0000:00:00 00:00:00"))
# Names: very long, deep, awkward characters.
_good("names/" + "a" * 240 + ".jpg", lambda p: write_photo(p, RED_LM), "Eiffel Tower")
_good("names/" + "é" * 125 + ".jpg", lambda p: write_photo(p, GREEN_LM), "Colosseum")
_good("names/" + "/".join(f"{i:02d}" + "d" * 98 for i in range(30)) + "/deep.jpg",
      lambda p: write_photo(p, BLUE_LM), "Taj Mahal")
_good("names/it's 100% _done; DROP TABLE photos;--.jpg", lambda p: write_photo(p, RED_LM),
      "Eiffel Tower")
_good("names/[bold]markup[/bold] ~$HOME `x`.jpg", lambda p: write_photo(p, RED_LM),
      "Eiffel Tower")

# Broken files: each gets a row with its error and one warning line.
_bad("bad/truncated.jpg", factory.truncated_jpeg, "truncated or corrupt JPEG")
_bad("bad/truncated-early.jpg", lambda p: factory.truncated_jpeg(p, keep=0.05),
     "truncated or corrupt JPEG")
_bad("bad/header-only.jpg", header_only_jpeg, "corrupt JPEG")
_bad("bad/truncated.png", truncated_png, "truncated or corrupt PNG")
_bad("bad/lzw-damaged.tif", damaged_lzw_tiff, "truncated or corrupt TIFF")
_bad("bad/tiff-19715-samples.tif", tiff_absurd_samples, "corrupt TIFF")
_bad("bad/zero-bytes.jpg", factory.empty_file, "empty file")
_bad("bad/zero-bytes.heic", factory.empty_file, "empty file")
_bad("bad/random-bytes.jpg", factory.random_bytes, "not an image")
_bad("bad/text.png", factory.text_file, "not an image")
_bad("bad/bomb-header.png", lambda p: factory.bomb_png(p, 30_000, 30_000), "image too large")
# just over the README's 200 MP: refused by the one limit, not by a stricter one of Pillow's
_bad("bad/bomb-201mp.png", lambda p: factory.bomb_png(p, 14_200, 14_200), "image too large")
_bad("bad/real-20000x20000.png", huge_png, "image too large")
_bad("bad/gif-4-gigapixels.gif", gif_claiming, "image too large")
# Without the [heic] extra every HEIC gets the install hint instead (its own test covers it).
_HEIF = importlib.util.find_spec("pillow_heif") is not None
_bad("bad/heic-garbage.heic", factory.heic_stub, "corrupt HEIC" if _HEIF else images.HEIC_MISSING)
_bad("bad/not-a-heic.heic", factory.text_file, "not a HEIC image")
_bad("bad/ppm-named.jpg", lambda p: Image.new("RGB", (8, 8)).save(p, "PPM"), "not an image")

# Non-UTF-8 file names (bytes, relative to the root): one good, one bad.
BYTES_GOOD = b"names/caf\xe9-latin1.jpg"
BYTES_BAD = b"bad/broken-\xff\xfe.jpg"


def cases() -> list[Case]:
    """Every expectation of :func:`build`, including the filesystem-level cases."""
    return [c for _, _, c in _GOOD + _BAD] + [
        Case(os.fsdecode(BYTES_GOOD), OK, landmark="Colosseum"),
        Case(os.fsdecode(BYTES_BAD), ERROR, "truncated or corrupt JPEG"),
        Case("links/dangling.jpg", WALK, "broken symbolic link"),
        Case("links/fifo.jpg", IGNORED),
    ]


def build(root: Path) -> list[Case]:
    """Write the corpus under ``root``; return the expectation of every entry.

    Also adds a symlink loop (``links/loop -> ..``) and a second link to a good photo, which
    must not create rows of their own, a dangling link named like a photo and a FIFO named
    ``.jpg`` (opening one would block the scan forever).
    """
    for name, make, _ in _GOOD + _BAD:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path)
    raw_root = os.fsencode(root)
    for rel, colour in ((BYTES_GOOD, GREEN_LM),):
        write_photo(Path(os.fsdecode(os.path.join(raw_root, rel))), colour)
    factory.truncated_jpeg(Path(os.fsdecode(os.path.join(raw_root, BYTES_BAD))))
    links = root / "links"
    links.mkdir()
    (links / "loop").symlink_to("..", target_is_directory=True)
    (links / "same-photo.jpg").symlink_to(root / "good" / "eiffel.jpg")
    (links / "dangling.jpg").symlink_to(root / "nowhere" / "gone.jpg")
    os.mkfifo(links / "fifo.jpg")
    return cases()
