# SPDX-License-Identifier: GPL-3.0-or-later
"""trainer: turn folders of labelled landmark photos into a checkpoint ``export`` can bundle.

Needs the ``[train]`` extra (torch, timm, ...). Modules are imported on demand by the CLI so
``trainer --help`` starts quickly; the contracts other packages rely on are
:mod:`trainer.checkpoint` (save/load), :mod:`trainer.data` (``split_from_config``),
:mod:`trainer.transforms` (``EvalPreprocess``, ``eval_array``) and :mod:`trainer.prototypes`.
``trainer`` never imports ``export``.
"""

import os

__all__: list[str] = []

# timm imports huggingface_hub. The trainer never asks it for anything (weights come from
# the efficientnet-lite0 package or --pretrained-file: trainer/weights.py), and the hub's
# offline switch, read when it is first imported, turns any request a future change made by
# mistake into an immediate error instead of a download, and its telemetry off. Set
# unconditionally, as photolm/__init__.py does for onnxruntime.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
