"""Helpers for the CSV import tests: write a CSV, run an import the way the CLI does, read back."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from segmentd.imports.import_jobs import ImportJob, ImportOptions, Kind
from segmentd.imports.runner import run_import
from segmentd.imports.service import start_cli_import
from segmentd.storage.db import Database
from segmentd.storage.schema import member_tags, members, tags
from tests.conftest import test_settings as settings_for

OWNER = "tests:0:0"


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_file(
    db: Database,
    path: Path,
    target_id: int,
    *,
    kind: Kind = Kind.MEMBERS,
    chunk_rows: int = 1000,
    max_chunks: int | None = None,
    **options: Any,
) -> ImportJob:
    """Start (or resume) and run an import to its end, or for ``max_chunks`` chunks."""
    settings = settings_for(db.url)
    job, _ = start_cli_import(db, settings, target_id, kind, path, ImportOptions(**options), OWNER)
    run_import(db, settings, job, OWNER, chunk_rows=chunk_rows, max_chunks=max_chunks)
    return job


def member_state(db: Database, tenant_id: int) -> dict[str, dict[str, Any]]:
    """Every member of the tenant by email key: stored columns (no times) and tag names."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(members).where(members.c.tenant_id == tenant_id).order_by(members.c.id)
        ).all()
        links = conn.execute(
            sa.select(member_tags.c.member_id, tags.c.name)
            .join(tags, tags.c.id == member_tags.c.tag_id)
            .where(member_tags.c.tenant_id == tenant_id)
        ).all()
    by_member: dict[int, set[str]] = {}
    for member_id, name in links:
        by_member.setdefault(member_id, set()).add(name)
    state = {}
    for row in rows:
        values = {
            k: v
            for k, v in row._mapping.items()
            if v is not None and k not in ("created_at", "updated_at")
        }
        values["tags"] = by_member.get(row.id, set())
        state[row.email_key] = values
    return state
