# SPDX-License-Identifier: GPL-3.0-or-later
"""Each security rule of the desktop, through the HTTP layer (Starlette's test client)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from photolm.catalog import Catalog
from photolm.desktop.security import csrf_token, host_allowed
from tests.desktop.conftest import BASE, PORT, TOKEN

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def anonymous(app):
    from starlette.testclient import TestClient

    with TestClient(app, base_url=BASE, follow_redirects=False) as c:
        yield c


@pytest.mark.parametrize("path", ["/", "/photo/1", "/thumb/1", "/static/style.css", "/map",
                                  "/unreadable"])
def test_every_page_needs_the_token(anonymous, path: str) -> None:
    res = anonymous.get(path)
    assert res.status_code == 403 and "secret token" in res.text


def test_a_wrong_token_is_refused(anonymous) -> None:
    assert anonymous.get("/?token=guess").status_code == 403
    anonymous.cookies.set(f"photolm-token-{PORT}", "guess")
    assert anonymous.get("/").status_code == 403


def test_the_token_url_sets_a_strict_cookie_and_drops_the_token(anonymous) -> None:
    res = anonymous.get(f"/search?q=rome&token={TOKEN}")
    assert res.status_code == 303 and res.headers["location"] == "/search?q=rome"
    cookie = res.headers["set-cookie"]
    assert cookie.startswith(f"photolm-token-{PORT}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert anonymous.get("/search?q=rome").status_code == 200  # the cookie now suffices


@pytest.mark.parametrize("host", ["evil.example", f"evil.example:{PORT}",
                                  f"attacker.localhost.example:{PORT}", "127.0.0.1:1",
                                  f"192.168.1.20:{PORT}", ""])
def test_foreign_host_headers_are_refused_even_with_the_token(client, host: str) -> None:
    res = client.get("/", headers={"host": host})
    assert res.status_code == 403 and "Host header" in res.text


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}"])
def test_loopback_host_headers_are_served(client, host: str) -> None:
    assert client.get("/", headers={"host": host}).status_code == 200


def test_a_wildcard_bind_accepts_lan_addresses_but_no_names() -> None:
    assert host_allowed(f"192.168.1.20:{PORT}", bind_host="0.0.0.0", port=PORT)
    assert not host_allowed(f"rebind.example:{PORT}", bind_host="0.0.0.0", port=PORT)


def _grey_id(library) -> int:
    with Catalog.open(library.catalog, write=False) as cat:
        return next(r.id for r in cat.iter_photos() if r.path.endswith("grey.jpg"))


def _review(library) -> str | None:
    with Catalog.open(library.catalog, write=False) as cat:
        return next(r.review for r in cat.iter_photos() if r.path.endswith("grey.jpg"))


def test_state_changes_need_the_csrf_token(client, library) -> None:
    photo = _grey_id(library)
    url = f"/photo/{photo}/review"
    assert client.post(url, data={"action": "none"}).status_code == 403
    assert client.post(url, data={"action": "none", "csrf": "0" * 64}).status_code == 403
    assert client.post(url, data={"action": "none"},
                       headers={"x-csrf-token": "nope"}).status_code == 403
    assert _review(library) is None
    ok = client.post(url, data={"action": "none"}, headers={"x-csrf-token": csrf_token(TOKEN)})
    assert ok.status_code == 303 and _review(library) == "none"


def test_cross_site_posts_are_refused_even_with_the_csrf_token(client, library) -> None:
    res = client.post(f"/photo/{_grey_id(library)}/review",
                      data={"action": "none", "csrf": csrf_token(TOKEN)},
                      headers={"origin": "http://evil.example"})
    assert res.status_code == 403 and _review(library) is None


def test_state_changing_routes_refuse_get(client, library) -> None:
    photo = _grey_id(library)
    for path in (f"/photo/{photo}/review?action=none", "/scan/start", "/tags/tag", "/job/stop"):
        assert client.get(path).status_code == 405, path
    assert _review(library) is None


@pytest.mark.parametrize("path", ["/thumb/../../etc/passwd", "/thumb/%2Fetc%2Fpasswd",
                                  "/photo/abc", "/thumb/999999", "/photo/1/image/../../x",
                                  "/static/../app.py", "/static/..%2Fapp.py"])
def test_photos_are_served_by_catalogue_id_only(client, path: str) -> None:
    res = client.get(path)
    assert res.status_code == 404, (path, res.status_code)
    assert b"import" not in res.content and b"root:" not in res.content


def test_a_path_in_the_query_is_ignored(client, library) -> None:
    photo = _grey_id(library)
    res = client.get(f"/thumb/{photo}", params={"path": "/etc/passwd"})
    assert res.headers["content-type"] == "image/jpeg"


def test_pages_forbid_inline_and_foreign_scripts(client) -> None:
    res = client.get("/")
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp and res.headers["x-frame-options"] == "DENY"
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", res.text)  # no inline script
    assert "http://" not in res.text and "https://" not in res.text  # nothing from elsewhere


def test_redirect_targets_stay_on_this_site(client, library) -> None:
    photo = _grey_id(library)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        res = client.post(f"/photo/{photo}/review", data={
            "action": "clear", "next": target, "csrf": csrf_token(TOKEN)})
        where = res.headers["location"]
        assert where.split("?")[0] == f"/photo/{photo}" and "evil" not in where, target


def test_photolm_core_never_imports_the_desktop() -> None:
    code = ("import sys, photolm.cli.app, photolm.scan, photolm.catalog, photolm.tagging, "
            "photolm.review, photolm.names\n"
            "print(','.join(m for m in ('photolm.desktop', 'starlette', 'uvicorn', 'jinja2') "
            "if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True)
    assert res.stdout.strip() == ""


def test_websockets_are_closed_unopened(client) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/") as ws:
        ws.receive_text()


def test_pages_make_no_outbound_network_call(client, library, monkeypatch) -> None:
    import socket

    attempts: list[str] = []

    def refuse(name: str):
        def blocked(*args: object, **kwargs: object) -> None:
            attempts.append(name)
            raise OSError(f"network access attempted: {name}")
        return blocked

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, refuse(name))
    for name in ("create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, name, refuse(name))
    photo = _grey_id(library)
    for path in ("/", "/landmark/eiffel-tower", "/search?q=paris", f"/photo/{photo}",
                 f"/thumb/{photo}", f"/photo/{photo}/image", "/uncertain", "/map", "/tags",
                 "/scan", "/unreadable", "/job", "/static/htmx.min.js"):
        assert client.get(path).status_code == 200, path
    assert attempts == []
