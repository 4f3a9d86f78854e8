"""What the tag leaves ask of ``member_tags``: whether the member at hand holds rows passing
some tests (naming a tag, one of a list) and, taken together, a count.

Performance: knowing the tenant, SQLite reads the rows of the caller's id range once, on the
``(tenant_id, tag_id, member_id)`` index, and tests ``members.id IN (set)``: a correlated
subquery cost a seek per member and tag (a tag list in a tree of 15 leaves was half its
build). PostgreSQL keeps the correlated form, which it plans as a semi-join.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ..per_dialect import PerDialect
from ..schema import member_tags, members
from .leaf_compiler import IdRange, in_range, in_range_beside, of_tenant

_rows = member_tags.c


def tagged_set(
    tests: Sequence[ColumnElement[bool]],
    ids: IdRange | None,
    tenant_id: int | None,
    count_is: int | None = None,
) -> ColumnElement[bool]:
    """The member at hand has rows passing ``tests``: at least one, or exactly ``count_is``
    (the number of tags named: a member holds a tag at most once). Never NULL."""
    mine = [of_tenant(_rows.tenant_id, tenant_id), _rows.member_id == members.c.id]
    correlated = [*mine, *in_range_beside(_rows.member_id, ids), *tests]
    if count_is is None:
        joined: ColumnElement[bool] = sa.exists().where(*correlated)
    else:
        joined = sa.select(sa.func.count()).where(*correlated).scalar_subquery() == count_is
    if tenant_id is None:
        return joined
    rows = sa.select(_rows.member_id).where(
        _rows.tenant_id == tenant_id, *in_range(_rows.member_id, ids), *tests
    )
    if count_is is not None:
        rows = rows.group_by(_rows.member_id).having(sa.func.count() == count_is)
    return PerDialect(members.c.id.in_(rows), joined)
