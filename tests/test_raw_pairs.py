# SPDX-License-Identifier: GPL-3.0-or-later
"""A camera RAW beside a JPEG of the same stem is one photo (issue 15): recognised once from
the JPEG, listed and searched once with the RAW as its companion, tagged in the JPEG (as any
photo) and in the RAW's own sidecar, never in the RAW; untag removes both."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from photolm import scan as scan_module
from photolm.cli import output
from tests.clirun import cli as run
from tests.imagefactory import heic_stub
from tests.tags.photos import as_list, exiftool_json
from tests.test_formats import dng_with_preview, needs_exiftool, needs_samples
from tests.tinybundle import COLOURS, write_photo

pytestmark = [needs_exiftool, needs_samples]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def subjects(path: Path) -> list[object]:
    return as_list(exiftool_json(path).get("XMP-dc:Subject"))


@pytest.fixture(scope="module")
def dngs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real DNGs (ExifTool's sample given back JPEG previews), made once per module: the
    Colosseum's and the Taj Mahal's."""
    folder = tmp_path_factory.mktemp("dngs")
    return {name: dng_with_preview(folder / f"{name}.dng",
                                   write_photo(folder / f"{name}.jpg", COLOURS[name],
                                               size=(120, 80)))
            for name in ("colosseum", "taj-mahal")}


@pytest.fixture
def shots(tmp_path: Path, dngs: dict[str, Path]) -> Path:
    """IMG_0001.JPG (the Eiffel Tower) + IMG_0001.dng, a real DNG whose preview shows the
    Colosseum (so a decode of the RAW would show), and IMG_0002.dng alone (the Taj Mahal)."""
    folder = tmp_path / "shots"
    folder.mkdir()
    write_photo(folder / "IMG_0001.JPG", COLOURS["eiffel-tower"])
    shutil.copyfile(dngs["colosseum"], folder / "IMG_0001.dng")
    shutil.copyfile(dngs["taj-mahal"], folder / "IMG_0002.dng")
    return folder


def scan_json(*args: object) -> dict[str, object]:
    code, out, err = run("scan", *args, "--json")
    assert code == 0 and "Traceback" not in err, err
    return json.loads(out)


def search(name: str, *extra: str) -> list[dict[str, object]]:
    code, out, err = run("search", name, "--json", *extra)
    assert code in (0, 1), err
    return json.loads(out)


def names(paths: object) -> list[str]:
    return [Path(str(p)).name for p in as_list(paths)]


def on_a_terminal(monkeypatch: pytest.MonkeyPatch, *command: str) -> list[str]:
    """What ``photolm COMMAND`` shows on an 80-column terminal, colours left out."""
    screen = io.StringIO()
    monkeypatch.setattr(output, "out", Console(file=screen, force_terminal=True,
                                               width=80, soft_wrap=True, highlight=False))
    assert run(*command)[0] == 0
    return re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue()).splitlines()


