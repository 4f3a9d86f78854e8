"""the daily refresh of time-dependent segments, and when each membership was made exact

A condition with a relative date or a recency test gives another answer when the day
changes, with no change to the member. Such segments are marked ``time_dependent`` and are
refreshed after each day boundary of the tenant's zone by ``refresh_jobs`` on the lease
queue. Each segment records when its membership was last made exact (``exact_at``: a
build's publish or a refresh) and the day its relative dates count from (``exact_day``); a
build fixes its day at its first step (``build_jobs.day``). Existing segments were made
exact when they were built; none of them was time-dependent.

Revision ID: 0014
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.add_column(
            sa.Column("time_dependent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("exact_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("exact_day", sa.Date(), nullable=True))
    op.execute("UPDATE segments SET exact_at = built_at")
    with op.batch_alter_table("build_jobs") as batch:
        batch.add_column(sa.Column("day", sa.Date(), nullable=True))
    op.create_table(
        "refresh_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("list_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("segments", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("processed", sa.BigInteger(), nullable=False),
        sa.Column("changed", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_jobs")),
    )
    op.create_index(
        op.f("ix_refresh_jobs_state_lease_expires_at"),
        "refresh_jobs",
        ["state", "lease_expires_at"],
    )
    op.create_index(
        op.f("ix_refresh_jobs_tenant_id_list_id"), "refresh_jobs", ["tenant_id", "list_id"]
    )


def downgrade() -> None:
    # Older code refreshes nothing: time-dependent segments keep the day of their last build
    # or refresh until they are rebuilt.
    op.drop_index(op.f("ix_refresh_jobs_tenant_id_list_id"), table_name="refresh_jobs")
    op.drop_index(op.f("ix_refresh_jobs_state_lease_expires_at"), table_name="refresh_jobs")
    op.drop_table("refresh_jobs")
    with op.batch_alter_table("build_jobs") as batch:
        batch.drop_column("day")
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("exact_day")
        batch.drop_column("exact_at")
        batch.drop_column("time_dependent")
