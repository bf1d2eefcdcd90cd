# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogue: safety of the file (versions, foreign files, locks, crashes) and the API."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photolm.bundle import Landmark
from photolm.catalog import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    Catalog,
    CatalogMissingError,
    MatchUpdate,
    PhotoRecord,
    Review,
    TagRecord,
    normalise_path,
    resolve_catalog_path,
)
from photolm.catalog import schema as schema_module
from photolm.catalog.paths import display
from photolm.errors import CatalogBusyError, CatalogError

POSIX_BYTES_NAMES = sys.platform.startswith("linux")
NON_UTF8 = os.fsdecode(b"/photos/caf\xe9 \xff.jpg") if POSIX_BYTES_NAMES else "/photos/café.jpg"


def record(path: str, **fields: object) -> PhotoRecord:
    base: dict[str, object] = {"size": 1000, "mtime_ns": 1_700_000_000_000_000_000}
    base.update(fields)
    return PhotoRecord(path=path, **base)  # type: ignore[arg-type]


def matched(path: str, landmark: str = "eiffel", score: float = 0.8, **fields: object):
    values: dict[str, object] = {
        "bundle_id": "bundle-1",
        "model_id": "model-1",
        "landmark_id": landmark,
        "landmark_name": landmark.title(),
        "score": score,
        "topk": [{"landmark_id": landmark, "name": landmark.title(), "score": score}],
        "embedding": np.linspace(-1, 1, 8, dtype=np.float32),
    }
    values.update(fields)
    return record(path, **values)


def stored_vector(cat: Catalog, path: str) -> np.ndarray | None:
    """The embedding stored for a photo, read the way re-matching reads it."""
    row = cat.get_photo(path)
    stored = [] if row is None else list(cat.stored_embeddings([row.id]))
    return stored[0].vector if stored else None


def flag_missing(cat: Catalog, paths: list[str]) -> None:
    """Flag photos missing the way a scan does: a walk of their folder that did not find them."""
    for path in paths:
        folder = os.path.dirname(path)
        present = [r.path for r in cat.photos(under=folder) if r.path != path and not r.missing]
        cat.sync_missing([folder], present)


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file in a folder: proves a refused open changed nothing at all."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
    }


@pytest.fixture
def cat_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dirs" / "catalog.sqlite"


@pytest.fixture
def cat(cat_path: Path):
    with Catalog.open(cat_path, write=True) as c:
        yield c


# ------------------------------------------------------------------ opening and the file


def test_create_makes_folders_wal_and_versioned_schema(cat_path: Path) -> None:
    with Catalog.open(cat_path, write=True) as c:
        conn = c.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"photos", "embeddings", "landmarks", "scans", "meta"} <= tables
        c.write_results([record("/photos/a.jpg")])
    with Catalog.open(cat_path, write=True) as c:  # reopening migrates nothing, keeps data
        assert c.schema_version == SCHEMA_VERSION
        assert c.get_photo("/photos/a.jpg") is not None


def test_resolve_catalog_path_prefers_option_then_env(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PHOTOLM_CATALOG", raising=False)
    default = resolve_catalog_path(None)
    assert default.name == "catalog.sqlite" and "photolm" in default.parts
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "env.sqlite"))
    assert resolve_catalog_path(None) == tmp_path / "env.sqlite"
    assert resolve_catalog_path(tmp_path / "opt.sqlite") == tmp_path / "opt.sqlite"


