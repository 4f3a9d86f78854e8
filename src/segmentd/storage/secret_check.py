"""The start-up check that the server's secret opens the site tokens sealed in the database:
a server or worker with another secret would answer every look-up with a bad token."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..secrets import SealError, SecretMismatch, secret_file_path, token_keys
from ..settings import Settings
from .db import Database
from .schema import lists


def verify_secret(db: Database, settings: Settings) -> None:
    """``check_secret`` in a read transaction of its own (a server's or worker's start)."""
    with db.read() as conn:
        check_secret(conn, settings)


def check_secret(conn: Connection, settings: Settings) -> None:
    """Raise ``SecretMismatch`` unless the secret opens a sealed token of the database (one
    primary-key read and one decryption; a database without tokens passes)."""
    sealed = conn.execute(
        sa.select(lists.c.id, lists.c.token_sealed)
        .where(lists.c.token_sealed.is_not(None))
        .order_by(lists.c.id)
        .limit(1)
    ).first()
    if sealed is None:
        return
    try:
        token_keys(settings).unseal(sealed.token_sealed, sealed.id)
    except SealError:
        where = (
            "SEGMENTD_SECRET_KEY"
            if settings.secret_key
            else f"the secret file {secret_file_path(settings.database_url)}"
        )
        raise SecretMismatch(
            f"the site tokens in this database were sealed with another secret than {where}: "
            "set SEGMENTD_SECRET_KEY to the secret that sealed them (see docs/sites.md), "
            "or rotate every site token"
        ) from None
