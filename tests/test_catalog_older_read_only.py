# SPDX-License-Identifier: GPL-3.0-or-later
"""A catalogue an older photolm wrote, where it may not be written (a share mounted
read-only, a snapshot): reading commands read an upgraded copy and say so in one line; the
file stays as it was; writing commands refuse it in one line; where it is writable, the
next command upgrades it in place as before."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from photolm.catalog import Catalog, PhotoRecord, schema
from tests.clirun import cli as run
from tests.test_catalog_access import REPO, _in_read_only_mount, _read_only_mount_works
from tests.tinybundle import COLOURS, write_photo

NOTE = "uses an older format (schema 7) and is read-only here (it is on a read-only file system)"


@pytest.fixture
def library(tmp_path: Path) -> Path:
    write_photo(tmp_path / "lib" / "eiffel.jpg", COLOURS["eiffel-tower"])
    write_photo(tmp_path / "lib" / "colosseum.jpg", COLOURS["colosseum"])
    return tmp_path / "lib"


@pytest.fixture
def older(library: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The catalogue (in a folder of its own) photolm at schema 7 left scanning ``library``."""
    catalog = env.parent / "share" / "catalog.sqlite"
    catalog.parent.mkdir()
    monkeypatch.setenv("PHOTOLM_CATALOG", str(catalog))
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
        m.setattr(schema, "SCHEMA_VERSION", 7)
        assert run("scan", library)[0] == 0
    assert _stored_version(catalog) == 7
    return catalog


def _stored_version(catalog: Path) -> int:
    raw = sqlite3.connect(f"{catalog.as_uri()}?mode=ro", uri=True)
    try:
        return int(raw.execute("PRAGMA user_version").fetchone()[0])
    finally:
        raw.close()


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def _noted_once(stderr: str, note: str = NOTE) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: catalogue "), stderr
    assert note in lines[0] and "nothing is saved to the file" in lines[0], stderr
    assert "run where it is writable upgrades it" in lines[0], stderr