@pytest.mark.parametrize("write", [True, False])
def test_newer_schema_is_refused_and_file_untouched(cat_path: Path, write: bool) -> None:
    with Catalog.open(cat_path, write=True) as c:
        c.write_results([record("/photos/a.jpg")])
    raw = sqlite3.connect(cat_path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    before = fingerprint(cat_path.parent)
    with pytest.raises(CatalogError) as info:
        Catalog.open(cat_path, write=write)
    assert str(info.value) == (
        f"Catalogue {cat_path} was written by a newer photolm (schema 99, this one knows "
        f"{SCHEMA_VERSION}); upgrade photolm."
    )
    assert fingerprint(cat_path.parent) == before


def test_newer_schema_still_in_the_wal_is_refused(cat_path: Path) -> None:
    """The file header can lag behind an un-checkpointed WAL: SQLite's answer must win."""
    Catalog.open(cat_path, write=True).close()
    other = sqlite3.connect(cat_path)
    other.execute("PRAGMA wal_autocheckpoint = 0")
    newer = SCHEMA_VERSION + 1  # newer than this photolm, whatever it is
    other.execute(f"PRAGMA user_version = {newer}")
    main_before = hashlib.sha256(cat_path.read_bytes()).hexdigest()
    try:
        for write in (True, False):
            with pytest.raises(CatalogError, match=f"newer photolm \\(schema {newer}"):
                Catalog.open(cat_path, write=write)
        assert hashlib.sha256(cat_path.read_bytes()).hexdigest() == main_before
    finally:
        other.close()


@pytest.mark.parametrize("write", [True, False])
@pytest.mark.parametrize(
    "content",
    [b"just some notes, not a database\n" * 20, b"\x89PNG\r\n\x1a\n" + bytes(200), b"SQLite"],
)
def test_non_database_is_refused_and_untouched(cat_path: Path, write: bool, content: bytes):
    cat_path.parent.mkdir(parents=True)
    cat_path.write_bytes(content)
    before = fingerprint(cat_path.parent)
    with pytest.raises(CatalogError, match="not a photolm catalogue") as info:
        Catalog.open(cat_path, write=write)
    assert "\n" not in str(info.value)
    assert fingerprint(cat_path.parent) == before  # no -wal, -shm, -journal or .lock either


@pytest.mark.parametrize("write", [True, False])
def test_someone_elses_sqlite_database_is_refused(cat_path: Path, write: bool) -> None:
    cat_path.parent.mkdir(parents=True)
    raw = sqlite3.connect(cat_path)
    raw.execute("CREATE TABLE users (name TEXT)")
    raw.commit()
    raw.close()
    before = hashlib.sha256(cat_path.read_bytes()).hexdigest()
    with pytest.raises(CatalogError, match="is not a photolm catalogue"):
        Catalog.open(cat_path, write=write)
    assert hashlib.sha256(cat_path.read_bytes()).hexdigest() == before


def test_damaged_catalogue_is_refused_for_writing(cat_path: Path) -> None:
    with Catalog.open(cat_path, write=True) as c:
        c.write_results([matched(f"/photos/{i:04d}.jpg") for i in range(300)])
    data = bytearray(cat_path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[3 * page : 4 * page] = b"\xa5" * page  # scribble over a whole b-tree page
    cat_path.write_bytes(bytes(data))
    before = hashlib.sha256(cat_path.read_bytes()).hexdigest()
    with pytest.raises(CatalogError, match="damaged"):
        Catalog.open(cat_path, write=True)
    assert hashlib.sha256(cat_path.read_bytes()).hexdigest() == before


def test_read_only_open_of_missing_catalogue_explains_and_creates_nothing(tmp_path: Path):
    path = tmp_path / "none" / "catalog.sqlite"
    with pytest.raises(CatalogMissingError) as info:
        Catalog.open(path, write=False)
    assert str(info.value) == f"No catalogue at {path} yet: run `photolm scan FOLDER` first."
    assert not path.parent.exists()


def test_read_only_catalogue_refuses_writes(cat_path: Path) -> None:
    Catalog.open(cat_path, write=True).close()
    with Catalog.open(cat_path, write=False) as r, pytest.raises(CatalogError, match="read-only"):
        r.write_results([record("/photos/a.jpg")])


def test_catalogue_path_with_uri_special_characters(tmp_path: Path) -> None:
    path = tmp_path / "it's 100% #1?;_x" / "cat.sqlite"
    with Catalog.open(path, write=True) as c:
        c.write_results([record("/photos/a.jpg")])
    with Catalog.open(path, write=False) as r:
        assert [p.path for p in r.photos()] == ["/photos/a.jpg"]


# ------------------------------------------------------------------ one writer, many readers


def test_second_writer_is_busy_while_readers_keep_working(cat_path: Path) -> None:
    with Catalog.open(cat_path, write=True) as first:
        first.write_results([matched("/photos/a.jpg")])
        with pytest.raises(CatalogBusyError) as info:
            Catalog.open(cat_path, write=True)
        assert str(info.value) == (
            f"Another photolm process is writing catalogue {cat_path}; wait for it to finish "
            "or use --catalog to pick another."
        )
        with pytest.raises(KeyboardInterrupt), first.db.atomic():
            first.conn.execute("DELETE FROM photos")  # the writer is mid-transaction...
            with Catalog.open(cat_path, write=False) as reader:  # ...readers see the last commit
                assert [p.path for p in reader.photos(["eiffel"])] == ["/photos/a.jpg"]
            raise KeyboardInterrupt  # interrupted: rolled back
    with Catalog.open(cat_path, write=True) as again:  # released on close
        assert again.get_photo("/photos/a.jpg") is not None


def test_writer_waits_for_the_lock_when_asked(cat_path: Path) -> None:
    Catalog.open(cat_path, write=True).close()
    other = FileLock(f"{cat_path}.lock", thread_local=False)  # another process, in effect
    other.acquire()
    with pytest.raises(CatalogBusyError):
        Catalog.open(cat_path, write=True, lock_timeout=0.1)
    timer = threading.Timer(0.3, other.release)
    timer.start()
    try:
        started = time.monotonic()
        with Catalog.open(cat_path, write=True, lock_timeout=10):
            assert time.monotonic() - started >= 0.2
    finally:
        timer.join()


CHILD_WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from photolm.catalog import Catalog, PhotoRecord
    batch = int(sys.argv[2])
    with Catalog.open(sys.argv[1], write=True) as c:
        i = 0
        while True:
            c.write_results([
                PhotoRecord(path=f"/photos/b{i:05d}/{j:03d}.jpg", size=j, mtime_ns=i,
                            model_id="m", embedding=np.ones(64, np.float32))
                for j in range(batch)
            ])
            if i == 2:
                print("writing", flush=True)
            i += 1
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 is POSIX")
def test_kill_9_mid_scan_leaves_whole_batches_and_frees_the_lock(cat_path: Path) -> None:
    batch = 40
    Catalog.open(cat_path, write=True).close()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_WRITER, str(cat_path), str(batch)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "writing"
        with pytest.raises(CatalogBusyError):  # the child holds the write lock
            Catalog.open(cat_path, write=True)
        time.sleep(0.3)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    with Catalog.open(cat_path, write=True) as c:  # lock gone with the process; file sound
        assert c.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        per_batch = c.conn.execute(
            "SELECT count(*) FROM photos GROUP BY folder"
        ).fetchall()
        embedded = c.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    assert len(per_batch) >= 3
    assert {n for (n,) in per_batch} == {batch}
    assert embedded == batch * len(per_batch)


# ------------------------------------------------------------------ writing results


def test_batch_is_all_or_nothing(cat: Catalog) -> None:
    cat.write_results([matched("/photos/keep.jpg", score=0.5)])
    bad_batch = [
        matched("/photos/keep.jpg", score=0.99, landmark="colosseum"),
        matched("/photos/new1.jpg"),
        record("/photos/broken.jpg", size=-1),  # violates CHECK (size >= 0)
        matched("/photos/new2.jpg"),
    ]
    with pytest.raises(CatalogError, match="nothing of this change was stored: free disk "
                       "space or check the file, then run the command again"):
        cat.write_results(bad_batch)
    rows = cat.photos()
    assert [r.path for r in rows] == ["/photos/keep.jpg"]
    assert rows[0].landmark_id == "eiffel" and rows[0].score == pytest.approx(0.5)
    assert cat.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 1


def test_upsert_replaces_fields_and_embedding(cat: Catalog) -> None:
    cat.write_results([matched("/photos/a.jpg", score=0.7, content_hash="h1")])
    first = cat.get_photo("/photos/a.jpg")
    assert first is not None and first.has_embedding
    cat.write_results([
        record("/photos/a.jpg", size=5, mtime_ns=6, content_hash="h2", error="truncated JPEG")
    ])
    row = cat.get_photo("/photos/a.jpg")
    assert row is not None
    assert (row.id, row.size, row.mtime_ns, row.content_hash) == (first.id, 5, 6, "h2")
    assert (row.landmark_id, row.score, row.error, row.status) == (
        None, None, "truncated JPEG", "error"
    )
    assert not row.has_embedding and stored_vector(cat, "/photos/a.jpg") is None
    assert len(cat.photos()) == 1


def test_fields_round_trip(cat: Catalog) -> None:
    vec = np.random.default_rng(1).standard_normal(512).astype(np.float32)
    vec /= np.linalg.norm(vec)
    cat.write_results([
        record(
            "/photos/x.jpg", content_hash="abc", taken="2024-06-01T12:00:00",
            camera_make="Canon", camera_model="EOS R6", latitude=48.85, longitude=2.29,
            width=4000, height=3000, bundle_id="b", model_id="m", landmark_id="eiffel",
            landmark_name="Eiffel Tower", score=np.float32(0.75),
            topk=[{"landmark_id": "eiffel", "name": "Eiffel Tower", "score": np.float32(0.75)}],
            embedding=vec, scanned_at="2024-06-02T00:00:00+00:00",
        )
    ])
    row = cat.get_photo("/photos/x.jpg")
    assert row is not None
    assert (row.folder, row.taken, row.camera_make, row.camera_model) == (
        "/photos", "2024-06-01T12:00:00", "Canon", "EOS R6"
    )
    assert (row.latitude, row.longitude, row.width, row.height) == (48.85, 2.29, 4000, 3000)
    assert row.topk[0]["name"] == "Eiffel Tower" and row.scanned_at.startswith("2024-06-02")
    stored = stored_vector(cat, "/photos/x.jpg")
    assert stored is not None and stored.dtype == np.float32
    assert float(stored @ vec) == pytest.approx(1.0, abs=1e-3)  # float16 storage


def test_move_photo_keeps_results_and_identity(cat: Catalog) -> None:
    cat.write_results([matched("/photos/old.jpg", content_hash="h"), record("/photos/new.jpg")])
    before = cat.get_photo("/photos/old.jpg")
    assert before is not None
    assert cat.move_photo("/photos/old.jpg", "/trips/new name.jpg", 1234, 99)
    assert cat.get_photo("/photos/old.jpg") is None
    moved = cat.get_photo("/trips/new name.jpg")
    assert moved is not None
    assert (moved.id, moved.landmark_id, moved.score, moved.folder) == (
        before.id, "eiffel", before.score, "/trips"
    )
    assert (moved.size, moved.mtime_ns) == (1234, 99)
    assert stored_vector(cat, "/trips/new name.jpg") is not None
    # moving onto a catalogued path replaces that row (the file there is now this one)
    assert cat.move_photo("/trips/new name.jpg", "/photos/new.jpg", 1, 2)
    assert [r.path for r in cat.photos(order="path")] == ["/photos/new.jpg"]
    assert cat.get_photo("/photos/new.jpg").landmark_id == "eiffel"  # type: ignore[union-attr]
    assert not cat.move_photo("/nowhere.jpg", "/photos/new.jpg", 1, 2)
    assert cat.get_photo("/photos/new.jpg") is not None


def test_missing_flags(cat: Catalog) -> None:
    cat.write_results([matched("/photos/a.jpg", content_hash="same"), record("/photos/b.jpg")])
    assert cat.sync_missing(["/photos"], ["/photos/b.jpg", "/photos/none.jpg"]) == 1
    assert cat.get_photo("/photos/a.jpg").status == "missing"  # type: ignore[union-attr]
    assert [r.path for r in cat.photos(include_missing=False)] == ["/photos/b.jpg"]
    assert cat.landmark_counts() == {} and cat.landmark_counts(include_missing=True) == {
        "eiffel": 1
    }
    assert cat.load_index()[normalise_path("/photos/a.jpg")].missing
    cat.write_results([matched("/photos/a.jpg")])  # seen again by a scan: no longer missing
    assert not cat.get_photo("/photos/a.jpg").missing  # type: ignore[union-attr]
    assert cat.forget(["/photos/a.jpg"]) == 1 and list(cat.load_index()) == [
        normalise_path("/photos/b.jpg")]


def test_sync_missing_flags_only_unseen_photos_under_the_roots(cat: Catalog) -> None:
    cat.write_results([record(p) for p in ("/nas/a.jpg", "/nas/sub/b.jpg", "/nas2/c.jpg",
                                           "/home/d.jpg")])
    flag_missing(cat, ["/nas/a.jpg"])
    # /nas2 shares a prefix with /nas but is not under it
    assert cat.sync_missing(["/nas"], present=["/nas/a.jpg"]) == 1
    assert {r.path for r in cat.photos() if r.missing} == {"/nas/sub/b.jpg"}
    assert cat.sync_missing(["/nas", "/nas/sub"], present=[]) == 2  # overlapping roots
    assert {r.path for r in cat.photos() if r.missing} == {"/nas/a.jpg", "/nas/sub/b.jpg"}


def test_sync_missing_flags_only_photos_whose_files_are_gone(cat: Catalog,
                                                             tmp_path: Path) -> None:
    """A photo the walk did not hand back (hidden, behind an unreadable folder) but that is
    still on disk is not missing, and loses a flag it had; a deleted one is flagged."""
    kept, deleted = tmp_path / "kept.jpg", tmp_path / "deleted.jpg"
    kept.write_bytes(b"x")
    cat.write_results([record(str(kept)), record(str(deleted))])
    assert cat.sync_missing([tmp_path], present=[]) == 1
    assert {r.path for r in cat.photos() if r.missing} == {str(deleted)}
    kept.unlink()
    assert cat.sync_missing([tmp_path], present=[]) == 2
    kept.write_bytes(b"x")  # back (a share mounted again), still not handed back by the walk
    assert cat.sync_missing([tmp_path], present=[]) == 1
    assert {r.path for r in cat.photos() if r.missing} == {str(deleted)}


def test_undo_records_stay_while_a_catalogued_copy_has_that_content(cat: Catalog) -> None:
    """Identical copies tagged alike share one undo record: restoring, untagging or
    re-scanning one copy must leave it for the other; it goes with the last copy."""
    copies = ("/p/a.jpg", "/q/a.jpg")

    def keep() -> None:
        cat.keep_undo("fp1:x", "sha", path=copies[0], original_sha256="o", patch=b"S")

    def kept() -> bool:
        return cat.find_undo("fp1:x", "sha") is not None

    cat.write_results([record(p, content_hash="fp1:x") for p in copies])
    keep()
    cat.drop_undo("fp1:x", "sha", unless_copy_of=copies[0])  # one copy restored
    assert kept()
    cat.drop_undo("fp1:x", "sha")  # photolm wrote it again: no copy asked about
    assert not kept()
    keep()
    cat.record_tags([TagRecord(copies[0], "untag", "removed")])
    assert kept()
    cat.record_tags([TagRecord(p, "untag", "removed") for p in copies])
    assert not kept()
    keep()
    cat.write_results([record(copies[0], content_hash="fp1:edited")])  # rescanned, changed
    assert kept()
    cat.write_results([record(copies[1], content_hash="fp1:edited")])
    assert not kept()


def test_a_map_dot_lists_the_photos_it_counts(cat: Catalog) -> None:
    """A position off the globe (a library caller's bad value) is on no dot: neither counted
    nor listed under the dot its rounding would fall on."""
    cat.write_results([record("/p/pole.jpg", latitude=89.96, longitude=10.0),
                       record("/p/off.jpg", latitude=90.04, longitude=10.0)])
    ((lat, lon, count, _),) = cat.gps_places()
    assert (lat, lon, count) == (90.0, 10.0, 1)
    assert [r.path for r in cat.photos_near(lat, lon)] == ["/p/pole.jpg"]


def test_landmarks_counts_and_search_order(cat: Catalog) -> None:
    cat.write_results([
        matched("/p/1.jpg", "eiffel", 0.6), matched("/p/2.jpg", "eiffel", 0.9),
        matched("/p/3.jpg", "colosseum", 0.7), record("/p/4.jpg"),
        matched("/p/5.jpg", "eiffel", 0.8, bundle_id="bundle-0"),
    ])
    assert cat.landmark_counts("bundle-1") == {"eiffel": 2, "colosseum": 1}
    assert cat.landmark_counts() == {"eiffel": 3, "colosseum": 1}
    assert [r.path for r in cat.photos(["eiffel"])] == ["/p/2.jpg", "/p/5.jpg", "/p/1.jpg"]
    assert [r.path for r in cat.photos(["colosseum", "eiffel"], limit=2)] == [
        "/p/2.jpg", "/p/5.jpg"
    ]
    assert cat.photos([]) == [] and cat.photos(["louvre"]) == []
    assert [r.path for r in cat.photos()][-1] == "/p/4.jpg"  # no score: last
    lms = [Landmark("eiffel", "Eiffel Tower", ("Tour Eiffel",), "Paris", "France", 48.8, 2.3),
           Landmark("colosseum", "Colosseum", (), "Rome", "Italy")]
    cat.replace_landmarks("bundle-1", lms)
    cat.replace_landmarks("bundle-1", lms[::-1])  # replaces, keeps the new order
    assert cat.landmarks("bundle-1") == lms[::-1] and cat.landmarks("other") == []
    assert cat.last_bundle_id() == "bundle-1"
    cat.replace_landmarks("bundle-0", lms[:1])
    assert cat.landmarks() == lms[:1]  # default: the bundle stored last...
    cat.start_scan(["/p"], "bundle-1")
    assert cat.landmarks() == lms[::-1]  # ...unless a scan says which bundle is active
    with pytest.raises(ValueError):
        cat.photos(order="random")


def test_rematch_reads_stored_embeddings_by_id(cat: Catalog) -> None:
    cat.write_results([
        matched("/p/1.jpg"), matched("/p/2.jpg", bundle_id="bundle-2"),
        matched("/p/3.jpg", model_id="model-other"), record("/p/4.jpg"),
    ])
    index = cat.load_index()
    ids = [index[normalise_path(p)].id for p in ("/p/1.jpg", "/p/3.jpg", "/p/4.jpg")]
    todo = list(cat.stored_embeddings(ids))  # /p/4.jpg has no embedding: left out
    assert [e.path for e in todo] == ["/p/1.jpg", "/p/3.jpg"] and todo[0].vector.shape == (8,)
    assert todo[0].vector[0] == pytest.approx(-1)
    changed = cat.update_matches([
        MatchUpdate(e.path, "bundle-2", "colosseum", "Colosseum", 0.66) for e in todo
    ])
    assert changed == 2
    row = cat.get_photo("/p/1.jpg")
    assert row is not None and (row.bundle_id, row.landmark_id) == ("bundle-2", "colosseum")


def test_scans_and_stats(cat: Catalog) -> None:
    scan = cat.start_scan(["/photos"], bundle_id="bundle-1", model_id="model-1")
    cat.write_results([matched("/photos/a.jpg"), record("/photos/b.jpg", error="bad")])
    cat.finish_scan(scan, {"scanned": 2, "errors": 1})
    stats = cat.stats()
    assert (stats["photos"], stats["with_landmark"], stats["errors"], stats["missing"]) == (
        2, 1, 1, 0
    )
    assert stats["file_bytes"] > 0 and stats["schema_version"] == SCHEMA_VERSION
    last = stats["last_scan"]
    assert last["id"] == scan and last["roots"] == ["/photos"] and last["finished"]
    assert last["counts"] == {"scanned": 2, "errors": 1}
    cat.remember_threshold("bundle-1", 0.5)
    cat.remember_threshold("bundle-1", 0.75)
    cat.remember_threshold("bundle-2", np.float32(0.625))
    assert cat.thresholds() == {"bundle-1": 0.75, "bundle-2": 0.625}


AWKWARD = [
    "/photos/it's \"quoted\".jpg",
    "/photos/100% done_final;.jpg",
    "/photos/a_b/x.jpg",
    "/photos/aXb/y.jpg",
    "/photos/back\\slash; DROP TABLE photos;--.jpg",
    "/photos/日本/東京タワー.jpg",
    NON_UTF8,
]


def test_awkward_paths_round_trip(cat: Catalog) -> None:
    cat.write_results([matched(p) for p in AWKWARD])
    assert sorted(r.path for r in cat.photos()) == sorted(AWKWARD)
    for p in AWKWARD:
        row = cat.get_photo(p)
        assert row is not None and row.path == p
        assert normalise_path(p) in cat.load_index()
    # "_" and "%" are not wildcards: /photos/a_b holds one photo, not /photos/aXb's too
    assert [r.path for r in cat.photos(under="/photos/a_b")] == ["/photos/a_b/x.jpg"]
    assert len(cat.photos(["eiffel"], under="/photos")) == len(AWKWARD)
    assert cat.move_photo(AWKWARD[1], AWKWARD[1] + "'", 1, 1)
    assert cat.get_photo(AWKWARD[1] + "'") is not None
    if POSIX_BYTES_NAMES:
        row = cat.get_photo(NON_UTF8)
        assert row is not None and os.fsencode(row.path) == b"/photos/caf\xe9 \xff.jpg"
        assert row.display_path == "/photos/caf\\xe9 \\xff.jpg"


# ------------------------------------------------------------------ migrations


def test_migration_applies_in_order_and_failure_rolls_back(cat_path: Path, monkeypatch) -> None:
    Catalog.open(cat_path, write=True).close()
    current = SCHEMA_VERSION  # the next step is tested, whatever the released version is

    def next_broken(db) -> None:
        db.execute("CREATE TABLE albums (photo_id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO no_such_table VALUES (1)")

    def next_albums(db) -> None:
        db.execute("CREATE TABLE albums (photo_id INTEGER PRIMARY KEY, name TEXT)")

    released = schema_module.MIGRATIONS
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", current + 1)
    monkeypatch.setattr(schema_module, "MIGRATIONS", (*released, next_broken))
    with pytest.raises(CatalogError, match=f"left at schema {current}"):
        Catalog.open(cat_path, write=True)
    raw = sqlite3.connect(cat_path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == current
    assert raw.execute(
        "SELECT count(*) FROM sqlite_master WHERE name='albums'").fetchone()[0] == 0
    raw.close()
    with pytest.raises(CatalogError, match=f"left at schema {current}"):  # a reader tries too
        Catalog.open(cat_path, write=False)

    monkeypatch.setattr(schema_module, "MIGRATIONS", (*released, next_albums))
    with Catalog.open(cat_path, write=True) as c:
        assert c.schema_version == current + 1
        assert "albums" in c.db.table_names()


def old_catalogue(path: Path, version: int, monkeypatch: pytest.MonkeyPatch,
                  photos: dict[str, str | None], companions: dict[str, str] | None = None
                  ) -> None:
    """A catalogue as photolm at schema ``version`` left it, written in that schema's own
    terms (plain SQL: today's writers name columns it does not have): ``photos`` path ->
    landmark id, ``companions`` RAW path -> its photo's path (schema 6 on)."""
    with monkeypatch.context() as m:
        m.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:version])
        m.setattr(schema_module, "SCHEMA_VERSION", version)
        with Catalog.open(path, write=True) as old:
            for photo, landmark in photos.items():
                key = os.fsencode(photo)
                old.conn.execute(
                    "INSERT INTO photos (path_key, path, folder, size, mtime_ns, landmark_id, "
                    "scanned_at) VALUES (?, ?, ?, 1000, 1, ?, 'then')",
                    (key, display(key), display(os.path.dirname(key)), landmark))
            for raw, photo in (companions or {}).items():
                old.conn.execute(
                    "INSERT INTO companions (path_key, photo_id, path) SELECT ?, id, ? "
                    "FROM photos WHERE path_key = ?", (os.fsencode(raw), raw, os.fsencode(photo)))
            old.conn.commit()
            assert old.schema_version == version


def test_schema_5_catalogue_upgrades_to_6_and_keeps_raw_companions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v5.sqlite"
    old_catalogue(path, 5, monkeypatch,
                  {"/p/IMG_1.JPG": "eiffel", "/p/IMG_1.CR2": None, NON_UTF8: None})
    with Catalog.open(path, write=True) as cat:
        assert cat.schema_version == SCHEMA_VERSION
        row = cat.get_photo("/p/IMG_1.JPG")
        assert row is not None and row.landmark_id == "eiffel" and row.companions == []
        raw = NON_UTF8[: -len(".jpg")] + ".CR2"
        # the RAW catalogued on its own before joins its JPEG, as the walk now says
        assert cat.sync_companions({"/p/IMG_1.JPG": ["/p/IMG_1.CR2"],
                                    NON_UTF8: [raw]}).merged == [
            "/p/IMG_1.JPG"]  # the photo the RAW's row was merged into
        assert cat.get_photo("/p/IMG_1.CR2") is None
        assert cat.get_photo(NON_UTF8).companions == [raw]  # non-UTF-8 names round-trip
        found = cat.photo_of_companion("/p/IMG_1.CR2")
        assert found is not None and found.path == "/p/IMG_1.JPG"
        assert found.companions == ["/p/IMG_1.CR2"]
        cat.forget(["/p/IMG_1.JPG"])  # its companion goes with it
        assert cat.photo_of_companion("/p/IMG_1.CR2") is None
        assert cat.conn.execute("SELECT count(*) FROM companions").fetchone() == (1,)


def test_schema_6_catalogue_upgrades_to_7_recording_what_a_match_came_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Schema 7 records which file a photo's verdict came from: every photo catalogued
    before is its own file's; a scan that recognised a pair from its RAW's preview says
    which RAW, a move renames it with the pair, and the next scan of the JPEG clears it."""
    path = tmp_path / "v6.sqlite"
    old_catalogue(path, 6, monkeypatch, {"/p/IMG_1.JPG": "eiffel", "/p/IMG_2.JPG": None},
                  companions={"/p/IMG_1.CR2": "/p/IMG_1.JPG"})
    with Catalog.open(path, write=True) as cat:
        assert cat.schema_version == SCHEMA_VERSION
        row = cat.get_photo("/p/IMG_1.JPG")
        assert row is not None and row.landmark_id == "eiffel"
        assert row.companions == ["/p/IMG_1.CR2"]  # kept, as everything else
        assert (row.recognised_from, row.recognised_from_file) == (None, None)
        cat.write_results([record("/p/IMG_1.JPG", landmark_id="colosseum",
                                  recognised_from="IMG_1.CR2")])
        row = cat.get_photo("/p/IMG_1.JPG")
        assert (row.recognised_from, row.recognised_from_file) == ("IMG_1.CR2", "/p/IMG_1.CR2")
        cat.update_matches([MatchUpdate("/p/IMG_1.JPG", "b2", None, None, None)])
        assert cat.get_photo("/p/IMG_1.JPG").recognised_from == "IMG_1.CR2"  # same vector
        assert cat.move_photo("/p/IMG_1.JPG", "/q/Rome.JPG", 1000, 2)
        assert cat.get_photo("/q/Rome.JPG").recognised_from == "Rome.CR2"  # renamed with the pair
        cat.write_results([record("/q/Rome.JPG", landmark_id="colosseum")])
        assert cat.get_photo("/q/Rome.JPG").recognised_from is None
        assert cat.get_photo("/p/IMG_2.JPG").recognised_from is None


def test_schema_7_catalogue_upgrades_to_8_reading_its_roots_and_tag_files_as_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Schema 8 keeps the paths the catalogue holds only as text (a scan's roots, the files
    a tag wrote) in a form that reads back exactly. Text an older photolm wrote in
    ``backslashreplace`` form is rewritten in place as the path photolm read it as (a
    ``\\xNN`` from 0x80 up is that byte); from then on ``a\\xffb`` spelled with a backslash and
    ``a<0xff>b`` stay two names."""
    import json

    path = tmp_path / "v7.sqlite"
    old_catalogue(path, 7, monkeypatch, {"/p/IMG_1.JPG": "eiffel", NON_UTF8: None})
    byte = os.fsdecode(b"/p/a\xffb")
    spelled = "/p/a\\xffb"  # a backslash, x, f, f: display() wrote both as this text
    old_roots = [display(os.fsencode(p)) for p in ("/p", byte, "/p/back\\slash", "/p/new\nline")]
    old_files = [display(os.fsencode(NON_UTF8 + ".xmp")), "/p/IMG_1.JPG.xmp"]
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO scans (started, roots) VALUES ('then', ?)",
                (json.dumps(old_roots, ensure_ascii=False),))
    raw.execute("UPDATE photos SET tag_files = ?", (json.dumps(old_files, ensure_ascii=False),))
    raw.execute("UPDATE photos SET recognised_from = ? WHERE path_key = ?",
                (display(b"a\xffb.CR2"), os.fsencode("/p/IMG_1.JPG")))
    raw.commit()
    raw.close()
    with Catalog.open(path, write=True) as cat:
        assert cat.schema_version == SCHEMA_VERSION == 8
        assert cat.scan_roots() == ["/p", byte, "/p/back\\slash", "/p/new\nline"]
        assert cat.get_photo(NON_UTF8).tag_files == [NON_UTF8 + ".xmp", "/p/IMG_1.JPG.xmp"]
        assert cat.get_photo("/p/IMG_1.JPG").recognised_from == os.fsdecode(b"a\xffb.CR2")
        assert cat.get_photo(NON_UTF8).recognised_from is None
        cat.start_scan([spelled, byte])
        assert cat.last_scan()["roots"] == [spelled, byte]
        cat.record_tags([TagRecord("/p/IMG_1.JPG", "tag", "written", "sidecar", "Eiffel",
                                   files=[spelled + ".xmp", byte + ".xmp"])])
        assert cat.get_photo("/p/IMG_1.JPG").tag_files == [spelled + ".xmp", byte + ".xmp"]
        cat.write_results([record(spelled + ".JPG", recognised_from="a\\xffb.CR2"),
                           record(byte + ".JPG", recognised_from=os.fsdecode(b"a\xffb.CR2"))])
        assert cat.move_photo(spelled + ".JPG", "/q/Rome\\x80.JPG", 1, 1)
        assert [cat.get_photo(p).recognised_from for p in ("/q/Rome\\x80.JPG", byte + ".JPG")
                ] == ["Rome\\x80.CR2", os.fsdecode(b"a\xffb.CR2")]


