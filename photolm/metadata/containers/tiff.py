# SPDX-License-Identifier: GPL-3.0-or-later
"""TIFF: the packet appended and IFD0's XMP entry (tag 700) pointed at it; strips, tiles
and every other IFD stay where they were."""

from __future__ import annotations

import struct

from photolm.metadata.containers.error import ContainerError

_TIFF_XMP = 700


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
