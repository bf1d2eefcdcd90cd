# SPDX-License-Identifier: GPL-3.0-or-later
"""Re-scans as a photographer lives with them: known failures, totals, exclusions, hidden
files, and photos replaced behind photolm's back (issue 10, items 5, 11, 12, 17)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from photolm.catalog import Catalog
from tests.clirun import cli as run
from tests.tinybundle import COLOURS, write_photo


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    write_photo(root / "paris" / "eiffel.jpg", COLOURS["eiffel-tower"])
    write_photo(root / "rome" / "colosseo.jpg", COLOURS["colosseum"])
    return root


def _scan(*args: object) -> tuple[int, dict, str]:
    code, out, err = run("scan", *args, "--json")
    return code, json.loads(out), err


def test_a_known_broken_file_is_counted_not_failed_again(library: Path, env: Path) -> None:
    broken = library / "empty.jpg"
    broken.write_bytes(b"")
    code, first, err = _scan(library)
    assert code == 1 and len(first["errors"]) == 1 and "empty.jpg" in err
    code, second, err = _scan(library)
    assert code == 0, err  # nothing new failed
    assert second["errors"] == [] and second["known_failures"] == 1
    assert "empty.jpg" not in err
    code, _, err = run("scan", library)
    assert code == 0 and "1 known unreadable" in err and "photolm list --errors" in err
    write_photo(broken, COLOURS["eiffel-tower"])  # fixed: it changed, so it is tried again
    code, third, _ = _scan(library)
    assert code == 0 and third["processed"] == 1 and third["known_failures"] == 0
    code, forced, _ = _scan(library, "--force")
    assert forced["processed"] == 3


def test_a_new_failure_still_fails_beside_known_ones(library: Path, env: Path) -> None:
    (library / "empty.jpg").write_bytes(b"")
    _scan(library)
    (library / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    code, summary, _ = _scan(library)
    assert code == 1 and summary["known_failures"] == 1
    assert [Path(e["path"]).name for e in summary["errors"]] == ["truncated.jpg"]


def test_rescan_summary_shows_catalogue_totals_beside_this_run(library: Path, env: Path) -> None:
    run("scan", library)
    _, summary, _ = _scan(library)
    assert summary["landmarks_found"] == 0  # this run found none: it had nothing to do
    assert summary["catalog"]["photos"] == 2 and summary["catalog"]["with_landmark"] == 2
    _, _, err = run("scan", library)
    lines = {line.split("  ")[0]: line.split() for line in err.splitlines()}
    assert lines["with a landmark"][-2:] == ["0", "2"], err
    assert "photos/s" not in err  # nothing was decoded: no speed to speak of
    _, only_rome, _ = _scan(library / "rome")
    assert only_rome["catalog"]["photos"] == 1  # totals of the folders scanned


def _readme_scan_keys() -> list[str]:
    """The keys README's table of ``scan --json`` names, in its order."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = text.split("`photolm scan --json` prints one object", 1)[1].split("\n\n")[1]
    return [key for row in table.splitlines()[2:]
            for key in re.findall(r"`([a-z_]+)`", row.split(" | ")[0])]


def test_scan_json_names_the_folders_totals_and_keeps_the_old_key(library: Path,
                                                                   env: Path) -> None:
    """``catalog`` in ``scan --json`` never held the catalogue's totals, only those of the
    photos under the scanned folders: ``in_these_folders`` says so, ``catalog`` stays for
    the scripts that read it, and README's table lists exactly the keys a scan prints."""
    run("scan", library)
    _, only_rome, _ = _scan(library / "rome")
    rome = {"photos": 1, "with_landmark": 1, "errors": 0, "missing": 0, "reviewed": 0,
            "tagged": 0}
    assert only_rome["in_these_folders"] == only_rome["catalog"] == rome
    code, out, err = run("info", "--json")  # the whole catalogue: both folders
    assert code == 0 and json.loads(out)["catalog"]["photos"] == 2, err
    documented = _readme_scan_keys()
    assert len(documented) == len(set(documented))
    assert set(documented) - {"tags"} == set(only_rome)
    _, tagged, _ = _scan(library / "rome", "--write-tags")
    assert set(documented) == set(tagged) and tagged["tags"]["action"] == "tag"


