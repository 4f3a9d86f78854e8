"""Segment membership rows of a few members, read and changed in one batch for all segments.

Real-time updates touch a handful of members in many segments at once. Each step here is one
statement (or one ``executemany``) whatever the number of segments (a member change costs
its statements, not its rows): one read of the segments' generations and
builds with the members' rows and exclusions in them, then the write: on PostgreSQL one
statement for the rows, their bucket counts and the segments' ``member_total``; on SQLite,
where a statement costs no round trip, one delete, one insert, one bucket adjustment and
one ``member_total`` update.

The statements are built once. On PostgreSQL lists go as array parameters: psycopg re-parses
a statement of more than 50 parameters on every call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from ..storage import change_log
from ..storage.change_log import ENTERED, LEFT, SegmentName
from ..storage.id_lists import id_rows
from ..storage.prepared import OPTION as PREPARED
from ..storage.schema import (
    build_jobs,
    history_segments,
    segment_buckets,
    segment_exclusions,
    segment_members,
    segments,
)
from . import buckets
from .complement import build_horizon

Row = tuple[str, int, int]  # (segment id, generation, member id)
KeyedRow = tuple[int, int, int]  # (segment number, generation, member id): as stored
ACTIVE_JOB_STATES = ("queued", "running")

_TENANT: sa.BindParameter[Any] = sa.bindparam("tenant_id")
# SQLite: from this many rows on, a batch is written as a statement per generation, not a
# statement per row.
_MANY = 1_000


def _one_of(column: sa.Column[Any], name: str, postgres: bool) -> sa.ColumnElement[bool]:
    """``column IN (:name)`` for a prebuilt statement: one array parameter on PostgreSQL."""
    if postgres:
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(name, expanding=True))


@dataclass
class Current:
    """Some segments as they are now, and what some members hold in them."""

    published: dict[str, tuple[int, int]] = field(default_factory=dict)  # id: generation, status
    builds: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # id: (gen, cursor)s
    rows: set[Row] = field(default_factory=set)  # in the published and building generations
    excluded: set[tuple[str, int]] = field(default_factory=set)  # (segment id, member id)
    numbers: dict[str, int] = field(default_factory=dict)  # id: number (the stored key)
    horizons: dict[str, int] = field(default_factory=dict)  # id: the published one's horizon
    complements: set[tuple[str, int]] = field(default_factory=set)  # builds writing one
    names: dict[str, SegmentName] = field(default_factory=dict)  # what the history needs

    def horizon(self, segment_id: str, generation: int) -> int:
        """Where the generation's rows stop being its complement (``membership.complement``)."""
        if self.published.get(segment_id, (0, 0))[0] == generation:
            return self.horizons.get(segment_id, 0)
        for built, cursor in self.builds.get(segment_id, []):
            if built == generation:
                return build_horizon((segment_id, generation) in self.complements, cursor)
        return 0


@dataclass
class Changes:
    """What a batch changes: the rows written, and the members each generation gains and
    loses (the same rows for the plain form; the opposite ones for a complement)."""

    added: list[Row] = field(default_factory=list)
    removed: list[Row] = field(default_factory=list)
    joined: list[Row] = field(default_factory=list)
    left: list[Row] = field(default_factory=list)


