"""Tags: ``/v1/marketing/lists/tags`` (list, rename, delete). Members create them by name."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ...services.catalog_service import delete_tag, rename_tag
from ...storage.tags import MAX_TAG_LENGTH, Tag, list_tags
from ...timefmt import SEGMENT_STYLE, format_time
from ..common.envelope import ERROR_RESPONSES, not_found
from ..common.schema_parts import non_blank
from .ingest_common import Config, Db, Limit, Offset, TenantId, page, path_id

router = APIRouter(
    prefix="/v1/marketing/lists/tags", tags=["EngageLab tags"], responses=ERROR_RESPONSES
)


class TagRename(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"tag_name": "Loyal customers"}], "required": ["tag_name"]}
    )

    tag_name: Annotated[Any, WithJsonSchema(non_blank(MAX_TAG_LENGTH))] = Field(
        None, description="The new name, unique (segments using the tag follow it)"
    )


def tag_json(tag: Tag, settings: Any) -> dict[str, Any]:
    return {
        "tag_id": tag.id,
        "tag_name": tag.name,
        "member_count": tag.member_count,
        "create_time": format_time(tag.created_at, settings.tz, SEGMENT_STYLE),
    }


@router.get("", summary="List tags with their member counts")
def list_all(
    tenant_id: TenantId, db: Db, settings: Config, offset: Offset = 0, limit: Limit = 10
) -> dict[str, Any]:
    with db.read() as conn:
        found, total = list_tags(conn, tenant_id, offset, limit)
    return page([tag_json(tag, settings) for tag in found], total)


@router.put("/{tag_id}", summary="Rename a tag")
def rename(
    tag_id: str, body: TagRename, tenant_id: TenantId, db: Db, settings: Config
) -> dict[str, Any]:
    tag = rename_tag(db, tenant_id, path_id(tag_id), body.tag_name)
    if tag is None:
        raise not_found()
    return {"result": tag_json(tag, settings)}


@router.delete("/{tag_id}", summary="Delete a tag no segment uses")
def delete(tag_id: str, tenant_id: TenantId, db: Db) -> dict[str, int]:
    deleted = delete_tag(db, tenant_id, path_id(tag_id))
    if not deleted:
        raise not_found()
    return {"count": 1}
