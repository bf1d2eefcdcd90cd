# SPDX-License-Identifier: GPL-3.0-or-later
"""Counts and nouns agree in what the commands say (photolm.wording.counted): "1 example
photo", "2 catalogued photos show it", never "photo(s)" or "1 workers"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clirun import cli
from tests.tinybundle import write_photo

CYAN = (20, 200, 210)  # far from every shipped colour in the tiny model
PINK = (250, 150, 200)


def test_learn_says_one_photo_and_two_photos_right(env: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    write_photo(lib / "cyan0.jpg", CYAN)
    for i in range(2):
        write_photo(lib / f"pink{i}.jpg", (PINK[0], PINK[1] + i, PINK[2]))
    assert cli("scan", lib, "--quiet")[0] == 0
    code, _, err = cli("learn", "Old Bridge", lib / "cyan0.jpg")
    assert code == 0, err
    assert "learned Old Bridge: 1 example photo (1 new); 1 catalogued photo shows it now" \
        in err, err
    code, _, err = cli("learn", "Pink Market", lib / "pink0.jpg", lib / "pink1.jpg")
    assert code == 0, err
    assert "learned Pink Market: 2 example photos (2 new); 2 catalogued photos show it now" \
        in err, err
    assert "(s)" not in err


@pytest.mark.parametrize(("workers", "told"), [
    (1, "1 worker, each reading a photo and running the model on it with 1 onnxruntime "
        "thread: 1 at once"),
    (2, "2 workers, each reading a photo and running the model on it with 2 onnxruntime "
        "threads: 4 at once"),
])
def test_info_says_one_worker_and_two_workers_right(
        env: Path, monkeypatch: pytest.MonkeyPatch, workers: int, told: str) -> None:
    import photolm.scan as scan_module

    threads = scan_module.Concurrency(workers=workers, threads_per_run=workers,
                                      in_workers=True)
    monkeypatch.setattr(scan_module, "concurrency", lambda embedder, options: threads)
    code, out, err = cli("info")
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("  scan threads"))
    assert told in line and "(s)" not in out, line


@pytest.mark.parametrize("count", [1, 2])
def test_scan_and_info_say_one_and_two_photos_and_hidden_files_right(
        env: Path, tmp_path: Path, count: int) -> None:
    lib = tmp_path / "lib"
    for i in range(count):
        write_photo(lib / f"photo{i}.jpg", CYAN)
        write_photo(lib / f".hidden{i}.jpg", CYAN)
    code, _, err = cli("scan", lib)
    assert code == 0, err
    hidden = "1 hidden file skipped" if count == 1 else "2 hidden files skipped"
    assert hidden in err and "(s)" not in err, err
    code, out, err = cli("info")
    assert code == 0, err
    found = "1 photo found" if count == 1 else "2 photos found"
    assert found in out, out
