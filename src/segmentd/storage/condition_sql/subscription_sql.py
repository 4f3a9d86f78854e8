"""SQL of the subscription status: whether ``members.unsubscribed_at`` is set."""

from __future__ import annotations

from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.subscription_leaf import Status, SubscriptionCondition
from ..schema import members
from .leaf_compiler import IdRange


def compile_subscription(
    condition: SubscriptionCondition, ids: IdRange | None, tenant_id: int | None
) -> ColumnElement[bool]:
    unsubscribed = members.c.unsubscribed_at
    if condition.status is Status.UNSUBSCRIBED:
        return unsubscribed.is_not(None)
    return unsubscribed.is_(None)
