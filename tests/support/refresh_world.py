"""Two tenants with the same members, campaigns and segments: one refreshed on the system of
record, the other on the analytics back-end, at a frozen clock moved across the tenant's day
boundary. Their memberships and histories, compared member by member (by email), must be the
same. Shared by the embedded and the cluster tests of the daily refresh on ClickHouse."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from segmentd import clock
from segmentd.domain.contact import CampaignActivity
from segmentd.domain.member_changes import MembersChanged
from segmentd.domain.relative_days import day_number, day_start
from segmentd.jobs.analytics_refresh import RefreshOnCopy
from segmentd.jobs.build_steps import Step
from segmentd.jobs.build_worker import run_pending
from segmentd.jobs.refresh_queue import RefreshClaim, claim_refresh, enqueue_due
from segmentd.jobs.refresh_runner import (
    Conditions,
    on_analytics_copy,
    prepare,
    run_chunk,
    run_refresh,
)
from segmentd.membership import read_changes, store
from segmentd.settings import Settings
from segmentd.storage import analytics_outbox as outbox
from segmentd.storage import schema
from segmentd.storage.db import Database
from segmentd.storage.membership_history import last_seq
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant, make_tenant
from tests.support.condition_members import Member, store_members
from tests.support.factories import add_segment_row, held
from tests.support.moving_clock import MovingClock
from tests.support.stored_conditions import stored_native

ZONE = timezone(timedelta(hours=8))
DAY = date(2024, 3, 10)
MEMBERS = 48
EVENING = datetime(2024, 3, 10, 23, 30, tzinfo=ZONE)  # half an hour before the boundary
HOUR = 3_600


def _member(i: int) -> Member:
    """Signup from 8 days before DAY to 3 after; opens of campaign 1 and 2 spread over the
    days around DAY (some members never opened, some only were sent); every third member
    Age 20, the others 40."""
    start = day_start(DAY, ZONE)
    campaigns: dict[int, CampaignActivity] = {}
    if i % 4 != 3:
        opened = start - (i % 9) * 86_400 + (i % 5) * HOUR
        campaigns[1] = CampaignActivity(opened - HOUR, opened)
    if i % 3 == 0:
        campaigns[2] = CampaignActivity(start - (i % 6) * 86_400 + 22 * HOUR, None)
    return Member(
        email=f"m{i}@example.com",
        name=f"M{i}",
        values={"Signup": day_number(DAY + timedelta(days=i % 12 - 8)), "Age": 20 if i % 3 else 40},
        created_at=start - 30 * 86_400,
        updated_at=start - 30 * 86_400,
        unsubscribed_at=None,
        tags=frozenset({"vip"} if i % 5 == 0 else ()),
        campaigns=campaigns,
    )


# Time-dependent segments of every moving kind, one referring to a segment that is not;
# and one that is not time-dependent referring to a time-dependent one (brought up to date
# for the members that move, by the cascade of the refresh).
SEGMENTS: dict[str, Any] = {
    "signup": {"all": [{"kind": "field", "field": "Signup", "op": "in_last", "amount": 2,
                        "unit": "days"}]},
    "recent": {"all": [{"kind": "last_activity", "activity": "open", "op": "in_last",
                        "amount": 3, "unit": "days"}]},
    "engaged": {"all": [{"kind": "engagement", "activity": "open", "count_op": ">=",
                         "count": 1, "within": {"amount": 2, "unit": "days"}}]},
    "young": {"all": [{"kind": "field", "field": "Age", "op": "<", "value": "30"}]},
    "lapsed": {"any": [{"kind": "last_activity", "activity": "open", "op": "more_than_ago",
                        "amount": 5, "unit": "days"}]},  # referring to "young" (below)
    "signup_vip": {"all": [{"kind": "tag", "tag": "vip", "op": "=="}]},  # + "signup"
}  # fmt: skip


@dataclass(frozen=True)
class Side:
    """One tenant of the two: its segments by name and its members' emails by id."""

    tenant_id: int
    segments: dict[str, str]
    emails: dict[int, str]
    built: int = 0  # the history's last seq once built (``build_both``)


