# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm places`` keeps its groups between runs (photolm/places_cache.py): served again
while nothing they depend on changed, computed again when anything did, never stale, and
never in the way (a cache file that is damaged or cannot be written, a read-only or locked
catalogue)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.clirun import cli
from tests.scriptload import load_script
from tests.test_catalog_access import _in_read_only_mount, _read_only_mount_works
from tests.test_geo_scan import gps_exif
from tests.test_learn_cli import (
    PINK,
    colour_library,
    own_bundle_and_photos,
    two_looks_of_one_place,
)
from tests.tinybundle import make_tiny_bundle, write_photo


@pytest.fixture
def library(env: Path, tmp_path: Path) -> Path:
    return colour_library(tmp_path)


@pytest.fixture
def groupings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry each time the groups are computed rather than served from the cache."""
    from photolm import learning

    calls: list[int] = []
    real = learning._group_unclaimed

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(learning, "_group_unclaimed", counted)
    return calls


def cache_folder() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "photolm" / "places"


def places_json(*extra: str | Path) -> list[dict]:
    code, out, err = cli("places", "--json", *extra)
    assert code == 0 and "Traceback" not in err, err
    return json.loads(out)


def computed_afresh(*extra: str | Path) -> list[dict]:
    """What ``places --json`` says with nothing cached."""
    shutil.rmtree(cache_folder(), ignore_errors=True)
    return places_json(*extra)


def test_a_second_run_with_nothing_changed_is_served_from_the_cache(
        library: Path, groupings: list[int]) -> None:
    first = places_json()
    assert [g["size"] for g in first] == [4, 3] and len(groupings) == 1
    (cached,) = cache_folder().iterdir()  # one file for the catalogue
    assert places_json() == first
    assert places_json("--min-photos", "4") == first[:1]
    assert len(groupings) == 1  # neither grouped again
    # naming a group finds it among the same groups, without grouping again
    code, out, err = cli("places", "name", first[1]["id"], "Cyan Square", "--json")
    assert code == 0 and json.loads(out)["photos"] == 3, err
    assert len(groupings) == 1
    # the learn changed what is unclaimed: grouped again, and the cache file follows
    assert places_json() == first[:1]
    assert len(groupings) == 2
    assert json.loads(cached.read_bytes())["places"][0]["id"] == first[0]["id"]
    # so does an unlearn: the same groups as at first
    assert cli("unlearn", "Cyan Square", "--quiet")[0] == 0
    assert places_json() == first
    assert len(groupings) == 3


def _scan_a_new_photo(lib: Path) -> None:
    write_photo(lib / "trip" / "pink9.jpg", (PINK[0], PINK[1] + 4, PINK[2]))
    assert cli("scan", lib, "--quiet")[0] == 0


def _learn(lib: Path) -> None:
    assert cli("learn", "Old Bridge", lib / "cyan0.jpg", "--quiet")[0] == 0


def _confirm(lib: Path) -> None:
    assert cli("confirm", lib / "trip" / "pink0.jpg", "--landmark", "Eiffel Tower")[0] == 0


def _gps(lib: Path) -> None:  # the same pixels, now with a position
    write_photo(lib / "trip" / "pink0.jpg", PINK, exif=gps_exif(48.8584, 2.2945))
    assert cli("scan", lib, "--quiet")[0] == 0


def _gone_and_pruned(lib: Path) -> None:
    (lib / "trip" / "pink3.jpg").unlink()
    assert cli("scan", lib, "--quiet")[0] == 0  # marks it missing
    assert cli("prune")[0] == 0


@pytest.mark.parametrize("change", [_scan_a_new_photo, _learn, _confirm, _gps,
                                    _gone_and_pruned],
                         ids=["new-photo-scanned", "learn", "confirm", "gps", "pruned"])
def test_any_change_the_groups_depend_on_computes_them_again(
        library: Path, groupings: list[int], change: Callable[[Path], None]) -> None:
    before = places_json()
    change(library)
    calls = len(groupings)
    after = places_json()
    assert len(groupings) == calls + 1  # not served from the cache
    assert after != before
    assert after == computed_afresh()  # and what it says is what a fresh run says


def test_a_new_bundle_computes_them_again(tmp_path: Path, groupings: list[int],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Other places values measured for the same network, then another network."""
    from photolm import places

    bundle = two_looks_of_one_place(tmp_path, monkeypatch)
    assert [g["size"] for g in places_json("--min-photos", "2")] == [2, 2]
    measured = places.Cuts(alike=0.7, nearby=0.8, same_spot=0.9, join=0.3, same_visit=1.0)
    load_script("eval_enrolment").write_places(bundle, "embedding", measured, None)
    assert [g["size"] for g in places_json("--min-photos", "2")] == [4]
    assert len(groupings) == 2
    other = make_tiny_bundle(tmp_path / "other", seed=1)  # another network
    assert other.model_id != bundle.model_id
    assert places_json("--model", other.path) == []  # nothing embedded by it yet
    assert len(groupings) == 3


