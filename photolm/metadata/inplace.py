# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing tags into the photo itself (``--embed``), verified, with a way back.

JPEG, PNG, TIFF and WebP: photolm's XMP (and JPEG IPTC) blocks are placed by
:mod:`~photolm.metadata.containers`, everything else copied byte for byte; exiv2 reads the
metadata and serialises EXIF only when photolm changes it (never for a photo with a maker
note). HEIC, HEIF and AVIF go through ExifTool. Each write is verified before the rename
(:mod:`~photolm.metadata.verify`) and keeps what it replaced in an
:class:`~photolm.metadata.undo.UndoStore`, so untag can give back the original bytes.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from photolm.discovery import sniff_file
from photolm.errors import TagError
from photolm.fingerprint import fingerprint_bytes
from photolm.metadata import atomic, containers, embedded, exiftool, rules, verify
from photolm.metadata.containers import ContainerError
from photolm.metadata.embedded import EmbeddedMetadata, Exiv2Error
from photolm.metadata.exiftool import ExifToolError
from photolm.metadata.fields import FieldChange, TagSet
from photolm.metadata.plan import (
    Action,
    CannotEmbed,
    Method,
    TagPlan,
    TargetPlan,
    compute,
    purpose,
    verb,
)
from photolm.metadata.undo import (
    UndoRecord,
    UndoStore,
    UndoStoreError,
    find_original,
    make_patch,
    sha256,
)
from photolm.metadata.verify import MakerNoteChanged
from photolm.metadata.xmp import XmpDocument, XmpError
from photolm.printed_paths import printed

_XML_MISC = re.compile(r"(?:\s+|<\?(?:(?!\?>).)*\?>|<!--(?:(?!-->).)*-->)*", re.S)

EXIV2_FORMATS = frozenset({"jpeg", "png", "tiff", "webp"})  # read by exiv2, placed by us
EXIFTOOL_FORMATS = frozenset({"heic", "heif", "avif"})
# TIFF-based camera raw files (.dng, .nef...) sniff as TIFF; photolm never rewrites them.
_TIFF_EXTENSIONS = frozenset({".tif", ".tiff"})


def sniff(photo: Path) -> str | None:
    try:
        return sniff_file(photo)
    except FileNotFoundError:
        raise TagError(f"file vanished: {printed(photo)}") from None
    except OSError as exc:
        raise TagError(f"cannot read {printed(photo)}: {exc.strerror}") from None


def embedding(photo: Path) -> tuple[Method | None, str, str | None]:
    """``(method, format, None)`` when photolm can write into ``photo``, else
    ``(None, format, why not)``."""
    kind = sniff(photo) or "unknown"
    ext = photo.suffix.lower() or "(no extension)"
    if kind in EXIV2_FORMATS and (kind != "tiff" or ext in _TIFF_EXTENSIONS):
        return "exiv2", kind, None
    if kind in EXIFTOOL_FORMATS:
        if exiftool.exiftool_path() is not None:
            return "exiftool", kind, None
        return None, kind, (f"cannot embed into {ext} without ExifTool "
                            f"(exiv2 cannot write {kind.upper()})")
    return None, kind, f"unsupported format for embedding: {ext}"


def embedded_xmp(photo: Path, method: Method) -> XmpDocument:
    if method == "exiv2":
        data, _st = atomic.read_bytes(photo)
        try:
            packet = containers.read_xmp(sniff(photo) or "", data)
        except ContainerError as exc:
            raise XmpError(str(exc)) from None
    else:
        data, _st = atomic.read_bytes(photo)
        packet = exiftool.read_xmp_packet(data)
    return parse_packet(packet)


@dataclass
class _Embedded:
    """One read of a photo for an embedded write, with what verification needs later."""

    data: bytes
    stat: os.stat_result
    snapshot: rules.Snapshot
    meta: EmbeddedMetadata | None = None  # exiv2
    tags: dict[str, object] = field(default_factory=dict)  # exiftool
    packet: bytes = b""  # exiftool: the XMP packet as read


def _read_embedded(photo: Path, method: Method, kind: str) -> _Embedded:
    data, st = atomic.read_bytes(photo)
    where = printed(photo)
    try:
        if method == "exiv2":
            meta = embedded.read_metadata(metadata_part(kind, data))
            return _Embedded(data, st, _exiv2_snapshot(meta, kind, data), meta=meta)
        packet = exiftool.read_xmp_packet(data)
        tags = exiftool.stable_tags(exiftool.read_tags(data))
        return _Embedded(data, st, rules.Snapshot(parse_packet(packet)), tags=tags,
                         packet=packet)
    except (Exiv2Error, ExifToolError) as exc:
        raise TagError(f"cannot read the metadata of {where}: {exc}") from None
    except ContainerError as exc:
        raise CannotEmbed(str(exc)) from None
    except XmpError as exc:
        raise CannotEmbed(f"its XMP cannot be edited safely ({exc})") from None


