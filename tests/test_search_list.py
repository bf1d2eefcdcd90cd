# SPDX-License-Identifier: GPL-3.0-or-later
"""search, list and prune as a person reads them (issue 10, items 10, 13, 14, 16)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from photolm.catalog import Catalog, PhotoRecord
from photolm.cli import output
from tests.clirun import cli as run
from tests.tinybundle import COLOURS, write_photo

REPO = Path(__file__).resolve().parents[1]
LONG = "summer holiday in paris with the whole family/day 3 - the tower at night"


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    write_photo(root / "a" / "eiffel1.jpg", COLOURS["eiffel-tower"])
    write_photo(root / "b" / "eiffel2.jpg", COLOURS["eiffel-tower"])
    write_photo(root / LONG / "IMG_20240801_213012_HDR.jpg", COLOURS["eiffel-tower"])
    write_photo(root / "c" / "colosseo.jpg", COLOURS["colosseum"])
    return root


def _names(out: str) -> list[str]:
    return sorted(Path(r["path"]).name for r in json.loads(out))


def test_search_leaves_out_missing_photos_unless_asked(library: Path, env: Path) -> None:
    assert run("scan", library)[0] == 0
    (library / "a" / "eiffel1.jpg").unlink()
    run("scan", library)  # the scan marks it missing
    code, out, err = run("search", "Eiffel Tower", "--json")
    assert code == 0 and "eiffel1.jpg" not in _names(out)
    code, out, _ = run("search", "Eiffel Tower", "--json", "--include-missing")
    rows = {Path(r["path"]).name: r for r in json.loads(out)}
    assert rows["eiffel1.jpg"]["missing"] is True and rows["eiffel2.jpg"]["missing"] is False
    code, out, err = run("search", "Eiffel Tower")
    assert "eiffel1.jpg" not in out and "1 more whose files are missing" in err
    assert "photolm prune" in err
    code, out, _ = run("search", "Eiffel Tower", "--include-missing")
    line = next(x for x in out.splitlines() if "eiffel1.jpg" in x)
    assert "(file missing)" in line


def test_prune_forgets_missing_photos_after_a_dry_run(library: Path, env: Path) -> None:
    run("scan", library)
    (library / "a" / "eiffel1.jpg").unlink()
    colosseo = library / "c" / "colosseo.jpg"
    away = colosseo.rename(library.parent / "colosseo.jpg")  # e.g. on a drive unplugged
    run("scan", library)
    away.rename(colosseo)  # back on disk, not re-scanned yet
    code, out, err = run("prune", "--dry-run", "--json")
    report = json.loads(out)
    assert code == 0 and report["dry_run"] is True
    assert [Path(p["path"]).name for p in report["photos"]] == ["eiffel1.jpg"]
    assert [Path(p).name for p in report["back_on_disk"]] == ["colosseo.jpg"]
    with Catalog.open(env, write=False) as cat:
        assert cat.get_photo(library / "a" / "eiffel1.jpg") is not None  # dry run: kept
    code, out, err = run("prune")
    assert code == 0 and out.strip().endswith("eiffel1.jpg")
    assert "forgot 1 photo missing" in err and "kept 1 whose files are back" in err
    with Catalog.open(env, write=False) as cat:
        assert cat.get_photo(library / "a" / "eiffel1.jpg") is None
        assert cat.get_photo(library / "c" / "colosseo.jpg") is not None


def test_search_limit_still_says_how_many_match_in_all(library: Path, env: Path) -> None:
    run("scan", library)
    code, out, err = run("search", "Eiffel Tower", "-n", "2")
    assert code == 0 and "2 of 3 photos of Eiffel Tower" in err + out
    code, out, err = run("search", "Eiffel Tower")
    assert "3 photos of Eiffel Tower" in err + out and " of 3" not in err + out


def test_search_takes_an_unquoted_name_of_several_words(library: Path, env: Path) -> None:
    run("scan", library)
    code, out, err = run("search", "eiffel", "tower", "--json")
    assert code == 0, err
    assert _names(out) == ["IMG_20240801_213012_HDR.jpg", "eiffel1.jpg", "eiffel2.jpg"]
    assert run("search", "eiffel", "tower")[2] == run("search", "eiffel tower")[2]


def _terminal(monkeypatch: pytest.MonkeyPatch, width: int = 80) -> io.StringIO:
    screen = io.StringIO()
    monkeypatch.setattr(output, "out", Console(file=screen, force_terminal=True, width=width,
                                                soft_wrap=True, highlight=False))
    return screen


@pytest.mark.parametrize("command", [["list"], ["search", "Eiffel Tower"]])
def test_paths_are_never_broken_on_an_80_column_terminal(
    library: Path, env: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """A path longer than the terminal is never folded; the rows are then drawn one block
    each (the path on its own line, the other cells under it, within the 80 columns), not
    as a table the terminal would wrap into a jumble. A wide terminal gets the table."""
    run("scan", library)
    screen = _terminal(monkeypatch)
    assert run(*command)[0] == 0
    lines = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue()).splitlines()
    long_path = str(library / LONG / "IMG_20240801_213012_HDR.jpg")
    assert len(long_path) > 80 and long_path in lines, lines  # whole, on a line of its own
    assert not any(c in "".join(lines) for c in "┃│┏━")
    at = lines.index(long_path)
    assert "Eiffel Tower" in lines[at + 1] and "score 1.00" in lines[at + 1]
    assert all(len(line) <= 80 for line in lines if not line.startswith(str(library))), lines
    screen = _terminal(monkeypatch, width=len(long_path) + 60)
    assert run(*command)[0] == 0
    wide = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())
    assert "┃" in wide and long_path in wide  # room for a table: a table


@pytest.mark.parametrize("command", [["list"], ["search", "Eiffel Tower"]])
def test_a_pipe_gets_plain_lines(library: Path, env: Path, command: list[str]) -> None:
    run("scan", library)
    done = subprocess.run([sys.executable, "-m", "photolm", *command], capture_output=True,
                          text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    lines = done.stdout.splitlines()
    long_path = str(library / LONG / "IMG_20240801_213012_HDR.jpg")
    assert any(long_path in line.split("\t") for line in lines), done.stdout
    assert not any(c in done.stdout for c in "┃│┏━")  # no table drawing in a pipe
    assert "photos" in done.stderr  # the title is talk: stderr


def _uncertain_catalogue(env: Path) -> None:
    """Four photos around a threshold of 0.8 (what a scan with such a bundle stores)."""
    def top(*scores: tuple[str, float]) -> list[dict[str, object]]:
        return [{"landmark_id": lid, "name": lid.title(), "score": s} for lid, s in scores]

    with Catalog.open(env, write=True) as cat:
        cat.remember_threshold("b1", 0.8)
        cat.write_results([
            PhotoRecord("/p/sure.jpg", 1, 1, bundle_id="b1", landmark_id="eiffel",
                       landmark_name="Eiffel", score=0.99,
                       topk=top(("eiffel", 0.99), ("louvre", 0.5))),
            PhotoRecord("/p/close-below.jpg", 1, 1, bundle_id="b1",
                       topk=top(("eiffel", 0.74), ("louvre", 0.61), ("arc", 0.58), ("x", 0.1))),
            PhotoRecord("/p/close-above.jpg", 1, 1, bundle_id="b1", landmark_id="louvre",
                       landmark_name="Louvre", score=0.83, topk=top(("louvre", 0.83))),
            PhotoRecord("/p/far.jpg", 1, 1, bundle_id="b1", topk=top(("arc", 0.3))),
        ])


def test_list_uncertain_shows_top_3_near_the_threshold(env: Path) -> None:
    _uncertain_catalogue(env)
    code, out, _ = run("list", "--uncertain", "--json")
    rows = json.loads(out)
    assert code == 0 and [Path(r["path"]).name for r in rows] == [
        "close-above.jpg", "close-below.jpg"]  # closest to the threshold first
    below = rows[1]
    assert below["threshold"] == 0.8 and below["best_candidate"]["name"] == "Eiffel"
    assert [c["score"] for c in below["candidates"]] == [0.74, 0.61, 0.58]
    code, out, err = run("list", "--uncertain")
    assert "Eiffel 0.74, Louvre 0.61, Arc 0.58" in out and "photolm confirm" in err
    code, out, _ = run("list", "--uncertain", "--margin", "0.03", "--json")
    assert [Path(r["path"]).name for r in json.loads(out)] == ["close-above.jpg"]


@pytest.mark.parametrize(("path", "table"), [("/p/day 3/IMG_0001.jpg", True),
                                             (f"/p/{LONG}/IMG_20240801_213012_HDR.jpg", False)])
def test_wrapped_columns_break_between_words_not_inside_them(
    env: Path, monkeypatch: pytest.MonkeyPatch, path: str, table: bool
) -> None:
    """On an 80-column terminal a path squeezes the other columns; a landmark's name wraps
    at its spaces ("Brihadeeswarar" stays whole), as a person reads it: in a table, and in
    the blocks drawn when the path alone is longer than the terminal."""
    with Catalog.open(env, write=True) as cat:
        cat.remember_threshold("b1", 0.8)
        cat.write_results([PhotoRecord(
            path, 1, 1, bundle_id="b1",
            topk=[{"landmark_id": "brihadeeswarar", "name": "Brihadeeswarar Temple",
                   "score": 0.75}, {"landmark_id": "big-ben", "name": "Big Ben",
                                    "score": 0.2}, {"landmark_id": "taj-mahal",
                                                    "name": "Taj Mahal", "score": 0.1}])])
    screen = _terminal(monkeypatch)
    assert run("list", "--uncertain")[0] == 0
    shown = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())
    cells = [c.strip() for line in shown.splitlines() for c in line.split("│")]
    assert ("┃" in shown) == table and path in cells, shown
    assert "Brihadeeswarar" in " ".join(cells).split(), shown


def test_list_gives_every_photo_its_best_candidate_and_threshold(env: Path) -> None:
    _uncertain_catalogue(env)
    _, out, _ = run("list", "--json")
    rows = {Path(r["path"]).name: r for r in json.loads(out)}
    assert all(r["threshold"] == 0.8 for r in rows.values())
    assert rows["far.jpg"]["best_candidate"] == {"landmark_id": "arc", "name": "Arc",
                                                 "score": 0.3}
    _, out, _ = run("list")
    line = next(x for x in out.splitlines() if "close-below.jpg" in x)
    assert "best candidate Eiffel 0.74, below the threshold 0.80" in line


def test_a_score_just_below_the_threshold_is_not_printed_as_the_threshold(env: Path) -> None:
    """"Hoi An 0.66" beside "threshold 0.66", no landmark: a score just under the threshold
    gets the decimals that tell them apart, in the uncertain list and in list's why."""
    with Catalog.open(env, write=True) as cat:
        cat.remember_threshold("b1", 0.6638)
        cat.write_results([PhotoRecord(
            "/p/hoi-an.jpg", 1, 1, bundle_id="b1",
            topk=[{"landmark_id": "hoi-an", "name": "Hoi An", "score": 0.6601},
                  {"landmark_id": "big-ben", "name": "Big Ben", "score": 0.5}])])
    code, out, _ = run("list", "--uncertain")
    assert code == 0 and out.split("\t")[2:] == ["Hoi An 0.660, Big Ben 0.500", "0.664\n"]
    code, out, _ = run("list")
    assert "best candidate Hoi An 0.660, below the threshold 0.664" in out


