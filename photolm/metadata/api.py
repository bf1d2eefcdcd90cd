# SPDX-License-Identifier: GPL-3.0-or-later
"""Plan, write and remove landmark tags: the functions the CLI calls.

Every write goes: plan (read, apply :mod:`rules` in memory, list the changes) -> apply
(read again, apply the same rules to the bytes about to be rewritten, write a temporary
file, verify it, rename it over the original). Planning never writes, so ``--dry-run`` is
just :func:`plan_tags` plus :meth:`TagPlan.describe`.

Where tags go:

* ``mode="sidecar"`` (default): an XMP sidecar beside the photo, merged if it exists.
* ``mode="embed"``: into the photo itself, through exiv2 for JPEG, PNG and TIFF and through
  ExifTool (when installed) for HEIC/HEIF/AVIF. Any other format, or HEIC without ExifTool,
  falls back to a sidecar; the plan and the outcome say so in one line.

Expected failures (read-only file or folder, a file that vanished, a sidecar photolm cannot
parse, a rewrite that fails verification) raise :class:`~photolm.errors.TagError` with one
line; the original is untouched in every case.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from photolm.bundle import Landmark
from photolm.discovery import display_path, sniff_file
from photolm.errors import TagError
from photolm.fingerprint import fingerprint
from photolm.metadata import atomic, containers, embedded, exiftool, rules, verify
from photolm.metadata.containers import ContainerError
from photolm.metadata.embedded import EmbeddedMetadata, Exiv2Error
from photolm.metadata.exiftool import ExifToolError
from photolm.metadata.fields import IPTC_KEYWORDS, SUBJECT, XMP_LIST_FIELDS, FieldChange, TagSet
from photolm.metadata.marker import PhotolmMarker, read_marker
from photolm.metadata.sidecar import (
    RAW_EXTENSIONS,
    SIDECAR_STYLES,
    SidecarStyle,
    check_not_shared,
    sidecar_candidates,
    sidecar_path,
)
from photolm.metadata.sidecar import exists as sidecar_exists
from photolm.metadata.undo import UndoRecord, UndoStore, apply_patch, make_patch, sha256
from photolm.metadata.verify import MakerNoteChanged
from photolm.metadata.xmp import XmpDocument, XmpError

_XML_MISC = re.compile(r"(?:\s+|<\?(?:(?!\?>).)*\?>|<!--(?:(?!-->).)*-->)*", re.S)

Mode = Literal["sidecar", "embed"]
Method = Literal["exiv2", "exiftool", "sidecar"]
Action = Literal["tag", "untag"]
Status = Literal["written", "unchanged", "removed", "nothing-to-remove"]

EXIV2_FORMATS = frozenset({"jpeg", "png", "tiff"})
EXIFTOOL_FORMATS = frozenset({"heic", "heif", "avif"})
# TIFF-based camera raw files (.dng, .nef...) sniff as TIFF; photolm never rewrites them.
_TIFF_EXTENSIONS = frozenset({".tif", ".tiff"})


@dataclass(frozen=True)
class TargetPlan:
    """One file a plan rewrites: the photo itself, or its sidecar."""

    path: Path
    method: Method
    kind: str  # sniffed image format for embedded writes, "xmp" for sidecars
    changes: tuple[FieldChange, ...]
    notes: tuple[str, ...] = ()
    exists: bool = True  # False: a sidecar that will be created
    delete: bool = False  # untag: a sidecar photolm created, now empty, will be removed
    owner: Path | None = None  # a sidecar left behind: the photo's old path (see plan_untag)


@dataclass(frozen=True)
class TagPlan:
    """What :func:`apply_tags` would change for one photo. Print :meth:`describe`."""

    photo: Path
    action: Action
    mode: Mode | Literal["any"]
    targets: tuple[TargetPlan, ...]
    tagset: TagSet | None = None
    write_location: bool = False
    photo_has_gps: bool = True
    sidecar_style: SidecarStyle = "darktable"
    fallback_reason: str | None = None
    notes: tuple[str, ...] = ()
    raw: bool = False  # a camera RAW file: tags go to a sidecar whatever the mode

    @property
    def changed(self) -> bool:
        return any(target.changes for target in self.targets)

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        return tuple(change for target in self.targets for change in target.changes)

    def describe(self) -> list[str]:
        """Human-readable lines: the file(s), then one line per field change, then notes."""
        photo = display_path(self.photo)
        lines: list[str] = []
        if self.fallback_reason:
            lines.append(f"{photo}: {self.fallback_reason} - will write a sidecar instead")
        if not self.changed:
            what = "no photolm tags to remove" if self.action == "untag" else "no change"
            lines.append(f"{photo}: {what}")
        for target in self.targets:
            if not target.changes:
                continue
            if target.method == "sidecar":
                state = ("remove sidecar" if target.delete
                         else "sidecar" if target.exists else "new sidecar")
                lines.append(f"{photo} -> {display_path(target.path)} ({state})")
            else:
                lines.append(f"{photo} (embedded, {target.method})")
            lines += [f"  {change}" for change in target.changes]
        for note in (*self.notes, *(n for t in self.targets for n in t.notes)):
            lines.append(f"  note: {note}")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.describe())


@dataclass(frozen=True)
class TagOutcome:
    """What :func:`apply_tags` did for one photo. :attr:`message` is one line for the user
    and the catalogue."""

    photo: Path
    action: Action
    status: Status
    files: tuple[Path, ...] = ()  # files rewritten, created or deleted
    changes: tuple[FieldChange, ...] = ()
    fallback_reason: str | None = None
    notes: tuple[str, ...] = ()
    landmark: str | None = None

    @property
    def message(self) -> str:
        photo = display_path(self.photo)
        where = ", ".join(display_path(f) for f in self.files)
        if self.status == "written":
            text = f"tagged {photo} with {self.landmark} ({where})"
        elif self.status == "unchanged":
            text = f"{photo} already carries {self.landmark}: unchanged"
        elif self.status == "removed":
            text = f"removed photolm tags from {photo} ({where})"
        else:
            text = f"{photo}: no photolm tags to remove"
        if self.fallback_reason:
            text = f"{self.fallback_reason} - wrote a sidecar instead; {text}"
        return text


# --- public API ----------------------------------------------------------------------------------
def plan_tags(
    photo_path: Path | str,
    landmark: Landmark,
    score: float,
    model_id: str,
    *,
    mode: Mode = "sidecar",
    sidecar_style: SidecarStyle = "darktable",
    write_location: bool = False,
    photo_has_gps: bool | None = None,
) -> TagPlan:
    """Plan writing ``landmark`` as tags for one photo; nothing is written.

    ``photo_has_gps`` (read from the photo's EXIF when ``None``) matters only with
    ``write_location``: only photos without GPS get the landmark's position, marked as
    estimated. Deciding *whether* to tag (threshold, user confirmation, GPS evidence) is the
    caller's job.
    """
    _check_choices(mode, sidecar_style, allow_any=False)
    photo = Path(photo_path)
    atomic.stat_existing(photo)
    tagset = TagSet.from_landmark(landmark, score, model_id)
    if photo_has_gps is None:
        photo_has_gps = _has_gps(photo)
    raw = is_raw(photo)
    embed = mode == "embed" and not raw  # RAW files are never written into (one note per run)
    method, kind, fallback = _embedding(photo) if embed else (None, "", None)
    target: TargetPlan | None = None
    if method is not None:
        try:
            target = _embedded_target(photo, method, kind, "tag", tagset, write_location,
                                      photo_has_gps)
        except _CannotEmbed as exc:
            fallback = str(exc)
    if target is None:
        target = _sidecar_target(photo, sidecar_path(photo, sidecar_style), sidecar_style,
                                 "tag", tagset, write_location, photo_has_gps)
    return TagPlan(photo=photo, action="tag", mode=mode, targets=(target,), tagset=tagset,
                   write_location=write_location, photo_has_gps=photo_has_gps,
                   sidecar_style=sidecar_style, fallback_reason=fallback, raw=raw)


def is_raw(photo: Path) -> bool:
    """A camera RAW file (by extension: many are TIFF inside, and sniff as such). photolm
    never writes into one: its maker data are the photographer's negative."""
    return photo.suffix.lower() in RAW_EXTENSIONS


def plan_untag(
    photo_path: Path | str,
    *,
    mode: Mode | Literal["any"] = "any",
    sidecar_style: SidecarStyle | Literal["any"] = "any",
    recorded: Iterable[Path | str] = (),
) -> TagPlan:
    """Plan removing exactly what photolm wrote, wherever a photolm marker is found (the
    photo itself and either sidecar style, unless narrowed); nothing is written.

    ``recorded``: files an earlier tag wrote for this photo (the catalogue keeps them). A
    sidecar among them that the photo left behind when it was moved is cleaned too (see
    :func:`left_behind`).
    """
    _check_choices(mode, sidecar_style, allow_any=True)
    photo = Path(photo_path)
    atomic.stat_existing(photo)
    targets: list[TargetPlan] = list(plan_left_behind(photo, recorded).targets)
    notes: list[str] = []
    for where, style, marker_or_note in _markers(photo, mode, sidecar_style):
        if isinstance(marker_or_note, str):
            notes.append(marker_or_note)
        elif where == "embedded":
            method, kind, _reason = _embedding(photo)
            if method is not None:
                try:
                    targets.append(_embedded_target(photo, method, kind, "untag", None, False,
                                                    True))
                except _CannotEmbed as exc:
                    raise TagError(f"cannot remove photolm's tags from {display_path(photo)}: "
                                   f"{exc}") from None
        else:
            targets.append(_sidecar_target(photo, where, style, "untag", None, False, True))
    style_used: SidecarStyle = "darktable" if sidecar_style == "any" else sidecar_style
    return TagPlan(photo=photo, action="untag", mode=mode, targets=tuple(targets),
                   sidecar_style=style_used, notes=tuple(notes))


def left_behind(photo: Path, recorded: Iterable[Path | str]) -> list[tuple[Path, Path]]:
    """Sidecars photolm wrote for ``photo`` at a place it has since left (moved or renamed
    without its sidecar): ``(sidecar, the photo's old path)``. Only a sidecar whose photolm
    marker names a photo that no longer exists beside it qualifies: one still belonging to a
    photo there is that photo's business."""
    current = {p for style in SIDECAR_STYLES for p in sidecar_candidates(photo, style)}
    found: list[tuple[Path, Path]] = []
    for given in recorded:
        path = Path(given)
        if path.suffix.lower() != ".xmp" or path in current or not sidecar_exists(path):
            continue
        try:
            marker = read_marker(XmpDocument.parse(atomic.read_bytes(path)[0]))
        except (XmpError, TagError):
            continue
        if marker is None or not marker.photo_name:
            continue
        old = path.with_name(marker.photo_name)
        if os.path.lexists(old):
            continue
        found.append((path, old))
    return found


def plan_left_behind(photo_path: Path | str, recorded: Iterable[Path | str]) -> TagPlan:
    """Plan removing photolm's values from the sidecars :func:`left_behind` finds (deleting
    those photolm created); ``photolm tag`` runs it too, so a moved photo's old sidecar is
    cleaned when the photo is tagged at its new place."""
    photo = Path(photo_path)
    targets = []
    for path, old in left_behind(photo, recorded):
        style: SidecarStyle = ("darktable" if path.name.lower() == old.name.lower() + ".xmp"
                               else "lightroom")
        target = _sidecar_target(old, path, style, "untag", None, False, True, shared_ok=True)
        targets.append(replace(target, owner=old))
    return TagPlan(photo=photo, action="untag", mode="sidecar", targets=tuple(targets))


def apply_tags(plan: TagPlan, *, keep_mtime: bool = True,
               undo: UndoStore | None = None) -> TagOutcome:
    """Carry out ``plan`` (from :func:`plan_tags` or :func:`plan_untag`).

    Each file is re-read and the rules re-applied to what is on disk now, so a plan made a
    while ago never overwrites changes made since. ``keep_mtime`` keeps an embedded photo's
    modification time (sidecars always get a new one, which is how darktable and digiKam
    notice them).

    ``undo``: where embedded writes keep what they replaced, so that untagging a photo
    nobody changed since gives back its original bytes (see :mod:`photolm.metadata.undo`).
    Without it, untag removes photolm's values field by field.
    """
    files: list[Path] = []
    changes: list[FieldChange] = []
    notes: list[str] = list(plan.notes)
    for target in plan.targets:
        if target.method == "sidecar":
            done, target_changes, target_notes = _apply_sidecar(plan, target)
        else:
            done, target_changes, target_notes = _apply_embedded(plan, target, keep_mtime, undo)
        notes += target_notes
        if done:
            files.append(target.path)
            changes += target_changes
    status: Status
    if plan.action == "tag":
        status = "written" if files else "unchanged"
    else:
        status = "removed" if files else "nothing-to-remove"
    return TagOutcome(
        photo=plan.photo, action=plan.action, status=status,
        files=tuple(files), changes=tuple(changes), fallback_reason=plan.fallback_reason,
        notes=tuple(dict.fromkeys(notes)),
        landmark=plan.tagset.name if plan.tagset else None,
    )


def remove_tags(
    photo_path: Path | str,
    *,
    mode: Mode | Literal["any"] = "any",
    sidecar_style: SidecarStyle | Literal["any"] = "any",
    keep_mtime: bool = True,
) -> TagOutcome:
    """Remove exactly what photolm wrote (see :func:`plan_untag`)."""
    return apply_tags(plan_untag(photo_path, mode=mode, sidecar_style=sidecar_style),
                      keep_mtime=keep_mtime)


def read_photolm_marker(
    photo_path: Path | str,
    *,
    mode: Mode | Literal["any"] = "any",
    sidecar_style: SidecarStyle | Literal["any"] = "any",
) -> PhotolmMarker | None:
    """The first photolm marker found for the photo (embedded, then darktable-style, then
    Lightroom-style sidecar), with ``source`` and ``embedded`` set; ``None`` if there is none.
    """
    _check_choices(mode, sidecar_style, allow_any=True)
    photo = Path(photo_path)
    atomic.stat_existing(photo)
    for where, _style, marker in _markers(photo, mode, sidecar_style):
        if isinstance(marker, PhotolmMarker):
            if where == "embedded":
                return marker.located(photo, embedded=True)
            return marker.located(where, embedded=False)
    return None


# --- choosing where ------------------------------------------------------------------------------
def _check_choices(mode: str, style: str, *, allow_any: bool) -> None:
    modes = ("sidecar", "embed", *(("any",) if allow_any else ()))
    styles = (*SIDECAR_STYLES, *(("any",) if allow_any else ()))
    if mode not in modes:
        raise ValueError(f"unknown tag mode {mode!r}; use one of {modes}")
    if style not in styles:
        raise ValueError(f"unknown sidecar style {style!r}; use one of {styles}")


def _has_gps(photo: Path) -> bool:
    from photolm.exif import read_exif

    info = read_exif(photo)
    return info.latitude is not None and info.longitude is not None


def _sniff(photo: Path) -> str | None:
    try:
        return sniff_file(photo)
    except FileNotFoundError:
        raise TagError(f"file vanished: {display_path(photo)}") from None
    except OSError as exc:
        raise TagError(f"cannot read {display_path(photo)}: {exc.strerror}") from None


def _embedding(photo: Path) -> tuple[Method | None, str, str | None]:
    """``(method, format, None)`` when photolm can write into ``photo``, else
    ``(None, format, why not)``."""
    kind = _sniff(photo) or "unknown"
    ext = photo.suffix.lower() or "(no extension)"
    if kind in EXIV2_FORMATS and (kind != "tiff" or ext in _TIFF_EXTENSIONS):
        return "exiv2", kind, None
    if kind in EXIFTOOL_FORMATS:
        if exiftool.exiftool_path() is not None:
            return "exiftool", kind, None
        return None, kind, (f"cannot embed into {ext} without ExifTool "
                            f"(exiv2 cannot write {kind.upper()})")
    return None, kind, f"unsupported format for embedding: {ext}"


def _markers(photo: Path, mode: str, style: str
             ) -> Iterator[tuple[Path | Literal["embedded"], SidecarStyle,
                                 PhotolmMarker | str]]:
    """Every place holding a photolm marker for ``photo``: ``(where, style, marker)``, or
    ``(where, style, note)`` when a place could not be checked."""
    if mode in ("any", "embed"):
        method, _kind, _reason = _embedding(photo)
        if method is not None:
            try:
                doc = _embedded_xmp_quick(photo, method)
            except (XmpError, Exiv2Error, ExifToolError) as exc:
                yield "embedded", "darktable", f"could not check the photo's own XMP: {exc}"
            else:
                marker = read_marker(doc)
                if marker is not None:
                    yield "embedded", "darktable", marker
    if mode in ("any", "sidecar"):
        styles = [s for s in SIDECAR_STYLES if style in ("any", s)]
        for one_style in styles:
            path = sidecar_path(photo, one_style)
            if not sidecar_exists(path):
                continue
            data, _st = atomic.read_bytes(path)
            try:
                marker = read_marker(XmpDocument.parse(data))
            except XmpError as exc:
                yield path, one_style, f"could not read {display_path(path)}: {exc}"
                continue
            if marker is not None and marker.photo_name in (None, _photo_name(photo)):
                yield path, one_style, marker


def _embedded_xmp_quick(photo: Path, method: Method) -> XmpDocument:
    if method == "exiv2":
        data, _st = atomic.read_bytes(photo)
        try:
            packet = containers.read_xmp(_sniff(photo) or "", data)
        except ContainerError as exc:
            raise XmpError(str(exc)) from None
    else:
        data, _st = atomic.read_bytes(photo)
        packet = exiftool.read_xmp_packet(data)
    return _parse_packet(packet)


# --- embedded ------------------------------------------------------------------------------------
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
    where = display_path(photo)
    try:
        if method == "exiv2":
            meta = embedded.read_metadata(data)
            return _Embedded(data, st, _exiv2_snapshot(meta, kind, data), meta=meta)
        packet = exiftool.read_xmp_packet(data)
        tags = exiftool.stable_tags(exiftool.read_tags(data))
        return _Embedded(data, st, rules.Snapshot(_parse_packet(packet)), tags=tags,
                         packet=packet)
    except (Exiv2Error, ExifToolError) as exc:
        raise TagError(f"cannot read the metadata of {where}: {exc}") from None
    except ContainerError as exc:
        raise _CannotEmbed(str(exc)) from None
    except XmpError as exc:
        raise _CannotEmbed(f"its XMP cannot be edited safely ({exc})") from None


def _parse_packet(packet: bytes | str) -> XmpDocument:
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
    return rules.Snapshot(xmp=_parse_packet(containers.read_xmp(kind, data)), iptc=iptc,
                          exif=dict(meta.exif) if exif_ok else None, xp_keywords=exif_ok,
                          iptc_note=note)


def has_maker_note(exif: dict[str, str]) -> bool:
    return "Exif.Photo.MakerNote" in exif


def _compute(action: Action, snap: rules.Snapshot, tagset: TagSet | None,
             options: rules.TagOptions, seeds: dict[str, list[str]]
             ) -> tuple[rules.Snapshot, list[FieldChange], list[str]]:
    if action == "tag":
        if tagset is None:  # a TagPlan built by hand without a landmark
            raise ValueError("a tag plan needs a tagset")
        return rules.retag(snap, tagset, options, seeds=seeds)
    return rules.unmark(snap)


def _embedded_target(photo: Path, method: Method, kind: str, action: Action,
                     tagset: TagSet | None, write_location: bool,
                     photo_has_gps: bool) -> TargetPlan:
    # A symbolic link stays a link: the file it points to is the one rewritten.
    photo = Path(os.path.realpath(photo))
    st = atomic.stat_existing(photo)
    atomic.check_writable_file(photo, st, _purpose(action))
    atomic.check_writable_folder(photo.parent, f"write into {display_path(photo)} (photolm "
                                               "writes a temporary copy beside it first)")
    read = _read_embedded(photo, method, kind)
    options = rules.TagOptions(write_location=write_location, photo_has_gps=photo_has_gps)
    work, changes, notes = _compute(action, read.snapshot, tagset, options, {})
    if changes and method == "exiv2":
        new = _build_exiv2(read, kind, work)
        try:
            verify.check_maker_note(read.meta.exif if read.meta else {},
                                    embedded.read_metadata(new).exif)
        except MakerNoteChanged as exc:
            raise _CannotEmbed(str(exc)) from None
    return TargetPlan(photo, method, kind, tuple(changes), tuple(notes))


class _CannotEmbed(Exception):
    """photolm cannot write into this photo without changing more than its tags."""


def _build_exiv2(read: _Embedded, kind: str, work: rules.Snapshot) -> bytes:
    """The photo's bytes with photolm's edits placed by :mod:`containers`; EXIF (only when
    it changes) serialised by exiv2."""
    packet = None if work.xmp.is_empty() else work.xmp.to_bytes()
    exif = _changed(read.snapshot.exif, work.exif)
    iptc = _changed(read.snapshot.iptc, work.iptc)
    try:
        if kind == "jpeg":
            exif_from = (embedded.write_metadata(read.data, packet=None, iptc={}, exif=exif)
                         if exif else None)
            return containers.jpeg_write(read.data, packet=packet, iptc=iptc,
                                         exif_from=exif_from)
        if kind == "png":
            return containers.png_write(read.data, packet=packet)
        return containers.tiff_write(read.data, packet=packet)
    except (ContainerError, Exiv2Error) as exc:
        raise _CannotEmbed(str(exc)) from None


def _apply_embedded(plan: TagPlan, target: TargetPlan, keep_mtime: bool,
                    undo: UndoStore | None) -> tuple[bool, list[FieldChange], list[str]]:
    photo, method, kind = target.path, target.method, target.kind
    try:
        read = _read_embedded(photo, method, kind)
    except _CannotEmbed as exc:
        raise TagError(f"cannot write {_verb(plan)} {display_path(photo)}: {exc}; the "
                       "original is untouched") from None
    options = rules.TagOptions(write_location=plan.write_location,
                               photo_has_gps=plan.photo_has_gps)
    work, changes, notes = _compute(plan.action, read.snapshot, plan.tagset, options, {})
    if not changes:
        return False, [], notes
    kept = _find_undo(undo, photo, read)
    if plan.action == "untag" and kept is not None:
        _restore(photo, kind, read, kept, keep_mtime)
        assert undo is not None
        undo.forget(kept.fingerprint, kept.tagged_sha256)
        return True, changes, notes
    try:
        if method == "exiv2":
            new = _build_exiv2(read, kind, work)
        else:
            new = exiftool.write_xmp_packet(
                read.data, None if work.xmp.is_empty() else work.xmp.to_bytes())
    except (_CannotEmbed, ExifToolError) as exc:
        raise TagError(f"cannot write {_verb(plan)} {display_path(photo)}: {exc}; the "
                       "original is untouched") from None

    def check(temp: Path) -> None:
        written = temp.read_bytes()
        _verify_embedded(read, kind, written, work)

    atomic.replace_file(photo, new, verify=check, original=read.stat, keep_mtime=keep_mtime)
    if undo is not None:
        notes += _keep_undo(undo, photo, read, new, kept, plan.action)
    return True, changes, notes


def _find_undo(undo: UndoStore | None, photo: Path, read: _Embedded) -> _Kept | None:
    """The original bytes, when ``undo`` knows this exact file as photolm's write."""
    if undo is None:
        return None
    try:
        record = undo.find(fingerprint(photo, read.stat.st_size), sha256(read.data))
    except (OSError, sqlite3.Error):
        return None
    if record is None:
        return None
    original = apply_patch(read.data, record.patch)
    if sha256(original) != record.original_sha256:
        return None
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
               action: Action) -> list[str]:
    """Record how to get back to the photo as it was before photolm first wrote into it."""
    try:
        if kept is not None:
            undo.forget(kept.fingerprint, kept.tagged_sha256)
        if action == "untag":
            return []
        original = kept.original if kept is not None else read.data
        patch = make_patch(new, original)
        if patch is None:
            return ["photolm keeps no copy of what it replaced here (too large): untag will "
                    "remove its values instead of restoring the original bytes"]
        undo.save(UndoRecord(os.fspath(photo), fingerprint(photo, len(new)), sha256(new),
                             sha256(original), patch))
    except (OSError, sqlite3.Error) as exc:
        return [f"could not keep what was replaced ({exc}): untag will remove photolm's "
                "values instead of restoring the original bytes"]
    return []


