# SPDX-License-Identifier: GPL-3.0-or-later
"""The photolm commands end to end: tiny real bundle, generated photos, real catalogue."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from photolm import scan as scan_mod
from photolm.catalog import Catalog
from photolm.cli import output
from tests.clirun import INFO_FIELD, info_fields
from tests.clirun import cli as run
from tests.tinybundle import COLOURS, LANDMARKS, make_tiny_bundle, write_photo


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    write_photo(root / "paris" / "eiffel1.jpg", COLOURS["eiffel-tower"])
    write_photo(root / "paris" / "eiffel2.png", COLOURS["eiffel-tower"], size=(40, 60))
    write_photo(root / "rome" / "colosseo.jpg", COLOURS["colosseum"])
    write_photo(root / "misc" / "grey.jpg", (128, 128, 128))
    return root


def test_scan_then_search_list_landmarks_info(library: Path, env: Path) -> None:
    code, out, err = run("scan", library, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["found"] == 4 and summary["processed"] == 4
    assert summary["landmarks_found"] == 3 and summary["errors"] == []
    assert summary["provider"] == "CPUExecutionProvider"

    code, out, _ = run("search", "eifel tower", "--json")
    hits = json.loads(out)
    assert code == 0
    assert sorted(Path(h["path"]).name for h in hits) == ["eiffel1.jpg", "eiffel2.png"]
    assert all(h["landmark"] == "Eiffel Tower" and h["score"] > 0.9 for h in hits)
    assert all(Path(h["path"]).is_absolute() for h in hits)

    for query in ("Tour Eiffel", "EIFFEL TOWER", "paris", "France"):
        code, out, _ = run("search", query, "--json")
        assert {h["landmark"] for h in json.loads(out)} == {"Eiffel Tower"}, query
    code, out, _ = run("search", "colosseo", "--json")
    assert [Path(h["path"]).name for h in json.loads(out)] == ["colosseo.jpg"]
    code, out, _ = run("search", "Kölner Dom", "--json")
    assert code == 0 and json.loads(out) == []  # known landmark, no photos of it

    code, out, _ = run("list", "--json")
    rows = {Path(r["path"]).name: r for r in json.loads(out)}
    assert set(rows) == {"eiffel1.jpg", "eiffel2.png", "colosseo.jpg", "grey.jpg"}
    assert rows["grey.jpg"]["landmark"] is None and rows["grey.jpg"]["score"] is None
    assert rows["grey.jpg"]["error"] is None
    assert rows["colosseo.jpg"]["landmark"] == "Colosseum"

    code, out, _ = run("landmarks", "--json")
    counts = {r["name"]: r["photos"] for r in json.loads(out)}
    assert counts == {"Eiffel Tower": 2, "Colosseum": 1, "Taj Mahal": 0, "Cologne Cathedral": 0}

    code, out, _ = run("info", "--json")
    info = json.loads(out)
    assert info["catalog"]["photos"] == 4 and info["catalog"]["path"] == str(env)
    assert info["model"]["landmarks"] == 4
    assert info["runtime"]["provider"] == "CPUExecutionProvider"
    code, out, _ = run("info")
    assert code == 0 and "asked for" in out
    assert not any(c in out for c in "[]'"), out  # lists in words, not Python's repr


def test_info_reads_as_words_at_80_columns_and_in_a_pipe(
        library: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Labels a person reads, not ``--json``'s keys (``model embedding_dim``); the same
    figures as ``--json``; long values wrapped under themselves on an 80-column terminal,
    paths whole, and one line a field in a pipe."""
    run("scan", library)
    default = Path(__file__).resolve().parents[1] / "photolm" / "models" / "default"
    code, out, err = run("info", "--model", default, "--json")
    assert code == 0, err
    data = json.loads(out)
    code, piped, err = run("info", "--model", default)
    assert code == 0, err
    keys = {key for section in ("catalog", "model", "runtime") for key in data[section]}
    assert {"embedding_dim", "with_landmark", "learned_landmarks", "scan_workers"} <= keys
    assert not [key for key in keys if "_" in key and key in piped]
    assert "_" not in "".join(INFO_FIELD.match(line)[2] for line in piped.splitlines()
                              if INFO_FIELD.match(line))
    fields = info_fields(piped)
    assert fields["photos"] == str(data["catalog"]["photos"]) == "4"
    assert fields["with a landmark"] == str(data["catalog"]["with_landmark"]) == "3"
    assert fields["embedding size"] == str(data["model"]["embedding_dim"])
    assert fields["runs on"] == data["runtime"]["provider"]
    assert fields["file"] == str(env) and fields["folder"] == str(default)
    assert fields["scanned"] == str(library)
    assert fields["measured"].startswith(f"top-1 {100 * data['model']['metrics']['top1']:.1f} %")
    assert "top1" not in fields["measured"] and "_" not in fields["measured"]

    screen = io.StringIO()
    monkeypatch.setattr(output, "out", Console(file=screen, force_terminal=True, width=80,
                                               soft_wrap=True, highlight=False))
    assert run("info", "--model", default)[0] == 0
    shown = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())
    assert info_fields(shown) == fields  # the same words, wrapped
    long = [line for line in shown.splitlines() if len(line) > 80]
    paths = (str(env), str(default), str(library))  # whole, though longer than the screen
    assert all(line.endswith(paths) for line in long), long
    assert len(shown.splitlines()) > len(piped.splitlines())  # wrapped, not cut


