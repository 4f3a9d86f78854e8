"""The webhooks page (``services.webhook_service``, docs/webhooks.md): subscriptions with
their last delivery, a form to subscribe (the signing secret shown once, on the answer to
it), enable and disable, delete after a confirmation, and the parked deliveries to replay.

Refusals are the use cases' own words, beside the input they are about, as the native API
answers them; the address guard (``SEGMENTD_WEBHOOK_ALLOWED_HOSTS``) applies alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.errors import DomainValidationError, NotFound
from ...domain.ids import ascii_int
from ...secrets import token_keys
from ...services import webhook_service
from ...storage.ui_reads import tenant_segments
from ...storage.webhooks import Webhook
from .deps import Config, Db, Form, UiNotFound, User, redirect
from .refusal_words import refusal
from .rendering import render

router = APIRouter(prefix="/ui/webhooks", include_in_schema=False)
PARKED_SHOWN = 20  # parked deliveries listed per subscription
STATE_WORDS = {"queued": "queued", "running": "running", "done": "delivered", "failed": "parked"}


@dataclass
class WebhookForm:
    """The subscribe form as posted, and its errors by slot."""

    url: str = ""
    segment_id: str = ""
    events: list[str] = field(default_factory=lambda: ["entered", "left"])
    errors: dict[str, str] = field(default_factory=dict)


def _text(form: Form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _posted(form: Form) -> WebhookForm:
    events = [e for e in form.getlist("events") if e in ("entered", "left")]
    return WebhookForm(_text(form, "url"), _text(form, "segment_id"), events)


def _events(chosen: list[str]) -> str:
    """entered, left, both; '' when none is chosen (the use case refuses it)."""
    unique = set(chosen)
    return "both" if len(unique) == 2 else next(iter(unique), "")


def _page(
    request: Request,
    user: User,
    db: Db,
    *,
    form: WebhookForm | None = None,
    created: tuple[Webhook, str] | None = None,
    status: int = 200,
) -> Response:
    states = webhook_service.webhook_states(db, user.tenant_id, PARKED_SHOWN)
    with db.read() as conn:
        segments = tenant_segments(conn, user.tenant_id)
    return render(
        request,
        "webhooks.html",
        user=user,
        status_code=status,
        states=states,
        segments=segments,
        names={s.id: s.name for s in segments},
        form=form or WebhookForm(),
        created=created,
        state_words=STATE_WORDS,
        limit=webhook_service.MAX_WEBHOOKS,
        max_url=webhook_service.MAX_URL,
    )


@router.get("")
def webhooks_page(request: Request, user: User, db: Db) -> Response:
    return _page(request, user, db)


@router.post("")
def subscribe(request: Request, user: User, db: Db, form: Form, settings: Config) -> Response:
    """Subscribe; the answer is the page itself, showing the secret this once (no redirect,
    so the secret is kept nowhere)."""
    posted = _posted(form)
    try:
        created = webhook_service.create_webhook(
            db,
            settings,
            token_keys(settings),
            user.tenant_id,
            url=posted.url,
            segment_id=posted.segment_id or None,
            events=_events(posted.events),
            enabled=True,
        )
    except DomainValidationError as exc:
        slot = f"err-{exc.path}" if exc.path in ("url", "segment_id", "events") else "err-webhook"
        posted.errors[slot] = refusal(request, exc.message)
        return _page(request, user, db, form=posted, status=400)
    return _page(request, user, db, created=created)


def _webhook_id(raw: str) -> int:
    return ascii_int(raw) or 0  # 0 names no subscription


def _owned(db: Db, user: User, raw: str) -> Webhook:
    try:
        return webhook_service.get_webhook(db, user.tenant_id, _webhook_id(raw))
    except NotFound:
        raise UiNotFound() from None


@router.post("/{webhook_id}/enabled")
def set_enabled(
    request: Request, webhook_id: str, user: User, db: Db, form: Form, settings: Config
) -> Response:
    enable = _text(form, "enabled") == "1"
    try:
        webhook_service.update_webhook(
            db, settings, user.tenant_id, _webhook_id(webhook_id), enabled=enable
        )
    except NotFound:
        raise UiNotFound() from None
    phrase = "Webhook {id} enabled." if enable else "Webhook {id} disabled: its deliveries wait."
    request.session["flash"] = [phrase, {"id": _webhook_id(webhook_id)}]
    return redirect(request, "/ui/webhooks")


@router.get("/{webhook_id}/delete")
def confirm_delete(request: Request, webhook_id: str, user: User, db: Db) -> Response:
    webhook = _owned(db, user, webhook_id)
    return render(request, "webhook_delete.html", user=user, webhook=webhook)


@router.post("/{webhook_id}/delete")
def delete(request: Request, webhook_id: str, user: User, db: Db, form: Form) -> Response:
    try:
        webhook_service.delete_webhook(db, user.tenant_id, _webhook_id(webhook_id))
    except NotFound:
        raise UiNotFound() from None
    request.session["flash"] = ["Webhook {id} deleted.", {"id": _webhook_id(webhook_id)}]
    return redirect(request, "/ui/webhooks")


@router.post("/{webhook_id}/deliveries/{delivery_id}/replay")
def replay(
    request: Request, webhook_id: str, delivery_id: str, user: User, db: Db, form: Form
) -> Response:
    number = ascii_int(delivery_id) or 0
    try:
        webhook_service.replay_delivery(db, user.tenant_id, _webhook_id(webhook_id), number)
    except NotFound:
        raise UiNotFound() from None
    except webhook_service.NotParked as exc:
        request.session["flash"] = ["Error: {reason}", {"reason": refusal(request, exc.message)}]
        return redirect(request, "/ui/webhooks")
    request.session["flash"] = ["Delivery {id} queued again.", {"id": number}]
    return redirect(request, "/ui/webhooks")
