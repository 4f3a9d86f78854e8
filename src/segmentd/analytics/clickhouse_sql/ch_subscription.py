"""ClickHouse SQL of the subscription status: whether ``unsubscribed_at`` is set."""

from __future__ import annotations

from ...domain.condition_types.subscription_leaf import Status, SubscriptionCondition
from .ch_leaf_compiler import Scope


def compile_subscription_ch(condition: SubscriptionCondition, scope: Scope) -> str:
    if condition.status is Status.UNSUBSCRIBED:
        return "isNotNull(unsubscribed_at)"
    return "isNull(unsubscribed_at)"
