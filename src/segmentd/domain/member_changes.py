"""What a write did to some members: the news a real-time membership update works from.

Storage writers compute it with their change (they read the values before and after in the
same statement as the update) and return it; the service that called them hands it to the
membership in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .conditions import Inputs
from .fields import Catalog
from .values import Typed


@dataclass(frozen=True)
class Change:
    """What a writer knows of its change to one member: what it touched and, when it read
    them, the member's field values before and after (by field key)."""

    touched: Inputs
    values_before: Mapping[str, Typed | None] | None = None
    values_after: Mapping[str, Typed | None] | None = None


@dataclass(frozen=True)
class MembersChanged:
    """Members a write changed, and what the writer knows of it.

    ``catalog``: the tenant's, if the writer read it in this transaction and it still holds;
    ``list_id``: the one list of all the members, if known; ``changes``: what is known of the
    change to some of them (members not in it face every segment); ``created``: the members
    the write inserted.
    """

    member_ids: Sequence[int]
    catalog: Catalog | None = None
    list_id: int | None = None
    changes: Mapping[int, Change] | None = None
    created: Collection[int] = ()
