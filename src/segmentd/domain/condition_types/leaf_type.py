"""What every leaf type declares (``leaf_types`` lists them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timezone
from typing import Any

from ..conditions import Inputs, Leaf
from ..contact import Contact
from ..errors import DomainValidationError
from ..fields import Catalog
from ..operators import Op
from ..segment_graph import SegmentOwner

StoredLeaf = Mapping[str, Any]
FlatItem = dict[str, Any]


@dataclass(frozen=True)
class ConditionContext:
    """What a leaf is read against: the tenant's catalog, its time zone, and the day
    (in that zone) relative dates count from. A tree read on another day may differ.
    ``owner``: the segment the condition is being saved for, whose references must obey the
    rules of ``segment_graph`` (None: a condition already saved, or no segment's)."""

    catalog: Catalog
    tz: timezone
    today: date
    owner: SegmentOwner | None = None


def _never(leaf: Any) -> bool:
    return False


@dataclass(frozen=True)
class ConditionType:
    kind: str  # the stored and native forms' "kind"
    leaf: type[Leaf]
    # The flat form's field_name that picks this type; None: any other name (a field's),
    # or no flat form at all (``from_flat`` None).
    flat_name: str | None
    # (stored leaf, context, path): the stored form, naming things by stable keys and ids.
    load: Callable[[StoredLeaf, ConditionContext, str], Leaf]
    dump: Callable[[Any], dict[str, Any]]
    # (native leaf, context, path): the native API's form, naming things as users do.
    from_native: Callable[[Mapping[str, Any], ConditionContext, str], Leaf]
    # (stored leaf, catalog): the native form of a stored leaf, by current names.
    to_native: Callable[[StoredLeaf, Catalog], dict[str, Any]]
    evaluate: Callable[[Any, Contact], bool]
    reads: Callable[[Any], Inputs]
    describe: Callable[[Any], str]
    # (item, op, value, catalog, tz, path): op and value already checked to be an Op and text.
    from_flat: Callable[[Mapping[str, Any], Op, str, Catalog, timezone, str], Leaf] | None = None
    # None from to_flat: this leaf is one the flat form cannot say (a native-only operator).
    to_flat: Callable[[StoredLeaf, Catalog], FlatItem | None] | None = None
    # Whether the leaf's answer for a member can change as days pass, with no change to
    # the member (relative dates, recency): such segments are refreshed each day.
    moves_with_time: Callable[[Any], bool] = _never


def flat_item(campaign_id: int | None, field_name: str, op: str, value: str) -> FlatItem:
    """One flat item, its keys in the order clients have always read them."""
    return {"campaign_id": campaign_id, "field_name": field_name, "op": op, "value": value}


def stored_op(raw: StoredLeaf, allowed: tuple[Op, ...], path: str) -> Op:
    op = raw.get("op")
    if op not in allowed:
        raise DomainValidationError(f"{path}.op", f"op must be one of {quoted(allowed)}")
    return Op(op)


def stored_id(raw: StoredLeaf, key: str, path: str) -> int:
    found = raw.get(key)
    if isinstance(found, bool) or not isinstance(found, int):
        raise DomainValidationError(f"{path}.{key}", f"{key} must be an id")
    return found


def quoted(values: Any) -> str:
    return ", ".join(str(v) for v in values)
