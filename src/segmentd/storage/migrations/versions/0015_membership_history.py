"""membership history: every change of a segment's published membership, and its size by day

``membership_changes`` holds one row per member entering or leaving a segment, numbered per
tenant by ``seq`` in commit order: the counter row of ``change_counters`` is taken as the
last step of the writing transaction, so a reader keyed on ``seq`` never sees a row commit
behind one it has read. ``segment_sizes`` holds each segment's member count at the end of
each day (UTC) on which it changed. Memberships before this migration have no history.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "membership_changes",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("segment_id", sa.String(length=24), nullable=False),
        sa.Column("list_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("change", sa.SmallInteger(), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_membership_changes")),
    )
    op.create_index(
        op.f("ix_membership_changes_tenant_id_segment_id_seq"),
        "membership_changes",
        ["tenant_id", "segment_id", "seq"],
    )
    op.create_index(
        op.f("ix_membership_changes_tenant_id_segment_id_member_id_seq"),
        "membership_changes",
        ["tenant_id", "segment_id", "member_id", "seq"],
    )
    op.create_index(
        op.f("ix_membership_changes_tenant_id_member_id_seq"),
        "membership_changes",
        ["tenant_id", "member_id", "seq"],
    )
    op.create_table(
        "change_counters",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_change_counters")),
    )
    op.create_table(
        "segment_sizes",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("segment_id", sa.String(length=24), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "segment_id", "day", name=op.f("pk_segment_sizes")),
    )


def downgrade() -> None:
    op.drop_table("segment_sizes")
    op.drop_table("change_counters")
    op.drop_index(op.f("ix_membership_changes_tenant_id_member_id_seq"), "membership_changes")
    op.drop_index(
        op.f("ix_membership_changes_tenant_id_segment_id_member_id_seq"), "membership_changes"
    )
    op.drop_index(op.f("ix_membership_changes_tenant_id_segment_id_seq"), "membership_changes")
    op.drop_table("membership_changes")