def test_a_raw_joining_its_jpeg_brings_its_answer_unless_the_jpeg_has_one(
        cat: Catalog) -> None:
    photos = ["/p/A.JPG", "/p/A.NEF", "/p/B.JPG", "/p/B.NEF"]
    cat.write_results([record(p) for p in photos])
    cat.set_reviews([Review("/p/A.NEF", "corrected", "colosseum", "Colosseum"),
                     Review("/p/B.JPG", "none"),
                     Review("/p/B.NEF", "corrected", "colosseum", "Colosseum")])
    synced = cat.sync_companions({"/p/A.JPG": ["/p/A.NEF"], "/p/B.JPG": ["/p/B.NEF"]})
    assert sorted(synced.merged) == sorted(synced.joined) == ["/p/A.JPG", "/p/B.JPG"]
    rows = {r.path: r for r in cat.iter_photos()}
    assert sorted(rows) == ["/p/A.JPG", "/p/B.JPG"]
    assert (rows["/p/A.JPG"].review, rows["/p/A.JPG"].effective_landmark_id) == (
        "corrected", "colosseum")
    assert (rows["/p/B.JPG"].review, rows["/p/B.JPG"].effective_landmark_id) == ("none", None)
    assert cat.sync_companions({"/p/A.JPG": ["/p/A.NEF"], "/p/B.JPG": []}) == ([], [])
    assert cat.get_photo("/p/B.JPG").companions == []


