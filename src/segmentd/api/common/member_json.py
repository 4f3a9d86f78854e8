"""A member in EngageLab's JSON shape (the segment members example of the spec)."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from ...domain.values import format_field_value
from ...storage.member_rows import MemberRow
from ...timefmt import MEMBER_STYLE, format_time


def member_json(member: MemberRow, tz: timezone) -> dict[str, Any]:
    """Ids are strings and times use MEMBER_STYLE, as in the spec; unset values are null."""
    return {
        "id": str(member.id),
        "list_id": member.list_id,
        "email": member.email,
        "phone": member.phone,
        "name": member.name,
        "create_time": format_time(member.created_at, tz, MEMBER_STYLE),
        "update_time": format_time(member.updated_at, tz, MEMBER_STYLE),
        "unsubscribe_time": format_time(member.unsubscribed_at, tz, MEMBER_STYLE),
        "fields": {field.name: format_field_value(field, value) for field, value in member.values},
        "tag_ids": [str(tag_id) for tag_id in member.tag_ids],
        "tag_names": list(member.tag_names),
    }
