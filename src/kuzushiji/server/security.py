"""What guards the web app: a Host allow-list (DNS rebinding), same-origin state changes (CSRF), request-body
limits enforced while the body streams, and, with ``serve --auth``, per-user tokens.

One ASGI middleware does it all before any route runs. Tokens are ``NAME.SECRET``; the database keeps only a
salted SHA-256 of the secret (the secret is 32 random bytes, so a slow hash adds nothing), compared in
constant time. A request's user then comes from its token, never from what its body says.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Callable

from starlette.exceptions import HTTPException

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
TOKEN_COOKIE = "kuzushiji_token"
USER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
JSON_BODY_BYTES = 1 << 20  # any request but an upload


def new_token(name: str) -> tuple[str, str, str]:
    """``(token, salt, digest)`` for a new user: the token is shown once, salt and digest are stored."""
    if not USER_NAME.match(name):
        raise ValueError(f"user names are 1-64 of A-Z a-z 0-9 _ -, not {name!r}")
    secret, salt = secrets.token_urlsafe(32), secrets.token_hex(16)
    return f"{name}.{secret}", salt, token_digest(salt, secret)


def token_digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def check_token(token: str, lookup: Callable[[str], tuple[str, str] | None]) -> str | None:
    """The user a token belongs to, or None; ``lookup(name)`` gives that user's ``(salt, digest)``."""
    name, _, secret = token.rpartition(".")
    if not USER_NAME.match(name) or not secret:
        return None
    stored = lookup(name)
    if stored is None:
        return None
    return name if hmac.compare_digest(token_digest(stored[0], secret), stored[1]) else None


def _host_name(host: str) -> str:
    """``example.org:8000`` -> ``example.org``; ``[::1]:8000`` -> ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@dataclass
class Guard:
    """The settings the middleware enforces."""

    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    max_upload_request: int = 200 << 20  # POST /api/pages, all its files together
    auth: Callable[[str], tuple[str, str] | None] | None = None  # user lookup; None: no authentication
    public_paths: tuple[str, ...] = field(default=("/", "/favicon.ico", "/api/login"))

    def host_ok(self, host: str) -> bool:
        return _host_name(host) in self.allowed_hosts


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return ""


async def _answer(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """ASGI middleware: refuse before the app sees a request with a foreign Host (400), a cross-origin state
    change (403), no valid token under ``--auth`` (401), or a body over its limit (413, counted as it streams)."""

    def __init__(self, app, guard: Guard) -> None:
        self.app, self.guard = app, guard

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        h, g = _headers(scope), self.guard
        host = h.get("host", "")
        if not g.host_ok(host):
            return await _answer(send, 400, f"Host {host!r} is not served here (serve --allowed-host adds a name)")
        method, path = scope["method"], scope["path"]
        if method in UNSAFE_METHODS:
            origin = h.get("origin", "")
            if origin and origin.split("://", 1)[-1].lower() != host.lower():
                return await _answer(send, 403, "cross-origin request refused")
            if not origin and h.get("sec-fetch-site", "") in ("cross-site", "same-site"):
                return await _answer(send, 403, "cross-site request refused")
        if g.auth is not None and path.startswith("/api/") and path not in g.public_paths:
            auth = h.get("authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else _cookie(h.get("cookie", ""), TOKEN_COOKIE)
            user = check_token(token, g.auth) if token else None
            if user is None:
                return await _answer(send, 401, "log in: a token from `kuzushiji users add NAME` is needed")
            scope.setdefault("state", {})["user"] = user
        limit = g.max_upload_request if (method == "POST" and path == "/api/pages") else JSON_BODY_BYTES
        declared = h.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return await _answer(send, 413, f"request too large ({declared} bytes > {limit})")
        seen = 0

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # raised inside the body parser: the app answers it, reading no further
                    raise HTTPException(413, f"request too large (over {limit} bytes)")
            return message

        await self.app(scope, counted_receive, send)
