"""``segmentd serve`` in a child process, configured by the same ``Settings`` a ``LiveServer``
takes (passed as ``SEGMENTD_*`` variables): for a test whose client does much work of its own
(schemathesis draws and checks every case), so that client and server do not share one GIL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from segmentd.settings import Settings
from tests.conftest import free_port, wait_until


def settings_env(settings: Settings) -> dict[str, str]:
    """The variables that configure ``segmentd serve`` as ``settings`` says (unset: omitted)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (list, dict)):
            text = json.dumps(value)
        else:
            text = str(value)
        env[f"SEGMENTD_{name.upper()}"] = text
    return env


class ChildServer:
    """The real app served by ``python -m segmentd serve`` on a loopback port, in a child
    process (its log in ``log_path``); stopped at the end of the ``with`` block."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings, self.log_path = settings, log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ChildServer:
        command = [sys.executable, "-m", "segmentd", "serve", "--port", str(self.port)]
        env = {**os.environ, **settings_env(self.settings)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        wait_until(self._healthy, timeout=60, interval=0.1)
        return self

    def _healthy(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log_path.read_text()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def client(self, **options: Any) -> httpx.Client:
        """An httpx client of this server; ``options`` as for ``httpx.Client``."""
        options.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, **options)
