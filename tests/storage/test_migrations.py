"""Migrations carry existing data: a database of an older revision upgrades with its rows.

Migration 0007 re-keys the membership tables by segment number: every segment gets a number
in creation order within its tenant, and every membership row and bucket count follows its
segment. Downgrading restores the text keys. Migration 0008's downgrade turns complement
generations back into member rows. Migration 0009 gives every segment a Commanders Act id.
Migration 0011 stores conditions by field key and tag id; GET answers the same bytes.
Migration 0013 gives segments a kind; its downgrade drops static segments with their rows.
Migration 0014 dates existing memberships by their build (``exact_at``). Migration 0019
narrows the history's rows (segment numbers, cause codes) and keeps every change; 0021 stores
them as blocks of member ids, and its downgrade expands the blocks back into rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from segmentd.domain.segment_kinds import SegmentKind
from segmentd.services import segment_service
from segmentd.services.segment_service import SegmentDraft
from segmentd.services.static_segments import StaticDraft, create_static_segment
from segmentd.storage import id_blocks, schema
from segmentd.storage.db import Database
from segmentd.storage.membership_history import member_changes, read_changes
from segmentd.storage.migrate import alembic_config
from segmentd.storage.segments import CommandersActIdTaken, create_segment, get_segment
from tests.conftest import (
    BACKENDS,
    LiveServer,
    Tenant,
    make_tenant,
    module_database_url,
    test_settings,
)
from tests.support.factories import add_member
from tests.support.ingest_helpers import FIELDS, make_campaign, make_field, ok, upsert
from tests.support.ingest_helpers import SEGMENTS as SEGMENTS_URL

# (id, tenant, created_at): B is tenant 1's first segment, although its id sorts after A's.
SEGMENTS = [("a" * 24, 1, 200), ("b" * 24, 1, 100), ("c" * 24, 2, 100)]
# (segment id, generation, member id)
ROWS = [("a" * 24, 1, 5), ("a" * 24, 1, 9000), ("a" * 24, 2, 5), ("b" * 24, 3, 7), ("c" * 24, 1, 5)]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from module_database_url(request.param, tmp_path)


def migrate_to(url: str, revision: str, downgrade: bool = False) -> None:
    config = alembic_config(url)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if downgrade else command.upgrade)(config, revision)
        connection.commit()
    engine.dispose()


def fill_0006(conn: sa.Connection) -> None:
    for tenant in (1, 2):
        conn.execute(
            sa.text("INSERT INTO tenants (id, name, created_at) VALUES (:t, 'T', 0)"), {"t": tenant}
        )
    for segment_id, tenant, created in SEGMENTS:
        conn.execute(
            sa.text(
                "INSERT INTO segments (id, tenant_id, list_id, name, segment_type, condition,"
                " status, percent, generation, member_total, created_at, updated_at)"
                " VALUES (:id, :t, 1, 'S', 0, '{}', 2, 100, 1, 0, :c, :c)"
            ),
            {"id": segment_id, "t": tenant, "c": created},
        )
    tenant_of = {segment_id: tenant for segment_id, tenant, _ in SEGMENTS}
    for segment_id, generation, member in ROWS:
        values = {"t": tenant_of[segment_id], "s": segment_id, "g": generation, "m": member}
        conn.execute(
            sa.text("INSERT INTO segment_members VALUES (:t, :s, :g, :m)"),
            values,
        )
        conn.execute(
            sa.text("INSERT INTO segment_buckets VALUES (:t, :s, :g, :m / 4096, 1)"),
            values,
        )


def rows_of(conn: sa.Connection, table: str, key: str, last: str) -> list[tuple[Any, ...]]:
    found = conn.execute(
        sa.text(f"SELECT {key}, generation, {last} FROM {table} ORDER BY {key}, generation, {last}")
    )
    return [tuple(row) for row in found]


def test_0007_numbers_segments_and_rekeys_their_rows_and_downgrades(url: str) -> None:
    migrate_to(url, "0006")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        fill_0006(conn)
    engine.dispose()

    migrate_to(url, "head")
    db = Database(url)
    try:
        with db.read() as conn:
            numbers = dict(conn.execute(sa.text("SELECT id, number FROM segments")).all())
            assert numbers == {"a" * 24: 2, "b" * 24: 1, "c" * 24: 1}
            last = conn.execute(sa.text("SELECT id, last_segment_number FROM tenants")).all()
            assert sorted(last) == [(1, 2), (2, 1)]
            # Numbers repeat across tenants: the tenant is part of every key.
            keyed = conn.execute(
                sa.text(
                    "SELECT s.id, m.generation, m.member_id FROM segment_members AS m"
                    " JOIN segments AS s ON s.tenant_id = m.tenant_id"
                    " AND s.number = m.segment_number"
                )
            ).all()
            assert sorted(keyed) == sorted(ROWS)
            counted = rows_of(conn, "segment_buckets", "segment_number", "bucket")
            assert counted == [(1, 1, 0), (1, 3, 0), (2, 1, 0), (2, 1, 2), (2, 2, 0)]
        with db.write() as conn:
            created = create_segment(
                conn, 1, list_id=1, name="new", segment_type=0, condition={"items": []}
            )
        with db.read() as conn:
            number = conn.execute(
                sa.text("SELECT number FROM segments WHERE id = :id"), {"id": created}
            ).scalar_one()
        assert number == 3
    finally:
        db.dispose()

    migrate_to(url, "0006", downgrade=True)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert rows_of(conn, "segment_members", "segment_id", "member_id") == sorted(ROWS)
    engine.dispose()


def test_0008_downgrade_turns_complements_back_into_member_rows(url: str) -> None:
    """Members 1 to 5; the published generation is a complement up to 4 leaving out 2, and
    member 5 joined after it (a row above the horizon); a build writing a complement runs."""
    migrate_to(url, "0008")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants (id, name, created_at) VALUES (1, 'T', 0)"))
        for member_id in range(1, 6):
            conn.execute(
                sa.text(
                    "INSERT INTO members (id, tenant_id, list_id, email, email_key, domain,"
                    " created_at, updated_at) VALUES (:m, 1, 1, :e, :e, 'x.test', 0, 0)"
                ),
                {"m": member_id, "e": f"m{member_id}@x.test"},
            )
        conn.execute(
            sa.text(
                "INSERT INTO segments (id, tenant_id, list_id, name, segment_type, condition,"
                " status, percent, generation, member_total, created_at, updated_at, number,"
                " horizon) VALUES (:id, 1, 1, 'S', 0, '{}', 2, 100, 1, 4, 0, 0, 1, 4)"
            ),
            {"id": "a" * 24},
        )
        conn.execute(
            sa.text(
                "INSERT INTO build_jobs (tenant_id, segment_id, generation, state, cursor,"
                " processed, total, complement, attempts, created_at, updated_at)"
                " VALUES (1, :id, 2, 'running', 3, 3, 5, :yes, 1, 0, 0)"
            ),
            {"id": "a" * 24, "yes": True},
        )
        for generation, member_id in ((1, 2), (1, 5), (2, 1)):
            conn.execute(
                sa.text("INSERT INTO segment_members VALUES (1, 1, :g, :m)"),
                {"g": generation, "m": member_id},
            )
    engine.dispose()

    migrate_to(url, "0007", downgrade=True)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = rows_of(conn, "segment_members", "segment_number", "member_id")
        job = conn.execute(sa.text("SELECT cursor, processed FROM build_jobs")).one()
    engine.dispose()
    # The published generation as member rows; the build starts over (its fills replace
    # whatever its complement rows were).
    assert [(g, m) for _n, g, m in rows if g == 1] == [(1, 1), (1, 3), (1, 4), (1, 5)]
    assert tuple(job) == (0, 0)


def test_0009_gives_every_segment_a_commandersact_id_unique_in_its_tenant(url: str) -> None:
    migrate_to(url, "0006")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        fill_0006(conn)
    engine.dispose()
    migrate_to(url, "0008")

    migrate_to(url, "head")
    db = Database(url)
    try:
        with db.read() as conn:
            found = conn.execute(sa.text("SELECT tenant_id, commandersact_id FROM segments")).all()
        assert len(found) == len(SEGMENTS)
        for _tenant, commandersact_id in found:
            assert len(commandersact_id) == 8
            assert commandersact_id == commandersact_id.upper()
            int(commandersact_id, 16)
        taken = next(c for t, c in found if t == 1)
        # Unique in the tenant: the index refuses a copy, create_segment says which one.
        with pytest.raises(IntegrityError), db.write() as conn:
            conn.execute(
                sa.text("UPDATE segments SET commandersact_id = :c WHERE tenant_id = 1"),
                {"c": taken},
            )
        new = {"list_id": 1, "name": "new", "segment_type": 0, "condition": {"items": []}}
        with pytest.raises(CommandersActIdTaken), db.write() as conn:
            create_segment(conn, 1, **new, commandersact_id=taken)
        with db.write() as conn:  # another tenant may use the same id
            created = create_segment(conn, 2, **new, commandersact_id=taken)
            randomly = create_segment(conn, 2, **new)
        with db.read() as conn:
            ids = dict(conn.execute(sa.text("SELECT id, commandersact_id FROM segments")).all())
        assert ids[created] == taken
        assert len(ids[randomly]) == 8 and ids[randomly] not in (taken, ids["c" * 24])
    finally:
        db.dispose()

    migrate_to(url, "0008", downgrade=True)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("segments")}
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("segments")}
    engine.dispose()
    assert "commandersact_id" not in columns
    assert "ix_segments_tenant_id_commandersact_id" not in indexes


def test_0010_adds_ui_sessions_and_downgrades(url: str) -> None:
    migrate_to(url, "head")
    engine = sa.create_engine(url)
    assert "ui_sessions" in sa.inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO ui_sessions (id_hash, tenant_id, api_user, created_at, expires_at)"
                " VALUES (:h, 1, 'u', 0, 1)"
            ),
            {"h": "0" * 64},
        )
    engine.dispose()
    migrate_to(url, "0009", downgrade=True)
    engine = sa.create_engine(url)
    assert "ui_sessions" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    migrate_to(url, "head")
    engine = sa.create_engine(url)
    assert "ui_sessions" in sa.inspect(engine).get_table_names()
    engine.dispose()


def _item(field_name: str, op: str, value: str, campaign_id: int | None = None) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "field_name": field_name, "op": op, "value": value}


def _stored_conditions(url: str) -> dict[str, str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = dict(conn.execute(sa.text("SELECT id, condition FROM segments")).all())
    engine.dispose()
    return found


def _get_segments(url: str, tenant: Tenant, segment_ids: list[str]) -> dict[str, bytes]:
    with (
        LiveServer(test_settings(url), start_worker=False) as live,
        httpx.Client(base_url=live.url, auth=tenant.auth, timeout=30) as http,
    ):
        return {s: http.get(f"{SEGMENTS_URL}/{s}").content for s in segment_ids}


def test_0011_stores_conditions_by_key_and_id_reads_back_the_same_and_downgrades(
    url: str,
) -> None:
    migrate_to(url, "head")
    db = Database(url)
    tenant = make_tenant(db)
    db.dispose()
    with (
        LiveServer(test_settings(url), start_worker=False) as live,
        httpx.Client(base_url=live.url, auth=tenant.auth, timeout=30) as http,
    ):
        age = make_field(http, "Age", 1)
        city = make_field(http, "City", 0)
        upsert(http, [{"email": "a@example.com", "tags": ["vip"], "fields": {"City": "Paris"}}])
        campaign = make_campaign(http)
        sent = [
            _item("age", ">=", "13"),
            _item("CITY", "contain", "par"),
            _item("tag", "!=", "vip"),
            _item("createtime", ">", "2024-01-01"),
        ]
        body = {"segment_name": "F", "type": 0, "condition": {"relation": "or", "items": sent}}
        by_field = ok(http.post(SEGMENTS_URL, json=body))["result"]["segment_id"]
        opened = [_item("campaign", "==", "open", campaign)]
        body = {"segment_name": "C", "type": 1, "condition": {"relation": "and", "items": opened}}
        by_campaign = ok(http.post(SEGMENTS_URL, json=body))["result"]["segment_id"]
        # A rename leaves the stored condition; GET and the downgrade name the field anew.
        ok(http.put(f"{FIELDS}/{city['field_id']}", json={"field_name": "Town"}))
    segment_ids = [by_field, by_campaign]
    before = _get_segments(url, tenant, segment_ids)
    stored = json.loads(_stored_conditions(url)[by_field])
    assert stored["version"] == 1
    assert stored["items"][0] == {
        "kind": "field",
        "field": f"custom:{age['field_id']}",
        "op": ">=",
        "value": "13",
    }

    migrate_to(url, "0010", downgrade=True)
    old = _stored_conditions(url)
    old_items = [
        _item("Age", ">=", "13"),
        _item("Town", "contain", "par"),
        _item("tag", "!=", "vip"),
        _item("CreateTime", ">", "2024-01-01"),
    ]
    assert old[by_field] == json.dumps({"relation": "or", "items": old_items})
    assert old[by_campaign] == json.dumps({"relation": "and", "items": opened})
    # A segment the old code stored, at 0010.
    legacy = "d" * 24
    legacy_condition = {"relation": "and", "items": [_item("tag", "==", "vip")]}
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO segments (id, tenant_id, list_id, name, segment_type, condition,"
                " status, percent, generation, member_total, created_at, updated_at, number,"
                " horizon, commandersact_id) SELECT :id, :t, list_id, 'L', 0, :c, 2, 100, 0, 0,"
                " 0, 0, 100, 0, '0000ABCD' FROM segments WHERE id = :other"
            ),
            {"id": legacy, "t": tenant.id, "c": json.dumps(legacy_condition), "other": by_field},
        )
    engine.dispose()

    migrate_to(url, "head")
    after = _get_segments(url, tenant, [*segment_ids, legacy])
    assert {s: after[s] for s in segment_ids} == before
    assert json.loads(after[legacy])["result"]["condition"] == legacy_condition
    assert json.loads(_stored_conditions(url)[by_field]) == stored


def test_0014_dates_existing_memberships_by_their_build_and_downgrades(url: str) -> None:
    migrate_to(url, "0011")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants (id, name, created_at) VALUES (1, 't', 0)"))
        for segment_id, number, built_at in (("a" * 24, 1, 1_700_000_000), ("b" * 24, 2, None)):
            conn.execute(
                sa.text(
                    "INSERT INTO segments (id, tenant_id, list_id, name, segment_type, condition,"
                    " status, percent, generation, member_total, created_at, updated_at,"
                    " built_at, number, horizon, commandersact_id) VALUES (:id, 1, 1, 's', 0,"
                    " '{}', 2, 100, 1, 0, 0, 0, :built_at, :number, 0, :ca)"
                ),
                {"id": segment_id, "built_at": built_at, "number": number, "ca": f"{number:08X}"},
            )
    engine.dispose()

    migrate_to(url, "0014")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, exact_at, exact_day, time_dependent FROM segments ORDER BY id")
        ).all()
        assert [tuple(row) for row in rows] == [
            ("a" * 24, 1_700_000_000, None, False),
            ("b" * 24, None, None, False),
        ]
    inspector = sa.inspect(engine)
    assert "refresh_jobs" in inspector.get_table_names()
    assert "day" in {column["name"] for column in inspector.get_columns("build_jobs")}
    engine.dispose()

    migrate_to(url, "-1", downgrade=True)
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    assert "refresh_jobs" not in inspector.get_table_names()
    assert "exact_at" not in {column["name"] for column in inspector.get_columns("segments")}
    assert "day" not in {column["name"] for column in inspector.get_columns("build_jobs")}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM segments")).scalar_one() == 2
    engine.dispose()


def test_0013_makes_every_segment_dynamic_and_its_downgrade_drops_static_ones(url: str) -> None:
    migrate_to(url, "head")
    db = Database(url)
    tenant = make_tenant(db)
    ann = add_member(db, tenant.id, "ann@example.com")
    draft = SegmentDraft("All", 0, {"relation": "and", "items": [_item("Email", "contain", "@")]})
    dynamic = segment_service.create_segment(db, tenant.id, draft, UTC).id
    static = create_static_segment(db, tenant.id, StaticDraft(name="S", member_ids=[ann])).id
    db.dispose()

    migrate_to(url, "0011", downgrade=True)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT id FROM segments")).scalars().all()
        rows = conn.execute(sa.text("SELECT count(*) FROM segment_members")).scalar_one()
        buckets = conn.execute(sa.text("SELECT count(*) FROM segment_buckets")).scalar_one()
    engine.dispose()
    assert (left, rows, buckets) == ([dynamic], 0, 0)  # the static one went with its members

    migrate_to(url, "head")
    db = Database(url)
    with db.read() as conn:
        segment = get_segment(conn, tenant.id, dynamic)
        assert get_segment(conn, tenant.id, static) is None
    db.dispose()
    assert segment is not None and segment.kind is SegmentKind.DYNAMIC


def test_0016_adds_webhooks_matching_the_schema_and_downgrades(url: str) -> None:
    migrate_to(url, "head")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert [d for d in differences if "webhook" in repr(d)] == []
    engine.dispose()
    migrate_to(url, "0015", downgrade=True)
    engine = sa.create_engine(url)
    tables = set(sa.inspect(engine).get_table_names())
    assert not tables & {"webhooks", "webhook_deliveries"}
    engine.dispose()
    migrate_to(url, "head")
    engine = sa.create_engine(url)
    assert {"webhooks", "webhook_deliveries"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def insert_history(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Tenant 1's changes as rows of a former layout of ``membership_changes`` (the keys of
    ``rows``: its columns), and its counter at the last seq."""
    names = list(rows[0])
    conn.execute(
        sa.text(
            f"INSERT INTO membership_changes (tenant_id, {', '.join(names)})"
            f" VALUES (1, {', '.join(':' + n for n in names)})"
        ),
        rows,
    )
    last = max(row["seq"] for row in rows)
    conn.execute(sa.text("INSERT INTO change_counters VALUES (1, :last)"), {"last": last})


