"""One member changed by hand (the UI's member page): its email, name, phone, fields and tags,
its subscription, its deletion.

Each goes through the API's own write (``member_service``), in one transaction with the
member looked up by id, so the rules and messages are the API's, segments follow at once and
the history records it. A refused row is a ``DomainValidationError`` whose path names the
input at fault: ``email``, ``name``, ``phone``, ``tags``, ``fields.<name>`` (or none).

The member writes find a member by its email, so an email change is a write of its own
(``change_email``), before the others in the same transaction: the address is checked by the
API's rules and must be no other member's in its list; segments testing the email or its
domain take the member in or out at once, as after an upsert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone

from sqlalchemy.engine import Connection

from .. import metrics
from ..domain.errors import DomainValidationError, NotFound
from ..membership import store
from ..storage.db import Database
from ..storage.members import TagFlag
from ..storage.one_member import MemberKey, change_email, member_key, resubscribe
from .member_service import delete_members, unsubscribe, upsert_members

_BY_PREFIX = (("name ", "name"), ("phone ", "phone"), ("tags ", "tags"), ("a tag ", "tags"))


@dataclass(frozen=True)
class MemberEdit:
    """What the form sends: every value given replaces the member's (tags too)."""

    name: str
    phone: str
    fields: dict[str, str]
    tags: list[str]
    email: str | None = None  # None: the member keeps its email


def _owned(conn: Connection, tenant_id: int, member_id: int) -> MemberKey:
    key = member_key(conn, tenant_id, member_id)
    if key is None:
        raise NotFound(f"member {member_id}")
    return key


def _path_of(message: str) -> str:
    """The input a row error names (the API words each one after it)."""
    if message.startswith("field ") and ":" in message:
        return "fields." + message[len("field ") :].split(":", 1)[0]
    if message.startswith("field ") and message.endswith(" does not exist"):
        return "fields." + message[len("field ") : -len(" does not exist")]
    if "tags" in message:
        return "tags"
    return next((path for prefix, path in _BY_PREFIX if message.startswith(prefix)), "")


def edit_member(
    db: Database, tenant_id: int, member_id: int, edit: MemberEdit, tz: timezone
) -> None:
    row = {
        "name": edit.name,
        "phone": edit.phone,
        "fields": edit.fields,
        "tags": edit.tags,
    }
    with db.write() as conn:
        key = _owned(conn, tenant_id, member_id)
        if edit.email is not None and edit.email != key.email:
            _new_email_in(conn, tenant_id, key, edit.email, tz)
            row["email"] = edit.email
        else:
            row["email"] = key.email
        result = upsert_members(
            conn,
            tenant_id,
            key.list_id,
            [row],
            update_existing=True,
            tag_flag=TagFlag.OVERWRITE,
            tz=tz,
        )
        if result.errors:  # raised inside: a new email is not kept without the rest
            message = result.errors[0].message
            raise DomainValidationError(_path_of(message), message)


def _new_email_in(
    conn: Connection, tenant_id: int, key: MemberKey, email: str, tz: timezone
) -> None:
    changed = change_email(conn, tenant_id, key, email)
    store().apply_changes(conn, tenant_id, changed, tz)
    metrics.realtime_update(len(changed.member_ids))


def set_email(db: Database, tenant_id: int, member_id: int, email: str, tz: timezone) -> None:
    """Give the member another email (``DomainValidationError`` at ``email``: not an address,
    or another member's in its list); its segments follow in the same transaction."""
    with db.write() as conn:
        _new_email_in(conn, tenant_id, _owned(conn, tenant_id, member_id), email, tz)


def set_subscribed(
    db: Database, tenant_id: int, member_id: int, subscribed: bool, tz: timezone
) -> bool:
    """Subscribe or unsubscribe the member; whether that changed it."""
    with db.write() as conn:
        key = _owned(conn, tenant_id, member_id)
        if not subscribed:
            return unsubscribe(conn, tenant_id, key.list_id, [key.email], tz) > 0
        changed = resubscribe(conn, tenant_id, member_id)
        store().apply_changes(conn, tenant_id, changed, tz)
        metrics.realtime_update(len(changed.member_ids))
        return bool(changed.member_ids)


def delete_member(db: Database, tenant_id: int, member_id: int) -> MemberKey:
    """Delete the member (after it left its segments); what it was."""
    with db.write() as conn:
        key = _owned(conn, tenant_id, member_id)
        delete_members(conn, tenant_id, [member_id])
    return key


def member_of(db: Database, tenant_id: int, member_id: int) -> MemberKey:
    with db.read() as conn:
        return _owned(conn, tenant_id, member_id)
