"""A seeded random tenant of a chosen size for the analytics tests: members whose values
mirror ``condition_strategies`` (edges of the world's days, accents, NULLs), a dozen
campaigns with activity timed around the world's windows, two static segments and a dynamic
one built as its complement. Written with bulk inserts (a row at a time is too slow at 20k
members and 200k events)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

import sqlalchemy as sa

from segmentd.domain.anniversaries import month_day
from segmentd.domain.contact import CampaignActivity
from segmentd.domain.emails import email_domain, email_key
from segmentd.domain.fields import CampaignStatus
from segmentd.domain.relative_days import add_months, day_number, day_start
from segmentd.jobs.build_worker import run_pending
from segmentd.services import segment_service
from segmentd.services.segment_service import SegmentDraft
from segmentd.services.static_segments import StaticDraft, add_static_members, create_static_segment
from segmentd.storage import schema
from segmentd.storage.db import Database
from segmentd.storage.member_columns import field_column
from tests.conftest import Tenant, test_settings
from tests.support.condition_members import CUSTOM, TAGS, Member, campaign_offset, store_members
from tests.support.condition_strategies import FAR_DAYS, World

CAMPAIGN_NUMBERS = range(1, 13)  # 1 and 2 are the catalog's of condition_members
_NUMBERS = [-2.5, -1.0, 0.0, 0.5, 1.0, 20.0, 20.25, 45.0, 1e6]
_TEXT = "aAbBéÉßİ%_ .@-"
_VIP = {"relation": "and", "items": [{"field_name": "tag", "op": "==", "value": "vip"}]}
_GIVEN_CHUNK = 1000  # static_segments.MAX_GIVEN


@dataclass(frozen=True)
class BulkWorld:
    world: World
    members: dict[int, Member]  # by member id
    segment_ids: list[str]


def _maybe(rng: random.Random, value: Any, none_share: float = 0.25) -> Any:
    return None if rng.random() < none_share else value


def _near_day(rng: random.Random, today: date) -> date:
    pick = rng.random()
    if pick < 0.4:
        return today + timedelta(days=rng.randint(-45, 45))
    if pick < 0.8:
        return add_months(today, rng.randint(-14, 14)) + timedelta(days=rng.randint(-1, 1))
    if pick < 0.9:
        return today + timedelta(days=rng.choice([-3651, -3650, -366, -365, 365, 366]))
    return rng.choice(FAR_DAYS)


def _moment(rng: random.Random, world: World) -> int:
    day = world.today + timedelta(days=rng.randint(-100, 3))
    return day_start(day, world.tz) + rng.choice([-1, 0, 1, 43_200, 86_399])


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_TEXT) for _ in range(rng.randint(0, 5)))


def _member(rng: random.Random, world: World, index: int, activity_share: float) -> Member:
    today = world.today
    birthday = month_day(today + timedelta(days=rng.randint(-3, 40)))
    values = {
        "Age": _maybe(rng, rng.choice(_NUMBERS)),
        "City": _maybe(rng, _text(rng)),
        "Plan": _maybe(rng, rng.choice(["Free", "Pro", "pro"])),
        "Signup": _maybe(rng, day_number(_near_day(rng, today))),
        "Birthday": _maybe(rng, rng.choice([birthday, birthday, 101, 228, 229, 1231])),
    }
    campaigns = {}
    for number in CAMPAIGN_NUMBERS:
        if rng.random() < activity_share:
            times = [_maybe(rng, _moment(rng, world), 0.3) for _ in range(3)]
            campaigns[number] = CampaignActivity(*times)
    local = "".join(rng.choice("abAB") for _ in range(rng.randint(1, 3)))
    domain = rng.choice(["Example.com", "test.org", "ex-ample.fr"])
    return Member(
        email=f"{local}{index}@{domain}",
        name=_maybe(rng, _text(rng)),
        values=values,
        created_at=day_start(_near_day(rng, today), world.tz) + rng.choice([-1, 0, 1]),
        updated_at=_moment(rng, world),
        unsubscribed_at=_maybe(rng, _moment(rng, world), 0.7),
        tags=frozenset(t for t in TAGS if rng.random() < 0.4),
        campaigns=campaigns,
    )


def build_world(
    db: Database, db_url: str, tenant: Tenant, world: World, size: int, activity_share: float
) -> BulkWorld:
    rng = random.Random(size)
    members = [_member(rng, world, index, activity_share) for index in range(size)]
    store_members(db, tenant, [], 0)  # the catalog: fields, tags, campaigns 1 and 2
    offset = campaign_offset(tenant)
    with db.write() as conn:
        tag_ids = dict(
            conn.execute(
                sa.select(schema.tags.c.name, schema.tags.c.id).where(
                    schema.tags.c.tenant_id == tenant.id
                )
            ).all()
        )
        conn.execute(
            sa.insert(schema.campaigns),
            [
                {"id": offset + n, "tenant_id": tenant.id, "name": f"c{n}",
                 "status": str(CampaignStatus.COMPLETED), "created_at": 0, "updated_at": 0}
                for n in CAMPAIGN_NUMBERS
                if n > 2
            ],
        )  # fmt: skip
        by_id = _insert_members(conn, tenant, members, tag_ids)
    segment_ids = _segments(db, db_url, tenant, rng, list(by_id))
    return BulkWorld(world, by_id, segment_ids)


def _insert_members(
    conn: sa.Connection, tenant: Tenant, members: list[Member], tag_ids: dict[str, int]
) -> dict[int, Member]:
    first = (
        int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(schema.members.c.id), 0))
            ).scalar_one()
        )
        + 1
    )
    by_id = {first + index: member for index, member in enumerate(members)}
    rows = []
    for member_id, m in by_id.items():
        row: dict[str, Any] = {
            "id": member_id, "tenant_id": tenant.id, "list_id": 1, "email": m.email,
            "email_key": email_key(m.email), "domain": email_domain(m.email), "name": m.name,
            "created_at": m.created_at, "updated_at": m.updated_at,
            "unsubscribed_at": m.unsubscribed_at,
        }  # fmt: skip
        for field in CUSTOM:
            row[field_column(field).name] = m.values.get(field.name)
        rows.append(row)
    conn.execute(sa.insert(schema.members), rows)
    tags = [
        {"tenant_id": tenant.id, "member_id": member_id, "tag_id": tag_ids[tag]}
        for member_id, m in by_id.items()
        for tag in m.tags
    ]
    if tags:
        conn.execute(sa.insert(schema.member_tags), tags)
    offset = campaign_offset(tenant)
    activity = [
        {"tenant_id": tenant.id, "campaign_id": offset + number, "member_id": member_id,
         "sent_at": a.sent_at, "opened_at": a.opened_at, "clicked_at": a.clicked_at}
        for member_id, m in by_id.items()
        for number, a in m.campaigns.items()
    ]  # fmt: skip
    for start in range(0, len(activity), 20_000):
        conn.execute(sa.insert(schema.campaign_activity), activity[start : start + 20_000])
    if conn.dialect.name == "postgresql":  # the ids given above: move the sequence past them
        conn.execute(sa.text("SELECT setval('members_id_seq', (SELECT max(id) FROM members))"))
    return by_id


def _segments(
    db: Database, db_url: str, tenant: Tenant, rng: random.Random, ids: list[int]
) -> list[str]:
    """Two static segments given random members, and "tag vip" built (as its complement)."""
    found = []
    for name in ("S1", "S2"):
        segment_id = create_static_segment(db, tenant.id, StaticDraft(name=name)).id
        chosen = sorted(m for m in ids if rng.random() < 0.3)
        for start in range(0, len(chosen), _GIVEN_CHUNK):
            add_static_members(
                db, tenant.id, segment_id, UTC, member_ids=chosen[start : start + _GIVEN_CHUNK]
            )
        found.append(segment_id)
    draft = SegmentDraft("Vip", 0, _VIP)
    found.append(segment_service.create_segment(db, tenant.id, draft, UTC).id)
    run_pending(db, test_settings(db_url, build_complement_share=0.2))
    return found
