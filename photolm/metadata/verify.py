# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks run on a rewritten file before it may replace the original.

Three questions, each answered by reading the new bytes back from disk:

1. Are photolm's fields exactly what the plan says? Compared with :func:`rules.diff`, on a
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


def check_unmanaged(before: EmbeddedMetadata, after: EmbeddedMetadata) -> None:
    """Every value photolm does not manage is unchanged, as exiv2 reads it."""
    _same("EXIF", before.exif, after.exif,
          lambda k: k in _EXIF_LAYOUT_KEYS or k in _MANAGED_EXIF)
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
    raise ValueError(f"{label} {changed[0]} changed ({len(changed)} value(s) differ)")
