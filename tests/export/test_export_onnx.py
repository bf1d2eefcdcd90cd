# SPDX-License-Identifier: GPL-3.0-or-later
"""torch -> ONNX: checker, dynamic batch, in-graph normalisation, static padding, parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from export.errors import ExportError
from export.onnx_export import check_onnx, export_onnx, freeze_same_padding
from export.parity import check_parity, parity_sample
from photolm.bundle import Preprocess
from photolm.runtime import OnnxEmbedder
from tests.export.exportdata import COLOURS, photo


class Unnormalised(nn.Module):
    """A model whose output is deliberately not unit length."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.fc = nn.Linear(8, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 5.0 * self.fc(self.conv(x).mean(dim=(2, 3)))


def test_export_passes_checker_with_dynamic_batch_and_normalises_in_graph(tmp_path: Path) -> None:
    info = export_onnx(Unnormalised().eval(), tmp_path / "m.onnx", image_size=32)
    assert (info.opset, info.embedding_dim, info.image_size) == (17, 6, 32)
    model = onnx.load(str(info.path))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["images"]
    assert [o.name for o in model.graph.output] == ["embeddings"]
    import onnxruntime as ort

    session = ort.InferenceSession(str(info.path), providers=["CPUExecutionProvider"])
    for batch in (1, 3, 7):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 32, 32)).astype(np.float32)
        out = session.run(["embeddings"], {"images": x})[0]
        assert out.shape == (batch, 6)
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
        with torch.no_grad():
            ref = torch.nn.functional.normalize(Unnormalised()(torch.from_numpy(x)), dim=1)
        np.testing.assert_allclose(out, ref.numpy(), atol=1e-5)


def test_static_padding_replaces_tf_same_convs_without_changing_outputs() -> None:
    import timm
    from timm.layers import Conv2dSame

    torch.manual_seed(0)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0).eval()
    frozen = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0).eval()
    frozen.load_state_dict(model.state_dict())
    replaced = freeze_same_padding(frozen, 72)  # odd feature-map sizes on the way down
    assert replaced == sum(isinstance(m, Conv2dSame) for m in model.modules()) > 0
    assert not any(isinstance(m, Conv2dSame) for m in frozen.modules())
    x = torch.randn(2, 3, 72, 72)
    with torch.no_grad():
        torch.testing.assert_close(frozen(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's legacy-exporter notice
def test_check_onnx_rejects_a_fixed_batch_and_wrong_names(tmp_path: Path) -> None:
    fixed = tmp_path / "fixed.onnx"
    torch.onnx.export(Unnormalised().eval(), (torch.zeros(1, 3, 32, 32),), str(fixed),
                      input_names=["images"], output_names=["embeddings"], opset_version=17,
                      dynamo=False)
    with pytest.raises(ExportError, match="batch axis is not dynamic"):
        check_onnx(fixed)
    named = tmp_path / "named.onnx"
    torch.onnx.export(Unnormalised().eval(), (torch.zeros(1, 3, 32, 32),), str(named),
                      input_names=["x"], output_names=["y"], opset_version=17, dynamo=False,
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    with pytest.raises(ExportError, match="must have input 'images' and output 'embeddings'"):
        check_onnx(named)
    with pytest.raises(ExportError, match="fails onnx.checker"):
        check_onnx(tmp_path / "missing.onnx")


def _photos(root: Path) -> list[str]:
    return [str(photo(root / f"{name}{i}.jpg", colour, seed=i, size=(90, 70)))
            for name, colour in COLOURS.items() for i in range(3)]


def test_parity_passes_for_the_exported_model_and_fails_for_another(tmp_path: Path) -> None:
    from trainer.transforms import EvalPreprocess

    torch_pre = EvalPreprocess(size=32, resize=36, interpolation="bicubic",
                               mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    pre = Preprocess(size=32, resize=36, interpolation="bicubic", mean=(0.5, 0.5, 0.5),
                     std=(0.25, 0.25, 0.25))
    paths = _photos(tmp_path / "photos")
    model = Unnormalised().eval()
    info = export_onnx(model, tmp_path / "m.onnx", image_size=32)
    embedder = OnnxEmbedder(info.path, device="cpu", threads=1)
    report = check_parity(model, embedder, paths, torch_pre, pre, batch_size=4)
    assert report.images == len(paths) and report.skipped == 0
    assert report.worst_cosine > 0.9999 and report.worst_graph_cosine > 0.9999

    other = Unnormalised().eval()
    with torch.no_grad():
        other.fc.weight.mul_(-1.0).add_(0.3)
    with pytest.raises(ExportError, match=r"Parity check failed: cosine .* the ONNX graph"):
        check_parity(other, embedder, paths, torch_pre, pre)

    # Same graph, different preprocessing on photolm's side: blamed on preprocessing.
    shifted = Preprocess(size=32, resize=36, interpolation="bicubic", mean=(0.2, 0.6, 0.9),
                         std=(0.25, 0.25, 0.25))
    with pytest.raises(ExportError, match="comes from preprocessing"):
        check_parity(model, embedder, paths, torch_pre, shifted)


def test_parity_sample_spreads_over_classes() -> None:
    by_class = [["a1", "a2", "a3"], ["b1"], ["c1", "c2"]]
    assert parity_sample(by_class, 4) == ["a1", "b1", "c1", "a2"]
    assert parity_sample(by_class, 10) == ["a1", "b1", "c1", "a2", "c2", "a3"]



class Spatial(nn.Module):
    """Keeps where things are (no pooling), so it sees a few grey levels of fine detail."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, stride=2)
        self.fc = nn.Linear(4 * 15 * 15, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def _detailed_photo(path: Path, seed: int, size: tuple[int, int] = (320, 240)) -> str:
    """Small sharp-edged patches: detail that a reduced JPEG decode renders differently."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, (128, 128, 128))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = int(rng.integers(size[0])), int(rng.integers(size[1]))
        w, h = int(rng.integers(2, 12)), int(rng.integers(2, 12))
        draw.rectangle((x, y, x + w, y + h), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    image.save(path, quality=95)
    return str(path)


def test_parity_holds_for_photos_large_enough_for_a_reduced_decode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A phone photo is many times the model's input, so photolm decodes it with libjpeg's
    DCT scaling, as the trainer's training loader does: the check compares the graph and
    the preprocessing on that decode instead of failing every real photo on it."""
    from photolm import images
    from trainer.transforms import EvalPreprocess

    torch_pre = EvalPreprocess(size=32, resize=36, interpolation="bicubic",
                               mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    pre = Preprocess(size=32, resize=36, interpolation="bicubic", mean=(0.5, 0.5, 0.5),
                     std=(0.25, 0.25, 0.25))
    paths = [_detailed_photo(tmp_path / f"{i}.jpg", seed=i) for i in range(6)]  # 6x the resize
    model = Spatial().eval()
    info = export_onnx(model, tmp_path / "m.onnx", image_size=32)
    embedder = OnnxEmbedder(info.path, device="cpu", threads=1)
    report = check_parity(model, embedder, paths, torch_pre, pre, batch_size=4)
    assert report.images == len(paths) and report.worst_cosine > 0.9999

    # Still caught: photolm asking libjpeg for a coarser decode than the trainer trains on.
    monkeypatch.setattr(images, "decode_target", lambda _pre: 16)  # 1/8 scale, not 1/4
    with pytest.raises(ExportError, match="comes from preprocessing"):
        check_parity(model, embedder, paths, torch_pre, pre)
