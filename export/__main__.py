# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m export``: the same command as ``photolm-export``."""

from export.cli import main

if __name__ == "__main__":
    main()