# ------------------------------------------------------------------ property test

PATHS = ["/p/a.jpg", "/p/b b.jpg", "/p/c'%_;.jpg", "/q/a.jpg", NON_UTF8]
records_st = st.builds(
    lambda path, size, landmark, score, with_vec, h: record(
        path,
        size=size,
        mtime_ns=size * 7,
        content_hash=h,
        landmark_id=landmark,
        landmark_name=landmark,
        score=score,
        model_id="m" if with_vec else None,
        embedding=np.full(4, size % 5 + 1, np.float32) if with_vec else None,
    ),
    st.sampled_from(PATHS),
    st.integers(0, 10**12),
    st.sampled_from([None, "eiffel", "colosseum"]),
    st.one_of(st.none(), st.floats(-1, 1, allow_nan=False)),
    st.booleans(),
    st.sampled_from([None, "h1", "h2"]),
)
ops_st = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.lists(records_st, min_size=1, max_size=4)),
        st.tuples(st.just("move"), st.sampled_from(PATHS), st.sampled_from(PATHS),
                  st.integers(0, 10**6)),
        st.tuples(st.just("missing"), st.lists(st.sampled_from(PATHS), max_size=3)),
    ),
    max_size=10,
)


def _expected(rec: PhotoRecord) -> dict[str, object]:
    return {
        "size": rec.size, "mtime_ns": rec.mtime_ns, "content_hash": rec.content_hash,
        "landmark_id": rec.landmark_id, "score": rec.score, "missing": False,
        "vector": None if rec.embedding is None else float(rec.embedding[0]),
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_st)
def test_random_upserts_and_moves_match_a_model(ops) -> None:
    model: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp, Catalog.open(
        Path(tmp) / "c.sqlite", write=True, quick_check=False
    ) as cat:
        for op in ops:
            if op[0] == "write":
                cat.write_results(op[1])
                for rec in op[1]:
                    model[rec.path] = _expected(rec)
            elif op[0] == "move":
                _, old, new, size = op
                assert cat.move_photo(old, new, size, size + 1) == (old in model)
                if old in model:
                    model[new] = {**model.pop(old), "size": size, "mtime_ns": size + 1,
                                  "missing": False}
            else:
                flag_missing(cat, op[1])
                for p in op[1]:
                    if p in model:
                        model[p]["missing"] = True
        rows = list(cat.iter_photos())
        assert sorted(r.path for r in rows) == sorted(model)  # exactly one row per path
        for row in rows:
            vec = stored_vector(cat, row.path)
            assert {
                "size": row.size, "mtime_ns": row.mtime_ns, "content_hash": row.content_hash,
                "landmark_id": row.landmark_id, "score": row.score, "missing": row.missing,
                "vector": None if vec is None else float(vec[0]),
            } == model[row.path]
        assert cat.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == sum(
            m["vector"] is not None for m in model.values()
        )


