"""Soak: look-ups at full speed on 64 connections while members are upserted and segments
rebuilt, against a ``segmentd serve`` process on loopback, for a bounded time.

The data is made so that the right answer is known at every moment: the visitors' own values
never change, and each rebuild swaps a segment's condition for an equivalent one (Score >= 50
and Score > 49 on whole numbers; a tag, alone or twice over with "or"). So every look-up must
list exactly the segments its visitor belongs to: a segment missing, or a stranger present,
would be a half-built or stale membership showing through.

``SEGMENTD_SOAK_SECONDS`` sets the time per backend (default 15).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentd.storage.db import Database
from tests.conftest import wait_until
from tests.jobs.test_build_crash import API_KEY, API_USER, ServerProcess

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("SEGMENTD_SOAK_SECONDS", "15"))
CONNECTIONS = 64
VISITORS = 2000  # members with a tcid, looked up at random
FIRST_TCID = 5000
SEGMENTS = "/v1/marketing/lists/segments"
MEMBERS = "/v1/marketing/lists/members"
LOOKUP = "/api/dms/segmentation/segments"


def score(i: int) -> int:
    return i * 37 % 100


def is_gold(i: int) -> bool:
    return i % 3 == 0


def visitor(i: int) -> dict[str, Any]:
    return {
        "email": f"v{i}@soak.example",
        "tcid": str(FIRST_TCID + i),
        "fields": {"Score": str(score(i))},
        "tags": ["gold"] if is_gold(i) else [],
    }


def _item(field: str, op: str, value: str) -> dict[str, str]:
    return {"field_name": field, "op": op, "value": value}


# Each segment: (name, its conditions, taken in turn by the rebuilds, who belongs).
DEFINITIONS: list[tuple[str, list[dict[str, Any]], Callable[[int], bool]]] = [
    (
        "High",
        [
            {"relation": "and", "items": [_item("Score", ">=", "50")]},
            {"relation": "and", "items": [_item("Score", ">", "49")]},
        ],
        lambda i: score(i) >= 50,
    ),
    (
        "Gold",
        [
            {"relation": "and", "items": [_item("tag", "==", "gold")]},
            {"relation": "or", "items": [_item("tag", "==", "gold"), _item("tag", "==", "gold")]},
        ],
        is_gold,
    ),
    (
        "Everyone",
        [{"relation": "and", "items": [_item("Email", "contain", "@soak.example")]}],
        lambda i: True,
    ),
]


@dataclass
class Soak:
    url: str
    site_id: int
    token: str
    segment_ids: dict[str, str]  # name -> id
    lookup_ids: dict[str, str]  # name -> Commanders Act id, which the look-up answers
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    upserts: int = 0
    rebuilds: int = 0

    def expected(self, i: int) -> set[str]:
        return {self.lookup_ids[name] for name, _, member in DEFINITIONS if member(i)}

    def fail(self, message: str) -> None:
        self.errors.append(message)
        self.stop.set()


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def _built(http: httpx.Client, segment_id: str) -> bool:
    return bool(_ok(http.get(f"{SEGMENTS}/{segment_id}/process"))["result"]["complete"])


def prepare(url: str) -> Soak:
    with httpx.Client(base_url=url, auth=(API_USER, API_KEY), timeout=60) as http:
        _ok(http.post("/v1/marketing/lists/fields", json={"field_name": "Score", "field_type": 1}))
        for start in range(0, VISITORS, 1000):
            rows = [visitor(i) for i in range(start, min(start + 1000, VISITORS))]
            _ok(http.post(MEMBERS, json={"update_existing": True, "members": rows}))
        segment_ids = {}
        for name, conditions, _ in DEFINITIONS:
            body = {"segment_name": name, "type": 0, "condition": conditions[0]}
            segment_ids[name] = _ok(http.post(SEGMENTS, json=body))["result"]["segment_id"]
        for segment_id in segment_ids.values():
            wait_until(lambda sid=segment_id: _built(http, sid), timeout=120)
        site = next(s for s in _ok(http.get("/v1/sites"))["result"] if s["is_default"])
        token = _ok(http.get(f"/v1/sites/{site['site_id']}/token"))["result"]["token"]
        listed = _ok(http.get(f"/v1/sites/{site['site_id']}/segments"))["result"]
        by_id = {s["segment_id"]: s["commandersact_id"] for s in listed}
    lookup_ids = {name: by_id[segment_id] for name, segment_id in segment_ids.items()}
    return Soak(url, site["site_id"], token, segment_ids, lookup_ids)


# --- the writers ----------------------------------------------------------------------------------


def upsert_loop(soak: Soak) -> None:
    """Visitors again with the same values (a write that changes no membership), and other
    members whose scores move, so the real-time path works under load."""
    with httpx.Client(base_url=soak.url, auth=(API_USER, API_KEY), timeout=60) as http:
        round_ = 0
        while not soak.stop.is_set():
            start = round_ * 50 % VISITORS
            rows = [visitor(i) for i in range(start, start + 50)]
            rows += [
                {"email": f"x{k}@other.example", "fields": {"Score": str((k + round_) % 100)}}
                for k in range(50)
            ]
            answer = http.post(MEMBERS, json={"update_existing": True, "members": rows})
            if answer.status_code != 200 or answer.json()["result"]["errors"]:
                soak.fail(f"upsert: {answer.status_code} {answer.text}")
                return
            soak.upserts += 1
            round_ += 1


def rebuild_loop(soak: Soak) -> None:
    """PUT each rebuilt segment with its other, equivalent condition; wait for the build."""
    with httpx.Client(base_url=soak.url, auth=(API_USER, API_KEY), timeout=60) as http:
        turn = 0
        while not soak.stop.is_set():
            for name, conditions, _ in DEFINITIONS[:2]:
                segment_id = soak.segment_ids[name]
                body = {"type": 0, "condition": conditions[turn % len(conditions)]}
                answer = http.put(f"{SEGMENTS}/{segment_id}", json=body)
                if answer.status_code != 200:
                    soak.fail(f"rebuild: {answer.status_code} {answer.text}")
                    return
            for name in ("High", "Gold"):
                while not soak.stop.is_set() and not _built(http, soak.segment_ids[name]):
                    time.sleep(0.02)
            soak.rebuilds += 1
            turn += 1


# --- the look-ups: wrk when installed (CI installs it), else an asyncio client -------------

# The visitor's index travels in the callback name, so each answer can be checked on its own.
WRK_SCRIPT = """
local visitors, first = %(visitors)d, %(first)d
local base = "%(path)s?site=%(site)d&token=%(token)s"
local high, gold, everyone = "%(High)s", "%(Gold)s", "%(Everyone)s"
local threads = {}
-- Globals, so that done() can read them from each thread.
counter, bad, sample = 0, 0, ""

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counter = math.random(0, visitors - 1)
end

