"""The engagement extension of the benchmark data set: 30 more campaigns, so that 50 in all
hold about 5 ``campaign_activity`` rows per member (5,000,000 at 1M members), all within the
90 days before the data set's clock.

The base data set draws each member's 20 campaigns at random times in those 90 days. These
30 are sent as campaigns are: campaign k on its own day, three days apart, to each member
with a chance of 1 in 15 (2 rows per member on average); half of the recipients open it
within three days, a third of those click. The same seed and size always give the same rows.
The campaigns are created ``sending`` and become ``completed`` once every row is written:
a load cut short is found and done again.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import sqlalchemy as sa

from segmentd.domain.fields import CampaignStatus
from segmentd.storage.campaigns import create_campaign, update_campaign
from segmentd.storage.db import Database
from segmentd.storage.schema import campaign_activity, campaigns, members

from .loading import Batch, analyze, load_batches

CAMPAIGNS = 30
PREFIX = "engagement campaign "
SENT, OPENED, CLICKED = 1 / 15, 0.5, 1 / 3
DAY = 86_400
BATCH = 50_000
COLUMNS = ["tenant_id", "campaign_id", "member_id", "sent_at", "opened_at", "clicked_at"]


def ensure_engagement(db: Database, tenant_id: int, list_id: int, now: int, seed: int) -> None:
    """Add the extension to the tenant's data set unless it is there complete."""
    with db.write() as conn:
        found = dict(
            conn.execute(
                sa.select(campaigns.c.id, campaigns.c.status).where(
                    campaigns.c.tenant_id == tenant_id, campaigns.c.name.startswith(PREFIX)
                )
            ).all()
        )
        if found and all(status == CampaignStatus.COMPLETED for status in found.values()):
            return
        _forget(conn, tenant_id, list(found))
        made = [
            create_campaign(conn, tenant_id, f"{PREFIX}{k}", CampaignStatus.SENDING, list_id).id
            for k in range(CAMPAIGNS)
        ]
        first, last = conn.execute(
            sa.select(sa.func.min(members.c.id), sa.func.max(members.c.id)).where(
                members.c.tenant_id == tenant_id
            )
        ).one()
    rng = random.Random(f"{seed}:engagement")
    load_batches(db, _batches(rng, tenant_id, made, int(first), int(last), now))
    with db.write() as conn:
        for campaign_id in made:
            update_campaign(conn, tenant_id, campaign_id, status=CampaignStatus.COMPLETED)
    if not db.is_sqlite:
        analyze(db)


def _forget(conn: sa.Connection, tenant_id: int, campaign_ids: list[int]) -> None:
    """A load cut short: its rows and campaigns go, to be written again."""
    if not campaign_ids:
        return
    for table, column in ((campaign_activity, "campaign_id"), (campaigns, "id")):
        mine = (table.c.tenant_id == tenant_id, table.c[column].in_(campaign_ids))
        conn.execute(sa.delete(table).where(*mine))


def _batches(
    rng: random.Random, tenant_id: int, campaign_ids: list[int], first: int, last: int, now: int
) -> Iterator[Batch]:
    # Campaign k goes out 3k days before the clock (the last one 87 days before), by day.
    send_days = [now - (CAMPAIGNS - 1 - k) * 3 * DAY for k in range(CAMPAIGNS)]
    for start in range(first, last + 1, BATCH):
        rows = []
        for member_id in range(start, min(start + BATCH, last + 1)):
            for campaign_id, day in zip(campaign_ids, send_days, strict=True):
                if rng.random() >= SENT:
                    continue
                sent = day - rng.randrange(DAY // 2)
                opened = min(now, sent + rng.randrange(3 * DAY)) if rng.random() < OPENED else None
                clicked = opened + 60 if opened is not None and rng.random() < CLICKED else None
                rows.append((tenant_id, campaign_id, member_id, sent, opened, clicked))
        yield [(campaign_activity.name, COLUMNS, rows)]
