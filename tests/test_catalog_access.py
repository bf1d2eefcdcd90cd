# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the catalogue may be: read-only places are readable, odd paths are refused cleanly."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clirun import cli as run
from tests.tinybundle import COLOURS, write_photo

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    write_photo(tmp_path / "lib" / "eiffel.jpg", COLOURS["eiffel-tower"])
    return tmp_path / "lib"


def _read_only_mount_works(folder: Path) -> bool:
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind {folder} {folder} && "
         f"mount -o remount,ro,bind {folder} {folder} && ! touch {folder}/probe"],
        capture_output=True, check=False)
    return probe.returncode == 0


def _in_read_only_mount(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``photolm ARGS`` with ``folder`` re-mounted read-only for that process only."""
    command = shlex.join([sys.executable, "-m", "photolm", *args])
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind {folder} {folder} && "
         f"mount -o remount,ro,bind {folder} {folder} && exec {command}"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)})


def test_reading_commands_work_on_a_read_only_catalogue_writing_ones_say_so(
    library: Path, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = env.parent / "read-only" / "catalog.sqlite"  # the photos stay writable
    catalog.parent.mkdir()
    monkeypatch.setenv("PHOTOLM_CATALOG", str(catalog))
    if not _read_only_mount_works(catalog.parent):
        pytest.skip("needs root and unshare to mount a folder read-only")
    assert run("scan", library)[0] == 0
    for args in (["list", "--json"], ["search", "eiffel", "--json"], ["landmarks", "--json"],
                 ["info", "--json"], ["tag", "--dry-run"]):
        done = _in_read_only_mount(catalog.parent, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert "damaged" not in done.stderr
    listed = _in_read_only_mount(catalog.parent, "list")
    assert "eiffel.jpg" in listed.stdout
    scan = _in_read_only_mount(catalog.parent, "scan", str(library))
    assert scan.returncode == 1 and "Traceback" not in scan.stderr
    assert "is read-only (it is on a read-only file system)" in scan.stderr
    assert "damaged" not in scan.stderr


def test_a_device_as_catalogue_is_refused_before_anything_is_created(library: Path) -> None:
    litter = [Path("/dev/null-journal"), Path("/dev/null.lock"), Path("/dev/null-wal")]
    before = [p.exists() for p in litter]
    try:
        for args in (["scan", library], ["list"], ["search", "eiffel"]):
            code, _, err = run(*args, "--catalog", "/dev/null")
            assert code == 1 and "is not a regular file" in err, (args, err)
            assert "move" not in err  # /dev/null is nothing to move aside
        assert [p.exists() for p in litter] == before
    finally:
        for p, existed in zip(litter, before, strict=True):
            if not existed and p.exists():
                p.unlink()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_a_lock_file_that_cannot_be_created_is_named_as_the_cause(
    library: Path, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOTOLM_CATALOG", "/proc/photolm-test.sqlite")
    code, _, err = run("scan", library)
    assert code == 1 and "Cannot create the lock file" in err, err
    assert "Another photolm process" not in err


# A writer killed with SIGKILL. On a file system without WAL (rollback journal), its pages
# spilling to the file, inside a transaction: the journal it leaves is "hot". In WAL mode
# ("wal"), after a commit: its -wal file holds what the main file does not.
_KILLED_WRITER = """
import os, signal, sys
from photolm.catalog import Catalog, PhotoRecord, schema, store
configure = store._configure
def no_wal(conn, *, write):
    configure(conn, write=write)
    if write:
        conn.execute("PRAGMA journal_mode = DELETE").fetchone()
        conn.execute("PRAGMA cache_size = 1")
if sys.argv[2] != "wal":
    store._configure = no_wal
def die():
    os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[2] == "creating":
    last = schema.MIGRATIONS[-1]  # killed once it wrote (a step may find nothing to change)
    schema.MIGRATIONS = (*schema.MIGRATIONS[:-1],
                         lambda db: (last(db), db.execute("CREATE TABLE written (x)"), die()))
    Catalog.open(sys.argv[1], write=True)
else:
    with Catalog.open(sys.argv[1], write=True) as cat:
        cat.write_results([PhotoRecord(f"/p/kept{i}.jpg", 1, 1) for i in range(3)])
        if sys.argv[2] == "wal":
            die()
        with cat.atomic("store a batch"):
            cat.write_results([PhotoRecord(f"/p/lost{i:04d}.jpg", 1, 1, topk=[{"x": "y" * 900}])
                               for i in range(300)])
            die()
"""


def _kill_a_writer(catalog: Path, when: str) -> None:
    catalog.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(catalog), when],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert done.returncode == -9
    left = Path(f"{catalog}-wal" if when == "wal" else f"{catalog}-journal")
    assert left.exists() and left.stat().st_size > 0  # what a reader must replay


def test_reading_after_a_writer_was_killed_mid_change_works(tmp_path: Path,
                                                            library: Path) -> None:
    """A read-only open cannot roll back a hot journal itself (SQLite refuses: "attempt to
    write a readonly database"); photolm replays it under the write lock and reads the last
    committed state, never calling the catalogue damaged."""
    catalog = tmp_path / "mid-scan" / "catalog.sqlite"
    _kill_a_writer(catalog, "writing")
    code, out, err = run("list", "--json", "--catalog", catalog)
    assert code == 0, err
    assert sorted(Path(r["path"]).name for r in json.loads(out)) == [
        "kept0.jpg", "kept1.jpg", "kept2.jpg"]

    catalog = tmp_path / "mid-creation" / "catalog.sqlite"
    _kill_a_writer(catalog, "creating")  # left at an older schema: a reader finishes it
    code, out, err = run("list", "--json", "--catalog", catalog)
    assert code == 0 and json.loads(out) == [], err
    assert run("info", "--catalog", catalog)[0] == 0
    code, _, err = run("search", "eiffel", "--catalog", catalog)  # an empty catalogue's line
    assert "No landmarks are known yet" in err and "damaged" not in err, err
    assert run("scan", library, "--catalog", catalog)[0] == 0  # the writer's probe replays too
    code, out, _ = run("list", "--json", "--catalog", catalog)
    assert code == 0 and [Path(r["path"]).name for r in json.loads(out)] == ["eiffel.jpg"]


def test_a_read_only_catalogue_left_mid_change_is_read_or_one_clear_line(
        tmp_path: Path) -> None:
    """Where nothing may be written: a -wal file with its -shm is read (an immutable open
    would miss what the -wal holds and call the catalogue empty); a hot journal, or a -wal
    without its -shm, cannot be replayed there: one line says so, never "damaged"."""
    catalog = tmp_path / "read-only-wal" / "catalog.sqlite"
    _kill_a_writer(catalog, "wal")
    if not _read_only_mount_works(catalog.parent):
        pytest.skip("needs root and unshare to mount a folder read-only")
    done = _in_read_only_mount(catalog.parent, "list", "--json", "--catalog", str(catalog))
    assert done.returncode == 0, done.stderr
    assert sorted(Path(r["path"]).name for r in json.loads(done.stdout)) == [
        "kept0.jpg", "kept1.jpg", "kept2.jpg"]
    Path(f"{catalog}-shm").unlink()
    without_shm = _in_read_only_mount(catalog.parent, "list", "--catalog", str(catalog))

    catalog = tmp_path / "read-only" / "catalog.sqlite"
    _kill_a_writer(catalog, "writing")
    hot = _in_read_only_mount(catalog.parent, "list", "--catalog", str(catalog))
    for done in (without_shm, hot):
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1 and "damaged" not in done.stderr
        assert "left by a photolm that was stopped mid-change" in done.stderr
        assert "make it writable" in done.stderr
