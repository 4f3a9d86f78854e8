"""Sorted member ids packed as a block of the membership history (``schema.history_blocks``).

A block holds at most ``BLOCK`` ids, sorted: its first (``lo``) and last (``hi``), the range's
``level`` (``(hi - lo).bit_length()``), and each id's offset from ``lo`` in the narrowest
unsigned width that holds the range, little-endian whatever the machine (a database file
moves between machines). A block of level L holding member M starts in ``(M - 2^L, M]``: the
member index ``(tenant_id, level, lo, hi)`` finds a member's blocks one window per level.
The offsets are searched in place (bisection over a ``memoryview``), never decoded whole.
"""

from __future__ import annotations

import bisect
import sys
from array import array
from collections.abc import Iterator, Sequence
from typing import Literal, NamedTuple

# Ids a block holds at most: a member's history reads a candidate block per publish and
# level, so smaller blocks read less; a publish writes a row per block.
BLOCK = 128
# Levels 0 to 63: ids are non-negative 64-bit integers.
LEVELS = 64
Code = Literal["B", "H", "I", "Q"]
_WIDTHS: tuple[tuple[Code, int], ...] = (("B", 8), ("H", 16), ("I", 32), ("Q", 64))
_LITTLE = sys.byteorder == "little"
assert all(array(code).itemsize * 8 == bits for code, bits in _WIDTHS)


def level_of(lo: int, hi: int) -> int:
    return (hi - lo).bit_length()


def _code(level: int) -> Code:
    return next(code for code, bits in _WIDTHS if level <= bits)


def encode(ids: Sequence[int]) -> tuple[int, int, int, bytes]:
    """(lo, hi, level, offsets) of sorted ids."""
    lo, hi = ids[0], ids[-1]
    level = level_of(lo, hi)
    offsets = array(_code(level), [i - lo for i in ids])
    if not _LITTLE:
        offsets.byteswap()
    return lo, hi, level, offsets.tobytes()


def offsets(level: int, data: bytes) -> Sequence[int]:
    """A block's offsets from its ``lo``, in id order (a view of ``data`` where it can)."""
    if _LITTLE:
        return memoryview(data).cast(_code(level))
    found = array(_code(level), data)
    found.byteswap()
    return found


def ids_of(lo: int, level: int, data: bytes) -> list[int]:
    return [lo + k for k in offsets(level, data)]


def position(lo: int, level: int, data: bytes, member_id: int) -> int | None:
    """Where ``member_id`` is in the block (None: not in it)."""
    found = offsets(level, data)
    k = bisect.bisect_left(found, member_id - lo)
    return k if k < len(found) and found[k] == member_id - lo else None


def cut(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    """Sorted ids in blocks of at most ``BLOCK``."""
    for k in range(0, len(ids), BLOCK):
        yield ids[k : k + BLOCK]


def window_starts(member_id: int) -> list[int]:
    """Per level, the lowest ``lo`` of a block of that level that may hold ``member_id``
    (computed here: ``2^63`` overflows both databases' integers)."""
    return [max(member_id - (1 << level) + 1, 0) for level in range(LEVELS)]


class Block(NamedTuple):
    """A block as recorded: of one segment (by number), change and cause code, its ``size``
    sorted ids encoded (``encode``); its seqs are given when it is stored."""

    segment_number: int
    change: int
    cause: int
    size: int
    lo: int
    hi: int
    level: int
    ids: bytes


def blocks(segment_number: int, change: int, cause: int, ids: Sequence[int]) -> list[Block]:
    """Sorted ids of one segment, change and cause, as blocks of at most ``BLOCK``."""
    return [Block(segment_number, change, cause, len(part), *encode(part)) for part in cut(ids)]
