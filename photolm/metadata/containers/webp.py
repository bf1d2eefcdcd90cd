# SPDX-License-Identifier: GPL-3.0-or-later
"""WebP: the ``XMP `` chunk replaced or appended and the VP8X header's XMP flag set."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from photolm.metadata.containers.error import ContainerError

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
