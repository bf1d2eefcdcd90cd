# SPDX-License-Identifier: GPL-3.0-or-later
"""photolm: offline landmark recognition for your own photo folders.

The runtime package. It depends on onnxruntime, numpy, Pillow, exifread and sqlite-utils only:
never on torch, timm, onnx, ``trainer`` or ``export`` (an import-linter contract and a test
enforce it), so that ``pip install photolm[cpu]`` stays small and starts fast.
"""

__version__ = "0.1.0"
