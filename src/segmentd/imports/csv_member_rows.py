"""Check one members CSV row and turn it into the values written to ``members`` (pure).

A CSV row follows the members API's rules (email, name and phone lengths, tcid digits,
field values by type and format, tag names and count). One difference, as in most CSV
importers: a blank cell leaves the stored value as it is (a new member gets none), so a
partial file never wipes data; clearing a value is done through the members API. The text
rule (no NUL, only UTF-8) is checked on every cell before (``source.read_rows``).

Rows of one email in a chunk are folded into one (``fold``) in file order, with the result
of writing them one after the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ..domain.emails import MAX_LENGTH, MAX_LOCAL, MIN_LENGTH, email_key, email_problem
from ..domain.fields import FieldDef, FieldType
from ..domain.values import Typed, parse_field_value
from ..storage.member_columns import field_column
from ..storage.member_input import MAX_NAME, MAX_PHONE, MAX_TCID
from ..storage.members import TagFlag
from ..storage.tags import MAX_TAGS_PER_MEMBER, TOO_MANY_TAGS, tag_problem
from .mapping import ColumnMap

TAG_SEPARATORS = re.compile(r"[;|]")
_TCID = re.compile(r"[0-9]{1,64}", re.ASCII)
# The common shape of a valid address in one regex: a match implies email_problem() finds
# nothing (same characters, dots, labels and top-level domain); anything else goes the slow,
# explaining way. Lengths are checked beside it.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_FAST_EMAIL = re.compile(
    rf"{_ATOM}(?:\.{_ATOM})*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+[A-Za-z]{{2,20}}",
    re.ASCII,
)
# Parsed values of repeated cells (dates, numbers, options repeat a lot in real files).
CACHE_LIMIT = 100_000

Value = Typed | None
Converter = Callable[[str], Value]


class RowProblem(ValueError):
    """The row breaks a rule; the message says which, as the rejected-rows file shows it."""


class MemberRow(NamedTuple):
    """A checked row: ``values`` in the order of ``MemberLayout.columns``.

    A named tuple, not a dataclass: a helper process sends chunks of them to the writer, and
    tuples are built and unpickled about twice as fast.
    """

    key: str
    tcid: str | None
    values: tuple[Value, ...]
    tags: tuple[str, ...] | None  # None: the file has no tags for this row


class CopyMember(NamedTuple):
    """A checked row as PostgreSQL's ``COPY`` text takes it: the helper process
    that checks rows also formats them, so the writer only sends bytes and the database does
    the rest. ``line`` holds the ``MemberLayout.columns`` values; ``tag_lines`` one
    ``email_key, tag`` line per tag (a lone ``email_key, NULL`` line: tags given, none)."""

    key: str
    tcid: str | None
    line: bytes
    tag_lines: bytes
    tags: tuple[str, ...] | None


@dataclass(frozen=True)
class MemberLayout:
    """The ``members`` columns an import writes, and how to fill each from a row."""

    columns: tuple[str, ...]  # email, email_key, domain, then the optional ones
    converters: tuple[tuple[int, str, Converter], ...]  # (cell position, label, converter)
    email_at: int
    tcid_at: int | None  # position of tcid within ``values``
    tags_at: int | None  # cell position of the tags
    width: int  # cells in the header


def _text(label: str, limit: int) -> Converter:
    def convert(cell: str) -> Value:
        if len(cell) > limit:
            raise RowProblem(f"{label} must be at most {limit} characters")
        return cell

    return convert


def _tcid(cell: str) -> Value:
    if not _TCID.fullmatch(cell):
        raise RowProblem(f"tcid must be 1 to {MAX_TCID} digits")
    return cell


def _field(field: FieldDef) -> Converter:
    if field.type is FieldType.TEXT:
        return _free_text(field)
    cache: dict[str, Value] = {}

    def convert(cell: str) -> Value:
        found = cache.get(cell)
        if found is not None:
            return found
        try:
            value = parse_field_value(field, cell)
        except ValueError as exc:
            raise RowProblem(f"field {field.name}: {exc}") from None
        if len(cache) < CACHE_LIMIT:
            cache[cell] = value
        return value

    return convert


def _free_text(field: FieldDef) -> Converter:
    def convert(cell: str) -> Value:
        return cell  # any text: the reader has applied the text rule to every cell

    return convert


def check_email(email: str) -> None:
    if not _fast_email(email):
        problem = email_problem(email)
        if problem:
            raise RowProblem(problem)


def _fast_email(email: str) -> bool:
    """True when the common shape matches (then email_problem() finds nothing either)."""
    return (
        MIN_LENGTH <= len(email) <= MAX_LENGTH
        and _FAST_EMAIL.fullmatch(email) is not None
        and email.index("@") <= MAX_LOCAL
    )


def member_layout(columns: ColumnMap, width: int) -> MemberLayout:
    names = ["email", "email_key", "domain"]
    converters: list[tuple[int, str, Converter]] = []
    optional: list[tuple[int | None, str, Converter]] = [
        (columns.name, "name", _text("name", MAX_NAME)),
        (columns.phone, "phone", _text("phone", MAX_PHONE)),
        (columns.tcid, "tcid", _tcid),
    ]
    optional += [(at, field_column(field).name, _field(field)) for at, field in columns.fields]
    for position, column, convert in optional:
        if position is not None:
            names.append(column)
            converters.append((position, column, convert))
    tcid_at = names.index("tcid") if "tcid" in names else None
    return MemberLayout(
        tuple(names), tuple(converters), columns.email, tcid_at, columns.tags, width
    )


def check_member(layout: MemberLayout, cells: Sequence[str]) -> MemberRow:
    """The row's values, or RowProblem with the first rule it breaks."""
    if len(cells) != layout.width:
        if len(cells) > layout.width:
            raise RowProblem(f"the row has {len(cells)} cells but the header only {layout.width}")
        cells = [*cells, *[""] * (layout.width - len(cells))]
    email = cells[layout.email_at].strip()
    if not email:
        raise RowProblem("email is required")
    if _fast_email(email):
        key = email.lower()  # ASCII only (the fast shape): the same as email_key()
    else:
        check_email(email)
        key = email_key(email)
    # email_key folds ASCII letters only, so the folded domain is the key's own domain part.
    values: list[Value] = [email, key, key[key.rindex("@") + 1 :]]
    append = values.append
    for position, _column, convert in layout.converters:
        cell = cells[position].strip()
        append(convert(cell) if cell else None)
    tcid = values[layout.tcid_at] if layout.tcid_at is not None else None
    tags = _tags(cells[layout.tags_at]) if layout.tags_at is not None else None
    return MemberRow(key, tcid if isinstance(tcid, str) else None, tuple(values), tags)


