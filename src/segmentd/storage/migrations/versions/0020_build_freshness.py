"""build_jobs.analytics_fresh_as_of: how fresh the analytics copy a build read was

A build answered on the analytics back-end records the time (epoch seconds) up to which the
ClickHouse copy it read held every change; NULL for builds on the system of record.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("build_jobs") as batch:
        batch.add_column(sa.Column("analytics_fresh_as_of", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("build_jobs") as batch:
        batch.drop_column("analytics_fresh_as_of")
