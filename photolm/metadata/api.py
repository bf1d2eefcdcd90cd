# SPDX-License-Identifier: GPL-3.0-or-later
"""Plan, write and remove landmark tags: the functions the CLI calls.

Every write goes: plan (read, apply :mod:`rules` in memory, list the changes) -> apply
(read again, apply the same rules to the bytes about to be rewritten, write a temporary
file, verify it, rename it over the original). Planning never writes, so ``--dry-run`` is
just :func:`plan_tags` plus :meth:`TagPlan.describe`.

Where tags go:

* ``mode="sidecar"`` (default): an XMP sidecar beside the photo, merged if it exists.
* ``mode="embed"``: into the photo itself: JPEG, PNG, TIFF and WebP (see :mod:`inplace`),
  HEIC/HEIF/AVIF through ExifTool when installed. Any other format, HEIC without ExifTool, or
  a photo that cannot be written without changing more than its tags falls back to a
  sidecar; the plan and the outcome say so in one line. Camera RAW files always get a
  sidecar (one note per run).

Expected failures (read-only file or folder, a file that vanished, a sidecar photolm cannot
parse, a rewrite that fails verification) raise :class:`~photolm.errors.TagError` with one
line; the original is untouched in every case.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Literal

from photolm.bundle import Landmark
from photolm.errors import TagError
from photolm.metadata import atomic
from photolm.metadata.embedded import Exiv2Error
from photolm.metadata.exiftool import ExifToolError
from photolm.metadata.fields import FieldChange, TagSet
from photolm.metadata.inplace import (
    apply_embedded,
    embedded_target,
    embedded_xmp,
    embedding,
)
from photolm.metadata.marker import PhotolmMarker, read_marker
from photolm.metadata.plan import (
    CannotEmbed,
    Mode,
    Status,
    TagOutcome,
    TagPlan,
    TargetPlan,
)
from photolm.metadata.sidecar import (
    RAW_EXTENSIONS,
    SIDECAR_STYLES,
    SidecarStyle,
    apply_sidecar,
    photo_name,
    sidecar_path,
    sidecar_target,
)
from photolm.metadata.sidecar import exists as sidecar_exists
from photolm.metadata.undo import UndoStore
from photolm.metadata.xmp import XmpDocument, XmpError
from photolm.printed_paths import printed

__all__ = ["TagOutcome", "TagPlan", "TargetPlan", "apply_tags", "is_raw", "left_behind",
           "plan_left_behind", "plan_tags", "plan_untag", "read_photolm_marker",
           "remove_tags"]

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
    companions: Iterable[Path | str] = (),
) -> TagPlan:
    """Plan writing ``landmark`` as tags for one photo; nothing is written.

    ``companions``: camera RAW files of the same shot (``IMG_0001.CR2`` beside
    ``IMG_0001.JPG``); each gets the same tags in its own sidecar, never in the RAW.

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
    method, kind, fallback = embedding(photo) if embed else (None, "", None)
    target: TargetPlan | None = None
    if method is not None:
        try:
            target = embedded_target(photo, method, kind, "tag", tagset, write_location,
                                      photo_has_gps)
        except CannotEmbed as exc:
            fallback = str(exc)
    if target is None:
        target = sidecar_target(photo, sidecar_path(photo, sidecar_style), sidecar_style,
                                 "tag", tagset, write_location, photo_has_gps)
    targets = [target]
    for companion in map(Path, companions):  # not ``raw``: that says whether photo is one
        sidecar = sidecar_path(companion, sidecar_style)
        _check_own_sidecar(companion, sidecar, targets)
        # Lightroom names the RAW's sidecar by the stem (IMG_0001.xmp), which its JPEG could
        # claim too; the check above makes sure it does not in this plan.
        targets.append(replace(sidecar_target(companion, sidecar, sidecar_style, "tag", tagset,
                                              write_location, photo_has_gps, shared_ok=True),
                               owner=companion))
    return TagPlan(photo=photo, action="tag", mode=mode, targets=tuple(targets), tagset=tagset,
                   write_location=write_location, photo_has_gps=photo_has_gps,
                   sidecar_style=sidecar_style, fallback_reason=fallback, raw=raw)


