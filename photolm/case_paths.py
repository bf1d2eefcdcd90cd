# SPDX-License-Identifier: GPL-3.0-or-later
"""One folder spelled in two cases: which catalogued path a scanned path really is.

macOS's default file system (APFS), Windows' NTFS and most SMB/NAS shares keep the case a
name was created with but ignore it when a name is looked up: ``~/pictures`` and
``~/Pictures`` open the same folder. The catalogue keys a photo by the bytes of its path
(:func:`photolm.catalog.path_key`), so scanning the folder under the other spelling would
catalogue every photo in it a second time. Before the scan classifies what it found, the
roots and photos are given the spelling the catalogue already holds for them, so the rows
are kept (their results, answers and tags) and none is added; a photo new in a catalogued
folder takes the folder's catalogued spelling, so the folder stays one folder.

Two spellings are one file only when all of these hold: they differ in letter case alone,
``os.stat`` gives both the same ``(st_dev, st_ino)``, and no folder along the way lists both
names. The last test is what keeps case-sensitive file systems (Linux's) as they are: there,
``a.jpg`` and ``A.jpg`` that are hard links of one file, or a symlink ``Pictures`` to
``pictures``, are two names that both show in their folder's listing, and stay two photos;
on a case-insensitive one a folder cannot hold both. Hard links under different names are
not looked at at all. The case rule is Python's ``str.casefold``; the stat decides.

The same goes for the paths a person gives the commands that act on catalogued photos
(``tag``, ``untag``, ``confirm``, ``prune``, ``learn``): :func:`given_catalogued` is their
one step from arguments to catalogued paths.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from photolm.catalog import normalise_path
from photolm.discovery import Found
from photolm.printed_paths import given_paths

if TYPE_CHECKING:
    from photolm.catalog import Catalog


def _parts(path: str) -> list[str]:
    return path.split(os.sep)


def _folded(parts: Iterable[str]) -> list[str]:
    return [p.casefold() for p in parts]


class _Listings:
    """Folder listings, each read once per lookup round."""

    def __init__(self) -> None:
        self._names: dict[str, frozenset[str] | None] = {}

    def both_listed(self, folder: str, one: str, other: str) -> bool:
        if folder not in self._names:
            try:
                self._names[folder] = frozenset(os.listdir(folder))
            except OSError:
                self._names[folder] = None
        names = self._names[folder]
        return names is None or (one in names and other in names)  # unreadable: not sure


def same_entry(path: str, other: str, listings: _Listings | None = None) -> bool:
    """Whether absolute ``path`` and ``other``, differing in letter case only, name one
    directory entry on a case-insensitive file system (see the module docstring)."""
    if path == other:
        return True
    a, b = _parts(path), _parts(other)
    if len(a) != len(b) or _folded(a) != _folded(b):
        return False
    try:
        first, second = os.stat(path), os.stat(other)
    except OSError:
        return False
    if (first.st_dev, first.st_ino) != (second.st_dev, second.st_ino):
        return False
    listings = listings or _Listings()
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y and listings.both_listed(os.sep.join(a[:i]) or os.sep, x, y):
            return False
    return True


class CatalogSpelling:
    """The catalogued spelling of paths, over the catalogue's keys (normalised absolute
    paths, :meth:`~photolm.catalog.Catalog.load_index`). Paths the catalogue holds as they
    are cost a set lookup; only the others are folded, and only a fold that meets a
    catalogued path is looked at on disk. The folders the keys sit in are gathered once, on
    the first lookup that needs them, so a folder costs lookups along its own path only,
    never a pass over the catalogue."""

    def __init__(self, known: Collection[str]) -> None:
        self.known = known
        self._by_fold: dict[str, list[str]] | None = None
        self._folders: set[str] | None = None  # every folder a key sits in, at any depth
        self._folders_by_fold: dict[str, list[str]] = {}
        self._folder_spelling: dict[str, str] = {}  # of_folder's answers
        self._listings = _Listings()

    def _fold_index(self) -> dict[str, list[str]]:
        if self._by_fold is None:
            self._by_fold = {}
            for key in self.known:
                self._by_fold.setdefault(key.casefold(), []).append(key)
        return self._by_fold

    def _folder_index(self) -> set[str]:
        if self._folders is None:
            folders: set[str] = set()
            # rpartition over every key (a third of dirname's time), dirname per folder
            heads = {key.rpartition(os.sep)[0] for key in self.known}
            for parent in {os.path.dirname(head + os.sep + "-") for head in heads}:
                while parent not in folders:  # its own parents are in already when it is
                    folders.add(parent)
                    up = os.path.dirname(parent)
                    if up == parent:
                        break
                    parent = up
            for folder in folders:
                self._folders_by_fold.setdefault(folder.casefold(), []).append(folder)
            self._folders = folders
        return self._folders

    def _same(self, path: str, spellings: Iterable[str]) -> str | None:
        """The first of ``spellings`` (in sorted order) that is ``path``'s entry on disk."""
        return next((s for s in sorted(spellings) if same_entry(path, s, self._listings)),
                    None)

    def of_file(self, path: str) -> str:
        """The catalogued path that is the file ``path``, else ``path``."""
        if path in self.known:
            return path
        return self._same(path, self._fold_index().get(path.casefold(), ())) or path

    def of_folder(self, folder: str) -> str:
        """``folder`` with its deepest catalogued folder (itself or one above) spelled as
        the catalogue spells it: where a new photo in an old folder joins the old ones."""
        if folder in self._folder_spelling:
            return self._folder_spelling[folder]
        if folder in self._folder_index():
            spelling = folder
        else:
            spelling = self._same(folder, self._folders_by_fold.get(folder.casefold(), ()))
            if spelling is None:
                parent, name = os.path.split(folder)
                spelling = (folder if parent == folder or not name
                            else os.path.join(self.of_folder(parent), name))
        self._folder_spelling[folder] = spelling
        return spelling

    def of_root(self, root: str) -> str:
        """The catalogued spelling of the folder (or photo) ``root``, else ``root``: the
        spelling of the catalogued paths at or under it when they differ in case only."""
        if root in self.known:
            return root
        stripped = root.rstrip(os.sep)
        folders = self._folder_index()
        if not stripped or stripped in folders:
            return root
        folded = stripped.casefold()
        spellings = {*self._fold_index().get(folded, ()), *self._folders_by_fold.get(folded, ())}
        return self._same(stripped, spellings) or root

    def of_given(self, path: str) -> str:
        """:meth:`of_root`, or for a catalogued photo whose file is gone (nothing to stat:
        ``prune``'s), its folder's catalogued spelling when the name is catalogued in it
        as given."""
        respelled = self.of_root(path)
        folder, name = os.path.split(path)
        if respelled != path or not name:
            return respelled
        moved = os.path.join(self.of_root(folder), name)
        return moved if moved in self.known else path