def _current_statement(postgres: bool) -> sa.CompoundSelect:
    """The segments' generations and builds, and the members' rows and exclusions in them,
    each row marked by kind: one snapshot, one round trip."""
    s, b, sm, ex = segments.c, build_jobs.c, segment_members.c, segment_exclusions.c
    hs = history_segments.c

    def kind(name: str) -> sa.ColumnElement[Any]:
        return sa.literal_column(f"'{name}'").label("kind")

    def of_segments(column: sa.Column[Any]) -> sa.ColumnElement[bool]:
        return _one_of(column, "segment_ids", postgres)

    mine = sa.and_(s.tenant_id == _TENANT, of_segments(s.id))
    active = sa.and_(
        b.tenant_id == _TENANT, of_segments(b.segment_id), b.state.in_(ACTIVE_JOB_STATES)
    )
    published = sa.select(kind("p"), s.id, s.generation, s.status).where(mine)
    numbered = sa.select(kind("n"), s.id, s.number, s.horizon).where(mine)
    # Whether the history names the segment already (its changes are recorded by number).
    named = sa.case((hs.segment_number.is_(None), 0), else_=1)
    names = (
        sa.select(kind("h"), s.id, s.list_id, named)
        .select_from(
            segments.outerjoin(
                history_segments,
                sa.and_(hs.tenant_id == s.tenant_id, hs.segment_number == s.number),
            )
        )
        .where(mine)
    )
    building = sa.select(kind("b"), b.segment_id, b.generation, b.cursor).where(active)
    complements = sa.select(kind("c"), b.segment_id, b.generation, sa.literal_column("0")).where(
        active, b.complement
    )
    of_job = sa.and_(s.tenant_id == b.tenant_id, s.id == b.segment_id)
    live = sa.union_all(
        sa.select(s.id.label("segment_id"), s.number, s.generation).where(mine, s.generation > 0),
        sa.select(b.segment_id, s.number, b.generation)
        .join_from(build_jobs, segments, of_job)
        .where(active),
    ).subquery("live")
    # An outer join from ``live``, every condition on the members' rows in its ON clause:
    # SQLite keeps that join order, seeking each live generation's key. An inner join let
    # it start from ``segment_members`` at five segments or more and walk every row of them
    # (0.5 s for 50 segments). Generations where the members have no row come back with a
    # NULL member id.
    rows = sa.select(kind("r"), live.c.segment_id, live.c.generation, sm.member_id).select_from(
        live.outerjoin(
            segment_members,
            sa.and_(
                sm.tenant_id == _TENANT,
                sm.segment_number == live.c.number,
                sm.generation == live.c.generation,
                _one_of(sm.member_id, "member_ids", postgres),
            ),
        )
    )
    excluded = sa.select(kind("x"), ex.segment_id, sa.literal_column("0"), ex.member_id).where(
        ex.tenant_id == _TENANT,
        of_segments(ex.segment_id),
        _one_of(ex.member_id, "member_ids", postgres),
    )
    parts = (published, numbered, names, building, complements, rows, excluded)
    return sa.union_all(*parts).execution_options(**PREPARED)


_CURRENT = {postgres: _current_statement(postgres) for postgres in (False, True)}
# SQLite's write statements (PostgreSQL's is ``_WRITE_ALL``). Point deletes, run as one
# ``executemany``: a tuple IN list would not reach SQLite's primary key.
_DELETE = sa.delete(segment_members).where(
    *(
        segment_members.c[name] == sa.bindparam(f"b_{name}")
        for name in ("tenant_id", "segment_number", "generation", "member_id")
    )
)
_ADD_TO_TOTAL = (
    sa.update(segments)
    .where(segments.c.tenant_id == sa.bindparam("tenant"), segments.c.id == sa.bindparam("segment"))
    .values(member_total=segments.c.member_total + sa.bindparam("delta"))
)


def _on_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def read_current(
    conn: Connection, tenant_id: int, member_ids: Sequence[int], segment_ids: Sequence[str]
) -> Current:
    """The segments' published generation, status and builds in progress, and the members'
    rows in those generations and exclusions from those segments, and what the history
    needs of the segments: one statement, each row a seek on a primary key."""
    found = Current()
    lists: dict[str, tuple[int, int]] = {}
    params = {
        "tenant_id": tenant_id,
        "segment_ids": sorted(segment_ids),
        "member_ids": list(member_ids),
    }
    for kind, segment_id, number, value in conn.execute(_CURRENT[_on_postgres(conn)], params):
        if kind == "p":
            found.published[segment_id] = (number, value)
        elif kind == "n":
            found.numbers[segment_id] = number
            found.horizons[segment_id] = value
        elif kind == "h":
            lists[segment_id] = (number, value)
        elif kind == "b":
            found.builds.setdefault(segment_id, []).append((number, value))
        elif kind == "c":
            found.complements.add((segment_id, number))
        elif kind == "r":
            if value is not None:
                found.rows.add((segment_id, number, value))
        else:
            found.excluded.add((segment_id, value))
    found.names = {
        segment_id: SegmentName(found.numbers[segment_id], list_id, bool(named))
        for segment_id, (list_id, named) in lists.items()
        if segment_id in found.numbers
    }
    return found


