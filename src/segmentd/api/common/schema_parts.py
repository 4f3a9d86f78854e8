"""JSON Schema pieces that state, in ``/openapi.json``, the rules the endpoints enforce by hand.

Request fields the endpoints check themselves (to answer EngageLab's ``[path]:reason``) are
typed ``Any`` in Python and documented with these exact schemas (``WithJsonSchema``).
"""

from __future__ import annotations

from typing import Any

from ...domain.ids import MAX_ID

# The rule of ``domain.text`` as a pattern: no NUL. Lone surrogates are refused too, but a pattern
# cannot name them portably (Rust and Python engines refuse or ignore \\ud800 ranges), so the
# descriptions say it (TEXT_RULE).
TEXT_PATTERN = r"^[^\u0000]*$"
TEXT_RULE = "No NUL character and no lone surrogate (\\ud800 to \\udfff)."
# An id as a JSON number; ids in bodies may also be a string of up to 15 ASCII digits, not
# all zeros (a length bound, not a look-ahead: see not_blank_pattern).
ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
ID_DIGITS: dict[str, Any] = {"type": "string", "pattern": r"^0*[1-9][0-9]*$", "maxLength": 15}


# Any JSON value held to the text rule (the component is added by ``api.openapi``).
STORABLE_JSON: dict[str, Any] = {"$ref": "#/components/schemas/StorableJson"}


def reported_items(rules: dict[str, Any]) -> dict[str, Any]:
    """Items of a list whose items are checked one by one, each failure reported in the
    answer's ``errors`` while the others are stored: any JSON value is accepted, and
    ``x-item-rules`` states what an item must be to be stored."""
    return {**STORABLE_JSON, "x-item-rules": rules}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def text(min_length: int = 0, max_length: int | None = None, **extra: Any) -> dict[str, Any]:
    """A string held to the text rule, with optional length bounds."""
    schema: dict[str, Any] = {"type": "string", "pattern": TEXT_PATTERN, **extra}
    if min_length:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def not_blank_pattern(refused: str) -> str:
    """A pattern matching strings of characters outside the class body ``refused`` (such as
    ``\\u0000-\\u001f``) with at least one that is not white space. Spelled without a look-ahead:
    generators (Hypothesis, schemathesis) cannot draw a string of a given length from one, and
    look-arounds are outside JSON Schema's interoperable subset of regular expressions."""
    return rf"^[^{refused}]*[^\s{refused}][^{refused}]*$"


def non_blank(max_length: int) -> dict[str, Any]:
    """1 to ``max_length`` characters, not all white space, held to the text rule."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "pattern": not_blank_pattern(r"\u0000"),
    }


def one_of_strings(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [str(value) for value in values]}


def case_insensitive(word: str) -> str:
    """A pattern piece matching ``word`` in any letter case (JSON Schema has no flags)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)