# ------------------------------------------------------------------ one field list, one rule


def test_search_uses_the_index_on_the_landmark_that_counts(cat: Catalog) -> None:
    """Schema 3 indexes the rule's SQL written out by hand; if the rule (records.counting)
    and that index ever drift apart, search silently scans the whole table."""
    from photolm.catalog.records import EFFECTIVE_LANDMARK

    plan = cat.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT id FROM photos WHERE {EFFECTIVE_LANDMARK} IN "
        "(SELECT value FROM json_each(?))", ('["eiffel"]',)).fetchall()
    assert any("photos_counting" in str(step) for step in plan), plan


def test_every_scan_column_gets_a_value_and_rows_read_by_name(cat: Catalog) -> None:
    from photolm.catalog.records import SCAN_COLUMNS, scan_values

    assert set(scan_values(b"/p/a.jpg", record("/p/a.jpg"), "now")) == set(SCAN_COLUMNS)
    cat.write_results([matched("/p/a.jpg", taken="2024-01-02", camera_make="Canon")])
    row = cat.get_photo("/p/a.jpg")
    assert row is not None
    raw = cat.conn.execute("SELECT taken, camera_make FROM photos").fetchone()
    assert (row.taken, row.camera_make) == raw == ("2024-01-02", "Canon")
    assert row.missing is False and row.has_embedding is True


