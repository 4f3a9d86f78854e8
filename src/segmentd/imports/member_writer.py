"""Write one chunk of checked member rows, set-based, in the caller's transaction.

Rows of a chunk have distinct emails and tcids (the runner starts a new chunk on a repeat),
so one statement can upsert them all by (tenant, list, email_key), and running a chunk twice
leaves the same state: the write is idempotent.

- SQLite: ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE`` with only the columns in use.
- PostgreSQL: ``COPY`` into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT``
  (the unique index finds the existing members: no planner choice on a table whose statistics
  lag a big import); the tags of new members by ``COPY`` straight into ``member_tags``.

A blank cell leaves the stored value: updates keep ``COALESCE(new, old)``. Tags follow
EngageLab's ``tag_flag`` for existing members; new members always get theirs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage.members import TagFlag
from ..storage.schema import member_tags, members
from ..storage.tags import ensure_tags
from .member_rows import MemberLayout, MemberRow
from .sqlsets import copy_rows, is_sqlite, one_of

# Always set on update; every other column keeps its value when the cell was blank.
_ALWAYS = frozenset({"email", "email_key", "domain"})


SQLITE_CACHE_KIB = 64 * 1024


def _pg_type(column: str) -> str:
    """Slot ``n<k>`` columns hold doubles; every other column an import writes is text."""
    return "double precision" if column[0] == "n" and column[1:].isdigit() else "text"


@dataclass
class ChunkCounts:
    created: int = 0
    updated: int = 0
    skipped: int = 0  # existing members left alone (update_existing false)


@dataclass(frozen=True)
class Upserted:
    ids: dict[str, int]  # email_key -> member id, of every row written
    created: set[str]  # email_keys of the members this chunk created


def tcid_conflicts(
    conn: Connection, tenant_id: int, list_id: int, rows: Sequence[MemberRow]
) -> set[int]:
    """Positions of rows whose tcid already belongs to another member of the list."""
    wanted = [row.tcid for row in rows if row.tcid is not None]
    if not wanted:
        return set()
    owners = dict(
        conn.execute(
            sa.select(members.c.tcid, members.c.email_key).where(
                members.c.tenant_id == tenant_id,
                members.c.list_id == list_id,
                one_of(conn, members.c.tcid, wanted),
            )
        ).all()
    )
    return {
        i
        for i, row in enumerate(rows)
        if row.tcid is not None and owners.get(row.tcid, row.key) != row.key
    }


def write_members(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    layout: MemberLayout,
    rows: Sequence[MemberRow],
    *,
    tag_flag: TagFlag,
    update_existing: bool,
    stamp: int,
) -> ChunkCounts:
    if not rows:
        return ChunkCounts()
    upsert = _upsert_sqlite if is_sqlite(conn) else _upsert_postgresql
    done = upsert(conn, tenant_id, list_id, layout, rows, update_existing, stamp)
    _write_tags(conn, tenant_id, rows, done, tag_flag)
    created = len(done.created)
    updated = len(done.ids) - created
    return ChunkCounts(created, updated, len(rows) - created - updated)


def _set_clause(layout: MemberLayout) -> str:
    sets = [f"{c} = excluded.{c}" for c in layout.columns if c in _ALWAYS and c != "email_key"]
    sets += [
        f"{c} = COALESCE(excluded.{c}, members.{c})" for c in layout.columns if c not in _ALWAYS
    ]
    sets.append("updated_at = excluded.updated_at")
    return ", ".join(sets)


def _on_conflict(layout: MemberLayout, update_existing: bool) -> str:
    target = "ON CONFLICT (tenant_id, list_id, email_key) DO"
    return f"{target} UPDATE SET {_set_clause(layout)}" if update_existing else f"{target} NOTHING"


def _ids_sqlite(conn: Connection, tenant_id: int, list_id: int, keys: list[str]) -> dict[str, int]:
    """Member ids by email key (the driver's own cursor: a chunk's rows come back faster)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    found = raw.execute(
        "SELECT email_key, id FROM members WHERE tenant_id = ? AND list_id = ? "
        "AND email_key IN (SELECT value FROM json_each(?))",
        (tenant_id, list_id, json.dumps(keys)),
    ).fetchall()
    return dict(found)


