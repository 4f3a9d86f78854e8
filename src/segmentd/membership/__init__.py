"""Segment membership: which members each segment holds, behind one small interface.

``interface.MembershipStore`` says what a membership does (fill a generation, publish it,
refresh it for a new day, apply real-time changes, read one member's segments, page, count,
remove members) and what it guarantees; ``store()`` gives the implementation in use. The
relational one (``relational``) keeps the rows in the segments' own database.

The package itself is the interface; its modules are the implementation's, and a caller
outside it imports only from ``segmentd.membership`` (an import-linter contract says so):

- ``MembershipStore``, ``store()`` and the types its methods take (``FillPlan``,
  ``FillRange``, ``GenerationKey``, ``LookupReader``, ``RefreshTarget``, and
  ``MemberAnswer``: a build's members selected elsewhere, asked one range at a time;
  ``RangeAnswers``: a daily refresh's, one range for all its segments; ``Rebuilt``: what a
  rebuild in place left);
- ``build_horizon(complement, cursor)``: the horizon a build's publish takes, its cursor
  when the generation is stored as a complement, else 0;
- ``STALE_CHUNK``: the default number of stale rows deleted per transaction by the cleanup
  of stale generations;
- ``read_changes`` and ``Change``: the membership history's change feed, read with a keyset
  cursor (``storage.membership_history``, written in every membership change's transaction
  by ``storage.change_log``).

Layering: this package sits above ``storage`` (which must not import it) and below the
build job, the services and the APIs, which call it.
"""

from __future__ import annotations

from functools import cache

from ..storage.membership_history import Change, read_changes
from .complement import build_horizon
from .interface import (
    FillPlan,
    FillRange,
    GenerationKey,
    LookupReader,
    MemberAnswer,
    MembershipStore,
    RangeAnswers,
    Rebuilt,
    RefreshTarget,
)
from .relational import RelationalMembership
from .stale import STALE_CHUNK


@cache
def store() -> MembershipStore:
    """The membership implementation (stateless: every method takes its connection)."""
    return RelationalMembership()


__all__ = [
    "STALE_CHUNK",
    "Change",
    "FillPlan",
    "FillRange",
    "GenerationKey",
    "LookupReader",
    "MemberAnswer",
    "MembershipStore",
    "RangeAnswers",
    "Rebuilt",
    "RefreshTarget",
    "build_horizon",
    "read_changes",
    "store",
]