def _purpose(action: Action) -> str:
    return "tag it" if action == "tag" else "remove photolm's tags"


def _verb(plan: TagPlan) -> str:
    return "tags into" if plan.action == "tag" else "photolm's tags from"


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
        after = embedded.read_metadata(written)
        verify.check_fields(expected, _exiv2_snapshot(after, kind, written))
        verify.check_xmp_lists(expected, after.xmp)
        verify.check_unmanaged(read.meta, after)
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
    verify.check_fields(expected, rules.Snapshot(_parse_packet(packet)))
    verify.check_same_tags(read.tags, exiftool.stable_tags(exiftool.read_tags(written)))
    before_xmp = _exiv2_view(read.packet)
    after_xmp = _exiv2_view(packet)
    verify.check_xmp_lists(expected, after_xmp)
    verify.check_unmanaged_xmp(before_xmp, after_xmp)


def _exiv2_view(packet: bytes) -> dict[str, object]:
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


# --- sidecars ------------------------------------------------------------------------------------
def _photo_name(photo: Path) -> str:
    """The photo's file name as the marker records it: XMP is UTF-8 text, so bytes that are
    not valid UTF-8 appear as ``\\xNN`` (the same spelling everywhere photolm prints paths)."""
    return display_path(photo.name)


@dataclass
class _Sidecar:
    path: Path
    exists: bool
    data: bytes
    stat: os.stat_result | None
    snapshot: rules.Snapshot


