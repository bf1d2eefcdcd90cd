# SPDX-License-Identifier: GPL-3.0-or-later
"""The bundle format: round trip, tamper detection, version and path checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from photolm import bundle as bundle_mod
from photolm.bundle import (
    FORMAT_VERSION,
    Landmark,
    Preprocess,
    read_bundle,
    resolve_bundle_path,
    write_bundle,
)
from photolm.errors import BundleError
from tests.tinybundle import LANDMARKS, PREPROCESS, make_tiny_bundle


@pytest.fixture
def bundle_copy(tiny_bundle_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, dst)
    return dst


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    b = make_tiny_bundle(tmp_path / "b", threshold=0.77)
    again = read_bundle(tmp_path / "b")
    assert again.landmarks == LANDMARKS
    assert again.preprocess == PREPROCESS
    assert again.threshold == pytest.approx(0.77)
    assert again.bundle_id == b.bundle_id and len(b.bundle_id) == 64
    np.testing.assert_allclose(np.linalg.norm(again.prototypes, axis=1), 1.0, atol=1e-6)
    assert again.prototype_landmark.tolist() == [0, 1, 2, 3]
    assert again.landmarks[3].aliases == ("Kölner Dom",)
    # reading the manifest file itself works too
    assert read_bundle(tmp_path / "b" / "manifest.json").bundle_id == b.bundle_id
    # no pickles: the npz loads with allow_pickle=False
    with np.load(tmp_path / "b" / "prototypes.npz", allow_pickle=False) as z:
        assert set(z.files) == {"vectors", "landmark_index"}


def test_model_id_survives_threshold_change_bundle_id_does_not(tmp_path: Path) -> None:
    a = make_tiny_bundle(tmp_path / "a", threshold=0.9)
    b = make_tiny_bundle(tmp_path / "b", threshold=0.5)
    assert a.model_id == b.model_id
    assert a.bundle_id != b.bundle_id


@pytest.mark.parametrize("member", ["model.onnx", "prototypes.npz", "landmarks.json"])
def test_tampered_file_is_refused(bundle_copy: Path, member: str) -> None:
    with open(bundle_copy / member, "ab") as f:
        f.write(b"\0")
    with pytest.raises(BundleError, match=f"checksum mismatch for {member}"):
        read_bundle(bundle_copy)


def test_missing_member_is_refused(bundle_copy: Path) -> None:
    (bundle_copy / "model.onnx").unlink()
    with pytest.raises(BundleError, match="incomplete: model.onnx is missing"):
        read_bundle(bundle_copy)


def test_newer_format_is_refused_with_upgrade_hint(bundle_copy: Path) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="upgrade photolm"):
        read_bundle(bundle_copy)


@pytest.mark.parametrize("evil", ["../model.onnx", "/etc/passwd", "sub/model.onnx", ".."])
def test_member_outside_bundle_folder_is_refused(bundle_copy: Path, evil: str) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["files"]["model"]["path"] = evil
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="outside its folder|invalid file"):
        read_bundle(bundle_copy)


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="No model bundle at"):
        read_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        read_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(BundleError, match="not a photolm model bundle"):
        read_bundle(tmp_path)


def test_writer_validates_inputs(tmp_path: Path, tiny_bundle_dir: Path) -> None:
    model = tiny_bundle_dir / "model.onnx"
    lm = [Landmark("a", "A"), Landmark("b", "B")]
    kwargs = dict(model_file=model, preprocess=Preprocess(), threshold=0.5, name="x")
    with pytest.raises(BundleError, match="no prototype"):
        write_bundle(tmp_path / "x", landmarks=lm, prototypes=np.ones((1, 4)),
                     prototype_landmark=[0], **kwargs)
    with pytest.raises(BundleError, match="unique"):
        write_bundle(tmp_path / "x", landmarks=[lm[0], lm[0]], prototypes=np.ones((2, 4)),
                     prototype_landmark=[0, 1], **kwargs)
    with pytest.raises(BundleError, match="finite and non-zero"):
        write_bundle(tmp_path / "x", landmarks=lm, prototypes=np.zeros((2, 4)),
                     prototype_landmark=[0, 1], **kwargs)
    # several prototypes per landmark are fine and get normalised
    b = write_bundle(tmp_path / "x", landmarks=lm, prototypes=np.arange(12.0).reshape(3, 4) + 1,
                     prototype_landmark=[0, 1, 1], **kwargs)
    assert b.prototypes.shape == (3, 4)
    np.testing.assert_allclose(np.linalg.norm(b.prototypes, axis=1), 1.0, atol=1e-6)
    assert not any(p.name.startswith(".x.") for p in tmp_path.iterdir()), "staging dir left"


def test_model_choice_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHOTOLM_MODEL", str(tmp_path / "env"))
    assert resolve_bundle_path(tmp_path / "opt") == tmp_path / "opt"
    assert resolve_bundle_path(None) == tmp_path / "env"
    monkeypatch.delenv("PHOTOLM_MODEL")
    monkeypatch.setattr(bundle_mod, "default_bundle_path", lambda: tmp_path / "none")
    with pytest.raises(BundleError, match="no embedded default model"):
        resolve_bundle_path(None)


def test_descriptor_round_trips_and_old_bundles_have_none(tmp_path: Path) -> None:
    old = make_tiny_bundle(tmp_path / "old")
    assert old.descriptor is None and old.descriptor_prototypes is None
    new = make_tiny_bundle(tmp_path / "new", descriptor_threshold=0.42)
    again = read_bundle(tmp_path / "new")
    assert again.descriptor is not None
    assert (again.descriptor.output_name, again.descriptor.dim) == ("descriptor", 8)
    assert again.descriptor.threshold == pytest.approx(0.42)
    assert again.descriptor_prototypes is not None
    assert again.descriptor_prototypes.shape == (4, 8)
    assert again.descriptor_prototype_landmark.tolist() == [0, 1, 2, 3]  # type: ignore[union-attr]
    np.testing.assert_allclose(new.descriptor_prototypes, again.descriptor_prototypes)
    manifest = json.loads((tmp_path / "new" / "manifest.json").read_text())
    assert manifest["format_version"] == 1  # older photolm reads it and ignores the extra
    assert manifest["model"]["descriptor"]["dim"] == 8


def test_descriptor_tables_are_checked(tmp_path: Path) -> None:
    from photolm.bundle import Descriptor

    b = make_tiny_bundle(tmp_path / "b")
    common = dict(model_file=b.model_path, landmarks=LANDMARKS, prototypes=b.prototypes,
                  prototype_landmark=b.prototype_landmark, preprocess=PREPROCESS,
                  threshold=0.5, name="x")
    with pytest.raises(BundleError, match="descriptor prototypes must be"):
        write_bundle(tmp_path / "c", **common,  # type: ignore[arg-type]
                     descriptor=Descriptor("descriptor", 8, 0.5),
                     descriptor_prototypes=np.ones((4, 5)),
                     descriptor_prototype_landmark=[0, 1, 2, 3])
    with pytest.raises(BundleError, match="not a cosine similarity"):
        Descriptor("descriptor", 8, float("nan"))
    good = make_tiny_bundle(tmp_path / "d", descriptor_threshold=0.5)
    manifest_path = good.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["model"]["descriptor"]["dim"] = 9
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="descriptor prototype table shape"):
        read_bundle(good.path)


def test_rewrite_changes_one_table_and_keeps_the_descriptor(tmp_path: Path) -> None:
    from dataclasses import replace

    from photolm.bundle import rewrite_bundle

    b = make_tiny_bundle(tmp_path / "b", descriptor_threshold=0.4)
    renamed = tuple(replace(lm, city="Elsewhere") for lm in b.landmarks)
    again = rewrite_bundle(b, tmp_path / "b", landmarks=renamed)  # in place
    assert again.landmarks == renamed and again.model_id == b.model_id
    assert again.descriptor == b.descriptor
    np.testing.assert_array_equal(again.descriptor_prototypes, b.descriptor_prototypes)
    np.testing.assert_array_equal(again.prototypes, b.prototypes)


def test_rewrite_copies_unchanged_prototype_tables_byte_exact(tmp_path: Path) -> None:
    """Editing the landmark table or the metrics leaves prototypes.npz byte for byte as it
    was (normalising unit rows again moves their last bits); changing a table writes it."""
    import hashlib

    from photolm.bundle import rewrite_bundle

    tiny = make_tiny_bundle(tmp_path / "tiny", descriptor_threshold=0.4)
    rows = np.random.default_rng(0).standard_normal((4 * len(tiny.landmarks),
                                                     tiny.prototypes.shape[1]))
    b = rewrite_bundle(tiny, tmp_path / "b", prototypes=rows,
                       prototype_landmark=np.repeat(np.arange(len(tiny.landmarks)), 4))
    before = (b.path / "prototypes.npz").read_bytes()
    again = rewrite_bundle(b, tmp_path / "b", metrics={"note": "edited"})  # in place
    copied = rewrite_bundle(again, tmp_path / "c", provenance={"copied": True})
    for bundle in (again, copied):
        assert (bundle.path / "prototypes.npz").read_bytes() == before
        manifest = json.loads((bundle.path / "manifest.json").read_text())
        assert manifest["files"]["prototypes"]["sha256"] == hashlib.sha256(before).hexdigest()
    changed = rewrite_bundle(copied, tmp_path / "d", prototypes=-copied.prototypes)
    assert (changed.path / "prototypes.npz").read_bytes() != before
    np.testing.assert_allclose(changed.prototypes, -copied.prototypes, atol=1e-6)
    np.testing.assert_array_equal(changed.descriptor_prototypes, b.descriptor_prototypes)


PLACES = {"cuts": {"fused": {"alike": 0.4, "nearby": 0.5, "same_spot": 0.6, "join": 0.3,
                             "same_visit": 0.8}},
          "likeness": 0.31, "rule": "measured (tests)"}


def _with_places(bundle_dir: Path, places: object) -> Path:
    """Put ``places`` into the manifest's metrics by hand, as an editor would."""
    manifest_path = bundle_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["metrics"]["places"] = places
    manifest_path.write_text(json.dumps(manifest))
    return bundle_dir


