"""Whether a change to a member's fields can change a condition's answer for it, known from
the fields alone: before the member's tags, activity or memberships are read.

A condition's answer is a function of its leaves' answers. A leaf that reads nothing the
change touched answers as before; if every leaf that does read something touched answers the
same for the values before and after, so does the whole condition, whatever the others say.
"""

from __future__ import annotations

from collections.abc import Sequence

from .condition_types.leaf_types import BY_LEAF
from .conditions import Condition, Inputs, Leaf, leaves
from .contact import Contact

LeafInputs = tuple[tuple[Leaf, Inputs], ...]  # each leaf of a condition with what it reads


def leaf_inputs(condition: Condition) -> LeafInputs:
    """The condition's leaves with what each reads (kept with a parsed condition)."""
    return tuple((leaf, BY_LEAF[type(leaf)].reads(leaf)) for leaf in leaves(condition))


def may_answer_differently(
    pairs: Sequence[tuple[Leaf, Inputs]], touched: Inputs, before: Contact, after: Contact
) -> bool:
    """False when every leaf of ``pairs`` reading what ``touched`` names is a leaf of fields
    alone that answers the same for ``before`` and ``after`` (field values only); True
    otherwise (the answer may differ, the caller must look)."""
    for leaf, reads in pairs:
        if not reads.overlaps(touched):
            continue
        if reads.tags or reads.campaigns or reads.segments:
            return True  # only the fields before are known
        evaluate = BY_LEAF[type(leaf)].evaluate
        if evaluate(leaf, before) != evaluate(leaf, after):
            return True
    return False
