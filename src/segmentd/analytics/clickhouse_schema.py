"""segmentd's tables in ClickHouse: a copy of what conditions read, in the system of record's
own terms (``storage.schema``), so the compiler names the same columns.

- ``members``: one row per member, its system columns and the typed slots ``n1``.. (numbers,
  dates as days since 1970-01-01, birthdays as month * 100 + day: Float64) and ``t1``.. (text
  and dropdowns: String), as ``storage.member_columns`` places each field. A column that may
  hold no value is ``Nullable``: a missing value stays distinct from 0 or "", and the
  compiler tests presence with ``isNull`` (docs/analytics.md, "Presence of a value").
- ``member_tags``: one row per member and tag id.
- ``campaign_activity``: one row per member and campaign, with the first time of each event.
- ``segment_members``: a copy of a segment's published membership (``copy_id``), and
  ``segment_copies`` the finished copies with the generation each holds: a segment
  reference reads the segment's newest finished copy, never the referenced condition.
- ``tenant_loads``: the finished full loads; the newest one's ``load_id`` is the tenant's
  floor (below).

The three member tables are versioned (``ReplacingMergeTree(version)``): every row carries
the ``version`` that wrote it and ``deleted`` (a tombstone). The full load writes every row
of a tenant at one version (a drain of everything), the outbox drain the rows it names at
later ones (``outbox_apply``); reads take each key's newest row (``FINAL``) when it is live
(``deleted = 0``) and not older than the tenant's last full load (``version >= floor``: a
row the load did not write again is gone from the system of record). One table set, one
read path, whichever wrote the rows.

Every table is a ``MergeTree`` whose key starts with the tenant; the member tables then the
member, so a member's rows sit together. On a cluster (``analytics_cluster.cluster_engine``)
these are the local tables (``<table>_local``) under ``Distributed`` ones sharded by
``SHARDED_BY`` (a member's rows, activity and memberships share a shard, so a condition
runs shard-locally); ``ReplicatedReplacingMergeTree`` in production.
"""

from __future__ import annotations

from ..storage.schema import SLOTS
from .engine import Engine

MEMBERS = "members"
MEMBER_TAGS = "member_tags"
CAMPAIGN_ACTIVITY = "campaign_activity"
SEGMENT_MEMBERS = "segment_members"
SEGMENT_COPIES = "segment_copies"
TENANT_LOADS = "tenant_loads"
VERSIONED = (MEMBERS, MEMBER_TAGS, CAMPAIGN_ACTIVITY)  # kept current row by row
TABLES = (*VERSIONED, SEGMENT_MEMBERS, SEGMENT_COPIES, TENANT_LOADS)

# Sharding key of the member tables' Distributed tables on a cluster (not used embedded).
SHARDING_KEY = "cityHash64(tenant_id, member_id)"
SHARDED_BY = {
    **{table: SHARDING_KEY for table in (*VERSIONED, SEGMENT_MEMBERS)},
    SEGMENT_COPIES: "tenant_id",
    TENANT_LOADS: "tenant_id",
}

# The bookkeeping of a versioned row: the newest version of a key wins; deleted = tombstone.
BOOKKEEPING: tuple[tuple[str, str], ...] = (("version", "UInt64"), ("deleted", "UInt8"))

MEMBER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("tenant_id", "UInt64"),
    ("list_id", "UInt64"),
    ("member_id", "UInt64"),
    ("email_key", "String"),
    ("domain", "String"),
    ("name", "Nullable(String)"),
    ("phone", "Nullable(String)"),
    ("created_at", "Int64"),
    ("updated_at", "Int64"),
    ("unsubscribed_at", "Nullable(Int64)"),
    *((f"n{slot}", "Nullable(Float64)") for slot in SLOTS),
    *((f"t{slot}", "Nullable(String)") for slot in SLOTS),
)

