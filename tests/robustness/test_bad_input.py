# SPDX-License-Identifier: GPL-3.0-or-later
"""A library full of surprises: the scan finishes, reports each bad file once, loses no good
photo and writes nothing to (or beside) any photo.

The corpus (tests/robustness/corpus.py) is scanned once per test module through the real CLI
in-process; unreadable files, HEIC without pillow-heif and files deleted or replaced during
the scan need a patched process of their own and have their own tests below.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from photolm import images, photo_read
from photolm import scan as scan_mod
from photolm.catalog import Catalog
from tests import imagefactory as factory
from tests.robustness import corpus
from tests.robustness.helpers import (
    changed,
    check_rows,
    cli,
    loud_log_records,
    native_stderr,
    snapshot,
)
from tests.tinybundle import COLOURS, make_tiny_bundle, write_photo


def display(root: Path, name: str) -> str:
    """How the catalogue and the warning lines show ``root/name``."""
    return os.fsencode(root / name).decode("utf-8", "backslashreplace")


def lines_naming(stderr: str, shown: str) -> list[str]:
    return [line for line in stderr.splitlines() if f"{shown}: " in line]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Build the corpus, snapshot it, scan it twice; everything the tests below inspect."""
    base = tmp_path_factory.mktemp("corpus")
    bundle = make_tiny_bundle(base / "bundle")
    root = base / "photos"
    cases = corpus.build(root)
    catalog = base / "catalog" / "cat.sqlite"
    before = snapshot(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PHOTOLM_MODEL", str(bundle.path))
        mp.setenv("PHOTOLM_CATALOG", str(catalog))
        with native_stderr() as native, loud_log_records() as logged:
            first = cli("scan", root)
            after_first, rows_first = snapshot(root), check_rows(catalog)
            second = cli("scan", root)
    yield {
        "root": root, "cases": cases, "catalog": catalog, "before": before,
        "after_first": after_first, "after_second": snapshot(root), "first": first,
        "second": second, "native_stderr": native[0], "rows_first": rows_first,
        "logged": [f"{r.name}: {r.getMessage()}" for r in logged],
    }


def test_scan_finishes_and_exit_status_says_something_failed(scanned: dict) -> None:
    for code, _, err in (scanned["first"], scanned["second"]):
        assert code == 1, err
        assert "Traceback" not in err
        assert "Error:" not in err  # per-file problems are warnings, never a fatal error


def test_no_library_prints_lines_of_its_own(scanned: dict) -> None:
    """Only photolm's one line per problem: no libtiff/libjpeg chatter on the real stderr."""
    assert scanned["native_stderr"] == ""
    assert scanned["logged"] == []  # would be printed by Python's last-resort handler


def test_every_bad_file_has_one_line_and_a_row_with_its_error(scanned: dict) -> None:
    root, (_, _, err) = scanned["root"], scanned["first"]
    rows = check_rows(scanned["catalog"])
    bad = [c for c in scanned["cases"] if c.expect in (corpus.ERROR, corpus.WALK)]
    assert len(bad) >= 15
    for case in bad:
        shown = display(root, case.name)
        lines = lines_naming(err, shown)
        assert len(lines) == 1, (case.name, lines)
        assert lines[0].startswith(f"warning: {shown}: {case.message}"), lines[0]
        if case.expect == corpus.ERROR:
            assert rows[shown] is not None and rows[shown].startswith(case.message), case.name
        else:
            assert shown not in rows  # a dangling link is not a photo


def test_no_good_photo_is_lost(scanned: dict) -> None:
    root = scanned["root"]
    rows = check_rows(scanned["catalog"])
    good = [c for c in scanned["cases"] if c.expect == corpus.OK]
    assert len(good) >= 30
    with Catalog.open(scanned["catalog"], write=False) as cat:
        for case in good:
            shown = display(root, case.name)
            assert rows.get(shown, "no row") is None, (case.name, rows.get(shown, "no row"))
            assert lines_naming(scanned["first"][2], shown) == []
            if case.landmark:
                row = cat.get_photo(root / case.name)
                assert row is not None and row.landmark_name == case.landmark, case.name
    # exactly the expected rows: no duplicates through the symlink loop or the second link
    expected = {display(root, c.name) for c in scanned["cases"]
                if c.expect in (corpus.OK, corpus.ERROR)}
    assert set(rows) == expected


def test_second_scan_skips_good_photos_and_counts_known_bad_ones(scanned: dict) -> None:
    """Issue 10.11: an unchanged broken file failed already; saying so again on every scan
    (and exiting 1) would hide a new failure among old ones. It is counted instead."""
    _, _, err = scanned["second"]
    for case in scanned["cases"]:
        shown = display(scanned["root"], case.name)
        want = 1 if case.expect == corpus.WALK else 0
        assert len(lines_naming(err, shown)) == want, case.name
    good = sum(c.expect == corpus.OK for c in scanned["cases"])
    bad = sum(c.expect == corpus.ERROR for c in scanned["cases"])
    assert re.search(rf"^skipped, unchanged\s+{good}\s*$", err, re.MULTILINE), err
    assert f"{bad} known unreadable" in err and "photolm list --errors" in err
    assert check_rows(scanned["catalog"]) == scanned["rows_first"]  # same rows, same errors


def test_nothing_is_written_to_or_beside_any_photo(scanned: dict) -> None:
    assert changed(scanned["before"], scanned["after_first"]) == []
    assert changed(scanned["before"], scanned["after_second"]) == []


def test_nonsense_gps_is_dropped_but_the_photo_kept(scanned: dict) -> None:
    with Catalog.open(scanned["catalog"], write=False) as cat:
        for name in ("gps-95-degrees", "gps-75-minutes", "gps-zero-denominator", "gps-nan"):
            row = cat.get_photo(scanned["root"] / "exif" / f"{name}.jpg")
            assert row is not None and row.error is None
            assert row.latitude is None and row.longitude is None, name
        noted = cat.get_photo(scanned["root"] / "exif" / "huge-maker-note.jpg")
        assert noted is not None and noted.camera_make == "Canon"


# ------------------------------------------------------------- cases needing a patched run
@pytest.fixture
def small_library(tmp_path: Path, tiny_bundle_dir: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "photos"
    for i, colour in enumerate(COLOURS.values()):
        write_photo(root / f"p{i}.jpg", colour)
    monkeypatch.setenv("PHOTOLM_MODEL", str(tiny_bundle_dir))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "cat.sqlite"))
    return root


