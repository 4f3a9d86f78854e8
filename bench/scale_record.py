"""The system of record of the scale benchmark (``bench.cluster_scale``): a fresh SQLite file
with one tenant, the fields, tags and campaigns of ``bench.dataset``, and ``members``
members written set-based in SQL (a recursive count, no Python per member), their field
values those the ClickHouse copy gets (``bench.scale_values``).

What a build on the analytics back-end reads of the system of record is the list's members
by id range (each chunk's rows of the new generation) and the catalog; its tags and campaign
activity live only in the ClickHouse copy here (``bench.scale_copy``), so a build or count on
the system of record would not see them: this data set is for the analytics back-end only.
The tenant is renamed to its final name once complete, so a file cut short is made again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from segmentd.domain.fields import CampaignStatus
from segmentd.storage.campaigns import create_campaign
from segmentd.storage.db import Database
from segmentd.storage.field_defs import FieldSpec, create_field
from segmentd.storage.schema import members, tenants
from segmentd.storage.tags import ensure_tags
from segmentd.storage.tenants import create_credential, create_tenant, default_list_id

from .datagen import FIELDS, TAG_POOL
from .dataset import Dataset
from .scale_values import SQLITE, field_values, system_values

CAMPAIGNS = 50  # as bench.dataset with its engagement extension
_STEP = 1_000_000  # members per INSERT: one transaction each


@dataclass(frozen=True)
class Record:
    """The scale data set in the system of record, and the slot column of each field."""

    dataset: Dataset
    slots: dict[str, str]  # field name -> members column (n3, t1, ...)
    tag_ids: tuple[int, ...]
    seconds: float  # generation time (0 when reused)


def tenant_name(members_count: int) -> str:
    return f"scale:{members_count}"


def ensure_record(folder: Path, members_count: int) -> Record:
    path = folder / f"scale-{members_count}.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    name = tenant_name(members_count)
    with db.read() as conn:
        found = conn.execute(sa.select(tenants.c.id).where(tenants.c.name == name)).scalar()
    seconds = 0.0
    if found is None:
        started = time.perf_counter()
        db.dispose()
        path.unlink()  # a file cut short: made again whole
        db = Database(f"sqlite:///{path}")
        db.migrate()
        found = _generate(db, members_count, name)
        seconds = time.perf_counter() - started
    record = _read(db, int(found), members_count, seconds)
    db.dispose()
    return record


def _generate(db: Database, count: int, name: str) -> int:
    with db.write() as conn:
        tenant_id = create_tenant(conn, name + ":loading")
        list_id = default_list_id(conn, tenant_id)
        for s in FIELDS:
            create_field(conn, tenant_id, FieldSpec(s.name, s.type, s.format, s.options, True))
        ensure_tags(conn, tenant_id, TAG_POOL)
        for i in range(CAMPAIGNS):
            create_campaign(conn, tenant_id, f"campaign {i}", CampaignStatus.COMPLETED, list_id)
    slots = _slots(db, tenant_id)
    values = {**system_values(SQLITE), **{slots[f]: v for f, v in field_values(SQLITE).items()}}
    listed = ", ".join(values)
    email = "'m' || id || '@d' || (id % 500) || '.example'"
    for start in range(1, count + 1, _STEP):
        last = min(start + _STEP - 1, count)
        with db.write() as conn:
            conn.exec_driver_sql(
                f"INSERT INTO members (id, tenant_id, list_id, email, email_key, domain, name, "
                f"{listed}) "
                f"WITH RECURSIVE ids(id) AS (SELECT {start} UNION ALL SELECT id + 1 FROM ids "
                f"WHERE id < {last}) "
                f"SELECT id, {tenant_id}, {list_id}, {email}, {email}, "
                f"'d' || (id % 500) || '.example', 'Member ' || id, "
                f"{', '.join(values.values())} FROM ids"
            )
    with db.write() as conn:
        conn.execute(sa.update(tenants).where(tenants.c.id == tenant_id).values(name=name))
    return tenant_id


def _slots(db: Database, tenant_id: int) -> dict[str, str]:
    from segmentd.storage.catalog import load_catalog
    from segmentd.storage.member_columns import field_column

    with db.read() as conn:
        fields = load_catalog(conn, tenant_id).fields
    return {s.name: field_column(fields[s.name.lower()]).name for s in FIELDS}


def _read(db: Database, tenant_id: int, count: int, seconds: float) -> Record:
    with db.write() as conn:
        list_id = default_list_id(conn, tenant_id)
        api_user, api_key = create_credential(conn, tenant_id)
        campaign_ids = tuple(
            conn.execute(
                sa.text("SELECT id FROM campaigns WHERE tenant_id = :t ORDER BY id"),
                {"t": tenant_id},
            ).scalars()
        )
        tag_ids = tuple(
            conn.execute(
                sa.text("SELECT id FROM tags WHERE tenant_id = :t ORDER BY id"), {"t": tenant_id}
            ).scalars()
        )
        held = conn.execute(
            sa.select(sa.func.count()).select_from(members).where(members.c.tenant_id == tenant_id)
        ).scalar_one()
    assert held == count, f"{held:,} members where {count:,} were written"
    dataset = Dataset(db.url, tenant_id, list_id, count, campaign_ids, api_user, api_key)
    return Record(dataset, _slots(db, tenant_id), tag_ids, seconds)
