"""Members: upsert by email, delete, unsubscribe, page.

Every write runs in the caller's transaction and holds the tenant's ingestion lock. A write
returns what it changed (``MembersChanged``): the caller (``services.member_service``) brings the
segment memberships up to date with it in the same transaction, so they are never behind
the members they describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.conditions import Inputs
from ..domain.emails import email_key
from ..domain.fields import Catalog
from ..domain.member_changes import Change, MembersChanged
from ..timefmt import now
from . import analytics_outbox
from .catalog import load_catalog
from .member_columns import field_column
from .member_input import MemberInput, RowProblem, check_row
from .member_update import update_by_email
from .schema import (
    campaign_activity,
    member_tags,
    members,
    segment_exclusions,
    tags,
)
from .sqlite_plans import members_by_id
from .tags import MAX_TAGS_PER_MEMBER, TOO_MANY_TAGS, ensure_tags
from .write_lock import lock_tenant_writes

MAX_MEMBERS_PER_CALL = 1000
_IN_CHUNK = 500


class TagFlag(IntEnum):
    """What an upsert does with an existing member's tags."""

    OVERWRITE = 0  # the given list replaces them ([] clears; null leaves them)
    APPEND = 1  # the given tags are added
    KEEP = 2  # existing members' tags never change


@dataclass(frozen=True)
class RowError:
    index: int
    email: str | None
    message: str


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + _IN_CHUNK] for i in range(0, len(items), _IN_CHUNK)]


def upsert_members(
    conn: Connection,
    tenant_id: int,
    list_id: int | None,
    rows: Sequence[Any],
    *,
    update_existing: bool,
    tag_flag: TagFlag,
) -> tuple[UpsertResult, MembersChanged]:
    """Create or update members by email in ``list_id`` (None: the tenant's default list).
    Bad rows are reported by index; the rest are stored. Returns the result and the change
    for the memberships."""
    locked = lock_tenant_writes(conn, tenant_id)
    if list_id is None:
        assert locked.default_list_id is not None, f"tenant {tenant_id} has no default list"
        list_id = locked.default_list_id
    result = UpsertResult()
    catalog = load_catalog(conn, tenant_id, locked.catalog_version)
    good = _checked_rows(catalog, rows, result)
    _check_tcids(conn, tenant_id, list_id, good, result)
    readable = _readable_columns(catalog)
    if update_existing and _alone(conn, good):
        found = _update_alone(conn, tenant_id, list_id, next(iter(good.values())), readable)
        if found is not None:
            member_id, change = found
            result.updated, result.member_ids = 1, [member_id]
            result.errors.sort(key=lambda error: error.index)
            analytics_outbox.record_members(conn, tenant_id, result.member_ids)
            changes = {member_id: change}
            return result, MembersChanged([member_id], catalog, list_id=list_id, changes=changes)
    existing = _existing(conn, tenant_id, list_id, [row.key for row in good.values()], readable)
    fresh = {i: row for i, row in good.items() if row.key not in existing}
    known = {i: row for i, row in good.items() if row.key in existing}
    if not update_existing:
        result.skipped, known = len(known), {}
    held = (
        _held_tags(conn, tenant_id, known, existing, result) if tag_flag is TagFlag.APPEND else None
    )
    tag_names = _tag_names(fresh, known, tag_flag)
    tag_ids = ensure_tags(conn, tenant_id, tag_names)
    created = _insert(conn, tenant_id, list_id, list(fresh.values()), tag_ids)
    pairs = [(existing[row.key], row) for row in known.values()]
    changes = _update(conn, tenant_id, pairs, tag_flag, tag_ids, readable, held)
    result.created, result.updated = len(created), len(pairs)
    result.member_ids = created + [old.id for old, _ in pairs]
    analytics_outbox.record_members(conn, tenant_id, result.member_ids)
    result.errors.sort(key=lambda error: error.index)
    # The catalog read above still holds, unless this upsert created tags.
    same = set(tag_names) <= catalog.tags
    changed = MembersChanged(
        result.member_ids,
        catalog if same else None,
        list_id=list_id,
        changes=changes,
        created=created,
    )
    return result, changed


