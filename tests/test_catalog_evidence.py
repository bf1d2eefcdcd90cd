# SPDX-License-Identifier: GPL-3.0-or-later
"""Schema 2 of the catalogue (and later): GPS evidence, a person's answers and tag-writing status.

The promises: a schema-1 catalogue upgrades in place without losing a row; a person's
answer outranks the model's verdict in search and counts and survives every re-scan; the
tag outcome is recorded per photo and an embedded write updates the photo's stored state.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from photolm.catalog import (
    SCHEMA_VERSION,
    Catalog,
    MatchUpdate,
    PhotoRecord,
    Review,
    TagRecord,
)
from photolm.catalog import schema as schema_module
from photolm.geo import GeoVerdict
from photolm.matching import Candidate


def matched(path: str, landmark: str | None = "eiffel", score: float | None = 0.8,
            **fields: object) -> PhotoRecord:
    values: dict[str, object] = {
        "size": 1000, "mtime_ns": 7, "bundle_id": "b1", "model_id": "m1",
        "landmark_id": landmark, "landmark_name": landmark.title() if landmark else None,
        "score": score if landmark else None,
        "topk": [{"landmark_id": "eiffel", "name": "Eiffel", "score": 0.8},
                 {"landmark_id": "colosseum", "name": "Colosseum", "score": 0.3}],
    }
    values.update(fields)
    return PhotoRecord(path=path, **values)  # type: ignore[arg-type]


@pytest.fixture
def cat(tmp_path: Path):
    with Catalog.open(tmp_path / "catalog.sqlite", write=True) as c:
        yield c


def test_schema_1_catalogue_upgrades_in_place(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.sqlite"
    with monkeypatch.context() as m:
        m.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:1])
        m.setattr(schema_module, "SCHEMA_VERSION", 1)
        with Catalog.open(path, write=True) as old:
            old.conn.execute(
                "INSERT INTO photos (path_key, path, folder, size, mtime_ns, landmark_id, "
                "landmark_name, score, scanned_at) VALUES (?, ?, ?, 1, 2, 'eiffel', 'Eiffel', "
                "0.9, 'then')", (b"/p/a.jpg", "/p/a.jpg", "/p"))
            old.conn.commit()
    with Catalog.open(path, write=False) as read:  # a reader upgrades it first
        assert read.schema_version == SCHEMA_VERSION
    with Catalog.open(path, write=True) as cat:
        assert cat.schema_version == SCHEMA_VERSION
        row = cat.get_photo("/p/a.jpg")
        assert row is not None and row.landmark_name == "Eiffel" and row.score == 0.9
        assert (row.review, row.tag_status, row.gps_reason, row.tag_files) == (
            None, None, None, [])
        assert row.effective_landmark_id == "eiffel"


def test_gps_note_is_stored_by_scans_and_rematches(cat: Catalog) -> None:
    eiffel = Candidate("eiffel", "Eiffel", 0.97)
    note = GeoVerdict(None, eiffel, (), "Eiffel is 8,990 km from where the photo was taken: "
                      "rejected", "rejected")
    cat.write_results([matched("/p/a.jpg", None, gps=note, latitude=36.1, longitude=-115.2,
                               embedding=np.ones(4, np.float32))])
    row = cat.get_photo("/p/a.jpg")
    assert row is not None and row.landmark_id is None
    assert (row.gps_verdict, row.gps_changed, row.visual_landmark_name, row.visual_score) == (
        "rejected", True, "Eiffel", pytest.approx(0.97))
    (stored,) = cat.stored_embeddings([row.id])  # re-matching weighs GPS without the file
    assert (stored.latitude, stored.longitude) == (36.1, -115.2)

    cat.update_matches([MatchUpdate("/p/a.jpg", "b2", "eiffel", "Eiffel", 0.97)])
    row = cat.get_photo("/p/a.jpg")
    assert row is not None and row.gps_verdict is None and row.gps_changed is False


def test_a_persons_answer_outranks_the_model_and_survives_rescans(cat: Catalog) -> None:
    cat.write_results([matched("/p/a.jpg", score=0.95), matched("/p/b.jpg", score=0.99),
                       matched("/p/c.jpg", None), matched("/p/d.jpg", "colosseum")])
    assert cat.set_reviews([
        Review("/p/a.jpg", "confirmed", "eiffel", "Eiffel"),
        Review("/p/b.jpg", "corrected", "colosseum", "Colosseum"),
        Review("/p/d.jpg", "none"),
        Review("/p/unknown.jpg", "none"),  # not catalogued: ignored
    ]) == 3
    # Confirmed first, then by score; the corrected photo moved to the other landmark.
    assert [r.path for r in cat.photos(["eiffel"])] == ["/p/a.jpg"]
    assert [r.path for r in cat.photos(["colosseum"])] == ["/p/b.jpg"]
    assert [r.path for r in cat.photos(["colosseum", "eiffel"])] == ["/p/a.jpg", "/p/b.jpg"]
    assert cat.landmark_counts() == {"eiffel": 1, "colosseum": 1}
    assert cat.stats()["with_landmark"] == 2 and cat.stats()["reviewed"] == 3
    b = cat.get_photo("/p/b.jpg")
    assert b is not None and b.review == "corrected" and b.effective_score is None
    assert b.landmark_name == "Eiffel"  # the model's verdict is kept beside the answer

    cat.write_results([matched("/p/a.jpg", score=0.5), matched("/p/b.jpg"),
                       matched("/p/d.jpg", "colosseum")])  # a forced re-scan
    assert [r.path for r in cat.photos(["colosseum"])] == ["/p/b.jpg"]
    assert cat.get_photo("/p/d.jpg").effective_landmark_id is None  # type: ignore[union-attr]
    assert cat.move_photo("/p/b.jpg", "/q/b.jpg", 1000, 7)
    assert cat.get_photo("/q/b.jpg").review == "corrected"  # type: ignore[union-attr]

    cat.set_reviews([Review("/q/b.jpg", None)])  # forget the answer
    row = cat.get_photo("/q/b.jpg")
    assert row is not None and row.review is None and row.review_landmark_id is None
    assert row.effective_landmark_id == "eiffel"


def test_reviews_are_validated(cat: Catalog) -> None:
    with pytest.raises(ValueError, match="one of"):
        cat.set_reviews([Review("/p/a.jpg", "maybe")])
    with pytest.raises(ValueError, match="needs the landmark"):
        cat.set_reviews([Review("/p/a.jpg", "corrected")])


def test_tag_outcomes_are_recorded_and_embedded_writes_update_the_file_state(
    cat: Catalog,
) -> None:
    cat.write_results([matched("/p/a.jpg", content_hash="fp1:old"), matched("/p/b.jpg")])
    assert cat.record_tags([
        TagRecord("/p/a.jpg", "tag", "written", "embed", "Eiffel", ["/p/a.jpg"],
                  size=2000, mtime_ns=7, content_hash="fp1:new"),
        TagRecord("/p/b.jpg", "tag", "failed", "embed", "Eiffel",
                  error="read-only file: /p/b.jpg (make it writable to tag it)"),
    ]) == 2
    a, b = cat.get_photo("/p/a.jpg"), cat.get_photo("/p/b.jpg")
    assert a is not None and b is not None
    assert (a.tag_action, a.tag_status, a.tag_mode, a.tag_files) == (
        "tag", "written", "embed", ["/p/a.jpg"])
    assert (a.size, a.content_hash) == (2000, "fp1:new") and a.tagged_at
    assert b.tag_status == "failed" and b.tag_error and b.size == 1000
    assert cat.stats()["tagged"] == 1
    cat.write_results([matched("/p/a.jpg")])  # a re-scan keeps the tag record
    assert cat.get_photo("/p/a.jpg").tag_status == "written"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        cat.record_tags([TagRecord("/p/a.jpg", "tag", "maybe")])


def test_schema_2_constraints_hold_in_sqlite_itself(cat: Catalog) -> None:
    cat.write_results([matched("/p/a.jpg")])
    for column, value in (("review", "maybe"), ("tag_status", "sort of"), ("gps_changed", 2)):
        with pytest.raises(sqlite3.IntegrityError):
            cat.conn.execute(f"UPDATE photos SET {column} = ?", (value,))