def test_scan_results_and_their_descriptors_share_one_transaction(cat: Catalog) -> None:
    """A batch's photo rows and generic descriptors are stored together or not at all, so a
    killed or failed write never keeps a photo without the descriptor its decode produced."""
    vec = np.linspace(-1, 1, 4, dtype=np.float32)
    cat.write_results([matched("/p/a.jpg")], [("/p/a.jpg", "model-1", vec)])
    row = cat.get_photo("/p/a.jpg")
    assert row is not None
    stored, has = cat.descriptors_of([row.id], "model-1")
    assert has is not None and has.tolist() == [True]
    np.testing.assert_allclose(stored[0], vec, atol=1e-3)  # float16 on disk

    with pytest.raises(CatalogError):  # the descriptor's NOT NULL model_id fails ...
        cat.write_results([matched("/p/b.jpg")], [("/p/b.jpg", None, vec)])  # type: ignore[list-item]
    assert cat.get_photo("/p/b.jpg") is None  # ... and takes the photo row with it


def test_a_failed_redecode_drops_the_photos_descriptor_with_its_embedding(cat: Catalog) -> None:
    """Both vectors describe one decode of the file: a re-decode that fails (or gives no
    descriptor) leaves neither of the older decode's vectors behind."""
    vec = np.linspace(-1, 1, 4, dtype=np.float32)
    cat.write_results([matched("/p/a.jpg"), matched("/p/b.jpg")],
                      [("/p/a.jpg", "model-1", vec), ("/p/b.jpg", "model-1", vec)])
    cat.write_results([record("/p/a.jpg", size=5, error="truncated JPEG"),
                       matched("/p/b.jpg", size=6)])  # decoded again, no descriptor this time
    ids = [cat.get_photo(p).id for p in ("/p/a.jpg", "/p/b.jpg")]  # type: ignore[union-attr]
    assert stored_vector(cat, "/p/a.jpg") is None
    assert stored_vector(cat, "/p/b.jpg") is not None
    _, has = cat.descriptors_of(ids, "model-1")
    assert has is None or not has.any()


