"""perf indexes (issue #5): a member's segment rows by member, then segment and generation

Real-time updates read the rows of a few hundred members across the segments of their list
(``member_id IN (...) AND segment_id IN (...)``). With only ``(tenant_id, member_id)`` beside
the primary key, SQLite without statistics walks the primary key instead: every row of every
segment (seconds at a million members). The wider index answers those reads, and the
look-up's "segments of this member", from the index alone, and replaces the narrower one (its
prefix), so builds still maintain two indexes.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("ix_segment_members_tenant_id_member_id", ["tenant_id", "member_id"])
NEW = (
    "ix_segment_members_tenant_id_member_id_segment_id_generation",
    ["tenant_id", "member_id", "segment_id", "generation"],
)


def upgrade() -> None:
    op.create_index(NEW[0], "segment_members", NEW[1], unique=False)
    op.drop_index(OLD[0], table_name="segment_members")


def downgrade() -> None:
    op.create_index(OLD[0], "segment_members", OLD[1], unique=False)
    op.drop_index(NEW[0], table_name="segment_members")
