"""Segment conditions in their stored form: versioned, fields and tags by key and id

Conditions were kept as the EngageLab JSON clients sent, naming fields and tags by name, so
renaming one rewrote every condition that used it. They now name custom fields by id
(``custom:12``), system fields by a fixed key (``system:email``), tags and campaigns by id,
under ``"version": 1`` (``docs/conditions.md``, "Stored form"). The downgrade writes the
EngageLab JSON back, with today's names. The conversion is written out here, not imported,
so that later changes to the code cannot change what this revision does.

A condition that does not convert (it names what no longer exists; the API never leaves
one) stays as it was, as its builds failed before, and is logged.

Revision ID: 0011
Revises: 0010
"""

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

VERSION = 1
SYSTEM_NAMES = ("Email", "Name", "Phone", "Domain", "CreateTime", "UpdateTime", "UnsubscribeTime")
TAG, CAMPAIGN = "tag", "campaign"


class Unconvertible(Exception):
    pass


class Names:
    """One tenant's fields and tags, both ways."""

    def __init__(self, fields: Sequence[Any], tags: Sequence[Any]) -> None:
        self.field_keys = {row.name.casefold(): f"custom:{row.id}" for row in fields}
        self.field_keys.update(
            {name.casefold(): f"system:{name.casefold()}" for name in SYSTEM_NAMES}
        )
        self.field_names = {key: name for name, key in self._spelled(fields).items()}
        self.tag_ids = {row.name: row.id for row in tags}
        self.tag_names = {row.id: row.name for row in tags}

    @staticmethod
    def _spelled(fields: Sequence[Any]) -> dict[str, str]:
        spelled = {row.name: f"custom:{row.id}" for row in fields}
        spelled.update({name: f"system:{name.casefold()}" for name in SYSTEM_NAMES})
        return spelled


def _names(conn: sa.Connection) -> dict[int, Names]:
    fields: dict[int, list[Any]] = {}
    tags: dict[int, list[Any]] = {}
    for row in conn.execute(sa.text("SELECT tenant_id, id, name FROM fields")):
        fields.setdefault(row.tenant_id, []).append(row)
    for row in conn.execute(sa.text("SELECT tenant_id, id, name FROM tags")):
        tags.setdefault(row.tenant_id, []).append(row)
    return {t: Names(fields.get(t, []), tags.get(t, [])) for t in set(fields) | set(tags)}


def _stored_leaf(item: Mapping[str, Any], names: Names) -> dict[str, Any]:
    field_name, op_, value = item.get("field_name"), item.get("op"), item.get("value")
    if field_name == CAMPAIGN:
        return {"kind": CAMPAIGN, "campaign": item.get("campaign_id"), "activity": value}
    if field_name == TAG:
        if value not in names.tag_ids:
            raise Unconvertible(f"tag {value}")
        return {"kind": TAG, "tag": names.tag_ids[value], "op": op_}
    key = names.field_keys.get(str(field_name).casefold())
    if key is None:
        raise Unconvertible(f"field {field_name}")
    return {"kind": "field", "field": key, "op": op_, "value": value}


def _wire_leaf(item: Mapping[str, Any], names: Names) -> dict[str, Any]:
    kind = item.get("kind")
    if kind == CAMPAIGN:
        return {
            "campaign_id": item.get("campaign"),
            "field_name": CAMPAIGN,
            "op": "==",
            "value": item.get("activity"),
        }
    if kind == TAG:
        if item.get("tag") not in names.tag_names:
            raise Unconvertible(f"tag {item.get('tag')}")
        name = names.tag_names[item["tag"]]
        return {"campaign_id": None, "field_name": TAG, "op": item.get("op"), "value": name}
    field_name = names.field_names.get(str(item.get("field")))
    if field_name is None:
        raise Unconvertible(f"field {item.get('field')}")
    return {
        "campaign_id": None,
        "field_name": field_name,
        "op": item.get("op"),
        "value": item.get("value"),
    }


def _group(raw: Any, names: Names, leaf: Any, is_leaf: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("items"), list):
        raise Unconvertible("not a group")
    items = [
        leaf(item, names) if is_leaf(item) else _group(item, names, leaf, is_leaf)
        for item in raw["items"]
    ]
    return {"relation": raw.get("relation"), "items": items}


def to_stored(raw: Any, names: Names) -> dict[str, Any]:
    if isinstance(raw, dict) and raw.get("version") == VERSION:
        return raw  # written by this revision's code already
    group = _group(
        raw, names, _stored_leaf, lambda item: isinstance(item, dict) and "items" not in item
    )
    return {"version": VERSION, **group}


def to_wire(raw: Any, names: Names) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        raise Unconvertible("not version 1")
    return _group(raw, names, _wire_leaf, lambda item: isinstance(item, dict) and "kind" in item)


def _convert(convert: Any) -> None:
    conn = op.get_bind()
    names = _names(conn)
    rows = conn.execute(sa.text("SELECT tenant_id, id, condition FROM segments")).all()
    for row in rows:
        try:
            text = json.dumps(
                convert(json.loads(row.condition), names.get(row.tenant_id, Names([], [])))
            )
        except (ValueError, Unconvertible) as exc:
            log.warning("segment %s: condition left as it was (%s)", row.id, exc)
            continue
        conn.execute(
            sa.text("UPDATE segments SET condition = :c WHERE tenant_id = :t AND id = :id"),
            {"c": text, "t": row.tenant_id, "id": row.id},
        )


def upgrade() -> None:
    _convert(to_stored)


def downgrade() -> None:
    _convert(to_wire)