def seed(db: Database, tenant: Tenant, count: int = MEMBERS) -> Side:
    """``count`` members as above and the segments for ``tenant`` (built by the caller)."""
    people = [_member(i) for i in range(count)]
    ids = store_members(db, tenant, people, int(EVENING.timestamp()))
    with db.write() as conn:  # the helper writes list 1: the tenant's own list here
        list_id = default_list_id(conn, tenant.id)
        m = schema.members.c
        conn.execute(
            sa.update(schema.members).where(m.tenant_id == tenant.id).values(list_id=list_id)
        )
    segments: dict[str, str] = {}
    for name, native in SEGMENTS.items():
        with db.read() as conn:
            stored = stored_native(conn, tenant.id, native, ZONE)
        if name == "lapsed":
            young = {"kind": "segment", "segment": segments["young"], "op": "in"}
            stored = {**stored, "items": [*stored["items"], young]}
        if name == "signup_vip":
            signup = {"kind": "segment", "segment": segments["signup"], "op": "in"}
            stored = {**stored, "items": [*stored["items"], signup]}
        segments[name] = add_segment_row(db, tenant.id, stored, name=name)
    return Side(tenant.id, segments, {v: k for k, v in ids.items()})


def build_both(db: Database, sql_settings: Settings, sides: list[Side]) -> list[Side]:
    """Every segment of both tenants built on the system of record: the same start (their
    build histories differ in order: a referring segment built before the one it refers to
    is built again after it)."""
    while run_pending(db, sql_settings):
        pass
    with db.read() as conn:
        return [replace(side, built=last_seq(conn, side.tenant_id)) for side in sides]


def memberships(db: Database, side: Side) -> dict[str, list[str]]:
    return {
        name: sorted(side.emails[m] for m in held(db, sid)) for name, sid in side.segments.items()
    }


def history(db: Database, side: Side) -> dict[str, list[tuple[str, str, str]]]:
    """The tenant's membership history since its segments were built, by segment: (member,
    entered or left, cause), in order (segments are refreshed in the order of their random
    ids: each segment's order is the same in both tenants, not their interleaving)."""
    names = {sid: name for name, sid in side.segments.items()}
    with db.read() as conn:
        changes = read_changes(conn, side.tenant_id, after_seq=side.built, limit=100_000)
    found: dict[str, list[tuple[str, str, str]]] = {name: [] for name in side.segments}
    for c in changes:
        found[names[c.segment_id]].append((side.emails[c.member_id], c.change, c.cause))
    return found


def claims(db: Database, settings: Settings) -> dict[int, RefreshClaim]:
    """The refreshes due now, queued and claimed, by tenant."""
    enqueue_due(db, clock.today(settings.tz))
    found: dict[int, RefreshClaim] = {}
    while (claim := claim_refresh(db, "test-worker", settings.lease_seconds)) is not None:
        found[claim.tenant_id] = claim
    return found


def change_both(db: Database, sides: list[Side], emails: list[str], signup: date) -> None:
    """Members' Signup changed, through the outbox and with their real-time update, in both
    tenants (the same change)."""
    for side in sides:
        by_email = {e: m for m, e in side.emails.items()}
        ids = [by_email[e] for e in emails]
        with db.write() as conn:
            conn.execute(
                sa.update(schema.members)
                .where(schema.members.c.id.in_(ids))
                .values(n4=float(day_number(signup)))  # Signup's slot (condition_members)
            )
            outbox.record_members(conn, side.tenant_id, ids)
            store().apply_changes(conn, side.tenant_id, MembersChanged(ids), ZONE)