def parse_packet(packet: bytes | str) -> XmpDocument:
    """An empty packet is an empty document (the photo has no XMP yet)."""
    return XmpDocument.parse(packet) if packet.strip() else XmpDocument.new()


def _exiv2_snapshot(meta: EmbeddedMetadata, kind: str, data: bytes) -> rules.Snapshot:
    """What the rules may edit in a photo photolm writes into itself.

    IPTC only in JPEG (photolm edits its datasets in place; in TIFF and PNG the legacy block
    is left alone and XMP carries the tags). EXIF only in a JPEG without a camera maker note:
    rewriting EXIF moves the maker note, whose internal offsets then point at the wrong bytes,
    so such a photo gets no Windows ``XPKeywords`` and an estimated location goes to XMP.
    """
    iptc, note = None, None
    if kind == "jpeg":
        iptc, note = embedded.decode_iptc(meta.iptc)
        if iptc is not None:
            try:
                containers.jpeg_iim(data)
            except ContainerError as exc:
                iptc, note = None, f"IPTC left alone: {exc}"
    exif_ok = kind == "jpeg" and not has_maker_note(meta.exif)
    return rules.Snapshot(xmp=parse_packet(containers.read_xmp(kind, data)), iptc=iptc,
                          exif=dict(meta.exif) if exif_ok else None, xp_keywords=exif_ok,
                          iptc_note=note)


def metadata_part(kind: str, data: bytes) -> bytes:
    """What exiv2 needs to see of a photo: for JPEG the segments before the image data and an
    empty scan (exiv2 reads and writes them exactly as with the whole file, checked on
    ExifTool's sample files), so megabytes of image data are not copied into exiv2 four
    times per photo."""
    if kind != "jpeg":
        return data
    try:
        _segments, sos = containers.jpeg_segments(data)
    except ContainerError:
        return data
    return data[:sos] + b"\xff\xda\x00\x02\xff\xd9"


def has_maker_note(exif: dict[str, str]) -> bool:
    return "Exif.Photo.MakerNote" in exif


def embedded_target(photo: Path, method: Method, kind: str, action: Action,
                     tagset: TagSet | None, write_location: bool,
                     photo_has_gps: bool) -> TargetPlan:
    # A symbolic link stays a link: the file it points to is the one rewritten.
    photo = Path(os.path.realpath(photo))
    st = atomic.stat_existing(photo)
    read = _read_embedded(photo, method, kind)
    options = rules.TagOptions(write_location=write_location, photo_has_gps=photo_has_gps)
    work, changes, notes = compute(action, read.snapshot, tagset, options, {})
    if changes:  # a photo already as planned is "already tagged", even on a read-only mount
        atomic.check_writable_file(photo, st, purpose(action))
        atomic.check_writable_folder(photo.parent, f"write into {printed(photo)} (photolm "
                                                   "writes a temporary copy beside it first)")
    if changes and method == "exiv2":
        new = _build_exiv2(read, kind, work)
        try:
            verify.check_maker_note(read.meta.exif if read.meta else {},
                                    embedded.read_metadata(metadata_part(kind, new)).exif)
        except MakerNoteChanged as exc:
            raise CannotEmbed(str(exc)) from None
    return TargetPlan(photo, method, kind, tuple(changes), tuple(notes))


def _build_exiv2(read: _Embedded, kind: str, work: rules.Snapshot) -> bytes:
    """The photo's bytes with photolm's edits placed by :mod:`containers`; EXIF (only when
    it changes) serialised by exiv2."""
    packet = None if work.xmp.is_empty() else work.xmp.to_bytes()
    exif = _changed(read.snapshot.exif, work.exif)
    iptc = _changed(read.snapshot.iptc, work.iptc)
    try:
        if kind == "jpeg":
            if exif and not read.snapshot.exif:  # the photo's first EXIF block: complete
                exif = {**verify.first_exif_ifd0(containers.jpeg_density(read.data)), **exif}
            exif_from = (embedded.write_metadata(metadata_part(kind, read.data), packet=None,
                                                 iptc={}, exif=exif)
                         if exif else None)
            return containers.jpeg_write(read.data, packet=packet, iptc=iptc,
                                         exif_from=exif_from)
        if kind == "png":
            return containers.png_write(read.data, packet=packet)
        if kind == "webp":
            return containers.webp_write(read.data, packet=packet)
        return containers.tiff_write(read.data, packet=packet)
    except (ContainerError, Exiv2Error) as exc:
        raise CannotEmbed(str(exc)) from None


