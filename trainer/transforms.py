# SPDX-License-Identifier: GPL-3.0-or-later
"""Image decoding, evaluation preprocessing and training augmentation.

The evaluation transform is written in Pillow + numpy, step for step as photolm's runtime
does it (docs/architecture.md, "Preprocessing"): RGB, EXIF orientation applied, shorter side
resized to ``resize`` with Pillow's filter, centre crop ``size``, scale to [0, 1], subtract
``mean``, divide by ``std``, CHW float32. Prototypes computed here and embeddings computed by
photolm then live in the same space, and export can check ONNX against torch on identical
arrays. Rounding rules (documented on :func:`eval_array`) are part of that contract.

Training augmentation uses torchvision on PIL images: random resized crop, horizontal flip,
colour jitter, and optionally vertical flip and 90° rotations.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

_FILTERS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
}


class UnreadableImage(Exception):
    """A photo could not be decoded; ``reason`` says why, the message adds the path."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class EvalPreprocess:
    """Evaluation preprocessing; the same fields as ``photolm.bundle.Preprocess``."""

    size: int = 224
    resize: int = 256
    crop: str = "center"
    interpolation: str = "bicubic"
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    @classmethod
    def from_config(cls, config: Any) -> EvalPreprocess:
        """From a resolved TrainConfig (or its dict)."""
        get = (config.get if isinstance(config, Mapping)
               else lambda k, d=None: getattr(config, k, d))
        size = int(get("image_size"))
        resize = get("resize")
        return cls(
            size=size,
            resize=int(resize) if resize is not None else round(size / 0.875),
            crop="center",
            interpolation=str(get("interpolation", "bicubic")),
            mean=tuple(float(v) for v in get("mean")),  # type: ignore[arg-type]
            std=tuple(float(v) for v in get("std")),  # type: ignore[arg-type]
        )

    @property
    def decode_target(self) -> int:
        """The side both dimensions of a reduced JPEG decode keep (``open_image``'s
        ``draft``), as the training loader decodes: the shorter side's ``resize`` (``size``
        without a crop). photolm's scan asks for the same
        (:func:`photolm.images.decode_target`); written out here, not imported, so the
        export's parity check compares two rules and catches them drifting apart."""
        return self.resize if self.crop == "center" else self.size

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mean"], data["std"] = list(self.mean), list(self.std)
        return data


def open_image(path: str | Path, *, draft: int | None = None) -> Image.Image:
    """Decode a photo to RGB with EXIF orientation applied.

    ``draft`` lets libjpeg decode at a reduced scale (never below ``draft`` pixels on either
    side), which is several times faster for large photos. Everything that feeds the model
    asks for it (training at ``resize``, evaluation at :attr:`EvalPreprocess.decode_target`),
    as photolm's scan does: a full decode resized by Pillow differs from it by a few grey
    levels that move a trained network's embedding (export/parity.py).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as handle:
                if draft is not None and handle.format == "JPEG":
                    handle.draft("RGB", (draft, draft))
                handle.load()
                image = ImageOps.exif_transpose(handle)
                if image is handle:
                    image = handle.copy()
        return image if image.mode == "RGB" else image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
            reason = exc.strerror.lower()  # "[Errno 2] No such file or directory: 'x'"
        else:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            reason = reason.replace(f" {str(path)!r}", "").replace(f" {path}", "")  # said once
        raise UnreadableImage(path, reason) from None


def resize_shorter(image: Image.Image, target: int, interpolation: str) -> Image.Image:
    """Resize so the shorter side is ``target``; the longer side is rounded half up."""
    width, height = image.size
    if width <= height:
        new = (target, max(1, int(height * target / width + 0.5)))
    else:
        new = (max(1, int(width * target / height + 0.5)), target)
    if new == image.size:
        return image
    return image.resize(new, _FILTERS[interpolation])


def center_crop(image: Image.Image, size: int) -> Image.Image:
    """Crop ``size`` x ``size`` from the centre; the offset is rounded down."""
    width, height = image.size
    left, top = (width - size) // 2, (height - size) // 2
    return image.crop((left, top, left + size, top + size))


def eval_image(image: Image.Image, pre: EvalPreprocess) -> Image.Image:
    """The geometric part of :func:`eval_array` (what the model sees, as a picture)."""
    if pre.crop == "none":
        return image.resize((pre.size, pre.size), _FILTERS[pre.interpolation])
    return center_crop(resize_shorter(image, pre.resize, pre.interpolation), pre.size)


def eval_array(image: Image.Image, pre: EvalPreprocess) -> np.ndarray:
    """RGB photo -> normalised CHW float32 array, exactly as photolm preprocesses.

    Resize: shorter side to ``pre.resize``, longer side ``int(long * resize / short + 0.5)``;
    crop: offsets ``(w - size) // 2`` and ``(h - size) // 2``; then ``x / 255``, minus mean,
    divided by std (float32 arithmetic).
    """
    pixels = np.asarray(eval_image(image, pre), dtype=np.float32) / np.float32(255.0)
    mean = np.asarray(pre.mean, dtype=np.float32)
    std = np.asarray(pre.std, dtype=np.float32)
    return np.ascontiguousarray(((pixels - mean) / std).transpose(2, 0, 1))


class EvalTransform:
    """Picklable callable for DataLoader workers."""

    def __init__(self, pre: EvalPreprocess) -> None:
        self.pre = pre

    def __call__(self, image: Image.Image) -> np.ndarray:
        return eval_array(image, self.pre)


class RandomRot90:
    """Rotate by a random multiple of 90° (for aerial or oddly oriented photos)."""

    def __call__(self, image: Image.Image) -> Image.Image:
        import torch

        turns = int(torch.randint(0, 4, ()).item())
        if turns == 0:
            return image
        return image.transpose(
            (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180,
             Image.Transpose.ROTATE_270)[turns - 1]
        )


def build_train_transform(
    *,
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    interpolation: str = "bicubic",
    crop_scale_min: float = 0.35,
    hflip: bool = True,
    vflip: bool = False,
    rot90: bool = False,
    color_jitter: float = 0.3,
) -> Any:
    """torchvision pipeline: PIL image -> normalised CHW float tensor."""
    import torch
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import v2 as T

    modes = {
        "bicubic": InterpolationMode.BICUBIC,
        "bilinear": InterpolationMode.BILINEAR,
        "nearest": InterpolationMode.NEAREST,
        "lanczos": InterpolationMode.LANCZOS,
    }
    steps: list[Any] = [
        T.RandomResizedCrop(size, scale=(crop_scale_min, 1.0),
                            interpolation=modes[interpolation], antialias=True)
    ]
    if hflip:
        steps.append(T.RandomHorizontalFlip())
    if vflip:
        steps.append(T.RandomVerticalFlip())
    if rot90:
        steps.append(RandomRot90())
    if color_jitter > 0:
        steps.append(T.ColorJitter(brightness=color_jitter, contrast=color_jitter,
                                   saturation=color_jitter, hue=min(0.5, color_jitter / 3)))
    steps += [
        T.PILToTensor(),
        T.ToDtype(torch.float32, scale=True),
        T.Normalize(mean=list(mean), std=list(std)),
    ]
    return T.Compose(steps)


def train_transform_from_config(config: Any) -> Any:
    return build_train_transform(
        size=config.image_size,
        mean=config.mean,
        std=config.std,
        interpolation=config.interpolation,
        crop_scale_min=config.crop_scale_min,
        hflip=config.hflip,
        vflip=config.vflip,
        rot90=config.rot90,
        color_jitter=config.color_jitter,
    )
