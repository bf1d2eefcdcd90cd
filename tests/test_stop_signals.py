# SPDX-License-Identifier: GPL-3.0-or-later
"""SIGTERM (``kill``, ``timeout``, a service manager's or a NAS scheduler's stop) and SIGHUP
(the terminal closed) stop a command as Ctrl-C does: what was done is kept, a photo being
written is finished first, one line says so, and the exit status is 128 + the signal (143,
129); never a traceback. The commands run as real processes through ``photolm``'s entry
point (tests/stopdriver.py), which send themselves the signal at an exact moment, on real
photos from the shared data copied into the test's folder."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from photolm.catalog import Catalog
from tests.clirun import cli
from tests.conftest import REPO, SHARED
from tests.tags.photos import make_photo
from tests.test_catalog_older_read_only import library, older  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

EIFFEL = SHARED / "data" / "wonders" / "eiffel_tower"
STATUS = {"SIGTERM": 143, "SIGHUP": 129, "SIGINT": 130}


def shared_photos(folder: Path, count: int) -> Path:
    """``count`` real camera photos, copied (writable) into ``folder``."""
    folder.mkdir(parents=True)
    for source in sorted(EIFFEL.glob("*.jpg"))[:count]:
        shutil.copyfile(source, folder / source.name)
    assert len(list(folder.iterdir())) == count
    return folder


def stopped(args: list[str | Path], signame: str, when: str, **extra_env: str
            ) -> subprocess.CompletedProcess[str]:
    """``photolm ARGS`` that sends itself ``signame`` at ``when`` (tests/stopdriver.py)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "STOP_SIGNAL": signame, "STOP_WHEN": when,
           **extra_env}
    return subprocess.run([sys.executable, "-m", "tests.stopdriver", *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def tag_status() -> list[object]:
    code, out, err = cli("list", "--json")
    assert code == 0, err
    return [row["tag_status"] for row in sorted(json.loads(out), key=lambda r: r["path"])]


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_scan_stopped_keeps_whole_batches_says_so_and_the_next_scan_completes(
        env: Path, tmp_path: Path, signame: str) -> None:
    photos = shared_photos(tmp_path / "photos", 12)
    done = stopped(["scan", photos, "--batch-size", "2", "--workers", "1"], signame,
                   "decode:7")
    assert done.returncode == STATUS[signame], done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"Interrupted by {signame}: everything scanned so far is saved; run the same command "
        "again to continue.")
    with Catalog.open(env, write=False) as cat:
        kept = cat.stats()["photos"]
    assert 2 <= kept <= 6 and kept % 2 == 0  # whole batches, stored before the 7th photo
    code, out, err = cli("scan", photos, "--json")
    assert code == 0, err
    assert json.loads(out)["in_these_folders"]["photos"] == 12


def _confirmed_library(tmp_path: Path) -> Path:
    """Four real photos the catalogue knows as the Eiffel Tower (a person confirmed them)."""
    photos = shared_photos(tmp_path / "Pictures", 4)
    assert cli("scan", photos, "--quiet")[0] == 0
    assert cli("confirm", photos, "--landmark", "Eiffel Tower")[0] == 0
    return photos


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_signal_during_a_tag_write_finishes_that_photo_and_untag_restores_every_byte(
        env: Path, tmp_path: Path, signame: str) -> None:
    """The signal arrives as the third of four photos is written: that photo is finished
    and recorded (its way back kept), the fourth is not touched, one line says so."""
    photos = _confirmed_library(tmp_path)
    before = contents(photos)
    done = stopped(["tag", "--embed"], signame, "write:3")
    assert done.returncode == STATUS[signame], done.stderr
    assert done.stderr == (
        f"Error: interrupted by {signame} after 3 photos of 4 were written (kept; `photolm "
        "untag` takes them back); 1 not reached is untouched, and no photo is half-written "
        f"(the one in hand when {signame} came was finished first).\n")
    now = contents(photos)
    assert [now[n] != before[n] for n in sorted(before)] == [True, True, True, False]
    assert tag_status() == ["written", "written", "written", None]
    code, out, err = cli("untag", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"nothing-to-remove": 1, "removed": 3}
    assert contents(photos) == before


def test_ctrl_c_held_while_its_handler_was_sig_dfl_still_stops_after_the_photo(
        env: Path, tmp_path: Path) -> None:
    """A program that runs photolm with SIGINT's handler at ``SIG_DFL`` (the default: stop):
    a Ctrl-C during a write used to be swallowed after the hold and the tagging went on."""
    photos = _confirmed_library(tmp_path)
    before = contents(photos)
    done = stopped(["tag", "--embed"], "SIGINT", "write:2", STOP_SIGINT_DEFAULT="1")
    assert done.returncode == 130, done.stderr
    assert done.stderr == (
        "Error: interrupted after 2 photos of 4 were written (kept; `photolm untag` takes "
        "them back); 2 not reached are untouched, and no photo is half-written (the one in "
        "hand when Ctrl-C came was finished first).\n")
    assert tag_status() == ["written", "written", None, None]
    assert cli("untag")[0] == 0
    assert contents(photos) == before


@pytest.mark.parametrize(("command", "signame"), [
    (["learn", "Old Bridge", "PHOTO"], "SIGTERM"), (["unlearn", "Old Bridge"], "SIGHUP"),
    (["places"], "SIGTERM"), (["prune"], "SIGHUP"), (["export-dataset", "OUT"], "SIGTERM"),
    (["untag"], "SIGHUP"),
], ids=lambda c: c if isinstance(c, str) else c[0])
def test_every_long_command_stopped_by_a_signal_says_so_in_one_line(
        env: Path, tmp_path: Path, command: list[str], signame: str) -> None:
    photos = _confirmed_library(tmp_path)
    photo = sorted(photos.iterdir())[0]
    args = [str(photo) if a == "PHOTO" else str(tmp_path / "set") if a == "OUT" else a
            for a in command]
    done = stopped(args, signame, "open")
    assert (done.returncode, done.stderr) == (STATUS[signame],
                                              f"Error: interrupted by {signame}.\n")
    assert done.stdout == ""


def test_the_temporary_upgraded_copy_is_removed_when_a_signal_stops_the_command(
        older: Path, tmp_path: Path) -> None:  # noqa: F811
    """A catalogue over 1 GiB, older and read-only, is read from a copy in the temp folder;
    SIGTERM used to end the process before its removal at exit."""
    temp = tmp_path / "temp"
    temp.mkdir()
    done = stopped(["list", "--json", "--catalog", older], "SIGTERM", "copy",
                   TMPDIR=str(temp))
    assert done.returncode == 143, done.stderr
    assert done.stderr.splitlines()[-1] == "Error: interrupted by SIGTERM."
    assert "in the temporary file" in done.stderr and "Traceback" not in done.stderr
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_serve_stopped_by_a_signal_finishes_its_job_and_ends_as_ctrl_c_ends_it(
        env: Path, tmp_path: Path, signame: str) -> None:
    """`serve` ends with status 0 on SIGTERM and SIGHUP, as on Ctrl-C (README): stopping
    is how it ends, and a service manager reads 143 as a failure. A tag job running in it is
    stopped after the photo in hand and waited for, so every photo it tagged is recorded;
    before, the process was killed mid-job (SIGHUP at once, SIGTERM once the server had
    shut down)."""
    pytest.importorskip("uvicorn")
    photos = _confirmed_library(tmp_path)
    mark = tmp_path / "serving"
    env_vars = {**os.environ, "PYTHONPATH": str(REPO), "STOP_WHEN": "job",
                "STOP_MARK": str(mark)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.stopdriver", "serve", "--no-browser",
                             "--port", "0"], cwd=REPO, env=env_vars,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline()  # printed as it starts to listen
    assert url.startswith("http://127.0.0.1:"), proc.communicate(timeout=30)
    deadline = time.monotonic() + 60
    while not mark.exists() and time.monotonic() < deadline:  # uvicorn accepts connections
        time.sleep(0.05)
    proc.send_signal(getattr(signal, signame))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Error" not in err
    assert "Stopping the running job (Writing tags) after the photo in hand" in err
    assert_tagged_are_recorded(photos)


def assert_tagged_are_recorded(photos: Path) -> None:
    """The job stopped after some of the four photos, and each it tagged is recorded so."""
    sidecars = sorted(p.name.removesuffix(".xmp") for p in photos.glob("*.xmp"))
    assert 1 <= len(sidecars) < 4  # stopped mid-job, after some photos
    code, out, err = cli("list", "--json")
    assert code == 0, err
    recorded = sorted(Path(r["path"]).name for r in json.loads(out)
                      if r["tag_status"] == "written")
    assert recorded == sidecars


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """Python's Ctrl-C handler in this process, as a person at a terminal has it (a test run
    started in the background has SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_second_ctrl_c_while_a_photo_is_written_finishes_it_and_keeps_every_record(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ctrl_c_raises: None
) -> None:
    """Ctrl-C pressed twice ("stop now") while the third photo is written, and once more
    while the photos written are recorded on the way out: stopping mid-write would leave a
    photo rewritten without its way back, so that photo is finished, the closing line says
    so, and the records of all three are kept (the last press used to drop them)."""
    import photolm.tagging as tagging

    photos = _confirmed_library(tmp_path)
    before = contents(photos)
    real_write, real_record, writes = tagging._write_one, Catalog.record_tags, []

    def write_one(*args, **kwargs):  # type: ignore[no-untyped-def]
        writes.append(1)
        if len(writes) == 3:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
        return real_write(*args, **kwargs)

    def record_tags(self, records):  # type: ignore[no-untyped-def]
        signal.raise_signal(signal.SIGINT)
        return real_record(self, records)

    monkeypatch.setattr(tagging, "_write_one", write_one)
    monkeypatch.setattr(Catalog, "record_tags", record_tags)
    code, _out, err = cli("tag", "--embed")
    assert (code, err) == (130, (
        "Error: interrupted after 3 photos of 4 were written (kept; `photolm untag` takes "
        "them back); 1 not reached is untouched, and no photo is half-written (the one in "
        "hand when Ctrl-C came was finished first).\n"))
    monkeypatch.setattr(tagging, "_write_one", real_write)
    monkeypatch.setattr(Catalog, "record_tags", real_record)
    assert tag_status() == ["written", "written", "written", None]
    assert cli("untag")[0] == 0
    assert contents(photos) == before


FAKE_TERMINAL_EXIFTOOL = """#!{python}
# The first ExifTool run sends SIGINT to photolm's process group, as a terminal sends Ctrl-C
# to its whole foreground group, then runs the real ExifTool.
import os, signal, sys, time
if not os.path.exists({marker!r}):
    open({marker!r}, "w").close()
    os.killpg(os.getpgid(os.getppid()), signal.SIGINT)
    time.sleep(0.3)
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def test_a_terminal_ctrl_c_does_not_kill_exiftool_writing_the_photo_photolm_holds(
        env: Path, tmp_path: Path) -> None:
    """photolm holds Ctrl-C while a HEIC is written through ExifTool; the terminal's Ctrl-C
    also reached ExifTool, in the same process group, which died and failed the photo.
    ExifTool now runs in a session of its own: the photo is written, then photolm stops."""
    real = shutil.which("exiftool")
    if real is None:
        pytest.skip("exiftool is not installed")
    photos = tmp_path / "Pictures"
    photos.mkdir()
    # ExifTool's own HEIC sample (shared data) does not decode; this one is a real encoder's
    heic = make_photo(photos / "IMG_0001.heic")
    assert cli("scan", photos, "--quiet")[0] == 0
    assert cli("confirm", heic, "--landmark", "Eiffel Tower")[0] == 0
    before = heic.read_bytes()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "exiftool"
    fake.write_text(FAKE_TERMINAL_EXIFTOOL.format(python=sys.executable, real=real,
                                                  marker=str(tmp_path / "pressed")))
    fake.chmod(0o755)
    env_vars = {**os.environ, "PYTHONPATH": str(REPO), "STOP_WHEN": "elsewhere",
                "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([sys.executable, "-m", "tests.stopdriver", "tag", "--embed"],
                          cwd=REPO, env=env_vars, capture_output=True, text=True, timeout=120,
                          start_new_session=True)  # its own group, as a terminal's job is
    assert (tmp_path / "pressed").exists()
    assert (done.returncode, done.stderr) == (130, (
        "Error: interrupted after 1 photo of 1 was written (kept; `photolm untag` takes them "
        "back); 0 not reached are untouched, and no photo is half-written (the one in hand "
        "when Ctrl-C came was finished first).\n"))
    assert heic.read_bytes() != before
    assert tag_status() == ["written"]
    assert cli("untag")[0] == 0
    assert heic.read_bytes() == before


def on_a_terminal_closed_when(args: list[str | Path], ready: Callable[[bytes], bool],
                              **extra_env: str) -> tuple[int, bytes]:
    """Run ``photolm ARGS`` (tests/stopdriver.py) on a pseudo-terminal, its controlling
    terminal, and close that terminal as a window is closed once ``ready(what it showed)``:
    the kernel then sends SIGHUP, and every later write to the terminal fails (EIO). Returns
    the exit status and what the terminal showed."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child
        try:
            os.environ.update(PYTHONPATH=str(REPO), **extra_env)
            os.chdir(REPO)
            os.execv(sys.executable, [sys.executable, "-m", "tests.stopdriver",
                                      *map(str, args)])
        finally:
            os._exit(127)
    shown = b""
    deadline = time.monotonic() + 60
    while not ready(shown) and time.monotonic() < deadline:
        if select.select([terminal], [], [], 0.05)[0]:  # keep reading: a full terminal blocks
            shown += os.read(terminal, 65536)
    os.close(terminal)
    if "STOP_MARK" in extra_env:
        Path(f"{extra_env['STOP_MARK']}.go").touch()
    while (waited := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if waited[0] == 0:
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"photolm {args[0]} did not end after its terminal closed")
    return os.waitstatus_to_exitcode(waited[1]), shown


def test_a_closed_terminal_stops_a_scan_with_129_and_keeps_what_it_stored(
        env: Path, tmp_path: Path) -> None:
    """The real SIGHUP: the scan runs on a terminal (its progress bar drawn) that closes at
    its 7th decode. Every later write fails, the scan's closing lines too: it used to end
    with status 1 (a traceback to nowhere), or be killed outright before the stored
    batches were counted as a stopped scan."""
    photos = shared_photos(tmp_path / "photos", 12)
    mark = tmp_path / "mark"
    status, shown = on_a_terminal_closed_when(
        ["scan", photos, "--batch-size", "2", "--workers", "1"], lambda _: mark.exists(),
        STOP_WHEN="wait:7", STOP_MARK=str(mark))
    assert b"scanning" in shown  # it ran as on a person's terminal, progress bar and all
    assert status == 129
    with Catalog.open(env, write=False) as cat:
        kept = cat.stats()["photos"]
    assert 2 <= kept <= 6 and kept % 2 == 0
    code, out, err = cli("scan", photos, "--json")
    assert code == 0, err
    assert json.loads(out)["in_these_folders"]["photos"] == 12


def test_a_closed_terminal_ends_serve_after_its_job_recorded_what_it_tagged(
        env: Path, tmp_path: Path) -> None:
    """`serve` on a terminal that closes while a tag job runs: its line saying it stops the
    job meets the closed terminal (EIO), which used to skip waiting for the job, whose
    records of the photos it tagged were lost with it."""
    pytest.importorskip("uvicorn")
    photos = _confirmed_library(tmp_path)
    mark = tmp_path / "job started"
    status, shown = on_a_terminal_closed_when(["serve", "--no-browser", "--port", "0"],
                                              lambda _: mark.exists(), STOP_WHEN="job",
                                              STOP_MARK=str(mark))
    assert status == 0, shown
    assert_tagged_are_recorded(photos)


def test_a_hangup_asks_the_desktop_server_to_stop_as_ctrl_c_does() -> None:
    """While uvicorn serves, SIGHUP sets its ``should_exit`` (a graceful stop, as its own
    Ctrl-C and SIGTERM handlers do) instead of raising in the middle of whatever the event
    loop runs: raised inside an import, that kept Python's import lock, and a job thread
    importing then waited on it for ever while serve waited for the job (seen as serve not
    ending after its terminal closed). The handler before it comes back afterwards; an
    ignored SIGHUP (nohup) stays ignored."""
    from types import SimpleNamespace

    from photolm.desktop.server import _hangup_stops

    def before(_signum: int, _frame: object) -> None:
        raise AssertionError("photolm's own handler ran while the server served")

    previous = signal.signal(signal.SIGHUP, before)
    try:
        server = SimpleNamespace(should_exit=False)
        with _hangup_stops(server):
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)  # the handler runs between bytecodes of the main thread
        assert server.should_exit is True
        assert signal.getsignal(signal.SIGHUP) is before
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        server = SimpleNamespace(should_exit=False)
        with _hangup_stops(server):
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)
        assert server.should_exit is False
    finally:
        signal.signal(signal.SIGHUP, previous)
