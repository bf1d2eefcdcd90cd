# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m export.gate``, ``export.unseen`` and ``export.results`` answer as
``photolm-export``, ``export.descriptor`` and ``trainer`` do: ``-h`` is ``--help``; a mistyped
command line, a missing or wrong bundle path is one ``Error:`` line (no click usage block, no
boxed message, no traceback), the usage ones with exit status 2, the others 1."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

TOOLS = ("gate", "unseen", "results", "descriptor")


def _run(tool: str, argv: list[str], capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """``python -m export.TOOL ARGV``, in-process."""
    monkeypatch.setattr(sys, "argv", [f"python -m export.{tool}", *argv])
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(f"export.{tool}").main()
    out, err = capsys.readouterr()
    code = exit_.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


def _bundle_argv(tool: str, bundle: Path, tmp_path: Path) -> list[str]:
    """A command line that is right but for ``bundle``."""
    if tool == "results":
        return [str(bundle)]
    if tool == "unseen":
        held = tmp_path / "held_out.json"
        held.write_text(json.dumps({"held_out": ["eiffel-tower"]}))
        return ["floor", str(bundle), str(tmp_path), "--held-out", str(held)]
    out = ["--out", str(tmp_path / "out")] if tool == "descriptor" else []
    return [str(bundle), *out, "--known", str(tmp_path), "--negatives", str(tmp_path)]


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: "), err
    assert "Traceback" not in err and "Usage:" not in err and "Try '" not in err
    return lines[0]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("given", ["missing", "folder without a bundle"])
def test_a_path_that_holds_no_bundle_is_one_line_saying_what_to_give(
        tool: str, given: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "my-bundle"
    if given != "missing":
        bundle.mkdir()
        (bundle / "notes.txt").write_text("not a bundle")
    code, out, err = _run(tool, _bundle_argv(tool, bundle, tmp_path), capsys, monkeypatch)
    assert code == 1 and out == ""
    what = "does not exist" if given == "missing" else "is not a model bundle (no manifest.json)"
    # the tool's own advice: photolm's ("Pass --model ..., or unset PHOTOLM_MODEL") names
    # options these tools do not have
    assert _one_error_line(err) == (f"Error: {bundle} {what}; give the folder photolm-export "
                                    "wrote (its --out).")


BAD_COMMAND_LINES: dict[str, list[tuple[list[str], str]]] = {
    "gate": [(["b", "--known", "k", "--negatives", "n", "--bogus"],
              "No such option: --bogus"),
             (["b", "--negatives", "n", "--known"], "Option '--known' requires an argument")],
    "unseen": [(["exclude", "d", "--out", "o", "--count", "abc"],
                "Invalid value for '--count': 'abc'"),
               (["bogus"], "No such command 'bogus'")],
    "results": [(["a", "b"], "Got unexpected extra argument(s) (b)"),
                (["a", "--bogus"], "No such option: --bogus")],
    "descriptor": [(["b", "--out", "o", "--known", "k", "--negatives", "n", "--per-landmark",
                     "2"], "Invalid value for '--per-landmark': '2'")],
}


@pytest.mark.parametrize(("tool", "argv", "says"), [
    (tool, argv, says) for tool, cases in BAD_COMMAND_LINES.items() for argv, says in cases])
def test_a_mistyped_command_line_is_one_error_line_pointing_at_help(
        tool: str, argv: list[str], says: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _run(tool, argv, capsys, monkeypatch)
    assert code == 2 and out == ""
    line = _one_error_line(err)
    assert says in line
    command = f"python -m export.{tool}" + (f" {argv[0]}" if tool == "unseen"
                                            and argv[0] == "exclude" else "")
    assert line.endswith(f"See `{command} --help`."), line


@pytest.mark.parametrize(("tool", "argv"), [
    ("gate", ["-h"]), ("results", ["-h"]), ("unseen", ["-h"]), ("unseen", ["floor", "-h"]),
    ("descriptor", ["-h"])])
def test_dash_h_is_help(tool: str, argv: list[str],
                        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _run(tool, argv, capsys, monkeypatch)
    assert code == 0 and err == ""
    assert out.startswith(f"Usage: python -m export.{tool} ")
    assert "-h, --help" in out
    assert "╭" not in out  # plain help, as photolm-export and trainer print it
