"""Recency across campaigns: ``last open more than 60 days ago``, ``never clicked``.

Over the latest time the member was sent, opened or clicked any campaign (``engaged``: opened
or clicked), with D = today less the period, in the tenant's zone: ``in_last`` holds when
that time falls on day D or later, ``more_than_ago`` when it falls before day D, ``never``
when there is none. The three split every member exactly; ``more_than_ago`` leaves out who
never did it. Native form = stored form: campaigns are not named.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from ..campaign_events import CampaignEvent, event_time
from ..conditions import Inputs, Leaf
from ..contact import Contact
from ..errors import DomainValidationError
from ..fields import Catalog
from ..relative_days import Period
from .leaf_type import ConditionContext, ConditionType, StoredLeaf, quoted
from .window_start import dump_period, parse_period, said, window_start

KIND = "last_activity"


class RecencyOp(StrEnum):
    IN_LAST = "in_last"
    MORE_THAN_AGO = "more_than_ago"
    NEVER = "never"


@dataclass(frozen=True)
class LastActivityCondition(Leaf):
    activity: CampaignEvent
    op: RecencyOp
    period: Period | None  # None for never
    since: int | None  # the first second of day D (today less the period), from load
    kind: ClassVar[str] = KIND


def load(raw: StoredLeaf, ctx: ConditionContext, path: str) -> LastActivityCondition:
    activity = raw.get("activity")
    if activity not in tuple(CampaignEvent):
        raise DomainValidationError(
            f"{path}.activity", f"activity must be one of {quoted(CampaignEvent)}"
        )
    op = raw.get("op")
    if op not in tuple(RecencyOp):
        raise DomainValidationError(f"{path}.op", f"op must be one of {quoted(RecencyOp)}")
    if op == RecencyOp.NEVER:
        for key in ("amount", "unit"):
            if key in raw:
                raise DomainValidationError(f"{path}.{key}", f"op never takes no {key}")
        return LastActivityCondition(CampaignEvent(activity), RecencyOp.NEVER, None, None)
    period = parse_period(raw, path)
    since = window_start(period, ctx)
    return LastActivityCondition(CampaignEvent(activity), RecencyOp(op), period, since)


def dump(leaf: LastActivityCondition) -> dict[str, Any]:
    found = {"kind": KIND, "activity": str(leaf.activity), "op": str(leaf.op)}
    return found if leaf.period is None else {**found, **dump_period(leaf.period)}


def to_native(raw: StoredLeaf, catalog: Catalog) -> dict[str, Any]:
    return dict(raw)


def latest(activity: CampaignEvent, contact: Contact) -> int | None:
    times = (event_time(a, activity) for a in contact.campaigns.values())
    return max((t for t in times if t is not None), default=None)


def evaluate(leaf: LastActivityCondition, contact: Contact) -> bool:
    last = latest(leaf.activity, contact)
    if last is None or leaf.since is None:
        return last is None and leaf.op is RecencyOp.NEVER
    return (last >= leaf.since) == (leaf.op is RecencyOp.IN_LAST)


def reads(leaf: LastActivityCondition) -> Inputs:
    return Inputs(campaigns=True)


def describe(leaf: LastActivityCondition) -> str:
    if leaf.period is None:
        return f"never {leaf.activity}"
    if leaf.op is RecencyOp.IN_LAST:
        return f"last {leaf.activity} in the last {said(leaf.period)}"
    return f"last {leaf.activity} more than {said(leaf.period)} ago"


def moves_with_time(leaf: LastActivityCondition) -> bool:
    return leaf.period is not None


LAST_ACTIVITY = ConditionType(
    kind=KIND,
    leaf=LastActivityCondition,
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
