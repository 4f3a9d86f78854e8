"""The rows a build stores for one range of member ids: which members they are, in SQL, and
clearing the range before they are stored (so a repeated fill gives the same rows)."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage.compiler import compile_condition
from ..storage.condition_sql.leaf_compiler import Bound
from ..storage.id_lists import id_rows
from ..storage.schema import members, segment_exclusions, segment_members
from .interface import FillPlan, GenerationKey
from .references import PublishedReader


def clear_range(conn: Connection, claim: GenerationKey, lo: int, hi: int) -> None:
    """Delete this generation's rows in (lo, hi]."""
    sm = segment_members.c
    conn.execute(
        sa.delete(segment_members).where(
            *_generation_rows(claim, claim.generation), sm.member_id > lo, sm.member_id <= hi
        )
    )


def stored_rows(
    claim: GenerationKey,
    plan: FillPlan,
    lo: Bound,
    hi: Bound,
    excluding: bool,
    published: PublishedReader,
) -> list[sa.ColumnElement[bool]]:
    """The filter on ``members`` of the ids whose rows the generation stores in (lo, hi]: the
    members that match now, or for a complement those that do not."""
    condition = compile_condition(plan.condition, (lo, hi), claim.tenant_id, published)
    return rows_where(claim, plan.list_id, plan.complement, condition, lo, hi, excluding)


def given_rows(
    conn: Connection,
    claim: GenerationKey,
    list_id: int,
    complement: bool,
    given: Collection[int],
    lo: int,
    hi: int,
    excluding: bool,
) -> list[sa.ColumnElement[bool]]:
    """The same filter when the members that match were chosen elsewhere (the analytics
    back-end's ``given`` ids of the range): the ids travel as one parameter and the database
    expands them (``storage.id_lists``)."""
    chosen = members.c.id.in_(id_rows(conn.dialect.name, given, "given"))
    return rows_where(claim, list_id, complement, chosen, lo, hi, excluding)


def rows_where(
    claim: GenerationKey,
    list_id: int,
    complement: bool,
    condition: sa.ColumnElement[bool],
    lo: Bound,
    hi: Bound,
    excluding: bool,
) -> list[sa.ColumnElement[bool]]:
    excluded = sa.exists().where(
        segment_exclusions.c.tenant_id == members.c.tenant_id,
        segment_exclusions.c.segment_id == claim.segment_id,
        segment_exclusions.c.member_id == members.c.id,
    )
    if complement:
        # NULL is "no match" to WHERE but would stay NULL under NOT. Not coalesce(): SQLite
        # then tested every part of an "or" (3 times the time of this CASE).
        unmatched = sa.case((condition, sa.false()), else_=sa.true())
        stored = sa.or_(unmatched, excluded) if excluding else unmatched
    else:
        stored = sa.and_(condition, ~excluded if excluding else sa.true())
    return [*_in_list(claim, list_id), members.c.id > lo, members.c.id <= hi, stored]


def generation_insert(claim: GenerationKey, where: list[sa.ColumnElement[bool]]) -> sa.Insert:
    """The insert of the generation's rows for the members ``where`` selects."""
    matching = sa.select(
        members.c.tenant_id,
        sa.literal(claim.segment_number, sa.BigInteger),
        sa.literal(claim.generation, sa.BigInteger),
        members.c.id,
    ).where(*where)
    columns = ["tenant_id", "segment_number", "generation", "member_id"]
    return sa.insert(segment_members).from_select(columns, matching)


def _generation_rows(claim: GenerationKey, generation: int) -> list[sa.ColumnElement[bool]]:
    sm = segment_members.c
    return [
        sm.tenant_id == claim.tenant_id,
        sm.segment_number == claim.segment_number,
        sm.generation == generation,
    ]


def _in_list(claim: GenerationKey, list_id: int) -> list[sa.ColumnElement[bool]]:
    return [members.c.tenant_id == claim.tenant_id, members.c.list_id == list_id]
