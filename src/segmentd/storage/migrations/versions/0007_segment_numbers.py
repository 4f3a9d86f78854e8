"""segment numbers (issue #5): membership rows keyed by an integer, not the 24-character id

A build inserts up to one ``segment_members`` row per member, and the text id in the middle
of its primary key made every insert compare strings through the collation and read the
columns after it without cached offsets: on PostgreSQL, 950,000 rows took 3.5 s with the text
key and 1.5 s with an integer one, in an index of 322 MB against 133 MB. Each segment gets a
``number`` unique in its tenant, given out from ``tenants.last_segment_number`` and never
reused (rows a build wrote after its segment was deleted cannot meet a later segment's).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the column after the generation) of the tables that change key.
MEMBERSHIP = (("segment_members", "member_id"), ("segment_buckets", "bucket"))


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("last_segment_number", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("segments") as batch:
        batch.add_column(sa.Column("number", sa.BigInteger(), nullable=True))
    # Numbered in creation order within each tenant.
    op.execute(
        "UPDATE segments SET number = (SELECT count(*) FROM segments AS s"
        " WHERE s.tenant_id = segments.tenant_id"
        " AND (s.created_at < segments.created_at"
        " OR (s.created_at = segments.created_at AND s.id <= segments.id)))"
    )
    with op.batch_alter_table("segments") as batch:
        batch.alter_column("number", existing_type=sa.BigInteger(), nullable=False)
        batch.create_index("ix_segments_tenant_id_number", ["tenant_id", "number"], unique=True)
    op.execute(
        "UPDATE tenants SET last_segment_number = (SELECT coalesce(max(number), 0)"
        " FROM segments WHERE segments.tenant_id = tenants.id)"
    )
    for table, last in MEMBERSHIP:
        _rekey(table, last, "segment_number", sa.BigInteger(), "s.number", "t.segment_id = s.id")


def downgrade() -> None:
    for table, last in MEMBERSHIP:
        _rekey(table, last, "segment_id", sa.String(24), "s.id", "t.segment_number = s.number")
    with op.batch_alter_table("segments") as batch:
        batch.drop_index("ix_segments_tenant_id_number")
        batch.drop_column("number")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("last_segment_number")


def _rekey(
    table: str, last: str, key: str, key_type: sa.types.TypeEngine[Any], value: str, on: str
) -> None:
    """Copy ``table`` into one keyed by ``key`` (the segment's ``value``), then swap it in.

    Rows of segments that no longer exist are left behind: nothing reads them.
    """
    new, pk = f"{table}_0007", f"pk_{table}"
    extra = (
        [sa.Column("members", sa.BigInteger(), nullable=False)]
        if table == "segment_buckets"
        else []
    )
    # PostgreSQL names the primary key's index in the schema: a temporary name until the swap.
    op.create_table(
        new,
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column(key, key_type, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column(last, sa.BigInteger(), nullable=False),
        *extra,
        sa.PrimaryKeyConstraint(
            "tenant_id", key, "generation", last, name=pk if _sqlite() else f"pk_{new}"
        ),
        sqlite_with_rowid=False,
    )
    rest = ", ".join(["t.generation", f"t.{last}", *(f"t.{c.name}" for c in extra)])
    op.execute(
        f"INSERT INTO {new} SELECT t.tenant_id, {value}, {rest} FROM {table} AS t"
        f" JOIN segments AS s ON s.tenant_id = t.tenant_id AND {on}"
        f" ORDER BY t.tenant_id, {value}, t.generation, t.{last}"
    )
    op.drop_table(table)
    op.rename_table(new, table)
    if not _sqlite():
        op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT pk_{new} TO {pk}")
