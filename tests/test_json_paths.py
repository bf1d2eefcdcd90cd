# SPDX-License-Identifier: GPL-3.0-or-later
"""Every path in every command's ``--json`` is printed by the one rule (photolm.printed_paths).

``scan --json`` printed its ``errors``, ``walk_problems`` and ``recognised_from_raw`` paths
in another form than ``list --json`` (bytes that are not UTF-8 as ``\\xNN``, but a
backslash not doubled and a newline or a right-to-left override left raw), so a script
joining the two could not match a photo. Here each command runs on a library whose folder
name holds a backslash, a newline, a byte that is not UTF-8 and U+202E, and every string in
its JSON that is a path under the test's folder must be exactly the printed form of a file or
folder there (the string ``list --json`` gives for a photo): a command that prints a path
another way is caught, whichever key it uses.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from photolm.printed_paths import printed
from tests.clirun import cli as run
from tests.test_formats import SAMPLES, dng_with_preview
from tests.tinybundle import COLOURS, write_photo

# a backslash, a newline, a byte that is not UTF-8 (as os.fsdecode gives it) and U+202E
AWKWARD = "a\\b\nc\udcff\u202ed"
PINK = (250, 150, 200)  # no shipped landmark's colour: the photos make a candidate place
HAS_DNG = shutil.which("exiftool") is not None and (SAMPLES / "DNG.dng").exists()


@dataclass
class Library:
    """The scanned library, the scan's ``--json``, and the printed form of every file and
    folder any command has seen under the test's folder (before and after it ran)."""

    top: Path  # the test's folder: every path printed under it is checked
    lib: Path
    scan: dict[str, Any] = field(default_factory=dict)
    printed_forms: set[str] = field(default_factory=set)

    def look(self) -> None:
        for folder, dirs, files in os.walk(os.fsencode(self.top)):
            for name in (b"", *dirs, *files):
                self.printed_forms.add(printed(os.path.join(folder, name).rstrip(b"/")))

    def json(self, *args: object, codes: tuple[int, ...] = (0,)) -> Any:
        """``photolm ARGS --json``: its output, the files it made or removed seen, and the
        paths given (one that names nothing is printed as given)."""
        self.printed_forms |= {printed(a) for a in args if isinstance(a, Path)}
        self.look()
        code, out, err = run(*args, "--json")
        assert code in codes and out, (args, code, err)
        self.look()
        return json.loads(out)


