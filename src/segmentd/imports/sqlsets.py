"""Set-based helpers that work on both back-ends: "column is one of these values" as ONE bound
parameter (a JSON array on SQLite, an array on PostgreSQL), and COPY into a temporary table.

A chunk holds up to tens of thousands of keys: one parameter keeps the statement small and
cached, where an expanded IN list would compile a new statement per chunk size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def one_of(
    conn: Connection, column: sa.ColumnElement[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    if is_sqlite(conn):
        each = sa.func.json_each(sa.literal(json.dumps(list(values)), sa.Text)).table_valued(
            "value"
        )
        return column.in_(sa.select(each.c.value))
    array = postgresql.ARRAY(column.type)
    return column == sa.any_(sa.literal(list(values), array))


@contextmanager
def _copy_in(conn: Connection, table: str, columns: Sequence[str]) -> Iterator[Any]:
    """A PostgreSQL ``COPY ... FROM STDIN`` into ``table``, inside the connection's transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        yield copy


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY of ``rows`` (values the driver formats) into ``table``."""
    with _copy_in(conn, table, columns) as copy:
        for row in rows:
            copy.write_row(row)


def copy_data(conn: Connection, table: str, columns: Sequence[str], data: bytes) -> None:
    """COPY of ``data``, already in COPY's text format, into ``table``."""
    with _copy_in(conn, table, columns) as copy:
        copy.write(data)
