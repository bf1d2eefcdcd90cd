# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m trainer`` runs the trainer CLI."""

from trainer.cli import main

main()