def apply_changes(
    conn: Connection,
    tenant_id: int,
    changes: Changes,
    published: dict[str, int],
    numbers: dict[str, int],
    cause: str,
    names: Mapping[str, SegmentName] | None = None,
) -> None:
    """Write ``changes`` (rows that really change), keep the bucket counts and the
    ``member_total`` of each segment's ``published`` generation exact, and stage the
    published memberships that changed in the history, for ``cause``. ``numbers``: the
    segments' numbers (``Current.numbers``), their key in the rows as stored; ``names``:
    what the history needs of them (``Current.names``), if read."""
    if not (changes.added or changes.removed or changes.joined or changes.left):
        return
    _stage_history(conn, tenant_id, changes, published, cause, names)
    totals: Counter[str] = Counter(s for s, g, _ in changes.joined if published.get(s) == g)
    totals.subtract(s for s, g, _ in changes.left if published.get(s) == g)
    changed = [(s, delta) for s, delta in sorted(totals.items()) if delta]

    def keyed(rows: list[Row]) -> list[KeyedRow]:
        return [(numbers[s], g, m) for s, g, m in rows]

    adding, removing = keyed(changes.added), keyed(changes.removed)
    joined, left = keyed(changes.joined), keyed(changes.left)
    if _on_postgres(conn):
        params = _write_all_params(tenant_id, adding, removing, joined, left, changed)
        conn.execute(_WRITE_ALL, params)
        return
    if len(removing) + len(adding) >= _MANY:
        _write_many(conn, tenant_id, adding, removing)
    else:
        _write_few(conn, tenant_id, adding, removing)
    buckets.adjust(conn, tenant_id, added=joined, removed=left)
    if changed:
        conn.execute(
            _ADD_TO_TOTAL,
            [{"tenant": tenant_id, "segment": s, "delta": delta} for s, delta in changed],
        )


def _write_few(
    conn: Connection, tenant_id: int, adding: list[KeyedRow], removing: list[KeyedRow]
) -> None:
    """SQLite: a point delete and an insert per row, each as one ``executemany``."""
    if removing:
        conn.execute(
            _DELETE,
            [
                {
                    "b_tenant_id": tenant_id,
                    "b_segment_number": n,
                    "b_generation": g,
                    "b_member_id": m,
                }
                for n, g, m in removing
            ],
        )
    if adding:
        conn.execute(
            sa.insert(segment_members),
            [
                {"tenant_id": tenant_id, "segment_number": n, "generation": g, "member_id": m}
                for n, g, m in adding
            ],
        )


def _write_many(
    conn: Connection, tenant_id: int, adding: list[KeyedRow], removing: list[KeyedRow]
) -> None:
    """SQLite: the rows of each generation as one delete and one insert, the member ids one
    parameter (``storage.id_lists``): a rebuild in place moves many, whose parameters cost
    more to build row by row than the writes."""
    sm = segment_members.c
    for (number, generation), ids in _by_generation(removing).items():
        conn.execute(
            sa.delete(segment_members).where(
                sm.tenant_id == tenant_id,
                sm.segment_number == number,
                sm.generation == generation,
                sm.member_id.in_(id_rows("sqlite", ids, "ids")),
            )
        )
    for (number, generation), ids in _by_generation(adding).items():
        given = id_rows("sqlite", ids, "ids").subquery("given")
        rows = sa.select(
            sa.literal(tenant_id, sa.BigInteger),
            sa.literal(number, sa.BigInteger),
            sa.literal(generation, sa.BigInteger),
            given.c.id,
        )
        columns = ["tenant_id", "segment_number", "generation", "member_id"]
        conn.execute(sa.insert(segment_members).from_select(columns, rows))


def _by_generation(rows: list[KeyedRow]) -> dict[tuple[int, int], list[int]]:
    found: dict[tuple[int, int], list[int]] = {}
    for number, generation, member_id in rows:
        found.setdefault((number, generation), []).append(member_id)
    return found


