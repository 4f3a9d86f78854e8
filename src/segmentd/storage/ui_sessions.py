"""Signed-in UI sessions: a random id given to the browser, its SHA-256 digest stored.

The id has 256 random bits, so a plain digest suffices (as for API keys): a leaked table
opens no session. Signing out deletes the row, which ends the session in every process;
expired rows are deleted whenever a session opens or ends.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..timefmt import now
from .schema import credentials, ui_sessions


class SessionOwner(NamedTuple):
    tenant_id: int
    api_user: str
    key_hash: str  # the credential's key digest now (it changes when the key is replaced)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(conn: Connection, tenant_id: int, api_user: str, lifetime: int) -> str:
    """A new session of ``api_user`` for ``lifetime`` seconds; returns its id."""
    _forget_expired(conn)
    session_id = secrets.token_urlsafe(32)
    started = now()
    conn.execute(
        sa.insert(ui_sessions).values(
            id_hash=_digest(session_id),
            tenant_id=tenant_id,
            api_user=api_user,
            created_at=started,
            expires_at=started + lifetime,
        )
    )
    return session_id


def session_owner(conn: Connection, session_id: str) -> SessionOwner | None:
    """Who the session belongs to while it lasts and its credential exists; else None."""
    row = conn.execute(
        sa.select(ui_sessions.c.tenant_id, ui_sessions.c.api_user, credentials.c.key_hash)
        .join(
            credentials,
            sa.and_(
                credentials.c.api_user == ui_sessions.c.api_user,
                credentials.c.tenant_id == ui_sessions.c.tenant_id,
            ),
        )
        .where(ui_sessions.c.id_hash == _digest(session_id), ui_sessions.c.expires_at > now())
    ).first()
    return SessionOwner(int(row.tenant_id), str(row.api_user), str(row.key_hash)) if row else None


def end_session(conn: Connection, session_id: str) -> None:
    conn.execute(sa.delete(ui_sessions).where(ui_sessions.c.id_hash == _digest(session_id)))
    _forget_expired(conn)


def end_user_sessions(conn: Connection, tenant_id: int, api_user: str) -> int:
    """End every session of ``api_user`` (its key was replaced); returns how many."""
    done = conn.execute(
        sa.delete(ui_sessions).where(
            ui_sessions.c.tenant_id == tenant_id, ui_sessions.c.api_user == api_user
        )
    )
    return int(done.rowcount or 0)


def _forget_expired(conn: Connection) -> None:
    conn.execute(sa.delete(ui_sessions).where(ui_sessions.c.expires_at <= now()))
