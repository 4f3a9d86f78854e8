"""CSV event imports: set-based, keeping click => open => sent, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from segmentd.domain.fields import CampaignStatus
from segmentd.imports.import_jobs import Kind
from segmentd.imports.service import ImportRefused
from segmentd.storage.db import Database
from segmentd.storage.schema import campaign_activity
from tests.conftest import Tenant, make_tenant
from tests.support.factories import add_activity, add_campaign, add_member
from tests.support.import_helpers import run_file, write_csv


def _activity(db: Database, campaign_id: int) -> dict[int, tuple[int | None, ...]]:
    a = campaign_activity.c
    with db.read() as conn:
        rows = conn.execute(
            sa.select(a.member_id, a.sent_at, a.opened_at, a.clicked_at).where(
                a.campaign_id == campaign_id
            )
        )
        return {row[0]: tuple(row[1:]) for row in rows}


def test_events_fold_into_first_times_and_unknown_members_are_rejected(
    db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    ann = add_member(db, tenant.id, "ann@example.com")
    bob = add_member(db, tenant.id, "bob@example.com")
    cy = add_member(db, tenant.id, "cy@example.com")
    campaign = add_campaign(db, tenant.id)
    add_activity(db, tenant.id, campaign, cy, sent=True, at=50)
    stranger = add_member(db, make_tenant(db, "other").id, "zed@example.com")
    path = write_csv(
        tmp_path / "e.csv",
        ["Email", "member_id", "EVENT", "time"],
        [
            ["ann@example.com", "", "click", "300"],
            ["ANN@example.com", "", "open", "200"],
            ["", str(bob), "sent", "1970-01-01 08:01:40"],  # 100 s, the zone is UTC+8
            ["cy@example.com", "", "sent", "90"],
            ["cy@example.com", "", "open", "95"],
            ["nobody@example.com", "", "sent", ""],
            ["", str(stranger), "open", "1"],
            ["ann@example.com", "", "bounce", "1"],
        ],
    )
    job = run_file(db, path, campaign, kind=Kind.EVENTS, chunk_rows=3)
    assert (job.state, job.rows_done, job.created, job.rejected) == ("done", 8, 5, 3)
    assert [e["row"] for e in job.errors] == [6, 7, 8]
    assert (
        "no such member" in job.errors[0]["reason"] and "event must be" in job.errors[2]["reason"]
    )
    expected = {ann: (200, 200, 300), bob: (100, None, None), cy: (50, 95, None)}
    assert _activity(db, campaign) == expected
    again = run_file(db, path, campaign, kind=Kind.EVENTS)
    assert again.id != job.id and _activity(db, campaign) == expected


@pytest.mark.parametrize(
    ("header", "status", "message"),
    [
        (["email", "event", "color"], CampaignStatus.COMPLETED, "unknown columns: color"),
        (["email"], CampaignStatus.COMPLETED, "event column"),
        (["event"], CampaignStatus.COMPLETED, "email or a member_id"),
        (["email", "event"], CampaignStatus.DRAFT, "draft"),
    ],
)
def test_event_files_that_cannot_be_imported(
    db: Database, tenant: Tenant, tmp_path: Path, header: list[str], status: str, message: str
) -> None:
    campaign = add_campaign(db, tenant.id, status)
    path = write_csv(tmp_path / "e.csv", header, [])
    with pytest.raises(ImportRefused, match=message):
        run_file(db, path, campaign, kind=Kind.EVENTS)


def test_an_unknown_campaign_is_refused(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", ["email", "event"], [])
    with pytest.raises(ImportRefused, match="campaign 999 does not exist"):
        run_file(db, path, 999, kind=Kind.EVENTS)
