"""CSV header mapping and row checks (pure: no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segmentd.domain.emails import email_problem
from segmentd.domain.fields import FieldDef, FieldType
from segmentd.imports.csv_member_rows import (
    _FAST_EMAIL,
    MemberRow,
    RowProblem,
    check_email,
    check_member,
    copy_member,
    member_layout,
    uncopy_member,
)
from segmentd.imports.mapping import MappingError, map_header, parse_map_options

AGE = FieldDef("Age", FieldType.NUMBER, "0", slot=1)
CITY = FieldDef("City", FieldType.TEXT, slot=2)
FIELDS = [AGE, CITY]


def test_columns_match_by_name_in_any_letter_case() -> None:
    mapped = map_header([" EMAIL ", "Name", "tags", "age", "CITY", "Phone", "TCID"], FIELDS)
    assert (mapped.email, mapped.name, mapped.tags, mapped.phone, mapped.tcid) == (0, 1, 2, 5, 6)
    assert mapped.fields == ((3, AGE), (4, CITY))


def test_unknown_columns_are_all_listed_before_any_row() -> None:
    with pytest.raises(MappingError) as error:
        map_header(["email", "Shoe", "Hat"], FIELDS)
    assert "Shoe, Hat" in str(error.value)


def test_unknown_columns_can_be_ignored() -> None:
    mapped = map_header(["email", "Shoe"], FIELDS, ignore_unknown=True)
    assert mapped.ignored == ("Shoe",) and mapped.fields == ()


def test_map_renames_a_column_to_a_field() -> None:
    renames = parse_map_options(["Mail=Email", "Years = age"])
    mapped = map_header(["Mail", "Years"], FIELDS, renames)
    assert mapped.email == 0 and mapped.fields == ((1, AGE),)


@pytest.mark.parametrize(
    ("header", "renames", "message"),
    [
        (["name"], {}, "must have an email column"),
        (["email", "EMAIL"], {}, "like an earlier one"),
        (["email"], {"nope": "Age"}, "does not have"),
    ],
)
def test_header_problems(header: list[str], renames: dict[str, str], message: str) -> None:
    with pytest.raises(MappingError, match=message):
        map_header(header, FIELDS, renames)


@pytest.mark.parametrize("option", ["Column", "=Field", "Column="])
def test_bad_map_options(option: str) -> None:
    with pytest.raises(MappingError):
        parse_map_options([option])


def _layout() -> object:
    return member_layout(map_header(["email", "age", "tags"], FIELDS), 3)


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (["nope", "1", ""], "6 to 128"),
        (["a@b.example", "x", ""], "field Age"),
        (["a@b.example", "1", "ok;" + "t" * 129], "tag name"),
        (["a@b.example", "1", "", "extra"], "4 cells but the header only 3"),
        (["", "1", ""], "email is required"),
    ],
)
def test_row_problems(cells: list[str], reason: str) -> None:
    with pytest.raises(RowProblem, match=reason):
        check_member(_layout(), cells)  # type: ignore[arg-type]


def test_short_rows_are_padded_and_tags_split_on_both_separators() -> None:
    row = check_member(_layout(), ["Ann@Example.COM", " 42 ", "a; b|a"])  # type: ignore[arg-type]
    assert row.key == "ann@example.com" and row.values[2] == "example.com"
    assert row.values[3] == 42.0 and row.tags == ("a", "b")
    assert check_member(_layout(), ["ann@example.com"]).tags is None  # type: ignore[arg-type]


@given(st.text(alphabet="ab.-@_+9Z", min_size=0, max_size=30))
def test_fast_email_path_never_accepts_what_the_rules_refuse(text: str) -> None:
    if _FAST_EMAIL.fullmatch(text) and 6 <= len(text) <= 128 and text.index("@") <= 96:
        assert email_problem(text) is None
    try:
        check_email(text)
    except RowProblem:
        assert email_problem(text) is not None
    else:
        assert email_problem(text) is None


@given(
    st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))),
    st.lists(st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.integers()),
)
def test_a_copy_row_reads_back_as_the_row_it_was_made_from(
    texts: list[str], numbers: list[float | int | None]
) -> None:
    """A fold on PostgreSQL reads the earlier row back from its COPY text: writing it again
    gives the same bytes, and its text values come back as they were."""
    values = ("a@b.example", "a@b.example", "b.example", *texts, *numbers)
    row = MemberRow("a@b.example", None, values, ("t\\1", "x"))
    copied = copy_member(row)
    back = uncopy_member(copied)
    assert copy_member(back) == copied
    assert back.values[3 : 3 + len(texts)] == tuple(texts)
    assert back.tags == row.tags