def test_places_values_read_from_the_manifest_and_older_bundles_have_none(
        bundle_copy: Path) -> None:
    from photolm.bundle import PlaceValues, rewrite_bundle

    assert read_bundle(bundle_copy).places is None  # never measured
    values = read_bundle(_with_places(bundle_copy, PLACES)).places
    assert values == PlaceValues(cuts=PLACES["cuts"], likeness=0.31,  # type: ignore[arg-type]
                                 rule="measured (tests)")
    # likeness alone, or cuts alone, is a bundle measured in part
    assert read_bundle(_with_places(bundle_copy, {"likeness": 0.2})).places == \
        PlaceValues(likeness=0.2)
    cuts_only = read_bundle(_with_places(bundle_copy, {"cuts": PLACES["cuts"]})).places
    assert cuts_only is not None and cuts_only.likeness is None
    # a rewrite that changes something else keeps them
    b = rewrite_bundle(read_bundle(_with_places(bundle_copy, PLACES)), bundle_copy,
                       provenance={"edited": True})
    assert b.places == values


def test_places_values_written_through_the_bundle_module(tmp_path: Path) -> None:
    """One way in: ``metrics["places"]``, checked by the bundle module (no second
    ``places=`` argument that could disagree with it)."""
    import inspect

    from photolm.bundle import PlaceValues, rewrite_bundle

    assert "places" not in inspect.signature(write_bundle).parameters
    tiny = make_tiny_bundle(tmp_path / "b")
    values = PlaceValues(cuts=PLACES["cuts"], likeness=0.31)  # type: ignore[arg-type]
    b = rewrite_bundle(tiny, tmp_path / "b", metrics={**tiny.metrics,
                                                       "places": values.to_json()})
    assert read_bundle(tmp_path / "b").places == values == b.places
    stored = json.loads((tmp_path / "b" / "manifest.json").read_text())["metrics"]["places"]
    assert stored == {"cuts": PLACES["cuts"], "likeness": 0.31, "rule": ""}
    assert b.model_id == tiny.model_id  # the network is the same; only its values travel


