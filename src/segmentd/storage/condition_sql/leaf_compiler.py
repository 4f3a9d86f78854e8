"""What a leaf compiler takes and gives.

A compiler takes its leaf, ``ids`` = (lo, hi] when the caller already keeps ``members.id``
in that range, and ``tenant_id`` when it keeps ``members.tenant_id`` equal to it; it gives a
boolean over ``members``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ..schema import members
from ..sqlite_plans import no_index

# A range's bound: a number, or a parameter when one statement serves every range of a build.
Bound = int | ColumnElement[int]
IdRange = tuple[Bound, Bound]
LeafCompiler = Callable[[Any, IdRange | None, int | None], ColumnElement[bool]]


def in_range(column: sa.Column[Any], ids: IdRange | None) -> list[ColumnElement[bool]]:
    """Performance: the tag and campaign subqueries repeat the caller's range on their own
    member column. It selects nothing more or less, but PostgreSQL does not carry a range
    across a join, and without it a build chunk read every activity row of the campaign."""
    return [] if ids is None else [column > ids[0], column <= ids[1]]


def in_range_beside(column: sa.Column[Any], ids: IdRange | None) -> list[ColumnElement[bool]]:
    """``in_range`` for a subquery correlated on ``column`` (``column = members.id``): the
    range only for PostgreSQL. SQLite, without statistics, took it for the index's bounds
    instead of the member's id, and read the whole chunk's rows for every member (a tree with
    a tag list took minutes at 1M members)."""
    return [] if ids is None else [no_index(column) > ids[0], no_index(column) <= ids[1]]


def of_tenant(column: sa.Column[Any], tenant_id: int | None) -> ColumnElement[bool]:
    """Performance: a subquery's tenant test as a constant when the caller keeps
    ``members.tenant_id`` equal to it. Correlated to ``members.tenant_id``, PostgreSQL hashed
    a tag subquery on (tenant, member) and read the whole tag table for each build chunk,
    the tenant being no longer a constant its index could seek."""
    return column == (members.c.tenant_id if tenant_id is None else tenant_id)