# Checked tag cells (a file repeats the same few tag lists a lot): the cell -> its names.
_tag_cells: dict[str, tuple[str, ...] | None] = {}


def _tags(cell: str) -> tuple[str, ...] | None:
    found = _tag_cells.get(cell)
    if found is not None:
        return found
    if not cell or not cell.strip():
        return None
    names = [name.strip() for name in TAG_SEPARATORS.split(cell)]
    names = [name for name in names if name]
    for name in names:
        problem = tag_problem(name)
        if problem:
            raise RowProblem(problem)
    tags = tuple(dict.fromkeys(names))
    if len(tags) > MAX_TAGS_PER_MEMBER:
        raise RowProblem(f"{TOO_MANY_TAGS}; the tags cell names {len(tags)}")
    if len(_tag_cells) < CACHE_LIMIT:
        _tag_cells[cell] = tags
    return tags


def fold(earlier: MemberRow, later: MemberRow, flag: TagFlag, update_existing: bool) -> MemberRow:
    """One row with the effect of writing ``earlier`` then ``later`` (the same email).

    Later non-blank cells win (the email's spelling too); tags as ``flag`` says: appended,
    the later given list, or the first row's (an existing member's never change). Without
    ``update_existing`` the later row is skipped, as it would find the member existing.
    """
    if not update_existing:
        return earlier
    # Hot when an email repeats a lot: a list comprehension, tags joined only when they differ.
    pairs = zip(earlier.values, later.values, strict=True)
    values = tuple([old if new is None else new for old, new in pairs])
    tags = earlier.tags
    if later.tags is not None and later.tags != tags and flag is not TagFlag.KEEP:
        if flag is TagFlag.OVERWRITE or not tags:
            tags = later.tags
        else:
            tags = tuple(dict.fromkeys(tags + later.tags))
    if tags is not None and len(tags) > MAX_TAGS_PER_MEMBER:
        raise RowProblem(f"{TOO_MANY_TAGS}; with the earlier rows of this email it would have more")
    return MemberRow(later.key, later.tcid or earlier.tcid, values, tags)


# COPY's text format: backslash escapes for these, \N for NULL (NUL is refused before).
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: Value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return repr(value)  # floats round-trip exactly; ints (days, birthdays) as themselves


def copy_member(row: MemberRow) -> CopyMember:
    # Hot: once per row of an import into PostgreSQL. Most rows hold nothing to escape.
    texts = "".join([value for value in row.values if value.__class__ is str])
    if "\\" in texts or "\t" in texts or "\n" in texts or "\r" in texts:
        parts = [copy_text(value) for value in row.values]
    else:
        parts = [
            value if value.__class__ is str else "\\N" if value is None else repr(value)
            for value in row.values
        ]
    line = "\t".join(parts) + "\n"
    return CopyMember(row.key, row.tcid, line.encode(), _tag_lines(row.key, row.tags), row.tags)


_UNESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def uncopy_member(copied: CopyMember) -> MemberRow:
    """The row ``copied`` was made from, for a fold: its values as ``COPY`` text (a number
    as its digits, which ``copy_member`` writes back as they are), NULL as None."""
    values = tuple(
        None if part == "\\N" else _UNESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], part)
        for part in copied.line.decode()[:-1].split("\t")
    )
    return MemberRow(copied.key, copied.tcid, values, copied.tags)


def _tag_lines(key: str, tags: tuple[str, ...] | None) -> bytes:
    if tags is None:
        return b""
    key = copy_text(key)
    if not tags:
        return f"{key}\t\\N\n".encode()
    return "".join([f"{key}\t{_copied_tag(tag)}\n" for tag in tags]).encode()


_copied_tags: dict[str, str] = {}


def _copied_tag(name: str) -> str:
    found = _copied_tags.get(name)
    if found is None:
        found = copy_text(name)
        if len(_copied_tags) < CACHE_LIMIT:
            _copied_tags[name] = found
    return found
