"""Members: ``/v1/marketing/lists/members`` (upsert, list, get, delete, unsubscribe)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.concurrency import run_in_threadpool

from ...services.member_service import delete_members, unsubscribe, upsert_members
from ...settings import Settings
from ...storage.catalog import custom_fields
from ...storage.db import Database
from ...storage.member_input import MAX_NAME, MAX_PHONE
from ...storage.member_rows import fetch_members
from ...storage.members import (
    MAX_MEMBERS_PER_CALL,
    TagFlag,
    UpsertResult,
    ids_by_email,
    member_page,
)
from ...storage.tags import (
    MAX_TAG_LENGTH,
    MAX_TAGS_PER_MEMBER,
    MAX_TAGS_PER_REQUEST,
    TOO_MANY_TAGS,
)
from ..common.envelope import ERROR_RESPONSES, invalid, not_found
from ..common.member_json import member_json
from ..common.params import ListIdQuery
from ..common.schema_parts import non_blank, nullable, reported_items, text
from .ingest_common import (
    Config,
    Db,
    Limit,
    ListIdBody,
    Offset,
    TenantId,
    body_id,
    page,
    path_id,
    resolve_list,
    string_list,
)

router = APIRouter(
    prefix="/v1/marketing/lists/members", tags=["EngageLab members"], responses=ERROR_RESPONSES
)

MAX_IDS_PER_CALL = 1000


MembersUpsertExtra: dict[str, Any] = {
    "examples": [
        {
            "update_existing": True,
            "tag_flag": 1,
            "members": [{"email": "ann@example.com", "name": "Ann", "tags": ["VIP"]}],
        }
    ]
}
_NAME_OR_NUMBER = {"anyOf": [text(), {"type": "number"}, {"type": "null"}]}
MEMBER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["email"],
    "additionalProperties": False,
    "properties": {
        "email": {"type": "string", "minLength": 6, "maxLength": 128, "format": "email"},
        "name": nullable(text(max_length=MAX_NAME)),
        "phone": nullable(text(max_length=MAX_PHONE)),
        "fields": nullable({"type": "object", "additionalProperties": _NAME_OR_NUMBER}),
        "tags": nullable(
            {"type": "array", "maxItems": MAX_TAGS_PER_MEMBER, "items": non_blank(MAX_TAG_LENGTH)}
        ),
        "tcid": nullable(
            {"anyOf": [{"type": "string", "pattern": "^[0-9]{1,64}$"}, {"type": "integer"}]}
        ),
    },
}
MEMBERS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_MEMBERS_PER_CALL,
    "items": reported_items(MEMBER_SCHEMA),
}
_EMAILS = {"type": "array", "minItems": 1, "maxItems": 1000, "items": text()}
_MEMBER_IDS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1000,
    "items": {"anyOf": [{"type": "integer"}, text()]},
    "description": "Ids that name no member are ignored",
}


class MembersUpsert(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={**MembersUpsertExtra, "required": ["update_existing", "members"]}
    )

    list_id: ListIdBody = Field(None, description="The list (default: the tenant's default list)")
    update_existing: Annotated[Any, WithJsonSchema({"type": "boolean"})] = Field(
        None, description="Required: whether existing members change"
    )
    tag_flag: Annotated[Any, WithJsonSchema({"type": "integer", "enum": [0, 1, 2]})] = Field(
        1, description="0 overwrite, 1 append (default), 2 keep existing"
    )
    members: Annotated[Any, WithJsonSchema(MEMBERS_SCHEMA)] = Field(
        None,
        description="1 to 1000 of {email, name?, phone?, fields?: {name: value}, tags?, tcid?}; "
        f"a member has at most {MAX_TAGS_PER_MEMBER} tags (also after appending: that row is "
        f"then an error) and a request names at most {MAX_TAGS_PER_REQUEST} distinct tags; "
        "a member that breaks a rule is reported in errors and the others are stored",
    )


class MembersDelete(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"emails": ["bo@example.com"]}],
            # Exactly one of member_ids and emails.
            "oneOf": [
                {
                    "required": ["member_ids"],
                    "properties": {"member_ids": {"type": "array"}, "emails": {"type": "null"}},
                },
                {
                    "required": ["emails"],
                    "properties": {"emails": {"type": "array"}, "member_ids": {"type": "null"}},
                },
            ],
        }
    )

    member_ids: Annotated[Any, WithJsonSchema(nullable(_MEMBER_IDS))] = Field(
        None, description="1 to 1000 member ids (or give emails)"
    )
    emails: Annotated[Any, WithJsonSchema(nullable(_EMAILS))] = Field(
        None, description="1 to 1000 emails (or give member_ids)"
    )
    list_id: ListIdBody = Field(None, description="The list the emails are on (default list)")


class Unsubscribe(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"emails": ["ann@example.com"]}], "required": ["emails"]}
    )

    emails: Annotated[Any, WithJsonSchema(_EMAILS)] = Field(None, description="1 to 1000 emails")
    list_id: ListIdBody = Field(None, description="The list (default: the default list)")


def _flag(raw: Any) -> TagFlag:
    if isinstance(raw, bool) or raw not in (0, 1, 2):
        raise invalid("tag_flag", "tag_flag only be 0 (overwrite), 1 (append) or 2 (keep)")
    return TagFlag(raw)


def _members(raw: Any) -> list[Any]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_MEMBERS_PER_CALL:
        raise invalid("members", f"members must be a list of 1 to {MAX_MEMBERS_PER_CALL} members")
    _check_tag_counts(raw)
    return raw


def _check_tag_counts(members: list[Any]) -> None:
    """Tags per member and per request: a whole-request error, as the schema states it."""
    distinct: set[Any] = set()
    for index, member in enumerate(members):
        tags = member.get("tags") if isinstance(member, dict) else None
        if not isinstance(tags, list):
            continue  # a row error (or none), reported with the row
        if len(tags) > MAX_TAGS_PER_MEMBER:
            raise invalid(f"members[{index}].tags", TOO_MANY_TAGS)
        distinct.update(tag for tag in tags if isinstance(tag, str))
        if len(distinct) > MAX_TAGS_PER_REQUEST:
            raise invalid("members", f"a request names at most {MAX_TAGS_PER_REQUEST} tags")


def _result(result: UpsertResult) -> dict[str, Any]:
    return {
        "created": result.created,
        "updated": result.updated,
        "skipped": result.skipped,
        "errors": [
            {"index": e.index, "email": e.email, "message": e.message} for e in result.errors
        ],
    }


@router.post("", summary="Create or update members by email")
async def upsert(
    body: MembersUpsert, tenant_id: TenantId, db: Db, settings: Config
) -> dict[str, Any]:
    # One trip to the thread pool: a plain ``def`` route would also validate its answer
    # there, a second trip.
    return await run_in_threadpool(_upsert, body, tenant_id, db, settings)


def _upsert(
    body: MembersUpsert, tenant_id: int, db: Database, settings: Settings
) -> dict[str, Any]:
    if not isinstance(body.update_existing, bool):
        raise invalid("update_existing", "update_existing is required: true or false")
    flag, rows = _flag(body.tag_flag), _members(body.members)
    with db.write() as conn:
        # The default list comes with the tenant's write lock (``upsert_members``).
        list_id = None if body.list_id is None else resolve_list(conn, tenant_id, body.list_id)
        result = upsert_members(
            conn,
            tenant_id,
            list_id,
            rows,
            update_existing=body.update_existing,
            tag_flag=flag,
            tz=settings.tz,
        )
    return {"result": _result(result)}


@router.get("", summary="List a list's members")
def list_members(
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    list_id: ListIdQuery = None,
    offset: Offset = 0,
    limit: Limit = 10,
) -> dict[str, Any]:
    with db.read() as conn:
        chosen = resolve_list(conn, tenant_id, list_id)
        ids, total = member_page(conn, tenant_id, chosen, offset, limit)
        rows = fetch_members(conn, tenant_id, ids, custom_fields(conn, tenant_id))
    return page([member_json(row, settings.tz) for row in rows], total)


@router.get("/{member_id}", summary="Get one member")
def get_member(member_id: str, tenant_id: TenantId, db: Db, settings: Config) -> dict[str, Any]:
    with db.read() as conn:
        rows = fetch_members(conn, tenant_id, [path_id(member_id)], custom_fields(conn, tenant_id))
    if not rows:
        raise not_found()
    return {"result": member_json(rows[0], settings.tz)}


@router.delete("", summary="Delete members by id or email")
def delete(body: MembersDelete, tenant_id: TenantId, db: Db) -> dict[str, int]:
    if (body.member_ids is None) == (body.emails is None):
        raise invalid("member_ids", "give either member_ids or emails")
    with db.write() as conn:
        if body.emails is not None:
            emails = string_list(body.emails, "emails", MAX_IDS_PER_CALL)
            ids = ids_by_email(conn, tenant_id, resolve_list(conn, tenant_id, body.list_id), emails)
        else:
            if body.list_id is not None and body_id(body.list_id) is None:
                raise invalid("list_id", "list_id must be an integer")  # as documented, if unused
            ids = _member_ids(body.member_ids)
        count = delete_members(conn, tenant_id, ids)
    return {"count": count}


def _member_ids(raw: Any) -> list[int]:
    """Ids as strings (as EngageLab shows them) or numbers; ones that name nothing are ignored."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_IDS_PER_CALL:
        raise invalid("member_ids", f"member_ids must be a list of 1 to {MAX_IDS_PER_CALL} ids")
    ids = [body_id(item) for item in raw]
    return [member_id for member_id in ids if member_id is not None]


@router.post("/unsubscribe", summary="Unsubscribe members by email")
def unsubscribe_members(
    body: Unsubscribe, tenant_id: TenantId, db: Db, settings: Config
) -> dict[str, int]:
    emails = string_list(body.emails, "emails", MAX_IDS_PER_CALL)
    with db.write() as conn:
        list_id = resolve_list(conn, tenant_id, body.list_id)
        count = unsubscribe(conn, tenant_id, list_id, emails, settings.tz)
    return {"count": count}