def remove_by_hand(db: Database, sides: list[Side], segment: str, email: str) -> None:
    """A member taken out of a segment by hand (no change to the member: no outbox row)."""
    for side in sides:
        by_email = {e: m for m, e in side.emails.items()}
        with db.write() as conn:
            sid = side.segments[segment]
            store().remove(conn, side.tenant_id, sid, [by_email[email]])
            store().refresh_referrers(conn, side.tenant_id, sid, [by_email[email]], ZONE)


def start_on_copy(db: Database, settings: Settings, claim: RefreshClaim) -> RefreshOnCopy:
    """A refresh attempt on the copy, up to its sync (the job's day fixed, the copy synced)."""
    assert prepare(db, settings, claim) is Step.PROGRESS
    copy = on_analytics_copy(db, settings, claim)
    assert copy is not None
    return copy


def finish(
    db: Database, settings: Settings, claim: RefreshClaim, copy: RefreshOnCopy | None
) -> None:
    conditions = Conditions()
    step = Step.PROGRESS
    while step is Step.PROGRESS:
        step = run_chunk(db, settings, claim, conditions, copy)
    assert step is Step.DONE


def refresh(db: Database, settings: Settings, claim: RefreshClaim) -> Step | None:
    return run_refresh(db, settings, claim, lambda: False)


_ONE_PASS = re.compile(r"^SELECT member_id, \(.*\) AS s0, \(.*\) AS s1, ", re.S)


def two_sides(db: Database, on_sql: Settings) -> tuple[Side, Side]:
    """Tenant "sql" and tenant "copy", the same members and segments, built on SQL."""
    seeded = [seed(db, make_tenant(db, name)) for name in ("sql", "copy")]
    sql, copy = build_both(db, on_sql, seeded)
    assert memberships(db, sql) == memberships(db, copy)
    return sql, copy


def refresh_agrees(
    db: Database,
    on_copy: Settings,
    on_sql: Settings,
    sides: tuple[Side, Side],
    frozen: MovingClock,
    asked: list[str],
) -> None:
    """Two day boundaries: tenant "sql" refreshed on the system of record, tenant "copy" on
    the analytics copy (``asked``: the queries its source ran), with members changed after
    the copy was synced the first day; the same memberships and history after each."""
    sql, copy = sides
    chunk = on_copy.build_chunk_size
    for day in (1, 2):
        frozen.set(EVENING + timedelta(days=day - 1, hours=1))  # 00:30 the next day
        found = claims(db, on_copy)
        assert set(found) == {sql.tenant_id, copy.tenant_id}
        synced = start_on_copy(db, on_copy, found[copy.tenant_id])
        if day == 1:
            # After the copy was synced: Signup moved into the window (m5, a vip: also
            # "signup_vip"), out of it (m9); m4 taken out of "young" by hand (no outbox row,
            # "lapsed" refers to it). The copy is older than the system of record for them.
            change_both(db, [sql, copy], ["m5@example.com"], DAY + timedelta(days=1))
            change_both(db, [sql, copy], ["m9@example.com"], DAY - timedelta(days=30))
            remove_by_hand(db, [sql, copy], "young", "m4@example.com")
        assert refresh(db, on_sql, found[sql.tenant_id]) is Step.DONE
        finish(db, on_copy, found[copy.tenant_id], synced)
        assert memberships(db, copy) == memberships(db, sql)
        assert history(db, copy) == history(db, sql)
    logged = history(db, copy)
    refreshed = {(c, cause) for changes in logged.values() for _m, c, cause in changes}
    assert {("entered", "refresh"), ("left", "refresh")} <= refreshed
    moved = {(m, cause) for m, _c, cause in logged["signup"]}
    assert ("m5@example.com", "refresh") not in moved  # the real-time path had it right
    # One query per chunk for all four time-dependent segments, on ClickHouse.
    passes = [text for text in asked if _ONE_PASS.match(text)]
    assert len(passes) == 2 * -(-MEMBERS // chunk)
    assert all(" AS s3" in q and " AS s4" not in q for q in passes)
