# SPDX-License-Identifier: GPL-3.0-or-later
"""Find the photos under a set of folders, robustly and in a deterministic order.

Real photo folders are messy: NAS thumbnail folders (``@eaDir``), macOS resource forks
(``._IMG_0001.JPG``), symlink loops, folders the user cannot read, camera files without an
extension, names that are not valid UTF-8. The walk never raises for any of these: it yields
:class:`Found` for every file that is (or claims to be) a photo and :class:`Problem` for what
the user should hear about, and carries on.

A file is a photo candidate by its extension *or* by its first bytes, so ``IMG_0001`` without
an extension is found. A file with a photo extension is always yielded, even when its content
is not an image (``kind == "unknown"``): the scan then records why it cannot be decoded instead
of the photo silently disappearing from the catalogue.

Paths are built from ``os.scandir`` on ``str`` paths, so undecodable bytes in names become
lone surrogates (``surrogateescape``). Such a ``Path`` works for opening the file but cannot
be encoded as UTF-8: show it with :func:`display_path` and store ``os.fsencode(path)`` (or
the display form) rather than ``str(path)`` where UTF-8 is required.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from photolm.wording import counted

PHOTO_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".webp",
        ".heic", ".heif", ".avif", ".bmp", ".gif",
    }
)

# Camera RAW formats, recognised from the JPEG preview inside them (photolm.raw). Many are
# TIFF inside, so the extension, not the first bytes, says RAW.
RAW_EXTENSIONS = frozenset(
    {
        ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".orf",
        ".rw2", ".raf", ".pef", ".srw", ".x3f", ".3fr", ".erf", ".kdc", ".mrw", ".iiq",
        ".rwl", ".mef", ".mos",
    }
)

VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".mts", ".m2ts", ".3gp", ".wmv", ".webm",
        ".mpg", ".mpeg",
    }
)

# Never sniffed, never reported: metadata sidecars that sit beside photos.
SIDECAR_EXTENSIONS = frozenset({".xmp", ".aae", ".thm", ".json", ".xml"})

# A RAW beside a JPEG (or HEIC) of the same stem is the same shot: the camera wrote both.
# The JPEG is the photo (what the camera rendered, what people share, and recognised without
# a second decode); the RAW rides along as its companion (Found.companions), so search and
# tags show the shot once and tags reach the RAW's sidecar too. JPEG before HEIC when a
# camera wrote both.
_PAIRED_JPEG = frozenset({".jpg", ".jpeg", ".jpe", ".jfif"})
_PAIRED_WITH = _PAIRED_JPEG | {".heic", ".heif"}


def paired_format(path: str | Path) -> str:
    """What the photo of a RAW pair is, by its name as pairing reads it: "JPEG" or "HEIC"
    (HEIF too), so what is said about the pair names the file the person has."""
    return "JPEG" if _extension(os.fspath(path)) in _PAIRED_JPEG else "HEIC"

# Why a file that looks like a photo's neighbour was skipped (the scan counts these).
SKIP_VIDEO = "video"
SKIP_LIVE_PHOTO = "live_photo_video"  # IMG_0001.MOV beside IMG_0001.HEIC: a Live Photo
_SKIP_LABELS = {
    SKIP_VIDEO: ("video", "videos"),
    SKIP_LIVE_PHOTO: ("Live Photo video", "Live Photo videos"),
}

# Folders that hold generated copies or OS litter, skipped even with ``include_hidden``.
JUNK_DIRS = frozenset(
    {
        "@eaDir", "#recycle", "#snapshot", ".thumbnails", ".AppleDouble", "__MACOSX",
        "$RECYCLE.BIN", "System Volume Information", ".Trashes", ".photolm",
    }
)

SNIFF_BYTES = 16

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})


@dataclass(frozen=True)
class Found:
    """A photo candidate. ``kind`` is the detected format, or ``"unknown"`` when only the
    extension says photo (the scan will report why it cannot be decoded). ``companions``:
    the camera RAW files beside it with the same stem, the same shot (never decoded)."""

    path: Path
    size: int
    mtime_ns: int
    kind: str
    companions: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A file deliberately left out (a video, a Live Photo's video); ``reason`` is one of
    the ``SKIP_*`` names, so the scan can say how many and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Problem:
    """Something the walk could not look at; the user should hear about it."""

    path: Path
    message: str


def sniff_format(head: bytes) -> str | None:
    """The image format that a file's first bytes announce, or ``None``.

    Magic numbers only, no decoding: this runs on every file in the tree. BMP's two-byte
    ``BM`` is also how plenty of text starts, so its reserved fields and DIB header size are
    checked too.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if (
        head[:2] == b"BM"
        and len(head) >= 16
        and head[6:10] == b"\x00\x00\x00\x00"
        and int.from_bytes(head[14:16], "little") in _BMP_HEADER_SIZES
    ):
        return "bmp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return "heic"
        if brand in _AVIF_BRANDS:
            return "avif"
        if brand in _HEIF_BRANDS:
            return "heif"
    return None


