"""Every kind of condition row, registered once, and the condition picker they make up.

A row is offered only while the domain registers its kind
(``domain.condition_types.leaf_types``): rows written for kinds still to come stay out of
the picker until then. Adding a kind to the builder is one row module, one template
(``templates/leaves/<kind>.html``) and one line here.
"""

from __future__ import annotations

from collections.abc import Collection

from ....domain.condition_types.leaf_types import BY_KIND
from ....domain.fields import SystemField
from .campaign_row import CAMPAIGN_ROW
from .engagement_row import ENGAGEMENT_ROW
from .field_row import FIELD_ROW, PREFIX
from .last_activity_row import LAST_ACTIVITY_ROW
from .leaf_row import Choice, LeafInputs, LeafRow, NativeLeaf, Picks
from .raw_row import RAW_ROW
from .segment_row import SEGMENT_ROW
from .subscription_row import SUBSCRIPTION_ROW
from .tag_row import TAG_ROW
from .tags_row import TAGS_ROW

ROWS: tuple[LeafRow, ...] = (
    FIELD_ROW,
    TAG_ROW,
    TAGS_ROW,
    CAMPAIGN_ROW,
    ENGAGEMENT_ROW,
    LAST_ACTIVITY_ROW,
    SUBSCRIPTION_ROW,
    SEGMENT_ROW,
)
DEFAULT_SUBJECT = PREFIX + SystemField.EMAIL

SubjectGroups = tuple[tuple[str, tuple[Choice, ...]], ...]


def offered(leave_out: Collection[str] = ()) -> tuple[LeafRow, ...]:
    """The rows whose kind the domain registers, in the picker's order, but those of the
    kinds ``leave_out``."""
    return tuple(row for row in ROWS if row.kind in BY_KIND and row.kind not in leave_out)


def row_of(leaf: NativeLeaf) -> LeafRow:
    """The row that shows a native leaf: its kind's, or the read-only JSON row."""
    kind = leaf.get("kind")
    return next((row for row in offered() if row.kind == kind), RAW_ROW)


def read_leaf(inputs: LeafInputs, picks: Picks, leave_out: Collection[str] = ()) -> NativeLeaf:
    """The native leaf one node's inputs say (its picker names the row that reads them; a
    kind left out reads as the JSON row, which the parser then refuses unless it holds one)."""
    subject = inputs.text("subject")
    kind = subject.partition(":")[0]
    row = next((row for row in offered(leave_out) if row.kind == kind), RAW_ROW)
    return row.read(inputs, subject, picks)


def blank_leaf(picks: Picks) -> NativeLeaf:
    """A new condition: a test of the first system field."""
    return FIELD_ROW.blank(DEFAULT_SUBJECT, picks)


def subject_groups(picks: Picks, leave_out: Collection[str] = ()) -> SubjectGroups:
    """The condition picker: every offered row's entries, in groups, in order."""
    groups: dict[str, list[Choice]] = {}
    for row in offered(leave_out):
        for group, choice in row.subjects(picks):
            groups.setdefault(group, []).append(choice)
    return tuple((group, tuple(found)) for group, found in groups.items())