def test_scan_write_tags_totals_count_the_tags_it_wrote(library: Path, env: Path) -> None:
    """The folders' totals are the state the run left: after ``--write-tags`` the photos it
    has just tagged are tagged, in ``--json``, in the summary's "in these folders" column
    and in the scan's record."""
    _, tagged, err = _scan(library, "--write-tags")
    assert tagged["tags"]["counts"] == {"written": 2}, err
    assert tagged["in_these_folders"]["tagged"] == tagged["catalog"]["tagged"] == 2
    with Catalog.open(env, write=False) as cat:
        last = cat.last_scan()
        assert last is not None and last["counts"]["in_these_folders"]["tagged"] == 2
    write_photo(library / "rome" / "foro.jpg", COLOURS["colosseum"])
    code, _, err = run("scan", library, "--write-tags")
    assert code == 0, err
    rows = {line.split("  ")[0]: line.split() for line in err.splitlines()}
    assert rows["tagged"][-2:] == ["1", "3"], err  # this run, in these folders


def test_hidden_photo_files_are_counted_in_the_summary(library: Path, env: Path) -> None:
    """README: photos whose own name starts with a dot are counted; a hidden folder is not
    looked into, so the photos in it are not: the folder is named instead (it went unsaid,
    and a person's .private/IMG_0002.jpg was skipped without a word). Junk folders that
    --include-hidden skips too (.thumbnails) are not."""
    write_photo(library / "..jpg", COLOURS["colosseum"], fmt="JPEG")
    write_photo(library / "paris" / ".IMG_0001.jpg", COLOURS["eiffel-tower"])
    write_photo(library / ".private" / "IMG_0002.jpg", COLOURS["eiffel-tower"])
    write_photo(library / ".thumbnails" / "IMG_0002.jpg", COLOURS["eiffel-tower"])
    (library / ".notes.txt").write_text("not a photo")
    (library / ".notes").mkdir()
    code, summary, _ = _scan(library)
    assert code == 0 and summary["found"] == 2 and summary["hidden_skipped"] == 2
    assert summary["hidden_folders"] == [str(library / ".notes"), str(library / ".private")]
    code, _, err = run("scan", library)
    assert "2 hidden files skipped" in err and "--include-hidden" in err
    assert (f"2 hidden folders not looked into (names starting with a dot: {library}/.notes, "
            f"{library}/.private): --include-hidden scans them") in err, err
    rows = {line.split("  ")[0]: line.split() for line in err.splitlines()}
    assert rows["hidden folders not looked into"][-1] == "2", err
    code, summary, _ = _scan(library, "--include-hidden")
    assert summary["found"] == 5 and summary["hidden_skipped"] == 0
    assert summary["hidden_folders"] == []


def test_the_summary_names_three_hidden_folders_and_counts_the_rest(library: Path,
                                                                    env: Path) -> None:
    """README: "the summary names the first three" (``--json`` all of them). The folders
    macOS and Linux desktops put on every drive and card (Spotlight's index, the event
    log, trash folders) are never named: the line would follow every scan of one."""
    for name in (".a", ".b", ".c", ".d", ".e"):
        (library / name).mkdir()
    for litter in (".Spotlight-V100", ".fseventsd", ".Trash-1000", ".TemporaryItems",
                   ".DocumentRevisions-V100", ".Trash"):
        write_photo(library / litter / "IMG_0003.jpg", COLOURS["eiffel-tower"])
    code, summary, _ = _scan(library)
    assert code == 0
    assert summary["hidden_folders"] == [str(library / n) for n in (".a", ".b", ".c", ".d",
                                                                       ".e")]
    code, _, err = run("scan", library)
    assert (f"5 hidden folders not looked into (names starting with a dot: {library}/.a, "
            f"{library}/.b, {library}/.c and 2 more): --include-hidden scans them"
            ) in " ".join(err.split()), err
    code, summary, _ = _scan(library, "--include-hidden")  # litter stays out even so
    listed = json.loads(run("list", "--json")[1])
    assert code == 0 and summary["found"] == len(listed)
    assert not any("IMG_0003" in row["path"] for row in listed)


def test_the_scans_record_counts_hidden_folders_and_names_three(library: Path,
                                                                env: Path) -> None:
    """A share with a hidden folder in each of thousands of folders (QNAP's ``.@__thumb``)
    made every scan store all their paths in the catalogue, for good: its record keeps the
    count and the three the summary names (``info --json``'s ``last_scan``); ``scan
    --json`` still lists them all (README)."""
    for name in (".a", ".b", ".c", ".d", ".e"):
        (library / name).mkdir()
    code, summary, _ = _scan(library)
    assert code == 0 and summary["hidden_folders_count"] == len(summary["hidden_folders"]) == 5
    code, out, err = run("info", "--json")
    counts = json.loads(out)["catalog"]["last_scan"]["counts"]
    assert code == 0 and counts["hidden_folders_count"] == 5, err
    assert counts["hidden_folders"] == [str(library / n) for n in (".a", ".b", ".c")]


