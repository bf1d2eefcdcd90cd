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

One module per container format (``jpeg`` with ``iptc``, ``png``, ``tiff``, ``webp``); this
package exports their public functions. Functions raise :class:`ContainerError` for a file
they cannot edit with certainty (the caller falls back to a sidecar).
"""

from __future__ import annotations

from photolm.metadata.containers.error import ContainerError
from photolm.metadata.containers.iptc import (
    IIM_NUMBERS,
    PHOTOSHOP_SIGNATURE,
    Dataset,
    build_iim,
    edit_iim,
    parse_iim,
)
from photolm.metadata.containers.jpeg import (
    EXIF_SIGNATURE,
    XMP_SIGNATURE,
    Segment,
    jpeg_density,
    jpeg_iim,
    jpeg_segments,
    jpeg_write,
    jpeg_xmp,
)
from photolm.metadata.containers.png import PNG_XMP_KEYWORD, png_write, png_xmp
from photolm.metadata.containers.tiff import tiff_ifd0, tiff_write, tiff_xmp
from photolm.metadata.containers.webp import webp_chunks, webp_write, webp_xmp

__all__ = [
    "EXIF_SIGNATURE", "IIM_NUMBERS", "PHOTOSHOP_SIGNATURE", "PNG_XMP_KEYWORD", "XMP_SIGNATURE",
    "ContainerError", "Dataset", "Segment", "build_iim", "edit_iim", "jpeg_density", "jpeg_iim",
    "jpeg_segments", "jpeg_write", "jpeg_xmp", "parse_iim", "png_write", "png_xmp",
    "read_xmp", "tiff_ifd0", "tiff_write", "tiff_xmp", "webp_chunks", "webp_write", "webp_xmp",
]


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
