"""narrow membership history rows, their member index keyed by block of seqs

Recording a publish's changes cost what their rows and index entries write. A change now
names its segment by number (``history_segments`` maps a tenant's numbers to segment ids and
lists, and keeps a deleted segment's), its cause by a small code, and the member index is
``(tenant_id, seq_block, member_id, seq)`` with ``seq_block = seq // 131072``: a publish's
changes, one per member, land in the newest block's pages instead of all over the history.

Existing changes are copied into the new table in seq order. A segment deleted before this
migration gets a number the tenant never used (from ``tenants.last_segment_number``).

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ_BLOCK = 131072
# As ``storage.change_log.CAUSE_CODES`` numbers them (fixed here: a migration is history).
CAUSES = (
    "realtime", "build", "refresh", "removal", "static", "member_deleted", "reference", "deleted"
)  # fmt: skip
OLD = "membership_changes_0017"


def _cause_code() -> str:
    whens = " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(CAUSES, start=1))
    return f"CASE o.cause {whens} END"


def _cause_name() -> str:
    whens = " ".join(f"WHEN {code} THEN '{name}'" for code, name in enumerate(CAUSES, start=1))
    return f"CASE o.cause {whens} END"


def _set_aside(names: list[str], pk: str) -> None:
    """Rename the current table to ``OLD``, its indexes dropped and (on PostgreSQL) its
    primary key's name freed, so the new table takes the names."""
    for name in names:
        op.drop_index(name, "membership_changes")
    op.rename_table("membership_changes", OLD)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {pk} TO {OLD}_pk")


def _name_deleted_segments() -> None:
    """history_segments rows for the segments of the history that no longer exist."""
    conn = op.get_bind()
    gone = conn.execute(
        sa.text(
            f"SELECT DISTINCT tenant_id, segment_id, list_id FROM {OLD} AS o WHERE NOT EXISTS"
            " (SELECT 1 FROM history_segments AS h WHERE h.tenant_id = o.tenant_id"
            " AND h.segment_id = o.segment_id) ORDER BY tenant_id, segment_id"
        )
    ).all()
    for tenant_id, segment_id, list_id in gone:
        number = conn.execute(
            sa.text(
                "UPDATE tenants SET last_segment_number = last_segment_number + 1"
                " WHERE id = :t RETURNING last_segment_number"
            ),
            {"t": tenant_id},
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO history_segments (tenant_id, segment_number, segment_id, list_id)"
                " VALUES (:t, :n, :s, :l)"
            ),
            {"t": tenant_id, "n": number, "s": segment_id, "l": list_id},
        )


def upgrade() -> None:
    op.create_table(
        "history_segments",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("segment_number", sa.BigInteger(), nullable=False),
        sa.Column("segment_id", sa.String(length=24), nullable=False),
        sa.Column("list_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "segment_number", name=op.f("pk_history_segments")),
    )
    op.create_index(
        op.f("ix_history_segments_tenant_id_segment_id"),
        "history_segments",
        ["tenant_id", "segment_id"],
    )
    op.execute(
        "INSERT INTO history_segments (tenant_id, segment_number, segment_id, list_id)"
        " SELECT tenant_id, number, id, list_id FROM segments"
    )
    _set_aside(
        [
            "ix_membership_changes_tenant_id_segment_id_seq",
            "ix_membership_changes_tenant_id_member_id_seq",
        ],
        "pk_membership_changes",
    )
    _name_deleted_segments()
    op.create_table(
        "membership_changes",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("seq_block", sa.Integer(), nullable=False),
        sa.Column("segment_number", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("change", sa.SmallInteger(), nullable=False),
        sa.Column("cause", sa.SmallInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_membership_changes")),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO membership_changes (tenant_id, seq, seq_block, segment_number,"
        " member_id, change, cause, at)"
        f" SELECT o.tenant_id, o.seq, o.seq / {SEQ_BLOCK}, h.segment_number, o.member_id,"
        f" o.change, {_cause_code()}, o.at FROM {OLD} AS o JOIN history_segments AS h"
        " ON h.tenant_id = o.tenant_id AND h.segment_id = o.segment_id"
        " ORDER BY o.tenant_id, o.seq"
    )
    op.drop_table(OLD)
    op.create_index(
        op.f("ix_membership_changes_tenant_id_segment_number_seq"),
        "membership_changes",
        ["tenant_id", "segment_number", "seq"],
    )
    op.create_index(
        op.f("ix_membership_changes_tenant_id_seq_block_member_id_seq"),
        "membership_changes",
        ["tenant_id", "seq_block", "member_id", "seq"],
    )


def downgrade() -> None:
    _set_aside(
        [
            "ix_membership_changes_tenant_id_segment_number_seq",
            "ix_membership_changes_tenant_id_seq_block_member_id_seq",
        ],
        "pk_membership_changes",
    )
    op.create_table(
        "membership_changes",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("segment_id", sa.String(length=24), nullable=False),
        sa.Column("list_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("change", sa.SmallInteger(), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_membership_changes")),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO membership_changes (tenant_id, seq, segment_id, list_id, member_id,"
        " change, cause, at)"
        f" SELECT o.tenant_id, o.seq, h.segment_id, h.list_id, o.member_id, o.change,"
        f" {_cause_name()}, o.at FROM {OLD} AS o JOIN history_segments AS h"
        " ON h.tenant_id = o.tenant_id AND h.segment_number = o.segment_number"
        " ORDER BY o.tenant_id, o.seq"
    )
    op.drop_table(OLD)
    op.create_index(
        op.f("ix_membership_changes_tenant_id_segment_id_seq"),
        "membership_changes",
        ["tenant_id", "segment_id", "seq"],
    )
    op.create_index(
        op.f("ix_membership_changes_tenant_id_member_id_seq"),
        "membership_changes",
        ["tenant_id", "member_id", "seq"],
    )
    op.drop_index(op.f("ix_history_segments_tenant_id_segment_id"), "history_segments")
    op.drop_table("history_segments")
