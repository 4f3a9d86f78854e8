"""An engagement count across campaigns: ``opened at least 3 campaigns in the last 30 days``.

How many distinct campaigns the member was sent, opened or clicked (ever, or with the time
of that event at or after the start of the day ``within`` before today, in the tenant's
zone), compared with ``count``. Missing activity counts 0. Native form = stored form:
campaigns are not named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from ..campaign_events import COUNTED, CampaignEvent, event_time
from ..conditions import Inputs, Leaf
from ..contact import Contact
from ..errors import DomainValidationError
from ..fields import Catalog
from ..relative_days import Period
from .leaf_type import ConditionContext, ConditionType, StoredLeaf, quoted
from .window_start import dump_period, parse_period, said, window_start

KIND = "engagement"
MAX_COUNT = 10_000


class CountOp(StrEnum):
    GE = ">="
    LE = "<="
    EQ = "=="
    GT = ">"
    LT = "<"


@dataclass(frozen=True)
class EngagementCondition(Leaf):
    activity: CampaignEvent  # one of COUNTED
    count_op: CountOp
    count: int
    within: Period | None  # None: ever
    since: int | None  # the window's first second (start of day today - within), from load
    kind: ClassVar[str] = KIND


def load(raw: StoredLeaf, ctx: ConditionContext, path: str) -> EngagementCondition:
    activity = raw.get("activity")
    if activity not in COUNTED:
        raise DomainValidationError(
            f"{path}.activity", f"activity must be one of {quoted(COUNTED)}"
        )
    count_op = raw.get("count_op")
    if count_op not in tuple(CountOp):
        raise DomainValidationError(
            f"{path}.count_op", f"count_op must be one of {quoted(CountOp)}"
        )
    count = raw.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
        raise DomainValidationError(
            f"{path}.count", f"count must be a whole number from 0 to {MAX_COUNT}"
        )
    within = _within(raw.get("within"), f"{path}.within")
    since = None if within is None else window_start(within, ctx)
    return EngagementCondition(CampaignEvent(activity), CountOp(count_op), count, within, since)


def _within(raw: Any, path: str) -> Period | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise DomainValidationError(path, "within must be null or an object with amount and unit")
    return parse_period(raw, path)


def dump(leaf: EngagementCondition) -> dict[str, Any]:
    return {
        "kind": KIND,
        "activity": str(leaf.activity),
        "count_op": str(leaf.count_op),
        "count": leaf.count,
        "within": None if leaf.within is None else dump_period(leaf.within),
    }


def to_native(raw: StoredLeaf, catalog: Catalog) -> dict[str, Any]:
    return dict(raw)


def counted(leaf: EngagementCondition, contact: Contact) -> int:
    """How many of the member's campaigns record the event in the window."""
    times = (event_time(activity, leaf.activity) for activity in contact.campaigns.values())
    since = leaf.since
    return sum(1 for t in times if t is not None and (since is None or t >= since))


def compare(op: CountOp, actual: int, wanted: int) -> bool:
    match op:
        case CountOp.GE:
            return actual >= wanted
        case CountOp.LE:
            return actual <= wanted
        case CountOp.EQ:
            return actual == wanted
        case CountOp.GT:
            return actual > wanted
        case _:
            return actual < wanted


def evaluate(leaf: EngagementCondition, contact: Contact) -> bool:
    return compare(leaf.count_op, counted(leaf, contact), leaf.count)


def reads(leaf: EngagementCondition) -> Inputs:
    return Inputs(campaigns=True)


def describe(leaf: EngagementCondition) -> str:
    window = "ever" if leaf.within is None else f"in the last {said(leaf.within)}"
    return f"{leaf.activity} campaigns {leaf.count_op} {leaf.count} {window}"


def moves_with_time(leaf: EngagementCondition) -> bool:
    return leaf.within is not None


ENGAGEMENT = ConditionType(
    kind=KIND,
    leaf=EngagementCondition,
    flat_name=None,
    load=load,
    dump=dump,
    from_native=load,
    to_native=to_native,
    evaluate=evaluate,
    reads=reads,
    describe=describe,
    moves_with_time=moves_with_time,
)
