"""Load members as the in-memory evaluator sees them (``domain.evaluator.Contact``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.contact import CampaignActivity, Contact
from ..domain.fields import Catalog
from ..domain.values import Typed
from .member_columns import field_column
from .schema import campaign_activity, member_tags, members, tags
from .sqlite_plans import members_by_id


def load_contacts(
    conn: Connection,
    tenant_id: int,
    member_ids: Iterable[int],
    catalog: Catalog,
    *,
    with_tags: bool = True,
    with_activity: bool = True,
    known: Mapping[int, Mapping[str, Typed | None]] | None = None,
) -> dict[int, Contact]:
    """The members as the evaluator sees them; without tags or campaign activity when the
    conditions to evaluate test none (a query each saved). ``known``: field values of some
    members the caller already read in this transaction (by field key); only the others'
    are read."""
    ids = list(member_ids)
    if not ids:
        return {}
    values = {m: known[m] for m in ids if m in known} if known else {}
    unread = [m for m in ids if m not in values]
    if unread:
        columns = {key: field_column(field) for key, field in catalog.fields.items()}
        statement = _members_statement(tuple(column.name for column in columns.values()))
        for row in conn.execute(statement, {"tenant_id": tenant_id, "ids": unread}):
            values[row.id] = {key: row._mapping[column] for key, column in columns.items()}
    tag_sets = _tags(conn, tenant_id, ids) if with_tags else defaultdict(set)
    activity = _activity(conn, tenant_id, ids) if with_activity else defaultdict(dict)
    return {m: Contact(found, frozenset(tag_sets[m]), activity[m]) for m, found in values.items()}


# Built once: every member change runs them, and building costs more than running.
_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
_TENANT: sa.BindParameter[Any] = sa.bindparam("tenant_id")
_TAGS = (
    sa.select(member_tags.c.member_id, tags.c.name)
    .join(tags, sa.and_(tags.c.id == member_tags.c.tag_id, tags.c.tenant_id == _TENANT))
    .where(member_tags.c.tenant_id == _TENANT, member_tags.c.member_id.in_(_IDS))
)
_ACTIVITY = sa.select(
    campaign_activity.c.member_id,
    campaign_activity.c.campaign_id,
    campaign_activity.c.sent_at,
    campaign_activity.c.opened_at,
    campaign_activity.c.clicked_at,
).where(campaign_activity.c.tenant_id == _TENANT, campaign_activity.c.member_id.in_(_IDS))


@lru_cache(maxsize=256)
def _members_statement(names: tuple[str, ...]) -> sa.Select[Any]:
    """The members' columns of a catalog's fields; one statement per set of columns."""
    chosen = [members.c[name] for name in dict.fromkeys(names)]
    return sa.select(members.c.id, *chosen).where(members_by_id(_TENANT, _IDS))


def _tags(conn: Connection, tenant_id: int, ids: list[int]) -> dict[int, set[str]]:
    result: dict[int, set[str]] = defaultdict(set)
    for member_id, name in conn.execute(_TAGS, {"tenant_id": tenant_id, "ids": ids}):
        result[member_id].add(name)
    return result


def _activity(
    conn: Connection, tenant_id: int, ids: list[int]
) -> dict[int, dict[int, CampaignActivity]]:
    result: dict[int, dict[int, CampaignActivity]] = defaultdict(dict)
    for row in conn.execute(_ACTIVITY, {"tenant_id": tenant_id, "ids": ids}):
        result[row.member_id][row.campaign_id] = CampaignActivity(
            row.sent_at, row.opened_at, row.clicked_at
        )
    return result