def _read_sidecar(photo: Path, path: Path, action: Action = "tag") -> _Sidecar:
    where = display_path(path)
    if sidecar_exists(path):
        st = atomic.stat_existing(path)
        atomic.check_writable_file(path, st, _purpose(action))
        atomic.check_writable_folder(path.parent, f"write sidecar {where}")
        data, st = atomic.read_bytes(path)
        try:
            doc = XmpDocument.parse(data)
        except XmpError as exc:
            raise TagError(f"cannot merge into sidecar {where}: {exc}; left it untouched"
                           ) from None
        marker = read_marker(doc)
        if marker is not None and marker.photo_name not in (None, _photo_name(photo)):
            raise TagError(f"sidecar {where} holds photolm tags for {marker.photo_name}, not "
                           f"{_photo_name(photo)}; use the darktable style "
                           f"({_photo_name(photo)}.xmp)")
        return _Sidecar(path, True, data, st, rules.Snapshot(doc))
    atomic.check_writable_folder(path.parent, f"create sidecar {where}")
    return _Sidecar(path, False, b"", None, rules.Snapshot(XmpDocument.new()))


def _photo_seeds(photo: Path, doc: XmpDocument) -> tuple[dict[str, list[str]], list[str]]:
    """The photo's own keyword lists, for the lists the sidecar lacks (see rules.tag)."""
    if all(doc.has(spec.ns, spec.name) for spec in XMP_LIST_FIELDS):
        return {}, []
    try:
        meta = embedded.read_file_metadata(photo)
    except Exiv2Error as exc:
        return {}, [f"could not read the photo's own keywords ({exc}); the sidecar lists "
                    "only photolm's"]
    seeds: dict[str, list[str]] = {}
    for spec in XMP_LIST_FIELDS:
        value = meta.xmp.get(verify.exiv2_key(spec))
        items = [value] if isinstance(value, str) else list(value or [])
        if items:
            seeds[spec.id] = [str(item) for item in items]
    if SUBJECT.id not in seeds:  # no XMP keywords: the IPTC ones are the photo's keywords
        iptc, _note = embedded.decode_iptc(meta.iptc)
        keywords = (iptc or {}).get(IPTC_KEYWORDS.key)
        if keywords:
            seeds[SUBJECT.id] = list(keywords) if isinstance(keywords, list) else [keywords]
    return seeds, []


