"""The one-condition member filter of the members page and the segment page: one leaf of
any kind the builder offers, in a GET form: its condition (answered on the analytics copy
when the back-end is set), or SQL over the members."""

from __future__ import annotations

from datetime import timezone

from sqlalchemy.sql import ColumnElement

from ...domain.conditions import Condition
from ...domain.errors import DomainValidationError
from ...domain.native_form import ALL, parse_native
from ...storage.compiler import compile_condition
from .builder import LeafView, leaf_view
from .error_slots import error_parts, error_slot
from .rows.leaf_row import FormValues, LeafInputs, Picks
from .rows.leaf_rows import SubjectGroups, blank_leaf, read_leaf, row_of, subject_groups
from .tree_form import ROOT, GroupNode, LeafNode

FILTER_NODE = "f"
# Kinds a filter does not offer: a segment membership test compiles only with the
# membership's reader of published generations, which a page's member query is not given.
LEFT_OUT = ("segment",)


def filter_leaf(params: FormValues, picks: Picks) -> LeafNode | None:
    """The filter of a GET form; None when it is off or left empty."""
    if params.get("filter") != "1":
        return None
    leaf = read_leaf(LeafInputs(params, FILTER_NODE), picks, LEFT_OUT)
    return None if row_of(leaf).is_empty(leaf) else LeafNode(FILTER_NODE, leaf)


def filter_view(node: LeafNode | None, picks: Picks) -> LeafView:
    return leaf_view(node or LeafNode(FILTER_NODE, blank_leaf(picks)), picks)


def filter_subjects(picks: Picks) -> SubjectGroups:
    """The filter's condition picker."""
    return subject_groups(picks, LEFT_OUT)


def filter_clause(
    node: LeafNode | None, picks: Picks, tz: timezone, tenant_id: int
) -> tuple[ColumnElement[bool] | None, dict[str, str]]:
    """The SQL of the filter over the tenant's members (the engagement subqueries then read
    the tenant's activity only, as the services' counts do), or the error beside its input."""
    condition, errors = filter_condition(node, picks, tz)
    if condition is None:
        return None, errors
    return compile_condition(condition, tenant_id=tenant_id), {}


def filter_condition(
    node: LeafNode | None, picks: Picks, tz: timezone
) -> tuple[Condition | None, dict[str, str]]:
    """The filter's condition (None: off), or the error beside its input."""
    if node is None:
        return None, {}
    try:
        return parse_native({ALL: [node.leaf]}, picks.catalog, tz), {}
    except DomainValidationError as exc:
        path, message = error_parts(exc)
        return None, {error_slot(path, GroupNode(ROOT, ALL, [node])): message}