def test_info_prints_a_long_catalogue_path_whole(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_bundle_dir: Path
) -> None:
    deep = tmp_path / ("a very long folder name for the catalogue " * 3).strip() / "c.sqlite"
    monkeypatch.setenv("PHOTOLM_CATALOG", str(deep))
    monkeypatch.setenv("PHOTOLM_MODEL", str(tiny_bundle_dir))
    run("scan", library)
    screen = _terminal(monkeypatch)
    assert run("info")[0] == 0
    assert len(str(deep)) > 80 and str(deep) in re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())


def test_a_miss_by_a_hair_prints_the_digits_that_show_it(env: Path) -> None:
    """However close a score came to the threshold (or a descriptor to the gate), the why
    prints the decimals that tell them apart: never "0.7000, below the threshold 0.7000"."""
    with Catalog.open(env, write=True) as cat:
        cat.remember_threshold("b1", 0.7)
        cat.write_results([
            PhotoRecord("/p/hair.jpg", 1, 1, bundle_id="b1",
                        topk=[{"landmark_id": "hoi-an", "name": "Hoi An", "score": 0.69996}]),
            PhotoRecord("/p/gated.jpg", 1, 1, bundle_id="b1",
                        topk=[{"landmark_id": "arc", "name": "Arc", "score": 0.8, "gate": 0.2,
                               "descriptor_score": 0.1996}])])
    code, out, _ = run("list")
    assert code == 0 and "best candidate Hoi An 0.69996, below the threshold 0.70000" in out
    assert "(0.1996, below the gate 0.2000)" in out, out
    code, out, _ = run("list", "--uncertain")
    line = next(x for x in out.splitlines() if "hair.jpg" in x)
    assert line.split("\t")[2:] == ["Hoi An 0.69996", "0.70000"], line


