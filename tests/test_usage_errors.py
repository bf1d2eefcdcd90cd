# SPDX-License-Identifier: GPL-3.0-or-later
"""Usage errors read like every other photolm error: one ``Error:`` line naming the problem
and the command's ``--help``, exit status 2 (README), never typer's usage line + boxed
message."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from tests.clirun import cli

CASES = [  # (arguments, what the line must name, the command whose --help it points at)
    (("places", "--min-photos", "1"), "'--min-photos'", "photolm places"),
    (("list", "--margin", "7"), "'--margin'", "photolm list"),
    (("list", "--no-such-flag"), "No such option: --no-such-flag", "photolm list"),
    (("learn",), "Missing argument 'NAME'", "photolm learn"),
    (("places", "name"), "Missing argument 'ID'", "photolm places name"),
    (("frobnicate",), "No such command 'frobnicate'", "photolm"),
    (("--no-such-flag",), "No such option: --no-such-flag", "photolm"),
    (("scan", "--device", "tpu", "."), "'tpu'", "photolm scan"),
    # click's parser gives this one no context: the chosen command is named instead
    (("confirm", "x.jpg", "--landmark"), "'--landmark' requires an argument", "photolm confirm"),
    (("search", "--json=3", "x"), "'--json' does not take a value", "photolm search"),
    # options that cannot go together, which photolm itself refuses
    (("list", "--errors", "--uncertain"), "--errors and --uncertain", "photolm list"),
    (("confirm", "x.jpg", "--none", "--clear"), "--landmark, --none and --clear",
     "photolm confirm"),
    (("scan", ".", "--embed"), "only apply with --write-tags", "photolm scan"),
    (("learn", "X", "x.jpg", "--lat", "1"), "--lat and --lon", "photolm learn"),
]


@pytest.mark.parametrize(("args", "problem", "command"), CASES)
def test_a_usage_error_is_one_line_naming_the_problem_and_the_help(
        args: tuple[str, ...], problem: str, command: str) -> None:
    code, out, err = cli(*args)
    assert code == 2 and out == "", (args, out, err)
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert problem in err and err.rstrip().endswith(f"See `{command} --help`."), err


def test_on_an_80_column_terminal_it_is_still_one_line_without_a_box(
        terminal: io.StringIO) -> None:
    code, _, _ = cli("places", "--min-photos", "1")
    shown = terminal.getvalue()
    assert code == 2 and shown.count("\n") == 1, shown
    assert "Error:" in shown and "╭" not in shown and "Usage:" not in shown, shown


def test_through_a_pipe_python_dash_m_names_photolm() -> None:
    res = subprocess.run([sys.executable, "-m", "photolm", "list", "--margin", "7"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and res.stdout == "", res
    (line,) = res.stderr.splitlines()
    assert line.startswith("Error: Invalid value for '--margin'"), line
    assert line.endswith("See `photolm list --help`."), line


def test_help_and_version_still_render() -> None:
    code, out, err = cli("list", "--help")
    assert code == 0 and "Usage: photolm list [OPTIONS]" in out and "--margin" in out, err
    code, out, _ = cli("places", "name", "--help")
    assert code == 0 and "Usage: photolm places name" in out
    code, out, err = cli()  # no command: the help, as before
    assert "Usage: photolm [OPTIONS] COMMAND" in out + err and "Error" not in out + err
    assert cli("--version")[:2] == (0, f"photolm {__import__('photolm').__version__}\n")


def _range_options() -> list[tuple[tuple[str, ...], str, str]]:
    """Every option of every command with a min or max: (command words, option, a value
    outside the range)."""
    import typer.main

    from photolm.cli.app import app

    found = []

    def walk(command: object, words: tuple[str, ...]) -> None:
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*words, name))
        for param in getattr(command, "params", []):
            low, high = getattr(param, "min", None), getattr(param, "max", None)
            if (low is None and high is None) or not param.opts[0].startswith("--"):
                continue
            found.append((words, param.opts[0], str(low - 1 if low is not None else high + 1)))

    walk(typer.main.get_command(app), ())
    return found


RANGES = _range_options()


def test_the_range_options_are_found() -> None:
    assert {opt for _, opt, _ in RANGES} >= {"--limit", "--margin", "--batch-size", "--port"}


@pytest.mark.parametrize(("words", "option", "value"), RANGES,
                         ids=[f"{' '.join(w)} {o}" for w, o, _ in RANGES])
def test_a_value_out_of_range_is_named_with_its_option(words: tuple[str, ...], option: str,
                                                       value: str) -> None:
    code, out, err = cli(*words, option, value)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert f"Invalid value for '{option}'" in err and f": '{value}' (input should be" in err, err


def test_a_value_that_is_no_number_is_named() -> None:
    code, _out, err = cli("list", "--margin", "abc")
    assert code == 2
    assert err.startswith("Error: Invalid value for '--margin': 'abc' (input should be a "
                          "valid number"), err


@pytest.mark.parametrize("command", ["tag", "untag"])
def test_help_names_the_path_that_matches_nothing_among_exit_1s_cases(command: str) -> None:
    """README: these commands also exit 1 in the cases their --help names, a path that
    matches nothing among them (and they do: tests/tags, test_search_list)."""
    code, out, _ = cli(command, "--help")
    assert code == 0
    said = " ".join(out.replace("│", " ").split())
    assert "1 when some could not be or a path given matches no catalogued photo" in said
