"""Check one member row as clients send it to ``POST /v1/marketing/lists/members``.

Pure: every rule a row must pass before anything is written, with the reason clients see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..domain.emails import email_domain, email_key, email_problem
from ..domain.fields import Catalog
from ..domain.values import Typed, parse_field_value
from .member_columns import field_column
from .tags import MAX_TAGS_PER_MEMBER, TOO_MANY_TAGS, tag_problem

MAX_NAME, MAX_PHONE, MAX_TCID = 255, 64, 64
NUL = "\0"  # PostgreSQL text cannot hold it
ROW_KEYS = frozenset({"email", "name", "phone", "fields", "tags", "tcid"})
_TCID = re.compile(r"[0-9]{1,64}", re.ASCII)


class RowProblem(ValueError):
    """A row breaks a rule; the message says which."""


@dataclass(frozen=True)
class MemberInput:
    """A checked row. None means "leave as it is" for name, phone, tcid and tags."""

    email: str
    key: str
    domain: str
    name: str | None
    phone: str | None
    tcid: str | None
    values: dict[str, Typed | None]  # members column name -> typed value (None clears)
    tags: tuple[str, ...] | None


def check_row(raw: Any, catalog: Catalog) -> MemberInput:
    if not isinstance(raw, dict):
        raise RowProblem("each member must be an object")
    unknown = sorted(set(raw) - ROW_KEYS)
    if unknown:
        raise RowProblem(f"unknown key {unknown[0]}: a member has {', '.join(sorted(ROW_KEYS))}")
    email = raw.get("email")
    if not isinstance(email, str):
        raise RowProblem("email is required")
    problem = email_problem(email)
    if problem:
        raise RowProblem(problem)
    return MemberInput(
        email=email,
        key=email_key(email),
        domain=email_domain(email),
        name=_text(raw, "name", MAX_NAME),
        phone=_text(raw, "phone", MAX_PHONE),
        tcid=_tcid(raw.get("tcid")),
        values=_values(raw.get("fields"), catalog),
        tags=_tags(raw.get("tags")),
    )


def _text(raw: dict[str, Any], key: str, limit: int) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise RowProblem(f"{key} must be a string of at most {limit} characters")
    if NUL in value:
        raise RowProblem(f"{key} must not contain NUL characters")
    return value


def _tcid(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not _TCID.fullmatch(value):
        raise RowProblem(f"tcid must be 1 to {MAX_TCID} digits")
    return value


def _values(raw: Any, catalog: Catalog) -> dict[str, Typed | None]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RowProblem("fields must be an object of field name to value")
    values: dict[str, Typed | None] = {}
    for name, text in raw.items():
        field = catalog.field(name)
        if field is None or field.system:
            raise RowProblem(f"field {name} does not exist")
        values[field_column(field).name] = _value(field.name, field, text)
    return values


def _value(name: str, field: Any, text: Any) -> Typed | None:
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = str(text)
    if text is None or text == "":
        return None  # an empty value clears the field
    if not isinstance(text, str):
        raise RowProblem(f"field {name}: the value must be a string")
    if NUL in text:
        raise RowProblem(f"field {name}: the value must not contain NUL characters")
    try:
        return parse_field_value(field, text)
    except ValueError as exc:
        raise RowProblem(f"field {name}: {exc}") from None


def _tags(raw: Any) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise RowProblem("tags must be a list of tag names")
    for name in raw:
        problem = tag_problem(name)
        if problem:
            raise RowProblem(problem)
    names = tuple(dict.fromkeys(raw))
    if len(names) > MAX_TAGS_PER_MEMBER:
        raise RowProblem(TOO_MANY_TAGS)
    return names
