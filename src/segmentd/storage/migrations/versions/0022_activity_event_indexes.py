"""activity event indexes: each member's opens and clicks, without the rows lacking them

An engagement or recency leaf on opens or clicks reads, for a range of members, the rows
recording that event. The member index holds every row, sent only or not: half the rows have
no open, five in six no click, and each was read and skipped. A partial index per event holds
only the rows that record it, in member order with its time, so the same leaves read a half
and a sixth as many entries. Sends are in nearly every row: they keep the member index.

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_INDEXES = {
    "ix_campaign_activity_member_opens": "opened_at",
    "ix_campaign_activity_member_clicks": "clicked_at",
}


def upgrade() -> None:
    for name, column in EVENT_INDEXES.items():
        recorded = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            name,
            "campaign_activity",
            ["tenant_id", "member_id", column],
            sqlite_where=recorded,
            postgresql_where=recorded,
        )


def downgrade() -> None:
    for name in EVENT_INDEXES:
        op.drop_index(name, table_name="campaign_activity")
