# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks run on a rewritten file before it may replace the original.

Three questions, each answered by reading the new bytes back from disk:

1. Are photolm's fields exactly what the plan says? Compared with :func:`changes.diff`, on a
   snapshot read back the same way as the original (for embedded XMP that means after exiv2
   or ExifTool re-serialised it, so their parser has had its say too).
2. Is everything else unchanged? Every EXIF, IPTC and XMP value exiv2 can read (ExifTool's
   full tag list for HEIC) must be equal before and after, except the fields photolm manages
   (already covered by 1) and the offsets that any rewrite moves.
3. Are the image data byte-identical? See :mod:`photolm.metadata.imagedata`.

Each check raises ``ValueError`` with a one-line reason; the atomic writer turns that into
"verification failed ...; the original is untouched".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from photolm.metadata import rules
from photolm.metadata.embedded import EmbeddedMetadata
from photolm.metadata.fields import (
    DC_NS,
    DIGIKAM_NS,
    EXIF_FIELDS,
    EXIF_NS,
    FIELDS,
    IPTC_CORE_NS,
    IPTC_EXT_NS,
    IPTC_FIELDS,
    LR_NS,
    PHOTOLM_NS,
    PHOTOSHOP_NS,
    XMP_LIST_FIELDS,
    FieldSpec,
)
from photolm.wording import counted

# exiv2's fixed prefixes for the namespaces photolm writes (its keys are "Xmp.<prefix>.<name>").
EXIV2_PREFIX = {
    DC_NS: "dc",
    LR_NS: "lr",
    DIGIKAM_NS: "digiKam",
    IPTC_CORE_NS: "iptc",
    IPTC_EXT_NS: "iptcExt",
    PHOTOSHOP_NS: "photoshop",
    EXIF_NS: "exif",
    PHOTOLM_NS: "photolm",
}

# Tags whose value is an offset into the file (or a block re-serialised as a whole and
# compared field by field elsewhere): any rewrite changes them.
_EXIF_LAYOUT_KEYS = frozenset({
    "Exif.Image.ExifTag", "Exif.Image.GPSTag", "Exif.Photo.InteroperabilityTag",
    "Exif.Image.JPEGInterchangeFormat", "Exif.Thumbnail.JPEGInterchangeFormat",
    "Exif.Image.StripOffsets", "Exif.Image.TileOffsets", "Exif.Image.XMLPacket",
    "Exif.Image.IPTCNAA", "Exif.Image.ImageResources", "Exif.MakerNote.Offset",
})
_MANAGED_EXIF = frozenset(spec.key for spec in EXIF_FIELDS)
# The IFD0 tags the EXIF standard requires in a JPEG, with the values cameras and ExifTool
# write when nothing better is known. An EXIF block photolm creates (Windows keywords in a
# JPEG that had none) carries them, so validators (``exiftool -validate``) find it complete.
NEW_EXIF_IFD0 = {"Exif.Image.XResolution": "72/1", "Exif.Image.YResolution": "72/1",
                 "Exif.Image.ResolutionUnit": "2", "Exif.Image.YCbCrPositioning": "1"}


def first_exif_ifd0(density: tuple[int, int, int] | None) -> dict[str, str]:
    """:data:`NEW_EXIF_IFD0` for a JPEG whose JFIF header gives ``density`` (``(unit, x,
    y)``, see :func:`~photolm.metadata.containers.jpeg_density`): its resolution, not 72 dpi.
    Photoshop and Windows read EXIF's resolution before JFIF's: a 300 dpi scan given 72 would
    change its print size."""
    if density is None:
        return dict(NEW_EXIF_IFD0)
    unit, x, y = density
    return {**NEW_EXIF_IFD0, "Exif.Image.XResolution": f"{x}/1",
            "Exif.Image.YResolution": f"{y}/1",
            "Exif.Image.ResolutionUnit": "2" if unit == 1 else "3"}
_MANAGED_IPTC = frozenset(spec.key for spec in IPTC_FIELDS)


def exiv2_key(spec: FieldSpec) -> str:
    return f"Xmp.{EXIV2_PREFIX[spec.ns]}.{spec.name}"


_MANAGED_XMP = tuple(exiv2_key(spec) for spec in FIELDS if spec.store == "xmp")


