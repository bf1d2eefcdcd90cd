# SPDX-License-Identifier: GPL-3.0-or-later
"""Datasets: find labelled photos, merge label spaces, split them reproducibly.

Three layouts are understood, and any number of roots can be combined:

* class folders: ``root/<landmark>/*.jpg``;
* source folders: ``root/<source>/<landmark>/*.jpg`` (as in ``landmarks-extra``);
* Google Landmarks Dataset v2: ``root/train.csv`` (``id,url,landmark_id``) or
  ``root/train_clean.csv`` (``landmark_id,images``) with images at ``[train/]a/b/c/abc….jpg``
  and, when present, ``train_label_to_category.csv`` for the landmark names.

An optional ``classes.csv`` in a root (or a source folder) gives display name, aliases, city,
country, latitude and longitude per folder. The shared sets spell their columns slightly
differently (``landmarks-extra`` adds ``source``); common synonyms are accepted.

Classes from different roots or sources are one class when their display names normalise to
the same slug (the Taj Mahal in four sources becomes one class ``taj-mahal``). Class order is
sorted by id, so adding a root never depends on the order roots were given in.

The split is stratified and deterministic: within each class, photos are ordered by a hash of
the seed and their root-relative path, and the first ones go to holdout, then validation. The
order does not depend on the file system, and adding photos moves few existing ones.

This module does not import torch: ``ImageDataset`` is a plain map-style dataset that torch's
DataLoader accepts as is, so ``trainer eda`` and discovery stay fast.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re
import unicodedata
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from photolm.alias_list import split_aliases
from photolm.bundle import Landmark
from photolm.textfold import latin_ascii, latin_spellings, normalise
from photolm.wording import counted
from trainer.errors import DataError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
CLASSES_CSV = "classes.csv"

# Column names seen in the wild for each field of a class record.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "source": ("source", "dataset", "subset"),
    "folder": ("folder", "dir", "directory", "class", "label"),
    "name": ("name", "display_name", "landmark", "title"),
    "aliases": ("aliases", "alias", "other_names"),
    "city": ("city", "town", "place"),
    "country": ("country",),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
}


class ClassInfo(Landmark):
    """One landmark class as it travels in checkpoints and bundles.

    It *is* the bundle's landmark record (:class:`photolm.bundle.Landmark`, the one
    definition of those fields), so a checkpoint's class table becomes a bundle's landmark
    table without a field-by-field copy that could drift; only the dict names differ.
    """

    def to_dict(self) -> dict[str, Any]:
        return self.to_json()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassInfo:
        return cls.from_json(data)  # type: ignore[return-value]


@dataclass(frozen=True)
class Sample:
    """One labelled photo. ``key`` is location-independent (root folder name + relative path)."""

    path: str
    label: int
    key: str


@dataclass
class DatasetIndex:
    """All photos found under the roots, with the merged class table."""

    classes: list[ClassInfo]
    samples: list[Sample]
    roots: list[str]
    notes: list[str] = field(default_factory=list)  # human-readable remarks worth showing

    def class_counts(self) -> list[int]:
        counts = [0] * len(self.classes)
        for sample in self.samples:
            counts[sample.label] += 1
        return counts


@dataclass
class DatasetSplit:
    """Train / validation / holdout samples of one index."""

    index: DatasetIndex
    train: list[Sample]
    val: list[Sample]
    holdout: list[Sample]
    too_small: list[str]  # names of classes kept entirely in train (too few photos to split)
    val_ratio: float = 0.0
    holdout_ratio: float = 0.0
    seed: int = 0

    @property
    def classes(self) -> list[ClassInfo]:
        return self.index.classes

    def part(self, name: str) -> list[Sample]:
        if name not in ("train", "val", "holdout"):
            raise DataError(f"Unknown split {name!r}; choose train, val or holdout.")
        return getattr(self, name)

    def photos_sha256(self) -> str:
        """Digest of which photo went to which part (root-relative keys, so a moved dataset
        folder keeps it): a checkpoint records it, and rebuilding the split checks it."""
        digest = hashlib.sha256()
        for part in ("train", "val", "holdout"):
            for key in sorted(s.key for s in getattr(self, part)):
                digest.update(f"{part}\t{key}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def summary(self) -> dict[str, Any]:
        return {
            "classes": len(self.classes),
            "train": len(self.train),
            "val": len(self.val),
            "holdout": len(self.holdout),
            "too_small": list(self.too_small),
            "val_ratio": self.val_ratio,
            "holdout_ratio": self.holdout_ratio,
            "seed": self.seed,
        }


# --------------------------------------------------------------------------- names


# The rules class ids were made by, newest first. Runs made under an earlier one have their
# classes under its ids; split_from_config rebuilds their split with it (set only there,
# through a ContextVar), so they still export, evaluate and resume exactly as before.
CURRENT_IDS = "current"  # Latin letters spelled in ASCII ("Øresund" -> "oresund"), scripts kept
UNSPELLED_IDS = "before latin spellings"  # "Øresund" -> "resund": ø, ł... broke the word
ASCII_ONLY_IDS = "ascii only"  # and a name in another script "unnamed" (or without it)
EARLIER_ID_RULES = (UNSPELLED_IDS, ASCII_ONLY_IDS)
_ID_RULE: ContextVar[str] = ContextVar("class_id_rule", default=CURRENT_IDS)


def _ascii_only_id(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"['’`´]", "", text)
    return re.sub(r"[^0-9a-z]+", "-", text).strip("-") or "unnamed"


def normalise_name(name: str) -> str:
    """Slug used both as class id and as the merge key: accents, case, punctuation folded.

    ``"Humayun's Tomb"`` -> ``"humayuns-tomb"``, ``"Chichén Itzá"`` -> ``"chichen-itza"``,
    ``"Øresund Bridge"`` -> ``"oresund-bridge"`` (a Latin letter with no ASCII base spelled
    as readers spell it, :func:`photolm.textfold.latin_ascii`, so it is one class with
    "Oresund Bridge"), ``"老桥"`` -> ``"老桥"``, ``"Кремль"`` -> ``"кремль"``: other scripts
    keep their letters (folded as photolm folds names), or every such landmark would share
    one id and be merged into one class. A name without such a letter or another script
    gets exactly the id every earlier run gave it; runs from before either change are
    rebuilt under their own rule (:data:`EARLIER_ID_RULES`, :func:`class_ids`).
    """
    rule = _ID_RULE.get()
    if rule == ASCII_ONLY_IDS:
        return _ascii_only_id(name)
    name = name.translate(_broke_the_word()) if rule == UNSPELLED_IDS else latin_ascii(name)
    if not _other_script(name):
        return _ascii_only_id(name)
    folded = "".join(ch if ch.isascii() or not unicodedata.name(ch, "").startswith("LATIN")
                     else " " for ch in normalise(name))
    return "-".join(folded.split()) or "unnamed"


@lru_cache(maxsize=1)
def _broke_the_word() -> dict[int, str]:
    """The Latin letters ids made before Latin spellings could not fold (a space: they broke
    the word); not "ß", which casefolding made "ss" then as now."""
    def fold(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", text)
                       if not unicodedata.combining(c))

    return {cp: " " for cp in latin_spellings() if not fold(fold(chr(cp)).casefold()).isascii()}


def class_ids(name: str) -> tuple[str, ...]:
    """``name``'s class id under the current rule, then the different ones earlier rules
    gave it: what a checkpoint, bundle or file of an earlier run may call the class."""
    ids = [normalise_name(name)]
    for rule in EARLIER_ID_RULES:
        token = _ID_RULE.set(rule)
        try:
            ids.append(normalise_name(name))
        finally:
            _ID_RULE.reset(token)
    return tuple(dict.fromkeys(ids))


def _other_script(name: str) -> bool:
    """Whether ``name`` has a letter of a script other than Latin (the names earlier runs
    could not tell apart)."""
    return any(ch.isalpha() and not ch.isascii()
               and not unicodedata.name(ch, "").startswith("LATIN") for ch in name)


def folder_display_name(folder: str) -> str:
    """Name for a class folder with no classes.csv row: ``taj_mahal`` -> ``Taj Mahal``."""
    return re.sub(r"\s+", " ", folder.replace("_", " ")).strip().title() or folder


# --------------------------------------------------------------------------- classes.csv


@dataclass(frozen=True)
class _ClassRow:
    source: str | None
    folder: str
    name: str | None
    aliases: tuple[str, ...]
    city: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    line: int = 0  # in its classes.csv, for notes about the row


def _pick(row: Mapping[str, str], field_name: str) -> str | None:
    for column in _COLUMNS[field_name]:
        value = row.get(column)
        if value is not None and value.strip():
            return value.strip()
    return None


def _coordinate(value: str | None, where: str, what: str, low: float,
                high: float) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"{where}: {what} {value!r} is not a number; fix or blank it.") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise DataError(f"{where}: {what} {value} is outside [{low:g}, {high:g}].")
    return number


def _coordinates(row: Mapping[str, str], where: str) -> tuple[float | None, float | None]:
    """Latitude and longitude, both or neither: half a place would be merged with the other
    half of another root's, or be no place at all to photolm's GPS check."""
    latitude = _coordinate(_pick(row, "latitude"), where, "latitude", -90, 90)
    longitude = _coordinate(_pick(row, "longitude"), where, "longitude", -180, 180)
    if (latitude is None) != (longitude is None):
        given, missing = (("latitude", "longitude") if longitude is None
                          else ("longitude", "latitude"))
        raise DataError(f"{where}: a {given} without a {missing}; give both or neither.")
    return latitude, longitude


def read_classes_csv(path: Path) -> list[_ClassRow]:
    """Read one classes.csv (columns matched case-insensitively, synonyms accepted)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [{(k or "").strip().lower(): (v or "") for k, v in r.items()} for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"Cannot read {path}: {exc}.") from None
    result = []
    lines: dict[tuple[str | None, str], int] = {}
    for number, row in enumerate(rows, start=2):
        where = f"{path}, line {number}"
        folder = _pick(row, "folder")
        if folder is None:
            raise DataError(f"{where}: no folder name; add a 'folder' column.")
        source = _pick(row, "source")
        # The exact name: Eiffel/ and eiffel/ are two folders where names keep their case,
        # each found by its own row (_RowLookup matches exact case first).
        first = lines.setdefault((source, folder), number)
        if first != number:  # which row would win is nowhere written: refuse to guess
            raise DataError(f"{where}: folder {folder!r} is already described on line "
                            f"{first}; keep one row per folder.")
        # ; or | between aliases, \; \| \\ inside one (photolm export-dataset's)
        aliases = tuple(dict.fromkeys(split_aliases(_pick(row, "aliases") or "")))
        latitude, longitude = _coordinates(row, where)
        result.append(
            _ClassRow(
                source=source,
                folder=folder,
                name=_pick(row, "name"),
                aliases=aliases,
                city=_pick(row, "city"),
                country=_pick(row, "country"),
                latitude=latitude,
                longitude=longitude,
                line=number,
            )
        )
    return result