# The data columns of each table (the versioned ones also have ``BOOKKEEPING``).
DATA_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    MEMBERS: MEMBER_COLUMNS,
    MEMBER_TAGS: (
        ("tenant_id", "UInt64"),
        ("member_id", "UInt64"),
        ("tag_id", "UInt64"),
    ),
    CAMPAIGN_ACTIVITY: (
        ("tenant_id", "UInt64"),
        ("member_id", "UInt64"),
        ("campaign_id", "UInt64"),
        ("sent_at", "Nullable(Int64)"),
        ("opened_at", "Nullable(Int64)"),
        ("clicked_at", "Nullable(Int64)"),
    ),
    SEGMENT_MEMBERS: (
        ("tenant_id", "UInt64"),
        ("segment_id", "String"),
        ("copy_id", "UInt64"),
        ("member_id", "UInt64"),
    ),
    # One row per finished copy of a segment's published membership.
    SEGMENT_COPIES: (
        ("tenant_id", "UInt64"),
        ("segment_id", "String"),
        ("copy_id", "UInt64"),
        ("generation", "UInt64"),
        # The segment's newest membership change (``change_log``) when it was copied.
        ("history_seq", "UInt64"),
        ("finished_at", "Int64"),
        ("members", "UInt64"),
    ),
    # One row per finished full load: its load_id is the version it wrote every row at.
    TENANT_LOADS: (
        ("tenant_id", "UInt64"),
        ("load_id", "UInt64"),
        ("finished_at", "Int64"),
        ("members", "UInt64"),
    ),
}

# The row's identity (its key): a member's rows together (tenant, member first). The
# membership is read a segment at a time (a reference reads one segment's members), so its
# key puts the segment before the member: on a cluster the sharding key still places each
# row with its member.
KEYS: dict[str, tuple[str, ...]] = {
    MEMBERS: ("tenant_id", "member_id"),
    MEMBER_TAGS: ("tenant_id", "member_id", "tag_id"),
    CAMPAIGN_ACTIVITY: ("tenant_id", "member_id", "campaign_id"),
    SEGMENT_MEMBERS: ("tenant_id", "segment_id", "copy_id", "member_id"),
    SEGMENT_COPIES: ("tenant_id", "segment_id", "copy_id"),
    TENANT_LOADS: ("tenant_id", "load_id"),
}


def column_types(table: str) -> tuple[tuple[str, str], ...]:
    """(name, ClickHouse type) of each column of ``table``, its bookkeeping included: the one
    list of them (the cluster's tables derive theirs from it)."""
    return DATA_COLUMNS[table] + (BOOKKEEPING if table in VERSIONED else ())


def columns(table: str) -> tuple[str, ...]:
    return tuple(name for name, _ in column_types(table))


def data_columns(table: str) -> tuple[str, ...]:
    return tuple(name for name, _ in DATA_COLUMNS[table])


def create_table_sql(database: str, table: str, suffix: str = "") -> str:
    """``suffix``: the cluster's local tables are ``<table>_local``."""
    listed = ",\n    ".join(f"{name} {kind}" for name, kind in column_types(table))
    engine = "ReplacingMergeTree(version)" if table in VERSIONED else "ReplacingMergeTree"
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table}{suffix} (\n    {listed}\n)\n"
        f"ENGINE = {engine} ORDER BY ({', '.join(KEYS[table])})"
    )


# Tables of the first layout (rows by load id, no versions): dropped when found, as the
# copy is rebuilt from the system of record (the first sync of each tenant loads it whole).
FORMER_TABLES = (MEMBERS, MEMBER_TAGS, CAMPAIGN_ACTIVITY, SEGMENT_MEMBERS, TENANT_LOADS)


def former_layout_sql(database: str, suffix: str = "") -> str:
    """A query counting the columns that only the first layout had (0: none)."""
    return (
        "SELECT count() FROM system.columns WHERE database = {d:String} "
        f"AND table = '{MEMBERS}{suffix}' AND name = 'load_id'"
    )


def create_schema(engine: Engine, database: str) -> None:
    """Create the database and its tables where missing (safe to repeat); tables of the
    first layout are dropped first."""
    engine.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    if int(engine.rows(former_layout_sql(database), {"d": database})[0][0]):
        for table in FORMER_TABLES:
            engine.execute(f"DROP TABLE IF EXISTS {database}.{table}")
    for table in TABLES:
        engine.execute(create_table_sql(database, table))