def _managed_xmp(key: str) -> bool:
    if key.startswith("Xmp.photolm."):
        return True
    return any(key == base or key.startswith((base + "[", base + "/"))
               for base in _MANAGED_XMP)


def check_fields(expected: rules.Snapshot, actual: rules.Snapshot) -> None:
    """photolm's fields read back exactly as planned."""
    differences = rules.diff(expected, actual)
    if differences:
        raise ValueError(f"read back differently: {differences[0]}")


def check_xmp_lists(expected: rules.Snapshot, exiv2_xmp: Mapping[str, Any]) -> None:
    """The keyword lists as exiv2 (an independent XMP parser) reads them."""
    for spec in XMP_LIST_FIELDS:
        want = expected.xmp.get_list(spec.ns, spec.name) or []
        got = exiv2_xmp.get(exiv2_key(spec)) or []
        got = [got] if isinstance(got, str) else list(got)
        if sorted(got) != sorted(want):
            raise ValueError(f"exiv2 reads {spec.label} as {got!r}, expected {want!r}")


def check_unmanaged(before: EmbeddedMetadata, after: EmbeddedMetadata, *,
                    first_exif: Mapping[str, str] = NEW_EXIF_IFD0) -> None:
    """Every value photolm does not manage is unchanged, as exiv2 reads it (a photo without
    EXIF may gain ``first_exif``, see :func:`first_exif_ifd0`, with exactly those values,
    with its first block)."""
    added = {k for k, v in first_exif.items() if not before.exif and after.exif.get(k) == v}
    _same("EXIF", before.exif, after.exif,
          lambda k: k in _EXIF_LAYOUT_KEYS or k in _MANAGED_EXIF or k in added)
    _same("IPTC", before.iptc, after.iptc, lambda k: k in _MANAGED_IPTC)
    check_unmanaged_xmp(before.xmp, after.xmp)
    if before.icc != after.icc:
        raise ValueError("the ICC colour profile changed")


