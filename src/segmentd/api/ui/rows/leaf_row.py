"""What every kind of condition row declares: how it reads its inputs into a native leaf,
what its template needs, and how it says the leaf in plain words (``leaf_rows`` lists them).

A row's template is ``templates/leaves/<kind>.html``; its inputs are named ``<part>_<node>``
(``op_r-1-0``), where the part is the native leaf's key wherever one fits, so an error the
API reports at ``...all[1].all[0].op`` lands beside the input it is about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.datastructures import ImmutableMultiDict

from ....domain.fields import Catalog
from ....domain.ids import ascii_int
from ....storage.ui_reads import CampaignChoice, SegmentChoice

NativeLeaf = dict[str, Any]
Translate = Callable[..., str]
PERIOD_UNITS = ("days", "weeks", "months")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    disabled: bool = False


@dataclass(frozen=True)
class Picks:
    """What pickers and plain words need about the tenant: its catalog, campaigns and
    segments, and the segment being edited (never offered as a condition on itself)."""

    catalog: Catalog
    campaigns: Sequence[CampaignChoice] = ()
    segments: Sequence[SegmentChoice] = ()
    editing: str | None = None

    @property
    def campaign_names(self) -> dict[int, str]:
        return {c.id: c.name for c in self.campaigns}

    @property
    def segment_names(self) -> dict[str, str]:
        return {s.id: s.name for s in self.segments}


# A form or a query string: starlette's ``FormData`` and ``QueryParams`` both are.
FormValues = ImmutableMultiDict[str, Any]


class LeafInputs:
    """The inputs of one node of the form, by part: ``text("op")`` reads ``op_<node>``."""

    def __init__(self, form: FormValues, node: str) -> None:
        self.form, self.node = form, node

    def text(self, part: str) -> str:
        value = self.form.get(f"{part}_{self.node}")
        return value.strip() if isinstance(value, str) else ""

    def texts(self, part: str) -> list[str]:
        found = self.form.getlist(f"{part}_{self.node}")
        return [value.strip() for value in found if isinstance(value, str) and value.strip()]

    def lines(self, part: str) -> list[str]:
        """A text area's non-empty lines."""
        return [line.strip() for line in self.text(part).splitlines() if line.strip()]


def whole(text: str) -> int | str | None:
    """A whole number typed in a box: the number, None when empty, else the text as typed
    (so the API's own check words the error)."""
    if not text:
        return None
    number = ascii_int(text, 9)
    return text if number is None else number


def shown(value: Any) -> str:
    """A leaf's value as an input shows it ('' for none)."""
    return "" if value is None else str(value)


def choices(values: Iterable[str], words: Mapping[str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(value, words.get(value, value)) for value in values)


def fitted(value: Any, allowed: Sequence[str]) -> str:
    """The value a select shows: the leaf's own when offered, else the first choice."""
    return value if isinstance(value, str) and value in allowed else allowed[0]


def chosen_first(chosen: Sequence[str], others: Iterable[str]) -> list[str]:
    """A multiple select's options: the chosen ones first, in their order (a browser posts
    selected options in the order they stand), then the others sorted."""
    return [*dict.fromkeys(chosen), *sorted(set(others) - set(chosen))]


_ONE_UNIT = {"days": "day", "weeks": "week", "months": "month"}


def unit_words(amount: Any, unit: Any, _: Translate) -> str:
    """The unit as the amount wants it: "1 week", "2 weeks"."""
    text = str(unit)
    one = str(amount).strip() == "1"
    return _(_ONE_UNIT.get(text, text) if one else text)


def period_words(amount: Any, unit: Any, _: Translate) -> str:
    return f"{amount} {unit_words(amount, unit, _)}"


@dataclass(frozen=True)
class Select:
    """A select of fixed choices for one part of a leaf: its values (a leaf's value it does
    not offer shows as the first) and their words."""

    values: tuple[str, ...]
    words: Mapping[str, str] = field(default_factory=dict)

    def choices(self) -> tuple[Choice, ...]:
        return choices(self.values, self.words)

    def word(self, value: Any) -> str:
        """What the page says for ``value``: its words, else the value as it is."""
        text = shown(value)
        return self.words.get(text, text)


PERIOD_UNIT = Select(PERIOD_UNITS)


class LeafRow:
    """One kind of condition row. Subclasses set the class attributes and override what
    differs; ``kind`` is the native leaf's kind, offered only while the domain registers it.

    The common shape is data: each part but the picker's is read as the text of its input,
    the parts in ``selects`` are fitted to their choices and offered in the view under the
    part's name, and ``sentence`` says the leaf with each select's words and the other
    parts as they are (``{Member}`` being "Member" in the page's language)."""

    kind: ClassVar[str]
    label: ClassVar[str]  # in the condition picker
    group: ClassVar[str]  # the picker's group of it
    # The native keys whose inputs have an error slot of their own; the first is the
    # condition picker's (errors about other keys show under the whole condition).
    parts: ClassVar[tuple[str, ...]]
    selects: ClassVar[Mapping[str, Select]] = {}
    sentence: ClassVar[str] = ""
    # The part a member filter must be given to test anything (none: always tests).
    required: ClassVar[str | None] = None

    @property
    def template(self) -> str:
        return f"leaves/{self.kind}.html"

    def subjects(self, picks: Picks) -> list[tuple[str, Choice]]:
        """The condition picker's entries for this kind: (group, choice)."""
        return [(self.group, Choice(self.kind, self.label))]

    def subject(self, leaf: NativeLeaf) -> str:
        """The picker's value for a leaf of this kind."""
        return self.kind

    def blank(self, subject: str, picks: Picks) -> NativeLeaf:
        """A new leaf, as the picker's ``subject`` starts it."""
        return self.fit(self.read(LeafInputs(ImmutableMultiDict(), ""), subject, picks), picks)

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        """The native leaf the inputs say, as typed: the API checks it."""
        return {"kind": self.kind, **{part: inputs.text(part) for part in self.parts[1:]}}

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        """The leaf as the row shows it: each select on a value it offers (the first when
        the leaf's own is not one, as a browser would show it)."""
        fitted_parts = {part: fitted(leaf.get(part), s.values) for part, s in self.selects.items()}
        return {**leaf, **fitted_parts}

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        """What the template needs besides the (fitted) leaf: choices, converted values."""
        return {part: select.choices() for part, select in self.selects.items()}

    def said(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> dict[str, str]:
        """The words ``sentence`` is filled with."""
        words = {part: shown(leaf.get(part)) for part in self.parts[1:]}
        words.update({part: _(s.word(leaf.get(part))) for part, s in self.selects.items()})
        return {**words, "Member": _("Member")}

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        return self.sentence.format(**self.said(leaf, picks, _))

    def is_empty(self, leaf: NativeLeaf) -> bool:
        """A member filter left empty tests nothing (``member_filter``)."""
        return self.required is not None and not leaf.get(self.required)
