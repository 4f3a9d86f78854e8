"""The request head is bounded (``SEGMENTD_MAX_HEADER_BYTES``): 431 beyond it, over a real
socket against the app served the way ``segmentd serve`` serves it (``cli.server_options``:
httptools with the bound), and in the application for any other server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from segmentd.api.app import create_app
from segmentd.cli import server_options
from segmentd.settings import Settings
from tests.conftest import LiveServer, free_port, test_settings, wait_until

LIMIT = 64 * 1024


class ServedApp:
    """The app under uvicorn with ``segmentd serve``'s options, in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        options = server_options(settings) | {"log_level": "warning"}
        config = uvicorn.Config(
            create_app(settings, start_worker=False), host="127.0.0.1", port=self.port, **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServedApp:
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive())
        assert self.server.started
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedApp]:
    with ServedApp(test_settings(f"sqlite:///{tmp_path / 'segmentd.db'}")) as app:
        yield app


def _raw_exchange(port: int, head: bytes) -> bytes:
    """Send ``head`` and read everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def _head(path: str, header_bytes: int) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * header_bytes}\r\n\r\n".encode()


def test_the_served_app_refuses_a_head_over_the_limit_with_431(served: ServedApp) -> None:
    answer = _raw_exchange(served.port, _head("/v1/marketing/lists/segments", LIMIT + 1))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert b"content-type: application/json" in head and b"connection: close" in head
    assert json.loads(body) == {"code": 30035, "message": f"request headers exceed {LIMIT} bytes"}
    other = _raw_exchange(served.port, _head("/healthz", LIMIT + 1)).partition(b"\r\n\r\n")[2]
    assert json.loads(other)["error"] == "headers_too_large"


def test_a_head_under_the_limit_is_served(served: ServedApp) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{served.port}") as http:
        answer = http.get("/healthz", headers={"X-Big": "a" * (LIMIT - 1024)})
    assert answer.status_code == 200


def test_a_64_mb_header_is_refused_and_the_server_goes_on(served: ServedApp) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{served.port}", timeout=60) as http:
        answer = http.get("/healthz", headers={"X-Big": "a" * (64 * 1024 * 1024)})
        assert answer.status_code == 431
        assert answer.json()["error"] == "headers_too_large"
    with httpx.Client(base_url=f"http://127.0.0.1:{served.port}") as http:
        assert http.get("/healthz").status_code == 200


def test_the_application_refuses_a_large_head_under_any_server(tmp_path: Path) -> None:
    # LiveServer runs uvicorn's own protocol, without the bound: the app's middleware answers.
    settings = test_settings(f"sqlite:///{tmp_path / 'segmentd.db'}", max_header_bytes=16384)
    with LiveServer(settings, start_worker=False) as live, httpx.Client(base_url=live.url) as http:
        refused = http.get("/v1/sites", headers={"X-Big": "a" * 20000})
        assert refused.status_code == 431
        assert refused.json() == {
            "code": 30035,
            "message": "request headers exceed 16384 bytes",
            "path": None,
        }
        assert http.get("/healthz", headers={"X-Big": "a" * 10000}).status_code == 200


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_segmentd_serve_never_holds_a_64_mb_header(tmp_path: Path) -> None:
    port = free_port()
    env = os.environ | {"SEGMENTD_SECRET_KEY": "test-secret-key-for-sealing-site-tokens"}
    command = [sys.executable, "-m", "segmentd", "serve", "--port", str(port), "--no-worker"]
    command += ["--database", f"sqlite:///{tmp_path / 'segmentd.db'}"]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(url + "/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=60)
        before = _peak_rss_kib(server.pid)
        with httpx.Client(base_url=url, timeout=60) as http:
            answer = http.get("/healthz", headers={"X-Big": "a" * (64 * 1024 * 1024)})
        assert answer.status_code == 431
        grown = _peak_rss_kib(server.pid) - before
        assert grown < 8 * 1024, f"peak memory grew by {grown} KiB"
    finally:
        server.terminate()
        server.wait(timeout=30)
