"""The members page (a list's members, filtered) and the fields page (fields, tags, campaigns)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.sql import ColumnElement

from ...domain.errors import DomainValidationError
from ...domain.fields import SYSTEM_FIELDS, FieldDef
from ...domain.ids import ascii_int
from ...domain.operators import NATIVE_OPERATORS, OPERATORS
from ...services.catalog_service import FieldDraft, create_field
from ...storage.campaigns import list_campaigns
from ...storage.field_defs import CLIENT_TYPES, FORMATS
from ...storage.list_members import email_or_name_contains, list_member_page
from ...storage.tags import list_tags
from ...storage.tenants import default_list_id
from .deps import Config, Db, Form, User, redirect
from .member_filter import filter_clause, filter_leaf, filter_subjects, filter_view
from .refusal_words import refusal, refusals
from .rendering import render
from .views import PAGE_SIZE, Paging, member_table, offset_of, tenant_data
from .vocab import FIELD_KINDS, TYPE_NAMES, op_label

router = APIRouter(prefix="/ui", include_in_schema=False)
MAX_SHOWN = 200  # tags and campaigns listed on the fields page
MAX_SEARCH = 100  # characters of the members page's search


def _chosen_list(raw: str | None, list_ids: list[int], default: int) -> int:
    chosen = ascii_int(raw or "")
    return chosen if chosen in list_ids else default


def _searched(
    raw: str | None, where: ColumnElement[bool] | None, errors: dict[str, str]
) -> tuple[str, ColumnElement[bool] | None]:
    """The search words and the filter with them; too long a search is an error beside it."""
    search = (raw or "").strip()
    if len(search) > MAX_SEARCH:
        errors["err-q"] = "too long"  # the page words it
        return search[:MAX_SEARCH], where
    if not search:
        return "", where
    found = email_or_name_contains(search)
    return search, found if where is None else sa.and_(where, found)


@router.get("/members")
def members_page(request: Request, user: User, db: Db, settings: Config) -> Response:
    params = request.query_params
    start = offset_of(params.get("offset"))
    with db.read() as conn:
        data = tenant_data(conn, user.tenant_id)
        picks = data.picks()
        node = filter_leaf(params, picks)
        default = default_list_id(conn, user.tenant_id)
        list_id = _chosen_list(params.get("list"), [x.id for x in data.lists], default)
        where, errors = filter_clause(node, picks, settings.tz, user.tenant_id)
        errors = refusals(request, errors)
        search, where = _searched(params.get("q"), where, errors)
        ids, total = (
            ([], 0)
            if errors
            else list_member_page(
                conn, user.tenant_id, list_id, where=where, offset=start, limit=PAGE_SIZE
            )
        )
        fields, members = member_table(conn, user.tenant_id, ids, settings.tz)
    kept = [(k, v) for k, v in params.multi_items() if k != "offset"]
    return render(
        request,
        "members.html",
        user=user,
        lists=data.lists,
        list_id=list_id,
        fields=fields,
        members=members,
        paging=Paging(start, PAGE_SIZE, total),
        filter_view=filter_view(node, picks),
        filter_on=node is not None or bool(search),
        search=search,
        max_search=MAX_SEARCH,
        subjects=filter_subjects(picks),
        filter_errors=errors,
        filter_query=urlencode(kept),
    )


# --- fields ------------------------------------------------------------------------------------


def _field_rows(fields: list[FieldDef]) -> list[dict[str, Any]]:
    """Each field with every operator of the native form for its type (the flat form's first)."""
    rows = []
    for field in (*SYSTEM_FIELDS, *fields):
        kind = FIELD_KINDS[field.type]
        every = (*OPERATORS[field.type], *NATIVE_OPERATORS[field.type])
        rows.append(
            {
                "field": field,
                "type": TYPE_NAMES[field.type],
                "operators": [(str(op), op_label(kind, op)) for op in every],
            }
        )
    return rows


def _fields_page(request: Request, user: User, db: Db, status: int = 200, **extra: Any) -> Response:
    with db.read() as conn:
        data = tenant_data(conn, user.tenant_id)
        tags, tag_total = list_tags(conn, user.tenant_id, 0, MAX_SHOWN)
        campaigns, campaign_total = list_campaigns(conn, user.tenant_id, 0, MAX_SHOWN)
    custom = [f for f in data.catalog.fields.values() if not f.system]
    context: dict[str, Any] = {
        "form": {},
        "errors": {},
        "type_choices": [(int(t), TYPE_NAMES[t]) for t in CLIENT_TYPES],
        "formats": {int(t): list(f) for t, f in FORMATS.items()},
    }
    context.update(extra)
    return render(
        request,
        "fields.html",
        user=user,
        status_code=status,
        field_rows=_field_rows(custom),
        tags=tags,
        tag_total=tag_total,
        campaigns=campaigns,
        campaign_total=campaign_total,
        **context,
    )


@router.get("/fields")
def fields_page(request: Request, user: User, db: Db) -> Response:
    return _fields_page(request, user, db)


def _options(raw: str) -> list[str] | None:
    options = [line.strip() for line in raw.splitlines() if line.strip()]
    return options or None


@router.post("/fields")
def add_field(request: Request, user: User, db: Db, form: Form) -> Response:
    values = {k: str(form.get(k) or "") for k in ("field_name", "field_type", "format", "options")}
    field_type: Any = ascii_int(values["field_type"], 2)
    try:
        draft = FieldDraft(
            values["field_name"],
            field_type,
            values["format"] or None,
            _options(values["options"]),
            form.get("visible") == "on",
        )
        created = create_field(db, user.tenant_id, draft)
    except DomainValidationError as exc:
        slot = exc.path.split("[")[0]
        return _fields_page(
            request, user, db, status=400, form=values, errors={slot: refusal(request, exc.message)}
        )
    request.session["flash"] = ["Field {name} created.", {"name": created.name}]
    return redirect(request, "/ui/fields")
