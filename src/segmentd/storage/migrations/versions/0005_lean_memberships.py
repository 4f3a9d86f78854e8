"""lean memberships (issue #5): segment_members keeps only its primary key; bucket counts

Builds insert hundreds of thousands of ``segment_members`` rows, and every index on the table
costs each of them. The (tenant_id, member_id, segment_id, generation) index of migration 0004
doubled a build's cost on PostgreSQL; the reads it served (a member's rows across segments,
for real-time updates and the look-up) now name segment and generation and seek the primary
key. On SQLite the table becomes WITHOUT ROWID: its rows live in the primary key itself, one
B-tree instead of three.

``segment_buckets`` counts each generation's members per bucket of 4,096 member ids, so that a
page at any offset seeks its bucket instead of walking the index up to the offset.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDE_INDEX = "ix_segment_members_tenant_id_member_id_segment_id_generation"
BUCKET_BITS = 12  # storage.buckets.BUCKET_BITS at the time of this migration


def _columns() -> list[sa.Column[int] | sa.Column[str]]:
    return [
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("segment_id", sa.String(length=24), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.create_table(
            "segment_members_lean",
            *_columns(),
            sa.Column("member_id", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint(
                "tenant_id", "segment_id", "generation", "member_id", name="pk_segment_members"
            ),
            sqlite_with_rowid=False,
        )
        op.execute(
            "INSERT INTO segment_members_lean SELECT tenant_id, segment_id, generation, member_id"
            " FROM segment_members ORDER BY tenant_id, segment_id, generation, member_id"
        )
        op.drop_table("segment_members")
        op.rename_table("segment_members_lean", "segment_members")
    else:
        op.drop_index(WIDE_INDEX, table_name="segment_members")
    op.create_table(
        "segment_buckets",
        *_columns(),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "segment_id", "generation", "bucket", name="pk_segment_buckets"
        ),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO segment_buckets (tenant_id, segment_id, generation, bucket, members)"
        f" SELECT tenant_id, segment_id, generation, member_id / {1 << BUCKET_BITS}, count(*)"
        " FROM segment_members GROUP BY tenant_id, segment_id, generation,"
        f" member_id / {1 << BUCKET_BITS}"
    )


def downgrade() -> None:
    op.drop_table("segment_buckets")
    op.create_index(
        WIDE_INDEX, "segment_members", ["tenant_id", "member_id", "segment_id", "generation"]
    )
