"""``python -m bench.analytics_sync``: what bringing the analytics copy up to date costs
after a few members changed, incrementally (the outbox applied row by row) against the old
way (the tenant loaded again whole), side by side in one run, on chdb.

    python -m bench.analytics_sync [--members 100000] [--changed 1000] [--folder PATH]

Uses the SQLite data set of that size (generated once, ``bench.dataset``), loads it whole
(timed), changes ``--changed`` members (renamed, through storage with the outbox on),
applies the outbox (``analytics.outbox_apply``, timed), changes as many again and loads the
tenant whole (timed). Then the sizes on disk of each table (``system.parts``), for
docs/scaling.md.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from segmentd.analytics.engine import open_engine
from segmentd.analytics.full_load import Target, counts, load_tenant
from segmentd.analytics.outbox_apply import drain
from segmentd.database_urls import parse_analytics_url
from segmentd.membership import store
from segmentd.storage import analytics_outbox as outbox
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag, upsert_members
from segmentd.storage.schema import members

from .databases import resolve
from .dataset import ensure_dataset

DATABASE = "segmentd"


def change(db: Database, tenant_id: int, count: int, round_: int) -> int:
    """Rename ``count`` members spread over the tenant; the outbox rows left."""
    with db.read() as conn:
        emails = list(
            conn.execute(
                sa.select(members.c.email_key)
                .where(members.c.tenant_id == tenant_id)
                .order_by(members.c.id)
            ).scalars()
        )
    step = max(len(emails) // count, 1)
    rows = [{"email": e, "name": f"renamed {round_}"} for e in emails[::step][:count]]
    with db.write() as conn:
        upsert_members(conn, tenant_id, None, rows, update_existing=True, tag_flag=TagFlag.KEEP)
    with db.read() as conn:
        return len(outbox.seqs_of(conn, tenant_id))


def sizes(target: Target) -> list[dict[str, Any]]:
    rows = target.engine.rows(
        "SELECT table, sum(rows), sum(data_compressed_bytes), sum(data_uncompressed_bytes) "
        "FROM system.parts WHERE database = {d:String} AND active GROUP BY table ORDER BY table",
        {"d": DATABASE},
    )
    return [
        {"table": t, "rows": int(r), "compressed": int(c), "uncompressed": int(u)}
        for t, r, c, u in rows
    ]


def settle(target: Target) -> None:
    """Wait for the background deletes, then merge each table to one version per key: the
    sizes then are those of the live copy."""
    while target.engine.rows(
        "SELECT count() FROM system.mutations WHERE database = {d:String} AND NOT is_done",
        {"d": DATABASE},
    )[0][0]:
        time.sleep(0.5)
    for (table,) in target.engine.rows(
        "SELECT name FROM system.tables WHERE database = {d:String}", {"d": DATABASE}
    ):
        target.engine.execute(f"OPTIMIZE TABLE {DATABASE}.{table} FINAL")


def member_columns(target: Target) -> dict[str, int]:
    """Compressed bytes of the members table's columns, the system ones by name and the
    custom slots summed (``n*``, ``t*``)."""
    found: dict[str, int] = {}
    for name, size in target.engine.rows(
        "SELECT name, data_compressed_bytes FROM system.columns "
        "WHERE database = {d:String} AND table = 'members'",
        {"d": DATABASE},
    ):
        key = "slots" if name[0] in "nt" and name[1:].isdigit() else str(name)
        found[key] = found.get(key, 0) + int(size)
    return found


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args(argv)
    url = resolve("sqlite", args.members)
    Database(url).migrate()
    db = Database(url, analytics_outbox=True)
    dataset = ensure_dataset(db, args.members, 42)
    tenant_id = dataset.tenant_id
    with db.write() as conn:  # changes of earlier runs
        outbox.remove(conn, outbox.seqs_of(conn, tenant_id))
    folder = args.folder or Path(__file__).parent / "data" / f"chdb-sync-{args.members}"
    shutil.rmtree(folder, ignore_errors=True)
    target = Target(open_engine(parse_analytics_url(f"chdb://{folder.resolve()}")), DATABASE)
    results: dict[str, Any] = {}

    started = time.perf_counter()
    written = load_tenant(db, target, store().member_ids, tenant_id)
    results["first_load_s"] = time.perf_counter() - started
    results["first_load_rows"] = sum(written.values())

    waiting = change(db, tenant_id, args.changed, 1)
    started = time.perf_counter()
    applied = drain(db, target, tenant_id=tenant_id)
    results["incremental_s"] = time.perf_counter() - started
    results["incremental_outbox_rows"] = applied.outbox_rows
    results["incremental_written"] = dict(applied.written)
    assert applied.outbox_rows == waiting

    waiting = change(db, tenant_id, args.changed, 2)
    started = time.perf_counter()
    written = load_tenant(db, target, store().member_ids, tenant_id)
    with db.write() as conn:
        outbox.remove(conn, outbox.seqs_of(conn, tenant_id))
    results["full_reload_s"] = time.perf_counter() - started
    results["full_reload_rows"] = sum(written.values())
    results["counts"] = dict(counts(target, tenant_id))
    settle(target)
    results["sizes"] = sizes(target)
    results["member_columns"] = member_columns(target)
    for key, value in results.items():
        print(f"{key}: {value}", flush=True)
    target.engine.close()
    db.dispose()
    return results


if __name__ == "__main__":
    main()
