"""Native endpoints for sites (lists seen by the Commanders Act API) and their tokens.

Basic auth as on the EngageLab API; another tenant's site answers "not found".
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field, field_validator

from ...domain.errors import DomainValidationError
from ...secrets import SealError
from ...services import site_service
from ...services.site_service import MAX_CHOSEN_SITE_ID
from ...storage.sites import Site
from ..common.basic_auth import current_tenant
from ..common.envelope import NATIVE_ERROR_RESPONSES, NativeErrorBody, invalid
from ..common.origins import MAX_ORIGINS, checked_origins
from ..common.params import IdPath
from ..common.schema_parts import not_blank_pattern
from ..common.site_access import SiteAccess, site_access

router = APIRouter(prefix="/v1/sites", tags=["sites"], responses=NATIVE_ERROR_RESPONSES)
NO_STORE = "no-store"


# Names are shown in pages and stored in text columns: no control characters (PostgreSQL
# refuses NUL outright). A new site's name must not be blank either (checked by hand: the
# validator's regex has no look-ahead); the document states both.
SITE_NAME = r"^[^\x00-\x1f\x7f]+$"
_NEW_NAME = not_blank_pattern(r"\u0000-\u001f\u007f")
# What the document promises is an origin (normalize_origin reads a few more spellings).
_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ORIGIN = f"^[Hh][Tt][Tt][Pp][Ss]?://{_LABEL}(\\.{_LABEL})*(:[1-9][0-9]{{0,3}})?$"
Origin = Annotated[str, Field(json_schema_extra={"pattern": ORIGIN})]


class NewSite(BaseModel):
    name: str = Field(
        min_length=1, max_length=128, pattern=SITE_NAME, json_schema_extra={"pattern": _NEW_NAME}
    )
    site_id: int | None = Field(
        None,
        ge=1,
        le=MAX_CHOSEN_SITE_ID,
        strict=True,
        description="The site's number, kept from Commanders Act (pages tagged site=N keep "
        "working); must be free across all tenants (409 when taken). Default: the next number",
    )

    @field_validator("site_id", mode="before")
    @classmethod
    def _integral(cls, value: Any) -> Any:
        # JSON's 1234.0 is the integer 1234, as JSON Schema's "integer" says.
        return int(value) if isinstance(value, float) and value.is_integer() else value


class SiteUpdate(BaseModel):
    name: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        pattern=SITE_NAME,
        description="A new name (a blank one leaves the name as it is)",
    )
    allowed_origins: Annotated[list[Origin], Field(max_length=MAX_ORIGINS)] | None = Field(
        None,
        description="Origins such as https://shop.example (scheme://host[:port]); "
        "empty: any origin",
    )


def site_json(site: Site) -> dict[str, Any]:
    return {
        "site_id": site.id,
        "name": site.name,
        "is_default": site.is_default,
        "allowed_origins": list(site.allowed_origins),
        "has_token": site.token_digest is not None,
    }


def _origins(values: list[str]) -> list[str]:
    try:
        return checked_origins(values)
    except DomainValidationError as exc:
        raise invalid(exc.path, exc.message) from None


@router.get("", summary="List the tenant's sites")
def get_sites(request: Request, tenant_id: int = Depends(current_tenant)) -> dict[str, Any]:
    sites = [
        site_json(site) for site in site_service.list_sites(site_access(request).db, tenant_id)
    ]
    return {"result": sites, "total": len(sites), "count": len(sites)}


@router.post(
    "",
    summary="Create a site (a list) with its token",
    responses={409: {"model": NativeErrorBody, "description": "site_id is taken (code 30035)"}},
)
def post_site(
    body: NewSite, request: Request, response: Response, tenant_id: int = Depends(current_tenant)
) -> dict[str, Any]:
    access = site_access(request)
    site, token = site_service.create_site(
        access.db, tenant_id, body.name, access.keys, body.site_id
    )
    access.sites.invalidate(site.id)  # a miss for this number may be cached
    response.headers["Cache-Control"] = NO_STORE
    return {"result": site_json(site) | {"token": token}}


@router.put("/{site_id}", summary="Rename a site or set the origins allowed to call it")
def put_site(
    site_id: IdPath, body: SiteUpdate, request: Request, tenant_id: int = Depends(current_tenant)
) -> dict[str, Any]:
    access = site_access(request)
    origins = None if body.allowed_origins is None else _origins(body.allowed_origins)
    site = site_service.update_site(access.db, tenant_id, site_id, name=body.name, origins=origins)
    access.sites.invalidate(site_id)
    return {"result": site_json(site)}


def _token_answer(
    access: SiteAccess, site_id: int, token: str, response: Response
) -> dict[str, Any]:
    access.sites.invalidate(site_id)
    response.headers["Cache-Control"] = NO_STORE
    return {"result": {"site_id": site_id, "token": token}}


@router.get("/{site_id}/token", summary="Read the site's token (created on first read)")
def get_token(
    site_id: IdPath, request: Request, response: Response, tenant_id: int = Depends(current_tenant)
) -> dict[str, Any]:
    access = site_access(request)
    try:
        _site, token = site_service.site_token(access.db, tenant_id, site_id, access.keys)
    except SealError as exc:
        raise invalid("token", f"{exc}; rotate it") from exc
    return _token_answer(access, site_id, token, response)


@router.post("/{site_id}/token/rotate", summary="Replace the site's token")
def post_rotate(
    site_id: IdPath, request: Request, response: Response, tenant_id: int = Depends(current_tenant)
) -> dict[str, Any]:
    access = site_access(request)
    _site, token = site_service.site_token(access.db, tenant_id, site_id, access.keys, rotate=True)
    return _token_answer(access, site_id, token, response)


@router.get(
    "/{site_id}/segments",
    summary="The site's segments with the ids the Commanders Act look-up answers",
)
def get_site_segments(
    site_id: IdPath, request: Request, tenant_id: int = Depends(current_tenant)
) -> dict[str, Any]:
    found = site_service.site_segments(site_access(request).db, tenant_id, site_id)
    result = [
        {"segment_id": s.segment_id, "commandersact_id": s.commandersact_id, "name": s.name}
        for s in found
    ]
    return {"result": result, "total": len(result), "count": len(result)}
