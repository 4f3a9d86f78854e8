"""lease expiries and run times of build and refresh jobs

A job whose worker's lease keeps running out (a worker killed or stalled mid-chunk) is
reported stuck once ``lease_expiries`` reaches ``SEGMENTD_STUCK_LEASE_EXPIRIES``;
``started_at`` (the first claim) and ``finished_at`` give a build's or a refresh's
duration. Existing jobs have no recorded expiry and no duration.

Revision ID: 0017
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("build_jobs", "refresh_jobs")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("lease_expiries", sa.Integer(), nullable=False, server_default="0")
            )
            batch.add_column(sa.Column("started_at", sa.Float(), nullable=True))
            batch.add_column(sa.Column("finished_at", sa.Float(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("finished_at")
            batch.drop_column("started_at")
            batch.drop_column("lease_expiries")