def test_places_cut_names_are_the_grouping_cuts() -> None:
    from dataclasses import fields

    from photolm.bundle_records import CUT_NAMES
    from photolm.places import Cuts

    assert tuple(f.name for f in fields(Cuts)) == CUT_NAMES


def _cut(name: str, value: object) -> dict[str, object]:
    return {"cuts": {"fused": {**PLACES["cuts"]["fused"], name: value}}}  # type: ignore[index]


@pytest.mark.parametrize(("places", "says"), [
    (_cut("alike", 0.0), "places cut fused.alike = 0.0 is not a cosine distance in (0, 2]"),
    (_cut("join", -0.1), "places cut fused.join = -0.1 is not a cosine distance in [0, 2]"),
    (_cut("nearby", 2.5), "places cut fused.nearby = 2.5 is not"),
    (_cut("same_spot", "0.6"), "places cut fused.same_spot = '0.6' is not"),
    (_cut("same_visit", True), "places cut fused.same_visit = True is not"),
    ({"cuts": {"fused": {"alike": 0.4}}}, "places cuts for fused lack nearby, same_spot"),
    ({"cuts": ["fused", 0.4]}, "places cuts must be a table of tables"),
    ({"likeness": 1.5}, "places likeness 1.5 is not a cosine similarity in [-1, 1]"),
    ({"likeness": float("nan")}, "places likeness nan is not a cosine similarity"),
    ([0.27], "places must be a table, not list"),
], ids=["alike-zero", "join-negative", "nearby-too-far", "text", "bool", "cut-missing",
        "cuts-not-a-table", "likeness-above-one", "likeness-nan", "not-a-table"])
