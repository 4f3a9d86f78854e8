"""activity indexes: a member's campaign activity with its times, from the index alone

Engagement conditions count a member's campaigns by the time of an event ("opened at least
3 campaigns in the last 30 days") and date the latest one ("last open more than 60 days
ago"): each reads the times of a member's rows, for every member a build or a preview
passes. With only ``(tenant_id, member_id)`` each row was a second read, of the table; the
wider index answers from itself, and replaces the narrower one (its prefix), so event writes
still maintain two indexes.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("ix_campaign_activity_tenant_id_member_id", ["tenant_id", "member_id"])
NEW = (
    "ix_campaign_activity_member_times",
    ["tenant_id", "member_id", "sent_at", "opened_at", "clicked_at"],
)


def upgrade() -> None:
    op.create_index(NEW[0], "campaign_activity", NEW[1], unique=False)
    op.drop_index(OLD[0], table_name="campaign_activity")


def downgrade() -> None:
    op.create_index(OLD[0], "campaign_activity", OLD[1], unique=False)
    op.drop_index(NEW[0], table_name="campaign_activity")