function request()
  counter = (counter * 7919 + 13) %% visitors
  local path = base .. "&tcid=" .. (first + counter) .. "&callback=cb_" .. counter
  return wrk.format("GET", path)
end

local function wrong(status, body)
  if status ~= 200 then return "status " .. status end
  local i = tonumber(body:match("^/%%*%%*/cb_(%%d+)%%(%%[.*%%]%%);$") or "")
  if not i then return "not JSONP" end
  local want = {everyone}
  if (i * 37) %% 100 >= 50 then table.insert(want, high) end
  if i %% 3 == 0 then table.insert(want, gold) end
  local found = 0
  for _ in body:gmatch('"[^"]*"') do found = found + 1 end
  if found ~= #want then return "wrong segments" end
  for _, id in ipairs(want) do
    if not body:find('"' .. id .. '"', 1, true) then return "wrong segments" end
  end
  return nil
end

function response(status, headers, body)
  local problem = wrong(status, body)
  if problem then
    bad = bad + 1
    sample = problem .. ": " .. string.sub(body, 1, 200)
  end
end

function done(summary, latency, requests)
  local total_bad, samples = 0, ""
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    local s = thread:get("sample")
    if s ~= "" then samples = s end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT %%d %%d %%d %%d %%d\\n", summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout, total_bad,
    latency:percentile(50), latency:percentile(99)))
  io.write("SAMPLE " .. samples .. "\\n")
