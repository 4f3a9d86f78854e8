"""``/v1/marketing/lists/members/imports``: upload (202 + job id), polling, errors, isolation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentd.domain.fields import FieldType
from segmentd.imports.import_jobs import ImportOptions, Kind, Origin, claim_next, create_job
from segmentd.imports.source import fingerprint, read_header
from segmentd.imports.uploads import upload_dir
from segmentd.storage.db import Database
from segmentd.storage.tenants import default_list_id
from tests.conftest import AppServer, LiveServer, Tenant, make_tenant, wait_built, wait_until
from tests.conftest import test_settings as settings_for
from tests.support.factories import add_field
from tests.support.import_helpers import member_state, write_csv

IMPORTS = "/v1/marketing/lists/members/imports"
CSV = (
    "email,name,age,tags\nann@example.com,Ann,41,a;b\nbad,B,1,\n"
    "bo@example.com,Bo,x,\ncy@example.com,Cy,7,c\n"
)


@pytest.fixture(autouse=True)
def _uploads_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With PostgreSQL, uploads go to ./segmentd-imports: keep them out of the checkout."""
    monkeypatch.chdir(tmp_path)


def _finished(http: httpx.Client, job_id: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        answer = http.get(f"{IMPORTS}/{job_id}")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()["result"]
        return result if result["state"] in ("done", "failed") else None

    found: dict[str, Any] = wait_until(done)
    return found


@pytest.mark.parametrize("how", ["multipart", "body"])
def test_upload_answers_202_and_the_job_can_be_polled_to_the_end(
    db: Database, tenant: Tenant, client: httpx.Client, how: str
) -> None:
    add_field(db, tenant.id, "Age", FieldType.NUMBER)
    if how == "multipart":
        answer = client.post(IMPORTS, files={"file": ("m.csv", CSV, "text/csv")})
    else:
        answer = client.post(IMPORTS, content=CSV, headers={"content-type": "text/csv"})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["result"]["job_id"]
    result = _finished(client, job_id)
    assert {k: result[k] for k in ("state", "rows_done", "rows_total", "percent")} == {
        "state": "done",
        "rows_done": 4,
        "rows_total": 4,
        "percent": 100,
    }
    assert (result["created"], result["updated"], result["rejected"]) == (2, 0, 2)
    assert [(e["row"], e["email"]) for e in result["errors"]] == [(2, "bad"), (3, "bo@example.com")]
    assert "field Age" in result["errors"][1]["reason"]
    assert member_state(db, tenant.id)["ann@example.com"]["tags"] == {"a", "b"}


def test_imported_members_reach_the_segments_of_the_list(
    db: Database, tenant: Tenant, client: httpx.Client
) -> None:
    add_field(db, tenant.id, "Age", FieldType.NUMBER)
    created = client.post(
        "/v1/marketing/lists/segments",
        json={
            "segment_name": "Adults",
            "type": 0,
            "condition": {
                "relation": "and",
                "items": [{"field_name": "Age", "op": ">", "value": "18"}],
            },
        },
    )
    assert created.status_code == 200, created.text
    segment_id = created.json()["result"]["segment_id"]
    wait_built(client, segment_id)
    answer = client.post(IMPORTS, content=CSV, params={"tag_flag": 0})
    _finished(client, answer.json()["result"]["job_id"])
    assert wait_built(client, segment_id)["member_total"] == 1


@pytest.mark.parametrize(
    ("params", "body", "message"),
    [
        ({}, "email,shoe\na@example.com,1\n", "unknown columns: shoe"),
        ({}, "", "empty"),
        ({"map": "nothing"}, CSV, "Column=Field"),
    ],
)
def test_files_that_cannot_be_imported_answer_400_before_any_job(
    client: httpx.Client, params: dict[str, Any], body: str, message: str
) -> None:
    answer = client.post(IMPORTS, content=body, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 30035 and message in answer.json()["message"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("a," * 1_000_000 + "email", "the row is longer than 1048576 bytes"),
        ("email," + ",".join(f"col{i}" for i in range(999)), "unknown columns: col0, col1"),
        ("email," + "email," * 999 + "x", "at most 1000"),
    ],
)
def test_huge_headers_answer_a_short_400(client: httpx.Client, header: str, message: str) -> None:
    """A header of a million duplicate columns once gave a 53 MB error body."""
    answer = client.post(IMPORTS, content=f"{header}\na@example.com\n")
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["code"] == 30035 and message in answer.json()["message"]
    assert len(answer.content) < 3000


def test_a_file_not_in_utf8_answers_400(client: httpx.Client) -> None:
    body = "email,name\na@example.com,Ren\xe9e\n".encode("latin-1")
    answer = client.post(IMPORTS, content=body, headers={"content-type": "text/csv"})
    assert answer.status_code == 400, answer.text
    assert "[file]:the file is not UTF-8 (byte 0xe9 on line 2)" in answer.json()["message"]


def test_rejected_rows_with_nul_or_odd_bytes_are_shown_escaped(
    client: httpx.Client,
) -> None:
    """The job's errors are JSON: a cell that is not text is echoed escaped and cut short.
    (Past the first MiB, which is checked as UTF-8 before the job starts.)"""
    lines = [b"email,name", b"ann@example.com,Ann"] + [b"b@x.io,x"] * 120_000
    lines += [b"\xff" + b"z" * 5000 + b",Odd", b"n\x00ul@example.com,Nul"]
    answer = client.post(IMPORTS, content=b"\n".join(lines) + b"\n")
    assert answer.status_code == 202, answer.text
    result = _finished(client, answer.json()["result"]["job_id"])
    assert (result["state"], result["created"], result["rejected"]) == ("done", 2, 2)
    odd, nul = result["errors"]
    assert odd["row"] == 120_002 and odd["reason"] == "cell 1 is not UTF-8 (byte 0xff)"
    assert odd["email"].startswith("\\udcffzzz") and len(odd["email"]) <= 140
    assert nul["email"] == "n\\u0000ul@example.com"


def test_the_upload_limits_are_stated_in_openapi(anon: httpx.Client) -> None:
    upload = anon.get("/openapi.json").json()["paths"][IMPORTS]["post"]
    described = " ".join(upload["description"].split())
    for limit in ("1000 columns", "255 characters", "1048576 bytes", "131072 characters"):
        assert limit in described
    assert "1000 tags for a member" in described


def test_a_list_of_no_one_is_not_found(client: httpx.Client) -> None:
    answer = client.post(IMPORTS, content=CSV, params={"list_id": 987654})
    assert answer.status_code == 404, answer.text
    assert answer.json() == {"code": 30035, "message": "[list_id]:list 987654 does not exist"}


def test_out_of_range_tag_flag_is_refused(client: httpx.Client) -> None:
    answer = client.post(IMPORTS, content=CSV, params={"tag_flag": 3})
    assert (answer.status_code, answer.json()["code"]) == (400, 30035)


def test_jobs_of_other_tenants_are_not_found(
    db: Database, server: AppServer, client: httpx.Client, anon: httpx.Client
) -> None:
    answer = client.post(IMPORTS, content=CSV, params={"ignore_unknown": True})
    job_id = answer.json()["result"]["job_id"]
    other = make_tenant(db, "other")
    with server.client(auth=other.auth, timeout=30) as theirs:
        answer = theirs.get(f"{IMPORTS}/{job_id}")
    assert (answer.status_code, answer.json()) == (404, {"code": 30036, "message": "not found"})
    assert anon.get(f"{IMPORTS}/{job_id}").status_code == 401
    assert anon.post(IMPORTS, content=CSV).status_code == 401


def test_an_api_job_left_running_resumes_when_a_server_starts(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    """A server died mid-import: its lease runs out and the next server finishes the job."""
    settings = settings_for(db_url, lease_seconds=0.5)
    directory = upload_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    rows = [[f"m{i}@example.com", f"M{i}"] for i in range(40)]
    path = write_csv(directory / "upload.csv", ["email", "name"], rows)
    with db.write() as conn:
        job_id = create_job(
            conn,
            tenant_id=tenant.id,
            kind=Kind.MEMBERS,
            origin=Origin.API,
            path=str(path),
            fingerprint=fingerprint(path),
            start_offset=read_header(path)[1],
            options=ImportOptions(),
            list_id=default_list_id(conn, tenant.id),
        )
    crashed = claim_next(db, Origin.API, "dead-host:1:x", 0.5)
    assert crashed is not None and crashed.id == job_id
    time.sleep(0.6)
    with LiveServer(settings) as live, live.client(auth=tenant.auth) as http:
        result = _finished(http, job_id)
    assert (result["state"], result["created"]) == ("done", 40)
    assert not path.exists()  # the upload is deleted once imported
