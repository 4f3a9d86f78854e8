"""A static segment's members given by hand on its page: the entries typed (emails and member
ids), the error beside the input it is about, and what a change did, in words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...domain.errors import DomainValidationError
from ...services.static_segments import GivenMembers

ENTRIES = "entries"  # the text area of emails and member ids
FILE = "file"  # the CSV upload
SHOWN_MISSING = 5  # entries naming no member, named in the message
_SEPARATORS = re.compile(r"[\s,;]+")

Flash = list[list[object]]  # [[phrase, values], ...], as ``rendering.render`` shows them


@dataclass(frozen=True)
class GivenForm:
    """The add form as posted (shown again with its errors, by input: ``entries``, ``file``)."""

    entries: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entries:
    emails: list[str]
    member_ids: list[str]


def read_entries(text: str) -> Entries:
    """Emails and member ids, one a line (commas, semicolons and spaces separate them too):
    digits name a member id, anything else an email; the service checks both."""
    found = [entry for entry in _SEPARATORS.split(text) if entry]
    ids = [entry for entry in found if entry.isascii() and entry.isdigit()]
    emails = [entry for entry in found if not (entry.isascii() and entry.isdigit())]
    return Entries(emails, ids)


def error_input(exc: DomainValidationError) -> str:
    """The input an error of the static segment use cases is about."""
    return FILE if exc.path.split(".")[0] == FILE else ENTRIES


def added_words(result: GivenMembers) -> Flash:
    lines: Flash = [["{n} members added to the segment.", {"n": result.changed}]]
    if result.unchanged:
        lines.append(["{n} members were in the segment already.", {"n": result.unchanged}])
    return lines + _missing_words(result)


def removed_words(result: GivenMembers) -> Flash:
    lines: Flash = [["{n} members removed from the segment.", {"n": result.changed}]]
    if result.unchanged:
        lines.append(["{n} members were not in the segment.", {"n": result.unchanged}])
    return lines + _missing_words(result)


def _missing_words(result: GivenMembers) -> Flash:
    if not result.not_found:
        return []
    sample = ", ".join(result.not_found_sample[:SHOWN_MISSING])
    if result.not_found > SHOWN_MISSING:
        sample += ", …"
    return [
        [
            "{n} emails name no member of the list: {sample}",
            {"n": result.not_found, "sample": sample},
        ]
    ]
