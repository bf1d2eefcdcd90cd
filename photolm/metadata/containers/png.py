# SPDX-License-Identifier: GPL-3.0-or-later
"""PNG: the ``XML:com.adobe.xmp`` iTXt chunk, replaced or inserted after IHDR."""

from __future__ import annotations

import struct
import zlib

from photolm.metadata.containers.error import ContainerError

PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
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


def is_png_xmp(ctype: bytes, body: bytes) -> bool:
    return ctype == b"iTXt" and body.startswith(PNG_XMP_KEYWORD + b"\x00")


def png_xmp(data: bytes) -> bytes:
    for ctype, body, _raw in png_chunks(data):
        if is_png_xmp(ctype, body):
            rest = body[len(PNG_XMP_KEYWORD) + 1:]
            if rest[:2] != b"\x00\x00":
                raise ContainerError("compressed XMP in a PNG")
            _lang, _sep, rest = rest[2:].partition(b"\x00")
            _translated, _sep, text = rest.partition(b"\x00")
            return text
    return b""


def png_write(data: bytes, *, packet: bytes | None) -> bytes:
    chunks = png_chunks(data)
    index = [i for i, (t, b, _r) in enumerate(chunks) if is_png_xmp(t, b)]
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
