"""The start-up check that the server's secret opens the site tokens and webhook secrets
sealed in the database: a server or worker with another secret would answer every look-up
with a bad token, and could sign no webhook."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..secrets import SealError, SecretMismatch, secret_file_path, token_keys
from ..settings import Settings
from .db import Database
from .schema import lists, webhooks


def verify_secret(db: Database, settings: Settings) -> None:
    """``check_secret`` in a read transaction of its own (a server's or worker's start)."""
    with db.read() as conn:
        check_secret(conn, settings)


def check_secret(conn: Connection, settings: Settings) -> None:
    """Raise ``SecretMismatch`` unless the secret opens a sealed token and a sealed webhook
    secret of the database (a read and a decryption each; a database without them passes)."""
    keys = token_keys(settings)
    sealed = conn.execute(
        sa.select(lists.c.id, lists.c.token_sealed)
        .where(lists.c.token_sealed.is_not(None))
        .order_by(lists.c.id)
        .limit(1)
    ).first()
    hook = conn.execute(
        sa.select(webhooks.c.id, webhooks.c.secret_sealed).order_by(webhooks.c.id).limit(1)
    ).first()
    try:
        if sealed is not None:
            keys.unseal(sealed.token_sealed, sealed.id)
        if hook is not None:
            keys.unseal_webhook_secret(hook.secret_sealed, hook.id)
    except SealError:
        where = (
            "SEGMENTD_SECRET_KEY"
            if settings.secret_key
            else f"the secret file {secret_file_path(settings.database_url)}"
        )
        raise SecretMismatch(
            "the site tokens or webhook secrets in this database were sealed with another "
            f"secret than {where}: set SEGMENTD_SECRET_KEY to the secret that sealed them "
            "(see docs/sites.md), or rotate every site token and webhook secret"
        ) from None
