"""Static segment use cases: create one, give it members, take them back, by emails or
member ids in a request or by a CSV of emails; rename it.

A static segment's members are given, never computed: its published generation holds them
(``MembershipStore.add_given``), so look-ups, pages, counts, exports and Commanders Act read
it as any segment, and builds leave it alone. Segments whose conditions refer to it follow
each change in the same transaction (``MembershipStore.refresh_referrers``).

Entries in a request (at most ``MAX_GIVEN`` emails and ``MAX_GIVEN`` member ids) must all
name members of the segment's list when given, or nothing is written; entries naming none
are counted and passed over when taking members back, and in a CSV (which may be old).
Errors are ``domain.errors``, each family words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import Any

from sqlalchemy.engine import Connection

from ..domain.emails import email_key
from ..domain.errors import DomainValidationError, NotFound
from ..domain.ids import MAX_ID, as_id
from ..domain.segment_kinds import SegmentKind, static_condition
from ..domain.text import check_text, printable
from ..domain.validation import SegmentType
from ..imports.email_column import read_email_column
from ..membership import store as membership
from ..storage import segments as store
from ..storage.db import Database
from ..storage.list_members import ids_by_email_key, listed_ids
from ..storage.write_lock import lock_tenant_writes
from .segment_rules import (
    check_name_free,
    checked_commandersact_id,
    checked_list,
    checked_name,
)

MAX_GIVEN = 1000  # emails, and member ids, in one request
SAMPLE = 20  # entries naming no member, shown as given


@dataclass(frozen=True)
class StaticDraft:
    """A static segment as the client sent it, unchecked: name, list (None: the default
    one), Commanders Act id, and its first members (emails and/or member ids; may be none)."""

    name: Any = None
    list_id: Any = None
    commandersact_id: Any = None
    emails: Any = None
    member_ids: Any = None


@dataclass(frozen=True)
class GivenMembers:
    """What a change of a static segment's members did: ``changed`` members put in (or taken
    out), ``unchanged`` ones in already (or not in), and the entries naming no member of the
    list: how many, and the first ``SAMPLE`` as given."""

    changed: int
    unchanged: int
    not_found: int = 0
    not_found_sample: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Entries:
    emails: list[str]
    ids: list[int]


@dataclass(frozen=True)
class _Found:
    ids: list[int]  # members of the list, each once
    missing: list[tuple[str, str]]  # (path, entry as given) naming none


def create_static_segment(
    db: Database, tenant_id: int, draft: StaticDraft, *, unique_name: bool = False
) -> store.Segment:
    """Check and save a static segment with its first members; it is complete at once.
    ``unique_name``: refuse a name another segment has (the native API)."""
    name = checked_name(draft.name)
    commandersact_id = checked_commandersact_id(draft.commandersact_id)
    entries = _entries(draft.emails, draft.member_ids, required=False)
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)
        list_id = checked_list(conn, tenant_id, draft.list_id)
        if unique_name:
            check_name_free(conn, tenant_id, name, None)
        found = _found(conn, tenant_id, list_id, entries, strict=True)
        try:
            segment_id = store.create_segment(
                conn,
                tenant_id,
                list_id=list_id,
                name=name,
                segment_type=SegmentType.BY_FIELD,
                condition=static_condition(),
                commandersact_id=commandersact_id,
                kind=SegmentKind.STATIC,
            )
        except store.CommandersActIdTaken:
            message = f"commandersact_id {commandersact_id} is taken by another segment"
            raise DomainValidationError("commandersact_id", message) from None
        membership().add_given(conn, _static(conn, tenant_id, segment_id), found.ids)
        return _static(conn, tenant_id, segment_id)


def add_static_members(
    db: Database,
    tenant_id: int,
    segment_id: str,
    tz: timezone,
    *,
    emails: Any = None,
    member_ids: Any = None,
) -> GivenMembers:
    """Give the segment members; every entry must name a member of its list."""
    entries = _entries(emails, member_ids, required=True)
    with db.write() as conn:
        segment = _locked(conn, tenant_id, segment_id)
        found = _found(conn, tenant_id, segment.list_id, entries, strict=True)
        return _give(conn, segment, found, tz)


def remove_static_members(
    db: Database,
    tenant_id: int,
    segment_id: str,
    tz: timezone,
    *,
    emails: Any = None,
    member_ids: Any = None,
) -> GivenMembers:
    """Take members back; entries naming no member of the list are counted, not refused."""
    entries = _entries(emails, member_ids, required=True)
    with db.write() as conn:
        segment = _locked(conn, tenant_id, segment_id)
        found = _found(conn, tenant_id, segment.list_id, entries, strict=False)
        left = membership().remove_given(conn, segment, found.ids)
        if left:
            membership().refresh_referrers(conn, tenant_id, segment.id, found.ids, tz)
        return _result(left, len(found.ids) - left, found)


def add_static_members_csv(
    db: Database, tenant_id: int, segment_id: str, data: bytes, tz: timezone
) -> GivenMembers:
    """Give the segment the members whose emails a CSV lists (``imports.email_column``: its
    limits and shape); emails naming no member of the list are counted and passed over."""
    rows = read_email_column(data)
    with db.write() as conn:
        segment = _locked(conn, tenant_id, segment_id)
        by_key = ids_by_email_key(
            conn, tenant_id, segment.list_id, [email_key(r.email) for r in rows]
        )
        missing = [
            (f"file.row[{r.number}]", r.email) for r in rows if email_key(r.email) not in by_key
        ]
        ids = sorted({by_key[email_key(r.email)] for r in rows if email_key(r.email) in by_key})
        return _give(conn, segment, _Found(ids, missing), tz)


def rename_static_segment(
    db: Database, tenant_id: int, segment_id: str, name: Any
) -> store.Segment:
    """Give a static segment a new name (a dynamic one is renamed with its definition)."""
    checked = checked_name(name)
    with db.write() as conn:
        segment = _locked(conn, tenant_id, segment_id)
        store.rename_segment(conn, tenant_id, segment.id, checked)
        return _static(conn, tenant_id, segment.id)


def _give(conn: Connection, segment: store.Segment, found: _Found, tz: timezone) -> GivenMembers:
    joined = membership().add_given(conn, segment, found.ids)
    if joined:
        membership().refresh_referrers(conn, segment.tenant_id, segment.id, found.ids, tz)
    return _result(joined, len(found.ids) - joined, found)


def _result(changed: int, unchanged: int, found: _Found) -> GivenMembers:
    sample = tuple(printable(entry) for _path, entry in found.missing[:SAMPLE])
    return GivenMembers(changed, unchanged, len(found.missing), sample)


def _locked(conn: Connection, tenant_id: int, segment_id: str) -> store.Segment:
    """The static segment, its row locked after the tenant's write lock (real-time updates
    lock in that order); NotFound, or an error for a dynamic one."""
    lock_tenant_writes(conn, tenant_id)
    segment = store.get_segment(conn, tenant_id, segment_id, for_update=True)
    if segment is None:
        raise NotFound("segment")
    if segment.kind is not SegmentKind.STATIC:
        message = f"segment {segment.name} is dynamic: its members are those its condition selects"
        raise DomainValidationError("segment_id", message)
    return segment


def _static(conn: Connection, tenant_id: int, segment_id: str) -> store.Segment:
    segment = store.get_segment(conn, tenant_id, segment_id)
    if segment is None:
        raise NotFound("segment")
    return segment


def _entries(emails: Any, member_ids: Any, *, required: bool) -> _Entries:
    """The entries' shape: lists of at most ``MAX_GIVEN`` texts and ids."""
    found = _Entries(
        [
            check_text(_text(raw, f"emails[{i}]"), f"emails[{i}]")
            for i, raw in _items(emails, "emails")
        ],
        [_member_id(raw, f"member_ids[{i}]") for i, raw in _items(member_ids, "member_ids")],
    )
    if required and not (found.emails or found.ids):
        raise DomainValidationError("emails", "give at least one email or member id")
    return found


