"""A campaign activity test (segments of type 1): ``opened campaign 7``. Stored by the
campaign's id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any, ClassVar

from ..conditions import Inputs, Leaf
from ..contact import CampaignActivity, Contact
from ..errors import DomainValidationError
from ..fields import SEGMENTABLE_CAMPAIGN_STATUSES, Catalog
from ..operators import CAMPAIGN_OPERATORS, Activity, Op
from .leaf_type import (
    ConditionContext,
    ConditionType,
    FlatItem,
    StoredLeaf,
    flat_item,
    quoted,
    stored_id,
)

KIND = "campaign"
FLAT_NAME = "campaign"
_NONE = CampaignActivity()


@dataclass(frozen=True)
class CampaignCondition(Leaf):
    campaign_id: int
    activity: Activity
    kind: ClassVar[str] = KIND


def load(raw: StoredLeaf, ctx: ConditionContext, path: str) -> CampaignCondition:
    """A campaign cancelled since the segment was saved still selects its recipients: its
    activity does not change."""
    campaign_id = stored_id(raw, "campaign", path)
    if campaign_id not in ctx.catalog.campaigns:
        raise DomainValidationError(f"{path}.campaign", f"campaign {campaign_id} does not exist")
    return CampaignCondition(campaign_id, _activity(raw, path))


def from_native(raw: Mapping[str, Any], ctx: ConditionContext, path: str) -> CampaignCondition:
    """As stored, and the campaign must have sent mail, as in the flat form."""
    campaign_id = stored_id(raw, "campaign", path)
    _check_sent(ctx.catalog, campaign_id, f"{path}.campaign")
    return CampaignCondition(campaign_id, _activity(raw, path))


def _activity(raw: Mapping[str, Any], path: str) -> Activity:
    activity = raw.get("activity")
    if activity not in tuple(Activity):
        raise DomainValidationError(
            f"{path}.activity", f"activity must be one of {quoted(Activity)}"
        )
    return Activity(activity)


def _check_sent(catalog: Catalog, campaign_id: int, path: str) -> None:
    status = catalog.campaigns.get(campaign_id)
    if status is None:
        raise DomainValidationError(path, f"campaign {campaign_id} does not exist")
    if status not in SEGMENTABLE_CAMPAIGN_STATUSES:
        raise DomainValidationError(
            path, f"campaign {campaign_id} is {status}: it must be sending or completed"
        )


def dump(leaf: CampaignCondition) -> dict[str, Any]:
    return {"kind": KIND, "campaign": leaf.campaign_id, "activity": str(leaf.activity)}


def to_native(raw: StoredLeaf, catalog: Catalog) -> dict[str, Any]:
    return dict(raw)


def from_flat(
    raw: Mapping[str, Any], op: Op, value: str, catalog: Catalog, tz: timezone, path: str
) -> CampaignCondition:
    if op not in CAMPAIGN_OPERATORS:
        raise DomainValidationError(f"{path}.op", "op must be == when field_name is campaign")
    if value not in tuple(Activity):
        raise DomainValidationError(f"{path}.value", f"value must be one of {quoted(Activity)}")
    campaign_id = raw.get("campaign_id")
    if isinstance(campaign_id, bool) or not isinstance(campaign_id, int):
        raise DomainValidationError(
            f"{path}.campaign_id", "campaign_id is required when field_name is campaign"
        )
    _check_sent(catalog, campaign_id, f"{path}.campaign_id")
    return CampaignCondition(campaign_id, Activity(value))


def to_flat(raw: StoredLeaf, catalog: Catalog) -> FlatItem:
    campaign_id = raw.get("campaign")
    return flat_item(
        campaign_id if isinstance(campaign_id, int) else None,
        FLAT_NAME,
        str(Op.EQ),
        str(raw.get("activity")),
    )


def evaluate(leaf: CampaignCondition, contact: Contact) -> bool:
    activity = contact.campaigns.get(leaf.campaign_id, _NONE)
    match leaf.activity:
        case Activity.SENT:
            return activity.sent
        case Activity.OPEN:
            return activity.opened
        case Activity.CLICK:
            return activity.clicked
        case Activity.UNOPEN:
            return activity.sent and not activity.opened
        case Activity.UNCLICK:
            return activity.sent and not activity.clicked
        case _:
            return not activity.sent


def reads(leaf: CampaignCondition) -> Inputs:
    return Inputs(campaigns=True)


def describe(leaf: CampaignCondition) -> str:
    return f"campaign {leaf.campaign_id} {leaf.activity}"


CAMPAIGN = ConditionType(
    kind=KIND,
    leaf=CampaignCondition,
    flat_name=FLAT_NAME,
    load=load,
    dump=dump,
    from_native=from_native,
    to_native=to_native,
    evaluate=evaluate,
    reads=reads,
    describe=describe,
    from_flat=from_flat,
    to_flat=to_flat,
)
