# SPDX-License-Identifier: GPL-3.0-or-later
"""trainer: turn folders of labelled landmark photos into a checkpoint ``export`` can bundle.

Needs the ``[train]`` extra (torch, timm, ...). Modules are imported on demand by the CLI so
``trainer --help`` starts quickly; the contracts other packages rely on are
:mod:`trainer.checkpoint` (save/load), :mod:`trainer.data` (``split_from_config``),
:mod:`trainer.transforms` (``EvalPreprocess``, ``eval_array``) and :mod:`trainer.prototypes`.
``trainer`` never imports ``export``.
"""

__all__: list[str] = []
