"""Load members as the in-memory evaluator sees them (``domain.evaluator.Contact``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.evaluator import CampaignActivity, Contact
from ..domain.fields import Catalog
from ..domain.values import Typed
from .compiler import field_column
from .schema import campaign_activity, member_tags, members, tags


def load_contacts(
    conn: Connection, tenant_id: int, member_ids: Iterable[int], catalog: Catalog
) -> dict[int, Contact]:
    ids = list(member_ids)
    if not ids:
        return {}
    columns = {key: field_column(field) for key, field in catalog.fields.items()}
    rows = conn.execute(
        sa.select(members.c.id, *columns.values()).where(
            members.c.tenant_id == tenant_id, members.c.id.in_(ids)
        )
    ).all()
    tag_sets = _tags(conn, tenant_id, ids)
    activity = _activity(conn, tenant_id, ids)
    contacts = {}
    for row in rows:
        values: dict[str, Typed | None] = {
            key: row._mapping[column] for key, column in columns.items()
        }
        contacts[row.id] = Contact(values, frozenset(tag_sets[row.id]), activity[row.id])
    return contacts


def _tags(conn: Connection, tenant_id: int, ids: list[int]) -> dict[int, set[str]]:
    result: dict[int, set[str]] = defaultdict(set)
    rows = conn.execute(
        sa.select(member_tags.c.member_id, tags.c.name)
        .join(tags, sa.and_(tags.c.id == member_tags.c.tag_id, tags.c.tenant_id == tenant_id))
        .where(member_tags.c.tenant_id == tenant_id, member_tags.c.member_id.in_(ids))
    )
    for member_id, name in rows:
        result[member_id].add(name)
    return result


def _activity(
    conn: Connection, tenant_id: int, ids: list[int]
) -> dict[int, dict[int, CampaignActivity]]:
    result: dict[int, dict[int, CampaignActivity]] = defaultdict(dict)
    c = campaign_activity.c
    rows = conn.execute(
        sa.select(c.member_id, c.campaign_id, c.sent_at, c.opened_at, c.clicked_at).where(
            c.tenant_id == tenant_id, c.member_id.in_(ids)
        )
    )
    for row in rows:
        result[row.member_id][row.campaign_id] = CampaignActivity(
            sent=row.sent_at is not None,
            opened=row.opened_at is not None,
            clicked=row.clicked_at is not None,
        )
    return result