class _RowLookup:
    """Find the classes.csv row for (source, folder); rows without a source match any.

    A row naming the folder in its exact letter case wins over one that differs only in
    case, so the rows for ``Eiffel/`` and ``eiffel/`` (two folders on Linux) each find their
    own folder; a row in another case still finds a folder (a table typed on macOS).
    """

    def __init__(self, rows: Iterable[_ClassRow], used: set[int] | None = None) -> None:
        self.used = used if used is not None else set()  # id() of every row found
        self._exact: dict[tuple[str | None, str], _ClassRow] = {}
        self._folded: dict[tuple[str | None, str], _ClassRow] = {}
        self._any_source: dict[str, _ClassRow] = {}
        for row in rows:
            self._exact.setdefault((row.source, row.folder), row)
            self._folded.setdefault((row.source, row.folder.casefold()), row)
            self._any_source.setdefault(row.folder.casefold(), row)

    def find(self, source: str | None, folder: str) -> _ClassRow | None:
        row = self._find(source, folder)
        if row is not None:
            self.used.add(id(row))
        return row

    def _find(self, source: str | None, folder: str) -> _ClassRow | None:
        folded = folder.casefold()
        for table, key in ((self._exact, (source, folder)), (self._folded, (source, folded)),
                           (self._exact, (None, folder)), (self._folded, (None, folded))):
            if key in table:
                return table[key]
        # A row naming another source still describes a folder of that name (e.g. a
        # landmarks-extra style table next to flat class folders).
        return self._any_source.get(folder.casefold())