@contextlib.contextmanager
def denied(files: set[str], folders: set[str]) -> Iterator[None]:
    """Make ``open`` of ``files`` and listing of ``folders`` fail as for a user without the
    permission (the tests run as root, which reads everything)."""
    import builtins

    real_open, real_scandir = builtins.open, os.scandir

    def guarded_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(file, (str, bytes, os.PathLike)) and os.fsdecode(file) in files:
            raise PermissionError(13, "Permission denied", os.fsdecode(file))
        return real_open(file, *args, **kwargs)

    def guarded_scandir(path=".", *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fsdecode(path) in folders:
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_scandir(path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(builtins, "open", guarded_open)
        mp.setattr(os, "scandir", guarded_scandir)
        yield


def test_unreadable_file_and_folder_get_one_line_each(
    small_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = write_photo(small_library / "secret.jpg", COLOURS["colosseum"])
    locked = small_library / "locked"
    write_photo(locked / "inside.jpg", COLOURS["colosseum"])
    before = snapshot(small_library)
    with denied({str(secret)}, {str(locked)}):
        code, _, err = cli("scan", small_library)
    assert code == 1
    assert lines_naming(err, str(secret)) == [
        f"warning: {secret}: permission denied: cannot read the file"]
    assert lines_naming(err, str(locked)) == [
        f"warning: {locked}: permission denied: cannot list folder"]
    rows = check_rows(tmp_path / "cat.sqlite")
    assert sorted(Path(p).name for p, e in rows.items() if e is None) == [
        "p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg"]
    assert changed(before, snapshot(small_library)) == []


def test_unreadable_photo_also_gets_a_catalogue_row(
    small_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = write_photo(small_library / "secret.jpg", COLOURS["colosseum"])
    with denied({str(secret)}, set()):
        cli("scan", small_library)
    assert check_rows(tmp_path / "cat.sqlite").get(str(secret), "no row") == (
        "permission denied: cannot read the file")


def _unprivileged() -> list[str] | None:
    """A command prefix that runs as ``nobody``, or None where that is impossible."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return None
    prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    try:
        probe = [*prefix, sys.executable, "-c", "import photolm.cli.app"]
        ok = subprocess.run(probe, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return None
    return prefix if ok else None


def test_real_permissions_as_an_unprivileged_user(tiny_bundle_dir: Path) -> None:
    """The same with real ``chmod 000`` and a scan run as ``nobody`` (root ignores modes)."""
    prefix = _unprivileged()
    if prefix is None:
        pytest.skip("needs root, setpriv and a photolm that user nobody can import")
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="photolm-perm-"))  # outside root's private tmp dirs
    try:
        os.chmod(base, 0o777)
        bundle = shutil.copytree(tiny_bundle_dir, base / "bundle")
        root = base / "photos"
        write_photo(root / "ok.jpg", COLOURS["taj-mahal"])
        secret = write_photo(root / "secret.jpg", COLOURS["taj-mahal"])
        locked = root / "locked"
        write_photo(locked / "inside.jpg", COLOURS["taj-mahal"])
        for path in base.rglob("*"):
            os.chmod(path, 0o777 if path.is_dir() else 0o666)
        os.chmod(secret, 0)
        os.chmod(locked, 0)
        before = snapshot(root)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(base), "LC_ALL": "C.UTF-8",
               "PHOTOLM_MODEL": str(bundle), "PHOTOLM_CATALOG": str(base / "cat.sqlite")}
        res = subprocess.run([*prefix, sys.executable, "-m", "photolm", "scan", str(root)],
                             env=env, capture_output=True, text=True, timeout=120)
        assert res.returncode == 1, res.stderr
        assert "Traceback" not in res.stderr
        assert lines_naming(res.stderr, str(secret)) == [
            f"warning: {secret}: permission denied: cannot read the file"]
        assert lines_naming(res.stderr, str(locked)) == [
            f"warning: {locked}: permission denied: cannot list folder"]
        assert check_rows(base / "cat.sqlite") == {
            str(root / "ok.jpg"): None, str(secret): "permission denied: cannot read the file"}
        assert changed(before, snapshot(root)) == []
    finally:
        for path in [base, *base.rglob("*")]:
            if not path.is_symlink():
                os.chmod(path, 0o700)
        shutil.rmtree(base)


def test_heic_without_pillow_heif_is_one_clear_line(
    small_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    heic = factory.real_heic(small_library / "IMG_0002.HEIC") or factory.heic_stub(
        small_library / "IMG_0002.HEIC")
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import pillow_heif now fails
    monkeypatch.setattr(images, "_heif_registered", False)
    Image.init()
    for table in (Image.OPEN, Image.MIME):  # as if the plugin had never been registered
        monkeypatch.delitem(table, "HEIF", raising=False)
    code, _, err = cli("scan", small_library)
    assert code == 1
    assert lines_naming(err, str(heic)) == [f"warning: {heic}: {images.HEIC_MISSING}"]
    rows = check_rows(tmp_path / "cat.sqlite")
    assert rows[str(heic)] == images.HEIC_MISSING
    assert sum(e is None for e in rows.values()) == 4


# Where the scan reads a photo: before it opens the file (the scan's call), and once the
# file is open, when its pixels are decoded (the one handle keeps reading a deleted file).
STAGES = {"open": (scan_mod, "read_photo"), "decode": (photo_read, "decode_upright")}
REAL = {stage: getattr(*where) for stage, where in STAGES.items()}


def _sabotage(monkeypatch: pytest.MonkeyPatch, stage: str, target: Path,
              act: Callable[[Path], None]) -> list[Path]:
    """Run ``act(target)`` the first time the scan reaches ``stage`` for ``target``."""
    real = REAL[stage]
    hits: list[Path] = []

    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        path = next(Path(a) for a in args if isinstance(a, (str, Path)))
        if path == target and not hits:
            hits.append(path)
            act(path)
        return real(*args, **kwargs)

    monkeypatch.setattr(*STAGES[stage], wrapped)
    return hits


@pytest.mark.parametrize(
    ("stage", "message"),
    [("open", "file vanished during the scan"),
     ("decode", None)],  # the file is open: the photo is recognised, then missing
)
def test_file_deleted_during_the_scan(small_library: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch, stage: str,
                                      message: str | None) -> None:
    target = small_library / "p1.jpg"
    hits = _sabotage(monkeypatch, stage, target, Path.unlink)
    code, _, err = cli("scan", small_library)
    assert hits == [target]
    assert "Traceback" not in err
    rows = check_rows(tmp_path / "cat.sqlite")
    assert rows[str(target)] == message
    assert code == (0 if message is None else 1)
    assert lines_naming(err, str(target)) == (
        [] if message is None else [f"warning: {target}: {message}"])
    assert sum(e is None for p, e in rows.items() if p != str(target)) == 3
    monkeypatch.setattr(*STAGES[stage], REAL[stage])
    code, _, _ = cli("scan", small_library)  # the next scan flags it missing, keeps the rest
    assert code == 0
    with Catalog.open(tmp_path / "cat.sqlite", write=False) as cat:
        row = cat.get_photo(target)
        assert row is not None and row.missing


@pytest.mark.parametrize("stage", ["open", "decode"])
def test_file_replaced_during_the_scan(small_library: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    """Replaced atomically (as a sync tool does) by another photo: the next scan sees that
    size and mtime changed and recognises the new content."""
    target = small_library / "p0.jpg"  # an Eiffel Tower photo, replaced by a Colosseum one

    def replace(path: Path) -> None:
        fresh = write_photo(path.with_name("incoming.tmp"), COLOURS["colosseum"], size=(80, 60),
                            fmt="JPEG")
        os.utime(fresh, ns=(10**18, 10**18))
        os.replace(fresh, path)

    _sabotage(monkeypatch, stage, target, replace)
    code, _, err = cli("scan", small_library)
    assert code == 0, err
    assert all(e is None for e in check_rows(tmp_path / "cat.sqlite").values())
    code, _, _ = cli("scan", small_library)
    assert code == 0
    with Catalog.open(tmp_path / "cat.sqlite", write=False) as cat:
        row = cat.get_photo(target)
        assert row is not None and row.landmark_name == "Colosseum"
        assert row.mtime_ns == 10**18 and row.size == target.stat().st_size


def test_file_replaced_by_garbage_during_the_scan(small_library: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = small_library / "p2.jpg"
    _sabotage(monkeypatch, "open", target,
              lambda p: p.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 16))
    code, _, err = cli("scan", small_library)
    assert code == 1
    assert lines_naming(err, str(target)) == [
        f"warning: {target}: corrupt JPEG: its header cannot be read"]
    rows = check_rows(tmp_path / "cat.sqlite")
    assert rows[str(target)] == "corrupt JPEG: its header cannot be read"
    assert sum(e is None for e in rows.values()) == 3


# ---------------------------------------------------------------- known output problems
def test_json_summary_with_a_non_utf8_bad_file_name(small_library: Path) -> None:
    bad = Path(os.fsdecode(os.fsencode(small_library) + b"/broken-\xff.jpg"))
    factory.truncated_jpeg(bad)
    code, out, _ = cli("scan", small_library, "--json")
    assert code == 1
    errors = json.loads(out)["errors"]
    assert [e["path"] for e in errors] == [display(small_library, "broken-\\xff.jpg")]


def test_control_characters_in_a_file_name_stay_on_one_line(small_library: Path) -> None:
    factory.truncated_jpeg(small_library / "ZZnew\nline.jpg")
    factory.truncated_jpeg(small_library / "ZZescape\x1b[31m.jpg")
    code, _, err = cli("scan", small_library)
    assert code == 1
    warnings = [line for line in err.splitlines() if "ZZ" in line or "line.jpg" in line]
    assert len(warnings) == 2 and all(line.startswith("warning: ") for line in warnings)
    assert "\x1b" not in err
