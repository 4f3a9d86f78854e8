"""catalog version (issue #4): a number naming one state of a tenant's fields, tags and campaigns

Every member change needs the tenant's catalog; with this number a process loads it once per
change of the catalog instead of once per member change (see ``storage.catalog``). Existing
tenants get a random number, as new ones do; 0 means "not versioned: always read".

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("catalog_version", sa.BigInteger(), nullable=False, server_default="0")
        )
    # Positive and below 2**62, as storage.catalog.new_catalog_version draws them.
    if op.get_context().dialect.name == "sqlite":
        op.execute("UPDATE tenants SET catalog_version = 1 + abs(random() % 4611686018427387903)")
    else:
        op.execute("UPDATE tenants SET catalog_version = 1 + floor(random() * 4.6e18)::bigint")


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("catalog_version")
