# SPDX-License-Identifier: GPL-3.0-or-later
"""Write a person's answers as a training set that ``trainer fit`` reads.

Layout (the trainer's "class folders" layout, ``trainer/data.py``)::

    DIR/classes.csv                  folder,name,aliases,city,country,latitude,longitude
    DIR/<folder>/<photo>             a symbolic link to the photo (or a copy with --copy)

so that ``trainer fit ... DIR`` -> ``photolm-export`` -> ``photolm scan --model NEW`` closes
the loop. Folders are named from the landmark's name (ASCII, lower case); the trainer joins
classes across roots by the display name, so a learned "Colosseum" example lands in the same
class as the shipped data set's Colosseum. photolm never imports the trainer: the layout is
written here and read there, and tests/test_learn_cli.py reads the result back with it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photolm.alias_list import join_aliases
from photolm.bundle import Landmark
from photolm.ctrl_c import interrupted
from photolm.discovery import sniff_file
from photolm.errors import PhotolmError, StoppedError
from photolm.printed_paths import printed
from photolm.storage import no_space, no_space_message
from photolm.textfold import ascii_slug

CLASSES_CSV = "classes.csv"
CSV_COLUMNS = ("folder", "name", "aliases", "city", "country", "latitude", "longitude")
# The files trainer fit reads (trainer.data.IMAGE_SUFFIXES; photolm never imports the
# trainer, so tests/test_export_dataset_cli.py keeps the two equal). It skips anything else
# without a word, so a HEIC, RAW or GIF photo is left out here, with a warning.
TRAINER_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
# A photo named without its format's extension (IMG_0001) is linked under one the trainer
# reads; not TIFF, whose magic number most camera RAW files share.
_SUFFIX_FOR = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "bmp": ".bmp"}


class DatasetExportError(PhotolmError):
    """The target folder cannot be used (not empty, not writable)."""


class DatasetExportInterrupted(DatasetExportError, StoppedError):
    """Ctrl-C (SIGTERM, SIGHUP) while the folders were written: what is there is not the
    whole set."""


@dataclass
class ExportedClass:
    landmark: Landmark
    folder: str
    photos: list[str] = field(default_factory=list)


def folder_name(name: str, taken: set[str]) -> str:
    """``"Cầu Rồng" -> "cau-rong"``, ``"Øresund Bridge" -> "oresund-bridge"``, unique among
    ``taken``."""
    base = ascii_slug(name, "landmark")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def plan(items: Iterable[tuple[Landmark, str]]) -> list[ExportedClass]:
    """Group ``(landmark, photo path)`` pairs into classes, in name order, photos sorted."""
    by_id: dict[str, ExportedClass] = {}
    for landmark, path in items:
        entry = by_id.setdefault(landmark.id, ExportedClass(landmark, ""))
        if path not in entry.photos:
            entry.photos.append(path)
    classes = sorted(by_id.values(), key=lambda c: (c.landmark.name.casefold(), c.landmark.id))
    taken: set[str] = set()
    for c in classes:
        c.folder = folder_name(c.landmark.name, taken)
        c.photos.sort()
    return classes


def write_dataset(out_dir: Path, classes: Sequence[ExportedClass], *,
                  copy: bool = False) -> list[tuple[str, str]]:
    """Write the folders and classes.csv; returns ``(photo, problem)`` for photos left out.

    Refuses a folder that exists and is not empty: the trainer would read whatever else is
    there as classes too. A landmark none of whose photos is left is not written at all
    (its ``photos`` end empty): an empty class folder is not something to train on.
    """
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise DatasetExportError(f"{out_dir} exists and is not an empty folder; choose a new "
                                 "one (the trainer would read everything in it).")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetExportError(f"Cannot create {out_dir}: {exc.strerror or exc}.") from None
    problems: list[tuple[str, str]] = []
    try:
        _write_classes(out_dir, classes, problems, copy=copy)
    except KeyboardInterrupt as exc:
        raise DatasetExportInterrupted(
            f"{interrupted(exc)}; the training set in {printed(out_dir)} is incomplete: delete "
            "that folder, then export again", exc) from None
    except OSError as exc:
        # A full disk (or a stick pulled out) fails every photo after this one, and the
        # trainer would read a half-written set: stop, and say how to start again.
        where = exc.filename2 or exc.filename or out_dir
        why = no_space_message(out_dir) if no_space(exc) else (
            f"cannot write {printed(where)}: {exc.strerror or exc}"
            + ("" if copy else " (a FAT32 or exFAT stick holds no links: use --copy)"))
        raise DatasetExportError(f"{why}; the training set in {printed(out_dir)} is "
                                 "incomplete: delete that folder, then export again") from None
    return problems


def _write_classes(out_dir: Path, classes: Sequence[ExportedClass],
                   problems: list[tuple[str, str]], *, copy: bool) -> None:
    """The class folders and classes.csv; a photo that cannot be read is a problem, a
    target that cannot be written raises ``OSError`` (a partial copy removed first)."""
    for c in classes:
        folder = out_dir / c.folder
        folder.mkdir()
        names: set[str] = set()
        kept: list[str] = []
        for photo in c.photos:
            source = Path(photo)
            if not source.is_file():
                problems.append((photo, "missing: left out of the training set"))
                continue
            suffix, why = _trainer_suffix(source)
            if why:
                problems.append((photo, why))
                continue
            target = folder / _unique_name(source, names, suffix)
            try:
                if copy:
                    shutil.copy2(source, target)
                else:
                    os.symlink(source.resolve(), target)
            except OSError as exc:
                if os.path.lexists(target):  # a partial copy: never leave it for the trainer
                    target.unlink()
                if (copy and not no_space(exc) and exc.filename2 is None
                        and exc.filename is not None and Path(exc.filename) == source):
                    problems.append((photo, f"cannot copy it: {exc.strerror or exc}"))
                    continue
                raise
            kept.append(photo)
        c.photos = kept
        if not kept:
            folder.rmdir()
    with open(out_dir / CLASSES_CSV, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for c in classes:
            if not c.photos:
                continue
            lm = c.landmark
            writer.writerow([
                c.folder, lm.name, join_aliases(lm.aliases), lm.city or "", lm.country or "",
                "" if lm.latitude is None else f"{lm.latitude:.6f}",
                "" if lm.longitude is None else f"{lm.longitude:.6f}",
            ])


def _trainer_suffix(source: Path) -> tuple[str, str]:
    """``(extension to add, "")`` for a photo the trainer reads (``""``: its own does), or
    ``("", why it is left out)``."""
    if source.suffix.lower() in TRAINER_SUFFIXES:
        return "", ""
    try:
        kind = sniff_file(source)
    except OSError as exc:
        return "", f"cannot read it: {exc.strerror or exc}"
    if kind in _SUFFIX_FOR:
        return _SUFFIX_FOR[kind], ""
    label = (source.suffix.lstrip(".") or kind or "").upper()
    what = f"{label} files" if label else "this file's format"
    return "", (f"trainer fit cannot read {what} (it reads JPEG, PNG, WebP, BMP and TIFF): "
                "left out of the training set")


def _unique_name(source: Path, taken: set[str], suffix: str = "") -> str:
    """The photo's own name (and ``suffix``); a short hash of its path first when two share
    a name."""
    name = source.name + suffix
    if name.startswith("."):
        name = "_" + name
    if name in taken:
        digest = hashlib.sha256(os.fsencode(source)).hexdigest()[:8]
        name = f"{digest}-{name}"
    taken.add(name)
    return name


def dataset_items(cat: Any, *, include_shipped: bool = False,
                  unknown: list[str] | None = None) -> list[tuple[Landmark, str]]:
    """``(landmark, photo)`` for what a person confirmed, corrected and enrolled.

    Learned landmarks always (their example photos and the photos confirmed or corrected
    as them); the bundle's landmarks only with ``include_shipped`` (the photos you confirmed
    or corrected as one, and examples you added to one). Photos only the model named are
    never exported: a training set must not learn the model's own mistakes. ``unknown``
    collects the photos answered as a landmark photolm no longer knows (unlearned, answers
    kept; or one a newer model dropped): no class can be written for them, and the CLI must
    not leave them out without a word.
    """
    by_id = {lm.id: lm for lm in cat.landmarks()}
    learned = cat.learned()
    for item in learned:
        by_id.setdefault(item.id, item.landmark)
    new_ids = {item.id for item in learned if not item.shipped}
    items: list[tuple[Landmark, str]] = []
    for item in learned:
        if item.shipped and not include_shipped:
            continue
        items.extend((by_id[item.id], p) for p in item.examples)
    for path, _review, lid in cat.reviewed_photos():
        lm = by_id.get(lid)
        if lm is None and unknown is not None:
            unknown.append(path)
        if lm is None or (lid not in new_ids and not include_shipped):
            continue
        items.append((lm, path))
    return items
