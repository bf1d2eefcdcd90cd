# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a photo's XMP sidecar lives, and reading, merging and writing one safely.

Two naming conventions exist. darktable and digiKam append ``.xmp`` to the full file name
(``IMG_1234.jpg.xmp``), so a raw file and its JPEG keep separate sidecars; Lightroom
replaces the extension (``IMG_1234.xmp``), so ``IMG_1234.CR2`` and ``IMG_1234.JPG`` would
share one. photolm defaults to the first and, in the Lightroom style, refuses a photo whose
sidecar name another photo in the folder would also claim. Immich reads both.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from photolm.discovery import PHOTO_EXTENSIONS, RAW_EXTENSIONS, display_path
from photolm.errors import TagError
from photolm.metadata import atomic, embedded, rules, verify
from photolm.metadata.embedded import Exiv2Error
from photolm.metadata.fields import IPTC_KEYWORDS, SUBJECT, XMP_LIST_FIELDS, FieldChange, TagSet
from photolm.metadata.inplace import exiv2_view
from photolm.metadata.marker import read_marker
from photolm.metadata.plan import Action, TagPlan, TargetPlan, compute, purpose
from photolm.metadata.xmp import XmpDocument, XmpError
from photolm.printed_paths import printed

SidecarStyle = Literal["darktable", "lightroom"]
SIDECAR_STYLES: tuple[SidecarStyle, ...] = ("darktable", "lightroom")


def sidecar_candidates(photo: Path, style: SidecarStyle) -> tuple[Path, Path]:
    base = photo.name if style == "darktable" else photo.stem
    return photo.with_name(base + ".xmp"), photo.with_name(base + ".XMP")


def sidecar_path(photo: Path | str, style: SidecarStyle = "darktable") -> Path:
    """The sidecar ``photo`` has in ``style``: an existing one (either case of ``.xmp``),
    else the lower-case name photolm would create."""
    photo = Path(photo)
    if style not in SIDECAR_STYLES:
        raise ValueError(f"unknown sidecar style {style!r}; use one of {SIDECAR_STYLES}")
    lower, upper = sidecar_candidates(photo, style)
    if not exists(lower) and exists(upper):
        return upper
    return lower


def exists(path: Path) -> bool:
    """``path.exists()``, except that a name too long for the file system (a photo named
    252-255 bytes has no room for ``.xmp``) is simply a sidecar that cannot exist."""
    try:
        return path.exists()
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return False
        raise


def check_not_shared(photo: Path, sidecar: Path, style: SidecarStyle) -> None:
    """Refuse a Lightroom-style sidecar that another photo of the same stem would share."""
    if style != "lightroom":
        return
    for ext in sorted(PHOTO_EXTENSIONS | RAW_EXTENSIONS):
        for variant in (ext, ext.upper()):
            other = photo.with_name(photo.stem + variant)
            if other.name == photo.name or not other.exists():
                continue
            if os.path.samefile(other, photo):  # a case-insensitive file system
                continue
            raise TagError(
                f"{printed(sidecar)} would be shared by {printed(photo.name)} and "
                f"{printed(other.name)} (Lightroom names sidecars by the stem); use the "
                f"darktable style ({printed(photo.name)}.xmp) for this folder")


# --- reading and writing sidecars ------------------------------------------------------------
def photo_name(photo: Path) -> str:
    """The photo's file name as the marker records it: XMP is UTF-8 text, so bytes that are
    not valid UTF-8 appear as ``\\xNN``. Data, not a message: markers already written spell
    it so (a backslash not doubled, unlike :func:`~photolm.printed_paths.printed`), and
    untag recognises its own marker by it."""
    return display_path(photo.name)


@dataclass
class _Sidecar:
    path: Path
    exists: bool
    data: bytes
    stat: os.stat_result | None
    snapshot: rules.Snapshot


