# SPDX-License-Identifier: GPL-3.0-or-later
"""Prove that a rewritten photo still holds exactly the original image data.

Metadata writers re-lay out the container around the pixels; they must never touch the
pixels themselves. For each container this module extracts, from the original and from the
rewritten file, every byte that determines what the image looks like, and requires them to be
identical. Decoding and comparing pixels would be weaker (two different encodings can decode
alike) and slower; comparing the coded bytes is exact.

What counts as image data, per container:

* JPEG: every segment before the first SOS except APP1 (EXIF, XMP) and APP13 (Photoshop
  IPTC), in order: JFIF/APP0, ICC profile/APP2, quantisation and Huffman tables, frame
  header, restart interval, comments and any other APPn; then every byte from the first SOS
  marker to the end of the file (all scans, EOI and any trailer such as an MPF second image).
* PNG: every chunk except the text chunks (tEXt, zTXt, iTXt), eXIf and tIME, in order, with
  its type and data: IHDR, PLTE, IDAT..., iCCP, gAMA, sRGB, tRNS...; and every chunk's CRC in
  the new file must be valid.
* TIFF: for each image in the IFD chain, the tags that describe how to decode the pixels
  (size, bits, compression, photometric, predictor, planar layout, tiles, colour map, YCbCr,
  JPEG tables, ICC profile) and the concatenated bytes of all strips or tiles.
* WebP: every chunk except XMP, EXIF and the VP8X header (compared by the metadata check),
  in order, and anything after the RIFF container.
* HEIF/HEIC/AVIF: every item that is not metadata (``Exif``, ``mime`` for XMP, ``uri ``),
  by item id, with its type and data bytes; the item property box (``iprp``: codec
  configuration, size, colour profile, rotation) and the primary item (``pitm``) byte for
  byte.

Anything this module cannot parse fails the check: photolm then refuses to replace the
original rather than trust a file it could not verify.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

_JPEG_METADATA_MARKERS = frozenset({0xE1, 0xED})  # APP1 (EXIF/XMP), APP13 (IPTC)
_PNG_METADATA_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"})
_TIFF_PIXEL_TAGS = (
    254, 256, 257, 258, 259, 262, 266, 277, 278, 284, 317, 320, 322, 323, 338, 339, 347,
    529, 530, 531, 532, 34675,
)
_TIFF_STRIPS = ((273, 279), (324, 325))  # (offsets, byte counts): strips, then tiles
_TIFF_TYPES = {1: "B", 2: "B", 3: "H", 4: "I", 5: "II", 6: "b", 7: "B", 8: "h", 9: "i",
               10: "ii", 11: "f", 12: "d", 13: "I"}
_HEIF_METADATA_ITEMS = frozenset({"Exif", "mime", "uri "})
_MAX_IFDS = 4096


class ImageDataMismatch(ValueError):
    """The image data differ, or could not be read with certainty (message says which)."""


def check_same_image_data(kind: str, before: bytes, after: bytes) -> None:
    """Raise :class:`ImageDataMismatch` unless ``after`` holds exactly ``before``'s image data.

    ``kind`` is the sniffed format: ``jpeg``, ``png``, ``tiff``, ``heic``, ``heif``, ``avif``.
    """
    extract = _EXTRACTORS.get(kind)
    if extract is None:
        raise ImageDataMismatch(f"no image-data check for {kind} files")
    try:
        old = extract(before)
    except (ValueError, struct.error, IndexError) as exc:
        raise ImageDataMismatch(f"cannot parse the original {kind} ({exc})") from None
    try:
        new = extract(after)
    except (ValueError, struct.error, IndexError) as exc:
        raise ImageDataMismatch(f"cannot parse the rewritten {kind} ({exc})") from None
    if old != new:
        raise ImageDataMismatch(f"{_first_difference(old, new)} differs after writing")


def _first_difference(old: list[tuple[str, object]], new: list[tuple[str, object]]) -> str:
    for (old_label, old_value), (new_label, new_value) in zip(old, new, strict=False):
        if old_label != new_label or old_value != new_value:
            return old_label
    return "the number of image parts"


# --- JPEG ---------------------------------------------------------------------------------------
def _jpeg_parts(data: bytes) -> list[tuple[str, object]]:
    if data[:2] != b"\xff\xd8":
        raise ValueError("no SOI marker")
    parts: list[tuple[str, object]] = []
    pos = 2
    while True:
        if data[pos] != 0xFF:
            raise ValueError(f"expected a marker at byte {pos}")
        while data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos + 1]
        if marker == 0xDA:  # SOS: everything from here on is image data
            parts.append(("the scan data (SOS to end of file)", data[pos:]))
            return parts
        if marker == 0xD9:
            raise ValueError("EOI before any scan")
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # standalone markers
            parts.append((f"marker 0xFF{marker:02X}", b""))
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if length < 2 or pos + 2 + length > len(data):
            raise ValueError(f"segment 0xFF{marker:02X} runs past the end of the file")
        if marker not in _JPEG_METADATA_MARKERS:
            parts.append((f"JPEG segment 0xFF{marker:02X}", data[pos + 4:pos + 2 + length]))
        pos += 2 + length


# --- PNG ----------------------------------------------------------------------------------------
def _png_parts(data: bytes) -> list[tuple[str, object]]:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("no PNG signature")
    parts: list[tuple[str, object]] = []
    pos = 8
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ValueError(f"chunk {ctype!r} runs past the end of the file")
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:end])[0]
        if zlib.crc32(ctype + body) != crc:
            raise ValueError(f"chunk {ctype.decode('latin-1')} has a bad CRC")
        if ctype not in _PNG_METADATA_CHUNKS:
            parts.append((f"PNG chunk {ctype.decode('latin-1')}", body))
        pos = end
        if ctype == b"IEND":
            break
    parts.append(("data after IEND", data[pos:]))
    return parts


# --- TIFF ---------------------------------------------------------------------------------------
def _tiff_parts(data: bytes) -> list[tuple[str, object]]:
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        raise ValueError("no TIFF byte-order mark")
    magic, offset = struct.unpack(order + "HI", data[2:8])
    if magic != 42:
        raise ValueError("not a classic TIFF (BigTIFF is not supported)")
    parts: list[tuple[str, object]] = []
    seen: set[int] = set()
    index = 0
    while offset:
        if offset in seen or len(seen) >= _MAX_IFDS:
            raise ValueError("IFD chain loops")
        seen.add(offset)
        tags, offset = _tiff_ifd(data, order, offset)
        for tag in _TIFF_PIXEL_TAGS:
            if tag in tags:
                parts.append((f"TIFF image {index} tag {tag}", tags[tag]))
        parts.append((f"TIFF image {index} strips/tiles", _tiff_strips(data, tags)))
        index += 1
    return parts


def _tiff_ifd(data: bytes, order: str, offset: int) -> tuple[dict[int, object], int]:
    (count,) = struct.unpack(order + "H", data[offset:offset + 2])
    tags: dict[int, object] = {}
    wanted = set(_TIFF_PIXEL_TAGS) | {t for pair in _TIFF_STRIPS for t in pair}
    for i in range(count):
        entry = offset + 2 + 12 * i
        tag, ftype, n = struct.unpack(order + "HHI", data[entry:entry + 8])
        if tag not in wanted:
            continue
        fmt = _TIFF_TYPES.get(ftype)
        if fmt is None:
            raise ValueError(f"tag {tag} has unknown type {ftype}")
        size = struct.calcsize(order + fmt) * n
        where = entry + 8
        if size > 4:
            (where,) = struct.unpack(order + "I", data[entry + 8:entry + 12])
        if where + size > len(data):
            raise ValueError(f"tag {tag} points past the end of the file")
        raw = data[where:where + size]
        tags[tag] = raw if ftype in (2, 7) else struct.unpack(order + fmt * n, raw)
    next_at = offset + 2 + 12 * count
    (next_offset,) = struct.unpack(order + "I", data[next_at:next_at + 4])
    return tags, next_offset


def _tiff_strips(data: bytes, tags: dict[int, object]) -> bytes:
    for offsets_tag, counts_tag in _TIFF_STRIPS:
        if offsets_tag in tags:
            offsets, counts = tags[offsets_tag], tags.get(counts_tag)
            if not isinstance(offsets, tuple) or not isinstance(counts, tuple) or \
                    len(offsets) != len(counts):
                raise ValueError("strip offsets and byte counts disagree")
            chunks = []
            for start, length in zip(offsets, counts, strict=True):
                if start + length > len(data):
                    raise ValueError("a strip runs past the end of the file")
                chunks.append(data[start:start + length])
            return b"".join(chunks)
    raise ValueError("an image without strips or tiles")


# --- HEIF (ISO base media file format) --------------------------------------------------------
def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """``(type, payload start, box end)`` of the boxes in ``data[start:end]``."""
    boxes = []
    pos = start
    while pos + 8 <= end:
        size, btype = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"box {btype!r} runs past its container")
        boxes.append((btype, pos + header, pos + size))
        pos += size
    return boxes


def _uint(data: bytes, pos: int, size: int) -> tuple[int, int]:
    return (int.from_bytes(data[pos:pos + size], "big") if size else 0), pos + size


def _heif_parts(data: bytes) -> list[tuple[str, object]]:
    top = _boxes(data, 0, len(data))
    meta = next(((s, e) for t, s, e in top if t == b"meta"), None)
    if meta is None:
        raise ValueError("no meta box")
    children = {t: (s, e) for t, s, e in _boxes(data, meta[0] + 4, meta[1])}
    for needed in (b"iinf", b"iloc", b"iprp", b"pitm"):
        if needed not in children:
            raise ValueError(f"no {needed.decode()} box")
    types = _heif_item_types(data, *children[b"iinf"])
    idat = children.get(b"idat")
    parts: list[tuple[str, object]] = [
        ("the HEIF item properties (iprp)", data[slice(*children[b"iprp"])]),
        ("the HEIF primary item (pitm)", data[slice(*children[b"pitm"])]),
    ]
    for item_id, extents in sorted(_heif_locations(data, *children[b"iloc"]).items()):
        item_type = types.get(item_id, "")
        if item_type in _HEIF_METADATA_ITEMS:
            continue
        chunks = []
        for method, start, length in extents:
            if method == 0:
                stop = len(data) if length == 0 else start + length
                source = data
            elif method == 1 and idat is not None:
                start += idat[0]
                stop = idat[1] if length == 0 else start + length
                source = data
            else:
                raise ValueError(f"item {item_id} uses an unsupported construction method")
            if stop > len(source):
                raise ValueError(f"item {item_id} runs past the end of the file")
            chunks.append(source[start:stop])
        parts.append((f"HEIF item {item_id} ({item_type or 'untyped'})",
                      (item_type, b"".join(chunks))))
    return parts


def _heif_item_types(data: bytes, start: int, end: int) -> dict[int, str]:
    version = data[start]
    pos = start + 4
    _count, pos = _uint(data, pos, 2 if version == 0 else 4)
    types: dict[int, str] = {}
    for btype, s, _e in _boxes(data, pos, end):
        if btype != b"infe":
            continue
        infe_version = data[s]
        if infe_version < 2:
            continue
        item_id, p = _uint(data, s + 4, 2 if infe_version == 2 else 4)
        p += 2  # protection index
        types[item_id] = data[p:p + 4].decode("latin-1")
    return types


def _heif_locations(data: bytes, start: int, end: int) -> dict[int, list[tuple[int, int, int]]]:
    version = data[start]
    pos = start + 4
    offset_size, length_size = data[pos] >> 4, data[pos] & 0x0F
    base_size, index_size = data[pos + 1] >> 4, data[pos + 1] & 0x0F
    pos += 2
    count, pos = _uint(data, pos, 2 if version < 2 else 4)
    locations: dict[int, list[tuple[int, int, int]]] = {}
    for _ in range(count):
        item_id, pos = _uint(data, pos, 2 if version < 2 else 4)
        method = 0
        if version in (1, 2):
            raw, pos = _uint(data, pos, 2)
            method = raw & 0x0F
        pos += 2  # data reference index
        base, pos = _uint(data, pos, base_size)
        extent_count, pos = _uint(data, pos, 2)
        extents = []
        for _ in range(extent_count):
            if version in (1, 2) and index_size:
                pos += index_size
            offset, pos = _uint(data, pos, offset_size)
            length, pos = _uint(data, pos, length_size)
            extents.append((method, base + offset, length))
        if pos > end:
            raise ValueError("iloc box is truncated")
        locations[item_id] = extents
    return locations


# --- WebP ---------------------------------------------------------------------------------------
_WEBP_METADATA = frozenset({b"XMP ", b"EXIF", b"VP8X"})


def _webp_parts(data: bytes) -> list[tuple[str, object]]:
    """Every chunk but metadata (XMP, EXIF) and the VP8X header, whose flags announce them;
    the canvas size, when a VP8X header gives one, and the data after the container."""
    from photolm.metadata.containers import ContainerError, webp_chunks

    try:
        chunks, rest = webp_chunks(data)
    except ContainerError as exc:
        raise ValueError(str(exc)) from None
    parts: list[tuple[str, object]] = [
        (f"WebP chunk {fourcc.decode('latin-1')}", body)
        for fourcc, body, _raw in chunks if fourcc not in _WEBP_METADATA]
    parts.append(("data after the WebP container", rest))
    return parts


_EXTRACTORS: dict[str, Callable[[bytes], list[tuple[str, object]]]] = {
    "jpeg": _jpeg_parts,
    "png": _png_parts,
    "tiff": _tiff_parts,
    "heic": _heif_parts,
    "heif": _heif_parts,
    "avif": _heif_parts,
    "webp": _webp_parts,
}
