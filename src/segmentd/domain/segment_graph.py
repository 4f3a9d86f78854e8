"""Segments that refer to segments: the graph of a tenant's references, and its rules.

A condition may test whether a member is in another segment of its list
(``condition_types.segment_leaf``). The references must stay a shallow graph without cycles:
no segment may reach itself through references, a chain of references holds at most
``MAX_REFERENCE_DEPTH`` links, and a segment some condition refers to cannot be deleted.
Real-time updates and builds walk it in dependency order: a segment after those it refers to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import DomainValidationError, InUse

MAX_REFERENCE_DEPTH = 5  # links in a chain of references: A -> B -> C -> D -> E -> F


@dataclass(frozen=True)
class SegmentNode:
    """One segment as references see it: ``refs`` are the ids its condition refers to."""

    name: str
    list_id: int
    static: bool = False
    refs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SegmentOwner:
    """The segment a condition is checked for: its id (None for a new segment, which nothing
    refers to yet), its name as it is being saved, and its list."""

    segment_id: str | None
    name: str
    list_id: int


Graph = Mapping[str, SegmentNode]


def check_reference(owner: SegmentOwner, target: str, graph: Graph, path: str) -> None:
    """Refuse a reference from ``owner`` to ``target`` (an existing segment) that would leave
    its list, close a cycle or make a chain of references too long."""
    node = graph[target]
    if node.list_id != owner.list_id:
        message = (
            f"segment {node.name} is on list {node.list_id}: a condition refers only to "
            f"segments of its own list ({owner.list_id})"
        )
        raise DomainValidationError(path, message)
    if owner.segment_id is not None:
        cycle = _path_to(graph, target, owner.segment_id)
        if cycle is not None:
            names = [owner.name, *(_name(graph, owner, i) for i in cycle)]
            raise DomainValidationError(
                path, f"references may not form a cycle: {' -> '.join(names)}"
            )
    chain = [*_longest_above(graph, owner.segment_id), None, *_longest_below(graph, target)]
    if len(chain) - 1 > MAX_REFERENCE_DEPTH:
        names = [owner.name if i is None else _name(graph, owner, i) for i in chain]
        message = (
            f"references nest at most {MAX_REFERENCE_DEPTH} deep "
            f"({len(chain) - 1} here): {' -> '.join(names)}"
        )
        raise DomainValidationError(path, message)


def _name(graph: Graph, owner: SegmentOwner, segment_id: str) -> str:
    return owner.name if segment_id == owner.segment_id else graph[segment_id].name


def _path_to(graph: Graph, start: str, goal: str) -> list[str] | None:
    """Ids from ``start`` to ``goal`` following references, both included; None: no path."""
    seen: set[str] = set()
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        current, path = stack.pop()
        if current == goal:
            return path
        if current in seen:
            continue
        seen.add(current)
        node = graph.get(current)
        for ref in sorted(node.refs, reverse=True) if node else ():
            stack.append((ref, [*path, ref]))
    return None


def _longest_below(graph: Graph, start: str) -> list[str]:
    """The longest chain of references from ``start`` down (``start`` first)."""
    memo: dict[str, list[str]] = {}

    def below(segment_id: str, visiting: frozenset[str]) -> list[str]:
        if segment_id in memo:
            return memo[segment_id]
        node = graph.get(segment_id)
        chains = [
            below(ref, visiting | {segment_id})
            for ref in sorted(node.refs if node else ())
            if ref not in visiting  # a stored cycle cannot be saved, but never loop on one
        ]
        found = [segment_id, *max(chains, key=len, default=[])]
        memo[segment_id] = found
        return found

    return below(start, frozenset())


def _longest_above(graph: Graph, segment_id: str | None) -> list[str]:
    """The longest chain of segments referring, one to the next, to ``segment_id`` (the
    topmost first, ``segment_id`` itself left out)."""
    if segment_id is None:
        return []
    referring = _referrers_by_id(graph)

    def above(current: str, visiting: frozenset[str]) -> list[str]:
        chains = [
            above(parent, visiting | {current})
            for parent in referring.get(current, [])
            if parent not in visiting
        ]
        return [*max(chains, key=len, default=[]), current]

    return above(segment_id, frozenset())[:-1]


def _referrers_by_id(graph: Graph) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for segment_id in sorted(graph):
        for ref in graph[segment_id].refs:
            found.setdefault(ref, []).append(segment_id)
    return found


def referrers(graph: Graph, segment_id: str) -> list[str]:
    """Ids of the segments whose condition refers to ``segment_id``, by name."""
    found = [i for i, node in graph.items() if segment_id in node.refs and i != segment_id]
    return sorted(found, key=lambda i: (graph[i].name, i))


def check_deletable(graph: Graph, segment_id: str) -> None:
    """Refuse to delete a segment that conditions refer to, naming them."""
    using = referrers(graph, segment_id)
    if using:
        name = graph[segment_id].name
        names = ", ".join(graph[i].name for i in using)
        raise InUse("segment_id", f"segment {name} is used by segments: {names}")


def dependency_order(ids: Iterable[str], graph: Graph) -> list[str]:
    """``ids`` with every segment after those of ``ids`` it refers to (directly or through
    others); otherwise in id order."""
    wanted = sorted(set(ids))
    chosen = set(wanted)
    placed: list[str] = []
    done: set[str] = set()

    def place(segment_id: str, visiting: frozenset[str]) -> None:
        if segment_id in done or segment_id in visiting:
            return
        node = graph.get(segment_id)
        for ref in sorted(_reached(graph, node.refs, chosen) if node else ()):
            place(ref, visiting | {segment_id})
        done.add(segment_id)
        placed.append(segment_id)

    for segment_id in wanted:
        place(segment_id, frozenset())
    return placed


def _reached(graph: Graph, refs: frozenset[str], chosen: set[str]) -> set[str]:
    """The segments of ``chosen`` that ``refs`` reach, directly or through segments not in
    ``chosen``."""
    found: set[str] = set()
    seen: set[str] = set()
    stack = list(refs)
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in chosen:
            found.add(current)
            continue
        node = graph.get(current)
        stack.extend(node.refs if node else ())
    return found