def sniff_file(path: Path | str) -> str | None:
    """:func:`sniff_format` on a file's first bytes. Raises ``OSError`` like ``open``."""
    with open(path, "rb") as handle:
        return sniff_format(handle.read(SNIFF_BYTES))


def describe_skipped(counts: dict[str, int]) -> str:
    """``{"video": 2, "live_photo_video": 1}`` as "1 Live Photo video, 2 videos"."""
    parts = []
    for reason, count in sorted(counts.items()):
        one, many = _SKIP_LABELS.get(reason, (reason, reason))
        parts.append(counted(count, one, plural=many))
    return ", ".join(parts) or "none"


def display_path(path: Path | str) -> str:
    """A printable, UTF-8-safe form of a path: undecodable name bytes appear as ``\\xNN``.

    ``str(path)`` may hold lone surrogates (see the module docstring), which ``print`` to a
    UTF-8 terminal and SQLite's text columns both refuse.
    """
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _is_junk_file(name: str) -> bool:
    # AppleDouble resource forks (._IMG_0001.JPG) look like photos by extension but hold
    # only macOS metadata; .photolm* are photolm's own temporary files.
    return name.startswith(("._", ".photolm"))


def _classify(path: str, name: str, *, explicit: bool,
              stems: frozenset[str] = frozenset()) -> tuple[str | None, Problem | Skipped | None]:
    """Decide whether a file is a photo: ``(kind, None)``, ``(None, None)``, a problem or a
    deliberate skip. ``stems``: the folder's JPEG/HEIC stems (casefolded), which tell a Live
    Photo's video from a video."""
    ext = _extension(name)
    if not explicit:
        if ext in SIDECAR_EXTENSIONS:
            return None, None
        stem = os.path.splitext(name)[0].casefold()
        if ext in VIDEO_EXTENSIONS:
            return None, Skipped(Path(path), SKIP_LIVE_PHOTO if stem in stems else SKIP_VIDEO)
    elif ext in VIDEO_EXTENSIONS:
        return None, Problem(Path(path), "a video, not a photo: photolm skips videos")
    if ext in RAW_EXTENSIONS:
        return "raw", None
    try:
        kind = sniff_file(path)
    except PermissionError:
        # A photo by its name that we may not read is still a photo: the scan records it
        # with its error (a catalogue row, one warning line) rather than losing track of it.
        if ext in PHOTO_EXTENSIONS or explicit:
            return "unknown", None
        return None, None
    except FileNotFoundError:  # vanished since it was listed: not a photo we know of
        return None, None
    except OSError as exc:
        if ext in PHOTO_EXTENSIONS or explicit:
            return None, Problem(Path(path), f"cannot read file: {exc.strerror or exc}")
        return None, None
    if kind is not None:
        return kind, None
    if ext in PHOTO_EXTENSIONS:
        return "unknown", None
    if explicit:
        return None, Problem(Path(path), "not a photo (unrecognised content)")
    return None, None


