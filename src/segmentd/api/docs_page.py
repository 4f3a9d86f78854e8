"""The ``/docs`` page: Swagger UI served from files shipped in a pinned package, never a CDN.

FastAPI's own page loads Swagger UI from jsDelivr, which fails on an offline host and leaks
every visit to a third party. ``swagger-ui-bundle-v2`` ships Swagger UI 5 (which reads
OpenAPI 3.1, the version FastAPI emits) inside the wheel; we serve those files ourselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"

# No validator badge: it is an image fetched from validator.swagger.io.
SWAGGER_PARAMETERS: dict[str, Any] = {
    "validatorUrl": None,
    "deepLinking": True,
    "displayRequestDuration": True,
    "tryItOutEnabled": False,
}


def swagger_ui_dir() -> Path:
    """Where the installed package keeps Swagger UI's files."""
    return Path(str(swagger_ui_bundle.swagger_ui_path))


def docs_html(app: FastAPI, root_path: str = "") -> HTMLResponse:
    """The page itself; every URL in it points back at this server."""
    assets = f"{root_path}{ASSETS_PATH}"
    return get_swagger_ui_html(
        openapi_url=f"{root_path}{app.openapi_url}",
        title=f"{app.title} API",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    )


def mount_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and the Swagger UI assets under ``/docs/assets``."""
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_ui_dir()), name="swagger-ui")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        return docs_html(app, request.scope.get("root_path", ""))
