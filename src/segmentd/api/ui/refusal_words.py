"""A refusal's message in the page's language: the services raise it in the APIs' English,
and a French page shows it in French (``i18n_refusals``); the APIs keep their words."""

from __future__ import annotations

from fastapi import Request

from .i18n import FRENCH
from .i18n_refusals import french_refusal
from .rendering import language


def refusal(request: Request, message: str) -> str:
    return french_refusal(message, FRENCH) if language(request) == "fr" else message


def refusals(request: Request, errors: dict[str, str]) -> dict[str, str]:
    """Every message of ``errors`` (by slot) in the page's language."""
    return {slot: refusal(request, message) for slot, message in errors.items()}
