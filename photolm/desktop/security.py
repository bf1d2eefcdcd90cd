# SPDX-License-Identifier: GPL-3.0-or-later
"""Who may talk to the desktop: the rules every request passes before any route sees it.

A local web server is reachable by every web page the user opens (a page may send requests to
``127.0.0.1``) and, through DNS rebinding, may even be read by one. So, as Jupyter does:

* **A random token per run.** ``photolm serve`` prints ``http://127.0.0.1:PORT/?token=...``;
  the first request with it gets the token in an HttpOnly, SameSite=Strict cookie (named
  after the port: cookies ignore ports, two servers must not share one) and is redirected to
  the same address without it, so it stays out of history and screenshots. Every request
  without a valid token or cookie gets 403, whatever the host it is bound to.
* **Host header allow-list.** A DNS-rebinding page reaches us under *its* host name; only
  ``localhost`` and IP literals (loopback ones unless bound to all interfaces) with our port
  are served.
* **CSRF.** Every request that is not GET/HEAD must carry the run's CSRF token (header
  ``X-CSRF-Token`` or form field ``csrf``) and, when the browser sends an ``Origin``, come
  from our own origin. GET routes never change anything.
* **Strict response headers.** A Content-Security-Policy allowing only our own scripts (no
  inline script, nothing from elsewhere), no framing, no sniffing, no referrer to other sites.

A pure ASGI middleware, so it also guards streaming and static responses.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
MAX_FORM_BYTES = 1 << 20
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on our own
    # form posts, which the Origin rule must refuse (sandboxed and data: pages send it)
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


def new_token() -> str:
    """A fresh random token for one run (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def csrf_token(token: str) -> str:
    """The run's CSRF token: derived from the secret token, useless without it."""
    return hmac.new(token.encode(), b"photolm-csrf", hashlib.sha256).hexdigest()


def cookie_name(port: int) -> str:
    return f"photolm-token-{port}"


def is_wildcard(host: str) -> bool:
    return host in WILDCARD_HOSTS


def host_allowed(header: str | None, *, bind_host: str, port: int) -> bool:
    """Whether a request's ``Host`` header names this server (the DNS-rebinding rule)."""
    if not header:
        return False
    name, given_port = _split_host(header)
    if given_port != str(port):
        return False
    name = name.lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a DNS name other than localhost: exactly what rebinding looks like
    if address.is_loopback:
        return True
    if is_wildcard(bind_host):
        return True
    try:
        return address == ipaddress.ip_address(bind_host)
    except ValueError:
        return False


class Guard:
    """ASGI middleware applying the module's rules before the wrapped app sees a request."""

    def __init__(self, app: ASGIApp, *, token: str, bind_host: str, port: int) -> None:
        self.app = app
        self.token = token
        self.csrf = csrf_token(token)
        self.bind_host = bind_host
        self.port = port
        self.cookie = cookie_name(port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the desktop has none: never an unguarded door
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":  # lifespan
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        if not host_allowed(headers.get("host"), bind_host=self.bind_host, port=self.port):
            await _plain(send, 403, "Refused: this server answers only to its own address "
                                    "(Host header not allowed).")
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"),
                         keep_blank_values=True)
        given = query.get("token", [None])[0]
        if given is not None:
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                await _plain(send, 403, "Refused: wrong token. Open the address that "
                                        "`photolm serve` printed.")
                return
            rest = {k: v for k, v in query.items() if k != "token"}
            path = scope.get("raw_path") or scope.get("path", "/").encode()
            location = path.decode("latin-1") + (f"?{urlencode(rest, doseq=True)}" if rest
                                                else "")
            await _redirect_with_cookie(send, location, self.cookie, self.token)
            return
        if not hmac.compare_digest(_cookie(headers.get("cookie", ""), self.cookie).encode(),
                                   self.token.encode()):
            await _plain(send, 403, "Refused: this page needs the address that `photolm serve` "
                                    "printed (it carries a secret token).")
            return
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and origin != f"http://{headers['host']}":
                await _plain(send, 403, "Refused: cross-site request.")
                return
            body, receive = await _buffer(receive)
            if body is None:
                await _plain(send, 413, "Refused: request too large.")
                return
            sent = headers.get(CSRF_HEADER) or _form_field(headers, body, CSRF_FIELD)
            if not sent or not hmac.compare_digest(sent.encode(), self.csrf.encode()):
                await _plain(send, 403, "Refused: missing or wrong CSRF token; reload the page "
                                        "and try again.")
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in SECURITY_HEADERS if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _split_host(header: str) -> tuple[str, str | None]:
    """``("::1", "8765")`` from ``[::1]:8765``; the port is ``None`` when absent."""
    if header.startswith("["):
        name, _, rest = header[1:].partition("]")
        return name, rest[1:] if rest.startswith(":") else None
    name, sep, port = header.rpartition(":")
    return (name, port) if sep else (header, None)


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _form_field(headers: dict[str, str], body: bytes, field: str) -> str | None:
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    values = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).get(field)
    return values[0] if values else None


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the whole (small) request body, and a ``receive`` that replays it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None, receive
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(send: Send, location: str, name: str, token: str) -> None:
    cookie = f"{name}={token}; Path=/; HttpOnly; SameSite=Strict"
    await send({"type": "http.response.start", "status": 303, "headers": [
        (b"location", location.encode("latin-1", "replace")),
        (b"set-cookie", cookie.encode()), (b"content-length", b"0"), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": b""})