def test_the_key_covers_every_input_and_nothing_else(library: Path) -> None:
    """Each column the grouping reads changes the key; others (tags, camera) do not."""
    from photolm.bundle import read_bundle
    from photolm.catalog import Catalog
    from photolm.places_cache import places_key

    bundle = read_bundle(os.environ["PHOTOLM_MODEL"])
    catalog = Path(os.environ["PHOTOLM_CATALOG"])

    def key() -> str:
        with Catalog.open(catalog, write=False) as cat:
            return places_key(cat, bundle, 2)

    def changed(sql: str, *params: object) -> bool:
        with Catalog.open(catalog, write=True) as cat:
            cat.conn.execute(sql, params)
            cat.conn.commit()
        return key() != before

    pink = (str(library / "trip" / "pink1.jpg"),)
    where = "WHERE path = ?"
    before = key()
    assert key() == before  # the same rows give the same key
    assert not changed(f"UPDATE photos SET camera_make = 'X', tag_status = 'written' {where}",
                       *pink)
    assert changed(f"UPDATE photos SET latitude = 48.1 {where}", *pink)
    before = key()
    assert changed(f"UPDATE photos SET longitude = 11.5 {where}", *pink)
    before = key()
    assert changed(f"UPDATE photos SET taken = '2024-05-01T10:00:00' {where}", *pink)
    before = key()
    # a vector's bytes, same length: only its content tells
    assert changed("UPDATE embeddings SET vector = zeroblob(length(vector)) WHERE photo_id = "
                   f"(SELECT id FROM photos {where})", *pink)
    before = key()
    assert changed(f"UPDATE photos SET path_key = CAST(? AS BLOB) {where}",
                   os.fsencode(library / "trip" / "moved.jpg"), *pink)
    before = key()
    assert changed(f"UPDATE photos SET missing = 1 {where}", str(library / "cyan1.jpg"))
    with Catalog.open(catalog, write=False) as cat:
        assert places_key(cat, bundle, 3) != places_key(cat, bundle, 2)


@pytest.mark.parametrize("damage", [b"", b"{not json", b"\xff\xfe\x00",
                                    b'{"format": 1, "key": null, "places": []}', b"[1, 2]"])
def test_a_damaged_cache_file_is_ignored_and_replaced(library: Path, groupings: list[int],
                                                      damage: bytes) -> None:
    first = places_json()
    (cached,) = cache_folder().iterdir()
    good = json.loads(cached.read_bytes())
    cached.write_bytes(damage)
    assert places_json() == first
    assert len(groupings) == 2
    assert json.loads(cached.read_bytes()) == good  # replaced
    # the right key with groups that are not what the cache writes: also ignored
    cached.write_text(json.dumps({**good, "places": [{"id": 1, "photos": "x"}]}))
    assert places_json() == first
    assert len(groupings) == 3


