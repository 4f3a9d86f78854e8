"""Write one chunk of checked member rows, set-based, in the caller's transaction.

Rows of a chunk have distinct emails and tcids (the runner starts a new chunk on a repeat),
so one statement can upsert them all by (tenant, list, email_key), and running a chunk twice
leaves the same state: the write is idempotent.

- SQLite: ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE`` with only the columns in use.
- PostgreSQL: the rows come as ``COPY`` text, formatted by the process that checked them
  (``member_rows.copy_member``). They go into temporary tables; one ``INSERT ... SELECT ...
  ON CONFLICT`` writes the members (the unique index finds the existing ones: no planner
  choice on a table whose statistics lag a big import) and keeps their ids, and the tags
  follow by joins in the database. This process only sends bytes, so it and the server do
  not take turns.

A blank cell leaves the stored value: updates keep ``COALESCE(new, old)``. Tags follow
EngageLab's ``tag_flag`` for existing members; new members always get theirs. A row's own
tags are at most ``MAX_TAGS_PER_MEMBER`` (checked with the row); appending to an existing
member's can go beyond, which only the database can tell: then ``TooManyTags`` names those
members, and the caller writes the chunk again without them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage import analytics_outbox
from ..storage.members import TagFlag
from ..storage.schema import member_tags, members
from ..storage.tags import MAX_TAGS_PER_MEMBER, ensure_tags
from .csv_member_rows import CopyMember, MemberLayout, MemberRow
from .sqlsets import copy_data, is_sqlite, one_of

# Always set on update; every other column keeps its value when the cell was blank.
_ALWAYS = frozenset({"email", "email_key", "domain"})


SQLITE_CACHE_KIB = 64 * 1024


def _pg_type(column: str) -> str:
    """Slot ``n<k>`` columns hold doubles; every other column an import writes is text."""
    return "double precision" if column[0] == "n" and column[1:].isdigit() else "text"


class TooManyTags(Exception):
    """Appending would give these members (email keys) more than MAX_TAGS_PER_MEMBER tags."""

    def __init__(self, keys: set[str]) -> None:
        super().__init__(f"{len(keys)} members would have too many tags")
        self.keys = keys


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
    rows: Sequence[MemberRow] | Sequence[CopyMember],
    *,
    tag_flag: TagFlag,
    update_existing: bool,
    stamp: int,
) -> ChunkCounts:
    """Rows as the plan's rules check them: ``MemberRow`` on SQLite, ``CopyMember`` on
    PostgreSQL."""
    if not rows:
        return ChunkCounts()
    if not is_sqlite(conn):
        copied = cast(Sequence[CopyMember], rows)
        return _write_postgresql(
            conn, tenant_id, list_id, layout, copied, tag_flag, update_existing, stamp
        )
    checked = cast(Sequence[MemberRow], rows)
    done = _upsert_sqlite(conn, tenant_id, list_id, layout, checked, update_existing, stamp)
    _write_tags_sqlite(conn, tenant_id, checked, done, tag_flag)
    analytics_outbox.record_members(conn, tenant_id, done.ids.values())
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


def _write_tags_sqlite(
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
    if pairs:  # none when every tags cell names no tag (an empty list: it only clears)
        conn.exec_driver_sql(
            "INSERT INTO member_tags (tenant_id, member_id, tag_id) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            pairs,
        )
    if flag is TagFlag.APPEND:
        appended = {done.ids[row.key]: row.key for row in tagged if row.key not in done.created}
        if appended:
            _check_tag_counts_sqlite(conn, tenant_id, appended)


def _check_tag_counts_sqlite(conn: Connection, tenant_id: int, ids: dict[int, str]) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    over = raw.execute(
        "SELECT member_id FROM member_tags WHERE tenant_id = ? "
        "AND member_id IN (SELECT value FROM json_each(?)) "
        "GROUP BY member_id HAVING count(*) > ?",
        (tenant_id, json.dumps(list(ids)), MAX_TAGS_PER_MEMBER),
    ).fetchall()
    if over:
        raise TooManyTags({ids[member_id] for (member_id,) in over})


def _write_postgresql(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    layout: MemberLayout,
    rows: Sequence[CopyMember],
    tag_flag: TagFlag,
    update_existing: bool,
    stamp: int,
) -> ChunkCounts:
    typed = ", ".join(f"{column} {_pg_type(column)}" for column in layout.columns)
    conn.exec_driver_sql(f"CREATE TEMP TABLE import_members ({typed}) ON COMMIT DROP")
    copy_data(conn, "import_members", layout.columns, b"".join(row.line for row in rows))
    # The written members' ids, for their tags: kept in the database, never sent here.
    conn.exec_driver_sql(
        "CREATE TEMP TABLE import_written (id bigint, email_key text, inserted boolean) "
        "ON COMMIT DROP"
    )
    names = ", ".join(layout.columns)
    created, written = conn.execute(
        sa.text(
            "WITH written AS ("
            f"INSERT INTO members (tenant_id, list_id, {names}, created_at, updated_at) "
            f"SELECT :tenant_id, :list_id, {names}, :stamp, :stamp FROM import_members "
            f"{_on_conflict(layout, update_existing)} "
            "RETURNING id, email_key, (xmax = 0) AS inserted), "
            "kept AS (INSERT INTO import_written SELECT id, email_key, inserted FROM written "
            "RETURNING inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FROM kept"
        ),
        {"tenant_id": tenant_id, "list_id": list_id, "stamp": stamp},
    ).one()
    written_ids = sa.select(sa.table("import_written", sa.column("id")).c.id)
    analytics_outbox.record_members_of(conn, tenant_id, written_ids)
    tagged = [row for row in rows if row.tags is not None]
    if tagged:
        _write_tags_postgresql(
            conn, tenant_id, tagged, tag_flag, fresh=created, known=written - created
        )
    return ChunkCounts(created, written - created, len(rows) - written)


# The tag links of the written members: ``import_tags`` (email_key, tag) joined to their ids.
_LINKS = (
    "INSERT INTO member_tags (tenant_id, member_id, tag_id) "
    "SELECT :tenant_id, w.id, t.id FROM import_tags i "
    "JOIN import_written w ON w.email_key = i.email_key "
    "JOIN tags t ON t.tenant_id = :tenant_id AND t.name = i.tag "
)


def _write_tags_postgresql(
    conn: Connection,
    tenant_id: int,
    rows: Sequence[CopyMember],
    flag: TagFlag,
    fresh: int,
    known: int,
) -> None:
    """New members get their tags; existing ones as ``flag`` says."""
    conn.exec_driver_sql("CREATE TEMP TABLE import_tags (email_key text, tag text) ON COMMIT DROP")
    copy_data(conn, "import_tags", ("email_key", "tag"), b"".join(row.tag_lines for row in rows))
    ensure_tags(conn, tenant_id, {name for row in rows for name in row.tags or ()})
    params = {"tenant_id": tenant_id}
    if fresh:
        # A new member has no tags yet and a row's names are distinct: no conflict to check.
        conn.execute(sa.text(_LINKS + "WHERE w.inserted"), params)
    if not known or flag is TagFlag.KEEP:
        return
    if flag is TagFlag.OVERWRITE:
        conn.execute(
            sa.text(
                "DELETE FROM member_tags m USING import_written w "
                "WHERE m.tenant_id = :tenant_id AND m.member_id = w.id AND NOT w.inserted "
                "AND w.email_key IN (SELECT email_key FROM import_tags)"
            ),
            params,
        )
    conn.execute(sa.text(_LINKS + "WHERE NOT w.inserted ON CONFLICT DO NOTHING"), params)
    if flag is TagFlag.APPEND:
        over = conn.execute(
            sa.text(
                "SELECT w.email_key FROM import_written w JOIN member_tags m "
                "ON m.tenant_id = :tenant_id AND m.member_id = w.id "
                "WHERE NOT w.inserted AND w.email_key IN (SELECT email_key FROM import_tags) "
                "GROUP BY w.email_key HAVING count(*) > :limit"
            ),
            {**params, "limit": MAX_TAGS_PER_MEMBER},
        ).scalars()
        keys = set(over)
        if keys:
            raise TooManyTags(keys)