def _read_sidecar(photo: Path, path: Path, action: Action = "tag") -> _Sidecar:
    where = printed(path)
    if exists(path):
        atomic.stat_existing(path)
        data, st = atomic.read_bytes(path)
        try:
            doc = XmpDocument.parse(data)
        except XmpError as exc:
            raise TagError(f"cannot merge into sidecar {where}: {exc}; left it untouched"
                           ) from None
        marker = read_marker(doc)
        if marker is not None and marker.photo_name not in (None, photo_name(photo)):
            raise TagError(f"sidecar {where} holds photolm tags for {marker.photo_name}, not "
                           f"{photo_name(photo)}; use the darktable style "
                           f"({photo_name(photo)}.xmp)")
        return _Sidecar(path, True, data, st, rules.Snapshot(doc))
    if action == "tag":
        _check_name_fits(photo, path)
    return _Sidecar(path, False, b"", None, rules.Snapshot(XmpDocument.new()))


def _check_writable(sidecar: _Sidecar, action: Action) -> None:
    """Asked only of a sidecar that needs a change: one already as planned is "already
    tagged", even on a read-only mount."""
    where = printed(sidecar.path)
    if sidecar.stat is None:
        atomic.check_writable_folder(sidecar.path.parent, f"create sidecar {where}")
        return
    atomic.check_writable_file(sidecar.path, sidecar.stat, purpose(action))
    atomic.check_writable_folder(sidecar.path.parent, f"write sidecar {where}")


def _check_name_fits(photo: Path, sidecar: Path) -> None:
    """A photo named 252-255 bytes has no room for ``.xmp``: say so, and what works."""
    try:
        limit = os.pathconf(sidecar.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # Windows, or a folder gone meanwhile
        limit = 255
    if len(os.fsencode(sidecar.name)) > limit:
        raise TagError(f"{printed(photo)} has no room for a sidecar: its name is "
                       f"{len(os.fsencode(photo.name))} bytes, and {sidecar.suffix} would "
                       f"pass the {limit} a file name may hold; use --embed, or a shorter "
                       "name")


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
                               photo_name=photo_name(photo),
                               creating_sidecar=not sidecar.exists)
    work, changes, more = compute(action, sidecar.snapshot, tagset, options, seeds)
    return work, changes, notes + more


def sidecar_target(photo: Path, path: Path, style: SidecarStyle, action: Action,
                    tagset: TagSet | None, write_location: bool,
                    photo_has_gps: bool, *, shared_ok: bool = False) -> TargetPlan:
    if not shared_ok:
        check_not_shared(photo, path, style)
    sidecar = _read_sidecar(photo, path, action)
    work, changes, notes = _sidecar_compute(photo, sidecar, action, tagset, write_location,
                                            photo_has_gps)
    if changes:
        _check_writable(sidecar, action)
    return TargetPlan(path, "sidecar", "xmp", tuple(changes), tuple(notes),
                      exists=sidecar.exists, delete=_deletes(sidecar, work))


def _deletes(sidecar: _Sidecar, work: rules.Snapshot) -> bool:
    """A sidecar photolm created and whose every property photolm has now removed."""
    marker = read_marker(sidecar.snapshot.xmp)
    return bool(sidecar.exists and marker and marker.created_sidecar and work.xmp.is_empty())


def apply_sidecar(plan: TagPlan, target: TargetPlan) -> tuple[bool, list[FieldChange], list[str]]:
    atomic.stat_existing(plan.photo)
    photo = target.owner or plan.photo
    sidecar = _read_sidecar(photo, target.path, plan.action)
    work, changes, notes = _sidecar_compute(photo, sidecar, plan.action, plan.tagset,
                                            plan.write_location, plan.photo_has_gps)
    if not changes:
        return False, [], notes
    _check_writable(sidecar, plan.action)
    if _deletes(sidecar, work) and sidecar.stat is not None:
        atomic.delete_file(sidecar.path, original=sidecar.stat)
        return True, changes, notes
    new = work.xmp.to_bytes()

    def check(temp: Path) -> None:
        written = temp.read_bytes()
        verify.check_fields(work, rules.Snapshot(XmpDocument.parse(written)))
        before = exiv2_view(sidecar.data) if sidecar.exists else {}
        after = exiv2_view(written)
        verify.check_xmp_lists(work, after)
        verify.check_unmanaged_xmp(before, after)

    atomic.replace_file(sidecar.path, new, verify=check, original=sidecar.stat,
                        keep_mtime=False)
    return True, changes, notes