def apply_embedded(plan: TagPlan, target: TargetPlan, keep_mtime: bool,
                    undo: UndoStore | None) -> tuple[bool, list[FieldChange], list[str]]:
    photo, method, kind = target.path, target.method, target.kind
    try:
        read = _read_embedded(photo, method, kind)
    except CannotEmbed as exc:
        raise TagError(f"cannot write {verb(plan)} {printed(photo)}: {exc}; the "
                       "original is untouched") from None
    options = rules.TagOptions(write_location=plan.write_location,
                               photo_has_gps=plan.photo_has_gps)
    work, changes, notes = compute(plan.action, read.snapshot, plan.tagset, options, {})
    if not changes:
        return False, [], notes
    kept = _find_undo(undo, read)
    if plan.action == "untag" and kept is not None:
        _restore(photo, kind, read, kept, keep_mtime)
        assert undo is not None
        # The photo is restored either way; a record left behind can never match it again.
        with contextlib.suppress(UndoStoreError):
            undo.forget(kept.fingerprint, kept.tagged_sha256, photo=os.fspath(photo))
        # The "original" may hold an older photolm's values: it kept no undo record (before
        # schema v5), so the write over its tags kept its tagged file. Those come off too.
        try:
            read = _read_embedded(photo, method, kind)
        except CannotEmbed as exc:
            raise TagError(f"cannot remove {verb(plan)} {printed(photo)}: {exc}; it is "
                           "back as it was before this photolm's tag") from None
        work, older, more = compute(plan.action, read.snapshot, plan.tagset, options, {})
        if not older:
            return True, changes, notes
        kept, notes = None, notes + more
    try:
        if method == "exiv2":
            new = _build_exiv2(read, kind, work)
        else:
            new = exiftool.write_xmp_packet(
                read.data, None if work.xmp.is_empty() else work.xmp.to_bytes())
    except (CannotEmbed, ExifToolError) as exc:
        raise TagError(f"cannot write {verb(plan)} {printed(photo)}: {exc}; the "
                       "original is untouched") from None

    def check(temp: Path) -> None:
        written = temp.read_bytes()
        _verify_embedded(read, kind, written, work)

    # The way back is kept BEFORE the photo is rewritten: whatever fails after the rewrite
    # (a crash, a store error) can then never leave a tagged photo untag cannot restore.
    saved, undo_notes = (None, []) if undo is None else \
        _keep_undo(undo, photo, read, new, kept, plan.action)
    try:
        atomic.replace_file(photo, new, verify=check, original=read.stat,
                            keep_mtime=keep_mtime)
    except BaseException:
        # The new record goes only where the photo is as it was: a failure after the rename
        # (the folder's fsync refused on a USB or network drive) leaves the new bytes in
        # place, and their record is then the only way back. Kept when unsure: a record that
        # matches no file costs nothing.
        if saved is not None and _not_replaced(photo, new):
            assert undo is not None
            with contextlib.suppress(OSError, UndoStoreError):
                undo.forget(saved.fingerprint, saved.tagged_sha256, photo=os.fspath(photo))
        raise
    if kept is not None:  # the record for the bytes just replaced can never match again
        assert undo is not None
        with contextlib.suppress(OSError, UndoStoreError):
            undo.forget(kept.fingerprint, kept.tagged_sha256, photo=os.fspath(photo))
    return True, changes, notes + undo_notes


def _not_replaced(photo: Path, new: bytes) -> bool:
    """Whether ``photo`` surely does not hold ``new`` (False when it cannot be read)."""
    try:
        return photo.read_bytes() != new
    except OSError:
        return False


def _find_undo(undo: UndoStore | None, read: _Embedded) -> _Kept | None:
    """The original bytes, when ``undo`` knows this exact file as photolm's write."""
    found = None if undo is None else find_original(undo, read.data)
    if found is None:
        return None
    record, original = found
    return _Kept(record.fingerprint, record.tagged_sha256, original, record.original_sha256)


@dataclass(frozen=True)
class _Kept:
    fingerprint: str
    tagged_sha256: str
    original: bytes
    original_sha256: str


def _restore(photo: Path, kind: str, read: _Embedded, kept: _Kept, keep_mtime: bool) -> None:
    from photolm.metadata.imagedata import check_same_image_data

    def check(temp: Path) -> None:
        written = temp.read_bytes()
        if sha256(written) != kept.original_sha256:
            raise ValueError("the restored file is not the original")
        check_same_image_data(kind, read.data, written)

    atomic.replace_file(photo, kept.original, verify=check, original=read.stat,
                        keep_mtime=keep_mtime)