@dataclass(frozen=True)
class _Pairs:
    """A folder's RAW + JPEG pairs: each JPEG's (or HEIC's) RAW paths, each RAW's photo."""

    raws: dict[str, tuple[str, ...]]  # the photo's name -> paths of its RAWs
    photo_of: dict[str, str]  # a RAW's name -> the name of the photo it belongs to


_NO_PAIRS = _Pairs({}, {})


def _pairs(entries: Iterable[os.DirEntry[str]]) -> _Pairs:
    """Pair a folder's RAWs with the JPEG (else HEIC) of the same stem, whatever the case.

    Only regular files pair (a symlink is walked after everything else, away from its
    neighbours). A folder without RAW files, most of them, costs one pass over its names.
    """
    raws: dict[str, list[tuple[str, str]]] = {}
    photos: list[os.DirEntry[str]] = []
    for entry in entries:
        stem, ext = os.path.splitext(entry.name)
        ext = ext.lower()
        if ext in RAW_EXTENSIONS and _regular(entry):
            raws.setdefault(stem.casefold(), []).append((entry.name, entry.path))
        elif ext in _PAIRED_WITH:
            photos.append(entry)
    if not raws:
        return _NO_PAIRS
    owners: dict[str, str] = {}  # stem -> the photo the stem's RAWs go with
    for entry in sorted(photos, key=lambda e: (_extension(e.name) not in _PAIRED_JPEG, e.name)):
        stem = os.path.splitext(entry.name)[0].casefold()
        if stem in raws and stem not in owners and _regular(entry):
            owners[stem] = entry.name
    paired = {owners[stem]: tuple(path for _, path in sorted(found))
              for stem, found in raws.items() if stem in owners}
    photo_of = {name: owners[stem] for stem, found in raws.items() if stem in owners
                for name, _ in found}
    return _Pairs(paired, photo_of)


