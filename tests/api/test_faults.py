"""An unexpected exception answers 500 in the family's envelope and keeps the connection.

The faults are real: routes added to the real app for the test raise, and the app is served
by uvicorn over a real socket. ``http.client`` never reconnects on its own, so a second
answer on the same socket proves the server kept the connection open.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount
from starlette.types import Receive, Scope, Send

from segmentd.api.fault_answers import INTERNAL_MESSAGE
from tests.conftest import LiveServer, test_settings

SECRET = "s3cr3t-in-the-exception-message"


def _boom() -> None:
    raise RuntimeError(SECRET)


async def _boom_async() -> None:
    raise KeyError(SECRET)


async def _answer_then_fail(_scope: Scope, _receive: Receive, send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})
    raise RuntimeError(SECRET)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def faulty_server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(test_settings(f"sqlite:///{tmp_path / 'segmentd.db'}"), start_worker=False)
    # First in the routing table, so no catch-all of the families answers these paths first.
    paths = ["/v1/marketing/boom", "/api/dms/segmentation/boom", "/ui/boom", "/boom"]
    routes: list[BaseRoute] = [APIRoute(path, _boom, methods=["GET"]) for path in paths]
    routes.append(APIRoute("/v1/marketing/boom-async", _boom_async, methods=["POST"]))
    routes.append(Mount("/after-answer", app=_answer_then_fail))
    live.app.router.routes[:0] = routes
    with live:
        yield live


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    handler = _Records()
    loggers = [logging.getLogger(name) for name in ("segmentd", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.records
    for logger in loggers:
        logger.removeHandler(handler)


def _get(
    connection: http.client.HTTPConnection, path: str, method: str = "GET"
) -> tuple[http.client.HTTPResponse, bytes]:
    connection.request(method, path, body=b"{}" if method == "POST" else None)
    response = connection.getresponse()
    return response, response.read()


@pytest.mark.parametrize(
    ("path", "method", "content_type"),
    [
        ("/v1/marketing/boom", "GET", "application/json"),
        ("/v1/marketing/boom-async", "POST", "application/json"),
        ("/api/dms/segmentation/boom", "GET", "application/json"),
        ("/boom", "GET", "application/json"),
        ("/ui/boom", "GET", "text/html"),
    ],
)
def test_an_unexpected_error_answers_500_in_the_envelope_and_keeps_the_connection(
    faulty_server: LiveServer,
    logged: list[logging.LogRecord],
    path: str,
    method: str,
    content_type: str,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", faulty_server.port, timeout=30)
    try:
        response, body = _get(connection, path, method)
        socket_used = connection.sock
        assert response.status == 500
        assert response.getheader("content-type", "").startswith(content_type)
        assert response.getheader("connection") is None  # not "close": the connection stays
        text = body.decode()
        assert SECRET not in text and "Traceback" not in text
        if path.startswith("/v1/"):
            assert json.loads(body) == {"code": 30500, "message": INTERNAL_MESSAGE}
        elif content_type == "application/json":
            assert json.loads(body)["error"] == "internal_error"
        else:
            assert "Something went wrong on our side" in text
        if path.startswith("/api/dms/"):
            assert "no-store" in response.getheader("cache-control", "")

        again, again_body = _get(connection, "/healthz")
        assert connection.sock is socket_used  # the same connection answered
        assert again.status == 200 and json.loads(again_body) == {"status": "ok"}
    finally:
        connection.close()
    # Logged once, by segmentd, with the stack; uvicorn never saw an exception.
    errors = [record for record in logged if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].name == "segmentd" and errors[0].exc_info is not None
    assert path in errors[0].getMessage()


def test_an_error_after_a_whole_answer_keeps_the_connection(
    faulty_server: LiveServer, logged: list[logging.LogRecord]
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", faulty_server.port, timeout=30)
    try:
        response, body = _get(connection, "/after-answer/")
        socket_used = connection.sock
        assert response.status == 200 and body == b"ok"
        again, _ = _get(connection, "/healthz")
        assert connection.sock is socket_used and again.status == 200
    finally:
        connection.close()
    errors = [record for record in logged if record.levelno >= logging.ERROR]
    assert [record.name for record in errors] == ["segmentd"]