def as_catalogued(roots: Sequence[Path], found: Sequence[Found], spelling: CatalogSpelling
                  ) -> tuple[list[Path], list[Found]]:
    """``roots`` and the photos a walk ``found`` under them, spelled as the catalogue
    (``spelling``, over its keys: one per scan, so its folder index is built once) spells
    the same files. A root is kept as given when it names nothing catalogued in another
    case. A photo the new spelling makes a duplicate of one already found (two roots, one
    folder in two cases) is dropped."""
    known = spelling.known
    moved: list[tuple[str, str]] = []  # (as given, as catalogued) per respelled root
    new_roots: list[Path] = []
    for root in roots:
        given = os.path.abspath(os.path.expanduser(os.fspath(root)))
        catalogued = spelling.of_root(given)
        if catalogued != given:
            moved.append((given, catalogued))
        new_roots.append(Path(catalogued) if catalogued != given else root)
    photos: list[Found] = []
    seen: set[str] = set()
    for item in found:
        path = str(item.path)
        for given, catalogued in moved:
            if path == given or path.startswith(given.rstrip(os.sep) + os.sep):
                item = _moved(item, len(given), catalogued)
                path = str(item.path)
                break
        if path not in known:
            folder = os.path.dirname(path)
            # a name (or a sub-folder's) in another case; else a new photo in a folder
            # catalogued in another case: it joins the folder's catalogued spelling
            respelled = spelling.of_file(path)
            if respelled == path:
                respelled = os.path.join(spelling.of_folder(folder), os.path.basename(path))
            if respelled != path:
                item = _moved(item, len(folder), os.path.dirname(respelled),
                              name=os.path.basename(respelled))
        if str(item.path) not in seen:
            seen.add(str(item.path))
            photos.append(item)
    return new_roots, photos


def _moved(item: Found, cut: int, prefix: str, *, name: str | None = None) -> Found:
    """``item`` with the first ``cut`` characters of its path (and of its RAW companions',
    which sit in its folder) replaced by ``prefix``; its own name by ``name`` if given."""
    def respell(path: Path) -> Path:
        return Path(prefix + str(path)[cut:])

    path = respell(item.path)
    if name is not None:
        path = path.with_name(name)
    return replace(item, path=path, companions=tuple(respell(c) for c in item.companions))


def catalogues(catalog: Catalog, path: str) -> bool:
    """Whether ``path`` is a catalogued photo, a camera RAW catalogued beside one, or a
    folder holding some."""
    return (catalog.get_photo(path) is not None or catalog.photo_of_companion(path) is not None
            or next(catalog.iter_photos(under=path), None) is not None)


def given_catalogued(catalog: Catalog, paths: Iterable[os.PathLike[str] | str], *,
                     catalogued: Callable[[str], bool] | None = None,
                     names: Callable[[str], bool] | None = None) -> list[Path]:
    """The paths a person gave a command that acts on catalogued photos, as the catalogue
    spells them: each read back from its printed form when that ``names`` something
    (:func:`photolm.printed_paths.given_paths`; default: when it is ``catalogued``), then,
    when it is no catalogued photo or folder as spelled, given the spelling the catalogue
    holds for the same file or folder (``~/pictures`` on a Mac where ``~/Pictures`` was
    scanned). ``catalogued`` defaults to :func:`catalogues`.

    The catalogue's paths are read only when an argument is not catalogued as given, and
    then once: the lookups are per argument, never per photo.
    """
    def in_catalogue(path: str) -> bool:
        return catalogues(catalog, path)

    catalogued = catalogued or in_catalogue
    spelling: CatalogSpelling | None = None
    chosen: list[Path] = []
    for path in given_paths(paths, names or catalogued):
        if not catalogued(str(path)):
            if spelling is None:
                raws = catalog.companions_by_photo().values()
                spelling = CatalogSpelling({*catalog.load_index(), *(r for rs in raws for r in rs)})
            given = normalise_path(path)
            respelled = spelling.of_given(given)
            path = Path(respelled) if respelled != given else path
        chosen.append(path)
    return chosen
