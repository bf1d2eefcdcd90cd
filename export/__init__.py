# SPDX-License-Identifier: GPL-3.0-or-later
"""Trainer checkpoint -> photolm model bundle: the only place where torch meets onnx.

The bundle is written through :func:`photolm.bundle.write_bundle`, so the exporter cannot
invent a format the runtime does not read. Nothing is trusted by construction: the ONNX graph
is checked, its outputs are compared with torch on real photos through photolm's own
preprocessing, the prototype table and the "no landmark" threshold are computed through the
exported model itself, and a quantised model must keep its accuracy to be shipped.
Start at :func:`export.pipeline.export_bundle` (library) or ``photolm-export`` (command).
"""

import photolm  # noqa: F401  (turns off onnxruntime's telemetry before any import of it)
