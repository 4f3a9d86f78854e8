"""A rebuild applied to the published generation in place: only the members who enter and
leave are written (rows, bucket counts, ``member_total``, the history with the cause
"build"), in the caller's transaction.

Who enters and leaves is given (the analytics back-end compared the condition's answer with
its copy of the membership), but for ``unsure`` members, whose answer the system of record
gives here. Each member named is checked against the generation's rows as they are now, so
a member already where the difference would put it is left alone: the write is exact for
every member named, whatever the copy held.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.conditions import Condition
from ..storage.compiler import compile_condition
from ..storage.id_lists import id_rows
from ..storage.schema import members, segment_exclusions
from .complement import holds, row_of
from .generation_rows import Changes, apply_changes
from .interface import GenerationKey, Rebuilt
from .references import PublishedReader


def apply_difference(
    conn: Connection,
    key: GenerationKey,
    list_id: int,
    horizon: int,
    condition: Condition,
    named: tuple[Collection[int], Collection[int], Collection[int]],
) -> Rebuilt:
    """Make the published generation ``key`` (stored as a complement up to ``horizon``) hold
    the entered members of ``named`` = (entered, left, unsure) and not the left ones, and
    hold each unsure one as ``condition`` answers on the system of record (less the members
    removed by hand)."""
    entered, left, unsure = (frozenset(ids) for ids in named)
    candidates = entered | left | unsure
    if not candidates:
        return Rebuilt(frozenset(), frozenset(), 0)
    chosen = _evaluated(conn, key.tenant_id, list_id, condition, unsure)
    moves: list[tuple[int, bool]] = []
    holding: set[int] = set()
    for member_id, present, excluded in _current(conn, key, list_id, candidates):
        answer = chosen if member_id in unsure else entered
        wanted = member_id in answer and not excluded
        if wanted:
            holding.add(member_id)
        if wanted != holds(present, member_id, horizon):
            moves.append((member_id, wanted))
    moved = write_moves(conn, key, horizon, moves)
    return Rebuilt(frozenset(holding), candidates - holding, moved)


def write_moves(
    conn: Connection, key: GenerationKey, horizon: int, moves: Iterable[tuple[int, bool]]
) -> int:
    """Move each (member id, held after) of ``moves``, members whose membership of the
    published generation ``key`` (a complement up to ``horizon``) changes: its rows, bucket
    counts, ``member_total`` and history (cause "build"), in ``conn``; how many moved."""
    changes = Changes()
    for member_id, wanted in moves:
        row = (key.segment_id, key.generation, member_id)
        (changes.joined if wanted else changes.left).append(row)
        # Above the horizon a row is a member; at or below it, a member left out.
        (changes.added if (member_id > horizon) == wanted else changes.removed).append(row)
    published = {key.segment_id: key.generation}
    apply_changes(
        conn, key.tenant_id, changes, published, {key.segment_id: key.segment_number}, "build"
    )
    return len(changes.joined) + len(changes.left)


def _current(
    conn: Connection, key: GenerationKey, list_id: int, candidates: frozenset[int]
) -> list[tuple[int, bool, bool]]:
    """(member id, has a row in the generation, removed by hand) of each candidate in the
    list, in one statement (the ids as one parameter)."""
    named = members.c.id.in_(id_rows(conn.dialect.name, candidates, "candidates"))
    m, ex = members.c, segment_exclusions.c
    present = row_of(key.tenant_id, key.segment_number, key.generation, m.id)
    excluded = sa.exists().where(
        ex.tenant_id == key.tenant_id, ex.segment_id == key.segment_id, ex.member_id == m.id
    )
    query = sa.select(m.id, present, excluded).where(
        m.tenant_id == key.tenant_id, m.list_id == list_id, named
    )
    return [(int(i), bool(p), bool(e)) for i, p, e in conn.execute(query)]


def _evaluated(
    conn: Connection, tenant_id: int, list_id: int, condition: Condition, ids: frozenset[int]
) -> set[int]:
    """The members of ``ids`` in the list the condition holds for, on the system of record."""
    if not ids:
        return set()
    named = members.c.id.in_(id_rows(conn.dialect.name, ids, "unsure"))
    m = members.c
    bounds = (min(ids) - 1, max(ids))
    test: Any = compile_condition(
        condition, bounds, tenant_id, segments=PublishedReader(conn, tenant_id)
    )
    query = sa.select(m.id).where(m.tenant_id == tenant_id, m.list_id == list_id, named, test)
    return {int(i) for i in conn.execute(query).scalars()}
