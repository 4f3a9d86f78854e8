"""Helpers shared by the ingestion tests (fields, members, tags, campaigns, real-time)."""

from __future__ import annotations

from typing import Any

import httpx

FIELDS = "/v1/marketing/lists/fields"
MEMBERS = "/v1/marketing/lists/members"
TAGS = "/v1/marketing/lists/tags"
CAMPAIGNS = "/v1/marketing/campaigns"
SEGMENTS = "/v1/marketing/lists/segments"


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def native_path(path: str) -> bool:
    """Whether ``path`` is the native API's (its envelope adds ``path``), not EngageLab's."""
    return path.startswith("/v1/") and not path.startswith("/v1/marketing/")


def error(answer: httpx.Response, status: int = 400, code: int = 30035) -> str:
    """The message of a /v1/ error answer, after checking its status, code and shape. The
    native API's envelope adds ``path``, the input at fault."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    native = native_path(answer.request.url.path)
    assert set(body) == ({"code", "message", "path"} if native else {"code", "message"}), body
    assert body["code"] == code, body
    message: str = body["message"]
    return message


def make_field(client: httpx.Client, name: str, field_type: int, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        client.post(FIELDS, json={"field_name": name, "field_type": field_type, **extra})
    )["result"]
    return result


def upsert(
    client: httpx.Client, members: list[dict[str, Any]], *, update: bool = True, **extra: Any
) -> dict[str, Any]:
    body = {"update_existing": update, "members": members, **extra}
    result: dict[str, Any] = ok(client.post(MEMBERS, json=body))["result"]
    return result


def all_members(client: httpx.Client, **params: Any) -> dict[str, dict[str, Any]]:
    """Every member of a list by email (pages through the list)."""
    found: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        page = ok(client.get(MEMBERS, params={"offset": offset, "limit": 100, **params}))
        found.update({m["email"]: m for m in page["result"]})
        offset += 100
        if offset >= page["total"]:
            return found


def make_campaign(client: httpx.Client, status: str = "sending", **extra: Any) -> int:
    body = {"campaign_name": "Spring sale", "status": status, **extra}
    campaign_id: int = ok(client.post(CAMPAIGNS, json=body))["result"]["campaign_id"]
    return campaign_id
