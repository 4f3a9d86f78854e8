"""``segmentd serve`` as a real process: JSON log lines with request ids and no credential,
and with ``--workers 2`` one ``/metrics`` that sums both processes, whichever answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.test_cli import parse_credentials, run_cli, serve, started  # noqa: F401
from tests.conftest import wait_built

ADULTS = {"relation": "and", "items": [{"field_name": "Email", "op": "contain", "value": "@"}]}
REQUESTS = 30


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


def json_lines(output: str) -> list[dict[str, Any]]:
    """The output's lines, each of which must be one JSON object."""
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.mark.slow
def test_two_server_processes_report_one_sum_and_log_json(
    tmp_path: Path,
    started: list[Any],  # noqa: F811
) -> None:
    database = f"sqlite:///{tmp_path / 'segmentd.db'}"
    user, key = parse_credentials(
        run_cli(tmp_path, "credentials", "create", "--database", database)
    )
    server = serve(started, tmp_path, "--database", database, "--workers", "2")
    with httpx.Client(base_url=server.url, auth=(user, key), timeout=30) as http:
        body = {"segment_name": "everyone", "type": 0, "condition": ADULTS}
        created = http.post("/v1/marketing/lists/segments", json=body)
        assert created.status_code == 200, created.text
        wait_built(http, created.json()["result"]["segment_id"], timeout=120)
    health = {"method": "GET", "route": "/healthz", "status": "2xx"}
    count = "segmentd_http_request_duration_seconds_count"
    with httpx.Client(base_url=server.url, timeout=30) as anon:
        before = sample(anon.get("/metrics").text, count, **health)  # the start-up probes
    for i in range(REQUESTS):  # a new connection each time: both processes answer
        with httpx.Client(base_url=server.url, timeout=30) as anon:
            answer = anon.get("/healthz", headers={"X-Request-ID": f"probe-{i}"})
            assert answer.headers["x-request-id"] == f"probe-{i}"
    for _ in range(6):  # whichever process answers the scrape, it counts both
        with httpx.Client(base_url=server.url, timeout=30) as anon:
            text = anon.get("/metrics").text
        assert sample(text, count, **health) == before + REQUESTS
        assert sample(text, "segmentd_build_duration_seconds_count") == 1
    code = server.terminate()
    assert code in (0, -15), server.output()
    lines = json_lines(server.output())
    probes = [
        line
        for line in lines
        if str(line.get("request_id", "")).startswith("probe-")
        and line.get("logger") == "segmentd.requests"
    ]
    assert len(probes) == REQUESTS and all(line["route"] == "/healthz" for line in probes)
    assert not [line for line in lines if line.get("logger") == "uvicorn.access"]  # replaced
    assert any("Application shutdown complete" in line["message"] for line in lines)
    assert key not in server.output()
