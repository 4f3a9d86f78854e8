"""The answer to what no endpoint answered: an unexpected exception (500) or a database that
could not serve the request (503 with ``Retry-After``), in the envelope of the request's API
family, and the connection kept open.

Starlette's own error middleware answers ``text/plain`` and re-raises, and uvicorn then closes
the connection without saying so: the client's next request on it failed too. ``Faults`` sits
inside it, answers, and returns normally.

A request that met a lost database connection before any of its transactions committed
changed nothing, so it is run once more, on a fresh connection, with the body it sent (kept
while it is read, up to the request body limit).
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..storage.faults import (
    DatabaseUnavailable,
    is_transient,
    start_commit_journal,
    stop_commit_journal,
)
from .common.family_errors import FamilyErrorRegistry

log = logging.getLogger("segmentd")

RETRY_AFTER_SECONDS = 1
INTERNAL_MESSAGE = "internal error; it has been logged"
NOT_APPLIED = "the database is unavailable; nothing was changed; try again"
UNKNOWN = (
    "the database connection was lost while committing; the change may or may not have "
    "been applied: read it back before trying again"
)
PARTLY = (
    "the database connection was lost after part of the request was saved; read it back "
    "before trying again"
)


class Faults:
    def __init__(
        self, app: ASGIApp, max_replay_bytes: int, family_errors: FamilyErrorRegistry
    ) -> None:
        self.app = app
        self.max_replay_bytes = max_replay_bytes
        self.family_errors = family_errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A second run gets the scope as the server made it: routing writes into it.
        pristine = {**scope, "state": dict(scope.get("state") or {})}
        body = _ReplayableBody(receive, self.max_replay_bytes)
        answer = _Answer(send)
        failure, committed = await _run(self.app, scope, body.first, answer)
        if failure is None or _after_answer(failure, answer, scope):
            return
        if body.whole and _not_applied(failure, committed):
            log.warning("database fault on %s (%s); running it again", _request(scope), failure)
            scope = pristine
            failure, committed = await _run(self.app, scope, body.replay(), answer)
            if failure is None or _after_answer(failure, answer, scope):
                return
        await _fail(scope, send, failure, committed, self.family_errors)


async def _run(
    app: ASGIApp, scope: Scope, receive: Receive, answer: _Answer
) -> tuple[Exception | None, bool]:
    """Run the app once: the exception it raised, if any, and whether anything committed."""
    journal, token = start_commit_journal()
    try:
        await app(scope, receive, answer.send)
    except ClientDisconnect:
        pass  # nobody left to answer
    except Exception as exc:
        return exc, journal.committed
    finally:
        stop_commit_journal(token)
    return None, False


def _after_answer(failure: Exception, answer: _Answer, scope: Scope) -> bool:
    """True when the failure came after the response started (so nothing else is sent)."""
    if answer.complete:  # the answer went out whole: the connection is fine
        log.error("error after answering %s", _request(scope), exc_info=failure)
        return True
    if answer.started:
        raise failure  # an answer cut short: only closing the connection says so
    return False


class _Answer:
    """How far the response got."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = self.complete = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete = True
        await self._send(message)


def _request(scope: Scope) -> str:
    return f"{scope['method']} {scope['path']}"


async def _fail(
    scope: Scope, send: Send, exc: Exception, committed: bool, families: FamilyErrorRegistry
) -> None:
    if not _is_database_fault(exc):
        log.error("unexpected error on %s", _request(scope), exc_info=exc)
        await _answer(scope, send, families, 500, "internal_error", INTERNAL_MESSAGE)
        return
    log.warning("database fault on %s (%s)", _request(scope), exc)
    message = _unavailable_message(exc, committed)
    await _answer(scope, send, families, 503, "unavailable", message)


def _is_database_fault(exc: BaseException) -> bool:
    return isinstance(exc, DatabaseUnavailable) or is_transient(exc)


def _not_applied(exc: BaseException, committed: bool) -> bool:
    return not committed and isinstance(exc, DatabaseUnavailable) and exc.applied is False


def _unavailable_message(exc: BaseException, committed: bool) -> str:
    if committed:
        return PARTLY
    if isinstance(exc, DatabaseUnavailable) and exc.applied is None:
        return UNKNOWN
    return NOT_APPLIED


class _ReplayableBody:
    """The request's body messages, kept as they are read so that a second run sees them."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self._kept: list[Message] = []
        self._size = 0
        self.whole = True  # False once more than ``limit`` bytes went by

    async def first(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request" and self.whole:
            self._size += len(message.get("body", b""))
            if self._size > self._limit:
                self.whole, self._kept = False, []
            else:
                self._kept.append(message)
        return message

    def replay(self) -> Receive:
        pending = list(self._kept)

        async def receive() -> Message:
            return pending.pop(0) if pending else await self._receive()

        return receive


async def _answer(
    scope: Scope, send: Send, families: FamilyErrorRegistry, status: int, error: str, message: str
) -> None:
    """In the envelope of the request's API family (``api.common.family_errors``)."""
    response = families.fault(Request(scope), status, error, message)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