def test_a_cache_folder_that_cannot_be_written_only_costs_time(
        library: Path, groupings: list[int], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")  # the cache folder would be inside a file: even root cannot
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    first = places_json()
    assert places_json() == first and [g["size"] for g in first] == [4, 3]
    assert len(groupings) == 2
    assert blocker.read_bytes() == b""


def test_a_locked_catalogue_still_lists_and_caches(library: Path,
                                                   groupings: list[int]) -> None:
    from photolm.catalog import Catalog

    with Catalog.open(Path(os.environ["PHOTOLM_CATALOG"]), write=True):  # as a scan holds it
        first = places_json()
        assert places_json() == first and len(first) == 2
    assert len(groupings) == 1


def test_a_read_only_catalogue_and_cache_folder_still_list_places(
        library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = Path(os.environ["PHOTOLM_CATALOG"])
    expected = places_json()
    folder = tmp_path / "read-only"
    folder.mkdir()
    shutil.copyfile(catalog, folder / "catalog.sqlite")
    if not _read_only_mount_works(folder):
        pytest.skip("needs root and unshare to mount a folder read-only")
    cache = folder / "cache"
    cache.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    for _ in range(2):
        done = _in_read_only_mount(folder, "places", "--json", "--catalog",
                                   str(folder / "catalog.sqlite"))
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert json.loads(done.stdout) == expected
    assert list(cache.iterdir()) == []  # nothing could be stored, and nothing failed


def test_with_a_descriptor_the_likeness_bar_and_descriptors_are_in_the_key(
        tmp_path: Path, groupings: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    from photolm import places
    from photolm.bundle import read_bundle
    from photolm.catalog import Catalog
    from photolm.places_cache import places_key

    bundle = own_bundle_and_photos(
        tmp_path, monkeypatch, {f"square{i}.jpg": (164 + i, 197, 218) for i in range(3)},
        descriptor_threshold=0.5)
    catalog = tmp_path / "catalog.sqlite"
    assert [g["looks_like_a_place"] for g in places_json()] == [True]
    load_script("eval_enrolment").write_places(bundle, "descriptor", places.CUTS["descriptor"],
                                               0.9)  # a bar no group reaches
    assert places_json() == [] and places_json("--all")[0]["looks_like_a_place"] is False
    assert len(groupings) == 2
    bundle = read_bundle(bundle.path)
    with Catalog.open(catalog, write=False) as cat:
        before = places_key(cat, bundle, 2)
    with Catalog.open(catalog, write=True) as cat:  # one descriptor's bytes, same length
        cat.conn.execute("UPDATE descriptors SET vector = zeroblob(length(vector)) "
                         "WHERE photo_id = (SELECT min(photo_id) FROM descriptors)")
        cat.conn.commit()
    with Catalog.open(catalog, write=False) as cat:
        assert places_key(cat, bundle, 2) != before


def test_groups_computed_while_another_writer_stored_something_are_not_kept(
        library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is read before the groups: a commit in between (a scan's batch) could make
    them another state's, so they are returned but not stored under it."""
    from photolm import learning
    from photolm.catalog import Catalog

    real = learning._group_unclaimed
    calls: list[int] = []

    def meanwhile(*args: object, **kwargs: object) -> object:
        calls.append(1)
        with Catalog.open(Path(os.environ["PHOTOLM_CATALOG"]), write=True) as cat:
            cat.conn.execute("UPDATE photos SET camera_make = 'meanwhile'")
            cat.conn.commit()
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(learning, "_group_unclaimed", meanwhile)
    first = places_json()
    assert len(first) == 2 and not list(cache_folder().glob("*.json"))
    assert places_json() == first and len(calls) == 2


def test_the_benchmark_of_the_cache_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """scripts/bench_places.py --cache still works (its figures: docs/performance.md)."""
    load_script("bench_places").cached(400, 1)
    out = capsys.readouterr().out
    assert "400 photos in a catalogue" in out and "second (cached)" in out