def test_uncertain_is_one_query_that_keeps_the_rule(cat: Catalog) -> None:
    """``uncertain`` (list --uncertain, the desktop's review) is one SQL query however many
    photos there are (it used to read every row into Python), and picks what the rule says:
    best score within the margin of its bundle's stored threshold, readable, present and not
    answered by a person, closest first and then by path."""
    rng = np.random.default_rng(3)
    cat.remember_threshold("b1", 0.6)
    cat.remember_threshold("b2", 0.5)
    records = []
    for i in range(2300):  # more than a page of iter_photos
        score = float(round(rng.uniform(0.3, 0.9), 2))  # rounded: ties order by path
        records.append(matched(f"/p/{i % 7}/{i:05d}.jpg", bundle_id=("b1", "b2", "b3")[i % 3],
                               topk=[] if i % 29 == 0 else [{"landmark_id": "x", "name": "X",
                                                              "score": score}],
                               error="broken" if i % 31 == 0 else None))
    cat.write_results(records)
    cat.set_reviews([Review(r.path, "none") for r in records[::17]])
    flag_missing(cat, [r.path for r in records[5::37]])
    thresholds = {"b1": 0.6, "b2": 0.5}
    expected = sorted(
        (abs(row.topk[0]["score"] - thresholds[row.bundle_id]), normalise_path(row.path))
         for row in cat.photos(order="path")
         if row.bundle_id in thresholds and row.topk and row.review is None
         and row.error is None and not row.missing
         and abs(row.topk[0]["score"] - thresholds[row.bundle_id]) <= 0.05)
    statements: list[str] = []
    cat.conn.set_trace_callback(statements.append)
    try:
        found = cat.uncertain(0.05)
    finally:
        cat.conn.set_trace_callback(None)
    assert [normalise_path(r.path) for r in found] == [p for _, p in expected]
    assert len(found) > 100 and len(statements) == 1, statements


