# SPDX-License-Identifier: GPL-3.0-or-later
"""The descriptor gate (issue 13): a fine-tuned match whose generic descriptor is far from
the named landmark's descriptor prototype is "no landmark", with the reason in ``list``.

The tiny bundle's descriptor is a second random projection; moving the Eiffel Tower's
descriptor prototype to the opposite direction makes every red photo "far" in descriptor
space while it still matches in the fine-tuned embedding.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from photolm.bundle import Bundle, read_bundle, rewrite_bundle
from photolm.geo import gps_evidence
from photolm.learned import CombinedMatcher
from photolm.runtime import OnnxEmbedder, embed_all
from tests.clirun import cli
from tests.tinybundle import COLOURS, LANDMARKS, make_tiny_bundle, solid_input, write_photo


def _far_eiffel(bundle: Bundle, out: Path, gate: float | None) -> Bundle:
    """The bundle with the Eiffel Tower's descriptor prototype turned around."""
    protos = np.array(bundle.descriptor_prototypes, dtype=np.float32)
    protos[0] = -protos[0]
    assert bundle.descriptor is not None
    return rewrite_bundle(bundle, out, descriptor=replace(bundle.descriptor, gate=gate),
                          descriptor_prototypes=protos)


@pytest.fixture
def base(tmp_path: Path) -> Bundle:
    return make_tiny_bundle(tmp_path / "base", descriptor_threshold=0.5)


def _match(bundle: Bundle, colour: tuple[int, int, int]):
    out = embed_all(OnnxEmbedder.for_bundle(bundle, device="cpu"),
                    solid_input(colour)[None])
    return CombinedMatcher(bundle, [], {}, space="embedding").match(out.embedding,
                                                                     out.descriptor)[0]


def test_gate_rejects_a_match_whose_descriptor_is_far(base: Bundle, tmp_path: Path) -> None:
    gated = _far_eiffel(base, tmp_path / "gated", gate=0.2)
    assert read_bundle(gated.path).descriptor.gate == pytest.approx(0.2)
    m = _match(gated, COLOURS["eiffel-tower"])
    assert m.top[0].landmark_id == "eiffel-tower" and m.top[0].score >= gated.threshold
    assert m.landmark is None and m.top[0].gated and m.top[0].descriptor_score < 0.2
    assert m.top[0].to_json()["gate"] == pytest.approx(0.2)
    near = _match(gated, COLOURS["colosseum"])  # its prototype is untouched: it stands
    assert near.landmark is not None and near.landmark.landmark_id == "colosseum"
    assert not near.landmark.gated


def test_a_shipped_landmark_taught_more_examples_is_not_gated(base: Bundle, tmp_path: Path
                                                              ) -> None:
    from photolm.learned import Learned

    gated = _far_eiffel(base, tmp_path / "gated", gate=0.2)
    out = embed_all(OnnxEmbedder.for_bundle(gated, device="cpu"),
                    solid_input(COLOURS["eiffel-tower"])[None])
    taught = Learned(LANDMARKS[0], shipped=True, examples=("/photos/eiffel.jpg",))
    matcher = CombinedMatcher(gated, [taught], {"eiffel-tower": out.embedding},
                              space="embedding")
    m = matcher.match(out.embedding, out.descriptor)[0]
    assert m.landmark is not None and m.landmark.landmark_id == "eiffel-tower"


def test_a_bundle_without_a_gate_matches_as_before(base: Bundle, tmp_path: Path) -> None:
    old = _far_eiffel(base, tmp_path / "old", gate=None)
    manifest = json.loads((old.path / "manifest.json").read_text())
    assert "gate" not in manifest["model"]["descriptor"]  # older readers see what they knew
    assert read_bundle(old.path).descriptor.gate is None
    m = _match(old, COLOURS["eiffel-tower"])
    assert m.landmark is not None and m.landmark.landmark_id == "eiffel-tower"
    assert m.landmark.descriptor_score is None and "gate" not in m.landmark.to_json()


def test_gps_near_the_landmark_does_not_overrule_the_gate(base: Bundle, tmp_path: Path
                                                          ) -> None:
    gated = _far_eiffel(base, tmp_path / "gated", gate=0.2)
    m = _match(gated, COLOURS["eiffel-tower"])
    placed = {lm.id: lm for lm in LANDMARKS}
    geo = gps_evidence(48.8584, 2.2945, m.top, placed, threshold=gated.threshold)
    assert geo.match is None or geo.match.landmark_id != "eiffel-tower"


def _rows() -> dict[str, dict]:
    code, out, err = cli("list", "--json")
    assert code == 0, err
    return {Path(r["path"]).name: r for r in json.loads(out)}


def test_list_shows_why_and_a_new_gate_rematches_without_decoding(
        base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle_dir = tmp_path / "model"
    _far_eiffel(base, bundle_dir, gate=None)
    monkeypatch.setenv("PHOTOLM_MODEL", str(bundle_dir))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    lib = tmp_path / "lib"
    write_photo(lib / "eiffel.jpg", COLOURS["eiffel-tower"])
    write_photo(lib / "colosseum.jpg", COLOURS["colosseum"])
    assert cli("scan", lib, "--quiet")[0] == 0
    before = _rows()
    assert before["eiffel.jpg"]["landmark"] == "Eiffel Tower"
    assert before["eiffel.jpg"]["gate_reason"] is None

    shipped = read_bundle(bundle_dir)  # same network, a gate in the manifest
    rewrite_bundle(shipped, bundle_dir, descriptor=replace(shipped.descriptor, gate=0.2))
    import photolm.scan as scan_mod

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a catalogued photo was decoded")

    for name in ("read_photo", "load_for_model"):
        if hasattr(scan_mod, name):
            monkeypatch.setattr(scan_mod, name, no_decoding)
    code, _, err = cli("scan", lib, "--quiet")
    assert code == 0, err
    after = _rows()
    assert after["eiffel.jpg"]["landmark"] is None
    assert "Eiffel Tower" in after["eiffel.jpg"]["gate_reason"]
    assert "below the gate 0.20" in after["eiffel.jpg"]["gate_reason"]
    assert after["colosseum.jpg"]["landmark"] == "Colosseum"
    assert after["colosseum.jpg"]["gate_reason"] is None
    code, out, err = cli("list")
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if "eiffel.jpg" in ln)
    assert "no landmark" in line and "rejected" in line