def _stage_history(
    conn: Connection,
    tenant_id: int,
    changes: Changes,
    published: dict[str, int],
    cause: str,
    names: Mapping[str, SegmentName] | None,
) -> None:
    moved = [(s, m, ENTERED) for s, g, m in changes.joined if published.get(s) == g]
    moved += [(s, m, LEFT) for s, g, m in changes.left if published.get(s) == g]
    change_log.stage(conn, tenant_id, moved, cause, names)


def _columns(rows: Sequence[tuple[Any, ...]], names: Sequence[str]) -> dict[str, list[Any]]:
    """Rows as one list per column (``names``), the arrays ``unnest`` turns back into rows."""
    return {name: [row[k] for row in rows] for k, name in enumerate(names)}


def _write_all_params(
    tenant_id: int,
    added: Sequence[KeyedRow],
    removed: Sequence[KeyedRow],
    joined: Sequence[KeyedRow],
    left: Sequence[KeyedRow],
    changed: Sequence[tuple[str, int]],
) -> dict[str, Any]:
    return {
        "tenant": tenant_id,
        **_columns(removed, ("r_segment", "r_generation", "r_member")),
        **_columns(added, ("a_segment", "a_generation", "a_member")),
        **_columns(
            buckets.deltas(joined, left), ("c_segment", "c_generation", "c_bucket", "c_delta")
        ),
        **_columns(changed, ("t_segment", "t_delta")),
    }


def _write_all_statement() -> sa.Select[Any]:
    """PostgreSQL: the rows' deletes and inserts, their bucket counts and the segments'
    totals in one statement of data-modifying CTEs (one round trip, not four).
    Each CTE runs once, to completion, whether or not the query reads it; none touches a
    row another one does (the rows added and removed are distinct, each bucket and segment
    comes once), so the shared snapshot changes nothing."""
    sm, sb, seg = segment_members.c, segment_buckets.c, segments.c
    # Not "tenant_id": SQLAlchemy takes a parameter named as a column for a value to set.
    tenant: sa.BindParameter[int] = sa.bindparam("tenant", type_=sa.BigInteger())

    def arrays(prefix: str, **types: Any) -> Any:
        columns = [
            sa.bindparam(f"{prefix}_{name}", type_=postgresql.ARRAY(t)) for name, t in types.items()
        ]
        return sa.func.unnest(*columns).table_valued(*types).render_derived()

    text, number = segments.c.id.type, sa.BigInteger()
    gone = arrays("r", segment=number, generation=number, member=number)
    removed = sa.delete(segment_members).where(
        sm.tenant_id == tenant,
        sm.segment_number == gone.c.segment,
        sm.generation == gone.c.generation,
        sm.member_id == gone.c.member,
    )
    new = arrays("a", segment=number, generation=number, member=number)
    added = sa.insert(segment_members).from_select(
        ["tenant_id", "segment_number", "generation", "member_id"],
        sa.select(tenant, new.c.segment, new.c.generation, new.c.member),
    )
    moved = arrays("c", segment=number, generation=number, bucket=number, delta=number)
    upsert = postgresql.insert(segment_buckets).from_select(
        ["tenant_id", "segment_number", "generation", "bucket", "members"],
        sa.select(tenant, moved.c.segment, moved.c.generation, moved.c.bucket, moved.c.delta),
    )
    counted = upsert.on_conflict_do_update(
        index_elements=["tenant_id", "segment_number", "generation", "bucket"],
        set_={"members": sb.members + upsert.excluded.members},
    )
    total = arrays("t", segment=text, delta=number)
    totals = (
        sa.update(segments)
        .where(seg.tenant_id == tenant, seg.id == total.c.segment)
        .values(member_total=seg.member_total + total.c.delta)
    )
    steps = [
        statement.cte(name)
        for name, statement in (
            ("removed", removed),
            ("added", added),
            ("counted", counted),
            ("totals", totals),
        )
    ]
    return sa.select(sa.literal_column("1")).add_cte(*steps).execution_options(**PREPARED)


_WRITE_ALL = _write_all_statement()
