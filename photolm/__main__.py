# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m photolm`` is the same as the ``photolm`` command."""

from photolm.cli.app import main

if __name__ == "__main__":
    main()