def test_a_pair_is_one_photo_recognised_once_from_its_jpeg(
        shots: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    real = scan_module.read_photo

    def counting(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        decoded.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(scan_module, "read_photo", counting)
    summary = scan_json(shots)
    assert sorted(decoded) == ["IMG_0001.JPG", "IMG_0002.dng"]  # the pair's RAW: never
    assert (summary["found"], summary["processed"], summary["raw_pairs"]) == (2, 2, 1)
    assert summary["skipped"] == {"live_photo_video": 0, "video": 0}
    assert summary["catalog"]["photos"] == 2
    hits = search("Eiffel Tower")
    assert [(Path(h["path"]).name, names(h["companions"])) for h in hits] == [
        ("IMG_0001.JPG", ["IMG_0001.dng"])]
    assert search("Colosseum") == []  # the RAW's preview was not recognised as a photo
    code, out, _ = run("list", "--json")
    rows = {Path(r["path"]).name: names(r["companions"]) for r in json.loads(out)}
    assert rows == {"IMG_0001.JPG": ["IMG_0001.dng"], "IMG_0002.dng": []}
    code, out, _ = run("info", "--json")
    assert json.loads(out)["catalog"]["photos"] == 2
    code, _, err = run("scan", shots, "--force")
    assert code == 0
    assert "pairs joined" not in err  # the first scan joined it (the test below)
    assert "skipped (not scanned)" not in err


def test_the_summary_says_pairs_joined_by_this_scan_not_on_every_re_scan(
        shots: Path, env: Path, dngs: dict[str, Path]) -> None:
    """"RAW + JPEG pairs joined" was repeated by every re-scan of the same pairs: it is
    the pairs this run joined, beside all those found (README's `raw_pairs_joined`,
    `raw_pairs`), and no row at all when the run joined none."""
    def rows(err: str) -> dict[str, list[str]]:
        return {line.split("  ")[0]: line.split() for line in err.splitlines()}

    code, _, err = run("scan", shots)
    assert code == 0 and rows(err)["RAW + JPEG pairs joined"][-2:] == ["1", "1"], err
    summary = scan_json(shots)
    assert (summary["raw_pairs"], summary["raw_pairs_joined"]) == (1, 0)
    code, _, err = run("scan", shots)
    assert code == 0 and "pairs joined" not in err, err
    moved = shots / "2024"
    moved.mkdir()
    for name in ("IMG_0001.JPG", "IMG_0001.dng"):  # a pair moved together: joined before
        (shots / name).rename(moved / name)
    summary = scan_json(shots)
    assert (summary["moved"], summary["raw_pairs"], summary["raw_pairs_joined"]) == (1, 1, 0)
    write_photo(shots / "IMG_0003.JPG", COLOURS["colosseum"])  # a new pair beside it
    shutil.copyfile(dngs["colosseum"], shots / "IMG_0003.dng")
    code, _, err = run("scan", shots)
    assert code == 0 and rows(err)["RAW + JPEG pairs joined"][-2:] == ["1", "2"], err


@pytest.mark.parametrize(("options", "jpeg_file", "raw_sidecar"), [
    ((), "IMG_0001.JPG.xmp", "IMG_0001.dng.xmp"),
    (("--embed",), "IMG_0001.JPG", "IMG_0001.dng.xmp"),
    (("--embed", "--sidecar-style", "lightroom"), "IMG_0001.JPG", "IMG_0001.xmp"),
])
def test_tag_writes_the_jpeg_and_the_raws_sidecar_and_untag_removes_both(
        shots: Path, env: Path, options: tuple[str, ...], jpeg_file: str,
        raw_sidecar: str) -> None:
    scan_json(shots)
    raw, jpeg = shots / "IMG_0001.dng", shots / "IMG_0001.JPG"
    before = {raw: sha(raw), jpeg: sha(jpeg)}
    code, out, err = run("tag", *options, "--json")
    assert code == 0, err
    tagged = {Path(p["path"]).name: p for p in json.loads(out)["photos"]}
    assert names(tagged["IMG_0001.JPG"]["companions"]) == ["IMG_0001.dng"]
    assert sorted(names(tagged["IMG_0001.JPG"]["files"])) == sorted([jpeg_file, raw_sidecar])
    assert subjects(shots / jpeg_file) == ["Eiffel Tower"]
    assert subjects(shots / raw_sidecar) == ["Eiffel Tower"]
    marker = exiftool_json(shots / raw_sidecar)
    assert any(str(v) == "IMG_0001.dng" for v in marker.values()), marker  # names its RAW
    assert sha(raw) == before[raw]  # never written into
    code, out, err = run("untag", "--json")
    assert code == 0, err
    assert not (shots / raw_sidecar).exists() and not (shots / "IMG_0001.JPG.xmp").exists()
    assert {p: sha(p) for p in before} == before  # the JPEG's own bytes back, byte for byte


def test_embed_notes_the_raws_tagged_in_sidecars_once(shots: Path, env: Path) -> None:
    scan_json(shots)
    code, out, err = run("tag", "--embed", "--dry-run")
    assert code == 0, err
    assert f"{shots / 'IMG_0001.JPG'} (embedded, exiv2)" in out
    assert f"{shots / 'IMG_0001.dng'} -> {shots / 'IMG_0001.dng.xmp'} (new sidecar)" in out
    assert not list(shots.glob("*.xmp"))
    code, _, err = run("tag", "--embed")
    assert code == 0, err
    notes = [line for line in err.splitlines() if "camera RAW" in line]
    assert notes == ["note: 2 camera RAW files tagged in XMP sidecars: photolm never writes "
                     "into RAW files"]  # IMG_0002.dng, and IMG_0001.JPG's RAW


def test_lightroom_sidecars_cannot_tell_a_pair_apart_one_line(shots: Path, env: Path) -> None:
    scan_json(shots)
    code, _, err = run("tag", "--sidecar-style", "lightroom", shots / "IMG_0001.JPG")
    lines = [line for line in err.splitlines() if "IMG_0001" in line]
    assert code == 1 and len(lines) == 1 and "would be shared" in lines[0], err
    assert not list(shots.glob("*.xmp"))


def test_the_raw_names_its_pair_for_confirm_tag_and_untag(shots: Path, env: Path) -> None:
    scan_json(shots)
    code, _, err = run("confirm", shots / "IMG_0001.dng", "--landmark", "colosseum")
    assert code == 0, err
    assert [Path(h["path"]).name for h in search("Colosseum")] == ["IMG_0001.JPG"]
    code, _, err = run("tag", shots / "IMG_0001.dng")
    assert code == 0, err
    assert subjects(shots / "IMG_0001.dng.xmp") == ["Colosseum"]
    assert subjects(shots / "IMG_0001.JPG.xmp") == ["Colosseum"]
    assert not (shots / "IMG_0002.dng.xmp").exists()  # only the pair named
    code, _, err = run("untag", shots / "IMG_0001.dng")
    assert code == 0, err
    assert not list(shots.glob("*.xmp"))


def test_a_raw_deleted_later_leaves_the_jpeg_and_its_sidecar_is_cleaned(
        shots: Path, env: Path) -> None:
    scan_json(shots)
    assert run("tag")[0] == 0
    (shots / "IMG_0001.dng").unlink()  # the photographer keeps only the JPEG
    summary = scan_json(shots)
    assert (summary["found"], summary["raw_pairs"], summary["missing"]) == (2, 0, 0)
    assert [names(h["companions"]) for h in search("Eiffel Tower")] == [[]]
    code, _, err = run("untag")
    assert code == 0, err
    # photolm's sidecar for the deleted RAW held only photolm's tags: removed with them
    assert sorted(p.name for p in shots.glob("*.xmp")) == []


def test_a_jpeg_deleted_later_makes_the_raw_the_photo(shots: Path, env: Path) -> None:
    scan_json(shots)
    (shots / "IMG_0001.JPG").unlink()
    summary = scan_json(shots)
    assert (summary["found"], summary["processed"], summary["missing"]) == (2, 1, 1)
    # recognised from its own preview now: the Colosseum
    assert [Path(h["path"]).name for h in search("Colosseum")] == ["IMG_0001.dng"]
    missing = search("Eiffel Tower", "--include-missing")
    assert [(Path(h["path"]).name, h["missing"], h["companions"]) for h in missing] == [
        ("IMG_0001.JPG", True, [])]
    code, out, _ = run("prune", "--json")
    assert names([p["path"] for p in json.loads(out)["photos"]]) == ["IMG_0001.JPG"]
    code, out, _ = run("list", "--json")
    assert code == 0
    assert sorted(Path(r["path"]).name for r in json.loads(out)) == ["IMG_0001.dng",
                                                                     "IMG_0002.dng"]


def test_a_jpeg_beside_a_catalogued_raw_joins_it_with_the_persons_answer(
        shots: Path, env: Path) -> None:
    jpeg = shots / "IMG_0001.JPG"
    jpeg.rename(shots.parent / "later.jpg")
    scan_json(shots)  # the RAW alone: a photo of its own
    assert run("confirm", shots / "IMG_0001.dng", "--landmark", "taj mahal")[0] == 0
    (shots.parent / "later.jpg").rename(jpeg)  # the JPEG comes back beside it
    summary = scan_json(shots)
    assert (summary["found"], summary["raw_pairs"], summary["raw_pairs_merged"]) == (2, 1, 1)
    assert summary["missing"] == 0  # the RAW is not missing: it is the JPEG's companion
    code, out, _ = run("list", "--json")
    assert code == 0
    rows = {Path(r["path"]).name: r for r in json.loads(out)}
    assert sorted(rows) == ["IMG_0001.JPG", "IMG_0002.dng"]
    pair = rows["IMG_0001.JPG"]
    assert (pair["landmark"], pair["review"]) == ("Taj Mahal", "corrected")
    assert names(pair["companions"]) == ["IMG_0001.dng"]


def test_excluding_the_jpegs_keeps_the_raws_as_photos(shots: Path, env: Path) -> None:
    summary = scan_json(shots, "--exclude", "*.JPG")
    assert (summary["found"], summary["raw_pairs"], summary["excluded"]) == (2, 0, 1)
    assert [Path(h["path"]).name for h in search("Colosseum")] == ["IMG_0001.dng"]


def test_a_raw_named_on_its_own_scans_its_pair(shots: Path, env: Path) -> None:
    summary = scan_json(shots / "IMG_0001.dng")
    assert (summary["found"], summary["raw_pairs"]) == (1, 1)
    assert [Path(h["path"]).name for h in search("Eiffel Tower")] == ["IMG_0001.JPG"]
    shutil.rmtree(shots)


def test_a_pair_moved_together_keeps_its_results_and_its_old_sidecars_are_cleaned(
        shots: Path, env: Path) -> None:
    scan_json(shots)
    assert run("confirm", shots / "IMG_0001.JPG", "--landmark", "colosseum")[0] == 0
    assert run("tag")[0] == 0
    moved = shots / "2024"
    moved.mkdir()
    for name in ("IMG_0001.JPG", "IMG_0001.dng"):  # the photos move, their sidecars do not
        (shots / name).rename(moved / name)
    summary = scan_json(shots)
    assert (summary["moved"], summary["processed"], summary["raw_pairs"]) == (1, 0, 1)
    hits = search("Colosseum")
    assert [(Path(h["path"]).parent.name, Path(h["path"]).name, h["review"]) for h in hits] \
        == [("2024", "IMG_0001.JPG", "corrected")]
    assert [Path(c).parent.name for c in hits[0]["companions"]] == ["2024"]
    code, _, err = run("tag")
    assert code == 0, err
    assert subjects(moved / "IMG_0001.dng.xmp") == ["Colosseum"]
    assert subjects(moved / "IMG_0001.JPG.xmp") == ["Colosseum"]
    # the sidecars left at the old place held only photolm's tags: cleaned away
    assert sorted(p.name for p in shots.glob("IMG_0001*.xmp")) == []


def test_verify_rechecks_the_jpeg_the_verdict_is_about(shots: Path, env: Path,
                                                       tmp_path: Path) -> None:
    scan_json(shots)
    raw, jpeg = shots / "IMG_0001.dng", shots / "IMG_0001.JPG"
    for photo, colour in ((raw, "taj-mahal"), (jpeg, "colosseum")):
        st = photo.stat()
        if photo == raw:  # another RAW of the same size: not what the verdict is about
            data = bytearray(raw.read_bytes())
            data[-64:] = bytes(64)
            raw.write_bytes(bytes(data))
        else:  # another photo of the same size and date: recognised again
            replaced = write_photo(tmp_path / "other.jpg", COLOURS[colour])
            assert replaced.stat().st_size == st.st_size
            shutil.copyfile(replaced, photo)
        os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns))
        summary = scan_json(shots, "--verify")
        assert summary["replaced"] == (photo == jpeg), summary
    assert [(Path(h["path"]).name, names(h["companions"])) for h in search("Colosseum")] == [
        ("IMG_0001.JPG", ["IMG_0001.dng"])]


