"""PostgreSQL: one existing member updated by its email in one statement that returns its
columns as they were and as they are now.

An upsert of one existing member read the member (its id and the columns conditions read)
and then updated it: two round trips. The update reads the row itself here, in a subquery
of its own statement, which sees the row as it was before the update. The tenant's write
lock, taken before, keeps any other writer of the member out, so the values before are the
ones the member's memberships were last computed from. SQLite cannot return a joined
table's columns from an ``UPDATE``, and a statement costs it no round trip: it keeps the
read and the update.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import members

Updated = tuple[int, dict[str, Any], dict[str, Any]]  # id, the columns before, after


def update_by_email(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    key: str,
    changes: Mapping[str, Any],
    returned: tuple[str, ...],
) -> Updated | None:
    """Set ``changes`` (column: value) on the list's member whose email key is ``key``; its
    id and its ``returned`` columns before and after, or None when there is no such member
    (nothing written)."""
    params = {"b_tenant_id": tenant_id, "b_list_id": list_id, "b_key": key}
    params.update({f"new_{column}": value for column, value in changes.items()})
    row = conn.execute(_statement(tuple(sorted(changes)), returned), params).first()
    if row is None:
        return None
    found = row._mapping
    before = {name: found[f"old_{name}"] for name in returned}
    after = {name: found[f"new_{name}"] for name in returned}
    return int(found["member_id"]), before, after


@lru_cache(maxsize=256)
def _statement(columns: tuple[str, ...], returned: tuple[str, ...]) -> sa.Update:
    """Built once per set of columns set and returned: building costs more than running."""
    tenant: sa.BindParameter[Any] = sa.bindparam("b_tenant_id")
    old = (
        sa.select(members.c.id.label("member_id"), *(members.c[name] for name in returned))
        .where(
            members.c.tenant_id == tenant,
            members.c.list_id == sa.bindparam("b_list_id"),
            members.c.email_key == sa.bindparam("b_key"),
        )
        .subquery("old")
    )
    return (
        sa.update(members)
        .where(members.c.tenant_id == tenant, members.c.id == old.c.member_id)
        .values({column: sa.bindparam(f"new_{column}") for column in columns})
        .returning(
            old.c.member_id,
            *(old.c[name].label(f"old_{name}") for name in returned),
            *(members.c[name].label(f"new_{name}") for name in returned),
        )
    )
