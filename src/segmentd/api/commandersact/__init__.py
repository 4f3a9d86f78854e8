"""Commanders Act's segmentation API under ``/api/dms/segmentation/``: the visitor look-up,
answered JSONP (``/**/callback([...]);``, ``text/javascript``) on its fast path before the
router, and the site's segment list in JSON. A site token, not Basic auth; a refused request
answers JSON ``{"error": "...", "message": "..."}``, never JavaScript, and nothing is cached.

``install(app)`` mounts the routes, registers the family's error wording and keeps site
tokens out of the logs; ``fastpath.LookupFastPath`` is the middleware ``api.app`` adds.
"""

from __future__ import annotations

from fastapi import FastAPI

from ..common.family_errors import register
from .redaction import install_token_redaction
from .routes import LOOKUP_ERRORS, router


def install(app: FastAPI) -> None:
    register(app, LOOKUP_ERRORS)
    install_token_redaction()
    app.include_router(router)
