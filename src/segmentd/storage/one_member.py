"""One member by id: where it is (its list and email, the keys of the member writes), and its
subscription given back."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.member_changes import MembersChanged
from ..timefmt import now
from . import analytics_outbox
from .schema import members
from .sqlite_plans import members_by_id
from .write_lock import lock_tenant_writes


@dataclass(frozen=True)
class MemberKey:
    id: int
    list_id: int
    email: str
    unsubscribed: bool


def member_key(conn: Connection, tenant_id: int, member_id: int) -> MemberKey | None:
    """The tenant's member ``member_id``, or None."""
    row = conn.execute(
        sa.select(members.c.list_id, members.c.email, members.c.unsubscribed_at).where(
            members_by_id(tenant_id, [member_id])
        )
    ).first()
    if row is None:
        return None
    return MemberKey(member_id, int(row.list_id), row.email, row.unsubscribed_at is not None)


def resubscribe(conn: Connection, tenant_id: int, member_id: int) -> MembersChanged:
    """Subscribe an unsubscribed member again; the members changed (none if it was not)."""
    lock_tenant_writes(conn, tenant_id)
    stamp = now()
    changed = conn.execute(
        sa.update(members)
        .where(members_by_id(tenant_id, [member_id]), members.c.unsubscribed_at.is_not(None))
        .values(unsubscribed_at=None, updated_at=stamp)
        .returning(members.c.id)
    ).scalars()
    ids = [int(member_id) for member_id in changed]
    analytics_outbox.record_members(conn, tenant_id, ids)
    return MembersChanged(ids)
