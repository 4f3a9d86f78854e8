"""Small direct-SQL helpers that put test data into a Database (no API, no validation).

Each helper runs its own write transaction and returns the new row's id (or FieldDef).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from segmentd.domain.emails import email_domain, email_key
from segmentd.domain.fields import CampaignStatus, FieldDef, FieldType
from segmentd.domain.segment_graph import SegmentOwner
from segmentd.domain.stored_form import load_condition
from segmentd.domain.values import parse_field_value
from segmentd.jobs.build_queue import enqueue_build
from segmentd.membership import store
from segmentd.membership.complement import build_horizon, held_ids
from segmentd.random_ids import new_commandersact_id, new_segment_id
from segmentd.services.native_conditions import checked_native_condition
from segmentd.services.segment_service import insert_segment, redefine_segment
from segmentd.storage.catalog import catalog_changed, custom_fields, load_catalog
from segmentd.storage.compiler import compile_condition
from segmentd.storage.db import Database
from segmentd.storage.member_columns import field_column
from segmentd.storage.membership_history import read_changes
from segmentd.storage.schema import (
    SLOTS,
    build_jobs,
    campaign_activity,
    campaigns,
    fields,
    lists,
    member_tags,
    members,
    segment_exclusions,
    segments,
    tags,
)
from segmentd.storage.segments import get_segment, next_segment_number
from segmentd.storage.tenants import default_list_id
from segmentd.storage.write_lock import lock_tenant_writes
from segmentd.timefmt import now


def add_field(
    db: Database,
    tenant_id: int,
    name: str,
    field_type: FieldType = FieldType.TEXT,
    *,
    format: str | None = None,
    options: Sequence[str] = (),
    visible: bool = True,
) -> FieldDef:
    """A custom field in the tenant's first free slot."""
    with db.write() as conn:
        used = set(
            conn.execute(sa.select(fields.c.slot).where(fields.c.tenant_id == tenant_id)).scalars()
        )
        slot = next(s for s in SLOTS if s not in used)
        field_id = conn.execute(
            sa.insert(fields)
            .values(
                tenant_id=tenant_id,
                name=name,
                name_key=name.casefold(),
                field_type=int(field_type),
                format=format,
                options=json.dumps(list(options)) if options else None,
                visible=visible,
                slot=slot,
                created_at=now(),
            )
            .returning(fields.c.id)
        ).scalar_one()
        catalog_changed(conn, tenant_id)
    return FieldDef(
        name, FieldType(field_type), format, tuple(options), slot, visible=visible, id=field_id
    )


def _tag_id(conn: Connection, tenant_id: int, name: str) -> int:
    found = conn.execute(
        sa.select(tags.c.id).where(tags.c.tenant_id == tenant_id, tags.c.name == name)
    ).scalar()
    if found is not None:
        return int(found)
    tag_id = conn.execute(
        sa.insert(tags)
        .values(tenant_id=tenant_id, name=name, created_at=now())
        .returning(tags.c.id)
    ).scalar_one()
    catalog_changed(conn, tenant_id)
    return int(tag_id)


def add_tag(db: Database, tenant_id: int, name: str) -> int:
    with db.write() as conn:
        return _tag_id(conn, tenant_id, name)


def add_list(db: Database, tenant_id: int, name: str = "Another list") -> int:
    with db.write() as conn:
        return int(
            conn.execute(
                sa.insert(lists)
                .values(tenant_id=tenant_id, name=name, is_default=False, created_at=now())
                .returning(lists.c.id)
            ).scalar_one()
        )


