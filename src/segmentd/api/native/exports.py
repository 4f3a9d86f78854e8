"""``GET /v1/segments/{segment_id}/export.csv``: a segment's members as CSV, streamed.

The rows come from one snapshot in batches, so millions of members export in constant memory.
The web UI's export button serves the same file.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from ...storage.db import Database
from ...storage.segments import get_segment
from ..common.app_state import get_db
from ..common.basic_auth import current_tenant
from ..common.csv_export import csv_response
from ..common.envelope import NATIVE_ERROR_RESPONSES, not_found

router = APIRouter(prefix="/v1/segments", tags=["segmentd extensions"])

CSV_RESPONSE = {
    200: {
        "description": "The segment's published members: email, name, phone, custom fields, tags",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    401: NATIVE_ERROR_RESPONSES[401],
    404: NATIVE_ERROR_RESPONSES[404],
    429: NATIVE_ERROR_RESPONSES[429],
}


@router.get(
    "/{segment_id}/export.csv",
    summary="Export a segment's members as CSV",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,  # type: ignore[arg-type]
)
def export_segment(
    segment_id: str,
    tenant_id: int = Depends(current_tenant),
    db: Database = Depends(get_db),
) -> StreamingResponse:
    with db.read() as conn:
        segment = get_segment(conn, tenant_id, segment_id)
    if segment is None:
        raise not_found()
    return csv_response(db, segment)
