"""The integer parameters every API family shares, with their ranges stated in OpenAPI."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

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
