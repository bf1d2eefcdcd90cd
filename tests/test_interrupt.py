# SPDX-License-Identifier: GPL-3.0-or-later
"""Ctrl-C during a scan stops cleanly and keeps every batch finished so far.

The scan runs in a subprocess whose decoding is slowed, and whose decode of photo ``HOLD_AT``
waits (up to a minute) for a gate file: so however slow or fast the machine, the SIGINT
always lands in a running scan, after some batches are stored and before the last one. The
gate is opened right after the signal so the decode thread the scan waits for on its way
out returns at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photolm.catalog import Catalog
from tests.tinybundle import COLOURS, write_photo

HOLD_AT = 40  # of 80 photos

SLOW_SCAN = """
import os, signal, sys, time
# A shell that starts the test run in the background (`bash .ci/run &`, nohup ... &) hands
# its children SIGINT ignored, and Python then installs no Ctrl-C handler; a person at a
# terminal has one, so the scan under test gets Python's default handler back.
signal.signal(signal.SIGINT, signal.default_int_handler)
import photolm.scan as scan
real = scan.read_photo
gate, hold_at, decoded = sys.argv[2], int(sys.argv[3]), [0]
def slow(*a, **k):
    decoded[0] += 1
    time.sleep(0.05)
    if decoded[0] == hold_at:  # the scan cannot finish before the test's Ctrl-C
        deadline = time.monotonic() + 60
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.02)
    return real(*a, **k)
scan.read_photo = slow
from photolm.cli.app import main
sys.argv = ["photolm", "scan", sys.argv[1], "--batch-size", "4", "--workers", "1", "--json"]
main()
"""


def test_sigint_keeps_finished_batches_and_next_scan_completes(
    tmp_path: Path, tiny_bundle_dir: Path
) -> None:
    photos = tmp_path / "photos"
    colours = list(COLOURS.values())
    for i in range(80):
        write_photo(photos / f"p{i:03d}.jpg", colours[i % len(colours)])
    catalog = tmp_path / "cat.sqlite"
    env = {**os.environ, "PHOTOLM_MODEL": str(tiny_bundle_dir), "PHOTOLM_CATALOG": str(catalog)}
    gate = tmp_path / "gate"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SCAN, str(photos), str(gate),
                             str(HOLD_AT)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some batches are stored
        time.sleep(0.2)
        if catalog.exists():
            try:
                with Catalog.open(catalog, write=False) as cat:
                    if cat.stats()["photos"] >= 8:
                        break
            except Exception:  # the catalogue may be mid-creation; poll again
                continue
    assert proc.poll() is None, "the scan ended before it was interrupted"
    proc.send_signal(signal.SIGINT)
    gate.touch()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    with Catalog.open(catalog, write=False) as cat:
        kept = cat.stats()["photos"]
    assert 8 <= kept < HOLD_AT
    assert kept % 4 == 0  # whole batches only

    done = subprocess.run([sys.executable, "-m", "photolm", "scan", str(photos), "--json"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Catalog.open(catalog, write=False) as cat:
        assert cat.stats()["photos"] == 80


# Every command a person may stop with Ctrl-C while it works on the catalogue (scan and
# export-dataset have their own tests above and in test_export_dataset_cli.py).
STOPPED = [["list"], ["search", "eiffel"], ["landmarks"], ["info"], ["tag"], ["untag"],
           ["confirm", "PHOTO", "-l", "Eiffel Tower"], ["prune"],
           ["learn", "Old Bridge", "PHOTO"], ["unlearn", "Old Bridge"], ["places"],
           ["places", "name", "1", "Old Bridge"]]


@pytest.mark.parametrize("command", STOPPED, ids=lambda c: " ".join(c[:2]))
def test_every_command_stopped_by_ctrl_c_says_so_in_one_line_and_exits_130(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """README: every command exits 130 when Ctrl-C stopped it, with one `Error:` line."""
    from tests.clirun import cli

    photo = write_photo(tmp_path / "lib" / "eiffel.jpg", COLOURS["eiffel-tower"])
    assert cli("scan", photo.parent, "--quiet")[0] == 0

    def ctrl_c(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Catalog, "open", ctrl_c)
    code, out, err = cli(*[str(photo) if a == "PHOTO" else a for a in command])
    assert (code, err) == (130, "Error: interrupted.\n"), (code, err)
    assert out == ""  # nothing half-printed for a script to read
