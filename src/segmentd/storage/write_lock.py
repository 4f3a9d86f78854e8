"""One writer per tenant for ingestion.

SQLite already runs one write transaction at a time (``BEGIN IMMEDIATE``). PostgreSQL does
not: two requests creating the same new member, tag or field would both pass their checks and
one would die on a unique constraint. Locking the tenant's row for the transaction gives
PostgreSQL the same check-then-write safety. Take it first, before any row lock.

The lock is a ``SELECT ... FOR UPDATE`` of what a writer reads next anyway, so it costs no
round trip of its own. A writer that waited for the lock gets the row as the
previous writer left it (PostgreSQL re-reads a row it waited for), so its catalog version is
current; the default list is set with the tenant and never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import transaction_ids
from .prepared import OPTION as PREPARED
from .schema import lists, tenants

_TENANT: sa.BindParameter[Any] = sa.bindparam("tenant_id")
_DEFAULT_LIST = (
    sa.select(lists.c.id)
    .where(lists.c.tenant_id == _TENANT, lists.c.is_default)
    .scalar_subquery()
    .label("default_list_id")
)
_LOCK = (
    sa.select(tenants.c.catalog_version, _DEFAULT_LIST)
    .where(tenants.c.id == _TENANT)
    .with_for_update(of=tenants)
)
# PostgreSQL: the row lock gives the transaction its id; read here, COMMIT needs no round trip
# to ask for it (``transaction_ids``).
_LOCK_WITH_ID = _LOCK.add_columns(
    sa.cast(sa.func.pg_current_xact_id(), sa.Text).label("xid")
).execution_options(**PREPARED)


@dataclass(frozen=True)
class TenantLock:
    """What the lock read: the tenant's catalog version and default list (None: no tenant)."""

    catalog_version: int | None = None
    default_list_id: int | None = None


def lock_tenant_writes(conn: Connection, tenant_id: int) -> TenantLock:
    postgres = conn.dialect.name == "postgresql"
    row = conn.execute(_LOCK_WITH_ID if postgres else _LOCK, {"tenant_id": tenant_id}).first()
    if row is None:
        return TenantLock()
    if postgres:
        transaction_ids.remember(conn, row.xid)
    default = None if row.default_list_id is None else int(row.default_list_id)
    return TenantLock(int(row.catalog_version), default)
