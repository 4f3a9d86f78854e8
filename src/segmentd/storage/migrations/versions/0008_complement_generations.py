"""complement generations (issue #5): a segment matching most of its list stores who is left out

A build writes a ``segment_members`` row per member, and on PostgreSQL each row costs two
WAL records (heap and index, about 175 bytes): a segment holding 984,000 of 1,000,000
members took 2.3 s, nearly all of it in those inserts. Such a generation is now stored as
its complement: for member ids up to ``horizon`` its rows are the list members it leaves
out, above it the members it holds (``storage.membership``).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.add_column(sa.Column("horizon", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("build_jobs") as batch:
        batch.add_column(
            sa.Column("complement", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # Older code reads every generation as its members: turn each published complement back
    # into member rows (written under the negated generation first, so that the complement
    # rows can be told apart and deleted), and restart builds that were writing one.
    op.execute(
        "INSERT INTO segment_members (tenant_id, segment_number, generation, member_id)"
        " SELECT s.tenant_id, s.number, -s.generation, m.id FROM segments AS s"
        " JOIN members AS m ON m.tenant_id = s.tenant_id AND m.list_id = s.list_id"
        " AND m.id <= s.horizon WHERE s.horizon > 0 AND NOT EXISTS (SELECT 1"
        " FROM segment_members AS sm WHERE sm.tenant_id = s.tenant_id"
        " AND sm.segment_number = s.number AND sm.generation = s.generation"
        " AND sm.member_id = m.id)"
    )
    op.execute(
        "DELETE FROM segment_members WHERE EXISTS (SELECT 1 FROM segments AS s"
        " WHERE s.horizon > 0 AND s.tenant_id = segment_members.tenant_id"
        " AND s.number = segment_members.segment_number"
        " AND s.generation = segment_members.generation"
        " AND segment_members.member_id <= s.horizon)"
    )
    op.execute("UPDATE segment_members SET generation = -generation WHERE generation < 0")
    op.execute(
        "UPDATE build_jobs SET cursor = 0, processed = 0"
        " WHERE complement AND state IN ('queued', 'running')"
    )
    with op.batch_alter_table("build_jobs") as batch:
        batch.drop_column("complement")
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("horizon")