def assert_history_as_schema(conn: sa.Connection) -> None:
    differences = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert [d for d in differences if "history" in repr(d) or "changes" in repr(d)] == []


def downgraded_history(url: str, revision: str, columns: str) -> tuple[list[Any], set[str]]:
    """Downgrade to ``revision``: the ``columns`` of its ``membership_changes`` rows in seq
    order, and the tables left."""
    migrate_to(url, revision, downgrade=True)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT {columns} FROM membership_changes ORDER BY seq"))
        back = [tuple(row) for row in rows]
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    return back, tables


# (seq, segment id, list id, member id, change, cause): segment "d" was deleted before 0019.
CHANGES = [
    (1, "a" * 24, 1, 5, 1, "build"),
    (2, "a" * 24, 1, 9000, 1, "realtime"),
    (3, "d" * 24, 4, 5, 0, "deleted"),
    (4, "a" * 24, 1, 5, 0, "member_deleted"),
    (5, "b" * 24, 1, 7, 1, "reference"),
]


def test_0019_narrows_the_history_keeps_every_change_and_downgrades(url: str) -> None:
    migrate_to(url, "0006")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        fill_0006(conn)
    engine.dispose()
    migrate_to(url, "0018")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        columns = ("seq", "segment_id", "list_id", "member_id", "change", "cause")
        insert_history(conn, [{**dict(zip(columns, c, strict=True)), "at": c[0]} for c in CHANGES])
    engine.dispose()

    migrate_to(url, "head")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert_history_as_schema(conn)
        feed = read_changes(conn, 1, after_seq=0, limit=10)
        deleted = read_changes(conn, 1, after_seq=0, limit=10, segment_id="d" * 24)
        member = member_changes(conn, 1, 5, after_seq=0, limit=10)
        numbers = dict(
            conn.execute(sa.text("SELECT segment_id, segment_number FROM history_segments")).all()
        )
        last = conn.execute(
            sa.text("SELECT last_segment_number FROM tenants WHERE id = 1")
        ).scalar()
    engine.dispose()
    as_rows = [
        (c.seq, c.segment_id, c.list_id, c.member_id, int(c.change == "entered"), c.cause)
        for c in feed
    ]
    assert as_rows == CHANGES
    assert [c.seq for c in deleted] == [3]
    assert [c.seq for c in member] == [1, 3, 4]
    # The deleted segment got a number tenant 1 never used (its segments had 1 and 2).
    assert numbers["d" * 24] == last == 3

    back, tables = downgraded_history(
        url, "0018", "seq, segment_id, list_id, member_id, change, cause"
    )
    assert back == CHANGES
    assert "history_segments" not in tables