def add_member(
    db: Database,
    tenant_id: int,
    email: str,
    *,
    name: str | None = None,
    phone: str | None = None,
    values: Mapping[str, str] | None = None,
    tags: Sequence[str] = (),
    list_id: int | None = None,
    created_at: int | None = None,
    updated_at: int | None = None,
    unsubscribed_at: int | None = None,
    tcid: str | None = None,
) -> int:
    """A member; ``values`` are client strings by custom field name, ``tags`` tag names."""
    with db.write() as conn:
        by_key = {field.key: field for field in custom_fields(conn, tenant_id)}
        slots = {}
        for field_name, text in (values or {}).items():
            field = by_key[field_name.casefold()]
            slots[field_column(field).name] = parse_field_value(field, text)
        created = now() if created_at is None else created_at
        member_id = int(
            conn.execute(
                sa.insert(members)
                .values(
                    tenant_id=tenant_id,
                    list_id=list_id or default_list_id(conn, tenant_id),
                    email=email,
                    email_key=email_key(email),
                    domain=email_domain(email),
                    name=name,
                    phone=phone,
                    tcid=tcid,
                    created_at=created,
                    updated_at=created if updated_at is None else updated_at,
                    unsubscribed_at=unsubscribed_at,
                    **slots,
                )
                .returning(members.c.id)
            ).scalar_one()
        )
        for tag in tags:
            conn.execute(
                sa.insert(member_tags).values(
                    tenant_id=tenant_id, member_id=member_id, tag_id=_tag_id(conn, tenant_id, tag)
                )
            )
    return member_id


def add_campaign(
    db: Database,
    tenant_id: int,
    status: CampaignStatus | str = CampaignStatus.COMPLETED,
    *,
    name: str = "Campaign",
    list_id: int | None = None,
) -> int:
    with db.write() as conn:
        campaign_id = conn.execute(
            sa.insert(campaigns)
            .values(
                tenant_id=tenant_id,
                list_id=list_id,
                name=name,
                status=str(status),
                created_at=now(),
                updated_at=now(),
            )
            .returning(campaigns.c.id)
        ).scalar_one()
        catalog_changed(conn, tenant_id)
        return int(campaign_id)


def add_activity(
    db: Database,
    tenant_id: int,
    campaign_id: int,
    member_id: int,
    *,
    sent: bool = True,
    opened: bool = False,
    clicked: bool = False,
    at: int | None = None,
) -> None:
    """One campaign_activity row, keeping click => open => sent as ingestion does."""
    when = now() if at is None else at
    opened = opened or clicked
    sent = sent or opened
    with db.write() as conn:
        conn.execute(
            sa.insert(campaign_activity).values(
                tenant_id=tenant_id,
                campaign_id=campaign_id,
                member_id=member_id,
                sent_at=when if sent else None,
                opened_at=when if opened else None,
                clicked_at=when if clicked else None,
            )
        )


def add_segment_row(
    db: Database,
    tenant_id: int,
    stored: Mapping[str, object],
    *,
    segment_id: str | None = None,
    name: str = "segment",
    segment_type: int = 0,
) -> str:
    """A segments row with a stored condition (unchecked) and its first build queued, as a
    create leaves it; ``segment_id`` chooses the id (and so the order segments lock in)."""
    segment_id = segment_id or new_segment_id()
    with db.write() as conn:
        conn.execute(
            sa.insert(segments).values(
                id=segment_id,
                number=next_segment_number(conn, tenant_id),
                commandersact_id=new_commandersact_id(),
                tenant_id=tenant_id,
                list_id=default_list_id(conn, tenant_id),
                name=name,
                segment_type=segment_type,
                condition=json.dumps(stored),
                status=1,
                percent=0,
                generation=0,
                member_total=0,
                created_at=now(),
                updated_at=now(),
            )
        )
        enqueue_build(conn, tenant_id, segment_id)
    return segment_id


def number_of(segment_id: str) -> sa.ScalarSelect[int]:
    """The segment's number, the key of its membership rows, as a subquery."""
    return sa.select(segments.c.number).where(segments.c.id == segment_id).scalar_subquery()


