# SPDX-License-Identifier: GPL-3.0-or-later
"""``trainer explain``: which part of a photo made the model think "this landmark".

Grad-CAM (Selvaraju et al.) on the backbone's last feature map: the target is the cosine
similarity between the photo's embedding and the class's centre in the trained head, its
gradient weights the feature channels, and the positive part of the weighted sum is the
heat map. For backbones without a spatial feature map (vision transformers) or with
``method="saliency"``, the absolute input gradient is shown instead. The overlay is drawn on
the exact crop the model saw (evaluation preprocessing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from trainer.atomic import output_folder, writing
from trainer.data import normalise_name
from trainer.errors import TrainerError
from trainer.transforms import UnreadableImage, eval_array, eval_image, open_image


@dataclass
class Explanation:
    out: Path
    target: str
    score: float
    method: str
    top: list[tuple[str, float]] = field(default_factory=list)


def _class_index(target: str, classes: list[dict]) -> int:
    wanted = normalise_name(target)
    for index, info in enumerate(classes):
        names = [info["id"], info["name"], *(info.get("aliases") or [])]
        if wanted in {normalise_name(n) for n in names}:
            return index
    raise TrainerError(f"The checkpoint has no class {target!r}; see its classes.json.")


def explain(
    checkpoint: Path | str,
    image: Path | str,
    *,
    out: Path | str | None = None,
    target: str | None = None,
    method: str = "gradcam",
) -> Explanation:
    """Write a heat-map overlay PNG for ``image`` and return what it shows."""
    from trainer.checkpoint import load_checkpoint

    if method not in ("gradcam", "saliency"):
        raise TrainerError(f"Unknown method {method!r}; choose gradcam or saliency.")
    ckpt = load_checkpoint(checkpoint)
    head = ckpt.build_head()
    pre = ckpt.preprocess
    try:
        photo = open_image(image, draft=pre.decode_target)  # the pixels photolm sees
    except UnreadableImage as exc:
        raise TrainerError(f"Cannot read {image}: {exc.reason}.") from None
    crop = eval_image(photo, pre)
    x = torch.from_numpy(eval_array(photo, pre))[None]
    model = ckpt.model.eval()
    centres = head.centres().detach()
    k = centres.shape[0] // len(ckpt.classes)

    with torch.enable_grad():
        x.requires_grad_(True)
        features = model.features(x)
        spatial = features.ndim == 4 and method == "gradcam"
        if spatial:
            features.retain_grad()
        embedding = model.embed_features(features)
        scores = (embedding @ centres.t()).view(1, len(ckpt.classes), k).amax(dim=2)[0]
        index = int(scores.argmax()) if target is None else _class_index(target, ckpt.classes)
        scores[index].backward()

    if spatial:
        grads = features.grad[0]
        weights = grads.mean(dim=(1, 2))
        cam = torch.relu((weights[:, None, None] * features[0].detach()).sum(dim=0))
        heat = F.interpolate(cam[None, None], size=(pre.size, pre.size), mode="bilinear",
                             align_corners=False)[0, 0]
        used = "gradcam"
    else:
        heat = x.grad[0].abs().amax(dim=0)
        used = "saliency"
    heat = heat.detach().numpy()
    heat = (heat - heat.min()) / max(float(heat.max() - heat.min()), 1e-12)

    scores = scores.detach()
    order = torch.argsort(scores, descending=True)[:5].tolist()
    top = [(ckpt.classes[i]["name"], float(scores[i])) for i in order]
    name = ckpt.classes[index]["name"]
    path = Path(out) if out is not None else Path(f"{Path(image).stem}-{used}.png")
    _draw(path, np.asarray(crop), heat, f"{name}: cosine {float(scores[index]):.3f} ({used})",
          top)
    return Explanation(out=path, target=name, score=float(scores[index]), method=used, top=top)


def _draw(path: Path, crop: np.ndarray, heat: np.ndarray, title: str,
          top: list[tuple[str, float]]) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.8), dpi=100)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.9, bottom=0.08, wspace=0.05)
    left = fig.add_subplot(1, 2, 1)
    right = fig.add_subplot(1, 2, 2)
    left.imshow(crop)
    left.set_title("model input (centre crop)", fontsize=9)
    right.imshow(crop)
    right.imshow(heat, cmap="jet", alpha=0.45, vmin=0, vmax=1)
    right.set_title(title, fontsize=9)
    for ax in (left, right):
        ax.set_axis_off()
    fig.text(0.5, 0.03, "top: " + "; ".join(f"{n} {s:.2f}" for n, s in top), ha="center",
             fontsize=8)
    output_folder(path.parent)
    with writing(path):
        fig.savefig(path)