def test_a_pairs_broken_jpeg_is_recognised_from_its_raw_with_one_warning(
        shots: Path, env: Path) -> None:
    jpeg = shots / "IMG_0001.JPG"
    data = jpeg.read_bytes()
    jpeg.write_bytes(data[: len(data) // 2])  # truncated: the header sniffs as a JPEG
    code, _, err = run("scan", shots)
    assert code == 0 and "Traceback" not in err, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(jpeg) in warnings[0], err
    assert "IMG_0001.dng" in warnings[0] and "corrupt JPEG" in warnings[0]
    # the pair is still one photo, recognised from the RAW's preview: the Colosseum
    hits = search("Colosseum")
    assert [(Path(h["path"]).name, names(h["companions"])) for h in hits] == [
        ("IMG_0001.JPG", ["IMG_0001.dng"])]
    summary = scan_json(shots, "--force")
    assert (summary["found"], summary["processed"], summary["errors"]) == (2, 2, [])
    assert [(Path(str(r["path"])).name, Path(str(r["raw"])).name)
            for r in summary["recognised_from_raw"]] == [("IMG_0001.JPG", "IMG_0001.dng")]
    assert "warning" not in run("scan", shots)[2]  # unchanged since: no warning again
    assert "JPEG unreadable, RAW used 1 " in " ".join(run("scan", shots, "--force")[2].split())


def listed(name: str) -> dict[str, object]:
    code, out, err = run("list", "--json")
    assert code == 0, err
    (row,) = [r for r in json.loads(out) if Path(r["path"]).name == name]
    return row


def test_list_says_which_file_a_pair_was_recognised_from_until_its_jpeg_reads(
        shots: Path, env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogue records that a pair's verdict came from its RAW's preview: ``list
    --json`` names that RAW, ``list`` says so on the photo's RAW line (a pipe's RAW field
    stays the names), through a move of the pair; a scan that reads the JPEG clears it."""
    jpeg = shots / "IMG_0001.JPG"
    good = jpeg.read_bytes()
    jpeg.write_bytes(good[: len(good) // 2])
    scan_json(shots)
    row = listed("IMG_0001.JPG")
    assert (row["landmark"], row["recognised_from"]) == ("Colosseum", str(shots / "IMG_0001.dng"))
    assert listed("IMG_0002.dng")["recognised_from"] is None  # a RAW alone: its own file
    out = run("list")[1]  # a pipe: the RAW field is the RAW's name, as for any pair
    (pair,) = [line.split("\t") for line in out.splitlines() if str(jpeg) in line]
    assert pair[-1] == "IMG_0001.dng"
    shown = on_a_terminal(monkeypatch, "list")
    at = next(i for i, line in enumerate(shown) if str(jpeg) in line)
    assert ("  + RAW IMG_0001.dng (recognised from its preview: the JPEG could not be read)"
            in shown[at + 1]), "\n".join(shown)
    uncertain = on_a_terminal(monkeypatch, "list", "--uncertain", "--margin", "1")
    assert any("recognised from its preview: the JPEG" in line for line in uncertain)
    found = json.loads(run("search", "Colosseum", "--json")[1])  # search says it as list does
    (hit,) = [r for r in found if r["path"] == str(jpeg)]
    assert hit["recognised_from"] == str(shots / "IMG_0001.dng")
    searched = on_a_terminal(monkeypatch, "search", "Colosseum")
    assert any("recognised from its preview: the JPEG could not be read" in line
               for line in searched), "\n".join(searched)

    moved = tmp_path / "moved"  # the pair moved and renamed together: the same photo
    moved.mkdir()
    for old, new in (("IMG_0001.JPG", "Rome.JPG"), ("IMG_0001.dng", "Rome.dng")):
        (shots / old).rename(moved / new)
    assert scan_json(moved)["moved"] == 1
    assert listed("Rome.JPG")["recognised_from"] == str(moved / "Rome.dng")

    (moved / "Rome.JPG").write_bytes(good)  # repaired: the JPEG is what is recognised again
    assert scan_json(moved)["recognised_from_raw"] == []
    row = listed("Rome.JPG")
    assert (row["landmark"], row["recognised_from"]) == ("Eiffel Tower", None)
    shown = on_a_terminal(monkeypatch, "list")
    assert any("  + RAW Rome.dng" in line for line in shown), "\n".join(shown)
    assert not any("preview" in line for line in shown), "\n".join(shown)


def test_the_desktops_scan_shows_a_broken_jpegs_warning_too(shots: Path, env: Path) -> None:
    pytest.importorskip("starlette", reason="the desktop extra is not installed")
    from photolm.desktop.jobs import Job, scan_work

    assert run("scan", shots)[0] == 0
    jpeg = shots / "IMG_0001.JPG"
    jpeg.write_bytes(jpeg.read_bytes()[:300])
    job = Job("scan", "Scan")
    scan_work(env, None, [str(shots)])(job)
    assert job.state == "done", job.message
    [line] = [line for line in job.lines if str(jpeg) in line]
    assert line.startswith(f"{jpeg}: ") and "corrupt JPEG" in line
    assert line.endswith("recognised from its RAW IMG_0001.dng instead")


def test_a_pairs_broken_heic_is_named_a_heic_not_a_jpeg(
        shots: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (shots / "IMG_0001.JPG").unlink()
    heic_stub(shots / "IMG_0001.HEIC")  # sniffs as a HEIC; no decoder can read it
    code, _, err = run("scan", shots)
    assert code == 0 and "Traceback" not in err, err
    (warning,) = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "IMG_0001.HEIC" in warning and "IMG_0001.dng" in warning
    assert "JPEG" not in warning and "HEIC" in warning.split(":", 2)[2]
    summary = " ".join(err.split())
    assert "HEIC unreadable, RAW used 1 " in summary and "JPEG unreadable" not in summary
    assert [Path(str(r["path"])).name for r in scan_json(shots, "--force")
            ["recognised_from_raw"]] == ["IMG_0001.HEIC"]
    assert listed("IMG_0001.HEIC")["recognised_from"] == str(shots / "IMG_0001.dng")
    shown = on_a_terminal(monkeypatch, "list")
    assert any("+ RAW IMG_0001.dng (recognised from its preview: the HEIC could not be read)"
               in line for line in shown), "\n".join(shown)


@pytest.mark.parametrize(("kind", "other"), [("JPEG", "HEIC"), ("HEIC", "JPEG")])
def test_the_summary_names_what_the_raw_was_paired_with(shots: Path, env: Path, kind: str,
                                                        other: str) -> None:
    """"RAW + HEIC pairs joined", not "RAW + JPEG", when the camera wrote a HEIC; and so for
    a RAW catalogued alone that a photo appeared beside."""
    jpeg = shots / "IMG_0001.JPG"
    jpeg.rename(shots.parent / "later.jpg")
    scan_json(shots)  # the RAW alone: a photo of its own
    if kind == "JPEG":
        (shots.parent / "later.jpg").rename(jpeg)
    else:
        heic_stub(shots / "IMG_0001.HEIC")  # unreadable: recognised from the RAW
    code, _, err = run("scan", shots)
    assert code == 0 and "Traceback" not in err, err
    summary = " ".join(err.split())
    assert f"RAW + {kind} pairs joined 1 " in summary
    assert f"RAWs newly joined to a {kind} 1 " in summary
    assert f"RAW + {other}" not in summary and f"joined to a {other}" not in summary


def test_a_pair_whose_jpeg_and_raw_are_both_broken_is_one_error_naming_both(
        shots: Path, env: Path) -> None:
    for name in ("IMG_0001.JPG", "IMG_0001.dng"):
        data = (shots / name).read_bytes()
        (shots / name).write_bytes(data[:600])
    code, _, err = run("scan", shots)
    lines = [line for line in err.splitlines() if "IMG_0001" in line]
    assert code == 1 and len(lines) == 1 and "IMG_0001.dng" in lines[0], err
    code, out, _ = run("list", "--errors", "--json")
    assert [Path(r["path"]).name for r in json.loads(out)] == ["IMG_0001.JPG"]


@pytest.mark.parametrize("command", [("list",), ("search", "Eiffel Tower"),
                                     ("list", "--uncertain", "--margin", "1")])
def test_text_tables_show_the_raw_last_in_a_pipe_and_under_the_path_on_a_terminal(
        shots: Path, env: Path, monkeypatch: pytest.MonkeyPatch,
        command: tuple[str, ...]) -> None:
    scan_json(shots)
    jpeg = str(shots / "IMG_0001.JPG")
    code, out, err = run(*command)  # the runner's stdout is a pipe
    assert code == 0, err
    lines = [line.split("\t") for line in out.splitlines()]
    pair = next(fields for fields in lines if jpeg in fields)
    assert pair[-1] == "IMG_0001.dng"  # last: the fields a script cuts keep their places
    assert all(len(fields) == len(pair) for fields in lines)

    shown = on_a_terminal(monkeypatch, *command)
    at = next(i for i, line in enumerate(shown) if jpeg in line)
    assert "  + RAW IMG_0001.dng" in shown[at + 1], "\n".join(shown)
    (shots / "IMG_0001.dng").unlink()
    scan_json(shots)
    alone = on_a_terminal(monkeypatch, *command)
    assert not any("RAW" in line for line in alone)
    # under the path, the RAW costs the table no width: as readable at 80 columns as before
    assert max(map(len, shown)) == max(map(len, alone))


def test_tables_without_any_raw_have_no_raw_column(tmp_path: Path, env: Path) -> None:
    write_photo(tmp_path / "p" / "IMG_0003.JPG", COLOURS["eiffel-tower"])
    scan_json(tmp_path / "p")
    code, out, _ = run("list")
    assert code == 0 and [len(line.split("\t")) for line in out.splitlines()] == [4]


def test_places_shows_an_examples_raw_as_list_does(
        tmp_path: Path, dngs: dict[str, Path], env: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A place's example photos come with their RAWs: under the path on a terminal, the last
    field in a pipe (one line per example), ``companions`` in --json."""
    lib = tmp_path / "lib"
    for i in range(3):  # a place the tiny bundle has never seen: unclaimed, alike
        write_photo(lib / f"IMG_000{i}.JPG", (20 + i, 200, 210))
    shutil.copyfile(dngs["colosseum"], lib / "IMG_0000.dng")
    scan_json(lib)
    jpeg, raw = str(lib / "IMG_0000.JPG"), str(lib / "IMG_0000.dng")
    code, out, err = run("places", "--json")
    assert code == 0, err
    (place,) = json.loads(out)
    assert place["size"] == 3 and place["companions"] == {jpeg: [raw]}
    code, out, err = run("places")  # the runner's stdout is a pipe
    assert code == 0 and "Traceback" not in err, err
    lines = [line.split("\t") for line in out.splitlines()]
    assert sorted(fields[3] for fields in lines) == sorted(place["photos"])  # one a line
    assert {fields[0] for fields in lines} == {place["id"]}
    assert [fields[4] for fields in lines if fields[3] == jpeg] == ["IMG_0000.dng"]
    assert all(len(fields) == 5 for fields in lines)
    shown = on_a_terminal(monkeypatch, "places")
    at = next(i for i, line in enumerate(shown) if jpeg in line)
    assert "  + RAW IMG_0000.dng" in shown[at + 1], "\n".join(shown)
    assert sum(place["id"] in line for line in shown) == 1, "\n".join(shown)  # one row


def test_prune_lists_a_forgotten_photos_raw(shots: Path, env: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    scan_json(shots)
    jpeg = shots / "IMG_0001.JPG"
    for name in ("IMG_0001.JPG", "IMG_0001.dng"):  # the whole pair gone (a folder moved)
        (shots / name).unlink()
    scan_json(shots)
    code, out, _ = run("prune", "--dry-run", "--json")
    assert [(p["path"], names(p["companions"])) for p in json.loads(out)["photos"]] == [
        (str(jpeg), ["IMG_0001.dng"])]
    code, out, _ = run("prune", "--dry-run")  # a pipe: the RAW as the last field
    assert code == 0 and out.splitlines() == [f"{jpeg}\tIMG_0001.dng"]
    shown = on_a_terminal(monkeypatch, "prune")
    assert shown == [str(jpeg), "  + RAW IMG_0001.dng"]
    assert run("prune", "--json")[1].count("IMG_0001") == 0  # forgotten, RAW and all
