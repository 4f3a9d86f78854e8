"""What the engagement and recency leaves ask of ``campaign_activity``: whether the member at
hand has rows recording an event (at or after a time), and whether those rows, as a group,
pass a test (how many there are).

Performance: a subquery per member (correlated) reads the member's rows on the
``(tenant_id, member_id, ...)`` index, a seek for every member a build or a preview passes
(a test of opens or of clicks alone: on that event's partial index, which holds only the
rows recording it).
Knowing the tenant, the rows are read once instead, in member order on the same index and in
the caller's id range: the members who pass, as a set. SQLite tests ``members.id IN (set)``
(the set is made once, then looked up). PostgreSQL gets ``EXISTS``, which it joins with the
set when the test stands alone, and otherwise runs per member, or looks up in the set held in
memory: an ``IN`` there would scan the whole set for each member once the set outgrows
``work_mem``. Without the tenant, a correlated subquery of the member's rows, whose range
test SQLite must not take for an index (it preferred the range to the member's id).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ...domain.campaign_events import CampaignEvent
from ..per_dialect import PerDialect
from ..schema import campaign_activity, members
from .leaf_compiler import IdRange, in_range, in_range_beside

_TIMES: dict[CampaignEvent, tuple[str, ...]] = {
    CampaignEvent.SENT: ("sent_at",),
    CampaignEvent.OPEN: ("opened_at",),
    CampaignEvent.CLICK: ("clicked_at",),
    CampaignEvent.ENGAGED: ("opened_at", "clicked_at"),
}
_rows = campaign_activity.c


def records(event: CampaignEvent, since: int | None) -> ColumnElement[bool]:
    """The row records ``event``, at ``since`` or later when given."""
    columns: list[sa.Column[Any]] = [_rows[name] for name in _TIMES[event]]
    return sa.or_(*(c.is_not(None) if since is None else c >= since for c in columns))


def has_rows(
    tests: list[ColumnElement[bool]],
    ids: IdRange | None,
    tenant_id: int | None,
    having: ColumnElement[bool] | None = None,
) -> ColumnElement[bool]:
    """The member at hand has rows passing ``tests`` and, taken together, ``having`` (an
    aggregate test such as ``count(*) >= 3``; None: at least one row). Never NULL."""
    if tenant_id is None:
        return _correlated(tests, ids, having)
    mine = [_rows.tenant_id == tenant_id, *in_range(_rows.member_id, ids), *tests]
    rows = sa.select(_rows.member_id).where(*mine)
    if having is None:
        joined = sa.exists().where(_rows.member_id == members.c.id, *mine)
        return PerDialect(members.c.id.in_(rows), joined)
    grouped = rows.group_by(_rows.member_id).having(having)
    passing = grouped.subquery("passing")
    joined = sa.exists().where(passing.c.member_id == members.c.id)
    return PerDialect(members.c.id.in_(grouped), joined)


def _correlated(
    tests: list[ColumnElement[bool]], ids: IdRange | None, having: ColumnElement[bool] | None
) -> ColumnElement[bool]:
    mine = [_rows.tenant_id == members.c.tenant_id, _rows.member_id == members.c.id]
    mine += in_range_beside(_rows.member_id, ids)
    found = sa.select(sa.literal(1)).where(*mine, *tests)
    if having is not None:
        found = found.group_by(_rows.member_id).having(having)
    return sa.exists(found)
