# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm serve``: the desktop, a local web application in the user's own browser.

Offline and local by construction: everything it shows comes from the catalogue, every
script and style it loads is shipped in ``static/`` (htmx included), and every change it
makes goes through the same library functions as the CLI (:mod:`photolm.review`,
:mod:`photolm.tagging`, :mod:`photolm.scan`). Needs the optional ``photolm[desktop]`` extra
(Starlette, uvicorn, Jinja2); photolm's core never imports this package.

Modules: ``server`` binds and runs, ``app`` holds the routes, ``security`` the token / Host /
CSRF rules, ``thumbs`` the thumbnail cache, ``jobs`` scans and tag runs in the background,
``queries`` the catalogue reads only the desktop needs, ``explain`` why a photo has (or has
not) a landmark, ``places`` the adapter to ``photolm places``, ``worldmap`` the offline map.
"""
