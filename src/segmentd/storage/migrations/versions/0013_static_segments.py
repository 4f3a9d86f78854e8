"""static segments: a segment's kind, dynamic (built from its condition) or static (members
given by hand)

Existing segments are dynamic. A static segment keeps its members in the membership tables
like any other (one published generation, never rebuilt), so look-ups, pages, counts and
exports read them unchanged.

Revision ID: 0013
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=8), nullable=False, server_default="dynamic")
        )


def _delete_static(table: str, column: str, key: str) -> None:
    op.execute(
        f"DELETE FROM {table} WHERE {column} IN (SELECT segments.{key} FROM segments "
        f"WHERE segments.kind = 'static' AND segments.tenant_id = {table}.tenant_id)"
    )


def downgrade() -> None:
    # A static segment would read back as a dynamic one with an empty condition, which no
    # build can make: static segments go, with their members.
    for table in ("segment_members", "segment_buckets"):
        _delete_static(table, "segment_number", "number")
    for table in ("segment_exclusions", "build_jobs"):
        _delete_static(table, "segment_id", "id")
    op.execute("DELETE FROM segments WHERE kind = 'static'")
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("kind")
