# SPDX-License-Identifier: GPL-3.0-or-later
"""Queries, paths and landmark names reach SQLite only as bound parameters.

Every statement photolm sends is recorded through a ``sqlite3.Connection`` subclass (the trace
callback would show parameters already expanded into the text), then the test checks that no
user-supplied text (search queries, folder and file names, landmark ids and names full of
quotes, ``%``, ``_`` and ``;``) ever appears in a statement's SQL, while the answers are
exactly right: ``%`` is not a wildcard, a quote does not end a string, ``;`` starts nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photolm.bundle import Landmark, write_bundle
from photolm.catalog import Catalog
from tests.robustness.helpers import check_rows, cli
from tests.tinybundle import PREPROCESS, build_onnx, solid_input, write_photo

EVIL_ID = "o'brien%_;--"
EVIL_NAME = "O'Brien's 100% Tower\"; DROP TABLE photos;--"
PLAIN_ID = "plain"
EVIL_FOLDER = "it's 100%_done; DROP TABLE photos;--"
SIBLING = "it's 100x_done; DROP TABLE photos;--"  # what a LIKE '100%_done' would also match
QUERIES = ["%", "_", "%%", "' OR '1'='1", "'; DROP TABLE photos; --", '"', "\\", "Tower%",
           "O_Brien", "plain' --", "100%", ";"]


class _Recording(sqlite3.Connection):
    log: list[tuple[str, Any]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log = []

    def execute(self, sql: str, params: Any = (), /) -> sqlite3.Cursor:
        self.log.append((sql, params))
        return super().execute(sql, params)

    def executemany(self, sql: str, params: Iterable[Any], /) -> sqlite3.Cursor:
        rows = list(params)
        self.log.append((sql, rows))
        return super().executemany(sql, rows)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        self.log.append((script, None))
        return super().executescript(script)

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(_RecordingCursor)


class _RecordingCursor(sqlite3.Cursor):
    def execute(self, sql: str, params: Any = (), /) -> sqlite3.Cursor:
        self.connection.log.append((sql, params))  # type: ignore[attr-defined]
        return super().execute(sql, params)

    def executemany(self, sql: str, params: Iterable[Any], /) -> sqlite3.Cursor:
        rows = list(params)
        self.connection.log.append((sql, rows))  # type: ignore[attr-defined]
        return super().executemany(sql, rows)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every (sql, parameters) photolm sends, across all connections it opens."""
    statements: list[tuple[str, Any]] = []
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, factory=_Recording, **kwargs)
        conn.log = statements  # type: ignore[attr-defined]
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    return statements


