"""One member by id: where it is (its list and email, the keys of the member writes), its
subscription given back, and its email changed."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.conditions import Inputs
from ..domain.emails import email_domain, email_key, email_problem
from ..domain.errors import DomainValidationError
from ..domain.fields import SystemField
from ..domain.member_changes import Change, MembersChanged
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


# What an email change moves: the address, its domain and the member's update time.
_EMAIL_INPUTS = Inputs(
    fields=frozenset(
        f.casefold() for f in (SystemField.EMAIL, SystemField.DOMAIN, SystemField.UPDATE_TIME)
    )
)


def change_email(conn: Connection, tenant_id: int, key: MemberKey, email: str) -> MembersChanged:
    """Give the member ``key`` another email, unique in its list as the member writes keep
    them (in any letter case); the member changed, for the memberships (none when it is the
    same address)."""
    lock_tenant_writes(conn, tenant_id)
    problem = email_problem(email)
    if problem:
        raise DomainValidationError("email", problem)
    if email == key.email:
        return MembersChanged([])
    folded = email_key(email)
    holder = conn.execute(
        sa.select(members.c.id).where(
            members.c.tenant_id == tenant_id,
            members.c.list_id == key.list_id,
            members.c.email_key == folded,
            members.c.id != key.id,
        )
    ).scalar()
    if holder is not None:
        raise DomainValidationError(
            "email", f"{email} is the email of member {holder} of this list"
        )
    conn.execute(
        sa.update(members)
        .where(members_by_id(tenant_id, [key.id]))
        .values(email=email, email_key=folded, domain=email_domain(email), updated_at=now())
    )
    analytics_outbox.record_members(conn, tenant_id, [key.id])
    return MembersChanged([key.id], list_id=key.list_id, changes={key.id: Change(_EMAIL_INPUTS)})