def held(db: Database, segment_id: str, generation: int | None = None) -> list[int]:
    """The ids a generation of the segment holds (the published one by default), in id
    order, whichever form its rows take (``membership.complement``)."""
    with db.snapshot() as conn:
        segment = conn.execute(sa.select(segments).where(segments.c.id == segment_id)).one()
        horizon = segment.horizon
        if generation is not None and generation != segment.generation:
            job = conn.execute(
                sa.select(build_jobs.c.complement, build_jobs.c.cursor).where(
                    build_jobs.c.segment_id == segment_id, build_jobs.c.generation == generation
                )
            ).one()
            horizon = build_horizon(job.complement, int(job.cursor))
        key = (segment.tenant_id, segment.list_id, segment.number)
        query = held_ids(*key, generation or segment.generation, horizon)
        return [int(member_id) for member_id in conn.execute(query).scalars()]


def replayed(db: Database, tenant_id: int, segment_id: str) -> set[int]:
    """The members the segment's history says it holds, checking that each change is
    recorded once (a member's changes in a segment alternate, entering first)."""
    state: dict[int, str] = {}
    with db.read() as conn:
        changes = read_changes(conn, tenant_id, after_seq=0, limit=10**7, segment_id=segment_id)
    for change in changes:
        assert state.get(change.member_id, "left") != change.change, change
        state[change.member_id] = change.change
    return {member_id for member_id, last in state.items() if last == "entered"}


def rows_needed(db: Database, segment_id: str) -> int:
    """The rows the published generation needs: a row per member it holds, or for a
    complement per list member at or below the horizon that it leaves out."""
    with db.read() as conn:
        segment = conn.execute(sa.select(segments).where(segments.c.id == segment_id)).one()
    members_held = held(db, segment_id)
    if segment.horizon == 0:
        return len(members_held)
    m = members.c
    with db.read() as conn:
        listed = conn.execute(
            sa.select(sa.func.count()).where(m.list_id == segment.list_id, m.id <= segment.horizon)
        ).scalar_one()
    below = sum(1 for member_id in members_held if member_id <= segment.horizon)
    return int(listed) - below + len(members_held) - below


def native_segment(
    db: Database,
    tenant_id: int,
    list_id: int | None,
    name: str,
    raw: dict[str, Any],
    tz: tzinfo = UTC,
) -> str:
    """A dynamic segment of the list (None: the tenant's default list) with a native
    condition tree (checked, relative dates in ``tz``), created as the segment service
    creates one: its first build queued."""
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)
        list_id = list_id or default_list_id(conn, tenant_id)
        owner = SegmentOwner(None, name, list_id)
        stored = checked_native_condition(conn, tenant_id, raw, tz, owner)
        return insert_segment(
            conn, tenant_id, list_id=list_id, name=name, segment_type=0, condition=stored
        )


def redefine_native(
    db: Database, tenant_id: int, segment_id: str, raw: dict[str, Any], tz: tzinfo = UTC
) -> None:
    """Give a segment a new native condition tree, as the native API's update does: checked
    (cycles refused), its rebuild queued."""
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)
        segment = get_segment(conn, tenant_id, segment_id)
        assert segment is not None
        owner = SegmentOwner(segment_id, segment.name, segment.list_id)
        stored = checked_native_condition(conn, tenant_id, raw, tz, owner)
        redefine_segment(conn, tenant_id, segment_id, name=None, segment_type=0, condition=stored)


def selected_now(db: Database, tenant_id: int, segment_id: str, tz: tzinfo = UTC) -> set[int]:
    """What a full build of the segment selects now: its stored condition compiled, reading
    the published memberships it refers to, less the members removed by hand."""
    with db.snapshot() as conn:
        segment = get_segment(conn, tenant_id, segment_id)
        assert segment is not None
        condition = load_condition(segment.condition, load_catalog(conn, tenant_id), tz)
        where = compile_condition(condition, segments=store().published_sql(conn, tenant_id))
        excluded = sa.select(segment_exclusions.c.member_id).where(
            segment_exclusions.c.segment_id == segment_id
        )
        found = conn.execute(
            sa.select(members.c.id).where(
                members.c.tenant_id == tenant_id,
                members.c.list_id == segment.list_id,
                where,
                members.c.id.not_in(excluded),
            )
        )
        return set(found.scalars())
