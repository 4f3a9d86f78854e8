"""The parameters every API family shares, with their ranges stated in OpenAPI."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator

from ...domain.ids import MAX_ID, MAX_OFFSET

MAX_LIMIT = 100

Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="Index of the first result (0 to 2^53-1)")
]
Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"Results per page (1 to {MAX_LIMIT})")
]
ListIdQuery = Annotated[
    int | None,
    Query(ge=1, le=MAX_ID, description="The list (default: the tenant's default list)"),
]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A numeric id (1 to 2^53-1)")]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Only ISO 8601 text: pydantic would also read a bare number as a Unix time, which
    the documented ``format`` (date, date-time) does not allow."""
    if isinstance(value, str) and not _ISO_DAY.match(value):
        raise ValueError("expected ISO 8601 (YYYY-MM-DD...)")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]