def test_prune_names_only_the_sidecars_that_really_stay_on_disk(tmp_path: Path,
                                                                env: Path) -> None:
    """prune says which files photolm wrote for the photos it forgets stay on disk: a
    sidecar left behind, never the deleted photo its tags were embedded in, nor a sidecar
    `untag` already removed. In --json, tag_files are printed as paths are everywhere."""
    lib = tmp_path / "lib"
    embedded = write_photo(lib / "embedded.jpg", COLOURS["eiffel-tower"])
    sidecar = write_photo(lib / "sidecar.jpg", COLOURS["eiffel-tower"])
    untagged = write_photo(lib / "untagged.jpg", COLOURS["eiffel-tower"])
    odd = write_photo(lib / "odd\tname.jpg", COLOURS["eiffel-tower"])
    run("scan", lib)
    assert run("tag", embedded, "--embed")[0] == 0
    assert run("tag", sidecar, untagged, odd)[0] == 0
    assert run("untag", untagged)[0] == 0
    assert not Path(f"{untagged}.xmp").exists() and Path(f"{odd}.xmp").exists()
    for photo in (embedded, sidecar, untagged, odd):
        photo.unlink()
    run("scan", lib)
    code, out, err = run("prune", "--dry-run", "--json")
    tag_files = [f for p in json.loads(out)["photos"] for f in p["tag_files"]]
    assert code == 0 and f"{lib}/odd\\tname.jpg.xmp" in tag_files  # one line, as printed
    assert not any("\t" in f for f in tag_files)
    code, out, err = run("prune")
    line = next(line for line in err.splitlines() if "stay" in line)
    assert line == (f"2 files photolm wrote for them stay on disk: {lib}/odd\\tname.jpg.xmp, "
                    f"{sidecar}.xmp")