def _alone(conn: Connection, good: dict[int, MemberInput]) -> bool:
    """Whether the one-statement update of an existing member serves the rows (PostgreSQL,
    one row, no tags or visitor id to check or set)."""
    if conn.dialect.name != "postgresql" or len(good) != 1:
        return False
    row = next(iter(good.values()))
    return row.tags is None and row.tcid is None


def _update_alone(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    row: MemberInput,
    readable: dict[str, list[str]],
) -> tuple[int, Change] | None:
    """Update the list's member of ``row``'s email, if there is one: its id and its change
    as segments see it (``_update``)."""
    changes = _changes(row, now())
    found = update_by_email(conn, tenant_id, list_id, row.key, changes, tuple(sorted(readable)))
    if found is None:
        return None
    member_id, before, after = found
    moved = frozenset(
        key
        for column, value in changes.items()
        if column in readable and before[column] != value
        for key in readable[column]
    )
    change = Change(Inputs(fields=moved), _by_key(before, readable), _by_key(after, readable))
    return member_id, change


def _checked_rows(
    catalog: Catalog, rows: Sequence[Any], result: UpsertResult
) -> dict[int, MemberInput]:
    """Rows that pass every rule, by index; the others go to ``result.errors``."""
    good: dict[int, MemberInput] = {}
    first_by: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(rows):
        email = raw.get("email") if isinstance(raw, dict) else None
        try:
            row = check_row(raw, catalog)
            for kind, value in (("email", row.key), ("tcid", row.tcid)):
                if value is not None and (kind, value) in first_by:
                    earlier = first_by[(kind, value)]
                    raise RowProblem(f"the same {kind} is at index {earlier} of this request")
        except RowProblem as problem:
            shown = email if isinstance(email, str) else None
            result.errors.append(RowError(index, shown, str(problem)))
            continue
        first_by[("email", row.key)] = index
        if row.tcid is not None:
            first_by[("tcid", row.tcid)] = index
        good[index] = row
    return good


@dataclass(frozen=True)
class _Stored:
    """An existing member as an update finds it: its id, and the columns conditions read."""

    id: int
    values: dict[str, Any]  # members column name -> stored value


def _readable_columns(catalog: Catalog) -> dict[str, list[str]]:
    """The members columns that conditions can read, with the keys of the fields they hold."""
    found: dict[str, list[str]] = {}
    for key, definition in catalog.fields.items():
        found.setdefault(field_column(definition).name, []).append(key)
    return found


def _existing(
    conn: Connection, tenant_id: int, list_id: int, keys: list[str], readable: dict[str, list[str]]
) -> dict[str, _Stored]:
    """The list's members by email key, with what their conditions' columns hold now."""
    statement = _existing_statement(tuple(sorted(readable)))
    found: dict[str, _Stored] = {}
    for chunk in _chunks(keys):
        params = {"tenant_id": tenant_id, "list_id": list_id, "keys": chunk}
        for row in conn.execute(statement, params):
            values = {name: row._mapping[name] for name in readable}
            found[row.email_key] = _Stored(int(row.id), values)
    return found


@lru_cache(maxsize=256)
def _existing_statement(names: tuple[str, ...]) -> sa.Select[Any]:
    """Built once per set of columns: building costs more than running it."""
    chosen = [members.c[name] for name in names if name not in ("id", "email_key")]
    return sa.select(members.c.id, members.c.email_key, *chosen).where(
        members.c.tenant_id == sa.bindparam("tenant_id"),
        members.c.list_id == sa.bindparam("list_id"),
        members.c.email_key.in_(sa.bindparam("keys", expanding=True)),
    )