@pytest.fixture
def evil_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two landmarks (one with a name built to break SQL), photos in awkward folders."""
    colours = {EVIL_ID: (220, 40, 40), PLAIN_ID: (40, 60, 220)}
    landmarks = [Landmark(EVIL_ID, EVIL_NAME, ("100%", "a_b"), "Cork; --", "Ire'land"),
                 Landmark(PLAIN_ID, "Plain Tower", (), "Paris", "France")]
    model = build_onnx(tmp_path / "model.onnx")
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    vectors = session.run(["embeddings"], {"images": np.stack(
        [solid_input(colours[lm.id]) for lm in landmarks])})[0]
    bundle = write_bundle(tmp_path / "bundle", model_file=model, landmarks=landmarks,
                          prototypes=vectors, prototype_landmark=[0, 1], preprocess=PREPROCESS,
                          threshold=0.9, name="evil; DROP TABLE landmarks;--")
    root = tmp_path / "photos"
    write_photo(root / EVIL_FOLDER / "evil'1%.jpg", colours[EVIL_ID])
    write_photo(root / EVIL_FOLDER / "plain_;.jpg", colours[PLAIN_ID])
    write_photo(root / SIBLING / "evil.jpg", colours[EVIL_ID])
    write_photo(root / "100%" / "x.jpg", colours[PLAIN_ID])
    monkeypatch.setenv("PHOTOLM_MODEL", str(bundle.path))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "cat.sqlite"))
    return root


def _assert_never_in_sql(statements: list[tuple[str, Any]], texts: Iterable[str]) -> None:
    for sql, _ in statements:
        for text in texts:
            assert text not in sql, (text, sql)


def test_scan_search_and_list_bind_every_user_value(
    evil_library: Path, recorded: list[tuple[str, Any]], tmp_path: Path
) -> None:
    code, _, err = cli("scan", evil_library)
    assert code == 0, err
    results: dict[str, list[str]] = {}
    for query in [*QUERIES, EVIL_NAME, "O'Brien's 100% Tower", "Plain Tower"]:
        code, out, _ = cli("search", query, "--json")
        if code == 2:  # only punctuation: nothing to search for, a usage error (issue 10.14)
            assert not any(c.isalnum() for c in query) and out == ""
            out = "[]"
        results[query] = sorted(Path(h["path"]).name for h in json.loads(out))
    code, out, _ = cli("list", "--json")
    assert code == 0 and len(json.loads(out)) == 4
    assert cli("landmarks", "--json")[0] == 0
    assert cli("info", "--json")[0] == 0

    evil_photos = ["evil'1%.jpg", "evil.jpg"]
    assert results[EVIL_NAME] == evil_photos
    assert results["O'Brien's 100% Tower"] == evil_photos
    assert results["Plain Tower"] == ["plain_;.jpg", "x.jpg"]
    assert results["%"] == [] and results["_"] == [] and results["%%"] == []
    assert results["' OR '1'='1"] == []  # not "every photo"
    assert results["100%"] == evil_photos  # an alias: matched as text, not as a pattern

    bound = repr([p for _, p in recorded])  # the values did travel, as parameters
    assert EVIL_FOLDER in bound and EVIL_ID in bound and len(recorded) > 30
    user_texts = [*QUERIES, EVIL_NAME, EVIL_ID, EVIL_FOLDER, SIBLING, "evil'1%", "Ire'land",
                  "Cork; --", "DROP TABLE"]
    _assert_never_in_sql(recorded, [t for t in user_texts if len(t) >= 2])
    rows = check_rows(tmp_path / "cat.sqlite")  # all tables still there, every row whole
    assert len(rows) == 4 and all(e is None for e in rows.values())


def test_folder_prefixes_are_byte_ranges_not_like_patterns(
    evil_library: Path, recorded: list[tuple[str, Any]], tmp_path: Path
) -> None:
    assert cli("scan", evil_library)[0] == 0
    folder = evil_library / EVIL_FOLDER
    with Catalog.open(tmp_path / "cat.sqlite", write=True) as cat:
        assert [Path(p.path).name for p in cat.photos(under=folder, order="path")] == [
            "evil'1%.jpg", "plain_;.jpg"]
        assert [Path(p.path).name for p in cat.photos(under=evil_library / "100%")] == [
            "x.jpg"]
        for photo in evil_library.rglob("*.jpg"):  # all gone: the range alone decides
            photo.unlink()
        assert cat.sync_missing([folder], []) == 2  # only that folder's photos
        assert cat.sync_missing([folder], [p.path for p in cat.photos(under=folder)]) == 0
    _assert_never_in_sql(recorded, [EVIL_FOLDER, SIBLING, "' OR 1=1", "100%"])


def test_catalogue_path_itself_may_hold_sql_and_uri_characters(
    evil_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = tmp_path / "it's 100%_#1?mode=rw;" / "cat.sqlite"
    monkeypatch.setenv("PHOTOLM_CATALOG", str(catalog))
    assert cli("scan", evil_library)[0] == 0
    code, out, _ = cli("search", "Plain Tower", "--json")
    assert code == 0 and len(json.loads(out)) == 2
    assert os.listdir(catalog.parent)[0].startswith("cat.sqlite")
