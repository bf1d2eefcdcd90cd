# SPDX-License-Identifier: GPL-3.0-or-later
"""Put an XMP packet (and, in JPEG, IPTC datasets) into a photo, touching no other byte.

Why photolm places these blocks itself instead of letting exiv2 save the file: exiv2 writes
a file by re-serialising *all* its metadata. That re-lays out the EXIF block (relocating a
camera maker note breaks the offsets inside it: FLIR, JVC, Ricoh and Sanyo values come out
zeroed), re-serialises the XMP (its own toolkit name, ``rdf:about`` dropped), reorders IPTC
datasets and rewrites ``TimeCreated``, flips a PNG's EXIF byte order and rewrites JPEG
comments. Here every block photolm does not change is copied byte for byte:

* JPEG: the standard XMP APP1 segment is replaced (or inserted after the leading APP0/APP1
  segments); the IPTC resource inside the Photoshop APP13 segment is rebuilt from datasets,
  the others kept in order; the EXIF APP1 segment is swapped only when photolm changes EXIF
  (then exiv2 serialises it, and only for photos without a maker note).
* PNG: the ``XML:com.adobe.xmp`` iTXt chunk is replaced or inserted after IHDR.
* WebP: the ``XMP `` chunk is replaced or appended and the VP8X header's XMP flag set (a
  simple VP8/VP8L file gets the VP8X header XMP requires, sized from its bitstream).
* TIFF: the packet is appended to the file and IFD0's XMP entry (tag 700) points at it;
  when IFD0 has none, a copy of IFD0 with the entry added is appended and the header points
  at the copy. Strips, tiles and every other IFD stay where they were.

Functions raise :class:`ContainerError` for a file they cannot edit with certainty (the
caller falls back to a sidecar).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
EXIF_SIGNATURE = b"Exif\x00\x00"
PHOTOSHOP_SIGNATURE = b"Photoshop 3.0\x00"
_APP1, _APP13 = 0xE1, 0xED
_MAX_SEGMENT = 65535 - 2
_IPTC_RESOURCE, _IPTC_DIGEST = 0x0404, 0x0425
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
_TIFF_XMP = 700


class ContainerError(ValueError):
    """photolm cannot place metadata into this file with certainty (message says why)."""


# --- JPEG ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    marker: int
    raw: bytes  # the whole segment, marker and length included

    @property
    def payload(self) -> bytes:
        return self.raw[4:]

    def kind(self) -> str:
        """``exif``, ``xmp``, ``xmp-extension``, ``photoshop`` or ``other``."""
        if self.marker == _APP1:
            if self.payload.startswith(EXIF_SIGNATURE):
                return "exif"
            if self.payload.startswith(XMP_SIGNATURE):
                return "xmp"
            if self.payload.startswith(b"http://ns.adobe.com/xmp/extension/\x00"):
                return "xmp-extension"
        if self.marker == _APP13 and self.payload.startswith(PHOTOSHOP_SIGNATURE):
            return "photoshop"
        return "other"


def jpeg_segments(data: bytes) -> tuple[list[Segment], int]:
    """The segments before the first SOS, and where the SOS marker starts (from there to
    the end is image data; an offset, not a copy: photos are megabytes)."""
    if data[:2] != b"\xff\xd8":
        raise ContainerError("not a JPEG (no SOI marker)")
    segments: list[Segment] = []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ContainerError(f"expected a JPEG marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:
            raise ContainerError("JPEG fill bytes between segments")
        if marker == 0xDA:
            return segments, pos
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:
            raise ContainerError(f"unexpected standalone marker 0xFF{marker:02X}")
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ContainerError(f"JPEG segment 0xFF{marker:02X} runs past the end")
        segments.append(Segment(marker, data[pos:end]))
        pos = end
    raise ContainerError("JPEG without image data (no SOS marker)")


def _segment(marker: int, payload: bytes) -> Segment:
    if len(payload) > _MAX_SEGMENT - 2:
        raise ContainerError("the XMP packet is too large for one JPEG segment")
    return Segment(marker, bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload)


def jpeg_xmp(data: bytes) -> bytes:
    """The standard XMP packet of a JPEG (``b""`` when it has none)."""
    segments, _rest = jpeg_segments(data)
    found = [s for s in segments if s.kind() == "xmp"]
    return found[0].payload[len(XMP_SIGNATURE):] if found else b""


def jpeg_write(data: bytes, *, packet: bytes | None, iptc: Mapping[str, Any] | None = None,
               exif_from: bytes | None = None) -> bytes:
    """``data`` with a new XMP packet (``None`` removes it), IPTC changes (exiv2 key -> new
    value, ``None`` deletes; see :func:`edit_iim`) and, when ``exif_from`` is given, that
    JPEG's EXIF segment in place of this one's. Every other segment is kept byte for byte."""
    segments, sos = jpeg_segments(data)
    rest = data[sos:]
    if sum(s.kind() == "xmp" for s in segments) > 1:
        raise ContainerError("the JPEG has two XMP segments")
    if b"AXS!" in rest[-12:] or b"AXS*" in rest[-12:]:
        # An AFCP trailer records absolute file offsets, which any growth before it shifts.
        raise ContainerError("the photo ends in an AFCP trailer whose offsets would shift")
    original = list(segments)
    if exif_from is not None:
        new_exif = [s for s in jpeg_segments(exif_from)[0] if s.kind() == "exif"]
        old_exif = [i for i, s in enumerate(segments) if s.kind() == "exif"]
        if len(new_exif) > 1 or len(old_exif) > 1:
            raise ContainerError("cannot tell which EXIF segment to replace")
        if old_exif and not new_exif:  # photolm's EXIF value was all there was
            del segments[old_exif[0]]
        elif old_exif:
            segments[old_exif[0]] = new_exif[0]
        elif new_exif:
            segments.insert(_leading_app_end(segments, exif=True), new_exif[0])
    if iptc:
        segments = _jpeg_edit_iptc(segments, iptc)
    index = next((i for i, s in enumerate(segments) if s.kind() == "xmp"), None)
    if packet is None:
        if index is not None:
            del segments[index]
    else:
        new = _segment(_APP1, XMP_SIGNATURE + packet)
        if index is not None:
            segments[index] = new
        else:
            segments.insert(_leading_app_end(segments), new)
    _check_mpf(original, segments)
    return b"\xff\xd8" + b"".join(s.raw for s in segments) + rest


def _check_mpf(before: Sequence[Segment], after: Sequence[Segment]) -> None:
    """A multi-picture JPEG (MPO, 3DS) locates its other images relative to its MPF APP2
    segment: every segment from there on must keep its size."""
    mpf = next((i for i, s in enumerate(before)
                if s.marker == 0xE2 and s.payload.startswith(b"MPF\x00")), None)
    if mpf is None:
        return
    after_mpf = next(i for i, s in enumerate(after) if s.raw == before[mpf].raw)
    if sum(len(s.raw) for s in before[mpf:]) != sum(len(s.raw) for s in after[after_mpf:]):
        raise ContainerError("the multi-picture (MPO) offsets after its MPF segment would shift")


def _leading_app_end(segments: Sequence[Segment], *, exif: bool = False) -> int:
    """Where a new APP1 goes: after JFIF/EXIF (for EXIF: after JFIF only), before the rest."""
    end = 0
    for i, segment in enumerate(segments):
        if segment.marker == 0xE0 or (segment.kind() == "exif" and not exif):
            end = i + 1
        else:
            break
    return end


# --- IPTC IIM inside the Photoshop APP13 segment ------------------------------------------------
# exiv2 key -> (record, dataset) for the datasets photolm writes.
IIM_NUMBERS: dict[str, tuple[int, int]] = {
    "Iptc.Envelope.CharacterSet": (1, 90),
    "Iptc.Application2.Keywords": (2, 25),
    "Iptc.Application2.City": (2, 90),
    "Iptc.Application2.SubLocation": (2, 92),
    "Iptc.Application2.ProvinceState": (2, 95),
    "Iptc.Application2.CountryCode": (2, 100),
    "Iptc.Application2.CountryName": (2, 101),
}
Dataset = tuple[int, int, bytes]


def parse_iim(block: bytes) -> list[Dataset]:
    datasets: list[Dataset] = []
    pos = 0
    while pos < len(block):
        if block[pos] != 0x1C:
            if not block[pos:].strip(b"\x00"):
                break  # padding
            raise ContainerError("IPTC block is not a list of IIM datasets")
        if pos + 5 > len(block):
            raise ContainerError("IPTC dataset header truncated")
        record, number = block[pos + 1], block[pos + 2]
        (length,) = struct.unpack(">H", block[pos + 3:pos + 5])
        if length & 0x8000:
            raise ContainerError("IPTC extended datasets are not supported")
        start = pos + 5
        if start + length > len(block):
            raise ContainerError("IPTC dataset runs past its block")
        datasets.append((record, number, block[start:start + length]))
        pos = start + length
    return datasets


def build_iim(datasets: Sequence[Dataset]) -> bytes:
    out = bytearray()
    for record, number, value in datasets:
        if len(value) > 0x7FFF:
            raise ContainerError("IPTC value too long")
        out += bytes([0x1C, record, number]) + struct.pack(">H", len(value)) + value
    return bytes(out)


def edit_iim(datasets: Sequence[Dataset], changes: Mapping[str, Any]) -> list[Dataset]:
    """Apply exiv2-keyed changes (a string, a list for repeatable datasets, ``None`` to
    delete) keeping every other dataset, and the order of unchanged ones, as it was: items
    appended to a list go right after its last item; a removed item leaves its neighbours
    where they were."""
    out = list(datasets)
    for key, value in changes.items():
        if key not in IIM_NUMBERS:
            raise ContainerError(f"photolm does not write IPTC {key}")
        record, number = IIM_NUMBERS[key]
        wanted = [] if value is None else (value if isinstance(value, list) else [value])
        wanted_bytes = [str(v).encode("utf-8") for v in wanted]
        positions = [i for i, (r, n, _v) in enumerate(out) if (r, n) == (record, number)]
        current = [out[i][2] for i in positions]
        if current == wanted_bytes[:len(current)]:  # items appended (or nothing changed)
            extra = [(record, number, v) for v in wanted_bytes[len(current):]]
            at = positions[-1] + 1 if positions else _iim_insert_at(out, record, number)
            out[at:at] = extra
            continue
        keep = list(wanted_bytes)
        remove: list[int] = []
        for i in reversed(positions):  # remove the last occurrences of what went
            if out[i][2] in keep:
                keep.remove(out[i][2])
            else:
                remove.append(i)
        if not keep:
            out = [d for i, d in enumerate(out) if i not in remove]
            continue
        # Anything else: replace the datasets where the first one was.
        at = positions[0] if positions else _iim_insert_at(out, record, number)
        out = [d for i, d in enumerate(out) if i not in positions]
        at = min(at, len(out))
        out[at:at] = [(record, number, v) for v in wanted_bytes]
    return out


def _iim_insert_at(datasets: Sequence[Dataset], record: int, number: int) -> int:
    """Keep records and dataset numbers ascending, as the IIM standard asks."""
    at = 0
    for i, (r, n, _v) in enumerate(datasets):
        if (r, n) <= (record, number):
            at = i + 1
    return at


def _resources(payload: bytes) -> list[tuple[int, bytes, bytes]]:
    """Photoshop image resources: ``(id, raw resource bytes, data)``."""
    body = payload[len(PHOTOSHOP_SIGNATURE):]
    resources = []
    pos = 0
    while pos + 12 <= len(body) and body[pos:pos + 4] == b"8BIM":
        (rid,) = struct.unpack(">H", body[pos + 4:pos + 6])
        name_len = body[pos + 6]
        name_end = pos + 7 + name_len
        name_end += (name_end - pos) % 2  # the name field is padded to an even size
        (size,) = struct.unpack(">I", body[name_end:name_end + 4])
        start = name_end + 4
        end = start + size + (size % 2)
        if start + size > len(body):
            raise ContainerError("Photoshop resource runs past its segment")
        resources.append((rid, body[pos:min(end, len(body))], body[start:start + size]))
        pos = end
    if body[pos:].strip(b"\x00"):
        raise ContainerError("unrecognised data in the Photoshop segment")
    return resources


def _resource(rid: int, header: bytes, data: bytes) -> bytes:
    """A resource with ``header`` (the original's 8BIM, id and name) and new data."""
    return header + struct.pack(">I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def _resource_header(raw: bytes) -> bytes:
    name_len = raw[6]
    name_end = 7 + name_len
    name_end += name_end % 2
    return raw[:name_end]


def jpeg_iim(data: bytes) -> list[Dataset] | None:
    """The IPTC datasets of a JPEG (``None`` when it has no IPTC resource)."""
    for segment in jpeg_segments(data)[0]:
        if segment.kind() == "photoshop":
            for rid, _raw, body in _resources(segment.payload):
                if rid == _IPTC_RESOURCE:
                    return parse_iim(body)
    return None


def _jpeg_edit_iptc(segments: list[Segment], changes: Mapping[str, Any]) -> list[Segment]:
    found = [i for i, s in enumerate(segments) if s.kind() == "photoshop"]
    if len(found) != 1:
        raise ContainerError("photolm writes IPTC only into a JPEG with one Photoshop segment")
    segment = segments[found[0]]
    resources = _resources(segment.payload)
    old_iim = next((body for rid, _raw, body in resources if rid == _IPTC_RESOURCE), None)
    if old_iim is None:
        raise ContainerError("the JPEG has no IPTC to add to")
    new_iim = build_iim(edit_iim(parse_iim(old_iim), changes))
    old_digest = hashlib.md5(old_iim, usedforsecurity=False).digest()
    parts = []
    for rid, raw, body in resources:
        if rid == _IPTC_RESOURCE:
            raw = _resource(rid, _resource_header(raw), new_iim)
        elif rid == _IPTC_DIGEST and body == old_digest:
            # The digest said "IPTC as the last IPTC-aware program left it": keep saying so.
            new_digest = hashlib.md5(new_iim, usedforsecurity=False).digest()
            raw = _resource(rid, _resource_header(raw), new_digest)
        parts.append(raw)
    payload = PHOTOSHOP_SIGNATURE + b"".join(parts)
    if len(payload) > _MAX_SEGMENT - 2:
        raise ContainerError("the IPTC block would not fit in one JPEG segment")
    new = list(segments)
    new[found[0]] = _segment(_APP13, payload)
    return new


# --- PNG ----------------------------------------------------------------------------------------
def _png_chunks(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """``(type, data, raw chunk)`` for each chunk up to and including IEND; then the rest."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ContainerError("not a PNG")
    chunks = []
    pos = 8
    while pos + 12 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ContainerError(f"PNG chunk {ctype!r} runs past the end")
        chunks.append((ctype, data[pos + 8:pos + 8 + length], data[pos:end]))
        pos = end
        if ctype == b"IEND":
            chunks.append((b"", b"", data[pos:]))
            return chunks
    raise ContainerError("PNG without IEND")


def _is_png_xmp(ctype: bytes, body: bytes) -> bool:
    return ctype == b"iTXt" and body.startswith(PNG_XMP_KEYWORD + b"\x00")


def png_xmp(data: bytes) -> bytes:
    for ctype, body, _raw in _png_chunks(data):
        if _is_png_xmp(ctype, body):
            rest = body[len(PNG_XMP_KEYWORD) + 1:]
            if rest[:2] != b"\x00\x00":
                raise ContainerError("compressed XMP in a PNG")
            _lang, _sep, rest = rest[2:].partition(b"\x00")
            _translated, _sep, text = rest.partition(b"\x00")
            return text
    return b""


def png_write(data: bytes, *, packet: bytes | None) -> bytes:
    chunks = _png_chunks(data)
    index = [i for i, (t, b, _r) in enumerate(chunks) if _is_png_xmp(t, b)]
    if len(index) > 1:
        raise ContainerError("the PNG has two XMP chunks")
    raw = [r for _t, _b, r in chunks]
    if packet is None:
        if index:
            del raw[index[0]]
    else:
        body = PNG_XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + packet
        chunk = struct.pack(">I", len(body)) + b"iTXt" + body + \
            struct.pack(">I", zlib.crc32(b"iTXt" + body))
        if index:
            raw[index[0]] = chunk
        else:
            if not chunks or chunks[0][0] != b"IHDR":
                raise ContainerError("PNG does not start with IHDR")
            raw.insert(1, chunk)
    return data[:8] + b"".join(raw)


# --- TIFF ---------------------------------------------------------------------------------------
def _tiff_header(data: bytes) -> tuple[str, int]:
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack(order + "H", data[2:4])[0] != 42:
        raise ContainerError("not a classic TIFF")
    return order, struct.unpack(order + "I", data[4:8])[0]


def tiff_ifd0(data: bytes) -> tuple[str, int, list[bytes], int]:
    """Byte order, IFD0 offset, its raw 12-byte entries and the next-IFD offset."""
    order, offset = _tiff_header(data)
    if offset + 2 > len(data):
        raise ContainerError("TIFF IFD0 lies past the end")
    (count,) = struct.unpack(order + "H", data[offset:offset + 2])
    end = offset + 2 + 12 * count
    if end + 4 > len(data):
        raise ContainerError("TIFF IFD0 runs past the end")
    entries = [data[offset + 2 + 12 * i:offset + 14 + 12 * i] for i in range(count)]
    (next_ifd,) = struct.unpack(order + "I", data[end:end + 4])
    return order, offset, entries, next_ifd


def _entry_tag(order: str, entry: bytes) -> int:
    return int(struct.unpack(order + "H", entry[:2])[0])


def tiff_xmp(data: bytes) -> bytes:
    order, _offset, entries, _next = tiff_ifd0(data)
    for entry in entries:
        if _entry_tag(order, entry) == _TIFF_XMP:
            _tag, _type, count, where = struct.unpack(order + "HHII", entry)
            if count <= 4:
                return entry[8:8 + count]
            return data[where:where + count]
    return b""


def tiff_write(data: bytes, *, packet: bytes | None) -> bytes:
    order, offset, entries, next_ifd = tiff_ifd0(data)
    out = bytearray(data)
    others = [e for e in entries if _entry_tag(order, e) != _TIFF_XMP]
    existing = [i for i, e in enumerate(entries) if _entry_tag(order, e) == _TIFF_XMP]
    if packet is None:
        if not existing:
            return data
        new_entries = others
    else:
        out += b"\x00" * (len(out) % 2)  # TIFF values start on a word boundary
        where = len(out)
        out += packet
        entry = struct.pack(order + "HHII", _TIFF_XMP, 1, len(packet), where)
        if existing:  # same entry count: patch the entry in place
            at = offset + 2 + 12 * existing[0]
            out[at:at + 12] = entry
            return bytes(out)
        new_entries = sorted([*others, entry], key=lambda e: _entry_tag(order, e))
    out += b"\x00" * (len(out) % 2)
    new_offset = len(out)
    out += struct.pack(order + "H", len(new_entries)) + b"".join(new_entries)
    out += struct.pack(order + "I", next_ifd)
    out[4:8] = struct.pack(order + "I", new_offset)
    return bytes(out)


# --- WebP ---------------------------------------------------------------------------------------
_WEBP_XMP_FLAG = 0x04
_WEBP_ALPHA_FLAG = 0x10


def webp_chunks(data: bytes) -> tuple[list[tuple[bytes, bytes, bytes]], bytes]:
    """``(fourcc, body, raw chunk with padding)`` for each chunk, and any bytes after the
    RIFF container (kept as they are)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ContainerError("not a WebP file")
    (size,) = struct.unpack("<I", data[4:8])
    end = 8 + size
    if end > len(data) or size < 4:
        raise ContainerError("WebP RIFF size runs past the end")
    chunks = []
    pos = 12
    while pos < end:
        if pos + 8 > end:
            raise ContainerError("WebP chunk header truncated")
        fourcc = data[pos:pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4:pos + 8])
        stop = pos + 8 + length + (length & 1)
        if pos + 8 + length > end:
            raise ContainerError(f"WebP chunk {fourcc!r} runs past the end")
        chunks.append((fourcc, data[pos + 8:pos + 8 + length], data[pos:min(stop, end)]))
        pos = stop
    return chunks, data[end:]


def webp_xmp(data: bytes) -> bytes:
    chunks, _rest = webp_chunks(data)
    return next((body for fourcc, body, _raw in chunks if fourcc == b"XMP "), b"")


def _webp_chunk(fourcc: bytes, body: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def _webp_canvas(chunks: Sequence[tuple[bytes, bytes, bytes]]) -> tuple[int, int, bool]:
    """Width, height and "has alpha" of a simple (VP8 or VP8L) WebP, from its bitstream."""
    fourcc, body, _raw = chunks[0]
    if fourcc == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    if fourcc == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        (bits,) = struct.unpack("<I", body[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise ContainerError("unrecognised WebP bitstream")


def webp_write(data: bytes, *, packet: bytes | None) -> bytes:
    """``data`` with its XMP chunk replaced, added at the end, or removed; the VP8X header's
    XMP flag kept in step (a simple WebP gets a VP8X header, which XMP requires)."""
    chunks, rest = webp_chunks(data)
    if not chunks:
        raise ContainerError("WebP without chunks")
    raw = [r for _f, _b, r in chunks]
    kinds = [f for f, _b, _r in chunks]
    if b"VP8X" not in kinds:
        if packet is None:
            return data
        width, height, alpha = _webp_canvas(chunks)
        flags = _WEBP_XMP_FLAG | (_WEBP_ALPHA_FLAG if alpha else 0)
        header = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + \
            (height - 1).to_bytes(3, "little")
        raw.insert(0, _webp_chunk(b"VP8X", header))
        kinds.insert(0, b"VP8X")
    else:
        at = kinds.index(b"VP8X")
        body = bytearray(chunks[at][1])
        if len(body) < 10:
            raise ContainerError("WebP VP8X header too short")
        body[0] = (body[0] | _WEBP_XMP_FLAG) if packet is not None else \
            (body[0] & ~_WEBP_XMP_FLAG & 0xFF)
        raw[at] = _webp_chunk(b"VP8X", bytes(body))
    if kinds.count(b"XMP ") > 1:
        raise ContainerError("the WebP has two XMP chunks")
    if b"XMP " in kinds:
        at = kinds.index(b"XMP ")
        if packet is None:
            del raw[at]
        else:
            raw[at] = _webp_chunk(b"XMP ", packet)
    elif packet is not None:
        raw.append(_webp_chunk(b"XMP ", packet))
    body = b"WEBP" + b"".join(raw)
    return b"RIFF" + struct.pack("<I", len(body)) + body + rest


# --- one entry point per format -----------------------------------------------------------------
def read_xmp(kind: str, data: bytes) -> bytes:
    if kind == "jpeg":
        return jpeg_xmp(data)
    if kind == "png":
        return png_xmp(data)
    if kind == "tiff":
        return tiff_xmp(data)
    if kind == "webp":
        return webp_xmp(data)
    raise ContainerError(f"photolm does not place XMP into {kind} files itself")
