# SPDX-License-Identifier: GPL-3.0-or-later
"""Printed paths are one line and unambiguous, and read back to the photo they name.

Through the CLI: a folder holding ``a\\nb.jpg`` (a backslash and an ``n``) and
``a<newline>b.jpg`` lists in a pipe as two lines that differ, one per photo (README), and
each printed path, given back to ``tag`` or ``confirm``, acts on its own photo and not the
other; a name with a backslash given as it is still names its photo.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from photolm.printed_paths import printed, read_printed, read_replaced
from tests.clirun import cli as run
from tests.tinybundle import COLOURS, write_photo

EIFFEL, COLOSSEUM = COLOURS["eiffel-tower"], COLOURS["colosseum"]
# one file name as the file system stores it: any bytes but "/" and NUL
_names = st.binary(min_size=1, max_size=30).map(
    lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_"))


# Unicode's Bidi_Control characters: what a terminal reorders a name around
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# names that are text, bidirectional controls among other characters (random bytes all but
# never spell one in UTF-8)
_bidi_names = st.lists(st.sampled_from(BIDI) | st.characters(exclude_characters="/\0"),
                       min_size=1, max_size=20).map(lambda c: "".join(c).encode())


@given(_names | _bidi_names)
def test_a_printed_name_is_one_line_and_reads_back_to_its_bytes(name: bytes) -> None:
    shown = printed(name)
    assert len(f"x{shown}x".splitlines()) == 1  # str.splitlines: every kind of line end
    shown.encode("utf-8")  # printable: no lone surrogates
    assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") for c in shown)
    assert not set(BIDI) & set(shown)  # nothing left to show the name as another
    assert codecs.escape_decode(shown.encode("utf-8"))[0] == name  # a standard decoder
    assert read_printed(shown) == (None if shown == os.fsdecode(name) else os.fsdecode(name))


@pytest.mark.parametrize(("name", "shown"), [
    (b"a\\nb.jpg", "a\\\\nb.jpg"), (b"a\nb.jpg", "a\\nb.jpg"),
    (b"a\\xff.jpg", "a\\\\xff.jpg"), (b"a\xff.jpg", "a\\xff.jpg"),
    (b"a\xc2\x85.jpg", "a\\xc2\\x85.jpg"),  # U+0085, a C1 control: its bytes
    # U+202E (right-to-left override): printed raw, "invoiceexe.jpg" shows on screen
    ("invoice\u202egpj.exe".encode(), "invoice\\xe2\\x80\\xaegpj.exe"),
    ("\u2067x\u2069\u200f.jpg".encode(), "\\xe2\\x81\\xa7x\\xe2\\x81\\xa9\\xe2\\x80\\x8f.jpg"),
    ("café 東京.jpg".encode(), "café 東京.jpg"),
])
def test_printed_forms(name: bytes, shown: str) -> None:
    assert printed(name) == shown
    # README: printf '%b' reads a printed path back to the name
    back = subprocess.run(["bash", "-c", 'printf "%b" "$1"', "-", shown], capture_output=True,
                          check=True).stdout
    assert back == name


def test_a_lone_backslash_is_no_printed_form() -> None:
    assert read_printed("a\\q.jpg") is None and read_printed("plain.jpg") is None


@pytest.fixture
def lookalikes(tmp_path: Path, env: Path) -> tuple[Path, Path]:
    """``a\\nb.jpg`` (backslash, n) shows the Eiffel Tower, ``a<newline>b.jpg`` the
    Colosseum; both scanned."""
    backslash = write_photo(tmp_path / "lib" / "a\\nb.jpg", EIFFEL)
    newline = write_photo(tmp_path / "lib" / "a\nb.jpg", COLOSSEUM)
    code, _out, err = run("scan", tmp_path / "lib", "--json")
    assert code == 0, err
    return backslash, newline


def test_two_lookalike_names_list_as_two_distinct_lines_in_a_pipe(
        lookalikes: tuple[Path, Path]) -> None:
    backslash, newline = lookalikes
    code, out, err = run("list")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2  # one line per photo
    paths = {line.split("\t")[0]: line.split("\t")[1] for line in lines}
    assert paths == {f"{backslash.parent}/a\\\\nb.jpg": "Eiffel Tower",
                     f"{newline.parent}/a\\nb.jpg": "Colosseum"}
    code, out, _err = run("list", "--json")  # the same form in --json
    assert {r["path"] for r in json.loads(out)} == set(paths)


def test_printed_paths_given_back_act_on_their_own_photo(
        lookalikes: tuple[Path, Path]) -> None:
    backslash, newline = lookalikes
    code, _out, err = run("tag", printed(newline))
    assert code == 0, err
    assert newline.with_name(newline.name + ".xmp").exists()
    assert not backslash.with_name(backslash.name + ".xmp").exists()
    code, out, err = run("confirm", printed(backslash), "--json")
    assert code == 0, err
    assert [(r["path"], r["landmark"]) for r in json.loads(out)] == [
        (printed(backslash), "Eiffel Tower")]



def test_a_name_with_a_backslash_given_as_it_is_names_its_photo(tmp_path: Path,
                                                               env: Path) -> None:
    photo = write_photo(tmp_path / "lib" / "C:\\new\\x41.jpg", EIFFEL)  # no twin beside it
    code, _out, err = run("scan", photo.parent, "--json")
    assert code == 0, err
    code, _out, err = run("tag", photo)
    assert code == 0, err
    assert photo.with_name(photo.name + ".xmp").exists()


def test_paths_given_with_a_tilde_name_photos_under_home(tmp_path: Path, env: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``~`` is expanded by the one rule for path arguments, as a shell does not when the
    path is quoted (``photolm confirm '~/lib/a.jpg'``)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    photo = write_photo(tmp_path / "lib" / "a.jpg", EIFFEL)
    assert run("scan", "~/lib", "--json")[0] == 0
    code, out, err = run("confirm", "~/lib/a.jpg", "--json")
    assert code == 0, err
    assert [r["path"] for r in json.loads(out)] == [str(photo)]


def test_a_warning_naming_an_odd_path_twice_stays_one_line(tmp_path: Path, env: Path) -> None:
    """The tag writer's own message names the photo's sidecar (a newline in it); the
    warning prints both as ``list`` does, on one line."""
    photo = write_photo(tmp_path / "lib" / "a\nb\\c.jpg", EIFFEL)
    code, _out, err = run("scan", photo.parent, "--json")
    assert code == 0, err
    photo.parent.chmod(0o555)  # photolm checks the mode bits, so this holds as root too
    try:
        code, _out, err = run("tag")
    finally:
        photo.parent.chmod(0o755)
    assert code == 1
    assert err.splitlines()[0] == (f"warning: folder is read-only: cannot create sidecar "
                                   f"{printed(photo)}.xmp")


def test_a_name_with_a_right_to_left_override_lists_escaped_and_reads_back(
        tmp_path: Path, env: Path) -> None:
    """``invoice<U+202E>gpj.exe.jpg`` would display as another name; every listing prints
    the override escaped, and the printed path given back names the photo."""
    photo = write_photo(tmp_path / "lib" / "invoice\u202egpj.exe.jpg", EIFFEL)
    code, _out, err = run("scan", photo.parent, "--json")
    assert code == 0, err
    shown = f"{photo.parent}/invoice\\xe2\\x80\\xaegpj.exe.jpg"
    code, out, err = run("list")  # a pipe
    assert code == 0 and out.split("\t")[0] == shown and "\u202e" not in out + err, out
    code, out, _err = run("list", "--json")
    assert [r["path"] for r in json.loads(out)] == [shown]
    code, out, err = run("confirm", shown, "--json")
    assert code == 0, err
    assert [r["path"] for r in json.loads(out)] == [shown]


def test_tag_json_prints_paths_as_list_json_does(lookalikes: tuple[Path, Path],
                                                 tmp_path: Path) -> None:
    """``tag --json`` printed paths in an older form (a backslash not doubled), so its
    ``a\\nb.jpg`` and ``a<newline>b.jpg`` read alike; it now prints them as ``list --json``."""
    listed = {r["path"] for r in json.loads(run("list", "--json")[1])}
    code, out, err = run("tag", "--json")
    assert code == 0, err
    photos = json.loads(out)["photos"]
    assert sorted(p["path"] for p in photos) == sorted(listed)
    assert sorted(f for p in photos for f in p["files"]) == sorted(f"{p}.xmp" for p in listed)
    gone = tmp_path / "lib" / "no\\pe.jpg"  # not catalogued
    code, out, _err = run("tag", gone, "--json")
    assert code == 1 and json.loads(out)["unmatched_paths"] == [printed(gone)]



def _plan_blocks(out: str) -> dict[str, str]:
    """A dry run's plan: the photo each block is for (its first line's path), by the
    landmark its ``+ XMP-dc:Subject`` line adds (or ``-`` removes)."""
    blocks: dict[str, str] = {}
    photo = ""
    for line in out.splitlines():
        if not line.startswith(" "):
            photo = line.split(" -> ")[0]
        elif line.strip()[2:].startswith("XMP-dc:Subject: "):
            blocks[line.split("XMP-dc:Subject: ")[1]] = photo
    return blocks


def test_the_paths_tag_prints_are_taken_back_by_untag(lookalikes: tuple[Path, Path]) -> None:
    """``tag``'s plan and messages printed ``a\\nb.jpg`` (a backslash) as ``a\\nb.jpg``
    undoubled, the printed form of ``a<newline>b.jpg`` beside it: given back to ``untag``,
    it untagged the other photo. They print it as ``list`` does."""
    backslash, newline = lookalikes
    code, out, err = run("tag", "--dry-run")
    assert code == 0, err
    plan = _plan_blocks(out)
    assert plan == {"Eiffel Tower": printed(backslash), "Colosseum": printed(newline)}, out
    code, out, err = run("tag", "--json")
    assert code == 0, err
    said = {p["path"]: p["message"] for p in json.loads(out)["photos"]}
    assert said[printed(backslash)] == (f"tagged {printed(backslash)} with Eiffel Tower "
                                        f"({printed(backslash)}.xmp)")
    code, out, err = run("untag", plan["Eiffel Tower"], "--dry-run")
    assert code == 0 and _plan_blocks(out) == {"Eiffel Tower": plan["Eiffel Tower"]}, out
    code, _out, err = run("untag", plan["Eiffel Tower"])
    assert code == 0 and err.strip() == "untag: 1 removed", err
    assert not backslash.with_name(backslash.name + ".xmp").exists()
    assert newline.with_name(newline.name + ".xmp").exists()  # the other photo keeps its tags



def test_a_warning_naming_a_name_that_ends_in_a_backslash_prints_it_once(
        tmp_path: Path, env: Path) -> None:
    """A photo named ``IMG\\`` (found by its content): the tag writer's message prints it
    ``IMG\\\\``, in which its older spelling ``IMG\\`` is found too; the warning must not
    double that backslash again."""
    photo = write_photo(tmp_path / "lib" / "x.jpg", EIFFEL).rename(tmp_path / "lib" / "IMG\\")
    code, _out, err = run("scan", photo.parent, "--json")
    assert code == 0, err
    photo.chmod(0o444)  # photolm checks the mode bits, so this holds as root too
    code, _out, err = run("tag", "--embed")
    assert code == 1
    assert err.splitlines()[0] == (f"warning: read-only file: {printed(photo)} (make it "
                                   "writable to tag it)")


# One file name of each kind a printed path escapes: a backslash (doubled), a byte that is
# not UTF-8 (``\xff``), a right-to-left override (its UTF-8 bytes).
ODD_NAMES = [b"back\\slash.jpg", b"bad\xff.jpg", "bidi\u202egpj.exe.jpg".encode()]
BRIDGE = (20, 140, 150)  # a colour none of the tiny bundle's landmarks has


@pytest.fixture
def odd(tmp_path: Path, env: Path) -> list[str]:
    """Three scanned photos with odd names, and a photo in a folder with one: the paths
    ``photolm list`` printed for them (what a person copies)."""
    lib = tmp_path / "lib"
    for name in ODD_NAMES:
        write_photo(lib / os.fsdecode(name), BRIDGE)
    write_photo(lib / os.fsdecode(b"dir\xff") / "in-odd-folder.jpg", BRIDGE)
    code, _out, err = run("scan", lib, "--json")
    assert code == 0, err
    code, out, err = run("list", "--json")
    shown = sorted(r["path"] for r in json.loads(out))
    assert code == 0 and len(shown) == 4 and all("\\" in p for p in shown), shown
    return shown


def test_learn_takes_the_paths_list_printed(odd: list[str]) -> None:
    code, out, err = run("learn", "Old Town Bridge", *odd, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["examples"] == 4 and result["skipped"] == [], result


def test_scan_takes_the_paths_list_printed(odd: list[str]) -> None:
    """A printed file path and a printed folder path: the photos are found again (by the
    same rows: unchanged), no "not found" problem."""
    folder = next(p.rsplit("/", 1)[0] for p in odd if p.endswith("in-odd-folder.jpg"))
    files = [p for p in odd if not p.endswith("in-odd-folder.jpg")]
    code, out, err = run("scan", *files, folder, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["found"] == 4 and summary["skipped_unchanged"] == 4, summary
    assert summary["walk_problems"] == [] and summary["errors"] == []
    assert len(json.loads(run("list", "--json")[1])) == 4  # the same rows


def test_prune_takes_the_paths_list_printed(odd: list[str], tmp_path: Path) -> None:
    """Photos whose files are gone are forgotten when named as ``list`` printed them: three
    photos by their paths, one by its folder's."""
    for photo in (tmp_path / "lib").rglob("*.jpg"):
        photo.unlink()
    code, _out, err = run("scan", tmp_path / "lib", "--json")
    assert code == 0, err
    folder = next(p.rsplit("/", 1)[0] for p in odd if p.endswith("in-odd-folder.jpg"))
    files = [p for p in odd if not p.endswith("in-odd-folder.jpg")]
    code, out, err = run("prune", *files, folder, "--json")
    assert code == 0, err
    assert sorted(p["path"] for p in json.loads(out)["photos"]) == odd
    assert json.loads(run("list", "--json")[1]) == []


