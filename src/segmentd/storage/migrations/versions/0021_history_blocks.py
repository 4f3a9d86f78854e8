"""membership history as blocks of member ids

A publish's changes were a row each (and two index entries each): recording them cost a
third of a rebuild. They are now stored as blocks of at most 128 sorted member ids of one
segment, change, cause and time (``history_blocks``, ``storage.id_blocks``): a block's ids
take the consecutive seqs ``last_seq - size + 1 .. last_seq`` in id order, and are stored as
offsets from the first (``lo``) in the narrowest little-endian unsigned width holding the
range, whose ``level`` (``(hi - lo).bit_length()``) keys the member index.

Existing changes become blocks of one (their seqs unchanged). The downgrade expands every
block back into rows.

Revision ID: 0021
Revises: 0020
"""

import struct
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ_BLOCK = 131072  # the row layout's member index key (migration 0019)
BATCH = 10_000  # blocks expanded per statement by the downgrade
_WIDTHS = ((8, "B"), (16, "H"), (32, "I"), (64, "Q"))


def upgrade() -> None:
    op.create_table(
        "history_blocks",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("segment_number", sa.BigInteger(), nullable=False),
        sa.Column("change", sa.SmallInteger(), nullable=False),
        sa.Column("cause", sa.SmallInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("lo", sa.BigInteger(), nullable=False),
        sa.Column("hi", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("ids", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "last_seq", name=op.f("pk_history_blocks")),
        sqlite_with_rowid=False,
    )
    zero = "X'00'" if op.get_bind().dialect.name == "sqlite" else "decode('00', 'hex')"
    op.execute(
        "INSERT INTO history_blocks (tenant_id, last_seq, size, segment_number, change, cause,"
        " at, lo, hi, level, ids)"
        " SELECT tenant_id, seq, 1, segment_number, change, cause, at, member_id, member_id, 0,"
        f" {zero} FROM membership_changes ORDER BY tenant_id, seq"
    )
    op.drop_index("ix_membership_changes_tenant_id_segment_number_seq", "membership_changes")
    op.drop_index("ix_membership_changes_tenant_id_seq_block_member_id_seq", "membership_changes")
    op.drop_table("membership_changes")
    op.create_index(
        op.f("ix_history_blocks_tenant_id_segment_number_last_seq"),
        "history_blocks",
        ["tenant_id", "segment_number", "last_seq"],
    )
    op.create_index(
        op.f("ix_history_blocks_tenant_id_level_lo_hi"),
        "history_blocks",
        ["tenant_id", "level", "lo", "hi"],
    )


def _ids(size: int, lo: int, level: int, data: bytes) -> list[int]:
    code = next(code for bits, code in _WIDTHS if level <= bits)
    return [lo + offset for offset in struct.unpack(f"<{size}{code}", bytes(data))]


def downgrade() -> None:
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
    conn = op.get_bind()
    insert = sa.text(
        "INSERT INTO membership_changes (tenant_id, seq, seq_block, segment_number, member_id,"
        " change, cause, at) VALUES (:tenant_id, :seq, :seq_block, :segment_number,"
        " :member_id, :change, :cause, :at)"
    )
    after = (-1, -1)
    while True:
        blocks = conn.execute(
            sa.text(
                "SELECT tenant_id, last_seq, size, segment_number, change, cause, at, lo,"
                " level, ids FROM history_blocks WHERE tenant_id > :t OR (tenant_id = :t"
                " AND last_seq > :s) ORDER BY tenant_id, last_seq LIMIT :n"
            ),
            {"t": after[0], "s": after[1], "n": BATCH},
        ).all()
        if not blocks:
            break
        rows = [
            {
                "tenant_id": b.tenant_id,
                "seq": b.last_seq - b.size + 1 + k,
                "seq_block": (b.last_seq - b.size + 1 + k) // SEQ_BLOCK,
                "segment_number": b.segment_number,
                "member_id": member_id,
                "change": b.change,
                "cause": b.cause,
                "at": b.at,
            }
            for b in blocks
            for k, member_id in enumerate(_ids(b.size, b.lo, b.level, b.ids))
        ]
        conn.execute(insert, rows)
        after = (blocks[-1].tenant_id, blocks[-1].last_seq)
    op.drop_index(op.f("ix_history_blocks_tenant_id_segment_number_last_seq"), "history_blocks")
    op.drop_index(op.f("ix_history_blocks_tenant_id_level_lo_hi"), "history_blocks")
    op.drop_table("history_blocks")
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
