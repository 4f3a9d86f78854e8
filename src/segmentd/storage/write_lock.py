"""One writer per tenant for ingestion.

SQLite already runs one write transaction at a time (``BEGIN IMMEDIATE``). PostgreSQL does
not: two requests creating the same new member, tag or field would both pass their checks and
one would die on a unique constraint. A transaction-scoped advisory lock per tenant gives
PostgreSQL the same check-then-write safety. Take it first, before any row lock.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_NAMESPACE = 0x5E6D  # first key of the two-key advisory lock: "segmentd ingestion"


def lock_tenant_writes(conn: Connection, tenant_id: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), CAST(:tenant AS integer))"),
            {"ns": _NAMESPACE, "tenant": tenant_id},
        )
