"""Map a members CSV header to what each column fills: a system column, the tags, or a field.

Columns are matched by name, ignoring letter case and surrounding spaces: ``email``
(required), ``name``, ``phone``, ``tcid``, ``tags``, and any custom field by its name.
``--map "Column=Target"`` renames a column first. Every problem is found before a row is read;
the message lists at most ``MAX_LISTED`` of them (and of the unknown columns), each name cut
short, so a header of a thousand bad columns gives a short error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..domain.fields import FieldDef
from ..domain.text import printable, text_problem
from .source import MAX_COLUMNS

SYSTEM_TARGETS = ("email", "name", "phone", "tcid", "tags")
MAX_LISTED = 20  # problems, or unknown columns, named in one error message
_NAME_SHOWN = 64  # characters of a column name in an error message


class MappingError(ValueError):
    """The header cannot be imported as it is; the message lists every problem."""


@dataclass(frozen=True)
class ColumnMap:
    """Which CSV column (by position) fills what. ``fields`` pairs positions with fields."""

    email: int
    name: int | None
    phone: int | None
    tcid: int | None
    tags: int | None
    fields: tuple[tuple[int, FieldDef], ...]
    ignored: tuple[str, ...]


def shown(name: str) -> str:
    """A column name as an error message quotes it."""
    return repr(printable(name, _NAME_SHOWN))


def listed(items: Sequence[str], separator: str = ", ") -> str:
    """At most MAX_LISTED items, then how many more."""
    text = separator.join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return f"{text}{separator}and {more} more" if more > 0 else text


def parse_map_options(options: Sequence[str]) -> dict[str, str]:
    """``["Column=Target", ...]`` as a dict keyed by folded column name."""
    if len(options) > MAX_COLUMNS:
        raise MappingError(f"at most {MAX_COLUMNS} --map options (one per column)")
    renames: dict[str, str] = {}
    for option in options:
        column, equals, target = option.partition("=")
        if not equals or not column.strip() or not target.strip():
            raise MappingError(f"--map {shown(option)} must have the form Column=Field")
        problem = text_problem(option)
        if problem is not None:
            raise MappingError(f"--map {shown(option)} {problem}")
        renames[column.strip().casefold()] = target.strip()
    return renames


def map_header(
    header: Sequence[str],
    custom_fields: Sequence[FieldDef],
    renames: Mapping[str, str] | None = None,
    ignore_unknown: bool = False,
) -> ColumnMap:
    renames = {key.casefold(): value for key, value in (renames or {}).items()}
    by_name = {field.key: field for field in custom_fields}
    targets: dict[str, int] = {}
    fields: list[tuple[int, FieldDef]] = []
    unknown: list[str] = []
    problems: list[str] = []
    for position, column in enumerate(header):
        target = renames.get(column.casefold(), column).strip().casefold()
        if target in targets:
            problems.append(f"column {shown(column)} maps to {shown(target)} like an earlier one")
            continue
        if target in SYSTEM_TARGETS or target in by_name:
            targets[target] = position
            if target in by_name:
                fields.append((position, by_name[target]))
        else:
            unknown.append(column)
    missing_renames = sorted(set(renames) - {column.casefold() for column in header})
    problems.extend(
        f"--map names a column {shown(name)} the file does not have" for name in missing_renames
    )
    if "email" not in targets:
        problems.append("the header must have an email column")
    if unknown and not ignore_unknown:
        problems.append(
            f"unknown columns: {listed([printable(c, _NAME_SHOWN) for c in unknown])} "
            "(not email, name, phone, tcid, tags or a "
            "custom field; map them with --map Column=Field or pass --ignore-unknown)"
        )
    if problems:
        raise MappingError(listed(problems, "; "))
    return ColumnMap(
        email=targets["email"],
        name=targets.get("name"),
        phone=targets.get("phone"),
        tcid=targets.get("tcid"),
        tags=targets.get("tags"),
        fields=tuple(fields),
        ignored=tuple(unknown),
    )
