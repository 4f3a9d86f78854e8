"""In-memory evaluation of a condition against one member (real-time updates, look-ups).

Must agree with ``segmentd.storage.compiler`` on every input; a property test holds them
together. Each leaf type evaluates itself (``condition_types``); this walks the groups.
"""

from __future__ import annotations

from collections.abc import Callable

from .condition_types.leaf_types import TYPES
from .conditions import Condition, Group, Leaf, Not
from .contact import Contact
from .operators import Relation

# A dict lookup per leaf: the real-time path runs this for every changed member.
_EVALUATORS: dict[type[Leaf], Callable[[Leaf, Contact], bool]] = {t.leaf: t.evaluate for t in TYPES}


def evaluate(condition: Condition, contact: Contact) -> bool:
    if type(condition) is Group:
        results = (evaluate(item, contact) for item in condition.items)
        return all(results) if condition.relation is Relation.AND else any(results)
    if type(condition) is Not:
        return not evaluate(condition.item, contact)
    return _EVALUATORS[type(condition)](condition, contact)  # type: ignore[index, arg-type]
