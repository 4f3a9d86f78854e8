"""Filling a range of a generation with members computed elsewhere (the analytics back-end
answered the condition for this range): the list's members in (lo, hi] among them, or for a
complement those not among them, less the members removed by hand. Safe to repeat, as every
fill."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage.schema import members, segment_exclusions, segment_members
from .interface import GenerationKey
from .stored_ids import store_ids


def fill_range(
    conn: Connection,
    claim: GenerationKey,
    list_id: int,
    complement: bool,
    given: frozenset[int],
    lo: int,
    hi: int,
) -> None:
    sm = segment_members.c
    conn.execute(
        sa.delete(segment_members).where(
            sm.tenant_id == claim.tenant_id,
            sm.segment_number == claim.segment_number,
            sm.generation == claim.generation,
            sm.member_id > lo,
            sm.member_id <= hi,
        )
    )
    listed = _ids(
        conn,
        sa.select(members.c.id).where(
            members.c.tenant_id == claim.tenant_id,
            members.c.list_id == list_id,
            members.c.id > lo,
            members.c.id <= hi,
        ),
    )
    ex = segment_exclusions.c
    excluded = _ids(
        conn,
        sa.select(ex.member_id).where(
            ex.tenant_id == claim.tenant_id,
            ex.segment_id == claim.segment_id,
            ex.member_id > lo,
            ex.member_id <= hi,
        ),
    )
    matching = {m for m in listed if m in given and m not in excluded}
    stored = sorted(listed - matching if complement else matching)
    store_ids(conn, claim, stored)


def _ids(conn: Connection, query: sa.Select[Any]) -> set[int]:
    return {int(i) for i in conn.execute(query).scalars()}
