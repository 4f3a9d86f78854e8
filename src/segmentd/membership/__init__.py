"""Segment membership: which members each segment holds, behind one small interface.

``interface.MembershipStore`` says what a membership does (fill a generation, publish it,
apply real-time changes, read one member's segments, page, count, remove members) and what
it guarantees; ``store()`` gives the implementation in use. The relational one
(``relational``) keeps the rows in the segments' own database.

Layering: this package sits above ``storage`` (which must not import it) and below the
build job, the services and the APIs, which call it.
"""

from __future__ import annotations

from functools import cache

from .interface import FillPlan, FillRange, GenerationKey, LookupReader, MembershipStore
from .relational import RelationalMembership


@cache
def store() -> MembershipStore:
    """The membership implementation (stateless: every method takes its connection)."""
    return RelationalMembership()


__all__ = [
    "FillPlan",
    "FillRange",
    "GenerationKey",
    "LookupReader",
    "MembershipStore",
    "store",
]
