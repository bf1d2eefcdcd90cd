# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm list`` on a terminal streams: it draws what it drew when it held every photo
(a table, or one block a photo when paths make the table too wide), its memory does not
grow with the catalogue, and blocks are on the screen before the last photo is read
(docs/performance.md, "list" on a terminal)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from photolm.catalog import Catalog, PhotoRecord
from photolm.cli import output
from photolm.cli.output import Column, Row
from tests.clirun import cli as run
from tests.test_list_streaming import _rows, _screen

REPO = Path(__file__).resolve().parents[1]
COLUMNS = [Column("path", path=True), Column("landmark"), Column("score", justify="right"),
           Column("why")]


@pytest.mark.parametrize(("width", "keep", "reads", "table"),
                         [(80, 7, 2, True), (200, 7, 2, True), (80, 100, 1, True),
                          (40, 7, 1, False), (40, 100, 1, False)])
def test_rows_read_as_drawn_look_as_all_rows_drawn_at_once(
    monkeypatch: pytest.MonkeyPatch, width: int, keep: int, reads: int, table: bool
) -> None:
    """The same bytes as print_rows of every row (itself the same as rich's table of all
    rows: tests/test_list_streaming.py), whether the rows fit what is held (one read) or
    not (a table: measured in one read, drawn in a second; blocks: drawn as read)."""
    rows, raws = _rows(60, width, long_why=True)
    notes = [f"note {i}" if i % 7 == 0 else None for i in range(len(rows))]
    screen = _screen(monkeypatch, width)
    output.print_rows("60 photos", COLUMNS, rows, raws=raws,
                      raw_notes=["from its RAW"] * len(rows), notes=notes)
    expected = screen.getvalue()
    calls = []

    def read() -> Iterator[Row]:
        calls.append(1)
        for row, raw, note in zip(rows, raws, notes, strict=True):
            yield Row(row, raw, "from its RAW", note)

    monkeypatch.setattr(output, "_KEEP", keep)
    screen = _screen(monkeypatch, width)
    output.print_row_stream("60 photos", COLUMNS, read, raws=True)
    assert ("┃" in screen.getvalue()) == table
    assert screen.getvalue() == expected
    assert len(calls) == reads