def test_prune_of_a_path_that_names_no_catalogued_photo_says_so(library: Path,
                                                                 env: Path) -> None:
    """`photolm prune ~/Pictres` (a typo) said "forgot 0 photos" and exited 0, as if that
    folder had nothing missing; tag, untag and confirm name such a path and exit 1. A
    deleted folder whose photos are catalogued is no typo: its photos are forgotten."""
    run("scan", library)
    typo = library.parent / "Pictres"
    code, out, err = run("prune", typo)
    assert code == 1 and out == ""
    assert f"warning: {typo}: no catalogued photos there" in err, err
    gone = library / "c"
    (gone / "colosseo.jpg").unlink()
    gone.rmdir()
    run("scan", library)
    code, out, err = run("prune", gone)
    assert code == 0 and out.strip() == str(gone / "colosseo.jpg") and "warning" not in err


def test_search_says_a_corrected_photo_was_corrected_not_confirmed(library: Path,
                                                                   env: Path) -> None:
    """search marked every photo with a person's answer "(confirmed)", a photo the model
    called something else (and the person corrected) too; list says "corrected by you"."""
    run("scan", library)
    run("confirm", library / "a" / "eiffel1.jpg")
    run("confirm", library / "c" / "colosseo.jpg", "--landmark", "Eiffel Tower")
    code, out, _ = run("search", "Eiffel Tower")
    assert code == 0
    marks = {Path(line.split("\t")[3]).name: line.split("\t")[1] for line in out.splitlines()}
    assert marks["eiffel1.jpg"] == "Eiffel Tower (confirmed)"
    assert marks["colosseo.jpg"] == "Eiffel Tower (corrected)"
    assert marks["eiffel2.jpg"] == "Eiffel Tower"


def test_a_failed_tag_of_an_awkward_name_keeps_list_one_line_per_photo(
        tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """list's "why" quotes the tag error, which names the photo: for a name with a tab and
    a newline that split the photo's line in two (and added a field) in a pipe, and broke
    the path on a terminal. Every field stays one line: controls escaped as paths are."""
    lib = tmp_path / "lib"
    odd = write_photo(lib / "odd\tname\nx.jpg", COLOURS["eiffel-tower"])
    write_photo(lib / "plain.jpg", COLOURS["eiffel-tower"])
    run("scan", lib)
    odd.chmod(0o444)
    try:
        assert run("tag", odd, "--embed")[0] == 1  # read-only: the write is refused
    finally:
        odd.chmod(0o644)
    code, out, _ = run("list")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and all(line.count("\t") == 3 for line in lines), out
    (line,) = [line for line in lines if "odd" in line]
    assert "tag failed" in line.split("\t")[3] and "odd\\tname\\nx.jpg" in line.split("\t")[3]
    screen = _terminal(monkeypatch, width=400)  # room for the table
    assert run("list")[0] == 0
    shown = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())
    assert "odd\tname" not in shown and shown.count("odd\\tname\\nx.jpg") == 2, shown


