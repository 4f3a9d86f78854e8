"""SQL of a segment membership test: whether the referenced segment's published generation
holds the member.

Only the membership knows how a generation's rows say that (they may be its complement), so
the caller of ``storage.compiler`` passes a ``PublishedMembership``: the membership's reader,
bound to the transaction the SQL runs in. The referenced condition is never inlined: a
reference costs one look-up per member, however deep the chain behind it.
"""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.segment_leaf import SegmentCondition, SegmentOp
from .leaf_compiler import IdRange


class PublishedMembership(Protocol):
    def __call__(self, segment_id: str, ids: IdRange | None) -> ColumnElement[bool]:
        """A boolean over ``members``, never NULL: the segment's published generation holds
        the member (``ids`` = (lo, hi] when the caller keeps ``members.id`` in it)."""
        ...


class NoMembership(ValueError):
    """A condition reading segment membership was compiled without the membership's reader."""


def compile_segment(
    condition: SegmentCondition, ids: IdRange | None, published: PublishedMembership | None
) -> ColumnElement[bool]:
    if published is None:
        raise NoMembership("a segment membership test compiles only with the membership's reader")
    held = published(condition.segment_id, ids)
    return held if condition.op is SegmentOp.IN else sa.not_(held)
