# SPDX-License-Identifier: GPL-3.0-or-later
"""Photos and catalogues on hostile storage: a full disk, a read-only mount, a folder photolm
may not enter, a share that fails a read, names a NAS or USB stick produces, identical copies
of a photo, a tree deeper than PATH_MAX.

The tests run the real CLI in-process (one decode check calls the decoder itself) and check
what a person would: the originals are byte-identical (or tagged and given back byte for
byte by ``untag``), no temporary file is left beside them, the catalogue is consistent, each
problem is one line saying what to do, and the run goes on. Faults are injected at the call
the operating system or SQLite would fail, so the tests need no root, no mount and no full
disk (each says how); one repeats a case on a real read-only mount where root allows.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from photolm.catalog import store
from photolm.metadata import TEMP_PREFIX
from tests.clirun import cli as run
from tests.tags.photos import exiftool_json
from tests.tinybundle import COLOURS, write_photo

EIFFEL, COLOSSEUM = COLOURS["eiffel-tower"], COLOURS["colosseum"]
NO_SPACE = "no space left on the disk holding"
FREE_SPACE = "free some space and run again"


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


def _scanned(root: Path) -> None:
    code, _out, err = run("scan", root)
    assert code == 0, err


def _rows() -> dict[str, dict[str, object]]:
    code, out, err = run("list", "--json")
    assert code == 0, err
    return {os.path.basename(r["path"]): r for r in json.loads(out)}


def _problem_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(("warning:", "Error:"))]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    write_photo(root / "eiffel.jpg", EIFFEL)
    write_photo(root / "colosseum.jpg", COLOSSEUM)
    return root


# --------------------------------------------------------------- a full disk under photos


@pytest.fixture
def photo_disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC from ``os.write`` on every temporary file photolm's atomic writer creates
    (the first write of a rewrite or a new sidecar), as a full disk answers."""
    real_open, real_write = os.open, os.write
    temps: set[int] = set()

    def open_(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        fd = real_open(path, flags, *args, **kwargs)
        if os.path.basename(os.fsdecode(path)).startswith(TEMP_PREFIX):
            temps.add(fd)
        return fd

    def write(fd, data):  # type: ignore[no-untyped-def]
        if fd in temps:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "write", write)


@pytest.mark.parametrize("mode", [["--embed"], []], ids=["embed", "sidecar"])
def test_tag_on_a_full_disk_leaves_every_photo_as_it_was_with_one_line_each(
        env: Path, library: Path, mode: list[str], request: pytest.FixtureRequest) -> None:
    _scanned(library)
    before = _hashes(library)
    request.getfixturevalue("photo_disk_full")
    code, _out, err = run("tag", *mode)
    assert code == 1
    lines = _problem_lines(err)
    assert len(lines) == 2, err  # one per photo; the run went on to the second
    for line, name in zip(lines, ["colosseum.jpg", "eiffel.jpg"], strict=True):
        assert line.startswith("warning:") and name in line
        assert NO_SPACE in line and FREE_SPACE in line
    assert "Traceback" not in err
    assert _hashes(library) == before and _temps(library) == []  # no sidecar, no temp file
    assert {r["tag_status"] for r in _rows().values()} == {"failed"}


def test_untag_on_a_full_disk_leaves_the_tagged_photos_as_they_were(
        env: Path, library: Path, request: pytest.FixtureRequest) -> None:
    _scanned(library)
    assert run("tag", "--embed")[0] == 0
    tagged = _hashes(library)
    request.getfixturevalue("photo_disk_full")
    code, _out, err = run("untag")
    assert code == 1
    lines = _problem_lines(err)
    assert len(lines) == 2 and all(NO_SPACE in line for line in lines), err
    assert _hashes(library) == tagged and _temps(library) == []


# ------------------------------------------------------------ a full disk under the catalogue


