"""PostgreSQL: statements run as prepared statements from their first execution on a
connection.

psycopg prepares a statement once a connection has run it five times with the same text
and the same parameter types, and the types of a parameter follow its value: a list of
member ids is ``int2[]``, ``int4[]`` or, empty, of unknown type. The statements of a
real-time update that moves a segment each came in several such variants, so most of their
executions were parsed and planned anew (docs/performance.md). A statement built once, of
constant text, marks itself with ``OPTION``; each variant is then prepared at its first
execution and later ones only bind and run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_KEY = "segmentd_prepare"
OPTION = {_KEY: True}  # ``statement.execution_options(**OPTION)``


def prepare_when_marked(engine: Engine) -> None:
    """Have ``engine`` (psycopg) prepare the statements marked with ``OPTION`` at once."""

    @event.listens_for(engine, "do_execute")
    def _do_execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        if not context.execution_options.get(_KEY):
            return False  # SQLAlchemy executes it as usual
        cursor.execute(statement, parameters, prepare=True)
        return True