def test_unknown_query_suggests_names(library: Path, env: Path) -> None:
    run("scan", library)
    code, out, err = run("search", "Eifel Towr Paris Rome xyz")
    assert code == 1
    assert "The model does not know 'Eifel Towr Paris Rome xyz'" in err
    code, out, err = run("search", "xyzzy", "--json")
    assert code == 1 and json.loads(out) == []


def test_bad_files_are_reported_recorded_and_exit_1(library: Path, env: Path) -> None:
    (library / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 50)
    (library / "empty.jpg").write_bytes(b"")
    (library / "notes.png").write_text("this is text")
    code, out, err = run("scan", library, "--json")
    assert code == 1
    errors = {Path(e["path"]).name: e["error"] for e in json.loads(out)["errors"]}
    assert set(errors) == {"broken.jpg", "empty.jpg", "notes.png"}
    for name in errors:  # one warning line each, on stderr
        assert sum(name in line for line in err.splitlines()) == 1
    assert "Traceback" not in err
    code, out, _ = run("list", "--json")
    rows = {Path(r["path"]).name: r for r in json.loads(out)}
    assert len(rows) == 7  # every photo, good or bad, has a row
    assert all(rows[n]["error"] for n in errors)
    assert rows["eiffel1.jpg"]["landmark"] == "Eiffel Tower"  # good photos are not lost


