"""The benchmark suite, end to end on a tiny data set, so that it cannot rot.

No timing is asserted: only that every figure ran, the data set is what it says, and the
table and JSON are written.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from bench import cluster_scale
from bench.__main__ import run_suite, suite_parser, write
from bench.dataset import ensure_dataset
from bench.figures import FIGURES
from bench.report import text_table
from bench.scale_record import ensure_record

from segmentd.storage.db import Database
from tests.conftest import free_port
from tests.support.clickhouse_cluster import server_binary

MEMBERS = 2_000


def test_dataset_is_seeded_and_complete(tmp_path: Path) -> None:
    counts = []
    for name in ("a", "b"):
        db = Database(f"sqlite:///{tmp_path / name}.db")
        db.migrate()
        dataset = ensure_dataset(db, MEMBERS, seed=7)
        with db.read() as conn:
            counts.append(
                [
                    conn.exec_driver_sql(f"SELECT count(*), sum({column}) FROM {table}").one()
                    for table, column in (
                        ("members", "n3"),
                        ("member_tags", "tag_id"),
                        ("campaign_activity", "coalesce(clicked_at, 0)"),
                    )
                ]
            )
        assert len(dataset.campaign_ids) == 50  # 20, and 30 of the engagement extension
        again = ensure_dataset(db, MEMBERS, seed=7)  # reused, not generated twice
        assert again.tenant_id == dataset.tenant_id
        with db.read() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM members")).scalar() == MEMBERS
        db.dispose()
    assert counts[0] == counts[1]
    members, links, activity = (row[0] for row in counts[0])
    assert members == MEMBERS
    assert 0 < links < 5 * MEMBERS
    assert 4 * MEMBERS < activity < 6 * MEMBERS  # ~5 rows per member


def test_an_engagement_extension_cut_short_is_written_again(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'cut.db'}")
    db.migrate()
    ensure_dataset(db, MEMBERS, seed=7)
    count = "SELECT count(*), sum(coalesce(opened_at, 0)) FROM campaign_activity"
    with db.write() as conn:
        whole = conn.exec_driver_sql(count).one()
        # As a load stops half-way: a campaign still sending, some of its rows missing.
        last = conn.exec_driver_sql("SELECT max(id) FROM campaigns").scalar_one()
        conn.exec_driver_sql(f"UPDATE campaigns SET status = 'sending' WHERE id = {last}")
        conn.exec_driver_sql(f"DELETE FROM campaign_activity WHERE campaign_id = {last}")
    ensure_dataset(db, MEMBERS, seed=7)
    with db.read() as conn:
        assert conn.exec_driver_sql(count).one() == whole
        statuses = conn.exec_driver_sql("SELECT DISTINCT status FROM campaigns").scalars()
        assert set(statuses) == {"completed"}
    db.dispose()


@pytest.mark.slow
def test_suite_runs_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    args = suite_parser().parse_args(
        [
            "--members", str(MEMBERS), "--database", f"sqlite:///{tmp_path / 'bench.db'}",
            "--runs", "1", "--in-process", "--import-rows", "500", "--visitors", "200",
            "--wrk-seconds", "1", "--connections", "4", "--chunk-size", "500",
            "--p99-requests", "30", "--webhook-changes", "20",
            "--port", str(free_port()), "--out", str(out),
        ]
    )  # fmt: skip
    result = run_suite(args)
    write(result, out)
    rows = {row["figure"]: row for row in result["figures"]}
    assert list(rows) == [figure.name for figure in FIGURES]
    for name, row in rows.items():
        if name.startswith("visitor look-up") and not shutil.which("wrk"):
            continue
        assert row["error"] is None, (name, row["error"])
        # A percentage added may come out below zero on a tiny data set (noise).
        assert row["runs"] == 1 and (row["median"] > 0 or row["unit"] == "%"), row
    assert json.loads(out.read_text())["meta"]["members"] == MEMBERS
    assert out.with_suffix(".md").read_text().startswith("| figure |")
    assert "build: 3 field conditions (and)" in text_table(result)


def test_scale_record_is_generated_once(tmp_path: Path) -> None:
    """The scale system of record is made once, then reused (a kept copy stays with it)."""
    first = ensure_record(tmp_path, 500)
    again = ensure_record(tmp_path, 500)
    assert first.seconds > 0 and again.seconds == 0
    assert again.dataset.tenant_id == first.dataset.tenant_id
    assert again.slots == first.slots and len(again.dataset.campaign_ids) == 50


@pytest.mark.slow
def test_scale_bench_runs_on_two_shards(tmp_path: Path) -> None:
    """``bench.cluster_scale`` end to end at a tiny size: both data sets generated, the three
    shapes built and counted on two shards (the field segment's count equal to the system
    of record's, checked inside), the copy removed without ``--keep``."""
    if server_binary() is None:
        message = "clickhouse-server is not installed (apt-get install clickhouse-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: CI requires it")
        pytest.skip(message)
    argv = ["--members", "3000", "--events", "30000", "--runs", "1", "--chunk", "1000"]
    result = cluster_scale.main([*argv, "--folder", str(tmp_path)])
    selected = {name: result[name]["members"] for name in cluster_scale.SHAPES}
    assert 0.01 < selected["opened >= 3 campaigns in 30 days"] / 3000 < 0.15
    assert all(0 < count < 3000 for count in selected.values()), selected
    assert all(result[name]["build_s"]["median"] > 0 for name in selected)
    assert set(result["copy bytes on disk"]) >= {"members_local", "campaign_activity_local"}
    assert not (tmp_path / "cluster-3000-30000").exists()
