# SPDX-License-Identifier: GPL-3.0-or-later
"""Two scans on one catalogue: the second stops at once with one clear line and the first
finishes untroubled; readers keep working while a scan writes."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.robustness.helpers import check_rows, cli
from tests.tinybundle import COLOURS, write_photo

PHOTOS = 24
BUSY = "Another photolm process is writing catalogue"


@pytest.fixture
def library(tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    photos = tmp_path / "photos"
    colours = list(COLOURS.values())
    for i in range(PHOTOS):
        write_photo(photos / f"p{i:03d}.jpg", colours[i % len(colours)])
    monkeypatch.setenv("PHOTOLM_MODEL", str(tiny_bundle_dir))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "cat.sqlite"))
    return photos


def _slow_scan(photos: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.robustness.slowscan", str(photos), "--batch-size", "4",
         "--workers", "1", "--json"],
        cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )


def test_second_scan_stops_with_one_line_while_readers_keep_working(
    library: Path, tmp_path: Path
) -> None:
    mark = tmp_path / "batch"
    first = _slow_scan(library, SLOW_MARK=str(mark), SLOW_MARK_AT="0", SLOW_DECODE="0.1")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and first.poll() is None:
            with contextlib.suppress(FileNotFoundError, ValueError):
                if int(mark.read_text()) >= 2:  # the lock is held and batches are stored
                    break
            time.sleep(0.02)
        assert first.poll() is None, "the first scan ended before the race could be run"
        code, out, err = cli("scan", library)
        assert (code, out) == (1, "")
        assert err.splitlines() == [
            f"Error: {BUSY} {tmp_path / 'cat.sqlite'}; wait for it to finish or use --catalog "
            "to pick another."]
        for reader in (("list", "--json"), ("search", "Taj Mahal", "--json"), ("info",)):
            code, _, err = cli(*reader)  # WAL: readers are not blocked by the writer
            assert code == 0, (reader, err)
        assert first.poll() is None, "the reads must have overlapped the scan"
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, err
    assert json.loads(out)["processed"] == PHOTOS
    rows = check_rows(tmp_path / "cat.sqlite")
    assert len(rows) == PHOTOS and all(e is None for e in rows.values())


def test_two_scans_started_together_on_a_new_catalogue(library: Path, tmp_path: Path) -> None:
    """Both race to create the catalogue: exactly one wins, the other says so in one line."""
    scans = [_slow_scan(library, SLOW_DECODE="0.1") for _ in range(2)]  # ~3 s each
    results = []
    try:
        for proc in scans:
            out, err = proc.communicate(timeout=120)
            results.append((proc.returncode, out, err))
    finally:
        for proc in scans:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert len(loser.strip().splitlines()) == 1 and BUSY in loser, loser
    assert "Traceback" not in loser
    rows = check_rows(tmp_path / "cat.sqlite")
    assert len(rows) == PHOTOS and all(e is None for e in rows.values())
