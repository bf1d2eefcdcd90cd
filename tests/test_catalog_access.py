# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the catalogue may be: read-only places are readable, odd paths are refused cleanly."""

from __future__ import annotations

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