def _sidecar_compute(photo: Path, sidecar: _Sidecar, action: Action, tagset: TagSet | None,
                     write_location: bool, photo_has_gps: bool
                     ) -> tuple[rules.Snapshot, list[FieldChange], list[str]]:
    seeds: dict[str, list[str]] = {}
    notes: list[str] = []
    if action == "tag":
        seeds, notes = _photo_seeds(photo, sidecar.snapshot.xmp)
    options = rules.TagOptions(write_location=write_location, photo_has_gps=photo_has_gps,
                               photo_name=_photo_name(photo),
                               creating_sidecar=not sidecar.exists)
    work, changes, more = _compute(action, sidecar.snapshot, tagset, options, seeds)
    return work, changes, notes + more


def _sidecar_target(photo: Path, path: Path, style: SidecarStyle, action: Action,
                    tagset: TagSet | None, write_location: bool,
                    photo_has_gps: bool, *, shared_ok: bool = False) -> TargetPlan:
    if not shared_ok:
        check_not_shared(photo, path, style)
    sidecar = _read_sidecar(photo, path, action)
    work, changes, notes = _sidecar_compute(photo, sidecar, action, tagset, write_location,
                                            photo_has_gps)
    return TargetPlan(path, "sidecar", "xmp", tuple(changes), tuple(notes),
                      exists=sidecar.exists, delete=_deletes(sidecar, work))


