# SPDX-License-Identifier: GPL-3.0-or-later
"""``list``/``search`` on big catalogues: the streamed table and JSON are exactly what the
whole-list rendering printed, and ``search`` stays free of the heavy imports it does not
need (docs/performance.md)."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from photolm.catalog import Catalog
from photolm.cli import output
from photolm.cli.output import Column
from tests.clirun import cli as run
from tests.tinybundle import COLOURS, write_photo

REPO = Path(__file__).resolve().parents[1]
NAMES = ["Eiffel Tower", "Basilica of Bom Jesus", "Chhota Imambara", "Sagrada Família",
         "埃菲尔铁塔", "Brihadeeswarar Temple of Thanjavur", "X"]


def _rich_table(title: str, columns: list[Column], rows: list[list[Text]]) -> None:
    """The whole-table rendering print_rows used before it streamed (rich lays out every
    row): the reference the streamed table must match byte for byte."""
    out = output.out
    widths = [max([len(c.header), *(max(map(cell_len, r[i].plain.split("\n"))) for r in rows)])
              for i, c in enumerate(columns)]
    words = [min(output._MAX_WORD, max([cell_len(w) for r in rows for w in r[i].plain.split()]
                                       or [0])) for i in range(len(columns))]
    table = Table(title=Text(title) if title else None, title_justify="left")
    for column, width, word in zip(columns, widths, words, strict=True):
        if column.unbroken:
            table.add_column(column.header, no_wrap=True, min_width=width,
                             justify=column.justify)
        else:
            table.add_column(column.header, overflow="fold", justify=column.justify,
                             min_width=word)
    for row in rows:
        table.add_row(*(cell.copy() for cell in row))
    needed = sum(w if c.unbroken else min(w, max(12, word))
                 for c, w, word in zip(columns, widths, words, strict=True))
    needed += 3 * len(columns) + 1
    shown = out.width
    try:
        out.width = max(shown, needed)
        out.print(table, crop=False)
    finally:
        out.width = shown


def _rows(n: int, seed: int, long_why: bool) -> tuple[list[list[Text]], list[list[str]]]:
    """Cells as list and search make them: styled verdicts, names that wrap, empty cells,
    wide characters; and RAW companions, drawn on a line under some paths."""
    rng = random.Random(seed)
    rows, raws = [], []
    for i in range(n):
        path = Text(f"/p/{'deep/' * rng.randrange(3)}IMG_{i:04d}.jpg")
        raws.append([f"/p/IMG_{i:04d}.CR2"] if rng.random() < 0.2 else [])
        verdict = rng.choice([Text(rng.choice(NAMES)), Text("no landmark", style="dim"),
                              Text("error: cannot identify image file", style="red")])
        if rng.random() < 0.2:
            verdict.append(" (missing)", style="yellow")
        score = Text(f"{rng.random():.2f}" if rng.random() < 0.8 else "")
        why = Text(rng.choice(["", "confirmed by you", "tagged (embedded)"] + (
            ["best candidate Eiffel Tower 0.41, below the threshold 0.50; GPS agrees: 0.3 km "
             "from it"] if long_why else [])))
        rows.append([path, verdict, score, why])
    return rows, raws


def _screen(monkeypatch: pytest.MonkeyPatch, width: int) -> io.StringIO:
    screen = io.StringIO()
    monkeypatch.setattr(output, "out", Console(file=screen, force_terminal=True, width=width,
                                                soft_wrap=True, highlight=False,
                                                color_system="truecolor"))
    return screen


@pytest.mark.parametrize(("n", "width", "seed", "long_why"),
                         [(1, 80, 0, False), (2, 80, 1, False), (60, 80, 2, False),
                          (60, 100, 3, True), (60, 200, 4, True)])
def test_the_streamed_table_is_what_rich_draws_for_the_whole_table(
    monkeypatch: pytest.MonkeyPatch, n: int, width: int, seed: int, long_why: bool
) -> None:
    """Same bytes (colours, wrapped names, RAW lines, right-aligned scores, the last row's
    border) as rich's table of all the rows, which took 46 s for 100,000 photos."""
    columns = [Column("path", path=True), Column("landmark"), Column("score", justify="right"),
               Column("why")]
    rows, raws = _rows(n, seed, long_why)
    screen = _screen(monkeypatch, width)
    _rich_table(f"{n} photos", columns,
                [[output._with_raw(row[0], ", ".join(map(os.path.basename, raw))), *row[1:]]
                 if raw else row for row, raw in zip(rows, raws, strict=True)])
    expected = screen.getvalue()
    screen = _screen(monkeypatch, width)
    output.print_rows(f"{n} photos", columns, rows, raws=raws)
    got = screen.getvalue()
    assert "┃" in got and "\x1b[" in got  # a table, in colour: not the stacked blocks
    assert got == expected


