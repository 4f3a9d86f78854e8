"""UI sessions kept in the database, so that signing out ends them everywhere

The UI's session was only a signed cookie: a copy of it kept working after sign-out until it
expired. Each session now has a row (the digest of its random id, its tenant and user, its
expiry) that signing out deletes, in whichever process of ``serve --workers N``.

Revision ID: 0010
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ui_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("api_user", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_ui_sessions")),
    )
    op.create_index(
        op.f("ix_ui_sessions_tenant_id_api_user"), "ui_sessions", ["tenant_id", "api_user"]
    )
    op.create_index(op.f("ix_ui_sessions_expires_at"), "ui_sessions", ["expires_at"])


def downgrade() -> None:
    # Sessions opened since then end: older code reads the cookie alone.
    op.drop_index(op.f("ix_ui_sessions_expires_at"), table_name="ui_sessions")
    op.drop_index(op.f("ix_ui_sessions_tenant_id_api_user"), table_name="ui_sessions")
    op.drop_table("ui_sessions")
