# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way the export commands write their reports and records (photolm-export --report,
export.unseen exclude/floor --out): checked before the work, one line when writing fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.errors import ExportError
from export.report_files import check_writable, write_json


def test_a_report_in_missing_folders_is_written_and_the_check_makes_nothing(
        tmp_path: Path) -> None:
    target = tmp_path / "new" / "sub" / "report.json"
    check_writable(target, "--report")
    assert not (tmp_path / "new").exists()  # a refused run leaves no folders behind
    write_json(target, {"name": "Tour Eiffel", "top1": 0.5}, "--report")
    assert target.read_text(encoding="utf-8") == \
        '{\n  "name": "Tour Eiffel",\n  "top1": 0.5\n}\n'


@pytest.mark.parametrize(("where", "says"), [
    ("folder", "it is a folder; give --out a file name"),
    ("under a file", "is a file, not a folder"),
])
def test_what_cannot_be_a_file_is_refused_in_one_line(tmp_path: Path, where: str,
                                                       says: str) -> None:
    (tmp_path / "a-file").write_text("keep")
    target = tmp_path if where == "folder" else tmp_path / "a-file" / "sub" / "r.json"
    with pytest.raises(ExportError) as caught:
        check_writable(target, "--out")
    message = str(caught.value)
    assert message.startswith(f"Cannot write --out {target}: ") and says in message
    assert "\n" not in message


def test_a_write_that_fails_after_the_work_says_what_was_kept(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    check_writable(folder / "floor.json", "--out")
    folder.write_text("a file now")  # the folder's place taken while the work ran
    with pytest.raises(ExportError) as caught:
        write_json(folder / "floor.json", {"floor": 0.4}, "--out",
                   kept="the record is on stdout")
    message = str(caught.value)
    assert message.startswith(f"Cannot write --out {folder / 'floor.json'}: ")
    assert "(the record is on stdout)" in message and "\n" not in message
    assert folder.read_text() == "a file now"