@pytest.mark.parametrize("name", ["a\\nb.jpg", "bad\\xff.jpg", "back\\\\slash.jpg"])
def test_a_printed_path_that_names_nothing_is_shown_as_it_was_typed(
        tmp_path: Path, env: Path, name: str) -> None:
    """A printed path (``\\n``, ``\\xNN``, ``\\\\``) that names nothing: the message says so
    with the path as typed, printed once, not with its backslashes doubled again."""
    typed = f"{tmp_path}/{name}"
    code, _out, err = run("scan", typed, "--json")
    assert code == 1
    assert err.splitlines() == [f"warning: {typed}: not found: no such file or folder"]
    code, out, err = run("tag", typed, "--json")
    assert code == 1 and json.loads(out)["unmatched_paths"] == [typed]
    assert err.splitlines() == [f"warning: {typed}: no such file or folder"]
    code, _out, err = run("learn", "Old Town Bridge", typed)
    assert code == 1
    assert err.splitlines() == [f"Error: No photos found in {typed} (not found: no such file or "
                                "folder); give photo files or folders of photos."]


@given(_names)
def test_a_backslashreplace_form_reads_back_to_its_name(name: bytes) -> None:
    """Catalogues before schema 8 kept a scan's folders and a RAW's name in
    ``backslashreplace`` form; ``read_replaced`` gives the name back (schema 8's step rewrites
    them so), unless the name spells such an escape itself."""
    text = name.decode("utf-8", "backslashreplace")
    assume(not re.search(rb"\\x[89a-f][0-9a-f]", name))
    assert read_replaced(text) == os.fsdecode(name)