def _items(raw: Any, path: str) -> list[tuple[int, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_GIVEN:
        raise DomainValidationError(path, f"{path} must be a list of at most {MAX_GIVEN} entries")
    return list(enumerate(raw))


def _text(raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise DomainValidationError(path, "an email must be a non-empty string")
    return raw.strip()


def _member_id(raw: Any, path: str) -> int:
    member_id = as_id(raw)
    if member_id is None:
        message = f"a member id is an integer from 1 to {MAX_ID}, or a string of its digits"
        raise DomainValidationError(path, message)
    return member_id


def _found(
    conn: Connection, tenant_id: int, list_id: int, entries: _Entries, *, strict: bool
) -> _Found:
    """The members the entries name on the list; ``strict``: an entry naming none is refused."""
    by_key = ids_by_email_key(conn, tenant_id, list_id, [email_key(e) for e in entries.emails])
    listed = listed_ids(conn, tenant_id, list_id, entries.ids)
    missing = [
        *((f"emails[{i}]", e) for i, e in enumerate(entries.emails) if email_key(e) not in by_key),
        *((f"member_ids[{i}]", str(m)) for i, m in enumerate(entries.ids) if m not in listed),
    ]
    if strict and missing:
        path, entry = missing[0]
        raise DomainValidationError(path, f"{printable(entry)} names no member of list {list_id}")
    ids = {by_key[email_key(e)] for e in entries.emails if email_key(e) in by_key}
    return _Found(sorted(ids | (set(entries.ids) & listed)), missing)