def _check_tcids(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    good: dict[int, MemberInput],
    result: UpsertResult,
) -> None:
    """A visitor id belongs to one member of a list: refuse rows that would take another's."""
    wanted = [row.tcid for row in good.values() if row.tcid is not None]
    owners: dict[str, str] = {}
    for chunk in _chunks(wanted):
        rows = conn.execute(
            sa.select(members.c.tcid, members.c.email_key).where(
                members.c.tenant_id == tenant_id,
                members.c.list_id == list_id,
                members.c.tcid.in_(chunk),
            )
        )
        owners.update({row.tcid: row.email_key for row in rows})
    for index, row in list(good.items()):
        owner = owners.get(row.tcid) if row.tcid else None
        if owner is not None and owner != row.key:
            result.errors.append(
                RowError(index, row.email, f"tcid {row.tcid} belongs to another member")
            )
            del good[index]


def _held_tags(
    conn: Connection,
    tenant_id: int,
    known: dict[int, MemberInput],
    existing: dict[str, _Stored],
    result: UpsertResult,
) -> dict[int, set[int]]:
    """Appending: the tag ids each existing member with tags in its row holds. Rows that
    would give a member more than MAX_TAGS_PER_MEMBER tags go to ``result.errors``."""
    rows = {
        existing[row.key].id: (index, row) for index, row in known.items() if row.tags is not None
    }
    held: dict[int, set[int]] = {member_id: set() for member_id in rows}
    names: dict[int, set[str]] = {member_id: set() for member_id in rows}
    for chunk in _chunks(sorted(rows)):
        found = conn.execute(
            sa.select(member_tags.c.member_id, tags.c.id, tags.c.name)
            .join(tags, sa.and_(tags.c.tenant_id == tenant_id, tags.c.id == member_tags.c.tag_id))
            .where(member_tags.c.tenant_id == tenant_id, member_tags.c.member_id.in_(chunk))
        )
        for member_id, tag_id, name in found:
            held[member_id].add(tag_id)
            names[member_id].add(name)
    for member_id, (index, row) in rows.items():
        if len(names[member_id].union(row.tags or ())) > MAX_TAGS_PER_MEMBER:
            result.errors.append(RowError(index, row.email, TOO_MANY_TAGS))
            del known[index]
    return held


def _tag_names(
    fresh: dict[int, MemberInput], known: dict[int, MemberInput], flag: TagFlag
) -> set[str]:
    """Every tag name this upsert will attach (new members always get theirs)."""
    names = {tag for row in fresh.values() for tag in row.tags or ()}
    if flag is not TagFlag.KEEP:
        names.update(tag for row in known.values() for tag in row.tags or ())
    return names


def _insert(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    rows: list[MemberInput],
    tag_ids: dict[str, int],
) -> list[int]:
    if not rows:
        return []
    stamp = now()
    slot_columns = sorted({column for row in rows for column in row.values})
    values = [
        {
            "tenant_id": tenant_id,
            "list_id": list_id,
            "email": row.email,
            "email_key": row.key,
            "domain": row.domain,
            "name": row.name,
            "phone": row.phone,
            "tcid": row.tcid,
            "created_at": stamp,
            "updated_at": stamp,
            "unsubscribed_at": None,
            **{column: row.values.get(column) for column in slot_columns},
        }
        for row in rows
    ]
    ids = [
        int(member_id)
        for member_id in conn.execute(
            sa.insert(members).returning(members.c.id, sort_by_parameter_order=True), values
        ).scalars()
    ]
    links = [
        {"tenant_id": tenant_id, "member_id": member_id, "tag_id": tag_ids[tag]}
        for row, member_id in zip(rows, ids, strict=True)
        for tag in row.tags or ()
    ]
    if links:
        conn.execute(sa.insert(member_tags), links)
    return ids


def _changes(row: MemberInput, stamp: int) -> dict[str, Any]:
    """The columns an update of ``row`` sets; name, phone and tcid only when sent."""
    changes: dict[str, Any] = {"email": row.email, "domain": row.domain, "updated_at": stamp}
    sent = (("name", row.name), ("phone", row.phone), ("tcid", row.tcid))
    changes.update({column: value for column, value in sent if value is not None})
    changes.update(row.values)
    return changes


