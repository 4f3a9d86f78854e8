"""The web UI's session: a signed cookie scoped to /ui, a session row, and CSRF tokens.

The cookie is Starlette's signed session (HttpOnly, SameSite=Lax, Secure over HTTPS). Signed
in, it holds a random session id whose digest is a row of ``ui_sessions``
(``storage.ui_sessions``): signing out deletes the row, so a copy of the cookie stops working
at once in every server process; the row expires ``SESSION_MAX_AGE`` after sign-in. The
cookie also holds a CSRF token and a fingerprint of the credential's key digest: when the key
changes or the credential goes, every session opened with it ends on its next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ...secrets import read_or_create_secret, secret_file_path
from ...settings import Settings
from ...storage.db import Database
from ...storage.ui_sessions import end_session, open_session, session_owner

UI_PREFIX = "/ui"
COOKIE_NAME = "segmentd_ui"
SESSION_MAX_AGE = 12 * 60 * 60  # a working day; then sign in again
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def session_secret(settings: Settings) -> str:
    """A key for the session cookie, derived from the server secret (never the secret itself)."""
    master = settings.secret_key or read_or_create_secret(secret_file_path(settings.database_url))
    return hmac.new(master.encode(), b"segmentd/ui-session", hashlib.sha256).hexdigest()


class UiSessionMiddleware:
    """Sessions for /ui paths only: the APIs' hot paths never parse or sign a cookie."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.secret = session_secret(settings)
        options: dict[str, Any] = {
            "secret_key": self.secret,
            "session_cookie": COOKIE_NAME,
            "max_age": SESSION_MAX_AGE,
            "path": UI_PREFIX,
            "same_site": "lax",
        }
        self.plain = SessionMiddleware(app, **options)
        self.secure = SessionMiddleware(app, https_only=True, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_ui_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["ui_session_secret"] = self.secret
        handler = self.secure if scope.get("scheme") == "https" else self.plain
        await handler(scope, receive, send)


def _is_ui_path(path: str) -> bool:
    return path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


# --- CSRF -------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (so the login form has one too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, form: FormData | None) -> bool:
    """True when the request carries the session's token, in the header (htmx) or the form."""
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if not sent and form is not None:
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return bool(expected and sent) and hmac.compare_digest(str(expected), str(sent))


# --- who is signed in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UiUser:
    tenant_id: int
    api_user: str


def _fingerprint(request: Request, key_hash: str) -> str:
    secret: str = request.scope["state"]["ui_session_secret"]
    return hmac.new(secret.encode(), key_hash.encode(), hashlib.sha256).hexdigest()[:32]


def sign_in(request: Request, db: Database, api_user: str, tenant_id: int) -> None:
    """Start a fresh session (a new CSRF token too: no fixation of a pre-login session)."""
    lang = request.session.get("lang")
    with db.write() as conn:
        session_id = open_session(conn, tenant_id, api_user, SESSION_MAX_AGE)
        owner = session_owner(conn, session_id)
    request.session.clear()
    key_hash = owner.key_hash if owner else ""
    request.session.update({"sid": session_id, "fp": _fingerprint(request, key_hash)})
    if lang:
        request.session["lang"] = lang
    csrf_token(request)


def sign_out(request: Request, db: Database) -> None:
    """End the session here and in every process (its row goes), keeping the language."""
    session_id = request.session.get("sid")
    if isinstance(session_id, str):
        with db.write() as conn:
            end_session(conn, session_id)
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang


def signed_in_user(request: Request, db: Database) -> UiUser | None:
    """The session's user while its row lasts and its credential holds the key it signed
    in with."""
    session_id, fingerprint = request.session.get("sid"), request.session.get("fp")
    if not isinstance(session_id, str) or not isinstance(fingerprint, str):
        return None
    with db.read() as conn:
        owner = session_owner(conn, session_id)
    if owner is None or not hmac.compare_digest(fingerprint, _fingerprint(request, owner.key_hash)):
        return None
    return UiUser(owner.tenant_id, owner.api_user)