def _regular(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:  # vanished, or cannot be looked at: not paired
        return False


def _folder_pairs(folder: str) -> _Pairs:
    """The pairs of one folder, for a photo named on its own (``scan IMG_0001.JPG``)."""
    try:
        with os.scandir(folder) as listing:
            return _pairs(listing)
    except OSError:  # the photo itself is still scanned; it just has no companions
        return _NO_PAIRS


def walk_photos(
    roots: Iterable[Path | str],
    *,
    include_hidden: bool = False,
    follow_symlinks: bool = True,
    on_hidden: Callable[[Path, bool], None] | None = None,
) -> Iterator[Found | Problem | Skipped]:
    """Yield every photo under ``roots`` (folders or single files), and the problems met.

    Order is deterministic: roots in the order given; within a folder its files sorted by
    name, then its sub-folders sorted by name (depth first). Each real folder and each real
    file is visited once, whatever symlinks, hard links or overlapping roots lead to it, which
    is also what ends symlink loops. Symlinks met inside the tree are followed only after
    everything else, so a photo reachable both directly and through a link is reported under
    its real path. With ``follow_symlinks=False`` such links are ignored altogether.

    Hidden names (leading ``.``) are skipped unless ``include_hidden``; well-known junk
    (:data:`JUNK_DIRS`, ``._*`` and ``.photolm*`` files) always is. A root the user named
    explicitly is walked even when it is hidden or a symlink. ``on_hidden(path, folder)``
    hears of each hidden file with a photo's extension skipped (``..jpg``; ``folder``
    False) and of each hidden folder not looked into (``.private``; True, never junk that
    ``include_hidden`` would skip too), so a summary can say so.

    Videos (Live Photos' included) are yielded as :class:`Skipped`; a camera RAW on its own
    is a photo (``kind == "raw"``). A RAW beside a JPEG (or HEIC) of the same stem is not
    yielded: it is in that photo's :attr:`Found.companions`, unless that photo cannot be one
    (unreadable, not an image), when the RAW is a photo of its own. A RAW named as a
    root that has such a JPEG beside it stands for the pair: the JPEG is yielded.
    """
    walk = _Walk(include_hidden=include_hidden, follow=follow_symlinks, on_hidden=on_hidden)
    for root in roots:
        yield from walk.root(os.path.abspath(os.path.expanduser(os.fspath(root))))
    yield from walk.deferred_links()


class _Walk:
    """The state of one walk: what was seen, and the symlinks left for the end."""

    def __init__(self, *, include_hidden: bool, follow: bool,
                 on_hidden: Callable[[Path, bool], None] | None = None) -> None:
        self.include_hidden = include_hidden
        self.on_hidden = on_hidden
        self.follow = follow
        self.seen_dirs: set[tuple[int, int]] = set()
        self.seen_files: set[tuple[int, int]] = set()
        self.links: deque[tuple[str, str, os.stat_result]] = deque()
        self.stems: frozenset[str] = frozenset()  # the current folder's JPEG/HEIC stems
        self.pairs = _NO_PAIRS  # the current folder's RAW + JPEG pairs

    def root(self, path: str) -> Iterator[Found | Problem | Skipped]:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            yield Problem(Path(path), "not found: no such file or folder")
            return
        except PermissionError:
            yield Problem(Path(path), "permission denied: cannot look at this path")
            return
        except OSError as exc:
            yield Problem(Path(path), f"cannot look at this path: {exc.strerror or exc}")
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self.folder(path, st)
        elif stat.S_ISREG(st.st_mode):
            name = os.path.basename(path)
            self.pairs = _folder_pairs(os.path.dirname(path))
            owner = self.pairs.photo_of.get(name)
            if owner is not None:  # a RAW named on its own stands for its pair
                photo = os.path.join(os.path.dirname(path), owner)
                with contextlib.suppress(OSError):  # else: the RAW, as a photo of its own
                    path, name, st = photo, owner, os.stat(photo)
            yield from self.file(path, name, st, explicit=True)
            self.pairs = _NO_PAIRS
        else:
            yield Problem(Path(path), "not a regular file or folder")

    def deferred_links(self) -> Iterator[Found | Problem | Skipped]:
        self.stems = frozenset()  # a linked file is not paired with its new neighbours
        self.pairs = _NO_PAIRS
        while self.links:  # following a linked folder may defer further links
            path, name, st = self.links.popleft()
            if stat.S_ISDIR(st.st_mode):
                yield from self.folder(path, st)
            else:
                yield from self.file(path, name, st, explicit=False)

    def folder(self, top: str, top_stat: os.stat_result) -> Iterator[Found | Problem | Skipped]:
        # An explicit stack rather than recursion, so deep trees cannot hit the recursion
        # limit; pushing sub-folders in reverse keeps the pre-order sorted.
        stack: list[tuple[str, os.stat_result]] = [(top, top_stat)]
        while stack:
            folder, st = stack.pop()
            key = (st.st_dev, st.st_ino)
            if key in self.seen_dirs:
                continue
            self.seen_dirs.add(key)
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except FileNotFoundError:  # removed while we walked
                continue
            except PermissionError:
                yield Problem(Path(folder), "permission denied: cannot list folder")
                continue
            except OSError as exc:
                yield Problem(Path(folder), f"cannot list folder: {exc.strerror or exc}")
                continue
            subfolders: list[tuple[str, os.stat_result]] = []
            self.stems = frozenset(
                os.path.splitext(e.name)[0].casefold() for e in entries
                if _extension(e.name) in _PAIRED_WITH)
            self.pairs = _pairs(entries)
            for entry in entries:
                for item in self.entry(entry):
                    if isinstance(item, tuple):
                        subfolders.append(item)
                    else:
                        yield item
            stack.extend(reversed(subfolders))

    def entry(
        self, entry: os.DirEntry[str]
    ) -> Iterator[Found | Problem | Skipped | tuple[str, os.stat_result]]:
        """One listed name: a photo, a problem, or a sub-folder ``(path, stat)`` to walk."""
        name = entry.name
        if _is_junk_file(name) or name in self.pairs.photo_of:  # a RAW: its JPEG's companion
            return
        if _is_hidden(name) and not self.include_hidden:
            if self.on_hidden is None:
                return
            # not _extension: os.path.splitext("..jpg") has no extension
            if "." + name.rsplit(".", 1)[-1].lower() in PHOTO_EXTENSIONS | RAW_EXTENSIONS:
                self.on_hidden(Path(entry.path), False)
            elif name not in JUNK_DIRS and _listed_as_folder(entry, follow=self.follow):
                self.on_hidden(Path(entry.path), True)
            return
        try:
            is_link = entry.is_symlink()
        except OSError:  # vanished between listing and looking
            return
        if is_link and not self.follow:
            return
        try:
            st = entry.stat(follow_symlinks=True)
        except FileNotFoundError:
            if is_link and _extension(name) in PHOTO_EXTENSIONS | RAW_EXTENSIONS:
                yield Problem(Path(entry.path), "broken symbolic link")
            return  # otherwise it vanished before we looked: not a photo we know of
        except OSError as exc:
            if _extension(name) in PHOTO_EXTENSIONS | RAW_EXTENSIONS:
                yield Problem(Path(entry.path), stat_message(exc))
            elif name not in JUNK_DIRS and _listed_as_folder(entry):
                # Never a silent skip: a folder whose whole path is longer than the system
                # takes (PATH_MAX, a deep NAS tree), or one under a folder that may be
                # listed but not entered, may hold photos.
                yield Problem(Path(entry.path), folder_message(exc))
            return
        if stat.S_ISDIR(st.st_mode):
            if name in JUNK_DIRS:
                return
            if is_link:
                self.links.append((entry.path, name, st))
            else:
                yield entry.path, st
        elif stat.S_ISREG(st.st_mode):  # never open sockets, fifos or devices
            if is_link:
                self.links.append((entry.path, name, st))
            else:
                yield from self.file(entry.path, name, st, explicit=False)

    def file(
        self, path: str, name: str, st: os.stat_result, *, explicit: bool
    ) -> Iterator[Found | Problem | Skipped]:
        key = (st.st_dev, st.st_ino)
        if key in self.seen_files:  # its RAWs came with it the first time
            return
        raws = self.pairs.raws.get(name, ())
        kind, problem = _classify(path, name, explicit=explicit, stems=self.stems)
        if isinstance(problem, Skipped):  # counted once, however many links lead to it
            self.seen_files.add(key)
        if problem is not None:
            yield problem
        if kind is None:
            yield from self.alone(raws)
        else:
            self.seen_files.add(key)
            yield Found(Path(path), st.st_size, st.st_mtime_ns, kind,
                        tuple(map(Path, raws)) if raws else ())

    def alone(self, raws: Iterable[str]) -> Iterator[Found | Problem | Skipped]:
        """RAWs whose JPEG cannot be a photo (unreadable, not an image): photos of their own."""
        for path in raws:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                yield Problem(Path(path), stat_message(exc))
                continue
            pairs, self.pairs = self.pairs, _NO_PAIRS
            try:
                yield from self.file(path, os.path.basename(path), st, explicit=False)
            finally:
                self.pairs = pairs


def _extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _listed_as_folder(entry: os.DirEntry[str], *, follow: bool = False) -> bool:
    """Whether the listing itself says ``entry`` is a folder (no further system call where
    the file system reports entry types; ``follow``: a symbolic link to a folder is one)."""
    try:
        return entry.is_dir(follow_symlinks=follow)
    except OSError:
        return False


def folder_message(exc: OSError) -> str:
    """The one line for a listed folder the walk cannot go into."""
    if isinstance(exc, PermissionError):
        return "permission denied: cannot enter folder"
    return f"cannot enter folder: {exc.strerror or exc}"


def stat_message(exc: OSError) -> str:
    """The one line for a file whose information cannot be read (walk and scan alike)."""
    if isinstance(exc, PermissionError):
        return "permission denied: cannot read file information"
    return f"cannot read file information: {exc.strerror or exc}"