def _update(
    conn: Connection,
    tenant_id: int,
    rows: list[tuple[_Stored, MemberInput]],
    flag: TagFlag,
    tag_ids: dict[str, int],
    readable: dict[str, list[str]],
    held: dict[int, set[int]] | None = None,
) -> dict[int, Change]:
    """Update existing members: one batched statement per set of changed columns. Returns
    each member's change as segments see it: the fields before, and what moved. ``held``:
    the tags the members hold, when already read."""
    stamp = now()
    batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    moved: dict[int, frozenset[str]] = {}
    for old, row in rows:
        changes = _changes(row, stamp)
        bound = {"b_tenant_id": tenant_id, "member_id": old.id}
        bound.update({f"new_{k}": v for k, v in changes.items()})
        batches.setdefault(tuple(sorted(changes)), []).append(bound)
        # Equal in Python means equal to a condition: a value that is not (1 and "1") counts
        # as a change, which costs a re-evaluation and nothing else.
        moved[old.id] = frozenset(
            key
            for column, value in changes.items()
            if column in readable and old.values[column] != value
            for key in readable[column]
        )
    after: dict[int, dict[str, Any]] = {}
    returned = tuple(sorted(readable))
    for columns, params in batches.items():
        if len(params) > 1:
            conn.execute(_update_statement(columns), params)
            continue
        # One member: the update hands back what it stored, the read segments would make.
        stored = conn.execute(_update_statement(columns, returned), params[0]).first()
        if stored is not None:
            after[params[0]["member_id"]] = stored._asdict()
    retagged: set[int] = set()
    if flag is not TagFlag.KEEP:
        wanted = {s.id: [tag_ids[t] for t in row.tags] for s, row in rows if row.tags is not None}
        retagged = _set_tags(conn, tenant_id, wanted, flag, held)
    return {
        old.id: Change(
            Inputs(fields=moved[old.id], tags=old.id in retagged),
            _by_key(old.values, readable),
            _by_key(after.get(old.id), readable),
        )
        for old, _ in rows
    }


def _by_key(values: dict[str, Any] | None, readable: dict[str, list[str]]) -> dict[str, Any] | None:
    """Column values as the evaluator reads them: by field key."""
    if values is None:
        return None
    return {key: values[column] for column, keys in readable.items() for key in keys}


@lru_cache(maxsize=256)
def _update_statement(columns: tuple[str, ...], returned: tuple[str, ...] = ()) -> sa.Update:
    """An update of these columns of one member, returning the ``returned`` ones; one
    statement per set of columns."""
    statement = (
        sa.update(members)
        .where(
            members.c.tenant_id == sa.bindparam("b_tenant_id"),
            members.c.id == sa.bindparam("member_id"),
        )
        .values({column: sa.bindparam(f"new_{column}") for column in columns})
    )
    return statement.returning(*(members.c[name] for name in returned)) if returned else statement


def _set_tags(
    conn: Connection,
    tenant_id: int,
    wanted: dict[int, list[int]],
    flag: TagFlag,
    held: dict[int, set[int]] | None = None,
) -> set[int]:
    """Add the wanted tags; with OVERWRITE also take off the ones not wanted. Returns the
    members whose tags changed."""
    if held is not None and held.keys() >= wanted.keys():
        have = {member_id: held[member_id] for member_id in wanted}
        missing: list[int] = []
    else:
        have = {member_id: set() for member_id in wanted}
        missing = sorted(wanted)
    for chunk in _chunks(missing):
        rows = conn.execute(
            sa.select(member_tags.c.member_id, member_tags.c.tag_id).where(
                member_tags.c.tenant_id == tenant_id, member_tags.c.member_id.in_(chunk)
            )
        )
        for member_id, tag_id in rows:
            have[member_id].add(tag_id)
    link = [(m, t) for m, tags in wanted.items() for t in tags if t not in have[m]]
    unlink: list[tuple[int, int]] = []
    if flag is TagFlag.OVERWRITE:
        unlink = [(m, t) for m, tags in have.items() for t in tags if t not in wanted[m]]
        _unlink(conn, tenant_id, unlink)
    if link:
        conn.execute(
            sa.insert(member_tags),
            [{"tenant_id": tenant_id, "member_id": m, "tag_id": t} for m, t in link],
        )
    return {m for m, _ in link + unlink}


