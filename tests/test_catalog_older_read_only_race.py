# SPDX-License-Identifier: GPL-3.0-or-later
"""An older catalogue read from an upgraded copy (it may not be written here) while another
photolm process, for which it is writable, upgrades it: two processes.

What a reader gets is what was committed when it looked, at once, as every reader of the
catalogue gets while a scan writes (docs/guarantees.md): it never waits for the writer,
which may hold the catalogue for a whole scan. An upgrade the writer commits after the
reader read the schema version but before it copied the file used to be applied to the copy
a second time, the copy read partly from pages its first look kept: schema 8's step then
doubled the backslashes in a scan folder's name (``info`` named a folder that is not there,
the desktop's Scan page left it out); such a file is now read as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photolm.catalog import schema
from photolm.printed_paths import printed
from tests.clirun import cli
from tests.test_catalog_access import REPO
from tests.tinybundle import COLOURS, write_photo

NOTE = "uses an older format (schema 7) and is read-only here (it is on a read-only file system)"

# photolm's CLI, the catalogue judged read-only; it waits at the step named by RACE_STEP
# ("copy": between reading the schema version and copying the file) for the file RACE_GO
_READER = """
import os, sys, time
import photolm.catalog.store as store
import photolm.catalog.upgraded_copy as upgraded_copy
store._read_only_reason = lambda path: "it is on a read-only file system"
if os.environ.get("RACE_STEP") == "copy":
    connect = upgraded_copy.connect
    def waiting(*args, **kwargs):
        open(os.environ["RACE_READY"], "w").close()
        while not os.path.exists(os.environ["RACE_GO"]):
            time.sleep(0.01)
        return connect(*args, **kwargs)
    upgraded_copy.connect = waiting
from photolm.cli.app import main
sys.argv = ["photolm", *sys.argv[1:]]
main()
"""

# photolm's CLI, for which the catalogue is writable, stopped inside its upgrade (schema 8's
# step done, not committed) until the file RACE_GO exists
_WRITER = """
import os, sys, time
from photolm.catalog import schema
last = schema.MIGRATIONS[-1]
def waiting(db):
    last(db)
    open(os.environ["RACE_READY"], "w").close()
    while not os.path.exists(os.environ["RACE_GO"]):
        time.sleep(0.01)
schema.MIGRATIONS = (*schema.MIGRATIONS[:-1], waiting)
from photolm.cli.app import main
sys.argv = ["photolm", *sys.argv[1:]]
main()
"""


@pytest.fixture
def older(env: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A library in a folder whose name holds a backslash (``my\\photos``: schema 8's step
    rewrites such names, so a copy it is applied to twice names another folder) and its
    catalogue at schema 7, one scan in it."""
    library = tmp_path / "my\\photos"
    write_photo(library / "eiffel.jpg", COLOURS["eiffel-tower"])
    catalog = tmp_path / "share" / "catalog.sqlite"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
        m.setattr(schema, "SCHEMA_VERSION", 7)
        assert cli("scan", library, "--catalog", catalog)[0] == 0
    return library, catalog


def _start(script: str, tmp_path: Path, name: str, *args: object,
           step: str = "") -> tuple[subprocess.Popen[str], Path, Path]:
    ready, go = tmp_path / f"{name}-ready", tmp_path / f"{name}-go"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "RACE_READY": str(ready),
             "RACE_GO": str(go), "RACE_STEP": step})
    return proc, ready, go


def _wait_for(ready: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the other process never got there"
        time.sleep(0.01)


def _info(done: subprocess.CompletedProcess[str] | tuple[str, str]) -> dict:
    out = done[0] if isinstance(done, tuple) else done.stdout
    return json.loads(out)["catalog"]


def test_a_reader_whose_copy_a_scan_upgraded_meanwhile_reads_the_file_as_it_is(
        older: tuple[Path, Path], tmp_path: Path) -> None:
    library, catalog = older
    reader, ready, go = _start(_READER, tmp_path, "reader", "info", "--json", "--catalog",
                               catalog, step="copy")
    _wait_for(ready, reader)  # it read schema 7 and is about to copy the file
    scan = subprocess.run([sys.executable, "-m", "photolm", "scan", str(library), "--catalog",
                           str(catalog), "--quiet"], capture_output=True, text=True,
                          check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert scan.returncode == 0, scan.stderr  # writable for it: upgraded in place
    go.touch()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    info = _info((out, err))
    assert info["last_scan"]["roots"] == [printed(library)]  # not my\\\\photos
    assert info["schema_version"] == schema.SCHEMA_VERSION
    assert err == ""  # no copy: nothing to note


def test_a_reader_gets_what_was_committed_at_once_while_a_writer_upgrades(
        older: tuple[Path, Path], tmp_path: Path) -> None:
    """The writer holds the catalogue inside its upgrade: a reader neither waits nor fails;
    it reads the catalogue as it was before, upgraded in a copy, and says so."""
    library, catalog = older
    writer, ready, go = _start(_WRITER, tmp_path, "writer", "scan", library, "--catalog",
                               catalog, "--quiet")
    try:
        _wait_for(ready, writer)  # schema 8's step done in its transaction, not committed
        # were it to wait for the writer, which waits for this test, it would time out
        reader = subprocess.run([sys.executable, "-c", _READER, "info", "--json", "--catalog",
                                 str(catalog)], capture_output=True, text=True, check=False,
                                env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
        assert writer.poll() is None  # the writer was inside its upgrade all along
    finally:
        go.touch()
    assert reader.returncode == 0, reader.stderr
    assert reader.stderr.startswith("note: catalogue ") and NOTE in reader.stderr
    info = _info(reader)
    assert info["schema_version"] == 7 and info["photos"] == 1
    assert info["last_scan"]["id"] == 1  # the one before: the writer's scan has not begun
    _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    after = subprocess.run([sys.executable, "-c", _READER, "info", "--json", "--catalog",
                            str(catalog)], capture_output=True, text=True, check=False,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert after.returncode == 0 and after.stderr == "", after.stderr
    info = _info(after)
    assert info["schema_version"] == schema.SCHEMA_VERSION and info["last_scan"]["id"] == 2
    assert info["last_scan"]["roots"] == [printed(library)]
