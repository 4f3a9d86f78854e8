"""Each API family registers its own error wording as ``api.app`` installs it; the registry
answers a path in its family's words, refuses a family claiming another's paths, and keeps a
shared envelope once."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from segmentd.api.app import create_app
from segmentd.api.commandersact.routes import LOOKUP_ERRORS
from segmentd.api.common.envelope import V1_ERRORS
from segmentd.api.common.family_errors import FamilyErrorRegistry, FamilyErrors
from segmentd.api.ui.deps import UI_ERRORS


def _request(path: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    )


def test_the_app_registers_every_family_once() -> None:
    registry = create_app().state.family_errors
    assert isinstance(registry, FamilyErrorRegistry)
    assert registry._families == [
        LOOKUP_ERRORS,
        V1_ERRORS,
        UI_ERRORS,
    ]  # EngageLab and native share V1


def test_each_path_answers_in_its_familys_words() -> None:
    registry = create_app().state.family_errors
    v1 = registry.fault(_request("/v1/sites"), 503, "unavailable", "down")
    engagelab = registry.fault(_request("/v1/marketing/lists"), 503, "unavailable", "down")
    lookup = registry.fault(_request("/api/dms/segmentation/segments"), 503, "unavailable", "down")
    other = registry.fault(_request("/healthz"), 503, "unavailable", "down")
    assert v1.body == b'{"code":30503,"message":"down","path":null}'
    assert engagelab.body == b'{"code":30503,"message":"down"}'
    assert lookup.headers["cache-control"] == "private, no-store"
    assert other.body == b'{"error":"unavailable","message":"down"}'
    assert registry.refused(_request("/healthz"), "bad").status_code == 400


def test_a_family_claiming_anothers_paths_is_refused() -> None:
    registry = FamilyErrorRegistry()
    registry.register(V1_ERRORS)
    registry.register(V1_ERRORS)
    with pytest.raises(ValueError):
        registry.register(FamilyErrors(prefixes=("/v1/marketing/",)))
    with pytest.raises(ValueError):
        registry.register(FamilyErrors(prefixes=("/",)))
    with pytest.raises(ValueError):
        registry.register(FamilyErrors(prefixes=(), paths=("/v1/sites",)))
    registry.register(FamilyErrors(prefixes=("/v2/",)))