def _unlink(conn: Connection, tenant_id: int, pairs: list[tuple[int, int]]) -> None:
    if pairs:
        conn.execute(
            sa.delete(member_tags).where(
                member_tags.c.tenant_id == tenant_id,
                member_tags.c.member_id == sa.bindparam("m"),
                member_tags.c.tag_id == sa.bindparam("t"),
            ),
            [{"m": m, "t": t} for m, t in pairs],
        )


def ids_by_email(
    conn: Connection, tenant_id: int, list_id: int, emails: Sequence[str]
) -> list[int]:
    """Ids of the list's members with these emails (any letter case); unknown emails are ignored."""
    keys = sorted({email_key(email) for email in emails})
    found: list[int] = []
    for chunk in _chunks(keys):
        found.extend(
            conn.execute(
                sa.select(members.c.id).where(
                    members.c.tenant_id == tenant_id,
                    members.c.list_id == list_id,
                    members.c.email_key.in_(chunk),
                )
            ).scalars()
        )
    return sorted(found)


def existing_ids(conn: Connection, tenant_id: int, member_ids: Sequence[int]) -> list[int]:
    """The ids among ``member_ids`` that are members of the tenant."""
    found: list[int] = []
    for chunk in _chunks(sorted(set(member_ids))):
        found.extend(
            conn.execute(sa.select(members.c.id).where(members_by_id(tenant_id, chunk))).scalars()
        )
    return found


def members_to_delete(conn: Connection, tenant_id: int, member_ids: Sequence[int]) -> list[int]:
    """Take the tenant's write lock; those of ``member_ids`` that exist (``delete_members``
    deletes them once they have left every segment)."""
    lock_tenant_writes(conn, tenant_id)
    return existing_ids(conn, tenant_id, member_ids)


def delete_members(conn: Connection, tenant_id: int, ids: Sequence[int]) -> int:
    """Delete members (``members_to_delete``) with their tags, activity and exclusions; return
    the count. Their memberships must be dropped first, in the same transaction."""
    for chunk in _chunks(ids):
        # The memberships left every live generation; rows of stale generations go with
        # their generation (the table has no index by member to find them here).
        for table in (segment_exclusions, member_tags, campaign_activity):
            conn.execute(
                sa.delete(table).where(table.c.tenant_id == tenant_id, table.c.member_id.in_(chunk))
            )
        conn.execute(sa.delete(members).where(members_by_id(tenant_id, chunk)))
    analytics_outbox.record_members(conn, tenant_id, ids)
    return len(ids)


def unsubscribe(
    conn: Connection, tenant_id: int, list_id: int, emails: Sequence[str]
) -> MembersChanged:
    """Mark the list's members with these emails unsubscribed (the first time counts); the
    members changed."""
    lock_tenant_writes(conn, tenant_id)
    ids = ids_by_email(conn, tenant_id, list_id, emails)
    stamp, changed = now(), []
    for chunk in _chunks(ids):
        still = list(
            conn.execute(
                sa.select(members.c.id).where(
                    members_by_id(tenant_id, chunk), members.c.unsubscribed_at.is_(None)
                )
            ).scalars()
        )
        if still:
            conn.execute(
                sa.update(members)
                .where(members_by_id(tenant_id, still))
                .values(unsubscribed_at=stamp, updated_at=stamp)
            )
        changed.extend(still)
    analytics_outbox.record_members(conn, tenant_id, changed)
    return MembersChanged(changed)


def member_page(
    conn: Connection, tenant_id: int, list_id: int, offset: int, limit: int
) -> tuple[list[int], int]:
    """Ids of one page of a list's members (oldest first) and the list's member count."""
    mine = sa.and_(members.c.tenant_id == tenant_id, members.c.list_id == list_id)
    total = conn.execute(sa.select(sa.func.count()).select_from(members).where(mine)).scalar_one()
    ids = conn.execute(
        sa.select(members.c.id).where(mine).order_by(members.c.id).offset(offset).limit(limit)
    ).scalars()
    return [int(member_id) for member_id in ids], int(total)
