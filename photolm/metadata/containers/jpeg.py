# SPDX-License-Identifier: GPL-3.0-or-later
"""JPEG: the XMP APP1 segment, the IPTC resource in the Photoshop APP13 segment and, when
photolm changes EXIF, the EXIF APP1 segment; every other segment copied byte for byte."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from photolm.metadata.containers.error import ContainerError
from photolm.metadata.containers.iptc import (
    IPTC_DIGEST,
    IPTC_RESOURCE,
    PHOTOSHOP_SIGNATURE,
    Dataset,
    build_iim,
    build_resource,
    edit_iim,
    parse_iim,
    photoshop_resources,
    resource_header,
)

XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
EXIF_SIGNATURE = b"Exif\x00\x00"
_APP0, _APP1, _APP13 = 0xE0, 0xE1, 0xED
_MAX_SEGMENT = 65535 - 2


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


def jpeg_density(data: bytes) -> tuple[int, int, int] | None:
    """The JFIF header's pixel density as ``(unit, x, y)``, unit 1 per inch, 2 per cm;
    ``None`` when there is no JFIF header or it gives only an aspect ratio (unit 0)."""
    try:
        segments, _rest = jpeg_segments(data)
    except ContainerError:
        return None
    for segment in segments:
        payload = segment.payload
        if segment.marker == _APP0 and payload.startswith(b"JFIF\x00") and len(payload) >= 12:
            unit, x, y = payload[7], *struct.unpack(">HH", payload[8:12])
            return (unit, x, y) if unit in (1, 2) and x and y else None
    return None


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


def jpeg_iim(data: bytes) -> list[Dataset] | None:
    """The IPTC datasets of a JPEG (``None`` when it has no IPTC resource)."""
    for segment in jpeg_segments(data)[0]:
        if segment.kind() == "photoshop":
            for rid, _raw, body in photoshop_resources(segment.payload):
                if rid == IPTC_RESOURCE:
                    return parse_iim(body)
    return None


def _jpeg_edit_iptc(segments: list[Segment], changes: Mapping[str, Any]) -> list[Segment]:
    found = [i for i, s in enumerate(segments) if s.kind() == "photoshop"]
    if len(found) != 1:
        raise ContainerError("photolm writes IPTC only into a JPEG with one Photoshop segment")
    segment = segments[found[0]]
    resources = photoshop_resources(segment.payload)
    old_iim = next((body for rid, _raw, body in resources if rid == IPTC_RESOURCE), None)
    if old_iim is None:
        raise ContainerError("the JPEG has no IPTC to add to")
    new_iim = build_iim(edit_iim(parse_iim(old_iim), changes))
    old_digest = hashlib.md5(old_iim, usedforsecurity=False).digest()
    parts = []
    for rid, raw, body in resources:
        if rid == IPTC_RESOURCE:
            raw = build_resource(rid, resource_header(raw), new_iim)
        elif rid == IPTC_DIGEST and body == old_digest:
            # The digest said "IPTC as the last IPTC-aware program left it": keep saying so.
            new_digest = hashlib.md5(new_iim, usedforsecurity=False).digest()
            raw = build_resource(rid, resource_header(raw), new_digest)
        parts.append(raw)
    payload = PHOTOSHOP_SIGNATURE + b"".join(parts)
    if len(payload) > _MAX_SEGMENT - 2:
        raise ContainerError("the IPTC block would not fit in one JPEG segment")
    new = list(segments)
    new[found[0]] = _segment(_APP13, payload)
    return new
