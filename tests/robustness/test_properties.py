# SPDX-License-Identifier: GPL-3.0-or-later
"""Property-based tests (hypothesis) of the catalogue and of landmark-name matching.

tests/test_catalog.py already checks random upserts/moves against a model on a fixed set of
paths; these add what a real library throws at the catalogue: *any* file name (undecodable
bytes, quotes, ``%``, newlines, 255-byte names), any text in EXIF fields, folders whose
names are prefixes of each other. For names: any query, in any script, never breaks search,
and the name of a landmark written in any case, accents or "fancy" Unicode letters finds it.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from photolm.bundle import Landmark
from photolm.catalog import Catalog, PhotoRecord, normalise_path
from photolm.names import LandmarkIndex, normalise
from tests.test_catalog import stored_vector

# ----------------------------------------------------------------------------- catalogue
# One path component as the file system stores it: any bytes but "/" and NUL, 1..255 long.
_component = st.binary(min_size=1, max_size=40).map(
    lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_")
).filter(lambda b: b not in (b".", b".."))
_long_component = st.integers(200, 255).map(lambda n: b"x" * n)
_relpath = st.lists(st.one_of(_component, _long_component, st.sampled_from(
    [b"100%", b"100_", b"it's", b"a;b", b"caf\xe9", b"\xff\xfe", b"new\nline", b"a b"])),
    min_size=1, max_size=4)
_text = st.one_of(st.none(), st.text(max_size=30))
_finite = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))


def _root() -> bytes:
    return os.fsencode(tempfile.gettempdir()) + b"/photolm-prop-library"


def _path(parts: list[bytes]) -> str:
    return os.fsdecode(b"/".join([_root(), *parts]))


@st.composite
def _records(draw: st.DrawFn) -> list[PhotoRecord]:
    paths = draw(st.lists(_relpath, min_size=1, max_size=8, unique_by=lambda p: b"/".join(p)))
    out = []
    for parts in paths:
        error = draw(st.one_of(st.none(), st.text(min_size=1, max_size=40)))
        landmark = None if error else draw(st.sampled_from([None, "eiffel", "o'brien%_;"]))
        vector = None if error else draw(st.lists(st.floats(-1, 1, width=16), min_size=1,
                                                  max_size=8))
        out.append(PhotoRecord(
            path=_path(parts), size=draw(st.integers(0, 2**40)),
            mtime_ns=draw(st.integers(-(2**62), 2**62)),
            content_hash=draw(_text), taken=draw(_text), camera_make=draw(_text),
            camera_model=draw(_text), latitude=draw(_finite), longitude=draw(_finite),
            bundle_id=None if error else "b1", model_id=None if error else "m1",
            landmark_id=landmark, landmark_name=landmark and landmark.upper(),
            score=None if landmark is None else draw(st.floats(-1, 1)),
            topk=[] if error else [{"landmark_id": landmark, "score": 0.5}],
            embedding=None if vector is None else np.asarray(vector, np.float32),
            error=error,
        ))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=_records())
def test_any_file_name_and_field_round_trips(records: list[PhotoRecord]) -> None:
    with tempfile.TemporaryDirectory() as tmp, Catalog.open(
        Path(tmp) / "c.sqlite", write=True, quick_check=False
    ) as cat:
        cat.write_results(records)
        assert set(cat.load_index()) == {normalise_path(r.path) for r in records}
        for rec in records:
            row = cat.get_photo(rec.path)
            assert row is not None and row.path == rec.path
            assert row.display_path == os.fsencode(rec.path).decode("utf-8", "backslashreplace")
            row.display_path.encode("utf-8")  # printable and storable, always
            for field in ("size", "mtime_ns", "content_hash", "taken", "camera_make",
                          "camera_model", "latitude", "longitude", "landmark_id", "error"):
                assert getattr(row, field) == getattr(rec, field), field
            if rec.score is not None:
                assert math.isclose(row.score, rec.score)  # type: ignore[arg-type]
            vector = stored_vector(cat, rec.path)
            if rec.embedding is None:
                assert vector is None and not row.has_embedding
            else:
                assert vector is not None
                np.testing.assert_allclose(vector, rec.embedding, rtol=1e-3, atol=1e-3)
        # folders: exactly the photos below each, whatever bytes the names hold
        for rec in records:
            folder = os.path.dirname(rec.path)
            below = sorted(r.path for r in records
                           if os.fsencode(r.path).startswith(os.fsencode(folder) + b"/"))
            assert sorted(r.path for r in cat.photos(under=folder)) == below
        # rewriting the same batch changes nothing: one row per path
        cat.write_results(records)
        assert len(cat.load_index()) == len(records)


@settings(max_examples=40, deadline=None)
@given(names=st.lists(st.sampled_from([b"a", b"a b", b"a%", b"a_", b"a-", b"a.", b"a0", b"a/b",
                                       b"ab", b"a\xff", b"a\x7f"]), min_size=1, max_size=6,
                      unique=True))
def test_sibling_folders_sharing_a_prefix_stay_apart(names: list[bytes]) -> None:
    records = [PhotoRecord(path=_path([n, b"p.jpg"]), size=1, mtime_ns=1) for n in names]
    with tempfile.TemporaryDirectory() as tmp, Catalog.open(
        Path(tmp) / "c.sqlite", write=True, quick_check=False
    ) as cat:
        cat.write_results(records)
        for n in names:
            expected = sorted(r.path for r in records
                              if os.fsencode(r.path).startswith(b"/".join([_root(), n, b""])))
            assert sorted(r.path for r in cat.photos(under=_path([n]))) == expected
            missing = cat.sync_missing([_path([n])], [])
            assert missing == len(expected)
            cat.sync_missing([_path([n])], expected)


# ---------------------------------------------------------------------------------- names
_LANDMARKS = (
    Landmark("eiffel", "Eiffel Tower", ("Tour Eiffel",), "Paris", "France"),
    Landmark("koln", "Cologne Cathedral", ("Kölner Dom",), "Cologne", "Germany"),
    Landmark("taj", "Taj Mahal", ("Tāj Mahal",), "Agra", "India"),
    Landmark("hagia", "Hagia Sophia", ("Ayasofya",), "İstanbul", "Türkiye"),
    Landmark("evil", "O'Brien's 100% Tower; --", ("a_b",), "Cork", "Ireland"),
    Landmark("fuji", "Mount Fuji", ("富士山",), "Shizuoka", "日本"),
)
_INDEX = LandmarkIndex(_LANDMARKS)
_IDS = {lm.id for lm in _LANDMARKS}

_MATH_BOLD = {c: chr(0x1D400 + i) for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")} | {
    c: chr(0x1D41A + i) for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")}
_FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


@settings(max_examples=300, deadline=None)
@given(query=st.text(max_size=40))
@example("%")
@example("'; DROP TABLE photos; --")
@example("\x00")
@example("İ" * 30)
def test_search_never_breaks_and_answers_only_known_landmarks(query: str) -> None:
    hits = _INDEX.search(query)
    ids = [h.landmark_id for h in hits]
    assert set(ids) <= _IDS and len(ids) == len(set(ids))  # one entry per landmark
    assert all(0.0 <= h.score <= 100.0 for h in hits)
    assert _INDEX.search(query, limit=1) == hits[:1]
    suggestions = _INDEX.suggest(query, 3)
    assert len(suggestions) <= 3 and set(suggestions) <= {lm.name for lm in _LANDMARKS}


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30))
@example("ℌ")  # found by this test: NFKD after casefold left it upper-case
@example("𝐄𝐢𝐟𝐟𝐞𝐥")
@example("İ")
@example("ǅ")
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip() and "  " not in once


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=127), max_size=30))
def test_normalise_ignores_ascii_case(text: str) -> None:
    assert normalise(text.upper()) == normalise(text) == normalise(text.lower())


@settings(max_examples=200, deadline=None)
@given(landmark=st.sampled_from(_LANDMARKS), data=st.data())
def test_a_name_in_any_case_or_fancy_letters_finds_its_landmark_first(
    landmark: Landmark, data: st.DataObject
) -> None:
    text = data.draw(st.sampled_from([landmark.name, *landmark.aliases]))
    style = data.draw(st.sampled_from(["upper", "lower", "title", "bold", "fullwidth",
                                       "padded", "dashes"]))
    variant = {
        "upper": text.upper(), "lower": text.lower(), "title": text.title(),
        "bold": "".join(_MATH_BOLD.get(c, c) for c in text),
        "fullwidth": "".join(_FULLWIDTH.get(c, c) for c in text),
        "padded": f"  {text}\t", "dashes": text.replace(" ", "-"),
    }[style]
    hits = _INDEX.search(variant)
    assert hits and hits[0].landmark_id == landmark.id, (variant, hits[:3])
