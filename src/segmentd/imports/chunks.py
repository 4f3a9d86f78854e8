"""Cut a CSV into chunks of checked rows, here or in a helper process.

Checking rows is most of an import's Python work and needs no database, so for a big file a
helper process reads and checks the next chunks while this one writes: the two cores of a
small server both work. Small files are read here (starting a process costs about a second).
Rows of one key in a chunk are folded into one (members: the same email, merged in order),
so each chunk can be written by one set-based statement; a row that clashes in another way
(a tcid an earlier row of another email holds) starts a new chunk.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .csv_member_rows import RowProblem
from .source import SourceError, read_rows

BACKGROUND_MIN_BYTES = 8 * 1024 * 1024  # smaller files are checked in this process
_JOIN_SECONDS = 5.0


@dataclass
class Chunk:
    """Rows read since the last commit: the good ones by row number, and the rejected ones."""

    good: list[tuple[int, Any]] = field(default_factory=list)  # (row number, checked row)
    cells: dict[int, list[str]] = field(default_factory=dict)  # row number -> cells (if kept)
    rejects: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (row, reason, cells)
    folded: dict[int, list[int]] = field(default_factory=dict)  # kept row -> later rows in it
    keys: dict[Any, int] = field(default_factory=dict)  # rules' keys -> position in ``good``
    rows: int = 0
    end: int = 0  # byte offset after the last row read

    def reject(self, number: int, reason: str, cells: list[str]) -> None:
        self.rejects.append((number, reason, cells))


class RowRules(Protocol):
    """Checks one row; picklable, so a helper process can apply it."""

    @property
    def email_at(self) -> int | None: ...

    @property
    def keeps_cells(self) -> bool: ...

    def check(self, cells: Sequence[str]) -> Any: ...

    def place(self, chunk: Chunk, number: int, row: Any) -> bool:
        """Add (or fold) the checked row into ``chunk``; False when it must start a new one.
        RowProblem when folding breaks a rule."""
        ...


@dataclass(frozen=True)
class Slice:
    """Where to read: the file, the byte offset of the next row and its number."""

    path: str
    offset: int
    first_number: int
    size: int  # rows per chunk


def cut(rules: RowRules, where: Slice) -> Iterator[Chunk]:
    chunk = Chunk(end=where.offset)
    for row in read_rows(Path(where.path), where.offset, where.first_number):
        if row.problem is not None:
            chunk.reject(row.number, row.problem, row.cells)
        else:
            try:
                checked = rules.check(row.cells)
                if not rules.place(chunk, row.number, checked):
                    yield _sealed(chunk)
                    chunk = Chunk(end=chunk.end)
                    rules.place(chunk, row.number, checked)
            except RowProblem as problem:
                chunk.reject(row.number, str(problem), row.cells)
            else:
                if rules.keeps_cells:
                    chunk.cells[row.number] = row.cells
        chunk.rows += 1
        chunk.end = row.end
        if chunk.rows >= where.size:
            yield _sealed(chunk)
            chunk = Chunk(end=chunk.end)
    if chunk.rows:
        yield _sealed(chunk)


def _sealed(chunk: Chunk) -> Chunk:
    chunk.keys = {}  # only needed while cutting; not worth sending
    return chunk


def chunks(rules: RowRules, where: Slice, file_size: int) -> Iterator[Chunk]:
    """The chunks from ``where`` on; checked in a helper process when much is left to read."""
    if file_size - where.offset < BACKGROUND_MIN_BYTES:
        return cut(rules, where)
    return _from_helper(rules, where)


def _from_helper(rules: RowRules, where: Slice) -> Iterator[Chunk]:
    context = multiprocessing.get_context("spawn")  # no fork of a threaded server
    # A one-way pipe, not a Queue: this process keeps no copy of the writing end, so a helper
    # that dies (even in the middle of a chunk) is an end of file here, never a hang; and a
    # writer that is gone breaks the helper's pipe. The pipe holds the chunk being sent; the
    # helper checks the next one meanwhile.
    reader, writer = context.Pipe(duplex=False)
    helper = context.Process(target=_produce, args=(rules, where, writer), daemon=True)
    helper.start()
    writer.close()
    try:
        while True:
            item = _next(reader, helper)
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        reader.close()
        if helper.is_alive():
            helper.terminate()
        helper.join()


def _next(reader: Any, helper: Any) -> Any:
    """The helper's next chunk, None at the end; an error if the helper died without a word."""
    try:
        return reader.recv()
    except (EOFError, OSError):
        helper.join(_JOIN_SECONDS)
        return SourceError(f"the process checking rows died (exit {helper.exitcode})")


def _produce(rules: RowRules, where: Slice, writer: Any) -> None:
    """The helper: send the chunks, then None; stop when the writer is gone."""
    try:
        try:
            for chunk in cut(rules, where):
                writer.send(chunk)
        except SourceError as exc:
            writer.send(exc)
            return
        except (BrokenPipeError, ConnectionResetError):
            return  # the writer stopped reading: nothing is left to do
        except Exception as exc:  # sent as an error the runner reports, not a silent stop
            writer.send(SourceError(f"checking rows failed: {type(exc).__name__}: {exc}"))
            return
        writer.send(None)
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        writer.close()