def _deletes(sidecar: _Sidecar, work: rules.Snapshot) -> bool:
    """A sidecar photolm created and whose every property photolm has now removed."""
    marker = read_marker(sidecar.snapshot.xmp)
    return bool(sidecar.exists and marker and marker.created_sidecar and work.xmp.is_empty())


def _apply_sidecar(plan: TagPlan, target: TargetPlan) -> tuple[bool, list[FieldChange], list[str]]:
    atomic.stat_existing(plan.photo)
    photo = target.owner or plan.photo
    sidecar = _read_sidecar(photo, target.path, plan.action)
    work, changes, notes = _sidecar_compute(photo, sidecar, plan.action, plan.tagset,
                                            plan.write_location, plan.photo_has_gps)
    if not changes:
        return False, [], notes
    if _deletes(sidecar, work) and sidecar.stat is not None:
        atomic.delete_file(sidecar.path, original=sidecar.stat)
        return True, changes, notes
    new = work.xmp.to_bytes()

    def check(temp: Path) -> None:
        written = temp.read_bytes()
        verify.check_fields(work, rules.Snapshot(XmpDocument.parse(written)))
        before = _exiv2_view(sidecar.data) if sidecar.exists else {}
        after = _exiv2_view(written)
        verify.check_xmp_lists(work, after)
        verify.check_unmanaged_xmp(before, after)

    atomic.replace_file(sidecar.path, new, verify=check, original=sidecar.stat,
                        keep_mtime=False)
    return True, changes, notes

