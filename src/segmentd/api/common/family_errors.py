"""Which API family a path belongs to, and how that family words the errors no endpoint of
it answered: an unexpected failure or an unavailable database (``api.fault_answers``), and a string
refused before any endpoint ran (``api.inputs``).

Each family registers its own renderers when ``api.app`` installs it (``register``); what no
family claims answers plain JSON. Families claim disjoint paths, so the order they register
in never matters. Nothing here imports a family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

# (request, status, error word, message) -> response, for a 500 or a 503.
FaultRenderer = Callable[[Request, int, str, str], Response]
# (request, message) -> response, for a 400.
RefusalRenderer = Callable[[Request, str], Response]


@dataclass(frozen=True)
class FamilyErrors:
    """A family's paths (``prefixes`` that start them, ``paths`` matched whole) and its
    renderers; a renderer left None falls back to plain JSON."""

    prefixes: tuple[str, ...]
    paths: tuple[str, ...] = ()
    fault: FaultRenderer | None = None
    refused: RefusalRenderer | None = None

    def owns(self, path: str) -> bool:
        return path in self.paths or path.startswith(self.prefixes)


class FamilyErrorRegistry:
    def __init__(self) -> None:
        self._families: list[FamilyErrors] = []

    def register(self, family: FamilyErrors) -> None:
        """Add a family; registering one twice (two families share an envelope) adds it once.
        A family claiming another's paths is refused: the answer would depend on the order."""
        if family in self._families:
            return
        for other in self._families:
            if _overlap(family, other):
                raise ValueError(f"{family} claims paths of {other}")
        self._families.append(family)

    def _family(self, path: str) -> FamilyErrors | None:
        return next((family for family in self._families if family.owns(path)), None)

    def fault(self, request: Request, status: int, error: str, message: str) -> Response:
        """Answers by the ASGI path (``scope["path"]``), as the fault middleware sees it."""
        family = self._family(request.scope["path"])
        if family is not None and family.fault is not None:
            return family.fault(request, status, error, message)
        return JSONResponse({"error": error, "message": message}, status_code=status)

    def refused(self, request: Request, message: str) -> Response:
        family = self._family(request.url.path)
        if family is not None and family.refused is not None:
            return family.refused(request, message)
        return JSONResponse({"error": "invalid_request", "message": message}, status_code=400)


def _overlap(one: FamilyErrors, other: FamilyErrors) -> bool:
    return (
        any(a.startswith(b) or b.startswith(a) for a in one.prefixes for b in other.prefixes)
        or any(other.owns(path) for path in one.paths)
        or any(one.owns(path) for path in other.paths)
    )


def register(app: Starlette, family: FamilyErrors) -> None:
    """Register a family's error wording with the app's registry (``app.state.family_errors``)."""
    registry: FamilyErrorRegistry = app.state.family_errors
    registry.register(family)


def family_errors(request: Request) -> FamilyErrorRegistry:
    registry: FamilyErrorRegistry = request.app.state.family_errors
    return registry