def check_unmanaged_xmp(before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    _same("XMP", before, after, _managed_xmp)


def check_same_tags(before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    """ExifTool's stable tags (see :func:`exiftool.stable_tags`) are unchanged."""
    _same("tag", before, after, lambda _k: False)


def _same(label: str, before: Mapping[str, Any], after: Mapping[str, Any],
          ignored: Any) -> None:
    old = {k: v for k, v in before.items() if not ignored(k)}
    new = {k: v for k, v in after.items() if not ignored(k)}
    if old == new:
        return
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    raise ValueError(f"{label} {changed[0]} changed ({counted(len(changed), 'value', 'differs')})")


# --- the container: every block photolm did not plan to change is byte-identical ---------------
_STANDARD_EXIF_GROUPS = ("Exif.Image.", "Exif.Photo.", "Exif.GPSInfo.", "Exif.Iop.",
                         "Exif.Thumbnail.", "Exif.Image2.", "Exif.SubImage")


class MakerNoteChanged(ValueError):
    """The camera's maker note would not read the same after the write."""


def maker_note_view(exif: Mapping[str, Any]) -> dict[str, Any]:
    """exiv2's reading of the maker note: its raw bytes, where it sits (its internal offsets
    are often relative to the EXIF block, so moving it breaks them even when its bytes are
    unchanged) and every tag exiv2 decodes from it."""
    return {k: v for k, v in exif.items()
            if k in ("Exif.Photo.MakerNote", "Exif.MakerNote.Offset", "Exif.MakerNote.ByteOrder")
            or not k.startswith(_STANDARD_EXIF_GROUPS)}


def check_maker_note(before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    old, new = maker_note_view(before), maker_note_view(after)
    if old != new:
        changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        raise MakerNoteChanged(f"the camera maker note would change ({changed[0]})")


def check_packet(written_packet: bytes, expected: bytes) -> None:
    """The XMP packet in the file is exactly the one photolm edited (no re-serialisation:
    a tool's name, ``rdf:about`` or formatting changed by a writer shows up here)."""
    if written_packet != expected:
        raise ValueError("the XMP packet was re-serialised on writing")


def check_container(kind: str, before: bytes, after: bytes, *, exif_changed: bool,
                    iptc_changed: bool) -> None:
    """Metadata blocks photolm did not plan to change are byte for byte the same (EXIF
    byte order, maker notes, IPTC dataset order and values, comments, other tools' blocks)."""
    from photolm.metadata import containers

    if kind == "jpeg":
        old = _jpeg_blocks(before, exif_changed)
        new = _jpeg_blocks(after, exif_changed)
        if old != new:
            raise ValueError("a JPEG metadata segment photolm does not write changed")
        if _photoshop_others(before) != _photoshop_others(after):
            raise ValueError("a Photoshop resource photolm does not write changed")
        old_iim, new_iim = containers.jpeg_iim(before), containers.jpeg_iim(after)
        if not iptc_changed and old_iim != new_iim:
            raise ValueError("the IPTC block changed")
        if old_iim is not None and new_iim is not None:
            managed = set(containers.IIM_NUMBERS.values())
            if [d for d in old_iim if d[:2] not in managed] != \
                    [d for d in new_iim if d[:2] not in managed]:
                raise ValueError("IPTC datasets photolm does not write changed or moved")
    elif kind == "png":
        def chunks(data: bytes) -> list[bytes]:
            return [raw for t, b, raw in containers.png.png_chunks(data)
                    if not containers.png.is_png_xmp(t, b)]
        if chunks(before) != chunks(after):
            raise ValueError("a PNG chunk photolm does not write changed")
    elif kind == "webp":
        _check_webp(before, after)
    elif kind == "tiff":
        order, offset, entries, next_ifd = containers.tiff_ifd0(before)
        _o, _off, new_entries, new_next = containers.tiff_ifd0(after)
        if after[:4] != before[:4] or next_ifd != new_next or \
                [e for e in entries if e[:2] != _xmp_tag(order)] != \
                [e for e in new_entries if e[:2] != _xmp_tag(order)]:
            raise ValueError("a TIFF tag photolm does not write changed")
        mask_end = offset + 2 + 12 * len(entries)
        if after[8:offset] != before[8:offset] or \
                after[mask_end:len(before)] != before[mask_end:]:
            raise ValueError("TIFF data photolm does not write moved or changed")


def _xmp_tag(order: str) -> bytes:
    return (700).to_bytes(2, "little" if order == "<" else "big")


def _jpeg_blocks(data: bytes, exif_changed: bool) -> list[bytes]:
    from photolm.metadata import containers

    segments, _sos = containers.jpeg_segments(data)
    skip = {"xmp", "photoshop"} | ({"exif"} if exif_changed else set())
    # The image data from SOS on are compared by imagedata.check_same_image_data.
    return [s.raw for s in segments if s.kind() not in skip]


def _photoshop_others(data: bytes) -> list[bytes]:
    """Photoshop resources other than IPTC and its digest (which photolm keeps in step)."""
    from photolm.metadata import containers

    return [raw for s in containers.jpeg_segments(data)[0] if s.kind() == "photoshop"
            for rid, raw, _body in containers.iptc.photoshop_resources(s.payload)
            if rid not in (containers.iptc.IPTC_RESOURCE, containers.iptc.IPTC_DIGEST)]


def _check_webp(before: bytes, after: bytes) -> None:
    """Chunks other than XMP identical and in order; a VP8X header photolm added or kept
    differs from the original at most in its XMP flag."""
    from photolm.metadata import containers

    old, old_rest = containers.webp_chunks(before)
    new, new_rest = containers.webp_chunks(after)
    kept_old = [(f, b) for f, b, _r in old if f not in (b"XMP ", b"VP8X")]
    kept_new = [(f, b) for f, b, _r in new if f not in (b"XMP ", b"VP8X")]
    if kept_old != kept_new or old_rest != new_rest:
        raise ValueError("a WebP chunk photolm does not write changed")
    old_x = next((b for f, b, _r in old if f == b"VP8X"), None)
    new_x = next((b for f, b, _r in new if f == b"VP8X"), None)
    if old_x is not None and (new_x is None or len(old_x) != len(new_x)
                              or old_x[1:] != new_x[1:] or (old_x[0] ^ new_x[0]) & ~0x04):
        raise ValueError("the WebP header changed beyond its XMP flag")
