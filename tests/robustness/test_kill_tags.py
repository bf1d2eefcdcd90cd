# SPDX-License-Identifier: GPL-3.0-or-later
"""``kill -9`` while tags are written: every original is byte-identical or correctly tagged,
never damaged, and the next run leaves no temporary file behind.

The writer runs as a subprocess (tests/robustness/slowtag.py) that pauses between the
verified temporary file and the rename. Each trial waits until a random number of photos is
done (0 included: the kill may land during start-up), then a random fraction of one photo's
time, and kills: so kills land while planning, while writing or verifying the temporary file,
while it waits to be renamed, and between photos, on a fast machine as on a slow one.
After each kill every photo is checked on its own: either its bytes are exactly the
original's, or photolm's marker reads back and its image data are byte-identical to the
original's (``check_same_image_data``) with the camera EXIF (make, model, date, GPS,
orientation) intact.
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from photolm.metadata import TEMP_PREFIX, atomic, read_photolm_marker
from photolm.metadata.atomic import remove_stale_temps
from photolm.metadata.imagedata import check_same_image_data
from tests.conftest import REPO
from tests.tags.photos import make_photo

PHOTOS = 12
TRIALS = 6
PAUSE = 0.08  # seconds each rewrite waits between its verified temporary file and the rename
SEED = int(os.environ.get("PHOTOLM_KILL_SEED", "20240607"))
XP_KEYWORDS = 0x9C9E

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _writer(photos: Path, mode: str, pause: float, progress: Path | None = None
            ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SLOW_REPLACE": str(pause)}
    if progress is not None:
        env["SLOW_PROGRESS"] = str(progress)
    return subprocess.Popen([sys.executable, "-m", "tests.robustness.slowtag", str(photos), mode],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


def _exif(data: bytes) -> dict[str, object]:
    """EXIF values by IFD, without what a rewrite legitimately changes: the offsets of the
    sub-IFDs and XPKeywords, the one EXIF field photolm adds (for Windows)."""
    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()
        top = {k: v for k, v in exif.items() if k not in (*ExifTags.IFD, XP_KEYWORDS)}
        return {"0th": top, **{ifd.name: dict(exif.get_ifd(ifd))
                               for ifd in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo)}}


def _state(photo: Path, original: bytes, mode: str) -> str:
    """"original" or "tagged"; fails the test for anything else (a damaged photo)."""
    data = photo.read_bytes()
    if mode == "sidecar":
        assert data == original, f"{photo.name}: sidecar mode changed the photo"
        sidecar = photo.with_name(photo.name + ".xmp")
        if not sidecar.exists():
            return "original"
    elif data == original:
        return "original"
    else:
        check_same_image_data("jpeg", original, data)  # raises on any pixel-data change
        assert _exif(data) == _exif(original), f"{photo.name}: camera EXIF changed"
    marker = read_photolm_marker(photo)
    assert marker is not None and marker.landmark_name == "Eiffel Tower", photo.name
    return "tagged"


@pytest.mark.parametrize("mode", ["embed", "sidecar"])
def test_sigkill_during_tag_writing_never_damages_a_photo(tmp_path: Path, mode: str) -> None:
    rng = random.Random(SEED)
    aims = [rng.randrange(PHOTOS - 1) for _ in range(TRIALS)]
    aims[0] = 0  # one kill before the first photo is done
    report = []
    leftovers = 0
    for trial, aim in enumerate(aims):
        photos = tmp_path / f"t{trial}"
        photos.mkdir()
        originals = {make_photo(photos / f"p{i:02d}.jpg"): b"" for i in range(PHOTOS)}
        originals = {p: p.read_bytes() for p in originals}
        progress = tmp_path / f"progress{trial}"

        proc = _writer(photos, mode, PAUSE, progress)
        deadline = time.monotonic() + 60
        while aim and time.monotonic() < deadline and proc.poll() is None:
            if progress.exists() and int(progress.read_text() or 0) >= aim:
                break
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 1.5 * PAUSE) if aim else rng.uniform(0.05, 0.4))
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        states = [_state(p, b, mode) for p, b in originals.items()]
        leftovers += len(_temps(photos))

        # The next run completes, tags everything and removes what the killed one left.
        done = _writer(photos, mode, 0)
        _, err = done.communicate(timeout=120)
        assert done.returncode == 0, err.decode()
        assert _temps(photos) == [], "temporary files left after the next run"
        assert [_state(p, b, mode) for p, b in originals.items()] == ["tagged"] * PHOTOS
        report.append((aim, alive, states.count("tagged")))
    print(f"kill -9 during tagging ({mode}, seed {SEED}): (aimed after photo, alive, tagged) "
          f"{sorted(report)}; temporary files left by kills: {leftovers}")
    assert all(alive for _, alive, _ in report), report  # every kill hit a running writer
    assert all(aim <= tagged < PHOTOS for aim, _, tagged in report), report


def test_stale_temporary_files_of_dead_writers_only_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{TEMP_PREFIX}{dead.pid}-abcd1234-p.jpg"
    live = tmp_path / f"{TEMP_PREFIX}{os.getppid()}-abcd1234-q.jpg"  # a running process
    mine = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-abcd1234-r.jpg"
    other = tmp_path / ".photolm-tmp-notapid-s.jpg"
    photo = tmp_path / "p.jpg"
    for path in (stale, live, mine, other, photo):
        path.write_bytes(b"x")
    assert remove_stale_temps(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, mine, other, photo))
    assert remove_stale_temps(tmp_path) == []  # looked at once per process


HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_dead_writers_temporary_file_goes_even_when_its_pid_was_reused(
        tmp_path: Path) -> None:
    """On a busy machine a killed writer's pid is soon another process's (threads take pids
    too): the file lock, not the pid, tells a live writer from a dead one."""
    old = time.time() - 60
    reused = tmp_path / f"{TEMP_PREFIX}{os.getppid()}-abcd1234-p.jpg"  # that pid runs
    held = tmp_path / f"{TEMP_PREFIX}{os.getppid()}-abcd1234-q.jpg"  # ... and this one is live
    just_made = tmp_path / f"{TEMP_PREFIX}{os.getppid()}-abcd1234-r.jpg"  # not locked yet
    for path in (reused, held, just_made):
        path.write_bytes(b"x")
    for path in (reused, held):
        os.utime(path, (old, old))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(held)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert remove_stale_temps(tmp_path) == [reused]
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert held.exists() and just_made.exists()


def test_a_writer_holds_its_temporary_file_locked_until_the_rename(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    target = tmp_path / "photo.jpg"
    target.write_bytes(b"old")
    probed: list[Path] = []

    def probe(temp: Path, _target: Path) -> None:
        fd = os.open(temp, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        probed.append(temp)

    monkeypatch.setattr(atomic, "before_replace", probe)
    atomic.replace_file(target, b"new", verify=lambda _p: None, original=target.stat())
    assert probed and target.read_bytes() == b"new" and not probed[0].exists()
