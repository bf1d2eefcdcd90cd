# SPDX-License-Identifier: GPL-3.0-or-later
"""Photo files to vectors with a bundle's model, outside the scan's pipeline.

Learning needs vectors of example photos the catalogue does not hold yet, and learned
landmarks met by a new model need theirs re-made; both go through an :data:`EmbedFn`, so
the caller decides whether a session is built (``learn``: only when some photo needs one)
or the scan's running session is reused. The scan also runs its batches through
:func:`embed_both`, so a runtime without descriptors needs one code path, not two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from photolm.bundle import Bundle

if TYPE_CHECKING:
    from photolm.runtime import Device

# (paths) -> ({path: (embedding, descriptor or None)}, {path: problem})
EmbedFn = Callable[[Sequence[str]], tuple[dict[str, tuple[np.ndarray, np.ndarray | None]],
                                          dict[str, str]]]


def session_for(bundle: Bundle, *, device: Device = "auto", threads: int | None = None) -> Any:
    """An onnxruntime session over the bundle's model that also returns its descriptor, when
    the bundle has one and this photolm's runtime knows descriptors."""
    from photolm.runtime import OnnxEmbedder

    for_bundle = getattr(OnnxEmbedder, "for_bundle", None)
    if for_bundle is not None:
        return for_bundle(bundle, device=device, threads=threads)
    return OnnxEmbedder(bundle.model_path, input_name=bundle.input_name,
                        output_name=bundle.output_name, device=device, threads=threads)


def onnx_embed_fn(bundle: Bundle, device: Device = "auto") -> EmbedFn:
    """Decode and embed photos with the bundle's model (only for photos not catalogued);
    the session is made on first use."""
    state: dict[str, Any] = {}

    def embed(paths: Sequence[str]) -> tuple[dict[str, tuple[np.ndarray, np.ndarray | None]],
                                             dict[str, str]]:
        if "session" not in state:
            state["session"] = session_for(bundle, device=device)
        return embed_fn(state["session"], bundle)(paths)

    return embed


def embed_both(embedder: Any, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Embedding and (when the model has one) generic descriptor of a batch, one pass."""
    try:
        from photolm.runtime import embed_all
    except ImportError:  # a runtime without descriptors
        return embedder.embed(batch), None
    both = embed_all(embedder, batch)
    return both.embedding, both.descriptor


def embed_fn(embedder: Any, bundle: Bundle) -> EmbedFn:
    """An :data:`EmbedFn` over an embedder already running (the scan's)."""

    def embed(paths: Sequence[str]) -> tuple[dict[str, tuple[np.ndarray, np.ndarray | None]],
                                             dict[str, str]]:
        from photolm.errors import ImageError
        from photolm.images import load_for_model

        out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        problems: dict[str, str] = {}
        for path in paths:
            try:
                batch = load_for_model(path, bundle.preprocess)[None]
            except ImageError as exc:
                problems[path] = str(exc)
                continue
            except OSError as exc:
                problems[path] = exc.strerror or str(exc)
                continue
            emb, desc = embed_both(embedder, batch)
            out[path] = (emb[0], None if desc is None else desc[0])
        return out, problems

    return embed