# --------------------------------------------------------------------------- discovery


@dataclass
class _Group:
    """Photos of one folder (or one GLDv2 landmark id) before merging."""

    info: ClassInfo  # id is the merge key
    paths: list[tuple[str, str]]  # (absolute path, key)


def _is_image(entry: os.DirEntry[str]) -> bool:
    return (
        not entry.name.startswith(".")
        and os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES
        and entry.is_file()
    )


def _scan(folder: Path) -> tuple[list[str], list[str]]:
    """(image file names, subfolder names) of one folder, sorted, hidden entries skipped."""
    images, dirs = [], []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    dirs.append(entry.name)
                elif _is_image(entry):
                    images.append(entry.name)
    except OSError as exc:
        raise DataError(f"Cannot list {folder}: {exc.strerror or exc}.") from None
    return sorted(images), sorted(dirs)


def list_images(folder: Path | str) -> list[Path]:
    """Every image file below ``folder`` (recursively, sorted); used for distractor sets."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder of photos.")
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                found.append(Path(dirpath) / name)
    return found


def _class_info(row: _ClassRow | None, folder: str) -> ClassInfo:
    name = (row.name if row and row.name else None) or folder_display_name(folder)
    if row is None:
        return ClassInfo(id=normalise_name(name), name=name)
    return ClassInfo(
        id=normalise_name(name),
        name=name,
        aliases=row.aliases,
        city=row.city,
        country=row.country,
        latitude=row.latitude,
        longitude=row.longitude,
    )


def _folder_groups(root: Path, notes: list[str]) -> list[_Group]:
    rows: list[_ClassRow] = []
    tables: dict[Path, list[_ClassRow]] = {}  # each classes.csv read, for the unused rows
    if (root / CLASSES_CSV).is_file():
        rows.extend(tables.setdefault(root / CLASSES_CSV, read_classes_csv(root / CLASSES_CSV)))
    images, dirs = _scan(root)
    if images and not dirs:
        raise DataError(
            f"{root} holds photos but no class folders; put each landmark's photos in its own "
            "subfolder (root/<landmark>/*.jpg)."
        )
    used: set[int] = set()
    root_lookup = _RowLookup(rows, used)
    groups: list[_Group] = []
    empty: list[str] = []  # named, never skipped silently: a landmark may be missing
    for child in dirs:
        child_path = root / child
        child_images, grandchildren = _scan(child_path)
        # (an empty folder's row is not "without a folder": the folder is named as empty)
        row = root_lookup.find(None, child) if child_images or not grandchildren else None
        if child_images:
            info = _class_info(row, child)
            groups.append(_Group(info, [(str(child_path / n), f"{root.name}/{child}/{n}")
                                        for n in child_images]))
            continue
        source_rows = list(rows)
        if (child_path / CLASSES_CSV).is_file():
            table = tables.setdefault(child_path / CLASSES_CSV,
                                      read_classes_csv(child_path / CLASSES_CSV))
            source_rows = table + source_rows
        lookup = _RowLookup(source_rows, used)
        if not grandchildren:
            empty.append(f"{root.name}/{child}")
        for grand in grandchildren:
            grand_path = child_path / grand
            grand_images, _ = _scan(grand_path)
            row = lookup.find(child, grand)
            if not grand_images:
                empty.append(f"{root.name}/{child}/{grand}")
                continue
            info = _class_info(row, grand)
            groups.append(
                _Group(info, [(str(grand_path / n), f"{root.name}/{child}/{grand}/{n}")
                              for n in grand_images])
            )
    if empty:
        notes.append(f"skipped {counted(len(empty), 'folder')} with no photos in a format the "
                     "trainer reads (JPEG, PNG, WebP, BMP, TIFF; not HEIC or RAW): "
                     + ", ".join(empty[:10]) + ("…" if len(empty) > 10 else ""))
    notes.extend(_rows_without_folder(tables, used))
    return groups


def _rows_without_folder(tables: Mapping[Path, Sequence[_ClassRow]],
                         used: set[int]) -> list[str]:
    """A row whose folder is not there (a typo, a folder renamed or removed) describes
    nothing: its landmark trains under the folder's own name, without the row's aliases and
    place. Named per table and line, not refused: a table may describe more folders than
    one copy of the data holds."""
    notes = []
    for path, table in tables.items():
        unused = [row for row in table if id(row) not in used]
        if not unused:
            continue
        listed = ", ".join(f"{row.line} ({'/'.join(filter(None, (row.source, row.folder)))})"
                           for row in unused[:10]) + ("…" if len(unused) > 10 else "")
        notes.append(f"{path}: no folder for the {'row' if len(unused) == 1 else 'rows'} on "
                     f"line{'s' if len(unused) > 1 else ''} {listed}; "
                     f"{'it describes' if len(unused) == 1 else 'they describe'} no landmark "
                     "(check the folder names).")
    return notes


def _is_gldv2(root: Path) -> bool:
    for name, needed in (("train.csv", {"id", "landmark_id"}),
                         ("train_clean.csv", {"landmark_id", "images"})):
        path = root / name
        if path.is_file():
            with open(path, newline="", encoding="utf-8-sig") as handle:
                header = {h.strip().lower() for h in next(csv.reader(handle), [])}
            if needed <= header:
                return True
    return False


def _gldv2_name(category: str) -> str:
    """``http://commons.wikimedia.org/wiki/Category:Happy_Valley`` -> ``Happy Valley``."""
    tail = urllib.parse.unquote(category.rstrip("/").rsplit("/", 1)[-1])
    tail = tail.split("Category:", 1)[-1]
    return tail.replace("_", " ").strip()