def test_blocks_are_on_the_screen_before_the_last_photo_is_read(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paths too wide for a table: the first blocks are drawn while later photos are still
    to be read."""
    rows, _ = _rows(2000, 5, long_why=False)
    screen = _screen(monkeypatch, 30)
    seen_at: dict[int, str] = {}

    def read() -> Iterator[Row]:
        for i, row in enumerate(rows):
            if i in (600, 1999):
                seen_at[i] = screen.getvalue()
            yield Row(row)

    output.print_row_stream("2000 photos", COLUMNS, read, raws=False)
    first, last = rows[0][0].plain, rows[-1][0].plain
    assert first in seen_at[600] and last not in seen_at[1999]
    assert last in screen.getvalue()


def _catalogue(path: Path, n: int) -> None:
    """``n`` photos as a scan leaves them: most recognised, some below the threshold (their
    "why" says so), a few unreadable."""
    top = [{"landmark_id": "eiffel", "name": "Eiffel Tower", "score": 0.74},
           {"landmark_id": "louvre", "name": "Louvre", "score": 0.61}]
    with Catalog.open(path, write=True) as cat:
        cat.remember_threshold("b1", 0.8)
        for lo in range(0, n, 1000):
            cat.write_results([
                PhotoRecord(f"/p/{i // 500:03d}/IMG_{i:06d}.jpg", 1, i, bundle_id="b1",
                            error="empty file" if i % 97 == 5 else None,
                            **({"landmark_id": "eiffel", "landmark_name": "Eiffel Tower",
                                "score": 0.9} if i % 3 else {}),
                            topk=top) for i in range(lo, min(n, lo + 1000))])


@pytest.mark.parametrize("width", [80, 30])
def test_list_draws_a_catalogue_as_when_it_held_every_photo(
    tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    """``photolm list`` reading its catalogue twice (more photos than it holds: a table) or
    drawing blocks as it reads prints what it prints holding them all."""
    _catalogue(env, 40)
    screen = _screen(monkeypatch, width)
    assert run("list")[0] == 0
    whole = screen.getvalue()
    assert "IMG_000039.jpg" in whole and ("┃" in whole) == (width == 80)
    assert "empty" in whole  # an unreadable photo's cell (wrapped in the table)
    monkeypatch.setattr(output, "_KEEP", 3)
    screen = _screen(monkeypatch, width)
    assert run("list")[0] == 0
    assert screen.getvalue() == whole


_ON_A_TERMINAL = r"""
import fcntl, os, pty, struct, subprocess, sys, termios
columns, args = int(sys.argv[1]), sys.argv[2:]
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns)})
os.close(slave)
shown = b""
while True:
    try:
        chunk = os.read(master, 1 << 16)
    except OSError:
        break
    if not chunk:
        break
    shown = (shown + chunk)[-4096:]
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
sys.stdout.buffer.write(shown)
"""


# photolm as its command line runs it, holding no more than 500 rows (10,000 in use: a
# catalogue large enough to be read twice would make a slow test), its catalogue read
# without a memory map: the map's pages of the file count in the peak, and grow with it
_PHOTOLM = """
import runpy, sys
from photolm.catalog import store
from photolm.cli import output
output._KEEP = 500
store._MMAP_BYTES = 0
sys.argv = ["photolm", *sys.argv[1:]]
runpy.run_module("photolm", run_name="__main__")
"""


def _list_on_a_terminal(catalog: Path, columns: int) -> tuple[int, str]:
    """Peak memory (KB) of ``photolm list`` on a pseudo-terminal ``columns`` wide, in a
    process of its own, and the end of what it drew."""
    done = subprocess.run(
        [sys.executable, "-c", _ON_A_TERMINAL, str(columns), sys.executable, "-c", _PHOTOLM,
         "list", "--catalog", str(catalog)], capture_output=True, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    head, _, shown = done.stdout.partition(b"\n")
    code, peak = map(int, head.split())
    assert code == 0, done.stdout
    return peak, re.sub(r"\x1b\[[0-9;]*m", "", shown.decode("utf-8", "replace"))


@pytest.fixture(scope="module")
def catalogues(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    made = {}
    for n in (1000, 5000):
        made[n] = tmp_path_factory.mktemp("list") / f"{n}.sqlite"
        _catalogue(made[n], n)
    return made


@pytest.mark.parametrize("columns", [80, 30])
def test_list_on_a_terminal_does_not_grow_with_the_catalogue(
    catalogues: dict[int, Path], columns: int
) -> None:
    """Peak memory of ``photolm list`` at 5,000 photos is within 6 MB of its peak at 1,000,
    as a table at 80 columns (more photos than it holds: read twice) and as blocks at 30.
    Held whole, as before, the peak grew 17–23 MB more (docs/performance.md)."""
    peaks = {}
    for n, catalog in catalogues.items():
        peaks[n], shown = _list_on_a_terminal(catalog, columns)
        assert f"IMG_{n - 1:06d}.jpg" in shown  # drawn to the last photo
        assert ("└" in shown) == (columns == 80)  # the table's last line, or a block
    assert peaks[5000] - peaks[1000] < 6 * 1024, peaks


def test_a_scan_writing_between_the_two_reads_changes_nothing_drawn(
    tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table of more photos than ``list`` holds is measured in one read and drawn in a
    second; a scan that wrote in between (a longer path, one more photo) made a row wider
    than measured, its path cut with "…", and the title's count wrong (review finding).
    Both reads and the title see one state of the catalogue."""
    _catalogue(env, 6)
    monkeypatch.setattr(output, "_KEEP", 2)
    screen = _screen(monkeypatch, 80)
    assert run("list")[0] == 0
    before = screen.getvalue()

    reads = 0
    iter_photos = Catalog.iter_photos

    def read_while_a_scan_writes(self: Catalog, **kw: object) -> Iterator[object]:
        nonlocal reads
        reads += 1
        if reads == 2:  # between measuring and drawing
            with Catalog.open(env, write=True) as writer:
                writer.write_results([
                    PhotoRecord("/p/000/IMG_000001.jpg", 1, 1),
                    PhotoRecord("/p/a-much-longer-folder-name-than-any-measured/"
                                "IMG_999999.jpg", 1, 7)])
        yield from iter_photos(self, **kw)

    monkeypatch.setattr(Catalog, "iter_photos", read_while_a_scan_writes)
    screen = _screen(monkeypatch, 80)
    assert run("list")[0] == 0
    assert reads == 2 and screen.getvalue() == before
    assert "…" not in before
