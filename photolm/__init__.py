# SPDX-License-Identifier: GPL-3.0-or-later
"""photolm: offline landmark recognition for your own photo folders.

The runtime package. It depends on onnxruntime, numpy, Pillow, exifread and sqlite-utils only:
never on torch, timm, onnx, ``trainer`` or ``export`` (an import-linter contract and a test
enforce it), so that ``pip install photolm[cpu]`` stays small and starts fast.
"""

import os

__version__ = "0.1.0"

# onnxruntime's Linux wheels (1.32, measured 2026-12-07) start Microsoft's 1DS telemetry when
# the module is imported: a device id and a queued usage event (OS, process information) in
# ~/.cache/Microsoft/DeveloperTools/.onnxruntime/, for upload to Microsoft's collector.
# Nothing may leave the user's machine, and only an environment variable set before that
# import stops it (onnxruntime.disable_telemetry_events() comes too late). Its name changed:
# 1.32's wheel reads ORT_DISABLE_TELEMETRY, onnxruntime's source now ORT_TELEMETRY_DISABLED;
# both are set, unconditionally (the promise must not depend on the user's environment).
# ``export`` and ``trainer`` import photolm before any onnxruntime, so this one place covers
# the whole repository (tests/robustness/test_no_network.py checks each entry point).
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ["ORT_TELEMETRY_DISABLED"] = "1"
