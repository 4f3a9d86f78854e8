"""The demo data set behind ``segmentd serve --demo`` (and ``make run``).

A tenant ``demo`` whose api_key comes from the server secret, so every start prints the same
one (README variables and UI sessions outlive a restart); on first start its list is filled with
about 300 realistic members, two campaigns with their events and three segments, all through
the same use cases and storage functions the API uses, so the demo exercises the real paths.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .domain.fields import CampaignStatus
from .domain.validation import SegmentType
from .secrets import derived_secret
from .services.catalog_service import FieldDraft, create_campaign_in, create_field_in
from .services.member_service import record_events, unsubscribe, upsert_members
from .services.segment_service import SegmentDraft, create_segment_in
from .services.tenant_service import ensure_credential_in
from .settings import Settings
from .storage.db import Database
from .storage.members import TagFlag
from .storage.schema import members
from .storage.tenants import default_list_id
from .timefmt import now

DEMO_USER = "demo"
MEMBER_COUNT = 300
FIRST_TCID = 1000
SEED = 20240601
DEMO_KEY_PURPOSE = "segmentd/demo/api-key"

# fmt: off
FIRST_NAMES = (
    "Alice", "Bruno", "Chloé", "Daniel", "Emma", "Farid", "Gabriel", "Hana", "Inès", "Jules",
    "Karim", "Léa", "Manon", "Nathan", "Olivia", "Paul", "Quentin", "Rose", "Sacha", "Théo",
    "Ugo", "Valentin", "Wei", "Yasmine", "Zoé", "Aiko", "Bilal", "Carmen", "Diego", "Elif",
)
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Chen", "Tanaka", "Yilmaz",
    "Kaya", "Silva", "Müller", "Rossi",
)
# fmt: on
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.fr")
CITIES = ("Paris",) * 5 + ("Lyon", "Marseille", "Berlin", "Madrid", "Singapore", "Istanbul")
PLANS = ("Free",) * 6 + ("Pro",) * 3 + ("Enterprise",)

FIELDS: tuple[tuple[str, int, dict[str, Any]], ...] = (
    ("Age", 1, {}),
    ("City", 0, {}),
    ("Plan", 4, {"options": ["Free", "Pro", "Enterprise"]}),
    ("SignupDate", 2, {"format": "MM/DD/YYYY"}),
    ("Birthday", 3, {"format": "MM/DD"}),
)


def load_demo(db: Database, settings: Settings) -> tuple[str, str]:
    """Ensure the demo tenant (its api_key derived from the server secret) and its data;
    return (api_user, key)."""
    tz = settings.tz
    api_key = derived_secret(settings, DEMO_KEY_PURPOSE)
    with db.write() as conn:
        tenant_id = ensure_credential_in(conn, DEMO_USER, api_key)
        list_id = default_list_id(conn, tenant_id)
        if _is_empty(conn, tenant_id, list_id):
            _fill(conn, tenant_id, list_id, tz, random.Random(SEED))
    return DEMO_USER, api_key


def _is_empty(conn: Connection, tenant_id: int, list_id: int) -> bool:
    found = conn.execute(
        sa.select(members.c.id).where(
            members.c.tenant_id == tenant_id, members.c.list_id == list_id
        )
    ).first()
    return found is None


def _fill(conn: Connection, tenant_id: int, list_id: int, tz: timezone, rng: random.Random) -> None:
    for name, field_type, extra in FIELDS:
        create_field_in(conn, tenant_id, FieldDraft(name, field_type, **extra))
    people = [_person(index, rng) for index in range(MEMBER_COUNT)]
    upsert_members(
        conn, tenant_id, list_id, people, update_existing=True, tag_flag=TagFlag.APPEND, tz=tz
    )
    leaving = [p["email"] for p in people if rng.random() < 0.05]
    unsubscribe(conn, tenant_id, list_id, leaving, tz)
    emails = [p["email"] for p in people]
    spring = _campaign(conn, tenant_id, list_id, "Spring sale", CampaignStatus.COMPLETED)
    summer = _campaign(conn, tenant_id, list_id, "Summer newsletter", CampaignStatus.SENDING)
    record_events(conn, tenant_id, spring, _events(emails, 1.0, 0.4, 0.3, 45, rng), tz)
    record_events(conn, tenant_id, summer, _events(emails, 0.6, 0.3, 0.2, 5, rng), tz)
    _segments(conn, tenant_id, list_id, spring, tz)


def _person(index: int, rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = _ascii(f"{first}.{last}".lower())
    signup = date.today() - timedelta(days=rng.randrange(1, 3 * 365))
    tags = [
        tag
        for tag, share in (("vip", 0.1), ("newsletter", 0.5), ("churn-risk", 0.15))
        if rng.random() < share
    ]
    return {
        "email": f"{local}{index}@{rng.choice(DOMAINS)}",
        "name": f"{first} {last}",
        "phone": f"+33 6 {rng.randrange(10**8):08d}" if rng.random() < 0.6 else None,
        "tcid": str(FIRST_TCID + index),
        "tags": tags,
        "fields": {
            "Age": str(rng.randrange(18, 75)),
            "City": rng.choice(CITIES),
            "Plan": rng.choice(PLANS),
            "SignupDate": signup.strftime("%m/%d/%Y"),
            "Birthday": f"{rng.randrange(1, 13):02d}/{rng.randrange(1, 29):02d}",
        },
    }


def _ascii(text: str) -> str:
    """Chloé -> chloe: accents off, for the email address."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _campaign(
    conn: Connection, tenant_id: int, list_id: int, name: str, status: CampaignStatus
) -> int:
    return create_campaign_in(conn, tenant_id, name, status, list_id).id


def _events(
    emails: list[str], sent: float, opened: float, clicked: float, days_ago: int, rng: random.Random
) -> list[dict[str, Any]]:
    """Events for a campaign sent ``days_ago``: a share is sent, some open, some of those click."""
    start = now() - days_ago * 86_400
    events: list[dict[str, Any]] = []
    for email in emails:
        if rng.random() >= sent:
            continue
        events.append({"email": email, "event": "sent", "time": start})
        if rng.random() < opened:
            opened_at = start + rng.randrange(60, 3 * 86_400)
            events.append({"email": email, "event": "open", "time": opened_at})
            if rng.random() < clicked:
                events.append({"email": email, "event": "click", "time": opened_at + 30})
    return events


def _segments(conn: Connection, tenant_id: int, list_id: int, spring: int, tz: timezone) -> None:
    """Three segments, validated like the API's, queued for their first build."""
    definitions = (
        (
            "Age 20 to 40 in Paris",
            "5B07E9A3",
            SegmentType.BY_FIELD,
            [("Age", ">=", "20", None), ("Age", "<=", "40", None), ("City", "==", "Paris", None)],
        ),
        ("VIP", "3FA81C2E", SegmentType.BY_FIELD, [("tag", "==", "vip", None)]),
        (
            "Opened spring sale but did not click",
            "9D4C6F01",
            SegmentType.BY_CAMPAIGN,
            [("campaign", "==", "open", spring), ("campaign", "==", "unclick", spring)],
        ),
    )
    for name, commandersact_id, segment_type, items in definitions:
        raw = {
            "relation": "and",
            "items": [
                {"field_name": f, "op": op, "value": v, "campaign_id": c} for f, op, v, c in items
            ],
        }
        draft = SegmentDraft(
            name=name,
            segment_type=int(segment_type),
            condition=raw,
            list_id=list_id,
            commandersact_id=commandersact_id,  # fixed, so the README's look-ups are true
        )
        create_segment_in(conn, tenant_id, draft, tz)