def test_reading_commands_read_an_upgraded_copy_on_a_read_only_mount(
        older: Path, library: Path) -> None:
    if not _read_only_mount_works(older.parent):
        pytest.skip("needs root and unshare to mount a folder read-only")
    before = _digest(older.parent)
    listed = _in_read_only_mount(older.parent, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(Path(r["path"]).name for r in json.loads(listed.stdout)) == [
        "colosseum.jpg", "eiffel.jpg"]
    _noted_once(listed.stderr)
    found = _in_read_only_mount(older.parent, "search", "eiffel", "--json")
    assert found.returncode == 0, found.stderr
    assert [Path(r["path"]).name for r in json.loads(found.stdout)] == ["eiffel.jpg"]
    _noted_once(found.stderr)
    # landmarks opens the catalogue several times (the model choice, the counts): one line
    known = _in_read_only_mount(older.parent, "landmarks", "--json")
    assert known.returncode == 0, known.stderr
    assert {r["id"]: r["photos"] for r in json.loads(known.stdout)}["eiffel-tower"] == 1
    _noted_once(known.stderr)
    info = _in_read_only_mount(older.parent, "info", "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["catalog"]["schema_version"] == 7  # the file's, as it is
    _noted_once(info.stderr)

    scan = _in_read_only_mount(older.parent, "scan", str(library))
    assert scan.returncode == 1 and scan.stderr.count("\n") == 1, scan.stderr
    assert "is read-only (it is on a read-only file system)" in scan.stderr
    assert _digest(older.parent) == before  # nothing written beside it or into it

    assert run("scan", library)[0] == 0  # writable again: the writing command upgrades it
    assert _stored_version(older) == schema.SCHEMA_VERSION


# Two read-only places a person meets that are not a read-only mount: the file alone
# (chmod a-w catalog.sqlite, a backup tool's copy) and the folder alone (a writable file in
# a read-only folder, where SQLite can create no -wal, -shm or -journal, photolm no lock
# file). chmod does not bind root, which runs these tests on the project's machines: there
# the command runs as root without the capabilities that override file permissions.
_AS_OWNER = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
             "--bounding-set=-dac_override,-dac_read_search"]


def _bound_by_permissions(read_only: Path) -> list[str]:
    """The command prefix under which ``read_only`` (mode a-w) cannot be written."""
    prefix = _AS_OWNER if os.geteuid() == 0 else []
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("root, and no setpriv to run without overriding file permissions")
    probe = subprocess.run([*prefix, "sh", "-c", f"! test -w {shlex.quote(str(read_only))}"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("file permissions do not bind here")
    return prefix


@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_an_older_catalogue_whose_file_or_folder_is_read_only_is_read_too(
        older: Path, library: Path, read_only: str) -> None:
    target = older if read_only == "file" else older.parent
    mode = target.stat().st_mode
    target.chmod(mode & ~0o222)
    try:
        prefix = _bound_by_permissions(target)
        before = _digest(older.parent)

        def photolm(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*prefix, sys.executable, "-m", "photolm", *args],
                                  capture_output=True, text=True, check=False,
                                  env={**os.environ, "PYTHONPATH": str(REPO)})

        listed = photolm("list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert len(json.loads(listed.stdout)) == 2
        why = "the file is not" if read_only == "file" else "its folder is not"
        _noted_once(listed.stderr, f"uses an older format (schema 7) and is read-only here "
                                   f"({why} writable for you)")
        scan = photolm("scan", str(library))
        assert scan.returncode == 1 and scan.stderr.count("\n") == 1, scan.stderr
        assert f"is read-only ({why} writable for you)" in scan.stderr
        assert _digest(older.parent) == before and _stored_version(older) == 7
    finally:
        target.chmod(mode)


# Every other command that changes the catalogue, given what it needs to start work: each
# refuses before it begins (the catalogue is opened for writing first), in one line.
_WRITING = {
    "tag": [],
    "untag": [],
    "prune": [],
    "confirm": ["{library}/eiffel.jpg"],
    "learn": ["Old Town Bridge", "{library}/eiffel.jpg"],
    "unlearn": ["Old Town Bridge"],
}


@pytest.mark.parametrize("command", sorted(_WRITING))
def test_commands_that_change_an_older_read_only_catalogue_refuse_it_in_one_line(
        older: Path, library: Path, command: str) -> None:
    older.chmod(older.stat().st_mode & ~0o222)
    try:
        prefix = _bound_by_permissions(older)
        before = _digest(older.parent)
        args = [a.format(library=library) for a in _WRITING[command]]
        done = subprocess.run([*prefix, sys.executable, "-m", "photolm", command, *args],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("Error: Catalogue "), done.stderr
        assert "is read-only (the file is not writable for you)" in done.stderr
        assert _digest(older.parent) == before and _stored_version(older) == 7
    finally:
        older.chmod(older.stat().st_mode | 0o200)


def test_dry_runs_read_the_copy_too(older: Path, library: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import photolm.catalog.store as store

    (library / "colosseum.jpg").unlink()
    with monkeypatch.context() as m:  # the older photolm's scan finds it gone
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
        m.setattr(schema, "SCHEMA_VERSION", 7)
        assert run("scan", library)[0] == 0
    monkeypatch.setattr(store, "_read_only_reason", lambda p: "it is on a read-only file system")
    before = _digest(older.parent)
    code, out, err = run("tag", "--dry-run", "--json")
    assert code == 0, err
    assert "eiffel.jpg" in out and err.count(NOTE) == 1, err
    code, out, err = run("prune", "--dry-run")
    assert code == 0, err
    assert [Path(p).name for p in out.splitlines()] == ["colosseum.jpg"]
    assert err.count(NOTE) == 1, err
    assert _digest(older.parent) == before


def test_the_other_reading_commands_read_the_copy_too(
        older: Path, library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """places, export-dataset, list's filters and untag's dry run open it to read as well."""
    import photolm.catalog.store as store

    with monkeypatch.context() as m:  # the older photolm confirmed a photo
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
        m.setattr(schema, "SCHEMA_VERSION", 7)
        assert run("confirm", library / "eiffel.jpg")[0] == 0
    monkeypatch.setattr(store, "_read_only_reason", lambda p: "it is on a read-only file system")
    before = _digest(older.parent)
    for args in (["places", "--all", "--json"], ["list", "--uncertain", "--json"],
                 ["list", "--errors", "--json"], ["untag", "--dry-run", "--json"]):
        code, out, err = run(*args)
        assert code == 0, (args, err)
        assert isinstance(json.loads(out), list | dict) and err.count(NOTE) == 1, (args, err)
    code, out, err = run("export-dataset", tmp_path / "out", "--include-shipped", "--json")
    assert code == 0 and err.count(NOTE) == 1, err
    assert list((tmp_path / "out").rglob("eiffel.jpg")), out
    assert _digest(older.parent) == before and _stored_version(older) == 7


# photolm's CLI with the catalogue judged read-only and every catalogue "large"
_LARGE = """
import sys
import photolm.catalog.store as store
import photolm.catalog.upgraded_copy as upgraded_copy
store._read_only_reason = lambda path: "it is on a read-only file system"
upgraded_copy.MEMORY_LIMIT_BYTES = 0
from photolm.cli.app import main
sys.argv = ["photolm", *sys.argv[1:]]
main()
"""


def test_a_large_catalogue_is_copied_into_a_temp_file_removed_at_exit(
        older: Path, tmp_path: Path) -> None:
    """Beyond ``MEMORY_LIMIT_BYTES`` the copy is a file in the user's temp folder, named
    in the note, gone when the command ends; one a killed photolm left there goes too."""
    temp = tmp_path / "temp"
    temp.mkdir()
    (temp / "photolm-upgraded-999999999-left.sqlite").write_bytes(b"a killed photolm's copy")
    (temp / "photolm-upgraded-not-a-pid.sqlite").write_bytes(b"not ours to judge")
    done = subprocess.run([sys.executable, "-c", _LARGE, "list", "--json", "--catalog",
                           str(older)], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(temp)})
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2
    _noted_once(done.stderr)
    assert f"a copy upgraded in the temporary file {temp}/photolm-upgraded-" in done.stderr
    assert [p.name for p in temp.iterdir()] == ["photolm-upgraded-not-a-pid.sqlite"]
    assert _stored_version(older) == 7


def test_a_temp_folder_that_cannot_take_the_copy_is_one_error_line(
        older: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    import photolm.catalog.store as store
    import photolm.catalog.upgraded_copy as upgraded_copy

    monkeypatch.setattr(store, "_read_only_reason", lambda p: "it is on a read-only file system")
    monkeypatch.setattr(upgraded_copy, "MEMORY_LIMIT_BYTES", 0)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    code, out, err = run("list", "--json")
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith("Error: Could not read catalogue ") and "schema 7" in err
    assert f"upgrading a copy of it in {tmp_path / 'no-such-folder'} failed" in err
    assert "set TMPDIR to a folder with room for it" in err


_KILLED_WRITER = """
import os, signal, sys
from photolm.catalog import Catalog, PhotoRecord, schema
schema.MIGRATIONS, schema.SCHEMA_VERSION = schema.MIGRATIONS[:7], 7
cat = Catalog.open(sys.argv[1], write=True)
cat.write_results([PhotoRecord(f"/p/kept{i}.jpg", 1, 1) for i in range(3)])
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_copy_holds_what_a_killed_writer_left_in_the_wal(tmp_path: Path) -> None:
    """An older photolm killed after it committed leaves its rows in the -wal file alone:
    the copy is made through SQLite, which reads them there (a copy of the main file, or an
    ``immutable`` open, would miss them)."""
    catalog = tmp_path / "share" / "catalog.sqlite"
    catalog.parent.mkdir()
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(catalog)],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert done.returncode == -9 and Path(f"{catalog}-wal").stat().st_size > 0
    if not _read_only_mount_works(catalog.parent):
        pytest.skip("needs root and unshare to mount a folder read-only")
    listed = _in_read_only_mount(catalog.parent, "list", "--json", "--catalog", str(catalog))
    assert listed.returncode == 0, listed.stderr
    assert sorted(Path(r["path"]).name for r in json.loads(listed.stdout)) == [
        "kept0.jpg", "kept1.jpg", "kept2.jpg"]
    _noted_once(listed.stderr)


def _v7_with_one_photo(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalogue at schema 7 holding /p/a.jpg, as the photolm before v8 wrote it."""
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
        m.setattr(schema, "SCHEMA_VERSION", 7)
        with Catalog.open(path, write=True) as cat:
            cat.write_results([PhotoRecord("/p/a.jpg", 1, 1)])
    return path


def test_one_copy_per_process_while_the_file_is_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``landmarks`` opens the catalogue several times and the desktop once per page: each
    open reuses the copy, until the file changes (a writer elsewhere on the share)."""
    import photolm.catalog.store as store
    import photolm.catalog.upgraded_copy as upgraded_copy

    path = _v7_with_one_photo(tmp_path / "v7.sqlite", monkeypatch)
    monkeypatch.setattr(store, "_read_only_reason", lambda p: "it is on a read-only file system")
    made: list[Path] = []
    make = upgraded_copy._make
    monkeypatch.setattr(upgraded_copy, "_make", lambda p, *a: (made.append(p), make(p, *a))[1])
    for _ in range(3):
        with Catalog.open(path, write=False) as cat:
            assert [r.path for r in cat.photos()] == ["/p/a.jpg"]
            assert cat.upgraded_copy is not None and cat.schema_version == 7
    assert made == [path]
    with monkeypatch.context() as m:  # another photolm at schema 7 adds a photo
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
        m.setattr(schema, "SCHEMA_VERSION", 7)
        monkeypatch.setattr(store, "_read_only_reason", lambda p: None)
        with Catalog.open(path, write=True) as cat:
            cat.write_results([PhotoRecord("/p/b.jpg", 1, 1)])
    monkeypatch.setattr(store, "_read_only_reason", lambda p: "it is on a read-only file system")
    with Catalog.open(path, write=False) as cat:
        assert sorted(r.path for r in cat.photos()) == ["/p/a.jpg", "/p/b.jpg"]
    assert made == [path, path]
    assert _stored_version(path) == 7


def test_a_temp_copy_removed_by_a_temp_cleaner_is_made_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long `serve` holds its copy for days; a temp-folder cleaner may remove the file.
    The next open made a new connection to the missing file (an error on every page)."""
    import tempfile

    import photolm.catalog.store as store
    import photolm.catalog.upgraded_copy as upgraded_copy

    path = _v7_with_one_photo(tmp_path / "v7.sqlite", monkeypatch)
    (tmp_path / "temp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    monkeypatch.setattr(upgraded_copy, "MEMORY_LIMIT_BYTES", 0)
    monkeypatch.setattr(store, "_read_only_reason", lambda p: "it is on a read-only file system")
    with Catalog.open(path, write=False) as cat:
        copy = cat.upgraded_copy
        assert copy is not None and copy.temp_file is not None
    copy.temp_file.unlink()  # the cleaner
    with Catalog.open(path, write=False) as cat:
        assert [r.path for r in cat.photos()] == ["/p/a.jpg"]
        assert cat.upgraded_copy is not None and cat.upgraded_copy.temp_file.exists()
    upgraded_copy._dropped_at_exit()


def test_the_desktop_reads_an_older_read_only_catalogue(
        older: Path, tiny_bundle_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve``: its pages (each its own open, in the server's threads) read the copy."""
    pytest.importorskip("starlette", reason="the desktop extra is not installed")
    from starlette.testclient import TestClient

    import photolm.catalog.store as store
    from photolm.desktop.app import create_app
    from tests.desktop.conftest import BASE, TOKEN, Library, make_settings

    monkeypatch.setattr(store, "_read_only_reason", lambda p: "it is on a read-only file system")
    started: list[object] = []
    monkeypatch.setattr("photolm.desktop.server.serve",
                        lambda prepared, on_ready=None: started.append(prepared))
    code, _, err = run("serve", "--no-browser", "--port", "0", "--model", tiny_bundle_dir)
    assert code == 0 and len(started) == 1, err
    started[0].sock.close()  # type: ignore[attr-defined]
    assert err.count(NOTE) == 1, err
    lib = Library(photos=tmp_path / "lib", catalog=older, bundle=tiny_bundle_dir)
    with TestClient(create_app(make_settings(lib, tmp_path)), base_url=BASE,
                    follow_redirects=False) as client:
        assert client.get(f"/?token={TOKEN}").status_code == 303
        found = client.get("/search", params={"q": "eiffel"})
        assert found.status_code == 200 and "eiffel.jpg" in found.text
        assert "colosseum.jpg" not in found.text
    assert _stored_version(older) == 7
