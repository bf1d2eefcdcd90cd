# SPDX-License-Identifier: GPL-3.0-or-later
"""What a person sees: progress on a terminal, nothing of it in a pipe or with --json."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from rich.console import Console

from photolm.cli import output
from tests.clirun import cli as run
from tests.tinybundle import COLOURS, write_photo


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    write_photo(root / "eiffel.jpg", COLOURS["eiffel-tower"])
    write_photo(root / "colosseo.jpg", COLOURS["colosseum"])
    return root


def test_scan_shows_its_progress_bar_on_a_terminal_only(library: Path, env: Path,
                                                        terminal: io.StringIO) -> None:
    code, _, _ = run("scan", library, "--quiet")
    assert code == 0 and "scanning" not in terminal.getvalue()
    run("scan", library, "--force")
    assert "scanning" in terminal.getvalue() and "photos/s" in terminal.getvalue()
    terminal.truncate(0)
    code, out, _ = run("scan", library, "--force", "--json")
    assert code == 0 and json.loads(out)["processed"] == 2
    assert "scanning" not in terminal.getvalue()



def test_learn_and_unlearn_bars_name_their_stage(library: Path, env: Path,
                                                  terminal: io.StringIO) -> None:
    assert run("scan", library, "--quiet")[0] == 0
    assert run("learn", "Red Square", library / "eiffel.jpg")[0] == 0
    assert "re-matching" in terminal.getvalue() and "working" not in terminal.getvalue()
    terminal.truncate(0)
    assert run("unlearn", "Red Square")[0] == 0
    assert "re-matching" in terminal.getvalue() and "working" not in terminal.getvalue()


def test_a_learn_line_wraps_between_words_on_a_terminal(
        library: Path, env: Path, terminal: io.StringIO,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An 80-column terminal cut a long line of talk mid-word ("show it n" / "ow"); on a
    terminal it wraps between words, in a pipe it stays one line for grep."""
    assert run("scan", library, "--quiet")[0] == 0
    assert run("learn", "Old Bridge", library / "eiffel.jpg")[0] == 0
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", terminal.getvalue())
    lines = [line.rstrip() for line in shown.splitlines()
             if line.strip() and "━" not in line]  # not the progress bar's own lines
    assert len(lines) == 2 and all(len(line) <= 80 for line in lines), lines
    monkeypatch.setattr(output, "err", Console(stderr=True, width=80, soft_wrap=True,
                                               highlight=False))
    assert run("unlearn", "Old Bridge")[0] == 0
    code, _, err = run("learn", "Old Bridge", library / "eiffel.jpg")
    assert code == 0 and len(err.strip().splitlines()) == 1, err  # a pipe: one line
    assert " ".join(lines) == err.strip()  # the same words, none cut in two


def test_the_rate_shown_is_the_rate_since_the_start_not_a_burst() -> None:
    """A scan advances its bar photo by photo as a batch of 16 is committed, all at once."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    with output.progress_bar("scanning", show=True, rate="photos/s", console=console) as bar:
        bar.start(100)
        time.sleep(0.5)
        for _ in range(16):
            bar.advance()
    shown = [float(r) for r in re.findall(r"([0-9.]+) photos/s", screen.getvalue())]
    assert shown and max(shown) <= 16 / 0.5, shown


def test_scan_summary_keeps_its_number_column_narrow(library: Path, env: Path,
                                                     terminal: io.StringIO,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The model line is a sentence: inside the right-aligned number column it pushed every
    count far right of its label; it is a line of its own under the table."""
    from photolm.cli import scan

    monkeypatch.setattr(scan, "err", output.err)  # the summary's console: the 80 columns
    code, _, _ = run("scan", library)
    assert code == 0
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip()
             for line in terminal.getvalue().splitlines()]
    model = [line for line in lines if "CPUExecutionProvider" in line]
    assert len(model) == 1 and re.fullmatch(r"model: \S+ on CPUExecutionProvider", model[0])
    # the counts' column is as wide as its widest value, the speed ("2.5 photos/s")
    found = next(line for line in lines if line.startswith("photos found"))
    speed = next(line for line in lines if line.startswith("speed")).split(None, 1)[1]
    count = found.split()[2]
    edge = len("re-matched (new prototypes)") + 2 + len(speed.strip())
    assert found.index(count) + len(count) == edge


def test_a_stacked_row_whose_cells_do_not_fit_one_line_names_one_cell_a_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A path wider than the terminal stacks its row; cells too long for one line then go
    one a line, labels aligned, a long value folded under itself, never under its label."""
    screen = io.StringIO()
    monkeypatch.setattr(output, "out", Console(file=screen, force_terminal=True, width=40,
                                               soft_wrap=True, highlight=False))
    path = "/photos/" + "a long folder name/" * 3 + "IMG_0001.jpg"
    name = "Brihadeeswarar Temple of Thanjavur in Tamil Nadu"
    output.print_rows("", [output.Column("path", path=True), output.Column("landmark"),
                           output.Column("score", justify="right")], [[path, name, "0.91"]])
    lines = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue()).splitlines()
    assert lines[0] == path and all(len(line) <= 40 for line in lines[1:]), lines
    assert lines[1].startswith("    landmark  Brihadeeswarar") and lines[-1] == \
        "    score     0.91", lines
    folded = lines[2:-1]
    assert folded and all(line.startswith(" " * 14) and line.strip() for line in folded)
    assert " ".join(line.strip() for line in [lines[1][14:], *folded]) == name