def test_a_hidden_photo_scanned_before_is_not_called_missing(library: Path, env: Path) -> None:
    """A scan that passes over a hidden photo (catalogued by naming it, or with
    --include-hidden) has not lost it: search must not leave it out as "missing"."""
    hidden = write_photo(library / "paris" / ".IMG_0001.jpg", COLOURS["eiffel-tower"])
    secret = write_photo(library / ".private" / "eiffel.jpg", COLOURS["eiffel-tower"])
    assert _scan(hidden)[1]["found"] == 1 and _scan(library / ".private")[1]["found"] == 1
    code, summary, _ = _scan(library)
    assert code == 0 and summary["found"] == 2 and summary["missing"] == 0
    code, out, err = run("search", "Eiffel Tower", "--json")
    assert code == 0, err
    assert sorted(r["path"] for r in json.loads(out)) == sorted(
        str(p) for p in (hidden, secret, library / "paris" / "eiffel.jpg"))
    hidden.unlink()  # gone now: that one is missing
    assert _scan(library)[1]["missing"] == 1


def test_exclude_leaves_photos_out_by_name_folder_or_path(library: Path, env: Path) -> None:
    write_photo(library / "Trash" / "old.jpg", COLOURS["eiffel-tower"])
    write_photo(library / "paris" / "draft.tmp.png", COLOURS["eiffel-tower"])
    write_photo(library / "2019" / "raw" / "a.jpg", COLOURS["eiffel-tower"])
    code, summary, _ = _scan(library, "--exclude", "Trash", "--exclude", "*.tmp.png",
                             "--exclude", "2019/raw/*")
    assert code == 0 and summary["found"] == 2 and summary["excluded"] == 3
    with Catalog.open(env, write=False) as cat:
        assert sorted(Path(p.path).name for p in cat.photos()) == ["colosseo.jpg", "eiffel.jpg"]
    _scan(library)  # catalogued now...
    code, summary, _ = _scan(library, "--exclude", "Trash")
    assert summary["missing"] == 0  # ...and excluding them later does not call them missing
    with Catalog.open(env, write=False) as cat:
        assert not any(p.missing for p in cat.photos())