def _gldv2_groups(root: Path, notes: list[str]) -> list[_Group]:
    image_root = root / "train" if (root / "train").is_dir() else root
    by_landmark: dict[str, list[str]] = defaultdict(list)
    clean = root / "train_clean.csv"
    try:
        if clean.is_file() and not (root / "train.csv").is_file():
            with open(clean, newline="", encoding="utf-8-sig") as handle:
                for row in csv.DictReader(handle):
                    by_landmark[row["landmark_id"].strip()].extend(row["images"].split())
        else:
            with open(root / "train.csv", newline="", encoding="utf-8-sig") as handle:
                for row in csv.DictReader(handle):
                    by_landmark[row["landmark_id"].strip()].append(row["id"].strip())
    except (OSError, KeyError, csv.Error) as exc:
        raise DataError(f"Cannot read the GLDv2 table in {root}: {exc!r}.") from None
    names: dict[str, str] = {}
    categories = root / "train_label_to_category.csv"
    if categories.is_file():
        with open(categories, newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                names[row["landmark_id"].strip()] = _gldv2_name(row.get("category", ""))
    missing = 0
    groups = []
    for landmark_id in sorted(by_landmark, key=lambda v: (len(v), v)):
        name = names.get(landmark_id) or f"GLDv2 landmark {landmark_id}"
        paths = []
        for image_id in by_landmark[landmark_id]:
            if len(image_id) < 3:
                missing += 1
                continue
            path = image_root / image_id[0] / image_id[1] / image_id[2] / f"{image_id}.jpg"
            if path.is_file():
                paths.append((str(path), f"{root.name}/{image_id}"))
            else:
                missing += 1
        if paths:
            info = ClassInfo(id=normalise_name(name), name=name,
                             aliases=(f"GLDv2 {landmark_id}",))
            groups.append(_Group(info, paths))
    if missing:
        notes.append(f"{root}: the GLDv2 table lists {counted(missing, 'photo')} not on "
                     "disk.")
    return groups


def read_file_list(path: Path | str) -> set[str]:
    """Absolute, normalised paths from a text file (one per line; '#' comments; relative
    paths are relative to the list's folder). CSV lists written by ``trainer clean`` work
    too: the first column is taken."""
    path = Path(path)
    base = path.parent
    entries = set()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read file list {path}: {exc}.") from None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = Path(line)
        if not entry.is_absolute():
            entry = base / entry
        entries.add(os.path.normpath(os.path.abspath(entry)))
    return entries


def discover(
    roots: Sequence[Path | str],
    *,
    file_list: Path | str | None = None,
    exclude_list: Path | str | None = None,
) -> DatasetIndex:
    """Find every labelled photo under ``roots`` and merge their label spaces by name."""
    if not roots:
        raise DataError("No dataset folders given.")
    notes: list[str] = []
    groups: list[_Group] = []
    resolved_roots = []
    for raw in roots:
        root = Path(raw).expanduser()
        if not root.is_dir():
            raise DataError(f"Dataset folder {root} does not exist or is not a folder.")
        root = root.resolve()
        resolved_roots.append(str(root))
        found = _gldv2_groups(root, notes) if _is_gldv2(root) else _folder_groups(root, notes)
        if not found:
            raise DataError(
                f"No photos found in {root}; expected root/<landmark>/*.jpg, "
                "root/<source>/<landmark>/*.jpg or a GLDv2 train.csv."
            )
        groups.extend(found)

    keep = read_file_list(file_list) if file_list is not None else None
    drop = read_file_list(exclude_list) if exclude_list is not None else set()

    merged: dict[str, ClassInfo] = {}
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for group in groups:
        key = group.info.id
        merged[key] = _merge_info(merged[key], group.info) if key in merged else group.info
        members[key].extend(group.paths)

    seen_paths: set[str] = set()
    listed_found = excluded_found = 0
    class_ids = sorted(merged)
    classes: list[ClassInfo] = []
    samples: list[Sample] = []
    emptied = []
    for class_id in class_ids:
        kept: list[tuple[str, str]] = []
        for path, key in members[class_id]:
            norm = os.path.normpath(path)
            if norm in seen_paths:
                continue
            seen_paths.add(norm)
            if keep is not None:
                if norm not in keep:
                    continue
                listed_found += 1
            if norm in drop:
                excluded_found += 1
                continue
            kept.append((path, key))
        if not kept:
            emptied.append(merged[class_id].name)
            continue
        label = len(classes)
        classes.append(merged[class_id])
        samples.extend(Sample(path=p, label=label, key=k) for p, k in kept)
    if keep is not None and listed_found < len(keep):
        notes.append(
            f"The file list names {counted(len(keep) - listed_found, 'photo')} not under the "
            "dataset folders; ignored."
        )
    if excluded_found < len(drop):  # e.g. a list written before the dataset was moved
        notes.append(
            f"The exclude list names {counted(len(drop) - excluded_found, 'photo')} not under "
            "the dataset folders, so not left out."
        )
    if emptied:
        notes.append(f"{counted(len(emptied), 'class', 'has')} no photos left after filtering: "
                     + ", ".join(emptied[:10]) + ("…" if len(emptied) > 10 else ""))
    if not samples:
        raise DataError("No photos left after applying the file lists; check --file-list.")
    return DatasetIndex(classes=classes, samples=samples, roots=resolved_roots, notes=notes)


def _merge_info(first: ClassInfo, other: ClassInfo) -> ClassInfo:
    """First root wins for every field it knows; aliases are united in order."""
    aliases = list(first.aliases)
    seen = {normalise_name(a) for a in aliases} | {first.id}
    for alias in other.aliases:
        if normalise_name(alias) not in seen:
            seen.add(normalise_name(alias))
            aliases.append(alias)
    return ClassInfo(
        id=first.id,
        name=first.name,
        aliases=tuple(a for a in aliases if normalise_name(a) != first.id),
        city=first.city or other.city,
        country=first.country or other.country,
        latitude=first.latitude if first.latitude is not None else other.latitude,
        longitude=first.longitude if first.longitude is not None else other.longitude,
    )


# --------------------------------------------------------------------------- split


def _order_key(seed: int, key: str) -> bytes:
    return hashlib.sha256(f"{seed}\x00{key}".encode()).digest()


def split_dataset(
    index: DatasetIndex, *, val_ratio: float = 0.2, holdout_ratio: float = 0.0, seed: int = 0
) -> DatasetSplit:
    """Stratified, deterministic split. Each split with a non-zero ratio gets at least one
    photo of every class; a class too small for that (fewer than 1 + number of such splits
    photos) stays entirely in train and is listed in ``too_small``."""
    if not (0 <= val_ratio < 1 and 0 <= holdout_ratio < 1 and val_ratio + holdout_ratio < 1):
        raise DataError("Split ratios must be in [0, 1) and leave room for training.")
    by_class: dict[int, list[Sample]] = defaultdict(list)
    for sample in index.samples:
        by_class[sample.label].append(sample)
    train: list[Sample] = []
    val: list[Sample] = []
    holdout: list[Sample] = []
    too_small: list[str] = []
    needed = 1 + (val_ratio > 0) + (holdout_ratio > 0)
    for label in sorted(by_class):
        ordered = sorted(by_class[label], key=lambda s: _order_key(seed, s.key))
        n = len(ordered)
        if n < needed:
            if needed > 1:
                too_small.append(index.classes[label].name)
            train.extend(ordered)
            continue
        n_hold = max(1, int(n * holdout_ratio + 0.5)) if holdout_ratio > 0 else 0
        n_val = max(1, int(n * val_ratio + 0.5)) if val_ratio > 0 else 0
        while n - n_hold - n_val < 1:  # rounding up must never empty train
            if n_val >= n_hold and n_val > 1:
                n_val -= 1
            else:
                n_hold -= 1
        holdout.extend(ordered[:n_hold])
        val.extend(ordered[n_hold:n_hold + n_val])
        train.extend(ordered[n_hold + n_val:])
    return DatasetSplit(index=index, train=train, val=val, holdout=holdout, too_small=too_small,
                        val_ratio=val_ratio, holdout_ratio=holdout_ratio, seed=seed)


def split_from_config(
    config: Any, *, expected_classes: Sequence[Mapping[str, Any] | ClassInfo] | None = None,
    expected_photos: str | None = None,
) -> DatasetSplit:
    """Rebuild the exact split a run used, from its config (a TrainConfig or its dict).

    ``export`` calls this to find a checkpoint's training photos (prototypes) and held-out
    photos (threshold calibration). File lists are checked against their recorded checksum,
    and ``expected_classes`` (the checkpoint's class table) against the rediscovered one, so
    a changed dataset is an error rather than a silently different split; so is a photo
    added, removed or renamed inside a class when ``expected_photos`` (the checkpoint's
    :meth:`DatasetSplit.photos_sha256`; checkpoints before it have none) is given.
    """
    get = config.get if isinstance(config, Mapping) else lambda k, d=None: getattr(config, k, d)
    for name in ("file_list", "exclude_list"):
        path, digest = get(name), get(f"{name}_sha256")
        if path is not None:
            from trainer.config import sha256_of

            if not Path(path).is_file():
                raise DataError(f"The run's {name.replace('_', ' ')} {path} is gone; restore it.")
            if digest and sha256_of(path) != digest:
                raise DataError(f"The run's {name.replace('_', ' ')} {path} changed since "
                                "training; the split cannot be rebuilt exactly.")
    def rediscover() -> DatasetIndex:
        return discover(list(get("data") or []), file_list=get("file_list"),
                        exclude_list=get("exclude_list"))

    index = rediscover()
    if expected_classes is not None:
        want = [c.id if isinstance(c, ClassInfo) else str(c["id"]) for c in expected_classes]
        for rule in EARLIER_ID_RULES if [c.id for c in index.classes] != want else ():
            # a run from before Latin spellings ("Øresund Bridge" was "resund-bridge") or
            # before ids in other scripts ("老桥" was "unnamed", "Tokyo Tower 東京タワー"
            # was "tokyo-tower"): taken only if its ids then match exactly
            token = _ID_RULE.set(rule)
            try:
                earlier = rediscover()
            finally:
                _ID_RULE.reset(token)
            if [c.id for c in earlier.classes] == want:
                index = earlier
                break
    split = split_dataset(index, val_ratio=float(get("val_ratio", 0.0)),
                          holdout_ratio=float(get("holdout_ratio", 0.0)),
                          seed=int(get("seed", 0)))
    if expected_classes is not None:
        want = [c.id if isinstance(c, ClassInfo) else str(c["id"]) for c in expected_classes]
        have = [c.id for c in index.classes]
        if want != have:
            gone = sorted(set(want) - set(have))
            new = sorted(set(have) - set(want))
            raise DataError(
                "The dataset folders no longer match the checkpoint's classes "
                f"(missing: {', '.join(gone[:5]) or '-'}; new: {', '.join(new[:5]) or '-'})."
            )
    if expected_photos and split.photos_sha256() != expected_photos:
        raise DataError(
            "The photos in the dataset folders changed since training (added, removed or "
            f"renamed; the split is now {len(split.train)}/{len(split.val)}/"
            f"{len(split.holdout)} train/val/holdout), so the run's split cannot be rebuilt "
            "exactly; restore them, or train a new run."
        )
    return split


# --------------------------------------------------------------------------- torch dataset


class ImageDataset:
    """Map-style dataset of (image, label, index); undecodable photos yield ``image=None``.

    Returning ``None`` instead of raising lets :func:`collate_skip_bad` drop the photo and the
    training loop report it once, rather than one corrupt JPEG stopping a day-long run.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        transform: Callable[[Any], Any],
        *,
        draft: int | None = None,
    ) -> None:
        self.samples = list(samples)
        self.transform = transform
        self.draft = draft

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int, int, str | None]:
        from trainer.transforms import UnreadableImage, open_image

        sample = self.samples[index]
        try:
            image = open_image(sample.path, draft=self.draft)
            return self.transform(image), sample.label, index, None
        except UnreadableImage as exc:
            return None, sample.label, index, exc.reason


def collate_skip_bad(batch: Sequence[tuple[Any, int, int, str | None]]) -> dict[str, Any]:
    """Stack the decodable items; list the others as ``bad`` (index, reason)."""
    import numpy as np
    import torch

    good = [item for item in batch if item[0] is not None]
    bad = [(item[2], item[3]) for item in batch if item[0] is None]
    if good:
        images = torch.stack(
            [torch.from_numpy(x) if isinstance(x, np.ndarray) else x for x, *_ in good]
        )
        labels = torch.tensor([item[1] for item in good], dtype=torch.long)
        indices = torch.tensor([item[2] for item in good], dtype=torch.long)
    else:
        images = labels = indices = None
    return {"images": images, "labels": labels, "indices": indices, "bad": bad}