def _upsert_sqlite(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    layout: MemberLayout,
    rows: Sequence[MemberRow],
    update_existing: bool,
    stamp: int,
) -> Upserted:
    keys = [row.key for row in rows]
    # A chunk touches index pages all over: a bigger page cache for this (pooled) connection.
    conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    # Ids only grow and this transaction is the only writer: new members are those above.
    highest = int(conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM members").scalar_one())
    columns = ("tenant_id", "list_id", *layout.columns, "created_at", "updated_at")
    marks = ", ".join("?" * len(columns))
    sql = (
        f"INSERT INTO members ({', '.join(columns)}) VALUES ({marks}) "
        f"{_on_conflict(layout, update_existing)}"
    )
    head, tail = (tenant_id, list_id), (stamp, stamp)
    conn.exec_driver_sql(sql, [head + row.values + tail for row in rows])
    raw = conn.connection.driver_connection
    assert raw is not None
    # Only this statement added rows above ``highest``: a range scan finds the new members.
    fresh = dict(raw.execute("SELECT email_key, id FROM members WHERE id > ?", (highest,)))
    known = [key for key in keys if key not in fresh] if update_existing else []
    written = {**fresh, **_ids_sqlite(conn, tenant_id, list_id, known)} if known else fresh
    return Upserted(written, set(fresh))


def _upsert_postgresql(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    layout: MemberLayout,
    rows: Sequence[MemberRow],
    update_existing: bool,
    stamp: int,
) -> Upserted:
    typed = ", ".join(f"{column} {_pg_type(column)}" for column in layout.columns)
    conn.exec_driver_sql(f"CREATE TEMP TABLE import_members ({typed}) ON COMMIT DROP")
    copy_rows(conn, "import_members", layout.columns, (row.values for row in rows))
    names = ", ".join(layout.columns)
    returned = conn.execute(
        sa.text(
            f"INSERT INTO members (tenant_id, list_id, {names}, created_at, updated_at) "
            f"SELECT :tenant_id, :list_id, {names}, :stamp, :stamp FROM import_members "
            f"{_on_conflict(layout, update_existing)} "
            "RETURNING email_key, id, (xmax = 0) AS inserted"
        ),
        {"tenant_id": tenant_id, "list_id": list_id, "stamp": stamp},
    ).all()
    ids = {key: int(member_id) for key, member_id, _ in returned}
    return Upserted(ids, {key for key, _, inserted in returned if inserted})


def _write_tags(
    conn: Connection,
    tenant_id: int,
    rows: Sequence[MemberRow],
    done: Upserted,
    flag: TagFlag,
) -> None:
    """Attach tags: new members get theirs; existing ones as ``flag`` says."""
    tagged = [
        row
        for row in rows
        if row.tags is not None
        and row.key in done.ids
        and (row.key in done.created or flag is not TagFlag.KEEP)
    ]
    if not tagged:
        return
    tag_ids = ensure_tags(conn, tenant_id, {name for row in tagged for name in row.tags or ()})
    if flag is TagFlag.OVERWRITE:
        replaced = [done.ids[row.key] for row in tagged if row.key not in done.created]
        if replaced:
            conn.execute(
                sa.delete(member_tags).where(
                    member_tags.c.tenant_id == tenant_id,
                    one_of(conn, member_tags.c.member_id, replaced),
                )
            )
    pairs = [
        (tenant_id, done.ids[row.key], tag_ids[name]) for row in tagged for name in row.tags or ()
    ]
    if is_sqlite(conn):
        conn.exec_driver_sql(
            "INSERT INTO member_tags (tenant_id, member_id, tag_id) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            pairs,
        )
        return
    # A member this chunk created has no tags yet: its pairs go straight in by COPY (a row's
    # tag names are distinct). Existing members may hold some already: merged ON CONFLICT.
    columns = ("tenant_id", "member_id", "tag_id")
    fresh = {done.ids[key] for key in done.created}
    copy_rows(conn, "member_tags", columns, [pair for pair in pairs if pair[1] in fresh])
    merged = [pair for pair in pairs if pair[1] not in fresh]
    if not merged:
        return
    conn.exec_driver_sql(
        "CREATE TEMP TABLE import_tags (tenant_id bigint, member_id bigint, tag_id bigint) "
        "ON COMMIT DROP"
    )
    copy_rows(conn, "import_tags", columns, merged)
    conn.exec_driver_sql(
        "INSERT INTO member_tags (tenant_id, member_id, tag_id) "
        "SELECT tenant_id, member_id, tag_id FROM import_tags ON CONFLICT DO NOTHING"
    )
