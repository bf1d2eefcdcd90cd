# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``photolm`` command line: one small module per command, each parse -> call -> render.

Heavy imports (numpy, onnxruntime, Pillow) happen inside the commands that need them, so
``photolm --help`` and ``photolm search`` start fast.
"""