# (seq, segment number, member id, change, cause code, at), as rows of 0019's layout.
NARROW = [
    (1, 1, 5, 1, 2, 100),
    (2, 1, 0, 1, 2, 100),
    (3, 2, 2**63 - 1, 1, 1, 101),
    (4, 1, 5, 0, 6, 102),
]


def _history(conn: sa.Connection) -> list[tuple[Any, ...]]:
    feed = read_changes(conn, 1, after_seq=0, limit=100)
    return [(c.seq, c.segment_id, c.member_id, c.change, c.cause, c.at) for c in feed]


def test_0021_stores_the_history_as_blocks_keeps_every_change_and_downgrades(url: str) -> None:
    migrate_to(url, "0020")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for number, segment_id in ((1, "a" * 24), (2, "b" * 24)):
            conn.execute(
                sa.text("INSERT INTO history_segments VALUES (1, :n, :s, 1)"),
                {"n": number, "s": segment_id},
            )
        columns = ("seq", "segment_number", "member_id", "change", "cause", "at")
        insert_history(
            conn, [{**dict(zip(columns, c, strict=True)), "seq_block": 0} for c in NARROW]
        )
    engine.dispose()

    migrate_to(url, "head")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        assert_history_as_schema(conn)
        upgraded = _history(conn)
        # A block of many ids, spanning every level, as a publish writes it.
        ids = [0, 5, 2**40, 2**63 - 1]
        block = id_blocks.blocks(2, 1, 2, ids)[0]
        conn.execute(
            sa.insert(schema.history_blocks),
            {"tenant_id": 1, "last_seq": 8, "at": 103, **block._asdict()},
        )
        with_block = _history(conn)
        top = member_changes(conn, 1, 2**63 - 1, after_seq=0, limit=10)
    engine.dispose()
    names = {1: "a" * 24, 2: "b" * 24}
    causes = {1: "realtime", 2: "build", 6: "member_deleted"}
    expected = [
        (seq, names[n], m, "entered" if c else "left", causes[w], at)
        for seq, n, m, c, w, at in NARROW
    ]
    assert upgraded == expected
    added = [(5 + k, "b" * 24, m, "entered", "build", 103) for k, m in enumerate(ids)]
    assert with_block == expected + added
    assert [c.seq for c in top] == [3, 8]

    back, tables = downgraded_history(
        url, "0020", "seq, seq_block, segment_number, member_id, change, cause, at"
    )
    rows = [(seq, 0, n, m, c, w, at) for seq, n, m, c, w, at in NARROW]
    rows += [(5 + k, 0, 2, m, 1, 2, 103) for k, m in enumerate(ids)]
    assert back == rows
    assert "history_blocks" not in tables

    migrate_to(url, "head")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert _history(conn) == expected + added
    engine.dispose()
