# SPDX-License-Identifier: GPL-3.0-or-later
"""``kill -9`` at random moments of a scan: nothing half-written, nothing lost, and the next
scan completes with exactly one row per photo.

The scan runs as a subprocess slowed by tests/robustness/slowscan.py (a pause per decode and
a pause inside every transaction before it commits), so the kill lands in all phases: start
up, catalogue creation and migration, decoding, and the middle of a batch's transaction.
Kill times are stratified over the scan's length with a fixed seed (``PHOTOLM_KILL_SEED``
overrides it to explore more schedules).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.robustness.helpers import changed, check_rows, cli, snapshot
from tests.tinybundle import COLOURS, write_photo

PHOTOS = 40
BATCH = 4
TRIALS = 8
SEED = int(os.environ.get("PHOTOLM_KILL_SEED", "20240607"))
WINDOW = (0.05, 1.4)  # seconds after start; the slowed scan sleeps >= 1.3 s in all

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _slow_scan(photos: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.robustness.slowscan", str(photos), "--batch-size",
         str(BATCH), "--workers", "1", "--quiet", *extra],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _kill_after(delay: float, photos: Path, env: dict[str, str], *extra: str) -> bool:
    """Start a slowed scan and SIGKILL it after ``delay`` s; True if it was still running."""
    proc = _slow_scan(photos, env, *extra)
    time.sleep(delay)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return alive


def test_sigkill_at_random_points_never_half_writes(
    tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = tmp_path / "photos"
    colours = list(COLOURS.values())
    for i in range(PHOTOS):
        write_photo(photos / f"p{i:03d}.jpg", colours[i % len(colours)])
    before = snapshot(photos)
    rng = random.Random(SEED)
    lo, hi = WINDOW
    step = (hi - lo) / TRIALS
    delays = [lo + step * (i + rng.random()) for i in range(TRIALS)]
    rng.shuffle(delays)
    live_kills = 0
    report = []
    for trial, delay in enumerate(delays):
        catalog = tmp_path / f"cat{trial}" / "cat.sqlite"
        env = {**os.environ, "PHOTOLM_MODEL": str(tiny_bundle_dir),
               "PHOTOLM_CATALOG": str(catalog)}
        monkeypatch.setenv("PHOTOLM_MODEL", str(tiny_bundle_dir))
        monkeypatch.setenv("PHOTOLM_CATALOG", str(catalog))
        force = trial % 2 == 1  # odd trials: kill a --force rescan over a complete catalogue
        if force:
            assert cli("scan", photos, "--quiet")[0] == 0
        live_kills += _kill_after(delay, photos, env, *(["--force"] if force else []))

        kept = check_rows(catalog) if catalog.exists() else {}  # sound straight after the kill
        assert all(error is None for error in kept.values())
        if force:
            assert len(kept) == PHOTOS  # old or new results, never neither
        else:
            assert len(kept) % BATCH == 0  # whole batches only

        code, out, err = cli("scan", photos, "--json")  # the next scan completes
        assert code == 0, err
        summary = json.loads(out)
        rows = check_rows(catalog)
        assert sorted(rows) == sorted(str(p) for p in photos.iterdir())  # one row per photo
        assert all(error is None for error in rows.values())
        if not force:
            assert summary["skipped_unchanged"] == len(kept)  # what was kept is trusted
            assert summary["processed"] == PHOTOS - len(kept)
        report.append((round(delay, 2), force, len(kept)))
    print(f"kill -9 trials (seed {SEED}): (delay s, --force, rows kept) {sorted(report)}")
    assert live_kills >= TRIALS - 1, report  # the kills hit running scans
    assert changed(before, snapshot(photos)) == []


def test_sigkill_inside_a_transaction_loses_only_that_batch(
    tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic: wait until batch 3 is written but not committed, then kill."""
    photos = tmp_path / "photos"
    for i in range(5 * BATCH):
        write_photo(photos / f"p{i:03d}.jpg", COLOURS["taj-mahal"])
    catalog, mark = tmp_path / "cat.sqlite", tmp_path / "in-transaction"
    env = {**os.environ, "PHOTOLM_MODEL": str(tiny_bundle_dir), "PHOTOLM_CATALOG": str(catalog),
           "SLOW_MARK": str(mark), "SLOW_MARK_AT": "3"}
    proc = _slow_scan(photos, env)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(FileNotFoundError):  # it comes and goes per batch
                if mark.read_text() == "3":
                    break
            time.sleep(0.02)
        assert mark.read_text() == "3", "the scan never reached its third batch"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert Path(f"{catalog}-wal").stat().st_size > 0  # WAL mode, left as the kill found it
    kept = check_rows(catalog)
    assert len(kept) == 2 * BATCH  # batches 1 and 2; nothing of batch 3
    monkeypatch.setenv("PHOTOLM_MODEL", str(tiny_bundle_dir))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(catalog))
    code, out, err = cli("scan", photos, "--json")
    assert code == 0, err
    assert json.loads(out)["skipped_unchanged"] == 2 * BATCH
    assert len(check_rows(catalog)) == 5 * BATCH


HOT_JOURNAL_WRITER = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size = 1")  # spill to the file mid-transaction
conn.execute("BEGIN")
conn.execute("CREATE TABLE t (x)")
for _ in range(500):
    conn.execute("INSERT INTO t VALUES (randomblob(1000))")
os._exit(0)  # killed: the rollback journal stays hot
"""


def test_rows_are_checked_after_a_kill_left_a_hot_rollback_journal(tmp_path: Path) -> None:
    """A kill inside a rollback-journal transaction (photolm's switch of a new catalogue to
    WAL is one) leaves recovery to the next opener; the checks must do it, not fail with
    SQLITE_READONLY_ROLLBACK as a ``mode=ro`` connection does."""
    catalog = tmp_path / "cat.sqlite"
    subprocess.run([sys.executable, "-c", HOT_JOURNAL_WRITER, str(catalog)], check=True)
    assert Path(f"{catalog}-journal").exists() and catalog.stat().st_size > 0
    assert check_rows(catalog) == {}  # rolled back: nothing of the transaction is left
    assert not Path(f"{catalog}-journal").exists()