@pytest.fixture
def library(tmp_path: Path, env: Path, tiny_bundle_dir: Path,
            monkeypatch: pytest.MonkeyPatch) -> Library:
    top = tmp_path / AWKWARD
    lib = top / "lib"
    write_photo(lib / "eiffel.jpg", COLOURS["eiffel-tower"])
    write_photo(lib / "pair.jpg", COLOURS["colosseum"])
    (lib / "pair.CR2").write_bytes(b"a camera RAW beside its JPEG")
    write_photo(lib / "gone.jpg", COLOURS["eiffel-tower"])
    (lib / "gone.CR2").write_bytes(b"a camera RAW beside its JPEG")
    write_photo(lib / "back.jpg", COLOURS["eiffel-tower"])
    for i in range(3):
        write_photo(lib / f"pink{i}.jpg", (PINK[0], PINK[1] + i, PINK[2]))
    (lib / "pink0.CR2").write_bytes(b"a camera RAW beside its JPEG")
    (lib / "broken.jpg").write_bytes(b"\xff\xd8\xff not a whole JPEG")
    # SQLite, onnxruntime and LibRaw take a file name only in UTF-8: the catalogue's, the
    # model's and a RAW's folder has all but the byte
    utf8 = tmp_path / AWKWARD.replace("\udcff", "")
    if HAS_DNG:  # a pair whose JPEG cannot be read: recognised from the RAW's preview
        preview = write_photo(tmp_path / "preview.jpg", COLOURS["colosseum"], size=(120, 80))
        dng_with_preview(utf8 / "raw" / "IMG_0001.dng", preview)
        jpeg = write_photo(utf8 / "raw" / "IMG_0001.JPG", COLOURS["eiffel-tower"])
        data = jpeg.read_bytes()
        jpeg.write_bytes(data[: len(data) // 2])  # truncated: still sniffed as a JPEG
    shutil.copytree(tiny_bundle_dir, utf8 / "model")
    monkeypatch.setenv("PHOTOLM_MODEL", str(utf8 / "model"))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(utf8 / "catalog.sqlite"))
    library = Library(tmp_path, lib)
    library.scan = library.json("scan", lib, utf8, top / "nowhere.jpg", codes=(1,))
    return library


def _scan(library: Library) -> list[Any]:
    return [library.scan]


def _list(library: Library) -> list[Any]:
    library.json("tag", library.lib)  # each photo's tag_files: its sidecars
    return [library.json("list")]


def _search(library: Library) -> list[Any]:
    return [library.json("search", "Colosseum")]


def _tag(library: Library) -> list[Any]:
    tagged = library.json("tag", library.lib, library.lib / "nowhere.jpg", codes=(1,))
    # "raw" says whether the photo is a RAW; it held the path of a JPEG's last RAW companion
    assert {p["raw"] for p in tagged["photos"]} == {False}, tagged
    return [tagged]


def _untag(library: Library) -> list[Any]:
    library.json("tag", library.lib)
    return [library.json("untag", library.lib)]


def _confirm(library: Library) -> list[Any]:
    return [library.json("confirm", library.lib / "eiffel.jpg")]


def _prune(library: Library) -> list[Any]:
    lib = library.lib
    library.json("tag", lib)  # the sidecars left behind: tag_files
    for name in ("gone.jpg", "gone.CR2"):
        (lib / name).unlink()
    (lib / "back.jpg").rename(lib.parent / "away.jpg")
    library.json("scan", lib, codes=(0, 1))
    (lib.parent / "away.jpg").rename(lib / "back.jpg")
    return [library.json("prune", "--dry-run")]


def _places(library: Library) -> list[Any]:
    return [library.json("places")]


def _learn(library: Library) -> list[Any]:
    lib = library.lib
    return [library.json("learn", "Pink Market", lib / "pink1.jpg", lib / "pink2.jpg",
                         lib / "broken.jpg")]


def _info(library: Library) -> list[Any]:
    return [library.json("info")]


def _export_dataset(library: Library) -> list[Any]:
    library.json("confirm", library.lib / "eiffel.jpg")
    return [library.json("export-dataset", library.lib.parent / "dataset", "--include-shipped")]


# each command, and the keys whose paths it must print (so none passes by printing none)
COMMANDS: dict[str, tuple[Callable[[Library], list[Any]], set[str]]] = {
    "scan": (_scan, {"errors", "walk_problems"} | ({"recognised_from_raw"} if HAS_DNG else set())),
    "list": (_list, {"path", "companions", "tag_files"}
             | ({"recognised_from"} if HAS_DNG else set())),
    "search": (_search, {"path", "companions"} | ({"recognised_from"} if HAS_DNG else set())),
    "tag": (_tag, {"path", "files", "companions", "unmatched_paths"}),
    "untag": (_untag, {"path", "files"}),
    "confirm": (_confirm, {"path"}),
    "prune": (_prune, {"path", "companions", "back_on_disk", "tag_files"}),
    "places": (_places, {"photos", "examples", "companions"}),
    "learn": (_learn, {"skipped"}),
    "info": (_info, {"catalog", "model", "roots"}),  # the last scan's folders
    "export-dataset": (_export_dataset, {"dir"}),
}


# words for a person (tag's "PATH: no photolm tags to remove"), not paths a script joins on
MESSAGES = {"message", "error", "plan", "notes", "fallback"}


def _paths(data: Any, top: str, keys: tuple[str, ...] = ()
           ) -> Iterator[tuple[tuple[str, ...], str]]:
    """``(keys, text)`` for every string in ``data`` that names something under ``top``, with
    the keys of the objects it is in (a dict's keys are looked at as well as its values)."""
    if isinstance(data, dict):
        for k, value in data.items():
            yield from _paths(k, top, keys)
            if k not in MESSAGES:
                yield from _paths(value, top, keys if k.startswith(top) else (*keys, k))
    elif isinstance(data, list):
        for item in data:
            yield from _paths(item, top, keys)
    elif isinstance(data, str) and data.startswith(top):
        yield keys, data


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_json_path_is_printed_as_list_prints_it(library: Library, command: str) -> None:
    make, keys = COMMANDS[command]
    outputs = make(library)
    listed = {p["path"] for p in library.json("list")}
    assert listed and listed <= library.printed_forms  # list --json: the printed form
    found = [hit for output in outputs for hit in _paths(output, str(library.top))]
    wrong = [(where, text) for where, text in found if text not in library.printed_forms]
    assert not wrong, wrong
    assert keys <= {key for where, _ in found for key in where}, found