def _check_own_sidecar(raw: Path, sidecar: Path, targets: Iterable[TargetPlan]) -> None:
    for target in targets:
        if target.path == sidecar:
            owner = target.owner or target.path
            raise TagError(
                f"{printed(sidecar)} would be shared by {printed(owner.name)} and "
                f"{printed(raw.name)} (Lightroom names sidecars by the stem); use the "
                f"darktable style ({printed(raw.name)}.xmp) for this folder")


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
    companions: Iterable[Path | str] = (),
) -> TagPlan:
    """Plan removing exactly what photolm wrote, wherever a photolm marker is found (the
    photo itself and either sidecar style, unless narrowed); nothing is written.
    ``companions``: camera RAW files of the same shot, whose sidecars are cleaned too.

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
            method, kind, _reason = embedding(photo)
            if method is not None:
                try:
                    targets.append(embedded_target(photo, method, kind, "untag", None, False,
                                                    True))
                except CannotEmbed as exc:
                    raise TagError(f"cannot remove photolm's tags from {printed(photo)}: "
                                   f"{exc}") from None
        else:
            targets.append(sidecar_target(photo, where, style, "untag", None, False, True))
    if mode in ("any", "sidecar"):
        for raw in map(Path, companions):
            for where, style, marker_or_note in _markers(raw, "sidecar", sidecar_style):
                if isinstance(marker_or_note, str):
                    notes.append(marker_or_note)
                elif isinstance(where, Path) and all(t.path != where for t in targets):
                    targets.append(replace(sidecar_target(raw, where, style, "untag", None,
                                                          False, True, shared_ok=True),
                                           owner=raw))
    style_used: SidecarStyle = "darktable" if sidecar_style == "any" else sidecar_style
    return TagPlan(photo=photo, action="untag", mode=mode, targets=tuple(targets),
                   sidecar_style=style_used, notes=tuple(notes))


def left_behind(photo: Path, recorded: Iterable[Path | str]) -> list[tuple[Path, Path]]:
    """Sidecars photolm wrote for ``photo`` at a place it has since left (moved or renamed
    without its sidecar): ``(sidecar, the photo's old path)``. Only a sidecar whose photolm
    marker names a photo that no longer exists beside it qualifies: one still belonging to a
    photo there is that photo's business.

    That includes one at a name the photo itself would use: the Lightroom-style sidecar
    ``IMG_0001.xmp`` of a RAW (``IMG_0001.NEF``) deleted since, which its JPEG's stem names
    too. Its marker names the RAW, so the photo's own markers pass it by, and nothing else
    would clean it (``photolm tag`` never writes it: a sidecar whose marker names another
    photo is refused, so cleaning it after a tag takes nothing the tag wrote)."""
    found: list[tuple[Path, Path]] = []
    for given in recorded:
        path = Path(given)
        if path.suffix.lower() != ".xmp" or not sidecar_exists(path):
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
        target = sidecar_target(old, path, style, "untag", None, False, True, shared_ok=True)
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
            done, target_changes, target_notes = apply_sidecar(plan, target)
        else:
            done, target_changes, target_notes = apply_embedded(plan, target, keep_mtime, undo)
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


def _markers(photo: Path, mode: str, style: str
             ) -> Iterator[tuple[Path | Literal["embedded"], SidecarStyle,
                                 PhotolmMarker | str]]:
    """Every place holding a photolm marker for ``photo``: ``(where, style, marker)``, or
    ``(where, style, note)`` when a place could not be checked."""
    if mode in ("any", "embed"):
        method, _kind, _reason = embedding(photo)
        if method is not None:
            try:
                doc = embedded_xmp(photo, method)
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
                yield path, one_style, f"could not read {printed(path)}: {exc}"
                continue
            if marker is not None and marker.photo_name in (None, photo_name(photo)):
                yield path, one_style, marker