end
"""


@dataclass
class Outcome:
    requests: int
    p50: float  # seconds
    p99: float


def run_wrk(soak: Soak, script: Path) -> Outcome:
    values = {"visitors": VISITORS, "first": FIRST_TCID, "path": LOOKUP, "site": soak.site_id}
    script.write_text(WRK_SCRIPT % {**values, "token": soak.token, **soak.lookup_ids})
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS:.0f}s", "--timeout", "10s",
               "-s", str(script), soak.url]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 60)
    result = next((line for line in done.stdout.splitlines() if line.startswith("RESULT")), "")
    assert result, done.stdout + done.stderr
    requests, failed, bad, p50, p99 = (int(value) for value in result.split()[1:])
    if failed or bad:
        soak.fail(f"{failed} failed and {bad} wrong look-ups of {requests}\n{done.stdout}")
    return Outcome(requests, p50 / 1e6, p99 / 1e6)


def _parse(body: str) -> set[str]:
    if not (body.startswith("/**/cb(") and body.endswith(");")):
        raise ValueError(f"not JSONP: {body[:80]!r}")
    return set(json.loads(body[len("/**/cb(") : -2]))


async def lookup_worker(soak: Soak, http: httpx.AsyncClient, worker: int) -> None:
    i = worker
    while not soak.stop.is_set():
        i = (i * 7919 + 13) % VISITORS  # a spread-out walk over the visitors
        params = {
            "site": soak.site_id,
            "tcid": FIRST_TCID + i,
            "token": soak.token,
            "callback": "cb",
        }
        started = time.perf_counter()
        try:
            answer = await http.get(LOOKUP, params=params)
        except httpx.HTTPError as exc:
            soak.fail(f"look-up of visitor {i}: {exc!r}")
            return
        soak.latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            soak.fail(f"look-up of visitor {i}: {answer.status_code} {answer.text}")
            return
        found = _parse(answer.text)
        if found != soak.expected(i):
            soak.fail(f"visitor {i}: got {sorted(found)}, expected {sorted(soak.expected(i))}")
            return


async def _python_lookups(soak: Soak) -> None:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=soak.url, limits=limits, timeout=30) as http:
        workers = [
            asyncio.create_task(lookup_worker(soak, http, worker)) for worker in range(CONNECTIONS)
        ]
        await asyncio.sleep(SECONDS)
        soak.stop.set()
        await asyncio.gather(*workers)


def run_python(soak: Soak) -> Outcome:
    """Without wrk: slower (the client shares the CPUs and the GIL), same checks."""
    asyncio.run(_python_lookups(soak))
    latencies = sorted(soak.latencies)
    pick = lambda share: latencies[min(len(latencies) - 1, int(share * len(latencies)))]  # noqa: E731
    return Outcome(len(latencies), pick(0.50), pick(0.99))


def test_lookups_at_full_speed_never_see_a_half_built_segment(
    db_url: str,
    tmp_path: Path,
    children: list[subprocess.Popen[bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = Database(db_url)
    db.migrate()
    db.dispose()
    server = ServerProcess(db_url, tmp_path / "server.log", children)
    server.start()
    soak = prepare(server.url)
    writers = [threading.Thread(target=loop, args=(soak,)) for loop in (upsert_loop, rebuild_loop)]
    for writer in writers:
        writer.start()
    try:
        if shutil.which("wrk"):
            client, outcome = "wrk", run_wrk(soak, tmp_path / "lookup.lua")
        else:
            client, outcome = "python", run_python(soak)
    finally:
        soak.stop.set()
        for writer in writers:
            writer.join(timeout=60)

    assert soak.errors == []
    assert soak.rebuilds >= 2 and soak.upserts >= 10, (soak.rebuilds, soak.upserts)
    with capsys.disabled():
        print(
            f"\nsoak {db_url.split(':')[0]} ({client}): {outcome.requests} look-ups in "
            f"{SECONDS:.0f} s ({outcome.requests / SECONDS:.0f}/s) on {CONNECTIONS} connections, "
            f"p50 {outcome.p50 * 1000:.1f} ms, p99 {outcome.p99 * 1000:.1f} ms; meanwhile "
            f"{soak.upserts} upserts of 100 members and {soak.rebuilds} rebuilds of 2 segments"
        )