def test_a_learned_name_with_brackets_is_text_in_a_table_title(
        library: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table's title went through rich markup: on a terminal wide enough for the table,
    `search` of a landmark learned as "Club [/] Bridge" died with a MarkupError traceback
    ("closing tag '[/]' ... has nothing to close"), and "[red]" in a name would colour it."""
    run("scan", library)
    assert run("learn", "Club [/] Bridge", library / "c" / "colosseo.jpg", "--new")[0] == 0
    screen = _terminal(monkeypatch, width=300)
    code, _, err = run("search", "Club [/] Bridge")
    assert code == 0, err
    shown = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())
    assert "┃" in shown and "of Club [/] Bridge" in shown, shown


def test_search_exit_status_is_as_its_help_says(library: Path, env: Path) -> None:
    """0 for a landmark photolm knows that no photo shows yet (an answer, not a failure),
    1 for a name it does not know."""
    run("scan", library)
    code, out, err = run("search", "Taj Mahal")
    assert (code, out) == (0, "") and "No photos of Taj Mahal in the catalogue yet" in err
    code, out, err = run("search", "Edinburgh Castle")
    assert (code, out) == (1, "") and "does not know 'Edinburgh Castle'" in err
    code, _, _ = run("search", "Taj Mahal", "--json")
    assert code == 0


def test_list_errors_names_its_column_error_on_a_terminal_and_in_a_pipe(
        library: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--errors shows each photo's reason under "error": a block reads "error empty file"
    (the landmark column read "landmark error: empty file"), a pipe "PATH<tab>empty file"."""
    (library / LONG / "empty.jpg").write_bytes(b"")
    (library / "a" / "empty.jpg").write_bytes(b"")
    run("scan", library)
    long_path, short_path = str(library / LONG / "empty.jpg"), str(library / "a" / "empty.jpg")
    code, out, err = run("list", "--errors")
    assert code == 0, err
    assert out.splitlines() == [f"{short_path}\tempty file", f"{long_path}\tempty file"]
    assert err.strip() == "2 photos that could not be read"
    screen = _terminal(monkeypatch)
    assert run("list", "--errors")[0] == 0
    lines = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue()).splitlines()
    assert lines == ["2 photos that could not be read", short_path, "    error empty file",
                     long_path, "    error empty file"]


def test_list_says_a_photo_could_not_be_read_as_list_errors_does(
        library: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain list showed an unreadable photo's block as "landmark error: empty file" (the
    landmark column's name before "error: ..."); it says "could not be read: empty file",
    the words of list --errors' title, in a block (without the column's name), in a table
    and in a pipe. --json keeps its keys: "error" holds the reason alone."""
    (library / LONG / "empty.jpg").write_bytes(b"")
    (library / "a" / "empty.jpg").write_bytes(b"")
    run("scan", library)
    long_path, short_path = str(library / LONG / "empty.jpg"), str(library / "a" / "empty.jpg")
    code, out, _ = run("list")
    assert code == 0
    assert f"{short_path}\tcould not be read: empty file\t\t" in out.splitlines()
    assert f"{long_path}\tcould not be read: empty file\t\t" in out.splitlines()
    rows = {r["path"]: r for r in json.loads(run("list", "--json")[1])}
    assert (rows[short_path]["error"], rows[short_path]["landmark"]) == ("empty file", None)
    screen = _terminal(monkeypatch)  # the long path: one block a photo
    assert run("list")[0] == 0
    lines = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue()).splitlines()
    assert lines[lines.index(long_path) + 1] == "    could not be read: empty file"
    assert "landmark error" not in screen.getvalue()
    (library / LONG / "empty.jpg").unlink()
    run("prune")
    screen = _terminal(monkeypatch, width=320)  # short paths: a table
    assert run("list")[0] == 0
    row = next(line for line in screen.getvalue().splitlines() if short_path in line)
    assert "│ could not be read: empty file" in re.sub(r"\x1b\[[0-9;]*m", "", row)


def test_prune_with_no_path_on_a_catalogue_without_photos_is_no_typo(tmp_path: Path,
                                                                     env: Path) -> None:
    """`scan && prune` on a library whose last photos were forgotten: nothing to forget is
    not a mistake (it said "warning: None: no catalogued photos there" and exited 1)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("scan", empty)[0] == 0
    for args in (("prune",), ("prune", "--json")):
        code, _out, err = run(*args)
        assert code == 0 and "warning" not in err and "None" not in err, (args, err)