# a backslash, a newline and U+202E: a catalogue's or a model's folder SQLite and onnxruntime
# still open (their names must be UTF-8)
ODD_FOLDER = "a\\b\nc\u202ed"


@pytest.mark.parametrize(("args", "what", "expected"), [
    (("list", "--catalog", "{odd}/catalog.sqlite"), "{odd}/catalog.sqlite",
     "No catalogue at {path} yet: run `photolm scan FOLDER` first."),
    (("scan", "{top}", "--model", "{odd}/model"), "{odd}/model",
     "No model bundle at {path} (missing manifest.json). Pass --model with a bundle folder "
     "made by photolm-export, or unset PHOTOLM_MODEL."),
], ids=["catalogue", "model"])
def test_an_error_naming_an_odd_path_is_one_line(tmp_path: Path, env: Path, args: tuple[str, ...],
                                                 what: str, expected: str) -> None:
    """A newline in the catalogue's or the model's path split the ``Error:`` line in two and
    U+202E reached the terminal raw; the path is printed as ``list`` prints one."""
    (tmp_path / ODD_FOLDER).mkdir()
    values = {"odd": f"{tmp_path}/{ODD_FOLDER}", "top": str(tmp_path)}
    code, _out, err = run(*(a.format(**values) for a in args))
    assert code == 1
    assert err.splitlines() == ["Error: " + expected.format(path=printed(what.format(**values)))]


def test_an_error_message_keeps_its_control_characters_off_the_terminal(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: Path) -> None:
    """A library's message (here onnxruntime's, which names the file it could not load)
    with a newline or an escape sequence in it is one line, those characters escaped."""
    import photolm.bundle
    from photolm.errors import BundleError

    def refuse(_option: object) -> None:
        raise BundleError("cannot load model.onnx:\n\x1b[2Jgarbled\u202e")

    monkeypatch.setattr(photolm.bundle, "load_bundle", refuse)
    code, _out, err = run("scan", tmp_path)
    assert code == 1
    assert err.splitlines() == ["Error: cannot load model.onnx:\\n\\x1b[2Jgarbled\\xe2\\x80\\xae"]