def test_rescan_skips_unchanged_and_reprocesses_changed(library: Path, env: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    run("scan", library)
    code, out, _ = run("scan", library, "--json")
    s = json.loads(out)
    assert code == 0 and s["skipped_unchanged"] == 4 and s["processed"] == 0

    # change one photo's content: it is re-recognised, now as the Taj Mahal
    target = library / "misc" / "grey.jpg"
    write_photo(target, COLOURS["taj-mahal"])
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    code, out, _ = run("scan", library, "--json")
    s = json.loads(out)
    assert s["processed"] == 1 and s["skipped_unchanged"] == 3
    with Catalog.open(env, write=False) as cat:
        assert cat.get_photo(target).landmark_name == "Taj Mahal"  # type: ignore[union-attr]


def _moved_photos_are_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any decoding in the scan that follows fails the test: moved photos keep their rows."""

    def no_decoding(*a: object, **k: object) -> None:
        raise AssertionError("a moved photo must not be decoded again")

    monkeypatch.setattr(scan_mod, "read_photo", no_decoding)


def test_renamed_photo_keeps_results_without_decoding(library: Path, env: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    run("scan", library)
    old = library / "rome" / "colosseo.jpg"
    new = library / "italy" / "renamed.jpg"
    new.parent.mkdir()
    shutil.move(old, new)

    _moved_photos_are_not_decoded(monkeypatch)
    code, out, err = run("scan", library, "--json")
    s = json.loads(out)
    assert code == 0, err
    assert s["moved"] == 1 and s["processed"] == 0 and s["missing"] == 0
    assert s["landmarks_found"] == 1  # README: this run's moved photos with a landmark
    with Catalog.open(env, write=False) as cat:
        assert cat.get_photo(old) is None
        row = cat.get_photo(new)
        assert row is not None and row.landmark_name == "Colosseum"


def test_identical_copies_moved_together_each_keep_their_own_row(
        tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A trip folder and its backup copy (the same bytes), both renamed: each copy keeps its
    own results and answers, nothing is decoded again and nothing is left missing."""
    old = tmp_path / "Photos"
    trip = write_photo(old / "2019" / "rome" / "colosseo.jpg", COLOURS["colosseum"])
    backup = old / "backup" / "2019" / "rome" / "colosseo.jpg"
    backup.parent.mkdir(parents=True)
    shutil.copyfile(trip, backup)
    assert run("scan", old)[0] == 0
    assert run("confirm", backup, "--none")[0] == 0  # an answer on the backup copy only
    new = tmp_path / "Pictures"
    old.rename(new)

    _moved_photos_are_not_decoded(monkeypatch)
    code, out, err = run("scan", tmp_path, "--json")
    s = json.loads(out)
    assert code == 0, err
    assert s["moved"] == 2 and s["processed"] == 0 and s["missing"] == 0
    code, out, err = run("list", "--json")
    rows = {Path(r["path"]).relative_to(new).as_posix(): r for r in json.loads(out)}
    assert sorted(rows) == ["2019/rome/colosseo.jpg", "backup/2019/rome/colosseo.jpg"]
    assert rows["2019/rome/colosseo.jpg"]["landmark"] == "Colosseum"
    assert rows["2019/rome/colosseo.jpg"]["review"] is None
    assert rows["backup/2019/rome/colosseo.jpg"]["landmark"] is None  # the answer: none
    assert rows["backup/2019/rome/colosseo.jpg"]["review"] is not None


@pytest.mark.parametrize(("before", "after"), [
    # a trip and its backup inside it, the trip folder renamed: both copies share their
    # file name, the backup also its folder
    (("Trip/IMG_1.jpg", "Trip/Backup/IMG_1.jpg"), ("Holiday/IMG_1.jpg",
                                                   "Holiday/Backup/IMG_1.jpg")),
    # a copy in each of two folders, each renamed where it is: no name is shared, the
    # folder is
    (("a/IMG_1.jpg", "b/IMG_1.jpg"), ("a/Paris.jpg", "b/Paris.jpg")),
])
def test_identical_copies_moved_keep_their_answers_whatever_order_they_were_scanned_in(
        tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch,
        before: tuple[str, str], after: tuple[str, str]) -> None:
    """Copies of the same bytes moved at once are paired with their old paths by likeness
    (file name and folders shared from the end, then from the start), not by the order the
    catalogue lists them: the second copy was catalogued first (its folder scanned on its
    own earlier), and its answer went to the other copy."""
    lib = tmp_path / "lib"
    first, second = (lib / p for p in before)
    write_photo(second, COLOURS["colosseum"])
    assert run("scan", second.parent)[0] == 0  # the second copy's folder, on its own
    first.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(second, first)
    assert run("scan", lib)[0] == 0
    assert run("confirm", second, "--none")[0] == 0  # an answer on the second copy only
    if before[0].startswith("Trip/"):
        (lib / "Trip").rename(lib / "Holiday")
    else:  # renamed in their folders
        for old, new in zip(before, after, strict=True):
            (lib / old).rename(lib / new)

    _moved_photos_are_not_decoded(monkeypatch)
    code, out, err = run("scan", lib, "--json")
    assert code == 0 and json.loads(out)["moved"] == 2, err
    rows = {Path(r["path"]).relative_to(lib).as_posix(): r
            for r in json.loads(run("list", "--json")[1])}
    assert sorted(rows) == sorted(after)
    assert (rows[after[0]]["landmark"], rows[after[0]]["review"]) == ("Colosseum", None)
    assert (rows[after[1]]["landmark"], rows[after[1]]["review"]) == (None, "none")


def test_identical_copies_are_paired_the_same_in_any_order() -> None:
    """Ties in likeness go in sorted order (``IMG_1`` to ``P1``), whatever order the
    catalogue and the walk list the copies in; a copy more than vanished is a new photo."""
    from itertools import permutations

    from photolm.discovery import Found

    olds = ["/lib/x/IMG_2.jpg", "/lib/x/IMG_1.jpg", "/lib/y/sub/IMG_1.jpg"]
    news = [Found(Path(p), 1, 1, "jpeg") for p in ("/lib/x/P2.jpg", "/lib/x/P1.jpg",
                                                    "/lib/z/sub/IMG_1.jpg", "/lib/x/P3.jpg")]
    expected = {("/lib/x/P1.jpg", "/lib/x/IMG_1.jpg"), ("/lib/x/P2.jpg", "/lib/x/IMG_2.jpg"),
                ("/lib/z/sub/IMG_1.jpg", "/lib/y/sub/IMG_1.jpg")}
    for o in permutations(olds):
        for n in permutations(news):
            pairs = scan_mod._pair_copies(list(o), list(n))
            assert {(str(f.path), old) for f, old in pairs} == expected

def test_new_threshold_rematches_stored_embeddings_new_model_recomputes(
    library: Path, env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("scan", library)
    # same ONNX model, a prototype table without the Eiffel Tower
    strict = make_tiny_bundle(tmp_path / "strict", landmarks=LANDMARKS[1:])
    calls: list[object] = []
    real = scan_mod.read_photo
    monkeypatch.setattr(scan_mod, "read_photo", lambda *a, **k: calls.append(a) or real(*a))
    code, out, _ = run("scan", library, "--model", strict.path, "--json")
    assert code == 0
    s = json.loads(out)
    assert s["rematched"] == 4 and s["processed"] == 0 and calls == []
    assert s["landmarks_found"] == 1  # the Colosseum photo
    code, out, _ = run("search", "Colosseum", "--json")
    assert code == 0
    assert [Path(h["path"]).name for h in json.loads(out)] == ["colosseo.jpg"]
    code, out, _ = run("list", "--json")
    assert code == 0
    assert {Path(r["path"]).name: r["landmark"] for r in json.loads(out)}["eiffel1.jpg"] is None

    other_model = make_tiny_bundle(tmp_path / "other", seed=7)
    code, out, _ = run("scan", library, "--model", other_model.path, "--json")
    assert code == 0
    s = json.loads(out)
    assert s["processed"] == 4 and s["rematched"] == 0 and len(calls) == 4


def test_vanished_photo_is_flagged_missing_not_deleted(library: Path, env: Path) -> None:
    run("scan", library)
    (library / "misc" / "grey.jpg").unlink()
    code, out, _ = run("scan", library, "--json")
    assert code == 0
    assert json.loads(out)["missing"] == 1
    code, out, _ = run("list", "--json")
    assert code == 0
    rows = {Path(r["path"]).name: r for r in json.loads(out)}
    assert rows["grey.jpg"]["missing"] is True


def test_missing_model_is_one_clear_line(library: Path, tmp_path: Path) -> None:
    code, _out, err = run("scan", library, "--model", tmp_path / "nowhere")
    assert code == 1
    assert err.strip().startswith("Error: No model bundle at")
    assert len(err.strip().splitlines()) == 1


def test_a_trainer_run_given_as_the_model_says_to_export_it(library: Path,
                                                            tmp_path: Path) -> None:
    """--model runs/mine (trainer fit's --out) or its best.pt, a step of the README's own-model
    recipe skipped: the line says which step, not only that no manifest is there."""
    run_dir = tmp_path / "runs" / "my run"
    run_dir.mkdir(parents=True)
    (run_dir / "best.pt").write_bytes(b"checkpoint")
    for given in (run_dir, run_dir / "best.pt"):
        code, _out, err = run("scan", library, "--model", given)
        assert code == 1
        assert err.strip() == (
            f"Error: {run_dir} is a trainer run, not a model bundle: export it first with "
            f"`photolm-export '{given}' --out BUNDLE --distractors NON_LANDMARK_PHOTOS` and "
            "use BUNDLE.")


def test_busy_catalogue_is_one_clear_line(library: Path, env: Path) -> None:
    run("scan", library)
    with Catalog.open(env, write=True):
        code, _, err = run("scan", library)
    assert code == 1
    assert "Another photolm process is writing catalogue" in err
    assert "Traceback" not in err


def test_search_before_any_scan(env: Path) -> None:
    code, _, err = run("search", "Eiffel Tower")
    assert code == 1 and "run `photolm scan" in err


def test_usage_error_exit_2() -> None:
    code, _, _ = run("scan")
    assert code == 2


def test_python_dash_m_and_help_are_friendly() -> None:
    res = subprocess.run([sys.executable, "-m", "photolm", "--help"], capture_output=True,
                         text=True, check=True)
    for command in ("scan", "search", "list", "landmarks", "info"):
        assert command in res.stdout
    res = subprocess.run([sys.executable, "-m", "photolm", "scan", "--help"],
                         capture_output=True, text=True, check=True)
    assert "--catalog" in res.stdout and "--device" in res.stdout and "--json" in res.stdout


def test_every_usage_line_names_its_arguments_alike() -> None:
    """"learn [OPTIONS] {name} {photos}..." beside "unlearn [OPTIONS] {NAME}...": every
    command's usage line now names its arguments in capitals, as the options' help does."""
    from photolm.cli.app import app
    from photolm.cli.places import app as places_app

    commands = [[c.name] for c in app.registered_commands if c.name]
    commands += [["places", c.name] for c in places_app.registered_commands if c.name]
    assert ["learn"] in commands and ["places", "name"] in commands
    for command in commands:
        code, out, _ = run(*command, "--help")
        (usage,) = [line for line in out.splitlines() if "Usage:" in line]
        arguments = re.findall(r"[{\[]([^}\]]+)[}\]]", usage.split("[OPTIONS]", 1)[1])
        assert code == 0 and all(a.isupper() for a in arguments), (command, usage)


def test_info_and_scan_refuse_a_device_that_cannot_be_used_alike(
        library: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--device cuda where onnxruntime has no CUDA provider: one Error: line and exit 1 from
    info as from scan (info printed its table with an error row and exited 0)."""
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["CPUExecutionProvider"])
    code, _out, scan_err = run("scan", library, "--device", "cuda")
    assert code == 1 and scan_err.startswith("Error: --device cuda was requested")
    for extra in ([], ["--json"]):
        code, out, err = run("info", "--device", "cuda", *extra)
        assert (code, out, err) == (1, "", scan_err)
    assert run("info", "--device", "cpu")[0] == 0