def test_bad_places_value_is_refused_with_one_line(bundle_copy: Path, places: object,
                                                   says: str) -> None:
    with pytest.raises(BundleError) as caught:
        read_bundle(_with_places(bundle_copy, places))
    message = str(caught.value)
    assert says in message and "\n" not in message
    assert str(bundle_copy / "manifest.json") in message and "--write-places" in message


def test_writer_refuses_bad_places_values_before_replacing_the_bundle(
        bundle_copy: Path) -> None:
    from photolm.bundle import rewrite_bundle

    b = read_bundle(bundle_copy)
    before = (bundle_copy / "manifest.json").read_bytes()
    with pytest.raises(BundleError, match="places likeness 7 is not"):
        rewrite_bundle(b, bundle_copy, metrics={"places": {"likeness": 7}})
    assert (bundle_copy / "manifest.json").read_bytes() == before


def test_written_bundle_is_readable_by_everyone_the_umask_allows(tmp_path: Path) -> None:
    """A bundle installed for every user of a machine must not stay 0700 (mkdtemp's mode)."""
    import os

    old = os.umask(0o022)
    try:
        make_tiny_bundle(tmp_path / "b")
    finally:
        os.umask(old)
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "b" / "manifest.json").stat().st_mode & 0o777 == 0o644


def test_overwrite_replaces_a_bundle_or_an_empty_folder_only(tmp_path: Path) -> None:
    make_tiny_bundle(tmp_path / "b")
    make_tiny_bundle(tmp_path / "b")  # a bundle is replaced
    (tmp_path / "empty").mkdir()
    make_tiny_bundle(tmp_path / "empty")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"keep")
    (tmp_path / "file").write_text("keep")
    for target in ("photos", "file"):
        with pytest.raises(BundleError, match="refusing to replace it"):
            make_tiny_bundle(tmp_path / target)
    assert (tmp_path / "photos" / "a.jpg").read_bytes() == b"keep"
    assert (tmp_path / "file").read_text() == "keep"
    # no staging folder left behind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".photos.", ".file."))]


def test_an_overwrite_that_fails_when_the_new_bundle_moves_in_puts_the_old_one_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old bundle is never deleted before the new one is in place: when the last
    rename fails (or the process dies there), it is back at its path (or whole beside it),
    byte for byte. Deleting it first, as before, lost it in that window."""
    import os

    import photolm.bundle as bundle_module

    old = make_tiny_bundle(tmp_path / "b")
    before = {p.name: p.read_bytes() for p in old.path.iterdir()}
    real = os.replace
    calls: list[str] = []

    def failing(src: object, dst: object) -> None:
        calls.append(Path(str(src)).name)
        if Path(str(src)).name.startswith(".b.") and ".old." not in Path(str(src)).name \
                and Path(str(dst)) == tmp_path / "b":
            raise OSError(28, "No space left on device")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(bundle_module.os, "replace", failing)
    with pytest.raises(OSError):
        make_tiny_bundle(tmp_path / "b")
    monkeypatch.setattr(bundle_module.os, "replace", real)
    assert len(calls) == 3  # old aside, new in (failed), old back
    assert {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()} == before
    staged = [p.name for p in tmp_path.iterdir() if p.name.startswith(".b.")]
    assert staged == []  # nothing staged or set aside is left
    make_tiny_bundle(tmp_path / "b")  # and a later overwrite leaves nothing aside
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b.")] == []


def test_a_folder_that_is_no_bundle_is_refused_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal comes first: nothing is staged, copied or normalised for a write that
    cannot happen (and an existing folder without overwrite is refused the same way)."""
    source = make_tiny_bundle(tmp_path / "source")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"keep")

    def no_work(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("write_bundle started work before refusing its output folder")

    monkeypatch.setattr(bundle_mod.tempfile, "mkdtemp", no_work)
    monkeypatch.setattr(bundle_mod, "_normalise_rows", no_work)
    arguments = {"model_file": source.model_path, "landmarks": source.landmarks,
                 "prototypes": source.prototypes,
                 "prototype_landmark": source.prototype_landmark,
                 "preprocess": source.preprocess, "threshold": 0.5, "name": "t"}
    with pytest.raises(BundleError, match="not a model bundle .* refusing to replace it"):
        write_bundle(tmp_path / "photos", overwrite=True, **arguments)
    with pytest.raises(BundleError, match="already exists; pass overwrite=True"):
        write_bundle(tmp_path / "source", **arguments)
    assert (tmp_path / "photos" / "a.jpg").read_bytes() == b"keep"