@pytest.mark.parametrize("width", [30, 40, 46, 120])
def test_a_table_without_paths_shrinks_as_rich_shrinks_it(monkeypatch: pytest.MonkeyPatch,
                                                          width: int) -> None:
    """A table with no path column is never stacked: rich narrows its columns to the
    terminal (a header longer than every cell included), and the streamed table must
    narrow them alike."""
    columns = [Column("landmark"), Column("the three best candidates"),
               Column("threshold", justify="right")]
    short = ["Big Ben", "Tower Bridge", "Old Gate", "Petra", "Taj Mahal", "Hagia Sophia"]
    rng = random.Random(width)
    rows = [[Text(rng.choice(short)), Text(", ".join(rng.sample(short, 3))), Text("0.50")]
            for _ in range(12)]
    screen = _screen(monkeypatch, width)
    _rich_table("12 landmarks", columns, rows)
    expected = screen.getvalue()
    screen = _screen(monkeypatch, width)
    output.print_rows("12 landmarks", columns, rows)
    assert screen.getvalue() == expected


def test_print_json_rows_writes_what_print_json_writes(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    rows = [{"path": "/a/b\nc.jpg", "n": 1, "tags": [], "top": [{"name": "Tour Eiffel",
                                                                 "score": 0.5}], "e": {}},
            {"path": "/x/巴黎.jpg", "n": None, "tags": ["a", "b"], "top": [], "e": {"k": 2}}]
    for data in (rows, rows[:1], []):
        output.print_json(data)
        whole = capsys.readouterr().out
        output.print_json_rows(iter(data))
        assert capsys.readouterr().out == whole


def test_list_json_is_one_json_array_as_before(tmp_path: Path, env: Path) -> None:
    """Streamed row by row, ``list --json`` is still the array ``print_json`` writes: the
    same lines, the same rows; an empty catalogue gives ``[]``."""
    root = tmp_path / "Pictures"
    write_photo(root / "a" / "eiffel.jpg", COLOURS["eiffel-tower"])
    write_photo(root / "b" / "colosseo.jpg", COLOURS["colosseum"])
    (root / "broken.jpg").write_bytes(b"not a photo")
    assert run("scan", root)[0] in (0, 1)
    code, out, _ = run("list", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3
    assert out == json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    empty = tmp_path / "empty.sqlite"
    with Catalog.open(empty, write=True):
        pass
    code, out, _ = run("list", "--json", "--catalog", empty)
    assert code == 0 and out == "[]\n"


_IMPORTS = """
import runpy, sys
sys.argv = ["photolm", *sys.argv[1:]]
try:
    runpy.run_module("photolm", run_name="__main__")
except SystemExit:
    pass
heavy = ("numpy", "onnxruntime", "PIL", "pyexiv2", "photolm.learned")
sys.stderr.write("IMPORTED " + " ".join(m for m in heavy if m in sys.modules) + "\\n")
"""


@pytest.mark.parametrize("command", [["search", "Eiffel Tower"], ["list"], ["list", "--json"]])
def test_search_and_list_do_not_import_numpy_or_the_model_runtime(
    tmp_path: Path, env: Path, command: list[str]
) -> None:
    """Reading the catalogue needs no numpy, onnxruntime or Pillow: importing them cost
    ``search`` a tenth of a second or more of its start-up (docs/performance.md)."""
    root = tmp_path / "Pictures"
    write_photo(root / "eiffel.jpg", COLOURS["eiffel-tower"])
    assert run("scan", root)[0] == 0
    done = subprocess.run([sys.executable, "-c", _IMPORTS, *command], capture_output=True,
                          text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "eiffel.jpg" in done.stdout, done.stderr  # it ran, and found the photo
    assert "IMPORTED \n" in done.stderr, done.stderr


def test_list_in_a_pipe_writes_each_photo_as_before(tmp_path: Path, env: Path) -> None:
    """Streamed in a pipe: the title on stderr, then one tab-separated line per photo (path,
    verdict, score, why), in catalogue order, as the whole-list rendering wrote them."""
    root = tmp_path / "Pictures"
    write_photo(root / "a" / "eiffel.jpg", COLOURS["eiffel-tower"])
    write_photo(root / "b" / "colosseo.jpg", COLOURS["colosseum"])
    (root / "broken.jpg").write_bytes(b"not a photo")
    run("scan", root)
    rows = json.loads(run("list", "--json")[1])
    code, out, err = run("list")
    assert code == 0 and err.startswith("3 photos\n")
    assert out.splitlines() == [
        "\t".join([r["path"], f"could not be read: {r['error']}" if r["error"]
                   else r["landmark"],
                   "" if r["score"] is None else f"{r['score']:.2f}",
                   ""]) for r in rows], out