def test_read_commands_upgrade_an_older_catalogue_they_can_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After photolm is upgraded, `search`, `list` and `info` read the catalogue an older
    photolm wrote at once (upgrading it as a scan would), instead of asking for a scan.
    Where another photolm is writing it, one line says so; where it may not be written,
    they read a copy upgraded in memory (tests/test_catalog_older_read_only.py)."""
    import json

    from tests.clirun import cli

    path = tmp_path / "v6.sqlite"
    old_catalogue(path, 6, monkeypatch, {"/p/IMG_1.JPG": "eiffel-tower", "/p/IMG_2.JPG": None})
    (tmp_path / "ro.sqlite").write_bytes(path.read_bytes())
    code, out, err = cli("list", "--json", "--catalog", path)
    assert code == 0, err
    assert {r["path"]: r["landmark_id"] for r in json.loads(out)} == {
        "/p/IMG_1.JPG": "eiffel-tower", "/p/IMG_2.JPG": None}
    with Catalog.open(path, write=False) as cat:
        assert cat.schema_version == SCHEMA_VERSION
    assert cli("info", "--catalog", path)[0] == 0

    busy = tmp_path / "busy.sqlite"
    busy.write_bytes((tmp_path / "ro.sqlite").read_bytes())
    with FileLock(f"{busy}.lock"):  # another photolm is writing it: it will upgrade it
        code, _, err = cli("search", "eiffel", "--catalog", busy)
    assert code == 1 and err.count("\n") == 1, err
    assert f"is at schema 6, older than this photolm's {SCHEMA_VERSION}, and another photolm "\
        "is writing it now (a scan creating it, or an older photolm)" in err

    import photolm.catalog.store as store

    monkeypatch.setattr(store, "_read_only_reason",
                        lambda p: "it is on a read-only file system")
    code, out, err = cli("list", "--json", "--catalog", tmp_path / "ro.sqlite")
    assert code == 0 and err.count("\n") == 1, err  # read from a copy upgraded in memory
    assert "older format (schema 6) and is read-only here (it is on a read-only" in err
    assert {r["path"]: r["landmark_id"] for r in json.loads(out)} == {
        "/p/IMG_1.JPG": "eiffel-tower", "/p/IMG_2.JPG": None}
    raw = sqlite3.connect(tmp_path / "ro.sqlite")  # nothing was written to it
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 6
    raw.close()


def test_schema_8_step_leaves_text_it_cannot_read_as_it_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan's roots that are not a JSON list (written by hand or another tool) do not stop
    the upgrade with a traceback: the row stays as it was, the rest is upgraded."""
    import json

    path = tmp_path / "v7.sqlite"
    old_catalogue(path, 7, monkeypatch, {"/p/IMG_1.JPG": "eiffel"})
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO scans (started, roots) VALUES ('then', ?)", ("/tmp/not-json\\x",))
    raw.execute("INSERT INTO scans (started, roots) VALUES ('then', ?)", ('{"a": 1}',))
    raw.execute("INSERT INTO scans (started, roots) VALUES ('then', ?)",
                (json.dumps(["/p/back\\slash"]),))
    raw.commit()
    raw.close()
    with Catalog.open(path, write=True) as cat:
        assert cat.schema_version == SCHEMA_VERSION
    rows = sqlite3.connect(path).execute("SELECT roots FROM scans ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["/tmp/not-json\\x", '{"a": 1}',
                                    json.dumps(["/p/back\\\\slash"])]


def test_the_learned_verdicts_a_scan_reads_first_come_from_the_index(cat: Catalog) -> None:
    """The scan reads which photos a learned landmark names before re-deciding them for a
    changed model: by the index of the landmark that counts, not by reading every photo
    (the column it once filtered on has no index since schema 3)."""
    statements: list[str] = []
    cat.write_results([matched("/p/a.jpg")])
    cat.conn.set_trace_callback(statements.append)
    try:
        cat.learned_verdicts([1])
    finally:
        cat.conn.set_trace_callback(None)
    read = next(s for s in statements if s.lstrip().upper().startswith("SELECT"))
    plan = cat.conn.execute(f"EXPLAIN QUERY PLAN {read}").fetchall()
    assert any("photos_counting" in str(step) for step in plan), plan
