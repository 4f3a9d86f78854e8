"""Every leaf type is registered once and has all its parts: adding a type means one domain
module (``domain/condition_types``), its SQL (``storage/condition_sql``) and the two
registries."""

from __future__ import annotations

import dataclasses

from segmentd.domain.condition_types.leaf_type import ConditionType
from segmentd.domain.condition_types.leaf_types import BY_FLAT_NAME, BY_KIND, FLAT_DEFAULT, TYPES
from segmentd.storage.condition_sql.leaf_compilers import COMPILERS, MEMBERSHIP_KINDS


def test_kinds_and_leaf_classes_are_registered_once() -> None:
    assert len({t.kind for t in TYPES}) == len(TYPES)
    assert len({t.leaf for t in TYPES}) == len(TYPES)
    for condition_type in TYPES:
        assert condition_type.leaf.kind == condition_type.kind
        assert BY_KIND[condition_type.kind] is condition_type


def test_every_kind_has_a_compiler_and_every_compiler_a_kind() -> None:
    """Kinds reading another segment's membership compile with the membership's reader."""
    assert set(COMPILERS) | MEMBERSHIP_KINDS == set(BY_KIND)
    assert not set(COMPILERS) & MEMBERSHIP_KINDS


def test_every_kind_declares_every_part() -> None:
    optional = {"flat_name", "from_flat", "to_flat"}  # types of the native form only
    parts = [f.name for f in dataclasses.fields(ConditionType) if f.name not in optional]
    for condition_type in TYPES:
        for part in parts:
            assert getattr(condition_type, part) is not None, (condition_type.kind, part)
        for function in (
            "load", "dump", "from_native", "to_native", "evaluate", "reads", "describe",
            "moves_with_time",
        ):  # fmt: skip
            assert callable(getattr(condition_type, function)), (condition_type.kind, function)
        # A type has both halves of the flat form or neither.
        assert (condition_type.from_flat is None) == (condition_type.to_flat is None)


def test_the_flat_form_reaches_every_kind_it_can_say() -> None:
    """Each flat type is picked by its flat field_name, one of them by any other name (a
    field)."""
    reached = {t.kind for t in BY_FLAT_NAME.values()} | {FLAT_DEFAULT.kind}
    assert reached == {t.kind for t in TYPES if t.from_flat is not None}
    assert FLAT_DEFAULT.flat_name is None
