"""The seeded synthetic data set every benchmark runs on.

One tenant holds ``members`` members with ten custom fields (two of each type), 0 to 5 tags
out of 40, and 20 completed campaigns with five events per member on average (sent, open,
click; one ``campaign_activity`` row per member and campaign, kept click => open => sent),
and the engagement extension (``engagement_data``): 30 more campaigns, about 5
``campaign_activity`` rows per member in all. The same seed and size always give the same
rows.

Rows go straight into the tables, bypassing the API (``loading``), so that a million members
load in well under a minute.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from segmentd.domain.fields import CampaignStatus, FieldType
from segmentd.storage.campaigns import create_campaign
from segmentd.storage.db import Database
from segmentd.storage.field_defs import FieldSpec, create_field
from segmentd.storage.schema import campaign_activity, member_tags, members, tenants
from segmentd.storage.tags import ensure_tags
from segmentd.storage.tenants import create_credential, create_tenant, default_list_id

# The same fields and values as the CSV files of the import benchmark.
from .datagen import CITIES, COLORS, FIELDS, PLANS, TAG_POOL
from .engagement_data import ensure_engagement
from .loading import Batch, analyze, load_batches

BATCH = 50_000
TAGS = TAG_POOL
CAMPAIGNS = 20
# Per member and campaign: sent 15 %, opened half of those, clicked a third of the opens:
# 0.15 * (1 + 0.5 + 0.5 / 3) * 20 campaigns = 5 events per member.
SENT, OPENED, CLICKED = 0.15, 0.5, 1 / 3
NOW = 1_780_000_000  # a fixed clock keeps the data set reproducible
DAY = 86_400


@dataclass(frozen=True)
class Dataset:
    """Where the data set lives and what the benchmarks need to address it."""

    url: str
    tenant_id: int
    list_id: int
    members: int
    campaign_ids: tuple[int, ...]
    api_user: str
    api_key: str

    @property
    def first_campaign(self) -> int:
        return self.campaign_ids[0]


def tenant_name(members_count: int, seed: int) -> str:
    return f"bench:{members_count}:{seed}"


def ensure_dataset(db: Database, members_count: int, seed: int = 42) -> Dataset:
    """The data set of that size and seed in ``db``, generated unless a complete one is there.

    The API key is stored only as a hash, so a reused data set gets a fresh credential.
    """
    name = tenant_name(members_count, seed)
    with db.read() as conn:
        tenant_id = conn.execute(sa.select(tenants.c.id).where(tenants.c.name == name)).scalar()
    if tenant_id is None:
        tenant_id = generate(db, members_count, seed, name)
    with db.write() as conn:
        list_id = default_list_id(conn, tenant_id)
    ensure_engagement(db, tenant_id, list_id, NOW, seed)
    with db.write() as conn:
        api_user, api_key = create_credential(conn, tenant_id)
        campaign_ids = tuple(
            conn.execute(
                sa.text("SELECT id FROM campaigns WHERE tenant_id = :t ORDER BY id"),
                {"t": tenant_id},
            ).scalars()
        )
    return Dataset(db.url, tenant_id, list_id, members_count, campaign_ids, api_user, api_key)


def generate(db: Database, members_count: int, seed: int, name: str) -> int:
    """Write the whole data set; the tenant is renamed to ``name`` only once it is complete."""
    with db.write() as conn:
        tenant_id = create_tenant(conn, name + ":loading")
        list_id = default_list_id(conn, tenant_id)
        slots: dict[str, int] = {}
        for s in FIELDS:
            made = create_field(
                conn, tenant_id, FieldSpec(s.name, s.type, s.format, s.options, True)
            )
            assert made.slot is not None
            slots[s.name] = made.slot
        tag_ids = list(ensure_tags(conn, tenant_id, TAGS).values())
        campaign_ids = [
            create_campaign(conn, tenant_id, f"campaign {i}", CampaignStatus.COMPLETED, list_id).id
            for i in range(CAMPAIGNS)
        ]
        first_id = (
            int(
                conn.execute(sa.select(sa.func.coalesce(sa.func.max(members.c.id), 0))).scalar_one()
            )
            + 1
        )
    rows = Rows(random.Random(seed), tenant_id, list_id, first_id, slots, tag_ids, campaign_ids)
    load_batches(db, member_batches(rows, members_count))
    with db.write() as conn:
        conn.execute(sa.update(tenants).where(tenants.c.id == tenant_id).values(name=name))
        if not db.is_sqlite:
            sequence = "pg_get_serial_sequence('members', 'id')"
            conn.exec_driver_sql(f"SELECT setval({sequence}, (SELECT max(id) FROM members))")
    if not db.is_sqlite:
        analyze(db)
    return tenant_id


class Rows:
    """The seeded rows, produced in member order batch by batch."""

    def __init__(
        self,
        rng: random.Random,
        tenant_id: int,
        list_id: int,
        first_id: int,
        slots: dict[str, int],
        tag_ids: Sequence[int],
        campaign_ids: Sequence[int],
    ) -> None:
        self.rng = rng
        self.tenant_id, self.list_id, self.first_id = tenant_id, list_id, first_id
        self.tag_ids, self.campaign_ids = list(tag_ids), list(campaign_ids)
        numeric = {
            s.name
            for s in FIELDS
            if s.type in (FieldType.NUMBER, FieldType.DATE, FieldType.BIRTHDAY)
        }
        self.slot_columns = [
            ("n" if s.name in numeric else "t") + str(slots[s.name]) for s in FIELDS
        ]
        self.member_columns = [
            "id", "tenant_id", "list_id", "email", "email_key", "domain", "name", "phone",
            "created_at", "updated_at", "unsubscribed_at", *self.slot_columns,
        ]  # fmt: skip

    def batches(
        self, count: int
    ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[int, ...]], list[tuple[Any, ...]]]]:
        """(members, member_tags, campaign_activity) rows, ``BATCH`` members at a time."""
        for start in range(0, count, BATCH):
            people, links, activity = [], [], []
            for i in range(start, min(start + BATCH, count)):
                member_id = self.first_id + i
                people.append(self.member(i, member_id))
                links.extend(self.tags(member_id))
                activity.extend(self.activity(member_id))
            yield people, links, activity

    def member(self, i: int, member_id: int) -> tuple[Any, ...]:
        rng = self.rng
        domain = f"d{i % 500}.example"
        email = f"m{i}@{domain}"
        created = NOW - rng.randrange(3 * 365 * DAY)
        unsubscribed = created + DAY if rng.random() < 0.05 else None
        values = (
            self._maybe(rng.choice(CITIES)),
            self._maybe(f"company {rng.randint(1, 5000)}"),
            self._maybe(float(rng.randint(18, 90))),
            self._maybe(round(rng.random() * 100, 2)),
            self._maybe(float(rng.randint(7305, 20089))),  # 1990-01-01 .. 2024-12-31
            self._maybe(float(rng.randint(19723, 21184))),  # 2024 .. 2027
            self._maybe(float(rng.randint(1, 12) * 100 + rng.randint(1, 28))),
            self._maybe(float(rng.randint(1, 12) * 100 + rng.randint(1, 28))),
            self._maybe(rng.choice(COLORS)),
            self._maybe(rng.choice(PLANS)),
        )
        return (
            member_id, self.tenant_id, self.list_id, email, email, domain, f"Member {i}",
            f"+3361{i:07d}", created, created + rng.randrange(30 * DAY), unsubscribed, *values,
        )  # fmt: skip

    def _maybe(self, value: Any) -> Any:
        """One value in ten is missing, as in real lists."""
        return None if self.rng.random() < 0.1 else value

    def tags(self, member_id: int) -> list[tuple[int, ...]]:
        chosen = self.rng.sample(self.tag_ids, self.rng.randint(0, 5))
        return [(self.tenant_id, member_id, tag_id) for tag_id in chosen]

    def activity(self, member_id: int) -> list[tuple[Any, ...]]:
        rng, found = self.rng, []
        for campaign_id in self.campaign_ids:
            if rng.random() >= SENT:
                continue
            sent = NOW - rng.randrange(90 * DAY)
            opened = sent + 3600 if rng.random() < OPENED else None
            clicked = opened + 60 if opened is not None and rng.random() < CLICKED else None
            found.append((self.tenant_id, campaign_id, member_id, sent, opened, clicked))
        return found


ACTIVITY_COLUMNS = ["tenant_id", "campaign_id", "member_id", "sent_at", "opened_at", "clicked_at"]
TAG_COLUMNS = ["tenant_id", "member_id", "tag_id"]


def member_batches(rows: Rows, count: int) -> Iterator[Batch]:
    for people, links, activity in rows.batches(count):
        yield [
            (members.name, rows.member_columns, people),
            (member_tags.name, TAG_COLUMNS, links),
            (campaign_activity.name, ACTIVITY_COLUMNS, activity),
        ]