def _same_size_replacement(photo: Path, colour: tuple[int, int, int]) -> None:
    """Put another photo at ``photo`` with the same size and the old mtime restored."""
    before = photo.stat()
    write_photo(photo, colour, fmt="BMP")  # uncompressed: same size for the same dimensions
    assert photo.stat().st_size == before.st_size
    os.utime(photo, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_verify_finds_a_photo_replaced_with_size_and_mtime_kept(tmp_path: Path,
                                                                env: Path) -> None:
    photo = write_photo(tmp_path / "lib" / "IMG_0001.bmp", COLOURS["eiffel-tower"], fmt="BMP")
    _scan(tmp_path / "lib")
    _same_size_replacement(photo, COLOURS["colosseum"])
    _, plain, _ = _scan(tmp_path / "lib")
    assert plain["skipped_unchanged"] == 1  # size and mtime alone cannot tell
    code, verified, _ = _scan(tmp_path / "lib", "--verify")
    assert code == 0 and verified["replaced"] == 1 and verified["processed"] == 1
    with Catalog.open(env, write=False) as cat:
        row = cat.get_photo(photo)
        assert row is not None and row.landmark_id == "colosseum"
    _, again, _ = _scan(tmp_path / "lib", "--verify")
    assert again["replaced"] == 0 and again["skipped_unchanged"] == 1


def test_a_persons_answer_does_not_pass_to_the_photo_that_replaced_it(tmp_path: Path,
                                                                     env: Path) -> None:
    photo = write_photo(tmp_path / "lib" / "IMG_0002.bmp", COLOURS["eiffel-tower"], fmt="BMP")
    _scan(tmp_path / "lib")
    assert run("confirm", photo)[0] == 0  # "yes, the Eiffel Tower"
    _same_size_replacement(photo, COLOURS["colosseum"])
    _, verified, _ = _scan(tmp_path / "lib", "--verify")
    assert verified["replaced"] == 1
    with Catalog.open(env, write=False) as cat:
        row = cat.get_photo(photo)
        assert row is not None and row.review is None  # the answer was about another photo
        assert row.effective_landmark_id == "colosseum"


def test_an_empty_folder_that_held_photos_is_named_before_prune(tmp_path: Path,
                                                                env: Path) -> None:
    """A drive or share that is not mounted leaves its mount point behind, empty: a scan
    of it finds none of its photos. Each is counted missing (its file is not there), but
    the scan names the folder in one line and exits 1, so a script does not go on to
    `photolm prune` and forget every result, answer and tag record of the drive."""
    nas = tmp_path / "nas"
    write_photo(nas / "2018" / "london.jpg", COLOURS["eiffel-tower"])
    write_photo(nas / "2019" / "rome.jpg", COLOURS["colosseum"])
    assert _scan(nas)[0] == 0
    (nas / "2018" / "london.jpg").unlink()  # "unmounted": the folder is there, empty
    (nas / "2019" / "rome.jpg").unlink()
    (nas / "2018").rmdir()
    (nas / "2019").rmdir()
    code, summary, err = _scan(nas)
    assert code == 1 and summary["missing"] == 2
    assert [p["path"] for p in summary["walk_problems"]] == [str(nas)]
    assert "empty folder" in summary["walk_problems"][0]["error"]
    line = next(line for line in err.splitlines() if str(nas) in line)
    assert "2 catalogued photos" in line and "not mounted" in line and "prune" in line
    # an empty folder with no photo catalogued in it is no news
    empty = tmp_path / "empty"
    empty.mkdir()
    code, summary, err = _scan(empty)
    assert code == 0 and summary["walk_problems"] == [] and err == ""
    # after `photolm prune` the folder holds nothing catalogued: no line any more
    assert run("prune")[0] == 0
    code, summary, err = _scan(nas)
    assert code == 0 and summary["walk_problems"] == [] and err == ""


def test_scan_json_skipped_always_holds_both_reasons(library: Path, env: Path) -> None:
    """README: `skipped` is `{"video": N, "live_photo_video": N}`; a library without videos
    gave `{}`, so a script reading `["skipped"]["video"]` failed on it."""
    code, summary, _ = _scan(library)
    assert code == 0 and summary["skipped"] == {"live_photo_video": 0, "video": 0}
    (library / "paris" / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really")
    code, summary, _ = _scan(library)
    assert code == 0 and summary["skipped"] == {"live_photo_video": 0, "video": 1}


def test_the_errors_row_counts_photos_and_walk_problems_have_their_own(library: Path,
                                                                        env: Path) -> None:
    """The summary's "errors" row counted a broken symbolic link beside the photos that
    could not be read, so it matched neither ``--json``'s ``errors`` nor the "in these
    folders" count beside it; walk problems are a row of their own (``walk_problems``), and
    ``scan --help`` names the broken link among the reasons for exit 1, as README does."""
    (library / "empty.jpg").write_bytes(b"")
    os.symlink(library / "nowhere.jpg", library / "link.jpg")
    code, _, err = run("scan", library)
    rows = {line.split("  ")[0]: line.split() for line in err.splitlines()}
    assert code == 1 and rows["errors"][-2:] == ["1", "1"], err
    assert rows["walk problems (folders, links)"][-1] == "1", err
    code, summary, _ = _scan(library, "--force")
    assert code == 1 and (len(summary["errors"]), len(summary["walk_problems"])) == (1, 1)
    code, out, _ = run("scan", "--help")
    assert code == 0 and "a symbolic link is broken" in " ".join(out.split()), out


def test_a_re_scan_with_nothing_to_do_draws_no_empty_progress_bar(
        library: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal, a re-scan that decodes nothing flashed a "0/0 ... ETA -:--:--" bar."""
    import io

    from rich.console import Console

    from photolm.cli import output
    from photolm.cli import scan as scan_cli

    screens: list[str] = []
    for _ in range(2):
        screen = io.StringIO()
        monkeypatch.setattr(output, "err", Console(file=screen, force_terminal=True, width=100))
        monkeypatch.setattr(scan_cli, "bar_wanted", lambda **_: True)
        assert run("scan", library, "--quiet")[0] == 0
        screens.append(screen.getvalue())
    assert "2/2" in screens[0]  # the bar is drawn when there is work
    assert "scanning" not in screens[1] and "0/0" not in screens[1], screens[1]