def _catalog_cannot_grow(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLITE_FULL, as on a full disk: every connection photolm opens for writing gets
    ``PRAGMA max_page_count`` at its current size."""
    real = store._configure

    def configure(conn: sqlite3.Connection, *, write: bool) -> None:
        real(conn, write=write)
        if write:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {int(pages):d}").fetchone()

    monkeypatch.setattr(store, "_configure", configure)


def _sqlite_error(message: str, code: int) -> sqlite3.OperationalError:
    """The error SQLite raises, with its extended result code."""
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


IOERR_SHMSIZE = 4874  # a WAL index SQLite could not size
SQLITE_FULL = 13


def _failing_connections(monkeypatch: pytest.MonkeyPatch, error: sqlite3.Error) -> None:
    """``error`` from the first statement of every connection photolm opens."""
    def configure(conn: sqlite3.Connection, *, write: bool) -> None:
        raise error

    monkeypatch.setattr(store, "_configure", configure)


def _no_free_space(monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.statvfs`` reports no space left to an ordinary user, as on a full disk."""
    real_statvfs = os.statvfs

    class Full:
        def __init__(self, real: os.statvfs_result) -> None:
            self.f_frsize, self.f_flag, self.f_bavail = real.f_frsize, real.f_flag, 0

    monkeypatch.setattr(os, "statvfs", lambda path: Full(real_statvfs(path)))


def test_a_scan_into_a_full_catalogue_disk_says_so_and_keeps_what_it_had(
        env: Path, library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scanned(library)
    more = tmp_path / "More"
    for i in range(12):
        write_photo(more / f"p{i:02d}.jpg", EIFFEL if i % 2 else COLOSSEUM)
    with monkeypatch.context() as patched:
        _catalog_cannot_grow(patched)
        code, _out, err = run("scan", more)
    assert code == 1
    lines = _problem_lines(err)
    assert len(lines) == 1 and lines[0].startswith("Error:"), err
    assert NO_SPACE in lines[0] and FREE_SPACE in lines[0] and "damaged" not in lines[0]
    conn = sqlite3.connect(env)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    assert {"eiffel.jpg", "colosseum.jpg"} <= set(_rows())  # what it had is kept
    _scanned(more)  # space freed: the next scan completes
    assert len(_rows()) == 14


def test_a_catalogue_that_cannot_be_opened_on_a_full_disk_is_not_called_damaged(
        env: Path, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite reports a WAL index it cannot grow on a full disk as a bare "disk I/O error"
    (seen on a full tmpfs): simulated by that error from the first write-mode statement and
    ``os.statvfs`` reporting no free space."""
    _scanned(library)
    _no_free_space(monkeypatch)
    _failing_connections(monkeypatch, _sqlite_error("disk I/O error", IOERR_SHMSIZE))
    code, _out, err = run("scan", library)
    assert code == 1
    lines = _problem_lines(err)
    assert len(lines) == 1 and NO_SPACE in lines[0] and "damaged" not in lines[0], err


def test_an_io_error_under_the_catalogue_is_not_called_damage(
        env: Path, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A share that drops out, or a quota, gives SQLite a bare I/O error with space to
    spare: the file is not damaged, and "move it aside" would be the wrong advice."""
    _scanned(library)
    _failing_connections(monkeypatch, _sqlite_error("disk I/O error", 778))  # SQLITE_IOERR_WRITE
    for args in (["scan", library], ["list"]):
        code, _out, err = run(*args)
        assert code == 1
        lines = _problem_lines(err)
        assert len(lines) == 1 and "failed a read or write" in lines[0], err
        assert "damaged" not in lines[0] and "move it aside" not in lines[0]


def test_a_catalogue_on_a_full_disk_can_still_be_searched_and_listed(
        env: Path, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader of a WAL catalogue needs a ``-shm`` file SQLite cannot size on a full disk
    (seen on a full tmpfs: "disk I/O error" from ``list`` and ``search``). Simulated: that
    error from every read-only connection that is not ``immutable``, and ``os.statvfs``
    reporting no free space. Changing the catalogue says what to do, in one line."""
    _scanned(library)
    real_connect = sqlite3.connect

    def connect(database, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = os.fsdecode(database)
        if "mode=ro" in name and "immutable=1" not in name:
            raise _sqlite_error("disk I/O error", IOERR_SHMSIZE)
        return real_connect(database, *args, **kwargs)

    _no_free_space(monkeypatch)
    monkeypatch.setattr(sqlite3, "connect", connect)
    for args in (["list"], ["search", "eiffel"], ["landmarks"]):
        code, _out, err = run(*args)
        assert code == 0 and "damaged" not in err, (args, err)
    assert "eiffel.jpg" in run("search", "eiffel")[1]
    _failing_connections(monkeypatch, _sqlite_error("database or disk is full", SQLITE_FULL))
    code, _out, err = run("confirm", library / "eiffel.jpg")
    assert code == 1
    lines = _problem_lines(err)
    assert len(lines) == 1 and NO_SPACE in lines[0] and "damaged" not in lines[0], err


def test_tag_embed_with_a_full_catalogue_disk_rewrites_no_photo_it_cannot_give_back(
        env: Path, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogue keeps each embedded write's way back (its undo record) before the photo
    is rewritten; when it cannot, the photo must stay untouched. The catalogue's disk fills
    after the first photo: ``keep_undo`` then fails, and so does recording the outcomes at the
    end, with the error SQLite's "database or disk is full" becomes. Once space is freed, the
    next run completes and untag gives every original back byte for byte."""
    from photolm.catalog import Catalog
    from photolm.errors import CatalogError

    _scanned(library)
    originals = _hashes(library)
    real_keep = Catalog.keep_undo
    kept: list[str] = []

    def keep_undo(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if kept:
            raise CatalogError(f"Could not keep what the tag write replaced: {NO_SPACE} x")
        kept.append(kwargs["path"])
        return real_keep(self, *args, **kwargs)

    def record_tags(self, records):  # type: ignore[no-untyped-def]
        raise CatalogError(f"Could not record the tags written: {NO_SPACE} x")

    with monkeypatch.context() as patched:
        patched.setattr(Catalog, "keep_undo", keep_undo)
        patched.setattr(Catalog, "record_tags", record_tags)
        code, _out, err = run("tag", "--embed")
    assert code == 1 and "Traceback" not in err
    lines = _problem_lines(err)
    assert len(lines) == 2 and "eiffel.jpg" in lines[0] and "not rewritten" in lines[0], err
    assert lines[1].startswith("Error:") and all(NO_SPACE in line for line in lines)
    assert _hashes(library)["eiffel.jpg"] == originals["eiffel.jpg"]
    assert _temps(library) == []
    code, _out, err = run("tag", "--embed")  # space freed
    assert code == 0, err
    assert run("untag")[0] == 0
    assert _hashes(library) == originals


def test_a_run_whose_records_were_lost_picks_up_the_photos_it_rewrote(
        env: Path, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogue filled up (or photolm was killed) after the photos were rewritten but
    before their outcome was recorded: simulated by ``record_tags`` failing as a full disk
    does. The next run must not refuse them as "changed since it was scanned"."""
    from photolm.catalog import Catalog
    from photolm.errors import CatalogError

    _scanned(library)
    originals = _hashes(library)

    def full(self, records):  # type: ignore[no-untyped-def]
        raise CatalogError(f"Could not record the tags written: {NO_SPACE} x")

    with monkeypatch.context() as patched:
        patched.setattr(Catalog, "record_tags", full)
        assert run("tag", "--embed")[0] == 1
    assert _hashes(library) != originals  # the photos were rewritten, the records lost
    code, _out, err = run("tag", "--embed")
    assert code == 0, err
    assert {r["tag_status"] for r in _rows().values()} == {"unchanged"}
    assert run("scan", library, "--json")[0] == 0  # the rows know the photos' new state
    assert run("untag")[0] == 0
    assert _hashes(library) == originals


# ------------------------------------------------------------------ copies of one photo


def test_identical_copies_tagged_alike_are_each_given_back_byte_for_byte(
        env: Path, tmp_path: Path) -> None:
    """A NAS backup folder holds exact copies: tagged alike they become the same file, so
    they share one undo record; untagging one must leave it for the other."""
    root = tmp_path / "Pictures"
    write_photo(root / "eiffel.jpg", EIFFEL)
    (root / "backup").mkdir()
    (root / "backup" / "eiffel.jpg").write_bytes((root / "eiffel.jpg").read_bytes())
    original = (root / "eiffel.jpg").read_bytes()
    _scanned(root)
    assert run("tag", "--embed")[0] == 0
    assert run("untag", root / "eiffel.jpg")[0] == 0
    assert (root / "eiffel.jpg").read_bytes() == original
    assert run("untag", root / "backup" / "eiffel.jpg")[0] == 0
    assert (root / "backup" / "eiffel.jpg").read_bytes() == original


# --------------------------------------------------------------------- a read-only mount


def _mounted_read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``statvfs`` reports ``ST_RDONLY`` for ``folder`` (a read-only mount), as the OS does."""
    real_statvfs = os.statvfs

    class ReadOnly:
        def __init__(self, real: os.statvfs_result) -> None:
            self.f_frsize, self.f_bavail = real.f_frsize, real.f_bavail
            self.f_flag = real.f_flag | os.ST_RDONLY

    def statvfs(path):  # type: ignore[no-untyped-def]
        real = real_statvfs(path)
        return ReadOnly(real) if os.fsdecode(path).startswith(str(folder)) else real

    monkeypatch.setattr(os, "statvfs", statvfs)


def test_photos_on_a_read_only_file_system_are_refused_one_line_each_and_the_run_goes_on(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.statvfs`` reports ``ST_RDONLY`` for one folder, as for a read-only mount (the
    files' own mode bits say writable, and root may write anything: only the mount flag
    tells). The other folder is tagged."""
    stick = tmp_path / "stick"
    home = tmp_path / "home"
    write_photo(stick / "eiffel.jpg", EIFFEL)
    write_photo(home / "colosseum.jpg", COLOSSEUM)
    run("scan", stick)
    _scanned(home)
    before = _hashes(stick)
    _mounted_read_only(stick, monkeypatch)
    for mode in (["--embed"], []):
        code, _out, err = run("tag", *mode)
        assert code == 1
        lines = _problem_lines(err)
        assert len(lines) == 1 and "eiffel.jpg" in lines[0], err
        assert "read-only file system" in lines[0] and "read-write" in lines[0]
        assert _hashes(stick) == before
        assert _rows()["colosseum.jpg"]["tag_status"] in ("written", "unchanged")


def test_photos_already_tagged_on_a_read_only_file_system_are_already_tagged_not_failed(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A NAS share tagged once (embedded and in sidecars), then mounted read-only: running
    ``tag`` again finds nothing to write, so it says "already tagged" and exits 0 instead of
    failing every photo on the mount; ``untag``, which has something to remove, still
    refuses in one line a photo. ``ST_RDONLY`` as in the test above."""
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed: it reads the tags back")
    nas = tmp_path / "nas"
    embedded, sidecar = write_photo(nas / "embedded" / "eiffel.jpg", EIFFEL), write_photo(
        nas / "sidecar" / "eiffel.jpg", EIFFEL)
    _scanned(nas)
    assert run("tag", "--embed", embedded)[0] == 0
    assert run("tag", sidecar)[0] == 0
    before = {p: p.read_bytes() for p in nas.rglob("*") if p.is_file()}
    _mounted_read_only(nas, monkeypatch)
    for args in (["--embed", embedded], [sidecar]):
        code, out, err = run("tag", "--json", *args)
        assert code == 0, err
        assert _problem_lines(err) == []
        assert json.loads(out)["counts"] == {"unchanged": 1}
    code, _out, err = run("untag")
    assert code == 1
    lines = _problem_lines(err)
    assert len(lines) == 2 and all("read-only file system" in line for line in lines), err
    assert {p: p.read_bytes() for p in nas.rglob("*") if p.is_file()} == before
    for path in (embedded, sidecar.with_name(sidecar.name + ".xmp")):
        assert exiftool_json(path, "-XMP-dc:Subject")["XMP-dc:Subject"] == ["Eiffel Tower"]


# ----------------------------------------------------------------- names a NAS produces


def test_a_name_with_no_room_for_a_sidecar_says_to_embed_and_embedding_works(
        env: Path, tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    photo = write_photo(root / ("x" * 251 + ".jpg"), EIFFEL)  # 255 bytes
    original = photo.read_bytes()
    _scanned(root)
    code, _out, err = run("tag")
    assert code == 1
    lines = _problem_lines(err)
    assert len(lines) == 1 and "no room for a sidecar" in lines[0] and "--embed" in lines[0]
    assert "File name too long" not in err
    assert run("tag", "--embed")[0] == 0
    assert run("untag")[0] == 0
    assert photo.read_bytes() == original


# ------------------------------------------------------- a folder photolm may not enter


def test_photos_behind_a_folder_that_cannot_be_entered_are_not_missing_nor_pruned(
        env: Path, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder answers EACCES, as ``chmod 000`` (or a NAS share's permissions) does for
    an ordinary user: injected into ``os.scandir``, ``os.stat`` and ``os.lstat``, so the
    test also holds when run as root."""
    locked = library / "locked"
    write_photo(locked / "inside.jpg", EIFFEL)
    _scanned(library)
    real = {name: getattr(os, name) for name in ("scandir", "stat", "lstat")}

    def refusing(name: str):  # type: ignore[no-untyped-def]
        def call(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            text = os.fsdecode(path) if not isinstance(path, int) else ""
            if text.startswith(str(locked) + os.sep) or (name == "scandir" and text == str(locked)):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
            return real[name](path, *args, **kwargs)
        return call

    for name in real:
        monkeypatch.setattr(os, name, refusing(name))
    code, out, err = run("scan", library, "--json")
    assert code == 1 and len(_problem_lines(err)) == 1, err  # the folder, named once
    assert [p["path"] for p in json.loads(out)["walk_problems"]] == [str(locked)]
    assert json.loads(out)["missing"] == 0
    assert _rows()["inside.jpg"]["missing"] is False
    code, out, _err = run("prune", "--json")
    assert code == 0 and json.loads(out)["photos"] == []
    assert "inside.jpg" in _rows()


# -------------------------------------------------- a training set exported to a full stick


def test_export_dataset_onto_a_full_disk_stops_in_one_line_and_leaves_no_partial_copy(
        env: Path, library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.sendfile`` (how ``shutil`` copies on Linux) copies 100 bytes of a photo, then
    answers ENOSPC, as a disk that fills mid-copy does."""
    _scanned(library)
    assert run("confirm", library / "eiffel.jpg", library / "colosseum.jpg")[0] == 0
    real_sendfile = os.sendfile
    calls: list[int] = []

    def sendfile(out_fd, in_fd, offset, count):  # type: ignore[no-untyped-def]
        calls.append(count)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_sendfile(out_fd, in_fd, offset, min(count, 100))

    monkeypatch.setattr(os, "sendfile", sendfile)
    out_dir = tmp_path / "stick" / "dataset"
    code, _out, err = run("export-dataset", out_dir, "--include-shipped", "--copy")
    assert code == 1 and "Traceback" not in err
    lines = _problem_lines(err)
    assert len(lines) == 1 and NO_SPACE in lines[0] and "delete that folder" in lines[0], err
    copies = [p for p in out_dir.rglob("*") if p.is_file() and p.suffix == ".jpg"]
    assert all(p.stat().st_size == (library / p.name).stat().st_size for p in copies)


def test_export_dataset_as_links_onto_a_stick_without_links_says_to_copy(
        env: Path, library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A FAT32 or exFAT stick refuses ``symlink`` (EPERM): injected into ``os.symlink``."""
    _scanned(library)
    assert run("confirm", library / "eiffel.jpg")[0] == 0

    def symlink(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), src, None, dst)

    monkeypatch.setattr(os, "symlink", symlink)
    code, _out, err = run("export-dataset", tmp_path / "stick" / "dataset", "--include-shipped")
    assert code == 1
    lines = _problem_lines(err)
    assert len(lines) == 1 and "--copy" in lines[0] and "incomplete" in lines[0], err


# ---------------------------------------------- a share that cannot flush a folder


def test_tagging_on_a_share_that_cannot_flush_a_folder_is_not_a_failure(
        env: Path, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Some network and FUSE file systems refuse ``fsync`` on a folder (EINVAL); photolm
    flushes the folder after the rename, when the photo is already rewritten, so that must
    not turn a good write into a failure. Injected into ``os.fsync`` for folders."""
    import stat

    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        real_fsync(fd)

    _scanned(library)
    originals = _hashes(library)
    monkeypatch.setattr(os, "fsync", fsync)
    for command in (["tag", "--embed"], ["untag"], ["tag"], ["untag"]):
        code, _out, err = run(*command)
        assert code == 0 and _problem_lines(err) == [], (command, err)
    assert _hashes(library) == originals


# --------------------------------------------------- names a NAS or a USB stick produces


def test_odd_names_stay_one_line_per_photo_in_a_pipe_and_tag_round_trip(
        env: Path, tmp_path: Path) -> None:
    """Newlines, tabs, bytes that are not UTF-8, names that differ only in case and a
    255-byte name: ``list`` and ``search`` in a pipe print one line per photo (README), and
    ``tag --embed`` + ``untag`` give every photo back byte for byte."""
    root = tmp_path / "Pictures"
    names = [b"new\nline.jpg", b"tab\there.jpg", b"bad\xff\xfename.jpg", b"Case.jpg",
             b"case.jpg", b"x" * 251 + b".jpg"]
    for i, name in enumerate(names):
        write_photo(Path(os.fsdecode(os.fsencode(root) + b"/" + name)),
                    EIFFEL, size=(64 + i, 48))  # distinct photos
    originals = {name: Path(os.fsdecode(os.fsencode(root) + b"/" + name)).read_bytes()
                 for name in names}
    _scanned(root)
    for args in (["list"], ["search", "eiffel"]):
        code, out, err = run(*args)
        assert code == 0, err
        lines = out.splitlines()
        assert len(lines) == len(names), out
        assert len({line.count("\t") for line in lines}) == 1  # no field split by a name
    listed = run("list")[1]
    assert "new\\nline.jpg" in listed and "tab\\there.jpg" in listed
    assert "bad\\xff\\xfename.jpg" in listed
    assert run("tag", "--embed")[0] == 0
    assert run("untag")[0] == 0
    for name, data in originals.items():
        assert Path(os.fsdecode(os.fsencode(root) + b"/" + name)).read_bytes() == data, name


# ------------------------------------------- a photo that could not be opened, then could


@pytest.mark.parametrize("stage", ["open", "read"])
def test_a_photo_that_could_not_be_read_is_tried_again_once_it_can(
        env: Path, library: Path, stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``chmod`` or a share coming back changes neither size nor modification time, so the
    "known unreadable" rule for corrupt photos must not apply. Injected for that photo, so
    it also holds when the tests run as root: EACCES from ``open`` (``chmod 000``), or EIO
    from the scan's first read of the open file (a share that dropped out mid-read)."""
    import builtins

    from photolm import photo_read

    photo = library / "eiffel.jpg"
    real_open, real_fingerprint = builtins.open, photo_read.fingerprint_handle

    def refusing_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(file, (str, bytes, os.PathLike)) and os.fsdecode(file) == str(photo):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(file))
        return real_open(file, *args, **kwargs)

    def failing_read(handle, size=None):  # type: ignore[no-untyped-def]
        if os.fsdecode(handle.name) == str(photo):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_fingerprint(handle, size)

    with monkeypatch.context() as patched:
        if stage == "open":
            patched.setattr(builtins, "open", refusing_open)
        else:
            patched.setattr(photo_read, "fingerprint_handle", failing_read)
        for _ in range(2):  # still unreadable: said again, not "known unreadable"
            exit_code, _out, err = run("scan", library)
            assert exit_code == 1
            lines = _problem_lines(err)
            assert len(lines) == 1 and "eiffel.jpg" in lines[0], err
            assert "known unreadable" not in err
        assert _rows()["eiffel.jpg"]["error"] is not None
    exit_code, _out, err = run("scan", library)  # readable again, the file unchanged
    assert exit_code == 0 and _problem_lines(err) == [], err
    row = _rows()["eiffel.jpg"]
    assert row["error"] is None and row["landmark"] is not None


def test_photos_on_a_real_read_only_mount_are_refused_one_line_each(
        env: Path, library: Path) -> None:
    """The same on a real read-only bind mount (root and ``unshare`` only): the mount flag
    is what ``statvfs`` reports there."""
    from tests.test_catalog_access import _in_read_only_mount, _read_only_mount_works

    if not _read_only_mount_works(library):
        pytest.skip("needs root and unshare to mount a folder read-only")
    _scanned(library)
    before = _hashes(library)
    for mode in (["--embed"], []):
        done = _in_read_only_mount(library, "tag", *mode)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        lines = _problem_lines(done.stderr)
        assert len(lines) == 2 and all("read-only file system" in line for line in lines), \
            done.stderr
    assert _hashes(library) == before


# ---------------------------------------------------- a tree deeper than the system takes


def test_a_folder_deeper_than_path_max_is_named_not_silently_skipped(
        env: Path, library: Path) -> None:
    """A NAS tree whose full path passes PATH_MAX (4,096 bytes on Linux): the walk can list
    its parent but not look inside it. Built for real with folder-relative ``mkdir``."""
    name = "d" * 200
    fd = os.open(library, os.O_RDONLY)
    try:
        for _ in range(22):  # 22 x 201 bytes: past 4,096 whatever tmp_path is
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    code, out, err = run("scan", library, "--json")
    assert code == 1
    problems = json.loads(out)["walk_problems"]
    assert len(problems) == 1 and "cannot enter folder" in problems[0]["error"], problems
    assert len(_problem_lines(err)) == 1, err
    assert json.loads(out)["found"] == 2  # the rest of the library is scanned


def test_a_read_error_while_decoding_is_not_called_corrupt(tmp_path: Path) -> None:
    """EIO in the middle of a photo's pixels (a share dropping out, a stick pulled out) is
    the file failing a read, not a corrupt photo: worded so the next scan tries it again.
    The failure is injected into the open file's ``read`` past its first 300 bytes."""
    import io

    from photolm.errors import ImageError
    from photolm.images import decode_upright
    from photolm.photo_read import access_failure

    photo = write_photo(tmp_path / "eiffel.jpg", EIFFEL, size=(640, 480))

    class FailingShare(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() + (size if size is not None and size >= 0 else 1 << 30) > 300:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return super().read(size)

    with pytest.raises(ImageError) as failed:
        decode_upright(FailingShare(photo.read_bytes()), photo, 224)
    assert str(failed.value).startswith("cannot read the file: ")
    assert "corrupt" not in str(failed.value) and access_failure(str(failed.value))