def _keep_undo(undo: UndoStore, photo: Path, read: _Embedded, new: bytes, kept: _Kept | None,
               action: Action) -> tuple[UndoRecord | None, list[str]]:
    """Save how to get back from ``new`` (not yet written) to the photo as it was before
    photolm first wrote into it; the saved record (if any) and notes for the person."""
    if action == "untag":
        return None, []
    original = kept.original if kept is not None else read.data
    patch = make_patch(new, original)
    if patch is None:
        return None, ["photolm keeps no copy of what it replaced here (too large): untag will "
                      "remove its values instead of restoring the original bytes"]
    record = UndoRecord(os.fspath(photo), fingerprint_bytes(new),
                        sha256(new), sha256(original), patch)
    try:
        if _already_kept(undo, record):  # a copy of this photo, tagged alike: it shares it
            return None, []
        undo.save(record)
    except (OSError, UndoStoreError) as exc:
        # Without its way back the photo is not rewritten: the store is the catalogue, and
        # one that cannot keep a few KiB cannot record this write either.
        raise TagError(f"{printed(photo)} was not rewritten: photolm could not keep the "
                       f"way back to the original ({exc})") from None
    return record, []


def _already_kept(undo: UndoStore, record: UndoRecord) -> bool:
    """Whether ``undo`` holds this very record already: an identical copy of the photo,
    tagged the same way, is the same tagged file. Such a record is not this write's to take
    back when the write fails."""
    known = undo.find(record.fingerprint, record.tagged_sha256)
    return known is not None and known.original_sha256 == record.original_sha256


def _changed(before: dict[str, object] | None, after: dict[str, object] | None
             ) -> dict[str, object]:
    """exiv2 key -> new value (``None`` deletes) for every key that differs."""
    if before is None or after is None:
        return {}
    return {k: after.get(k) for k in before.keys() | after.keys()
            if before.get(k) != after.get(k)}


def _verify_embedded(read: _Embedded, kind: str, written: bytes,
                     expected: rules.Snapshot) -> None:
    from photolm.metadata.imagedata import check_same_image_data

    check_same_image_data(kind, read.data, written)
    if read.meta is not None:  # exiv2
        after = embedded.read_metadata(metadata_part(kind, written))
        verify.check_fields(expected, _exiv2_snapshot(after, kind, written))
        verify.check_xmp_lists(expected, after.xmp)
        verify.check_unmanaged(read.meta, after, first_exif=verify.first_exif_ifd0(
            containers.jpeg_density(read.data) if kind == "jpeg" else None))
        verify.check_maker_note(read.meta.exif, after.exif)
        try:
            verify.check_packet(containers.read_xmp(kind, written),
                                b"" if expected.xmp.is_empty() else expected.xmp.to_bytes())
            verify.check_container(
                kind, read.data, written,
                exif_changed=bool(_changed(read.snapshot.exif, expected.exif)),
                iptc_changed=bool(_changed(read.snapshot.iptc, expected.iptc)))
        except ContainerError as exc:
            raise ValueError(str(exc)) from None
        return
    packet = exiftool.read_xmp_packet(written)
    verify.check_fields(expected, rules.Snapshot(parse_packet(packet)))
    verify.check_same_tags(read.tags, exiftool.stable_tags(exiftool.read_tags(written)))
    before_xmp = exiv2_view(read.packet)
    after_xmp = exiv2_view(packet)
    verify.check_xmp_lists(expected, after_xmp)
    verify.check_unmanaged_xmp(before_xmp, after_xmp)


def exiv2_view(packet: bytes) -> dict[str, object]:
    """exiv2's reading of a bare XMP packet (an independent parser from ours)."""
    if not packet.strip():
        return {}
    return embedded.read_metadata(exiv2_packet(packet)).xmp


def exiv2_packet(packet: bytes) -> bytes:
    """``packet`` in a shape exiv2 recognises as XMP: it sniffs the first bytes, so a valid
    packet that opens with a comment or whose root is a bare ``rdf:RDF`` (both allowed by
    the XMP specification and common in hand-written sidecars) is re-wrapped, unchanged
    inside, for exiv2's eyes only."""
    text = packet.decode("utf-8-sig", errors="surrogateescape")
    leading = _XML_MISC.match(text)
    body = text[leading.end() if leading else 0:]
    if re.match(r"<(?:[\w.-]+:)?RDF\b", body):
        body = f'<x:xmpmeta xmlns:x="adobe:ns:meta/">{body}</x:xmpmeta>'
    header = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return (header + body).encode("utf-8", errors="surrogateescape")
