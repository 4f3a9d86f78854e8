"""Commanders Act segment ids: every segment gets 8 upper-case hex characters, unique in its
tenant, which the look-up and the site's segment list answer (instead of the 24-hex id).

Commanders Act's ids look like ``F92C4F26``; page scripts test for them, so a migration from
Commanders Act keeps them by giving them when the segment is created. Existing segments get
random ones here.

Revision ID: 0009
Revises: 0008
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.add_column(sa.Column("commandersact_id", sa.String(8), nullable=True))
    conn = op.get_bind()
    taken: dict[int, set[str]] = {}
    rows = conn.execute(sa.text("SELECT tenant_id, id FROM segments ORDER BY tenant_id, id"))
    for tenant_id, segment_id in rows.all():
        used = taken.setdefault(tenant_id, set())
        new_id = _fresh(used)
        used.add(new_id)
        conn.execute(
            sa.text("UPDATE segments SET commandersact_id = :c WHERE id = :id"),
            {"c": new_id, "id": segment_id},
        )
    with op.batch_alter_table("segments") as batch:
        batch.alter_column("commandersact_id", existing_type=sa.String(8), nullable=False)
        batch.create_index(
            "ix_segments_tenant_id_commandersact_id", ["tenant_id", "commandersact_id"], unique=True
        )


def _fresh(used: set[str]) -> str:
    while True:
        candidate = secrets.token_hex(4).upper()
        if candidate not in used:
            return candidate


def downgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.drop_index("ix_segments_tenant_id_commandersact_id")
        batch.drop_column("commandersact_id")
