"""Subscription status: whether the member unsubscribed (has an UnsubscribeTime). The stored
and native forms are the same; no flat form."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from ..conditions import Inputs, Leaf
from ..contact import Contact
from ..errors import DomainValidationError
from ..fields import Catalog, SystemField
from .leaf_type import ConditionContext, ConditionType, StoredLeaf, quoted

KIND = "subscription"
UNSUBSCRIBED_KEY = SystemField.UNSUBSCRIBE_TIME.casefold()  # the field it reads


class Status(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True)
class SubscriptionCondition(Leaf):
    status: Status
    kind: ClassVar[str] = KIND


def load(raw: StoredLeaf, ctx: ConditionContext, path: str) -> SubscriptionCondition:
    status = raw.get("status")
    if status not in tuple(Status):
        raise DomainValidationError(f"{path}.status", f"status must be one of {quoted(Status)}")
    return SubscriptionCondition(Status(status))


def dump(leaf: SubscriptionCondition) -> dict[str, Any]:
    return {"kind": KIND, "status": str(leaf.status)}


def to_native(raw: StoredLeaf, catalog: Catalog) -> dict[str, Any]:
    return dict(raw)


def evaluate(leaf: SubscriptionCondition, contact: Contact) -> bool:
    unsubscribed = contact.values.get(UNSUBSCRIBED_KEY) is not None
    return unsubscribed == (leaf.status is Status.UNSUBSCRIBED)


def reads(leaf: SubscriptionCondition) -> Inputs:
    return Inputs(fields=frozenset({UNSUBSCRIBED_KEY}))


def describe(leaf: SubscriptionCondition) -> str:
    return str(leaf.status)


SUBSCRIPTION = ConditionType(
    kind=KIND,
    leaf=SubscriptionCondition,
    flat_name=None,
    load=load,
    dump=dump,
    from_native=load,  # the same form
    to_native=to_native,
    evaluate=evaluate,
    reads=reads,
    describe=describe,
)
