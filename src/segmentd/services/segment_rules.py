"""The rules of a segment's envelope: name, type, list, Commanders Act id, member ids.

The condition's own rules live in ``domain.validation``. Every message is word for word what
the EngageLab API answers.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy.engine import Connection

from ..domain.errors import DomainValidationError, Taken, UnknownList
from ..domain.ids import MAX_ID, as_id
from ..domain.validation import SegmentType
from ..random_ids import commandersact_id_of
from ..storage.segments import segment_named
from ..storage.tenants import default_list_id, list_exists

MAX_NAME_LENGTH = 48
MAX_MEMBER_IDS = 1000
NAME_SPECIALS = frozenset("^?+.*\\[]()")
NAME_SPECIALS_MESSAGE = "special characters such as ^, ?, +, ., *, \\, [, ], (, ) cannot be used"
TYPE_MESSAGE = "type only be 0 (by field) or 1 (by campaign)"


def checked_name(raw: Any) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise DomainValidationError("segment_name", "segment_name is required")
    if not isinstance(raw, str):
        raise DomainValidationError("segment_name", "segment_name must be a string")
    if len(raw) > MAX_NAME_LENGTH:
        message = f"segment_name must be at most {MAX_NAME_LENGTH} characters"
        raise DomainValidationError("segment_name", message)
    if NAME_SPECIALS.intersection(raw):
        raise DomainValidationError("segment_name", NAME_SPECIALS_MESSAGE)
    if any(unicodedata.category(char) == "Cc" for char in raw):
        # PostgreSQL refuses NUL in text, and no name needs a control character.
        raise DomainValidationError("segment_name", "segment_name cannot hold control characters")
    return raw


def checked_type(raw: Any) -> SegmentType:
    if raw is None:
        raise DomainValidationError("type", "type is required")
    # bool is an int subclass, but true is not a segment type.
    if isinstance(raw, bool) or not isinstance(raw, int) or raw not in tuple(SegmentType):
        raise DomainValidationError("type", TYPE_MESSAGE)
    return SegmentType(raw)


def checked_type_filter(raw: str | None) -> int | None:
    """The list filter ``type``: absent, 0 or 1 (any other text is the spec's own error)."""
    if raw is None or raw == "":
        return None
    if raw not in ("0", "1"):
        raise DomainValidationError("", TYPE_MESSAGE)
    return int(raw)


def checked_member_ids(raw: Any) -> list[int]:
    """1 to 1000 string ids; ids that cannot name a member are kept out of the query."""
    if raw is None:
        raise DomainValidationError("member_ids", "member_ids is required")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_MEMBER_IDS:
        message = f"member_ids must be a list of 1 to {MAX_MEMBER_IDS} ids"
        raise DomainValidationError("member_ids", message)
    for index, member_id in enumerate(raw):
        if not isinstance(member_id, str):
            raise DomainValidationError(f"member_ids[{index}]", "member ids must be strings")
    return [int(text) for text in raw if is_member_id(text)]


def is_member_id(text: str) -> bool:
    return text.isascii() and text.isdecimal() and int(text) <= MAX_ID


def checked_commandersact_id(raw: Any) -> str | None:
    """The segmentd extension ``commandersact_id``: absent, or 8 hex characters (stored upper
    case)."""
    if raw is None:
        return None
    stored = commandersact_id_of(raw) if isinstance(raw, str) else None
    if stored is None:
        message = "commandersact_id must be 8 hexadecimal characters"
        raise DomainValidationError("commandersact_id", message)
    return stored


def checked_list(conn: Connection, tenant_id: int, raw: Any) -> int:
    """The list a segment (or a preview) is on: the default list when ``raw`` is absent."""
    if raw is None or raw == "":
        return default_list_id(conn, tenant_id)
    list_id = as_id(raw)
    if list_id is None:
        message = f"list_id must be an integer from 1 to {MAX_ID}"
        raise DomainValidationError("list_id", message)
    if not list_exists(conn, tenant_id, list_id):
        raise UnknownList(list_id)
    return list_id


def check_name_free(conn: Connection, tenant_id: int, name: str, segment_id: str | None) -> None:
    """A name may name one segment of the tenant (the native API's writes; EngageLab's API
    and the UI allow twins). ``segment_id``: the segment being renamed (None: a new one)."""
    holder = segment_named(conn, tenant_id, name)
    if holder is not None and holder != segment_id:
        raise Taken("name", f"segment name {name} is taken by segment {holder}")
