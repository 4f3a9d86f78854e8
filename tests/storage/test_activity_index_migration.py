"""Migration 0012 widens the member index of ``campaign_activity`` with the three times, and
its downgrade narrows it back; migration 0022 adds a partial index per event (opens, clicks)
matching the schema, and its downgrade drops them. The rows stay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from segmentd.storage import schema
from tests.conftest import BACKENDS, module_database_url
from tests.storage.test_migrations import migrate_to

WIDE = (
    "ix_campaign_activity_member_times",
    ["tenant_id", "member_id", "sent_at", "opened_at", "clicked_at"],
)
NARROW = ("ix_campaign_activity_tenant_id_member_id", ["tenant_id", "member_id"])
EVENTS = {
    ("ix_campaign_activity_member_opens", ("tenant_id", "member_id", "opened_at")),
    ("ix_campaign_activity_member_clicks", ("tenant_id", "member_id", "clicked_at")),
}


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from module_database_url(request.param, tmp_path)


def indexes_and_rows(url: str) -> tuple[set[tuple[str, tuple[str, ...]]], list[tuple[int, ...]]]:
    engine = sa.create_engine(url)
    try:
        found = sa.inspect(engine).get_indexes("campaign_activity")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM campaign_activity")).all()
    finally:
        engine.dispose()
    return {(i["name"], tuple(i["column_names"])) for i in found}, [tuple(r) for r in rows]  # type: ignore[misc]


def activity_row_at(url: str, revision: str) -> tuple[int | None, ...]:
    """Migrate to ``revision`` and store one activity row there (sent and opened): the row."""
    migrate_to(url, revision)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO campaign_activity (tenant_id, campaign_id, member_id, sent_at,"
                " opened_at, clicked_at) VALUES (1, 2, 3, 100, 200, NULL)"
            )
        )
    engine.dispose()
    return (1, 2, 3, 100, 200, None)


def test_0012_widens_the_member_index_and_downgrades(url: str) -> None:
    row = activity_row_at(url, "0011")
    assert indexes_and_rows(url) == ({(NARROW[0], tuple(NARROW[1]))}, [row])
    migrate_to(url, "0012")
    assert indexes_and_rows(url) == ({(WIDE[0], tuple(WIDE[1]))}, [row])
    migrate_to(url, "0011", downgrade=True)
    assert indexes_and_rows(url) == ({(NARROW[0], tuple(NARROW[1]))}, [row])


def test_0022_adds_an_index_per_event_matching_the_schema_and_downgrades(url: str) -> None:
    row = activity_row_at(url, "0021")
    wide = (WIDE[0], tuple(WIDE[1]))
    migrate_to(url, "head")
    assert indexes_and_rows(url) == ({wide} | EVENTS, [row])
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    engine.dispose()
    assert [d for d in differences if "campaign_activity" in repr(d)] == []
    migrate_to(url, "0021", downgrade=True)
    assert indexes_and_rows(url) == ({wide}, [row])
